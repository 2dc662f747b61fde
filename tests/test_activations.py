"""Each activation function on its own: its values, its derivative against finite
differences, and the properties of softmax that the log-likelihood cost relies on.

(tests/test_network.py checks whole networks built from these against finite
differences; here each function is pinned down by itself.)
"""

import numpy as np
import pytest

from digits.nn import activations
from digits.nn.activations import ReLU, Sigmoid, Softmax, Tanh
from digits.nn.costs import LogLikelihoodCost
from digits.system.errors import UsageError

STEP = 1e-6


def finite_difference(function, z):
    """The central difference (f(z + h) - f(z - h)) / 2h, elementwise."""
    return (function(z + STEP) - function(z - STEP)) / (2 * STEP)


def sample_z(shape=(4, 6), scale=3.0, seed=0):
    return np.random.default_rng(seed).normal(0.0, scale, size=shape)


@pytest.mark.parametrize("activation", [Sigmoid, Tanh, ReLU], ids=lambda a: a.name)
def test_derivative_matches_finite_differences(activation):
    z = sample_z()
    # ReLU has a kink at 0: keep the sample points clear of it.
    z[np.abs(z) < 10 * STEP] = 0.5
    analytic = activation.derivative(z, activation.fn(z))
    np.testing.assert_allclose(analytic, finite_difference(activation.fn, z), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name, activation", [("sigmoid", Sigmoid), ("tanh", Tanh),
                                              ("relu", ReLU), ("softmax", Softmax)])
def test_each_activation_is_found_by_its_name(name, activation):
    assert activations.get(name) is activation
    assert activation.name == name


def test_sigmoid_is_one_over_one_plus_e_to_the_minus_z():
    z = np.linspace(-30, 30, 121)
    np.testing.assert_allclose(Sigmoid.fn(z), 1.0 / (1.0 + np.exp(-z)), rtol=1e-12, atol=1e-15)
    assert Sigmoid.fn(np.array([0.0])).tolist() == [0.5]


def test_sigmoid_leaves_its_argument_unchanged():
    z = sample_z()
    before = z.copy()
    Sigmoid.fn(z)
    np.testing.assert_array_equal(z, before)


def test_tanh_is_the_ratio_of_exponentials_and_stays_between_minus_one_and_one():
    z = np.linspace(-5, 5, 41)
    expected = (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))
    np.testing.assert_allclose(Tanh.fn(z), expected, rtol=1e-12, atol=1e-15)
    assert np.all(np.abs(Tanh.fn(sample_z(scale=20.0))) <= 1.0)


def test_relu_passes_positive_inputs_and_zeroes_negative_ones():
    z = np.array([-3.0, -0.1, 0.0, 0.1, 3.0])
    np.testing.assert_array_equal(ReLU.fn(z), [0.0, 0.0, 0.0, 0.1, 3.0])


def test_relu_derivative_is_zero_at_the_kink_and_one_above_it():
    z = np.array([-1.0, 0.0, 1e-9, 2.0])
    np.testing.assert_array_equal(ReLU.derivative(z, ReLU.fn(z)), [0.0, 0.0, 1.0, 1.0])


def test_softmax_columns_are_positive_and_sum_to_one():
    a = Softmax.fn(sample_z(scale=5.0))
    assert np.all(a > 0)
    np.testing.assert_allclose(a.sum(axis=0), 1.0, rtol=1e-12)


def test_softmax_treats_each_column_as_its_own_example():
    z = sample_z()
    together = Softmax.fn(z)
    for j in range(z.shape[1]):
        np.testing.assert_allclose(Softmax.fn(z[:, j:j + 1])[:, 0], together[:, j], rtol=1e-12)


def test_softmax_ignores_a_constant_added_to_a_column():
    z = sample_z()
    shifted = z + np.arange(z.shape[1]) * 100.0     # a different constant for each column
    np.testing.assert_allclose(Softmax.fn(shifted), Softmax.fn(z), rtol=1e-9)


def test_softmax_of_huge_inputs_neither_overflows_nor_warns():
    z = np.array([[1000.0, -1000.0], [999.0, -1001.0], [0.0, 5000.0]])
    # Underflow (e^-5000 becoming 0) is harmless and numpy ignores it by default.
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        a = Softmax.fn(z)
    assert np.all(np.isfinite(a))
    np.testing.assert_allclose(a.sum(axis=0), 1.0)


def test_softmax_jacobian_matches_finite_differences():
    """∂a_j/∂z_k = a_j (δ_jk - a_k): each output depends on every weighted input."""
    z = sample_z(shape=(5, 1))
    a = Softmax.fn(z)[:, 0]
    analytic = np.diag(a) - np.outer(a, a)
    numerical = np.empty((5, 5))
    for k in range(5):
        bump = np.zeros_like(z)
        bump[k] = STEP
        numerical[:, k] = (Softmax.fn(z + bump) - Softmax.fn(z - bump))[:, 0] / (2 * STEP)
    np.testing.assert_allclose(numerical, analytic, rtol=1e-6, atol=1e-10)


def test_softmax_of_two_classes_is_the_sigmoid_of_their_difference():
    """Why a [2, 2] softmax network is logistic regression: a_1 = σ(z_1 - z_0)."""
    z = sample_z(shape=(2, 8))
    np.testing.assert_allclose(Softmax.fn(z)[1], Sigmoid.fn(z[1] - z[0]), rtol=1e-12)


def test_log_likelihood_error_of_softmax_is_a_minus_y_by_finite_differences():
    """The book's eq. 81: δ^L = ∂C/∂z^L = a - y for softmax outputs and C = -ln a_y."""
    z = sample_z(shape=(4, 3))
    y = np.eye(4)[:, [2, 0, 3]]                     # one-hot columns for classes 2, 0, 3
    numerical = np.empty_like(z)
    for index in np.ndindex(z.shape):
        bump = np.zeros_like(z)
        bump[index] = STEP
        plus = LogLikelihoodCost.fn(Softmax.fn(z + bump), y)
        minus = LogLikelihoodCost.fn(Softmax.fn(z - bump), y)
        numerical[index] = (plus - minus) / (2 * STEP)
    analytic = LogLikelihoodCost.delta(z, Softmax.fn(z), y, Softmax)
    np.testing.assert_allclose(analytic, Softmax.fn(z) - y)
    np.testing.assert_allclose(numerical, analytic, rtol=1e-5, atol=1e-8)


def test_softmax_refuses_an_elementwise_derivative():
    z = sample_z()
    with pytest.raises(UsageError, match="log-likelihood"):
        Softmax.derivative(z, Softmax.fn(z))


@pytest.mark.parametrize("z", [0.0, np.float64(2.0), np.array(-3.0)])
def test_sigmoid_takes_a_lone_number(z):
    assert float(Sigmoid.fn(z)) == pytest.approx(1 / (1 + np.exp(-float(z))))
