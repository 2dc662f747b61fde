"""Chapter 6 from the command line: ``train --layers``, convolutional models used by
``classify``, several networks voting, and ``evaluate``.

The networks here are small (a few filters, a few seconds of training on real MNIST) so
the suite stays quick; the book's full networks are `make conv` and the replication.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from digits.store import model_file
from digits.nn.layers import ConvPool, FullyConnected, Softmax
from digits.nn.network import Network


def digits(*args):
    return subprocess.run([sys.executable, "-m", "digits", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def assert_one_line_error(result, status, text):
    assert result.returncode == status, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert text in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("spec, message", [
    ("cnv20 softmax", "unknown layer 'cnv20'"),
    ("conv20/7x5 softmax", "filters are square"),
    ("conv20/4x4 softmax", "cannot tile"),
    ("fc100 conv20 softmax", "convolutional layers come first"),
    ("softmax fc10", "softmax is the output layer"),
    ("conv20 fc100 fc9", "must have 10 neurons"),
    ("conv20 fc100/drop2 softmax", "dropout must be a probability"),
    ("conv20/wide softmax", "unknown option 'wide'"),
    ("", "--layers is empty"),
])
def test_a_wrong_layer_description_is_one_line_saying_what_is_wrong(tmp_path, spec, message):
    result = digits("train", "--layers", spec, "--model", tmp_path / "net.npz", "--data", tmp_path)
    assert_one_line_error(result, 2, message)


@pytest.mark.parametrize("flags, message", [
    (["--lmbda", "-1"], "--lmbda must be zero or positive, got -1.0"),
    (["--l1", "nan"], "--l1 must be zero or positive, got nan"),
    (["--momentum", "2"], "--momentum must be in [0, 1), got 2.0"),
    (["--eta", "0"], "--eta must be a positive number, got 0.0"),
    (["--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["--mini-batch-size", "0"], "--mini-batch-size must be at least 1, got 0"),
    (["--early-stopping", "-3"], "--early-stopping must be 0 (off) or a number of epochs"),
    (["--schedule", "halve"], "--schedule halve needs --early-stopping N"),
    (["--seed", "-1"], "--seed"),
])
def test_nonsense_training_settings_are_refused_for_layers_as_for_sizes(tmp_path, flags, message):
    # Refused before any data is looked for (--data names an empty folder).
    for network in (["--layers", "conv20 fc100 softmax"], ["--sizes", "784", "30", "10"]):
        result = digits("train", *network, *flags, "--model", tmp_path / "net.npz",
                        "--data", tmp_path, "--no-download")
        assert_one_line_error(result, 2, message)


def test_sizes_and_layers_together_are_refused(tmp_path):
    result = digits("train", "--layers", "conv20 softmax", "--sizes", 784, 30, 10,
                    "--model", tmp_path / "net.npz")
    assert_one_line_error(result, 2, "not both")


def test_train_layers_reports_validation_and_test_at_the_best_validation_epoch(tmp_path, mnist_data_dir):
    model = tmp_path / "conv.npz"
    result = digits("train", "--layers", "conv4/relu fc20/relu softmax", "--epochs", 2, "--eta", 0.1,
                    "--seed", 3, "--data", mnist_data_dir, "--model", model, "--quiet")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("Epoch ")]
    assert len(lines) == 2
    pattern = (r"Epoch (\d): validation (\d+\.\d\d)% \((\d+) / 10000, [\d.]+ s\); best so far epoch (\d): "
               r"validation (\d+\.\d\d)%, test (\d+\.\d\d)%")
    matches = [re.match(pattern, line) for line in lines]
    assert all(matches), lines
    final = matches[-1]
    assert float(final.group(6)) > 90.0
    summary = next(line for line in result.stdout.splitlines() if line.startswith("Best validation"))
    test_accuracy = re.search(r"test accuracy there (\d+\.\d\d)%", summary).group(1)
    assert test_accuracy == final.group(6)
    meta = json.loads((tmp_path / "conv.json").read_text())
    assert [layer["type"] for layer in meta["layers"]] == ["conv_pool", "fully_connected", "softmax"]
    assert meta["dtype"] == "float32" and meta["hyperparameters"]["layers"] == "conv4/relu fc20/relu softmax"
    # The saved weights are those of the best validation epoch: evaluate measures the same.
    evaluated = digits("evaluate", "--model", model, "--data", mnist_data_dir)
    assert evaluated.returncode == 0, evaluated.stderr
    assert f"({test_accuracy}%)" in evaluated.stdout


def test_train_expand_trains_on_five_times_the_images(tmp_path, mnist_data_dir):
    result = digits("train", "--sizes", 784, 10, 10, "--expand", "--epochs", 1, "--seed", 1,
                    "--data", mnist_data_dir, "--model", tmp_path / "net.npz", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "on 250000 expanded images" in result.stdout


def picture_of(digit_image, path):
    """A 28x28 MNIST image saved as a dark-on-white PNG, five times larger."""
    ink = (255 - digit_image.reshape(28, 28) * 255).astype(np.uint8)
    Image.fromarray(ink).resize((140, 140)).save(path)
    return path


def test_classify_reads_pictures_with_a_convolutional_model(tmp_path, conv_network_file, mnist):
    _, _, test = mnist
    paths = [picture_of(test.inputs[i], tmp_path / f"digit{i}.png") for i in range(5)]
    result = digits("classify", "--model", conv_network_file, "--json", *paths)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [answer["digit"] for answer in answers] == list(test.labels[:5])
    assert all(len(answer["scores"]) == 10 for answer in answers)


def test_classify_with_several_models_shows_each_answer_and_the_vote(tmp_path, conv_network_file,
                                                                       trained_network_file, mnist):
    _, _, test = mnist
    path = picture_of(test.inputs[0], tmp_path / "seven.png")
    result = digits("classify", "--model", conv_network_file, "--model", trained_network_file,
                    "--model", conv_network_file, path)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(rf"{re.escape(str(path))}: 7 \(\d of 3 networks; they read \d \d \d\)\n",
                        result.stdout)
    as_json = digits("classify", "--json", "--model", conv_network_file, "--model", trained_network_file, path)
    answer = json.loads(as_json.stdout)
    assert answer["digit"] == 7 and len(answer["votes"]) == 2 and len(answer["scores"]) == 2


def test_evaluate_reports_each_network_and_the_ensemble(conv_network_file, trained_network_file,
                                                         mnist_data_dir, mnist):
    result = digits("evaluate", "--model", conv_network_file, "--model", trained_network_file,
                    "--model", conv_network_file, "--data", mnist_data_dir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith(f"{conv_network_file}: ") and "test images (" in lines[0]
    assert lines[3].startswith("The 3 networks voting: ")
    network, _ = model_file.load(conv_network_file)
    _, _, test = mnist
    assert f"{network.evaluate(test)} / 10000 test images" in lines[0]


def test_evaluate_refuses_a_broken_model_in_one_line(tmp_path, mnist_data_dir):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really")
    result = digits("evaluate", "--model", broken, "--data", mnist_data_dir)
    assert_one_line_error(result, 1, "not a digits network file")


def train_command(data, model, checkpoint, epochs=2, eta=0.1):
    return [sys.executable, "-u", "-m", "digits", "train", "--layers", "conv4/relu fc20/relu softmax",
            "--epochs", str(epochs), "--eta", str(eta), "--seed", "5", "--data", str(data),
            "--model", str(model), "--checkpoint", str(checkpoint), "--quiet"]


def test_a_run_stopped_with_ctrl_c_goes_on_from_its_checkpoint_to_the_same_network(
        tmp_path, mnist_data_dir, ctrl_c_as_in_a_terminal):
    import signal

    whole = tmp_path / "whole.npz"
    done = subprocess.run(train_command(mnist_data_dir, whole, tmp_path / "whole.ckpt.npz"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "whole.ckpt.npz").exists()       # removed once the model is saved

    model, checkpoint = tmp_path / "resumed.npz", tmp_path / "resumed.ckpt.npz"
    process = subprocess.Popen(train_command(mnist_data_dir, model, checkpoint),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=ctrl_c_as_in_a_terminal)
    for line in process.stdout:
        if line.startswith("Epoch 1:"):
            process.send_signal(signal.SIGINT)
            break
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 130
    assert "the same command goes on from there" in output
    assert checkpoint.exists() and model.exists()       # the stopped run saved, its checkpoint kept

    again = subprocess.run(train_command(mnist_data_dir, model, checkpoint),
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "Going on from" in again.stdout and "1 of 2 epochs done" in again.stdout
    a, _ = model_file.load(whole)
    b, _ = model_file.load(model)
    for x, y in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(x, y)


def test_a_checkpoint_of_other_settings_is_refused_in_one_line(tmp_path, mnist_data_dir):
    from digits.store import checkpoint as checkpoints
    from digits.nn.training import History, TrainingState

    path = tmp_path / "run.ckpt.npz"
    checkpoints.save(path, TrainingState(1, [(np.zeros((2, 2)), np.zeros(2))], None,
                                         {"bit_generator": "PCG64"}, 0.5, History()), {"eta": 9})
    result = subprocess.run(train_command(mnist_data_dir, tmp_path / "net.npz", path),
                            capture_output=True, text=True, timeout=600)
    assert_one_line_error(result, 1, "checkpoint of a run with other settings")
