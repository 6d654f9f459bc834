"""What a run directory shows of its results: results.nc, metrics.csv, summary.json, the
figures, and the table printed at the end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr

from ..evaluate import save_results, summarise
from ._record import write_json

#: The statistics of each model's NSE over basins in summary.json.
SUMMARY_STATISTICS = ("median", "mean", "std", "n_negative")


def metric_summary(results: xr.Dataset, metrics=("nse", "kge", "mnse", "pfab")) -> pd.DataFrame:
    """Median over basins of each metric per model (rows: models)."""
    table = results["metrics"].sel(metric=list(metrics)).median("basin")
    return table.to_pandas()


def nse_summary(results: xr.Dataset, seconds: dict[str, float]) -> dict:
    """`{model: {"nse": {median, mean, std, n_negative}}, "training_seconds": {model: s}}`
    (the shape of `benchmarks/results/regional_pub.json`, plus the training seconds):
    statistics over the basins with a finite NSE (`dgeo.evaluate.summarise`)."""
    out: dict = {}
    for model in results["model"].values:
        stats = summarise(results["metrics"].sel(model=model, metric=["nse"]))["nse"]
        out[str(model)] = {"nse": {k: stats[k] for k in SUMMARY_STATISTICS}}
    out["training_seconds"] = {k: float(v) for k, v in seconds.items()}
    return out


def _figures(
    results: xr.Dataset,
    folder: Path,
    suffix: str = "",
    n_basins: int = 3,
    n_summaries: int = 10,
) -> None:
    """The figures of a run directory in `folder`: `nse_cdf.png` (all basins),
    `hydrograph_<basin>.png` (the wettest water year, with precipitation) of the first
    `n_basins` basins and `summary_<basin>.png` (`dgeo.plot.basin_summary`, one page per basin)
    of the first `n_summaries`. With more basins than that, `summaries.txt` says which basins
    have a summary and how to draw the others (a page per basin is for reading a few basins
    closely, not for hundreds: `nse_cdf` is the view across all of them).
    """
    from .. import plot

    plot.save(plot.nse_cdf(results), folder / f"nse_cdf{suffix}.png")
    basins = [str(b) for b in results["basin"].values]
    for basin in basins[:n_basins]:
        figure = plot.hydrograph(results, basin)
        plot.save(figure, folder / f"hydrograph_{basin}{suffix}.png")
    for basin in basins[:n_summaries]:
        plot.save(plot.basin_summary(results, basin), folder / f"summary_{basin}{suffix}.png")
    if len(basins) > n_summaries:
        (folder / f"summaries{suffix}.txt").write_text(
            f"summary_<basin>{suffix}.png is drawn for the first {n_summaries} of the "
            f"{len(basins)} basins: {', '.join(basins[:n_summaries])}.\n"
            "Draw any other with:\n"
            "  from dgeo import plot\n"
            "  from dgeo.evaluate import load_results\n"
            f"  results = load_results('<run directory>/results{suffix}.nc')\n"
            "  plot.save(plot.basin_summary(results, '<basin>'), 'summary_<basin>.png')\n"
        )


def write_results(
    results: xr.Dataset, run_dir: Path, suffix: str = "", seconds: dict | None = None
) -> None:
    """`results<suffix>.nc`, `metrics<suffix>.csv` (a row per model and basin, a column per
    metric), the figures and, with the training `seconds` per model, `summary.json`."""
    save_results(results, run_dir / f"results{suffix}.nc")
    table = results["metrics"].to_dataframe().reset_index()
    table.pivot_table(index=["model", "basin"], columns="metric", values="metrics").to_csv(
        run_dir / f"metrics{suffix}.csv"
    )
    if seconds is not None:
        write_json(run_dir / f"summary{suffix}.json", nse_summary(results, seconds))
    _figures(results, run_dir / "figures", suffix)


def print_summary(results: xr.Dataset) -> None:
    """The per-model median of each metric, as a small table on stdout."""
    period = f"{results.attrs.get('start')}..{results.attrs.get('end')}"
    held = " (each predicted when held out)" if "fold" in results.coords else ""
    print(f"median over {results.sizes['basin']} basins{held}, {period}:")
    with pd.option_context("display.float_format", "{:.3f}".format):
        print(metric_summary(results).to_string())
