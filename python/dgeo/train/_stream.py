"""Regional training on more basins than fit in memory: windows read from the data on demand.

`train_regional(..., options=RegionalOptions(stream=True))` never holds every basin at once.
One pass over the basins in blocks (`survey`) checks them, collects the standardisation
statistics as sums (so that several processes can add theirs: `dgeo.distributed`), each basin's
discharge spread and which of its windows have observations. Training then reads each
mini-batch's windows from the dataset (`LazyWindows`), which `train_loop` does one step ahead
in a background thread. Open the data lazily (`dgeo.data.NetCDF(path, lazy=True)`, or any
xarray dataset backed by files or dask): memory then grows with the batch and the block, not
with the number of basins.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np
import pandas as pd
import xarray as xr

from ..data import DataError
from ..models import REGIONAL_FORCINGS
from ..nn import Standardiser
from ..physics import PhysicalModel
from ._feed import Samples, shared_failure
from ._windows import Series, check_observed, observed_basins, window_starts

#: Basins read at once by the survey and by streamed validation.
BLOCK = 256


class _Moments:
    """Count, sum and sum of squares per feature, NaN left out (float64)."""

    def __init__(self, features: int):
        self.sums = np.zeros((3, features))

    def add(self, x: np.ndarray) -> None:
        x = np.asarray(x, np.float64).reshape(-1, x.shape[-1])
        seen = np.isfinite(x)
        x = np.where(seen, x, 0.0)
        self.sums += np.stack([seen.sum(0), x.sum(0), (x * x).sum(0)])

    def standardiser(self) -> Standardiser:
        """The `Standardiser` of everything added (over every process, when there are several:
        the sums are added up first)."""
        count, total, squares = self.sums
        if jax.process_count() > 1:
            from jax.experimental import multihost_utils

            gathered = multihost_utils.process_allgather(self.sums)
            count, total, squares = np.sum(gathered, axis=0)
        mean = total / np.maximum(count, 1)
        std = np.sqrt(np.maximum(squares / np.maximum(count, 1) - mean * mean, 0.0))
        std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
        return Standardiser(jax.numpy.asarray(mean, float), jax.numpy.asarray(std, float))


def blocks(n: int, size: int = BLOCK):
    """Index ranges [0, size), [size, 2 size), ... covering n."""
    return (np.arange(i, min(i + size, n)) for i in range(0, n, size))


@dataclass
class Survey:
    """What one pass over the basins found: the standardisers of the forcings and discharge,
    each basin's discharge spread, and the (basin, start) of every window with observations."""

    forcing_stats: Standardiser
    q_stats: Standardiser
    spread: np.ndarray  # (basin,)
    basin: np.ndarray  # (sample,) window's basin
    start: np.ndarray  # (sample,) window's first day
    length: int  # days per window


def survey(
    read, n_basins: int, days: int, window_days: int, stride_days: int, spinup_days: int
) -> Survey:
    """Read the `n_basins` basins in blocks (`read(index) -> Series`) once: the statistics of
    the training data, the discharge spreads, and the windows to train on (those with at least
    two observed days after the spin-up). A basin without observations is a `DataError`
    naming it, as for in-memory training."""
    length = min(window_days, days)
    starts = window_starts(days, length, stride_days)
    forcing, q = _Moments(len(REGIONAL_FORCINGS)), _Moments(1)
    spread, basin, start = np.empty(n_basins), [], []
    with shared_failure("reading their basins' training data"):
        for index in blocks(n_basins):
            series = read(index)
            check_observed(series, spinup_days, "training")
            forcing.add(np.stack([series.inputs[k] for k in REGIONAL_FORCINGS], axis=-1))
            q.add(series.qobs[..., None])
            spread[index] = np.nanstd(series.qobs, axis=1)
            observed = np.isfinite(series.qobs)
            counts = np.cumsum(np.pad(observed, ((0, 0), (1, 0))), axis=1)
            scored = counts[:, starts + length] - counts[:, starts + spinup_days]
            b, w = np.nonzero(scored >= 2)  # (basin, window) with >= 2 observed days scored
            basin.append(index[b])
            start.append(starts[w])
    return Survey(
        forcing.standardiser(),
        q.standardiser(),
        spread,
        np.concatenate(basin),
        np.concatenate(start),
        length,
    )


class LazyWindows(Samples):
    """Regional training windows read from the data a batch at a time.

    `read(index, first, stop)` gives the `Series` of the basins `index` (sorted, unique) over
    days `first` .. `stop - 1` of the training period. A batch reads, for each window start
    it holds (a handful: the starts lie on one grid), the days of those windows of the
    basins they come from, not their whole records. The samples are those of `survey`, in
    basin-major order like the in-memory windows.
    """

    def __init__(self, read, found: Survey, attributes: np.ndarray):
        self.read, self.found, self.attributes = read, found, attributes

    def __len__(self) -> int:
        return len(self.found.basin)

    def take(self, index: np.ndarray):
        from ._regional import Windows

        basin, start = self.found.basin[index], self.found.start[index]
        length = self.found.length
        inputs: dict[str, np.ndarray] = {}
        qobs = None
        for first in np.unique(start):
            rows = np.flatnonzero(start == first)
            unique, row = np.unique(basin[rows], return_inverse=True)
            series = self.read(unique, int(first), int(first) + length)
            if qobs is None:
                qobs = np.empty((len(index), length), series.qobs.dtype)
                for k, v in series.inputs.items():
                    inputs[k] = np.empty((len(index), length), v.dtype)
            for k, v in series.inputs.items():
                inputs[k][rows] = v[row]
            qobs[rows] = series.qobs[row]
        return Windows(
            inputs,
            qobs,
            self.attributes[basin].astype(np.float32),
            self.found.spread[basin].astype(np.float32),
            None,
        )


def block_reader(ds: xr.Dataset, start, end, spinup_days: int, physics: PhysicalModel | None):
    """`read(index, first=0, stop=None) -> Series` of the basins `index` of `ds`, days
    `start - spinup_days` .. `end` with the forcings of regional models with `physics`; with
    `first`/`stop`, only days `first` .. `stop - 1` of that span."""
    from ._regional import regional_series

    begin = pd.Timestamp(start) - pd.Timedelta(days=spinup_days)

    def read(index, first: int = 0, stop: int | None = None) -> Series:
        subset = ds.isel(basin=np.asarray(index))
        last = end if stop is None else begin + pd.Timedelta(days=stop - 1)
        return regional_series(subset, begin + pd.Timedelta(days=first), last, physics=physics)

    return read


def gather_rows(values: np.ndarray) -> np.ndarray:
    """Every process's `values` (leading axes may differ in length) joined in process order;
    `values` itself with one process."""
    if jax.process_count() == 1:
        return values
    from jax.experimental import multihost_utils

    n = len(values)
    longest = int(np.max(multihost_utils.process_allgather(np.asarray(n))))
    padded = np.full((longest, *values.shape[1:]), np.nan, values.dtype)
    padded[:n] = values
    counts = multihost_utils.process_allgather(np.asarray(n))
    rows = multihost_utils.process_allgather(padded)
    return np.concatenate([r[:c] for r, c in zip(rows, counts, strict=True)])


def streamed_validation(read, n_basins: int, attributes: np.ndarray, spinup_days: int):
    """model -> median validation NSE over the basins `read` gives (in blocks; over every
    process's basins when there are several). Basins without observations in the period are
    left out of the median, with a warning naming them (after the first epoch)."""
    from ._regional import _validation_nse

    def validate(model):
        nse, blind = [], []
        with shared_failure("reading their basins' validation data"):
            for index in blocks(n_basins):
                series = read(index)
                seen = observed_basins(series, spinup_days)
                blind.extend(series.basins[~seen])
                if seen.any():
                    rows = _validation_nse(
                        model,
                        {k: v[seen] for k, v in series.inputs.items()},
                        np.asarray(attributes[index][seen], np.float32),
                        series.qobs[seen],
                        spinup_days,
                    )
                    nse.append(np.asarray(rows))
        # float64 on every process (NSE rows are float32 without x64): the gather needs one dtype
        rows = np.concatenate(nse).astype(np.float64) if nse else np.empty(0)
        everything = gather_rows(rows)
        if everything.size == 0:
            raise DataError("no basin has observed discharge in the validation period")
        if blind and not validate.warned:
            import warnings

            warnings.warn(
                f"basin(s) {', '.join(blind)} have no observed discharge in the validation "
                "period: they still train, and the best epoch is chosen on the others",
                stacklevel=2,
            )
            validate.warned = True
        return float(np.nanmedian(everything))

    validate.warned = False
    return validate
