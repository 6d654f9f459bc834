"""Shared fixtures. Real data is read from ../shared/data; tests that need it skip without it.

Every annotated dgeo function and class is type-checked while the tests run: pyproject.toml's
`--jaxtyping-packages=dgeo,beartype...` installs jaxtyping's import hook, which wraps each of
them in `jaxtyping.jaxtyped(typechecker=beartype)`, checking arguments, results and the
shapes and dtypes of `Float[Array, "time *basin"]` and the like (`dgeo._typing`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

# The suite compiles hundreds of small programs and runs each briefly, so XLA's backend
# optimisation is turned down for it: compiles take ~30 % less time, and nothing here is timed
# (speed is measured by benchmarks/). Subprocesses (the CLI, the notebooks' kernel) inherit it.
# DGEO_TEST_FULL_OPTIMISATION=1 tests with XLA's defaults.
# Each pytest-xdist worker inherits the flags of the process that started it: a flag already
# there is not added again.
if not os.environ.get("DGEO_TEST_FULL_OPTIMISATION"):
    _flags = os.environ.get("XLA_FLAGS", "").split()
    _flags += [
        flag
        for flag in (
            "--xla_backend_optimization_level=0",
            "--xla_llvm_disable_expensive_passes=true",
        )
        if flag not in _flags
    ]
    os.environ["XLA_FLAGS"] = " ".join(_flags)

import jax  # noqa: E402  (after XLA_FLAGS: read when the CPU backend starts)
import jaxtyping  # noqa: E402
import pytest  # noqa: E402

# Gradients and reference comparisons are checked in float64 (production runs use float32).
jax.config.update("jax_enable_x64", True)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CAMELS_ROOT = SHARED_DATA / "camels_us"
CARAVAN_NC = SHARED_DATA / "caravan_camels_us.nc"
SWE_NC = SHARED_DATA / "camels_us_swe.nc"


#: How to obtain each real dataset the tests read (docs/getting-started/data.md).
HOW_TO_GET = {
    CAMELS_ROOT: "get CAMELS-US with `dgeo data download ../shared/data/camels_us`",
    CARAVAN_NC: "build it from Caravan's CAMELS-US subset as docs/getting-started/data.md "
    "describes (Kratzert et al. 2023, Scientific Data, doi:10.1038/s41597-023-01975-w)",
    SWE_NC: "build it from the University of Arizona daily SWE (NSIDC-0719) as "
    "docs/getting-started/data.md describes",
}


def require_data(path: Path, how: str | None = None) -> Path:
    """`path`, or a skip whose reason says where the data was looked for and how to get it."""
    if not path.exists():
        pytest.skip(
            f"real data not found at {path} (the shared data folder sits beside the "
            f"repository): {how or HOW_TO_GET[path]}"
        )
    return path


@contextlib.contextmanager
def unchecked_types():
    """Switches the test-time type checker off inside the `with` block.

    For tests of dgeo's own argument checks, which pass wrong types on purpose: beartype would
    refuse them at the annotated signature before dgeo's message (`<argument> must be ...,
    got ...`) is reached. Each hook-wrapped function reads `jaxtyping.config.jaxtyping_disable`
    when it is called, so the switch takes effect for code imported long before.
    """
    before = jaxtyping.config.jaxtyping_disable
    jaxtyping.config.update("jaxtyping_disable", True)
    try:
        yield
    finally:
        jaxtyping.config.update("jaxtyping_disable", before)


@pytest.fixture
def unchecked():
    """A whole test without the type checker (`unchecked_types`); one call: `with
    unchecked_types():`."""
    with unchecked_types():
        yield


@pytest.fixture(scope="session")
def camels_root() -> Path:
    return require_data(CAMELS_ROOT)


@pytest.fixture(scope="session")
def caravan_nc() -> Path:
    return require_data(CARAVAN_NC)


@pytest.fixture(scope="session")
def camels_all(camels_root):
    """All 26 real CAMELS basins with attributes, loaded once per test session."""
    from dgeo.data import load_camels_us

    return load_camels_us(camels_root)


@pytest.fixture(scope="session")
def short_forcing(camels_root):
    """Two real basins (one snowy, one not), one snow season: forcing for gradient checks."""
    from dgeo.data import load_camels_us

    ds = load_camels_us(camels_root, basins=["01022500", "04296000"], attributes=False)
    return ds.sel(time=slice("1980-12-01", "1981-04-30"))


PARAMS = {"f": 0.02, "smax": 800.0, "qmax": 20.0, "df": 2.0, "tmax": 1.0, "tmin": -1.0}
