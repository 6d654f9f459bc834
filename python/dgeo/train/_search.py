"""A global start for gradient descent: random search over the physical parameter bounds.

The physical model's loss surface has many local optima (thresholds, a storage capacity that
trades off against a recession rate), so one random start per basin often ends in a poor one.
The forward model is cheap, so thousands of parameter sets per basin are scored first and the
best few become the starts of gradient training.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ..physics import PhysicalModel
from ..solve import integrate
from ._windows import Series


def search_starts(
    physics: PhysicalModel,
    train: Series,
    *,
    samples: int,
    starts: int,
    key,
    spinup_days: int = 365,
    chunk: int = 250,
) -> np.ndarray:
    """The `starts` best of `samples` uniform random parameter sets per basin.

    Each set runs the whole (basin, time) training series once from empty stores; the score
    is the sum of squared errors after `spinup_days` (NaN observations masked), which ranks
    sets like NSE does within a basin. A set gives every component of a basin the same value,
    and a dynamic parameter the same value every day. Returns (basin, starts, parameter) fractions of each
    parameter's bound interval, best first.
    """
    if physics.dynamic:  # a set is one value per parameter: dynamic ones held fixed in time
        physics = dataclasses.replace(physics, dynamic=())
    n_basins, days = train.qobs.shape
    n_params = len(physics.parameters)
    lower = jnp.asarray([p.lower for p in physics.parameters])
    upper = jnp.asarray([p.upper for p in physics.parameters])
    chunk = min(chunk, samples)
    samples = -(-samples // chunk) * chunk  # whole chunks: one compiled shape
    fractions = jax.random.uniform(key, (samples, n_basins, n_params), minval=0.02, maxval=0.98)
    qobs = train.qobs.T
    weight = (np.isfinite(qobs) & (np.arange(days)[:, None] >= spinup_days)).astype(np.float32)
    forcing = {name: jnp.asarray(train.inputs[name].T) for name in physics.forcings}
    forcing["qobs"] = jnp.asarray(np.nan_to_num(qobs))
    forcing["weight"] = jnp.asarray(weight)

    def squared_error(values, f):
        return f["weight"] * (values["q"] - f["qobs"]) ** 2

    @jax.jit
    def score(fraction):  # (chunk, basin, parameter) -> (chunk, basin)
        def one(fr):
            values = (lower + (upper - lower) * fr).astype(forcing["qobs"].dtype)
            params = {p.name: values[:, i] for i, p in enumerate(physics.parameters)}
            trajectory = integrate(physics, forcing, params, save=(), accumulate=squared_error)
            return trajectory.total

        return jax.vmap(one)(fraction)

    scores = np.concatenate(
        [np.asarray(score(fractions[i : i + chunk])) for i in range(0, samples, chunk)]
    )
    scores = np.where(np.isfinite(scores), scores, np.inf)
    best = np.argsort(scores, axis=0)[:starts]  # (starts, basin)
    return np.asarray(fractions)[best, np.arange(n_basins)[None, :]].transpose(1, 0, 2)
