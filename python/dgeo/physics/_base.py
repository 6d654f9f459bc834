"""How a physical model is declared: parameters, states, fluxes, forcings and one flux function.

From this one definition `dgeo.solve` derives both the discrete daily step (the P-RNN of
Jiang et al. 2020) and the continuous vector field that diffrax integrates. A model whose
reference form is a daily operator-split update with hard thresholds (HBV as MHPI runs it)
supplies that update itself, as `step`; the discrete solver then uses it, and continuous
solvers, which need the flux function, refuse the model.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import equinox as eqx
import jax.numpy as jnp

from .._typing import Basins
from ._ude import AbstractFluxOverride


class Parameter(NamedTuple):
    """A physical parameter with its physical bounds (inclusive) and units."""

    name: str
    lower: float
    upper: float
    units: str
    description: str = ""


def smooth_step(x: Basins) -> Basins:
    """Smooth Heaviside step H(x) = (tanh(5x) + 1) / 2 (Jiang et al. 2020, eq. S1)."""
    return 0.5 * (jnp.tanh(5.0 * x) + 1.0)


def _defines(cls: type, name: str) -> bool:
    """Whether `cls` or a base class below `PhysicalModel` defines the method `name`."""
    return any(name in vars(c) for c in cls.__mro__[: cls.__mro__.index(PhysicalModel)])


class PhysicalModel(eqx.Module):
    """A physical model as a state-space definition.

    Subclasses declare, as class variables, `parameters` (a tuple of `Parameter`), `states`,
    `fluxes` (every flux the flux function returns, discharge `q` among them), `forcings`
    (name -> units the flux function expects), and the water balance terms `inflows` and
    `outflows` (flux names); they implement `rates`, the one flux function, or `step`, their
    own daily update (or both). States are in mm and fluxes in mm/day unless `units` (name ->
    units, empty by default) says otherwise.

    Any flux may be replaced or corrected by a learnable module (a universal differential
    equation): pass `overrides={"flux_name": Replace(network)}`; the flux function routes each
    overridable flux through `self.process`.

    `dynamic` names parameters that vary by day: they are given with a leading time axis
    (`(time, *basin)`), the others one value per basin.

    Two optional hooks serve models whose states are more than one value per basin (parallel
    components, as HBV's `nmul`) or whose outputs need the whole series (unit-hydrograph
    routing): `shape_of` and `finish`. Both default to nothing.
    """

    overrides: dict[str, AbstractFluxOverride] = eqx.field(default_factory=dict)
    dynamic: tuple[str, ...] = eqx.field(default=(), static=True, converter=tuple)

    parameters: ClassVar[tuple[Parameter, ...]]
    states: ClassVar[tuple[str, ...]]
    fluxes: ClassVar[tuple[str, ...]]
    forcings: ClassVar[dict[str, str]]
    inflows: ClassVar[tuple[str, ...]]
    outflows: ClassVar[tuple[str, ...]]
    units: ClassVar[dict[str, str]] = {}

    def __check_init__(self):
        name = type(self).__name__
        if not (self.has_rates or self.has_step):
            raise TypeError(
                f"{name} defines neither rates (the flux function) nor step (its own daily "
                "update); a physical model needs one of them"
            )
        unknown = sorted(set(self.overrides) - set(self.fluxes))
        if unknown:
            raise ValueError(
                f"{name} has no flux {', '.join(unknown)} to override; "
                f"fluxes: {', '.join(self.fluxes)}"
            )
        if not all(isinstance(p, str) for p in self.dynamic):
            raise TypeError(f"{name}.dynamic must be parameter names, got {self.dynamic!r}")
        unknown = [p for p in self.dynamic if p not in self.parameter_names]
        if unknown:
            raise ValueError(
                f"{name} has no parameter {', '.join(map(repr, unknown))} to vary by day "
                f"(dynamic); parameters: {', '.join(self.parameter_names)}"
            )
        if len(set(self.dynamic)) != len(self.dynamic):
            raise ValueError(f"{name}.dynamic names a parameter twice: {self.dynamic!r}")

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def has_rates(self) -> bool:
        """Whether the model has a flux function (continuous solvers need one)."""
        return _defines(type(self), "rates")

    @property
    def has_step(self) -> bool:
        """Whether the model supplies its own daily update (the discrete solver uses it)."""
        return _defines(type(self), "step")

    def rates(
        self, state: dict[str, Basins], forcing: dict[str, Basins], params: dict[str, Basins]
    ) -> tuple[dict[str, Basins], dict[str, Basins]]:
        """The flux function: (d state / dt per state, every flux) in model units per day."""
        raise NotImplementedError(
            f"{type(self).__name__} has no flux function (rates), only its own daily step: "
            "run it with the discrete solver, dgeo.Discrete()"
        )

    def step(self, state: dict, forcing: dict, params: dict) -> tuple[dict, dict]:
        """The model's own daily update: (state at the end of the day, the day's fluxes).

        Optional: a model that defines it is advanced by it under `Discrete()` instead of
        S + dS/dt. For updates that are no explicit Euler step of an ODE, such as HBV's
        operator split with hard thresholds. The fluxes must close the day's water balance:
        inflows - outflows = the change of the states.
        """
        raise NotImplementedError(f"{type(self).__name__} has no daily step")

    def shape_of(self, name: str, basins: tuple[int, ...]) -> tuple[int, ...]:
        """The shape of parameter or state `name` for forcing over `basins`.

        `basins` by default; a model of parallel components per basin gives its states and
        parameters a trailing component axis. A value given per basin is broadcast over it.
        """
        return basins

    def finish(self, series: dict, params: dict) -> dict:
        """The saved series (time first, shapes from `shape_of`) after the daily loop.

        Returns them (time, *basin): the default returns them as they are; a model of
        parallel components averages them, a model with routing convolves its discharge.
        `params` are the parameters as the loop used them (dynamic ones time first).
        """
        return series

    @property
    def has_finish(self) -> bool:
        return _defines(type(self), "finish")

    def process(self, name: str, value: Basins, quantities: dict[str, Basins]) -> Basins:
        """`value` of flux `name`, or what its override makes of it given named `quantities`."""
        override = self.overrides.get(name)
        return value if override is None else override(value, quantities)
