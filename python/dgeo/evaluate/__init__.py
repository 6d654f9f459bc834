"""Evaluation: NaN-aware skill metrics and the results Dataset of a run."""

from ._metrics import (
    METRICS,
    bias,
    fhv,
    flv,
    kge,
    metrics_table,
    mnse,
    nse,
    pfab,
    rmse,
    summarise,
)
from ._results import load_results, results_dataset, save_results

__all__ = [
    "METRICS",
    "bias",
    "fhv",
    "flv",
    "kge",
    "load_results",
    "metrics_table",
    "mnse",
    "nse",
    "pfab",
    "results_dataset",
    "rmse",
    "save_results",
    "summarise",
]
