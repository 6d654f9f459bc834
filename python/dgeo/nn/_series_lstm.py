"""An LSTM with several outputs per day: the network of dynamic (daily) parameters."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from ._lstm import lstm_hidden


class SeriesLSTM(eqx.Module):
    """An LSTM over time with `out_features` outputs per day: (time, in) -> (time, out).

    The same cell as `dgeo.nn.LSTM` (torch's gate order, forget-gate bias 3) with dropout on
    the hidden states before a linear layer to `out_features` series; the parameter-learning
    models use it for parameters that vary by day (one output per parameter and component).
    """

    weight_ih: Float[Array, "gates features"]
    weight_hh: Float[Array, "gates hidden"]
    bias: Float[Array, " gates"]
    head: eqx.nn.Linear
    dropout: float = eqx.field(static=True)

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        hidden: int = 64,
        dropout: float = 0.0,
        key: PRNGKeyArray,
    ):
        k1, k2, k3 = jax.random.split(key, 3)
        lim = 1.0 / math.sqrt(hidden)
        self.weight_ih = jax.random.uniform(k1, (4 * hidden, in_features), minval=-lim, maxval=lim)
        self.weight_hh = jax.random.uniform(k2, (4 * hidden, hidden), minval=-lim, maxval=lim)
        self.bias = jnp.zeros(4 * hidden).at[hidden : 2 * hidden].set(3.0)
        self.head = eqx.nn.Linear(hidden, out_features, key=k3)
        self.dropout = dropout

    def __call__(
        self,
        x: Float[Array, "time features"],
        *,
        static: Float[Array, " static"] | None = None,
        key: PRNGKeyArray | None = None,
    ) -> Float[Array, "time outputs"]:
        """`static`: features that are the same every day (a basin's attributes), given once:
        the same numbers as `x` with `static` appended to every day (as `dgeo.nn.LSTM`), their
        share of the gates computed once rather than every day."""
        weight_ih, bias = self.weight_ih, self.bias
        if static is not None:
            daily = x.shape[-1]
            bias = bias + weight_ih[:, daily:] @ static.astype(weight_ih.dtype)
            weight_ih = weight_ih[:, :daily]
        h = lstm_hidden(weight_ih, self.weight_hh, bias, x)
        if key is not None and self.dropout > 0:
            keep = jax.random.bernoulli(key, 1.0 - self.dropout, h.shape)
            h = jnp.where(keep, h / (1.0 - self.dropout), 0.0)
        return h @ self.head.weight.T + self.head.bias
