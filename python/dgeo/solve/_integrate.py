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
from ._solvers import AbstractSolver, Continuous, Discrete
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
#: One day's dynamic parameters -> the values the model uses that day (see `integrate`).
DailyTransform = Callable[[dict[str, Array]], dict[str, Array]]


class Trajectory(eqx.Module):
    """What `integrate` returns.

    - `series`: name -> (time, basin) values: start-of-day states and the day's fluxes.
    - `final_state`: name -> (basin,) states after the last day (with the component axis of a
      model of parallel components: the state to restart from).
    - `total`: (basin,) sum over days of the accumulator, or None.
    - `failed`: (time,) 1 on the days on which an adaptive solver failed, else 0.
    """

    series: dict[str, BasinSeries]
    final_state: dict[str, Float[Array, "..."]]
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
    params: dict[str, Float[Array, "..."]],
    *,
    solver: AbstractSolver = Discrete(),
    sensitivity: AbstractSensitivity = Backprop(),
    initial_state: dict[str, Float[Array, "..."]] | None = None,
    save: Sequence[str] | None = None,
    accumulate: Accumulator | None = None,
    transform: DailyTransform | None = None,
) -> Trajectory:
    """Integrate `model` over the days of `forcing` (time-major arrays in model units).

    **Arguments:**

    - `model`: a `PhysicalModel` (may hold learnable flux overrides).
    - `forcing`: name -> (time, basin) arrays with at least `model.forcings`; extra entries
      (observations, weights) are passed to `accumulate`.
    - `params`: name -> (basin,) physical parameters, each basin its own; a parameter the
      model declares `dynamic` is (time, basin), one value per day. A model of parallel
      components (`model.shape_of`) takes (basin, component) values, or (basin,) ones that
      every component shares.
    - `solver`: `Discrete()` (the P-RNN daily step) or `Continuous(diffrax solver)`.
    - `sensitivity`: `Backprop()`, `Checkpoint()`, `Adjoint()` or `Forward()`.
    - `initial_state`: name -> (basin,) states (or per component, as `params`); zeros when
      None.
    - `save`: which states and fluxes to keep as series (default all); saving fewer saves memory.
    - `accumulate`: optional per-day contribution summed into `Trajectory.total`.
    - `transform`: optional function applied, inside the daily loop, to each day's values of
      the dynamic parameters (name -> (basin, ...) arrays in, the same names and shapes out).
      `params` then holds those parameters untransformed, e.g. a network's outputs z that
      `transform` maps to lower + (upper - lower) sigmoid(z). Mapped day by day, under `jit`
      the (time, basin, ...) arrays of the mapped values and of their gradient are never
      formed (δHBV's gradient with BETA and BETAET dynamic: benchmarks/results/hbv_speed.md).
      It must keep each parameter's shape and dtype. Under `jax.jit` it is part of the traced
      function; under `integrate_jit` (`eqx.filter_jit`) a function is a static argument, so
      pass the same function object each call (a new lambda recompiles).

    A model that supplies its own daily step and no flux function runs only under
    `Discrete()`. A model with a `finish` hook (averaging over components, routing) returns
    the series it makes of the loop's; `accumulate` then sums over those, after the loop.

    Values are not validated here (this runs under `jit`); `dgeo.simulate` validates. Types
    are: a wrong one is a `TypeError` naming the argument, raised before tracing.
    """
    _check_types(
        model, forcing, params, solver, sensitivity, initial_state, save, accumulate, transform
    )
    if transform is not None and not model.dynamic:
        raise ValueError(
            f"transform maps dynamic parameters day by day, and {type(model).__name__} has "
            "none: map its parameters before integrate, or declare some dynamic"
        )
    if isinstance(sensitivity, Adjoint) and isinstance(solver, Discrete):
        raise ValueError(
            "Adjoint() needs a continuous solver: the discrete P-RNN step has no continuous "
            "adjoint, and it cannot be run backwards to recover past states (min and tanh make "
            "it non-invertible), so its discrete adjoint must recompute them from checkpoints, "
            "which is exactly Checkpoint(). Use Checkpoint() for memory that does not grow with T."
        )
    if isinstance(sensitivity, Adjoint) and isinstance(solver, Continuous) and solver.implicit:
        raise ValueError(
            f"Adjoint() with the implicit solver {type(solver.solver).__name__} is not supported: "
            "its continuous adjoint, solved backwards against the interpolated forward solution, "
            "diverges on EXP-HYDRO's sharp smooth steps. Use Checkpoint() (the discrete adjoint: "
            "each root find differentiated by the implicit function theorem, memory independent "
            "of T), dgeo.ImplicitEuler() with Adjoint() (δHBV.adj's per-step adjoint), or an "
            "explicit solver such as Tsit5."
        )
    if not model.has_rates and not isinstance(solver, Discrete):
        raise ValueError(
            f"{type(model).__name__} supplies only its own daily step (no flux function, "
            f"rates), so it cannot run under {type(solver).__name__}: a continuous solver "
            "integrates dS/dt. Use dgeo.Discrete()"
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
    params, initial_state = _check_shapes(model, forcing, params, initial_state)
    if transform is not None:
        _check_transform(model, params, transform)
    if isinstance(sensitivity, Forward) and (model.dynamic or _has_components(model, forcing)):
        raise ValueError(
            f"Forward() takes one tangent per parameter name, valid when each basin has one "
            f"value of it; {type(model).__name__} has dynamic parameters or components. Use "
            "Backprop() or Checkpoint()"
        )

    def run(model, params, forcing, initial_state):
        return _scan_days(
            model, params, forcing, initial_state, solver, sensitivity, save, accumulate, transform
        )

    if isinstance(sensitivity, Forward):
        return forward_mode(run, model, params, forcing, initial_state)
    return run(model, params, forcing, initial_state)


def _check_types(
    model, forcing, params, solver, sensitivity, initial_state, save, accumulate, transform
):
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
    check_callable(
        transform,
        "transform",
        "a function (dynamic parameters of a day) -> (the same names and shapes), or None",
        optional=True,
    )


def _check_shapes(model, forcing, params, initial_state):
    """Shapes are static under `jit`, so this costs nothing: every forcing (time, *basin) with
    one shape and at least one day, every parameter and initial state (*basin) or the shape
    the model gives it (`shape_of`), dynamic parameters with the days first.

    Returns the parameters and initial state (zeros when None) broadcast to those shapes."""
    shapes = {name: jnp.shape(forcing[name]) for name in model.forcings}
    if len(set(shapes.values())) != 1 or not next(iter(shapes.values())):
        raise ValueError(f"forcing arrays must share one (time, basin) shape, got {shapes}")
    days, *basins = next(iter(shapes.values()))
    basins = tuple(basins)
    if days == 0:
        raise ValueError("forcing has no days")
    like = forcing[next(iter(model.forcings))][0]
    if initial_state is None:
        initial_state = {
            name: jnp.zeros(model.shape_of(name, basins), like.dtype) for name in model.states
        }
    out = {}
    for kind, tree in (("params", params), ("initial_state", initial_state)):
        names = model.parameter_names if kind == "params" else tuple(tree)
        wrong, done, shapes, lead_basins = {}, dict(tree), {}, {}
        for name in names:
            lead = (days,) if kind == "params" and name in model.dynamic else ()
            full = lead + tuple(model.shape_of(name, basins))
            shapes[name], lead_basins[name] = full, lead + basins
            shape = jnp.shape(tree[name])
            if shape not in (full, lead + basins):
                wrong[name] = shape
                continue
            value = jnp.asarray(tree[name])
            done[name] = jnp.broadcast_to(
                value.reshape(shape + (1,) * (len(full) - len(shape))), full
            )
        if wrong:
            notes = [  # for dynamic parameters and a model's components
                f"{name}: {shapes[name]}"
                + (f" or {lead_basins[name]}" if lead_basins[name] != shapes[name] else "")
                for name in wrong
                if shapes[name] != basins
            ]
            raise ValueError(
                f"{kind} must have the forcing's basin shape {basins}, got {wrong}"
                + (f"; expected shapes: {', '.join(notes)}" if notes else "")
            )
        out[kind] = done
    return out["params"], out["initial_state"]


def _check_transform(model, params, transform) -> None:
    """`transform` must take one day of the dynamic parameters to the same names, shapes and
    dtypes (checked on shapes alone, at no cost under `jit`)."""
    day = {
        k: jax.ShapeDtypeStruct(jnp.shape(params[k])[1:], params[k].dtype) for k in model.dynamic
    }
    out = jax.eval_shape(transform, day)
    if not isinstance(out, dict) or set(out) != set(day):
        got = sorted(out) if isinstance(out, dict) else type(out).__name__
        raise ValueError(
            f"transform must return the dynamic parameters {sorted(day)} of the day, got {got}"
        )
    kind = {k: (jnp.shape(v), jnp.result_type(v)) for k, v in out.items()}
    wrong = {k: kind[k][0] for k in day if kind[k][0] != day[k].shape}
    if wrong:
        raise ValueError(
            f"transform must keep each dynamic parameter's shape "
            f"{ {k: day[k].shape for k in wrong} }, got {wrong}"
        )
    wrong = {k: str(kind[k][1]) for k in day if kind[k][1] != day[k].dtype}
    if wrong:
        raise ValueError(
            f"transform must keep each dynamic parameter's dtype "
            f"{ {k: str(day[k].dtype) for k in wrong} }, got {wrong} (cast its constants, "
            "e.g. jnp.float32(lower), or its result)"
        )


def _has_components(model, forcing) -> bool:
    """Whether a state or parameter has more axes than the basins (parallel components)."""
    basins = tuple(jnp.shape(forcing[next(iter(model.forcings))])[1:])
    names = model.states + model.parameter_names
    return any(tuple(model.shape_of(name, basins)) != basins for name in names)


def _scan_days(
    model, params, forcing, initial_state, solver, sensitivity, save, accumulate, transform
):
    adjoint = sensitivity.diffrax_adjoint(getattr(solver, "max_steps_per_day", 1))
    drivers = tuple(model.forcings)
    like = forcing[drivers[0]][0]
    static = {k: v for k, v in params.items() if k not in model.dynamic}
    daily = {k: params[k] for k in model.dynamic}
    # A model that finishes its series after the loop (routing) is scored on the finished
    # series: the loop then keeps what the finish and the accumulator need.
    after = model.has_finish and accumulate is not None
    kept = tuple(model.states) + tuple(model.fluxes) if after else save

    def step(carry, inputs):
        state, total = carry
        forcing_t, daily_t = inputs
        if transform is not None:
            daily_t = transform(daily_t)
        model_forcing = {name: forcing_t[name] for name in drivers}
        params_t = {**static, **daily_t}
        new_state, fluxes, ok = solver.day(model, state, model_forcing, params_t, adjoint)
        values = {**state, **fluxes}
        if accumulate is not None and not after:
            total = total + accumulate(values, forcing_t)
        series = {name: values[name] for name in kept}
        if ok is True:  # a solver that cannot fail (the discrete step) adds no output per day
            return (new_state, total), (series, None)
        ok = jnp.all(jax.lax.stop_gradient(jnp.asarray(ok)) > 0)
        return (new_state, total), (series, jnp.where(ok, 0.0, 1.0).astype(like.dtype))

    init = (initial_state, jnp.zeros_like(like))
    (final, total), (series, failed) = sensitivity.scan(step, init, (forcing, daily))
    if transform is not None and model.has_finish:  # the parameters the loop used (what the
        params = {**params, **jax.vmap(transform)(daily)}  # finish does not read: elided by jit)
    series = model.finish(series, params)
    if after:
        total = jnp.sum(jax.vmap(accumulate)(series, forcing), axis=0)
        series = {name: series[name] for name in save}
    if failed is None:
        failed = jnp.zeros(forcing[drivers[0]].shape[0], like.dtype)
    return Trajectory(series, final, total if accumulate is not None else None, failed)


integrate_jit = eqx.filter_jit(integrate)
