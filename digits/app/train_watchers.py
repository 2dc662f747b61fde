"""What ``digits train`` shows while it trains: callbacks of the training loop.

Each is a :class:`~digits.nn.callbacks.Callback` (see that module for the moments):

* :class:`ProgressBar`: the mini-batches of the epoch, on standard error (tqdm);
* :class:`EpochLines`: the line after each epoch (:mod:`digits.app.report`), and the
  redrawn plot with ``--plot``;
* :class:`StallNote`: when the accuracy has not moved for several epochs, what the
  book says about it;
* :class:`CtrlCStops`: the first Ctrl-C ends the run after the current mini-batch (the
  model is then saved as at the end of a run); a second one aborts at once.
"""

from __future__ import annotations

import signal
import threading

from digits.app.report import chapter6_line, epoch_line
from digits.app.terminal import notice, show
from digits.nn.callbacks import Callback


class ProgressBar(Callback):
    """A tqdm bar of the epoch's mini-batches, cleared at the end of the epoch."""

    every_batches = 1

    def __init__(self):
        self.bar = None

    def on_epoch_begin(self, run):
        from tqdm.auto import tqdm
        self.bar = tqdm(total=run.batches_per_epoch, desc="  mini-batches", unit="batch",
                        leave=False, disable=None, mininterval=0.25)   # None: off when not a terminal

    def on_batch_end(self, run):
        self.bar.update(1)

    def on_epoch_end(self, run):
        self.bar.close()

    on_train_end = on_epoch_end


class EpochLines(Callback):
    """``Epoch 1: 9129 / 10000 (91.29%, 0.31 s)`` after each epoch, and the plot redrawn.

    ``chapter6`` prints the book's chapter-6 line instead (validation accuracy, and the
    test accuracy at the best validation epoch); ``plot`` (a path, or None) is the PNG
    of the monitored curves, titled ``title``.
    """

    def __init__(self, chapter6, evaluation_name, plot=None, title=""):
        self.chapter6, self.evaluation_name, self.plot, self.title = chapter6, evaluation_name, plot, title

    def on_epoch_end(self, run):
        history = run.history
        if self.chapter6:
            show(chapter6_line(run.epoch, history))
        else:
            show(epoch_line(run.epoch, history, self.evaluation_name))
        if self.plot is not None:
            from digits.app.plots import save_history_plot
            save_history_plot(history, self.plot, title=self.title, evaluation_name=self.evaluation_name)


class StallNote(Callback):
    """Says once, when the watched accuracy has stayed within ``spread`` (a fraction) for
    ``patience`` epochs while under ``below``, what chapter 3 says of such plateaus.

    It speaks again only after the accuracy has moved.  ``eta`` and ``cost`` are the
    run's, quoted in the advice.
    """

    def __init__(self, eta, cost, patience=5, spread=0.005, below=0.9):
        self.eta, self.cost = eta, cost
        self.patience, self.spread, self.below = patience, spread, below
        self.said = False

    def on_epoch_end(self, run):
        fractions = watched_accuracy(run.history)
        if len(fractions) <= self.patience:
            return
        window = fractions[-self.patience - 1:]
        stalled = max(window) - min(window) < self.spread and max(window) < self.below
        if stalled and not self.said:
            for line in stall_advice(self.patience, min(window), max(window), self.eta, self.cost):
                show(line)
        self.said = stalled


def watched_accuracy(history) -> list:
    """The accuracies the epoch line leads with, as fractions (validation for chapter 6)."""
    if history.evaluation_accuracy and not history.validation_accuracy:
        return [correct / history.n_evaluation for correct in history.evaluation_accuracy]
    if history.validation_accuracy:
        return [correct / history.n_validation for correct in history.validation_accuracy]
    return []


def stall_advice(epochs, low, high, eta, cost) -> list:
    """What the book says when the accuracy sits still (chapter 3: saturation; choosing eta)."""
    lines = [f"Note: the accuracy has stayed between {100 * low:.2f}% and {100 * high:.2f}% for "
             f"{epochs} epochs. The book (chapter 3) names two usual causes:"]
    if cost == "quadratic":
        lines.append("  saturated neurons: a sigmoid output near 0 or 1 has σ'(z) near 0, so with the "
                     "quadratic cost it learns slowly even when badly wrong; the cross-entropy cost "
                     "(--cost cross-entropy) removes that σ'(z), and --init default's smaller weights "
                     "keep hidden neurons out of saturation;")
    else:
        lines.append("  saturated hidden neurons: large weights put σ(z) near 0 or 1, where σ'(z) is near "
                     "0 and they learn slowly; --init default's N(0, 1/n_in) weights start them unsaturated;")
    lines.append(f"  a learning rate too large: eta = {eta:g} may overshoot the valley, so the cost "
                 "oscillates instead of falling; try eta smaller by a factor of 2 to 10 (the book: 3.0 "
                 "with the quadratic cost, 0.5 with cross-entropy, 0.03-0.1 for chapter 6).")
    return lines


class CtrlCStops(Callback):
    """Ctrl-C (SIGINT) asks the run to stop after the current mini-batch; a second Ctrl-C
    raises KeyboardInterrupt at once.  The handler is put back at the end of training and
    by :meth:`close` (call it in a ``finally``)."""

    def __init__(self):
        self.previous, self.run, self.pressed = None, None, False

    def on_train_begin(self, run):
        self.run = run
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._interrupted)

    def _interrupted(self, number, frame):
        if self.pressed:
            raise KeyboardInterrupt
        self.pressed = True
        self.run.request_stop()
        notice("\nCtrl-C: stopping after this mini-batch and saving the network "
               "(press Ctrl-C again to stop at once, saving nothing)")

    def on_train_end(self, run):
        self.close()

    def close(self):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None
