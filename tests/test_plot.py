"""Figures of a results Dataset, on a synthetic Dataset (no training)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from dgeo import plot

MODELS = ["physical", "hybrid", "lstm"]
BASINS = ["01022500", "01031500", "04296000", "12345678"]
METRICS = ["nse", "kge", "mnse", "pfab", "fhv", "flv", "rmse", "bias"]
PARAMS = {
    "f": "1/mm",
    "smax": "mm",
    "qmax": "mm/day",
    "df": "mm/degC/day",
    "tmax": "degC",
    "tmin": "degC",
}
STATES = ["snow_storage", "soil_storage"]
FLUXES = [
    "pet",
    "snowfall",
    "rainfall",
    "melt",
    "evapotranspiration",
    "subsurface_flow",
    "surface_flow",
]


def synthetic_results(seed: int = 0) -> xr.Dataset:
    """A results Dataset shaped like `dgeo.evaluate.results_dataset`'s: 3 models, 4 basins, 2 years."""
    rng = np.random.default_rng(seed)
    time = pd.date_range("2000-01-01", "2001-12-31", freq="D").values
    nm, nb, nt = len(MODELS), len(BASINS), len(time)
    season = 1.0 + np.sin(2 * np.pi * np.arange(nt) / 365.25)
    qobs = season * rng.gamma(2.0, 1.0, (nb, nt))
    qobs[:, 100:130] = np.nan  # an observation gap
    qobs[1, 500] = 80.0  # a clear peak in basin 2
    qsim = qobs[None] * rng.uniform(0.7, 1.3, (nm, nb, 1)) + rng.normal(0, 0.3, (nm, nb, nt))
    coords = {"model": MODELS, "basin": BASINS, "time": time}
    ds = xr.Dataset(coords=coords)
    ds["qobs"] = (("basin", "time"), qobs, {"units": "mm/day"})
    ds["qsim"] = (("model", "basin", "time"), qsim, {"units": "mm/day"})
    physics = np.array([m != "lstm" for m in MODELS])[:, None, None]
    for name in [*STATES, *FLUXES, "q_physical"]:
        values = np.where(physics, rng.gamma(2.0, 1.0, (nm, nb, nt)), np.nan)
        if name == "q_physical":
            values[MODELS.index("physical")] = np.nan
        ds[name] = (
            ("model", "basin", "time"),
            values,
            {"units": "mm" if name in STATES else "mm/day"},
        )
    pars = np.where(physics, rng.uniform(0.0, 10.0, (nm, nb, len(PARAMS))), np.nan)
    ds["parameters"] = (("model", "basin", "parameter"), pars)
    ds = ds.assign_coords(
        parameter=list(PARAMS), parameter_units=("parameter", list(PARAMS.values()))
    )
    metrics = rng.uniform(-0.5, 0.95, (nm, nb, len(METRICS)))
    metrics[0, 0, 0] = -3.0  # below the [-1, 1] window of nse_cdf
    metrics[2, 3, :] = np.nan  # a basin without a score
    ds["metrics"] = xr.DataArray(
        metrics, dims=("model", "basin", "metric"), coords={"metric": METRICS}
    )
    return ds


@pytest.fixture(scope="module")
def results() -> xr.Dataset:
    return synthetic_results()


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _saved(fig, tmp_path, name: str) -> None:
    path = plot.save(fig, tmp_path / "figs" / f"{name}.png")
    assert path.exists() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hydrograph(results, tmp_path):
    fig = plot.hydrograph(results, "01031500")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.get_lines()) == len(MODELS) + 1
    assert ax.get_lines()[0].get_color() == "black"
    labels = _legend(ax)
    assert labels[0] == "observed"
    for model, label in zip(MODELS, labels[1:], strict=True):
        nse = float(results.metrics.sel(model=model, basin="01031500", metric="nse"))
        assert label.startswith(model) and f"{nse:.2f}" in label
    assert "01031500" in ax.get_title() and "mm/day" in ax.get_ylabel()
    _saved(fig, tmp_path, "hydrograph")


def test_hydrograph_subset_window_and_ax(results, tmp_path):
    fig = plot.hydrograph(results, "12345678", models="lstm", start="2001-01-01", end="2001-03-31")
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2
    assert "NSE n/a" in _legend(ax)[1]  # NaN metric
    assert ax.get_lines()[0].get_xdata()[0] == np.datetime64("2001-01-01")

    own = Figure().subplots()
    assert plot.hydrograph(results, "01022500", ax=own) is own.figure
    _saved(own.figure, tmp_path, "on_ax")


def test_peak_zoom(results, tmp_path):
    fig = plot.peak_zoom(results, "01031500", models=["physical", "hybrid"], n_peaks=3, days=30)
    assert len(fig.axes) == 3
    first = fig.axes[0]
    assert "2001-05-15" in first.get_title()  # day 500, the planted 80 mm/day peak
    assert len(first.get_lines()) == 3
    span = first.get_lines()[0].get_xdata()
    assert span[-1] - span[0] == np.timedelta64(30, "D")
    peaks = [np.datetime64(ax.get_title().split()[2].rstrip(":")) for ax in fig.axes]
    gaps = [abs(a - b) for i, a in enumerate(peaks) for b in peaks[i + 1 :]]
    assert min(gaps) >= np.timedelta64(30, "D")
    _saved(fig, tmp_path, "peaks")


def test_peak_zoom_without_observations(results):
    empty = results.copy()
    empty["qobs"] = empty["qobs"] * np.nan
    with pytest.raises(ValueError, match="no observed discharge"):
        plot.peak_zoom(empty, "01022500")


def test_nse_cdf(results, tmp_path):
    fig = plot.nse_cdf(results)
    ax = fig.axes[0]
    assert len(ax.get_lines()) == len(MODELS)
    labels = _legend(ax)
    for model, label in zip(MODELS, labels, strict=True):
        median = float(results.metrics.sel(model=model, metric="nse").median())
        assert label.startswith(model) and f"median {median:.2f}" in label
    assert "n=3" in labels[2]  # one NaN basin left out
    assert ax.get_xlim() == (-1.0, 1.0) and "below -1" in ax.get_xlabel()
    assert min(ax.get_lines()[0].get_xdata()) == -1.0  # -3 drawn at the edge
    _saved(fig, tmp_path, "cdf")


def test_nse_cdf_unbounded_metric(results):
    ax = plot.nse_cdf(results, metric="rmse").axes[0]
    assert "below -1" not in ax.get_xlabel() and "mm/day" in ax.get_xlabel()
    with pytest.raises(ValueError, match="'r2'.*nse"):
        plot.nse_cdf(results, metric="r2")


def test_nse_anatomy(results, tmp_path):
    r = results.copy()
    # basin 3 of the hybrid: twice the flow, perfectly timed -> alpha 2, r 1, NSE < 0
    r["qsim"] = r["qsim"].copy()
    r["qsim"].loc[{"model": "hybrid", "basin": BASINS[2]}] = 2 * r["qobs"].sel(basin=BASINS[2])
    fig = plot.nse_anatomy(r, models=["physical", "hybrid"])
    assert [ax.get_title() for ax in fig.axes] == ["physical", "hybrid"]
    hybrid = fig.axes[1]
    failed = hybrid.collections[1].get_offsets()
    assert (1.0, 2.0) in [tuple(np.round(p, 6)) for p in np.asarray(failed)]
    assert _legend(hybrid)[:2] == ["NSE >= 0 (3)", "NSE < 0 (1)"]
    _saved(fig, tmp_path, "anatomy")
    with pytest.raises(ValueError, match="'gru'"):
        plot.nse_anatomy(results, models="gru")


def test_parameters(results, tmp_path):
    fig = plot.parameters(results)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(PARAMS)
    for ax, (name, unit) in zip(visible, PARAMS.items(), strict=True):
        assert ax.get_title() == name and f"[{unit}]" in ax.get_ylabel()
        strips = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert len(strips) == 2  # physical and hybrid; lstm has none
        assert all(len(c.get_offsets()) == len(BASINS) for c in strips)
        assert [t.get_text() for t in ax.get_xticklabels()] == ["physical", "hybrid"]
    _saved(fig, tmp_path, "params")

    one = plot.parameters(results, model="hybrid")
    for ax in one.axes:
        assert len([c for c in ax.collections if isinstance(c, PathCollection)]) == 1
    with pytest.raises(ValueError, match="'lstm'.*physical, hybrid"):
        plot.parameters(results, model="lstm")


def test_fluxes(results, tmp_path):
    fig = plot.fluxes(results, "04296000", start="2000-10-01", end="2001-09-30")
    assert len(fig.axes) == 6
    labels = [label for ax in fig.axes for label in _legend(ax)]
    for name in [
        "rainfall",
        "snowfall",
        "melt",
        "evapotranspiration",
        "subsurface flow",
        "surface flow",
    ]:
        assert name in labels
    assert "mm/day" in fig.axes[0].get_ylabel() and "[mm]" in fig.axes[-1].get_ylabel()
    assert "04296000" in fig.get_suptitle() and "hybrid" in fig.get_suptitle()
    _saved(fig, tmp_path, "fluxes")
    assert len(plot.fluxes(results, "04296000", model="physical").axes) == 6


def test_fluxes_neural_model_raises(results):
    with pytest.raises(ValueError, match="'lstm'.*physical, hybrid"):
        plot.fluxes(results, "01022500", model="lstm")


@pytest.mark.parametrize(
    "call",
    [
        lambda r: plot.hydrograph(r, "99999999"),
        lambda r: plot.peak_zoom(r, "99999999"),
        lambda r: plot.fluxes(r, "99999999"),
    ],
)
def test_unknown_basin(results, call):
    with pytest.raises(ValueError, match="'99999999'.*01022500, 01031500"):
        call(results)


@pytest.mark.parametrize(
    "call",
    [
        lambda r: plot.hydrograph(r, "01022500", models=["hybrid", "gru"]),
        lambda r: plot.peak_zoom(r, "01022500", models="gru"),
        lambda r: plot.parameters(r, model="gru"),
        lambda r: plot.fluxes(r, "01022500", model="gru"),
    ],
)
def test_unknown_model(results, call):
    with pytest.raises(ValueError, match="'gru'.*physical, hybrid, lstm"):
        call(results)


def test_save_closes_pyplot_figure(tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    plot.hydrograph(synthetic_results(1), "01022500", ax=ax)
    path = plot.save(fig, tmp_path / "a" / "b" / "pyplot.png", dpi=50)
    assert path.stat().st_size > 0 and not plt.fignum_exists(fig.number)
