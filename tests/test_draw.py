"""``digits draw``: the drawing window, driven by synthetic mouse and key events.

The window's behaviour is a :class:`DrawingBoard` on a matplotlib figure; here the
figure lives on the non-interactive Agg canvas and the tests send it the events a
mouse and keyboard would, through the figure's own event dispatch, so the handlers'
wiring is tested along with what they do.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.backend_bases import KeyEvent, MouseEvent
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from digits.app.commands.draw import CANVAS, DrawingBoard
from digits.app.prepare import prepare, read_picture


@pytest.fixture(scope="session")
def network(trained_network):
    return trained_network


@pytest.fixture
def board(network, tmp_path):
    figure = Figure(figsize=(10, 6.5))
    FigureCanvasAgg(figure)
    return DrawingBoard(figure, network, save_dir=tmp_path)


def send(board, name, row=None, column=None, axes=None, button=1):
    """Dispatch a mouse event at canvas pixel (row, column), or at the middle of ``axes``."""
    if axes is None:
        x, y = board.canvas_axes.transData.transform((column, row))
    else:
        x, y = axes.transAxes.transform((0.5, 0.5))
    event = MouseEvent(name, board.figure.canvas, x, y, button=button)
    board.figure.canvas.callbacks.process(name, event)


def press_key(board, key):
    event = KeyEvent("key_press_event", board.figure.canvas, key)
    board.figure.canvas.callbacks.process("key_press_event", event)


def stroke(board, *points):
    """Press at the first (row, column), drag through the others, release at the last."""
    send(board, "button_press_event", *points[0])
    for point in points[1:]:
        send(board, "motion_notify_event", *point)
    send(board, "button_release_event", *points[-1])


def draw_a_one(board):
    stroke(board, (50, 140), (100, 140), (150, 140), (200, 140), (235, 140))


def click(board, button):
    send(board, "button_press_event", axes=button.ax)
    send(board, "button_release_event", axes=button.ax)


def test_a_stroke_reaches_the_canvas(board):
    stroke(board, (60, 100), (60, 200))
    assert board.ink.shape == (CANVAS, CANVAS)
    assert board.ink[60, 100:201].min() == 1.0          # along the line: full ink
    assert board.ink[60, 150] == 1.0
    assert board.ink[120, :].max() == 0.0              # far from it: none
    assert 0 < board.ink[60 + 9, 150] < 1              # the brush's soft edge


def test_moving_without_the_button_down_draws_nothing(board):
    send(board, "motion_notify_event", 100, 100)
    send(board, "motion_notify_event", 150, 150)
    assert not board.ink.any()


def test_leaving_the_canvas_lifts_the_pen(board):
    send(board, "button_press_event", 40, 40)
    send(board, "motion_notify_event", axes=board.bar_axes)
    send(board, "motion_notify_event", 240, 240)
    send(board, "button_release_event", 240, 240)
    assert board.ink[40, 40] == 1.0 and board.ink[240, 240] == 1.0
    assert board.ink[140, 140] == 0.0                   # no line joins the two


def test_the_prediction_updates_as_you_draw(board):
    assert board.prediction is None
    assert board.title.get_text() == "Draw a digit"
    draw_a_one(board)
    assert board.prediction == 1
    assert board.title.get_text().startswith("The network reads 1")
    heights = [bar.get_height() for bar in board.bars]
    assert heights == pytest.approx(board.outputs.tolist())
    assert np.argmax(heights) == 1


def test_a_convolutional_network_reads_the_drawing_too(conv_network, tmp_path):
    figure = Figure(figsize=(10, 6.5))
    FigureCanvasAgg(figure)
    board = DrawingBoard(figure, conv_network, save_dir=tmp_path)
    draw_a_one(board)
    assert board.prediction == 1
    assert board.outputs.shape == (10,) and board.outputs.sum() == pytest.approx(1.0, abs=1e-5)


def test_the_network_sees_the_drawing_prepared_as_classify_prepares_it(board):
    draw_a_one(board)
    assert np.array_equal(board.network_input, prepare(1 - board.ink))
    assert np.array_equal(board.input_image.get_array(), board.network_input)


def test_the_c_key_clears_the_canvas(board):
    draw_a_one(board)
    press_key(board, "c")
    assert not board.ink.any()
    assert board.prediction is None


def test_the_clear_button_clears_the_canvas(board):
    draw_a_one(board)
    click(board, board.clear_button)
    assert not board.ink.any()
    assert board.prediction is None
    assert [bar.get_height() for bar in board.bars] == [0.0] * 10


def test_the_s_key_saves_the_drawing_as_a_png_classify_reads_the_same(board, tmp_path):
    draw_a_one(board)
    press_key(board, "s")
    path = tmp_path / "drawing-1.png"
    with Image.open(path) as saved:
        assert (saved.format, saved.mode, saved.size) == ("PNG", "L", (CANVAS, CANVAS))
        page = np.asarray(saved)
    assert page[0, 0] == 255 and page[140, 140] == 0     # dark ink on a white page
    assert np.abs(prepare(read_picture(path)) - board.network_input).max() < 0.02


def test_the_save_button_saves_the_next_drawing_under_a_new_name(board, tmp_path):
    draw_a_one(board)
    click(board, board.save_button)
    click(board, board.save_button)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["drawing-1.png", "drawing-2.png"]


def test_a_blank_canvas_is_not_saved(board, tmp_path):
    press_key(board, "s")
    assert list(tmp_path.iterdir()) == []
    assert "blank" in board.status_text.get_text()


def run_draw(**environment):
    env = {name: value for name, value in os.environ.items()
           if name not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    env.update(environment)
    return subprocess.run([sys.executable, "-m", "digits", "draw"], capture_output=True,
                          text=True, timeout=60, env=env)


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="there is always a display")
def test_without_a_display_it_says_so_in_one_line_and_suggests_classify():
    result = run_draw()
    assert result.returncode == 1
    line, = result.stderr.splitlines()
    assert "no display" in line and "digits classify" in line


def test_without_a_window_backend_it_says_so_in_one_line():
    result = run_draw(DISPLAY=":0", MPLBACKEND="agg")
    assert result.returncode == 1
    line, = result.stderr.splitlines()
    assert "backend is agg" in line and "digits classify" in line
