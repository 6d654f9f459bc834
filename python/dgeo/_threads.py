"""XLA's CPU backend: how many threads (`xla_cpu_threads`) or devices (`cpu_devices`) it has,
fixed when JAX creates it."""

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


#: XLA flags that keep each CPU device's kernels on one thread.
SINGLE_THREADED = "--xla_cpu_multi_thread_eigen=false"


def cpu_devices(n: int) -> None:
    """Create JAX's CPU backend with `n` devices of one thread each, for data parallelism over
    the cores (`dgeo.train.data_parallel`, the `dgeo` command's `--devices`). Call it before any
    JAX computation (importing dgeo does not start the backend).

    One CPU device runs each kernel of the P-RNN's daily loop (a microsecond or two over a few
    hundred basins) on a thread pool that costs more than it saves (`xla_cpu_threads`); `n`
    devices each take 1/n of the basins and run side by side. On the 2-core machine, δHBV's
    gradient over 671 basins x 730 days with the basins split over 2 devices took 0.39 s
    against 0.66 s on one single-threaded device (benchmarks/results/hbv_speed.md).

    Sets `jax_num_cpu_devices` and adds `--xla_cpu_multi_thread_eigen=false` to `XLA_FLAGS`.
    """
    configure_cpu_devices(n)
    jax.devices("cpu")  # creates the backend now


def configure_cpu_devices(n: int) -> None:
    """`cpu_devices(n)`'s settings, without starting the backend (`dgeo.distributed` must
    start JAX's distributed runtime first)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"cpu_devices needs a positive number of devices, got {n!r}")
    from jax._src import xla_bridge  # no public API tells whether the backend exists

    if xla_bridge.backends_are_initialized():
        raise RuntimeError(
            "cpu_devices must be called before JAX's first computation: the CPU backend "
            "already exists with its devices. Call it first in the script."
        )
    flags = os.environ.get("XLA_FLAGS", "")
    if SINGLE_THREADED not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {SINGLE_THREADED}".strip()
    jax.config.update("jax_num_cpu_devices", n)
