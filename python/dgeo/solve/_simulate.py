"""`simulate`: the xarray entry point. Validates eagerly, then runs the jitted integrator."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from ..data import DataError, check_axes, from_time_major, to_time_major
from ..physics import PhysicalModel
from ._integrate import integrate_jit
from ._sensitivity import AbstractSensitivity, Backprop
from ._solvers import AbstractSolver, Discrete
from ._types import (
    DataTypeError,
    check_dataset,
    check_mapping,
    check_physical_model,
    check_sensitivity,
    check_solver,
    describe,
    is_real_dtype,
)


def _not_numeric(value, name: str, basins: np.ndarray, what: str) -> DataTypeError:
    """The error for a value that is not numbers: says what it is and what to pass."""
    shown = describe(value) if not isinstance(value, str) else f"{value!r} is a string"
    return DataTypeError(
        f"{what} {name!r} is not numeric: {shown}; pass a number, a ({len(basins)},) array of "
        "numbers (one per basin, in the forcing's basin order) or a DataArray over basin"
    )


def _per_basin(value, name: str, basins: np.ndarray, what: str) -> np.ndarray:
    """A scalar, (basin,) array or DataArray over basin, as a float array aligned to `basins`.

    Numbers only: strings ("800", which NumPy would parse), bools, None and object arrays are
    a `DataTypeError` (a `TypeError` and a `DataError`) naming the value."""
    if isinstance(value, xr.DataArray) and value.ndim:
        if value.dims != ("basin",):
            raise DataError(f"{what} {name!r} has dims {value.dims}, expected ('basin',)")
        missing = sorted(set(basins) - set(value["basin"].values.astype(str)))
        if missing:
            raise DataError(f"{what} {name!r} has no value for basin(s) {', '.join(missing)}")
        value = value.sel(basin=list(basins)).to_numpy()
    if value is None or isinstance(value, str | bytes | bool | np.bool_):
        raise _not_numeric(value, name, basins, what)
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):  # a ragged list
        raise _not_numeric(value, name, basins, what) from None
    if not is_real_dtype(array.dtype):  # strings, bools, objects, dates, complex numbers
        raise _not_numeric(value, name, basins, what)
    array = array.astype(np.float64)
    if array.ndim == 0:
        array = np.full(len(basins), float(array))
    if array.shape != (len(basins),):
        raise DataError(
            f"{what} {name!r} has shape {array.shape}, expected ({len(basins)},) for {len(basins)} basins"
        )
    return array


#: What `params` should be, for messages.
PARAMS_EXPECTED = (
    "a dict of parameter name -> number, (basin,) array or DataArray over basin, "
    "e.g. {'f': 0.02, 'smax': 800.0, ...}"
)


def _listed(basins: np.ndarray, values: np.ndarray, bad: np.ndarray) -> str:
    """The first five offending basins with their values, for an error message."""
    return ", ".join(f"{basins[i]}: {values[i]:g}" for i in bad[:5])


def _per_basin_and_day(value, name: str, basins: np.ndarray, time: np.ndarray) -> np.ndarray:
    """A dynamic parameter as a (basin, time) float array: a (basin, time) array or DataArray
    over (basin, time), or a per-basin value (`_per_basin`) held for every day."""
    if isinstance(value, xr.DataArray) and "time" in value.dims:
        if set(value.dims) != {"basin", "time"}:
            raise DataError(f"parameter {name!r} has dims {value.dims}, expected (basin, time)")
        if "time" in value.coords:
            missing = np.setdiff1d(time, value["time"].values)
            if missing.size:
                raise DataError(
                    f"parameter {name!r} has no value for {missing.size} day(s) of the "
                    f"forcing, the first {str(missing[0])[:10]}"
                )
            value = value.sel(time=time)
        value = value.transpose("basin", "time")
        found = value["basin"].values.astype(str)
        missing = sorted(set(basins) - set(found))
        if missing:
            raise DataError(f"parameter {name!r} has no value for basin(s) {', '.join(missing)}")
        value = value.sel(basin=list(basins)).to_numpy()
    array = np.asarray(value) if isinstance(value, np.ndarray | list) else None
    if array is not None and array.ndim == 2 and is_real_dtype(array.dtype):
        if array.shape != (len(basins), len(time)):
            raise DataError(
                f"parameter {name!r} has shape {array.shape}, expected "
                f"({len(basins)}, {len(time)}) for {len(basins)} basins and {len(time)} days"
            )
        return array.astype(np.float64)
    per_basin = _per_basin(value, name, basins, "parameter")
    return np.repeat(per_basin[:, None], len(time), axis=1)


def check_parameters(
    model: PhysicalModel, params: Mapping, basins: np.ndarray, time: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Validate physical parameters: every one given, known, per basin, finite and within bounds.

    A parameter the model declares `dynamic` may vary by day: with `time` (the forcing's
    days) it is returned (basin, time), from a (basin, time) array or DataArray or a
    per-basin value held for every day."""
    check_physical_model(model)
    check_mapping(params, "params", PARAMS_EXPECTED)
    names = model.parameter_names
    unknown = sorted(set(params) - set(names))
    missing = [n for n in names if n not in params]
    if unknown or missing:
        raise DataError(
            f"{type(model).__name__} parameters: missing {missing}, unknown {unknown}; "
            f"expected {list(names)}"
        )
    out = {}
    problems = []
    for p in model.parameters:
        if p.name in model.dynamic and time is not None:
            values = _per_basin_and_day(params[p.name], p.name, basins, time)
            inside = (values >= p.lower) & (values <= p.upper)
            bad = np.flatnonzero(~inside.all(axis=1))
            if bad.size:
                days = [int(np.argmin(inside[i])) for i in bad[:5]]
                shown = ", ".join(
                    f"{basins[i]} on {str(time[d])[:10]}: {values[i, d]:g}"
                    for i, d in zip(bad, days, strict=False)
                )
                problems.append(f"{p.name} outside [{p.lower}, {p.upper}] {p.units} ({shown})")
        else:
            values = _per_basin(params[p.name], p.name, basins, "parameter")
            bad = np.flatnonzero(~((values >= p.lower) & (values <= p.upper)))
            if bad.size:
                problems.append(
                    f"{p.name} outside [{p.lower}, {p.upper}] {p.units} ({_listed(basins, values, bad)})"
                )
        out[p.name] = values
    if problems:
        raise DataError("parameters out of bounds: " + "; ".join(problems))
    return out


def prepare(model, forcing: xr.Dataset, params, initial_state, dtype):
    """Validated time-major forcing, per-basin parameters and initial state as JAX arrays.

    Types first, each a `TypeError` naming the argument, before anything is converted."""
    check_physical_model(model)
    check_dataset(
        forcing,
        "forcing",
        "an xarray.Dataset with dims (basin, time) such as dgeo.data.load_camels_us gives",
    )
    check_mapping(params, "params", PARAMS_EXPECTED)
    check_mapping(
        initial_state,
        "initial_state",
        "a dict of state name -> number, (basin,) array or DataArray over basin, or None",
        optional=True,
    )
    try:
        if dtype is None:  # NumPy reads None as float64
            raise TypeError
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"dtype must be np.float32 or np.float64 (or 'float32', 'float64'), "
            f"got {describe(dtype)}"
        ) from None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if dtype == np.float64 and not jax.config.jax_enable_x64:
        raise ValueError(
            'dtype float64 needs jax.config.update("jax_enable_x64", True) first '
            "(otherwise JAX computes in float32)"
        )
    try:
        basins, _ = check_axes(forcing)
    except DataError as err:
        raise DataError(f"forcing: {err}") from None
    time = forcing["time"].values
    checked = check_parameters(model, params, basins, time)  # before the forcing is converted
    checked = {k: v.T if k in model.dynamic else v for k, v in checked.items()}  # time first
    if initial_state is None:
        initial_state = dict.fromkeys(model.states, 0.0)
    unknown = sorted(set(initial_state) - set(model.states))
    if unknown:
        raise DataError(
            f"initial_state has unknown state(s) {unknown}; states: {list(model.states)}"
        )
    state = {
        s: _per_basin(initial_state.get(s, 0.0), s, basins, "initial state") for s in model.states
    }
    # Only non-finite starts are refused: the smooth steps let storages dip a little below zero
    # in the model's own runs, and a spin-up run's final state must be a valid initial state.
    for name, values in state.items():
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise DataError(
                f"initial state {name!r} must be finite ({_listed(basins, values, bad)})"
            )
    arrays = to_time_major(forcing, model.forcings, dtype=dtype)
    as_jax = lambda tree: {k: jnp.asarray(v, dtype=dtype) for k, v in tree.items()}
    return basins, as_jax(arrays), as_jax(checked), as_jax(state)


def simulate(
    model: PhysicalModel,
    forcing: xr.Dataset,
    params: Mapping,
    *,
    solver: AbstractSolver = Discrete(),
    sensitivity: AbstractSensitivity = Backprop(),
    initial_state: Mapping | None = None,
    dtype=np.float32,
) -> xr.Dataset:
    """Run `model` on every basin of `forcing`, each basin with its own parameters.

    **Arguments:**

    - `model`: a physical model, e.g. `dgeo.physics.ExpHydro()`.
    - `forcing`: (basin, time) Dataset as `dgeo.data` returns it; the variables the model
      needs are converted to its units here (e.g. day length from s to days).
    - `params`: parameter name -> scalar, (basin,) array or DataArray over basin.
    - `solver`: `Discrete()` (default) or `Continuous(...)`.
    - `sensitivity`: how gradients would be taken; forward values do not depend on it.
    - `initial_state`: state name -> per-basin values (default zero storage).
    - `dtype`: float32 in production, float64 for gradient checks (needs jax x64).

    **Returns:** a (basin, time) Dataset with discharge `q`, every state (start of day, mm) and
    flux (mm/day) by name, the parameters (basin, parameter), the initial and final states
    (basin, state), and the attributes `failed_days` and `failed_dates` (ISO dates separated by
    spaces): the days on which an adaptive solver failed. Bad input raises `DataError`; an
    argument of the wrong type (a string for `solver` or for a parameter) a `TypeError`.
    """
    check_solver(solver)
    check_sensitivity(sensitivity)
    basins, arrays, params_j, state = prepare(model, forcing, params, initial_state, dtype)
    traj = integrate_jit(
        model, arrays, params_j, solver=solver, sensitivity=sensitivity, initial_state=state
    )
    units = {**dict.fromkeys(model.states, "mm"), **dict.fromkeys(model.fluxes, "mm/day")}
    series = {k: np.array(v) for k, v in traj.series.items()}  # writable copies
    ds = from_time_major(series, basins, forcing["time"].values, units)
    # A dynamic parameter appears in `parameters` as its mean over the run, and day by day
    # in `dynamic_parameters`.
    ds["parameters"] = (
        ("basin", "parameter"),
        np.stack(
            [
                np.asarray(params_j[p]).mean(0) if p in model.dynamic else np.asarray(params_j[p])
                for p in model.parameter_names
            ],
            axis=1,
        ),
    )
    if model.dynamic:
        daily = np.stack([np.asarray(params_j[p]).T for p in model.dynamic], axis=-1)
        ds["dynamic_parameters"] = (("basin", "time", "dynamic_parameter"), daily)
        ds = ds.assign_coords(dynamic_parameter=list(model.dynamic))
    ds = ds.assign_coords(
        parameter=list(model.parameter_names),
        parameter_units=("parameter", [p.units for p in model.parameters]),
        state=list(model.states),
    )
    for label, values in (("initial_state", state), ("final_state", traj.final_state)):
        # A model of parallel components reports the basin's states: their mean.
        mean = lambda v: np.asarray(v).reshape(len(basins), -1).mean(axis=1)
        stacked = np.stack([mean(values[s]) for s in model.states], axis=1)
        ds[label] = (("basin", "state"), stacked, {"units": "mm"})
    failed = np.asarray(traj.failed) > 0
    dates = [str(day)[:10] for day in forcing["time"].values[failed]]
    ds.attrs.update(
        model=type(model).__name__,
        solver=repr(solver),
        failed_days=len(dates),
        failed_dates=" ".join(dates),
    )
    if dates:
        shown = ", ".join(dates[:5]) + (f" and {len(dates) - 5} more" if len(dates) > 5 else "")
        warnings.warn(
            f"the solver failed on {len(dates)} day(s) ({shown}); results there are "
            "unreliable. Raise max_steps_per_day or loosen rtol/atol of the Continuous solver "
            "(ImplicitEuler: raise max_newton_steps or substeps).",
            stacklevel=2,
        )
    return ds
