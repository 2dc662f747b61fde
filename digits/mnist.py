"""Load MNIST from its IDX files into :class:`~digits.dataset.DataSet` arrays.

MNIST holds 70,000 grey-scale images of handwritten digits, 28 x 28 pixels each, with
their labels 0-9: 60,000 for training and 10,000 (the "t10k" files) for testing.  As
in the book, the first 50,000 training images are our training data and the last
10,000 are held back as validation data, for choosing hyperparameters without
peeking at the test data.

Each of the four files is in IDX format, a header and then raw bytes:

* a 4-byte big-endian *magic number*: two zero bytes, a byte for the element type
  (``0x08``: unsigned byte) and a byte for the number of dimensions, so
  ``0x00000803`` for the images (count, rows, columns) and ``0x00000801`` for the
  labels (count);
* one 4-byte big-endian unsigned integer per dimension;
* the elements, one byte each, in C order: image after image, row after row.

So an image file is 16 + n * 28 * 28 bytes long and a label file 8 + n bytes.
Pixels are 0 (background) to 255 (ink); we scale them to ``[0, 1]``.  The files
are read by numpy in one go, which takes well under a second for all of them.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from .dataset import DataSet
from .errors import DigitsError, UsageError

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
_DIMENSIONS = {IMAGES_MAGIC: 3, LABELS_MAGIC: 1}

TRAINING_SIZE = 50_000  # the book's split of the 60,000 training images
N_CLASSES = 10

# (images, labels) file names, without ".gz" (as the downloader stores them).
TRAINING_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class IdxError(DigitsError):
    """An IDX file that is missing, unreadable or not what its header says."""


class MissingDataError(DigitsError):
    """The MNIST files are not in the data folder: they have not been downloaded yet."""


def read_idx(path) -> np.ndarray:
    """Read an IDX file of unsigned bytes: images as ``(n, rows, cols)``, labels as ``(n,)``.

    A name ending in ``.gz`` is decompressed first.  The header is checked against the
    file's length, so a truncated download or stray bytes at the end are caught here
    rather than showing up as shifted images later.  Raises :class:`IdxError`, naming
    the file, for anything that is not a well-formed MNIST image or label file.
    """
    path = Path(path)
    content = _read_bytes(path)
    if content.size == 0:
        raise IdxError(f"{path}: the file is empty")
    if len(content) < 4:
        raise IdxError(f"{path}: truncated: {len(content)} bytes, too short for an IDX header")
    (magic,) = struct.unpack(">I", content[:4].tobytes())
    if magic not in _DIMENSIONS:
        raise IdxError(
            f"{path}: not an MNIST IDX file: magic number 0x{magic:08x}, expected "
            f"0x{IMAGES_MAGIC:08x} (images) or 0x{LABELS_MAGIC:08x} (labels)")
    n_dimensions = _DIMENSIONS[magic]
    header_size = 4 + 4 * n_dimensions
    if len(content) < header_size:
        raise IdxError(f"{path}: truncated: {len(content)} bytes, the header alone takes {header_size}")
    shape = struct.unpack(f">{n_dimensions}I", content[4:header_size].tobytes())
    expected = header_size + int(np.prod(shape, dtype=np.int64))
    shape_text = " x ".join(str(size) for size in shape)
    if len(content) < expected:
        raise IdxError(f"{path}: truncated: the header promises {shape_text} bytes of data "
                       f"({expected:,} bytes in all) but the file has {len(content):,}")
    if len(content) > expected:
        raise IdxError(f"{path}: {len(content) - expected:,} unexpected trailing bytes after "
                       f"the {shape_text} bytes of data the header promises")
    return content[header_size:].reshape(shape)


def _read_bytes(path: Path) -> np.ndarray:
    """The file's bytes (decompressed if its name ends in ``.gz``) as a writable uint8
    array, so that the arrays read_idx returns as views of it are writable too."""
    try:
        if path.suffix != ".gz":
            return np.fromfile(path, dtype=np.uint8)
        with gzip.open(path, "rb") as file:
            return np.frombuffer(bytearray(file.read()), dtype=np.uint8)
    except FileNotFoundError:
        raise IdxError(f"{path}: no such file") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise IdxError(f"{path}: not a valid gzip file ({error})") from None
    except OSError as error:
        raise IdxError(f"{path}: cannot read ({error.strerror or error})") from None


def load_data(data_dir="data/mnist", dtype=np.float32):
    """Return ``(training, validation, test)`` MNIST as three :class:`DataSet`.

    ``inputs`` are ``(n, 784)`` arrays of ``dtype``, one image per row, each pixel
    scaled from 0-255 to ``[0, 1]``; ``labels`` are int64 digits.  ``training`` holds
    the first 50,000 training images, ``validation`` the last 10,000 and ``test`` the
    10,000 t10k images.

    Reads the decompressed files the downloader writes (``train-images-idx3-ubyte``
    ...), or the ``.gz`` files as the mirrors serve them when only those are there.
    """
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        raise UsageError(f"dtype must be a floating-point type such as float32, got {dtype}")
    data_dir = Path(data_dir)
    training_inputs, training_labels = _load_pair(data_dir, TRAINING_FILES, dtype)
    test_inputs, test_labels = _load_pair(data_dir, TEST_FILES, dtype)
    if len(training_labels) <= TRAINING_SIZE:
        raise IdxError(f"{data_dir / TRAINING_FILES[0]}: {len(training_labels):,} images, but the "
                       f"book's split needs more than {TRAINING_SIZE:,} (MNIST has 60,000)")
    training = DataSet(training_inputs[:TRAINING_SIZE], training_labels[:TRAINING_SIZE], N_CLASSES)
    validation = DataSet(training_inputs[TRAINING_SIZE:], training_labels[TRAINING_SIZE:], N_CLASSES)
    test = DataSet(test_inputs, test_labels, N_CLASSES)
    return training, validation, test


def load_data_wrapper(data_dir="data/mnist"):
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


def _load_pair(data_dir: Path, names, dtype):
    """Read one (images, labels) pair of files, check they agree, and scale the pixels."""
    images_path, labels_path = (_locate(data_dir, name) for name in names)
    images, labels = read_idx(images_path), read_idx(labels_path)
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


def _locate(data_dir: Path, name: str) -> Path:
    """``data_dir/name``, or ``data_dir/name.gz`` if only that exists."""
    for candidate in (data_dir / name, data_dir / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise MissingDataError(
        f"MNIST not found: no {name} (or {name}.gz) in {data_dir}; "
        f"run `make data` (or `python -m digits download`) first")
