"""Same numbers: for the same initial weights and the same mini-batches, the book's
modules give the weights of the book's own algorithm (its loop over the examples of
each mini-batch, written here in float64), to float rounding; and network3 gives
what the library's chapter-6 networks give for the same settings."""

from __future__ import annotations

import numpy as np
import pytest

# The largest difference from the per-example loop that float rounding explains.
ROUNDING = 1e-12


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def reference_step(weights, biases, mini_batch, eta, cross_entropy=False, lmbda=0.0, n=1):
    """The book's update_mini_batch and backprop: one example at a time, then the step."""
    nabla_b = [np.zeros(b.shape) for b in biases]
    nabla_w = [np.zeros(w.shape) for w in weights]
    for x, y in mini_batch:
        activation, activations, zs = x, [x], []
        for w, b in zip(weights, biases):
            z = w @ activation + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = activations[-1] - y
        if not cross_entropy:
            delta = delta * sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
        grads_b, grads_w = [delta], [delta @ activations[-2].T]
        for l in range(2, len(weights) + 1):
            s = sigmoid(zs[-l])
            delta = (weights[-l + 1].T @ delta) * s * (1 - s)
            grads_b.insert(0, delta)
            grads_w.insert(0, delta @ activations[-l - 1].T)
        nabla_b = [nb + g for nb, g in zip(nabla_b, grads_b)]
        nabla_w = [nw + g for nw, g in zip(nabla_w, grads_w)]
    m = len(mini_batch)
    weights = [(1 - eta * lmbda / n) * w - (eta / m) * nw for w, nw in zip(weights, nabla_w)]
    biases = [b - (eta / m) * nb for b, nb in zip(biases, nabla_b)]
    return weights, biases


def reference_sgd(weights, biases, training_data, epochs, m, eta, rng, **rule):
    """The book's SGD, mini-batches cut from the order the engine's generator draws."""
    for _ in range(epochs):
        order = rng.permutation(len(training_data))
        for k in range(0, len(order), m):
            mini_batch = [training_data[i] for i in order[k:k + m]]
            weights, biases = reference_step(weights, biases, mini_batch, eta, **rule)
    return weights, biases


def pairs(data, count):
    """The first ``count`` training images as the book's (x, y) pairs, in float64."""
    return [(np.asarray(x, np.float64), np.asarray(y, np.float64)) for x, y in data.as_pairs(True)[:count]]


def largest_difference(net, weights, biases):
    return max(float(np.max(np.abs(a - b))) for a, b in
               zip(list(net.weights) + list(net.biases), list(weights) + list(biases)))


def copies(net):
    return [w.astype(np.float64) for w in net.weights], [b.astype(np.float64) for b in net.biases]


def twin_generator(net):
    rng = np.random.default_rng()
    rng.bit_generator.state = net.rng.bit_generator.state
    return rng


def test_network_update_mini_batch_is_the_per_example_loop(mnist):
    from digits.book import network
    training = pairs(mnist[0], 60)
    net = network.Network([784, 30, 10], seed=3)
    weights, biases = copies(net)
    for k in range(0, 60, 10):
        net.update_mini_batch(training[k:k + 10], 3.0)
        weights, biases = reference_step(weights, biases, training[k:k + 10], 3.0)
    difference = largest_difference(net, weights, biases)
    print(f"network.update_mini_batch: largest difference {difference:.2e}")
    assert difference < ROUNDING


def test_network_sgd_is_the_books_sgd(mnist, capsys):
    from digits.book import network
    training = pairs(mnist[0], 205)                      # a shorter last mini-batch too
    net = network.Network([784, 30, 10], seed=4)
    weights, biases = copies(net)
    rng = twin_generator(net)
    net.SGD(training, 2, 10, 3.0)
    weights, biases = reference_sgd(weights, biases, training, 2, 10, 3.0, rng)
    difference = largest_difference(net, weights, biases)
    with capsys.disabled():
        print(f"\nnetwork.SGD: largest difference from the per-example loop {difference:.2e}")
    assert difference < ROUNDING


@pytest.mark.parametrize("cost", ["CrossEntropyCost", "QuadraticCost"])
def test_network2_sgd_with_l2_is_the_books_sgd(mnist, cost, capsys):
    from digits.book import network2
    training = pairs(mnist[0], 203)
    net = network2.Network([784, 30, 10], cost=getattr(network2, cost), seed=5)
    weights, biases = copies(net)
    rng = twin_generator(net.network)
    net.SGD(training, 2, 10, 0.5, lmbda=5.0)
    weights, biases = reference_sgd(weights, biases, training, 2, 10, 0.5, rng,
                                    cross_entropy=cost == "CrossEntropyCost", lmbda=5.0, n=203)
    difference = largest_difference(net, weights, biases)
    with capsys.disabled():
        print(f"\nnetwork2.SGD ({cost}, lmbda 5.0): largest difference {difference:.2e}")
    assert difference < ROUNDING


def test_network2_update_mini_batch_is_the_per_example_loop(mnist):
    from digits.book import network2
    training = pairs(mnist[0], 30)
    net = network2.Network([784, 20, 10], seed=6)
    weights, biases = copies(net)
    for k in range(0, 30, 10):
        net.update_mini_batch(training[k:k + 10], 0.5, 5.0, 1000)
        weights, biases = reference_step(weights, biases, training[k:k + 10], 0.5,
                                         cross_entropy=True, lmbda=5.0, n=1000)
    assert largest_difference(net, weights, biases) < ROUNDING


def test_network3_is_the_librarys_chapter_6_network_for_the_same_settings(mnist, capsys):
    """The book's lmbda 0.1 is the library's 0.1 x n / (n // 10); dropout is the same."""
    from digits.book import network3
    from digits.book.network3 import ConvPoolLayer, FullyConnectedLayer, ReLU, SoftmaxLayer
    from digits.nn.layer_spec import parse_layers
    from digits.nn.network import Network
    training, validation, test = mnist[0][:305], mnist[1][:100], mnist[2][:100]
    book = network3.Network([
        ConvPoolLayer(image_shape=(10, 1, 28, 28), filter_shape=(4, 1, 5, 5), activation_fn=ReLU),
        FullyConnectedLayer(n_in=4 * 12 * 12, n_out=20, activation_fn=ReLU, p_dropout=0.5),
        SoftmaxLayer(n_in=20, n_out=10, p_dropout=0.5)], 10, seed=7)
    book.SGD(training, 2, 10, 0.03, validation, test, lmbda=0.1)
    library = Network(parse_layers("conv4 fc20 softmax", activation="relu", dropout=0.5),
                      dtype=np.float32, seed=7)
    history = library.SGD(training, 2, 10, 0.03, lmbda=0.1 * 305 / 30, validation_data=validation,
                          evaluation_data=test, monitor_validation_accuracy=True,
                          keep_best_validation=True)
    for mine, theirs in zip(book.weights + book.biases, library.weights + library.biases):
        assert mine.dtype == np.float32 and np.array_equal(mine, theirs)
    assert book.history.validation_accuracy == history.validation_accuracy
    assert book.history.evaluation_accuracy == history.evaluation_accuracy
    with capsys.disabled():
        print("\nnetwork3 against the library's chapter-6 network: weights identical")


def test_network3_lmbda_is_the_books_l2_term_per_mini_batch(mnist):
    """network3's step: w -> w - eta (∂C_mean/∂w + (lmbda / B) w), B = n // m mini-batches."""
    from digits.book import network3
    from digits.book.network3 import FullyConnectedLayer, SoftmaxLayer
    training = mnist[0][:45]                               # B = 4: the last 5 make a short one
    net = network3.Network([FullyConnectedLayer(n_in=784, n_out=20),
                            SoftmaxLayer(n_in=20, n_out=10)], 10, seed=8)
    weights, biases = copies(net)
    rng = twin_generator(net)
    net.SGD(training, 1, 10, 0.1, training[:10], None, lmbda=2.0)
    x_all, targets = training.inputs.astype(np.float64), training.targets().astype(np.float64)
    rows = rng.permutation(45)                             # the epoch's order
    for k in range(0, 45, 10):
        x, y = x_all[rows[k:k + 10]].T, targets[rows[k:k + 10]].T
        hidden = sigmoid(weights[0] @ x + biases[0])
        z = weights[1] @ hidden + biases[1]
        a = np.exp(z - z.max(axis=0)) / np.exp(z - z.max(axis=0)).sum(axis=0)
        delta = (a - y) / x.shape[1]                         # of the mean log-likelihood
        delta_hidden = (weights[1].T @ delta) * hidden * (1 - hidden)
        gradients = [delta_hidden @ x.T, delta @ hidden.T]
        weights = [w - 0.1 * (g + (2.0 / 4) * w) for w, g in zip(weights, gradients)]
        biases = [biases[0] - 0.1 * delta_hidden.sum(axis=1, keepdims=True),
                  biases[1] - 0.1 * delta.sum(axis=1, keepdims=True)]
    assert largest_difference(net, weights, biases) < 1e-5   # float32 against float64
