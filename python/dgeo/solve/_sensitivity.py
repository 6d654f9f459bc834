"""Sensitivity methods: how gradients of a simulation are computed. One argument picks one.

| method | reverse/forward | memory in T | when to use |
|---|---|---|---|
| `Backprop()` | reverse, stores every step | grows linearly | short series, fastest gradient |
| `Checkpoint(n)` | reverse, recursive checkpointing | O(n) checkpoints (default ~sqrt T) | long series, many basins |
| `Adjoint()` | continuous adjoint ODE per day (interpolated forward solution) + checkpointed days | like `Checkpoint` | continuous solvers when the solver's own steps must not be stored |
| `Forward()` | forward mode, one tangent per parameter | grows with T x parameters | few parameters per basin (block-diagonal trick) |

Mirrors SciMLSensitivity: `Backprop` ~ ReverseDiffAdjoint, `Checkpoint` ~ checkpointed
reverse mode, `Adjoint` ~ InterpolatingAdjoint(checkpointing=true), `Forward` ~ ForwardDiffSensitivity.
"""

from __future__ import annotations

import abc

import diffrax
import equinox as eqx
import equinox.internal as eqxi
import jax

from ._adjoint import InterpolatingAdjoint


class AbstractSensitivity(eqx.Module):
    """How the time loop is differentiated: the outer scan and the adjoint of each day's solve."""

    @abc.abstractmethod
    def scan(self, step, init, xs):
        """Run `step` over the leading axis of `xs` (as `jax.lax.scan`)."""

    @abc.abstractmethod
    def diffrax_adjoint(self, max_steps: int) -> diffrax.AbstractAdjoint:
        """The diffrax adjoint used inside each day of a continuous solve."""


class Backprop(AbstractSensitivity):
    """Reverse-mode AD through the unrolled solver; stores every step (memory grows with T)."""

    def scan(self, step, init, xs):
        return jax.lax.scan(step, init, xs)

    def diffrax_adjoint(self, max_steps):
        return diffrax.RecursiveCheckpointAdjoint(checkpoints=max_steps)


class Checkpoint(AbstractSensitivity):
    """Reverse mode with recursive (treeverse) checkpointing of the daily loop.

    `checkpoints` days are stored (default: proportional to sqrt(T)); the rest are recomputed
    in the backward pass. Memory is independent of T for a fixed `checkpoints`.
    """

    checkpoints: int | None = None

    def scan(self, step, init, xs):
        return eqxi.scan(step, init, xs, kind="checkpointed", checkpoints=self.checkpoints)

    def diffrax_adjoint(self, max_steps):
        return diffrax.RecursiveCheckpointAdjoint()


class Adjoint(AbstractSensitivity):
    """Continuous adjoint (optimise-then-discretise): within each day the adjoint ODE is solved
    backwards against an interpolated forward solution instead of storing the solver's steps
    (see `dgeo.solve._adjoint`); across days, start-of-day states come from recursive
    checkpoints. Gradients match the exact ones to the solver tolerance.

    Only for continuous solvers: the discrete P-RNN step has no continuous adjoint, and its
    discrete adjoint with recomputation is exactly `Checkpoint()`.
    """

    checkpoints: int | None = None

    def scan(self, step, init, xs):
        return eqxi.scan(step, init, xs, kind="checkpointed", checkpoints=self.checkpoints)

    def diffrax_adjoint(self, max_steps):
        return InterpolatingAdjoint()


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
