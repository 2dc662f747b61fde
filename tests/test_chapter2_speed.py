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


def test_pass_times_takes_turns_and_keeps_each_pass_fastest_turn(monkeypatch):
    x, y = mini_batch()
    workspaces = speed.Workspaces(Network([12, 6, 3], seed=2), x, y)
    order, turns = [], iter([5.0, 4.0, 9.0,  3.0, 8.0, 7.0,  6.0, 2.0, 1.0])

    def timed(action, calls):
        order.append(calls)
        action()
        return next(turns)

    monkeypatch.setattr(speed, "mean_seconds", timed)
    times = speed.pass_times(workspaces, repeats=30, rounds=3)
    assert order == [10] * 9
    assert times == {"forward_seconds": 3.0, "backward_seconds": 2.0, "backprop_seconds": 1.0}


def test_measure_can_check_a_sample_only():
    x, y = mini_batch(n_in=30, n_out=4, m=10)
    result = speed.measure([30, 8, 4], x, y, repeats=3, checked=50)
    assert result["parameters_checked"] == 50


# -- the rows ------------------------------------------------------------------------------

def small_training(n=300, seed=0):
    from digits.nn.dataset import DataSet

    rng = np.random.default_rng(seed)
    return DataSet(rng.uniform(0, 1, (n, 784)).astype(np.float32), rng.integers(0, 10, n))


def as_result(experiment_id, variants):
    return {"id": experiment_id, "variants": [{"name": name, "runs": runs} for name, runs in variants.items()]}


def test_the_speed_row_runs_on_the_first_mini_batch_of_the_training_images():
    from types import SimpleNamespace

    settings = dict(speed.SPEED_VARIANTS["[784, 100, 10]"], sizes=[784, 3, 10], checked=200)
    run = speed.run_backprop_speed(SimpleNamespace(settings=settings, seed=1),
                                   SimpleNamespace(training=small_training()))
    assert run["mini_batch_size"] == 10 and run["parameters_checked"] == 200
    assert run["relative_difference"] < 1e-4


def speed_run(**changes):
    run = {"parameters": 23860, "parameters_checked": 23860, "forward_passes": 23861,
           "forward_seconds": 80e-6, "backward_seconds": 60e-6, "backprop_seconds": 150e-6,
           "finite_difference_seconds": 2.4, "finite_difference_over_backprop": 16000,
           "backward_over_forward": 0.75, "relative_difference": 3e-5, "norm_difference": 3e-10}
    return dict(run, **changes)


def test_the_speed_check_agrees_with_the_chapter_on_plausible_numbers():
    claims = speed.check_backprop_speed(as_result("ch2-backprop-speed", {"[784, 30, 10]": [speed_run()]}))
    assert len(claims) == 3 and all(claim.agrees for claim in claims)


def test_the_speed_check_fails_a_slow_backward_pass_or_a_wrong_gradient():
    slow = speed_run(backward_over_forward=5.0)
    wrong = speed_run(relative_difference=0.2)
    assert not speed.check_backprop_speed(as_result("x", {"n": [slow]}))[0].agrees
    assert not speed.check_backprop_speed(as_result("x", {"n": [wrong]}))[2].agrees


def test_the_matrix_row_times_both_ways_with_the_bench():
    from types import SimpleNamespace

    from digits.replication.chapter2_matrix import run_matrix

    run = run_matrix(SimpleNamespace(settings=speed.quick_matrix(speed.MATRIX_SETTINGS), seed=1),
                     SimpleNamespace(training=small_training()))
    assert run["our_seconds_per_epoch"] > 0 and run["reference_seconds_per_epoch"] > 0
    assert run["ratio"] == pytest.approx(np.median(run["ratio_runs"]))
    claim, = speed.check_matrix(as_result("ch2-matrix", {"": [run]}))
    assert claim.agrees == (run["ratio"] >= 1.5)


def test_the_speed_check_compares_the_two_networks():
    small = speed_run()
    large = speed_run(parameters=79510, finite_difference_seconds=12.0, backprop_seconds=250e-6,
                      finite_difference_over_backprop=48000)
    claims = speed.check_backprop_speed(as_result("x", {"[784, 30, 10]": [small], "[784, 100, 10]": [large]}))
    assert len(claims) == 7 and claims[-1].agrees and "3.3x the parameters" in claims[-1].ours
    flat = speed_run(parameters=79510, finite_difference_seconds=2.5)
    claims = speed.check_backprop_speed(as_result("x", {"[784, 30, 10]": [small], "[784, 100, 10]": [flat]}))
    assert not claims[-1].agrees


def test_the_matrix_row_is_not_taken_for_a_chapter6_run_timed_per_epoch():
    # The report shows "(x s per epoch)" beside the time of runs with seconds_per_epoch.
    from types import SimpleNamespace

    from digits.replication.chapter2_matrix import run_matrix

    run = run_matrix(SimpleNamespace(settings=speed.quick_matrix(speed.MATRIX_SETTINGS), seed=1),
                     SimpleNamespace(training=small_training()))
    assert "seconds_per_epoch" not in run
