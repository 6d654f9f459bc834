"""Snow inference: a model's snow storage S0 against independent snow water equivalent (SWE).

Jiang et al. (2020) never train the snow bucket S0 of their hybrid model on snow data, then check
it against observed SWE. `snow_correlation` computes their statistics for (basin, time)
DataArrays of S0 and SWE (both in mm):

* Inputs are aligned by an inner join on the ``basin`` and ``time`` coordinates (either dim
  order); an empty overlap raises `dgeo.data.DataError`.
* Gaps are masked pairwise as in `dgeo.evaluate._metrics`: a (basin, day) counts only when S0
  *and* SWE are finite there, for every statistic below.
* A Pearson correlation is NaN with fewer than 2 pairs or when either series is constant.

Pearson correlation of paired values x_i, y_i (i = 1..n):

    r = sum_i (x_i - mean(x)) (y_i - mean(y)) / sqrt(sum_i (x_i - mean(x))^2 sum_i (y_i - mean(y))^2)
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..data import DataError, water_year
from ._metrics import _finish, _mean, _pairs, _varies, summarise

__all__ = ["perennial_snow", "snow_correlation", "snow_summary"]

DIMS = ("basin", "time")


def _pearson(x, y, axis: int = -1):
    """Pearson correlation over `axis`, pairwise-masked (see the module docstring)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b, n = _pairs(x, y, axis)
        da = a - _mean(a, n)[..., None]
        db = b - _mean(b, n)[..., None]
        den = np.sqrt(_mean(da**2, n) * _mean(db**2, n))
        r = np.clip(_mean(da * db, n) / den, -1.0, 1.0)
        return _finish(r, n, _varies(a) & _varies(b) & (den > 0))


def _aligned(s0: xr.DataArray, swe: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    for name, da in (("s0", s0), ("swe", swe)):
        if set(da.dims) != set(DIMS) or da.ndim != 2:
            raise DataError(f"{name} must have dims (basin, time), got {da.dims}")
    a, b = xr.align(s0.transpose(*DIMS), swe.transpose(*DIMS), join="inner")
    for dim, what in (("basin", "basins"), ("time", "days")):
        if a.sizes[dim] == 0:
            raise DataError(
                f"s0 and swe have no {what} in common (s0 has {s0.sizes[dim]}, swe has "
                f"{swe.sizes[dim]}); check the {dim} coordinates and their dtype"
            )
    return a, b


def _units(da: xr.DataArray) -> dict:
    return {"units": da.attrs["units"]} if "units" in da.attrs else {}


def snow_correlation(
    s0: xr.DataArray, swe: xr.DataArray, *, min_days: int = 30, min_snow_mm: float = 1.0
) -> xr.Dataset:
    """Agreement of simulated snow storage `s0` with observed `swe`, per day, per basin and across.

    With P(b) the paired days of basin b and B(t) the basins paired on day t, the Dataset holds:

    * ``basin_mean_s0``, ``basin_mean_swe`` (time): mean over B(t), e.g.
      basin_mean_s0(t) = (1/|B(t)|) sum_{b in B(t)} s0(b, t); both use the same basins each day,
      NaN on days with no pair.
    * ``mean_s0``, ``mean_swe`` (basin): mean over P(b); ``n_days`` (basin): |P(b)|.
    * ``snowy`` (basin, bool): mean_swe >= `min_snow_mm`.
    * ``per_basin_correlation`` (basin): r of s0(b, .) and swe(b, .) over P(b); NaN where
      |P(b)| < `min_days`, either series is constant, or the basin is not snowy (a correlation
      with a snow-free SWE series means nothing).

    and scalar attrs (Python floats and ints; NaN when undefined):

    * ``basin_mean_correlation``: r of basin_mean_s0 and basin_mean_swe over days where both are
      finite.
    * ``per_basin_correlation_median``, ``_mean``, ``_p25``, ``_p75``: over basins with a finite
      per-basin correlation (percentiles linear-interpolated); ``n_snowy_basins`` counts them.
    * ``spatial_correlation``: r of mean_s0 and mean_swe across the snowy basins;
      ``spatial_correlation_all``: the same across all basins with finite means.
    * ``n_basins``: basins in the overlap of the inputs; ``min_days``, ``min_snow_mm``.
    """
    s0, swe = _aligned(s0, swe)
    o, s, n = _pairs(s0, swe, axis=-1)  # (basin, time), NaN where either is
    n_day = (~np.isnan(o)).sum(axis=0)
    with np.errstate(invalid="ignore"):
        mean_s0, mean_swe = _mean(o, n), _mean(s, n)
        day_s0, day_swe = _mean(o.T, n_day), _mean(s.T, n_day)
    snowy = mean_swe >= min_snow_mm
    r = np.where((n >= min_days) & snowy, _pearson(o, s), np.nan)

    ds = xr.Dataset(coords={"basin": s0["basin"], "time": s0["time"]})
    ds["basin_mean_s0"] = ("time", day_s0, _units(s0))
    ds["basin_mean_swe"] = ("time", day_swe, _units(swe))
    ds["mean_s0"] = ("basin", mean_s0, _units(s0))
    ds["mean_swe"] = ("basin", mean_swe, _units(swe))
    ds["n_days"] = ("basin", n)
    ds["snowy"] = ("basin", snowy)
    ds["per_basin_correlation"] = ("basin", r)

    stats = summarise(ds["per_basin_correlation"].expand_dims(metric=["r"]))["r"]
    ds.attrs = {
        "basin_mean_correlation": float(_pearson(day_s0, day_swe)),
        **{f"per_basin_correlation_{k}": stats[k] for k in ("median", "mean", "p25", "p75")},
        "n_basins": int(ds.sizes["basin"]),
        "n_snowy_basins": stats["n"],
        "spatial_correlation": float(_pearson(mean_s0[snowy], mean_swe[snowy])),
        "spatial_correlation_all": float(_pearson(mean_s0, mean_swe)),
        "min_days": int(min_days),
        "min_snow_mm": float(min_snow_mm),
    }
    return ds


def snow_summary(ds: xr.Dataset) -> dict:
    """The headline numbers of a `snow_correlation` Dataset as a JSON-serialisable dict."""
    a = ds.attrs
    return {
        "basin_mean_correlation": float(a["basin_mean_correlation"]),
        "per_basin_correlation": {
            **{k: float(a[f"per_basin_correlation_{k}"]) for k in ("median", "mean", "p25", "p75")},
            "n": int(a["n_snowy_basins"]),
        },
        "spatial_correlation": float(a["spatial_correlation"]),
        "spatial_correlation_all": float(a["spatial_correlation_all"]),
        "n_basins": int(a["n_basins"]),
    }


def perennial_snow(s0: xr.DataArray, *, threshold_mm: float = 1.0, share: float = 0.5):
    """Basins whose simulated snow storage does not melt out: (basin,) bool.

    A basin is flagged when S0 stays above `threshold_mm` through a whole water year (its
    minimum over the year exceeds the threshold) in at least `share` of the water years. A
    conceptual model can use a snow bucket that never melts as a sink for water it cannot
    otherwise lose (e.g. when forcing precipitation is biased high); such "snow towers"
    dominate basin-mean S0 series, so snow comparisons should report them.
    """
    if set(s0.dims) != {"basin", "time"}:
        raise DataError(f"s0 has dims {s0.dims}, expected (basin, time)")
    years = xr.DataArray(water_year(s0["time"].values), dims="time", name="water_year")
    yearly_min = s0.groupby(years).min("time")
    flagged = (yearly_min > threshold_mm).mean("water_year") >= share
    return flagged.rename("perennial_snow")
