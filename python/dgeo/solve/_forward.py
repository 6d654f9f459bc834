"""Forward-mode sensitivities exposed as a reverse-mode rule, so `jax.grad` works unchanged.

The forward pass runs one Jacobian-vector product per parameter *name* (tangent one for every
basin at once: basins never interact, so the Jacobian is block-diagonal) and one per shared
weight; the backward pass contracts those tangents with the output cotangent.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp


def _directions(params, dyn):
    """Stacked tangents: one per parameter name, then one per element of the shared weights."""
    names = sorted(params)
    param_dirs = {
        name: jnp.stack([jnp.full_like(params[name], float(n == name)) for n in names])
        for name in params
    }
    leaves, treedef = jax.tree_util.tree_flatten(dyn)
    sizes = [leaf.size for leaf in leaves]
    total = sum(sizes)
    k = len(names) + total
    param_dirs = {
        name: jnp.concatenate([d, jnp.zeros((total, *d.shape[1:]), d.dtype)])
        for name, d in param_dirs.items()
    }
    eye = jnp.eye(total, dtype=leaves[0].dtype) if total else None
    dyn_dirs, offset = [], 0
    for leaf, size in zip(leaves, sizes, strict=True):
        block = eye[:, offset : offset + size].reshape(total, *leaf.shape)
        dyn_dirs.append(jnp.concatenate([jnp.zeros((len(names), *leaf.shape), leaf.dtype), block]))
        offset += size
    return k, param_dirs, jax.tree_util.tree_unflatten(treedef, dyn_dirs)


def _per_basin(cotangent, tangent):
    """<cotangent, tangent> summed over time (series) but kept per basin."""
    series = jax.tree_util.tree_map(
        lambda c, t: jnp.sum(c * t, axis=0), cotangent.series, tangent.series
    )
    final = jax.tree_util.tree_map(lambda c, t: c * t, cotangent.final_state, tangent.final_state)
    parts = jax.tree_util.tree_leaves(series) + jax.tree_util.tree_leaves(final)
    if cotangent.total is not None:
        parts.append(cotangent.total * tangent.total)
    return sum(parts)


def forward_mode(run, model, params, forcing, initial_state):
    """Run `run(model, params, forcing, initial_state)` differentiable by forward mode."""
    dyn, static = eqx.partition(model, eqx.is_inexact_array)
    forcing = jax.lax.stop_gradient(forcing)
    initial_state = jax.lax.stop_gradient(initial_state)
    names = sorted(params)

    def call(dyn, params):
        return run(eqx.combine(dyn, static), params, forcing, initial_state)

    @jax.custom_vjp
    def differentiable(dyn, params):
        return call(dyn, params)

    def fwd(dyn, params):
        k, param_dirs, dyn_dirs = _directions(params, dyn)
        primal = call(dyn, params)

        def tangent(i):
            t_params = {name: d[i] for name, d in param_dirs.items()}
            t_dyn = jax.tree_util.tree_map(lambda d: d[i], dyn_dirs)
            return jax.jvp(call, (dyn, params), (t_dyn, t_params))[1]

        tangents = jax.lax.map(tangent, jnp.arange(k))
        return primal, (tangents, dyn)

    def bwd(residuals, cotangent):
        tangents, dyn = residuals
        per_direction = jax.vmap(lambda t: _per_basin(cotangent, t))(tangents)
        grads = {name: per_direction[i] for i, name in enumerate(names)}
        leaves, treedef = jax.tree_util.tree_flatten(dyn)
        weights = per_direction[len(names) :]
        flat = jnp.sum(weights.reshape(weights.shape[0], -1), axis=1) if leaves else weights
        dyn_grads, offset = [], 0
        for leaf in leaves:
            dyn_grads.append(flat[offset : offset + leaf.size].reshape(leaf.shape))
            offset += leaf.size
        return jax.tree_util.tree_unflatten(treedef, dyn_grads), grads

    differentiable.defvjp(fwd, bwd)
    return differentiable(dyn, params)
