"""Neural blocks, basin models, windows and the NSE loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dgeo
from dgeo.evaluate import nse
from dgeo.models import FORCINGS, Physical, build
from dgeo.nn import LSTM, CausalConv1d, ConvHead, Standardiser
from dgeo.train import nse_loss, window_starts

KEY = jax.random.key(0)


def forcing_series(days=400, seed=0):
    rng = np.random.default_rng(seed)
    doy = np.arange(days) % 365
    season = np.cos(2 * np.pi * (doy - 200) / 365)
    return {
        "prcp": jnp.asarray(rng.gamma(0.5, 6.0, days)),
        "tmean": jnp.asarray(8 + 12 * season + rng.normal(0, 2, days)),
        "dayl": jnp.asarray(0.5 + 0.12 * season),
        "srad": jnp.asarray(200 + 100 * season),
        "vp": jnp.asarray(900 + 400 * season),
    }


def test_causal_conv_sees_only_the_kernel_past():
    conv = CausalConv1d(2, 3, 10, key=KEY)
    x = jax.random.normal(KEY, (50, 2))
    jac = jax.jacobian(lambda x: conv(x)[30])(x)  # (3, 50, 2): output day 30 vs inputs
    influence = np.abs(np.asarray(jac)).sum(axis=(0, 2))
    assert np.all(influence[31:] == 0)  # nothing from the future
    assert np.all(influence[21:31] > 0)  # the day itself and the 9 before
    assert np.all(influence[:21] == 0)  # nothing beyond the 10-day kernel


def test_conv_head_shape_and_standardiser():
    head = ConvHead(6, key=KEY)
    assert head(jnp.ones((40, 6))).shape == (40,)
    x = np.array([[1.0, 5.0], [3.0, 5.0], [np.nan, 5.0]])
    s = Standardiser.fit(x)
    np.testing.assert_allclose(s.mean, [2.0, 5.0])
    np.testing.assert_allclose(s.std, [1.0, 1.0])  # constant feature keeps std 1
    np.testing.assert_allclose(s.invert(s(jnp.asarray([[4.0, 7.0]]))), [[4.0, 7.0]], rtol=1e-6)
    # Statistics are fixed: no gradient flows into them.
    grads = jax.grad(lambda s: jnp.sum(s(jnp.ones((3, 2)))))(s)
    assert float(jnp.abs(grads.mean).sum() + jnp.abs(grads.std).sum()) == 0.0


def test_lstm_dropout_only_with_a_key():
    lstm = LSTM(5, hidden=8, dropout=0.5, key=KEY)
    x = jax.random.normal(KEY, (30, 5))
    assert lstm(x).shape == (30,)
    np.testing.assert_array_equal(lstm(x), lstm(x))
    assert not np.allclose(lstm(x, key=jax.random.key(1)), lstm(x, key=jax.random.key(2)))
    # Forget gate bias starts at 3 (Kratzert et al. 2019).
    np.testing.assert_array_equal(lstm.bias[8:16], 3.0)


def test_physical_parameters_stay_in_bounds():
    for raw in (-50.0, 0.0, 50.0):
        model = Physical(jnp.full(6, raw))
        for p in dgeo.ExpHydro.parameters:
            value = float(model.physical_parameters()[p.name])
            assert p.lower <= value <= p.upper, (p.name, value)


def test_physical_model_is_the_prnn():
    inputs = forcing_series()
    fraction = jnp.asarray([0.3, 0.5, 0.4, 0.5, 0.3, 0.6])
    model = Physical.init(fraction)
    out = model(inputs)
    direct = dgeo.integrate(dgeo.ExpHydro(), inputs, model.physical_parameters()).series
    np.testing.assert_allclose(out["q"], direct["q"], rtol=1e-6)
    assert set(dgeo.ExpHydro.states) <= set(out)


def test_hybrid_returns_internals_and_physical_discharge():
    inputs = forcing_series()
    stats = Standardiser.fit(np.stack([np.asarray(inputs[n]) for n in FORCINGS], -1))
    q_stats = Standardiser(jnp.asarray([1.0]), jnp.asarray([2.0]))
    hybrid = build("hybrid", KEY, stats, q_stats)
    out = hybrid(inputs)
    np.testing.assert_allclose(out["q_physical"], hybrid.physical(inputs)["q"], rtol=1e-6)
    assert out["q"].shape == (400,) and "melt" in out and "soil_storage" in out
    assert not np.allclose(out["q"], out["q_physical"])
    for kind in ("common", "lstm"):
        model = build(kind, KEY, stats, q_stats, hidden=8)
        assert model(inputs)["q"].shape == (400,)
        assert model.physical_parameters() == {}
    with pytest.raises(ValueError, match="unknown model 'gru'.*physical"):
        build("gru", KEY, stats, q_stats)


def test_windows_cover_the_period():
    starts = window_starts(2500, 2190, 365)
    assert list(starts) == [0, 310]  # the last window is aligned to the end
    assert list(window_starts(2190 + 730, 2190, 365)) == [0, 365, 730]
    with pytest.raises(ValueError, match="fewer than one window"):
        window_starts(100, 2190, 365)


def test_nse_loss_is_one_minus_nse_after_spinup_with_gaps():
    rng = np.random.default_rng(1)
    qobs = rng.gamma(2.0, 1.0, (3, 1, 200))
    qsim = qobs + rng.normal(0, 0.5, qobs.shape)
    qobs[0, 0, 150:160] = np.nan
    loss = float(nse_loss(jnp.asarray(qsim), jnp.asarray(qobs), 50))
    expected = np.mean(1 - nse(qobs[:, 0, 50:], qsim[:, 0, 50:]))
    np.testing.assert_allclose(loss, expected, rtol=1e-6)


@pytest.mark.parametrize("kind", ["physical", "common", "hybrid", "lstm"])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_every_basin_model_outputs_non_negative_discharge(kind, dtype):
    """A head pushed far below zero (the target's mean at -100 std) still gives q >= 0, and
    a head far above zero gives its own output unchanged: the floor acts only near zero."""
    inputs = {k: v.astype(dtype) for k, v in forcing_series().items()}
    stats = Standardiser.fit(np.stack([np.asarray(inputs[n]) for n in FORCINGS], -1))
    for mean, low in ((-200.0, True), (200.0, False)):
        q_stats = Standardiser(jnp.asarray([mean]), jnp.asarray([2.0]))
        model = build(kind, KEY, stats, q_stats, hidden=8)
        q = np.asarray(model(inputs)["q"])
        assert np.all(np.isfinite(q)) and np.all(q >= 0), (kind, q.min())
        if kind == "physical":
            continue  # EXP-HYDRO's fluxes are non-negative by construction
        if low:
            assert q.max() < 1e-3  # the head asks for about -200 mm/day: floored to ~0
        else:
            z = np.asarray(_head_output(model, inputs))
            np.testing.assert_allclose(q, z * 2.0 + mean, rtol=1e-5)


def _head_output(model, inputs):
    """The standardised output of a model's network, before the discharge transform."""
    import dgeo.models._models as models

    seen = {}

    def spy(z, target):
        seen["z"] = z
        return z

    original, models.discharge = models.discharge, spy
    try:
        model(inputs)
    finally:
        models.discharge = original
    return seen["z"]


def test_discharge_floor_passes_the_gradient_straight_through():
    """The floor's value is the softplus of width w (w log 2 at y = 0, ~0 far below zero,
    y far above it); its gradient is that of y everywhere (straight through), so a network
    that undershoots on a day with flow is pulled up however far below zero it went."""
    from dgeo.models import ZERO_FLOOR_WIDTH, discharge

    target = Standardiser(jnp.asarray([1.0]), jnp.asarray([2.0]))
    width = ZERO_FLOOR_WIDTH * 2.0
    z = jnp.asarray([-0.5, -3.0, -50.0, 5.0])  # y = 0, -5, -99, 11 mm/day
    y = np.asarray(z) * 2.0 + 1.0
    expected = width * np.logaddexp(0.0, y / width)
    np.testing.assert_allclose(discharge(z, target), expected, rtol=1e-6, atol=1e-12)
    assert float(discharge(z, target)[0]) == pytest.approx(width * np.log(2.0))
    grad = jax.grad(lambda z: jnp.sum(discharge(z, target)))(z)
    np.testing.assert_allclose(grad, [2.0, 2.0, 2.0, 2.0], rtol=1e-6)  # dy/dz = std
