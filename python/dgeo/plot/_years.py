"""Water years: the year of a date, the default (wettest) year of a basin and the time window
of a hydrograph."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .._typing import Integer
from ._common import _pick, _window

#: First month of the water year: October, the USGS convention. A water year is named by the
#: calendar year in which it ends (water year 2001: 2000-10-01 to 2001-09-30); with 1 it is the
#: calendar year.
WATER_YEAR_START = 10
#: Share of a water year's days with observed discharge for it to be `default_water_year`.
MIN_OBSERVED = 0.8


def water_year(time, start_month: int = WATER_YEAR_START) -> np.ndarray:
    """The water year of each date in `time`: the calendar year in which it ends."""
    t = pd.DatetimeIndex(np.asarray(time))
    return np.asarray(t.year + (t.month >= start_month if start_month > 1 else 0), dtype=int)


def _water_year_span(year: Integer, start_month: int) -> tuple[np.datetime64, np.datetime64]:
    """First and last day of water year `year`."""
    first = pd.Timestamp(year - (start_month > 1), start_month, 1)
    return np.datetime64(first, "D"), np.datetime64(first + pd.DateOffset(years=1), "D") - 1


def default_water_year(results: xr.Dataset, basin, start_month: int = WATER_YEAR_START) -> int:
    """The water year `hydrograph` shows by default: the basin's wettest, i.e. the one with the
    largest mean observed discharge among the years with at least `MIN_OBSERVED` of their days
    observed (else the year with the most observed days; without any observation, the first
    year of the record). The wettest year holds the seasonal regime and the large events a
    hydrologist checks first, and unlike the year of the single largest peak it is not chosen
    by one day (or one gauging error).
    """
    basin = _pick(results, "basin", basin)
    q = results["qobs"].sel(basin=basin).values.astype(float)
    years = water_year(results["time"].values, start_month)
    labels = np.unique(years)
    seen = np.array([np.isfinite(q[years == y]).sum() for y in labels])
    if seen.max(initial=0) == 0:
        return int(labels[0])
    spans = [_water_year_span(y, start_month) for y in labels]
    days = np.array([(last - first).astype(int) + 1 for first, last in spans])
    full = seen >= MIN_OBSERVED * days
    if not full.any():
        return int(labels[np.argmax(seen)])
    wet = [
        np.nansum(q[years == y]) / n if ok else -np.inf
        for y, n, ok in zip(labels, seen, full, strict=True)
    ]
    return int(labels[int(np.argmax(wet))])


def _span(results: xr.Dataset, basin, start, end, year, start_month: int):
    """The time window of a hydrograph and the words for it in a title."""
    if year is not None and (start is not None or end is not None):
        raise ValueError("give either year= or start=/end=, not both")
    if start is not None or end is not None:
        ds = _window(results, start, end)
        first, last = (np.datetime_as_string(ds["time"].values[i], unit="D") for i in (0, -1))
        return ds, f"{first} to {last}", None
    if isinstance(year, str) and year == "all":
        return results, "whole record", None
    if year is None:
        year = default_water_year(results, basin, start_month)
        how = "wettest water year"
    else:
        how = "water year"
    first, last = _water_year_span(int(year), start_month)
    ds = results.sel(time=slice(first, last))
    if ds.sizes["time"] == 0:
        years = np.unique(water_year(results["time"].values, start_month))
        raise ValueError(
            f"no time steps in water year {year}; water years in the results: "
            f"{', '.join(map(str, years))}"
        )
    return ds, f"{how} {int(year)} ({first} to {last})", (first, last + 1)
