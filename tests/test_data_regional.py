"""Day length, the Caravan loader and the static attribute matrix for regional models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from dgeo.data import (
    KRATZERT_ATTRIBUTES,
    DataError,
    add_day_length,
    attribute_matrix,
    day_length,
    load,
    load_caravan,
)

BASINS = ["01022500", "14400000"]
DAY = 86400.0


@pytest.fixture(scope="module")
def attributes_dir(camels_root):
    return camels_root / "camels_attributes_v2.0"


@pytest.fixture(scope="module")
def caravan(caravan_nc, attributes_dir):
    return load_caravan(caravan_nc, attributes_dir, basins=BASINS)


def _dates(*days: str) -> np.ndarray:
    return pd.to_datetime(list(days)).to_numpy()


# --- day_length ---------------------------------------------------------------------------


def test_day_length_matches_daymet(camels_all):
    """Measured on the 26 basins, 1980-2014: max |diff| 200 s, RMS 90 s, corr 0.99994.

    Daymet's `dayl` is a basin mean over 1 km cells; the header latitude is one point.
    """
    daymet = camels_all["dayl"].to_numpy()
    ours = day_length(camels_all["lat"].to_numpy(), camels_all["time"].to_numpy())
    assert ours.shape == daymet.shape
    ok = np.isfinite(daymet)
    diff = np.abs(ours - daymet)[ok]
    print(
        f"day length vs Daymet: max |diff| {diff.max():.0f} s, RMS {np.sqrt(np.mean(diff**2)):.0f} s"
    )
    assert diff.max() < 240.0  # 4 minutes
    assert np.corrcoef(ours[ok], daymet[ok])[0, 1] > 0.999


def test_day_length_geometry():
    time = _dates("2001-03-20", "2001-06-21", "2001-09-22", "2001-12-21")
    lat = np.array([0.0, 45.0, -45.0, 70.0, -70.0, 90.0, -90.0])
    d = day_length(lat, time)
    assert d.shape == (7, 4)
    np.testing.assert_allclose(d[0], DAY / 2)  # equator: always 12 h
    np.testing.assert_allclose(d[1, [0, 2]], DAY / 2, atol=600)  # equinoxes: about 12 h
    assert d[1, 1] > 15 * 3600 > 9 * 3600 > d[1, 3]  # 45N: long summer, short winter
    np.testing.assert_allclose(d[1] + d[2], DAY)  # north and south mirror each other
    np.testing.assert_allclose(d[3] + d[4], DAY)
    assert d[3, 1] == DAY and d[3, 3] == 0.0  # 70N: polar day, polar night (clipped)
    assert d[4, 1] == 0.0 and d[4, 3] == DAY
    assert d[5, 1] == DAY and d[6, 1] == 0.0  # the poles stay finite
    assert np.isfinite(d).all() and (d >= 0).all() and (d <= DAY).all()


def test_day_length_rejects_bad_latitude():
    with pytest.raises(DataError, match=r"basin\(s\) b \(91.0\)"):
        day_length([45.0, 91.0], _dates("2001-01-01"), basins=["a", "b"])
    with pytest.raises(DataError, match="#0"):
        day_length([np.nan], _dates("2001-01-01"))


def test_add_day_length():
    time = pd.date_range("2001-01-01", periods=3, freq="D")
    ds = xr.Dataset(
        {"prcp": (("basin", "time"), np.zeros((2, 3)), {"units": "mm/day"})},
        coords={"basin": ["a", "b"], "time": time, "lat": ("basin", [10.0, 50.0])},
    )
    out = add_day_length(ds)
    assert out["dayl"].dims == ("basin", "time") and out["dayl"].dtype == np.float32
    assert out["dayl"].attrs["units"] == "s" and "computed" in out["dayl"].attrs["long_name"]
    np.testing.assert_allclose(out["dayl"], day_length([10.0, 50.0], time), rtol=1e-6)
    assert "dayl" not in ds  # the input is not modified

    from_gauge = ds.drop_vars("lat").assign(gauge_lat=("basin", [10.0, 50.0]))
    xr.testing.assert_identical(add_day_length(from_gauge)["dayl"], out["dayl"].drop_vars("lat"))

    kept = out.assign(dayl=out["dayl"] * 0)
    assert (add_day_length(kept)["dayl"] == 0).all()
    assert (add_day_length(kept, overwrite=True)["dayl"] > 0).all()

    with pytest.raises(DataError, match="no latitude 'lat' nor 'gauge_lat'"):
        add_day_length(ds.drop_vars("lat"))
    with pytest.raises(DataError, match="'centroid_lat'"):
        add_day_length(ds, latitude="centroid_lat")
    with pytest.raises(DataError, match=r"basin\(s\) b"):
        add_day_length(ds.assign_coords(lat=("basin", [10.0, 95.0])))


# --- load_caravan -------------------------------------------------------------------------


def test_load_caravan(caravan, caravan_nc):
    assert list(caravan["basin"].values) == BASINS
    assert caravan["dayl"].dims == ("basin", "time") and caravan["dayl"].attrs["units"] == "s"
    assert caravan["time"].values[0] == np.datetime64("1981-01-01")
    assert all(caravan[name].dims == ("basin",) for name in KRATZERT_ATTRIBUTES)
    np.testing.assert_array_equal(caravan["lat"], caravan["gauge_lat"])
    np.testing.assert_array_equal(caravan["lon"], caravan["gauge_lon"])
    np.testing.assert_array_equal(caravan["area"], caravan["area_gages2"])
    assert caravan["lat"].attrs["units"] == "degrees_north"
    with xr.open_dataset(caravan_nc) as raw:
        raw = raw.sel(basin=BASINS)
        for name in ("prcp", "qobs"):
            np.testing.assert_array_equal(caravan[name].values, raw[name].values)
            assert caravan[name].dtype == raw[name].dtype
    np.testing.assert_allclose(
        caravan["dayl"], day_length(caravan["gauge_lat"].values, caravan["time"].values), rtol=1e-6
    )
    assert attribute_matrix(caravan).shape == (2, 27)


def test_load_caravan_errors(caravan_nc, attributes_dir, tmp_path):
    with pytest.raises(DataError, match="99999999 not found"):
        load_caravan(caravan_nc, attributes_dir, basins=["01022500", "99999999"])
    with pytest.raises(DataError, match="attributes folder .*nowhere does not exist"):
        load_caravan(caravan_nc, tmp_path / "nowhere", basins=BASINS)
    with pytest.raises(DataError, match="camels_clim.txt not found"):
        load_caravan(caravan_nc, tmp_path, basins=BASINS)


def test_load_caravan_names_basins_missing_from_tables(attributes_dir, tmp_path):
    time = pd.date_range("1981-01-01", periods=3, freq="D")
    series = {"units": "mm/day"}
    ds = xr.Dataset(
        {
            "prcp": (("basin", "time"), np.zeros((2, 3)), series),
            "tmean": (("basin", "time"), np.zeros((2, 3)), {"units": "degC"}),
            "qobs": (("basin", "time"), np.zeros((2, 3)), series),
        },
        coords={"basin": ["01022500", "00000001"], "time": time},
    )
    ds.to_netcdf(tmp_path / "x.nc")
    with pytest.raises(DataError, match=r"no attributes for basin\(s\) 00000001"):
        load_caravan(tmp_path / "x.nc", attributes_dir)
    ds["qobs"].attrs["units"] = "m3/s"
    ds.to_netcdf(tmp_path / "y.nc")
    with pytest.raises(DataError, match="'qobs' has units 'm3/s'"):
        load_caravan(tmp_path / "y.nc", attributes_dir)


def test_load_routes_netcdf_with_attributes(caravan, caravan_nc, attributes_dir):
    routed = load(caravan_nc, basins=BASINS, attributes=attributes_dir)
    xr.testing.assert_identical(routed, caravan)
    plain = load(caravan_nc, basins=BASINS)
    assert "dayl" not in plain and "gauge_lat" not in plain
    with pytest.raises(DataError, match="attributes= must be the CAMELS attributes folder"):
        load(caravan_nc, attributes=True)


# --- attribute_matrix ---------------------------------------------------------------------


def test_attribute_matrix(camels_all):
    assert len(KRATZERT_ATTRIBUTES) == len(set(KRATZERT_ATTRIBUTES)) == 27
    matrix = attribute_matrix(camels_all)
    assert matrix.shape == (26, 27) and matrix.dtype == np.float64
    np.testing.assert_array_equal(matrix[:, 0], camels_all["p_mean"])
    np.testing.assert_array_equal(matrix[:, -1], camels_all["geol_permeability"])
    names = ("area_gages2", "p_mean")
    np.testing.assert_array_equal(
        attribute_matrix(camels_all, names),
        np.stack([camels_all["area_gages2"], camels_all["p_mean"]], axis=1),
    )


def test_attribute_matrix_errors(camels_all):
    basin = str(camels_all["basin"].values[3])
    holed = camels_all.copy()
    holed["frac_snow"] = holed["frac_snow"].copy()
    holed["frac_snow"][3] = np.nan
    with pytest.raises(DataError, match=f"basin {basin}: frac_snow"):
        attribute_matrix(holed)
    with pytest.raises(DataError, match="missing from the dataset: lai_max, soil_porosity"):
        attribute_matrix(camels_all.drop_vars(["soil_porosity", "lai_max"]))
    with pytest.raises(DataError, match="gauge_name are not numeric"):
        attribute_matrix(camels_all, ["p_mean", "gauge_name"])
    with pytest.raises(DataError, match="prcp are not over"):
        attribute_matrix(camels_all, ["prcp"])
