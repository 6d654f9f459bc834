"""Physical models as state-space definitions: one flux function serves every solver."""

from ._base import Parameter, PhysicalModel, smooth_step
from ._exphydro import ExpHydro
from ._hbv import Hbv, HbvFamily, convolve, gamma_unit_hydrograph
from ._hbv_ode import HbvOde
from ._pet import hamon_pet
from ._ude import AbstractFluxOverride, Correct, FluxNetwork, Replace

__all__ = [
    "AbstractFluxOverride",
    "Correct",
    "ExpHydro",
    "FluxNetwork",
    "Hbv",
    "HbvFamily",
    "HbvOde",
    "Parameter",
    "PhysicalModel",
    "Replace",
    "convolve",
    "gamma_unit_hydrograph",
    "hamon_pet",
    "smooth_step",
]
