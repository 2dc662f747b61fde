"""What the training loop tells the world, and when: callbacks.

The loop of :func:`digits.nn.training.sgd` is short and fixed; everything around it
(the command line's epoch lines and progress bar, checkpoints, the book's printing,
a live page) is a :class:`Callback` with a method for each moment it wants to hear
of, the names of Keras's callbacks.  Adding a watcher never edits the loop.

The moments, in order::

    on_train_begin(run)
        for each epoch:   on_epoch_begin(run)
            for each mini-batch:   (forward, backward, update)
                                   on_batch_end(run)   after every ``every_batches``-th
            (evaluation, early stopping, the eta schedule)
            on_epoch_end(run)
    on_train_end(run)

Each method gets the one :class:`~digits.nn.training.Run` of the training: the
network, the settings, the :class:`~digits.nn.training.History` so far, where the
loop is (``run.epoch``, ``run.batch``), ``run.learning_speeds()`` (chapter 5's
||∂C/∂b^l|| of each layer for the last mini-batch), and ``run.request_stop()``, after
which the loop ends at the end of the current mini-batch as if the run were over: the
epoch cut short is measured and told to ``on_epoch_end`` like the others (with
``run.epoch_finished`` False, so a checkpoint is not written for it), the best
validation epoch's weights are put back where the run keeps them, ``history.stopped``
is True, and ``on_train_end`` follows.

Callbacks are told in the order they were given.  When training raises (its weights
stopped being finite, :class:`~digits.nn.training.Diverged`, or a KeyboardInterrupt)
the epoch is not told to ``on_epoch_end`` and ``on_train_end`` is not called.

A callback must be quick where it is called often: ``on_batch_end`` runs on the hot
path, so a callback that needs it says how often in ``every_batches`` (None: never)
and does its expensive work at most every few seconds.
"""

from __future__ import annotations


class Callback:
    """A watcher of training; override the moments you need (all do nothing here)."""

    #: ``on_batch_end`` is called after every N-th mini-batch of an epoch; None: never.
    every_batches: int | None = None

    def on_train_begin(self, run) -> None:
        """Before the first epoch (of a resumed run: before the first epoch still to do)."""

    def on_epoch_begin(self, run) -> None:
        """Before the first mini-batch of epoch ``run.epoch`` (counted from 1)."""

    def on_batch_end(self, run) -> None:
        """After mini-batch ``run.batch`` (counted from 1) of ``run.batches_per_epoch``."""

    def on_epoch_end(self, run) -> None:
        """After epoch ``run.epoch`` and its evaluation: ``run.history`` holds its numbers."""

    def on_train_end(self, run) -> None:
        """After the last epoch, or a stop; the network holds the weights the run keeps."""
