"""The `dgeo` command line. Strings and files are read here and nowhere else.

Bad input (a configuration, data, a path, a closed output) ends as one line
`dgeo: error: ...` on stderr and exit status 2, Ctrl-C as one line and status 130; warnings
are one line `dgeo: warning: ...` each.
"""

from __future__ import annotations

import _thread
import argparse
import contextlib
import os
import shlex
import signal
import sys
import textwrap
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

#: Exit status for bad input, as argparse uses for bad arguments.
USAGE_ERROR = 2
#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130


def _data_info(args: argparse.Namespace) -> int:
    from .data import load, validate

    ds = load(args.path, **({"basins": args.basins} if args.basins else {}))
    report = validate(ds)
    print(f"{args.path}")
    print(str(report))
    print("variables:")
    for name, var in ds.data_vars.items():
        if "time" in var.dims:
            print(
                f"  {name:<12} {var.attrs.get('units', '?'):<10} {var.attrs.get('long_name', '')}"
            )
    statics = [n for n, v in ds.data_vars.items() if v.dims == ("basin",)]
    if statics:
        print(f"static attributes ({len(statics)}): {', '.join(statics)}")
    basins = ds["basin"].values
    shown = ", ".join(basins[:10]) + (f", ... ({len(basins)} in all)" if len(basins) > 10 else "")
    print(f"basins: {shown}")
    return 0


def _fill(text: str) -> str:
    return textwrap.fill(text, break_long_words=False, break_on_hyphens=False)


def _download_help() -> str:
    from .data import CAMELS_US_ARCHIVES

    what = (
        "Download CAMELS-US (Newman et al. 2015; Addor et al. 2017) from NCAR's Geoscience "
        "Data Exchange into DEST and unpack it there. Two archives: "
        "basin_timeseries_v1p2_metForcing_obsFlow.zip, the daily basin-mean forcing (Daymet, "
        "Maurer, NLDAS) and USGS streamflow of the 671 basins, 1980-2014, about 3.3 GB; and "
        "camels_attributes_v2.0.zip, the catchment attribute tables, a few MB. The archives "
        "are kept; their unpacked files take more space again. From:"
    )
    urls = "\n".join(f"  {a.url}" for a in CAMELS_US_ARCHIVES)
    result = (
        "The result is DEST/basin_mean_forcing/daymet/, DEST/usgs_streamflow/ and "
        "DEST/camels_attributes_v2.0/: DEST is a CAMELS-US root for `dgeo data info DEST` and "
        "a configuration's `data:`. An interrupted download resumes where it stopped when you "
        "run the same command again (from DEST/<archive>.part); archives already downloaded "
        "and verified are not fetched again. NCAR publishes no checksums: the zip CRCs are "
        "checked and each archive's SHA-256 is printed."
    )
    return "\n\n".join([_fill(what), urls, _fill(result)])


def _train_epilog() -> str:
    from . import config

    examples = (
        "Examples to copy: examples/configs/ in the dgeo repository, one per experiment: "
        "quick_synthetic.yml (synthetic twin catchments, no data needed, about a minute on 2 "
        "cores), demo_camels.yml and jiang_local.yml (per-basin models on CAMELS-US, e.g. "
        "from `dgeo data download`), regional_temporal.yml (regional models, temporal test "
        "and snow inference), regional_pub.yml (ungauged basins, 5-fold cross-validation), "
        "regional_pub_validated.yml, regional_pub_lstm_35.yml and regional_temporal_lstm_35.yml "
        "(Caravan ERA5-Land and CAMELS attributes). Each has a quick: variant that `--quick` "
        "runs."
    )
    keys = "\n" + config.KEYS.rstrip("\n")
    rules = (
        "Every key is optional except `data`; an unknown key or a bad value is an error naming "
        "it. A relative path (data, snow.swe) is taken from the folder of the YAML file."
    )
    return "\n\n".join([_fill(examples), "configuration keys:" + keys, _fill(rules)])


def _device_count(text: str) -> int | str:
    """`--devices`: a number (checked to be positive when it is applied) or `all`."""
    from .config._sections import ALL_DEVICES

    if text == ALL_DEVICES:
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"a number of devices or {ALL_DEVICES!r} is needed, got {text!r}"
        ) from None


def _parser() -> argparse.ArgumentParser:
    from .runs import dgeo_version

    parser = argparse.ArgumentParser(prog="dgeo", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--version", action="version", version=f"dgeo {dgeo_version()}", help="print the version"
    )
    parser.add_argument(
        "--cpu-threads",
        type=int,
        metavar="N",
        help="threads of XLA's CPU pool (default: one per core; 1 speeds up the physical "
        "model's gradient over a few hundred basins, see dgeo.xla_cpu_threads)",
    )
    parser.add_argument(
        "--devices",
        type=_device_count,
        metavar="N",
        help="split training's samples over N devices (data parallel): N GPUs, or on a CPU N "
        "single-threaded CPU devices, one per core (dgeo.cpu_devices, dgeo.train.data_parallel); "
        "all: every device JAX has. Overrides a configuration's devices:",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data = commands.add_parser("data", help="inspect and fetch datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    info = data_commands.add_parser("info", help="basins, period, variables, missing values")
    info.add_argument("path", help="CAMELS-US root folder or netCDF file")
    info.add_argument("--basins", nargs="+", metavar="ID", help="only these basin ids")
    info.set_defaults(run=_data_info)
    text = _download_help()
    download = data_commands.add_parser(
        "download",
        help="fetch CAMELS-US (about 3.3 GB) into a folder; resumable",
        description=text,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    download.add_argument(
        "dest", help="destination folder (created if missing; becomes the CAMELS-US root)"
    )
    download.set_defaults(run=_data_download)

    train = commands.add_parser(
        "train",
        help="train the experiment of a YAML configuration",
        description=_fill(
            "Train the experiment of a YAML configuration into a run directory: per-basin "
            "models, or regional models in a temporal test or an ungauged-basin (k-fold) "
            "cross-validation. It holds config.yml, run.json, checkpoints/ (every epoch), "
            "models/ (a cross-validation: folds/), history.csv, results.nc, metrics.csv, "
            "summary.json, figures/. The configuration is checked against the data before "
            "anything is written; Ctrl-C keeps the last completed epoch and prints the "
            "command that continues the run, which skips the models and folds that had "
            "finished."
        ),
        epilog=_train_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("config", help="run configuration (YAML; see examples/configs/)")
    train.add_argument(
        "--run-dir",
        help="run directory (default runs/<config name>, with --quick runs/<config "
        "name>_quick); one that already holds a run is only continued, with --resume",
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run from its checkpoints (the configuration must have "
        "the settings it was started with)",
    )
    train.add_argument(
        "--quick",
        action="store_true",
        help="apply the configuration's quick: overrides (a few basins and epochs, 2 folds): "
        "a check that the experiment runs, not a result",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate a trained run directory",
        description="Evaluate a trained run directory on one of its periods; it reads the data "
        "from the path the run recorded, so it works from any working directory.",
    )
    evaluate.add_argument("run_dir", help="a run directory written by `dgeo train`")
    evaluate.add_argument(
        "--period",
        default="test",
        choices=["train", "validation", "test"],
        help="the configuration's period to score, after a spin-up (train: after its first "
        "spinup_days, as in training); writes results_<period>.nc and metrics_<period>.csv "
        "(default test)",
    )
    evaluate.set_defaults(run=_evaluate)

    demo = commands.add_parser(
        "demo", help="train physical and hybrid models on synthetic twins (or --data)"
    )
    demo.add_argument("--data", help="a CAMELS-US root or netCDF file instead of synthetic twins")
    demo.add_argument(
        "--basins", nargs="+", metavar="ID", help="basin ids (default: the first 4 of --data)"
    )
    demo.add_argument("--out", default="dgeo-demo", help="run directory (default dgeo-demo)")
    demo.add_argument("--epochs", type=int, help="training epochs (default 120)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(run=_demo)
    return parser


def _config_devices(args: argparse.Namespace, devices: int | str | None):
    """The `data_parallel` block of a configuration's `devices:`; none where it has none or
    the command line's `--devices` (applied already) overrides it."""
    from .config import ConfigError

    if devices is None or args.devices is not None:
        return contextlib.nullcontext()
    where = f"{args.config}: devices: {devices}"
    if args.cpu_threads is not None:
        raise ConfigError(
            f"{where} and --cpu-threads: give one, not both (each device has one thread)"
        )
    try:
        return _data_parallel(devices)
    except (ValueError, RuntimeError) as err:
        raise ConfigError(f"{where}: {err}") from None


def _train(args: argparse.Namespace) -> int:
    from .config import read_config
    from .runs import has_checkpoint, print_summary, train_run

    config = read_config(args.config, quick=args.quick)  # starts no JAX backend
    quick = "_quick" if args.quick else ""
    args.run_dir = args.run_dir or f"runs/{Path(args.config).stem}{quick}"
    run_dir = Path(args.run_dir)
    try:
        with _config_devices(args, config.devices):
            results = train_run(config, run_dir, resume=args.resume, progress=not args.quiet)
    except KeyboardInterrupt:
        command = ["dgeo"]
        if args.cpu_threads is not None:
            command += ["--cpu-threads", str(args.cpu_threads)]
        if args.devices is not None:
            command += ["--devices", str(args.devices)]
        command += ["train", args.config, "--run-dir", args.run_dir, "--resume"]
        command += ["--quick"] if args.quick else []
        command += ["--quiet"] if args.quiet else []
        saved = (
            f"the last completed epoch is saved in {run_dir / 'checkpoints'}"
            if has_checkpoint(run_dir)
            else "no epoch had completed, nothing was saved"
        )
        print(f"dgeo: interrupted; {saved}; continue with: {shlex.join(command)}", file=sys.stderr)
        return INTERRUPTED
    print_summary(results)
    print(f"run directory: {run_dir}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .runs import evaluate_run, print_summary

    results = evaluate_run(args.run_dir, args.period)
    print_summary(results)
    print(f"wrote {Path(args.run_dir) / f'results_{args.period}.nc'}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .runs import demo, print_summary

    results = demo(
        args.data, args.out, basins=args.basins, epochs=args.epochs, progress=not args.quiet
    )
    print_summary(results)
    print(f"hydrographs and results in {args.out}/ (figures/, results.nc, metrics.csv)")
    return 0


def _data_download(args: argparse.Namespace) -> int:
    from .data import download_camels_us

    try:
        print(download_camels_us(args.dest))
    except KeyboardInterrupt:
        print(
            "dgeo: interrupted; run the same command again to resume the download",
            file=sys.stderr,
        )
        return INTERRUPTED
    return 0


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _error(message: object) -> int:
    print(f"dgeo: error: {_one_line(message)}", file=sys.stderr)
    return USAGE_ERROR


def _os_error(err: OSError, args: argparse.Namespace) -> str:
    """An OSError as `path: reason`; the command's output path when the error names none
    (a full disk reports no file)."""
    if err.strerror is None:  # raised with a message of its own
        return str(err)
    where = err.filename
    if where is not None and err.filename2 is not None:
        where = f"{where} -> {err.filename2}"
    if where is None:
        target = next(
            (getattr(args, n) for n in ("run_dir", "out", "dest") if getattr(args, n, None)),
            None,
        )
        return err.strerror + (f" (writing {target})" if target else "")
    return f"{where}: {err.strerror}"


def _warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"dgeo: warning: {_one_line(message)}", file=sys.stderr)


# Python code whose exceptions Python prints ("Exception ignored in ...") and drops: a Ctrl-C
# raised there would be lost and the command would carry on. JAX runs _xla_gc_callback at
# every garbage collection, so a Ctrl-C lands there now and then.
_SWALLOWS_EXCEPTIONS = frozenset({"_xla_gc_callback", "__del__"})


def _on_ctrl_c(signum: int, frame: FrameType | None) -> None:
    """SIGINT as KeyboardInterrupt, as Python's own handler does, except inside code that
    would drop it: there it is delivered again a moment later."""
    inner = frame
    while inner is not None:
        if inner.f_code.co_name in _SWALLOWS_EXCEPTIONS:
            threading.Timer(0.01, _thread.interrupt_main).start()
            return
        inner = inner.f_back
    raise KeyboardInterrupt


def _exit_after_interrupt(entry: bool) -> int:
    """End after Ctrl-C, once its one line is printed: the process's entry point (the console
    script, `python -m dgeo.cli`) exits here with 130 without finalising the interpreter,
    where XLA work still in flight could crash it (exit 139); an in-process caller gets 130."""
    if not entry:
        return INTERRUPTED
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C changes nothing now
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more to say
            pass
    os._exit(INTERRUPTED)


def _data_parallel(devices: int | str):
    """The `data_parallel` block of `--devices N` or a configuration's `devices: N`: the first
    N devices (on a CPU, N single-threaded CPU devices made first); `all`: every device JAX
    has (on a CPU, its one device)."""
    import jax

    from ._threads import cpu_devices
    from .config._sections import ALL_DEVICES
    from .train import data_mesh, data_parallel

    if devices == ALL_DEVICES:
        return data_parallel(data_mesh(jax.devices()))
    if devices < 1:
        raise ValueError(f"needs a positive number of devices, got {devices}")
    cpu_devices(devices)  # only the CPU backend reads it; GPUs are what they are
    found = jax.devices()
    if len(found) < devices:
        raise ValueError(f"asked for {devices} devices, JAX has {len(found)}: {found}")
    return data_parallel(data_mesh(found[:devices]))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dgeo` console script (`argv` None: the process's own arguments,
    and an interrupt ends the process); `main([...])` returns the exit status."""
    entry = argv is None
    from .config import ConfigError
    from .data import DataError
    from .train import CheckpointError

    args = _parser().parse_args(argv)
    if entry:  # the process is ours to set up
        signal.signal(signal.SIGINT, _on_ctrl_c)
    if args.cpu_threads is not None and args.devices is not None:
        return _error("give --devices or --cpu-threads, not both (each device has one thread)")
    if args.cpu_threads is not None:
        from ._threads import xla_cpu_threads

        try:
            xla_cpu_threads(args.cpu_threads)
        except (ValueError, RuntimeError, NotImplementedError) as err:
            return _error(f"--cpu-threads: {err}")
    parallel = contextlib.nullcontext()
    if args.devices is not None:
        try:
            parallel = _data_parallel(args.devices)
        except (ValueError, RuntimeError) as err:
            return _error(f"--devices: {err}")
    with warnings.catch_warnings(), parallel:
        warnings.showwarning = _warning
        try:
            status = args.run(args)
            if status == INTERRUPTED:  # the command has said so in its one line
                return _exit_after_interrupt(entry)
            sys.stdout.flush()  # a closed pipe shows here, not at exit
            return status
        except BrokenPipeError:
            # The reader (e.g. `| head`) has gone: send what is left nowhere (Python docs,
            # "Note on SIGPIPE") and say so once.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return _error("the output was closed before dgeo finished writing (broken pipe)")
        except KeyboardInterrupt:
            print("dgeo: interrupted", file=sys.stderr)
            return _exit_after_interrupt(entry)
        except (DataError, ConfigError, CheckpointError) as err:
            return _error(err)
        except OSError as err:  # unwritable or full output folder, unreadable data
            return _error(_os_error(err, args))


if __name__ == "__main__":
    sys.exit(main())
