"""The lines the book's code prints, printed by callbacks of the training loop.

The library's ``Network.SGD`` prints nothing; it tells its callbacks
(:mod:`digits.nn.callbacks`) of each moment of a run.  The book's modules hand it one
of these, so that a Python shell or a notebook shows what the book shows:

* :class:`Chapter1Lines` (``network.py``): ``Epoch 0: 9129 / 10000``, or
  ``Epoch 0 complete`` without test data;
* :class:`Chapter3Lines` (``network2.py``): ``Epoch 0 training complete``, then a
  line for each quantity monitored (``Cost on training data: ...``, ``Accuracy on
  evaluation data: 9345 / 10000``, ...) and a blank line;
* :class:`Chapter6Lines` (``network3.py``): ``Training mini-batch number 1000`` every
  thousand mini-batches, ``Epoch 0: validation accuracy 97.24%``, ``This is the best
  validation accuracy to date.``, ``The corresponding test accuracy is 97.15%``, and
  at the end ``Finished training network.`` with the best validation accuracy, the
  iteration it was reached at and its test accuracy.

Epochs are counted from 0, as the book's code prints them (the engine's
``run.epoch`` counts from 1); iterations are mini-batches counted from 0 over the
whole run.  Any library user can pass one of these to ``Network.SGD(...,
callbacks=[...])``.

An epoch that takes more than five seconds also gets a progress bar
(:class:`EpochProgress`, ``tqdm.auto``): a widget in Jupyter, a line on standard
error in a terminal; it is removed when the epoch ends, before the epoch's lines.
"""

from __future__ import annotations

import sys
import time

from digits.nn.callbacks import Callback


class EpochProgress(Callback):
    """A progress bar over an epoch's mini-batches, shown once the epoch has run ``after`` seconds.

    ``file`` is where the lines go (standard output, looked up when printing, by default).
    """

    every_batches = 25
    after = 5.0

    def __init__(self, file=None):
        self.file = file
        self._bar = None
        self._started = 0.0

    def print_line(self, line=""):
        print(line, file=self.file if self.file is not None else sys.stdout, flush=True)

    def on_epoch_begin(self, run):
        self._started = time.perf_counter()

    def on_batch_end(self, run):
        if self._bar is None:
            if time.perf_counter() - self._started < self.after:
                return
            from tqdm.auto import tqdm

            self._bar = tqdm(total=run.batches_per_epoch, initial=run.batch,
                             desc=f"Epoch {run.epoch - 1}", unit=" mini-batches", leave=False,
                             file=sys.stderr)
        self._bar.update(run.batch - self._bar.n)

    def on_epoch_end(self, run):
        self.close_bar()

    def on_train_end(self, run):
        self.close_bar()

    def close_bar(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class Chapter1Lines(EpochProgress):
    """network.py's line after each epoch: the test data's count of correct answers."""

    def on_epoch_end(self, run):
        super().on_epoch_end(run)
        history, epoch = run.history, run.epoch - 1
        if history.evaluation_accuracy:
            self.print_line(f"Epoch {epoch}: {history.evaluation_accuracy[-1]} / {history.n_evaluation}")
        else:
            self.print_line(f"Epoch {epoch} complete")


class Chapter3Lines(EpochProgress):
    """network2.py's lines after each epoch: one for each quantity monitored, then a blank."""

    def on_epoch_end(self, run):
        super().on_epoch_end(run)
        history = run.history
        self.print_line(f"Epoch {run.epoch - 1} training complete")
        if len(history.training_cost) == run.epoch:
            self.print_line(f"Cost on training data: {history.training_cost[-1]}")
        if len(history.training_accuracy) == run.epoch:
            self.print_line(f"Accuracy on training data: {history.training_accuracy[-1]} / {history.n_training}")
        if len(history.evaluation_cost) == run.epoch:
            self.print_line(f"Cost on evaluation data: {history.evaluation_cost[-1]}")
        if len(history.evaluation_accuracy) == run.epoch:
            self.print_line(f"Accuracy on evaluation data: {history.evaluation_accuracy[-1]} / "
                     f"{history.n_evaluation}")
        self.print_line()


class Chapter6Lines(EpochProgress):
    """network3.py's lines: mini-batch numbers, each epoch's validation accuracy, the best.

    A new best is a validation accuracy higher than every earlier epoch's (the epoch
    whose weights the run keeps); its test accuracy is announced with it.
    """

    every_batches = 1
    report_every = 1000

    def __init__(self, file=None):
        super().__init__(file)
        self.best = None              # (validation fraction, iteration, test fraction or None)

    def on_batch_end(self, run):
        iteration = (run.epoch - 1) * run.batches_per_epoch + run.batch - 1
        if iteration % self.report_every == 0:
            self.close_bar()
            self.print_line(f"Training mini-batch number {iteration}")
        if run.batch % EpochProgress.every_batches == 0:
            super().on_batch_end(run)

    def on_epoch_end(self, run):
        super().on_epoch_end(run)
        history = run.history
        validation = history.validation_accuracy[-1] / history.n_validation
        self.print_line(f"Epoch {run.epoch - 1}: validation accuracy {validation:.2%}")
        if self.best is None or validation > self.best[0]:
            self.print_line("This is the best validation accuracy to date.")
            test = None
            if history.evaluation_accuracy:
                test = history.evaluation_accuracy[-1] / history.n_evaluation
                self.print_line(f"The corresponding test accuracy is {test:.2%}")
            self.best = (validation, run.epoch * run.batches_per_epoch - 1, test)

    def on_train_end(self, run):
        super().on_train_end(run)
        self.print_line("Finished training network.")
        if self.best is None:
            return
        validation, iteration, test = self.best
        self.print_line(f"Best validation accuracy of {validation:.2%} obtained at iteration {iteration}")
        if test is not None:
            self.print_line(f"Corresponding test accuracy of {test:.2%}")
