"""The limits and checks every page's server has (digits.app.http), against real servers:
a deadline for a whole request, connections bounded per client, the Host header checked,
posts from other sites refused, Content-Length read as ASCII digits only, and a log that
no request can write escape sequences into."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from digits.app.models import load_models
from digits.app.server import DigitsServer
from test_serve import ServeProcess, pictures, raw, request, status_of  # noqa: F401  (fixtures)


@pytest.fixture(scope="module")
def models(trained_network_file):
    return load_models([trained_network_file])


@pytest.fixture
def started(models):
    """``started(**limits)``: a DigitsServer in a thread of this process; log in ``.lines``."""
    servers = []

    def start(**limits):
        lines = []
        server = DigitsServer(models, "127.0.0.1", 0, log=lines.append, **limits)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        server.lines = lines
        servers.append((server, thread))
        return server

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def served(tmp_path_factory, trained_network_file):
    """``digits serve --allow-host digits.lan`` as a user starts it."""
    process = ServeProcess(tmp_path_factory.mktemp("serve"), "--model", trained_network_file,
                           "--allow-host", "digits.lan")
    yield process
    process.stop()


def drip(connection, data: bytes, every: float, seconds: float) -> tuple[float, bytes]:
    """Send ``data`` a byte at a time, one every ``every`` seconds, until the server closes
    the connection or ``seconds`` pass; the time it took and what the server answered."""
    start = time.monotonic()
    connection.settimeout(every)
    received = b""
    for byte in data:
        if time.monotonic() - start > seconds:
            break
        try:
            connection.sendall(bytes([byte]))
            chunk = connection.recv(65536)
            received += chunk
            if chunk == b"":
                break
        except socket.timeout:
            continue
        except OSError:
            break
    return time.monotonic() - start, received


# -- 4. slow clients -----------------------------------------------------------------------

@pytest.mark.parametrize("stage", ["request line", "headers", "body"])
def test_a_client_dripping_bytes_is_cut_off_at_the_requests_deadline(started, stage):
    server = started(socket_timeout=0.5, request_deadline=1.5)
    head = (f"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n"
            f"\r\n").encode()
    sent_at_once = {"request line": b"", "headers": head[:30], "body": head}[stage]
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.sendall(sent_at_once)
        # each byte comes well within the 0.5 s a read may wait, the whole never ends
        took, answer = drip(connection, head[len(sent_at_once):] + b"x" * 1000, 0.2, 8)
    assert took < 4, f"the connection was held for {took:.1f} s"
    if stage != "request line":        # a request begun is answered; an idle line is closed
        assert status_of(answer) == 408, answer[:200]
        assert b"not sent within 1.5 seconds" in answer


def test_slow_clients_from_one_address_leave_room_for_others(started, pictures):  # noqa: F811
    server = started(max_connections=8, max_per_client=4, socket_timeout=10, request_deadline=30)
    slow = []
    try:
        for _ in range(8):                  # 8 connections from 127.0.0.2, each one idle
            connection = socket.create_connection(("127.0.0.1", server.port),
                                                  source_address=("127.0.0.2", 0))
            connection.sendall(b"GET / HTTP/1.1\r\n")
            slow.append(connection)
        time.sleep(0.3)
        assert request(server.port, "GET", "/")[0] == 200
        status, _, answer = request(server.port, "POST", "/api/classify",
                                    pictures[0][0].read_bytes())
        assert status == 200 and answer["digit"] == pictures[0][1]
        assert any("4 connections from 127.0.0.2 already open" in line for line in server.lines)
    finally:
        for connection in slow:
            connection.close()


# -- 7. Host and Origin ------------------------------------------------------------------------

@pytest.mark.parametrize("host, status", [
    ("127.0.0.1:{port}", 200), ("localhost:{port}", 200), ("LOCALHOST", 200),
    ("digits.lan", 200), ("digits.lan:{port}", 200), ("[::1]:{port}", 200),
    ("evil.example", 421), ("evil.example:{port}", 421), ("127.0.0.1.evil.example", 421),
    ("digits.lan.evil.example", 421), ("10.1.2.3", 421), ("user@127.0.0.1", 421),
    ("127.0.0.1:port", 421), ("", 421),
])
def test_only_the_names_the_server_serves_are_answered(served, host, status):
    host = host.format(port=served.port)
    reply = raw(served.port, f"GET /api/model HTTP/1.1\r\nHost: {host}\r\nConnection: close"
                             f"\r\n\r\n".encode())
    assert status_of(reply) == status, reply[:300]
    if status == 421:
        assert b"--allow-host" in reply


def test_a_request_without_a_host_is_refused(served):
    reply = raw(served.port, b"GET /api/model HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert status_of(reply) == 400


@pytest.mark.parametrize("headers, status", [
    ({"Origin": "http://evil.example"}, 403),
    ({"Origin": "http://127.0.0.1.evil.example:{port}"}, 403),
    ({"Origin": "null"}, 403),
    ({"Origin": "ftp://127.0.0.1:{port}"}, 403),
    ({"Origin": "http://127.0.0.1:1"}, 403),                     # another port is another site
    ({"Origin": "https://127.0.0.1:{port}"}, 200),               # this page behind a TLS proxy
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Origin": "http://127.0.0.1:{port}"}, 200),
    ({"Origin": "http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}, 200),
    ({}, 200),
])
def test_posts_from_other_sites_pages_are_refused(served, pictures, headers, status):  # noqa: F811
    headers = {name: value.format(port=served.port) for name, value in headers.items()}
    answer = request(served.port, "POST", "/api/classify", pictures[0][0].read_bytes(), headers)
    assert answer[0] == status, answer[2]
    if status == 403:
        assert "another site" in answer[2]["error"]


# -- 5. Content-Length ---------------------------------------------------------------------------

@pytest.mark.parametrize("length", [b"\xb2", b"\xb9", b"1\xb2", b"\xbd", b"1e3", b"-5",
                                    b"0x10", b"12 12", b"+12", b"99999999999999999999999"])
@pytest.mark.parametrize("expect", [False, True])
def test_a_length_that_is_not_ascii_digits_gets_400(served, length, expect):
    head = (b"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + length
            + b"\r\n" + (b"Expect: 100-continue\r\n" if expect else b"") + b"\r\n")
    reply = raw(served.port, head + b"x" * 16, wait=5)
    assert status_of(reply) == 400, reply[:300]
    assert b"Content-Length must be a number of bytes" in reply


# -- 6. the log ---------------------------------------------------------------------------------

@pytest.mark.parametrize("request_bytes", [
    b"GET /\x1b]0;owned\x07\x1b[2J HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET / HTTP/1.1\x1b[31m\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET /\x9b31m HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"BREW\x1b[8m / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: evil\x1b[2J.example\r\n\r\n",
    b"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \x1b[2J\r\n\r\n",
    b"GET /\xe2\x80\xae HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
])
def test_nothing_a_client_sends_reaches_the_log_unescaped(started, request_bytes):
    server = started()
    raw(server.port, request_bytes, wait=3)
    deadline = time.monotonic() + 3
    while not server.lines and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.lines
    for line in server.lines:
        assert line.isprintable(), repr(line)
        assert "\\x" in line or "\\u" in line, line


def test_the_log_of_digits_serve_is_escaped(served):
    raw(served.port, b"GET /\x1b[2Jhello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    time.sleep(0.3)
    log = served.stderr()
    assert "\x1b" not in log
    assert "GET /\\x1b[2Jhello 404" in log


def test_the_answers_say_what_is_allowed_in_json(served):
    reply = raw(served.port, b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
    body = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    assert "does not answer to the name 'evil.example'" in body["error"]
