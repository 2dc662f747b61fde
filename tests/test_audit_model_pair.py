"""A model is a pair of files, ``NAME.npz`` and ``NAME.json``: saving leaves the old pair
or the new pair, never one of each, wherever the path points, and what a failed save says
it kept is what is on disk."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

from digits.app.commands import train
from digits.nn.network import Network
from digits.store import model_file
from digits.system import files
from digits.system.errors import DigitsError


def pair_matches(npz) -> bool:
    """True when the JSON beside ``npz`` is the one written with it."""
    readable = json.loads(model_file.sidecar_path(npz).read_text())
    return readable["archive_sha256"] == hashlib.sha256(npz.read_bytes()).hexdigest()


@pytest.mark.parametrize("spelling", ["net.npz", "./net.npz", "sub/../net.npz"])
def test_a_model_path_in_the_current_folder_saves_both_files(tmp_path, monkeypatch, spelling):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    for seed in (1, 2):                        # a first save, then one over it
        model_file.save(Network([784, 5, 10], seed=seed), spelling)
        assert pair_matches(tmp_path / "net.npz")
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".part")]


def failing_replace_of(suffix):
    """``os.replace`` that fails, as a full disk would, for targets ending in ``suffix``."""
    real_replace = os.replace

    def replace(source, target, *args, **kwargs):
        if str(target).endswith(suffix):
            raise OSError(28, "No space left on device")
        return real_replace(source, target, *args, **kwargs)
    return replace


@pytest.mark.parametrize("failing", [".json", ".npz"])
@pytest.mark.parametrize("spelling", ["net.npz", "models/net.npz"])
def test_a_failed_save_leaves_the_old_pair_and_says_so(tmp_path, monkeypatch, failing, spelling):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    model_file.save(Network([784, 5, 10], seed=1), spelling)
    target = tmp_path / spelling
    old = target.read_bytes(), model_file.sidecar_path(target).read_bytes()
    monkeypatch.setattr(files.os, "replace", failing_replace_of(failing))
    with pytest.raises(DigitsError) as error:
        model_file.save(Network([784, 5, 10], seed=2), spelling)
    assert (target.read_bytes(), model_file.sidecar_path(target).read_bytes()) == old
    assert "No space left on device" in str(error.value)
    assert "left as they were" in str(error.value)
    assert not [name for name in os.listdir(target.parent) if name.endswith(".part")]


def test_trains_message_about_a_kept_network_is_true(tmp_path, monkeypatch):
    """The network is kept in the temporary folder, and the model file named is the old one."""
    monkeypatch.chdir(tmp_path)
    model_file.save(Network([784, 5, 10], seed=1), "net.npz")
    old = (tmp_path / "net.npz").read_bytes()
    real_replace = os.replace

    def replace(source, target, *args, **kwargs):     # only the JSON beside net.npz fails
        if os.path.abspath(target) == str(tmp_path / "net.json"):
            raise OSError(28, "No space left on device")
        return real_replace(source, target, *args, **kwargs)
    monkeypatch.setattr(files.os, "replace", replace)
    monkeypatch.setattr(train.tempfile, "gettempdir", lambda: str(tmp_path / "elsewhere"))
    (tmp_path / "elsewhere").mkdir()
    network = Network([784, 5, 10], seed=2)
    with pytest.raises(DigitsError) as error:
        train.save_or_keep(network, "net.npz", {}, None)
    message = str(error.value)
    assert "net.npz and net.json were left as they were" in message
    assert (tmp_path / "net.npz").read_bytes() == old
    kept = message.split("kept at ")[1].split(" instead")[0]
    loaded, _ = model_file.load(kept)
    np.testing.assert_array_equal(loaded.weights[0], network.weights[0])
