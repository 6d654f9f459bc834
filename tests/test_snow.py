"""Snow inference: correlation of simulated snow storage S0 with observed SWE, and its figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.figure import Figure

from dgeo import plot
from dgeo.data import DataError
from dgeo.evaluate import perennial_snow, snow_correlation, snow_summary

BASINS = ["linear", "offset", "negative", "noise", "snowfree", "partial"]
NT = 3 * 365


def seasonal_swe(rng: np.random.Generator, nt: int = NT) -> np.ndarray:
    """A winter snowpack each year: a clipped sine with a random peak, plus a little noise."""
    t = np.arange(nt)
    wave = np.clip(np.cos(2 * np.pi * t / 365.0), 0.0, None) ** 2
    return rng.uniform(50.0, 300.0) * wave + rng.uniform(0.0, 2.0, nt) * (wave > 0)


@pytest.fixture(scope="module")
def inputs() -> tuple[xr.DataArray, xr.DataArray]:
    """(basin, time) S0 and SWE with known per-basin correlations (see BASINS)."""
    rng = np.random.default_rng(42)
    swe = np.stack([seasonal_swe(rng) for _ in BASINS])
    swe[BASINS.index("snowfree")] = 0.0
    s0 = np.empty_like(swe)
    s0[0] = 0.5 * swe[0]
    s0[1] = 2.0 * swe[1] + 10.0
    s0[2] = -swe[2]
    s0[3] = rng.normal(100.0, 30.0, NT)  # independent of SWE
    s0[4] = rng.uniform(0.0, 5.0, NT)
    s0[5] = 0.8 * swe[5] + rng.normal(0.0, 20.0, NT)
    coords = {"basin": BASINS, "time": pd.date_range("2000-10-01", periods=NT, freq="D")}
    mm = {"units": "mm"}
    return (
        xr.DataArray(s0, dims=("basin", "time"), coords=coords, attrs=mm),
        xr.DataArray(swe, dims=("basin", "time"), coords=coords, attrs=mm),
    )


@pytest.fixture(scope="module")
def snow(inputs) -> xr.Dataset:
    return snow_correlation(*inputs)


def _r(x, y) -> float:
    return float(np.corrcoef(x, y)[0, 1])


def test_per_basin_correlations(inputs, snow):
    s0, swe = inputs
    r = snow["per_basin_correlation"]
    assert abs(float(r.sel(basin="linear")) - 1.0) < 1e-12
    assert abs(float(r.sel(basin="offset")) - 1.0) < 1e-12
    assert abs(float(r.sel(basin="negative")) + 1.0) < 1e-12
    assert abs(float(r.sel(basin="noise"))) < 0.1
    for b in ("noise", "partial"):
        assert float(r.sel(basin=b)) == pytest.approx(_r(s0.sel(basin=b), swe.sel(basin=b)))
    np.testing.assert_allclose(snow["mean_s0"], s0.mean("time"))
    np.testing.assert_allclose(snow["mean_swe"], swe.mean("time"))
    assert (snow["n_days"] == NT).all()


def test_snow_free_basin(snow):
    assert np.isnan(float(snow["per_basin_correlation"].sel(basin="snowfree")))
    assert snow["snowy"].dtype == bool
    assert snow["snowy"].values.tolist() == [b != "snowfree" for b in BASINS]
    finite = snow["per_basin_correlation"].values
    finite = finite[np.isfinite(finite)]
    assert snow.attrs["n_snowy_basins"] == len(BASINS) - 1 == finite.size
    assert snow.attrs["n_basins"] == len(BASINS)
    assert snow.attrs["per_basin_correlation_median"] == pytest.approx(np.median(finite))
    assert snow.attrs["per_basin_correlation_mean"] == pytest.approx(np.mean(finite))
    p25, p75 = np.percentile(finite, [25, 75])
    assert snow.attrs["per_basin_correlation_p25"] == pytest.approx(p25)
    assert snow.attrs["per_basin_correlation_p75"] == pytest.approx(p75)


def test_basin_mean_and_spatial_correlation(inputs, snow):
    s0, swe = (np.asarray(a) for a in inputs)
    np.testing.assert_allclose(snow["basin_mean_s0"], s0.mean(axis=0))
    np.testing.assert_allclose(snow["basin_mean_swe"], swe.mean(axis=0))
    assert snow.attrs["basin_mean_correlation"] == pytest.approx(
        _r(s0.mean(axis=0), swe.mean(axis=0)), abs=1e-12
    )
    m0, mw = s0.mean(axis=1), swe.mean(axis=1)
    snowy = np.array([b != "snowfree" for b in BASINS])
    assert snow.attrs["spatial_correlation"] == pytest.approx(_r(m0[snowy], mw[snowy]), abs=1e-12)
    assert snow.attrs["spatial_correlation_all"] == pytest.approx(_r(m0, mw), abs=1e-12)
    assert snow.attrs["spatial_correlation"] != pytest.approx(snow.attrs["spatial_correlation_all"])


def test_nan_masking_equals_dropping_days(inputs):
    s0, swe = inputs
    gaps = s0.copy()
    dropped = np.zeros(NT, bool)
    dropped[[3, 50, 51, 52, 400, 700]] = True
    gaps[BASINS.index("partial"), dropped] = np.nan
    gaps[BASINS.index("noise"), 100:140] = np.nan
    out = snow_correlation(gaps, swe)

    keep = ~dropped
    a, b = s0.sel(basin="partial").values, swe.sel(basin="partial").values
    assert float(out["per_basin_correlation"].sel(basin="partial")) == pytest.approx(
        _r(a[keep], b[keep]), abs=1e-12
    )
    assert float(out["mean_swe"].sel(basin="partial")) == pytest.approx(b[keep].mean())
    assert int(out["n_days"].sel(basin="partial")) == keep.sum()
    # on a gap day the basin leaves both basin means
    day = 400
    others = [i for i, b in enumerate(BASINS) if b != "partial"]
    assert float(out["basin_mean_s0"][day]) == pytest.approx(s0.values[others, day].mean())
    assert float(out["basin_mean_swe"][day]) == pytest.approx(swe.values[others, day].mean())
    assert float(out["basin_mean_swe"][0]) == pytest.approx(swe.values[:, 0].mean())


def test_all_nan_day_and_short_basin(inputs):
    s0, swe = inputs
    gaps = s0.copy()
    gaps[:, 10] = np.nan
    gaps[BASINS.index("linear"), 20:] = np.nan  # 20 paired days, below min_days=30
    out = snow_correlation(gaps, swe)
    assert np.isnan(out["basin_mean_s0"][10]) and np.isnan(out["basin_mean_swe"][10])
    assert np.isnan(float(out["per_basin_correlation"].sel(basin="linear")))
    assert np.isfinite(out.attrs["basin_mean_correlation"])
    r = snow_correlation(gaps, swe, min_days=10)["per_basin_correlation"]
    assert float(r.sel(basin="linear")) == pytest.approx(1.0, abs=1e-12)


def test_alignment_of_order_and_overlap(inputs, snow):
    s0, swe = inputs
    shuffled = swe.isel(basin=[3, 0, 5, 1, 4, 2], time=np.arange(NT)[::-1]).transpose(
        "time", "basin"
    )
    out = snow_correlation(s0, shuffled)
    xr.testing.assert_allclose(out, snow)
    assert out.attrs == pytest.approx(snow.attrs, nan_ok=True)

    part = snow_correlation(
        s0.isel(time=slice(0, 400)), swe.isel(basin=[0, 2], time=slice(200, None))
    )
    assert part["basin"].values.tolist() == ["linear", "negative"]
    assert part.sizes["time"] == 200 and part.attrs["n_basins"] == 2


def test_bad_inputs_raise(inputs):
    s0, swe = inputs
    other = swe.assign_coords(basin=[f"x{i}" for i in range(len(BASINS))])
    with pytest.raises(DataError, match="no basins in common"):
        snow_correlation(s0, other)
    later = swe.assign_coords(time=swe["time"].values + np.timedelta64(10 * NT, "D"))
    with pytest.raises(DataError, match="no days in common"):
        snow_correlation(s0, later)
    with pytest.raises(DataError, match=r"dims \(basin, time\)"):
        snow_correlation(s0.rename(basin="gauge"), swe)


def test_summary_matches_attrs(snow, tmp_path):
    summary = snow_summary(snow)
    a = snow.attrs
    assert summary == {
        "basin_mean_correlation": a["basin_mean_correlation"],
        "per_basin_correlation": {
            "median": a["per_basin_correlation_median"],
            "mean": a["per_basin_correlation_mean"],
            "p25": a["per_basin_correlation_p25"],
            "p75": a["per_basin_correlation_p75"],
            "n": a["n_snowy_basins"],
        },
        "spatial_correlation": a["spatial_correlation"],
        "spatial_correlation_all": a["spatial_correlation_all"],
        "n_basins": a["n_basins"],
    }
    assert json.loads(json.dumps(summary)) == summary
    # attrs survive a netCDF round trip
    snow.to_netcdf(tmp_path / "snow.nc")
    with xr.open_dataset(tmp_path / "snow.nc") as back:
        assert snow_summary(back) == summary


def test_summary_with_no_snowy_basin(inputs):
    s0, swe = inputs
    summary = snow_summary(snow_correlation(s0, swe * 0.0))
    assert summary["per_basin_correlation"]["n"] == 0
    assert np.isnan(summary["per_basin_correlation"]["median"])
    assert np.isnan(summary["spatial_correlation"])
    assert json.dumps(summary)  # NaN is written as NaN


# ----------------------------------------------------------------------------- figures
def _saved(fig, tmp_path, name: str) -> None:
    assert isinstance(fig, Figure)
    path = plot.save(fig, tmp_path / "figs" / f"{name}.png")
    assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_snow_series(snow, tmp_path):
    fig = plot.snow_series(snow, start="2001-10-01", end="2002-09-30")
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 2
    assert f"{snow.attrs['basin_mean_correlation']:.2f}" in fig.axes[0].get_title()
    _saved(fig, tmp_path, "series")
    own = Figure().subplots()
    assert plot.snow_series(snow, ax=own) is own.figure


def test_snow_basins(inputs, snow, tmp_path):
    fig = plot.snow_basins(*inputs, ["linear", "noise", "snowfree"], end="2001-09-30")
    assert len(fig.axes) == 3
    titles = [ax.get_title() for ax in fig.axes]
    assert "r = 1.00" in titles[0] and "r n/a" in titles[2]
    r = float(snow["per_basin_correlation"].sel(basin="noise"))
    assert f"{r:.2f}" in titles[1]
    _saved(fig, tmp_path, "basins")
    assert len(plot.snow_basins(*inputs, "partial").axes) == 1
    with pytest.raises(ValueError, match="'nowhere'"):
        plot.snow_basins(*inputs, ["nowhere"])


def test_snow_correlations(snow, tmp_path):
    fig = plot.snow_correlations(snow)
    assert len(fig.axes) == 2
    hist, scatter = fig.axes
    median = snow.attrs["per_basin_correlation_median"]
    assert f"median {median:.2f}" in [t.get_text() for t in hist.get_legend().get_texts()]
    assert f"{snow.attrs['spatial_correlation']:.2f}" in scatter.get_title()
    grey, snowy = scatter.collections[:2]
    assert len(grey.get_offsets()) == 1 and len(snowy.get_offsets()) == len(BASINS) - 1
    _saved(fig, tmp_path, "correlations")


def test_snow_map(snow, tmp_path):
    lat = np.linspace(35.0, 48.0, len(BASINS))
    lon = np.linspace(-120.0, -70.0, len(BASINS))
    fig = plot.snow_map(snow, lat, lon)
    assert len(fig.axes) == 3  # two maps and the shared colorbar
    maps = fig.axes[:2]
    assert [ax.collections[0].get_clim() for ax in maps][0] == maps[1].collections[0].get_clim()
    _saved(fig, tmp_path, "map")

    lat_da = xr.DataArray(lat[::-1], dims="basin", coords={"basin": BASINS[::-1]})
    fig = plot.snow_map(snow, lat_da, lon)
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets()[:, 1], lat)
    with pytest.raises(ValueError, match="one value per basin"):
        plot.snow_map(snow, lat[:3], lon)


def test_perennial_snow_flags_basins_whose_snow_never_melts():
    time = pd.date_range("2000-10-01", "2004-09-30", freq="D")
    season = np.clip(np.sin(2 * np.pi * (np.arange(time.size) - 30) / 365.25), 0, None) * 100
    tower = season + np.linspace(0, 400, time.size) + 5  # grows year after year, never melts
    late = season.copy()
    late[-400:] += 50  # stays snowy through one year only: 1 of 4 water years
    s0 = xr.DataArray(
        np.stack([season, tower, late]), dims=("basin", "time"),
        coords={"basin": ["melts", "tower", "one_year"], "time": time},
    )  # fmt: skip
    flagged = perennial_snow(s0)
    assert flagged.sel(basin="tower") and not flagged.sel(basin="melts")
    assert not flagged.sel(basin="one_year")
    assert perennial_snow(s0, share=0.25).sel(basin="one_year")
