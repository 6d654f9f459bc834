"""`basin_summary`: one page on one basin (hydrograph, flow duration curve, regime and a table
of its scores)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ._common import _color, _metric_info, _models, _pick
from ._hydrograph import hydrograph
from ._signatures import flow_duration, regime
from ._years import WATER_YEAR_START


def _format_score(value: float, units: str) -> str:
    if not np.isfinite(value):
        return "n/a"
    return f"{value:+.1f}" if units == "%" else f"{value:.2f}"


def _metric_table(ax, results: xr.Dataset, basin, models) -> None:
    """Every metric of ``results.metrics`` for one basin as a table: a row per metric (with its
    units), a column per model (headed in the model's colour)."""
    ax.axis("off")
    ax.set_title("Scores over the whole record", fontsize="medium")
    if "metrics" not in results:
        ax.text(0.5, 0.5, "no metrics in the results", ha="center", va="center")
        return
    import textwrap

    rows, cells, notes = [], [], []
    for name in results["metric"].values:
        units, long_name = _metric_info(name)
        rows.append(f"{str(name).upper()} [{units or '-'}]")
        values = results["metrics"].sel(basin=basin, metric=name)
        cells.append(
            [rows[-1], *[_format_score(float(values.sel(model=m)), units) for m in models]]
        )
        if long_name:
            line = f"{str(name).upper()}: {long_name}"
            notes.append(textwrap.fill(line, 64, subsequent_indent="    "))
    table = ax.table(
        cellText=cells,
        colLabels=["metric", *map(str, models)],
        bbox=[0.0, 0.4, 1.0, 0.6] if notes else [0.0, 0.1, 1.0, 0.8],
        cellLoc="right",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(9 if len(models) <= 2 else 8 if len(models) == 3 else 7)
    if notes:
        ax.text(
            0.0,
            0.0,
            "\n".join(notes),
            transform=ax.transAxes,
            fontsize=6.5,
            color="dimgrey",
            va="bottom",
            ha="left",
            linespacing=1.25,
        )
    for (row, col), cell in table.get_celld().items():
        # The metric column needs ~14 characters; the models share the rest (four models
        # of "+10.9" and a bold name each fit at 7 pt).
        first = 0.4 if len(models) <= 2 else 0.34  # "RMSE [mm/day]" at 9 pt
        cell.set_width(first if col == 0 else (1 - first) / len(models))
        if col == 0 and row > 0:
            cell.get_text().set_horizontalalignment("left")
    for k, model in enumerate(models, start=1):
        header = table[0, k].get_text()
        header.set_color(_color(results, model))
        header.set_fontweight("bold")
        if len(models) > 3:  # bold names are wider than the scores below them
            header.set_fontsize(6.5)


def basin_summary(
    results: xr.Dataset,
    basin,
    *,
    models=None,
    year=None,
    log: bool = False,
    water_year_start: int = WATER_YEAR_START,
):
    """One page on one basin, for a hydrologist to judge the models at a glance.

    Top: the hydrograph of one water year with precipitation hanging from the top (`hydrograph`;
    `year` as there, by default the wettest; ``log=True`` for a log discharge axis). Bottom, left
    to right: the flow duration curve on a log axis (`flow_duration`), the monthly regime
    (`regime`) and a table of every metric in ``results.metrics`` for the basin with its units,
    one column per model. The axes are labelled (``ax.get_label()``) ``hydrograph``,
    ``flow_duration``, ``regime`` and ``metrics``; precipitation twin axes ``precipitation``.
    """
    from matplotlib.figure import Figure

    basin = _pick(results, "basin", basin)
    models = _models(results, models)
    fig = Figure(figsize=(13, 8.5), layout="constrained")
    axd = fig.subplot_mosaic(
        [["hydrograph"] * 3, ["flow_duration", "regime", "metrics"]],
        height_ratios=[1.1, 1.0],
        width_ratios=[1.0, 0.95, 1.05],
    )
    for name, ax in axd.items():
        ax.set_label(name)
    hydrograph(
        results,
        basin,
        models=models,
        year=year,
        log=log,
        water_year_start=water_year_start,
        ax=axd["hydrograph"],
    )
    flow_duration(results, basin, models, ax=axd["flow_duration"])
    axd["flow_duration"].set_title("Flow duration curve", fontsize="medium")
    regime(results, basin, models, water_year_start=water_year_start, ax=axd["regime"])
    axd["regime"].get_legend().remove()  # the same lines and colours as the hydrograph's
    axd["regime"].set_title("Monthly regime (mean over the record)", fontsize="medium")
    _metric_table(axd["metrics"], results, basin, models)
    first, last = (np.datetime_as_string(results["time"].values[i], unit="D") for i in (0, -1))
    fig.suptitle(f"Basin {basin}: {first} to {last}", fontweight="bold")
    return fig
