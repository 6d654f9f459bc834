"""What the regional benchmark drivers share: reading a finished run directory back, and
writing a result file."""

from __future__ import annotations

import json
from pathlib import Path

import xarray as xr

from dgeo import evaluate


def finished(folder: Path) -> tuple[xr.Dataset, dict] | None:
    """(test results, training seconds per model) of a run directory whose training has
    finished (`run.json`), else None."""
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
