"""Hydrographs: one water year (or any window) of a basin, one panel per water year, and zooms
on the largest observed peaks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ._axes import _draw_flows, _handles, _hydrograph_on, _legend, _precip
from ._common import _figure, _finite, _models, _pick, _units
from ._years import WATER_YEAR_START, _span, _water_year_span, water_year


def hydrograph(
    results: xr.Dataset,
    basin,
    *,
    models=None,
    start=None,
    end=None,
    ax=None,
    year=None,
    log: bool = False,
    precip: bool = True,
    water_year_start: int = WATER_YEAR_START,
):
    """Observed (black) and simulated discharge of one basin in one water year, one line per
    model, with the basin's daily precipitation (`prcp`, when the results have it) hanging as
    bars from the top on its own inverted axis at the right.

    The time axis spans, by default, the basin's wettest water year (`default_water_year`):
    a year of daily flows is what the eye can read, ten are not. ``year=2003`` shows water
    year 2003 (Oct 2002 to Sep 2003 with the default `water_year_start`), ``year="all"`` the
    whole record, and `start`/`end` any window (then `year` must be None). `hydrograph_years`
    draws every water year, one panel each.

    ``log=True`` draws discharge on a log axis (low flows and recessions); zero, negative and
    tiny flows sit on its bottom, named in the y label. The legend gives each model's NSE for
    the basin from ``results.metrics`` (over the whole record of the results) when present.
    `models` is a name or list of names (default: all); ``precip=False`` leaves out the
    precipitation.
    """
    basin = _pick(results, "basin", basin)
    models = _models(results, models)
    ds, span, limits = _span(results, basin, start, end, year, water_year_start)
    if ax is None:
        fig, axes = _figure(figsize=(11, 4.2))
        ax = axes[0, 0]
    axp = _hydrograph_on(ax, results, ds, basin, models, log=log, precip=precip)
    if limits is not None:
        ax.set_xlim(*limits)
    part = ds.sizes["time"] < results.sizes["time"] and "metrics" in results
    ax.set_title(
        f"Discharge, basin {basin}: {span}" + ("; NSE of the whole record" if part else "")
    )
    _legend(ax, axp)
    return ax.figure


def hydrograph_years(
    results: xr.Dataset,
    basin,
    *,
    models=None,
    years=None,
    log: bool = False,
    precip: bool = True,
    water_year_start: int = WATER_YEAR_START,
):
    """One panel per water year of a basin, stacked, each as `hydrograph` draws a year:
    observed and simulated discharge with precipitation hanging from the top.

    Every panel spans a full water year (October to September by default, so the months line
    up from panel to panel; days outside the record are left blank), and all panels share one
    discharge and one precipitation scale (fitted to the years drawn), so wet and dry years
    compare at a glance. Each panel's title gives the models' NSE within that year. `years` is
    a water year or a list of them (default: every water year in the record; a decade makes a
    tall page).
    """
    import matplotlib.dates as mdates

    from ..evaluate import nse

    basin = _pick(results, "basin", basin)
    models = _models(results, models)
    have = np.unique(water_year(results["time"].values, water_year_start))
    years = list(have) if years is None else [int(y) for y in np.atleast_1d(years)]
    unknown = [y for y in years if y not in have]
    if unknown or not years:
        raise ValueError(
            f"unknown water year(s) {unknown}; water years in the results: "
            f"{', '.join(map(str, have))}"
        )
    chosen = np.isin(water_year(results["time"].values, water_year_start), years)
    shown = results.isel(time=np.flatnonzero(chosen))  # the scales fit the years drawn
    one = shown.sel(basin=basin)
    qvalues = [one["qobs"].values, *[one["qsim"].sel(model=m).values for m in models]]
    p_all = _precip(shown, basin) if precip else None
    pmax = float(_finite(p_all).max(initial=0.0)) if p_all is not None else None
    fig, axes = _figure(len(years), 1, figsize=(11, 2.1 * len(years) + 1.0))
    for ax, year in zip(axes[:, 0], years, strict=True):
        first, last = _water_year_span(year, water_year_start)
        ds = results.sel(time=slice(first, last))
        axp = _hydrograph_on(
            ax,
            results,
            ds,
            basin,
            models,
            log=log,
            precip=precip,
            pmax=pmax,
            qvalues=qvalues,
            labels=False,
        )
        ax.set_xlim(first, last + 1)
        months = pd.date_range(first, last, freq="MS").values
        ax.set_xticks(months, [pd.Timestamp(m).strftime("%b") for m in months])
        ax.xaxis.set_minor_locator(mdates.DayLocator(bymonthday=15))
        ylabel = ax.get_ylabel()  # the same on every panel (one scale): said once, below
        ax.set_ylabel("")
        if axp is not None:
            axp.set_ylabel("")
        obs = ds["qobs"].sel(basin=basin).values.astype(float)
        scores = []
        for m in models:
            sim = ds["qsim"].sel(model=m, basin=basin).values
            value = float(nse(obs, sim)) if obs.size > 1 else np.nan
            scores.append(f"{m} {value:.2f}" if np.isfinite(value) else f"{m} n/a")
        ax.set_title(f"water year {year}", loc="left", fontsize="medium", fontweight="bold")
        ax.set_title("NSE in the year: " + ", ".join(scores), loc="right", fontsize="small")
    handles, labels = _handles(axes[0, 0], axp)
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize="small")
    fig.supylabel(ylabel, fontsize="medium")
    fig.suptitle(f"Discharge by water year, basin {basin}")
    return fig


def _peaks(q: np.ndarray, time: np.ndarray, n: int, days: int) -> list[int]:
    """Indices of the `n` largest values of `q` at least `days` apart (greedy, largest first)."""
    gap = np.timedelta64(int(days), "D")
    chosen: list[int] = []
    for i in np.argsort(np.where(np.isnan(q), -np.inf, q))[::-1]:
        if np.isnan(q[i]) or len(chosen) == n:
            break
        if all(abs(time[i] - time[j]) >= gap for j in chosen):
            chosen.append(int(i))
    return chosen


def peak_zoom(results: xr.Dataset, basin, *, models=None, n_peaks: int = 3, days: int = 30):
    """One panel per largest observed peak of a basin (peaks >= `days` apart), +- days/2 around it."""
    basin = _pick(results, "basin", basin)
    models = _models(results, models)
    time = results["time"].values
    q = results["qobs"].sel(basin=basin).values.astype(float)
    peaks = _peaks(q, time, n_peaks, days)
    if not peaks:
        raise ValueError(f"basin {basin} has no observed discharge to find peaks in")
    fig, axes = _figure(1, len(peaks), figsize=(4.5 * len(peaks), 4))
    half = np.timedelta64(int(days) * 12, "h")
    for k, (ax, i) in enumerate(zip(axes[0], peaks, strict=True)):
        ds = results.sel(time=slice(time[i] - half, time[i] + half))
        _draw_flows(ax, ds, basin, models, results, maxticks=5)
        day = np.datetime_as_string(time[i], unit="D")
        ax.set_title(f"peak {k + 1}: {day} ({q[i]:.1f} {_units(results['qobs'], 'mm/day')})")
        ax.legend(loc="best", fontsize="x-small")
    fig.suptitle(f"Largest observed peaks, basin {basin}")
    return fig
