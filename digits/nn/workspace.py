"""A layer's workspace: the arrays its passes write, made once per mini-batch size.

Training reuses one for every mini-batch, since for arrays this small allocating one
costs about as much as filling it.  What each layer keeps in it is listed in its
``make_workspace``; ``nabla_b`` and ``nabla_w`` hold the gradient summed over the
mini-batch times the factor the backward pass was given (1 for ``backprop``, eta/m in a
training step, see :meth:`digits.nn.network.Backpropagation.backward_pass`).
"""

from __future__ import annotations


class Workspace:
    """The arrays one layer writes for mini-batches of ``m`` examples (made once, reused)."""

    def __init__(self, m):
        self.m = m

    def __repr__(self) -> str:
        return f"Workspace(m={self.m}, arrays={sorted(self.__dict__)})"
