"""Stochastic gradient descent: the training loop, apart from the network it trains.

:func:`sgd` is what ``Network.SGD`` runs, for the fully connected networks of
chapters 1-3 and the convolutional ones of chapter 6 alike: each epoch shuffles the
training data, cuts it into mini-batches and takes one gradient step per mini-batch
(:meth:`digits.nn.network.Network.gradient_step`), then measures what it was asked to
monitor.  The update rule, with its regularisation and momentum, is its own small
object, :class:`GradientDescent`; early stopping and the eta schedule are here too,
written once for every kind of network.

Training takes thousands of small steps per epoch, so the loop keeps its arrays: each
layer's workspace is made once per run and reused (:mod:`digits.nn.layers`), and the
shuffled examples are copied a few hundred at a time (:class:`ShuffledBatches`).

A run can be checkpointed after every epoch and resumed (:class:`TrainingState`):
the weights, velocities, epoch, random generator, history and early-stopping
bookkeeping are all that a run carries from one epoch to the next, so a resumed run
ends with exactly the numbers of an uninterrupted one.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np

from digits.nn.dataset import DataSet
from digits.system.errors import UsageError
from digits.system.threads import blas_threads

SCHEDULES = ("halve",)


@dataclass
class History:
    """What :func:`sgd` saw, epoch by epoch (lists have one entry per epoch).

    Accuracies are counts of correctly classified examples, as in the book; divide by
    ``n_evaluation``, ``n_validation`` or ``n_training`` for a fraction.  The
    validation figures are the ones early stopping uses; the evaluation (usually
    test) figures choose nothing.
    """

    n_training: int = 0
    n_evaluation: int = 0
    n_validation: int = 0
    evaluation_cost: list = field(default_factory=list)
    evaluation_accuracy: list = field(default_factory=list)
    training_cost: list = field(default_factory=list)
    training_accuracy: list = field(default_factory=list)
    validation_accuracy: list = field(default_factory=list)
    eta: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        return len(self.seconds)

    def best_validation_epoch(self) -> int | None:
        """The epoch (from 1) of the highest validation accuracy so far, the first if tied."""
        if not self.validation_accuracy:
            return None
        return int(np.argmax(self.validation_accuracy)) + 1

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        known = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        return cls(**known)


class GradientDescent:
    """The update rule of chapters 1 and 3, for gradients already multiplied by eta/m.

    Each layer's workspace holds ``nabla_w`` = (eta/m) Σ_x ∂C_x/∂w (and likewise
    ``nabla_b``), so with the training set's size n::

        w -> (1 - eta*lmbda/n) w - (eta*l1/n) sgn(w) - nabla_w       (eqs. 93 and 98)
        b -> b - nabla_b

    or, with momentum μ, ``v -> μ v - nabla_w`` and ``w -> w + v`` (after the same
    weight decay).  Biases are not regularised.  Every step writes into the existing
    arrays.
    """

    def __init__(self, network, eta, lmbda=0.0, l1=0.0, n=1, momentum=0.0):
        self.network = network
        self.eta, self.lmbda, self.l1, self.n, self.momentum = eta, lmbda, l1, n, momentum
        self.velocities = None
        if momentum:
            self.velocities = [(np.zeros_like(layer.weights), np.zeros_like(layer.biases))
                               for layer in network.layers]
        self._signs = [None] * len(network.layers)

    def settings(self):
        return (self.eta, self.lmbda, self.l1, self.n, self.momentum)

    def update(self, workspaces):
        eta, lmbda, l1, n, momentum = self.settings()
        for i, (layer, ws) in enumerate(zip(self.network.layers, workspaces)):
            w, b = layer.weights, layer.biases
            if lmbda:
                w *= 1.0 - eta * lmbda / n
            if l1:
                if self._signs[i] is None:
                    self._signs[i] = np.empty_like(w)
                sign = np.sign(w, out=self._signs[i])
                sign *= eta * l1 / n
                w -= sign
            if momentum:
                v_w, v_b = self.velocities[i]
                v_w *= momentum
                v_w -= ws.nabla_w
                v_b *= momentum
                v_b -= ws.nabla_b
                w += v_w
                b += v_b
            else:
                w -= ws.nabla_w
                b -= ws.nabla_b


@dataclass
class TrainingState:
    """Everything a run carries from one epoch to the next, for checkpoints.

    ``epoch`` epochs are done; ``parameters`` are the network's weights and biases
    after it, ``velocities`` momentum's, ``rng_state`` the generator's (shuffling and
    dropout), ``eta`` the current learning rate, and ``best`` the early-stopping
    bookkeeping: the best validation accuracy, the epochs since it, and its weights.
    """

    epoch: int
    parameters: list
    velocities: list | None
    rng_state: dict
    eta: float
    history: History
    best_accuracy: int = -1
    stalled: int = 0
    best_parameters: list | None = None


def check_hyperparameters(epochs, mini_batch_size, eta, lmbda=0.0, l1=0.0, momentum=0.0,
                          early_stopping_n=0, schedule=None, validation_data=None):
    """Raise UsageError for settings :func:`sgd` would refuse (scripts check before work)."""
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise UsageError(f"epochs must be a whole number of at least 1, got {epochs!r}")
    if not isinstance(mini_batch_size, (int, np.integer)) or mini_batch_size < 1:
        raise UsageError(f"mini_batch_size must be a whole number of at least 1, got {mini_batch_size!r}")
    if not (np.isfinite(eta) and eta > 0):
        raise UsageError(f"the learning rate eta must be a positive number, got {eta!r}")
    if not (np.isfinite(lmbda) and lmbda >= 0):
        raise UsageError(f"the L2 parameter lmbda must be zero or positive, got {lmbda!r}")
    if not (np.isfinite(l1) and l1 >= 0):
        raise UsageError(f"the L1 parameter l1 must be zero or positive, got {l1!r}")
    if not (np.isfinite(momentum) and 0 <= momentum < 1):
        raise UsageError(f"momentum must be in [0, 1), got {momentum!r}")
    if not isinstance(early_stopping_n, (int, np.integer)) or early_stopping_n < 0:
        raise UsageError(f"early_stopping_n must be a whole number >= 0, got {early_stopping_n!r}")
    if early_stopping_n and validation_data is None:
        raise UsageError("early stopping needs validation data")
    if schedule is not None and schedule not in SCHEDULES:
        raise UsageError(f"unknown schedule {schedule!r}; choose from {', '.join(SCHEDULES)}")
    if schedule is not None and not early_stopping_n:
        raise UsageError("the halve schedule needs early stopping (no-improvement-in-N) to trigger it")


def sgd(network, training_data, epochs, mini_batch_size, eta, lmbda=0.0, l1=0.0,
        momentum=0.0, test_data=None, evaluation_data=None, validation_data=None,
        monitor_evaluation_cost=False, monitor_evaluation_accuracy=None,
        monitor_training_cost=False, monitor_training_accuracy=False,
        monitor_validation_accuracy=False, keep_best_validation=False, early_stopping_n=0,
        schedule=None, callback=None, progress=None, checkpoint=None, resume=None):
    """Train ``network`` by mini-batch stochastic gradient descent; return a :class:`History`.

    Each epoch shuffles the training data, cuts it into mini-batches of
    ``mini_batch_size`` and takes one gradient step per mini-batch with learning rate
    ``eta``.  ``training_data`` is a list of the book's ``(x, y)`` pairs, a
    :class:`~digits.nn.dataset.DataSet`, or an expanded data set
    (:class:`~digits.data.expand.ExpandedDataSet`).

    Regularisation (chapter 3): ``lmbda`` is the L2 parameter λ and ``l1`` the L1
    parameter, both scaled by the training set size n.  ``momentum`` is the momentum
    coefficient μ in [0, 1); 0 is plain gradient descent.

    Monitoring: ``test_data`` (the book's chapter-1 argument) or ``evaluation_data``
    is evaluated after each epoch, its accuracy by default and its cost with
    ``monitor_evaluation_cost``; ``monitor_training_cost`` and
    ``monitor_training_accuracy`` do the same on the training data, and
    ``monitor_validation_accuracy`` measures ``validation_data`` every epoch (as the
    book's chapter 6 reports: the test accuracy at the best validation epoch);
    ``keep_best_validation`` then ends the run with the weights of that epoch.

    Early stopping: with ``early_stopping_n = N`` the network is evaluated on
    ``validation_data`` after each epoch and training stops when validation accuracy
    has not improved for N epochs (the book's "no-improvement-in-N"); the weights of
    the best validation epoch are restored at the end.  With ``schedule="halve"`` each
    such stall halves eta instead, and training stops once eta has fallen to 1/128 of
    its starting value.

    ``callback(epoch, history)`` is called after every epoch (epochs count from 1);
    ``progress(batches)`` may wrap the iterable of mini-batches, for example in a
    progress bar.  ``checkpoint(state)`` is given a :class:`TrainingState` after every
    epoch, and ``resume`` takes one back to go on from where it was made.
    ``history.seconds`` holds each epoch's training time, evaluation excluded.
    """
    check_hyperparameters(epochs, mini_batch_size, eta, lmbda, l1, momentum,
                          early_stopping_n, schedule, validation_data)
    if test_data is not None and evaluation_data is not None:
        raise UsageError("give test_data or evaluation_data, not both")
    evaluation = network._as_dataset(evaluation_data if evaluation_data is not None else test_data)
    validation = network._as_dataset(validation_data)
    training = network._as_dataset(training_data)
    _check_data(network, training, "training data")
    if monitor_evaluation_accuracy is None:
        monitor_evaluation_accuracy = evaluation is not None
    if evaluation is None and (monitor_evaluation_cost or monitor_evaluation_accuracy):
        raise UsageError("monitoring evaluation cost or accuracy needs evaluation data")
    if (monitor_validation_accuracy or keep_best_validation) and validation is None:
        raise UsageError("monitoring validation accuracy needs validation data")

    n = len(training)
    m = min(mini_batch_size, n)   # a mini-batch larger than the training set is the whole set
    shuffled = ShuffledBatches(training, m, network.dtype)
    # One workspace per layer for the full mini-batches, and one for a shorter last one.
    workspaces = {size: [layer.workspace(size, True) for layer in network.layers]
                  for size in {m, n % m} if size}
    rule = GradientDescent(network, eta, lmbda, l1, n, momentum)
    history = History(n_training=n,
                      n_evaluation=len(evaluation) if evaluation is not None else 0,
                      n_validation=len(validation) if validation is not None else 0)
    start_eta = eta
    best_accuracy, best_parameters, stalled, first_epoch = -1, None, 0, 1
    if resume is not None:
        first_epoch = resume.epoch + 1
        _restore(network, rule, resume)
        history = copy.deepcopy(resume.history)
        eta = rule.eta = resume.eta
        best_accuracy, stalled = resume.best_accuracy, resume.stalled
        best_parameters = resume.best_parameters

    for epoch in range(first_epoch, epochs + 1):
        started = time.perf_counter()
        order = network.rng.permutation(n)
        batches = range(0, n, m)
        if progress is not None:
            batches = progress(batches)
        # One thread for the matrix library: see digits.system.threads.
        with blas_threads(1):
            for k in batches:
                x, y = shuffled.mini_batch(order, k)
                network.gradient_step(workspaces[x.shape[1]], x, y, rule, network.rng)
        history.seconds.append(time.perf_counter() - started)
        history.eta.append(eta)

        if monitor_training_cost:
            history.training_cost.append(network.total_cost(training, lmbda, l1, n))
        if monitor_training_accuracy:
            history.training_accuracy.append(network.evaluate(training))
        if monitor_evaluation_cost:
            history.evaluation_cost.append(network.total_cost(evaluation, lmbda, l1, n))
        if monitor_evaluation_accuracy:
            history.evaluation_accuracy.append(network.evaluate(evaluation))

        stop = False
        if early_stopping_n or monitor_validation_accuracy or keep_best_validation:
            accuracy = network.evaluate(validation)
            history.validation_accuracy.append(accuracy)
        if early_stopping_n or keep_best_validation:
            if accuracy > best_accuracy:
                best_accuracy, stalled = accuracy, 0
                history.best_epoch = epoch
                best_parameters = _parameters(network)
            else:
                stalled += 1
            if early_stopping_n and stalled >= early_stopping_n:
                if schedule == "halve":
                    eta, stalled = eta / 2, 0
                    rule.eta = eta
                    stop = eta <= start_eta / 128
                else:
                    stop = True
        if stop:
            history.stopped_early = epoch < epochs
        if checkpoint is not None:
            checkpoint(TrainingState(epoch, _parameters(network), _velocities(rule),
                                     network.rng.bit_generator.state, eta, history,
                                     best_accuracy, stalled, best_parameters))
        if callback is not None:
            callback(epoch, history)
        if stop:
            break

    if best_parameters is not None:
        _set_parameters(network, best_parameters)
    return history


def _check_data(network, data, what):
    if len(data) == 0:
        raise UsageError(f"the {what} is empty")
    n_inputs = data.n_inputs if hasattr(data, "n_inputs") else data.inputs.shape[1]
    if n_inputs != network.sizes[0]:
        raise UsageError(f"the {what} has {n_inputs} inputs per example, "
                         f"the network takes {network.sizes[0]}")


def _parameters(network):
    return [(layer.weights.copy(), layer.biases.copy()) for layer in network.layers]


def _set_parameters(network, parameters):
    for layer, (w, b) in zip(network.layers, parameters):
        np.copyto(layer.weights, w)
        np.copyto(layer.biases, b)


def _velocities(rule):
    if rule.velocities is None:
        return None
    return [(v_w.copy(), v_b.copy()) for v_w, v_b in rule.velocities]


def _restore(network, rule, state):
    """Put a checkpoint's weights, velocities and random generator back in place."""
    _set_parameters(network, state.parameters)
    if state.velocities is not None:
        if rule.velocities is None:
            raise UsageError("the checkpoint has momentum's velocities but this run has no momentum")
        for (v_w, v_b), (saved_w, saved_b) in zip(rule.velocities, state.velocities):
            np.copyto(v_w, saved_w)
            np.copyto(v_b, saved_b)
    network.rng.bit_generator.state = state.rng_state


# How many shuffled training examples ShuffledBatches copies at a time (rounded down
# to whole mini-batches, at least one).
_CHUNK_EXAMPLES = 250


class ShuffledBatches:
    """The training examples in an epoch's shuffled order, as the book's column matrices.

    Gathering the 10 rows of one mini-batch from the 157 MB training array is slow:
    each row is a wait on main memory.  Gathering a few hundred rows with one
    ``np.take`` into the same array every time costs much less per row, and converts
    the float32 pixels to the network's dtype in passing, a chunk at a time (so the
    training set is never copied whole, and a float64 network does not need a 314 MB
    float64 copy of it).  The mini-batches of a chunk are views made once.  An
    expanded data set makes its shifted images here, a chunk at a time, through its
    ``gather``.
    """

    def __init__(self, data, m, dtype):
        self.data, self.m = data, m
        self.targets = data.targets()
        n_inputs = data.n_inputs if hasattr(data, "n_inputs") else data.inputs.shape[1]
        source_dtype = data.dtype if hasattr(data, "dtype") else data.inputs.dtype
        batches_per_chunk = max(1, _CHUNK_EXAMPLES // m)
        self.size = batches_per_chunk * m
        # One example per row, as in the DataSet; the mini-batch x is a block of rows,
        # transposed (a view) into the book's columns.
        self.x = np.empty((self.size, n_inputs), dtype)
        self.y = np.empty((self.size, self.targets.shape[1]), dtype)
        self.raw = self.x if source_dtype == dtype else np.empty(self.x.shape, source_dtype)
        self.raw_y = self.y if self.targets.dtype == dtype else np.empty(self.y.shape, self.targets.dtype)
        self.columns = [(self.x[j * m:(j + 1) * m].T, self.y[j * m:(j + 1) * m].T)
                        for j in range(batches_per_chunk)]

    def mini_batch(self, order, k):
        """``(x, y)``: the mini-batch of examples ``order[k:k + m]``, as columns."""
        j = (k % self.size) // self.m
        if j == 0:
            self._load(order[k:k + self.size])
        if k + self.m <= len(order):
            return self.columns[j]
        start, stop = j * self.m, j * self.m + len(order) - k   # the last, shorter mini-batch
        return self.x[start:stop].T, self.y[start:stop].T

    def _load(self, indices):
        count = len(indices)
        if hasattr(self.data, "gather"):
            self.data.gather(indices, out=self.raw[:count])
        else:
            # mode="clip" only tells np.take it needs no bounds check (the indices are a
            # permutation), so it writes straight into ``raw`` without a buffer.
            np.take(self.data.inputs, indices, axis=0, out=self.raw[:count], mode="clip")
        np.take(self.targets, indices, axis=0, out=self.raw_y[:count], mode="clip")
        for raw, into in ((self.raw, self.x), (self.raw_y, self.y)):
            if raw is not into:
                np.copyto(into[:count], raw[:count])
