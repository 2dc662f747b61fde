"""What the chapter-3 scripts share: their command-line flags, their epoch lines, and
where a line goes (``show``: the results, on standard output).

Each script states its own experiment in a few readable lines; this module keeps the
plumbing out of their way.
"""

from __future__ import annotations

from pathlib import Path

from digits.app.cli import ArgumentParser, HelpFormatter
from digits.app.mnist_flags import add_data_arguments, load_mnist  # noqa: F401 (scripts call common.load_mnist)
from digits.app.terminal import show  # noqa: F401 (scripts call common.show)
from digits.nn.callbacks import Callback


def parser(description, epochs, eta, hidden=30, lmbda=0.0, seed=None):
    """An argparse parser with the flags every script takes, defaulting to the book's run."""
    result = ArgumentParser(description=description,
                            formatter_class=HelpFormatter)
    result.add_argument("--hidden", type=int, default=hidden, help="neurons in the hidden layer")
    result.add_argument("--epochs", type=int, default=epochs, help="passes over the training data")
    result.add_argument("--mini-batch-size", type=int, default=10, metavar="M",
                        help="examples per gradient step")
    result.add_argument("--eta", type=float, default=eta, help="the learning rate")
    result.add_argument("--lmbda", type=float, default=lmbda, help="L2 regularisation parameter")
    result.add_argument("--seed", type=int, default=seed, help="seed for weights and shuffling")
    add_data_arguments(result)
    return result


class EpochLines(Callback):
    """Shows ``Epoch N: correct / total`` on the ``name`` data after every ``every``-th
    epoch and the last (a training callback: ``Network.SGD(..., callbacks=[...])``)."""

    def __init__(self, name, every=1):
        self.name, self.every = name, every

    def on_epoch_end(self, run):
        from digits.app.report import epoch_line

        if run.epoch % self.every == 0 or run.epoch == run.epochs:
            show(epoch_line(run.epoch, run.history, self.name))


def run(main):
    """Run a script's ``main``; errors a user can fix become one line and status 1 or 2."""
    import sys

    from digits.app.cli import exit_status

    return exit_status(main, Path(sys.argv[0]).name)
