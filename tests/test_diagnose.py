"""A stuck network is noticed: ``digits.app.diagnose`` finds a digit the network (almost)
never answers, and ``digits train`` says which, why, and what helps."""

import subprocess
import sys

import numpy as np
import pytest

from digits.nn.dataset import DataSet
from digits.app.diagnose import RarelyAnswered, explain, rarely_answered
from digits.nn.network import Network


@pytest.fixture(scope="module")
def trained(mnist):
    """A [784, 30, 10] network after one epoch (90.35% on the test images)."""
    training, _, _ = mnist
    network = Network([784, 30, 10], seed=0)
    network.SGD(training, 1, 10, 3.0)
    return network


def silenced(network, digit):
    """A copy of ``network`` whose output neuron for ``digit`` is driven to about 0."""
    copy = Network(network.sizes, seed=0)
    copy.weights = [w.copy() for w in network.weights]
    copy.biases = [b.copy() for b in network.biases]
    copy.biases[-1][digit] = -50.0
    return copy


def threshold_network():
    """A [1, 2] network that answers 1 exactly for inputs above 0.5 (sigmoid outputs)."""
    network = Network([1, 2], seed=0)
    network.weights = [np.array([[-10.0], [10.0]])]
    network.biases = [np.array([[5.0], [-5.0]])]
    return network


def images_of_a_one(answered_as_one, count=100):
    """``count`` examples labelled 1, of which ``answered_as_one`` lie above 0.5."""
    inputs = np.where(np.arange(count) < answered_as_one, 0.9, 0.1).reshape(-1, 1)
    return DataSet(inputs, np.ones(count, dtype=np.int64), 2)


def test_a_trained_network_that_answers_every_digit_is_not_reported(trained, mnist):
    assert rarely_answered(trained, mnist[2]) == []


def test_a_silenced_output_neuron_is_reported_with_its_digit_and_counts(trained, mnist):
    test = mnist[2]
    (found,) = rarely_answered(silenced(trained, 5), test)
    assert (found.digit, found.answered, found.present) == (5, 0, int(np.sum(test.labels == 5)))
    assert found.mean_output < 1e-6 and found.saturated


def test_a_digit_answered_for_under_a_tenth_of_its_images_is_reported():
    (found,) = rarely_answered(threshold_network(), images_of_a_one(9))
    assert (found.digit, found.answered, found.present) == (1, 9, 100)


def test_a_digit_answered_for_a_tenth_of_its_images_or_more_is_not():
    assert rarely_answered(threshold_network(), images_of_a_one(10)) == []


def test_a_digit_absent_from_the_data_is_never_reported():
    # Digit 0 is never answered, but there are no images of a 0 either.
    assert rarely_answered(threshold_network(), images_of_a_one(100)) == []


def test_the_books_list_of_pairs_gives_the_same_finding(trained, mnist):
    test = mnist[2][:2000]
    network = silenced(trained, 3)
    assert rarely_answered(network, test.as_pairs(one_hot=False)) == rarely_answered(network, test)


def test_the_explanation_names_the_digit_the_cause_and_the_cures():
    lines = explain([RarelyAnswered(5, 0, 892, 0.0001)], "quadratic")
    assert len(lines) == 3
    assert lines[0].startswith("Warning: the network answered 5 for 0 of the 892 test images of a 5")
    assert "saturated" in lines[1] and "σ'(z)" in lines[1] and "quadratic" in lines[1]
    assert "chapter 3" in lines[1]
    assert lines[2].startswith("What helps (chapter 3): --cost cross-entropy, whose error a - y has "
                               "no σ'(z) to slow it; --init default, whose N(0, 1/n_in) weights")
    assert "3.0 with the quadratic cost, 0.5 with cross-entropy" in lines[2]
    assert "--seed" not in lines[2]


def test_with_the_cross_entropy_cost_the_advice_is_the_initialisation_and_eta():
    lines = explain([RarelyAnswered(2, 1, 1032, 0.001)], "cross-entropy", "validation", eta=0.5)
    assert "validation images" in lines[0]
    assert "--cost" not in lines[2] and "--seed" not in lines[2]
    assert "--init default" in lines[2] and "an eta suited to the cost (this run: 0.5)" in lines[2]


def test_a_network_already_started_with_init_default_is_not_told_to_use_it():
    lines = explain([RarelyAnswered(2, 1, 1032, 0.001)], "quadratic", eta=3.0, init="default")
    assert "--init" not in lines[2]
    assert "--cost cross-entropy" in lines[2] and "(this run: 3)" in lines[2]


def test_an_outvoted_neuron_is_not_called_saturated():
    lines = explain([RarelyAnswered(8, 3, 974, 0.4)], "quadratic")
    assert "saturated" not in lines[1] and "never wins" in lines[1]


def test_nothing_found_means_nothing_said():
    assert explain([], "quadratic") == []


def train(*arguments, tmp_path, data):
    return subprocess.run([sys.executable, "-m", "digits", "train", "--data", str(data), "--quiet",
                           "--model", str(tmp_path / "net.npz"), *map(str, arguments)],
                          capture_output=True, text=True, timeout=300)


def test_train_ends_by_naming_a_digit_it_never_answers(tmp_path, mnist_data_dir):
    # With seed 6, after one epoch the output neuron for 0 is saturated: 0 is never
    # answered (it recovers in the ninth and tenth epochs).
    result = train("--seed", 6, "--epochs", 1, tmp_path=tmp_path, data=mnist_data_dir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-3] == ("Warning: the network answered 0 for 0 of the 980 test images of a 0 "
                         "(its output neuron gives 0.000 on them, on average)")
    assert lines[-2].startswith("Why: that output neuron is saturated")
    assert lines[-1].startswith("What helps (chapter 3): --cost cross-entropy")
    assert "--init default" in lines[-1] and "(this run: 3)" in lines[-1]
    assert "--seed" not in lines[-1]
    assert (tmp_path / "net.npz").exists()


def test_train_says_nothing_more_when_every_digit_is_answered(tmp_path, mnist_data_dir):
    result = train("--seed", 0, "--epochs", 1, tmp_path=tmp_path, data=mnist_data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"Saved the network to {tmp_path / 'net.npz'}"
