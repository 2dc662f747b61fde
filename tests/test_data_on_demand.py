"""MNIST is downloaded by whatever needs it (``train``, the scripts) when ``--data`` holds
none, saying so in one line; ``--no-download`` turns that off.

The mirror is the real local HTTP server of conftest.py, named in DIGITS_MNIST_MIRROR
(the first mirror tried), as a user would point the downloader at a mirror of their own.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import digits.data.download
from digits.data.download import HOW_TO_MIRROR, MIRROR_ENV
from digits.data.mnist import SIZES, MissingDataError, load_data

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.fixture
def only_the_local_mirror(monkeypatch, mirror_server):
    """The good local mirror first (through the environment, as for a child process),
    and no public mirror after it in this process."""
    monkeypatch.setenv(MIRROR_ENV, mirror_server.url("good"))
    monkeypatch.setattr(digits.data.download, "DEFAULT_MIRRORS", [])
    return mirror_server


def assert_all_four_files(folder):
    assert all((folder / name).is_file() for name in SIZES)


# --- the library: load_data(download=True) ---------------------------------------------

def test_load_data_downloads_what_is_missing_and_says_so_once(only_the_local_mirror, tmp_path):
    notes = []
    training, validation, test = load_data(tmp_path / "mnist", download=True, progress=False,
                                           notify=notes.append)
    assert [len(training), len(validation), len(test)] == [50_000, 10_000, 10_000]
    assert notes == [f"MNIST is not in {tmp_path / 'mnist'}: downloading it (about 12 MB, once)"]
    assert only_the_local_mirror.count("good") == 4
    assert_all_four_files(tmp_path / "mnist")


def test_load_data_fetches_only_the_missing_files(only_the_local_mirror, copy_mnist, tmp_path):
    folder = copy_mnist(tmp_path / "mnist")
    (folder / "t10k-labels-idx1-ubyte").unlink()
    notes = []
    load_data(folder, download=True, progress=False, notify=notes.append)
    assert only_the_local_mirror.requests == [("good", "t10k-labels-idx1-ubyte.gz")]
    assert notes == [f"MNIST is incomplete in {folder}: downloading t10k-labels-idx1-ubyte"]


def test_load_data_with_all_files_present_asks_no_mirror(only_the_local_mirror, copy_mnist, tmp_path):
    notes = []
    load_data(copy_mnist(tmp_path / "mnist"), download=True, notify=notes.append)
    assert only_the_local_mirror.count() == 0 and notes == []


def test_load_data_without_download_asks_no_mirror(only_the_local_mirror, tmp_path):
    with pytest.raises(MissingDataError, match="MNIST not found"):
        load_data(tmp_path / "mnist")
    assert only_the_local_mirror.count() == 0


# --- the commands ------------------------------------------------------------------------

def run(command, mirror_url, cwd):
    environment = {**os.environ, MIRROR_ENV: mirror_url}
    return subprocess.run([sys.executable, *map(str, command)], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=environment)


def test_train_downloads_mnist_when_its_data_folder_holds_none(mirror_server, tmp_path):
    (tmp_path / "data").mkdir()                     # as in a fresh clone
    result = run(["-m", "digits", "train", "--epochs", "1", "--sizes", "784", "10", "--quiet"],
                 mirror_server.url("good"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "MNIST is not in data/mnist: downloading it (about 12 MB, once)\n"
    assert "Epoch 1: " in result.stdout
    assert_all_four_files(tmp_path / "data" / "mnist")
    assert (tmp_path / "data" / "network.npz").is_file()


def test_train_with_no_download_stops_in_one_line_and_asks_no_mirror(mirror_server, tmp_path):
    (tmp_path / "data").mkdir()
    result = run(["-m", "digits", "train", "--no-download"], mirror_server.url("good"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        "digits train: error: MNIST not found: no train-images-idx3-ubyte (or "
        "train-images-idx3-ubyte.gz) in data/mnist; run `make data` (or `python -m digits "
        "download`) first\n")
    assert mirror_server.count() == 0


def test_train_help_shows_the_flag_that_turns_downloading_off():
    result = subprocess.run([sys.executable, "-m", "digits", "train", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert "--no-download" in result.stdout and "no network access" in result.stdout


@pytest.mark.parametrize("name, flags", [
    ("cross_entropy", ["--epochs", "1", "--hidden", "10"]),
    ("regularised", ["--epochs", "1", "--hidden", "10"]),
    ("overfitting", ["--epochs", "1", "--training-size", "100", "--plot", "curves.png"]),
    ("early_stopping", ["--epochs", "1", "--hidden", "10"]),
])
def test_each_chapter_3_script_downloads_mnist_when_needed(mirror_server, tmp_path, name, flags):
    folder = tmp_path / "fresh"
    result = run([SCRIPTS / f"{name}.py", "--data", folder, *flags], mirror_server.url("good"),
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"MNIST is not in {folder}: downloading it (about 12 MB, once)\n"
    assert_all_four_files(folder)


@pytest.mark.parametrize("name", ["cross_entropy", "regularised", "overfitting", "early_stopping"])
def test_each_chapter_3_script_takes_no_download(mirror_server, tmp_path, name):
    result = run([SCRIPTS / f"{name}.py", "--data", tmp_path / "fresh", "--no-download"],
                 mirror_server.url("good"), cwd=tmp_path)
    assert result.returncode == 1 and "MNIST not found" in result.stderr
    assert mirror_server.count() == 0


def test_a_download_that_fails_says_what_each_mirror_did(only_the_local_mirror, tmp_path,
                                                        monkeypatch, capsys):
    from digits.app import cli

    monkeypatch.setenv(MIRROR_ENV, only_the_local_mirror.url("missing"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    assert cli.main(["train", "--quiet"]) == 1
    missing = only_the_local_mirror.url("missing")
    assert capsys.readouterr().err == (
        "MNIST is not in data/mnist: downloading it (about 12 MB, once)\n"
        f"digits train: error: could not fetch train-images-idx3-ubyte.gz from any mirror: "
        f"{missing}: HTTP 404 Not Found. {HOW_TO_MIRROR}\n")


def test_replicate_downloads_mnist_when_needed(mirror_server, tmp_path):
    folder = tmp_path / "fresh"
    result = run([SCRIPTS / "replicate.py", "--quick", "--quiet", "--jobs", "1", "--only", "ch1-30",
                  "--data", folder, "--results", tmp_path / "results",
                  "--report", tmp_path / "REPLICATION.md", "--figures", tmp_path / "figures"],
                 mirror_server.url("good"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"MNIST is not in {folder}: downloading it (about 12 MB, once)\n")
    assert_all_four_files(folder)
    assert (tmp_path / "results" / "ch1-30.json").is_file()


def test_redrawn_accuracy_downloads_mnist_when_needed(mirror_server, trained_network_file, tmp_path):
    folder = tmp_path / "fresh"
    result = run([SCRIPTS / "redrawn_accuracy.py", "--model", trained_network_file, "--data", folder,
                  "--count", "10"], mirror_server.url("good"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"MNIST is not in {folder}: downloading it (about 12 MB, once)\n")
    assert_all_four_files(folder)


@pytest.mark.parametrize("script, flags", [
    ("replicate.py", ["--quick", "--quiet", "--only", "ch1-30"]),
    ("redrawn_accuracy.py", ["--count", "10"]),
])
def test_the_other_scripts_take_no_download(mirror_server, trained_network_file, tmp_path, script, flags):
    if script == "redrawn_accuracy.py":
        flags = [*flags, "--model", trained_network_file]
    else:
        flags = [*flags, "--results", tmp_path / "results", "--report", tmp_path / "R.md"]
    result = run([SCRIPTS / script, "--data", tmp_path / "fresh", "--no-download", *flags],
                 mirror_server.url("good"), cwd=tmp_path)
    assert result.returncode == 1 and "MNIST not found" in result.stderr
    assert mirror_server.count() == 0
