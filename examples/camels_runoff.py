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
# # Runoff in CAMELS basins: physical, neural and hybrid models
#
# This notebook repeats the per-basin experiment of Jiang, Zheng & Solomatine (2020, GRL) on a
# few CAMELS-US basins. Every basin gets its own four models:
#
# | model | what it is |
# |---|---|
# | `physical` | EXP-HYDRO (two buckets: snow and soil) written as a recurrent layer, the *P-RNN*; its six parameters are learned by gradient descent |
# | `common` | a 1-D convolutional network on the daily forcing (precipitation, temperature, day length, radiation, vapour pressure) |
# | `hybrid` | the same network, fed with the forcing *and* the discharge Q* of the P-RNN (which starts from the trained physical model and keeps learning) |
# | `lstm` | a long short-term memory network on the forcing |
#
# Periods (water years, October to September): training 1981-1996, validation (early
# stopping) 1997-2000, test 2001-2010; every run is spun up for a year before it is scored.
#
# Set `DGEO_QUICK=1` for a quick run (2 basins, 3 epochs: the numbers are then meaningless,
# it only checks that everything works); leave it unset for the full run (6 basins, up to
# 200 epochs, about 5 minutes on 2 CPU cores).

# %%
# %matplotlib inline
import os
import time
from pathlib import Path

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

import dgeo
from dgeo import plot
from dgeo.train import FitOptions, ModelOptions, Periods, run_models, train_models

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
# CAMELS-US in its original text layout (Newman et al. 2015): Daymet basin-mean forcing,
# USGS streamflow converted to mm/day, and the catchment attributes. Without the data the
# notebook runs on *synthetic twin catchments* (`dgeo.data.synthetic`) with the same variables:
# seeded weather, EXP-HYDRO as the truth plus a quick-flow process EXP-HYDRO lacks.

# %%
n_basins = 2 if QUICK else 6
camels = DATA / "camels_us"
if camels.is_dir():
    ds = dgeo.data.load_camels_us(camels)
    ds = ds.sel(basin=sorted(ds["basin"].values)[:n_basins])
else:
    print(f"NOTE: no CAMELS-US data at {camels}: using {n_basins} synthetic twin catchments")
    ds = dgeo.data.synthetic(n_basins=n_basins)
basins = list(ds["basin"].values)
ds[["area_gages2", "p_mean", "aridity", "frac_snow"]].to_pandas().round(2)

# %% [markdown]
# ## Training
#
# All basins of a model kind are trained at once (one stacked model per basin, the NSE of
# each basin is its own loss). The P-RNN starts from the best of many random parameter sets
# per basin; the hybrid starts from the trained P-RNN. Training stops when the validation NSE
# has not improved for 20 epochs, and each basin keeps its best epoch.

# %%
periods = Periods()  # train WY1981-1996, validation WY1997-2000, test WY2001-2010
if QUICK:
    model_options = ModelOptions(physical_starts=2, physical_search=100, hidden=16)
    fit_options = FitOptions(epochs=3)
else:
    model_options = ModelOptions(physical_starts=8, physical_search=2000, hidden=32)
    fit_options = FitOptions(epochs=200)

began = time.perf_counter()
models, fits = train_models(
    ds,
    ["physical", "common", "hybrid", "lstm"],
    periods,
    model_options,
    fit_options,
    progress=not QUICK,
)
print(f"trained in {time.perf_counter() - began:.0f} s")

# %% [markdown]
# ## Skill on the test period (water years 2001-2010)
#
# `run_models` simulates every model from a year before the test period and returns one
# xarray Dataset with observed and simulated discharge, the P-RNN's internal states and
# fluxes, the physical parameters and the metrics per model and basin. The table gives the
# median over basins: NSE, KGE, mNSE (modified NSE of Legates & McCabe 1999: absolute
# instead of squared errors), bias, peak-flow error
# (PFAB) and high/low-flow volume errors (FHV, FLV). Jiang et al. report median test NSEs
# around 0.7 for the hybrid and the LSTM on CAMELS; the physical model is lower.

# %%
results = run_models(models, ds, periods.test)
results["metrics"].median("basin").to_pandas().round(3)

# %% [markdown]
# NSE per basin:

# %%
results["metrics"].sel(metric="nse").to_pandas().round(3)

# %% [markdown]
# ## Hydrographs
#
# Observed (black) and simulated discharge over one test water year, and the three largest
# observed peaks of the whole test period. The legend gives each model's NSE for the basin.

# %%
basin = basins[0]
year = ("2007-10-01", "2008-09-30")  # water year 2008
plot.hydrograph(results, basin, start=year[0], end=year[1])

# %%
plot.peak_zoom(results, basin)

# %% [markdown]
# ## Skill across basins
#
# The empirical distribution of NSE over the basins (one line per model, median in the
# legend): the further right, the better.

# %%
plot.nse_cdf(results)

# %% [markdown]
# ## What the models learned
#
# The physical parameters per basin: `f` (decline of subsurface flow with storage deficit),
# `smax` (soil storage capacity), `qmax` (maximum subsurface flow), `df` (degree-day melt
# factor), `tmax`/`tmin` (temperatures of melt and of snowfall). The hybrid starts from the
# trained P-RNN and goes on adjusting its parameters together with the network, so its
# parameters drift from those of the physical model alone.

# %%
plot.parameters(results)

# %% [markdown]
# The internal fluxes and storages of the hybrid's P-RNN in the same water year: how
# precipitation splits into rain and snow, when the snowpack melts, evapotranspiration
# against potential evapotranspiration (dashed), and the two runoff components.

# %%
plot.fluxes(results, basin, model="hybrid", start=year[0], end=year[1])

# %% [markdown]
# ## Swapping the sensitivity method
#
# Training needs the gradient of a loss with respect to the parameters, through thousands of
# daily steps of the model. dgeo computes it in four ways, chosen with one argument
# (`sensitivity=`); all of them give the same gradient:
#
# - `Backprop()`: reverse mode through the daily loop; stores each day's state.
# - `Checkpoint()`: reverse mode with checkpointing; stores the state at the start of a fixed
#   number of stretches of days and recomputes each stretch once in the backward pass.
# - `Adjoint()`: the continuous adjoint ODE solved backwards within each day (continuous
#   solvers only).
# - `Forward()`: forward mode, one tangent per parameter name for all basins at once.
#
# We take the parameters the P-RNN learned, start from its simulated storages on
# 1 October 2001 and differentiate the mean squared error of discharge against the
# observations over two water years (one basin and one year in quick mode), once with the
# P-RNN's discrete daily step and once with a continuous adaptive Runge-Kutta solver
# (Tsit5). Gradients are compared in double precision.

# %%
jax.config.update("jax_enable_x64", True)

physics = dgeo.ExpHydro()
grad_basins = basins[:1] if QUICK else basins
window = ("2001-10-01", "2002-09-30") if QUICK else ("2001-10-01", "2003-09-30")
sub = ds.sel(basin=grad_basins, time=slice(*window))
forcing = dgeo.data.to_time_major(sub, physics.forcings, dtype=np.float64)  # name -> (time, basin)
forcing = {name: jnp.asarray(values) for name, values in forcing.items()}
qobs = jnp.asarray(sub["qobs"].transpose("time", "basin").values, dtype=jnp.float64)
observed = jnp.isfinite(qobs)

theta = results["parameters"].sel(model="physical", basin=grad_basins)
params = {p: jnp.asarray(theta.sel(parameter=p).values) for p in physics.parameter_names}
start = results.sel(model="physical", basin=grad_basins, time=window[0])
state0 = {s: jnp.asarray(start[s].values, jnp.float64) for s in physics.states}


def mse(solver, sensitivity):
    """The loss as a function of the parameters, for one solver and sensitivity method."""

    def loss(params):
        trajectory = dgeo.integrate(
            physics,
            forcing,
            params,
            solver=solver,
            sensitivity=sensitivity,
            initial_state=state0,
            save=("q",),
        )
        error = jnp.where(observed, trajectory.series["q"] - jnp.where(observed, qobs, 0.0), 0.0)
        return jnp.sum(error**2) / jnp.sum(observed)

    return loss


pd.DataFrame(params, index=grad_basins).round(3)

# %% [markdown]
# Each gradient is compiled once; we then time the median of three runs and ask XLA how much
# working memory the compiled gradient needs. The difference is against `Backprop()` with the
# same solver, relative to the largest gradient of each parameter over the basins.
#
# The continuous solver runs at a tight tolerance: the continuous adjoint approximates the
# exact gradient to within an error that shrinks with the tolerance, so a loose tolerance
# would blur the comparison. At tight tolerances the solver needs many steps on some days,
# hence the generous `max_steps_per_day` (the adjoint's backward solve shares that budget).

# %%
discrete = dgeo.Discrete()
tsit5 = dgeo.Continuous(diffrax.Tsit5(), rtol=1e-10, atol=1e-10, max_steps_per_day=1024)
cases = [
    ("discrete", discrete, dgeo.Backprop()),
    ("discrete", discrete, dgeo.Checkpoint()),
    ("discrete", discrete, dgeo.Forward()),
    ("Tsit5", tsit5, dgeo.Backprop()),
    ("Tsit5", tsit5, dgeo.Checkpoint()),
    ("Tsit5", tsit5, dgeo.Adjoint()),
    ("Tsit5", tsit5, dgeo.Forward()),
]
if QUICK:  # each case compiles a gradient: the references and the continuous adjoint only
    cases = [c for c in cases if type(c[2]).__name__ in ("Backprop", "Adjoint")]
rows, gradients = [], {}
for solver_name, solver, sensitivity in cases:
    method = type(sensitivity).__name__
    began = time.perf_counter()
    compiled = jax.jit(jax.grad(mse(solver, sensitivity))).lower(params).compile()
    compile_s = time.perf_counter() - began
    gradient = jax.block_until_ready(compiled(params))
    seconds = []
    for _ in range(3):
        began = time.perf_counter()
        jax.block_until_ready(compiled(params))
        seconds.append(time.perf_counter() - began)
    g = np.stack([np.asarray(gradient[p]) for p in physics.parameter_names])
    gradients[solver_name, method] = g
    reference = gradients[solver_name, "Backprop"]
    scale = np.abs(reference).max(axis=1, keepdims=True)  # per parameter, over basins
    rows.append(
        {
            "solver": solver_name,
            "method": method,
            "rel. difference vs Backprop": float(np.max(np.abs(g - reference) / scale)),
            "run s (median of 3)": float(np.median(seconds)),
            "compile s": compile_s,
            "working memory MiB": compiled.memory_analysis().temp_size_in_bytes / 2**20,
        }
    )
table = pd.DataFrame(rows).set_index(["solver", "method"])
print(table.to_string(float_format=lambda x: f"{x:.3g}"))

# %% [markdown]
# The gradient itself (Tsit5, `Backprop()`), one column per basin:

# %%
pd.DataFrame(
    gradients["Tsit5", "Backprop"], index=physics.parameter_names, columns=grad_basins
).map(lambda x: f"{x:.3e}")

# %% [markdown]
# An independent check: central finite differences against one method
# (`dgeo.check_gradients`, here with its default loss, the time mean of discharge and
# storages).

# %%
check = dgeo.check_gradients(
    physics,
    sub,
    {p: theta.sel(parameter=p) for p in physics.parameter_names},
    sensitivity=dgeo.Checkpoint(),
    initial_state={s: start[s] for s in physics.states},
)
print(f"Checkpoint() vs finite differences: worst relative error {check.worst_relative_error:.1e}")

# %% [markdown]
# **Which one to use?**
#
# - `Backprop()` is the default and usually the fastest. Its memory grows with the length of
#   the series (it stores one state per day), which stays small for a two-bucket model.
# - `Checkpoint()` gives the same gradient (to rounding) with memory that stays flat however
#   long the series, for one extra forward pass: use it for decades of daily data on
#   thousands of basins, or on a GPU with little memory.
# - `Adjoint()` is the continuous adjoint (optimise-then-discretise) for continuous solvers,
#   with days checkpointed like `Checkpoint()`. It approximates the gradient of the exact
#   solution, not of the solver's steps, so it differs from the three exact methods (which
#   agree to rounding) by an amount that shrinks as the tolerance is tightened: from about
#   1e-6 to 1e-2 relative on these basins, depending on the basin, the years and the
#   tolerance. It shrinks slowly for the snow parameters: the melt flux
#   min(S0, Df (T - Tmax)) has a kink where the snow runs out within a day, where the
#   adjoint's right-hand side jumps (smoothing the kink brings every parameter to ~1e-9,
#   `tests/test_gradients.py`). Prefer `Checkpoint()` for EXP-HYDRO.
# - `Forward()` costs one extra pass per parameter *name*, whatever the number of basins
#   (basins do not interact), and stores nothing for a backward pass: good for a handful of
#   parameters per basin, poor for neural networks with many weights.
#
# Timings depend on the machine (and compile times dominate short series). Memory matters at
# scale: in `benchmarks/results/physics.md`, the discrete gradient over 671 basins and 30
# years needs 56 MiB of working memory with `Backprop()` and 5 MiB with `Checkpoint()`; with
# a few basins and two years, as here, every method needs well under a few MiB.

# %% [markdown]
# ## Figures for the README (full mode only)

# %%
if not QUICK:
    plot.save(
        plot.hydrograph(results, basin, start=year[0], end=year[1]),
        FIGURES / "runoff_hydrograph.png",
        dpi=80,
    )
    plot.save(plot.nse_cdf(results), FIGURES / "runoff_nse_cdf.png", dpi=80)
    print(f"figures written to {FIGURES}")
