"""A picture is written only where a PNG belongs: ``--plot`` of ``train`` and of the
scripts is checked before any data is read or any epoch is trained."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def command(program, *flags):
    base = [sys.executable, "-m", "digits", "train"] if program == "train" else \
           [sys.executable, str(SCRIPTS / f"{program}.py")]
    return [*base, *map(str, flags)]


@pytest.mark.parametrize("program", ["train", "overfitting"])
@pytest.mark.parametrize("plot, message", [
    ("p.txt", "cannot draw p.txt: the picture is a PNG, so name a .png file"),
    ("curves", "cannot draw curves: the picture is a PNG, so name a .png file"),
    (".", "cannot draw .: it is a folder"),
])
def test_a_plot_path_that_is_no_png_is_refused_before_anything_is_done(tmp_path, program, plot, message):
    # An empty data folder and no downloading: had the plot been accepted, the data
    # would have been missing and the message another.
    (tmp_path / "data").mkdir()         # where train saves its network
    result = subprocess.run(command(program, "--plot", plot, "--data", tmp_path / "none",
                                    "--no-download"),
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"{result.stderr.split(':')[0]}: error: {message}"]
    assert not (tmp_path / "p.txt").exists()


def test_the_library_refuses_to_draw_a_plot_into_a_file_that_is_no_png(tmp_path):
    from digits.system.errors import UsageError
    from digits.app.plots import save_history_plot

    with pytest.raises(UsageError, match="name a .png file"):
        save_history_plot({"evaluation_accuracy": [90, 95], "n_evaluation": 100}, tmp_path / "p.txt")
    assert list(tmp_path.iterdir()) == []
