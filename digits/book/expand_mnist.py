"""The book's ``expand_mnist.py`` (chapter 6): the training images and their one-pixel shifts.

The book's script wrote ``mnist_expanded.pkl.gz``: each of the 50,000 training images
and its copies moved one pixel up, down, left and right, 250,000 images.  Here nothing
is written: :func:`expanded_training_data` gives the engine's
:class:`digits.data.expand.ExpandedDataSet`, which makes the shifted copies a few
hundred at a time while training (the pixel that comes in at an edge is blank, as in
the book).  ``network3.load_data_shared("../data/mnist_expanded.pkl.gz")`` returns it
as its training data.

Run as a script (``python -m digits.book.expand_mnist``), it says what it would have
written: the book's first line, then the size of the expanded set.
"""

from __future__ import annotations

from digits.data.expand import ExpandedDataSet
from digits.nn.dataset import DataSet


def expanded_training_data(training_data):
    """``training_data`` (a DataSet or the book's list of pairs) and its four one-pixel shifts."""
    return ExpandedDataSet(DataSet.from_pairs(training_data))


def main():
    """The book's script: expand MNIST's training images (made on demand, never stored)."""
    from digits.book import mnist_loader

    print("Expanding the MNIST training set")
    training, _, _ = mnist_loader.load_datasets()
    expanded = expanded_training_data(training)
    print(f"{len(expanded):,} training images: {len(training):,} and their shifts by one pixel "
          f"up, down, left and right (made while training; nothing to save)")
    return expanded


if __name__ == "__main__":
    main()
