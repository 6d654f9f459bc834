"""The (basin, time) schema shared by every dgeo dataset: opening netCDF files and validating."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .._typing import Integer
from ._errors import DataError
from ._units import CANONICAL_UNITS, implausible, normalise_units

_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class ValidationReport:
    """What `validate` found: the period and the missing values per variable and basin.

    `missing` is a DataFrame (basin x variable) of counts of NaN values over time.
    """

    basins: int
    start: pd.Timestamp
    end: pd.Timestamp
    days: int
    missing: pd.DataFrame

    def __str__(self) -> str:
        lines = [
            f"{self.basins} basins, {self.start.date()} .. {self.end.date()} ({self.days} days)"
        ]
        total = self.missing.sum()
        for name, count in total.items():
            worst = self.missing[name].idxmax()
            share = count / (self.basins * self.days)
            note = f" (worst basin {worst}: {self.missing[name].max()})" if count else ""
            lines.append(f"  {name}: {count} missing ({share:.2%}){note}")
        return "\n".join(lines)


def located(ds: xr.Dataset, basin: Integer, time: Integer) -> str:
    """'basin <id> on <date>' for the (basin, time) position of an error."""
    return f"basin {ds['basin'].values[basin]} on {pd.Timestamp(ds['time'].values[time]).date()}"


def series_variable(ds: xr.Dataset, name: str) -> xr.DataArray:
    """Variable `name` of `ds`, checked to exist, to have dims (basin, time) and units."""
    if name not in ds.variables:
        raise DataError(
            f"required variable {name!r} is missing (found: {', '.join(map(str, ds.data_vars))})"
        )
    var = ds[name]
    if set(var.dims) != {"basin", "time"}:
        raise DataError(f"variable {name!r} has dims {var.dims}, expected (basin, time)")
    if "units" not in var.attrs:
        raise DataError(f"variable {name!r} has no units attribute")
    return var


def check_axes(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Check the (basin, time) axes of `ds`: both exist; basin ids are unique and there is at
    least one; time is datetime, non-empty, daily, unique and increasing.

    **Returns:** the basin ids (as strings) and the dates. Raises `DataError` naming the
    dimension, basin or date at fault.
    """
    for dim in ("basin", "time"):
        if dim not in ds.dims:
            raise DataError(
                f"dataset has no {dim!r} dimension (dims: {', '.join(map(str, ds.dims))})"
            )
    basins = ds["basin"].to_numpy().astype(str)
    if len(basins) == 0:
        raise DataError("dataset has no basins")
    if len(set(basins)) != len(basins):
        dup = pd.Index(basins)[pd.Index(basins).duplicated()][0]
        raise DataError(f"basin {dup} appears more than once")
    time = ds["time"].to_numpy()
    if not np.issubdtype(time.dtype, np.datetime64):
        raise DataError(f"time coordinate is not datetime (dtype {time.dtype})")
    if len(time) == 0:
        raise DataError("dataset has an empty time axis")
    steps = np.diff(time)
    if (steps <= np.timedelta64(0)).any():
        i = int(np.flatnonzero(steps <= np.timedelta64(0))[0]) + 1
        kind = "duplicate" if steps[i - 1] == np.timedelta64(0) else "non-monotonic"
        raise DataError(f"time axis: {kind} date {pd.Timestamp(time[i]).date()} at position {i}")
    if (steps != _DAY).any():
        i = int(np.flatnonzero(steps != _DAY)[0]) + 1
        raise DataError(
            f"time axis is not daily: {pd.Timestamp(time[i - 1])} is followed by "
            f"{pd.Timestamp(time[i])}"
        )
    return basins, time


def validate(
    ds: xr.Dataset, require: Sequence[str] = (), *, scan: bool = True
) -> ValidationReport | None:
    """Check that `ds` follows dgeo's (basin, time) schema and report missing values.

    Checks: dims `basin` and `time` exist; time is daily, unique and increasing; basin ids are
    unique; every variable in `require` exists, has dims (basin, time) and the canonical units of
    `dgeo.data.CANONICAL_UNITS` (or any units when the variable is not listed there); every
    variable of `dgeo.data.PLAUSIBLE_RANGE` lies within its physically possible range (a -999
    missing-value code or a unit mix-up is an error naming the basin and date).

    **Arguments:**

    - `ds`: the dataset.
    - `require`: variable names the caller needs.
    - `scan`: also read every value for the range check and the missing-value counts. False
      (for data too large to read at once) checks only the axes, names and units, and returns
      None; the values are then checked when they are read (`to_time_major` names the basin
      and date of an implausible or missing forcing).

    **Returns:** a `ValidationReport` with NaN counts per (basin, variable) for every
    time-series variable. Raises `DataError` naming the dimension or variable at fault.
    """
    basins, time = check_axes(ds)
    for name in require:
        units = series_variable(ds, name).attrs["units"]
        expected = CANONICAL_UNITS.get(name)
        if expected is not None and normalise_units(units) != expected:
            raise DataError(f"variable {name!r} has units {units!r}, expected {expected!r}")
    if not scan:
        return None
    series = [v for v in ds.data_vars if set(ds[v].dims) == {"basin", "time"}]
    for name in series:
        found = implausible(
            name,
            ds[name].transpose("basin", "time").to_numpy(),
            ds[name].attrs.get("units", CANONICAL_UNITS.get(name, "")),
        )
        if found is not None:
            bad, problem = found
            raise DataError(f"{problem}, at {located(ds, *bad[0])}")
    missing = pd.DataFrame(
        {v: ds[v].isnull().sum("time").to_numpy() for v in series},
        index=pd.Index(basins, name="basin"),
    )
    return ValidationReport(
        len(basins), pd.Timestamp(time[0]), pd.Timestamp(time[-1]), len(time), missing
    )


def assign_basin_coords(
    ds: xr.Dataset, *, lat, lon, elevation, area, area_source: str
) -> xr.Dataset:
    """Set dgeo's per-basin coordinates `lat`, `lon` (degrees), `elevation` (m), `area` (km2)."""
    return ds.assign_coords(
        lat=("basin", np.asarray(lat, dtype=float), {"units": "degrees_north"}),
        lon=("basin", np.asarray(lon, dtype=float), {"units": "degrees_east"}),
        elevation=("basin", np.asarray(elevation, dtype=float), {"units": "m"}),
        area=(
            "basin",
            np.asarray(area, dtype=float),
            {"units": "km2", "long_name": f"basin area ({area_source})"},
        ),
    )


def check_basin_list(basins: list[str]) -> list[str]:
    """`basins` unchanged; `DataError` if it is empty or names a basin twice."""
    if not basins:
        raise DataError("the basin list is empty: name at least one basin")
    duplicates = sorted({b for b in basins if basins.count(b) > 1})
    if duplicates:
        raise DataError(f"basins listed more than once: {', '.join(duplicates)}")
    return basins


def select_basins(ds: xr.Dataset, basins, *, source: object) -> xr.Dataset:
    """`ds` restricted to `basins` (in that order; one id may be given as a string);
    `DataError` names basins not in `source`, with the zero-padded id when that one exists."""
    basins = [basins] if isinstance(basins, str) else basins
    wanted = check_basin_list([str(b) for b in basins])
    present = set(ds["basin"].to_numpy().astype(str))
    missing = [b for b in wanted if b not in present]
    if missing:
        padded = [b.zfill(8) for b in missing if b.isdigit() and b.zfill(8) in present]
        hint = f" (basin ids are strings: did you mean {', '.join(padded)}?)" if padded else ""
        raise DataError(f"{source}: basin(s) {', '.join(missing)} not found{hint}")
    return ds.sel(basin=wanted)


@contextlib.contextmanager
def _no_chunk_cache(active: bool):
    """Files opened within have no HDF5 chunk cache when `active`: a lazily opened file is
    read a batch of basins at a time, each chunk once per read, and the cache (64 MB per
    variable by default) only grows memory and copies (reads were ~1.5x faster without it
    on the benchmark store of benchmarks/scale.py)."""
    if not active:
        yield
        return
    import netCDF4

    saved = netCDF4.get_chunk_cache()
    netCDF4.set_chunk_cache(0, 0, 0.0)
    try:
        yield
    finally:
        netCDF4.set_chunk_cache(*saved)


def open_dataset(
    path: str | Path, *, lazy: bool = False, basins: Sequence | str | None = None
) -> xr.Dataset:
    """Open a netCDF file in dgeo's (basin, time) schema, loaded into memory (`lazy=False`)
    or left on disk and read when values are asked for (`lazy=True`: the file stays open;
    selecting basins reads only theirs, as streamed training does). With `basins` (ids, in
    that order) only those are kept, and only those are read into memory.

    Basin ids become strings; variables with (time, basin) order are transposed to
    (basin, time). Raises `DataError` naming the file when it cannot be read or has no
    basin/time dimensions, or the basins it lacks. Call `validate(ds, require=[...])` for the
    variables you need.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        with _no_chunk_cache(lazy):
            opened = xr.open_dataset(path)
    except (OSError, ValueError, RuntimeError) as err:  # netCDF4/HDF5 errors: RuntimeError
        raise DataError(f"{path}: cannot open as netCDF: {err}") from None
    try:
        for dim in ("basin", "time"):
            if dim not in opened.dims:
                dims = ", ".join(map(str, opened.dims))
                raise DataError(f"{path}: no {dim!r} dimension (dims: {dims})")
        ds = opened.assign_coords(basin=opened["basin"].to_numpy().astype(str))
        if basins is not None:
            ds = select_basins(ds, basins, source=path)
        ds = ds.transpose("basin", "time", ...)
        if not lazy:
            ds = ds.load()
    except DataError:
        opened.close()
        raise
    except (OSError, ValueError, RuntimeError) as err:
        opened.close()
        raise DataError(f"{path}: cannot read: {err}") from None
    except BaseException:
        opened.close()
        raise
    if not lazy:
        opened.close()
    return ds
