"""Static catchment attributes of CAMELS-US (Addor et al. 2017): the seven `camels_*.txt` tables."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ._errors import DataError

ATTRIBUTE_TABLES = ("clim", "geol", "hydro", "name", "soil", "topo", "vege")

# Columns that look numeric but are identifiers.
_CATEGORICAL = {"huc_02", "gauge_name"}

#: Units of the CAMELS attributes (Addor et al. 2017, Table 1-4); "1" is dimensionless/categorical.
ATTRIBUTE_UNITS: dict[str, str] = {
    "p_mean": "mm/day", "pet_mean": "mm/day", "p_seasonality": "1", "frac_snow": "1",
    "aridity": "1", "high_prec_freq": "day/yr", "high_prec_dur": "day",
    "high_prec_timing": "1", "low_prec_freq": "day/yr", "low_prec_dur": "day",
    "low_prec_timing": "1",
    "geol_1st_class": "1", "glim_1st_class_frac": "1", "geol_2nd_class": "1",
    "glim_2nd_class_frac": "1", "carbonate_rocks_frac": "1", "geol_porostiy": "1",
    "geol_permeability": "log10(m2)",
    "q_mean": "mm/day", "runoff_ratio": "1", "slope_fdc": "1", "baseflow_index": "1",
    "stream_elas": "1", "q5": "mm/day", "q95": "mm/day", "high_q_freq": "day/yr",
    "high_q_dur": "day", "low_q_freq": "day/yr", "low_q_dur": "day", "zero_q_freq": "1",
    "hfd_mean": "day of water year",
    "huc_02": "1", "gauge_name": "1",
    "soil_depth_pelletier": "m", "soil_depth_statsgo": "m", "soil_porosity": "1",
    "soil_conductivity": "cm/h", "max_water_content": "m", "sand_frac": "%", "silt_frac": "%",
    "clay_frac": "%", "water_frac": "%", "organic_frac": "%", "other_frac": "%",
    "gauge_lat": "degrees_north", "gauge_lon": "degrees_east", "elev_mean": "m",
    "slope_mean": "m/km", "area_gages2": "km2", "area_geospa_fabric": "km2",
    "frac_forest": "1", "lai_max": "1", "lai_diff": "1", "gvf_max": "1", "gvf_diff": "1",
    "dom_land_cover_frac": "1", "dom_land_cover": "1", "root_depth_50": "m",
    "root_depth_99": "m",
}  # fmt: skip


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"attribute table {path} not found")
    try:
        dtypes = {"gauge_id": str, **dict.fromkeys(_CATEGORICAL, str)}
        frame = pd.read_csv(path, sep=";", dtype=dtypes, na_values=["NA", "NaN", ""])
    except (ValueError, pd.errors.ParserError) as err:
        raise DataError(f"{path}: cannot parse the attribute table: {err}") from None
    if "gauge_id" not in frame.columns:
        raise DataError(f"{path}: no gauge_id column (found: {', '.join(frame.columns)})")
    frame["gauge_id"] = frame["gauge_id"].str.strip().str.zfill(8)
    duplicated = frame["gauge_id"][frame["gauge_id"].duplicated()]
    if len(duplicated):
        raise DataError(f"{path}: basin {duplicated.iloc[0]} is listed more than once")
    return frame.set_index("gauge_id")


def read_attributes(
    folder: str | Path, basins: Sequence[str], tables: Sequence[str] = ATTRIBUTE_TABLES
) -> pd.DataFrame:
    """Join the CAMELS attribute `tables` on basin for `basins` (rows in that order).

    Numeric columns become float64, the others stripped strings. Raises `DataError` naming the
    table and basins when a basin is missing from a table.
    """
    folder = Path(folder)
    frames = {(p := folder / f"camels_{name}.txt"): _read_table(p) for name in tables}
    return join_tables(frames, basins, text=_CATEGORICAL)


def join_tables(
    frames: dict[Path, pd.DataFrame], basins: Sequence[str], text: Collection[str] = ()
) -> pd.DataFrame:
    """Attribute tables (path -> frame indexed by basin id) joined on basin for `basins`
    (rows in that order). Numeric columns (not bool, not named in `text`) become float64, the
    others stripped strings. Raises `DataError` naming the table and the basins it lacks, or a
    column two tables both have."""
    joined: pd.DataFrame | None = None
    for path, frame in frames.items():
        missing = [b for b in basins if b not in frame.index]
        if missing:
            more = f" (and {len(missing) - 10} more)" if len(missing) > 10 else ""
            raise DataError(f"{path}: no attributes for basin(s) {', '.join(missing[:10])}{more}")
        frame = frame.loc[list(basins)]
        if joined is not None:
            overlap = joined.columns.intersection(frame.columns)
            if len(overlap):
                raise DataError(f"{path}: column(s) {', '.join(overlap)} already in another table")
        joined = frame if joined is None else joined.join(frame)
    assert joined is not None
    for column in joined.columns:
        values = joined[column]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if numeric and column not in text:
            joined[column] = values.astype(np.float64)
        else:
            joined[column] = values.astype(str).str.strip()
    return joined


def attributes_to_dataset(table: pd.DataFrame) -> xr.Dataset:
    """Turn an attribute table (index basin) into Dataset variables over `basin` with units."""
    ds = xr.Dataset(coords={"basin": table.index.to_numpy(dtype=str)})
    for column in table.columns:
        values = table[column].to_numpy()
        values = values.astype(str) if values.dtype == object else values
        ds[column] = ("basin", values, {"units": ATTRIBUTE_UNITS.get(column, "unknown")})
    return ds


#: The 27 static attributes of Kratzert et al. (2019), HESS 23, 5089-5110, Table 1.
KRATZERT_ATTRIBUTES: tuple[str, ...] = (
    "p_mean", "pet_mean", "aridity", "p_seasonality", "frac_snow", "high_prec_freq",
    "high_prec_dur", "low_prec_freq", "low_prec_dur", "elev_mean", "slope_mean", "area_gages2",
    "frac_forest", "lai_max", "lai_diff", "gvf_max", "gvf_diff", "soil_depth_pelletier",
    "soil_depth_statsgo", "soil_porosity", "soil_conductivity", "max_water_content",
    "sand_frac", "silt_frac", "clay_frac", "carbonate_rocks_frac", "geol_permeability",
)  # fmt: skip


def attribute_matrix(ds: xr.Dataset, names: Sequence[str] = KRATZERT_ATTRIBUTES) -> np.ndarray:
    """The per-basin variables `names` of `ds` as a float64 array `(basin, len(names))`.

    Raises `DataError` naming the attribute variables that are missing, not over `basin` or
    not numeric, and naming the basins and attributes that hold NaN.
    """
    names = list(names)
    if not names:
        raise DataError("no attribute names given")
    missing = [n for n in names if n not in ds.variables]
    if missing:
        raise DataError(f"attribute variable(s) missing from the dataset: {', '.join(missing)}")
    wrong = [n for n in names if ds[n].dims != ("basin",)]
    if wrong:
        raise DataError(f"attribute variable(s) {', '.join(wrong)} are not over (basin,) only")
    text = [n for n in names if not np.issubdtype(ds[n].dtype, np.number)]
    if text:
        raise DataError(f"attribute variable(s) {', '.join(text)} are not numeric")
    matrix = np.stack([ds[n].to_numpy().astype(np.float64) for n in names], axis=1)
    rows, cols = np.nonzero(np.isnan(matrix))
    if rows.size:
        basins = ds["basin"].to_numpy().astype(str)
        found = [f"basin {basins[r]}: {names[c]}" for r, c in zip(rows, cols, strict=True)]
        more = f" (and {len(found) - 10} more)" if len(found) > 10 else ""
        raise DataError(f"attributes hold NaN: {'; '.join(found[:10])}{more}")
    return matrix
