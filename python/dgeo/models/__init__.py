"""Models of Jiang et al. (2020): per-basin physical (P-RNN), common (Conv1D), hybrid, lstm,
the regional models that map attributes to parameters (ungauged basins), and parameter
learning (dPL: static and daily parameters from networks; δHBV with `dgeo.Hbv`)."""

from ._dpl import Layout
from ._models import (
    FORCINGS,
    MODELS,
    ZERO_FLOOR_WIDTH,
    BasinModel,
    Common,
    Dpl,
    Hybrid,
    LSTMModel,
    Physical,
    build,
    check_discharge,
    discharge,
    physics_of,
    required_forcings,
)
from ._regional import (
    REGIONAL_FORCINGS,
    REGIONAL_MODELS,
    RegionalDpl,
    RegionalHybrid,
    RegionalLSTM,
    RegionalModel,
    RegionalPhysical,
    build_regional,
)

__all__ = [
    "FORCINGS",
    "MODELS",
    "ZERO_FLOOR_WIDTH",
    "BasinModel",
    "Common",
    "Dpl",
    "Hybrid",
    "LSTMModel",
    "Layout",
    "Physical",
    "build",
    "check_discharge",
    "discharge",
    "physics_of",
    "required_forcings",
    "REGIONAL_FORCINGS",
    "REGIONAL_MODELS",
    "RegionalDpl",
    "RegionalHybrid",
    "RegionalLSTM",
    "RegionalModel",
    "RegionalPhysical",
    "build_regional",
]
