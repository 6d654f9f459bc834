"""Training checkpoints: the state after an epoch, written whole or not at all, and read back.

A checkpoint is two files: `state.eqx` (the arrays, equinox serialisation) and `state.json`
(the options it was trained with, the loop's counters and history, and the SHA-256 of
`state.eqx`). A resumed run refuses a checkpoint written with other options.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import equinox as eqx


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


def has_checkpoint(folder: str | os.PathLike) -> bool:
    """Does `folder` hold a checkpoint (`state.json`)?"""
    return (Path(folder) / _META).is_file()
