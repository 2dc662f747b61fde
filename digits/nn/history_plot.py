"""A training run's monitored costs and accuracies, drawn epoch by epoch.

These are the book's chapter-3 plots (the cost on the training data falling while the
cost on the test data turns up, the accuracies flattening).  :func:`history_figure`
draws a :class:`~digits.nn.training.History` with matplotlib's object API into a
``Figure`` that belongs to no window: ``History.plot()`` returns it (Jupyter shows it
inline), and the command line renders it to a PNG file (:mod:`digits.app.plots`).
Accuracies are drawn as percentages of the data measured.
"""

from __future__ import annotations

# (history field, panel title, is it an accuracy?); {evaluation} names the data set
PANELS = (
    ("evaluation_cost", "Cost on the {evaluation} data", False),
    ("evaluation_accuracy", "Accuracy on the {evaluation} data", True),
    ("training_cost", "Cost on the training data", False),
    ("training_accuracy", "Accuracy on the training data", True),
    ("validation_accuracy", "Accuracy on the validation data", True),
)


def history_figure(history, title="", evaluation_name="evaluation"):
    """A matplotlib Figure with one panel per monitored figure in ``history``.

    ``evaluation_name`` says what the evaluation data were ("test", "validation").
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    data = history if isinstance(history, dict) else history.to_dict()
    totals = {"evaluation_accuracy": data.get("n_evaluation"),
              "training_accuracy": data.get("n_training"),
              "validation_accuracy": data.get("n_validation")}
    panels = [(key, label, is_accuracy) for key, label, is_accuracy in PANELS if data.get(key)]
    columns = 2 if len(panels) > 1 else 1
    rows = max(1, (len(panels) + 1) // 2)
    figure = Figure(figsize=(5.5 * columns, 3.6 * rows), layout="constrained")
    if title:
        figure.suptitle(title)
    for index, (key, label, is_accuracy) in enumerate(panels, start=1):
        axes = figure.add_subplot(rows, columns, index)
        values = data[key]
        if is_accuracy and totals[key]:
            values = [100.0 * value / totals[key] for value in values]
        epochs = range(1, len(values) + 1)
        axes.plot(epochs, values, color="tab:blue" if is_accuracy else "tab:orange")
        axes.set_title(label.format(evaluation=evaluation_name))
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("epoch")
        axes.set_ylabel("accuracy (%)" if is_accuracy else "cost")
        axes.grid(alpha=0.3)
    if data.get("best_epoch") and data.get("validation_accuracy"):
        figure.text(0.01, 0.01, f"best validation epoch: {data['best_epoch']}", fontsize=8)
    return figure


