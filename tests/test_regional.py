"""Regional models: the parameterization pipeline, no leakage, pseudo-regional, PUB folds."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dgeo.data import DataError, kfold_basins, synthetic
from dgeo.models import REGIONAL_FORCINGS, build_regional
from dgeo.nn import CausalConv1d, Standardiser
from dgeo.physics import ExpHydro
from dgeo.train import (
    RegionalOptions,
    cross_validate,
    nse_star_loss,
    regional_results,
    train_regional,
)

ATTRS = ("p_mean", "pet_mean", "aridity", "frac_snow", "elev_mean", "area_gages2")
PERIOD = ("1985-10-01", "1990-09-30")
QUICK = RegionalOptions(
    attributes=ATTRS,
    epochs=3,
    batch_size=4,
    window_days=730,
    stride_days=365,
    search=16,
    hidden=8,
)


@pytest.fixture(scope="module")
def twins():
    return synthetic(n_basins=6, start="1984-10-01", end="1990-09-30", seed=2)


def _stats(n_attr=5):
    rng = np.random.default_rng(0)
    return (
        Standardiser.fit(rng.normal(size=(20, n_attr)) * 3 + 1),
        Standardiser.fit(rng.normal(size=(100, len(REGIONAL_FORCINGS)))),
        Standardiser.fit(rng.gamma(1.0, 2.0, size=(100, 1))),
    )


def _forcing(days=400, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "prcp": jnp.asarray(rng.gamma(0.6, 5.0, days)),
        "tmean": jnp.asarray(8 + 12 * np.sin(np.arange(days) / 58) + rng.normal(0, 3, days)),
        "dayl": jnp.asarray(0.5 + 0.15 * np.sin(np.arange(days) / 58)),
    }


def test_causal_conv_matches_equinox_convolution():
    key = jax.random.key(3)
    conv = CausalConv1d(4, 8, 10, key=key)
    reference = eqx.nn.Conv1d(4, 8, 10, padding=((9, 0),), key=key)
    x = jax.random.normal(jax.random.key(1), (50, 4))
    np.testing.assert_allclose(conv(x), reference(x.T).T, atol=1e-12)


@pytest.mark.slow
def test_regional_parameters_vary_with_attributes_within_bounds():
    model = build_regional("regional_hybrid", jax.random.key(0), *_stats())
    attrs = jax.random.normal(jax.random.key(1), (7, 5)) * 3
    params = jax.vmap(model.physical_parameters)(attrs)
    for p in ExpHydro.parameters:
        values = np.asarray(params[p.name])
        assert np.all((values > p.lower) & (values < p.upper)), p.name
        assert np.ptp(values) > 0, p.name  # attributes move every parameter


@pytest.mark.slow
def test_pseudo_regional_parameters_and_head_identical_across_basins():
    model = build_regional("pseudo_regional_hybrid", jax.random.key(0), *_stats())
    # Perturb every weight so the test does not pass only because of a zero initialisation.
    params, static = eqx.partition(model, eqx.is_inexact_array)
    leaves, tree = jax.tree_util.tree_flatten(params)
    keys = jax.random.split(jax.random.key(5), len(leaves))
    leaves = [x + 0.3 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys, strict=True)]
    model = eqx.combine(jax.tree_util.tree_unflatten(tree, leaves), static)
    attrs = jax.random.normal(jax.random.key(1), (4, 5)) * 3
    params = jax.vmap(model.physical_parameters)(attrs)
    for name, values in params.items():
        np.testing.assert_array_equal(values, np.full(4, values[0]), err_msg=name)
    heads = [model.basin_head(a) for a in attrs]
    for head in heads[1:]:
        for a, b in zip(
            jax.tree_util.tree_leaves(head), jax.tree_util.tree_leaves(heads[0]), strict=True
        ):
            np.testing.assert_array_equal(a, b)
    # ...and the regional model with the same weights does vary.
    regional = dataclasses.replace(
        model, physical=dataclasses.replace(model.physical, pseudo=False)
    )
    assert np.ptp(np.asarray(jax.vmap(regional.physical_parameters)(attrs)["smax"])) > 0


@pytest.mark.parametrize("kind", ["regional_hybrid", "regional_lstm", "regional_physical"])
def test_regional_models_run_and_hybrid_returns_internals(kind):
    model = build_regional(kind, jax.random.key(0), *_stats(), hidden=8)
    out = model(_forcing(), jnp.ones(5), full=True)
    assert out["q"].shape == (400,) and np.all(np.isfinite(out["q"]))
    if kind != "regional_lstm":
        assert {"snow_storage", "soil_storage", "melt"} <= set(out)
    if kind == "regional_hybrid":
        assert "q_physical" in out


def test_nse_star_loss_by_hand():
    q = jnp.asarray([[1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 1.0, 1.0]])
    qobs = jnp.asarray([[9.0, 2.0, 1.0, np.nan], [5.0, 0.0, 1.0, 3.0]])
    spread = jnp.asarray([1.9, 0.4])
    # spin-up 1 drops day 0; NaN masked: terms (0, 4)/2.0^2 and (1, 0, 4)/0.5^2 over 5 days.
    expected = (0 + 4 / 4.0 + 1 / 0.25 + 0 + 4 / 0.25) / 5
    assert float(nse_star_loss(q, qobs, spread, 1)) == pytest.approx(expected)


@pytest.mark.slow
def test_attribute_statistics_use_training_basins_only(twins):
    """No leakage: held-out basins' data cannot change what the model learns."""
    train = list(twins["basin"].values[:4])
    fit = train_regional(twins, "regional_hybrid", train, PERIOD, QUICK, progress=False)
    expected = np.stack([twins[a].values[:4] for a in ATTRS], axis=1)
    np.testing.assert_allclose(fit.model.physical.attributes.mean, expected.mean(axis=0), rtol=1e-6)
    # Corrupt every held-out basin's attributes and discharge: the trained model is unchanged.
    corrupted = twins.copy(deep=True)
    for a in ATTRS:
        corrupted[a][4:] = corrupted[a][4:] * 1000 + 7
    corrupted["qobs"][4:] = corrupted["qobs"][4:] * 50
    again = train_regional(corrupted, "regional_hybrid", train, PERIOD, QUICK, progress=False)
    for a, b in zip(
        jax.tree_util.tree_leaves(fit.model), jax.tree_util.tree_leaves(again.model), strict=True
    ):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_regional_training_reduces_the_loss(twins):
    options = RegionalOptions(**{**QUICK.__dict__, "epochs": 12})
    fit = train_regional(
        twins, "regional_hybrid", twins["basin"].values, PERIOD, options, progress=False
    )
    losses = [h["loss"] for h in fit.history]
    assert losses[-1] < 0.7 * losses[0]
    assert all(h["nonfinite_gradients"] == 0 for h in fit.history)  # counted, and none here


@pytest.mark.slow
def test_cross_validation_predicts_every_basin_once_from_a_model_that_never_saw_it(twins):
    results, seconds = cross_validate(
        twins,
        ["pseudo_regional_hybrid"],
        train_period=PERIOD,
        test_period=("1986-10-01", "1990-09-30"),
        folds=3,
        seed=1,
        options=QUICK,
        progress=False,
    )
    basins = twins["basin"].values
    np.testing.assert_array_equal(results["basin"].values, basins)
    folds = kfold_basins(basins, 3, seed=1)
    for i, (train, test) in enumerate(folds):
        assert set(results["basin"].values[results["fold"].values == i]) == set(test)
        assert not set(train) & set(test)
    assert np.isfinite(results["qsim"]).all()
    assert results["metrics"].sel(metric="nse").shape == (1, len(basins))
    assert seconds["pseudo_regional_hybrid"] > 0
    # The pseudo-regional model has one parameter set per fold.
    for i in range(3):
        smax = results["parameters"].sel(parameter="smax").values[0, results["fold"].values == i]
        np.testing.assert_allclose(smax, smax[0], rtol=1e-6)


@pytest.mark.slow
def test_cross_validation_validates_on_training_basins_only(twins):
    """With a validation period, each fold's best epoch is chosen on its training basins:
    corrupting the held-out basins' discharge changes nothing in their predictions."""
    run = lambda ds: cross_validate(  # noqa: E731
        ds, ["regional_hybrid"], train_period=("1984-10-01", "1988-09-30"),
        test_period=("1988-10-01", "1990-09-30"), folds=2, seed=1, options=QUICK,
        progress=False, validation=("1988-10-01", "1990-09-30"),
    )[0]  # fmt: skip
    held = kfold_basins(twins["basin"].values, 2, seed=1)[0][1]
    corrupt = twins.copy(deep=True)
    corrupt["qobs"].loc[{"basin": held}] = corrupt["qobs"].sel(basin=held) * 3 + 7
    clean, dirty = run(twins).sel(basin=held), run(corrupt).sel(basin=held)
    np.testing.assert_array_equal(clean["qsim"].values, dirty["qsim"].values)


@pytest.mark.slow
def test_validation_keeps_the_best_epoch(twins):
    options = RegionalOptions(**{**QUICK.__dict__, "epochs": 4})
    validation = ("1989-10-01", "1990-09-30")
    fit = train_regional(
        twins, "regional_hybrid", twins["basin"].values, ("1985-10-01", "1989-09-30"),
        options, validation=validation, progress=False,
    )  # fmt: skip
    scores = [h["validation_nse"] for h in fit.history]
    results = regional_results({"m": fit.model}, twins, validation, options)
    median = float(np.median(results["metrics"].sel(model="m", metric="nse")))
    assert median == pytest.approx(max(scores), abs=1e-4)


@pytest.mark.slow
def test_validation_skips_unobserved_basins_with_a_warning(twins):
    """A training basin with no flow in the validation period still trains; the warning
    names it and the best epoch is chosen on the others. With none observed: an error."""
    validation = ("1989-10-01", "1990-09-30")
    gap = twins.copy(deep=True)
    lost = str(gap["basin"].values[2])
    gap["qobs"].loc[{"basin": lost, "time": slice(*validation)}] = np.nan
    options = RegionalOptions(**{**QUICK.__dict__, "epochs": 2})
    period = ("1985-10-01", "1989-09-30")
    with pytest.warns(UserWarning, match=rf"{lost} have no observed discharge.*other 5 basins"):
        fit = train_regional(
            gap, "regional_hybrid", gap["basin"].values, period, options,
            validation=validation, progress=False,
        )  # fmt: skip
    assert all(np.isfinite(h["validation_nse"]) for h in fit.history)
    gap["qobs"].loc[{"time": slice(*validation)}] = np.nan
    with pytest.raises(DataError, match="no observed discharge in the validation period"):
        train_regional(gap, "regional_hybrid", gap["basin"].values, period, options,
                       validation=validation, progress=False)  # fmt: skip


@pytest.mark.slow
def test_regional_hybrid_trains_on_the_camels_text_layout(camels_root):
    """The same code runs on CAMELS text files (Daymet day length, all 27 attributes)."""
    from dgeo.data import load_camels_us

    ds = load_camels_us(camels_root, basins=["01022500", "01031500", "01047000"])
    options = RegionalOptions(epochs=1, batch_size=4, search=8)
    fit = train_regional(ds, "regional_hybrid", ds["basin"].values, PERIOD, options, progress=False)
    results = regional_results({"h": fit.model}, ds, ("1990-10-01", "1991-09-30"), options)
    assert np.isfinite(results["qsim"]).all()
    assert results["parameters"].sizes["basin"] == 3


@pytest.mark.parametrize(
    ("rates", "expected"),
    [({}, 0.002), ({"learning_rate": 0.01}, 0.01),
     ({"learning_rate": 0.01, "learning_rates": {"regional_lstm": 0.003}}, 0.003)],
)  # fmt: skip
def test_learning_rate_given_is_the_learning_rate_used(twins, rates, expected):
    """An explicit learning rate applies to every kind (per-kind rates take precedence); the
    LSTM's 0.002 is only the default."""
    options = RegionalOptions(**{**QUICK.__dict__, "epochs": 1, **rates})
    fit = train_regional(
        twins, "regional_lstm", twins["basin"].values, PERIOD, options, progress=False
    )
    assert fit.history[0]["learning_rate"] == pytest.approx(expected)


def test_basin_list_and_options_checked_before_training(twins):
    basins = list(twins["basin"].values)
    for bad, problem in (
        ([basins[0], "99999999"], "basin\\(s\\) 99999999 not found"),
        ([basins[0], basins[0]], f"basins listed more than once: {basins[0]}"),
        ([], "the basin list is empty"),
    ):
        with pytest.raises(DataError, match=problem):
            train_regional(twins, "regional_physical", bad, PERIOD, QUICK, progress=False)
    with pytest.raises(ValueError, match="spinup_days must be 0 or more and shorter than window"):
        dataclasses.replace(QUICK, spinup_days=730)
    with pytest.raises(ValueError, match="RegionalOptions.learning_rates must be positive"):
        dataclasses.replace(QUICK, learning_rates={"regional_lstm": float("nan")})


@pytest.mark.parametrize(
    "kind", ["regional_physical", "regional_hybrid", "pseudo_regional_hybrid", "regional_lstm"]
)
def test_every_regional_model_outputs_non_negative_discharge(kind):
    """With the discharge statistics' mean at -100 std every network asks for negative flow;
    the output stays >= 0 (and EXP-HYDRO's P-RNN is non-negative by construction)."""
    attribute_stats, forcing_stats, _ = _stats()
    q_stats = Standardiser(jnp.asarray([-200.0]), jnp.asarray([2.0]))
    model = build_regional(
        kind, jax.random.key(0), attribute_stats, forcing_stats, q_stats, hidden=8
    )
    attrs = jax.random.normal(jax.random.key(1), (3, 5)) * 3
    q = np.asarray(jax.vmap(lambda a: model(_forcing(), a)["q"])(attrs))
    assert np.all(np.isfinite(q)) and np.all(q >= 0), q.min()
    if kind != "regional_physical":
        assert q.max() < 1e-3


@pytest.mark.slow
def test_regional_run_interrupted_and_resumed_equals_uninterrupted(twins, tmp_path):
    """Checkpoints every epoch; a run stopped after epoch 2 and resumed ends exactly where an
    uninterrupted one ends: the same shuffles, dropout keys, schedule and best epoch."""
    options = dataclasses.replace(QUICK, epochs=4)
    run = dict(
        ds=twins, kind="regional_lstm", basins=twins["basin"].values,
        period=("1985-10-01", "1989-09-30"), options=options,
        validation=("1989-10-01", "1990-09-30"), progress=False,
    )  # fmt: skip
    straight = train_regional(**run)

    class Interrupt(Exception):
        pass

    def stop_after_two(entry):
        if entry["epoch"] == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        train_regional(**run, checkpoint_dir=tmp_path, callback=stop_after_two)
    resumed = train_regional(**run, checkpoint_dir=tmp_path, resume=True)
    drop = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h]  # noqa: E731
    assert drop(resumed.history) == drop(straight.history)
    for a, b in zip(
        jax.tree_util.tree_leaves(straight.model),
        jax.tree_util.tree_leaves(resumed.model),
        strict=True,
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # A checkpoint of other settings is refused, naming what changed.
    with pytest.raises(ValueError, match="cannot resume.*kind"):
        train_regional(**{**run, "kind": "regional_hybrid"}, checkpoint_dir=tmp_path, resume=True)


@pytest.mark.slow
def test_cross_validation_resumes_fold_by_fold(twins, tmp_path):
    """A PUB run keeps each finished fold; resumed, it trains only what is missing and gives
    the same predictions as an uninterrupted run."""
    run = dict(
        train_period=PERIOD, test_period=("1986-10-01", "1990-09-30"), folds=2, seed=1,
        options=dataclasses.replace(QUICK, epochs=2), progress=False,
    )  # fmt: skip
    straight, _ = cross_validate(twins, ["regional_physical"], **run)
    first, _ = cross_validate(twins, ["regional_physical"], **run, run_dir=tmp_path)
    assert sorted(p.name for p in (tmp_path / "folds").iterdir()) == [
        "regional_physical_fold0.nc",
        "regional_physical_fold1.nc",
    ]
    (tmp_path / "folds" / "regional_physical_fold1.nc").unlink()  # as if cut short in fold 2
    calls = []
    import dgeo.train._regional_runs as runs

    original = runs.train_regional
    try:
        runs.train_regional = lambda *a, **k: calls.append(k["label"]) or original(*a, **k)
        resumed, _ = cross_validate(
            twins, ["regional_physical"], **run, run_dir=tmp_path, resume=True
        )
    finally:
        runs.train_regional = original
    assert calls == ["regional_physical fold 2/2"]
    for result in (first, resumed):
        np.testing.assert_array_equal(result["qsim"].values, straight["qsim"].values)
        np.testing.assert_array_equal(result["fold"].values, straight["fold"].values)
