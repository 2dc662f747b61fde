"""``scripts/bench.py`` (``make bench``): its reference is the book's algorithm, and a
quick run on the real data writes a complete, sensible ``bench.json``.

Timings are not asserted against targets here (the machine is shared and noisy);
``make bench`` reports them.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digits.dataset import DataSet
from digits.network import Network

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "bench.py"


def load_bench_module():
    spec = importlib.util.spec_from_file_location("bench_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module      # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def run_bench(*arguments, timeout=300):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, arguments)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def test_the_per_example_reference_takes_the_same_step_as_the_network():
    bench = load_bench_module()
    rng = np.random.default_rng(0)
    network = Network([6, 5, 4, 3], seed=1)
    data = DataSet(rng.random((7, 6)), rng.integers(0, 3, size=7), 3)
    reference = bench.PerExampleReference(network)

    reference.update_mini_batch(data.as_pairs(one_hot=True), eta=3.0)
    network.update_mini_batch(data.inputs.T, data.targets().T, eta=3.0)

    for ours, theirs in zip(network.weights + network.biases, reference.weights + reference.biases):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)


@pytest.fixture(scope="module")
def quick_run(mnist_data_dir, tmp_path_factory):
    """One ``bench.py --quick`` run on the real MNIST files: (process, JSON results)."""
    output = tmp_path_factory.mktemp("bench") / "bench.json"
    process = run_bench("--quick", "--data", mnist_data_dir, "--output", output)
    results = json.loads(output.read_text()) if output.exists() else None
    return process, results


def test_quick_run_succeeds_and_prints_the_table(quick_run):
    process, _ = quick_run
    assert process.returncode == 0, process.stderr
    assert "reference" in process.stdout and "ratio" in process.stdout
    assert "evaluate 10,000 test images" in process.stdout
    assert "peak memory" in process.stdout
    assert "Wrote" in process.stdout


def test_every_setting_has_positive_epoch_times_and_a_ratio(quick_run):
    _, results = quick_run
    settings = {(tuple(e["sizes"]), e["mini_batch_size"], e["dtype"]) for e in results["epochs"]}
    assert settings == {(sizes, m, dtype)
                        for sizes, m in (((784, 30, 10), 10), ((784, 30, 10), 100), ((784, 100, 10), 10))
                        for dtype in ("float64", "float32")}
    for entry in results["epochs"]:
        assert 0 < entry["seconds_per_epoch"] < 600
        assert 0 < entry["reference_seconds_per_epoch"] < 6000
        assert entry["ratio"] == pytest.approx(np.median(entry["ratio_runs"]))
        assert len(entry["seconds_per_epoch_runs"]) == len(entry["reference_seconds_per_epoch_runs"]) \
            == results["rounds"]


def test_the_reference_agrees_with_the_network_on_real_images(quick_run):
    _, results = quick_run
    book = [e for e in results["epochs"] if e["sizes"] == [784, 30, 10] and e["mini_batch_size"] == 10]
    assert [e["reference_agrees"] for e in book] == [True, True]


def test_evaluation_loading_and_memory_figures_are_plausible(quick_run):
    _, results = quick_run
    assert results["evaluate"]["images"] == 10_000
    assert 0 < results["evaluate"]["float64"] < 10
    assert 0 < results["evaluate"]["float32"] < 10
    assert 0 < results["load_seconds"] < 60
    # The training set alone is 157 MB of float32 pixels; the machine has 24 GB.
    assert 150 < results["training_run"]["peak_memory_mb"] < 24_000


def test_float32_and_float64_accuracy_curves_are_recorded(quick_run):
    _, results = quick_run
    curves = results["accuracy_curves"]["test_accuracy"]
    assert set(curves) == {"float64", "float32"}
    for by_seed in curves.values():
        for accuracies in by_seed.values():
            assert len(accuracies) == results["accuracy_curves"]["epochs"]
            assert all(0.2 < a <= 1 for a in accuracies)   # well above chance (0.1)


def test_missing_data_is_one_line_and_exit_1(tmp_path):
    process = run_bench("--quick", "--data", tmp_path / "nowhere", "--output", tmp_path / "b.json")
    assert process.returncode == 1
    assert process.stderr.startswith("bench: error: ") and "Traceback" not in process.stderr
    assert len(process.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b.json").exists()
