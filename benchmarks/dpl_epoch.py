"""Seconds per epoch of regional δHBV training (dynamic BETA and BETAET, the temporal
configuration regional_dhbv_temporal.yml) on every basin x 30 years: the first epoch (with
compile) and the next ones. A thin driver over `dgeo.train.train_regional`; run it under two
dgeo versions, interleaved, to compare them:

    for i in 1 2; do
        PYTHONPATH=OLD/python python benchmarks/dpl_epoch.py old
        python benchmarks/dpl_epoch.py new
    done
    python benchmarks/dpl_epoch.py --report "what changed between old and new"

Each call appends one line to benchmarks/results/dpl_epoch.jsonl; --report writes
dpl_epoch.md from it (the median epoch after the first, per label).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

import dgeo
from dgeo.runs import load_data, regional_options
from dgeo.train import train_regional
from regional_dhbv import SCALE, config_of

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
LINES = RESULTS / "dpl_epoch.jsonl"


def main(label: str, epochs: int) -> dict:
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    load = os.getloadavg()
    config = config_of("temporal_dhbv", quick=False)
    ds = load_data(config)
    options = dataclasses.replace(regional_options(config)["regional_dpl"], epochs=epochs, search=0)
    began = time.perf_counter()
    fit = train_regional(ds, "regional_dpl", ds["basin"].values, SCALE, options, label=label)
    out = {
        "label": label,
        "dgeo": str(Path(dgeo.__file__).parent),
        "started": started,
        "load_average_before": load,
        "basins": int(ds.sizes["basin"]),
        "physics": config.physics,
        "hidden": options.hidden,
        "window_days": options.window_days,
        "batch_size": options.batch_size,
        "epoch_s": [h["seconds"] for h in fit.history],
        "wall_s": time.perf_counter() - began,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    with LINES.open("a") as f:
        f.write(json.dumps(out) + "\n")
    print(json.dumps(out))
    return out


def report(change: str) -> str:
    runs = [json.loads(line) for line in LINES.read_text().splitlines() if line.strip()]
    first = runs[0]
    options = {k: v for k, v in first["physics"].items() if k != "name"}
    physics = f"{first['physics']['name']}: " + ", ".join(
        f"{k} {', '.join(v) if isinstance(v, list) else v}" for k, v in options.items()
    )
    lines = [
        "# Regional δHBV training epoch: dgeo versions compared",
        "",
        f"regional_dpl of regional_dhbv_temporal.yml ({physics}, LSTM "
        f"{first['hidden']}, windows of {first['window_days']} days, batch "
        f"{first['batch_size']}) on {first['basins']} basins x 30 years; "
        f"{first['machine']}; the labels' runs interleaved (`python benchmarks/dpl_epoch.py`). "
        f"Change: {change}",
        "",
        "| label | started | first epoch, with compile (s) | next epochs (s) |",
        "|---|---|---:|---|",
    ]
    for run in runs:
        seconds = run["epoch_s"]
        later = ", ".join(f"{s:.1f}" for s in seconds[1:])
        lines.append(f"| {run['label']} | {run['started']} | {seconds[0]:.1f} | {later} |")
    medians = {}
    for run in runs:
        medians.setdefault(run["label"], []).extend(run["epoch_s"][1:])
    lines += ["", "Median epoch after the first, per label (all its runs): "]
    lines[-1] += "; ".join(
        f"{k} {np.median(v):.1f} s ({len(v)} epochs)" for k, v in medians.items()
    )
    lines[-1] += "."
    text = "\n".join(lines) + "\n"
    (RESULTS / "dpl_epoch.md").write_text(text)
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("label", nargs="?", help="name of the dgeo version timed")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--report", metavar="CHANGE", help="write dpl_epoch.md from the lines")
    args = parser.parse_args()
    if args.report:
        print(report(args.report))
    elif args.label:
        main(args.label, args.epochs)
    else:
        parser.error("give a label to time, or --report")
