"""Data parallelism: the training loop's samples split over the devices of a mesh.

JAX is the distributed engine; dgeo only says where arrays live. With a mesh of several
devices (`data_mesh`), `train_loop` splits every step's samples (the mini-batch of windows of a
regional model, the stacked basins of per-basin training) over the mesh's one axis, `"data"`;
parameters that every sample shares are replicated, the stacked parameters of per-basin models
are split with their basins, and XLA's SPMD partitioner reduces the gradients across devices.
Nothing else changes: the losses and the trained parameters equal a single device's up to the
order of floating-point sums (`tests/test_mesh.py`).

The mesh is an argument (`train_loop(mesh=...)`) or, for code that does not pass one down (the
experiment runners, the `dgeo` command's `--devices`), the mesh of an enclosing
`with data_parallel(mesh):` block.

On a CPU, JAX has one device whose thread pool splits each kernel; `dgeo.cpu_devices(n)` makes
`n` single-threaded CPU devices instead, so that the basins of a P-RNN's daily loop, whose
kernels are too small to split, run side by side (see `dgeo.cpu_devices`).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

#: The name of the mesh axis the samples are split over.
AXIS = "data"

_ACTIVE: contextvars.ContextVar[Mesh | None] = contextvars.ContextVar("dgeo_mesh", default=None)


def data_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A one-axis mesh (`"data"`) over `devices` (default: every device JAX has)."""
    devices = jax.devices() if devices is None else list(devices)
    if not devices:
        raise ValueError("data_mesh needs at least one device")
    return Mesh(np.array(devices), (AXIS,))


@contextlib.contextmanager
def data_parallel(mesh: Mesh | None = None):
    """Within the block, `train_loop` splits its samples over `mesh` (default: `data_mesh()`,
    every device) unless it is given a mesh of its own."""
    mesh = data_mesh() if mesh is None else mesh
    check_mesh(mesh)
    token = _ACTIVE.set(mesh)
    try:
        yield mesh
    finally:
        _ACTIVE.reset(token)


def check_mesh(mesh) -> None:
    """A `TypeError`/`ValueError` unless `mesh` is a `jax.sharding.Mesh` with the axis `"data"`."""
    if not isinstance(mesh, Mesh):
        raise TypeError(
            f"mesh must be a jax.sharding.Mesh (see dgeo.train.data_mesh), got {mesh!r}"
        )
    if AXIS not in mesh.axis_names:
        raise ValueError(
            f"the mesh needs an axis named {AXIS!r} to split samples over; it has "
            f"{mesh.axis_names} (dgeo.train.data_mesh makes one)"
        )


def active_mesh(mesh: Mesh | None) -> Mesh | None:
    """`mesh`, else the mesh of the enclosing `data_parallel` block; None for one device."""
    mesh = _ACTIVE.get() if mesh is None else mesh
    if mesh is None:
        return None
    check_mesh(mesh)
    return mesh if mesh.shape[AXIS] > 1 else None


def split(mesh: Mesh) -> NamedSharding:
    """Leading axis split over the mesh's `"data"` axis."""
    return NamedSharding(mesh, PartitionSpec(AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
    """The whole array on every device of the mesh."""
    return NamedSharding(mesh, PartitionSpec())


def place(tree, mesh: Mesh, members: int | None):
    """`tree` on the mesh: leaves whose leading axis has `members` entries split over it
    when the devices divide them (otherwise replicated, and split inside the step), every
    other leaf replicated."""
    devices = mesh.shape[AXIS]

    def one(leaf):
        if not isinstance(leaf, jax.Array | np.ndarray):
            return leaf
        stacked = members is not None and leaf.ndim >= 1 and leaf.shape[0] == members
        if stacked and members % devices == 0:
            return jax.device_put(leaf, split(mesh))
        return jax.device_put(leaf, replicated(mesh))

    return jax.tree_util.tree_map(one, tree)


def constrain(tree, mesh: Mesh, size: int | None):
    """Inside a jitted step: leaves whose leading axis has `size` entries split over the
    mesh (XLA pads an axis the devices do not divide); the others untouched."""

    def one(leaf):
        if size is not None and getattr(leaf, "ndim", 0) >= 1 and leaf.shape[0] == size:
            return jax.lax.with_sharding_constraint(leaf, split(mesh))
        return leaf

    return jax.tree_util.tree_map(one, tree)
