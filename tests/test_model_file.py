"""Saving and loading networks: round trips, and clear refusals of anything else."""

import io
import json
import zipfile

import numpy as np
import pytest

from digits.system import files
from digits.store import model_file
from digits.store.model_file import ModelFileError
from digits.nn.network import Network


def saved_network(tmp_path, **kwargs):
    network = Network([784, 12, 10], seed=3, **kwargs)
    path = model_file.save(network, tmp_path / "net.npz", {"note": "hello"}, history={"seconds": [1.0]})
    return network, path


def test_a_saved_network_loads_back_identical(tmp_path):
    network, path = saved_network(tmp_path, cost="cross-entropy", init="default")
    loaded, meta = model_file.load(path)
    assert loaded.sizes == network.sizes
    assert loaded.cost.name == "cross-entropy" and loaded.init == "default"
    assert meta["note"] == "hello"
    for a, b in zip(loaded.weights + loaded.biases, network.weights + network.biases):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).random((784, 3))
    np.testing.assert_array_equal(loaded.feedforward(x), network.feedforward(x))


def test_activations_and_dtype_are_recorded(tmp_path):
    network = Network([784, 8, 10], activations=["tanh", "softmax"], cost="log-likelihood",
                      dtype=np.float32, seed=0)
    loaded, meta = model_file.load(model_file.save(network, tmp_path / "net.npz"))
    assert meta["activations"] == ["tanh", "softmax"] and meta["cost"] == "log-likelihood"
    assert loaded.dtype == np.float32 and loaded.weights[0].dtype == np.float32


def test_readable_json_with_the_history_is_written_beside_the_model(tmp_path):
    _, path = saved_network(tmp_path)
    beside = json.loads((tmp_path / "net.json").read_text())
    assert beside["sizes"] == [784, 12, 10] and beside["history"] == {"seconds": [1.0]}


def test_the_archive_needs_no_pickle(tmp_path):
    _, path = saved_network(tmp_path)
    with np.load(path, allow_pickle=False) as archive:
        assert {archive[name].dtype.kind for name in archive.files} <= {"f", "U"}


def test_a_missing_file_says_how_to_train_one(tmp_path):
    with pytest.raises(ModelFileError, match="python -m digits train --model .*nothing.npz"):
        model_file.load(tmp_path / "nothing.npz")


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04broken"])
def test_a_corrupt_file_is_refused(tmp_path, content):
    path = tmp_path / "net.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="not a digits network"):
        model_file.load(path)


def test_a_truncated_file_is_refused(tmp_path):
    _, path = saved_network(tmp_path)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ModelFileError):
        model_file.load(path)


def test_an_npz_of_another_kind_is_refused(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(ModelFileError, match="no metadata"):
        model_file.load(path)


def test_pickled_objects_are_refused_not_unpickled(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, metadata=np.array([{"format": "digits-network"}], dtype=object))
    with pytest.raises(ModelFileError, match="not a digits network"):
        model_file.load(path)


def rewrite(path, change):
    """Rewrite a saved model's archive with ``change(arrays)`` applied."""
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    change(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def test_shapes_that_disagree_with_the_sizes_are_refused(tmp_path):
    _, path = saved_network(tmp_path)
    rewrite(path, lambda arrays: arrays.update(weights_0=np.zeros((13, 784))))
    with pytest.raises(ModelFileError, match=r"weights_0 has shape \(13, 784\)"):
        model_file.load(path)


def test_a_missing_layer_is_refused(tmp_path):
    _, path = saved_network(tmp_path)
    rewrite(path, lambda arrays: arrays.pop("biases_1"))
    with pytest.raises(ModelFileError, match="missing biases_1"):
        model_file.load(path)


def test_non_finite_weights_are_refused(tmp_path):
    _, path = saved_network(tmp_path)

    def poison(arrays):
        arrays["weights_1"] = arrays["weights_1"].copy()
        arrays["weights_1"][0, 0] = np.nan
    rewrite(path, poison)
    with pytest.raises(ModelFileError, match="finite"):
        model_file.load(path)


def test_metadata_from_another_program_is_refused(tmp_path):
    _, path = saved_network(tmp_path)
    rewrite(path, lambda arrays: arrays.update(metadata=np.array(json.dumps({"format": "keras"}))))
    with pytest.raises(ModelFileError, match="format 'keras'"):
        model_file.load(path)


def test_a_failed_save_leaves_the_old_file_whole(tmp_path, monkeypatch):
    network, path = saved_network(tmp_path)
    before = path.read_bytes()

    def explode(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(files.os, "fsync", explode)
    # One line for the user, not a traceback; and the old model is still whole.
    with pytest.raises(model_file.DigitsError, match=r"cannot write .*net\.(npz|json): disk full"):
        model_file.save(Network([784, 12, 10], seed=99), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "net.npz"]
    assert zipfile.is_zipfile(path)


def test_saving_into_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(model_file.DigitsError, match="does not exist"):
        model_file.save(Network([784, 3, 10]), tmp_path / "no" / "such" / "net.npz")


def test_saved_files_get_ordinary_permissions(tmp_path):
    import os
    umask = os.umask(0o022)
    try:
        _, path = saved_network(tmp_path)
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


def test_an_unwritable_folder_is_a_clear_error(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(files.os, "open", refuse)
    with pytest.raises(model_file.DigitsError, match=r"cannot write .*net\.(npz|json): Permission denied"):
        model_file.save(Network([784, 3, 10]), tmp_path / "net.npz")


def test_random_bytes_are_not_a_network_file(tmp_path):
    path = tmp_path / "net.npz"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(ModelFileError, match="is not a digits network file \\(not an .npz archive\\)"):
        model_file.load(path)


def test_a_folder_is_not_a_network_file(tmp_path):
    with pytest.raises(ModelFileError, match="is a folder, not a network file"):
        model_file.load(tmp_path)


# -- chapter 6 models, and files that claim more than they hold ---------------------------

def convolutional_network(dtype=np.float32):
    from digits.nn.layers import ConvPool, FullyConnected, Softmax
    return Network([ConvPool((1, 28, 28), 4, activation="relu"),
                    ConvPool((4, 12, 12), 6, activation="relu", pooling="l2"),
                    FullyConnected(6 * 4 * 4, 20, activation="relu", dropout=0.5),
                    Softmax(20, 10, dropout=0.5)], seed=2, dtype=dtype)


def test_a_convolutional_network_loads_back_identical_and_names_its_layers(tmp_path):
    network = convolutional_network()
    path = model_file.save(network, tmp_path / "conv.npz")
    loaded, meta = model_file.load(path)
    assert [layer["type"] for layer in meta["layers"]] == ["conv_pool", "conv_pool",
                                                           "fully_connected", "softmax"]
    assert meta["layers"][1]["pooling"] == "l2" and meta["layers"][2]["dropout"] == 0.5
    assert repr(loaded) == repr(network)
    assert loaded.weights[0].shape == (4, 1, 5, 5)       # network3.py's filter shape
    for a, b in zip(loaded.weights + loaded.biases, network.weights + network.biases):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).random((784, 3))
    np.testing.assert_array_equal(loaded.feedforward(x), network.feedforward(x))
    beside = json.loads((tmp_path / "conv.json").read_text())
    assert beside["layers"] == meta["layers"]


def test_the_readable_json_names_the_archive_it_belongs_to(tmp_path):
    import hashlib
    _, path = saved_network(tmp_path)
    beside = json.loads((tmp_path / "net.json").read_text())
    assert beside["archive_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_programs_saving_the_same_model_leave_a_matching_pair(tmp_path):
    import hashlib
    import threading
    path = tmp_path / "net.npz"

    def save_many(seed):
        for _ in range(15):
            model_file.save(Network([784, 5, 10], seed=seed), path)
    threads = [threading.Thread(target=save_many, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    beside = json.loads((tmp_path / "net.json").read_text())
    assert beside["archive_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "net.npz"]


def test_a_version_1_model_still_loads(tmp_path):
    network = Network([784, 6, 10], cost="cross-entropy", init="default", seed=5)
    meta = {"format": "digits-network", "version": 1, "sizes": [784, 6, 10],
            "cost": "cross-entropy", "activations": ["sigmoid", "sigmoid"], "init": "default",
            "dtype": "float64"}
    arrays = {"metadata": np.array(json.dumps(meta))}
    for i, (w, b) in enumerate(zip(network.weights, network.biases)):
        arrays[f"weights_{i}"], arrays[f"biases_{i}"] = w, b
    path = tmp_path / "old.npz"
    np.savez(path, **arrays)
    loaded, _ = model_file.load(path)
    x = np.random.default_rng(1).random((784, 2))
    np.testing.assert_array_equal(loaded.feedforward(x), network.feedforward(x))


def archive_with(path, members):
    """Write a zip archive of raw ``.npy`` members (name -> bytes), as np.savez would."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name + ".npy", content)


def npy_header(shape, dtype="<f8"):
    """Just the header of an .npy file claiming ``shape``: no data behind it."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False,
                                                  "shape": shape})
    return buffer.getvalue()


def npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_metadata_claiming_a_huge_network_is_refused_before_anything_is_allocated(tmp_path, monkeypatch):
    meta = {"format": "digits-network", "version": 1, "sizes": [784, 2_000_000, 10],
            "cost": "quadratic", "activations": ["sigmoid", "sigmoid"], "dtype": "float64"}
    path = tmp_path / "huge.npz"
    archive_with(path, {"metadata": npy(np.array(json.dumps(meta))),
                        "weights_0": npy_header((2_000_000, 784)), "biases_0": npy_header((2_000_000, 1)),
                        "weights_1": npy_header((10, 2_000_000)), "biases_1": npy_header((10, 1))})
    from digits.nn import layers
    drawn = []
    monkeypatch.setattr(layers.Layer, "initialise_weights", lambda *args: drawn.append(args))
    with pytest.raises(ModelFileError, match="truncated"):
        model_file.load(path)
    assert drawn == []


def test_an_extra_array_is_refused_before_it_is_read(tmp_path, monkeypatch):
    _, path = saved_network(tmp_path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("payload.npy", npy_header((1_000_000_000,)))   # claims 8 GB
    read = []
    original = np.lib.format.read_array
    monkeypatch.setattr(np.lib.format, "read_array",
                        lambda *args, **kwargs: read.append(1) or original(*args, **kwargs))
    with pytest.raises(ModelFileError, match="unexpected arrays: payload"):
        model_file.load(path)
    assert len(read) == 1          # only the small metadata text was read


def test_an_array_whose_header_disagrees_with_the_layers_is_refused_unread(tmp_path):
    network, path = saved_network(tmp_path)
    with np.load(path) as archive:
        members = {name: npy(archive[name]) for name in archive.files}
    members["weights_0"] = npy_header((12, 785))
    archive_with(path, members)
    with pytest.raises(ModelFileError, match=r"weights_0 has shape \(12, 785\)"):
        model_file.load(path)


def test_an_unreadable_model_file_is_one_line(tmp_path, monkeypatch):
    _, path = saved_network(tmp_path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(model_file, "open", refuse, raising=False)
    with pytest.raises(ModelFileError, match="cannot read .*net.npz: Permission denied"):
        model_file.load(path)
