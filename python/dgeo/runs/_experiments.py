"""The experiments a configuration can ask for, each trained into a run directory:

- `per_basin`: the per-basin models of Jiang et al. (2020), one model per basin, tested on
  every basin's test period (`dgeo.train.train_models`);
- `temporal`: regional models trained on every basin over the training period and tested on
  the test period (`dgeo.train.train_regional`);
- `ungauged`: the k-fold ungauged-basin (PUB) cross-validation of regional models
  (`dgeo.train.cross_validate`).

Each checkpoints into `run_dir/checkpoints/` and, with `resume`, continues from there: a
finished model (or fold) is read back, the unfinished one continues from its last epoch.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import xarray as xr

from ..config import RunConfig
from ..train import (
    cross_validate,
    load_models,
    load_regional,
    regional_results,
    run_models,
    save_models,
    save_regional,
    train_models,
    train_regional,
)
from ._record import write_json


@dataclass
class Outcome:
    """What an experiment gives the run directory: the test results, the training seconds
    per model, and the training history (a row per model and epoch; None when not kept)."""

    results: xr.Dataset
    seconds: dict[str, float]
    history: pd.DataFrame | None


def per_basin(config: RunConfig, ds: xr.Dataset, run_dir: Path, *, resume: bool, progress: bool):
    """Every per-basin model of `config`, tested on `periods.test`; `models/<kind>.eqx`."""
    start = time.perf_counter()
    models, fits = train_models(
        ds,
        config.models,
        config.periods,
        config.model_options(),
        config.training,
        run_dir=run_dir,
        resume=resume,
        progress=progress,
    )
    total = time.perf_counter() - start
    save_models(models, run_dir / "models")
    history = pd.concat(
        [pd.DataFrame(fit.history).assign(model=kind) for kind, fit in fits.items()]
    )
    results = run_models(models, ds, config.periods.test, spinup_days=config.training.spinup_days)
    results.attrs["training_seconds"] = round(total, 1)
    # One call trains every kind: each kind's share is the time of its epochs.
    seconds = {k: float(sum(h.get("seconds", 0.0) for h in f.history)) for k, f in fits.items()}
    return Outcome(results, seconds, history)


def _concat(pieces: list[xr.Dataset]) -> xr.Dataset:
    """Results of one model each, as one Dataset with a `model` dimension."""
    if len(pieces) == 1:
        return pieces[0]
    return xr.concat(pieces, dim="model", data_vars="minimal", coords="minimal")


def temporal(
    config: RunConfig,
    ds: xr.Dataset,
    run_dir: Path,
    options: dict,
    *,
    resume: bool,
    progress: bool,
) -> Outcome:
    """Every regional model of `config` trained on all basins over `periods.train` (keeping
    the epoch with the best median validation NSE when there is a validation period) and
    tested on `periods.test`. Each finished model is saved at once (`models/<kind>.eqx`, and
    `models/<kind>.json` with its history and training seconds), so a resumed run reads it
    back instead of training it again."""
    folder = run_dir / "models"
    basins = list(map(str, ds["basin"].values))
    pieces, seconds, histories = [], {}, []
    for kind in config.models:
        o = options[kind]
        done = folder / f"{kind}.json"
        if resume and done.is_file():
            model = load_regional(folder, [kind], o)[kind]
            fit = json.loads(done.read_text())
            history, seconds[kind] = fit["history"], fit["seconds"]
        else:
            fit = train_regional(
                ds,
                kind,
                basins,
                config.periods.train,
                o,
                validation=config.periods.validation,
                progress=progress,
                label=kind,
                checkpoint_dir=run_dir / "checkpoints" / kind,
                resume=resume,
            )
            model, history, seconds[kind] = fit.model, fit.history, fit.seconds
            save_regional({kind: model}, folder)
            write_json(done, {"history": history, "seconds": seconds[kind]})  # marks it done
        histories.append(pd.DataFrame(history).assign(model=kind))
        pieces.append(
            regional_results({kind: model}, ds, config.periods.test, o, keep=config.experiment.keep)
        )
    results = _concat(pieces)
    results.attrs["training_seconds"] = round(sum(seconds.values()), 1)
    return Outcome(results, seconds, pd.concat(histories))


def ungauged(
    config: RunConfig,
    ds: xr.Dataset,
    run_dir: Path,
    options: dict,
    *,
    resume: bool,
    progress: bool,
) -> Outcome:
    """The ungauged-basin cross-validation: `experiment.folds` seeded folds of basins, each
    predicted over `periods.test` by models trained on the other folds over `periods.train`
    (with a validation period, each keeps its epoch with the best median NSE of its training
    basins there). Each finished (model, fold) is kept in `folds/<kind>_fold<i>.nc`."""
    results, seconds = cross_validate(
        ds,
        list(config.models),
        train_period=config.periods.train,
        test_period=config.periods.test,
        folds=config.experiment.folds,
        seed=config.experiment.seed,
        options=options,
        keep=config.experiment.keep,
        progress=progress,
        validation=config.periods.validation,
        run_dir=run_dir,
        resume=resume,
    )
    results.attrs["training_seconds"] = round(sum(seconds.values()), 1)
    return Outcome(results, dict(seconds), None)


def evaluate_models(
    config: RunConfig, ds: xr.Dataset, run_dir: Path, dates, options: dict | None
) -> xr.Dataset:
    """The results of a trained run's saved models (`models/`) on `dates` (start, end)."""
    folder = run_dir / "models"
    if not config.is_regional:
        n = ds.sizes["basin"]
        models = load_models(folder, config.models, n, config.model_options())
        return run_models(models, ds, dates, spinup_days=config.training.spinup_days)
    pieces = []
    for kind in config.models:
        model = load_regional(folder, [kind], options[kind])[kind]
        keep = config.experiment.keep
        pieces.append(regional_results({kind: model}, ds, dates, options[kind], keep=keep))
    return _concat(pieces)
