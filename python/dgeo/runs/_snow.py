"""Snow inference in a run directory: a model's snow storage S0 against observed snow water
equivalent it never saw in training (Jiang et al. 2020 report a basin-mean correlation of
0.99). Writes `snow.json` and `figures/snow_*.png`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from ..config import Snow
from ._record import write_json


def _swe(snow: Snow, start, end) -> xr.DataArray:
    with xr.open_dataset(snow.swe) as f:
        swe = f[snow.variable].sel(time=slice(start, end)).load()
    return swe.assign_coords(basin=swe["basin"].values.astype(str))


def snow_inference(results: xr.Dataset, ds: xr.Dataset, snow: Snow, run_dir: Path) -> dict:
    """Correlate `snow.model`'s snow storage in `results` with the observed SWE over
    `snow.period` (default: the whole results period): `dgeo.evaluate.snow_summary` of all
    basins, the basins whose S0 never melts out (`perennial_snow`) and the summary without
    them. Writes `snow.json` and the figures `snow_basin_mean.png`, `snow_correlations.png`,
    `snow_map.png` and `snow_basins.png` (the four snowiest basins); returns the summary."""
    from .. import plot
    from ..evaluate import perennial_snow, snow_correlation, snow_summary

    time = results["time"].values
    start, end = snow.period or (str(time[0])[:10], str(time[-1])[:10])
    s0 = sum(results[state] for state in snow.storage)  # HBV: snowpack + meltwater
    s0 = s0.sel(model=snow.model, time=slice(start, end))
    swe = _swe(snow, start, end)
    correlation = snow_correlation(s0, swe)
    summary = snow_summary(correlation)
    towers = np.asarray(perennial_snow(s0).values, bool)
    summary["perennial_snow_basins"] = int(towers.sum())
    if towers.any() and not towers.all():
        rest = s0.isel(basin=np.flatnonzero(~towers))
        summary["without_perennial"] = snow_summary(snow_correlation(rest, swe))
    summary.update(model=snow.model, period=[start, end], swe=f"{snow.swe}:{snow.variable}")
    write_json(run_dir / "snow.json", summary)
    figures = run_dir / "figures"
    plot.save(plot.snow_series(correlation), figures / "snow_basin_mean.png")
    plot.save(plot.snow_correlations(correlation), figures / "snow_correlations.png")
    basins = correlation["basin"].values
    lat, lon = ds["lat"].sel(basin=basins), ds["lon"].sel(basin=basins)
    plot.save(plot.snow_map(correlation, lat, lon), figures / "snow_map.png")
    order = correlation["mean_swe"].sortby(correlation["mean_swe"], ascending=False)
    snowiest = list(order["basin"].values[:4])
    plot.save(plot.snow_basins(s0, swe, snowiest), figures / "snow_basins.png")
    return summary
