"""Saving a trained network to disk and loading it back, safely.

A network is stored as an ``.npz`` archive of plain arrays, ``weights_0``,
``biases_0``, ``weights_1``, ... plus ``metadata``, a JSON text (sizes, cost,
activations, hyperparameters, accuracies, date, data checksums).  It is read with
``allow_pickle=False``: nothing in a model file can run code.  The same metadata is
also written as readable JSON beside the model (``network.json`` next to
``network.npz``), together with the training history for plotting later.

Files are written atomically: to a temporary name in the same folder, flushed, then
renamed over the old file, so an interrupted save never leaves a half-written model.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from .errors import DigitsError
from .files import write_atomically
from .network import Network

FORMAT = "digits-network"
VERSION = 1
DEFAULT_MODEL = Path("data") / "network.npz"


class ModelFileError(DigitsError):
    """A model file that is missing, corrupt, of another kind, or inconsistent."""


def sidecar_path(path) -> Path:
    """Where the readable JSON beside a model goes: ``network.npz`` -> ``network.json``."""
    return Path(path).with_suffix(".json")


def save(network: Network, path=DEFAULT_MODEL, metadata=None, history=None) -> Path:
    """Save ``network`` (and ``metadata``, a JSON-able dict) to ``path``; return the path.

    ``history`` (a :class:`~digits.network.History` or dict) goes into the JSON file
    beside the model, not into the archive.
    """
    path = Path(path)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "sizes": network.sizes,
        "cost": network.cost.name,
        "activations": [activation.name for activation in network.activations],
        "init": network.init,
        "dtype": network.dtype.name,
    }
    meta.update(metadata or {})
    arrays = {"metadata": np.array(json.dumps(meta))}
    for i, (w, b) in enumerate(zip(network.weights, network.biases)):
        arrays[f"weights_{i}"] = w
        arrays[f"biases_{i}"] = b
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_atomically(path, buffer.getvalue())
    readable = dict(meta)
    if history is not None:
        readable["history"] = history if isinstance(history, dict) else history.to_dict()
    write_atomically(sidecar_path(path), (json.dumps(readable, indent=2) + "\n").encode())
    return path


def load(path=DEFAULT_MODEL):
    """Load a network saved by :func:`save`; return ``(network, metadata)``.

    Raises :class:`ModelFileError` with a one-line reason for a missing file, a file
    that is not a digits model, or arrays whose shapes disagree with the sizes.
    """
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a network file (give the .npz file "
                             "inside it)")
    if not path.is_file():
        where = "" if path.is_absolute() else f" (in {Path.cwd()})"
        raise ModelFileError(f"no trained network at {path}{where}; train one with `make train` "
                             f"in the digits folder (or `python -m digits train --model {path}`)")
    with open(path, "rb") as file:
        if file.read(4) != b"PK\x03\x04":          # every .npz is a zip archive
            raise ModelFileError(f"{path} is not a digits network file (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            contents = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise ModelFileError(f"{path} is not a digits network file ({error})") from None
    if not isinstance(contents, dict) or "metadata" not in contents:
        raise ModelFileError(f"{path} is not a digits network file (no metadata)")
    try:
        meta = json.loads(str(contents["metadata"]))
    except (ValueError, TypeError):
        raise ModelFileError(f"{path} is not a digits network file (unreadable metadata)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a digits network file (format {meta.get('format')!r})"
                             if isinstance(meta, dict) else f"{path} is not a digits network file")
    if meta.get("version") != VERSION:
        raise ModelFileError(f"{path} is a version {meta.get('version')} model; this program reads version {VERSION}")
    try:
        network = Network(meta["sizes"], cost=meta["cost"], activations=meta["activations"],
                          init=meta.get("init", "large"), dtype=meta.get("dtype", "float64"))
    except (KeyError, TypeError, ValueError, DigitsError) as error:
        raise ModelFileError(f"{path} has inconsistent metadata ({error})") from None
    weights, biases = [], []
    for i, (n_in, n_out) in enumerate(zip(network.sizes[:-1], network.sizes[1:])):
        for name, shape, into in ((f"weights_{i}", (n_out, n_in), weights),
                                  (f"biases_{i}", (n_out, 1), biases)):
            array = contents.get(name)
            if array is None:
                raise ModelFileError(f"{path} is missing {name}")
            if array.shape != shape:
                raise ModelFileError(f"{path}: {name} has shape {array.shape}, but sizes "
                                     f"{network.sizes} need {shape}")
            if array.dtype.kind != "f" or not np.all(np.isfinite(array)):
                raise ModelFileError(f"{path}: {name} does not hold finite floating-point numbers")
            into.append(array.astype(network.dtype))
    extra = sorted(set(contents) - {"metadata"} - {f"weights_{i}" for i in range(len(weights))}
                   - {f"biases_{i}" for i in range(len(biases))})
    if extra:
        raise ModelFileError(f"{path} holds unexpected arrays: {', '.join(extra)}")
    network.weights, network.biases = weights, biases
    return network, meta
