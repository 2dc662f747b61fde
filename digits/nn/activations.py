"""Activation functions σ(z), each with its derivative σ'(z) beside it.

Every activation is a small class with two static methods:

``fn(z, out=None)``
    the neuron's output ``a = σ(z)`` for a weighted input ``z``;
``derivative(z, a, out=None)``
    ``σ'(z)``, given both ``z`` and the already computed ``a = σ(z)``, because for the
    sigmoid and tanh the derivative is cheapest written in terms of the output
    (backpropagation has both at hand).

Both write into ``out`` when it is given (training passes arrays it allocated once, so
that thousands of mini-batches allocate nothing) and return it; without ``out`` they
return a new array.  Each formula is written here and nowhere else.

Softmax is different: each output depends on the whole layer, so it has no
elementwise derivative.  It is only allowed as an output layer together with the
log-likelihood cost, whose output error ``δ = a - y`` needs no derivative at all
(chapter 3 of the book).
"""

from __future__ import annotations

import numpy as np

from digits.nn.hyperparameters import check_choice
from digits.system.errors import UsageError


class Sigmoid:
    """The book's sigmoid neuron: σ(z) = 1 / (1 + e^(-z))  (chapter 1, eq. 3)."""

    name = "sigmoid"

    @staticmethod
    def fn(z, out=None):
        # The same function written as 1/2 + tanh(z/2)/2: mathematically identical,
        # but it never overflows, so z = -1000 gives 0 without a warning.
        if out is None and np.ndim(z) == 0:     # a lone number: no array to work in
            return 0.5 + 0.5 * np.tanh(0.5 * z)
        a = np.multiply(z, 0.5, out=out)
        np.tanh(a, out=a)
        a *= 0.5
        a += 0.5
        return a

    @staticmethod
    def derivative(z, a, out=None):
        """σ'(z) = σ(z) (1 - σ(z))  (chapter 2, the derivative used in BP1 and BP2)."""
        out = np.subtract(1.0, a, out=out)
        out *= a
        return out


class Tanh:
    """The hyperbolic tangent neuron: tanh(z) = (e^z - e^-z) / (e^z + e^-z), outputs in (-1, 1)."""

    name = "tanh"

    @staticmethod
    def fn(z, out=None):
        return np.tanh(z, out=out)

    @staticmethod
    def derivative(z, a, out=None):
        """tanh'(z) = 1 - tanh(z)^2."""
        out = np.multiply(a, a, out=out)
        np.subtract(1.0, out, out=out)
        return out


class ReLU:
    """The rectified linear neuron: max(0, z)  (chapter 3; chapter 6's best networks)."""

    name = "relu"

    @staticmethod
    def fn(z, out=None):
        return np.maximum(z, 0.0, out=out)

    @staticmethod
    def derivative(z, a, out=None):
        """1 where z > 0, else 0 (the value at z = 0 is taken as 0)."""
        if out is None:
            return (z > 0).astype(z.dtype)
        return np.greater(z, 0.0, out=out)


class Softmax:
    """The softmax output layer: a_j = e^(z_j) / Σ_k e^(z_k)  (chapter 3, eq. 78).

    The outputs are positive and sum to 1 over the layer (axis 0: a column is one
    example), so they read as a probability distribution over the classes.
    """

    name = "softmax"

    @staticmethod
    def fn(z, out=None):
        # Subtracting the column's largest z changes nothing mathematically (it
        # cancels between numerator and denominator) and keeps e^z from overflowing.
        e = np.subtract(z, z.max(axis=0, keepdims=True), out=out)
        np.exp(e, out=e)
        e /= e.sum(axis=0, keepdims=True)
        return e

    @staticmethod
    def derivative(z, a, out=None):
        raise UsageError("softmax has no elementwise derivative; use it only as the output "
                         "layer, with the log-likelihood cost")


ACTIVATIONS = {cls.name: cls for cls in (Sigmoid, Tanh, ReLU, Softmax)}


def get(name):
    """The activation called ``name`` (``sigmoid``, ``tanh``, ``relu``, ``softmax``)."""
    if not isinstance(name, str):
        return name
    check_choice("activation", name, ACTIVATIONS)
    return ACTIVATIONS[name]
