"""The neural blocks of the hybrid models. Each maps (time, features) to (time, outputs).

The LSTM is in `_lstm.py`."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._typing import FeatureSeries

Series = FeatureSeries  # the LSTM's name for it


class Standardiser(eqx.Module):
    """(x - mean) / std per feature, with statistics fixed from a training period (not trained).

    Build it with `Standardiser.fit(x)`; a feature with zero spread keeps std 1 so it maps to 0.
    """

    mean: Float[Array, " features"]
    std: Float[Array, " features"]

    @classmethod
    def fit(cls, x: Float[ArrayLike, "... features"]) -> Standardiser:
        """Statistics over every axis but the last, ignoring NaN."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, np.shape(x)[-1])
        mean = np.nanmean(x, axis=0)
        std = np.nanstd(x, axis=0)
        std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        return cls(jnp.asarray(mean, float), jnp.asarray(std, float))  # default float dtype

    def __call__(self, x: FeatureSeries) -> FeatureSeries:
        mean, std = jax.lax.stop_gradient((self.mean, self.std))
        return (x - mean) / std

    def invert(self, z: FeatureSeries) -> FeatureSeries:
        mean, std = jax.lax.stop_gradient((self.mean, self.std))
        return z * std + mean


class CausalConv1d(eqx.Module):
    """1-D convolution over time that sees only the present and the `kernel - 1` past days.

    Computed as one matrix product over the stacked lagged inputs rather than with
    `lax.conv`: the same numbers, but its gradient stays cheap when the weights differ per
    basin under `vmap` (a vmapped convolution's weight gradient is ~50x slower on CPU).
    Weights are (out, in, kernel) with the last tap on the present day, as `eqx.nn.Conv1d`.
    """

    weight: Float[Array, "out features kernel"]
    bias: Float[Array, "out 1"]

    def __init__(self, in_features: int, out_features: int, kernel: int, *, key: PRNGKeyArray):
        conv = eqx.nn.Conv1d(in_features, out_features, kernel, key=key)
        self.weight, self.bias = conv.weight, conv.bias

    def __call__(self, x: FeatureSeries) -> Float[Array, "time out"]:
        kernel = self.weight.shape[-1]
        x = jnp.pad(x.astype(self.weight.dtype), ((kernel - 1, 0), (0, 0)))
        days = x.shape[0] - kernel + 1
        lagged = jnp.stack([x[j : j + days] for j in range(kernel)], axis=-1)  # (time, in, k)
        return jnp.einsum("tck,ock->to", lagged, self.weight) + self.bias[:, 0]


class ConvHead(eqx.Module):
    """The two-layer Conv1D head of Jiang et al. (2020): `filters` causal filters over a
    `kernel`-day lag with ELU, then a 1x1 convolution to one output series."""

    hidden: CausalConv1d
    output: CausalConv1d

    def __init__(self, in_features: int, *, filters: int = 8, kernel: int = 10, key: PRNGKeyArray):
        k1, k2 = jax.random.split(key)
        self.hidden = CausalConv1d(in_features, filters, kernel, key=k1)
        self.output = CausalConv1d(filters, 1, 1, key=k2)

    def __call__(self, x: FeatureSeries) -> Float[Array, " time"]:
        return self.output(jax.nn.elu(self.hidden(x)))[:, 0]


class MLP(eqx.Module):
    """A fully connected network applied to each time step (or to one feature vector)."""

    mlp: eqx.nn.MLP

    def __init__(
        self, in_features: int, out_features: int, *, width: int = 32, depth: int = 2, key
    ):
        self.mlp = eqx.nn.MLP(in_features, out_features, width, depth, jax.nn.relu, key=key)

    def __call__(self, x):
        return self.mlp(x) if x.ndim == 1 else jax.vmap(self.mlp)(x)
