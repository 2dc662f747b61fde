"""Chapter 1's baselines: guessing at random, the average darkness, and the SVM.

Each kind's ``run_*`` function takes a task and its :class:`~digits.replication.kinds.RunContext`
and returns the run's numbers (percentages, counts), as every kind does.
"""

from __future__ import annotations

import time

import numpy as np

from digits.nn.dataset import DataSet
from digits.replication.table import FULL_TRAINING_SIZE


def random_guessing(test: DataSet, seed) -> int:
    """How many of ``test`` a uniformly random guess of the digit gets right."""
    guesses = np.random.default_rng(seed).integers(0, test.n_out, size=len(test))
    return int(np.count_nonzero(guesses == test.labels))


def darkness_averages(training: DataSet) -> np.ndarray:
    """The mean darkness (sum of pixel intensities) of the training images of each digit."""
    darkness = training.inputs.sum(axis=1, dtype=np.float64)
    return np.array([darkness[training.labels == digit].mean() if np.any(training.labels == digit)
                     else np.nan for digit in range(training.n_out)])


def average_darkness(training: DataSet, test: DataSet) -> int:
    """Chapter 1's baseline: guess the digit whose mean training darkness is closest.

    Returns how many of ``test`` it gets right.  Digits absent from the training data
    are never guessed.
    """
    averages = darkness_averages(training)
    darkness = test.inputs.sum(axis=1, dtype=np.float64)
    distances = np.abs(darkness[:, None] - averages[None, :])     # (test images, digits)
    guesses = np.nanargmin(np.where(np.isnan(distances), np.inf, distances), axis=1)
    return int(np.count_nonzero(guesses == test.labels))


def support_vector_machine(training: DataSet, test: DataSet, options) -> dict:
    """Chapter 1's SVM baseline: scikit-learn's ``SVC(**options)`` trained on ``training``;
    returns how many of ``test`` it gets right, and how long fitting and predicting took.

    scikit-learn is an optional extra (``pip install -e '.[baselines]'``), needed only here.
    """
    import sklearn
    from sklearn.svm import SVC

    classifier = SVC(**options)
    started = time.perf_counter()
    classifier.fit(training.inputs, training.labels)
    fitted = time.perf_counter()
    guesses = classifier.predict(test.inputs)
    correct = int(np.count_nonzero(guesses == test.labels))
    return {"final": 100 * correct / len(test), "correct": correct, "n_train": len(training),
            "n_test": len(test), "support_vectors": int(classifier.support_vectors_.shape[0]),
            "fit_seconds": fitted - started, "predict_seconds": time.perf_counter() - fitted,
            "scikit_learn": sklearn.__version__}


def run_random(task, context) -> dict:
    test = context.test
    correct = random_guessing(test, task.seed)
    return {"final": 100 * correct / len(test), "correct": correct, "n_test": len(test)}


def run_darkness(task, context) -> dict:
    training, test = context.training, context.test
    correct = average_darkness(training, test)
    return {"final": 100 * correct / len(test), "correct": correct, "n_test": len(test),
            "averages": darkness_averages(training).tolist()}


def run_svm(task, context) -> dict:
    settings = task.settings
    return support_vector_machine(context.training[:settings["n_train"]], context.test,
                                  settings["options"])


def svm_seconds(task) -> float:
    """libsvm's time grows with the square of the training images (see docs/speed-notes.md)."""
    return 1500 * (task.settings["n_train"] / FULL_TRAINING_SIZE) ** 2
