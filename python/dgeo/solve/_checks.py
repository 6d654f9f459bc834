"""Correctness checks with numbers: gradients against finite differences, water balance closure,
stability of the explicit daily step."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr

from ..data import DataError
from ..physics import PhysicalModel
from ._integrate import Trajectory, integrate
from ._sensitivity import AbstractSensitivity, Backprop
from ._simulate import prepare
from ._solvers import AbstractSolver, Discrete
from ._types import (
    DataTypeError,
    check_callable,
    check_instance,
    check_number,
    check_physical_model,
    check_sensitivity,
    check_solver,
)


def mass_balance(model: PhysicalModel, result: xr.Dataset) -> xr.DataArray:
    """Water balance residual per basin over the run, in mm: P - ET - Q - dS.

    Inputs are the model's `inflows` (snowfall + rainfall = P), outputs its `outflows`
    (evapotranspiration and the runoff components), dS the change of all storages from the
    initial to the final state. Zero to rounding for the discrete solver, to the tolerance for
    continuous ones.
    """
    check_physical_model(model)
    check_instance(
        result,
        xr.Dataset,
        "result",
        "the xarray.Dataset that dgeo.simulate returns",
        error=DataTypeError,
    )
    missing = [
        n
        for n in (*model.inflows, *model.outflows, "initial_state", "final_state")
        if n not in result
    ]
    if missing:
        raise DataError(
            f"mass_balance needs a result of dgeo.simulate for {type(model).__name__}: "
            f"{', '.join(missing)} missing"
        )
    # skipna=False: a NaN anywhere in the run makes the basin's residual NaN, never a number.
    inflow = sum(result[name].sum("time", skipna=False) for name in model.inflows)
    outflow = sum(result[name].sum("time", skipna=False) for name in model.outflows)
    storage = (result["final_state"] - result["initial_state"]).sum("state", skipna=False)
    residual = (inflow - outflow - storage).astype(np.float64)
    residual.attrs.update(units="mm", long_name="P - ET - Q - dS over the run")
    return residual.rename("mass_balance")


def step_stability(
    model: PhysicalModel,
    forcing: xr.Dataset,
    params: Mapping,
    *,
    initial_state: Mapping | None = None,
    dtype=np.float32,
) -> xr.Dataset:
    """Where the explicit daily step of the P-RNN (`Discrete()`) is numerically unstable.

    The step S[t+1] = S[t] + dS/dt(S[t]) maps a small change of the start-of-day states
    through its Jacobian J = I + d(dS/dt)/dS. An eigenvalue of J below -1 means the step
    *overshoots*: the day's outflow responds so steeply to storage that a small excess turns
    into a larger deficit the next day, and the states can oscillate from day to day. The
    forward run stays bounded (the smooth steps switch the fluxes off), but gradients through
    such days grow geometrically until they overflow. For EXP-HYDRO this happens when the
    soil store is drained to ~0 mm by a large Qmax with a tiny f: the outflow's gate H(S1)
    has slope 2.5 / mm there, so an outflow above 0.8 mm/day at S1 ~ 0 overshoots.
    A continuous solver (`Continuous()`) has no such artefact.

    **Returns:** a Dataset with `spectral_radius` (basin, time; the largest |eigenvalue| of the
    day's J), `overshoot` (basin, time; True when the dominant eigenvalue has a negative real
    part and modulus > 1) and, per basin, `overshoot_days` and `overshoot_fraction`.
    """
    basins, arrays, theta, state = prepare(model, forcing, params, initial_state, dtype)
    drivers = {name: arrays[name] for name in model.forcings}
    traj = integrate(model, drivers, theta, initial_state=state, save=model.states)

    def step(vector, forcing_day, params_basin):  # the P-RNN's own daily step
        start = dict(zip(model.states, vector, strict=True))
        end, _, _ = Discrete().day(model, start, forcing_day, params_basin, adjoint=None)
        return jnp.stack([end[k] for k in model.states])

    states = jnp.stack([traj.series[k] for k in model.states], axis=-1)  # (time, basin, state)
    per_basin = jax.vmap(jax.jacfwd(step))
    jacobian = jax.jit(jax.vmap(per_basin, in_axes=(0, 0, None)))(states, drivers, theta)
    eigenvalues = np.linalg.eigvals(np.asarray(jacobian, np.float64))  # (time, basin, state)
    dominant = np.take_along_axis(eigenvalues, np.abs(eigenvalues).argmax(-1)[..., None], -1)
    radius = np.abs(dominant[..., 0])
    overshoot = (radius > 1.0) & (dominant[..., 0].real < 0.0)
    ds = xr.Dataset(
        {
            "spectral_radius": (("basin", "time"), radius.T.astype(np.float32)),
            "overshoot": (("basin", "time"), overshoot.T),
            "overshoot_days": ("basin", overshoot.sum(0)),
            "overshoot_fraction": ("basin", overshoot.mean(0)),
        },
        coords={"basin": basins, "time": forcing["time"].values},
    )
    ds["spectral_radius"].attrs["long_name"] = "largest |eigenvalue| of the daily step's Jacobian"
    return ds


def default_loss(traj: Trajectory) -> jax.Array:
    """Per-basin loss for gradient checks: the time mean of discharge and of every state."""
    return sum(jnp.mean(v, axis=0) for v in traj.series.values())


@dataclass(frozen=True)
class GradientCheck:
    """Gradients by a sensitivity method against central finite differences.

    `table` has one row per (basin, parameter): `ad`, `fd` and `relative_error`
    = |ad - fd| / max(|ad|, |fd|, floor), floor = 1e-6 x the largest |fd|.
    """

    worst_relative_error: float
    table: pd.DataFrame

    def __str__(self) -> str:
        return f"worst relative error {self.worst_relative_error:.2e}\n{self.table.to_string()}"


def check_gradients(
    model: PhysicalModel,
    forcing: xr.Dataset,
    params: Mapping,
    *,
    solver: AbstractSolver = Discrete(),
    sensitivity: AbstractSensitivity = Backprop(),
    loss: Callable[[Trajectory], jax.Array] = default_loss,
    step: float = 1e-6,
    initial_state: Mapping | None = None,
) -> GradientCheck:
    """Compare d loss / d parameters by `sensitivity` with central finite differences (float64).

    `loss` maps a `Trajectory` to one value per basin. Basins are independent, so one pair of
    perturbed runs per parameter gives every basin's difference quotient. The step is `step`
    times the parameter's range. A dynamic parameter is shifted on every day at once: its
    gradient is compared summed over the days. Needs `jax.config.update("jax_enable_x64",
    True)`.
    """
    check_physical_model(model)
    check_solver(solver)
    check_sensitivity(sensitivity)
    check_callable(loss, "loss", "a function Trajectory -> (basin,) values")
    check_number(step, "step", rule="a fraction of each parameter's range in (0, 0.01]")
    if not 0 < step <= 1e-2:
        raise ValueError(f"step is a fraction of each parameter's range in (0, 0.01], got {step}")
    if not jax.config.jax_enable_x64:
        raise RuntimeError(
            'check_gradients runs in float64: call jax.config.update("jax_enable_x64", True) first'
        )
    basins, arrays, theta, state = prepare(model, forcing, params, initial_state, np.float64)

    def per_basin(p, sens):
        traj = integrate(model, arrays, p, solver=solver, sensitivity=sens, initial_state=state)
        return loss(traj)

    grads = jax.jit(jax.grad(lambda p: jnp.sum(per_basin(p, sensitivity))))(theta)
    evaluate = jax.jit(lambda p: per_basin(p, Backprop()))
    rows = []
    for p in model.parameters:
        h = step * (p.upper - p.lower)
        up = evaluate({**theta, p.name: theta[p.name] + h})
        down = evaluate({**theta, p.name: theta[p.name] - h})
        fd = np.asarray((up - down) / (2 * h))
        ad = np.asarray(grads[p.name])
        ad = ad.sum(axis=0) if p.name in model.dynamic else ad
        for b, basin in enumerate(basins):
            rows.append((basin, p.name, float(ad[b]), float(fd[b])))
    table = pd.DataFrame(rows, columns=["basin", "parameter", "ad", "fd"])
    floor = 1e-6 * max(table["fd"].abs().max(), 1e-300)
    scale = np.maximum(np.maximum(table["ad"].abs(), table["fd"].abs()), floor)
    table["relative_error"] = (table["ad"] - table["fd"]).abs() / scale
    return GradientCheck(
        float(table["relative_error"].max()), table.set_index(["basin", "parameter"])
    )
