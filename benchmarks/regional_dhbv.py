"""Regional δHBV on 473 CAMELS-US basins (Caravan ERA5-Land, Hamon PET) beside the regional
hybrid and a regional LSTM trained to a plateau; and on the 26 Daymet basins beside the four
models of Jiang et al. (2020).

As benchmarks/regional.py: each experiment is a configuration in examples/configs/ (periods,
options and comments there), trained by `dgeo.runs.train_run` into runs/regional_dhbv/<name>/
(git-ignored) as `dgeo train` would; the regional hybrid is regional_temporal.yml's and
regional_pub.yml's, narrowed to that one model (each model of those files trains on its own
with the same seed, so it is the same hybrid). The numbers come from `dgeo.evaluate` into
benchmarks/results/regional_dhbv*.{json,md,png,csv}, written from whatever runs have
finished (a PUB run with some folds finished is reported on those folds, and says so).

  temporal:  temporal_dhbv (regional_dhbv_temporal.yml), temporal_dhbv_static, temporal_lstm
             (regional_lstm_plateau_temporal.yml), temporal_hybrid (regional_temporal.yml)
  pub:       pub_dhbv_static, pub_dhbv, pub_hybrid, pub_lstm (regional_*_pub.yml)
  daymet:    regional δHBV on the 26 Daymet basins (dhbv_daymet.yml)
  scale:     seconds of one regional δHBV epoch (static, dynamic) on 473 basins x 30 years,
             the first epoch (with compile) and the next

Usage: python benchmarks/regional_dhbv.py [--only NAME ...] [--resume] [--quick] [--analyse-only]
  --only NAME ...  run only these (default all, in the order above: several hours on 2 cores)
  --resume         continue interrupted runs; finished ones are read back, not trained again
  --quick          the configurations' quick: sections, into runs/regional_dhbv/<name>_quick/,
                   the result files into runs/regional_dhbv/quick_results/
  --analyse-only   no training: the result files from the existing run directories
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
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
RUNS = ROOT / "runs" / "regional_dhbv"
CONFIGS = ROOT / "examples" / "configs"
#: name -> (configuration, the models of it to train (None: all), label of each model kind).
EXPERIMENTS = {
    "temporal_dhbv": ("regional_dhbv_temporal.yml", None, "dhbv_dynamic"),
    "temporal_dhbv_static": ("regional_dhbv_static_temporal.yml", None, "dhbv_static"),
    "temporal_hybrid": ("regional_temporal.yml", ("regional_hybrid",), "regional_hybrid"),
    "temporal_lstm": ("regional_lstm_plateau_temporal.yml", None, "regional_lstm"),
    "daymet": ("dhbv_daymet.yml", None, "dhbv_regional"),
    "pub_dhbv_static": ("regional_dhbv_static_pub.yml", None, "dhbv_static"),
    "pub_dhbv": ("regional_dhbv_pub.yml", None, "dhbv_dynamic"),
    "pub_hybrid": ("regional_pub.yml", ("regional_hybrid",), "regional_hybrid"),
    "pub_lstm": ("regional_lstm_plateau_pub.yml", None, "regional_lstm"),
}
GROUPS = {"temporal": "temporal_", "pub": "pub_"}
SCALE = ("1981-01-01", "2010-12-31")  # 30 years
ARIDITY_CLASSES = (0.0, 0.6, 0.8, 1.0, 1.5, 2.0, np.inf)
METRICS = ("nse", "kge", "fhv", "flv")
KEYS = ("median", "mean", "std", "n_negative")
DHBV = "dhbv_dynamic"


class Run(NamedTuple):
    """A run directory's test results (models renamed to their labels), configuration and
    training seconds; `folds` says how many folds of a PUB run are in the results."""

    name: str
    folder: Path
    config: RunConfig
    results: xr.Dataset
    seconds: dict
    folds: str | None = None


def _folder(name: str, quick: bool) -> Path:
    return RUNS / (name + ("_quick" if quick else ""))


def config_of(name: str, quick: bool) -> RunConfig:
    """The configuration of experiment `name`, narrowed to the models it trains."""
    file, models, _ = EXPERIMENTS[name]
    config = read_config(CONFIGS / file, quick=quick)
    if models is None:
        return config
    per_model = {k: v for k, v in config.per_model.items() if k in models}
    raw = {**config.raw, "models": list(models)}
    return dataclasses.replace(config, models=models, per_model=per_model, raw=raw)


def _labelled(results: xr.Dataset, name: str) -> xr.Dataset:
    label = EXPERIMENTS[name][2]
    assert results.sizes["model"] == 1, name
    return results.assign_coords(model=[label])


def _load(name: str, quick: bool) -> Run | None:
    """A finished run, or the finished folds of an unfinished cross-validation."""
    folder = _folder(name, quick)
    config = config_of(name, quick)
    done = finished(folder)
    if done is not None:
        results, seconds = done
        return Run(name, folder, config, _labelled(results, name), seconds)
    parts = sorted((folder / "folds").glob("*_fold*.nc")) if (folder / "folds").is_dir() else []
    if not parts:
        return None
    pieces = [evaluate.load_results(p) for p in parts]
    seconds = {config.models[0]: sum(float(p.attrs.get("training_seconds", 0)) for p in pieces)}
    results = xr.concat(pieces, dim="basin", data_vars="minimal", coords="minimal")
    folds = f"{len(parts)} of {config.experiment.folds} folds"
    return Run(name, folder, config, _labelled(results, name), seconds, folds)


def _history(run: Run) -> list[dict]:
    """The training history (loss per epoch) of a temporal run."""
    path = run.folder / "history.csv"
    if not path.is_file():
        return []
    return pd.read_csv(path).drop(columns="model").to_dict("records")


def _fold_histories(run: Run) -> dict[str, list[dict]]:
    """The training history of every fold of a cross-validation that checkpointed one."""
    out = {}
    for state in sorted(run.folder.glob("checkpoints/*/fold*/state.json")):
        history = json.loads(state.read_text()).get("history", [])
        out[state.parent.name] = [{k: h[k] for k in ("epoch", "loss") if k in h} for h in history]
    return out


def _adam_steps(run: Run, basins: int) -> int:
    """Adam steps per epoch x epochs run (windows of the training period / batch size)."""
    o = next(iter(regional_options(run.config).values()))
    start, end = (pd.Timestamp(d) for d in run.config.periods.train)
    days = (end - start).days + 1
    per_basin = max(1, 1 + (days - o.window_days) // o.stride_days)
    epochs = len(_history(run)) or o.epochs
    return int(np.ceil(basins * per_basin / o.batch_size)) * epochs


def _combined(runs: list[Run]) -> xr.Dataset | None:
    """The runs' results as one Dataset over the basins all of them predicted."""
    if not runs:
        return None
    basins = set.intersection(*(set(r.results["basin"].values.tolist()) for r in runs))
    order = [b for b in runs[0].results["basin"].values.tolist() if b in basins]
    pieces = [r.results.sel(basin=order)[["qobs", "qsim", "metrics"]] for r in runs]
    pieces = [p.drop_vars("fold", errors="ignore") for p in pieces]
    return xr.concat(pieces, dim="model", data_vars="minimal", coords="minimal", join="exact")


def _model_table(both: xr.Dataset, runs: list[Run]) -> dict:
    out = {}
    for run in runs:
        label = str(run.results["model"].values[0])
        row = {
            m: {k: evaluate.skill_summary(both.sel(model=[label]), m)[label][k] for k in KEYS}
            for m in METRICS
        }
        row["nse"] |= {
            k: evaluate.skill_summary(both.sel(model=[label]))[label][k] for k in ("p25", "p75")
        }
        row["training_seconds"] = float(sum(run.seconds.values()))
        row["config"] = EXPERIMENTS[run.name][0]
        row["basins"] = int(both.sizes["basin"])
        if run.folds:
            row["folds"] = run.folds
        history = _history(run)
        if history:
            row["epochs_run"] = len(history)
            row["adam_steps"] = _adam_steps(run, int(run.results.sizes["basin"]))
        out[label] = row
    return out


def _md_table(table: dict) -> str:
    lines = [
        "| model | NSE median | mean | std | NSE < 0 | KGE median | FHV median | FLV median "
        "| basins | train s | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in table.items():
        n, k = r["nse"], r["kge"]
        note = r.get("folds", "") + (f" {r['adam_steps']} Adam steps" if "adam_steps" in r else "")
        lines.append(
            f"| {label} | {n['median']:.3f} | {n['mean']:.3f} | {n['std']:.3f} | "
            f"{n['n_negative']} | {k['median']:.3f} | {r['fhv']['median']:.1f} | "
            f"{r['flv']['median']:.1f} | {r['basins']} | {r['training_seconds']:.0f} | {note} |"
        )
    return "\n".join(lines)


def _et_bfi(run: Run, ds: xr.Dataset) -> tuple[dict, pd.DataFrame]:
    """δHBV's evapotranspiration and baseflow index per basin over the test period, beside
    the water-balance ET (P - Q observed) and CAMELS' baseflow_index (from observed flow)."""
    r = run.results.sel(model=DHBV)
    basins = r["basin"].values
    time = r["time"].values
    forcing = ds.sel(basin=basins, time=time)
    q = r["qsim"] if "qsim" in r else r["q"]
    frame = pd.DataFrame(
        {
            "basin": basins.astype(str),
            "et_model_mm_day": r["evapotranspiration"].mean("time").values,
            "et_water_balance_mm_day": (forcing["prcp"] - forcing["qobs"]).mean("time").values,
            "pet_hamon_mm_day": forcing["pet"].mean("time").values,
            "bfi_model": (r["groundwater_flow"].sum("time") / q.sum("time")).values,
        }
    )
    if "baseflow_index" in ds:
        frame["bfi_camels"] = ds["baseflow_index"].sel(basin=basins).values
    summary = {}
    for a, b in (("et_model_mm_day", "et_water_balance_mm_day"), ("bfi_model", "bfi_camels")):
        if b in frame:
            ok = frame[[a, b]].dropna()
            summary[a] = {
                "median": float(frame[a].median()),
                f"median_{b}": float(frame[b].median()),
                f"correlation_with_{b}": float(np.corrcoef(ok[a], ok[b])[0, 1]),
                "n": len(ok),
            }
    return summary, frame


def _held_out_snow(run: Run) -> dict:
    """Snowpack + meltwater of the held-out basins against UA SWE, water years 2001-2010 (the
    period of regional_pub.yml's snow section)."""
    start, end = "2000-10-01", "2010-09-30"
    r = run.results.sel(model=DHBV, time=slice(start, end))
    s0 = r["snowpack"] + r["meltwater"]
    swe_file = ROOT.parent / "shared" / "data" / "camels_us_swe.nc"
    with xr.open_dataset(swe_file) as f:
        swe = f["swe_ua"].sel(time=slice(start, end)).load()
    swe = swe.assign_coords(basin=swe["basin"].values.astype(str))
    summary = evaluate.snow_summary(evaluate.snow_correlation(s0, swe))
    return summary | {"period": [start, end], "swe": "camels_us_swe.nc:swe_ua"}


def _per_basin(both: xr.Dataset, runs: list[Run]) -> pd.DataFrame:
    """Every model's test metrics in every basin (and, for a PUB run, the fold that held the
    basin out): what the CDF and aridity figures are drawn from, kept in benchmarks/results
    so that they can be redrawn and compared without the run folders (runs/ is not kept)."""
    models, basins = both["model"].values.astype(str), both["basin"].values.astype(str)
    columns = {"model": np.repeat(models, len(basins)), "basin": np.tile(basins, len(models))}
    for m in METRICS:
        columns[m] = both["metrics"].sel(metric=m).transpose("model", "basin").values.ravel()
    frame = pd.DataFrame(columns)
    folds = [
        pd.DataFrame(
            {
                "model": str(r.results["model"].values[0]),
                "basin": r.results["basin"].values.astype(str),
                "fold": r.results["fold"].values,
            }
        )
        for r in runs
        if "fold" in r.results.coords
    ]
    if folds:
        frame = frame.merge(pd.concat(folds), on=["model", "basin"], how="left")
        frame["fold"] = frame["fold"].astype("Int64")
        frame = frame[["model", "basin", "fold", *METRICS]]
    return frame.sort_values(["model", "basin"])


def _group(out: Path, group: str, runs: list[Run], report: dict, md: list[str]) -> None:
    """Table, aridity classes, CDF figure and (temporal) snow/ET/BFI of one experiment."""
    both = _combined(runs)
    if both is None:
        return
    table = _model_table(both, runs)
    report[group] = table
    ds = load_data(runs[0].config)
    classes = evaluate.skill_by_class(both, ds["aridity"], ARIDITY_CLASSES)
    report[f"{group}_by_aridity"] = classes
    labels = both["model"].values.tolist()
    if DHBV in labels:
        for other in (m for m in labels if m != DHBV):
            report.setdefault(f"{group}_compare", {})[other] = evaluate.compare_models(
                both, DHBV, both, other
            )
    _per_basin(both, runs).to_csv(
        out / f"regional_dhbv_{group}_per_basin.csv", index=False, float_format="%.5g"
    )
    plot.save(plot.nse_cdf(both), out / f"regional_dhbv_{group}_nse_cdf.png")
    _aridity_figure(classes, out / f"regional_dhbv_{group}_by_aridity.png", group)
    md += [f"## {group}", "", _md_table(table), "", "By aridity (PET/P):", ""]
    md += [evaluate.class_table(classes, "aridity"), ""]
    _loss_figure(runs, out / f"regional_dhbv_{group}_loss.png", group)
    lstm = next((r for r in runs if r.name.endswith("_lstm")), None)
    if lstm is not None and _history(lstm):
        report[f"{group}_lstm_loss_curve"] = [
            {k: h[k] for k in ("epoch", "loss", "validation_nse") if k in h} for h in _history(lstm)
        ]
    if lstm is not None and not _history(lstm) and _fold_histories(lstm):
        report[f"{group}_lstm_loss_curve"] = _fold_histories(lstm)
    dhbv = next((r for r in runs if str(r.results["model"].values[0]) == DHBV), None)
    if dhbv is not None and "evapotranspiration" in dhbv.results:
        summary, frame = _et_bfi(dhbv, ds)
        report[f"{group}_dhbv_et_bfi"] = summary
        frame.to_csv(out / f"regional_dhbv_{group}_et_bfi.csv", index=False, float_format="%.4g")
        md += ["δHBV ET and baseflow index (per basin: csv):", "", f"`{json.dumps(summary)}`", ""]
    snow = None
    if dhbv is not None and (dhbv.folder / "snow.json").is_file():
        snow = json.loads((dhbv.folder / "snow.json").read_text())
    elif dhbv is not None and "snowpack" in dhbv.results:
        snow = _held_out_snow(dhbv)
    if snow is not None:
        report[f"{group}_dhbv_snow"] = snow
        for figure in ("snow_basin_mean", "snow_correlations", "snow_map", "snow_basins"):
            src = dhbv.folder / "figures" / f"{figure}.png"
            if src.is_file():
                shutil.copy(src, out / f"regional_dhbv_{group}_{figure}.png")
        md += [
            "δHBV snowpack + meltwater vs UA SWE (never trained on): basin-mean daily r "
            f"{snow['basin_mean_correlation']:.3f}, per-basin median r "
            f"{snow['per_basin_correlation']['median']:.3f} (n={snow['per_basin_correlation']['n']}),"
            f" spatial r {snow['spatial_correlation']:.3f}",
            "",
        ]


def _loss_figure(runs: list[Run], path: Path, group: str) -> None:
    """Training loss (and validation NSE) per epoch of the runs that keep a history."""
    import matplotlib.pyplot as plt

    curves = {str(r.results["model"].values[0]): _history(r) for r in runs}
    curves = {k: v for k, v in curves.items() if v}
    if not curves:
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for label, history in curves.items():
        epochs = [h["epoch"] for h in history]
        left.plot(epochs, [h["loss"] for h in history], marker=".", label=label)
        if "validation_nse" in history[0]:
            right.plot(epochs, [h["validation_nse"] for h in history], marker=".", label=label)
    left.set(xlabel="epoch", ylabel="training loss (NSE*)", title=f"Training loss ({group})")
    right.set(xlabel="epoch", ylabel="median validation NSE", title="Validation (WY 1997-2000)")
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


def _aridity_figure(classes: dict, path: Path, group: str) -> None:
    import matplotlib.pyplot as plt

    labels = list(classes)
    models = list(next(iter(classes.values())))
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(1, len(models))
    for i, m in enumerate(models):
        values = [classes[c][m]["median"] for c in labels]
        ax.bar(np.arange(len(labels)) + i * width, values, width, label=m)
    ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2, labels)
    ax.set_xlabel("aridity (PET/P)")
    ax.set_ylabel("median NSE")
    ax.set_title(f"Regional models by aridity ({group})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


def _daymet(out: Path, run: Run, report: dict, md: list[str]) -> None:
    nse = evaluate.skill_summary(run.results)[EXPERIMENTS["daymet"][2]]
    row = {k: nse[k] for k in ("median", "mean", "std", "n_negative", "n")}
    jiang = json.loads((RESULTS / "jiang_local.json").read_text())
    metrics = pd.read_csv(RESULTS / "jiang_local_metrics.csv", dtype={"basin": str})
    others = {
        kind: {k: jiang[kind]["nse"][k] for k in ("median", "mean")}
        | {"n_negative": int((metrics.query("model == @kind")["nse"] < 0).sum())}
        for kind in ("physical", "common", "hybrid", "lstm")
    }
    local = json.loads((RESULTS / "dhbv_local.json").read_text())
    others["dhbv_per_basin"] = {
        "median": local["dpl"]["nse"]["median"],
        "mean": local["dpl"]["nse"]["mean"],
        "n_negative": local["nse_below_zero"],
    }
    report["daymet"] = {"dhbv_regional": row | {"seconds": sum(run.seconds.values())}} | others
    md += [
        "## daymet (26 CAMELS-US basins, Daymet forcing, test WY 2001-2010)",
        "",
        "| model | NSE median | mean | NSE < 0 |",
        "|---|---|---|---|",
    ]
    md += [
        f"| {k} | {v['median']:.3f} | {v['mean']:.3f} | {v['n_negative']} |"
        for k, v in report["daymet"].items()
    ]
    md.append("")


def scale(quick: bool) -> dict:
    """Seconds of regional δHBV epochs (static and dynamic, the settings of the temporal
    configurations) on every basin x 30 years: the first epoch (with compile) and the second."""
    out = {}
    for name in ("temporal_dhbv_static", "temporal_dhbv"):
        config = config_of(name, quick)
        ds = load_data(config)
        o = dataclasses.replace(regional_options(config)["regional_dpl"], epochs=2, search=0)
        began = time.perf_counter()
        fit = train_regional(ds, "regional_dpl", ds["basin"].values, SCALE, o, label=name)
        seconds = [h["seconds"] for h in fit.history]
        out[EXPERIMENTS[name][2]] = {
            "first_epoch_with_compile_s": seconds[0],
            "epoch_s": seconds[1],
            "wall_s": time.perf_counter() - began,
            "physics": config.physics,
            "hidden": o.hidden,
            "window_days": o.window_days,
            "stride_days": o.stride_days,
            "batch_size": o.batch_size,
        }
        print(name, out[EXPERIMENTS[name][2]])
    return {"basins": int(ds.sizes["basin"]), "years": 30, "models": out}


def _drop_group(out: Path, group: str, report: dict) -> None:
    """Remove an earlier report's entries and files of `group`."""
    for key in [k for k in report if k == group or k.startswith(f"{group}_")]:
        del report[key]
    for stale in out.glob(f"regional_dhbv_{group}_*"):
        stale.unlink()


def _sections(text: str) -> dict[str, str]:
    """A tables file's text by `## ` section (the key "" holds what comes before the first)."""
    out, key = {"": []}, ""
    for line in text.splitlines():
        if line.startswith("## "):
            key = line[3:].split(" ")[0]
            out[key] = []
        out[key].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def _kept_sections(path: Path, text: str, unrun: list[str]) -> str:
    """`text`, with the earlier file's sections of the groups that have no run folder now
    (`unrun`, e.g. "temporal" for temporal and temporal_finished_folds) kept, not dropped:
    the file then still reports every experiment when only some were rerun here. A group
    is kept or rewritten whole: one with some of its run folders present is reported on
    those alone, here as in the JSON and the figures."""
    if not path.is_file() or not unrun:
        return text.rstrip("\n") + "\n"
    old, new = _sections(path.read_text()), _sections(text)
    kept = {k: v for k, v in old.items() if k and k not in new and k.split("_")[0] in unrun}
    new |= kept
    order = [*GROUPS, "daymet", "scale"]
    rank = {
        k: (order.index(k.split("_")[0]) if k.split("_")[0] in order else len(order))
        for k in new
        if k
    }
    body = [new[k] for k in sorted(rank, key=lambda k: (rank[k], k))]
    return "\n".join([new[""], *body]).rstrip("\n") + "\n"


def report(out: Path, quick: bool, measured: dict | None) -> None:
    """Every result file whose runs have (partly) finished."""
    runs = {name: _load(name, quick) for name in EXPERIMENTS}
    print(
        "analysing:",
        ", ".join(f"{n}{f' ({r.folds})' if r.folds else ''}" for n, r in runs.items() if r)
        or "nothing",
    )
    path = out / "regional_dhbv.json"
    value = json.loads(path.read_text()) if path.is_file() else {}
    if measured is not None:
        measured["machine"] = f"{platform.machine()}, 2-core CPU" if not quick else "quick"
        value["scale"] = measured
    md = ["# Regional δHBV on 473 CAMELS-US basins (Caravan ERA5-Land, Hamon PET)", ""]
    md += [
        "Produced by `python benchmarks/regional_dhbv.py`; settings in the configurations named.",
        "",
    ]
    for group, prefix in GROUPS.items():
        found = [r for n, r in runs.items() if n.startswith(prefix) and r is not None]
        complete = [r for r in found if not r.folds]
        _group(out, group, complete or found, value, md)
        if complete and len(complete) < len(found):  # all models on the folds all finished
            _group(out, f"{group}_finished_folds", found, value, md)
        elif found:  # every run complete: drop the partial comparison of an earlier report
            _drop_group(out, f"{group}_finished_folds", value)
    if runs["daymet"] is not None:
        _daymet(out, runs["daymet"], value, md)
    if "scale" in value:
        md += [
            "## scale (one epoch, 473 basins x 30 years)",
            "",
            "```",
            json.dumps(value["scale"], indent=1),
            "```",
        ]
    write(path, value)
    tables = out / "regional_dhbv_tables.md"
    unrun = [
        g
        for g, prefix in GROUPS.items()
        if all(runs[n] is None for n in runs if n.startswith(prefix))
    ]
    unrun += [] if runs["daymet"] is not None else ["daymet"]
    write(tables, _kept_sections(tables, "\n".join(md), unrun))


def main(names: list[str], quick: bool, resume: bool, analyse_only: bool) -> None:
    out = RUNS / "quick_results" if quick else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    if analyse_only:
        return report(out, quick, None)
    held = [n for n in EXPERIMENTS if n in names and holds_run(_folder(n, quick))]
    if held and not (resume or quick):
        raise SystemExit(f"{RUNS} holds runs {held}: continue them with --resume")
    measured = scale(quick) if "scale" in names else None
    for name in [n for n in EXPERIMENTS if n in names]:
        folder = _folder(name, quick)
        train_run(
            config_of(name, quick), folder, resume=resume and holds_run(folder), overwrite=quick
        )
        report(out, quick, measured)
        measured = None
    if measured is not None:
        report(out, quick, measured)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    choices = [*EXPERIMENTS, "scale"]
    parser.add_argument("--only", nargs="+", choices=choices, default=choices, metavar="NAME")
    parser.add_argument("--resume", action="store_true", help="continue interrupted runs")
    parser.add_argument("--quick", action="store_true", help="the quick: sections, a smoke run")
    parser.add_argument("--analyse-only", action="store_true", help="no training")
    args = parser.parse_args()
    main(args.only, args.quick, args.resume, args.analyse_only)
