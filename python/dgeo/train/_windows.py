"""Basin-major arrays for training and evaluation: periods, windows and their NSE loss."""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr

from ..data import DataError, select_period, to_time_major
from ..models import FORCINGS


class Series(NamedTuple):
    """Forcing and observed discharge of many basins, basin-major.

    `inputs`: name -> (basin, [window,] time) in `dgeo.models.FORCINGS` units; `qobs` the same
    shape in mm/day with NaN where unobserved; `time` the dates of the (last) axis.
    """

    inputs: dict[str, np.ndarray]
    qobs: np.ndarray
    basins: np.ndarray
    time: np.ndarray


def basin_series(
    ds: xr.Dataset, start, end, *, spinup_days: int = 0, forcings: dict = FORCINGS
) -> Series:
    """Days `start - spinup_days` .. `end` of every basin of `ds` as basin-major arrays, with
    the `forcings` (name -> units) a model needs.

    Forcing gaps are an error naming the basin and date; discharge gaps stay NaN (masked).
    """
    first = pd.Timestamp(start) - pd.Timedelta(days=spinup_days)
    period = select_period(ds, first, end)
    forcing = to_time_major(period, forcings)
    qobs = to_time_major(period, {"qobs": "mm/day"}, allow_nan=True)["qobs"]
    return Series(
        {k: v.T.copy() for k, v in forcing.items()},
        qobs.T.copy(),
        period["basin"].values.astype(str),
        period["time"].values,
    )


def window_starts(days: int, length: int, stride: int) -> np.ndarray:
    """Start indices of windows of `length` days every `stride` days; the last window is aligned
    to the end so that every day is covered."""
    if days < length:
        raise DataError(f"the period has {days} days, fewer than one window of {length} days")
    starts = np.arange(0, days - length + 1, stride)
    if starts[-1] != days - length:
        starts = np.append(starts, days - length)
    return starts


def windows(series: Series, length: int, stride: int) -> Series:
    """Cut (basin, time) series into (basin, window, length) overlapping windows."""
    starts = window_starts(series.qobs.shape[-1], length, stride)
    index = starts[:, None] + np.arange(length)[None, :]
    cut = lambda a: a[:, index]
    return Series(
        {k: cut(v) for k, v in series.inputs.items()}, cut(series.qobs), series.basins, series.time
    )


def observed_basins(series: Series, spinup_days: int) -> np.ndarray:
    """Per basin: has it at least two observed discharge values after the spin-up?"""
    observed = np.isfinite(series.qobs[..., spinup_days:])
    return observed.reshape(len(series.basins), -1).sum(axis=1) >= 2


def check_observed(series: Series, spinup_days: int, what: str) -> None:
    """Every basin must have observed discharge after the spin-up of its windows."""
    empty = series.basins[~observed_basins(series, spinup_days)]
    if empty.size:
        raise DataError(
            f"basin(s) {', '.join(empty)} have no observed discharge in the {what} period "
            "after spin-up; drop them from the basin list"
        )


def nse_terms(q, qobs, spinup_days: int):
    """Per basin (leading axis): sum of squared errors and of squared deviations of the
    observations from their mean, over every window and day after `spinup_days`, NaN masked.

    NSE = 1 - sse / sst (Nash & Sutcliffe 1970).
    """
    days = qobs.shape[-1]
    mask = jnp.isfinite(qobs) & (jnp.arange(days) >= spinup_days)
    obs = jnp.where(mask, qobs, 0.0)
    axes = tuple(range(1, qobs.ndim))
    n = jnp.sum(mask, axis=axes)
    mean = jnp.sum(obs, axis=axes) / jnp.maximum(n, 1)
    mean = mean.reshape(mean.shape + (1,) * (qobs.ndim - 1))
    sse = jnp.sum(jnp.where(mask, (q - obs) ** 2, 0.0), axis=axes)
    sst = jnp.sum(jnp.where(mask, (obs - mean) ** 2, 0.0), axis=axes)
    return sse, sst


def nse_per_row(q, qobs, spinup_days: int):
    """NSE of each row (leading axis) over its windows and days after `spinup_days`."""
    sse, sst = nse_terms(q, qobs, spinup_days)
    return 1.0 - sse / jnp.maximum(sst, 1e-6)


def nse_loss(q, qobs, spinup_days: int):
    """Mean over basins of 1 - NSE: each basin's NSE over its windows after spin-up."""
    sse, sst = nse_terms(q, qobs, spinup_days)
    return jnp.mean(sse / jnp.maximum(sst, 1e-6))
