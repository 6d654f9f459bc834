"""Implicit Euler with the per-step adjoint of δHBV.adj (Song et al. 2024): Newton forward,
the implicit function theorem backward.

Each step solves S1 = S0 + h f(S1, θ) by Newton's method. Its derivative does not go
through the Newton iterations: the implicit function theorem gives, at the root,

    (I - h ∂f/∂S) dS1 = dS0 + h ∂f/∂θ dθ,

one linear solve per step (forward mode), whose transpose, (I - h ∂f/∂S)^T λ = S1̄, is the
step's adjoint (reverse mode: dS0̄ = λ, θ̄ = h (∂f/∂θ)^T λ). The Jacobian is computed at the
root from primal values only, so the rule is linear in the tangents and JAX transposes it.

Basins never interact, and a model's parallel components (HBV's `nmul`) neither, so the
Jacobian is block-diagonal with one (state x state) block per basin and component. Each
Newton iteration linearises the step once and applies that to one tangent per state (MHPI's
`batchJacobian` does the same), then solves every block by LU: five Jacobian-vector products
for HBV, however many basins and components.
"""

from __future__ import annotations

import math

import equinox as eqx
import equinox.internal as eqxi
import jax
import jax.numpy as jnp

from ._adjoint import materialise
from ._solvers import AbstractSolver
from ._types import check_flag, check_number, is_concrete


class ImplicitEuler(AbstractSolver):
    """Implicit (backward) Euler with fixed steps, Newton's method and the per-step adjoint.

    The scheme of MHPI's δHBV.adj (`HbvAdj`; Song et al. 2024, HESS 28, 3051-3077): with one
    step a day, S[t+1] = S[t] + dS/dt(S[t+1], F[t]). Each step's root is found by full Newton
    iterations (a fresh Jacobian each iteration: diffrax's default chord iteration keeps the
    first one and stalls across HBV's thresholds), and differentiated by the implicit function
    theorem, not through the iterations (see the module's docstring). Every dgeo sensitivity
    method applies; `Adjoint()` is the discrete adjoint of δHBV.adj, the days checkpointed.

    The state after a step is S0 + h dS/dt(S1) with the fluxes at the root S1, so the water
    balance closes to rounding; it differs from S1 by the Newton residual.

    **Arguments:**

    - `substeps`: implicit steps per day (1, as δHBV.adj). The day's fluxes are the mean of
      the steps' fluxes.
    - `rtol`, `atol`: Newton stops for a basin and component once its update is below
      `atol + rtol (|S1| + |S0| + |h dS/dt|)` in every state (mm). rtol is floored at 10^3 x
      the dtype's machine epsilon (1.2e-4 in float32): Newton converges quadratically, so
      the error left is far below the last update.
    - `max_newton_steps`: a step that has not converged after this many iterations fails
      the day (reported in the trajectory, as an adaptive solver's failed day).
    - `differentiate_newton`: False (default) differentiates each step by the implicit
      function theorem. True backpropagates through the Newton iterations instead (reverse
      mode only; more memory, second derivatives of the rates): the baseline of
      `benchmarks/bench_hbv_implicit.py`, and a check that the default does otherwise.

    The Jacobian is taken block by block: it assumes that the rates of one basin and
    component depend on that basin's and component's states only, true of `ExpHydro` and
    `HbvOde` and of flux networks applied per element. For a model whose components
    interact, use `Continuous(diffrax.ImplicitEuler(), substeps=1)`, which solves each basin's
    states as one dense system (and is several times slower). All states must share one shape.
    """

    substeps: int = 1
    rtol: float = 1e-8
    atol: float = 1e-8
    max_newton_steps: int = 20
    differentiate_newton: bool = False

    def __check_init__(self):
        check_number(self.substeps, "ImplicitEuler.substeps", integer=True)
        check_number(self.rtol, "ImplicitEuler.rtol", rule="a tolerance such as 1e-8")
        check_number(self.atol, "ImplicitEuler.atol", rule="a tolerance in mm such as 1e-8")
        check_number(self.max_newton_steps, "ImplicitEuler.max_newton_steps", integer=True)
        check_flag(self.differentiate_newton, "ImplicitEuler.differentiate_newton")
        for name in ("substeps", "max_newton_steps"):
            value = getattr(self, name)
            if is_concrete(value) and value < 1:
                raise ValueError(f"ImplicitEuler.{name} must be at least 1, got {value}")
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if is_concrete(value) and not 0 <= value < math.inf:
                raise ValueError(
                    f"ImplicitEuler.{name} must be 0 or more and finite, got {value!r}"
                )

    @property
    def implicit(self) -> bool:
        return True

    def day(self, model, state, forcing, params, adjoint):
        del adjoint  # the step's derivative is its own (implicit function theorem)
        shapes = {name: jnp.shape(state[name]) for name in model.states}
        if len(set(shapes.values())) != 1:
            raise ValueError(
                f"ImplicitEuler solves each basin's and component's states together and needs "
                f"them in one shape; {type(model).__name__}'s states have shapes {shapes}"
            )
        dyn, static = eqx.partition(model, eqx.is_inexact_array)
        like = state[model.states[0]]
        h = jnp.asarray(1.0 / self.substeps, like.dtype)
        rtol = max(float(self.rtol), 1000 * float(jnp.finfo(like.dtype).eps))
        config = dict(
            field=_Field(static, model.states), h=h, rtol=rtol, atol=self.atol,
            max_steps=self.max_newton_steps,
        )  # fmt: skip
        theta = (dyn, forcing, params)

        def step(start):
            if self.differentiate_newton:
                root, ok = _newton(start, theta, kind="checkpointed", **config)
            else:
                root, ok = _implicit_root(start, theta, **config)
            tendency, fluxes = config["field"].rates(root, theta)
            end = {name: start[name] + h * tendency[name] for name in model.states}
            return end, fluxes, ok

        if self.substeps == 1:
            end, fluxes, ok = step(state)
            return end, fluxes, ok

        def substep(carry, _):
            start, total, ok = carry
            end, fluxes, converged = step(start)
            total = jax.tree_util.tree_map(lambda a, b: a + h * b, total, fluxes)
            return (end, total, ok * converged), None

        zeros = {name: jnp.zeros_like(like) for name in model.fluxes}
        ones = jnp.ones((), like.dtype)
        (end, fluxes, ok), _ = jax.lax.scan(substep, (state, zeros, ones), None, self.substeps)
        return end, fluxes, ok


class _Field(eqx.Module):
    """The model's rates as a function of (states, θ = (model arrays, forcing, parameters))."""

    static: eqx.Module
    names: tuple[str, ...] = eqx.field(static=True)

    def rates(self, state, theta):
        dyn, forcing, params = theta
        return eqx.combine(dyn, self.static).rates(state, forcing, params)

    def tendency(self, stacked, theta):
        """dS/dt as a (..., state) array of the states stacked on the last axis."""
        state = {name: stacked[..., i] for i, name in enumerate(self.names)}
        rates, _ = self.rates(state, theta)
        return jnp.stack([rates[name] for name in self.names], axis=-1)


def _stack(state, names):
    return jnp.stack([state[name] for name in names], axis=-1)


def _blocks(function, x):
    """(function(x), its Jacobian's diagonal blocks (..., state, state)) for a function that
    acts on each basin and component separately: one linearisation, one tangent per state."""
    value, linear = jax.linearize(function, x)
    n = x.shape[-1]
    eye = jnp.eye(n, dtype=x.dtype).reshape(n, *(1,) * (x.ndim - 1), n)
    tangents = jnp.broadcast_to(eye, (n, *x.shape))  # tangent k: 1 in state k everywhere
    columns = jax.vmap(linear)(tangents)  # (state k, ..., state i) = d value_i / d x_k
    return value, jnp.moveaxis(columns, 0, -1)


def _solve_blocks(matrix, vector):
    """x with matrix @ x = vector for every block (..., n, n): Gaussian elimination with
    partial pivoting, unrolled over the n rows and vectorised over the blocks (2.6x faster
    than LAPACK's per-matrix LU for 4800 blocks of 5 x 5 on CPU). Linear in `vector`, so
    reverse mode transposes it (the adjoint's solve with the transposed blocks)."""
    n = matrix.shape[-1]
    rows = [[matrix[..., i, j] for j in range(n)] + [vector[..., i]] for i in range(n)]
    for k in range(n):
        best, size = jnp.full(vector.shape[:-1], k), jnp.abs(rows[k][k])
        for i in range(k + 1, n):  # the row with the largest |entry| in column k
            bigger = jnp.abs(rows[i][k]) > size
            best, size = jnp.where(bigger, i, best), jnp.where(bigger, jnp.abs(rows[i][k]), size)
        pivot = [
            sum(jnp.where(best == i, rows[i][j], 0.0) for i in range(k, n)) for j in range(n + 1)
        ]
        for i in range(k + 1, n):
            rows[i] = [jnp.where(best == i, rows[k][j], rows[i][j]) for j in range(n + 1)]
        rows[k] = pivot
        for i in range(k + 1, n):
            factor = rows[i][k] / rows[k][k]
            rows[i] = [rows[i][j] - factor * rows[k][j] if j > k else 0.0 for j in range(n + 1)]
    solution = [None] * n
    for i in reversed(range(n)):
        value = rows[i][n]
        for j in range(i + 1, n):
            value = value - rows[i][j] * solution[j]
        solution[i] = value / rows[i][i]
    return jnp.stack(solution, axis=-1)


def _newton(start, theta, *, field, h, rtol, atol, max_steps, kind="lax"):
    """(S1, converged as 1.0 or 0.0) with S1 = S0 + h f(S1, θ), by Newton's method."""
    s0 = _stack(start, field.names)
    residual = lambda s: s - s0 - h * field.tendency(s, theta)
    guess = s0 + h * field.tendency(s0, theta)  # explicit Euler predicts
    done = jnp.zeros(s0.shape[:-1], bool)

    def body(carry):
        s, done, _, count = carry
        value, jacobian = _blocks(residual, s)
        update = _solve_blocks(jacobian, value)
        scale = jnp.abs(s) + jnp.abs(s0) + jnp.abs(s - s0 - value)  # |h f| = |S1 - S0 - F|
        small = jnp.all(jnp.abs(update) <= atol + rtol * scale, axis=-1)
        s = jnp.where(done[..., None], s, s - update)
        return s, done | small, jnp.all(done | small), count + 1

    def cond(carry):
        _, _, finished, count = carry
        return ~finished & (count < max_steps)

    init = (guess, done, jnp.array(False), jnp.array(0))
    s, done, _, _ = eqxi.while_loop(cond, body, init, max_steps=max_steps, kind=kind)
    ok = jnp.all(done) & jnp.all(jnp.isfinite(s))
    root = {name: s[..., i] for i, name in enumerate(field.names)}
    return root, jnp.where(ok, 1.0, 0.0).astype(s.dtype)


@eqx.filter_custom_jvp
def _implicit_root(start, theta, *, field, h, rtol, atol, max_steps):
    return _newton(start, theta, field=field, h=h, rtol=rtol, atol=atol, max_steps=max_steps)


@_implicit_root.def_jvp
def _implicit_root_jvp(primals, tangents, *, field, h, rtol, atol, max_steps):
    """(I - h ∂f/∂S) dS1 = dS0 + h ∂f/∂θ dθ at the root: linear in the tangents."""
    start, theta = primals
    d_start, d_theta = tangents
    root, ok = _newton(start, theta, field=field, h=h, rtol=rtol, atol=atol, max_steps=max_steps)
    s1 = jax.lax.stop_gradient(_stack(root, field.names))
    rhs = jnp.zeros_like(s1)
    if d_start is not None:
        rhs = rhs + _stack(materialise(d_start, start), field.names)
    if d_theta is not None:
        d_theta = materialise(d_theta, theta)
        _, d_rates = jax.jvp(lambda th: field.tendency(s1, th), (theta,), (d_theta,))
        rhs = rhs + h * d_rates
    _, jacobian = _blocks(lambda s: s - h * field.tendency(s, theta), s1)
    d_s1 = _solve_blocks(jax.lax.stop_gradient(jacobian), rhs)
    d_root = {name: d_s1[..., i] for i, name in enumerate(field.names)}
    return (root, ok), (d_root, None)
