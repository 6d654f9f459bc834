"""Run configuration: a YAML file read and validated here, at the CLI edge, and nowhere else.

The keys are listed in `KEYS` (which `dgeo train --help` shows). Every key is optional except
`data`; an unknown key or a bad value is an error naming it and the allowed keys or values.
Strings become objects in one place (`_objects`: solvers, sensitivity methods, physical
models). Working examples, one per experiment, are in `examples/configs/`.
"""

from ._file import read_config
from ._objects import SENSITIVITIES, SOLVERS, known_physics, physics_class, physics_model
from ._run import (
    KEYS,
    Experiment,
    RunConfig,
    Snow,
    differences,
    merged,
    parse_config,
    resolve_paths,
    settings,
)
from ._values import ConfigError

__all__ = [
    "KEYS",
    "SENSITIVITIES",
    "SOLVERS",
    "ConfigError",
    "Experiment",
    "RunConfig",
    "Snow",
    "differences",
    "known_physics",
    "merged",
    "parse_config",
    "physics_class",
    "physics_model",
    "read_config",
    "resolve_paths",
    "settings",
]
