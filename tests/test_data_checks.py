"""MNIST's files are checked against the published checksums before anything uses them,
and each version of a file is hashed once (digits.data.mnist.load_data, check_file)."""

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import digits.system.files
import digits.data.idx
import digits.data.mnist
from digits.data.mnist import (CHECKSUMS, SIZES, STAMP, DamagedDataError, IdxError, MissingDataError,
                          check_file, load_data)

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def zero_a_megabyte(path):
    """Overwrite 1 MB in the middle of ``path`` with zeros, in place, keeping its size."""
    with open(path, "r+b") as file:
        file.seek(20_000_000)
        file.write(bytes(1 << 20))


@pytest.fixture
def count_hashes(monkeypatch):
    """A list that gets the size of every buffer digits.data.mnist hashes with SHA-256."""
    hashed = []
    real_sha256 = hashlib.sha256

    class Counting:
        sha256 = staticmethod(lambda data=b"": hashed.append(len(data)) or real_sha256(data))

    monkeypatch.setattr(digits.data.idx, "hashlib", Counting)
    return hashed


def test_a_file_with_a_megabyte_zeroed_is_refused_with_the_command_that_repairs_it(copy_mnist, tmp_path):
    folder = copy_mnist(tmp_path / "mnist")
    zero_a_megabyte(folder / "train-images-idx3-ubyte")
    with pytest.raises(DamagedDataError) as raised:
        load_data(folder)
    assert str(raised.value) == (
        f"{folder}/train-images-idx3-ubyte is damaged: its SHA-256 is 76aff55316c0c49b..., MNIST's "
        f"train-images-idx3-ubyte has ba891046e6505d7a...; run `python -m digits download "
        f"--data {folder}` to fetch a good copy")


def test_the_repair_command_names_no_folder_for_the_default_one(copy_mnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = copy_mnist(tmp_path / "data" / "mnist")
    zero_a_megabyte(folder / "train-images-idx3-ubyte")
    with pytest.raises(DamagedDataError, match=r"; run `python -m digits download` to fetch a good copy$"):
        load_data("data/mnist")


def test_a_truncated_file_is_refused_with_its_size(copy_mnist, tmp_path):
    folder = copy_mnist(tmp_path / "mnist")
    labels = folder / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:5000])
    with pytest.raises(DamagedDataError, match=r"t10k-labels-idx1-ubyte is damaged: 5,000 bytes "
                                               r"where MNIST's t10k-labels-idx1-ubyte has 10,008; run"):
        load_data(folder)


def test_a_gz_file_is_checked_by_its_decompressed_content(mnist_data_dir, tmp_path):
    for name in SIZES:
        content = (mnist_data_dir / name).read_bytes()
        if name == "train-labels-idx1-ubyte":
            content = content[:-1] + bytes([(content[-1] + 1) % 10])     # one label changed
        (tmp_path / f"{name}.gz").write_bytes(gzip.compress(content, compresslevel=1))
    with pytest.raises(DamagedDataError, match=r"train-labels-idx1-ubyte.gz is damaged: its SHA-256"):
        load_data(tmp_path)


def test_a_gz_file_that_expands_past_mnists_size_is_refused_without_expanding_it_all(
        mnist_data_dir, tmp_path, monkeypatch):
    labels = (mnist_data_dir / "train-labels-idx1-ubyte").read_bytes()
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels + bytes(50 << 20)))
    read = []
    real_frombuffer = digits.data.mnist.np.frombuffer
    monkeypatch.setattr(digits.data.mnist.np, "frombuffer",
                        lambda buffer, **kwargs: read.append(len(buffer)) or real_frombuffer(buffer, **kwargs))
    with pytest.raises(DamagedDataError, match="is damaged: it is longer than the 60,008 bytes of "
                                               "MNIST's train-labels-idx1-ubyte"):
        check_file(tmp_path / "train-labels-idx1-ubyte.gz")
    assert read == [60_009]


def test_each_version_of_a_file_is_hashed_once(copy_mnist, tmp_path, count_hashes):
    folder = copy_mnist(tmp_path / "mnist")
    load_data(folder)
    assert sorted(count_hashes) == sorted(SIZES.values())
    count_hashes.clear()
    load_data(folder)
    assert count_hashes == []
    labels = folder / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes())          # the same bytes, but a new version
    load_data(folder)
    assert count_hashes == [10_008]


def test_the_stamp_records_size_times_and_checksum(copy_mnist, tmp_path):
    folder = copy_mnist(tmp_path / "mnist")
    load_data(folder)
    stamp = json.loads((folder / STAMP).read_text())
    assert sorted(stamp) == sorted(SIZES)
    status = (folder / "train-images-idx3-ubyte").stat()
    assert stamp["train-images-idx3-ubyte"] == [
        status.st_size, status.st_ino, status.st_mtime_ns, status.st_ctime_ns,
        CHECKSUMS["train-images-idx3-ubyte"]]


def test_a_file_damaged_after_it_was_checked_is_refused(copy_mnist, tmp_path):
    folder = copy_mnist(tmp_path / "mnist")
    load_data(folder)
    zero_a_megabyte(folder / "train-images-idx3-ubyte")     # same size, new modification time
    with pytest.raises(DamagedDataError):
        load_data(folder)


def test_files_the_downloader_checked_are_not_hashed_again(mirror_server, tmp_path, count_hashes):
    from digits.data.download import fetch_mnist

    fetch_mnist(tmp_path, [mirror_server.url("good")], progress=False)
    load_data(tmp_path)
    assert count_hashes == []


def test_a_folder_one_may_not_write_in_is_still_checked_each_time(copy_mnist, tmp_path, monkeypatch,
                                                                  count_hashes):
    folder = copy_mnist(tmp_path / "mnist")

    def refuse(path, data):
        raise digits.system.files.DigitsError(f"cannot write {path}: Read-only file system")
    monkeypatch.setattr(digits.system.files, "write_atomically", refuse)
    load_data(folder)
    load_data(folder)
    assert len(count_hashes) == 8
    assert not (folder / STAMP).exists()


def test_a_broken_stamp_is_ignored(copy_mnist, tmp_path):
    folder = copy_mnist(tmp_path / "mnist")
    (folder / STAMP).write_text("{not json")
    training, _, _ = load_data(folder)
    assert len(training) == 50_000
    assert sorted(json.loads((folder / STAMP).read_text())) == sorted(SIZES)


def test_data_that_is_not_mnist_loads_without_the_check(write_idx, tiny_images):
    folder = write_idx("train-images-idx3-ubyte", tiny_images).parent
    write_idx("train-labels-idx1-ubyte", [1, 2, 3])
    write_idx("t10k-images-idx3-ubyte", tiny_images)
    write_idx("t10k-labels-idx1-ubyte", [1, 2, 3])
    with pytest.raises(DamagedDataError):
        load_data(folder)
    with pytest.raises(IdxError, match="needs more than 50,000"):   # past the checks
        load_data(folder, verify=False)


def test_a_data_folder_that_is_a_file_is_one_clear_error(tmp_path):
    (tmp_path / "mnist").write_text("not a folder")
    with pytest.raises(MissingDataError, match=r"mnist is a file, not a folder"):
        load_data(tmp_path / "mnist")


# --- the commands that read MNIST refuse damaged data ----------------------------------

def test_train_refuses_damaged_data_in_one_line(copy_mnist, tmp_path):
    folder = copy_mnist(tmp_path / "mnist")
    zero_a_megabyte(folder / "train-images-idx3-ubyte")
    result = subprocess.run(
        [sys.executable, "-m", "digits", "train", "--data", folder, "--epochs", "1",
         "--sizes", "784", "10", "--quiet", "--model", tmp_path / "net.npz"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr.startswith(f"digits train: error: {folder}/train-images-idx3-ubyte is "
                                    f"damaged: its SHA-256 is")
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert not (tmp_path / "net.npz").exists()


def test_a_chapter_3_script_refuses_damaged_data_in_one_line(copy_mnist, tmp_path):
    folder = copy_mnist(tmp_path / "mnist")
    zero_a_megabyte(folder / "train-images-idx3-ubyte")
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "cross_entropy.py"), "--data", folder, "--epochs", "1"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr.startswith("cross_entropy.py: error: ") and "is damaged" in result.stderr
    assert result.stderr.count("\n") == 1
