"""The regional experiments of Jiang et al. (2020) on 473 CAMELS-US basins (Caravan ERA5-Land).

Each experiment is a configuration in examples/configs/ (its periods, options and comments
there), trained by `dgeo.runs.train_run` into runs/regional/<name>/ (git-ignored) as
`dgeo train` would: pub (regional_pub.yml, ungauged basins, 5-fold), temporal
(regional_temporal.yml, and the snow inference), pub_validated (regional_pub_validated.yml),
pub_lstm_35 and temporal_lstm_35 (the LSTM trained 35 epochs); and scale, the epoch seconds of
every model of regional_pub.yml on 473 basins x 30 years. The numbers then come from
`dgeo.evaluate` into benchmarks/results/ (regional_pub*, regional_temporal*,
regional_lstm_64h_35ep.json, snow*, regional_scale.json, regional.md), each file written once
the runs it needs have finished.

Usage: python benchmarks/regional.py [--only NAME ...] [--resume] [--quick] [--analyse-only]
  --only NAME ...  train only these (pub temporal pub_validated pub_lstm_35 temporal_lstm_35
                   scale; default all, about 4 h on 2 CPU cores)
  --resume         continue interrupted runs; finished ones are read back, not trained again
  --quick          the configurations' quick: sections, into runs/regional/<name>_quick/, the
                   result files into runs/regional/quick_results/ (a few minutes)
  --analyse-only   no training: the result files from the existing run directories
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import resource
import shutil
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from _runs import finished, write
from dgeo import evaluate, plot
from dgeo.config import RunConfig, read_config
from dgeo.runs import holds_run, load_data, regional_options, train_run
from dgeo.train import train_regional

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RUNS = ROOT / "runs" / "regional"
CONFIGS = ROOT / "examples" / "configs"
EXPERIMENTS = {
    "pub": "regional_pub.yml",
    "temporal": "regional_temporal.yml",
    "pub_validated": "regional_pub_validated.yml",
    "pub_lstm_35": "regional_pub_lstm_35.yml",
    "temporal_lstm_35": "regional_temporal_lstm_35.yml",
}
SCALE = ("1981-01-01", "2010-12-31")  # 30 years
ARIDITY_CLASSES = (0.0, 0.6, 0.8, 1.0, 1.5, 2.0, np.inf)
ARIDITY_TITLE = "# Ungauged-basin NSE by aridity (PET/P), held-out folds"
FAILURES = """\
# Why held-out basins fail (NSE < 0): 1 - NSE = (alpha - r)^2 + (1 - r^2) + beta_n^2

amplitude = (alpha - r)^2 (variability wrong for the correlation), timing = 1 - r^2, volume = beta_n^2 (mean error / std of obs). Counts of failed basins by their largest term; medians over the failed basins (all basins in brackets). Overshoot: basins where the P-RNN's explicit daily step overshoots (`dgeo.step_stability`: an eigenvalue of the step's Jacobian below -1) on more than 1 % of days (of them NSE < 0).
"""
OVERVIEW = """\
# Regional models on {n} CAMELS-US basins (Caravan ERA5-Land forcing)

Produced by `python benchmarks/regional.py`; training options per model in examples/configs/regional_pub.yml and regional_temporal.yml.

## Ungauged basins (5-fold cross-validation, scored 1982-2014)

{pub}

The same held-out predictions scored only on the basins that pass the paper's filter (aridity <= 1.2 or low_prec_freq <= 280 days/yr):

{humid}

## Temporal test (train 1981-2000, test water years 2001-2010)

{temporal}

## Snow inference: S0 of the regional hybrid vs UA SWE (water years 2001-2010)

| | temporal test | ungauged (PUB) |
|---|---|---|
| basin-mean daily correlation | {t[basin_mean_correlation]:.3f} | {u[basin_mean_correlation]:.3f} |
| per-basin correlation, median (snowy basins) | {t[per_basin_correlation][median]:.3f} (n={t[per_basin_correlation][n]}) | {u[per_basin_correlation][median]:.3f} |
| spatial correlation of 10-year means (snowy) | {t[spatial_correlation]:.3f} | {u[spatial_correlation]:.3f} |
| basins whose S0 never melts out (perennial) | {t[perennial_snow_basins]} | {u[perennial_snow_basins]} |
| basin-mean correlation without them | {tw[basin_mean_correlation]:.3f} | {uw[basin_mean_correlation]:.3f} |
| per-basin median without them | {tw[per_basin_correlation][median]:.3f} | {uw[per_basin_correlation][median]:.3f} |
"""
SCALE_MD = """
## Scale (one epoch, every basin x 30 years, 2-core CPU)

| model | epoch s |
|---|---|
{rows}

Peak RSS {peak_rss_gb:.1f} GB; total wall time {minutes:.0f} min.
"""


class Run(NamedTuple):
    """A finished run directory: its configuration, test results and training seconds."""

    folder: Path
    config: RunConfig
    results: xr.Dataset
    seconds: dict


def _folder(name: str, quick: bool) -> Path:
    return RUNS / (name + ("_quick" if quick else ""))


def _load(name: str, quick: bool) -> Run | None:
    folder = _folder(name, quick)
    done = finished(folder)
    if done is None:
        return None
    return Run(folder, read_config(folder / "config.yml"), *done)


def _nse(results: xr.Dataset) -> dict:
    return {m: {"nse": s} for m, s in evaluate.skill_summary(results).items()}


def _lstm_tag(run: Run) -> str:
    o = regional_options(run.config)["regional_lstm"]
    return f"lstm_{o.hidden}h_{o.epochs}ep"


def _by_aridity(out: Path, name: str, results: xr.Dataset, ds: xr.Dataset) -> None:
    classes = evaluate.skill_by_class(results, ds["aridity"], ARIDITY_CLASSES)
    write(out / f"{name}_by_aridity.json", classes)
    table = evaluate.class_table(classes, "aridity")
    write(out / f"{name}_by_aridity.md", f"{ARIDITY_TITLE}\n\n{table}")


def _failures(out: Path, name: str, run: Run, ds: xr.Dataset) -> None:
    """Why held-out basins fail; the P-RNN rerun with the run's physical model from the
    spin-up before the test period."""
    options = next(iter(regional_options(run.config).values()))
    test = run.config.periods.test
    start = pd.Timestamp(test[0]) - pd.Timedelta(days=options.spinup_days)
    forcing = ds.sel(time=slice(start, test[1]))
    anatomy = evaluate.failure_anatomy(run.results, forcing, options.physics, period=test)
    write(out / f"{name}_failures.json", anatomy)
    write(out / f"{name}_failures.md", f"{FAILURES}\n{evaluate.failure_table(anatomy)}")
    plot.save(plot.nse_anatomy(run.results), out / f"{name}_failures.png")


def _pub(out: Path, run: Run, tag: str) -> None:
    """regional_pub<tag>.json (with the training seconds if tagged), by aridity, failures."""
    keys = ("median", "mean", "std", "n_negative")
    stats = evaluate.skill_summary(run.results)
    value = {m: {"nse": {k: s[k] for k in keys}} for m, s in stats.items()}
    write(
        out / f"regional_pub{tag}.json", value | ({"training_seconds": run.seconds} if tag else {})
    )
    ds = load_data(run.config)
    _by_aridity(out, f"regional_pub{tag}", run.results, ds)
    _failures(out, f"regional_pub{tag}", run, ds)


def _lstm(out: Path, prefix: str, run: Run) -> None:
    """<prefix>_lstm_<hidden>h_<epochs>ep.json: the LSTM's NSE, its training budget and (of a
    temporal test) its history."""
    o = regional_options(run.config)["regional_lstm"]
    value = {"nse": evaluate.skill_summary(run.results)["regional_lstm"]}
    value |= {
        "training_seconds": run.seconds["regional_lstm"],
        "epochs": o.epochs,
        "hidden": o.hidden,
    }
    if (run.folder / "history.csv").is_file():
        value["history"] = (
            pd.read_csv(run.folder / "history.csv").drop(columns="model").to_dict("records")
        )
    write(out / f"{prefix}_{_lstm_tag(run)}.json", value)


def _versus(out: Path, pub: Run, lstm: Run) -> None:
    """The PUB regional hybrid against the longer-trained LSTM in the same held-out basins."""
    tag = _lstm_tag(lstm)
    args = (pub.results, "regional_hybrid", lstm.results, "regional_lstm")
    names = ("regional_hybrid", f"regional_{tag}")
    both = evaluate.pair_models(*args, names=names)
    compared = evaluate.compare_models(*args, names=names)
    ds = load_data(pub.config)
    _by_aridity(out, f"regional_pub_hybrid_vs_{tag}", both, ds)
    humid = evaluate.paper_basins(ds).sel(basin=both["basin"]).values
    value = {
        "basins_better": compared["basins_better"],
        "paper_filter": _nse(both.isel(basin=humid)),
    }
    write(
        out / f"regional_pub_hybrid_vs_{tag}.json",
        value | {"mean_of_both": compared["mean_of_both"]},
    )


def _overview(out: Path, pub: Run, temporal: Run) -> None:
    """snow.json (the temporal and the PUB run's), the snow figures and regional.md."""
    t = json.loads((temporal.folder / "snow.json").read_text())
    u = json.loads((pub.folder / "snow.json").read_text())
    write(out / "snow.json", t | {"ungauged": u})
    for figure in ("snow_basin_mean", "snow_correlations", "snow_map", "snow_basins"):
        shutil.copy(temporal.folder / "figures" / f"{figure}.png", out / f"{figure}.png")
    humid = evaluate.paper_basins(load_data(pub.config)).sel(basin=pub.results["basin"]).values
    text = OVERVIEW.format(
        n=pub.results.sizes["basin"],
        pub=evaluate.summary_table(evaluate.skill_summary(pub.results), pub.seconds),
        humid=evaluate.summary_table(evaluate.skill_summary(pub.results.isel(basin=humid))),
        temporal=evaluate.summary_table(evaluate.skill_summary(temporal.results), temporal.seconds),
        t=t,
        u=u,
        tw=t.get("without_perennial", t),  # absent when no basin's S0 is perennial
        uw=u.get("without_perennial", u),
    )
    if (out / "regional_scale.json").is_file():
        scale = json.loads((out / "regional_scale.json").read_text())
        rows = "\n".join(f"| {k} | {v['epoch_seconds']:.1f} |" for k, v in scale["models"].items())
        text += SCALE_MD.format(rows=rows, minutes=scale["wall_time_s"] / 60, **scale)
    write(out / "regional.md", text)


def scale(quick: bool) -> dict:
    """Median epoch seconds of every model of regional_pub.yml on all its basins x 30 years
    (4 epochs; the first, which compiles, is not counted)."""
    config = read_config(CONFIGS / EXPERIMENTS["pub"], quick=quick)
    ds = load_data(config)
    models = {}
    for kind, o in regional_options(config).items():
        o = dataclasses.replace(o, epochs=4, search=0)
        fit = train_regional(ds, kind, ds["basin"].values, SCALE, o, label=f"{kind} (timing)")
        later = [h["seconds"] for h in fit.history[1:]]
        models[kind] = {"epoch_seconds": float(np.median(later)), "epochs_timed": len(later)}
    return {"basins": ds.sizes["basin"], "years": 30, "models": models}


def report(out: Path, quick: bool, measured: dict | None = None, began: float = 0.0) -> None:
    """Every result file whose runs have finished (and regional_scale.json if `measured`)."""
    runs = {name: _load(name, quick) for name in EXPERIMENTS}
    print("analysing:", ", ".join(n for n, r in runs.items() if r) or "nothing")
    pub, temporal, lstm = runs["pub"], runs["temporal"], runs["pub_lstm_35"]
    if measured is not None:
        measured |= {
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
            "pub_training_seconds": pub.seconds if pub else None,
            "temporal_training_seconds": temporal.seconds if temporal else None,
            "wall_time_s": time.perf_counter() - began,
            "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        }
        write(out / "regional_scale.json", measured)
    if pub:
        _pub(out, pub, "")
        plot.save(plot.nse_cdf(pub.results), out / "regional_pub_nse_cdf.png")
    if runs["pub_validated"]:
        _pub(out, runs["pub_validated"], "_validated")
    if lstm:
        _lstm(out, "regional_pub", lstm)
        _failures(out, f"regional_pub_{_lstm_tag(lstm)}", lstm, load_data(lstm.config))
    if pub and lstm:
        if quick and set(pub.results["basin"].values) != set(lstm.results["basin"].values):
            print("hybrid against the longer LSTM skipped: the quick runs have other basins")
        else:
            _versus(out, pub, lstm)
    if runs["temporal_lstm_35"]:
        _lstm(out, "regional", runs["temporal_lstm_35"])
    if temporal:
        write(out / "regional_temporal.json", _nse(temporal.results))
        plot.save(plot.nse_cdf(temporal.results), out / "regional_temporal_nse_cdf.png")
    if pub and temporal:
        _overview(out, pub, temporal)


def main(names: list[str], quick: bool, resume: bool, analyse_only: bool) -> None:
    out = RUNS / "quick_results" if quick else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    if analyse_only:
        return report(out, quick)
    held = [n for n in EXPERIMENTS if n in names and holds_run(_folder(n, quick))]
    if held and not (resume or quick):  # before hours of work, not after the timings
        raise SystemExit(f"{RUNS} holds runs {held}: continue them with --resume")
    measured = scale(quick) if "scale" in names else None  # first, while the machine is quiet
    for name in [n for n in EXPERIMENTS if n in names]:
        config = read_config(CONFIGS / EXPERIMENTS[name], quick=quick)
        folder = _folder(name, quick)  # a quick run is replaced, a full one only resumed
        train_run(config, folder, resume=resume and holds_run(folder), overwrite=quick)
    report(out, quick, measured, began)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    choices = [*EXPERIMENTS, "scale"]
    parser.add_argument(
        "--only",
        nargs="+",
        choices=choices,
        default=choices,
        metavar="NAME",
        help=" ".join(choices),
    )
    parser.add_argument("--resume", action="store_true", help="continue interrupted runs")
    parser.add_argument("--quick", action="store_true", help="the quick: sections, a smoke run")
    parser.add_argument("--analyse-only", action="store_true", help="no training")
    args = parser.parse_args()
    main(args.only, args.quick, args.resume, args.analyse_only)
