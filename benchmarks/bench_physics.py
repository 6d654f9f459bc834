"""Speed, memory and compile time of the physics core (EXP-HYDRO) per solver and sensitivity.

Writes benchmarks/results/physics.json and physics.md. Throughput is basin-days per second,
median of several runs after compilation. Memory is the working memory XLA allocates for the
compiled gradient (`memory_analysis().temp_size_in_bytes`: everything but the arguments and
outputs), which is deterministic, unlike process RSS on a noisy shared machine.

A third table splits the discrete step's cost per day into a fixed part (loop and kernel
launches, paid once per day whatever the number of basins) and a part per basin, by timing
one to 32 x 84 basins: it shows whether the gradient/forward ratio is set by overhead or by
arithmetic.

Usage: python benchmarks/bench_physics.py [--quick] [--memory-only | --scaling-only]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import dgeo
from dgeo.data import load_camels_us, to_time_major

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CAMELS = ROOT.parent / "shared" / "data" / "camels_us"
PARAMS = {"f": 0.03, "smax": 600.0, "qmax": 20.0, "df": 2.0, "tmax": 1.0, "tmin": -1.0}
MODEL = dgeo.ExpHydro()


def synthetic_forcing(basins: int, years: int, seed: int = 0) -> dict[str, jax.Array]:
    """Seeded daily weather: seasonal temperature and day length, intermittent rain and snow."""
    rng = np.random.default_rng(seed)
    days = 365 * years
    doy = np.arange(days)[:, None] % 365
    season = np.cos(2 * np.pi * (doy - 200) / 365)
    tmean = 8 + 12 * season + rng.normal(0, 3, (days, basins)) + rng.normal(0, 4, basins)
    wet = rng.random((days, basins)) < 0.35
    prcp = np.where(wet, rng.gamma(0.8, 8.0, (days, basins)), 0.0)
    dayl = np.broadcast_to(0.5 + 0.12 * season, (days, basins))
    qobs = 0.4 * np.convolve(prcp.mean(1), np.ones(5) / 5, "same")[:, None] + 0 * prcp
    arrays = {"prcp": prcp, "tmean": tmean, "dayl": dayl, "qobs": qobs}
    return {k: jnp.asarray(v, jnp.float32) for k, v in arrays.items()}


def real_forcing() -> dict[str, jax.Array]:
    ds = load_camels_us(CAMELS, attributes=False)
    arrays = to_time_major(ds, MODEL.forcings)
    arrays["qobs"] = to_time_major(ds, {"qobs": "mm/day"}, allow_nan=True)["qobs"]
    return {k: jnp.asarray(v) for k, v in arrays.items()}


def squared_error(values, forcing):
    # Streamed loss: the series is never stored, which keeps checkpointed memory flat in T.
    # NaN (unobserved) days are replaced before the square, or their gradient is NaN * 0.
    missing = jnp.isnan(forcing["qobs"])
    return jnp.where(missing, 0.0, values["q"] - jnp.where(missing, 0.0, forcing["qobs"])) ** 2


def functions(solver, sensitivity, basins):
    params = {k: jnp.full(basins, v, jnp.float32) for k, v in PARAMS.items()}

    def forward(forcing):
        return dgeo.integrate(MODEL, forcing, params, solver=solver, save=("q",)).series["q"]

    def loss(p, forcing):
        traj = dgeo.integrate(
            MODEL,
            forcing,
            p,
            solver=solver,
            sensitivity=sensitivity,
            save=(),
            accumulate=squared_error,
        )
        return jnp.sum(traj.total)

    return params, jax.jit(forward), jax.jit(jax.grad(loss))


def timed(fn, *args, repeats: int) -> tuple[float, float]:
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    compile_s = time.perf_counter() - start
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        runs.append(time.perf_counter() - start)
    return compile_s, statistics.median(runs)


def throughput(label, solver, sensitivity, forcing, repeats, reference=None):
    """Timings of one case; with `reference` (a gradient of an exact method on the same
    case) also how far this gradient is from it: a fast gradient must also be a right one."""
    days, basins = forcing["prcp"].shape
    params, forward, grad = functions(solver, sensitivity, basins)
    fwd_compile, fwd_s = timed(forward, forcing, repeats=repeats)
    grad_compile, grad_s = timed(grad, params, forcing, repeats=repeats)
    gradient = {k: np.asarray(v) for k, v in grad(params, forcing).items()}
    row = {
        "case": label,
        "basins": basins,
        "days": days,
        "forward_s": fwd_s,
        "gradient_s": grad_s,
        "forward_basin_days_per_s": basins * days / fwd_s,
        "gradient_basin_days_per_s": basins * days / grad_s,
        "gradient_over_forward": grad_s / fwd_s,
        "gradient_compile_s": grad_compile,
        "gradient_nan": int(sum(np.isnan(v).sum() for v in gradient.values())),
    }
    if reference is not None:  # per parameter, relative to its largest gradient over basins
        row["max_rel_diff_vs_exact"] = max(
            float(np.nanmax(np.abs(gradient[k] - r)) / np.abs(r).max())
            for k, r in reference.items()
        )
    print(json.dumps(row))
    return row, gradient


def gradient_memory(solver, sensitivity, basins, years) -> int:
    forcing = synthetic_forcing(basins, years)
    params, _, grad = functions(solver, sensitivity, basins)
    compiled = grad.lower(params, forcing).compile()
    return int(compiled.memory_analysis().temp_size_in_bytes)


def group(rows, case, solver, methods, forcing, repeats) -> None:
    """Every method on one case; the first is exact and the reference of the others."""
    solver_name, data = case.split("/")
    reference = None
    for name, sens in methods:
        row, gradient = throughput(
            f"{solver_name}/{name}/{data}", solver, sens, forcing, repeats, reference
        )
        rows.append(row)
        if reference is None:
            reference = gradient


BACKPROP, CHECKPOINT = ("backprop", dgeo.Backprop()), ("checkpoint", dgeo.Checkpoint())


def discrete_rows(rows, label, methods, quick, repeats) -> None:
    """The discrete solver on 671 synthetic basins x 30 years and on the 26 real basins."""
    many = synthetic_forcing(100 if quick else 671, 5 if quick else 30)
    group(rows, f"{label}/synthetic", dgeo.Discrete(), methods, many, repeats)
    if CAMELS.is_dir():  # 26 basins x 35 years
        group(rows, f"{label}/camels26", dgeo.Discrete(), methods, real_forcing(), repeats)


def throughput_rows(quick, repeats) -> list[dict]:
    rows = []
    recursive = ("checkpoint-recursive", dgeo.Checkpoint(recursive=True))
    methods = (BACKPROP, CHECKPOINT, recursive, ("forward", dgeo.Forward()))
    discrete_rows(rows, "discrete", methods, quick, repeats)
    methods = (CHECKPOINT, ("adjoint", dgeo.Adjoint()), BACKPROP, recursive)
    tsit5, fewer = dgeo.Continuous(), max(1, repeats - 2)
    group(rows, "tsit5/synthetic", tsit5, methods, synthetic_forcing(100, 10), fewer)
    if CAMELS.is_dir() and not quick:
        group(rows, "tsit5/camels26", tsit5, methods, real_forcing(), fewer)
    return rows


def one_thread_rows(quick: bool) -> list[dict]:
    """The discrete cases again in a fresh process whose XLA CPU pool has one thread
    (`dgeo.xla_cpu_threads(1)`: the pool is fixed when the backend starts)."""
    command = [sys.executable, __file__, "--one-thread-child", *(["--quick"] if quick else [])]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _one_thread_child(quick: bool) -> None:
    dgeo.xla_cpu_threads(1)
    rows = []
    discrete_rows(rows, "discrete-1thread", (BACKPROP, CHECKPOINT), quick, 3 if quick else 5)
    print(json.dumps(rows))


def scaling(quick: bool, repeats: int) -> dict:
    """Discrete `Backprop` forward and gradient time per day against the number of basins
    (10 years), and a least-squares line through them: microseconds per day = fixed + per
    basin x basins. The ratio of the per-basin slopes is the gradient/forward ratio that
    overhead does not set."""
    years = 2 if quick else 10
    cases = {}
    for basins in (84, 336, 671) if quick else (84, 168, 336, 671, 1342, 2688):
        forcing = synthetic_forcing(basins, years)
        params, forward, grad = functions(dgeo.Discrete(), dgeo.Backprop(), basins)
        jax.block_until_ready((forward(forcing), grad(params, forcing)))  # compile
        cases[basins] = (forward, (forcing,)), (grad, (params, forcing)), forcing["prcp"].shape[0]
    # Sizes take turns within each repeat, so that a noisy spell spreads over all of them.
    runs = {basins: ([], []) for basins in cases}
    for _ in range(repeats + 2):
        for basins, (fwd, grd, days) in cases.items():
            for (fn, args), out in zip((fwd, grd), runs[basins], strict=True):
                start = time.perf_counter()
                jax.block_until_ready(fn(*args))
                out.append((time.perf_counter() - start) / days * 1e6)
    rows = []
    for basins, (fwd_us, grad_us) in runs.items():
        fwd_us, grad_us = statistics.median(fwd_us), statistics.median(grad_us)
        rows.append(
            {
                "basins": basins,
                "forward_us_per_day": fwd_us,
                "gradient_us_per_day": grad_us,
                "ratio": grad_us / fwd_us,
            }
        )
        print("scaling", rows[-1], flush=True)
    basins = np.array([r["basins"] for r in rows], float)
    fit = {}
    for name in ("forward", "gradient"):
        slope, fixed = np.polyfit(basins, [r[f"{name}_us_per_day"] for r in rows], 1)
        fit[name] = {"fixed_us_per_day": float(fixed), "ns_per_basin_day": float(slope * 1e3)}
    fit["marginal_ratio"] = fit["gradient"]["ns_per_basin_day"] / fit["forward"]["ns_per_basin_day"]
    return {"years": years, "rows": rows, "fit": fit}


def main(quick: bool = False, memory_only: bool = False, scaling_only: bool = False) -> dict:
    repeats = 3 if quick else 5
    discrete = dgeo.Discrete()
    tsit5 = dgeo.Continuous()
    last = json.loads((RESULTS / "physics.json").read_text()) if memory_only or scaling_only else {}
    if last:  # keep the throughput rows of the last full run
        rows = last["throughput"]
    else:
        rows = throughput_rows(quick, repeats) + one_thread_rows(quick)
    per_day = last.get("scaling") if memory_only else scaling(quick, repeats)
    memory = last["gradient_working_memory"] if scaling_only else {}
    for solver_name, solver, basins in (("discrete", discrete, 671), ("tsit5", tsit5, 100)):
        if scaling_only:
            break
        for name, sens in (
            ("backprop", dgeo.Backprop()),
            ("checkpoint", dgeo.Checkpoint()),  # default: two-level, 1000 stretches
            ("checkpoint64-recursive", dgeo.Checkpoint(64, recursive=True)),  # 64 days, any T
            ("adjoint", dgeo.Adjoint()),
        ):
            if solver_name == "discrete" and name == "adjoint":
                continue
            sizes = {y: gradient_memory(solver, sens, basins, y) for y in (10, 20, 30)}
            memory[f"{solver_name}/{name}/{basins}basins"] = {
                f"{y}y_MiB": round(b / 2**20, 2) for y, b in sizes.items()
            } | {"ratio_30y_10y": round(sizes[30] / sizes[10], 3)}
            print(solver_name, name, memory[f"{solver_name}/{name}/{basins}basins"])
    result = {
        "machine": f"{platform.machine()}, {jax.device_count()} {jax.default_backend()} device(s), {__import__('os').cpu_count()} cores",
        "jax": jax.__version__,
        "quick": quick,
        "throughput": rows,
        "gradient_working_memory": memory,
        "scaling": per_day,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "physics.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Physics core: EXP-HYDRO throughput, memory and compile time",
        "",
        f"{result['machine']}, JAX {result['jax']}; medians of {repeats} runs after compilation.",
        "",
        "The last column is the gradient's largest difference from the first (exact) method of",
        "its case, per parameter relative to its largest gradient over the basins (float32,",
        "default tolerances rtol = atol = 1e-5). `discrete-1thread` rows: the same cases in a fresh",
        "process whose XLA CPU thread pool has one thread (`dgeo.xla_cpu_threads(1)`); the",
        "others use JAX's default pool (one thread per core).",
        "",
        "| case | basins x days | forward basin-days/s | gradient basin-days/s | gradient/forward | gradient compile s | vs exact |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        diff = r.get("max_rel_diff_vs_exact")
        diff = "reference" if diff is None else f"{diff:.1e}"
        if r.get("gradient_nan"):
            diff += f" ({r['gradient_nan']} NaN)"
        lines.append(
            f"| {r['case']} | {r['basins']} x {r['days']} | {r['forward_basin_days_per_s'] / 1e6:.2f} M | "
            f"{r['gradient_basin_days_per_s'] / 1e6:.2f} M | {r['gradient_over_forward']:.2f} | {r['gradient_compile_s']:.1f} | {diff} |"
        )
    lines += ["", "Gradient working memory (XLA temp allocation, MiB) at 10, 20, 30 years:", ""]
    lines += ["| case | 10 y | 20 y | 30 y | 30y/10y |", "|---|---|---|---|---|"]
    for k, v in memory.items():
        lines.append(
            f"| {k} | {v['10y_MiB']} | {v['20y_MiB']} | {v['30y_MiB']} | {v['ratio_30y_10y']} |"
        )
    if per_day is not None:
        lines += _scaling_lines(per_day)
    (RESULTS / "physics.md").write_text("\n".join(lines) + "\n")
    return result


def _scaling_lines(per_day: dict) -> list[str]:
    fit = per_day["fit"]
    return [
        "",
        f"Discrete `Backprop`, {per_day['years']} years: time per day against the number of basins.",
        "",
        "| basins | forward us/day | gradient us/day | gradient/forward |",
        "|---|---|---|---|",
        *[
            f"| {r['basins']} | {r['forward_us_per_day']:.2f} | {r['gradient_us_per_day']:.2f} | {r['ratio']:.2f} |"
            for r in per_day["rows"]
        ],
        "",
        f"Least-squares line, us/day = fixed + basins x per-basin: forward "
        f"{fit['forward']['fixed_us_per_day']:.2f} us + {fit['forward']['ns_per_basin_day']:.2f} ns "
        f"per basin, gradient {fit['gradient']['fixed_us_per_day']:.2f} us + "
        f"{fit['gradient']['ns_per_basin_day']:.2f} ns per basin; ratio of the per-basin costs "
        f"{fit['marginal_ratio']:.2f}.",
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--memory-only", action="store_true", help="re-measure memory only")
    only.add_argument(
        "--scaling-only", action="store_true", help="re-measure the per-day costs only"
    )
    only.add_argument("--one-thread-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_thread_child:
        _one_thread_child(args.quick)
    else:
        main(args.quick, args.memory_only, args.scaling_only)
