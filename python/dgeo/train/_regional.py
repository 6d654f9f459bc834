"""Training and running regional models: one network over many basins, mini-batches of windows.

Every basin of the training set is cut into windows; an epoch visits every window once in
shuffled mini-batches (one Adam step each). The loss is NSE* (Kratzert et al. 2019): squared
errors scaled by each basin's training-period discharge spread, so wet and dry basins weigh
alike. Statistics that standardise attributes, forcings and discharge come from the training
basins and period only: nothing leaks from held-out basins or the test period.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import NoneType
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from ..data import KRATZERT_ATTRIBUTES, DataError, attribute_matrix
from ..data._dataset import select_basins
from ..models import (
    REGIONAL_FORCINGS,
    REGIONAL_MODELS,
    RegionalModel,
    build_regional,
)
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
    type_error,
)
from . import _feed, _stream
from ._checkpoint import has_checkpoint
from ._fit import check_option
from ._loop import Cosine, train_loop
from ._search import search_starts
from ._windows import (
    Series,
    basin_series,
    check_observed,
    nse_per_row,
    observed_basins,
    windows,
)

#: Learning rates used when `RegionalOptions` names none.
DEFAULT_LEARNING_RATES = {"regional_lstm": 0.002}


@dataclass(frozen=True)
class RegionalOptions:
    """How regional models are built and trained.

    - `attributes`: static attribute names (default: the 27 of Kratzert et al. 2019).
    - `width`: hidden width of the parameter and weight networks (paper: 32); `filters`,
      `kernel`: the Conv1D head; `hidden`, `dropout`: the regional LSTM, and the LSTM of
      `regional_dpl`'s daily parameters.
    - `epochs`, `batch_size` (windows per Adam step), `learning_rate` (cosine-decayed to
      `min_learning_rate` over the epochs; None: 0.002 for the LSTM, 0.005 for the others),
      `clip_norm` (global gradient norm).
    - `window_days`, `stride_days`, `spinup_days`: windows cut from every basin; the first
      `spinup_days` of each spin the states up and are not scored.
    - `search`: random parameter sets tried per training basin to find the physical start
      (the median of each basin's best set); 0 starts mid-range.
    - `learning_rates`: per-kind learning rates, which take precedence over `learning_rate`.
    - `patience`: stop when the median validation NSE has not improved for this many epochs
      (only with a validation period; None: train every epoch).
    - `physics`: the physical model of the models with a P-RNN (default EXP-HYDRO); the
      forcings it declares are read from the data besides `REGIONAL_FORCINGS`.
    - `stream`: read the training windows from the data a batch at a time instead of holding
      them all (`dgeo.train.LazyWindows`): for more basins than fit in memory, with a lazily
      opened dataset (`dgeo.data.NetCDF(path, lazy=True)`). The statistics come from one pass
      over the basins in blocks; the physical start is searched on at most 256 of them (per
      process), so with more basins and `search` > 0 it differs from in-memory training's.
      Runs of several processes (`dgeo.distributed`) always stream.
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
    patience: int | None = None
    physics: PhysicalModel = ExpHydro()
    stream: bool = False

    def __post_init__(self):
        check_flag(self.stream, "RegionalOptions.stream")
        integers = ("width", "filters", "kernel", "hidden", "epochs", "batch_size", "window_days")
        integers += ("stride_days", "spinup_days", "search", "seed", "patience")
        rates = ("learning_rate", "min_learning_rate")
        check_options_types(
            self, integers, (*rates, "dropout", "clip_norm"), ("learning_rate", "patience")
        )
        check_physical_model(self.physics, "RegionalOptions.physics")
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
        check_option(
            self, "patience", self.patience is None or self.patience >= 1, "None or at least 1"
        )

    def record(self) -> dict:
        """The options as JSON (objects by their repr): what a checkpoint was trained with."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _jsonable(value):
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


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


def regional_forcings(physics: PhysicalModel | None) -> dict[str, str]:
    """The forcings (name -> units) regional models with `physics` read: the networks'
    `REGIONAL_FORCINGS` and whatever the physical model declares (None: no physics)."""
    return {**REGIONAL_FORCINGS, **({} if physics is None else physics.forcings)}


def regional_series(
    ds: xr.Dataset,
    start,
    end,
    *,
    spinup_days: int = 0,
    physics: PhysicalModel | None = ExpHydro(),
) -> Series:
    """The forcings of regional models with `physics` and the discharge of every basin of
    `ds` (basin-major)."""
    check_dataset(ds, "ds", DATASET)
    start, end = check_period((start, end), "(start, end)")
    check_days(spinup_days, "spinup_days")
    forcings = regional_forcings(physics)
    return basin_series(ds, start, end, spinup_days=spinup_days, forcings=forcings)


def _statistics(series: Series, attributes: np.ndarray):
    """Standardisers of the attributes, the networks' forcings and discharge."""
    forcing = np.stack([series.inputs[n] for n in REGIONAL_FORCINGS], axis=-1)
    return (
        Standardiser.fit(attributes),
        Standardiser.fit(forcing),
        Standardiser.fit(series.qobs[..., None]),
    )


def _windows(series: Series, attributes: np.ndarray, o: RegionalOptions) -> Windows:
    """Every window of every basin as one sample (basin-major); windows without two observed
    days after the spin-up are dropped."""
    cut = windows(series, min(o.window_days, series.qobs.shape[1]), o.stride_days)
    n_basins, n_windows, length = cut.qobs.shape
    flat = lambda a: a.reshape(n_basins * n_windows, length)  # noqa: E731
    qobs = flat(cut.qobs)
    basin = np.repeat(np.arange(n_basins), n_windows)
    keep = np.isfinite(qobs[:, o.spinup_days :]).sum(axis=1) >= 2
    spread = np.nanstd(series.qobs, axis=1)
    return Windows(
        {k: jnp.asarray(flat(v)[keep]) for k, v in cut.inputs.items()},
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


class NSEStarLoss(eqx.Module):
    """The regional loss: NSE* (`nse_star_loss`) of a mini-batch of `Windows`."""

    spinup_days: int = eqx.field(static=True)

    def __call__(self, model, batch: Windows, key):
        q = predict_regional(model, batch.inputs, batch.attributes, key=key, full=False)["q"]
        return nse_star_loss(q, batch.qobs, batch.spread, self.spinup_days)


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


def physical_start(
    series: Series, samples: int, key, spinup_days: int, physics: PhysicalModel = ExpHydro()
) -> np.ndarray:
    """Median over training basins of each basin's best random parameter set (fractions)."""
    best = search_starts(
        physics, series, samples=samples, starts=1, key=key, spinup_days=spinup_days
    )
    return np.median(best[:, 0, :], axis=0)


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
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    callback: Callable[[dict], None] | None = None,
) -> RegionalFit:
    """Train a regional model of `kind` on `basins` of `ds` over `period` (start, end).

    Every window of every basin is a sample; each epoch visits them in shuffled mini-batches
    of `options.batch_size` with a cosine-decayed learning rate (`dgeo.train.train_loop`).
    With a `validation` period (start, end) the same basins are scored there after every
    epoch (after `options.spinup_days` of spin-up before it) and the epoch with the best
    median NSE is kept: a guard against a late divergence.

    `ds` needs `REGIONAL_FORCINGS`, the forcings of `options.physics`, `qobs` and the static
    attributes in `options.attributes` (as `dgeo.data.load_caravan` or `load_camels_us` give
    them). Everything that standardises the data is computed from these basins and this
    period only. The hybrids train their P-RNN and head jointly from the start: pre-training
    the P-RNN alone (as the per-basin hybrid does) made the joint stage unstable on
    CAMELS/ERA5-Land.

    With `checkpoint_dir` the training state is saved there after every epoch, and
    `resume=True` continues from it: the resumed run ends exactly where an uninterrupted one
    ends. A checkpoint of another kind, basin list, period or options is a `CheckpointError`.
    """
    check_dataset(ds, "ds", DATASET)
    check_kind(kind)
    if not isinstance(basins, str | Iterable) or isinstance(basins, Mapping):
        raise type_error("basins", "a list of basin ids such as ['01022500', '01031500']", basins)
    period = check_period(period, "period")
    check_options(options)
    validation = None if validation is None else check_period(validation, "validation")
    progress = check_flag(progress, "progress")
    resume = check_flag(resume, "resume")
    check_instance(label, str | NoneType, "label", "a string or None")
    check_instance(
        checkpoint_dir, str | os.PathLike | NoneType, "checkpoint_dir", "a folder path or None"
    )
    o = options
    began = time.perf_counter()
    subset = select_basins(ds, basins, source="the dataset given to train_regional")
    names = list(subset["basin"].to_numpy().astype(str))
    root = jax.random.key(o.seed)
    saved = checkpoint_dir is not None and resume and has_checkpoint(checkpoint_dir)
    search = kind != "regional_lstm" and o.search > 0 and not saved  # a checkpoint has weights
    if o.stream or jax.process_count() > 1:
        subset = process_share(subset)
        prepared = _streamed(subset, period, validation, o, search, jax.random.fold_in(root, 1))
        model_stats, start, data, validate = prepared
    else:
        series = regional_series(subset, *period, physics=o.physics)
        check_observed(series, o.spinup_days, "training")
        attributes = attribute_matrix(subset, o.attributes)
        model_stats = _statistics(series, attributes)
        start = None
        if search:
            key = jax.random.fold_in(root, 1)
            start = physical_start(series, o.search, key, o.spinup_days, o.physics)
        data = _windows(series, attributes, o)
        if len(data.basin) == 0:
            raise DataError("no training window has observed discharge after spin-up")
        data = data._replace(basin=None)  # the host-side basin index stays out of the step
        validate = None
        if validation is not None:
            validate = _validation(subset, attributes, validation, o)
    attribute_stats, forcing_stats, q_stats = model_stats
    model = build_regional(
        kind,
        jax.random.fold_in(root, 2),
        attribute_stats,
        forcing_stats,
        q_stats,
        start=start,
        **architecture(o),
    )
    lr0 = learning_rate(kind, o)
    record = {
        "kind": kind,
        "basins": names,
        "period": list(period),
        "validation": None if validation is None else list(validation),
        "options": o.record(),
    }
    fit = train_loop(
        model,
        NSEStarLoss(o.spinup_days),
        data,
        epochs=o.epochs,
        schedule=Cosine(lr0, o.min_learning_rate, o.epochs),
        batch_size=o.batch_size,
        clip_norm=o.clip_norm,
        patience=o.patience if validation is not None else None,
        seed=o.seed,
        validate=validate,
        checkpoint_dir=checkpoint_dir,
        resume=resume,
        record=record,
        progress=progress,
        label=label or kind,
        callback=callback,
    )
    return RegionalFit(fit.model, fit.history, time.perf_counter() - began)


def _streamed(subset: xr.Dataset, period, validation, o: RegionalOptions, search: bool, key):
    """The statistics, physical start, lazily read windows and validation of streamed
    training (`RegionalOptions.stream`) on the basins of `subset` (this process's share)."""
    from ..data import select_period

    days = select_period(subset[["qobs"]], *period).sizes["time"]
    read = _stream.block_reader(subset, *period, 0, o.physics)
    n = subset.sizes["basin"]
    _feed.check_shares(_feed.process_counts(n), "basins")  # before the survey reads them
    found = _stream.survey(read, n, days, o.window_days, o.stride_days, o.spinup_days)
    # (a process whose basins have no window is refused by train_loop, on every process)
    if np.sum(_feed.process_counts(len(found.basin))) == 0:
        raise DataError("no training window has observed discharge after spin-up")
    attributes = attribute_matrix(subset, o.attributes)
    moments = _stream._Moments(attributes.shape[1])
    moments.add(attributes)
    start = None
    if search:
        pick = np.unique(np.linspace(0, n - 1, min(n, _stream.BLOCK)).astype(int))
        best = search_starts(
            o.physics, read(pick), samples=o.search, starts=1, key=key, spinup_days=o.spinup_days
        )
        start = np.median(_stream.gather_rows(best[:, 0, :]), axis=0)
    validate = None
    if validation is not None:
        held = _stream.block_reader(subset, *validation, o.spinup_days, o.physics)
        validate = _stream.streamed_validation(held, n, attributes, o.spinup_days)
    stats = (moments.standardiser(), found.forcing_stats, found.q_stats)
    return stats, start, _stream.LazyWindows(read, found, attributes), validate


def process_share(ds: xr.Dataset) -> xr.Dataset:
    """This process's share of the basins of `ds`: every `jax.process_count()`-th basin from
    the `jax.process_index()`-th (all of them with one process)."""
    return ds.isel(basin=slice(jax.process_index(), None, jax.process_count()))


def learning_rate(kind: str, o: RegionalOptions) -> float:
    """The initial learning rate of `kind`: `o.learning_rates[kind]`, else `o.learning_rate`,
    else `DEFAULT_LEARNING_RATES` (0.005 for kinds it does not name)."""
    lr = o.learning_rates.get(kind, o.learning_rate)
    return DEFAULT_LEARNING_RATES.get(kind, 0.005) if lr is None else lr


def architecture(o: RegionalOptions) -> dict:
    """The keyword arguments of `dgeo.models.build_regional` that `o` sets."""
    names = ("width", "filters", "kernel", "hidden", "dropout", "solver", "sensitivity")
    return {name: getattr(o, name) for name in names} | {"physics": o.physics}


def _validation(subset: xr.Dataset, attributes: np.ndarray, period, o: RegionalOptions):
    """model -> median NSE over `period` of the basins of `subset` that have observations
    there (the others are named in a warning)."""
    held = regional_series(subset, *period, spinup_days=o.spinup_days, physics=o.physics)
    seen = observed_basins(held, o.spinup_days)
    if not seen.any():
        check_observed(held, o.spinup_days, "validation")  # raises, naming them
    if not seen.all():
        warnings.warn(
            f"basin(s) {', '.join(held.basins[~seen])} have no observed discharge in the "
            f"validation period {period[0]}..{period[1]}: they still train, and "
            f"the best epoch is chosen on the other {int(seen.sum())} basins",
            stacklevel=3,
        )
    inputs = {k: jnp.asarray(v[seen]) for k, v in held.inputs.items()}
    qobs, attrs = jnp.asarray(held.qobs[seen]), jnp.asarray(attributes[seen], jnp.float32)

    def validate(model):
        nse = _validation_nse(model, inputs, attrs, qobs, o.spinup_days)
        return float(np.nanmedian(np.asarray(nse)))

    return validate
