"""``digits classify``: reading digits from picture files with a trained network.

A small network is trained once per session on the real MNIST training data (two
epochs of the book's [784, 30, 10] network, a few seconds, about 92% accurate) and
saved with the library, as ``make train`` would.  The command line is run as users
run it, ``python -m digits classify``, on real files.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from digits.store import model_file
from digits.app.commands.classify import reading_line
from digits.nn.ensemble import shares
from digits.nn.network import Network
from digits.app.prepare import prepare


@pytest.fixture(scope="session")
def network_file(trained_network_file):
    return trained_network_file


@pytest.fixture(scope="session")
def network(trained_network):
    return trained_network


def as_drawn(digit, scale, rng):
    """An MNIST digit (28x28, ink 1) as a person would draw it: a grey Pillow image.

    Enlarged ``scale`` times, inverted to dark ink on a white page, and moved to a
    random spot on a page half as large again.
    """
    side = int(28 * scale)
    enlarged = Image.fromarray(np.round(255 * digit).astype(np.uint8)).resize(
        (side, side), Image.Resampling.BICUBIC)
    page = Image.new("L", (side * 3 // 2, side * 3 // 2), 0)
    page.paste(enlarged, (int(rng.integers(0, side // 2)), int(rng.integers(0, side // 2))))
    return Image.eval(page, lambda value: 255 - value)


def classify(*args):
    return subprocess.run([sys.executable, "-m", "digits", "classify", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def drawn_files(tmp_path, mnist, network):
    """Three test digits the network reads correctly, drawn and saved as PNG, JPEG, BMP."""
    _, _, test = mnist
    outputs = network.feedforward(test.inputs[:100].T)
    right = np.flatnonzero(outputs.argmax(axis=0) == test.labels[:100])[:3]
    rng = np.random.default_rng(1)
    files = []
    for index, suffix in zip(right, ("png", "jpg", "bmp")):
        path = tmp_path / f"digit-{index}.{suffix}"
        as_drawn(test.inputs[index].reshape(28, 28), 8, rng).save(path)
        files.append((path, int(test.labels[index])))
    return files


def test_redrawn_mnist_digits_are_read_about_as_often_as_the_originals(mnist, network):
    _, _, test = mnist
    count = 500
    digits, labels = test.inputs[:count], test.labels[:count]
    rng = np.random.default_rng(0)
    pictures = [as_drawn(digit.reshape(28, 28), rng.uniform(4, 12), rng) for digit in digits]
    prepared = np.stack([prepare(picture).reshape(-1) for picture in pictures], axis=1)
    original = np.mean(network.feedforward(digits.T).argmax(axis=0) == labels)
    redrawn = np.mean(network.feedforward(prepared).argmax(axis=0) == labels)
    assert redrawn >= original - 0.03, f"redrawn {redrawn:.1%}, original {original:.1%}"


def test_prints_the_digit_its_confidence_and_the_next_two(drawn_files, network_file):
    (path, label), *_ = drawn_files
    result = classify("--model", network_file, path)
    assert result.returncode == 0, result.stderr
    line, = result.stdout.splitlines()
    assert line.startswith(f"{path}: {label} (confidence ")
    assert line.count("%") == 3


def test_reads_every_picture_in_the_order_given(drawn_files, network_file):
    result = classify("--model", network_file, *(path for path, _ in drawn_files))
    assert result.returncode == 0, result.stderr
    read = [line.split(": ")[1].split(" ")[0] for line in result.stdout.splitlines()]
    assert read == [str(label) for _, label in drawn_files]


def test_json_gives_one_object_per_picture_with_ten_scores(drawn_files, network_file, network):
    result = classify("--json", "--model", network_file, *(path for path, _ in drawn_files))
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [answer["file"] for answer in answers] == [str(path) for path, _ in drawn_files]
    assert [answer["digit"] for answer in answers] == [label for _, label in drawn_files]
    path, _ = drawn_files[0]
    expected = network.feedforward(prepare(Image.open(path)).reshape(784, 1))[:, 0]
    assert answers[0]["scores"] == pytest.approx(expected.tolist(), abs=1e-5)


def test_each_bad_file_gets_one_line_and_the_others_are_still_read(drawn_files, network_file,
                                                                   tmp_path):
    (good, label), *_ = drawn_files
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture")
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    missing = tmp_path / "missing.png"
    result = classify("--model", network_file, empty, good, text, blank, missing)
    assert result.returncode == 1
    read, = result.stdout.splitlines()
    assert read.startswith(f"{good}: {label} ")
    errors = result.stderr.splitlines()
    assert len(errors) == 4
    for path, reason in ((empty, "empty"), (text, "not a picture"), (blank, "no ink"),
                         (missing, "no such file")):
        assert any(str(path) in error and reason in error for error in errors), (path, errors)
    assert "Traceback" not in result.stderr


def test_json_keeps_a_line_for_a_picture_it_could_not_read(drawn_files, network_file, tmp_path):
    (first, label), (second, _), *_ = drawn_files
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    result = classify("--json", "--model", network_file, first, empty, second)
    assert result.returncode == 1
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [answer["file"] for answer in answers] == [str(first), str(empty), str(second)]
    assert answers[0]["digit"] == label and "error" not in answers[0]
    assert "empty" in answers[1]["error"] and "digit" not in answers[1]
    assert len(result.stderr.splitlines()) == 1 and str(empty) in result.stderr


def test_preview_writes_a_png_with_a_row_per_picture(drawn_files, network_file, tmp_path):
    one, two = tmp_path / "one.png", tmp_path / "two.png"
    assert classify("--model", network_file, "--preview", one, drawn_files[0][0]).returncode == 0
    assert classify("--model", network_file, "--preview", two,
                    *(path for path, _ in drawn_files[:2])).returncode == 0
    with Image.open(one) as first, Image.open(two) as second:
        assert first.format == second.format == "PNG"
        assert first.width > 2 * first.height            # picture, 28x28, bar chart side by side
        assert second.height > 1.8 * first.height        # one row per picture


def test_preview_into_a_missing_folder_is_refused_up_front(drawn_files, network_file, tmp_path):
    result = classify("--model", network_file, "--preview", tmp_path / "no" / "p.png",
                      drawn_files[0][0])
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "does not exist" in result.stderr


def test_without_a_trained_network_it_says_how_to_train_one(drawn_files, tmp_path):
    result = classify("--model", tmp_path / "network.npz", drawn_files[0][0])
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    # `make train` saves data/network.npz, not this model: the command that makes it is said
    assert f"python -m digits train --model {tmp_path / 'network.npz'}" in result.stderr


def test_a_network_of_the_wrong_shape_is_refused(drawn_files, tmp_path):
    path = tmp_path / "tiny.npz"
    model_file.save(Network([2, 3, 1]), path)
    result = classify("--model", path, drawn_files[0][0])
    assert result.returncode == 1
    assert "784 inputs and 10 outputs" in result.stderr


def test_help_explains_what_confidence_means():
    result = subprocess.run([sys.executable, "-m", "digits", "classify", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert "do not add up to 1" in " ".join(result.stdout.split())


def test_confidence_is_a_digits_share_of_the_ten_outputs():
    outputs = np.array([0.0, 0.6, 0.0, 0.2, 0.0, 0.0, 0.0, 0.2, 0.0, 0.0])
    assert shares(outputs.reshape(-1, 1))[:, 0] == pytest.approx(outputs / 1.0)
    assert reading_line("x.png", outputs * 0.5) == "x.png: 1 (confidence 60%; then 3 20%, 7 20%)"
