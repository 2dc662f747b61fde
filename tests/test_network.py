"""The Network against the book's rules, written out plainly in the tests."""

import numpy as np
import pytest

from digits.nn.dataset import DataSet
from digits.system.errors import UsageError
from digits.nn.network import Network


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def random_data(rng, n, n_in, n_out):
    inputs = rng.random((n, n_in))
    labels = rng.integers(0, n_out, size=n)
    return DataSet(inputs, labels, n_out)


def per_example_update(weights, biases, batch, eta):
    """The book's chapter-1 update, one example at a time, with the quadratic cost."""
    nabla_b = [np.zeros_like(b) for b in biases]
    nabla_w = [np.zeros_like(w) for w in weights]
    for x, y in batch:
        activation, activations, zs = x, [x], []
        for b, w in zip(biases, weights):
            z = w @ activation + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = (activations[-1] - y) * sigmoid(zs[-1]) * (1 - sigmoid(zs[-1]))
        delta_b = [None] * len(biases)
        delta_w = [None] * len(weights)
        delta_b[-1], delta_w[-1] = delta, delta @ activations[-2].T
        for l in range(2, len(weights) + 1):
            sp = sigmoid(zs[-l]) * (1 - sigmoid(zs[-l]))
            delta = (weights[-l + 1].T @ delta) * sp
            delta_b[-l], delta_w[-l] = delta, delta @ activations[-l - 1].T
        nabla_b = [nb + db for nb, db in zip(nabla_b, delta_b)]
        nabla_w = [nw + dw for nw, dw in zip(nabla_w, delta_w)]
    m = len(batch)
    return ([w - (eta / m) * nw for w, nw in zip(weights, nabla_w)],
            [b - (eta / m) * nb for b, nb in zip(biases, nabla_b)])


def test_one_mini_batch_update_equals_the_books_per_example_rule():
    rng = np.random.default_rng(0)
    network = Network([6, 5, 4, 3], seed=1)
    data = random_data(rng, 7, 6, 3)
    batch = data.as_pairs(one_hot=True)
    expected_w, expected_b = per_example_update(network.weights, network.biases, batch, eta=3.0)

    network.update_mini_batch(data.inputs.T, data.targets().T, eta=3.0)

    for got, want in zip(network.weights + network.biases, expected_w + expected_b):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def numerical_gradient(network, x, y, parameter, step=1e-6):
    """Central differences of the summed cost with respect to every entry of ``parameter``."""
    gradient = np.zeros_like(parameter)
    for index in np.ndindex(parameter.shape):
        saved = parameter[index]
        parameter[index] = saved + step
        plus = network.cost.fn(network.feedforward(x), y)
        parameter[index] = saved - step
        minus = network.cost.fn(network.feedforward(x), y)
        parameter[index] = saved
        gradient[index] = (plus - minus) / (2 * step)
    return gradient


@pytest.mark.parametrize("cost, activations", [
    ("quadratic", "sigmoid"),
    ("cross-entropy", "sigmoid"),
    ("quadratic", ["tanh", "relu", "sigmoid"]),
    ("log-likelihood", ["tanh", "sigmoid", "softmax"]),
    ("log-likelihood", ["relu", "tanh", "softmax"]),
])
def test_backprop_matches_finite_differences(cost, activations):
    rng = np.random.default_rng(2)
    network = Network([5, 4, 3, 3], cost=cost, activations=activations, init="default", seed=3)
    data = random_data(rng, 6, 5, 3)
    x, y = data.inputs.T, data.targets().T
    nabla_b, nabla_w = network.backprop(x, y)
    for analytic, parameter in zip(nabla_w + nabla_b, network.weights + network.biases):
        np.testing.assert_allclose(analytic, numerical_gradient(network, x, y, parameter),
                                   rtol=1e-5, atol=1e-7)


def test_same_seed_gives_identical_weights_and_accuracies():
    rng = np.random.default_rng(4)
    data = random_data(rng, 200, 8, 3)
    runs = []
    for _ in range(2):
        network = Network([8, 6, 3], seed=42)
        history = network.SGD(data, 3, 10, 1.0, test_data=data)
        runs.append((network, history))
    (first, first_history), (second, second_history) = runs
    assert first_history.evaluation_accuracy == second_history.evaluation_accuracy
    for a, b in zip(first.weights + first.biases, second.weights + second.biases):
        np.testing.assert_array_equal(a, b)


def test_book_format_and_arrays_train_identically():
    rng = np.random.default_rng(5)
    data = random_data(rng, 60, 8, 3)
    from_pairs, from_arrays = Network([8, 5, 3], seed=7), Network([8, 5, 3], seed=7)
    from_pairs.SGD(data.as_pairs(one_hot=True), 2, 10, 0.5)
    from_arrays.SGD(data, 2, 10, 0.5)
    for a, b in zip(from_pairs.weights, from_arrays.weights):
        np.testing.assert_array_equal(a, b)


def test_initialisations_have_the_books_spread():
    large = Network([784, 100, 10], init="large", seed=0)
    default = Network([784, 100, 10], init="default", seed=0)
    assert np.std(large.weights[0]) == pytest.approx(1.0, rel=0.02)
    assert np.std(default.weights[0]) == pytest.approx(1 / np.sqrt(784), rel=0.02)
    assert np.std(default.biases[0]) == pytest.approx(1.0, rel=0.2)
    assert [w.shape for w in large.weights] == [(100, 784), (10, 100)]
    assert [b.shape for b in large.biases] == [(100, 1), (10, 1)]


def test_feedforward_takes_a_column_or_a_batch():
    network = Network([4, 3, 2], seed=0)
    batch = np.random.default_rng(0).random((4, 5))
    together = network.feedforward(batch)
    assert together.shape == (2, 5)
    for j in range(5):
        np.testing.assert_allclose(network.feedforward(batch[:, j:j + 1])[:, 0], together[:, j])


def test_sigmoid_saturates_without_warnings_or_nan():
    network = Network([2, 2], cost="cross-entropy", seed=0)
    network.weights[0][:] = [[1e4, 0], [-1e4, 0]]
    with np.errstate(all="raise"):
        out = network.feedforward(np.array([[1.0], [0.0]]))
        cost = network.total_cost(DataSet(np.array([[1.0, 0.0]]), np.array([1]), 2))
    assert np.all(np.isfinite(out)) and np.isfinite(cost)


@pytest.mark.parametrize("kwargs, message", [
    (dict(eta=0), "eta"),
    (dict(eta=-1.0), "eta"),
    (dict(eta=float("nan")), "eta"),
    (dict(mini_batch_size=0), "mini_batch_size"),
    (dict(epochs=0), "epochs"),
    (dict(lmbda=-0.1), "lmbda"),
    (dict(l1=-1.0), "l1"),
    (dict(momentum=1.0), "momentum"),
    (dict(momentum=-0.5), "momentum"),
    (dict(early_stopping_n=3), "validation data"),
    (dict(schedule="halve"), "early stopping"),
])
def test_nonsense_hyperparameters_are_refused(kwargs, message):
    data = random_data(np.random.default_rng(0), 20, 4, 2)
    arguments = dict(epochs=1, mini_batch_size=5, eta=1.0) | kwargs
    with pytest.raises(UsageError, match=message):
        Network([4, 3, 2], seed=0).SGD(data, **arguments)


@pytest.mark.parametrize("kwargs, message", [
    (dict(sizes=[784]), "two layers"),
    (dict(sizes=[784, 0, 10]), "at least one neuron"),
    (dict(init="zeros"), "initialisation"),
    (dict(cost="hinge"), "unknown cost"),
    (dict(activations="swish"), "unknown activation"),
    (dict(activations=["softmax", "sigmoid"]), "output layer"),
    (dict(cost="cross-entropy", activations="tanh"), "sigmoid output"),
    (dict(cost="log-likelihood"), "softmax output"),
    (dict(activations=["sigmoid", "softmax"]), "log-likelihood"),
    (dict(seed=-1), "seed must be a whole number"),
    (dict(seed=1.5), "seed must be a whole number"),
])
def test_nonsense_networks_are_refused(kwargs, message):
    arguments = dict(sizes=[784, 30, 10]) | kwargs
    with pytest.raises(UsageError, match=message):
        Network(arguments.pop("sizes"), **arguments)


def test_a_mini_batch_larger_than_the_training_set_is_one_full_batch_step():
    data = random_data(np.random.default_rng(0), 20, 4, 2)
    whole, huge = Network([4, 3, 2], seed=0), Network([4, 3, 2], seed=0)
    whole.SGD(data, 2, 20, 1.0)
    huge.SGD(data, 2, 10**9, 1.0)       # no buffer of 10**9 rows: capped at the 20 examples
    for a, b in zip(whole.weights + whole.biases, huge.weights + huge.biases):
        np.testing.assert_array_equal(a, b)


def test_backprop_of_a_network_with_dropout_is_the_gradient_without_it():
    # backprop applies no dropout, so the mask the training keeps must not touch its errors:
    # the gradient is that of the same weights in a network without dropout.
    from digits.nn.layers import FullyConnected, Softmax

    rng = np.random.default_rng(0)
    with_dropout = Network([FullyConnected(6, 5, dropout=0.5), FullyConnected(5, 4, dropout=0.3),
                            Softmax(4, 3, dropout=0.5)], seed=2)
    without = Network([FullyConnected(6, 5), FullyConnected(5, 4), Softmax(4, 3)], seed=2)
    without.weights, without.biases = with_dropout.weights, with_dropout.biases
    x = rng.random((6, 4))
    y = np.eye(3)[:, [0, 2, 1, 0]]
    with_dropout.SGD(list(zip(x.T.reshape(4, 6, 1), y.T.reshape(4, 3, 1))), 1, 2, 0.1)  # masks filled
    without.weights, without.biases = with_dropout.weights, with_dropout.biases
    got_b, got_w = with_dropout.backprop(x, y)
    expected_b, expected_w = without.backprop(x, y)
    for got, expected in zip(got_b + got_w, expected_b + expected_w):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
