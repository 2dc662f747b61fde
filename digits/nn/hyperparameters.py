"""What each hyperparameter may be: one table, one check, one message.

:data:`LIMITS` says, for every setting of a network or a training run, which values
are allowed (scikit-learn's ``_parameter_constraints`` is the model); :func:`check`
tests values against it and raises a :class:`~digits.system.errors.UsageError` whose
message names the setting, says what is allowed and what was given.  The library
(``Network``, :func:`digits.nn.training.sgd`) and the command line (``digits train``)
both call it, the command line naming each setting by its flag::

    check({"eta": 0.0})                       # the learning rate eta must be a positive number, got 0.0
    check({"eta": 0.0}, {"eta": "--eta"})     # --eta must be a positive number, got 0.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from digits.system.errors import UsageError


@dataclass(frozen=True)
class Interval:
    """Numbers from ``low`` to ``high`` (None: no bound); ``whole`` asks for an integer.

    ``closed`` says which ends belong: "both", "left", "right" or "neither".  ``says`` is
    the rule in words, as the message gives it ("at least 1", "in [0, 1)").
    """

    says: str
    low: float | None = None
    high: float | None = None
    closed: str = "both"
    whole: bool = False
    optional: bool = False

    def allows(self, value) -> bool:
        if value is None:
            return self.optional
        if isinstance(value, bool):
            return False
        if self.whole and not isinstance(value, (int, np.integer)):
            return False
        if not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
            return False
        if self.low is not None:
            if value < self.low or (value == self.low and self.closed in ("right", "neither")):
                return False
        if self.high is not None:
            if value > self.high or (value == self.high and self.closed in ("left", "neither")):
                return False
        return True


@dataclass(frozen=True)
class OneOf:
    """One of ``options`` (None among them means the setting may be left out)."""

    options: tuple

    @property
    def says(self) -> str:
        return "one of " + ", ".join(repr(option) for option in self.options if option is not None)

    def allows(self, value) -> bool:
        return value in self.options


SCHEDULES = ("halve",)

#: name -> (what the book calls it, the values allowed).
LIMITS = {
    "epochs": ("epochs", Interval("a whole number of at least 1", low=1, whole=True)),
    "mini_batch_size": ("mini_batch_size", Interval("a whole number of at least 1", low=1, whole=True)),
    "eta": ("the learning rate eta", Interval("a positive number", low=0, closed="right")),
    "lmbda": ("the L2 parameter lmbda", Interval("zero or positive", low=0)),
    "l1": ("the L1 parameter l1", Interval("zero or positive", low=0)),
    "momentum": ("momentum", Interval("in [0, 1)", low=0, high=1, closed="left")),
    "early_stopping_n": ("early_stopping_n", Interval("a whole number >= 0", low=0, whole=True)),
    "schedule": ("the schedule", OneOf((None,) + SCHEDULES)),
    "seed": ("the seed", Interval("a whole number of at least 0", low=0, whole=True, optional=True)),
    "dropout": ("dropout", Interval("a probability in [0, 1)", low=0, high=1, closed="left")),
}

# The command line says "--epochs must be at least 1" where the library says
# "epochs must be a whole number of at least 1": argparse has already made it whole.
_FLAG_WORDS = {"epochs": "at least 1", "mini_batch_size": "at least 1",
               "early_stopping_n": "0 (off) or a number of epochs"}


def allowed(name) -> str:
    """The rule for ``name`` in words."""
    return LIMITS[name][1].says


def check(values: dict, flags: dict | None = None) -> None:
    """Raise UsageError for the first of ``values`` (name -> value) that LIMITS refuses.

    ``flags`` (name -> "--flag") names the settings as the command line does.
    """
    for name, value in values.items():
        what, rule = LIMITS[name]
        if rule.allows(value):
            continue
        if flags and name in flags:
            says = _FLAG_WORDS.get(name, rule.says)
            raise UsageError(f"{flags[name]} must be {says}, got {value}")
        raise UsageError(f"{what} must be {rule.says}, got {value!r}")


def check_choice(what: str, name, choices) -> None:
    """Raise UsageError unless ``name`` is one of ``choices`` (the names of a table):
    "unknown activation 'x'; choose from sigmoid, tanh, relu, softmax"."""
    if name not in choices:
        raise UsageError(f"unknown {what} {name!r}; choose from {', '.join(choices)}")


def check_run(settings: dict, has_validation: bool, flags: dict | None = None) -> None:
    """:func:`check` every setting of a run, then the ones that need each other."""
    check(settings, flags)
    if settings.get("early_stopping_n") and not has_validation:
        raise UsageError("early stopping needs validation data")
    if settings.get("schedule") is not None and not settings.get("early_stopping_n"):
        if flags:
            raise UsageError(f"{flags['schedule']} halve needs {flags['early_stopping_n']} N "
                             "to say when to halve")
        raise UsageError("the halve schedule needs early stopping (no-improvement-in-N) to trigger it")
