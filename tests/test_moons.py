"""scripts/moons.py: the two-moons data, what hidden layers of tanh neurons learn, the script."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "moons.py"

# scripts/ is not a package: load the script as a module (registered, as imports are).
spec = importlib.util.spec_from_file_location("moons_script", SCRIPT)
moons = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = moons
spec.loader.exec_module(moons)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_moons_are_200_points_half_in_each_class():
    data = moons.make_moons()
    assert data.inputs.shape == (200, 2)
    assert np.bincount(data.labels).tolist() == [100, 100]
    assert data.n_out == 2


def test_the_same_seed_gives_the_same_moons_and_another_seed_other_ones():
    np.testing.assert_array_equal(moons.make_moons(seed=3).inputs, moons.make_moons(seed=3).inputs)
    assert not np.allclose(moons.make_moons(seed=3).inputs, moons.make_moons(seed=4).inputs)


def test_without_noise_the_points_lie_on_two_interleaved_half_circles():
    data = moons.make_moons(noise=0.0)
    upper = data.inputs[data.labels == 0]
    lower = data.inputs[data.labels == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert np.all(upper[:, 1] >= 0) and np.all(lower[:, 1] <= 0.5)


def test_the_noise_is_gaussian_with_the_asked_spread():
    # The same seed draws the same angles first, so the difference is the noise alone.
    noise = moons.make_moons(20_000, noise=0.2, seed=1).inputs - moons.make_moons(20_000, noise=0.0, seed=1).inputs
    assert noise.mean(axis=0) == pytest.approx([0.0, 0.0], abs=0.01)
    assert noise.std(axis=0) == pytest.approx([0.2, 0.2], rel=0.03)


def test_three_tanh_hidden_neurons_fit_at_least_95_percent_of_the_training_points():
    data = moons.make_moons()
    result = moons.train(3, data, epochs=3_000)
    assert result.network.sizes == [2, 3, 2]
    assert result.accuracy >= 0.95


def test_the_no_hidden_layer_baseline_stays_below_90_percent():
    data = moons.make_moons()
    result = moons.train(0, data, epochs=5_000)
    assert result.network.sizes == [2, 2]
    assert result.accuracy < 0.90


def test_the_script_prints_its_table_and_draws_the_figure(tmp_path):
    output = tmp_path / "moons.png"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--epochs", "300", "--hidden", "3", "20",
         "--output", str(output)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert any(line.split() == ["network", "H", "training", "accuracy", "final", "cost"]
               for line in lines)
    rows = [line for line in lines if line.startswith(("no hidden layer", "H = "))]
    assert [row[:16].strip() for row in rows] == ["no hidden layer", "H = 3", "H = 20"]
    assert output.read_bytes().startswith(PNG_SIGNATURE)


def test_a_nonsense_learning_rate_is_one_line_and_exit_status_2(tmp_path, capsys):
    output = tmp_path / "moons.png"
    assert moons.main(["--eta", "-1", "--hidden", "2", "--epochs", "1",
                       "--output", str(output)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "eta" in error
    assert not output.exists()


@pytest.mark.parametrize("flags, fragment", [
    (["--output", "{tmp}/no-such-folder/moons.png"], "does not exist"),
    (["--output", "{tmp}"], "it is a folder"),
    (["--output", "{tmp}/moons.txt"], "name a .png file"),
    (["--seed", "-1"], "--seed must be a whole number"),
    (["--epochs", "0"], "epochs"),
    (["--lmbda", "-1"], "lmbda"),
    (["--points", "0"], "--points must be at least 2, one for each moon, got 0"),
    (["--points", "1"], "--points must be at least 2, one for each moon, got 1"),
])
def test_nonsense_is_refused_in_one_line_before_any_training(tmp_path, capsys, flags, fragment):
    flags = [flag.format(tmp=tmp_path) for flag in flags]
    if "--output" not in flags:
        flags += ["--output", str(tmp_path / "moons.png")]
    assert moons.main(flags) == 2
    captured = capsys.readouterr()
    assert fragment in captured.err and captured.err.count("\n") == 1
    assert captured.out == ""          # refused before the header: nothing was trained
    assert not (tmp_path / "moons.png").exists()
