"""Training many basins at once: windows, NSE loss, the fitting loop and the run workflow."""

from ._checkpoint import CheckpointError, has_checkpoint
from ._feed import ArraySamples, Samples
from ._fit import FitOptions, FitResult, fit, predict, validation_nse
from ._loop import Cosine, LoopResult, Plateau, Schedule, train_loop
from ._mesh import data_mesh, data_parallel
from ._regional import (
    RegionalFit,
    RegionalOptions,
    nse_star_loss,
    predict_regional,
    process_share,
    regional_series,
    train_regional,
)
from ._regional_runs import (
    cross_validate,
    load_regional,
    regional_results,
    regional_skeleton,
    save_regional,
    simulate_regional,
)
from ._stream import LazyWindows
from ._windows import Series, basin_series, nse_loss, nse_terms, window_starts, windows
from ._workflow import (
    ModelOptions,
    Periods,
    load_models,
    model_skeletons,
    run_models,
    save_models,
    simulate_models,
    train_models,
)

__all__ = [
    "ArraySamples",
    "CheckpointError",
    "LazyWindows",
    "Samples",
    "process_share",
    "Cosine",
    "LoopResult",
    "Plateau",
    "Schedule",
    "has_checkpoint",
    "load_regional",
    "regional_skeleton",
    "save_regional",
    "train_loop",
    "data_mesh",
    "data_parallel",
    "FitOptions",
    "FitResult",
    "RegionalFit",
    "RegionalOptions",
    "cross_validate",
    "nse_star_loss",
    "predict_regional",
    "regional_results",
    "regional_series",
    "simulate_regional",
    "train_regional",
    "ModelOptions",
    "Periods",
    "Series",
    "basin_series",
    "fit",
    "load_models",
    "model_skeletons",
    "nse_loss",
    "nse_terms",
    "predict",
    "run_models",
    "save_models",
    "simulate_models",
    "train_models",
    "validation_nse",
    "window_starts",
    "windows",
]
