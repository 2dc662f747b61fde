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
as close as the construction.  :func:`draw_universality` and :func:`draw_towers` are the
two figures.
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


def run_construction(task, context=None) -> dict:
    """Average deviation of the construction for each (w, N): ``deviation[str(w)][i]`` for bumps[i]."""
    settings = task.settings
    deviation = {}
    for w in settings["step_weights"]:
        deviation[f"{w:g}"] = [universality.average_deviation(universality.construct(n, w))
                               for n in settings["bumps"]]
    strongest = f"{max(settings['step_weights']):g}"
    return {"bumps": list(settings["bumps"]), "deviation": deviation,
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
                  f"w = {strongest}: {listed}; slope of log deviation on log N {run['slope']:.2f}",
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


# -- the figures ------------------------------------------------------------------------

def draw_universality(trained):
    """f, the construction for several N and w, its deviations against N (computed here:
    nothing in it is random), and the networks of the ``ch4-trained`` result ``trained``."""
    from types import SimpleNamespace

    from digits.replication.figures import figure

    fig, axes = figure(2, 2, width=5.2, height=3.6,
                       title="ch4: a [1, 2N, 1] sigmoid network built from N bumps, and ones trained by SGD")
    x = universality.grid(1001)
    f = universality.goal(x)
    ax = axes[0]
    ax.plot(x, f, color="black", linewidth=2.2, label="f")
    for n, color in ((5, "tab:orange"), (10, "tab:green"), (20, "tab:blue")):
        ax.plot(x, universality.outputs(universality.construct(n), x), color=color, linewidth=1, label=f"N = {n}")
    ax.set_title("N bumps, step weight w = 1000", fontsize=10)
    ax = axes[1]
    ax.plot(x, f, color="black", linewidth=2.2, label="f")
    for w, color in ((10, "tab:red"), (100, "tab:purple"), (1000, "tab:blue")):
        ax.plot(x, universality.outputs(universality.construct(20, w), x), color=color, linewidth=1, label=f"w = {w}")
    ax.set_title("20 bumps, smoother steps", fontsize=10)
    _draw_deviations(axes[2], run_construction(SimpleNamespace(settings=construction_settings())))
    _draw_trained(axes[3], x, f, trained)
    for ax in (axes[0], axes[1], axes[3]):
        ax.set_xlabel("x")
        ax.legend(fontsize=7, loc="upper left")
    return fig


def _draw_deviations(ax, run):
    ns = np.asarray(run["bumps"], dtype=float)
    for (w, deviations), color in zip(sorted(run["deviation"].items(), key=lambda item: float(item[0])),
                                      ("tab:red", "tab:purple", "tab:blue")):
        ax.plot(ns, deviations, "o-", color=color, label=f"w = {w}")
    first = run["deviation"][max(run["deviation"], key=float)][0]
    ax.plot(ns, first * ns[0] / ns, "--", color="grey", label="1/N")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("bumps N")
    ax.set_ylabel("average |output - f|")
    ax.set_title("deviation on 10,001 points", fontsize=10)
    ax.legend(fontsize=7)


def _draw_trained(ax, x, f, trained):
    ax.plot(x, f, color="black", linewidth=2.2, label="f")
    ax.plot(x, universality.outputs(universality.construct(10), x), color="tab:green", linewidth=1,
            label="built: 10 bumps (20 hidden)")
    entry = next((e for e in trained["variants"] if e["name"] == "[1, 20, 1]"), trained["variants"][-1])
    for i, run in enumerate(entry["runs"]):
        points = universality.grid(len(run["curve"]))
        ax.plot(points, run["curve"], color="tab:red", linewidth=1, alpha=0.8,
                label=f"trained {entry['name']} (seeds {', '.join(str(r['seed']) for r in entry['runs'])})"
                if i == 0 else None)
    ax.set_title("trained by SGD (cross-entropy, sigmoid output)", fontsize=10)


def draw_towers(result=None):
    """The two-input case: one tower, the goal g(x, y), and 5 x 5 and 20 x 20 towers
    (built here, like the construction: ``result`` is not needed)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 8.4), layout="constrained")
    fig.suptitle("ch4, two inputs: a tower from two bumps and a threshold; N x N towers "
                 "([2, 2(N+1), N², 1] sigmoid network) approximate g(x, y)", fontsize=10)
    one = np.full((5, 5), universality.HEIGHT_MARGIN)
    one[2, 2] = 0.8
    panels = [("one tower (the other 24 at 0)", universality.tower_network(one)),
              ("g(x, y) = (f(x) + f(y))/2 + 0.1 sin 6x cos 6y", None),
              ("5 x 5 towers", universality.construct_towers(5)),
              ("20 x 20 towers", universality.construct_towers(20))]
    for i, (title, network) in enumerate(panels):
        ax = fig.add_subplot(2, 2, i + 1, projection="3d")
        if network is None:
            centres = universality.cell_centres(101)
            x, y = np.meshgrid(centres, centres, indexing="ij")
            z = universality.goal_2d(x, y)
        else:
            x, y, z = universality.surface(network)
            if i > 1:
                deviation = np.mean(np.abs(z - universality.goal_2d(x, y)))
                title += f": average deviation {deviation:.4f}"
        ax.plot_surface(x, y, z, cmap="viridis", linewidth=0, antialiased=False)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_zlim(0, 1)
    return fig
