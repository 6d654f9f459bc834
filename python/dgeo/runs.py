"""Run directories: train from a configuration, evaluate a trained run, and the demo.

A run directory holds `config.yml` (the configuration as given), `checkpoints/<model>/` (the
training state after every epoch, for `--resume`), `models/<model>.eqx` (the best weights),
`history.csv`, `results.nc` (the test-period results Dataset), `metrics.csv` and `figures/`.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pandas as pd
import xarray as xr
import yaml

from .config import RunConfig, parse_config
from .evaluate import save_results
from .train import load_models, run_models, save_models, train_models


def load_data(config: RunConfig) -> xr.Dataset:
    """The dataset a configuration names: a CAMELS-US root, a netCDF file or `synthetic`."""
    from .data import load, synthetic
    from .data._dataset import select_basins

    if config.data == "synthetic":
        ds = synthetic()
        return (
            ds
            if config.basins is None
            else select_basins(ds, config.basins, source="the synthetic twins")
        )
    return load(config.data, **({"basins": config.basins} if config.basins else {}))


def metric_summary(results: xr.Dataset, metrics=("nse", "kge", "mnse", "pfab")) -> pd.DataFrame:
    """Median over basins of each metric per model (rows: models)."""
    table = results["metrics"].sel(metric=list(metrics)).median("basin")
    return table.to_pandas()


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
    from . import plot

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


def _write_results(results: xr.Dataset, run_dir: Path, suffix: str = "") -> None:
    save_results(results, run_dir / f"results{suffix}.nc")
    table = results["metrics"].to_dataframe().reset_index()
    table.pivot_table(index=["model", "basin"], columns="metric", values="metrics").to_csv(
        run_dir / f"metrics{suffix}.csv"
    )
    _figures(results, run_dir / "figures", suffix)


def train_run(
    config: RunConfig, run_dir: str | Path, *, resume: bool = False, progress: bool = True
) -> xr.Dataset:
    """Train every model of `config`, evaluate it on the test period, write the run directory.

    Returns the test-period results Dataset.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yml").write_text(yaml.safe_dump(config.raw, sort_keys=False))
    ds = load_data(config)
    start = time.perf_counter()
    models, fits = train_models(
        ds,
        config.models,
        config.periods,
        config.model_options(),
        config.training,
        run_dir=run_dir,
        resume=resume,
        progress=progress,
    )
    seconds = time.perf_counter() - start
    save_models(models, run_dir / "models")
    history = pd.concat(
        [pd.DataFrame(fit.history).assign(model=kind) for kind, fit in fits.items()]
    )
    history.to_csv(run_dir / "history.csv", index=False)
    results = run_models(models, ds, config.periods.test, spinup_days=config.training.spinup_days)
    results.attrs.update(period="test", training_seconds=round(seconds, 1))
    _write_results(results, run_dir)
    (run_dir / "run.json").write_text(
        json.dumps(
            {
                "basins": list(map(str, ds["basin"].values)),
                "training_seconds": seconds,
                "periods": dataclasses.asdict(config.periods),
            },
            indent=1,
        )
    )
    return results


def evaluate_run(run_dir: str | Path, period: str = "test") -> xr.Dataset:
    """Evaluate a trained run directory on its `train`, `validation` or `test` period (each
    after a spin-up before it; the training period's first `spinup_days` are that spin-up, as
    in training, so its scores start after them).

    Writes `results_<period>.nc` and `metrics_<period>.csv` (the test period's are also the
    run's `results.nc`) and returns the results Dataset.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "run.json").is_file():
        raise FileNotFoundError(
            f"{run_dir} is not a finished dgeo run directory (no run.json); train it first"
        )
    config = parse_config(yaml.safe_load((run_dir / "config.yml").read_text()))
    dates = (
        getattr(config.periods, period, None) if period in ("train", "validation", "test") else None
    )
    if dates is None:
        raise ValueError(
            f"period must be one of train, validation, test (and defined), got {period!r}"
        )
    spinup = config.training.spinup_days
    if period == "train":  # as in training, its first spin-up days spin the states up
        dates = (str((pd.Timestamp(dates[0]) + pd.Timedelta(days=spinup)).date()), dates[1])
    info = json.loads((run_dir / "run.json").read_text())
    ds = load_data(dataclasses.replace(config, basins=info["basins"]))
    models = load_models(
        run_dir / "models", config.models, len(info["basins"]), config.model_options()
    )
    results = run_models(models, ds, dates, spinup_days=spinup)
    results.attrs["period"] = period
    _write_results(results, run_dir, f"_{period}")
    return results


#: The demo's defaults: small enough for 2 minutes on a 2-core machine.
DEMO_CONFIG = {
    "models": ["physical", "hybrid"],
    "model": {"physical_starts": 4, "physical_search": 1000},
    "training": {"epochs": 120, "patience": 20},
}


def demo(
    data: str | None = None,
    out: str | Path = "dgeo-demo",
    *,
    basins: list[str] | None = None,
    epochs: int | None = None,
    progress: bool = True,
) -> xr.Dataset:
    """Train the physical and hybrid models on synthetic twin catchments (or `data`), print
    the metric table and write the run directory `out` with hydrograph figures."""
    mapping = {"data": data or "synthetic", **DEMO_CONFIG}
    if basins:
        mapping["basins"] = list(basins)
    if data is not None:
        from .data import load

        ds = load(data, **({"basins": list(basins)} if basins else {}))
        mapping.setdefault("basins", list(map(str, ds["basin"].values[:4])))
        first = pd.Timestamp(ds["time"].values[0])
        if first > pd.Timestamp("1980-10-01"):  # start training at the next water year
            start = pd.Timestamp(f"{first.year}-10-01")
            start = start if start >= first else pd.Timestamp(f"{first.year + 1}-10-01")
            mapping["periods"] = {"train": [str(start.date()), "1996-09-30"]}
    if epochs is not None:
        mapping["training"] = {**DEMO_CONFIG["training"], "epochs": epochs}
    config = parse_config(mapping)
    results = train_run(config, out, progress=progress)
    return results


def print_summary(results: xr.Dataset) -> None:
    """The per-model median of each metric, as a small table on stdout."""
    period = f"{results.attrs.get('start')}..{results.attrs.get('end')}"
    print(f"median over {results.sizes['basin']} basins, {period}:")
    with pd.option_context("display.float_format", "{:.3f}".format):
        print(metric_summary(results).to_string())
