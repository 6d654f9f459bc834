"""Training, resume, results datasets, configuration errors and the CLI (train, evaluate, demo)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
import yaml

from dgeo.cli import main
from dgeo.config import ConfigError, parse_config
from dgeo.evaluate import load_results, save_results
from dgeo.models import build
from dgeo.nn import Standardiser
from dgeo.train import FitOptions, ModelOptions, Periods, run_models, train_models, windows
from dgeo.train._fit import fit
from dgeo.train._windows import basin_series

SHORT = Periods(
    train=("1980-10-01", "1986-09-30"),
    validation=("1986-10-01", "1988-09-30"),
    test=("1988-10-01", "1990-09-30"),
)
SMALL = ModelOptions(physical_starts=2, physical_search=0, window_days=730, stride_days=365)


@pytest.fixture(scope="module")
def two_basins(camels_root):
    from dgeo.data import load_camels_us

    return load_camels_us(camels_root, basins=["01022500", "01031500"], attributes=False)


@pytest.mark.slow
def test_training_on_real_basins_improves_nse(two_basins):
    models, fits = train_models(
        two_basins,
        ("physical", "hybrid"),
        SHORT,
        SMALL,
        FitOptions(epochs=25, learning_rate=0.05),
        progress=False,
    )
    for kind, result in fits.items():
        first = result.history[0]["validation_nse"]
        assert result.validation_nse.mean() > first + 0.02, (kind, first, result.validation_nse)
    results = run_models(models, two_basins, SHORT.test)
    assert results["qsim"].dims == ("model", "basin", "time")
    assert results.sizes["time"] == 730
    assert np.isfinite(results["metrics"].sel(metric="nse")).all()
    # Each basin its own parameters, inside their bounds, the same in physical... not required:
    # the hybrid starts from the trained physical model and refines it.
    params = results["parameters"].sel(model="physical")
    assert not np.allclose(params.isel(basin=0), params.isel(basin=1))
    assert results["melt"].sel(model="hybrid").notnull().all()
    assert results["melt"].sel(model="physical").notnull().all()


@pytest.mark.slow
def test_results_round_trip_through_netcdf(two_basins, tmp_path):
    models, _ = train_models(
        two_basins, ("physical", "common"), SHORT, SMALL, FitOptions(epochs=2), progress=False
    )
    results = run_models(models, two_basins, SHORT.test)
    back = load_results(save_results(results, tmp_path / "results.nc"))
    xr.testing.assert_allclose(back, results)
    assert back["parameters"].sel(model="common").isnull().all()
    assert list(back["parameter_units"].values)[:2] == ["1/mm", "mm"]


def stack_and_data(two_basins):
    series = basin_series(two_basins, *SHORT.train)
    train = windows(series, 730, 365)
    import equinox as eqx

    forcing = eqx.filter_vmap(Standardiser)(jnp.zeros((2, 5)), jnp.ones((2, 5)))
    q = eqx.filter_vmap(Standardiser)(jnp.zeros((2, 1)), jnp.ones((2, 1)))
    keys = jax.random.split(jax.random.key(3), 2)
    stack = eqx.filter_vmap(lambda k, f, q: build("hybrid", k, f, q))(keys, forcing, q)
    validation = basin_series(two_basins, *SHORT.validation, spinup_days=365)
    validation = validation._replace(
        inputs={k: v[:, None] for k, v in validation.inputs.items()},
        qobs=validation.qobs[:, None],
    )
    return stack, train, validation


@pytest.mark.slow
def test_resume_equals_uninterrupted(two_basins, tmp_path):
    stack, train, validation = stack_and_data(two_basins)
    options = FitOptions(epochs=6, plateau_patience=2, patience=50)
    straight = fit(stack, train, validation, options, progress=False)

    class Interrupt(Exception):
        pass

    def stop_at_three(entry):
        if entry["epoch"] == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        fit(stack, train, validation, options, checkpoint_dir=tmp_path, callback=stop_at_three,
            progress=False)  # fmt: skip
    resumed = fit(stack, train, validation, options, checkpoint_dir=tmp_path, resume=True,
                  progress=False)  # fmt: skip
    assert [h["epoch"] for h in resumed.history] == list(range(1, 7))
    for a, b in zip(
        jax.tree_util.tree_leaves(straight.model),
        jax.tree_util.tree_leaves(resumed.model),
        strict=True,
    ):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(straight.validation_nse, resumed.validation_nse)
    with pytest.raises(ValueError, match="cannot resume.*options"):
        fit(stack, train, validation, FitOptions(epochs=7), checkpoint_dir=tmp_path, resume=True,
            progress=False)  # fmt: skip


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"data": "x", "modles": ["hybrid"]}, "unknown key.*modles.*allowed: data"),
        ({"data": "x", "models": ["hybird"]}, "models\\[0\\] is 'hybird'; allowed.*hybrid"),
        ({"data": "x", "training": {"epochs": "ten"}}, "training.epochs must be an integer"),
        ({"data": "x", "training": {"learning_rate": -1}}, "learning_rate must be positive"),
        ({"data": "x", "model": {"kernal": 3}}, "unknown key.*kernal.*in model"),
        ({"data": "x", "solver": "euler"}, "solver is 'euler'; allowed.*tsit5"),
        ({"data": "x", "sensitivity": "adjiont"}, "allowed values: backprop"),
        ({"data": "x", "basins": [1022500]}, "quote basin ids"),
        ({"data": "x", "periods": {"test": ["2010-01-01", "2001-01-01"]}}, "ends before"),
        ({"models": ["hybrid"]}, "no `data`"),
        ({"data": None}, "data must be a path, 'synthetic' or a mapping"),
        ({"data": "x", "training": {"learning_rate": float("nan")}}, "a finite number, got nan"),
        ({"data": "x", "model": {"dropout": 1.5}}, "ModelOptions.dropout must be in \\[0, 1\\)"),
        ({"data": "x", "training": {"plateau_factor": 3.0}}, "plateau_factor must be between"),
        (
            {"data": "x", "training": {"min_learning_rate": 0.1, "learning_rate": 0.01}},
            "min_learning_rate must be positive and at most learning_rate",
        ),
        (
            {"data": "x", "training": {"spinup_days": 500}, "model": {"window_days": 400}},
            "spinup_days \\(500\\) must be shorter than model.window_days \\(400\\)",
        ),
    ],
)
def test_config_errors_name_the_key(mapping, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(mapping)


def test_impossible_yaml_date_names_its_line(tmp_path, capsys):
    bad = tmp_path / "bad.yml"
    bad.write_text("data: synthetic\nperiods: {train: [1990-13-01, 1995-01-01]}\n")
    assert main(["train", str(bad)]) == 2
    assert "bad.yml, line 2: date 1990-13-01 (month must be in 1..12)" in capsys.readouterr().err


def test_options_refuse_values_that_would_ruin_training(two_basins):
    with pytest.raises(ValueError, match="FitOptions.learning_rate must be positive, got inf"):
        FitOptions(learning_rate=float("inf"))
    with pytest.raises(ValueError, match="ModelOptions.window_days must be at least 1"):
        ModelOptions(window_days=0)
    short = ModelOptions(window_days=100, physical_starts=1, physical_search=10)
    with pytest.raises(ValueError, match="spinup_days \\(365\\) must be shorter than .*\\(100\\)"):
        train_models(two_basins, ["physical"], SHORT, short, FitOptions(epochs=1), progress=False)
    # One model kind may be given as a string, not split into letters.
    with pytest.raises(ValueError, match="unknown model\\(s\\) \\['hybird'\\]"):
        train_models(two_basins, "hybird", SHORT, progress=False)


def test_config_strings_become_objects():
    config = parse_config({"data": "synthetic", "solver": "tsit5", "sensitivity": "adjoint"})
    options = config.model_options()
    assert type(options.sensitivity).__name__ == "Adjoint"
    assert type(options.solver.solver).__name__ == "Tsit5"


@pytest.mark.slow
def test_cli_train_evaluate_and_config_error(camels_root, tmp_path, capsys):
    config = {
        "data": str(camels_root),
        "basins": ["01022500", "01031500"],
        "models": ["physical", "common"],
        "periods": {"train": list(SHORT.train), "validation": list(SHORT.validation),
                    "test": list(SHORT.test)},
        "model": {"physical_starts": 1, "physical_search": 50, "window_days": 730},
        "training": {"epochs": 2},
    }  # fmt: skip
    path = tmp_path / "run.yml"
    path.write_text(yaml.safe_dump(config))
    run_dir = tmp_path / "run"
    assert main(["train", str(path), "--run-dir", str(run_dir), "--quiet"]) == 0
    for name in ("config.yml", "results.nc", "metrics.csv", "history.csv", "models/common.eqx"):
        assert (run_dir / name).exists(), name
    assert list((run_dir / "figures").glob("hydrograph_*.png"))
    assert main(["evaluate", str(run_dir), "--period", "validation"]) == 0
    validation = load_results(run_dir / "results_validation.nc")
    assert str(validation["time"].values[0])[:10] == "1986-10-01"
    # The data start 1980-01-01, too late for a spin-up before 1980-10-01: as in training, the
    # training period's first year is the spin-up.
    assert main(["evaluate", str(run_dir), "--period", "train"]) == 0
    train = load_results(run_dir / "results_train.nc")
    assert str(train["time"].values[0])[:10] == "1981-10-01"
    test = load_results(run_dir / "results.nc")
    again = main(["evaluate", str(run_dir)])
    assert again == 0
    xr.testing.assert_allclose(load_results(run_dir / "results_test.nc")["qsim"], test["qsim"])
    capsys.readouterr()
    bad = tmp_path / "bad.yml"
    bad.write_text("data: x\nepochs: 3\n")
    assert main(["train", str(bad)]) == 2
    assert "unknown key(s) epochs" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_runs_on_synthetic_twins(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--epochs", "3", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "physical" in printed and "hybrid" in printed and "nse" in printed
    assert list((out / "figures").glob("hydrograph_syn*.png"))
    results = load_results(out / "results.nc")
    assert results.sizes["basin"] == 8


def test_nonfinite_gradients_are_reported_not_silent(two_basins):
    """A NaN that reaches the gradient (here a corrupt forcing value in one basin's window,
    in practice e.g. an adjoint solve that ran out of steps) is zeroed so it cannot poison
    Adam, and that is counted in the history and warned about, never silent."""
    stack, train, _ = stack_and_data(two_basins)
    prcp = np.asarray(train.inputs["prcp"]).copy()
    prcp[0, 0, 500] = np.nan  # member 0 (basin 01022500), first window, after spin-up
    corrupt = train._replace(inputs={**train.inputs, "prcp": jnp.asarray(prcp)})
    with pytest.warns(RuntimeWarning, match=r"NaN/inf gradient entries were set to zero in 3 of 3"):
        result = fit(stack, corrupt, None, FitOptions(epochs=3), progress=False, label="corrupt")
    assert all(h["nonfinite_gradients"] > 0 for h in result.history)
    clean = fit(stack, train, None, FitOptions(epochs=3), progress=False)
    assert all(h["nonfinite_gradients"] == 0 for h in clean.history)
    # Member 1 never saw the NaN: it trains exactly as on clean data.
    head = lambda m: np.asarray(m.head.hidden.weight[1])  # noqa: E731
    np.testing.assert_allclose(head(result.model), head(clean.model), rtol=1e-6)
