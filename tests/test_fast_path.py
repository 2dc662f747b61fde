"""Training's fast path computes what the plain rules compute.

:meth:`Network.SGD` reuses preallocated arrays, copies shuffled examples a chunk at a
time, scales δ instead of the gradients and writes the sigmoid and the costs' output
errors in place.  These tests pin each of those to the plain version beside it.
"""

import numpy as np
import pytest

from digits.nn import activations, costs
from digits.nn.callbacks import Callback
from digits.nn.dataset import DataSet
from digits.nn.network import Network
from digits.system.threads import blas_thread_control, blas_thread_count, blas_threads


def random_data(rng, n, n_in, n_out, dtype=np.float64):
    return DataSet(rng.random((n, n_in)).astype(dtype), rng.integers(0, n_out, size=n), n_out)


@pytest.mark.parametrize("activation", [activations.Sigmoid, activations.Tanh, activations.ReLU])
def test_each_activation_writes_into_out_exactly_what_it_returns(activation):
    z = np.random.default_rng(0).normal(scale=20, size=(30, 10))
    a = activation.fn(z, out=np.empty_like(z))
    np.testing.assert_array_equal(a, activation.fn(z))
    derivative = activation.derivative(z, a, out=np.empty_like(z))
    np.testing.assert_array_equal(derivative, activation.derivative(z, a))


def test_the_sigmoid_in_place_is_the_books_formula():
    z = np.random.default_rng(2).normal(scale=5, size=(30, 10))
    a = activations.Sigmoid.fn(z, out=np.empty_like(z))
    np.testing.assert_allclose(a, 1.0 / (1.0 + np.exp(-z)), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(activations.Sigmoid.derivative(z, a, out=np.empty_like(z)),
                               np.exp(-z) / (1.0 + np.exp(-z)) ** 2, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("cost, output", [
    (costs.QuadraticCost, activations.Sigmoid),
    (costs.QuadraticCost, activations.Tanh),
    (costs.CrossEntropyCost, activations.Sigmoid),
    (costs.LogLikelihoodCost, activations.Softmax),
])
def test_each_output_error_writes_into_out_exactly_what_it_returns(cost, output):
    rng = np.random.default_rng(1)
    z = rng.normal(size=(10, 7))
    a = output.fn(z)
    y = np.eye(10)[:, rng.integers(0, 10, size=7)]
    delta = cost.delta(z, a, y, output, out=np.empty_like(z), scratch=np.empty_like(z))
    np.testing.assert_array_equal(delta, cost.delta(z, a, y, output))
    if cost is costs.QuadraticCost:
        np.testing.assert_array_equal(delta, (a - y) * output.derivative(z, a))
    else:
        np.testing.assert_array_equal(delta, a - y)


def sgd_by_hand(network, data, epochs, mini_batch_size, eta, **rules):
    """The book's SGD loop written out with the public one-step method."""
    n = len(data)
    for _ in range(epochs):
        order = network.rng.permutation(n)
        for k in range(0, n, mini_batch_size):
            chosen = order[k:k + mini_batch_size]
            network.update_mini_batch(data.inputs[chosen].T, data.targets()[chosen].T, eta,
                                      n=n, **rules)


@pytest.mark.parametrize("rules", [
    {},
    {"lmbda": 5.0},
    {"l1": 2.0},
    {"momentum": 0.6},
    {"lmbda": 1.0, "l1": 0.5, "momentum": 0.3},
])
def test_sgd_equals_one_update_mini_batch_per_shuffled_mini_batch(rules):
    # 613 float32 examples in mini-batches of 7: several chunks, the last one partial,
    # and a last mini-batch of 4; the network is float64, so every chunk is converted.
    rng = np.random.default_rng(2)
    data = random_data(rng, 613, 12, 4, dtype=np.float32)
    fast, by_hand = Network([12, 8, 4], seed=3), Network([12, 8, 4], seed=3)

    fast.SGD(data, 2, 7, 0.5, **rules)
    sgd_by_hand(by_hand, data, 2, 7, 0.5, **rules)

    for a, b in zip(fast.weights + fast.biases, by_hand.weights + by_hand.biases):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("cost, layers", [
    ("cross-entropy", "sigmoid"),
    ("quadratic", ["relu", "tanh", "sigmoid"]),
    ("log-likelihood", ["tanh", "relu", "softmax"]),
])
def test_sgd_equals_the_plain_loop_for_other_costs_and_activations(cost, layers):
    rng = np.random.default_rng(4)
    data = random_data(rng, 101, 6, 3)
    sizes = [6, 5, 3] if isinstance(layers, str) else [6, 5, 4, 3]
    fast = Network(sizes, cost=cost, activations=layers, init="default", seed=5)
    by_hand = Network(sizes, cost=cost, activations=layers, init="default", seed=5)

    fast.SGD(data, 2, 10, 0.3, lmbda=0.5)
    sgd_by_hand(by_hand, data, 2, 10, 0.3, lmbda=0.5)

    for a, b in zip(fast.weights + fast.biases, by_hand.weights + by_hand.biases):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_a_mini_batch_larger_than_the_training_set_is_one_step():
    rng = np.random.default_rng(6)
    data = random_data(rng, 9, 5, 2)
    fast, by_hand = Network([5, 3, 2], seed=7), Network([5, 3, 2], seed=7)
    fast.SGD(data, 1, 50, 1.0)
    sgd_by_hand(by_hand, data, 1, 50, 1.0)
    for a, b in zip(fast.weights, by_hand.weights):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_a_float32_network_trains_and_answers_in_float32():
    rng = np.random.default_rng(8)
    data = random_data(rng, 50, 6, 3)              # float64 examples
    network = Network([6, 4, 3], seed=9, dtype=np.float32)
    network.SGD(data, 1, 10, 1.0)
    assert {w.dtype for w in network.weights + network.biases} == {np.dtype(np.float32)}
    assert network.feedforward(data.inputs.T).dtype == np.float32


def test_float32_images_give_a_float64_network_the_same_answers_as_float64_images():
    rng = np.random.default_rng(10)
    images = rng.random((784, 20)).astype(np.float32)
    network = Network([784, 30, 10], seed=11)
    np.testing.assert_array_equal(network.feedforward(images),
                                  network.feedforward(images.astype(np.float64)))


@pytest.mark.skipif(not blas_thread_control(), reason="numpy's BLAS is not a reachable OpenBLAS")
def test_training_runs_on_one_blas_thread_and_restores_the_setting():
    seen = []

    class CountThreads(Callback):
        every_batches = 1

        def on_batch_end(self, run):
            seen.append(blas_thread_count())

    data = random_data(np.random.default_rng(12), 40, 5, 2)
    with blas_threads(2):
        Network([5, 3, 2], seed=0).SGD(data, 2, 10, 1.0, callbacks=[CountThreads()])
        assert blas_thread_count() == 2
    assert seen and all(count == 1 for count in seen)
