"""δHBV per basin (dPL, `dpl` with `dgeo.Hbv`) on the 26 CAMELS-US Daymet basins, beside the
four models of Jiang et al. (2020) from `benchmarks/jiang_local.py`.

The same split as jiang_local: water years 1981-1996 to train, 1997-2000 for early stopping
and the choice of each basin's best start, 2001-2010 to test after a spin-up from 1999-10-01.
Each basin learns its own static HBV parameters for `NMUL` components and the gamma routing,
and a small LSTM over its five standardised forcings gives BETA and BETAET per component and
day (δHBV 1.1p's dynamic parameters). PET is Hamon's (CAMELS-US carries none).

Writes benchmarks/results/dhbv_local.{json,md}: median and mean test NSE, the number of basins
below 0, wall time, and the four Jiang models' numbers from jiang_local.json (and their
per-basin NSE from jiang_local_metrics.csv). Checkpoints go to
runs/dhbv_local/ (git ignores it): `--resume` continues an interrupted run from its last epoch.

Usage: python benchmarks/dhbv_local.py [--resume] [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import jax
import numpy as np
import pandas as pd

from dgeo.data import load_camels_us
from dgeo.evaluate import summarise
from dgeo.physics import Hbv, hamon_pet
from dgeo.train import FitOptions, ModelOptions, Periods, run_models, train_models

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CAMELS = ROOT.parent / "shared" / "data" / "camels_us"
RUN_DIR = ROOT / "runs" / "dhbv_local"

NMUL = 4
DYNAMIC = ("BETA", "BETAET")
PERIODS = Periods()  # WY 1981-1996 train, 1997-2000 validation, 2001-2010 test
# Sized to finish in about 10 minutes on 2 CPU cores: 4 components rather than MHPI's 16,
# 2 searched starts per basin (the P-RNN of jiang_local has 8), at most 60 epochs (early
# stopping after 15 without a better mean validation NSE).
MODEL = {
    "hidden": 16,
    "dropout": 0.0,
    "physical_starts": 2,
    "physical_search": 500,
    "window_days": 2190,
    "stride_days": 365,
}
TRAINING = {"epochs": 60, "learning_rate": 0.01, "patience": 15}
QUICK_BASINS = ["01022500", "01031500", "01047000"]


def load(basins=None):
    """CAMELS-US Daymet forcing and discharge with Hamon PET (mm/day) added."""
    ds = load_camels_us(CAMELS, basins=basins, attributes=False)
    pet = hamon_pet(ds["tmean"].values, ds["dayl"].values / 86400.0)
    return ds.assign(pet=(("basin", "time"), np.asarray(pet), {"units": "mm/day"}))


def main(resume: bool = False, quick: bool = False) -> dict:
    start = time.perf_counter()
    ds = load(QUICK_BASINS if quick else None)
    physics = Hbv(nmul=NMUL, dynamic=DYNAMIC)
    training = {**TRAINING, "epochs": 3} if quick else TRAINING
    models, fits = train_models(
        ds,
        "dpl",
        PERIODS,
        ModelOptions(physics=physics, **MODEL),
        FitOptions(**training),
        run_dir=RUN_DIR / ("quick" if quick else "full"),
        resume=resume,
        progress=True,
    )
    results = run_models(models, ds, PERIODS.test)
    wall = time.perf_counter() - start
    nse = results["metrics"].sel(model="dpl", metric="nse").values
    stats = summarise(results["metrics"].sel(model="dpl", metric=["nse", "mnse", "pfab"]))
    history = fits["dpl"].history
    out = {
        "dpl": {m: {k: stats[m][k] for k in ("median", "mean", "p25", "p75")} for m in stats},
        "nse_below_zero": int(np.sum(nse < 0)),
        "basins": int(results.sizes["basin"]),
        "nse_by_basin": {
            str(b): float(v) for b, v in zip(results["basin"].values, nse, strict=True)
        },
        "physics": {"model": "Hbv", "nmul": NMUL, "dynamic": list(DYNAMIC)},
        "model": MODEL,
        "training": training,
        "epochs_run": len(history),
        "training_seconds": float(sum(h.get("seconds", 0.0) for h in history)),
        "wall_time_s": wall,
        "resumed": resume,
        "machine": f"{platform.machine()}, {jax.device_count()} {jax.default_backend()} device(s)",
    }
    jiang = json.loads((RESULTS / "jiang_local.json").read_text())
    per_basin = pd.read_csv(RESULTS / "jiang_local_metrics.csv", dtype={"basin": str})
    out["jiang_local"] = {
        kind: {k: jiang[kind]["nse"][k] for k in ("median", "mean")}
        | {"nse_below_zero": int((per_basin.query("model == @kind")["nse"] < 0).sum())}
        for kind in ("physical", "common", "hybrid", "lstm")
    }
    if quick:
        print(json.dumps(out["dpl"]["nse"], indent=2))
        return out
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "dhbv_local.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = [
        "# δHBV per basin (dPL) on the 26 CAMELS-US basins, beside Jiang et al.'s four models",
        "",
        f"Train WY 1981-1996, validation (early stopping) WY 1997-2000, test WY 2001-2010 "
        f"(spin-up from 1999-10-01), as benchmarks/jiang_local.py. δHBV: `Hbv(nmul={NMUL}, "
        f"dynamic={DYNAMIC})` with gamma routing; per basin learned static parameters per "
        f"component and an LSTM ({MODEL['hidden']} units) over the basin's forcings for the "
        f"dynamic ones; Hamon PET; the best of {MODEL['physical_starts']} starts (from "
        f"{MODEL['physical_search']} random parameter sets) per basin on validation; "
        f"{len(history)} of at most {training['epochs']} epochs (patience "
        f"{training['patience']}). Wall time {wall:.0f} s on {out['machine']}"
        f"{' (resumed)' if resume else ''}.",
        "",
        "| model | NSE median | NSE mean | basins with NSE < 0 |",
        "|---|---|---|---|",
    ]
    for kind, s in out["jiang_local"].items():
        lines.append(
            f"| {kind} (jiang_local) | {s['median']:.3f} | {s['mean']:.3f} | "
            f"{s['nse_below_zero']} |"
        )
    s = out["dpl"]["nse"]
    lines.append(
        f"| **δHBV (dpl)** | {s['median']:.3f} | {s['mean']:.3f} | {out['nse_below_zero']} |"
    )
    (RESULTS / "dhbv_local.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--resume", action="store_true", help="continue from runs/dhbv_local")
    parser.add_argument("--quick", action="store_true", help="3 basins, 3 epochs, no files")
    args = parser.parse_args()
    main(resume=args.resume, quick=args.quick)
