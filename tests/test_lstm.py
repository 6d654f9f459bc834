"""The LSTM: the same numbers as a plain reference and as torch.nn.LSTM, gradients by finite
differences, dropout."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dgeo.nn import LSTM, lstm_hidden


def reference_hidden(weight_ih, weight_hh, bias, x):
    """The textbook LSTM, one day at a time in NumPy (gates i, f, g, o)."""
    sigmoid = lambda z: 1.0 / (1.0 + np.exp(-z))
    weight_ih, weight_hh, bias, x = (
        np.asarray(a, np.float64) for a in (weight_ih, weight_hh, bias, x)
    )
    hidden = weight_hh.shape[1]
    h, c, out = np.zeros(hidden), np.zeros(hidden), []
    for x_t in x:
        i, f, g, o = np.split(weight_ih @ x_t + weight_hh @ h + bias, 4)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        out.append(h)
    return np.array(out)


def weights(key, features=5, hidden=8):
    k1, k2, k3 = jax.random.split(key, 3)
    return (
        jax.random.uniform(k1, (4 * hidden, features), minval=-0.5, maxval=0.5),
        jax.random.uniform(k2, (4 * hidden, hidden), minval=-0.5, maxval=0.5),
        jax.random.normal(k3, (4 * hidden,)),
    )


def test_hidden_states_match_a_plain_reference_in_float64():
    w_ih, w_hh, b = weights(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (60, 5))
    got = np.asarray(lstm_hidden(w_ih, w_hh, b, x))
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, reference_hidden(w_ih, w_hh, b, x), rtol=0, atol=1e-12)


def test_lstm_matches_torch_with_the_same_weights_in_float64():
    torch = pytest.importorskip(
        "torch", reason="torch is the peer of this comparison: pip install -e '.[peers]'"
    )
    torch.manual_seed(0)
    features, hidden, days, batch = 5, 16, 200, 3
    peer = torch.nn.LSTM(features, hidden, batch_first=True).double()
    head = torch.nn.Linear(hidden, 1).double()
    x = np.random.default_rng(0).normal(size=(batch, days, features))
    expected = head(peer(torch.from_numpy(x))[0])[..., 0].detach().numpy()

    model = LSTM(features, hidden=hidden, dropout=0.4, key=jax.random.key(0))
    as_jax = lambda t: jnp.asarray(t.detach().numpy())
    model = eqx.tree_at(
        lambda m: (m.weight_ih, m.weight_hh, m.bias, m.head.weight, m.head.bias),
        model,
        (
            as_jax(peer.weight_ih_l0),
            as_jax(peer.weight_hh_l0),
            as_jax(peer.bias_ih_l0 + peer.bias_hh_l0),
            as_jax(head.weight),
            as_jax(head.bias),
        ),
    )
    got = jax.vmap(model)(jnp.asarray(x))  # no key: dropout off, as torch in eval
    np.testing.assert_allclose(np.asarray(got), expected, rtol=0, atol=1e-5)
    assert np.max(np.abs(np.asarray(got) - expected)) < 1e-12  # float64 on both sides


def test_lstm_gradient_matches_central_differences():
    w_ih, w_hh, b = weights(jax.random.key(2), features=3, hidden=4)
    x = jax.random.normal(jax.random.key(3), (30, 3))
    target = jax.random.normal(jax.random.key(4), (30, 4))
    loss = lambda w_hh: jnp.sum((lstm_hidden(w_ih, w_hh, b, x) - target) ** 2)
    grad = np.asarray(jax.grad(loss)(w_hh))
    eps = 1e-6
    for index in [(0, 0), (5, 1), (9, 3), (15, 2)]:
        step = jnp.zeros_like(w_hh).at[index].set(eps)
        fd = (loss(w_hh + step) - loss(w_hh - step)) / (2 * eps)
        assert abs(grad[index] - float(fd)) < 1e-7 * max(1.0, abs(float(fd)))


def test_dropout_only_with_a_key_and_rescaled():
    model = LSTM(5, hidden=32, dropout=0.5, key=jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (40, 5))
    assert np.array_equal(model(x), model(x))
    a, b = model(x, key=jax.random.key(2)), model(x, key=jax.random.key(3))
    assert not np.allclose(a, b)
    keys = jax.random.split(jax.random.key(4), 200)
    mean_out = jnp.mean(jax.vmap(lambda k: model(x, key=k))(keys), axis=0)
    np.testing.assert_allclose(mean_out, model(x), atol=0.05)  # inverted dropout: same mean


def test_static_features_given_once_equal_features_repeated_every_day():
    model = LSTM(5 + 3, hidden=16, dropout=0.4, key=jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (50, 5))
    a = jax.random.normal(jax.random.key(2), (3,))
    repeated = jnp.concatenate([x, jnp.broadcast_to(a, (50, 3))], axis=-1)
    np.testing.assert_allclose(model(x, static=a), model(repeated), rtol=0, atol=1e-12)
    key = jax.random.key(3)  # the same dropout mask either way
    np.testing.assert_allclose(model(x, static=a, key=key), model(repeated, key=key), atol=1e-12)
