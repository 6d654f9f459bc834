"""HBV in ODE form under implicit solvers, with gradients through each implicit step by the
implicit function theorem (float64).

`dgeo.ImplicitEuler` is the fixed-step scheme of δHBV.adj: Newton forward, one transposed
linear solve per step backward. Checked here: its gradients against the closed form of a
linear reservoir and against the implicit function theorem where Newton stopped early (so
that the gradient through the iterations differs); HbvOde's gradients under every solver x
sensitivity against central finite differences; its trajectory against diffrax's implicit
Euler and against an accurate solution of the same ODE; the water balance.
"""

from __future__ import annotations

from typing import ClassVar

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import pytest

import dgeo
from conftest import unchecked_types
from dgeo.physics import HbvOde, Parameter, PhysicalModel
from test_hbv import with_pet


class Reservoir(PhysicalModel):
    """dS/dt = P - k S^power: linear (power 1), where implicit Euler has a closed form, or
    quadratic, where Newton needs several iterations."""

    power: int = 1

    parameters: ClassVar = (Parameter("k", 0.01, 1.0, "1/day"),)
    states: ClassVar = ("storage",)
    fluxes: ClassVar = ("rain", "q")
    forcings: ClassVar = {"prcp": "mm/day"}
    inflows: ClassVar = ("rain",)
    outflows: ClassVar = ("q",)

    def rates(self, state, forcing, params):
        q = params["k"] * state["storage"] ** self.power
        return {"storage": forcing["prcp"] - q}, {"rain": forcing["prcp"], "q": q}


def discharge_loss(trajectory):
    """Per basin: the mean discharge over the run."""
    return jnp.mean(trajectory.series["q"], axis=0)


@pytest.fixture(scope="module")
def camels(camels_root):
    return with_pet(camels_root)


@pytest.fixture(scope="module")
def winter(camels):
    """Two basins (snowy and not), November to April: snow, melt, thresholds crossed."""
    return camels.isel(basin=[0, 3]).sel(time=slice("1990-11-01", "1991-04-30"))


#: Parameters inside the bounds, TT off the 0.005 degC grid of tmean (no day on the threshold).
PARAMS = {p.name: p.lower + 0.37 * (p.upper - p.lower) for p in HbvOde.parameters}
PARAMS["TT"] = 0.3217
#: Forward() does not apply to HbvOde: its parameters have a component axis (`nmul`), and
#: forward mode takes one tangent per parameter name for one value per basin; the cases below
#: are reverse mode only.


# --- the per-step adjoint on cases with a closed form ---


@pytest.mark.parametrize("substeps", [1, 3])
@pytest.mark.parametrize(
    "sensitivity",
    [dgeo.Backprop(), dgeo.Checkpoint(5), dgeo.Adjoint(7), dgeo.Forward()],
    ids=["backprop", "checkpoint", "adjoint", "forward"],
)
def test_linear_reservoir_matches_the_closed_form(sensitivity, substeps):
    """S[n+1] = (S[n] + h P) / (1 + h k), and its derivative in k by the recursion
    dS[n+1] = (dS[n] - h S[n+1]) / (1 + h k): trajectory and gradient to rounding, with
    every sensitivity method and with sub-steps."""
    rng = np.random.default_rng(1)
    days, k = 40, np.array([0.3, 0.05])
    prcp = rng.exponential(4.0, (days, 2)) * (rng.uniform(size=(days, 2)) < 0.5)
    h = 1.0 / substeps
    storage, d_storage = np.array([5.0, 50.0]), np.zeros(2)
    q, d_q = np.zeros((days, 2)), np.zeros((days, 2))
    for day in range(days):
        for _ in range(substeps):
            storage = (storage + h * prcp[day]) / (1 + h * k)
            d_storage = (d_storage - h * storage) / (1 + h * k)
            q[day] += h * k * storage  # the day's discharge: the mean over its steps
            d_q[day] += h * (storage + k * d_storage)

    solver = dgeo.ImplicitEuler(substeps=substeps)
    forcing = {"prcp": jnp.asarray(prcp)}
    start = {"storage": jnp.array([5.0, 50.0])}

    def loss(k):
        trajectory = dgeo.integrate(
            Reservoir(), forcing, {"k": k}, solver=solver, sensitivity=sensitivity,
            initial_state=start,
        )  # fmt: skip
        return jnp.sum(discharge_loss(trajectory)), trajectory

    (_, trajectory), grad = jax.value_and_grad(loss, has_aux=True)(jnp.asarray(k))
    assert float(trajectory.failed_days) == 0
    np.testing.assert_allclose(trajectory.series["q"], q, rtol=1e-13)
    np.testing.assert_allclose(grad, d_q.mean(axis=0), rtol=1e-12)


def test_gradient_is_the_implicit_function_theorem_not_newton():
    """One implicit step of dS/dt = P - k S^2, Newton stopped after one iteration (the day
    is reported failed): the default gradient is the implicit function theorem's at the
    point Newton returned, -(∂F/∂S)^-1 ∂F/∂k, F(S) = S - S0 - h (P - k S^2);
    `differentiate_newton=True` gives the derivative of the Newton iterate instead. The
    iterate, 10.5 mm, is 0.06 % from the root; the two derivatives differ by 2 %. Both to
    rounding."""
    s0, p, k = 10.0, 6.0, 0.05

    def newton_iterate(k):  # explicit Euler guess, one Newton iteration: as dgeo's
        residual = lambda s: s - s0 - (p - k * s**2)
        guess = s0 + (p - k * s0**2)
        return guess - residual(guess) / (1 + 2 * k * guess)

    root = float(newton_iterate(k))
    by_theorem = root**2 + 2 * k * root * (-(root**2) / (1 + 2 * k * root))  # dq/dk, q = k S^2
    through_newton = float(jax.grad(lambda k: k * newton_iterate(k) ** 2)(k))
    assert abs(by_theorem - through_newton) > 0.01 * abs(by_theorem)

    forcing = {"prcp": jnp.array([[p]])}
    start = {"storage": jnp.array([s0])}
    for differentiate_newton, expected in ((False, by_theorem), (True, through_newton)):
        solver = dgeo.ImplicitEuler(max_newton_steps=1, differentiate_newton=differentiate_newton)

        def loss(k, solver=solver):
            trajectory = dgeo.integrate(
                Reservoir(power=2), forcing, {"k": k}, solver=solver, initial_state=start
            )
            return jnp.sum(trajectory.series["q"]), trajectory

        (q, trajectory), grad = jax.value_and_grad(loss, has_aux=True)(jnp.array([k]))
        assert float(trajectory.failed_days) == 1  # Newton had not converged
        np.testing.assert_allclose(q, k * root**2, rtol=1e-14)
        np.testing.assert_allclose(grad, [expected], rtol=1e-12)


# --- HbvOde: gradients against finite differences ---


def _check(winter, solver, sensitivity, model=None):
    check = dgeo.check_gradients(
        model or HbvOde(), winter, PARAMS, solver=solver, sensitivity=sensitivity,
        loss=discharge_loss,
    )  # fmt: skip
    assert check.worst_relative_error < 1e-4, str(check)
    assert (check.table["ad"].abs() > 0).sum() >= 20  # most parameters move the discharge
    return check


@pytest.mark.parametrize(
    "sensitivity",
    [
        pytest.param(dgeo.Backprop(), marks=pytest.mark.slow),
        pytest.param(dgeo.Checkpoint(12), marks=pytest.mark.slow),
        pytest.param(dgeo.Adjoint(12), marks=pytest.mark.slow),
    ],
    ids=["backprop", "checkpoint", "adjoint"],
)
def test_implicit_euler_gradients_match_finite_differences(winter, sensitivity):
    """Measured: 2.2e-8 with each method (the linear reservoir's closed form checks them
    all quickly)."""
    _check(winter, dgeo.ImplicitEuler(), sensitivity)


@pytest.mark.slow
def test_gradients_through_newton_match_finite_differences(winter):
    _check(winter, dgeo.ImplicitEuler(differentiate_newton=True), dgeo.Backprop())


@pytest.mark.slow
def test_implicit_euler_gradients_with_components_and_dynamic_parameters(winter):
    params = {**PARAMS, "BETA": np.full((2, winter.sizes["time"]), PARAMS["BETA"])}
    check = dgeo.check_gradients(
        HbvOde(nmul=3, dynamic=("BETA",)), winter, params, solver=dgeo.ImplicitEuler(substeps=2),
        sensitivity=dgeo.Adjoint(), loss=discharge_loss,
    )  # fmt: skip
    assert check.worst_relative_error < 1e-4, str(check)


#: diffrax's implicit Euler, fixed steps (a smooth function of the parameters, so finite
#: differences are a sharp reference); its root finds are differentiated by optimistix's
#: ImplicitAdjoint, the implicit function theorem again.
DIFFRAX_IMPLICIT_EULER = dgeo.Continuous(
    diffrax.ImplicitEuler(), rtol=1e-10, atol=1e-10, substeps=1
)
OTHER_SOLVERS = {
    "explicit-euler": dgeo.Discrete(),
    "diffrax-implicit-euler": DIFFRAX_IMPLICIT_EULER,
}


#: Reverse mode with the discrete step and diffrax's implicit Euler, and `Checkpoint` with
#: the discrete step. For diffrax's solvers `Checkpoint` is the same diffrax adjoint as
#: `Backprop` with fewer checkpoints; Tsit5 and Kvaerno5 run the same dgeo and diffrax code
#: for HBV as for EXP-HYDRO, where test_gradients.py checks them (Kvaerno5's root finds are
#: differentiated as diffrax's implicit Euler's are here); each of those cases took 17-50 s of
#: suite time for no new code. HBV under Tsit5: `test_continuous_adjoint_with_tsit5_...`.
OTHER_CASES = [(name, dgeo.Backprop()) for name in OTHER_SOLVERS]
OTHER_CASES.append(("explicit-euler", dgeo.Checkpoint(12)))


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, sensitivity",
    OTHER_CASES,
    ids=[f"{name}-{type(s).__name__.lower()}" for name, s in OTHER_CASES],
)
def test_every_other_solver_gradients_match_finite_differences(winter, name, sensitivity):
    solver = OTHER_SOLVERS[name]
    _check(winter, solver, sensitivity)


@pytest.mark.slow
def test_continuous_adjoint_with_tsit5_is_approximate(winter):
    """The continuous adjoint (optimise-then-discretise) of the adaptive Tsit5 solve is the
    one method that is not exact here: HBV's thresholds (min, max) make the adjoint ODE's
    right-hand side jump within a day, as EXP-HYDRO's melt kink does. At rtol 1e-10 the
    worst parameter (LP, CFR, CWH) is 1.0e-2 off; most are far closer. Prefer
    `ImplicitEuler()` or `Checkpoint()` for HBV."""
    solver = dgeo.Continuous(diffrax.Tsit5(), rtol=1e-10, atol=1e-10, max_steps_per_day=256)
    check = dgeo.check_gradients(
        HbvOde(), winter, PARAMS, solver=solver, sensitivity=dgeo.Adjoint(), loss=discharge_loss
    )
    assert check.worst_relative_error < 3e-2, str(check)
    assert float(check.table["relative_error"].median()) < 1e-3, str(check)


def test_adjoint_refused_for_diffrax_implicit_solvers(winter):
    with pytest.raises(ValueError, match="ImplicitEuler is not supported.*dgeo.ImplicitEuler"):
        dgeo.check_gradients(
            HbvOde(), winter, PARAMS, solver=DIFFRAX_IMPLICIT_EULER,
            sensitivity=dgeo.Adjoint(),
        )  # fmt: skip


# --- HbvOde: trajectory and water balance ---


@pytest.mark.slow
def test_same_scheme_as_diffrax_implicit_euler(camels):
    """dgeo's implicit Euler and diffrax's (one step a day, Newton to 1e-12) are one scheme,
    implemented twice: the same discharge and states to the Newton tolerance."""
    ds = camels.isel(basin=[0, 3])
    reference = dgeo.Continuous(
        diffrax.ImplicitEuler(root_finder=optx.Newton(rtol=1e-12, atol=1e-12)), substeps=1
    )
    theirs = dgeo.simulate(HbvOde(), ds, PARAMS, solver=reference, dtype=np.float64)
    ours = dgeo.simulate(
        HbvOde(), ds, PARAMS, solver=dgeo.ImplicitEuler(rtol=1e-12, atol=1e-12), dtype=np.float64
    )
    assert ours.attrs["failed_days"] == theirs.attrs["failed_days"] == 0
    for name in ("q", *HbvOde.states):
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-8, atol=1e-8, err_msg=name)


@pytest.mark.slow
def test_first_order_convergence_to_the_accurate_solution(camels):
    """Against Tsit5 at 1e-10 (the same ODE solved accurately): the discharge's error shrinks
    with the step as a first-order scheme's should."""
    ds = camels.isel(basin=[0, 3])
    accurate = dgeo.Continuous(rtol=1e-10, atol=1e-10, max_steps_per_day=1000)
    fine = dgeo.simulate(HbvOde(), ds, PARAMS, solver=accurate, dtype=np.float64)
    errors = {}
    for substeps in (1, 4, 16):
        run = dgeo.simulate(
            HbvOde(), ds, PARAMS, solver=dgeo.ImplicitEuler(substeps=substeps), dtype=np.float64
        )
        assert run.attrs["failed_days"] == 0
        errors[substeps] = float(np.abs(run["q"] - fine["q"]).mean() / fine["q"].mean())
    assert errors[1] < 0.05, errors
    assert errors[4] < errors[1] / 3 and errors[16] < errors[4] / 3, errors


@pytest.mark.parametrize("substeps", [1, 3])
def test_water_balance_closes(camels, substeps):
    """Components, a dynamic parameter and routing; fluxes at each step's root make its
    state update, so the balance closes to rounding."""
    ds = camels.isel(basin=[0, 3])
    params = {p.name: 0.5 * (p.lower + p.upper) for p in HbvOde.parameters}
    params["BETAET"] = np.linspace(0.5, 2.0, ds.sizes["time"])[None, :].repeat(2, axis=0)
    model = HbvOde(nmul=2, dynamic=("BETAET",))
    solver = dgeo.ImplicitEuler(substeps=substeps)
    result = dgeo.simulate(model, ds, params, solver=solver, dtype=np.float64)
    assert result.attrs["failed_days"] == 0
    assert float(np.abs(dgeo.mass_balance(model, result)).max()) < 1e-9
    assert float(result["q"].min()) >= 0.0 and float(result["snowpack"].max()) > 10.0


def test_diffrax_implicit_euler_gets_newton():
    """diffrax's default root finder for implicit Euler (a chord iteration) is replaced by
    Newton with the same tolerances; a root finder the user chose is kept."""
    solver, *_ = dgeo.Continuous(diffrax.ImplicitEuler(), substeps=1).configure(np.float64)
    assert type(solver.root_finder) is optx.Newton
    assert (solver.root_finder.rtol, solver.root_finder.atol) == (1e-5, 1e-5)
    chord = optx.Chord(rtol=1e-5, atol=1e-5)
    user = dgeo.Continuous(diffrax.ImplicitEuler(root_finder=chord), substeps=1)
    solver, *_ = user.configure(np.float64)
    assert solver.root_finder is chord


# --- bad input ---


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"substeps": 0}, ValueError, "ImplicitEuler.substeps must be at least 1"),
        ({"max_newton_steps": 0}, ValueError, "max_newton_steps must be at least 1"),
        ({"rtol": -1.0}, ValueError, "ImplicitEuler.rtol must be 0 or more"),
        ({"rtol": "1e-8"}, TypeError, "ImplicitEuler.rtol must be a number"),
        ({"substeps": 1.5}, TypeError, "ImplicitEuler.substeps must be an integer"),
        ({"differentiate_newton": 1}, TypeError, "differentiate_newton must be True or False"),
    ],
)
def test_bad_settings_are_named(kwargs, error, match):
    with unchecked_types(), pytest.raises(error, match=match):
        dgeo.ImplicitEuler(**kwargs)


def test_states_of_different_shapes_are_refused():
    class Mixed(Reservoir):
        states: ClassVar = ("storage", "snow")

        def shape_of(self, name, basins):
            return (*basins, 2) if name == "snow" else basins

        def rates(self, state, forcing, params):
            tendency, fluxes = super().rates(state, forcing, params)
            return {**tendency, "snow": jnp.zeros_like(state["snow"])}, fluxes

    forcing = {"prcp": jnp.ones((3, 2))}
    with pytest.raises(ValueError, match=r"needs them in one shape.*'snow': \(2, 2\)"):
        dgeo.integrate(Mixed(), forcing, {"k": jnp.ones(2)}, solver=dgeo.ImplicitEuler())
