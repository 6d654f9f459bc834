"""`dgeo demo`: the physical and hybrid models on synthetic twins or a few real basins."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import xarray as xr

from ..config import parse_config
from ._data import open_data
from ._train import train_run

#: The demo's defaults: small enough for 2 minutes on a 2-core machine.
DEMO_CONFIG = {
    "models": ["physical", "hybrid"],
    "model": {"physical_starts": 4, "physical_search": 1000},
    "training": {"epochs": 120, "patience": 20},
}


def demo(
    data: str | None = None,
    out: str | Path = "dgeo-demo",
    *,
    basins: list[str] | None = None,
    epochs: int | None = None,
    progress: bool = True,
) -> xr.Dataset:
    """Train the physical and hybrid models on synthetic twin catchments (or `data`), print
    the metric table and write the run directory `out` with hydrograph figures."""
    mapping = {"data": data or "synthetic", **DEMO_CONFIG}
    if basins:
        mapping["basins"] = list(basins)
    if data is not None:
        ds = open_data(data).load(list(basins) if basins else None)
        mapping.setdefault("basins", list(map(str, ds["basin"].values[:4])))
        first = pd.Timestamp(ds["time"].values[0])
        if first > pd.Timestamp("1980-10-01"):  # start training at the next water year
            start = pd.Timestamp(f"{first.year}-10-01")
            start = start if start >= first else pd.Timestamp(f"{first.year + 1}-10-01")
            mapping["periods"] = {"train": [str(start.date()), "1996-09-30"]}
    if epochs is not None:
        mapping["training"] = {**DEMO_CONFIG["training"], "epochs": epochs}
    config = parse_config(mapping)
    return train_run(config, out, overwrite=True, progress=progress)
