"""The one training loop: a loss, batches of samples, an optax schedule, the best epoch kept.

Per-basin training (a stack of models, one per basin, every sample in every step) and regional
training (one network, shuffled mini-batches of windows) are two ways of batching this loop:

- one jitted step (`_step`) takes the loss as an argument: an `eqx.Module` called as
  `loss(model, batch, key) -> scalar`, so the compiled step is cached by the loss's settings;
- the learning rate follows a `Schedule`: `Plateau` (optax's `reduce_on_plateau`, driven by the
  validation score after every epoch) or `Cosine` (optax's cosine decay over the epochs);
- one early-stopping and best-epoch rule: after every epoch the model is scored on validation
  data; each member (basin) of a stack, or the whole model, keeps the epoch with its best score
  (NaN never counts as better), and training stops once the mean score has not improved by more
  than 1e-4 for `patience` epochs;
- one progress bar, and a checkpoint after every epoch (`dgeo.train._checkpoint`) from which
  `resume=True` continues: the resumed run ends exactly where an uninterrupted one ends.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from . import _feed, _mesh
from ._checkpoint import load_checkpoint, save_checkpoint

#: Smallest rise of the mean validation score that counts as an improvement (early stopping
#: and the plateau schedule alike).
MIN_IMPROVEMENT = 1e-4


class Schedule(eqx.Module):
    """How the learning rate moves: its state, the rate of an epoch, and an update from the
    epoch's validation score (higher is better)."""

    @abc.abstractmethod
    def init(self):
        """The schedule's starting state (a pytree of arrays; saved with checkpoints)."""

    @abc.abstractmethod
    def rate(self, state, epoch: int) -> float:
        """The learning rate of (0-based) `epoch`."""

    def update(self, state, score: float):
        """The state after an epoch whose mean validation score was `score`."""
        return state


class Plateau(Schedule):
    """`learning_rate` times `factor` whenever the validation score has not improved (by more
    than `MIN_IMPROVEMENT`) for `patience` epochs, never below `min_learning_rate`:
    `optax.contrib.reduce_on_plateau` fed with minus the score."""

    learning_rate: float
    patience: int
    factor: float
    min_learning_rate: float

    def _transform(self):
        return optax.contrib.reduce_on_plateau(
            factor=self.factor,
            patience=self.patience,
            rtol=0.0,
            atol=MIN_IMPROVEMENT,
            min_scale=self.min_learning_rate / self.learning_rate,
        )

    def init(self):
        return self._transform().init(jnp.zeros((), jnp.float32))

    def rate(self, state, epoch):
        return self.learning_rate * float(state.scale)

    def update(self, state, score):
        return _plateau_update(self, state, jnp.asarray(score, jnp.float32))


@eqx.filter_jit
def _plateau_update(schedule: Plateau, state, score):
    """One plateau update, compiled once per schedule: run eagerly, `lax.cond` would trace
    both branches again every epoch (about 0.15 s an epoch on 2 cores)."""
    _, state = schedule._transform().update(jnp.zeros(()), state, value=-score)
    return state


class Cosine(Schedule):
    """`learning_rate` decayed along half a cosine to `min_learning_rate` over `epochs`
    (`optax.cosine_decay_schedule`)."""

    learning_rate: float
    min_learning_rate: float
    epochs: int

    def init(self):
        return ()

    def rate(self, state, epoch):
        schedule = optax.cosine_decay_schedule(
            self.learning_rate, self.epochs, alpha=self.min_learning_rate / self.learning_rate
        )
        return float(schedule(epoch))


def _zero_nonfinite():
    """Zero NaN and inf gradient entries: one bad window must not poison Adam's state."""
    return optax.stateless(
        lambda g, _: jax.tree_util.tree_map(lambda x: jnp.where(jnp.isfinite(x), x, 0.0), g)
    )


def optimizer(clip_norm: float | None = None):
    """Adam's scaling after zeroing non-finite gradient entries and, with `clip_norm`, clipping
    the global gradient norm; the learning rate is applied in the step, so the schedule can
    change it between epochs without a new optimizer state."""
    clip = () if clip_norm is None else (optax.clip_by_global_norm(clip_norm),)
    return optax.chain(_zero_nonfinite(), *clip, optax.scale_by_adam())


def nonfinite(grads) -> jax.Array:
    """Number of NaN or inf gradient entries (they are zeroed before Adam, and reported)."""
    return sum(jnp.sum(~jnp.isfinite(g)) for g in jax.tree_util.tree_leaves(grads))


def adam_update(optimizer, grads, opt_state, params, lr):
    """One step of `optimizer` (which scales but does not apply the rate) at rate `lr`;
    (new params, new optimizer state). Each leaf keeps its dtype (a float64 learning rate must
    not promote float32 weights)."""
    updates, opt_state = optimizer.update(grads, opt_state, params)
    updates = jax.tree_util.tree_map(lambda u, p: (-lr * u).astype(p.dtype), updates, params)
    return eqx.apply_updates(params, updates), opt_state


def _take(data, index):
    """The samples `index` of every leaf of `data`."""
    return jax.tree_util.tree_map(lambda a: a[index], data)


_take_jit = jax.jit(_take)


def _batches(data, order, mesh):
    """(samples, index) of each step's batch: a `Samples` batch read on the host and put on
    the devices one step ahead; device-held `data` with the step's indices (gathered inside the
    step), or gathered first and split over the mesh."""
    if isinstance(data, _feed.Samples):
        put = lambda index: _feed.to_devices(data.take(index), mesh)  # noqa: E731
        yield from ((batch, None) for batch in _feed.prefetched(put, order))
        return
    for index in order:
        if index is None:
            yield data, None
        elif mesh is not None:  # the batch, split over the mesh
            yield jax.device_put(_take_jit(data, jnp.asarray(index)), _mesh.split(mesh)), None
        else:
            yield data, jnp.asarray(index)


@eqx.filter_jit
def _step(params, static, opt_state, lr, data, index, key, loss, clip_norm, mesh, members):
    """One Adam step on the samples `index` of `data` (all of them when `index` is None); with
    a `mesh`, the samples (and the `members` axis of stacked parameters) split over it."""
    batch = data if index is None else _take(data, index)
    if mesh is not None:
        batch = _mesh.constrain(batch, mesh, len(jax.tree_util.tree_leaves(batch)[0]))
        params = _mesh.constrain(params, mesh, members)

    def objective(params):
        return loss(eqx.combine(params, static), batch, key)

    value, grads = jax.value_and_grad(objective)(params)
    params, opt_state = adam_update(optimizer(clip_norm), grads, opt_state, params, lr)
    return params, opt_state, value, nonfinite(grads)


def _select(better, new, old):
    """Leaf-wise: member i from `new` where better[i], else from `old` (a 0-d `better` picks
    the whole tree)."""

    def pick(a, b):
        if better.ndim == 0:
            return jnp.where(better, a, b)
        return jnp.where(better.reshape(better.shape + (1,) * (a.ndim - 1)), a, b)

    return jax.tree_util.tree_map(pick, new, old)


def _mean_loss(values: np.ndarray) -> float:
    """The epoch's loss: the mean over its steps, NaN steps left out (NaN if all are)."""
    finite = values[np.isfinite(values)]
    return float(np.mean(finite)) if finite.size else float("nan")


@dataclass
class LoopResult:
    """The model of the best epoch (per member), its validation score and the history."""

    model: eqx.Module
    score: np.ndarray
    history: list[dict]


def warn_nonfinite(history: list[dict], label: str) -> None:
    """Warn if any epoch of `history` had gradient entries zeroed for being NaN or inf: the
    model then silently did not learn from those samples."""
    import warnings

    bad = [h for h in history if h.get("nonfinite_gradients", 0)]
    if bad:
        total = sum(h["nonfinite_gradients"] for h in bad)
        warnings.warn(
            f"{label}: {total} NaN/inf gradient entries were set to zero in {len(bad)} of "
            f"{len(history)} epochs (first in epoch {bad[0]['epoch']}); those updates were "
            "skipped. Check the inputs for NaN or inf; with Adjoint(), a backward solve that "
            "ran out of steps gives NaN: raise Adjoint(backward_steps=...).",
            RuntimeWarning,
            stacklevel=4,
        )


def train_loop(
    model: eqx.Module,
    loss: eqx.Module,
    data,
    *,
    epochs: int,
    schedule: Schedule,
    batch_size: int | None = None,
    clip_norm: float | None = None,
    patience: int | None = None,
    seed: int = 0,
    validate: Callable[[eqx.Module], np.ndarray | float] | None = None,
    members: int | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    record: dict | None = None,
    progress: bool = True,
    label: str = "train",
    callback: Callable[[dict], None] | None = None,
    mesh: jax.sharding.Mesh | None = None,
) -> LoopResult:
    """Train `model` for up to `epochs` epochs of Adam steps on `loss`.

    **Arguments:**

    - `model`: any equinox model; its inexact arrays are trained.
    - `loss`: an `eqx.Module` called as `loss(model, batch, key)` -> scalar, where `batch` is
      `data` (or a mini-batch of it) and `key` seeds dropout.
    - `data`: a pytree of arrays whose leading axis is the sample axis, held on the device;
      or a `dgeo.train.Samples` (e.g. `LazyWindows`), kept on the host and fed a batch at a
      time, the next batch prepared while the current one trains.
    - `batch_size`: None: one step per epoch on all of `data`; otherwise shuffled mini-batches
      of this many samples (the last one filled up from a new shuffle), one step each.
    - `schedule`: the learning rate (`Plateau` or `Cosine`); `clip_norm`: clip the global
      gradient norm (None: no clipping).
    - `validate`: the model -> its validation score, higher is better: an array (member,)
      for a stack of `members` models, each keeping its own best epoch, or a float for one
      model. None: no validation; the last epoch's model is returned.
    - `patience`: stop when the mean validation score has not improved for this many epochs
      (None: train every epoch).
    - `checkpoint_dir`, `resume`: the state after every epoch is saved there; with `resume` a
      saved state is picked up and the run ends exactly where an uninterrupted one would (one
      that had stopped early stays stopped). `record` (JSON) describes the run; a checkpoint
      written with another `record` is refused (`CheckpointError`).
    - `callback`: called with each epoch's history entry (e.g. to log or to interrupt).
    - `mesh`: split every step's samples over the mesh's devices (`dgeo.train.data_mesh`;
      default: the mesh of an enclosing `dgeo.train.data_parallel` block, else one device).
      Shared parameters are replicated, the stacked parameters of `members` split with their
      members; `batch_size` must then be a multiple of the devices. The results equal one
      device's up to the order of floating-point sums. With several processes
      (`dgeo.distributed`), `data` is this process's share of the samples, the mesh spans
      every process's devices, and each step trains on `batch_size` samples drawn equally from
      every process (`batch_size / processes` each; each process writes its checkpoint to
      `checkpoint_dir/process<i>`).
    """
    processes = jax.process_count()
    mesh = _mesh.active_mesh(mesh)
    if processes > 1:
        if members is not None:
            raise ValueError(
                "per-basin models (members) do not share parameters: over several processes, "
                "train each process's basins on its own (dgeo.distributed.process_share)"
            )
        mesh = _mesh.data_mesh() if mesh is None else mesh
        if not isinstance(data, _feed.Samples):
            data = _feed.ArraySamples(jax.device_get(data))
    streamed = isinstance(data, _feed.Samples)
    params, static = eqx.partition(model, eqx.is_inexact_array)
    opt_state = optimizer(clip_norm).init(params)
    sched = schedule.init()
    best_params = params
    n_scores = () if members is None else (members,)
    best = np.full(n_scores, -np.inf)
    state = {"epoch": 0, "best_mean": -np.inf, "since_best": 0, "stopped": False}
    history: list[dict] = []
    rng = np.random.default_rng(seed if processes == 1 else [seed, jax.process_index()])
    folder = None if checkpoint_dir is None else Path(checkpoint_dir)
    if folder is not None and processes > 1:
        folder = folder / f"process{jax.process_index()}"
    record = {} if record is None else record
    if folder is not None and resume:
        like = (params, opt_state, sched, best_params, jnp.asarray(best))
        saved = load_checkpoint(folder, like, record)
        if saved is not None:
            (params, opt_state, sched, best_params, best), meta = saved
            best = np.asarray(best)
            state, history = meta["state"], meta["history"]
            if meta.get("rng") is not None:
                rng.bit_generator.state = meta["rng"]

    n_local = len(data) if streamed else len(jax.tree_util.tree_leaves(data)[0])
    counts = _feed.process_counts(n_local)
    n = int(np.sum(counts))
    batch = None if batch_size is None else min(batch_size, n)
    local_batch = _feed.local_batch(counts, batch)
    if mesh is not None:
        devices = mesh.shape[_mesh.AXIS]
        if batch is not None and batch % devices:
            raise ValueError(
                f"batch_size {batch} does not split over the {devices} devices of the mesh: "
                f"use a multiple of {devices}"
            )
        params, opt_state, best_params = _mesh.place(
            (params, opt_state, best_params), mesh, members
        )
        if batch is None and not streamed:
            data = _mesh.place(data, mesh, n)
    steps = 1 if batch is None else -(-n // batch)
    root = jax.random.key(seed)
    last = state["epoch"] if state.get("stopped") else epochs
    bar = tqdm(
        range(state["epoch"], last),
        desc=label,
        disable=not progress,
        initial=state["epoch"],
        total=epochs,
    )
    try:
        for epoch in bar:
            began = time.perf_counter()
            lr = schedule.rate(sched, epoch)
            if batch is None:
                order = [np.arange(n_local) if streamed else None]
            else:
                order = np.resize(rng.permutation(n_local), steps * local_batch)
                order = order.reshape(steps, local_batch)
            losses, bad = [], []
            for s, (samples, index) in enumerate(_batches(data, order, mesh)):
                params, opt_state, value, n_bad = _step(
                    params,
                    static,
                    opt_state,
                    jnp.asarray(lr),
                    samples,
                    index,
                    jax.random.fold_in(root, epoch * steps + s),
                    loss,
                    clip_norm,
                    mesh,
                    members,
                )
                losses.append(value)
                bad.append(n_bad)
            entry = {
                "epoch": epoch + 1,
                "loss": _mean_loss(np.asarray(jax.device_get(losses), dtype=np.float64)),
                "learning_rate": lr,
                "nonfinite_gradients": int(np.sum(jax.device_get(bad))),
                "steps": len(losses),
            }
            entry["seconds"] = time.perf_counter() - began  # training only, not validation
            if validate is not None:
                score = validate(eqx.combine(_feed.local_copy(params), static))
                score = np.asarray(score, dtype=np.float64)
                better = np.nan_to_num(score, nan=-np.inf) > best
                best_params = _select(jnp.asarray(better), params, best_params)
                best = np.where(better, score, best)
                mean = float(np.nanmean(score)) if score.ndim else float(score)
                entry["validation_nse"] = mean
                if mean > state["best_mean"] + MIN_IMPROVEMENT:
                    state.update(best_mean=mean, since_best=0)
                else:
                    state["since_best"] += 1
                sched = schedule.update(sched, mean)
                state["stopped"] = patience is not None and state["since_best"] >= patience
            history.append(entry)
            state["epoch"] = epoch + 1
            bar.set_postfix(
                {k: f"{v:.3g}" for k, v in entry.items() if k in ("loss", "validation_nse")}
                | {"lr": f"{lr:.1e}"}
            )
            if folder is not None:
                save_checkpoint(
                    folder,
                    (params, opt_state, sched, best_params, jnp.asarray(best)),
                    {
                        "options": record,
                        "state": state,
                        "history": history,
                        "rng": None if batch is None else rng.bit_generator.state,
                    },
                )
            if callback is not None:
                callback(entry)
            if state["stopped"]:
                break
    finally:
        bar.close()  # also when interrupted, so that what is printed next starts a new line
    warn_nonfinite(history, label)
    if validate is None:
        best_params, best = params, np.full(n_scores, np.nan)
    # with several processes, each keeps its own copy of the replicated parameters, so that
    # the model runs on this process alone (e.g. process 0 simulating and writing results)
    return LoopResult(eqx.combine(_feed.local_copy(best_params), static), best, history)
