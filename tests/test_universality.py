"""Chapter 4's construction (digits.nn.universality): steps, bumps, towers, and a trained network."""

from __future__ import annotations

import numpy as np
import pytest

from digits.nn import universality
from digits.nn.network import Network
from digits.system.errors import UsageError


def test_the_goal_is_the_chapters_function():
    assert universality.goal(0.0) == pytest.approx(0.25)
    x = 0.7
    expected = 0.2 + 0.4 * x ** 2 + 0.3 * x * np.sin(15 * x) + 0.05 * np.cos(50 * x)
    assert universality.goal(x) == pytest.approx(expected)


def test_the_construction_is_a_library_network_with_two_hidden_neurons_per_bump():
    network = universality.construct(7)
    assert isinstance(network, Network)
    assert network.sizes == [1, 14, 1]
    assert [a.name for a in network.activations] == ["sigmoid", "sigmoid"]


def test_each_hidden_neuron_is_a_step_at_minus_b_over_w():
    network = universality.construct(4, w=1000)
    steps = universality.hidden_steps(network, [0.24, 0.26, 0.49, 0.51])
    # Neurons 1 and 2 step at 0.25 (the end of bump 0, the start of bump 1), 3 at 0.5;
    # 0.01 from a step, σ(±10) is within 1e-4 of 0 or 1.
    assert steps[1] == pytest.approx([0, 1, 1, 1], abs=1e-4)
    assert steps[2] == pytest.approx([0, 1, 1, 1], abs=1e-4)
    assert steps[3] == pytest.approx([0, 0, 0, 1], abs=1e-4)


def test_inside_each_bump_the_output_is_the_height_asked_for():
    heights = [0.2, 0.7, 0.4]
    network = universality.bump_network(heights, w=1000)
    centres = [1 / 6, 1 / 2, 5 / 6]
    assert universality.outputs(network, centres) == pytest.approx(heights, abs=1e-9)


def test_the_heights_are_the_goal_at_the_bump_centres():
    assert universality.heights_for(4) == pytest.approx(universality.goal([0.125, 0.375, 0.625, 0.875]))


def test_a_smaller_step_weight_gives_a_smoother_step():
    sharp = universality.hidden_steps(universality.construct(2, w=1000), [0.52])[1, 0]
    smooth = universality.hidden_steps(universality.construct(2, w=10), [0.52])[1, 0]
    assert sharp > 0.99 and 0.5 < smooth < 0.6


def test_the_deviation_falls_roughly_as_one_over_n():
    ns = [5, 10, 20, 50, 100]
    deviations = [universality.average_deviation(universality.construct(n)) for n in ns]
    assert all(a > b for a, b in zip(deviations, deviations[1:]))
    slope = np.polyfit(np.log(ns), np.log(deviations), 1)[0]
    assert -1.5 < slope < -0.7
    assert deviations[-1] < 0.005


def test_steps_too_smooth_do_not_get_better_with_more_bumps():
    coarse = universality.average_deviation(universality.construct(10, w=10))
    fine = universality.average_deviation(universality.construct(100, w=10))
    assert fine > 0.8 * coarse > 0.08


def test_the_average_deviation_is_the_mean_absolute_difference_on_the_grid():
    network = universality.bump_network([0.5], w=1000)
    x = universality.grid(101)
    expected = np.mean(np.abs(universality.outputs(network, x) - universality.goal(x)))
    assert universality.average_deviation(network, points=101) == pytest.approx(expected)


def test_a_tower_is_high_on_its_square_only():
    heights = np.full((4, 4), 0.01)
    heights[1, 2] = 0.9
    network = universality.tower_network(heights)
    assert network.sizes == [2, 10, 16, 1]
    inside = network.feedforward(np.array([[0.375], [0.625]]))[0, 0]
    cross = network.feedforward(np.array([[0.375], [0.125]]))[0, 0]     # same x bump, other y
    assert inside == pytest.approx(0.9, abs=1e-6)
    assert cross == pytest.approx(0.01, abs=1e-6)


def test_more_towers_approximate_the_two_input_goal_better():
    deviations = []
    for n in (4, 16):
        x, y, z = universality.surface(universality.construct_towers(n), points=60)
        deviations.append(np.mean(np.abs(z - universality.goal_2d(x, y))))
    assert deviations[1] < deviations[0] / 2


def test_bad_sizes_are_refused_in_one_line():
    with pytest.raises(UsageError, match="number of bumps"):
        universality.construct(0)
    with pytest.raises(UsageError, match="step weight"):
        universality.construct(5, w=-1)
    with pytest.raises(UsageError, match="square"):
        universality.tower_network(np.ones((2, 3)) / 2)


def test_training_by_sgd_approximates_the_goal_better_than_a_flat_line():
    network = universality.train(10, epochs=200, seed=3)
    assert network.sizes == [1, 10, 1]
    flat = float(np.mean(np.abs(universality.goal(universality.grid()) - np.median(universality.goal(universality.grid())))))
    assert universality.average_deviation(network) < 0.6 * flat


def test_training_is_seeded():
    one = universality.outputs(universality.train(5, epochs=20, seed=4), [0.3, 0.6])
    two = universality.outputs(universality.train(5, epochs=20, seed=4), [0.3, 0.6])
    assert np.array_equal(one, two)


def test_perfect_steps_are_the_limit_of_ever_larger_weights():
    assert universality.average_deviation(universality.construct(20, w=1e6)) == pytest.approx(
        universality.staircase_deviation(20), rel=2e-3)     # (the points on the edges differ)
