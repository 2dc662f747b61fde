"""Chapter 4's visual proof of universality, measured: rows ``ch4-construction`` and ``ch4-trained``.

* ``construction``: the network built by hand (:mod:`digits.nn.universality`) with N
  bumps, for every N in ``bumps`` and every step weight w in ``step_weights``, and its
  average absolute deviation from the chapter's f over a grid of 10,001 points; nothing
  is trained, so one run says it all.
* ``trained``: a ``[1, hidden, 1]`` network trained by the library's SGD on samples of
  f, its deviation on the same grid, and the construction's with as many hidden
  neurons (hidden / 2 bumps) to compare with; its output on a coarser grid is kept for
  the figure.

The checks: the construction's deviation falls roughly as 1/N (the slope of log
deviation against log N, for the chapter's w = 1000, lies between -1.5 and -0.7), and
smoother steps approximate worse; a trained network of the same size comes at least
as close as the construction.  The figures are :mod:`digits.replication.chapter4_figures`.
"""

from __future__ import annotations

import time

import numpy as np

from digits.nn import universality
from digits.replication.checks import Claim, runs, spread

BUMPS = (5, 10, 20, 50, 100)
STEP_WEIGHTS = (10.0, 100.0, 1000.0)
TRAINED_HIDDEN = (10, 20)
CURVE_POINTS = 201            # the trained network's output kept for the figure
SLOPE_RANGE = (-1.5, -0.7)    # "roughly as 1/N": the log-log slope of deviation against N


def construction_settings(bumps=BUMPS, step_weights=STEP_WEIGHTS) -> dict:
    return dict(kind="construction", bumps=list(bumps), step_weights=list(step_weights))


def trained_settings(hidden) -> dict:
    return dict(kind="trained", hidden=hidden, **universality.TRAINING)


def quick_trained(settings) -> dict:
    """``--quick``: 20 epochs instead of 1,000 (the construction takes a second anyway)."""
    return dict(settings, epochs=min(settings["epochs"], 20))


def run_construction(task, context=None) -> dict:
    """Average deviation of the construction for each (w, N): ``deviation[str(w)][i]`` for bumps[i]."""
    settings = task.settings
    deviation = {}
    for w in settings["step_weights"]:
        deviation[f"{w:g}"] = [universality.average_deviation(universality.construct(n, w))
                               for n in settings["bumps"]]
    strongest = f"{max(settings['step_weights']):g}"
    return {"bumps": list(settings["bumps"]), "deviation": deviation,
            "perfect_steps": [universality.staircase_deviation(n) for n in settings["bumps"]],
            "slope": log_slope(settings["bumps"], deviation[strongest]),
            "grid_points": universality.GRID_POINTS}


def log_slope(ns, deviations) -> float:
    """The slope of the least-squares line through (log N, log deviation)."""
    return float(np.polyfit(np.log(ns), np.log(deviations), 1)[0])


def run_trained(task, context=None) -> dict:
    """Train one ``[1, hidden, 1]`` network (seeded by the task) and measure it."""
    s = task.settings
    started = time.perf_counter()
    network = universality.train(s["hidden"], epochs=s["epochs"], eta=s["eta"], momentum=s["momentum"],
                                 mini_batch_size=s["mini_batch_size"], count=s["count"], seed=task.seed)
    training_seconds = time.perf_counter() - started
    same_size = universality.construct(max(1, s["hidden"] // 2))
    x = universality.grid(CURVE_POINTS)
    return {"deviation": universality.average_deviation(network),
            "construction_deviation": universality.average_deviation(same_size),
            "training_seconds": training_seconds,
            "curve": universality.outputs(network, x).tolist()}


# -- the checks -------------------------------------------------------------------------

def check_construction(result) -> list:
    run = runs(result)[0]
    deviation, ns = run["deviation"], run["bumps"]
    strongest = max(deviation, key=float)
    listed = ", ".join(f"N={n}: {d:.4f}" for n, d in zip(ns, deviation[strongest]))
    low, high = SLOPE_RANGE
    falls = Claim("the deviation falls roughly as 1/N",
                  f"w = {strongest}: {listed}; slope of log deviation on log N {run['slope']:.2f}; "
                  f"perfect steps (w → ∞) N={ns[-1]}: {run['perfect_steps'][-1]:.4f}",
                  low <= run["slope"] <= high)
    at_most = {w: deviations[-1] for w, deviations in deviation.items()}
    ordered = sorted(at_most, key=float)
    smoother = Claim("smoother steps (smaller w) approximate worse",
                     f"at N={ns[-1]}: " + ", ".join(f"w = {w}: {at_most[w]:.4f}" for w in ordered),
                     all(at_most[a] > at_most[b] for a, b in zip(ordered, ordered[1:])))
    return [falls, smoother]


def check_trained(result) -> list:
    claims = []
    for entry in result["variants"]:
        trained = [run["deviation"] for run in entry["runs"]]
        built = entry["runs"][0]["construction_deviation"]
        claims.append(Claim(f"training finds an approximation too ({entry['name']})",
                            f"trained {spread(trained, '', 4)}; built with as many neurons {built:.4f}",
                            max(trained) <= built))
    return claims
