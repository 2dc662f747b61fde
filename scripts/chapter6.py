"""Chapter 6's runs for ``replicate.py``: long trainings that survive being stopped, and the
ensemble that votes with their networks.

A chapter-6 network trains for minutes (``ch6-fc``) to hours (``ch6-dropout``, on the
expanded data) on a 2-core machine, so each run keeps a checkpoint after every epoch
(:mod:`digits.store.checkpoint`: weights, epoch, random state, history, the best validation
epoch's weights) and goes on from it when it is started again; a resumed run ends with
exactly the numbers of one that was never stopped.  Checkpoints and the trained networks
live in a :class:`Store`, a folder that git ignores; the numbers of each finished run go
into the results kept in git (``replicate.py`` writes those).

The book reports every chapter-6 network the same way: the test accuracy at the epoch of
best validation accuracy.  :func:`run_layers` measures both accuracies after every epoch
and keeps the weights of that epoch, as ``digits train --layers`` does.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from digits.store import checkpoint as checkpoints
from digits.system.errors import UsageError

# The ensemble's five networks are ch6-dropout's runs with these seeds.
ENSEMBLE_SEEDS = (1, 2, 3, 4, 5)

# Seconds per multiply-add of one example's pass forward, and per mini-batch, fitted to the
# runs kept in replication/ on the 2-core development machine (ch6-conv1 7.0, ch6-conv2
# 11.4, ch6-expanded 56.7 and ch6-dropout 178 s per epoch, each run on one core).  A
# convolution's multiply-adds come cheap (one large product per mini-batch); a fully
# connected layer's cost more than twice as much, as each mini-batch of 10 reads its whole
# weight matrix three times.  Evaluating an example costs a third of training on it (one
# pass forward instead of forward and back twice).
SECONDS_PER_CONV_MULTIPLY_ADD = 4.0e-11
SECONDS_PER_FC_MULTIPLY_ADD = 9.0e-11
SECONDS_PER_MINI_BATCH = 3.0e-5
# Two runs at once, one on each core, share the memory bus and the cache: each epoch then
# takes longer than alone (ch6-relu 9.8 s per epoch alone, 11.4-12.6 s beside another run;
# ch6-dropout 178 s, 191-195 s beside ch6-extra-fc, which itself hardly slowed: 62 s).
SHARING_SLOWDOWN = 1.15


class Store:
    """Where a chapter-6 run keeps its checkpoint and its trained network (git ignores it),
    and where the ensemble finds its members' votes: in the results kept in git
    (``kept``, the folder of ``replication/<id>.json``), or else from their networks."""

    def __init__(self, folder, kept=None):
        self.folder = Path(folder)
        self.kept = Path(kept) if kept is not None else None

    def __repr__(self) -> str:
        return f"Store({self.folder}, kept={self.kept})"

    def kept_votes(self, experiment, seed, quick):
        """``(answers, shares)`` of run ``seed`` of ``experiment`` on the test images, as
        kept in git with its result (see :func:`votes_of`), or None."""
        if self.kept is None:
            return None
        try:
            saved = json.loads((self.kept / f"{experiment}.json").read_text())
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
        return (self.kept_votes(experiment, seed, quick) is not None
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
    from digits.nn.layer_spec import parse_layers
    from digits.nn.network import Network

    layers = parse_layers(settings["layers"], activation=settings["activation"],
                          dropout=settings["dropout"], init=settings["init"])
    return Network(layers, seed=seed, dtype=np.float32)


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


def resume_state(path, run_settings, warn):
    """The checkpoint at ``path`` if it is one of this run; None (and a warning) if it is
    unreadable or of other settings (the table changed since): the run starts afresh."""
    try:
        return checkpoints.load(path, run_settings)
    except checkpoints.CheckpointError:
        warn(f"not going on from {path}: it is unreadable, or the checkpoint of other settings "
             f"(the table has changed since); starting the run afresh")
        return None


def votes_of(network, test) -> dict:
    """What an ensemble needs of ``network``: its answer on each test image, as a string
    of digits, and how sure it was (its output's share, to six decimals); some 80 kB of
    JSON, kept with the run's result so that the vote can be counted on any clone."""
    from digits.nn.ensemble import answers_and_shares

    answers, shares = answers_and_shares(network.outputs(test))
    return {"answers": "".join(map(str, answers.tolist())),
            "shares": [round(share, 6) for share in shares.tolist()]}


def run_layers(task, training, validation, test, store, progress=None, tell=None, warn=print,
               keep_votes=False):
    """Train one chapter-6 network, from its checkpoint if it has one; return its numbers.

    ``progress(work)`` is told the epochs done (in epochs of 50,000 images), ``tell(line)``
    gets one line per epoch.  The trained network (the best validation epoch's weights)
    is saved in ``store``, for the ensemble and the figures; the checkpoint is removed
    once the result is complete.  With ``keep_votes`` (an ensemble's member), the result
    also holds the network's votes on the test images (:func:`votes_of`).
    """
    from digits.store import model_file

    settings = task.settings
    network = build_network(settings, task.seed)
    path = store.checkpoint(task)
    run_settings = {"experiment": task.experiment, "seed": task.seed, "quick": task.quick,
                    "settings": settings}
    resume = resume_state(path, run_settings, warn)
    epochs = settings["epochs"]
    if resume is not None and tell is not None:
        tell(f"{task.key}: going on from its checkpoint, {resume.epoch} of {epochs} epochs done")
    started = time.perf_counter()
    first_epoch = resume.epoch if resume is not None else 0
    per_epoch_work = task.work / epochs

    def after_epoch(epoch, history):
        if progress is not None:
            progress(per_epoch_work)
        if tell is not None:
            tell(epoch_line(task, epoch, history, (time.perf_counter() - started) / (epoch - first_epoch)))

    def keep(state):
        checkpoints.save(path, state, run_settings)

    history = network.SGD(training, epochs, settings["mini_batch_size"], settings["eta"],
                          lmbda=settings["lmbda"], validation_data=validation, evaluation_data=test,
                          monitor_validation_accuracy=True, keep_best_validation=True,
                          callback=after_epoch, checkpoint=keep, resume=resume)
    best = history.best_validation_epoch()
    result = {
        "n_train": len(training), "n_validation": history.n_validation, "n_test": history.n_evaluation,
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
    if keep_votes:
        result["test_votes"] = votes_of(network, test)
    first = network.layers[0]
    if first.weights.ndim == 4:            # a conv-pool layer: its filters, for the figure
        result["first_filters"] = first.weights[:, 0].tolist()
    model = store.model(task.experiment, task.seed)
    model_file.save(network, model, {"experiment": task.experiment, "seed": task.seed,
                                     "settings": settings, "test_accuracy": result["test"] / 100},
                    history)
    result["model"] = model.name
    return result


def finished(task, store):
    """Remove a run's checkpoint once its result is saved for good."""
    store.checkpoint(task).unlink(missing_ok=True)


def epoch_line(task, epoch, history, seconds_per_epoch) -> str:
    """``ch6-conv1/-/seed 1: epoch 5 of 60, validation 98.31%; best so far epoch 5: test
    98.40%; 9.8 s per epoch, about 9 min left``"""
    from digits.app.report import percent

    best = history.best_validation_epoch()
    left = (task.settings["epochs"] - epoch) * seconds_per_epoch
    return (f"{task.key}: epoch {epoch} of {task.settings['epochs']}, validation "
            f"{percent(history.validation_accuracy[-1], history.n_validation)}; best so far epoch {best}: "
            f"test {percent(history.evaluation_accuracy[best - 1], history.n_evaluation)}; "
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
        votes = store.kept_votes(settings["members"], seed, task.quick)
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
