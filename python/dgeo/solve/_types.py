"""Type checks at the public boundary, with one message format for every entry point.

A wrong type is a `TypeError` of the form "<argument> must be <what to pass>, got <what was
given>", raised before anything is traced or computed. A string where an object is expected
is named as such ("got the string 'tsit5'"), since that is the usual mistake: names such as
'tsit5' belong to YAML run configurations, the Python API takes objects.
"""

from __future__ import annotations

import datetime
import math
import numbers
import os
from collections.abc import Iterable, Mapping

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from ..data import DataError

#: What to pass as a solver or a sensitivity, for messages.
SOLVER_HINT = "a dgeo solver object such as dgeo.Discrete() or dgeo.Continuous(diffrax.Tsit5())"
SENSITIVITY_HINT = (
    "a dgeo sensitivity object such as dgeo.Backprop(), dgeo.Checkpoint(), dgeo.Adjoint() "
    "or dgeo.Forward()"
)
#: Added when a string names what should be an object.
CONFIG_NAMES = (
    "names such as {value!r} are for YAML run configurations, the Python API takes objects"
)


class DataTypeError(DataError, TypeError):
    """Input data of the wrong type: a `TypeError`, and a `DataError` so that code handling
    bad data (the command line, `except DataError`) handles it too."""


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(value) -> str:
    """What `value` is, for the "got ..." part of a message: "the string 'tsit5'",
    "the tuple ('1980-10-01', '1996-09-30')", "None", "an object array [...]"."""
    if value is None:
        return "None"
    if isinstance(value, str | bytes):
        return f"the {'string' if isinstance(value, str) else 'bytes'} {_short(repr(value))}"
    if isinstance(value, bool | np.bool_):
        return f"the bool {bool(value)!r}"
    if isinstance(value, jax.core.Tracer):
        return f"a traced array of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, np.ndarray | jax.Array):
        if value.dtype == object:
            return f"an object array {_short(repr(value.tolist()))}"
        if value.ndim == 0:
            return f"a 0-d {value.dtype} array {_short(repr(value.item()))}"
        return f"a {value.dtype} array of shape {value.shape}"
    if isinstance(value, tuple | list | dict | set | int | float | complex | np.generic):
        return f"the {type(value).__name__} {_short(repr(value))}"
    if isinstance(value, type):
        return f"the class {_qualified(value)}"
    return f"an object of type {_qualified(type(value))}"


def _qualified(kind: type) -> str:
    """'diffrax.Tsit5', 'dgeo.Backprop', 'dict': the top-level package and the class name."""
    module = kind.__module__.split(".")[0]
    return (
        kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"
    )


def type_error(name: str, expected: str, value, hint: str | None = None, error=TypeError):
    """The exception (not raised) for `name` given `value` where `expected` was wanted."""
    message = f"{name} must be {expected}, got {describe(value)}"
    if hint:
        message += f"; {hint}"
    return error(message)


def check_instance(
    value, types, name: str, expected: str, hint: str | None = None, error=TypeError
):
    """`value` if it is an instance of `types`, else `error` (TypeError) naming `name`:
    "<name> must be <expected>, got <what value is>; <hint>"."""
    if isinstance(value, types):
        return value
    raise type_error(name, expected, value, hint, error)


def check_solver(value, name: str = "solver"):
    """A dgeo solver object (`Discrete()`, `Continuous(...)`), or a TypeError saying so."""
    from ._solvers import AbstractSolver

    hint = None
    if isinstance(value, str):
        hint = _named(value, _solver_for(value))
    elif isinstance(value, diffrax.AbstractSolver):
        hint = f"wrap a diffrax solver as dgeo.Continuous(diffrax.{type(value).__name__}())"
    elif isinstance(value, type) and issubclass(value, AbstractSolver | diffrax.AbstractSolver):
        hint = "pass an instance, not the class: call it"
    return check_instance(value, AbstractSolver, name, SOLVER_HINT, hint)


def _named(value: str, suggestion: str | None) -> str:
    """The hint for a string where an object is expected."""
    hint = CONFIG_NAMES.format(value=value)
    return f"for {value!r} pass {suggestion} ({hint})" if suggestion else hint


def _solver_for(name: str) -> str | None:
    """The solver object a configuration name stands for: 'tsit5' ->
    'dgeo.Continuous(diffrax.Tsit5())', 'discrete' -> 'dgeo.Discrete()'."""
    if name.lower() == "discrete":
        return "dgeo.Discrete()"
    if name.lower().replace("_", "") == "impliciteuler":
        return "dgeo.ImplicitEuler()"
    found = diffrax_solver_name(name)
    return f"dgeo.Continuous(diffrax.{found}())" if found else None


def diffrax_solver_name(name: str) -> str | None:
    """diffrax's name of the solver class `name` spells in any case ('kvaerno5' ->
    'Kvaerno5', 'implicit_euler' -> 'ImplicitEuler'), or None."""
    wanted = name.lower().replace("_", "")
    for attribute in dir(diffrax):
        kind = getattr(diffrax, attribute)
        if attribute.lower() == wanted and isinstance(kind, type):
            if issubclass(kind, diffrax.AbstractSolver):
                return attribute
    return None


def check_sensitivity(value, name: str = "sensitivity"):
    """A dgeo sensitivity object (`Backprop()`, `Checkpoint()`, ...), or a TypeError."""
    from ._sensitivity import AbstractSensitivity

    hint = None
    if isinstance(value, str):
        known = ("Backprop", "Checkpoint", "Adjoint", "Forward")
        same = [k for k in known if k.lower() == value.lower()]
        hint = _named(value, f"dgeo.{same[0]}()" if same else None)
    elif isinstance(value, type) and issubclass(value, AbstractSensitivity):
        hint = f"pass an instance, not the class: {value.__name__}()"
    return check_instance(value, AbstractSensitivity, name, SENSITIVITY_HINT, hint)


def check_physical_model(value, name: str = "model"):
    """A physical model such as `dgeo.ExpHydro()`, or a TypeError."""
    from ..physics import PhysicalModel

    hint = None
    if isinstance(value, type) and issubclass(value, PhysicalModel):
        hint = f"pass an instance, not the class: {value.__name__}()"
    return check_instance(
        value, PhysicalModel, name, "a physical model such as dgeo.ExpHydro()", hint
    )


def check_dataset(value, name: str, expected: str):
    """An xarray Dataset, or a `DataTypeError` (a TypeError and a DataError) naming `name`;
    a path is told how to load it."""
    import xarray as xr

    hint = None
    if isinstance(value, str | os.PathLike):
        hint = "load the file first, e.g. dgeo.data.open_dataset(path)"
    return check_instance(value, xr.Dataset, name, expected, hint, DataTypeError)


def check_mapping(value, name: str, expected: str, *, optional: bool = False):
    """A mapping (dict), or None when `optional`; else a TypeError."""
    if optional and value is None:
        return value
    return check_instance(value, Mapping, name, expected)


def check_callable(value, name: str, expected: str, *, optional: bool = False):
    if optional and value is None:
        return value
    if callable(value):
        return value
    raise type_error(name, expected, value)


def check_flag(value, name: str) -> bool:
    """True or False (NumPy's bools too); a TypeError for anything else, 0 and 1 included."""
    return bool(check_instance(value, bool | np.bool_, name, "True or False"))


def _is_number(value, integer: bool) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, numbers.Integral if integer else numbers.Real):
        return True
    if isinstance(value, np.ndarray | jax.Array) and value.ndim == 0:  # jnp scalars, tracers
        return is_real_dtype(value.dtype, integer)
    return False


def is_real_dtype(dtype, integer: bool = False) -> bool:
    """Whether `dtype` holds integers, or real numbers when not `integer` (bfloat16 too)."""
    if dtype is None:
        return False
    try:
        if jnp.issubdtype(dtype, jnp.integer):
            return True
        return not integer and jnp.issubdtype(dtype, jnp.floating)
    except TypeError:  # not a dtype
        return False


def check_number(
    value, name: str, *, integer: bool = False, optional: bool = False, rule: str = ""
):
    """`value` if it is a real number (an integer when `integer`), or None when `optional`.

    Strings ("64"), bools and None are TypeErrors naming `name`; `rule` (e.g. "at least 1")
    is added to what the message asks for. Values are checked elsewhere."""
    if optional and value is None:
        return value
    if _is_number(value, integer):
        return value
    what = "an integer" if integer else "a number"
    if rule:
        what += f" ({rule})"
    if optional:
        what += " or None"
    hint = None
    if isinstance(value, str):
        hint = f"write it without quotes: {name.rsplit('.', 1)[-1]}={value}"
    elif integer and isinstance(value, float) and math.isfinite(value) and value.is_integer():
        hint = f"write {int(value)}, not {value!r}"
    raise type_error(name, what, value, hint)


def is_concrete(value) -> bool:
    """Whether `value` has a value now (not a tracer inside jit/vmap)."""
    return not isinstance(value, jax.core.Tracer)


def check_names(
    value, name: str, expected: str, *, optional: bool = False
) -> tuple[str, ...] | None:
    """A tuple, list or other iterable of strings, as a tuple; a single string is a TypeError
    (it would be read letter by letter). None stays None when `optional`."""
    if optional and value is None:
        return value
    if isinstance(value, str):
        raise type_error(name, expected, value, f"write ({value!r},) for one name")
    if not isinstance(value, Iterable) or isinstance(value, bytes | Mapping):
        raise type_error(name, expected, value)
    names = tuple(value)
    for item in names:
        if not isinstance(item, str):
            raise type_error(name, expected, value, f"{describe(item)} is not a name")
    return names


#: Types a date may have: a string pandas reads ('1980-10-01'), a date or datetime, NumPy's
#: datetime64 (pandas' Timestamp is a datetime). Numbers are refused: pandas reads 1980 as
#: nanoseconds after 1970.
_DATE_TYPES = str | datetime.date | np.datetime64


def check_period(value, name: str) -> tuple:
    """A (start, end) pair of dates with end after start, as a tuple of the values given.

    Wrong types (a single date, a number, three dates) are TypeErrors; a date pandas cannot
    read, or an end not after the start, is a ValueError. Both name `name`."""
    expected = "a (start, end) pair of dates such as ('1980-10-01', '1996-09-30')"
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise type_error(name, expected, value)
    for date in value:
        if not isinstance(date, _DATE_TYPES):
            raise type_error(name, expected, value, f"{describe(date)} is not a date")
    try:
        start, end = (pd.Timestamp(date) for date in value)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{name} has a date pandas cannot read: {value!r} ({err})") from None
    if pd.isna(start) or pd.isna(end):
        raise ValueError(f"{name} has a missing date (NaT): {value!r}")
    if end <= start:
        raise ValueError(f"{name} must end after it starts, got {value!r}")
    return tuple(value)


def check_options_types(options, integers=(), numbers_=(), optional=()) -> None:
    """Type checks of an options dataclass's number fields: each message names
    `<Class>.<field>`. `optional` fields may also be None. Valid values are stored as Python
    `int` and `float` (a NumPy scalar would not survive a checkpoint's JSON record)."""
    cls = type(options).__name__
    for field in integers:
        value = getattr(options, field)
        check_number(value, f"{cls}.{field}", integer=True, optional=field in optional)
        if value is not None:  # NumPy scalars become Python numbers (records are JSON)
            object.__setattr__(options, field, int(value))
    for field in numbers_:
        value = getattr(options, field)
        check_number(value, f"{cls}.{field}", optional=field in optional)
        if value is not None:
            object.__setattr__(options, field, float(value))


def check_array(value, name: str) -> None:
    """An array of real numbers (NumPy, JAX or a tracer) or a real number, for the array-level
    `integrate`; a TypeError naming `name` for strings, None, bools and object arrays."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
        return
    if is_real_dtype(getattr(value, "dtype", None), integer=False):
        return
    raise type_error(
        name, "a JAX or NumPy array of numbers (dgeo.simulate takes scalars and DataArrays)", value
    )
