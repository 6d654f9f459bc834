"""Every experiment from a YAML file: regional models in a temporal test and in the
ungauged-basin cross-validation, resumed after Ctrl-C, the new configuration keys and their
errors, a physical model declared here and named by import path, the example configurations."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import xarray as xr
import yaml

from conftest import CARAVAN_NC, SWE_NC, require_data
from dgeo.cli import INTERRUPTED, main
from dgeo.config import ConfigError, parse_config, read_config, settings
from dgeo.physics import ExpHydro, Parameter, PhysicalModel

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "configs"


class Bucket(PhysicalModel):
    """One linear reservoir: rainfall in, k S out. No dgeo module knows it: a configuration
    names it `physics: test_experiments:Bucket`."""

    parameters: ClassVar = (Parameter("k", 0.01, 0.5, "1/day", "drainage rate"),)
    states: ClassVar = ("soil_storage",)
    fluxes: ClassVar = ("rainfall", "q")
    forcings: ClassVar = {"prcp": "mm/day"}
    inflows: ClassVar = ("rainfall",)
    outflows: ClassVar = ("q",)

    def rates(self, state, forcing, params):
        storage = state["soil_storage"]
        known = {**state, **forcing, **params}
        rainfall = self.process("rainfall", forcing["prcp"], known)
        q = self.process("q", params["k"] * storage, {**known, "rainfall": rainfall})
        return {"soil_storage": rainfall - q}, {"rainfall": rainfall, "q": q}


class NotAModel:
    """A class that is no physical model."""


#: A regional temporal run that trains in seconds: three synthetic twins, short periods.
REGIONAL = {
    "data": "synthetic",
    "basins": ["syn000", "syn001", "syn002"],
    "models": ["regional_lstm", "regional_physical"],
    "periods": {
        "train": ["1980-10-01", "1983-09-30"],
        "validation": ["1983-10-01", "1984-09-30"],
        "test": ["1984-10-01", "1985-09-30"],
    },
    "regional": {
        "epochs": 3,
        "search": 8,
        "window_days": 730,
        "stride_days": 365,
        "batch_size": 4,
        "hidden": 8,
        "width": 8,
    },
}


def write(path: Path, mapping: dict) -> Path:
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return path


# 1. The ungauged-basin cross-validation of the example, quick, through the CLI.


@pytest.mark.slow
def test_regional_pub_quick_writes_the_run_directory(tmp_path, monkeypatch):
    require_data(CARAVAN_NC)
    require_data(SWE_NC)
    run_dir = tmp_path / "pub"
    args = ["train", str(EXAMPLES / "regional_pub.yml"), "--quick", "--run-dir", str(run_dir)]
    assert main([*args, "--quiet"]) == 0
    config = read_config(EXAMPLES / "regional_pub.yml", quick=True)
    kinds = list(config.models)
    with xr.open_dataset(run_dir / "results.nc") as results:
        assert list(results["model"].values) == kinds
        assert list(results["basin"].values) == config.basins
        assert sorted(set(results["fold"].values.tolist())) == [0, 1]
        assert results["metrics"].sel(metric="nse").notnull().all()
        assert str(results["time"].values[0])[:10] == config.periods.test[0]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert list(summary) == [*kinds, "training_seconds"]
    for kind in kinds:  # the shape of benchmarks/results/regional_pub.json
        assert list(summary[kind]) == ["nse"]
        assert list(summary[kind]["nse"]) == ["median", "mean", "std", "n_negative"]
    assert set(summary["training_seconds"]) == set(kinds)
    assert all(v > 0 for v in summary["training_seconds"].values())
    record = json.loads((run_dir / "run.json").read_text())
    assert record["finished"] and record["experiment"] == "pub" and record["quick"]
    assert len(record["attributes"]) == 27  # the netCDF source's default: Kratzert et al.
    assert sorted(p.name for p in (run_dir / "folds").iterdir()) == sorted(
        f"{k}_fold{i}.nc" for k in kinds for i in range(2)
    )
    assert {"nse_cdf.png", "snow_basin_mean.png"} <= {
        p.name for p in (run_dir / "figures").iterdir()
    }
    assert json.loads((run_dir / "snow.json").read_text())["n_basins"] == len(config.basins)
    recorded = yaml.safe_load((run_dir / "config.yml").read_text())
    assert "quick" not in recorded and recorded["experiment"]["folds"] == 2  # as trained

    # Resumed, every fold is read back from folds/: nothing trains again.
    import dgeo.train._regional_runs as engine

    def no_training(*args, **kwargs):
        raise AssertionError("a finished fold was trained again")

    monkeypatch.setattr(engine, "train_regional", no_training)
    assert main([*args, "--resume", "--quiet"]) == 0


# 2. A regional temporal run interrupted by Ctrl-C continues to the same result.


@pytest.mark.slow
def test_interrupted_regional_run_resumes_to_the_uninterrupted_result(
    tmp_path, monkeypatch, capsys
):
    import dgeo.runs._experiments as experiments

    config = write(tmp_path / "regional.yml", REGIONAL)
    whole = tmp_path / "whole"
    assert main(["train", str(config), "--run-dir", str(whole), "--quiet"]) == 0

    real = experiments.train_regional
    calls = []

    def interrupted(ds, kind, *args, **kwargs):
        calls.append(kind)

        def ctrl_c(entry):
            if kind == "regional_physical" and entry["epoch"] == 2:
                raise KeyboardInterrupt

        return real(ds, kind, *args, callback=ctrl_c, **kwargs)

    monkeypatch.setattr(experiments, "train_regional", interrupted)
    cut = tmp_path / "cut"
    assert main(["train", str(config), "--run-dir", str(cut), "--quiet"]) == INTERRUPTED
    message = capsys.readouterr().err
    assert "--resume" in message and "saved in" in message
    assert (cut / "models" / "regional_lstm.json").is_file()  # the first model had finished
    state = json.loads((cut / "checkpoints" / "regional_physical" / "state.json").read_text())
    assert len(state["history"]) == 2
    assert not (cut / "results.nc").exists()

    # A resume with other settings is refused before anything changes, naming the key.
    changed = write(
        tmp_path / "changed.yml",
        {
            **REGIONAL,
            "regional": {**REGIONAL["regional"], "per_model": {"regional_lstm": {"hidden": 4}}},
        },
    )
    assert main(["train", str(changed), "--run-dir", str(cut), "--resume"]) == 2
    assert "regional.per_model.regional_lstm.hidden" in capsys.readouterr().err

    calls.clear()
    monkeypatch.setattr(
        experiments, "train_regional", lambda *a, **k: calls.append(a[1]) or real(*a, **k)
    )
    assert main(["train", str(config), "--run-dir", str(cut), "--resume", "--quiet"]) == 0
    assert calls == ["regional_physical"]  # the finished LSTM is read back, not retrained
    history = json.loads((cut / "models" / "regional_physical.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    with xr.open_dataset(whole / "results.nc") as a, xr.open_dataset(cut / "results.nc") as b:
        np.testing.assert_allclose(b["metrics"].values, a["metrics"].values, rtol=1e-6)
        np.testing.assert_allclose(b["qsim"].values, a["qsim"].values, rtol=1e-6, atol=1e-9)
    assert (cut / "history.csv").read_text().count("\n") == 7  # header + 2 models x 3 epochs

    # A finished regional run is scored again on another period from its saved models.
    assert main(["evaluate", str(cut), "--period", "validation"]) == 0
    with xr.open_dataset(cut / "results_validation.nc") as validation:
        assert list(validation["model"].values) == REGIONAL["models"]


# 3. The new keys: objects from strings, errors that name the key.


@pytest.mark.slow
def test_physics_from_an_import_path_trains_a_model_declared_here(tmp_path):
    config = parse_config(
        {
            "data": "synthetic",
            "basins": ["syn000", "syn001"],
            "models": ["physical"],
            "physics": "test_experiments:Bucket",
            "periods": {
                "train": ["1980-10-01", "1983-09-30"],
                "validation": None,
                "test": ["1983-10-01", "1984-09-30"],
            },
            "model": {"physical_starts": 1, "physical_search": 10, "window_days": 730},
            "training": {"epochs": 2},
        }
    )
    assert isinstance(config.model_options().physics, Bucket)
    assert settings(config)["physics"] == "test_experiments:Bucket"
    from dgeo.runs import train_run

    results = train_run(config, tmp_path / "bucket", progress=False)
    assert list(results["parameter"].values) == ["k"]
    assert "soil_storage" in results and "snow_storage" not in results


@pytest.mark.parametrize("name", ["exphydro", "ExpHydro", "EXPHYDRO", "dgeo.physics:ExpHydro"])
def test_physics_names_a_dgeo_model_in_any_case(name):
    config = parse_config({"data": "synthetic", "physics": name})
    assert isinstance(config.model_options().physics, ExpHydro)
    assert settings(config)["physics"] == "exphydro"  # one name for one model: resumes match
    regional = parse_config({"data": "synthetic", "models": ["regional_hybrid"], "physics": name})
    options = regional.regional_options(("p_mean", "aridity"))
    assert isinstance(options["regional_hybrid"].physics, ExpHydro)


BASE = {"data": "synthetic"}
REGIONAL_BASE = {"data": "synthetic", "models": ["regional_hybrid", "regional_lstm"]}


@pytest.mark.parametrize(
    "mapping, needles",
    [
        (
            {**BASE, "physics": "gr4j"},
            ["physics is 'gr4j'", "exphydro", "hbv", "package.module:ClassName"],
        ),
        ({**BASE, "physics": "no_such_module_xyz:Model"}, ["physics", "no_such_module_xyz"]),
        ({**BASE, "physics": "test_experiments:Missing"}, ["physics", "has no Missing"]),
        ({**BASE, "physics": "test_experiments:NotAModel"}, ["physics", "PhysicalModel"]),
        ({**BASE, "physics": 3}, ["physics must be"]),
        (
            {**BASE, "models": ["hybrid", "regional_lstm"]},
            ["models mixes", "hybrid", "regional_lstm"],
        ),
        ({**BASE, "models": ["regional_cnn"]}, ["models[0]", "regional_hybrid"]),
        ({**BASE, "experiment": {"type": "pub"}}, ["experiment.type pub", "regional"]),
        ({**BASE, "experiment": {"keep": ["q"]}}, ["experiment.keep"]),
        ({**BASE, "regional": {"epochs": 2}}, ["`regional:`", "per-basin"]),
        ({**REGIONAL_BASE, "training": {"epochs": 2}}, ["`training:`", "regional:"]),
        (
            {**REGIONAL_BASE, "experiment": {"type": "spatial"}},
            ["experiment.type", "temporal, pub"],
        ),
        ({**REGIONAL_BASE, "experiment": {"folds": 1}}, ["experiment.folds", "at least 2"]),
        ({**REGIONAL_BASE, "experiment": {"seed": 0.5}}, ["experiment.seed", "integer"]),
        (
            {**REGIONAL_BASE, "experiment": {"basin_filter": "dry"}},
            ["experiment.basin_filter", "paper"],
        ),
        ({**REGIONAL_BASE, "experiment": {"keep": "q"}}, ["experiment.keep", "list"]),
        ({**REGIONAL_BASE, "experiment": {"fold": 3}}, ["fold", "experiment", "folds"]),
        ({**REGIONAL_BASE, "regional": {"epochs": 0}}, ["regional.epochs", "positive"]),
        ({**REGIONAL_BASE, "regional": {"learning_rate": "fast"}}, ["regional.learning_rate"]),
        (
            {**REGIONAL_BASE, "regional": {"spinup_days": 800, "window_days": 730}},
            ["regional", "spinup_days"],
        ),
        ({**REGIONAL_BASE, "regional": {"attributes": "aridity"}}, ["regional.attributes", "list"]),
        ({**REGIONAL_BASE, "regional": {"learning_rates": {}}}, ["learning_rates", "regional"]),
        (
            {**REGIONAL_BASE, "regional": {"per_model": {"lstm": {}}}},
            ["lstm", "regional.per_model"],
        ),
        (
            {**REGIONAL_BASE, "regional": {"per_model": {"regional_lstm": {"hidden": 2.5}}}},
            ["regional.per_model.regional_lstm.hidden", "integer"],
        ),
        ({**REGIONAL_BASE, "data": {"path": "x.nc"}}, ["data", "source"]),
        ({**REGIONAL_BASE, "data": 3}, ["data must be"]),
        ({**REGIONAL_BASE, "snow": {"variable": "swe"}}, ["snow.swe"]),
        (
            {**REGIONAL_BASE, "snow": {"swe": "s.nc", "model": "regional_lstm"}},
            ["snow.model", "snow storage"],
        ),
        (
            {**REGIONAL_BASE, "snow": {"swe": "s.nc", "model": "hybrid"}},
            ["snow.model", "regional_hybrid"],
        ),
        (
            {**REGIONAL_BASE, "snow": {"swe": "s.nc", "period": ["1970-01-01", "1971-01-01"]}},
            ["snow.period", "periods.test"],
        ),
        (
            {**REGIONAL_BASE, "experiment": {"keep": ["q"]}, "snow": {"swe": "s.nc"}},
            ["snow", "experiment.keep"],
        ),
        ({**REGIONAL_BASE, "quick": {"regional": {"epochs": 0}}}, ["quick: regional.epochs"]),
        ({**REGIONAL_BASE, "quick": {"quick": {}}}, ["quick", "unknown"]),
        ({**REGIONAL_BASE, "quick": [1]}, ["quick must be a mapping"]),
    ],
)
def test_config_errors_name_the_key(mapping, needles):
    with pytest.raises(ConfigError) as err:
        parse_config(mapping)
    for needle in needles:
        assert needle in str(err.value), (needle, str(err.value))


def test_config_errors_are_one_line_from_the_cli(tmp_path, capsys):
    bad = write(tmp_path / "bad.yml", {**REGIONAL, "experiment": {"type": "pub", "folds": 7}})
    assert main(["train", str(bad), "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dgeo: error: ") and "experiment.folds is 7" in err and "3 basin" in err
    assert not (tmp_path / "run").exists()  # found before anything was written
    plain = write(tmp_path / "plain.yml", {k: v for k, v in REGIONAL.items()})
    assert main(["train", str(plain), "--quick"]) == 2
    assert "--quick: the configuration has no `quick:` section" in capsys.readouterr().err


def test_paper_basin_filter_keeps_the_humid_basins(caravan_nc, tmp_path, capsys):
    from dgeo.evaluate import paper_basins
    from dgeo.runs import load_data

    raw = read_config(EXAMPLES / "regional_pub.yml").raw
    config = parse_config({**raw, "experiment": {**raw["experiment"], "basin_filter": "paper"}})
    everything = load_data(parse_config(raw))
    humid = load_data(config)
    assert humid.sizes["basin"] == 381  # docs/results/regional.md: the paper's 381 of 473 basins
    wanted = everything["basin"].values[paper_basins(everything).values]
    assert list(humid["basin"].values) == list(wanted)
    # Data without the attributes the filter reads: one line, before anything is written.
    synthetic = write(tmp_path / "s.yml", {**REGIONAL, "experiment": {"basin_filter": "paper"}})
    assert main(["train", str(synthetic), "--run-dir", str(tmp_path / "run")]) == 2
    assert "low_prec_freq" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_quick_overrides_merge_and_paths_are_taken_from_the_file(tmp_path):
    mapping = {
        **REGIONAL,
        "data": {"source": "netcdf", "path": "data/caravan.nc", "attributes": "attrs"},
        "snow": {"swe": "swe.nc", "model": "regional_physical"},
        "quick": {"regional": {"epochs": 1, "per_model": {"regional_lstm": {"hidden": 4}}}},
    }
    config = read_config(write(tmp_path / "c.yml", mapping))
    fast = read_config(tmp_path / "c.yml", quick=True)
    assert config.data == {
        "source": "netcdf",
        "path": str(tmp_path / "data" / "caravan.nc"),
        "attributes": str(tmp_path / "attrs"),
    }
    assert config.snow.swe == fast.snow.swe == str(tmp_path / "swe.nc")
    assert (config.regional.epochs, fast.regional.epochs) == (3, 1)
    assert fast.regional.window_days == 730  # merged key by key, not replaced
    options = fast.regional_options(("p_mean",))
    assert options["regional_lstm"].hidden == 4 and options["regional_physical"].hidden == 8
    assert "quick" not in fast.raw and "quick" in config.raw
    assert settings(parse_config(fast.raw)) == settings(fast)  # what a run records resumes


# 4. The example configurations reproduce the benchmarks' experiments.


def _load_script(path: Path):
    if str(path.parent) not in sys.path:  # the drivers import benchmarks/_runs.py
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_has_a_quick_variant():
    files = sorted(EXAMPLES.glob("*.yml"))
    assert {"regional_temporal.yml", "regional_pub.yml"} <= {f.name for f in files}
    for path in files:
        config, fast = read_config(path), read_config(path, quick=True)
        assert fast.quick and fast.basins and len(fast.basins) <= 6, path.name
        assert settings(fast) != settings(config), path.name


def test_regional_examples_hold_the_published_settings():
    """The example configs are the settings behind docs/results/regional.md's regional results (the
    OPTIONS and periods benchmarks/regional.py held before it read these files), and the
    benchmark driver runs exactly these files."""
    from dgeo.data import KRATZERT_ATTRIBUTES
    from dgeo.train import RegionalOptions

    full, scored = ("1981-01-01", "2014-12-31"), ("1982-01-01", "2014-12-31")
    expected = {
        "regional_pub": (full, None, scored, "pub"),
        "regional_pub_validated": (
            ("1981-01-01", "2009-09-30"), ("2009-10-01", "2014-09-30"), scored, "pub",
        ),
        "regional_temporal": (
            ("1981-01-01", "1996-09-30"), ("1996-10-01", "2000-09-30"),
            ("2000-10-01", "2010-09-30"), "temporal",
        ),
    }  # fmt: skip
    kinds = ("regional_hybrid", "pseudo_regional_hybrid", "regional_lstm", "regional_physical")
    hybrid = RegionalOptions(epochs=40, learning_rate=0.005, batch_size=32)
    published = dict.fromkeys(kinds, hybrid)
    published["regional_lstm"] = RegionalOptions(epochs=15, learning_rate=0.002, hidden=64)
    for name, (train, validation, test, kind) in expected.items():
        config = read_config(EXAMPLES / f"{name}.yml")
        periods = config.periods
        assert (periods.train, periods.validation, periods.test) == (train, validation, test)
        assert config.experiment.type == kind and config.experiment.folds == 5
        assert set(config.models) == set(kinds)
        options = config.regional_options(KRATZERT_ATTRIBUTES)
        for kind_ in kinds:
            assert options[kind_] == published[kind_], (name, kind_)
    lstm = read_config(EXAMPLES / "regional_pub_lstm_35.yml")
    o = lstm.regional_options(KRATZERT_ATTRIBUTES)["regional_lstm"]
    assert o == dataclasses.replace(published["regional_lstm"], epochs=35, hidden=64)
    bench = _load_script(REPO / "benchmarks" / "regional.py")
    for file in bench.EXPERIMENTS.values():
        assert (EXAMPLES / file).is_file() or (REPO / file).is_file(), file


def test_regional_examples_fit_the_data(caravan_nc):
    from dgeo.runs import check_run, load_data

    for path in sorted(EXAMPLES.glob("regional_*.yml")):
        config = read_config(path, quick=True)
        check_run(config, load_data(config))
