"""Caravan ERA5-Land forcing for CAMELS-US basins (Kratzert et al. 2023) with CAMELS attributes.

The netCDF holds `prcp`, `tmean`, `pet` and `qobs` over (basin, time), but no day length and no
coordinates. `load_caravan` joins the CAMELS attribute tables, sets the basin coordinates from
them and computes `dayl` from latitude.

The file's `pet` is ERA5-Land potential evaporation and is biased high (mean about 13 mm/day,
several times CAMELS' `pet_mean`). It is kept as read, but dgeo models compute Hamon PET from
`tmean` and day length instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import xarray as xr

from ._attributes import attributes_to_dataset, read_attributes
from ._dataset import assign_basin_coords, open_dataset, validate
from ._daylength import add_day_length
from ._errors import DataError

_REQUIRED = ("prcp", "tmean", "qobs")


def load_caravan(
    path: str | Path, attributes: str | Path, *, basins: Sequence[object] | None = None
) -> xr.Dataset:
    """Load a Caravan CAMELS-US netCDF file with CAMELS attributes and day length.

    Opens `path` with `open_dataset`, checks `prcp`, `tmean`, `qobs` and their units, joins
    the seven `camels_*.txt` tables of the folder `attributes` as variables over `basin`, sets
    the coordinates `lat`, `lon`, `elevation` and `area` from `gauge_lat`, `gauge_lon`,
    `elev_mean` and `area_gages2`, and adds `dayl` (s) with `add_day_length` (unless the
    file has one). The time axis is
    the file's (Caravan starts on 1981-01-01); select periods with `select_period`.

    **Arguments:**

    - `path`: the netCDF file (e.g. `caravan_camels_us.nc`).
    - `attributes`: the CAMELS `camels_attributes_v2.0` folder.
    - `basins`: basin ids to keep (in that order); `None` keeps all.

    Raises `DataError` naming the file, the missing basins or the missing attribute tables.
    """
    attributes = Path(attributes)
    if not attributes.is_dir():
        raise DataError(f"attributes folder {attributes} does not exist")
    ds = open_dataset(path, basins=basins)
    validate(ds, require=_REQUIRED)
    table = read_attributes(attributes, list(ds["basin"].to_numpy().astype(str)))
    ds = assign_basin_coords(
        ds,
        lat=table["gauge_lat"],
        lon=table["gauge_lon"],
        elevation=table["elev_mean"],
        area=table["area_gages2"],
        area_source="GAGES-II",
    )
    ds = ds.merge(attributes_to_dataset(table))
    ds.attrs["attributes"] = f"CAMELS-US attributes (Addor et al. 2017), {attributes}"
    return add_day_length(ds)
