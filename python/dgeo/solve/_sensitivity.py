"""Sensitivity methods: how gradients of a simulation are computed. One argument picks one.

| method | reverse/forward | memory in T | when to use |
|---|---|---|---|
| `Backprop()` | reverse, stores every day's state, recomputes the day's internals | grows linearly (states only) | the default: fastest gradient |
| `Checkpoint(n)` | reverse, two-level checkpointing: n stored days, each stretch between them recomputed once | n + T/n days (default n = 1000), flat in T up to ~n^2 days | long series, many basins: one extra forward pass over `Backprop()`, flat memory |
| `Checkpoint(n, recursive=True)` | reverse, recursive (treeverse) checkpointing | n stored days, for any T | memory fixed at n days, at the cost of recomputing ~log(T) times |
| `Adjoint()` | continuous adjoint ODE per day (interpolated forward solution) + checkpointed days; under `ImplicitEuler()` the per-step discrete adjoint (δHBV.adj) | like `Checkpoint` | explicit continuous solvers of smooth models when the solver's own steps must not be stored (EXP-HYDRO's melt kink: prefer `Checkpoint`); `ImplicitEuler()` |
| `Forward()` | forward mode, one tangent per parameter | grows with T x parameters | few parameters per basin (block-diagonal trick) |

Implicit steps are differentiated by the implicit function theorem under every method: a
linear solve with the step's Jacobian per step (per root find of diffrax's implicit solvers,
optimistix's `ImplicitAdjoint`), never backpropagation through the Newton iterations.

Mirrors SciMLSensitivity: `Backprop` ~ ReverseDiffAdjoint, `Checkpoint` ~ checkpointed
reverse mode (two-level, or treeverse with `recursive=True`), `Adjoint` ~
InterpolatingAdjoint(checkpointing=true), `Forward` ~ ForwardDiffSensitivity.
"""

from __future__ import annotations

import abc
import functools
import math

import diffrax
import equinox as eqx
import equinox.internal as eqxi
import jax
import jax.numpy as jnp

from ._adjoint import InterpolatingAdjoint
from ._types import check_flag, check_number, is_concrete

#: Recompute a step's internals in the backward pass instead of storing them (the loop stores
#: only what the step is called with).
_remat = functools.partial(jax.checkpoint, prevent_cse=False)


class AbstractSensitivity(eqx.Module):
    """How the time loop is differentiated: the outer scan and the adjoint of each day's solve."""

    @abc.abstractmethod
    def scan(self, step, init, xs):
        """Run `step` over the leading axis of `xs` (as `jax.lax.scan`)."""

    @abc.abstractmethod
    def diffrax_adjoint(self, max_steps: int) -> diffrax.AbstractAdjoint:
        """The diffrax adjoint used inside each day of a continuous solve."""


class Backprop(AbstractSensitivity):
    """Reverse-mode AD through the unrolled solver (memory grows with T).

    Each day's start state is stored; the day's internals (fluxes, smooth steps, solver stages)
    are recomputed from it in the backward pass rather than stored. That stores ~10x less than
    plain reverse mode and is also ~2x faster on CPU, where the backward pass is bound by
    memory traffic, not arithmetic (benchmarks/results/physics.md).
    """

    def scan(self, step, init, xs):
        return jax.lax.scan(_remat(step), init, xs)

    def diffrax_adjoint(self, max_steps):
        return diffrax.RecursiveCheckpointAdjoint(checkpoints=max_steps)


class Checkpoint(AbstractSensitivity):
    """Reverse mode with checkpointing of the daily loop: memory does not grow with T.

    Two-level (default): the days are cut into `checkpoints` stretches of equal length (at
    least sqrt(T) of them); the forward pass stores only each stretch's start state, and the
    backward pass reruns one stretch at a time, storing its days, and backpropagates through
    it. The cost is one extra forward pass; memory is `checkpoints` + T / `checkpoints` days,
    flat in T while T stays below ~`checkpoints`^2 and O(sqrt(T)) beyond.

    `recursive=True`: treeverse (binomial) checkpointing instead. Memory is `checkpoints` days
    for any T, but days are recomputed ~log(T) times: slower, and slow to compile around an
    adaptive solver's own checkpointed loop (benchmarks/results/physics.md). For a memory
    budget of a few dozen days over very long series.
    """

    checkpoints: int = 1000
    recursive: bool = False

    def __check_init__(self):
        _check_checkpoints(self)
        check_flag(self.recursive, "Checkpoint.recursive")

    def scan(self, step, init, xs):
        return _checkpointed_scan(step, init, xs, self.checkpoints, self.recursive)

    def diffrax_adjoint(self, max_steps):
        # Two-level: a day is backpropagated alone, so storing its solver steps keeps memory
        # flat in T and saves recomputing them (and compile time).
        return diffrax.RecursiveCheckpointAdjoint(None if self.recursive else max_steps)


class Adjoint(AbstractSensitivity):
    """Continuous adjoint (optimise-then-discretise): within each day the adjoint ODE is solved
    backwards against an interpolated forward solution instead of storing the solver's steps
    (see `dgeo.solve._adjoint`); across days, start-of-day states come from two-level
    checkpoints as in `Checkpoint(checkpoints)`.

    Only for continuous solvers: the discrete P-RNN step has no continuous adjoint, and its
    discrete adjoint with recomputation is exactly `Checkpoint()`. Refused for diffrax's
    implicit solvers (the backward solve diverged on EXP-HYDRO's sharp smooth steps). Under
    `ImplicitEuler()` it is δHBV.adj's adjoint, discretise-then-optimise: one linear solve
    with the step's transposed Jacobian (I - h df/dS)^T per step (the implicit function
    theorem, see `dgeo.solve._implicit`), the states recomputed from the checkpointed days;
    the same computation as `Checkpoint(checkpoints)` with that solver, and exact.

    `backward_steps`: the adjoint solve's step budget per day (default 8x the solver's
    `max_steps_per_day`). A day that runs out gives NaN gradients, never silently wrong ones.

    Accuracy: it approximates the gradient of the exact ODE solution, so it differs from the
    exact methods by an error that shrinks with the solver tolerance. For EXP-HYDRO that error
    shrinks slowly in the snow parameters (df, tmax, tmin): the melt flux min(S0, Df (T - Tmax))
    has a kink where the snow runs out within a day, so the adjoint's right-hand side jumps
    there (tests/test_gradients.py shows that smoothing the kink restores agreement to ~rtol).
    Prefer `Checkpoint()` for EXP-HYDRO; `Adjoint()` is for smooth models with many solver
    steps per day.
    """

    checkpoints: int = 1000
    backward_steps: int | None = None

    def __check_init__(self):
        _check_checkpoints(self)
        steps = self.backward_steps
        check_number(steps, "Adjoint.backward_steps", integer=True, optional=True)
        if steps is not None and is_concrete(steps) and steps < 1:
            raise ValueError(f"Adjoint.backward_steps must be at least 1 or None, got {steps}")

    def scan(self, step, init, xs):
        return _checkpointed_scan(step, init, xs, self.checkpoints)

    def diffrax_adjoint(self, max_steps):
        steps = 8 * max_steps if self.backward_steps is None else self.backward_steps
        return InterpolatingAdjoint(steps)


def _check_checkpoints(sensitivity) -> None:
    """`checkpoints` is a positive integer (a number of days)."""
    name = f"{type(sensitivity).__name__}.checkpoints"
    value = check_number(sensitivity.checkpoints, name, integer=True, rule="a number of days")
    if is_concrete(value) and value < 1:
        raise ValueError(f"{name} must be a positive number of days, got {value}")


def _checkpointed_scan(step, init, xs, checkpoints: int, recursive: bool = False):
    if checkpoints < 1:
        raise ValueError(f"checkpoints must be a positive number of days, got {checkpoints}")
    length = len(jax.tree_util.tree_leaves(xs)[0])
    if recursive:
        return eqxi.scan(step, init, xs, kind="checkpointed", checkpoints=min(checkpoints, length))
    # `stretches` stretches of `size` days. The last one is cut to end on the last day, so it
    # overlaps the one before it by `overlap` days, which it skips: one loop body, one compile.
    size = math.ceil(length / max(min(checkpoints, length), math.ceil(math.sqrt(length))))
    stretches = math.ceil(length / size)
    overlap = stretches * size - length

    def day(carry, inputs):
        xs_day, skip = inputs
        new, ys = step(carry, xs_day)
        return jax.tree_util.tree_map(lambda a, b: jnp.where(skip, b, a), new, carry), ys

    def stretch(carry, n):  # stores its days' states only while it is backpropagated
        start = jnp.minimum(n * size, length - size)  # slices in the loop: no copy of `xs`
        cut = jax.tree_util.tree_map(lambda x: jax.lax.dynamic_slice_in_dim(x, start, size), xs)
        return jax.lax.scan(_remat(day), carry, (cut, jnp.arange(size) < n * size - start))

    carry, ys = jax.lax.scan(_remat(stretch), init, jnp.arange(stretches))
    ys = jax.tree_util.tree_map(
        lambda y: jnp.concatenate([y[:-1].reshape(-1, *y.shape[2:]), y[-1, overlap:]]), ys
    )
    return carry, ys


class Forward(AbstractSensitivity):
    """Forward mode: one tangent per parameter, contracted with the output cotangent.

    Parameters are per basin and basins do not interact, so the Jacobian is block-diagonal:
    k tangents give every basin's gradient for k parameters per basin, whatever the number of
    basins. Shared weights (a network replacing a flux) take one tangent per weight.
    Gradients with respect to forcing and initial states are not computed (zero).
    """

    def scan(self, step, init, xs):
        return jax.lax.scan(step, init, xs)

    def diffrax_adjoint(self, max_steps):
        return diffrax.ForwardMode()
