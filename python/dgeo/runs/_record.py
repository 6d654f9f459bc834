"""A run directory's record: `run.json`, `config.yml`, what counts as a run's work, and the
checks that a resumed run is the run it continues."""

from __future__ import annotations

import dataclasses
import json
import shutil
import warnings
from pathlib import Path

import yaml

from .._files import write_whole
from ..config import ConfigError, RunConfig, differences, parse_config
from ..data import DataError


def dgeo_version() -> str:
    """The installed dgeo's version (package metadata), 'unknown' when it is not installed."""
    from .._version import __version__

    return __version__


def write_text(path: Path, text: str) -> None:
    """Write `path` whole or not at all."""
    write_whole(path, lambda tmp: tmp.write_text(text))


def write_json(path: Path, value) -> None:
    """`value` as JSON in `path`, whole or not at all."""
    write_text(path, json.dumps(value, indent=1))


def absolute(config: RunConfig) -> RunConfig:
    """`config` with its relative paths (data, SWE) made absolute against the working
    directory, in its fields and in `raw` (what `config.yml` records)."""
    again = parse_config(config.raw, base=Path.cwd())
    return dataclasses.replace(again, quick=config.quick)


def read_record(run_dir: Path) -> dict | None:
    """The run's `run.json`, None when there is none."""
    path = run_dir / "run.json"
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (UnicodeDecodeError, ValueError) as err:
        raise DataError(f"{path} is not a dgeo run record: {err}") from None
    if not isinstance(record, dict):
        raise DataError(f"{path} is not a dgeo run record")
    return record


def read_run_config(run_dir: Path) -> RunConfig:
    """The configuration recorded in `run_dir/config.yml`."""
    path = run_dir / "config.yml"
    try:
        mapping = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    try:
        return parse_config(mapping)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def check_resume(config: RunConfig, run_dir: Path) -> None:
    """A resumed run must have the settings it was started with; `ConfigError` lists those
    that differ. Nothing in `run_dir` is changed."""
    if not (run_dir / "config.yml").is_file():
        return  # nothing was started there: resuming starts it
    recorded = absolute(read_run_config(run_dir))
    changed = differences(recorded, config)
    if changed:
        quick = (read_record(run_dir) or {}).get("quick", False)
        hint = ""
        if quick != config.quick:
            hint = f" (it was started {'with' if quick else 'without'} --quick)"
        raise ConfigError(
            f"cannot resume {run_dir}: these settings differ from those it was trained with "
            f"(old -> new){hint}: {'; '.join(changed)}. Restore them, or train into another "
            "--run-dir"
        )


def warn_if_data_changed(record: dict, fingerprint: str, data, run_dir: Path) -> None:
    """A warning if the data files' `fingerprint` differs from the one `record` saw."""
    recorded = record.get("data_fingerprint")
    if recorded is not None and recorded != fingerprint:
        where = data if isinstance(data, str) else json.dumps(data)
        warnings.warn(
            f"the data files at {where} differ (names or sizes) from those {run_dir} was "
            "trained on",
            stacklevel=3,
        )


#: What training writes into a run directory (besides config.yml and the results): removed
#: whole before a run replaces another, so a folder never holds a mix of two runs.
WORK = ("run.json", "checkpoints", "models", "folds")


def has_checkpoint(run_dir: Path) -> bool:
    """Does `run_dir` hold a training checkpoint (`checkpoints/<model>/state.json`, or
    `checkpoints/<model>/fold<i>/state.json` for a cross-validation)?"""
    return any(Path(run_dir).glob("checkpoints/**/state.json"))


def holds_run(run_dir: Path) -> bool:
    """Does `run_dir` hold a run's work (a record or a checkpoint) that training would replace?"""
    return (Path(run_dir) / "run.json").is_file() or has_checkpoint(run_dir)


def remove(path: Path) -> None:
    """Remove a file or a folder, if it is there."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
