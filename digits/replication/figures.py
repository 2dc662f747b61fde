"""The report's figures, drawn from the result files (PNG, written atomically).

:data:`FIGURES` maps each figure of chapters 3 and 5 to the experiment it draws, its
drawing function and its caption; chapter 6's figures draw on several experiments
(:func:`chapter6_figures`).  A drawing function returns a matplotlib ``Figure``;
:func:`draw_figures` saves those whose results exist and says which it drew.
"""

from __future__ import annotations

import textwrap

import numpy as np

from digits.app.terminal import notice
from digits.replication import chapter4_figures
from digits.replication.checks import runs
from digits.replication.kinds import load_experiment_data
from digits.system.errors import DigitsError
from digits.system.files import write_atomically


def figure(columns=1, rows=1, width=5.6, height=3.9, title=""):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * columns, height * rows + (0.5 if title else 0)), layout="constrained")
    if title:
        # About 13 characters of a 10-point title fit in an inch.
        fig.suptitle("\n".join(textwrap.wrap(title, int(12 * width * columns))), fontsize=10)
    axes = [fig.add_subplot(rows, columns, i + 1) for i in range(rows * columns)]
    for ax in axes:
        ax.grid(alpha=0.3)
    return fig, axes


def save_figure(fig, path):
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    write_atomically(path, buffer.getvalue())


def title_of(result) -> str:
    return f"{result['id']}: {result['setting']}" + ("  [--quick size]" if result["quick"] else "")


def plot_seeds(ax, rows, color, label, epochs_from=1):
    """One faint line per seed and their mean in bold."""
    rows = np.asarray(rows, dtype=float)
    epochs = np.arange(epochs_from, epochs_from + rows.shape[1])
    for row in rows:
        ax.plot(epochs, row, color=color, alpha=0.3, linewidth=0.8)
    ax.plot(epochs, rows.mean(axis=0), color=color, linewidth=1.6, label=label)


def history_rows(seed_runs, field, scale=None):
    rows = []
    for run in seed_runs:
        history = run["history"]
        row = np.asarray(history[field], dtype=float)
        rows.append(100 * row / history[scale] if scale else row)
    return rows


def draw_overfitting(result):
    """The book's four overfitting curves: costs and accuracies per epoch."""
    fig, axes = figure(2, 2, width=5.2, height=3.5, title=title_of(result))
    seeds = runs(result)
    panels = (("training_cost", None, "Cost on the training data", "cost", "tab:orange"),
              ("evaluation_cost", None, "Cost on the test data", "cost", "tab:red"),
              ("evaluation_accuracy", "n_evaluation", "Accuracy on the test data", "accuracy (%)", "tab:blue"),
              ("training_accuracy", "n_training", "Accuracy on the training data", "accuracy (%)", "tab:green"))
    for ax, (field, scale, name, ylabel, color) in zip(axes, panels):
        plot_seeds(ax, history_rows(seeds, field, scale), color, "mean of the seeds")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
    axes[0].legend(fontsize=8)
    return fig


def draw_eta(result):
    fig, (ax,) = figure(title=title_of(result) + " (default initialisation)", width=7)
    for entry, color in zip(result["variants"], ("tab:blue", "tab:orange", "tab:red")):
        plot_seeds(ax, history_rows(entry["runs"], "training_cost"), color, entry["name"].replace("eta", "η ="))
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost on the training data")
    ax.legend()
    return fig


def draw_init(result):
    fig, axes = figure(2, 1, title=title_of(result))
    for ax, hidden in zip(axes, (30, 100)):
        for init, color in (("default", "tab:blue"), ("large", "tab:orange")):
            seeds = runs(result, f"{hidden} hidden, {init} init")
            plot_seeds(ax, history_rows(seeds, "evaluation_accuracy", "n_evaluation"), color,
                       f"{init} initialisation")
        ax.set_title(f"[784, {hidden}, 10]", fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy on the test data (%)")
        if not result["quick"]:
            ax.set_ylim(85, 100)
        ax.legend(loc="lower right")
    return fig


def draw_more_data(result):
    fig, (ax,) = figure(title=title_of(result), width=7)
    sizes = [entry["settings"]["n_train"] for entry in result["variants"]]
    for measure, color, label in (("final", "tab:blue", "test data"),
                                  ("validation", "tab:orange", "validation data")):
        numbers = np.array([[run[measure] for run in entry["runs"]] for entry in result["variants"]])
        mean = numbers.mean(axis=1)
        ax.errorbar(sizes, mean, yerr=[mean - numbers.min(axis=1), numbers.max(axis=1) - mean],
                    color=color, marker="o", capsize=3, label=f"accuracy on the {label} (range over seeds)")
    ax.set_xscale("log")
    ax.set_xlabel("training set size (images, log scale)")
    ax.set_ylabel("accuracy (%)")
    ax.legend(loc="lower right")
    return fig


def draw_speed(result):
    fig, axes = figure(3, 1, width=4.6, height=3.8, title=title_of(result))
    colors = ("tab:blue", "tab:orange", "tab:red", "tab:green")
    for ax, entry in zip(axes, result["variants"]):
        norms = np.array([run["norms"] for run in entry["runs"]])    # seeds x epochs+1 x layers
        for layer in range(norms.shape[2]):
            plot_seeds(ax, norms[:, :, layer], colors[layer], f"hidden layer {layer + 1}", epochs_from=0)
        ax.set_yscale("log")
        ax.set_title(f"Speed of learning: {entry['name']}", fontsize=10)
        ax.set_xlabel("epochs of training")
        ax.set_ylabel("‖δ‖ = ‖∂C/∂b‖ of the layer")
        ax.legend(fontsize=8, loc="upper right")
    return fig


# figure file -> (experiment id, drawing function, caption for the report)
FIGURES = {
    "ch3-overfit.png": ("ch3-overfit", draw_overfitting,
                        "Overfitting on 1,000 images: the training cost falls for all 400 epochs and "
                        "the training accuracy reaches 100%, while the test cost turns up early and the "
                        "test accuracy stops improving."),
    "ch3-l2-1000.png": ("ch3-l2-1000", draw_overfitting,
                        "The same with L2 regularisation (lambda 0.1): the test cost no longer turns "
                        "up so sharply and the test accuracy is higher and still creeping up."),
    "ch3-eta.png": ("ch3-eta", draw_eta,
                    "Training cost per epoch for three learning rates."),
    "ch3-init.png": ("ch3-init", draw_init,
                     "Test accuracy per epoch, large (N(0, 1)) vs default (N(0, 1/n_in)) "
                     "initialisation."),
    "ch3-more-data.png": ("ch3-more-data", draw_more_data,
                          "Accuracy against the number of training images (log axis)."),
    "ch4-universality.png": ("ch4-trained", chapter4_figures.draw_universality,
                             "Chapter 4: f (black) and [1, 2N, 1] sigmoid networks built from N bumps: "
                             "more bumps follow f more closely, smoother steps (smaller w) blur it; the "
                             "average deviation against N (log axes, with 1/N dashed); and [1, 20, 1] "
                             "networks trained by SGD beside the 10-bump construction of the same size."),
    "ch4-towers.png": ("ch4-construction", chapter4_figures.draw_towers,
                       "Chapter 4 with two inputs: a bump in x and a bump in y, added and thresholded "
                       "by a second hidden layer, make a tower; N x N towers approximate g(x, y)."),
    "ch5-learning-speed.png": ("ch5-speed", draw_speed,
                               "Chapter 5: ‖δ‖ of each hidden layer during training (log axis); the "
                               "layers nearest the input learn slowest."),
}


# Chapter 6's figures draw on several experiments (and the ensemble's on the test images).
CHAPTER6_NETWORKS = ("ch6-fc", "ch6-conv1", "ch6-conv2", "ch6-relu", "ch6-expanded", "ch6-extra-fc",
                     "ch6-dropout")
MISSES_SHOWN = 60


def filters_source(results):
    """The most trained conv network run so far (the book's best first): ``(id, run)``."""
    for experiment_id in reversed(CHAPTER6_NETWORKS):
        result = results.get(experiment_id)
        if result is not None:
            run = runs(result)[0]
            if "first_filters" in run:
                return experiment_id, run
    return None


def draw_filters(result_id, run, quick):
    """The first conv layer's 5x5 filters, one small picture each, darker for larger weights."""
    from matplotlib.figure import Figure

    filters = np.asarray(run["first_filters"])          # (filters, 5, 5)
    columns = 10
    rows = -(-len(filters) // columns)
    fig = Figure(figsize=(columns * 0.9, rows * 0.9 + 0.7), layout="constrained")
    fig.suptitle(f"The {len(filters)} filters of the first convolutional layer: {result_id}, "
                 f"seed {run['seed']}" + ("  [--quick size]" if quick else "") +
                 "\n(darker = larger weight, one scale for all)", fontsize=9)
    limit = float(np.abs(filters).max()) or 1.0
    for i, kernel in enumerate(filters):
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.imshow(kernel, cmap="gray_r", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def draw_validation(results, quick):
    """Validation accuracy per epoch of every chapter-6 network run so far."""
    fig, (ax,) = figure(width=8, height=4.6, title="Chapter 6: validation accuracy per epoch"
                        + ("  [--quick size]" if quick else ""))
    colors = iter(("tab:gray", "tab:blue", "tab:orange", "tab:red", "tab:green", "tab:purple", "tab:brown"))
    for experiment_id in CHAPTER6_NETWORKS:
        color = next(colors)
        result = results.get(experiment_id)
        if result is None:
            continue
        seed_runs = runs(result)
        rows = history_rows(seed_runs, "validation_accuracy", "n_validation")
        seeds = ", ".join(str(run["seed"]) for run in seed_runs)
        plot_seeds(ax, rows, color, f"{experiment_id} (seed{'s' if len(seed_runs) > 1 else ''} {seeds})")
        for run, row in zip(seed_runs, rows):       # the epoch each run's number is taken at
            best = run["best_validation_epoch"]
            ax.plot([best], [row[best - 1]], marker="o", markersize=4, color=color)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy on the validation images (%)")
    if not quick:
        ax.set_ylim(96.5, 99.8)     # the first epoch or two of the weakest networks lie below
    ax.legend(loc="lower right", fontsize=8)
    return fig


def draw_misses(result, test):
    """The test digits the ensemble gets wrong: the right digit above, its answer below."""
    from matplotlib.figure import Figure

    misses = result["variants"][0]["runs"][0]["misses"]
    shown = misses[:MISSES_SHOWN]
    columns = 11
    rows = max(1, -(-len(shown) // columns))
    fig = Figure(figsize=(columns * 0.8, rows * 1.05 + 0.6), layout="constrained")
    more = f" (the first {len(shown)})" if len(shown) < len(misses) else ""
    fig.suptitle(f"The {len(misses)} test digits the ensemble gets wrong{more}: MNIST's label above, "
                 f"the ensemble's answer below" + ("  [--quick size]" if result["quick"] else ""),
                 fontsize=9)
    for i, miss in enumerate(shown):
        ax = fig.add_subplot(rows, columns, i + 1)
        picture = test.inputs[miss["index"]].reshape(28, 28)          # (784,) -> (28, 28)
        ax.imshow(picture, cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(str(miss["label"]), fontsize=9, pad=2)
        ax.set_xlabel(str(miss["answer"]), fontsize=9, color="tab:red", labelpad=2)
    return fig


def chapter6_figures(results, args):
    """Draw chapter 6's figures from what has run; return ``[(filename, heading, caption)]``."""
    quick = any(result["quick"] for result in results.values() if result is not None)
    drawn = []
    source = filters_source(results)
    if source is not None:
        save_figure(draw_filters(*source, quick), args.figures / "ch6-filters.png")
        drawn.append(("ch6-filters.png", "ch6: the learned filters",
                      f"The 20 learned 5x5 filters of the first convolutional layer of {source[0]} "
                      f"(seed {source[1]['seed']}; the figure takes the most trained network run so "
                      f"far), each a small picture of the feature it looks for."))
    if any(results.get(name) is not None for name in CHAPTER6_NETWORKS):
        save_figure(draw_validation(results, quick), args.figures / "ch6-validation.png")
        drawn.append(("ch6-validation.png", "ch6: validation accuracy per epoch",
                      "Validation accuracy after each epoch of every chapter-6 network run so far "
                      "(each seed faint, their mean bold); the dot marks each run's best validation "
                      "epoch, where its number (the test accuracy) is taken."))
    ensemble = results.get("ch6-ensemble")
    if ensemble is not None:
        try:
            _, _, test = load_experiment_data(args.data, ensemble["quick"])
        except DigitsError as error:
            notice(f"replicate.py: warning: not redrawing ch6-ensemble-misses.png: {error}")
        else:
            save_figure(draw_misses(ensemble, test), args.figures / "ch6-ensemble-misses.png")
        if (args.figures / "ch6-ensemble-misses.png").exists():
            drawn.append(("ch6-ensemble-misses.png", "ch6-ensemble: the digits it gets wrong",
                          "The test digits the five voting networks get wrong, as the book shows its "
                          "33: MNIST's label above each, the ensemble's answer below in red."))
    return drawn


def draw_figures(results, args) -> tuple:
    """Draw every figure whose results exist into ``args.figures``; return
    ``(drawn, drawn_chapter6)``: the file names of :data:`FIGURES` drawn, and chapter 6's
    ``[(filename, heading, caption)]``."""
    args.figures.mkdir(parents=True, exist_ok=True)
    drawn = []
    for filename, (experiment_id, draw, _) in FIGURES.items():
        result = results[experiment_id]
        if result is not None:
            save_figure(draw(result), args.figures / filename)
            drawn.append(filename)
    return drawn, chapter6_figures(results, args)
