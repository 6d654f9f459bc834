"""The results Dataset of a run: observations, simulations, internals, parameters, metrics."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import xarray as xr

from .._files import write_whole
from ..physics import PhysicalModel
from ._metrics import metrics_table

#: Forcings copied into the results Dataset when the series has them: units, long name.
FORCING_INFO = {
    "prcp": ("mm/day", "precipitation"),
    "tmean": ("degC", "daily mean air temperature"),
}
#: The parts of a physical model's declaration recorded in a results Dataset's attrs.
DECLARATION = ("states", "inflows", "outflows", "fluxes")


class _NoPhysics:
    """The declaration of a run without a physical model (purely neural models only)."""

    parameters = states = inflows = outflows = fluxes = parameter_names = dynamic = ()
    units: dict = {}


def _roles(physics: PhysicalModel | _NoPhysics) -> dict[str, str]:
    """Each state and flux of `physics` by name: "state", "inflow", "outflow" or "flux"."""
    roles = dict.fromkeys(physics.fluxes, "flux")
    roles.update(dict.fromkeys(physics.inflows, "inflow"))
    roles.update(dict.fromkeys(physics.outflows, "outflow"))
    roles.update(dict.fromkeys(physics.states, "state"))
    return roles


def _declaration(physics: PhysicalModel | _NoPhysics) -> dict[str, str]:
    """The Dataset attrs that record `physics`: its class name and, per part of
    `DECLARATION`, its names space-separated in declared order (a netCDF attribute is text)."""
    attrs = {"physics": "none" if isinstance(physics, _NoPhysics) else type(physics).__name__}
    for part in DECLARATION:
        names = tuple(getattr(physics, part))
        spaced = [n for n in names if not n or n != "".join(n.split())]
        if spaced:
            raise ValueError(
                f"{type(physics).__name__}.{part} has names with blanks or empty names "
                f"({spaced!r}); a results Dataset records them space-separated"
            )
        attrs[part] = " ".join(names)
    return attrs


def results_dataset(
    series, outputs: dict, parameters: dict, physics: PhysicalModel | None
) -> xr.Dataset:
    """One Dataset for every model of a run, with a `model` dimension.

    - `qobs` (basin, time) and `qsim` (model, basin, time) in mm/day;
    - the forcings `prcp` (mm/day) and `tmean` (degC) as (basin, time), when `series.inputs`
      has them (for hydrographs with precipitation);
    - every state (mm) and flux (mm/day) of the physics (or the units its `units` declares),
      and `q_physical` (the P-RNN discharge inside the hybrid), as (model, basin, time), NaN
      for models without them; each with the attribute `role`: "state", "inflow", "outflow"
      or "flux" (any other flux, `q_physical` among them), as the physics declares it;
    - each dynamic parameter of the physics (`physics.dynamic`, e.g. δHBV's BETA) that a
      model outputs, as (model, basin, time) under its own name with the role "parameter"
      (the daily value, the mean over its components);
    - `parameters` (model, basin, parameter) with `parameter_units`, NaN for neural models;
      for a dynamic parameter, the mean of its daily values over the scored period;
    - `metrics` (model, basin, metric) from `dgeo.evaluate.METRICS` on qobs vs qsim, with the
      units and long name of each metric (`dgeo.evaluate.METRIC_INFO`) in the coordinates
      `metric_units` and `metric_long_name`.

    The Dataset's attrs hold the scored period (`start`, `end`), the physics' class name
    (`physics`) and its declaration: `states`, `inflows`, `outflows` and `fluxes`, each the
    declared names space-separated in declared order (discharge `q` is the variable `qsim`).
    `dgeo.plot.fluxes` draws its panels from them.

    `series` is a `dgeo.train.Series` of the scored period and `outputs` kind -> name ->
    (basin, time) arrays, as `dgeo.train.simulate_models` returns them. `physics` is None for
    purely neural models: the Dataset then has an empty `parameter` axis and `physics="none"`.
    """
    physics = _NoPhysics() if physics is None else physics
    declaration = _declaration(physics)  # before any work: names that cannot be recorded raise
    kinds = list(outputs)
    coords = {"model": kinds, "basin": series.basins, "time": series.time}
    ds = xr.Dataset(coords=coords)
    ds["qobs"] = (
        ("basin", "time"),
        series.qobs,
        {"units": "mm/day", "long_name": "observed discharge"},
    )
    shape = (len(series.basins), len(series.time))
    for name, (unit, long_name) in FORCING_INFO.items():
        if name in series.inputs:
            values = np.asarray(series.inputs[name], dtype=np.float32)
            if values.shape != shape:
                raise ValueError(
                    f"series.inputs[{name!r}] has shape {values.shape}, expected (basin, time) "
                    f"{shape} over the scored period"
                )
            ds[name] = (("basin", "time"), values, {"units": unit, "long_name": long_name})
    units = {**dict.fromkeys(physics.states, "mm"), **dict.fromkeys(physics.fluxes, "mm/day")}
    units.update({n: u for n, u in physics.units.items() if n in units})
    units["q_physical"] = "mm/day"
    roles = _roles(physics)
    dynamic = {p.name: p.units for p in physics.parameters if p.name in physics.dynamic}
    units.update(dynamic)
    roles.update(dict.fromkeys(dynamic, "parameter"))
    names = ["q", *[n for n in units if n != "q" and any(n in o for o in outputs.values())]]
    for name in names:
        stacked = np.stack([outputs[k].get(name, np.full(shape, np.nan)) for k in kinds])
        target = "qsim" if name == "q" else name
        ds[target] = (
            ("model", "basin", "time"),
            stacked.astype(np.float32),
            {"units": units.get(name, "mm/day"), "role": roles.get(name, "flux")},
        )
    ds["qsim"].attrs["long_name"] = "simulated discharge"
    values = np.full((len(kinds), len(series.basins), len(physics.parameters)), np.nan)
    for i, kind in enumerate(kinds):
        for j, p in enumerate(physics.parameters):
            if p.name in parameters.get(kind, {}):
                values[i, :, j] = np.asarray(parameters[kind][p.name])
            elif p.name in dynamic and p.name in outputs[kind]:
                values[i, :, j] = np.nanmean(np.asarray(outputs[kind][p.name]), axis=-1)
    ds["parameters"] = (("model", "basin", "parameter"), values)
    ds = ds.assign_coords(
        parameter=list(physics.parameter_names),
        parameter_units=("parameter", [p.units for p in physics.parameters]),
    )
    # metrics_table's attributes and metric_units / metric_long_name coordinates carry over
    ds["metrics"] = xr.concat(
        [metrics_table(ds["qobs"], ds["qsim"].sel(model=k)) for k in kinds], dim="model"
    ).assign_coords(model=kinds)
    ds.attrs.update(
        start=str(np.datetime_as_string(series.time[0], unit="D")),
        end=str(np.datetime_as_string(series.time[-1], unit="D")),
        **declaration,
    )
    return ds


def save_results(ds: xr.Dataset, path: str | Path) -> Path:
    """Write a results Dataset to netCDF (readable back with `load_results`), whole or not at
    all: to a temporary file beside `path`, renamed over it once complete. A write that fails
    (a full disk: netCDF's HDF library reports it as a `RuntimeError`) removes the temporary
    file and raises `OSError` naming `path`; an existing file at `path` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = ds.copy()
    for name in ds.variables:  # a string width read from another file would cut names short
        if ds[name].dtype.kind in "UO":
            ds[name].encoding.pop("dtype", None)
    try:
        write_whole(path, ds.to_netcdf)
    except RuntimeError as err:
        raise OSError(errno.EIO, f"cannot write the results ({err})", str(path)) from None
    return path


def load_results(path: str | Path) -> xr.Dataset:
    """Read a results Dataset written by `save_results`."""
    with xr.open_dataset(path) as ds:
        return ds.load()
