"""CAMELS-US text reader: real files in ../shared/data and malformed files written in tmp_path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from camels_files import FORCING_HEADER, flow_lines, forcing_lines, write_attributes, write_basin
from dgeo.data import DataError, load_camels_us

FT3_TO_M3 = 0.3048**3


# --- real data ---------------------------------------------------------------------------


def test_all_basins_shape_and_period(camels_all):
    ds = camels_all
    assert ds.sizes == {"basin": 26, "time": 12784}
    assert str(ds.time.values[0])[:10] == "1980-01-01"
    assert str(ds.time.values[-1])[:10] == "2014-12-31"
    assert "01022500" in ds.basin.values and "04296000" in ds.basin.values


def test_streamflow_converted_by_hand(camels_all):
    # usgs_streamflow/01/01022500_streamflow_qc.txt: "01022500 1980 01 01   395.00 A";
    # forcing header line 3: area 587675987 m2.
    expected = 395.0 * FT3_TO_M3 * 86400.0 / 587675987.0 * 1000.0
    value = camels_all.qobs.sel(basin="01022500", time="1980-01-01").item()
    assert value == pytest.approx(expected, rel=1e-12)
    assert camels_all.area.sel(basin="01022500").item() == pytest.approx(587.675987)
    assert camels_all.lat.sel(basin="01022500").item() == pytest.approx(44.82)


def test_missing_flow_counted_and_flagged(camels_all):
    q = camels_all.qobs.sel(basin="01022500")
    flag = camels_all.qobs_flag.sel(basin="01022500")
    # The file ends with -999 "M" values from 2014-10-01; those and days without a record are NaN.
    assert np.isnan(q.sel(time="2014-10-01").item())
    assert flag.sel(time="2014-10-01").item() == 3
    nan = q.isnull()
    assert nan.sum().item() == 92
    assert bool(((flag == 3) | (flag == 0))[nan].all())
    assert not bool(q.sel(time="1980-01-01").isnull())
    # 01195100's record starts on 1981-11-04: the earlier days have no record (flag 0).
    late = camels_all.qobs_flag.sel(basin="01195100")
    assert late.sel(time="1981-11-03").item() == 0 and late.sel(time="1981-11-04").item() == 1


def test_forcing_values_and_tmean(camels_all):
    day = camels_all.sel(basin="01022500", time="1980-01-01")
    # "1980 01 01 12	31185.97	0.00	178.46	0.00	-0.72	-10.59	271.45"
    assert day.dayl.item() == pytest.approx(31185.97)
    assert day.tmax.item() == pytest.approx(-0.72)
    assert day.tmin.item() == pytest.approx(-10.59)
    assert day.tmean.item() == pytest.approx((-0.72 - 10.59) / 2)
    assert day.vp.item() == pytest.approx(271.45)
    assert int(camels_all.prcp.isnull().sum()) == 0


def test_attributes_joined_with_units(camels_all):
    ds = camels_all
    # camels_clim.txt, row 01022500; camels_topo.txt gauge_lon; camels_vege.txt categorical.
    assert ds.p_mean.sel(basin="01022500").item() == pytest.approx(3.60812594113621, rel=1e-9)
    assert ds.lon.sel(basin="01022500").item() == pytest.approx(-67.93524)
    assert ds.huc_02.sel(basin="01022500").item() == "01"
    assert ds.dom_land_cover.sel(basin="01022500").item() == "Mixed Forests"
    assert ds.aridity.dtype == np.float64
    for name, var in ds.variables.items():
        if name not in ("basin", "time"):
            assert "units" in var.attrs, name


def test_subset_by_int_and_any_huc(camels_root):
    ds = load_camels_us(camels_root, basins=[4296000, "01022500"], attributes=False)
    assert list(ds.basin.values) == ["04296000", "01022500"]
    assert "p_mean" not in ds and np.isfinite(ds.lon.values).all()


# --- bad input ---------------------------------------------------------------------------


def test_synthetic_basin_reads(tmp_path):
    write_basin(tmp_path)
    write_attributes(tmp_path, ["01000001"])
    ds = load_camels_us(tmp_path)
    assert ds.sizes == {"basin": 1, "time": 5}
    assert ds.qobs.values[0, 0] == pytest.approx(100.0 * FT3_TO_M3 * 86400 / 1e8 * 1000)


def test_missing_files_name_paths_searched(tmp_path):
    write_basin(tmp_path)
    with pytest.raises(DataError, match=r"basin 02000002: no file 02000002_lump_cida.*searched"):
        load_camels_us(tmp_path, basins=["02000002"], attributes=False)
    (tmp_path / "usgs_streamflow" / "01" / "01000001_streamflow_qc.txt").unlink()
    with pytest.raises(DataError, match=r"01000001_streamflow_qc.txt.*usgs_streamflow"):
        load_camels_us(tmp_path, attributes=False)


def test_empty_basin_list(tmp_path):
    write_basin(tmp_path)
    with pytest.raises(DataError, match="basin list is empty"):
        load_camels_us(tmp_path, basins=[])


def test_malformed_forcing_line_named(tmp_path):
    lines = forcing_lines()
    lines[2] = lines[2].replace("500.0", "5O0.0")  # letter O
    fpath, _ = write_basin(tmp_path, forcing=lines)
    with pytest.raises(
        DataError, match=rf"{fpath.name}, line 7: field 'vp' is '5O0.0', not a finite number"
    ):
        load_camels_us(tmp_path, attributes=False)


@pytest.mark.parametrize(
    ("column", "token", "problem"),
    [
        (5, "nan", "field 'prcp' is 'nan', not a finite number"),
        (7, "inf", "field 'swe' is 'inf', not a finite number"),
        (5, "-999.00", "'prcp' has 1 value.* outside .* 0 .. 2000 mm/day, the first -999 mm/day"),
        (8, "303.1", "'tmax' has 1 value.* outside .* -90 .. 60 degC, the first 303.1 degC"),
    ],
)
def test_non_finite_or_impossible_forcing_named_by_line(tmp_path, column, token, problem):
    lines = forcing_lines()
    fields = lines[3].split("\t")
    fields[column - 3] = token  # the first tab-separated field holds "year month day hour"
    lines[3] = "\t".join(fields)
    fpath, _ = write_basin(tmp_path, forcing=lines)
    with pytest.raises(DataError, match=rf"{fpath.name}, line 8: .*{problem}"):
        load_camels_us(tmp_path, attributes=False)


@pytest.mark.filterwarnings("ignore:coordinate lon is NaN")
def test_forcing_columns_checked_against_the_header(tmp_path):
    swapped = FORCING_HEADER.replace("prcp(mm/day) srad(W/m2)", "srad(W/m2) prcp(mm/day)")
    header = ["  44.80", " 133.00", " 100000000", swapped]
    fpath, _ = write_basin(tmp_path, header=header)
    with pytest.raises(DataError, match=rf"{fpath.name}, line 4: the columns .*'dayl\(s\) srad"):
        load_camels_us(tmp_path, attributes=False)
    kelvin = ["  44.80", " 133.00", " 100000000", FORCING_HEADER.replace("tmax(C)", "tmax(K)")]
    write_basin(tmp_path, header=kelvin)
    with pytest.raises(DataError, match="line 4: .*tmax\\(K\\)"):
        load_camels_us(tmp_path, attributes=False)
    upper = FORCING_HEADER.replace("dayl(s) prcp", "Dayl(s) PRCP")  # Maurer/NLDAS spelling
    write_basin(tmp_path, header=["  44.80", " 133.00", " 100000000", upper])
    assert load_camels_us(tmp_path, attributes=False).sizes["basin"] == 1


def test_header_only_forcing_file(tmp_path):
    fpath, _ = write_basin(tmp_path, forcing=[])
    with pytest.raises(DataError, match=rf"{fpath.name}: no data lines after the 4-line header"):
        load_camels_us(tmp_path, attributes=False)


def test_short_forcing_line_named(tmp_path):
    lines = forcing_lines()
    lines[1] = lines[1].rsplit("\t", 1)[0]
    write_basin(tmp_path, forcing=lines)
    with pytest.raises(DataError, match=r"line 6: expected 11 fields .* found 10"):
        load_camels_us(tmp_path, attributes=False)


def test_malformed_flow_line_named(tmp_path):
    lines = flow_lines("01000001")
    lines[3] = "01000001 2000 01 04 abc A"
    _, qpath = write_basin(tmp_path, flow=lines)
    with pytest.raises(
        DataError, match=rf"{qpath.name}, line 4: field 'q' is 'abc', not a finite number"
    ):
        load_camels_us(tmp_path, attributes=False)


def test_duplicate_and_unordered_dates(tmp_path):
    lines = forcing_lines()
    lines[3] = lines[2]
    write_basin(tmp_path, forcing=lines)
    with pytest.raises(DataError, match=r"line 8: duplicate date 2000-01-03"):
        load_camels_us(tmp_path, attributes=False)
    flow = flow_lines("01000001")
    flow[1], flow[2] = flow[2], flow[1]
    write_basin(tmp_path, flow=flow)
    with pytest.raises(
        DataError, match=r"streamflow_qc.txt, line 3: non-monotonic date 2000-01-02"
    ):
        load_camels_us(tmp_path, attributes=False)


def test_missing_area_header(tmp_path):
    fpath, _ = write_basin(tmp_path, header=["  44.80", " 133.00", "Year Mnth Day", "x"])
    with pytest.raises(DataError, match=rf"{fpath.name}, line 3: expected the basin area"):
        load_camels_us(tmp_path, attributes=False)


def test_missing_attribute_row_named(tmp_path):
    write_basin(tmp_path)
    write_attributes(tmp_path, ["09999999"])
    with pytest.raises(DataError, match=r"camels_clim.txt: no attributes for basin\(s\) 01000001"):
        load_camels_us(tmp_path)


def test_gaps_become_nan_and_are_reported(tmp_path):
    lines = forcing_lines(days=6)
    del lines[2]
    write_basin(tmp_path, forcing=lines, flow=flow_lines("01000001", days=6))
    write_attributes(tmp_path, ["01000001"])
    with pytest.warns(UserWarning, match=r"01000001 \(1 days"):
        ds = load_camels_us(tmp_path, attributes=False)
    assert ds.sizes["time"] == 6
    assert np.isnan(ds.prcp.sel(time="2000-01-03").item())
    assert pd.Timestamp(ds.time.values[2]) == pd.Timestamp("2000-01-03")


@pytest.mark.filterwarnings("ignore:coordinate lon is NaN")
def test_one_basin_id_as_a_string(tmp_path):
    write_basin(tmp_path)
    ds = load_camels_us(tmp_path, basins="01000001", attributes=False)
    assert list(ds["basin"].values) == ["01000001"]


def test_a_missing_dataset_skips_saying_how_to_get_it(tmp_path):
    from conftest import HOW_TO_GET, require_data

    for how in HOW_TO_GET.values():
        with pytest.raises(pytest.skip.Exception) as info:
            require_data(tmp_path / "absent", how)
        assert str(tmp_path / "absent") in str(info.value) and how in str(info.value)
    assert "dgeo data download" in " ".join(HOW_TO_GET.values())
