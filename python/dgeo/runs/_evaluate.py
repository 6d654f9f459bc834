"""`evaluate_run`: a trained run directory scored again on one of its periods."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import xarray as xr

from ..config import ConfigError
from ..data import DataError
from ._data import data_fingerprint, load_data, regional_options
from ._experiments import evaluate_models
from ._outputs import write_results
from ._record import read_record, read_run_config, warn_if_data_changed


def evaluate_run(run_dir: str | Path, period: str = "test") -> xr.Dataset:
    """Evaluate a trained run directory on its `train`, `validation` or `test` period (each
    after a spin-up before it; the training period's first spin-up days are that spin-up, as
    in training, so its scores start after them).

    The data are read from the absolute path the run recorded, so this works from any working
    directory; if their files differ (names or sizes) from those the run was trained on, a
    warning says so. Writes `results_<period>.nc` and `metrics_<period>.csv` (the test
    period's are also the run's `results.nc`) and returns the results Dataset. An
    ungauged-basin cross-validation has no models to score again: its `results.nc` holds
    every basin as predicted when held out.
    """
    run_dir = Path(run_dir)
    info = read_record(run_dir)
    if info is None or not (run_dir / "config.yml").is_file():
        raise FileNotFoundError(
            f"{run_dir} is not a dgeo run directory (no run.json or config.yml); train it first"
        )
    if not info.get("finished", True):  # runs of older dgeo versions wrote run.json at the end
        raise DataError(
            f"{run_dir} has not finished training; continue it with "
            f"`dgeo train CONFIG --run-dir {run_dir} --resume`"
        )
    config = read_run_config(run_dir)
    config = dataclasses.replace(config, data=info.get("data", config.data), basins=info["basins"])
    if config.is_regional and config.experiment.type == "pub":
        raise ConfigError(
            f"{run_dir} is an ungauged-basin cross-validation: its results.nc holds every basin "
            "as predicted when held out, and there is no one model to evaluate again"
        )
    if period not in ("train", "validation", "test"):
        raise ConfigError(f"period must be one of train, validation, test, got {period!r}")
    dates = getattr(config.periods, period)
    if dates is None:
        raise ConfigError(f"{run_dir} has no {period} period (its configuration sets none)")
    options = None
    if config.is_regional:
        options = regional_options(config, info.get("attributes"))
        spinup = max(o.spinup_days for o in options.values())
    else:
        spinup = config.training.spinup_days
    if period == "train":  # as in training, its first spin-up days spin the states up
        dates = (str((pd.Timestamp(dates[0]) + pd.Timedelta(days=spinup)).date()), dates[1])
    ds = load_data(config)
    fingerprint = data_fingerprint(config.data, info["basins"])
    warn_if_data_changed(info, fingerprint, config.data, run_dir)
    results = evaluate_models(config, ds, run_dir, dates, options)
    results.attrs["period"] = period
    write_results(results, run_dir, f"_{period}")
    return results
