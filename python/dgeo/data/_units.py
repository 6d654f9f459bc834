"""Units of the variables dgeo knows, and the few conversions it applies at the data boundary.

Units are CF-style strings. Only conversions that hydrologists meet in practice are known; any
other mismatch is an error naming the variable, never a silent guess.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._errors import DataError

#: Canonical units of the time-series variables used by dgeo models.
CANONICAL_UNITS: dict[str, str] = {
    "prcp": "mm/day",
    "pet": "mm/day",
    "qobs": "mm/day",
    "tmax": "degC",
    "tmin": "degC",
    "tmean": "degC",
    "dayl": "s",
    "srad": "W/m2",
    "vp": "Pa",
    "swe": "mm",
    "swe_ua": "mm",
    "swe_daymet": "mm",
}

# Spellings that mean the same unit.
_ALIASES: dict[str, str] = {
    "mm d-1": "mm/day",
    "mm day-1": "mm/day",
    "mm/d": "mm/day",
    "mm.day-1": "mm/day",
    "kg m-2 d-1": "mm/day",
    "celsius": "degC",
    "degree_celsius": "degC",
    "degrees_celsius": "degC",
    "deg_c": "degC",
    "°c": "degC",
    "c": "degC",
    "seconds": "s",
    "second": "s",
    "sec": "s",
    "w m-2": "W/m2",
    "w/m^2": "W/m2",
    "w/m2": "W/m2",
    "pa": "Pa",
    "kelvin": "K",
    "k": "K",
    "m/day": "m/day",
    "m d-1": "m/day",
    "hours": "h",
    "hour": "h",
    "day": "day",
    "days": "day",
}

# (from, to) -> function converting values.
_CONVERSIONS: dict[tuple[str, str], Callable[[np.ndarray], np.ndarray]] = {
    ("K", "degC"): lambda x: x - 273.15,
    ("m/day", "mm/day"): lambda x: x * 1000.0,
    ("h", "s"): lambda x: x * 3600.0,
    ("day", "s"): lambda x: x * 86400.0,
    ("s", "day"): lambda x: x / 86400.0,
    ("s", "h"): lambda x: x / 3600.0,
    ("h", "day"): lambda x: x / 24.0,
    ("kPa", "Pa"): lambda x: x * 1000.0,
}


def normalise_units(units: str) -> str:
    """Map a unit spelling to dgeo's canonical spelling (unknown spellings pass through)."""
    key = units.strip()
    return _ALIASES.get(key.lower(), key)


def convert(values: np.ndarray, from_units: str, to_units: str, *, variable: str) -> np.ndarray:
    """Convert `values` of `variable` from `from_units` to `to_units`.

    **Arguments:**

    - `values`: the numbers to convert.
    - `from_units`, `to_units`: CF-style unit strings (aliases such as `mm d-1` are understood).
    - `variable`: the variable's name, used in the error message.

    Raises `DataError` naming the variable when no conversion is known.
    """
    src, dst = normalise_units(from_units), normalise_units(to_units)
    if src == dst:
        return values
    try:
        return _CONVERSIONS[(src, dst)](values)
    except KeyError:
        raise DataError(
            f"variable {variable!r} has units {from_units!r}, expected {to_units!r}; "
            "no conversion between them is known"
        ) from None


#: Physically possible range of each variable in its canonical units. A value outside it is
#: almost always a missing-value code written as a number (-999) or a unit mix-up, and is an
#: error, never a silent input. ERA5-Land potential evaporation is legitimately negative
#: (condensation) at times, so `pet` has no range.
PLAUSIBLE_RANGE: dict[str, tuple[float, float]] = {
    "prcp": (0.0, 2000.0),
    "qobs": (0.0, 2000.0),
    "tmax": (-90.0, 60.0),
    "tmin": (-90.0, 60.0),
    "tmean": (-90.0, 60.0),
    "dayl": (0.0, 86400.0),
    "srad": (0.0, 1500.0),
    "vp": (0.0, 10000.0),
    "swe": (0.0, 50000.0),
    "swe_ua": (0.0, 50000.0),
    "swe_daymet": (0.0, 50000.0),
}


def implausible(name: str, values: np.ndarray, units: str) -> tuple[np.ndarray, str] | None:
    """Where `values` of `name` (in `units`) lie outside `PLAUSIBLE_RANGE`, NaN aside.

    **Returns:** `None` when every value is plausible (or the variable has no known range or
    units), else the positions of the implausible values (as `np.argwhere` gives them) and a
    sentence for the error message: the count, the range and the first offending value.
    """
    bounds = PLAUSIBLE_RANGE.get(name)
    if bounds is None:
        return None
    canonical = CANONICAL_UNITS[name]
    try:
        converted = convert(np.asarray(values, dtype=np.float64), units, canonical, variable=name)
    except DataError:
        return None  # a unit dgeo cannot convert is reported where the units are checked
    lower, upper = bounds
    with np.errstate(invalid="ignore"):
        bad = np.argwhere((converted < lower) | (converted > upper))
    if not bad.size:
        return None
    first = float(np.asarray(values)[tuple(bad[0])])
    return bad, (
        f"variable {name!r} has {len(bad)} value(s) outside the physically possible range "
        f"{lower:g} .. {upper:g} {canonical}, the first {first:g} {units} (a missing-value "
        "code such as -999, or wrong units? missing values must be NaN)"
    )
