"""What the chapter-3 scripts share: their command-line flags and their epoch lines.

Each script states its own experiment in a few readable lines; this module keeps the
plumbing out of their way.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def parser(description, epochs, eta, hidden=30, lmbda=0.0, seed=None):
    """An argparse parser with the flags every script takes, defaulting to the book's run."""
    result = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    result.add_argument("--hidden", type=int, default=hidden, help="neurons in the hidden layer")
    result.add_argument("--epochs", type=int, default=epochs, help="passes over the training data")
    result.add_argument("--mini-batch-size", type=int, default=10, metavar="M",
                        help="examples per gradient step")
    result.add_argument("--eta", type=float, default=eta, help="the learning rate")
    result.add_argument("--lmbda", type=float, default=lmbda, help="L2 regularisation parameter")
    result.add_argument("--seed", type=int, default=seed, help="seed for weights and shuffling")
    result.add_argument("--data", type=Path, default=Path("data/mnist"), metavar="DIR",
                        help="where the MNIST files are (make data)")
    return result


def print_epoch(name):
    """A callback for Network.SGD printing ``Epoch N: correct / total`` on the ``name`` data."""
    def callback(epoch, history):
        line = f"Epoch {epoch}:"
        if history.evaluation_accuracy:
            correct, total = history.evaluation_accuracy[-1], history.n_evaluation
            line += f" {name} {correct} / {total} ({100 * correct / total:.2f}%)"
        if history.validation_accuracy:
            correct, total = history.validation_accuracy[-1], history.n_validation
            line += f" validation {correct} / {total} ({100 * correct / total:.2f}%)"
        if history.evaluation_cost:
            line += f", {name} cost {history.evaluation_cost[-1]:.4f}"
        if history.training_cost:
            line += f", training cost {history.training_cost[-1]:.4f}"
        if history.training_accuracy:
            line += f", training accuracy {100 * history.training_accuracy[-1] / history.n_training:.2f}%"
        print(line + f" [{history.seconds[-1]:.2f} s]", flush=True)
    return callback


def run(main):
    """Run a script's ``main``, turning the errors a user can fix into one line and status 1-2."""
    import sys

    from digits.errors import DigitsError, UsageError

    try:
        return main()
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except DigitsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
