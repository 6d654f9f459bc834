"""δHBV 1.0 speed: `dgeo.Hbv` against MHPI's `hydrodl2.models.hbv.Hbv` on the same inputs.

671 basins x 730 days, nmul 16, gamma routing, float32, forward and forward+gradient:

- inputs: real Daymet forcing of the 26 CAMELS-US basins in ../shared/data (Hamon PET as
  dgeo computes it), tiled to the basins asked for: each basin is one of the 26 over a
  730-day window starting on a random day (fixed seed); the target is that window's
  observed streamflow (missing days: its mean);
- parameters: a fraction of MHPI's bounds per basin and component (routing: per basin),
  drawn once in the parent and given to both sides as logits, the way δHBV's network hands
  them to hydrodl2 (`Hbv.forward(x, parameters)`, parameters = lower + (upper - lower)
  sigmoid(logit)); static parameters, and a case with BETA and BETAET dynamic (one value
  per day, as δHBV 1.1p learns them);
- forward: the simulation returning routed discharge (hydrodl2 under `torch.no_grad()`);
  forward+gradient: the mean squared error of routed discharge against the target and its
  gradient with respect to the logits (dgeo: `jax.jit(jax.value_and_grad(...))`; hydrodl2:
  `loss.backward()` to a logits tensor that requires grad, shaped as a network's output,
  (days, basins, parameters x nmul + 2)).

Each side runs in a worker process of its own (two thread pools in one process, XLA's and
torch's, slow each other down), reading its inputs from one .npz the parent writes; the
parent asks the two workers in turn, so that the machine's noise falls on both alike, and
reports medians. dgeo's compile time is its first call minus the median. Both workers also
return their loss and gradient once, which are compared (same numbers, float32 rounding).

`dgeo.HbvOde` under `dgeo.ImplicitEuler()` (one implicit-Euler step a day, each step
differentiated by the implicit function theorem) is timed on the same inputs, dgeo alone:
MHPI's `HbvAdj` cannot run (its import error is recorded in the results).

Writes benchmarks/results/hbv_speed.json and hbv_speed.md (`--quick`: hbv_speed_quick.*).

Usage: python benchmarks/bench_hbv.py [--quick] [--basins 671] [--days 730] [--repeats 5]
       python benchmarks/bench_hbv.py --render [--before EARLIER.json --change TEXT] [--note TEXT]
           [--control DGEO_S HYDRODL2_S | --control-run RUN.json]
           [--control-how TEXT]
           (rewrites hbv_speed.md from hbv_speed.json; --before attaches an earlier run's
           results, e.g. of the code before a change, as a before/after table; --control
           records a control run's static-case gradient times, which the 100x target must
           hold in as well as in the main run to count as met; --control-run takes every
           side of every case of a second run, e.g. one made with
           `--cases static --name hbv_speed_control`)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _runs import peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CAMELS = ROOT.parent / "shared" / "data" / "camels_us"
NMUL = 16
#: hydrodl2's order of the HBV parameters (its `parameter_bounds`), BETAET last when dynamic.
HBV = ("BETA", "FC", "K0", "K1", "K2", "LP", "PERC", "UZL", "TT", "CFMAX", "CFR", "CWH")
ROUTING = ("route_a", "route_b")
#: hydrodl2's initial storage in every state (mm).
START = 0.001


# --- inputs (parent) --------------------------------------------------------------------


def inputs(basins: int, days: int, dynamic: tuple[str, ...], seed: int = 0) -> dict:
    """Forcing (days, basins), target (days, basins) and parameter fractions: HBV ones
    (basins, nmul), dynamic ones (days, basins, nmul), routing ones (basins,). float32."""
    import jax.numpy as jnp

    from dgeo.data import load_camels_us
    from dgeo.physics import hamon_pet

    ds = load_camels_us(CAMELS, attributes=False)
    rng = np.random.default_rng(seed)
    which = rng.integers(0, ds.sizes["basin"], basins)
    start = rng.integers(0, ds.sizes["time"] - days, basins)
    window = start[None, :] + np.arange(days)[:, None]  # (days, basins)

    def tiled(name):
        return ds[name].values[which[None, :], window]  # (days, basins)

    pet = hamon_pet(jnp.asarray(tiled("tmean")), jnp.asarray(tiled("dayl") / 86400.0))
    qobs = tiled("qobs")
    with np.errstate(all="ignore"):  # a window with no observation at all gets 0
        target = np.nan_to_num(np.where(np.isnan(qobs), np.nanmean(qobs, axis=0), qobs))
    out = {"prcp": tiled("prcp"), "tmean": tiled("tmean"), "pet": np.asarray(pet)}
    out["target"] = target
    wave = 0.15 * np.sin(2 * np.pi * (start[None, :] + np.arange(days)[:, None]) / 365.25)
    for name in (*HBV, "BETAET"):
        fraction = rng.uniform(0.05, 0.95, (basins, NMUL))
        if name in dynamic:
            out[name] = np.clip(fraction[None] + wave[..., None], 0.01, 0.99)
        elif name != "BETAET":
            out[name] = fraction
    for name in ROUTING:
        out[name] = rng.uniform(0.05, 0.95, basins)
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


def logit(fraction):
    return np.log(fraction) - np.log1p(-fraction)


# --- workers ------------------------------------------------------------------------------


def dgeo_side(
    data: dict,
    dynamic: tuple[str, ...],
    ode: bool,
    split: bool = False,
    in_loop: bool = True,
    physics: type | None = None,
):
    """(run, check) for `dgeo.Hbv` (with `ode`, `dgeo.HbvOde` under implicit Euler): run("forward")
    or run("gradient") times one jitted call; check() gives the last gradient call's loss and
    gradient (name -> array). `split`: the basins split over every device JAX has (the
    worker made them with `dgeo.cpu_devices`). The inputs are then placed on the devices
    once, before any timing, as a training loop holds its data (otherwise every call would
    first move the (days, basins, nmul) dynamic parameters from one device to both): the
    basins are padded to a multiple of the devices with copies of the last one, given weight
    0 in the loss, so loss and gradient are those of the real basins. Dynamic parameters are
    mapped to their bounds day by day inside the loop (`integrate`'s `transform`), or with
    `in_loop=False` all at once before it, as a (days, basins, nmul) array. `physics`: another
    model class in `dgeo.Hbv`'s place (hbv_derivative.py: JAX's derivative of its update)."""
    import jax
    import jax.numpy as jnp
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    import dgeo
    from dgeo.train import data_mesh

    mesh = data_mesh()

    def basins_axis(tree, axis):  # each leaf's basin axis split over the devices
        if not split:
            return tree
        spec = NamedSharding(mesh, P(*([None] * axis), "data"))
        return jax.tree_util.tree_map(lambda x: jax.lax.with_sharding_constraint(x, spec), tree)

    model = (physics or (dgeo.HbvOde if ode else dgeo.Hbv))(nmul=NMUL, dynamic=dynamic)
    solver = dgeo.ImplicitEuler() if ode else dgeo.Discrete()
    bounds = {p.name: (p.lower, p.upper) for p in model.parameters}
    basins = data["target"].shape[1]
    width = basins + (-basins % mesh.devices.size if split else 0)

    def placed(x, axis):  # padded to `width` basins; with `split`, on the devices
        x = np.asarray(x)
        if x.shape[axis] < width:
            extra = np.repeat(np.take(x, [-1], axis=axis), width - basins, axis=axis)
            x = np.concatenate([x, extra], axis=axis)
        if not split:
            return jnp.asarray(x)
        return jax.device_put(x, NamedSharding(mesh, P(*([None] * axis), "data")))

    forcing = {k: placed(data[k], 1) for k in ("prcp", "tmean", "pet")}
    target = placed(data["target"], 1)
    weight = placed((np.arange(width)[None, :] < basins).astype(np.float32), 1)
    start = {s: placed(np.full((basins, NMUL), START, np.float32), 0) for s in model.states}
    leaves = {
        k: placed(logit(data[k]), 1 if k in dynamic else 0) for k in (*HBV, *ROUTING, *dynamic)
    }

    def mapped(logits):  # lower + (upper - lower) sigmoid(logit), name by name
        return {
            name: jnp.float32(lower) + jnp.float32(upper - lower) * jax.nn.sigmoid(logits[name])
            for name, (lower, upper) in bounds.items()
            if name in logits
        }

    transform = mapped if dynamic and in_loop else None

    def parameters(logits):
        logits = {k: basins_axis(v, 1 if k in dynamic else 0) for k, v in logits.items()}
        later = dynamic if transform else ()
        params = mapped({k: v for k, v in logits.items() if k not in later})
        params |= {k: logits[k] for k in later}  # mapped inside the loop, day by day
        if "BETAET" not in params:  # hydrodl2 uses BETAET only when it is dynamic
            params["BETAET"] = jnp.ones((width, NMUL), jnp.float32)
        return params

    def discharge(logits):
        trajectory = dgeo.integrate(
            model,
            basins_axis(forcing, 1),
            parameters(logits),
            solver=solver,
            initial_state=basins_axis(start, 0),
            save=("q",),
            transform=transform,
        )
        return trajectory.series["q"]

    def loss(logits):
        error = discharge(logits) - basins_axis(target, 1)
        return jnp.sum(basins_axis(weight, 1) * error**2) / (error.shape[0] * basins)

    forward, gradient = jax.jit(discharge), jax.jit(jax.value_and_grad(loss))

    last = {}

    def run(kind):
        if kind == "forward":
            jax.block_until_ready(forward(leaves))
        else:
            last["gradient"] = jax.block_until_ready(gradient(leaves))

    def check():
        """The loss and gradient of the last gradient call."""
        value, grads = last["gradient"]
        return float(value), {
            k: np.take(np.asarray(v), np.arange(basins), axis=1 if k in dynamic else 0)
            for k, v in grads.items()
        }

    return run, check


def hydrodl2_side(data: dict, dynamic: tuple[str, ...]):
    """(run, check) for hydrodl2's `Hbv`, given logits (days, basins, parameters x nmul + 2) in its
    layout, the network output its `forward` takes."""
    import torch
    from hydrodl2.models.hbv.hbv import Hbv

    config = {
        "warmup": 0,
        "dynamic_params": {"Hbv": [f"par{name}" for name in dynamic]},
        "nmul": NMUL,
        "routing": True,
    }
    model = Hbv(config, device=torch.device("cpu"))
    names = [key.removeprefix("par") for key in model.parameter_bounds]
    days, basins = data["target"].shape

    def per_day(name):
        values = data[name]
        return values if values.ndim == 3 else np.broadcast_to(values, (days, *values.shape))

    hbv = np.stack([per_day(name) for name in names], axis=2)  # (days, basins, param, nmul)
    routing = np.broadcast_to(np.stack([data[k] for k in ROUTING], -1), (days, basins, 2))
    fractions = np.concatenate([hbv.reshape(days, basins, -1), routing], axis=-1)
    logits = torch.tensor(logit(fractions), requires_grad=True)
    x = {"x_phy": torch.tensor(np.stack([data[k] for k in ("prcp", "tmean", "pet")], -1))}
    target = torch.tensor(data["target"])

    def loss():
        return ((model(x, logits)["streamflow"][..., 0] - target) ** 2).mean()

    last = {}

    def run(kind):
        if kind == "forward":
            with torch.no_grad():
                model(x, logits)
        else:
            logits.grad = None
            last["loss"] = loss()
            last["loss"].backward()

    def check():
        """The loss and gradient of the last gradient call, per parameter name."""
        value, grad = last["loss"], logits.grad.numpy()
        nhbv = len(names) * NMUL
        grads = {}
        for i, name in enumerate(names):
            g = grad[:, :, i * NMUL : (i + 1) * NMUL]
            grads[name] = g if name in dynamic else g.sum(0)  # static: used on the last day
        for i, name in enumerate(ROUTING):
            grads[name] = grad[:, :, nhbv + i].sum(0)
        return float(value.detach()), grads

    return run, check


def worker(side: str, path: str, dynamic: tuple[str, ...]) -> None:
    """One side in its own process: reads requests (forward, gradient, check PATH, quit) on
    stdin and answers each with one JSON line (seconds and the process's peak resident
    memory so far; for check, the loss of the last gradient call, whose gradient it writes
    to PATH)."""
    if side == "dgeo-1":
        import dgeo

        dgeo.xla_cpu_threads(1)
    elif side.startswith("dgeo-2dev"):
        import dgeo

        dgeo.cpu_devices(2)
    data = dict(np.load(path))
    if side == "hydrodl2":
        run, check = hydrodl2_side(data, dynamic)
    else:
        run, check = dgeo_side(
            data,
            dynamic,
            ode=side == "dgeo-ode",
            split=side.startswith("dgeo-2dev"),
            in_loop=not side.endswith("-mapped"),
        )
    print(json.dumps({"ready": True, "rss_peak_mb": peak_rss_mb()}), flush=True)
    for line in sys.stdin:
        kind = line.strip()
        if kind in ("forward", "gradient"):
            began = time.perf_counter()
            run(kind)
            seconds = time.perf_counter() - began
            print(json.dumps({"seconds": seconds, "rss_peak_mb": peak_rss_mb()}), flush=True)
        elif kind.startswith("check "):
            value, grads = check()
            np.savez(kind.removeprefix("check "), **grads)
            print(json.dumps({"loss": value}), flush=True)
        else:
            break


def machine() -> str:
    """Architecture, CPU model (Linux) and cores: speeds differ between models."""
    cpuinfo = Path("/proc/cpuinfo")
    names = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    model = next((n.split(":", 1)[1].strip() for n in names if n.startswith("model name")), "")
    return ", ".join(x for x in (platform.machine(), model, f"{os.cpu_count()} CPU cores") if x)


def versions(side: str) -> dict:
    """What a side runs on, asked in a process of its own (its thread pool's default size)."""
    code = {
        "dgeo": "import os, jax, dgeo; print(jax.__version__, dgeo.__version__, "
        "jax.devices()[0].platform, len(os.sched_getaffinity(0)))",
        "hydrodl2": "import torch, importlib.metadata as m; "
        "print(torch.__version__, m.version('hydrodl2'), torch.get_num_threads())",
    }[side]
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()


# --- parent -------------------------------------------------------------------------------


class Worker:
    def __init__(self, side: str, path: str, dynamic: tuple[str, ...]):
        command = [sys.executable, __file__, "worker", side, path, *dynamic]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ready(self) -> dict:
        """Waits for the first line (inputs loaded, the side built) and returns it."""
        answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError(f"worker died while starting (rc {self.process.wait()})")
        return json.loads(answer)

    def ask(self, request: str) -> dict:
        self.process.stdin.write(request + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError(f"worker died on {request!r} (rc {self.process.wait()})")
        return json.loads(answer)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def measure(sides, path, dynamic, repeats, scratch) -> dict:
    """Every side in its own worker; first calls, then `repeats` rounds in which each side
    runs the forward pass and then the gradient, the sides in turn (in a new order every
    round, a seeded shuffle, so that no side always follows the same one); medians."""
    workers = {side: Worker(side, path, dynamic) for side in sides}
    ready, peak = {}, {}  # each process's peak resident memory, MiB: when built, and so far

    def timed(side, kind):
        answer = workers[side].ask(kind)
        peak[side] = answer["rss_peak_mb"]
        return answer["seconds"]

    try:
        for side, w in workers.items():
            ready[side] = peak[side] = w.ready()["rss_peak_mb"]
        first = {(s, k): timed(s, k) for k in ("forward", "gradient") for s in workers}
        seconds = {key: [] for key in first}
        shuffle = np.random.default_rng(0)
        for _ in range(repeats):
            order = list(shuffle.permutation(list(workers)))
            for kind in ("forward", "gradient"):
                for side in order:
                    seconds[side, kind].append(timed(side, kind))
        checks = {}
        for side, w in workers.items():
            out = str(Path(scratch) / f"{side}-{'-'.join(dynamic) or 'static'}.npz")
            checks[side] = (w.ask(f"check {out}")["loss"], dict(np.load(out)))
    finally:
        for w in workers.values():
            w.close()
    out = {}
    for side in sides:
        med = {k: float(np.median(seconds[side, k])) for k in ("forward", "gradient")}
        out[side] = {
            "forward_s": med["forward"],
            "gradient_s": med["gradient"],
            "forward_first_s": first[side, "forward"],
            "gradient_first_s": first[side, "gradient"],
            "forward_compile_s": first[side, "forward"] - med["forward"],
            "gradient_compile_s": first[side, "gradient"] - med["gradient"],
            "forward_all_s": seconds[side, "forward"],
            "gradient_all_s": seconds[side, "gradient"],
            "rss_ready_mb": ready[side],
            "rss_peak_mb": peak[side],
            "loss": checks[side][0],
        }
    if "dgeo-2dev-mapped" in checks:  # the same numbers, whichever way the mapping runs
        grads, mapped = checks["dgeo-2dev"][1], checks["dgeo-2dev-mapped"][1]
        out["mapped_agreement"] = max(
            float(np.abs(grads[k] - g).max() / np.abs(g).max()) for k, g in mapped.items()
        )
    if "hydrodl2" in checks:
        theirs, their_grads = checks["hydrodl2"]
        loss, grads = checks["dgeo"]
        out["agreement"] = {  # dgeo against hydrodl2
            "loss_relative": abs(loss - theirs) / abs(theirs),
            "gradient_relative": {  # largest difference per parameter / its largest |gradient|
                k: float(np.abs(grads[k] - g).max() / np.abs(g).max())
                for k, g in their_grads.items()
            },
        }
    return out


#: Runs hydrodl2's `HbvAdj` (30 days, 3 basins) with a stand-in for the module its wheel
#: lacks: `batchJacobian(y, x)`, dy/dx per batch row (written here, with torch.autograd).
#: Prints one line per attempt: as shipped, then with the attribute its forward reads but
#: never sets, then whether its NewtonSolve defines a backward. Never part of a timing.
HBV_ADJ_PROBE = """
import json, sys, types, torch
name = "hydrodl2.core.calc.batch_jacobian"
stub = types.ModuleType(name)
def batchJacobian(y, x, graphed=False):
    if isinstance(x, tuple):
        return tuple(batchJacobian(y, xi, graphed) for xi in x)
    rows = [torch.autograd.grad(y[:, i].sum(), x, retain_graph=True, create_graph=graphed)[0]
            for i in range(y.shape[1])]
    return torch.stack(rows, dim=1)
stub.batchJacobian = batchJacobian
sys.modules[name] = stub
from hydrodl2.models.hbv import hbv_adj
torch.manual_seed(0)
x = torch.rand(30, 3, 3) * torch.tensor([10.0, 5.0, 3.0])
out = {}
for key, patch in (("with_stand_in", False), ("with_stand_in_and_attribute", True)):
    model = hbv_adj.HbvAdj(device=torch.device("cpu"))
    if patch:
        model.rout_params_name = list(model.routing_param_names)
    params = torch.randn(30, 3, model.learnable_param_count, requires_grad=True)
    try:
        model({"x_phy": x}, params)["flow_sim"].sum().backward()
        out[key] = "runs"
    except Exception as e:
        out[key] = f"{type(e).__name__}: {e}"
out["newton_solve_backward"] = "backward" in vars(hbv_adj.NewtonSolve)
print(json.dumps(out))
"""


def hbv_adj_evidence() -> dict:
    """Why MHPI's `HbvAdj` cannot be timed: the error its import raises, what the installed
    wheel's `hydrodl2/core/calc/` holds instead, and what happens when the missing module is
    stood in for (`HBV_ADJ_PROBE`)."""
    code = (
        "import os, hydrodl2.core.calc as c; print(sorted(f for f in os.listdir("
        "os.path.dirname(c.__file__)) if f != '__pycache__'))\n"
        "try:\n    import hydrodl2.models.hbv.hbv_adj\n    print('imports')\n"
        "except Exception as e:\n    print(f'{type(e).__name__}: {e}')"
    )
    lines = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    ).stdout.splitlines()
    probe = subprocess.run([sys.executable, "-c", HBV_ADJ_PROBE], capture_output=True, text=True)
    try:
        outcome = json.loads(probe.stdout.splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        outcome = {"probe_failed": f"rc {probe.returncode}: {probe.stderr[-500:]}"}
    return {"hydrodl2_core_calc": lines[0], "import_error": lines[1], **outcome}


def main(basins: int, days: int, repeats: int, quick: bool, cases=None, name=None) -> dict:
    """Static case (dgeo, dgeo on one XLA thread, hydrodl2), then `HbvOde` (dgeo alone), then
    the dynamic case (`cases`: those named only); the results file (`name`, by default
    hbv_speed) is rewritten after each, so a cut run keeps its part."""
    name = name or ("hbv_speed_quick" if quick else "hbv_speed")
    dgeo_v, hydrodl2_v = versions("dgeo"), versions("hydrodl2")
    result = {
        "basins": basins,
        "days": days,
        "nmul": NMUL,
        "dtype": "float32",
        "repeats": repeats,
        "forcing": "CAMELS-US Daymet, 26 basins tiled (random basin and 730-day window, seed 0)",
        "machine": machine(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "load_average_before": os.getloadavg(),
        "versions": {
            "jax": dgeo_v[0],
            "dgeo": dgeo_v[1],
            "torch": hydrodl2_v[0],
            "hydrodl2": hydrodl2_v[1],
        },
        "threads": {
            "torch": int(hydrodl2_v[2]),
            "xla": f"default pool ({dgeo_v[3]} threads); 'dgeo-1' rows: dgeo.xla_cpu_threads(1)",
            "XLA_FLAGS": os.environ.get("XLA_FLAGS", ""),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", ""),
        },
        "hbv_adj": hbv_adj_evidence(),
        "rows": [],
    }
    plan = [
        ("static", (), ("dgeo", "dgeo-1", "dgeo-2dev", "hydrodl2")),
        ("HbvOde, implicit Euler", (), ("dgeo-ode",)),
        (
            "dynamic BETA, BETAET",
            ("BETA", "BETAET"),
            ("dgeo", "dgeo-2dev", "dgeo-2dev-mapped", "hydrodl2"),
        ),
    ]
    if cases:
        unknown = set(cases) - {label for label, _, _ in plan}
        if unknown:
            raise SystemExit(f"no case {sorted(unknown)}; cases: {[p[0] for p in plan]}")
        plan = [p for p in plan if p[0] in cases]
    with tempfile.TemporaryDirectory() as scratch:
        for label, dynamic, sides in plan:
            path = str(Path(scratch) / f"inputs-{'-'.join(dynamic) or 'static'}.npz")
            if not Path(path).exists():
                np.savez(path, **inputs(basins, days, dynamic))
            load = os.getloadavg()
            began = time.perf_counter()
            measured = measure(sides, path, dynamic, repeats, scratch)
            row = {"case": label, "dynamic": list(dynamic), "load_average_before": load}
            row |= measured | {"wall_s": time.perf_counter() - began}
            result["rows"].append(row)
            result["load_average_after"] = os.getloadavg()
            summary = {
                s: (round(row[s]["forward_s"], 3), round(row[s]["gradient_s"], 3)) for s in sides
            }
            print(label, summary, row.get("agreement", ""), flush=True)
            result["target"] = target(result["rows"], [])
            result["target_sides"] = list(DGEO_SIDES)
            effect = transform_effect(result["rows"])
            if effect:
                result["transform_effect"] = effect
            RESULTS.mkdir(parents=True, exist_ok=True)
            (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
            (RESULTS / f"{name}.md").write_text(report(result))
    print(report(result))
    return result


#: The gradient target: dgeo at least this many times faster than hydrodl2.
TARGET = 100

#: The dgeo sides timed against hydrodl2.
DGEO_SIDES = ("dgeo", "dgeo-1", "dgeo-2dev")

LABELS = {
    "dgeo": "dgeo.Hbv",
    "dgeo-1": "dgeo.Hbv, 1 XLA thread",
    "dgeo-2dev": "dgeo.Hbv, basins split over 2 CPU devices",
    "dgeo-2dev-mapped": "the same, dynamic parameters mapped before the loop (no `transform`)",
    "hydrodl2": "hydrodl2 Hbv",
    "dgeo-ode": "dgeo.HbvOde, implicit Euler",
}


def report(result: dict) -> str:
    n = result["basins"] * result["days"]
    v, t = result["versions"], result["threads"]
    before = result["load_average_before"]
    lines = [
        "# δHBV 1.0 speed: dgeo.Hbv against hydrodl2's Hbv",
        "",
        f"{result['basins']} basins x {result['days']} days, nmul {result['nmul']}, gamma "
        f"routing, {result['dtype']}; {result['forcing']}; parameters drawn per basin and "
        "component inside MHPI's bounds, the same logits on both sides. Forward: routed "
        "discharge; gradient: mean squared error against observed streamflow and its "
        "gradient with respect to the logits (forward + backward). Each side in its own worker "
        "process, the sides called in turn; "
        f"medians of {result['repeats']} runs after the first (range in brackets). "
        f"{result['machine']}; "
        f"jax {v['jax']} (XLA's default thread pool unless marked), torch {v['torch']} "
        f"({t['torch']} threads, its default), hydrodl2 {v['hydrodl2']}. Started "
        f"{result['started']}, load average {before[0]:.2f} (1 min), {before[1]:.2f} (5 min); "
        f"{result['load_average_after'][0]:.2f} at the end "
        "(`python benchmarks/bench_hbv.py`).",
        "",
        "| case | side | forward s | forward+gradient s | forward+gradient basin-days/s | "
        "hydrodl2/dgeo forward | hydrodl2/dgeo gradient | compile s (forward, gradient) | "
        "peak memory MiB (inputs loaded) | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        peer = row.get("hydrodl2")
        for side, label in LABELS.items():
            if side not in row:
                continue
            r = row[side]
            ratio_f = ratio_g = "-"
            if peer and side != "hydrodl2":
                ratio_f = f"{peer['forward_s'] / r['forward_s']:.0f}x"
                ratio_g = f"{peer['gradient_s'] / r['gradient_s']:.0f}x"
                if side in DGEO_SIDES:  # the target's sides; a control's ratio is not bold
                    ratio_g = f"**{ratio_g}**"
            compile_s = (
                "-"
                if side == "hydrodl2"
                else f"{r['forward_compile_s']:.1f}, {r['gradient_compile_s']:.1f}"
            )
            f, g = r["forward_all_s"], r["gradient_all_s"]
            memory = f"{r['rss_peak_mb']:,.0f}" if "rss_peak_mb" in r else "-"
            if "rss_ready_mb" in r:
                memory += f" ({r['rss_ready_mb']:,.0f})"
            lines.append(
                f"| {row['case']} | {label} | {r['forward_s']:.3f} [{min(f):.3f}-{max(f):.3f}] "
                f"| {r['gradient_s']:.3f} [{min(g):.3f}-{max(g):.3f}] | {n / r['gradient_s']:,.0f} "
                f"| {ratio_f} | {ratio_g} | {compile_s} | {memory} "
                f"| {row['load_average_before'][0]:.2f} |"
            )
    for line in target(result["rows"], result.get("controls", [])):
        lines += ["", line]
    effect = result.get("transform_effect")
    if effect:
        low, high = effect["round_ratios"]
        lines += [
            "",
            f"Mapping the dynamic parameters inside the loop ({effect['case']}, basins split "
            f"over 2 CPU devices): gradient {effect['in_loop_s']:.3f} s against "
            f"{effect['mapped_before_s']:.3f} s mapped before the loop, "
            f"{effect['percent']:+.0f} % (per round, in-loop / before: {low:.2f}-{high:.2f}); "
            + (
                "the gradients are identical."
                if effect["gradient_relative_difference"] == 0
                else "the gradients differ by at most "
                f"{effect['gradient_relative_difference']:.0e} of a parameter's largest."
            ),
        ]
    for key in ("note", "memory_note"):
        if result.get(key):
            lines += ["", result[key]]
    if "before" in result:
        lines += before_after(result)
    lines += [
        "",
        "dgeo against hydrodl2, the last gradient call of each (float32: rounding over 730 "
        "days, and a threshold crossed on one side only moves a few entries; in float64 the "
        "two agree to ~1e-13, tests/test_hbv.py):",
        "",
    ]
    for row in result["rows"]:
        if "agreement" in row:
            a = row["agreement"]
            worst = max(a["gradient_relative"], key=a["gradient_relative"].get)
            lines.append(
                f"- {row['case']}: loss relative difference {a['loss_relative']:.1e}; gradient, "
                f"largest difference per parameter / its largest |gradient|: worst "
                f"{a['gradient_relative'][worst]:.1e} ({worst}), median "
                f"{np.median(list(a['gradient_relative'].values())):.1e}."
            )
    adj = result["hbv_adj"]
    lines += [
        "",
        "The compile time is the first call minus the median. Peak memory: the largest "
        "resident memory of the side's worker process over its timed calls (Linux VmHWM), and "
        "in brackets once its inputs were loaded and the side built, before any call; the "
        "difference is what its calls added, dgeo's compilations included. Both sides' times "
        "include the "
        "parameter mapping lower + (upper - lower) sigmoid(logit); hydrodl2's applies it to "
        "the whole (days, basins, outputs) network output, as in δHBV training. dgeo maps "
        "the static parameters once and, in the dynamic case, BETA and BETAET day by day "
        "inside the loop (`integrate`'s `transform`), so the mapped (days, basins, nmul) "
        "arrays and their gradients are never formed; the row marked 'mapped before the "
        "loop' times the split side without it, in the same run. dgeo's target sides are "
        + ", ".join(f"'{LABELS[k]}'" for k in DGEO_SIDES)
        + ".",
        "",
        "Where hydrodl2's backward time goes (torch.profiler, 20 basins): its daily loop "
        "reads each parameter of day t as `full_param_dict[key][t, :, :]` from a (days, "
        "basins, nmul) tensor, and the backward of each such read (`SelectBackward0`) fills a "
        "zero tensor of the full (days, basins, nmul) size and adds it into the parameter's "
        "gradient: days x parameters full-size fills and adds, a cost quadratic in the days. "
        "`aten::fill_` and `aten::add_` took 92 % of its backward. They are memory-bound and "
        "each is an OpenMP region over torch's two threads, so hydrodl2's time swings with "
        "the other load on the machine (at 20 basins: 1 s on a quiet machine, up to 50 s "
        "with other jobs running).",
        "",
        "`dgeo.HbvOde` runs one implicit-Euler step a day (`dgeo.ImplicitEuler()`: Newton per "
        "basin and component, each step differentiated by the implicit function theorem, "
        "with `Backprop()` across days), the scheme of MHPI's δHBV.adj, on the same inputs "
        "(BETAET = 1). MHPI's `HbvAdj` cannot be timed: importing "
        f"`hydrodl2.models.hbv.hbv_adj` raises `{adj['import_error']}` (hydrodl2 "
        f"{v['hydrodl2']}; its `hydrodl2/core/calc/` holds {adj['hydrodl2_core_calc']}). "
        "The wheels of 1.3.3 and 1.3.5 lack the module too. MHPI's GitHub source "
        "(mhpi/hydrodl2 at 3654240) holds it only as `batch_jacobian.pye`, a file encrypted "
        "with SOURCEdefender (its pyproject lists `sourcedefender`); with torch imported first "
        "and sourcedefender 16.0.66 or 15.0.22 from PyPI, importing it fails: 'Failed to load "
        "encrypted file: ...batch_jacobian.pye. File may be corrupted or in an invalid format' "
        "(checked 2026-12-01). The wheels on PyPI: 1.3.4 lacks the module as well; 1.3.0, "
        "yanked for 'Includes insecure pye file', ships `batch_jacobian.pye`, which fails to "
        "load in the same way under sourcedefender 15.0.19, 15.0.22, 16.0.61, 16.0.63, 16.0.65 "
        "and 16.0.66 and under Python 3.10, 3.11, 3.12 and 3.13 (checked 2026-12-02).",
    ]
    lines[-1] += stand_in_report(adj)
    return "\n".join(lines) + "\n"


def stand_in_report(adj: dict) -> str:
    """What `HBV_ADJ_PROBE` found, in words; the known defects explained only where the
    probe saw them."""
    if "with_stand_in" not in adj:
        failed = adj.get("probe_failed", "not run")
        return f" The stand-in probe gave no result ({failed}). So `HbvAdj` cannot run here."
    first, second = adj["with_stand_in"], adj["with_stand_in_and_attribute"]
    text = (
        " With the missing module stood in for (`HBV_ADJ_PROBE`: a `batchJacobian` written "
        f"here from its call sites, torch.autograd row by row), its forward gives `{first}`"
    )
    if first.startswith("AttributeError") and "rout_params_name" in first:
        text += (
            " (it reads `self.rout_params_name`, which it never sets; it sets "
            "`routing_param_names`)"
        )
    text += f"; with that attribute supplied, `{second}`"
    if second.startswith("TypeError") and "auxG" in second:
        text += (
            " (`NewtonSolve.forward` calls `G(x, p, p2, t, auxG)`, five arguments, and "
            "`MOL.forward` takes six)"
        )
    if adj["newton_solve_backward"]:
        text += "; its `NewtonSolve` defines a backward"
    else:
        text += (
            "; and its `NewtonSolve` autograd function defines no backward (the `backward` "
            "method is indented inside `forward`, after its `return`), so no gradient could "
            "flow through it either"
        )
    text += (
        ". The same three defects are in the hbv_adj.py of the 1.3.0 and 1.3.4 wheels and of "
        "mhpi/hydrodl2 at 3654240 (checked 2026-12-02)."
    )
    if first == "runs" or second == "runs":
        return text
    return text + " So `HbvAdj` cannot run here, and the 20x target against it cannot be measured."


def transform_effect(rows: list[dict]) -> dict | None:
    """The split side's gradient with the dynamic parameters mapped inside the loop
    (`transform`) against mapped before it, in the same run: the change of the medians in
    percent, the range of the per-round ratios (both are called in every round), and the
    largest gradient difference between them (per parameter, over its largest |gradient|)."""
    row = next((r for r in rows if "dgeo-2dev-mapped" in r), None)
    if row is None:
        return None
    inside, before = row["dgeo-2dev"], row["dgeo-2dev-mapped"]
    rounds = [
        a / b for a, b in zip(inside["gradient_all_s"], before["gradient_all_s"], strict=True)
    ]
    return {
        "case": row["case"],
        "in_loop_s": inside["gradient_s"],
        "mapped_before_s": before["gradient_s"],
        "percent": 100.0 * (inside["gradient_s"] / before["gradient_s"] - 1.0),
        "round_ratios": [min(rounds), max(rounds)],
        "gradient_relative_difference": row.get("mapped_agreement"),
    }


def _ratios(gradient_s: dict) -> dict:
    """hydrodl2's gradient seconds over each dgeo side's, from side -> seconds."""
    theirs = gradient_s["hydrodl2"]
    return {k: theirs / v for k, v in gradient_s.items() if k in DGEO_SIDES}


def target(rows: list[dict], controls: list[dict]) -> list[str]:
    """The gradient target, one line per case timed against hydrodl2, judged on this run and
    on every recorded control run of the case (`--control`, `--control-run`): a run holds it
    when its fastest dgeo side is `TARGET` times faster than hydrodl2, and it is met only
    when every run holds it. Each side's ratio is listed, so a target met only by using
    both cores (the basins split over 2 CPU devices) reads as such."""
    lines = []
    for row in rows:
        if "hydrodl2" not in row:
            continue
        case = row["case"]
        seconds = {k: row[k]["gradient_s"] for k in row if k in LABELS}
        mine = _ratios(seconds)
        runs = [
            f"this run, {len(seconds)} sides called in turn: "
            + ", ".join(f"{v:.0f}x ({LABELS[k]})" for k, v in mine.items())
            + f"; hydrodl2 {seconds['hydrodl2']:.1f} s"
        ]
        best = [max(mine.values())]
        for c in controls:
            if c["case"] != case:
                continue
            theirs = _ratios(c["gradient_s"])
            best.append(max(theirs.values()))
            runs.append(
                f"control run, {c['how']}: "
                + ", ".join(f"{v:.0f}x ({LABELS[k]})" for k, v in theirs.items())
                + f"; hydrodl2 {c['gradient_s']['hydrodl2']:.1f} s"
            )
        held = sum(r >= TARGET for r in best)
        if held == len(best):
            verdict = "**met**"
        elif held:
            verdict = f"**not met**, held in {held} of {len(best)} runs"
        else:
            verdict = "**not met**"
        lines.append(
            f"Target, dgeo at least {TARGET}x faster than hydrodl2 for the gradient in every "
            f"recorded run, {case}: {verdict} ({'; '.join(runs)})."
        )
    return lines


def before_after(result: dict) -> list[str]:
    """dgeo's medians in an earlier run (`--before`: the code before a change) against
    this run's, with each run's hydrodl2/dgeo gradient ratio (hydrodl2 measured in each)."""
    before = result["before"]
    lines = [
        "",
        f"Before and after {before['change']} (the earlier run: started {before['started']}, "
        f"load average {before['load_average_before'][0]:.2f}; same inputs and script):",
        "",
        "| case | side | forward s before / after | forward+gradient s before / after | "
        "hydrodl2/dgeo gradient before / after |",
        "|---|---|---:|---:|---:|",
    ]
    earlier = {row["case"]: row for row in before["rows"]}
    for row in result["rows"]:
        old = earlier.get(row["case"])
        for side, label in LABELS.items():
            if side == "hydrodl2" or side not in row or not old or side not in old:
                continue
            a, b = old[side], row[side]
            ratio = "-"
            if "hydrodl2" in row and "hydrodl2" in old:
                ratio = (
                    f"{old['hydrodl2']['gradient_s'] / a['gradient_s']:.0f}x / "
                    f"{row['hydrodl2']['gradient_s'] / b['gradient_s']:.0f}x"
                )
            lines.append(
                f"| {row['case']} | {label} | {a['forward_s']:.3f} / {b['forward_s']:.3f} | "
                f"{a['gradient_s']:.3f} / {b['gradient_s']:.3f} | {ratio} |"
            )
    return lines


def render(
    before: str | None,
    change: str | None,
    note: str | None,
    control: tuple[float, float] | None = None,
    how: str | None = None,
    control_run: str | None = None,
) -> None:
    """Rewrite hbv_speed.md from hbv_speed.json, attaching an earlier run's results
    (`before`, a results file of this script) as the state before `change`, a `note`
    (what the numbers alone do not say: profiles, the load's cause), and a `control` run of
    the static case, (dgeo.Hbv, hydrodl2) gradient seconds run as `how` says, or a
    `control_run` (a results file of this script: every side of every case); the target
    must hold in each control too."""
    path = RESULTS / "hbv_speed.json"
    result = json.loads(path.read_text())
    if note:
        result["note"] = note
    if control:
        dgeo_s, hydrodl2_s = control
        entry = {
            "case": "static",
            "how": how or "dgeo.Hbv and hydrodl2 only",
            "gradient_s": {"dgeo": dgeo_s, "hydrodl2": hydrodl2_s},
        }
        kept = [c for c in result.get("controls", []) if c != entry]
        result["controls"] = [*kept, entry]
    if control_run:
        run = json.loads(Path(control_run).read_text())
        how = how or f"a second run ({Path(control_run).name})"
        entries = [
            {
                "case": row["case"],
                "how": how,
                "started": run["started"],
                "load_average_before": row["load_average_before"],
                "gradient_s": {k: v["gradient_s"] for k, v in row.items() if k in LABELS},
                "gradient_all_s": {k: v["gradient_all_s"] for k, v in row.items() if k in LABELS},
            }
            for row in run["rows"]
            if "hydrodl2" in row
        ]
        for key in ("basins", "days", "nmul", "dtype"):
            if run[key] != result[key]:
                raise SystemExit(f"{control_run}: {key} {run[key]} differs from this run's")
        kept = [c for c in result.get("controls", []) if c.get("started") != run["started"]]
        result["controls"] = kept + entries
    if before:
        earlier = json.loads(Path(before).read_text())
        keep = ("started", "load_average_before", "rows")
        result["before"] = {"change": change, **{k: earlier[k] for k in keep}}
        for row in result["before"]["rows"]:  # the medians and their runs are enough
            for side in list(row):
                if isinstance(row[side], dict) and "forward_s" in row[side]:
                    row[side] = {k: v for k, v in row[side].items() if k != "loss"}
    result["target"] = target(result["rows"], result.get("controls", []))
    result["target_sides"] = list(DGEO_SIDES)
    path.write_text(json.dumps(result, indent=1) + "\n")
    (RESULTS / "hbv_speed.md").write_text(report(result))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2], sys.argv[3], tuple(sys.argv[4:]))
        sys.exit()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 basins, 2 repeats: that it runs")
    parser.add_argument("--basins", type=int, default=671)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--cases", nargs="+", help="run these cases only (e.g. static), for a control run"
    )
    parser.add_argument("--name", help="results file name (default hbv_speed)")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite hbv_speed.md from hbv_speed.json"
    )
    parser.add_argument("--before", help="with --render: an earlier run's hbv_speed.json")
    parser.add_argument("--change", help="with --before: what changed since that run")
    parser.add_argument("--note", help="with --render: a paragraph for the report")
    controls = parser.add_mutually_exclusive_group()
    controls.add_argument(
        "--control",
        nargs=2,
        type=float,
        metavar=("DGEO_S", "HYDRODL2_S"),
        help="with --render: record a control run of the static case (dgeo.Hbv's and "
        "hydrodl2's gradient seconds); the target is met only if it holds there too",
    )
    controls.add_argument(
        "--control-run",
        help="with --render: a control run's results file (--cases ... --name ...); the "
        "target must hold in each of its cases too",
    )
    parser.add_argument(
        "--control-how", help="with --control or --control-run: how the control was run"
    )
    args = parser.parse_args()
    if args.render:
        control = tuple(args.control) if args.control else None
        render(
            args.before,
            args.change,
            args.note,
            control,
            args.control_how,
            args.control_run,
        )
        sys.exit()
    if args.cases and not args.name:
        parser.error("--cases needs --name, so that hbv_speed.json is not overwritten")
    if args.quick:
        args.basins, args.repeats = min(args.basins, 20), min(args.repeats, 2)
    main(args.basins, args.days, args.repeats, args.quick, args.cases, args.name)
