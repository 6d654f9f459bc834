"""δHBV 1.0 (`dgeo.Hbv`) against MHPI's own code, water balance, gradients, bad input.

The cross-check runs MHPI's `hydrodl2.models.hbv.Hbv` (PyTorch; the `peers` extra, never a
dependency of dgeo) and dgeo's `Hbv` on identical inputs: real Daymet forcing of four
CAMELS basins over two years, Hamon PET as dgeo computes it, and the same parameters
(hydrodl2 is given logit(r) for fractions r of each bound interval; dgeo the parameters
lower + r (upper - lower) that hydrodl2 makes of them). hydrodl2 hard-codes float32 for its
series buffers and initial states; its code runs unchanged here with `torch.float32`
resolved to float64 in its two modules (`float64_torch`), so both sides compute in float64.
"""

from __future__ import annotations

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

import dgeo
from dgeo.data import DataError, load_camels_us
from dgeo.physics import Hbv, _hbv_day, hamon_pet

PEERS = (
    "MHPI's hydrodl2 (and torch) are not installed; the cross-check needs the test extra: "
    "pip install -e '.[peers]' (hydrodl2's licence is non-commercial: test use only)"
)
BASINS = ["01022500", "01142500", "01047000", "04296000"]
PERIOD = ("1990-10-01", "1992-09-30")
HBV = [p.name for p in Hbv.parameters if p.name not in ("route_a", "route_b")]
BOUNDS = {p.name: (p.lower, p.upper) for p in Hbv.parameters}
#: dgeo's fluxes (means over components) and hydrodl2's names for the same series.
PEER_FLUXES = {
    "evapotranspiration": "AET_hydro",
    "recharge": "recharge",
    "excess": "excs",
    "infiltration": "tosoil",
    "percolation": "percolation",
    "surface_flow": "srflow_no_rout",
    "subsurface_flow": "ssflow_no_rout",
    "groundwater_flow": "gwflow_no_rout",
}
#: hydrodl2's initial storages: 0.001 mm in every state.
START = 0.001
TOLERANCE = 1e-5


def relative_error(ours, theirs) -> float:
    """max |ours - theirs| / |theirs| over all values, |theirs| floored at 1e-8 mm."""
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    return float(np.max(np.abs(ours - theirs) / np.maximum(np.abs(theirs), 1e-8)))


def with_pet(camels_root) -> xr.Dataset:
    """Two years of four real basins, with Hamon PET (mm/day) as dgeo computes it."""
    ds = load_camels_us(camels_root, basins=BASINS, attributes=False).sel(time=slice(*PERIOD))
    pet = hamon_pet(jnp.asarray(ds["tmean"].values), jnp.asarray(ds["dayl"].values / 86400.0))
    return ds.assign(pet=(("basin", "time"), np.asarray(pet), {"units": "mm/day"}))


@pytest.fixture(scope="module")
def camels(camels_root) -> xr.Dataset:
    return with_pet(camels_root)


def time_major(ds: xr.Dataset) -> dict[str, jax.Array]:
    return {k: jnp.asarray(ds[k].values.T) for k in Hbv.forcings}


@pytest.fixture
def peer(monkeypatch):
    """hydrodl2's `Hbv` class, computing in float64 on one CPU thread."""
    pytest.importorskip("hydrodl2", reason=PEERS)
    torch = pytest.importorskip("torch", reason=PEERS)
    import hydrodl2.models.base as base
    import hydrodl2.models.hbv.hbv as hbv

    class Float64Torch(types.ModuleType):
        float32 = torch.float64

        def __getattr__(self, name):
            return getattr(torch, name)

    shim = Float64Torch("torch")
    monkeypatch.setattr(hbv, "torch", shim)
    monkeypatch.setattr(base, "torch", shim)
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    yield hbv.Hbv
    torch.set_default_dtype(dtype)
    torch.set_num_threads(threads)


#: Fractions of the bounds for the first component of every basin: a small soil (FC 69 mm)
#: that overflows, a low UZL (surface flow) and a BETAET below 1 (ET dries the soil to the
#: floor), so that every threshold of the update is crossed.
EDGES = {"FC": 0.02, "UZL": 0.05, "LP": 0.1, "BETAET": 0.05}


def fractions(days: int, basins: int, nmul: int, dynamic, seed: int = 0):
    """Where each parameter sits in its bounds: (days, basin, nmul) for the HBV parameters
    (varying by day only when dynamic), (basin,) for the two routing parameters."""
    rng = np.random.default_rng(seed)
    out = {}
    wave = 0.15 * np.sin(2 * np.pi * np.arange(days) / 365.0)[:, None, None]
    for name in HBV:
        static = rng.uniform(0.05, 0.95, (1, basins, nmul))
        static[..., 0] = EDGES.get(name, static[..., 0])
        values = np.clip(static + wave, 0.01, 0.99) if name in dynamic else static
        out[name] = np.broadcast_to(values, (days, basins, nmul))
    for name in ("route_a", "route_b"):
        out[name] = rng.uniform(0.05, 0.95, basins)
    if "TT" not in dynamic:  # keep the snow threshold off CAMELS' 0.005 degC grid of tmean
        out["TT"] = np.broadcast_to(np.round(out["TT"], 2) + 0.0013, out["TT"].shape)
    return out


def dgeo_parameters(raw: dict, dynamic) -> dict[str, jax.Array]:
    """Parameters in dgeo's layout: HBV ones (basin, nmul), dynamic ones (time, basin, nmul),
    routing ones (basin,). BETAET is 1 where hydrodl2 leaves it out (not dynamic)."""
    params = {}
    for name, r in raw.items():
        lower, upper = BOUNDS[name]
        values = lower + r * (upper - lower)
        params[name] = jnp.asarray(values if name in dynamic or r.ndim == 1 else values[-1])
    if "BETAET" not in dynamic:
        params["BETAET"] = jnp.ones_like(
            params["BETA"][-1] if "BETA" in dynamic else params["BETA"]
        )
    return params


def peer_input(model, raw: dict, days: int):
    """hydrodl2's network output for `raw`: logits, (time, basin, parameters * nmul + 2)."""
    names = [key.removeprefix("par") for key in model.parameter_bounds]
    hbv = np.stack([raw[name] for name in names], axis=2)  # (time, basin, parameter, nmul)
    routing = np.stack([raw["route_a"], raw["route_b"]], axis=-1)  # (basin, 2)
    fractions = np.concatenate(
        [hbv.reshape(days, hbv.shape[1], -1), np.broadcast_to(routing, (days, *routing.shape))],
        axis=-1,
    )
    return np.log(fractions) - np.log1p(-fractions)


def run_peer(peer_class, ds, raw, nmul, dynamic, *, warmup=0, daily=False):
    """hydrodl2's outputs (time, basin) and final states (basin, nmul); with `daily`, also
    every state at the end of every day (time, basin, nmul), one call of its forward per day
    with its state cache."""
    import torch

    config = {
        "warmup": warmup,
        "dynamic_params": {"Hbv": [f"par{name}" for name in dynamic]},
        "nmul": nmul,
        "routing": True,
    }
    model = peer_class(config, device=torch.device("cpu"))
    for key, bounds in {**model.parameter_bounds, **model.routing_parameter_bounds}.items():
        assert tuple(bounds) == BOUNDS[key.removeprefix("par")], key  # MHPI's bounds are ours
    days = ds.sizes["time"]
    x = torch.tensor(np.stack([ds[k].values.T for k in ("prcp", "tmean", "pet")], axis=-1))
    logits = torch.tensor(peer_input(model, raw, days))
    with torch.no_grad():
        out = model({"x_phy": x}, logits)
    series = {k: v[..., 0].numpy() for k, v in out.items() if v.ndim == 3}
    final = dict(zip(Hbv.states, (s.numpy() for s in model.get_states()), strict=True))
    if not daily:
        return series, final, None
    stepper = peer_class({**config, "cache_states": True}, device=torch.device("cpu"))
    ends = []
    with torch.no_grad():
        for day in range(days):
            stepper({"x_phy": x[day : day + 1]}, logits[day : day + 1])
            ends.append([s.numpy().copy() for s in stepper.get_states()])
    return series, final, {s: np.stack([e[i] for e in ends]) for i, s in enumerate(Hbv.states)}


class Components(Hbv):
    """`Hbv` that keeps each component's states and fluxes: `finish` neither averages nor
    routes (compares the components one by one with hydrodl2's)."""

    def finish(self, series, params):
        return series


CASES = {
    "nmul1": (1, ()),
    "nmul16": (16, ()),
    "nmul1-dynamic": (1, ("BETA", "BETAET")),
    "nmul16-dynamic": (16, ("BETA", "BETAET", "K0", "TT")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_hydrodl2(peer, camels, case):
    """Routed streamflow, every flux hydrodl2 reports and every state of every component on
    every day agree within 1e-5 relative (measured: ~1e-13)."""
    nmul, dynamic = CASES[case]
    days = camels.sizes["time"]
    raw = fractions(days, len(BASINS), nmul, dynamic)
    theirs, their_final, their_days = run_peer(peer, camels, raw, nmul, dynamic, daily=True)

    params = dgeo_parameters(raw, dynamic)
    forcing = time_major(camels)
    start = {s: jnp.full((len(BASINS), nmul), START) for s in Hbv.states}
    ours = dgeo.integrate(Hbv(nmul=nmul, dynamic=dynamic), forcing, params, initial_state=start)
    errors = {"q": relative_error(ours.series["q"], theirs["streamflow"])}
    for name, peer_name in PEER_FLUXES.items():
        errors[name] = relative_error(ours.series[name], theirs[peer_name])
    unrouted = sum(ours.series[k] for k in ("surface_flow", "subsurface_flow", "groundwater_flow"))
    errors["unrouted q"] = relative_error(unrouted, theirs["streamflow_no_rout"])
    errors["snowpack (SWE)"] = relative_error(ours.series["snowpack"][1:], theirs["SWE"][:-1])

    each = dgeo.integrate(
        Components(nmul=nmul, dynamic=dynamic), forcing, params, initial_state=start
    )
    for name in Hbv.states:
        errors[f"final {name}"] = relative_error(ours.final_state[name], their_final[name])
        errors[name] = relative_error(each.series[name][1:], their_days[name][:-1])
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOLERANCE, errors
    # Every branch of the update was taken on some day (the floor needs BETAET < 1).
    branches = ["snowfall", "melt", "refreezing", "infiltration", "excess", "surface_flow"]
    branches += ["soil_floor"] if "BETAET" in dynamic else []
    assert all(jnp.any(each.series[k] > 0) for k in branches)


def test_warmup_as_mhpi_runs_it(peer, camels):
    """hydrodl2's warm-up (`warmup_states`): the first days spin the states up without
    gradients, every parameter held at its value on the last warm-up day and no routing; the
    rest runs from there. In dgeo that is two `integrate` calls."""
    nmul, dynamic, warmup = 16, ("BETA", "BETAET"), 365
    days = camels.sizes["time"]
    raw = fractions(days, len(BASINS), nmul, dynamic, seed=1)
    theirs, their_final, _ = run_peer(peer, camels, raw, nmul, dynamic, warmup=warmup)

    params = dgeo_parameters(raw, dynamic)
    forcing = time_major(camels)
    spin_params = {k: v[warmup - 1] if k in dynamic else v for k, v in params.items()}
    start = {s: jnp.full((len(BASINS), nmul), START) for s in Hbv.states}
    spin = dgeo.integrate(
        Hbv(nmul=nmul),
        {k: v[:warmup] for k, v in forcing.items()},
        spin_params,
        initial_state=start,
        save=(),
    )
    run_params = {k: v[warmup:] if k in dynamic else v for k, v in params.items()}
    ours = dgeo.integrate(
        Hbv(nmul=nmul, dynamic=dynamic),
        {k: v[warmup:] for k, v in forcing.items()},
        run_params,
        initial_state=jax.lax.stop_gradient(spin.final_state),
    )
    assert relative_error(ours.series["q"], theirs["streamflow"]) < TOLERANCE
    for name in Hbv.states:
        assert relative_error(ours.final_state[name], their_final[name]) < TOLERANCE, name


def test_mass_balance_closes(camels):
    """Inflows - outflows = storage change, to rounding: through `simulate` with a dynamic
    parameter, and through `integrate` with 16 different components per basin."""
    days = camels.sizes["time"]
    beta = 2.0 + np.sin(np.arange(days) / 40.0)[None, :] * np.array([[0.5], [1.0], [0.2], [0.8]])
    params = {p.name: 0.5 * (p.lower + p.upper) for p in Hbv.parameters}
    params["BETA"] = xr.DataArray(
        beta, dims=("basin", "time"), coords={"basin": BASINS, "time": camels["time"]}
    )
    model = Hbv(dynamic=("BETA",))
    result = dgeo.simulate(model, camels, params, dtype=np.float64)
    assert float(np.abs(dgeo.mass_balance(model, result)).max()) < 1e-9
    np.testing.assert_allclose(result["dynamic_parameters"].sel(dynamic_parameter="BETA"), beta)
    assert result["q"].notnull().all()

    raw = fractions(days, len(BASINS), 16, ())
    many = Hbv(nmul=16)
    traj = dgeo.integrate(many, time_major(camels), dgeo_parameters(raw, ()))
    inflow = sum(traj.series[k].sum(0) for k in many.inflows)
    outflow = sum(traj.series[k].sum(0) for k in many.outflows)
    storage = sum(traj.final_state[k].mean(-1) for k in many.states)  # from zero storage
    np.testing.assert_allclose(inflow - outflow, storage, rtol=0, atol=1e-9)
    # Routing moves discharge in time only: the unrouted total minus what is still in transit.
    unrouted = sum(traj.series[k] for k in ("surface_flow", "subsurface_flow", "groundwater_flow"))
    assert float(jnp.max(jnp.abs(traj.series["q"].sum(0) - unrouted.sum(0)))) < 0.05 * float(
        jnp.max(unrouted.sum(0))
    )


def test_accumulate_sees_the_routed_discharge(camels):
    """A loss streamed through `integrate` (`accumulate`, as the random search uses) scores
    the finished series: routed `q`, averaged over the components."""
    params = {p.name: jnp.full(len(BASINS), 0.4 * p.lower + 0.6 * p.upper) for p in Hbv.parameters}
    model, forcing = Hbv(nmul=3), time_major(camels)
    full = dgeo.integrate(model, forcing, params)
    streamed = dgeo.integrate(model, forcing, params, save=(), accumulate=lambda v, f: v["q"] ** 2)
    np.testing.assert_allclose(streamed.total, jnp.sum(full.series["q"] ** 2, axis=0), rtol=1e-12)
    assert streamed.series == {}


@pytest.mark.slow
@pytest.mark.parametrize(
    "sensitivity", [dgeo.Backprop(), dgeo.Checkpoint(8)], ids=["backprop", "checkpoint"]
)
def test_gradients_match_finite_differences(camels, sensitivity):
    """d loss / d every parameter, a dynamic one among them, against central differences."""
    ds = camels.isel(basin=[0, 3]).sel(time=slice("1990-11-01", "1991-04-30"))
    params = {p.name: p.lower + 0.37 * (p.upper - p.lower) for p in Hbv.parameters}
    params["TT"] = 0.3217  # off the 0.005 degC grid of tmean: no day sits on the threshold
    check = dgeo.check_gradients(Hbv(dynamic=("BETA",)), ds, params, sensitivity=sensitivity)
    assert check.worst_relative_error < 1e-4, str(check)


@pytest.mark.slow
def test_gradients_per_component(camels):
    """Per-component parameters (basin, nmul) and routing: reverse mode against central
    differences for a few entries."""
    ds = camels.sel(time=slice("1991-01-01", "1991-06-30"))
    days, nmul = ds.sizes["time"], 4
    params = dgeo_parameters(fractions(days, len(BASINS), nmul, ("BETAET",)), ("BETAET",))
    model, forcing = Hbv(nmul=nmul, dynamic=("BETAET",)), time_major(ds)

    @jax.jit
    def loss(params):
        traj = dgeo.integrate(model, forcing, params, save=("q", "soil_moisture"))
        return jnp.sum(traj.series["q"] ** 2) + 1e-3 * jnp.sum(traj.series["soil_moisture"])

    grads = jax.grad(loss)(params)
    for name, index in (("K1", (1, 2)), ("FC", (0, 3)), ("BETAET", (40, 2, 1)), ("route_a", (3,))):
        h = 1e-6 * (BOUNDS[name][1] - BOUNDS[name][0])
        up = loss({**params, name: params[name].at[index].add(h)})
        down = loss({**params, name: params[name].at[index].add(-h)})
        fd = float((up - down) / (2 * h))
        assert abs(float(grads[name][index]) - fd) <= 1e-4 * max(abs(fd), 1e-8), (name, fd)


class AutodiffHbv(Hbv):
    """`Hbv` differentiated by JAX itself, not by the hand-written derivative."""

    def step(self, state, forcing, params):
        return _hbv_day.autodiff_step(state, forcing, params, self.soil_floor_mm)


def test_hand_written_derivative_on_one_day():
    """Without data: one day of 4000 random basin-components, states and forcing spread so
    that every threshold of the update goes both ways (checked on the update's masks), the
    hand-written derivative against JAX's (float64), in reverse and in forward mode."""
    rng = np.random.default_rng(5)
    n = 4000

    def spread(low, high):
        return jnp.asarray(rng.uniform(low, high, (n, 1)))

    params = {name: spread(*BOUNDS[name]) for name in HBV + ["BETAET"]}
    fc = params["FC"]
    state = {
        "snowpack": spread(0.0, 30.0),
        "meltwater": spread(0.0, 3.0),
        "soil_moisture": fc * spread(0.0, 1.3) ** 3,  # dry soils to overflowing ones
        "upper_zone": spread(0.0, 150.0),
        "lower_zone": spread(0.0, 100.0),
    }
    rain = rng.exponential(8.0, n) * (rng.uniform(size=n) < 0.7)
    forcing = {
        "prcp": jnp.asarray(rain),
        "tmean": jnp.asarray(rng.uniform(-12.0, 12.0, n)),
        "pet": jnp.asarray(rng.uniform(0.0, 8.0, n)),
    }
    floor = Hbv.soil_floor_mm
    _, weights = _hbv_day.day(state, forcing, params, floor)
    masks = {k: v for k, v in weights.items() if v.dtype == bool}
    masks |= {f"{k} capped": weights[k] >= 1.0 for k in ("wetness", "et_factor")}
    assert len(masks) == 13
    for name, mask in masks.items():
        assert 0 < int(mask.sum()) < mask.size, name  # both sides of every threshold

    def ours(*args):
        return _hbv_day.step(*args, floor)

    def jaxs(*args):
        return _hbv_day.autodiff_step(*args, floor)

    inputs = (state, forcing, params)
    out, pullback = jax.vjp(ours, *inputs)
    _, pullback_jax = jax.vjp(jaxs, *inputs)
    cotangent = jax.tree_util.tree_map(lambda v: jnp.asarray(rng.normal(size=v.shape)), out)
    tangents = jax.tree_util.tree_map(lambda v: jnp.asarray(rng.normal(size=v.shape)), inputs)
    for got, want in (
        (pullback(cotangent), pullback_jax(cotangent)),
        (jax.jvp(ours, inputs, tangents)[1], jax.jvp(jaxs, inputs, tangents)[1]),
    ):
        for (path, a), b in zip(
            jax.tree_util.tree_leaves_with_path(got), jax.tree_util.tree_leaves(want), strict=True
        ):
            scale = float(jnp.max(jnp.abs(b)))
            assert float(jnp.max(jnp.abs(a - b))) <= 1e-12 * max(scale, 1e-300), (
                jax.tree_util.keystr(path)
            )
    # An integer forcing has no derivative; the parameters' gradient still flows.
    whole = {**forcing, "tmean": jnp.round(forcing["tmean"]).astype(int)}
    grads = jax.grad(lambda p: jnp.sum(ours(state, whole, p)[1]["q"]))(params)
    assert all(bool(jnp.isfinite(g).all()) for g in grads.values())


def test_hand_written_derivative_is_jaxs(camels):
    """`Hbv`'s hand-written derivative (physics/_hbv_day.py) against JAX's derivative of the
    same update, float64, over two years of four real basins with every threshold crossed:
    the gradient with respect to parameters (two dynamic), initial state and forcing, and a
    directional derivative in forward mode.

    The two differ at exact ties of a threshold only. One occurs on every cold, dry day
    without snow: melt = min(potential 0, snowpack 0), where JAX lets half of any new snow
    melt and dgeo none. There d loss / d precipitation is checked against a one-sided
    difference, the derivative for more precipitation."""
    days, nmul, dynamic = camels.sizes["time"], 4, ("BETA", "BETAET")
    params = dgeo_parameters(fractions(days, len(BASINS), nmul, dynamic), dynamic)
    start = {s: jnp.full((len(BASINS), nmul), 2.0) for s in Hbv.states}
    forcing = time_major(camels)
    rng = np.random.default_rng(3)
    names = Hbv.states + Hbv.fluxes
    weights = {k: jnp.asarray(rng.uniform(0.5, 1.5, (days, len(BASINS)))) for k in names}

    def loss(model):
        def value(params, start, forcing):
            traj = dgeo.integrate(model, forcing, params, initial_state=start)
            score = sum(jnp.sum(weights[k] * traj.series[k] ** 2) for k in names)
            return score + sum(jnp.sum(v**2) for v in traj.final_state.values())

        return jax.jit(value)

    ours = loss(Hbv(nmul=nmul, dynamic=dynamic))
    jaxs = loss(AutodiffHbv(nmul=nmul, dynamic=dynamic))
    grads = jax.grad(ours, argnums=(0, 1, 2))(params, start, forcing)
    reference = jax.grad(jaxs, argnums=(0, 1, 2))(params, start, forcing)

    each = dgeo.integrate(
        Components(nmul=nmul, dynamic=dynamic), forcing, params, initial_state=start
    )
    cold = forcing["tmean"][..., None] < params["TT"]
    dry = (forcing["prcp"][..., None] == 0) & (each.series["snowpack"] == 0)
    tie = jnp.any(cold & dry, axis=-1)  # (days, basins): some component melts min(0, 0)
    assert 100 < int(tie.sum()) < tie.size // 2

    for (part, name), got in jax.tree_util.tree_leaves_with_path(grads):
        want = reference[part.idx][name.key]
        label = f"d loss / d {['params', 'initial_state', 'forcing'][part.idx]}[{name.key!r}]"
        if part.idx == 2 and name.key == "prcp":
            got, want = jnp.where(tie, 0.0, got), jnp.where(tie, 0.0, want)
        scale = float(jnp.max(jnp.abs(want)))
        assert scale > 0, label  # every input moves the loss
        assert float(jnp.max(jnp.abs(got - want))) <= 1e-10 * scale, label

    # On tie days: the derivative for more precipitation, a one-sided difference.
    day, basin = (int(i[0]) for i in jnp.nonzero(tie[100:], size=1))
    day += 100
    h = 1e-6
    more = {**forcing, "prcp": forcing["prcp"].at[day, basin].add(h)}
    slope = (ours(params, start, more) - ours(params, start, forcing)) / h
    got = grads[2]["prcp"][day, basin]
    assert abs(float(got - slope)) <= 1e-5 * abs(float(slope)), (float(got), float(slope))
    assert abs(float(reference[2]["prcp"][day, basin] - slope)) > 1e-3 * abs(float(slope))

    tangents = jax.tree_util.tree_map(
        lambda x: jnp.asarray(rng.normal(size=x.shape)), (params, start, forcing)
    )
    tangents[2]["prcp"] = jnp.where(tie, 0.0, tangents[2]["prcp"])
    value, slope = jax.jvp(ours, (params, start, forcing), tangents)
    value_jax, slope_jax = jax.jvp(jaxs, (params, start, forcing), tangents)
    assert float(value) == pytest.approx(float(value_jax), rel=1e-14)
    assert float(slope) == pytest.approx(float(slope_jax), rel=1e-10)


@pytest.mark.parametrize("solver", [dgeo.Discrete(), dgeo.Continuous()], ids=["discrete", "tsit5"])
def test_any_model_takes_dynamic_parameters(camels, solver):
    """The seam is every model's: EXP-HYDRO with Df given per day, the same on every day,
    matches the static run; a different value on one day leaves the days before alone."""
    ds = camels.isel(basin=[0, 3]).sel(time=slice("1991-01-01", "1991-03-31"))
    params = {"f": 0.02, "smax": 800.0, "qmax": 20.0, "df": 2.0, "tmax": 1.0, "tmin": -1.0}
    static = dgeo.simulate(dgeo.ExpHydro(), ds, params, solver=solver, dtype=np.float64)
    df = np.full((2, ds.sizes["time"]), 2.0)
    model = dgeo.ExpHydro(dynamic=("df",))
    same = dgeo.simulate(model, ds, {**params, "df": df}, solver=solver, dtype=np.float64)
    np.testing.assert_array_equal(same["q"], static["q"])
    df[:, 40] = 4.0
    changed = dgeo.simulate(model, ds, {**params, "df": df}, solver=solver, dtype=np.float64)
    np.testing.assert_array_equal(changed["q"][:, :40], static["q"][:, :40])
    assert (changed["melt"][:, 40] != static["melt"][:, 40]).any()


def test_step_only_model_runs_only_discrete(camels):
    model = Hbv()
    params = {p.name: p.lower for p in Hbv.parameters}
    with pytest.raises(ValueError, match="only its own daily step.*Continuous.*Discrete"):
        dgeo.simulate(model, camels, params, solver=dgeo.Continuous())
    with pytest.raises(ValueError, match="Forward"):
        dgeo.integrate(
            Hbv(nmul=2), time_major(camels), {k: jnp.full(4, v) for k, v in params.items()},
            sensitivity=dgeo.Forward(),
        )  # fmt: skip
    with pytest.raises(NotImplementedError, match="Discrete"):
        model.rates({}, {}, {})


def test_bad_input_is_named(camels):
    params = {p.name: 0.5 * (p.lower + p.upper) for p in Hbv.parameters}
    with pytest.raises(DataError, match=r"K2 outside \[0.001, 0.2\].*01022500: 0.5"):
        dgeo.simulate(Hbv(), camels, {**params, "K2": 0.5})
    beta = np.full((len(BASINS), camels.sizes["time"]), 2.0)
    beta[2, 100] = 7.0
    with pytest.raises(DataError, match=r"BETA outside \[1.0, 6.0\].*01047000 on 1991-01-09: 7"):
        dgeo.simulate(Hbv(dynamic=("BETA",)), camels, {**params, "BETA": beta})
    with pytest.raises(DataError, match=r"BETA.*shape \(4, 10\), expected \(4, 731\)"):
        dgeo.simulate(Hbv(dynamic=("BETA",)), camels, {**params, "BETA": beta[:, :10]})
    for nmul in (0, -3):
        with pytest.raises(ValueError, match="Hbv.nmul must be at least 1"):
            Hbv(nmul=nmul)
    with pytest.raises(TypeError, match="nmul"):  # dgeo's message, or the test-time checker's
        Hbv(nmul=2.0)
    with pytest.raises(ValueError, match=r"no parameter 'beta' to vary by day.*BETA, FC"):
        Hbv(dynamic=("beta",))
    with pytest.raises(ValueError, match=r"Hbv cannot vary \['route_a'\] by day"):
        Hbv(dynamic=("BETA", "route_a"))
    with pytest.raises(ValueError, match=r"HbvOde cannot vary \['route_b'\] by day"):
        dgeo.HbvOde(dynamic=("route_b",))
    with pytest.raises(ValueError, match=r"ExpHydro has no parameter 'beta' to vary by day"):
        dgeo.ExpHydro(dynamic=("smax", "beta"))  # the seam is every model's
    with pytest.raises(
        ValueError,
        match=r"routing kernel \(routing_days=15\) is longer than the series \(10 days\)",
    ):
        dgeo.simulate(Hbv(), camels.isel(time=slice(0, 10)), params)
    short = dgeo.simulate(Hbv(routing_days=10), camels.isel(time=slice(0, 10)), params)
    assert short["q"].notnull().all()
    with pytest.raises(ValueError, match=r"params must have the forcing's basin shape \(4,\)"):
        dgeo.integrate(
            Hbv(nmul=3), time_major(camels), {k: jnp.full((4, 2), v) for k, v in params.items()}
        )


def _bounded_day(day: dict) -> dict:
    """lower + (upper - lower) sigmoid(z) for one day's dynamic parameters."""
    return {
        k: BOUNDS[k][0] + (BOUNDS[k][1] - BOUNDS[k][0]) * jax.nn.sigmoid(v) for k, v in day.items()
    }


class _HbvFinishReadsBeta(Hbv):
    """Hbv whose finish also scales `q` by BETA's mean over the days (a test model)."""

    def finish(self, series, params):
        out = super().finish(series, params)
        return out | {"q": out["q"] * jnp.mean(params["BETA"], axis=(0, -1)) / 3.0}


TRANSFORM_CASES = {
    "discrete-backprop": (Hbv, dgeo.Discrete(), dgeo.Backprop(), ("BETA", "BETAET")),
    "discrete-checkpoint": (Hbv, dgeo.Discrete(), dgeo.Checkpoint(7), ("BETA", "BETAET")),
    # a model whose `finish`, after the loop, reads a dynamic parameter
    "discrete-finish": (_HbvFinishReadsBeta, dgeo.Discrete(), dgeo.Backprop(), ("BETA",)),
    "ode-implicit-adjoint": (dgeo.HbvOde, dgeo.ImplicitEuler(), dgeo.Adjoint(), ("BETA",)),
}


@pytest.mark.parametrize("case", list(TRANSFORM_CASES))
def test_transform_maps_dynamic_parameters_inside_the_loop(camels, case):
    """`integrate(..., transform=...)` with a network's logits for the dynamic parameters
    gives the same discharge, and the same gradient with respect to the logits, as mapping
    them to their bounds before the loop (float64, routing, 4 components), under jit, for
    each sensitivity that recomputes the loop's days its own way."""
    kind, solver, sensitivity, dynamic = TRANSFORM_CASES[case]
    ds = camels.sel(time=slice("1991-01-01", "1991-03-31"))
    days, nmul = ds.sizes["time"], 4
    params = dgeo_parameters(
        fractions(days, len(BASINS), nmul, ("BETA", "BETAET")), ("BETA", "BETAET")
    )
    if "BETAET" not in dynamic:
        params["BETAET"] = params["BETAET"][-1]
    logits = {
        k: jnp.log(params[k] - BOUNDS[k][0]) - jnp.log(BOUNDS[k][1] - params[k]) for k in dynamic
    }
    model, forcing = kind(nmul=nmul, dynamic=dynamic), time_major(ds)

    @jax.jit
    def run(z):
        def loss(z, inside):
            mapped = z if inside else jax.vmap(_bounded_day)(z)
            traj = dgeo.integrate(
                model, forcing, {**params, **mapped}, save=("q",), solver=solver,
                sensitivity=sensitivity, transform=_bounded_day if inside else None,
            )  # fmt: skip
            return jnp.sum(traj.series["q"] ** 2), traj.series["q"]

        return [jax.value_and_grad(loss, has_aux=True)(z, inside) for inside in (False, True)]

    ((_, q_out), grad_out), ((_, q_in), grad_in) = run(logits)
    for k in dynamic:  # the logits give back the parameters
        np.testing.assert_allclose(jax.vmap(_bounded_day)(logits)[k], params[k], rtol=1e-12)
    assert float(jnp.max(q_out)) > 0.1
    assert float(jnp.max(jnp.abs(q_in - q_out))) <= 1e-12 * float(jnp.max(jnp.abs(q_out)))
    for k in dynamic:
        scale = float(jnp.max(jnp.abs(grad_out[k])))
        assert scale > 0, k
        assert float(jnp.max(jnp.abs(grad_in[k] - grad_out[k]))) <= 1e-10 * scale, k


def test_transform_bad_input_is_named(camels):
    forcing = time_major(camels)
    params = {p.name: jnp.full((4,), 0.5 * (p.lower + p.upper)) for p in Hbv.parameters}
    with pytest.raises(ValueError, match="transform maps dynamic parameters.*Hbv has none"):
        dgeo.integrate(Hbv(), forcing, params, transform=_bounded_day)
    with pytest.raises(TypeError, match="transform"):
        dgeo.integrate(Hbv(dynamic=("BETA",)), forcing, params, transform="sigmoid")
    days = camels.sizes["time"]
    daily = {**params, "BETA": jnp.zeros((days, 4))}
    with pytest.raises(ValueError, match=r"return the dynamic parameters \['BETA'\].*\['FC'\]"):
        dgeo.integrate(
            Hbv(dynamic=("BETA",)), forcing, daily, transform=lambda d: {"FC": d["BETA"]}
        )
    with pytest.raises(ValueError, match=r"keep each dynamic parameter's dtype.*float64.*float32"):
        dgeo.integrate(
            Hbv(dynamic=("BETA",)), forcing, daily,
            transform=lambda d: {"BETA": d["BETA"].astype(jnp.float32)},
        )  # fmt: skip
    with pytest.raises(
        ValueError, match=r"keep each dynamic parameter's shape.*\(4, 1\).*\(4, 1, 2\)"
    ):
        dgeo.integrate(
            Hbv(dynamic=("BETA",)), forcing, daily,
            transform=lambda d: {"BETA": jnp.stack([d["BETA"]] * 2, -1)},
        )  # fmt: skip
