"""Hydrological skill metrics, NaN-aware, in numpy (inputs may be numpy arrays or xarray DataArrays).

Every metric takes ``obs, sim`` of the same shape and computes over ``axis`` (the time axis,
last by default), returning one value per series: a numpy array of the remaining shape, or a
numpy float64 scalar for 1-D input.

Conventions shared by all metrics:

* Gaps are masked pairwise: a day where obs *or* sim is NaN is dropped from both before anything
  is computed, so a few gaps never turn a whole series into NaN.
* A series with fewer than 2 valid pairs gives NaN.
* A metric whose formula divides by zero for a series (constant obs for NSE, zero mean obs for
  KGE or bias, ...) gives NaN for that series rather than ``inf``.
* ``obs`` and ``sim`` must have the same shape (ValueError otherwise). When both are DataArrays
  they are paired by label, not position: ``sim`` is transposed to the dim order of ``obs`` and
  its coordinates (basins, dates) reordered to those of ``obs``; different labels (other basins,
  shifted dates) are a ValueError. ``axis`` may then also be given as a dim name.

Flow-duration-curve (FDC) metrics sort obs and sim *independently* (after the pairwise masking)
and compare segments of equal rank. With ``n`` valid days, the high-flow segment holds the
``k = max(1, floor(h * n + 0.5))`` largest flows and the low-flow segment the
``k = max(1, floor(l * n + 0.5))`` smallest.

Compared with neuralhydrology's ``fdc_fhv``/``fdc_flv`` (Kratzert et al.), the formulas are the
same; the differences are: ``k`` rounds half up and is at least 1 (neuralhydrology uses
``round(h * n)``, half to even, so for ``n <= 25`` days its FHV segment is empty); a zero
denominator gives NaN (neuralhydrology adds 1e-6 to FLV's); and FLV's floor for zero and
near-zero flows is 1 % of the mean observed flow, not 1e-6 (see `flv` for why).

`METRIC_INFO` gives the units and a long name of every metric of `METRICS`: ``"%"`` for
percentages, ``"1"`` (the CF convention) for dimensionless ratios, ``"mm/day"`` for RMSE (the
units of dgeo's flows). `metrics_table` attaches them as ``metric_units`` and
``metric_long_name`` coordinates along its ``metric`` dim.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import xarray as xr

from .._typing import NumPyValues

__all__ = [
    "FLV_FLOOR",
    "METRICS",
    "METRIC_INFO",
    "MetricInfo",
    "bias",
    "fhv",
    "flv",
    "kge",
    "metrics_table",
    "mnse",
    "nse",
    "nse_decomposition",
    "pfab",
    "rmse",
    "summarise",
]

#: `flv` raises flows to this fraction of the mean observed flow before taking logs.
FLV_FLOOR = 0.01


# ----------------------------------------------------------------------------- helpers


def _pairs(obs, sim, axis: int | str) -> tuple[np.ndarray, np.ndarray, NumPyValues]:
    """Float64 arrays with time moved last and NaN wherever obs or sim is NaN, plus counts."""
    if isinstance(obs, xr.DataArray) and isinstance(sim, xr.DataArray):
        if obs.dims != sim.dims and set(obs.dims) == set(sim.dims):
            sim = sim.transpose(*obs.dims)
        sim = _paired_by_label(obs, sim)
    if isinstance(axis, str):
        if not isinstance(obs, xr.DataArray):
            raise TypeError(f"axis given as the dim name {axis!r} needs obs to be a DataArray")
        axis = obs.get_axis_num(axis)
    o = np.asarray(obs, dtype=np.float64)
    s = np.asarray(sim, dtype=np.float64)
    if o.shape != s.shape:
        raise ValueError(
            f"obs and sim must have the same shape, got obs {o.shape} and sim {s.shape}"
        )
    if o.ndim == 0:
        raise ValueError("obs and sim must have at least one (time) axis, got scalars")
    o = np.moveaxis(o, axis, -1)
    s = np.moveaxis(s, axis, -1)
    valid = ~(np.isnan(o) | np.isnan(s))
    o = np.where(valid, o, np.nan)
    s = np.where(valid, s, np.nan)
    return o, s, valid.sum(axis=-1)


def _paired_by_label(obs: xr.DataArray, sim: xr.DataArray) -> xr.DataArray:
    """`sim` with each labelled dim in the order of `obs` (basins listed in another order are
    matched by id); labels that differ (other basins, shifted dates) are a ValueError."""
    for dim in obs.dims:
        if dim not in obs.indexes or dim not in sim.indexes:
            continue
        want, have = obs.indexes[dim], sim.indexes[dim]
        if want.equals(have):
            continue
        if len(want) == len(have) and want.is_unique and set(want) == set(have):
            sim = sim.sel({dim: want})
            continue
        extra, lacking = have.difference(want), want.difference(have)
        raise ValueError(
            f"obs and sim have different {dim!r} labels: sim lacks {list(lacking[:3])}, "
            f"has {list(extra[:3])} that obs lacks ({len(lacking)} and {len(extra)} in all)"
        )
    return sim


def _mean(x: np.ndarray, n: NumPyValues) -> NumPyValues:
    """Mean over the last axis ignoring NaN; NaN (without a warning) where n == 0."""
    return np.nansum(x, axis=-1) / n


def _varies(x: np.ndarray) -> NumPyValues:
    """Whether each series takes more than one value (exact test: a rounded variance of a constant
    series can be a tiny positive number instead of 0)."""
    good = ~np.isnan(x)
    hi = np.max(x, axis=-1, initial=-np.inf, where=good)
    lo = np.min(x, axis=-1, initial=np.inf, where=good)
    return hi > lo


def _finish(value: NumPyValues, n: NumPyValues, ok: NumPyValues | bool = True):
    """NaN where fewer than 2 pairs or the formula is undefined; 0-d results become scalars."""
    out = np.where((n >= 2) & ok, value, np.nan)
    return out[()] if out.ndim == 0 else out


def _segment_size(frac: float, n: NumPyValues) -> NumPyValues:
    return np.maximum(1, np.floor(frac * n + 0.5)).astype(np.int64)


def _check_fraction(name: str, frac: float) -> None:
    if not 0.0 < frac <= 1.0:
        raise ValueError(f"{name} must lie in (0, 1], got {frac}")


# ----------------------------------------------------------------------------- metrics


def nse(obs, sim, axis: int | str = -1):
    """Nash–Sutcliffe efficiency (Nash & Sutcliffe 1970).

    NSE = 1 - sum_t (s_t - o_t)^2 / sum_t (o_t - mean(o))^2

    Ranges over (-inf, 1]; 1 is a perfect fit, 0 is no better than the mean of obs.
    NaN for a series with constant obs (zero denominator).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        o, s, n = _pairs(obs, sim, axis)
        om = _mean(o, n)[..., None]
        num = np.nansum((s - o) ** 2, axis=-1)
        den = np.nansum((o - om) ** 2, axis=-1)
        return _finish(1.0 - num / den, n, _varies(o) & (den > 0))


def _moments(obs, sim, axis):
    """Pairwise-masked means, population standard deviations and correlation of o and s."""
    o, s, n = _pairs(obs, sim, axis)
    om, sm = _mean(o, n), _mean(s, n)
    do, ds = o - om[..., None], s - sm[..., None]
    so, ss = np.sqrt(_mean(do**2, n)), np.sqrt(_mean(ds**2, n))
    return o, s, n, om, sm, so, ss, _mean(do * ds, n) / (so * ss)


def kge(obs, sim, axis: int | str = -1):
    """Kling–Gupta efficiency (Gupta et al. 2009).

    KGE = 1 - sqrt((r - 1)^2 + (alpha - 1)^2 + (beta - 1)^2)

    with r the Pearson correlation of s and o, alpha = std(s) / std(o) and
    beta = mean(s) / mean(o) (population standard deviations; the ratio does not depend on the
    choice). NaN for a series where std(o), std(s) or mean(o) is zero.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        o, s, n, om, sm, so, ss, r = _moments(obs, sim, axis)
        alpha = ss / so
        beta = sm / om
        value = 1.0 - np.sqrt((r - 1.0) ** 2 + (alpha - 1.0) ** 2 + (beta - 1.0) ** 2)
        ok = _varies(o) & _varies(s) & (so > 0) & (ss > 0) & (om != 0)
        return _finish(value, n, ok)


def nse_decomposition(obs, sim, axis: int | str = -1) -> dict[str, NumPyValues]:
    """Why an NSE is what it is: 1 - NSE split into three non-negative terms (Murphy 1988;
    Gupta et al. 2009), each in units of the observed variance:

        1 - NSE = (alpha - r)^2 + (1 - r^2) + beta_n^2

    - `amplitude` = (alpha - r)^2: the simulated variability is wrong for its correlation
      (alpha = std(s) / std(o); over- or under-amplified responses);
    - `timing` = 1 - r^2: what the correlation r leaves unexplained (shape and timing);
    - `volume` = beta_n^2, beta_n = (mean(s) - mean(o)) / std(o): the water balance.

    Returns name -> values (as `nse` returns them) for "r", "alpha", "beta_n", "amplitude",
    "timing" and "volume". A constant simulation has no correlation; it gets r = 0 and
    alpha = 0, which keeps the identity exact (1 - NSE is 1 + beta_n^2). NaN where NSE is
    undefined (constant obs, fewer than 2 valid pairs).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        o, s, n, om, sm, so, ss, r = _moments(obs, sim, axis)
        ok = _varies(o) & (so > 0)
        constant = ~(_varies(s) & (ss > 0))  # no variability (ss may be a rounding residue)
        r, alpha = np.where(constant, 0.0, r), np.where(constant, 0.0, ss / so)
        beta_n = (sm - om) / so
        values = {
            "r": r,
            "alpha": alpha,
            "beta_n": beta_n,
            "amplitude": (alpha - r) ** 2,
            "timing": 1.0 - r**2,
            "volume": beta_n**2,
        }
        return {k: _finish(v, n, ok) for k, v in values.items()}


def mnse(obs, sim, axis: int | str = -1):
    """Modified Nash–Sutcliffe efficiency, absolute-error form (Legates & McCabe 1999).

    mNSE = 1 - sum_t |s_t - o_t| / sum_t |o_t - mean(o)|

    Less sensitive to peak-flow errors than NSE. NaN for a series with constant obs.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        o, s, n = _pairs(obs, sim, axis)
        om = _mean(o, n)[..., None]
        num = np.nansum(np.abs(s - o), axis=-1)
        den = np.nansum(np.abs(o - om), axis=-1)
        return _finish(1.0 - num / den, n, _varies(o) & (den > 0))


def fhv(obs, sim, axis: int | str = -1, *, h: float = 0.02):
    """Percent bias of the high-flow segment of the flow duration curve (Yilmaz et al. 2008).

    FHV = 100 * sum_{i=1..k} (s_(i) - o_(i)) / sum_{i=1..k} o_(i)

    where o_(i) and s_(i) are obs and sim each sorted independently in descending order and the
    segment holds the k = max(1, floor(h * n + 0.5)) largest of the n valid flows (h = 0.02: the
    top 2 %, exceedance probabilities below 0.02). Positive: simulated peaks too high. NaN when
    sum o_(i) over the segment is 0. The formula and sign of Yilmaz et al. (%BiasFHV) and of
    neuralhydrology's ``fdc_fhv``; only the rounding of k differs (see the module docstring).
    """
    _check_fraction("h", h)
    with np.errstate(divide="ignore", invalid="ignore"):
        o, s, n = _pairs(obs, sim, axis)
        o_sorted = np.sort(o, axis=-1)  # ascending, NaN last
        s_sorted = np.sort(s, axis=-1)
        k = _segment_size(h, n)[..., None]
        idx = np.arange(o.shape[-1])
        seg = (idx >= n[..., None] - k) & (idx < n[..., None])
        o_h = np.sum(np.where(seg, o_sorted, 0.0), axis=-1)
        s_h = np.sum(np.where(seg, s_sorted, 0.0), axis=-1)
        return _finish(100.0 * (s_h - o_h) / o_h, n, o_h != 0)


def pfab(obs, sim, axis: int | str = -1, *, h: float = 0.02):
    """Absolute peak-flow bias: PFAB = |FHV| (in %).

    The absolute percent bias of the peak-flow (top 2 %) segment of the flow duration curve
    (Yilmaz et al. 2008), as used by Jiang et al. (2020); see `fhv` for the segment definition.
    Neither Yilmaz et al. nor neuralhydrology define it: it is |%BiasFHV|, in [0, inf).
    """
    return np.abs(fhv(obs, sim, axis, h=h))


def flv(obs, sim, axis: int | str = -1, *, l: float = 0.3, floor: float = FLV_FLOOR):  # noqa: E741
    """Percent bias of the low-flow segment of the flow duration curve, in log space
    (%BiasFLV of Yilmaz et al. 2008):

    FLV = -100 * [sum_i (log s_i - log s_min) - sum_i (log o_i - log o_min)]
                 / sum_i (log o_i - log o_min)

    where o_i and s_i (i = 1..k) are the k = max(1, floor(l * n + 0.5)) smallest of the n valid
    obs and sim flows, each sorted independently (l = 0.3: the bottom 30 % of the FDC,
    exceedance probabilities 0.7-1), and o_min, s_min the smallest flow of each segment.

    Each sum is the log-space area of a low segment above its own minimum, so FLV compares the
    *shape* of the low-flow FDC (how far the low flows rise above the lowest one), not their
    level: sim = c * obs gives 0 for any c > 0 (use `bias` for volumes). Negative: the simulated
    low flows spread further down than observed (a deeper recession or a lower minimum);
    positive: a flatter simulated low segment, 100 for a constant one. At most 100, unbounded
    below. Same formula and sign as Yilmaz et al. and neuralhydrology's ``fdc_flv``.

    Floor for zero and near-zero flows: before the log, obs and sim flows are raised to
    ``eps = floor * mean(o)`` (default floor = 0.01: 1 % of the series' mean observed flow, the
    epsilon Pushpalatha et al. (2012) add to flows before taking logs). Flows above ``eps``
    enter unchanged; zero, negative and tiny flows all count as ``eps``. Why: the formula is
    anchored at the single smallest flow of each segment, so every one of the k terms moves by
    log(o_min / s_min). With an absolute floor of 1e-6 (neuralhydrology's, and dgeo's before)
    the observed flows of ten water years (2001-2010) with a single day set to 1e-5 mm/day
    score -410 % to -1160 % on four CAMELS basins (observed minima 0.03-0.15 mm/day): a value
    set by how far below any measurable flow the model's numerical residue falls. Below about
    1 % of the mean flow, differences are mostly gauge resolution and numerical residue; the
    floor bounds the shift to log(o_min / eps) (the same four cases: -14 % to -256 %).

    What the floor does not change: one low simulated day still moves every term (by at most
    log(o_min / eps)), and where zero flows fill most of the observed low segment (intermittent
    rivers) the denominator is small and FLV large under any floor. Simulated low flows far
    below eps all count as eps, so a low segment simulated 100 times too low scores near +100
    (flat), not 0 as the scale-free formula would give without the floor.

    NaN when the obs segment is constant after the floor (zero denominator, e.g. zero flows on
    at least k days), and when mean(o) <= 0.
    """
    _check_fraction("l", l)
    if not floor > 0:
        raise ValueError(f"floor must be positive, got {floor}")
    with np.errstate(divide="ignore", invalid="ignore"):
        o, s, n = _pairs(obs, sim, axis)
        eps = (floor * _mean(o, n))[..., None]
        log_o = np.log(np.maximum(np.sort(o, axis=-1), eps))  # ascending, NaN last
        log_s = np.log(np.maximum(np.sort(s, axis=-1), eps))
        k = _segment_size(l, n)[..., None]
        seg = np.arange(o.shape[-1]) < k
        term_o = np.sum(np.where(seg, log_o - log_o[..., :1], 0.0), axis=-1)
        term_s = np.sum(np.where(seg, log_s - log_s[..., :1], 0.0), axis=-1)
        # mean(o) <= 0 makes the log of the smallest obs NaN or -inf, so the value NaN
        return _finish(-100.0 * (term_s - term_o) / term_o, n, term_o != 0)


def rmse(obs, sim, axis: int | str = -1):
    """Root mean squared error, in the units of the flows.

    RMSE = sqrt( (1/n) * sum_t (s_t - o_t)^2 )
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        o, s, n = _pairs(obs, sim, axis)
        return _finish(np.sqrt(_mean((s - o) ** 2, n)), n)


def bias(obs, sim, axis: int | str = -1):
    """Percent bias of the total volume.

    PBIAS = 100 * sum_t (s_t - o_t) / sum_t o_t

    Positive: sim overestimates. NaN when sum o_t is 0. This is %BiasRR of Yilmaz et al. (2008)
    (their runoff-ratio bias: the same ratio, as precipitation cancels). Moriasi et al. (2007)
    define PBIAS with the opposite sign (100 * sum (o - s) / sum o, positive = underestimation);
    neuralhydrology has no percent bias (its beta-NSE is (mean(s) - mean(o)) / std(o), its
    beta-KGE mean(s) / mean(o)).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        o, s, n = _pairs(obs, sim, axis)
        total = np.nansum(o, axis=-1)
        return _finish(100.0 * np.nansum(s - o, axis=-1) / total, n, total != 0)


#: All metrics by name, in reporting order.
METRICS: dict[str, Callable] = {
    "nse": nse,
    "kge": kge,
    "mnse": mnse,
    "pfab": pfab,
    "fhv": fhv,
    "flv": flv,
    "rmse": rmse,
    "bias": bias,
}


class MetricInfo(NamedTuple):
    """Units and long name of a metric (as `metrics_table` computes it, default arguments)."""

    units: str
    long_name: str


#: Units and long name of every metric of `METRICS`: "%" for percentages, "1" (CF convention)
#: for dimensionless scores, "mm/day" (the units of dgeo's flows) for RMSE.
METRIC_INFO: dict[str, MetricInfo] = {
    "nse": MetricInfo("1", "Nash-Sutcliffe efficiency"),
    "kge": MetricInfo("1", "Kling-Gupta efficiency"),
    "mnse": MetricInfo("1", "modified Nash-Sutcliffe efficiency (absolute errors)"),
    "pfab": MetricInfo("%", "absolute percent bias of the top 2 % of the flow duration curve"),
    "fhv": MetricInfo("%", "percent bias of the top 2 % of the flow duration curve"),
    "flv": MetricInfo("%", "percent bias of the bottom 30 % of the flow duration curve, log space"),
    "rmse": MetricInfo("mm/day", "root mean squared error of discharge"),
    "bias": MetricInfo("%", "percent bias of the total discharge volume"),
}


# ----------------------------------------------------------------------------- tables


#: Attributes of a table of metrics (`metrics_table`, the `metrics` of `results_dataset`).
METRICS_ATTRS = {
    "long_name": "skill metrics of simulated against observed discharge",
    "description": (
        "one value per metric (see dgeo.evaluate.METRICS); the units of each metric are in "
        "the metric_units coordinate ('%' percent, '1' dimensionless, 'mm/day' discharge) and "
        "its full name in metric_long_name"
    ),
}


def metrics_table(
    obs: xr.DataArray,
    sim: xr.DataArray,
    metrics: str | Sequence[str] | None = None,
    *,
    time_dim: str = "time",
) -> xr.DataArray:
    """Every requested metric for every basin, as a (basin, metric) DataArray of floats.

    ``obs`` and ``sim`` are 2-D DataArrays with a ``time`` dim (``time_dim``) in any position and
    one other dim (normally ``basin``), whose name and coordinate carry over to the result;
    they are paired by label like the metrics (basins in another order are matched by id).
    Plain 2-D numpy arrays are read as (basin, time). ``metrics`` names entries of `METRICS`
    (default: all, in that order); an unknown name raises ValueError.

    Each metric's units and long name (`METRIC_INFO`) come as the coordinates ``metric_units``
    and ``metric_long_name`` along ``metric`` (netCDF attributes cannot vary per element).
    """
    if metrics is None:
        names = list(METRICS)
    else:
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        unknown = [m for m in names if m not in METRICS]
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; allowed metrics are {list(METRICS)}")
    obs = _as_2d(obs, "obs", time_dim)
    sim = _as_2d(sim, "sim", time_dim)
    if set(sim.dims) != set(obs.dims):
        raise ValueError(
            f"obs and sim must have the same dims, got obs {obs.dims} and sim {sim.dims}"
        )
    series_dim = next(d for d in obs.dims if d != time_dim)
    obs = obs.transpose(series_dim, time_dim)
    sim = sim.transpose(series_dim, time_dim)
    if obs.shape == sim.shape:
        sim = _paired_by_label(obs, sim)
    else:
        raise ValueError(
            f"obs and sim must have the same shape, got obs {obs.shape} and sim {sim.shape}"
        )
    values = np.stack([np.asarray(METRICS[m](obs.values, sim.values), float) for m in names], -1)
    coords = {
        "metric": names,
        "metric_units": ("metric", [METRIC_INFO[m].units for m in names]),
        "metric_long_name": ("metric", [METRIC_INFO[m].long_name for m in names]),
    }
    if series_dim in obs.coords:
        coords[series_dim] = obs.coords[series_dim].values
    return xr.DataArray(
        values, dims=(series_dim, "metric"), coords=coords, name="skill", attrs=dict(METRICS_ATTRS)
    )


def _as_2d(x, label: str, time_dim: str) -> xr.DataArray:
    if not isinstance(x, xr.DataArray):
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"{label} must be 2-D (basin, time), got shape {x.shape}")
        return xr.DataArray(x, dims=("basin", time_dim))
    if x.ndim != 2 or time_dim not in x.dims:
        raise ValueError(f"{label} must be 2-D with a {time_dim!r} dim, got dims {x.dims}")
    return x


def summarise(table: xr.DataArray) -> dict[str, dict[str, float | int]]:
    """Summary statistics over basins for each metric of a (basin, metric) table.

    Returns ``{metric: {"median", "mean", "p25", "p75", "std", "n_negative", "n_nan", "n"}}``.
    Basins with a NaN value are excluded from the statistics and counted in ``n_nan``; ``n`` is
    the number of basins used. ``std`` is the population standard deviation (ddof=0), ``p25`` and
    ``p75`` linear-interpolated percentiles. Statistics are Python floats (NaN when no basin is
    valid); counts are Python ints.
    """
    if "metric" not in table.dims:
        raise ValueError(f"table must have a 'metric' dim, got dims {table.dims}")
    out: dict[str, dict[str, float | int]] = {}
    for name in table.coords["metric"].values.tolist():
        v = np.asarray(table.sel(metric=name), dtype=np.float64).ravel()
        good = v[~np.isnan(v)]
        if good.size:
            p25, median, p75 = np.percentile(good, [25.0, 50.0, 75.0])
            stats = {
                "median": float(median),
                "mean": float(np.mean(good)),
                "p25": float(p25),
                "p75": float(p75),
                "std": float(np.std(good)),
            }
        else:
            stats = dict.fromkeys(("median", "mean", "p25", "p75", "std"), float("nan"))
        stats["n_negative"] = int(np.sum(good < 0))
        stats["n_nan"] = int(v.size - good.size)
        stats["n"] = int(good.size)
        out[str(name)] = stats
    return out
