"""Universal differential equations: learnable modules that replace or correct a flux."""

from __future__ import annotations

import abc
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PRNGKeyArray


class AbstractFluxOverride(eqx.Module):
    """Maps (the physical value of a flux, named quantities) to the flux actually used."""

    @abc.abstractmethod
    def __call__(self, value: Array, quantities: dict[str, Array]) -> Array: ...


class FluxNetwork(eqx.Module):
    """An MLP of named quantities, applied to every basin independently.

    Inputs are divided by `scales` (so the network sees numbers of order one); the output is
    `out_scale * softplus(mlp(x))` when `positive`, else `out_scale * mlp(x)`.
    """

    mlp: eqx.nn.MLP
    inputs: tuple[str, ...] = eqx.field(static=True)
    scales: tuple[float, ...] = eqx.field(static=True)
    out_scale: float = eqx.field(static=True)
    positive: bool = eqx.field(static=True)

    def __init__(
        self,
        inputs: Sequence[str],
        scales: Sequence[float],
        *,
        key: PRNGKeyArray,
        width: int = 16,
        depth: int = 2,
        out_scale: float = 1.0,
        positive: bool = True,
    ):
        if len(inputs) != len(scales):
            raise ValueError(f"{len(inputs)} inputs but {len(scales)} scales")
        self.inputs, self.scales = tuple(inputs), tuple(float(s) for s in scales)
        self.out_scale, self.positive = float(out_scale), positive
        self.mlp = eqx.nn.MLP(len(inputs), "scalar", width, depth, activation=jnp.tanh, key=key)

    def __call__(self, quantities: dict[str, Array]) -> Array:
        missing = [name for name in self.inputs if name not in quantities]
        if missing:
            raise KeyError(f"FluxNetwork inputs {missing} unknown; known: {sorted(quantities)}")
        x = jnp.stack(
            [quantities[n] / s for n, s in zip(self.inputs, self.scales, strict=True)], -1
        )
        flat = x.reshape(-1, x.shape[-1])
        y = jax.vmap(self.mlp)(flat.astype(jnp.result_type(float))).reshape(x.shape[:-1])
        return self.out_scale * (jax.nn.softplus(y) if self.positive else y)


class Replace(AbstractFluxOverride):
    """Replace a flux by a learnable module of named quantities (a UDE)."""

    network: eqx.Module

    def __call__(self, value, quantities):
        return self.network(quantities).astype(value.dtype)


class Correct(AbstractFluxOverride):
    """Add a learnable correction to a physical flux: `value + network(quantities)`."""

    network: eqx.Module

    def __call__(self, value, quantities):
        return value + self.network(quantities).astype(value.dtype)
