"""Shared pieces of the figures: picking models, basins and windows, building a figure without
pyplot, date axes, units, model colours, metric units and writing a figure (`save`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

#: Metrics drawn on [-1, 1] by `nse_cdf` (efficiencies with an upper bound of 1).
EFFICIENCIES = ("nse", "kge", "mnse")
#: Units of the metrics in `dgeo.evaluate.METRICS`.
METRIC_UNITS = {"pfab": "%", "fhv": "%", "flv": "%", "bias": "%", "rmse": "mm/day"}


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


def _color(results: xr.Dataset, model) -> str:
    """A model's line colour, the same in every figure: its position among the results' models."""
    return f"C{list(results['model'].values).index(model) % 10}"


def _finite(*arrays) -> np.ndarray:
    """The finite values of `arrays`, flattened into one float array (possibly empty)."""
    flat = np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in arrays] or [[]])
    return flat[np.isfinite(flat)]


#: Metric units that mean "dimensionless" (drawn without brackets in axis labels, as [-] in tables).
DIMENSIONLESS = ("", "-", "1", "dimensionless")


def _metric_info(name) -> tuple[str, str]:
    """(units, long name) of a metric: from `dgeo.evaluate.METRIC_INFO` where it exists, else
    `METRIC_UNITS` and no long name. Dimensionless units are ''."""
    try:
        from ..evaluate import METRIC_INFO
    except ImportError:
        METRIC_INFO = {}
    info = METRIC_INFO.get(str(name))
    if info is not None:
        units = str(getattr(info, "units", "") or "")
        return ("" if units in DIMENSIONLESS else units), str(getattr(info, "long_name", "") or "")
    return METRIC_UNITS.get(str(name), ""), ""


def save(fig, path: str | Path, dpi: int = 100) -> Path:
    """Write `fig` as PNG to `path` (parent folders created), close it and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format="png")
    import matplotlib.pyplot as plt

    plt.close(fig)  # releases figures made through pyplot; a no-op for the others
    return path
