"""What a run needs from its data, checked before anything is written or trained."""

from __future__ import annotations

import pandas as pd
import xarray as xr

from ..config import RunConfig
from ..data import DataError


def _covered(ds: xr.Dataset, name: str, dates, before: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The period `name` as timestamps, checked to lie in the data with `before` spin-up days."""
    from ..data import check_axes

    _, time_axis = check_axes(ds)
    first, last = pd.Timestamp(time_axis[0]).date(), pd.Timestamp(time_axis[-1]).date()
    start, end = pd.Timestamp(dates[0]), pd.Timestamp(dates[1])
    spun = (start - pd.Timedelta(days=before)).date()
    if spun < first or end.date() > last:
        need = f" with its {before} spin-up days (from {spun})" if before else ""
        raise DataError(
            f"periods.{name} {start.date()}..{end.date()}{need} is not covered by the "
            f"data, which run {first}..{last}"
        )
    return start, end


def _periods(config: RunConfig):
    """(name, dates) of the periods the run uses."""
    for name in ("train", "validation", "test"):
        dates = getattr(config.periods, name)
        if dates is not None:
            yield name, dates


def _check_basin_models(config: RunConfig, ds: xr.Dataset) -> None:
    from ..models import required_forcings
    from ..train._windows import basin_series, check_observed, window_starts

    spinup = config.training.spinup_days
    forcings = required_forcings(config.models, config.model_options().physics)
    for name, dates in _periods(config):
        before = 0 if name == "train" else spinup
        start, end = _covered(ds, name, dates, before)
        try:
            series = basin_series(ds, start, end, spinup_days=before, forcings=forcings)
            if name == "train":
                window_starts(len(series.time), config.model.window_days, 1)
            if name != "test":
                check_observed(series, spinup, "training" if name == "train" else name)
        except DataError as err:
            raise DataError(f"periods.{name} {start.date()}..{end.date()}: {err}") from None


def _check_regional_models(config: RunConfig, ds: xr.Dataset, options: dict) -> None:
    from ..data import attribute_matrix
    from ..train import regional_series
    from ..train._windows import check_observed

    spinup = max(o.spinup_days for o in options.values())
    physics = next(iter(options.values())).physics
    for name, dates in _periods(config):
        before = 0 if name == "train" else spinup
        start, end = _covered(ds, name, dates, before)
        try:
            series = regional_series(ds, start, end, spinup_days=before, physics=physics)
            if name != "test":
                check_observed(series, spinup, "training" if name == "train" else name)
        except DataError as err:
            raise DataError(f"periods.{name} {start.date()}..{end.date()}: {err}") from None
    for attributes in {o.attributes for o in options.values()}:
        attribute_matrix(ds, attributes)  # each there, over basin, finite
    n = ds.sizes["basin"]
    if config.experiment.type == "pub" and n < config.experiment.folds:
        raise DataError(
            f"experiment.folds is {config.experiment.folds}, but the data give only {n} "
            "basin(s): every fold needs at least one"
        )


def _check_snow(config: RunConfig, ds: xr.Dataset) -> None:
    from pathlib import Path

    snow = config.snow
    if not Path(snow.swe).is_file():
        raise DataError(f"snow.swe {snow.swe}: no such file")
    with xr.open_dataset(snow.swe) as f:
        if snow.variable not in f:
            raise DataError(
                f"snow.swe {snow.swe} has no variable {snow.variable!r}; it has "
                f"{', '.join(map(str, f.data_vars))}"
            )
        shared = set(f["basin"].values.astype(str)) & set(ds["basin"].values.astype(str))
    if not shared:
        raise DataError(f"snow.swe {snow.swe} has none of the run's basins")


def check_run(config: RunConfig, ds: xr.Dataset, options: dict | None = None) -> None:
    """Check before training what training and the test evaluation need from `ds`: every
    period inside the data with its spin-up (the training period's first spin-up days are its
    own spin-up; validation and test need the spin-up days before them), the forcings the
    models read and discharge with their units, no gaps in the forcing, and observed
    discharge in the training and validation periods; for regional models also the static
    attributes (`options`: kind -> `RegionalOptions`, default from the configuration and the
    data source) and enough basins for the folds; with `snow:` the SWE file. Raises
    `DataError` naming the period and the data's range, or the basin, variable and date at
    fault."""
    if config.is_regional:
        if options is None:
            from ._data import regional_options

            options = regional_options(config)
        _check_regional_models(config, ds, options)
    else:
        _check_basin_models(config, ds)
    if config.snow is not None:
        _check_snow(config, ds)
