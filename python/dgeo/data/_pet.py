"""Potential evapotranspiration computed from a dataset's own forcings: the one place a `pet`
series is made (or replaced) from `tmean` and `dayl`.

Configurations ask for it with `data: {source: ..., pet: hamon}` (`dgeo.runs.load_data`);
in Python it is `add_pet(ds, "hamon")` after a source's `load`.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ._errors import DataError
from ._units import convert

#: The PET methods `add_pet` knows, with the forcings each needs.
PET_METHODS: dict[str, tuple[str, ...]] = {"hamon": ("tmean", "dayl")}


def add_pet(ds: xr.Dataset, method: str = "hamon", *, source: str | None = None) -> xr.Dataset:
    """Return `ds` with `pet` (basin, time), mm/day, computed by `method`; an existing `pet`
    (for instance ERA5-Land potential evaporation, biased high for HBV) is replaced.

    `"hamon"`: Hamon PET from daily mean air temperature `tmean` (degC) and day length `dayl`
    (seconds, dgeo's unit; hours or days are converted), by `dgeo.physics.hamon_pet`, the
    formula EXP-HYDRO computes internally (Patil & Stieglitz 2014; Jiang et al. 2020). Days
    with a missing `tmean` get a missing `pet`.

    **Arguments:**

    - `ds`: a dataset in dgeo's `(basin, time)` schema.
    - `method`: one of `PET_METHODS`.
    - `source`: what `ds` was read from (a file or a data source's `describe()`), named in
      errors.

    Raises `DataError` naming the method, the missing variable and `source`.
    """
    where = f"{source}: " if source else ""
    if method not in PET_METHODS:
        raise DataError(f"{where}unknown PET method {method!r}; known: {', '.join(PET_METHODS)}")
    missing = [v for v in PET_METHODS[method] if v not in ds.data_vars]
    if missing:
        raise DataError(
            f"{where}{method} PET needs {' and '.join(PET_METHODS[method])}, but the data have "
            f"no {', '.join(missing)}"
            + (
                " (dgeo.data.add_day_length computes dayl from latitude)"
                if "dayl" in missing
                else ""
            )
        )
    from ..physics import hamon_pet  # physics is above data; imported only when used

    tmean = ds["tmean"].transpose("basin", "time")
    dayl = ds["dayl"].transpose("basin", "time")
    units = dayl.attrs.get("units", "s")
    days = convert(dayl.to_numpy().astype(np.float64), units, "day", variable="dayl")
    t_units = tmean.attrs.get("units", "degC")
    celsius = convert(tmean.to_numpy().astype(np.float64), t_units, "degC", variable="tmean")
    pet = np.asarray(hamon_pet(celsius, days), dtype=np.float32)
    attrs = {
        "units": "mm/day",
        "long_name": "Hamon potential evapotranspiration from tmean and dayl (dgeo.data.add_pet)",
    }
    return ds.assign(pet=(("basin", "time"), pet, attrs))
