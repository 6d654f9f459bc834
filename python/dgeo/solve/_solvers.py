"""Solvers advance a physical model by one day; every solver uses the model's one flux function."""

from __future__ import annotations

import abc
import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import optimistix as optx

from ..physics import PhysicalModel
from ._adjoint import InterpolatingAdjoint
from ._types import check_flag, check_number, diffrax_solver_name, is_concrete, type_error

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
    rounding because the same fluxes make the state update. A model that supplies its own
    daily update (`PhysicalModel.step`, e.g. HBV's operator split) is advanced by it instead.
    """

    def day(self, model, state, forcing, params, adjoint):
        if model.has_step:
            new_state, fluxes = model.step(state, forcing, params)
            return {k: new_state[k] for k in model.states}, fluxes, True
        tendency, fluxes = model.rates(state, forcing, params)
        return {k: state[k] + tendency[k] for k in model.states}, fluxes, True


# diffrax's marker for "take this tolerance (or norm) from the step-size controller".
_FROM_CONTROLLER = diffrax.with_stepsize_controller_tols(diffrax.VeryChord)().rtol


def _default_chord(solver) -> bool:
    """Whether `solver` is implicit Euler with diffrax's default root finder (a chord
    iteration taking its tolerances from the step-size controller)."""
    finder = getattr(solver, "root_finder", None)
    return (
        isinstance(solver, diffrax.ImplicitEuler)
        and type(finder) is optx.Chord
        and finder.rtol is _FROM_CONTROLLER
    )


class Continuous(AbstractSolver):
    """Integrate dS/dt = f(S, F(day)) over each day with a diffrax solver.

    Forcing is held constant over the day, so each day is a smooth ODE and steps are aligned
    to day boundaries by construction, with no jump handling inside the solver. The day's
    fluxes are their integrals over the day (quadrature states integrated with S), so the
    water balance closes to the solver tolerance.

    **Arguments:**

    - `solver`: any diffrax solver, e.g. `diffrax.Tsit5()`, `diffrax.Dopri5()` or the implicit
      `diffrax.Kvaerno5()` and `diffrax.ImplicitEuler()`. Implicit Euler left with diffrax's
      default root finder (a chord iteration) gets full Newton instead, with the same
      tolerances: with one step a day the chord iteration failed on 311 of 731 days of HBV
      (`HbvOde`) on two CAMELS basins (382 at rtol 1e-8), Newton on none. Gradients through an implicit solver's root finds are
      by the implicit function theorem (optimistix's `ImplicitAdjoint`, diffrax's default),
      not through the iterations. `dgeo.ImplicitEuler()` is the faster fixed-step scheme.
    - `rtol`, `atol`: tolerances of the adaptive step-size controller, and of an implicit
      solver's Newton iteration unless its root finder was given its own (in float32 the
      Newton rtol is floored, see `configure`; also with `substeps`).
    - `substeps`: if given, take this many fixed steps per day instead of adaptive ones.
    - `max_steps_per_day`: upper bound on adaptive steps per day.
    - `per_basin`: solve each basin on its own (vmap) rather than all basins in one solve.
      None (default) means yes for implicit solvers: one joint solve gives Newton a dense
      Jacobian over all basins, whose cost grows with their square and cube (a year of 100
      basins: 32 s jointly, 1.1 s per basin, benchmarks/results/implicit.md). Explicit
      solvers are faster jointly (0.031 s against 0.064 s there), with one step size and the
      error measured over all basins, so a basin's result depends, within the tolerance, on
      the others in the batch; per basin it does not.
    """

    solver: diffrax.AbstractSolver = diffrax.Tsit5()
    rtol: float = 1e-5
    atol: float = 1e-5
    substeps: int | None = None
    max_steps_per_day: int = 64
    per_basin: bool | None = None

    def __check_init__(self):
        # Types first (TypeError naming the field), then values where they are known (a
        # Continuous built under vmap holds tracers).
        if not isinstance(self.solver, diffrax.AbstractSolver):
            hint = None
            if isinstance(self.solver, str):
                found = diffrax_solver_name(self.solver) or "Tsit5"
                hint = f"pass the solver object, e.g. diffrax.{found}()"
            elif isinstance(self.solver, type) and issubclass(self.solver, diffrax.AbstractSolver):
                hint = f"call the class: diffrax.{self.solver.__name__}()"
            raise type_error(
                "Continuous.solver",
                "a diffrax solver object such as diffrax.Tsit5() or diffrax.Kvaerno5()",
                self.solver,
                hint,
            )
        check_number(self.rtol, "Continuous.rtol", rule="a tolerance such as 1e-5")
        check_number(self.atol, "Continuous.atol", rule="a tolerance such as 1e-5")
        check_number(self.substeps, "Continuous.substeps", integer=True, optional=True)
        check_number(self.max_steps_per_day, "Continuous.max_steps_per_day", integer=True)
        if self.per_basin is not None:
            check_flag(self.per_basin, "Continuous.per_basin")
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if is_concrete(value) and not 0 <= value < math.inf:
                raise ValueError(f"Continuous.{name} must be 0 or more and finite, got {value!r}")
        if self.substeps is not None and is_concrete(self.substeps) and self.substeps < 1:
            raise ValueError(
                f"Continuous.substeps must be a positive integer or None, got {self.substeps}"
            )
        steps = self.max_steps_per_day
        if is_concrete(steps) and steps < 1:
            raise ValueError(f"Continuous.max_steps_per_day must be at least 1, got {steps}")

    @property
    def implicit(self) -> bool:
        return isinstance(self.solver, diffrax.AbstractImplicitSolver)

    def controller(self):
        """(step-size controller, first step, maximum steps) for one day."""
        if self.substeps is not None:
            return diffrax.ConstantStepSize(), 1.0 / self.substeps, self.substeps
        controller = diffrax.PIDController(rtol=self.rtol, atol=self.atol)
        return controller, 0.5, self.max_steps_per_day

    def configure(self, dtype):
        """(solver, step-size controller, first step, maximum steps) for states of `dtype`.

        The first step is in `dtype`, which sets diffrax's time dtype: float64 times (x64 on)
        would promote float32 states.

        An implicit solver's root finder gets the tolerances diffrax would take from the
        controller (diffrax refuses fixed steps without them), with rtol floored at 10^4 x
        the dtype's machine epsilon. Newton's stopping test asks for changes below 1 % of
        its tolerance, which float32 cannot resolve at rtol = 1e-5 on storages of tens of
        mm: the iteration stalls at rounding, every step is rejected and the day fails (26
        days on the 26 CAMELS basins). Floored at 1.2e-3, the test asks for ~1e-5; float64
        is unchanged. Tolerances the root finder was given are left alone.
        """
        controller, dt0, max_steps = self.controller()
        solver = self.solver
        finder = getattr(solver, "root_finder", None)
        if _default_chord(solver):
            # Implicit Euler's default root finder, diffrax's chord iteration, keeps the
            # Jacobian of the step's start; across HBV's thresholds (a store emptying, the soil
            # filling) it stalls. Full Newton, a fresh Jacobian each iteration, does not.
            fields = ("rtol", "atol", "norm", "kappa", "linear_solver", "cauchy_termination")
            finder = optx.Newton(**{name: getattr(finder, name) for name in fields})
            solver = eqx.tree_at(lambda s: s.root_finder, solver, finder)
        values = {
            "rtol": max(self.rtol, 10_000 * float(jnp.finfo(dtype).eps)),
            "atol": self.atol,
            "norm": diffrax.PIDController(rtol=self.rtol, atol=self.atol).norm,
        }
        for name, value in values.items():
            if getattr(finder, name, None) is _FROM_CONTROLLER:
                solver = eqx.tree_at(lambda s, n=name: getattr(s.root_finder, n), solver, value)
        return solver, controller, jnp.asarray(dt0, dtype), max_steps

    def solve(self, model, state, forcing, params, adjoint, *, dense=False) -> diffrax.Solution:
        """diffrax's solution of one day: y = (states, flux integrals) from t = 0 to 1."""

        def vector_field(t, y, args):
            return model.rates(y[0], *args)

        like = state[model.states[0]]
        zeros = {name: jnp.zeros_like(like) for name in model.fluxes}
        solver, controller, dt0, max_steps = self.configure(like.dtype)
        return diffrax.diffeqsolve(
            diffrax.ODETerm(vector_field),
            solver,
            t0=0.0,
            t1=1.0,
            dt0=dt0,
            y0=(state, zeros),
            args=(forcing, params),
            stepsize_controller=controller,
            adjoint=adjoint,
            max_steps=max_steps,
            saveat=diffrax.SaveAt(t1=True, dense=dense),
            throw=False,  # a failed day is reported in the trajectory, not raised under jit
        )

    def day(self, model, state, forcing, params, adjoint):
        per_basin = self.implicit if self.per_basin is None else self.per_basin
        # Basins never interact: one solve per basin, down to the forcing's basin axes (a
        # model's components, a trailing axis of its states, are solved together).
        if per_basin and jnp.ndim(next(iter(forcing.values()))):
            rest = {k: v for k, v in params.items() if k not in model.parameter_names}
            per = {k: params[k] for k in model.parameter_names}
            one = lambda s, f, p: self.day(model, s, f, {**rest, **p}, adjoint)
            return jax.vmap(one)(state, forcing, per)
        if isinstance(adjoint, InterpolatingAdjoint):
            return adjoint.solve_day(self, model, state, forcing, params)
        solution = self.solve(model, state, forcing, params, adjoint)
        end_state, integrals = jax.tree_util.tree_map(lambda x: x[0], solution.ys)
        return end_state, integrals, solution.result == diffrax.RESULTS.successful
