"""netCDF reading, schema validation, periods, folds and the `dgeo data info` command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from dgeo.cli import main
from dgeo.data import (
    DataError,
    kfold_basins,
    load,
    open_dataset,
    select_period,
    validate,
    water_year,
    water_years,
)


def _tiny(days: int = 10) -> xr.Dataset:
    time = pd.date_range("2000-09-28", periods=days, freq="D")
    data = np.arange(2 * days, dtype=float).reshape(2, days)
    ds = xr.Dataset(
        {
            "prcp": (("basin", "time"), data, {"units": "mm/day"}),
            "tmean": (("basin", "time"), data - 5, {"units": "degC"}),
        },
        coords={"basin": ["a", "b"], "time": time},
    )
    ds["prcp"][0, 3] = np.nan
    return ds


def test_caravan_file_opens_and_validates(caravan_nc):
    ds = open_dataset(caravan_nc)
    assert ds.sizes == {"basin": 473, "time": 12418}
    report = validate(ds, require=["prcp", "tmean", "qobs"])
    assert report.basins == 473 and report.days == 12418
    # qobs is NaN where USGS flow is missing (about 2 %): counted, never dropped.
    share = report.missing["qobs"].sum() / (473 * 12418)
    assert 0.005 < share < 0.05
    assert report.missing["prcp"].sum() == int(ds.prcp.isnull().sum())


def test_validate_reports_missing_per_basin(tmp_path):
    report = validate(_tiny(), require=["prcp"])
    assert report.missing.loc["a", "prcp"] == 1 and report.missing.loc["b", "prcp"] == 0
    assert "prcp: 1 missing" in str(report)


def test_netcdf_roundtrip_and_transposed(tmp_path):
    ds = _tiny().transpose("time", "basin")
    ds.to_netcdf(tmp_path / "x.nc")
    back = open_dataset(tmp_path / "x.nc")
    assert back.prcp.dims == ("basin", "time")
    xr.testing.assert_identical(back.prcp, _tiny().prcp)


def test_missing_variable_and_wrong_units(tmp_path):
    ds = _tiny()
    with pytest.raises(DataError, match=r"required variable 'qobs' is missing"):
        validate(ds, require=["qobs"])
    ds["tmean"].attrs["units"] = "K"
    ds.to_netcdf(tmp_path / "k.nc")
    with pytest.raises(DataError, match=r"variable 'tmean' has units 'K', expected 'degC'"):
        validate(open_dataset(tmp_path / "k.nc"), require=["tmean"])
    # Degrees Celsius labelled K would be about -270 degC: impossible, so an error by itself.
    with pytest.raises(
        DataError, match=r"'tmean' .* outside .* -90 .. 60 degC, the first -?\d.* K"
    ):
        validate(ds)
    ds["tmean"].attrs["units"] = "degC"
    ds["prcp"].attrs["units"] = "mm d-1"  # an alias of mm/day is accepted
    validate(ds, require=["prcp"])
    ds["prcp"][0, 5] = -999.0
    with pytest.raises(DataError, match=r"'prcp' has 1 value.*-999 mm d-1 .* at basin a on"):
        validate(ds)


def test_bad_time_axes():
    ds = _tiny()
    with pytest.raises(DataError, match="duplicate date"):
        validate(ds.isel(time=[0, 1, 1, 2]))
    with pytest.raises(DataError, match="non-monotonic"):
        validate(ds.isel(time=[0, 2, 1]))
    with pytest.raises(DataError, match="not daily"):
        validate(ds.isel(time=[0, 1, 3]))
    with pytest.raises(DataError, match="no 'basin' dimension"):
        validate(ds.rename(basin="station"))


def test_not_a_netcdf(tmp_path):
    (tmp_path / "bad.nc").write_text("hello")
    with pytest.raises(DataError, match=r"bad.nc: cannot open as netCDF"):
        open_dataset(tmp_path / "bad.nc")


def test_water_years_and_periods():
    assert list(water_year(["1980-09-30", "1980-10-01", "2001-01-15"])) == [1980, 1981, 2001]
    start, end = water_years(1981, 2000)
    assert (start, end) == (pd.Timestamp("1980-10-01"), pd.Timestamp("2000-09-30"))
    ds = _tiny()
    assert select_period(ds, "2000-09-30", "2000-10-02").sizes["time"] == 3
    with pytest.raises(DataError, match="not covered by the data"):
        select_period(ds, "1999-01-01", "2000-10-02")


def test_kfold_disjoint_cover_and_seeded():
    basins = [f"{i:08d}" for i in range(23)]
    folds = kfold_basins(basins, 5, seed=3)
    tests = [set(test) for _, test in folds]
    assert sorted(b for t in tests for b in t) == basins
    assert all(not (a & b) for i, a in enumerate(tests) for b in tests[i + 1 :])
    for train, test in folds:
        assert set(train) | set(test) == set(basins) and not set(train) & set(test)
    assert {len(t) for t in tests} == {4, 5}
    assert folds == kfold_basins(basins, 5, seed=3)
    assert folds != kfold_basins(basins, 5, seed=4)
    with pytest.raises(DataError, match="k must be between"):
        kfold_basins(basins, 1)


def test_load_dispatches_and_checks_basins(caravan_nc):
    ds = load(caravan_nc, basins=["01022500"])
    assert ds.sizes["basin"] == 1
    with pytest.raises(DataError, match="basin.*99999999 not found"):
        load(caravan_nc, basins=["99999999"])


def test_cli_data_info(camels_root, capsys):
    assert main(["data", "info", str(camels_root)]) == 0
    out = capsys.readouterr().out
    assert "26 basins, 1980-01-01 .. 2014-12-31 (12784 days)" in out
    assert "qobs" in out and "mm/day" in out and "missing" in out


def test_cli_error_is_one_line(tmp_path, capsys):
    assert main(["data", "info", str(tmp_path / "nothing")]) == 2
    assert "dgeo: error:" in capsys.readouterr().err


def test_basin_selection_hints_and_single_id(caravan_nc):
    with pytest.raises(DataError, match="basin\\(s\\) 1022500 not found .*did you mean 01022500"):
        load(caravan_nc, basins=[1022500])
    assert list(load(caravan_nc, basins="01022500")["basin"].values) == ["01022500"]


def test_select_period_checks_the_time_axis():
    ds = _tiny()
    with pytest.raises(DataError, match="duplicate date 2000-09-29"):
        select_period(ds.isel(time=[0, 1, 1, 2]), "2000-09-28", "2000-09-29")
    with pytest.raises(DataError, match="period 2000-13-01..2000-10-01: not a date"):
        select_period(ds, "2000-13-01", "2000-10-01")
