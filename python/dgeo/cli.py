"""The `dgeo` command line. Strings and files are read here and nowhere else."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dgeo", description=__doc__)
    parser.add_argument(
        "--cpu-threads",
        type=int,
        metavar="N",
        help="threads of XLA's CPU pool (default: one per core; 1 speeds up the physical "
        "model's gradient over a few hundred basins, see dgeo.xla_cpu_threads)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data", help="inspect and fetch datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    info = data_commands.add_parser("info", help="basins, period, variables, missing values")
    info.add_argument("path", help="CAMELS-US root folder or netCDF file")
    info.add_argument("--basins", nargs="+", help="only these basin ids")
    info.set_defaults(run=_data_info)
    download = data_commands.add_parser("download", help="fetch CAMELS-US into a folder")
    download.add_argument("dest", help="destination folder")
    download.set_defaults(run=_data_download)

    train = commands.add_parser("train", help="train the models of a YAML configuration")
    train.add_argument("config", help="run configuration (YAML)")
    train.add_argument("--run-dir", help="run directory (default runs/<config name>)")
    train.add_argument("--resume", action="store_true", help="continue from its checkpoints")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a trained run directory")
    evaluate.add_argument("run_dir", help="a run directory written by `dgeo train`")
    evaluate.add_argument("--period", default="test", choices=["train", "validation", "test"])
    evaluate.set_defaults(run=_evaluate)

    demo = commands.add_parser(
        "demo", help="train physical and hybrid models on synthetic twins (or --data)"
    )
    demo.add_argument("--data", help="a CAMELS-US root or netCDF instead of synthetic twins")
    demo.add_argument("--basins", nargs="+", help="basin ids (default: the first 4 of --data)")
    demo.add_argument("--out", default="dgeo-demo", help="run directory (default dgeo-demo)")
    demo.add_argument("--epochs", type=int, help="training epochs (default 120)")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")
    demo.set_defaults(run=_demo)
    return parser


def _train(args: argparse.Namespace) -> int:
    from .config import read_config
    from .runs import print_summary, train_run

    config = read_config(args.config)
    run_dir = args.run_dir or f"runs/{Path(args.config).stem}"
    results = train_run(config, run_dir, resume=args.resume, progress=not args.quiet)
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

    print(download_camels_us(args.dest))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dgeo` console script."""
    from .config import ConfigError
    from .data import DataError

    args = _parser().parse_args(argv)
    if args.cpu_threads is not None:
        from ._threads import xla_cpu_threads

        try:
            xla_cpu_threads(args.cpu_threads)
        except (ValueError, RuntimeError, NotImplementedError) as err:
            print(f"dgeo: error: --cpu-threads: {err}", file=sys.stderr)
            return 2
    try:
        return args.run(args)
    except (DataError, ConfigError, FileNotFoundError) as err:
        print(f"dgeo: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
