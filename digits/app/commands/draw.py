"""``digits draw``: draw a digit with the mouse and watch the network read it.

A matplotlib window with a large canvas on the left, and on the right the 28x28
image the network sees and a bar chart of its ten outputs, both updated as you
draw.  The drawing goes through exactly the preparation ``digits classify`` uses
(:mod:`digits.app.prepare`), so a drawing saved here and classified later reads the same.

Keys: ``c`` (or Backspace, Delete) clears the canvas, ``s`` saves the drawing as a
PNG; the two buttons under the canvas do the same.

The window's behaviour lives in :class:`DrawingBoard` (its parts :class:`BoardView`,
its mouse and keys :class:`PenEvents`, its brush :func:`paint`), which works on any
matplotlib figure, so the tests drive it with synthetic mouse and key events on the
non-interactive Agg backend; :func:`run` only finds a screen and shows the figure.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np

from digits.app.models import DEFAULT_MODEL, load_models
from digits.system.errors import DigitsError, UsageError

CANVAS = 280            # canvas pixels a side: ten times MNIST's 28
BRUSH_RADIUS = 10.0     # a marker about 20 pixels wide: MNIST's strokes are a tenth of the digit's height
BRUSH_SOFTNESS = 3.0    # the last 3 pixels of the radius fade out, like a felt tip
CLEAR_KEYS = ("c", "backspace", "delete")
SAVE_KEYS = ("s",)


class NoDisplayError(DigitsError):
    """There is no screen to open a window on."""


class BoardView:
    """The window's parts on a matplotlib ``figure``: the canvas on the left, the 28x28
    image the network sees and the bars of its ten outputs on the right, the buttons,
    a status line and the title; :meth:`show` redraws them."""

    def lay_out(self, figure, ink, network_input):
        from matplotlib.widgets import Button

        grid = figure.add_gridspec(3, 2, width_ratios=[1.6, 1], height_ratios=[1, 1, 0.12],
                                   left=0.04, right=0.97, top=0.9, bottom=0.04,
                                   wspace=0.18, hspace=0.35)
        self.canvas_axes = figure.add_subplot(grid[0:2, 0])
        self.canvas_image = self.canvas_axes.imshow(ink, cmap="gray_r", vmin=0, vmax=1)
        self.input_axes = figure.add_subplot(grid[0, 1])
        self.input_image = self.input_axes.imshow(network_input, cmap="gray", vmin=0, vmax=1)
        for axes, title in ((self.canvas_axes, "draw a digit here with the mouse"),
                            (self.input_axes, "what the network sees (28x28)")):
            axes.set_xticks([])
            axes.set_yticks([])
            axes.set_title(title, fontsize=10)

        self.bar_axes = figure.add_subplot(grid[1, 1])
        self.bars = self.bar_axes.bar(range(10), np.zeros(10), color="0.7")
        self.bar_axes.set_xticks(range(10))
        self.bar_axes.set_ylim(0, 1)
        self.bar_axes.set_ylabel("output")

        buttons = grid[2, 0].subgridspec(1, 3, wspace=0.1)
        self.clear_button = Button(figure.add_subplot(buttons[0, 0]), "Clear (c)")
        self.save_button = Button(figure.add_subplot(buttons[0, 1]), "Save PNG (s)")
        self.status = figure.add_subplot(buttons[0, 2])
        self.status.axis("off")
        self.status_text = self.status.text(0, 0.5, "", va="center", fontsize=9)
        self.title = figure.suptitle("", fontsize=14)

    def show(self, ink, network_input, outputs, prediction):
        """Redraw the canvas, the network's input, its outputs and the title."""
        from digits.nn.ensemble import shares

        self.canvas_image.set_data(ink)
        self.input_image.set_data(network_input)
        heights = np.zeros(10) if outputs is None else outputs
        for digit, (bar, height) in enumerate(zip(self.bars, heights)):
            bar.set_height(height)
            bar.set_color("tab:blue" if digit == prediction else "0.7")
        if outputs is None:
            self.title.set_text("Draw a digit")
        else:
            confidence = shares(outputs.reshape(-1, 1))[prediction, 0]
            self.title.set_text(f"The network reads {prediction} (confidence {confidence:.0%})")
        self.figure.canvas.draw_idle()

    def set_status(self, text: str):
        """Put ``text`` on the status line under the canvas."""
        self.status_text.set_text(text)
        self.figure.canvas.draw_idle()


class PenEvents:
    """The mouse and the keys: the left button draws on the canvas, ``c`` clears, ``s`` saves."""

    def connect(self, canvas):
        self.connections = [
            canvas.mpl_connect("button_press_event", self.on_press),
            canvas.mpl_connect("motion_notify_event", self.on_motion),
            canvas.mpl_connect("button_release_event", self.on_release),
            canvas.mpl_connect("key_press_event", self.on_key),
        ]

    def on_press(self, event):
        """The left button on the canvas puts the pen down (and makes a dot)."""
        if event.inaxes is not self.canvas_axes or event.button != 1 or self._toolbar_busy():
            return
        self.drawing = True
        self.last_point = None
        self._stroke_to(event)

    def on_motion(self, event):
        """Moving with the pen down draws; leaving the canvas lifts the pen until it returns."""
        if not self.drawing:
            return
        if event.inaxes is not self.canvas_axes or event.xdata is None:
            self.last_point = None
            return
        self._stroke_to(event)

    def on_release(self, event):
        if event.button == 1:
            self.drawing = False
            self.last_point = None

    def on_key(self, event):
        if event.key in CLEAR_KEYS:
            self.clear()
        elif event.key in SAVE_KEYS:
            self.save()

    def _stroke_to(self, event):
        point = (float(event.ydata), float(event.xdata))    # (row, column) on the canvas
        self.paint(self.last_point or point, point)
        self.last_point = point
        self.update_prediction()

    def _toolbar_busy(self) -> bool:
        """True while the toolbar's pan or zoom tool is on (the mouse belongs to it)."""
        toolbar = getattr(self.figure.canvas, "toolbar", None)
        return bool(toolbar is not None and getattr(toolbar, "mode", ""))


class BoardActions:
    """What the buttons and keys do: clear the canvas, save the drawing."""

    def clear(self):
        """Wipe the canvas."""
        self.ink[:] = 0
        self.drawing = False
        self.last_point = None
        self.status_text.set_text("")
        self.update_prediction()

    def save(self) -> Path | None:
        """Save the drawing as dark ink on a white page, ``drawing-1.png``, ``drawing-2.png``...

        Returns the path, or ``None`` (and says why in the window) if it could not be
        written.  ``digits classify`` reads the saved file as the window did.
        """
        if not self.ink.any():
            self.set_status("nothing to save: the canvas is blank")
            return None
        try:
            path = save_drawing(self.ink, self.save_dir)
        except (OSError, DigitsError) as error:
            self.set_status(f"could not save: {error}")
            return None
        self.set_status(f"saved {path}")
        return path


class DrawingBoard(PenEvents, BoardActions, BoardView):
    """The drawing window on a matplotlib ``figure``: canvas, prediction, bars, buttons.

    ``ink`` is the canvas, a ``(CANVAS, CANVAS)`` array of ink strength in [0, 1]
    (shown as dark ink on a white page); ``outputs`` are the network's ten outputs
    for it (``None`` while the canvas is blank) and ``prediction`` the digit read.
    The ``on_*`` methods (:class:`PenEvents`) are connected to the figure's canvas.
    """

    def __init__(self, figure, network, save_dir=Path("."), size=CANVAS,
                 brush_radius=BRUSH_RADIUS):
        self.figure = figure
        self.network = network
        self.save_dir = Path(save_dir)
        self.brush_radius = float(brush_radius)
        self.ink = np.zeros((size, size), dtype=np.float32)
        self.outputs = None
        self.network_input = np.zeros((28, 28), dtype=np.float32)
        self.drawing = False
        self.last_point = None      # (row, column) where the pen last touched, or None
        self.lay_out(figure, self.ink, self.network_input)
        self.clear_button.on_clicked(lambda event: self.clear())
        self.save_button.on_clicked(lambda event: self.save())
        self.connect(figure.canvas)
        self.update_prediction()

    def __repr__(self) -> str:
        return (f"DrawingBoard({self.ink.shape[1]}x{self.ink.shape[0]} canvas, "
                f"reads {self.prediction if self.prediction is not None else 'nothing yet'})")

    @property
    def prediction(self):
        """The digit the network reads on the canvas, or ``None`` while it is blank."""
        return None if self.outputs is None else int(self.outputs.argmax())

    def update_prediction(self):
        """Prepare the canvas as ``classify`` would, run the network, redraw the right side."""
        from digits.app.prepare import BlankPictureError, prepare

        try:
            self.network_input = prepare(1 - self.ink)   # the page as it is shown and saved
        except BlankPictureError:
            self.network_input = np.zeros((28, 28), dtype=np.float32)
            self.outputs = None
        else:
            column = self.network_input.reshape(-1, 1).astype(self.network.dtype)
            self.outputs = self.network.feedforward(column)[:, 0]
        self.show(self.ink, self.network_input, self.outputs, self.prediction)

    def paint(self, start, end):
        """Lay ink along the line from ``start`` to ``end`` with the round brush (:func:`paint`)."""
        paint(self.ink, start, end, self.brush_radius)


def save_drawing(ink: np.ndarray, save_dir: Path) -> Path:
    """Write ``ink`` as dark ink on a white page to the first free ``drawing-N.png`` in
    ``save_dir``; return its path."""
    from PIL import Image

    from digits.system.files import write_atomically

    number = 1
    while (save_dir / f"drawing-{number}.png").exists():
        number += 1
    path = save_dir / f"drawing-{number}.png"
    page = np.round(255 * (1 - ink)).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(page, mode="L").save(buffer, format="PNG")
    write_atomically(path, buffer.getvalue())
    return path


def paint(ink: np.ndarray, start, end, radius: float) -> None:
    """Lay ink on ``ink`` along the line from ``start`` to ``end`` (``(row, column)``)
    with a round brush of ``radius``.

    A pixel's ink is 1 within ``radius - BRUSH_SOFTNESS`` of the line and fades to 0 at
    ``radius``; ink only ever gets darker, as with a marker.
    """
    height, width = ink.shape
    (row0, column0), (row1, column1) = start, end
    top = max(int(np.floor(min(row0, row1) - radius)), 0)
    bottom = min(int(np.ceil(max(row0, row1) + radius)) + 1, height)
    left = max(int(np.floor(min(column0, column1) - radius)), 0)
    right = min(int(np.ceil(max(column0, column1) + radius)) + 1, width)
    if top >= bottom or left >= right:
        return
    rows, columns = np.mgrid[top:bottom, left:right].astype(np.float32)
    # Distance from each pixel to the segment: project onto it, clamp to its ends.
    d_row, d_column = row1 - row0, column1 - column0
    length_squared = d_row * d_row + d_column * d_column
    if length_squared > 0:
        t = ((rows - row0) * d_row + (columns - column0) * d_column) / length_squared
        t = np.clip(t, 0, 1)
    else:
        t = 0.0
    distance = np.hypot(rows - (row0 + t * d_row), columns - (column0 + t * d_column))
    stroke = np.clip((radius - distance) / BRUSH_SOFTNESS, 0, 1)
    window = ink[top:bottom, left:right]
    np.maximum(window, stroke, out=window)


def configure(parser):
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, metavar="PATH",
                        help="the trained network (`make train` saves it there)")
    parser.add_argument("--save-dir", type=Path, default=Path("."), metavar="DIR",
                        help="where Save puts drawing-1.png, drawing-2.png, ...")


def display_problem() -> str | None:
    """Why no window can be opened here, or ``None`` if one probably can."""
    if sys.platform not in ("darwin", "win32") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display to open the drawing window on (DISPLAY is not set)"
    import matplotlib.pyplot as plt

    backend = plt.get_backend()
    if backend.lower().startswith("module://"):
        return None
    try:
        from matplotlib.backends import BackendFilter, backend_registry
        interactive = backend_registry.list_builtin(BackendFilter.INTERACTIVE)
    except ImportError:            # matplotlib before 3.9
        from matplotlib import rcsetup
        interactive = rcsetup.interactive_bk
    if backend.lower() not in {name.lower() for name in interactive}:
        display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        if display and "MPLBACKEND" not in os.environ:
            # matplotlib tried the window backends, none could reach the display, and
            # it fell back to drawing into memory only.
            return (f"cannot open a window on the display {display} (matplotlib found no "
                    f"window system there and fell back to its {backend} backend)")
        return f"matplotlib has no window to draw in (its backend is {backend})"
    return None


SUGGESTION = "to read a digit from a picture instead, run `python -m digits classify PICTURE`"


def run(args) -> int:

    problem = display_problem()
    if problem:
        raise NoDisplayError(f"{problem}; {SUGGESTION}")
    if not args.save_dir.is_dir():
        raise UsageError(f"--save-dir {args.save_dir} is not a folder")
    (model,) = load_models([args.model])
    network = model.network

    import matplotlib.pyplot as plt

    # Our keys win over matplotlib's own shortcuts in this window: "c" and Backspace
    # would step back through the zoom history, "s" would open the save-figure dialog.
    for name, keys in (("keymap.back", CLEAR_KEYS), ("keymap.save", SAVE_KEYS)):
        plt.rcParams[name] = [key for key in plt.rcParams[name] if key not in keys]
    try:
        figure = plt.figure(figsize=(10, 6.5))
    except Exception as error:    # e.g. Tk cannot reach the X server named in DISPLAY
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise NoDisplayError(f"cannot open a window ({message}); {SUGGESTION}") from None
    manager = figure.canvas.manager
    if manager is not None:
        manager.set_window_title("digits draw")
    # The name keeps the board alive while the window is open: matplotlib holds its
    # callbacks only weakly, and the buttons would stop working once it was collected.
    board = DrawingBoard(figure, network, save_dir=args.save_dir)  # noqa: F841
    plt.show()
    return 0
