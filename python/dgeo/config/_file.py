"""Reading a run configuration from a YAML file."""

from __future__ import annotations

from pathlib import Path

import yaml

from ._run import RunConfig, parse_config
from ._values import ConfigError


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


def read_config(path: str | Path, *, quick: bool = False) -> RunConfig:
    """Read and validate a YAML run configuration; relative paths in it are taken from the
    folder of the file. With `quick`, its `quick:` overrides are applied (`parse_config`).
    A bad key or value is a `ConfigError` naming the file and the key."""
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
    try:
        return parse_config(mapping, base=path.parent, quick=quick)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
