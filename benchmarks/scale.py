"""Regional training beyond one device and beyond memory: epoch time and peak memory of the
regional hybrid for 473, 2,000 and 10,000 synthetic basins x 30 years on 1, 2 and 4 devices.

The basins are `dgeo.data.synthetic` twins (EXP-HYDRO truth plus a quick-flow reservoir),
generated in blocks of 500 (seed = block) into one netCDF file under runs/scale/ (git-ignored,
~1.9 GB for 10,000 basins; chunks of one basin's whole series, as a per-basin store would be
read). Every case runs in a fresh Python process, whose own peak memory (VmHWM) is reported:

  stream   `NetCDF(path, lazy=True)` and `RegionalOptions(stream=True)`: the survey pass reads
           every basin once (statistics, the windows that have observations), then each step
           reads its batch of windows from the file while the previous batch trains.
  memory   `NetCDF(path).load(basins)`: every basin in memory, the windows stacked on the
           device (today's default), for 473 and 2,000 basins.

Devices: `default` is JAX's one CPU device with its thread pool; 1, 2 and 4 are
`dgeo.cpu_devices(n)` single-threaded devices with the batch split over them
(`dgeo.train.data_parallel`). This machine has 2 cores, so 4 devices time-share them: the
4-device rows measure the overhead of splitting, not a speed-up.

Per case: two epochs of Adam on the whole record (windows 2,190 days, stride 1,825, batch 256,
no physical-start search, no validation); reported are the seconds before training (opening
the data, statistics, windows), the first epoch (with compile) and the second, steps per epoch
and seconds per step, and peak resident memory. Ratios are taken against the 1-device (or
in-memory) run of the same size measured in the same invocation.

Usage: python benchmarks/scale.py [--basins N ...] [--devices D ...] [--resume] [--quick]
  --repeat K  run every case K times, interleaved (run i of every case before run i + 1)
  --resume   keep the cases already in runs/scale/cases/; the table is built from every case
             there, so a later invocation may add cases (e.g. --basins 10000 --memory-up-to
             10000 --devices default adds the in-memory run of 10,000 basins)
  --quick    200 basins x 6 years, one device setting: a check that the script runs
Writes benchmarks/results/scale.{json,md} (quick: runs/scale/quick/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _runs import peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "scale"
RESULTS = ROOT / "benchmarks" / "results"
BLOCK = 500
ATTRIBUTES = ("p_mean", "pet_mean", "aridity", "frac_snow")
SERIES = ("prcp", "tmean", "dayl", "qobs")
STATIC = (*ATTRIBUTES, "gauge_lat")
FULL = ("1980-10-01", "2010-09-30")
QUICK = ("2004-10-01", "2010-09-30")


def build_store(path: Path, n: int, period: tuple[str, str]) -> None:
    """`n` synthetic basins over `period` in one netCDF file, written a block at a time."""
    import netCDF4

    from dgeo.data import synthetic

    part = path.with_suffix(".part")
    with netCDF4.Dataset(part, "w") as out:
        for b, first in enumerate(range(0, n, BLOCK)):
            ds = synthetic(n_basins=min(BLOCK, n - first), start=period[0], end=period[1], seed=b)
            if b == 0:
                days = ds.sizes["time"]
                out.createDimension("basin", n)
                out.createDimension("time", days)
                out.createVariable("basin", str, ("basin",))
                t = out.createVariable("time", "i4", ("time",))
                t.units, t.calendar = f"days since {period[0]}", "standard"
                t[:] = np.arange(days)
                for name in SERIES:
                    v = out.createVariable(
                        name, "f4", ("basin", "time"), chunksizes=(1, days), fill_value=np.nan
                    )
                    v.setncatts(ds[name].attrs)
                for name in STATIC:
                    v = out.createVariable(name, "f4", ("basin",))
                    v.setncatts(ds[name].attrs)
            rows = slice(first, first + ds.sizes["basin"])
            out["basin"][rows] = np.array([f"syn{i:05d}" for i in range(rows.start, rows.stop)])
            for name in (*SERIES, *STATIC):
                out[name][rows] = ds[name].to_numpy().astype(np.float32)
            print(f"  store: {rows.stop}/{n} basins", flush=True)
    part.rename(path)


def case(store: str, n: int, devices: str, mode: str, period: tuple[str, str], out: str) -> None:
    """One measurement, in this (fresh) process."""
    import dgeo

    if devices != "default":
        dgeo.cpu_devices(int(devices))
    import contextlib

    import jax

    from dgeo.data import NetCDF
    from dgeo.train import RegionalOptions, data_parallel, train_regional

    began = time.perf_counter()
    source = NetCDF(store, lazy=mode == "stream")
    basins = source.basin_ids()[:n]
    ds = source.load(basins if mode == "memory" else None)
    opened = time.perf_counter() - began
    options = RegionalOptions(
        attributes=ATTRIBUTES, epochs=2, batch_size=256, search=0, stream=mode == "stream"
    )
    rss = []
    parallel = contextlib.nullcontext() if devices == "default" else data_parallel()
    with parallel:
        fit = train_regional(
            ds,
            "regional_hybrid",
            basins,
            period,
            options,
            progress=False,
            callback=lambda entry: rss.append(peak_rss_mb()),
        )
    epochs = [h["seconds"] for h in fit.history]
    result = {
        "basins": n,
        "devices": devices,
        "jax_devices": len(jax.devices()),
        "mode": mode,
        "open_seconds": opened,
        "prepare_seconds": fit.seconds - sum(epochs),
        "epoch_seconds": epochs,
        "loss": [h["loss"] for h in fit.history],
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_mb_after_epoch": rss,
        "steps": fit.history[-1]["steps"],
    }
    Path(out).write_text(json.dumps(result, indent=1))


def run_case(args, store: Path, n: int, devices: str, mode: str, period, repeat: int) -> dict:
    path = args.cases / f"{mode}_{n}_{devices}_run{repeat}.json"
    if args.resume and path.is_file():
        return json.loads(path.read_text())
    cmd = [sys.executable, __file__, "--case", str(store), str(n), devices, mode, str(path)]
    cmd += ["--period", *period]
    print(f"{mode:>6} {n:>6} basins, devices {devices}, run {repeat} ...", flush=True)
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    subprocess.run(cmd, check=True, env=env)
    result = json.loads(path.read_text())
    print(
        f"        epoch {result['epoch_seconds'][-1]:.1f} s, prepare "
        f"{result['prepare_seconds']:.1f} s, peak {result['peak_rss_mb']:.0f} MB",
        flush=True,
    )
    return result


ORDER = {"default": 0, "1": 1, "2": 2, "4": 4}


def medians(runs: list[dict]) -> list[dict]:
    """One row per (basins, devices, data), the median of its runs' figures, in table order,
    with its epoch as a ratio of the 1-device epoch (same data) and of the in-memory epoch
    (same basins), None where there is none to compare with."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["basins"], r["devices"], r["mode"]), []).append(r)
    rows = {}
    for key, rs in groups.items():

        def med(f, rs=rs):
            return float(np.median([f(r) for r in rs]))

        n, devices, mode = key
        rows[key] = {
            "basins": n,
            "devices": devices,
            "mode": mode,
            "runs": len(rs),
            "steps": rs[0]["steps"],
            "prepare_seconds": med(lambda r: r["open_seconds"] + r["prepare_seconds"]),
            "first_epoch_seconds": med(lambda r: r["epoch_seconds"][0]),
            "epoch_seconds": med(lambda r: r["epoch_seconds"][-1]),
            "peak_rss_mb": med(lambda r: r["peak_rss_mb"]),
        }
    for (n, _, mode), row in rows.items():
        for name, base in (
            ("epoch_over_one_device", (n, "1", mode)),
            ("epoch_over_in_memory", (n, "default", "memory")),
        ):
            other = rows.get(base)
            ok = other is not None and other is not row
            row[name] = row["epoch_seconds"] / other["epoch_seconds"] if ok else None
    return sorted(
        rows.values(),
        key=lambda r: (r["basins"], r["mode"] != "memory", ORDER.get(r["devices"], 9)),
    )


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def table(rows: list[dict]) -> str:
    lines = [
        "| basins | data | devices | runs | steps/epoch | prepare (s) | 1st epoch (s) "
        "| epoch (s) | s/step | epoch / 1 device | epoch / in memory | peak memory (MB) |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['basins']} | {r['mode']} | {r['devices']} | {r['runs']} | {r['steps']} | "
            f"{r['prepare_seconds']:.1f} | {r['first_epoch_seconds']:.1f} | "
            f"{r['epoch_seconds']:.1f} | {r['epoch_seconds'] / r['steps']:.3f} | "
            f"{_ratio(r['epoch_over_one_device'])} | {_ratio(r['epoch_over_in_memory'])} | "
            f"{r['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def summary(rows: list[dict]) -> str:
    """What the table says, computed from it: memory against basins, streamed against in
    memory, several devices against one."""
    sizes = sorted({r["basins"] for r in rows})
    lines = []
    for mode in ("stream", "memory"):
        held = [r for r in rows if r["mode"] == mode and r["devices"] == "default"]
        if len(held) >= 2:
            a, b = held[0], held[-1]
            gb_a, gb_b = a["peak_rss_mb"] / 1024, b["peak_rss_mb"] / 1024
            per = (gb_b - gb_a) / (b["basins"] - a["basins"]) * 1000
            lines.append(
                f"- Peak memory, {mode}: {gb_a:.2f} GB for {a['basins']} basins, {gb_b:.2f} GB "
                f"for {b['basins']} ({per:+.3f} GB per 1,000 more basins)."
            )
    slow = [
        r["epoch_over_in_memory"]
        for r in rows
        if r["mode"] == "stream" and r["devices"] == "default" and r["epoch_over_in_memory"]
    ]
    if slow:
        lines.append(
            f"- Streamed epoch / in-memory epoch (one device with its thread pool): "
            f"{min(slow):.2f}-{max(slow):.2f}: reading the batch from the file and cutting "
            "its windows, done while the previous batch trains, shares the 2 cores with it."
        )
    for devices in ("2", "4"):
        ratios = {
            r["basins"]: r["epoch_over_one_device"]
            for r in rows
            if r["mode"] == "stream" and r["devices"] == devices and r["epoch_over_one_device"]
        }
        if ratios:
            values = list(ratios.values())
            lines.append(
                f"- Streamed epoch on {devices} devices / on 1 one-thread device: "
                f"{min(values):.2f}-{max(values):.2f} (by basins: "
                + ", ".join(f"{n}: {r:.2f}" for n, r in ratios.items())
                + ")."
            )
    per_step = [
        r["epoch_seconds"] / r["steps"]
        for r in rows
        if r["mode"] == "stream" and r["devices"] == "1"
    ]
    if per_step:
        lines.append(
            f"- Seconds per step, streamed on one device: {min(per_step):.3f}-"
            f"{max(per_step):.3f} from {sizes[0]} to {sizes[-1]} basins: the epoch grows with "
            "the number of windows, the step does not."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--basins", type=int, nargs="+", default=[473, 2000, 10000])
    parser.add_argument("--devices", nargs="+", default=["default", "1", "2", "4"])
    parser.add_argument("--memory-up-to", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each case, interleaved")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--case", nargs=5)
    parser.add_argument("--period", nargs=2, default=list(FULL))
    args = parser.parse_args()
    if args.case:
        store, n, devices, mode, out = args.case
        case(store, int(n), devices, mode, tuple(args.period), out)
        return
    period = QUICK if args.quick else FULL
    if args.quick:
        args.basins, args.devices, args.memory_up_to = [200], ["default", "2"], 200
    folder = RUNS / "quick" if args.quick else RUNS
    args.cases = folder / "cases"
    args.cases.mkdir(parents=True, exist_ok=True)
    store = folder / f"synthetic_{max(args.basins)}.nc"
    if not store.is_file():
        t = time.perf_counter()
        build_store(store, max(args.basins), period)
        print(f"store built in {time.perf_counter() - t:.0f} s", flush=True)
    for repeat in range(args.repeat):
        for n in args.basins:
            if n <= args.memory_up_to:
                run_case(args, store, n, "default", "memory", period, repeat)
            for devices in args.devices:
                run_case(args, store, n, devices, "stream", period, repeat)
    # the table holds every case measured so far, this invocation's and earlier ones
    runs = [json.loads(p.read_text()) for p in sorted(args.cases.glob("*.json"))]
    rows = medians(runs)
    out = folder if args.quick else RESULTS
    record = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (forced CPU devices)",
        "model": "regional_hybrid",
        "period": list(period),
        "batch_size": 256,
        "window_days": 2190,
        "stride_days": 1825,
        "rows": rows,
        "runs": runs,
    }
    (out / "scale.json").write_text(json.dumps(record, indent=1))
    header = (
        "# Regional training: many basins, several devices\n\n"
        f"`benchmarks/scale.py` on {record['machine']}: the regional hybrid, "
        f"{record['period'][0]} to {record['period'][1]}, batch 256, windows of 2,190 days "
        "every 1,825, every case in a fresh process; medians of the runs counted. "
        "'prepare' is opening the data, the statistics and the windows (streamed: one pass "
        "over every basin); 'epoch' is the second (the first compiles). On 2 cores, 4 "
        "devices time-share them.\n\n"
    )
    text = header + table(rows) + "\n\n" + summary(rows) + "\n"
    (out / "scale.md").write_text(text)
    print(table(rows))


if __name__ == "__main__":
    main()
