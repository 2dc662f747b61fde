"""``digits serve``: the page to draw on and its JSON API, against a real server on 127.0.0.1.

The server is started as a user starts it, ``python -m digits serve --port 0`` (any
free port), with the book's network trained on real MNIST (the shared fixture in
conftest.py).  The pictures are real files: MNIST test digits redrawn as a person
would draw them, dark ink on a larger white page, saved as PNG, JPEG, BMP and GIF.
The limits (connections, time-outs) are tested on a server run in the test's own
process, with small limits so that no test waits long.

The page is tested in a real headless Chromium driven by Selenium: it draws on the
canvas with pointer events (a mouse, a pen, a finger), chooses and drops files, and
reads the answer off the page.  Those tests are skipped, saying why, where Chromium
or its driver is not installed (Debian: ``apt-get install chromium chromium-driver``).
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image

from digits.store import model_file
from digits.nn.network import Network
from digits.app.prepare import prepare_file
from digits.app.models import Model, check_reads_digits, load_models
from digits.app.server import MAX_BODY, DigitsServer

START_SECONDS = 30       # for the server to load its model and print its address
from digits.app.prepare import NOT_A_PICTURE
BLANK = "no ink found: the picture is blank"


# -- a server, started as users start it ------------------------------------------------

class ServeProcess:
    """``python -m digits serve ARGS`` in a subprocess, with its output in files.

    Output goes to files rather than pipes so that a server logging many requests
    never blocks on a full pipe.  SIGINT is restored to its default in the child,
    as an interactive shell would have it, so that Ctrl-C reaches it.
    """

    def __init__(self, folder: Path, *args):
        self.stdout_path, self.stderr_path = folder / "stdout.txt", folder / "stderr.txt"
        with open(self.stdout_path, "wb") as stdout, open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "digits", "serve", "--port", "0", *map(str, args)],
                stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.url = self._wait_for_address()
        self.port = urlsplit(self.url).port

    def _wait_for_address(self) -> str:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            found = re.search(r"Open (http://\S+) in a browser", self.stdout())
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.process.kill()
        pytest.fail(f"the server did not start:\n{self.stdout()}\n{self.stderr()}")

    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def interrupt(self, timeout=30) -> int:
        """Ctrl-C; the exit status."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def stop(self):
        if self.process.poll() is None:
            self.interrupt()


def serve(*args):
    """``digits serve ARGS`` that must fail at start: ``(status, stdout, stderr)``."""
    result = subprocess.run([sys.executable, "-m", "digits", "serve", *map(str, args)],
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory, trained_network_file):
    process = ServeProcess(tmp_path_factory.mktemp("serve"), "--model", trained_network_file)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def always_three_file(tmp_path_factory):
    """A [784, 10] network whose biases make it read 3 whatever it is shown."""
    network = Network([784, 10])
    network.weights[0][:] = 0
    network.biases[0][:] = -5
    network.biases[0][3] = 5
    path = tmp_path_factory.mktemp("three") / "always-three.npz"
    model_file.save(network, path)
    return path


@pytest.fixture(scope="module")
def voting_server(tmp_path_factory, trained_network_file, always_three_file):
    """Three models: the trained network twice (under two names) and one that reads 3."""
    twin = tmp_path_factory.mktemp("twin") / "twin.npz"
    shutil.copyfile(trained_network_file, twin)
    process = ServeProcess(tmp_path_factory.mktemp("serve"), "--model", trained_network_file,
                           twin, "--model", always_three_file)
    yield process
    process.stop()


# -- real pictures ------------------------------------------------------------------------

def drawn(digit: np.ndarray, scale: int, page: int, corner=(0, 0)) -> Image.Image:
    """An MNIST digit (28x28, ink 1 on black) as dark ink on a white page, ``scale`` times larger."""
    side = 28 * scale
    ink = Image.fromarray(np.round(255 * digit).astype(np.uint8)).resize(
        (side, side), Image.Resampling.BICUBIC)
    canvas = Image.new("L", (page, page), 0)
    canvas.paste(ink, corner)
    return Image.eval(canvas, lambda value: 255 - value)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory, mnist, trained_network):
    """Four test digits the network reads right, drawn and saved as PNG, JPEG, BMP, GIF:
    ``[(path, label)]``."""
    _, _, test = mnist
    outputs = trained_network.feedforward(test.inputs[:200].T)
    right = np.flatnonzero(outputs.argmax(axis=0) == test.labels[:200])
    chosen = [right[np.flatnonzero(test.labels[right] == label)[0]] for label in (7, 2, 0, 4)]
    folder = tmp_path_factory.mktemp("pictures")
    files = []
    for index, suffix, scale in zip(chosen, ("png", "jpg", "bmp", "gif"), (6, 10, 4, 8)):
        path = folder / f"digit-{index}.{suffix}"
        drawn(test.inputs[index].reshape(28, 28), scale, 40 * scale, (5 * scale, 3 * scale)).save(path)
        files.append((path, int(test.labels[index])))
    return files


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def classify(path, model, *flags) -> subprocess.CompletedProcess:
    """``digits classify FLAGS PATH --model MODEL``, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "digits", "classify", *flags, str(path),
                           "--model", str(model)], capture_output=True, text=True, timeout=60)


def classify_error(path, model) -> str:
    """The message ``digits classify`` gives for one bad file, less the file's name."""
    return classify(path, model).stderr.strip().removeprefix(f"digits classify: {path}: ")


# -- talking to it --------------------------------------------------------------------------

def request(port, method, path, body=None, headers=None):
    """``(status, headers, parsed JSON or bytes)`` for one request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        content = response.read()
        if response.getheader("Content-Type") == "application/json":
            content = json.loads(content)
        return response.status, response, content
    finally:
        connection.close()


def post(port, body):
    status, _, answer = request(port, "POST", "/api/classify", body)
    return status, answer


def raw(port, data: bytes, wait=10.0) -> bytes:
    """Send ``data`` on a fresh connection and read until the server closes it (or ``wait``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as connection:
        connection.sendall(data)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return received


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0


# -- starting and stopping ------------------------------------------------------------------

def test_it_listens_on_this_machine_only_unless_told(server):
    assert server.url.startswith("http://127.0.0.1:")
    assert "not only on this machine" not in server.stdout()
    status, _, page = request(server.port, "GET", "/")
    assert status == 200


def test_another_address_is_announced_as_reachable_from_elsewhere(tmp_path, trained_network_file):
    process = ServeProcess(tmp_path, "--model", trained_network_file, "--host", "0.0.0.0")
    try:
        assert "Listening on 0.0.0.0" in process.stdout()
        assert "anyone who can reach it on the network can use the page" in process.stdout()
        assert request(process.port, "GET", "/api/model")[0] == 200
    finally:
        process.stop()


def test_ctrl_c_stops_it_cleanly(tmp_path, trained_network_file):
    process = ServeProcess(tmp_path, "--model", trained_network_file)
    assert request(process.port, "GET", "/")[0] == 200
    assert process.interrupt() == 0
    assert "Stopped." in process.stdout()
    assert "Traceback" not in process.stderr()
    with socket.socket() as probe:          # the port is free again at once
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", process.port))


def test_a_missing_model_is_refused_at_start_in_one_line(tmp_path):
    status, out, err = serve("--model", tmp_path / "nothing.npz", "--port", "0")
    assert status == 1 and out == ""
    assert err.startswith("digits serve: error: no trained network at ")
    assert len(err.splitlines()) == 1


def test_a_broken_model_is_refused_at_start_in_one_line(tmp_path):
    broken = tmp_path / "network.npz"
    broken.write_bytes(os.urandom(3000))
    status, out, err = serve("--model", broken, "--port", "0")
    assert status == 1 and out == ""
    assert err == f"digits serve: error: {broken} is not a digits network file (not an .npz archive)\n"


def test_a_network_that_does_not_read_digits_is_refused_at_start(tmp_path):
    path = tmp_path / "five.npz"
    model_file.save(Network([784, 20, 5]), path)
    status, _, err = serve("--model", path, "--port", "0")
    assert status == 1
    assert err == f"digits serve: error: {path} is a [784, 20, 5] network; reading digits needs 784 inputs and 10 outputs\n"


def test_a_port_already_taken_is_refused_in_one_line(trained_network_file):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, _, err = serve("--model", trained_network_file, "--port", port)
    assert status == 1
    assert err == (f"digits serve: error: cannot listen on 127.0.0.1 port {port}: "
                   f"Address already in use; choose another --port\n")


def test_a_port_out_of_range_is_refused():
    status, _, err = serve("--port", "70000")
    assert status == 2
    assert "--port: must be a number from 0 to 65535" in err and len(err.splitlines()) == 1


# -- the page's files ----------------------------------------------------------------------

@pytest.mark.parametrize("path, content_type", [
    ("/", "text/html"), ("/index.html", "text/html"),
    ("/app.js", "text/javascript"), ("/style.css", "text/css")])
def test_the_pages_files_are_served(server, path, content_type):
    status, response, content = request(server.port, "GET", path)
    assert status == 200
    assert response.getheader("Content-Type").startswith(content_type)
    assert int(response.getheader("Content-Length")) == len(content) > 100


def test_the_page_loads_nothing_from_elsewhere(server):
    html, script, style, inside_script, inside_style = (
        request(server.port, "GET", path)[2].decode()
        for path in ("/", "/app.js", "/style.css", "/inside.js", "/inside.css"))
    assert set(re.findall(r'(?:src|href)="([^"]*)"', html)) == {"data:,", "style.css", "app.js",
                                                                "inside.css", "inside.js",
                                                                "universality.html"}
    assert set(re.findall(r'fetch\("([^"]*)"', script)) == {"api/classify", "api/model"}
    for text in (html, script, style, inside_script, inside_style):
        assert not re.search(r"https?:|@import|url\(|@font-face", text, re.IGNORECASE)
    policy = request(server.port, "GET", "/")[1].getheader("Content-Security-Policy")
    assert policy.startswith("default-src 'self';")


@pytest.mark.parametrize("path", [
    "/nothing", "/api/nothing", "/web/app.js", "/index.htm", "/api/model/1", "/favicon.ico"])
def test_unknown_paths_get_404(server, path):
    status, _, answer = request(server.port, "GET", path)
    assert status == 404
    assert answer == {"error": f"nothing here: {path}"}


@pytest.mark.parametrize("path", [
    "/../../../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2f..%2f..%2fetc%2fpasswd", "//etc/passwd", "/app.js/../../server.py",
    "/../server.py", "/../commands/serve.py", "/./app.js/..", "/server.py", "/__init__.py",
    "/web/../server.py", "/%00/etc/passwd", "/C:/Windows/win.ini", "/..\\..\\server.py"])
def test_no_file_outside_the_page_can_be_read(server, path):
    reply = raw(server.port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    assert status_of(reply) == 404
    assert b"root:" not in reply and b"import" not in reply


def test_get_on_classify_is_refused_with_the_method_to_use(server):
    status, response, answer = request(server.port, "GET", "/api/classify")
    assert status == 405 and response.getheader("Allow") == "POST"
    assert answer == {"error": "POST a picture to /api/classify"}


# -- the API: reading pictures ------------------------------------------------------------------

def test_each_picture_format_is_read(server, pictures):
    for path, label in pictures:
        status, answer = post(server.port, path.read_bytes())
        assert status == 200, (path, answer)
        assert answer["digit"] == label, path


def test_the_answer_has_the_digit_the_scores_and_the_image(server, pictures):
    path, label = pictures[0]
    status, answer = post(server.port, path.read_bytes())
    assert status == 200
    assert answer["digit"] == label == int(np.argmax(answer["scores"]))
    assert len(answer["scores"]) == 10 and all(0 <= score <= 1 for score in answer["scores"])
    assert np.array(answer["image"]).shape == (28, 28)
    assert answer["confidence"] == pytest.approx(max(answer["scores"]) / sum(answer["scores"]),
                                                 abs=1e-5)


def test_the_image_is_the_one_classify_prepares(server, pictures):
    for path, _ in pictures:
        answer = post(server.port, path.read_bytes())[1]
        assert np.allclose(answer["image"], prepare_file(path), atol=5e-5), path


def test_the_scores_are_those_classify_prints(server, pictures, trained_network_file):
    path, _ = pictures[1]
    answer = post(server.port, path.read_bytes())[1]
    printed = json.loads(classify(path, trained_network_file, "--json").stdout)
    assert answer["digit"] == printed["digit"]
    assert answer["scores"] == pytest.approx(printed["scores"], abs=2e-6)


def test_the_model_is_described(server, trained_network_file):
    status, _, description = request(server.port, "GET", "/api/model")
    assert status == 200
    [model] = description["models"]
    assert model["name"] == trained_network_file.name
    assert model["description"].startswith("[784, 30, 10] sigmoid, quadratic cost")
    assert model["metadata"]["sizes"] == [784, 30, 10]
    assert description["max_body_bytes"] == MAX_BODY and description["input"] == [28, 28]


# -- the API: bad input ---------------------------------------------------------------------------

def test_a_file_that_is_not_a_picture_gets_400_with_classifys_message(
        server, tmp_path, trained_network_file):
    path = tmp_path / "notes.png"
    path.write_text("shopping: eggs, milk\n")
    status, answer = post(server.port, path.read_bytes())
    assert status == 400
    assert answer == {"error": NOT_A_PICTURE}
    assert answer["error"] == classify_error(path, trained_network_file)


def test_a_blank_picture_gets_400_with_classifys_message(server, tmp_path, trained_network_file):
    path = tmp_path / "blank.png"
    Image.new("RGB", (300, 200), "white").save(path)
    status, answer = post(server.port, path.read_bytes())
    assert status == 400
    assert answer == {"error": BLANK}
    assert answer["error"] == classify_error(path, trained_network_file)


def test_a_damaged_picture_gets_400_with_classifys_message(
        server, pictures, tmp_path, trained_network_file):
    path = tmp_path / "cut.png"
    path.write_bytes(pictures[0][0].read_bytes()[:300])
    status, answer = post(server.port, path.read_bytes())
    assert status == 400
    assert answer["error"] == classify_error(path, trained_network_file)
    assert answer["error"].startswith("cannot read the picture")


def test_an_empty_body_gets_400(server):
    assert post(server.port, b"") == (400, {"error": "no picture: the request's body is empty"})


def test_a_body_over_the_limit_gets_413_before_it_is_sent(server):
    # Only the headers are sent: the server answers without waiting for the body.
    started = time.monotonic()
    reply = raw(server.port, (f"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              f"Content-Length: {MAX_BODY + 1}\r\n\r\n").encode())
    assert status_of(reply) == 413
    assert b"this server reads pictures of up to 8.0 MB" in reply
    assert time.monotonic() - started < 5


def test_a_large_body_is_cut_off_after_the_413(server):
    # A client that sends anyway gets its answer and the connection closed, the
    # rest of its body unread.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall((f"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            f"Content-Length: {50 * MAX_BODY}\r\n\r\n").encode())
        sent = 0
        try:
            for _ in range(50 * MAX_BODY // 65536):
                connection.sendall(bytes(65536))
                sent += 65536
        except OSError:      # reset by the server, which stopped reading
            pass
        assert sent < 10 * MAX_BODY
    assert request(server.port, "GET", "/api/model")[0] == 200


def test_a_client_that_asks_first_hears_413_before_sending(server):
    reply = raw(server.port, (f"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
                              f"Content-Length: {MAX_BODY + 1}\r\n\r\n").encode())
    assert status_of(reply) == 413
    assert b"100 Continue" not in reply


def test_a_body_without_a_length_gets_411(server):
    reply = raw(server.port, b"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    assert status_of(reply) == 411


@pytest.mark.parametrize("length", ["-5", "lots", "1e6", ""])
def test_a_nonsense_length_gets_400(server, length):
    reply = raw(server.port, f"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}"
                             f"\r\n\r\n".encode())
    assert status_of(reply) == 400


def test_a_request_with_an_overlong_header_gets_431_in_json(server):
    reply = raw(server.port, b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n")
    assert status_of(reply) == 431
    assert reply.endswith(b'{"error": "Line too long"}')


def test_posting_elsewhere_is_refused(server):
    assert request(server.port, "POST", "/", b"x")[0] == 405
    assert request(server.port, "POST", "/api/model", b"x")[0] == 405
    assert request(server.port, "POST", "/upload", b"x")[0] == 404


# -- the API: many clients, and clients that misbehave ------------------------------------------

def test_concurrent_requests_are_all_answered_rightly(server, pictures):
    bodies = [(path.read_bytes(), label) for path, label in pictures]

    def read(number):
        body, label = bodies[number % len(bodies)]
        status, answer = post(server.port, body)
        return status, answer.get("digit"), label

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(read, range(96)))
    assert all(status == 200 for status, _, _ in results)
    assert all(digit == label for _, digit, label in results)


def test_a_client_that_disconnects_mid_request_does_not_stop_the_server(server, pictures):
    body = pictures[0][0].read_bytes()
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", server.port)) as connection:
            connection.sendall((f"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                f"Content-Length: {len(body)}\r\n\r\n").encode() + body[:100])
    for _ in range(5):                      # sends it all, leaves before the answer
        with socket.create_connection(("127.0.0.1", server.port)) as connection:
            connection.sendall((f"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    assert post(server.port, body)[0] == 200
    assert server.process.poll() is None
    assert "Traceback" not in server.stderr()


def test_a_flood_of_requests_does_not_stop_the_server(server, pictures):
    body = pictures[0][0].read_bytes()

    def hammer(_):
        statuses = []
        for _ in range(15):
            try:
                statuses.append(post(server.port, body)[0])
            except OSError:                  # refused while the queue was full
                statuses.append(0)
        return statuses

    deadline = time.monotonic() + 60
    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = [status for batch in pool.map(hammer, range(24)) for status in batch]
    assert time.monotonic() < deadline
    assert set(statuses) <= {200, 503, 0} and statuses.count(200) > len(statuses) // 2
    assert post(server.port, body)[0] == 200
    assert request(server.port, "GET", "/")[0] == 200


@pytest.fixture
def small_server(trained_network_file):
    """``small_server(socket_timeout, models=None)``: a server in this process allowing 3
    connections, each read or write on them waiting ``socket_timeout`` seconds; its log
    in ``.lines``; by default it serves the trained network."""
    started = []

    def start(socket_timeout, models=None):
        lines = []
        server = DigitsServer(models or load_models([trained_network_file]), "127.0.0.1", 0,
                              log=lines.append, max_connections=3, socket_timeout=socket_timeout)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        server.lines = lines
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_connections_beyond_the_limit_get_503_and_the_server_recovers(small_server):
    port = small_server(socket_timeout=10).port
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    time.sleep(0.1)
    try:
        reply = raw(port, b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", wait=3)
        assert status_of(reply) == 503
        assert b"Retry-After: 1" in reply
    finally:
        for connection in idle:
            connection.close()
    time.sleep(0.2)
    assert request(port, "GET", "/api/model")[0] == 200


def test_a_client_that_stalls_is_cut_off(small_server, pictures):
    port = small_server(socket_timeout=0.5).port
    body = pictures[0][0].read_bytes()
    stalled = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    for connection in stalled:             # the headers and half the body, then nothing
        connection.sendall((f"POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: "
                            f"{len(body)}\r\n\r\n").encode() + body[:len(body) // 2])
    try:
        time.sleep(1.5)                     # three times the server's time-out
        for connection in stalled:
            connection.settimeout(2)
            answer = b""
            while chunk := connection.recv(65536):   # until the server closes it
                answer += chunk
            assert status_of(answer) == 408          # having said why
        assert post(port, body)[0] == 200
    finally:
        for connection in stalled:
            connection.close()


def test_each_request_is_logged_on_one_line_with_its_time(small_server, pictures):
    server = small_server(socket_timeout=10)
    path, label = pictures[0]
    post(server.port, path.read_bytes())
    post(server.port, b"not a picture")
    deadline = time.monotonic() + 5          # the line is written just after the answer is sent
    while len(server.lines) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert re.fullmatch(rf"127\.0\.0\.1 POST /api/classify 200 \d+\.\d ms read {label} \(\d+%\)",
                        server.lines[-2])
    assert re.fullmatch(rf"127\.0\.0\.1 POST /api/classify 400 \d+\.\d ms {re.escape(NOT_A_PICTURE)}",
                        server.lines[-1])


class PlainReader:
    """A model that is not the book's ``Network``: only ``feedforward``, no ``sizes``
    (as a convolutional network may be).  It reads every picture as ``digit``."""

    def __init__(self, digit):
        self.digit = digit

    def feedforward(self, x):
        outputs = np.full((10, x.shape[1]), 0.01)
        outputs[self.digit] = 0.9
        return outputs


class FailingReader:
    def feedforward(self, x):
        raise RuntimeError("a bug in the network")


def test_a_model_with_only_feedforward_is_served(small_server, pictures, tmp_path):
    model = Model("plain", tmp_path / "plain.npz", PlainReader(6), {"test_accuracy": 0.5})
    check_reads_digits(model.network, model.path)
    server = small_server(socket_timeout=10, models=[model])
    status, answer = post(server.port, pictures[0][0].read_bytes())
    assert status == 200 and answer["digit"] == 6
    description = request(server.port, "GET", "/api/model")[2]["models"][0]["description"]
    assert description == "PlainReader, 50.00% on the test images"


def test_a_fault_while_reading_gets_500_and_the_server_goes_on(small_server, pictures, tmp_path):
    model = Model("failing", tmp_path / "failing.npz", FailingReader(), {})
    server = small_server(socket_timeout=10, models=[model])
    body = pictures[0][0].read_bytes()
    assert post(server.port, body) == (500, {
        "error": "the server failed to read the picture (RuntimeError: a bug in the network)"})
    assert request(server.port, "GET", "/api/model")[0] == 200


# -- several models ----------------------------------------------------------------------------

def test_several_models_each_answer_and_vote(voting_server, pictures):
    path, label = pictures[0]
    status, answer = post(voting_server.port, path.read_bytes())
    assert status == 200
    assert [model["name"] for model in answer["models"]] == [
        "network.npz", "twin.npz", "always-three.npz"]
    assert [model["digit"] for model in answer["models"]] == [label, label, 3]
    assert answer["votes"][label] == 2 and answer["votes"][3] == 1 and sum(answer["votes"]) == 3
    assert answer["digit"] == label


def test_models_with_the_same_file_name_are_told_apart(tmp_path, trained_network_file):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copyfile(trained_network_file, tmp_path / folder / "network.npz")
    models = load_models([tmp_path / "a" / "network.npz", tmp_path / "b" / "network.npz"])
    assert [model.name for model in models] == [str(tmp_path / "a" / "network.npz"),
                                                 str(tmp_path / "b" / "network.npz")]


# == the page, in a real browser ================================================================

def find_chromium():
    """``(browser, driver)`` paths, or skip the test saying what is missing."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[test]')")
    browser = next((shutil.which(name) for name in ("chromium", "chromium-browser",
                                                    "google-chrome", "google-chrome-stable")
                    if shutil.which(name)), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        missing = " and ".join(name for name, path in (("Chromium", browser),
                                                        ("chromedriver", driver)) if path is None)
        pytest.skip(f"{missing} not installed (Debian: apt-get install chromium chromium-driver)")
    return browser, driver


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium, 1100x720, driven by Selenium (and quit after the module)."""
    browser_path, driver_path = find_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1100,720"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def open_page(browser, server):
    from selenium.webdriver.common.by import By

    browser.get(server.url)
    wait_for(browser, lambda: not browser.find_element(By.ID, "model").text.startswith("Loading"))
    return browser


@pytest.fixture
def page(browser, server):
    return open_page(browser, server)


def wait_for(browser, condition, seconds=15):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds, poll_frequency=0.05).until(lambda _: condition())


def text(page, element_id) -> str:
    from selenium.webdriver.common.by import By

    return page.find_element(By.ID, element_id).text


# Strokes as fractions of the canvas from its centre: (-0.5, -0.5) is the top left.
SEVEN = [[(-0.22, -0.28), (-0.05, -0.28), (0.1, -0.28), (0.22, -0.28), (0.15, -0.12),
          (0.08, 0.04), (0.02, 0.2), (-0.03, 0.32)]]
ONE = [[(0.02, -0.32), (0.01, -0.15), (0.0, 0.0), (-0.01, 0.15), (-0.02, 0.32)]]


def draw(page, strokes, pointer="mouse"):
    """Draw ``strokes`` on the canvas with a ``mouse``, ``pen`` or ``touch`` pointer.

    WebDriver's pointer actions: Chromium turns them into pointerdown, pointermove
    and pointerup events of that pointer type, as from the real device.
    """
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput
    from selenium.webdriver.common.by import By

    canvas = page.find_element(By.ID, "canvas")
    width, height = canvas.size["width"], canvas.size["height"]
    actions = ActionBuilder(page, mouse=PointerInput(pointer, pointer), duration=20)
    for stroke in strokes:
        points = [(round(x * width), round(y * height)) for x, y in stroke]
        actions.pointer_action.move_to(canvas, *points[0]).pointer_down()
        for point in points[1:]:
            actions.pointer_action.move_to(canvas, *point)
        actions.pointer_action.pointer_up()
    actions.perform()


def read_answer(page, expected=None) -> str:
    """The digit the page shows once the answer to the drawing has come (and settled)."""
    wait_for(page, lambda: text(page, "digit") != "?" and (expected is None or
                                                          text(page, "digit") == expected))
    return text(page, "digit")


def test_drawing_with_the_mouse_shows_the_digit_and_its_confidence(page):
    draw(page, SEVEN, "mouse")
    assert read_answer(page, "7") == "7"
    assert re.fullmatch(r"confidence \d+%", text(page, "confidence"))
    assert text(page, "message") == ""


def test_drawing_with_a_pen_is_read(page):
    draw(page, ONE, "pen")
    assert read_answer(page, "1") == "1"


def test_drawing_with_a_finger_is_read(page):
    draw(page, SEVEN, "touch")
    assert read_answer(page, "7") == "7"


def canvas_png(page) -> bytes:
    data_url = page.execute_script("return document.getElementById('canvas').toDataURL('image/png')")
    return base64.b64decode(data_url.split(",", 1)[1])


def seen_pixels(page) -> np.ndarray:
    """The page's picture of what the network sees, as 784 grey levels."""
    return np.array(page.execute_script(
        "return Array.from(document.getElementById('seen').getContext('2d')"
        ".getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))"))


def test_the_page_shows_the_image_and_outputs_the_server_gives(page, server):
    draw(page, SEVEN)
    read_answer(page, "7")
    answer = post(server.port, canvas_png(page))[1]      # the finished drawing, read by the API
    expected = np.round(255 * np.array(answer["image"])).reshape(-1)
    wait_for(page, lambda: np.abs(seen_pixels(page) - expected).max() <= 1)
    assert text(page, "digit") == str(answer["digit"])
    assert text(page, "confidence") == f"confidence {round(100 * answer['confidence'])}%"
    heights = page.execute_script(
        "return Array.from(document.querySelectorAll('#bars .fill'), bar => parseFloat(bar.style.height))")
    assert heights == pytest.approx([100 * score for score in answer["scores"]], abs=0.01)
    best = page.execute_script(
        "return Array.from(document.querySelectorAll('#bars .bar')).findIndex(bar => bar.classList.contains('best'))")
    assert best == answer["digit"]


def test_clear_wipes_the_canvas_and_the_answer(page):
    from selenium.webdriver.common.by import By

    draw(page, SEVEN)
    read_answer(page, "7")
    page.find_element(By.ID, "clear").click()
    time.sleep(0.5)                       # no late answer may bring the reading back
    assert text(page, "digit") == "?" and text(page, "confidence") == "Draw a digit"
    assert Image.open(io.BytesIO(canvas_png(page))).convert("L").getextrema() == (255, 255)


def test_the_c_key_clears_the_canvas_too(page):
    from selenium.webdriver.common.action_chains import ActionChains

    draw(page, SEVEN)
    read_answer(page, "7")
    ActionChains(page).send_keys("c").perform()
    wait_for(page, lambda: text(page, "digit") == "?")
    assert Image.open(io.BytesIO(canvas_png(page))).convert("L").getextrema() == (255, 255)


def test_a_chosen_picture_file_is_read(page, pictures):
    from selenium.webdriver.common.by import By

    path, label = pictures[1]
    page.find_element(By.ID, "file").send_keys(str(path))
    assert read_answer(page, str(label)) == str(label)


def test_a_dropped_picture_file_is_read(page, pictures):
    path, label = pictures[2]
    page.execute_script("""
        const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], arguments[1], {type: "image/bmp"}));
        document.getElementById("canvas").dispatchEvent(
            new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
    """, base64.b64encode(path.read_bytes()).decode(), path.name)
    assert read_answer(page, str(label)) == str(label)


def test_a_file_that_is_not_a_picture_shows_classifys_message(page, tmp_path):
    from selenium.webdriver.common.by import By

    path = tmp_path / "notes.png"
    path.write_text("shopping: eggs, milk\n")
    page.find_element(By.ID, "file").send_keys(str(path))
    wait_for(page, lambda: text(page, "message") != "")
    assert text(page, "message") == NOT_A_PICTURE
    assert text(page, "digit") == "?"


def test_the_page_requests_nothing_from_elsewhere(page, server):
    draw(page, SEVEN)
    read_answer(page, "7")
    addresses = page.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)")
    assert addresses and all(address.startswith(server.url) for address in addresses)


def test_with_several_models_the_page_shows_each_answer_and_the_vote(browser, voting_server):
    from selenium.webdriver.common.by import By

    page = open_page(browser, voting_server)
    assert text(page, "model").startswith("3 models (network.npz, twin.npz, always-three.npz)")
    draw(page, SEVEN)
    read_answer(page, "7")
    rows = [row.text for row in page.find_elements(By.CSS_SELECTOR, "#models tbody tr")]
    assert len(rows) == 3 and rows[0].startswith("network.npz 7") and rows[2].startswith(
        "always-three.npz 3")
    assert text(page, "vote") == "7" and text(page, "vote-count") == "2 of 3 models"
    assert text(page, "confidence").endswith("the vote of 3 models")


def test_ctrl_c_while_a_thread_starts_is_not_lost(small_server, monkeypatch):
    # Seen on a busy machine: Ctrl-C reached the main thread while it was still starting
    # the thread of a request that had been answered already; the slot was given back
    # twice, ValueError replaced KeyboardInterrupt and the server went on serving.
    import socketserver

    server = small_server(socket_timeout=10)
    server.shutdown()
    started = socketserver.ThreadingMixIn.process_request

    def start_then_interrupted(self, request, client_address):
        started(self, request, client_address)
        self._threads.join()                 # the request is answered, its slot given back
        raise KeyboardInterrupt

    monkeypatch.setattr(socketserver.ThreadingMixIn, "process_request", start_then_interrupted)
    server.daemon_threads = False            # so that _threads holds the thread to join
    client = socket.create_connection(("127.0.0.1", server.port))
    client.sendall(b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    with pytest.raises(KeyboardInterrupt):
        server.handle_request()
    assert status_of(client.recv(65536)) == 200
    client.close()
    assert server.limits.total == 0 and server.limits.per_client == {}   # given back once
