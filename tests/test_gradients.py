"""Every solver x sensitivity against central finite differences (float64), and a trained UDE."""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import optimistix as optx
import pytest

import dgeo
from conftest import PARAMS
from dgeo.data import to_time_major
from dgeo.physics import FluxNetwork, Replace

MODEL = dgeo.ExpHydro()
KVAERNO5 = diffrax.Kvaerno5(root_finder=optx.Newton(rtol=1e-12, atol=1e-12))
EXACT = [dgeo.Backprop(), dgeo.Checkpoint(), dgeo.Forward()]
# Fixed sub-steps make the numerical solution a smooth function of the parameters, so finite
# differences are a sharp reference for the gradient of that solution.
FIXED = [
    dgeo.Continuous(diffrax.Tsit5(), substeps=8),
    dgeo.Continuous(diffrax.Dopri5(), substeps=8),
    dgeo.Continuous(KVAERNO5, substeps=4),
]


def ids(values):
    return [
        type(v).__name__ + ("" if not hasattr(v, "solver") else f"-{type(v.solver).__name__}")
        for v in values
    ]


@pytest.mark.parametrize("sensitivity", EXACT, ids=ids(EXACT))
def test_discrete_gradients_match_finite_differences(short_forcing, sensitivity):
    check = dgeo.check_gradients(MODEL, short_forcing, PARAMS, sensitivity=sensitivity)
    assert check.worst_relative_error < 1e-4, str(check)
    assert (check.table["ad"].abs() > 0).all()


@pytest.mark.parametrize("solver", FIXED, ids=ids(FIXED))
@pytest.mark.parametrize("sensitivity", EXACT, ids=ids(EXACT))
def test_continuous_gradients_match_finite_differences(short_forcing, solver, sensitivity):
    check = dgeo.check_gradients(
        MODEL, short_forcing, PARAMS, solver=solver, sensitivity=sensitivity, step=1e-5
    )
    assert check.worst_relative_error < 1e-4, str(check)


@pytest.mark.parametrize("solver", [dgeo.Continuous(diffrax.Tsit5(), rtol=1e-10, atol=1e-10),
                                    dgeo.Continuous(diffrax.Dopri5(), rtol=1e-10, atol=1e-10)],
                         ids=["Tsit5", "Dopri5"])  # fmt: skip
def test_continuous_adjoint_matches(short_forcing, solver):
    """The continuous adjoint (optimise-then-discretise) matches finite differences and exact
    reverse mode through the same adaptive solve to 1e-4 at a tight solver tolerance."""
    adjoint = dgeo.check_gradients(
        MODEL, short_forcing, PARAMS, solver=solver, sensitivity=dgeo.Adjoint(), step=1e-5
    )
    exact = dgeo.check_gradients(
        MODEL, short_forcing, PARAMS, solver=solver, sensitivity=dgeo.Checkpoint(), step=1e-5
    )
    assert adjoint.worst_relative_error < 1e-4, str(adjoint)
    agreement = np.abs(adjoint.table["ad"] - exact.table["ad"]) / np.abs(exact.table["ad"])
    assert agreement.max() < 1e-4, agreement


def test_adjoint_out_of_steps_gives_nan_not_a_wrong_gradient(short_forcing):
    """A backward adjoint solve that runs out of steps must not pass for a gradient."""
    solver = dgeo.Continuous(diffrax.Tsit5(), rtol=1e-12, atol=1e-12, max_steps_per_day=3)
    check = dgeo.check_gradients(
        MODEL, short_forcing, PARAMS, solver=solver, sensitivity=dgeo.Adjoint(), step=1e-5
    )
    assert check.table["ad"].isna().any()


def test_methods_agree_with_each_other(short_forcing):
    grads = [
        dgeo.check_gradients(MODEL, short_forcing, PARAMS, sensitivity=s).table["ad"].to_numpy()
        for s in EXACT
    ]
    for g in grads[1:]:
        np.testing.assert_allclose(g, grads[0], rtol=1e-10)


def test_discrete_adjoint_refused_with_reason(short_forcing):
    with pytest.raises(ValueError, match="Adjoint\\(\\) needs a continuous solver.*Checkpoint"):
        dgeo.check_gradients(MODEL, short_forcing, PARAMS, sensitivity=dgeo.Adjoint())
    with pytest.raises(ValueError, match="implicit solver Kvaerno5 is not supported"):
        dgeo.check_gradients(
            MODEL,
            short_forcing,
            PARAMS,
            solver=dgeo.Continuous(KVAERNO5),
            sensitivity=dgeo.Adjoint(),
        )


# --- universal differential equation ------------------------------------------------------


@pytest.mark.parametrize(
    "solver, sensitivity",
    [(dgeo.Discrete(), dgeo.Backprop()), (dgeo.Discrete(), dgeo.Checkpoint()),
     (dgeo.Discrete(), dgeo.Forward()), (dgeo.Continuous(substeps=2), dgeo.Adjoint())],
    ids=["backprop", "checkpoint", "forward", "adjoint"],
)  # fmt: skip
def test_ude_learns_evapotranspiration(short_forcing, solver, sensitivity):
    """Replace ET by an MLP of (S1, PET) and fit it end to end to discharge of true EXP-HYDRO."""
    forcing = {
        k: jnp.asarray(v)
        for k, v in to_time_major(short_forcing, MODEL.forcings, dtype=np.float64).items()
    }
    params = {k: jnp.full(2, v) for k, v in PARAMS.items()}
    state0 = {"snow_storage": jnp.zeros(2), "soil_storage": jnp.full(2, 600.0)}
    target = dgeo.integrate(MODEL, forcing, params, solver=solver, initial_state=state0).series["q"]
    network = FluxNetwork(
        ("soil_storage", "pet"),
        (800.0, 2.0),
        key=jax.random.key(0),
        width=8,
        depth=1,
        out_scale=2.0,
    )
    ude = dgeo.ExpHydro(overrides={"evapotranspiration": Replace(network)})

    def loss(model):
        traj = dgeo.integrate(model, forcing, params, solver=solver, sensitivity=sensitivity,
                              initial_state=state0, save=("q",))  # fmt: skip
        return jnp.mean((traj.series["q"] - target) ** 2)

    optimiser = optax.adam(0.02)
    state = optimiser.init(eqx.filter(ude, eqx.is_inexact_array))

    @eqx.filter_jit
    def step(model, state):
        value, grads = eqx.filter_value_and_grad(loss)(model)
        updates, state = optimiser.update(grads, state)
        return eqx.apply_updates(model, updates), state, value

    first = None
    for _ in range(30):
        ude, state, value = step(ude, state)
        first = value if first is None else first
    assert float(loss(ude)) < 0.5 * float(first)
