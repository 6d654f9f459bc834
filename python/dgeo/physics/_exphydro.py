"""EXP-HYDRO (Patil & Stieglitz 2014), exactly as wrapped in the P-RNN of Jiang et al. (2020)."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp

from ._base import Parameter, PhysicalModel
from ._base import smooth_step as H
from ._pet import hamon_pet


class ExpHydro(PhysicalModel):
    """Two buckets: snow storage S0 and soil storage S1 (mm).

    With T the daily mean temperature, P precipitation and H the smooth step:

    - snowfall psnow = H(Tmin - T) P, rainfall prain = H(T - Tmin) P
    - melt = H(T - Tmax) H(S0) min(S0, Df (T - Tmax))
    - evapotranspiration et = H(S1) H(S1 - Smax) PET + H(S1) H(Smax - S1) PET S1 / Smax
    - subsurface flow qsub = H(S1) H(S1 - Smax) Qmax + H(S1) H(Smax - S1) Qmax exp(-f (Smax - S1))
    - surface flow qsurf = H(S1) H(S1 - Smax) (S1 - Smax)
    - dS0/dt = psnow - melt, dS1/dt = prain + melt - et - qsub - qsurf, q = qsub + qsurf

    PET is Hamon's (`hamon_pet`). Every flux may be overridden (see `PhysicalModel`); the
    quantities an override sees are the states, forcings, parameters and the fluxes computed
    before it, by name.
    """

    parameters: ClassVar = (
        Parameter("f", 0.0, 0.1, "1/mm", "decline of subsurface flow with storage deficit"),
        Parameter("smax", 100.0, 1500.0, "mm", "soil storage capacity Smax"),
        Parameter("qmax", 10.0, 50.0, "mm/day", "maximum subsurface flow at capacity Qmax"),
        Parameter("df", 0.0, 5.0, "mm/degC/day", "degree-day snowmelt factor Df"),
        Parameter("tmax", 0.0, 3.0, "degC", "temperature above which snow melts Tmax"),
        Parameter("tmin", -3.0, 0.0, "degC", "temperature below which precipitation is snow Tmin"),
    )
    states: ClassVar = ("snow_storage", "soil_storage")
    fluxes: ClassVar = (
        "pet",
        "snowfall",
        "rainfall",
        "melt",
        "evapotranspiration",
        "subsurface_flow",
        "surface_flow",
        "q",
    )
    forcings: ClassVar = {"prcp": "mm/day", "tmean": "degC", "dayl": "day"}
    inflows: ClassVar = ("snowfall", "rainfall")
    outflows: ClassVar = ("evapotranspiration", "subsurface_flow", "surface_flow")

    def rates(self, state, forcing, params):
        s0, s1 = state["snow_storage"], state["soil_storage"]
        p, t = forcing["prcp"], forcing["tmean"]
        f, smax, qmax = params["f"], params["smax"], params["qmax"]
        df, tmax, tmin = params["df"], params["tmax"], params["tmin"]
        known = {**state, **forcing, **params}

        def flux(name, value):
            known[name] = self.process(name, value, known)
            return known[name]

        pet = flux("pet", hamon_pet(t, forcing["dayl"]))
        snowfall = flux("snowfall", H(tmin - t) * p)
        rainfall = flux("rainfall", H(t - tmin) * p)
        melt = flux("melt", H(t - tmax) * H(s0) * jnp.minimum(s0, df * (t - tmax)))
        wet, full, below = H(s1), H(s1 - smax), H(smax - s1)
        et = flux("evapotranspiration", wet * full * pet + wet * below * pet * s1 / smax)
        # The exponent is capped: far above Smax `below` is exactly 0, and exp must not
        # overflow to inf there (inf * 0 = NaN); below exp(30) the equation is unchanged.
        recession = jnp.exp(jnp.minimum(-f * (smax - s1), 30.0))
        qsub = flux("subsurface_flow", wet * full * qmax + wet * below * qmax * recession)
        qsurf = flux("surface_flow", wet * full * (s1 - smax))
        flux("q", qsub + qsurf)
        tendency = {
            "snow_storage": snowfall - melt,
            "soil_storage": rainfall + melt - et - qsub - qsurf,
        }
        return tendency, {name: known[name] for name in self.fluxes}
