"""dgeo as a framework: a physical model and a data source declared here, in the test file,
trained per basin and regionally through the public API and through a YAML configuration,
without any change to a library file.

`TwoBuckets` is a snow bucket over a fast and a slow linear reservoir that needs potential
evapotranspiration `pet` as a forcing (EXP-HYDRO computes its own); `PetTwins` is a data source
that serves dgeo's synthetic twin catchments with a Hamon `pet` added.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr
import yaml

import dgeo
from dgeo.data import DataError, DataSource, synthetic
from dgeo.physics import Parameter, PhysicalModel, hamon_pet, smooth_step
from dgeo.train import (
    FitOptions,
    ModelOptions,
    Periods,
    RegionalOptions,
    cross_validate,
    regional_results,
    run_models,
    train_models,
    train_regional,
)


class TwoBuckets(PhysicalModel):
    """Snow bucket (degree-day melt) over a fast and a slow linear reservoir.

    Rain and melt split into the fast store (share 1 - `split`) and the slow one (`split`);
    the fast store evaporates `ce` PET scaled by its fullness and drains at `kf` per day, the
    slow one at `ks` per day; discharge is the sum of both drains.
    """

    parameters: ClassVar = (
        Parameter("tt", -2.0, 2.0, "degC", "rain/snow and melt threshold temperature"),
        Parameter("ddf", 0.5, 5.0, "mm/degC/day", "degree-day melt factor"),
        Parameter("kf", 0.05, 0.8, "1/day", "fast store drain rate"),
        Parameter("ks", 0.002, 0.1, "1/day", "slow store drain rate"),
        Parameter("split", 0.1, 0.9, "1", "share of water to the slow store"),
        Parameter("ce", 0.2, 1.2, "1", "evaporation coefficient"),
    )
    states: ClassVar = ("snow", "fast", "slow")
    fluxes: ClassVar = (
        "snowfall",
        "rainfall",
        "melt",
        "evaporation",
        "fast_flow",
        "slow_flow",
        "q",
    )
    forcings: ClassVar = {"prcp": "mm/day", "tmean": "degC", "pet": "mm/day"}
    inflows: ClassVar = ("snowfall", "rainfall")
    outflows: ClassVar = ("evaporation", "fast_flow", "slow_flow")

    def rates(self, state, forcing, params):
        snow, fast, slow = state["snow"], state["fast"], state["slow"]
        p, t, pet = forcing["prcp"], forcing["tmean"], forcing["pet"]
        cold = smooth_step(params["tt"] - t)
        snowfall, rainfall = cold * p, (1.0 - cold) * p
        melt = jnp.minimum(jnp.maximum(snow, 0.0), params["ddf"] * jnp.maximum(t - params["tt"], 0))
        water = rainfall + melt
        wet = jnp.maximum(fast, 0.0)
        evaporation = params["ce"] * pet * wet / (wet + 20.0)
        fast_flow, slow_flow = params["kf"] * wet, params["ks"] * jnp.maximum(slow, 0.0)
        tendency = {
            "snow": snowfall - melt,
            "fast": (1.0 - params["split"]) * water - evaporation - fast_flow,
            "slow": params["split"] * water - slow_flow,
        }
        fluxes = {
            "snowfall": snowfall,
            "rainfall": rainfall,
            "melt": melt,
            "evaporation": evaporation,
            "fast_flow": fast_flow,
            "slow_flow": slow_flow,
            "q": fast_flow + slow_flow,
        }
        return tendency, fluxes


@dataclasses.dataclass(frozen=True)
class PetTwins(DataSource):
    """dgeo's synthetic twin catchments with Hamon PET (mm/day) as a forcing."""

    name: ClassVar[str] = "pet_twins"
    default_attributes: ClassVar[tuple[str, ...]] = ("p_mean", "aridity", "frac_snow")
    n_basins: int = 4
    end: str = "1990-09-30"

    def _all(self) -> xr.Dataset:
        return synthetic(n_basins=self.n_basins, start="1984-10-01", end=self.end, seed=3)

    def basin_ids(self) -> list[str]:
        return [str(b) for b in self._all()["basin"].values]

    def load(self, basins=None) -> xr.Dataset:
        ds = self._all()
        if basins is not None:
            ds = ds.sel(basin=list(basins))
        pet = hamon_pet(ds["tmean"].values, ds["dayl"].values / 86400.0)
        ds["pet"] = (("basin", "time"), np.asarray(pet), {"units": "mm/day"})
        return self.validated(ds, basins)


PERIODS = Periods(
    train=("1984-10-01", "1987-09-30"),
    validation=("1987-10-01", "1988-09-30"),
    test=("1988-10-01", "1990-09-30"),
)
REGIONAL = RegionalOptions(
    physics=TwoBuckets(),
    attributes=PetTwins.default_attributes,
    epochs=2,
    batch_size=4,
    window_days=730,
    stride_days=365,
    search=16,
)


@pytest.fixture(scope="module")
def twins() -> xr.Dataset:
    return PetTwins().load()


def test_the_new_model_closes_its_water_balance(twins):
    params = {p.name: 0.5 * (p.lower + p.upper) for p in TwoBuckets.parameters}
    result = dgeo.simulate(TwoBuckets(), twins, params, dtype=np.float64)
    residual = dgeo.mass_balance(TwoBuckets(), result)
    assert float(abs(residual).max()) < 1e-8
    assert float(result["q"].mean()) > 0.1  # it makes discharge


@pytest.mark.slow
def test_new_model_trains_per_basin_through_the_public_api(twins):
    options = ModelOptions(
        physics=TwoBuckets(), physical_starts=2, physical_search=64, window_days=730
    )
    models, fits = train_models(
        twins, ("physical", "hybrid"), PERIODS, options, FitOptions(epochs=4), progress=False
    )
    results = run_models(models, twins, PERIODS.test)
    assert list(results["parameter"].values) == [p.name for p in TwoBuckets.parameters]
    assert results.attrs["physics"] == "TwoBuckets"
    assert results.attrs["states"] == "snow fast slow"
    for name in ("snow", "fast", "slow", "fast_flow", "evaporation"):
        assert np.isfinite(results[name].sel(model="physical")).all(), name
    for p in TwoBuckets.parameters:  # learned within the declared bounds
        values = results["parameters"].sel(model="physical", parameter=p.name).values
        assert ((values >= p.lower) & (values <= p.upper)).all(), p.name
    # The random search picked sensible starts: the P-RNN already has skill.
    assert float(np.median(results["metrics"].sel(model="physical", metric="nse"))) > 0
    # The PET it needs was read from the data: without it, an error names the variable.
    with pytest.raises(DataError, match="pet"):
        train_models(
            twins.drop_vars("pet"), "physical", PERIODS, options, FitOptions(epochs=1),
            progress=False,
        )  # fmt: skip


@pytest.mark.slow
def test_new_model_trains_regionally_through_the_public_api(twins):
    basins = twins["basin"].values
    fit = train_regional(twins, "regional_hybrid", basins, PERIODS.train, REGIONAL, progress=False)
    results = regional_results({"regional_hybrid": fit.model}, twins, PERIODS.test, REGIONAL)
    assert list(results["parameter"].values) == [p.name for p in TwoBuckets.parameters]
    assert np.isfinite(results["snow"]).all() and np.isfinite(results["qsim"]).all()
    pub, _ = cross_validate(
        twins, ["regional_physical"], train_period=PERIODS.train, test_period=PERIODS.test,
        folds=2, options=REGIONAL, keep=("q", "slow"), progress=False,
    )  # fmt: skip
    assert "slow" in pub and pub.sizes["basin"] == len(basins)


def _write_config(tmp_path, mapping) -> str:
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return str(path)


@pytest.mark.parametrize(
    "models",
    # The hybrids are trained from Python above; here the cheaper models suffice.
    [["physical"], ["regional_physical"]],
    ids=["per-basin", "regional"],
)
@pytest.mark.slow
def test_new_model_and_data_source_train_from_a_yaml_config(tmp_path, models):
    """The YAML names the model and the source by import path; `dgeo train` runs them."""
    from dgeo.cli import main
    from dgeo.evaluate import load_results

    mapping = {
        "data": {"source": "test_framework:PetTwins", "n_basins": 3},
        "physics": "test_framework:TwoBuckets",
        "models": models,
        "periods": {k: list(v) for k, v in dataclasses.asdict(PERIODS).items()},
    }
    if models[0].startswith("regional"):
        mapping["experiment"] = {"type": "temporal"}
        mapping["regional"] = {
            "epochs": 2, "batch_size": 4, "window_days": 730, "stride_days": 365, "search": 16,
        }  # fmt: skip
    else:
        mapping["model"] = {"physical_starts": 1, "physical_search": 32, "window_days": 730}
        mapping["training"] = {"epochs": 2}
    run_dir = tmp_path / "run"
    assert main(["train", _write_config(tmp_path, mapping), "--run-dir", str(run_dir),
                 "--quiet"]) == 0  # fmt: skip
    results = load_results(run_dir / "results.nc")
    assert results.attrs["physics"] == "TwoBuckets"
    assert list(results["parameter"].values) == [p.name for p in TwoBuckets.parameters]
    assert list(results["model"].values) == models
    assert (run_dir / "figures" / "nse_cdf.png").is_file()
