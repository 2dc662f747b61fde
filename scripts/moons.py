"""Two moons: what a hidden layer buys, drawn as the regions each network calls blue or red.

The data are two interleaved half circles in the plane, one per class, blurred by
Gaussian noise so that they overlap a little.  No straight line separates them, so a
network with no hidden layer (``[2, 2]`` with a softmax output: logistic regression)
can only cut the plane in two with a line.  One hidden layer of H tanh neurons lets
the boundary bend: each hidden neuron contributes one soft straight edge, and the
output layer blends them.  A few neurons give a smooth curve that follows the moons;
fifty, trained long enough with little regularisation, bend the boundary around
single noisy points: they fit the training data better and the true shape worse,
which is overfitting.

Every network here is the library's :class:`~digits.nn.network.Network`, trained by
full-batch gradient descent (stochastic gradient descent with a mini-batch as large
as the data set), the log-likelihood cost of a softmax output layer and L2
regularisation, exactly as in chapter 3 of the book.

Run ``python scripts/moons.py`` (or ``make moons``): it prints a table of H, training
accuracy and final cost, and draws ``docs/images/moons.png``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digits.app.cli import ArgumentParser, HelpFormatter, check_seed, exit_status
from digits.nn.dataset import DataSet
from digits.system.errors import UsageError
from digits.system.files import check_png_path, write_atomically
from digits.nn.network import Network
from digits.app.plots import png_bytes
from digits.app.terminal import show

HIDDEN_SIZES = (1, 2, 3, 4, 5, 20, 50)
DEFAULT_OUTPUT = Path("docs") / "images" / "moons.png"
CLASS_COLOURS = ("#1f5fa8", "#c0392b")     # points: blue moon (class 0), red moon (class 1)
REGION_COLOURS = ("#c6dbef", "#f9d0c4")    # the same hues, pale, for the decision regions


def make_moons(n=200, noise=0.20, seed=0) -> DataSet:
    """``n`` points on two interleaved half circles, with Gaussian noise; a 2-class DataSet.

    Class 0 lies on the upper half of the unit circle, ``(cos t, sin t)`` for t in
    [0, π]; class 1 on a lower half circle shifted right and down so that it hooks
    into the first, ``(1 - cos t, 1/2 - sin t)``.  The angles t are drawn uniformly,
    then every coordinate gets independent N(0, noise²) noise.  The first ``n // 2``
    rows are class 0, the rest class 1; the same ``seed`` gives the same points.
    """
    if n < 2:
        raise UsageError(f"two moons need at least 2 points, got {n}")
    if not (np.isfinite(noise) and noise >= 0):
        raise UsageError(f"noise must be zero or positive, got {noise!r}")
    rng = np.random.default_rng(seed)
    n_upper = n // 2
    n_lower = n - n_upper
    t_upper = rng.uniform(0.0, np.pi, n_upper)
    t_lower = rng.uniform(0.0, np.pi, n_lower)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    inputs = np.vstack([upper, lower]) + rng.normal(0.0, noise, size=(n, 2))
    labels = np.concatenate([np.zeros(n_upper, dtype=np.int64), np.ones(n_lower, dtype=np.int64)])
    return DataSet(inputs, labels, n_out=2)


def build_network(hidden, seed=0) -> Network:
    """``[2, hidden, 2]`` with tanh hidden neurons and a softmax output; ``hidden=0`` gives ``[2, 2]``.

    With no hidden layer the network is logistic regression (the softmax of two
    classes is the sigmoid of the difference of their weighted inputs), whose
    decision boundary is a straight line.
    """
    if hidden == 0:
        return Network([2, 2], cost="log-likelihood", activations=["softmax"],
                       init="default", seed=seed)
    return Network([2, hidden, 2], cost="log-likelihood", activations=["tanh", "softmax"],
                   init="default", seed=seed)


@dataclass
class Result:
    """One trained network and how well it fits its training data."""

    hidden: int
    network: Network
    accuracy: float        # fraction of the training points classified correctly
    cost: float            # mean log-likelihood cost plus the L2 term: what was minimised

    @property
    def label(self) -> str:
        return "no hidden layer" if self.hidden == 0 else f"H = {self.hidden}"


def train(hidden, training_data, epochs=20_000, eta=1.0, lmbda=0.001, seed=0) -> Result:
    """Train ``build_network(hidden, seed)`` by full-batch gradient descent; return a Result.

    Full-batch gradient descent is plain :meth:`Network.SGD` with ``mini_batch_size``
    equal to the number of training points: each epoch is one step down the gradient
    of the whole training cost.
    """
    network = build_network(hidden, seed)
    network.SGD(training_data, epochs, len(training_data), eta, lmbda=lmbda)
    return Result(hidden, network, network.accuracy(training_data),
                  network.total_cost(training_data, lmbda=lmbda))


def table_header() -> str:
    return f"{'network':<16} {'H':>3} {'training accuracy':>18} {'final cost':>11}"


def table_row(result: Result) -> str:
    return (f"{result.label:<16} {result.hidden:>3} {100 * result.accuracy:>17.1f}% "
            f"{result.cost:>11.4f}")


def decision_figure(training_data, results, resolution=300):
    """One panel per network: its decision regions on a fine grid, the training points on top.

    Each panel colours every point of a ``resolution`` x ``resolution`` grid by the
    class the network picks there (the larger softmax output), draws the boundary
    where the two outputs are equal, and scatters the training points coloured by
    their true class.  Titles give H and the training accuracy.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    inputs, labels = training_data.inputs, training_data.labels
    margin = 0.5
    x_min, y_min = inputs.min(axis=0) - margin
    x_max, y_max = inputs.max(axis=0) + margin
    xs = np.linspace(x_min, x_max, resolution)
    ys = np.linspace(y_min, y_max, resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    grid = np.vstack([grid_x.ravel(), grid_y.ravel()])   # (2, resolution²): one point per column

    columns = min(4, len(results))
    rows = -(-len(results) // columns)
    figure = Figure(figsize=(3.4 * columns, 3.1 * rows), layout="constrained")
    figure.suptitle(f"Two moons ({len(training_data)} points): the regions each network assigns "
                    "to each class, and its accuracy on the training points\n"
                    "[2, H, 2] networks with H tanh hidden neurons and a softmax output; "
                    "the baseline [2, 2] has no hidden layer")
    for index, result in enumerate(results, start=1):
        axes = figure.add_subplot(rows, columns, index)
        output = result.network.feedforward(grid)
        chosen = output.argmax(axis=0).reshape(grid_x.shape)         # (points,) -> (rows, columns)
        axes.imshow(chosen, origin="lower", extent=(x_min, x_max, y_min, y_max),
                    cmap=ListedColormap(REGION_COLOURS), vmin=0, vmax=1,
                    interpolation="nearest", aspect="auto")
        if chosen.min() != chosen.max():
            # Where the two softmax outputs are equal, a_1 - a_0 = 0: the boundary.
            difference = (output[1] - output[0]).reshape(grid_x.shape)
            axes.contour(grid_x, grid_y, difference, levels=[0.0], colors="0.25", linewidths=1)
        for label in (0, 1):
            points = inputs[labels == label]
            axes.scatter(points[:, 0], points[:, 1], s=12, color=CLASS_COLOURS[label],
                         edgecolors="white", linewidths=0.4)
        axes.set_title(f"{result.label}: {100 * result.accuracy:.1f}%")
        axes.set_xlim(x_min, x_max)
        axes.set_ylim(y_min, y_max)
        axes.set_xticks([])
        axes.set_yticks([])
    return figure


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="moons.py",
        description="Train [2, H, 2] tanh/softmax networks and a [2, 2] softmax baseline on "
                    "the two-moons data, print a table and draw their decision regions.",
        formatter_class=HelpFormatter)
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds both the data and every network's initial weights")
    parser.add_argument("--points", type=int, default=200, help="number of data points")
    parser.add_argument("--noise", type=float, default=0.20,
                        help="standard deviation of the Gaussian noise on each coordinate")
    parser.add_argument("--hidden", type=int, nargs="+", default=list(HIDDEN_SIZES), metavar="H",
                        help="hidden-layer sizes to train (the no-hidden baseline is always added)")
    parser.add_argument("--epochs", type=int, default=20_000,
                        help="full-batch gradient-descent steps per network")
    parser.add_argument("--eta", type=float, default=1.0, help="learning rate")
    parser.add_argument("--lmbda", type=float, default=0.001, help="L2 regularisation parameter")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="PNG file to draw")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return exit_status(lambda: run(args), "moons.py")


def run(args) -> int:
    """The script's work; errors a user can fix become one line (see digits.app.cli.exit_status)."""
    if any(hidden < 1 for hidden in args.hidden):
        raise UsageError(f"hidden-layer sizes must be at least 1, got {args.hidden}")
    check_seed(args.seed)
    if args.points < 2:     # (before the points are taken as the mini-batch size below)
        raise UsageError(f"--points must be at least 2, one for each moon, got {args.points}")
    Network.check_hyperparameters(args.epochs, args.points, args.eta, args.lmbda)
    check_png_path(args.output)
    training_data = make_moons(args.points, args.noise, args.seed)
    show(f"two moons: {len(training_data)} points, noise {args.noise}, seed {args.seed}; "
         f"full-batch gradient descent, {args.epochs} epochs, eta {args.eta}, "
         f"lmbda {args.lmbda}")
    show(table_header())
    results = []
    for hidden in [0, *args.hidden]:
        result = train(hidden, training_data, args.epochs, args.eta, args.lmbda, args.seed)
        show(table_row(result))
        results.append(result)
    write_atomically(args.output, png_bytes(decision_figure(training_data, results)))
    show(f"drew {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
