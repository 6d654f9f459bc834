"""Regional models (Jiang et al. 2020, Kratzert et al. 2019): one network for every basin.

A regional model maps a basin's forcing series *and its static attributes* to discharge, so
it can predict basins it never saw. The parameterization pipeline of Jiang et al. (2020):

- `parameters`: a fully connected network maps the standardised attributes to the physical
  model's parameters (EXP-HYDRO by default) through the bounded transform (theta_P per basin);
- `weights`: a second network (a hyper-network) maps them to the Conv1D head's weights
  (theta_N per basin), as an offset from a shared base head.

`regional_physical` is the P-RNN alone with the first network. The pseudo-regional model has
the same architecture as the hybrid but sees no attributes (they are replaced by zeros), so its
parameters are identical across basins: it measures what the attributes add.
The regional LSTM (Kratzert et al. 2019) concatenates the attributes to the forcings every day.
`regional_dpl` learns static and daily parameters (δHBV's layout with `dgeo.Hbv`, `_dpl.py`).

Only the forcings ERA5-Land/Caravan datasets carry are used: `REGIONAL_FORCINGS`.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import ArrayLike, Float, PRNGKeyArray

from .._typing import Attributes, Inputs, Scalar
from ..nn import LSTM, MLP, ConvHead, SeriesLSTM, Standardiser
from ..physics import ExpHydro, PhysicalModel
from ..solve import AbstractSensitivity, AbstractSolver, Backprop, Discrete
from ._dpl import Layout, dynamic_network
from ._models import _stack, bounded, check_discharge, couple, discharge, run_physics

#: The daily forcings of the regional models, in the units they see.
REGIONAL_FORCINGS: dict[str, str] = {"prcp": "mm/day", "tmean": "degC", "dayl": "day"}


class RegionalModel(eqx.Module):
    """One network for all basins: (forcing series, static attributes) -> discharge `q`."""

    kind: ClassVar[str]

    def __call__(
        self,
        inputs: Inputs,
        attributes: Attributes,
        *,
        key: PRNGKeyArray | None = None,
        full: bool = True,
    ) -> Inputs:
        """`key` drives dropout (None: inference); `full=False` returns only `q` (training)."""
        raise NotImplementedError

    def physical_parameters(self, attributes: Attributes) -> dict[str, Scalar]:
        """Physical parameter name -> value for a basin with `attributes` (empty if none)."""
        return {}


class RegionalPhysical(RegionalModel):
    """The P-RNN alone with its parameters from the basin's attributes: an MLP maps the
    standardised attributes to the physical model's parameters through the bounded transform.

    `pseudo=True` hides the attributes (zeros after standardisation), so every basin gets
    the same parameters.
    """

    kind: ClassVar[str] = "regional_physical"
    attributes: Standardiser
    parameters: MLP
    pseudo: bool = eqx.field(static=True, default=False)
    physics: PhysicalModel = ExpHydro()
    solver: AbstractSolver = Discrete()
    sensitivity: AbstractSensitivity = Backprop()

    def features(self, attributes: Attributes) -> Attributes:
        """Standardised attributes (zeros for the pseudo-regional model)."""
        z = self.attributes(attributes[None])[0]
        return jnp.zeros_like(z) if self.pseudo else z

    def physical_parameters(self, attributes):
        return bounded(self.physics, self.parameters(self.features(attributes)))

    def __call__(self, inputs, attributes, *, key=None, full=True):
        params = self.physical_parameters(attributes)
        return run_physics(self.physics, inputs, params, self.solver, self.sensitivity, full)


class RegionalHybrid(RegionalModel):
    """A regional P-RNN and a Conv1D head whose weights come from the basin's attributes
    (a hyper-network); the head sees the P-RNN discharge Q* and the standardised forcings.

    With a pseudo-regional P-RNN the hyper-network sees no attributes either: the
    pseudo-regional model, whose physical parameters and head weights are the same for
    every basin.
    """

    kind: ClassVar[str] = "regional_hybrid"
    physical: RegionalPhysical
    weights: MLP
    head: ConvHead
    scaler: Standardiser
    target: Standardiser

    def physical_parameters(self, attributes):
        return self.physical.physical_parameters(attributes)

    def basin_head(self, attributes: Attributes) -> ConvHead:
        """The Conv1D head of a basin: the base head's weights plus the hyper-network's offset."""
        base, static = eqx.partition(self.head, eqx.is_array)
        flat, unravel = ravel_pytree(base)
        offset = self.weights(self.physical.features(attributes)).astype(flat.dtype)
        return eqx.combine(unravel(flat + offset), static)

    def __call__(self, inputs, attributes, *, key=None, full=True):
        out = self.physical(inputs, attributes, full=full)
        head = self.basin_head(attributes)
        return couple(out, inputs, REGIONAL_FORCINGS, head, self.scaler, self.target)


class RegionalLSTM(RegionalModel):
    """The regional LSTM of Kratzert et al. (2019): standardised forcings and attributes
    concatenated at every day."""

    kind: ClassVar[str] = "regional_lstm"
    attributes: Standardiser
    scaler: Standardiser
    target: Standardiser
    lstm: LSTM

    def __call__(self, inputs, attributes, *, key=None, full=True):
        x = self.scaler(_stack(inputs, REGIONAL_FORCINGS))
        a = self.attributes(attributes[None])[0]  # the same every day: given once
        h = self.lstm(x, static=a.astype(x.dtype), key=key)
        return {"q": discharge(h, self.target)}


class RegionalDpl(RegionalModel):
    """Parameter learning for many basins (regional dPL; δHBV with `dgeo.Hbv`).

    An MLP (`static`) over the basin's standardised attributes gives the static parameters of
    every component and the routing parameters; an LSTM (`network`) over the standardised
    forcings (`REGIONAL_FORCINGS`) and attributes, concatenated every day, gives the dynamic
    parameters (`physics.dynamic`) of every component on every day (None when there are
    none). Both through the bounded transform (`_dpl.Layout`); the physical model simulates
    with them and is scored on its discharge (routed, for HBV).
    """

    kind: ClassVar[str] = "regional_dpl"
    attributes: Standardiser
    scaler: Standardiser
    static: MLP
    network: SeriesLSTM | None
    physics: PhysicalModel = ExpHydro()
    solver: AbstractSolver = Discrete()
    sensitivity: AbstractSensitivity = Backprop()

    def physical_parameters(self, attributes):
        """The static parameters of a basin, each the mean over its components (the dynamic
        ones vary by day: the model's full output has them, `Layout.daily`)."""
        layout = Layout(self.physics)
        z = self.static(self.attributes(attributes[None])[0])
        return layout.per_basin(layout.bounded(z, dynamic=False))

    def parameters(
        self, inputs: Inputs, attributes: Attributes, *, key: PRNGKeyArray | None = None
    ) -> dict:
        """Every parameter as the physical model takes it: static ones shaped as the model
        says (`shape_of`), dynamic ones with the days first."""
        layout = Layout(self.physics)
        a = self.attributes(attributes[None])[0]
        params = layout.bounded(self.static(a), dynamic=False)
        if self.network is not None:  # the attributes join the forcings on every day
            x = self.scaler(_stack(inputs, REGIONAL_FORCINGS))
            daily = self.network(x, static=a.astype(x.dtype), key=key)
            params |= layout.bounded(daily, dynamic=True)
        return params

    def __call__(self, inputs, attributes, *, key=None, full=True):
        """Discharge (`full`: with every state, flux and the daily dynamic parameters, each
        the mean over its components)."""
        params = self.parameters(inputs, attributes, key=key)
        out = run_physics(self.physics, inputs, params, self.solver, self.sensitivity, full)
        return out | Layout(self.physics).daily(params) if full else out


REGIONAL_MODELS: dict[str, str] = {
    "regional_physical": "attributes -> physical parameters of the P-RNN alone",
    "regional_hybrid": "attributes -> physical parameters and Conv1D weights",
    "pseudo_regional_hybrid": "the same architecture without attributes (one parameter set)",
    "regional_lstm": "LSTM on forcings and attributes (Kratzert et al. 2019)",
    "regional_dpl": "attributes -> static parameters, LSTM -> daily ones (δHBV with Hbv)",
}


def build_regional(
    kind: str,
    key: PRNGKeyArray,
    attribute_stats: Standardiser,
    forcing_stats: Standardiser,
    q_stats: Standardiser,
    *,
    start: Float[ArrayLike, " parameters"] | None = None,
    physical: RegionalPhysical | None = None,
    width: int = 32,
    filters: int = 8,
    kernel: int = 10,
    hidden: int = 64,
    dropout: float = 0.4,
    solver: AbstractSolver = Discrete(),
    sensitivity: AbstractSensitivity = Backprop(),
    physics: PhysicalModel = ExpHydro(),
) -> RegionalModel:
    """A freshly initialised regional model of `kind` (one of `REGIONAL_MODELS`).

    The standardisers hold statistics of the *training basins* only. `start` gives the
    fractions (0..1 of each bound interval) the physical parameters start from (e.g. the
    median of a random search on the training basins); the parameter network's output bias is
    set to them and its output weights shrunk, so training starts near one sensible parameter
    set and learns how attributes move it. `physical` gives the hybrids a (trained) regional
    P-RNN to start from instead. The hyper-network starts at a zero offset. `physics` is the
    P-RNN's physical model (default EXP-HYDRO). `regional_dpl`'s networks start likewise at
    `start` (static ones from the MLP, dynamic ones from the LSTM, `hidden` units,
    `dropout`), in every component.
    """
    if kind not in REGIONAL_MODELS:
        raise ValueError(f"unknown regional model {kind!r}; models: {', '.join(REGIONAL_MODELS)}")
    n_attributes = attribute_stats.mean.shape[-1]
    k_par, k_hyper, k_head = jax.random.split(key, 3)
    if kind == "regional_lstm":
        lstm = LSTM(
            len(REGIONAL_FORCINGS) + n_attributes, hidden=hidden, dropout=dropout, key=k_head
        )
        return RegionalLSTM(attribute_stats, forcing_stats, q_stats, lstm)
    if kind == "regional_dpl":
        check_discharge(physics)
        layout = Layout(physics)
        static = MLP(n_attributes, layout.size(dynamic=False), width=width, key=k_par)
        static = _output_layer(static, 0.1, layout.start(start, dynamic=False))
        network = dynamic_network(
            len(REGIONAL_FORCINGS) + n_attributes,
            layout,
            start,
            hidden=hidden,
            dropout=dropout,
            key=k_head,
        )
        options = {"physics": physics, "solver": solver, "sensitivity": sensitivity}
        return RegionalDpl(attribute_stats, forcing_stats, static, network, **options)
    pseudo = kind == "pseudo_regional_hybrid"
    if physical is None:
        check_discharge(physics)
        n_params = len(physics.parameters)
        start = jnp.full(n_params, 0.5) if start is None else jnp.asarray(start)
        raw = jax.scipy.special.logit(jnp.clip(start, 1e-3, 1 - 1e-3))
        parameters = _output_layer(MLP(n_attributes, n_params, width=width, key=k_par), 0.1, raw)
        physical = RegionalPhysical(
            attribute_stats,
            parameters,
            pseudo=pseudo,
            physics=physics,
            solver=solver,
            sensitivity=sensitivity,
        )
    elif physical.pseudo != pseudo:
        raise ValueError(f"a {kind} needs a {'pseudo-' if pseudo else ''}regional P-RNN")
    if kind == "regional_physical":
        return physical
    head = ConvHead(1 + len(REGIONAL_FORCINGS), filters=filters, kernel=kernel, key=k_head)
    n_weights = ravel_pytree(eqx.filter(head, eqx.is_array))[0].size
    weights = _output_layer(MLP(n_attributes, n_weights, width=width, key=k_hyper), 0.0, 0.0)
    return RegionalHybrid(physical, weights, head, forcing_stats, q_stats)


def _output_layer(net: MLP, scale: float, bias) -> MLP:
    """`net` with its last layer's weights scaled by `scale` and its bias set to `bias`."""
    last = net.mlp.layers[-1]
    net = eqx.tree_at(lambda n: n.mlp.layers[-1].weight, net, last.weight * scale)
    return eqx.tree_at(
        lambda n: n.mlp.layers[-1].bias, net, jnp.broadcast_to(bias, last.bias.shape)
    )
