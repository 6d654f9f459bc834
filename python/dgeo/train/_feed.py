"""Samples kept on the host and fed to the devices one batch at a time.

`train_loop` normally holds every sample on the device and gathers each mini-batch inside the
compiled step. That costs device (and host) memory in proportion to the number of basins. A
`Samples` object instead keeps the samples wherever it likes (in host memory, in files read on
demand: `dgeo.train.LazyWindows`) and hands the loop one batch of numpy arrays at a time; the
loop prepares the next batch in a background thread while the current one trains
(`prefetched`), so reading overlaps computing.

With several processes (`dgeo.distributed`), each process's `Samples` is its own share; the
loop joins the processes' batches into one global batch split over every device of the mesh
(`to_devices`).
"""

from __future__ import annotations

import abc
import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import jax
import numpy as np

from . import _mesh


class Samples(abc.ABC):
    """Training samples that the loop takes a batch at a time, on the host.

    Subclass it with `__len__` (the number of samples: in a run of several processes, this
    process's) and `take(index)`: the samples `index` (a 1-d integer array) as a pytree of numpy
    arrays whose leading axis has `len(index)` entries, the same pytree `loss` is called with.
    """

    @abc.abstractmethod
    def __len__(self) -> int:
        """The number of samples."""

    @abc.abstractmethod
    def take(self, index: np.ndarray):
        """The samples `index` (a pytree of numpy arrays, leading axis `len(index)`)."""


class ArraySamples(Samples):
    """Samples held as a pytree of arrays in host memory."""

    def __init__(self, tree):
        self.tree = jax.tree_util.tree_map(np.asarray, tree)
        leaves = jax.tree_util.tree_leaves(self.tree)
        if not leaves:
            raise ValueError("ArraySamples needs at least one array")
        self._n = len(leaves[0])

    def __len__(self) -> int:
        return self._n

    def take(self, index: np.ndarray):
        return jax.tree_util.tree_map(lambda a: a[index], self.tree)


def to_devices(tree, mesh):
    """A host batch on the devices: on JAX's default device (no mesh), split over the mesh's
    `"data"` axis (one process), or, with several processes, this process's part of a global
    batch whose leading axis joins every process's part in process order."""
    if mesh is None:
        return jax.device_put(tree)
    sharding = _mesh.split(mesh)
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)
    return jax.tree_util.tree_map(
        lambda a: jax.make_array_from_process_local_data(sharding, np.asarray(a)), tree
    )


def prefetched(make: Callable, items: Iterable, depth: int = 1) -> Iterator:
    """`make(item)` for each of `items`, in order, with the next `depth` computed ahead in a
    background thread (numpy gathers, file reads and `jax.device_put` release the GIL)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dgeo-feed") as pool:
        queue: deque = deque()
        for item in items:
            queue.append(pool.submit(make, item))
            if len(queue) > depth:
                yield queue.popleft().result()
        while queue:
            yield queue.popleft().result()


def process_counts(count: int) -> np.ndarray:
    """`count` of every process, in process order (each passes its own); `[count]` with one
    process. Every process gets the same array, so a check on it fails on all of them."""
    if jax.process_count() == 1:
        return np.asarray([count], np.int64)
    from jax.experimental import multihost_utils

    return np.ravel(multihost_utils.process_allgather(np.asarray(count, np.int64)))


@contextlib.contextmanager
def shared_failure(what: str):
    """With several processes, an error raised in the block on one process is raised on every
    process once they have all reached the block's end (the others raise a `DataError` naming
    the failed processes), instead of leaving them waiting in a collective. The block must
    hold no collective operation itself."""
    if jax.process_count() == 1:
        yield
        return
    try:
        yield
    except Exception:
        process_counts(1)
        raise
    failed = process_counts(0)
    if failed.any():
        from ..data import DataError

        where = ", ".join(str(i) for i in np.flatnonzero(failed))
        raise DataError(f"process(es) {where} failed {what}: their error says why")


def check_shares(counts: np.ndarray, what: str) -> None:
    """A `DataError` (on every process alike) if a process has none of `what`, given every
    process's count of it (`process_counts`)."""
    if len(counts) > 1 and np.min(counts) == 0:
        from ..data import DataError

        empty = ", ".join(str(i) for i in np.flatnonzero(counts == 0))
        raise DataError(
            f"process(es) {empty} of {len(counts)} have no {what}: use fewer processes or "
            "more basins"
        )


def local_batch(counts: np.ndarray, batch: int | None) -> int:
    """How many of each step's `batch` samples (None: all) this process contributes, an
    equal part from every process, given every process's sample `counts`
    (`process_counts`). A process with no samples is an error on every process."""
    processes = len(counts)
    n = int(np.sum(counts))
    size = n if batch is None else batch
    check_shares(counts, "training samples")
    if size % processes:
        raise ValueError(
            f"batch_size {size} does not split over the {processes} processes: use a multiple "
            f"of {processes}"
        )
    if batch is None and np.any(counts * processes != n):
        raise ValueError(
            f"full-batch training over {processes} processes needs the same number of samples "
            f"in each (they have {', '.join(map(str, counts))}); set batch_size"
        )
    return size // processes


def local_copy(tree):
    """With several processes, the replicated global arrays of `tree` as this process's own
    copies (so they mix with local arrays, e.g. in validation); otherwise `tree` itself."""
    if jax.process_count() == 1:
        return tree

    def one(leaf):
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            return leaf.addressable_data(0)
        return leaf

    return jax.tree_util.tree_map(one, tree)
