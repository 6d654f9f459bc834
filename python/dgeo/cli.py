"""The `dgeo` command line. Strings and files are read here and nowhere else."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


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
    return parser


def _data_download(args: argparse.Namespace) -> int:
    from .data import download_camels_us

    print(download_camels_us(args.dest))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `dgeo` console script."""
    from .data import DataError

    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except DataError as err:
        print(f"dgeo: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
