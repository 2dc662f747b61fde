"""The book's ``network.py`` (chapter 1): a network of sigmoid neurons learning by SGD.

::

    >>> from digits.book import mnist_loader, network
    >>> training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    >>> net = network.Network([784, 30, 10])
    >>> net.SGD(training_data, 30, 10, 3.0, test_data=test_data)
    Epoch 0: 9129 / 10000
    Epoch 1: 9295 / 10000
    ...

``Network(sizes)`` has the book's attributes (``num_layers``, ``sizes``, ``biases``,
``weights``: every weight and bias drawn from N(0, 1)) and methods (``feedforward``,
``SGD``, ``update_mini_batch``, ``backprop``, ``evaluate``, ``cost_derivative``), and
the module has ``sigmoid`` and ``sigmoid_prime``.  It is the engine's
:class:`digits.nn.network.Network` with the quadratic cost; the equations are there,
once: feedforward (eq. 22), backpropagation (BP1-BP4), the update (eqs. 20-21).

The per-example loop of the book's ``update_mini_batch`` and ``backprop`` is replaced by
the engine's mini-batch matrices: the same sums, as fast as the library (the tests
check the weights against the per-example loop).  The lines are printed by
:class:`digits.book.printing.Chapter1Lines`, a callback of the training loop.

Departures from the book's code (its defects and Python 2 habits, done as meant):

* ``SGD`` no longer shuffles the caller's ``training_data`` in place (the book's
  ``random.shuffle`` reordered the reader's list); the engine shuffles an order of
  its own.  Its epochs draw from the network's generator, which is seeded from
  numpy's global one: ``np.random.seed(n)`` before ``Network(...)`` repeats a run.
* ``SGD`` also keeps what it saw in ``net.history``
  (:class:`digits.nn.training.History`; ``net.history.plot()`` draws it); it still
  returns None, as the book's did, so a shell echoes nothing after the lines.
* ``training_data`` and ``test_data`` may be used again and again (under Python 3 the
  book's loader gave ``zip`` objects that one epoch used up); ``xrange``, ``print``
  statements and integer ``/`` are gone.
* ``backprop(x, y)`` also takes several examples as the columns of ``x`` and ``y`` and
  returns the gradients summed over them.
"""

from __future__ import annotations

import numpy as np

from digits.book.engine import Identity, columns, seed_from_numpy
from digits.book.printing import Chapter1Lines
from digits.nn import network as engine
from digits.nn.activations import Sigmoid
from digits.nn.costs import QuadraticCost


class Network(engine.Network):
    """The book's chapter-1 network: ``Network([784, 30, 10])``.

    ``sizes`` lists the neurons of each layer, the input layer first.  ``seed``
    (not in the book) fixes the initial weights and the shuffling; without it they are
    drawn from numpy's global generator.
    """

    def __init__(self, sizes, seed=None):
        super().__init__(sizes, cost="quadratic", activations="sigmoid", init="large",
                         seed=seed_from_numpy(seed))
        self.history = None

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None):
        """Train by mini-batch stochastic gradient descent, printing a line per epoch.

        ``training_data`` is a list of ``(x, y)`` pairs; with ``test_data`` the network
        is evaluated after each epoch and the line says how many test images it got
        right.  Returns None; ``self.history`` holds the run.
        """
        self.history = super().SGD(training_data, epochs, mini_batch_size, eta,
                                   test_data=test_data, callbacks=[Chapter1Lines()])

    def update_mini_batch(self, mini_batch, eta):
        """One gradient step on ``mini_batch``, a list of ``(x, y)`` pairs, with learning rate ``eta``.

        w -> w - (eta/m) Σ_x ∂C_x/∂w and b -> b - (eta/m) Σ_x ∂C_x/∂b (eqs. 20-21).
        """
        x, y = columns(mini_batch, self.sizes[-1], self.dtype)
        super().update_mini_batch(x, y, eta)

    def cost_derivative(self, output_activations, y):
        """∂C_x/∂a for the quadratic cost: the vector a - y."""
        a = np.asarray(output_activations, dtype=np.float64)
        return QuadraticCost.delta(a, a, y, Identity)


def sigmoid(z):
    """σ(z) = 1 / (1 + e^(-z)), elementwise."""
    return Sigmoid.fn(np.asarray(z, dtype=np.float64))


def sigmoid_prime(z):
    """σ'(z) = σ(z) (1 - σ(z)), elementwise."""
    z = np.asarray(z, dtype=np.float64)
    return Sigmoid.derivative(z, Sigmoid.fn(z))
