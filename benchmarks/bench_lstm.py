"""dgeo's LSTM against torch.nn.LSTM (the peer; `pip install -e ".[peers]"`), side by side.

  python benchmarks/bench_lstm.py step [--repeats 7] [--threads N]
      One Adam step of each side on identical inputs: 256 windows x 365 days x 5 inputs,
      float32, dropout 0.4 before a linear head, mean squared error on the last day or on all
      days, hidden 64 and 256. Each side runs in a worker process of its own (`worker`); the
      two alternate, step by step; medians are reported, with dgeo's compile time. Default thread pools unless --threads.
  python benchmarks/bench_lstm.py step --shape regional
      The same at the regional LSTM's training shapes (regional_pub.yml: batches of 64 windows
      of 2190 days, 5 forcings + 27 attributes, hidden 64): how fast an epoch can be with
      these settings, whichever library steps it. The loss is the mean squared error on all
      days, an approximation of training's NSE* loss with its spin-up days masked.
  python benchmarks/bench_lstm.py regional LABEL [--devices N]
      Seconds per epoch of the regional LSTM of examples/configs/regional_pub.yml on its 473
      basins x 30 years (3 epochs, the first, which compiles, not counted), through
      `dgeo.train.train_regional`. Run it under two dgeo versions to compare them:
      PYTHONPATH=OLD/python python benchmarks/bench_lstm.py regional before
      --devices N splits each batch over N single-threaded CPU devices (the `dgeo` command's
      --devices), one per core.
  python benchmarks/bench_lstm.py windows [--minutes 6] [--basins 120]
      Does a shorter window with larger batches train the regional LSTM to the same
      validation NSE in less wall time? Trains each setting of WINDOW_SETTINGS for the same
      wall time on the same basins and records the validation NSE after every epoch.

Each mode writes its part of benchmarks/results/lstm.json and rewrites lstm.md from it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BATCH, DAYS, INPUTS, DROPOUT, LR = 256, 365, 5, 0.4, 1e-3
CASES = [(64, "last"), (64, "all"), (256, "last"), (256, "all")]
SCALE = ("1981-01-01", "2010-12-31")
#: (window_days, stride_days, batch_size): today's default first.
WINDOW_SETTINGS = [(2190, 1825, 64), (730, 365, 256), (1095, 730, 128)]
#: name -> (batch, days, inputs, cases) of `step`: the issue's four cases, and one training
#: step of the regional LSTM of regional_pub.yml.
SHAPES = {"issue": (BATCH, DAYS, INPUTS, CASES), "regional": (64, 2190, 32, [(64, "all")])}


def dgeo_step(hidden: int, loss_on: str, inputs: int):
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import optax

    from dgeo.nn import LSTM

    model = LSTM(inputs, hidden=hidden, dropout=DROPOUT, key=jax.random.key(0))
    optimiser = optax.adam(LR)
    state = optimiser.init(eqx.filter(model, eqx.is_array))

    def loss(model, x, y, key):
        q = jax.vmap(lambda x, k: model(x, key=k))(x, jax.random.split(key, x.shape[0]))
        return jnp.mean((q[:, -1] - y[:, -1]) ** 2) if loss_on == "last" else jnp.mean((q - y) ** 2)

    @eqx.filter_jit
    def step(model, state, x, y, key):
        value, grads = eqx.filter_value_and_grad(loss)(model, x, y, key)
        updates, state = optimiser.update(grads, state, model)
        return eqx.apply_updates(model, updates), state, value

    carry = {"model": model, "state": state, "i": 0}

    def run(x, y):
        carry["i"] += 1
        key = jax.random.key(carry["i"])
        carry["model"], carry["state"], value = step(carry["model"], carry["state"], x, y, key)
        return float(value)

    return run, (jnp.asarray, jnp.asarray)


def torch_step(hidden: int, loss_on: str, inputs: int):
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(inputs, hidden, batch_first=True)
            self.dropout = torch.nn.Dropout(DROPOUT)
            self.head = torch.nn.Linear(hidden, 1)

        def forward(self, x):
            return self.head(self.dropout(self.lstm(x)[0]))[..., 0]

    torch.manual_seed(0)
    net = Net()
    optimiser = torch.optim.Adam(net.parameters(), LR)

    def run(x, y):
        optimiser.zero_grad()
        q = net(x)
        value = ((q[:, -1] - y[:, -1]) ** 2).mean() if loss_on == "last" else ((q - y) ** 2).mean()
        value.backward()
        optimiser.step()
        return float(value.detach())

    return run, (torch.from_numpy, torch.from_numpy)


def worker(side: str, hidden: int, loss_on: str, threads: int | None, shape: str) -> None:
    """One side in its own process: builds, compiles, then times one step per line read.

    Each side runs in a process of its own because two thread pools in one process (XLA's
    and torch's OpenMP) slow each other down: torch's 64-unit step took 1.1 s beside JAX in
    one process and 0.34 s alone."""
    import sys

    batch, days, inputs, _ = SHAPES[shape]
    if threads:
        import torch

        import dgeo

        dgeo.xla_cpu_threads(threads) if side == "dgeo" else torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(batch, days, inputs)).astype(np.float32)
    y = rng.normal(size=(batch, days)).astype(np.float32)
    run, (cx, cy) = (dgeo_step if side == "dgeo" else torch_step)(hidden, loss_on, inputs)
    x, y = cx(x), cy(y)
    for line in sys.stdin:
        if line.strip() != "step":
            break
        began = time.perf_counter()
        run(x, y)
        print(time.perf_counter() - began, flush=True)


def _timed_step(process) -> float:
    process.stdin.write("step\n")
    process.stdin.flush()
    return float(process.stdout.readline())


def step_times(repeats: int, threads: int | None = None, shape: str = "issue") -> dict:
    """Both sides, each in its own worker process, stepping in turn."""
    import subprocess
    import sys

    import jax
    import torch

    load = os.getloadavg()
    cases = []
    batch, days, inputs, shape_cases = SHAPES[shape]
    for hidden, loss_on in shape_cases:
        workers = {}
        for side in ("dgeo", "torch"):
            command = [sys.executable, __file__, "worker", side, str(hidden), loss_on]
            command += ["--shape", shape]
            command += ["--threads", str(threads)] if threads else []
            workers[side] = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )

        first = {side: _timed_step(w) for side, w in workers.items()}  # compile, warm up
        seconds = {side: [] for side in workers}
        for _ in range(repeats):
            for side, w in workers.items():  # interleaved
                seconds[side].append(_timed_step(w))
        for w in workers.values():
            w.stdin.close()
            w.wait()
        median = {side: float(np.median(s)) for side, s in seconds.items()}
        case = {
            "hidden": hidden,
            "loss_on": loss_on,
            "dgeo_step_s": median["dgeo"],
            "torch_step_s": median["torch"],
            "ratio_torch_over_dgeo": median["torch"] / median["dgeo"],
            "dgeo_compile_s": first["dgeo"] - median["dgeo"],
            "dgeo_all_s": seconds["dgeo"],
            "torch_all_s": seconds["torch"],
        }
        print(
            f"hidden {hidden:3d}, loss on {loss_on:4s}: dgeo {median['dgeo']:.3f} s, "
            f"torch {median['torch']:.3f} s, speed ratio {case['ratio_torch_over_dgeo']:.2f} "
            f"(compile {case['dgeo_compile_s']:.1f} s)",
            flush=True,
        )
        cases.append(case)
    default = os.cpu_count()
    return {
        "batch": batch,
        "days": days,
        "inputs": inputs,
        "dropout": DROPOUT,
        "repeats": repeats,
        "threads": {"torch": threads or torch.get_num_threads(), "xla": threads or default},
        "versions": {"jax": jax.__version__, "torch": torch.__version__},
        "load_average_before": load,
        "cases": cases,
    }


def regional_config():
    from dgeo.config import read_config
    from dgeo.runs import load_data, regional_options

    config = read_config(ROOT / "examples" / "configs" / "regional_pub.yml")
    return load_data(config), regional_options(config)["regional_lstm"]


def regional_epoch(label: str, devices: int = 1) -> dict:
    """`devices` > 1: the batches split over that many single-threaded CPU devices
    (`dgeo.cpu_devices`, `dgeo.train.data_parallel`), as the `dgeo` command's --devices."""
    import contextlib

    import dgeo
    from dgeo.train import train_regional

    parallel = contextlib.nullcontext()
    if devices > 1:  # imported only here: older dgeo versions, timed for comparison, lack it
        from dgeo.train import data_parallel

        dgeo.cpu_devices(devices)
        parallel = data_parallel()
    load = os.getloadavg()
    ds, options = regional_config()
    options = dataclasses.replace(options, epochs=3)
    basins = ds["basin"].values
    with parallel:
        fit = train_regional(ds, "regional_lstm", basins, SCALE, options, label=f"LSTM ({label})")
    later = [h["seconds"] for h in fit.history[1:]]
    return {
        "label": label,
        "dgeo": str(Path(dgeo.__file__).parent),
        "basins": len(basins),
        "years": 30,
        "hidden": options.hidden,
        "window_days": options.window_days,
        "batch_size": options.batch_size,
        "devices": devices,
        "epoch_seconds": float(np.median(later)),
        "first_epoch_seconds": fit.history[0]["seconds"],
        "load_average_before": load,
    }


class OutOfTime(Exception):
    """The wall-time budget of a window setting is spent."""


def window_trial(minutes: float, basins: int, seed: int = 0) -> list[dict]:
    from dgeo.train import train_regional

    ds, options = regional_config()
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(ds["basin"].values, size=basins, replace=False))
    out = []
    for window, stride, batch in WINDOW_SETTINGS:
        o = dataclasses.replace(
            options, window_days=window, stride_days=stride, batch_size=batch, epochs=1000
        )
        curve, began = [], time.perf_counter()

        def stop_after(entry, curve=curve, began=began):
            curve.append(
                {
                    "seconds": time.perf_counter() - began,
                    "loss": entry["loss"],
                    "validation_nse": entry.get("validation_nse"),
                }
            )
            if curve[-1]["seconds"] > 60 * minutes:
                raise OutOfTime  # a fixed wall-time budget

        label = f"window {window} d, batch {batch}"
        try:
            train_regional(
                ds,
                "regional_lstm",
                chosen,
                ("1981-10-01", "1996-09-30"),
                o,
                validation=("1996-10-01", "2000-09-30"),
                label=label,
                callback=stop_after,
            )
        except OutOfTime:
            pass
        best = max(
            (c["validation_nse"] for c in curve if c["validation_nse"] is not None), default=None
        )
        print(
            f"{label}: {len(curve)} epochs in {curve[-1]['seconds']:.0f} s, best validation median NSE {best}"
        )
        out.append(
            {
                "seed": seed,
                "window_days": window,
                "stride_days": stride,
                "batch_size": batch,
                "curve": curve,
                "best_validation_nse": best,
            }
        )
    return out


#: Section titles of the step results.
TITLES = {
    "step": "Default thread pools",
    "step_regional_shape": "The regional LSTM's training step (regional_pub.yml), default thread pools",
}


def report(results: dict) -> str:
    lines = ["# dgeo's LSTM against torch.nn.LSTM", ""]
    for name in sorted(k for k in results if k.startswith("step")):
        step = results[name]
        lines += [
            f"## {TITLES.get(name, name.replace('_', ' '))}",
            "",
            f"One Adam step, {step['batch']} windows x {step['days']} days x {step['inputs']} "
            f"inputs, float32, dropout {step['dropout']}, median of {step['repeats']} "
            f"interleaved steps per side (jax {step['versions']['jax']}, torch "
            f"{step['versions']['torch']}, torch threads {step['threads']['torch']}, "
            f"XLA threads {step['threads']['xla']}; load average before "
            f"{step['load_average_before'][0]:.2f}).",
            "",
            "| hidden | loss on | dgeo step (s) | torch step (s) | speed ratio torch/dgeo | dgeo compile (s) |",
            "|---:|---|---:|---:|---:|---:|",
        ]
        for c in step["cases"]:
            lines.append(
                f"| {c['hidden']} | {c['loss_on']} day{'s' if c['loss_on'] == 'all' else ''} | "
                f"{c['dgeo_step_s']:.3f} | {c['torch_step_s']:.3f} | "
                f"{c['ratio_torch_over_dgeo']:.2f} | {c['dgeo_compile_s']:.1f} |"
            )
        lines.append("")
    epochs = results.get("regional_epoch", [])
    if epochs:
        lines += [
            "## Regional LSTM epoch, 473 basins x 30 years",
            "",
            "| dgeo | hidden | window (d) | batch | CPU devices | epoch (s) | first epoch, with "
            "compile (s) | load avg |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for e in epochs:
            lines.append(
                f"| {e['label']} | {e['hidden']} | {e['window_days']} | {e['batch_size']} | "
                f"{e.get('devices', 1)} | {e['epoch_seconds']:.1f} | {e['first_epoch_seconds']:.1f} | "
                f"{e['load_average_before'][0]:.1f} |"
            )
        regional = results.get("step_regional_shape")
        # the last epoch on one device with this checkout's dgeo (not an older version timed
        # for comparison): the reference of the paragraph below
        ours = str(ROOT / "python" / "dgeo")
        single = [e for e in epochs if e.get("devices", 1) == 1]
        last = next((e for e in reversed(single) if e["dgeo"] == ours), single[-1])["epoch_seconds"]
        if regional:
            c = regional["cases"][0]
            lines += [
                "",
                f"One training step at this epoch's shapes takes dgeo {c['dgeo_step_s']:.3f} s and "
                f"torch.nn.LSTM {c['torch_step_s']:.3f} s (speed ratio torch/dgeo "
                f"{c['ratio_torch_over_dgeo']:.2f}, section above; the step's loss is the mean "
                "squared error on all days, training's is NSE* after the spin-up days). "
                + (
                    "With these settings the epoch would be no shorter with torch's LSTM; "
                    if c["ratio_torch_over_dgeo"] >= 1.0
                    else f"At torch's speed the last one-device epoch above ({last:.1f} s) would "
                    f"take {c['ratio_torch_over_dgeo'] * last:.1f} s, still above the 15.5 s "
                    "target; "
                )
                + "a shorter epoch needs other windows and batches (next section) or other "
                "hardware.",
            ]
        split = [i for i, e in enumerate(epochs) if e.get("devices", 1) > 1]
        if split:
            i = split[-1]
            e = epochs[i]
            # its reference: the one-device epoch measured beside it, next to it in the table
            beside = [epochs[j] for j in (i + 1, i - 1) if 0 <= j < len(epochs)]
            one = next((b for b in beside if b.get("devices", 1) == 1), None)
            against = (
                f"{one['epoch_seconds']:.1f} s on one device beside it ({one['label']})"
                if one
                else f"{last:.1f} s, the last one-device epoch"
            )
            lines += [
                "",
                f"Splitting each batch over {e['devices']} single-threaded CPU devices "
                f"(`--devices {e['devices']}`, {e['label']}) makes the epoch slower: "
                f"{e['epoch_seconds']:.1f} s against {against}. Unlike δHBV's elementwise "
                "daily loop "
                "(benchmarks/results/hbv_speed.md), the LSTM's step already gains from XLA's "
                "default thread pool over both cores (the one-thread steps above are slower), "
                "and one thread per device loses that.",
            ]
        lines.append("")
    trials = results.get("windows")
    if trials:
        setup = results.get("windows_setup", {})
        lines += [
            "## Window length and batch size, same wall time",
            "",
            f"The regional LSTM of regional_pub.yml (hidden {setup.get('hidden', 64)}) on "
            f"{setup.get('basins', '?')} randomly chosen basins, trained on 1981-10-01 to "
            "1996-09-30 and scored on 1996-10-01 to 2000-09-30 (median NSE over the basins after "
            f"every epoch); each setting trained for {setup.get('minutes', '?')} minutes of wall "
            "time, compile and validation included; the seed draws the basins.",
            "",
            "| seed | window (d) | stride (d) | batch | epochs | seconds | best validation median NSE |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for t in trials:
            best = t["best_validation_nse"]
            lines.append(
                f"| {t.get('seed', 0)} | {t['window_days']} | {t['stride_days']} | {t['batch_size']} | "
                f"{len(t['curve'])} | {t['curve'][-1]['seconds']:.0f} | "
                f"{'n/a' if best is None else f'{best:.3f}'} |"
            )
        winners = {}
        for t in trials:
            seed, nse = t.get("seed", 0), t["best_validation_nse"] or -np.inf
            if seed not in winners or nse > winners[seed][1]:
                winners[seed] = ((t["window_days"], t["stride_days"], t["batch_size"]), nse)
        settings = {w for w, _ in winners.values()}
        verdict = (
            f"one setting, {settings.pop()}, wins on every seed"
            if len(settings) == 1
            else "no setting wins on every seed, so the default (the first row) is kept"
        )
        best = "; ".join(
            f"seed {seed}: {'/'.join(map(str, w))} ({nse:.3f})"
            for seed, (w, nse) in winners.items()
        )
        lines += ["", f"Best per seed (window/stride/batch): {best}; {verdict}."]
        lines.append("")
    lines.append(f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("step")
    s.add_argument("--repeats", type=int, default=7)
    s.add_argument("--threads", type=int, default=None)
    s.add_argument("--shape", choices=list(SHAPES), default="issue")
    k = sub.add_parser("worker")
    k.add_argument("side", choices=["dgeo", "torch"])
    k.add_argument("hidden", type=int)
    k.add_argument("loss_on", choices=["last", "all"])
    k.add_argument("--threads", type=int, default=None)
    k.add_argument("--shape", choices=list(SHAPES), default="issue")
    r = sub.add_parser("regional")
    r.add_argument("label")
    r.add_argument(
        "--devices", type=int, default=1, help="split each batch over N single-threaded CPU devices"
    )
    w = sub.add_parser("windows")
    w.add_argument("--minutes", type=float, default=6.0)
    w.add_argument("--basins", type=int, default=120)
    w.add_argument("--seed", type=int, default=0, help="draws the basins")
    args = parser.parse_args()
    if args.mode == "worker":
        return worker(args.side, args.hidden, args.loss_on, args.threads, args.shape)
    path = RESULTS / "lstm.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    if args.mode == "step":
        name = "step" if not args.threads else f"step_{args.threads}_threads"
        name += "" if args.shape == "issue" else f"_{args.shape}_shape"
        results[name] = step_times(args.repeats, args.threads, args.shape)
    elif args.mode == "regional":
        epoch = regional_epoch(args.label, args.devices)
        results.setdefault("regional_epoch", []).append(epoch)
    else:
        # Trials of other seeds are kept; this seed's are replaced.
        kept = [t for t in results.get("windows", []) if t.get("seed", 0) != args.seed]
        results["windows"] = kept + window_trial(args.minutes, args.basins, args.seed)
        results["windows_setup"] = {"minutes": args.minutes, "basins": args.basins, "hidden": 64}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
    (RESULTS / "lstm.md").write_text(report(results))
    print(f"wrote {path} and lstm.md")


if __name__ == "__main__":
    main()
