"""One function that opens whatever a user points dgeo at: a CAMELS root or a netCDF file."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from ._camels import load_camels_us
from ._caravan import load_caravan
from ._dataset import open_dataset, select_basins
from ._errors import DataError


def load(path: str | Path, **kwargs) -> xr.Dataset:
    """Open `path`: a CAMELS-US root folder (`load_camels_us`) or a netCDF file.

    Keyword arguments go to `load_camels_us` (basins, forcing, attributes) for folders. For a
    netCDF file `basins` selects basins, and `attributes=FOLDER` (the CAMELS
    `camels_attributes_v2.0` folder) opens it with `load_caravan`; otherwise `open_dataset`.
    """
    path = Path(path)
    if path.is_dir():
        return load_camels_us(path, **kwargs)
    if path.is_file():
        basins = kwargs.pop("basins", None)
        attributes = kwargs.pop("attributes", None)
        if kwargs:
            raise DataError(f"{path}: options {', '.join(kwargs)} apply to CAMELS folders only")
        if isinstance(attributes, str | Path):
            return load_caravan(path, attributes, basins=basins)
        if attributes not in (None, False):
            raise DataError(
                f"{path}: for a netCDF file, attributes= must be the CAMELS attributes folder, "
                f"not {attributes!r}"
            )
        ds = open_dataset(path)
        return ds if basins is None else select_basins(ds, basins, source=path)
    raise DataError(f"{path}: no such file or folder")
