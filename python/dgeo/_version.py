"""dgeo's version, read from the installed package's metadata: pyproject.toml is the one place
it is written. 'unknown' when dgeo is imported from a checkout that was never installed."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dgeo")
except PackageNotFoundError:
    __version__ = "unknown"
