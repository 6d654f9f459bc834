"""Synthetic twin catchments: reproducible, CAMELS layout, snow mix, exact truth, water balance."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import dgeo
from dgeo.data import to_time_major, validate
from dgeo.data._synthetic import synthetic

MODEL = dgeo.ExpHydro()
SHORT = {"n_basins": 3, "start": "2000-10-01", "end": "2004-09-30"}
FORCING_UNITS = {"prcp": "mm/day", "tmax": "degC", "tmin": "degC", "tmean": "degC",
                 "dayl": "s", "srad": "W/m2", "vp": "Pa", "qobs": "mm/day"}  # fmt: skip
STATIC = ("p_mean", "pet_mean", "aridity", "frac_snow", "elev_mean", "area_gages2")


@pytest.fixture(scope="module")
def default():
    return synthetic()


def true_params(ds):
    return {p: ds[f"true_{p}"] for p in MODEL.parameter_names}


def true_initial_state(ds):
    return {s: ds[f"true_{s}"].isel(time=0) for s in MODEL.states}


def test_same_seed_same_data_other_seed_other_data():
    a, b = synthetic(**SHORT, seed=3), synthetic(**SHORT, seed=3)
    xr.testing.assert_identical(a, b)
    c = synthetic(**SHORT, seed=4)
    assert not np.allclose(a.prcp, c.prcp)
    assert not np.allclose(a.true_smax, c.true_smax)
    # The weather and truth depend on the seed only, not on the noise or quick-flow settings.
    d = synthetic(**SHORT, seed=3, noise=0.0, quickflow=0.0)
    for name in ("prcp", "tmean", "srad", "true_smax", "lat"):
        xr.testing.assert_identical(a[name], d[name])
    assert not np.allclose(a.qobs, d.qobs)


def test_layout_is_what_load_camels_us_returns(default):
    ds = default
    report = validate(ds, require=list(FORCING_UNITS))
    assert report.basins == 8 and report.days == ds.sizes["time"] == 10957
    assert int(report.missing.to_numpy().sum()) == 0
    arrays = to_time_major(ds, MODEL.forcings)
    assert arrays["prcp"].shape == (10957, 8)
    assert 0.3 < arrays["dayl"].min() and arrays["dayl"].max() < 0.7  # converted from s to days
    assert list(ds.basin.values) == [f"syn{i:03d}" for i in range(8)]
    assert ds.time.dtype == np.dtype("datetime64[ns]")
    assert str(ds.time[0].dt.date.item()) == "1980-10-01"
    for name, units in FORCING_UNITS.items():
        assert ds[name].dims == ("basin", "time") and ds[name].attrs["units"] == units
    expected = {"lat": "degrees_north", "lon": "degrees_east", "elevation": "m", "area": "km2"}
    for name, units in expected.items():
        assert ds.coords[name].dims == ("basin",) and ds.coords[name].attrs["units"] == units
    for name in STATIC:
        assert ds[name].dims == ("basin",) and "units" in ds[name].attrs
    np.testing.assert_allclose(ds.tmean, (ds.tmax + ds.tmin) / 2)
    np.testing.assert_allclose(ds.aridity, ds.pet_mean / ds.p_mean)
    assert (ds.lat >= 35).all() and (ds.lat <= 50).all()
    assert (ds.elevation >= 100).all() and (ds.elevation <= 2500).all()
    assert (ds.prcp >= 0).all() and (ds.qobs >= 0).all() and (ds.srad > 0).all()
    assert 0.2 < float((ds.prcp > 0).mean()) < 0.5
    assert ds.attrs["title"] == "dgeo synthetic twin catchments" and ds.attrs["source"]
    for p in MODEL.parameters:
        values = ds[f"true_{p.name}"]
        assert values.attrs["units"] == p.units
        assert ((values >= p.lower) & (values <= p.upper)).all()


def test_layout_matches_real_camels(camels_root, default):
    from dgeo.data import load_camels_us

    real = load_camels_us(camels_root, basins=["01022500"])
    for name in [*FORCING_UNITS, *STATIC, "qobs_flag"]:
        assert default[name].dims == real[name].dims
        assert default[name].attrs["units"] == real[name].attrs["units"]
    for name in ("lat", "lon", "elevation", "area"):
        assert default.coords[name].attrs["units"] == real.coords[name].attrs["units"]


def test_some_basins_snowy_some_nearly_snow_free(default):
    peak = default.true_snow_storage.max("time")
    assert int((peak > 50).sum()) >= 2
    assert float(peak.min()) < 10
    assert float(default.frac_snow.min()) < 0.02 and float(default.frac_snow.max()) > 0.2
    # Snow melts out every year: no basin builds a glacier.
    assert float(default.true_snow_storage.groupby("time.year").min().max()) < 1.0


def test_noise_free_without_quickflow_is_exp_hydro():
    ds = synthetic(**SHORT, noise=0.0, quickflow=0.0)
    run = dgeo.simulate(
        MODEL, ds, true_params(ds), initial_state=true_initial_state(ds), dtype=np.float64
    )
    np.testing.assert_allclose(ds.qobs, run.q, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ds.true_snow_storage, run.snow_storage, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(ds.qobs, ds.true_q)


@pytest.mark.parametrize("quickflow", [0.0, 0.3])
def test_water_balance_closes_without_noise(quickflow):
    ds = synthetic(n_basins=4, start="1990-10-01", end="2000-09-30", noise=0.0, quickflow=quickflow)
    # Rebuild EXP-HYDRO's share of the precipitation: all but `quickflow` of the rainfall.
    rain = (np.tanh(5.0 * (ds.tmean - ds.true_tmin)) + 1.0) / 2.0 * ds.prcp
    forcing = ds.assign(prcp=(ds.prcp - quickflow * rain).assign_attrs(units="mm/day"))
    run = dgeo.simulate(
        MODEL, forcing, true_params(ds), initial_state=true_initial_state(ds), dtype=np.float64
    )
    precipitation = ds.prcp.sum("time")
    storage = (run.final_state - run.initial_state).sum("state")
    residual = precipitation - ds.qobs.sum("time") - run.evapotranspiration.sum("time") - storage
    # What is left is the water still in the quick-flow reservoir at the end: >= 0 and small.
    assert (residual > -1e-6).all()
    assert (residual < 1e-3 * precipitation).all()
    quick = ds.qobs - run.q  # the quick-flow reservoir's outflow
    assert float(quick.min()) > -1e-8
    left_in_reservoir = quickflow * rain.sum("time") - quick.sum("time")
    np.testing.assert_allclose(residual, left_in_reservoir, rtol=0, atol=1e-6)
    assert (left_in_reservoir <= 2.0 * quickflow * rain.max("time") + 1e-9).all()


def test_noise_is_multiplicative_lognormal():
    ds = synthetic(**SHORT, noise=0.2)
    ratio = np.log(ds.qobs / ds.true_q).to_numpy()
    assert abs(ratio.std() - 0.2) < 0.01
    assert abs(np.exp(ratio).mean() - 1.0) < 0.01  # mean preserving


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_basins": 0}, "n_basins"),
        ({"n_basins": 2.5}, "n_basins"),
        ({"start": "not a date"}, "start"),
        ({"end": None}, "end"),
        ({"end": "1980-09-30"}, "end"),
        ({"quickflow": 1.0}, "quickflow"),
        ({"quickflow": -0.1}, "quickflow"),
        ({"noise": -0.1}, "noise"),
        ({"noise": float("nan")}, "noise"),
    ],
)
@pytest.mark.usefixtures("unchecked")  # wrong types on purpose: dgeo's messages
def test_bad_arguments_raise_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        synthetic(**kwargs)
