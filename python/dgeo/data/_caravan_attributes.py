"""Static attributes of the native Caravan layout: the three per-subset tables and their units.

    attributes/<subset>/attributes_other_<subset>.csv       gauge_name, country, gauge_lat,
                                                             gauge_lon, area (km2, polygon)
    attributes/<subset>/attributes_caravan_<subset>.csv     climate indices from ERA5-Land
    attributes/<subset>/attributes_hydroatlas_<subset>.csv  HydroATLAS (Linke et al. 2019)

Each table's first column is `gauge_id` (`<subset>_<id in the source dataset>`). Column names
and units were read from Caravan's code (github.com/kratzert/Caravan, `code/caravan_utils.py`,
`calculate_climate_indices`, and `code/Caravan_part2_local_postprocessing.ipynb`, commit
f723a27 of 2025-07-24 and, for Caravan <= 1.4, the parent of commit 60d3e79) and from real
Caravan `camels` tables; HydroATLAS units from the BasinATLAS Catalog v1.0 (Linke et al. 2019,
Scientific Data 6, 283), which stores some attributes scaled (slope in tenths of a degree,
indices times 100): dgeo keeps the values as stored and says so in the units (`0.1 degree`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import xarray as xr

from ._attributes import join_tables
from ._errors import DataError

ATTRIBUTE_KINDS = ("other", "caravan", "hydroatlas")

# Caravan's own attributes. The climate indices are computed from the ERA5-Land series over
# 1981-2020 (`calculate_climate_indices`); since Caravan 1.5 the PET-based ones carry a suffix
# `_ERA5_LAND` or `_FAO_PM` (the PET product), which is stripped to look the units up here.
# Unlike CAMELS (days per year), the `*_prec_freq` indices are fractions of days.
_CARAVAN_UNITS: dict[str, str] = {
    "p_mean": "mm/day", "pet_mean": "mm/day", "aridity": "1", "frac_snow": "1",
    "moisture_index": "1", "seasonality": "1", "high_prec_freq": "1", "high_prec_dur": "day",
    "low_prec_freq": "1", "low_prec_dur": "day", "gauge_lat": "degrees_north",
    "gauge_lon": "degrees_east", "area": "km2", "gauge_name": "1", "country": "1",
    "area_fraction_used_for_aggregation": "1",
}  # fmt: skip

# HydroATLAS attribute families (the first six characters of a column: `slp_dg_sav` is the
# `slp_dg` family), units as the BasinATLAS catalogue stores them.
_HYDROATLAS_UNITS: dict[str, str] = {
    "dis_m3": "m3/s", "run_mm": "mm", "inu_pc": "%", "lka_pc": "0.1 %", "lkv_mc": "1e6 m3",
    "rev_mc": "1e6 m3", "dor_pc": "0.1 %", "ria_ha": "ha", "riv_tc": "1e3 m3", "gwt_cm": "cm",
    "ele_mt": "m", "slp_dg": "0.1 degree", "sgr_dk": "dm/km", "clz_cl": "class",
    "cls_cl": "class", "tmp_dc": "0.1 degC", "pre_mm": "mm", "pet_mm": "mm", "aet_mm": "mm",
    "ari_ix": "0.01", "cmi_ix": "0.01", "snw_pc": "%",
    "glc_cl": "class", "glc_pc": "%", "pnv_cl": "class", "pnv_pc": "%", "wet_cl": "class",
    "wet_pc": "%", "for_pc": "%", "crp_pc": "%", "pst_pc": "%", "ire_pc": "%", "gla_pc": "%",
    "prm_pc": "%", "pac_pc": "%", "tbi_cl": "class", "tec_cl": "class", "fmh_cl": "class",
    "fec_cl": "class", "cly_pc": "%", "slt_pc": "%", "snd_pc": "%", "soc_th": "t/ha",
    "swc_pc": "%", "lit_cl": "class", "kar_pc": "%", "ero_kh": "kg/ha/yr",
    "pop_ct": "1e3 people", "ppd_pk": "people/km2", "urb_pc": "%", "nli_ix": "0.01",
    "rdd_mk": "m/km2", "hft_ix": "0.1", "gad_id": "1", "gdp_ud": "USD",
    "hdi_ix": "0.001",
}  # fmt: skip


def attribute_units(column: str) -> str:
    """Units of a Caravan attribute column (`"unknown"` for a column dgeo does not know)."""
    for suffix in ("_ERA5_LAND", "_FAO_PM"):
        column = column.removesuffix(suffix)
    if column in _CARAVAN_UNITS:
        return _CARAVAN_UNITS[column]
    return _HYDROATLAS_UNITS.get(column[:6], "unknown")


def attribute_paths(root: Path, subset: str) -> list[Path]:
    """The three attribute tables of `subset` below the Caravan folder `root`."""
    folder = root / "attributes" / subset
    return [folder / f"attributes_{kind}_{subset}.csv" for kind in ATTRIBUTE_KINDS]


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"Caravan attribute table {path} not found")
    try:
        frame = pd.read_csv(path, dtype={"gauge_id": str})
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise DataError(f"{path}: cannot parse the attribute table: {err}") from None
    if "gauge_id" not in frame.columns:
        raise DataError(f"{path}: no gauge_id column (found: {', '.join(frame.columns[:10])})")
    frame["gauge_id"] = frame["gauge_id"].str.strip()
    duplicated = frame["gauge_id"][frame["gauge_id"].duplicated()]
    if len(duplicated):
        raise DataError(f"{path}: basin {duplicated.iloc[0]} is listed more than once")
    return frame.set_index("gauge_id")


def read_caravan_attributes(root: Path, subset: str, basins: Sequence[str]) -> pd.DataFrame:
    """The three attribute tables of `subset` joined on basin, rows `basins` in that order.

    Numeric columns become float64, the others stripped strings. Raises `DataError` naming the
    table and the basins it lacks, or a column two tables both have.
    """
    frames = {path: _read_table(path) for path in attribute_paths(root, subset)}
    return join_tables(frames, basins)


def as_dataset(table: pd.DataFrame, skip: Sequence[str] = ()) -> xr.Dataset:
    """The columns of `table` (but `skip`) as `(basin,)` variables with their units."""
    ds = xr.Dataset(coords={"basin": table.index.to_numpy(dtype=str)})
    for column in table.columns:
        if column not in skip:
            values = table[column].to_numpy()
            values = values.astype(str) if values.dtype == object else values
            ds[column] = ("basin", values, {"units": attribute_units(column)})
    return ds
