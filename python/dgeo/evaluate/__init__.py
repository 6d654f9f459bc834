"""Evaluation: NaN-aware skill metrics, the results Dataset of a run, snow inference against SWE."""

from ._metrics import (
    FLV_FLOOR,
    METRIC_INFO,
    METRICS,
    MetricInfo,
    bias,
    fhv,
    flv,
    kge,
    metrics_table,
    mnse,
    nse,
    nse_decomposition,
    pfab,
    rmse,
    summarise,
)
from ._results import load_results, results_dataset, save_results
from ._snow import perennial_snow, snow_correlation, snow_summary

__all__ = [
    "FLV_FLOOR",
    "METRICS",
    "METRIC_INFO",
    "MetricInfo",
    "bias",
    "fhv",
    "flv",
    "kge",
    "load_results",
    "metrics_table",
    "mnse",
    "nse",
    "nse_decomposition",
    "perennial_snow",
    "pfab",
    "results_dataset",
    "rmse",
    "save_results",
    "snow_correlation",
    "snow_summary",
    "summarise",
]
