"""`python -m digits train` as a user runs it: real processes, real files."""

import json
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from digits.store import model_file
from digits.system.errors import UsageError


def digits(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "digits", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def assert_one_line_error(result, status, fragment):
    assert result.returncode == status, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert fragment in lines[0]


@pytest.mark.parametrize("flags, fragment", [
    (["--eta", "0"], "--eta must be a positive number"),
    (["--eta", "-3"], "--eta must be a positive number"),
    (["--mini-batch-size", "0"], "--mini-batch-size must be at least 1"),
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--sizes", "100", "30", "10"], "must start with 784 inputs and end with 10 outputs"),
    (["--sizes", "784", "30", "9"], "must start with 784 inputs and end with 10 outputs"),
    (["--sizes", "784", "0", "10"], "at least one neuron"),
    (["--lmbda", "-1"], "--lmbda must be zero or positive"),
    (["--momentum", "1"], "--momentum must be in [0, 1)"),
    (["--schedule", "halve"], "--schedule halve needs --early-stopping"),
    (["--model", "no/such/folder/net.npz"], "folder no/such/folder does not exist"),
    (["--eta", "fast"], "invalid float value"),
    (["--seed", "-1"], "--seed must be a whole number of at least 0"),
    (["--model", "."], "it is a folder"),
])
def test_nonsense_is_refused_in_one_line_with_status_2(tmp_path, flags, fragment):
    assert_one_line_error(digits("train", *flags, cwd=tmp_path), 2, fragment)


def test_missing_data_says_how_to_download_it(tmp_path):
    (tmp_path / "data").mkdir()
    result = digits("train", "--data", tmp_path / "empty", "--no-download", cwd=tmp_path)
    assert_one_line_error(result, 1, "make data")


def test_a_network_too_large_for_memory_is_one_line(tmp_path, mnist_data_dir):
    result = digits("train", "--data", mnist_data_dir, "--sizes", 784, 10**11, 10, "--quiet",
                    "--model", tmp_path / "net.npz")
    assert_one_line_error(result, 1, "not enough memory")


def test_help_shows_the_books_defaults():
    result = digits("train", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for default in ("(default: 784 30 10)", "(default: 30; 60 with --layers)", "(default: 10)",
                    "(default: 3.0; 0.1 with --layers)", "(default: quadratic;", "(default: large;"):
        assert default in text
    assert "(default: None)" not in text


def test_one_epoch_of_the_books_network_reaches_90_percent_and_is_saved(tmp_path, mnist_data_dir):
    model = tmp_path / "net.npz"
    result = digits("train", "--data", mnist_data_dir, "--model", model, "--epochs", 1,
                    "--seed", 1, "--quiet")
    assert result.returncode == 0, result.stderr
    epoch_lines = [line for line in result.stdout.splitlines() if line.startswith("Epoch ")]
    assert len(epoch_lines) == 1
    correct = int(epoch_lines[0].split()[2])
    assert epoch_lines[0].startswith("Epoch 1: ") and " / 10000 (" in epoch_lines[0]
    assert correct >= 9000
    network, meta = model_file.load(model)
    assert meta["sizes"] == [784, 30, 10] and meta["hyperparameters"]["eta"] == 3.0
    assert meta["final_accuracy"] == correct / 10000
    assert set(meta["data_sha256"]) == {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}
    history = json.loads((tmp_path / "net.json").read_text())["history"]
    assert history["evaluation_accuracy"] == [correct]


def test_monitoring_prints_four_figures_and_draws_the_plot(tmp_path, mnist_data_dir):
    plot = tmp_path / "curves.png"
    result = digits("train", "--data", mnist_data_dir, "--model", tmp_path / "net.npz",
                    "--sizes", 784, 10, "--epochs", 2, "--cost", "cross-entropy", "--eta", 0.5,
                    "--init", "default", "--lmbda", 5.0, "--monitor", "--validation",
                    "--plot", plot, "--quiet")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("Epoch ")]
    assert len(lines) == 2
    for label in ("validation cost", "training cost", "training accuracy"):
        assert label in lines[-1]
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert "Test accuracy of the final weights" in result.stdout
    meta = json.loads((tmp_path / "net.json").read_text())
    assert meta["evaluated_on"] == "validation" and 0.8 < meta["test_accuracy"] <= 1
    assert meta["cost"] == "cross-entropy" and meta["hyperparameters"]["lmbda"] == 5.0
    assert len(meta["history"]["training_cost"]) == 2


def test_early_stopping_reports_the_epoch_it_kept(tmp_path, mnist_data_dir):
    result = digits("train", "--data", mnist_data_dir, "--model", tmp_path / "net.npz",
                    "--sizes", 784, 10, "--epochs", 3, "--early-stopping", 1, "--eta", 100.0,
                    "--seed", 2, "--quiet")
    assert result.returncode == 0, result.stderr
    assert "kept the weights of epoch" in result.stdout
    meta = json.loads((tmp_path / "net.json").read_text())
    validation = meta["history"]["validation_accuracy"]
    best = meta["early_stopping_best_epoch"]
    # No-improvement-in-one: it keeps the first best epoch and stops one epoch after it
    # (or runs all three epochs when each one improves).
    assert best == validation.index(max(validation)) + 1
    assert meta["epochs_run"] == len(validation) == (3 if best == 3 else best + 1)
    # The saved weights are the kept epoch's: they score its validation accuracy again.
    from digits.data.mnist import load_data
    network, _ = model_file.load(tmp_path / "net.npz")
    assert network.evaluate(load_data(mnist_data_dir)[1]) == validation[best - 1]


def start_training(model, data_dir, preexec_fn, *flags):
    """``digits train`` in a process of its own, once it has printed its first line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "digits", "train", "--data", str(data_dir), "--model", str(model),
         "--quiet", *map(str, flags)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=preexec_fn)
    assert process.stdout.readline().startswith("Training")
    return process


def test_ctrl_c_stops_after_the_mini_batch_and_saves_the_network(tmp_path, mnist_data_dir,
                                                                  ctrl_c_as_in_a_terminal, mnist):
    model = tmp_path / "net.npz"
    model.write_bytes(b"the old model")
    process = start_training(model, mnist_data_dir, ctrl_c_as_in_a_terminal, "--epochs", 30)
    try:
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "Ctrl-C: stopping after this mini-batch" in stderr and "Traceback" not in stderr
    stopped = re.search(r"Stopped by Ctrl-C in epoch (\d+); saving the weights as they were when it "
                        r"stopped", stdout)
    assert stopped and f"Saved the network to {model}" in stdout
    assert int(stopped.group(1)) < 30
    network, _ = model_file.load(model)
    assert network.accuracy(mnist[2][:1000]) > 0.5
    assert json.loads(model.with_suffix(".json").read_text())["epochs_run"] == int(stopped.group(1))


def test_ctrl_c_in_a_chapter_6_run_saves_the_best_validation_epoch(tmp_path, mnist_data_dir,
                                                                   ctrl_c_as_in_a_terminal):
    model = tmp_path / "net.npz"
    process = start_training(model, mnist_data_dir, ctrl_c_as_in_a_terminal, "--layers", "conv4 softmax",
                             "--epochs", 5)
    try:
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "saving the weights of epoch 1, the best validation epoch" in stdout
    assert "Epoch 1: validation" in stdout and f"Saved the network to {model}" in stdout
    model_file.load(model)


def test_a_second_ctrl_c_stops_at_once_and_saves_nothing(tmp_path, mnist_data_dir, ctrl_c_as_in_a_terminal):
    model = tmp_path / "net.npz"
    model.write_bytes(b"the old model")
    # A convolutional network: after the first Ctrl-C it measures 20,000 images, for
    # seconds, and the second one comes in while it does.
    process = start_training(model, mnist_data_dir, ctrl_c_as_in_a_terminal, "--layers", "conv20 softmax",
                             "--epochs", 5)
    try:
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "nothing was saved" in stdout and "Traceback" not in stderr
    assert model.read_bytes() == b"the old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.npz"]


def test_an_unwritable_model_folder_is_refused_before_training(tmp_path, monkeypatch):
    import argparse
    import os

    from digits.app.commands import train

    parser = argparse.ArgumentParser()
    train.configure(parser)
    args = parser.parse_args(["--model", str(tmp_path / "net.npz")])
    monkeypatch.setattr(os, "access", lambda path, mode: False)    # as for a user, not root
    with pytest.raises(UsageError, match="is not writable"):
        train.check_arguments(args)


def test_a_failed_save_keeps_the_trained_network_elsewhere_and_says_where(tmp_path, monkeypatch):
    from digits.store import model_file
    from digits.app.commands import train
    from digits.system.errors import DigitsError
    from digits.nn.network import Network

    real_save = model_file.save
    wanted = tmp_path / "net.npz"

    def full_disk(network, path, *args, **kwargs):
        if path == wanted:
            raise DigitsError(f"cannot write {path}: No space left on device")
        return real_save(network, path, *args, **kwargs)
    monkeypatch.setattr(model_file, "save", full_disk)
    monkeypatch.setattr(train.tempfile, "gettempdir", lambda: str(tmp_path))
    network = Network([784, 5, 10], seed=1)
    with pytest.raises(DigitsError, match="the trained network was kept at .*digits-network-") as error:
        train.save_or_keep(network, wanted, {}, None)
    kept = str(error.value).split("kept at ")[1].split(" instead")[0]
    loaded, _ = model_file.load(kept)
    np.testing.assert_array_equal(loaded.weights[0], network.weights[0])


def test_in_a_fresh_folder_train_makes_data_and_saves_there(tmp_path, mnist_data_dir):
    result = subprocess.run([sys.executable, "-m", "digits", "train", "--epochs", "1", "--quiet",
                             "--sizes", "784", "10", "10", "--seed", "1", "--data", str(mnist_data_dir)],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "network.npz").is_file()
    meta = json.loads((tmp_path / "data" / "network.json").read_text())
    assert meta["data_sha256"]["train-images-idx3-ubyte"].startswith("ba891046")


@pytest.mark.parametrize("flags", [
    ["--lmbda", "1e300"],
    ["--layers", "fc30 softmax", "--eta", "1e300", "--dtype", "float64"],
])
def test_a_run_that_diverges_says_when_and_why_and_keeps_the_good_model(tmp_path, mnist_data_dir,
                                                                        trained_network_file, flags):
    model = tmp_path / "net.npz"
    model.write_bytes(trained_network_file.read_bytes())
    model.with_suffix(".json").write_bytes(trained_network_file.with_suffix(".json").read_bytes())
    before = model.read_bytes(), model.with_suffix(".json").read_bytes()
    result = digits("train", "--data", mnist_data_dir, "--model", model, "--epochs", 2, "--quiet",
                    *flags, cwd=tmp_path)
    assert_one_line_error(result, 1, "training diverged in epoch 1")
    message = result.stderr
    assert "too large" in message and "lmbda" in message and "eta 3.0" in message
    assert "--seed" not in message
    assert (model.read_bytes(), model.with_suffix(".json").read_bytes()) == before
    model_file.load(model)


def test_an_accuracy_that_does_not_move_gets_the_books_advice(tmp_path, mnist_data_dir):
    result = digits("train", "--data", mnist_data_dir, "--model", tmp_path / "net.npz", "--quiet",
                    "--sizes", 784, 10, "--eta", "1e-7", "--epochs", 7, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    notes = [i for i, line in enumerate(lines) if line.startswith("Note: the accuracy has stayed")]
    assert len(notes) == 1 and lines[notes[0] - 1].startswith("Epoch 6:")
    advice = " ".join(lines[notes[0]:notes[0] + 3])
    assert "saturated" in advice and "--cost cross-entropy" in advice and "eta = 1e-07" in advice


def test_a_run_that_learns_says_nothing_of_stalling(tmp_path, mnist_data_dir):
    result = digits("train", "--data", mnist_data_dir, "--model", tmp_path / "net.npz", "--quiet",
                    "--epochs", 7, "--seed", 1, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Note:" not in result.stdout
