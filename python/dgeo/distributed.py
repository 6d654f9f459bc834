"""Training on several hosts: one JAX process per host (or per GPU), each reading its share.

JAX is the distributed engine (`jax.distributed`); dgeo only starts it and splits the data.
Every process runs the same script:

    import dgeo
    dgeo.distributed.initialize()          # before any other JAX call
    fit = dgeo.train.train_regional(ds, "regional_lstm", basins, period, options)
    if dgeo.distributed.is_main():
        dgeo.train.save_regional(...)      # one process writes

`initialize` finds the coordinator, the number of processes and this process's id in its
arguments, else in the environment variables `DGEO_COORDINATOR` (host:port of process 0),
`DGEO_NUM_PROCESSES` and `DGEO_PROCESS_ID`, else lets JAX detect the cluster (SLURM, Open MPI,
Kubernetes, Cloud TPU). Then the mesh of `dgeo.train.data_parallel` spans every process's
devices; `train_regional` gives each process every `process_count()`-th basin
(`dgeo.train.process_share`) and reads only those (streamed, `RegionalOptions.stream`); the
standardisation statistics, the physical start and the validation score are combined over all
processes, and every step's batch takes `batch_size / processes` windows from each process. The
trained parameters are replicated: every process ends with the same model.

Per-basin models share no parameters: over several hosts, give each process its own basins and
train them independently (no `initialize` needed).

A SLURM recipe is in the user guide (`docs/guide/training.md`, "Several hosts"). On CPUs (tests,
a workstation) the processes exchange gradients with Gloo.
"""

from __future__ import annotations

import os

import jax

__all__ = ["initialize", "is_main", "process_count", "process_index"]

_ENV = ("DGEO_COORDINATOR", "DGEO_NUM_PROCESSES", "DGEO_PROCESS_ID")


def _integer(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from None


def initialize(
    coordinator: str | None = None,
    processes: int | None = None,
    process_id: int | None = None,
    *,
    cpu_devices: int | None = None,
) -> None:
    """Join this process to a multi-process JAX run (`jax.distributed.initialize`).

    **Arguments:**

    - `coordinator`: "host:port" of process 0; `processes`: how many processes;
      `process_id`: this one's (0 .. processes - 1). Each defaults to the environment
      (`DGEO_COORDINATOR`, `DGEO_NUM_PROCESSES`, `DGEO_PROCESS_ID`); with none of them
      set, JAX detects the cluster (SLURM, Open MPI, ...).
    - `cpu_devices`: CPU devices per process (`dgeo.cpu_devices`), for runs without
      accelerators; the processes then reduce gradients over Gloo.

    Call it first, before any JAX computation. Raises `ValueError` for an incomplete or
    malformed setting and `RuntimeError` if JAX has already started.
    """
    coordinator = os.environ.get(_ENV[0]) if coordinator is None else coordinator
    if processes is None and os.environ.get(_ENV[1]):
        processes = _integer(os.environ[_ENV[1]], _ENV[1])
    if process_id is None and os.environ.get(_ENV[2]):
        process_id = _integer(os.environ[_ENV[2]], _ENV[2])
    given = [v is not None for v in (coordinator, processes, process_id)]
    if any(given) and not all(given):
        missing = [n for n, g in zip(_ENV, given, strict=True) if not g]
        raise ValueError(
            "dgeo.distributed.initialize needs the coordinator, the number of processes and "
            f"this process's id together; missing: {', '.join(missing)} (argument or "
            "environment variable)"
        )
    if all(given) and not 0 <= process_id < processes:
        raise ValueError(f"process id {process_id} is not in 0 .. {processes - 1}")
    if cpu_devices is not None:
        from ._threads import configure_cpu_devices

        configure_cpu_devices(cpu_devices)
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator, processes, process_id)


def process_count() -> int:
    """The number of processes of the run (1 without `initialize`)."""
    return jax.process_count()


def process_index() -> int:
    """This process's index (0 .. process_count() - 1)."""
    return jax.process_index()


def is_main() -> bool:
    """Whether this is process 0, the one that writes results."""
    return jax.process_index() == 0
