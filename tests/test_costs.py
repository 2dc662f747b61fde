"""The costs of :mod:`digits.nn.costs` are finite for saturated outputs and the same in
float32 as in float64."""

import numpy as np
import pytest

from digits.nn.costs import CrossEntropyCost, LogLikelihoodCost, QuadraticCost
from digits.nn.dataset import DataSet
from digits.nn.network import Network


def saturated_network(dtype, cost="cross-entropy", activations="sigmoid"):
    """A [2, 3] network whose outputs are exactly 0 or 1 for the input (1, 1).

    Weighted inputs of ±100 give σ(z) = 1 and 0 to the last bit, in float32 and in
    float64 alike; the network answers class 0.
    """
    network = Network([2, 3], cost=cost, activations=activations, dtype=dtype)
    network.weights = [np.array([[50.0, 50.0], [-50.0, -50.0], [-50.0, -50.0]], dtype=dtype)]
    network.biases = [np.zeros((3, 1), dtype=dtype)]
    return network


# Output (1, 0, 0) is right for class 0 and as wrong as it can be for class 1.
RIGHT_AND_WRONG = DataSet(np.ones((2, 2), dtype=np.float32), np.array([0, 1]), 3)


def test_a_float32_network_with_saturated_outputs_has_a_finite_cross_entropy_cost():
    network = saturated_network(np.float32)
    assert np.all(network.feedforward(np.ones((2, 1))) == np.array([[1.0], [0.0], [0.0]]))

    cost = network.total_cost(RIGHT_AND_WRONG)

    assert np.isfinite(cost)
    # Class 1's example: -ln(1 - 1) for output 0 and -ln(0) for output 1, each kept
    # 1e-12 from the edge: ln(1e12) twice, over two examples.
    assert cost == pytest.approx(np.log(1e12), rel=1e-6)


def test_float32_and_float64_networks_report_the_same_cross_entropy_cost():
    float32 = saturated_network(np.float32).total_cost(RIGHT_AND_WRONG)
    float64 = saturated_network(np.float64).total_cost(RIGHT_AND_WRONG)
    assert float32 == pytest.approx(float64, rel=1e-12)


def test_a_saturated_right_answer_costs_nothing_not_nan():
    a = np.array([[1.0], [0.0]], dtype=np.float32)
    cost = CrossEntropyCost.fn(a, a)
    assert cost == pytest.approx(0.0, abs=1e-10)


def test_float32_and_float64_report_the_same_log_likelihood_cost():
    rng = np.random.default_rng(0)
    outputs = rng.dirichlet(np.ones(10), size=50).T          # (10, 50) softmax-like columns
    outputs[:, 0] = np.eye(10)[3]                            # one saturated column, label 7
    targets = np.eye(10)[rng.integers(0, 10, size=50)].T
    targets[:, 0] = np.eye(10)[7]

    float32 = LogLikelihoodCost.fn(outputs.astype(np.float32), targets.astype(np.float32))
    float64 = LogLikelihoodCost.fn(outputs.astype(np.float32).astype(np.float64), targets)

    assert np.isfinite(float32)
    assert float32 == float64


def test_the_quadratic_cost_of_float32_outputs_is_summed_in_float64():
    outputs = np.full((10, 10_000), 0.1, dtype=np.float32)
    targets = np.zeros((10, 10_000), dtype=np.float32)
    exact = 0.5 * 100_000 * float(np.float32(0.1)) ** 2
    assert QuadraticCost.fn(outputs, targets) == pytest.approx(exact, rel=1e-12)
