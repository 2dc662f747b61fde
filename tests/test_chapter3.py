"""Chapter 3 of the book: regularisation, momentum, early stopping and the schedule."""

import numpy as np
import pytest

from digits.nn.callbacks import Callback
from digits.nn.dataset import DataSet
from digits.nn.network import Network


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def random_data(seed, n, n_in, n_out):
    rng = np.random.default_rng(seed)
    return DataSet(rng.random((n, n_in)), rng.integers(0, n_out, size=n), n_out)


def summed_cross_entropy_gradient(weights, biases, batch):
    """Σ_x ∂C_x/∂w and Σ_x ∂C_x/∂b for the cross-entropy cost, one example at a time."""
    nabla_b = [np.zeros_like(b) for b in biases]
    nabla_w = [np.zeros_like(w) for w in weights]
    for x, y in batch:
        activations, zs = [x], []
        for b, w in zip(biases, weights):
            zs.append(w @ activations[-1] + b)
            activations.append(sigmoid(zs[-1]))
        delta = activations[-1] - y                       # chapter 3, eq. 66
        for l in range(1, len(weights) + 1):
            if l > 1:
                s = sigmoid(zs[-l])
                delta = (weights[-l + 1].T @ delta) * s * (1 - s)
            nabla_b[-l] += delta
            nabla_w[-l] += delta @ activations[-l - 1].T
    return nabla_b, nabla_w


def test_one_l2_regularised_update_equals_the_books_rule():
    data = random_data(0, 8, 5, 3)
    network = Network([5, 4, 3], cost="cross-entropy", init="default", seed=1)
    eta, lmbda, n = 0.5, 5.0, 1000
    nabla_b, nabla_w = summed_cross_entropy_gradient(network.weights, network.biases,
                                                     data.as_pairs(one_hot=True))
    m = len(data)
    expected_w = [(1 - eta * lmbda / n) * w - (eta / m) * nw   # chapter 3, eq. 93
                  for w, nw in zip(network.weights, nabla_w)]
    expected_b = [b - (eta / m) * nb for b, nb in zip(network.biases, nabla_b)]   # eq. 94

    network.update_mini_batch(data.inputs.T, data.targets().T, eta, lmbda=lmbda, n=n)

    for got, want in zip(network.weights + network.biases, expected_w + expected_b):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def test_one_l1_regularised_update_equals_the_books_rule():
    data = random_data(2, 6, 5, 3)
    network = Network([5, 4, 3], cost="cross-entropy", seed=3)
    eta, l1, n = 0.5, 2.0, 100
    nabla_b, nabla_w = summed_cross_entropy_gradient(network.weights, network.biases,
                                                     data.as_pairs(one_hot=True))
    m = len(data)
    expected_w = [w - (eta * l1 / n) * np.sign(w) - (eta / m) * nw   # chapter 3, eq. 98
                  for w, nw in zip(network.weights, nabla_w)]

    network.update_mini_batch(data.inputs.T, data.targets().T, eta, l1=l1, n=n)

    for got, want in zip(network.weights, expected_w):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def test_l2_gradient_matches_finite_differences_of_the_regularised_cost():
    """The decayed step is gradient descent on C = C0 + (lmbda/2n) Σ w² (eq. 85)."""
    data = random_data(4, 6, 4, 3)
    network = Network([4, 3, 3], cost="cross-entropy", seed=5)
    eta, lmbda, n = 1e-3, 3.0, 6
    before = [w.copy() for w in network.weights]
    biases_before = [b.copy() for b in network.biases]
    network.update_mini_batch(data.inputs.T, data.targets().T, eta, lmbda=lmbda, n=n)
    # One step of size eta on the mean cost: gradient = (before - after) / eta.
    stepped = [(b - a) / eta for b, a in zip(before, network.weights)]
    network.weights = [w.copy() for w in before]
    network.biases = biases_before
    step = 1e-6
    for layer, w in enumerate(network.weights):
        for index in np.ndindex(w.shape):
            saved = w[index]
            w[index] = saved + step
            plus = network.total_cost(data, lmbda=lmbda, n=n)
            w[index] = saved - step
            minus = network.total_cost(data, lmbda=lmbda, n=n)
            w[index] = saved
            assert stepped[layer][index] == pytest.approx((plus - minus) / (2 * step), abs=1e-6)


def test_momentum_keeps_a_velocity_between_steps():
    data = random_data(6, 5, 4, 3)
    network = Network([4, 3, 3], cost="cross-entropy", seed=7)
    eta, mu = 0.5, 0.9
    weights = [w.copy() for w in network.weights]
    velocities = [np.zeros_like(w) for w in weights]
    biases = [b.copy() for b in network.biases]
    bias_velocities = [np.zeros_like(b) for b in biases]

    network.SGD(data, 2, len(data), eta, momentum=mu)   # two full-batch steps

    for _ in range(2):
        nabla_b, nabla_w = summed_cross_entropy_gradient(weights, biases, data.as_pairs(one_hot=True))
        m = len(data)
        velocities = [mu * v - (eta / m) * nw for v, nw in zip(velocities, nabla_w)]
        weights = [w + v for w, v in zip(weights, velocities)]
        bias_velocities = [mu * v - (eta / m) * nb for v, nb in zip(bias_velocities, nabla_b)]
        biases = [b + v for b, v in zip(biases, bias_velocities)]
    for got, want in zip(network.weights + network.biases, weights + biases):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def plateau_data():
    """Two well separated clusters: accuracy reaches 100% at once and cannot improve."""
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 2, size=40)
    inputs = np.where(labels[:, None] == 1, 0.9, 0.1) + 0.01 * rng.standard_normal((40, 3))
    return DataSet(inputs, labels, 2)


def test_early_stopping_stops_after_n_epochs_without_improvement_and_keeps_the_best():
    data = plateau_data()
    network = Network([3, 4, 2], cost="cross-entropy", seed=9)
    snapshots = {}

    class Remember(Callback):
        def on_epoch_end(self, run):
            snapshots[run.epoch] = [w.copy() for w in run.network.weights]

    history = network.SGD(data, 100, 4, 1.0, validation_data=data, early_stopping_n=5,
                          callbacks=[Remember()])

    assert history.stopped_early
    assert history.epochs == history.best_epoch + 5
    assert history.validation_accuracy[history.best_epoch - 1] == max(history.validation_accuracy)
    for got, want in zip(network.weights, snapshots[history.best_epoch]):
        np.testing.assert_array_equal(got, want)
    assert not all(np.array_equal(a, b) for a, b in zip(network.weights, snapshots[history.epochs]))


def test_halving_schedule_halves_eta_at_each_stall_and_stops_at_a_128th():
    data = plateau_data()
    network = Network([3, 4, 2], cost="cross-entropy", seed=9)
    history = network.SGD(data, 500, 4, 1.0, validation_data=data, early_stopping_n=3,
                          schedule="halve")
    etas = sorted(set(history.eta), reverse=True)
    assert etas == [1.0 / 2 ** k for k in range(7)]     # 1, 1/2, ..., 1/64 were used
    assert history.stopped_early
    assert history.epochs == history.best_epoch + 7 * 3


def test_early_stopping_never_looks_at_the_test_data():
    data = plateau_data()
    test = DataSet(data.inputs, 1 - data.labels, 2)   # every label wrong
    network = Network([3, 4, 2], cost="cross-entropy", seed=9)
    history = network.SGD(data, 100, 4, 1.0, validation_data=data, test_data=test,
                          early_stopping_n=5)
    # The test accuracy falls as the network learns; the validation data still choose.
    assert history.validation_accuracy[history.best_epoch - 1] == len(data)
    assert history.evaluation_accuracy[history.best_epoch - 1] == 0


def test_training_and_evaluation_monitoring_fill_the_history():
    data = random_data(10, 30, 4, 3)
    network = Network([4, 5, 3], cost="cross-entropy", seed=11)
    history = network.SGD(data, 3, 10, 0.5, lmbda=0.1, evaluation_data=data,
                          monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                          monitor_training_cost=True, monitor_training_accuracy=True)
    assert len(history.evaluation_cost) == len(history.training_cost) == 3
    assert history.evaluation_accuracy == history.training_accuracy
    assert history.evaluation_cost == history.training_cost
    assert all(np.isfinite(history.training_cost))
