"""Chapter 6 as the book types it: ``network3`` sessions from the fully connected baseline
to the convolutional, ReLU, expanded-data and dropout networks, without Theano, with only
the import lines changed and far fewer images and epochs."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def book_data(mnist_data_dir, monkeypatch):
    monkeypatch.setenv("DIGITS_DATA", str(mnist_data_dir))
    np.random.seed(6)


def book_lines(net, epochs, test=True):
    """The lines network3 prints for a run whose numbers are in ``net.history``."""
    history, lines, best = net.history, [], None
    for j in range(epochs):
        validation = history.validation_accuracy[j] / history.n_validation
        lines.append(f"Epoch {j}: validation accuracy {validation:.2%}")
        if best is None or validation > best[0]:
            lines.append("This is the best validation accuracy to date.")
            best = (validation, j)
            if test:
                best += (history.evaluation_accuracy[j] / history.n_evaluation,)
                lines.append(f"The corresponding test accuracy is {best[2]:.2%}")
    batches = -(-history.n_training // 10)
    lines += ["Finished training network.",
              f"Best validation accuracy of {best[0]:.2%} obtained at iteration {(best[1] + 1) * batches - 1}"]
    if test:
        lines.append(f"Corresponding test accuracy of {best[2]:.2%}")
    return lines


def test_the_fully_connected_baseline_session(book_data, capsys):
    from digits.book import network3
    from digits.book.network3 import Network
    from digits.book.network3 import ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer  # noqa: F401 (the book's line)
    training_data, validation_data, test_data = network3.load_data_shared()
    assert [len(d) for d in (training_data, validation_data, test_data)] == [50000, 10000, 10000]
    training_data, validation_data, test_data = training_data[:6000], validation_data[:1000], test_data[:1000]
    mini_batch_size = 10
    net = Network([
        FullyConnectedLayer(n_in=784, n_out=100),
        SoftmaxLayer(n_in=100, n_out=10)], mini_batch_size)
    assert net.SGD(training_data, 2, mini_batch_size, 0.1, validation_data, test_data) is None
    lines = capsys.readouterr().out.splitlines()
    # 600 mini-batches an epoch: iterations 0 and 1000 are announced as they start.
    assert lines[0] == "Training mini-batch number 0"
    assert "Training mini-batch number 1000" in lines
    assert [line for line in lines if not line.startswith("Training mini-batch")] == book_lines(net, 2)
    assert net.history.validation_accuracy[-1] > 700


def test_the_convolutional_sessions(book_data, capsys):
    from digits.book import network3
    from digits.book.network3 import ConvPoolLayer, FullyConnectedLayer, Network, SoftmaxLayer
    training_data, validation_data, test_data = network3.load_data_shared()
    training_data, validation_data, test_data = training_data[:500], validation_data[:200], test_data[:200]
    mini_batch_size = 10
    net = Network([
        ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28),
                      filter_shape=(20, 1, 5, 5),
                      poolsize=(2, 2)),
        FullyConnectedLayer(n_in=20*12*12, n_out=100),
        SoftmaxLayer(n_in=100, n_out=10)], mini_batch_size)
    net.SGD(training_data, 1, mini_batch_size, 0.1, validation_data, test_data)
    net = Network([
        ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28),
                      filter_shape=(20, 1, 5, 5),
                      poolsize=(2, 2)),
        ConvPoolLayer(image_shape=(mini_batch_size, 20, 12, 12),
                      filter_shape=(40, 20, 5, 5),
                      poolsize=(2, 2)),
        FullyConnectedLayer(n_in=40*4*4, n_out=100),
        SoftmaxLayer(n_in=100, n_out=10)], mini_batch_size)
    net.SGD(training_data, 1, mini_batch_size, 0.1, validation_data, test_data)
    out = capsys.readouterr().out.splitlines()
    assert out[-len(book_lines(net, 1)):] == book_lines(net, 1)
    assert out.count("Finished training network.") == 2
    assert [layer.output_shape for layer in net.layers[:2]] == [(20, 12, 12), (40, 4, 4)]


def test_the_relu_and_expanded_data_sessions(book_data, capsys):
    from digits.book import expand_mnist, network3
    from digits.book.network3 import ConvPoolLayer, FullyConnectedLayer, Network, ReLU, SoftmaxLayer
    training_data, validation_data, test_data = network3.load_data_shared()
    expanded_training_data, _, _ = network3.load_data_shared("../data/mnist_expanded.pkl.gz")
    assert len(expanded_training_data) == 250000
    expanded_training_data = expand_mnist.expanded_training_data(training_data[:100])   # fewer images
    assert len(expanded_training_data) == 500
    validation_data, test_data = validation_data[:200], test_data[:200]
    mini_batch_size = 10
    net = Network([
        ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28),
                      filter_shape=(20, 1, 5, 5),
                      poolsize=(2, 2),
                      activation_fn=ReLU),
        ConvPoolLayer(image_shape=(mini_batch_size, 20, 12, 12),
                      filter_shape=(40, 20, 5, 5),
                      poolsize=(2, 2),
                      activation_fn=ReLU),
        FullyConnectedLayer(n_in=40*4*4, n_out=100, activation_fn=ReLU),
        SoftmaxLayer(n_in=100, n_out=10)], mini_batch_size)
    net.SGD(expanded_training_data, 2, mini_batch_size, 0.03, validation_data, test_data, lmbda=0.1)
    assert capsys.readouterr().out.splitlines() == ["Training mini-batch number 0"] + book_lines(net, 2)
    assert [a.name for a in net.activations] == ["relu", "relu", "relu", "softmax"]


def test_the_dropout_session(book_data, capsys):
    from digits.book import expand_mnist, network3
    from digits.book.network3 import ConvPoolLayer, FullyConnectedLayer, Network, ReLU, SoftmaxLayer
    training_data, validation_data, test_data = network3.load_data_shared()
    expanded_training_data = expand_mnist.expanded_training_data(training_data[:60])
    validation_data, test_data = validation_data[:100], test_data[:100]
    mini_batch_size = 10
    net = Network([
        ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28),
                      filter_shape=(20, 1, 5, 5),
                      poolsize=(2, 2),
                      activation_fn=ReLU),
        ConvPoolLayer(image_shape=(mini_batch_size, 20, 12, 12),
                      filter_shape=(40, 20, 5, 5),
                      poolsize=(2, 2),
                      activation_fn=ReLU),
        FullyConnectedLayer(
            n_in=40*4*4, n_out=1000, activation_fn=ReLU, p_dropout=0.5),
        FullyConnectedLayer(
            n_in=1000, n_out=1000, activation_fn=ReLU, p_dropout=0.5),
        SoftmaxLayer(n_in=1000, n_out=10, p_dropout=0.5)],
        mini_batch_size)
    net.SGD(expanded_training_data, 1, mini_batch_size, 0.03, validation_data, test_data)
    assert capsys.readouterr().out.splitlines()[1:] == book_lines(net, 1)
    assert [layer.dropout for layer in net.layers] == [0.0, 0.0, 0.5, 0.5, 0.5]


def test_dropout_gives_the_trained_networks_input_in_expectation():
    """network3 answers with (1 - p) w x; the engine's weights are that (1 - p) w, its
    training scales the kept inputs by 1/(1 - p): the mean input while training is the
    input the trained network answers with."""
    from digits.book.network3 import FullyConnectedLayer, Network, SoftmaxLayer
    net = Network([FullyConnectedLayer(n_in=50, n_out=5, p_dropout=0.5), SoftmaxLayer(5, 10)], 10, seed=1)
    layer, rng = net.layers[0], np.random.default_rng(0)
    x = np.random.default_rng(1).random((50, 1)).astype(np.float32)
    answering = layer.weights @ x + layer.biases
    ws = layer.make_workspace(1, True, np.float32)
    inputs = []
    for _ in range(4000):
        layer.forward(x, ws, rng)                      # training: dropout on the inputs
        inputs.append(ws.z.copy())
    training = np.mean(inputs, axis=0)
    np.testing.assert_allclose(training, answering, atol=0.05 * np.abs(answering).max())


def test_the_activation_functions_compute():
    from digits.book import network3
    z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(network3.ReLU(z), [0.0, 0.0, 3.0])
    np.testing.assert_allclose(network3.linear(z), z)
    np.testing.assert_allclose(network3.tanh(z), np.tanh(z))
    np.testing.assert_allclose(network3.sigmoid(z), 1 / (1 + np.exp(-z)))


def test_a_linear_layer_trains_and_without_test_data_no_test_accuracy_is_printed(mnist, capsys):
    from digits.book.network3 import FullyConnectedLayer, Network, SoftmaxLayer, linear
    net = Network([FullyConnectedLayer(784, 30, activation_fn=linear), SoftmaxLayer(30, 10)], 10, seed=2)
    net.SGD(mnist[0][:500], 2, 10, 0.1, mnist[1][:100], None)
    assert net.activations[0].name == "linear" and net.history.validation_accuracy[0] > 30
    assert capsys.readouterr().out.splitlines()[1:] == book_lines(net, 2, test=False)


@pytest.mark.parametrize("build, message", [
    (lambda n3: n3.Network([n3.FullyConnectedLayer(784, 10)], 10), "SoftmaxLayer"),
    (lambda n3: n3.Network([n3.ConvPoolLayer((20, 1, 5, 5), (32, 1, 28, 28)), n3.SoftmaxLayer(2880, 10)], 10),
     "mini_batch_size 10"),
    (lambda n3: n3.ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), poolsize=(3, 3)), "2x2"),
    (lambda n3: n3.ConvPoolLayer((20, 3, 5, 5), (10, 1, 28, 28)), "channels"),
    (lambda n3: n3.FullyConnectedLayer(784, 10, activation_fn=np.exp), "activation_fn"),
])
def test_networks_the_book_could_not_build_are_refused_in_one_line(build, message):
    from digits.book import network3
    from digits.system.errors import UsageError
    with pytest.raises(UsageError, match=message):
        build(network3)


def test_sgd_with_another_mini_batch_size_is_refused(mnist):
    from digits.book import network3
    from digits.system.errors import UsageError
    net = network3.Network([network3.FullyConnectedLayer(784, 10), network3.SoftmaxLayer(10, 10)], 10, seed=1)
    with pytest.raises(UsageError, match="mini-batches of 10"):
        net.SGD(mnist[0][:100], 1, 20, 0.1, mnist[1][:10], None)


def test_the_books_lmbda_becomes_the_engines():
    from digits.book.network3 import engine_lmbda
    assert engine_lmbda(0.1, 50000, 10) == pytest.approx(1.0)       # the library's 1.0 for the book's 0.1
    assert engine_lmbda(0.1, 45, 10) == pytest.approx(0.1 * 45 / 4)
    assert engine_lmbda(0.1, 5, 10) == pytest.approx(0.5)           # one (short) mini-batch


def test_expand_mnist_as_a_script(book_data, capsys):
    from digits.book import expand_mnist
    expanded = expand_mnist.main()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Expanding the MNIST training set" and "250,000" in lines[1]
    x = expanded.chunk(50000, 50001)                 # image 0 moved up one pixel
    original = expanded.chunk(0, 1)
    np.testing.assert_array_equal(x.reshape(28, 28)[:-1], original.reshape(28, 28)[1:])
