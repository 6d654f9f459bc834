"""The sections of a run configuration, each parsed and checked on its own: the data, the
basins, the models, the periods, `experiment:`, `regional:` and `snow:`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..data import PET_METHODS
from ..models import MODELS, REGIONAL_MODELS
from ..train import FitOptions, ModelOptions, Periods, RegionalOptions
from ._objects import physics_class
from ._values import ConfigError, build, check_keys, choice, names, numbers, period

#: Keys of a `data:` mapping that hold paths (relative ones are taken from the YAML's folder).
PATH_KEYS = ("path", "root", "attributes")
#: `devices: all`: every device JAX has.
ALL_DEVICES = "all"
EXPERIMENTS = ("temporal", "pub")
BASIN_FILTERS = (None, "paper")
#: The options of `regional:` that are not numbers, or are set elsewhere in the file.
REGIONAL_OTHER = ("attributes", "learning_rates", "solver", "sensitivity", "physics")
REGIONAL_ZERO_OK = ("search", "seed", "dropout", "spinup_days")
#: Model kinds with a P-RNN, whose results hold its states (snow storage among them).
_WITH_PHYSICS = ("physical", "hybrid", "regional_physical", "regional_hybrid")
_WITH_PHYSICS += ("pseudo_regional_hybrid", "dpl", "regional_dpl")


@dataclass(frozen=True)
class Experiment:
    """What a run tests.

    - `type`: `temporal` trains on `periods.train` and tests every basin on `periods.test`
      (for per-basin models: the per-basin experiment of Jiang et al. 2020); `pub` (regional
      models) is the ungauged-basin test: a `folds`-fold basin split seeded by `seed`, each
      fold predicted by models trained on the others.
    - `basin_filter`: `paper` keeps the humid basins of Jiang et al. (2020).
    - `keep`: the regional models' outputs saved in the results (None: all of them).
    """

    type: str = "temporal"
    folds: int = 5
    seed: int = 0
    basin_filter: str | None = None
    keep: tuple[str, ...] | None = ("q", "q_physical", "snow_storage")


@dataclass(frozen=True)
class Snow:
    """Snow storage of `model` against observed snow water equivalent: `variable` of the
    netCDF file `swe` (basin, time), over `period` (None: the test period). `storage`: the
    physical model's states whose sum is its snow water equivalent (EXP-HYDRO's
    `snow_storage`; HBV's `snowpack` and `meltwater`, the liquid water the pack holds)."""

    swe: str
    variable: str = "swe_ua"
    model: str = "regional_hybrid"
    period: tuple[str, str] | None = None
    storage: tuple[str, ...] = ("snow_storage",)


def data_spec(value) -> str | dict:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict):
        source = value.get("source")
        if not isinstance(source, str) or not source:
            raise ConfigError(
                "data as a mapping needs `source`: a source name or an import path "
                f"'package.module:ClassName' (e.g. {{source: netcdf, path: FILE}}), got {value!r}"
            )
        pet = value.get("pet")
        if pet is not None and pet not in PET_METHODS:
            raise ConfigError(
                f"data.pet is {pet!r}; known PET methods: {', '.join(PET_METHODS)} (leave it "
                "out to use the data's own pet)"
            )
        return dict(value)
    raise ConfigError(
        f"data must be a path, 'synthetic' or a mapping {{source: NAME, ...options}}, got {value!r}"
    )


def devices(value) -> int | str | None:
    """`devices:`, the devices training splits its samples over: a positive integer, `all`,
    or None (absent: one device, as without data parallelism)."""
    if value is None or value == ALL_DEVICES:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    raise ConfigError(
        f"devices must be a positive integer (the first N devices; on a CPU, N one-thread CPU "
        f"devices) or {ALL_DEVICES!r} (every device JAX has), got {value!r}"
    )


def basin_ids(basins) -> list[str] | None:
    if basins is None:
        return None
    if not isinstance(basins, list) or not basins:
        raise ConfigError(f"basins must be a non-empty list of ids, got {basins!r}")
    for i, b in enumerate(basins):
        if not isinstance(b, str):
            raise ConfigError(
                f"basins[{i}] is {b!r}, not a string: quote basin ids in YAML "
                "('01022500'), or their leading zeros are lost"
            )
    return basins


def model_kinds(models) -> tuple[str, ...]:
    models = [models] if isinstance(models, str) else models
    if not isinstance(models, list) or not models:
        raise ConfigError(f"models must be a non-empty list, got {models!r}")
    for i, kind in enumerate(models):
        choice(kind, [*MODELS, *REGIONAL_MODELS], f"models[{i}]")
    regional = [k for k in models if k in REGIONAL_MODELS]
    if regional and len(regional) < len(models):
        basin = [k for k in models if k not in REGIONAL_MODELS]
        raise ConfigError(
            f"models mixes per-basin models ({', '.join(basin)}) and regional ones "
            f"({', '.join(regional)}): they train and test differently; put them in two "
            "configurations"
        )
    if len(set(models)) < len(models):
        raise ConfigError(f"models names a model more than once: {models!r}")
    return tuple(models)


def periods(section) -> Periods:
    check_keys(section, ["train", "validation", "test"], "periods")
    defaults = Periods()
    validation = section.get("validation", defaults.validation)
    return Periods(
        train=period(section.get("train", defaults.train), "periods.train"),
        validation=None if validation is None else period(validation, "periods.validation"),
        test=period(section.get("test", defaults.test), "periods.test"),
    )


def _integer(section: dict, name: str, default: int, least: int, where: str) -> int:
    value = section.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ConfigError(f"{where}.{name} must be an integer, got {value!r}")
    if value < least:
        raise ConfigError(f"{where}.{name} must be at least {least}, got {value!r}")
    return int(value)


def experiment(section, regional: bool) -> Experiment:
    check_keys(section, [f.name for f in dataclasses.fields(Experiment)], "experiment")
    kind = choice(section.get("type", "temporal"), EXPERIMENTS, "experiment.type")
    if kind == "pub" and not regional:
        raise ConfigError(
            "experiment.type pub (ungauged basins) needs regional models: per-basin models "
            f"learn each basin from its own record; models: {', '.join(REGIONAL_MODELS)}"
        )
    keep = Experiment.keep
    if "keep" in section:
        if not regional:
            raise ConfigError(
                "experiment.keep applies to regional models; per-basin runs keep every output"
            )
        keep = section["keep"]
        keep = None if keep is None else names(keep, "experiment.keep", "output names")
    return Experiment(
        type=kind,
        folds=_integer(section, "folds", Experiment.folds, 2, "experiment"),
        seed=_integer(section, "seed", Experiment.seed, 0, "experiment"),
        basin_filter=choice(section.get("basin_filter"), BASIN_FILTERS, "experiment.basin_filter"),
        keep=keep,
    )


def _regional_numbers(section, where: str) -> dict:
    return numbers(RegionalOptions, section, where, skip=REGIONAL_OTHER, zero_ok=REGIONAL_ZERO_OK)


def regional(section) -> tuple[RegionalOptions, dict, tuple[str, ...] | None]:
    """(options every kind shares, kind -> its own options, attributes or None)."""
    fields = [f.name for f in dataclasses.fields(RegionalOptions) if f.name not in REGIONAL_OTHER]
    section = dict(check_keys(section, [*fields, "attributes", "per_model"], "regional"))
    attributes = section.pop("attributes", None)
    if attributes is not None:
        attributes = names(attributes, "regional.attributes", "static attribute names")
    per_model = check_keys(
        section.pop("per_model", {}), list(REGIONAL_MODELS), "regional.per_model"
    )
    values = _regional_numbers(section, "regional")
    named = {} if attributes is None else {"attributes": attributes}
    shared = build(RegionalOptions, {**values, **named}, "regional")
    own = {}
    for kind, options in per_model.items():
        where = f"regional.per_model.{kind}"
        own[kind] = _regional_numbers(options, where)
        build(RegionalOptions, {**values, **own[kind], **named}, where)
    return shared, own, attributes


def snow(section, models, physics: str | dict, experiment: Experiment, test) -> Snow:
    check_keys(section, [f.name for f in dataclasses.fields(Snow)], "snow")
    swe = section.get("swe")
    if not isinstance(swe, str) or not swe:
        raise ConfigError(f"snow.swe must be the path of a SWE netCDF file, got {swe!r}")
    variable = section.get("variable", Snow.variable)
    if not isinstance(variable, str) or not variable:
        raise ConfigError(f"snow.variable must be a variable name, got {variable!r}")
    default = "regional_hybrid" if models[0] in REGIONAL_MODELS else "hybrid"
    model = choice(section.get("model", default), list(models), "snow.model")
    if model not in _WITH_PHYSICS:
        raise ConfigError(f"snow.model {model} has no physical model and so no snow storage")
    storage = section.get("storage", list(Snow.storage))
    storage = names([storage] if isinstance(storage, str) else storage, "snow.storage", "states")
    states = physics_class(physics).states
    absent = [s for s in storage if s not in states]
    if absent:
        raise ConfigError(
            f"snow.storage: the physical model {physics} has no state {', '.join(absent)}; "
            f"its states: {', '.join(states)}"
        )
    unkept = [s for s in storage if experiment.keep is not None and s not in experiment.keep]
    if unkept:
        raise ConfigError(f"snow needs {', '.join(unkept)} in experiment.keep")
    dates = section.get("period")
    if dates is not None:
        dates = period(dates, "snow.period")
        if dates[0] < test[0] or dates[1] > test[1]:
            raise ConfigError(
                f"snow.period {dates[0]}..{dates[1]} must lie in periods.test "
                f"{test[0]}..{test[1]}: only the test period is predicted"
            )
    return Snow(swe=swe, variable=variable, model=model, period=dates, storage=tuple(storage))


def basin_options(model, training) -> tuple[ModelOptions, FitOptions]:
    """The per-basin models' `model:` and `training:` sections."""
    skip = ("solver", "sensitivity", "physics")
    values = numbers(
        ModelOptions, model, "model", skip=skip, zero_ok=("physical_search", "dropout")
    )
    model = build(ModelOptions, values, "model")
    values = numbers(FitOptions, training, "training", zero_ok=("dropout", "seed"))
    training = build(FitOptions, values, "training")
    if training.spinup_days >= model.window_days:
        raise ConfigError(
            f"training.spinup_days ({training.spinup_days}) must be shorter than "
            f"model.window_days ({model.window_days}): no day of a window would be scored"
        )
    return model, training
