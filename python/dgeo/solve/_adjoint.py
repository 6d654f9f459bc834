"""The continuous adjoint of one day, with the forward solution interpolated (not back-solved).

Backward integration of the state itself (diffrax's `BacksolveAdjoint`) is unstable for these
dissipative buckets with kinks (melt = min(S0, ...)): gradients came out 15 % off. Like
SciMLSensitivity's `InterpolatingAdjoint(checkpointing=true)`, the backward pass re-solves the
day forward from its checkpointed start state with dense output, then integrates the adjoint
ODE backwards from t = 1 to 0 against that interpolant:

    d lambda/dt = -(df/dS)^T [lambda, lambda_I],   d mu/dt = -(df/dtheta)^T [lambda, lambda_I]

where lambda_I, the cotangent of the day's flux integrals, is constant over the day and theta
collects parameters, the day's forcing and any learnable weights of the model.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp


class InterpolatingAdjoint(eqx.Module):
    """Marker a continuous solver recognises: solve each day with the adjoint described above.

    `max_steps`: the backward solve's step budget per day. It needs more steps than the forward
    solve: where a flux has a kink in the state (EXP-HYDRO's melt = min(S0, ...)), the forward
    right-hand side is continuous but the adjoint's, -(df/dS)^T lambda, jumps, and the
    step-size controller resolves the jump with many rejected steps.
    """

    max_steps: int

    def solve_day(self, solver, model, state, forcing, params):
        dyn, static = eqx.partition(model, eqx.is_inexact_array)
        return _day((dyn, state, forcing, params), solver, static, self.max_steps)


def _forward(solver, static, dyn, state, forcing, params, dense):
    _, _, max_steps = solver.controller()
    adjoint = diffrax.RecursiveCheckpointAdjoint(checkpoints=max_steps)
    model = eqx.combine(dyn, static)
    return solver.solve(model, state, forcing, params, adjoint, dense=dense)


def materialise(cotangent, like):
    """Symbolic-zero (None) tangents or cotangents as arrays of zeros shaped like `like`
    (None where `like` itself has None, e.g. the non-array leaves of a partitioned model)."""
    if cotangent is None:
        return jax.tree_util.tree_map(jnp.zeros_like, like)
    return jax.tree_util.tree_map(
        lambda c, x: c if c is not None else None if x is None else jnp.zeros_like(x),
        cotangent,
        like,
        is_leaf=lambda c: c is None,
    )


def _solve(inputs, solver, static, backward_steps):
    dyn, state, forcing, params = inputs
    sol = _forward(solver, static, dyn, state, forcing, params, dense=False)
    end = jax.tree_util.tree_map(lambda x: x[0], sol.ys)
    # The success flag leaves as a float: a bool output has no tangent space to linearise.
    return end[0], end[1], jnp.where(sol.result == diffrax.RESULTS.successful, 1.0, 0.0)


_day = eqx.filter_custom_vjp(_solve)


@_day.def_fwd
def _day_fwd(perturbed, inputs, solver, static, backward_steps):
    return _solve(inputs, solver, static, backward_steps), None


@_day.def_bwd
def _day_bwd(residuals, cotangents, perturbed, inputs, solver, static, backward_steps):
    dyn, state, forcing, params = inputs
    lam_state, lam_flux, _ = cotangents
    like = next(iter(state.values()))
    lam_state = materialise(lam_state, state)
    lam_flux = materialise(lam_flux, {name: like for name in static.fluxes})
    forward = _forward(solver, static, dyn, state, forcing, params, dense=True)
    theta = (dyn, forcing, params)

    def adjoint_field(t, y, args):
        lam, _ = y
        s = forward.evaluate(t)[0]

        def rates(s, theta):
            d, f, p = theta
            return eqx.combine(d, static).rates(s, f, p)

        _, vjp = jax.vjp(rates, s, theta)
        d_state, d_theta = vjp((lam, lam_flux))
        neg = lambda tree: jax.tree_util.tree_map(jnp.negative, tree)
        return neg(d_state), neg(d_theta)

    mu0 = jax.tree_util.tree_map(jnp.zeros_like, theta)
    method, controller, dt0, _ = solver.configure(like.dtype)
    back = diffrax.diffeqsolve(
        diffrax.ODETerm(adjoint_field),
        method,
        t0=1.0,
        t1=0.0,
        dt0=-dt0,
        y0=(lam_state, mu0),
        stepsize_controller=controller,
        max_steps=backward_steps,
        throw=False,
    )
    # A backward solve that ran out of steps (the adjoint ODE can need more steps than the
    # forward one) must not pass for a gradient: its cotangents become NaN, never silently
    # wrong. Raise `Adjoint(backward_steps=...)` when that happens.
    ok = back.result == diffrax.RESULTS.successful
    lam_start, mu = jax.tree_util.tree_map(lambda x: jnp.where(ok, x[0], jnp.nan), back.ys)
    # mu(0) = integral_0^1 (df/dtheta)^T lambda dt = d loss / d theta.
    d_dyn, d_forcing, d_params = mu
    return d_dyn, lam_start, d_forcing, d_params
