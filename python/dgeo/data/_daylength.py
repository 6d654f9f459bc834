"""Astronomical day length from latitude and date, for datasets without Daymet's `dayl`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ._errors import DataError

# MT-CLIM constants (Thornton & Running 1999), as used by Daymet.
_MIN_DECLINATION = -0.4092797  # rad, declination at the winter solstice
_DAYS_OFFSET = 11.25  # days from the winter solstice to January 1
_RADIANS_PER_DAY = 0.017214  # 2 pi / 365
_SECONDS_PER_RADIAN = 86400.0 / (2.0 * np.pi)  # of hour angle

_LONG_NAME = (
    "day length, computed from latitude and date "
    "(MT-CLIM/Daymet declination, Thornton & Running 1999)"
)


def day_length(
    lat: Sequence[float] | np.ndarray,
    time: Sequence[np.datetime64] | np.ndarray | pd.DatetimeIndex,
    *,
    basins: Sequence[str] | np.ndarray | None = None,
) -> np.ndarray:
    """Astronomical day length in seconds, shape `(basin, time)`.

    The formula is MT-CLIM's, which Daymet uses for its `dayl` (Thornton & Running 1999,
    Agric. For. Meteorol. 93, 211-228; Thornton et al. 1997, J. Hydrol. 190, 214-251):

        decl = -0.4092797 * cos(0.017214 * (yday + 11.25))      solar declination (rad)
        cos(h) = -tan(lat) * tan(decl), clipped to [-1, 1]        sunset hour angle h (rad)
        dayl = 2 h * 86400 / (2 pi)                               seconds

    with `yday` the 0-based day of year on Daymet's 365-day calendar (31 December of a leap
    year repeats 30 December). Day length runs from sunrise to sunset of the sun's centre on
    a flat horizon, without refraction. Clipping gives 86400 s in polar day and 0 s in polar
    night; `dayl(lat) + dayl(-lat) = 86400 s` on every date.

    **Arguments:**

    - `lat`: latitude in degrees north, one per basin (a scalar counts as one basin).
    - `time`: dates (datetime64).
    - `basins`: basin ids, only to name the basin in error messages.

    Raises `DataError` naming the basin when a latitude is NaN or outside [-90, 90].
    """
    lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    if lat.ndim != 1:
        raise DataError(f"latitude must be one value per basin, got shape {lat.shape}")
    bad = np.flatnonzero(~(np.abs(lat) <= 90.0))
    if bad.size:
        names = basins if basins is not None else [f"#{i}" for i in range(len(lat))]
        listed = ", ".join(f"{names[i]} ({lat[i]})" for i in bad[:5])
        raise DataError(f"latitude must be within [-90, 90] degrees north; basin(s) {listed}")
    dates = pd.DatetimeIndex(np.asarray(time, dtype="datetime64[ns]"))
    yday = np.minimum(dates.day_of_year.to_numpy() - 1, 364)
    decl = _MIN_DECLINATION * np.cos((yday + _DAYS_OFFSET) * _RADIANS_PER_DAY)
    phi = np.deg2rad(lat)[:, None]
    # sin/cos rather than tan keeps the poles finite (cos(phi) = 0 gives +-inf, then clipped).
    with np.errstate(divide="ignore", invalid="ignore"):
        cos_h = -(np.sin(phi) * np.sin(decl)) / (np.cos(phi) * np.cos(decl))
    cos_h = np.where(np.isnan(cos_h), 0.0, cos_h)  # pole at an equinox: 0/0
    return 2.0 * np.arccos(np.clip(cos_h, -1.0, 1.0)) * _SECONDS_PER_RADIAN


def add_day_length(ds: xr.Dataset, *, latitude: str = "lat", overwrite: bool = False) -> xr.Dataset:
    """Return `ds` with `dayl` (basin, time), float32 seconds, computed by `day_length`.

    Latitude comes from `ds[latitude]` (by default the `lat` coordinate) or, when `lat` is
    absent, from a `gauge_lat` variable. An existing `dayl` (for instance Daymet's) is kept
    unless `overwrite=True`. Raises `DataError` naming the missing latitude variable.
    """
    if "dayl" in ds.variables and not overwrite:
        return ds
    name = latitude
    if name not in ds.variables and name == "lat" and "gauge_lat" in ds.variables:
        name = "gauge_lat"
    if name not in ds.variables:
        also = " nor 'gauge_lat'" if latitude == "lat" else ""
        raise DataError(f"cannot compute dayl: the dataset has no latitude {latitude!r}{also}")
    if ds[name].dims != ("basin",):
        raise DataError(
            f"cannot compute dayl: {name!r} has dims {ds[name].dims}, expected (basin,)"
        )
    basins = ds["basin"].to_numpy().astype(str)
    seconds = day_length(ds[name].to_numpy(), ds["time"].to_numpy(), basins=basins)
    attrs = {"units": "s", "long_name": _LONG_NAME}
    return ds.assign(dayl=(("basin", "time"), seconds.astype(np.float32), attrs))
