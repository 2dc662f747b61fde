"""Chapter 3: overfitting, and how L2 regularisation tames it.

The book trains its [784, 30, 10] cross-entropy network (N(0, 1) weights, eta = 0.5)
on only the first 1,000 training images for 400 epochs and watches four curves: the
cost on the training data keeps falling and the training accuracy reaches 100%, while
the test accuracy stalls near 82% and the test cost turns up after about 15 epochs.
``--lmbda 0.1`` is the regularised twin (the book: 87.1%, still improving at epoch 400).
The four curves are drawn to ``--plot`` (redrawn every 10 epochs while it runs).

    python scripts/overfitting.py [--lmbda 0.1] [--plot results/overfitting.png]
"""

from pathlib import Path

import common
from digits.nn.callbacks import Callback
from digits.system.errors import UsageError
from digits.system.files import check_png_path
from digits.nn.network import Network
from digits.app.plots import save_history_plot


class CurvesPlot(Callback):
    """Draws the four curves to ``path`` after every ``every``-th epoch and the last."""

    def __init__(self, path, title, every):
        self.path, self.title, self.every = path, title, every

    def on_epoch_end(self, run):
        if run.epoch % self.every == 0 or run.epoch == run.epochs:
            save_history_plot(run.history, self.path, self.title, evaluation_name="test")


def main(argv=None):
    parser = common.parser(__doc__.split("\n\n")[0], epochs=400, eta=0.5)
    parser.add_argument("--training-size", type=int, default=1000, metavar="N",
                        help="train on the first N training images")
    parser.add_argument("--plot", type=Path, default=Path("results/overfitting.png"),
                        metavar="PATH", help="where to draw the four curves")
    args = parser.parse_args(argv)
    if args.training_size < 1:
        raise UsageError(f"--training-size must be at least 1, got {args.training_size}")
    check_png_path(args.plot, create_folder=True)
    training_data, validation_data, test_data = common.load_mnist(args)
    training_data = training_data[:args.training_size]
    title = (f"[784, {args.hidden}, 10], cross-entropy, {len(training_data)} training images, "
             f"eta {args.eta:g}, lambda {args.lmbda:g}")
    every_ten = [common.EpochLines("test", every=10), CurvesPlot(args.plot, title, every=10)]
    net = Network([784, args.hidden, 10], cost="cross-entropy", init="large", seed=args.seed)
    history = net.SGD(training_data, args.epochs, args.mini_batch_size, args.eta,
                      lmbda=args.lmbda, evaluation_data=test_data,
                      monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                      monitor_training_cost=True, monitor_training_accuracy=True,
                      callbacks=every_ten)
    best = max(history.evaluation_accuracy)
    common.show(f"Best test accuracy {100 * best / len(test_data):.2f}% at epoch "
                f"{history.evaluation_accuracy.index(best) + 1}; training accuracy at the end "
                f"{100 * history.training_accuracy[-1] / len(training_data):.2f}%; curves in {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(common.run(main))
