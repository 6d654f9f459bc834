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
