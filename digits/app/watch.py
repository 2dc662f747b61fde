"""Watching a network learn: what the live page of ``train --watch`` shows, and how it is fed.

:class:`WatchCallback` is a :class:`~digits.nn.callbacks.Callback` of the training
loop; it is the page's only source.  It runs in the training thread, so at each moment
it only copies a few small arrays and numbers and hands them on:

1. ``on_train_begin``: the run's settings and seed, and the book's published accuracy
   for the same settings where the book has one (:func:`book_number`);
2. ``on_batch_end`` (every :data:`EVERY_BATCHES` mini-batches): the learning speed of
   every layer (chapter 5: the size of ∂C/∂b, from ``run.learning_speeds``), a point of
   its curves at most every :data:`SPEED_SECONDS`, and, at most every
   :data:`SAMPLE_SECONDS`, the progress inside the epoch (mini-batches done, images per
   second, time left) and a copy of the first layer's weights;
3. ``on_epoch_end``: the epoch's numbers from ``run.history`` and a copy of the
   network's weights;
4. ``on_train_end``: that training is over, and why.

The confusion matrix is counted from the answers the loop's own evaluation gave
(``run.evaluation_answers``), so it costs no second pass over the evaluation data; a
cell's digits are fed through a copy of the network when the cell is opened, to say
how sure it was of each.  What takes longer than copying (turning weights into
pictures, counting the matrix, or, for a run that did not evaluate the data, feeding
them through the copied network) is done by one worker thread (:class:`Worker`) that
keeps only the latest job of each kind, so that a slow step is skipped rather than
queued.  The page reads :class:`WatchState` through
the server of :mod:`digits.app.watch_server`; nothing the server or a browser does
can make the training thread wait, except the state's lock, held only to swap a few
references.

The first layer's pictures: a fully connected first layer's neuron j has 784 incoming
weights ``weights[j]``, drawn as a 28x28 picture (the first :data:`MAX_PICTURES`
neurons); a conv-pool first layer's filters are drawn as they are (5x5).  Each picture
is scaled by its own largest |w| and sent as bytes: 128 + 127 w / max|w|, so 128 is a
weight of 0, 255 the largest positive one and 1 the most negative.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from importlib import resources

import numpy as np

from digits.nn.callbacks import Callback

EVERY_BATCHES = 25        # on_batch_end is called after every 25th mini-batch
SAMPLE_SECONDS = 2.0      # progress and the weight pictures: at most this often within an epoch
SPEED_SECONDS = 0.5       # a point of the learning-speed curves: at most this often
SPEED_SAMPLES = 20        # learning speed: the mean of the last 20 samples
MAX_SPEED_POINTS = 2000   # the learning-speed curve keeps its last 2,000 points
MAX_PICTURES = 100        # the first 100 neurons of a larger first layer
CELL_SAMPLE = 48          # digits kept per cell of the confusion matrix


# -- the book's published numbers ----------------------------------------------------------

def book_numbers() -> list[dict]:
    """The runs of ``book_numbers.json`` (the book's published accuracies and their settings)."""
    text = (resources.files("digits.app") / "book_numbers.json").read_text(encoding="utf-8")
    return json.loads(text)["runs"]


def normal_layers(spec) -> str | None:
    """A ``--layers`` description with its separators made single spaces, for comparing."""
    return None if spec is None else " ".join(str(spec).replace(",", " ").split())


def book_number(settings: dict) -> dict | None:
    """The book's run whose settings all agree with ``settings``, or None.

    ``settings`` names ``sizes`` or ``layers``, ``cost``, ``init``, ``eta``, ``lmbda``,
    ``activation``, ``dropout``, ``expand`` and ``n_training``; a run of the book
    matches when every setting it lists is equal (numbers to within 1e-9).
    """
    for entry in book_numbers():
        if all(_same(settings.get(key), value) for key, value in entry["match"].items()):
            return {"id": entry["id"], "published": entry["published"], "label": entry["label"]}
    return None


def _same(ours, theirs) -> bool:
    if isinstance(theirs, bool) or isinstance(ours, bool):
        return bool(ours) == theirs
    if isinstance(theirs, (int, float)) and isinstance(ours, (int, float)):
        return abs(ours - theirs) <= 1e-9
    if isinstance(theirs, str) and isinstance(ours, str):
        return normal_layers(ours) == normal_layers(theirs)
    if isinstance(theirs, list) and isinstance(ours, (list, tuple)):
        return list(ours) == theirs
    return False


# -- what the page shows, computed off the hot path ---------------------------------------

def first_layer_weights(network) -> np.ndarray | None:
    """A copy of the weights the pictures are drawn from: ``(pictures, height, width)``.

    A fully connected layer on the 784 pixels gives its first :data:`MAX_PICTURES`
    neurons' incoming weights as 28x28; a conv-pool layer its filters of the first
    input channel.  None for a first layer of another kind.
    """
    layer = network.layers[0]
    weights = layer.weights
    if weights.ndim == 4:                                    # (filters, channels, k, k)
        return np.array(weights[:MAX_PICTURES, 0], dtype=np.float32)
    side = int(round(np.sqrt(weights.shape[1])))
    if side * side != weights.shape[1]:
        return None
    return np.array(weights[:MAX_PICTURES], dtype=np.float32).reshape(-1, side, side)


def pictures(weights: np.ndarray) -> dict:
    """The page's form of :func:`first_layer_weights`: bytes 0-255, 128 for 0, each picture
    scaled by its own largest |w|, as base64; with the scales."""
    scale = np.abs(weights).reshape(len(weights), -1).max(axis=1)
    scale = np.where(scale > 0, scale, 1.0)
    scaled = 128.0 + 127.0 * weights / scale[:, None, None]
    pixels = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return {"count": int(len(weights)), "height": int(weights.shape[1]),
            "width": int(weights.shape[2]), "scales": [float(s) for s in scale],
            "pixels": base64.b64encode(pixels.tobytes()).decode("ascii")}


def copy_network(network):
    """A network with the same layers and a copy of the weights, for another thread to use."""
    from digits.nn.layers import from_description
    from digits.nn.network import Network

    layers = [from_description(layer.description()) for layer in network.layers]
    copy = Network(layers, cost=network.cost.name, dtype=network.dtype, initialise=False)
    copy.weights = [w.copy() for w in network.weights]
    copy.biases = [b.copy() for b in network.biases]
    return copy


def answers_and_confidences(network, data) -> tuple[np.ndarray, np.ndarray]:
    """The digit ``network`` answers for each example of ``data`` and its confidence (the
    answer's share of the ten outputs, as ``classify`` shows it).

    The examples go through in slices: large ones for a fully connected network (few
    steps of Python between the matrix products, so the training thread is rarely made
    to wait for the interpreter), small ones for a convolutional network (its
    per-example copies are large).
    """
    from digits.nn.ensemble import answers_and_shares

    chunk = 100 if network.convolutional else 2000
    answers, confidences = [], []
    for start in range(0, len(data), chunk):
        rows = data.inputs[start:start + chunk]
        answer, share = answers_and_shares(network.feedforward(rows.T))
        answers.append(answer)
        confidences.append(share)
    return np.concatenate(answers), np.concatenate(confidences)


def confusion(labels, answers, sample=CELL_SAMPLE, seed=0) -> dict:
    """The confusion matrix (``matrix[true][answer]``, counts) and each cell's digits.

    Each cell keeps the indices of its examples, at most ``sample`` of them; a cell
    holding more keeps a random sample of that size (the diagonal's thousands), drawn
    with a fixed seed.
    """
    cell = 10 * np.asarray(labels, dtype=np.int64) + np.asarray(answers, dtype=np.int64)
    order = np.argsort(cell, kind="stable")            # the examples, cell after cell
    counts = np.bincount(cell, minlength=100)
    starts = np.concatenate([[0], np.cumsum(counts)])
    rng = np.random.default_rng(seed)
    cells = {}
    for k in range(100):
        members = order[starts[k]:starts[k + 1]]
        if len(members) > sample:
            members = np.sort(rng.choice(members, sample, replace=False))
        cells[divmod(k, 10)] = members
    return {"matrix": counts.reshape(10, 10).tolist(), "cells": cells}


# -- the state the page reads -------------------------------------------------------------

class StateStore:
    """A dict of plain data behind one lock, with a ``version`` bumped by every change and
    its JSON encoded once per version (:meth:`encoded`).

    Writers change it with :meth:`update` (or under ``_lock``, then :meth:`_changed`);
    readers get the JSON.  Each write holds the lock only to swap a few references.
    """

    def __init__(self, state: dict):
        self._lock = threading.Lock()
        self._state, self.version = state, 0
        self._encoded = (-1, b"")

    def update(self, **changes):
        with self._lock:
            self._state.update(changes)
            self._changed()

    def _changed(self):
        self.version += 1                  # (called with the lock held)

    def encoded(self) -> bytes:
        """The state as JSON, with its ``version``."""
        with self._lock:
            version, encoded = self._encoded
            if version == self.version:
                return encoded
            state = dict(self._state, version=self.version)
            speed = state["speed"]
            state["speed"] = {"layers": speed["layers"], "samples": list(speed["samples"])}
            version = self.version
        encoded = json.dumps(state).encode()
        with self._lock:
            if self._encoded[0] < version:
                self._encoded = (version, encoded)
        return encoded


class WatchState(StateStore):
    """Everything the page shows: what :meth:`encoded` sends as ``GET /api/state``, and
    the larger pieces the page fetches when ``version`` says they changed,
    :meth:`weights` (``GET /api/weights``) and :meth:`cell` (``GET /api/cell``).

    The training thread and the worker write it; the server's threads read it.
    """

    def __init__(self, settings: dict, evaluation=None, evaluation_name="test", chapter6=False):
        super().__init__({
            "settings": {key: _plain(value) for key, value in settings.items()},
            "book": book_number(settings), "evaluation_name": evaluation_name,
            "chapter6": bool(chapter6), "status": "starting", "message": "", "history": None,
            "progress": None, "speed": {"layers": [], "samples": []}, "pictures": None,
            "confusion": None})
        self.evaluation = evaluation
        self._stop, self._pictures = None, None
        self._cells, self._network = {}, None

    def training(self, stop, layer_names):
        """Training has begun; ``stop()`` ends it after the current mini-batch."""
        self._stop = stop
        self.update(status="training", speed={"layers": list(layer_names), "samples": []})

    def add_speed(self, position: float, speeds):
        """A learning-speed sample at ``position`` (in epochs) for each layer."""
        with self._lock:
            samples = self._state["speed"]["samples"]
            samples.append([round(position, 4)] + [float(s) for s in speeds])
            del samples[:-MAX_SPEED_POINTS]
            self._changed()

    def set_pictures(self, position: float, made: dict):
        """The first layer's pictures (:func:`pictures`) at ``position`` (in epochs)."""
        with self._lock:
            self._pictures = dict(made, position=position)
            self._state["pictures"] = {"version": self.version + 1, "position": position,
                                       "count": made["count"]}
            self._changed()

    def set_confusion(self, epoch: int, result: dict, network):
        """The confusion matrix after ``epoch``; ``network``, a copy of the weights then,
        tells a cell's digits' confidence when the cell is opened."""
        with self._lock:
            self._cells, self._network = result["cells"], network
            self._state["confusion"] = {"epoch": epoch, "matrix": result["matrix"]}
            self._changed()

    def request_stop(self) -> bool:
        """Ask the run to stop after its current mini-batch; False if it is not training."""
        with self._lock:
            if self._state["status"] != "training" or self._stop is None:
                return False
            self._state["status"] = "stopping"
            self._changed()
        self._stop()
        return True

    def weights(self) -> dict | None:
        with self._lock:
            return self._pictures

    def cell(self, true: int, answer: int) -> dict:
        """The digits in one cell of the latest confusion matrix (see :func:`cell_digits`)."""
        with self._lock:
            members, network = self._cells.get((true, answer), ()), self._network
            confusion = self._state["confusion"]
        digits = cell_digits(network, self.evaluation, members) if len(members) else []
        return {"true": true, "answer": answer, "shown": len(digits),
                "count": int(confusion["matrix"][true][answer]) if confusion else 0,
                "epoch": confusion["epoch"] if confusion else None, "digits": digits}


def cell_digits(network, data, members) -> list[dict]:
    """The examples ``members`` of ``data``, least sure first, each with ``network``'s
    answer, its confidence and its 28x28 pixels as base64 bytes (0 black, 255 ink)."""
    examples = data[np.asarray(members)]
    answers, confidences = answers_and_confidences(network, examples)
    digits = []
    for k in np.argsort(confidences, kind="stable"):
        pixels = np.clip(np.rint(255 * examples.inputs[k].astype(np.float64)), 0, 255)
        digits.append({"index": int(members[k]), "answer": int(answers[k]),
                       "confidence": round(float(confidences[k]), 4),
                       "pixels": base64.b64encode(pixels.astype(np.uint8).tobytes()).decode("ascii")})
    return digits


def _plain(value):
    """A setting as JSON can hold it."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


class Worker:
    """One daemon thread doing the page's slow jobs, the latest of each kind only.

    :meth:`submit` never waits: a job of a kind already waiting replaces it (a newer
    copy of the weights makes an older one pointless).  Jobs run only while the worker
    is :meth:`open`: the callback opens it while the loop trains an epoch's
    mini-batches, with the matrix library held to one thread
    (:mod:`digits.system.threads`), so that the worker's products run on one thread
    too, and not beside the evaluation between epochs; and for good once training ends.
    """

    def __init__(self, report=None):
        self._report = report or (lambda line: None)
        self._pending = {}
        self._order = deque()
        self._condition = threading.Condition()
        self._busy = False
        self._open = True
        self._thread = threading.Thread(target=self._work, name="watch worker", daemon=True)
        self._thread.start()

    def submit(self, kind: str, job) -> None:
        with self._condition:
            if kind not in self._pending:
                self._order.append(kind)
            self._pending[kind] = job
            self._condition.notify()

    def open(self, is_open: bool = True) -> None:
        """Let jobs run (True) or wait (False); a job already running finishes."""
        with self._condition:
            self._open = is_open
            self._condition.notify_all()

    def idle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every job to be done; True if they are."""
        with self._condition:
            return self._condition.wait_for(lambda: not self._pending and not self._busy, timeout)

    def _work(self):
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._pending and self._open)
                job = self._pending.pop(self._order.popleft())
                self._busy = True
            try:
                job()
            except Exception as error:      # a failed picture must never end training
                self._report(f"the page's {type(error).__name__}: {error}")
            finally:
                with self._condition:
                    self._busy = False
                    self._condition.notify_all()


# -- the callback ------------------------------------------------------------------------

def layer_names(network) -> list[str]:
    """``["hidden layer 1 (30)", "output layer (10)"]``: the page's name for each layer."""
    names = []
    count = len(network.layers)
    for i, layer in enumerate(network.layers, start=1):
        kind = "output layer" if i == count else f"hidden layer {i}"
        what = (f"{layer.weights.shape[0]} filters" if layer.weights.ndim == 4
                else f"{layer.n_out}")
        names.append(f"{kind} ({what})")
    return names


class WatchCallback(Callback):
    """Feeds a :class:`WatchState` from the training loop's moments (see the module's
    docstring); the state's ``request_stop`` then stops the run."""

    every_batches = EVERY_BATCHES

    def __init__(self, state: WatchState, sample_seconds=SAMPLE_SECONDS):
        self.state = state
        self.sample_seconds = sample_seconds
        self.worker = Worker(report=lambda line: state.update(message=line))
        self._speeds = deque(maxlen=SPEED_SAMPLES)
        self._epoch_started = self._last_sample = self._last_speed = 0.0

    def on_train_begin(self, run):
        self.state.training(run.request_stop, layer_names(run.network))
        if run.history.epochs:                     # a run going on from a checkpoint
            self.state.update(history=_history_dict(run.history))
        self._send_pictures(run, position=float(run.epoch or 0))

    def on_epoch_begin(self, run):
        self._epoch_started = self._last_sample = self._last_speed = time.perf_counter()
        self._speeds.clear()
        self.worker.open(True)

    def on_batch_end(self, run):
        self._speeds.append(run.learning_speeds())
        now = time.perf_counter()
        if now - self._last_speed >= self.sample_seconds * SPEED_SECONDS / SAMPLE_SECONDS:
            self._last_speed = now
            self._add_speed(run)
        if now - self._last_sample >= self.sample_seconds:
            self._last_sample = now
            self._publish(run, now - self._epoch_started)

    def _add_speed(self, run):
        """A point of the learning-speed curves: the mean of the last samples."""
        speeds = [s for s in self._speeds if s]
        if speeds:
            position = run.epoch - 1 + max(run.batch, 1) / run.batches_per_epoch
            self.state.add_speed(position, np.mean(np.array(speeds), axis=0))

    def _publish(self, run, elapsed):
        """Progress and the weight pictures, ``elapsed`` seconds into the epoch."""
        self.state.update(progress=progress_of(run, elapsed))
        self._send_pictures(run, run.epoch - 1 + max(run.batch, 1) / run.batches_per_epoch)

    def on_epoch_end(self, run):
        self.worker.open(False)
        self._add_speed(run)
        self._publish(run, run.history.seconds[-1])
        self.state.update(history=_history_dict(run.history))
        if self.state.evaluation is not None:
            network, epoch = copy_network(run.network), run.epoch
            # The loop's own answers, when the data it evaluated are these.
            answers = run.evaluation_answers
            if answers is not None and len(answers) != len(self.state.evaluation):
                answers = None
            self.worker.submit("confusion", lambda: count_confusion(self.state, network, epoch, answers))

    def on_train_end(self, run):
        self.worker.open(True)
        self._send_pictures(run, position=float(run.epoch))
        if run.stopped:
            self.state.update(status="stopped", message=f"after mini-batch {run.batch} of epoch "
                                                        f"{run.epoch}; the run is saved as at its end")
        else:
            self.state.update(status="finished", message="")

    def _send_pictures(self, run, position):
        weights = first_layer_weights(run.network)
        if weights is not None:
            self.worker.submit("pictures", lambda: self.state.set_pictures(position, pictures(weights)))



def count_confusion(state, network, epoch, answers) -> None:
    """The worker's job after each epoch: the state's confusion matrix, from the loop's
    ``answers`` or, for a run that did not evaluate these data, from the copied network's."""
    evaluation = state.evaluation
    if answers is None:
        answers, _ = answers_and_confidences(network, evaluation)
    state.set_confusion(epoch, confusion(evaluation.labels, answers), network)


def progress_of(run, elapsed) -> dict:
    """Where the loop is in its epoch, ``elapsed`` seconds in: mini-batches done, images
    per second, the seconds left at that pace, and eta."""
    batch = max(run.batch, 1)
    return {"epoch": run.epoch, "epochs": run.epochs, "batch": run.batch,
            "batches_per_epoch": run.batches_per_epoch, "eta": run.eta,
            "images_per_second": round(batch * run.mini_batch_size / elapsed, 1) if elapsed > 0 else None,
            "seconds_left": round(elapsed / batch * (run.batches_per_epoch - run.batch), 1)}


def _history_dict(history) -> dict:
    """A copy of the history's numbers (lists copied: the loop goes on appending)."""
    return {key: list(value) if isinstance(value, list) else value
            for key, value in history.to_dict().items()}


# -- ``train --watch`` ---------------------------------------------------------------------

def add_watch_arguments(parser) -> None:
    """``--watch`` and ``--port`` (for ``train``)."""
    parser.add_argument("--watch", action="store_true",
                        help="serve a live page of the training on 127.0.0.1 (curves, the first "
                             "layer's weights, learning speed, confusion matrix, a Stop button)")
    parser.add_argument("--port", type=port_number, default=8001,
                        help="with --watch: the page's port (0: any free port)")


def port_number(text: str) -> int:
    import argparse

    if not (text.isdigit() and 0 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 65535 (0: any free port), "
                                         f"got {text!r}")
    return int(text)


SETTING_NAMES = ("sizes", "layers", "activation", "init", "eta", "lmbda", "l1", "momentum",
                 "mini_batch_size", "epochs", "dropout", "expand", "early_stopping", "schedule",
                 "monitor", "validation", "dtype", "seed")


def run_settings(args, network, n_training: int, description: str) -> dict:
    """The settings the page shows (and matches against the book's runs)."""
    settings = {name: getattr(args, name, None) for name in SETTING_NAMES}
    settings["layers"] = normal_layers(settings["layers"])
    settings.update(cost=network.cost.name, n_training=n_training, description=description)
    return settings


def watch_for(args, network, description, evaluation, evaluation_name, chapter6,
              n_training) -> list:
    """The callbacks that feed ``train --watch``'s page (none without ``--watch``).

    Starts the page's server on 127.0.0.1 (``args.port``) and says where it is.
    ``evaluation`` are the data whose confusion matrix is drawn after each epoch.
    """
    if not getattr(args, "watch", False):
        return []
    from digits.app.terminal import show
    from digits.app.watch_server import watch_server

    settings = run_settings(args, network, n_training, description)
    state = WatchState(settings, evaluation, evaluation_name, chapter6)
    server = watch_server(state, port=args.port).start()
    show(f"Watch it learn at {server.url()} (the page's Stop button ends training after the "
         f"current mini-batch and saves it)")
    return [WatchCallback(state)]
