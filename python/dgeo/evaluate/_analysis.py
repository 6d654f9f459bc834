"""Regional analysis of results Datasets: skill over basins, per class of a basin attribute, two
models compared basin by basin, and why basins fail.

Every function here reads a results Dataset (`results_dataset`: `qobs` (basin, time), `qsim`
(model, basin, time), `parameters` (model, basin, parameter), `metrics` (model, basin, metric))
and returns data: dicts of Python floats and ints, ready for `json.dumps`. The `*_table`
functions render those dicts as markdown tables; nothing here writes files or prints.

NaN handling: a basin whose metric is NaN (too few observed days, constant observations) is
left out of every statistic; `n` says how many basins each statistic used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from ..data import DataError
from ..physics import PhysicalModel
from ..solve import step_stability
from ._metrics import nse, nse_decomposition, summarise

__all__ = [
    "class_table",
    "compare_models",
    "failure_anatomy",
    "failure_table",
    "pair_models",
    "paper_basins",
    "skill_by_class",
    "skill_summary",
    "summary_table",
]

#: Jiang et al. (2020)'s basins: aridity (PET/P) at most this, ...
PAPER_ARIDITY = 1.2
#: ... or at most this many days a year with low precipitation (`low_prec_freq`, days/yr).
PAPER_LOW_PREC_FREQ = 280.0
#: The terms of 1 - NSE, in `nse_decomposition`'s names and the tables' order.
TERMS = ("amplitude", "timing", "volume")
#: The moments whose medians `failure_anatomy` reports.
MOMENTS = ("r", "alpha", "beta_n")


# ----------------------------------------------------------------------------- checks


def _metric_table(results: xr.Dataset, metric: str) -> xr.DataArray:
    """The (model, basin) values of one metric, or a DataError naming what is missing."""
    if not isinstance(results, xr.Dataset):
        raise TypeError(f"results must be an xarray.Dataset, got {type(results).__name__}")
    if "metrics" not in results:
        raise DataError(
            "results have no 'metrics' variable (model, basin, metric); "
            "dgeo.evaluate.results_dataset makes one"
        )
    table = results["metrics"]
    missing = {"model", "basin", "metric"} - set(table.dims)
    if missing:
        raise DataError(f"results['metrics'] lacks the dim(s) {sorted(missing)}: {table.dims}")
    names = [str(m) for m in table["metric"].values]
    if metric not in names:
        raise DataError(f"results have no metric {metric!r}; they have {names}")
    return table.sel(metric=metric, drop=True).transpose("model", "basin")


def _model(results: xr.Dataset, model: str, label: str) -> None:
    models = [str(m) for m in results["model"].values]
    if model not in models:
        raise DataError(f"{label} have no model {model!r}; they have {models}")


def _basin_values(values: xr.DataArray, basins: xr.DataArray, label: str) -> np.ndarray:
    """`values` (a DataArray over basin) at `basins`, matched by id; a DataError names the
    basins it lacks."""
    if not isinstance(values, xr.DataArray) or values.dims != ("basin",):
        dims = values.dims if isinstance(values, xr.DataArray) else type(values).__name__
        raise TypeError(f"{label} must be an xarray.DataArray over 'basin' only, got {dims}")
    want = basins.values.astype(str)
    have = values["basin"].values.astype(str)
    lacking = sorted(set(want) - set(have))
    if lacking:
        raise DataError(f"{label} lacks {len(lacking)} basin(s) of the results, e.g. {lacking[:3]}")
    return values.assign_coords(basin=have).sel(basin=want).values


def _exact(objects: Sequence, what: str, **kwargs) -> list:
    """`xr.align(join="exact")`: the same basins and days in both, or a DataError saying which
    (never an inner join that would silently drop basins)."""
    try:
        return list(xr.align(*objects, join="exact", **kwargs))
    except ValueError as err:
        raise DataError(f"{what} do not cover the same labels: {err}") from None


def _count_summary(values: np.ndarray) -> dict[str, float | int]:
    """Median (ignoring NaN), number below zero and number of finite values of an array."""
    values = np.asarray(values, dtype=np.float64)
    return {
        "median": _nanmedian(values),
        "n_negative": int(np.sum(values < 0)),
        "n": int(np.sum(np.isfinite(values))),
    }


# ----------------------------------------------------------------------------- skill


def _summary(table: xr.DataArray) -> dict[str, dict[str, float | int]]:
    """`skill_summary` of a (model, basin) table of one metric."""
    out = {}
    for model in table["model"].values:
        values = table.sel(model=model)
        s = summarise(values.expand_dims(metric=["value"], axis=-1))["value"]
        finite = np.isfinite(np.asarray(values, dtype=np.float64))
        out[str(model)] = {
            "median": s["median"],
            "mean": s["mean"],
            "std": s["std"],
            "p25": s["p25"],
            "p75": s["p75"],
            "n_negative": s["n_negative"],
            "n": int(finite.sum()),
        }
    return out


def skill_summary(results: xr.Dataset, metric: str = "nse") -> dict[str, dict[str, float | int]]:
    """The distribution of one metric over the basins, for every model of `results`.

    **Arguments:**

    - `results`: a results Dataset with `metrics` (model, basin, metric).
    - `metric`: a name along `metric` (default NSE).

    **Returns:** `{model: {"median", "mean", "std", "p25", "p75", "n_negative", "n"}}`, the
    statistics of `dgeo.evaluate.summarise` (population std, linearly interpolated
    percentiles), Python floats and ints. Basins where the metric is NaN are left out;
    `n_negative` counts the basins below zero and `n` the basins with a finite value (an
    infinite value, from a simulation that overflowed, is in the statistics but not in `n`).
    Statistics are NaN for a model with no valid basin.
    """
    return _summary(_metric_table(results, metric))


def summary_table(
    stats: Mapping[str, Mapping[str, float | int]],
    seconds: Mapping[str, float] | None = None,
    *,
    label: str = "NSE",
) -> str:
    """Markdown table of `skill_summary`: one row per model with the median, mean, std,
    p25-p75, the number of basins below zero and of basins scored; with `seconds` (model ->
    training seconds) a last column with them. `label` names the metric in the header. No
    trailing newline."""
    if seconds:
        lacking = [m for m in stats if m not in seconds]
        if lacking:
            raise KeyError(f"seconds has no entry for model(s) {lacking}")
    head = f"| model | {label} median | mean | std | p25-p75 | {label} < 0 | basins |"
    lines = [head + (" train s |" if seconds else ""), "|---" * (7 + bool(seconds)) + "|"]
    for model, n in stats.items():
        row = (
            f"| {model} | {n['median']:.3f} | {n['mean']:.3f} | {n['std']:.3f} | "
            f"{n['p25']:.3f}-{n['p75']:.3f} | {n['n_negative']} | {n['n']} |"
        )
        lines.append(row + (f" {seconds[model]:.0f} |" if seconds else ""))
    return "\n".join(lines)


def paper_basins(ds: xr.Dataset) -> xr.DataArray:
    """The basins Jiang et al. (2020) kept: humid or frequently wet, True per basin where

        aridity <= 1.2  or  low_prec_freq <= 280 days/yr

    (`aridity` = PET/P and `low_prec_freq`, the days a year with precipitation below 1 mm, are
    CAMELS attributes). A basin with a NaN attribute passes only on the other one. Raises a
    DataError naming the attribute(s) `ds` lacks.
    """
    needed = ("aridity", "low_prec_freq")
    lacking = [name for name in needed if name not in ds]
    if lacking:
        raise DataError(
            f"the paper's basin filter needs the CAMELS attribute(s) {lacking} "
            "(load the data with its attributes)"
        )
    for name in needed:
        if ds[name].dims != ("basin",):
            raise DataError(f"attribute {name!r} must be over 'basin' only, got {ds[name].dims}")
    keep = (ds["aridity"] <= PAPER_ARIDITY) | (ds["low_prec_freq"] <= PAPER_LOW_PREC_FREQ)
    keep.attrs["long_name"] = (
        f"Jiang et al. (2020) basin filter: aridity <= {PAPER_ARIDITY} or "
        f"low_prec_freq <= {PAPER_LOW_PREC_FREQ:g}"
    )
    return keep.rename("paper_basins")


# ----------------------------------------------------------------------------- classes


def _class_label(lo: float, hi: float) -> str:
    return f"{lo}-{hi}" if np.isfinite(hi) else f">{lo}"


def skill_by_class(
    results: xr.Dataset, values: xr.DataArray, edges: Sequence[float], metric: str = "nse"
) -> dict[str, dict[str, dict[str, float | int]]]:
    """Skill of every model per class of a basin attribute (aridity, snow fraction, ...).

    **Arguments:**

    - `results`: a results Dataset with `metrics` (model, basin, metric).
    - `values`: the attribute, a DataArray over `basin` holding every basin of `results`
      (matched by id, in any order).
    - `edges`: increasing class edges; class i holds the basins with
      edges[i] < value <= edges[i + 1]. Labels are "lo-hi", ">lo" when hi is infinite
      (edges (0.0, 0.6, inf) give "0.0-0.6" and ">0.6"). Basins outside all classes (NaN,
      or at most edges[0]) are in none.
    - `metric`: a name along `metric` (default NSE).

    **Returns:** `{label: {model: {"median", "n_negative", "n"}}}` (as `skill_summary`; an
    empty class has median NaN and n 0).
    """
    table = _metric_table(results, metric)
    attribute = _basin_values(values, table["basin"], "values")
    if len(edges) < 2 or not np.all(np.diff(np.asarray(edges, dtype=float)) > 0):
        raise ValueError(f"edges must be at least two strictly increasing numbers, got {edges}")
    out = {}
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (attribute > lo) & (attribute <= hi)
        stats = _summary(table.isel(basin=inside))
        out[_class_label(lo, hi)] = {
            model: {k: s[k] for k in ("median", "n_negative", "n")} for model, s in stats.items()
        }
    return out


def class_table(
    classes: Mapping[str, Mapping[str, Mapping]], attribute: str = "aridity", *, label: str = "NSE"
) -> str:
    """Markdown table of `skill_by_class`: one row per class (`attribute` names the column)
    with the number of basins (of the first model) and each model's median (basins below
    zero); `label` names the metric in the header. No trailing newline."""
    models = list(next(iter(classes.values()), {}))
    lines = [
        f"| {attribute} | basins | "
        + " | ".join(f"{m} median ({label} < 0)" for m in models)
        + " |",
        "|---" * (2 + len(models)) + "|",
    ]
    for label, row in classes.items():
        cells = [f"{row[m]['median']:.3f} ({row[m]['n_negative']})" for m in models]
        lines.append(f"| {label} | {row[models[0]]['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- two models


def pair_models(
    results_a: xr.Dataset,
    model_a: str,
    results_b: xr.Dataset,
    model_b: str,
    *,
    names: tuple[str, str] | None = None,
) -> xr.Dataset:
    """Two models of two results Datasets (two runs) as one results Dataset.

    The two must cover the same basins, days and metrics and have the same observations:
    anything else is a DataError (the runs are aligned exactly, never by an inner join).
    `names` renames the two models (default: `model_a`, `model_b`, which must then differ).

    **Returns:** a Dataset with `qobs` (basin, time), `qsim` and `metrics` over the two
    models, and `parameters` when both runs have them.
    """
    _model(results_a, model_a, "results_a")
    _model(results_b, model_b, "results_b")
    names = tuple(names) if names is not None else (model_a, model_b)
    if len(names) != 2 or names[0] == names[1]:
        raise ValueError(f"the two models need two different names, got {names}")
    variables = ["qobs", "qsim", "metrics"]
    for label, res in (("results_a", results_a), ("results_b", results_b)):
        lacking = [v for v in variables if v not in res]
        if lacking:
            raise DataError(f"{label} lack {lacking}")
    if "parameters" in results_a and "parameters" in results_b:
        variables.append("parameters")
    qobs_a, qobs_b = _exact([results_a["qobs"], results_b["qobs"]], "the two runs' qobs")
    if not np.array_equal(qobs_a.values, qobs_b.values, equal_nan=True):
        raise DataError("the two runs have different observed discharge (qobs)")
    pieces = [
        res[variables[1:]].sel(model=[model]).assign_coords(model=[name])
        for res, model, name in ((results_a, model_a, names[0]), (results_b, model_b, names[1]))
    ]
    for name in variables[1:]:
        _exact([p[name] for p in pieces], f"the two runs' {name}", exclude=["model"])
    pair = xr.concat(pieces, "model", data_vars="minimal", coords="minimal", join="exact")
    return pair.assign(qobs=qobs_a)


def compare_models(
    results_a: xr.Dataset,
    model_a: str,
    results_b: xr.Dataset,
    model_b: str,
    *,
    names: tuple[str, str] | None = None,
) -> dict[str, dict[str, float | int]]:
    """Two models (of one run or two) compared in the same basins by NSE.

    **Arguments:** as `pair_models` (which aligns the two runs exactly: the same basins, days,
    metrics and observations, or a DataError).

    **Returns:**

    - `basins_better`: {name: the number of basins where that model's NSE is strictly the
      higher} (ties and NaN count for neither);
    - `mean_of_both`: `{"median", "n_negative", "n"}` of the NSE of the mean of the two
      simulated discharges, day by day (do the errors cancel?); NaN-aware as `skill_summary`.
    """
    pair = pair_models(results_a, model_a, results_b, model_b, names=names)
    first, second = (str(m) for m in pair["model"].values)
    scores = _metric_table(pair, "nse")
    a, b = scores.sel(model=first), scores.sel(model=second)
    qsim = pair["qsim"]
    ensemble = nse(pair["qobs"], (qsim.sel(model=first) + qsim.sel(model=second)) / 2, axis="time")
    return {
        "basins_better": {first: int((a > b).sum()), second: int((b > a).sum())},
        "mean_of_both": _count_summary(ensemble),
    }


# ----------------------------------------------------------------------------- failures


def _overshoot(
    parameters: xr.DataArray,
    forcing: xr.Dataset,
    physics: PhysicalModel,
    period: tuple,
    min_fraction: float,
) -> np.ndarray:
    """Per basin: whether the explicit daily step overshoots on more than `min_fraction` of
    the days of `period`, run with `parameters` on `forcing` from its first day."""
    params = {str(p): parameters.sel(parameter=p) for p in parameters["parameter"].values}
    stability = step_stability(physics, forcing, params)
    scored = stability["overshoot"].sel(time=slice(*period))
    if scored.sizes["time"] == 0:
        raise DataError(f"the forcing has no day in the period {period}")
    return scored.mean("time").values > min_fraction


def failure_anatomy(
    results: xr.Dataset,
    forcing: xr.Dataset | None = None,
    physics: PhysicalModel | None = None,
    period: tuple | None = None,
    *,
    min_fraction: float = 0.01,
) -> dict[str, dict]:
    """Why basins fail (NSE < 0), for every model of `results`.

    1 - NSE = (alpha - r)^2 + (1 - r^2) + beta_n^2 (`nse_decomposition`): amplitude (the
    variability is wrong for the correlation), timing and volume (mean error / std of obs). A
    basin fails when the three terms are finite and sum to more than 1.

    **Arguments:**

    - `results`: a results Dataset with `qobs` (basin, time) and `qsim` (model, basin, time).
    - `forcing`, `physics`: a Dataset with the forcings of `physics` (a
      `dgeo.physics.PhysicalModel`, the one the models wrap) over every basin of `results`,
      from the day the models' runs started (their spin-up included). Given both, for every
      model whose parameters are all finite (one with a P-RNN) the P-RNN is rerun with them
      on `forcing` and its explicit daily step checked (`dgeo.step_stability`).
    - `period`: (start, end) of the days over which overshoot is counted; default the days
      of `results`.
    - `min_fraction`: a basin overshoots when its step does on more than this fraction of
      those days.

    **Returns:** `{model: {...}}` with `n_negative` (failed basins), `dominant_term` (term ->
    number of failed basins where it is the largest), `failed_median` and `all_median`
    (median r, alpha and beta_n over the failed basins, NaN when none failed, and over all
    basins), and, where the step was checked, `overshoot_basins` (basins that overshoot) and
    `overshoot_failed` (of them, failed).
    """
    if (forcing is None) != (physics is None):
        raise ValueError("pass both forcing and physics for the overshoot check, or neither")
    if physics is not None and not isinstance(physics, PhysicalModel):
        raise TypeError(
            f"physics must be a dgeo.physics.PhysicalModel instance, got {type(physics).__name__}"
        )
    lacking = [v for v in ("qobs", "qsim") if v not in results]
    if lacking:
        raise DataError(f"results lack {lacking}")
    if forcing is not None:
        forcing = forcing.sel(basin=_basin_labels(forcing, results))
        if period is None:
            period = (results["time"].values[0], results["time"].values[-1])
    out = {}
    for model in map(str, results["model"].values):
        d = nse_decomposition(results["qobs"], results["qsim"].sel(model=model), axis="time")
        terms = np.stack([d[k] for k in TERMS], axis=-1)
        failed = np.isfinite(terms).all(axis=-1) & (terms.sum(axis=-1) > 1.0)  # NSE < 0
        largest = np.argmax(terms[failed], axis=-1)
        out[model] = {
            "n_negative": int(failed.sum()),
            "dominant_term": {k: int(np.sum(largest == i)) for i, k in enumerate(TERMS)},
            "failed_median": {
                k: float(np.median(d[k][failed])) if failed.any() else float("nan") for k in MOMENTS
            },
            "all_median": {k: _nanmedian(d[k]) for k in MOMENTS},
        }
        if forcing is None or "parameters" not in results:
            continue
        parameters = results["parameters"].sel(model=model)
        if np.isfinite(parameters).all():  # a model with a P-RNN
            overshoot = _overshoot(parameters, forcing, physics, period, min_fraction)
            out[model]["overshoot_basins"] = int(overshoot.sum())
            out[model]["overshoot_failed"] = int((overshoot & failed).sum())
    return out


def _basin_labels(forcing: xr.Dataset, results: xr.Dataset) -> np.ndarray:
    if "basin" not in forcing.dims:
        raise DataError(f"forcing has no 'basin' dimension (dims: {tuple(forcing.dims)})")
    want = results["basin"].values
    lacking = sorted(set(want.astype(str)) - set(forcing["basin"].values.astype(str)))
    if lacking:
        raise DataError(f"forcing lacks {len(lacking)} basin(s) of the results, e.g. {lacking[:3]}")
    return want


def _nanmedian(values: np.ndarray) -> float:
    """Median ignoring NaN; NaN (without numpy's all-NaN warning) when nothing is left."""
    values = np.asarray(values, dtype=np.float64)
    good = values[~np.isnan(values)]
    return float(np.median(good)) if good.size else float("nan")


def failure_table(anatomy: Mapping[str, Mapping]) -> str:
    """Markdown table of `failure_anatomy`: per model the failed basins, how many fail on each
    term, the median r, alpha and beta_n of the failed basins (of all basins in brackets) and
    the overshooting basins (of them failed; "-" where not checked). No trailing newline."""
    lines = [
        "| model | NSE < 0 | amplitude | timing | volume | r | alpha | beta_n | overshoot |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for model, o in anatomy.items():
        dom, f, a = o["dominant_term"], o["failed_median"], o["all_median"]
        overshoot = (
            f" | {o['overshoot_basins']} ({o['overshoot_failed']}) |"
            if "overshoot_basins" in o
            else " | - |"
        )
        lines.append(
            f"| {model} | {o['n_negative']} | "
            + " | ".join(str(dom[k]) for k in TERMS)
            + " | "
            + " | ".join(f"{f[k]:.2f} ({a[k]:.2f})" for k in MOMENTS)
            + overshoot
        )
    return "\n".join(lines)
