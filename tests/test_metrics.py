"""Hydrological skill metrics: hand-computed values, identities, NaN masking, tables."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dgeo.evaluate import FLV_FLOOR, METRIC_INFO
from dgeo.evaluate._metrics import (
    METRICS,
    bias,
    fhv,
    flv,
    kge,
    metrics_table,
    mnse,
    nse,
    nse_decomposition,
    pfab,
    rmse,
    summarise,
)

# A tiny pair used for the hand computations below.
OBS = np.array([1.0, 2.0, 3.0, 4.0])
SIM = np.array([1.0, 3.0, 2.0, 5.0])


def _flows(n=200, seed=0):
    """A positive, streamflow-like pair of series with a few peaks."""
    rng = np.random.default_rng(seed)
    obs = rng.gamma(0.8, 2.0, n) + 0.05
    sim = obs * rng.lognormal(0.0, 0.3, n) + 0.1
    return obs, sim


# ----------------------------------------------------------------------------- hand values


def test_nse_hand_value():
    # mean(o) = 2.5; sum (s-o)^2 = 0 + 1 + 1 + 1 = 3
    # sum (o-mean)^2 = 2.25 + 0.25 + 0.25 + 2.25 = 5  ->  NSE = 1 - 3/5 = 0.4
    assert nse(OBS, SIM) == pytest.approx(0.4)


def test_kge_hand_values():
    # sim = obs + 0.5: r = 1, alpha = 1, beta = 3.0 / 2.5 = 1.2  ->  KGE = 1 - 0.2 = 0.8
    assert kge(OBS, OBS + 0.5) == pytest.approx(0.8)
    # sim = 2 obs: r = 1, alpha = 2, beta = 2  ->  KGE = 1 - sqrt(0 + 1 + 1) = 1 - sqrt(2)
    assert kge(OBS, 2 * OBS) == pytest.approx(1 - math.sqrt(2))
    # sim = reversed obs: r = -1, alpha = 1, beta = 1  ->  KGE = 1 - sqrt(4) = -1
    assert kge(OBS, OBS[::-1]) == pytest.approx(-1.0)
    # OBS vs SIM: o - 2.5 = (-1.5, -0.5, 0.5, 1.5); s - 2.75 = (-1.75, 0.25, -0.75, 2.25)
    # sum do*ds = 2.625 - 0.125 - 0.375 + 3.375 = 5.5; sum do^2 = 5; sum ds^2 = 8.75
    # r = 5.5 / sqrt(5 * 8.75); alpha = sqrt(8.75 / 5); beta = 2.75 / 2.5 = 1.1
    r, alpha, beta = 5.5 / math.sqrt(5 * 8.75), math.sqrt(8.75 / 5), 1.1
    expected = 1 - math.sqrt((r - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2)
    assert kge(OBS, SIM) == pytest.approx(expected)
    # r = 0.83152, alpha = 1.32288: 0.02839 + 0.10426 + 0.01 = 0.14265 -> 1 - 0.37769
    assert expected == pytest.approx(0.6223, abs=1e-4)


def test_nse_decomposition_hand_values():
    # OBS vs SIM (see above): r = 5.5 / sqrt(43.75), alpha = sqrt(1.75), std(o) = sqrt(1.25),
    # beta_n = (2.75 - 2.5) / sqrt(1.25)
    d = nse_decomposition(OBS, SIM)
    r, alpha, beta_n = 5.5 / math.sqrt(43.75), math.sqrt(1.75), 0.25 / math.sqrt(1.25)
    assert d["r"] == pytest.approx(r)
    assert d["alpha"] == pytest.approx(alpha)
    assert d["beta_n"] == pytest.approx(beta_n)
    assert d["amplitude"] == pytest.approx((alpha - r) ** 2)
    # the three terms add up to 1 - NSE = 0.6 (NSE hand value 0.4 above)
    assert d["amplitude"] + d["timing"] + d["volume"] == pytest.approx(0.6)
    # twice the flow: perfectly timed, amplitude (2 - 1)^2 = 1, volume (2.5 / sqrt 1.25)^2 = 5
    d = nse_decomposition(OBS, 2 * OBS)
    assert (d["timing"], d["amplitude"], d["volume"]) == pytest.approx((0.0, 1.0, 5.0))
    assert nse(OBS, 2 * OBS) == pytest.approx(-5.0)


def test_nse_decomposition_closes_on_gappy_series_and_constant_simulations():
    obs, sim = _flows(300, seed=3)
    obs[::17] = np.nan
    sim[5::23] = np.nan
    both = np.stack([sim, np.full_like(sim, 1.7), 3 * sim - 1])  # incl. a constant simulation
    d = nse_decomposition(np.broadcast_to(obs, both.shape), both)
    total = d["amplitude"] + d["timing"] + d["volume"]
    np.testing.assert_allclose(1.0 - total, nse(np.broadcast_to(obs, both.shape), both), rtol=1e-12)
    assert d["r"][1] == 0.0 and d["alpha"][1] == 0.0  # constant: no correlation, no variability
    assert all(np.all(d[k] >= 0) for k in ("amplitude", "timing", "volume"))
    # undefined NSE (constant obs) -> every component NaN
    assert all(np.isnan(v) for v in nse_decomposition(np.ones(5), np.arange(5.0)).values())


def test_mnse_hand_value():
    # sum |s-o| = 0 + 1 + 1 + 1 = 3; sum |o-2.5| = 1.5 + 0.5 + 0.5 + 1.5 = 4  ->  1 - 3/4
    assert mnse(OBS, SIM) == pytest.approx(0.25)


def test_rmse_and_bias_hand_values():
    # mean (s-o)^2 = 3/4  ->  RMSE = sqrt(0.75)
    assert rmse(OBS, SIM) == pytest.approx(math.sqrt(0.75))
    # sum s = 11, sum o = 10  ->  100 * 1 / 10 = 10 %
    assert bias(OBS, SIM) == pytest.approx(10.0)


def test_fhv_and_pfab_hand_values():
    # n = 4: k = max(1, floor(0.02*4 + 0.5)) = 1 -> top flows o = 4, s = 5 -> 100*(5-4)/4 = 25
    assert fhv(OBS, SIM) == pytest.approx(25.0)
    assert pfab(OBS, SIM) == pytest.approx(25.0)
    # n = 100: k = 2. obs = 1..100; sim = obs with day 0 raised to 300.
    # top-2 obs = 100 + 99 = 199; top-2 sim = 300 + 100 = 400  ->  100 * 201 / 199
    obs = np.arange(1.0, 101.0)
    sim = obs.copy()
    sim[0] = 300.0
    assert fhv(obs, sim) == pytest.approx(100 * 201 / 199)
    # peak too low: the 100 becomes 80, so the top-2 sim flows are 99 + 98 = 197
    # -> 100 * (197 - 199) / 199 = -200/199; pfab = +200/199
    low = np.where(obs == 100, 80.0, obs)
    assert fhv(obs, low) == pytest.approx(-200 / 199)
    assert pfab(obs, low) == pytest.approx(200 / 199)
    # h = 0.5 on OBS/SIM: k = 2 -> o = 4 + 3 = 7, s = 5 + 3 = 8 -> 100/7
    assert fhv(OBS, SIM, h=0.5) == pytest.approx(100 / 7)


def test_fdc_segment_size_rounds_half_up():
    # n = 5, h = 0.5: k = max(1, floor(2.5 + 0.5)) = 3 (not 2)
    # obs top-3 = 5 + 4 + 3 = 12; sim [1, 2, 4, 4, 5] top-3 = 5 + 4 + 4 = 13 -> 100 / 12
    obs = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    sim = np.array([1.0, 2.0, 4.0, 4.0, 5.0])
    assert fhv(obs, sim, h=0.5) == pytest.approx(100 / 12)
    # l = 0.5: k = 3 -> obs low 1, 2, 3: log 2 + log 3 = log 6; sim low 1, 2, 4: log 8
    # -> -100 * (log 8 - log 6) / log 6
    expected = -100 * (math.log(8) - math.log(6)) / math.log(6)
    assert flv(obs, sim, l=0.5) == pytest.approx(expected)


def test_fhv_sorts_obs_and_sim_independently():
    # Reversing sim in time leaves its flow duration curve unchanged.
    obs = np.arange(1.0, 101.0)
    assert fhv(obs, obs[::-1]) == pytest.approx(0.0)
    assert flv(obs, obs[::-1]) == pytest.approx(0.0)
    # but NSE sees the timing error
    assert nse(obs, obs[::-1]) < -2


def test_flv_hand_values():
    # n = 10: k = floor(0.3*10 + 0.5) = 3 -> obs low segment 1, 2, 3
    # sum (log o - log 1) = 0 + log 2 + log 3 = log 6
    obs = np.arange(1.0, 11.0)
    # sim = obs^2: low 1, 4, 9 -> 0 + log 4 + log 9 = 2 log 6 -> -100 (2 log 6 - log 6)/log 6
    assert flv(obs, obs**2) == pytest.approx(-100.0)
    # sim = 2 obs: low 2, 4, 6 -> 0 + log 2 + log 3 = log 6 -> 0 (FLV is scale-free)
    assert flv(obs, 2 * obs) == pytest.approx(0.0)
    # sim = sqrt(obs): 0 + log2/2 + log3/2 = log6/2 -> -100 * (-0.5) = 50
    assert flv(obs, np.sqrt(obs)) == pytest.approx(50.0)


def test_flv_floor_and_zero_denominator():
    # mean(obs) = 58 / 10 = 5.8 -> floor eps = 0.058: obs low 0 -> 0.058, 1, 1 ->
    # sum = 0 + 2 * (log 1 - log 0.058); sim low 1, 1, 1 -> 0  ->  -100 * (-1) = 100
    obs = np.array([0.0, 1.0, 1.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0])
    sim = np.array([1.0, 1.0, 1.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0])
    assert flv(obs, sim) == pytest.approx(100.0)
    # A constant obs low segment makes the denominator 0 -> NaN
    assert np.isnan(flv(sim, obs))
    # ... also when it is constant only after the floor: three zeros fill the k = 3 segment
    zeros = np.array([0.0, 0.0, 0.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0])
    assert np.isnan(flv(zeros, sim))
    # mean(obs) <= 0: no positive floor -> NaN
    assert np.isnan(flv(-obs, sim))
    assert np.isnan(flv(np.zeros(10), sim))


# Ten days, k = floor(0.3 * 10 + 0.5) = 3. mean(obs) = (0 + 0.5 + 1 + 6 * 15 + 8.5) / 10 = 10,
# so the floor is eps = 0.01 * 10 = 0.1. The sim's mean (about 14) differs, and its low flows
# lie on other days than the obs's: the segments are sorted independently.
OBS_Z = np.array([0.0, 0.5, 1.0, 15.0, 15.0, 15.0, 15.0, 15.0, 15.0, 8.5])
SIM_Z = np.array([20.0, 0.4, 20.0, 1e-5, 20.0, 20.0, 0.2, 20.0, 20.0, 20.0])


def test_flv_hand_values_with_zero_and_near_zero_flows():
    # obs low 0, 0.5, 1 -> 0.1, 0.5, 1: sum (log o - log 0.1) = log 5 + log 10 = log 50
    # sim low 1e-5, 0.2, 0.4 -> 0.1, 0.2, 0.4: sum (log s - log 0.1) = log 2 + log 4 = log 8
    expected = -100 * (math.log(8) - math.log(50)) / math.log(50)
    assert flv(OBS_Z, SIM_Z) == pytest.approx(expected)
    assert expected == pytest.approx(46.85, abs=0.01)
    # a negative or zero simulated day counts as the floor too
    for low in (0.0, -0.3, 0.09):
        assert flv(OBS_Z, np.where(SIM_Z == 1e-5, low, SIM_Z)) == pytest.approx(expected)
    # ... but a flow just above it enters unchanged: 0.11 -> log(0.2/0.11) + log(0.4/0.11)
    above = flv(OBS_Z, np.where(SIM_Z == 1e-5, 0.11, SIM_Z))
    qsl = math.log(0.2 / 0.11) + math.log(0.4 / 0.11)
    assert above == pytest.approx(-100 * (qsl - math.log(50)) / math.log(50))
    # floor = 0.05 -> eps = 0.5: obs 0.5, 0.5, 1 -> log 2; sim 0.5, 0.5, 0.5 -> 0  ->  100
    assert flv(OBS_Z, SIM_Z, floor=0.05) == pytest.approx(100.0)
    assert FLV_FLOOR == 0.01
    with pytest.raises(ValueError, match="floor must be positive"):
        flv(OBS_Z, SIM_Z, floor=0.0)


def test_flv_one_near_zero_simulated_day_no_longer_dominates():
    # mean(obs) = (0.1 + 0.2 + 0.4 + 5 * 1 + 2 + 2.3) / 10 = 1 -> eps = 0.01.
    # obs low 0.1, 0.2, 0.4: sum (log o - log 0.1) = log 2 + log 4 = log 8.
    obs = np.array([1.0, 0.1, 1.0, 0.2, 1.0, 2.0, 0.4, 1.0, 2.3, 1.0])
    sim = np.where(obs == 0.1, 1e-6, obs)  # right except one day at 1e-6 mm/day
    # sim low 1e-6 -> 0.01, 0.2, 0.4: log 20 + log 40 = log 800
    # -> -100 * (log 800 - log 8) / log 8 = -100 log 100 / log 8 = -221.5 %. The old floor of
    # 1e-6 gave -100 * (log 2e5 + log 4e5 - log 8) / log 8 = -1107.3 %: every term of the segment
    # moves by log(o_min / s_min), however far below any measurable flow s_min is.
    expected = -100 * math.log(100) / math.log(8)
    assert flv(obs, sim) == pytest.approx(expected)
    old = -100 * (math.log(2e5) + math.log(4e5) - math.log(8)) / math.log(8)
    assert (expected, old) == pytest.approx((-221.5, -1107.3), abs=0.1)
    # the shift is bounded by log(o_min / eps): where the observed minimum is itself at the
    # floor, a simulated 1e-6 (or 0, or a negative flow) instead of 0.01 costs nothing
    obs_low = np.where(obs == 0.1, 0.01, obs)
    obs_low[5] += 0.09  # keeps mean(obs) = 1
    for tiny in (1e-6, 0.0, -0.5):
        assert flv(obs_low, np.where(obs_low == 0.01, tiny, obs_low)) == pytest.approx(0.0)


def test_flv_floor_uses_the_mean_of_the_paired_days():
    # A gap in sim on the day obs = 100 drops that day: mean(obs) over the other ten days is
    # (0 + 0.5 + 1 + 6 * 15 + 8.5) / 10 = 10 (not 200 / 11), so the values of the gap-free
    # hand case come back (k = floor(0.3 * 10 + 0.5) = 3 on the ten paired days).
    obs = np.append(OBS_Z, 100.0)
    sim = np.append(SIM_Z, np.nan)
    expected = -100 * (math.log(8) - math.log(50)) / math.log(50)
    assert flv(obs, sim) == pytest.approx(expected)


def test_flv_is_at_most_100_and_sign():
    obs, sim = _flows(300, seed=5)
    for s in (sim, 0.5 * sim, np.sqrt(sim), sim**2, np.full_like(sim, 2.0)):
        assert flv(obs, s) <= 100.0 + 1e-9
    assert flv(obs, np.full_like(obs, 2.0)) == pytest.approx(100.0)  # flat low segment
    # deeper low flows (a steeper recession into the dry days) -> negative. Flows of at least 1
    # keep the squares above the floor (obs**2 of flows below 1 would sink under it).
    high = obs / obs.min()
    assert flv(high, high**2) == pytest.approx(-100.0)
    assert flv(high, np.sqrt(high)) == pytest.approx(50.0)


# ----------------------------------------------------------------------------- identities


def test_perfect_simulation_identities():
    obs, _ = _flows()
    assert nse(obs, obs) == pytest.approx(1.0)
    assert kge(obs, obs) == pytest.approx(1.0)
    assert mnse(obs, obs) == pytest.approx(1.0)
    for name in ("pfab", "fhv", "flv", "rmse", "bias"):
        assert METRICS[name](obs, obs) == pytest.approx(0.0, abs=1e-12), name


def test_mean_benchmark_identities():
    obs, _ = _flows()
    mean = np.full_like(obs, obs.mean())
    assert nse(obs, mean) == pytest.approx(0.0, abs=1e-12)
    assert mnse(obs, mean) == pytest.approx(0.0, abs=1e-12)


def test_scaling_identities():
    obs, _ = _flows()
    assert bias(obs, 1.1 * obs) == pytest.approx(10.0)
    assert rmse(obs, obs + 2.0) == pytest.approx(2.0)
    assert fhv(obs, 1.5 * obs) == pytest.approx(50.0)
    assert fhv(obs, 0.5 * obs) == pytest.approx(-50.0)
    assert pfab(obs, 0.5 * obs) == pytest.approx(50.0)


def test_degenerate_series_give_nan_not_inf():
    const = np.full(10, 3.0)
    ramp = np.arange(10.0)
    assert np.isnan(nse(const, ramp))  # zero variance in obs
    assert np.isnan(mnse(const, ramp))
    assert np.isnan(kge(const, ramp))
    assert np.isnan(kge(ramp, const))  # correlation undefined
    assert np.isnan(kge(ramp - ramp.mean(), ramp))  # mean(obs) = 0
    assert np.isnan(bias(ramp - ramp.mean(), ramp))


# ----------------------------------------------------------------------------- NaN handling


@pytest.mark.parametrize("name", list(METRICS))
def test_nan_days_are_dropped_pairwise(name):
    obs, sim = _flows()
    obs_gap, sim_gap = obs.copy(), sim.copy()
    obs_gap[[3, 50, 51, 120]] = np.nan
    sim_gap[[7, 51, 199]] = np.nan
    keep = ~(np.isnan(obs_gap) | np.isnan(sim_gap))
    metric = METRICS[name]
    got = metric(obs_gap, sim_gap)
    assert np.isfinite(got)
    assert got == pytest.approx(metric(obs[keep], sim[keep]), rel=1e-12, abs=1e-12)
    # and differs from the gap-free result, so the test can tell masking from ignoring NaN
    if name not in ("pfab", "fhv"):  # the dropped days hold no top-2 % flow
        assert got != pytest.approx(metric(obs, sim), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", list(METRICS))
def test_all_nan_and_single_pair_give_nan(name):
    obs, sim = _flows(n=10)
    metric = METRICS[name]
    assert np.isnan(metric(np.full(10, np.nan), sim))
    assert np.isnan(metric(obs, np.full(10, np.nan)))
    one = np.full(10, np.nan)
    one[4] = 1.0
    assert np.isnan(metric(one, sim))  # a single valid pair
    assert np.isnan(metric(np.array([]), np.array([])))


@pytest.mark.parametrize("name", list(METRICS))
def test_2d_input_gives_one_value_per_row(name):
    rows = [_flows(n=120, seed=s) for s in range(3)]
    obs = np.stack([r[0] for r in rows])
    sim = np.stack([r[1] for r in rows])
    obs[1, :10] = np.nan  # a gappy row stays finite; an all-NaN row is NaN only itself
    sim[2] = np.nan
    metric = METRICS[name]
    got = metric(obs, sim)
    assert got.shape == (3,)
    assert got[0] == pytest.approx(metric(obs[0], sim[0]))
    assert got[1] == pytest.approx(metric(obs[1, 10:], sim[1, 10:]))
    assert np.isnan(got[2])
    # time on axis 0, and DataArrays with the axis given by name
    np.testing.assert_allclose(metric(obs.T, sim.T, axis=0), got)
    da_obs = xr.DataArray(obs, dims=("basin", "time"))
    da_sim = xr.DataArray(sim.T, dims=("time", "basin"))  # transposed to obs's order
    np.testing.assert_allclose(metric(da_obs, da_sim, axis="time"), got)


def test_scalar_result_for_1d_and_3d_shape():
    assert np.ndim(nse(OBS, SIM)) == 0
    assert isinstance(nse(OBS, SIM), float)
    obs = np.broadcast_to(OBS, (2, 3, 4))
    assert nse(obs, obs).shape == (2, 3)


def test_shape_mismatch_raises_naming_both_shapes():
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        nse(OBS, SIM[:3])
    with pytest.raises(ValueError, match=r"\(2, 5\).*\(5, 2\)"):
        kge(np.ones((2, 5)), np.ones((5, 2)))


def test_dataarrays_are_paired_by_label_not_position():
    obs_np = np.stack([_flows(seed=i)[0] for i in range(3)])
    sim_np = np.stack([_flows(seed=i)[1] for i in range(3)])
    time = np.arange("2000-01-01", 200, dtype="datetime64[D]")[:200]
    coords = {"basin": ["a", "b", "c"], "time": time}
    obs = xr.DataArray(obs_np, dims=("basin", "time"), coords=coords)
    sim = xr.DataArray(sim_np, dims=("basin", "time"), coords=coords)
    expected = nse(obs_np, sim_np)
    reordered = sim.isel(basin=[2, 0, 1])
    np.testing.assert_allclose(nse(obs, reordered, axis="time"), expected)
    table = metrics_table(obs, reordered.T, ["nse", "kge"])
    np.testing.assert_allclose(table.sel(metric="nse"), expected)
    np.testing.assert_allclose(table.sel(metric="kge"), kge(obs_np, sim_np))
    with pytest.raises(ValueError, match=r"different 'basin' labels: sim lacks \['c'\]"):
        nse(obs, sim.assign_coords(basin=["a", "b", "x"]), axis="time")
    with pytest.raises(ValueError, match="different 'time' labels"):
        metrics_table(obs, sim.assign_coords(time=time + np.timedelta64(10, "D")))


# ----------------------------------------------------------------------------- property


# Values on a 1e-6 grid: variances of non-constant series cannot underflow to 0.
_VALUES = st.floats(-1e3, 1e3).map(lambda x: round(x, 6))


@given(obs=arrays(np.float64, st.integers(2, 40), elements=_VALUES), data=st.data())
def test_nse_at_most_one_and_one_for_perfect_fit(obs, data):
    sim = data.draw(arrays(np.float64, obs.shape, elements=_VALUES))
    value = nse(obs, sim)
    constant = np.all(obs == obs[0])
    if constant:
        assert np.isnan(value)
        assert np.isnan(nse(obs, obs))
    else:
        assert value <= 1.0
        assert nse(obs, obs) == 1.0


# ----------------------------------------------------------------------------- tables


def _basin_data():
    rows = [_flows(n=150, seed=s) for s in range(4)]
    basins = ["01022500", "01031500", "04296000", "06431500"]
    time = np.arange(150)
    obs = xr.DataArray(
        np.stack([r[0] for r in rows]),
        dims=("basin", "time"),
        coords={"basin": basins, "time": time},
    )
    sim = xr.DataArray(
        np.stack([r[1] for r in rows]),
        dims=("basin", "time"),
        coords={"basin": basins, "time": time},
    )
    return obs, sim


def test_metrics_table_dims_coords_and_values():
    obs, sim = _basin_data()
    table = metrics_table(obs, sim)
    assert table.dims == ("basin", "metric")
    assert list(table.metric.values) == ["nse", "kge", "mnse", "pfab", "fhv", "flv", "rmse", "bias"]
    assert list(table.basin.values) == list(obs.basin.values)
    assert table.dtype == np.float64
    for name, metric in METRICS.items():
        np.testing.assert_allclose(table.sel(metric=name).values, metric(obs.values, sim.values))
    # time first gives the same table
    xr.testing.assert_allclose(metrics_table(obs.T, sim.transpose("time", "basin")), table)
    # a subset keeps the requested order
    sub = metrics_table(obs, sim, metrics=["rmse", "nse"])
    assert list(sub.metric.values) == ["rmse", "nse"]
    np.testing.assert_allclose(sub.sel(metric="nse"), table.sel(metric="nse"))


def test_metric_info_covers_every_metric():
    assert set(METRIC_INFO) == set(METRICS)
    units = {name: info.units for name, info in METRIC_INFO.items()}
    assert units == {
        "nse": "1",
        "kge": "1",
        "mnse": "1",
        "pfab": "%",
        "fhv": "%",
        "flv": "%",
        "rmse": "mm/day",
        "bias": "%",
    }
    for name, info in METRIC_INFO.items():
        assert info.long_name and info.long_name == METRIC_INFO[name][1]


def test_metrics_table_carries_units_and_long_names():
    obs, sim = _basin_data()
    table = metrics_table(obs, sim)
    assert table.coords["metric_units"].dims == ("metric",)
    for name in METRICS:
        row = table.sel(metric=name)
        assert row.coords["metric_units"].item() == METRIC_INFO[name].units
        assert row.coords["metric_long_name"].item() == METRIC_INFO[name].long_name
    assert "metric_units" in table.attrs["description"]
    # a subset in another order keeps each unit with its metric
    sub = metrics_table(obs, sim, metrics=["rmse", "nse", "bias"])
    assert list(sub.coords["metric_units"].values) == ["mm/day", "1", "%"]


def test_metrics_table_errors():
    obs, sim = _basin_data()
    with pytest.raises(ValueError, match="nsee") as info:
        metrics_table(obs, sim, metrics=["nse", "nsee"])
    assert "kge" in str(info.value) and "bias" in str(info.value)  # lists the allowed names
    with pytest.raises(ValueError, match="shape"):
        metrics_table(obs, sim.isel(time=slice(0, 100)))


def test_summarise_values():
    nse_values = [0.5, -0.2, 0.8, np.nan, 0.1]
    table = xr.DataArray(
        np.array([nse_values, [1.0, 2.0, 3.0, 4.0, 5.0]]).T,
        dims=("basin", "metric"),
        coords={"basin": list("abcde"), "metric": ["nse", "rmse"]},
    )
    out = summarise(table)
    assert list(out) == ["nse", "rmse"]
    s = out["nse"]
    # valid sorted: -0.2, 0.1, 0.5, 0.8 -> median (0.1 + 0.5)/2 = 0.3, mean 1.2/4 = 0.3
    assert s["median"] == pytest.approx(0.3)
    assert s["mean"] == pytest.approx(0.3)
    # linear percentiles: p25 at rank 0.75 -> -0.2 + 0.75*0.3 = 0.025; p75 at 2.25 -> 0.575
    assert s["p25"] == pytest.approx(0.025)
    assert s["p75"] == pytest.approx(0.575)
    # deviations -0.5, -0.2, 0.2, 0.5 -> squares sum 0.58 -> population std sqrt(0.145)
    assert s["std"] == pytest.approx(math.sqrt(0.145))
    assert (s["n_negative"], s["n_nan"], s["n"]) == (1, 1, 4)
    assert type(s["median"]) is float and type(s["n_negative"]) is int
    r = out["rmse"]
    assert (r["median"], r["mean"], r["n_nan"], r["n_negative"]) == (3.0, 3.0, 0, 0)


def test_summarise_all_nan_metric():
    table = xr.DataArray(
        np.full((3, 1), np.nan), dims=("basin", "metric"), coords={"metric": ["kge"]}
    )
    s = summarise(table)["kge"]
    assert math.isnan(s["median"]) and math.isnan(s["std"])
    assert (s["n_nan"], s["n"], s["n_negative"]) == (3, 0, 0)
