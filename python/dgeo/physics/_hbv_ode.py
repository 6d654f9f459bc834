"""HBV in ODE form: the model of Song et al. (2024) that MHPI's `HbvAdj` solves by implicit
Euler with adjoint gradients. One flux function, so it runs under every dgeo solver."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp

from ._hbv import HbvFamily


class HbvOde(HbvFamily):
    """HBV 1.0 as a system of ODEs (Song et al. 2024, HESS 28, 3051-3077).

    The same stores, parameters (MHPI's bounds, BETAET included), components and routing as
    `Hbv`, but every flux is a function of the current states, all evaluated together:

    - snowfall = P [T < TT], rainfall = P [T >= TT]
    - melt = min(max(CFMAX (T - TT), 0), snowpack); refreezing = min(max(CFR CFMAX (TT - T),
      0), meltwater); infiltration = max(meltwater - CWH snowpack, 0)
    - recharge ("effective precipitation") = (rainfall + infiltration) min((SM / FC)^BETA, 1);
      excess = max(SM - FC, 0); evapotranspiration = min(SM, E min((SM / (LP FC))^BETAET, 1))
    - percolation = min(upper, PERC); surface flow Q0 = K0 max(upper - UZL, 0); subsurface
      flow Q1 = K1 upper; groundwater flow Q2 = K2 lower
    - d snowpack/dt = snowfall + refreezing - melt; d meltwater/dt = melt - refreezing -
      infiltration; d SM/dt = infiltration + rainfall - recharge - excess - ET;
      d upper/dt = recharge + excess - percolation - Q0 - Q1; d lower/dt = percolation - Q2

    As in MHPI's right-hand side, the fluxes see the stores clipped at zero (the soil at
    1e-8 mm), so a solver's overshoot below zero drains nothing further. The water balance
    closes with snowfall and rainfall in and ET and the three flows out. `q` (Q0 + Q1 + Q2) is
    averaged over the components and routed as in `Hbv`.

    MHPI's scheme is implicit Euler with one step a day, `dgeo.ImplicitEuler()` (Newton
    forward; gradients by the implicit function theorem, one linear solve per step); the
    same scheme through diffrax is `dgeo.Continuous(diffrax.ImplicitEuler(), substeps=1)`.
    `Discrete()` gives explicit Euler and `Continuous()` any diffrax solver. Every flux may
    be overridden (see `PhysicalModel`).
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
        "percolation",
        "surface_flow",
        "subsurface_flow",
        "groundwater_flow",
        "q",
    )
    inflows: ClassVar = ("snowfall", "rainfall")
    outflows: ClassVar = (
        "evapotranspiration",
        "surface_flow",
        "subsurface_flow",
        "groundwater_flow",
    )

    def rates(self, state, forcing, params):
        p, t, pet = (forcing[k][..., None] for k in ("prcp", "tmean", "pet"))  # over components
        tt, cfmax, fc = params["TT"], params["CFMAX"], params["FC"]
        snowpack = jnp.maximum(state["snowpack"], 0.0)
        meltwater = jnp.maximum(state["meltwater"], 0.0)
        soil = jnp.maximum(state["soil_moisture"], 1e-8)
        upper = jnp.maximum(state["upper_zone"], 0.0)
        lower = jnp.maximum(state["lower_zone"], 0.0)
        known = {**state, **forcing, **params}

        def flux(name, value):
            known[name] = self.process(name, value, known)
            return known[name]

        snowfall = flux("snowfall", jnp.where(t < tt, p, 0.0))
        rainfall = flux("rainfall", jnp.where(t >= tt, p, 0.0))
        melt = flux("melt", jnp.minimum(jnp.maximum(cfmax * (t - tt), 0.0), snowpack))
        refreezing = jnp.maximum(params["CFR"] * cfmax * (tt - t), 0.0)
        refreezing = flux("refreezing", jnp.minimum(refreezing, meltwater))
        infiltration = flux("infiltration", jnp.maximum(meltwater - params["CWH"] * snowpack, 0.0))
        wetness = jnp.clip((soil / fc) ** params["BETA"], 0.0, 1.0)
        recharge = flux("recharge", (rainfall + infiltration) * wetness)
        excess = flux("excess", jnp.maximum(soil - fc, 0.0))
        factor = jnp.clip((soil / (params["LP"] * fc)) ** params["BETAET"], 0.0, 1.0)
        et = flux("evapotranspiration", jnp.minimum(soil, pet * factor))
        percolation = flux("percolation", jnp.minimum(upper, params["PERC"]))
        q0 = flux("surface_flow", params["K0"] * jnp.maximum(upper - params["UZL"], 0.0))
        q1 = flux("subsurface_flow", params["K1"] * upper)
        q2 = flux("groundwater_flow", params["K2"] * lower)
        flux("q", q0 + q1 + q2)
        tendency = {
            "snowpack": snowfall + refreezing - melt,
            "meltwater": melt - refreezing - infiltration,
            "soil_moisture": infiltration + rainfall - recharge - excess - et,
            "upper_zone": recharge + excess - percolation - q0 - q1,
            "lower_zone": percolation - q2,
        }
        return tendency, {name: known[name] for name in self.fluxes}
