"""Potential evapotranspiration formulas."""

from __future__ import annotations

import jax.numpy as jnp


def hamon_pet(tmean, day_length):
    """Hamon PET in mm/day, as used by EXP-HYDRO (Patil & Stieglitz 2014; Jiang et al. 2020).

    PET = 29.8 * (24 * L) * 0.611 * exp(17.3 T / (T + 237.3)) / (T + 273.2),
    with T the daily mean air temperature (degC) and L the day length in days.
    """
    saturation = 0.611 * jnp.exp(17.3 * tmean / (tmean + 237.3))
    return 29.8 * (24.0 * day_length) * saturation / (tmean + 273.2)
