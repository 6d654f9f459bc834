"""HBV 1.0 as MHPI's δHBV runs it (Feng et al. 2022): a daily operator-split update with hard
thresholds, `nmul` parallel components per basin, and gamma unit-hydrograph routing.

This is dgeo's own implementation of the algorithm that MHPI's `hydrodl2.models.hbv.Hbv`
(version 1.4) computes; `tests/test_hbv.py` checks it against that code on identical inputs.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from . import _hbv_day
from ._base import Parameter, PhysicalModel

#: The routing parameters: one value per basin, shared by its components.
ROUTING = ("route_a", "route_b")


def gamma_unit_hydrograph(
    route_a: Float[Array, "*basin"], route_b: Float[Array, "*basin"], days: int
) -> Float[Array, "*basin lag"]:
    """The gamma unit hydrograph of δHBV's routing: weights over `days` lags, summing to one.

    With shape a = route_a + 0.1 and scale θ = route_b + 0.5 (the offsets keep the kernel
    finite at the lower bounds 0), the weight of lag k (0 = the same day) is the gamma
    density at the middle of the day, t = k + 1/2, normalised over the lags:
    w_k ∝ t^(a-1) exp(-t/θ). Computed as a softmax of the log-density, which is the same
    number without the overflow of Γ(a) θ^a.
    """
    t = jnp.arange(days, dtype=jnp.result_type(route_a, float)) + 0.5
    shape = route_a[..., None] + 0.1
    scale = route_b[..., None] + 0.5
    return jax.nn.softmax((shape - 1.0) * jnp.log(t) - t / scale, axis=-1)


def convolve(
    series: Float[Array, "time *basin"], kernel: Float[Array, "*basin lag"]
) -> Float[Array, "time *basin"]:
    """Causal convolution over time: out[t] = sum_k kernel[k] series[t - k], zero before day 0.

    Vectorised over days and basins: one shifted copy of the series per lag (15 for δHBV),
    no loop over days; differentiable in the series and the kernel.
    """
    days, lags = series.shape[0], kernel.shape[-1]
    padded = jnp.concatenate([jnp.zeros((lags - 1, *series.shape[1:]), series.dtype), series])
    return sum(kernel[..., k] * padded[lags - 1 - k : lags - 1 - k + days] for k in range(lags))


class HbvFamily(PhysicalModel):
    """What the two forms of HBV share: parameters with MHPI's bounds, the five stores, the
    forcings, `nmul` parallel components per basin and gamma unit-hydrograph routing.

    **Fields:**

    - `nmul`: parallel components per basin (δHBV uses 16). The 13 HBV parameters and the
      states get a trailing component axis (`shape_of`); the routing parameters do not.
      After the daily loop every state and flux is averaged over the components (`finish`).
    - `dynamic`: parameters that vary by day, e.g. `("BETA", "BETAET")` as in δHBV 1.1p.
    - `routing_days`: length of the unit hydrograph (15 in δHBV; 1 means no routing). `q`,
      the component-mean discharge, is routed in `finish`.
    """

    nmul: int = eqx.field(default=1, static=True)
    routing_days: int = eqx.field(default=15, static=True)

    parameters: ClassVar = (
        Parameter("BETA", 1.0, 6.0, "1", "shape of the soil's recharge curve"),
        Parameter("FC", 50.0, 1000.0, "mm", "field capacity of the soil"),
        Parameter("K0", 0.05, 0.9, "1/day", "recession of surface flow above UZL"),
        Parameter("K1", 0.01, 0.5, "1/day", "recession of the upper zone"),
        Parameter("K2", 0.001, 0.2, "1/day", "recession of the lower zone"),
        Parameter("LP", 0.2, 1.0, "1", "fraction of FC above which ET is at its potential"),
        Parameter("PERC", 0.0, 10.0, "mm/day", "maximum percolation to the lower zone"),
        Parameter("UZL", 0.0, 100.0, "mm", "upper-zone threshold of surface flow"),
        Parameter("TT", -2.5, 2.5, "degC", "threshold temperature of snowfall and melt"),
        Parameter("CFMAX", 0.5, 10.0, "mm/degC/day", "degree-day melt factor"),
        Parameter("CFR", 0.0, 0.1, "1", "refreezing coefficient"),
        Parameter("CWH", 0.0, 0.2, "1", "water holding capacity of the snowpack"),
        Parameter("BETAET", 0.3, 5.0, "1", "exponent of the evaporation factor"),
        Parameter("route_a", 0.0, 2.9, "1", "gamma unit hydrograph: shape - 0.1"),
        Parameter("route_b", 0.0, 6.5, "day", "gamma unit hydrograph: scale - 0.5"),
    )
    states: ClassVar = ("snowpack", "meltwater", "soil_moisture", "upper_zone", "lower_zone")
    forcings: ClassVar = {"prcp": "mm/day", "tmean": "degC", "pet": "mm/day"}

    def __check_init__(self):
        for name in ("nmul", "routing_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(
                    f"{type(self).__name__}.{name} must be a positive integer, got {value!r}"
                )
            if value < 1:
                raise ValueError(f"{type(self).__name__}.{name} must be at least 1, got {value}")
        routed = [p for p in self.dynamic if p in ROUTING]
        if routed:
            raise ValueError(
                f"{type(self).__name__} cannot vary {routed} by day: the unit hydrograph is "
                "one kernel per basin, applied after the daily loop"
            )

    def shape_of(self, name, basins):
        return tuple(basins) if name in ROUTING else (*basins, self.nmul)

    def finish(self, series, params):
        """The mean over the components of every state and flux; `q` routed."""
        out = {name: jnp.mean(values, axis=-1) for name, values in series.items()}
        if "q" in out:
            days = out["q"].shape[0]
            if self.routing_days > days:
                raise ValueError(
                    f"{type(self).__name__}'s routing kernel (routing_days={self.routing_days}) "
                    f"is longer than the series ({days} days): run at least "
                    f"{self.routing_days} days or shorten routing_days"
                )
            route_a, route_b = params["route_a"], params["route_b"]
            kernel = gamma_unit_hydrograph(route_a, route_b, self.routing_days)
            out["q"] = convolve(out["q"], kernel)
        return out


class Hbv(HbvFamily):
    """HBV 1.0 as in δHBV (Feng et al. 2022; HBV-light, Seibert 2005; Beck et al. 2020).

    States (mm): `snowpack`, `meltwater` (liquid water held in the snow), `soil_moisture`,
    `upper_zone` and `lower_zone` groundwater. Forcings: `prcp` (mm/day), `tmean` (degC),
    `pet` (mm/day; dgeo uses Hamon's, `hamon_pet`). Each day, in this order (P precipitation,
    T temperature, E PET; every `max(., 0)` and `min` is a hard threshold, as in MHPI's code):

    1. snow: rainfall = P [T >= TT], snowfall = P [T < TT]; the snowpack takes the snowfall,
       melt = min(max(CFMAX (T - TT), 0), snowpack) moves to the meltwater; refreezing =
       min(max(CFR CFMAX (TT - T), 0), meltwater) moves back; infiltration = max(meltwater -
       CWH snowpack, 0) leaves the snow for the soil.
    2. soil: recharge = (rainfall + infiltration) min((SM / FC)^BETA, 1) goes to the upper
       zone, the rest to the soil; excess = max(SM - FC, 0) goes to the upper zone;
       evapotranspiration = min(E min((SM / (LP FC))^BETAET, 1), SM); the soil keeps at least
       1e-5 mm (`soil_floor`, the water that floor adds, counted as an inflow).
    3. response: the upper zone takes recharge and excess; percolation = min(upper, PERC) to
       the lower zone; surface flow Q0 = K0 max(upper - UZL, 0), then subsurface flow
       Q1 = K1 upper, each from what is left; groundwater flow Q2 = K2 lower.

    `q` is the streamflow: Q0 + Q1 + Q2 averaged over the `nmul` components and routed by the
    gamma unit hydrograph (`route_a`, `route_b`, `routing_days` lags). The three flow
    components are reported unrouted (MHPI also reports them routed; routing is linear, so
    routed they would sum to `q`), and every state and flux is the mean over the components.

    BETAET is MHPI's exponent on the evaporation factor, which its code uses only when BETAET
    is dynamic; here it is always a parameter, and BETAET = 1 is HBV 1.0 without it.

    Fields `nmul`, `dynamic` and `routing_days`: see `HbvFamily`.

    The update is no ODE step, so the model supplies `step` and no `rates`: it runs under
    `dgeo.Discrete()` only (HBV's ODE form is `HbvOde`, which runs under every solver). Its
    derivative is written out by hand (`jax.custom_jvp`, forward and reverse mode alike), for
    a gradient that takes ~10 % less time than with JAX's own on CPU. At an exact tie of a
    threshold it takes one side, where JAX's rule takes half of each (physics/_hbv_day.py).
    """

    fluxes: ClassVar = (
        "snowfall",
        "rainfall",
        "melt",
        "refreezing",
        "infiltration",
        "recharge",
        "excess",
        "evapotranspiration",
        "soil_floor",
        "percolation",
        "surface_flow",
        "subsurface_flow",
        "groundwater_flow",
        "q",
    )
    inflows: ClassVar = ("snowfall", "rainfall", "soil_floor")
    outflows: ClassVar = (
        "evapotranspiration",
        "surface_flow",
        "subsurface_flow",
        "groundwater_flow",
    )

    #: The least soil moisture (mm) the update leaves (MHPI's `nearzero`).
    soil_floor_mm: ClassVar[float] = 1e-5

    def step(self, state, forcing, params):
        # The update and its hand-written derivative: physics/_hbv_day.py.
        return _hbv_day.step(state, forcing, params, self.soil_floor_mm)

    def __check_init__(self):
        if self.overrides:
            raise ValueError("Hbv's operator-split step takes no flux overrides")
