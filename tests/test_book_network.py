"""Chapter 1 as the book types it: ``mnist_loader`` and ``network``, with only the import
line changed (``from digits.book import mnist_loader, network``), on fewer images and
epochs so that each session runs in seconds."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def book_data(mnist_data_dir, monkeypatch):
    """The book's loader reads the real MNIST files (from the folder $DIGITS_DATA names)."""
    monkeypatch.setenv("DIGITS_DATA", str(mnist_data_dir))
    np.random.seed(12)


def test_load_data_gives_the_books_three_pairs_of_arrays(book_data):
    from digits.book import mnist_loader
    training_data, validation_data, test_data = mnist_loader.load_data()
    assert [len(images) for images, _ in (training_data, validation_data, test_data)] == [50000, 10000, 10000]
    images, labels = training_data
    assert images.shape == (50000, 784) and images.dtype == np.float32
    assert labels.shape == (50000,) and set(np.unique(labels)) == set(range(10))
    assert 0.0 == images.min() and images.max() == 1.0
    assert labels[:5].tolist() == [5, 0, 4, 1, 9]         # MNIST's first training digits


def test_load_data_wrapper_gives_the_books_lists_of_columns(book_data):
    from digits.book import mnist_loader
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    assert isinstance(training_data, list) and isinstance(test_data, list)
    x, y = training_data[0]
    assert x.shape == (784, 1) and y.shape == (10, 1)
    assert np.array_equal(y, mnist_loader.vectorized_result(5))
    x, label = validation_data[0]
    assert x.shape == (784, 1) and isinstance(label, int)
    assert (len(training_data), len(validation_data), len(test_data)) == (50000, 10000, 10000)
    assert len(list(test_data)) == len(list(test_data)) == 10000     # lists, not used-up zips


def test_vectorized_result_is_a_one_hot_column():
    from digits.book import mnist_loader
    e = mnist_loader.vectorized_result(3)
    assert e.shape == (10, 1) and e[3, 0] == 1.0 and e.sum() == 1.0


def test_the_loader_fetches_missing_files_into_its_folder(tmp_path, monkeypatch, shared_mnist_dir):
    from digits.book import mnist_loader
    monkeypatch.setenv("DIGITS_DATA", str(tmp_path / "mnist"))
    monkeypatch.setenv("DIGITS_MNIST_MIRROR", shared_mnist_dir.as_uri() + "/")
    training_data, _, _ = mnist_loader.load_data_wrapper()
    assert len(training_data) == 50000
    assert len(list((tmp_path / "mnist").glob("*-ubyte*"))) == 4


def test_the_data_folder_is_the_checkouts_when_the_current_folder_has_none(tmp_path, monkeypatch):
    from pathlib import Path

    from digits.book import mnist_loader
    monkeypatch.delenv("DIGITS_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    checkout = Path(mnist_loader.__file__).resolve().parents[2]
    assert mnist_loader.data_folder() == checkout / "data" / "mnist"
    (tmp_path / "data" / "mnist").mkdir(parents=True)
    assert mnist_loader.data_folder() == Path("data/mnist")


def test_chapter_1_session_prints_an_epoch_line_per_epoch(book_data, capsys):
    from digits.book import mnist_loader
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    from digits.book import network
    net = network.Network([784, 30, 10])
    training_data, test_data = training_data[:3000], test_data[:1000]     # fewer images
    result = net.SGD(training_data, 3, 10, 3.0, test_data=test_data)
    lines = capsys.readouterr().out.splitlines()
    correct = net.history.evaluation_accuracy
    assert result is None                           # as the book's: a shell echoes nothing
    assert lines == [f"Epoch {j}: {correct[j]} / 1000" for j in range(3)]
    assert correct[-1] > 650                         # it learns (guessing gets 100 of 1000)
    assert net.evaluate(test_data) == correct[-1]


def test_chapter_1_session_without_test_data_says_each_epoch_is_complete(book_data, capsys):
    from digits.book import mnist_loader, network
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    net = network.Network([784, 100, 10])
    net.SGD(training_data[:500], 2, 10, 3.0)
    assert capsys.readouterr().out.splitlines() == ["Epoch 0 complete", "Epoch 1 complete"]


def test_chapter_1_learning_rates_too_large_and_too_small(book_data, capsys):
    from digits.book import mnist_loader, network
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    training_data, test_data = training_data[:2000], test_data[:1000]
    net = network.Network([784, 30, 10])
    net.SGD(training_data, 2, 10, 100.0, test_data=test_data)
    assert net.history.evaluation_accuracy[-1] < 300        # eta = 100: it does not learn
    net = network.Network([784, 100, 10])
    net.SGD(training_data, 2, 10, 0.001, test_data=test_data)
    assert net.history.evaluation_accuracy[-1] < 500        # eta = 0.001: it barely moves
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_the_networks_attributes_are_the_books():
    from digits.book import network
    net = network.Network([784, 30, 10], seed=1)
    assert net.num_layers == 3 and net.sizes == [784, 30, 10]
    assert [w.shape for w in net.weights] == [(30, 784), (10, 30)]
    assert [b.shape for b in net.biases] == [(30, 1), (10, 1)]
    assert 0.9 < np.std(net.weights[0]) < 1.1               # N(0, 1): chapter 1's initialisation
    assert net.feedforward(np.zeros((784, 1))).shape == (10, 1)


def test_np_random_seed_repeats_a_session_as_with_the_books_code():
    from digits.book import network
    np.random.seed(5)
    first = network.Network([784, 30, 10]).weights[0].copy()
    np.random.seed(5)
    assert np.array_equal(network.Network([784, 30, 10]).weights[0], first)
    assert not np.array_equal(network.Network([784, 30, 10]).weights[0], first)


def test_backprop_and_cost_derivative_of_one_example():
    from digits.book import network
    net = network.Network([4, 3, 2], seed=2)
    x, y = np.arange(4.0).reshape(4, 1) / 4, np.array([[1.0], [0.0]])
    nabla_b, nabla_w = net.backprop(x, y)
    assert [b.shape for b in nabla_b] == [(3, 1), (2, 1)] and [w.shape for w in nabla_w] == [(3, 4), (2, 3)]
    # BP1 by hand: δ^L = (a - y) ⊙ σ'(z^L)
    hidden = network.sigmoid(net.weights[0] @ x + net.biases[0])
    z = net.weights[1] @ hidden + net.biases[1]
    expected = net.cost_derivative(network.sigmoid(z), y) * network.sigmoid_prime(z)
    np.testing.assert_allclose(nabla_b[1], expected, rtol=1e-12)
    np.testing.assert_array_equal(net.cost_derivative(np.array([[0.5]]), np.array([[0.25]])), [[0.25]])


def test_sigmoid_and_its_derivative():
    from digits.book import network
    assert network.sigmoid(0.0) == 0.5 and network.sigmoid_prime(0.0) == 0.25
    np.testing.assert_allclose(network.sigmoid(np.array([-1000.0, 1000.0])), [0.0, 1.0])


def test_the_epochs_do_not_reorder_the_readers_list(book_data):
    from digits.book import mnist_loader, network
    training_data, _, _ = mnist_loader.load_data_wrapper()
    training_data = training_data[:200]
    first = [id(pair) for pair in training_data]
    network.Network([784, 10, 10]).SGD(training_data, 1, 10, 3.0)
    assert [id(pair) for pair in training_data] == first


def test_the_history_of_a_session_draws_itself(book_data, capsys):
    from matplotlib.figure import Figure

    from digits.book import mnist_loader, network
    training_data, _, test_data = mnist_loader.load_data_wrapper()
    net = network.Network([784, 10, 10])
    net.SGD(training_data[:300], 2, 10, 3.0, test_data=test_data[:100])
    figure = net.history.plot()
    assert isinstance(figure, Figure) and len(figure.axes) == 1
    assert list(figure.axes[0].lines[0].get_ydata()) == [c / 100 * 100 for c in net.history.evaluation_accuracy]
