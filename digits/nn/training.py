"""Stochastic gradient descent: the training loop, apart from the network it trains.

:func:`sgd` is what ``Network.SGD`` runs, for the fully connected networks of
chapters 1-3 and the convolutional ones of chapter 6 alike.  It reads like the book's
``network2.py``::

    for each epoch:
        shuffle the training data and cut it into mini-batches of m
        for each mini-batch:  forward pass, backward pass, update    (train_step)
        measure what was asked (Monitor), keep the best validation epoch and stop
        early or halve eta (BestValidation, EarlyStopping)

Everything else a run does is a :class:`~digits.nn.callbacks.Callback` told of each
moment through one :class:`Run`: the command line's epoch lines and progress bar,
checkpoints (``digits.store.checkpoint``), a live page.  The update rule, with its
regularisation and momentum, is its own small object, :class:`GradientDescent`.

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
from dataclasses import asdict, dataclass, field

import numpy as np

from digits.nn.dataset import Examples, as_dataset
from digits.nn.hyperparameters import SCHEDULES, check_run
from digits.system.errors import DigitsError, UsageError
from digits.system.threads import blas_threads

__all__ = ["sgd", "Settings", "Monitoring", "Run", "History", "GradientDescent", "TrainingState",
           "Diverged", "SCHEDULES", "train_step"]


@dataclass
class History:
    """What :func:`sgd` saw, epoch by epoch (lists have one entry per epoch).

    Accuracies are counts of correctly classified examples, as in the book; divide by
    ``n_evaluation``, ``n_validation`` or ``n_training`` for a fraction.  The
    validation figures are the ones early stopping uses; the evaluation (usually
    test) figures choose nothing.  ``stopped`` is True when the run was asked to stop
    (:meth:`Run.request_stop`); its last epoch may then be a part of one.
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
    stopped: bool = False

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

    def plot(self, title="", evaluation_name="evaluation"):
        """A matplotlib Figure of what was monitored, a panel each (Jupyter shows it inline)."""
        from digits.nn.history_plot import history_figure

        return history_figure(self, title, evaluation_name)

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        known = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class Settings:
    """The settings of one run of stochastic gradient descent (``seed``: the network's)."""

    epochs: int
    mini_batch_size: int
    eta: float
    lmbda: float = 0.0
    l1: float = 0.0
    momentum: float = 0.0
    early_stopping_n: int = 0
    schedule: str | None = None
    seed: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Monitoring:
    """What is measured after each epoch, and on which data.

    ``evaluation_data`` (the book's ``test_data`` or ``evaluation_data``) gets its
    accuracy and, if asked, its cost; ``training_cost`` and ``training_accuracy``
    measure the training data; ``validation_accuracy`` measures ``validation_data``
    each epoch, and ``keep_best_validation`` ends the run with the weights of its best
    epoch (the book's chapter 6 reports the test accuracy there).
    """

    evaluation_data: Examples | None = None
    validation_data: Examples | None = None
    evaluation_cost: bool = False
    evaluation_accuracy: bool = False
    training_cost: bool = False
    training_accuracy: bool = False
    validation_accuracy: bool = False
    keep_best_validation: bool = False


class Diverged(DigitsError):
    """Training stopped because the weights or the cost stopped being finite numbers."""

    def __init__(self, epoch, what):
        self.epoch, self.what = epoch, what
        super().__init__(f"training diverged in epoch {epoch}: {what} stopped being finite numbers "
                         f"(NaN or infinity)")


class Velocities:
    """Momentum's velocities, one ``(v_w, v_b)`` pair per layer (None without momentum),
    copied out for a checkpoint and put back from one."""

    velocities: list | None

    def velocity_copies(self):
        if self.velocities is None:
            return None
        return [(v_w.copy(), v_b.copy()) for v_w, v_b in self.velocities]

    def restore_velocities(self, saved):
        if saved is None:
            return
        if self.velocities is None:
            raise UsageError("the checkpoint has momentum's velocities but this run has no momentum")
        for (v_w, v_b), (saved_w, saved_b) in zip(self.velocities, saved):
            np.copyto(v_w, saved_w)
            np.copyto(v_b, saved_b)


class GradientDescent(Velocities):
    """The update rule of chapters 1 and 3, for gradients already multiplied by eta/m.

    :func:`train_step` leaves in each layer's workspace ``nabla_w`` = (eta/m) Σ_x ∂C_x/∂w
    (and likewise ``nabla_b``): the gradient of the mini-batch times the step's factor,
    see :meth:`digits.nn.network.Network.backward_pass`.  With the training set's size n::

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

    def __repr__(self) -> str:
        return (f"GradientDescent(eta={self.eta:g}, lmbda={self.lmbda:g}, l1={self.l1:g}, "
                f"n={self.n}, momentum={self.momentum:g})")

    def update(self, workspaces):
        """Step every layer's weights and biases by the gradients in its workspace."""
        for i, (layer, ws) in enumerate(zip(self.network.layers, workspaces)):
            w, b = layer.weights, layer.biases
            self.decay(i, w)
            if self.momentum:
                self.momentum_step(self.velocities[i], w, b, ws)
            else:
                w -= ws.nabla_w
                b -= ws.nabla_b

    def decay(self, i, w):
        """The regularisation of layer ``i``'s weights ``w``, in place:
        w -> (1 - eta*lmbda/n) w (L2, eq. 93), then w -> w - (eta*l1/n) sgn(w) (L1, eq. 98)."""
        eta, n = self.eta, self.n
        if self.lmbda:
            w *= 1.0 - eta * self.lmbda / n
        if self.l1:
            if self._signs[i] is None:
                self._signs[i] = np.empty_like(w)
            sign = np.sign(w, out=self._signs[i])
            sign *= eta * self.l1 / n
            w -= sign

    def momentum_step(self, velocity, w, b, ws):
        """v -> μ v - nabla, then w -> w + v, for the weights and for the biases."""
        v_w, v_b = velocity
        v_w *= self.momentum
        v_w -= ws.nabla_w
        v_b *= self.momentum
        v_b -= ws.nabla_b
        w += v_w
        b += v_b


def train_step(network, workspaces, x, y, rule, rng):
    """One step of gradient descent on the mini-batch ``x`` (n_in, m), ``y`` (n_out, m).

    Forward pass (eq. 25, dropout drawn from ``rng``), backward pass (BP1-BP4) and the
    update (:class:`GradientDescent`).  The output error δ^L is multiplied by eta/m
    before it is propagated back, so every δ, and with them ``nabla_b`` and
    ``nabla_w``, already carries the step's factor eta/m: multiplying the ``(10, m)``
    δ costs far less than multiplying the ``(30, 784)`` gradient, and the sums are the
    same.
    """
    network.forward_pass(workspaces, x, rng)
    network.backward_pass(workspaces, y, scale=rule.eta / x.shape[1])
    rule.update(workspaces)


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


class Run:
    """One training run as the callbacks see it (:mod:`digits.nn.callbacks`).

    ``network``, ``settings`` (:class:`Settings`), ``history`` (:class:`History`);
    where the loop is: ``epoch`` (from 1) of ``epochs``, ``batch`` (mini-batches done
    in this epoch) of ``batches_per_epoch``; ``mini_batch_size``, ``n_training`` and
    ``eta`` (the current learning rate, which the halve schedule changes).
    :meth:`request_stop` ends the run after the current mini-batch; ``stopped`` says
    it was asked.  ``evaluation_answers``: the digit the network answered for each
    example of the evaluation data at the last evaluation (None before one).
    """

    def __init__(self, network, settings, history, n_training, rule, best):
        self.network, self.settings, self.history = network, settings, history
        self.epochs, self.epoch, self.batch = settings.epochs, 0, 0
        self.mini_batch_size = min(settings.mini_batch_size, n_training)
        self.n_training = n_training
        self.batches_per_epoch = -(-n_training // self.mini_batch_size)
        self.stopped = False
        self.rule, self.best = rule, best
        self.last_workspaces, self.last_eta = None, None     # of the last mini-batch's step
        self.evaluation_answers = None

    def __repr__(self) -> str:
        return (f"Run(epoch {self.epoch} of {self.epochs}, mini-batch {self.batch} of "
                f"{self.batches_per_epoch}, eta {self.eta:g}{', stopped' if self.stopped else ''})")

    @property
    def eta(self) -> float:
        return self.rule.eta

    @property
    def epoch_finished(self) -> bool:
        """True once every mini-batch of ``epoch`` is done (False in an epoch cut short by a stop)."""
        return self.batch == self.batches_per_epoch

    def request_stop(self) -> None:
        """End the run after the current mini-batch, as if it were the last."""
        self.stopped = True

    def learning_speeds(self) -> list:
        """Chapter 5's speed of learning of each layer, for the last mini-batch.

        For layer l (``layers[l - 1]``, the first hidden layer first) the Euclidean
        length ||∂C/∂b^l||₂ of the gradient of the cost with respect to that layer's
        biases, where C is the mean cost over the m examples of the mini-batch:
        ∂C/∂b^l = (1/m) Σ_x ∂C_x/∂b^l = (1/m) Σ_x δ^l_x, the book's ||δ^l|| (regularisation
        does not touch biases).  A convolutional layer's shared biases are one per
        feature map.  The workspaces hold (eta/m) Σ_x ∂C_x/∂b^l, so this is their length
        divided by eta: nothing is computed unless it is called.  Empty before the first
        mini-batch.
        """
        if self.last_workspaces is None:
            return []
        return [float(np.linalg.norm(ws.nabla_b.astype(np.float64).ravel())) / self.last_eta
                for ws in self.last_workspaces]

    def state(self) -> TrainingState:
        """The run after epoch ``epoch``, for a checkpoint (:class:`TrainingState`)."""
        return TrainingState(self.epoch, _parameters(self.network), self.rule.velocity_copies(),
                             self.network.rng.bit_generator.state, self.eta, self.history,
                             self.best.accuracy, self.best.stalled, self.best.parameters)


class Monitor:
    """After each epoch: the costs and accuracies :class:`Monitoring` asks for, into the History."""

    def __init__(self, monitoring, training, lmbda, l1):
        self.monitoring, self.training, self.lmbda, self.l1 = monitoring, training, lmbda, l1

    def measure(self, run):
        watch, network, history = self.monitoring, run.network, run.history
        n, evaluation = run.n_training, watch.evaluation_data
        if watch.training_cost:
            history.training_cost.append(network.total_cost(self.training, self.lmbda, self.l1, n))
        if watch.training_accuracy:
            history.training_accuracy.append(network.evaluate(self.training))
        if watch.evaluation_cost:
            history.evaluation_cost.append(network.total_cost(evaluation, self.lmbda, self.l1, n))
        if watch.evaluation_accuracy:
            run.evaluation_answers = network.predict(evaluation)
            history.evaluation_accuracy.append(int(np.count_nonzero(run.evaluation_answers
                                                                    == evaluation.labels)))


class BestValidation:
    """The validation accuracy of each epoch, and the weights of the best one.

    ``accuracy`` is the best so far (a count), ``stalled`` the epochs since it,
    ``parameters`` its weights (kept when ``keep`` is True); they go into checkpoints.
    """

    def __init__(self, validation_data, measure, keep):
        self.data, self.measuring, self.keeping = validation_data, measure, keep
        self.accuracy, self.stalled, self.parameters = -1, 0, None

    def measure(self, run):
        if not self.measuring:
            return
        accuracy = run.network.evaluate(self.data)
        run.history.validation_accuracy.append(accuracy)
        if not self.keeping:
            return
        if accuracy > self.accuracy:
            self.accuracy, self.stalled = accuracy, 0
            run.history.best_epoch = run.epoch
            self.parameters = _parameters(run.network)
        else:
            self.stalled += 1

    def restore(self, network):
        """Put the best epoch's weights back (nothing if none were kept)."""
        if self.parameters is not None:
            _set_parameters(network, self.parameters)


class EarlyStopping:
    """The book's no-improvement-in-N: stop when validation accuracy has not improved for
    N epochs, or with the halve schedule, halve eta instead and stop once it has fallen
    to 1/128 of its start."""

    def __init__(self, n, schedule, start_eta):
        self.n, self.schedule, self.start_eta = n, schedule, start_eta

    def should_stop(self, run) -> bool:
        best = run.best
        if not self.n or best.stalled < self.n:
            return False
        if self.schedule == "halve":
            run.rule.eta, best.stalled = run.rule.eta / 2, 0
            return run.rule.eta <= self.start_eta / 128
        return True


class Callbacks:
    """The callbacks of a run, told of each moment in the order they were given."""

    def __init__(self, callbacks):
        self.all = list(callbacks)
        self.per_batch = [(c, c.every_batches) for c in self.all if c.every_batches]

    def call(self, moment, run):
        for callback in self.all:
            getattr(callback, moment)(run)


def sgd(network, training_data, settings: Settings, monitoring: Monitoring = Monitoring(),
        callbacks=(), resume: TrainingState | None = None):
    """Train ``network`` by mini-batch stochastic gradient descent; return a :class:`History`.

    Each epoch shuffles ``training_data`` (a :class:`~digits.nn.dataset.DataSet`, an
    :class:`~digits.data.expand.ExpandedDataSet` or the book's list of pairs), cuts it
    into mini-batches of ``settings.mini_batch_size`` and takes one gradient step per
    mini-batch (:func:`train_step`), then measures what ``monitoring`` asks.

    Regularisation (chapter 3): ``lmbda`` is the L2 parameter λ and ``l1`` the L1
    parameter, both scaled by the training set's size n; ``momentum`` μ in [0, 1).
    Early stopping: with ``early_stopping_n = N`` training stops when the validation
    accuracy has not improved for N epochs, and the best epoch's weights are restored;
    with ``schedule="halve"`` each such stall halves eta instead, until it has fallen to
    1/128 of its start.  ``callbacks`` (:mod:`digits.nn.callbacks`) hear of every moment;
    ``resume`` (a :class:`TrainingState`) goes on from a checkpoint.
    ``history.seconds`` holds each epoch's training time, evaluation excluded.
    Raises :class:`Diverged` when the weights or a monitored cost stop being finite.
    """
    training, run, monitor, stopping = _start(network, training_data, settings, monitoring, resume)
    callbacks = Callbacks(callbacks)
    shuffled = ShuffledBatches(training, run.mini_batch_size, network.dtype)
    workspaces = _workspaces(network, run.n_training, run.mini_batch_size)
    callbacks.call("on_train_begin", run)
    for run.epoch in range(run.epoch + 1, settings.epochs + 1):
        if run.stopped:
            break
        run.batch = 0
        callbacks.call("on_epoch_begin", run)
        # Overflow is not warned of where it happens: _check_finite says it, once, after the epoch.
        with np.errstate(over="ignore", invalid="ignore"):
            started = time.perf_counter()
            _train_epoch(run, shuffled, workspaces, callbacks.per_batch)
            run.history.seconds.append(time.perf_counter() - started)
            run.history.eta.append(run.eta)
            monitor.measure(run)
        _check_finite(run)
        run.best.measure(run)
        done = stopping.should_stop(run)
        if done:
            run.history.stopped_early = run.epoch < settings.epochs
        callbacks.call("on_epoch_end", run)
        if done:
            break
    run.best.restore(network)
    run.history.stopped = run.stopped
    callbacks.call("on_train_end", run)
    return run.history


def check_hyperparameters(epochs, mini_batch_size, eta, lmbda=0.0, l1=0.0, momentum=0.0,
                          early_stopping_n=0, schedule=None, validation_data=None):
    """Raise UsageError for settings :func:`sgd` would refuse (scripts check before work)."""
    check_run(dict(epochs=epochs, mini_batch_size=mini_batch_size, eta=eta, lmbda=lmbda, l1=l1,
                   momentum=momentum, early_stopping_n=early_stopping_n, schedule=schedule),
              has_validation=validation_data is not None)


def _train_epoch(run, shuffled, workspaces, per_batch):
    """The mini-batches of one epoch: shuffle, then a :func:`train_step` for each."""
    network, rule, m = run.network, run.rule, run.mini_batch_size
    order = network.rng.permutation(run.n_training)
    run.last_eta = rule.eta                 # (the schedule changes eta between epochs only)
    # One thread for the matrix library: see digits.system.threads.
    with blas_threads(1):
        for batch, k in enumerate(range(0, run.n_training, m), start=1):
            x, y = shuffled.mini_batch(order, k)                 # (n_in, m), (n_out, m)
            ws = workspaces[x.shape[1]]
            train_step(network, ws, x, y, rule, network.rng)
            if per_batch:
                run.batch, run.last_workspaces = batch, ws
                for callback, every in per_batch:
                    if batch % every == 0:
                        callback.on_batch_end(run)
            if run.stopped:
                break
    run.batch, run.last_workspaces = batch, ws


def _start(network, training_data, settings, monitoring, resume):
    """Check the settings and data; the Run, its Monitor and EarlyStopping (resumed if asked)."""
    validation = as_dataset(monitoring.validation_data, network.sizes[-1])
    check_run(settings.to_dict(), has_validation=validation is not None)
    training = as_dataset(training_data, network.sizes[-1])
    _check_data(network, training, "training data")
    evaluation = as_dataset(monitoring.evaluation_data, network.sizes[-1])
    if evaluation is None and (monitoring.evaluation_cost or monitoring.evaluation_accuracy):
        raise UsageError("monitoring evaluation cost or accuracy needs evaluation data")
    if (monitoring.validation_accuracy or monitoring.keep_best_validation) and validation is None:
        raise UsageError("monitoring validation accuracy needs validation data")
    n = len(training)
    rule = GradientDescent(network, settings.eta, settings.lmbda, settings.l1, n, settings.momentum)
    keep = bool(settings.early_stopping_n or monitoring.keep_best_validation)
    best = BestValidation(validation, keep or monitoring.validation_accuracy, keep)
    history = History(n_training=n, n_evaluation=len(evaluation) if evaluation is not None else 0,
                      n_validation=len(validation) if validation is not None else 0)
    run = Run(network, settings, history, n, rule, best)
    if resume is not None:
        _restore(run, resume)
        run.epoch = resume.epoch
    monitoring = Monitoring(**{**monitoring.__dict__, "evaluation_data": evaluation})
    monitor = Monitor(monitoring, training, settings.lmbda, settings.l1)
    return training, run, monitor, EarlyStopping(settings.early_stopping_n, settings.schedule,
                                                 settings.eta)


def _workspaces(network, n, m):
    """One workspace per layer for the full mini-batches, and one for a shorter last one."""
    return {size: [layer.workspace(size, True) for layer in network.layers]
            for size in {m, n % m} if size}


def _check_finite(run):
    """Raise :class:`Diverged` once a weight, a bias or a monitored cost is NaN or infinite."""
    for layer in run.network.layers:
        if not (np.isfinite(layer.weights).all() and np.isfinite(layer.biases).all()):
            raise Diverged(run.epoch, "the weights")
    for costs in (run.history.training_cost, run.history.evaluation_cost):
        if costs and not np.isfinite(costs[-1]):
            raise Diverged(run.epoch, "the cost")


def _check_data(network, data, what):
    if len(data) == 0:
        raise UsageError(f"the {what} is empty")
    if data.n_inputs != network.sizes[0]:
        raise UsageError(f"the {what} has {data.n_inputs} inputs per example, "
                         f"the network takes {network.sizes[0]}")


def _parameters(network):
    return [(layer.weights.copy(), layer.biases.copy()) for layer in network.layers]


def _set_parameters(network, parameters):
    for layer, (w, b) in zip(network.layers, parameters):
        np.copyto(layer.weights, w)
        np.copyto(layer.biases, b)


def _restore(run, state):
    """Put a checkpoint's weights, velocities, generator, eta and bookkeeping back in place."""
    _set_parameters(run.network, state.parameters)
    run.rule.restore_velocities(state.velocities)
    run.network.rng.bit_generator.state = state.rng_state
    run.history = copy.deepcopy(state.history)
    run.rule.eta = state.eta
    run.best.accuracy, run.best.stalled = state.best_accuracy, state.stalled
    run.best.parameters = state.best_parameters


# How many shuffled training examples ShuffledBatches copies at a time (rounded down
# to whole mini-batches, at least one).
_CHUNK_EXAMPLES = 250


class ShuffledBatches:
    """The training examples in an epoch's shuffled order, as the book's column matrices.

    Gathering the 10 rows of one mini-batch from the 157 MB training array is slow:
    each row is a wait on main memory.  Gathering a few hundred rows with one
    ``gather`` into the same array every time costs much less per row, and converts
    the float32 pixels to the network's dtype in passing, a chunk at a time (so the
    training set is never copied whole, and a float64 network does not need a 314 MB
    float64 copy of it).  The mini-batches of a chunk are views made once.  An
    expanded data set makes its shifted images in its ``gather``, a chunk at a time.
    """

    def __init__(self, data, m, dtype):
        self.data, self.m = data, m
        self.targets = data.targets()                               # (n, n_out)
        batches_per_chunk = max(1, _CHUNK_EXAMPLES // m)
        self.size = batches_per_chunk * m
        # One example per row, as in the DataSet; the mini-batch x is a block of rows,
        # transposed (a view) into the book's columns.
        self.x = np.empty((self.size, data.n_inputs), dtype)        # (chunk, n_in)
        self.y = np.empty((self.size, self.targets.shape[1]), dtype)  # (chunk, n_out)
        self.raw = self.x if data.dtype == dtype else np.empty(self.x.shape, data.dtype)
        self.raw_y = self.y if self.targets.dtype == dtype else np.empty(self.y.shape, self.targets.dtype)
        self.columns = [(self.x[j * m:(j + 1) * m].T, self.y[j * m:(j + 1) * m].T)   # (n_in, m), (n_out, m)
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
        self.data.gather(indices, out=self.raw[:count])
        np.take(self.targets, indices, axis=0, out=self.raw_y[:count], mode="clip")
        for raw, into in ((self.raw, self.x), (self.raw_y, self.y)):
            if raw is not into:
                np.copyto(into[:count], raw[:count])
