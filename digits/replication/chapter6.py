"""Chapter 6's runs: long trainings that survive being stopped, and the ensemble that votes
with their networks (kinds ``layers`` and ``ensemble``).

A chapter-6 network trains for minutes (``ch6-fc``) to hours (``ch6-dropout``, on the
expanded data) on a 2-core machine, so each run keeps a checkpoint after every epoch
(:mod:`digits.store.checkpoint`: weights, epoch, random state, history, the best validation
epoch's weights) and goes on from it when it is started again; a resumed run ends with
exactly the numbers of one that was never stopped.  Checkpoints and the trained networks
live in a :class:`Store`, a folder that git ignores; the numbers of each finished run go
into the results kept in git (:func:`digits.replication.results.save_run_in_git`).

The book reports every chapter-6 network the same way: the test accuracy at the epoch of
best validation accuracy.  :func:`run_layers` measures both accuracies after every epoch
and keeps the weights of that epoch, as ``digits train --layers`` does.

The time estimates price one example's multiply-adds (convolutions and fully connected
layers apart) and each mini-batch, fitted to the runs kept in ``replication/``
(docs/speed-notes.md has the measurements).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from digits.app.terminal import notice
from digits.nn.callbacks import Callback
from digits.store import checkpoint as checkpoints
from digits.system.errors import UsageError

# Seconds per multiply-add of one example's pass forward (a convolution's come cheap, one
# large product per mini-batch; a fully connected layer's dearer), and per mini-batch.
SECONDS_PER_CONV_MULTIPLY_ADD = 4.0e-11
SECONDS_PER_FC_MULTIPLY_ADD = 9.0e-11
SECONDS_PER_MINI_BATCH = 3.0e-5
# Two runs at once, one on each core, share the memory bus and the cache: each epoch then
# takes about this much longer than alone.
SHARING_SLOWDOWN = 1.15
# Test and validation images evaluated after each epoch (a --quick run: twice QUICK_EVALUATION).
EVALUATED_IMAGES = 20_000


class Store:
    """Where a chapter-6 run keeps its checkpoint and its trained network (git ignores it),
    and where the ensemble finds its members' votes: in the results kept in git
    (``git_results``, the folder of ``replication/<id>.json``), or else from their networks."""

    def __init__(self, folder, git_results=None):
        self.folder = Path(folder)
        self.git_results = Path(git_results) if git_results is not None else None

    def __repr__(self) -> str:
        return f"Store({self.folder}, git_results={self.git_results})"

    def votes_in_git(self, experiment, seed, quick):
        """``(answers, shares)`` of run ``seed`` of ``experiment`` on the test images, as
        kept in git with its result (see :func:`votes_of`), or None."""
        if self.git_results is None:
            return None
        try:
            saved = json.loads((self.git_results / f"{experiment}.json").read_text())
            if saved.get("quick") != quick:
                return None
            for variant in saved["variants"]:
                for run in variant["runs"]:
                    if run["seed"] == seed and "test_votes" in run:
                        votes = run["test_votes"]
                        answers = np.frombuffer(votes["answers"].encode("ascii"), np.uint8) - ord("0")
                        shares = np.asarray(votes["shares"], dtype=np.float64)
                        if answers.shape == shares.shape and answers.max(initial=0) <= 9:
                            return answers.astype(np.intp), shares
        except (OSError, ValueError, KeyError, TypeError, AttributeError, UnicodeError):
            return None     # not a result this script wrote: the network is asked instead
        return None

    def has_votes(self, experiment, seed, quick) -> bool:
        """Whether the ensemble can count run ``seed`` of ``experiment``'s votes."""
        return (self.votes_in_git(experiment, seed, quick) is not None
                or self.model(experiment, seed).exists())

    def checkpoint(self, task) -> Path:
        return self.folder / "checkpoints" / f"{task.experiment}-seed{task.seed}.ckpt.npz"

    def model(self, experiment, seed) -> Path:
        return self.folder / "models" / f"{experiment}-seed{seed}.npz"

    def prepare(self):
        for name in ("checkpoints", "models"):
            (self.folder / name).mkdir(parents=True, exist_ok=True)


def build_network(settings, seed):
    """The network of one run: the layers of ``settings`` (digits train --layers syntax)."""
    from digits.nn.layer_spec import chapter6_network

    return chapter6_network(settings["layers"], activation=settings["activation"],
                            dropout=settings["dropout"], init=settings["init"], seed=seed,
                            dtype=np.float32)


def multiply_adds(settings) -> int:
    """Multiply-adds of one example's pass forward through the network of ``settings``."""
    return sum(multiply_adds_by_kind(settings))


def multiply_adds_by_kind(settings) -> tuple:
    """``(convolutional, fully connected)``: the multiply-adds of one example's pass forward
    through the network of ``settings``, in its conv-pool layers and in the others."""
    from digits.nn.layer_spec import parse_layers
    from digits.nn.layers import ConvPool

    convolutional = fully_connected = 0
    for layer in parse_layers(settings["layers"], activation=settings["activation"], init="zero"):
        if isinstance(layer, ConvPool):
            height, width = layer.conv_shape
            convolutional += (layer.filters * layer.input_shape[0] * layer.filter_size ** 2
                              * height * width)
        else:
            fully_connected += layer.n_in * layer.n_out
    return convolutional, fully_connected


def estimated_seconds(settings, n_train, n_evaluated) -> float:
    """About how long one epoch takes on one core of an idle 2-core machine: training on
    ``n_train`` examples (a pass forward and two back) and evaluating ``n_evaluated``."""
    convolutional, fully_connected = multiply_adds_by_kind(settings)
    per_example = (convolutional * SECONDS_PER_CONV_MULTIPLY_ADD
                   + fully_connected * SECONDS_PER_FC_MULTIPLY_ADD)
    batches = n_train / settings["mini_batch_size"]
    return 3 * per_example * n_train + SECONDS_PER_MINI_BATCH * batches + per_example * n_evaluated


def resume_state(path, run_settings, report_warning):
    """The checkpoint at ``path`` if it is one of this run; None (and a warning) if it is
    unreadable or of other settings (the table changed since): the run starts afresh."""
    try:
        return checkpoints.load(path, run_settings)
    except checkpoints.CheckpointError:
        report_warning(f"not going on from {path}: it is unreadable, or the checkpoint of other "
                       f"settings (the table has changed since); starting the run afresh")
        return None


def votes_of(network, test) -> dict:
    """What an ensemble needs of ``network``: its answer on each test image, as a string
    of digits, and how sure it was (its output's share, to six decimals); some 80 kB of
    JSON, kept with the run's result so that the vote can be counted on any clone."""
    from digits.nn.ensemble import answers_and_shares

    answers, shares = answers_and_shares(network.outputs(test))
    return {"answers": "".join(map(str, answers.tolist())),
            "shares": [round(share, 6) for share in shares.tolist()]}


def notice_warning(message):
    """A warning about a run, on standard error."""
    notice(f"replicate.py: warning: {message}")


def run_layers(task, training, validation, test, store, report_work=None, report_line=None,
               report_warning=notice_warning, with_votes=False):
    """Train one chapter-6 network, from its checkpoint if it has one; return its numbers.

    ``report_work(work)`` is told the epochs done (in epochs of 50,000 images),
    ``report_line(line)`` gets one line per epoch.  The trained network (the best
    validation epoch's weights) is saved in ``store``, for the ensemble and the figures;
    the checkpoint is removed once the result is saved in git (:func:`remove_checkpoint`).
    With ``with_votes`` (an ensemble's member), the result also holds the network's votes
    on the test images (:func:`votes_of`).
    """
    settings = task.settings
    network = build_network(settings, task.seed)
    path = store.checkpoint(task)
    run_settings = {"experiment": task.experiment, "seed": task.seed, "quick": task.quick,
                    "settings": settings}
    resume = resume_state(path, run_settings, report_warning)
    epochs = settings["epochs"]
    if resume is not None and report_line is not None:
        report_line(f"{task.key}: going on from its checkpoint, {resume.epoch} of {epochs} epochs done")
    first_epoch = resume.epoch if resume is not None else 0
    # The checkpoint first: a run stopped after an epoch's line has that epoch saved.
    callbacks = [checkpoints.CheckpointWriter(path, run_settings),
                 EpochReport(task, first_epoch, report_work, report_line)]
    history = network.SGD(training, epochs, settings["mini_batch_size"], settings["eta"],
                          lmbda=settings["lmbda"], validation_data=validation, evaluation_data=test,
                          monitor_validation_accuracy=True, keep_best_validation=True,
                          callbacks=callbacks, resume=resume)
    result = layers_result(history, len(training), first_epoch)
    if with_votes:
        result["test_votes"] = votes_of(network, test)
    first = network.layers[0]
    if first.weights.ndim == 4:            # a conv-pool layer: its filters, for the figure
        result["first_filters"] = first.weights[:, 0].tolist()      # (filters, 5, 5)
    result["model"] = save_network(task, network, history, store, result["test"]).name
    return result


class EpochReport(Callback):
    """After each epoch of a chapter-6 run: its work to ``report_work``, its line
    (:func:`epoch_line`) to ``report_line`` (either may be None)."""

    def __init__(self, task, first_epoch, report_work, report_line):
        self.task, self.first_epoch = task, first_epoch
        self.report_work, self.report_line = report_work, report_line
        self.per_epoch_work = task.epochs_of_work / task.settings["epochs"]
        self.started = time.perf_counter()

    def on_epoch_end(self, run):
        if self.report_work is not None:
            self.report_work(self.per_epoch_work)
        if self.report_line is not None:
            seconds_per_epoch = (time.perf_counter() - self.started) / (run.epoch - self.first_epoch)
            self.report_line(epoch_line(self.task, run.epoch, run.history, seconds_per_epoch))


def layers_result(history, n_train, first_epoch) -> dict:
    """The numbers of a finished chapter-6 run, from its history: the test accuracy at the
    epoch of best validation accuracy (``test``), and what the report and figures show."""
    best = history.best_validation_epoch()
    return {
        "n_train": n_train, "n_validation": history.n_validation, "n_test": history.n_evaluation,
        "epochs_run": history.epochs, "best_validation_epoch": best,
        "validation": 100 * history.validation_accuracy[best - 1] / history.n_validation,
        "test": 100 * history.evaluation_accuracy[best - 1] / history.n_evaluation,
        "final": 100 * history.evaluation_accuracy[-1] / history.n_evaluation,
        "training_seconds": float(sum(history.seconds)),
        "seconds_per_epoch": float(np.mean(history.seconds)),
        "resumed_at_epoch": first_epoch or None,
        # Training time of the epochs before a resume, done by an earlier process.
        "earlier_seconds": float(sum(history.seconds[:first_epoch])),
        "history": {key: value for key, value in history.to_dict().items() if key != "eta"},
    }


def save_network(task, network, history, store, test_percent) -> Path:
    """Save the trained network of ``task`` in ``store`` (for the ensemble and the figures)."""
    from digits.store import model_file

    model = store.model(task.experiment, task.seed)
    model_file.save(network, model, {"experiment": task.experiment, "seed": task.seed,
                                     "settings": task.settings, "test_accuracy": test_percent / 100},
                    history)
    return model


def remove_checkpoint(task, store):
    """Remove a run's checkpoint once its result is saved for good."""
    store.checkpoint(task).unlink(missing_ok=True)


def epoch_line(task, epoch, history, seconds_per_epoch) -> str:
    """``ch6-conv1/-/seed 1: epoch 5 of 60, validation 98.31%; best so far epoch 5: test
    98.40%; 9.8 s per epoch, about 9 min left``"""
    from digits.app.report import best_so_far, percent

    left = (task.settings["epochs"] - epoch) * seconds_per_epoch
    return (f"{task.key}: epoch {epoch} of {task.settings['epochs']}, validation "
            f"{percent(history.validation_accuracy[-1], history.n_validation)}; "
            f"{best_so_far(history, validation=False)}; "
            f"{seconds_per_epoch:.1f} s per epoch, about {duration(left)} left")


def duration(seconds) -> str:
    """``40 s``, ``12 min``, ``3.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def run_ensemble(task, test, store) -> dict:
    """The book's last step: the networks of ``task.settings["members"]`` (one per seed)
    vote on every test image (:func:`digits.nn.ensemble.vote_answers`), each with the votes
    kept with its result, or else with its network's outputs."""
    from digits.store import model_file
    from digits.nn.ensemble import answers_and_shares, vote_answers

    settings = task.settings
    answers, shares, members = [], [], []
    for seed in settings["seeds"]:
        votes = store.votes_in_git(settings["members"], seed, task.quick)
        if votes is None:
            path = store.model(settings["members"], seed)
            if not path.exists():
                raise UsageError(f"{task.experiment} needs the votes of {settings['members']} seed "
                                 f"{seed}, kept with its result, or its network {path}; neither is "
                                 f"there: rerun it with --only {settings['members']} --force")
            network, _ = model_file.load(path)
            votes = answers_and_shares(network.outputs(test))
        answers.append(votes[0])
        shares.append(votes[1])
        members.append({"seed": seed, "test": 100 * float(np.mean(votes[0] == test.labels))})
    voted = vote_answers(answers, shares)
    wrong = np.flatnonzero(voted != test.labels)
    correct = len(test) - len(wrong)
    return {"n_test": len(test), "correct": correct, "final": 100 * correct / len(test),
            "members": members,
            "misses": [{"index": int(i), "label": int(test.labels[i]), "answer": int(voted[i])}
                       for i in wrong]}


def waiting_for(task, planned, store) -> list:
    """The member seeds an ensemble ``task`` lacks: neither trained yet nor among ``planned``."""
    members = task.settings["members"]
    coming = {t.seed for t in planned if t.experiment == members}
    return [seed for seed in task.settings["seeds"]
            if seed not in coming and not store.has_votes(members, seed, task.quick)]


def checkpoint_epoch(store, task):
    """The epochs a chapter-6 run's checkpoint holds (0 if it has none or it is unreadable)."""
    import zipfile

    path = store.checkpoint(task)
    if not path.exists():
        return 0
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["metadata"]))
        same = meta.get("settings", {}).get("settings") == json.loads(json.dumps(task.settings))
        return int(meta["epoch"]) if same else 0
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return 0


# -- the two kinds (digits.replication.kinds) ------------------------------------------------

def run_layers_task(task, context) -> dict:
    """Kind ``layers``: one chapter-6 network (:func:`run_layers`) on the context's data."""
    from digits.replication.book_runs import training_data
    from digits.replication.table import ensemble_members

    settings = task.settings
    examples = training_data(context.training[:settings["n_train"]], settings, context.expanded)
    return run_layers(task, examples, context.validation, context.test, context.store,
                      context.report_work, context.report_line,
                      with_votes=task.experiment in ensemble_members())


def run_ensemble_task(task, context) -> dict:
    """Kind ``ensemble``: the vote of the networks of ``members`` (:func:`run_ensemble`)."""
    return run_ensemble(task, context.test, context.store)


def layers_seconds(task) -> float:
    """About how long a ``layers`` run takes on one core of an idle 2-core machine."""
    from digits.replication.table import QUICK_EVALUATION

    evaluated = QUICK_EVALUATION * 2 if task.quick else EVALUATED_IMAGES
    return task.settings["epochs"] * estimated_seconds(task.settings, task.examples_per_epoch, evaluated)
