"""Checks of configuration values: each failure is a `ConfigError` naming the key at fault."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pandas as pd


class ConfigError(ValueError):
    """A configuration key or value that dgeo cannot use; the message names it."""


def check_keys(mapping: Any, allowed, where: str) -> dict:
    """`mapping`, checked to be a mapping whose keys are all in `allowed`."""
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(mapping).__name__}")
    unknown = sorted(set(mapping) - set(allowed), key=str)
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(map(str, unknown))} in {where}; allowed: {', '.join(allowed)}"
        )
    return mapping


def choice(value, allowed, where: str):
    """`value`, checked to be one of `allowed`."""
    if value not in allowed:
        shown = ", ".join("null" if a is None else str(a) for a in allowed)
        raise ConfigError(f"{where} is {value!r}; allowed values: {shown}")
    return value


def _kind(field: dataclasses.Field) -> str:
    """'integer' or 'number': what a numeric option field holds (from its default, or from
    its annotation when the default is None)."""
    default = field.default
    if default is None:
        return "integer" if "int" in str(field.type) else "number"
    return "integer" if isinstance(default, int) and not isinstance(default, bool) else "number"


def number(value, field: dataclasses.Field, where: str, zero_ok) -> int | float | None:
    """An option value checked against its field: finite, an integer where the default is
    one, positive (0 where the name is in `zero_ok`); None where the default is None; true or
    false where the default is a bool (e.g. `regional.stream`)."""
    if value is None and field.default is None:
        return None
    if isinstance(field.default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    kind = _kind(field)
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and kind == "integer":
        ok = float(value).is_integer()
        value = int(value) if ok else value
    if not ok:
        what = "an integer" if kind == "integer" else "a finite number"
        what += " or null" if field.default is None else ""
        raise ConfigError(f"{where} must be {what}, got {value!r}")
    if value < 0 or (value == 0 and field.name not in zero_ok):
        raise ConfigError(f"{where} must be positive, got {value!r}")
    return float(value) if kind == "number" else value


def numbers(cls, mapping, where: str, *, skip=(), zero_ok=()) -> dict:
    """The numeric options of dataclass `cls` that `mapping` sets, each checked (`number`)."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip}
    check_keys(mapping, list(fields), where)
    return {
        name: number(value, fields[name], f"{where}.{name}", zero_ok)
        for name, value in mapping.items()
    }


def build(cls, values: dict, where: str):
    """`cls(**values)`, its own rules (ranges, the order of two values) as a `ConfigError`."""
    try:
        return cls(**values)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{where}: {err}") from None


def period(value, where: str) -> tuple[str, str]:
    """A [start, end] pair of dates as ISO strings, end after start."""
    if not (isinstance(value, list | tuple) and len(value) == 2):
        raise ConfigError(f"{where} must be [start, end] dates, got {value!r}")
    try:
        start, end = (pd.Timestamp(str(v)) for v in value)
    except ValueError as err:
        raise ConfigError(f"{where} has a date dgeo cannot read: {value!r} ({err})") from None
    if end <= start:
        raise ConfigError(f"{where} ends before it starts: {value!r}")
    return str(start.date()), str(end.date())


def names(value, where: str, what: str) -> tuple[str, ...]:
    """A non-empty list of strings (e.g. attribute or output names) as a tuple."""
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where} must be a non-empty list of {what}, got {value!r}")
    for i, name in enumerate(value):
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}[{i}] is {name!r}, not a name")
    if len(set(value)) < len(value):
        raise ConfigError(f"{where} names {what} more than once: {value!r}")
    return tuple(value)
