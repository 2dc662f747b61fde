"""Fixtures shared by the test suite: the real MNIST files, a real local HTTP mirror,
and small IDX files written on the spot.

The real data are never copied into the repository.  They are found in the first of
these folders that holds all four files, either as the mirrors serve them (``.gz``)
or decompressed as ``make data`` leaves them: ``$DIGITS_SHARED_MNIST``,
``../shared/data/mnist`` beside the repository, and the repository's own
``data/mnist``.  Tests that need them are skipped, saying where they looked, when
none does.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import shutil
import signal
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from digits.data.download import FILES

REPO = Path(__file__).resolve().parent.parent
DECOMPRESSED = [name.removesuffix(".gz") for name in FILES]


# --- the real MNIST files ------------------------------------------------------------

def mnist_folders() -> list[Path]:
    """Where the tests look for the real MNIST files, in order."""
    folders = [REPO.parent / "shared" / "data" / "mnist", REPO / "data" / "mnist"]
    if os.environ.get("DIGITS_SHARED_MNIST"):
        folders.insert(0, Path(os.environ["DIGITS_SHARED_MNIST"]))
    return folders


@pytest.fixture(scope="session")
def real_mnist() -> tuple[Path, bool]:
    """``(folder, compressed)``: the first folder holding the four real files, as ``.gz``
    (``compressed``) or decompressed."""
    for folder in mnist_folders():
        if all((folder / name).is_file() for name in FILES):
            return folder, True
        if all((folder / name).is_file() for name in DECOMPRESSED):
            return folder, False
    pytest.skip("real MNIST not found in " + ", ".join(map(str, mnist_folders()))
                + " (run `make data`, or set DIGITS_SHARED_MNIST to a folder holding it)")


@pytest.fixture(scope="session")
def shared_mnist_dir(real_mnist, tmp_path_factory) -> Path:
    """A folder holding the four real MNIST ``.gz`` files (a local mirror).

    Where only decompressed files were found they are compressed once per session
    into a temporary folder (about 2 s).
    """
    folder, compressed = real_mnist
    if compressed:
        return folder
    mirror = tmp_path_factory.mktemp("mnist-gz")
    for name in FILES:
        content = (folder / name.removesuffix(".gz")).read_bytes()
        (mirror / name).write_bytes(gzip.compress(content, compresslevel=6, mtime=0))
    return mirror


@pytest.fixture(scope="session")
def mnist_data_dir(tmp_path_factory, real_mnist) -> Path:
    """A folder that :func:`digits.data.mnist.load_data` reads real MNIST from, quickly.

    The real files are decompressed (or copied) once per test session into a
    temporary folder, as the downloader would store them, and checked against the
    published checksums; loading from there takes about 0.1 s.
    """
    source, compressed = real_mnist
    folder = tmp_path_factory.mktemp("mnist")
    for name, sha256 in FILES.items():
        if compressed:
            content = gzip.decompress((source / name).read_bytes())
        else:
            content = (source / name.removesuffix(".gz")).read_bytes()
        assert hashlib.sha256(content).hexdigest() == sha256, f"{source / name} is not MNIST"
        (folder / name.removesuffix(".gz")).write_bytes(content)
    return folder


@pytest.fixture(scope="session")
def mnist(mnist_data_dir):
    """``(training, validation, test)`` real MNIST DataSets, loaded once per session.

    Shared between tests: do not modify their arrays in place.
    """
    from digits.data.mnist import load_data

    return load_data(mnist_data_dir)


# --- small IDX files ---------------------------------------------------------------

def idx_bytes(array, magic=None) -> bytes:
    """The IDX encoding of a uint8 array: magic number, big-endian sizes, then the bytes.

    Written independently of the parser under test, straight from the format.
    """
    array = np.asarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x00000800 | array.ndim
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()


@pytest.fixture
def write_idx(tmp_path):
    """``write_idx(name, array, magic=None, extra=b"", cut=0)`` writes an IDX file in a
    temporary folder, gzipped when ``name`` ends in ``.gz``, and returns its path.

    ``extra`` is appended after the data; ``cut`` bytes are removed from the end, so
    that broken files are as easy to write as good ones.
    """
    def write(name, array, magic=None, extra=b"", cut=0):
        content = idx_bytes(array, magic) + extra
        if cut:
            content = content[:-cut]
        path = tmp_path / name
        path.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
        return path

    return write


@pytest.fixture
def tiny_images():
    """Three random 4x5 uint8 images, with a 0 pixel and a 255 pixel among them."""
    images = np.random.default_rng(0).integers(0, 256, size=(3, 4, 5), dtype=np.uint8)
    images[0, 0, 0], images[-1, -1, -1] = 0, 255
    return images


# --- a real HTTP mirror on 127.0.0.1 ----------------------------------------------

class MirrorServer:
    """A local HTTP server serving the MNIST ``.gz`` files, well or badly.

    ``url(behaviour)`` is a mirror URL; every file under it is served that way:

    ``good``     the file, 200;
    ``missing``  404 Not Found;
    ``error``    503 Service Unavailable (a mirror worth retrying);
    ``corrupt``  the file with 16 bytes in the middle flipped (bad gzip data);
    ``wrong``    a valid gzip file of other content (a wrong checksum);
    ``html``     200 with an HTML page, as captive portals and error pages do;
    ``drop``     headers with the full Content-Length, half the body, then the
                 connection is closed;
    ``stall``    headers and 1 KiB, then silence (until the server stops, at most
                 ``STALL_SECONDS``);
    ``long``     a valid gzip file of the real file followed by ``LONG_EXTRA`` zero
                 bytes: longer than MNIST's file;
    ``bloated``  a Content-Length of ``BLOATED_LENGTH`` (3 GB), then the real file.

    ``requests`` lists ``(behaviour, file name)`` for every GET received.
    """

    BEHAVIOURS = ("good", "missing", "error", "corrupt", "wrong", "html", "drop", "stall",
                  "long", "bloated")
    LONG_EXTRA = 1 << 20
    BLOATED_LENGTH = 3_000_000_000
    STALL_SECONDS = 10.0
    SOCKET_TIMEOUT = 10.0

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self._long: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, behaviour="good") -> str:
        assert behaviour in self.BEHAVIOURS, behaviour
        return f"http://127.0.0.1:{self.port}/{behaviour}/"

    def count(self, behaviour=None, name=None) -> int:
        """How many GETs there were, for one behaviour and/or one file name."""
        with self._lock:
            return sum(1 for b, n in self.requests
                       if behaviour in (None, b) and name in (None, n))

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _handler_class(self):
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = server.SOCKET_TIMEOUT  # bounds every read and write on the socket

            def log_message(self, format, *args):  # keep the test output clean
                pass

            def do_GET(self):
                _, behaviour, name = (self.path.split("/", 2) + ["", ""])[:3]
                with server._lock:
                    server.requests.append((behaviour, name))
                if behaviour not in server.BEHAVIOURS or name not in server.files or behaviour == "missing":
                    self.send_error(404)
                    return
                if behaviour == "error":
                    self.send_error(503)
                    return
                body = server.body(behaviour, name)
                length = server.BLOATED_LENGTH if behaviour == "bloated" else len(body)
                self.send_response(200)
                self.send_header("Content-Type", "text/html" if behaviour == "html" else "application/gzip")
                self.send_header("Content-Length", str(length))
                self.end_headers()
                try:
                    if behaviour == "drop":
                        self.wfile.write(body[: len(body) // 2])
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                    elif behaviour == "stall":
                        self.wfile.write(body[:1024])
                        self.wfile.flush()
                        server._stopping.wait(server.STALL_SECONDS)
                    else:
                        self.wfile.write(body)
                except OSError:  # the client gave up first; nothing to do
                    self.close_connection = True

        return Handler

    def body(self, behaviour, name) -> bytes:
        original = self.files[name]
        if behaviour == "corrupt":
            flipped = bytearray(original)
            middle = len(flipped) // 2
            for i in range(middle, middle + 16):
                flipped[i] ^= 0xFF
            return bytes(flipped)
        if behaviour == "wrong":
            return gzip.compress(b"not the MNIST file " + name.encode())
        if behaviour == "html":
            return b"<html><body>Please log in to continue.</body></html>"
        if behaviour == "long":
            with self._lock:
                if name not in self._long:
                    content = gzip.decompress(original) + bytes(self.LONG_EXTRA)
                    self._long[name] = gzip.compress(content, compresslevel=1)
                return self._long[name]
        return original


@pytest.fixture(scope="session")
def mnist_gz_files(shared_mnist_dir) -> dict[str, bytes]:
    """The four real ``.gz`` files' bytes, read once (11 MB)."""
    return {name: (shared_mnist_dir / name).read_bytes() for name in FILES}


@pytest.fixture
def mirror_server(mnist_gz_files):
    """A :class:`MirrorServer` on a free port of 127.0.0.1, stopped after the test."""
    server = MirrorServer(mnist_gz_files).start()
    try:
        yield server
    finally:
        server.stop()


class SilentServer:
    """A real listening socket on 127.0.0.1 that accepts every connection and never says
    a word (nor reads one): a mirror that is up but never answers.  ``connections``
    counts the connections accepted."""

    def __init__(self):
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._socket.settimeout(0.05)
        self.port = self._socket.getsockname()[1]
        self.connections = 0
        self._open: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mnist/"

    def _accept(self):
        while not self._stopping.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:     # the 0.05 s timeout: look at _stopping again
                continue
            self.connections += 1
            self._open.append(connection)

    def stop(self):
        self._stopping.set()
        self._thread.join(timeout=5)
        for connection in self._open:
            connection.close()
        self._socket.close()


@pytest.fixture
def silent_server():
    """A :class:`SilentServer` on a free port of 127.0.0.1, stopped after the test."""
    server = SilentServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def unused_port_url():
    """An http:// mirror URL on a local port where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


@pytest.fixture
def copy_mnist(mnist_data_dir):
    """``copy_mnist(folder)`` puts valid decompressed MNIST files into ``folder``."""
    def copy(folder):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in DECOMPRESSED:
            shutil.copyfile(mnist_data_dir / name, folder / name)
        return folder

    return copy


# --- a trained network ---------------------------------------------------------------

@pytest.fixture(scope="session")
def trained_network(mnist):
    """The book's [784, 30, 10] network after two epochs on real MNIST (a few seconds).

    Shared between tests: do not train it further or change its weights.
    """
    from digits.nn.network import Network

    training, _, _ = mnist
    network = Network([784, 30, 10], seed=0)
    network.SGD(training, 2, 10, 3.0)
    return network


@pytest.fixture(scope="session")
def trained_network_file(tmp_path_factory, trained_network):
    """:func:`trained_network` saved to a temporary ``network.npz``."""
    from digits.store import model_file

    path = tmp_path_factory.mktemp("model") / "network.npz"
    model_file.save(trained_network, path)
    return path


@pytest.fixture(scope="session")
def conv_network(mnist):
    """A small ReLU conv network (chapter 6) after one epoch on 5,000 real MNIST images.

    Shared between tests: do not train it further or change its weights.
    """
    from digits.nn.layers import ConvPool, FullyConnected, Softmax
    from digits.nn.network import Network

    training, _, _ = mnist
    network = Network([ConvPool((1, 28, 28), 6, activation="relu", init="network3"),
                       FullyConnected((6, 12, 12), 30, activation="relu", init="network3"),
                       Softmax(30, 10)], seed=1, dtype=np.float32)
    network.SGD(training[:5000], 1, 10, 0.1)
    return network


@pytest.fixture(scope="session")
def conv_network_file(tmp_path_factory, conv_network):
    """:func:`conv_network` saved to a temporary ``conv.npz``."""
    from digits.store import model_file

    path = tmp_path_factory.mktemp("conv") / "conv.npz"
    model_file.save(conv_network, path)
    return path


def _default_ctrl_c():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def ctrl_c_as_in_a_terminal():
    """A ``preexec_fn`` for a command the test stops with SIGINT: Ctrl-C does what it does
    in a terminal even when the tests themselves run in the background (``nohup make test
    &``), whose commands inherit SIGINT ignored."""
    return _default_ctrl_c
