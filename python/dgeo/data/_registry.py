"""From what a user or a configuration names to a `DataSource`: the registry and `open_source`.

Also `load`, the older one-call opener of a CAMELS-US folder or a netCDF file.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Mapping
from pathlib import Path

import xarray as xr

from ._builtin_sources import CamelsUS, NetCDF, Synthetic
from ._camels import load_camels_us
from ._caravan import load_caravan
from ._caravan_native import Caravan
from ._dataset import open_dataset
from ._errors import DataError
from ._source import DataSource

#: The built-in data sources by the short name configurations use (`DataSource.name`). A new
#: source needs no entry: configurations can name it by import path (see `open_source`).
DATA_SOURCES: dict[str, type[DataSource]] = {
    cls.name: cls for cls in (CamelsUS, NetCDF, Caravan, Synthetic)
}

_NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf")


def _allowed() -> str:
    return f"{', '.join(DATA_SOURCES)}, or an import path 'package.module:ClassName'"


def open_source(spec: str | os.PathLike | Mapping[str, object] | DataSource) -> DataSource:
    """The `DataSource` that `spec` names.

    - a `DataSource` is returned as it is;
    - the string `"synthetic"`: `Synthetic()`;
    - a path, recognised by what it holds: a folder with `timeseries/` and `attributes/` is
      `Caravan` (its one subset; csv if there, else netCDF), a folder with
      `basin_mean_forcing/` is `CamelsUS`, a `.nc` file is `NetCDF`;
    - a mapping `{"source": NAME, **kwargs}`: the source class `NAME` built with `kwargs`,
      where `NAME` is a key of `DATA_SOURCES` or an import path `"package.module:ClassName"`
      of a `DataSource` subclass (so a new source is one class in the user's own module).
      Paths among `kwargs` are used as given: make them absolute first.

    Raises `DataError` naming the spec and what is allowed when the spec names nothing dgeo
    can open, and `TypeError` when an import path is not a `DataSource` subclass or `kwargs`
    do not fit the class.
    """
    if isinstance(spec, DataSource):
        return spec
    if isinstance(spec, Mapping):
        return _from_mapping(spec)
    if isinstance(spec, str | os.PathLike):
        return _detect(spec)
    raise TypeError(
        "a data source is a path, 'synthetic', a mapping {'source': NAME, ...} or a DataSource, "
        f"not {type(spec).__name__} {spec!r}"
    )


def _detect(spec: str | os.PathLike) -> DataSource:
    if isinstance(spec, str) and spec == "synthetic":
        return Synthetic()
    path = Path(spec)
    if path.is_dir():
        if (path / "timeseries").is_dir() and (path / "attributes").is_dir():
            subsets = sorted(p.name for p in (path / "attributes").iterdir() if p.is_dir())
            if len(subsets) != 1:
                raise DataError(
                    f"{path} is a Caravan folder with subsets {', '.join(subsets) or '(none)'}: "
                    "name one, e.g. {'source': 'caravan', 'root': ..., 'subset': "
                    f"{(subsets or ['camels'])[0]!r}}}"
                )
            csv = (path / "timeseries" / "csv" / subsets[0]).is_dir()
            return Caravan(path, subset=subsets[0], format="csv" if csv else "netcdf")
        if (path / "basin_mean_forcing").is_dir():
            return CamelsUS(path)
        raise DataError(
            f"{path}: a folder, but neither Caravan (timeseries/ and attributes/) nor CAMELS-US "
            "(basin_mean_forcing/); name its source: {'source': NAME, ...} with NAME one of "
            + _allowed()
        )
    if path.is_file():
        if path.suffix.lower() in _NETCDF_SUFFIXES:
            return NetCDF(path)
        raise DataError(
            f"{path}: not a netCDF file ({', '.join(_NETCDF_SUFFIXES)}); name its source: "
            "{'source': NAME, ...} with NAME one of " + _allowed()
        )
    raise DataError(
        f"data source {str(spec)!r}: no such file or folder (and not 'synthetic'); a data "
        "source is a CAMELS-US or Caravan folder, a netCDF file, 'synthetic' or a mapping "
        "{'source': NAME, ...} with NAME one of " + _allowed()
    )


def source_class(name: str) -> type[DataSource]:
    """The class a registry name or an import path `"package.module:ClassName"` names."""
    if name in DATA_SOURCES:
        return DATA_SOURCES[name]
    module_name, _, attribute = name.partition(":")
    if not module_name or not attribute:
        raise DataError(f"unknown data source {name!r}; allowed: {_allowed()}")
    try:
        found: object = importlib.import_module(module_name)
    except ImportError as err:
        raise DataError(
            f"data source {name!r}: cannot import module {module_name!r} ({err})"
        ) from None
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise DataError(f"data source {name!r}: module {module_name!r} has no {attribute!r}")
        found = getattr(found, part)
    if not (isinstance(found, type) and issubclass(found, DataSource)):
        raise TypeError(
            f"data source {name!r} is {found!r}, not a subclass of dgeo.data.DataSource"
        )
    if inspect.isabstract(found):
        missing = ", ".join(sorted(found.__abstractmethods__))
        raise TypeError(f"data source {name!r} is abstract: it does not implement {missing}")
    return found


def _from_mapping(spec: Mapping[str, object]) -> DataSource:
    kwargs = dict(spec)
    name = kwargs.pop("source", None)
    if not isinstance(name, str) or not name:
        raise DataError(
            f"data source {dict(spec)!r} has no 'source' naming it; allowed: {_allowed()}"
        )
    cls = source_class(name)
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise TypeError(
            f"data source {name!r}: {cls.__name__}{inspect.signature(cls)} does not take "
            f"{', '.join(map(repr, kwargs)) or 'no arguments'}: {err}"
        ) from None


def load(path: str | Path, **kwargs) -> xr.Dataset:
    """Open `path`: a CAMELS-US root folder (`load_camels_us`) or a netCDF file.

    Keyword arguments go to `load_camels_us` (basins, forcing, attributes) for folders. For a
    netCDF file `basins` selects basins, and `attributes=FOLDER` (the CAMELS
    `camels_attributes_v2.0` folder) opens it with `load_caravan`; otherwise `open_dataset`.
    (`open_source(path).load(basins)` is the data-source way, for every kind of source.)
    """
    path = Path(path)
    if path.is_dir():
        return load_camels_us(path, **kwargs)
    if path.is_file():
        basins = kwargs.pop("basins", None)
        attributes = kwargs.pop("attributes", None)
        if kwargs:
            raise DataError(f"{path}: options {', '.join(kwargs)} apply to CAMELS folders only")
        if isinstance(attributes, str | Path):
            return load_caravan(path, attributes, basins=basins)
        if attributes not in (None, False):
            raise DataError(
                f"{path}: for a netCDF file, attributes= must be the CAMELS attributes folder, "
                f"not {attributes!r}"
            )
        return open_dataset(path, basins=basins)
    raise DataError(f"{path}: no such file or folder")
