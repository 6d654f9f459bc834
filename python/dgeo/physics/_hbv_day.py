"""δHBV's daily update (`Hbv.step`) and its derivative, written out by hand.

The update is one chain of about forty operations. JAX differentiates it correctly, but in
the gradient's reverse loop XLA's CPU backend splits the chain into many fused kernels, and
each kernel recomputes the stretch of the forward chain it needs. The tangent below takes the
weights of the linearisation (masks of the thresholds, slopes of the power laws) from one
forward computation, and the reverse pass is its transpose, which JAX derives. That cut
δHBV's gradient over 671 basins x 730 days by about a sixth on a 2-core CPU
(benchmarks/results/hbv_speed.md). It is a `jax.custom_jvp`, so forward mode works too.

Thresholds: at an exact tie the derivative of `max(x, y)` is y's and that of `min(x, y)` x's.
So on a cold, dry day without snow, melt = min(potential 0, snowpack 0) does not grow with
snowfall (JAX's own rule would take half of each side, as if half of new snow melted at
once). Away from ties the two derivatives agree to rounding; tests/test_hbv.py checks both
directions against JAX's derivative of the same update.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

#: The HBV parameters the daily update reads (the routing ones act after the loop).
PARAMETERS = (
    "BETA",
    "FC",
    "K0",
    "K1",
    "K2",
    "LP",
    "PERC",
    "UZL",
    "TT",
    "CFMAX",
    "CFR",
    "CWH",
    "BETAET",
)


def _power(base, exponent):
    """base ** exponent for base >= 0, with 0 ** exponent = 0 and a finite gradient there.

    As exp(exponent log base): its derivatives reuse the log and the exp (d/d base = value
    exponent / base, d/d exponent = value log base), where those of `jnp.power` compute a
    second power, base ** (exponent - 1). The gradient of δHBV over 671 basins x 730 days
    takes ~13 % less time (benchmarks/results/hbv_speed.md); the values differ from
    `jnp.power`'s by rounding.
    """
    positive = base > 0
    safe = jnp.where(positive, base, 1.0)
    return jnp.where(positive, jnp.exp(exponent * jnp.log(safe)), 0.0)


def _larger(x, y):
    """max(x, y) (NaN-propagating) and where its derivative is x's: where x > y."""
    return jnp.maximum(x, y), x > y


def _smaller(x, y):
    """min(x, y) (NaN-propagating) and where its derivative is x's: where x <= y."""
    return jnp.minimum(x, y), x <= y


def _capped_power(ratio, exponent):
    """min(ratio ** exponent, 1) for ratio >= 0, and its slopes in ratio and in exponent."""
    value = _power(ratio, exponent)
    capped, below = jnp.minimum(value, 1.0), value < 1.0
    positive = ratio > 0
    safe = jnp.where(positive, ratio, 1.0)
    slope = jnp.where(below & positive, value, 0.0)
    return capped, slope * exponent / safe, slope * jnp.log(safe)


def day(state, forcing, params, floor):
    """One day of HBV: ((new state, fluxes), weights), the weights being what `_tangent` needs.

    `state`: the five stores; `forcing`: prcp, tmean, pet over basins (broadcast over the
    components); `params`: the `PARAMETERS`; `floor`: the least soil moisture (mm).
    """
    p, t, pet = (forcing[k][..., None] for k in ("prcp", "tmean", "pet"))
    tt, cfmax, fc = params["TT"], params["CFMAX"], params["FC"]
    snowpack, meltwater = state["snowpack"], state["meltwater"]
    soil, upper, lower = state["soil_moisture"], state["upper_zone"], state["lower_zone"]
    w = {"pet": pet}

    # Snow routine.
    w["warm"] = t >= tt
    rainfall = jnp.where(w["warm"], p, 0.0)
    snowfall = jnp.where(w["warm"], 0.0, p)
    snowpack = snowpack + snowfall
    w["above_tt"] = t - tt
    potential, w["melting"] = _larger(cfmax * w["above_tt"], 0.0)
    melt, w["melt_by_degree"] = _smaller(potential, snowpack)
    meltwater, snowpack = meltwater + melt, snowpack - melt
    w["refreeze_factor"] = params["CFR"] * cfmax
    refreezing, w["refreezing"] = _larger(w["refreeze_factor"] * -w["above_tt"], 0.0)
    refreezing, w["refreeze_by_degree"] = _smaller(refreezing, meltwater)
    snowpack, meltwater = snowpack + refreezing, meltwater - refreezing
    w["snowpack"] = snowpack
    infiltration, w["infiltrating"] = _larger(meltwater - params["CWH"] * snowpack, 0.0)
    meltwater = meltwater - infiltration

    # Soil routine.
    w["wet_ratio"] = soil / fc
    w["wetness"], w["wetness_by_ratio"], w["wetness_by_beta"] = _capped_power(
        w["wet_ratio"], params["BETA"]
    )
    w["inflow"] = rainfall + infiltration
    recharge = w["inflow"] * w["wetness"]
    soil = soil + w["inflow"] - recharge
    excess, w["overflowing"] = _larger(soil - fc, 0.0)
    soil = soil - excess
    w["et_capacity"] = params["LP"] * fc
    w["et_ratio"] = soil / w["et_capacity"]
    w["factor"], w["factor_by_ratio"], w["factor_by_betaet"] = _capped_power(
        w["et_ratio"], params["BETAET"]
    )
    et, w["et_by_demand"] = _smaller(pet * w["factor"], soil)
    dried = soil - et
    soil, w["above_floor"] = _larger(dried, floor)

    # Response routine.
    upper = upper + recharge + excess
    percolation, w["percolating_all"] = _smaller(upper, params["PERC"])
    upper = upper - percolation
    w["above_uzl"], w["surface_flowing"] = _larger(upper - params["UZL"], 0.0)
    q0 = params["K0"] * w["above_uzl"]
    upper = upper - q0
    w["upper"] = upper
    q1 = params["K1"] * upper
    upper = upper - q1
    lower = lower + percolation
    w["lower"] = lower
    q2 = params["K2"] * lower
    lower = lower - q2

    new_state = {
        "snowpack": snowpack,
        "meltwater": meltwater,
        "soil_moisture": soil,
        "upper_zone": upper,
        "lower_zone": lower,
    }
    fluxes = {
        "snowfall": snowfall,
        "rainfall": rainfall,
        "melt": melt,
        "refreezing": refreezing,
        "infiltration": infiltration,
        "recharge": recharge,
        "excess": excess,
        "evapotranspiration": et,
        "soil_floor": soil - dried,
        "percolation": percolation,
        "surface_flow": q0,
        "subsurface_flow": q1,
        "groundwater_flow": q2,
        "q": q0 + q1 + q2,  # unrouted here; `finish` routes it
    }
    return (new_state, fluxes), w


def _tangent(w, params, d_state, d_forcing, d_params):
    """The day's derivative: tangents of state, forcing and parameters -> tangents of the new
    state and fluxes; linear in them, `day`'s operations in the same order."""
    where = jnp.where
    dp, dt, dpet = (d_forcing[k][..., None] for k in ("prcp", "tmean", "pet"))
    d = d_params
    dsnowpack, dmeltwater = d_state["snowpack"], d_state["meltwater"]
    dsoil, dupper, dlower = d_state["soil_moisture"], d_state["upper_zone"], d_state["lower_zone"]

    # Snow routine (the rain/snow split and its threshold TT have no derivative).
    drainfall = where(w["warm"], dp, 0.0)
    dsnowfall = dp - drainfall
    dsnowpack = dsnowpack + dsnowfall
    dabove_tt = dt - d["TT"]
    dpotential = d["CFMAX"] * w["above_tt"] + params["CFMAX"] * dabove_tt
    dmelt = where(w["melt_by_degree"], where(w["melting"], dpotential, 0.0), dsnowpack)
    dmeltwater, dsnowpack = dmeltwater + dmelt, dsnowpack - dmelt
    dfactor = d["CFR"] * params["CFMAX"] + params["CFR"] * d["CFMAX"]
    drefreezing = -(dfactor * w["above_tt"] + w["refreeze_factor"] * dabove_tt)
    drefreezing = where(w["refreezing"], drefreezing, 0.0)
    drefreezing = where(w["refreeze_by_degree"], drefreezing, dmeltwater)
    dsnowpack, dmeltwater = dsnowpack + drefreezing, dmeltwater - drefreezing
    dheld = d["CWH"] * w["snowpack"] + params["CWH"] * dsnowpack
    dinfiltration = where(w["infiltrating"], dmeltwater - dheld, 0.0)
    dmeltwater = dmeltwater - dinfiltration

    # Soil routine.
    dratio = (dsoil - w["wet_ratio"] * d["FC"]) / params["FC"]
    dwetness = w["wetness_by_ratio"] * dratio + w["wetness_by_beta"] * d["BETA"]
    dinflow = drainfall + dinfiltration
    drecharge = dinflow * w["wetness"] + w["inflow"] * dwetness
    dsoil = dsoil + dinflow - drecharge
    dexcess = where(w["overflowing"], dsoil - d["FC"], 0.0)
    dsoil = dsoil - dexcess
    dcapacity = d["LP"] * params["FC"] + params["LP"] * d["FC"]
    dratio = (dsoil - w["et_ratio"] * dcapacity) / w["et_capacity"]
    dfactor = w["factor_by_ratio"] * dratio + w["factor_by_betaet"] * d["BETAET"]
    det = where(w["et_by_demand"], dpet * w["factor"] + w["pet"] * dfactor, dsoil)
    ddried = dsoil - det
    dsoil = where(w["above_floor"], ddried, 0.0)

    # Response routine.
    dupper = dupper + drecharge + dexcess
    dpercolation = where(w["percolating_all"], dupper, d["PERC"])
    dupper = dupper - dpercolation
    dabove_uzl = where(w["surface_flowing"], dupper - d["UZL"], 0.0)
    dq0 = d["K0"] * w["above_uzl"] + params["K0"] * dabove_uzl
    dupper = dupper - dq0
    dq1 = d["K1"] * w["upper"] + params["K1"] * dupper
    dupper = dupper - dq1
    dlower = dlower + dpercolation
    dq2 = d["K2"] * w["lower"] + params["K2"] * dlower
    dlower = dlower - dq2

    new_state = {
        "snowpack": dsnowpack,
        "meltwater": dmeltwater,
        "soil_moisture": dsoil,
        "upper_zone": dupper,
        "lower_zone": dlower,
    }
    fluxes = {
        "snowfall": dsnowfall,
        "rainfall": drainfall,
        "melt": dmelt,
        "refreezing": drefreezing,
        "infiltration": dinfiltration,
        "recharge": drecharge,
        "excess": dexcess,
        "evapotranspiration": det,
        "soil_floor": dsoil - ddried,
        "percolation": dpercolation,
        "surface_flow": dq0,
        "subsurface_flow": dq1,
        "groundwater_flow": dq2,
        "q": dq0 + dq1 + dq2,
    }
    return new_state, fluxes


@functools.partial(jax.custom_jvp, nondiff_argnums=(3,))
def step(state, forcing, params, floor):
    """`day` without the weights: (new state, fluxes), differentiated by `_tangent`."""
    return day(state, forcing, params, floor)[0]


@step.defjvp
def _step_jvp(floor, primals, tangents):
    out, weights = day(*primals, floor)
    d_out = _tangent(weights, primals[2], *tangents)
    # A parameter given per basin, not per component, gives narrower tangents: widen them.
    d_out = jax.tree_util.tree_map(
        lambda dv, v: jnp.broadcast_to(dv, v.shape).astype(v.dtype), d_out, out
    )
    return out, d_out
