"""Fill the results pages from the files in benchmarks/results/.

A page under docs/results/ keeps its narrative in markdown and marks every number that comes
from a benchmark with a placeholder, filled in when the site is built (docs/_gen/hooks.py), so
the site always shows the numbers in the files:

- `{{ table:NAME }}`: a markdown table built by the function `NAME` below from the JSON files;
- `{{ value:FILE:KEY/PATH:FORMAT }}`: one number of a JSON file (`FORMAT` a Python format spec
  such as `.3f`, `d` or `.0%`; keys separated by `/`, list positions as integers);
- `{{ include:FILE.md }}`: a markdown report a benchmark script wrote, its title dropped and
  its headings moved two levels down.

`python docs/_gen/results.py [PAGE.md ...]` prints the filled pages. A placeholder that names a
missing file, key or table raises `ResultsError`, which fails `mkdocs build`.
"""

from __future__ import annotations

import csv
import json
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
RESULTS = REPOSITORY / "benchmarks" / "results"
#: A placeholder; one written in backticks (`{{ ... }}`) is shown, not filled.
PLACEHOLDER = re.compile(r"(?<!`)\{\{\s*(table|value|include):([^}]*?)\s*\}\}")


class ResultsError(ValueError):
    """A placeholder that the files in benchmarks/results/ cannot fill."""


def load(name: str, results: Path = RESULTS):
    """A JSON file of `results` (JSON lines as a list)."""
    path = results / name
    if not path.exists():
        raise ResultsError(f"{path} does not exist")
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return json.loads(path.read_text())


def lookup(data, keys: str, name: str = "?"):
    """`data[k1][k2]...` for `keys` = "k1/k2/..."."""
    for key in keys.split("/"):
        try:
            data = data[int(key)] if isinstance(data, list) else data[key]
        except (KeyError, IndexError, ValueError, TypeError):
            raise ResultsError(f"{name} has no {keys!r} (failed at {key!r})") from None
    return data


def table(header: list[str], rows: list[list], align: str | None = None) -> str:
    """A markdown table; `align` is one of "l" or "r" per column (left by default)."""
    marks = ["---:" if a == "r" else "---" for a in (align or "l" * len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def f3(x) -> str:
    return f"{x:.3f}"


def minutes(seconds) -> str:
    return f"{seconds / 60:.0f} min"


# -- per-basin experiment ----------------------------------------------------------------------

JIANG_MODELS = {
    "physical": "physical (P-RNN)",
    "common": "common (Conv1D)",
    "hybrid": "hybrid",
    "lstm": "lstm (hidden 32)",
}


def _below_zero(results: Path) -> dict[str, int]:
    with open(results / "jiang_local_metrics.csv") as file:
        rows = list(csv.DictReader(file))
    return {m: sum(float(r["nse"]) < 0 for r in rows if r["model"] == m) for m in JIANG_MODELS}


def jiang_local(results: Path) -> str:
    """The four per-basin models of Jiang et al. (2020), test water years 2001-2010."""
    d = load("jiang_local.json", results)
    rows = []
    for key, label in JIANG_MODELS.items():
        nse, mnse, pfab = d[key]["nse"], d[key]["mnse"], d[key]["pfab"]
        rows.append(
            [
                label,
                f3(nse["median"]),
                f3(nse["mean"]),
                f"{nse['p25']:.3f} to {nse['p75']:.3f}",
                f3(mnse["median"]),
                f"{pfab['median']:.1f}",
            ]
        )
    header = ["model", "NSE median", "NSE mean", "NSE p25 to p75", "mNSE median", "PFAB median (%)"]
    return table(header, rows, "lrrrrr")


def per_basin_all(results: Path) -> str:
    """The four models and δHBV per basin on the same 26 basins and split."""
    d, below = load("jiang_local.json", results), _below_zero(results)
    rows = [
        [label, f3(d[k]["nse"]["median"]), f3(d[k]["nse"]["mean"]), below[k]]
        for k, label in JIANG_MODELS.items()
    ]
    dpl = load("dhbv_local.json", results)
    nmul = dpl["physics"]["nmul"]
    rows.append(
        [
            f"δHBV (`dpl`, nmul {nmul})",
            f3(dpl["dpl"]["nse"]["median"]),
            f3(dpl["dpl"]["nse"]["mean"]),
            dpl["nse_below_zero"],
        ]
    )
    return table(["model", "NSE median", "NSE mean", "basins with NSE < 0"], rows, "lrrr")


def headline_per_basin(results: Path) -> str:
    """The README's table: median test NSE of every per-basin model."""
    d = load("jiang_local.json", results)
    rows = [[label, f3(d[k]["nse"]["median"])] for k, label in JIANG_MODELS.items()]
    dpl = load("dhbv_local.json", results)
    rows.append(["δHBV per basin (`dpl`)", f3(dpl["dpl"]["nse"]["median"])])
    return table(["model", "test NSE median"], rows, "lr")


def discharge_floor_before_after(results: Path) -> str:
    """Median test NSE and mNSE before and after discharge was floored at zero."""
    before, after = (
        load("jiang_local_before_nonnegative.json", results),
        load("jiang_local.json", results),
    )
    rows = [
        [
            label,
            f3(before[k]["nse"]["median"]),
            f3(after[k]["nse"]["median"]),
            f3(before[k]["mnse"]["median"]),
            f3(after[k]["mnse"]["median"]),
        ]
        for k, label in JIANG_MODELS.items()
    ]
    header = ["model", "NSE median before", "after", "mNSE median before", "after"]
    return table(header, rows, "lrrrr")


def discharge_floor(results: Path) -> str:
    """The common model's output transforms over three seeds."""
    d = load("discharge_floor.json", results)
    rows = []
    for transform, seeds in d.items():
        runs = list(seeds.values())
        rows.append(
            [
                f"`{transform}`",
                *(f"{r['nse_median']:.3f} / {r['nse_mean']:.3f}" for r in runs),
                f3(statistics.mean(r["nse_median"] for r in runs)),
                f3(statistics.mean(r["nse_mean"] for r in runs)),
                f"{100 * statistics.mean(r['days_below_zero'] for r in runs):.1f} %",
                f"{min(r['lowest_q'] for r in runs):.2f}",
            ]
        )
    seeds = [f"seed {s}" for s in next(iter(d.values()))]
    header = ["transform", *seeds, "mean of medians", "mean of means", "days q < 0", "lowest q"]
    return table(header, rows, "l" + "r" * (len(header) - 1))


# -- regional models ---------------------------------------------------------------------------

REGIONAL = ["regional_hybrid", "pseudo_regional_hybrid", "regional_lstm", "regional_physical"]


def _regional_rows(
    runs: dict, seconds: dict, lstm_35: dict, time: Callable[[float], str], quartiles: bool
) -> list[list]:
    """One row per model of `REGIONAL`: its NSE median, mean, std (and with `quartiles`, p25
    to p75), basins below zero and training `time`; the regional LSTM's row (15 epochs) is
    followed by the row of `lstm_35`, the same LSTM trained longer."""

    def row(label: str, nse: dict, training_seconds: float) -> list:
        cells = [label, f3(nse["median"]), f3(nse["mean"]), f3(nse["std"])]
        cells += [f"{nse['p25']:.3f} to {nse['p75']:.3f}"] if quartiles else []
        return [*cells, nse["n_negative"], time(training_seconds)]

    rows = []
    for m in REGIONAL:
        label = "regional_lstm (15 epochs)" if m == "regional_lstm" else m
        rows.append(row(label, runs[m]["nse"], seconds[m]))
        if m == "regional_lstm":
            label = f"regional_lstm, {lstm_35['epochs']} epochs"
            rows.append(row(label, lstm_35["nse"], lstm_35["training_seconds"]))
    return rows


def regional_pub(results: Path) -> str:
    """Ungauged basins: the 5-fold basin cross-validation."""
    d, scale = load("regional_pub.json", results), load("regional_scale.json", results)
    l35 = load("regional_pub_lstm_64h_35ep.json", results)
    rows = _regional_rows(d, scale["pub_training_seconds"], l35, minutes, quartiles=False)
    header = ["model", "NSE median", "mean", "std", "NSE < 0", "training (5 folds)"]
    return table(header, rows, "lrrrrr")


def _aridity(data: dict, models: list[str]) -> list[list]:
    rows = []
    for band, by_model in data.items():
        n = next(iter(by_model.values()))["n"]
        cells = [f"{by_model[m]['median']:.3f} ({by_model[m]['n_negative']})" for m in models]
        rows.append([band, n, *cells])
    return rows


def regional_pub_by_aridity(results: Path) -> str:
    """Held-out median NSE per aridity class (basins below zero in brackets)."""
    models = ["regional_hybrid", "regional_lstm", "regional_physical"]
    rows = _aridity(load("regional_pub_by_aridity.json", results), models)
    header = ["aridity (PET/P)", "basins", "regional hybrid", "regional LSTM", "P-RNN alone"]
    return table(header, rows, "lrrrr")


def hybrid_vs_lstm35_by_aridity(results: Path) -> str:
    """The hybrid against the 35-epoch LSTM per aridity class."""
    models = ["regional_hybrid", "regional_lstm_64h_35ep"]
    rows = _aridity(load("regional_pub_hybrid_vs_lstm_64h_35ep_by_aridity.json", results), models)
    return table(["aridity (PET/P)", "basins", "hybrid", "LSTM, 35 epochs"], rows, "lrrr")


def regional_failures(results: Path) -> str:
    """Which term of 1 - NSE dominates in the basins with NSE < 0."""
    d = load("regional_pub_failures.json", results)
    l35 = load("regional_pub_lstm_64h_35ep_failures.json", results)["regional_lstm"]
    labels = {
        "regional_hybrid": "regional hybrid",
        "pseudo_regional_hybrid": "pseudo-regional hybrid",
        "regional_lstm": "regional LSTM (15 epochs)",
        "regional_physical": "P-RNN alone",
    }
    rows = []
    for key, label in [*labels.items(), ("l35", "regional LSTM (35 epochs)")]:
        f = l35 if key == "l35" else d[key]
        t = f["dominant_term"]
        rows.append(
            [
                label,
                f["n_negative"],
                t["amplitude"],
                t["timing"],
                t["volume"],
                f"{f['all_median']['r']:.2f}",
                f"{f['all_median']['alpha']:.2f}",
                f"{f['failed_median']['alpha']:.2f} at r = {f['failed_median']['r']:.2f}",
            ]
        )
    header = [
        "model",
        "NSE < 0",
        "amplitude",
        "timing",
        "volume",
        "median r",
        "median alpha",
        "failed: median alpha",
    ]
    return table(header, rows, "lrrrrrrl")


def regional_pub_validated(results: Path) -> str:
    """Ungauged basins, each fold's epoch chosen on validation years."""
    d = load("regional_pub_validated.json", results)
    rows = [
        [
            m,
            f3(d[m]["nse"]["median"]),
            f3(d[m]["nse"]["mean"]),
            d[m]["nse"]["n_negative"],
            minutes(d["training_seconds"][m]),
        ]
        for m in REGIONAL
    ]
    return table(["model", "NSE median", "mean", "NSE < 0", "training (5 folds)"], rows, "lrrrr")


def regional_temporal(results: Path) -> str:
    """The temporal test: every basin, tested on water years 2001-2010."""
    d, scale = load("regional_temporal.json", results), load("regional_scale.json", results)
    l35 = load("regional_lstm_64h_35ep.json", results)
    seconds = scale["temporal_training_seconds"]
    rows = _regional_rows(d, seconds, l35, lambda t: f"{t:.0f} s", quartiles=True)
    header = ["model", "NSE median", "mean", "std", "p25 to p75", "NSE < 0", "training"]
    return table(header, rows, "lrrrrrr")


DHBV_MODELS = {
    "dhbv_dynamic": "δHBV, dynamic BETA/BETAET",
    "dhbv_static": "δHBV, static parameters",
    "regional_hybrid": "regional hybrid",
    "regional_lstm": "regional LSTM (to a plateau)",
}


def regional_dhbv(results: Path) -> str:
    """Regional δHBV beside the hybrid and the LSTM, temporal test and 5-fold PUB."""
    d = load("regional_dhbv.json", results)
    rows = []
    for group, label in (("temporal", "temporal"), ("pub", "ungauged (PUB)")):
        for model, name in DHBV_MODELS.items():
            m = d[group][model]
            rows.append(
                [
                    label,
                    name,
                    f3(m["nse"]["median"]),
                    m["nse"]["n_negative"],
                    f3(m["kge"]["median"]),
                    f"{m['fhv']['median']:.0f}",
                    minutes(m["training_seconds"]),
                ]
            )
    header = ["test", "model", "NSE median", "NSE < 0", "KGE median", "FHV %", "training"]
    return table(header, rows, "llrrrrr")


def regional_dhbv_pub_by_aridity(results: Path) -> str:
    """Held-out median NSE of the δHBV comparison per aridity class."""
    rows = _aridity(load("regional_dhbv.json", results)["pub_by_aridity"], list(DHBV_MODELS))
    header = ["aridity (PET/P)", "basins", "δHBV dynamic", "δHBV static", "hybrid", "LSTM"]
    return table(header, rows, "lrrrrr")


def snow(results: Path) -> str:
    """The regional hybrid's snow storage S0 against UA SWE."""
    d = load("snow.json", results)
    temporal, pub = d, d["ungauged"]
    n = temporal["per_basin_correlation"]["n"]
    rows = [
        [
            "basin-mean daily correlation (paper: 0.99)",
            *(f"**{x['basin_mean_correlation']:.3f}**" for x in (temporal, pub)),
        ],
        [
            f"per-basin correlation, median over {n} snowy basins",
            *(f3(x["per_basin_correlation"]["median"]) for x in (temporal, pub)),
        ],
        [
            "spatial correlation of 10-year mean S0 and SWE (snowy basins)",
            *(f3(x["spatial_correlation"]) for x in (temporal, pub)),
        ],
        ["basins whose S0 never melts out", *(x["perennial_snow_basins"] for x in (temporal, pub))],
    ]
    return table(["", "temporal test", "ungauged (held-out folds)"], rows, "lrr")


def regional_scale(results: Path) -> str:
    """Seconds per epoch over every basin x 30 years."""
    d = load("regional_scale.json", results)
    rows = [[m, f"{v['epoch_seconds']:.1f} s", v["epochs_timed"]] for m, v in d["models"].items()]
    return table(["model", "epoch", "epochs timed"], rows, "lrr")


def headline_regional(results: Path) -> str:
    """The README's regional numbers."""
    pub, tmp = load("regional_pub.json", results), load("regional_temporal.json", results)
    l35, snowd = load("regional_pub_lstm_64h_35ep.json", results), load("snow.json", results)
    rows = [
        ["ungauged basins (5-fold), regional hybrid", f3(pub["regional_hybrid"]["nse"]["median"])],
        [
            "ungauged basins, regional LSTM 15 / 35 epochs",
            f"{pub['regional_lstm']['nse']['median']:.3f} / {l35['nse']['median']:.3f}",
        ],
        ["temporal test, regional hybrid", f3(tmp["regional_hybrid"]["nse"]["median"])],
        [
            "snow storage S0 against SWE, basin-mean correlation",
            f3(snowd["basin_mean_correlation"]),
        ],
    ]
    return table(["473 basins, Caravan ERA5-Land", "value"], rows, "lr")


# -- speed and memory --------------------------------------------------------------------------


def physics_throughput(results: Path) -> str:
    """EXP-HYDRO forward and gradient throughput per solver and sensitivity method."""
    d = load("physics.json", results)
    rows = [
        [
            r["case"],
            f"{r['basins']} x {r['days']}",
            f"{r['forward_basin_days_per_s'] / 1e6:.2f} M",
            f"{r['gradient_basin_days_per_s'] / 1e6:.2f} M",
            f"{r['gradient_over_forward']:.2f}",
            f"{r['gradient_compile_s']:.1f}",
        ]
        for r in d["throughput"]
    ]
    header = [
        "case",
        "basins x days",
        "forward basin-days/s",
        "gradient basin-days/s",
        "gradient / forward",
        "gradient compile s",
    ]
    return table(header, rows, "llrrrr")


def physics_memory(results: Path) -> str:
    """Gradient working memory at 10, 20 and 30 years."""
    d = load("physics.json", results)["gradient_working_memory"]
    rows = [
        [c, v["10y_MiB"], v["20y_MiB"], v["30y_MiB"], f"{v['ratio_30y_10y']:.2f}"]
        for c, v in d.items()
    ]
    return table(["case", "10 y MiB", "20 y MiB", "30 y MiB", "30 y / 10 y"], rows, "lrrrr")


def implicit_scaling(results: Path) -> str:
    """Continuous solvers, one joint solve against basin by basin (one year)."""
    d = load("implicit.json", results)
    rows = [
        [
            r["solver"],
            r["basins"],
            f"{r['joint_s']:.3f}",
            f"{r['per_basin_s']:.3f}",
            f"{r['joint_over_per_basin']:.1f}",
        ]
        for r in d["scaling"]
    ]
    return table(["solver", "basins", "joint s", "per basin s", "joint / per basin"], rows, "lrrrr")


def hbv_speed(results: Path) -> str:
    """δHBV 1.0: dgeo.Hbv against hydrodl2's Hbv, forward and forward + gradient."""
    d = load("hbv_speed.json", results)
    sides = {
        "dgeo": "dgeo.Hbv",
        "dgeo-1": "dgeo.Hbv, 1 XLA thread",
        "dgeo-2dev": "dgeo.Hbv, basins split over 2 CPU devices",
        "dgeo-2dev-mapped": "the same, dynamic parameters mapped before the loop",
        "dgeo-ode": "dgeo.HbvOde, implicit Euler",
        "hydrodl2": "hydrodl2 Hbv",
    }
    target_sides = d["target_sides"]  # the others (controls) are not in bold
    rows = []
    for r in d["rows"]:
        peer = r.get("hydrodl2")
        for key, label in sides.items():
            if key not in r:
                continue
            s = r[key]
            speedup = (
                ""
                if peer is None or key == "hydrodl2"
                else f"**{peer['gradient_s'] / s['gradient_s']:.0f}x**"
                if key in target_sides
                else f"{peer['gradient_s'] / s['gradient_s']:.0f}x"
            )
            memory = f"{s['rss_peak_mb']:,.0f}" if "rss_peak_mb" in s else "-"
            rows.append(
                [
                    r["case"],
                    label,
                    f"{s['forward_s']:.3f}",
                    f"{s['gradient_s']:.3f}",
                    speedup,
                    memory,
                ]
            )
    header = [
        "case",
        "side",
        "forward s",
        "forward + gradient s",
        "hydrodl2 / dgeo, gradient",
        "peak memory MiB",
    ]
    return table(header, rows, "llrrrr")


def hbv_implicit(results: Path) -> str:
    """HbvOde under implicit Euler: the per-step adjoint against the baselines."""
    d = load("hbv_implicit.json", results)
    rows = [
        [
            r["case"],
            r["nmul"],
            f"{r['forward_s']:.2f}",
            f"{r['gradient_s']:.2f}",
            f"{r['gradient_compile_s']:.0f}",
            f"{r['baseline_gradient_over_this']:.1f}x",
        ]
        for r in d["rows"]
    ]
    header = [
        "case",
        "nmul",
        "forward s",
        "forward + gradient s",
        "gradient compile s",
        "through-Newton / this",
    ]
    return table(header, rows, "lrrrrr")


def lstm_step(results: Path) -> str:
    """One Adam step of dgeo.nn.LSTM against torch.nn.LSTM."""
    d = load("lstm.json", results)
    rows = []
    for key, threads in (("step", "default"), ("step_1_threads", "1 each")):
        for c in d[key]["cases"]:
            rows.append(
                [
                    threads,
                    c["hidden"],
                    c["loss_on"],
                    f"{c['dgeo_step_s']:.3f}",
                    f"{c['torch_step_s']:.3f}",
                    f"{c['ratio_torch_over_dgeo']:.2f}",
                ]
            )
    header = ["threads", "hidden", "loss on days", "dgeo s", "torch s", "torch / dgeo"]
    return table(header, rows, "lrlrrr")


def lstm_windows(results: Path) -> str:
    """Validation NSE reached in 4 minutes by window length, stride and batch size."""
    d = load("lstm.json", results)["windows"]
    half = len(d) // 2
    rows = []
    for i, w in enumerate(d):
        draw = "first" if i < half else "second"
        rows.append(
            [
                draw,
                w["window_days"],
                w["stride_days"],
                w["batch_size"],
                f3(w["best_validation_nse"]),
            ]
        )
    return table(
        ["draw of basins", "window days", "stride days", "batch", "best validation NSE"],
        rows,
        "lrrrr",
    )


def scale(results: Path) -> str:
    """Regional epochs and peak memory by basins, data held in memory or streamed, and devices
    (rows in order, ratios computed by benchmarks/scale.py)."""

    def ratio(value):
        return "" if value is None else f"{value:.2f}"

    out = [
        [
            r["basins"],
            r["mode"],
            "1 (thread pool)" if r["devices"] == "default" else r["devices"],
            r["steps"],
            f"{r['prepare_seconds']:.0f}",
            f"{r['epoch_seconds']:.1f}",
            ratio(r["epoch_over_one_device"]),
            ratio(r["epoch_over_in_memory"]),
            f"{r['peak_rss_mb'] / 1024:.2f}",
        ]
        for r in load("scale.json", results)["rows"]
    ]
    header = [
        "basins",
        "data",
        "devices",
        "steps",
        "before training (s)",
        "epoch (s)",
        "/ 1 device",
        "/ in memory",
        "peak memory (GB)",
    ]
    return table(header, out, "rllrrrrrr")


def _case(rows: list[dict], case: str, name: str) -> dict:
    for row in rows:
        if row.get("case") == case:
            return row
    raise ResultsError(f"{name} has no case {case!r}")


def _ratios(cases: list[dict], loss_on: str) -> str:
    """The range of torch/dgeo step-speed ratios of the LSTM cases with the loss on `loss_on`."""
    r = [c["ratio_torch_over_dgeo"] for c in cases if c["loss_on"] == loss_on]
    return f"{min(r):.2f}-{max(r):.2f}x"


def headline_speed(results: Path) -> str:
    """The speed headlines, as a list."""
    physics = load("physics.json", results)["throughput"]
    pooled = _case(physics, "discrete/backprop/synthetic", "physics.json")
    single = _case(physics, "discrete-1thread/backprop/synthetic", "physics.json")
    hbv = _case(load("hbv_speed.json", results)["rows"], "static", "hbv_speed.json")
    lstm = load("lstm.json", results)["step"]["cases"]
    years = pooled["days"] / 365
    return "\n".join(
        [
            f"- EXP-HYDRO's gradient over {pooled['basins']} basins x {years:.0f} years in "
            f"{pooled['gradient_s']:.2f} s (`Backprop`, JAX's default thread pool) and "
            f"{single['gradient_s']:.2f} s on one XLA thread.",
            f"- δHBV's gradient (nmul 16) in {hbv['dgeo']['gradient_s']:.2f} s on one device and "
            f"{hbv['dgeo-2dev']['gradient_s']:.2f} s on both cores, against hydrodl2's "
            f"{hbv['hydrodl2']['gradient_s']:.1f} s on the same basins and days.",
            f"- `dgeo.nn.LSTM`'s training step {_ratios(lstm, 'all')} PyTorch's speed with the "
            f"loss on all days, {_ratios(lstm, 'last')} with the loss on the last day.",
        ]
    )


TABLES: dict[str, Callable[[Path], str]] = {
    f.__name__: f
    for f in (
        jiang_local,
        per_basin_all,
        headline_per_basin,
        discharge_floor_before_after,
        discharge_floor,
        regional_pub,
        regional_pub_by_aridity,
        hybrid_vs_lstm35_by_aridity,
        regional_failures,
        regional_pub_validated,
        regional_temporal,
        regional_dhbv,
        regional_dhbv_pub_by_aridity,
        snow,
        regional_scale,
        headline_regional,
        headline_speed,
        physics_throughput,
        physics_memory,
        implicit_scaling,
        hbv_speed,
        hbv_implicit,
        lstm_step,
        lstm_windows,
        scale,
    )
}


def include(name: str, results: Path) -> str:
    """A benchmark's markdown report without its title, headings two levels down."""
    path = results / name
    if not path.exists():
        raise ResultsError(f"{path} does not exist")
    lines = path.read_text().splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join("##" + line if line.startswith("#") else line for line in lines).strip()


def fill(text: str, results: Path = RESULTS) -> str:
    """`text` with every placeholder replaced from the files in `results`."""

    def one(match: re.Match) -> str:
        kind, spec = match.group(1), match.group(2).strip()
        if kind == "table":
            if spec not in TABLES:
                raise ResultsError(f"no table {spec!r}; known: {', '.join(TABLES)}")
            try:
                return TABLES[spec](results)
            except (KeyError, IndexError, TypeError) as error:
                raise ResultsError(f"table {spec!r}: the files lack {error!r}") from error
        if kind == "include":
            return include(spec, results)
        parts = spec.split(":")
        if len(parts) != 3:
            raise ResultsError(f"value placeholder {spec!r} is not FILE:KEY/PATH:FORMAT")
        name, keys, fmt = parts
        return format(lookup(load(name, results), keys, name), fmt)

    return PLACEHOLDER.sub(one, text)


def main(argv: list[str]) -> None:
    pages = [Path(p) for p in argv] or sorted((REPOSITORY / "docs" / "results").glob("*.md"))
    for page in pages:
        print(fill(page.read_text()))


if __name__ == "__main__":
    main(sys.argv[1:])
