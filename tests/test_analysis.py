"""dgeo.evaluate's regional analysis on hand-made results whose answers are known by
construction: skill summaries, classes, the paper's filter, two models, failure anatomy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import dgeo
from conftest import unchecked_types
from dgeo.data import DataError
from dgeo.evaluate import (
    class_table,
    compare_models,
    failure_anatomy,
    failure_table,
    metrics_table,
    pair_models,
    paper_basins,
    skill_by_class,
    skill_summary,
    summary_table,
)

DAYS = pd.date_range("2000-01-01", periods=730)  # two whole periods of the seasonal sine
PHASE = 2 * np.pi * np.arange(730) / 365
OBS = 2.0 + np.sin(PHASE)  # mean 2, population std 1 / sqrt(2)
STD = np.std(OBS)
PARAMETERS = list(dgeo.ExpHydro().parameter_names)


def results(qobs: dict, sims: dict, parameters: dict | None = None, time=DAYS) -> xr.Dataset:
    """A results Dataset: qobs {basin: series}, sims {model: {basin: series}}, parameters
    {model: {basin: [f, smax, qmax, df, tmax, tmin]}} (NaN for models without)."""
    basins, models = list(qobs), list(sims)
    ds = xr.Dataset(coords={"model": models, "basin": basins, "time": time})
    ds["qobs"] = (("basin", "time"), np.stack([qobs[b] for b in basins]))
    qsim = [[sims[m][b] for b in basins] for m in models]
    ds["qsim"] = (("model", "basin", "time"), np.array(qsim, dtype=np.float64))
    values = np.full((len(models), len(basins), len(PARAMETERS)), np.nan)
    for i, m in enumerate(models):
        for j, b in enumerate(basins):
            if parameters and m in parameters:
                values[i, j] = parameters[m][b]
    ds["parameters"] = (("model", "basin", "parameter"), values)
    ds = ds.assign_coords(parameter=PARAMETERS)
    tables = [metrics_table(ds["qobs"], ds["qsim"].sel(model=m)) for m in models]
    ds["metrics"] = xr.concat(tables, "model").assign_coords(model=models)
    return ds


def scores(values: dict) -> xr.Dataset:
    """A results Dataset with `metrics` only: {model: {basin: nse}} (kge = -nse)."""
    models, basins = list(values), list(next(iter(values.values())))
    nse = np.array([[values[m][b] for b in basins] for m in models])
    table = xr.DataArray(
        np.stack([nse, -nse], axis=-1),
        dims=("model", "basin", "metric"),
        coords={"model": models, "basin": basins, "metric": ["nse", "kge"]},
    )
    return xr.Dataset({"metrics": table})


# ----------------------------------------------------------------------------- skill summary

NSE = [0.5, -0.2, 0.9, np.nan, 0.1, -1.5, 0.7]


def test_skill_summary_is_numpy_on_the_valid_basins():
    basins = [f"b{i}" for i in range(len(NSE))]
    stats = skill_summary(scores({"m": dict(zip(basins, NSE, strict=True))}))["m"]
    good = np.array([v for v in NSE if not np.isnan(v)])
    assert list(stats) == ["median", "mean", "std", "p25", "p75", "n_negative", "n"]
    assert stats["median"] == np.median(good) == pytest.approx(0.3)
    assert stats["mean"] == pytest.approx(np.mean(good), rel=1e-15)
    assert stats["std"] == pytest.approx(np.std(good), rel=1e-15)
    assert (stats["p25"], stats["p75"]) == tuple(np.percentile(good, [25, 75]))
    assert (stats["n_negative"], stats["n"]) == (2, 6)
    kge = skill_summary(scores({"m": dict(zip(basins, NSE, strict=True))}), metric="kge")["m"]
    assert kge["median"] == pytest.approx(-0.3) and kge["n_negative"] == 4


def test_skill_summary_names_what_is_missing():
    ds = scores({"m": {"a": 0.1, "b": 0.2}})
    with pytest.raises(DataError, match="'pfab'.*'nse', 'kge'"):
        skill_summary(ds, metric="pfab")
    with pytest.raises(DataError, match="no 'metrics' variable"):
        skill_summary(ds.drop_vars("metrics"))


def test_summary_table_rows_and_seconds():
    stats = skill_summary(scores({"hybrid": {"a": 0.5, "b": -0.25}, "lstm": {"a": 0.0, "b": 1}}))
    table = summary_table(stats, {"hybrid": 12.4, "lstm": 300.6}).splitlines()
    assert table[0] == "| model | NSE median | mean | std | p25-p75 | NSE < 0 | basins | train s |"
    assert table[1] == "|---|---|---|---|---|---|---|---|"
    assert table[2] == "| hybrid | 0.125 | 0.125 | 0.375 | -0.062-0.312 | 1 | 2 | 12 |"
    assert table[3] == "| lstm | 0.500 | 0.500 | 0.500 | 0.250-0.750 | 0 | 2 | 301 |"
    assert summary_table(stats).splitlines()[2].endswith("| 1 | 2 |")
    assert summary_table(stats, label="KGE").startswith("| model | KGE median |")
    with pytest.raises(KeyError, match="lstm"):
        summary_table(stats, {"hybrid": 1.0})


# ----------------------------------------------------------------------------- paper filter


def test_paper_basins_on_four_basins():
    ds = xr.Dataset(
        {
            "aridity": ("basin", [0.8, 1.5, 1.5, 1.2]),  # "edge": at the aridity bound
            "low_prec_freq": ("basin", [300.0, 280.0, 300.0, 350.0]),  # "wet": at 280 days
        },
        coords={"basin": ["humid", "wet", "dry", "edge"]},
    )
    keep = paper_basins(ds)
    assert keep.dtype == bool and keep.dims == ("basin",)
    assert keep.to_series().to_dict() == {"humid": True, "wet": True, "dry": False, "edge": True}
    ds["aridity"][0] = np.nan  # passes only on low_prec_freq, and 300 > 280
    assert not paper_basins(ds).sel(basin="humid")
    with pytest.raises(DataError, match="low_prec_freq"):
        paper_basins(ds.drop_vars("low_prec_freq"))


# ----------------------------------------------------------------------------- classes

# basin: (aridity, nse)
CLASSED = {
    "a": (0.3, 0.8),
    "b": (0.6, -0.1),  # on the edge: in the lower class
    "c": (0.61, 0.4),
    "d": (1.0, 0.2),
    "e": (2.5, -0.5),
    "f": (np.nan, 0.9),  # no class
    "g": (0.0, 0.7),  # at the first edge: no class
}


def test_skill_by_class_assigns_basins_by_edges():
    ds = scores({"m": {b: v[1] for b, v in CLASSED.items()}})
    aridity = xr.DataArray(
        [v[0] for v in CLASSED.values()][::-1],  # another order: matched by basin id
        dims="basin",
        coords={"basin": list(CLASSED)[::-1]},
    )
    classes = skill_by_class(ds, aridity, (0.0, 0.6, 1.0, np.inf))
    assert list(classes) == ["0.0-0.6", "0.6-1.0", ">1.0"]
    assert classes["0.0-0.6"]["m"] == {"median": pytest.approx(0.35), "n_negative": 1, "n": 2}
    assert classes["0.6-1.0"]["m"] == {"median": pytest.approx(0.3), "n_negative": 0, "n": 2}
    assert classes[">1.0"]["m"] == {"median": -0.5, "n_negative": 1, "n": 1}
    empty = skill_by_class(ds, aridity, (5.0, 6.0))["5.0-6.0"]["m"]
    assert np.isnan(empty["median"]) and empty["n"] == 0
    with pytest.raises(DataError, match="lacks 1 basin"):
        skill_by_class(ds, aridity.drop_sel(basin="c"), (0.0, 1.0))
    with pytest.raises(ValueError, match="increasing"):
        skill_by_class(ds, aridity, (0.0, 1.0, 1.0))


def test_class_table():
    ds = scores({"hybrid": {"a": 0.5, "b": -0.25}, "lstm": {"a": 0.25, "b": 0.75}})
    values = xr.DataArray([0.5, 3.0], dims="basin", coords={"basin": ["a", "b"]})
    table = class_table(skill_by_class(ds, values, (0.0, 1.0, np.inf))).splitlines()
    assert table == [
        "| aridity | basins | hybrid median (NSE < 0) | lstm median (NSE < 0) |",
        "|---|---|---|---|",
        "| 0.0-1.0 | 1 | 0.500 (0) | 0.250 (0) |",
        "| >1.0 | 1 | -0.250 (1) | 0.750 (0) |",
    ]


# ----------------------------------------------------------------------------- two models

ERROR = np.cos(PHASE)  # orthogonal to the anomaly of OBS over whole periods
# basin: (error of a, error of b): a better, b better, a tie
AMOUNTS = {"x": (0.1, 0.3), "y": (0.3, 0.1), "z": (0.2, 0.2)}


def two_runs():
    qobs = dict.fromkeys(AMOUNTS, OBS)
    a = results(qobs, {"hybrid": {b: OBS + ka * ERROR for b, (ka, _) in AMOUNTS.items()}})
    b = results(qobs, {"lstm": {b: OBS - kb * ERROR for b, (_, kb) in AMOUNTS.items()}})
    return a, b


def test_compare_models_counts_and_the_mean_of_both():
    a, b = two_runs()
    out = compare_models(a, "hybrid", b, "lstm", names=("hybrid", "lstm_35ep"))
    assert out["basins_better"] == {"hybrid": 1, "lstm_35ep": 1}  # the tie counts for neither
    # The mean of both is OBS + (ka - kb) / 2 * ERROR: NSE = 1 - ((ka - kb) / 2)^2 var(e) / var(o)
    expected = [1 - ((ka - kb) / 2) ** 2 * np.var(ERROR) / STD**2 for ka, kb in AMOUNTS.values()]
    assert out["mean_of_both"]["median"] == pytest.approx(np.median(expected), abs=1e-12)
    assert out["mean_of_both"]["n_negative"] == 0 and out["mean_of_both"]["n"] == 3
    pair = pair_models(a, "hybrid", b, "lstm")
    assert list(pair["model"].values) == ["hybrid", "lstm"]
    assert skill_summary(pair)["lstm"]["n"] == 3


def test_compare_models_needs_the_same_basins_and_days():
    a, b = two_runs()
    with pytest.raises(DataError, match="same labels"):
        compare_models(a, "hybrid", b.isel(basin=[0, 1]), "lstm")
    shifted = b.assign_coords(time=b["time"] + np.timedelta64(1, "D"))
    with pytest.raises(DataError, match="same labels"):
        compare_models(a, "hybrid", shifted, "lstm")
    with pytest.raises(DataError, match="different observed discharge"):
        compare_models(a, "hybrid", b.assign(qobs=b["qobs"] + 1), "lstm")
    with pytest.raises(DataError, match="no model 'lstm'.*'hybrid'"):
        compare_models(a, "hybrid", a, "lstm")
    with pytest.raises(ValueError, match="two different names"):
        compare_models(a, "hybrid", a, "hybrid")


# ----------------------------------------------------------------------------- failures

ANOMALY = OBS - 2.0
FAILING = {
    "perfect": OBS,  # NSE 1
    "amplitude": 2.0 + 3 * ANOMALY,  # r 1, alpha 3: amplitude 4, NSE -3
    "volume": 2.0 + 1.5 * ANOMALY + 2 * STD,  # alpha 1.5, beta_n 2: amplitude 0.25, volume 4
    "timing": 2.0 + 0.5 * np.cos(PHASE),  # r 0, alpha 0.5: timing 1, amplitude 0.25
    "fair": OBS + 0.8 * STD,  # beta_n 0.8: volume 0.64, NSE 0.36 (poor, not failed)
    "ungauged": OBS,  # observations all NaN: no NSE
}


def failing_results():
    qobs = {b: np.full(730, np.nan) if b == "ungauged" else OBS for b in FAILING}
    return results(qobs, {"hybrid": FAILING, "good": dict.fromkeys(FAILING, OBS)})


def test_failure_anatomy_finds_the_dominant_term():
    anatomy = failure_anatomy(failing_results())
    hybrid, good = anatomy["hybrid"], anatomy["good"]
    assert hybrid["n_negative"] == 3
    assert hybrid["dominant_term"] == {"amplitude": 1, "timing": 1, "volume": 1}
    failed, every = hybrid["failed_median"], hybrid["all_median"]
    assert failed["r"] == pytest.approx(1.0) and every["r"] == pytest.approx(1.0)
    assert failed["alpha"] == pytest.approx(1.5)  # of 3, 1.5, 0.5
    assert every["alpha"] == pytest.approx(1.0)  # of 1, 3, 1.5, 0.5, 1
    assert every["beta_n"] == pytest.approx(0.0, abs=1e-12)  # of 0, 0, 2, 0, 0.8
    assert failed["beta_n"] == pytest.approx(0.0, abs=1e-12)
    assert good["n_negative"] == 0 and good["dominant_term"] == dict.fromkeys(
        ("amplitude", "timing", "volume"), 0
    )
    assert all(np.isnan(v) for v in good["failed_median"].values())
    assert "overshoot_basins" not in hybrid  # no forcing, no check


def test_failure_table():
    anatomy = failure_anatomy(failing_results())
    anatomy["good"].update(overshoot_basins=2, overshoot_failed=1)
    table = failure_table(anatomy).splitlines()
    assert table[0].startswith("| model | NSE < 0 | amplitude | timing | volume | r |")
    assert table[2] == "| hybrid | 3 | 1 | 1 | 1 | 1.00 (1.00) | 1.50 (1.00) | 0.00 (0.00) | - |"
    assert table[3] == "| good | 0 | 0 | 0 | 0 | nan (1.00) | nan (1.00) | nan (0.00) | 2 (1) |"


# An EXP-HYDRO soil store drained to ~0 mm by a large Qmax with a tiny f overshoots on its
# explicit daily step (tests/test_physics.py); the moderate bucket never does.
MODERATE = [0.02, 800.0, 20.0, 2.0, 1.0, -1.0]
DRAINED = [0.001, 200.0, 47.0, 2.0, 1.0, -1.0]
YEAR = pd.date_range("2000-01-01", periods=366)


@pytest.fixture(scope="module")
def warm_drizzle():
    """A year of 1.5 mm/day at 15 degC on three basins (ExpHydro's forcings)."""
    shape = (3, len(YEAR))
    return xr.Dataset(
        {
            "prcp": (("basin", "time"), np.full(shape, 1.5), {"units": "mm/day"}),
            "tmean": (("basin", "time"), np.full(shape, 15.0), {"units": "degC"}),
            "dayl": (("basin", "time"), np.full(shape, 0.5), {"units": "day"}),
        },
        coords={"basin": ["moderate", "drained_bad", "drained_good"], "time": YEAR},
    )


def overshoot_results():
    scored = YEAR[60:]  # after two months of spin-up
    obs = 2.0 + np.sin(2 * np.pi * np.arange(len(scored)) / 365)
    qobs = {"drained_good": obs, "moderate": obs, "drained_bad": obs}  # another order
    sims = {"drained_good": obs, "moderate": obs, "drained_bad": obs + 5.0}  # NSE < 0
    parameters = {"moderate": MODERATE, "drained_bad": DRAINED, "drained_good": DRAINED}
    sims = {"p_rnn": sims, "lstm": sims}
    return results(qobs, sims, {"p_rnn": parameters}, time=scored)


def test_failure_anatomy_counts_overshooting_basins(warm_drizzle):
    res = overshoot_results()
    physics = dgeo.ExpHydro()
    anatomy = failure_anatomy(res, warm_drizzle, physics)
    assert anatomy["p_rnn"]["n_negative"] == 1
    assert (anatomy["p_rnn"]["overshoot_basins"], anatomy["p_rnn"]["overshoot_failed"]) == (2, 1)
    assert "overshoot_basins" not in anatomy["lstm"]  # no parameters: no P-RNN to check
    # The same days by hand: the drained buckets overshoot on a few % of them, never 50 %.
    params = {p: [MODERATE[i], DRAINED[i], DRAINED[i]] for i, p in enumerate(PARAMETERS)}
    st = dgeo.step_stability(physics, warm_drizzle, params)
    fraction = st["overshoot"].sel(time=slice(YEAR[60], None)).mean("time").values
    assert fraction[0] == 0 and (0.01 < fraction[1:]).all() and (fraction[1:] < 0.5).all()
    half = failure_anatomy(res, warm_drizzle, physics, min_fraction=0.5)["p_rnn"]
    assert half["overshoot_basins"] == 0
    with pytest.raises(DataError, match="no day in the period"):
        failure_anatomy(res, warm_drizzle, physics, period=("2001-01-01", "2001-12-31"))


def test_failure_anatomy_checks_its_arguments(warm_drizzle):
    res = overshoot_results()
    with pytest.raises(ValueError, match="both forcing and physics"):
        failure_anatomy(res, warm_drizzle)
    with pytest.raises(TypeError, match="PhysicalModel instance"), unchecked_types():
        failure_anatomy(res, warm_drizzle, dgeo.ExpHydro)
    with pytest.raises(DataError, match="forcing lacks 1 basin"):
        failure_anatomy(res, warm_drizzle.isel(basin=[0, 1]), dgeo.ExpHydro())
    with pytest.raises(DataError, match="lack \\['qsim'\\]"):
        failure_anatomy(res.drop_vars("qsim"))
