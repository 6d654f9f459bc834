"""The data a configuration names: opened through `dgeo.data.open_source`, narrowed to its
basins (and the paper's basin filter), and fingerprinted for the run's record."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import xarray as xr

from ..config import RunConfig
from ..data import DataError


def _pet_method(data: str | dict) -> str | None:
    """The `pet:` of a `data:` mapping (a method of `dgeo.data.PET_METHODS`), else None."""
    if not isinstance(data, dict) or data.get("pet") is None:
        return None
    from ..config import ConfigError
    from ..data import PET_METHODS

    method = data["pet"]
    if method not in PET_METHODS:
        raise ConfigError(
            f"data.pet is {method!r}; known PET methods: {', '.join(PET_METHODS)} (or leave "
            "it out to use the data's own pet)"
        )
    return method


def open_data(data: str | dict):
    """The `dgeo.data.DataSource` a configuration's `data` names (a path, "synthetic" or a
    mapping {source: ..., ...options}; its `pet:` key is `load_source`'s, not the source's)."""
    from ..config import ConfigError
    from ..data import open_source

    _pet_method(data)
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "pet"}
    try:
        return open_source(data)
    except TypeError as err:  # options the source does not take
        raise ConfigError(f"data: {err}") from None


def load_source(data: str | dict, basins: list[str] | None = None) -> xr.Dataset:
    """`basins` of the data a configuration's `data` names; with `pet: hamon` in a `data:`
    mapping, `pet` is (re)computed by `dgeo.data.add_pet` (e.g. Hamon PET in place of the
    ERA5-Land potential evaporation of Caravan, which is biased high)."""
    from ..data import add_pet

    source = open_data(data)
    ds = source.load(basins)
    method = _pet_method(data)
    return ds if method is None else add_pet(ds, method, source=source.describe())


def load_data(config: RunConfig) -> xr.Dataset:
    """The dataset a configuration names, on its basins (all when it names none), narrowed to
    the humid basins of Jiang et al. (2020) with `experiment.basin_filter: paper`."""
    ds = load_source(config.data, config.basins)
    if config.experiment.basin_filter == "paper":
        from ..evaluate import paper_basins

        keep = np.asarray(paper_basins(ds).values, bool)
        if not keep.any():
            raise DataError(
                "experiment.basin_filter paper keeps none of the "
                f"{ds.sizes['basin']} basins (aridity <= 1.2 or low_prec_freq <= 280)"
            )
        ds = ds.isel(basin=np.flatnonzero(keep))
    return ds


def _listing(files: list[Path], data) -> list[tuple[str, int]]:
    """(name, size) of `files`, each named relative to the data's folder: the root of a
    CAMELS-US folder, else the folder the files share."""
    if not files:
        return []
    paths = [Path(f).resolve() for f in files]
    if isinstance(data, str) and Path(data).is_dir():
        root = Path(data).resolve()
    else:
        root = Path(os.path.commonpath([p.parent for p in paths]))
    return sorted((p.relative_to(root).as_posix(), p.stat().st_size) for p in paths)


def data_fingerprint(data: str | dict, basins: list[str]) -> str:
    """A hash of the names and sizes of the data files a run on `basins` reads (the data
    source's `files`: e.g. a netCDF file, or these basins' forcing and streamflow files and
    the attribute tables of a CAMELS-US folder; for `synthetic`: the generator's source code).
    Cheap to compute; it tells that data were replaced or changed in size, not every edit."""
    if data == "synthetic":
        from ..data import _synthetic

        listing = (
            "dgeo.data.synthetic\n"
            + hashlib.sha256(Path(_synthetic.__file__).read_bytes()).hexdigest()
        )
    else:
        files = open_data(data).files(basins)
        listing = "\n".join(f"{name}\t{size}" for name, size in _listing(files, data))
    return "sha256:" + hashlib.sha256(listing.encode()).hexdigest()


def regional_options(config: RunConfig, attributes=None) -> dict:
    """Model kind -> `RegionalOptions` of a regional configuration; the static attributes
    are the configuration's, else `attributes`, else the data source's `default_attributes`."""
    if attributes is None and config.attributes is None:
        source = open_data(config.data)
        attributes = type(source).default_attributes
        if not attributes:
            from ..config import ConfigError

            raise ConfigError(
                f"regional.attributes: the data source ({source.describe()}) names no default "
                "static attributes; list those the regional models should use"
            )
    return config.regional_options(attributes)
