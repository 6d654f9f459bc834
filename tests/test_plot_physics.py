"""Figures and the results Dataset of a physical model other than EXP-HYDRO: a made-up
two-store model declared here, run by `dgeo.simulate`, its panels from its declaration."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.figure import Figure

import dgeo
from dgeo import plot
from dgeo.evaluate import load_results, results_dataset, save_results, snow_correlation
from dgeo.physics import ExpHydro, Parameter, PhysicalModel
from dgeo.train._windows import Series

BASINS = np.array(["a1", "b2", "c3"])
TIME = pd.date_range("2000-10-01", "2002-09-30", freq="D").values


class TwoStores(PhysicalModel):
    """Rain fills `surface_store`, which evaporates (PET S / (S + 10)) and percolates (k1 S)
    into `groundwater`, which drains as discharge q = k2 G. Made up for these tests."""

    parameters: ClassVar = (
        Parameter("k1", 0.01, 0.5, "1/day", "percolation rate"),
        Parameter("k2", 0.01, 0.5, "1/day", "groundwater recession rate"),
    )
    states: ClassVar = ("surface_store", "groundwater")
    fluxes: ClassVar = ("rainfall", "evaporation", "percolation", "q")
    forcings: ClassVar = {"prcp": "mm/day", "pet": "mm/day"}
    inflows: ClassVar = ("rainfall",)
    outflows: ClassVar = ("evaporation", "q")
    units: ClassVar = {"percolation": "mm d-1"}

    def rates(self, state, forcing, params):
        s, g = state["surface_store"], state["groundwater"]
        rainfall = forcing["prcp"]
        evaporation = forcing["pet"] * s / (s + 10.0)
        percolation = params["k1"] * s
        q = params["k2"] * g
        tendency = {
            "surface_store": rainfall - evaporation - percolation,
            "groundwater": percolation - q,
        }
        fluxes = {"rainfall": rainfall, "evaporation": evaporation, "percolation": percolation}
        return tendency, {**fluxes, "q": q}


#: Panels of `plot.fluxes` for TwoStores, in order: (axes label, legend entries).
PANELS = [
    ("inflows", ["rainfall"]),
    ("surface store", ["surface store"]),
    ("groundwater", ["groundwater"]),
    ("outflows", ["evaporation", "q"]),
    ("other fluxes", ["percolation"]),
]


def _forcing() -> xr.Dataset:
    rng = np.random.default_rng(3)
    shape = (len(BASINS), len(TIME))
    season = 1.0 + np.sin(2 * np.pi * np.arange(len(TIME)) / 365.25)
    prcp = rng.gamma(0.5, 8.0, shape) * (rng.uniform(size=shape) < 0.4)
    coords = {"basin": BASINS, "time": TIME}
    return xr.Dataset(
        {
            "prcp": (("basin", "time"), prcp, {"units": "mm/day"}),
            "pet": (("basin", "time"), np.broadcast_to(2.0 * season, shape), {"units": "mm/day"}),
        },
        coords=coords,
    )


def _results(model: PhysicalModel) -> xr.Dataset:
    """A results Dataset of `model`: its run as `physical`, a hybrid (the run inside, its
    discharge corrected) and an LSTM (discharge only)."""
    forcing = _forcing()
    run = dgeo.simulate(model, forcing, {"k1": [0.1, 0.2, 0.3], "k2": [0.05, 0.1, 0.2]})
    internal = {n: run[n].values for n in (*model.states, *model.fluxes)}
    rng = np.random.default_rng(4)
    qobs = internal["q"] * rng.uniform(0.8, 1.2, internal["q"].shape)
    qobs[:, 50:60] = np.nan
    inputs = {k: forcing[k].values.astype(np.float32) for k in model.forcings}
    series = Series(inputs, qobs.astype(np.float32), BASINS, TIME)
    outputs = {
        "physical": internal,
        "hybrid": {**internal, "q": 1.1 * internal["q"], "q_physical": internal["q"]},
        "lstm": {"q": 0.9 * internal["q"] + 0.1},
    }
    fitted = {p: run["parameters"].sel(parameter=p).values for p in model.parameter_names}
    params = {"physical": fitted, "hybrid": fitted}
    return results_dataset(series, outputs, params, model)


@pytest.fixture(scope="module")
def results() -> xr.Dataset:
    return _results(TwoStores())


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _panels(fig: Figure) -> list[tuple[str, list[str]]]:
    return [(ax.get_label(), _legend(ax)) for ax in fig.axes]


def test_results_record_the_declaration(results, tmp_path):
    assert results.attrs["physics"] == "TwoStores"
    assert results.attrs["states"] == "surface_store groundwater"
    assert results.attrs["inflows"] == "rainfall"
    assert results.attrs["outflows"] == "evaporation q"
    assert results.attrs["fluxes"] == "rainfall evaporation percolation q"
    roles = {n: results[n].attrs["role"] for n in ("surface_store", "groundwater", "rainfall")}
    assert roles == {"surface_store": "state", "groundwater": "state", "rainfall": "inflow"}
    assert results["evaporation"].attrs["role"] == "outflow"
    assert results["qsim"].attrs["role"] == "outflow"  # q is declared an outflow
    assert results["percolation"].attrs["role"] == "flux"
    assert results["q_physical"].attrs["role"] == "flux"
    assert results["percolation"].attrs["units"] == "mm d-1"  # the model's own units
    assert results["groundwater"].attrs["units"] == "mm"
    assert results["evaporation"].attrs["units"] == "mm/day"
    assert list(results["parameter"].values) == ["k1", "k2"]
    back = load_results(save_results(results, tmp_path / "results.nc"))
    xr.testing.assert_identical(back, results)
    assert back.attrs["outflows"] == "evaporation q"


def test_names_with_blanks_cannot_be_recorded():
    class Blank(TwoStores):
        states: ClassVar = ("surface store", "groundwater")

    with pytest.raises(ValueError, match=r"Blank.states.*'surface store'"):
        results_dataset(None, {}, {}, Blank())


def test_fluxes_panels_follow_the_declaration(results, tmp_path):
    fig = plot.fluxes(results, "b2", model="physical", start="2001-10-01")
    assert _panels(fig) == PANELS
    ylabels = [ax.get_ylabel() for ax in fig.axes]
    assert ylabels == [
        "inflows\n[mm/day]",
        "surface store\n[mm]",
        "groundwater\n[mm]",
        "outflows\n[mm/day]",
        "other fluxes\n[mm d-1]",
    ]
    q = fig.axes[3].get_lines()[1]
    expected = results["qsim"].sel(model="physical", basin="b2", time=slice("2001-10-01", None))
    np.testing.assert_array_equal(q.get_ydata(), expected.values)
    assert "TwoStores" in fig.get_suptitle() and "b2" in fig.get_suptitle()
    path = plot.save(fig, tmp_path / "fluxes.png")
    assert path.stat().st_size > 1000


def test_fluxes_of_a_hybrid_draw_the_physics_discharge(results):
    fig = plot.fluxes(results, "a1")  # the hybrid, by default
    assert _panels(fig) == PANELS
    q = fig.axes[3].get_lines()[1]
    physics = results["q_physical"].sel(model="hybrid", basin="a1").values
    np.testing.assert_array_equal(q.get_ydata(), physics)  # not the corrected qsim
    with pytest.raises(ValueError, match="'lstm'.*physical, hybrid"):
        plot.fluxes(results, "a1", model="lstm")


def test_pet_is_drawn_dashed_with_the_outflows(results):
    with_pet = results.copy()
    pet = _forcing()["pet"].astype(np.float32)
    with_pet["pet"] = pet.assign_attrs(units="mm/day", long_name="potential evapotranspiration")
    fig = plot.fluxes(with_pet, "c3", model="physical")
    outflows = fig.axes[3]
    assert _legend(outflows) == ["evaporation", "q", "pet"]
    assert outflows.get_lines()[2].get_linestyle() == "--"
    assert [label for label, _ in _panels(fig)] == [label for label, _ in PANELS]


def test_exphydro_panels_follow_its_declaration():
    fig = plot.fluxes(_exphydro_results(), "b2", model="physical")
    assert _panels(fig) == [
        ("inflows", ["snowfall", "rainfall"]),
        ("snow storage", ["snow storage"]),
        ("soil storage", ["soil storage"]),
        ("outflows", ["evapotranspiration", "subsurface flow", "surface flow", "pet"]),
        ("other fluxes", ["melt"]),
    ]
    assert fig.axes[3].get_lines()[3].get_linestyle() == "--"


def _exphydro_results() -> xr.Dataset:
    """A results Dataset of EXP-HYDRO with every state and flux (made-up values)."""
    rng = np.random.default_rng(5)
    shape = (len(BASINS), len(TIME))
    model = ExpHydro()
    internal = {n: rng.gamma(2.0, 1.0, shape) for n in (*model.states, *model.fluxes)}
    qobs = (internal["q"] * rng.uniform(0.8, 1.2, shape)).astype(np.float32)
    series = Series({}, qobs, BASINS, TIME)
    return results_dataset(series, {"physical": internal}, {}, model)


def _undeclared(results: xr.Dataset) -> xr.Dataset:
    """`results` as dgeo wrote them before it recorded the declaration: no `role` attributes,
    no `states`, `inflows`, `outflows` or `fluxes` attrs."""
    old = results.copy()
    for name in old.data_vars:
        old[name].attrs.pop("role", None)
    for part in ("states", "inflows", "outflows", "fluxes"):
        del old.attrs[part]
    return old


def test_old_results_files_still_plot(tmp_path):
    path = save_results(_undeclared(_exphydro_results()), tmp_path / "old.nc")
    old = load_results(path)
    assert "role" not in old["melt"].attrs and "inflows" not in old.attrs
    fig = plot.fluxes(old, "a1", model="physical")
    assert _panels(fig) == [
        ("precipitation", ["rainfall", "snowfall"]),
        ("snowmelt", ["melt"]),
        ("evapotranspiration", ["evapotranspiration", "pet"]),
        ("runoff", ["subsurface flow", "surface flow"]),
        ("snow storage", ["snow storage"]),
        ("soil storage", ["soil storage"]),
    ]
    assert fig.axes[-1].get_ylabel() == "soil storage\n[mm]"
    assert len(plot.hydrograph(old, "a1").axes) == 1


def test_undeclared_results_fall_back_to_names(results):
    """Without the declaration only EXP-HYDRO's names are known: of TwoStores, rainfall."""
    fig = plot.fluxes(_undeclared(results), "a1", model="physical")
    assert _panels(fig) == [("precipitation", ["rainfall"])]
    only_q = _undeclared(results).drop_vars("rainfall")
    with pytest.raises(ValueError, match="'physical' has no internal fluxes"):
        plot.fluxes(only_q, "a1", model="physical")


def test_every_results_figure_draws_another_model(results, tmp_path):
    """Each function that takes a results Dataset draws TwoStores' results: none of them
    assumes EXP-HYDRO's variables or its six parameters."""
    basin = "b2"
    figures = {
        "hydrograph": plot.hydrograph(results, basin),
        "hydrograph_years": plot.hydrograph_years(results, basin),
        "peak_zoom": plot.peak_zoom(results, basin, n_peaks=2),
        "flow_duration": plot.flow_duration(results, basin),
        "regime": plot.regime(results, basin),
        "basin_summary": plot.basin_summary(results, basin),
        "nse_cdf": plot.nse_cdf(results),
        "nse_anatomy": plot.nse_anatomy(results),
        "parameters": plot.parameters(results),
        "fluxes": plot.fluxes(results, basin),
    }
    for name, fig in figures.items():
        assert isinstance(fig, Figure), name
        plot.save(fig, tmp_path / f"{name}.png", dpi=40)
    hydrograph = figures["hydrograph"].axes
    assert [ax.get_label() for ax in hydrograph][1:] == ["precipitation"]  # prcp is a forcing
    assert len(hydrograph[0].get_lines()) == 1 + 3  # observed and the three models
    # one panel per declared parameter, of the two models that have parameters
    params = [ax for ax in figures["parameters"].axes if ax.get_visible()]
    assert [ax.get_title() for ax in params] == ["k1", "k2"]
    assert [ax.get_ylabel() for ax in params] == ["k1 [1/day]", "k2 [1/day]"]
    assert [t.get_text() for t in params[0].get_xticklabels()] == ["physical", "hybrid"]
    summary = [ax.get_label() for ax in figures["basin_summary"].axes]
    assert [s for s in summary if s != "precipitation"] == [
        "hydrograph",
        "flow_duration",
        "regime",
        "metrics",
    ]


def test_snow_figures_take_any_storage(results):
    """The snow figures take (basin, time) arrays, so any model's storage can stand for snow."""
    storage = results["surface_store"].sel(model="physical", drop=True)
    swe = (storage * 1.5).assign_attrs(units="mm")
    fig = plot.snow_basins(storage, swe, ["a1", "c3"])
    assert len(fig.axes) == 2 and "r = 1.00" in fig.axes[0].get_title()
    assert _legend(fig.axes[0]) == ["SWE (observed)", "snow storage (simulated)"]
    assert isinstance(plot.snow_series(snow_correlation(storage, swe)), Figure)
