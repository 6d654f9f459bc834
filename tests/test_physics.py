"""EXP-HYDRO and `simulate`: a plain NumPy reference, water balance, vmap, bad input."""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import optimistix as optx
import pytest
import xarray as xr

import dgeo
from conftest import PARAMS
from dgeo.data import DataError, load_camels_us

MODEL = dgeo.ExpHydro()


def numpy_exphydro(prcp, tmean, dayl_s, f, smax, qmax, df, tmax, tmin):
    """The equations of Jiang et al. (2020) written out day by day for one basin."""

    def H(x):
        return (np.tanh(5.0 * x) + 1.0) / 2.0

    s0 = s1 = 0.0
    out = {
        k: [] for k in ("q", "snow_storage", "soil_storage", "evapotranspiration", "melt", "pet")
    }
    for p, t, d in zip(prcp, tmean, dayl_s, strict=True):
        pet = 29.8 * (24.0 * d / 86400.0) * 0.611 * np.exp(17.3 * t / (t + 237.3)) / (t + 273.2)
        psnow, prain = H(tmin - t) * p, H(t - tmin) * p
        melt = H(t - tmax) * H(s0) * min(s0, df * (t - tmax))
        et = H(s1) * H(s1 - smax) * pet + H(s1) * H(smax - s1) * pet * s1 / smax
        qsub = H(s1) * H(s1 - smax) * qmax + H(s1) * H(smax - s1) * qmax * np.exp(-f * (smax - s1))
        qsurf = H(s1) * H(s1 - smax) * (s1 - smax)
        for k, v in (("q", qsub + qsurf), ("snow_storage", s0), ("soil_storage", s1),
                     ("evapotranspiration", et), ("melt", melt), ("pet", pet)):  # fmt: skip
            out[k].append(v)
        s0, s1 = s0 + psnow - melt, s1 + prain + melt - et - qsub - qsurf
    return {k: np.array(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def three_years(camels_root):
    ds = load_camels_us(camels_root, basins=["01022500", "01142500", "04296000"], attributes=False)
    return ds.sel(time=slice("1980-10-01", "1983-09-30"))


def test_discrete_matches_numpy_reference(three_years):
    params = {"f": [0.02, 0.05, 0.01], "smax": [800, 300, 1200], "qmax": [20, 35, 12],
              "df": [2.0, 4.0, 0.5], "tmax": [1.0, 0.0, 2.5], "tmin": [-1.0, -2.5, 0.0]}  # fmt: skip
    result = dgeo.simulate(MODEL, three_years, params, dtype=np.float64)
    for b, basin in enumerate(three_years.basin.values):
        f = three_years.sel(basin=basin)
        ref = numpy_exphydro(f.prcp.values, f.tmean.values, f.dayl.values,
                             *(float(np.asarray(params[k])[b]) for k in MODEL.parameter_names))  # fmt: skip
        for name, values in ref.items():
            np.testing.assert_allclose(result[name].sel(basin=basin), values, rtol=1e-5, atol=1e-5)
    assert result.q.dims == ("basin", "time") and result.q.attrs["units"] == "mm/day"
    assert float(result.snow_storage.max()) > 50  # snow accumulates in these winters


def test_float32_production_close_to_float64(three_years):
    q32 = dgeo.simulate(MODEL, three_years, PARAMS).q
    q64 = dgeo.simulate(MODEL, three_years, PARAMS, dtype=np.float64).q
    assert q32.dtype == np.float32
    np.testing.assert_allclose(q32, q64, rtol=1e-3, atol=1e-3)


@pytest.mark.slow
def test_continuous_float32_with_x64_on(three_years):
    # With x64 on (as here), float64 solver times once promoted float32 states: a crash.
    # (The implicit solver's float32 run is in the next test.)
    continuous = dgeo.Continuous(diffrax.Tsit5())
    q32 = dgeo.simulate(MODEL, three_years, PARAMS, solver=continuous).q
    q64 = dgeo.simulate(MODEL, three_years, PARAMS, solver=continuous, dtype=np.float64).q
    assert q32.dtype == np.float32
    np.testing.assert_allclose(q32, q64, rtol=1e-2, atol=1e-2)  # within the solver tolerance


@pytest.mark.slow
def test_implicit_solver_float32_does_not_stall(camels_root):
    # The example in docs/guide/solvers.md: with Newton held to the controller's rtol = 1e-5, float32
    # rounding stalled the iteration on 1980-02-20 and every step of that day was rejected.
    ds = load_camels_us(camels_root, basins=["01022500", "04296000"], attributes=False)
    params = {"f": 0.02, "smax": 800.0, "qmax": 20.0, "df": 2.0, "tmax": 1.0, "tmin": -1.0}
    spring = ds.sel(time=slice("1980-01-01", "1980-03-31"))
    result = dgeo.simulate(MODEL, spring, params, solver=dgeo.Continuous(diffrax.Kvaerno5()))
    assert result.attrs["failed_days"] == 0
    # Fixed steps with an implicit solver took diffrax's error about tolerances; now they run.
    fixed = dgeo.Continuous(diffrax.Kvaerno5(), substeps=8)
    q = dgeo.simulate(MODEL, spring, params, solver=fixed, dtype=np.float64).q
    np.testing.assert_allclose(q, result.q, rtol=1e-2, atol=1e-2)


def test_newton_settings_given_by_the_user_are_kept():
    lu = lx.LU()
    user = diffrax.with_stepsize_controller_tols(diffrax.VeryChord)(kappa=0.5, linear_solver=lu)
    solver, *_ = dgeo.Continuous(diffrax.Kvaerno5(root_finder=user)).configure(np.float32)
    finder = solver.root_finder
    assert (finder.kappa, finder.linear_solver, finder.atol) == (0.5, lu, 1e-5)
    assert finder.rtol == pytest.approx(1e4 * np.finfo(np.float32).eps)  # floored in float32
    own = diffrax.VeryChord(rtol=np.float32(1e-6), atol=1e-6, norm=optx.max_norm)
    solver, *_ = dgeo.Continuous(diffrax.Kvaerno5(root_finder=own)).configure(np.float32)
    assert solver.root_finder is own
    # Implicit Euler's root finder is a Chord, not a VeryChord: it gets the tolerances too.
    solver, *_ = dgeo.Continuous(diffrax.ImplicitEuler(), substeps=4).configure(np.float64)
    assert (solver.root_finder.rtol, solver.root_finder.atol) == (1e-5, 1e-5)


def _in_batch_and_alone(three_years, solver):
    """The second of three basins' discharge over a year (float64): in the batch, and alone."""
    params = {"f": [0.02, 0.05, 0.01], "smax": [800, 300, 1200], "qmax": [20, 35, 12],
              "df": [2.0, 4.0, 0.5], "tmax": [1.0, 0.0, 2.5], "tmin": [-1.0, -2.5, 0.0]}  # fmt: skip
    year = three_years.sel(time=slice("1980-10-01", "1981-09-30"))
    together = dgeo.simulate(MODEL, year, params, solver=solver, dtype=np.float64).q
    one = {k: v[1:2] for k, v in params.items()}
    alone = dgeo.simulate(MODEL, year.isel(basin=[1]), one, solver=solver, dtype=np.float64).q
    return together.isel(basin=[1]), alone


@pytest.mark.parametrize(
    "solver, atol",
    [
        pytest.param(dgeo.Continuous(diffrax.Kvaerno5()), 1e-7, marks=pytest.mark.slow),
        (dgeo.Continuous(per_basin=True), 1e-9),
    ],
    ids=["implicit", "explicit-per-basin"],
)
def test_per_basin_solve_equals_the_basin_alone(three_years, solver, atol):
    # Implicit solvers are solved per basin by default: jointly, shared step sizes (and a
    # dense Newton Jacobian) moved a basin's result by ~7e-4 mm/day here.
    together, alone = _in_batch_and_alone(three_years, solver)
    np.testing.assert_allclose(together, alone, rtol=0, atol=atol)


@pytest.mark.slow
def test_explicit_joint_solve_depends_on_the_batch(three_years):
    together, alone = _in_batch_and_alone(three_years, dgeo.Continuous())
    assert float(abs(together - alone).max()) > 1e-6


def test_mass_balance_closes(three_years):
    discrete = dgeo.simulate(MODEL, three_years, PARAMS, dtype=np.float64)
    residual = dgeo.mass_balance(MODEL, discrete)
    precipitation = float(three_years.prcp.sum("time").max())
    assert float(abs(residual).max()) < 1e-9 * precipitation
    continuous = dgeo.simulate(
        MODEL, three_years, PARAMS, solver=dgeo.Continuous(rtol=1e-8, atol=1e-8), dtype=np.float64
    )
    assert float(abs(dgeo.mass_balance(MODEL, continuous)).max()) < 1e-6 * precipitation
    # The continuous solution integrates the same physics: seasonal flow volumes agree.
    np.testing.assert_allclose(continuous.q.sum("time"), discrete.q.sum("time"), rtol=0.05)


def test_vmap_over_basins_equals_loop(three_years):
    arrays = {
        k: jnp.asarray(three_years[k].transpose("time", "basin").values) for k in ("prcp", "tmean")
    }
    arrays["dayl"] = jnp.asarray(three_years.dayl.transpose("time", "basin").values / 86400.0)
    params = {
        k: jnp.asarray([v, v * 0.9 if v else -0.5, v * 1.1 if v else 0.3])
        for k, v in PARAMS.items()
    }

    def one(forcing, p):
        return dgeo.integrate(MODEL, forcing, p).series["q"]

    vmapped = jax.vmap(one, in_axes=(1, 0), out_axes=1)(arrays, params)
    batched = one(arrays, params)
    loop = jnp.stack([one({k: v[:, b] for k, v in arrays.items()}, {k: v[b] for k, v in params.items()})
                      for b in range(3)], axis=1)  # fmt: skip
    np.testing.assert_allclose(vmapped, loop, rtol=1e-12)
    np.testing.assert_allclose(batched, loop, rtol=1e-12)


def test_results_carry_parameters_and_states(three_years):
    result = dgeo.simulate(MODEL, three_years, {**PARAMS, "smax": xr.DataArray(
        [500.0, 600.0, 700.0], dims="basin", coords={"basin": three_years.basin.values[::-1]})})  # fmt: skip
    assert result.parameters.sel(parameter="smax").values.tolist() == [700.0, 600.0, 500.0]
    assert result.parameter_units.sel(parameter="smax").item() == "mm"
    assert result.final_state.dims == ("basin", "state")
    assert set(MODEL.fluxes) | set(MODEL.states) <= set(result.data_vars)


def test_hamon_pet_value():
    # T = 20 degC, 12 h day: 29.8 * 12 * 0.611 * exp(17.3*20/257.3) / 293.2
    expected = 29.8 * 12 * 0.611 * np.exp(17.3 * 20 / 257.3) / 293.2
    assert float(dgeo.physics.hamon_pet(20.0, 0.5)) == pytest.approx(expected)


# --- bad input ---------------------------------------------------------------------------


def test_nan_forcing_names_basin_and_date(three_years):
    bad = three_years.copy(deep=True)
    bad["prcp"].loc[{"basin": "01142500", "time": "1981-02-03"}] = np.nan
    with pytest.raises(DataError, match=r"'prcp'.*basin 01142500 on 1981-02-03"):
        dgeo.simulate(MODEL, bad, PARAMS)


def test_impossible_forcing_names_basin_and_date(three_years):
    bad = three_years.copy(deep=True)
    bad["prcp"].loc[{"basin": "04296000", "time": "1982-07-01"}] = -999.0
    with pytest.raises(DataError, match=r"'prcp' has 1 value.*-999 mm/day.*04296000 on 1982-07-01"):
        dgeo.simulate(MODEL, bad, PARAMS)
    celsius_as_kelvin = three_years.copy()
    celsius_as_kelvin["tmean"] = three_years.tmean.assign_attrs(units="K")
    with pytest.raises(DataError, match=r"'tmean' .* outside .* -90 .. 60 degC"):
        dgeo.simulate(MODEL, celsius_as_kelvin, PARAMS)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda ds: ds.isel(time=slice(None, None, -1)), "non-monotonic date"),
        (lambda ds: xr.concat([ds, ds.isel(time=slice(0, 3))], "time"), "non-monotonic date"),
        (lambda ds: ds.isel(time=[0, 1, 1, 2]), "duplicate date 1980-10-02"),
        (lambda ds: ds.isel(time=slice(0, None, 7)), "not daily"),
        (lambda ds: ds.drop_isel(time=range(100, 130)), "not daily"),
        (lambda ds: ds.assign_coords(time=np.arange(ds.sizes["time"])), "not datetime"),
        (lambda ds: ds.isel(time=slice(0, 0)), "empty time axis"),
        (lambda ds: ds.isel(basin=slice(0, 0)), "no basins"),
    ],
)
def test_bad_time_or_basin_axis_is_an_error(three_years, edit, problem):
    with pytest.raises(DataError, match=f"forcing: .*{problem}"):
        dgeo.simulate(MODEL, edit(three_years), PARAMS)


def test_initial_state_and_dtype_checked(three_years):
    with pytest.raises(DataError, match=r"initial state 'snow_storage' must be finite"):
        dgeo.simulate(MODEL, three_years, PARAMS, initial_state={"snow_storage": np.nan})
    with pytest.raises(ValueError, match="dtype must be float32 or float64, got int32"):
        dgeo.simulate(MODEL, three_years, PARAMS, dtype=np.int32)
    if not jax.config.jax_enable_x64:
        with pytest.raises(ValueError, match="float64 needs .*jax_enable_x64"):
            dgeo.simulate(MODEL, three_years, PARAMS, dtype=np.float64)


@pytest.mark.usefixtures("unchecked")  # mismatched shapes on purpose: dgeo's message
def test_integrate_names_mismatched_shapes():
    days = jnp.ones((10, 2))
    forcing = {"prcp": days, "tmean": days, "dayl": 0.5 * days}
    params = {k: jnp.full(2, v) for k, v in PARAMS.items()}
    with pytest.raises(
        ValueError, match=r"params must have the forcing's basin shape \(2,\), got \{'f': \(3,\)\}"
    ):
        dgeo.integrate(MODEL, forcing, {**params, "f": jnp.full(3, 0.02)})
    with pytest.raises(ValueError, match="forcing arrays must share one .* 'dayl': \\(9, 2\\)"):
        dgeo.integrate(MODEL, {**forcing, "dayl": days[1:]}, params)
    with pytest.raises(ValueError, match="forcing has no days"):
        dgeo.integrate(MODEL, {k: v[:0] for k, v in forcing.items()}, params)
    with pytest.raises(ValueError, match=r"step is a fraction .* got 0"):
        dgeo.check_gradients(MODEL, None, PARAMS, step=0)


def test_mass_balance_does_not_hide_nan(three_years):
    result = dgeo.simulate(MODEL, three_years, PARAMS)
    assert np.isfinite(dgeo.mass_balance(MODEL, result)).all()
    result = result.copy(deep=True)
    result["subsurface_flow"][0, 5] = np.nan
    result["evapotranspiration"][1, 5] = np.nan
    balance = dgeo.mass_balance(MODEL, result)
    assert np.isnan(balance[:2]).all() and np.isfinite(balance[2])
    with pytest.raises(DataError, match="mass_balance needs a result of dgeo.simulate"):
        dgeo.mass_balance(MODEL, three_years)


def test_parameters_out_of_bounds_named(three_years):
    with pytest.raises(DataError, match=r"smax outside \[100.0, 1500.0\] mm \(01022500: 2000\)"):
        dgeo.simulate(MODEL, three_years, {**PARAMS, "smax": [2000, 800, 800]})
    with pytest.raises(DataError, match=r"missing \['tmin'\], unknown \['tmn'\]"):
        dgeo.simulate(
            MODEL, three_years, {**{k: v for k, v in PARAMS.items() if k != "tmin"}, "tmn": 0}
        )


def test_shape_and_unit_mismatch_named(three_years):
    with pytest.raises(DataError, match=r"parameter 'f' has shape \(2,\), expected \(3,\)"):
        dgeo.simulate(MODEL, three_years, {**PARAMS, "f": [0.1, 0.1]})
    with pytest.raises(DataError, match=r"parameter 'f' is not numeric: 'abc'"):
        dgeo.simulate(MODEL, three_years, {**PARAMS, "f": "abc"})
    by_member = xr.DataArray([0.01, 0.02, 0.03], dims="member")
    with pytest.raises(DataError, match=r"parameter 'f' has dims \('member',\), expected"):
        dgeo.simulate(MODEL, three_years, {**PARAMS, "f": by_member})
    bad = three_years.copy()
    bad["tmean"] = bad.tmean.assign_attrs(units="m/s")
    with pytest.raises(DataError, match=r"'tmean' has units 'm/s', expected 'degC'"):
        dgeo.simulate(MODEL, bad, PARAMS)
    with pytest.raises(DataError, match=r"'dayl' is missing"):
        dgeo.simulate(MODEL, three_years.drop_vars("dayl"), PARAMS)


def test_kelvin_converted_at_boundary(three_years):
    kelvin = three_years.copy()
    kelvin["tmean"] = (three_years.tmean + 273.15).assign_attrs(units="K")
    np.testing.assert_allclose(
        dgeo.simulate(MODEL, kelvin, PARAMS, dtype=np.float64).q,
        dgeo.simulate(MODEL, three_years, PARAMS, dtype=np.float64).q,
        rtol=1e-9,
    )


@pytest.mark.slow
def test_failed_adaptive_days_are_reported(three_years):
    solver = dgeo.Continuous(rtol=1e-12, atol=1e-12, max_steps_per_day=2)
    with pytest.warns(UserWarning, match=r"solver failed on \d+ day\(s\) \(\d{4}-\d\d-\d\d"):
        result = dgeo.simulate(MODEL, three_years, PARAMS, solver=solver, dtype=np.float64)
    dates = result.attrs["failed_dates"].split()
    assert result.attrs["failed_days"] == len(dates) > 0
    assert set(dates) <= {str(t)[:10] for t in three_years.time.values}
    # Under an outer vmap over basins, each gets its own count.
    arrays = {
        k: jnp.asarray(three_years[k].transpose("time", "basin").values) for k in ("prcp", "tmean")
    }
    arrays["dayl"] = jnp.asarray(three_years.dayl.transpose("time", "basin").values / 86400.0)
    params = {k: jnp.full(3, v) for k, v in PARAMS.items()}
    one = lambda f, p: dgeo.integrate(MODEL, f, p, solver=solver, save=())
    counts = jax.vmap(one, in_axes=(1, 0))(arrays, params).failed_days
    assert counts.shape == (3,) and int(counts.max()) > 0


def test_override_of_unknown_flux_rejected():
    with pytest.raises(ValueError, match="no flux runoff to override"):
        dgeo.ExpHydro(overrides={"runoff": dgeo.physics.Replace(eqx.nn.Lambda(lambda q: q))})


# --- stability of the explicit daily step --------------------------------------------------

# A soil store drained to ~0 mm by a large Qmax that hardly declines with storage (tiny f):
# the outflow's gate H(S1) has slope 2.5 / mm, so the daily step overshoots there.
DRAINED = {"f": 0.001, "smax": 200.0, "qmax": 47.0, "df": 2.0, "tmax": 1.0, "tmin": -1.0}


def test_step_stability_flags_a_drained_bucket_only(three_years):
    params = {k: [PARAMS[k], DRAINED[k], PARAMS[k]] for k in PARAMS}
    st = dgeo.step_stability(MODEL, three_years, params, dtype=np.float64)
    days = st["overshoot_days"].to_series()
    assert days["01142500"] > 10 and days["01022500"] == 0 and days["04296000"] == 0, days
    # It overshoots where the soil store is (nearly) empty, on the steep part of H(S1).
    s1 = dgeo.simulate(MODEL, three_years, params, dtype=np.float64)["soil_storage"]
    flagged = st["overshoot"].sel(basin="01142500").values
    assert np.abs(s1.sel(basin="01142500").values[flagged]).max() < 1.0


def test_step_stability_matches_finite_differences(three_years):
    """The spectral radius on a few days equals the one-day response of `simulate` to a
    perturbed start state (EXP-HYDRO's step Jacobian is triangular: its diagonal)."""
    params = {k: [PARAMS[k], DRAINED[k], PARAMS[k]] for k in PARAMS}
    full = dgeo.simulate(MODEL, three_years, params, dtype=np.float64)
    st = dgeo.step_stability(MODEL, three_years, params, dtype=np.float64)
    flagged = np.flatnonzero(st["overshoot"].sel(basin="01142500").values)
    for t in [0, 200, 500, *flagged[:3]]:
        day = three_years.isel(time=[t])
        start = {s: full[s].isel(time=t) for s in MODEL.states}
        diagonal = []
        for i, s in enumerate(MODEL.states):
            h = 1e-6 * max(1.0, float(np.abs(start[s]).max()))
            ends = [
                dgeo.simulate(MODEL, day, params, dtype=np.float64,
                              initial_state={**start, s: start[s] + sign * h})["final_state"]
                for sign in (1, -1)
            ]  # fmt: skip
            diagonal.append(((ends[0] - ends[1]) / (2 * h)).isel(state=i).values)
        fd = np.max(np.abs(np.stack(diagonal)), axis=0)
        np.testing.assert_allclose(st["spectral_radius"].isel(time=t).values, fd, rtol=1e-5)
