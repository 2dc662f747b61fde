"""Cost functions C, each with the output error δ^L it gives backpropagation.

Every cost is a small class with two static methods, following chapter 3 of the book:

``fn(a, y)``
    the cost of outputs ``a`` against desired outputs ``y``, summed over the columns
    (examples) of a mini-batch; divide by the number of examples for the mean;
``delta(z, a, y, activation, out=None, scratch=None)``
    the error of the output layer, δ^L = ∂C/∂z^L, for weighted inputs ``z``, outputs
    ``a = σ(z)`` and the output layer's ``activation`` (equation BP1), written into
    ``out`` when given (``scratch``, an array shaped like ``a``, saves the quadratic
    cost an allocation for σ'(z)).  This is the one place BP1 is written.

Inputs are arrays whose columns are examples: ``(n_out, m)``.

A cost is computed in float64 whatever the network's dtype: it is a number people
read and compare between runs, and a float32 network should report the same cost as
a float64 one for the same outputs.  It matters most for the logarithms below: in
float32, 1 - 1e-12 rounds to exactly 1, so a saturated output neuron would make the
cross-entropy inf or nan.  Converting the ``(n_out, m)`` outputs costs far less than
the feedforward that produced them.
"""

from __future__ import annotations

import numpy as np

from digits.nn.hyperparameters import check_choice
from digits.system.errors import UsageError

# Outputs are kept this far from 0 and 1 inside logarithms, so that a saturated
# neuron costs a large finite number instead of inf or nan (in float64: see above).
_EPSILON = 1e-12


class QuadraticCost:
    """C = ½ ‖y - a‖²  (chapter 1, eq. 6), the cost of the book's first network."""

    name = "quadratic"

    @staticmethod
    def fn(a, y):
        a = np.asarray(a, dtype=np.float64)
        return 0.5 * float(np.sum((a - y) ** 2))

    @staticmethod
    def delta(z, a, y, activation, out=None, scratch=None):
        """δ^L = (a - y) ⊙ σ'(z^L)  (BP1 with ∇_a C = a - y)."""
        out = np.subtract(a, y, out=out)
        out *= activation.derivative(z, a, out=scratch)
        return out


class CrossEntropyCost:
    """C = -Σ_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)]  (chapter 3, eq. 63).

    For sigmoid outputs the σ'(z) of the quadratic cost cancels, so a badly wrong,
    saturated neuron still learns quickly.
    """

    name = "cross-entropy"

    @staticmethod
    def fn(a, y):
        a = np.clip(np.asarray(a, dtype=np.float64), _EPSILON, 1.0 - _EPSILON)
        return float(-np.sum(y * np.log(a) + (1.0 - y) * np.log(1.0 - a)))

    @staticmethod
    def delta(z, a, y, activation, out=None, scratch=None):
        """δ^L = a - y  (chapter 3, eq. 66); it needs sigmoid output neurons."""
        return np.subtract(a, y, out=out)


class LogLikelihoodCost:
    """C = -ln a_y, the log of the output for the right class  (chapter 3, eq. 80).

    It goes with a softmax output layer, whose outputs sum to 1.
    """

    name = "log-likelihood"

    @staticmethod
    def fn(a, y):
        a = np.clip(np.asarray(a, dtype=np.float64), _EPSILON, 1.0)
        return float(-np.sum(y * np.log(a)))

    @staticmethod
    def delta(z, a, y, activation, out=None, scratch=None):
        """δ^L = a - y  (chapter 3, eq. 81, for softmax outputs)."""
        return np.subtract(a, y, out=out)


COSTS = {cls.name: cls for cls in (QuadraticCost, CrossEntropyCost, LogLikelihoodCost)}

# Which output layer each cost's delta is written for (None: any elementwise one).
_OUTPUT_FOR_COST = {"quadratic": None, "cross-entropy": "sigmoid", "log-likelihood": "softmax"}


def get(name):
    """The cost called ``name`` (``quadratic``, ``cross-entropy``, ``log-likelihood``)."""
    if not isinstance(name, str):
        return name
    check_choice("cost", name, COSTS)
    return COSTS[name]


def check_pairing(cost, output_activation):
    """Refuse a cost whose δ^L formula does not hold for this output layer."""
    needed = _OUTPUT_FOR_COST.get(cost.name)
    if needed is not None and output_activation.name != needed:
        raise UsageError(f"the {cost.name} cost needs a {needed} output layer, "
                         f"not {output_activation.name}")
    if needed is None and output_activation.name == "softmax":
        raise UsageError("a softmax output layer goes with the log-likelihood cost")



def l2_term(weights, lmbda, n) -> float:
    """The L2 regularisation term of the cost, (lmbda / 2n) Σ_w w² (chapter 3, eq. 85).

    ``weights``: the arrays of weights (biases are not regularised); n: the size of the
    training set.  Summed in float64.
    """
    return 0.5 * (lmbda / n) * sum(float(np.sum(np.square(w, dtype=np.float64))) for w in weights)


def l1_term(weights, l1, n) -> float:
    """The L1 regularisation term of the cost, (l1 / n) Σ_w |w| (chapter 3, eq. 95)."""
    return (l1 / n) * sum(float(np.sum(np.abs(w), dtype=np.float64)) for w in weights)
