"""The run configuration: its keys (`KEYS`), `parse_config` and the settings a resume compares."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..models import REGIONAL_MODELS
from ..train import FitOptions, ModelOptions, Periods, RegionalOptions
from . import _sections as sections
from ._objects import DEFAULT_PHYSICS, SENSITIVITIES, SOLVERS, physics_model, physics_name
from ._sections import REGIONAL_OTHER, Experiment, Snow
from ._values import ConfigError, check_keys, choice

#: The keys of a run configuration, as YAML with comments (`dgeo train --help` shows it).
KEYS = """\
    data: ../shared/data/camels_us     # CAMELS-US root, a netCDF file, or "synthetic";
                                        # relative to the folder of the YAML file; or a
                                        # source and its options, e.g. {source: netcdf,
                                        # path: caravan_camels_us.nc, attributes: DIR,
                                        # pet: hamon}  (pet: Hamon PET from tmean and
                                        # dayl replaces the data's pet)
    basins: ["01022500", "01030500"]    # optional, quoted; default every basin
    models: [physical, common, hybrid, lstm]   # per-basin models (and dpl), or regional
                                        # ones (not both): [regional_hybrid, regional_lstm,
                                        # pseudo_regional_hybrid, regional_physical,
                                        # regional_dpl]
    physics: exphydro                   # a model dgeo.physics exports (any case), or an
                                        # import path "package.module:ClassName"; with
                                        # options: {name: hbv, nmul: 16, dynamic: [BETA, BETAET]}
    solver: discrete                    # discrete | tsit5 | dopri5 | kvaerno5 | implicit_euler
    sensitivity: backprop               # backprop | checkpoint | adjoint | forward
    periods: {train: [1980-10-01, 1996-09-30], validation: [1996-10-01, 2000-09-30],
              test: [2000-10-01, 2010-09-30]}   # validation: null for none
    model: {filters: 8, kernel: 10, hidden: 256, dropout: 0.4, physical_starts: 8, ...}
    training: {epochs: 200, learning_rate: 0.01, patience: 20, seed: 0, ...}
                                        # model, training: per-basin models only
    experiment: {type: temporal, folds: 5, seed: 0, basin_filter: null,
                 keep: [q, q_physical, snow_storage]}
                                        # type: temporal | pub (ungauged basins, regional
                                        # models: seeded k-fold basin split); basin_filter:
                                        # null | paper (Jiang et al. 2020's humid basins);
                                        # keep: the regional outputs saved, null for all
    regional: {epochs: 20, batch_size: 64, learning_rate: null, hidden: 64, search: 256,
               attributes: [...], per_model: {regional_lstm: {epochs: 15}}, ...}
                                        # regional models only; attributes default: the
                                        # data source's; per_model: options of one kind
    snow: {swe: ../shared/data/camels_us_swe.nc, variable: swe_ua,
           model: regional_hybrid, period: [2000-10-01, 2010-09-30],
           storage: [snow_storage]}     # snow storage against observed SWE (test period);
                                        # storage: the states summed (HBV: [snowpack,
                                        # meltwater])
    devices: 2                          # split training's samples over devices (data
                                        # parallel): the first N GPUs, or on a CPU N
                                        # one-thread CPU devices; all: every device JAX
                                        # has; default one; `dgeo --devices` overrides it
    quick: {basins: [...], regional: {epochs: 1}, experiment: {folds: 2}}
                                        # overrides `dgeo train --quick` applies
"""

#: The top-level keys, in the order of `KEYS`.
TOP = (
    "data",
    "basins",
    "models",
    "physics",
    "solver",
    "sensitivity",
    "periods",
    "model",
    "training",
    "experiment",
    "regional",
    "snow",
    "devices",
    "quick",
)


@dataclass(frozen=True)
class RunConfig:
    """A validated run configuration (see `KEYS` for the YAML layout).

    `data` is a path, "synthetic" or a data-source mapping (`dgeo.data.open_source`);
    `regional` holds the options every regional model shares, `per_model` the options set for
    one kind, and `attributes` the static attributes (None: the data source's default).
    `devices` is the number of devices training splits its samples over, `"all"`, or None
    for one (the command line applies it; it is not a setting a resume compares). `quick`
    says that the file's `quick:` overrides were applied; `raw` is the mapping as it is
    recorded in a run directory.
    """

    data: str | dict
    basins: list[str] | None = None
    models: tuple[str, ...] = ("physical", "hybrid")
    physics: str | dict = DEFAULT_PHYSICS
    solver: str = "discrete"
    sensitivity: str = "backprop"
    periods: Periods = Periods()
    model: ModelOptions = ModelOptions()
    training: FitOptions = FitOptions()
    experiment: Experiment = Experiment()
    regional: RegionalOptions = RegionalOptions()
    per_model: dict = field(default_factory=dict)
    attributes: tuple[str, ...] | None = None
    snow: Snow | None = None
    devices: int | str | None = None
    quick: bool = False
    raw: dict = field(default_factory=dict, compare=False)

    @property
    def is_regional(self) -> bool:
        """Are the models regional (one model for many basins) rather than per-basin?"""
        return self.models[0] in REGIONAL_MODELS

    def _objects(self) -> dict:
        return {
            "solver": SOLVERS[self.solver](),
            "sensitivity": SENSITIVITIES[self.sensitivity](),
            "physics": physics_model(self.physics),
        }

    def model_options(self) -> ModelOptions:
        """`model` with the solver, sensitivity and physical model objects the strings name."""
        return dataclasses.replace(self.model, **self._objects())

    def regional_options(self, default_attributes) -> dict[str, RegionalOptions]:
        """Model kind -> its `RegionalOptions`: `regional` with the kind's `per_model`
        options, the solver, sensitivity and physical model objects, and `attributes`
        (`default_attributes`, e.g. the data source's, when the configuration names none)."""
        attributes = tuple(self.attributes or default_attributes)
        common = {**self._objects(), "attributes": attributes}
        return {
            kind: dataclasses.replace(self.regional, **self.per_model.get(kind, {}), **common)
            for kind in self.models
        }


def merged(mapping: dict, overrides: dict) -> dict:
    """`mapping` with `overrides` applied: nested mappings are merged key by key, anything
    else (lists, numbers, strings) is replaced."""
    out = dict(mapping)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def _resolve(path, base: Path):
    if not isinstance(path, str) or not path or path == "synthetic":
        return path
    return path if Path(path).is_absolute() else str((base / path).resolve())


def resolve_paths(mapping: dict, base: Path) -> dict:
    """`mapping` with its relative paths (`data`, the path keys of a `data:` mapping,
    `snow.swe`, and those of `quick:`) taken from the folder `base`."""
    if not isinstance(mapping, dict):
        return mapping
    out = dict(mapping)
    data = out.get("data")
    if isinstance(data, str):
        out["data"] = _resolve(data, base)
    elif isinstance(data, dict):
        out["data"] = {
            k: _resolve(v, base) if k in sections.PATH_KEYS else v for k, v in data.items()
        }
    if isinstance(out.get("snow"), dict) and "swe" in out["snow"]:
        out["snow"] = {**out["snow"], "swe": _resolve(out["snow"]["swe"], base)}
    if isinstance(out.get("quick"), dict):
        out["quick"] = resolve_paths(out["quick"], base)
    return out


def _parse(mapping: dict) -> RunConfig:
    check_keys(mapping, [k for k in TOP if k != "quick"], "the configuration")
    if "data" not in mapping:
        raise ConfigError("the configuration has no `data` (a CAMELS root, netCDF or 'synthetic')")
    models = sections.model_kinds(mapping.get("models", list(RunConfig.models)))
    regional = models[0] in REGIONAL_MODELS
    for section in ("model", "training") if regional else ("regional",):
        if section in mapping:
            other = "per-basin" if regional else "regional"
            instead = "regional:" if regional else "model: and training:"
            raise ConfigError(
                f"`{section}:` sets {other} models, but models are "
                f"{'regional' if regional else 'per-basin'}: use {instead}"
            )
    physics = physics_name(mapping.get("physics", DEFAULT_PHYSICS))
    experiment = sections.experiment(mapping.get("experiment", {}), regional)
    periods = sections.periods(mapping.get("periods", {}))
    values: dict[str, Any] = {}
    if regional:
        values["regional"], values["per_model"], values["attributes"] = sections.regional(
            mapping.get("regional", {})
        )
    else:
        values["model"], values["training"] = sections.basin_options(
            mapping.get("model", {}), mapping.get("training", {})
        )
    snow = mapping.get("snow")
    if snow is not None:
        snow = sections.snow(snow, models, physics, experiment, periods.test)
    return RunConfig(
        data=sections.data_spec(mapping["data"]),
        basins=sections.basin_ids(mapping.get("basins")),
        models=models,
        physics=physics,
        solver=choice(mapping.get("solver", "discrete"), list(SOLVERS), "solver"),
        sensitivity=choice(
            mapping.get("sensitivity", "backprop"), list(SENSITIVITIES), "sensitivity"
        ),
        periods=periods,
        experiment=experiment,
        snow=snow,
        devices=sections.devices(mapping.get("devices")),
        raw=mapping,
        **values,
    )


def parse_config(mapping: object, *, base: Path | None = None, quick: bool = False) -> RunConfig:
    """Validate a configuration mapping (any parsed YAML value: anything but a mapping is a
    `ConfigError`); relative paths are taken from the folder `base`.

    With `quick`, the mapping's `quick:` overrides are applied (nested mappings merged key by
    key); they are validated either way, so a file whose quick variant is broken fails at
    once. The returned configuration's `raw` is the mapping as a run directory records it:
    paths resolved, and with `quick` the overrides applied and the `quick:` key dropped.
    """
    if not isinstance(mapping, dict):
        raise ConfigError(f"the configuration must be a mapping, got {type(mapping).__name__}")
    if base is not None:
        mapping = resolve_paths(mapping, base)
    check_keys(mapping, TOP, "the configuration")
    overrides = mapping.get("quick")
    plain = {k: v for k, v in mapping.items() if k != "quick"}
    config = dataclasses.replace(_parse(plain), raw=mapping)
    if overrides is None:
        if quick:
            raise ConfigError("--quick: the configuration has no `quick:` section of overrides")
        return config
    check_keys(overrides, [k for k in TOP if k != "quick"], "quick")
    try:
        fast = _parse(merged(plain, overrides))
    except ConfigError as err:
        raise ConfigError(f"quick: {err}") from None
    return dataclasses.replace(fast, quick=True) if quick else config


def settings(config: RunConfig) -> dict[str, Any]:
    """Every setting of `config` that shapes training, flat (`training.learning_rate`, ...),
    defaults filled in: two configurations train the same models if these are equal."""
    flat: dict[str, Any] = {
        "data": config.data,
        "basins": None if config.basins is None else list(config.basins),
        "models": list(config.models),
        "physics": config.physics,
        "solver": config.solver,
        "sensitivity": config.sensitivity,
    }
    for name in ("train", "validation", "test"):
        value = getattr(config.periods, name)
        flat[f"periods.{name}"] = None if value is None else [str(v) for v in value]
    for f in dataclasses.fields(Experiment):
        value = getattr(config.experiment, f.name)
        if f.name != "keep" or config.is_regional:
            flat[f"experiment.{f.name}"] = list(value) if isinstance(value, tuple) else value
    if config.is_regional:
        for f in dataclasses.fields(RegionalOptions):
            if f.name not in REGIONAL_OTHER:
                flat[f"regional.{f.name}"] = getattr(config.regional, f.name)
        flat["regional.attributes"] = None if config.attributes is None else list(config.attributes)
        for kind, options in sorted(config.per_model.items()):
            for name, value in options.items():
                flat[f"regional.per_model.{kind}.{name}"] = value
    else:
        for section, options in (("model", config.model), ("training", config.training)):
            for f in dataclasses.fields(options):
                if f.name not in ("solver", "sensitivity", "physics"):
                    flat[f"{section}.{f.name}"] = getattr(options, f.name)
    snow = config.snow
    for f in dataclasses.fields(Snow):
        value = None if snow is None else getattr(snow, f.name)
        flat[f"snow.{f.name}"] = list(value) if isinstance(value, tuple) else value
    return flat


def differences(old: RunConfig, new: RunConfig) -> list[str]:
    """The settings in which `new` differs from `old`, each as `key: old -> new`."""
    a, b = settings(old), settings(new)
    keys = [*a, *(k for k in b if k not in a)]
    return [f"{key}: {a.get(key)!r} -> {b.get(key)!r}" for key in keys if a.get(key) != b.get(key)]
