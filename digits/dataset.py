"""Labelled examples in two shapes: fast arrays, and the book's lists of ``(x, y)``.

The book hands its networks lists of tuples: ``x`` a ``(784, 1)`` column vector and
``y`` either a ``(10, 1)`` one-hot column (training data) or an int label (validation
and test data).  That shape is easy to read but slow to loop over, so the data live
in a :class:`DataSet` of two arrays, one example per row, and the book's lists are
views into those arrays (no copies).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import UsageError


@dataclass(frozen=True, eq=False)
class DataSet:
    """``n`` examples: ``inputs`` of shape ``(n, n_in)`` and int ``labels`` of shape ``(n,)``.

    A row of ``inputs`` is one example; ``inputs.T`` is the book's matrix whose
    columns are examples.  ``n_out`` is the number of output neurons: 10 for MNIST,
    one per class; 1 for a yes/no problem such as XOR, whose label is the target.
    """

    inputs: np.ndarray
    labels: np.ndarray
    n_out: int = 10

    def __post_init__(self):
        if self.inputs.ndim != 2:
            raise UsageError(f"inputs must be a 2-D array (examples x features), got shape {self.inputs.shape}")
        if self.labels.shape != (self.inputs.shape[0],):
            raise UsageError(
                f"{self.inputs.shape[0]} inputs but labels of shape {self.labels.shape}")

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def __repr__(self) -> str:
        return (f"DataSet({len(self)} examples of {self.inputs.shape[1]} {self.inputs.dtype} "
                f"features, {self.n_out} classes)")

    def __getitem__(self, index) -> "DataSet":
        """A slice or an index array gives a smaller DataSet (``data[:1000]``)."""
        if isinstance(index, (int, np.integer)):
            raise TypeError("index a DataSet with a slice or an array of indices")
        return DataSet(self.inputs[index], self.labels[index], self.n_out)

    def targets(self) -> np.ndarray:
        """The desired outputs as rows of an ``(n, n_out)`` array.

        One-hot rows (the book's ``vectorized_result``) when there are several
        classes; with a single output neuron (XOR) the label itself, 0 or 1.
        """
        if self.n_out == 1:
            return self.labels.astype(self.inputs.dtype).reshape(-1, 1)
        return np.eye(self.n_out, dtype=self.inputs.dtype)[self.labels]

    def as_pairs(self, one_hot: bool) -> list:
        """The book's format: a list of ``(x, y)`` with ``x`` a ``(n_in, 1)`` column view.

        ``y`` is a ``(n_out, 1)`` one-hot column when ``one_hot`` (training data in the
        book) and an int label otherwise (validation and test data).
        """
        columns = [row.reshape(-1, 1) for row in self.inputs]
        if one_hot:
            targets = [row.reshape(-1, 1) for row in self.targets()]
        else:
            targets = [int(label) for label in self.labels]
        return list(zip(columns, targets))

    @classmethod
    def from_pairs(cls, pairs, n_out: int | None = None) -> "DataSet":
        """Stack a list of the book's ``(x, y)`` tuples back into arrays.

        ``y`` may be a one-hot column or an int label; a DataSet is returned unchanged.
        """
        if isinstance(pairs, DataSet):
            return pairs
        pairs = list(pairs)
        if not pairs:
            raise UsageError("the data set is empty")
        inputs = np.stack([np.asarray(x).reshape(-1) for x, _ in pairs])
        first = pairs[0][1]
        if np.ndim(first) == 0:
            labels = np.array([int(y) for _, y in pairs], dtype=np.int64)
            n_out = n_out if n_out is not None else int(labels.max()) + 1
        else:
            targets = np.stack([np.asarray(y).reshape(-1) for _, y in pairs])
            n_out = targets.shape[1]
            if n_out == 1:
                labels = np.rint(targets[:, 0]).astype(np.int64)
            else:
                labels = targets.argmax(axis=1).astype(np.int64)
        return cls(inputs, labels, n_out)
