"""The book's ``network2.py`` (chapter 3): better costs, initialisation, regularisation.

::

    >>> from digits.book import mnist_loader, network2
    >>> training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    >>> net = network2.Network([784, 30, 10], cost=network2.CrossEntropyCost)
    >>> net.large_weight_initializer()
    >>> net.SGD(training_data, 30, 10, 0.5, evaluation_data=test_data,
    ...         monitor_evaluation_accuracy=True)
    Epoch 0 training complete
    Accuracy on evaluation data: 9152 / 10000
    ...

The module has the book's names: ``QuadraticCost`` and ``CrossEntropyCost`` (each with
``fn(a, y)`` and ``delta(z, a, y)``), ``Network(sizes, cost=CrossEntropyCost)`` with
``default_weight_initializer`` (weights N(0, 1/n_in), biases N(0, 1)),
``large_weight_initializer`` (N(0, 1)), ``feedforward``, ``SGD``, ``update_mini_batch``,
``backprop``, ``accuracy``, ``total_cost`` and ``save``, and ``load``,
``vectorized_result``, ``sigmoid``, ``sigmoid_prime``.

``SGD(training_data, epochs, mini_batch_size, eta, lmbda=0.0, evaluation_data=None,
monitor_evaluation_cost=False, monitor_evaluation_accuracy=False,
monitor_training_cost=False, monitor_training_accuracy=False, early_stopping_n=0)``
prints the book's lines (:class:`digits.book.printing.Chapter3Lines`) and returns its
four lists, ``evaluation_cost, evaluation_accuracy, training_cost, training_accuracy``
(a :class:`Monitored`, which also draws itself: ``.plot()``).  The L2 term is the
book's: w -> (1 - eta*lmbda/n) w - (eta/m) Σ_x ∂C_x/∂w, n the size of the training set
(eq. 93).  All of it is the engine's :class:`digits.nn.network.Network`, computed over
whole mini-batches at once.

Departures from the book's code (its defects and Python 2 habits, done as meant):

* ``save`` wrote JSON that ``load`` rebuilt the cost from by looking its name up in the
  module; here a network is saved as a digits model file (:mod:`digits.store.model_file`:
  an ``.npz`` of plain arrays and JSON metadata, never pickled), which ``load`` reads and
  checks, and which ``python -m digits`` commands read too.  Name it ``something.npz``.
* Early stopping: the book's counted epochs without improvement of whatever accuracy
  its loop had last computed (with no monitoring: a NameError); here it is the accuracy
  on ``evaluation_data``, which it needs, and the network ends with the weights of its
  best epoch, the point of stopping early.
* Costs monitored during ``SGD`` add the L2 term with n the training set's size, as
  eq. 86 defines it; the book's added it with n the size of the data measured, so its
  "cost on evaluation data" grew with lmbda as if 10,000 images were the training set.
  ``total_cost`` called directly keeps the book's formula (n = len(data)).
* ``convert`` is checked against the data (the book's gave wrong numbers or a
  traceback when it did not match); the arrays behind the book's lists are used as
  they are, so it chooses no code path.
* ``SGD`` does not shuffle the caller's list in place; ``np.random.seed(n)`` before
  ``Network(...)`` repeats a run (see :mod:`digits.book.network`).  Lists replace
  ``zip`` objects and ``xrange``; ``print`` is a function.
"""

from __future__ import annotations

from collections import namedtuple
from pathlib import Path

import numpy as np

from digits.book.engine import columns, seed_from_numpy
from digits.book.network import sigmoid, sigmoid_prime
from digits.book.mnist_loader import vectorized_result
from digits.book.printing import Chapter3Lines
from digits.nn import costs
from digits.nn import network as engine
from digits.nn.activations import Sigmoid
from digits.nn.dataset import DataSet
from digits.store import model_file
from digits.system.errors import UsageError

__all__ = ["QuadraticCost", "CrossEntropyCost", "Network", "Monitored", "load",
           "vectorized_result", "sigmoid", "sigmoid_prime"]


class QuadraticCost(costs.QuadraticCost):
    """C = ½ ‖a - y‖² (eq. 6); ``delta(z, a, y)`` = (a - y) ⊙ σ'(z) for sigmoid outputs."""

    @staticmethod
    def delta(z, a, y, activation=Sigmoid, out=None, scratch=None):
        return costs.QuadraticCost.delta(z, a, y, activation, out, scratch)


class CrossEntropyCost(costs.CrossEntropyCost):
    """C = -Σ_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)] (eq. 63); ``delta(z, a, y)`` = a - y (eq. 66)."""

    @staticmethod
    def delta(z, a, y, activation=Sigmoid, out=None, scratch=None):
        return costs.CrossEntropyCost.delta(z, a, y, activation, out, scratch)


_COSTS = {cost.name: cost for cost in (QuadraticCost, CrossEntropyCost)}


class Monitored(namedtuple("Monitored", "evaluation_cost evaluation_accuracy training_cost "
                                        "training_accuracy")):
    """The four lists network2's ``SGD`` returns, one entry per epoch for what was monitored.

    Unpacks as the book's tuple; ``history`` is the engine's full record of the run,
    and :meth:`plot` draws the lists (a matplotlib Figure).
    """

    history = None

    @classmethod
    def of(cls, history) -> "Monitored":
        """The four lists of the engine's ``history`` of a run (and the history itself)."""
        monitored = cls(list(history.evaluation_cost), list(history.evaluation_accuracy),
                        list(history.training_cost), list(history.training_accuracy))
        monitored.history = history
        return monitored

    def plot(self):
        """A figure of the monitored costs and accuracies per epoch (see ``History.plot``)."""
        return self.history.plot()


class _OnTheEngine:
    """The attributes of a book's network whose arrays and passes are those of the engine's
    network ``self.network`` (:class:`digits.nn.network.Network`): ``weights`` and
    ``biases`` are its arrays themselves, and its other attributes (``sizes``,
    ``num_layers``, ``feedforward``, ``backprop``, ``evaluate``, ...) are this one's."""

    network: engine.Network

    def __getattr__(self, name):
        if name == "network":                   # not set yet: no network to ask
            raise AttributeError(name)
        return getattr(self.network, name)

    @property
    def weights(self) -> list:
        """Each layer's weights, ``weights[i][j, k]`` from neuron k to neuron j (the arrays themselves)."""
        return self.network.weights

    @weights.setter
    def weights(self, arrays):
        self.network.weights = arrays

    @property
    def biases(self) -> list:
        """Each layer's biases, ``(n, 1)`` columns (the arrays themselves)."""
        return self.network.biases

    @biases.setter
    def biases(self, arrays):
        self.network.biases = arrays


class _Measures:
    """The book's ``accuracy`` and ``total_cost``, whose ``convert`` flag says what the
    ``y`` of the data are (the two read it the opposite way round, as in the book)."""

    network: engine.Network

    def accuracy(self, data, convert=False):
        """How many examples of ``data`` the network gets right.

        ``convert`` says the ``y`` of ``data`` are one-hot columns (the training data);
        False: int digits (validation and test data).
        """
        return self.network.evaluate(_checked(data, convert, "accuracy"))

    def total_cost(self, data, lmbda, convert=False):
        """The mean cost over ``data`` plus the L2 term (lmbda / 2 len(data)) Σ w² (eq. 85).

        ``convert`` says the ``y`` of ``data`` are int digits (validation and test
        data); False: one-hot columns (the training data).
        """
        return self.network.total_cost(_checked(data, convert, "total_cost"), lmbda)


class _Initializers:
    """The book's two starting points for the weights (chapter 3, "Weight initialization")."""

    network: engine.Network

    def default_weight_initializer(self):
        """Weights from N(0, 1/n_in), n_in the neuron's number of inputs; biases from N(0, 1)."""
        self.network.initialise("default")

    def large_weight_initializer(self):
        """Weights and biases from N(0, 1), as chapter 1's network."""
        self.network.initialise("large")


class Network(_OnTheEngine, _Initializers, _Measures):
    """The book's chapter-3 network: ``Network(sizes, cost=CrossEntropyCost)``.

    Sigmoid neurons in every layer; the weights start from
    :meth:`default_weight_initializer` (:class:`_Initializers`); ``accuracy`` and
    ``total_cost`` are :class:`_Measures`'.  ``seed`` (not in the book): see
    :class:`digits.book.network.Network`.  The engine's network it trains is
    ``self.network``, whose attributes are this network's too (:class:`_OnTheEngine`).
    """

    def __init__(self, sizes, cost=CrossEntropyCost, seed=None):
        if cost not in _COSTS.values():
            raise UsageError(f"cost must be network2.QuadraticCost or network2.CrossEntropyCost, "
                             f"not {cost!r}")
        self.network = engine.Network(sizes, cost=cost, activations="sigmoid", init="default",
                                      seed=seed_from_numpy(seed))
        self.cost = cost
        self.history = None

    def __repr__(self) -> str:
        return f"network2.Network({self.sizes}, cost={self.cost.__name__})"

    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0, evaluation_data=None,
            monitor_evaluation_cost=False, monitor_evaluation_accuracy=False,
            monitor_training_cost=False, monitor_training_accuracy=False, early_stopping_n=0):
        """Train by mini-batch SGD, printing the book's lines; return the four monitored lists.

        ``lmbda`` is the L2 parameter; each ``monitor_...`` flag measures a cost or an
        accuracy after every epoch; ``early_stopping_n = N`` stops once the accuracy on
        ``evaluation_data`` has not improved for N epochs.
        """
        if early_stopping_n and evaluation_data is None:
            raise UsageError("early_stopping_n needs evaluation_data, whose accuracy it watches")
        self.history = self.network.SGD(
            training_data, epochs, mini_batch_size, eta, lmbda=lmbda,
            evaluation_data=evaluation_data,
            monitor_evaluation_cost=monitor_evaluation_cost,
            monitor_evaluation_accuracy=monitor_evaluation_accuracy,
            monitor_training_cost=monitor_training_cost,
            monitor_training_accuracy=monitor_training_accuracy,
            early_stopping_n=early_stopping_n,
            validation_data=evaluation_data if early_stopping_n else None,
            callbacks=[Chapter3Lines()])
        return Monitored.of(self.history)

    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        """One gradient step on ``mini_batch`` (pairs), with L2 parameter ``lmbda`` and n training images.

        w -> (1 - eta*lmbda/n) w - (eta/m) Σ_x ∂C_x/∂w,  b -> b - (eta/m) Σ_x ∂C_x/∂b (eq. 93).
        """
        x, y = columns(mini_batch, self.sizes[-1], self.dtype)
        self.network.update_mini_batch(x, y, eta, lmbda=lmbda, n=n)

    def save(self, filename):
        """Save the network to ``filename`` (a digits model file, ``.npz``; see the module)."""
        path = Path(filename)
        if path.suffix == ".json":
            raise UsageError(f"{filename}: network2 saves a digits model file (.npz), not the "
                             f"book's JSON; name it {path.with_suffix('.npz').name}")
        model_file.save(self.network, path)


def load(filename):
    """The network2 :class:`Network` saved in ``filename`` by :meth:`Network.save`."""
    saved, meta = model_file.load(filename)
    if saved.convolutional or meta.get("cost") not in _COSTS or \
            any(activation.name != "sigmoid" for activation in saved.activations):
        raise model_file.ModelFileError(
            f"{filename} holds a {saved!r}, not a network2 network (sigmoid layers, quadratic "
            f"or cross-entropy cost)")
    net = Network(saved.sizes, cost=_COSTS[meta["cost"]], seed=0)
    net.weights, net.biases = saved.weights, saved.biases
    return net


def _checked(data, convert, method):
    """``data``, after checking that ``convert`` says what its ``y`` are.

    ``accuracy`` converts one-hot ``y`` (convert=True) and ``total_cost`` int ``y``.
    """
    if isinstance(data, DataSet) or hasattr(data, "gather"):
        return data
    if not isinstance(data, list):
        data = list(data)
    if not data:
        raise UsageError(f"{method}: the data are empty")
    one_hot = np.ndim(data[0][1]) > 0
    right = one_hot if method == "accuracy" else not one_hot
    if convert != right:
        given = "one-hot columns" if one_hot else "int digits"
        raise UsageError(f"{method}: these data's y are {given}, so call it with convert={right}")
    return data
