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
import math
import zipfile
from pathlib import Path

import numpy as np

from digits.nn.callbacks import Callback
from digits.nn.training import History, TrainingState
from digits.system.errors import DigitsError
from digits.system.files import shown, special_kind, write_atomically

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


def load(path, settings: dict, network=None) -> TrainingState | None:
    """The state saved at ``path`` for a run of these ``settings``; None if there is none.

    Raises :class:`CheckpointError` in one line for something that is not a file (a
    folder, a named pipe), a file that is not a digits checkpoint, one of other settings,
    a field that breaks :data:`FIELD_RULES`, or arrays that are missing, not finite
    floating-point numbers, or of shapes that disagree with each other or, given the
    ``network`` to resume, with its layers' weights and biases.
    """
    path = Path(path)
    if not path.exists():
        return None
    name = shown(path)
    kind = special_kind(path)
    if kind is not None:
        raise CheckpointError(f"cannot resume from {name}: it is {kind}, not a checkpoint file")
    arrays, meta = _read_archive(path, name)
    if meta.get("settings") != json.loads(json.dumps(settings)):
        raise CheckpointError(f"{name} is the checkpoint of a run with other settings; delete it "
                              f"or choose another --checkpoint to start afresh")
    _check_fields(name, meta)
    groups = {group: _pairs(name, arrays, meta, group) for group in ("parameters", "velocities", "best")}
    if network is not None:
        _check_fits(name, groups["parameters"], network)
    try:
        history = History.from_dict(meta["history"])
    except Exception as error:        # a history of the wrong shape, whatever it trips on
        raise CheckpointError(f"cannot resume from {name}: its history is unreadable "
                              f"({type(error).__name__}); delete it to start afresh") from None
    return TrainingState(epoch=meta["epoch"], parameters=groups["parameters"],
                         velocities=groups["velocities"], rng_state=meta["rng_state"],
                         eta=meta["eta"], history=history,
                         best_accuracy=meta["best_accuracy"], stalled=meta["stalled"],
                         best_parameters=groups["best"])


def _read_archive(path, name):
    """``(arrays, metadata)`` of a checkpoint file, or CheckpointError."""
    afresh = "delete it to start afresh"
    try:
        with open(path, "rb") as file:
            if file.read(4) != b"PK\x03\x04":          # every .npz is a zip archive
                raise CheckpointError(f"cannot resume from {name}: not a digits checkpoint "
                                      f"(not an .npz archive); {afresh}")
        with np.load(path, allow_pickle=False) as archive:
            arrays = {member: archive[member] for member in archive.files}
        meta = json.loads(str(arrays.pop("metadata")))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        reason = str(error) if "pickle" not in str(error) else "it holds objects, not plain arrays"
        raise CheckpointError(f"cannot resume from {name}: not a readable checkpoint ({reason}); "
                              f"{afresh}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"cannot resume from {name}: not a digits checkpoint")
    return arrays, meta


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _rng_state(value) -> bool:
    """True for a generator state that numpy's bit generator of its name accepts."""
    if not isinstance(value, dict) or value.get("bit_generator") not in _BIT_GENERATORS:
        return False
    try:
        getattr(np.random, value["bit_generator"])().state = value
    except Exception:                 # numpy says no in several ways (TypeError, ValueError, ...)
        return False
    return True


_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
# What each field of a checkpoint's metadata may be, checked before any is used.
FIELD_RULES = {
    "epoch": (lambda value: _whole(value) and value >= 0, "a whole number of epochs, 0 or more"),
    "eta": (lambda value: isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0, "a positive number"),
    "rng_state": (_rng_state, "a state of numpy's random generator"),
    "history": (lambda value: isinstance(value, dict), "a JSON object"),
    "best_accuracy": (_whole, "a whole number"),
    "stalled": (lambda value: _whole(value) and value >= 0, "a whole number, 0 or more"),
    "layers": (lambda value: _whole(value) and 1 <= value <= 10_000, "a number of layers"),
    "has": (lambda value: isinstance(value, dict) and all(
        isinstance(value.get(group), bool) for group in ("velocities", "best")),
        'an object {"velocities": true/false, "best": true/false}'),
}


def _check_fields(name, meta) -> None:
    for field, (rule, wanted) in FIELD_RULES.items():
        if field not in meta:
            raise CheckpointError(f"cannot resume from {name}: it has no {field}; delete it "
                                  f"to start afresh")
        if not rule(meta[field]):
            got = json.dumps(meta[field])
            raise CheckpointError(f"cannot resume from {name}: {field} must be {wanted}, not "
                                  f"{got if len(got) <= 40 else got[:37] + '...'}; delete it "
                                  f"to start afresh")


def _pairs(name, arrays, meta, group):
    """The ``(weights, biases)`` of ``group``, checked: present, finite floating-point
    numbers, and (velocities, best) of the parameters' shapes; None where not saved."""
    if group != "parameters" and not meta["has"][group]:
        return None
    pairs = []
    for i in range(meta["layers"]):
        pair = []
        for kind in ("weights", "biases"):
            member = f"{group}_{kind}_{i}"
            array = arrays.get(member)
            if array is None:
                raise CheckpointError(f"cannot resume from {name}: {member} is missing")
            if array.dtype.kind != "f" or not np.isfinite(array).all():
                raise CheckpointError(f"cannot resume from {name}: {member} does not hold "
                                      f"finite floating-point numbers")
            wanted = arrays.get(f"parameters_{kind}_{i}")
            if wanted is not None and array.shape != wanted.shape:
                raise CheckpointError(f"cannot resume from {name}: {member} has shape "
                                      f"{array.shape}, the weights it goes with {wanted.shape}")
            pair.append(array)
        pairs.append(tuple(pair))
    return pairs


def _check_fits(name, parameters, network) -> None:
    """Refuse parameters that are not the shapes of ``network``'s layers."""
    layers = network.layers
    if len(parameters) != len(layers):
        raise CheckpointError(f"cannot resume from {name}: it holds {len(parameters)} layers, "
                              f"the network {len(layers)}")
    for i, (layer, (weights, biases)) in enumerate(zip(layers, parameters)):
        for kind, array, wanted in (("weights", weights, layer.weights.shape),
                                    ("biases", biases, layer.biases.shape)):
            if array.shape != wanted:
                raise CheckpointError(f"cannot resume from {name}: parameters_{kind}_{i} has "
                                      f"shape {array.shape}, the network's layer {wanted}")
