"""Chapter 4's visual proof that a network can compute any function, built by hand.

The goal (the chapter's): f(x) = 0.2 + 0.4 x² + 0.3 x sin(15 x) + 0.05 cos(50 x) on [0, 1].

The construction, in the chapter's steps:

1. A sigmoid neuron of one input, σ(w x + b), is nearly a step from 0 to 1 at
   s = -b/w once the weight w is large (the chapter uses w = 1000); a smaller w
   gives a smoother step.  So a step at s has bias b = -w s.
2. Two such neurons, stepping at s and t > s, joined to the output with weights
   +h and -h, add a *bump*: h on [s, t), 0 elsewhere.
3. N bumps side by side, bump i on [i/N, (i + 1)/N), make a staircase.  The
   output neuron is a sigmoid too, so the hidden layer's weighted output aims at
   σ⁻¹∘f: bump i's output weight is h_i = σ⁻¹(y_i), with y_i the height wanted
   from the network (f at the bump's centre), and the output bias is 0.  Inside
   bump i the output is then σ(h_i) = y_i.

That network is ``Network([1, 2N, 1])``: hidden neurons 2i and 2i + 1 are bump i's
two steps.  With two inputs (:func:`tower_network`), a bump in x and a bump in y
add up to 2 on a square, 1 on the cross around it and 0 elsewhere; a sigmoid of a
second hidden layer with bias -1.5 (times a large weight) keeps only the square:
a *tower*, and N x N towers approximate a function of (x, y).

Nothing here is trained; :func:`train` fits a ``[1, n, 1]`` network to samples of
f by the library's own stochastic gradient descent, to compare with.
"""

from __future__ import annotations

import numpy as np

from digits.nn.activations import Sigmoid
from digits.nn.dataset import DataSet
from digits.nn.network import Network
from digits.system.errors import UsageError

STEP_WEIGHT = 1000.0      # the chapter's w: steps a thousandth of the interval wide
GRID_POINTS = 10_001      # the fine grid on which the deviation from f is averaged
# Heights wanted from a sigmoid output are kept this far inside (0, 1): σ⁻¹(0) is -∞.
HEIGHT_MARGIN = 1e-3


def goal(x):
    """The chapter's goal f(x) = 0.2 + 0.4 x² + 0.3 x sin(15 x) + 0.05 cos(50 x)."""
    x = np.asarray(x, dtype=np.float64)
    return 0.2 + 0.4 * x ** 2 + 0.3 * x * np.sin(15 * x) + 0.05 * np.cos(50 * x)


def goal_2d(x, y):
    """A goal of two inputs for the towers: g(x, y) = (f(x) + f(y)) / 2 + 0.1 sin(6x) cos(6y)."""
    return (goal(x) + goal(y)) / 2 + 0.1 * np.sin(6 * np.asarray(x)) * np.cos(6 * np.asarray(y))


def grid(points=GRID_POINTS):
    """``points`` evenly spaced inputs from 0 to 1, both ends included."""
    return np.linspace(0.0, 1.0, points)


def inverse_sigmoid(y):
    """σ⁻¹(y) = ln(y / (1 - y)), with y first kept inside [HEIGHT_MARGIN, 1 - HEIGHT_MARGIN]."""
    y = np.clip(np.asarray(y, dtype=np.float64), HEIGHT_MARGIN, 1.0 - HEIGHT_MARGIN)
    return np.log(y / (1.0 - y))


def bump_edges(n):
    """The n + 1 edges 0, 1/n, ..., 1 of n bumps of equal width on [0, 1]."""
    _check_count(n, "bumps")
    return np.linspace(0.0, 1.0, n + 1)


def heights_for(n, function=goal):
    """The heights y_i = f((i + ½)/n) of n bumps: the goal at each bump's centre."""
    edges = bump_edges(n)
    return function((edges[:-1] + edges[1:]) / 2)


def bump_network(heights, w=STEP_WEIGHT) -> Network:
    """The ``[1, 2N, 1]`` network whose output is ``heights[i]`` on bump i (steps 1-3 above).

    Hidden neuron 2i steps up at i/N and 2i + 1 at (i + 1)/N, both with weight w and
    bias -w s; their output weights are +σ⁻¹(y_i) and -σ⁻¹(y_i); the output bias is 0.
    """
    heights = np.asarray(heights, dtype=np.float64).reshape(-1)
    n = heights.size
    _check_count(n, "bumps")
    _check_weight(w)
    edges = bump_edges(n)
    starts, ends = edges[:-1], edges[1:]
    steps = np.stack([starts, ends], axis=1).reshape(-1)            # (2N,): s of each hidden neuron
    h = inverse_sigmoid(heights)
    output = np.stack([h, -h], axis=1).reshape(1, -1)                 # (1, 2N)
    network = Network([1, 2 * n, 1], activations="sigmoid", initialise=False)
    network.weights = [np.full((2 * n, 1), float(w)), output]
    network.biases = [(-w * steps).reshape(-1, 1), np.zeros((1, 1))]
    return network


def construct(n, w=STEP_WEIGHT, function=goal) -> Network:
    """The chapter's construction with n bumps of step weight w, aimed at ``function``."""
    return bump_network(heights_for(n, function), w)


def staircase_deviation(n, function=goal, points=GRID_POINTS) -> float:
    """The mean |f(x) - y_i| on the grid for the staircase of n perfect steps (w → ∞):
    the limit the construction reaches as its step weight grows."""
    x = grid(points)
    bump = np.minimum((x * n).astype(np.int64), n - 1)          # the bump each x lies in
    return float(np.mean(np.abs(heights_for(n, function)[bump] - function(x))))


def hidden_steps(network, x):
    """Each hidden neuron's output σ(w x + b) on the inputs ``x``: ``(hidden, len(x))``."""
    layer = network.layers[0]
    x = np.asarray(x, dtype=np.float64).reshape(1, -1)
    return Sigmoid.fn(layer.weights @ x + layer.biases)


def outputs(network, x):
    """The network's output on each input of the 1-D array ``x`` (a 1-D array)."""
    return network.feedforward(np.asarray(x, dtype=np.float64).reshape(1, -1))[0]


def average_deviation(network, function=goal, points=GRID_POINTS) -> float:
    """The mean of |network(x) - f(x)| over ``points`` evenly spaced x in [0, 1]."""
    x = grid(points)
    return float(np.mean(np.abs(outputs(network, x) - function(x))))


def tower_network(heights, w=STEP_WEIGHT) -> Network:
    """The ``[2, 2(N+1), N², 1]`` network of N x N towers; ``heights[i, j]`` on square (i, j).

    Layer 1: N + 1 steps in x at 0, 1/N, ..., 1, then N + 1 in y.  Layer 2: tower
    (i, j) sums the x bump i (step i minus step i + 1) and the y bump j, so its input
    is 2 on the square, 1 on the cross and 0 elsewhere; weight w on each and bias
    -1.5 w keep the square alone.  The output weight of tower (i, j) is
    σ⁻¹(heights[i, j]), as in :func:`bump_network`.  Towers are numbered i N + j.
    """
    heights = np.asarray(heights, dtype=np.float64)
    if heights.ndim != 2 or heights.shape[0] != heights.shape[1]:
        raise UsageError(f"tower heights must be a square N x N array, got shape {heights.shape}")
    n = heights.shape[0]
    _check_count(n, "towers per side")
    _check_weight(w)
    edges = bump_edges(n)
    steps_w = np.zeros((2 * (n + 1), 2))
    steps_w[:n + 1, 0] = w                         # steps in x read x only
    steps_w[n + 1:, 1] = w                         # steps in y read y only
    steps_b = -w * np.concatenate([edges, edges]).reshape(-1, 1)
    towers_w = np.zeros((n * n, 2 * (n + 1)))
    for i in range(n):
        for j in range(n):
            row = towers_w[i * n + j]
            row[i], row[i + 1] = w, -w                              # bump i in x
            row[n + 1 + j], row[n + 2 + j] = w, -w                  # bump j in y
    towers_b = np.full((n * n, 1), -1.5 * w)
    output = inverse_sigmoid(heights).reshape(1, -1)
    network = Network([2, 2 * (n + 1), n * n, 1], activations="sigmoid", initialise=False)
    network.weights = [steps_w, towers_w, output]
    network.biases = [steps_b, towers_b, np.zeros((1, 1))]
    return network


def construct_towers(n, w=STEP_WEIGHT, function=goal_2d) -> Network:
    """N x N towers whose heights are ``function`` at the centres of their squares."""
    edges = bump_edges(n)
    centres = (edges[:-1] + edges[1:]) / 2
    x, y = np.meshgrid(centres, centres, indexing="ij")
    return tower_network(function(x, y), w)


def cell_centres(points):
    """The centres (k + ½)/points of ``points`` equal cells of [0, 1]: no point lies on an
    edge k/N of the towers (where the corners of four towers meet, all four are half on)."""
    return (np.arange(points) + 0.5) / points


def surface(network, points=101):
    """The two-input network's output on a ``points`` x ``points`` grid of cell centres: (x, y, z)."""
    x, y = np.meshgrid(cell_centres(points), cell_centres(points), indexing="ij")
    z = network.feedforward(np.stack([x.reshape(-1), y.reshape(-1)]))[0].reshape(x.shape)
    return x, y, z


# -- the comparison: a [1, n, 1] network trained on samples of f ----------------------

# How :func:`train` trains unless told otherwise: about a second for 20 hidden neurons.
TRAINING = {"epochs": 1000, "eta": 1.0, "momentum": 0.9, "mini_batch_size": 10, "count": 200}

def samples(count, seed, function=goal) -> DataSet:
    """``count`` inputs drawn uniformly from [0, 1] and f at each, as a one-output DataSet.

    With one output neuron a DataSet's label is the target itself (here a number in
    (0, 1), not a class).
    """
    _check_count(count, "samples")
    x = np.random.default_rng(seed).uniform(0.0, 1.0, count)
    return DataSet(x.reshape(-1, 1), function(x), n_out=1)


def train(hidden, epochs=TRAINING["epochs"], eta=TRAINING["eta"], momentum=TRAINING["momentum"],
          mini_batch_size=TRAINING["mini_batch_size"], count=TRAINING["count"], seed=1,
          function=goal, callbacks=()) -> Network:
    """A ``[1, hidden, 1]`` sigmoid network trained by SGD on ``count`` samples of f.

    The output neuron is a sigmoid, as in the construction (f lies inside (0, 1)),
    and the cost is the cross-entropy, whose output error a - y has no σ'(z) to slow
    a saturated output down (chapter 3); its minimum is still at a = y for targets
    between 0 and 1.  The weights start from N(0, 1) (the chapter-1 initialisation,
    the same as the default one for a single input); momentum (chapter 3) carries
    the steps along the long shallow valleys of this cost.  ``callbacks`` hear of the
    training as :func:`digits.nn.training.sgd` tells them (one may stop it early).
    """
    _check_count(hidden, "hidden neurons")
    network = Network([1, hidden, 1], cost="cross-entropy", activations="sigmoid", init="large", seed=seed)
    network.SGD(samples(count, seed, function), epochs, mini_batch_size, eta, momentum=momentum,
                callbacks=callbacks)
    return network


def _check_count(n, what):
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise UsageError(f"the number of {what} must be a whole number of at least 1, got {n!r}")


def _check_weight(w):
    if not np.isfinite(w) or w <= 0:
        raise UsageError(f"the step weight w must be a positive number, got {w!r}")
