"""Snow figures: simulated snow storage S0 against observed SWE (`dgeo.evaluate.snow_correlation`)
over time, per basin, as correlations and on a map. S0 is any model's snow storage (EXP-HYDRO's
symbol); the figures call it "snow storage"."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..evaluate import snow_correlation
from ._common import _dates, _figure, _pick, _units, _window

#: Line colours of the snow figures: simulated snow storage S0 and observed SWE.
SNOW_COLORS = {"s0": "tab:blue", "swe": "black"}


def _draw_snow(ax, time, s0, swe, units: str) -> None:
    ax.plot(time, swe, color=SNOW_COLORS["swe"], lw=1.2, label="SWE (observed)")
    ax.plot(time, s0, color=SNOW_COLORS["s0"], lw=0.9, label="snow storage (simulated)")
    ax.set_ylabel(f"snow [{units}]")
    ax.legend(loc="upper right", fontsize="x-small")
    _dates(ax)


def snow_series(snow: xr.Dataset, *, start=None, end=None, ax=None):
    """Basin-mean simulated snow storage S0 and observed SWE over time.

    `snow` is a `dgeo.evaluate.snow_correlation` Dataset; the title gives its basin-mean
    correlation (over the whole record, also when `start`/`end` trim the time axis).
    """
    ds = _window(snow, start, end)
    if ax is None:
        fig, axes = _figure()
        ax = axes[0, 0]
    units = _units(ds["basin_mean_swe"], "mm")
    _draw_snow(
        ax, ds["time"].values, ds["basin_mean_s0"].values, ds["basin_mean_swe"].values, units
    )
    r = snow.attrs["basin_mean_correlation"]
    ax.set_title(
        f"Mean snow over {snow.attrs['n_basins']} basins: snow storage vs SWE, r = {r:.2f}"
    )
    return ax.figure


def snow_basins(s0: xr.DataArray, swe: xr.DataArray, basins, *, start=None, end=None):
    """One stacked panel per basin (a handful: ~6 at most) of simulated S0 and observed SWE.

    `s0` and `swe` are (basin, time) DataArrays as for `dgeo.evaluate.snow_correlation`, which
    gives the per-basin correlation (whole record) in each title; `start`/`end` trim the time axis.
    """
    snow = snow_correlation(s0, swe)
    s0, swe = xr.align(s0, swe, join="inner")
    ds = xr.Dataset({"s0": s0, "swe": swe})
    basins = [_pick(ds, "basin", b) for b in ([basins] if isinstance(basins, str) else basins)]
    if not basins:
        raise ValueError("no basins given")
    ds = _window(ds, start, end)
    fig, axes = _figure(len(basins), 1, sharex=True, figsize=(10, 2.2 * len(basins) + 0.6))
    for ax, basin in zip(axes[:, 0], basins, strict=True):
        one = ds.sel(basin=basin)
        _draw_snow(ax, one["time"].values, one["s0"].values, one["swe"].values, _units(swe, "mm"))
        r = float(snow["per_basin_correlation"].sel(basin=basin))
        ax.set_title(f"basin {basin}: r = {r:.2f}" if np.isfinite(r) else f"basin {basin}: r n/a")
    fig.suptitle("Simulated snow storage vs observed SWE")
    return fig


def snow_correlations(snow: xr.Dataset):
    """Left: histogram of per-basin S0-SWE correlations, median marked. Right: per-basin mean S0
    against mean SWE (snow-free basins grey) with a 1:1 line and the spatial correlations.
    """
    fig, axes = _figure(1, 2, figsize=(10, 4.5))
    left, right = axes[0]
    r = snow["per_basin_correlation"].values.astype(float)
    r = r[np.isfinite(r)]
    left.hist(r, bins=np.linspace(-1.0, 1.0, 21), color=SNOW_COLORS["s0"], alpha=0.8)
    if r.size:
        left.axvline(np.median(r), color="black", ls="--", label=f"median {np.median(r):.2f}")
        left.legend(loc="upper left", fontsize="small")
    left.set_xlim(-1.0, 1.0)
    left.set_xlabel("correlation of daily snow storage and SWE")
    left.set_ylabel("number of basins")
    left.yaxis.get_major_locator().set_params(integer=True)
    left.set_title(f"Per-basin correlation ({r.size} snowy basins)")

    x, y = snow["mean_swe"].values, snow["mean_s0"].values
    snowy = snow["snowy"].values.astype(bool)
    right.scatter(x[~snowy], y[~snowy], s=16, color="grey", alpha=0.7, label="snow-free")
    right.scatter(x[snowy], y[snowy], s=16, color=SNOW_COLORS["s0"], label="snowy")
    right.axline((0.0, 0.0), slope=1.0, color="black", lw=0.8, label="1:1")
    units = _units(snow["mean_swe"], "mm")
    right.set_xlabel(f"mean observed SWE [{units}]")
    right.set_ylabel(f"mean simulated snow storage [{units}]")
    right.legend(loc="upper left", fontsize="small")
    a = snow.attrs
    right.set_title(
        f"Basin means: r = {a['spatial_correlation']:.2f} (snowy), "
        f"{a['spatial_correlation_all']:.2f} (all)"
    )
    return fig


def _per_basin(values, snow: xr.Dataset, name: str) -> np.ndarray:
    """`values` (a DataArray over basin, or one value per basin of `snow`) in `snow`'s basin order."""
    if isinstance(values, xr.DataArray):
        return values.sel(basin=snow["basin"].values).values.astype(float)
    v = np.asarray(values, dtype=float)
    if v.shape != (snow.sizes["basin"],):
        raise ValueError(
            f"{name} must hold one value per basin ({snow.sizes['basin']}), got shape {v.shape}"
        )
    return v


def snow_map(snow: xr.Dataset, lat, lon):
    """Two maps (lat/lon scatter, no projection) of the basins coloured by mean simulated S0 and
    by mean observed SWE, on one colour scale with a shared colorbar.

    `lat`/`lon` are one value per basin of `snow` in its order, or DataArrays over ``basin``.
    """
    lat, lon = _per_basin(lat, snow, "lat"), _per_basin(lon, snow, "lon")
    fields = {
        "snow storage (simulated)": snow["mean_s0"].values,
        "SWE (observed)": snow["mean_swe"].values,
    }
    vmax = max(float(np.nanmax(np.concatenate(list(fields.values())), initial=0.0)), 1e-9)
    fig, axes = _figure(1, 2, figsize=(11, 4.2))
    for ax, (label, v) in zip(axes[0], fields.items(), strict=True):
        points = ax.scatter(
            lon,
            lat,
            c=v,
            s=25,
            cmap="Blues",
            vmin=0.0,
            vmax=vmax,
            edgecolors="grey",
            linewidths=0.4,
        )
        ax.set_title(f"mean {label}")
        ax.set_xlabel("longitude [deg]")
        ax.set_ylabel("latitude [deg]")
        ax.set_aspect(1.0 / np.cos(np.deg2rad(np.nanmean(lat))), adjustable="datalim")
    fig.colorbar(points, ax=axes[0, :], label=f"mean snow [{_units(snow['mean_swe'], 'mm')}]")
    return fig
