"""Data sources: the `DataSource` extension point, the native Caravan reader, `open_source`.

The Caravan tests write a small tree in Caravan's real layout and column names (taken from
Caravan's code and a real `camels` file; see dgeo/data/_caravan_native.py), csv and netCDF,
Caravan <= 1.4 and >= 1.5 names, a `camels` and a `camelsgb` subset.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from conftest import CAMELS_ROOT, CARAVAN_NC, require_data, unchecked_types
from dgeo.data import (
    CARAVAN_ATTRIBUTES,
    DATA_SOURCES,
    KRATZERT_ATTRIBUTES,
    CamelsUS,
    Caravan,
    DataError,
    DataSource,
    NetCDF,
    Synthetic,
    attribute_matrix,
    day_length,
    load_camels_us,
    load_caravan,
    open_source,
    synthetic,
)

# ---------------------------------------------------------------- a Caravan tree, written here

BANDS = [
    "snow_depth_water_equivalent", "surface_net_solar_radiation", "surface_net_thermal_radiation",
    "surface_pressure", "temperature_2m", "dewpoint_temperature_2m", "u_component_of_wind_10m",
    "v_component_of_wind_10m", "volumetric_soil_water_layer_1", "volumetric_soil_water_layer_2",
    "volumetric_soil_water_layer_3", "volumetric_soil_water_layer_4",
]  # fmt: skip
# The column order of a real Caravan csv file: means, minima, maxima, then the sums.
COLUMNS_V14 = [
    "date",
    *(f"{b}_{stat}" for stat in ("mean", "min", "max") for b in BANDS),
    "total_precipitation_sum",
    "potential_evaporation_sum",
    "streamflow",
]
COLUMNS_V15 = [
    *COLUMNS_V14[:-2],
    "potential_evaporation_sum_ERA5_LAND",
    "potential_evaporation_sum_FAO_PENMAN_MONTEITH",
    "streamflow",
]
CARAVAN_V14 = [
    "p_mean", "pet_mean", "aridity", "frac_snow", "moisture_index", "seasonality",
    "high_prec_freq", "high_prec_dur", "low_prec_freq", "low_prec_dur",
]  # fmt: skip
CARAVAN_V15 = [
    "p_mean", "pet_mean_ERA5_LAND", "pet_mean_FAO_PM", "aridity_ERA5_LAND", "aridity_FAO_PM",
    "frac_snow", "moisture_index_ERA5_LAND", "seasonality_ERA5_LAND", "moisture_index_FAO_PM",
    "seasonality_FAO_PM", "high_prec_freq", "high_prec_dur", "low_prec_freq", "low_prec_dur",
]  # fmt: skip
HYDROATLAS = [
    "clz_cl_smj", "tmp_dc_syr", "pet_mm_syr", "ari_ix_sav", "ele_mt_sav", "slp_dg_sav",
    "for_pc_sse", "crp_pc_sse", "pst_pc_sse", "gla_pc_sse", "lka_pc_sse", "cly_pc_sav",
    "slt_pc_sav", "snd_pc_sav", "soc_th_sav", "swc_pc_syr", "kar_pc_sse", "gwt_cm_sav",
    "prm_pc_sse", "area_fraction_used_for_aggregation",
]  # fmt: skip
START, DAYS = "1981-01-01", 3 * 365


def series_frame(seed: int, version: str) -> pd.DataFrame:
    """A basin's daily series in Caravan's columns, rounded to 0.01 as Caravan publishes."""
    rng = np.random.default_rng(seed)
    columns = COLUMNS_V14 if version == "1.4" else COLUMNS_V15
    frame = pd.DataFrame(
        rng.uniform(0.0, 20.0, (DAYS, len(columns) - 1)).round(2), columns=columns[1:]
    )
    doy = np.arange(DAYS) % 365
    frame["temperature_2m_mean"] = (10 - 12 * np.cos(2 * np.pi * doy / 365)).round(2)
    frame["temperature_2m_min"] = frame["temperature_2m_mean"] - 4
    frame["temperature_2m_max"] = frame["temperature_2m_mean"] + 5
    frame["dewpoint_temperature_2m_mean"] = frame["temperature_2m_mean"] - 3
    frame.loc[5:9, "streamflow"] = np.nan  # unobserved days
    frame.insert(0, "date", pd.date_range(START, periods=DAYS, freq="D").strftime("%Y-%m-%d"))
    return frame


def write_caravan(
    root: Path, subset: str, ids: list[str], version: str = "1.4", formats=("csv", "netcdf")
) -> dict[str, pd.DataFrame]:
    """Caravan's layout below `root` for `subset`; returns the series written per gauge id."""
    written = {}
    for i, gauge in enumerate(ids):
        frame = series_frame(i, version)
        written[gauge] = frame
        if "csv" in formats:
            folder = root / "timeseries" / "csv" / subset
            folder.mkdir(parents=True, exist_ok=True)
            frame.to_csv(folder / f"{gauge}.csv", index=False)
        if "netcdf" in formats:
            folder = root / "timeseries" / "netcdf" / subset
            folder.mkdir(parents=True, exist_ok=True)
            ds = xr.Dataset.from_dataframe(
                frame.assign(date=pd.to_datetime(frame["date"])).set_index("date")
            ).astype(np.float32)
            ds.attrs.update(Units="streamflow: Observed streamflow [mm/d]", Timezone="UTC")
            ds.to_netcdf(folder / f"{gauge}.nc")
    folder = root / "attributes" / subset
    folder.mkdir(parents=True, exist_ok=True)
    n = len(ids)
    other = pd.DataFrame(
        {
            "gauge_id": ids,
            "gauge_name": [f"River {i}, Somewhere" for i in range(n)],
            "country": "Testland",
            "gauge_lat": np.linspace(44.6, 60.0, n),
            "gauge_lon": np.linspace(-67.9, 10.0, n),
            "area": np.linspace(100.0, 900.0, n),
        }
    )
    other.to_csv(folder / f"attributes_other_{subset}.csv", index=False)
    names = CARAVAN_V14 if version == "1.4" else CARAVAN_V15
    caravan = pd.DataFrame({c: np.linspace(0.1, 0.9, n) + j for j, c in enumerate(names)})
    caravan.insert(0, "gauge_id", ids)
    caravan.to_csv(folder / f"attributes_caravan_{subset}.csv", index=False)
    atlas = pd.DataFrame({c: np.arange(n, dtype=float) + j for j, c in enumerate(HYDROATLAS)})
    atlas["clz_cl_smj"] = np.arange(n) + 4
    atlas.insert(0, "gauge_id", ids)
    atlas.to_csv(folder / f"attributes_hydroatlas_{subset}.csv", index=False)
    return written


CAMELS_IDS = ["camels_01022500", "camels_01031500", "camels_01047000"]
GB_IDS = ["camelsgb_1001", "camelsgb_2001"]


@pytest.fixture
def caravan_root(tmp_path):
    root = tmp_path / "Caravan"
    series = write_caravan(root, "camels", CAMELS_IDS)
    return root, series


# ------------------------------------------------------------------------------ Caravan reader


def test_caravan_maps_columns_units_and_attributes(caravan_root):
    root, series = caravan_root
    ds = Caravan(root).load()
    assert list(ds.basin.values) == CAMELS_IDS
    assert ds.sizes["time"] == DAYS and str(ds.time.values[0])[:10] == START
    frame = series["camels_01031500"]
    one = ds.sel(basin="camels_01031500")
    mapping = {
        "prcp": "total_precipitation_sum",
        "tmean": "temperature_2m_mean",
        "tmin": "temperature_2m_min",
        "tmax": "temperature_2m_max",
        "srad": "surface_net_solar_radiation_mean",
        "pet": "potential_evaporation_sum",
        "qobs": "streamflow",
    }
    for name, column in mapping.items():
        np.testing.assert_allclose(one[name], frame[column], rtol=1e-6, err_msg=name)
    units = {"prcp": "mm/day", "tmean": "degC", "tmin": "degC", "tmax": "degC", "srad": "W/m2"}
    units |= {"pet": "mm/day", "qobs": "mm/day", "vp": "Pa", "dayl": "s"}
    assert {k: ds[k].attrs["units"] for k in units} == units
    assert all(ds[k].dims == ("basin", "time") for k in units)
    # Unobserved streamflow stays NaN; nothing else of Caravan's 40 columns is loaded.
    assert np.isnan(one.qobs[5:10]).all() and not np.isnan(one.qobs[:5]).any()
    assert "snow_depth_water_equivalent_mean" not in ds and "streamflow" not in ds
    # Vapour pressure from the dewpoint, FAO-56 eq. 14: 0.6108 kPa at 0 degC, 1.228 at 10.
    td = frame["dewpoint_temperature_2m_mean"].to_numpy()
    np.testing.assert_allclose(one.vp, 610.8 * np.exp(17.27 * td / (td + 237.3)), rtol=1e-6)
    from dgeo.data._caravan_native import vapour_pressure

    np.testing.assert_allclose(vapour_pressure(np.array([0.0, 10.0])), [610.8, 1228.0], rtol=1e-3)
    # Day length from the gauge latitude of attributes_other.
    np.testing.assert_allclose(ds.lat, np.linspace(44.6, 60.0, 3))
    np.testing.assert_allclose(ds.dayl, day_length(ds.lat.values, ds.time.values), rtol=1e-6)
    assert ds.area.attrs["units"] == "km2" and ds.area.values[-1] == 900.0
    np.testing.assert_allclose(ds.elevation, [4.0, 5.0, 6.0])  # ele_mt_sav
    # Every attribute under its Caravan name, over (basin,), with its units.
    for column in ["gauge_lat", "gauge_name", "country", *CARAVAN_V14, *HYDROATLAS]:
        assert ds[column].dims == ("basin",), column
    assert ds.gauge_name.values[0] == "River 0, Somewhere"
    assert ds.p_mean.attrs["units"] == "mm/day" and ds.high_prec_freq.attrs["units"] == "1"
    assert ds.slp_dg_sav.attrs["units"] == "0.1 degree" and ds.clz_cl_smj.attrs["units"] == "class"
    # The documented default attributes are all there and numeric.
    assert attribute_matrix(ds, Caravan.default_attributes).shape == (3, 24)


def test_caravan_csv_and_netcdf_agree(caravan_root):
    root, _ = caravan_root
    from_csv = Caravan(root, format="csv").load(CAMELS_IDS[:2])
    from_nc = Caravan(root, format="netcdf").load(CAMELS_IDS[:2])
    xr.testing.assert_equal(from_csv.drop_attrs(), from_nc.drop_attrs())
    assert from_csv.prcp.dtype == np.float32


def test_caravan_other_subset_and_new_pet_columns(tmp_path):
    series = write_caravan(tmp_path, "camelsgb", GB_IDS, version="1.5", formats=("netcdf",))
    era5 = Caravan(tmp_path, subset="camelsgb", format="netcdf").load(["camelsgb_2001"])
    fao = Caravan(tmp_path, "camelsgb", "netcdf", pet="fao_penman_monteith").load()
    frame = series["camelsgb_2001"]
    np.testing.assert_allclose(era5.pet[0], frame["potential_evaporation_sum_ERA5_LAND"], 1e-6)
    np.testing.assert_allclose(
        fao.pet.sel(basin="camelsgb_2001"),
        frame["potential_evaporation_sum_FAO_PENMAN_MONTEITH"],
        1e-6,
    )
    assert fao.pet.attrs["caravan_column"] == "potential_evaporation_sum_FAO_PENMAN_MONTEITH"
    assert era5.aridity_ERA5_LAND.attrs["units"] == "1"
    assert era5.pet_mean_FAO_PM.attrs["units"] == "mm/day"
    assert attribute_matrix(era5, Caravan.default_attributes).shape == (1, 24)


def test_caravan_basin_selection_and_files(caravan_root):
    root, _ = caravan_root
    source = Caravan(root)
    assert source.basin_ids() == CAMELS_IDS
    ds = source.load(["camels_01047000", "camels_01022500"])
    assert list(ds.basin.values) == ["camels_01047000", "camels_01022500"]
    assert list(source.load("camels_01031500").basin.values) == ["camels_01031500"]
    files = source.files(["camels_01047000"])
    assert [f.name for f in files] == [
        "camels_01047000.csv",
        "attributes_other_camels.csv",
        "attributes_caravan_camels.csv",
        "attributes_hydroatlas_camels.csv",
    ]
    assert all(f.is_file() for f in source.files())
    assert "Caravan subset 'camels' (csv)" in source.describe()


def test_caravan_missing_basin_file_column_and_subset(caravan_root):
    root, _ = caravan_root
    with pytest.raises(DataError, match=r"01022500 not in Caravan subset.*camels_01022500\?"):
        Caravan(root).load(["01022500"])
    with pytest.raises(DataError, match="basins listed more than once"):
        Caravan(root).load(["camels_01022500", "camels_01022500"])
    with pytest.raises(DataError, match=r"subset 'camelsgb' \(found: camels\)"):
        Caravan(root, subset="camelsgb")
    with pytest.raises(DataError, match="unknown Caravan format 'zarr'"):
        Caravan(root, format="zarr")
    with pytest.raises(DataError, match="unknown PET product"):
        Caravan(root, pet="hamon")
    with pytest.raises(DataError, match="not a Caravan folder"):
        Caravan(root / "timeseries")
    # A basin missing from one attribute table.
    table = root / "attributes" / "camels" / "attributes_caravan_camels.csv"
    pd.read_csv(table).iloc[:2].to_csv(table, index=False)
    with pytest.raises(DataError, match=r"attributes_caravan_camels.csv: no attributes for basin"):
        Caravan(root).load()
    # A missing attribute table.
    (root / "attributes" / "camels" / "attributes_hydroatlas_camels.csv").unlink()
    with pytest.raises(DataError, match=r"attributes_hydroatlas_camels.csv not found"):
        Caravan(root).load(["camels_01022500"])


def test_caravan_missing_columns_and_bad_values(caravan_root):
    root, series = caravan_root
    path = root / "timeseries" / "csv" / "camels" / "camels_01031500.csv"
    frame = series["camels_01031500"]
    frame.drop(columns=["temperature_2m_min", "streamflow"]).to_csv(path, index=False)
    with pytest.raises(
        DataError,
        match=r"camels_01031500.csv: no column temperature_2m_min; no column streamflow",
    ):
        Caravan(root).load(["camels_01031500"])
    bad = frame.astype({"total_precipitation_sum": object})
    bad.loc[3, "total_precipitation_sum"] = "n/a!"
    bad.to_csv(path, index=False)
    with pytest.raises(DataError, match=r"line 5: column 'total_precipitation_sum' holds 'n/a!'"):
        Caravan(root).load(["camels_01031500"])
    frame.iloc[[0, 0, 1]].to_csv(path, index=False)
    with pytest.raises(DataError, match="date 1981-01-01 appears twice"):
        Caravan(root).load(["camels_01031500"])
    # ERA5-Land's own sign (evaporation negative) is not Caravan's.
    frame.assign(potential_evaporation_sum=-frame["potential_evaporation_sum"]).to_csv(
        path, index=False
    )
    with pytest.raises(DataError, match="camels_01031500: mean potential evaporation is negative"):
        Caravan(root).load(["camels_01031500"])
    # A -999 code in streamflow is caught by validate, naming the basin and date.
    frame.assign(streamflow=frame["streamflow"].where(frame.index != 7, -999.0)).to_csv(
        path, index=False
    )
    with pytest.raises(DataError, match=r"'qobs'.*-999.*basin camels_01031500 on 1981-01-08"):
        Caravan(root).load(["camels_01031500"])


def test_caravan_gaps_become_nan_with_a_warning(caravan_root):
    root, series = caravan_root
    path = root / "timeseries" / "csv" / "camels" / "camels_01047000.csv"
    series["camels_01047000"].iloc[30:].to_csv(path, index=False)
    with pytest.warns(UserWarning, match=r"camels_01047000 \(30 days\)"):
        ds = Caravan(root).load()
    assert ds.sizes["time"] == DAYS
    assert np.isnan(ds.prcp.sel(basin="camels_01047000")[:30]).all()


# ------------------------------------------------------------ a new source is one class, here


@dataclasses.dataclass(frozen=True)
class MySource(DataSource):
    """A whole data source in one class: steady rain on `n` basins, discharge a fixed share."""

    n: int = 2
    rain: float = 3.0

    name: ClassVar[str] = "steady_rain"
    default_attributes: ClassVar[tuple[str, ...]] = ("rain",)

    def basin_ids(self) -> list[str]:
        return [f"steady{i}" for i in range(self.n)]

    def load(self, basins=None) -> xr.Dataset:
        ids = self.basin_ids() if basins is None else list(basins)
        time = pd.date_range("2000-01-01", periods=30, freq="D")
        full = np.full((len(ids), len(time)), self.rain)
        ds = xr.Dataset(
            {
                "prcp": (("basin", "time"), full, {"units": "mm/day"}),
                "tmean": (("basin", "time"), full * 0 + 12.0, {"units": "degC"}),
                "qobs": (("basin", "time"), full * 0.4, {"units": "mm/day"}),
                "rain": ("basin", np.full(len(ids), self.rain), {"units": "mm/day"}),
            },
            coords={"basin": ids, "time": time, "lat": ("basin", np.full(len(ids), 45.0))},
        )
        return self.validated(ds, basins)


class NotASource:
    pass


def test_a_new_source_is_one_class_opened_by_import_path():
    source = open_source({"source": "test_data_sources:MySource", "n": 3, "rain": 2.0})
    assert isinstance(source, MySource) and source.basin_ids() == ["steady0", "steady1", "steady2"]
    ds = source.load(["steady2", "steady0"])
    assert list(ds.basin.values) == ["steady2", "steady0"] and float(ds.prcp.max()) == 2.0
    assert attribute_matrix(ds, source.default_attributes).shape == (2, 1)
    assert source.files() == [] and "steady_rain" in source.describe()
    assert open_source(source) is source


def test_validated_holds_sources_to_the_contract():
    class WrongBasins(MySource):
        def load(self, basins=None):
            return self.validated(super().load(None), basins)

    with pytest.raises(DataError, match="load returned basins steady0, steady1, not the 1 asked"):
        WrongBasins().load(["steady1"])

    class WrongUnits(MySource):
        def load(self, basins=None):
            ds = super().load(basins)
            ds["prcp"].attrs["units"] = "m/day"
            return self.validated(ds, basins)

    with pytest.raises(DataError, match=r"steady_rain data source.*'prcp' has units 'm/day'"):
        WrongUnits().load()

    class NoLatitude(MySource):
        def load(self, basins=None):
            return self.validated(super().load(basins).drop_vars("lat"), basins)

    with pytest.raises(DataError, match="no `lat`"):
        NoLatitude().load()


def test_a_source_class_must_name_itself():
    with pytest.raises(TypeError, match="must set the class variable `name`"):

        class Nameless(DataSource):
            default_attributes = ()

            def basin_ids(self):
                return []

            def load(self, basins=None):
                return xr.Dataset()

    with pytest.raises(TypeError, match="`default_attributes` to a tuple"):

        class ListDefaults(DataSource):
            name = "x"
            default_attributes = ["p_mean"]

            def basin_ids(self):
                return []

            def load(self, basins=None):
                return xr.Dataset()


# -------------------------------------------------------------------------------- open_source


def test_open_source_detects_what_a_path_holds(caravan_root, tmp_path):
    root, _ = caravan_root
    assert open_source(root) == Caravan(root, subset="camels", format="csv")
    assert open_source(str(root)) == Caravan(root)
    only_nc = tmp_path / "nc_only"
    write_caravan(only_nc, "lamah", ["lamah_1"], formats=("netcdf",))
    assert open_source(only_nc) == Caravan(only_nc, subset="lamah", format="netcdf")
    assert isinstance(open_source("synthetic"), Synthetic)
    nc = tmp_path / "x.nc"
    xr.Dataset(coords={"basin": ["a"]}).to_netcdf(nc)
    assert open_source(nc) == NetCDF(nc)
    write_caravan(root, "camelsgb", GB_IDS, formats=("csv",))
    with pytest.raises(DataError, match=r"subsets camels, camelsgb: name one"):
        open_source(root)
    with pytest.raises(DataError, match=r"no such file or folder.*camels_us, netcdf, caravan"):
        open_source(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="neither Caravan .* nor CAMELS-US"):
        open_source(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(DataError, match="not a netCDF file"):
        open_source(tmp_path / "notes.txt")
    with pytest.raises(TypeError, match="not int 3"), unchecked_types():
        open_source(3)


def test_open_source_builds_named_sources_with_arguments(caravan_root, tmp_path):
    root, _ = caravan_root
    write_caravan(root, "camelsgb", GB_IDS, version="1.5")
    spec = {"source": "caravan", "root": str(root), "subset": "camelsgb", "format": "netcdf"}
    assert open_source(spec) == Caravan(root, "camelsgb", "netcdf")
    assert open_source({"source": "synthetic", "n_basins": 2}) == Synthetic(n_basins=2)
    assert set(DATA_SOURCES) == {"camels_us", "netcdf", "caravan", "synthetic"}
    assert all(DATA_SOURCES[name].name == name for name in DATA_SOURCES)
    with pytest.raises(DataError, match=r"unknown data source 'camels'; allowed: camels_us, "):
        open_source({"source": "camels", "root": str(root)})
    with pytest.raises(DataError, match="has no 'source' naming it"):
        open_source({"root": str(root)})
    with pytest.raises(DataError, match="cannot import module 'no_such_module'"):
        open_source({"source": "no_such_module:Thing"})
    with pytest.raises(DataError, match="module 'test_data_sources' has no 'Missing'"):
        open_source({"source": "test_data_sources:Missing"})
    with pytest.raises(TypeError, match="not a subclass of dgeo.data.DataSource"):
        open_source({"source": "test_data_sources:NotASource"})
    with pytest.raises(TypeError, match="is abstract"):
        open_source({"source": "dgeo.data:DataSource"})
    with pytest.raises(
        TypeError, match=r"Caravan\(root: 'str \| os.PathLike'.*does not take 'root', 'subst'"
    ):
        open_source({"source": "caravan", "root": str(root), "subst": "camels"})


# ------------------------------------------------------- built-in sources against real data


def test_camels_us_source_equals_load_camels_us():
    root = require_data(CAMELS_ROOT)
    source = open_source(root)
    assert source == CamelsUS(root) and source.default_attributes == KRATZERT_ATTRIBUTES
    ids = source.basin_ids()
    assert len(ids) == 26 and "01022500" in ids and "04296000" in ids
    basins = ["04296000", "01022500"]
    xr.testing.assert_identical(source.load(basins), load_camels_us(root, basins=basins))
    files = source.files(basins)
    assert len(files) == 2 + 2 + 7 and all(f.is_file() for f in files)
    assert files[0].name == "04296000_lump_cida_forcing_leap.txt"
    assert attribute_matrix(source.load(["01022500"]), source.default_attributes).shape == (1, 27)
    with pytest.raises(DataError, match="unknown CAMELS-US forcing 'era5'"):
        CamelsUS(root, forcing="era5")
    with pytest.raises(DataError, match="not a CAMELS-US root folder"):
        CamelsUS(root / "usgs_streamflow")


def test_netcdf_source_equals_load_caravan():
    path = require_data(CARAVAN_NC)
    folder = require_data(CAMELS_ROOT) / "camels_attributes_v2.0"
    source = open_source({"source": "netcdf", "path": str(path), "attributes": str(folder)})
    basins = ["01022500", "01031500"]
    xr.testing.assert_identical(source.load(basins), load_caravan(path, folder, basins=basins))
    assert len(source.basin_ids()) == 473
    assert [f.name for f in source.files()][:2] == ["caravan_camels_us.nc", "camels_clim.txt"]
    # Without attributes the file has no latitude, so no day length: the error says what to do.
    with pytest.raises(DataError, match="give attributes= the CAMELS attributes folder"):
        NetCDF(path).load(basins)


def test_synthetic_source_wraps_the_generator():
    fields = [f.name for f in dataclasses.fields(Synthetic)]
    assert fields == list(inspect.signature(synthetic).parameters)
    source = Synthetic(n_basins=2, start="2000-10-01", end="2001-09-30")
    ds = source.load()
    xr.testing.assert_identical(ds, synthetic(2, "2000-10-01", "2001-09-30"))
    assert list(ds.basin.values) == source.basin_ids() == ["syn000", "syn001"]
    assert list(source.load(["syn001"]).basin.values) == ["syn001"]
    assert attribute_matrix(ds, source.default_attributes).shape == (2, 6)
    with pytest.raises(ValueError, match="n_basins must be an integer"):
        Synthetic(n_basins=0)


def test_default_attributes_documented():
    assert Caravan.default_attributes == CARAVAN_ATTRIBUTES and len(CARAVAN_ATTRIBUTES) == 24
    assert len(set(CARAVAN_ATTRIBUTES)) == 24
    assert NetCDF.default_attributes == KRATZERT_ATTRIBUTES
