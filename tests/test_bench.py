"""``scripts/bench.py`` (``make bench``, :mod:`digits.replication.bench`): its reference is the book's algorithm written as
the book writes it, ``--book-code`` times the book's own ``network.py`` from a clone, and a
quick run on the real data writes a complete, sensible ``bench.json``.

Timings are not asserted against targets here (the machine is shared and noisy);
``make bench`` reports them.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from digits.nn.dataset import DataSet
from digits.nn.network import Network

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "bench.py"


def load_bench_module():
    from digits.replication import bench

    return bench


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


def test_the_chapter_3_per_example_reference_takes_the_networks_cross_entropy_l2_step():
    bench = load_bench_module()
    rng = np.random.default_rng(0)
    network = Network([6, 5, 4, 3], cost="cross-entropy", init="default", seed=1)
    data = DataSet(rng.random((7, 6)), rng.integers(0, 3, size=7), 3)
    reference = bench.PerExampleChapter3Reference(network, lmbda=5.0, n=50)

    reference.update_mini_batch(data.as_pairs(one_hot=True), eta=0.5)
    network.update_mini_batch(data.inputs.T, data.targets().T, eta=0.5, lmbda=5.0, n=50)

    for ours, theirs in zip(network.weights + network.biases, reference.weights + reference.biases):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)


def test_the_chapter_3_reference_without_l2_is_not_the_chapter_1_step():
    """Its output error is a - y (cross-entropy), not (a - y) σ'(z) (quadratic)."""
    bench = load_bench_module()
    rng = np.random.default_rng(0)
    network = Network([6, 4, 3], seed=1)
    pairs = DataSet(rng.random((5, 6)), rng.integers(0, 3, size=5), 3).as_pairs(one_hot=True)
    chapter1, chapter3 = bench.PerExampleReference(network), bench.PerExampleChapter3Reference(network, 0.0, 5)
    chapter1.update_mini_batch(pairs, eta=3.0)
    chapter3.update_mini_batch(pairs, eta=3.0)
    assert not np.allclose(chapter1.weights[-1], chapter3.weights[-1])


# A stand-in for a clone of the book's repository: src/network.py in the book's shape
# and in Python 2 (print statements, xrange), written for these tests.
BOOK_SHAPED_NETWORK = textwrap.dedent('''\
    """A stand-in for the book's network.py: the same class and methods, Python 2."""

    import random

    import numpy as np


    class Network(object):

        def __init__(self, sizes):
            self.num_layers = len(sizes)
            self.sizes = sizes
            self.biases = [np.random.randn(n, 1) for n in sizes[1:]]
            self.weights = [np.random.randn(n, m) for m, n in zip(sizes[:-1], sizes[1:])]

        def SGD(self, training_data, epochs, mini_batch_size, eta):
            for epoch in xrange(epochs):
                random.shuffle(training_data)
                print "Epoch {0} complete".format(epoch)

        def update_mini_batch(self, mini_batch, eta):
            sum_b = [np.zeros(b.shape) for b in self.biases]
            sum_w = [np.zeros(w.shape) for w in self.weights]
            for x, y in mini_batch:
                gradient_b, gradient_w = self.backprop(x, y)
                sum_b = [s + g for s, g in zip(sum_b, gradient_b)]
                sum_w = [s + g for s, g in zip(sum_w, gradient_w)]
            step = eta / len(mini_batch)
            self.weights = [w - step * s for w, s in zip(self.weights, sum_w)]
            self.biases = [b - step * s for b, s in zip(self.biases, sum_b)]

        def backprop(self, x, y):
            gradient_b = [None] * len(self.biases)
            gradient_w = [None] * len(self.weights)
            a, outputs, inputs = x, [x], []
            for b, w in zip(self.biases, self.weights):
                inputs.append(np.dot(w, a) + b)
                a = sigmoid(inputs[-1])
                outputs.append(a)
            delta = self.cost_derivative(outputs[-1], y) * sigmoid_prime(inputs[-1])
            gradient_b[-1], gradient_w[-1] = delta, np.dot(delta, outputs[-2].transpose())
            for l in xrange(2, self.num_layers):
                delta = np.dot(self.weights[-l + 1].transpose(), delta) * sigmoid_prime(inputs[-l])
                gradient_b[-l], gradient_w[-l] = delta, np.dot(delta, outputs[-l - 1].transpose())
            return (gradient_b, gradient_w)

        def cost_derivative(self, output_activations, y):
            """\\partial C_x / \\partial a"""
            return (output_activations - y)

    #### functions
    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    def sigmoid_prime(z):
        return sigmoid(z) * (1 - sigmoid(z))
    ''')


@pytest.fixture(scope="module")
def book_clone(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("neural-networks-and-deep-learning")
    (folder / "src").mkdir()
    (folder / "src" / "network.py").write_text(BOOK_SHAPED_NETWORK)
    return folder


def test_the_book_shaped_stand_in_is_not_python_3(book_clone):
    with pytest.raises(SyntaxError):
        compile((book_clone / "src" / "network.py").read_text(), "network.py", "exec")


def test_the_books_python_3_compatible_parts_are_loaded_and_the_rest_left_out(book_clone):
    book_code = load_bench_module().load_book_code(book_clone)
    assert book_code.path == book_clone / "src" / "network.py"
    assert book_code.left_out == ("SGD",)
    assert {"__init__", "update_mini_batch", "backprop", "cost_derivative"} <= set(vars(book_code.network_class))


def test_the_books_own_step_equals_the_network_step(book_clone, mnist):
    bench = load_bench_module()
    network = Network([784, 30, 10], seed=4)
    book = bench.load_book_code(book_clone).network_like(network)
    assert bench.step_agrees(network, mnist[0], book)


def test_a_book_whose_step_differs_is_caught(book_clone, tmp_path, mnist):
    bench = load_bench_module()
    (tmp_path / "network.py").write_text(BOOK_SHAPED_NETWORK.replace(
        "return (output_activations - y)", "return 2 * (output_activations - y)"))
    network = Network([784, 30, 10], seed=4)
    book = bench.load_book_code(tmp_path).network_like(network)
    assert not bench.step_agrees(network, mnist[0], book)


def test_a_book_without_backprop_is_refused_naming_what_is_missing(tmp_path):
    bench = load_bench_module()
    (tmp_path / "network.py").write_text(BOOK_SHAPED_NETWORK.replace("def backprop(", "def back_propagate("))
    with pytest.raises(bench.UsageError, match="no Python 3-compatible backprop"):
        bench.load_book_code(tmp_path)


def test_a_folder_without_the_books_code_is_one_line_before_any_work(tmp_path):
    process = run_bench("--quick", "--data", tmp_path, "--book-code", tmp_path, "--output",
                        tmp_path / "b.json", timeout=60)
    assert process.returncode == 2
    assert process.stderr.strip() == (f"bench: error: --book-code {tmp_path}: no src/network.py or "
                                      f"network.py there (give a clone of the book's repository)")
    assert not (tmp_path / "b.json").exists()


def test_the_reference_uses_no_digits_helpers_in_its_loop(monkeypatch):
    from digits.nn import activations

    def refuse(*_):
        raise AssertionError("the reference called digits.nn.activations")

    monkeypatch.setattr(activations.Sigmoid, "fn", staticmethod(refuse))
    monkeypatch.setattr(activations.Sigmoid, "derivative", staticmethod(refuse))
    bench = load_bench_module()
    rng = np.random.default_rng(0)
    data = DataSet(rng.random((5, 6)), rng.integers(0, 3, size=5), 3)
    reference = bench.PerExampleReference(Network([6, 4, 3], seed=1))
    reference.update_mini_batch(data.as_pairs(one_hot=True), eta=3.0)


def test_the_references_sigmoid_is_the_books_formula():
    bench = load_bench_module()
    z = np.linspace(-30, 30, 61)
    np.testing.assert_array_equal(bench.sigmoid(z), 1.0 / (1.0 + np.exp(-z)))
    np.testing.assert_array_equal(bench.sigmoid_prime(z), bench.sigmoid(z) * (1 - bench.sigmoid(z)))


def fake_python(folder: Path, body: str) -> Path:
    """An executable standing in for another environment's Python: it gets the
    reference script's path and arguments, logs them to ``calls.jsonl`` and runs ``body``
    (Python, with ``arguments`` the list after the script's path)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "python"
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(f"""\
        import json, sys
        script, arguments = sys.argv[1], sys.argv[2:]
        with open({str(folder / "calls.jsonl")!r}, "a") as log:
            log.write(json.dumps([script, arguments]) + "\\n")
    """) + textwrap.dedent(body))
    path.chmod(0o755)
    return path


# PyTorch as the bench sees it: 123 s per epoch, version 9.9-fake, 2 threads.
FAKE_TORCH = """\
    print("some line PyTorch printed first")
    answer = {"torch": "9.9-fake", "threads": 2}
    if "--check" not in arguments:
        answer["seconds_per_epoch"] = [123.0]
    print(json.dumps(answer))
"""


@pytest.fixture(scope="module")
def quick_run(mnist_data_dir, book_clone, tmp_path_factory):
    """One ``bench.py --quick --book-code --pytorch`` run on the real MNIST files, with a
    stand-in for PyTorch's Python: (process, JSON results)."""
    folder = tmp_path_factory.mktemp("bench")
    output = folder / "bench.json"
    process = run_bench("--quick", "--data", mnist_data_dir, "--book-code", book_clone,
                        "--pytorch", fake_python(folder / "torch", FAKE_TORCH), "--output", output)
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


def test_network2_the_library_and_the_per_example_loop_are_timed_in_one_run(quick_run):
    process, results = quick_run
    entry = results["network2"]
    assert entry["name"] == "digits.book.network2 vs the library vs the per-example loop"
    assert (entry["sizes"], entry["cost"], entry["eta"], entry["lmbda"], entry["blas_threads"]) == \
        ([784, 30, 10], "cross-entropy", 0.5, 5.0, 1)
    assert (entry["images_per_round"], entry["loop_images_per_round"]) == (2_000, 200)
    runs = entry["seconds_per_epoch_runs"]
    assert set(runs) == {"network2", "library", "per_example_loop"}
    for name, seconds in runs.items():
        assert len(seconds) == results["rounds"] and all(0 < s < 6000 for s in seconds)
        assert entry["seconds_per_epoch"][name] == pytest.approx(np.median(seconds))
    assert entry["network2_over_library"] == pytest.approx(
        np.median([b / l for b, l in zip(runs["network2"], runs["library"])]))
    assert entry["loop_over_network2"] == pytest.approx(
        np.median([p / b for p, b in zip(runs["per_example_loop"], runs["network2"])]))
    assert "digits.book.network2 vs the library vs the per-example loop" in process.stdout
    assert "network2 / library" in process.stdout and "loop / network2" in process.stdout
    assert "Epoch 0 training complete" not in process.stdout


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
    process = run_bench("--quick", "--no-download", "--data", tmp_path / "nowhere",
                        "--output", tmp_path / "b.json")
    assert process.returncode == 1
    assert process.stderr.startswith("bench: error: ") and "Traceback" not in process.stderr
    assert len(process.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b.json").exists()


def test_book_code_is_timed_in_every_setting_and_agrees(quick_run, book_clone):
    process, results = quick_run
    assert results["book_code"] == {"path": str(book_clone / "src" / "network.py"), "left_out": ["SGD"]}
    for entry in results["epochs"]:
        assert len(entry["book_seconds_per_epoch_runs"]) == results["rounds"]
        assert 0 < entry["book_seconds_per_epoch"] < 6000
        assert entry["book_ratio"] > 0 and entry["reference_over_book"] > 0
    book = [e for e in results["epochs"] if e["sizes"] == [784, 30, 10] and e["mini_batch_size"] == 10]
    assert [e["book_agrees"] for e in book] == [True, True]
    assert "book s" in process.stdout and "left out, not Python 3: SGD" in process.stdout


def test_without_book_code_the_table_has_no_book_columns(quick_run):
    bench = load_bench_module()
    _, results = quick_run
    without_book = {key: value for key, value in results.items() if key != "book_code"}
    text = bench.table(without_book)
    assert "reference s" in text and "book s" not in text


def test_the_chapter_6_network_is_timed_against_its_targets(quick_run):
    result, results = quick_run
    conv = results["convolutional"]
    assert conv["layers"] == "conv20 conv40 fc100 softmax" and conv["dtype"] == "float32"
    assert conv["mini_batch_size"] == 10 and conv["images_per_round"] == 200
    assert 0 < conv["seconds_per_epoch"] < 3600
    assert conv["targets"] == {"seconds_per_epoch": 10.0, "better": 6.0}
    assert "chapter 6, [conv20 conv40 fc100 softmax] relu" in result.stdout


@pytest.mark.parametrize("variables, expected", [
    ([], "scripts/bench.py"),
    (["BOOK=../neural-networks-and-deep-learning"],
     "scripts/bench.py --book-code ../neural-networks-and-deep-learning"),
    (["TORCH=/tmp/torch-env/bin/python"], "scripts/bench.py  --pytorch /tmp/torch-env/bin/python"),
])
def test_make_bench_passes_a_clone_of_the_book_as_book_code(variables, expected):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    # (Without the settings of a make that may be running these tests: make test.)
    env = {key: value for key, value in os.environ.items()
           if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    process = subprocess.run(["make", "--dry-run", "--always-make", "--no-print-directory", "bench",
                              *variables], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert process.returncode == 0, process.stderr
    (command,) = [line for line in process.stdout.splitlines() if "scripts/bench.py" in line]
    assert command.rstrip().endswith(expected)


def test_pytorch_is_timed_in_turns_on_the_same_images(quick_run, mnist_data_dir):
    process, results = quick_run
    torch = results["convolutional"]["pytorch"]
    fake = Path(torch["python"])
    assert (torch["torch"], torch["threads"]) == ("9.9-fake", 2)
    assert torch["seconds_per_epoch_runs"] == [123.0] and torch["seconds_per_epoch"] == 123.0
    ours = results["convolutional"]["seconds_per_epoch_runs"]
    assert torch["ratio"] == pytest.approx(123.0 / ours[0])
    calls = [json.loads(line) for line in (fake.parent / "calls.jsonl").read_text().splitlines()]
    assert calls[0] == [str(REPO / "scripts" / "pytorch_reference.py"), ["--check"]]
    assert calls[1] == [str(REPO / "scripts" / "pytorch_reference.py"),
                        ["--data", str(mnist_data_dir), "--images", "200", "--rounds", "1",
                         "--first-round", "0"]]
    assert len(calls) == 2
    verdict = "met" if torch["ratio"] >= 1 else "MISSED"
    assert (f"PyTorch 9.9-fake (eager, 2 threads), the same network and images in turns: 123.0 s per "
            f"epoch; PyTorch / ours {torch['ratio']:.2f}   (target: as fast as PyTorch, >= 1.00 {verdict})"
            in process.stdout)


@pytest.mark.parametrize("body, said", [
    ("sys.stderr.write('pytorch_reference: error: PyTorch is not installed in X\\n'); sys.exit(1)",
     "--pytorch {python}: pytorch_reference: error: PyTorch is not installed in X"),
    ("print('no JSON here')", "--pytorch {python}: not the reference's JSON line: 'no JSON here'"),
    ("sys.exit(3)", "--pytorch {python}: exit status 3"),
])
def test_a_python_without_pytorch_stops_the_bench_at_once_in_one_line_exit_2(tmp_path, mnist_data_dir, body, said):
    python = fake_python(tmp_path / "torch", body)
    process = run_bench("--quick", "--no-download", "--data", mnist_data_dir, "--pytorch", python,
                        "--output", tmp_path / "b.json", timeout=60)
    assert process.returncode == 2          # a wrong argument, as every usage error
    assert process.stderr.strip() == "bench: error: " + said.format(python=python)
    assert not (tmp_path / "b.json").exists()


def test_a_pytorch_python_that_does_not_exist_is_one_line_exit_2(tmp_path, mnist_data_dir):
    process = run_bench("--quick", "--no-download", "--data", mnist_data_dir,
                        "--pytorch", tmp_path / "no-python", "--output", tmp_path / "b.json", timeout=60)
    assert process.returncode == 2
    assert process.stderr.startswith(f"bench: error: --pytorch {tmp_path / 'no-python'}: cannot run it")
    assert len(process.stderr.strip().splitlines()) == 1


def test_the_pytorch_reference_without_pytorch_says_so_in_one_line():
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("PyTorch is installed here: the reference would run")
    process = subprocess.run([sys.executable, str(REPO / "scripts" / "pytorch_reference.py"), "--check"],
                             capture_output=True, text=True, timeout=60)
    assert process.returncode == 1
    assert process.stderr == (f"pytorch_reference: error: PyTorch is not installed in {sys.executable}; "
                              "give the Python of an environment that has it\n")


def test_the_pytorch_reference_times_the_network_where_pytorch_is_installed(mnist_data_dir):
    # DIGITS_TORCH_PYTHON names another environment's Python that has PyTorch.
    python = os.environ.get("DIGITS_TORCH_PYTHON")
    if not python:
        if importlib.util.find_spec("torch") is None:
            pytest.skip("PyTorch is not installed here (digits never needs it); set DIGITS_TORCH_PYTHON "
                        "to the Python of an environment that has it to run this test")
        python = sys.executable
    process = subprocess.run([python, str(REPO / "scripts" / "pytorch_reference.py"),
                              "--data", str(mnist_data_dir), "--images", "20", "--rounds", "2",
                              "--threads", "1"], capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr
    info = json.loads(process.stdout.splitlines()[-1])
    assert info["threads"] == 1 and info["torch"]
    assert len(info["seconds_per_epoch"]) == 2 and all(s > 0 for s in info["seconds_per_epoch"])
