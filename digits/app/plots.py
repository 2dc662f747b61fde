"""Pictures of training: the monitored costs and accuracies, epoch by epoch.

These are the book's chapter-3 plots (the cost on the training data falling while the
cost on the test data turns up, the accuracies flattening).  Figures are drawn with
matplotlib's object API and rendered straight to PNG bytes, so no window or display
is needed, and the file is written atomically: an image viewer watching it during
training never shows a half-written picture.
"""

from __future__ import annotations

import io

from digits.nn.history_plot import PANELS, history_figure  # noqa: F401 (drawn there, saved here)
from digits.system.files import check_png_path, write_atomically

def png_bytes(figure, dpi=100) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save_history_plot(history, path, title="", evaluation_name="evaluation") -> None:
    """Draw the monitored curves of ``history`` to the PNG ``path`` (atomically); a path
    that is not a ``.png`` file in an existing folder is refused (UsageError)."""
    check_png_path(path)
    write_atomically(path, png_bytes(history_figure(history, title, evaluation_name)))
