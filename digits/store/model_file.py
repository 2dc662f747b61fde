"""Saving a trained network to disk and loading it back, safely.

A network is stored as an ``.npz`` archive of plain arrays, ``weights_0``,
``biases_0``, ``weights_1``, ... plus ``metadata``, a JSON text that names the layers
(for a chapter 1-3 network also its sizes), the cost, the dtype, the hyperparameters,
accuracies, date and data checksums.  The archive alone is the model.  A readable copy
of the metadata, with the training history for plotting later, is written beside it
(``network.json`` next to ``network.npz``); nothing reads it back, and it records the
SHA-256 of the archive it belongs to.

Loading never unpickles anything (``allow_pickle=False``), and it believes nothing a
file claims before checking it: the archive's list of arrays and each array's header
(shape and type) are compared with the metadata before a single weight is read, so a
file that claims a huge network, or carries an extra array, is refused without
allocating its size.

Saving writes both files with :func:`digits.system.files.write_together`: to temporary
names, flushed to disk, then renamed over the old ones, the archive first; a failure at
any step leaves the old pair (or no files, where there were none), never a new archive
beside an old JSON, and the error says so.  A lock on the folder keeps two programs
saving the same model from interleaving their files.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from digits.system.errors import DigitsError
from digits.system.files import shown, special_kind, write_together
from digits.nn.layers import from_description
from digits.nn.network import Network
from digits.system.memory import check_memory

FORMAT = "digits-network"
VERSION = 2
READABLE_VERSIONS = (1, 2)
DEFAULT_MODEL = Path("data") / "network.npz"
_METADATA_LIMIT = 1 << 20          # a metadata text larger than 1 MB is not ours


class ModelFileError(DigitsError):
    """A model file that is missing, unreadable, corrupt, of another kind, or inconsistent."""


def sidecar_path(path) -> Path:
    """Where the readable JSON beside a model goes: ``network.npz`` -> ``network.json``."""
    return Path(path).with_suffix(".json")


def metadata_of(network: Network) -> dict:
    """The metadata that rebuilds ``network``: its layers, cost and dtype."""
    meta = {"format": FORMAT, "version": VERSION,
            "layers": [layer.description() for layer in network.layers],
            "sizes": network.sizes, "cost": network.cost.name,
            "activations": [activation.name for activation in network.activations],
            "dtype": network.dtype.name}
    if network.init is not None:
        meta["init"] = network.init
    return meta


def save(network: Network, path=DEFAULT_MODEL, metadata=None, history=None) -> Path:
    """Save ``network`` (and ``metadata``, a JSON-able dict) to ``path``; return the path.

    ``history`` (a :class:`~digits.nn.training.History` or dict) goes into the readable
    JSON beside the model, not into the archive.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise DigitsError(f"cannot save {path}: the folder {path.parent} does not exist")
    meta = metadata_of(network)
    meta.update(metadata or {})
    arrays = {"metadata": np.array(json.dumps(meta))}
    for i, (w, b) in enumerate(zip(network.weights, network.biases)):
        arrays[f"weights_{i}"] = w
        arrays[f"biases_{i}"] = b
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    archive = buffer.getvalue()
    readable = dict(meta, archive_sha256=hashlib.sha256(archive).hexdigest())
    if history is not None:
        readable["history"] = history if isinstance(history, dict) else history.to_dict()
    text = (json.dumps(readable, indent=2) + "\n").encode()
    with _folder_lock(path.parent):
        write_together({path: archive, sidecar_path(path): text})
    return path


@contextlib.contextmanager
def _folder_lock(folder):
    """Hold an exclusive lock on ``folder`` (where the system has ``flock``) while saving."""
    try:
        import fcntl
    except ImportError:                     # not on this system: no lock, still atomic files
        yield
        return
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)                    # closing releases the lock


def load(path=DEFAULT_MODEL):
    """Load a network saved by :func:`save`; return ``(network, metadata)``.

    Raises :class:`ModelFileError` with a one-line reason for a missing or unreadable
    file, something that is not a file (a folder, a named pipe, a device), a file that
    is not a digits model, metadata whose fields break :data:`FIELD_RULES`, or arrays
    that disagree with the metadata.  Paths in messages are quoted when they hold a
    character that is not printable.
    """
    path = Path(path)
    name = shown(path)
    kind = special_kind(path)
    if kind == "a folder":
        raise ModelFileError(f"{name} is a folder, not a network file (give the .npz file inside it)")
    if kind is not None:
        raise ModelFileError(f"{name} is {kind}, not a network file (a model is the .npz file "
                             f"that `digits train` saves)")
    if not path.is_file():
        where = "" if path.is_absolute() else f" (in {shown(Path.cwd())})"
        raise ModelFileError(f"no trained network at {name}{where}; {how_to_train(path)}")
    try:
        with open(path, "rb") as file:
            if file.read(4) != b"PK\x03\x04":          # every .npz is a zip archive
                raise ModelFileError(f"{name} is not a digits network file (not an .npz archive)")
            with zipfile.ZipFile(file) as archive:
                return _read(name, archive)
    except OSError as error:
        raise ModelFileError(f"cannot read {name}: {error.strerror or error}") from None
    except (zipfile.BadZipFile, ValueError, EOFError, KeyError, RuntimeError) as error:
        raise ModelFileError(f"{name} is not a digits network file ({error})") from None


def how_to_train(path) -> str:
    """How to make the missing model ``path``, in a command that works where the program
    runs: ``make train`` only in the project's own folder and for the model it saves."""
    command = "python -m digits train"
    if Path(path) != DEFAULT_MODEL:
        command += f" --model {shown(path)}"
    elif Path("Makefile").is_file() and Path("digits", "__init__.py").is_file():
        return f"train one with `make train` (or `{command}`)"
    return f"train one with `{command}`"


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# What each field of a model's metadata may be, checked before anything is built from it.
FIELD_RULES = {
    "version": (_whole, "a whole number"),
    "dtype": (lambda value: value in ("float32", "float64"), "float32 or float64"),
    "layers": (lambda value: isinstance(value, list) and len(value) > 0
               and all(isinstance(layer, dict) for layer in value), "a list of layer descriptions"),
    "sizes": (lambda value: isinstance(value, list) and len(value) >= 2
              and all(_whole(size) and 1 <= size <= 10**7 for size in value),
              "a list of two or more whole numbers from 1 to 10,000,000"),
    "cost": (lambda value: value is None or isinstance(value, str), "the name of a cost"),
    "activations": (lambda value: isinstance(value, list)
                    and all(isinstance(name, str) for name in value), "a list of activation names"),
    "init": (lambda value: isinstance(value, str), "the name of an initialisation"),
}


def _check_fields(path, meta) -> None:
    for field, (rule, wanted) in FIELD_RULES.items():
        if field in meta and not rule(meta[field]):
            got = json.dumps(meta[field])
            got = got if len(got) <= 40 else got[:37] + "..."
            raise ModelFileError(f"{path} has inconsistent metadata ({field} must be {wanted}, "
                                 f"not {got})")


def _read(path, archive):
    members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
    if "metadata" not in members:
        raise ModelFileError(f"{path} is not a digits network file (no metadata)")
    meta = _read_metadata(path, archive, members["metadata"])
    network = _empty_network(path, meta)
    expected = {}
    for i, layer in enumerate(network.layers):
        expected[f"weights_{i}"] = layer.weight_shape()
        expected[f"biases_{i}"] = layer.bias_shape()
    extra = sorted(set(members) - {"metadata"} - set(expected))
    if extra:
        raise ModelFileError(f"{path} holds unexpected arrays: {', '.join(extra)}")
    missing = [name for name in expected if name not in members]
    if missing:
        raise ModelFileError(f"{path} is missing {missing[0]}")
    sizes = network.sizes
    for name, shape in expected.items():       # headers first: nothing large read yet
        _check_header(path, archive, members[name], name, shape, sizes)
    check_memory(sum(members[name].file_size for name in expected), f"the arrays of {path}")
    arrays = {name: _read_array(path, archive, members[name], name) for name in expected}
    count = len(network.layers)
    network.weights = [arrays[f"weights_{i}"].astype(network.dtype, copy=False) for i in range(count)]
    network.biases = [arrays[f"biases_{i}"].astype(network.dtype, copy=False) for i in range(count)]
    return network, meta


def _read_metadata(path, archive, info):
    if info.file_size > _METADATA_LIMIT:
        raise ModelFileError(f"{path} is not a digits network file (its metadata is "
                             f"{info.file_size} bytes)")
    with archive.open(info) as member:
        try:
            text = np.lib.format.read_array(member, allow_pickle=False)
        except ValueError as error:
            raise ModelFileError(f"{path} is not a digits network file ({error})") from None
    try:
        meta = json.loads(str(text))
    except (ValueError, TypeError):
        raise ModelFileError(f"{path} is not a digits network file (unreadable metadata)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a digits network file (format {meta.get('format')!r})"
                             if isinstance(meta, dict) else f"{path} is not a digits network file")
    _check_fields(path, meta)
    if meta.get("version") not in READABLE_VERSIONS:
        raise ModelFileError(f"{path} is a version {meta.get('version')} model; this program reads "
                             f"versions {', '.join(map(str, READABLE_VERSIONS))}")
    return meta


def _empty_network(path, meta):
    """The network the metadata describes, with placeholder arrays (nothing random drawn)."""
    try:
        dtype = np.dtype(meta.get("dtype", "float64"))
        if "layers" in meta:
            layers = [from_description(description) for description in meta["layers"]]
            network_args = dict(cost=meta.get("cost"))
        else:                               # version 1: a fully connected network of sizes
            layers = [int(size) for size in meta["sizes"]]
            network_args = dict(cost=meta["cost"], activations=meta["activations"],
                                init=meta.get("init", "large"))
        network = Network(layers, dtype=dtype, initialise=False, **network_args)
        if meta.get("init") in ("large", "default"):      # built from sizes with one init
            network.init = meta["init"]
        return network
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, IndexError,
            ZeroDivisionError, DigitsError) as error:
        # A layer's description is checked by the layer as it is built; whatever it
        # trips on, the file is at fault.
        reason = str(error) if isinstance(error, DigitsError) else f"{type(error).__name__}: {error}"
        raise ModelFileError(f"{path} has inconsistent metadata ({reason[:150]})") from None


def _check_header(path, archive, info, name, shape, sizes):
    with archive.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                stored_shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            else:
                stored_shape, _, dtype = np.lib.format.read_array_header_2_0(member)
        except ValueError as error:
            raise ModelFileError(f"{path}: {name} is not a plain array ({error})") from None
    if dtype.kind != "f" or dtype.hasobject:
        raise ModelFileError(f"{path}: {name} does not hold floating-point numbers")
    if tuple(stored_shape) != tuple(shape):
        raise ModelFileError(f"{path}: {name} has shape {tuple(stored_shape)}, but the layers "
                             f"({sizes}) need {tuple(shape)}")
    needed = int(np.prod(shape)) * dtype.itemsize
    if info.file_size < needed or info.compress_size * 64 < needed:
        raise ModelFileError(f"{path}: {name} is truncated or not what its header says")


def _read_array(path, archive, info, name):
    with archive.open(info) as member:
        array = np.lib.format.read_array(member, allow_pickle=False)
    if not np.all(np.isfinite(array)):
        raise ModelFileError(f"{path}: {name} does not hold finite floating-point numbers")
    return array
