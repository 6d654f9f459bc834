"""From a (basin, time) Dataset to trained models and a results Dataset, for all basins at once.

`train_models` trains the requested kinds in order (the hybrid starts from the trained
physical model when both are requested, as in Jiang et al. 2020); `run_models` evaluates them
on a period and returns one results Dataset with a `model` dimension.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from types import NoneType

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr

from ..data import DataError
from ..models import FORCINGS, MODELS, BasinModel, build, physics_of, required_forcings
from ..nn import Standardiser
from ..physics import ExpHydro, PhysicalModel
from ..solve import AbstractSensitivity, AbstractSolver, Backprop, Discrete
from ..solve._types import (
    check_dataset,
    check_flag,
    check_instance,
    check_names,
    check_number,
    check_options_types,
    check_period,
    check_physical_model,
    check_sensitivity,
    check_solver,
)
from ._fit import FitOptions, FitResult, check_option, fit, predict
from ._search import search_starts
from ._windows import Series, basin_series, check_observed, windows


@dataclass(frozen=True)
class Periods:
    """Training, validation (early stopping) and test periods; each scored after a spin-up.

    Defaults: water years 1981-1996 for training, 1997-2000 for validation (so the whole
    training period of the standard split is 1981-2000) and 2001-2010 for the test.
    """

    train: tuple[str, str] = ("1980-10-01", "1996-09-30")
    validation: tuple[str, str] | None = ("1996-10-01", "2000-09-30")
    test: tuple[str, str] = ("2000-10-01", "2010-09-30")

    def __post_init__(self):
        # Each a (start, end) pair of dates pandas reads, end after start; lists become tuples.
        for name in ("train", "validation", "test"):
            value = getattr(self, name)
            if name == "validation" and value is None:
                continue
            object.__setattr__(self, name, check_period(value, f"Periods.{name}"))


#: What to pass where a `Periods` is expected, for messages.
PERIODS_HINT = (
    "pass Periods(train=(start, end), validation=(start, end) or None, test=(start, end)), "
    "e.g. Periods(train=('1980-10-01', '1996-09-30'), validation=None, "
    "test=('2000-10-01', '2010-09-30'))"
)


@dataclass(frozen=True)
class ModelOptions:
    """Architecture and data layout: Conv1D `filters`/`kernel` (paper: 8 and 10 days), LSTM
    `hidden`/`dropout` (also the dynamic-parameter LSTM of `dpl`); the physical model (of
    `physical` and `dpl`) starts gradient descent from the `physical_starts` best of
    `physical_search` random parameter sets per basin (0: from random points) and keeps the
    best start on validation; the P-RNN is the physical model `physics` (default EXP-HYDRO) and
    runs with `solver` and `sensitivity`; training windows of `window_days` every
    `stride_days`."""

    filters: int = 8
    kernel: int = 10
    hidden: int = 256
    dropout: float = 0.4
    physical_starts: int = 8
    physical_search: int = 2000
    window_days: int = 2190
    stride_days: int = 365
    solver: AbstractSolver = Discrete()
    sensitivity: AbstractSensitivity = Backprop()
    physics: PhysicalModel = ExpHydro()

    def __post_init__(self):
        integers = ("filters", "kernel", "hidden", "physical_starts", "physical_search")
        check_options_types(self, (*integers, "window_days", "stride_days"), ("dropout",))
        check_physical_model(self.physics, "ModelOptions.physics")
        check_solver(self.solver, "ModelOptions.solver")
        check_sensitivity(self.sensitivity, "ModelOptions.sensitivity")
        for name in (
            "filters",
            "kernel",
            "hidden",
            "physical_starts",
            "window_days",
            "stride_days",
        ):
            check_option(self, name, getattr(self, name) >= 1, "at least 1")
        check_option(self, "dropout", 0 <= self.dropout < 1, "in [0, 1)")
        check_option(self, "physical_search", self.physical_search >= 0, "0 or more")
        check_option(
            self,
            "physical_search",
            self.physical_search == 0 or self.physical_search >= self.physical_starts,
            f"0 or at least physical_starts ({self.physical_starts}): the starts are the best "
            "of the searched parameter sets",
        )


#: What to pass as the data, for messages.
DATASET = "an xarray.Dataset with dims (basin, time) such as dgeo.data.load_camels_us gives"


def _architecture(o: ModelOptions) -> dict:
    """The keyword arguments of `dgeo.models.build` that `o` sets."""
    names = ("filters", "kernel", "hidden", "dropout", "solver", "sensitivity", "physics")
    return {name: getattr(o, name) for name in names}


def _stack(trees):
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *trees)


def _statistics(series: Series) -> tuple[Standardiser, Standardiser]:
    """Per-basin training statistics of the networks' forcings (zeros and ones when only the
    P-RNN is trained and they were not read) and of observed discharge, stacked."""
    shape = series.qobs.shape
    forcing = np.stack(
        [series.inputs.get(n, np.zeros(shape, series.qobs.dtype)) for n in FORCINGS], axis=-1
    )
    f = _stack([Standardiser.fit(forcing[b]) for b in range(len(series.basins))])
    q = _stack([Standardiser.fit(series.qobs[b][..., None]) for b in range(len(series.basins))])
    return f, q


def _repeat(series: Series, members: np.ndarray) -> Series:
    return Series(
        {k: v[members] for k, v in series.inputs.items()},
        series.qobs[members],
        series.basins[members],
        series.time,
    )


def _take(tree, index):
    return jax.tree_util.tree_map(
        lambda x: x[index] if eqx.is_array(x) else x, tree, is_leaf=eqx.is_array
    )


def train_models(
    ds: xr.Dataset,
    kinds=("physical", "hybrid"),
    periods: Periods = Periods(),
    model_options: ModelOptions = ModelOptions(),
    fit_options: FitOptions = FitOptions(),
    *,
    run_dir=None,
    resume: bool = False,
    progress: bool = True,
) -> tuple[dict[str, BasinModel], dict[str, FitResult]]:
    """Train every model kind in `kinds` on every basin of `ds`, each basin its own model.

    Returns (kind -> stacked basin models, kind -> fit result with history and validation NSE).
    Checkpoints go to `run_dir/checkpoints/<kind>` when `run_dir` is given.
    """
    check_dataset(ds, "ds", DATASET)
    kinds = (kinds,) if isinstance(kinds, str) else kinds
    kinds = check_names(kinds, "kinds", f"a model kind or a tuple of them ({', '.join(MODELS)})")
    check_instance(periods, Periods, "periods", "a dgeo.train.Periods", PERIODS_HINT)
    check_instance(
        model_options,
        ModelOptions,
        "model_options",
        "a dgeo.train.ModelOptions such as ModelOptions(hidden=64)",
    )
    check_instance(
        fit_options,
        FitOptions,
        "fit_options",
        "a dgeo.train.FitOptions such as FitOptions(epochs=50)",
    )
    check_instance(run_dir, str | os.PathLike | NoneType, "run_dir", "a folder path or None")
    resume, progress = check_flag(resume, "resume"), check_flag(progress, "progress")
    unknown = [k for k in kinds if k not in MODELS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; models: {', '.join(MODELS)}")
    o, spinup = model_options, fit_options.spinup_days
    if spinup >= o.window_days:
        raise ValueError(
            f"FitOptions.spinup_days ({spinup}) must be shorter than ModelOptions.window_days "
            f"({o.window_days}): no day of a training window would be scored"
        )
    # As in the paper, the first `spinup` days of every window (the first year of the
    # training period among them) spin the states up and are not scored.
    forcings = required_forcings(kinds, o.physics)
    train = basin_series(ds, *periods.train, forcings=forcings)
    check_observed(train, spinup, "training")
    forcing_stats, q_stats = _statistics(train)
    train_w = windows(train, o.window_days, o.stride_days)
    validation = None
    if periods.validation is not None:
        validation = basin_series(ds, *periods.validation, spinup_days=spinup, forcings=forcings)
        check_observed(validation, spinup, "validation")
        validation = Series(
            {k: v[:, None] for k, v in validation.inputs.items()},
            validation.qobs[:, None],
            validation.basins,
            validation.time,
        )
    n_basins = len(train.basins)
    root = jax.random.key(fit_options.seed)
    models: dict[str, BasinModel] = {}
    results: dict[str, FitResult] = {}
    for i, kind in enumerate(k for k in MODELS if k in kinds):
        # Kinds whose physical parameters start from the random search (the P-RNN, dPL)
        # train `physical_starts` members per basin and keep each basin's best.
        starts = o.physical_starts if MODELS[kind].searched else 1
        members = np.repeat(np.arange(n_basins), starts)
        keys = jax.random.split(jax.random.fold_in(root, i), len(members))
        physical = models.get("physical") if kind == "hybrid" else None
        start = None  # random points of the bounds, one per member
        if MODELS[kind].searched and o.physical_search > 0:
            fractions = search_starts(
                o.physics,
                train,
                samples=o.physical_search,
                starts=starts,
                key=jax.random.fold_in(root, 100 + i),
                spinup_days=spinup,
            )
            start = jnp.asarray(fractions.reshape(len(members), -1))
        options = _architecture(o)

        def make(key, f, q, p, s, kind=kind, options=options):
            return build(kind, key, f, q, physical=p, start=s, **options)

        if physical is not None and kind == "hybrid":
            physical = _take(physical, members)
        stack = eqx.filter_vmap(make)(
            keys, _take(forcing_stats, members), _take(q_stats, members), physical, start
        )
        result = fit(
            stack,
            _repeat(train_w, members),
            None if validation is None else _repeat(validation, members),
            fit_options,
            checkpoint_dir=None if run_dir is None else f"{run_dir}/checkpoints/{kind}",
            resume=resume,
            progress=progress,
            label=f"{kind} ({n_basins} basins x {starts} start{'s' if starts > 1 else ''})",
        )
        best = _best_members(result, members, n_basins, starts)
        models[kind] = _take(result.model, best)
        results[kind] = FitResult(models[kind], result.validation_nse[best], result.history)
    return models, results


def _best_members(result: FitResult, members, n_basins: int, starts: int) -> np.ndarray:
    """For each basin, the index of its best start (highest validation NSE; first if none)."""
    score = np.nan_to_num(result.validation_nse, nan=-np.inf).reshape(n_basins, starts)
    return np.arange(n_basins) * starts + np.argmax(score, axis=1)


_predict = eqx.filter_jit(predict)  # compiled once per model structure and input shape


def simulate_models(
    models: dict[str, BasinModel], ds: xr.Dataset, start, end, *, spinup_days: int = 365
) -> tuple[Series, dict[str, dict[str, np.ndarray]]]:
    """Run trained models from `start - spinup_days` to `end`; outputs (basin, time) from
    `start` on (spin-up days dropped)."""
    forcings = {}
    for kind, model in models.items():
        physics = physics_of(model)
        forcings |= required_forcings([kind], physics) if physics is not None else FORCINGS
    series = basin_series(ds, start, end, spinup_days=spinup_days, forcings=forcings)
    inputs = {k: jnp.asarray(v[:, None]) for k, v in series.inputs.items()}
    outputs = {}
    for kind, model in models.items():
        out = _predict(model, inputs)
        outputs[kind] = {k: np.asarray(v[:, 0, spinup_days:]) for k, v in out.items()}
    scored = Series(
        {k: v[:, spinup_days:] for k, v in series.inputs.items()},
        series.qobs[:, spinup_days:],
        series.basins,
        series.time[spinup_days:],
    )
    return scored, outputs


def run_models(
    models: dict[str, BasinModel], ds: xr.Dataset, period: tuple, *, spinup_days: int = 365
) -> xr.Dataset:
    """The results Dataset of `models` on `period` (see `dgeo.evaluate.results_dataset`)."""
    from ..evaluate import results_dataset

    check_instance(models, Mapping, "models", "a dict of kind -> models as train_models returns")
    for kind, model in models.items():
        check_instance(model, BasinModel, f"models[{kind!r}]", "a dgeo.models.BasinModel stack")
    check_dataset(ds, "ds", DATASET)
    period = check_period(period, "period")
    check_number(spinup_days, "spinup_days", integer=True, rule="0 or more")
    if spinup_days < 0:
        raise ValueError(f"spinup_days must be 0 or more, got {spinup_days}")
    if pd.Timestamp(period[0]) - pd.Timedelta(days=spinup_days) < pd.Timestamp(
        ds["time"].values[0]
    ):
        raise DataError(
            f"period {period[0]}..{period[1]} needs {spinup_days} spin-up days before it, "
            f"but the data start on {pd.Timestamp(ds['time'].values[0]).date()}"
        )
    series, outputs = simulate_models(models, ds, *period, spinup_days=spinup_days)
    parameters = {k: m.physical_parameters() for k, m in models.items()}
    return results_dataset(series, outputs, parameters, _physics(models))


def _physics(models: Mapping) -> PhysicalModel | None:
    """The physical model of `models` (None if none has one); two different ones are an
    error, since one results Dataset has one parameter axis."""
    found = {type(p): p for p in map(physics_of, models.values()) if p is not None}
    if len(found) > 1:
        names = ", ".join(sorted(t.__name__ for t in found))
        raise ValueError(f"the models hold different physical models ({names}); run them apart")
    return next(iter(found.values()), None)


def model_skeletons(kinds, n_basins: int, options: ModelOptions = ModelOptions()) -> dict:
    """Stacked models of the right structure to load saved weights into (`load_models`)."""
    stack = eqx.filter_vmap(Standardiser)  # one per basin, each of its annotated shape
    f = stack(jnp.zeros((n_basins, len(FORCINGS))), jnp.ones((n_basins, len(FORCINGS))))
    q = stack(jnp.zeros((n_basins, 1)), jnp.ones((n_basins, 1)))
    keys = jax.random.split(jax.random.key(0), n_basins)
    out = {}
    for kind in kinds:

        def make(key, f, q, kind=kind):
            return build(kind, key, f, q, **_architecture(options))

        out[kind] = eqx.filter_vmap(make)(keys, f, q)
    return out


def save_models(models: dict[str, BasinModel], folder) -> None:
    """Each kind's stacked weights to `folder/<kind>.eqx` (equinox serialisation)."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for kind, model in models.items():
        eqx.tree_serialise_leaves(folder / f"{kind}.eqx", model)


def load_models(folder, kinds, n_basins: int, options: ModelOptions = ModelOptions()) -> dict:
    """Models saved by `save_models`, for `n_basins` basins built with `options`."""
    from pathlib import Path

    skeletons = model_skeletons(kinds, n_basins, options)
    out = {}
    for kind, like in skeletons.items():
        path = Path(folder) / f"{kind}.eqx"
        if not path.is_file():
            raise DataError(f"no saved {kind} model at {path}")
        out[kind] = eqx.tree_deserialise_leaves(path, like)
    return out
