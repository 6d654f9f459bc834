"""`train_run`: a configuration's experiment trained into a run directory, checked before
anything is written, resumable, and cleaned up after a failed start."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import xarray as xr
import yaml

from ..config import ConfigError, RunConfig
from . import _experiments
from ._checks import check_run
from ._data import data_fingerprint, load_data, regional_options
from ._outputs import write_results
from ._record import (
    WORK,
    absolute,
    check_resume,
    dgeo_version,
    has_checkpoint,
    holds_run,
    read_record,
    remove,
    warn_if_data_changed,
    write_json,
    write_text,
)


def _experiment(config: RunConfig):
    """The function that trains `config`'s experiment (see `_experiments`)."""
    if not config.is_regional:
        return _experiments.per_basin
    return _experiments.ungauged if config.experiment.type == "pub" else _experiments.temporal


def train_run(
    config: RunConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> xr.Dataset:
    """Train the experiment of `config`, evaluate it, write the run directory.

    The experiment is the per-basin one for per-basin models; for regional models the
    temporal test or, with `experiment.type: pub`, the ungauged-basin cross-validation. The
    run directory gets `config.yml`, `run.json`, `checkpoints/`, `results.nc` (with a `fold`
    coordinate for the cross-validation), `metrics.csv`, `summary.json`, `figures/`, and
    `models/` and `history.csv` (not for the cross-validation, whose fold results are kept in
    `folds/`); with `snow:` also `snow.json`.

    Everything is checked before the folder is created or anything in it changes: with
    `resume`, that `config` has the settings the run was started with (`ConfigError` listing
    those that differ); then the data, periods, basins, variables and attributes
    (`check_run`). If training fails or is interrupted before its first checkpoint, what this
    call wrote is removed again (the folder too, if it created it); after that the
    checkpoints stay for `resume`, which continues the unfinished model (or fold) from its
    last epoch and reads back those that had finished.

    A folder that already holds a run (`holds_run`) is continued with `resume`, replaced with
    `overwrite` (its record, checkpoints, models and folds are removed first, once the checks
    have passed, so it never holds a mix of two runs), and otherwise refused with a
    `ConfigError`.

    Returns the test-period results Dataset.
    """
    run_dir = Path(run_dir)
    config = absolute(config)
    previous = None
    if resume:
        check_resume(config, run_dir)
        previous = read_record(run_dir)
    ds = load_data(config)
    options = None
    if config.is_regional:
        options = regional_options(config, (previous or {}).get("attributes"))
    check_run(config, ds, options)
    basins = list(map(str, ds["basin"].values))
    fingerprint = data_fingerprint(config.data, basins)
    if previous is not None and previous.get("basins", basins) != basins:
        raise ConfigError(
            f"cannot resume {run_dir}: it was trained on basins {', '.join(previous['basins'])}, "
            f"but the data now give {', '.join(basins)}"
        )
    if previous is not None:
        warn_if_data_changed(previous, fingerprint, config.data, run_dir)
    # A record of an older dgeo (basins, periods, training_seconds only) is completed, not
    # trusted to hold every key.
    record = {
        "dgeo_version": dgeo_version(),
        "data": config.data,
        "data_fingerprint": fingerprint,
        "basins": basins,
        "periods": dataclasses.asdict(config.periods),
        "experiment": config.experiment.type,
        "quick": config.quick,
        **({"attributes": list(next(iter(options.values())).attributes)} if options else {}),
        **(previous or {}),
    }
    record["finished"] = False
    if not resume and holds_run(run_dir):
        if not overwrite:
            raise ConfigError(
                f"{run_dir} already holds a run: continue it with --resume, or train into "
                "another run directory (or delete it to start over)"
            )
        for name in WORK:  # never a mix of two runs
            remove(run_dir / name)
    created = not run_dir.exists()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # e.g. a parent is a file, or read-only
        raise OSError(
            err.errno, f"cannot create the run directory ({err.strerror})", str(run_dir)
        ) from None
    new = [run_dir / name for name in ("config.yml", *WORK) if not (run_dir / name).exists()]
    try:
        if not resume or run_dir / "config.yml" in new:
            write_text(run_dir / "config.yml", yaml.safe_dump(config.raw, sort_keys=False))
        write_json(run_dir / "run.json", record)
        train = _experiment(config)
        extra = {} if options is None else {"options": options}
        outcome = train(config, ds, run_dir, resume=resume, progress=progress, **extra)
    except BaseException:
        if not has_checkpoint(run_dir):  # a failed start leaves nothing behind
            if created:
                shutil.rmtree(run_dir, ignore_errors=True)
            else:
                for path in new:  # only what this call made; an empty checkpoints/ too
                    remove(path)
        raise
    results = outcome.results
    results.attrs["period"] = "test"
    if outcome.history is not None:
        outcome.history.to_csv(run_dir / "history.csv", index=False)
    write_results(results, run_dir, seconds=outcome.seconds)
    if config.snow is not None:
        from ._snow import snow_inference

        snow_inference(results, ds, config.snow, run_dir)
    if record["dgeo_version"] != dgeo_version():
        record["resumed_with_dgeo_version"] = dgeo_version()
    record.update(finished=True, training_seconds=float(results.attrs["training_seconds"]))
    write_json(run_dir / "run.json", record)
    return results
