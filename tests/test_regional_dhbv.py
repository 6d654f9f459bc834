"""The regional δHBV experiments (issue 22): their configurations hold the comparison's
settings, HBV's snow is its snowpack and meltwater, and the quick variants train."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from dgeo.cli import main
from dgeo.config import ConfigError, parse_config, read_config
from dgeo.data import KRATZERT_ATTRIBUTES

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "configs"
DHBV = [
    "regional_dhbv_temporal.yml",
    "regional_dhbv_static_temporal.yml",
    "regional_dhbv_pub.yml",
    "regional_dhbv_static_pub.yml",
    "dhbv_daymet.yml",
]


def _driver():
    path = REPO / "benchmarks" / "regional_dhbv.py"
    if str(path.parent) not in sys.path:  # the drivers import benchmarks/_runs.py
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("regional_dhbv", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _steps(config) -> int:
    """Adam steps of one epoch per basin-window (windows / batch), times the epochs."""
    o = config.regional_options(KRATZERT_ATTRIBUTES)[config.models[0]]
    return o.epochs * (1 + (5000 - o.window_days) // o.stride_days) / o.batch_size


def test_dhbv_configs_hold_the_comparison():
    """Hamon PET and HBV in every δHBV file; the splits of regional_temporal.yml,
    regional_pub.yml and jiang_local.yml; the LSTM at least as many Adam steps as δHBV."""
    for name in DHBV:
        config = read_config(EXAMPLES / name)
        assert config.data["pet"] == "hamon", name
        assert config.models == ("regional_dpl",) and config.physics["name"] == "hbv", name
        dynamic = "static" not in name
        assert bool(config.physics.get("dynamic")) == dynamic, name
    pairs = [
        ("regional_dhbv_temporal.yml", "regional_temporal.yml"),
        ("regional_dhbv_static_temporal.yml", "regional_temporal.yml"),
        ("regional_lstm_plateau_temporal.yml", "regional_temporal.yml"),
        ("regional_dhbv_pub.yml", "regional_pub.yml"),
        ("regional_dhbv_static_pub.yml", "regional_pub.yml"),
        ("regional_lstm_plateau_pub.yml", "regional_pub.yml"),
        ("dhbv_daymet.yml", "jiang_local.yml"),
    ]
    for name, reference in pairs:
        a, b = read_config(EXAMPLES / name), read_config(EXAMPLES / reference)
        assert a.periods == b.periods, name
        assert (a.experiment.type, a.experiment.folds, a.experiment.seed) == (
            b.experiment.type,
            b.experiment.folds,
            b.experiment.seed,
        ), name
    for kind in ("temporal", "pub"):
        lstm = read_config(EXAMPLES / f"regional_lstm_plateau_{kind}.yml")
        dhbv = read_config(EXAMPLES / f"regional_dhbv_{kind}.yml")
        assert _steps(lstm) >= _steps(dhbv), kind
    driver = _driver()
    for file, _, _ in driver.EXPERIMENTS.values():
        assert (EXAMPLES / file).is_file(), file


def test_snow_storage_names_the_model_states():
    base = {
        "data": "synthetic",
        "models": ["regional_dpl"],
        "physics": {"name": "hbv", "nmul": 2},
        "experiment": {"keep": ["q", "snowpack", "meltwater"]},
    }
    snow = {"swe": "swe.nc", "model": "regional_dpl"}
    config = parse_config({**base, "snow": {**snow, "storage": ["snowpack", "meltwater"]}})
    assert config.snow.storage == ("snowpack", "meltwater")
    with pytest.raises(ConfigError, match="no state snow_storage; its states: snowpack"):
        parse_config({**base, "snow": snow})
    with pytest.raises(ConfigError, match="snow needs lower_zone in experiment.keep"):
        parse_config({**base, "snow": {**snow, "storage": "lower_zone"}})


def test_regional_dhbv_static_quick_trains_with_hamon_pet(tmp_path, caravan_nc):
    """The static δHBV's quick temporal run: Hamon PET, HBV snow against UA SWE."""
    run_dir = tmp_path / "run"
    path = EXAMPLES / "regional_dhbv_static_temporal.yml"
    assert main(["train", str(path), "--quick", "--run-dir", str(run_dir), "--quiet"]) == 0
    recorded = yaml.safe_load((run_dir / "config.yml").read_text())
    assert recorded["data"]["pet"] == "hamon"
    snow = json.loads((run_dir / "snow.json").read_text())
    assert snow["model"] == "regional_dpl" and np.isfinite(snow["basin_mean_correlation"])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert set(summary["training_seconds"]) == {"regional_dpl"}


@pytest.mark.slow
def test_regional_dhbv_driver_quick(tmp_path, monkeypatch, caravan_nc):
    """benchmarks/regional_dhbv.py --quick on the temporal δHBV, the narrowed hybrid and two
    PUB folds of the static δHBV: the result files it writes, shaped like regional_pub.json."""
    driver = _driver()
    monkeypatch.setattr(driver, "RUNS", tmp_path)
    names = ["temporal_dhbv", "temporal_hybrid", "pub_dhbv_static"]
    driver.main(names, quick=True, resume=False, analyse_only=False)
    out = tmp_path / "quick_results"
    value = json.loads((out / "regional_dhbv.json").read_text())
    assert set(value["temporal"]) == {"dhbv_dynamic", "regional_hybrid"}
    for row in value["temporal"].values():
        assert set(row["nse"]) >= {"median", "mean", "std", "n_negative"}
        assert {"kge", "fhv", "flv"} <= set(row)
    assert "regional_hybrid" in value["temporal_compare"]
    assert value["temporal_dhbv_snow"]["model"] == "regional_dpl"
    assert set(value["pub"]) == {"dhbv_static"} and value["pub"]["dhbv_static"]["basins"] == 6
    for figure in ("temporal_nse_cdf", "temporal_by_aridity", "pub_nse_cdf"):
        assert (out / f"regional_dhbv_{figure}.png").is_file()
    assert (out / "regional_dhbv_temporal_et_bfi.csv").is_file()
    # Per-basin metrics, what the figures are drawn from, kept beside them: PUB with folds.
    pub = pd.read_csv(out / "regional_dhbv_pub_per_basin.csv", dtype={"basin": str})
    assert list(pub.columns) == ["model", "basin", "fold", "nse", "kge", "fhv", "flv"]
    assert len(pub) == 6 and pub["fold"].notna().all() and pub["nse"].notna().all()
    temporal = pd.read_csv(out / "regional_dhbv_temporal_per_basin.csv", dtype={"basin": str})
    assert set(temporal["model"]) == {"dhbv_dynamic", "regional_hybrid"}
    both = temporal.pivot(index="basin", columns="model", values="nse")
    assert np.isclose(
        both["dhbv_dynamic"].median(), value["temporal"]["dhbv_dynamic"]["nse"]["median"]
    )
    # Analysing again with only the PUB run left keeps the temporal tables.
    shutil.rmtree(tmp_path / "temporal_dhbv_quick")
    shutil.rmtree(tmp_path / "temporal_hybrid_quick")
    driver.main([], quick=True, resume=False, analyse_only=True)
    tables = (out / "regional_dhbv_tables.md").read_text()
    assert "## temporal" in tables and "## pub" in tables
    assert tables.index("## temporal") < tables.index("## pub")
