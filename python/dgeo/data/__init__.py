"""Data layer: CAMELS-US, Caravan and netCDF into xarray Datasets with dims (basin, time).

Every dataset is a `DataSource` (`open_source` turns a path or a configuration mapping into one).
"""

from ._arrays import from_time_major, to_time_major
from ._attributes import ATTRIBUTE_UNITS, KRATZERT_ATTRIBUTES, attribute_matrix, read_attributes
from ._builtin_sources import CamelsUS, NetCDF, Synthetic
from ._camels import FLOW_FLAGS, load_camels_us
from ._caravan import load_caravan
from ._caravan_native import CARAVAN_ATTRIBUTES, CARAVAN_COLUMNS, Caravan
from ._dataset import ValidationReport, check_axes, open_dataset, validate
from ._daylength import add_day_length, day_length
from ._download import CAMELS_US_ARCHIVES, Archive, download_camels_us
from ._errors import DataError
from ._periods import kfold_basins, select_period, water_year, water_years
from ._pet import PET_METHODS, add_pet
from ._registry import DATA_SOURCES, load, open_source
from ._source import DataSource
from ._synthetic import synthetic
from ._units import CANONICAL_UNITS, PLAUSIBLE_RANGE, convert, normalise_units

__all__ = [
    "ATTRIBUTE_UNITS",
    "Archive",
    "PET_METHODS",
    "add_pet",
    "CARAVAN_ATTRIBUTES",
    "CARAVAN_COLUMNS",
    "CamelsUS",
    "Caravan",
    "DATA_SOURCES",
    "DataSource",
    "NetCDF",
    "Synthetic",
    "open_source",
    "KRATZERT_ATTRIBUTES",
    "CAMELS_US_ARCHIVES",
    "CANONICAL_UNITS",
    "PLAUSIBLE_RANGE",
    "DataError",
    "FLOW_FLAGS",
    "ValidationReport",
    "add_day_length",
    "attribute_matrix",
    "check_axes",
    "convert",
    "day_length",
    "download_camels_us",
    "kfold_basins",
    "load",
    "load_camels_us",
    "load_caravan",
    "normalise_units",
    "open_dataset",
    "read_attributes",
    "select_period",
    "synthetic",
    "validate",
    "water_year",
    "water_years",
    "from_time_major",
    "to_time_major",
]
