"""dgeo.xla_cpu_threads: XLA's CPU thread pool is fixed when the backend is created, so each
case runs in a fresh Python process."""

import json
import os
import subprocess
import sys

import jax.numpy as jnp
import pytest

import dgeo

SCRIPT = """
import json, os, sys
import dgeo
threads = int(sys.argv[1])
allowed = sorted(os.sched_getaffinity(0))
if threads:
    dgeo.xla_cpu_threads(threads)
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
days, basins = 400, 5
t = jnp.arange(days, dtype=float)[:, None] + jnp.arange(basins)
forcing = {"prcp": 6 + 5 * jnp.sin(0.3 * t), "tmean": 10 * jnp.cos(t / 58),
           "dayl": 0.5 + 0.1 * jnp.sin(t / 58)}
params = {"f": jnp.full(basins, 0.02), "smax": jnp.full(basins, 400.0),
          "qmax": jnp.full(basins, 20.0), "df": jnp.full(basins, 2.0),
          "tmax": jnp.full(basins, 1.0), "tmin": jnp.full(basins, -1.0)}
loss = lambda p: jnp.sum(dgeo.integrate(dgeo.ExpHydro(), forcing, p).series["q"] ** 2)
grad = jax.jit(jax.grad(loss))(params)
tasks = os.listdir("/proc/self/task")
print(json.dumps({
    "grad": {k: [float(x) for x in v] for k, v in grad.items()},
    "allowed_before": allowed,
    "allowed_after": sorted(os.sched_getaffinity(0)),
    "one_cpu_threads": sum(len(os.sched_getaffinity(int(t))) == 1 for t in tasks),
}))
"""


def _run(threads: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(threads)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
@pytest.mark.slow
def test_one_thread_gives_the_same_gradient_and_restores_affinity():
    default, one = _run(0), _run(1)
    assert one["grad"] == default["grad"]  # same kernels, run in order: bit for bit
    assert one["allowed_after"] == one["allowed_before"]
    if len(one["allowed_before"]) > 1:
        # XLA's pool threads were created while the mask was narrowed: they keep one CPU.
        assert one["one_cpu_threads"] >= 1
        assert default["one_cpu_threads"] == 0


def test_too_late_or_invalid_is_a_clear_error():
    jnp.ones(1).block_until_ready()  # the backend exists in this process
    with pytest.raises(RuntimeError, match="before JAX's first computation"):
        dgeo.xla_cpu_threads(1)
    with pytest.raises(ValueError, match="positive number of threads"):
        dgeo.xla_cpu_threads(0)


CLI = """
import json, os, sys
from dgeo.cli import main
rc = main(["--cpu-threads", "1", "data", "info", sys.argv[1]])
tasks = os.listdir("/proc/self/task")
print(json.dumps({"rc": rc, "one_cpu_threads": sum(
    len(os.sched_getaffinity(int(t))) == 1 for t in tasks)}))
"""


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs Linux CPU affinity and two CPUs",
)
def test_cli_cpu_threads_creates_the_pool_before_the_command(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", CLI, str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["rc"] == 2  # the command's own error (no such data) is still reported
    assert result["one_cpu_threads"] >= 1


def test_cli_cpu_threads_errors_are_one_line(capsys):
    from dgeo.cli import main

    jnp.ones(1).block_until_ready()
    assert main(["--cpu-threads", "1", "data", "info", "nowhere"]) == 2
    assert "--cpu-threads: xla_cpu_threads must be called before" in capsys.readouterr().err
    assert main(["--cpu-threads", "0", "data", "info", "nowhere"]) == 2
    assert "positive number of threads" in capsys.readouterr().err
