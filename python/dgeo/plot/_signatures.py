"""Flow signatures of a basin: the flow duration curve and the monthly regime."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ._axes import (
    FLOW_ROOM,
    _flow_limits,
    _hang_precip,
    _legend,
    _log_floor,
    _log_note,
    _on_log,
    _precip,
)
from ._common import _color, _figure, _models, _pick, _units, _window
from ._years import WATER_YEAR_START


def flow_duration(results: xr.Dataset, basin, models=None, *, start=None, end=None, ax=None):
    """Flow duration curves of one basin: observed (black) and each model's daily discharge
    sorted from largest to smallest against its exceedance probability (Weibull plotting
    position i / (n + 1), in %), on a log discharge axis.

    Only days with observed discharge are ranked, for the models too, so gaps in the record
    do not bias the comparison. Zero, negative and tiny flows sit on the bottom of the axis
    (named in the y label). Shaded: the top 2 % (the peak-flow segment of FHV/PFAB) and the
    bottom 30 % (the low-flow segment of FLV); a model's FHV and FLV from ``results.metrics``
    are in its legend entry when present. `start`/`end` trim the time axis.
    """
    basin = _pick(results, "basin", basin)
    models = _models(results, models)
    ds = _window(results, start, end).sel(basin=basin)
    obs = ds["qobs"].values.astype(float)
    seen = np.isfinite(obs)
    curves = {"observed": obs[seen]}
    for m in models:
        q = ds["qsim"].sel(model=m).values.astype(float)[seen]
        curves[m] = q[np.isfinite(q)]
    if ax is None:
        fig, axes = _figure(figsize=(6.5, 4.8))
        ax = axes[0, 0]
    floor = _log_floor(curves["observed"], *list(curves.values())[1:])
    ax.axvspan(0.0, 2.0, color="grey", alpha=0.2, lw=0)
    ax.axvspan(70.0, 100.0, color="grey", alpha=0.12, lw=0)
    for name, q in curves.items():
        if q.size == 0:
            continue
        q = np.sort(q)[::-1]
        x = 100.0 * np.arange(1, q.size + 1) / (q.size + 1)
        if name == "observed":
            ax.plot(x, _on_log(q, floor), color="black", lw=1.6, label="observed", zorder=3)
        else:
            ax.plot(
                x,
                _on_log(q, floor),
                lw=1.1,
                color=_color(results, name),
                label=_fdc_label(results, name, basin),
            )
    ax.set_yscale("log")
    _flow_limits(ax, [_on_log(q, floor) for q in curves.values()], floor, 0.95)
    ax.set_xlim(0.0, 100.0)
    ax.set_xlabel("exceedance probability [%]")
    units = _units(ds["qobs"], "mm/day")
    ax.set_ylabel(f"discharge [{units}]" + _log_note(floor, *curves.values()))
    ax.text(
        0.98,
        0.97,
        "shaded: top 2 % (FHV segment)\nand bottom 30 % (FLV segment)",
        transform=ax.transAxes,
        fontsize="x-small",
        color="dimgrey",
        ha="right",
        va="top",
    )  # the upper right, like the lower left, is empty on a duration curve
    ax.grid(alpha=0.3, which="major")
    ax.set_title(f"Flow duration curve, basin {basin} ({curves['observed'].size} days)")
    ax.legend(loc="lower left", fontsize="small")  # the empty corner of a duration curve
    return ax.figure


def _fdc_label(results: xr.Dataset, model, basin) -> str:
    if "metrics" not in results:
        return str(model)
    have = [str(m) for m in results["metric"].values]
    parts = []
    for name in ("fhv", "flv"):
        if name in have:
            value = float(results["metrics"].sel(model=model, basin=basin, metric=name))
            if np.isfinite(value):
                parts.append(f"{name.upper()} {value:+.0f}%")
    return f"{model} ({', '.join(parts)})" if parts else str(model)


def _monthly(q: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Mean of `q` per calendar month 1..12 over its finite values (NaN for an empty month)."""
    ok = np.isfinite(q)
    total = np.bincount(months[ok] - 1, weights=q[ok], minlength=12)
    count = np.bincount(months[ok] - 1, minlength=12)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def regime(
    results: xr.Dataset,
    basin,
    models=None,
    *,
    precip: bool = True,
    water_year_start: int = WATER_YEAR_START,
    ax=None,
):
    """The flow regime of a basin: mean observed and simulated discharge per calendar month
    over the record (months in water-year order), with the monthly mean precipitation hanging
    from the top when the results have `prcp`. The models are averaged over the days with
    observed discharge only, like the observations."""
    basin = _pick(results, "basin", basin)
    models = _models(results, models)
    ds = results.sel(basin=basin)
    months = pd.DatetimeIndex(ds["time"].values).month.to_numpy()
    order = [(water_year_start - 1 + i) % 12 + 1 for i in range(12)]
    obs = ds["qobs"].values.astype(float)
    seen = np.isfinite(obs)
    if ax is None:
        fig, axes = _figure(figsize=(6.5, 4.5))
        ax = axes[0, 0]
    x = np.arange(12)
    idx = np.array(order) - 1
    flows = [_monthly(obs, months)[idx]]
    ax.plot(x, flows[0], color="black", lw=1.6, marker="o", ms=3.5, label="observed", zorder=3)
    for m in models:
        q = np.where(seen, ds["qsim"].sel(model=m).values.astype(float), np.nan)
        flows.append(_monthly(q, months)[idx])
        ax.plot(x, flows[-1], lw=1.1, marker="o", ms=2.5, color=_color(results, m), label=str(m))
    axp = None
    p = _precip(results, basin) if precip else None
    if p is not None:
        axp = _hang_precip(
            ax, x, _monthly(p, months)[idx], _units(results["prcp"], "mm/day"), step=False
        )
    _flow_limits(ax, flows, None, FLOW_ROOM if axp is not None else 0.95)
    ax.set_xticks(x, [pd.Timestamp(2001, m, 1).strftime("%b")[0] for m in order])
    ax.set_xlim(-0.6, 11.6)
    ax.set_ylabel(f"mean discharge [{_units(results['qobs'], 'mm/day')}]")
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(f"Monthly regime, basin {basin}")
    _legend(ax, axp, ncol=2)
    return ax.figure
