"""Fetch the four MNIST files, check them, and keep them decompressed in ``data/mnist``.

MNIST is published as four gzip-compressed IDX files (see :mod:`digits.mnist` for the
format).  Several public mirrors serve the same four names, and any of them may be
down, refuse us, or hand back something that is not MNIST, so every file is:

1. skipped if a decompressed copy whose SHA-256 is right is already in ``data_dir``;
2. otherwise streamed from the first mirror that works, gunzipped on the fly into a
   hidden temporary file beside the target while its SHA-256 is computed;
3. moved into place with :func:`os.replace` only once the checksum matches, so a file
   under its real name is always complete and correct.  Whatever goes wrong (HTTP
   404, a dropped connection, a timeout, corrupt gzip data, the wrong checksum,
   Ctrl-C) the temporary file is removed and the next mirror is tried.

The checksums are those of the *decompressed* files: they hold for every faithful
copy, whoever compressed it, whereas the ``.gz`` bytes differ between mirrors.

A mirror is an ``http://`` or ``https://`` URL, a ``file://`` URL, or a plain
directory; each holds the four ``.gz`` names.  :func:`mirrors` puts them in order:
the ``--mirror`` flag, then ``$DIGITS_MNIST_MIRROR``, then :data:`DEFAULT_MIRRORS`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import zlib
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import requests
import urllib3
from requests.adapters import HTTPAdapter
from tqdm import tqdm
from urllib3.util import Retry

from .errors import DigitsError
from .files import atomic_file

log = logging.getLogger(__name__)

# Compressed name on the mirrors -> SHA-256 of its decompressed content.
FILES = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# Public mirrors of the same four names, tried in this order.  The original site
# comes last: it has often refused downloads since 2023.
DEFAULT_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]

MIRROR_ENV = "DIGITS_MNIST_MIRROR"

# HTTP settings; each can be overridden per call of fetch_mnist.
TIMEOUT = (10.0, 60.0)  # seconds: (to connect, between two reads of the body)
RETRIES = 3  # further attempts on a mirror after a failed connection or a 5xx answer
BACKOFF = 0.5  # seconds; the waits between attempts are 0, 2*BACKOFF, 4*BACKOFF, ...
CHUNK_SIZE = 1 << 20


class DownloadError(DigitsError):
    """No mirror gave a correct copy of a file; the message says what each one did."""


class _MirrorFailed(Exception):
    """One mirror could not supply one file; the message is the short reason."""


def mirrors(extra=None) -> list[str]:
    """The mirrors to try, in order: ``extra``, then ``$DIGITS_MNIST_MIRROR``, then the defaults.

    ``extra`` is a mirror or a list of them (the command line's ``--mirror``); ``None``
    and empty entries are ignored.  A mirror named twice is tried once, at its first
    place (a trailing ``/`` does not make it different).
    """
    if extra is None or isinstance(extra, (str, os.PathLike)):
        extra = [extra]
    candidates = [*extra, os.environ.get(MIRROR_ENV), *DEFAULT_MIRRORS]
    ordered, seen = [], set()
    for mirror in candidates:
        if mirror is None or not str(mirror).strip():
            continue
        mirror = str(mirror).strip()
        key = mirror.rstrip("/")
        if key not in seen:
            seen.add(key)
            ordered.append(mirror)
    return ordered


_default_mirrors = mirrors  # fetch_mnist's parameter ``mirrors`` hides the function


def fetch_mnist(data_dir="data/mnist", mirrors=None, progress=True, *,
                timeout=TIMEOUT, retries=RETRIES, backoff=BACKOFF) -> Path:
    """Make sure ``data_dir`` holds the four decompressed, verified MNIST files.

    ``mirrors`` is the list to try in order (default: :func:`mirrors`, i.e. the
    environment variable and the public mirrors).  ``progress`` shows a tqdm bar per
    download on stderr (when stderr is a terminal).  ``timeout`` is ``(connect, read)``
    in seconds; ``retries`` and ``backoff`` govern the retries on one HTTP mirror after
    a failed connection or a 5xx answer.

    Returns ``data_dir`` as a :class:`~pathlib.Path`.  Files already present and valid
    are not downloaded again.  Raises :class:`DownloadError` naming every mirror tried
    and why it failed when no mirror supplies a correct copy of a file.
    """
    data_dir = Path(data_dir)
    if mirrors is None:
        mirrors = _default_mirrors()
    elif isinstance(mirrors, (str, os.PathLike)):
        mirrors = [mirrors]
    mirrors = [str(mirror) for mirror in mirrors]
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DownloadError(f"cannot create {data_dir}: {error.strerror or error}") from None

    with _http_session(retries, backoff) as session:
        for name, sha256 in FILES.items():
            target = data_dir / name.removesuffix(".gz")
            if is_valid(target, sha256):
                log.info("%s is present and valid", target)
                continue
            failures = []
            for mirror in mirrors:
                try:
                    _fetch_file(mirror, name, target, sha256, session, timeout, progress)
                except _MirrorFailed as failure:
                    log.info("%s from %s failed: %s", name, mirror, failure)
                    failures.append(f"  {mirror} : {failure}")
                else:
                    log.info("%s fetched from %s", target, mirror)
                    break
            else:
                tried = "\n".join(failures) if failures else "  (no mirrors given)"
                raise DownloadError(f"could not fetch {name} from any mirror:\n{tried}")
    return data_dir


def sha256_of(path) -> str:
    """The SHA-256 of a file's bytes, as hex (about 0.1 s for the 47 MB training images)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def is_valid(path, sha256: str) -> bool:
    """True when ``path`` is a regular file whose SHA-256 is ``sha256``."""
    try:
        return Path(path).is_file() and sha256_of(path) == sha256
    except OSError:
        return False


def _fetch_file(mirror, name, target, sha256, session, timeout, progress):
    """Copy ``name`` from ``mirror``, gunzipped and verified, to ``target``, or raise _MirrorFailed.

    The bytes go to a temporary file that replaces ``target`` only once their checksum
    is right (:func:`digits.files.atomic_file`); on any other way out it is removed.
    """
    with atomic_file(target, error=DownloadError) as out, \
            _open_source(mirror, name, session, timeout) as (chunks, size):
        digest = hashlib.sha256()
        gunzip = _Gunzip()
        with tqdm(total=size, desc=name, unit="B", unit_scale=True,
                  disable=None if progress else True) as bar:
            for chunk in chunks:
                data = gunzip.feed(chunk)
                digest.update(data)
                out.write(data)
                bar.update(len(chunk))
        gunzip.finish()
        if digest.hexdigest() != sha256:
            raise _MirrorFailed(
                f"wrong checksum (SHA-256 {digest.hexdigest()[:16]}..., expected {sha256[:16]}...)")


class _Gunzip:
    """Decompress a gzip stream fed in pieces; corrupt or truncated data raise _MirrorFailed.

    A gzip file may hold several members one after another; each is decompressed in turn.
    """

    def __init__(self):
        self._inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # 16+: expect a gzip header
        self._started = False

    def feed(self, chunk: bytes) -> bytes:
        pieces = []
        while chunk:
            self._started = True
            try:
                pieces.append(self._inflate.decompress(chunk))
            except zlib.error as error:
                raise _MirrorFailed(f"not valid gzip data ({error})") from None
            chunk = self._inflate.unused_data if self._inflate.eof else b""
            if chunk:
                self._inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        return b"".join(pieces)

    def finish(self):
        if not self._started:
            raise _MirrorFailed("empty file")
        if not self._inflate.eof:
            raise _MirrorFailed("truncated gzip data")


@contextlib.contextmanager
def _open_source(mirror, name, session, timeout):
    """Yield ``(chunks, size)``: an iterator over the bytes of ``name`` on ``mirror`` and
    their number (``None`` if unknown).  Failures to reach or read it raise _MirrorFailed."""
    scheme = urlparse(mirror).scheme.lower()
    if scheme in ("http", "https"):
        with _open_http(mirror.rstrip("/") + "/" + name, session, timeout) as source:
            yield source
        return
    if scheme == "file":
        folder = Path(url2pathname(urlparse(mirror).path))
    elif len(scheme) > 1:  # one letter is a Windows drive, as in C:\data
        raise _MirrorFailed("unsupported mirror (not http://, https://, file:// or a directory)")
    else:
        folder = Path(mirror).expanduser()
    path = folder / name
    try:
        file = open(path, "rb")
    except OSError as error:
        raise _MirrorFailed(f"cannot open {path}: {error.strerror or error}") from None
    with file:
        yield _file_chunks(file, path), os.fstat(file.fileno()).st_size


def _file_chunks(file, path):
    try:
        while chunk := file.read(CHUNK_SIZE):
            yield chunk
    except OSError as error:
        raise _MirrorFailed(f"cannot read {path}: {error.strerror or error}") from None


@contextlib.contextmanager
def _open_http(url, session, timeout):
    try:
        response = session.get(url, stream=True, timeout=timeout)
    except requests.RequestException as error:
        raise _MirrorFailed(_describe(error)) from None
    with response:
        if response.status_code != 200:
            raise _MirrorFailed(f"HTTP {response.status_code} {response.reason or ''}".rstrip())
        length = response.headers.get("Content-Length", "")
        size = int(length) if length.isdigit() else None
        yield _http_chunks(response, size), size


def _http_chunks(response, size):
    """The body exactly as sent (``decode_content=False``: a ``.gz`` that a server labels
    ``Content-Encoding: gzip`` must not be gunzipped twice).  urllib3 raises if the
    connection ends before ``Content-Length`` bytes have arrived."""
    received = 0
    try:
        for chunk in response.raw.stream(CHUNK_SIZE, decode_content=False):
            received += len(chunk)
            yield chunk
    except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as error:
        of = f" of {size:,}" if size is not None else ""
        raise _MirrorFailed(f"{_describe(error)} after {received:,}{of} bytes") from None


def _describe(error: Exception) -> str:
    """A few words for a network error, instead of urllib3's nested reprs."""
    text = str(error)
    if isinstance(error, (requests.Timeout, urllib3.exceptions.TimeoutError)) or "timed out" in text:
        return "timed out"
    if isinstance(error, (urllib3.exceptions.ProtocolError, requests.exceptions.ChunkedEncodingError)):
        if "IncompleteRead" in text or "Connection broken" in text:
            return "connection broken"
    errno_message = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if errno_message:
        return errno_message.group(1).strip()
    if isinstance(error, requests.exceptions.SSLError):
        return "TLS error"
    return f"{type(error).__name__}: {text[:200]}"


@contextlib.contextmanager
def _http_session(retries, backoff):
    """A requests Session that retries GETs on failed connections and 5xx answers.

    urllib3's exponential backoff: no wait before the first retry, then ``backoff * 2 **
    (n - 1)`` seconds before the n-th.  A server's ``Retry-After`` is not obeyed, so
    that one busy mirror cannot hold us for an hour when others may work.
    """
    retry = Retry(total=retries, backoff_factor=backoff, status_forcelist=(500, 502, 503, 504),
                  allowed_methods=frozenset({"GET"}), raise_on_status=False,
                  respect_retry_after_header=False)
    with requests.Session() as session:
        adapter = HTTPAdapter(max_retries=retry)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = "digits (MNIST downloader; python-requests)"
        yield session
