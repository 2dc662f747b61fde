"""scripts/xor.py: a [3, 4, 1] sigmoid network learns the XOR table."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "xor.py"

# scripts/ is not a package: load the script as a module (registered, as imports are).
spec = importlib.util.spec_from_file_location("xor_script", SCRIPT)
xor = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = xor
spec.loader.exec_module(xor)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_the_data_are_the_tutorials_xor_table():
    data = xor.xor_data()
    assert data.inputs.tolist() == [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
    assert data.labels.tolist() == [0, 1, 1, 0]
    assert data.targets()[:, 0].tolist() == [0, 1, 1, 0]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_after_training_every_output_is_within_0_1_of_its_target(seed):
    network, _, _ = xor.train(seed=seed)
    outputs = network.feedforward(xor.INPUTS.T)[0]
    assert network.sizes == [3, 4, 1]
    assert np.all(np.abs(outputs - xor.TARGETS) < 0.1), outputs


def test_training_records_the_cost_and_the_four_outputs_after_every_epoch():
    network, history, outputs = xor.train(epochs=25)
    assert len(history.training_cost) == 25
    assert outputs.shape == (25, 4)
    np.testing.assert_allclose(outputs[-1], network.feedforward(xor.INPUTS.T)[0])


def test_the_script_prints_the_cost_and_the_outputs_beside_the_targets(tmp_path):
    output = tmp_path / "xor.png"
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--epochs", "200", "--print-every", "100",
         "--output", str(output)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert [line.split(":")[0].split() for line in lines if line.startswith("epoch")] == \
        [["epoch", "1"], ["epoch", "100"], ["epoch", "200"]]
    header = lines.index(next(line for line in lines if line.split() == ["input", "target", "output"]))
    table = [line.split() for line in lines[header + 1:header + 5]]
    assert [row[:4] for row in table] == [["0", "0", "1", "0"], ["0", "1", "1", "1"],
                                          ["1", "0", "1", "1"], ["1", "1", "1", "0"]]
    assert all(0.0 <= float(row[4]) <= 1.0 for row in table)
    assert output.read_bytes().startswith(PNG_SIGNATURE)


def test_printing_every_zero_epochs_is_one_line_and_exit_status_2(tmp_path, capsys):
    output = tmp_path / "xor.png"
    assert xor.main(["--print-every", "0", "--output", str(output)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--print-every" in error
    assert not output.exists()


@pytest.mark.parametrize("flags, fragment", [
    (["--output", "{tmp}"], "it is a folder"),
    (["--output", "{tmp}/xor.txt"], "name a .png file"),
    (["--seed", "-1"], "--seed must be a whole number"),
    (["--eta", "0"], "eta"),
])
def test_nonsense_is_refused_in_one_line_before_any_training(tmp_path, capsys, flags, fragment):
    flags = [flag.format(tmp=tmp_path) for flag in flags]
    if "--output" not in flags:
        flags += ["--output", str(tmp_path / "xor.png")]
    assert xor.main(flags) == 2
    captured = capsys.readouterr()
    assert fragment in captured.err and captured.err.count("\n") == 1
    assert captured.out == ""
