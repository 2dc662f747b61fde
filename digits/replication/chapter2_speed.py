"""Chapter 2's claims on speed, measured: backpropagation against finite differences.

The gradient of the cost C of one mini-batch, two ways:

* by backpropagation: one forward pass keeping every z and a, then one backward pass
  (BP1-BP4), :meth:`digits.nn.network.Network.forward_pass` and ``backward_pass``;
* by finite differences, as the chapter describes: for each of the P weights and
  biases, nudge it by ε and feed the mini-batch forward again,
  ∂C/∂w ≈ (C(w + ε) - C(w)) / ε: P + 1 forward passes.

Both are timed in the same run, in the same workspaces (arrays made once), in
processor seconds (:func:`seconds_now`), so that the ratio of their times is the ratio
of the work.  The chapter says the backward pass
costs about as much as the forward pass; :func:`pass_times` measures both.  Whether
the two gradients agree is checked with central differences in float64,
(C(w + ε) - C(w - ε)) / 2ε, whose error is O(ε²) rather than O(ε).

C here is the network's cost summed over the mini-batch's m examples, Σ_x C_x, the
sum :meth:`~digits.nn.network.Network.backprop` returns the gradient of.
"""

from __future__ import annotations

import time

import numpy as np

from digits.nn.network import Network
from digits.replication.checks import Claim, runs
from digits.system.threads import blas_threads

EPSILON_FORWARD = 1e-6     # one-sided differences: error O(ε), rounding O(1e-16 / ε)
EPSILON_CENTRAL = 1e-4     # central differences: error O(ε²), rounding O(1e-16 / ε)
# Entry by entry, relative differences are taken over the gradients at least this
# fraction of the largest: a pixel that is 0 in every image of the mini-batch gives
# its weights a gradient of exactly 0 both ways (0 / 0 says nothing), and a gradient
# a million times smaller than the largest is below the rounding of C(w ± ε).
SMALLEST_COMPARED = 1e-6
REPEATS = 2000             # forward and backward passes timed, in ROUNDS turns
ROUNDS = 10                # each pass's time is its fastest turn's mean


class Workspaces:
    """One mini-batch ``(x, y)`` (columns) and the arrays the network computes it in."""

    def __init__(self, network: Network, x, y):
        self.network = network
        self.x = np.ascontiguousarray(x, dtype=network.dtype)
        self.y = np.ascontiguousarray(y, dtype=network.dtype)
        self.arrays = [layer.make_workspace(self.x.shape[1], True, network.dtype)
                       for layer in network.layers]

    def cost(self) -> float:
        """C = Σ_x C_x over the mini-batch, after one forward pass."""
        output = self.network.forward_pass(self.arrays, self.x, rng=None)
        return self.network.cost.fn(output, self.y)

    def backpropagation(self):
        """(nabla_b, nabla_w): one forward and one backward pass (copies of the gradients)."""
        self.network.forward_pass(self.arrays, self.x, rng=None)
        self.network.backward_pass(self.arrays, self.y, scale=1.0)
        return [ws.nabla_b.copy() for ws in self.arrays], [ws.nabla_w.copy() for ws in self.arrays]


def parameters(network: Network) -> list:
    """Every array of weights and biases, in the order (b of layer 1, ..., w of layer 1, ...)."""
    return network.biases + network.weights


def finite_differences(workspaces: Workspaces, central=False, epsilon=None, chosen=None):
    """(nabla_b, nabla_w) by nudging each parameter in place and feeding forward again.

    One-sided: (C(w + ε) - C(w)) / ε, P + 1 forward passes.  Central:
    (C(w + ε) - C(w - ε)) / 2ε, 2P passes.  Every parameter is put back exactly.
    ``chosen``, one array of flat indices per parameter array (in the order of
    :func:`parameters`), differentiates only those entries; the others are NaN.
    """
    if epsilon is None:
        epsilon = EPSILON_CENTRAL if central else EPSILON_FORWARD
    base = None if central else workspaces.cost()
    arrays = parameters(workspaces.network)
    if chosen is None:
        chosen = [range(array.size) for array in arrays]
    gradients = []
    for array, indices in zip(arrays, chosen):
        gradient = np.full(array.shape, np.nan)
        flat, out = array.reshape(-1), gradient.reshape(-1)
        for i in indices:
            kept = flat[i]
            flat[i] = kept + epsilon
            above = workspaces.cost()
            if central:
                flat[i] = kept - epsilon
                out[i] = (above - workspaces.cost()) / (2 * epsilon)
            else:
                out[i] = (above - base) / epsilon
            flat[i] = kept
        gradients.append(gradient)
    layers = len(workspaces.network.layers)
    return gradients[:layers], gradients[layers:]


def _flat_pair(one, other):
    """The entries of two (nabla_b, nabla_w) gradients as two flat arrays, NaNs of either left out."""
    a = np.concatenate([g.reshape(-1) for part in one for g in part])
    b = np.concatenate([g.reshape(-1) for part in other for g in part])
    known = ~(np.isnan(a) | np.isnan(b))
    return a[known], b[known]


def largest_relative_difference(one, other, smallest=SMALLEST_COMPARED) -> float:
    """max |a - b| / max(|a|, |b|) over the entries where max(|a|, |b|) is at least
    ``smallest`` times the largest |a| (entries NaN in either are left out).

    ``one`` and ``other`` are (nabla_b, nabla_w) pairs of lists of arrays.
    """
    a, b = _flat_pair(one, other)
    scale = np.maximum(np.abs(a), np.abs(b))
    compared = scale >= smallest * np.max(np.abs(a), initial=0.0)
    if not compared.any():
        return 0.0
    return float(np.max(np.abs(a - b)[compared] / scale[compared]))


def norm_relative_difference(one, other) -> float:
    """‖a - b‖ / (‖a‖ + ‖b‖) over every entry both gradients have (0 when both are 0)."""
    a, b = _flat_pair(one, other)
    total = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / total) if total else 0.0


def sample_of_parameters(network: Network, count, seed) -> list:
    """``count`` entries of all the weights and biases drawn without replacement, as
    :func:`finite_differences` takes them: one sorted index array per parameter array."""
    sizes = [array.size for array in parameters(network)]
    count = min(count, sum(sizes))
    drawn = np.sort(np.random.default_rng(seed).choice(sum(sizes), size=count, replace=False))
    starts = np.cumsum([0] + sizes)
    return [drawn[(drawn >= start) & (drawn < stop)] - start for start, stop in zip(starts[:-1], starts[1:])]


def seconds_now() -> float:
    """This process's processor time, in seconds (:func:`time.process_time`).

    Every time here is processor time, not wall time: on a machine shared with other
    work a wall clock also counts the moments the process waited for a core, which
    come and go and would make the ratios a lottery.  The BLAS runs one thread
    (:func:`measure`), so processor time is the time of the arithmetic.
    """
    return time.process_time()


def mean_seconds(action, repeats) -> float:
    """The processor seconds of ``repeats`` calls of ``action()`` in a row, divided by ``repeats``."""
    started = seconds_now()
    for _ in range(repeats):
        action()
    return (seconds_now() - started) / repeats


def pass_times(workspaces: Workspaces, repeats=REPEATS, rounds=ROUNDS) -> dict:
    """Seconds of one forward pass (with the cost), one backward pass, and both.

    The three are timed in turns, ``rounds`` turns of ``repeats / rounds`` calls each,
    and each keeps the mean of its fastest turn: a pass of some 100 µs is easily slowed
    by whatever else the machine does for a moment, never sped up, so the fastest turn
    is the one nearest the pass's own cost, and taking turns gives each pass the same
    moments (one pass timed whole before the other made their ratio vary from 0.45x to
    0.8x between runs).
    """
    network, arrays = workspaces.network, workspaces.arrays
    passes = {"forward_seconds": workspaces.cost,
              "backward_seconds": lambda: network.backward_pass(arrays, workspaces.y, scale=1.0),
              "backprop_seconds": workspaces.backpropagation}
    calls = max(1, repeats // rounds)
    fastest = dict.fromkeys(passes, float("inf"))
    for _ in range(rounds):
        # In this order, each backward pass finds the z and a of the same mini-batch's
        # forward pass in the workspaces, as backpropagation does.
        for name, action in passes.items():
            fastest[name] = min(fastest[name], mean_seconds(action, calls))
    return fastest


def measure(sizes, x, y, seed=1, repeats=REPEATS, checked=None) -> dict:
    """Chapter 2's comparison for a ``Network(sizes)`` (float64) on the mini-batch (x, y).

    Returns plain numbers: the parameter count P, the seconds of a forward pass, a
    backward pass and backpropagation, the seconds of the one-sided finite differences
    (P + 1 forward passes) and their ratio to backpropagation, the backward / forward
    ratio, and the relative differences between backpropagation's gradient and central
    differences' (:func:`largest_relative_difference`, :func:`norm_relative_difference`),
    over every parameter, or over ``checked`` of them drawn at random.
    """
    with blas_threads(1):       # one core, as every run of the replication
        return _measure(Network(list(sizes), seed=seed, dtype=np.float64), x, y, seed, repeats, checked)


def _measure(network, x, y, seed, repeats, checked) -> dict:
    workspaces = Workspaces(network, x, y)
    sizes = network.sizes
    result = {"sizes": list(sizes), "parameters": network.parameter_count(),
              "mini_batch_size": int(workspaces.x.shape[1])}
    result.update(pass_times(workspaces, repeats))
    started, wall = seconds_now(), time.perf_counter()
    forward_gradient = finite_differences(workspaces, central=False)
    result["finite_difference_seconds"] = seconds_now() - started
    result["finite_difference_wall_seconds"] = time.perf_counter() - wall
    result["forward_passes"] = result["parameters"] + 1
    result["seconds_per_difference"] = result["finite_difference_seconds"] / result["forward_passes"]
    result["finite_difference_over_backprop"] = result["finite_difference_seconds"] / result["backprop_seconds"]
    result["backward_over_forward"] = result["backward_seconds"] / result["forward_seconds"]
    backprop = workspaces.backpropagation()
    result["norm_difference_one_sided"] = norm_relative_difference(backprop, forward_gradient)
    chosen = None if checked is None else sample_of_parameters(network, checked, seed)
    started = seconds_now()
    central = finite_differences(workspaces, central=True, chosen=chosen)
    result["central_difference_seconds"] = seconds_now() - started
    result["parameters_checked"] = result["parameters"] if chosen is None else int(sum(map(len, chosen)))
    result["relative_difference"] = largest_relative_difference(backprop, central)
    result["norm_difference"] = norm_relative_difference(backprop, central)
    return result


# -- the rows ch2-backprop-speed and ch2-matrix --------------------------------------------

# The book's network and the larger one, on the first mini-batch of 10 training images.
# The one-sided differences run over every parameter (they are what is timed); the
# central differences check a random sample of 5,000 (all of them would take twice
# as long again).
SPEED_VARIANTS = {"[784, 30, 10]": dict(kind="backprop-speed", sizes=[784, 30, 10], checked=5000),
                  "[784, 100, 10]": dict(kind="backprop-speed", sizes=[784, 100, 10], checked=5000)}
MINI_BATCH_SIZE = 10
# ch2-matrix: the bench's comparison (digits.replication.bench) on a slice of the
# training images: our epochs on ``images``, the per-example loop on
# ``reference_images``, each scaled to 50,000, in ``rounds`` turns.
MATRIX_SETTINGS = dict(kind="matrix", sizes=[784, 30, 10], mini_batch_size=10, dtype="float64",
                       images=10_000, reference_images=2_000, rounds=3)
# "About as much as a forward pass": the backward pass within this factor of it.
SAME_COST = 2.0


def run_backprop_speed(task, context) -> dict:
    """:func:`measure` on the first mini-batch of the training images."""
    batch = context.training[:MINI_BATCH_SIZE]
    settings = task.settings
    return measure(settings["sizes"], batch.inputs.T, batch.targets().T, seed=task.seed,
                   checked=settings["checked"])


def speed_seconds(task) -> float:
    """About how long a run takes on one core: (P + 2 x checked) forward passes, each
    some 60 µs of numpy's overhead and 1.5 ns per parameter."""
    sizes = task.settings["sizes"]
    parameters = sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    checked = task.settings["checked"] or parameters
    return (parameters + 2 * checked) * (60e-6 + 1.5e-9 * parameters)


def quick_speed(settings) -> dict:
    """``--quick``: a tenth of the hidden neurons, and central differences on 300 parameters."""
    sizes = list(settings["sizes"])
    sizes[1:-1] = [max(1, n // 10) for n in sizes[1:-1]]
    return dict(settings, sizes=sizes, checked=300)


def quick_matrix(settings) -> dict:
    """``--quick``: one turn, on 1,000 images (the loop on 200)."""
    return dict(settings, images=1_000, reference_images=200, rounds=1)


def check_backprop_speed(result) -> list:
    claims = []
    for entry in result["variants"]:
        run = runs(result, entry["name"])[0]
        claims.append(Claim(
            f"{entry['name']}: the backward pass costs about as much as the forward pass",
            f"backward / forward {run['backward_over_forward']:.2f}x "
            f"({1e6 * run['backward_seconds']:.0f} / {1e6 * run['forward_seconds']:.0f} µs)",
            1 / SAME_COST <= run["backward_over_forward"] <= SAME_COST))
        claims.append(Claim(
            f"{entry['name']}: finite differences need a forward pass per weight",
            f"{run['forward_passes']:,} forward passes in {run['finite_difference_seconds']:.1f} s, "
            f"{run['finite_difference_over_backprop']:,.0f}x backpropagation's "
            f"{1e3 * run['backprop_seconds']:.2f} ms",
            run["finite_difference_over_backprop"] > run["parameters"] / 10))
        checked = ("every parameter" if run["parameters_checked"] == run["parameters"]
                   else f"{run['parameters_checked']:,} parameters drawn at random")
        claims.append(Claim(
            f"{entry['name']}: both give the same gradient",
            f"central differences, {checked}: largest relative difference "
            f"{run['relative_difference']:.1e}, norm-wise {run['norm_difference']:.1e}",
            run["relative_difference"] < 1e-3))
    if len(result["variants"]) > 1:
        claims.append(_growth_claim([runs(result, entry["name"])[0] for entry in result["variants"]]))
    return claims


def _growth_claim(measured) -> Claim:
    """Between the smallest and the largest network: the finite differences' time, in
    backpropagations, grows as the number of parameters (within a factor of 2)."""
    small, large = min(measured, key=lambda r: r["parameters"]), max(measured, key=lambda r: r["parameters"])
    more = large["parameters"] / small["parameters"]
    differences = large["finite_difference_seconds"] / small["finite_difference_seconds"]
    backprop = large["backprop_seconds"] / small["backprop_seconds"]
    grows = large["finite_difference_over_backprop"] / small["finite_difference_over_backprop"]
    return Claim("finite differences' cost grows with the number of weights, backpropagation's does not",
                 f"{more:.1f}x the parameters: finite differences {differences:.1f}x the time, "
                 f"backpropagation {backprop:.1f}x (as much as the forward pass grows), so "
                 f"{grows:.1f}x as many backpropagations", more / 2 <= grows <= more * 2)


def check_matrix(result) -> list:
    run = runs(result)[0]
    return [Claim("about twice as fast as the per-example loop",
                  f"{run['ratio']:.1f}x ({run['our_seconds_per_epoch']:.2f} s per epoch against "
                  f"{run['reference_seconds_per_epoch']:.2f} s)", run["ratio"] >= 1.5)]
