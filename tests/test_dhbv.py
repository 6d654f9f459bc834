"""Parameter learning (dPL) for δHBV: `dpl` (per basin) and `regional_dpl` with `dgeo.Hbv`.

Shapes, bounds under extreme network outputs, gradients to every network weight, and short
trainings on real CAMELS-US basins through the public API and through YAML configurations.
CAMELS-US carries no PET, so `CamelsPet` (a data source declared here) adds Hamon PET, as
`tests/test_hbv.py` does.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml

from dgeo.data import CamelsUS
from dgeo.models import Dpl, Layout, RegionalDpl, build, build_regional
from dgeo.nn import Standardiser
from dgeo.physics import ExpHydro, Hbv, hamon_pet
from dgeo.train import (
    FitOptions,
    ModelOptions,
    Periods,
    RegionalOptions,
    regional_results,
    run_models,
    train_models,
    train_regional,
)

DYNAMIC = ("BETA", "BETAET")
PHYSICS = Hbv(nmul=3, dynamic=DYNAMIC)
BOUNDS = {p.name: (p.lower, p.upper) for p in Hbv.parameters}
STATIC = [n for n in BOUNDS if n not in DYNAMIC]
BASINS = ["01022500", "01047000", "01142500"]
PERIODS = Periods(
    train=("1985-10-01", "1989-09-30"),
    validation=("1989-10-01", "1990-09-30"),
    test=("1990-10-01", "1992-09-30"),
)
ATTRIBUTES = ("p_mean", "aridity", "frac_snow", "area_gages2", "elev_mean")


@dataclasses.dataclass(frozen=True)
class CamelsPet(CamelsUS):
    """CAMELS-US with Hamon PET (mm/day), which `dgeo.Hbv` reads as the forcing `pet`."""

    name: ClassVar[str] = "camels_us_hamon_pet"

    def load(self, basins=None):
        ds = super().load(basins)
        pet = hamon_pet(ds["tmean"].values, ds["dayl"].values / 86400.0)
        return ds.assign(pet=(("basin", "time"), np.asarray(pet), {"units": "mm/day"}))


@pytest.fixture(scope="module")
def camels(camels_root):
    return CamelsPet(camels_root).load(BASINS).sel(time=slice("1984-10-01", "1992-09-30"))


def _inputs(days: int = 200, seed: int = 0) -> dict:
    """Synthetic daily forcing of one basin: the five network forcings and `pet`."""
    k = jax.random.split(jax.random.key(seed), 3)
    season = jnp.sin(jnp.arange(days) * 2 * jnp.pi / 365.0)
    return {
        "prcp": 4.0 * jax.random.exponential(k[0], (days,)),
        "tmean": 8.0 + 12.0 * season + jax.random.normal(k[1], (days,)),
        "dayl": 0.5 + 0.1 * season,
        "srad": 200.0 + 100.0 * season,
        "vp": 900.0 + 300.0 * season,
        "pet": 2.0 + 1.5 * season,
    }


def _stats(n: int) -> Standardiser:
    return Standardiser(jnp.zeros(n), jnp.ones(n))


def _regional(physics=PHYSICS, seed=1) -> RegionalDpl:
    return build_regional(
        "regional_dpl", jax.random.key(seed), _stats(3), _stats(3), _stats(1),
        physics=physics, hidden=8, width=8,
    )  # fmt: skip


def _basin(physics=PHYSICS, seed=2) -> Dpl:
    return build("dpl", jax.random.key(seed), _stats(5), _stats(1), physics=physics, hidden=8)


def test_layout_counts_one_output_per_parameter_and_component():
    layout = Layout(PHYSICS)
    assert layout.size(dynamic=False) == 11 * 3 + 2  # 11 static HBV parameters, 2 routing
    assert layout.size(dynamic=True) == 2 * 3
    assert Layout(ExpHydro()).size(dynamic=False) == len(ExpHydro.parameters)
    assert Layout(ExpHydro()).size(dynamic=True) == 0


@pytest.mark.slow
@pytest.mark.parametrize("which", ["dpl", "regional_dpl"])
def test_shapes_of_parameters_and_outputs(which):
    x, days = _inputs(days=60), 60
    model = _basin() if which == "dpl" else _regional()
    args = (x,) if which == "dpl" else (x, jnp.ones(3))
    params = model.parameters(*args)
    for name in STATIC:
        assert params[name].shape == (() if name.startswith("route") else (3,)), name
    for name in DYNAMIC:
        assert params[name].shape == (days, 3), name
    out = eqx.filter_jit(lambda m, a: m(*a))(model, args)
    assert out["q"].shape == (days,) and out["soil_moisture"].shape == (days,)
    per_basin = model.physical_parameters(*args[1:])
    assert set(per_basin) == set(STATIC)  # dynamic ones vary by day: left out
    assert all(v.shape == () for v in per_basin.values())


def test_per_basin_components_start_apart_around_the_start():
    """Identical components would get identical gradients and stay one component."""
    start = jnp.full(len(Hbv.parameters), 0.25)
    model = build("dpl", jax.random.key(3), _stats(5), _stats(1), physics=PHYSICS, start=start)
    params = model.physical_parameters()
    fc = Layout(PHYSICS).bounded(model.raw, dynamic=False)["FC"]
    assert len(np.unique(np.asarray(fc))) == 3
    lower, upper = BOUNDS["route_a"]  # no components: exactly at the start
    np.testing.assert_allclose(float(params["route_a"]), lower + 0.25 * (upper - lower), rtol=1e-5)


def test_static_features_given_once_are_the_same_as_repeated_every_day():
    from dgeo.nn import SeriesLSTM

    net = SeriesLSTM(5, 4, hidden=6, dropout=0.3, key=jax.random.key(4))
    x = jax.random.normal(jax.random.key(5), (30, 2))
    a = jax.random.normal(jax.random.key(6), (3,))
    every_day = jnp.concatenate([x, jnp.broadcast_to(a, (30, 3))], axis=-1)
    for key in (None, jax.random.key(7)):
        np.testing.assert_allclose(
            net(x, static=a, key=key), net(every_day, key=key), rtol=1e-10, atol=1e-12
        )


def test_without_dynamic_parameters_there_is_no_lstm():
    assert _regional(Hbv(nmul=2)).network is None
    assert _basin(Hbv(nmul=2)).network is None
    q = _regional(Hbv(nmul=2))(_inputs(days=60), jnp.ones(3), full=False)["q"]
    assert q.shape == (60,) and bool(jnp.all(q >= 0))


def _extreme(model, sign: float):
    """`model` with every output layer pushed to +-1e4 (weights x 1e3, bias +-1e4)."""

    def push(layer):
        layer = eqx.tree_at(lambda lin: lin.weight, layer, layer.weight * 1e3)
        return eqx.tree_at(lambda lin: lin.bias, layer, jnp.full_like(layer.bias, sign * 1e4))

    if isinstance(model, Dpl):
        model = eqx.tree_at(lambda m: m.raw, model, jnp.full_like(model.raw, sign * 1e4))
    else:
        model = eqx.tree_at(
            lambda m: m.static.mlp.layers[-1], model, push(model.static.mlp.layers[-1])
        )
    return eqx.tree_at(lambda m: m.network.head, model, push(model.network.head))


@pytest.mark.parametrize("sign", [-1.0, 1.0])
@pytest.mark.parametrize("which", ["dpl", "regional_dpl"])
def test_parameters_stay_within_bounds_for_extreme_network_outputs(which, sign):
    x = _inputs(days=60)
    model = _extreme(_basin() if which == "dpl" else _regional(), sign)
    args = (x,) if which == "dpl" else (x, 1e3 * jnp.ones(3))
    for name, value in model.parameters(*args).items():
        lower, upper = BOUNDS[name]
        assert bool(jnp.all(jnp.isfinite(value))), name
        assert bool(jnp.all((value >= lower) & (value <= upper))), (name, lower, upper)
        gap = np.minimum(np.abs(np.asarray(value) - lower), np.abs(np.asarray(value) - upper))
        assert gap.max() <= 1e-6 * (upper - lower), name  # saturated: at a bound itself
    q = model(*args, full=False)["q"]
    assert bool(jnp.all(jnp.isfinite(q))) and bool(jnp.all(q >= 0))


def _loss(model, x, args):
    q = model(*args, full=False)["q"]  # only q: what training asks for
    return jnp.mean((q - x["prcp"] * 0.3) ** 2)


@pytest.mark.slow
@pytest.mark.parametrize("which", ["dpl", "regional_dpl"])
def test_gradients_reach_every_network_weight(which):
    x = jax.tree_util.tree_map(lambda v: v.astype(jnp.float64), _inputs(days=60))
    model = _basin() if which == "dpl" else _regional()
    args = (x,) if which == "dpl" else (x, jnp.asarray([0.5, -1.0, 2.0]))
    loss = eqx.filter_jit(lambda m: _loss(m, x, args))
    grads = eqx.filter_jit(eqx.filter_grad(loss))(model)
    net = grads.network
    leaves = {
        "lstm input weights": net.weight_ih,
        "lstm recurrent weights": net.weight_hh,
        "lstm bias": net.bias,
        "lstm output weights": net.head.weight,
    }
    if which == "dpl":
        leaves["static parameters"] = grads.raw
    else:
        for i, layer in enumerate(grads.static.mlp.layers):
            leaves[f"mlp layer {i} weights"] = layer.weight
    for name, g in leaves.items():
        g = np.asarray(g)
        assert np.isfinite(g).all(), name
        assert np.abs(g).max() > 0, name
    # The LSTM's gradient is that of its daily parameters: check one entry by finite
    # differences (float64).
    bias = model.network.head.bias
    step = 1e-6
    nudged = [
        eqx.tree_at(lambda m: m.network.head.bias, model, bias.at[0].add(s)) for s in (step, -step)
    ]
    fd = (loss(nudged[0]) - loss(nudged[1])) / (2 * step)
    np.testing.assert_allclose(float(net.head.bias[0]), float(fd), rtol=1e-4, atol=1e-10)


@pytest.mark.slow
def test_regional_dpl_trains_on_real_basins_and_lowers_the_loss(camels):
    options = RegionalOptions(
        physics=PHYSICS, attributes=ATTRIBUTES, epochs=6, batch_size=4, window_days=730,
        stride_days=365, search=32, hidden=8, width=16, dropout=0.0, learning_rate=0.01,
    )  # fmt: skip
    fit = train_regional(camels, "regional_dpl", BASINS, PERIODS.train, options, progress=False)
    losses = [h["loss"] for h in fit.history]
    assert losses[-1] < 0.9 * losses[0], losses
    results = regional_results({"regional_dpl": fit.model}, camels, PERIODS.test, options)
    assert np.isfinite(results["qsim"]).all() and (results["qsim"] >= 0).all()
    for name in STATIC:
        values = results["parameters"].sel(model="regional_dpl", parameter=name).values
        assert ((values >= BOUNDS[name][0]) & (values <= BOUNDS[name][1])).all(), name
    _daily_parameters_recorded(results, "regional_dpl")


def _daily_parameters_recorded(results, kind):
    """Each dynamic parameter is a (model, basin, time) variable of daily values within its
    bounds, varying by day; `parameters` holds their mean over the scored period."""
    for name in PHYSICS.dynamic:
        daily = results[name].sel(model=kind)
        assert daily.dims == ("basin", "time") and results[name].attrs["role"] == "parameter"
        assert ((daily >= BOUNDS[name][0]) & (daily <= BOUNDS[name][1])).all(), name
        assert float(daily.std("time").min()) > 0, name  # it varies from day to day
        mean = results["parameters"].sel(model=kind, parameter=name)
        np.testing.assert_allclose(mean, daily.mean("time"), rtol=1e-5)


@pytest.mark.slow
def test_dpl_trains_per_basin_on_real_basins_and_lowers_the_loss(camels):
    options = ModelOptions(
        physics=PHYSICS, hidden=8, dropout=0.0, physical_starts=1, physical_search=32,
        window_days=730, stride_days=365,
    )  # fmt: skip
    models, fits = train_models(
        camels, "dpl", PERIODS, options, FitOptions(epochs=8, patience=8), progress=False
    )
    losses = [h["loss"] for h in fits["dpl"].history]
    assert losses[-1] < losses[0], losses
    assert np.isfinite(fits["dpl"].validation_nse).all()
    results = run_models(models, camels, PERIODS.test)
    assert results.attrs["physics"] == "Hbv"
    assert np.isfinite(results["snowpack"]).all() and (results["qsim"] >= 0).all()
    for name in STATIC:
        values = results["parameters"].sel(model="dpl", parameter=name).values
        assert ((values >= BOUNDS[name][0]) & (values <= BOUNDS[name][1])).all(), name
    _daily_parameters_recorded(results, "dpl")


@pytest.mark.parametrize("models", [["dpl"], ["regional_dpl"]], ids=["per-basin", "regional"])
@pytest.mark.slow
def test_dpl_trains_from_a_yaml_config(tmp_path, camels_root, models):
    """δHBV from YAML: the physics as a mapping with its options, the kind by name."""
    from dgeo.cli import main
    from dgeo.evaluate import load_results

    mapping = {
        "data": {"source": "test_dhbv:CamelsPet", "root": str(camels_root)},
        "basins": BASINS[:2],
        "physics": {"name": "hbv", "nmul": 2, "dynamic": list(DYNAMIC)},
        "models": models,
        "periods": {k: list(v) for k, v in dataclasses.asdict(PERIODS).items()},
    }
    if models[0].startswith("regional"):
        mapping["regional"] = {
            "epochs": 2, "batch_size": 4, "window_days": 730, "stride_days": 365, "search": 8,
            "hidden": 8, "width": 8, "attributes": list(ATTRIBUTES),
        }  # fmt: skip
    else:
        mapping["model"] = {"hidden": 8, "physical_starts": 1, "physical_search": 8}
        mapping["model"] |= {"window_days": 730, "stride_days": 365}
        mapping["training"] = {"epochs": 2}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    run_dir = tmp_path / "run"
    assert main(["train", str(path), "--run-dir", str(run_dir), "--quiet"]) == 0
    results = load_results(run_dir / "results.nc")
    assert results.attrs["physics"] == "Hbv"
    assert list(results["model"].values) == models
    assert np.isfinite(results["qsim"]).all()


def test_a_config_gives_the_physical_model_its_options():
    from dgeo.config import ConfigError, parse_config

    physics = {"name": "HBV", "nmul": 2, "dynamic": ["BETA", "BETAET"]}
    config = parse_config({"data": "synthetic", "models": ["dpl"], "physics": physics})
    assert config.physics == {"name": "hbv", "nmul": 2, "dynamic": ["BETA", "BETAET"]}
    assert config.model_options().physics == Hbv(nmul=2, dynamic=DYNAMIC)
    regional = parse_config({"data": "synthetic", "models": ["regional_dpl"], "physics": physics})
    assert regional.regional_options(ATTRIBUTES)["regional_dpl"].physics.nmul == 2
    with pytest.raises(ConfigError, match="cannot be built with .*'dynamic': \\['SNOW'\\]"):
        parse_config({"data": "synthetic", "physics": {"name": "hbv", "dynamic": ["SNOW"]}})
    with pytest.raises(ConfigError, match="needs a `name`"):
        parse_config({"data": "synthetic", "physics": {"nmul": 2}})
