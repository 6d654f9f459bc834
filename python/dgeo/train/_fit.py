"""Train a stack of basin models at once: Adam, early stopping, reduce-on-plateau, checkpoints.

Members of the stack (one per basin, or per basin and random start) share nothing, so the
summed loss gives each member the gradient of its own NSE and Adam's element-wise update makes
the joint run equivalent to independent per-basin runs, at the cost of one.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from ..models import BasinModel
from ..solve._types import check_options_types
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
        check_options_types(
            self,
            ("epochs", "patience", "plateau_patience", "spinup_days", "seed"),
            ("learning_rate", "plateau_factor", "min_learning_rate"),
        )
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
    - `checkpoint_dir`: if given, the state after every epoch is saved there (whole or not at
      all, see `save_checkpoint`), and with `resume=True` a saved state is picked up: the
      resumed run ends exactly where an uninterrupted one would (a run that had stopped early
      stays stopped). A saved state from other `options` is a `CheckpointError`.
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
    if ckpt is not None and resume:
        like = (params, opt_state, best_params, jnp.asarray(best_val))
        saved = load_checkpoint(ckpt, like, asdict(o))
        if saved is not None:
            (params, opt_state, best_params, best_val), meta = saved
            best_val = np.asarray(best_val)
            state, history = meta["state"], meta["history"]

    inputs = jax.tree_util.tree_map(jnp.asarray, train.inputs)
    qobs = jnp.asarray(train.qobs)
    if validation is not None:
        v_inputs = jax.tree_util.tree_map(jnp.asarray, validation.inputs)
        v_qobs = jnp.asarray(validation.qobs)
    root = jax.random.key(o.seed)
    # A run that stopped early is finished: resuming it must not train on.
    last = state["epoch"] if state.get("stopped") else o.epochs
    bar = tqdm(
        range(state["epoch"], last),
        desc=label,
        disable=not progress,
        initial=state["epoch"],
        total=o.epochs,
    )
    try:
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
            state["stopped"] = stop
            bar.set_postfix(
                {k: f"{v:.3g}" for k, v in entry.items() if k in ("loss", "validation_nse")}
                | {"lr": f"{state['lr']:.1e}"}
            )
            if ckpt is not None:
                save_checkpoint(
                    ckpt,
                    (params, opt_state, best_params, jnp.asarray(best_val)),
                    {"options": asdict(o), "state": state, "history": history},
                )
            if callback is not None:
                callback(entry)
            if stop:
                break
    finally:
        bar.close()  # also when interrupted, so that what is printed next starts a new line
    warn_nonfinite(history, label)
    if validation is None:
        best_params, best_val = params, np.full(members, np.nan)
    return FitResult(eqx.combine(best_params, static), best_val, history)


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed from: other options, or unreadable; names it."""


_WEIGHTS, _META = "state.eqx", "state.json"


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) until the block is done, then raise `KeyboardInterrupt`: a
    checkpoint is written whole or not at all. Only the main thread can set signal handlers;
    elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
        if received:
            raise KeyboardInterrupt


def save_checkpoint(folder: Path, tree, meta: dict) -> None:
    """Save `tree` (equinox leaves) and `meta` (JSON) as `folder/state.eqx` and `state.json`.

    Both are written to `.tmp` files first and then renamed over the old ones (`os.replace`,
    atomic), so a crash or a full disk leaves the previous checkpoint whole; `state.json`
    carries the SHA-256 of `state.eqx` and is renamed last, so a checkpoint whose two files do
    not belong together is recognised (and completed from `state.json.tmp`, see
    `load_checkpoint`). Ctrl-C is held back until both are in place.
    """
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    eqx.tree_serialise_leaves(buffer, tree)
    weights = buffer.getvalue()
    text = json.dumps({**meta, "weights_sha256": hashlib.sha256(weights).hexdigest()}, indent=1)
    tmp_weights, tmp_meta = folder / f"{_WEIGHTS}.tmp", folder / f"{_META}.tmp"
    with _interrupts_deferred():
        try:
            tmp_weights.write_bytes(weights)
            tmp_meta.write_text(text)
        except BaseException:
            tmp_weights.unlink(missing_ok=True)
            tmp_meta.unlink(missing_ok=True)
            raise
        os.replace(tmp_weights, folder / _WEIGHTS)
        os.replace(tmp_meta, folder / _META)


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise CheckpointError(
            f"cannot resume from {path}: it is unreadable ({err}); delete {path.parent} to "
            "train that model afresh"
        ) from None
    if not isinstance(meta, dict) or not {"options", "state", "history"} <= set(meta):
        raise CheckpointError(f"cannot resume from {path}: not a dgeo checkpoint")
    return meta


def load_checkpoint(folder: Path, like, options: dict):
    """The (tree, meta) saved by `save_checkpoint` in `folder`, None if there is none.

    Raises `CheckpointError` if it was written with `options` other than these, or is
    unreadable. A checkpoint caught between its two renames (`state.eqx` new, `state.json`
    not yet) is completed from `state.json.tmp`.
    """
    meta_path, weights_path = folder / _META, folder / _WEIGHTS
    if not meta_path.exists():
        return None
    meta = _read_meta(meta_path)
    try:
        weights = weights_path.read_bytes()
    except OSError as err:
        raise CheckpointError(f"cannot resume from {folder}: {err}") from None
    digest = hashlib.sha256(weights).hexdigest()
    expected = meta.get("weights_sha256")  # absent in checkpoints of older dgeo versions
    if expected is not None and digest != expected:
        pending = folder / f"{_META}.tmp"
        try:
            newer = _read_meta(pending) if pending.exists() else {}
        except CheckpointError:  # cut short while being written: not the one to complete
            newer = {}
        if newer.get("weights_sha256") != digest:
            raise CheckpointError(
                f"cannot resume from {folder}: {_WEIGHTS} does not belong to {_META}; delete "
                "the folder to train that model afresh"
            )
        os.replace(pending, meta_path)  # finish the write that was cut short
        meta = newer
    if meta["options"] != options:
        changed = ", ".join(
            f"{k}: {meta['options'].get(k)!r} -> {options.get(k)!r}"
            for k in sorted(set(meta["options"]) | set(options))
            if meta["options"].get(k) != options.get(k)
        )
        raise CheckpointError(
            f"cannot resume from {folder}: it was trained with other options ({changed})"
        )
    try:
        tree = eqx.tree_deserialise_leaves(io.BytesIO(weights), like)
    except (ValueError, TypeError, EOFError, OSError) as err:
        raise CheckpointError(
            f"cannot resume from {folder}: {_WEIGHTS} does not fit the model ({err}); delete "
            "the folder to train that model afresh"
        ) from None
    return tree, meta
