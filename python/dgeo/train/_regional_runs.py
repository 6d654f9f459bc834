"""Running trained regional models: simulation, results Datasets, saved weights, and the
ungauged-basin (PUB) cross-validation, resumable fold by fold."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import NoneType

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from ..data import KRATZERT_ATTRIBUTES, DataError, attribute_matrix
from ..models import REGIONAL_FORCINGS, RegionalModel, build_regional, physics_of
from ..nn import Standardiser
from ..physics import PhysicalModel
from ..solve._types import (
    check_dataset,
    check_flag,
    check_instance,
    check_names,
    check_number,
    check_period,
)
from ._regional import (
    DATASET,
    KEEP,
    KINDS,
    RegionalOptions,
    architecture,
    check_days,
    check_kind,
    check_options,
    predict_regional,
    regional_series,
    train_regional,
)
from ._windows import Series


@eqx.filter_jit
def _predict(model, inputs, attributes):
    """`predict_regional` compiled once per model structure and chunk shape (a new jitted
    lambda per call would compile again every time)."""
    return predict_regional(model, inputs, attributes)


def simulate_regional(
    model: RegionalModel,
    ds: xr.Dataset,
    start,
    end,
    *,
    attributes=KRATZERT_ATTRIBUTES,
    spinup_days: int = 365,
    chunk: int = 64,
    physics: PhysicalModel | None = None,
) -> tuple[Series, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run `model` on every basin of `ds` from `start - spinup_days` to `end`.

    Returns the scored series (spin-up dropped), outputs name -> (basin, time) and the
    physical parameters name -> (basin,) (empty for the LSTM). Basins run in chunks of
    `chunk` (one compiled shape) to bound memory. The forcings read are the networks' and
    those of the model's physics (`physics`, default: the one inside `model`).
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
    physics = physics or physics_of(model)
    series = regional_series(ds, start, end, spinup_days=spinup_days, physics=physics)
    attrs = np.asarray(attribute_matrix(ds, attributes), np.float32)
    n = len(series.basins)
    pieces = []
    for i in range(0, n, chunk):
        rows = np.minimum(np.arange(i, i + chunk), n - 1)  # pad the last chunk
        x = {k: jnp.asarray(v[rows]) for k, v in series.inputs.items()}
        out = _predict(model, x, jnp.asarray(attrs[rows]))
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
    return results_dataset(series, outputs, parameters, options.physics)


def save_regional(models: Mapping[str, RegionalModel], folder: str | os.PathLike) -> None:
    """Each model's weights to `folder/<kind>.eqx` (equinox serialisation)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for kind, model in models.items():
        eqx.tree_serialise_leaves(folder / f"{kind}.eqx", model)


def regional_skeleton(kind: str, n_attributes: int, options: RegionalOptions) -> RegionalModel:
    """A regional model of `kind` with the structure `options` gives it, to load weights into."""
    check_kind(kind)
    stats = (
        Standardiser(jnp.zeros(n_attributes), jnp.ones(n_attributes)),
        Standardiser(jnp.zeros(len(REGIONAL_FORCINGS)), jnp.ones(len(REGIONAL_FORCINGS))),
        Standardiser(jnp.zeros(1), jnp.ones(1)),
    )
    return build_regional(kind, jax.random.key(0), *stats, **architecture(options))


def load_regional(
    folder: str | os.PathLike, kinds, options: RegionalOptions | Mapping[str, RegionalOptions]
) -> dict[str, RegionalModel]:
    """Regional models saved by `save_regional` (`folder/<kind>.eqx`), built with `options`
    (one for all kinds, or kind -> options)."""
    out = {}
    for kind in kinds:
        o = options[kind] if isinstance(options, Mapping) else options
        path = Path(folder) / f"{kind}.eqx"
        if not path.is_file():
            raise DataError(f"no saved {kind} model at {path}")
        like = regional_skeleton(kind, len(o.attributes), o)
        try:
            out[kind] = eqx.tree_deserialise_leaves(path, like)
        except (ValueError, TypeError, EOFError) as err:
            raise DataError(
                f"{path} does not fit a {kind} built with these options ({err})"
            ) from None
    return out


def _options_of(options, kind: str) -> RegionalOptions:
    return options[kind] if isinstance(options, Mapping) else options


def cross_validate(
    ds: xr.Dataset,
    kinds=tuple(KINDS.split(", ")),
    *,
    train_period: tuple,
    test_period: tuple,
    folds: int = 5,
    seed: int = 0,
    options: RegionalOptions | Mapping[str, RegionalOptions] = RegionalOptions(),
    keep: tuple[str, ...] | None = ("q", "q_physical", "snow_storage"),
    progress: bool = True,
    validation: tuple | None = None,
    run_dir: str | os.PathLike | None = None,
    resume: bool = False,
) -> tuple[xr.Dataset, dict]:
    """Ungauged-basin (PUB) cross-validation: a seeded `folds`-fold split of the basins of
    `ds`; each model is trained on the other folds over `train_period` and predicts the
    held-out fold over `test_period`. Returns the results Dataset of every basin as predicted
    when held out (basin order of `ds`, a `fold` coordinate) and kind -> training seconds.

    `options` is one `RegionalOptions` for every kind or a mapping kind -> options. With a
    `validation` period, each model keeps its epoch with the best median NSE of the
    *training* basins over that period (see `train_regional`); held-out basins stay unseen.

    With `run_dir`, each (kind, fold) checkpoints every epoch in
    `run_dir/checkpoints/<kind>/fold<i>/` and its held-out results are kept in
    `run_dir/folds/<kind>_fold<i>.nc` once it is done; with `resume=True` finished folds are
    read back, not trained again, and an unfinished one continues from its last epoch.
    """
    from ..data import kfold_basins
    from ..evaluate import load_results, save_results

    check_dataset(ds, "ds", DATASET)
    kinds = (kinds,) if isinstance(kinds, str) else kinds
    kinds = check_names(kinds, "kinds", f"a tuple of regional model kinds ({KINDS})")
    for kind in kinds:  # all before the first fold trains
        check_kind(kind)
    train_period = check_period(train_period, "train_period")
    test_period = check_period(test_period, "test_period")
    check_number(folds, "folds", integer=True, rule="2 or more")
    check_number(seed, "seed", integer=True)
    if isinstance(options, Mapping):
        missing = [k for k in kinds if k not in options]
        if missing:
            raise ValueError(f"options has no RegionalOptions for {', '.join(missing)}")
        for kind in kinds:
            check_instance(
                options[kind], RegionalOptions, f"options[{kind!r}]", "a dgeo.train.RegionalOptions"
            )
    else:
        check_options(options)
    keep = check_names(keep, "keep", KEEP, optional=True)
    progress = check_flag(progress, "progress")
    resume = check_flag(resume, "resume")
    validation = None if validation is None else check_period(validation, "validation")
    check_instance(run_dir, str | os.PathLike | NoneType, "run_dir", "a folder path or None")
    basins = ds["basin"].values.astype(str)
    per_kind = []
    seconds = dict.fromkeys(kinds, 0.0)
    for kind in kinds:
        o = _options_of(options, kind)
        pieces = []
        for i, (train, test) in enumerate(kfold_basins(basins, folds, seed)):
            done = None if run_dir is None else Path(run_dir) / "folds" / f"{kind}_fold{i}.nc"
            if done is not None and resume and done.is_file():
                part = load_results(done)
                seconds[kind] += float(part.attrs.get("training_seconds", 0.0))
                pieces.append(part)
                continue
            fit = train_regional(
                ds,
                kind,
                train,
                train_period,
                o,
                validation=validation,
                progress=progress,
                label=f"{kind} fold {i + 1}/{folds}",
                checkpoint_dir=None
                if run_dir is None
                else Path(run_dir) / "checkpoints" / kind / f"fold{i}",
                resume=resume,
            )
            seconds[kind] += fit.seconds
            part = regional_results(
                {kind: fit.model}, ds.sel(basin=test), test_period, o, keep=keep
            )
            part = part.assign_coords(fold=("basin", np.full(len(test), i)))
            part.attrs["training_seconds"] = fit.seconds
            if done is not None:
                save_results(part, done)
            pieces.append(part)
        per_kind.append(xr.concat(pieces, dim="basin", data_vars="minimal", coords="minimal"))
    results = xr.concat(per_kind, dim="model", data_vars="minimal", coords="minimal")
    results.attrs.pop("training_seconds", None)
    return results.sel(basin=basins), seconds
