"""Time loading the 26 real CAMELS-US basins with attributes (median of several runs).

Writes benchmarks/results/load_camels.json and .md. Usage: python benchmarks/bench_load.py
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path

from dgeo.data import load_camels_us

ROOT = Path(__file__).resolve().parents[1]
CAMELS = ROOT.parent / "shared" / "data" / "camels_us"
RESULTS = ROOT / "benchmarks" / "results"


def main(repeats: int = 7) -> dict:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        ds = load_camels_us(CAMELS)
        times.append(time.perf_counter() - start)
    result = {
        "basins": ds.sizes["basin"],
        "days": ds.sizes["time"],
        "variables": len(ds.data_vars),
        "repeats": repeats,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load_camels.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "load_camels.md").write_text(
        "# Loading CAMELS-US text files\n\n"
        f"{result['basins']} basins x {result['days']} days with all attributes "
        f"({result['variables']} variables), {repeats} runs on {result['machine']}:\n\n"
        f"| median | min | max | target |\n|---|---|---|---|\n"
        f"| {result['median_s']:.2f} s | {result['min_s']:.2f} s | {result['max_s']:.2f} s | < 5 s |\n"
    )
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
