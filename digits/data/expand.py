"""The book's expanded training data: every image and its four one-pixel shifts.

Chapter 6 makes the training set five times larger by moving each of the 50,000
training images one pixel up, down, left and right (the book's ``expand_mnist.py``):
250,000 images.  Storing them as floats would take 784 MB; :class:`ExpandedDataSet`
keeps only the original images and makes a shifted copy when training asks for it, a
few hundred images at a time (:class:`digits.nn.training.ShuffledBatches` calls
:meth:`ExpandedDataSet.gather`).

Example ``i`` is image ``i % n`` moved by ``SHIFTS[i // n]``: the first n examples are
the originals, the next n the images moved up one pixel, and so on.  The pixel that
comes in at the edge is blank (0), as in the book.
"""

from __future__ import annotations

import numpy as np

from digits.nn.dataset import DataSet, Examples
from digits.system.errors import UsageError

# (rows, columns) each copy is moved by: none, up, down, left, right.
SHIFTS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))
SIDE = 28


def shift_images(images, rows, columns, out):
    """``images`` (n, 784) moved by ``rows`` down and ``columns`` right, into ``out`` (n, 784)."""
    source = images.reshape(-1, SIDE, SIDE)                 # (n, 28, 28)
    target = out.reshape(-1, SIDE, SIDE)                    # (n, 28, 28)
    target.fill(0)
    dst_r = slice(max(rows, 0), SIDE + min(rows, 0))
    src_r = slice(max(-rows, 0), SIDE + min(-rows, 0))
    dst_c = slice(max(columns, 0), SIDE + min(columns, 0))
    src_c = slice(max(-columns, 0), SIDE + min(-columns, 0))
    target[:, dst_r, dst_c] = source[:, src_r, src_c]
    return out


class ExpandedDataSet(Examples):
    """``base`` (MNIST training images) and its four one-pixel shifts, made on demand."""

    def __init__(self, base: DataSet):
        if base.n_inputs != SIDE * SIDE:
            raise UsageError(f"expanding shifts 28x28 images; these have {base.n_inputs} pixels")
        self.base = base
        self.n_out = base.n_out
        self.labels = np.tile(base.labels, len(SHIFTS))

    @property
    def n_inputs(self) -> int:
        return self.base.n_inputs

    @property
    def dtype(self) -> np.dtype:
        return self.base.dtype

    def __len__(self) -> int:
        return len(SHIFTS) * len(self.base)

    def __repr__(self) -> str:
        return f"ExpandedDataSet({len(self)} examples: {len(self.base)} images and their 4 one-pixel shifts)"

    def targets(self) -> np.ndarray:
        return np.tile(self.base.targets(), (len(SHIFTS), 1))

    def gather(self, indices, out) -> np.ndarray:
        """Examples ``indices`` into ``out`` (len(indices), 784), each image shifted as its index says."""
        indices = np.asarray(indices)
        n = len(self.base)
        images, shifts = indices % n, indices // n
        self.base.gather(images, out=out)
        for kind in range(1, len(SHIFTS)):
            rows = np.flatnonzero(shifts == kind)
            if len(rows):
                moved = np.empty((len(rows), self.n_inputs), out.dtype)          # (rows, 784)
                out[rows] = shift_images(out[rows], *SHIFTS[kind], out=moved)
        return out

    def chunk(self, start, stop) -> np.ndarray:
        """Examples ``start`` to ``stop`` as a new array (for evaluation)."""
        return self.gather(np.arange(start, min(stop, len(self))),
                           np.empty((min(stop, len(self)) - start, self.n_inputs), self.dtype))
