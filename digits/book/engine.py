"""What the book's modules share on their way to the engine (:mod:`digits.nn`).

* :func:`seed_from_numpy`: the book's networks draw their weights from numpy's global
  generator, so ``np.random.seed(0)`` before a session makes it repeatable; the engine's
  networks have a generator of their own, seeded here from the global one.
* :func:`columns`: a mini-batch, the book's list of ``(x, y)`` pairs, as the engine's two
  matrices whose columns are the examples.
* :class:`Identity`: the activation a(z) = z, with derivative 1 (network3's ``linear``,
  and ∇_a C from a cost's δ^L).
"""

from __future__ import annotations

import numpy as np

from digits.system.errors import UsageError


def seed_from_numpy(seed=None) -> int:
    """``seed`` if given, else a seed drawn from numpy's global generator (``np.random.seed``)."""
    if seed is not None:
        return seed
    return int(np.random.randint(0, 2**31 - 1))


def columns(mini_batch, n_out, dtype=np.float64):
    """``(x, y)``: the ``(n_in, m)`` inputs and ``(n_out, m)`` desired outputs of ``mini_batch``.

    ``mini_batch`` is the book's list of ``(x, y)`` pairs, ``x`` a column and ``y`` the
    desired output column (kept as it is) or an int label (its one-hot column).
    """
    mini_batch = list(mini_batch)
    if not mini_batch:
        raise UsageError("the mini-batch is empty")
    x = np.hstack([np.asarray(x, dtype).reshape(-1, 1) for x, _ in mini_batch])   # (n_in, m)
    y = np.zeros((n_out, len(mini_batch)), dtype)                                 # (n_out, m)
    for j, (_, target) in enumerate(mini_batch):
        if np.ndim(target) == 0:
            y[int(target), j] = 1.0
        else:
            y[:, j] = np.asarray(target, dtype).reshape(-1)
    return x, y


class Identity:
    """a(z) = z, a'(z) = 1: the book's ``linear`` neuron of network3."""

    name = "linear"

    @staticmethod
    def fn(z, out=None):
        if out is None:
            return np.array(z, copy=True)
        np.copyto(out, z)
        return out

    @staticmethod
    def derivative(z, a, out=None):
        if out is None:
            return np.ones_like(a)
        out.fill(1.0)
        return out
