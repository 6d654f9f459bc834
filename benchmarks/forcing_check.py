"""Is ERA5-Land forcing what holds the regional models back? EXP-HYDRO on both forcings.

The regional experiments use Caravan's ERA5-Land precipitation and temperature; the per-basin
experiment uses CAMELS' Daymet. For the basins in both data sets, the best of `--samples`
random EXP-HYDRO parameter sets per basin (no gradient training) is scored over water years
1981-2000 (after a one-year spin-up) on each forcing, with Hamon PET from temperature and day
length either way. All 473 Caravan basins are scored as well.

Writes benchmarks/results/forcing_check.json.
Usage: python benchmarks/forcing_check.py [--samples N]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from dgeo.data import load_camels_us, load_caravan
from dgeo.evaluate import nse
from dgeo.physics import ExpHydro
from dgeo.solve import integrate
from dgeo.train import regional_series
from dgeo.train._search import search_starts

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PERIOD, SPINUP = ("1981-01-01", "2000-09-30"), 365


def best_random_nse(ds, samples: int) -> np.ndarray:
    """Per basin: NSE of the best of `samples` random parameter sets (fit on this period)."""
    physics = ExpHydro()
    series = regional_series(ds, *PERIOD)
    best = search_starts(
        physics, series, samples=samples, starts=1, key=jax.random.key(0), spinup_days=SPINUP
    )[:, 0]
    lower = np.array([p.lower for p in physics.parameters])
    upper = np.array([p.upper for p in physics.parameters])
    values = lower + (upper - lower) * best
    params = {
        p.name: jnp.asarray(values[:, i], jnp.float32) for i, p in enumerate(physics.parameters)
    }
    forcing = {n: jnp.asarray(series.inputs[n].T) for n in physics.forcings}
    q = np.asarray(integrate(physics, forcing, params, save=("q",)).series["q"]).T
    return np.asarray(nse(series.qobs[:, SPINUP:], q[:, SPINUP:], axis=-1))


def summary(nse: np.ndarray) -> dict:
    return {"median": float(np.nanmedian(nse)), "n": int(np.isfinite(nse).sum())}


def main(samples: int) -> dict:
    daymet = load_camels_us(DATA / "camels_us")
    era5 = load_caravan(
        DATA / "caravan_camels_us.nc", DATA / "camels_us" / "camels_attributes_v2.0"
    )
    common = sorted(set(daymet["basin"].values.astype(str)) & set(era5["basin"].values.astype(str)))
    on_daymet = best_random_nse(daymet.sel(basin=common), samples)
    on_era5 = best_random_nse(era5.sel(basin=common), samples)
    all_era5 = best_random_nse(era5, samples)
    result = {
        "what": f"best of {samples} random EXP-HYDRO parameter sets per basin, NSE over "
        f"{PERIOD[0]}..{PERIOD[1]} after {SPINUP} days of spin-up (a fit, not a test)",
        "common_basins": common,
        "daymet": summary(on_daymet) | {"per_basin": np.round(on_daymet, 3).tolist()},
        "era5_land": summary(on_era5) | {"per_basin": np.round(on_era5, 3).tolist()},
        "era5_land_all_473": summary(all_era5),
    }
    out = ROOT / "benchmarks" / "results" / "forcing_check.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "common_basins"}, indent=1)[:800])
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=2048)
    main(parser.parse_args().samples)
