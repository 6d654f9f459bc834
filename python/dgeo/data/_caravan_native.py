"""Reader for the native Caravan layout (Kratzert et al. 2023, Scientific Data 10, 61).

Caravan (on Zenodo; code at github.com/kratzert/Caravan) is one folder per source dataset
(`subset`: `camels`, `camelsaus`, `camelsbr`, `camelscl`, `camelsgb`, `hysets`, `lamah` or any
community extension; nothing here is specific to one):

    ROOT/timeseries/csv/<subset>/<gauge_id>.csv      (or netcdf/<subset>/<gauge_id>.nc)
    ROOT/attributes/<subset>/attributes_{other,caravan,hydroatlas}_<subset>.csv

with gauge ids such as `camels_01022500` or `camelsgb_1001`. A time-series file holds one row
per day (`date`, in the gauge's local standard time) of ERA5-Land basin averages aggregated
from hourly values (`<band>_mean`, `_min`, `_max`; `_sum` for the accumulated bands) and
`streamflow` (mm/day, from the source dataset, missing as NaN); netCDF files have the same
variables over a `date` dimension.

Where the names and units come from (verified, not guessed): Caravan's post-processing code,
github.com/kratzert/Caravan at commit f723a27 (2025-07-24): `code/caravan_utils.py`
(`era5l_unit_conversion`: K -> degC, m -> mm, J/m2 -> W/m2, Pa -> kPa; `get_metadata_info`:
"Total precipitation [mm]", "2m air temperature [°C]", "Surface net solar radiation [W/m2]",
"Observed streamflow [mm/d]"), `code/Caravan_part2_local_postprocessing.ipynb` (the layout,
the daily aggregation, and "By ERA5-Land conventions, PET, as an upward flux, has a negative
sign. We change this to a positive sign": Caravan's PET is positive) and `code/pet.py`; the
column list of a real Caravan `camels` csv file. Caravan <= 1.4 has one PET column,
`potential_evaporation_sum` (ERA5-Land); Caravan 1.5 (commit 60d3e79, 2025-01-16) renamed it
`potential_evaporation_sum_ERA5_LAND` and added `potential_evaporation_sum_FAO_PENMAN_MONTEITH`.
Both versions are read.

The mapping to dgeo's variables is `CARAVAN_COLUMNS`; only these are loaded (the soil moisture,
wind, pressure, thermal radiation and ERA5-Land snow water equivalent columns are not):

| dgeo | Caravan column | note |
|---|---|---|
| `prcp` mm/day | `total_precipitation_sum` | |
| `tmean` degC | `temperature_2m_mean` | mean of 24 hourly values, not (tmax + tmin) / 2 |
| `tmin`, `tmax` degC | `temperature_2m_min`, `temperature_2m_max` | extremes of hourly values |
| `srad` W/m2 | `surface_net_solar_radiation_mean` | NET shortwave, 24-hour mean (Daymet's `srad` is incident shortwave averaged over daylight) |
| `vp` Pa | `dewpoint_temperature_2m_mean` | 610.8 exp(17.27 Td / (Td + 237.3)), FAO-56 eq. 14 (as Caravan's `pet.py`) |
| `pet` mm/day | `potential_evaporation_sum[_ERA5_LAND]` or `..._FAO_PENMAN_MONTEITH` | `pet=` chooses |
| `qobs` mm/day | `streamflow` | NaN stays NaN |
| `dayl` s | (gauge latitude) | `add_day_length` |

ERA5-Land potential evaporation is biased high (several times CAMELS' PET); dgeo's models
compute Hamon PET from `tmean` and `dayl` instead, and `default_attributes` avoid it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from ._caravan_attributes import as_dataset, attribute_paths, read_caravan_attributes
from ._dataset import assign_basin_coords
from ._daylength import add_day_length
from ._errors import DataError
from ._source import DataSource, basin_list

#: The PET products of `Caravan(pet=...)`: its column names, the first a file has is read.
PET_PRODUCTS: dict[str, tuple[str, ...]] = {
    "era5_land": ("potential_evaporation_sum_ERA5_LAND", "potential_evaporation_sum"),
    "fao_penman_monteith": ("potential_evaporation_sum_FAO_PENMAN_MONTEITH",),
}

#: dgeo variable -> the Caravan time-series column(s) it is read from (the first one a file
#: has; `vp` is computed from the dewpoint, `pet` follows `Caravan(pet=...)`).
CARAVAN_COLUMNS: dict[str, tuple[str, ...]] = {
    "prcp": ("total_precipitation_sum",),
    "tmean": ("temperature_2m_mean",),
    "tmin": ("temperature_2m_min",),
    "tmax": ("temperature_2m_max",),
    "srad": ("surface_net_solar_radiation_mean",),
    "vp": ("dewpoint_temperature_2m_mean",),
    "pet": PET_PRODUCTS["era5_land"],
    "qobs": ("streamflow",),
}

_VARIABLES: dict[str, tuple[str, str]] = {
    "prcp": ("mm/day", "total precipitation, daily sum (ERA5-Land)"),
    "tmean": ("degC", "2 m air temperature, mean of the hourly values (ERA5-Land)"),
    "tmin": ("degC", "2 m air temperature, daily minimum of the hourly values (ERA5-Land)"),
    "tmax": ("degC", "2 m air temperature, daily maximum of the hourly values (ERA5-Land)"),
    "srad": ("W/m2", "surface net shortwave radiation, 24-hour mean (ERA5-Land)"),
    "vp": ("Pa", "water vapour pressure at the daily mean 2 m dewpoint (FAO-56 eq. 14)"),
    "pet": ("mm/day", "potential evaporation, daily sum, positive"),
    "qobs": ("mm/day", "observed streamflow (Caravan, from the source dataset)"),
}

#: Default static attributes for regional models on Caravan (24), analogous to the 27 of
#: Kratzert et al. (2019) for CAMELS, from columns every Caravan version and subset has:
CARAVAN_ATTRIBUTES: tuple[str, ...] = (
    # climate indices from ERA5-Land (Caravan; the PET-free ones, as their names are stable)
    "p_mean", "frac_snow", "high_prec_freq", "high_prec_dur", "low_prec_freq", "low_prec_dur",
    # long-term PET and aridity (P/PET) from HydroATLAS, not from biased ERA5-Land PET
    "pet_mm_syr", "ari_ix_sav",
    # topography: mean elevation, mean slope, area
    "ele_mt_sav", "slp_dg_sav", "area",
    # land cover: forest, cropland, pasture, glacier, lakes
    "for_pc_sse", "crp_pc_sse", "pst_pc_sse", "gla_pc_sse", "lka_pc_sse",
    # soils: texture, organic carbon, water content
    "cly_pc_sav", "slt_pc_sav", "snd_pc_sav", "soc_th_sav", "swc_pc_syr",
    # subsurface: karst, groundwater table depth, permafrost
    "kar_pc_sse", "gwt_cm_sav", "prm_pc_sse",
)  # fmt: skip

_SUFFIXES = {"csv": ".csv", "netcdf": ".nc"}


def vapour_pressure(dewpoint: np.ndarray) -> np.ndarray:
    """Actual vapour pressure (Pa) at dewpoint `dewpoint` (degC): FAO-56 (Allen et al. 1998)
    eq. 14, e = 610.8 exp(17.27 Td / (Td + 237.3)), the Magnus form Caravan's `pet.py` uses."""
    return 610.8 * np.exp(17.27 * dewpoint / (dewpoint + 237.3))


def _read_csv(path: Path, wanted: set[str]) -> pd.DataFrame:
    try:
        header = pd.read_csv(path, nrows=0).columns
        if "date" not in header:
            raise DataError(f"{path}: no `date` column (found: {', '.join(header[:8])} ...)")
        frame = pd.read_csv(path, usecols=["date", *(c for c in header if c in wanted)])
    except (OSError, ValueError, pd.errors.ParserError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"{path}: cannot read as a Caravan csv file: {err}") from None
    try:
        dates = pd.to_datetime(frame.pop("date"), format="ISO8601")
    except (ValueError, TypeError) as err:
        raise DataError(f"{path}: `date` holds a value that is not a date: {err}") from None
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            bad = pd.to_numeric(frame[column], errors="coerce").isna() & frame[column].notna()
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{path}, line {row + 2}: column {column!r} holds {frame[column].iloc[row]!r}, "
                "not a number"
            )
    return frame.set_index(pd.DatetimeIndex(dates))


def _read_netcdf(path: Path, wanted: set[str]) -> pd.DataFrame:
    try:
        with xr.open_dataset(path) as opened:
            dims = [d for d in ("date", "time") if d in opened.dims]
            if not dims:
                raise DataError(f"{path}: no `date` dimension (dims: {', '.join(opened.dims)})")
            names = [str(v) for v in opened.data_vars if v in wanted]
            wrong = [v for v in names if opened[v].dims != (dims[0],)]
            if wrong:
                raise DataError(f"{path}: variable(s) {', '.join(wrong)} are not over {dims[0]}")
            columns = {v: opened[v].to_numpy().astype(np.float64) for v in names}
            dates = pd.DatetimeIndex(opened[dims[0]].to_numpy())
    except (OSError, ValueError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"{path}: cannot open as a Caravan netCDF file: {err}") from None
    return pd.DataFrame(columns, index=dates)


def _check_dates(path: Path, dates: pd.DatetimeIndex) -> None:
    if len(dates) == 0:
        raise DataError(f"{path}: no data rows")
    if dates.hasnans:
        raise DataError(f"{path}: a row without a date (row {int(np.argmax(dates.isna())) + 1})")
    if dates.has_duplicates:
        raise DataError(f"{path}: date {dates[dates.duplicated()][0].date()} appears twice")
    if not dates.is_monotonic_increasing:
        i = int(np.flatnonzero(np.diff(dates.asi8) < 0)[0]) + 1
        raise DataError(f"{path}: dates are not increasing at {dates[i].date()}")
    if (dates != dates.normalize()).any():
        raise DataError(f"{path}: dates with a time of day ({dates[0]}): not daily data")


@dataclass(frozen=True)
class Caravan(DataSource):
    """One subset of Caravan in its native layout (Kratzert et al. 2023): any subset, csv or
    netCDF time series, Caravan <= 1.4 and >= 1.5 column names.

    `load` gives the forcings of `CARAVAN_COLUMNS` under dgeo's names and units (float32, as
    Caravan stores them), `dayl` from the gauge latitude (`add_day_length`), `qobs`, and every
    column of the three attribute tables as a `(basin,)` variable under its Caravan name
    (numeric as float64, names as strings; units in `attrs`, HydroATLAS ones as stored, e.g.
    `slp_dg_sav` in `0.1 degree`). Coordinates: `lat`, `lon` (`gauge_lat`, `gauge_lon`),
    `area` (km2, Caravan's polygon area) and `elevation` (HydroATLAS `ele_mt_sav`). Basin ids
    are Caravan's gauge ids (`camels_01022500`). The time axis covers every file; days a
    file lacks are NaN and reported in a warning.

    `default_attributes` (`CARAVAN_ATTRIBUTES`, 24) mirror the groups of Kratzert et al.
    (2019): climate (Caravan's ERA5-Land indices without PET, whose names changed in Caravan
    1.5, plus HydroATLAS long-term PET and aridity index, since ERA5-Land PET is biased
    high), topography (elevation, slope, area), land cover (forest, cropland, pasture,
    glacier, lakes: CAMELS' LAI and GVF have no HydroATLAS counterpart), soils (clay, silt,
    sand, organic carbon, water content: texture and storage, as CAMELS' soil attributes) and
    subsurface (karst, groundwater table depth, permafrost: in place of CAMELS' carbonate
    rocks and permeability). Categorical classes (climate zone, lithology, land-cover class)
    are left out: their codes are not quantities. HydroATLAS's `ari_ix_sav` is P/PET x 100
    (large = wet), the inverse of CAMELS' `aridity`.

    **Arguments:**

    - `root`: the Caravan folder holding `timeseries/` and `attributes/`.
    - `subset`: the source dataset's folder name (`camels`, `camelsgb`, `hysets`, ...).
    - `format`: read `timeseries/csv/` (`"csv"`) or `timeseries/netcdf/` (`"netcdf"`).
    - `pet`: `"era5_land"` (every version) or `"fao_penman_monteith"` (Caravan >= 1.5).

    Raises `DataError` naming the missing folder, file, column or basin.
    """

    root: str | os.PathLike  # held as a Path
    subset: str = "camels"
    format: str = "csv"
    pet: str = "era5_land"

    name: ClassVar[str] = "caravan"
    default_attributes: ClassVar[tuple[str, ...]] = CARAVAN_ATTRIBUTES

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        if self.format not in _SUFFIXES:
            raise DataError(f"unknown Caravan format {self.format!r}; allowed: csv, netcdf")
        if self.pet not in PET_PRODUCTS:
            raise DataError(f"unknown PET product {self.pet!r}; allowed: {', '.join(PET_PRODUCTS)}")
        if not isinstance(self.subset, str) or not self.subset or "/" in self.subset:
            raise DataError(f"Caravan subset must be a folder name, not {self.subset!r}")
        for part in ("timeseries", "attributes"):
            if not (self.root / part).is_dir():
                raise DataError(f"{self.root} is not a Caravan folder (no {part}/ in it)")
        if not self._series_dir.is_dir():
            parent = self._series_dir.parent
            found = (
                sorted(p.name for p in parent.iterdir() if p.is_dir()) if parent.is_dir() else []
            )
            raise DataError(
                f"{self._series_dir} does not exist: no {self.format} time series of subset "
                f"{self.subset!r} (found: {', '.join(found) or 'none'})"
            )

    @property
    def _series_dir(self) -> Path:
        return self.root / "timeseries" / self.format / self.subset

    def _series_file(self, basin: str) -> Path:
        return self._series_dir / f"{basin}{_SUFFIXES[self.format]}"

    def basin_ids(self) -> list[str]:
        ids = sorted(p.stem for p in self._series_dir.glob(f"*{_SUFFIXES[self.format]}"))
        if not ids:
            raise DataError(f"no {self.format} time-series files in {self._series_dir}")
        return ids

    def _resolve(self, basins: Sequence[str] | None) -> list[str]:
        ids = basin_list(basins)
        if ids is None:
            return self.basin_ids()
        missing = [b for b in ids if not self._series_file(b).is_file()]
        if missing:
            prefixed = [f"{self.subset}_{b}" for b in missing]
            hint = [p for p in prefixed if self._series_file(p).is_file()]
            also = f" (Caravan gauge ids carry the subset: {', '.join(hint[:5])}?)" if hint else ""
            raise DataError(
                f"basin(s) {', '.join(missing[:10])} not in Caravan subset {self.subset!r}: "
                f"no file {self._series_file(missing[0]).name} in {self._series_dir}{also}"
            )
        return ids

    def files(self, basins: Sequence[str] | None = None) -> list[Path]:
        ids = self._resolve(basins)
        return [*(self._series_file(b) for b in ids), *attribute_paths(self.root, self.subset)]

    def describe(self) -> str:
        return f"Caravan subset {self.subset!r} ({self.format}) at {self.root}"

    def _columns(self) -> dict[str, tuple[str, ...]]:
        return {**CARAVAN_COLUMNS, "pet": PET_PRODUCTS[self.pet]}

    def _read_series(self, basin: str) -> pd.DataFrame:
        """One basin's series, columns renamed to dgeo's (dewpoint still in degC as `vp`)."""
        path = self._series_file(basin)
        columns = self._columns()
        wanted = {c for names in columns.values() for c in names}
        reader = _read_csv if self.format == "csv" else _read_netcdf
        frame = reader(path, wanted)
        _check_dates(path, frame.index)
        found, missing = {}, []
        for variable, names in columns.items():
            present = [n for n in names if n in frame.columns]
            if present:
                found[present[0]] = variable
            else:
                missing.append(" or ".join(names))
        if missing:
            raise DataError(f"{path}: no column {'; no column '.join(missing)}")
        return frame[list(found)].rename(columns=found)

    def load(self, basins: Sequence[str] | None = None) -> xr.Dataset:
        ids = self._resolve(basins)
        table = read_caravan_attributes(self.root, self.subset, ids)
        other = attribute_paths(self.root, self.subset)[0]
        lacking = [c for c in ("gauge_lat", "gauge_lon", "area") if c not in table.columns]
        if lacking:
            raise DataError(f"{other}: no column(s) {', '.join(lacking)}")
        frames = [self._read_series(b) for b in ids]
        first = min(f.index[0] for f in frames)
        last = max(f.index[-1] for f in frames)
        time = pd.date_range(first, last, freq="D").as_unit("ns")
        gaps = [
            f"{b} ({len(time) - len(f)} days)"
            for b, f in zip(ids, frames, strict=True)
            if len(f) != len(time)
        ]
        if gaps:
            warnings.warn(
                f"Caravan time series do not cover the common daily axis {time[0].date()}.."
                f"{time[-1].date()}; these days are NaN: {'; '.join(gaps)}",
                stacklevel=2,
            )
        ds = xr.Dataset(coords={"basin": np.array(ids, dtype=str), "time": time})
        for variable, (units, long_name) in _VARIABLES.items():
            # Caravan's own precision first, so csv and netCDF files give the same numbers.
            values = np.stack([f[variable].reindex(time).to_numpy(np.float32) for f in frames])
            if variable == "vp":
                values = vapour_pressure(values.astype(np.float64))
            attrs = {"units": units, "long_name": long_name}
            if variable in ("pet", "vp"):
                attrs["caravan_column"] = self._columns()[variable][0]
            ds[variable] = (("basin", "time"), values.astype(np.float32), attrs)
        self._check_pet_sign(ds)
        elevation = table["ele_mt_sav"] if "ele_mt_sav" in table else np.full(len(ids), np.nan)
        ds = assign_basin_coords(
            ds,
            lat=table["gauge_lat"],
            lon=table["gauge_lon"],
            elevation=elevation,
            area=table["area"],
            area_source="Caravan polygon",
        )
        ds = ds.merge(as_dataset(table, skip=("area",)))
        ds.attrs.update(
            source=self.describe(),
            references="Kratzert et al. (2023) Scientific Data 10, 61 (Caravan); "
            "Munoz Sabater (2019) ERA5-Land; Linke et al. (2019) Scientific Data 6, 283 "
            "(HydroATLAS)",
        )
        return self.validated(add_day_length(ds), None if basins is None else ids)

    def _check_pet_sign(self, ds: xr.Dataset) -> None:
        """Caravan flips ERA5-Land's sign (upward flux negative): PET is positive on average."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN basins
            mean = np.nanmean(ds["pet"].to_numpy(), axis=1)
        negative = ds["basin"].to_numpy()[mean < 0]
        if negative.size:
            raise DataError(
                f"basin(s) {', '.join(map(str, negative[:5]))}: mean potential evaporation is "
                "negative: ERA5-Land's sign convention (upward flux < 0), which Caravan "
                "reverses; these files are not Caravan's"
            )
