"""The web server behind ``digits serve``: one page to draw on, and a small JSON API.

The page (``digits/app/web/``: plain HTML, CSS and JavaScript) sends what is drawn to

``POST /api/classify``
    The body is a picture file (PNG, JPEG, BMP, GIF, TIFF, WebP: the formats
    ``digits classify`` reads, :data:`digits.app.prepare.FORMATS`); the answer is ``{"digit", "confidence", "scores", "image", "votes",
    "models"}``: the digit read, its share of the ten outputs, the ten outputs, the
    28x28 image the network saw (rows of numbers, ink 1 on black 0), and with several
    models each model's answer and the votes per digit.  A body that is not a picture,
    or a blank one, gets 400 and ``{"error"}`` with the line ``classify`` prints.
``GET /api/model``
    What is loaded: each model's name, a one-line description and its metadata.
``POST /api/inside``, ``/api/neuron``, ``/api/backprop``, ``/api/saliency``, ``/api/step``, ``/api/reset``
    The view inside the network (:mod:`digits.app.inside`), on the body and limits of
    ``/api/classify``.

Pictures go through :func:`digits.app.prepare.prepare_bytes`, the very code ``classify``
runs, so a drawing reads the same on the page as saved and classified.  The server is a
:class:`digits.app.http.PageServer`, which gives every request a deadline, bounds the
connections in all and per client, answers only to the names it serves and refuses
posts from other sites' pages (see that module).  Here: the page's files are served
from a fixed table (no path from a request ever reaches the file system), a body larger
than :data:`MAX_BODY` is refused before it is read, and at most :data:`MAX_WORKING`
classifications are done at once (a decoded photo takes memory; the arithmetic a core).
"""

from __future__ import annotations

import threading
from importlib import resources

import numpy as np

from digits.app.inside import ROUTES as INSIDE_ROUTES, InsideView
from digits.app import universality
from digits.app.http import (MAX_CONNECTIONS, MAX_LOGGED_PATH, MAX_PER_CLIENT, REQUEST_DEADLINE,
                             SOCKET_TIMEOUT, PageHandler, PageServer, Refusal, ServeError,
                             is_local_only)

MAX_BODY = 8_000_000          # bytes: a phone photo fits, a flood of large uploads does not
MAX_WORKING = 2              # pictures prepared and classified at once (one per core here)

# The page's files: the only paths served from disk, read once at start.
PAGE = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/inside.js": ("inside.js", "text/javascript; charset=utf-8"),
    "/inside.css": ("inside.css", "text/css; charset=utf-8"),
    "/universality.html": ("universality.html", "text/html; charset=utf-8"),
    "/universality.js": ("universality.js", "text/javascript; charset=utf-8"),
    "/universality.css": ("universality.css", "text/css; charset=utf-8"),
}
# -- reading a picture -----------------------------------------------------------------

def prepare_body(body: bytes) -> np.ndarray:
    """The 28x28 image the network sees, from the bytes of a picture file.

    The bytes go through :func:`digits.app.prepare.prepare_bytes`, the steps a file given
    to ``classify`` goes through, read from memory.  Raises
    :class:`~digits.app.prepare.PictureError` with ``classify``'s message, less the file
    name: :data:`~digits.app.prepare.NOT_A_PICTURE`, ``no ink found: the
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

class DigitsServer(PageServer):
    """The page and the API of ``digits serve``, with the models that read the pictures.

    ``log`` is called with one line per request (and per problem); the command line
    passes a function that prints it.  ``port`` 0 picks a free port (see :attr:`port`);
    ``allowed_hosts`` are names besides the address that the server answers to.
    """

    def __init__(self, models, host="127.0.0.1", port=8000, log=None,
                 max_connections=MAX_CONNECTIONS, socket_timeout=SOCKET_TIMEOUT,
                 max_per_client=MAX_PER_CLIENT, request_deadline=REQUEST_DEADLINE,
                 allowed_hosts=()):
        self.models = models
        self.page = read_page()
        self.working_slots = threading.BoundedSemaphore(MAX_WORKING)
        self.inside = InsideView(models)          # the routes of digits.app.inside
        super().__init__((host, port), Handler, log=log, max_connections=max_connections,
                         max_per_client=max_per_client, socket_timeout=socket_timeout,
                         request_deadline=request_deadline, allowed_hosts=allowed_hosts)

    def is_local_only(self) -> bool:
        """True if only this machine can connect (a loopback address)."""
        return is_local_only(self.host)

    def models_summary(self) -> dict:
        from digits.app.prepare import SIZE

        return {"models": [model.summary() for model in self.models],
                "input": [SIZE, SIZE], "max_body_bytes": MAX_BODY}


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


class Handler(PageHandler):
    """The routes of ``digits serve``: the page's files, ``/api/model``, ``/api/classify``."""

    def get(self, path):
        if path in self.server.page:
            content, content_type = self.server.page[path]
            self.send(200, content, content_type, {"Cache-Control": "no-cache"})
        elif path == "/api/model":
            self.send_json(200, self.server.models_summary())
        elif path == "/api/classify":
            raise Refusal(405, "POST a picture to /api/classify", Allow="POST")
        else:
            raise Refusal(404, f"nothing here: {path[:MAX_LOGGED_PATH]}")

    def body_limit(self, path):
        """``(bytes, what)`` a POST to ``path`` may send, or None for a path that takes none."""
        if path == "/api/classify" or path in INSIDE_ROUTES:
            return MAX_BODY, "the picture"
        if path == universality.ROUTE:
            return universality.MAX_BODY, "the request"
        return None

    def post(self, path):
        if path in self.server.page or path == "/api/model":
            raise Refusal(405, f"{path} is only read (GET); POST pictures to /api/classify",
                          Allow="GET, HEAD")
        if self.body_limit(path) is None:
            raise Refusal(404, f"nothing here: {path[:MAX_LOGGED_PATH]}")
        body = self.read_body(*self.body_limit(path))
        if body is None:
            return
        if path == universality.ROUTE:       # chapter 4's page: train a [1, 2N, 1] network
            with self.server.working_slots:
                self.send_json(200, universality.answer(body))
        elif path in INSIDE_ROUTES:          # another route's answer (digits.app.inside)
            reader = self.server.inside.reader(path, self.path.partition("?")[2])
            self.send_json(200, self.answer(body, reader))
        else:
            self.send_json(200, self.answer(body))

    def answer(self, body: bytes, read=None) -> dict:
        """The reading of the picture ``body`` (or ``read(body, prepare_body)``); its faults
        become a 400 or 500 (:func:`refusal_for`)."""
        with self.server.working_slots:
            try:
                if read is not None:
                    return read(body, prepare_body)
                result = classify(self.server.models, prepare_body(body))
            except (Refusal, ConnectionError, TimeoutError):
                raise
            except Exception as error:
                raise refusal_for(error) from None
        self.note = f"read {result['digit']} ({result['confidence']:.0%})"
        return result


def refusal_for(error: Exception) -> Refusal:
    """The answer to a fault while reading a picture: 400 for a picture that cannot be
    read, 500 (the server's fault: said, and the server goes on) for anything else."""
    from digits.app.prepare import PictureError

    if isinstance(error, PictureError):
        return Refusal(400, str(error))
    if isinstance(error, MemoryError):
        return Refusal(500, "the server has not enough memory for this picture now")
    return Refusal(500, f"the server failed to read the picture ({type(error).__name__}: {error})")
