"""dgeo: differentiable geoscientific modelling (physics + neural network hybrids in JAX)."""

from . import data, distributed, evaluate, models, nn, physics, plot, solve, train
from ._threads import cpu_devices, xla_cpu_threads
from ._version import __version__ as __version__
from .physics import ExpHydro, Hbv, HbvOde
from .solve import (
    Adjoint,
    Backprop,
    Checkpoint,
    Continuous,
    Discrete,
    Forward,
    ImplicitEuler,
    check_gradients,
    integrate,
    mass_balance,
    simulate,
    step_stability,
)

__all__ = [
    "Adjoint",
    "Backprop",
    "Checkpoint",
    "Continuous",
    "Discrete",
    "ExpHydro",
    "Forward",
    "Hbv",
    "HbvOde",
    "ImplicitEuler",
    "check_gradients",
    "cpu_devices",
    "data",
    "distributed",
    "evaluate",
    "integrate",
    "mass_balance",
    "models",
    "nn",
    "physics",
    "plot",
    "simulate",
    "solve",
    "step_stability",
    "train",
    "xla_cpu_threads",
]
