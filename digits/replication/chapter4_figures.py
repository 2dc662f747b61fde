"""The figures of chapter 4's rows: the construction beside trained networks, and the towers.

Both are drawn from :mod:`digits.nn.universality` (the construction has nothing random
in it, so it is built again here) and, for the trained networks, from the curves that
the ``ch4-trained`` result keeps.  Each function returns a matplotlib ``Figure``, as
every drawing function of :data:`digits.replication.figures.FIGURES` does.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from digits.nn import universality
from digits.replication.chapter4_universality import construction_settings, run_construction


def _figure(columns, rows, width, height, title):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * columns, height * rows + 0.5), layout="constrained")
    fig.suptitle(title, fontsize=10)
    axes = [fig.add_subplot(rows, columns, i + 1) for i in range(rows * columns)]
    for ax in axes:
        ax.grid(alpha=0.3)
    return fig, axes


def draw_universality(trained):
    """f, the construction for several N and w, its deviations against N (computed here:
    nothing in it is random), and the networks of the ``ch4-trained`` result ``trained``."""
    fig, axes = _figure(2, 2, width=5.2, height=3.6,
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
