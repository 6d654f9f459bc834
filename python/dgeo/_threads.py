"""How many threads XLA's CPU runtime may use, fixed when JAX creates its CPU backend."""

from __future__ import annotations

import os

import jax


def xla_cpu_threads(n: int) -> None:
    """Create JAX's CPU backend with a thread pool of `n` threads. Call it before any JAX
    computation (importing dgeo does not start the backend).

    XLA's CPU runtime runs the independent kernels of a loop body concurrently on its thread
    pool. In the discrete P-RNN's daily loop over a few hundred to ~1000 basins each kernel
    lasts a microsecond or two, and handing kernels between threads costs more than it saves:
    on the 2-core benchmark machine, one thread makes the gradient over 671 basins x 30 years
    ~40 % faster and the forward pass ~15 % faster (benchmarks/results/physics.md). Work
    with larger kernels gains from the default pool: an epoch of the regional hybrid (Conv1D
    head) is ~1.8x slower with one thread. So this is a choice per job, not a default.

    XLA sizes the pool by the CPUs the process may run on when the backend is created; this
    narrows the calling thread's CPU affinity to `n` of its CPUs while the backend is created,
    then restores it. Linux only.
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"xla_cpu_threads needs a positive number of threads, got {n!r}")
    if not hasattr(os, "sched_setaffinity"):
        raise NotImplementedError("xla_cpu_threads needs os.sched_setaffinity (Linux)")
    from jax._src import xla_bridge  # no public API tells whether the backend exists

    if xla_bridge.backends_are_initialized():
        raise RuntimeError(
            "xla_cpu_threads must be called before JAX's first computation: the CPU backend "
            "already exists and its thread pool cannot be resized. Call it first in the script."
        )
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, sorted(allowed)[:n])
    try:
        jax.devices("cpu")  # creates the backend, and its thread pool, now
    finally:
        os.sched_setaffinity(0, allowed)
