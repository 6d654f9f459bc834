"""Water years, period selection and seeded k-fold splits of basins."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ._dataset import check_axes
from ._errors import DataError


def water_year(dates) -> np.ndarray:
    """US water year of each date: water year N runs from N-1-10-01 to N-09-30."""
    index = pd.DatetimeIndex(np.atleast_1d(np.asarray(dates, dtype="datetime64[ns]")))
    return (index.year + (index.month >= 10)).to_numpy()


def water_years(first: int, last: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of water years `first` .. `last` (inclusive)."""
    if last < first:
        raise DataError(f"water year range {first}..{last} is empty")
    return pd.Timestamp(f"{first - 1}-10-01"), pd.Timestamp(f"{last}-09-30")


def select_period(ds: xr.Dataset, start, end) -> xr.Dataset:
    """Days `start` .. `end` (inclusive) of `ds`; an error if the data do not cover them or
    the time axis is not daily and increasing (`check_axes`)."""
    try:
        start, end = pd.Timestamp(start), pd.Timestamp(end)
    except ValueError as err:
        raise DataError(f"period {start}..{end}: not a date ({err})") from None
    if end < start:
        raise DataError(f"period {start.date()}..{end.date()} ends before it starts")
    _, time = check_axes(ds)
    first, last = pd.Timestamp(time[0]), pd.Timestamp(time[-1])
    if start < first or end > last:
        raise DataError(
            f"period {start.date()}..{end.date()} is not covered by the data "
            f"({first.date()}..{last.date()})"
        )
    return ds.sel(time=slice(start, end))


def kfold_basins(
    basins: Sequence[str] | np.ndarray, k: int, seed: int = 0
) -> list[tuple[list[str], list[str]]]:
    """Seeded k-fold split of basins into (train, test) pairs.

    The test folds are disjoint, cover every basin once and differ in size by at most one.
    """
    basins = [str(b) for b in basins]
    if len(set(basins)) != len(basins):
        raise DataError("basin list has duplicates")
    if not 2 <= k <= len(basins):
        raise DataError(f"k must be between 2 and the number of basins ({len(basins)}), got {k}")
    order = np.random.default_rng(seed).permutation(len(basins))
    folds = [sorted(basins[i] for i in part) for part in np.array_split(order, k)]
    return [
        (sorted(b for j, f in enumerate(folds) if j != i for b in f), fold)
        for i, fold in enumerate(folds)
    ]
