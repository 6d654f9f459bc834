"""The data sources dgeo ships besides Caravan: CAMELS-US text files, a netCDF file, synthetic."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import xarray as xr

from ._attributes import ATTRIBUTE_TABLES, KRATZERT_ATTRIBUTES
from ._camels import _FORCING_TAGS, _index_files, _normalise_basin_id, load_camels_us
from ._caravan import load_caravan
from ._dataset import check_basin_list, open_dataset, select_basins
from ._daylength import add_day_length
from ._errors import DataError
from ._source import DataSource, basin_list
from ._synthetic import synthetic


@dataclass(frozen=True)
class CamelsUS(DataSource):
    """CAMELS-US in its original text layout (Newman et al. 2015; Addor et al. 2017).

    Loads with `load_camels_us` (Daymet, Maurer or NLDAS forcing, USGS streamflow and the
    seven attribute tables); `default_attributes` are the 27 of Kratzert et al. (2019).

    **Arguments:**

    - `root`: the CAMELS-US folder holding `basin_mean_forcing/`, `usgs_streamflow/` and
      `camels_attributes_v2.0/`.
    - `forcing`: `"daymet"`, `"maurer"` or `"nldas"`.
    """

    root: str | os.PathLike  # held as a Path
    forcing: str = "daymet"

    name: ClassVar[str] = "camels_us"
    default_attributes: ClassVar[tuple[str, ...]] = KRATZERT_ATTRIBUTES

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        if self.forcing not in _FORCING_TAGS:
            raise DataError(
                f"unknown CAMELS-US forcing {self.forcing!r}; allowed: {', '.join(_FORCING_TAGS)}"
            )
        if not (self.root / "basin_mean_forcing").is_dir():
            raise DataError(
                f"{self.root} is not a CAMELS-US root folder (no basin_mean_forcing/ in it)"
            )

    def _suffixes(self) -> tuple[str, str]:
        return f"_lump_{_FORCING_TAGS[self.forcing]}_forcing_leap.txt", "_streamflow_qc.txt"

    def _forcing_files(self) -> dict[str, Path]:
        folder = self.root / "basin_mean_forcing" / self.forcing
        if not folder.is_dir():
            raise DataError(f"{folder} does not exist: no {self.forcing} forcing in {self.root}")
        return _index_files(folder, self._suffixes()[0])

    def _ids(self, basins: Sequence[object] | None) -> list[str] | None:
        if basins is None:
            return None
        basins = [basins] if isinstance(basins, str) else basins
        return check_basin_list([_normalise_basin_id(b) for b in basins])

    def basin_ids(self) -> list[str]:
        return list(self._forcing_files())

    def load(self, basins: Sequence[str] | None = None) -> xr.Dataset:
        ids = self._ids(basins)
        ds = load_camels_us(self.root, basins=ids, forcing=self.forcing)
        return self.validated(ds, ids)

    def files(self, basins: Sequence[str] | None = None) -> list[Path]:
        forcing = self._forcing_files()
        flow = _index_files(self.root / "usgs_streamflow", self._suffixes()[1])
        ids = self._ids(basins) or list(forcing)
        missing = [b for b in ids if b not in forcing or b not in flow]
        if missing:
            raise DataError(
                f"{self.root}: no forcing or streamflow file for basin(s) {', '.join(missing)}"
            )
        tables = self.root / "camels_attributes_v2.0"
        return [
            *(forcing[b] for b in ids),
            *(flow[b] for b in ids),
            *(tables / f"camels_{t}.txt" for t in ATTRIBUTE_TABLES),
        ]

    def describe(self) -> str:
        return f"CAMELS-US text layout at {self.root} ({self.forcing} forcing)"


@dataclass(frozen=True)
class NetCDF(DataSource):
    """One netCDF file in dgeo's `(basin, time)` schema, optionally with CAMELS attributes.

    Without `attributes` the file must carry a `lat` coordinate (or a `gauge_lat` variable),
    and `dayl` is added from it when the file has none. With `attributes` (the CAMELS
    `camels_attributes_v2.0` folder) the file is read with `load_caravan`: the seven tables
    joined, coordinates set from them and `dayl` added. `default_attributes` are the 27 of
    Kratzert et al. (2019), which the CAMELS attribute tables hold.

    **Arguments:**

    - `path`: the netCDF file (e.g. `caravan_camels_us.nc`).
    - `attributes`: the CAMELS attributes folder, or `None`.
    - `lazy`: leave the values on disk, read when asked for (for more basins than fit in
      memory; train with `RegionalOptions(stream=True)`). Only the axes, names and units are
      checked on loading; values are checked as they are read. The file should then hold
      `dayl` (otherwise it is computed for every basin and day in memory) and no
      `attributes` folder is joined (put the attributes in the file).
    """

    path: str | os.PathLike  # held as a Path
    attributes: str | os.PathLike | None = None  # held as a Path
    lazy: bool = False

    name: ClassVar[str] = "netcdf"
    default_attributes: ClassVar[tuple[str, ...]] = KRATZERT_ATTRIBUTES

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))
        if not self.path.is_file():
            raise DataError(f"{self.path}: no such netCDF file")
        if not isinstance(self.lazy, bool):
            raise DataError(f"NetCDF lazy must be true or false, got {self.lazy!r}")
        if self.attributes is not None:
            if self.lazy:
                raise DataError(
                    "NetCDF(lazy=True) reads attributes from the file itself; joining a CAMELS "
                    "attributes folder needs lazy=False"
                )
            object.__setattr__(self, "attributes", Path(self.attributes))
            if not self.attributes.is_dir():
                raise DataError(f"attributes folder {self.attributes} does not exist")

    def basin_ids(self) -> list[str]:
        try:
            with xr.open_dataset(self.path) as opened:
                if "basin" not in opened.dims:
                    raise DataError(f"{self.path}: no 'basin' dimension")
                return [str(b) for b in opened["basin"].to_numpy()]
        except (OSError, ValueError) as err:
            if isinstance(err, DataError):
                raise
            raise DataError(f"{self.path}: cannot open as netCDF: {err}") from None

    def load(self, basins: Sequence[str] | None = None) -> xr.Dataset:
        ids = basin_list(basins)
        if self.attributes is not None:
            return self.validated(load_caravan(self.path, self.attributes, basins=ids), ids)
        ds = open_dataset(self.path, lazy=self.lazy, basins=ids)
        try:
            if "lat" not in ds.variables and "gauge_lat" in ds.variables:
                lat = ds["gauge_lat"].to_numpy().astype(np.float64)
                ds = ds.assign_coords(lat=("basin", lat, {"units": "degrees_north"}))
            if "lat" not in ds.variables:
                raise DataError(
                    f"{self.path}: no `lat` coordinate (nor `gauge_lat`) to compute day length "
                    "from; give attributes= the CAMELS attributes folder to join coordinates"
                )
            return self.validated(add_day_length(ds), ids, scan=not self.lazy)
        except BaseException:
            ds.close()  # a lazily opened file stays open only for a dataset returned
            raise

    def files(self, basins: Sequence[str] | None = None) -> list[Path]:
        if self.attributes is None:
            return [self.path]
        return [self.path, *(self.attributes / f"camels_{t}.txt" for t in ATTRIBUTE_TABLES)]

    def describe(self) -> str:
        also = f" with CAMELS attributes from {self.attributes}" if self.attributes else ""
        return f"netCDF file {self.path}{also}"


@dataclass(frozen=True)
class Synthetic(DataSource):
    """Synthetic twin catchments from `dgeo.data.synthetic` (nothing read from disk).

    The fields are `synthetic`'s arguments with its defaults; basin ids are `syn000`,
    `syn001`, ... `default_attributes` are the generator's climate and topography attributes
    (not `q_mean` or `runoff_ratio`, which are computed from the discharge to be predicted).
    """

    n_basins: int = 8
    start: str = "1980-10-01"
    end: str = "2010-09-30"
    seed: int = 0
    noise: float = 0.1
    quickflow: float = 0.3

    name: ClassVar[str] = "synthetic"
    default_attributes: ClassVar[tuple[str, ...]] = (
        "p_mean", "pet_mean", "aridity", "frac_snow", "elev_mean", "area_gages2",
    )  # fmt: skip

    def __post_init__(self) -> None:
        n = self.n_basins
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"n_basins must be an integer >= 1, got {n!r}")

    def basin_ids(self) -> list[str]:
        return [f"syn{i:03d}" for i in range(self.n_basins)]

    def load(self, basins: Sequence[str] | None = None) -> xr.Dataset:
        ids = basin_list(basins)
        ds = synthetic(**asdict(self))
        if ids is not None:
            ds = select_basins(ds, ids, source=self.describe())
        return self.validated(ds, ids)

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in asdict(self).items())
        return f"synthetic twin catchments ({args})"
