"""Shared fixtures. Real data is read from ../shared/data; tests that need it skip without it."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CAMELS_ROOT = SHARED_DATA / "camels_us"
CARAVAN_NC = SHARED_DATA / "caravan_camels_us.nc"
SWE_NC = SHARED_DATA / "camels_us_swe.nc"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not found at {path} (the shared data folder sits beside the repo)")
    return path


@pytest.fixture(scope="session")
def camels_root() -> Path:
    return _require(CAMELS_ROOT)


@pytest.fixture(scope="session")
def caravan_nc() -> Path:
    return _require(CARAVAN_NC)


@pytest.fixture(scope="session")
def camels_all(camels_root):
    """All 26 real CAMELS basins with attributes, loaded once per test session."""
    from dgeo.data import load_camels_us

    return load_camels_us(camels_root)
