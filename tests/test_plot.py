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


# ----------------------------------------------------------------------------- hydrologist's figures
def with_precip(results: xr.Dataset, seed: int = 2) -> xr.Dataset:
    """`results` with a (basin, time) `prcp` in mm/day (a gap of NaN included), as
    `dgeo.evaluate.results_dataset` writes it for runs with forcings."""
    rng = np.random.default_rng(seed)
    shape = (results.sizes["basin"], results.sizes["time"])
    prcp = rng.gamma(0.4, 8.0, shape) * (rng.uniform(size=shape) < 0.5)
    prcp[:, 40:45] = np.nan
    out = results.copy()
    out["prcp"] = (("basin", "time"), prcp, {"units": "mm/day", "long_name": "precipitation"})
    return out


def dry(results: xr.Dataset) -> xr.Dataset:
    """`results` with zero flow (a dry spell), negative and NaN simulations, and all-zero flow
    in one basin: what a log axis must survive."""
    out = results.copy(deep=True)
    out["qobs"][:, 200:260] = 0.0
    out["qobs"][3, :] = 0.0
    out["qsim"][1, :, 210:250] = -0.5
    out["qsim"][2, :, 300:320] = np.nan
    out["qsim"][2, 3, :] = 0.0
    return out


@pytest.fixture(scope="module")
def rain(results) -> xr.Dataset:
    return with_precip(results)


def _main(fig) -> list:
    return [ax for ax in fig.axes if ax.get_label() != "precipitation"]


def _precip_axes(fig) -> list:
    return [ax for ax in fig.axes if ax.get_label() == "precipitation"]


def test_hydrograph_default_is_one_water_year(results):
    ax = plot.hydrograph(results, "01031500").axes[0]
    assert "wettest water year 2001" in ax.get_title()
    x = ax.get_lines()[0].get_xdata()
    assert x[0] == np.datetime64("2000-10-01") and x[-1] == np.datetime64("2001-09-30")
    assert ax.get_yscale() == "linear"


def test_hydrograph_precipitation_hangs_from_the_top(rain, tmp_path):
    fig = plot.hydrograph(rain, "01031500")
    assert len(fig.axes) == 2
    (ax,), (axp,) = _main(fig), _precip_axes(fig)
    bottom, top = axp.get_ylim()
    assert bottom > top == 0.0  # inverted: bars hang from the top
    assert axp.get_xlim() == ax.get_xlim()  # one time axis
    assert "precipitation" in axp.get_ylabel() and "mm/day" in axp.get_ylabel()
    p = rain["prcp"].sel(basin="01031500", time=slice("2000-10-01", "2001-09-30"))
    assert np.nanmax(p) <= bottom * plot.PRECIP_DEPTH * 1.0001  # reaches down PRECIP_DEPTH at most
    q_bottom, q_top = ax.get_ylim()
    q = [line.get_ydata() for line in ax.get_lines()]
    assert np.nanmax(np.concatenate(q)) <= q_bottom + plot.FLOW_ROOM * (q_top - q_bottom) + 1e-9
    assert ax.get_zorder() > axp.get_zorder()  # flows drawn over the rain
    labels = _legend(ax)
    assert labels[0] == "observed" and any("precipitation" in t for t in labels)
    _saved(fig, tmp_path, "hydrograph_precip")
    assert len(plot.hydrograph(rain, "01031500", precip=False).axes) == 1


def test_hydrograph_year_window_and_errors(rain):
    ax = _main(plot.hydrograph(rain, "01022500", year=2002))[0]
    assert ax.get_lines()[0].get_xdata()[0] == np.datetime64("2001-10-01")  # partial year
    assert ax.get_xlim()[1] - ax.get_xlim()[0] == pytest.approx(365.0)  # the whole water year
    full = _main(plot.hydrograph(rain, "01022500", year="all"))[0]
    assert len(full.get_lines()[0].get_xdata()) == rain.sizes["time"]
    calendar = _main(plot.hydrograph(rain, "01022500", year=2001, water_year_start=1))[0]
    assert calendar.get_lines()[0].get_xdata()[0] == np.datetime64("2001-01-01")
    with pytest.raises(ValueError, match="either year= or start="):
        plot.hydrograph(rain, "01022500", year=2001, start="2001-01-01")
    with pytest.raises(ValueError, match="water year 1990.*2000, 2001, 2002"):
        plot.hydrograph(rain, "01022500", year=1990)


def test_default_water_year_is_the_wettest_well_observed_one():
    time = pd.date_range("1999-10-01", "2003-09-30", freq="D").values
    years = plot.water_year(time)
    q = np.select([years == 2000, years == 2001, years == 2002], [1.0, 3.0, 2.0], 9.0)
    q[np.flatnonzero(years == 2000)[100]] = 500.0  # the largest peak is not in the wettest year
    q[(years == 2003) & (np.arange(q.size) % 3 > 0)] = np.nan  # wettest, but 1/3 observed
    ds = xr.Dataset({"qobs": (("basin", "time"), q[None])}, coords={"basin": ["a"], "time": time})
    assert plot.default_water_year(ds, "a") == 2001
    assert list(np.unique(years)) == [2000, 2001, 2002, 2003]
    assert plot.water_year(np.array(["2000-09-30", "2000-10-01"], "datetime64[D]")).tolist() == [
        2000,
        2001,
    ]
    ds["qobs"][:] = np.nan
    assert plot.default_water_year(ds, "a") == 2000


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("basin", ["01022500", "12345678"])
def test_hydrograph_log_with_zero_negative_and_nan_flows(rain, basin, tmp_path):
    fig = plot.hydrograph(dry(rain), basin, log=True)
    ax = _main(fig)[0]
    assert ax.get_yscale() == "log"
    bottom, top = ax.get_ylim()
    assert 0.0 < bottom < top
    for line in ax.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        assert np.all(y[np.isfinite(y)] >= bottom)  # zeros and negatives on the axis bottom
    assert "at bottom" in ax.get_ylabel()
    _saved(fig, tmp_path, f"hydrograph_log_{basin}")


@pytest.mark.filterwarnings("error")
def test_flow_duration(rain, tmp_path):
    r = dry(rain)
    fig = plot.flow_duration(r, "01022500")
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and "exceedance" in ax.get_xlabel()
    lines = ax.get_lines()
    assert len(lines) == len(MODELS) + 1 and lines[0].get_color() == "black"
    observed = int(r["qobs"].sel(basin="01022500").notnull().sum())
    assert len(lines[0].get_xdata()) == observed  # gaps left out
    for line in lines:
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        assert np.all(np.isfinite(y)) and np.all(np.diff(y) <= 0)  # non-increasing
        assert 0.0 < x[0] and x[-1] < 100.0 and np.all(np.diff(x) > 0)
        assert np.all(y >= ax.get_ylim()[0])  # zeros on the axis bottom
    labels = _legend(ax)
    assert labels[0] == "observed"
    fhv = float(r.metrics.sel(model="hybrid", basin="01022500", metric="fhv"))
    assert f"FHV {fhv:+.0f}%" in labels[2]
    _saved(fig, tmp_path, "fdc")

    one = plot.flow_duration(r, "12345678", "lstm").axes[0]  # all-zero flow, NaN metrics
    assert [t.get_text() for t in one.get_legend().get_texts()] == ["observed", "lstm"]
    own = Figure().subplots()
    assert plot.flow_duration(results_without_metrics(r), "01022500", ax=own) is own.figure


def results_without_metrics(results: xr.Dataset) -> xr.Dataset:
    return results.drop_vars(["metrics", "metric"])


def test_hydrograph_years(results, rain, tmp_path):
    fig = plot.hydrograph_years(rain, "01031500")
    panels, twins = _main(fig), _precip_axes(fig)
    assert len(panels) == len(twins) == 3  # water years 2000, 2001, 2002
    assert [ax.get_title(loc="left") for ax in panels] == [
        f"water year {y}" for y in (2000, 2001, 2002)
    ]
    assert all("NSE" in ax.get_title(loc="right") for ax in panels)
    assert len({ax.get_ylim() for ax in panels}) == 1  # one discharge scale
    assert len({ax.get_ylim() for ax in twins}) == 1  # one precipitation scale
    assert all(ax.get_ylim()[0] > ax.get_ylim()[1] for ax in twins)
    for ax in panels:  # each panel spans a whole water year
        assert ax.get_xlim()[1] - ax.get_xlim()[0] in (365.0, 366.0)
    assert fig.legends and "observed" in [t.get_text() for t in fig.legends[0].get_texts()]
    _saved(fig, tmp_path, "years")

    assert fig.get_supylabel() == "discharge [mm/day]"
    one = plot.hydrograph_years(dry(results), "01031500", years=2001, log=True)
    assert len(one.axes) == 1 and one.axes[0].get_yscale() == "log"
    assert "(log; \u2264" in one.get_supylabel()  # zero flow sits on the axis bottom
    with pytest.raises(ValueError, match=r"\[1990\].*2000, 2001, 2002"):
        plot.hydrograph_years(results, "01031500", years=[2001, 1990])


def test_regime(rain, results):
    fig = plot.regime(rain, "01022500")
    (ax,), (axp,) = _main(fig), _precip_axes(fig)
    assert [t.get_text() for t in ax.get_xticklabels()] == list("ONDJFMAMJJAS")
    assert len(ax.get_lines()) == len(MODELS) + 1
    obs = rain["qobs"].sel(basin="01022500").to_series()
    october = obs[obs.index.month == 10].mean()
    assert ax.get_lines()[0].get_ydata()[0] == pytest.approx(october)
    assert len(axp.patches) == 12 and axp.get_ylim()[0] > axp.get_ylim()[1]
    assert len(plot.regime(results, "01022500").axes) == 1


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("rainy", [True, False])
def test_basin_summary(results, rainy, tmp_path):
    r = dry(with_precip(results) if rainy else results)
    fig = plot.basin_summary(r, "12345678")  # all-zero flow, NaN scores for the lstm
    labels = [ax.get_label() for ax in fig.axes]
    panels = ["hydrograph", "flow_duration", "regime", "metrics"]
    assert [label for label in labels if label != "precipitation"] == panels
    assert labels.count("precipitation") == (2 if rainy else 0)
    axes = dict(zip(labels, fig.axes, strict=False))
    assert "water year" in axes["hydrograph"].get_title()
    assert axes["flow_duration"].get_yscale() == "log"
    (table,) = axes["metrics"].tables
    cells = table.get_celld()
    assert [cells[0, k].get_text().get_text() for k in range(len(MODELS) + 1)] == [
        "metric",
        *MODELS,
    ]
    rows = {cells[i, 0].get_text().get_text(): i for i in range(1, len(METRICS) + 1)}
    assert {"NSE [-]", "RMSE [mm/day]", "BIAS [%]"} <= set(rows)
    assert cells[rows["NSE [-]"], 3].get_text().get_text() == "n/a"  # the lstm's NaN score
    nse = float(r.metrics.sel(model="physical", basin="12345678", metric="nse"))
    assert cells[rows["NSE [-]"], 1].get_text().get_text() == f"{nse:.2f}"
    assert "12345678" in fig.get_suptitle()
    path = plot.save(fig, tmp_path / f"summary_{rainy}.png")
    assert 1000 < path.stat().st_size < 400_000


def test_run_figures_write_summaries(rain, tmp_path):
    from dgeo.runs import _figures

    _figures(rain, tmp_path, n_basins=1, n_summaries=2)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "hydrograph_01022500.png",
        "nse_cdf.png",
        "summaries.txt",
        "summary_01022500.png",
        "summary_01031500.png",
    ]
    assert "first 2 of the 4 basins" in (tmp_path / "summaries.txt").read_text()
    _figures(rain.isel(basin=[2, 3]), tmp_path / "all", "_validation", n_basins=0)
    assert sorted(p.name for p in (tmp_path / "all").glob("summary_*")) == [
        "summary_04296000_validation.png",
        "summary_12345678_validation.png",
    ]
    assert not list((tmp_path / "all").glob("*.txt"))
