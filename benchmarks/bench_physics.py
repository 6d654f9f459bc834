"""Speed, memory and compile time of the physics core (EXP-HYDRO) per solver and sensitivity.

Writes benchmarks/results/physics.json and physics.md. Throughput is basin-days per second,
median of several runs after compilation. Memory is the working memory XLA allocates for the
compiled gradient (`memory_analysis().temp_size_in_bytes`: everything but the arguments and
outputs), which is deterministic, unlike process RSS on a noisy shared machine.

Usage: python benchmarks/bench_physics.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
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


def throughput_rows(quick, repeats, discrete, tsit5) -> list[dict]:
    many = synthetic_forcing(100 if quick else 671, 5 if quick else 30)
    rows = []

    def group(case, solver, methods, forcing, repeats):
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

    backprop, checkpoint = ("backprop", dgeo.Backprop()), ("checkpoint", dgeo.Checkpoint())
    recursive = ("checkpoint-recursive", dgeo.Checkpoint(recursive=True))
    real = real_forcing() if CAMELS.is_dir() else None  # 26 basins x 35 years
    methods = (backprop, checkpoint, recursive, ("forward", dgeo.Forward()))
    group("discrete/synthetic", discrete, methods, many, repeats)
    if real is not None:
        group("discrete/camels26", discrete, methods, real, repeats)
    methods = (checkpoint, ("adjoint", dgeo.Adjoint()), backprop, recursive)
    group("tsit5/synthetic", tsit5, methods, synthetic_forcing(100, 10), max(1, repeats - 2))
    if real is not None and not quick:
        group("tsit5/camels26", tsit5, methods, real, max(1, repeats - 2))
    return rows


def main(quick: bool = False, memory_only: bool = False) -> dict:
    repeats = 3 if quick else 5
    discrete = dgeo.Discrete()
    tsit5 = dgeo.Continuous()
    if memory_only:  # keep the throughput rows of the last full run
        rows = json.loads((RESULTS / "physics.json").read_text())["throughput"]
    else:
        rows = throughput_rows(quick, repeats, discrete, tsit5)
    memory = {}
    for solver_name, solver, basins in (("discrete", discrete, 671), ("tsit5", tsit5, 100)):
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
        "default tolerances rtol = atol = 1e-5).",
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
    (RESULTS / "physics.md").write_text("\n".join(lines) + "\n")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--memory-only", action="store_true", help="re-measure memory only")
    args = parser.parse_args()
    main(args.quick, args.memory_only)
