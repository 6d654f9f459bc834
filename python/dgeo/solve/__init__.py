"""Integrate physical models: discrete or continuous solvers, swappable sensitivity methods."""

from ._checks import GradientCheck, check_gradients, default_loss, mass_balance, step_stability
from ._implicit import ImplicitEuler
from ._integrate import Accumulator, DailyTransform, Trajectory, integrate
from ._sensitivity import AbstractSensitivity, Adjoint, Backprop, Checkpoint, Forward
from ._simulate import check_parameters, simulate
from ._solvers import AbstractSolver, Continuous, Discrete

__all__ = [
    "AbstractSensitivity",
    "AbstractSolver",
    "Accumulator",
    "Adjoint",
    "Backprop",
    "Checkpoint",
    "Continuous",
    "DailyTransform",
    "Discrete",
    "Forward",
    "GradientCheck",
    "ImplicitEuler",
    "Trajectory",
    "check_gradients",
    "check_parameters",
    "default_loss",
    "integrate",
    "mass_balance",
    "simulate",
    "step_stability",
]
