"""Model files and checkpoints whose JSON fields have the wrong type or an absurd value:
each is refused in one line (ModelFileError, CheckpointError), generated from a table
of fields and bad values; and the other files given where a model belongs (a FIFO, a
device, a path with a newline) are named for what they are."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from digits.app.models import load_models
from digits.nn.network import Network
from digits.nn.training import History, TrainingState
from digits.store import checkpoint, model_file
from digits.store.model_file import ModelFileError

BAD_VALUES = [None, [], {}, "x", [[]], [None], 1e308, float("inf"), float("-inf"),
              float("nan"), -1, 0, True, 2 ** 70, "Infinity", ["sigmoid"], [1.5], {"a": 1}]


def written_with(path, meta, arrays):
    """A model file holding ``arrays`` and ``meta`` as its metadata (JSON allows NaN here)."""
    buffer = io.BytesIO()
    np.savez(buffer, metadata=np.array(json.dumps(meta)), **arrays)
    path.write_bytes(buffer.getvalue())
    return path


def saved(tmp_path_factory, network):
    path = tmp_path_factory.mktemp("model") / "net.npz"
    model_file.save(network, path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return json.loads(str(arrays.pop("metadata"))), arrays


def mutations(meta):
    """``(label, metadata)`` with one field, top level or of the first layer, made bad."""
    for field in [*meta, "layers.0.*"]:
        if field == "layers.0.*":
            for layer_field in meta.get("layers", [{}])[0]:
                for value in BAD_VALUES:
                    changed = copy.deepcopy(meta)
                    changed["layers"][0][layer_field] = value
                    yield f"layers[0].{layer_field}={value!r}", changed
            continue
        for value in BAD_VALUES:
            changed = copy.deepcopy(meta)
            changed[field] = value
            yield f"{field}={value!r}", changed
        changed = copy.deepcopy(meta)
        del changed[field]
        yield f"no {field}", changed


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    version_2 = saved(tmp_path_factory, Network([784, 6, 10], seed=1))
    meta_1, arrays_1 = saved(tmp_path_factory, Network([784, 6, 10], seed=1))
    meta_1 = {"format": "digits-network", "version": 1, "sizes": [784, 6, 10],
              "cost": meta_1["cost"], "activations": meta_1["activations"], "dtype": "float64"}
    return {"version 2": version_2, "version 1": (meta_1, arrays_1)}


def cases():
    meta_2 = model_file.metadata_of(Network([784, 6, 10], seed=1))
    meta_1 = {"format": "digits-network", "version": 1, "sizes": [784, 6, 10],
              "cost": "quadratic", "activations": ["sigmoid", "sigmoid"], "dtype": "float64"}
    for version, meta in (("version 2", meta_2), ("version 1", meta_1)):
        for label, _ in mutations(meta):
            yield version, label


@pytest.mark.parametrize("version, label", list(cases()))
def test_bad_metadata_is_refused_in_one_line(tmp_path, originals, version, label):
    meta, arrays = originals[version]
    changed = dict(mutations(meta))[label]
    path = written_with(tmp_path / "net.npz", changed, arrays)
    try:
        load_models([path])
    except ModelFileError as error:
        assert "\n" not in str(error)


# -- checkpoints -------------------------------------------------------------------------------

SETTINGS = {"sizes": [784, 6, 10], "eta": 0.5}


@pytest.fixture(scope="module")
def a_checkpoint(tmp_path_factory):
    network = Network([784, 6, 10], seed=3)
    parameters = list(zip(network.weights, network.biases))
    state = TrainingState(epoch=2, parameters=parameters,
                          velocities=[(np.zeros_like(w), np.zeros_like(b)) for w, b in parameters],
                          rng_state=network.rng.bit_generator.state, eta=0.5, history=History(),
                          best_accuracy=9000, stalled=1, best_parameters=parameters)
    path = tmp_path_factory.mktemp("checkpoint") / "run.npz"
    checkpoint.save(path, state, SETTINGS)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return json.loads(str(arrays.pop("metadata"))), arrays


def checkpoint_cases():
    fields = ["epoch", "eta", "rng_state", "history", "best_accuracy", "stalled", "layers", "has"]
    for field in fields:
        for value in BAD_VALUES:
            yield f"{field}={value!r}", field, value
        yield f"no {field}", field, KeyError
    for value in ["two", -1, 2.5, None]:
        yield f"epoch={value!r}", "epoch", value
    yield "rng_state.bit_generator=None", "rng_state.bit_generator", None
    yield "rng_state.state=x", "rng_state.state", "x"
    yield "has.best=x", "has.best", "x"


def changed_checkpoint(meta, field, value):
    meta = copy.deepcopy(meta)
    *parents, name = field.split(".")
    target = meta
    for parent in parents:
        target = target[parent]
    if value is KeyError:
        del target[name]
    else:
        target[name] = value
    return meta


@pytest.mark.parametrize("label, field, value", list(checkpoint_cases()))
def test_a_checkpoint_with_a_bad_field_is_refused_in_one_line(tmp_path, a_checkpoint, label, field, value):
    meta, arrays = a_checkpoint
    path = written_with(tmp_path / "run.npz", changed_checkpoint(meta, field, value), arrays)
    try:
        state = checkpoint.load(path, SETTINGS)
    except checkpoint.CheckpointError as error:
        assert "\n" not in str(error)
        return
    network = Network([784, 6, 10], seed=3)      # what loaded must be usable for resuming
    network.rng.bit_generator.state = state.rng_state
    assert isinstance(state.epoch, int) and state.epoch >= 0


@pytest.mark.parametrize("change", ["missing parameters_weights_1", "wrong shape velocities_biases_0",
                                    "wrong shape parameters_weights_0", "text parameters_biases_1",
                                    "NaN best_weights_0", "missing best_biases_1"])
def test_a_checkpoint_with_a_bad_array_is_refused_in_one_line(tmp_path, a_checkpoint, change):
    meta, arrays = a_checkpoint
    arrays = dict(arrays)
    kind, name = change.rsplit(" ", 1)
    if kind == "missing":
        del arrays[name]
    elif kind == "wrong shape":
        arrays[name] = np.zeros((3, 3))
    elif kind == "text":
        arrays[name] = np.array(["not a number"])
    else:
        arrays[name] = np.full_like(arrays[name], np.nan)
    path = written_with(tmp_path / "run.npz", meta, arrays)
    with pytest.raises(checkpoint.CheckpointError) as error:
        checkpoint.load(path, SETTINGS)
    assert "\n" not in str(error.value)


def test_a_checkpoint_that_is_a_text_file_is_called_so(tmp_path):
    path = tmp_path / "run.npz"
    path.write_text("epoch 3, eta 0.5\n")
    with pytest.raises(checkpoint.CheckpointError) as error:
        checkpoint.load(path, SETTINGS)
    assert "allow_pickle" not in str(error.value)
    assert "not a digits checkpoint" in str(error.value)


# -- 8. what the file is ------------------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_given_as_a_model_is_called_a_fifo(tmp_path):
    path = tmp_path / "net.npz"
    os.mkfifo(path)
    with pytest.raises(ModelFileError, match="is a named pipe"):
        model_file.load(path)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_given_as_a_model_is_called_a_device():
    with pytest.raises(ModelFileError, match="/dev/zero is a device"):
        model_file.load("/dev/zero")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_given_as_a_checkpoint_is_called_a_fifo(tmp_path):
    path = tmp_path / "run.npz"
    os.mkfifo(path)
    with pytest.raises(checkpoint.CheckpointError, match="is a named pipe"):
        checkpoint.load(path, SETTINGS)


@pytest.mark.parametrize("command", ["classify", "evaluate", "serve"])
def test_a_path_with_a_newline_is_quoted_on_one_line(tmp_path, command):
    folder = tmp_path / "two\nlines"
    folder.mkdir()
    args = {"classify": ["classify", "--model", str(folder / "net.npz"), str(folder / "x.png")],
            "evaluate": ["evaluate", "--model", str(folder / "net.npz"), "--no-download",
                         "--data", str(folder)],
            "serve": ["serve", "--model", str(folder / "net.npz"), "--port", "0"]}[command]
    result = subprocess.run([sys.executable, "-m", "digits", *args], capture_output=True,
                            text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "two\\nlines" in result.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_given_as_a_picture_is_called_a_fifo(tmp_path):
    from digits.app.prepare import PictureError, read_picture

    path = tmp_path / "x.png"
    os.mkfifo(path)
    with pytest.raises(PictureError, match="is a named pipe"):
        read_picture(path)


def test_a_device_given_as_a_picture_is_called_a_device():
    from digits.app.prepare import PictureError, read_picture

    with pytest.raises(PictureError, match="is a device"):
        read_picture("/dev/zero")


def test_without_a_model_outside_the_repository_the_hint_works_there(tmp_path):
    result = subprocess.run([sys.executable, "-m", "digits", "classify", "x.png"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert "python -m digits train" in result.stderr
    assert "make train" not in result.stderr


def test_a_checkpoint_whose_weights_do_not_fit_the_network_is_refused(tmp_path, a_checkpoint):
    """Consistent within the file, but not the shapes of the network being resumed."""
    meta, arrays = a_checkpoint
    arrays = dict(arrays)
    for group in ("parameters", "velocities", "best"):
        arrays[f"{group}_weights_0"] = np.zeros((7, 784))
        arrays[f"{group}_biases_0"] = np.zeros((7, 1))
    path = written_with(tmp_path / "run.npz", meta, arrays)
    with pytest.raises(checkpoint.CheckpointError, match="parameters_weights_0 has shape"):
        checkpoint.load(path, SETTINGS, network=Network([784, 6, 10], seed=3))


def test_any_error_naming_a_path_with_a_newline_stays_on_one_line(tmp_path):
    """Not only the model's messages: a data folder's too (every error passes one door)."""
    folder = tmp_path / "data\nfolder"
    result = subprocess.run([sys.executable, "-m", "digits", "train", "--epochs", "1",
                             "--no-download", "--data", str(folder), "--model",
                             str(tmp_path / "net.npz")], capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "data\\nfolder" in result.stderr
