"""The server's half of the chapter-4 page: train a ``[1, 2N, 1]`` network on f, on request.

The page (``web/universality.html``) builds its own network from the bumps the learner
drags; its Train button sends ``POST /api/universality/train`` with the JSON body
``{"bumps": N}``, and :func:`answer` trains a network of as many hidden neurons, 2N
(two steps per bump), by the library's SGD (:func:`digits.nn.universality.train`), and
answers::

    {"bumps": N, "hidden": 2N, "x": [...], "y": [...], "deviation": 0.0326,
     "epochs": 1000, "seconds": 1.4, "stopped": false}

``x`` and ``y`` are the trained network's output on :data:`CURVE_POINTS` evenly spaced
points of [0, 1] and ``deviation`` its average |output - f| on the 10,001 points the
page measures on.  Every request is bounded: a body of at most :data:`MAX_BODY` bytes,
at most :data:`MAX_BUMPS` bumps, :data:`EPOCHS` epochs of 200 samples, and a run that
takes longer than :data:`MAX_SECONDS` (a busy machine) stops at the end of the
mini-batch it is in (``"stopped": true``).  A request the page would not send is
refused with a :class:`~digits.app.http.Refusal` of 400 and the reason in one line.
"""

from __future__ import annotations

import json
import time

from digits.app.http import Refusal
from digits.nn import universality
from digits.nn.callbacks import Callback

ROUTE = "/api/universality/train"
MAX_BODY = 1_000          # bytes: {"bumps": 40} is 13
MAX_BUMPS = 40            # the page's largest; 80 hidden neurons
EPOCHS = universality.TRAINING["epochs"]
MAX_SECONDS = 8.0         # a training run on an idle core takes about 1.5 s
CURVE_POINTS = 201


class Deadline(Callback):
    """Stops a run once it has trained for ``seconds`` (looked at after every 20 mini-batches),
    and keeps how many epochs it ran (the last one perhaps cut short) and whether it stopped."""

    every_batches = 20

    def __init__(self, seconds):
        self.seconds = seconds
        self.started = time.perf_counter()
        self.epochs, self.stopped = 0, False

    def on_batch_end(self, run) -> None:
        if time.perf_counter() - self.started > self.seconds:
            run.request_stop()

    def on_train_end(self, run) -> None:
        self.epochs, self.stopped = run.epoch, run.stopped


def bumps_asked(body: bytes) -> int:
    """N from the body ``{"bumps": N}``, a whole number from 1 to MAX_BUMPS (else a 400)."""
    try:
        request = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Refusal(400, 'the request must be JSON: {"bumps": N}') from None
    bumps = request.get("bumps") if isinstance(request, dict) else None
    if not isinstance(bumps, int) or isinstance(bumps, bool) or not 1 <= bumps <= MAX_BUMPS:
        raise Refusal(400, f"bumps must be a whole number from 1 to {MAX_BUMPS}, got {bumps!r}")
    return bumps


def answer(body: bytes, seed=1, max_seconds=MAX_SECONDS) -> dict:
    """Train the ``[1, 2N, 1]`` network for the request ``body``; the page's JSON answer.

    A fault of ours while training becomes a 500 with its reason, as ``/api/classify``'s do.
    """
    bumps = bumps_asked(body)
    deadline = Deadline(max_seconds)
    try:
        network = universality.train(2 * bumps, seed=seed, callbacks=[deadline])
    except MemoryError:
        raise Refusal(500, "the server has not enough memory to train now") from None
    except Exception as error:
        raise Refusal(500, f"the server failed to train ({type(error).__name__}: {error})") from None
    seconds = time.perf_counter() - deadline.started
    x = universality.grid(CURVE_POINTS)
    return {"bumps": bumps, "hidden": 2 * bumps, "x": [round(float(v), 6) for v in x],
            "y": [round(float(v), 6) for v in universality.outputs(network, x)],
            "deviation": round(universality.average_deviation(network), 6),
            "epochs": deadline.epochs, "seconds": round(seconds, 3), "stopped": deadline.stopped}
