"""The results Dataset of a run, built from a small hand-made scored series (no training)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from dgeo.evaluate import METRIC_INFO, METRICS, load_results, results_dataset, save_results
from dgeo.evaluate._metrics import metrics_table
from dgeo.physics import ExpHydro
from dgeo.train._windows import Series

BASINS = np.array(["01022500", "01031500", "04296000"])
DAYS = 60


def _series(forcings=("prcp", "tmean", "dayl")) -> Series:
    rng = np.random.default_rng(7)
    shape = (len(BASINS), DAYS)
    values = {
        "prcp": rng.gamma(0.6, 4.0, shape),
        "tmean": rng.normal(4.0, 6.0, shape),
        "dayl": np.full(shape, 0.5),
    }
    qobs = rng.gamma(1.5, 1.0, shape) + 0.05
    qobs[1, 10:14] = np.nan
    time = np.arange("2001-10-01", DAYS, dtype="datetime64[D]")[:DAYS].astype("datetime64[ns]")
    inputs = {k: values[k].astype(np.float32) for k in forcings}
    return Series(inputs, qobs.astype(np.float32), BASINS, time)


def _outputs(series: Series) -> dict:
    q = np.nan_to_num(series.qobs, nan=1.0)
    return {
        "physical": {"q": 1.2 * q, "melt": np.zeros_like(q), "snow_storage": np.ones_like(q)},
        "lstm": {"q": 0.8 * q + 0.1},
    }


def _results(series: Series) -> xr.Dataset:
    parameters = {"physical": {"f": np.array([0.01, 0.02, 0.03])}}
    return results_dataset(series, _outputs(series), parameters, ExpHydro())


def test_forcings_are_basin_time_variables_with_units():
    series = _series()
    ds = _results(series)
    assert ds["prcp"].dims == ("basin", "time")
    np.testing.assert_array_equal(ds["prcp"].values, series.inputs["prcp"])
    np.testing.assert_array_equal(ds["tmean"].values, series.inputs["tmean"])
    assert ds["prcp"].attrs == {"units": "mm/day", "long_name": "precipitation"}
    assert ds["tmean"].attrs["units"] == "degC"
    assert "dayl" not in ds  # only the forcings a hydrograph shows
    # the forcing of a basin stays with that basin
    np.testing.assert_array_equal(ds["prcp"].sel(basin="04296000"), series.inputs["prcp"][2])


def test_forcings_absent_from_the_series_are_left_out():
    ds = _results(_series(forcings=("tmean", "dayl")))
    assert "prcp" not in ds and "tmean" in ds
    assert "qsim" in ds and "metrics" in ds


def test_forcing_of_the_wrong_shape_is_an_error():
    series = _series()
    series.inputs["prcp"] = series.inputs["prcp"][:, :-1]
    with pytest.raises(ValueError, match=r"inputs\['prcp'\] has shape \(3, 59\).*\(3, 60\)"):
        _results(series)


def test_metrics_carry_units_and_long_names():
    series = _series()
    ds = _results(series)
    metrics = ds["metrics"]
    assert metrics.dims == ("model", "basin", "metric")
    assert list(metrics["metric"].values) == list(METRICS)
    assert list(metrics["metric_units"].values) == [METRIC_INFO[m].units for m in METRICS]
    assert list(metrics["metric_long_name"].values) == [METRIC_INFO[m].long_name for m in METRICS]
    assert metrics.sel(metric="flv")["metric_units"].item() == "%"
    assert metrics.sel(metric="rmse")["metric_units"].item() == "mm/day"
    assert metrics.attrs["long_name"]
    assert "metric_units" in metrics.attrs["description"]
    # values: each model scored against qobs
    for kind in ("physical", "lstm"):
        expected = metrics_table(ds["qobs"], ds["qsim"].sel(model=kind))
        np.testing.assert_allclose(metrics.sel(model=kind), expected)
    # bias of 1.2 * qobs where observed (gaps masked pairwise) is +20 %
    assert metrics.sel(model="physical", metric="bias").values == pytest.approx(20.0, rel=1e-5)


def test_units_forcings_and_metrics_survive_netcdf(tmp_path):
    ds = _results(_series())
    back = load_results(save_results(ds, tmp_path / "results.nc"))
    xr.testing.assert_identical(back, ds)
    assert list(back["metrics"]["metric_units"].values) == [METRIC_INFO[m].units for m in METRICS]
    assert back["metrics"].sel(metric="bias")["metric_long_name"].item() == (
        METRIC_INFO["bias"].long_name
    )
    assert back["metrics"].attrs == ds["metrics"].attrs
    assert back["prcp"].attrs["units"] == "mm/day"
    assert back["tmean"].attrs["long_name"] == "daily mean air temperature"


def test_the_physics_declaration_is_recorded():
    ds = _results(_series())
    assert ds.attrs["physics"] == "ExpHydro"
    assert ds.attrs["states"] == "snow_storage soil_storage"
    assert ds.attrs["inflows"] == "snowfall rainfall"
    assert ds.attrs["outflows"] == "evapotranspiration subsurface_flow surface_flow"
    assert ds.attrs["fluxes"].split() == list(ExpHydro.fluxes)
    assert ExpHydro.units == {}  # no units declared: states in mm, fluxes in mm/day
    assert ds["snow_storage"].attrs == {"units": "mm", "role": "state"}
    assert ds["melt"].attrs == {"units": "mm/day", "role": "flux"}
    assert ds["qsim"].attrs["role"] == "flux"  # EXP-HYDRO's q is the sum of two outflows


def test_results_joined_from_saved_files_keep_long_model_names(tmp_path):
    """A resumed cross-validation joins fold files and saves them again: a string width read
    from the first file must not cut the longer model names of the others."""
    import xarray as xr

    from dgeo.evaluate import load_results, save_results

    for i, name in enumerate(["regional_hybrid", "pseudo_regional_hybrid"]):
        part = xr.Dataset({"x": (("model",), [float(i)])}, coords={"model": [name]})
        save_results(part, tmp_path / f"{i}.nc")
    joined = xr.concat([load_results(tmp_path / f"{i}.nc") for i in range(2)], "model")
    save_results(joined, tmp_path / "joined.nc")
    names = list(load_results(tmp_path / "joined.nc")["model"].values)
    assert names == ["regional_hybrid", "pseudo_regional_hybrid"]
