"""Data-parallel training over several devices (`dgeo.train.data_parallel`, `dgeo.cpu_devices`).

The multi-device runs need a CPU backend with several devices, which must be made before JAX's
first computation, so they run in a subprocess of their own: 4 single-threaded CPU devices
(`dgeo.cpu_devices(4)`), each case trained once on one device and once with its samples split
over the 4, in the same process and from the same start.

Tolerance: the split runs sum the loss and the gradients in another order (per device, then
across devices), so float32 results differ by rounding, ~1e-7 relative per step; Adam divides
by the root of the squared gradients, which can amplify that for parameters whose gradient is
near zero, and a few epochs compound it. Losses are compared at 1e-4 relative, the trained
parameters at 1e-3 relative to their scale (a real mistake, a sample dropped or counted twice,
a gradient not reduced, moves the loss by percent).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from dgeo.train import data_mesh, data_parallel
from dgeo.train._mesh import active_mesh, check_mesh

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import dgeo
    dgeo.cpu_devices(4)
    import equinox as eqx, jax, numpy as np
    from dgeo.data import synthetic
    from dgeo.train import (FitOptions, ModelOptions, Periods, RegionalOptions, data_parallel,
                            train_models, train_regional)

    out = {"devices": len(jax.devices())}
    ds = synthetic(n_basins=6, start="1984-10-01", end="1988-09-30", seed=2)

    def leaves(model):
        flat = jax.tree_util.tree_leaves(eqx.filter(model, eqx.is_inexact_array))
        return np.concatenate([np.ravel(np.asarray(x, np.float64)) for x in flat]).tolist()

    # Regional: one network, mini-batches of 8 windows split 2 per device.
    options = RegionalOptions(attributes=("p_mean", "pet_mean", "aridity", "frac_snow"),
                              epochs=2, batch_size=8, window_days=730, stride_days=365,
                              search=16, hidden=8)
    period = ("1985-10-01", "1988-09-30")
    for label, parallel in (("one", False), ("split", True)):
        if parallel:
            with data_parallel():
                fit = train_regional(ds, "regional_physical", ds["basin"].values, period,
                                     options, progress=False)
        else:
            fit = train_regional(ds, "regional_physical", ds["basin"].values, period, options,
                                 progress=False)
        out[f"regional_{label}_loss"] = [h["loss"] for h in fit.history]
        out[f"regional_{label}_params"] = leaves(fit.model)

    # Per basin: a stack of 6 models (6 does not divide over 4 devices: XLA pads).
    periods = Periods(train=("1984-10-01", "1987-09-30"), validation=("1986-10-01", "1988-09-30"),
                      test=("1986-10-01", "1988-09-30"))
    small = ModelOptions(physical_starts=2, physical_search=0, window_days=730, stride_days=365)
    for label, parallel in (("one", False), ("split", True)):
        def run():
            return train_models(ds, ("physical",), periods, small,
                                FitOptions(epochs=3, learning_rate=0.05, spinup_days=365),
                                progress=False)
        if parallel:
            with data_parallel():
                models, fits = run()
        else:
            models, fits = run()
        out[f"basin_{label}_loss"] = [h["loss"] for h in fits["physical"].history]
        out[f"basin_{label}_params"] = leaves(models["physical"])
    try:
        with data_parallel():
            train_regional(ds, "regional_physical", ds["basin"].values, period,
                           RegionalOptions(**{**options.__dict__, "batch_size": 6}),
                           progress=False)
    except ValueError as err:
        out["refused"] = str(err)
    json.dump(out, sys.stdout)
    """
)


@pytest.fixture(scope="module")
def runs():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("case", ["regional", "basin"])
def test_split_over_four_devices_equals_one_device(runs, case):
    assert runs["devices"] == 4
    one, split = np.asarray(runs[f"{case}_one_loss"]), np.asarray(runs[f"{case}_split_loss"])
    assert len(one) == len(split) >= 2
    np.testing.assert_allclose(split, one, rtol=1e-4)
    assert one[-1] != one[0]  # it trained
    a, b = np.asarray(runs[f"{case}_one_params"]), np.asarray(runs[f"{case}_split_params"])
    assert a.shape == b.shape
    np.testing.assert_allclose(b, a, rtol=1e-3, atol=1e-3 * np.abs(a).max())


def test_one_device_mesh_is_no_mesh_and_bad_meshes_are_named():
    assert active_mesh(data_mesh(jax.devices()[:1])) is None
    with data_parallel(data_mesh()) as mesh:
        assert active_mesh(None) is (mesh if len(jax.devices()) > 1 else None)
    with pytest.raises(TypeError, match="jax.sharding.Mesh"):
        check_mesh("gpu")  # what an unchecked caller of train_loop(mesh=...) would see
    other = jax.sharding.Mesh(np.array(jax.devices()), ("batch",))
    with pytest.raises(ValueError, match="axis named 'data'"):
        active_mesh(other)


@pytest.mark.slow
def test_batch_that_does_not_split_over_the_devices_is_refused(runs):
    assert "batch_size 6 does not split over the 4 devices of the mesh" in runs["refused"]


def test_cpu_devices_refuses_after_the_backend_exists():
    import dgeo

    jax.numpy.zeros(1).block_until_ready()
    with pytest.raises(RuntimeError, match="before JAX's first computation"):
        dgeo.cpu_devices(2)
    with pytest.raises(ValueError, match="positive number of devices"):
        dgeo.cpu_devices(0)


CLI = textwrap.dedent(
    """
    import json, sys
    import dgeo.train._mesh as m
    from dgeo.cli import main

    seen, active = [], m.active_mesh

    def spy(mesh):  # what train_loop is given
        found = active(mesh)
        seen.append(None if found is None else found.shape[m.AXIS])
        return found

    m.active_mesh = spy
    rc = main(["--devices", "2", "train", sys.argv[1], "--quick", "--quiet",
               "--run-dir", sys.argv[2]])
    import jax
    print(json.dumps({"rc": rc, "devices": len(jax.devices()), "seen": seen}))
    """
)


@pytest.mark.slow
def test_cli_devices_trains_split_over_two_cpu_devices(tmp_path):
    from pathlib import Path

    config = Path(__file__).parents[1] / "examples" / "configs" / "quick_synthetic.yml"
    trains_on_two_devices(CLI, config, tmp_path / "run")


def trains_on_two_devices(script: str, config, run) -> None:
    """Run the `CLI` script (or a variant) on `config` into `run` in a subprocess, and check
    that every training loop split its samples over 2 devices and the run finished."""
    done = subprocess.run(
        [sys.executable, "-c", script, str(config), str(run)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["rc"] == 0 and out["devices"] == 2
    assert out["seen"] and set(out["seen"]) == {2}  # every training loop split over 2
    assert (run / "results.nc").exists()


def test_cli_devices_and_cpu_threads_together_are_refused(capsys):
    from dgeo.cli import main

    assert main(["--devices", "2", "--cpu-threads", "1", "data", "info", "x"]) != 0
    assert "give --devices or --cpu-threads, not both" in capsys.readouterr().err
