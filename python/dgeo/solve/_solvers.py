"""Solvers advance a physical model by one day; every solver uses the model's one flux function."""

from __future__ import annotations

import abc

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from ..physics import PhysicalModel
from ._adjoint import InterpolatingAdjoint

State = dict  # state name -> values over basins


class AbstractSolver(eqx.Module):
    """Advances the states of a physical model over one day of piecewise-constant forcing."""

    @abc.abstractmethod
    def day(
        self,
        model: PhysicalModel,
        state: State,
        forcing: dict,
        params: dict,
        adjoint: diffrax.AbstractAdjoint,
    ) -> tuple[State, dict, jax.Array | bool]:
        """Return (state at the end of the day, the day's fluxes in mm/day, solver succeeded)."""


class Discrete(AbstractSolver):
    """The explicit daily step of the P-RNN (Jiang et al. 2020): S[t+1] = S[t] + dS/dt(S[t], F[t]).

    The day's fluxes are evaluated at the start-of-day state; the water balance closes to
    rounding because the same fluxes make the state update.
    """

    def day(self, model, state, forcing, params, adjoint):
        tendency, fluxes = model.rates(state, forcing, params)
        return {k: state[k] + tendency[k] for k in model.states}, fluxes, True


class Continuous(AbstractSolver):
    """Integrate dS/dt = f(S, F(day)) over each day with a diffrax solver.

    Forcing is held constant over the day, so each day is a smooth ODE and steps are aligned
    to day boundaries by construction, with no jump handling inside the solver. The day's
    fluxes are their integrals over the day (quadrature states integrated with S), so the
    water balance closes to the solver tolerance.

    Explicit solvers advance all basins in one solve with one step size, the error measured
    over all of them; implicit ones solve each basin on its own (see `day`), so a basin's
    result does not depend on the other basins in the batch.

    **Arguments:**

    - `solver`: any diffrax solver, e.g. `diffrax.Tsit5()`, `diffrax.Dopri5()` or the implicit
      `diffrax.Kvaerno5()`.
    - `rtol`, `atol`: tolerances of the adaptive step-size controller.
    - `substeps`: if given, take this many fixed steps per day instead of adaptive ones.
    - `max_steps_per_day`: upper bound on adaptive steps per day.
    """

    solver: diffrax.AbstractSolver = diffrax.Tsit5()
    rtol: float = 1e-5
    atol: float = 1e-5
    substeps: int | None = None
    max_steps_per_day: int = 64

    def __check_init__(self):
        if self.substeps is not None and self.substeps < 1:
            raise ValueError(f"substeps must be a positive integer, got {self.substeps}")

    def controller(self):
        """(step-size controller, first step, maximum steps) for one day."""
        if self.substeps is not None:
            return diffrax.ConstantStepSize(), 1.0 / self.substeps, self.substeps
        controller = diffrax.PIDController(rtol=self.rtol, atol=self.atol)
        return controller, 0.5, self.max_steps_per_day

    def solver_for(self, dtype) -> diffrax.AbstractSolver:
        """`solver` for states of `dtype`: an implicit solver gets its Newton tolerances here.

        diffrax gives the Newton iteration the step-size controller's tolerances (and refuses
        fixed steps). Its stopping test needs the iterates to change by less than 1 % of
        those tolerances, which float32 cannot resolve at rtol = 1e-5 on storages of tens
        of mm: the iteration stalls at rounding, every step is rejected and the day fails
        (one day in 35 years on the README's two basins). The relative tolerance is floored
        at 10^4 x the dtype's machine epsilon (1.2e-3 in float32, so the test asks for ~1e-5;
        no change in float64), and fixed `substeps` use `rtol`, `atol` too. A root finder the
        user set is left alone.
        """
        finder = getattr(self.solver, "root_finder", None)
        # diffrax marks "take the controller's tolerances" with a sentinel, not a number.
        if not isinstance(finder, diffrax.VeryChord) or isinstance(finder.rtol, (int, float)):
            return self.solver
        rtol = max(self.rtol, 10_000 * float(jnp.finfo(dtype).eps))
        norm = diffrax.PIDController(rtol=self.rtol, atol=self.atol).norm
        chord = diffrax.VeryChord(rtol=rtol, atol=self.atol, norm=norm)
        return eqx.tree_at(lambda s: s.root_finder, self.solver, chord)

    def solve(self, model, state, forcing, params, adjoint, *, dense=False) -> diffrax.Solution:
        """diffrax's solution of one day: y = (states, flux integrals) from t = 0 to 1."""

        def vector_field(t, y, args):
            return model.rates(y[0], *args)

        like = state[model.states[0]]
        zeros = {name: jnp.zeros_like(like) for name in model.fluxes}
        controller, dt0, max_steps = self.controller()
        # Times in the states' dtype: float64 times (x64 on) would promote float32 states.
        time = lambda t: jnp.asarray(t, like.dtype)
        return diffrax.diffeqsolve(
            diffrax.ODETerm(vector_field),
            self.solver_for(like.dtype),
            t0=time(0.0),
            t1=time(1.0),
            dt0=time(dt0),
            y0=(state, zeros),
            args=(forcing, params),
            stepsize_controller=controller,
            adjoint=adjoint,
            max_steps=max_steps,
            saveat=diffrax.SaveAt(t1=True, dense=dense),
            throw=False,  # a failed day is reported in the trajectory, not raised under jit
        )

    def day(self, model, state, forcing, params, adjoint):
        if isinstance(self.solver, diffrax.AbstractImplicitSolver) and state[model.states[0]].ndim:
            # Basins never interact, but one joint solve would give Newton a dense Jacobian of
            # (basins x (states + fluxes))^2 entries and an LU of its cube: a year of 100 basins
            # took 32 s jointly, 1.1 s basin by basin (benchmarks/results/implicit.md), where
            # each basin also gets its own step sizes and is held to the tolerance on its own.
            one = lambda s, f, p: self.day(model, s, f, p, adjoint)
            return jax.vmap(one)(state, forcing, params)
        if isinstance(adjoint, InterpolatingAdjoint):
            return adjoint.solve_day(self, model, state, forcing, params)
        solution = self.solve(model, state, forcing, params, adjoint)
        end_state, integrals = jax.tree_util.tree_map(lambda x: x[0], solution.ys)
        return end_state, integrals, solution.result == diffrax.RESULTS.successful
