"""The line printed after each epoch of training, from a :class:`~digits.nn.network.History`.

The library only records; the command line and the scripts print this line, in the
book's form ``Epoch 1: 9129 / 10000`` followed by whatever else was monitored.
"""

from __future__ import annotations


def percent(correct, total) -> str:
    return f"{100 * correct / total:.2f}%"


def epoch_line(epoch, history, evaluation_name="test") -> str:
    """``Epoch 1: 9129 / 10000 (91.29%, 0.31 s)`` plus every other monitored figure.

    ``evaluation_name`` says what the evaluation data were ("test", "validation").
    """
    seconds = history.seconds[-1]
    # The accuracy the line leads with: the evaluation data's, or the validation data's
    # when those are what is watched (early stopping on validation data alone).
    if history.evaluation_accuracy:
        watched = history.evaluation_accuracy, history.n_evaluation
    elif history.validation_accuracy and evaluation_name == "validation":
        watched = history.validation_accuracy, history.n_validation
    else:
        watched = None
    if watched:
        correct, total = watched[0][-1], watched[1]
        parts = [f"{correct} / {total} ({percent(correct, total)}, {seconds:.2f} s)"]
    else:
        parts = [f"trained ({seconds:.2f} s)"]
    if history.validation_accuracy and evaluation_name != "validation":
        parts.append(f"validation {percent(history.validation_accuracy[-1], history.n_validation)}")
    if history.evaluation_cost:
        parts.append(f"{evaluation_name} cost {history.evaluation_cost[-1]:.4f}")
    if history.training_cost:
        parts.append(f"training cost {history.training_cost[-1]:.4f}")
    if history.training_accuracy:
        parts.append(f"training accuracy {percent(history.training_accuracy[-1], history.n_training)}")
    return f"Epoch {epoch}: " + ", ".join(parts)


def chapter6_line(epoch, history) -> str:
    """The book's chapter-6 report in one line: this epoch's validation accuracy, and the
    test accuracy at the epoch of best validation accuracy so far.

    ``Epoch 3: validation 98.91% (9891 / 10000, 12.30 s); best so far epoch 3: validation
    98.91%, test 98.85%``
    """
    seconds = history.seconds[-1]
    correct = history.validation_accuracy[-1]
    return (f"Epoch {epoch}: validation {percent(correct, history.n_validation)} "
            f"({correct} / {history.n_validation}, {seconds:.2f} s); {best_so_far(history)}")


def best_so_far(history, validation=True) -> str:
    """``best so far epoch 3: validation 98.91%, test 98.85%``: the epoch of best validation
    accuracy so far, its validation accuracy (unless ``validation`` is False) and its test
    accuracy (the book's chapter-6 measure), when the history has them."""
    best = history.best_validation_epoch()
    parts = []
    if validation:
        parts.append(f"validation {percent(history.validation_accuracy[best - 1], history.n_validation)}")
    if history.evaluation_accuracy:
        parts.append(f"test {percent(history.evaluation_accuracy[best - 1], history.n_evaluation)}")
    return f"best so far epoch {best}: " + ", ".join(parts)
