"""The chapter-3 scripts in scripts/ run as a reader runs them."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
NAMES = ["cross_entropy", "regularised", "overfitting", "early_stopping"]


def script(name, *args):
    return subprocess.run([sys.executable, str(SCRIPTS / f"{name}.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", NAMES)
def test_every_script_explains_itself_with_help(name):
    result = script(name, "--help")
    assert result.returncode == 0
    assert "Chapter 3" in result.stdout and "(default:" in result.stdout


@pytest.mark.parametrize("name", NAMES)
def test_missing_data_is_one_line_and_status_1(name, tmp_path):
    result = script(name, "--data", tmp_path, "--no-download")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "make data" in result.stderr


def test_cross_entropy_learns_in_one_epoch(mnist_data_dir):
    result = script("cross_entropy", "--data", mnist_data_dir, "--epochs", 1, "--seed", 1)
    assert result.returncode == 0, result.stderr
    assert "Epoch 1: " in result.stdout and " / 10000 (" in result.stdout
    accuracy = float(result.stdout.split("Best test accuracy ")[1].split("%")[0])
    assert accuracy > 90


def test_regularised_run_reports_its_best_epoch(mnist_data_dir):
    result = script("regularised", "--data", mnist_data_dir, "--epochs", 1, "--hidden", 10,
                    "--init", "default", "--seed", 1)
    assert result.returncode == 0, result.stderr
    assert "at epoch 1" in result.stdout


def test_overfitting_draws_the_four_curves(mnist_data_dir, tmp_path):
    plot = tmp_path / "overfitting.png"
    result = script("overfitting", "--data", mnist_data_dir, "--epochs", 20,
                    "--training-size", 300, "--plot", plot, "--seed", 1)
    assert result.returncode == 0, result.stderr
    assert plot.read_bytes().startswith(b"\x89PNG")
    last = [line for line in result.stdout.splitlines() if line.startswith("Epoch 20:")][0]
    for label in ("test cost", "training cost", "training accuracy"):
        assert label in last


def test_early_stopping_stops_by_itself(mnist_data_dir):
    result = script("early_stopping", "--data", mnist_data_dir, "--hidden", 10, "--epochs", 40,
                    "--patience", 1, "--eta", 5.0, "--seed", 3)
    assert result.returncode == 0, result.stderr
    assert "stopped by itself" in result.stdout
    assert "Test accuracy of the kept weights" in result.stdout
    # Every epoch line shows the validation accuracy it watches.
    epochs = [line for line in result.stdout.splitlines() if line.startswith("Epoch ")]
    assert epochs and all(" / 10000 (" in line for line in epochs)


@pytest.mark.parametrize("name, flags, status, fragment", [
    ("early_stopping", ["--patience", 0], 2, "--patience must be at least 1"),
    ("overfitting", ["--training-size", -5], 2, "--training-size must be at least 1"),
    ("overfitting", ["--plot", "/proc/no/such/plot.png"], 1, "cannot draw /proc/no/such/plot.png"),
    ("cross_entropy", ["--seed", -1], 2, "seed must be a whole number of at least 0"),
    ("regularised", ["--eta", "fast"], 2, "invalid float value"),
])
def test_nonsense_is_one_line(name, flags, status, fragment, mnist_data_dir):
    result = script(name, "--data", mnist_data_dir, "--epochs", 1, *flags)
    assert result.returncode == status, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and fragment in result.stderr


@pytest.mark.parametrize("name", NAMES + ["bench", "replicate", "moons", "xor", "redrawn_accuracy"])
def test_help_shows_no_empty_defaults(name):
    # A flag with nothing to default to (None, False) says nothing about it.
    result = script(name, "--help")
    assert result.returncode == 0, result.stderr
    assert "(default: None)" not in result.stdout and "(default: False)" not in result.stdout
