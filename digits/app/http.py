"""The HTTP machinery every page of digits is served with: limits, checks, answers, log.

A page (``digits serve``'s, a live view of a training run, ...) is a subclass of
:class:`PageServer` holding what it serves, and a subclass of :class:`PageHandler`
with its routes::

    class WatchHandler(PageHandler):
        def get(self, path):                      # GET and HEAD
            if path == "/api/run":
                return self.send_json(200, self.server.run_summary())
            raise Refusal(404, f"nothing here: {path}")

        def body_limit(self, path):               # what a POST may send, checked first
            return (1000, "the request") if path == "/api/stop" else None

        def post(self, path):                     # after the Host and Origin checks
            if self.body_limit(path) is None:
                raise Refusal(404, f"nothing here: {path}")
            body = self.read_body(*self.body_limit(path))   # None: the client left
            ...

    server = WatchServer(("127.0.0.1", 0), WatchHandler, log=print)
    server.serve_forever()

What the base classes do for every request, so that no page has to:

* **a total deadline**: the request line, the headers and the body must all arrive
  within ``request_deadline`` seconds of the request's start (a client dripping one
  byte at a time is cut off, answered 408), and no single read or write waits more
  than ``socket_timeout``;
* **bounded connections**: at most ``max_connections`` open at once and
  ``max_per_client`` from one address; others are answered 503 at once, without a
  thread or a read;
* **the Host header** must name this server: the address it listens on, ``localhost``
  for a loopback address, any IP address for one listening on every interface, and
  the names given as ``allowed_hosts`` (``--allow-host``, for a LAN name or a reverse
  proxy).  Others get 421: a page elsewhere cannot reach the server by pointing its
  own name at 127.0.0.1 (DNS rebinding);
* **state-changing requests** (POST) whose ``Origin`` is another site, or that a browser
  marks ``Sec-Fetch-Site: cross-site``, get 403 before their body is read;
* **answers** in JSON for every problem, including those ``http.server`` finds
  itself, with the security headers of :data:`SECURITY_HEADERS`;
* **a log** of one line per request, in which every character a client chose is
  escaped (:func:`printable`), so no request can write escape sequences to a terminal.
"""

from __future__ import annotations

import errno
import io
import ipaddress
import json
import re
import signal
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from digits.system.errors import DigitsError

MAX_CONNECTIONS = 64        # open connections served at once; more get 503 straight away
MAX_PER_CLIENT = 32         # of which from any one address (half: others still get in)
SOCKET_TIMEOUT = 10.0       # seconds any one read or write on a connection may wait
REQUEST_DEADLINE = 30.0     # seconds for a whole request: its line, headers and body
MAX_LOGGED_PATH = 80        # characters of a request's path quoted back in answers and the log

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_ASCII_NUMBER = re.compile(r"[0-9]{1,18}")


class ServeError(DigitsError):
    """A server cannot start: no such address, the port is taken, a page's file is missing."""


class Refusal(Exception):
    """A request answered with an error status: ``Refusal(413, "the picture is ...")``."""

    def __init__(self, status: int, message: str, **headers):
        super().__init__(message)
        self.status = status
        self.headers = headers


def printable(text: str) -> str:
    """``text`` with every character that is not printable (control characters, escape
    sequences, bidirectional overrides) written as a Python escape: ``\\x1b``, ``\\u202e``."""
    return "".join(character if character.isprintable() else
                   character.encode("unicode_escape").decode("ascii") for character in text)


def is_local_only(host: str) -> bool:
    """True if only this machine can connect to a server listening on ``host``."""
    return ipaddress.ip_address(host.split("%")[0]).is_loopback


class _DeadlineReader(io.RawIOBase):
    """A connection's bytes, each read waiting at most until the handler's deadline."""

    def __init__(self, connection, handler):
        self.connection, self.handler = connection, handler

    def readable(self):
        return True

    def readinto(self, buffer):
        left = self.handler.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request took longer than its deadline")
        self.connection.settimeout(min(left, self.handler.server.socket_timeout))
        return self.connection.recv_into(buffer)


class ConnectionLimits:
    """Counts a server's open connections, in all and per client address."""

    def __init__(self, max_connections, max_per_client):
        self.max_connections, self.max_per_client = max_connections, max_per_client
        self.lock = threading.Lock()
        self.total, self.per_client = 0, {}

    def take(self, client: str) -> str | None:
        """Count one more connection from ``client``; or say why not (nothing counted)."""
        with self.lock:
            if self.total >= self.max_connections:
                return f"{self.max_connections} connections already open"
            if self.per_client.get(client, 0) >= self.max_per_client:
                return f"{self.max_per_client} connections from {client} already open"
            self.total += 1
            self.per_client[client] = self.per_client.get(client, 0) + 1
            return None

    def give_back(self, client: str) -> None:
        with self.lock:
            self.total -= 1
            self.per_client[client] -= 1
            if not self.per_client[client]:
                del self.per_client[client]


class LimitingServer(ThreadingHTTPServer):
    """A threading HTTP server that answers connections beyond its :class:`ConnectionLimits`
    (``self.limits``) 503 at once, and logs a failed answer in one line (``self.log``)."""

    daemon_threads = True          # a stuck client never keeps the process alive
    request_queue_size = 128       # connections waiting to be accepted (the default is 5)

    def process_request(self, request, client_address):
        # Connections beyond the limits are answered 503 by the accepting thread.
        refused = self.limits.take(client_address[0])
        if refused:
            self.log(f"{client_address[0]} refused: {refused}")
            refuse_busy(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except RuntimeError:
            # No thread could be started, so the count is still ours to give back.  Any
            # other exception (Ctrl-C while the thread was starting) leaves it to the
            # thread, which may already have given it back.
            self.limits.give_back(client_address[0])
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.limits.give_back(client_address[0])

    def handle_error(self, request, client_address):
        """One line for a failure while answering a request, instead of a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            self.log(f"{client_address[0]} went away ({type(error).__name__})")
        else:
            self.log(f"{client_address[0]} error while answering: {type(error).__name__}: {error}")



class PageServer(LimitingServer):
    """A threading HTTP server that bounds its connections and knows the names it serves.

    ``log`` is called with one escaped line per request and per problem.  ``port`` 0
    picks a free port (see :attr:`port`).
    """

    def __init__(self, address, handler, *, log=None, max_connections=MAX_CONNECTIONS,
                 max_per_client=MAX_PER_CLIENT, socket_timeout=SOCKET_TIMEOUT,
                 request_deadline=REQUEST_DEADLINE, allowed_hosts=()):
        write = log or (lambda line: None)
        self.log = lambda line: write(printable(line))
        self.limits = ConnectionLimits(max_connections, max_per_client)
        self.socket_timeout, self.request_deadline = socket_timeout, request_deadline
        self.allowed_hosts = {name.strip().lower().rstrip(".") for name in allowed_hosts}
        host, port = address
        try:
            self.address_family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        except (socket.gaierror, UnicodeError) as error:
            raise ServeError(f"cannot listen on {host}: no such address "
                             f"({getattr(error, 'strerror', None) or error})") from None
        try:
            super().__init__(address, handler)
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

    def url(self) -> str:
        """The address to open: on this machine, for an address every interface shares."""
        host = self.host
        if ipaddress.ip_address(host.split("%")[0]).is_unspecified:
            host = "127.0.0.1" if ":" not in host else "::1"
        return f"http://[{host}]:{self.port}/" if ":" in host else f"http://{host}:{self.port}/"

    def serves_host(self, name: str) -> bool:
        """True if ``name`` (a Host header's name, without the port) names this server."""
        name = name.lower().rstrip(".")
        if name in self.allowed_hosts:
            return True
        try:
            address = ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            return name == "localhost" and is_local_only(self.host)
        listening = ipaddress.ip_address(self.host.split("%")[0])
        return listening.is_unspecified or address == listening or (
            listening.is_loopback and address.is_loopback)

def serve_until_stopped(server: PageServer, poll_interval=0.25) -> bool:
    """Let ``server`` answer requests until Ctrl-C (SIGINT) or ``kill`` (SIGTERM), which
    stop it alike; True when one of them did.  The SIGTERM handler in force before is
    put back.  (Call it from the main thread, the only one signals reach.)"""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever(poll_interval=poll_interval)
    except KeyboardInterrupt:
        return True
    finally:
        signal.signal(signal.SIGTERM, previous)
    return False


def _interrupt(signal_number, frame):
    """``kill`` stops a server as Ctrl-C does."""
    raise KeyboardInterrupt


def refuse_busy(request) -> None:
    body = json.dumps({"error": "the server is busy; try again in a moment"}).encode()
    head = (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n")
    try:
        request.settimeout(1.0)
        request.sendall(head.encode() + body)
    except OSError:
        pass


class Answering(BaseHTTPRequestHandler):
    """How a :class:`PageHandler` answers: JSON problems, security headers, one log line."""

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
        self.note = message or ""
        self.send_json(code, {"error": message or self.responses.get(code, ("error",))[0]},
                       Connection="close")

    def send(self, status, content: bytes, content_type: str, headers=None):
        self.connection.settimeout(self.server.socket_timeout)     # reads may have shortened it
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


class BodyReading(Answering):
    """Reading a request's body whole, its announced length checked first."""

    def too_slow(self):
        """Answer 408 to a request that missed its deadline, and close the connection."""
        self.close_connection = True
        try:
            self.send_problem(408, f"the request was not sent within "
                                   f"{self.server.request_deadline:g} seconds", Connection="close")
        except OSError:
            pass                      # the client is gone as well

    def body_length(self, max_bytes: int, what="the body") -> int:
        """The announced body length, checked; raises :class:`Refusal` for a bad or large one."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise Refusal(411, f"send {what} with a Content-Length, not in chunks")
        length = self.headers.get("Content-Length")
        if length is None:
            raise Refusal(411, f"send {what} as the body, with a Content-Length")
        if not _ASCII_NUMBER.fullmatch(length.strip()):
            raise Refusal(400, f"Content-Length must be a number of bytes (digits 0-9), got "
                               f"{printable(length[:20])!r}")
        length = int(length)
        if length > max_bytes:
            raise Refusal(413, f"{what} is {length / 1e6:.1f} MB; this server reads "
                               f"{what.removeprefix('the ')}s of up to {max_bytes / 1e6:.1f} MB")
        return length

    def read_body(self, max_bytes: int, what="the body") -> bytes | None:
        """The request's body, or ``None`` when the client left before sending it all."""
        length = self.body_length(max_bytes, what)
        body = self.rfile.read(length)
        if len(body) < length:       # the client disconnected mid-request
            self.close_connection = True
            self.server.log(f"{self.client_address[0]} left after {len(body)} of {length} bytes")
            return None
        return body


class CheckedRequests(BodyReading):
    """The checks of every request before it is routed: the Host names this server, a
    POST comes from no other site's page, an announced body is within its limit."""

    def parse_request(self):
        self.started, self.note = time.perf_counter(), ""
        try:
            if not super().parse_request():
                return False
        except TimeoutError:          # the headers came too slowly
            self.too_slow()
            return False
        try:
            check_host(self)
            if self.command not in ("GET", "HEAD", "OPTIONS"):
                check_origin(self)
        except Refusal as refusal:
            self.send_problem(refusal.status, str(refusal), **refusal.headers)
            return False
        return True

    def handle_expect_100(self):
        # A client that asks before sending its body (curl does for large ones) hears
        # about a refusal before it sends anything.
        limit = self.body_limit(urlsplit(self.path).path)
        if limit is not None:
            try:
                self.body_length(*limit)
            except Refusal as refusal:
                self.send_problem(refusal.status, str(refusal), **refusal.headers)
                return False
        return super().handle_expect_100()

    def body_limit(self, path):
        """``(max_bytes, what)`` for a path that takes a body (checked on ``Expect:
        100-continue`` before the body is sent), None for one that takes none."""
        return None


class PageHandler(CheckedRequests):
    """One connection's requests, checked; a page's subclass writes ``get(path)`` and
    ``post(path)``, which answer with :meth:`send_json` / :meth:`send` or raise
    :class:`Refusal`."""

    deadline = float("inf")

    def setup(self):
        super().setup()
        self.rfile.close()
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, self))

    def handle_one_request(self):
        self.deadline = time.monotonic() + self.server.request_deadline
        super().handle_one_request()   # a time-out before the request line: closed unanswered

    def do_GET(self):
        self.route(self.get)

    do_HEAD = do_GET               # send() leaves out the body for HEAD

    def do_POST(self):
        self.route(self.post)

    def route(self, answer):
        try:
            answer(urlsplit(self.path).path)
        except Refusal as refusal:
            self.send_problem(refusal.status, str(refusal), **refusal.headers)
        except TimeoutError:          # the body came too slowly
            self.too_slow()

    def get(self, path):
        raise Refusal(404, f"nothing here: {path[:MAX_LOGGED_PATH]}")

    def post(self, path):
        raise Refusal(405, f"{path[:MAX_LOGGED_PATH]} is only read (GET)", Allow="GET, HEAD")

_HOST = re.compile(r"(?P<name>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def check_host(handler) -> None:
    """Refuse (421) a request whose Host header names another server than this one."""
    host = handler.headers.get("Host")
    if host is None:
        if handler.request_version == "HTTP/1.0":
            return                   # HTTP/1.0 clients may leave it out; browsers never do
        raise Refusal(400, "the request has no Host header")
    match = _HOST.fullmatch(host.strip())
    if match is None or not handler.server.serves_host(match["name"]):
        raise Refusal(421, f"this server does not answer to the name {printable(host[:60])!r}; "
                           f"start it with --allow-host NAME to let it")


def check_origin(handler) -> None:
    """Refuse (403) a state-changing request sent by a page of another site."""
    if handler.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        raise Refusal(403, "a page of another site may not send this request")
    origin = handler.headers.get("Origin")
    if origin is None:
        return                       # not sent by a browser's page (curl, a script)
    parts = urlsplit(origin.strip())
    try:
        # https: this server's page behind a reverse proxy that speaks TLS (--allow-host)
        same = (parts.scheme in ("http", "https") and parts.netloc.lower()
                == handler.headers.get("Host", "").strip().lower())
    except ValueError:
        same = False
    if not same:
        raise Refusal(403, f"a page of another site ({printable(origin[:60])}) may not "
                           f"send this request")
