"""The book's ``mnist_loader``: MNIST as the book's tuples, read from the MNIST files.

``load_data()`` gives ``(training_data, validation_data, test_data)``, each a pair
``(images, labels)``: ``images`` an ``(n, 784)`` float32 array of pixels in [0, 1], one
image per row, and ``labels`` the ``(n,)`` digits.  Training has the first 50,000 of
MNIST's training images, validation the last 10,000, test the 10,000 test images.

``load_data_wrapper()`` gives the same data as the book's networks take them: lists of
``(x, y)`` with ``x`` a ``(784, 1)`` column; ``y`` is a ``(10, 1)`` one-hot column
(:func:`vectorized_result`) in ``training_data`` and the int digit in the other two.

Where the data come from: the four MNIST files (IDX format) in the folder
:func:`data_folder` names, downloaded there first if they are missing (about 12 MB,
once, as ``python -m digits train`` does), and checked against MNIST's checksums.

Departures from the book's ``mnist_loader.py``:

* it unpickled ``mnist.pkl.gz``; nothing is unpickled here, the IDX files are read;
* under Python 3 its ``load_data_wrapper`` returned ``zip`` objects, which are used up
  by one pass (a second ``SGD`` on the same data saw none); these are lists, whose
  ``x`` are views of one array (no copies).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from digits.data import mnist

#: The environment variable that names the folder of the MNIST files.
DATA_ENV = "DIGITS_DATA"


def data_folder() -> Path:
    """Where the MNIST files are (or will be downloaded to).

    ``$DIGITS_DATA`` if set; else ``data/mnist`` in the current folder if it exists;
    else the ``data/mnist`` of the digits checkout this package runs from (so that a
    notebook in ``notebooks/`` finds the files ``make data`` fetched); else
    ``data/mnist`` in the current folder.
    """
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    here = Path(mnist.DEFAULT_DATA_DIR)
    if here.is_dir():
        return here
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file():
        return checkout / mnist.DEFAULT_DATA_DIR
    return here


def _notice(line):
    print(line, file=sys.stderr, flush=True)


def load_datasets():
    """``(training, validation, test)`` as the engine's DataSets (float32), fetched if missing."""
    return mnist.load_data(data_folder(), np.float32, download=True, notify=_notice)


def load_data():
    """``(training_data, validation_data, test_data)``, each ``(images, labels)``: see the module."""
    return tuple((data.inputs, data.labels) for data in load_datasets())


def load_data_wrapper():
    """``(training_data, validation_data, test_data)`` as lists of the book's ``(x, y)`` pairs.

    ``x`` is a ``(784, 1)`` column; ``y`` is the ``(10, 1)`` one-hot column of the digit
    in ``training_data``, the int digit in ``validation_data`` and ``test_data``.
    """
    training, validation, test = load_datasets()
    return (training.as_pairs(one_hot=True), validation.as_pairs(one_hot=False),
            test.as_pairs(one_hot=False))


def vectorized_result(j):
    """The ``(10, 1)`` column with 1.0 in row ``j`` and 0.0 elsewhere: the output wanted for digit j."""
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e
