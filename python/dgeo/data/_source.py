"""One function that opens whatever a user points dgeo at: a CAMELS root or a netCDF file."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from ._camels import load_camels_us
from ._dataset import open_dataset
from ._errors import DataError


def load(path: str | Path, **kwargs) -> xr.Dataset:
    """Open `path`: a CAMELS-US root folder (`load_camels_us`) or a netCDF file (`open_dataset`).

    Keyword arguments go to `load_camels_us` (basins, forcing, attributes) for folders; for a
    netCDF file only `basins` is understood.
    """
    path = Path(path)
    if path.is_dir():
        return load_camels_us(path, **kwargs)
    if path.is_file():
        basins = kwargs.pop("basins", None)
        if kwargs:
            raise DataError(f"{path}: options {', '.join(kwargs)} apply to CAMELS folders only")
        ds = open_dataset(path)
        if basins is not None:
            wanted = [str(b) for b in basins]
            missing = sorted(set(wanted) - set(ds["basin"].values))
            if missing:
                raise DataError(f"{path}: basin(s) {', '.join(missing)} not in the file")
            if not wanted:
                raise DataError("the basin list is empty")
            ds = ds.sel(basin=wanted)
        return ds
    raise DataError(f"{path}: no such file or folder")
