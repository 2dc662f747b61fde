"""The runs of chapters 1, 3 and 5: the book's networks trained by SGD.

``sgd`` runs train a :class:`~digits.nn.network.Network` of ``sizes`` and record the
history the settings ``monitor``; ``speed`` runs (chapter 5) record how fast each hidden
layer learns, ‖δ^l‖ = ‖∂C/∂b^l‖ averaged over the examples, before every epoch.  Each
returns plain numbers: percentages ``final``, ``best``, ``first`` (test accuracy after the
last, the best and the first epoch) and the history.
"""

from __future__ import annotations

import time

import numpy as np

from digits.data.expand import ExpandedDataSet
from digits.nn.callbacks import Callback
from digits.nn.costs import l2_term
from digits.nn.dataset import DataSet


def book_network(task):
    """The network of an ``sgd`` or ``speed`` run: ``sizes``, cost and initialisation, float32."""
    from digits.nn.network import Network

    settings = task.settings
    return Network(settings["sizes"], cost=settings["cost"], init=settings["init"],
                   seed=task.seed, dtype=np.float32)


class WorkReport(Callback):
    """Tells ``report_work`` the epochs of work done (in epochs of 50,000 images), at most
    about five times a second and after the last epoch."""

    def __init__(self, task, report_work):
        self.report_work = report_work
        self.per_epoch = task.epochs_of_work / task.settings["epochs"]
        self.pending, self.since = 0.0, time.perf_counter()

    def on_epoch_end(self, run):
        self.pending += self.per_epoch
        now = time.perf_counter()
        if now - self.since > 0.2 or run.epoch == run.epochs:
            self.report_work(self.pending)
            self.pending, self.since = 0.0, now


def work_report(task, report_work) -> list:
    """``[WorkReport]``, or no callback when nobody listens."""
    return [] if report_work is None else [WorkReport(task, report_work)]


class CostsAndAccuracies(Callback):
    """After each epoch, the cost (with the L2 term) and accuracy of each data set in
    ``measured`` (``[(name, data)]``), from one pass: appended to the run's history as
    ``<name>_cost`` and, if ``monitor`` asks, ``<name>_accuracy``."""

    def __init__(self, measured, monitor, lmbda, n):
        self.measured, self.monitor, self.lmbda, self.n = measured, monitor, lmbda, n

    def on_epoch_end(self, run):
        for name, data in self.measured:
            cost, correct = measure(run.network, data, self.lmbda, self.n)
            getattr(run.history, f"{name}_cost").append(cost)
            if f"{name}_accuracy" in self.monitor:
                getattr(run.history, f"{name}_accuracy").append(correct)


class GradientNorms(Callback):
    """After each epoch, ‖δ^l‖ of every hidden layer on the examples ``x``, ``y`` (columns)."""

    def __init__(self, x, y, norms):
        self.x, self.y, self.norms = x, y, norms

    def on_epoch_end(self, run):
        self.norms.append(gradient_norms(run.network, self.x, self.y))


def training_data(training, settings, expanded_cache):
    """``training``, or with ``expanded`` it and its four one-pixel shifts (made as needed,
    once per process for each size: ``expanded_cache`` maps sizes to expanded sets)."""
    if not settings["expanded"]:
        return training
    key = len(training)
    if expanded_cache is None or key not in expanded_cache:
        expanded = ExpandedDataSet(training)     # shifted copies made as training asks
        if expanded_cache is not None:
            expanded_cache[key] = expanded
        return expanded
    return expanded_cache[key]


def run_sgd(task, context) -> dict:
    """Train the network of an ``sgd`` run; its numbers and the monitored history."""
    training, validation, test = context.training, context.validation, context.test
    settings = task.settings
    training = training_data(training[:settings["n_train"]], settings, context.expanded)
    network = book_network(task)
    monitor = settings["monitor"]
    lmbda, n = settings["lmbda"], len(training)
    # Where a cost is monitored, its data's accuracy comes from the same pass (see measure).
    measured = [(name, data) for name, data in (("training", training), ("evaluation", test))
                if f"{name}_cost" in monitor]
    callbacks = [CostsAndAccuracies(measured, monitor, lmbda, n)] + work_report(task, context.report_work)

    by_sgd = {name for name in ("training", "evaluation")
              if f"{name}_accuracy" in monitor and f"{name}_cost" not in monitor}
    history = network.SGD(
        training, settings["epochs"], settings["mini_batch_size"], settings["eta"],
        lmbda=lmbda, evaluation_data=test,
        validation_data=validation if settings["early_stopping_n"] else None,
        monitor_evaluation_accuracy="evaluation" in by_sgd,
        monitor_training_accuracy="training" in by_sgd,
        early_stopping_n=settings["early_stopping_n"], schedule=settings["schedule"],
        callbacks=callbacks)
    n_test = len(test)
    final = network.evaluate(test)    # after early stopping, the kept (best validation) weights
    result = {"n_train": len(training), "n_test": n_test, "epochs_run": history.epochs,
              "final": 100 * final / n_test, "training_seconds": float(sum(history.seconds))}
    accuracies = history.evaluation_accuracy
    if accuracies:
        best = int(np.argmax(accuracies))
        result.update(best=100 * accuracies[best] / n_test, best_epoch=best + 1,
                      first=100 * accuracies[0] / n_test)
    else:
        result.update(best=result["final"], best_epoch=history.epochs)
    if not monitor:
        # Thousands of tiny epochs (ch3-more-data): keep the end result, not the epochs;
        # the book's figure script measured this on the validation images.
        result["validation"] = 100 * network.evaluate(validation) / len(validation)
    else:
        history_data = history.to_dict()
        history_data.pop("seconds")
        result["history"] = history_data
    if settings["early_stopping_n"]:
        result["stopped_early"] = history.stopped_early
        result["kept_epoch"] = history.best_epoch
        result["eta_final"] = history.eta[-1]
    return result


def measure(network, data: DataSet, lmbda, n) -> tuple:
    """``(cost, correct)``: the total cost on ``data`` and how many it classifies right.

    One feedforward pass gives both (``Network.total_cost`` and ``Network.evaluate``
    would make two).  The cost is the same as ``total_cost``'s (computed in float64
    by :mod:`digits.nn.costs`, so a saturated output of a float32 network is finite).
    """
    cost, correct = 0.0, 0
    for start in range(0, len(data), 10_000):
        chunk = data[start:start + 10_000]
        outputs = network.feedforward(chunk.inputs.T)            # (n_out, examples)
        correct += int(np.count_nonzero(outputs.argmax(axis=0) == chunk.labels))
        cost += network.cost.fn(outputs, chunk.targets().T)
    cost /= len(data)
    if lmbda:
        cost += l2_term(network.weights, lmbda, n)
    return cost, correct


def run_speed(task, context) -> dict:
    """Chapter 5: train on a few images and record ‖δ‖ per hidden layer before each epoch."""
    training, test = context.training, context.test
    settings = task.settings
    training = training[:settings["n_train"]]
    network = book_network(task)
    x, y = training.inputs.T, training.targets().T      # (784, m), (10, m): examples as columns
    norms = [gradient_norms(network, x, y)]
    callbacks = [GradientNorms(x, y, norms)] + work_report(task, context.report_work)
    network.SGD(training, settings["epochs"], settings["mini_batch_size"], settings["eta"],
                lmbda=settings["lmbda"], callbacks=callbacks)
    final = network.evaluate(test)
    # norms[e] is measured after e epochs; the last one is after the final epoch.
    return {"n_train": len(training), "n_test": len(test), "norms": norms,
            "final": 100 * final / len(test), "best": 100 * final / len(test)}


def gradient_norms(network, x, y) -> list:
    """‖δ^l‖ for every hidden layer l: the length of ∂C/∂b^l averaged over the examples.

    ``x`` and ``y`` hold the examples as columns.  Chapter 5 uses this as the speed at
    which layer l learns; the output layer is left out, as in the book.
    """
    nabla_b, _ = network.backprop(x, y)
    m = x.shape[1]
    return [float(np.linalg.norm(nb) / m) for nb in nabla_b[:-1]]


# Seconds per 50,000 images of a [784, ..., 10] network on one core: a fixed part and a
# part per thousand weights; each monitored figure adds an evaluation per epoch.
SECONDS_PER_EPOCH = 0.3
SECONDS_PER_KILO_WEIGHT = 0.0057
SECONDS_PER_EVALUATION = 0.02


def estimated_seconds(task) -> float:
    """A rough estimate of an ``sgd`` or ``speed`` run's seconds on one core."""
    settings = task.settings
    sizes = settings["sizes"]
    kilo_weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) / 1000
    per_epoch = SECONDS_PER_EPOCH + SECONDS_PER_KILO_WEIGHT * kilo_weights
    evaluations = settings["epochs"] * SECONDS_PER_EVALUATION * len(settings.get("monitor", ()))
    if settings.get("early_stopping_n"):
        evaluations += settings["epochs"] * SECONDS_PER_EVALUATION
    return task.epochs_of_work * per_epoch + evaluations
