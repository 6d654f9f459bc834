# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Snow the model was never shown: regional hybrid S0 against observed SWE
#
# The regional hybrid model of Jiang, Zheng & Solomatine (2020, GRL) is one model for
# hundreds of basins: a network maps each basin's static attributes (climate, topography,
# soils, vegetation) to the parameters of EXP-HYDRO, whose P-RNN runs on the daily forcing;
# a second network maps the attributes to the weights of a convolutional head that turns the
# P-RNN's fluxes into discharge. It is trained on **discharge only**.
#
# EXP-HYDRO has a snow bucket S0. Nothing tells the model what S0 should be, yet if the
# model is right for the right reasons, S0 should follow the snowpack. Here we compare S0
# with an independent product, the University of Arizona 4 km daily snow water equivalent
# (SWE, Zeng et al. 2018), averaged over each basin. Jiang et al. report a correlation of
# 0.99 between basin-mean S0 and basin-mean SWE.
#
# Set `DGEO_QUICK=1` for a quick check (20 basins, 2 epochs: the numbers are then
# meaningless); leave it unset for the full run (473 basins, 40 epochs, about 2 minutes on 2
# CPU cores).

# %%
# %matplotlib inline
import os
from dataclasses import replace
from pathlib import Path

import xarray as xr

import dgeo
from dgeo import plot
from dgeo.train import RegionalOptions, regional_results, train_regional

QUICK = os.environ.get("DGEO_QUICK") == "1"
REPO = Path.cwd().resolve()  # the repository root, or its examples/ folder
if REPO.name == "examples":
    REPO = REPO.parent
DATA = Path(os.environ.get("DGEO_DATA", REPO.parent / "shared" / "data"))
FIGURES = REPO / "examples" / "figures"
print(f"{'quick' if QUICK else 'full'} mode; data folder {DATA}")

# %% [markdown]
# ## Data
#
# - Forcing: Caravan's ERA5-Land basin-mean precipitation and mean temperature for 473
#   CAMELS-US basins (Kratzert et al. 2023); day length is computed from latitude and PET
#   is Hamon's, computed inside EXP-HYDRO.
# - Discharge: USGS streamflow from CAMELS-US (mm/day).
# - Attributes: the 27 static attributes of Kratzert et al. (2019) from CAMELS.
# - SWE: University of Arizona daily SWE per basin, used **only** for the comparison below.
#
# Without the data the notebook falls back to 12 synthetic twin catchments, whose true snow
# storage plays the part of the observed SWE.

# %%
caravan = DATA / "caravan_camels_us.nc"
attributes = DATA / "camels_us" / "camels_attributes_v2.0"
swe_file = DATA / "camels_us_swe.nc"
options = RegionalOptions(epochs=40, learning_rate=0.005, batch_size=32)
if caravan.is_file() and attributes.is_dir() and swe_file.is_file():
    ds = dgeo.data.load_caravan(caravan, attributes)
    with xr.open_dataset(swe_file) as f:
        swe = f["swe_ua"].load()
    swe = swe.assign_coords(basin=swe["basin"].values.astype(str))
    train_period = ("1981-01-01", "1996-09-30")  # Caravan starts in January 1981
else:
    print(
        f"NOTE: no Caravan/SWE data under {DATA}: using 12 synthetic twin catchments, and "
        "their true snow storage as the 'observed' SWE (six attributes only)"
    )
    ds = dgeo.data.synthetic(n_basins=12)
    swe = ds["true_snow_storage"]
    attrs = ("p_mean", "pet_mean", "aridity", "frac_snow", "elev_mean", "area_gages2")
    options = replace(options, attributes=attrs)
    train_period = ("1980-10-01", "1996-09-30")
validation_period = ("1996-10-01", "2000-09-30")  # water years 1997-2000: best epoch kept
test_period = ("2000-10-01", "2010-09-30")  # water years 2001-2010
if QUICK:
    step = max(1, ds.sizes["basin"] // 20)
    ds = ds.isel(basin=slice(0, 20 * step, step))  # 20 basins spread over the list
    options = replace(options, epochs=2, search=32)
basins = ds["basin"].values
print(
    f"{len(basins)} basins; training {train_period}, validation {validation_period}, test {test_period}"
)

# %% [markdown]
# ## Training on discharge
#
# One regional hybrid for all basins, trained on mini-batches of six-year windows with the
# NSE* loss (squared errors scaled by each basin's discharge variability, so wet and dry
# basins weigh alike). The first year of every window spins the storages up. After every
# epoch the model is scored on water years 1997-2000 and the best epoch is kept.

# %%
fit = train_regional(
    ds,
    "regional_hybrid",
    basins,
    train_period,
    options,
    validation=validation_period,
    progress=not QUICK,
)
print(f"trained in {fit.seconds:.0f} s, last epoch loss {fit.history[-1]['loss']:.3f}")

# %% [markdown]
# ## Discharge on the test period
#
# The model runs on every basin over water years 2001-2010 (spun up from October 1999).
# Median, mean and quartiles of the test NSE across basins:

# %%
results = regional_results({"regional_hybrid": fit.model}, ds, test_period, options)
nse = results["metrics"].sel(model="regional_hybrid", metric="nse").to_pandas()
nse.describe().round(3)

# %% [markdown]
# ## Snow storage against SWE
#
# `snow_correlation` pairs S0 and SWE day by day over the test period. The headline numbers:
#
# - `basin_mean_correlation`: correlation of the daily series averaged over all basins (the
#   number Jiang et al. report as 0.99);
# - `per_basin_correlation`: within each snowy basin (mean SWE >= 1 mm), median and quartiles;
# - `spatial_correlation`: across snowy basins, of the 10-year means (does the model put snow
#   where there is snow?).

# %%
s0 = results["snow_storage"].sel(model="regional_hybrid")
snow = dgeo.evaluate.snow_correlation(s0, swe)
dgeo.evaluate.snow_summary(snow)

# %%
plot.snow_series(snow)

# %% [markdown]
# The four snowiest basins: does S0 build up and melt with the observed snowpack? The model
# only ever saw precipitation, temperature, day length and discharge.

# %%
snowiest = snow["mean_swe"].sortby(snow["mean_swe"], ascending=False)["basin"].values[:4]
plot.snow_basins(s0, swe, list(snowiest))

# %% [markdown]
# Where the snow is: mean S0 and mean observed SWE per basin on one colour scale.

# %%
lat = ds["lat"].sel(basin=snow["basin"].values)
lon = ds["lon"].sel(basin=snow["basin"].values)
plot.snow_map(snow, lat, lon)

# %% [markdown]
# Per-basin correlations (left) and the 10-year means of S0 against SWE (right). S0 is a
# conceptual bucket, not a measured snowpack: its level can be biased (the model only needs
# the timing of melt to get discharge right), so expect high correlations with a slope
# different from 1.

# %%
plot.snow_correlations(snow)

# %% [markdown]
# ## Snow that never melts
#
# A bucket model can also use S0 as a sink for water it cannot route to the stream: with a
# melt factor `df` near zero, snow never melts and S0 grows year after year. A few such
# basins can dominate the basin-mean series and its correlation. `perennial_snow` flags the
# basins whose S0 stays above 1 mm through whole water years in most years; we look at their
# learned parameters and recompute the statistics without them.

# %%
towers = dgeo.evaluate.perennial_snow(s0)
sinks = towers["basin"].values[towers.values]
print(f"{len(sinks)} of {s0.sizes['basin']} basins keep their snow all year in most years")
if 0 < len(sinks) < s0.sizes["basin"]:
    parameters = results["parameters"].sel(model="regional_hybrid", basin=sinks)
    print(parameters.to_pandas().describe().round(2))
    rest = dgeo.evaluate.snow_correlation(s0.drop_sel(basin=sinks), swe)
    print(dgeo.evaluate.snow_summary(rest))

# %% [markdown]
# ## Figures for the README (full mode only)

# %%
if not QUICK:
    plot.save(plot.snow_series(snow), FIGURES / "snow_basin_mean.png", dpi=80)
    plot.save(plot.snow_map(snow, lat, lon), FIGURES / "snow_map.png", dpi=80)
    print(f"figures written to {FIGURES}")
