"""Run directories: train an experiment from a configuration, evaluate a trained run, the demo.

A run directory holds `config.yml` (the configuration it was trained with, its paths made
absolute; with `--quick` its quick overrides applied), `run.json` (the run's record: the dgeo
version, the data and a fingerprint of the data files, the basins and periods, the
experiment, and whether training has finished), `checkpoints/` (the training state after
every epoch, for `--resume`: `checkpoints/<model>/`, or `checkpoints/<model>/fold<i>/` in a
cross-validation), `models/` (the trained weights; a cross-validation keeps each finished
fold's results in `folds/` instead), `history.csv`, `results.nc` (the test-period results
Dataset; a cross-validation's has a `fold` coordinate on `basin`), `metrics.csv`,
`summary.json` (each model's NSE median, mean, std and number of basins below zero, and its
training seconds) and `figures/`. It is self-contained: `evaluate_run` needs nothing else,
from any working directory, as long as the data stay where they were.

`train_run` checks the configuration against the data (every period with its spin-up, the
basins, the variables, the attributes) before it creates the folder or writes anything, and a
resumed run against the configuration it was started with before changing anything in it.
"""

from ._checks import check_run
from ._data import data_fingerprint, load_data, open_data, regional_options
from ._demo import DEMO_CONFIG, demo
from ._evaluate import evaluate_run
from ._outputs import _figures as _figures  # tests draw a run's figures alone
from ._outputs import metric_summary, nse_summary, print_summary, write_results
from ._record import dgeo_version, has_checkpoint, holds_run
from ._train import train_run

__all__ = [
    "DEMO_CONFIG",
    "check_run",
    "data_fingerprint",
    "demo",
    "dgeo_version",
    "evaluate_run",
    "has_checkpoint",
    "holds_run",
    "load_data",
    "metric_summary",
    "nse_summary",
    "open_data",
    "print_summary",
    "regional_options",
    "train_run",
    "write_results",
]
