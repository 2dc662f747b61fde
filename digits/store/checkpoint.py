"""Checkpoints: a training run saved after every epoch, to go on from where it stopped.

Chapter 6's networks train for hours on a 2-core machine; a run that is stopped (Ctrl-C,
a closed laptop, a machine that is shut down) should lose at most the epoch it was in.
:func:`save` writes a :class:`~digits.nn.training.TrainingState` (weights, momentum's
velocities, the epoch, the random generator, eta, the history and the early-stopping
bookkeeping) to one ``.npz`` file, atomically; :class:`CheckpointWriter` is the
training loop's callback that calls it after every whole epoch.  :func:`load` reads it
back for ``Network.SGD(..., resume=state)``, which then ends with exactly the numbers
of a run that was never stopped.

The file records the settings of the run it belongs to (a dictionary the caller
chooses: the layers, eta, seed, ...); a checkpoint of other settings is refused rather
than silently continued.  Like model files, it holds only plain arrays and a JSON text,
and is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from digits.nn.callbacks import Callback
from digits.nn.training import History, TrainingState
from digits.system.errors import DigitsError
from digits.system.files import write_atomically

FORMAT = "digits-checkpoint"


class CheckpointError(DigitsError):
    """A checkpoint that is unreadable, or belongs to another run."""


def save(path, state: TrainingState, settings: dict) -> None:
    """Write ``state`` and the run's ``settings`` to ``path``, replacing it atomically."""
    arrays = {}
    for group, pairs in (("parameters", state.parameters), ("velocities", state.velocities),
                         ("best", state.best_parameters)):
        for i, (w, b) in enumerate(pairs or []):
            arrays[f"{group}_weights_{i}"] = w
            arrays[f"{group}_biases_{i}"] = b
    meta = {"format": FORMAT, "settings": settings, "epoch": state.epoch, "eta": state.eta,
            "rng_state": state.rng_state, "history": state.history.to_dict(),
            "best_accuracy": state.best_accuracy, "stalled": state.stalled,
            "layers": len(state.parameters),
            "has": {"velocities": state.velocities is not None, "best": state.best_parameters is not None}}
    arrays["metadata"] = np.array(json.dumps(meta))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_atomically(path, buffer.getvalue())


class CheckpointWriter(Callback):
    """Saves the run to ``path`` after every whole epoch (not after one cut short by a stop)."""

    def __init__(self, path, settings: dict):
        self.path, self.settings = Path(path), settings

    def __repr__(self) -> str:
        return f"CheckpointWriter({str(self.path)!r})"

    def on_epoch_end(self, run) -> None:
        if run.epoch_finished:
            save(self.path, run.state(), self.settings)


def load(path, settings: dict) -> TrainingState | None:
    """The state saved at ``path`` for a run of these ``settings``; None if there is none."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        meta = json.loads(str(arrays.pop("metadata")))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"cannot resume from {path}: not a readable checkpoint ({error}); "
                              f"delete it to start afresh") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"cannot resume from {path}: not a digits checkpoint")
    if meta.get("settings") != json.loads(json.dumps(settings)):
        raise CheckpointError(f"{path} is the checkpoint of a run with other settings; delete it "
                              f"or choose another --checkpoint to start afresh")

    def pairs(group):
        if group != "parameters" and not meta["has"][group]:
            return None
        try:
            return [(arrays[f"{group}_weights_{i}"], arrays[f"{group}_biases_{i}"])
                    for i in range(meta["layers"])]
        except KeyError as missing:
            raise CheckpointError(f"cannot resume from {path}: {missing} is missing") from None

    return TrainingState(epoch=meta["epoch"], parameters=pairs("parameters"),
                         velocities=pairs("velocities"), rng_state=meta["rng_state"],
                         eta=meta["eta"], history=History.from_dict(meta["history"]),
                         best_accuracy=meta["best_accuracy"], stalled=meta["stalled"],
                         best_parameters=pairs("best"))
