"""Models of Jiang et al. (2020): per-basin physical (P-RNN), common (Conv1D), hybrid, lstm,
and the regional models that map attributes to parameters (ungauged basins)."""

from ._models import (
    FORCINGS,
    MODELS,
    ZERO_FLOOR_WIDTH,
    BasinModel,
    Common,
    Hybrid,
    LSTMModel,
    Physical,
    build,
    discharge,
)
from ._regional import (
    REGIONAL_FORCINGS,
    REGIONAL_MODELS,
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
    "Hybrid",
    "LSTMModel",
    "Physical",
    "build",
    "discharge",
    "REGIONAL_FORCINGS",
    "REGIONAL_MODELS",
    "RegionalHybrid",
    "RegionalLSTM",
    "RegionalModel",
    "RegionalPhysical",
    "build_regional",
]
