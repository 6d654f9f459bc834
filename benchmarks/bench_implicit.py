"""Continuous solvers: one joint solve of all basins against one solve per basin, and float32
failures of an implicit solver with Newton held to the step controller's tolerance.

`dgeo.Continuous` solves an implicit method (Kvaerno5) basin by basin (vmap): a joint solve
gives Newton a dense Jacobian over every basin's states and flux integrals, so its cost grows
with the square (Jacobian) and cube (LU) of the number of basins. Explicit methods (Tsit5)
have no such system and are solved jointly. Both ways are timed here (`per_basin=`):
forward pass, float32, synthetic forcing, 1 year, median of 5 runs after compilation.

Then the 26 real CAMELS basins, 1980-2014, float32: days on which Kvaerno5 failed with
diffrax's Newton tolerances (the controller's rtol = 1e-5), with dgeo's (rtol floored at
1e4 x float32 epsilon), and with dgeo's and a larger step budget per day.

Writes benchmarks/results/implicit.json and implicit.md.

Usage: python benchmarks/bench_implicit.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import warnings

import diffrax
import jax
import jax.numpy as jnp

import dgeo
from bench_physics import MODEL, PARAMS, RESULTS, real_forcing, synthetic_forcing, timed


def forward(solver, basins):
    params = {k: jnp.full(basins, v, jnp.float32) for k, v in PARAMS.items()}

    @jax.jit
    def run(forcing):
        trajectory = dgeo.integrate(MODEL, forcing, params, solver=solver, save=("q",))
        return trajectory.series["q"], trajectory.failed_days

    return run


def scaling(sizes, repeats) -> list[dict]:
    rows = []
    for solver in (diffrax.Kvaerno5(), diffrax.Tsit5()):
        for basins in sizes:
            forcing = synthetic_forcing(basins, 1)
            row = {"solver": type(solver).__name__, "basins": basins, "days": 365}
            for name, per_basin in (("joint", False), ("per_basin", True)):
                run = forward(dgeo.Continuous(solver, per_basin=per_basin), basins)
                compile_s, seconds = timed(run, forcing, repeats=repeats)
                row[f"{name}_s"] = seconds
                row[f"{name}_compile_s"] = compile_s
                row[f"{name}_failed_days"] = int(run(forcing)[1])
            row["joint_over_per_basin"] = row["joint_s"] / row["per_basin_s"]
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def failures(quick: bool) -> dict:
    forcing = real_forcing()
    if quick:
        forcing = {k: v[:1000] for k, v in forcing.items()}
    days, basins = forcing["prcp"].shape
    chord = diffrax.VeryChord(
        rtol=1e-5, atol=1e-5, norm=diffrax.PIDController(rtol=1e-5, atol=1e-5).norm
    )
    out = {"basins": basins, "days": days}
    for name, solver in (
        ("newton_at_controller_tolerance", dgeo.Continuous(diffrax.Kvaerno5(root_finder=chord))),
        ("dgeo_default", dgeo.Continuous(diffrax.Kvaerno5())),
        ("dgeo_256_steps_per_day", dgeo.Continuous(diffrax.Kvaerno5(), max_steps_per_day=256)),
    ):
        out[f"{name}_failed_days"] = int(forward(solver, basins)(forcing)[1])
    print(json.dumps(out), flush=True)
    return out


def main(quick: bool = False) -> dict:
    warnings.simplefilter("ignore", UserWarning)
    sizes = (5, 10) if quick else (10, 25, 50, 100)
    result = {"scaling": scaling(sizes, repeats=5), "float32_failures": failures(quick)}
    name = "implicit_quick" if quick else "implicit"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(report(result))
    return result


def report(result: dict) -> str:
    lines = [
        "# Continuous solvers: one joint solve of all basins against one solve per basin",
        "",
        "Forward pass, float32, synthetic forcing, 1 year, median of 5 runs after compilation",
        "(`python benchmarks/bench_implicit.py`). `dgeo.Continuous` solves implicit methods per",
        "basin and explicit ones jointly.",
        "",
        "| solver | basins | joint s | per basin s | joint / per basin | first call s, with compile (joint, per basin) |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["scaling"]:
        lines.append(
            f"| {r['solver']} | {r['basins']} | {r['joint_s']:.3f} | {r['per_basin_s']:.3f} | "
            f"{r['joint_over_per_basin']:.1f} | {r['joint_compile_s']:.1f}, {r['per_basin_compile_s']:.1f} |"
        )
    f = result["float32_failures"]
    lines += [
        "",
        f"Days on which Kvaerno5 failed, {f['basins']} CAMELS basins x {f['days']} days, float32:",
        "",
        "| Newton tolerance | failed days |",
        "|---|---|",
        f"| the step controller's (diffrax's default: rtol 1e-5) | {f['newton_at_controller_tolerance_failed_days']} |",
        f"| dgeo's (rtol floored at 1.2e-3, ~1e-5 with the 1 % stopping test) | {f['dgeo_default_failed_days']} |",
        f"| dgeo's, `max_steps_per_day=256` (default 64) | {f['dgeo_256_steps_per_day_failed_days']} |",
        "",
        "A day counts as failed if any basin failed on it. With the controller's tolerance",
        "Newton stalls at float32 rounding and every step of the day is rejected. Days that",
        "still fail with dgeo's need more steps than the default budget (the last row); the",
        "warning names them and advises `max_steps_per_day`.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a check that it runs")
    main(parser.parse_args().quick)
