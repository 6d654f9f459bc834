"""What the benchmark drivers share: reading a finished run directory back, writing a result
file, and a process's peak memory. Light to import (the heavy imports are inside the
functions): bench_hbv.py's hydrodl2 worker imports it and must not load JAX."""

from __future__ import annotations

import json
import resource
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import xarray as xr


def finished(folder: Path) -> tuple[xr.Dataset, dict] | None:
    """(test results, training seconds per model) of a run directory whose training has
    finished (`run.json`), else None."""
    from dgeo import evaluate

    record = folder / "run.json"
    if not record.is_file() or not json.loads(record.read_text()).get("finished"):
        return None
    seconds = json.loads((folder / "summary.json").read_text())["training_seconds"]
    return evaluate.load_results(folder / "results.nc"), seconds


def write(path: Path, value: dict | str) -> None:
    """A dict as JSON, a string as markdown (echoed)."""
    text = json.dumps(value, indent=1) if isinstance(value, dict) else value.rstrip() + "\n"
    path.write_text(text)
    print(f"wrote {path}" + ("" if isinstance(value, dict) else f"\n{text}"))


def peak_rss_mb() -> float:
    """The largest resident memory this process has had so far, MiB: Linux's VmHWM, which is
    the process's own. (ru_maxrss is not: a process started by fork and exec begins with its
    parent's, so a worker would report the parent's peak until its own exceeds it.)"""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere, a floor
