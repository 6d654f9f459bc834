"""Run configuration: a YAML file read and validated here, at the CLI edge, and nowhere else.

The keys are listed in `KEYS` (which `dgeo train --help` shows). Every key is optional except
`data`; an unknown key or a bad value is an error naming it and the allowed keys or values.
Working examples are in `examples/configs/`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import diffrax
import pandas as pd
import yaml

from .models import MODELS
from .solve import Adjoint, Backprop, Checkpoint, Continuous, Discrete, Forward
from .train import FitOptions, ModelOptions, Periods

#: The keys of a run configuration, as YAML with comments (`dgeo train --help` shows it).
KEYS = """\
    data: ../shared/data/camels_us     # CAMELS-US root, a netCDF file, or "synthetic";
                                        # relative to the folder of the YAML file
    basins: ["01022500", "01030500"]    # optional, quoted; default every basin
    models: [physical, common, hybrid, lstm]
    solver: discrete                    # discrete | tsit5 | dopri5 | kvaerno5
    sensitivity: backprop               # backprop | checkpoint | adjoint | forward
    periods: {train: [1980-10-01, 1996-09-30], validation: [1996-10-01, 2000-09-30],
              test: [2000-10-01, 2010-09-30]}
    model: {filters: 8, kernel: 10, hidden: 256, dropout: 0.4, physical_starts: 8, ...}
    training: {epochs: 200, learning_rate: 0.01, patience: 20, seed: 0, ...}
"""

SOLVERS = {
    "discrete": Discrete,
    "tsit5": lambda: Continuous(diffrax.Tsit5()),
    "dopri5": lambda: Continuous(diffrax.Dopri5()),
    "kvaerno5": lambda: Continuous(diffrax.Kvaerno5()),
}
SENSITIVITIES = {
    "backprop": Backprop,
    "checkpoint": Checkpoint,
    "adjoint": Adjoint,
    "forward": Forward,
}


class ConfigError(ValueError):
    """A configuration key or value that dgeo cannot use; the message names it."""


@dataclass(frozen=True)
class RunConfig:
    """A validated run configuration (see the module docstring for the YAML layout)."""

    data: str
    basins: list[str] | None = None
    models: tuple[str, ...] = ("physical", "hybrid")
    solver: str = "discrete"
    sensitivity: str = "backprop"
    periods: Periods = Periods()
    model: ModelOptions = ModelOptions()
    training: FitOptions = FitOptions()
    raw: dict = field(default_factory=dict, compare=False)

    def model_options(self) -> ModelOptions:
        """`model` with the solver and sensitivity objects the strings name."""
        return dataclasses.replace(
            self.model, solver=SOLVERS[self.solver](), sensitivity=SENSITIVITIES[self.sensitivity]()
        )


def _check_keys(mapping: Any, allowed, where: str) -> dict:
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where} must be a mapping, got {type(mapping).__name__}")
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(map(str, unknown))} in {where}; allowed: {', '.join(allowed)}"
        )
    return mapping


def _choice(value, allowed, where: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{where} is {value!r}; allowed values: {', '.join(allowed)}")
    return value


def _options(cls, mapping, where: str, skip=("solver", "sensitivity")):
    """A dataclass of numbers from `mapping`, each value checked against its default's type."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip}
    _check_keys(mapping, list(fields), where)
    values = {}
    for name, value in mapping.items():
        default = fields[name].default
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
        if isinstance(default, int) and not isinstance(default, bool):
            ok = ok and float(value).is_integer()
            value = int(value) if ok else value
        if not ok:
            kind = "an integer" if isinstance(default, int) else "a finite number"
            raise ConfigError(f"{where}.{name} must be {kind}, got {value!r}")
        if value < 0 or (value == 0 and name not in ("physical_search", "dropout", "seed")):
            raise ConfigError(f"{where}.{name} must be positive, got {value!r}")
        values[name] = float(value) if isinstance(default, float) else value
    try:
        return cls(**values)
    except ValueError as err:  # the options' own rules (ranges, order of two values)
        raise ConfigError(f"{where}: {err}") from None


def _period(value, where: str) -> tuple[str, str]:
    if not (isinstance(value, list | tuple) and len(value) == 2):
        raise ConfigError(f"{where} must be [start, end] dates, got {value!r}")
    try:
        start, end = (pd.Timestamp(str(v)) for v in value)
    except ValueError as err:
        raise ConfigError(f"{where} has a date dgeo cannot read: {value!r} ({err})") from None
    if end <= start:
        raise ConfigError(f"{where} ends before it starts: {value!r}")
    return str(start.date()), str(end.date())


def parse_config(mapping: dict, *, base: Path | None = None) -> RunConfig:
    """Validate a configuration mapping; relative data paths are taken from `base`."""
    top = ["data", "basins", "models", "solver", "sensitivity", "periods", "model", "training"]
    _check_keys(mapping, top, "the configuration")
    if "data" not in mapping:
        raise ConfigError("the configuration has no `data` (a CAMELS root, netCDF or 'synthetic')")
    if not isinstance(mapping["data"], str) or not mapping["data"]:
        raise ConfigError(f"data must be a path or 'synthetic', got {mapping['data']!r}")
    data = mapping["data"]
    if data != "synthetic" and base is not None and not Path(data).is_absolute():
        data = str((base / data).resolve())
    basins = mapping.get("basins")
    if basins is not None:
        if not isinstance(basins, list) or not basins:
            raise ConfigError(f"basins must be a non-empty list of ids, got {basins!r}")
        for i, b in enumerate(basins):
            if not isinstance(b, str):
                raise ConfigError(
                    f"basins[{i}] is {b!r}, not a string: quote basin ids in YAML "
                    "('01022500'), or their leading zeros are lost"
                )
    models = mapping.get("models", ["physical", "hybrid"])
    models = [models] if isinstance(models, str) else models
    if not isinstance(models, list) or not models:
        raise ConfigError(f"models must be a non-empty list, got {models!r}")
    for i, kind in enumerate(models):
        _choice(kind, list(MODELS), f"models[{i}]")
    periods = _check_keys(mapping.get("periods", {}), ["train", "validation", "test"], "periods")
    defaults = Periods()
    validation = periods.get("validation", defaults.validation)
    model = _options(ModelOptions, mapping.get("model", {}), "model")
    training = _options(FitOptions, mapping.get("training", {}), "training")
    if training.spinup_days >= model.window_days:
        raise ConfigError(
            f"training.spinup_days ({training.spinup_days}) must be shorter than "
            f"model.window_days ({model.window_days}): no day of a window would be scored"
        )
    return RunConfig(
        data=data,
        basins=basins,
        models=tuple(models),
        solver=_choice(mapping.get("solver", "discrete"), list(SOLVERS), "solver"),
        sensitivity=_choice(
            mapping.get("sensitivity", "backprop"), list(SENSITIVITIES), "sensitivity"
        ),
        periods=Periods(
            train=_period(periods.get("train", defaults.train), "periods.train"),
            validation=None if validation is None else _period(validation, "periods.validation"),
            test=_period(periods.get("test", defaults.test), "periods.test"),
        ),
        model=model,
        training=training,
        raw=mapping,
    )


class _Loader(yaml.SafeLoader):
    """YAML's safe loader whose impossible dates name their line."""

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as err:
            raise ValueError(
                f"line {node.start_mark.line + 1}: date {node.value} ({err})"
            ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def read_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML run configuration; relative data paths in it are taken from
    the folder of the file."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a folder, not a configuration file (YAML)")
    if not path.exists():
        raise ConfigError(f"configuration file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a text file: a configuration is YAML") from None
    except OSError as err:
        raise ConfigError(f"cannot read the configuration file {path}: {err.strerror}") from None
    try:
        mapping = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    except ValueError as err:  # a date YAML recognises but cannot build, e.g. 1990-13-01
        raise ConfigError(f"{path}, {err}") from None
    if mapping is None:
        raise ConfigError(f"{path} is empty")
    return parse_config(mapping, base=path.parent)


def settings(config: RunConfig) -> dict[str, Any]:
    """Every setting of `config` that shapes training, flat (`training.learning_rate`, ...),
    defaults filled in: two configurations train the same models if these are equal."""
    flat: dict[str, Any] = {
        "data": config.data,
        "basins": None if config.basins is None else list(config.basins),
        "models": list(config.models),
        "solver": config.solver,
        "sensitivity": config.sensitivity,
    }
    for name in ("train", "validation", "test"):
        value = getattr(config.periods, name)
        flat[f"periods.{name}"] = None if value is None else [str(v) for v in value]
    for section, options in (("model", config.model), ("training", config.training)):
        for f in dataclasses.fields(options):
            if f.name not in ("solver", "sensitivity"):
                flat[f"{section}.{f.name}"] = getattr(options, f.name)
    return flat


def differences(old: RunConfig, new: RunConfig) -> list[str]:
    """The settings in which `new` differs from `old`, each as `key: old -> new`."""
    a, b = settings(old), settings(new)
    return [f"{key}: {a.get(key)!r} -> {b.get(key)!r}" for key in a if a.get(key) != b.get(key)]
