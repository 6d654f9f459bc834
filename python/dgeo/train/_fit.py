"""Per-basin training: a stack of basin models, every window in every step (`train_loop`).

Members of the stack (one per basin, or per basin and random start) share nothing, so the
summed loss gives each member the gradient of its own NSE and Adam's element-wise update makes
the joint run equivalent to independent per-basin runs, at the cost of one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models import BasinModel
from ..solve._types import check_options_types
from ._checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ._loop import Plateau, train_loop
from ._windows import Series, nse_loss, nse_per_row

__all__ = [  # the checkpoint functions are re-exported for code that imported them from here
    "CheckpointError",
    "FitOptions",
    "FitResult",
    "NSELoss",
    "check_option",
    "fit",
    "load_checkpoint",
    "predict",
    "save_checkpoint",
    "validation_nse",
]


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


@eqx.filter_jit
def validation_nse(model: BasinModel, inputs, qobs, spinup_days):
    """NSE per member over its validation windows after spin-up."""
    return nse_per_row(predict(model, inputs, full=False)["q"], qobs, spinup_days)


class NSELoss(eqx.Module):
    """The per-basin loss: mean over the members of a stack of 1 - NSE, each member's NSE
    over its windows after `spinup_days` (`nse_loss`)."""

    spinup_days: int = eqx.field(static=True)

    def __call__(self, model, batch, key):
        inputs, qobs = batch
        return nse_loss(predict(model, inputs, key=key, full=False)["q"], qobs, self.spinup_days)


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
    """Train a stack of basin models (leading member axis) on windowed series: every window
    in every Adam step, the learning rate on a plateau schedule (`Plateau`), early stopping,
    and each member's best epoch kept (`dgeo.train.train_loop`).

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
    data = (jax.tree_util.tree_map(jnp.asarray, train.inputs), jnp.asarray(train.qobs))
    validate = None
    if validation is not None:
        v_inputs = jax.tree_util.tree_map(jnp.asarray, validation.inputs)
        v_qobs = jnp.asarray(validation.qobs)

        def validate(model):
            return np.asarray(validation_nse(model, v_inputs, v_qobs, o.spinup_days))

    result = train_loop(
        model,
        NSELoss(o.spinup_days),
        data,
        epochs=o.epochs,
        schedule=Plateau(
            o.learning_rate, o.plateau_patience, o.plateau_factor, o.min_learning_rate
        ),
        patience=o.patience,
        seed=o.seed,
        validate=validate,
        members=len(train.qobs),
        checkpoint_dir=checkpoint_dir,
        resume=resume,
        record=asdict(o),
        progress=progress,
        label=label,
        callback=callback,
    )
    return FitResult(result.model, result.score, result.history)
