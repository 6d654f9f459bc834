"""Discharge and precipitation on one axes: observed and simulated flows (linear or log, with
the bottom of a log axis), precipitation hanging from the top on an inverted twin axis, the
layout that keeps them apart and the legend in the band between."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ._common import _color, _dates, _finite, _nse_label, _units


def _log_floor(obs, *others) -> float:
    """Bottom of a log discharge axis: a power of ten at or below the smallest positive observed
    flow (of `others` when nothing positive is observed), yet at most 4 decades below the
    largest. Flows at or below it (zero, negative, tiny) are drawn on it (`_on_log`)."""
    positive = _finite(obs)
    positive = positive[positive > 0]
    if positive.size == 0:
        positive = _finite(*others)
        positive = positive[positive > 0]
    if positive.size == 0:
        return 1e-3
    low = max(float(positive.min()), float(positive.max()) * 1e-4)
    return float(10.0 ** np.floor(np.log10(low) - 1e-9))


def _on_log(q, floor: float | None) -> np.ndarray:
    """`q` as drawn on a log axis with bottom `floor` (None: a linear axis, `q` unchanged)."""
    q = np.asarray(q, dtype=float)
    return q if floor is None else np.maximum(q, floor)  # NaN stays NaN: a gap


def _log_note(floor: float, *arrays) -> str:
    """The y-label suffix of a log discharge axis: names its floor when a flow sits on it."""
    low = _finite(*arrays)
    return f"\n(log; \u2264 {floor:g} at bottom)" if np.any(low <= floor) else " (log)"


def _flow_limits(ax, values, floor: float | None, room: float) -> None:
    """Discharge axis limits that keep the largest flow in the lower `room` of the axes (the
    rest is left to the precipitation hanging from the top), linear or log (`floor`); no
    discharge ticks above the first one past the largest flow."""
    v = _finite(*values)
    if floor is not None:
        top = max(float(v.max()), floor * 10) if v.size else floor * 10
        ax.set_ylim(floor / 1.3, floor * (top / floor) ** (1.0 / room))
        ticks = 10.0 ** np.arange(np.floor(np.log10(floor)), np.ceil(np.log10(top)) + 1)
    else:
        top = float(v.max()) if v.size and v.max() > 0 else 1.0
        bottom = min(0.0, float(v.min())) if v.size else 0.0
        ax.set_ylim(bottom, bottom + (top - bottom) / room)
        ticks = ax.yaxis.get_major_locator().tick_values(bottom, top)
        ticks = ticks[ticks >= bottom]
        ticks = ticks[: int(np.searchsorted(ticks, top * (1 - 1e-9))) + 1]
    if room < 0.95:  # leave the precipitation's part of the height free of discharge ticks
        ax.set_yticks(ticks)
        ax.yaxis.label.set_y(room / 2)


def _draw_flows(
    ax,
    ds: xr.Dataset,
    basin,
    models,
    results: xr.Dataset,
    maxticks=10,
    *,
    floor: float | None = None,
    labels: bool = True,
) -> None:
    """Observed (black) and simulated discharge; `floor`: on a log axis with that bottom."""
    time = ds["time"].values
    obs = _on_log(ds["qobs"].sel(basin=basin).values, floor)
    ax.plot(time, obs, color="black", lw=1.2, label="observed", zorder=3)
    for model in models:
        q = _on_log(ds["qsim"].sel(model=model, basin=basin).values, floor)
        label = _nse_label(results, model, basin) if labels else str(model)
        ax.plot(time, q, lw=0.9, color=_color(results, model), label=label)
    if floor is not None:
        ax.set_yscale("log")
    ax.set_ylabel(f"discharge [{_units(ds['qobs'], 'mm/day')}]")
    _dates(ax, maxticks)


#: Fill colour of precipitation, hanging from the top of hydrographs and regimes.
PRECIP_COLOR = "#6f8fb5"
#: Layout of a hydrograph with precipitation: discharge fills at most the lower FLOW_ROOM of
#: the height, precipitation hangs from the top down to at most PRECIP_DEPTH of it, and the
#: legend sits in the band between, so none of the three hides another.
FLOW_ROOM = 0.5
PRECIP_DEPTH = 0.32


def _precip(ds: xr.Dataset, basin) -> np.ndarray | None:
    """The basin's precipitation in `ds` (None where the results carry no `prcp`)."""
    if "prcp" not in ds:
        return None
    return ds["prcp"].sel(basin=basin).values.astype(float)


def _hang_precip(ax, x, p, units: str, pmax: float | None = None, *, step: bool = True):
    """Precipitation `p` at `x` as bars hanging from the top of a twin y-axis of `ax` (inverted:
    0 at the top, the largest `pmax` reaching down `PRECIP_DEPTH` of the height; `pmax` may fix
    the scale shared by several panels). The discharge axes `ax` is kept in front of it.
    Returns the twin axes, labelled ``precipitation``."""
    from matplotlib.ticker import MaxNLocator

    axp = ax.twinx()
    axp.set_label("precipitation")
    p = np.nan_to_num(np.asarray(p, dtype=float), nan=0.0)  # a gap is drawn as no rain
    if pmax is None:
        pmax = float(_finite(p).max(initial=0.0))
    pmax = pmax if pmax > 0 else 1.0
    style = {"color": PRECIP_COLOR, "alpha": 0.8, "label": f"precipitation [{units}], right"}
    if step:
        axp.fill_between(x, 0.0, p, step="mid", lw=0, **style)
    else:
        axp.bar(x, p, width=0.8, **style)
    axp.set_ylim(pmax / PRECIP_DEPTH, 0.0)
    ticks = MaxNLocator(nbins=3 if ax.bbox.height > 200 else 2).tick_values(0.0, pmax)
    axp.set_yticks(ticks[(ticks >= 0.0) & (ticks <= pmax * 1.001)])
    axp.set_ylabel(f"precipitation\n[{units}]", color=PRECIP_COLOR)
    axp.yaxis.label.set_y(1.0 - PRECIP_DEPTH / 2)
    axp.tick_params(axis="y", colors=PRECIP_COLOR)
    ax.set_zorder(axp.get_zorder() + 1)  # discharge drawn over the precipitation
    ax.patch.set_visible(False)
    return axp


def _hydrograph_on(
    ax,
    results,
    ds,
    basin,
    models,
    *,
    log,
    precip,
    pmax=None,
    qvalues=None,
    labels=True,
    maxticks=10,
):
    """Draw discharge (and precipitation when there is `prcp` and `precip`) of `ds` on `ax`;
    `qvalues`: the flows that set the discharge scale (default: those drawn). Returns the
    precipitation axes or None."""
    obs = ds["qobs"].sel(basin=basin).values
    sims = [ds["qsim"].sel(model=m, basin=basin).values for m in models]
    if qvalues is None:
        qvalues = [obs, *sims]
    floor = _log_floor(qvalues[0], *qvalues[1:]) if log else None
    _draw_flows(ax, ds, basin, models, results, maxticks, floor=floor, labels=labels)
    p = _precip(ds, basin) if precip else None
    axp = None
    if p is not None:
        axp = _hang_precip(ax, ds["time"].values, p, _units(ds["prcp"], "mm/day"), pmax)
    if floor is not None:
        ax.set_ylabel(ax.get_ylabel() + _log_note(floor, *qvalues))
    room = FLOW_ROOM if axp is not None else 0.95
    _flow_limits(ax, [_on_log(v, floor) for v in qvalues], floor, room)
    return axp


def _handles(ax, axp) -> tuple[list, list]:
    """Legend handles and labels of `ax` and of its precipitation axes `axp` (or None)."""
    handles, labels = ax.get_legend_handles_labels()
    if axp is not None:
        more = axp.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    return handles, labels


def _legend(ax, axp, ncol: int | None = None):
    """The legend of a hydrograph-like axes: with precipitation in one row in the free band
    between the flows and the precipitation, else in the upper right corner."""
    handles, labels = _handles(ax, axp)
    if axp is None:
        return ax.legend(handles, labels, loc="upper right", fontsize="small")
    y = (FLOW_ROOM + 1.0 - PRECIP_DEPTH) / 2
    return ax.legend(
        handles,
        labels,
        loc="center",
        bbox_to_anchor=(0.5, y),
        ncol=ncol or len(labels),
        fontsize="small",
        columnspacing=1.2,
        handlelength=1.6,
        borderaxespad=0.0,
        framealpha=0.8,
    )
