"""Reader for the original CAMELS-US v1.2 text layout (Newman et al. 2015; Addor et al. 2017)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ._attributes import attributes_to_dataset, read_attributes
from ._dataset import assign_basin_coords, check_basin_list
from ._errors import DataError
from ._textfiles import dates_from_columns, read_mixed_table, read_numeric_table
from ._units import implausible

# File-name tags of the three CAMELS-US forcing products.
_FORCING_TAGS = {"daymet": "cida", "maurer": "maurer", "nldas": "nldas"}
_FORCING_COLUMNS = [
    "year",
    "month",
    "day",
    "hour",
    "dayl",
    "prcp",
    "srad",
    "swe",
    "tmax",
    "tmin",
    "vp",
]
# Line 4 of a forcing file names the columns; from `dayl` on, with units (any letter case).
_FORCING_HEADER = [
    "dayl(s)",
    "prcp(mm/day)",
    "srad(w/m2)",
    "swe(mm)",
    "tmax(c)",
    "tmin(c)",
    "vp(pa)",
]
_FLOW_COLUMNS = ["gauge_id", "year", "month", "day", "q", "flag"]
_FT3_PER_S_TO_M3_PER_DAY = 0.3048**3 * 86400.0

#: QC flags of USGS streamflow, stored as integer codes in `qobs_flag` (CF flag convention).
FLOW_FLAGS = {"A": 1, "A:e": 2, "M": 3}
_FLAG_MEANINGS = "no_record approved approved_estimated missing"

# The forcing variables kept, with units and long names. The file's `swe(mm)` column is all
# zeros in CAMELS and is not a snow observation, so it is deliberately not loaded.
_FORCING_VARIABLES = {
    "prcp": ("mm/day", "precipitation"),
    "tmax": ("degC", "daily maximum air temperature"),
    "tmin": ("degC", "daily minimum air temperature"),
    "dayl": ("s", "day length"),
    "srad": ("W/m2", "incoming shortwave radiation"),
    "vp": ("Pa", "water vapour pressure"),
}


@dataclass(frozen=True)
class _Forcing:
    latitude: float
    elevation: float
    area_m2: float
    dates: pd.DatetimeIndex
    values: dict[str, np.ndarray]


@dataclass(frozen=True)
class _Flow:
    dates: pd.DatetimeIndex
    q_ft3s: np.ndarray  # NaN where missing
    flag: np.ndarray  # int8 codes of FLOW_FLAGS


def _normalise_basin_id(basin: object) -> str:
    text = str(basin).strip()
    return text.zfill(8) if text.isdigit() else text


def _index_files(folder: Path, suffix: str) -> dict[str, Path]:
    """Map basin id -> file for every `HH/<basin><suffix>` below `folder` (any HUC folder)."""
    index: dict[str, Path] = {}
    for path in sorted(folder.glob(f"*/*{suffix}")):
        basin = path.name[: -len(suffix)]
        if basin in index:
            raise DataError(f"basin {basin} has two files: {index[basin]} and {path}")
        index[basin] = path
    return index


def _header_number(path: Path, lines: list[str], lineno: int, what: str) -> float:
    try:
        return float(lines[lineno - 1].strip())
    except (IndexError, ValueError):
        found = lines[lineno - 1].rstrip("\n") if lineno <= len(lines) else "end of file"
        raise DataError(
            f"{path}, line {lineno}: expected the {what} in the header, found {found!r}"
        ) from None


def _read_forcing(path: Path) -> _Forcing:
    with open(path, encoding="utf-8", errors="replace") as f:
        header = [f.readline() for _ in range(4)]
    latitude = _header_number(path, header, 1, "gauge latitude")
    elevation = _header_number(path, header, 2, "elevation (m)")
    area = _header_number(path, header, 3, "basin area (m2)")
    if not area > 0:
        raise DataError(f"{path}, line 3: basin area must be positive, found {area}")
    names = header[3].split()
    if not names or names[0].lower() != "year":
        raise DataError(f"{path}, line 4: expected the column names (Year Mnth Day ...)")
    if [n.lower() for n in names[4:]] != _FORCING_HEADER:
        raise DataError(
            f"{path}, line 4: the columns after 'Year Mnth Day Hr' are {' '.join(names[4:])!r}; "
            f"dgeo reads CAMELS' order and units: {' '.join(_FORCING_HEADER)}"
        )
    data = read_numeric_table(path, skip=4, names=_FORCING_COLUMNS)
    columns = dict(zip(_FORCING_COLUMNS, data.T, strict=True))
    dates = dates_from_columns(path, 4, columns["year"], columns["month"], columns["day"])
    values = {name: columns[name] for name in _FORCING_VARIABLES}
    for name, (units, _) in _FORCING_VARIABLES.items():
        found = implausible(name, values[name], units)
        if found is not None:
            bad, problem = found
            raise DataError(f"{path}, line {5 + int(bad[0][0])}: {problem}")
    return _Forcing(latitude, elevation, area, dates, values)


def _read_flow(path: Path, basin: str) -> _Flow:
    frame = read_mixed_table(path, _FLOW_COLUMNS, {"gauge_id": str, "flag": str})
    ids = frame["gauge_id"].map(_normalise_basin_id).to_numpy()
    wrong = np.flatnonzero(ids != basin)
    if wrong.size:
        raise DataError(
            f"{path}, line {wrong[0] + 1}: gauge id {ids[wrong[0]]} does not match basin {basin}"
        )
    flags = frame["flag"].to_numpy(dtype=object)
    codes = np.array([FLOW_FLAGS.get(flag, -1) for flag in flags], dtype=np.int8)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise DataError(
            f"{path}, line {row + 1}: unknown QC flag {flags[row]!r} (known: {', '.join(FLOW_FLAGS)})"
        )
    q = frame["q"].to_numpy(dtype=np.float64)
    missing = q == -999.0
    negative = np.flatnonzero((q < 0) & ~missing)
    if negative.size:
        row = int(negative[0])
        raise DataError(f"{path}, line {row + 1}: negative streamflow {q[row]} (missing is -999)")
    dates = dates_from_columns(path, 0, *(frame[c].to_numpy() for c in ("year", "month", "day")))
    return _Flow(dates, np.where(missing, np.nan, q), codes)


def _on_axis(
    time: pd.DatetimeIndex, dates: pd.DatetimeIndex, values: np.ndarray, fill
) -> np.ndarray:
    out = np.full(len(time), fill, dtype=values.dtype)
    out[time.get_indexer(dates)] = values
    return out


def _resolve_basins(
    basins: Iterable[object] | None, index: dict[str, Path], searched: Path
) -> list[str]:
    if basins is None:
        if not index:
            raise DataError(f"no forcing files found below {searched}")
        return list(index)
    basins = [basins] if isinstance(basins, str) else basins
    return check_basin_list([_normalise_basin_id(b) for b in basins])


def load_camels_us(
    root: str | Path,
    basins: Sequence[object] | None = None,
    forcing: str = "daymet",
    attributes: bool = True,
) -> xr.Dataset:
    """Load CAMELS-US basins from the original text layout into one `(basin, time)` Dataset.

    Reads `basin_mean_forcing/<forcing>/HH/<basin>_lump_<tag>_forcing_leap.txt`,
    `usgs_streamflow/HH/<basin>_streamflow_qc.txt` and, with `attributes=True`, the seven
    `camels_attributes_v2.0/camels_*.txt` tables. The HUC folder `HH` need not be known.

    Variables: `prcp` (mm/day), `tmax`, `tmin`, `tmean = (tmax + tmin) / 2` (degC), `dayl` (s),
    `srad` (W/m2), `vp` (Pa), `qobs` (mm/day, converted from ft3/s with the basin area of the
    forcing header; -999 becomes NaN) and `qobs_flag` (USGS QC flag as CF flag codes).
    Coordinates `lat`, `lon`, `elevation` (m), `area` (km2). Static attributes are variables
    over `basin` (numeric as float, categorical as string). The forcing file's `swe` column is
    all zeros in CAMELS and is not loaded. The time axis is the complete daily range covering
    every basin's forcing and flow; days a file lacks are NaN and reported in a warning.

    **Arguments:**

    - `root`: the CAMELS-US folder (holding `basin_mean_forcing/`, `usgs_streamflow/`, ...).
    - `basins`: basin ids (8-digit strings; integers are zero-padded); `None` loads all.
    - `forcing`: `"daymet"`, `"maurer"` or `"nldas"`.
    - `attributes`: also join the static catchment attributes.

    Raises `DataError` naming the basin, file and line at fault.
    """
    root = Path(root)
    if forcing not in _FORCING_TAGS:
        raise DataError(f"unknown forcing {forcing!r}; allowed: {', '.join(_FORCING_TAGS)}")
    forcing_dir = root / "basin_mean_forcing" / forcing
    flow_dir = root / "usgs_streamflow"
    for folder in (forcing_dir, flow_dir):
        if not folder.is_dir():
            raise DataError(f"{folder} does not exist: is {root} a CAMELS-US root folder?")
    forcing_suffix = f"_lump_{_FORCING_TAGS[forcing]}_forcing_leap.txt"
    forcing_files = _index_files(forcing_dir, forcing_suffix)
    flow_files = _index_files(flow_dir, "_streamflow_qc.txt")
    basin_ids = _resolve_basins(basins, forcing_files, forcing_dir)

    forcings, flows = [], []
    for basin in basin_ids:
        for files, folder, suffix in (
            (forcing_files, forcing_dir, forcing_suffix),
            (flow_files, flow_dir, "_streamflow_qc.txt"),
        ):
            if basin not in files:
                raise DataError(
                    f"basin {basin}: no file {basin}{suffix} found; searched {folder}/*/"
                )
        forcings.append(_read_forcing(forcing_files[basin]))
        flows.append(_read_flow(flow_files[basin], basin))

    first = min(min(f.dates[0] for f in forcings), min(f.dates[0] for f in flows))
    last = max(max(f.dates[-1] for f in forcings), max(f.dates[-1] for f in flows))
    time = pd.date_range(first, last, freq="D").as_unit("ns")
    _warn_gaps(basin_ids, forcings, forcing_files, time)

    data = {
        name: np.stack([_on_axis(time, f.dates, f.values[name], np.nan) for f in forcings])
        for name in _FORCING_VARIABLES
    }
    data["tmean"] = 0.5 * (data["tmax"] + data["tmin"])
    area = np.array([f.area_m2 for f in forcings])
    q = np.stack([_on_axis(time, f.dates, f.q_ft3s, np.nan) for f in flows])
    data["qobs"] = q * (_FT3_PER_S_TO_M3_PER_DAY * 1000.0 / area)[:, None]
    flag = np.stack([_on_axis(time, f.dates, f.flag, 0) for f in flows])

    dims = ("basin", "time")
    ds = xr.Dataset(coords={"basin": np.array(basin_ids, dtype=str), "time": time})
    units = {**{k: v[0] for k, v in _FORCING_VARIABLES.items()}, "tmean": "degC"}
    names = {
        **{k: v[1] for k, v in _FORCING_VARIABLES.items()},
        "tmean": "daily mean air temperature (tmax + tmin) / 2",
    }
    for name in ["prcp", "tmax", "tmin", "tmean", "dayl", "srad", "vp"]:
        ds[name] = (dims, data[name], {"units": units[name], "long_name": names[name]})
    ds["qobs"] = (
        dims,
        data["qobs"],
        {"units": "mm/day", "long_name": "observed streamflow (USGS)"},
    )
    ds["qobs_flag"] = (
        dims,
        flag,
        {
            "units": "1",
            "long_name": "USGS streamflow QC flag",
            "flag_values": np.array([0, *FLOW_FLAGS.values()], dtype=np.int8),
            "flag_meanings": _FLAG_MEANINGS,
        },
    )
    # Longitude is not in the forcing header; it comes from the topography table.
    attribute_dir = root / "camels_attributes_v2.0"
    if attributes:
        table = read_attributes(attribute_dir, basin_ids)
    else:
        try:
            table = read_attributes(attribute_dir, basin_ids, tables=("topo",))
        except DataError as err:
            warnings.warn(f"coordinate lon is NaN: {err}", stacklevel=2)
            table = pd.DataFrame({"gauge_lon": np.full(len(basin_ids), np.nan)})
    ds = assign_basin_coords(
        ds,
        lat=[f.latitude for f in forcings],
        lon=table["gauge_lon"],
        elevation=[f.elevation for f in forcings],
        area=area / 1e6,
        area_source="forcing header",
    )
    if attributes:
        ds = ds.merge(attributes_to_dataset(table))
    ds.attrs.update(
        source=f"CAMELS-US v1.2 ({forcing} forcing), {root}",
        references="Newman et al. (2015) HESS 19, 209-223; Addor et al. (2017) HESS 21, 5293-5313",
    )
    return ds


def _warn_gaps(
    basins: list[str], forcings: list[_Forcing], files: dict[str, Path], time: pd.DatetimeIndex
) -> None:
    gaps = [
        f"{b} ({len(time) - len(f.dates)} days, {files[b].name})"
        for b, f in zip(basins, forcings, strict=True)
        if len(f.dates) != len(time)
    ]
    if gaps:
        warnings.warn(
            "forcing does not cover the common daily axis "
            f"{time[0].date()}..{time[-1].date()}; these days are NaN: " + "; ".join(gaps),
            stacklevel=3,
        )
