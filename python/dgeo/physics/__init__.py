"""Physical models as state-space definitions: one flux function serves every solver."""

from ._base import Parameter, PhysicalModel, smooth_step
from ._exphydro import ExpHydro
from ._pet import hamon_pet
from ._ude import AbstractFluxOverride, Correct, FluxNetwork, Replace

__all__ = [
    "AbstractFluxOverride",
    "Correct",
    "ExpHydro",
    "FluxNetwork",
    "Parameter",
    "PhysicalModel",
    "Replace",
    "hamon_pet",
    "smooth_step",
]
