"""Saved runs side by side: their per-epoch histories on the same axes (``digits compare``).

``train`` writes beside each model ``network.npz`` a readable ``network.json``
(:mod:`digits.store.model_file`) holding the run's settings and its
:class:`~digits.nn.training.History`.  Comparing runs is:

1. :func:`load_run` each model's JSON, checked to belong to the archive beside it;
2. :func:`differing`: the settings whose values are not the same in every run;
3. :func:`legend_label`: each run named by its file and those settings only
   (``ce.npz: cost cross-entropy, eta 0.5``);
4. draw each measured figure (accuracy on the evaluation data, on the validation data,
   on the training data; the costs) as one panel with a curve per run:
   :func:`comparison_figure` for a PNG, :func:`page_data` for the comparison page.

Accuracies are drawn in percent of the data measured; the book's published number for
a run's settings, where it has one, is a dashed line in the run's colour.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from digits.app.watch import book_number, normal_layers
from digits.store.model_file import sidecar_path
from digits.system.errors import DigitsError

# (history key, what the panel shows, the count it is a share of; None for a cost)
PANELS = (
    ("evaluation_accuracy", "accuracy on the {evaluation} data (%)", "n_evaluation"),
    ("validation_accuracy", "accuracy on the validation data (%)", "n_validation"),
    ("training_accuracy", "accuracy on the training data (%)", "n_training"),
    ("training_cost", "cost on the training data", None),
    ("evaluation_cost", "cost on the {evaluation} data", None),
)
# The settings a legend may name, in the order it names them.
SETTINGS = ("network", "activation", "cost", "init", "eta", "mini_batch_size", "lmbda", "l1",
            "momentum", "dropout", "expand", "epochs", "early_stopping", "schedule",
            "n_training", "dtype", "seed")


class CompareError(DigitsError):
    """A run that cannot be compared: no model, no readable JSON beside it, no history."""


def load_run(path) -> dict:
    """``{"name", "path", "settings", "history"}`` of the model ``path`` (an ``.npz``).

    Raises :class:`CompareError` (one line) when the model or its JSON is missing or
    unreadable, when the JSON holds no history, or when it records another archive
    than the one beside it (the model was saved again by something else since).
    """
    path = Path(path)
    if not path.is_file():
        raise CompareError(f"no saved model at {path}")
    readable = sidecar_path(path)
    try:
        meta = json.loads(readable.read_text(encoding="utf-8"))
        archive = hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        raise CompareError(f"{path} has no {readable.name} beside it (train writes one with the "
                           f"history compare draws)") from None
    except OSError as error:
        raise CompareError(f"cannot read {readable}: {error.strerror or error}") from None
    except ValueError:
        raise CompareError(f"{readable} is not readable JSON") from None
    history = meta.get("history") if isinstance(meta, dict) else None
    if not isinstance(history, dict) or not history.get("seconds"):
        raise CompareError(f"{readable} holds no per-epoch history to draw")
    if meta.get("archive_sha256") not in (None, archive):
        raise CompareError(f"{readable} describes another network than {path} (its archive's "
                           f"SHA-256 differs): train it again to compare it")
    return {"name": path.name, "path": str(path), "settings": settings_of(meta, history),
            "history": history}


def settings_of(meta: dict, history: dict) -> dict:
    """The settings of a saved run, flat, as the legend names them."""
    hyper = meta.get("hyperparameters") or {}
    layers = normal_layers(hyper.get("layers"))
    activations = meta.get("activations") or []
    hidden = activations[:-1] if len(activations) > 1 else activations
    settings = {
        "network": f"[{layers}]" if layers else str(meta.get("sizes")),
        "layers": layers, "sizes": meta.get("sizes"),
        "activation": hyper.get("activation") or ("/".join(dict.fromkeys(hidden)) or None),
        "cost": meta.get("cost"), "init": meta.get("init"), "dtype": meta.get("dtype"),
        "n_training": history.get("n_training"), "evaluated_on": meta.get("evaluated_on", "test"),
    }
    for name in ("eta", "mini_batch_size", "lmbda", "l1", "momentum", "dropout", "expand",
                 "epochs", "early_stopping", "schedule", "seed"):
        settings[name] = hyper.get(name)
    return settings


def differing(runs) -> list[str]:
    """The settings (of :data:`SETTINGS`) not the same in every run, in that order."""
    return [name for name in SETTINGS
            if len({json.dumps(run["settings"].get(name)) for run in runs}) > 1]


def legend_label(run, names) -> str:
    """``ce.npz: cost cross-entropy, eta 0.5``: the file and the settings ``names``."""
    parts = [f"{name.replace('_', ' ')} {_shown(run['settings'].get(name))}" for name in names]
    return f"{run['name']}: {', '.join(parts)}" if parts else run["name"]


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


def curve(history: dict, key: str, total_key) -> list:
    """``[(epoch, value)]`` of one history figure, accuracies in percent."""
    values = history.get(key) or []
    total = history.get(total_key) if total_key else None
    return [(epoch, 100.0 * value / total if total else value)
            for epoch, value in enumerate(values, start=1)]


def panels_of(runs) -> list[tuple]:
    """The panels at least one run measured: ``(key, title, total key)``."""
    evaluation = "/".join(dict.fromkeys(run["settings"]["evaluated_on"] for run in runs))
    return [(key, title.format(evaluation=evaluation), total) for key, title, total in PANELS
            if any(run["history"].get(key) for run in runs)]


def page_data(runs) -> dict:
    """``GET /api/runs`` of the comparison page: each run's label, settings, book number and
    curves, and the panels."""
    names = differing(runs)
    return {
        "differing": names,
        "panels": [{"key": key, "title": title, "accuracy": total is not None}
                   for key, title, total in panels_of(runs)],
        "runs": [{"name": run["name"], "label": legend_label(run, names), "settings": run["settings"],
                  "book": book_number(run["settings"]),
                  "curves": {key: curve(run["history"], key, total)
                             for key, _, total in panels_of(runs)}}
                 for run in runs],
    }


def comparison_figure(runs, title=""):
    """A matplotlib Figure: a panel per measured figure, a curve per run, the legend
    naming the settings that differ."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    data = page_data(runs)
    panels = data["panels"]
    columns = 2 if len(panels) > 1 else 1
    rows = (len(panels) + columns - 1) // columns
    figure = Figure(figsize=(6.2 * columns, 3.9 * rows + 0.5), layout="constrained")
    figure.suptitle(title or f"{len(runs)} runs compared")
    colours = [f"C{i % 10}" for i in range(len(runs))]
    for index, panel in enumerate(panels, start=1):
        axes = figure.add_subplot(rows, columns, index)
        for run, colour in zip(data["runs"], colours):
            points = run["curves"][panel["key"]]
            if points:
                epochs, values = zip(*points)
                axes.plot(epochs, values, marker="o", markersize=3, color=colour, label=run["label"])
            if panel["accuracy"] and panel["key"] == "evaluation_accuracy" and run["book"]:
                axes.axhline(run["book"]["published"], color=colour, linestyle="--", linewidth=1,
                             label=f"{run['name']}: {run['book']['label']}")
        axes.set_title(panel["title"])
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
    return figure
