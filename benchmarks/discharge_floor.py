"""How the non-negative discharge output is trained: four output transforms compared.

Every network of dgeo that outputs discharge ends in `dgeo.models.discharge`: a softplus floor
of width 0.1 std whose gradient is passed straight through. This script trains the per-basin
common model (the Conv1D head alone, the model that went below zero most often) on the 26
CAMELS-US basins of ../shared/data with the standard split (train WY 1981-1996, validation
1997-2000, test 2001-2010) and three seeds, once per output transform:

- `none`: no floor (dgeo before 2026-11-30; q can be negative);
- `relu`: max(y, 0);
- `softplus`: the softplus floor with its own gradient;
- `straight-through`: the softplus floor, gradient of y (dgeo's `discharge`).

It writes benchmarks/results/discharge_floor.{json,md}: median and mean test NSE over the
basins, the fraction of test days below zero and the lowest discharge, per transform and seed.
The alternatives replace `dgeo.models._models.discharge` for the run; nothing else differs.
Each run is a fresh process: compiled training steps are cached per model structure, so a
second transform in the same process would silently reuse the first one's code.

Usage: python benchmarks/discharge_floor.py [--seeds 0 1 2] [--basins N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np

import dgeo.models._models as basin_models
from dgeo.data import load_camels_us
from dgeo.train import FitOptions, ModelOptions, Periods, run_models, train_models

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CAMELS = ROOT.parent / "shared" / "data" / "camels_us"


def _flow(z, target):
    return target.invert(z[:, None])[:, 0]


def _softplus(z, target):
    y = _flow(z, target)
    width = basin_models.ZERO_FLOOR_WIDTH * jax.lax.stop_gradient(target.std[0])
    return width * jax.nn.softplus(y / width)


TRANSFORMS = {
    "none": _flow,
    "relu": lambda z, target: jax.nn.relu(_flow(z, target)),
    "softplus": _softplus,
    "straight-through": basin_models.discharge,
}


def _load(n_basins: int | None):
    ds = load_camels_us(CAMELS)
    return ds if not n_basins else ds.isel(basin=slice(0, n_basins))


def run(transform: str, seed: int, n_basins: int | None) -> dict:
    """Train the common model with `transform` and score it on the test period (in this
    process: call it in a fresh one per transform)."""
    ds = _load(n_basins)
    basin_models.discharge = TRANSFORMS[transform]
    options = ModelOptions(physical_starts=1, physical_search=0)
    models, _ = train_models(
        ds, ("common",), Periods(), options, FitOptions(seed=seed), progress=False
    )
    results = run_models(models, ds, Periods().test)
    q = results["qsim"].sel(model="common").values
    nse = results["metrics"].sel(model="common", metric="nse").values
    return {
        "nse_median": float(np.nanmedian(nse)),
        "nse_mean": float(np.nanmean(nse)),
        "days_below_zero": float(np.mean(q < 0)),
        "lowest_q": float(np.nanmin(q)),
    }


def _fresh(transform: str, seed: int, n_basins: int | None) -> dict:
    """`run` in a fresh Python process."""
    command = [sys.executable, __file__, "--one", transform, str(seed)]
    command += ["--basins", str(n_basins)] if n_basins else []
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(seeds=(0, 1, 2), n_basins: int | None = None) -> dict:
    out = {t: {str(s): _fresh(t, s, n_basins) for s in seeds} for t in TRANSFORMS}
    ds = _load(n_basins)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "discharge_floor.json").write_text(json.dumps(out, indent=2) + "\n")
    lines = [
        f"# Output transforms of the common model, {ds.sizes['basin']} CAMELS-US basins",
        "",
        "Test WY 2001-2010 NSE (median / mean over basins) per seed; share of test days with",
        "q < 0 and the lowest q (mm/day). `straight-through` is dgeo's `discharge`.",
        "",
        "| transform | " + " | ".join(f"seed {s}" for s in seeds) + " | mean of medians | "
        "mean of means | days q < 0 | lowest q |",
        "|---|" + "---|" * (len(seeds) + 4),
    ]
    for name, by_seed in out.items():
        rows = list(by_seed.values())
        cells = [f"{r['nse_median']:.3f} / {r['nse_mean']:.3f}" for r in rows]
        lines.append(
            f"| {name} | {' | '.join(cells)} | "
            f"{np.mean([r['nse_median'] for r in rows]):.3f} | "
            f"{np.mean([r['nse_mean'] for r in rows]):.3f} | "
            f"{100 * np.mean([r['days_below_zero'] for r in rows]):.1f} % | "
            f"{min(r['lowest_q'] for r in rows):.2f} |"
        )
    (RESULTS / "discharge_floor.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--basins", type=int, help="only the first N basins (a quick check)")
    parser.add_argument("--one", nargs=2, metavar=("TRANSFORM", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run(args.one[0], int(args.one[1]), args.basins)))
    else:
        main(tuple(args.seeds), args.basins)
