"""Training many basins at once: windows, NSE loss, the fitting loop and the run workflow."""

from ._fit import FitOptions, FitResult, fit, predict, validation_nse
from ._regional import (
    RegionalFit,
    RegionalOptions,
    cross_validate,
    nse_star_loss,
    predict_regional,
    regional_results,
    regional_series,
    simulate_regional,
    train_regional,
)
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
