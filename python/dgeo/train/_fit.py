"""Train a stack of basin models at once: Adam, early stopping, reduce-on-plateau, checkpoints.

Members of the stack (one per basin, or per basin and random start) share nothing, so the
summed loss gives each member the gradient of its own NSE and Adam's element-wise update makes
the joint run equivalent to independent per-basin runs, at the cost of one.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from ..models import BasinModel
from ._windows import Series, nse_loss, nse_per_row


@dataclass(frozen=True)
class FitOptions:
    """How a stack of models is trained (Jiang et al. 2020 defaults where the paper gives them).

    - `epochs`: most passes over the training windows (one Adam step each).
    - `learning_rate`: Adam's initial step (paper: 0.01).
    - `patience`: stop when the mean validation NSE has not improved for this many epochs.
    - `plateau_patience`, `plateau_factor`, `min_learning_rate`: reduce-on-plateau schedule.
    - `spinup_days`: leading days of every window left out of the loss.
    - `seed`: seeds dropout (initialisation is seeded by the caller).
    """

    epochs: int = 200
    learning_rate: float = 0.01
    patience: int = 20
    plateau_patience: int = 10
    plateau_factor: float = 0.5
    min_learning_rate: float = 1e-4
    spinup_days: int = 365
    seed: int = 0

    def __post_init__(self):
        check_option(self, "epochs", self.epochs >= 1, "at least 1")
        check_option(self, "learning_rate", 0 < self.learning_rate < math.inf, "positive")
        check_option(self, "patience", self.patience >= 1, "at least 1")
        check_option(self, "plateau_patience", self.plateau_patience >= 1, "at least 1")
        check_option(self, "plateau_factor", 0 < self.plateau_factor < 1, "between 0 and 1")
        check_option(
            self,
            "min_learning_rate",
            0 < self.min_learning_rate <= self.learning_rate,
            f"positive and at most learning_rate ({self.learning_rate})",
        )
        check_option(self, "spinup_days", self.spinup_days >= 0, "0 or more")


def check_option(options, name: str, ok: bool, rule: str) -> None:
    """`ValueError` naming the option of `options` whose value breaks `rule` (written so that
    NaN breaks every rule)."""
    if not ok:
        raise ValueError(
            f"{type(options).__name__}.{name} must be {rule}, got {getattr(options, name)!r}"
        )


@dataclass
class FitResult:
    """The best model per member (by validation NSE), its validation NSE and the history."""

    model: BasinModel
    validation_nse: np.ndarray
    history: list[dict] = field(default_factory=list)


def predict(model: BasinModel, inputs: dict, *, key=None, full: bool = True) -> dict:
    """Run a stack of basin models on (member, window, time) inputs; outputs the same shape."""
    members, n_windows = next(iter(inputs.values())).shape[:2]
    if key is not None:
        key = jax.random.split(key, members * n_windows).reshape(members, n_windows)

    def member(m, x, k):  # k is None at inference: no dropout
        return jax.vmap(lambda xw, kw: m(xw, key=kw, full=full))(x, k)

    return eqx.filter_vmap(member)(model, inputs, key)


def _zero_nonfinite():
    """Zero NaN and inf gradient entries: one bad window must not poison Adam's state."""
    return optax.stateless(
        lambda g, _: jax.tree_util.tree_map(lambda x: jnp.where(jnp.isfinite(x), x, 0.0), g)
    )


def nonfinite(grads) -> jax.Array:
    """Number of NaN or inf gradient entries (they are zeroed before Adam, and reported)."""
    return sum(jnp.sum(~jnp.isfinite(g)) for g in jax.tree_util.tree_leaves(grads))


def warn_nonfinite(history: list[dict], label: str) -> None:
    """Warn if any epoch of `history` had gradient entries zeroed for being NaN or inf: the
    model then silently did not learn from those samples."""
    bad = [h for h in history if h.get("nonfinite_gradients", 0)]
    if bad:
        total = sum(h["nonfinite_gradients"] for h in bad)
        warnings.warn(
            f"{label}: {total} NaN/inf gradient entries were set to zero in {len(bad)} of "
            f"{len(history)} epochs (first in epoch {bad[0]['epoch']}); those updates were "
            "skipped. Check the inputs for NaN or inf; with Adjoint(), a backward solve that "
            "ran out of steps gives NaN: raise Adjoint(backward_steps=...).",
            RuntimeWarning,
            stacklevel=3,
        )


def _optimizer():
    """Adam's scaling; the learning rate is applied in the step, so the schedule can change it."""
    return optax.chain(_zero_nonfinite(), optax.scale_by_adam())


@eqx.filter_jit
def _train_step(params, static, opt_state, lr, inputs, qobs, key, spinup_days):
    def loss_fn(params):
        q = predict(eqx.combine(params, static), inputs, key=key, full=False)["q"]
        return nse_loss(q, qobs, spinup_days)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    return (*adam_update(_optimizer(), grads, opt_state, params, lr), loss, nonfinite(grads))


def adam_update(optimizer, grads, opt_state, params, lr):
    """One step of `optimizer` (which scales but does not apply the rate) at rate `lr`;
    (new params, new optimizer state). Each leaf keeps its dtype (a float64 learning rate must
    not promote float32 weights)."""
    updates, opt_state = optimizer.update(grads, opt_state, params)
    updates = jax.tree_util.tree_map(lambda u, p: (-lr * u).astype(p.dtype), updates, params)
    return eqx.apply_updates(params, updates), opt_state


@eqx.filter_jit
def validation_nse(model: BasinModel, inputs, qobs, spinup_days):
    """NSE per member over its validation windows after spin-up."""
    return nse_per_row(predict(model, inputs, full=False)["q"], qobs, spinup_days)


def _select(better, new, old):
    """Leaf-wise: member i from `new` where better[i], else from `old`."""

    def pick(a, b):
        mask = better.reshape(better.shape + (1,) * (a.ndim - 1))
        return jnp.where(mask, a, b)

    return jax.tree_util.tree_map(pick, new, old)


def fit(
    model: BasinModel,
    train: Series,
    validation: Series | None = None,
    options: FitOptions = FitOptions(),
    *,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    label: str = "train",
    callback: Callable[[dict], None] | None = None,
) -> FitResult:
    """Train a stack of basin models (leading member axis) on windowed series.

    **Arguments:**

    - `model`: stacked basin models, one member per row of `train`.
    - `train`: (member, window, time) inputs and observations.
    - `validation`: (member, window, time) series for early stopping and per-member selection
      of the best epoch; None trains for `options.epochs` and keeps the last model.
    - `checkpoint_dir`: if given, the state after every epoch is saved there, and with
      `resume=True` a saved state is picked up: the resumed run ends exactly where an
      uninterrupted one would.
    - `callback`: called with each epoch's history entry (e.g. to log or to interrupt).
    """
    o = options
    params, static = eqx.partition(model, eqx.is_inexact_array)
    opt_state = _optimizer().init(params)
    lr = o.learning_rate
    members = len(train.qobs)
    best_params = params
    best_val = np.full(members, -np.inf)
    state = {"epoch": 0, "best_mean": -np.inf, "since_best": 0, "since_plateau": 0, "lr": lr}
    history: list[dict] = []
    ckpt = None if checkpoint_dir is None else Path(checkpoint_dir)
    if ckpt is not None and resume and (ckpt / "state.json").exists():
        meta = json.loads((ckpt / "state.json").read_text())
        if meta["options"] != asdict(o):
            raise ValueError(
                f"cannot resume from {ckpt}: it was trained with options {meta['options']}, "
                f"not {asdict(o)}"
            )
        like = (params, opt_state, best_params, jnp.asarray(best_val))
        params, opt_state, best_params, best_val = eqx.tree_deserialise_leaves(
            ckpt / "state.eqx", like
        )
        best_val = np.asarray(best_val)
        state, history = meta["state"], meta["history"]

    inputs = jax.tree_util.tree_map(jnp.asarray, train.inputs)
    qobs = jnp.asarray(train.qobs)
    if validation is not None:
        v_inputs = jax.tree_util.tree_map(jnp.asarray, validation.inputs)
        v_qobs = jnp.asarray(validation.qobs)
    root = jax.random.key(o.seed)
    bar = tqdm(
        range(state["epoch"], o.epochs),
        desc=label,
        disable=not progress,
        initial=state["epoch"],
        total=o.epochs,
    )
    for epoch in bar:
        start = time.perf_counter()
        params, opt_state, loss, bad = _train_step(
            params,
            static,
            opt_state,
            jnp.asarray(state["lr"]),
            inputs,
            qobs,
            jax.random.fold_in(root, epoch),
            o.spinup_days,
        )
        entry = {"epoch": epoch + 1, "loss": float(loss), "learning_rate": state["lr"]}
        entry["nonfinite_gradients"] = int(bad)
        stop = False
        if validation is not None:
            nse = np.asarray(
                validation_nse(eqx.combine(params, static), v_inputs, v_qobs, o.spinup_days)
            )
            better = np.nan_to_num(nse, nan=-np.inf) > best_val
            best_params = _select(jnp.asarray(better), params, best_params)
            best_val = np.where(better, nse, best_val)
            mean = float(np.nanmean(nse))
            entry["validation_nse"] = mean
            if mean > state["best_mean"] + 1e-4:
                state.update(best_mean=mean, since_best=0, since_plateau=0)
            else:
                state["since_best"] += 1
                state["since_plateau"] += 1
            if state["since_plateau"] >= o.plateau_patience:
                state.update(lr=max(state["lr"] * o.plateau_factor, o.min_learning_rate))
                state["since_plateau"] = 0
            stop = state["since_best"] >= o.patience
        entry["seconds"] = time.perf_counter() - start
        history.append(entry)
        state["epoch"] = epoch + 1
        bar.set_postfix(
            {k: f"{v:.3g}" for k, v in entry.items() if k in ("loss", "validation_nse")}
            | {"lr": f"{state['lr']:.1e}"}
        )
        if ckpt is not None:
            ckpt.mkdir(parents=True, exist_ok=True)
            eqx.tree_serialise_leaves(
                ckpt / "state.eqx", (params, opt_state, best_params, jnp.asarray(best_val))
            )
            meta = {"options": asdict(o), "state": state, "history": history}
            (ckpt / "state.json").write_text(json.dumps(meta, indent=1))
        if callback is not None:
            callback(entry)
        if stop:
            break
    bar.close()
    warn_nonfinite(history, label)
    if validation is None:
        best_params, best_val = params, np.full(members, np.nan)
    return FitResult(eqx.combine(best_params, static), best_val, history)
