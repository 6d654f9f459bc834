"""Run directories through the Python API: records of older versions, refusing or replacing a
run, results written whole or not at all, options that would fail late."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from conftest import unchecked_types
from dgeo.config import ConfigError, parse_config
from dgeo.evaluate import save_results
from dgeo.runs import evaluate_run, holds_run, train_run
from dgeo.train import FitOptions, ModelOptions

QUICK = {
    "data": "synthetic",
    "basins": ["syn000", "syn001"],
    "models": ["common"],
    "periods": {
        "train": ["1980-10-01", "1983-09-30"],
        "validation": ["1983-10-01", "1984-09-30"],
        "test": ["1984-10-01", "1985-09-30"],
    },
    "model": {"window_days": 730},
    "training": {"epochs": 2},
}


@pytest.fixture(scope="module")
def _trained(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    train_run(parse_config(QUICK), run_dir, progress=False)
    return run_dir


@pytest.fixture
def finished(_trained, tmp_path):
    """A finished run of QUICK, a fresh copy for each test (trained once per module)."""
    return Path(shutil.copytree(_trained, tmp_path / "run"))


def test_a_run_of_an_older_dgeo_resumes_and_evaluates(finished):
    """Before run.json recorded the version and data, it held basins, periods and the
    training time only; resuming such a run completes its record instead of failing."""
    record = json.loads((finished / "run.json").read_text())
    old = {k: record[k] for k in ("basins", "periods", "training_seconds")}
    (finished / "run.json").write_text(json.dumps(old))
    train_run(parse_config(QUICK), finished, resume=True, progress=False)
    record = json.loads((finished / "run.json").read_text())
    assert record["finished"] is True and record["dgeo_version"] and record["data"] == "synthetic"
    assert evaluate_run(finished, "validation").sizes["basin"] == 2


def test_a_run_is_refused_without_resume_and_replaced_whole_with_overwrite(finished):
    before = (finished / "run.json").read_text()
    changed = {**QUICK, "training": {"epochs": 3}}
    with pytest.raises(ConfigError, match="already holds a run"):
        train_run(parse_config(changed), finished, progress=False)
    assert (finished / "run.json").read_text() == before  # nothing touched
    train_run(parse_config(changed), finished, overwrite=True, progress=False)
    state = json.loads((finished / "checkpoints" / "common" / "state.json").read_text())
    assert state["options"]["epochs"] == 3 and len(state["history"]) <= 3
    assert json.loads((finished / "run.json").read_text())["finished"] is True


def test_an_overwrite_that_fails_leaves_no_mix_of_two_runs(finished, monkeypatch):
    import dgeo.runs._experiments

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(dgeo.runs._experiments, "train_models", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_run(parse_config(QUICK), finished, overwrite=True, progress=False)
    assert not holds_run(finished)  # the old record and checkpoints went, no new ones came
    assert not (finished / "models").exists()


def test_results_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """netCDF reports a full disk as RuntimeError('NetCDF: HDF error') after a partial file:
    the error becomes an OSError naming the file, and the file already there is kept."""
    ds = xr.Dataset({"q": ("time", np.arange(5.0))})
    path = save_results(ds, tmp_path / "results.nc")
    kept = path.read_bytes()
    real = xr.Dataset.to_netcdf

    def full_disk(self, target, *args, **kwargs):
        real(self, target, *args, **kwargs)
        with open(target, "r+b") as f:
            f.truncate(100)
        raise RuntimeError("NetCDF: HDF error")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", full_disk)
    with pytest.raises(OSError, match="results.nc.*HDF error|HDF error.*results.nc"):
        save_results(ds.assign(q=ds.q * 2), path)
    assert path.read_bytes() == kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.nc"]


def test_options_that_would_fail_late_fail_at_construction():
    with pytest.raises(ValueError, match="physical_search must be 0 or at least physical_starts"):
        ModelOptions(physical_starts=5, physical_search=2)
    with pytest.raises(ConfigError, match="physical_search"):
        parse_config({**QUICK, "model": {"physical_starts": 5, "physical_search": 2}})
    with unchecked_types():  # NumPy scalars where int and float are annotated: dgeo converts
        options = FitOptions(epochs=np.int64(3), learning_rate=np.float32(0.02))
    assert type(options.epochs) is int and type(options.learning_rate) is float
    json.dumps(options.__dict__)  # a checkpoint's record is JSON
