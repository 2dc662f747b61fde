"""Fetch the four MNIST files, check them, and keep them decompressed in ``data/mnist``.

MNIST is published as four gzip-compressed IDX files (see :mod:`digits.data.mnist` for the
format).  Several public mirrors serve the same four names, and any of them may be
down, refuse us, never answer, or hand back something that is not MNIST, so every
file is:

1. skipped if a decompressed copy whose SHA-256 is right is already in ``data_dir``;
2. otherwise streamed from the first mirror that works, gunzipped on the fly into a
   hidden temporary file beside the target while its SHA-256 is computed, and
   stopped at the first byte past MNIST's known size;
3. moved into place with :func:`os.replace` only once the checksum matches, so a file
   under its real name is always complete and correct.  Whatever goes wrong (HTTP
   404, a dropped connection, a timeout, corrupt gzip data, the wrong checksum,
   Ctrl-C, SIGTERM) the temporary file is removed and the next mirror is tried.

A mirror that cannot be reached, does not answer in time or fails with a server
error is not asked again for the other files of the same run: a mirror that accepts
connections and never answers costs one bounded wait, not one per file and retry.
Waits longer than :data:`NOTICE_AFTER` seconds are announced (``notify``), saying
whom we are waiting for and for how long at most.

The checksums are those of the *decompressed* files (:data:`digits.data.mnist.CHECKSUMS`):
they hold for every faithful copy, whoever compressed it, whereas the ``.gz`` bytes
differ between mirrors.

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
import threading
import zlib
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import requests
import urllib3
from requests.adapters import HTTPAdapter
from tqdm import tqdm
from urllib3.util import Retry

from digits.system.errors import DigitsError
from digits.system.files import atomic_file, remove_stale_temporaries
from digits.data.idx import CHECKSUMS, SIZES, IdxError, check_file, record_verified

log = logging.getLogger(__name__)

# Compressed name on the mirrors -> SHA-256 of its decompressed content.
FILES = {f"{name}.gz": sha256 for name, sha256 in CHECKSUMS.items()}

# Public mirrors of the same four names, tried in this order.  The original site
# comes last: it has often refused downloads since 2023.
DEFAULT_MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]

MIRROR_ENV = "DIGITS_MNIST_MIRROR"
# What a failed download says, so that a machine without internet can be given a copy.
HOW_TO_MIRROR = (f"Without internet, name a copy of the four .gz files (a folder, a file:// "
                 f"URL or an http(s):// mirror) with `python -m digits download --mirror "
                 f"PLACE` or the environment variable {MIRROR_ENV}=PLACE")

# HTTP settings; each can be overridden per call of fetch_mnist.
TIMEOUT = (10.0, 20.0)  # seconds: (to connect, for each answer: the headers, then every read of the body)
RETRIES = 3  # further attempts on a mirror after a 5xx answer
BACKOFF = 0.5  # seconds; the waits between attempts are 0, 2*BACKOFF, 4*BACKOFF, ...
NOTICE_AFTER = 3.0  # seconds without an answer before saying whom we are waiting for
CHUNK_SIZE = 1 << 20


class DownloadError(DigitsError):
    """No mirror gave a correct copy of a file; the message says what each one did."""


class _MirrorFailed(Exception):
    """One mirror could not supply one file; the message is the short reason.

    ``down`` says the mirror itself failed (unreachable, silent, a server error), so
    that it is not worth asking for the other files.
    """

    def __init__(self, reason, down=False):
        super().__init__(reason)
        self.down = down


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


def fetch_mnist(data_dir="data/mnist", mirrors=None, progress=True, *, notify=None,
                timeout=TIMEOUT, retries=RETRIES, backoff=BACKOFF,
                notice_after=NOTICE_AFTER) -> Path:
    """Make sure ``data_dir`` holds the four decompressed, verified MNIST files.

    ``mirrors`` is the list to try in order (default: :func:`mirrors`, i.e. the
    environment variable and the public mirrors).  ``progress`` shows a tqdm bar per
    download on stderr (when stderr is a terminal).  ``notify``, if given, is called
    with one line of text when a mirror keeps us waiting more than ``notice_after``
    seconds and when a mirror is given up for the rest of the run.  ``timeout`` is
    ``(connect, read)`` in seconds; ``retries`` and ``backoff`` govern the retries on
    one HTTP mirror after a 5xx answer.

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
    _make_folder(data_dir)
    remove_stale_temporaries(data_dir)
    say = notify if notify is not None else (lambda line: None)

    down = {}   # mirror -> why it is not asked again in this run
    with _http_session(retries, backoff) as session:
        for name, sha256 in FILES.items():
            target = data_dir / name.removesuffix(".gz")
            if is_valid(target, sha256):
                log.info("%s is present and valid", target)
                continue
            failures = []
            for mirror in mirrors:
                if mirror in down:
                    failures.append(f"{mirror}: {down[mirror]} (not asked again)")
                    continue
                try:
                    _fetch_file(mirror, name, target, sha256, session, timeout, progress,
                                say, notice_after)
                except _MirrorFailed as failure:
                    log.info("%s from %s failed: %s", name, mirror, failure)
                    failures.append(f"{mirror}: {failure}")
                    if failure.down:
                        down[mirror] = str(failure)
                        say(f"{name} from {mirror}: {failure}; not asking it again in this run")
                else:
                    log.info("%s fetched from %s", target, mirror)
                    break
            else:
                # One line: each mirror and what went wrong there, separated by semicolons.
                tried = "; ".join(failures) if failures else "no mirrors given"
                raise DownloadError(f"could not fetch {name} from any mirror: {tried}. {HOW_TO_MIRROR}")
    return data_dir


def _make_folder(data_dir: Path):
    """Create ``data_dir`` and its parents, or say in one line why it cannot be."""
    for folder in (data_dir, *data_dir.parents):
        if folder.exists() and not folder.is_dir():
            what = "it is" if folder == data_dir else f"{folder} is"
            raise DownloadError(f"cannot keep MNIST in {data_dir}: {what} a file, not a folder")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DownloadError(f"cannot create {data_dir}: {error.strerror or error}") from None


def sha256_of(path) -> str:
    """The SHA-256 of a file's bytes, as hex (about 0.1 s for the 47 MB training images)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def is_valid(path, sha256: str) -> bool:
    """True when ``path`` is a regular file whose SHA-256 is ``sha256``.

    One of MNIST's four files is checked with :func:`digits.data.mnist.check_file`, which
    hashes each version of a file once.
    """
    path = Path(path)
    if CHECKSUMS.get(path.name) == sha256:
        try:
            check_file(path)
        except IdxError:        # damaged, missing or unreadable
            return False
        return True
    try:
        return path.is_file() and sha256_of(path) == sha256
    except OSError:
        return False


def largest_gzip(size: int) -> int:
    """The most bytes a gzip file of ``size`` bytes can take: deflate's worst case
    stores the data as it is, with 5 bytes for each block of up to 65,535, plus the
    gzip header and trailer (and 64 KiB for a header's optional name and comment)."""
    return size + 5 * (size // 65_535 + 1) + 18 + 65_536


def _fetch_file(mirror, name, target, sha256, session, timeout, progress, say, notice_after):
    """Copy ``name`` from ``mirror``, gunzipped and verified, to ``target``, or raise _MirrorFailed.

    The bytes go to a temporary file that replaces ``target`` only once their checksum
    is right (:func:`digits.system.files.atomic_file`); on any other way out it is removed.
    Reading stops at the first byte past what a copy of the file can be.
    """
    size = SIZES[name.removesuffix(".gz")]
    most = largest_gzip(size)
    with atomic_file(target, error=DownloadError) as out, \
            _open_source(mirror, name, session, timeout, say, notice_after) as (chunks, length):
        if length is not None and length > most:
            raise _MirrorFailed(f"announces {length:,} bytes, more than a gzip of MNIST's "
                                f"{size:,} can take ({most:,})")
        digest = hashlib.sha256()
        gunzip = _Gunzip(size)
        received = 0
        with tqdm(total=length, desc=name, unit="B", unit_scale=True,
                  disable=None if progress else True) as bar:
            for chunk in chunks:
                received += len(chunk)
                if received > most:
                    raise _MirrorFailed(f"sent more than {most:,} bytes, more than a gzip "
                                        f"of MNIST's {size:,} can take")
                for data in gunzip.feed(chunk):
                    digest.update(data)
                    out.write(data)
                bar.update(len(chunk))
        gunzip.finish()
        if digest.hexdigest() != sha256:
            raise _MirrorFailed(
                f"wrong checksum (SHA-256 {digest.hexdigest()[:16]}..., expected {sha256[:16]}...)")
    record_verified(target)


class _Gunzip:
    """Decompress a gzip stream fed in pieces, into at most ``limit`` bytes; corrupt or
    truncated data, or a first byte past the limit, raise _MirrorFailed.

    A gzip file may hold several members one after another; each is decompressed in
    turn.  The output comes in pieces of at most CHUNK_SIZE bytes, so that a small
    chunk that expands enormously is never held in memory whole.
    """

    def __init__(self, limit: int):
        self._inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # 16+: expect a gzip header
        self._started = False
        self.limit = limit
        self.size = 0

    def feed(self, chunk: bytes):
        """Yield the decompressed bytes of ``chunk``, piece by piece."""
        if chunk:
            self._started = True
        while True:
            try:
                data = self._inflate.decompress(chunk, CHUNK_SIZE)
            except zlib.error as error:
                raise _MirrorFailed(f"not valid gzip data ({error})") from None
            self.size += len(data)
            if self.size > self.limit:
                raise _MirrorFailed(f"decompresses to more than the {self.limit:,} bytes of "
                                    f"MNIST's file (stopped at the first byte past them)")
            if data:
                yield data
            if self._inflate.eof:
                chunk = self._inflate.unused_data
                if not chunk:
                    return
                self._inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            else:
                chunk = self._inflate.unconsumed_tail
                if not chunk and len(data) < CHUNK_SIZE:
                    return

    def finish(self):
        if not self._started:
            raise _MirrorFailed("empty file")
        if not self._inflate.eof:
            raise _MirrorFailed("truncated gzip data")


@contextlib.contextmanager
def _open_source(mirror, name, session, timeout, say, notice_after):
    """Yield ``(chunks, size)``: an iterator over the bytes of ``name`` on ``mirror`` and
    their number (``None`` if unknown).  Failures to reach or read it raise _MirrorFailed."""
    scheme = urlparse(mirror).scheme.lower()
    if scheme in ("http", "https"):
        with _open_http(mirror.rstrip("/") + "/" + name, session, timeout, say,
                        notice_after) as source:
            yield source
        return
    if scheme == "file":
        folder = Path(url2pathname(urlparse(mirror).path))
    elif len(scheme) > 1:  # one letter is a Windows drive, as in C:\data
        raise _MirrorFailed("unsupported mirror (not http://, https://, file:// or a directory)",
                            down=True)
    else:
        folder = Path(mirror).expanduser()
    path = folder / name
    try:
        file = open(path, "rb")
    except OSError as error:
        raise _MirrorFailed(f"cannot open {path}: {error.strerror or error}",
                            down=not folder.is_dir()) from None
    with file:
        yield _file_chunks(file, path), os.fstat(file.fileno()).st_size


def _file_chunks(file, path):
    try:
        while chunk := file.read(CHUNK_SIZE):
            yield chunk
    except OSError as error:
        raise _MirrorFailed(f"cannot read {path}: {error.strerror or error}") from None


@contextlib.contextmanager
def _open_http(url, session, timeout, say, notice_after):
    """The GET of ``url``; a wait of more than ``notice_after`` seconds for the answer is
    announced with ``say``.  A mirror that cannot be reached or does not answer in
    time, or answers with a server error, is ``down``."""
    connect, read = timeout
    host = urlparse(url).netloc
    name = url.rsplit("/", 1)[-1]
    notice = threading.Timer(notice_after, say, [
        f"{name}: waiting for {host} to answer (giving up after {connect + read:g} s)"])
    notice.daemon = True
    notice.start()
    try:
        response = session.get(url, stream=True, timeout=timeout)
    except requests.RequestException as error:
        raise _MirrorFailed(_reason(error, timeout), down=True) from None
    finally:
        notice.cancel()
    with response:
        if response.status_code != 200:
            raise _MirrorFailed(f"HTTP {response.status_code} {response.reason or ''}".rstrip(),
                                down=response.status_code >= 500)
        length = response.headers.get("Content-Length", "")
        size = int(length) if length.isdigit() else None
        yield _http_chunks(response, size, timeout), size


def _http_chunks(response, size, timeout):
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
        reason = _reason(error, timeout)
        raise _MirrorFailed(f"{reason} after {received:,}{of} bytes",
                            down=reason.startswith("no answer")) from None


def _reason(error: Exception, timeout) -> str:
    """A few words for a network error, instead of urllib3's nested reprs."""
    cause = _innermost(error)
    text = str(error)
    # (urllib3 makes a refused connection, NewConnectionError, a kind of ConnectTimeoutError.)
    if not isinstance(cause, urllib3.exceptions.NewConnectionError):
        if isinstance(cause, urllib3.exceptions.ConnectTimeoutError):
            return f"could not connect within {timeout[0]:g} s"
        if isinstance(cause, (urllib3.exceptions.ReadTimeoutError, TimeoutError)) or "timed out" in text:
            return f"no answer within {timeout[1]:g} s"
    if isinstance(error, (urllib3.exceptions.ProtocolError, requests.exceptions.ChunkedEncodingError)):
        if "IncompleteRead" in text or "Connection broken" in text:
            return "connection broken"
    errno_message = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if errno_message:
        return errno_message.group(1).strip()
    if isinstance(error, requests.exceptions.SSLError):
        return "TLS error"
    return f"{type(error).__name__}: {text[:200]}"


def _innermost(error: BaseException) -> BaseException:
    """The exception at the bottom of requests' and urllib3's wrappings (``reason``, ``args``)."""
    for _ in range(10):
        inner = getattr(error, "reason", None)
        if not isinstance(inner, BaseException):
            inner = error.args[0] if error.args and isinstance(error.args[0], BaseException) else None
        if inner is None:
            return error
        error = inner
    return error


@contextlib.contextmanager
def _http_session(retries, backoff):
    """A requests Session that retries GETs answered with a server error (5xx).

    urllib3's exponential backoff: no wait before the first retry, then ``backoff * 2 **
    (n - 1)`` seconds before the n-th.  A server's ``Retry-After`` is not obeyed, so
    that one busy mirror cannot hold us for an hour when others may work.  A mirror
    that cannot be reached or does not answer is not retried: one bounded wait for it
    is enough, and the next mirror is tried instead.
    """
    retry = Retry(total=None, connect=0, read=0, other=0, status=retries, redirect=5,
                  backoff_factor=backoff, status_forcelist=(500, 502, 503, 504),
                  allowed_methods=frozenset({"GET"}), raise_on_status=False,
                  respect_retry_after_header=False)
    with requests.Session() as session:
        adapter = HTTPAdapter(max_retries=retry)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = "digits (MNIST downloader; python-requests)"
        yield session
