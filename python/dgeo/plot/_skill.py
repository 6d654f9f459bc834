"""Figures across basins: the CDF of a metric, r against alpha, calibrated parameters."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..evaluate import nse_decomposition
from ._common import EFFICIENCIES, _figure, _metric_info, _models, _pick


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
    unit = _metric_info(metric)[0]
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
