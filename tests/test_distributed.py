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
    if pid == 0:  # process 0 alone runs the trained model (its own copy of the parameters)
        from dgeo.train import simulate_regional

        _, outputs, _ = simulate_regional(fit.model, ds.isel(basin=[0, 3]), *VALIDATION,
                                          attributes=ATTRIBUTES)
        result["simulated"] = np.asarray(outputs["q"]).tolist()
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


@pytest.fixture
def own(store, tmp_path):
    """A copy of `store` for one test. Reopening a file that earlier tests had opened lazily
    (its datasets still in xarray's file cache) crashed inside HDF5 in some orders of these
    tests (reading the fill value of the string variable `basin`; netCDF4 1.7's wheel, HDF5
    1.14), with dgeo's code before this change too; see docs/guide/training.md."""
    path = tmp_path / "own.nc"
    path.write_bytes(store.read_bytes())
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


def _train(ds, batch: int, stream: bool):
    """The regional P-RNN on every basin of `ds`, validated."""
    return train_regional(
        ds,
        "regional_physical",
        ds["basin"].values,
        PERIOD,
        _options(batch, stream),
        validation=VALIDATION,
        progress=False,
    )


@pytest.mark.parametrize("batch", [8, 7])
def test_streamed_training_equals_in_memory(own, batch):
    """Windows read a batch at a time from a lazily opened file train exactly as the windows
    held in memory: the same samples in the same order, the same statistics. A batch of 8
    splits the 24 windows (3 starts x 8 basins); one of 7 wraps around, so a batch holds
    windows of several starts and may hold one window twice."""
    store = own
    lazy = NetCDF(store, lazy=True).load()
    eager = NetCDF(store).load()
    runs = {}
    for label, ds, stream in (("memory", eager, False), ("stream", lazy, True)):
        fit = _train(ds, batch, stream)
        runs[label] = (
            [h["loss"] for h in fit.history],
            [h["validation_nse"] for h in fit.history],
            _leaves(fit.model),
        )
    assert len(runs["memory"][0]) == 3
    np.testing.assert_allclose(runs["stream"][0], runs["memory"][0], rtol=1e-6)
    np.testing.assert_allclose(runs["stream"][1], runs["memory"][1], rtol=1e-6)
    np.testing.assert_allclose(runs["stream"][2], runs["memory"][2], rtol=1e-5, atol=1e-6)


def test_yaml_streams_from_a_lazy_file(own):
    """`data: {source: netcdf, lazy: true}` and `regional: {stream: true}` from a
    configuration: the data a run loads stay on disk; the flag is true or false."""
    store = own
    from dgeo.runs import load_data

    data = {"source": "netcdf", "path": str(store), "lazy": True}
    keys = {"data": data, "models": ["regional_hybrid"]}
    config = parse_config({**keys, "regional": {"stream": True}})
    assert config.regional.stream is True
    ds = load_data(config)
    assert not ds["prcp"].variable._in_memory  # read when a batch asks for it
    assert NetCDF(store).load()["prcp"].variable._in_memory
    assert parse_config(keys).regional.stream is False
    with pytest.raises(ConfigError, match=r"regional.stream must be true or false, got 1"):
        parse_config({**keys, "regional": {"stream": 1}})


def test_open_dataset_reads_only_the_basins_asked_for(own, tmp_path):
    store = own
    import netCDF4

    from dgeo.data import DataError, open_dataset

    everything = open_dataset(store)
    ids = [str(b) for b in everything["basin"].values]
    picked = open_dataset(store, basins=[ids[5], ids[2]])
    assert list(picked["basin"].values) == [ids[5], ids[2]]  # in the order asked for
    np.testing.assert_array_equal(picked["qobs"], everything["qobs"].sel(basin=[ids[5], ids[2]]))
    assert picked["prcp"].variable._in_memory
    with pytest.raises(DataError, match="basin.s. nope not found"):
        open_dataset(store, basins=["nope"])
    # a lazily opened file has no chunk cache; the process's setting is restored, also
    # when the file cannot be opened
    before = netCDF4.get_chunk_cache()
    bad = tmp_path / "bad.nc"
    bad.write_text("not netCDF")
    with pytest.raises(DataError, match="cannot open as netCDF"):
        open_dataset(bad, lazy=True)
    assert netCDF4.get_chunk_cache() == before
    with pytest.raises(DataError, match="lazy=True. reads attributes from the file"):
        NetCDF(store, attributes=tmp_path, lazy=True)


def test_initialize_names_what_is_missing_or_malformed(monkeypatch):
    """Checked before JAX's distributed runtime is touched, so safe in this process."""
    import dgeo

    for name in ("DGEO_COORDINATOR", "DGEO_NUM_PROCESSES", "DGEO_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DGEO_COORDINATOR", "127.0.0.1:1234")
    with pytest.raises(ValueError, match="missing: DGEO_NUM_PROCESSES, DGEO_PROCESS_ID"):
        dgeo.distributed.initialize()
    monkeypatch.setenv("DGEO_NUM_PROCESSES", "two")
    with pytest.raises(ValueError, match="DGEO_NUM_PROCESSES='two' is not an integer"):
        dgeo.distributed.initialize()
    with pytest.raises(ValueError, match="process id 2 is not in 0 .. 1"):
        dgeo.distributed.initialize("127.0.0.1:1234", 2, 2)
    assert dgeo.distributed.process_count() == 1 and dgeo.distributed.is_main()


def test_every_process_refuses_shares_that_cannot_train():
    """`local_batch` decides from every process's sample counts, so all raise or none."""
    from dgeo.train._feed import local_batch

    assert local_batch(np.array([10, 12]), 8) == 4
    assert local_batch(np.array([12, 12]), None) == 12
    with pytest.raises(ValueError, match="process.es. 1 of 2 have no training samples"):
        local_batch(np.array([10, 0]), 8)
    with pytest.raises(ValueError, match="batch_size 7 does not split over the 2 processes"):
        local_batch(np.array([10, 12]), 7)
    with pytest.raises(ValueError, match="they have 10, 12.*set batch_size"):
        local_batch(np.array([10, 12]), None)


@pytest.mark.slow
def test_two_processes_train_like_one(own, tmp_path):
    store = own
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
    fit = _train(NetCDF(store, lazy=True).load(), 24, True)
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
    # Process 0 ran the trained model alone on two basins over the validation period.
    q = np.asarray(results[0]["simulated"])
    assert q.shape == (2, 731) and np.all(np.isfinite(q)) and np.all(q >= 0)
    assert "simulated" not in results[1]
