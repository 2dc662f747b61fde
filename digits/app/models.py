"""The trained networks a command or the server reads digits with.

Every command that loads networks for reading digits (``classify``, ``evaluate``,
``draw``, ``serve``) loads them here: :func:`load_models` reads each model file
(:mod:`digits.store.model_file`) and refuses, in one line, a network that does not turn
a 28x28 picture into ten outputs (:func:`check_reads_digits`).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from digits.app.prepare import SIZE
from digits.store.model_file import DEFAULT_MODEL, ModelFileError, load as load_model
from digits.system.errors import DigitsError
from digits.system.files import shown

__all__ = ["DEFAULT_MODEL", "Model", "load_models", "check_reads_digits"]

class Model:
    """A loaded network that reads digits, with its name and metadata.

    ``network`` is a :class:`~digits.nn.network.Network` whose ``feedforward`` takes a
    ``(784, m)`` array of columns and gives ``(10, m)`` outputs.  A lock keeps one
    thread at a time inside it, since its layers reuse their buffers.
    """

    def __init__(self, name, path, network, metadata):
        self.name = name
        self.path = Path(path)
        self.network = network
        self.metadata = metadata
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Model({self.name!r}, {self.description()})"

    def outputs(self, image: np.ndarray) -> np.ndarray:
        """The ten outputs for one 28x28 image."""
        with self._lock:
            column = self.network.feedforward(image.reshape(-1, 1))
        return np.asarray(column, dtype=np.float64).reshape(-1)

    def description(self) -> str:
        """One line: ``[784, 30, 10] sigmoid, quadratic cost, 95.15% on the test images``."""
        meta = self.metadata
        sizes = getattr(self.network, "sizes", None) or meta.get("sizes")
        parts = [str(list(sizes)) if sizes else type(self.network).__name__]
        activations = meta.get("activations")
        if isinstance(activations, list) and activations:
            names = list(dict.fromkeys(str(name) for name in activations))
            parts[0] += " " + "/".join(names)
        if meta.get("cost"):
            parts.append(f"{meta['cost']} cost")
        accuracy = meta.get("test_accuracy")
        if isinstance(accuracy, (int, float)):
            parts.append(f"{100 * accuracy:.2f}% on the test images")
        return ", ".join(parts)

    def summary(self) -> dict:
        """What ``GET /api/model`` says about this model."""
        return {"name": self.name, "description": self.description(), "metadata": self.metadata}


def load_models(paths) -> list[Model]:
    """Load each model file and check that it reads 28x28 pictures into ten outputs.

    Raises :class:`~digits.store.model_file.ModelFileError` (one line) for a missing or
    broken file, or a network of another shape.  Each model is named by its file
    name, or by the path as given where two file names are the same.
    """
    paths = [Path(path) for path in paths]
    names = [path.name for path in paths]
    models = []
    for path, name in zip(paths, names):
        network, metadata = load_model(path)
        check_reads_digits(network, path)
        models.append(Model(name if names.count(name) == 1 else str(path), path, network, metadata))
    return models


def check_reads_digits(network, path) -> None:
    """Refuse a network that does not turn a 28x28 picture into ten outputs.

    Its sizes, where it has them, are read first (``[2, 3, 1]`` is refused by name); then one blank picture
    is fed forward, so that a network whose layers do not chain is refused too.
    """
    sizes = getattr(network, "sizes", None)
    if sizes is not None and (sizes[0] != SIZE * SIZE or sizes[-1] != 10):
        raise ModelFileError(f"{shown(path)} is a {sizes} network; reading digits needs "
                             f"{SIZE * SIZE} inputs and 10 outputs")
    try:
        outputs = np.asarray(network.feedforward(np.zeros((SIZE * SIZE, 1))))
    except Exception as error:      # whatever a network built from a file trips on
        reason = str(error) if isinstance(error, DigitsError) else f"{type(error).__name__}: {error}"
        raise ModelFileError(f"{shown(path)} cannot read a {SIZE}x{SIZE} picture "
                             f"({reason[:150]})") from None
    if outputs.shape != (10, 1):
        raise ModelFileError(f"{shown(path)} gives {outputs.shape[0]} outputs for a picture; reading "
                             f"digits needs 10")
