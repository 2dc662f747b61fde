"""Labelled examples in two shapes: fast arrays, and the book's lists of ``(x, y)``.

The book hands its networks lists of tuples: ``x`` a ``(784, 1)`` column vector and
``y`` either a ``(10, 1)`` one-hot column (training data) or an int label (validation
and test data).  That shape is easy to read but slow to loop over, so the data live
in a :class:`DataSet` of two arrays, one example per row, and the book's lists are
views into those arrays (no copies).  Such a list (a :class:`Pairs`) remembers the
DataSet it views, so a network handed the book's list trains on the arrays behind it
instead of stacking 50,000 small arrays into new ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digits.system.errors import UsageError


class Examples:
    """What training and evaluation read from a set of labelled examples.

    ``len(examples)`` examples of ``n_inputs`` numbers of type ``dtype`` each, their
    int ``labels`` and their desired outputs ``targets()`` (n, n_out).  Training copies
    them a few hundred at a time with :meth:`gather` (in a shuffled order), evaluation
    reads them in order with :meth:`chunk`.  :class:`DataSet` holds them in one array;
    the expanded data (:class:`digits.data.expand.ExpandedDataSet`) makes shifted
    copies of its images as they are asked for.
    """

    labels: np.ndarray
    n_out: int

    def __len__(self) -> int:
        raise NotImplementedError

    @property
    def n_inputs(self) -> int:
        raise NotImplementedError

    @property
    def dtype(self) -> np.dtype:
        raise NotImplementedError

    def targets(self) -> np.ndarray:
        raise NotImplementedError

    def gather(self, indices, out) -> np.ndarray:
        """Examples ``indices`` as rows of ``out``, (len(indices), n_inputs); returns ``out``."""
        raise NotImplementedError

    def chunk(self, start, stop) -> np.ndarray:
        """Examples ``start`` to ``stop`` as rows, (stop - start, n_inputs)."""
        raise NotImplementedError


def as_dataset(data, n_out) -> Examples | None:
    """``data`` as :class:`Examples`: unchanged if it is, the arrays behind the book's list
    of ``(x, y)`` pairs if not (see :meth:`DataSet.from_pairs`); None stays None."""
    if data is None or isinstance(data, Examples):
        return data
    return DataSet.from_pairs(data, n_out=n_out)


@dataclass(frozen=True, eq=False)
class DataSet(Examples):
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

    @property
    def n_inputs(self) -> int:
        return self.inputs.shape[1]

    @property
    def dtype(self) -> np.dtype:
        return self.inputs.dtype

    def gather(self, indices, out) -> np.ndarray:
        # mode="clip" only tells np.take it needs no bounds check (the indices are a
        # permutation), so it writes straight into ``out`` without a buffer.
        return np.take(self.inputs, indices, axis=0, out=out, mode="clip")

    def chunk(self, start, stop) -> np.ndarray:
        return self.inputs[start:stop]

    def __repr__(self) -> str:
        return (f"DataSet({len(self)} examples of {self.inputs.shape[1]} {self.inputs.dtype} "
                f"features, {self.n_out} classes)")

    def __getitem__(self, index) -> "DataSet":
        """A slice or an index array gives a smaller DataSet (``data[:1000]``)."""
        if isinstance(index, (int, np.integer)):
            raise TypeError("index a DataSet with a slice or an array of indices")
        return DataSet(self.inputs[index], self.labels[index], self.n_out)

    def targets(self) -> np.ndarray:
        """The desired outputs as rows of an ``(n, n_out)`` array (:func:`vectorized_results`)."""
        return vectorized_results(self.labels, self.n_out, self.inputs.dtype)

    def as_pairs(self, one_hot: bool) -> "Pairs":
        """The book's list of ``(x, y)`` pairs, views of these rows (:func:`pairs_of`)."""
        return pairs_of(self, one_hot)

    @classmethod
    def from_pairs(cls, pairs, n_out: int | None = None) -> "DataSet":
        """The arrays behind a list of the book's ``(x, y)`` tuples (:func:`from_pairs`)."""
        return from_pairs(pairs, n_out)


class Pairs(list):
    """The book's list of ``(x, y)`` pairs, made by :meth:`DataSet.as_pairs`.

    An ordinary list, which also remembers the DataSet its pairs are views of, and
    which row each pair is, so that :meth:`DataSet.from_pairs` (and so
    ``Network.SGD(training_data, ...)``) can find those arrays again instead of
    stacking the pairs.  A slice of it remembers too, and so does the list shuffled
    in place; once a pair in it is not one ``as_pairs`` made (replaced, or added from
    elsewhere), :meth:`viewed_rows` says so and the pairs are stacked like any list's.
    Finding the rows costs far less than stacking the pairs and copies nothing
    (docs/speed-notes.md has the measurement).
    """

    __slots__ = ("source", "_row_of", "_made")

    def __init__(self, pairs=(), source: DataSet | None = None):
        super().__init__(pairs)
        self.source, self._row_of, self._made = source, {}, ()
        if source is not None:
            # The pairs as made, kept so that no other object can take their id()s,
            # and the row of each, found by id() (a tuple of arrays cannot be hashed).
            self._made = tuple(self)
            self._row_of = {id(pair): row for row, pair in enumerate(self._made)}

    def __getitem__(self, index):
        item = super().__getitem__(index)
        if not isinstance(index, slice):
            return item
        part = Pairs(item)
        part.source, part._row_of, part._made = self.source, self._row_of, self._made
        return part

    def viewed_rows(self) -> DataSet | None:
        """The source DataSet's rows these pairs are, in this list's order, or None.

        None when a pair is not one of those ``as_pairs`` made or the list is empty.
        The whole source (or a slice of it) comes back as a view; any other order or
        choice of rows is one gather.
        """
        if self.source is None or not self:
            return None
        rows = np.fromiter((self._row_of.get(id(pair), -1) for pair in self), np.int64, len(self))
        if rows.min() < 0:
            return None
        start = int(rows[0])
        if np.array_equal(rows, np.arange(start, start + len(rows))):
            return self.source[start:start + len(rows)]
        return self.source[rows]


def vectorized_results(labels, n_out: int, dtype) -> np.ndarray:
    """The desired outputs of ``labels``, one row each, ``(n, n_out)`` of ``dtype``.

    One-hot rows (the book's ``vectorized_result``, for every label at once) when
    there are several classes; with a single output neuron (XOR) the label itself, 0 or 1.
    """
    if n_out == 1:
        return labels.astype(dtype).reshape(-1, 1)                            # (n, 1)
    return np.eye(n_out, dtype=dtype)[labels]                                # (n, n_out)


def pairs_of(data: DataSet, one_hot: bool) -> Pairs:
    """The book's format: a list of ``(x, y)`` with ``x`` a ``(n_in, 1)`` column view.

    ``y`` is a ``(n_out, 1)`` one-hot column when ``one_hot`` (training data in the
    book) and an int label otherwise (validation and test data).  The one-hot
    columns are read-only: the labels they show are ``data``'s, which
    :func:`from_pairs` gives back for the list (see :class:`Pairs`).
    """
    columns = [row.reshape(-1, 1) for row in data.inputs]                    # (n_in, 1) each
    if one_hot:
        targets = data.targets()
        targets.flags.writeable = False
        targets = [row.reshape(-1, 1) for row in targets]                    # (n_out, 1) each
    else:
        targets = [int(label) for label in data.labels]
    return Pairs(zip(columns, targets), source=data)


def from_pairs(pairs, n_out: int | None = None) -> DataSet:
    """The arrays behind a list of the book's ``(x, y)`` tuples, as a :class:`DataSet`.

    For a list :func:`pairs_of` made (or a slice of one, or the same pairs
    shuffled), the rows of the DataSet it views: no copy when the pairs are in
    their rows' order, else one gather.  Any other list is stacked into new
    arrays.  ``y`` may be a one-hot column or an int label (for int labels
    ``n_out`` says how many classes there are); a DataSet is returned unchanged.
    """
    if isinstance(pairs, DataSet):
        return pairs
    if isinstance(pairs, Pairs):
        viewed = pairs.viewed_rows()
        if viewed is not None:
            one_hot = np.ndim(pairs[0][1]) > 0
            return DataSet(viewed.inputs, viewed.labels,
                           viewed.n_out if one_hot or n_out is None else n_out)
    return DataSet(*_stacked(list(pairs), n_out))


def _stacked(pairs, n_out):
    """``(inputs, labels, n_out)`` stacked from a list of ``(x, y)`` pairs (y a one-hot
    column or an int label)."""
    if not pairs:
        raise UsageError("the data set is empty")
    inputs = np.stack([np.asarray(x).reshape(-1) for x, _ in pairs])          # (n, n_in)
    if np.ndim(pairs[0][1]) == 0:
        labels = np.array([int(y) for _, y in pairs], dtype=np.int64)
        return inputs, labels, n_out if n_out is not None else int(labels.max()) + 1
    targets = np.stack([np.asarray(y).reshape(-1) for _, y in pairs])         # (n, n_out)
    if targets.shape[1] == 1:
        return inputs, np.rint(targets[:, 0]).astype(np.int64), 1
    return inputs, targets.argmax(axis=1).astype(np.int64), targets.shape[1]
