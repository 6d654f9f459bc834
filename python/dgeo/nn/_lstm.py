"""The LSTM (Kratzert et al. 2018) of the reference and regional models.

Speed on CPU (benchmarks/bench_lstm.py, against `torch.nn.LSTM`): the input projection is not
computed for every day ahead of the time loop. With five forcings that projection is a matrix
product with an inner dimension of five, which XLA runs at a fraction of its speed, and its
(time, 4 x hidden) result is the largest array of the step (96 MB per 256 windows of a year at
256 units), written once and read back in the loop and again in the backward pass. Instead each
day multiplies the concatenated [forcings, hidden state] by the stacked [input, recurrent]
weights, one matrix product per day.

cuDNN's fused LSTM (`jax.experimental.rnn.lstm`) is not used: its primitives have no batching
rule, so it cannot run under the vmap over windows that every dgeo model relies on, and wrapping
it in `jax.custom_batching.custom_vmap` makes it non-differentiable under `grad` (JAX raises
"Linearization failed"). On a GPU the scan below runs as it does on CPU.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray


def lstm_hidden(
    weight_ih: Float[Array, "gates features"],
    weight_hh: Float[Array, "gates hidden"],
    bias: Float[Array, " gates"],
    x: Float[Array, "time features"],
) -> Float[Array, "time hidden"]:
    """The hidden state of every day from a zero start: gates in the order input, forget, cell,
    output (as `torch.nn.LSTM`), one bias (torch's `bias_ih + bias_hh`)."""
    hidden = weight_hh.shape[1]
    weight = jnp.concatenate([weight_ih, weight_hh], axis=1).T  # (features + hidden, gates)

    def step(carry, x_t):
        h, c = carry
        z = jnp.concatenate([x_t, h]) @ weight + bias
        i = jax.nn.sigmoid(z[:hidden])
        f = jax.nn.sigmoid(z[hidden : 2 * hidden])
        g = jnp.tanh(z[2 * hidden : 3 * hidden])
        o = jax.nn.sigmoid(z[3 * hidden :])
        c = f * c + i * g
        h = o * jnp.tanh(c)
        return (h, c), h

    zeros = jnp.zeros(hidden, x.dtype)
    _, h = jax.lax.scan(step, (zeros, zeros), x.astype(weight.dtype))
    return h


class LSTM(eqx.Module):
    """An LSTM over time with dropout before a linear output layer (Kratzert et al. 2018).

    The forget-gate bias starts at 3 so the cell remembers by default (Kratzert et al. 2019).
    Static inputs (a basin's attributes) may be passed once as `static` rather than repeated
    every day; the weights are those of the daily features followed by the static ones.
    Weights are laid out as `torch.nn.LSTM`'s (`weight_ih_l0`, `weight_hh_l0`; the bias is the
    sum of its two biases), so weights can be copied from one to the other.
    """

    weight_ih: Float[Array, "gates features"]
    weight_hh: Float[Array, "gates hidden"]
    bias: Float[Array, " gates"]
    head: eqx.nn.Linear
    dropout: float = eqx.field(static=True)
    outputs: int | None = eqx.field(static=True)

    def __init__(
        self,
        in_features: int,
        *,
        hidden: int = 256,
        dropout: float = 0.4,
        outputs: int | None = None,
        key: PRNGKeyArray,
    ):
        """`outputs`: None gives one series, shaped (time,); a number gives (time, outputs)."""
        k1, k2, k3 = jax.random.split(key, 3)
        lim = 1.0 / math.sqrt(hidden)
        self.weight_ih = jax.random.uniform(k1, (4 * hidden, in_features), minval=-lim, maxval=lim)
        self.weight_hh = jax.random.uniform(k2, (4 * hidden, hidden), minval=-lim, maxval=lim)
        self.bias = jnp.zeros(4 * hidden).at[hidden : 2 * hidden].set(3.0)
        self.head = eqx.nn.Linear(hidden, 1 if outputs is None else outputs, key=k3)
        self.dropout = dropout
        self.outputs = outputs

    def hidden_states(
        self,
        x: Float[Array, "time features"],
        static: Float[Array, " static"] | None = None,
    ) -> Float[Array, "time hidden"]:
        """The hidden state of every day (before dropout and the output layer).

        `static`: features that are the same every day (a basin's attributes), given once
        instead of repeated in `x`: the same numbers as `x` with `static` appended to every
        day, but their share of the gates is computed once, not every day."""
        weight_ih, bias = self.weight_ih, self.bias
        if static is not None:
            daily = x.shape[-1]
            bias = bias + weight_ih[:, daily:] @ static.astype(weight_ih.dtype)
            weight_ih = weight_ih[:, :daily]
        return lstm_hidden(weight_ih, self.weight_hh, bias, x)

    def __call__(
        self,
        x: Float[Array, "time features"],
        *,
        static: Float[Array, " static"] | None = None,
        key: PRNGKeyArray | None = None,
    ) -> Float[Array, " time"] | Float[Array, "time outputs"]:
        h = self.hidden_states(x, static)
        if key is not None and self.dropout > 0:
            keep = jax.random.bernoulli(key, 1.0 - self.dropout, h.shape)
            h = jnp.where(keep, h / (1.0 - self.dropout), 0.0)
        if self.outputs is None:
            return h @ self.head.weight[0] + self.head.bias[0]
        return h @ self.head.weight.T + self.head.bias
