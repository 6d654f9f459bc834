"""Several processes training one regional model (`dgeo.distributed`), and streamed training.

The two-process test starts two Python processes on 127.0.0.1 (`jax.distributed` with a
coordinator on a free port, two one-thread CPU devices each, Gloo between them). Each reads
only its share of the basins from a netCDF file opened lazily. It checks that:

- full-batch training over the two processes gives the losses, validation scores and trained
  parameters of one process training on every basin, within float32 reduction-order noise
  (the batch is the same set of windows; the sums run per device, then across devices and
  processes): losses at 1e-4 relative, parameters at 1e-3 of their scale, as in test_mesh.py;
- with mini-batches (4 windows from each process per step) both processes end with the same
  parameters (they are replicated, and every step's gradient is reduced over all 4 devices).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from dgeo.config import ConfigError, parse_config
from dgeo.data import NetCDF, synthetic
from dgeo.train import RegionalOptions, train_regional

ATTRIBUTES = ("p_mean", "pet_mean", "aridity", "frac_snow")
PERIOD = ("1985-10-01", "1988-09-30")
VALIDATION = ("1986-10-01", "1988-09-30")

SCRIPT = (
    textwrap.dedent(
        """
    import json, sys
    import dgeo
    port, pid, path, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    dgeo.distributed.initialize(f"127.0.0.1:{port}", 2, pid, cpu_devices=2)
    import equinox as eqx, jax, numpy as np
    jax.config.update("jax_enable_x64", True)  # as conftest.py does for the reference run
    from dgeo.data import NetCDF
    from dgeo.train import RegionalOptions, train_regional

    ds = NetCDF(path, lazy=True).load()
    result = {"processes": jax.process_count(), "devices": len(jax.devices())}
    for label, batch in (("full", 24), ("mini", 8)):
        options = RegionalOptions(attributes=ATTRIBUTES, epochs=3, batch_size=batch,
                                  window_days=730, stride_days=365, search=0, hidden=8)
        fit = train_regional(ds, "regional_physical", ds["basin"].values, PERIOD, options,
                             validation=VALIDATION, progress=False)
        flat = jax.tree_util.tree_leaves(eqx.filter(fit.model, eqx.is_inexact_array))
        result[label] = {
            "loss": [h["loss"] for h in fit.history],
            "validation": [h["validation_nse"] for h in fit.history],
            "params": np.concatenate([np.ravel(np.asarray(x, np.float64)) for x in flat]).tolist(),
        }
    with open(out, "w") as f:
        json.dump(result, f)
    """
    )
    .replace("ATTRIBUTES", repr(ATTRIBUTES))
    .replace("VALIDATION", repr(VALIDATION))
)
SCRIPT = SCRIPT.replace("PERIOD", repr(PERIOD))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Eight synthetic basins in a netCDF file (attributes and day length inside)."""
    path = tmp_path_factory.mktemp("store") / "basins.nc"
    synthetic(n_basins=8, start="1984-10-01", end="1988-09-30", seed=2).to_netcdf(path)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _leaves(model) -> np.ndarray:
    import equinox as eqx
    import jax

    flat = jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array))
    return np.concatenate([np.ravel(np.asarray(x, np.float64)) for x in flat])


def _options(batch: int, stream: bool) -> RegionalOptions:
    return RegionalOptions(
        attributes=ATTRIBUTES,
        epochs=3,
        batch_size=batch,
        window_days=730,
        stride_days=365,
        search=0,
        hidden=8,
        stream=stream,
    )


def test_streamed_training_equals_in_memory(store):
    """Windows read a batch at a time from a lazily opened file train exactly as the windows
    held in memory: the same samples in the same order, the same statistics."""
    lazy = NetCDF(store, lazy=True).load()
    eager = NetCDF(store).load()
    runs = {}
    for label, ds, stream in (("memory", eager, False), ("stream", lazy, True)):
        fit = train_regional(
            ds,
            "regional_physical",
            ds["basin"].values,
            PERIOD,
            _options(8, stream),
            validation=VALIDATION,
            progress=False,
        )
        runs[label] = ([h["loss"] for h in fit.history], _leaves(fit.model))
    np.testing.assert_allclose(runs["stream"][0], runs["memory"][0], rtol=1e-6)
    np.testing.assert_allclose(runs["stream"][1], runs["memory"][1], rtol=1e-5, atol=1e-6)


def test_yaml_streams_from_a_lazy_file(store):
    """`data: {source: netcdf, lazy: true}` and `regional: {stream: true}` from a
    configuration; the flag is true or false, not a number."""
    data = {"source": "netcdf", "path": str(store), "lazy": True}
    keys = {"data": data, "models": ["regional_hybrid"]}
    config = parse_config({**keys, "regional": {"stream": True}})
    assert config.regional.stream is True
    assert config.data["lazy"] is True
    assert parse_config(keys).regional.stream is False
    with pytest.raises(ConfigError, match=r"regional.stream must be true or false, got 1"):
        parse_config({**keys, "regional": {"stream": 1}})


@pytest.mark.slow
def test_two_processes_train_like_one(store, tmp_path):
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    outs = [tmp_path / f"process{i}.json" for i in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(port), str(i), str(store), str(outs[i])],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for i in range(2)
    ]
    logs = []
    for proc in procs:
        try:
            logs.append(proc.communicate(timeout=600)[0])
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            pytest.fail("the two-process run did not finish in 600 s")
    for proc, log in zip(procs, logs, strict=True):
        assert proc.returncode == 0, log[-4000:]
    results = [json.loads(out.read_text()) for out in outs]
    assert [r["processes"] for r in results] == [2, 2]
    assert [r["devices"] for r in results] == [4, 4]

    # One process, every basin, the same full batch of 24 windows (8 basins x 3 windows).
    ds = NetCDF(store, lazy=True).load()
    fit = train_regional(
        ds,
        "regional_physical",
        ds["basin"].values,
        PERIOD,
        _options(24, True),
        validation=VALIDATION,
        progress=False,
    )
    one_loss = [h["loss"] for h in fit.history]
    one_validation = [h["validation_nse"] for h in fit.history]
    one_params = _leaves(fit.model)
    scale = np.max(np.abs(one_params))
    for r in results:
        np.testing.assert_allclose(r["full"]["loss"], one_loss, rtol=1e-4)
        np.testing.assert_allclose(r["full"]["validation"], one_validation, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(r["full"]["params"], one_params, atol=1e-3 * scale)
    # Mini-batches: the processes' replicated parameters stay identical.
    np.testing.assert_array_equal(results[0]["mini"]["params"], results[1]["mini"]["params"])
    assert results[0]["mini"]["loss"] == results[1]["mini"]["loss"]
    assert np.all(np.isfinite(results[0]["mini"]["loss"]))
