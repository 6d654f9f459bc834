"""PET computed from a dataset's own forcings: `dgeo.data.add_pet` and `data: {pet: hamon}`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from dgeo.config import ConfigError, parse_config
from dgeo.data import DataError, add_pet
from dgeo.physics import hamon_pet
from dgeo.runs import load_data


def _forcing(dayl_units: str = "s") -> xr.Dataset:
    time = pd.date_range("2000-01-01", periods=4, freq="D")
    tmean = np.array([[-5.0, 0.0, 10.0, 25.0], [5.0, np.nan, 15.0, 20.0]])
    seconds = np.full((2, 4), 43200.0)
    dayl = seconds / {"s": 1.0, "h": 3600.0, "day": 86400.0}[dayl_units]
    return xr.Dataset(
        {
            "tmean": (("basin", "time"), tmean, {"units": "degC"}),
            "dayl": (("basin", "time"), dayl, {"units": dayl_units}),
            "pet": (("basin", "time"), np.full((2, 4), 13.0), {"units": "mm/day"}),
        },
        coords={"basin": ["a", "b"], "time": time},
    )


@pytest.mark.parametrize("units", ["s", "h", "day"])
def test_hamon_pet_replaces_pet_whatever_the_day_length_units(units):
    ds = add_pet(_forcing(units), "hamon")
    expected = np.asarray(hamon_pet(_forcing()["tmean"].values, 0.5))
    np.testing.assert_allclose(ds["pet"].values, expected, rtol=1e-6)
    assert ds["pet"].attrs["units"] == "mm/day" and np.isnan(ds["pet"].values[1, 1])
    # 12 h of daylight at 25 degC: about 3.5 mm/day (Hamon), not ERA5-Land's 13.
    assert 3.0 < ds["pet"].values[0, 3] < 4.0


def test_hamon_pet_is_created_where_the_data_have_none():
    ds = add_pet(_forcing().drop_vars("pet"))
    assert ds["pet"].dims == ("basin", "time")


@pytest.mark.parametrize(
    ("drop", "method", "needles"),
    [
        ("dayl", "hamon", ["forcing.nc", "hamon PET needs tmean and dayl", "no dayl"]),
        ("tmean", "hamon", ["forcing.nc", "no tmean"]),
        (None, "priestley", ["forcing.nc", "unknown PET method 'priestley'", "hamon"]),
    ],
)
def test_pet_errors_name_the_file_and_the_variable(drop, method, needles):
    ds = _forcing() if drop is None else _forcing().drop_vars(drop)
    with pytest.raises(DataError) as err:
        add_pet(ds, method, source="forcing.nc")
    for needle in needles:
        assert needle in str(err.value)


def test_config_pet_option_is_checked_when_read():
    with pytest.raises(ConfigError, match="data.pet is 'thornthwaite'.*hamon"):
        parse_config({"data": {"source": "synthetic", "pet": "thornthwaite"}})


def test_config_pet_hamon_replaces_the_caravan_pet(caravan_nc):
    basins = ["01022500", "01031500"]
    attributes = str(caravan_nc.parent / "camels_us" / "camels_attributes_v2.0")
    data = {"source": "netcdf", "path": str(caravan_nc), "attributes": attributes}
    plain = load_data(parse_config({"data": data, "basins": basins}))
    hamon = load_data(parse_config({"data": {**data, "pet": "hamon"}, "basins": basins}))
    # ERA5-Land potential evaporation is biased high (about 13 mm/day on average); Hamon's
    # over the same days is 1-3 mm/day in New England.
    assert float(plain["pet"].mean()) > 5.0
    assert 1.0 < float(hamon["pet"].mean()) < 3.0
    expected = hamon_pet(plain["tmean"].values, plain["dayl"].values / 86400.0)
    np.testing.assert_allclose(hamon["pet"].values, np.asarray(expected), rtol=1e-5)
    xr.testing.assert_identical(hamon.drop_vars("pet"), plain.drop_vars("pet"))
