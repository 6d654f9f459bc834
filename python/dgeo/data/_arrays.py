"""The one conversion point between xarray at rest (basin, time) and time-major compute arrays."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from ._dataset import located, series_variable
from ._errors import DataError
from ._units import convert, implausible


def to_time_major(
    ds: xr.Dataset,
    variables: Mapping[str, str],
    *,
    dtype=np.float32,
    allow_nan: bool = False,
) -> dict[str, np.ndarray]:
    """Variables of `ds` as (time, basin) arrays in the requested units.

    **Arguments:**

    - `ds`: a (basin, time) dataset as `dgeo.data` returns it.
    - `variables`: name -> units wanted (converted from the variable's `units` attribute).
    - `dtype`: the array dtype.
    - `allow_nan`: if False, a NaN is an error naming the variable, basin and date.
    """
    out = {}
    for name, units in variables.items():
        var = series_variable(ds, name)
        values = var.transpose("time", "basin").to_numpy().astype(np.float64)
        found = implausible(name, values, var.attrs["units"])
        if found is not None:
            bad, problem = found
            raise DataError(f"{problem}, at {located(ds, *bad[0][::-1])}")
        values = convert(values, var.attrs["units"], units, variable=name)
        if not allow_nan:
            bad = np.argwhere(~np.isfinite(values))
            if bad.size:
                raise DataError(
                    f"variable {name!r} has {len(bad)} missing or non-finite value(s); first at "
                    f"{located(ds, *bad[0][::-1])}"
                )
        out[name] = values.astype(dtype)
    return out


def from_time_major(
    arrays: Mapping[str, np.ndarray], basins, time, units: Mapping[str, str]
) -> xr.Dataset:
    """(time, basin) arrays back into a (basin, time) Dataset with `units` attributes."""
    ds = xr.Dataset(coords={"basin": np.asarray(basins).astype(str), "time": time})
    for name, values in arrays.items():
        ds[name] = (("basin", "time"), np.asarray(values).T, {"units": units[name]})
    return ds
