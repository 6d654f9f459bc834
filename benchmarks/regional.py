"""The regional experiments of Jiang et al. (2020) on 473 CAMELS-US basins (Caravan ERA5-Land).

1. Ungauged basins (PUB): seeded 5-fold basin split; each model trains on 4 folds over
   1981-2014 and predicts the held-out fold (scored 1982-2014, after a one-year spin-up).
2. Temporal test: all basins, trained 1981-01-01 .. 1996-09-30 with water years 1997-2000
   for validation (the best epoch by median validation NSE is kept), so 1981-2000 in all (the
   data start in January 1981, so water year 1981 is short; the first year of every window is
   spin-up); tested on water years 2001-2010 after a spin-up from 1999-10-01.
3. Snow inference: the temporal regional hybrid's snow storage S0 over water years 2001-2010
   against University of Arizona SWE (never used in training); also the PUB predictions.
4. Scale: epoch time of every model on 473 basins x 30 years and peak memory.

Writes benchmarks/results/regional_pub.{json,md}, regional_temporal.json, snow.json,
regional_scale.json, regional.md and figures; the results netCDF files go to runs/regional/
(git-ignored). Forcing is ERA5-Land precipitation and temperature; PET is Hamon PET from
temperature and day length computed from latitude (the file's ERA5-Land PET is biased high and
is not used).

Usage: python benchmarks/regional.py [--quick] [--filter] [--scale-only] [--skip-pub]
       python benchmarks/regional.py --longer-lstm EPOCHS [--hidden H] [--pub]
       python benchmarks/regional.py --pub-validated   (PUB, best epoch on validation years)
       python benchmarks/regional.py --by-aridity   (the PUB NSE per aridity class and why
                                                    basins fail, from the saved runs; the
                                                    hybrid against longer-trained LSTMs)
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import xarray as xr

from dgeo import ExpHydro, evaluate, plot, step_stability
from dgeo.data import load_caravan
from dgeo.evaluate import (
    load_results,
    nse_decomposition,
    perennial_snow,
    save_results,
    snow_correlation,
    snow_summary,
    summarise,
)
from dgeo.train import RegionalOptions, cross_validate, regional_results, train_regional

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RUNS = ROOT / "runs" / "regional"
DATA = ROOT.parent / "shared" / "data"
KINDS = ("regional_hybrid", "pseudo_regional_hybrid", "regional_lstm", "regional_physical")
FULL, SCORED = ("1981-01-01", "2014-12-31"), ("1982-01-01", "2014-12-31")
TRAIN, VALIDATION = ("1981-01-01", "1996-09-30"), ("1996-10-01", "2000-09-30")
TEST = ("2000-10-01", "2010-09-30")
SCALE = ("1981-01-01", "2010-12-31")  # 30 years

OPTIONS = {
    "regional_hybrid": RegionalOptions(epochs=40, learning_rate=0.005, batch_size=32),
    "pseudo_regional_hybrid": RegionalOptions(epochs=40, learning_rate=0.005, batch_size=32),
    # The LSTM costs ~15x the hybrid per epoch on 2 CPU cores: 64 hidden units, 15 epochs.
    "regional_lstm": RegionalOptions(epochs=15, learning_rate=0.002, hidden=64),
    "regional_physical": RegionalOptions(epochs=40, learning_rate=0.005, batch_size=32),
}


def _caravan() -> xr.Dataset:
    return load_caravan(
        DATA / "caravan_camels_us.nc", DATA / "camels_us" / "camels_attributes_v2.0"
    )


def _cross_validate_all(ds, options: dict, train_period, validation=None):
    """PUB for every model of KINDS: (results of all models, kind -> training seconds)."""
    pieces, seconds = [], {}
    for kind in KINDS:
        res, sec = cross_validate(
            ds,
            [kind],
            train_period=train_period,
            test_period=SCORED,
            options=options[kind],
            validation=validation,
        )
        pieces.append(res)
        seconds.update(sec)
    return xr.concat(pieces, dim="model", data_vars="minimal", coords="minimal"), seconds


def _paper_filter(ds: xr.Dataset) -> xr.DataArray:
    """Jiang et al. (2020)'s basins: humid or frequently wet (True per basin)."""
    return (ds["aridity"] <= 1.2) | (ds["low_prec_freq"] <= 280)


def _pub_json(stats: dict) -> dict:
    """The issue's regional_pub.json shape: {model: {"nse": {median, mean, std, n_negative}}}."""
    keys = ("median", "mean", "std", "n_negative")
    return {k: {"nse": {m: v["nse"][m] for m in keys}} for k, v in stats.items()}


def _nse_stats(results: xr.Dataset) -> dict:
    out = {}
    for kind in results["model"].values:
        nse = results["metrics"].sel(model=kind, metric="nse").values
        s = summarise(results["metrics"].sel(model=kind, metric=["nse"]))["nse"]
        out[str(kind)] = {
            "nse": {
                "median": s["median"],
                "mean": s["mean"],
                "std": s["std"],
                "p25": s["p25"],
                "p75": s["p75"],
                "n_negative": int(np.sum(nse < 0)),
                "n": int(np.sum(np.isfinite(nse))),
            }
        }
    return out


def _table(stats: dict, seconds: dict | None = None) -> list[str]:
    head = "| model | NSE median | mean | std | p25-p75 | NSE < 0 | basins |"
    lines = [head + (" train s |" if seconds else ""), "|---" * (7 + bool(seconds)) + "|"]
    for kind, s in stats.items():
        n = s["nse"]
        row = (
            f"| {kind} | {n['median']:.3f} | {n['mean']:.3f} | {n['std']:.3f} | "
            f"{n['p25']:.3f}-{n['p75']:.3f} | {n['n_negative']} | {n['n']} |"
        )
        lines.append(row + (f" {seconds[kind]:.0f} |" if seconds else ""))
    return lines


def _epoch_seconds(fit) -> float:
    later = [h["seconds"] for h in fit.history[1:]] or [fit.history[0]["seconds"]]
    return float(np.median(later))


def _scale(ds: xr.Dataset, options: dict) -> dict:
    """Median epoch seconds of every model on every basin of `ds` x 30 years (4 epochs, the
    first, which compiles, not counted)."""
    scale = {}
    for kind in KINDS:
        o = replace(options[kind], epochs=4, search=0)
        fit = train_regional(ds, kind, ds["basin"].values, SCALE, o, label=f"{kind} (timing)")
        scale[kind] = {"epoch_seconds": _epoch_seconds(fit), "epochs_timed": len(fit.history) - 1}
    return scale


ARIDITY_CLASSES = (0.0, 0.6, 0.8, 1.0, 1.5, 2.0, np.inf)


def by_aridity(pub: xr.Dataset, ds: xr.Dataset, tag: str = "") -> dict:
    """Held-out NSE of every model per aridity class (PET/P from the CAMELS attributes):
    where the models succeed and fail. Writes regional_pub<tag>_by_aridity.{json,md}."""
    aridity = ds["aridity"].sel(basin=pub["basin"]).values
    classes = list(zip(ARIDITY_CLASSES[:-1], ARIDITY_CLASSES[1:], strict=True))
    out = {}
    for lo, hi in classes:
        label = f"{lo}-{hi}" if np.isfinite(hi) else f">{lo}"
        inside = (aridity > lo) & (aridity <= hi)
        stats = _nse_stats(pub.isel(basin=inside))
        out[label] = {
            k: {m: v["nse"][m] for m in ("median", "n_negative", "n")} for k, v in stats.items()
        }
    models = list(pub["model"].values.astype(str))
    lines = [
        "# Ungauged-basin NSE by aridity (PET/P), held-out folds",
        "",
        "| aridity | basins | " + " | ".join(f"{m} median (NSE < 0)" for m in models) + " |",
        "|---" * (2 + len(models)) + "|",
    ]
    for label, row in out.items():
        cells = [f"{row[m]['median']:.3f} ({row[m]['n_negative']})" for m in models]
        lines.append(f"| {label} | {row[models[0]]['n']} | " + " | ".join(cells) + " |")
    (RESULTS / f"regional_pub{tag}_by_aridity.json").write_text(json.dumps(out, indent=1))
    (RESULTS / f"regional_pub{tag}_by_aridity.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return out


def hybrid_versus(pub: xr.Dataset, other: xr.Dataset, ds: xr.Dataset, tag: str) -> dict:
    """The regional hybrid of `pub` against the regional LSTM of another cross-validation (a
    longer-trained one) in the same held-out basins: per aridity class, basin by basin, and on
    the paper's filtered basins; also the mean of the two models' discharge, to see whether
    their errors cancel. Writes regional_pub_hybrid_vs_<tag>{.json,_by_aridity.md}."""
    lstm = f"regional_{tag}"
    metrics = xr.concat(
        [
            pub["metrics"].sel(model=["regional_hybrid"]),
            other["metrics"].sel(model=["regional_lstm"]).assign_coords(model=[lstm]),
        ],
        "model",
        join="exact",
    )
    both = xr.Dataset({"metrics": metrics})
    name = f"regional_pub_hybrid_vs_{tag}"
    by_aridity(both, ds, f"_hybrid_vs_{tag}")
    nse = metrics.sel(metric="nse")
    humid = _paper_filter(ds).sel(basin=both["basin"])
    out = {
        "basins_better": {
            "regional_hybrid": int((nse.sel(model="regional_hybrid") > nse.sel(model=lstm)).sum()),
            lstm: int((nse.sel(model=lstm) > nse.sel(model="regional_hybrid")).sum()),
        },
        "paper_filter": _nse_stats(both.isel(basin=humid.values)),
    }
    hybrid, longer = xr.align(  # the same basins and days, or an error (never an inner join)
        pub["qsim"].sel(model="regional_hybrid", drop=True),
        other["qsim"].sel(model="regional_lstm", drop=True),
        join="exact",
    )
    ensemble = evaluate.nse(pub["qobs"], (hybrid + longer) / 2, axis="time")
    out["mean_of_both"] = {
        "median": float(np.nanmedian(ensemble)),
        "n_negative": int(np.sum(ensemble < 0)),
        "n": int(np.sum(np.isfinite(ensemble))),
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))
    return out


TERMS = ("amplitude", "timing", "volume")


def failures(pub: xr.Dataset, ds: xr.Dataset, tag: str = "") -> dict:
    """Why held-out basins fail: for every model, its basins with NSE < 0 and which term of
    1 - NSE = (alpha - r)^2 + (1 - r^2) + beta_n^2 dominates there (`nse_decomposition`), with
    the median r, alpha and beta_n of the failed and of all basins; for models with a P-RNN,
    the basins where its explicit daily step overshoots (`step_stability`) on > 1 % of the
    scored days, with its parameters run on the forcing `ds` from the start of FULL. Writes
    regional_pub<tag>_failures.{json,md} and regional_pub<tag>_failures.png."""
    out = {}
    for model in pub["model"].values.astype(str):
        d = nse_decomposition(pub["qobs"], pub["qsim"].sel(model=model))
        terms = np.stack([d[k] for k in TERMS], axis=-1)
        failed = np.isfinite(terms).all(axis=-1) & (terms.sum(axis=-1) > 1.0)  # NSE < 0
        largest = np.argmax(terms[failed], axis=-1)
        out[model] = {
            "n_negative": int(failed.sum()),
            "dominant_term": {k: int(np.sum(largest == i)) for i, k in enumerate(TERMS)},
            "failed_median": {  # NaN when no basin failed
                k: float(np.median(d[k][failed])) if failed.any() else float("nan")
                for k in ("r", "alpha", "beta_n")
            },
            "all_median": {k: float(np.nanmedian(d[k])) for k in ("r", "alpha", "beta_n")},
        }
        parameters = pub["parameters"].sel(model=model)
        if np.isfinite(parameters).all():  # a model with a P-RNN
            forcing = ds.sel(basin=pub["basin"].values, time=slice(FULL[0], SCORED[1]))
            params = {str(p): parameters.sel(parameter=p) for p in parameters["parameter"].values}
            stability = step_stability(ExpHydro(), forcing, params)
            scored = stability["overshoot"].sel(time=slice(*SCORED)).mean("time").values > 0.01
            out[model]["overshoot_basins"] = int(scored.sum())
            out[model]["overshoot_failed"] = int((scored & failed).sum())
    lines = [
        "# Why held-out basins fail (NSE < 0): 1 - NSE = (alpha - r)^2 + (1 - r^2) + beta_n^2",
        "",
        "amplitude = (alpha - r)^2 (variability wrong for the correlation), timing = 1 - r^2, "
        "volume = beta_n^2 (mean error / std of obs). Counts of failed basins by their "
        "largest term; medians over the failed basins (all basins in brackets). Overshoot: "
        "basins where the P-RNN's explicit daily step overshoots (`dgeo.step_stability`: an "
        "eigenvalue of the step's Jacobian below -1) on more than 1 % of days (of them NSE < 0).",
        "",
        "| model | NSE < 0 | amplitude | timing | volume | r | alpha | beta_n | overshoot |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for model, o in out.items():
        dom, f, a = o["dominant_term"], o["failed_median"], o["all_median"]
        lines.append(
            f"| {model} | {o['n_negative']} | "
            + " | ".join(str(dom[k]) for k in TERMS)
            + " | "
            + " | ".join(f"{f[k]:.2f} ({a[k]:.2f})" for k in ("r", "alpha", "beta_n"))
            + (
                f" | {o['overshoot_basins']} ({o['overshoot_failed']}) |"
                if "overshoot_basins" in o
                else " | - |"
            )
        )
    (RESULTS / f"regional_pub{tag}_failures.json").write_text(json.dumps(out, indent=1))
    (RESULTS / f"regional_pub{tag}_failures.md").write_text("\n".join(lines) + "\n")
    plot.save(plot.nse_anatomy(pub), RESULTS / f"regional_pub{tag}_failures.png")
    print("\n".join(lines))
    return out


PUB_TRAIN, PUB_VALIDATION = ("1981-01-01", "2009-09-30"), ("2009-10-01", "2014-09-30")


def pub_validated() -> None:
    """The ungauged-basin test again, with each fold's model keeping its epoch with the best
    median NSE of its *training* basins over water years 2010-2014 (trained 1981-2009; the
    held-out basins stay unseen and are scored over 1982-2014 as before). Writes
    regional_pub_validated.json, regional_pub_validated_by_aridity.{json,md}."""
    ds = _caravan()
    pub, seconds = _cross_validate_all(ds, OPTIONS, PUB_TRAIN, PUB_VALIDATION)
    save_results(pub, RUNS / "pub_validated.nc")
    stats = _nse_stats(pub)
    out = _pub_json(stats) | {"training_seconds": seconds}
    (RESULTS / "regional_pub_validated.json").write_text(json.dumps(out, indent=1))
    by_aridity(pub, ds, "_validated")
    failures(pub, ds, "_validated")
    print("\n".join(_table(stats, seconds)))


def longer_lstm(epochs: int, hidden: int, pub: bool = False) -> None:
    """The regional LSTM alone with a larger training budget, to see how much of its gap to
    the hybrid is under-training: the temporal test (regional_lstm_<hidden>h_<epochs>ep.json)
    or, with `pub`, the ungauged-basin cross-validation (regional_pub_lstm_<hidden>h_<epochs>ep
    .json and its failure table; predictions in runs/regional/)."""
    ds = _caravan()
    o = replace(OPTIONS["regional_lstm"], epochs=epochs, hidden=hidden)
    tag = f"lstm_{hidden}h_{epochs}ep"
    if pub:
        results, seconds = cross_validate(
            ds, ["regional_lstm"], train_period=FULL, test_period=SCORED, options=o
        )
        save_results(results, RUNS / f"pub_{tag}.nc")
        out = _nse_stats(results)["regional_lstm"] | {"training_seconds": seconds["regional_lstm"]}
        failures(results, ds, f"_{tag}")
        name = f"regional_pub_{tag}.json"
    else:
        fit = train_regional(
            ds, "regional_lstm", ds["basin"].values, TRAIN, o, validation=VALIDATION
        )
        results = regional_results({"regional_lstm": fit.model}, ds, TEST, o, keep=("q",))
        out = _nse_stats(results)["regional_lstm"]
        out.update(training_seconds=fit.seconds, history=fit.history)
        name = f"regional_{tag}.json"
    out.update(epochs=epochs, hidden=hidden)
    (RESULTS / name).write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "history"}, indent=1))


def main(
    quick: bool = False, basin_filter: bool = False, scale_only: bool = False, skip_pub=False
) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    RUNS.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    ds = _caravan()
    if basin_filter:  # Jiang et al. (2020): humid or frequently wet basins
        keep = _paper_filter(ds)
        ds = ds.sel(basin=ds["basin"].values[keep.values])
    options = OPTIONS
    if quick:
        ds = ds.isel(basin=slice(0, 30))
        options = {k: replace(o, epochs=2, search=32) for k, o in OPTIONS.items()}
    n_basins = ds.sizes["basin"]
    print(f"{n_basins} basins")
    tag = "_filtered" if basin_filter else ""

    # 4. Scale, measured first while the machine is quiet: one epoch, every basin x 30 years.
    path = RESULTS / f"regional_scale{tag}.json"
    if skip_pub:  # timings from an earlier (--scale-only) run on a quiet machine
        scale = json.loads(path.read_text())["models"]
    else:
        scale = _scale(ds, options)
    if scale_only:
        old = json.loads(path.read_text()) if path.exists() else {}
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        path.write_text(json.dumps({**old, "models": scale, "peak_rss_gb": rss}, indent=1))
        print(json.dumps(scale, indent=1))
        return

    # 1. Ungauged basins.
    if skip_pub:  # reuse the cross-validation of an earlier run
        pub = load_results(RUNS / f"pub{tag}.nc")
        pub_seconds = json.loads((RUNS / f"pub{tag}_seconds.json").read_text())
    else:
        pub, pub_seconds = _cross_validate_all(ds, options, FULL)
        save_results(pub, RUNS / f"pub{tag}.nc")
        (RUNS / f"pub{tag}_seconds.json").write_text(json.dumps(pub_seconds))
    pub_stats = _nse_stats(pub)
    (RESULTS / f"regional_pub{tag}.json").write_text(json.dumps(_pub_json(pub_stats), indent=1))
    plot.save(plot.nse_cdf(pub), RESULTS / f"regional_pub{tag}_nse_cdf.png")
    by_aridity(pub, ds, tag)
    failures(pub, ds, tag)
    # The same predictions scored on the basins that pass the paper's filter only.
    humid = _paper_filter(ds).values
    pub_humid_stats = _nse_stats(pub.isel(basin=humid))

    # 2. Temporal test on all basins; 4. epoch times at this size come from the same fits.
    fits = {}
    for kind in KINDS:
        fits[kind] = train_regional(
            ds, kind, ds["basin"].values, TRAIN, options[kind], validation=VALIDATION
        )
    temporal = regional_results(
        {k: f.model for k, f in fits.items()},
        ds,
        TEST,
        keep=("q", "q_physical", "snow_storage", "soil_storage", "melt"),
    )
    save_results(temporal, RUNS / f"temporal{tag}.nc")
    temporal_stats = _nse_stats(temporal)
    (RESULTS / f"regional_temporal{tag}.json").write_text(json.dumps(temporal_stats, indent=1))
    plot.save(plot.nse_cdf(temporal), RESULTS / f"regional_temporal{tag}_nse_cdf.png")

    # 3. Snow inference against independent SWE (water years 2001-2010).
    with xr.open_dataset(DATA / "camels_us_swe.nc") as f:
        swe = f["swe_ua"].sel(time=slice(*TEST)).load()
    swe = swe.assign_coords(basin=swe["basin"].values.astype(str))
    s0 = temporal["snow_storage"].sel(model="regional_hybrid")
    snow = snow_correlation(s0, swe)
    s0_pub = pub["snow_storage"].sel(model="regional_hybrid", time=slice(*TEST))
    snow_pub = snow_correlation(s0_pub, swe)
    summary = snow_summary(snow)
    summary["ungauged"] = snow_summary(snow_pub)
    # Basins whose S0 never melts out (a water sink), and the statistics without them.
    for key, series in (("temporal", s0), ("ungauged", s0_pub)):
        towers = perennial_snow(series)
        rest = series.sel(basin=series["basin"].values[~towers.values])
        entry = summary if key == "temporal" else summary["ungauged"]
        entry["perennial_snow_basins"] = int(towers.sum())
        entry["without_perennial"] = snow_summary(snow_correlation(rest, swe))
    summary["model"] = "regional_hybrid (temporal test); ungauged: held-out fold predictions"
    (RESULTS / f"snow{tag}.json").write_text(json.dumps(summary, indent=1))
    plot.save(plot.snow_series(snow), RESULTS / f"snow{tag}_basin_mean.png")
    plot.save(plot.snow_correlations(snow), RESULTS / f"snow{tag}_correlations.png")
    lat = ds["lat"].sel(basin=snow["basin"].values)
    lon = ds["lon"].sel(basin=snow["basin"].values)
    plot.save(plot.snow_map(snow, lat, lon), RESULTS / f"snow{tag}_map.png")
    snowiest = snow["mean_swe"].sortby(snow["mean_swe"], ascending=False)["basin"].values[:4]
    plot.save(plot.snow_basins(s0, swe, list(snowiest)), RESULTS / f"snow{tag}_basins.png")

    scale_out = {
        "basins": n_basins,
        "years": 30,
        "models": scale,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "note": "epoch_seconds measured by --scale-only on a quiet machine" if skip_pub else "",
        "pub_training_seconds": pub_seconds,
        "temporal_training_seconds": {k: f.seconds for k, f in fits.items()},
        "wall_time_s": time.perf_counter() - began,
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
    }
    path.write_text(json.dumps(scale_out, indent=1))

    lines = [
        f"# Regional models on {n_basins} CAMELS-US basins (Caravan ERA5-Land forcing)",
        "",
        "Produced by `python benchmarks/regional.py"
        + (" --filter" if basin_filter else "")
        + "`; training options per model in the script.",
        "",
        "## Ungauged basins (5-fold cross-validation, scored 1982-2014)",
        "",
        *_table(pub_stats, pub_seconds),
        "",
        "The same held-out predictions scored only on the basins that pass the paper's filter "
        "(aridity <= 1.2 or low_prec_freq <= 280 days/yr):",
        "",
        *_table(pub_humid_stats),
        "",
        "## Temporal test (train 1981-2000, test water years 2001-2010)",
        "",
        *_table(temporal_stats, scale_out["temporal_training_seconds"]),
        "",
        "## Snow inference: S0 of the regional hybrid vs UA SWE (water years 2001-2010)",
        "",
        "| | temporal test | ungauged (PUB) |",
        "|---|---|---|",
        f"| basin-mean daily correlation | {summary['basin_mean_correlation']:.3f} | "
        f"{summary['ungauged']['basin_mean_correlation']:.3f} |",
        f"| per-basin correlation, median (snowy basins) | "
        f"{summary['per_basin_correlation']['median']:.3f} "
        f"(n={summary['per_basin_correlation']['n']}) | "
        f"{summary['ungauged']['per_basin_correlation']['median']:.3f} |",
        f"| spatial correlation of 10-year means (snowy) | "
        f"{summary['spatial_correlation']:.3f} | {summary['ungauged']['spatial_correlation']:.3f} |",
        f"| basins whose S0 never melts out (perennial) | {summary['perennial_snow_basins']} | "
        f"{summary['ungauged']['perennial_snow_basins']} |",
        f"| basin-mean correlation without them | "
        f"{summary['without_perennial']['basin_mean_correlation']:.3f} | "
        f"{summary['ungauged']['without_perennial']['basin_mean_correlation']:.3f} |",
        f"| per-basin median without them | "
        f"{summary['without_perennial']['per_basin_correlation']['median']:.3f} | "
        f"{summary['ungauged']['without_perennial']['per_basin_correlation']['median']:.3f} |",
        "",
        "## Scale (one epoch, every basin x 30 years, 2-core CPU)",
        "",
        "| model | epoch s |",
        "|---|---|",
        *[f"| {k} | {v['epoch_seconds']:.1f} |" for k, v in scale.items()],
        "",
        f"Peak RSS {scale_out['peak_rss_gb']:.1f} GB; total wall time "
        f"{scale_out['wall_time_s'] / 60:.0f} min.",
    ]
    (RESULTS / f"regional{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 basins, 2 epochs (a smoke run)")
    parser.add_argument("--filter", action="store_true", help="the paper's basin filter")
    parser.add_argument("--scale-only", action="store_true", help="only the epoch timings")
    parser.add_argument(
        "--skip-pub", action="store_true", help="reuse runs/regional/pub.nc; no timings"
    )
    parser.add_argument(
        "--longer-lstm",
        type=int,
        metavar="EPOCHS",
        help="only the LSTM, longer: its temporal test (PUB with --pub)",
    )
    parser.add_argument("--hidden", type=int, default=64, help="with --longer-lstm")
    parser.add_argument(
        "--pub", action="store_true", help="with --longer-lstm: the ungauged-basin test"
    )
    parser.add_argument(
        "--by-aridity",
        action="store_true",
        help="only the aridity and failure tables of the saved cross-validations",
    )
    parser.add_argument(
        "--pub-validated", action="store_true", help="only PUB, best epoch by validation"
    )
    args = parser.parse_args()
    if args.pub_validated:
        pub_validated()
        raise SystemExit
    if args.by_aridity:
        caravan = _caravan()
        for name, tag in (("pub.nc", ""), ("pub_validated.nc", "_validated")):
            if (RUNS / name).exists():
                saved = load_results(RUNS / name)
                by_aridity(saved, caravan, tag)
                failures(saved, caravan, tag)
        for longer in sorted(RUNS.glob("pub_lstm_*.nc")):  # from --longer-lstm N --pub
            tag = longer.stem.removeprefix("pub_")
            hybrid_versus(load_results(RUNS / "pub.nc"), load_results(longer), caravan, tag)
        raise SystemExit
    if args.longer_lstm:
        longer_lstm(args.longer_lstm, args.hidden, args.pub)
        raise SystemExit
    main(
        quick=args.quick,
        basin_filter=args.filter,
        scale_only=args.scale_only,
        skip_pub=args.skip_pub,
    )
