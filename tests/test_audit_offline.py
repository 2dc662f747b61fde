"""A fresh clone without internet: ``make`` finds the copy of MNIST beside the repository,
a failed download says how to name a copy, and a folder or file:// URL serves as one."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from digits.data.download import MIRROR_ENV, DownloadError, fetch_mnist

REPO = Path(__file__).resolve().parent.parent


def make_says(tmp_path, with_copy: bool, environment=None) -> str:
    """What ``make data`` in a clone at tmp_path/clone hands the downloader as its mirror,
    with or without ../shared/data/mnist beside the clone."""
    clone = tmp_path / "clone"
    clone.mkdir()
    shutil.copy(REPO / "Makefile", clone / "Makefile")
    if with_copy:
        (tmp_path / "shared" / "data" / "mnist").mkdir(parents=True)
    python = tmp_path / "python"          # stands in for the venv's: prints the mirror it gets
    python.write_text(f'#!/bin/sh\necho "mirror=${{{MIRROR_ENV}:-}}"\n')
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    env = {key: value for key, value in os.environ.items() if key != MIRROR_ENV}
    env.update(environment or {})
    result = subprocess.run(["make", "-s", "data", f"PY={python}", "STAMP="], cwd=clone, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_downloads_from_the_copy_beside_the_clone(tmp_path):
    assert make_says(tmp_path, with_copy=True) == f"mirror={tmp_path / 'shared' / 'data' / 'mnist'}"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_without_a_copy_beside_it_names_no_mirror(tmp_path):
    assert make_says(tmp_path, with_copy=False) == "mirror="


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_a_mirror_of_ones_own_comes_before_the_copy(tmp_path):
    said = make_says(tmp_path, with_copy=True, environment={MIRROR_ENV: "https://example.org/m/"})
    assert said == "mirror=https://example.org/m/"


def test_a_failed_download_says_how_to_name_a_copy(tmp_path):
    with pytest.raises(DownloadError) as failed:
        fetch_mnist(tmp_path / "mnist", [str(tmp_path / "no-copy-here")], progress=False)
    message = str(failed.value)
    assert "--mirror" in message and MIRROR_ENV in message and "file://" in message
    assert "\n" not in message


@pytest.mark.parametrize("spelling", ["folder", "file URL"])
def test_a_local_copy_serves_as_the_mirror(tmp_path, shared_mnist_dir, spelling):
    mirror = str(shared_mnist_dir) if spelling == "folder" else shared_mnist_dir.as_uri()
    folder = fetch_mnist(tmp_path / "mnist", [mirror], progress=False)
    assert sorted(path.name for path in folder.iterdir() if not path.name.startswith(".")) == [
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte"]
