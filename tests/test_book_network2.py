"""Chapter 3 as the book types it: ``network2`` sessions (the cross-entropy cost, L2
regularisation, the monitoring flags, the weight initialisers, early stopping), with
only the import line changed and fewer images and epochs."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def book_data(mnist_data_dir, monkeypatch):
    monkeypatch.setenv("DIGITS_DATA", str(mnist_data_dir))
    np.random.seed(3)


def epochs_of(out):
    """The printed lines cut into epochs: each block from 'Epoch N training complete' to its blank line."""
    blocks = out.split("\n\n")
    assert blocks[-1] == ""
    return [block.splitlines() for block in blocks[:-1]]


def test_cross_entropy_session_prints_the_evaluation_accuracy(book_data, capsys):
    from digits.book import mnist_loader
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    from digits.book import network2
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    net.large_weight_initializer()
    training_data, test_data = training_data[:2000], test_data[:1000]
    result = net.SGD(training_data, 2, 10, 0.5, evaluation_data=test_data,
                     monitor_evaluation_accuracy=True)
    evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = result
    assert evaluation_cost == training_cost == training_accuracy == []
    assert epochs_of(capsys.readouterr().out) == [
        [f"Epoch {j} training complete", f"Accuracy on evaluation data: {evaluation_accuracy[j]} / 1000"]
        for j in range(2)]
    assert evaluation_accuracy[-1] > 500 and net.accuracy(test_data) == evaluation_accuracy[-1]


def test_overfitting_and_l2_sessions_monitor_all_four(book_data, capsys):
    from digits.book import mnist_loader, network2
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    net.large_weight_initializer()
    test_data = test_data[:500]
    evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = net.SGD(
        training_data[:1000], 3, 10, 0.5, evaluation_data=test_data, lmbda=0.1,
        monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
        monitor_training_cost=True, monitor_training_accuracy=True)
    assert [len(x) for x in (evaluation_cost, evaluation_accuracy, training_cost, training_accuracy)] == [3] * 4
    assert epochs_of(capsys.readouterr().out) == [
        [f"Epoch {j} training complete",
         f"Cost on training data: {training_cost[j]}",
         f"Accuracy on training data: {training_accuracy[j]} / 1000",
         f"Cost on evaluation data: {evaluation_cost[j]}",
         f"Accuracy on evaluation data: {evaluation_accuracy[j]} / 500"] for j in range(3)]
    assert training_cost[-1] < training_cost[0]            # it learns the 1,000 images
    # The L2 term of the monitored training cost has n = 1,000: the book's total_cost.
    assert net.total_cost(training_data[:1000], 0.1) == pytest.approx(training_cost[-1], rel=1e-12)
    assert net.accuracy(training_data[:1000], convert=True) == training_accuracy[-1]


def test_the_monitored_evaluation_cost_scales_l2_by_the_training_sets_size(book_data, capsys):
    from digits.book import mnist_loader, network2
    training_data, _, test_data = mnist_loader.load_data_wrapper()
    net = network2.Network([784, 20, 10], cost=network2.CrossEntropyCost)
    evaluation_cost, *_ = net.SGD(training_data[:400], 1, 10, 0.5, lmbda=5.0,
                                  evaluation_data=test_data[:100], monitor_evaluation_cost=True)
    squares = sum(float(np.sum(w ** 2)) for w in net.weights)
    unregularised = net.total_cost(test_data[:100], 0.0, convert=True)
    assert evaluation_cost[0] == pytest.approx(unregularised + 0.5 * 5.0 / 400 * squares, rel=1e-12)
    assert net.total_cost(test_data[:100], 5.0, convert=True) == pytest.approx(
        unregularised + 0.5 * 5.0 / 100 * squares, rel=1e-12)   # called directly: the book's n


def test_the_two_initialisations(book_data):
    from digits.book import network2
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    assert np.std(net.weights[0]) == pytest.approx(1 / np.sqrt(784), rel=0.05)   # N(0, 1/n_in)
    assert np.std(net.biases[0]) == pytest.approx(1.0, rel=0.4)
    net.large_weight_initializer()
    assert np.std(net.weights[0]) == pytest.approx(1.0, rel=0.05)                # N(0, 1)
    net.default_weight_initializer()
    assert np.std(net.weights[0]) == pytest.approx(1 / np.sqrt(784), rel=0.05)


def test_default_initialisation_session_learns_faster_than_large(book_data, capsys):
    from digits.book import mnist_loader, network2
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    training_data, validation_data = training_data[:1000], validation_data[:500]
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    _, default, _, _ = net.SGD(training_data, 1, 10, 0.1, lmbda=5.0, evaluation_data=validation_data,
                               monitor_evaluation_accuracy=True)
    net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    net.large_weight_initializer()
    _, large, _, _ = net.SGD(training_data, 1, 10, 0.1, lmbda=5.0, evaluation_data=validation_data,
                             monitor_evaluation_accuracy=True)
    assert default[0] > large[0]


def test_quadratic_cost_network(book_data, capsys):
    from digits.book import mnist_loader, network2
    training_data, _, test_data = mnist_loader.load_data_wrapper()
    net = network2.Network([784, 30, 10], cost=network2.QuadraticCost)
    net.SGD(training_data[:1000], 1, 10, 3.0, evaluation_data=test_data[:200],
            monitor_evaluation_accuracy=True)
    assert net.cost is network2.QuadraticCost
    a, y = np.array([[0.8], [0.1]]), np.array([[1.0], [0.0]])
    assert network2.QuadraticCost.fn(a, y) == pytest.approx(0.5 * (0.04 + 0.01))
    z = np.array([[0.3], [-0.2]])
    a = network2.sigmoid(z)                                    # the outputs of z
    np.testing.assert_allclose(network2.QuadraticCost.delta(z, a, y),
                               (a - y) * network2.sigmoid_prime(z))
    np.testing.assert_allclose(network2.CrossEntropyCost.delta(z, a, y), a - y)
    assert network2.CrossEntropyCost.fn(a, y) == pytest.approx(-np.log(a[0, 0]) - np.log(1 - a[1, 0]))


def test_early_stopping_stops_after_n_epochs_without_improvement(book_data, capsys):
    from digits.book import mnist_loader, network2
    training_data, validation_data, _ = mnist_loader.load_data_wrapper()
    net = network2.Network([784, 30, 10])
    _, accuracy, _, _ = net.SGD(training_data[:300], 40, 10, 0.5, evaluation_data=validation_data[:200],
                                monitor_evaluation_accuracy=True, early_stopping_n=2)
    assert len(accuracy) < 40
    best = max(accuracy)
    assert accuracy[-2:] and all(a <= best for a in accuracy[-2:]) and accuracy.index(best) == len(accuracy) - 3
    assert net.accuracy(validation_data[:200]) == best        # it keeps the best epoch's weights


def test_save_and_load_give_the_same_network(book_data, tmp_path, capsys):
    from digits.book import mnist_loader, network2
    training_data, _, test_data = mnist_loader.load_data_wrapper()
    net = network2.Network([784, 20, 10], cost=network2.QuadraticCost)
    net.SGD(training_data[:300], 1, 10, 0.5)
    net.save(str(tmp_path / "network.npz"))
    loaded = network2.load(str(tmp_path / "network.npz"))
    assert isinstance(loaded, network2.Network) and loaded.cost is network2.QuadraticCost
    for a, b in zip(net.weights + net.biases, loaded.weights + loaded.biases):
        assert np.array_equal(a, b)
    assert loaded.accuracy(test_data[:100]) == net.accuracy(test_data[:100])
    assert (tmp_path / "network.npz").read_bytes()[:2] == b"PK"        # an npz, never a pickle


def test_save_refuses_the_books_json_name(tmp_path):
    from digits.book import network2
    from digits.system.errors import UsageError
    with pytest.raises(UsageError, match="network.npz"):
        network2.Network([784, 10, 10], seed=1).save(str(tmp_path / "network.json"))


def test_load_refuses_a_network_that_is_not_network2s(conv_network_file):
    from digits.book import network2
    from digits.store.model_file import ModelFileError
    with pytest.raises(ModelFileError, match="not a network2 network"):
        network2.load(conv_network_file)


def test_convert_that_does_not_match_the_data_is_refused(book_data):
    from digits.book import mnist_loader, network2
    from digits.system.errors import UsageError
    training_data, _, test_data = mnist_loader.load_data_wrapper()
    net = network2.Network([784, 10, 10])
    with pytest.raises(UsageError, match="convert=True"):
        net.accuracy(training_data[:10])
    with pytest.raises(UsageError, match="convert=False"):
        net.total_cost(training_data[:10], 0.0, convert=True)
    with pytest.raises(UsageError, match="convert=True"):
        net.total_cost(test_data[:10], 0.0)


def test_early_stopping_without_evaluation_data_is_refused():
    from digits.book import network2
    from digits.system.errors import UsageError
    with pytest.raises(UsageError, match="evaluation_data"):
        network2.Network([784, 10, 10], seed=1).SGD([], 1, 10, 0.5, early_stopping_n=3)


def test_an_unknown_cost_is_refused():
    from digits.book import network2
    from digits.system.errors import UsageError
    with pytest.raises(UsageError, match="CrossEntropyCost"):
        network2.Network([784, 10, 10], cost="cross-entropy")


def test_the_returned_lists_draw_themselves(book_data, capsys):
    from matplotlib.figure import Figure

    from digits.book import mnist_loader, network2
    training_data, _, test_data = mnist_loader.load_data_wrapper()
    net = network2.Network([784, 10, 10])
    result = net.SGD(training_data[:200], 2, 10, 0.5, evaluation_data=test_data[:100],
                     monitor_evaluation_accuracy=True, monitor_training_cost=True)
    figure = result.plot()
    assert isinstance(figure, Figure)
    assert sorted(axes.get_title() for axes in figure.axes) == ["Accuracy on the evaluation data",
                                                                "Cost on the training data"]
