"""The array-level integrator: time-major, jit/grad/vmap-friendly. `simulate` wraps it for xarray."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._typing import Basins, BasinSeries
from ..physics import PhysicalModel
from ._forward import forward_mode
from ._sensitivity import AbstractSensitivity, Adjoint, Backprop, Forward
from ._solvers import AbstractSolver, Discrete
from ._types import (
    check_array,
    check_callable,
    check_mapping,
    check_names,
    check_physical_model,
    check_sensitivity,
    check_solver,
)

#: A per-step contribution to a running sum: (states and fluxes of the day, forcing of the day)
#: -> values over basins. Lets a loss stream through the loop instead of storing the series.
Accumulator = Callable[[dict[str, Array], dict[str, Array]], Array]


class Trajectory(eqx.Module):
    """What `integrate` returns.

    - `series`: name -> (time, basin) values: start-of-day states and the day's fluxes.
    - `final_state`: name -> (basin,) states after the last day.
    - `total`: (basin,) sum over days of the accumulator, or None.
    - `failed`: (time,) 1 on the days on which an adaptive solver failed, else 0.
    """

    series: dict[str, BasinSeries]
    final_state: dict[str, Basins]
    total: Basins | None
    failed: Float[Array, " time"]

    @property
    def failed_days(self) -> Float[Array, "*batch"]:
        """Number of days on which an adaptive solver failed (0 when all is well); one per
        trajectory for a stack of them (a vmapped `integrate`)."""
        return jnp.sum(self.failed, axis=-1)


def integrate(
    model: PhysicalModel,
    forcing: dict[str, BasinSeries],
    params: dict[str, Basins],
    *,
    solver: AbstractSolver = Discrete(),
    sensitivity: AbstractSensitivity = Backprop(),
    initial_state: dict[str, Basins] | None = None,
    save: Sequence[str] | None = None,
    accumulate: Accumulator | None = None,
) -> Trajectory:
    """Integrate `model` over the days of `forcing` (time-major arrays in model units).

    **Arguments:**

    - `model`: a `PhysicalModel` (may hold learnable flux overrides).
    - `forcing`: name -> (time, basin) arrays with at least `model.forcings`; extra entries
      (observations, weights) are passed to `accumulate`.
    - `params`: name -> (basin,) physical parameters, each basin its own.
    - `solver`: `Discrete()` (the P-RNN daily step) or `Continuous(diffrax solver)`.
    - `sensitivity`: `Backprop()`, `Checkpoint()`, `Adjoint()` or `Forward()`.
    - `initial_state`: name -> (basin,) states; zeros when None.
    - `save`: which states and fluxes to keep as series (default all); saving fewer saves memory.
    - `accumulate`: optional per-day contribution summed into `Trajectory.total`.

    Values are not validated here (this runs under `jit`); `dgeo.simulate` validates. Types
    are: a wrong one is a `TypeError` naming the argument, raised before tracing.
    """
    _check_types(model, forcing, params, solver, sensitivity, initial_state, save, accumulate)
    if isinstance(sensitivity, Adjoint) and isinstance(solver, Discrete):
        raise ValueError(
            "Adjoint() needs a continuous solver: the discrete P-RNN step has no continuous "
            "adjoint, and it cannot be run backwards to recover past states (min and tanh make "
            "it non-invertible), so its discrete adjoint must recompute them from checkpoints, "
            "which is exactly Checkpoint(). Use Checkpoint() for memory that does not grow with T."
        )
    if isinstance(sensitivity, Adjoint) and getattr(solver, "implicit", False):
        raise ValueError(
            f"Adjoint() with the implicit solver {type(solver.solver).__name__} is not supported: "
            "its backward adjoint solve against the interpolated forward solution diverges on "
            "EXP-HYDRO's sharp smooth steps. Use Checkpoint() (exact gradient of the implicit "
            "solution, memory independent of T) or an explicit solver such as Tsit5."
        )
    names = tuple(model.states) + tuple(model.fluxes)
    save = names if save is None else tuple(save)
    unknown = sorted(set(save) - set(names))
    if unknown:
        raise ValueError(f"cannot save {unknown}: known states and fluxes are {list(names)}")
    missing = [name for name in model.forcings if name not in forcing]
    if missing:
        raise ValueError(f"forcing lacks {missing} needed by {type(model).__name__}")
    missing = [name for name in model.parameter_names if name not in params]
    if missing:
        raise ValueError(f"params lack {missing} needed by {type(model).__name__}")
    _check_shapes(model, forcing, params, initial_state)
    like = forcing[next(iter(model.forcings))][0]
    if initial_state is None:
        initial_state = {name: jnp.zeros_like(like) for name in model.states}

    def run(model, params, forcing, initial_state):
        return _scan_days(
            model, params, forcing, initial_state, solver, sensitivity, save, accumulate
        )

    if isinstance(sensitivity, Forward):
        return forward_mode(run, model, params, forcing, initial_state)
    return run(model, params, forcing, initial_state)


def _check_types(model, forcing, params, solver, sensitivity, initial_state, save, accumulate):
    check_physical_model(model)
    check_solver(solver)
    check_sensitivity(sensitivity)
    arrays = "a dict of name -> (time, basin) arrays"
    check_mapping(forcing, "forcing", arrays)
    check_mapping(params, "params", "a dict of parameter name -> (basin,) arrays")
    check_mapping(
        initial_state, "initial_state", "a dict of state name -> (basin,) arrays", optional=True
    )
    for tree, names, label in (
        (forcing, model.forcings, "forcing"),
        (params, model.parameter_names, "params"),
        (initial_state or {}, model.states, "initial_state"),
    ):
        for name in names:
            if name in tree:
                check_array(tree[name], f"{label}[{name!r}]")
    check_names(
        save, "save", "a tuple of state and flux names such as ('q',), or None", optional=True
    )
    check_callable(
        accumulate,
        "accumulate",
        "a function (values, forcing) -> (basin,) values, or None",
        optional=True,
    )


def _check_shapes(model, forcing, params, initial_state) -> None:
    """Shapes are static under `jit`, so this costs nothing: every forcing (time, *basin) with
    one shape and at least one day, every parameter and initial state (*basin)."""
    shapes = {name: jnp.shape(forcing[name]) for name in model.forcings}
    if len(set(shapes.values())) != 1 or not next(iter(shapes.values())):
        raise ValueError(f"forcing arrays must share one (time, basin) shape, got {shapes}")
    days, *basins = next(iter(shapes.values()))
    if days == 0:
        raise ValueError("forcing has no days")
    for kind, tree in (("params", params), ("initial_state", initial_state or {})):
        names = model.parameter_names if kind == "params" else tree
        wrong = {k: jnp.shape(tree[k]) for k in names if jnp.shape(tree[k]) != tuple(basins)}
        if wrong:
            raise ValueError(
                f"{kind} must have the forcing's basin shape {tuple(basins)}, got {wrong}"
            )


def _scan_days(model, params, forcing, initial_state, solver, sensitivity, save, accumulate):
    adjoint = sensitivity.diffrax_adjoint(getattr(solver, "max_steps_per_day", 1))
    drivers = tuple(model.forcings)
    like = forcing[drivers[0]][0]

    def step(carry, forcing_t):
        state, total = carry
        model_forcing = {name: forcing_t[name] for name in drivers}
        new_state, fluxes, ok = solver.day(model, state, model_forcing, params, adjoint)
        values = {**state, **fluxes}
        if accumulate is not None:
            total = total + accumulate(values, forcing_t)
        series = {name: values[name] for name in save}
        if ok is True:  # a solver that cannot fail (the discrete step) adds no output per day
            return (new_state, total), (series, None)
        ok = jnp.all(jax.lax.stop_gradient(jnp.asarray(ok)) > 0)
        return (new_state, total), (series, jnp.where(ok, 0.0, 1.0).astype(like.dtype))

    init = (initial_state, jnp.zeros_like(like))
    (final, total), (series, failed) = sensitivity.scan(step, init, forcing)
    if failed is None:
        failed = jnp.zeros(forcing[drivers[0]].shape[0], like.dtype)
    return Trajectory(series, final, total if accumulate is not None else None, failed)


integrate_jit = eqx.filter_jit(integrate)
