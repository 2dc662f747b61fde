"""The kinds of run, and one run of any kind: a :class:`Task`.

Every variant's settings name their ``kind``; :data:`KINDS` says how each kind runs
(a function ``run(task, context) -> dict`` of plain numbers), about how long a run
takes (``estimated_seconds(task)``, to schedule the longest first and to say before a
run how long it will take) and whether it trains for epochs (counted by the progress
bar, shrunk by ``--quick``):

    random, darkness, svm   chapter 1's baselines        (digits.replication.baselines)
    sgd, speed              chapters 1, 3 and 5          (digits.replication.book_runs)
    layers, ensemble        chapter 6                    (digits.replication.chapter6)
    backprop-speed, matrix  chapter 2                    (digits.replication.chapter2_speed, chapter2_matrix)
    construction, trained   chapter 4                    (digits.replication.chapter4_universality)

A new kind is one entry: ``register_kind("name", Kind(run=..., estimated_seconds=...))``
from the module that defines it, imported here.  :func:`run_task` does one task in the
process it is called in, with a :class:`RunContext` holding the data and where to report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from digits.replication import (baselines, book_runs, chapter2_matrix, chapter2_speed,
                                chapter4_universality, chapter6)
from digits.replication.table import (
    EXPERIMENTS, FULL_TRAINING_SIZE, QUICK_EPOCHS, QUICK_EVALUATION, QUICK_TRAINING_SIZE)
from digits.system.errors import UsageError


@dataclass(frozen=True)
class Kind:
    """How runs of one kind run."""

    run: Callable            # run(task, context) -> dict of plain numbers
    estimated_seconds: Callable = lambda task: 0.1     # on one core of an idle 2-core machine
    trains: bool = False     # whether its settings have ``epochs`` and ``n_train`` (of 50,000 images)
    quick: Callable | None = None    # quick(settings) -> the settings at --quick size, if not ``trains``


KINDS = {
    "random": Kind(baselines.run_random),
    "darkness": Kind(baselines.run_darkness),
    "svm": Kind(baselines.run_svm, baselines.svm_seconds),
    "sgd": Kind(book_runs.run_sgd, book_runs.estimated_seconds, trains=True),
    "speed": Kind(book_runs.run_speed, book_runs.estimated_seconds, trains=True),
    "layers": Kind(chapter6.run_layers_task, chapter6.layers_seconds, trains=True),
    "ensemble": Kind(chapter6.run_ensemble_task),
    "backprop-speed": Kind(chapter2_speed.run_backprop_speed, chapter2_speed.speed_seconds,
                           quick=chapter2_speed.quick_speed),
    "matrix": Kind(chapter2_matrix.run_matrix, lambda task: 3.0, quick=chapter2_speed.quick_matrix),
    "construction": Kind(chapter4_universality.run_construction, lambda task: 0.5),
    "trained": Kind(chapter4_universality.run_trained, lambda task: 1.5, quick=chapter4_universality.quick_trained),
}


def register_kind(name: str, kind: Kind) -> None:
    """Add a kind of run (a row of the table may then use ``kind=name`` in its settings)."""
    if name in KINDS:
        raise ValueError(f"there is already a kind of run called {name!r}")
    KINDS[name] = kind


@dataclass
class Task:
    """One run: an experiment's variant with one seed, in full or in --quick size."""

    experiment: str
    variant: str
    seed: int
    settings: dict
    quick: bool = False

    @property
    def key(self) -> str:
        return f"{self.experiment}/{self.variant or '-'}/seed {self.seed}"

    @property
    def kind(self) -> Kind:
        try:
            return KINDS[self.settings["kind"]]
        except KeyError:
            raise UsageError(f"unknown kind of run {self.settings['kind']!r}") from None

    @property
    def epochs_of_work(self) -> float:
        """Training work in epochs of 50,000 images (what the progress bar counts)."""
        if not self.kind.trains:
            return 0.0
        return self.settings["epochs"] * self.examples_per_epoch / FULL_TRAINING_SIZE

    @property
    def examples_per_epoch(self) -> int:
        """The training examples of one epoch (five times the images on expanded data)."""
        return self.settings["n_train"] * (5 if self.settings.get("expanded") else 1)

    @property
    def estimated_seconds(self) -> float:
        """A rough estimate of the run's seconds on one core."""
        return self.kind.estimated_seconds(self)


@dataclass
class RunContext:
    """What a run needs besides its task: the data, and where to report as it goes.

    ``report_work(epochs)`` is told the work done since it was last called (in epochs of
    50,000 images), ``report_line(text)`` gets the lines a long run says as it goes (chapter
    6's epoch lines); either may be None.  ``expanded`` holds the expanded training sets
    made so far in this process (by size), ``store`` chapter 6's checkpoints and networks.
    """

    training: object
    validation: object
    test: object
    store: object = None
    report_work: Callable | None = None
    report_line: Callable | None = None
    expanded: dict = field(default_factory=dict)


def quick_settings(settings: dict) -> dict:
    """The same run at a tiny size, for ``--quick``: few images, few epochs."""
    settings = dict(settings)
    if settings["kind"] == "svm":
        settings["n_train"] = min(settings["n_train"], QUICK_TRAINING_SIZE)
    if KINDS[settings["kind"]].trains:
        settings["n_train"] = min(settings["n_train"], QUICK_TRAINING_SIZE)
        settings["epochs"] = min(settings["epochs"], QUICK_EPOCHS)
        settings["mini_batch_size"] = min(settings["mini_batch_size"], settings["n_train"])
        if settings.get("early_stopping_n"):
            settings["early_stopping_n"] = 1
    if KINDS[settings["kind"]].quick is not None:
        settings = KINDS[settings["kind"]].quick(settings)
    return settings


def tasks_for(experiment_id: str, quick: bool = False) -> list:
    """The runs of one experiment: every variant with every seed."""
    experiment = EXPERIMENTS[experiment_id]
    tasks = []
    for variant, settings in experiment.variants.items():
        if quick:
            settings = quick_settings(settings)
            if experiment_id == "ch3-more-data":
                # Keep the sizes distinct at quick size: 1/50 of the book's.
                settings["n_train"] = max(2, int(variant.split()[0]) // 50)
                settings["mini_batch_size"] = min(10, settings["n_train"])
        for seed in experiment.seeds:
            tasks.append(Task(experiment_id, variant, seed, settings, quick))
    return tasks


def run_task(task: Task, context: RunContext) -> dict:
    """Run one task here; return its numbers (plain JSON-able values) with its ``seed``
    and the ``seconds`` it took (a chapter-6 run resumed from a checkpoint also counts
    the epochs trained before)."""
    started = time.perf_counter()
    result = task.kind.run(task, context)
    result["seed"] = task.seed
    result["seconds"] = time.perf_counter() - started + result.get("earlier_seconds", 0.0)
    return plain_numbers(result)


def plain_numbers(value):
    """``value`` with numpy numbers turned into Python ones, for JSON."""
    if isinstance(value, dict):
        return {key: plain_numbers(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_numbers(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def load_experiment_data(data_dir, quick=False):
    """MNIST as ``(training, validation, test)``; with ``quick`` only the first
    QUICK_EVALUATION validation and test images (runs slice their own training data)."""
    from digits.data.mnist import load_data

    training, validation, test = load_data(data_dir)
    if quick:
        validation, test = validation[:QUICK_EVALUATION], test[:QUICK_EVALUATION]
    return training, validation, test
