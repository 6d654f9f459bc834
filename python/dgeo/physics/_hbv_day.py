"""δHBV's daily update (`Hbv.step`) and its derivative, written out by hand.

The update is one chain of about forty operations. JAX differentiates it correctly, but in
the gradient's reverse loop XLA's CPU backend splits the chain into many fused kernels, and
each kernel recomputes the stretch of the forward chain it needs. The tangent below takes the
weights of the linearisation (masks of the thresholds, slopes of the power laws) from one
forward computation, and the reverse pass is its transpose, which JAX derives. Against JAX's
derivative of the same update that took 9-12 % off δHBV's gradient on a 2-core CPU
(benchmarks/results/hbv_derivative.md). It is a `jax.custom_jvp`, so forward mode works too.

Thresholds: at an exact tie the derivative of `max(x, y)` is y's and that of `min(x, y)` x's.
So on a cold, dry day without snow, melt = min(potential 0, snowpack 0) does not grow with
snowfall (JAX's own rule would take half of each side, as if half of new snow melted at
once). At a parameter's bound the rule can give a zero derivative where JAX's gives half:
with CFR = 0, refreezing = max(CFR CFMAX (TT - T), 0) has none in CFR. Away from ties the two
derivatives agree to rounding (1.7e-14 relative in float64, measured once); tests/test_hbv.py
checks both directions against JAX's derivative of the same update (`autodiff_step`) to
1e-10.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _larger(x, y):
    """max(x, y) (NaN-propagating) and where its derivative is x's: where x > y."""
    return jnp.maximum(x, y), x > y


def _smaller(x, y):
    """min(x, y) (NaN-propagating) and where its derivative is x's: where x <= y."""
    return jnp.minimum(x, y), x <= y


def _capped_power(ratio, exponent):
    """min(ratio ** exponent, 1) for ratio >= 0 (0 ** exponent = 0), and its slopes in ratio
    and in exponent.

    The power is exp(exponent log ratio): its derivatives reuse the log and the exp (value
    exponent / ratio, value log ratio), where those of `jnp.power` compute a second power.
    That took 14 % off δHBV's gradient under JAX's own derivative, before the hand-written
    one (docs/results/lab-notebook.md); the values differ from `jnp.power`'s by rounding.
    """
    positive = ratio > 0
    safe = jnp.where(positive, ratio, 1.0)
    log = jnp.log(safe)
    value = jnp.where(positive, jnp.exp(exponent * log), 0.0)
    capped, below = _smaller(value, 1.0)
    slope = jnp.where(below & positive, value, 0.0)
    return capped, slope * exponent / safe, slope * log


def _outputs(snowpack, meltwater, soil_moisture, upper_zone, lower_zone, *, dried, **fluxes):
    """(new state, fluxes) of the day from its stores and fluxes, adding the two that are
    derived: the water the soil floor adds (soil - dried) and `q` = Q0 + Q1 + Q2, unrouted
    here (`finish` routes it). Both are linear, so this serves values and tangents alike."""
    state = {
        "snowpack": snowpack,
        "meltwater": meltwater,
        "soil_moisture": soil_moisture,
        "upper_zone": upper_zone,
        "lower_zone": lower_zone,
    }
    q = fluxes["surface_flow"] + fluxes["subsurface_flow"] + fluxes["groundwater_flow"]
    return state, {**fluxes, "soil_floor": soil_moisture - dried, "q": q}


def day(state, forcing, params, floor):
    """One day of HBV: ((new state, fluxes), weights), the weights being what `_tangent` needs.

    `state`: the five stores; `forcing`: prcp, tmean, pet over basins (broadcast over the
    components); `params`: HBV's parameters (others are ignored); `floor`: the least soil
    moisture (mm).
    """
    p, t, pet = (forcing[k][..., None] for k in ("prcp", "tmean", "pet"))
    tt, cfmax, fc = params["TT"], params["CFMAX"], params["FC"]
    snowpack, meltwater = state["snowpack"], state["meltwater"]
    soil, upper, lower = state["soil_moisture"], state["upper_zone"], state["lower_zone"]
    w = {"pet": pet}

    # Snow routine.
    w["warm"] = t >= tt
    rainfall = jnp.where(w["warm"], p, 0.0)
    snowfall = jnp.where(t < tt, p, 0.0)  # both 0 where T is NaN
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
    soil = soil + w["inflow"] - recharge  # MHPI adds rain and infiltration one by one: rounding
    excess, w["overflowing"] = _larger(soil - fc, 0.0)
    soil = soil - excess
    w["et_capacity"] = params["LP"] * fc
    w["et_ratio"] = soil / w["et_capacity"]
    w["et_factor"], w["et_factor_by_ratio"], w["et_factor_by_betaet"] = _capped_power(
        w["et_ratio"], params["BETAET"]
    )
    et, w["et_by_demand"] = _smaller(pet * w["et_factor"], soil)
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

    outputs = _outputs(
        snowpack,
        meltwater,
        soil,
        upper,
        lower,
        dried=dried,
        snowfall=snowfall,
        rainfall=rainfall,
        melt=melt,
        refreezing=refreezing,
        infiltration=infiltration,
        recharge=recharge,
        excess=excess,
        evapotranspiration=et,
        percolation=percolation,
        surface_flow=q0,
        subsurface_flow=q1,
        groundwater_flow=q2,
    )
    return outputs, w


def _tangent(w, params, d_state, d_forcing, d_params):
    """The day's derivative: tangents of state, forcing and parameters -> tangents of the new
    state and fluxes; linear in them, `day`'s operations in the same order (d_x is the
    tangent of x)."""
    where = jnp.where
    d_prcp, d_tmean, d_pet = (d_forcing[k][..., None] for k in ("prcp", "tmean", "pet"))
    d = d_params
    d_snowpack, d_meltwater = d_state["snowpack"], d_state["meltwater"]
    d_soil, d_upper, d_lower = (
        d_state["soil_moisture"],
        d_state["upper_zone"],
        d_state["lower_zone"],
    )

    # Snow routine (the rain/snow split and its threshold TT have no derivative).
    d_rainfall = where(w["warm"], d_prcp, 0.0)
    d_snowfall = d_prcp - d_rainfall
    d_snowpack = d_snowpack + d_snowfall
    d_above_tt = d_tmean - d["TT"]
    d_potential = d["CFMAX"] * w["above_tt"] + params["CFMAX"] * d_above_tt
    d_melt = where(w["melt_by_degree"], where(w["melting"], d_potential, 0.0), d_snowpack)
    d_meltwater, d_snowpack = d_meltwater + d_melt, d_snowpack - d_melt
    d_refreeze_factor = d["CFR"] * params["CFMAX"] + params["CFR"] * d["CFMAX"]
    d_refreezing = -(d_refreeze_factor * w["above_tt"] + w["refreeze_factor"] * d_above_tt)
    d_refreezing = where(w["refreezing"], d_refreezing, 0.0)
    d_refreezing = where(w["refreeze_by_degree"], d_refreezing, d_meltwater)
    d_snowpack, d_meltwater = d_snowpack + d_refreezing, d_meltwater - d_refreezing
    d_held = d["CWH"] * w["snowpack"] + params["CWH"] * d_snowpack
    d_infiltration = where(w["infiltrating"], d_meltwater - d_held, 0.0)
    d_meltwater = d_meltwater - d_infiltration

    # Soil routine.
    d_wet_ratio = (d_soil - w["wet_ratio"] * d["FC"]) / params["FC"]
    d_wetness = w["wetness_by_ratio"] * d_wet_ratio + w["wetness_by_beta"] * d["BETA"]
    d_inflow = d_rainfall + d_infiltration
    d_recharge = d_inflow * w["wetness"] + w["inflow"] * d_wetness
    d_soil = d_soil + d_inflow - d_recharge
    d_excess = where(w["overflowing"], d_soil - d["FC"], 0.0)
    d_soil = d_soil - d_excess
    d_et_capacity = d["LP"] * params["FC"] + params["LP"] * d["FC"]
    d_et_ratio = (d_soil - w["et_ratio"] * d_et_capacity) / w["et_capacity"]
    d_et_factor = w["et_factor_by_ratio"] * d_et_ratio + w["et_factor_by_betaet"] * d["BETAET"]
    d_demand = d_pet * w["et_factor"] + w["pet"] * d_et_factor
    d_et = where(w["et_by_demand"], d_demand, d_soil)
    d_dried = d_soil - d_et
    d_soil = where(w["above_floor"], d_dried, 0.0)

    # Response routine.
    d_upper = d_upper + d_recharge + d_excess
    d_percolation = where(w["percolating_all"], d_upper, d["PERC"])
    d_upper = d_upper - d_percolation
    d_above_uzl = where(w["surface_flowing"], d_upper - d["UZL"], 0.0)
    d_q0 = d["K0"] * w["above_uzl"] + params["K0"] * d_above_uzl
    d_upper = d_upper - d_q0
    d_q1 = d["K1"] * w["upper"] + params["K1"] * d_upper
    d_upper = d_upper - d_q1
    d_lower = d_lower + d_percolation
    d_q2 = d["K2"] * w["lower"] + params["K2"] * d_lower
    d_lower = d_lower - d_q2

    return _outputs(
        d_snowpack,
        d_meltwater,
        d_soil,
        d_upper,
        d_lower,
        dried=d_dried,
        snowfall=d_snowfall,
        rainfall=d_rainfall,
        melt=d_melt,
        refreezing=d_refreezing,
        infiltration=d_infiltration,
        recharge=d_recharge,
        excess=d_excess,
        evapotranspiration=d_et,
        percolation=d_percolation,
        surface_flow=d_q0,
        subsurface_flow=d_q1,
        groundwater_flow=d_q2,
    )


def autodiff_step(state, forcing, params, floor):
    """`day` without the weights, differentiated by JAX itself (what tests and
    benchmarks/hbv_derivative.py compare the hand-written derivative with)."""
    return day(state, forcing, params, floor)[0]


#: `autodiff_step`, differentiated by `_tangent`: `Hbv.step`.
step = jax.custom_jvp(autodiff_step, nondiff_argnums=(3,))


@step.defjvp
def _step_jvp(floor, primals, tangents):
    out, weights = day(*primals, floor)
    # An integer input (no derivative) has float0 tangents: zeros of its shape instead.
    tangents = jax.tree_util.tree_map(
        lambda t, x: (
            jnp.zeros(jnp.shape(x), jnp.result_type(x, float))
            if t.dtype == jax.dtypes.float0
            else t
        ),
        tangents,
        primals,
    )
    return out, _tangent(weights, primals[2], *tangents)
