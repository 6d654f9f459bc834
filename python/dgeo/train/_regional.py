"""Training and running regional models: one network over many basins, mini-batches of windows.

Every basin of the training set is cut into windows; an epoch visits every window once in
shuffled mini-batches (one Adam step each). The loss is NSE* (Kratzert et al. 2019): squared
errors scaled by each basin's training-period discharge spread, so wet and dry basins weigh
alike. Statistics that standardise attributes, forcings and discharge come from the training
basins and period only: nothing leaks from held-out basins or the test period.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import NoneType
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr
from tqdm.auto import tqdm

from ..data import KRATZERT_ATTRIBUTES, DataError, attribute_matrix
from ..data._dataset import select_basins
from ..models import (
    REGIONAL_FORCINGS,
    REGIONAL_MODELS,
    RegionalModel,
    build_regional,
)
from ..nn import Standardiser
from ..physics import ExpHydro
from ..solve import AbstractSensitivity, AbstractSolver, Backprop, Discrete
from ..solve._types import (
    check_dataset,
    check_flag,
    check_instance,
    check_names,
    check_number,
    check_options_types,
    check_period,
    check_sensitivity,
    check_solver,
    type_error,
)
from ._fit import _zero_nonfinite, adam_update, check_option, nonfinite, warn_nonfinite
from ._search import search_starts
from ._windows import (
    Series,
    basin_series,
    check_observed,
    nse_per_row,
    observed_basins,
    window_starts,
)

#: Learning rates used when `RegionalOptions` names none.
DEFAULT_LEARNING_RATES = {"regional_lstm": 0.002}


@dataclass(frozen=True)
class RegionalOptions:
    """How regional models are built and trained.

    - `attributes`: static attribute names (default: the 27 of Kratzert et al. 2019).
    - `width`: hidden width of the parameter and weight networks (paper: 32); `filters`,
      `kernel`: the Conv1D head; `hidden`, `dropout`: the regional LSTM.
    - `epochs`, `batch_size` (windows per Adam step), `learning_rate` (cosine-decayed to
      `min_learning_rate` over the epochs; None: 0.002 for the LSTM, 0.005 for the others),
      `clip_norm` (global gradient norm).
    - `window_days`, `stride_days`, `spinup_days`: windows cut from every basin; the first
      `spinup_days` of each spin the states up and are not scored.
    - `search`: random parameter sets tried per training basin to find the physical start
      (the median of each basin's best set); 0 starts mid-range.
    - `learning_rates`: per-kind learning rates, which take precedence over `learning_rate`.
    """

    attributes: tuple[str, ...] = KRATZERT_ATTRIBUTES
    width: int = 32
    filters: int = 8
    kernel: int = 10
    hidden: int = 64
    dropout: float = 0.4
    epochs: int = 20
    batch_size: int = 64
    learning_rate: float | None = None
    learning_rates: dict = field(default_factory=dict)
    min_learning_rate: float = 1e-4
    clip_norm: float = 1.0
    window_days: int = 2190
    stride_days: int = 1825
    spinup_days: int = 365
    search: int = 256
    seed: int = 0
    solver: AbstractSolver = Discrete()
    sensitivity: AbstractSensitivity = Backprop()

    def __post_init__(self):
        integers = ("width", "filters", "kernel", "hidden", "epochs", "batch_size", "window_days")
        integers += ("stride_days", "spinup_days", "search", "seed")
        rates = ("learning_rate", "min_learning_rate")
        check_options_types(self, integers, (*rates, "dropout", "clip_norm"), ("learning_rate",))
        names = check_names(
            self.attributes, "RegionalOptions.attributes", "a tuple of static attribute names"
        )
        object.__setattr__(self, "attributes", names)
        check_instance(
            self.learning_rates,
            Mapping,
            "RegionalOptions.learning_rates",
            "a dict of model kind -> learning rate, e.g. {'regional_lstm': 0.002}",
        )
        for kind, rate in self.learning_rates.items():
            check_number(rate, f"RegionalOptions.learning_rates[{kind!r}]")
        unknown = sorted(set(self.learning_rates) - set(REGIONAL_MODELS))
        if unknown:
            raise ValueError(
                f"RegionalOptions.learning_rates has unknown model kind(s) {unknown}; "
                f"kinds: {', '.join(REGIONAL_MODELS)}"
            )
        check_solver(self.solver, "RegionalOptions.solver")
        check_sensitivity(self.sensitivity, "RegionalOptions.sensitivity")
        at_least_one = ("width", "filters", "kernel", "hidden", "epochs", "batch_size")
        for name in (*at_least_one, "window_days", "stride_days"):
            check_option(self, name, getattr(self, name) >= 1, "at least 1")
        check_option(self, "dropout", 0 <= self.dropout < 1, "in [0, 1)")
        rate = self.learning_rate
        check_option(self, "learning_rate", rate is None or 0 < rate < math.inf, "positive")
        check_option(
            self,
            "learning_rates",
            all(0 < r < math.inf for r in self.learning_rates.values()),
            "positive for every kind",
        )
        check_option(self, "min_learning_rate", 0 < self.min_learning_rate < math.inf, "positive")
        check_option(self, "clip_norm", 0 < self.clip_norm < math.inf, "positive")
        check_option(
            self,
            "spinup_days",
            0 <= self.spinup_days < self.window_days,
            f"0 or more and shorter than window_days ({self.window_days})",
        )
        check_option(self, "search", self.search >= 0, "0 or more")


#: For messages: what to pass as the data, the kinds, the outputs to keep.
DATASET = "an xarray.Dataset with dims (basin, time) such as dgeo.data.load_caravan gives"
KINDS = ", ".join(REGIONAL_MODELS)
KEEP = "a tuple of output names such as ('q', 'snow_storage'), or None for all"


def check_kind(kind) -> None:
    """A known regional model kind, or a TypeError (not a string) or ValueError (unknown)."""
    check_instance(kind, str, "kind", f"the name of a regional model ({KINDS})")
    if kind not in REGIONAL_MODELS:
        raise ValueError(f"unknown regional model {kind!r}; models: {KINDS}")


def check_options(options) -> None:
    check_instance(
        options,
        RegionalOptions,
        "options",
        "a dgeo.train.RegionalOptions such as RegionalOptions(epochs=20)",
    )


def check_days(value, name: str) -> None:
    check_number(value, name, integer=True, rule="0 or more")
    if value < 0:
        raise ValueError(f"{name} must be 0 or more, got {value}")


class Windows(NamedTuple):
    """Training samples: one row per (basin, window)."""

    inputs: dict[str, jax.Array]  # name -> (sample, time)
    qobs: jax.Array  # (sample, time), NaN unobserved
    attributes: jax.Array  # (sample, attribute)
    spread: jax.Array  # (sample,) the basin's training std of discharge
    basin: np.ndarray  # (sample,) basin index


def regional_series(ds: xr.Dataset, start, end, *, spinup_days: int = 0) -> Series:
    """The regional models' forcings and discharge of every basin of `ds` (basin-major)."""
    check_dataset(ds, "ds", DATASET)
    start, end = check_period((start, end), "(start, end)")
    check_days(spinup_days, "spinup_days")
    return basin_series(ds, start, end, spinup_days=spinup_days, forcings=REGIONAL_FORCINGS)


def _statistics(series: Series, attributes: np.ndarray):
    forcing = np.stack([series.inputs[n] for n in REGIONAL_FORCINGS], axis=-1)
    return (
        Standardiser.fit(attributes),
        Standardiser.fit(forcing),
        Standardiser.fit(series.qobs[..., None]),
    )


def _windows(series: Series, attributes: np.ndarray, o: RegionalOptions) -> Windows:
    days = series.qobs.shape[1]
    length = min(o.window_days, days)
    starts = window_starts(days, length, o.stride_days)
    index = starts[:, None] + np.arange(length)[None, :]
    n_basins, n_windows = len(series.basins), len(starts)
    cut = lambda a: a[:, index].reshape(n_basins * n_windows, length)  # noqa: E731
    qobs = cut(series.qobs)
    basin = np.repeat(np.arange(n_basins), n_windows)
    keep = np.isfinite(qobs[:, o.spinup_days :]).sum(axis=1) >= 2  # drop unobserved windows
    spread = np.nanstd(series.qobs, axis=1)
    return Windows(
        {k: jnp.asarray(cut(v)[keep]) for k, v in series.inputs.items()},
        jnp.asarray(qobs[keep]),
        jnp.asarray(attributes[basin[keep]], jnp.float32),
        jnp.asarray(spread[basin[keep]], jnp.float32),
        basin[keep],
    )


def nse_star_loss(q, qobs, spread, spinup_days: int, eps: float = 0.1):
    """Mean over observed days after spin-up of (q - qobs)^2 / (spread + eps)^2 (NSE*,
    Kratzert et al. 2019); `spread` is each row's basin discharge std (mm/day)."""
    days = qobs.shape[-1]
    mask = jnp.isfinite(qobs) & (jnp.arange(days) >= spinup_days)
    err = jnp.where(mask, q - jnp.where(mask, qobs, 0.0), 0.0) ** 2
    weight = 1.0 / (spread + eps) ** 2
    return jnp.sum(err * weight[:, None]) / jnp.maximum(jnp.sum(mask), 1)


def predict_regional(model: RegionalModel, inputs, attributes, *, key=None, full: bool = True):
    """Run a regional model on (basin, time) inputs and (basin, attribute) attributes."""
    if key is not None:
        key = jax.random.split(key, len(attributes))
    call = lambda x, a, k: model(x, a, key=k, full=full)  # noqa: E731
    return jax.vmap(call)(inputs, attributes, key)


def _optimizer(clip_norm: float):
    return optax.chain(
        _zero_nonfinite(), optax.clip_by_global_norm(clip_norm), optax.scale_by_adam()
    )


@eqx.filter_jit
def _regional_step(params, static, opt_state, lr, data: Windows, index, key, spinup, clip):
    batch = jax.tree_util.tree_map(lambda a: a[index], (data.inputs, data.qobs, data.attributes))
    inputs, qobs, attributes = batch
    spread = data.spread[index]

    def loss_fn(params):
        model = eqx.combine(params, static)
        q = predict_regional(model, inputs, attributes, key=key, full=False)["q"]
        return nse_star_loss(q, qobs, spread, spinup)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    return (*adam_update(_optimizer(clip), grads, opt_state, params, lr), loss, nonfinite(grads))


@eqx.filter_jit
def _validation_nse(model, inputs, attributes, qobs, spinup_days):
    q = predict_regional(model, inputs, attributes, full=False)["q"]
    return nse_per_row(q, qobs, spinup_days)


@dataclass
class RegionalFit:
    """A trained regional model, its training history and how long training took."""

    model: RegionalModel
    history: list[dict]
    seconds: float


def physical_start(series: Series, samples: int, key, spinup_days: int) -> np.ndarray:
    """Median over training basins of each basin's best random parameter set (fractions)."""
    best = search_starts(
        ExpHydro(), series, samples=samples, starts=1, key=key, spinup_days=spinup_days
    )
    return np.median(best[:, 0, :], axis=0)


def _train_loop(
    model,
    data: Windows,
    lr0: float,
    epochs: int,
    o: RegionalOptions,
    *,
    seed: int,
    label: str,
    progress: bool,
    validate=None,
):
    """`epochs` of shuffled mini-batch Adam steps with cosine decay; the model and history.
    With `validate` (model -> median validation NSE), the model of the best epoch is kept."""
    n = len(data.basin)
    batch = min(o.batch_size, n)
    steps = -(-n // batch)
    arrays = data._replace(basin=None)  # the host-side basin index stays out of the step
    params, static = eqx.partition(model, eqx.is_inexact_array)
    opt_state = _optimizer(o.clip_norm).init(params)
    rng = np.random.default_rng(seed)
    root = jax.random.key(seed)
    history, best = [], None
    bar = tqdm(range(epochs), desc=label, disable=not progress)
    for epoch in bar:
        began = time.perf_counter()
        lr = o.min_learning_rate + 0.5 * (lr0 - o.min_learning_rate) * (
            1 + np.cos(np.pi * epoch / epochs)
        )
        order = np.resize(rng.permutation(n), steps * batch).reshape(steps, batch)
        losses, bad = [], []
        for s, index in enumerate(order):
            params, opt_state, loss, n_bad = _regional_step(
                params,
                static,
                opt_state,
                jnp.asarray(lr, jnp.float32),
                arrays,
                jnp.asarray(index),
                jax.random.fold_in(root, epoch * steps + s),
                o.spinup_days,
                o.clip_norm,
            )
            losses.append(loss)
            bad.append(n_bad)
        loss = float(np.nanmean(jax.device_get(losses)))
        entry = {"epoch": epoch + 1, "loss": loss, "learning_rate": lr}
        entry["nonfinite_gradients"] = int(np.sum(jax.device_get(bad)))
        entry["seconds"] = time.perf_counter() - began  # training only, not validation
        if validate is not None:
            entry["validation_nse"] = score = validate(eqx.combine(params, static))
            if best is None or score > best[0]:
                best = (score, params)
        history.append(entry)
        bar.set_postfix(
            {k: f"{v:.3g}" for k, v in entry.items() if k in ("loss", "validation_nse")}
            | {"lr": f"{lr:.1e}"}
        )
    bar.close()
    warn_nonfinite(history, label)
    if best is not None:
        params = best[1]
    return eqx.combine(params, static), history


def train_regional(
    ds: xr.Dataset,
    kind: str,
    basins,
    period: tuple,
    options: RegionalOptions = RegionalOptions(),
    *,
    validation: tuple | None = None,
    progress: bool = True,
    label: str | None = None,
) -> RegionalFit:
    """Train a regional model of `kind` on `basins` of `ds` over `period` (start, end).

    With a `validation` period (start, end) the same basins are scored there after every
    epoch (after `options.spinup_days` of spin-up before it) and the epoch with the best
    median NSE is kept: a guard against a late divergence.

    `ds` needs `REGIONAL_FORCINGS`, `qobs` and the static attributes in `options.attributes`
    (as `dgeo.data.load_caravan` or `load_camels_us` give them). Everything that
    standardises the data is computed from these basins and this period only.
    The hybrids train their P-RNN and head jointly from the start: pre-training the P-RNN
    alone (as the per-basin hybrid does) made the joint stage unstable on CAMELS/ERA5-Land.
    """
    check_dataset(ds, "ds", DATASET)
    check_kind(kind)
    if not isinstance(basins, str | Iterable) or isinstance(basins, Mapping):
        raise type_error("basins", "a list of basin ids such as ['01022500', '01031500']", basins)
    period = check_period(period, "period")
    check_options(options)
    validation = None if validation is None else check_period(validation, "validation")
    progress = check_flag(progress, "progress")
    check_instance(label, str | NoneType, "label", "a string or None")
    o = options
    began = time.perf_counter()
    subset = select_basins(ds, basins, source="the dataset given to train_regional")
    series = regional_series(subset, *period)
    check_observed(series, o.spinup_days, "training")
    attributes = attribute_matrix(subset, o.attributes)
    attribute_stats, forcing_stats, q_stats = _statistics(series, attributes)
    root = jax.random.key(o.seed)
    start = None
    if kind != "regional_lstm" and o.search > 0:
        start = physical_start(series, o.search, jax.random.fold_in(root, 1), o.spinup_days)
    model = build_regional(
        kind,
        jax.random.fold_in(root, 2),
        attribute_stats,
        forcing_stats,
        q_stats,
        start=start,
        width=o.width,
        filters=o.filters,
        kernel=o.kernel,
        hidden=o.hidden,
        dropout=o.dropout,
        solver=o.solver,
        sensitivity=o.sensitivity,
    )
    data = _windows(series, attributes, o)
    if len(data.basin) == 0:
        raise DataError("no training window has observed discharge after spin-up")
    lr0 = o.learning_rates.get(kind, o.learning_rate)
    if lr0 is None:
        lr0 = DEFAULT_LEARNING_RATES.get(kind, 0.005)
    validate = None
    if validation is not None:
        held = regional_series(subset, *validation, spinup_days=o.spinup_days)
        seen = observed_basins(held, o.spinup_days)
        if not seen.any():
            check_observed(held, o.spinup_days, "validation")  # raises, naming them
        if not seen.all():
            warnings.warn(
                f"basin(s) {', '.join(held.basins[~seen])} have no observed discharge in the "
                f"validation period {validation[0]}..{validation[1]}: they still train, and "
                f"the best epoch is chosen on the other {int(seen.sum())} basins",
                stacklevel=2,
            )
        inputs = {k: jnp.asarray(v[seen]) for k, v in held.inputs.items()}
        qobs, attrs = jnp.asarray(held.qobs[seen]), jnp.asarray(attributes[seen], jnp.float32)

        def validate(model):
            nse = _validation_nse(model, inputs, attrs, qobs, o.spinup_days)
            return float(np.nanmedian(np.asarray(nse)))

    model, history = _train_loop(
        model,
        data,
        lr0,
        o.epochs,
        o,
        seed=o.seed,
        label=label or kind,
        progress=progress,
        validate=validate,
    )
    return RegionalFit(model, history, time.perf_counter() - began)


def simulate_regional(
    model: RegionalModel,
    ds: xr.Dataset,
    start,
    end,
    *,
    attributes=KRATZERT_ATTRIBUTES,
    spinup_days: int = 365,
    chunk: int = 64,
) -> tuple[Series, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run `model` on every basin of `ds` from `start - spinup_days` to `end`.

    Returns the scored series (spin-up dropped), outputs name -> (basin, time) and the
    physical parameters name -> (basin,) (empty for the LSTM). Basins run in chunks of
    `chunk` (one compiled shape) to bound memory.
    """
    check_instance(
        model, RegionalModel, "model", "a regional model as train_regional returns (fit.model)"
    )
    check_dataset(ds, "ds", DATASET)
    start, end = check_period((start, end), "(start, end)")
    attributes = check_names(attributes, "attributes", "a tuple of static attribute names")
    check_days(spinup_days, "spinup_days")
    check_number(chunk, "chunk", integer=True, rule="at least 1")
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    series = regional_series(ds, start, end, spinup_days=spinup_days)
    attrs = np.asarray(attribute_matrix(ds, attributes), np.float32)
    n = len(series.basins)
    run = eqx.filter_jit(lambda m, x, a: predict_regional(m, x, a))
    pieces = []
    for i in range(0, n, chunk):
        rows = np.minimum(np.arange(i, i + chunk), n - 1)  # pad the last chunk
        x = {k: jnp.asarray(v[rows]) for k, v in series.inputs.items()}
        out = run(model, x, jnp.asarray(attrs[rows]))
        keep = min(chunk, n - i)
        pieces.append({k: np.asarray(v[:keep, spinup_days:]) for k, v in out.items()})
    outputs = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
    parameters = {
        k: np.asarray(v) for k, v in jax.vmap(model.physical_parameters)(jnp.asarray(attrs)).items()
    }
    scored = Series(
        {k: v[:, spinup_days:] for k, v in series.inputs.items()},
        series.qobs[:, spinup_days:],
        series.basins,
        series.time[spinup_days:],
    )
    return scored, outputs, parameters


def regional_results(
    models: dict[str, RegionalModel],
    ds: xr.Dataset,
    period: tuple,
    options: RegionalOptions = RegionalOptions(),
    *,
    keep: tuple[str, ...] | None = None,
) -> xr.Dataset:
    """The results Dataset (`dgeo.evaluate.results_dataset`) of regional `models` on every
    basin of `ds` over `period`, scored after `options.spinup_days` of spin-up before it.
    `keep` limits the saved outputs (e.g. ("q", "snow_storage")) to save memory."""
    from ..evaluate import results_dataset

    check_instance(models, Mapping, "models", "a dict of kind -> regional model")
    for kind, model in models.items():
        check_instance(model, RegionalModel, f"models[{kind!r}]", "a regional model")
    check_dataset(ds, "ds", DATASET)
    period = check_period(period, "period")
    check_options(options)
    keep = check_names(keep, "keep", KEEP, optional=True)
    outputs, parameters, series = {}, {}, None
    for kind, model in models.items():
        series, out, parameters[kind] = simulate_regional(
            model, ds, *period, attributes=options.attributes, spinup_days=options.spinup_days
        )
        outputs[kind] = {k: v for k, v in out.items() if keep is None or k in keep}
    return results_dataset(series, outputs, parameters, ExpHydro())


def cross_validate(
    ds: xr.Dataset,
    kinds=tuple(REGIONAL_MODELS),
    *,
    train_period: tuple,
    test_period: tuple,
    folds: int = 5,
    seed: int = 0,
    options: RegionalOptions = RegionalOptions(),
    keep: tuple[str, ...] | None = ("q", "q_physical", "snow_storage"),
    progress: bool = True,
    validation: tuple | None = None,
) -> tuple[xr.Dataset, dict]:
    """Ungauged-basin (PUB) cross-validation: a seeded `folds`-fold split of the basins of
    `ds`; each model is trained on the other folds over `train_period` and predicts the
    held-out fold over `test_period`. Returns the results Dataset of every basin as predicted
    when held out (basin order of `ds`, a `fold` coordinate) and kind -> training seconds.

    With a `validation` period, each model keeps its epoch with the best median NSE of the
    *training* basins over that period (see `train_regional`); held-out basins stay unseen.
    """
    from ..data import kfold_basins

    check_dataset(ds, "ds", DATASET)
    kinds = (kinds,) if isinstance(kinds, str) else kinds
    kinds = check_names(kinds, "kinds", f"a tuple of regional model kinds ({KINDS})")
    for kind in kinds:  # all before the first fold trains
        check_kind(kind)
    train_period = check_period(train_period, "train_period")
    test_period = check_period(test_period, "test_period")
    check_number(folds, "folds", integer=True, rule="2 or more")
    check_number(seed, "seed", integer=True)
    check_options(options)
    keep = check_names(keep, "keep", KEEP, optional=True)
    progress = check_flag(progress, "progress")
    validation = None if validation is None else check_period(validation, "validation")
    basins = ds["basin"].values.astype(str)
    pieces, seconds = [], dict.fromkeys(kinds, 0.0)
    for i, (train, test) in enumerate(kfold_basins(basins, folds, seed)):
        models = {}
        for kind in kinds:
            label = f"{kind} fold {i + 1}/{folds}"
            fit = train_regional(
                ds,
                kind,
                train,
                train_period,
                options,
                validation=validation,
                progress=progress,
                label=label,
            )
            models[kind], seconds[kind] = fit.model, seconds[kind] + fit.seconds
        part = regional_results(models, ds.sel(basin=test), test_period, options, keep=keep)
        pieces.append(part.assign_coords(fold=("basin", np.full(len(test), i))))
    results = xr.concat(pieces, dim="basin", data_vars="minimal", coords="minimal")
    return results.sel(basin=basins), seconds
