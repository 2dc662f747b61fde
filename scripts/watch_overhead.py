#!/usr/bin/env python
"""How much longer an epoch takes with ``train --watch``'s page than without, as a ratio.

In one process, the same network trains block after block (a call of ``SGD`` for
``--epochs-per-block`` epochs), the blocks taking turns: one unwatched, one watched by
the page's callback with its server running and a client, in a process of its own as a
browser is, polling it as the page does (``/api/state`` every second,
``/api/weights`` when it changed; paused during unwatched blocks).  Taking turns puts any
change in the machine's load on both sides alike.  The worker's last job of a watched
block is finished before the next block starts, so that it never runs during an
unwatched one.  Each block is timed four ways: wall clock (evaluation included), the
loop's own epoch times (evaluation excluded), the training thread's CPU time, and the
CPU time of every thread (the page's worker and server included); each ratio is the
median over the pairs of a watched block's time over its unwatched partner's.  On a
machine whose other core is busy, the last is what a watched epoch costs at worst.

On a loaded machine those ratios wander by several percent from run to run.  So the
page's own work is also counted directly, which no other program can disturb: the
seconds spent inside the page's callback on the training thread, and the other
threads' CPU (the worker's jobs, the server's answers) beyond an unwatched block's,
each as a share of an unwatched epoch's CPU time.

The networks: the book's ``[784, 30, 10]`` (chapter 1) on the full data, and chapter 6's
ReLU network (``conv20 conv40 fc100 softmax``, eta 0.03, lambda 0.1) on a twentieth of
each data set (``--fraction``: 2,500 training, 500 validation and 500 test images, the
proportions of a full run in a twentieth of the time).

    python scripts/watch_overhead.py [--network fc|relu|both] [--pairs N]
"""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import sys
import time

from common import add_data_arguments, load_mnist, run  # noqa: E402

from digits.app.cli import ArgumentParser, HelpFormatter  # noqa: E402
from digits.nn.callbacks import Callback  # noqa: E402
from digits.system.threads import blas_threads  # noqa: E402


def build(kind, seed=1):
    from digits.nn.layer_spec import parse_layers
    from digits.nn.network import Network

    if kind == "fc":
        return Network([784, 30, 10], seed=seed), dict(eta=3.0, lmbda=0.0), False
    layers = parse_layers("conv20 conv40 fc100 softmax", activation="relu", dropout=0.0, init="network3")
    return Network(layers, seed=seed, dtype="float32"), dict(eta=0.03, lmbda=0.1), True


# The page's polling, as a separate program (the browser is one): every second the
# state, and the pictures when the state says they changed.  It counts its requests.
POLLING = """
import http.client, json, sys, time
port, pictures, requests = int(sys.argv[1]), None, 0
def get(path):
    global requests
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    answer = json.loads(connection.getresponse().read())
    connection.close()
    requests += 1
    return answer
while True:
    time.sleep(1.0)
    state = get("/api/state")
    if state["pictures"] and state["pictures"]["version"] != pictures:
        pictures = state["pictures"]["version"]
        get("/api/weights")
    print(requests, flush=True)
"""


class Poller:
    """:data:`POLLING` in its own process, paused (SIGSTOP) while not :meth:`active`."""

    def __init__(self, port):
        self.process = subprocess.Popen([sys.executable, "-c", POLLING, str(port)],
                                        stdout=subprocess.PIPE, text=True)
        self.active(False)

    def active(self, running: bool):
        self.process.send_signal(signal.SIGCONT if running else signal.SIGSTOP)

    def stop(self) -> int:
        """End the poller; the number of requests it made."""
        self.active(True)
        self.process.terminate()
        lines = self.process.communicate(timeout=10)[0].split()
        return int(lines[-1]) if lines else 0


class Timed(Callback):
    """A callback that passes every moment on to ``inner`` and adds up the seconds spent
    in it: what the page costs the training thread directly."""

    def __init__(self, inner):
        self.inner, self.every_batches, self.seconds = inner, inner.every_batches, 0.0
        self.worker = inner.worker

    def _timed(self, moment, run):
        started = time.perf_counter()
        getattr(self.inner, moment)(run)
        self.seconds += time.perf_counter() - started

    def on_train_begin(self, run):
        self._timed("on_train_begin", run)

    def on_epoch_begin(self, run):
        self._timed("on_epoch_begin", run)

    def on_batch_end(self, run):
        self._timed("on_batch_end", run)

    def on_epoch_end(self, run):
        self._timed("on_epoch_end", run)

    def on_train_end(self, run):
        self._timed("on_train_end", run)


def block(network, data, options, chapter6, epochs, watcher=None) -> dict:
    """The times of ``epochs`` epochs of ``network``: ``wall`` (evaluation included),
    ``training`` (the loop's own epoch times), ``thread`` (the training thread's CPU) and
    ``process`` (every thread's CPU, the page's worker and server included, until the
    worker has finished the block's last job); with ``watcher`` (a :class:`Timed`) also
    ``callback``, the seconds spent in it."""
    training, validation, test = data
    callbacks = [watcher] if watcher else []
    if watcher:
        watcher.seconds = 0.0
    started, thread, process = time.perf_counter(), time.thread_time(), time.process_time()
    history = network.SGD(training, epochs, 10, options["eta"], lmbda=options["lmbda"],
                          evaluation_data=test, validation_data=validation if chapter6 else None,
                          monitor_validation_accuracy=chapter6, callbacks=callbacks)
    times = {"wall": time.perf_counter() - started, "training": sum(history.seconds),
             "thread": time.thread_time() - thread}
    if watcher:
        # The worker's last job, which in a longer run would run during the next epoch's
        # mini-batches, with the matrix library on one thread as it is there.
        with blas_threads(1):
            watcher.worker.idle(600)
        times["callback"] = watcher.seconds
    times["process"] = time.process_time() - process
    times["others"] = times["process"] - times["thread"]
    return times


def measure(kind, mnist, pairs, epochs_per_block, fraction) -> dict:
    from digits.app.watch import WatchCallback, WatchState
    from digits.app.watch_server import watch_server

    training, validation, test = mnist
    network, options, chapter6 = build(kind)
    if chapter6:
        training, validation, test = (data[:len(data) // fraction] for data in (training, validation, test))
    data = (training, validation, test)
    state = WatchState({"description": kind}, test, "test", chapter6)
    server = watch_server(state).start()
    poller = Poller(server.port)
    watcher = Timed(WatchCallback(state))
    block(network, data, options, chapter6, 1)              # warm up: workspaces, caches
    plain, watched = [], []
    for pair in range(pairs):
        for watching in ((False, True) if pair % 2 == 0 else (True, False)):
            poller.active(watching)
            times = block(network, data, options, chapter6, epochs_per_block,
                          watcher if watching else None)
            (watched if watching else plain).append(times)
        print(f"  {kind} pair {pair + 1}: " + ", ".join(
            f"{name} {plain[-1][name] / epochs_per_block:.3f} / {watched[-1][name] / epochs_per_block:.3f} s"
            for name in ("wall", "training", "thread", "process")), flush=True)
    requests = poller.stop()
    server.stop()
    # Each pair's ratio, then their median: a pair's two blocks ran minutes apart at most.
    ratios = {name: round(statistics.median(w[name] / p[name] for w, p in zip(watched, plain)), 4)
              for name in ("wall", "training", "thread", "process")}
    # What the page itself took, as a share of the unwatched epoch's CPU: the seconds in
    # the callback (training thread) and the other threads' extra CPU (worker, server).
    cpu = statistics.median(p["thread"] for p in plain)
    shares = {"callback": round(statistics.median(w["callback"] for w in watched) / cpu, 4),
              "other_threads": round((statistics.median(w["others"] for w in watched)
                                      - statistics.median(p["others"] for p in plain)) / cpu, 4)}
    return {"network": kind, "pairs": pairs, "epochs_per_block": epochs_per_block,
            "ratios": ratios, "shares": shares, "page_requests": requests,
            "without": plain, "with_watch": watched}


def main() -> int:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=HelpFormatter)
    parser.add_argument("--network", choices=["fc", "relu", "both"], default="both")
    parser.add_argument("--pairs", type=int, default=None,
                        help="watched and unwatched blocks of each (default: 16)")
    parser.add_argument("--fraction", type=int, default=20,
                        help="the ReLU network trains on 1/N of each data set")
    parser.add_argument("--epochs-per-block", type=int, default=None,
                        help="epochs per block (default: 1)")
    add_data_arguments(parser)
    args = parser.parse_args()
    mnist = load_mnist(args)
    results = []
    for kind in (("fc", "relu") if args.network == "both" else (args.network,)):
        pairs = args.pairs or 16
        epochs = args.epochs_per_block or 1
        result = measure(kind, mnist, pairs, epochs, args.fraction)
        results.append(result)
        ratios = result["ratios"]
        print(f"{kind}: with --watch / without, the median of {pairs} pairs: wall clock "
              f"{ratios['wall']:.3f}, the loop's epoch time {ratios['training']:.3f}, the training "
              f"thread's CPU {ratios['thread']:.3f}, all threads' CPU {ratios['process']:.3f} "
              f"({result['page_requests']} page requests); the page's own work per epoch: "
              f"{100 * result['shares']['callback']:.2f}% of an epoch's CPU in the callback, "
              f"{100 * result['shares']['other_threads']:.2f}% in other threads", flush=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(run(main))
