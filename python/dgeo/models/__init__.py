"""Basin models of Jiang et al. (2020): physical (P-RNN), common (Conv1D), hybrid, lstm."""

from ._models import (
    FORCINGS,
    MODELS,
    BasinModel,
    Common,
    Hybrid,
    LSTMModel,
    Physical,
    build,
)

__all__ = [
    "FORCINGS",
    "MODELS",
    "BasinModel",
    "Common",
    "Hybrid",
    "LSTMModel",
    "Physical",
    "build",
]
