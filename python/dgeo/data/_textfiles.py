"""Parsing of whitespace-separated CAMELS text files with errors that name file and line.

The fast path hands the file to numpy/pandas; only when that fails, or the result does not
look right, a slow line-by-line scan finds the first bad line so the error can name it.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ._errors import DataError


def _is_number(token: str) -> bool:
    """A finite number: `nan` and `inf` tokens are not data (missing days are -999 or absent)."""
    try:
        return math.isfinite(float(token))
    except ValueError:
        return False


def locate_bad_line(
    path: Path, skip: int, names: list[str], numeric: set[int]
) -> tuple[int, str, str] | None:
    """Return (1-based line number, problem, line text) of the first malformed data line."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, start=1):
            if lineno <= skip:
                continue
            parts = line.split()
            if len(parts) != len(names):
                return (
                    lineno,
                    f"expected {len(names)} fields ({' '.join(names)}), found {len(parts)}",
                    line.rstrip("\n"),
                )
            for i in numeric:
                if not _is_number(parts[i]):
                    problem = f"field {names[i]!r} is {parts[i]!r}, not a finite number"
                    return lineno, problem, line.rstrip("\n")
    return None


def malformed(path: Path, skip: int, names: list[str], numeric: set[int]) -> DataError:
    """Build the error for a file whose fast parse failed, naming the first bad line."""
    found = locate_bad_line(path, skip, names, numeric)
    if found is None:
        with open(path, encoding="utf-8", errors="replace") as f:
            if not any(line.strip() for line in list(f)[skip:]):
                after = f" after the {skip}-line header" if skip else ""
                return DataError(f"{path}: no data lines{after}")
        return DataError(f"{path}: could not parse the file (no single malformed line found)")
    lineno, problem, text = found
    return DataError(f"{path}, line {lineno}: {problem}: {text!r}")


def read_numeric_table(path: Path, skip: int, names: list[str]) -> np.ndarray:
    """Read an all-numeric whitespace table (rows x len(names)) after `skip` header lines."""
    numeric = set(range(len(names)))
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "no data": reported below, with path
            data = np.loadtxt(path, skiprows=skip, ndmin=2, dtype=np.float64)
    except ValueError:
        raise malformed(path, skip, names, numeric) from None
    if data.shape[1] != len(names) or not np.isfinite(data).all():
        raise malformed(path, skip, names, numeric)
    return data


def read_mixed_table(
    path: Path, names: list[str], dtypes: dict[str, type], skip: int = 0
) -> pd.DataFrame:
    """Read a whitespace table with some string columns; numeric columns must parse fully."""
    numeric = {i for i, n in enumerate(names) if dtypes.get(n) is not str}
    try:
        frame = pd.read_csv(
            path,
            sep=r"\s+",
            header=None,
            names=names,
            skiprows=skip,
            dtype={n: "string" if dtypes.get(n) is str else "float64" for n in names},
            engine="c",
        )
    except (ValueError, pd.errors.ParserError):
        raise malformed(path, skip, names, numeric) from None
    values = frame.iloc[:, sorted(numeric)].to_numpy(dtype=np.float64)
    if frame.isna().to_numpy().any() or not np.isfinite(values).all():
        raise malformed(path, skip, names, numeric)
    return frame


def dates_from_columns(
    path: Path, skip: int, year: np.ndarray, month: np.ndarray, day: np.ndarray
) -> pd.DatetimeIndex:
    """Build dates from year/month/day columns; reject invalid, duplicate or unordered dates."""
    frame = pd.DataFrame({"year": year, "month": month, "day": day}).astype("int64")
    dates = pd.to_datetime(frame, errors="coerce")
    bad = np.flatnonzero(dates.isna().to_numpy())
    if bad.size:
        row = int(bad[0])
        raise DataError(
            f"{path}, line {skip + row + 1}: invalid date "
            f"{int(year[row])}-{int(month[row]):02d}-{int(day[row]):02d}"
        )
    index = pd.DatetimeIndex(dates)
    steps = np.diff(index.asi8)
    if steps.size and (steps <= 0).any():
        row = int(np.flatnonzero(steps <= 0)[0]) + 1
        kind = "duplicate" if steps[row - 1] == 0 else "non-monotonic"
        raise DataError(f"{path}, line {skip + row + 1}: {kind} date {index[row].date()}")
    return index
