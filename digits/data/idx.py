"""MNIST's four IDX files: their format, their published sizes and checksums, and the checks.

MNIST holds 70,000 grey-scale images of handwritten digits, 28 x 28 pixels each, with
their labels 0-9: 60,000 for training and 10,000 (the "t10k" files) for testing.
:mod:`digits.data.mnist` turns them into data sets; the downloader
(:mod:`digits.data.download`) checks what it fetches with :func:`check_file`.

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

Before they are used, the four files are compared with the published SHA-256 of
MNIST's files (a damaged download or a file edited by hand would otherwise train in
silence).  Hashing them takes about a tenth of a second, so it is done once per
version of a file: a small stamp in the data folder, ``.verified.json``, remembers
the size and the modification and change times of each file found right, and the
next load that finds them unchanged trusts it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import shlex
import struct
import zlib
from pathlib import Path

import numpy as np

from digits.system.errors import DigitsError

IMAGES_MAGIC = 0x00000803


LABELS_MAGIC = 0x00000801


_DIMENSIONS = {IMAGES_MAGIC: 3, LABELS_MAGIC: 1}


# (images, labels) file names, without ".gz" (as the downloader stores them).
TRAINING_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")


TEST_FILES = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


# Each file decompressed: its size in bytes and its SHA-256, as published.  They hold
# for every faithful copy, whoever compressed it (the .gz bytes differ between mirrors).
SIZES = {
    "train-images-idx3-ubyte": 47_040_016,    # 16 + 60,000 x 28 x 28
    "train-labels-idx1-ubyte": 60_008,        # 8 + 60,000
    "t10k-images-idx3-ubyte": 7_840_016,      # 16 + 10,000 x 28 x 28
    "t10k-labels-idx1-ubyte": 10_008,         # 8 + 10,000
}


CHECKSUMS = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


DEFAULT_DATA_DIR = Path("data/mnist")


STAMP = ".verified.json"     # in the data folder: the files whose checksum was found right


class IdxError(DigitsError):
    """An IDX file that is missing, unreadable or not what its header says."""


class MissingDataError(DigitsError):
    """The MNIST files are not in the data folder: they have not been downloaded yet."""


class DamagedDataError(IdxError):
    """A file in the data folder is not the MNIST file of its name: its size or SHA-256 is wrong."""


def read_idx(path) -> np.ndarray:
    """Read an IDX file of unsigned bytes: images as ``(n, rows, cols)``, labels as ``(n,)``.

    A name ending in ``.gz`` is decompressed first.  The header is checked against the
    file's length, so a truncated download or stray bytes at the end are caught here
    rather than showing up as shifted images later.  Raises :class:`IdxError`, naming
    the file, for anything that is not a well-formed MNIST image or label file.
    """
    path = Path(path)
    return parse_idx(path, _read_bytes(path))


def parse_idx(path: Path, content: np.ndarray) -> np.ndarray:
    """The array held by ``content``, the bytes of the IDX file ``path`` (see read_idx)."""
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
    expected = header_size + math.prod(shape)    # Python's integers: a crafted header cannot wrap
    shape_text = " x ".join(str(size) for size in shape)
    if len(content) < expected:
        raise IdxError(f"{path}: truncated: the header promises {shape_text} bytes of data "
                       f"({expected:,} bytes in all) but the file has {len(content):,}")
    if len(content) > expected:
        raise IdxError(f"{path}: {len(content) - expected:,} unexpected trailing bytes after "
                       f"the {shape_text} bytes of data the header promises")
    return content[header_size:].reshape(shape)


def _read_bytes(path: Path, limit=None) -> np.ndarray:
    """The file's bytes (decompressed if its name ends in ``.gz``) as a writable uint8
    array, so that the arrays read_idx returns as views of it are writable too.

    With a ``limit``, at most ``limit + 1`` bytes are read: enough to know that the
    file is longer than that, without decompressing all of a file that expands to
    gigabytes.
    """
    count = -1 if limit is None else limit + 1
    try:
        if path.suffix != ".gz":
            return np.fromfile(path, dtype=np.uint8, count=count)
        with gzip.open(path, "rb") as file:
            return np.frombuffer(bytearray(file.read(count)), dtype=np.uint8)
    except FileNotFoundError:
        raise IdxError(f"{path}: no such file") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise IdxError(f"{path}: not a valid gzip file ({error})") from None
    except OSError as error:
        raise IdxError(f"{path}: cannot read ({error.strerror or error})") from None


def check_file(path) -> None:
    """Raise :class:`DamagedDataError` unless ``path`` holds the MNIST file of its name.

    ``path`` is one of the four files, decompressed or ``.gz``; its decompressed size
    and SHA-256 must be MNIST's.  A file found right is recorded in the stamp of its
    folder and not hashed again until it changes.
    """
    path = Path(path)
    stamps = Stamps(path.parent)
    read_checked(path, stamps, needed=False)
    stamps.save()


def record_verified(path) -> None:
    """Record in the stamp of its folder that ``path``, one of the four files just written
    and checked (by the downloader), is MNIST's, so that loading it need not hash it."""
    path = Path(path)
    name = path.name.removesuffix(".gz")
    stamps = Stamps(path.parent)
    try:
        stamps.record(path.name, _version(path), CHECKSUMS[name])
    except OSError:
        return
    stamps.save()


def read_checked(path: Path, stamps: "Stamps", needed=True):
    """The bytes of the MNIST file ``path``, after checking its size and SHA-256 (None if
    they are not ``needed`` and the stamp vouches for them)."""
    name = path.name.removesuffix(".gz")
    size, sha256 = SIZES[name], CHECKSUMS[name]
    try:
        version = _version(path)
    except OSError as error:
        raise IdxError(f"{path}: cannot read ({error.strerror or error})") from None
    vouched = stamps.vouches_for(path.name, version, sha256)
    if vouched and not needed:
        return None
    content = _read_bytes(path, limit=size)
    if vouched:
        return content
    repair = f"run `{download_command(path.parent)}` to fetch a good copy"
    if content.size > size:
        raise DamagedDataError(f"{path} is damaged: it is longer than the {size:,} bytes of "
                               f"MNIST's {name}; {repair}")
    if content.size < size:
        raise DamagedDataError(f"{path} is damaged: {content.size:,} bytes where MNIST's "
                               f"{name} has {size:,}; {repair}")
    actual = hashlib.sha256(content).hexdigest()
    if actual != sha256:
        raise DamagedDataError(f"{path} is damaged: its SHA-256 is {actual[:16]}..., MNIST's "
                               f"{name} has {sha256[:16]}...; {repair}")
    stamps.record(path.name, version, sha256)
    return content


def download_command(data_dir) -> str:
    """The command that fetches MNIST into ``data_dir``, as a user would type it."""
    data_dir = Path(data_dir)
    flag = "" if data_dir == DEFAULT_DATA_DIR else f" --data {shlex.quote(str(data_dir))}"
    return f"python -m digits download{flag}"


def _version(path: Path) -> list[int]:
    """What changes whenever a file's content does: its size, inode, modification and
    change times (the change time cannot be set back by hand)."""
    status = path.stat()
    return [status.st_size, status.st_ino, status.st_mtime_ns, status.st_ctime_ns]


class Stamps:
    """The record, in a data folder's ``.verified.json``, of the files whose checksum was
    found right: ``{file name: [size, inode, mtime_ns, ctime_ns, sha256]}``.

    A folder one may not write in keeps no record; its files are hashed on every load.
    """

    def __init__(self, folder: Path):
        self.path = folder / STAMP
        self.changed = False
        try:
            self.entries = json.loads(self.path.read_text())
            if not isinstance(self.entries, dict):
                self.entries = {}
        except (OSError, ValueError):
            self.entries = {}

    def vouches_for(self, name, version, sha256) -> bool:
        return self.entries.get(name) == [*version, sha256]

    def record(self, name, version, sha256):
        self.entries[name] = [*version, sha256]
        self.changed = True

    def save(self):
        if not self.changed:
            return
        from digits.system.files import write_atomically

        try:
            write_atomically(self.path, json.dumps(self.entries, indent=1).encode())
        except DigitsError:
            pass    # a read-only folder: the files will be hashed again next time
        self.changed = False


def locate(data_dir: Path, name: str) -> Path:
    """``data_dir/name``, or ``data_dir/name.gz`` if only that exists."""
    for candidate in (data_dir / name, data_dir / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise MissingDataError(
        f"MNIST not found: no {name} (or {name}.gz) in {data_dir}; "
        f"run `make data` (or `{download_command(data_dir)}`) first")
