"""The four models of Jiang et al. (2020), each for one basin: physical, common, hybrid, lstm.

A basin model maps that basin's forcing series (name -> (time,) in `FORCINGS` units) to
discharge `q` plus, for models with physics, every state and flux of the P-RNN; its physical
parameters come from `physical_parameters()`. Many basins are trained at once by stacking one
model per basin (`build` under `eqx.filter_vmap`) and vmapping the call.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._typing import FeatureSeries, Inputs, Scalar
from ..nn import LSTM, ConvHead, SeriesLSTM, Standardiser
from ..physics import ExpHydro, PhysicalModel
from ..solve import AbstractSensitivity, AbstractSolver, Backprop, Discrete, integrate
from ._dpl import Layout, dynamic_network

#: The five daily forcings the neural parts see (Jiang et al. 2020), in the units they see.
FORCINGS: dict[str, str] = {
    "prcp": "mm/day",
    "tmean": "degC",
    "dayl": "day",
    "srad": "W/m2",
    "vp": "Pa",
}


def _stack(inputs: Inputs, names) -> FeatureSeries:
    return jnp.stack([inputs[n] for n in names], axis=-1)


#: Width of the smooth floor at zero discharge, as a fraction of the basin's (or, for regional
#: models, the training basins') observed discharge standard deviation (see `discharge`).
ZERO_FLOOR_WIDTH = 0.1


def discharge(z: Float[Array, " time"], target: Standardiser) -> Float[Array, " time"]:
    """A network's standardised output -> discharge (mm/day), non-negative by construction.

    The de-standardised output y = z std + mean goes through a softplus of width
    w = `ZERO_FLOOR_WIDTH` std: q = w log(1 + exp(y / w)). It is within 1.6 % of y once
    y > 3 w (0.3 std) and within 5e-5 w once y > 10 w (1 std); below that it lifts low flows
    towards w log 2 at y = 0, and to 0 far below zero. It is never negative.

    The gradient is passed straight through: d q / d y is taken as 1 (Bengio et al. 2013's
    straight-through estimator), not the softplus's sigmoid(y / w). A network that undershoots
    on a day with flow is then pulled up as strongly as one that overshoots is pulled down,
    however far below zero it went. Measured on the 26 CAMELS basins (the common model, three
    seeds), this trains as well as or better than no floor at all, where the softplus's own
    gradient, or a ReLU, lost about 0.01 of mean NSE (docs/guide/models.md, "Discharge is never negative").
    The value is the softplus's; only the gradient differs from the softplus's, where y is
    below about 3 w (`jax.grad` of a network's discharge on those low-flow days is that of y).
    """
    y = target.invert(z[:, None])[:, 0]
    width = ZERO_FLOOR_WIDTH * jax.lax.stop_gradient(target.std[0]).astype(y.dtype)
    return y + jax.lax.stop_gradient(width * jax.nn.softplus(y / width) - y)


class BasinModel(eqx.Module):
    """One basin's model: forcing series in, discharge `q` (mm/day) and internals out.

    Class variables tell the training workflow what a kind needs: `reads_forcings` (its
    networks read the five `FORCINGS`), `runs_physics` (it runs the physical model, which
    reads the forcings that model declares) and `searched` (its physical parameters start
    from a random search, `ModelOptions.physical_search`, passed to `build` as `start`).
    """

    kind: ClassVar[str]
    reads_forcings: ClassVar[bool] = True
    runs_physics: ClassVar[bool] = False
    searched: ClassVar[bool] = False

    def __call__(
        self, inputs: Inputs, *, key: PRNGKeyArray | None = None, full: bool = True
    ) -> Inputs:
        """`key` drives dropout (None: inference); `full=False` returns only `q` (training)."""
        raise NotImplementedError

    def physical_parameters(self) -> dict[str, Scalar]:
        """Physical parameter name -> value (empty for purely neural models)."""
        return {}


class Physical(BasinModel):
    """The P-RNN alone: a physical model (`physics`, default EXP-HYDRO) whose parameters are
    learned within their physical bounds.

    The trainable `raw` values map to parameters by lower + (upper - lower) sigmoid(raw), so
    every gradient step stays physically valid.
    """

    kind: ClassVar[str] = "physical"
    reads_forcings: ClassVar[bool] = False
    runs_physics: ClassVar[bool] = True
    searched: ClassVar[bool] = True
    raw: Float[Array, " parameters"]
    physics: PhysicalModel = ExpHydro()
    solver: AbstractSolver = Discrete()
    sensitivity: AbstractSensitivity = Backprop()

    @classmethod
    def init(cls, fraction: Float[Array, " parameters"], **options) -> Physical:
        """Parameters at `fraction` (0..1) of each bound interval."""
        return cls(jax.scipy.special.logit(jnp.clip(fraction, 1e-4, 1 - 1e-4)), **options)

    def physical_parameters(self):
        return bounded(self.physics, self.raw)

    def __call__(self, inputs, *, key=None, full=True):
        return run_physics(
            self.physics, inputs, self.physical_parameters(), self.solver, self.sensitivity, full
        )


def check_discharge(physics: PhysicalModel) -> None:
    """A physical model whose fluxes include discharge `q` (what the models train on)."""
    if "q" not in physics.fluxes:
        raise ValueError(
            f"{type(physics).__name__} declares no discharge flux 'q' (fluxes: "
            f"{', '.join(physics.fluxes)}); a trainable model needs one"
        )


def required_forcings(kinds, physics: PhysicalModel) -> dict[str, str]:
    """The forcings (name -> units) the basin models `kinds` read: the networks' `FORCINGS`
    when a network is among them, and the forcings `physics` declares when it has physics
    (as each kind's class says; a name that is no kind reads both)."""
    classes = [MODELS.get(k, Hybrid) for k in kinds]
    needed = dict(FORCINGS) if any(c.reads_forcings for c in classes) else {}
    return needed | (dict(physics.forcings) if any(c.runs_physics for c in classes) else {})


def physics_of(model) -> PhysicalModel | None:
    """The physical model inside a basin or regional model, None for purely neural ones."""
    for node in jax.tree_util.tree_leaves(model, is_leaf=lambda x: isinstance(x, PhysicalModel)):
        if isinstance(node, PhysicalModel):
            return node
    return None


def bounded(physics: PhysicalModel, raw: Float[Array, "... parameters"]) -> dict:
    """Unbounded values -> parameters: lower + (upper - lower) sigmoid(raw), name by name."""
    fraction = jax.nn.sigmoid(raw)
    return {
        p.name: p.lower + (p.upper - p.lower) * fraction[..., i]
        for i, p in enumerate(physics.parameters)
    }


def run_physics(physics, inputs, parameters, solver, sensitivity, full: bool) -> Inputs:
    """One basin's P-RNN: every state and flux (`full`) or only `q`, in the forcing's dtype."""
    forcing = {name: inputs[name] for name in physics.forcings}
    dtype = forcing[next(iter(forcing))].dtype  # the forcing's precision rules
    params = {k: v.astype(dtype) for k, v in parameters.items()}
    trajectory = integrate(
        physics,
        forcing,
        params,
        solver=solver,
        sensitivity=sensitivity,
        save=None if full else ("q",),
    )
    return dict(trajectory.series)


class Common(BasinModel):
    """The Conv1D head alone on the five standardised forcings."""

    kind: ClassVar[str] = "common"
    scaler: Standardiser
    target: Standardiser
    head: ConvHead

    def __call__(self, inputs, *, key=None, full=True):
        z = self.head(self.scaler(_stack(inputs, FORCINGS)))
        return {"q": discharge(z, self.target)}


class Hybrid(BasinModel):
    """P-RNN discharge Q* and the five forcings, standardised, into the Conv1D head.

    Q* is standardised with the observed discharge statistics of the training period (same
    units, and Q* of a sensible P-RNN has a similar spread). Returns the P-RNN's states and
    fluxes, its discharge as `q_physical`, and the head's output as `q`.
    """

    kind: ClassVar[str] = "hybrid"
    runs_physics: ClassVar[bool] = True
    physical: Physical
    scaler: Standardiser
    target: Standardiser
    head: ConvHead

    def physical_parameters(self):
        return self.physical.physical_parameters()

    def __call__(self, inputs, *, key=None, full=True):
        out = self.physical(inputs, full=full)
        return couple(out, inputs, FORCINGS, self.head, self.scaler, self.target)


def couple(out: Inputs, inputs: Inputs, forcings, head, scaler, target) -> Inputs:
    """The hybrid coupling: the P-RNN discharge Q* (`out["q"]`) standardised with the observed
    discharge statistics `target` and the `forcings` standardised by `scaler` go into `head`.
    Returns the P-RNN's outputs, Q* as `q_physical` and the head's discharge as `q`."""
    x = jnp.concatenate([target(out["q"][:, None]), scaler(_stack(inputs, forcings))], axis=-1)
    return {**out, "q_physical": out["q"], "q": discharge(head(x), target)}


class LSTMModel(BasinModel):
    """The reference LSTM (Kratzert et al. 2018) on the five standardised forcings."""

    kind: ClassVar[str] = "lstm"
    scaler: Standardiser
    target: Standardiser
    lstm: LSTM

    def __call__(self, inputs, *, key=None, full=True):
        z = self.lstm(self.scaler(_stack(inputs, FORCINGS)), key=key)
        return {"q": discharge(z, self.target)}


#: Spread (logit units) of the per-basin dPL model's starting static outputs around the start.
COMPONENT_JITTER = 0.3


class Dpl(BasinModel):
    """One basin's physical model with learned parameters (dPL per basin; `_dpl.py`).

    `raw` holds the basin's static parameters, one per component (and one per routing
    parameter), each through the bounded transform; `network`, an LSTM over the basin's five
    standardised forcings (`FORCINGS`), gives the dynamic parameters (`physics.dynamic`) of
    every component on every day; None when the physical model has none. With
    `dgeo.Hbv(nmul=..., dynamic=(...))` this is δHBV trained basin by basin.
    """

    kind: ClassVar[str] = "dpl"
    runs_physics: ClassVar[bool] = True
    searched: ClassVar[bool] = True
    raw: Float[Array, " static"]
    scaler: Standardiser
    network: SeriesLSTM | None
    physics: PhysicalModel = ExpHydro()
    solver: AbstractSolver = Discrete()
    sensitivity: AbstractSensitivity = Backprop()

    @classmethod
    def init(
        cls,
        key: PRNGKeyArray,
        forcing_stats: Standardiser,
        start: Float[Array, " parameters"] | None = None,
        *,
        hidden: int = 16,
        dropout: float = 0.0,
        **options,
    ) -> Dpl:
        """Parameters near `start` (fractions 0..1 of each bound interval, one per declared
        parameter; None: mid-range) in every component, on every day.

        The static outputs of parameters with components are jittered by `COMPONENT_JITTER`
        (logit units) so that the components start apart: identical components get identical
        gradients and would stay one component however many there are."""
        k_net, k_raw = jax.random.split(key)
        layout = Layout(options.get("physics", ExpHydro()))
        network = dynamic_network(
            len(FORCINGS), layout, start, hidden=hidden, dropout=dropout, key=k_net
        )
        raw = layout.start(start, dynamic=False)
        jitter = COMPONENT_JITTER * jax.random.normal(k_raw, raw.shape, raw.dtype)
        raw = raw + jnp.where(layout.in_components(dynamic=False), jitter, 0.0)
        return cls(raw, forcing_stats, network, **options)

    def physical_parameters(self):
        """The static parameters, each the mean over its components (the dynamic ones vary
        by day: the model's full output has them, `Layout.daily`)."""
        layout = Layout(self.physics)
        return layout.per_basin(layout.bounded(self.raw, dynamic=False))

    def parameters(self, inputs: Inputs, *, key: PRNGKeyArray | None = None) -> dict:
        """Every parameter as the physical model takes it: static ones shaped as the model
        says (`shape_of`), dynamic ones with the days first."""
        layout = Layout(self.physics)
        params = layout.bounded(self.raw, dynamic=False)
        if self.network is not None:
            z = self.network(self.scaler(_stack(inputs, FORCINGS)), key=key)
            params |= layout.bounded(z, dynamic=True)
        return params

    def __call__(self, inputs, *, key=None, full=True):
        """Discharge (`full`: with every state, flux and the daily dynamic parameters, each
        the mean over its components)."""
        params = self.parameters(inputs, key=key)
        out = run_physics(self.physics, inputs, params, self.solver, self.sensitivity, full)
        return out | Layout(self.physics).daily(params) if full else out


MODELS: dict[str, type[BasinModel]] = {
    m.kind: m for m in (Physical, Common, Hybrid, LSTMModel, Dpl)
}


def build(
    kind: str,
    key: PRNGKeyArray,
    forcing_stats: Standardiser,
    q_stats: Standardiser,
    *,
    physical: Physical | None = None,
    start: Float[Array, " parameters"] | None = None,
    filters: int = 8,
    kernel: int = 10,
    hidden: int = 256,
    dropout: float = 0.4,
    solver: AbstractSolver = Discrete(),
    sensitivity: AbstractSensitivity = Backprop(),
    physics: PhysicalModel = ExpHydro(),
) -> BasinModel:
    """A freshly initialised basin model of `kind` (one of `MODELS`).

    `forcing_stats` and `q_stats` standardise the forcings and discharge with training-period
    statistics. `physics` is the physical model of the P-RNN (default EXP-HYDRO); it must
    have a discharge flux `q`. `physical` gives the hybrid's P-RNN a starting point (e.g. a
    trained physical model); otherwise physical parameters start at `start` (fractions 0..1
    of each bound interval, e.g. from a random search) or at a random point of their bounds.
    `hidden` and `dropout` size the LSTM of `lstm` and the dynamic-parameter LSTM of `dpl`.
    """
    if kind not in MODELS:
        raise ValueError(f"unknown model {kind!r}; models: {', '.join(MODELS)}")
    k_phys, k_head = jax.random.split(key)
    if MODELS[kind].runs_physics and physical is None:
        check_discharge(physics)
        if start is None:
            n = len(physics.parameters)
            start = jax.random.uniform(k_phys, (n,), minval=0.05, maxval=0.95)
    options = {"physics": physics, "solver": solver, "sensitivity": sensitivity}
    if kind == "dpl":
        return Dpl.init(k_head, forcing_stats, start, hidden=hidden, dropout=dropout, **options)
    if kind in ("physical", "hybrid") and physical is None:
        physical = Physical.init(start, **options)
    if kind == "physical":
        return physical
    if kind == "hybrid":
        head = ConvHead(1 + len(FORCINGS), filters=filters, kernel=kernel, key=k_head)
        return Hybrid(physical, forcing_stats, q_stats, head)
    if kind == "common":
        head = ConvHead(len(FORCINGS), filters=filters, kernel=kernel, key=k_head)
        return Common(forcing_stats, q_stats, head)
    return LSTMModel(
        forcing_stats,
        q_stats,
        LSTM(len(FORCINGS), hidden=hidden, dropout=dropout, key=k_head),
    )
