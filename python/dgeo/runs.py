"""Run directories: train from a configuration, evaluate a trained run, and the demo.

A run directory holds `config.yml` (the configuration it was trained with, its data path made
absolute), `run.json` (the run's record: the dgeo version, the data path and a fingerprint of
the data files, the basins and periods, and whether training has finished),
`checkpoints/<model>/` (the training state after every epoch, for `--resume`),
`models/<model>.eqx` (the best weights), `history.csv`, `results.nc` (the test-period results
Dataset), `metrics.csv` and `figures/`. It is self-contained: `evaluate_run` needs nothing
else, from any working directory, as long as the data stay where they were.

`train_run` checks the configuration against the data (every period with its spin-up, the
basins, the variables) before it creates the folder or writes anything, and a resumed run
against the configuration it was started with before changing anything in it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
import warnings
from pathlib import Path

import pandas as pd
import xarray as xr
import yaml

from ._files import write_whole
from .config import ConfigError, RunConfig, differences, parse_config
from .data import DataError
from .evaluate import save_results
from .train import load_models, run_models, save_models, train_models


def dgeo_version() -> str:
    """The installed dgeo's version (package metadata), 'unknown' when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dgeo")
    except PackageNotFoundError:
        return "unknown"


def load_data(config: RunConfig) -> xr.Dataset:
    """The dataset a configuration names: a CAMELS-US root, a netCDF file or `synthetic`."""
    from .data import load, synthetic
    from .data._dataset import select_basins

    if config.data == "synthetic":
        ds = synthetic()
        return (
            ds
            if config.basins is None
            else select_basins(ds, config.basins, source="the synthetic twins")
        )
    return load(config.data, **({"basins": config.basins} if config.basins else {}))


def _data_files(data: str, basins: list[str]) -> list[tuple[str, int]]:
    """(name relative to `data`, size) of the files a run on `basins` reads, sorted."""
    path = Path(data)
    if path.is_file():
        return [(path.name, path.stat().st_size)]
    # A CAMELS-US root: the Daymet forcing and the streamflow of these basins, and the
    # attribute tables (see dgeo.data.load_camels_us).
    wanted = {f"{b}_lump_cida_forcing_leap.txt" for b in basins}
    wanted |= {f"{b}_streamflow_qc.txt" for b in basins}
    files = [
        p
        for pattern in ("basin_mean_forcing/daymet/*/*", "usgs_streamflow/*/*")
        for p in path.glob(pattern)
        if p.name in wanted
    ]
    files += path.glob("camels_attributes_v2.0/camels_*.txt")
    return sorted((p.relative_to(path).as_posix(), p.stat().st_size) for p in files)


def data_fingerprint(data: str, basins: list[str]) -> str:
    """A hash of the names and sizes of the data files a run on `basins` reads (for a netCDF
    file: the file; for a CAMELS-US root: these basins' forcing and streamflow files and the
    attribute tables; for `synthetic`: the generator's source code). Cheap to compute; it tells
    that data were replaced or changed in size, not every edit."""
    if data == "synthetic":
        from .data import _synthetic

        listing = (
            "dgeo.data.synthetic\n"
            + hashlib.sha256(Path(_synthetic.__file__).read_bytes()).hexdigest()
        )
    else:
        listing = "\n".join(f"{name}\t{size}" for name, size in _data_files(data, basins))
    return "sha256:" + hashlib.sha256(listing.encode()).hexdigest()


def check_run(config: RunConfig, ds: xr.Dataset) -> None:
    """Check before training what training and the test evaluation need from `ds`: every
    period inside the data with its spin-up (the training period's first `spinup_days` are its
    own spin-up; validation and test need `spinup_days` before them), each at least as long as
    the model needs, the forcings and discharge with their units, no gaps in the forcing, and
    observed discharge in the training and validation periods. Raises `DataError` naming the
    period and the data's range, or the basin, variable and date at fault."""
    from .data import check_axes
    from .train._windows import basin_series, check_observed, window_starts

    spinup = config.training.spinup_days
    _, time_axis = check_axes(ds)
    first, last = pd.Timestamp(time_axis[0]).date(), pd.Timestamp(time_axis[-1]).date()
    for name in ("train", "validation", "test"):
        dates = getattr(config.periods, name)
        if dates is None:
            continue
        before = 0 if name == "train" else spinup
        start, end = pd.Timestamp(dates[0]), pd.Timestamp(dates[1])
        spun = (start - pd.Timedelta(days=before)).date()
        if spun < first or end.date() > last:
            need = f" with its {before} spin-up days (from {spun})" if before else ""
            raise DataError(
                f"periods.{name} {start.date()}..{end.date()}{need} is not covered by the "
                f"data, which run {first}..{last}"
            )
        try:
            series = basin_series(ds, start, end, spinup_days=before)
            if name == "train":
                window_starts(len(series.time), config.model.window_days, 1)
            if name != "test":
                check_observed(series, spinup, "training" if name == "train" else name)
        except DataError as err:
            raise DataError(f"periods.{name} {start.date()}..{end.date()}: {err}") from None


def _absolute(config: RunConfig) -> RunConfig:
    """`config` with its data path made absolute (against the working directory)."""
    if config.data == "synthetic":
        return config
    data = str(Path(config.data).resolve())
    return dataclasses.replace(config, data=data, raw={**config.raw, "data": data})


def _write_text(path: Path, text: str) -> None:
    """Write `path` whole or not at all."""
    write_whole(path, lambda tmp: tmp.write_text(text))


def _warn_if_data_changed(record: dict, data: str, basins: list[str], run_dir: Path) -> None:
    """A warning if the data files differ (names or sizes) from those `record` saw."""
    recorded = record.get("data_fingerprint")
    if recorded is not None and recorded != data_fingerprint(data, basins):
        warnings.warn(
            f"the data files at {data} differ (names or sizes) from those {run_dir} was trained on",
            stacklevel=3,
        )


def _read_record(run_dir: Path) -> dict | None:
    """The run's `run.json`, None when there is none."""
    path = run_dir / "run.json"
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (UnicodeDecodeError, ValueError) as err:
        raise DataError(f"{path} is not a dgeo run record: {err}") from None
    if not isinstance(record, dict):
        raise DataError(f"{path} is not a dgeo run record")
    return record


def _read_run_config(run_dir: Path) -> RunConfig:
    """The configuration recorded in `run_dir/config.yml`."""
    path = run_dir / "config.yml"
    try:
        mapping = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    try:
        return parse_config(mapping)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def _check_resume(config: RunConfig, run_dir: Path) -> None:
    """A resumed run must have the settings it was started with; `ConfigError` lists those
    that differ. Nothing in `run_dir` is changed."""
    if not (run_dir / "config.yml").is_file():
        return  # nothing was started there: resuming starts it
    recorded = _absolute(_read_run_config(run_dir))
    changed = differences(recorded, config)
    if changed:
        raise ConfigError(
            f"cannot resume {run_dir}: these settings differ from those it was trained with "
            f"(old -> new): {'; '.join(changed)}. Restore them, or train into another "
            "--run-dir"
        )


def has_checkpoint(run_dir: Path) -> bool:
    """Does `run_dir` hold a training checkpoint (`checkpoints/<model>/state.json`)?"""
    return any(Path(run_dir).glob("checkpoints/*/state.json"))


def holds_run(run_dir: Path) -> bool:
    """Does `run_dir` hold a run's work (a record or a checkpoint) that training would replace?"""
    return (Path(run_dir) / "run.json").is_file() or has_checkpoint(run_dir)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def metric_summary(results: xr.Dataset, metrics=("nse", "kge", "mnse", "pfab")) -> pd.DataFrame:
    """Median over basins of each metric per model (rows: models)."""
    table = results["metrics"].sel(metric=list(metrics)).median("basin")
    return table.to_pandas()


def _figures(
    results: xr.Dataset,
    folder: Path,
    suffix: str = "",
    n_basins: int = 3,
    n_summaries: int = 10,
) -> None:
    """The figures of a run directory in `folder`: `nse_cdf.png` (all basins),
    `hydrograph_<basin>.png` (the wettest water year, with precipitation) of the first
    `n_basins` basins and `summary_<basin>.png` (`dgeo.plot.basin_summary`, one page per basin)
    of the first `n_summaries`. With more basins than that, `summaries.txt` says which basins
    have a summary and how to draw the others (a page per basin is for reading a few basins
    closely, not for hundreds: `nse_cdf` is the view across all of them).
    """
    from . import plot

    plot.save(plot.nse_cdf(results), folder / f"nse_cdf{suffix}.png")
    basins = [str(b) for b in results["basin"].values]
    for basin in basins[:n_basins]:
        figure = plot.hydrograph(results, basin)
        plot.save(figure, folder / f"hydrograph_{basin}{suffix}.png")
    for basin in basins[:n_summaries]:
        plot.save(plot.basin_summary(results, basin), folder / f"summary_{basin}{suffix}.png")
    if len(basins) > n_summaries:
        (folder / f"summaries{suffix}.txt").write_text(
            f"summary_<basin>{suffix}.png is drawn for the first {n_summaries} of the "
            f"{len(basins)} basins: {', '.join(basins[:n_summaries])}.\n"
            "Draw any other with:\n"
            "  from dgeo import plot\n"
            "  from dgeo.evaluate import load_results\n"
            f"  results = load_results('<run directory>/results{suffix}.nc')\n"
            "  plot.save(plot.basin_summary(results, '<basin>'), 'summary_<basin>.png')\n"
        )


def _write_results(results: xr.Dataset, run_dir: Path, suffix: str = "") -> None:
    save_results(results, run_dir / f"results{suffix}.nc")
    table = results["metrics"].to_dataframe().reset_index()
    table.pivot_table(index=["model", "basin"], columns="metric", values="metrics").to_csv(
        run_dir / f"metrics{suffix}.csv"
    )
    _figures(results, run_dir / "figures", suffix)


def train_run(
    config: RunConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> xr.Dataset:
    """Train every model of `config`, evaluate it on the test period, write the run directory.

    Everything is checked before the folder is created or anything in it changes: with
    `resume`, that `config` has the settings the run was started with (`ConfigError` listing
    those that differ); then the data, periods, basins and variables (`check_run`). If training
    fails or is interrupted before its first checkpoint, what this call wrote is removed again
    (the folder too, if it created it); after that the checkpoints stay for `resume`.

    A folder that already holds a run (`holds_run`) is continued with `resume`, replaced with
    `overwrite` (its record, checkpoints and models are removed first, once the checks have
    passed, so it never holds a mix of two runs), and otherwise refused with a `ConfigError`.

    Returns the test-period results Dataset.
    """
    run_dir = Path(run_dir)
    config = _absolute(config)
    previous = None
    if resume:
        _check_resume(config, run_dir)
        previous = _read_record(run_dir)
    ds = load_data(config)
    check_run(config, ds)
    basins = list(map(str, ds["basin"].values))
    fingerprint = data_fingerprint(config.data, basins)
    if previous is not None and previous.get("basins", basins) != basins:
        raise ConfigError(
            f"cannot resume {run_dir}: it was trained on basins {', '.join(previous['basins'])}, "
            f"but {config.data} now gives {', '.join(basins)}"
        )
    if previous is not None:
        _warn_if_data_changed(previous, config.data, basins, run_dir)
    # A record of an older dgeo (basins, periods, training_seconds only) is completed, not
    # trusted to hold every key.
    record = {
        "dgeo_version": dgeo_version(),
        "data": config.data,
        "data_fingerprint": fingerprint,
        "basins": basins,
        "periods": dataclasses.asdict(config.periods),
        **(previous or {}),
    }
    record["finished"] = False
    if not resume and holds_run(run_dir):
        if not overwrite:
            raise ConfigError(
                f"{run_dir} already holds a run: continue it with --resume, or train into "
                "another run directory (or delete it to start over)"
            )
        for name in ("run.json", "checkpoints", "models"):  # never a mix of two runs
            _remove(run_dir / name)
    created = not run_dir.exists()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # e.g. a parent is a file, or read-only
        raise OSError(
            err.errno, f"cannot create the run directory ({err.strerror})", str(run_dir)
        ) from None
    names = ("config.yml", "run.json", "checkpoints")
    new = [run_dir / name for name in names if not (run_dir / name).exists()]
    try:
        if not resume or run_dir / "config.yml" in new:
            _write_text(run_dir / "config.yml", yaml.safe_dump(config.raw, sort_keys=False))
        _write_text(run_dir / "run.json", json.dumps(record, indent=1))
        start = time.perf_counter()
        models, fits = train_models(
            ds,
            config.models,
            config.periods,
            config.model_options(),
            config.training,
            run_dir=run_dir,
            resume=resume,
            progress=progress,
        )
    except BaseException:
        if not has_checkpoint(run_dir):  # a failed start leaves nothing behind
            if created:
                shutil.rmtree(run_dir, ignore_errors=True)
            else:
                for path in new:  # only what this call made; an empty checkpoints/ too
                    _remove(path)
        raise
    seconds = time.perf_counter() - start
    save_models(models, run_dir / "models")
    history = pd.concat(
        [pd.DataFrame(fit.history).assign(model=kind) for kind, fit in fits.items()]
    )
    history.to_csv(run_dir / "history.csv", index=False)
    results = run_models(models, ds, config.periods.test, spinup_days=config.training.spinup_days)
    results.attrs.update(period="test", training_seconds=round(seconds, 1))
    _write_results(results, run_dir)
    if record["dgeo_version"] != dgeo_version():
        record["resumed_with_dgeo_version"] = dgeo_version()
    record.update(finished=True, training_seconds=seconds)
    _write_text(run_dir / "run.json", json.dumps(record, indent=1))
    return results


def evaluate_run(run_dir: str | Path, period: str = "test") -> xr.Dataset:
    """Evaluate a trained run directory on its `train`, `validation` or `test` period (each
    after a spin-up before it; the training period's first `spinup_days` are that spin-up, as
    in training, so its scores start after them).

    The data are read from the absolute path the run recorded, so this works from any working
    directory; if their files differ (names or sizes) from those the run was trained on, a
    warning says so. Writes `results_<period>.nc` and `metrics_<period>.csv` (the test
    period's are also the run's `results.nc`) and returns the results Dataset.
    """
    run_dir = Path(run_dir)
    info = _read_record(run_dir)
    if info is None or not (run_dir / "config.yml").is_file():
        raise FileNotFoundError(
            f"{run_dir} is not a dgeo run directory (no run.json or config.yml); train it first"
        )
    if not info.get("finished", True):  # runs of older dgeo versions wrote run.json at the end
        raise DataError(
            f"{run_dir} has not finished training; continue it with "
            f"`dgeo train CONFIG --run-dir {run_dir} --resume`"
        )
    config = _read_run_config(run_dir)
    config = dataclasses.replace(config, data=info.get("data", config.data), basins=info["basins"])
    if period not in ("train", "validation", "test"):
        raise ConfigError(f"period must be one of train, validation, test, got {period!r}")
    dates = getattr(config.periods, period)
    if dates is None:
        raise ConfigError(f"{run_dir} has no {period} period (its configuration sets none)")
    spinup = config.training.spinup_days
    if period == "train":  # as in training, its first spin-up days spin the states up
        dates = (str((pd.Timestamp(dates[0]) + pd.Timedelta(days=spinup)).date()), dates[1])
    ds = load_data(config)
    _warn_if_data_changed(info, config.data, info["basins"], run_dir)
    models = load_models(
        run_dir / "models", config.models, len(info["basins"]), config.model_options()
    )
    results = run_models(models, ds, dates, spinup_days=spinup)
    results.attrs["period"] = period
    _write_results(results, run_dir, f"_{period}")
    return results


#: The demo's defaults: small enough for 2 minutes on a 2-core machine.
DEMO_CONFIG = {
    "models": ["physical", "hybrid"],
    "model": {"physical_starts": 4, "physical_search": 1000},
    "training": {"epochs": 120, "patience": 20},
}


def demo(
    data: str | None = None,
    out: str | Path = "dgeo-demo",
    *,
    basins: list[str] | None = None,
    epochs: int | None = None,
    progress: bool = True,
) -> xr.Dataset:
    """Train the physical and hybrid models on synthetic twin catchments (or `data`), print
    the metric table and write the run directory `out` with hydrograph figures."""
    mapping = {"data": data or "synthetic", **DEMO_CONFIG}
    if basins:
        mapping["basins"] = list(basins)
    if data is not None:
        from .data import load

        ds = load(data, **({"basins": list(basins)} if basins else {}))
        mapping.setdefault("basins", list(map(str, ds["basin"].values[:4])))
        first = pd.Timestamp(ds["time"].values[0])
        if first > pd.Timestamp("1980-10-01"):  # start training at the next water year
            start = pd.Timestamp(f"{first.year}-10-01")
            start = start if start >= first else pd.Timestamp(f"{first.year + 1}-10-01")
            mapping["periods"] = {"train": [str(start.date()), "1996-09-30"]}
    if epochs is not None:
        mapping["training"] = {**DEMO_CONFIG["training"], "epochs": epochs}
    config = parse_config(mapping)
    return train_run(config, out, overwrite=True, progress=progress)


def print_summary(results: xr.Dataset) -> None:
    """The per-model median of each metric, as a small table on stdout."""
    period = f"{results.attrs.get('start')}..{results.attrs.get('end')}"
    print(f"median over {results.sizes['basin']} basins, {period}:")
    with pd.option_context("display.float_format", "{:.3f}".format):
        print(metric_summary(results).to_string())
