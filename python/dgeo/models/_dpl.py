"""Differentiable parameter learning (dPL; Tsai et al. 2021, Feng et al. 2022): networks give
a physical model its parameters, static and daily, each through the bounded transform.

The physical model is a parameter, as everywhere in dgeo. With `dgeo.Hbv(nmul=16,
dynamic=("BETA", "BETAET"))` the two dPL models are δHBV with MHPI's layout of learned
parameters:

- `regional_dpl` (`RegionalDpl`, in `_regional.py`): an LSTM over the standardised forcings and attributes gives the dynamic
  parameters of every component on every day; an MLP over the standardised attributes gives
  the static parameters of every component and the routing parameters (one per basin).
- `dpl` (`Dpl`, per basin, in `_models.py`): each basin learns its own static parameters per component, as the
  P-RNN does, and a small LSTM over that basin's standardised forcings gives its dynamic ones.

Every network output z becomes lower + (upper - lower) sigmoid(z), MHPI's transform: any
output, however large, gives a parameter within its declared bounds.

How many outputs a parameter takes is what the physical model says its shape is for one basin
(`shape_of(name, ())`): one per component for HBV's 13 parameters, one for the routing
parameters; a model without components takes one per parameter. `Layout` below keeps that
bookkeeping, in one place for both models.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ..nn import SeriesLSTM
from ..physics import PhysicalModel


def _size(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


class Layout(eqx.Module):
    """Which network outputs are which parameters: the static ones (one value per basin and
    component, fixed in time) and the dynamic ones (`physics.dynamic`, one per day), each
    flattened in declaration order, a parameter taking `shape_of(name, ())` values."""

    physics: PhysicalModel

    def names(self, dynamic: bool) -> tuple[str, ...]:
        return tuple(
            n for n in self.physics.parameter_names if (n in self.physics.dynamic) == dynamic
        )

    def shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.physics.shape_of(name, ()))

    def size(self, dynamic: bool) -> int:
        """How many network outputs the static (or dynamic) parameters take."""
        return sum(_size(self.shape(n)) for n in self.names(dynamic))

    def bounded(self, raw: Float[Array, "*lead outputs"], dynamic: bool) -> dict:
        """Network outputs (any leading axes) -> name -> parameter, shaped (*lead, *shape),
        by lower + (upper - lower) sigmoid(raw)."""
        bounds = {p.name: p for p in self.physics.parameters}
        fraction = jax.nn.sigmoid(raw)
        out, at = {}, 0
        for name in self.names(dynamic):
            shape, p = self.shape(name), bounds[name]
            n = _size(shape)
            values = fraction[..., at : at + n].reshape(*raw.shape[:-1], *shape)
            out[name] = p.lower + (p.upper - p.lower) * values
            at += n
        return out

    def start(self, fraction: Float[ArrayLike, " parameters"] | None, dynamic: bool):
        """The outputs that give every component the parameters at `fraction` (0..1) of
        their bounds (one fraction per declared parameter; None: mid-range)."""
        n_params = len(self.physics.parameters)
        fraction = jnp.full(n_params, 0.5) if fraction is None else jnp.asarray(fraction)
        raw = jax.scipy.special.logit(jnp.clip(fraction, 1e-3, 1 - 1e-3))
        index = {name: i for i, name in enumerate(self.physics.parameter_names)}
        parts = [jnp.full(_size(self.shape(n)), raw[index[n]]) for n in self.names(dynamic)]
        return jnp.concatenate(parts) if parts else jnp.zeros(0)

    def in_components(self, dynamic: bool):
        """For each output, whether its parameter has components (a non-scalar shape)."""
        parts = [jnp.full(_size(self.shape(n)), bool(self.shape(n))) for n in self.names(dynamic)]
        return jnp.concatenate(parts) if parts else jnp.zeros(0, bool)

    def daily(self, params: dict) -> dict:
        """The dynamic parameters of `params` (days first), each the mean over its components
        on every day: name -> (time,)."""
        return self.per_basin({name: params[name] for name in self.names(dynamic=True)})

    def per_basin(self, params: dict) -> dict:
        """Each parameter as one value per basin: the mean over its components."""
        return {
            name: jnp.mean(v, axis=tuple(range(v.ndim - len(self.shape(name)), v.ndim)))
            if self.shape(name)
            else v
            for name, v in params.items()
        }


def _start_layer(layer: eqx.nn.Linear, scale: float, bias) -> eqx.nn.Linear:
    """`layer` with its weights scaled by `scale` and its bias set to `bias`."""
    layer = eqx.tree_at(lambda lin: lin.weight, layer, layer.weight * scale)
    return eqx.tree_at(lambda lin: lin.bias, layer, jnp.broadcast_to(bias, layer.bias.shape))


def dynamic_network(
    in_features: int,
    layout: Layout,
    start,
    *,
    hidden: int,
    dropout: float,
    key: PRNGKeyArray,
) -> SeriesLSTM | None:
    """The LSTM of the dynamic parameters, its output layer starting at `start` (small
    weights, bias at the start's outputs); None when the physical model has none."""
    if not layout.physics.dynamic:
        return None
    net = SeriesLSTM(in_features, layout.size(True), hidden=hidden, dropout=dropout, key=key)
    return eqx.tree_at(
        lambda n: n.head, net, _start_layer(net.head, 0.1, layout.start(start, True))
    )
