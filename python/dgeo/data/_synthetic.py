"""Synthetic twin catchments: seeded weather and an EXP-HYDRO truth with a process it lacks.

The embedded dataset of `dgeo demo`: nothing is read from disk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ._attributes import ATTRIBUTE_UNITS
from ._camels import _FLAG_MEANINGS, _FORCING_VARIABLES, FLOW_FLAGS

_QUICK_DAYS = 2.0  # time constant of the quick-flow linear reservoir (days)
_DIMS = ("basin", "time")


def _ar1(rng: np.random.Generator, rho: float, shape: tuple[int, int]) -> np.ndarray:
    """Stationary AR(1) series with unit variance along the last axis (the first value is N(0, 1))."""
    from scipy.signal import lfilter

    e = rng.standard_normal(shape)
    e[:, 1:] *= np.sqrt(1.0 - rho**2)
    return lfilter([1.0], [1.0, -rho], e, axis=1)


def synthetic(
    n_basins: int = 8,
    start: str = "1980-10-01",
    end: str = "2010-09-30",
    seed: int = 0,
    noise: float = 0.1,
    quickflow: float = 0.3,
) -> xr.Dataset:
    """Synthetic twin catchments laid out like `load_camels_us` (dims basin, time), no data needed.

    **Weather** (all from `numpy.random.default_rng(seed)`): basins spread over 35-50 N and
    100-2500 m (stratified, randomly paired). Daily mean temperature is an annual cycle whose
    mean falls with latitude and elevation and whose amplitude grows with latitude, plus AR(1)
    anomalies (lag-1 0.7, sd 3 degC), so high northern basins have snowy winters and low
    southern ones almost none. Wet days come from thresholding a latent AR(1) Gaussian (lag-1
    0.6) at a seasonal wet-day probability, amounts are gamma (shape 0.75). `tmax`/`tmin` add a
    diurnal range (smaller on wet days); `dayl` is astronomical (latitude, day of year); `srad`
    is the daylight-mean top-of-atmosphere radiation times a transmissivity lower on wet days
    (as Daymet reports it); `vp` is the saturation vapour pressure at `tmin` (Tetens).

    **Truth**: EXP-HYDRO (`dgeo.simulate`, float64 when jax x64 is on, else float32) with
    per-basin parameters drawn uniformly from the inner 80% of each physical range, spun up by
    running the record once and starting again from its final state. Added is a process
    EXP-HYDRO lacks: a fraction `quickflow` of the rainfall, H(tmean - Tmin) prcp with the true
    Tmin, bypasses the soil and drains through a linear reservoir (2-day time constant, exact
    daily integral); EXP-HYDRO gets the rest of the precipitation. `qobs` = (EXP-HYDRO q +
    quick flow) x lognormal noise exp(noise z - noise^2 / 2), z ~ N(0, 1) (mean preserving).
    Water is conserved apart from the noise. The weather and parameters depend on `seed` and
    the period only, not on `noise` or `quickflow`.

    **Returns:** `prcp`, `tmax`, `tmin`, `tmean`, `dayl` (s), `srad`, `vp`, `qobs`, `qobs_flag`
    (all 1 = approved) with the units of `load_camels_us`; coordinates `lat`, `lon`,
    `elevation`, `area`; static attributes `p_mean`, `pet_mean` (Hamon), `aridity`, `frac_snow`,
    `q_mean`, `runoff_ratio`, `elev_mean`, `area_gages2`, `gauge_lat`, `gauge_lon`; the truth:
    `true_<parameter>` (basin,) for every EXP-HYDRO parameter (`true_f`, `true_smax`, ...),
    `true_snow_storage` and `true_soil_storage` (basin, time; start of day, mm) and `true_q`
    (noise-free discharge, mm/day). Raises `ValueError` naming a bad argument.
    """
    import jax
    from scipy.signal import lfilter
    from scipy.special import ndtri

    from ..physics import ExpHydro, smooth_step
    from ..solve import simulate

    if isinstance(n_basins, bool) or not isinstance(n_basins, int | np.integer) or n_basins < 1:
        raise ValueError(f"n_basins must be an integer >= 1, got {n_basins!r}")
    bounds = {}
    for name, value in (("start", start), ("end", end)):
        try:
            bounds[name] = pd.Timestamp(value)
        except (ValueError, TypeError):
            bounds[name] = pd.NaT
        if pd.isna(bounds[name]):
            raise ValueError(f"{name} is not a date: {value!r}")
    if not bounds["end"] > bounds["start"]:
        raise ValueError(f"end ({end}) must be after start ({start})")
    if not 0.0 <= quickflow < 1.0:
        raise ValueError(f"quickflow must be in [0, 1), got {quickflow!r}")
    if not (noise >= 0.0 and np.isfinite(noise)):
        raise ValueError(f"noise must be finite and >= 0, got {noise!r}")

    rng = np.random.default_rng(seed)
    first, last = bounds["start"].normalize(), bounds["end"].normalize()
    time = pd.date_range(first, last, freq="D").as_unit("ns")
    n, nt = n_basins, len(time)
    doy = time.day_of_year.to_numpy()[None, :]
    season = np.cos(2.0 * np.pi * (doy - 200) / 365.25)  # +1 in mid-July, -1 in mid-January
    col = lambda x: np.asarray(x)[:, None]

    lat = 35.0 + 15.0 * (rng.permutation(n) + rng.uniform(size=n)) / n
    elevation = 100.0 + 2400.0 * ((rng.permutation(n) + rng.uniform(size=n)) / n) ** 1.5
    lon = rng.uniform(-122.0, -70.0, n)
    area = np.exp(rng.uniform(np.log(30.0), np.log(3000.0), n))

    t_annual = 18.0 - 0.6 * (lat - 35.0) - 5.0 * elevation / 1000.0
    amplitude = 7.0 + 0.55 * (lat - 35.0)
    tmean = col(t_annual) + col(amplitude) * season + 3.0 * _ar1(rng, 0.7, (n, nt))

    wet_phase = rng.uniform(0.0, 2.0 * np.pi, n)
    p_wet = 0.33 + 0.1 * np.cos(2.0 * np.pi * doy / 365.25 - col(wet_phase))
    wet = _ar1(rng, 0.6, (n, nt)) > ndtri(1.0 - p_wet)
    p_target = rng.uniform(1.3, 4.0, n) + 0.6 * elevation / 1000.0  # mm/day
    prcp = np.where(wet, rng.gamma(0.75, col(p_target / 0.33 / 0.75), (n, nt)), 0.0)

    dtr = np.maximum(col(rng.uniform(9.0, 14.0, n)) - 4.0 * wet + rng.normal(0, 1.5, (n, nt)), 1)
    tmax, tmin = tmean + dtr / 2.0, tmean - dtr / 2.0

    decl = np.deg2rad(23.44) * np.sin(2.0 * np.pi * (284 + doy) / 365.0)
    phi = np.deg2rad(col(lat))
    w0 = np.arccos(np.clip(-np.tan(phi) * np.tan(decl), -1.0, 1.0))  # sunset hour angle
    dayl = 86400.0 * w0 / np.pi
    top = (1367.0 / np.pi) * (1.0 + 0.033 * np.cos(2.0 * np.pi * doy / 365.0))
    top = top * (w0 * np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.sin(w0))
    transmissivity = np.where(wet, 0.35, 0.7) + rng.uniform(-0.05, 0.05, (n, nt))
    srad = transmissivity * top * 86400.0 / dayl
    vp = 610.8 * np.exp(17.27 * tmin / (tmin + 237.3))

    model = ExpHydro()
    true = {
        p.name: p.lower + (p.upper - p.lower) * rng.uniform(0.1, 0.9, n) for p in model.parameters
    }
    z = rng.standard_normal((n, nt))

    basins = np.array([f"syn{i:03d}" for i in range(n)])
    ds = xr.Dataset(coords={"basin": basins, "time": time})
    series = dict(prcp=prcp, tmax=tmax, tmin=tmin, tmean=tmean, dayl=dayl, srad=srad, vp=vp)
    long_names = {k: v[1] for k, v in _FORCING_VARIABLES.items()}
    long_names["tmean"] = "daily mean air temperature (tmax + tmin) / 2"
    for name, values in series.items():
        units = _FORCING_VARIABLES.get(name, ("degC",))[0]
        ds[name] = (_DIMS, values, {"units": units, "long_name": long_names[name]})

    rain_fraction = np.asarray(smooth_step(jax.numpy.asarray(tmean - col(true["tmin"]))))
    quick_in = quickflow * rain_fraction * prcp
    forcing = ds[["tmean", "dayl"]].assign(prcp=(_DIMS, prcp - quick_in, {"units": "mm/day"}))
    dtype = np.float64 if jax.config.jax_enable_x64 else np.float32
    spin = simulate(model, forcing, true, dtype=dtype)
    state0 = {s: spin["final_state"].sel(state=s).to_numpy() for s in model.states}
    run = simulate(model, forcing, true, initial_state=state0, dtype=dtype)
    a = np.exp(-1.0 / _QUICK_DAYS)
    stored = lfilter([_QUICK_DAYS * (1.0 - a)], [1.0, -a], quick_in, axis=1)  # end of each day
    qquick = np.concatenate([np.zeros((n, 1)), stored[:, :-1]], axis=1) + quick_in - stored
    q_true = run["q"].to_numpy().astype(np.float64) + qquick
    qobs = q_true * np.exp(noise * z - 0.5 * noise**2)

    ds["qobs"] = (_DIMS, qobs, {"units": "mm/day", "long_name": "observed streamflow (synthetic)"})
    flag_attrs = {"units": "1", "long_name": "QC flag (synthetic: every day approved)"}
    flag_attrs.update(flag_values=np.array([0, *FLOW_FLAGS.values()], dtype=np.int8))
    ds["qobs_flag"] = (_DIMS, np.full((n, nt), FLOW_FLAGS["A"], np.int8), flag_attrs)
    ds["qobs_flag"].attrs["flag_meanings"] = _FLAG_MEANINGS
    ds = ds.assign_coords(
        lat=("basin", lat, {"units": "degrees_north"}),
        elevation=("basin", elevation, {"units": "m"}),
        area=("basin", area, {"units": "km2", "long_name": "basin area"}),
        lon=("basin", lon, {"units": "degrees_east"}),
    )
    p_mean, q_mean = prcp.mean(axis=1), qobs.mean(axis=1)
    pet_mean = run["pet"].to_numpy().astype(np.float64).mean(axis=1)
    static = dict(
        p_mean=p_mean,
        pet_mean=pet_mean,
        aridity=pet_mean / p_mean,
        frac_snow=np.where(tmean < 0.0, prcp, 0.0).sum(axis=1) / prcp.sum(axis=1),
        q_mean=q_mean,
        runoff_ratio=q_mean / p_mean,
        elev_mean=elevation,
        area_gages2=area,
        gauge_lat=lat,
        gauge_lon=lon,
    )
    for name, values in static.items():
        ds[name] = ("basin", values, {"units": ATTRIBUTE_UNITS[name]})
    for p in model.parameters:
        attrs = {"units": p.units, "long_name": f"true EXP-HYDRO parameter: {p.description}"}
        ds[f"true_{p.name}"] = ("basin", true[p.name], attrs)
    for state in model.states:
        attrs = {"units": "mm", "long_name": f"true {state} (start of day)"}
        ds[f"true_{state}"] = (_DIMS, run[state].to_numpy().astype(np.float64), attrs)
    ds["true_q"] = (_DIMS, q_true, {"units": "mm/day", "long_name": "true discharge, no noise"})
    ds.attrs.update(
        title="dgeo synthetic twin catchments",
        source=(
            f"dgeo.data.synthetic(n_basins={n}, start={time[0].date()}, end={time[-1].date()}, "
            f"seed={seed}, noise={noise}, quickflow={quickflow}): seeded weather generator; "
            "truth = EXP-HYDRO with true_* parameters + a quick-flow linear reservoir fed by a "
            f"fraction {quickflow} of rainfall; lognormal observation noise sigma {noise}"
        ),
    )
    return ds
