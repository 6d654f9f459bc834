"""Figures of a results Dataset (`dgeo.evaluate.results_dataset`): hydrographs, peaks, skill CDFs,
parameters and internal fluxes; and of snow storage against observed SWE
(`dgeo.evaluate.snow_correlation`).

Every function returns a `matplotlib.figure.Figure` built without pyplot and without choosing a
backend: in a notebook the figure renders when it is the cell's value (or with ``display(fig)``),
in a script write it with `save`. Single-panel functions also accept ``ax=`` to draw into an
existing axes (the axes' figure is then returned). NaN (gaps, models without a variable) is
drawn as gaps and left out of statistics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from .evaluate import nse_decomposition, snow_correlation

__all__ = [
    "fluxes",
    "hydrograph",
    "nse_anatomy",
    "nse_cdf",
    "parameters",
    "peak_zoom",
    "save",
    "snow_basins",
    "snow_correlations",
    "snow_map",
    "snow_series",
]

#: Metrics drawn on [-1, 1] by `nse_cdf` (efficiencies with an upper bound of 1).
EFFICIENCIES = ("nse", "kge", "mnse")
#: Units of the metrics in `dgeo.evaluate.METRICS`.
METRIC_UNITS = {"pfab": "%", "fhv": "%", "flv": "%", "bias": "%", "rmse": "mm/day"}
#: Panels of `fluxes`: (y label, variables); `pet` is drawn dashed as the reference for ET.
FLUX_PANELS = (
    ("precipitation", ("rainfall", "snowfall")),
    ("snowmelt", ("melt",)),
    ("evapotranspiration", ("evapotranspiration", "pet")),
    ("runoff", ("subsurface_flow", "surface_flow")),
    ("snow storage", ("snow_storage",)),
    ("soil storage", ("soil_storage",)),
)
INTERNALS = tuple(v for _, names in FLUX_PANELS for v in names)


# ----------------------------------------------------------------------------- helpers
def _pick(results: xr.Dataset, dim: str, name) -> object:
    """The coordinate value of `dim` matching `name` (compared as text); ValueError if unknown."""
    values = list(results[dim].values)
    for value in values:
        if str(value) == str(name):
            return value
    raise ValueError(f"unknown {dim} {name!r}; valid {dim}s: {', '.join(map(str, values))}")


def _models(results: xr.Dataset, models) -> list:
    if models is None:
        return list(results["model"].values)
    return [_pick(results, "model", m) for m in ([models] if isinstance(models, str) else models)]


def _window(results: xr.Dataset, start, end) -> xr.Dataset:
    out = results.sel(time=slice(start, end))
    if out.sizes["time"] == 0:
        raise ValueError(f"no time steps between {start} and {end}")
    return out


def _figure(nrows: int = 1, ncols: int = 1, **kw):
    from matplotlib.figure import Figure

    fig = Figure(figsize=kw.pop("figsize", (10, 4)), layout="constrained")
    return fig, fig.subplots(nrows, ncols, squeeze=False, **kw)


def _dates(ax, maxticks: int = 10) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(maxticks=maxticks)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _units(da: xr.DataArray, default: str) -> str:
    return str(da.attrs.get("units", default))


def _nse_label(results: xr.Dataset, model, basin) -> str:
    if "metrics" not in results or "nse" not in results["metric"].values:
        return str(model)
    value = float(results["metrics"].sel(model=model, basin=basin, metric="nse"))
    return f"{model} (NSE {value:.2f})" if np.isfinite(value) else f"{model} (NSE n/a)"


def _draw_flows(ax, ds: xr.Dataset, basin, models, results: xr.Dataset, maxticks=10) -> None:
    time = ds["time"].values
    ax.plot(time, ds["qobs"].sel(basin=basin).values, color="black", lw=1.2, label="observed")
    for model in models:
        q = ds["qsim"].sel(model=model, basin=basin).values
        ax.plot(time, q, lw=0.9, label=_nse_label(results, model, basin))
    ax.set_ylabel(f"discharge [{_units(ds['qobs'], 'mm/day')}]")
    _dates(ax, maxticks)


# ----------------------------------------------------------------------------- figures
def hydrograph(results: xr.Dataset, basin, *, models=None, start=None, end=None, ax=None):
    """Observed (black) and simulated discharge of one basin, one line per model.

    The legend gives each model's NSE for the basin from ``results.metrics`` when present.
    `models` is a name or list of names (default: all); `start`/`end` trim the time axis.
    """
    basin = _pick(results, "basin", basin)
    models = _models(results, models)
    ds = _window(results, start, end)
    if ax is None:
        fig, axes = _figure()
        ax = axes[0, 0]
    _draw_flows(ax, ds, basin, models, results)
    ax.set_title(f"Discharge, basin {basin}")
    ax.legend(loc="upper right", fontsize="small")
    return ax.figure


def _peaks(q: np.ndarray, time: np.ndarray, n: int, days: int) -> list[int]:
    """Indices of the `n` largest values of `q` at least `days` apart (greedy, largest first)."""
    gap = np.timedelta64(int(days), "D")
    chosen: list[int] = []
    for i in np.argsort(np.where(np.isnan(q), -np.inf, q))[::-1]:
        if np.isnan(q[i]) or len(chosen) == n:
            break
        if all(abs(time[i] - time[j]) >= gap for j in chosen):
            chosen.append(int(i))
    return chosen


def peak_zoom(results: xr.Dataset, basin, *, models=None, n_peaks: int = 3, days: int = 30):
    """One panel per largest observed peak of a basin (peaks >= `days` apart), +- days/2 around it."""
    basin = _pick(results, "basin", basin)
    models = _models(results, models)
    time = results["time"].values
    q = results["qobs"].sel(basin=basin).values.astype(float)
    peaks = _peaks(q, time, n_peaks, days)
    if not peaks:
        raise ValueError(f"basin {basin} has no observed discharge to find peaks in")
    fig, axes = _figure(1, len(peaks), figsize=(4.5 * len(peaks), 4))
    half = np.timedelta64(int(days) * 12, "h")
    for k, (ax, i) in enumerate(zip(axes[0], peaks, strict=True)):
        ds = results.sel(time=slice(time[i] - half, time[i] + half))
        _draw_flows(ax, ds, basin, models, results, maxticks=5)
        day = np.datetime_as_string(time[i], unit="D")
        ax.set_title(f"peak {k + 1}: {day} ({q[i]:.1f} {_units(results['qobs'], 'mm/day')})")
        ax.legend(loc="best", fontsize="x-small")
    fig.suptitle(f"Largest observed peaks, basin {basin}")
    return fig


def nse_cdf(results: xr.Dataset, *, metric: str = "nse", ax=None):
    """Empirical CDF of a metric across basins, one line per model, median in the legend.

    Efficiencies (nse, kge, mnse) are drawn on [-1, 1]; values below -1 sit at the left edge.
    """
    metric = _pick(results, "metric", metric)
    if ax is None:
        fig, axes = _figure(figsize=(6, 4.5))
        ax = axes[0, 0]
    bounded = str(metric) in EFFICIENCIES
    for model in results["model"].values:
        v = results["metrics"].sel(model=model, metric=metric).values.astype(float)
        v = np.sort(v[np.isfinite(v)])
        if v.size == 0:
            continue
        label = f"{model} (median {np.median(v):.2f}, n={v.size})"
        x = np.clip(v, -1.0, 1.0) if bounded else v
        y = np.arange(v.size + 1) / v.size  # rises from 0 at the lowest value
        ax.step(np.concatenate([x[:1], x]), y, where="post", label=label)
    unit = METRIC_UNITS.get(str(metric))
    xlabel = str(metric).upper() + (f" [{unit}]" if unit else "")
    if bounded:
        ax.set_xlim(-1.0, 1.0)
        xlabel += " (values below -1 shown at -1)"
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction of basins (CDF)")
    ax.set_ylim(0.0, 1.0)
    ax.grid(alpha=0.3)
    ax.set_title(f"{str(metric).upper()} across {results.sizes['basin']} basins")
    ax.legend(loc="upper left", fontsize="small")
    return ax.figure


def nse_anatomy(results: xr.Dataset, *, models=None, alpha_max: float = 3.0):
    """Why basins succeed or fail, one panel per model: each basin's correlation r against its
    variability ratio alpha = std(sim) / std(obs) (`dgeo.evaluate.nse_decomposition`), basins
    with NSE < 0 in red. Without volume error NSE = 2 alpha r - alpha^2, so the curve
    alpha = 2 r bounds NSE >= 0 and alpha = r is the best amplitude for a given r. Alphas above
    `alpha_max` are drawn at it.
    """
    chosen = _models(results, models)
    fig, axes = _figure(1, len(chosen), figsize=(4 * len(chosen), 4), sharey=True)
    r_line = np.linspace(0.0, 1.0, 50)
    for ax, model in zip(axes[0], chosen, strict=True):
        d = nse_decomposition(results["qobs"], results["qsim"].sel(model=model))
        r, alpha = np.asarray(d["r"]), np.asarray(d["alpha"])
        failed = (d["amplitude"] + d["timing"] + d["volume"]) > 1.0
        shown = np.isfinite(r) & np.isfinite(alpha)
        y = np.minimum(alpha, alpha_max)
        ax.scatter(
            r[shown & ~failed],
            y[shown & ~failed],
            s=10,
            color="grey",
            alpha=0.6,
            label=f"NSE >= 0 ({int(np.sum(shown & ~failed))})",
        )
        ax.scatter(
            r[shown & failed],
            y[shown & failed],
            s=14,
            color="tab:red",
            label=f"NSE < 0 ({int(np.sum(shown & failed))})",
        )
        ax.plot(r_line, 2 * r_line, color="black", lw=0.8, label="alpha = 2r (NSE = 0)")
        ax.plot(r_line, r_line, color="black", lw=0.8, ls="--", label="alpha = r (best)")
        ax.set_xlim(min(-0.1, float(np.nanmin(r, initial=0.0))), 1.0)
        ax.set_ylim(0.0, alpha_max * 1.02)
        ax.set_xlabel("correlation r")
        ax.set_title(str(model))
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize="small")
    axes[0, 0].set_ylabel(f"alpha = std(sim) / std(obs) (above {alpha_max:g} at {alpha_max:g})")
    return fig


def parameters(results: xr.Dataset, *, model=None):
    """One panel per physical parameter: per-basin values (a strip per model, median bar).

    Only models with (non-NaN) parameters are drawn; `model` restricts to one of them.
    """
    par = results["parameters"]
    have = [m for m in results["model"].values if bool(par.sel(model=m).notnull().any())]
    if model is not None:
        model = _pick(results, "model", model)
        if model not in have:
            raise ValueError(
                f"model {model!r} has no parameters; models with parameters: {', '.join(map(str, have)) or 'none'}"
            )
        have = [model]
    if not have:
        raise ValueError("no model in the results has parameters")
    names = list(results["parameter"].values)
    units = (
        results["parameter_units"].values
        if "parameter_units" in results.coords
        else [""] * len(names)
    )
    ncols = min(3, len(names))
    nrows = -(-len(names) // ncols)
    fig, axes = _figure(nrows, ncols, figsize=(3.6 * ncols, 3.0 * nrows))
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, results.sizes["basin"])
    for ax, name, unit in zip(axes.flat, names, units, strict=False):
        for k, m in enumerate(have):
            v = par.sel(model=m, parameter=name).values.astype(float)
            ax.scatter(k + jitter, v, s=14, alpha=0.7, label=str(m))
            if np.isfinite(v).any():
                ax.hlines(np.nanmedian(v), k - 0.3, k + 0.3, color="black", lw=1.5)
        ax.set_xticks(range(len(have)), [str(m) for m in have])
        ax.set_xlim(-0.6, len(have) - 0.4)
        ax.set_title(str(name))
        ax.set_ylabel(f"{name} [{unit}]" if unit else str(name))
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    fig.suptitle(f"Calibrated parameters, {results.sizes['basin']} basins (bar: median)")
    return fig


def fluxes(results: xr.Dataset, basin, *, model: str = "hybrid", start=None, end=None):
    """Stacked panels of the internal fluxes and storages of one model in one basin.

    Panels: rainfall/snowfall, melt, evapotranspiration (PET dashed), subsurface/surface flow,
    snow storage, soil storage (panels whose variables are absent from `results` are left out).
    """
    basin = _pick(results, "basin", basin)
    model = _pick(results, "model", model)
    present = [v for v in INTERNALS if v in results]
    have = [
        m
        for m in results["model"].values
        if any(bool(results[v].sel(model=m).notnull().any()) for v in present)
    ]
    if model not in have:
        raise ValueError(
            f"model {model!r} has no internal fluxes; models with internal fluxes: {', '.join(map(str, have)) or 'none'}"
        )
    ds = _window(results, start, end).sel(model=model, basin=basin)
    panels = [(label, [v for v in names if v in ds]) for label, names in FLUX_PANELS]
    panels = [(label, names) for label, names in panels if names]
    fig, axes = _figure(len(panels), 1, sharex=True, figsize=(10, 1.9 * len(panels) + 0.6))
    for ax, (label, names) in zip(axes[:, 0], panels, strict=True):
        for v in names:
            style = {"ls": "--", "color": "grey"} if v == "pet" else {}
            ax.plot(ds["time"].values, ds[v].values, lw=0.9, label=v.replace("_", " "), **style)
        default = "mm" if "storage" in label else "mm/day"
        ax.set_ylabel(f"{label}\n[{_units(ds[names[0]], default)}]")
        ax.legend(loc="upper right", fontsize="x-small")
        _dates(ax)
    fig.suptitle(f"Internal fluxes and storages of {model}, basin {basin}")
    return fig


# ----------------------------------------------------------------------------- snow
#: Line colours of the snow figures: simulated snow storage S0 and observed SWE.
SNOW_COLORS = {"s0": "tab:blue", "swe": "black"}


def _draw_snow(ax, time, s0, swe, units: str) -> None:
    ax.plot(time, swe, color=SNOW_COLORS["swe"], lw=1.2, label="SWE (observed)")
    ax.plot(time, s0, color=SNOW_COLORS["s0"], lw=0.9, label="S0 (simulated)")
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
    ax.set_title(f"Mean snow over {snow.attrs['n_basins']} basins: S0 vs SWE, r = {r:.2f}")
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
    fig.suptitle("Simulated snow storage S0 vs observed SWE")
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
    left.set_xlabel("correlation of daily S0 and SWE")
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
    right.set_ylabel(f"mean simulated S0 [{units}]")
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
    fields = {"S0 (simulated)": snow["mean_s0"].values, "SWE (observed)": snow["mean_swe"].values}
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


def save(fig, path: str | Path, dpi: int = 100) -> Path:
    """Write `fig` as PNG to `path` (parent folders created), close it and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format="png")
    import matplotlib.pyplot as plt

    plt.close(fig)  # releases figures made through pyplot; a no-op for the others
    return path
