"""The server of the live page (``train --watch``) and of the comparison page (``compare``).

Both are pages of :mod:`digits.app.http` (its limits, Host and Origin checks and escaped
log), served by a daemon thread on 127.0.0.1 unless told otherwise.  The page polls:
every second it asks for ``GET /api/state`` and fetches the larger pieces only when
the state says they changed.  The training thread never touches a socket, so a closed,
slow or reloaded browser costs it nothing, and a reloaded page gets the whole history
in its first answer.

The live page's API:

``GET /api/state``
    ``{"version", "status", "message", "settings", "book", "evaluation_name",
    "chapter6", "history", "progress", "speed", "pictures", "confusion"}``: the run's
    settings, the book's published number for them (or null), the per-epoch history
    (as :class:`~digits.nn.training.History` holds it: counts, with ``n_evaluation``
    and the like to divide by), the progress inside the epoch, the learning-speed
    samples (``[epochs, layer 1, layer 2, ...]``), which pictures and which epoch's
    confusion matrix there are.  ``status`` is ``starting``, ``training``,
    ``stopping``, ``stopped`` or ``finished``.
``GET /api/weights``
    The first layer's pictures: ``{"count", "height", "width", "scales", "pixels",
    "position"}``, ``pixels`` the base64 of count x height x width bytes (128 is a
    weight of 0, 255 the picture's largest positive weight, 1 its most negative).
``GET /api/cell?true=T&answer=A``
    The digits of one cell of the latest confusion matrix: ``{"true", "answer",
    "count", "shown", "epoch", "digits": [{"index", "answer", "confidence",
    "pixels"}]}``, each digit's 28x28 pixels as base64 bytes (255 ink).
``POST /api/stop``
    Ends training after the current mini-batch; the run is then saved as at its end.
    Refused (403) from a page of another site.

The comparison page's API is ``GET /api/runs`` (see :mod:`digits.app.compare`).
"""

from __future__ import annotations

import json
import threading
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from digits.app.http import PageHandler, PageServer, Refusal, ServeError

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8"}
WATCH_PAGE = ("watch.html", "chart.js", "watch.js", "watch.css")
COMPARE_PAGE = ("compare.html", "chart.js", "compare.js", "watch.css")
MAX_STOP_BODY = 1000          # bytes: Stop needs no body; anything larger is not the page


def read_page(names) -> dict:
    """``{path: (bytes, content type)}`` for the page's files; the first is also ``/``."""
    folder = resources.files("digits.app") / "web"
    page = {}
    for name in names:
        try:
            content = (folder / name).read_bytes()
        except OSError as error:
            raise ServeError(f"the page's file {name} is missing from the digits package "
                                   f"({error.strerror or error}); reinstall it") from None
        page[f"/{name}"] = (content, TYPES[name[name.rindex("."):]])
    page["/"] = page[f"/{names[0]}"]
    return page


class PageThreadServer(PageServer):
    """A page's files and its API routes, served by a daemon thread (:meth:`start`).

    ``routes`` maps a GET path to ``answer(query) -> dict`` (a JSON answer) or to bytes
    already encoded; ``actions`` maps a POST path to ``act() -> dict``.
    """

    def __init__(self, files, routes, actions=None, host="127.0.0.1", port=0, log=None):
        self.page = read_page(files)
        self.routes, self.actions = routes, actions or {}
        self._thread = None
        super().__init__((host, port), PageThreadHandler, log=log)    # ServeError, in one line

    def start(self) -> "PageThreadServer":
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.25},
                                        name="page server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()


class PageThreadHandler(PageHandler):
    """The page's files, then its routes; everything else is 404."""

    def get(self, path):
        server = self.server
        if path in server.page:
            content, content_type = server.page[path]
            return self.send(200, content, content_type, {"Cache-Control": "no-cache"})
        if path not in server.routes:
            raise Refusal(404, f"nothing here: {path[:80]}")
        answer = server.routes[path](parse_qs(urlsplit(self.path).query))
        content = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        self.send(200, content, "application/json", {"Cache-Control": "no-store"})

    def post(self, path):
        if path not in self.server.actions:
            return super().post(path)
        if self.read_body(MAX_STOP_BODY) is None:
            return
        self.send_json(200, self.server.actions[path]())


def one_digit(query, name) -> int:
    """The query's ``name=D`` as a digit 0-9 (else a 400 refusal)."""
    values = query.get(name, [])
    if len(values) != 1 or values[0] not in tuple("0123456789"):
        raise Refusal(400, f"give {name}=D, a digit from 0 to 9")
    return int(values[0])


def watch_server(state, host="127.0.0.1", port=0, log=None) -> PageThreadServer:
    """The live page of a :class:`~digits.app.watch.WatchState`, not yet started."""
    def weights(query):
        found = state.weights()
        if found is None:
            raise Refusal(404, "no pictures yet")
        return found

    def cell(query):
        return state.cell(one_digit(query, "true"), one_digit(query, "answer"))

    def stop():
        return {"stopping": state.request_stop()}

    routes = {"/api/state": lambda query: state.encoded(), "/api/weights": weights,
              "/api/cell": cell}
    return PageThreadServer(WATCH_PAGE, routes, {"/api/stop": stop}, host, port, log)


def compare_server(data: dict, host="127.0.0.1", port=0, log=None) -> PageThreadServer:
    """The comparison page of ``digits compare`` (``data``: :func:`digits.app.compare.page_data`)."""
    encoded = json.dumps(data).encode()
    return PageThreadServer(COMPARE_PAGE, {"/api/runs": lambda query: encoded}, None, host, port, log)
