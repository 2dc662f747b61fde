"""The book's network: feedforward, backpropagation and stochastic gradient descent.

One class, :class:`Network`, holds the whole algorithm of chapters 1 to 3 of
"Neural Networks and Deep Learning", under the book's names:

* ``sizes``: neurons per layer, ``[784, 30, 10]``; layer 0 is the input layer;
* ``weights[i]``: the ``(sizes[i+1], sizes[i])`` matrix w into layer ``i + 1``, so
  ``weights[i][j, k]`` connects neuron k of one layer to neuron j of the next;
* ``biases[i]``: the ``(sizes[i+1], 1)`` column b of layer ``i + 1``; the input layer
  has none;
* ``zs`` and ``activations`` in :meth:`Network.backprop`: the weighted inputs z = w a + b
  and the outputs a = σ(z), layer by layer;
* ``delta``, ``nabla_b``, ``nabla_w``: the error δ = ∂C/∂z and the gradients ∂C/∂b and
  ∂C/∂w.

Where the book loops over the examples of a mini-batch one at a time, this code puts
the ``m`` examples side by side as the columns of one matrix (the book's chapter-2
exercise): ``x`` is ``(784, m)``, every z, a and δ is ``(n, m)``, and the sums over the
mini-batch become matrix products.  The arithmetic is the same; only the loop moved
into the matrix library.

Training takes thousands of small steps per epoch, so the step itself is written for
speed without changing its arithmetic: one function per equation family
(:meth:`Network._forward_pass`, :meth:`Network._backward_pass`, :meth:`Network._update`)
writes into arrays allocated once per training run (:class:`_Workspace`), the shuffled
examples are copied a few hundred at a time (:class:`_ShuffledBatches`), and the
factor eta/m multiplies the small output error δ^L rather than the large gradients.
``make bench`` measures the result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import activations as activations_module
from . import costs as costs_module
from .dataset import DataSet
from .errors import UsageError
from .threads import blas_threads

INITIALISATIONS = ("default", "large")
SCHEDULES = ("halve",)


@dataclass
class History:
    """What :meth:`Network.SGD` saw, epoch by epoch (lists have one entry per epoch).

    Accuracies are counts of correctly classified examples, as in the book; divide by
    ``n_evaluation`` or ``n_training`` for a fraction.  The validation figures are the
    ones early stopping uses; the evaluation (usually test) figures choose nothing.
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

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        known = {key: value for key, value in data.items() if key in cls.__dataclass_fields__}
        return cls(**known)


class Network:
    """A feedforward network trained by mini-batch stochastic gradient descent.

    ``Network([784, 30, 10])`` is the book's chapter-1 network: sigmoid neurons, the
    quadratic cost and weights and biases drawn from N(0, 1).  The chapter-3 choices
    are keyword arguments:

    ``cost``
        ``"quadratic"`` (chapter 1), ``"cross-entropy"`` (chapter 3, sigmoid output) or
        ``"log-likelihood"`` (chapter 3, softmax output).
    ``activations``
        one name for every layer, or a list with one name per layer of weights (the
        last is the output layer): ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"softmax"``.
    ``init``
        ``"large"``: every weight and bias from N(0, 1) (chapter 1); ``"default"``:
        weights from N(0, 1/n_in), with n_in the neuron's number of inputs, and biases
        from N(0, 1) (chapter 3's improved initialisation).
    ``seed``
        seeds both the initial weights and the shuffling of the training data, so the
        same seed and data give identical weights and accuracies, run after run.
    ``dtype``
        ``numpy.float64`` (the default) or ``numpy.float32`` (faster, same accuracy).
    """

    def __init__(self, sizes, cost="quadratic", activations="sigmoid", init="large",
                 seed=None, dtype=np.float64):
        sizes = [int(size) for size in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise UsageError(f"sizes must list at least two layers of at least one neuron, got {sizes}")
        if init not in INITIALISATIONS:
            raise UsageError(f"unknown initialisation {init!r}; choose from {', '.join(INITIALISATIONS)}")
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise UsageError(f"dtype must be float32 or float64, not {dtype}")
        if isinstance(activations, str):
            activations = [activations] * (len(sizes) - 1)
        if len(activations) != len(sizes) - 1:
            raise UsageError(f"{len(sizes) - 1} layers of weights need as many activations, "
                             f"got {len(activations)}")
        self.sizes = sizes
        self.num_layers = len(sizes)
        self.cost = costs_module.get(cost)
        self.activations = [activations_module.get(name) for name in activations]
        for hidden in self.activations[:-1]:
            if hidden.name == "softmax":
                raise UsageError("softmax can only be the output layer")
        costs_module.check_pairing(self.cost, self.activations[-1])
        self.init = init
        self.dtype = dtype
        if seed is not None and not (isinstance(seed, (int, np.integer)) and seed >= 0):
            raise UsageError(f"the seed must be a whole number of at least 0, got {seed!r}")
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self._velocities = None    # momentum's v for each weight and bias, while training
        self.initialise(init)

    def initialise(self, init="large"):
        """Draw fresh weights and biases: ``"large"`` N(0, 1) or ``"default"`` N(0, 1/n_in)."""
        rng = self.rng
        self.biases = [rng.standard_normal((n_out, 1)).astype(self.dtype)
                       for n_out in self.sizes[1:]]
        scale = (lambda n_in: 1.0 / np.sqrt(n_in)) if init == "default" else (lambda n_in: 1.0)
        self.weights = [(rng.standard_normal((n_out, n_in)) * scale(n_in)).astype(self.dtype)
                        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]

    def __repr__(self) -> str:
        names = "/".join(a.name for a in self.activations)
        return (f"Network({self.sizes}, cost={self.cost.name!r}, activations={names!r}, "
                f"init={self.init!r}, dtype={self.dtype.name})")

    # -- feedforward -----------------------------------------------------------------

    def feedforward(self, a):
        """The network's output for input ``a``: a' = σ(w a + b), layer after layer (eq. 22).

        ``a`` is one ``(784, 1)`` column or a ``(784, m)`` matrix of m columns; a flat
        vector of 784 numbers is taken as one column.  Returns ``(10, m)``.  The
        arithmetic is done in the network's dtype (float32 images are converted once,
        here, rather than inside every product).
        """
        a = np.asarray(a, dtype=self.dtype)
        if a.ndim == 1:
            a = a.reshape(-1, 1)
        if a.shape[0] != self.sizes[0]:
            raise UsageError(f"the network takes {self.sizes[0]} inputs, got {a.shape[0]}")
        for b, w, activation in zip(self.biases, self.weights, self.activations):
            z = w @ a
            z += b
            a = _activate(activation, z, out=z)
        return a

    # -- stochastic gradient descent ----------------------------------------------------

    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0, l1=0.0,
            momentum=0.0, test_data=None, evaluation_data=None, validation_data=None,
            monitor_evaluation_cost=False, monitor_evaluation_accuracy=None,
            monitor_training_cost=False, monitor_training_accuracy=False,
            early_stopping_n=0, schedule=None, callback=None, progress=None):
        """Train by mini-batch stochastic gradient descent; return a :class:`History`.

        Each epoch shuffles the training data, cuts it into mini-batches of
        ``mini_batch_size`` and takes one gradient step per mini-batch with learning
        rate ``eta`` (:meth:`update_mini_batch`).  ``training_data`` is a list of the
        book's ``(x, y)`` pairs or a :class:`~digits.dataset.DataSet`.

        Regularisation (chapter 3): ``lmbda`` is the L2 parameter λ and ``l1`` the L1
        parameter, both scaled by the training set size n.  ``momentum`` is the
        momentum coefficient μ in [0, 1); 0 is plain gradient descent.

        Monitoring: ``test_data`` (the book's chapter-1 argument) or
        ``evaluation_data`` is evaluated after each epoch, its accuracy by default and
        its cost with ``monitor_evaluation_cost``; ``monitor_training_cost`` and
        ``monitor_training_accuracy`` do the same on the training data.

        Early stopping: with ``early_stopping_n = N`` the network is evaluated on
        ``validation_data`` after each epoch and training stops when validation
        accuracy has not improved for N epochs (the book's "no-improvement-in-N"); the
        weights of the best validation epoch are restored at the end.  With
        ``schedule="halve"`` each such stall halves eta instead, and training stops
        once eta has fallen to 1/128 of its starting value.

        ``callback(epoch, history)`` is called after every epoch (epochs count from
        1); ``progress(batches)`` may wrap the iterable of mini-batches, for example in
        a progress bar.  ``history.seconds`` holds each epoch's training time,
        evaluation excluded.

        Speed: every mini-batch reuses the same preallocated arrays (see
        :class:`_Workspace`), the shuffled examples are copied a few hundred at a time
        (:class:`_ShuffledBatches`), and the matrix library runs on one thread, because
        for matrices this small a second thread costs more than it saves
        (:mod:`digits.threads`).
        """
        self.check_hyperparameters(epochs, mini_batch_size, eta, lmbda, l1, momentum,
                                    early_stopping_n, schedule, validation_data)
        if test_data is not None and evaluation_data is not None:
            raise UsageError("give test_data or evaluation_data, not both")
        evaluation = self._as_dataset(evaluation_data if evaluation_data is not None else test_data)
        validation = self._as_dataset(validation_data)
        training = self._as_dataset(training_data)
        self._check_data(training, "training data")
        if monitor_evaluation_accuracy is None:
            monitor_evaluation_accuracy = evaluation is not None
        if evaluation is None and (monitor_evaluation_cost or monitor_evaluation_accuracy):
            raise UsageError("monitoring evaluation cost or accuracy needs evaluation data")

        n = len(training)
        # (A mini-batch larger than the training set is the whole set: full-batch descent.)
        shuffled = _ShuffledBatches(training.inputs, training.targets(), min(mini_batch_size, n),
                                    self.dtype)
        # One workspace for the full mini-batches and one for a shorter last one, if any.
        workspaces = {size: _Workspace(self.sizes, size, self.dtype)
                      for size in {min(mini_batch_size, n), n % mini_batch_size} if size}
        history = History(n_training=n,
                          n_evaluation=len(evaluation) if evaluation is not None else 0,
                          n_validation=len(validation) if validation is not None else 0)
        self._velocities = None
        if momentum:
            self._velocities = ([np.zeros_like(w) for w in self.weights],
                                [np.zeros_like(b) for b in self.biases])
        start_eta = eta
        best_accuracy, best_parameters, stalled = -1, None, 0

        for epoch in range(1, epochs + 1):
            started = time.perf_counter()
            order = self.rng.permutation(n)
            batches = range(0, n, mini_batch_size)
            if progress is not None:
                batches = progress(batches)
            with blas_threads(1):
                for k in batches:
                    x, y = shuffled.mini_batch(order, k)
                    self._gradient_step(workspaces[x.shape[1]], x, y, eta, lmbda, l1, n, momentum)
            history.seconds.append(time.perf_counter() - started)
            history.eta.append(eta)

            if monitor_training_cost:
                history.training_cost.append(self.total_cost(training, lmbda, l1, n))
            if monitor_training_accuracy:
                history.training_accuracy.append(self.evaluate(training))
            if monitor_evaluation_cost:
                history.evaluation_cost.append(self.total_cost(evaluation, lmbda, l1, n))
            if monitor_evaluation_accuracy:
                history.evaluation_accuracy.append(self.evaluate(evaluation))

            stop = False
            if early_stopping_n:
                accuracy = self.evaluate(validation)
                history.validation_accuracy.append(accuracy)
                if accuracy > best_accuracy:
                    best_accuracy, stalled = accuracy, 0
                    history.best_epoch = epoch
                    best_parameters = ([w.copy() for w in self.weights],
                                       [b.copy() for b in self.biases])
                else:
                    stalled += 1
                if stalled >= early_stopping_n:
                    if schedule == "halve":
                        eta, stalled = eta / 2, 0
                        stop = eta <= start_eta / 128
                    else:
                        stop = True
            if callback is not None:
                callback(epoch, history)
            if stop:
                history.stopped_early = epoch < epochs
                break

        if best_parameters is not None:
            self.weights, self.biases = best_parameters
        return history

    def update_mini_batch(self, x, y, eta, lmbda=0.0, l1=0.0, n=1, momentum=0.0):
        """One step of gradient descent on the mini-batch whose examples are the columns of x, y.

        With m examples in the mini-batch and n in the training set (chapter 1, eqs.
        20-21, and chapter 3, eqs. 93 and 98)::

            w -> (1 - eta*lmbda/n) w - (eta*l1/n) sgn(w) - (eta/m) Σ_x ∂C_x/∂w
            b -> b - (eta/m) Σ_x ∂C_x/∂b

        Biases are not regularised.  With momentum μ each parameter keeps a velocity
        (chapter 3): ``v -> μ v - (eta/m) Σ ∂C_x/∂w`` and then ``w -> w + v`` (after the
        same weight decay).
        """
        x = np.asarray(x, dtype=self.dtype)
        y = np.asarray(y, dtype=self.dtype)
        if momentum and self._velocities is None:
            self._velocities = ([np.zeros_like(w) for w in self.weights],
                                [np.zeros_like(b) for b in self.biases])
        workspace = _Workspace(self.sizes, x.shape[1], self.dtype)
        self._gradient_step(workspace, x, y, eta, lmbda, l1, n, momentum)

    def backprop(self, x, y):
        """The gradient of the cost summed over a mini-batch: ``(nabla_b, nabla_w)``.

        ``x`` holds the inputs as columns, ``y`` the desired outputs as columns;
        ``nabla_b[i]`` and ``nabla_w[i]`` have the shapes of ``biases[i]`` and
        ``weights[i]`` and hold Σ_x ∂C_x/∂b and Σ_x ∂C_x/∂w over the m examples.

        The four equations of backpropagation (chapter 2), here for m columns at once:

        * BP1  δ^L = ∇_a C ⊙ σ'(z^L)              (the output error, from the cost)
        * BP2  δ^l = ((w^(l+1))^T δ^(l+1)) ⊙ σ'(z^l)  (the error moves back a layer)
        * BP3  ∂C/∂b^l = δ^l                      (summed over the columns)
        * BP4  ∂C/∂w^l = δ^l (a^(l-1))^T          (the matrix product sums the columns)

        The work is done by :meth:`_forward_pass` and :meth:`_backward_pass`, which
        training calls with arrays it reuses; here they get fresh ones.
        """
        x = np.asarray(x, dtype=self.dtype)
        y = np.asarray(y, dtype=self.dtype)
        workspace = _Workspace(self.sizes, x.shape[1], self.dtype)
        self._forward_pass(workspace, x)
        self._backward_pass(workspace, y, scale=1.0)
        return workspace.nabla_b, workspace.nabla_w

    # -- the three steps of one mini-batch, into preallocated arrays ----------------------

    def _gradient_step(self, workspace, x, y, eta, lmbda, l1, n, momentum):
        """:meth:`update_mini_batch` in the workspace's arrays: forward, backward, update.

        The output error δ^L is multiplied by eta/m before it is propagated back, so
        every δ, and with them nabla_b and nabla_w, already carries the step's factor
        eta/m: multiplying the ``(10, m)`` δ costs far less than multiplying the
        ``(30, 784)`` gradient, and the sums are the same.
        """
        self._forward_pass(workspace, x)
        self._backward_pass(workspace, y, scale=eta / x.shape[1])
        self._update(workspace, eta, lmbda, l1, n, momentum)

    def _forward_pass(self, workspace, x):
        """Feedforward keeping every layer's z^l = w^l a^(l-1) + b^l and a^l = σ(z^l) (eq. 25).

        ``x`` holds the inputs as columns; the results go to ``workspace.zs`` and
        ``workspace.activations`` (``activations[0]`` is x itself).
        """
        zs, activations = workspace.zs, workspace.activations
        activations[0] = x
        for i, (b, w, function) in enumerate(zip(self.biases, self.weights, self.activations)):
            np.matmul(w, activations[i], out=zs[i])
            zs[i] += b
            _activate(function, zs[i], out=activations[i + 1])

    def _backward_pass(self, workspace, y, scale):
        """BP1-BP4 (see :meth:`backprop`) into ``workspace.nabla_b`` and ``workspace.nabla_w``.

        Every δ is multiplied by ``scale``, and so are the gradients: ``scale`` is 1
        for :meth:`backprop` and eta/m for a gradient step.
        """
        zs, activations, deltas = workspace.zs, workspace.activations, workspace.deltas
        # As in the book, l counts layers from the end: l = 1 is the output layer, l = 2
        # the last hidden layer, and so on; Python's negative indices do the rest.
        delta = _output_error(self.cost, self.activations[-1], zs[-1], activations[-1], y,
                              out=deltas[-1], scratch=workspace.derivatives[-1])    # BP1
        if scale != 1.0:
            delta *= scale
        # np.add.reduce(delta, axis=1) is delta.sum(axis=1), without sum's extra checks
        # (a microsecond each, thousands of times per epoch).
        for l in range(1, self.num_layers):
            if l > 1:
                delta = np.matmul(self.weights[-l + 1].T, deltas[-l + 1], out=deltas[-l])
                delta *= _derivative(self.activations[-l], zs[-l], activations[-l],
                                     out=workspace.derivatives[-l])                    # BP2
            np.add.reduce(delta, axis=1, keepdims=True, out=workspace.nabla_b[-l])     # BP3
            np.matmul(delta, activations[-l - 1].T, out=workspace.nabla_w[-l])         # BP4

    def _update(self, workspace, eta, lmbda, l1, n, momentum):
        """The update rule of :meth:`update_mini_batch`, given gradients already times eta/m.

        ``workspace.nabla_w`` holds (eta/m) Σ_x ∂C_x/∂w (and likewise nabla_b), so::

            w -> (1 - eta*lmbda/n) w - (eta*l1/n) sgn(w) - nabla_w
            b -> b - nabla_b

        or, with momentum μ, ``v -> μ v - nabla_w`` and ``w -> w + v``.  Every step
        writes into the existing arrays.
        """
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            nabla_w, nabla_b = workspace.nabla_w[i], workspace.nabla_b[i]
            if lmbda:
                w *= 1.0 - eta * lmbda / n
            if l1:
                sign = np.sign(w, out=workspace.scratch_like(i, w))
                sign *= eta * l1 / n
                w -= sign
            if momentum:
                v_w, v_b = self._velocities[0][i], self._velocities[1][i]
                v_w *= momentum
                v_w -= nabla_w
                v_b *= momentum
                v_b -= nabla_b
                w += v_w
                b += v_b
            else:
                w -= nabla_w
                b -= nabla_b

    # -- evaluation ---------------------------------------------------------------------

    def evaluate(self, data) -> int:
        """How many examples of ``data`` the network classifies correctly.

        The network's answer is the output neuron with the largest activation (a single
        output neuron answers 1 when its activation is at least 0.5).  ``data`` is a
        list of ``(x, label)`` pairs or a DataSet.
        """
        data = self._as_dataset(data)
        correct = 0
        with blas_threads(1):      # see digits.threads: faster on a shared machine
            for inputs, labels, _ in self._chunks(data):
                output = self.feedforward(inputs.T)
                if output.shape[0] == 1:
                    guesses = (output[0] >= 0.5).astype(np.int64)
                else:
                    guesses = output.argmax(axis=0)
                correct += int(np.count_nonzero(guesses == labels))
        return correct

    def accuracy(self, data) -> float:
        """The fraction of ``data`` classified correctly."""
        data = self._as_dataset(data)
        return self.evaluate(data) / len(data)

    def total_cost(self, data, lmbda=0.0, l1=0.0, n=None) -> float:
        """The mean cost over ``data`` plus the regularisation terms (chapter 3, eqs. 85 and 95).

        C = (1/N) Σ_x C_x + (lmbda / 2n) Σ_w w² + (l1 / n) Σ_w |w|, where N is the size
        of ``data`` and n the size of the training set the network learns from (the
        regularisation term belongs to the training cost, so it is scaled by the
        training set's n whichever data are measured; ``n`` defaults to N).
        """
        data = self._as_dataset(data)
        n = len(data) if n is None else n
        cost = 0.0
        with blas_threads(1):
            for inputs, _, targets in self._chunks(data, with_targets=True):
                cost += self.cost.fn(self.feedforward(inputs.T), targets.T)
        cost /= len(data)
        if lmbda:
            cost += 0.5 * (lmbda / n) * sum(float(np.sum(w * w)) for w in self.weights)
        if l1:
            cost += (l1 / n) * sum(float(np.sum(np.abs(w))) for w in self.weights)
        return cost

    # -- helpers ------------------------------------------------------------------------

    def _as_dataset(self, data):
        if data is None:
            return None
        if isinstance(data, DataSet):
            return data
        return DataSet.from_pairs(data, n_out=self.sizes[-1])

    def _check_data(self, data, what):
        if len(data) == 0:
            raise UsageError(f"the {what} is empty")
        if data.inputs.shape[1] != self.sizes[0]:
            raise UsageError(f"the {what} has {data.inputs.shape[1]} inputs per example, "
                             f"the network takes {self.sizes[0]}")

    @staticmethod
    def _chunks(data, size=500, with_targets=False):
        """The data in slices of ``size`` examples: they bound memory, and a slice of a
        few hundred images, converted to the network's dtype, stays in the processor's
        cache while the layers work on it (faster than 10,000 at once)."""
        targets = data.targets() if with_targets else None
        for start in range(0, len(data), size):
            stop = start + size
            yield (data.inputs[start:stop], data.labels[start:stop],
                   targets[start:stop] if with_targets else None)

    @staticmethod
    def check_hyperparameters(epochs, mini_batch_size, eta, lmbda=0.0, l1=0.0, momentum=0.0,
                              early_stopping_n=0, schedule=None, validation_data=None):
        """Raise UsageError for settings :meth:`SGD` would refuse (scripts check before work)."""
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


# -- the arrays training reuses --------------------------------------------------------

# How many shuffled training examples _ShuffledBatches copies at a time (rounded down
# to whole mini-batches, at least one).
_CHUNK_EXAMPLES = 250


class _Workspace:
    """Every array one gradient step writes, for mini-batches of ``m`` examples.

    :meth:`Network.SGD` makes one before the first epoch and reuses it for every
    mini-batch: for matrices this small, allocating a fresh array costs about as much
    as the arithmetic that fills it.  The names are those of :meth:`Network.backprop`;
    every ``(n, m)`` array holds one example per column.
    """

    def __init__(self, sizes, m, dtype):
        layers = list(zip(sizes[:-1], sizes[1:]))
        self.m = m
        self.zs = [np.empty((n_out, m), dtype) for _, n_out in layers]
        # activations[0] is the input x, set by the forward pass; the rest are σ(z).
        self.activations = [None] + [np.empty((n_out, m), dtype) for _, n_out in layers]
        self.deltas = [np.empty((n_out, m), dtype) for _, n_out in layers]
        self.derivatives = [np.empty((n_out, m), dtype) for _, n_out in layers]  # σ'(z)
        self.nabla_b = [np.empty((n_out, 1), dtype) for _, n_out in layers]
        self.nabla_w = [np.empty((n_out, n_in), dtype) for n_in, n_out in layers]
        self._scratch = [None] * len(layers)

    def scratch_like(self, i, w):
        """A spare array shaped like ``weights[i]`` (for sgn(w) in L1), made on first use."""
        if self._scratch[i] is None:
            self._scratch[i] = np.empty_like(w)
        return self._scratch[i]


class _ShuffledBatches:
    """The training examples in an epoch's shuffled order, as the book's column matrices.

    Gathering the 10 rows of one mini-batch from the 157 MB training array is slow:
    each row is a wait on main memory.  Gathering a few hundred rows with one
    ``np.take`` into the same array every time costs much less per row, and converts
    the float32 pixels to the network's dtype in passing, a chunk at a time (so the
    training set is never copied whole, and a float64 network does not need a 314 MB
    float64 copy of it).  The mini-batches of a chunk are views made once.
    """

    def __init__(self, inputs, targets, m, dtype):
        self.inputs, self.targets, self.m = inputs, targets, m
        batches_per_chunk = max(1, _CHUNK_EXAMPLES // m)
        self.size = batches_per_chunk * m
        # One example per row, as in the DataSet; the mini-batch x is a block of rows,
        # transposed (a view) into the book's columns.
        self.x = np.empty((self.size, inputs.shape[1]), dtype)
        self.y = np.empty((self.size, targets.shape[1]), dtype)
        self.raw = self.x if inputs.dtype == dtype else np.empty(self.x.shape, inputs.dtype)
        self.raw_y = self.y if targets.dtype == dtype else np.empty(self.y.shape, targets.dtype)
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
        for source, raw, into in ((self.inputs, self.raw, self.x), (self.targets, self.raw_y, self.y)):
            # mode="clip" only tells np.take it needs no bounds check (the indices are a
            # permutation), so it writes straight into ``raw`` without a buffer.
            np.take(source, indices, axis=0, out=raw[:count], mode="clip")
            if raw is not into:
                np.copyto(into[:count], raw[:count])


# -- the equations' elementwise parts, written into existing arrays --------------------

def _activate(activation, z, out):
    """a = σ(z), written into ``out`` (which may be z itself); returns ``out``.

    The book's sigmoid is computed with the same four operations as
    :meth:`digits.activations.Sigmoid.fn`, σ(z) = 1/2 + tanh(z/2)/2, so the numbers are
    identical, only without a new array; other activations use their own ``fn``.
    """
    if activation is activations_module.Sigmoid:
        np.multiply(z, 0.5, out=out)
        np.tanh(out, out=out)
        out *= 0.5
        out += 0.5
    else:
        np.copyto(out, activation.fn(z))
    return out


def _derivative(activation, z, a, out):
    """σ'(z), written into ``out``: a (1 - a) for the sigmoid, else the activation's own."""
    if activation is activations_module.Sigmoid:
        np.subtract(1.0, a, out=out)
        out *= a
    else:
        np.copyto(out, activation.derivative(z, a))
    return out


def _output_error(cost, activation, z, a, y, out, scratch):
    """BP1, δ^L, written into ``out``: the formulas of :mod:`digits.costs`.

    Quadratic cost: δ^L = (a - y) ⊙ σ'(z^L); cross-entropy (sigmoid output) and
    log-likelihood (softmax output): δ^L = a - y.  Any other cost object is asked for
    its own ``delta``.
    """
    if cost is costs_module.QuadraticCost:
        np.subtract(a, y, out=out)
        out *= _derivative(activation, z, a, out=scratch)
    elif cost is costs_module.CrossEntropyCost or cost is costs_module.LogLikelihoodCost:
        np.subtract(a, y, out=out)
    else:
        np.copyto(out, cost.delta(z, a, y, activation))
    return out
