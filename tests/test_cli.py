"""The `dgeo` command line as a user meets it, on synthetic data: in a subprocess, or (checks
that end before any training, help texts) through `main` in the test process, at least one
case of each kind still in a subprocess.

A run directory is self-contained; a failed resume, bad periods, an unwritable or full output
folder, a closed pipe and bad input end as one line on stderr (exit 2) with nothing
half-written; Ctrl-C keeps the last epoch and says how to resume (exit 130); help, version and
the example configurations.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import importlib.util
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from dgeo.cli import _parser, main
from dgeo.config import parse_config, read_config, settings

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "configs"

#: A run that trains in seconds: two synthetic basins, short periods, a small model.
QUICK = {
    "models": ["common"],
    "periods": {
        "train": ["1980-10-01", "1983-09-30"],
        "validation": ["1983-10-01", "1984-09-30"],
        "test": ["1984-10-01", "1985-09-30"],
    },
    "model": {"physical_starts": 1, "physical_search": 10, "hidden": 8, "window_days": 730},
    "training": {"epochs": 2},
}


def dgeo(*args, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    """`dgeo ARGS` in a fresh Python process."""
    return subprocess.run(
        [sys.executable, "-m", "dgeo.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def dgeo_here(capfd, *args) -> subprocess.CompletedProcess:
    """`dgeo ARGS` in this process (`main`), answered as `dgeo` answers (stdout and stderr
    read from the file descriptors, where XLA writes too). For the checks of what happens
    before any training and the help texts; `dgeo` (a fresh process) for what a user meets
    end to end, at the cost of importing JAX again (~3 s).

    Python's default warning filters apply, as in a user's process (pytest shows every
    DeprecationWarning, which `main` would pass on as `dgeo: warning:` lines)."""
    capfd.readouterr()
    with warnings.catch_warnings():
        warnings.resetwarnings()
        quiet = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)
        for category in quiet:
            warnings.simplefilter("ignore", category)
        try:
            code = main([*map(str, args)])
        except SystemExit as stop:  # argparse's --help and usage errors
            code = stop.code
    out, err = capfd.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


@pytest.fixture
def no_training(monkeypatch):
    """Training must not start: if the run's checks pass, fail at once (instead of training
    the 100 000 epochs the bad configurations ask for)."""
    import dgeo.runs._train as runs

    real = runs.check_run

    def checked(*args, **kwargs):
        real(*args, **kwargs)
        raise AssertionError("the run's checks passed: training would start")

    monkeypatch.setattr(runs, "check_run", checked)


def one_line_error(result: subprocess.CompletedProcess | tuple, *needles: str) -> str:
    """The single `dgeo: error:` line of a failed command (exit 2), checked to name `needles`."""
    code, err = (result.returncode, result.stderr) if hasattr(result, "stderr") else result
    assert code == 2, err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dgeo: error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def write_config(path: Path, data: str, **changes) -> Path:
    mapping = {"data": data, **QUICK}
    for section, values in changes.items():
        mapping[section] = {**mapping.get(section, {}), **values}
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def netcdf_dir(tmp_path_factory) -> Path:
    """A folder with `data.nc`: two synthetic twin catchments as a (basin, time) netCDF."""
    from dgeo.data import synthetic

    folder = tmp_path_factory.mktemp("A")
    synthetic(n_basins=2).to_netcdf(folder / "data.nc")
    return folder


@pytest.fixture(scope="module")
def trained(netcdf_dir) -> Path:
    """A finished run `run/`, trained from the data folder with a relative data path and a
    relative run directory."""
    write_config(netcdf_dir / "quick.yml", "data.nc")
    result = dgeo("train", "quick.yml", "--run-dir", "run", "--quiet", cwd=netcdf_dir)
    assert result.returncode == 0, result.stderr
    return netcdf_dir / "run"


# 1. A run directory is self-contained.


@pytest.mark.slow
def test_evaluate_uses_the_recorded_data_from_any_directory(trained, tmp_path):
    folder = trained.parent
    record = json.loads((trained / "run.json").read_text())
    assert record["data"] == str(folder / "data.nc")
    assert record["dgeo_version"] == version("dgeo")
    assert record["data_fingerprint"].startswith("sha256:") and record["finished"] is True
    assert yaml.safe_load((trained / "config.yml").read_text())["data"] == str(folder / "data.nc")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run_dir = os.path.relpath(trained, elsewhere)
    result = dgeo("evaluate", run_dir, "--period", "validation", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    assert (trained / "results_validation.nc").is_file()

    # The same file name with other contents: evaluated, with one line of warning.
    original = (folder / "data.nc").read_bytes()
    try:
        from dgeo.data import synthetic

        synthetic(n_basins=2, seed=1).assign_attrs(note="changed").to_netcdf(folder / "data.nc")
        assert (folder / "data.nc").stat().st_size != len(original)
        result = dgeo("evaluate", run_dir, cwd=elsewhere)
    finally:
        (folder / "data.nc").write_bytes(original)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and warnings[0].startswith("dgeo: warning: "), result.stderr
    assert "data.nc differ" in warnings[0]


# 2. A failed resume changes nothing and names what differs.


@pytest.mark.slow
def test_failed_resume_leaves_the_record_and_names_the_changed_keys(trained):
    folder = trained.parent
    record = {p: p.read_bytes() for p in trained.rglob("*") if p.is_file()}
    changed = write_config(
        folder / "changed.yml", "data.nc", training={"learning_rate": 0.02}, model={"hidden": 16}
    )
    result = dgeo("train", changed.name, "--run-dir", "run", "--resume", cwd=folder, timeout=60)
    one_line_error(
        result, "cannot resume run", "training.learning_rate: 0.01 -> 0.02", "model.hidden: 8 -> 16"
    )
    assert "learning_rate" in result.stderr and "epochs" not in result.stderr  # only the changes
    # Without --resume, a run directory that holds a run is not overwritten either.
    result = dgeo("train", changed.name, "--run-dir", "run", cwd=folder, timeout=60)
    one_line_error(result, "already holds a run", "--resume")
    assert {p: p.read_bytes() for p in trained.rglob("*") if p.is_file()} == record


# 3. The configuration is checked against the data before the first epoch.


#: (changes to the quick configuration, what its one-line error must name).
PERIOD_CASES = [
    (
        {"periods": {"test": ["2011-10-01", "2012-09-30"]}},
        ["periods.test 2011-10-01..2012-09-30", "data, which run 1980-10-01..2010-09-30"],
    ),
    (  # the validation period fits, but not its 365 spin-up days before it
        {
            "periods": {
                "train": ["1981-10-01", "1984-09-30"],
                "validation": ["1980-10-01", "1981-09-30"],
            }
        },
        [
            "periods.validation 1980-10-01..1981-09-30 with its 365 spin-up days (from 1979-10-02)",
            "1980-10-01..2010-09-30",
        ],
    ),  # fmt: skip
    ({"basins": ["syn000", "syn042"]}, ["basin(s) syn042 not found"]),
    (  # shorter than one training window
        {"periods": {"train": ["1980-10-01", "1981-09-30"]}},
        ["periods.train 1980-10-01..1981-09-30", "fewer than one window of 730 days"],
    ),
]


@pytest.mark.parametrize(("changes", "needles"), PERIOD_CASES)
@pytest.mark.usefixtures("no_training")
def test_periods_and_basins_are_checked_before_training(tmp_path, capfd, changes, needles):
    """The first case in a fresh process (no epoch trained: it ends within the timeout), the
    others in this one."""
    mapping = {"data": "synthetic", **QUICK, "training": {"epochs": 100_000, "patience": 100_000}}
    for key, value in changes.items():
        mapping[key] = {**mapping[key], **value} if isinstance(value, dict) else value
    config = tmp_path / "bad.yml"
    config.write_text(yaml.safe_dump(mapping))
    args = ("train", config, "--run-dir", tmp_path / "run", "--quiet")
    fresh = needles is PERIOD_CASES[0][1]
    one_line_error(dgeo(*args, timeout=120) if fresh else dgeo_here(capfd, *args), *needles)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("edit", "needles"),
    [
        (
            lambda ds: ds.assign(prcp=ds["prcp"].where(ds["time"] != np.datetime64("1985-03-01"))),
            [
                "periods.test 1984-10-01..1985-09-30",
                "'prcp'",
                "first at basin syn000 on 1985-03-01",
            ],
        ),
        (lambda ds: ds.drop_vars("srad"), ["periods.train", "required variable 'srad' is missing"]),
    ],
)
@pytest.mark.usefixtures("no_training")
def test_data_the_test_period_lacks_is_found_before_training(
    netcdf_dir, tmp_path, capfd, edit, needles
):
    import xarray as xr

    with xr.open_dataset(netcdf_dir / "data.nc") as ds:
        edit(ds.load()).to_netcdf(tmp_path / "gappy.nc")
    config = write_config(
        tmp_path / "gappy.yml", "gappy.nc", training={"epochs": 100_000, "patience": 100_000}
    )
    result = dgeo_here(capfd, "train", config, "--run-dir", tmp_path / "run", "--quiet")
    one_line_error(result, *needles)
    assert not (tmp_path / "run").exists()


# 4. Ctrl-C keeps the last completed epoch and says how to go on.


@pytest.mark.slow
def test_ctrl_c_keeps_the_last_epoch_and_resumes_from_it(netcdf_dir, tmp_path):
    config = write_config(
        tmp_path / "long.yml",
        str(netcdf_dir / "data.nc"),
        training={"epochs": 200, "patience": 200},
    )
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "dgeo.cli", "train", str(config), "--run-dir", str(run_dir),
         "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not list(run_dir.glob("checkpoints/*/state.json")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no checkpoint after 240 s"
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dgeo: interrupted; the last completed"), err
    command = shlex.split(lines[0].split("continue with: ", 1)[1])
    assert command == ["dgeo", "train", str(config), "--run-dir", str(run_dir), "--resume",
                       "--quiet"]  # fmt: skip

    checkpoint = run_dir / "checkpoints" / "common"
    assert sorted(p.name for p in checkpoint.iterdir()) == ["state.eqx", "state.json"]
    saved = json.loads((checkpoint / "state.json").read_text())
    epochs = saved["state"]["epoch"]
    assert 1 <= epochs < 200 and len(saved["history"]) == epochs
    weights = hashlib.sha256((checkpoint / "state.eqx").read_bytes()).hexdigest()
    assert saved["weights_sha256"] == weights  # the two files belong together
    assert json.loads((run_dir / "run.json").read_text())["finished"] is False
    one_line_error(dgeo("evaluate", run_dir, timeout=60), "has not finished training", "--resume")

    resumed = dgeo(*command[1:], timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    history = pd.read_csv(run_dir / "history.csv")
    assert history["epoch"].tolist() == list(range(1, 201))
    # The first epochs are the saved ones (their timings are copied, not measured again).
    np.testing.assert_allclose(
        history["seconds"][:epochs], [h["seconds"] for h in saved["history"]], rtol=1e-9
    )
    assert json.loads((run_dir / "run.json").read_text())["finished"] is True


def _small_fit_problem():
    """A common (Conv1D) model per synthetic basin with its training and validation series."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from dgeo.data import synthetic
    from dgeo.models import build
    from dgeo.nn import Standardiser
    from dgeo.train import windows
    from dgeo.train._windows import basin_series

    ds = synthetic(n_basins=2, end="1986-09-30")
    train = windows(basin_series(ds, "1980-10-01", "1983-09-30"), 730, 365)
    validation = basin_series(ds, "1984-10-01", "1985-09-30", spinup_days=365)
    validation = validation._replace(
        inputs={k: v[:, None] for k, v in validation.inputs.items()}, qobs=validation.qobs[:, None]
    )
    forcing = eqx.filter_vmap(Standardiser)(jnp.zeros((2, 5)), jnp.ones((2, 5)))
    q = eqx.filter_vmap(Standardiser)(jnp.zeros((2, 1)), jnp.ones((2, 1)))
    keys = jax.random.split(jax.random.key(0), 2)
    stack = eqx.filter_vmap(lambda k, f, q: build("common", k, f, q, filters=4))(keys, forcing, q)
    return stack, train, validation


@pytest.mark.slow
def test_resuming_a_run_that_stopped_early_trains_no_further(tmp_path):
    import jax

    from dgeo.train import FitOptions
    from dgeo.train._fit import fit

    stack, train, validation = _small_fit_problem()
    options = FitOptions(epochs=300, patience=2, plateau_patience=1, learning_rate=0.05)
    first = fit(stack, train, validation, options, checkpoint_dir=tmp_path, progress=False)
    assert len(first.history) < options.epochs  # it stopped early
    again = fit(stack, train, validation, options, checkpoint_dir=tmp_path, resume=True,
                progress=False)  # fmt: skip
    assert again.history == first.history
    leaves = jax.tree_util.tree_leaves
    for a, b in zip(leaves(first.model), leaves(again.model), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_checkpoint_cut_between_its_two_renames_is_completed_or_refused(tmp_path):
    import jax.numpy as jnp

    from dgeo.train._fit import CheckpointError, load_checkpoint, save_checkpoint

    like = (jnp.zeros(3), jnp.zeros(2))
    options = {"epochs": 5}
    meta = lambda epoch: {"options": options, "state": {"epoch": epoch}, "history": []}  # noqa: E731
    save_checkpoint(tmp_path, (jnp.ones(3), jnp.ones(2)), meta(1))
    # Epoch 2 was being saved: both .tmp files written, state.eqx renamed, then a crash.
    save_checkpoint(tmp_path / "next", (jnp.full(3, 2.0), jnp.full(2, 2.0)), meta(2))
    (tmp_path / "next" / "state.eqx").replace(tmp_path / "state.eqx")
    (tmp_path / "next" / "state.json").replace(tmp_path / "state.json.tmp")
    tree, saved = load_checkpoint(tmp_path, like, options)
    assert saved["state"]["epoch"] == 2 and float(tree[0][0]) == 2.0
    assert not (tmp_path / "state.json.tmp").exists()
    assert json.loads((tmp_path / "state.json").read_text())["state"]["epoch"] == 2
    with pytest.raises(CheckpointError, match="other options \\(epochs: 5 -> 6\\)"):
        load_checkpoint(tmp_path, like, {"epochs": 6})
    # Weights that belong to no record are refused, never loaded with the wrong state.
    (tmp_path / "state.eqx").write_bytes((tmp_path / "state.eqx").read_bytes()[:-4] + b"\0" * 4)
    with pytest.raises(CheckpointError, match="does not belong to state.json"):
        load_checkpoint(tmp_path, like, options)


@pytest.mark.slow
def test_ctrl_c_inside_jax_gc_callback_is_not_lost():
    """JAX runs a callback at every garbage collection; Python drops an exception raised
    there, so a Ctrl-C landing in it would be lost. dgeo's handler delivers it again."""
    script = textwrap.dedent(
        """
        import os, signal, time
        from dgeo import cli

        signal.signal(signal.SIGINT, cli._on_ctrl_c)

        def _xla_gc_callback():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # the handler runs here
            print("callback finished")

        try:
            _xla_gc_callback()
            time.sleep(10)
        except KeyboardInterrupt:
            print("interrupted")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["callback", "finished", "interrupted"], result.stderr


# 5. Unwritable and full output folders, closed pipes, bad paths: one line, nothing half-written.


@pytest.mark.slow
def test_run_dir_that_cannot_be_created_is_one_line(tmp_path, capfd):
    (tmp_path / "occupied").write_text("a file, not a folder")
    config = write_config(tmp_path / "quick.yml", "synthetic")
    result = dgeo_here(capfd, "train", config, "--run-dir", tmp_path / "occupied" / "run")
    one_line_error(result, str(tmp_path / "occupied" / "run"), "Not a directory")


@pytest.mark.parametrize(("fail_at", "existed"), [(1, False), (1, True), (3, False)])
@pytest.mark.slow
def test_full_disk_leaves_nothing_half_written(
    netcdf_dir, tmp_path, monkeypatch, capsys, fail_at, existed
):
    """The disk fills up while checkpoint `fail_at` is written (a partial file, then ENOSPC):
    a failed start leaves no run folder (or an existing one as it was); a later failure leaves
    the last whole checkpoint."""
    config = write_config(
        tmp_path / "quick.yml", str(netcdf_dir / "data.nc"), training={"epochs": 4}
    )
    run_dir = tmp_path / "run"
    if existed:
        run_dir.mkdir()
    real = Path.write_bytes
    calls = []

    def full_disk(self, data):
        calls.append(self)
        if len(calls) >= fail_at:
            real(self, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    code = main(["train", str(config), "--run-dir", str(run_dir), "--quiet"])
    one_line_error((code, capsys.readouterr().err), "No space left on device", str(run_dir))
    if fail_at == 1:
        assert run_dir.exists() == existed
        assert not existed or not list(run_dir.iterdir())
        return
    checkpoint = run_dir / "checkpoints" / "common"
    assert sorted(p.name for p in checkpoint.iterdir()) == ["state.eqx", "state.json"]
    saved = json.loads((checkpoint / "state.json").read_text())
    assert saved["state"]["epoch"] == fail_at - 1
    weights = hashlib.sha256((checkpoint / "state.eqx").read_bytes()).hexdigest()
    assert saved["weights_sha256"] == weights


def test_closed_pipe_is_one_line(netcdf_dir):
    """`dgeo data info ... | head -1`: the reader is gone before dgeo writes."""
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "dgeo.cli", "data", "info", str(netcdf_dir / "data.nc")],
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        process.stdout.close()
        code = process.wait(timeout=120)
        stderr.seek(0)
        err = stderr.read().decode()
    one_line_error((code, err), "broken pipe")


@pytest.mark.slow
def test_bad_input_is_one_line_never_a_traceback(tmp_path, capfd):
    """The first case in a fresh process, as a user meets it; the others in this one."""
    (tmp_path / "list.yml").write_text("- data\n- synthetic\n")
    (tmp_path / "binary.yml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    (tmp_path / "broken.yml").write_text("data: synthetic\nmodels: [physical\n")
    (tmp_path / "not_a_run").mkdir()
    cases = [
        (["train", tmp_path], "is a folder, not a configuration file"),
        (["train", tmp_path / "missing.yml"], "missing.yml does not exist"),
        (["train", tmp_path / "list.yml"], "the configuration must be a mapping"),
        (["train", tmp_path / "binary.yml"], "is not a text file"),
        (["train", tmp_path / "broken.yml"], "is not valid YAML"),
        (["evaluate", tmp_path / "not_a_run"], "is not a dgeo run directory"),
        (["data", "info", tmp_path / "missing.nc"], "no such file or folder"),
    ]
    (args, needle), *others = cases
    one_line_error(dgeo(*args, timeout=120), needle)
    for args, needle in others:
        one_line_error(dgeo_here(capfd, *args), needle)


# 6. Version and help.


def test_version():
    result = dgeo("--version", timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == f"dgeo {version('dgeo')}"


def _parsers(parser, path=("dgeo",)):
    """(command words, parser) of `parser` and of every subcommand under it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_every_command_and_option_has_help():
    missing = []
    for path, parser in _parsers(_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    if not choice.help:
                        missing.append(f"{' '.join(path)} {choice.dest}")
            elif not action.help:
                missing.append(f"{' '.join(path)} {'/'.join(action.option_strings) or action.dest}")
    assert not missing
    commands = {" ".join(path) for path, _ in _parsers(_parser())}
    assert {"dgeo train", "dgeo evaluate", "dgeo demo", "dgeo data download"} <= commands


def _help(capfd, *words) -> str:
    """The text of `dgeo WORDS --help` (in this process; `test_version` runs a fresh one)."""
    result = dgeo_here(capfd, *words, "--help")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_download_help_says_what_from_where_how_big_and_that_it_resumes(capfd):
    from dgeo.data import CAMELS_US_ARCHIVES

    text = _help(capfd, "data", "download")
    for archive in CAMELS_US_ARCHIVES:
        assert archive.filename in text and archive.url in text
    assert re.search(r"about \d+(\.\d+)? GB", text)
    assert "resumes" in text and "basin_mean_forcing" in text


def test_train_help_points_to_the_example_configs(capfd):
    text = _help(capfd, "train")
    assert "examples/configs/" in text
    named = set(re.findall(r"\b(\w+\.yml)\b", text)) - {"config.yml"}
    assert named and all((EXAMPLES / name).is_file() for name in named), named


# 7. Example configurations.


def _load_script(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_configs_are_valid_and_match_what_they_mirror():
    files = sorted(EXAMPLES.glob("*.yml"))
    assert {"quick_synthetic.yml", "jiang_local.yml", "demo_camels.yml"} <= {f.name for f in files}
    configs = {f.stem: read_config(f) for f in files}  # basin ids quoted, every key valid
    camels = str((REPO.parent / "shared" / "data" / "camels_us").resolve())
    jiang = _load_script(REPO / "benchmarks" / "jiang_local.py").CONFIG
    assert settings(configs["jiang_local"]) == settings(parse_config({**jiang, "data": camels}))
    from dgeo.runs import DEMO_CONFIG

    demo = {"data": camels, "basins": ["01022500", "01030500", "01031500", "01047000"]}
    assert settings(configs["demo_camels"]) == settings(parse_config({**demo, **DEMO_CONFIG}))


def test_camels_example_configs_fit_the_data(camels_root):
    from dgeo.runs import check_run, load_data

    for name in ("demo_camels", "jiang_local"):
        config = read_config(EXAMPLES / f"{name}.yml")
        check_run(config, load_data(config))


@pytest.mark.slow
def test_quick_example_trains_through_the_cli(tmp_path):
    result = dgeo(
        "train", EXAMPLES / "quick_synthetic.yml", "--run-dir", tmp_path / "run", "--quiet"
    )
    assert result.returncode == 0, result.stderr
    assert "physical" in result.stdout and "hybrid" in result.stdout
    assert (tmp_path / "run" / "results.nc").is_file()
