"""The data-source extension point: what a dataset must provide to be loaded by dgeo.

A new dataset is one subclass of `DataSource` with a short `name`, its `default_attributes`
and two methods, `basin_ids` and `load`; no dgeo module changes. Configurations name it by
registry name (`DATA_SOURCES`) or by import path (`"package.module:ClassName"`), see
`open_source`.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import xarray as xr

from ._dataset import check_basin_list, validate
from ._errors import DataError
from ._units import CANONICAL_UNITS


class DataSource(abc.ABC):
    """A dataset dgeo can load: basin ids in, dgeo's canonical `(basin, time)` Dataset out.

    A concrete source sets two class variables and implements two methods:

    - `name`: the short name configurations use (`"camels_us"`, `"caravan"`, ...).
    - `default_attributes`: the documented static attributes regional models use for this
      source by default (`RegionalOptions.attributes`); each is a `(basin,)` variable `load`
      returns.
    - `basin_ids()`: every basin the source holds, as strings.
    - `load(basins)`: those basins (all when `None`; one id may be given as a string), in that
      order, as one Dataset with dims `(basin, time)`: forcings under dgeo's names and units
      (`prcp` mm/day, `tmean` degC, `dayl` s, `srad` W/m2, `vp` Pa, `pet` mm/day where the
      source has them: `dgeo.data.CANONICAL_UNITS`), `qobs` in mm/day with NaN where
      unobserved, static attributes as `(basin,)` variables and a `lat` coordinate (degrees
      north). End it with `return self.validated(ds, basins)`, which checks all this with
      `validate`. Raise `DataError` naming the file, basin or variable at fault.

    Optional: `files(basins)` (the files such a load reads, to fingerprint a run's data;
    default none) and `describe()` (one line for logs and run records).

    Sources are small immutable values (frozen dataclasses) that check their arguments when
    built; reading happens in `basin_ids`, `load` and `files`.
    """

    name: ClassVar[str]
    default_attributes: ClassVar[tuple[str, ...]]

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # ABCMeta sets __abstractmethods__ only after this hook, so look at the methods.
        abstract = [
            n for n in ("basin_ids", "load") if getattr(getattr(cls, n), "__isabstractmethod__", 0)
        ]
        if abstract:
            return  # an intermediate abstract base: checked in its concrete subclasses
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name.strip():
            raise TypeError(
                f"data source {cls.__qualname__} must set the class variable `name` to a short "
                f"non-empty string (the name configurations use), not {name!r}"
            )
        defaults = getattr(cls, "default_attributes", None)
        if not isinstance(defaults, tuple) or not all(isinstance(a, str) for a in defaults):
            raise TypeError(
                f"data source {cls.__qualname__} must set the class variable "
                f"`default_attributes` to a tuple of attribute names, not {defaults!r}"
            )

    @abc.abstractmethod
    def basin_ids(self) -> list[str]:
        """Every basin id this source holds (strings, in the source's order)."""

    @abc.abstractmethod
    def load(self, basins: Sequence[str] | None = None) -> xr.Dataset:
        """`basins` (all when `None`) as dgeo's canonical `(basin, time)` Dataset."""

    def files(self, basins: Sequence[str] | None = None) -> list[Path]:
        """The files a `load` of `basins` reads (to fingerprint a run's data); default none."""
        return []

    def describe(self) -> str:
        """One line saying what and where the data are."""
        return f"{self.name} data source {self!r}"

    def validated(
        self, ds: xr.Dataset, basins: Sequence[str] | None = None, *, scan: bool = True
    ) -> xr.Dataset:
        """`ds` unchanged once it is checked to follow the contract of `load`.

        Checks with `validate` the `(basin, time)` axes, `qobs` and the units of every
        variable named in `CANONICAL_UNITS` (and their plausible ranges), then that `lat` is
        a `(basin,)` coordinate or variable and, when `basins` is given, that the basins are
        those, in that order. Raises `DataError` naming this source and the fault.
        """
        series = [
            str(v)
            for v in ds.data_vars
            if v in CANONICAL_UNITS and set(ds[v].dims) == {"basin", "time"}
        ]
        try:
            validate(ds, require=["qobs", *(v for v in series if v != "qobs")], scan=scan)
            if "lat" not in ds.variables or ds["lat"].dims != ("basin",):
                raise DataError("no `lat` (degrees north) over (basin,)")
        except DataError as err:
            raise DataError(f"{self.describe()}: {err}") from None
        if basins is not None:
            wanted = check_basin_list([basins] if isinstance(basins, str) else list(basins))
            found = [str(b) for b in ds["basin"].to_numpy()]
            if found != wanted:
                raise DataError(
                    f"{self.describe()}: load returned basins {', '.join(found[:5])}"
                    f"{' ...' if len(found) > 5 else ''}, not the {len(wanted)} asked for "
                    f"({', '.join(wanted[:5])}{' ...' if len(wanted) > 5 else ''})"
                )
        return ds


def basin_list(basins: Sequence[object] | str | None) -> list[str] | None:
    """`basins` as a list of strings (a single string is one basin); `None` stays `None`."""
    if basins is None:
        return None
    return check_basin_list([basins] if isinstance(basins, str) else [str(b) for b in basins])
