"""Seconds per epoch of per-basin training: the common (Conv1D) and physical models on the 26
CAMELS-US basins, 40 epochs each, no early stopping (the median epoch after the first, which
compiles). A thin driver over `dgeo.train.train_models`; run it under two dgeo versions,
interleaved, to compare the training loops (the issue-19 engine against the one before):

    for i in 1 2 3; do
        PYTHONPATH=OLD/python python benchmarks/engine_speed.py old
        python benchmarks/engine_speed.py new
    done

Each call appends one line to benchmarks/results/engine_speed.jsonl.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

import dgeo
from dgeo.data import load_camels_us
from dgeo.train import FitOptions, ModelOptions, Periods, train_models

ROOT = Path(__file__).resolve().parents[1]
CAMELS = ROOT.parent / "shared" / "data" / "camels_us"


def main(label: str) -> dict:
    ds = load_camels_us(CAMELS)
    periods = Periods(validation=("1996-10-01", "2000-09-30"))
    fit = FitOptions(epochs=40, patience=1000)
    model = ModelOptions(physical_starts=1, physical_search=0)
    out = {"label": label, "dgeo": str(Path(dgeo.__file__).parent)}
    for kind in ("common", "physical"):
        began = time.perf_counter()
        _, fits = train_models(ds, kind, periods, model, fit, progress=False)
        seconds = [h["seconds"] for h in fits[kind].history[1:]]
        out[kind] = {
            "epoch_seconds_median": float(np.median(seconds)),
            "wall_seconds": time.perf_counter() - began,
        }
    path = ROOT / "benchmarks" / "results" / "engine_speed.jsonl"
    with path.open("a") as f:
        f.write(json.dumps(out) + "\n")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "current")
