"""Load MNIST from its IDX files into :class:`~digits.nn.dataset.DataSet` arrays.

MNIST holds 70,000 grey-scale images of handwritten digits, 28 x 28 pixels each, with
their labels 0-9: 60,000 for training and 10,000 (the "t10k" files) for testing.  As
in the book, the first 50,000 training images are our training data and the last
10,000 are held back as validation data, for choosing hyperparameters without
peeking at the test data.  The files' format and checks are in :mod:`digits.data.idx`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from digits.data.idx import (CHECKSUMS, DEFAULT_DATA_DIR, SIZES, STAMP, TEST_FILES, TRAINING_FILES,
                             DamagedDataError, IdxError, MissingDataError, Stamps, check_file,
                             download_command, locate, parse_idx, read_checked, read_idx,
                             record_verified)
from digits.nn.dataset import DataSet
from digits.system.errors import UsageError

__all__ = ["load_data", "load_data_wrapper", "fetch_missing", "missing_files", "read_idx",
           "check_file", "record_verified", "download_command", "IdxError", "MissingDataError",
           "DamagedDataError", "CHECKSUMS", "SIZES", "STAMP", "DEFAULT_DATA_DIR",
           "TRAINING_FILES", "TEST_FILES"]

TRAINING_SIZE = 50_000  # the book's split of the 60,000 training images


N_CLASSES = 10


def load_data(data_dir=DEFAULT_DATA_DIR, dtype=np.float32, *, download=False, verify=True,
              progress=True, notify=None):
    """Return ``(training, validation, test)`` MNIST as three :class:`DataSet`.

    ``inputs`` are ``(n, 784)`` arrays of ``dtype``, one image per row, each pixel
    scaled from 0-255 to ``[0, 1]``; ``labels`` are int64 digits.  ``training`` holds
    the first 50,000 training images, ``validation`` the last 10,000 and ``test`` the
    10,000 t10k images.

    Reads the decompressed files the downloader writes (``train-images-idx3-ubyte``
    ...), or the ``.gz`` files as the mirrors serve them when only those are there.

    ``download``: fetch the files missing from ``data_dir`` first (with
    :func:`digits.data.download.fetch_mnist`: its mirrors, checksums, and a progress bar
    on stderr when ``progress``), calling ``notify`` with one line that says so;
    ``notify`` also receives the downloader's notices (a mirror that does not answer).
    Without it a missing file raises :class:`MissingDataError`, which says how to
    fetch them.

    ``verify``: check each file's size and SHA-256 against MNIST's (once per version
    of a file, see :func:`check_file`) and raise :class:`DamagedDataError`, naming the
    command that repairs it, when one is wrong.  Only data that is not MNIST but is
    stored under its names (a hand-made test set) needs ``verify=False``.
    """
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise UsageError(f"dtype must be a floating-point type such as float32, got {dtype}")
    data_dir = Path(data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        raise MissingDataError(f"{data_dir} is a file, not a folder: name the folder that "
                               f"holds (or should hold) the four MNIST files")
    if download:
        fetch_missing(data_dir, progress, notify)
    stamps = Stamps(data_dir) if verify else None
    try:
        training_inputs, training_labels = _load_pair(data_dir, TRAINING_FILES, dtype, stamps)
        test_inputs, test_labels = _load_pair(data_dir, TEST_FILES, dtype, stamps)
    finally:
        if stamps is not None:
            stamps.save()
    if len(training_labels) <= TRAINING_SIZE:
        raise IdxError(f"{data_dir / TRAINING_FILES[0]}: {len(training_labels):,} images, but the "
                       f"book's split needs more than {TRAINING_SIZE:,} (MNIST has 60,000)")
    training = DataSet(training_inputs[:TRAINING_SIZE], training_labels[:TRAINING_SIZE], N_CLASSES)
    validation = DataSet(training_inputs[TRAINING_SIZE:], training_labels[TRAINING_SIZE:], N_CLASSES)
    test = DataSet(test_inputs, test_labels, N_CLASSES)
    return training, validation, test


def load_data_wrapper(data_dir=DEFAULT_DATA_DIR):
    """Return MNIST in the book's format: ``(training_data, validation_data, test_data)``.

    Each is a list of ``(x, y)`` pairs with ``x`` a ``(784, 1)`` column of float32
    pixels.  In ``training_data`` ``y`` is a ``(10, 1)`` one-hot column, the output we
    want from the network; in ``validation_data`` and ``test_data`` it is the int
    label, which is all that counting correct answers needs.
    """
    training, validation, test = load_data(data_dir)
    return (training.as_pairs(one_hot=True),
            validation.as_pairs(one_hot=False),
            test.as_pairs(one_hot=False))


def fetch_missing(data_dir=DEFAULT_DATA_DIR, progress=True, notify=None) -> list[str]:
    """Download the files missing from ``data_dir`` (:func:`digits.data.download.fetch_mnist`),
    first saying so in one line to ``notify``; return their names (none: nothing to do)."""
    missing = missing_files(data_dir)
    if missing:
        if notify is not None:
            notify(f"MNIST is not in {data_dir}: downloading it (about 12 MB, once)"
                   if len(missing) == len(SIZES) else
                   f"MNIST is incomplete in {data_dir}: downloading {', '.join(missing)}")
        # Imported here: the downloader brings requests and urllib3, a tenth of a second
        # of start-up that loading files already on disk does not need.
        from digits.data.download import fetch_mnist

        fetch_mnist(data_dir, progress=progress, notify=notify)
    return missing


def missing_files(data_dir) -> list[str]:
    """The names of the four files that are in ``data_dir`` neither decompressed nor as ``.gz``."""
    data_dir = Path(data_dir)
    return [name for name in SIZES
            if not (data_dir / name).is_file() and not (data_dir / f"{name}.gz").is_file()]


def _load_pair(data_dir: Path, names, dtype, stamps):
    """Read one (images, labels) pair of files, check they agree, and scale the pixels."""
    images_path, labels_path = (locate(data_dir, name) for name in names)
    if stamps is None:
        images, labels = read_idx(images_path), read_idx(labels_path)
    else:
        images, labels = (parse_idx(path, read_checked(path, stamps))
                          for path in (images_path, labels_path))
    if images.ndim != 3:
        raise IdxError(f"{images_path}: holds labels, not images")
    if labels.ndim != 1:
        raise IdxError(f"{labels_path}: holds images, not labels")
    if len(images) != len(labels):
        raise IdxError(f"{images_path.name} has {len(images):,} images but "
                       f"{labels_path.name} has {len(labels):,} labels")
    if labels.size and labels.max() >= N_CLASSES:
        raise IdxError(f"{labels_path}: label {labels.max()} is not a digit 0-9")
    # Two cheap passes (convert, then divide in place) are several times faster than
    # dividing the uint8 array straight into floats; x / 255 is the exact scaled pixel.
    inputs = images.reshape(len(images), -1).astype(dtype)
    inputs /= 255
    return inputs, labels.astype(np.int64)
