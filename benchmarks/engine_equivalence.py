"""One small regional problem trained with whatever dgeo is importable: 16 Caravan basins,
the regional hybrid (3 epochs) and LSTM (2 epochs), temporal split; writes the per-epoch
history and the test NSE per basin as JSON (argument: the output file). Run it under the dgeo
before issue 19 (a worktree of 852b7ad on PYTHONPATH) and after, and compare:
benchmarks/results/engine_equivalence.md."""

import json
import sys

from dgeo.data import load_caravan
from dgeo.train import RegionalOptions, regional_results, train_regional

D = "/work/shared/data/"
ds = load_caravan(D + "caravan_camels_us.nc", D + "camels_us/camels_attributes_v2.0").isel(
    basin=slice(0, 16)
)
out = {}
for kind, o in [
    ("regional_hybrid", RegionalOptions(epochs=3, learning_rate=0.005, batch_size=32, search=32)),
    ("regional_lstm", RegionalOptions(epochs=2, learning_rate=0.002, hidden=16)),
]:
    fit = train_regional(
        ds,
        kind,
        ds["basin"].values,
        ("1981-01-01", "1996-09-30"),
        o,
        validation=("1996-10-01", "2000-09-30"),
        progress=False,
    )
    res = regional_results({kind: fit.model}, ds, ("2000-10-01", "2010-09-30"), o, keep=("q",))
    out[kind] = {
        "history": [{k: v for k, v in h.items() if k != "seconds"} for h in fit.history],
        "nse": [float(x) for x in res["metrics"].sel(metric="nse").values[0]],
    }
json.dump(out, open(sys.argv[1], "w"), indent=1)
