"""How a physical model is declared: parameters, states, fluxes, forcings and one flux function.

From this one definition `dgeo.solve` derives both the discrete daily step (the P-RNN of
Jiang et al. 2020) and the continuous vector field that diffrax integrates.
"""

from __future__ import annotations

import abc
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


class PhysicalModel(eqx.Module):
    """A physical model as a state-space definition.

    Subclasses declare, as class variables, `parameters` (a tuple of `Parameter`), `states`,
    `fluxes` (every flux the flux function returns, discharge `q` among them), `forcings`
    (name -> units the flux function expects), and the water balance terms `inflows` and
    `outflows` (flux names); they implement `rates`, the one flux function. States are in mm
    and fluxes in mm/day unless `units` (name -> units, empty by default) says otherwise.

    Any flux may be replaced or corrected by a learnable module (a universal differential
    equation): pass `overrides={"flux_name": Replace(network)}`; the flux function routes each
    overridable flux through `self.process`.
    """

    overrides: dict[str, AbstractFluxOverride] = eqx.field(default_factory=dict)

    parameters: ClassVar[tuple[Parameter, ...]]
    states: ClassVar[tuple[str, ...]]
    fluxes: ClassVar[tuple[str, ...]]
    forcings: ClassVar[dict[str, str]]
    inflows: ClassVar[tuple[str, ...]]
    outflows: ClassVar[tuple[str, ...]]
    units: ClassVar[dict[str, str]] = {}

    def __check_init__(self):
        unknown = sorted(set(self.overrides) - set(self.fluxes))
        if unknown:
            raise ValueError(
                f"{type(self).__name__} has no flux {', '.join(unknown)} to override; "
                f"fluxes: {', '.join(self.fluxes)}"
            )

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @abc.abstractmethod
    def rates(
        self, state: dict[str, Basins], forcing: dict[str, Basins], params: dict[str, Basins]
    ) -> tuple[dict[str, Basins], dict[str, Basins]]:
        """The flux function: (d state / dt per state, every flux) in model units per day."""

    def process(self, name: str, value: Basins, quantities: dict[str, Basins]) -> Basins:
        """`value` of flux `name`, or what its override makes of it given named `quantities`."""
        override = self.overrides.get(name)
        return value if override is None else override(value, quantities)
