"""The web server behind ``digits serve``: one page to draw on, and a small JSON API.

The page (``digits/app/web/``: plain HTML, CSS and JavaScript) sends what is drawn to

``POST /api/classify``
    The body is a picture file (PNG, JPEG, BMP, GIF: whatever ``digits classify``
    reads); the answer is ``{"digit", "confidence", "scores", "image", "votes",
    "models"}``: the digit read, its share of the ten outputs, the ten outputs, the
    28x28 image the network saw (rows of numbers, ink 1 on black 0), and with several
    models each model's answer and the votes per digit.  A body that is not a picture,
    or a blank one, gets 400 and ``{"error"}`` with the line ``classify`` prints.
``GET /api/model``
    What is loaded: each model's name, a one-line description and its metadata.

Pictures go through :func:`digits.app.prepare.prepare_bytes`, the very code ``classify``
runs, so a drawing reads the same on the page as saved and classified.  The server is
the standard library's threading HTTP server with limits a public address needs: the
page's files are served from a fixed table (no path from a request ever reaches the
file system), a body larger than :data:`MAX_BODY` is refused before it is read, every
read and write on a connection times out, and at most :data:`MAX_CONNECTIONS`
connections and :data:`MAX_WORKING` classifications are handled at once (a decoded
photo takes memory; the arithmetic takes a core).
"""

from __future__ import annotations

import errno
import ipaddress
import json
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from digits.system.errors import DigitsError

MAX_BODY = 8_000_000          # bytes: a phone photo fits, a flood of large uploads does not
MAX_CONNECTIONS = 64         # open connections served at once; more get 503 straight away
MAX_WORKING = 2              # pictures prepared and classified at once (one per core here)
SOCKET_TIMEOUT = 10.0        # seconds any read or write on a connection may wait
MAX_LOGGED_PATH = 80         # characters of a request's path quoted back in errors

# The page's files: the only paths served from disk, read once at start.
PAGE = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
}
# Nothing on the page may come from elsewhere: scripts, styles and requests stay on
# this server, pictures may also be the page's own blobs (a dropped file).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class ServeError(DigitsError):
    """The server cannot start: no such address, the port is taken, the page is missing."""


# -- the models ------------------------------------------------------------------------

# -- reading a picture -----------------------------------------------------------------

def prepare_body(body: bytes) -> np.ndarray:
    """The 28x28 image the network sees, from the bytes of a picture file.

    The bytes go through :func:`digits.app.prepare.prepare_bytes`, the steps a file given
    to ``classify`` goes through, read from memory.  Raises
    :class:`~digits.app.prepare.PictureError` with ``classify``'s message, less the file
    name: ``not a picture (PNG, JPEG, BMP or GIF expected)``, ``no ink found: the
    picture is blank``.
    """
    from digits.app.prepare import PictureError, prepare_bytes

    if not body:
        raise PictureError("no picture: the request's body is empty")
    return prepare_bytes(body)


def classify(models, image: np.ndarray) -> dict:
    """Every model's reading of one 28x28 image, and the answer, as ``POST /api/classify`` gives it.

    With one model, ``digit`` and ``scores`` are its own (``scores`` the ten raw
    outputs, as ``classify --json`` prints them); with several, ``scores`` is the mean
    of their outputs and ``digit`` the vote (:func:`digits.nn.ensemble.vote`, as ``classify``
    and ``evaluate`` count it).  ``confidence`` is the
    digit's share of ``scores``, as ``classify`` shows it.
    """
    from digits.nn.ensemble import shares, vote

    outputs = np.stack([model.outputs(image) for model in models], axis=1)   # (10, models)
    confidences = shares(outputs)
    read = outputs.argmax(axis=0)
    scores = outputs.mean(axis=1)
    digit = int(vote([outputs[:, i:i + 1] for i in range(len(models))])[0])
    answers = [{"name": model.name, "digit": int(read[i]),
                "confidence": round(float(confidences[read[i], i]), 6),
                "scores": [round(float(score), 6) for score in outputs[:, i]]}
               for i, model in enumerate(models)]
    return {
        "digit": digit,
        "confidence": round(float(shares(scores.reshape(-1, 1))[digit, 0]), 6),
        "scores": [round(float(score), 6) for score in scores],
        "image": np.round(image.astype(np.float64), 4).tolist(),
        "votes": np.bincount(read, minlength=10).tolist(),
        "models": answers,
    }


# -- the server ------------------------------------------------------------------------

class Refusal(Exception):
    """A request answered with an error status: ``Refusal(413, "the picture is ...")``."""

    def __init__(self, status: int, message: str, **headers):
        super().__init__(message)
        self.status = status
        self.headers = headers


class DigitsServer(ThreadingHTTPServer):
    """A threading HTTP server holding the models and the page, and limiting its load.

    ``log`` is called with one line per request (and per problem); the command line
    passes a function that prints it.  ``port`` 0 picks a free port (see :attr:`port`).
    """

    daemon_threads = True          # a stuck client never keeps the process alive
    request_queue_size = 128       # connections waiting to be accepted (the default is 5)

    def __init__(self, models, host="127.0.0.1", port=8000, log=None,
                 max_connections=MAX_CONNECTIONS, socket_timeout=SOCKET_TIMEOUT):
        self.models = models
        self.log = log or (lambda line: None)
        self.page = read_page()
        self.max_connections = max_connections
        self.socket_timeout = socket_timeout
        self.connection_slots = threading.BoundedSemaphore(max_connections)
        self.working_slots = threading.BoundedSemaphore(MAX_WORKING)
        try:
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        except (socket.gaierror, UnicodeError) as error:
            raise ServeError(f"cannot listen on {host}: no such address "
                             f"({getattr(error, 'strerror', None) or error})") from None
        self.address_family = family
        try:
            super().__init__((host, port), Handler)
        except OSError as error:
            reason = error.strerror or str(error)
            hint = {errno.EADDRINUSE: "; choose another --port",
                    errno.EACCES: "; ports below 1024 need an administrator"}.get(error.errno, "")
            raise ServeError(f"cannot listen on {host} port {port}: {reason}{hint}") from None

    def server_bind(self):
        # http.server would look up this machine's full name here, which can wait
        # seconds for a name server that is not there; the address is name enough.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def host(self) -> str:
        return self.server_address[0]

    def is_local_only(self) -> bool:
        """True if only this machine can connect (a loopback address)."""
        return ipaddress.ip_address(self.host.split("%")[0]).is_loopback

    def url(self) -> str:
        """The address to open: on this machine, for an address every interface shares."""
        host = self.host
        address = ipaddress.ip_address(host.split("%")[0])
        if address.is_unspecified:
            host = "127.0.0.1" if address.version == 4 else "::1"
        return f"http://[{host}]:{self.port}/" if ":" in host else f"http://{host}:{self.port}/"

    def describe_models(self) -> dict:
        from digits.app.prepare import SIZE

        return {"models": [model.summary() for model in self.models],
                "input": [SIZE, SIZE], "max_body_bytes": MAX_BODY}

    # Connections beyond MAX_CONNECTIONS are answered 503 by the accepting thread,
    # without starting a thread or reading the request.
    def process_request(self, request, client_address):
        if not self.connection_slots.acquire(blocking=False):
            self.log(f"{client_address[0]} refused: {self.max_connections} connections "
                     f"already open")
            refuse_busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except RuntimeError:
            # No thread could be started, so the slot is still ours to give back.  Any
            # other exception (Ctrl-C while the thread was starting) leaves it to the
            # thread: it may already have run and given it back, and a second release
            # would raise ValueError in place of the KeyboardInterrupt, and the server
            # would go on serving after Ctrl-C.
            self.connection_slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connection_slots.release()

    def handle_error(self, request, client_address):
        """One line for a failure while answering a request, instead of a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            self.log(f"{client_address[0]} went away ({type(error).__name__})")
        else:
            self.log(f"{client_address[0]} error while answering: {type(error).__name__}: {error}")


def refuse_busy(request) -> None:
    body = json.dumps({"error": "the server is busy; try again in a moment"}).encode()
    head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n")
    try:
        request.settimeout(1.0)
        request.sendall(head.encode() + body)
    except OSError:
        pass


def read_page() -> dict:
    """``{path: (bytes, content type)}`` for the page's files, read from the package."""
    folder = resources.files("digits.app") / "web"
    page = {}
    for path, (name, content_type) in PAGE.items():
        try:
            page[path] = ((folder / name).read_bytes(), content_type)
        except OSError as error:
            raise ServeError(f"the page's file {name} is missing from the digits package "
                             f"({error.strerror or error}); reinstall it") from None
    return page


class Handler(BaseHTTPRequestHandler):
    """Answers one connection's requests (HTTP/1.1, so the page's requests share it)."""

    protocol_version = "HTTP/1.1"
    server_version = "digits"
    sys_version = ""
    # Headers and body leave in two writes; without this the second would wait for the
    # client to acknowledge the first, which it delays by up to 40 ms.
    disable_nagle_algorithm = True
    started = 0.0
    note = ""                     # what the log line says after the status
    command = None                # until a request line has been read
    path = ""

    def setup(self):
        self.timeout = self.server.socket_timeout   # bounds every read and write
        super().setup()

    def parse_request(self):
        self.started = time.perf_counter()
        self.note = ""
        return super().parse_request()

    # -- the routes ------------------------------------------------------------------

    def do_GET(self):
        path = urlsplit(self.path).path
        if path in self.server.page:
            content, content_type = self.server.page[path]
            self.send(200, content, content_type, {"Cache-Control": "no-cache"})
        elif path == "/api/model":
            self.send_json(200, self.server.describe_models())
        elif path == "/api/classify":
            self.send_problem(405, "POST a picture to /api/classify", Allow="POST")
        else:
            self.send_problem(404, f"nothing here: {path[:MAX_LOGGED_PATH]}")

    do_HEAD = do_GET               # send() leaves out the body for HEAD

    def do_POST(self):
        path = urlsplit(self.path).path
        try:
            if path in self.server.page or path == "/api/model":
                raise Refusal(405, f"{path} is only read (GET); POST pictures to /api/classify",
                              Allow="GET, HEAD")
            if path != "/api/classify":
                raise Refusal(404, f"nothing here: {path[:MAX_LOGGED_PATH]}")
            body = self.read_body()
            if body is None:
                return
            self.send_json(200, self.answer(body))
        except Refusal as refusal:
            self.send_problem(refusal.status, str(refusal), **refusal.headers)
        except (ConnectionError, TimeoutError):
            raise                     # the client has gone: nobody to answer
        except MemoryError:
            self.send_problem(500, "the server has not enough memory for this picture now")
        except Exception as error:    # a fault of ours: say so, and go on serving
            self.send_problem(500, f"the server failed to read the picture "
                                   f"({type(error).__name__}: {error})")

    def answer(self, body: bytes) -> dict:
        from digits.app.prepare import PictureError

        with self.server.working_slots:
            try:
                image = prepare_body(body)
            except PictureError as error:
                raise Refusal(400, str(error)) from None
            result = classify(self.server.models, image)
        self.note = f"read {result['digit']} ({result['confidence']:.0%})"
        return result

    # -- the body --------------------------------------------------------------------

    def body_length(self) -> int:
        """The announced body length, checked; raises :class:`Refusal` for a bad or large one."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise Refusal(411, "send the picture with a Content-Length, not in chunks")
        length = self.headers.get("Content-Length")
        if length is None:
            raise Refusal(411, "send the picture as the body, with a Content-Length")
        if not length.strip().isdigit():
            raise Refusal(400, f"Content-Length must be a number of bytes, got {length[:20]!r}")
        length = int(length)
        if length > MAX_BODY:
            raise Refusal(413, f"the picture is {length / 1e6:.1f} MB; this server reads "
                               f"pictures of up to {MAX_BODY / 1e6:.1f} MB")
        return length

    def handle_expect_100(self):
        # A client that asks before sending its body (curl does for large ones) hears
        # about a refusal before it sends anything.
        if urlsplit(self.path).path == "/api/classify":
            try:
                self.body_length()
            except Refusal as refusal:
                self.send_problem(refusal.status, str(refusal), **refusal.headers)
                return False
        return super().handle_expect_100()

    def read_body(self) -> bytes | None:
        """The request's body, or ``None`` when the client left before sending it all."""
        length = self.body_length()
        body = self.rfile.read(length)
        if len(body) < length:       # the client disconnected mid-request
            self.close_connection = True
            self.server.log(f"{self.client_address[0]} left after {len(body)} of {length} bytes")
            return None
        return body

    # -- answering -------------------------------------------------------------------

    def send_json(self, status, value, **headers):
        self.send(status, json.dumps(value).encode(), "application/json",
                  {"Cache-Control": "no-store", **headers})

    def send_problem(self, status, message, **headers):
        """An error answer, ``{"error": message}``; after an unread body, close the connection."""
        self.note = message
        if status >= 400 and self.command == "POST":
            self.close_connection = True     # whatever is left of the body is not read
            headers["Connection"] = "close"
        self.send_json(status, {"error": message}, **headers)

    def send_error(self, code, message=None, explain=None):
        # Problems http.server finds itself (a malformed request line, an unknown
        # method, headers too long) are answered in JSON like ours.
        self.close_connection = True
        self.send_json(code, {"error": message or self.responses.get(code, ("error",))[0]},
                       Connection="close")

    def send(self, status, content: bytes, content_type: str, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        for name, value in {**SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)
        milliseconds = 1000 * (time.perf_counter() - self.started) if self.started else 0.0
        self.started = 0.0
        request = f"{self.command} {urlsplit(self.path).path[:MAX_LOGGED_PATH]}" \
            if self.command else "(unreadable request)"
        self.server.log(f"{self.client_address[0]} {request} {status} "
                        f"{milliseconds:.1f} ms{' ' + self.note if self.note else ''}")

    def log_request(self, code="-", size="-"):
        pass                          # send() logs each answer, with its time

    def log_message(self, format, *args):
        self.server.log(f"{self.client_address[0]} {format % args}")
