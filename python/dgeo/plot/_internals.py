"""`fluxes`: the internal fluxes and storages of one model in one basin, in panels that follow
the physical model's declaration (`dgeo.physics.PhysicalModel`) recorded in the results."""

from __future__ import annotations

from typing import NamedTuple

import xarray as xr

from ..evaluate._results import DECLARATION
from ._common import _dates, _figure, _pick, _units, _window

#: The panels of results written before dgeo recorded the physics' declaration in them (the
#: physics was always EXP-HYDRO then): (y label, variables), drawn as dgeo drew them then.
UNDECLARED_PANELS = (
    ("precipitation", ("rainfall", "snowfall")),
    ("snowmelt", ("melt",)),
    ("evapotranspiration", ("evapotranspiration", "pet")),
    ("runoff", ("subsurface_flow", "surface_flow")),
    ("snow storage", ("snow_storage",)),
    ("soil storage", ("soil_storage",)),
)
#: Potential evapotranspiration: drawn dashed with the outflows, the upper bound of ET.
PET = "pet"


class _Panel(NamedTuple):
    label: str  # the axes' label (`ax.get_label()`) and the first line of its y label
    names: tuple[str, ...]  # declared names, in drawing order; "q" is discharge
    units: str  # for variables without a `units` attribute


def _declaration(results: xr.Dataset) -> dict[str, tuple[str, ...]] | None:
    """The physics' declaration that `results_dataset` recorded (part -> names in declared
    order), or None for results written without it."""
    if not all(part in results.attrs for part in DECLARATION):
        return None
    return {part: tuple(str(results.attrs[part]).split()) for part in DECLARATION}


def _panels(results: xr.Dataset) -> list[_Panel]:
    """Every panel `fluxes` can draw from `results`, before absent variables are left out.

    From the declaration: one panel of the inflows, one per state, one of the outflows (with
    `pet` dashed when the results hold it and it is neither an inflow nor an outflow) and one
    of the other fluxes except discharge `q`, each in declared order. Without a declaration
    (results of older dgeo): `UNDECLARED_PANELS`.
    """
    declared = _declaration(results)
    if declared is None:
        return [
            _Panel(label, names, "mm" if "storage" in label else "mm/day")
            for label, names in UNDECLARED_PANELS
        ]
    inflows, outflows, states = declared["inflows"], declared["outflows"], declared["states"]
    reference = (PET,) if PET in results and PET not in {*inflows, *outflows} else ()
    drawn = {*inflows, *outflows, *states, *reference, "q"}
    return [
        _Panel("inflows", inflows, "mm/day"),
        *[_Panel(state.replace("_", " "), (state,), "mm") for state in states],
        _Panel("outflows", (*outflows, *reference), "mm/day"),
        _Panel("other fluxes", tuple(f for f in declared["fluxes"] if f not in drawn), "mm/day"),
    ]


def _discharge(results: xr.Dataset, model) -> str:
    """The variable holding the physics' discharge `q` of `model`: `q_physical` (the P-RNN's
    inside a hybrid) where the model has it, else its `qsim`."""
    if "q_physical" in results and bool(results["q_physical"].sel(model=model).notnull().any()):
        return "q_physical"
    return "qsim"


def _internal(results: xr.Dataset, model) -> bool:
    """Whether `model` has a value of any internal variable other than discharge."""
    names = {n for p in _panels(results) for n in p.names} - {"q"}
    return any(
        bool(results[n].sel(model=model).notnull().any())
        for n in names
        if n in results and "model" in results[n].dims
    )


def fluxes(results: xr.Dataset, basin, *, model: str = "hybrid", start=None, end=None):
    """Stacked panels of the internal fluxes and storages of one model in one basin.

    The panels follow the declaration of the physical model that `dgeo.evaluate.results_dataset`
    records in the results: the inflows, each state, the outflows (potential
    evapotranspiration `pet` dashed with them when the results hold it) and the other fluxes,
    each in declared order and labelled by name (underscores as spaces); discharge `q` is drawn
    where it is declared an inflow or outflow. Results of older dgeo, without the declaration
    (their physics was always EXP-HYDRO), are drawn in the panels dgeo drew then: rainfall and
    snowfall, melt, evapotranspiration with PET, subsurface and surface flow, snow storage and
    soil storage. Panels whose variables are absent from
    `results` are left out. Each axes is labelled (``ax.get_label()``) by its panel.
    """
    basin = _pick(results, "basin", basin)
    model = _pick(results, "model", model)
    have = [m for m in results["model"].values if _internal(results, m)]
    if model not in have:
        raise ValueError(
            f"model {str(model)!r} has no internal fluxes; models with internal fluxes: "
            f"{', '.join(map(str, have)) or 'none'}"
        )
    variable = {"q": _discharge(results, model)}
    ds = _window(results, start, end).sel(model=model, basin=basin)
    panels = []
    for panel in _panels(results):
        names = tuple(n for n in panel.names if variable.get(n, n) in ds)
        if names:
            panels.append(panel._replace(names=names))
    fig, axes = _figure(len(panels), 1, sharex=True, figsize=(10, 1.9 * len(panels) + 0.6))
    for ax, panel in zip(axes[:, 0], panels, strict=True):
        units = []
        for name in panel.names:
            da = ds[variable.get(name, name)]
            style = {"ls": "--", "color": "grey"} if name == PET else {}
            ax.plot(ds["time"].values, da.values, lw=0.9, label=name.replace("_", " "), **style)
            units.append(_units(da, panel.units))
        ax.set_label(panel.label)
        ax.set_ylabel(f"{panel.label}\n[{', '.join(dict.fromkeys(units))}]")
        ax.legend(loc="upper right", fontsize="x-small")
        _dates(ax)
    physics = results.attrs.get("physics")
    of = f"{model} ({physics})" if physics else str(model)
    fig.suptitle(f"Internal fluxes and storages of {of}, basin {basin}")
    return fig
