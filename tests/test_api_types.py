"""Wrong types at the public boundary: a clear error naming the argument, what was given and
what to pass, raised before anything is traced or trained; never an AttributeError from deep
inside JAX, and never silently accepted (smax="800" used to be parsed by NumPy).

Every case runs with the computations patched out (`no_computation`): a check that did not
fire reaches the patch and fails the test with `Reached` instead of the expected error.
"""

from __future__ import annotations

import re

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

import dgeo
from dgeo.data import DataError, synthetic
from dgeo.models import REGIONAL_FORCINGS, build_regional
from dgeo.nn import Standardiser
from dgeo.train import (
    FitOptions,
    ModelOptions,
    Periods,
    RegionalOptions,
    cross_validate,
    regional_results,
    regional_series,
    run_models,
    simulate_regional,
    train_models,
    train_regional,
)

MODEL = dgeo.ExpHydro()
PARAMS = {"f": 0.02, "smax": 800.0, "qmax": 20.0, "df": 2.0, "tmax": 1.0, "tmin": -1.0}
PERIOD = ("1980-10-01", "1980-12-31")


class Reached(Exception):
    """A computation was reached: the check under test did not fire first."""


def _reached(*args, **kwargs):
    raise Reached("the computation was reached before the argument was checked")


@pytest.fixture(scope="module")
def ds():
    return synthetic(n_basins=2, start="1980-10-01", end="1980-12-31", seed=1)


@pytest.fixture(scope="module")
def regional_model():
    stats = (
        Standardiser(jnp.zeros(3), jnp.ones(3)),
        Standardiser(jnp.zeros(len(REGIONAL_FORCINGS)), jnp.ones(len(REGIONAL_FORCINGS))),
        Standardiser(jnp.zeros(1), jnp.ones(1)),
    )
    return build_regional("regional_lstm", jax.random.key(0), *stats, hidden=4)


@pytest.fixture
def no_computation(monkeypatch):
    """Every place where work starts (jit, the time loop, data slicing, training) raises."""
    for target in (
        "dgeo.solve._simulate.integrate_jit",
        "dgeo.solve._simulate.to_time_major",
        "dgeo.solve._integrate._scan_days",
        "dgeo.solve._checks.integrate",
        "dgeo.train._workflow.basin_series",
        "dgeo.train._workflow.simulate_models",
        "dgeo.train._workflow.fit",
        "dgeo.train._regional.basin_series",
        "dgeo.train._regional.select_basins",
        "dgeo.train._regional.train_loop",
    ):
        monkeypatch.setattr(target, _reached)


def _arrays(ds):
    """Time-major arrays for the array-level `integrate`."""
    return {k: jnp.asarray(ds[k].values.T) for k in ("prcp", "tmean")} | {
        "dayl": jnp.asarray(ds["dayl"].values.T / 86400.0)
    }


def _basin_params(n=2):
    return {k: jnp.full(n, v) for k, v in PARAMS.items()}


# Each case: (id, call(ds, regional_model), exception type, fragments the message must hold:
# the argument, what was given, what to pass).
CASES = [
    # --- solver and sensitivity objects ------------------------------------------------------
    ("simulate solver string", lambda d, r: dgeo.simulate(MODEL, d, PARAMS, solver="tsit5"),
     TypeError, ["solver must be a dgeo solver object such as dgeo.Discrete() or "
                 "dgeo.Continuous(diffrax.Tsit5()), got the string 'tsit5'",
                 "for 'tsit5' pass dgeo.Continuous(diffrax.Tsit5())"]),
    ("simulate bare diffrax solver",
     lambda d, r: dgeo.simulate(MODEL, d, PARAMS, solver=diffrax.Tsit5()),
     TypeError, ["solver must be a dgeo solver object", "got an object of type diffrax.Tsit5",
                 "wrap a diffrax solver as dgeo.Continuous(diffrax.Tsit5())"]),
    ("simulate sensitivity string",
     lambda d, r: dgeo.simulate(MODEL, d, PARAMS, sensitivity="adjoint"),
     TypeError, ["sensitivity must be a dgeo sensitivity object such as dgeo.Backprop()",
                 "got the string 'adjoint'", "pass dgeo.Adjoint()"]),
    ("simulate sensitivity class",
     lambda d, r: dgeo.simulate(MODEL, d, PARAMS, sensitivity=dgeo.Checkpoint),
     TypeError, ["sensitivity must be a dgeo sensitivity object", "got the class dgeo.Checkpoint",
                 "pass an instance, not the class: Checkpoint()"]),
    ("simulate model string", lambda d, r: dgeo.simulate("exphydro", d, PARAMS),
     TypeError, ["model must be a physical model such as dgeo.ExpHydro()",
                 "got the string 'exphydro'"]),
    ("simulate model class", lambda d, r: dgeo.simulate(dgeo.ExpHydro, d, PARAMS),
     TypeError, ["model must be a physical model", "got the class dgeo.ExpHydro", "ExpHydro()"]),
    # --- forcing, params, initial state, dtype --------------------------------------------
    ("simulate forcing dict", lambda d, r: dgeo.simulate(MODEL, {"prcp": [1.0]}, PARAMS),
     TypeError, ["forcing must be an xarray.Dataset with dims (basin, time)", "got the dict"]),
    ("simulate forcing path", lambda d, r: dgeo.simulate(MODEL, "forcing.nc", PARAMS),
     TypeError, ["forcing must be an xarray.Dataset", "got the string 'forcing.nc'",
                 "dgeo.data.open_dataset(path)"]),
    ("simulate params list", lambda d, r: dgeo.simulate(MODEL, d, list(PARAMS.values())),
     TypeError, ["params must be a dict of parameter name -> number", "got the list [0.02"]),
    ("simulate smax string", lambda d, r: dgeo.simulate(MODEL, d, {**PARAMS, "smax": "800"}),
     TypeError, ["parameter 'smax' is not numeric: '800' is a string", "pass a number, a (2,) "
                 "array of numbers (one per basin, in the forcing's basin order) or a DataArray"]),
    ("simulate smax bool", lambda d, r: dgeo.simulate(MODEL, d, {**PARAMS, "smax": True}),
     TypeError, ["parameter 'smax' is not numeric: the bool True", "pass a number"]),
    ("simulate smax None", lambda d, r: dgeo.simulate(MODEL, d, {**PARAMS, "smax": None}),
     TypeError, ["parameter 'smax' is not numeric: None", "pass a number"]),
    ("simulate smax object array",
     lambda d, r: dgeo.simulate(MODEL, d, {**PARAMS, "smax": np.array([800.0, 700.0], object)}),
     TypeError, ["parameter 'smax' is not numeric: an object array [800.0, 700.0]",
                 "pass a number"]),
    ("simulate smax strings", lambda d, r: dgeo.simulate(MODEL, d, {**PARAMS, "smax": ["8", "9"]}),
     TypeError, ["parameter 'smax' is not numeric: the list ['8', '9']", "pass a number"]),
    ("simulate smax DataArray of strings",
     lambda d, r: dgeo.simulate(MODEL, d, {**PARAMS, "smax": xr.DataArray(
         ["800", "700"], dims="basin", coords={"basin": d["basin"].values})}),
     TypeError, ["parameter 'smax' is not numeric", "<U3", "pass a number"]),
    ("simulate initial state string",
     lambda d, r: dgeo.simulate(MODEL, d, PARAMS, initial_state={"snow_storage": "0"}),
     TypeError, ["initial state 'snow_storage' is not numeric: '0' is a string",
                 "pass a number"]),
    ("simulate initial state list",
     lambda d, r: dgeo.simulate(MODEL, d, PARAMS, initial_state=[0.0, 0.0]),
     TypeError, ["initial_state must be a dict of state name", "got the list [0.0, 0.0]"]),
    ("simulate dtype None", lambda d, r: dgeo.simulate(MODEL, d, PARAMS, dtype=None),
     TypeError, ["dtype must be np.float32 or np.float64", "got None"]),
    ("step_stability smax string",
     lambda d, r: dgeo.step_stability(MODEL, d, {**PARAMS, "smax": "800"}),
     TypeError, ["parameter 'smax' is not numeric: '800' is a string", "pass a number"]),
    ("check_parameters smax string",
     lambda d, r: dgeo.solve.check_parameters(MODEL, {**PARAMS, "smax": "800"}, np.array(["a"])),
     TypeError, ["parameter 'smax' is not numeric: '800' is a string", "pass a number"]),
    # --- solver and sensitivity fields ---------------------------------------------------------
    ("Continuous solver string", lambda d, r: dgeo.Continuous("tsit5"),
     TypeError, ["Continuous.solver must be a diffrax solver object such as diffrax.Tsit5()",
                 "got the string 'tsit5'", "pass the solver object, e.g. diffrax.Tsit5()"]),
    ("Continuous solver class", lambda d, r: dgeo.Continuous(diffrax.Kvaerno5),
     TypeError, ["Continuous.solver must be a diffrax solver object", "got the class",
                 "call the class: diffrax.Kvaerno5()"]),
    ("Continuous rtol string", lambda d, r: dgeo.Continuous(rtol="1e-5"),
     TypeError, ["Continuous.rtol must be a number", "got the string '1e-5'",
                 "write it without quotes: rtol=1e-5"]),
    ("Continuous max_steps float", lambda d, r: dgeo.Continuous(max_steps_per_day=64.0),
     TypeError, ["Continuous.max_steps_per_day must be an integer", "got the float 64.0",
                 "write 64"]),
    ("Continuous substeps string", lambda d, r: dgeo.Continuous(substeps="8"),
     TypeError, ["Continuous.substeps must be an integer or None", "got the string '8'"]),
    ("Continuous per_basin string", lambda d, r: dgeo.Continuous(per_basin="yes"),
     TypeError, ["Continuous.per_basin must be True or False", "got the string 'yes'"]),
    ("Continuous negative rtol", lambda d, r: dgeo.Continuous(rtol=-1e-5),
     ValueError, ["Continuous.rtol must be 0 or more and finite", "got -1e-05"]),
    ("Checkpoint string", lambda d, r: dgeo.Checkpoint("100"),
     TypeError, ["Checkpoint.checkpoints must be an integer (a number of days)",
                 "got the string '100'", "checkpoints=100"]),
    ("Checkpoint zero", lambda d, r: dgeo.Checkpoint(0),
     ValueError, ["Checkpoint.checkpoints must be a positive number of days", "got 0"]),
    ("Checkpoint recursive string", lambda d, r: dgeo.Checkpoint(recursive="yes"),
     TypeError, ["Checkpoint.recursive must be True or False", "got the string 'yes'"]),
    ("Adjoint backward_steps string", lambda d, r: dgeo.Adjoint(backward_steps="8"),
     TypeError, ["Adjoint.backward_steps must be an integer or None", "got the string '8'"]),
    # --- the array-level integrator and the checks ---------------------------------------------
    ("integrate solver string",
     lambda d, r: dgeo.integrate(MODEL, _arrays(d), _basin_params(), solver="tsit5"),
     TypeError, ["solver must be a dgeo solver object", "got the string 'tsit5'"]),
    ("integrate params string",
     lambda d, r: dgeo.integrate(MODEL, _arrays(d), {**_basin_params(), "smax": "800"}),
     TypeError, ["params['smax'] must be a JAX or NumPy array of numbers",
                 "got the string '800'"]),
    ("integrate forcing list", lambda d, r: dgeo.integrate(MODEL, [1.0], _basin_params()),
     TypeError, ["forcing must be a dict of name -> (time, basin) arrays", "got the list"]),
    ("integrate save string",
     lambda d, r: dgeo.integrate(MODEL, _arrays(d), _basin_params(), save="q"),
     TypeError, ["save must be a tuple of state and flux names", "got the string 'q'",
                 "write ('q',) for one name"]),
    ("integrate accumulate number",
     lambda d, r: dgeo.integrate(MODEL, _arrays(d), _basin_params(), accumulate=1.0),
     TypeError, ["accumulate must be a function", "got the float 1.0"]),
    ("mass_balance dict", lambda d, r: dgeo.mass_balance(MODEL, {"q": 1.0}),
     TypeError, ["result must be the xarray.Dataset that dgeo.simulate returns", "got the dict"]),
    ("check_gradients solver string",
     lambda d, r: dgeo.check_gradients(MODEL, d, PARAMS, solver="discrete"),
     TypeError, ["solver must be a dgeo solver object", "got the string 'discrete'",
                 "pass dgeo.Discrete()"]),
    ("check_gradients step string",
     lambda d, r: dgeo.check_gradients(MODEL, d, PARAMS, step="1e-6"),
     TypeError, ["step must be a number", "got the string '1e-6'", "step=1e-6"]),
    ("check_gradients loss string",
     lambda d, r: dgeo.check_gradients(MODEL, d, PARAMS, loss="nse"),
     TypeError, ["loss must be a function Trajectory -> (basin,) values", "got the string"]),
    # --- Periods and the per-basin workflow ----------------------------------------------------
    ("train_models periods tuple",
     lambda d, r: train_models(d, periods=("1980-10-01", "1996-09-30")),
     TypeError, ["periods must be a dgeo.train.Periods",
                 "got the tuple ('1980-10-01', '1996-09-30')",
                 "pass Periods(train=(start, end), validation=(start, end) or None, "
                 "test=(start, end))"]),
    ("train_models model_options dict", lambda d, r: train_models(d, model_options={"hidden": 8}),
     TypeError, ["model_options must be a dgeo.train.ModelOptions", "got the dict"]),
    ("train_models fit_options None", lambda d, r: train_models(d, fit_options=None),
     TypeError, ["fit_options must be a dgeo.train.FitOptions", "got None"]),
    ("train_models kinds None", lambda d, r: train_models(d, None),
     TypeError, ["kinds must be a model kind or a tuple of them (physical", "got None"]),
    ("train_models data path", lambda d, r: train_models("camels.nc"),
     TypeError, ["ds must be an xarray.Dataset", "got the string 'camels.nc'", "open_dataset"]),
    ("train_models progress string", lambda d, r: train_models(d, progress="no"),
     TypeError, ["progress must be True or False", "got the string 'no'"]),
    ("run_models period string", lambda d, r: run_models({}, d, "1980"),
     TypeError, ["period must be a (start, end) pair of dates", "got the string '1980'"]),
    ("run_models model string", lambda d, r: run_models({"physical": "model"}, d, PERIOD),
     TypeError, ["models['physical'] must be a dgeo.models.BasinModel", "got the string"]),
    ("run_models spinup string", lambda d, r: run_models({}, d, PERIOD, spinup_days="365"),
     TypeError, ["spinup_days must be an integer", "got the string '365'"]),
    ("Periods impossible date", lambda d, r: Periods(("1980-10-01", "1996-13-30")),
     ValueError, ["Periods.train has a date pandas cannot read", "1996-13-30"]),
    ("Periods end before start", lambda d, r: Periods(test=("2010-09-30", "2000-10-01")),
     ValueError, ["Periods.test must end after it starts", "('2010-09-30', '2000-10-01')"]),
    ("Periods single date", lambda d, r: Periods(train="1980-10-01"),
     TypeError, ["Periods.train must be a (start, end) pair of dates such as",
                 "got the string '1980-10-01'"]),
    ("Periods years as numbers", lambda d, r: Periods(validation=(1996, 2000)),
     TypeError, ["Periods.validation must be a (start, end) pair of dates",
                 "the int 1996 is not a date"]),
    ("Periods three dates", lambda d, r: Periods(train=("1980", "1990", "2000")),
     TypeError, ["Periods.train must be a (start, end) pair", "got the tuple"]),
    ("ModelOptions hidden string", lambda d, r: ModelOptions(hidden="64"),
     TypeError, ["ModelOptions.hidden must be an integer", "got the string '64'",
                 "write it without quotes: hidden=64"]),
    ("ModelOptions dropout string", lambda d, r: ModelOptions(dropout="0.4"),
     TypeError, ["ModelOptions.dropout must be a number", "got the string '0.4'"]),
    ("ModelOptions solver string", lambda d, r: ModelOptions(solver="tsit5"),
     TypeError, ["ModelOptions.solver must be a dgeo solver object", "got the string 'tsit5'"]),
    ("ModelOptions sensitivity string", lambda d, r: ModelOptions(sensitivity="backprop"),
     TypeError, ["ModelOptions.sensitivity must be a dgeo sensitivity object",
                 "got the string 'backprop'", "pass dgeo.Backprop()"]),
    ("FitOptions epochs string", lambda d, r: FitOptions(epochs="10"),
     TypeError, ["FitOptions.epochs must be an integer", "got the string '10'",
                 "write it without quotes: epochs=10"]),
    ("FitOptions learning rate string", lambda d, r: FitOptions(learning_rate="0.01"),
     TypeError, ["FitOptions.learning_rate must be a number", "got the string '0.01'"]),
    # --- regional models -----------------------------------------------------------------------
    ("RegionalOptions epochs string", lambda d, r: RegionalOptions(epochs="20"),
     TypeError, ["RegionalOptions.epochs must be an integer", "got the string '20'"]),
    ("RegionalOptions learning_rate string", lambda d, r: RegionalOptions(learning_rate="1e-3"),
     TypeError, ["RegionalOptions.learning_rate must be a number or None",
                 "got the string '1e-3'"]),
    ("RegionalOptions one attribute string", lambda d, r: RegionalOptions(attributes="area"),
     TypeError, ["RegionalOptions.attributes must be a tuple of static attribute names",
                 "got the string 'area'", "write ('area',) for one name"]),
    ("RegionalOptions learning_rates string",
     lambda d, r: RegionalOptions(learning_rates={"regional_lstm": "0.002"}),
     TypeError, ["RegionalOptions.learning_rates['regional_lstm'] must be a number",
                 "got the string '0.002'"]),
    ("RegionalOptions learning_rates typo",
     lambda d, r: RegionalOptions(learning_rates={"regional_lstn": 0.002}),
     ValueError, ["RegionalOptions.learning_rates has unknown model kind(s) ['regional_lstn']",
                  "regional_lstm"]),
    ("RegionalOptions solver string", lambda d, r: RegionalOptions(solver="kvaerno5"),
     TypeError, ["RegionalOptions.solver must be a dgeo solver object",
                 "got the string 'kvaerno5'", "dgeo.Continuous(diffrax.Kvaerno5())"]),
    ("train_regional kind list",
     lambda d, r: train_regional(d, ["regional_lstm"], d["basin"].values, PERIOD),
     TypeError, ["kind must be the name of a regional model (regional_physical",
                 "got the list ['regional_lstm']"]),
    ("train_regional basins None", lambda d, r: train_regional(d, "regional_lstm", None, PERIOD),
     TypeError, ["basins must be a list of basin ids", "got None"]),
    ("train_regional period string",
     lambda d, r: train_regional(d, "regional_lstm", d["basin"].values, "1980"),
     TypeError, ["period must be a (start, end) pair of dates", "got the string '1980'"]),
    ("train_regional options dict",
     lambda d, r: train_regional(d, "regional_lstm", d["basin"].values, PERIOD, {"epochs": 1}),
     TypeError, ["options must be a dgeo.train.RegionalOptions", "got the dict"]),
    ("train_regional validation reversed",
     lambda d, r: train_regional(d, "regional_lstm", d["basin"].values, PERIOD,
                                 validation=("1981-01-01", "1980-01-01")),
     ValueError, ["validation must end after it starts"]),
    ("cross_validate keep string",
     lambda d, r: cross_validate(d, train_period=PERIOD, test_period=PERIOD, keep="q"),
     TypeError, ["keep must be a tuple of output names", "got the string 'q'"]),
    ("cross_validate unknown kind before training",
     lambda d, r: cross_validate(d, ("regional_lstm", "regional_lstn"), train_period=PERIOD,
                                 test_period=PERIOD),
     ValueError, ["unknown regional model 'regional_lstn'", "regional_lstm"]),
    ("cross_validate folds string",
     lambda d, r: cross_validate(d, train_period=PERIOD, test_period=PERIOD, folds="5"),
     TypeError, ["folds must be an integer", "got the string '5'"]),
    ("simulate_regional model string",
     lambda d, r: simulate_regional("regional_lstm", d, *PERIOD),
     TypeError, ["model must be a regional model as train_regional returns",
                 "got the string 'regional_lstm'"]),
    ("simulate_regional chunk string",
     lambda d, r: simulate_regional(r, d, *PERIOD, chunk="64"),
     TypeError, ["chunk must be an integer", "got the string '64'"]),
    ("simulate_regional end None", lambda d, r: simulate_regional(r, d, PERIOD[0], None),
     TypeError, ["(start, end) must be a (start, end) pair of dates", "None is not a date"]),
    ("regional_series spinup string",
     lambda d, r: regional_series(d, *PERIOD, spinup_days="365"),
     TypeError, ["spinup_days must be an integer", "got the string '365'"]),
    ("regional_results model string",
     lambda d, r: regional_results({"regional_lstm": "model"}, d, PERIOD),
     TypeError, ["models['regional_lstm'] must be a regional model", "got the string"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "error", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
@pytest.mark.usefixtures("unchecked")  # wrong types on purpose: dgeo's messages, not beartype's
def test_bad_argument_named_with_what_to_pass(ds, regional_model, no_computation, call, error,
                                              fragments):  # fmt: skip
    with pytest.raises(error) as info:
        call(ds, regional_model)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert not isinstance(info.value, AttributeError)


@pytest.mark.usefixtures("unchecked")
def test_wrong_data_types_are_also_data_errors(ds, no_computation):
    """A parameter or dataset of the wrong type is a TypeError and a DataError, so code that
    handles bad data (the command line, `except DataError`) handles it too."""
    with pytest.raises(DataError, match=re.escape("parameter 'smax' is not numeric")):
        dgeo.simulate(MODEL, ds, {**PARAMS, "smax": "800"})
    with pytest.raises(DataError, match="forcing must be an xarray.Dataset"):
        dgeo.simulate(MODEL, None, PARAMS)


def test_numbers_arrays_and_dataarrays_stay_accepted(ds):
    basins = ds["basin"].values
    params = {
        "f": np.float32(0.02),  # NumPy scalar
        "smax": jnp.asarray([800.0, 700.0]),  # JAX array
        "qmax": xr.DataArray([20.0, 15.0], dims="basin", coords={"basin": basins[::-1]}),
        "df": [2, 3],  # a list of ints
        "tmax": np.array(1.0),  # 0-d array
        "tmin": -1,  # int
    }
    result = dgeo.simulate(MODEL, ds, params, initial_state={"snow_storage": np.zeros(2)})
    assert np.isfinite(result["q"]).all()
    np.testing.assert_allclose(result["parameters"].sel(parameter="qmax"), [15.0, 20.0])


@pytest.mark.usefixtures("unchecked")  # lists and NumPy integers: dgeo's own conversions
def test_good_options_and_periods_stay_accepted():
    periods = Periods(train=["1980-10-01", "1990-09-30"], validation=None,
                      test=(np.datetime64("1995-10-01"), "2000-09-30"))  # fmt: skip
    assert periods.train == ("1980-10-01", "1990-09-30")  # a list becomes a tuple
    assert periods.validation is None
    assert ModelOptions(dropout=0, hidden=np.int64(8)).hidden == 8
    assert RegionalOptions(attributes=["area", "p_mean"]).attributes == ("area", "p_mean")
    assert dgeo.Continuous(diffrax.Kvaerno5(), rtol=1e-6, atol=1e-6, substeps=4).substeps == 4
    assert dgeo.Checkpoint(np.int64(10)).checkpoints == 10
    # A solver built under vmap holds tracers: their types pass, their values are not checked.
    rtols = eqx.filter_vmap(lambda r: dgeo.Continuous(rtol=r).rtol)(jnp.asarray([1e-4, 1e-5]))
    np.testing.assert_allclose(rtols, [1e-4, 1e-5])
