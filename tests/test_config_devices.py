"""A configuration's `devices:` (data parallelism from YAML, as `dgeo --devices`).

The key is read with the rest of the file and applied by the command line before training:
an integer N (the first N devices; on a CPU, N one-thread CPU devices made before JAX's
backend starts), `all` (every device JAX has), absent for one device. `--devices` overrides
it, `--cpu-threads` conflicts with it, and it is no setting a resume compares. The one run
(`dgeo train` with `devices: 2` in a subprocess of its own, whose CPU backend the key makes)
reuses the `--devices` test's script from `tests/test_mesh.py`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import pytest
import yaml

from dgeo.cli import _config_devices, _parser, main
from dgeo.config import KEYS, ConfigError, differences, parse_config, read_config, settings
from dgeo.train._mesh import AXIS
from test_cli import one_line_error
from test_mesh import CLI, trains_on_two_devices

QUICK_SYNTHETIC = Path(__file__).parents[1] / "examples" / "configs" / "quick_synthetic.yml"


def write(path: Path, **keys) -> Path:
    path.write_text(yaml.safe_dump({"data": "synthetic", **keys}))
    return path


@pytest.mark.parametrize(("value", "devices"), [(2, 2), (1, 1), ("all", "all"), (None, None)])
def test_devices_is_a_positive_integer_or_all(tmp_path, value, devices):
    assert read_config(write(tmp_path / "c.yml", devices=value)).devices == devices
    assert parse_config({"data": "synthetic"}).devices is None  # absent: one device


@pytest.mark.parametrize("value", [0, -2, "two", "ALL", 2.5, True, [2]])
def test_bad_devices_name_the_file_and_the_key(tmp_path, capsys, value):
    path = write(tmp_path / "bad.yml", devices=value)
    with pytest.raises(ConfigError, match="devices must be a positive integer") as err:
        read_config(path)
    assert str(err.value).startswith(f"{path}: ")
    assert "'all' (every device JAX has)" in str(err.value)
    # ... and from the command line as its one error line, before anything is trained
    code = main(["train", str(path), "--run-dir", str(tmp_path / "run"), "--quiet"])
    one_line_error((code, capsys.readouterr().err), str(path), "devices", repr(value))
    assert not (tmp_path / "run").exists()


def test_quick_may_set_devices_and_a_resume_ignores_them(tmp_path):
    path = write(tmp_path / "c.yml", devices=2, quick={"devices": 1})
    config, fast = read_config(path), read_config(path, quick=True)
    assert (config.devices, fast.devices) == (2, 1)
    # the same models on another number of devices (up to the order of sums): a run
    # started on 2 may be resumed on 1
    assert not any(k.startswith("devices") for k in settings(config))
    assert differences(config, parse_config({"data": "synthetic"})) == []
    assert "devices:" in KEYS  # `dgeo train --help` lists it


def args(**given) -> argparse.Namespace:
    return argparse.Namespace(**{"config": "c.yml", "devices": None, "cpu_threads": None, **given})


def test_command_line_devices_override_and_cpu_threads_conflict():
    with _config_devices(args(devices=1), 2) as mesh:  # --devices was applied in main
        assert mesh is None
    with _config_devices(args(), None) as mesh:
        assert mesh is None
    with pytest.raises(ConfigError, match=r"c.yml: devices: 2 and --cpu-threads: give one"):
        _config_devices(args(cpu_threads=1), 2)


def test_devices_all_is_every_device():
    with _config_devices(args(), "all") as mesh:
        assert mesh.shape[AXIS] == len(jax.devices())


def test_more_devices_than_jax_has_is_an_error_naming_the_count(monkeypatch):
    # as on a GPU host, where cpu_devices changes nothing: the devices are what they are
    monkeypatch.setattr("dgeo._threads.cpu_devices", lambda n: None)
    n = len(jax.devices())
    with pytest.raises(ConfigError, match=rf"c.yml: devices: {n + 1}: .*JAX has {n}"):
        _config_devices(args(), n + 1)


def test_command_line_devices_may_be_all():
    assert _parser().parse_args(["--devices", "all", "data", "info", "x"]).devices == "all"
    assert _parser().parse_args(["--devices", "3", "data", "info", "x"]).devices == 3
    with pytest.raises(SystemExit):
        _parser().parse_args(["--devices", "two", "data", "info", "x"])


@pytest.mark.slow
def test_yaml_devices_trains_split_over_two_cpu_devices(tmp_path):
    script = CLI.replace('main(["--devices", "2", "train"', 'main(["train"')
    assert script != CLI, "tests/test_mesh.py's CLI script changed: update this test"
    config = tmp_path / "quick_synthetic.yml"
    config.write_text(QUICK_SYNTHETIC.read_text() + "devices: 2\n")
    trains_on_two_devices(script, config, tmp_path / "run")
