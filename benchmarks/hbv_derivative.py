"""dgeo.Hbv's gradient with its hand-written derivative against JAX's own derivative of the
same daily update (physics/_hbv_day.py), the two called in turn in one process.

bench_hbv.py's inputs and dgeo side (730 days, 16 components, float32, MHPI's bounds mapped
from logits; in the dynamic case BETA and BETAET day by day inside the loop). Usage:

    python benchmarks/hbv_derivative.py --devices 1 --basins 336   # one single-threaded device
    python benchmarks/hbv_derivative.py --devices 2 --basins 671   # basins split over two
    python benchmarks/hbv_derivative.py --report

Each run appends one line to benchmarks/results/hbv_derivative.jsonl; --report writes
hbv_derivative.md from them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
LINES = RESULTS / "hbv_derivative.jsonl"
DYNAMIC = {"dynamic": ("BETA", "BETAET"), "static": ()}


def main(devices: int, basins: int, repeats: int, case: str) -> dict:
    import dgeo

    if devices > 1:
        dgeo.cpu_devices(devices)  # before JAX's first computation
    else:
        dgeo.xla_cpu_threads(1)
    from bench_hbv import dgeo_side, inputs
    from dgeo.physics import _hbv_day

    class JaxDerivative(dgeo.Hbv):
        """`dgeo.Hbv` differentiated by JAX itself."""

        def step(self, state, forcing, params):
            return _hbv_day.autodiff_step(state, forcing, params, self.soil_floor_mm)

    started, load = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), os.getloadavg()
    dynamic = DYNAMIC[case]
    data = inputs(basins, 730, dynamic)
    split = devices > 1
    sides = {
        "hand-written": dgeo_side(data, dynamic, ode=False, split=split),
        "JAX": dgeo_side(data, dynamic, ode=False, split=split, physics=JaxDerivative),
    }
    compile_s = {}
    for name, (run, _) in sides.items():
        began = time.perf_counter()
        run("gradient")
        compile_s[name] = time.perf_counter() - began
    seconds = {name: [] for name in sides}
    for round_ in range(repeats):  # the two in turn, the first alternating
        for name in sorted(sides, reverse=bool(round_ % 2)):
            began = time.perf_counter()
            sides[name][0]("gradient")
            seconds[name].append(time.perf_counter() - began)
    (loss, grads), (loss_jax, grads_jax) = (check() for _, check in sides.values())
    out = {
        "case": case,
        "devices": devices,
        "basins": basins,
        "started": started,
        "load_average_before": load,
        "repeats": repeats,
        "gradient_s": {k: float(np.median(v)) for k, v in seconds.items()},
        "gradient_all_s": seconds,
        "first_call_s": compile_s,
        "loss_relative_difference": abs(loss - loss_jax) / abs(loss_jax),
        "gradient_relative_difference": max(
            float(np.abs(grads[k] - g).max() / np.abs(g).max()) for k, g in grads_jax.items()
        ),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    with LINES.open("a") as f:
        f.write(json.dumps(out) + "\n")
    print(json.dumps({k: out[k] for k in ("case", "devices", "basins", "gradient_s")}))
    return out


def report() -> str:
    runs = [json.loads(line) for line in LINES.read_text().splitlines() if line.strip()]
    lines = [
        "# δHBV's gradient: the hand-written derivative against JAX's",
        "",
        "dgeo.Hbv's gradient (mean squared error of routed discharge, forward + backward) with "
        "its hand-written derivative (physics/_hbv_day.py, a jax.custom_jvp) and with JAX's "
        "derivative of the same update; bench_hbv.py's inputs (730 days, 16 components, "
        "float32), the two called in turn in one process, medians "
        f"(`python benchmarks/hbv_derivative.py`; {runs[0]['machine']}).",
        "",
        "| case | devices | basins | started | hand-written s | JAX s | change | "
        "gradient difference | load avg |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        ours, theirs = r["gradient_s"]["hand-written"], r["gradient_s"]["JAX"]
        lines.append(
            f"| {r['case']} | {r['devices']} | {r['basins']} | {r['started']} | {ours:.3f} | "
            f"{theirs:.3f} | {100 * (ours / theirs - 1):+.0f} % | "
            f"{r['gradient_relative_difference']:.0e} | {r['load_average_before'][0]:.2f} |"
        )
    lines += [
        "",
        "Devices: 1 is one CPU device on one XLA thread; 2 is the basins split over two "
        "single-threaded CPU devices (`dgeo.cpu_devices(2)`), bench_hbv.py's fastest side. "
        "Gradient difference: the largest per parameter over its largest |gradient| (float32; "
        "away from ties of a threshold tests/test_hbv.py checks the two in float64 to 1e-10).",
    ]
    text = "\n".join(lines) + "\n"
    (RESULTS / "hbv_derivative.md").write_text(text)
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--basins", type=int, default=671)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--case", choices=sorted(DYNAMIC), default="dynamic")
    parser.add_argument("--report", action="store_true", help="write hbv_derivative.md")
    args = parser.parse_args()
    if args.report:
        print(report())
    else:
        main(args.devices, args.basins, args.repeats, args.case)
