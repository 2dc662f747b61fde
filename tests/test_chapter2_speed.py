"""Chapter 2's speed experiment (digits.replication.chapter2_speed): finite differences
against backpropagation, on small networks so that each test takes a moment."""

from __future__ import annotations

import numpy as np
import pytest

from digits.nn.network import Network
from digits.replication import chapter2_speed as speed


def mini_batch(n_in=12, n_out=3, m=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (n_in, m))
    y = np.eye(n_out)[:, rng.integers(0, n_out, m)]
    return x, y


def test_central_differences_agree_with_backpropagation():
    x, y = mini_batch()
    workspaces = speed.Workspaces(Network([12, 6, 3], seed=2), x, y)
    backprop = workspaces.backpropagation()
    central = speed.finite_differences(workspaces, central=True)
    assert speed.norm_relative_difference(backprop, central) < 1e-8
    assert speed.largest_relative_difference(backprop, central) < 1e-5


def test_the_gradients_are_those_of_network_backprop():
    x, y = mini_batch()
    network = Network([12, 6, 3], seed=2)
    nabla_b, nabla_w = speed.Workspaces(network, x, y).backpropagation()
    expected_b, expected_w = network.backprop(x, y)
    for ours, theirs in zip(nabla_b + nabla_w, expected_b + expected_w):
        assert np.array_equal(ours, theirs)


def test_a_wrong_gradient_shows_as_a_large_difference():
    x, y = mini_batch()
    workspaces = speed.Workspaces(Network([12, 6, 3], seed=2), x, y)
    nabla_b, nabla_w = workspaces.backpropagation()
    nabla_w[0][2, 3] *= 1.5
    central = speed.finite_differences(workspaces, central=True)
    assert speed.largest_relative_difference((nabla_b, nabla_w), central) > 0.3


def test_finite_differences_put_every_parameter_back_exactly():
    x, y = mini_batch()
    network = Network([12, 6, 3], seed=2)
    before = [a.copy() for a in network.weights + network.biases]
    workspaces = speed.Workspaces(network, x, y)
    speed.finite_differences(workspaces)
    speed.finite_differences(workspaces, central=True)
    for kept, now in zip(before, network.weights + network.biases):
        assert np.array_equal(kept, now)


def test_one_sided_differences_are_close_but_less_exact():
    x, y = mini_batch()
    workspaces = speed.Workspaces(Network([12, 6, 3], seed=2), x, y)
    backprop = workspaces.backpropagation()
    one_sided = speed.norm_relative_difference(backprop, speed.finite_differences(workspaces))
    central = speed.norm_relative_difference(backprop, speed.finite_differences(workspaces, central=True))
    assert central < one_sided < 1e-4


def test_a_sample_of_parameters_is_differentiated_alone():
    x, y = mini_batch()
    network = Network([12, 6, 3], seed=2)
    chosen = speed.sample_of_parameters(network, 10, seed=1)
    assert sum(map(len, chosen)) == 10
    gradient_b, gradient_w = speed.finite_differences(speed.Workspaces(network, x, y), central=True, chosen=chosen)
    flat = np.concatenate([g.reshape(-1) for g in gradient_b + gradient_w])
    assert np.count_nonzero(~np.isnan(flat)) == 10


def test_zero_gradients_are_not_compared():
    zero = ([np.zeros((2, 1))], [np.array([[1.0, 0.0]])])
    other = ([np.zeros((2, 1))], [np.array([[1.0, 0.0]])])
    assert speed.largest_relative_difference(zero, other) == 0.0


def test_measure_reports_the_chapters_numbers():
    x, y = mini_batch(n_in=30, n_out=4, m=10)
    result = speed.measure([30, 8, 4], x, y, repeats=5)
    assert result["parameters"] == 30 * 8 + 8 + 8 * 4 + 4
    assert result["forward_passes"] == result["parameters"] + 1
    assert result["parameters_checked"] == result["parameters"]
    # P + 1 forward passes take far longer than one forward and one backward pass.
    assert result["finite_difference_over_backprop"] > 20
    assert 0 < result["backward_over_forward"] < 20
    assert result["relative_difference"] < 1e-4
    assert result["norm_difference"] < result["norm_difference_one_sided"]


def test_measure_can_check_a_sample_only():
    x, y = mini_batch(n_in=30, n_out=4, m=10)
    result = speed.measure([30, 8, 4], x, y, repeats=3, checked=50)
    assert result["parameters_checked"] == 50
