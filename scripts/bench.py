"""``make bench``: how fast digits trains and evaluates, beside the book's per-example loop.

One run measures, on the real MNIST files:

* seconds per training epoch (50,000 images, eta 3.0, evaluation excluded; the median
  of several epochs) of the book's ``[784, 30, 10]`` network with mini-batches of 10,
  the same with mini-batches of 100, and ``[784, 100, 10]``, each in float64 and
  float32;
* beside each, the book's algorithm written plainly (:class:`PerExampleReference`: a
  loop over the examples of each mini-batch, one backpropagation per example), timed
  on a slice of the epoch and scaled to 50,000 images, in turns with our epochs so
  that both see the same machine; the table gives the ratio reference / ours, the
  median of the ratios of each turn;
* seconds to evaluate the 10,000 test images, to load MNIST, and the peak memory of
  ``python -m digits train`` (one epoch: memory does not grow with epochs);
* the test accuracy after each epoch in float64 and float32, same seeds, to show
  that float32 learns the same.

It prints a table and writes ``results/bench.json`` (atomically).  ``--quick`` is a
smoke run of a few seconds on a slice of the data, into ``results/quick/bench.json``;
its figures are scaled to a full epoch but are rough.

    python scripts/bench.py [--data data/mnist] [--quick] [--epochs 5] [--output PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:       # run from a checkout without installing the package
    sys.path.insert(0, str(REPO))

from digits.activations import Sigmoid  # noqa: E402
from digits.cli import ArgumentParser, exit_status  # noqa: E402
from digits.errors import DigitsError, UsageError  # noqa: E402
from digits.mnist import load_data  # noqa: E402
from digits.files import write_atomically  # noqa: E402
from digits.network import Network  # noqa: E402
from digits.threads import blas_thread_control, blas_thread_count, blas_threads  # noqa: E402

EPOCH_IMAGES = 50_000          # an epoch is the book's 50,000 training images
ETA = 3.0


@dataclass(frozen=True)
class Setting:
    sizes: tuple
    mini_batch_size: int
    dtype: str
    target_ratio: float | None     # the target for reference / ours, if any

    @property
    def name(self) -> str:
        return f"{list(self.sizes)} mini-batch {self.mini_batch_size} {self.dtype}"


SETTINGS = [
    Setting((784, 30, 10), 10, "float64", 12),
    Setting((784, 30, 10), 10, "float32", 12),
    Setting((784, 30, 10), 100, "float64", 20),
    Setting((784, 30, 10), 100, "float32", 20),
    Setting((784, 100, 10), 10, "float64", None),
    Setting((784, 100, 10), 10, "float32", None),
]
TARGETS = {"book_epoch_seconds": 0.2, "evaluate_seconds": 0.020, "load_seconds": 0.5,
           "peak_memory_mb": 500}


# -- the book's algorithm, one example at a time ------------------------------------------

class PerExampleReference:
    """The book's chapter-1 gradient descent as the book runs it: one example at a time.

    For each mini-batch, every example is fed forward and backpropagated on its own as
    a ``(784, 1)`` column, its gradients are added to running sums, and then the weights
    take one step of eta/m times the sums.  Same sigmoid (``digits.activations``), same
    quadratic cost, same equations as :class:`digits.network.Network`; only the loop
    over the examples is in Python instead of inside the matrix products.
    """

    def __init__(self, network: Network):
        self.weights = [w.copy() for w in network.weights]
        self.biases = [b.copy() for b in network.biases]

    def update_mini_batch(self, mini_batch, eta):
        nabla_b = [np.zeros_like(b) for b in self.biases]
        nabla_w = [np.zeros_like(w) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        step = eta / len(mini_batch)
        self.weights = [w - step * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - step * nb for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = w @ activation + b
            zs.append(z)
            activation = Sigmoid.fn(z)
            activations.append(activation)
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        delta = (activations[-1] - y) * Sigmoid.derivative(zs[-1], activations[-1])
        nabla_b[-1], nabla_w[-1] = delta, delta @ activations[-2].T
        for l in range(2, len(self.weights) + 1):
            delta = (self.weights[-l + 1].T @ delta) * Sigmoid.derivative(zs[-l], activations[-l])
            nabla_b[-l], nabla_w[-l] = delta, delta @ activations[-l - 1].T
        return nabla_b, nabla_w


def reference_agrees(network: Network, training) -> bool:
    """One mini-batch step of the reference equals Network.update_mini_batch.

    Up to rounding: within 1e-10 in float64, 1e-4 in float32 (the two add the same
    numbers in a different order).
    """
    tolerance = 1e-10 if network.dtype == np.float64 else 1e-4
    reference = PerExampleReference(network)
    copy = Network(network.sizes, seed=0, dtype=network.dtype)
    copy.weights = [w.copy() for w in network.weights]
    copy.biases = [b.copy() for b in network.biases]
    batch = training[:10]
    x, y = batch.inputs.T.astype(network.dtype), batch.targets().T.astype(network.dtype)
    reference.update_mini_batch([(x[:, [j]], y[:, [j]]) for j in range(10)], ETA)
    copy.update_mini_batch(x, y, ETA)
    return all(np.allclose(a, b, rtol=0, atol=tolerance)
               for a, b in zip(copy.weights + copy.biases, reference.weights + reference.biases))


# -- measurements ----------------------------------------------------------------------------

def time_epochs(setting: Setting, training, rounds: int, reference_images: int, seed=1):
    """Alternate our epochs and slices of the reference's; return the figures of each round."""
    network = Network(setting.sizes, seed=seed, dtype=setting.dtype)
    n = len(training)
    scale = EPOCH_IMAGES / n
    # Warm up (first touches of every array, the BLAS buffers) on a small slice.
    network.SGD(training[:min(n, 1000)], 1, setting.mini_batch_size, ETA)

    reference = PerExampleReference(network)
    dtype = network.dtype
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for _ in range(rounds):
        history = network.SGD(training, 1, setting.mini_batch_size, ETA)
        ours.append(history.seconds[0] * scale)

        chosen = training[rng.permutation(n)[:min(n, reference_images)]]
        columns = chosen.inputs.astype(dtype)[:, :, None]          # the book's (784, 1) x
        targets = chosen.targets().astype(dtype)[:, :, None]       # and (10, 1) y
        pairs = list(zip(columns, targets))
        m = setting.mini_batch_size
        with blas_threads(1):      # the reference gets the same BLAS setting as ours
            started = time.perf_counter()
            for k in range(0, len(pairs), m):
                reference.update_mini_batch(pairs[k:k + m], ETA)
            seconds = time.perf_counter() - started
        theirs.append(seconds * EPOCH_IMAGES / len(pairs))
    return network, ours, theirs


def time_evaluation(network: Network, test, rounds: int) -> list:
    network.evaluate(test)      # warm-up
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        network.evaluate(test)
        times.append(time.perf_counter() - started)
    return times


_LOAD_ONCE = """
import sys, time
from digits.mnist import load_data
started = time.perf_counter()
load_data(sys.argv[1])
print(time.perf_counter() - started)
"""


def time_loading(data_dir: Path, rounds: int) -> list:
    """Seconds for ``load_data``, each time in a fresh process, as ``digits train`` does.

    (A fresh process matters: the first 188 MB array a process allocates costs more
    than the same allocation again.)  Interpreter and numpy start-up are not counted.
    """
    times = []
    for _ in range(rounds):
        process = subprocess.run([sys.executable, "-c", _LOAD_ONCE, str(data_dir.resolve())],
                                 capture_output=True, text=True, cwd=REPO,
                                 env=dict(os.environ, PYTHONPATH=str(REPO)))
        if process.returncode != 0:
            lines = process.stderr.strip().splitlines() or ["(no output)"]
            raise DigitsError(lines[-1].split(": ", 1)[-1])
        times.append(float(process.stdout))
    return times


def peak_memory_of_training(data_dir: Path, epochs: int = 1) -> dict:
    """Run ``python -m digits train`` as a child process; its peak resident memory in MB.

    Linux counts into a child's peak the parent's peak at the moment the child starts
    (the child begins as a copy of the parent), so this runs before the benchmark
    loads any data, while this process is much smaller than the child will be.
    """
    with tempfile.TemporaryDirectory(prefix="digits-bench-") as folder:
        log_path = Path(folder) / "train.log"
        command = [sys.executable, "-m", "digits", "train", "--data", str(data_dir.resolve()),
                   "--epochs", str(epochs), "--seed", "1", "--quiet",
                   "--model", str(Path(folder) / "network.npz")]
        started = time.perf_counter()
        with open(log_path, "wb") as log:
            child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                                     env=dict(os.environ, PYTHONPATH=str(REPO)))
            # os.wait4 reaps this child and returns its own resource usage (not that of
            # every child this process ever had, as getrusage(RUSAGE_CHILDREN) would).
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        if child.returncode != 0:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise DigitsError(tail[0].removeprefix("digits train: error: "))
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    kilobytes = usage.ru_maxrss / 1024 if sys.platform == "darwin" else usage.ru_maxrss
    return {"peak_memory_mb": kilobytes / 1024, "epochs": epochs, "seconds": seconds,
            "command": "python -m digits train --epochs %d" % epochs}


def accuracy_curves(training, test, epochs: int, seeds) -> dict:
    """Test accuracy after each epoch of the book's network, float64 and float32, same seeds."""
    curves = {}
    for dtype in ("float64", "float32"):
        curves[dtype] = {}
        for seed in seeds:
            network = Network([784, 30, 10], seed=seed, dtype=dtype)
            history = network.SGD(training, epochs, 10, ETA, test_data=test)
            curves[dtype][str(seed)] = [correct / len(test) for correct in history.evaluation_accuracy]
    return curves


# -- the report ------------------------------------------------------------------------------

def median(values):
    return float(statistics.median(values))


def run_bench(args) -> dict:
    quick = args.quick
    load_rounds, rounds = (1, 2) if quick else (5, args.epochs)
    # First, while this process holds no data (see peak_memory_of_training); a missing
    # or broken data folder stops the benchmark here, with the loader's one-line error.
    training_run = peak_memory_of_training(args.data)
    loading = time_loading(args.data, load_rounds)
    training, _, test = load_data(args.data)
    if quick:
        training = training[:2_000]
    reference_images = 200 if quick else args.reference_images

    results = {
        "quick": quick,
        "data": str(args.data),
        "training_images_timed": len(training),
        "epoch_images": EPOCH_IMAGES,
        "eta": ETA,
        "rounds": rounds,
        "reference_images_per_round": reference_images,
        "machine": {
            "processors": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "blas_thread_control": blas_thread_control(),
            "blas_threads_default": blas_thread_count(),
        },
        "load_seconds": median(loading),
        "load_seconds_runs": loading,
        "epochs": [],
    }

    book_networks = {}
    for setting in SETTINGS:
        network, ours, theirs = time_epochs(setting, training, rounds, reference_images)
        ratios = [reference / mine for reference, mine in zip(theirs, ours)]
        entry = {
            "name": setting.name,
            "sizes": list(setting.sizes),
            "mini_batch_size": setting.mini_batch_size,
            "dtype": setting.dtype,
            "seconds_per_epoch": median(ours),
            "seconds_per_epoch_runs": ours,
            "reference_seconds_per_epoch": median(theirs),
            "reference_seconds_per_epoch_runs": theirs,
            "ratio": median(ratios),
            "ratio_runs": ratios,
            "target_ratio": setting.target_ratio,
        }
        if setting.sizes == (784, 30, 10) and setting.mini_batch_size == 10:
            entry["target_seconds_per_epoch"] = TARGETS["book_epoch_seconds"]
            entry["reference_agrees"] = reference_agrees(network, training)
            book_networks[setting.dtype] = network
        results["epochs"].append(entry)
        print(f"  measured {setting.name}: {median(ours):.3f} s per epoch, "
              f"reference {median(theirs):.2f} s", file=sys.stderr, flush=True)

    results["evaluate"] = {
        "images": len(test),
        **{dtype: median(time_evaluation(network, test, 3 if quick else 7))
           for dtype, network in book_networks.items()},
    }
    results["training_run"] = training_run
    seeds = [1] if quick else args.curve_seeds
    results["accuracy_curves"] = {
        "epochs": 1 if quick else args.curve_epochs,
        "seeds": seeds,
        "test_accuracy": accuracy_curves(training, test, 1 if quick else args.curve_epochs, seeds),
    }
    results["targets"] = TARGETS
    return results


def met(value, target, below=True) -> str:
    if target is None:
        return ""
    return "met" if (value < target if below else value >= target) else "MISSED"


def table(results) -> str:
    lines = []
    slice_note = (f"per-example reference timed on {results['reference_images_per_round']:,} images "
                  f"per round and scaled to {results['epoch_images']:,}")
    lines.append(f"Seconds per epoch of {results['epoch_images']:,} images (eta {results['eta']}, "
                 f"evaluation excluded), median of {results['rounds']} rounds; {slice_note}"
                 + ("; QUICK: timed on a slice, rough" if results["quick"] else "") + ".")
    lines.append("")
    header = f"{'network':16} {'mini-batch':>10} {'dtype':>8} {'ours s':>8} {'reference s':>12} {'ratio':>7}  target"
    lines.append(header)
    lines.append("-" * len(header))
    for entry in results["epochs"]:
        targets = []
        if entry["target_ratio"]:
            targets.append(f"{entry['target_ratio']:g}x {met(entry['ratio'], entry['target_ratio'], below=False)}")
        if "target_seconds_per_epoch" in entry:
            targets.append(f"< {entry['target_seconds_per_epoch']} s "
                           f"{met(entry['seconds_per_epoch'], entry['target_seconds_per_epoch'])}")
        lines.append(f"{str(entry['sizes']):16} {entry['mini_batch_size']:>10} {entry['dtype']:>8} "
                     f"{entry['seconds_per_epoch']:>8.3f} {entry['reference_seconds_per_epoch']:>12.2f} "
                     f"{entry['ratio']:>6.1f}x  {', '.join(targets)}")
    lines.append("")
    evaluate, targets = results["evaluate"], results["targets"]
    for dtype in ("float64", "float32"):
        if dtype in evaluate:
            lines.append(f"evaluate {evaluate['images']:,} test images, {dtype}: "
                         f"{1000 * evaluate[dtype]:.1f} ms   (target < {1000 * targets['evaluate_seconds']:g} ms "
                         f"{met(evaluate[dtype], targets['evaluate_seconds'])})")
    lines.append(f"load MNIST from {results['data']} (fresh process): {results['load_seconds']:.3f} s   "
                 f"(target < {targets['load_seconds']} s {met(results['load_seconds'], targets['load_seconds'])})")
    run = results["training_run"]
    lines.append(f"peak memory of `{run['command']}`: {run['peak_memory_mb']:.0f} MB   "
                 f"(target < {targets['peak_memory_mb']} MB {met(run['peak_memory_mb'], targets['peak_memory_mb'])})")
    curves = results["accuracy_curves"]
    lines.append("")
    lines.append(f"test accuracy after each epoch, [784, 30, 10], mini-batch 10, seeds "
                 f"{', '.join(map(str, curves['seeds']))}:")
    for dtype, by_seed in curves["test_accuracy"].items():
        for seed, accuracies in by_seed.items():
            lines.append(f"  {dtype} seed {seed}: " + " ".join(f"{100 * a:.2f}" for a in accuracies))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/mnist"), metavar="DIR",
                        help="where the MNIST files are (make data)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of a few seconds on 2,000 training images")
    parser.add_argument("--epochs", type=int, default=5,
                        help="rounds per setting: epochs of ours, slices of the reference's")
    parser.add_argument("--reference-images", type=int, default=5_000, metavar="N",
                        help="images of each round the per-example reference is timed on")
    parser.add_argument("--curve-epochs", type=int, default=5, metavar="N",
                        help="epochs of the float64 / float32 accuracy curves")
    parser.add_argument("--curve-seeds", type=int, nargs="+", default=[1, 2, 3], metavar="SEED",
                        help="seeds of the accuracy curves")
    parser.add_argument("--output", type=Path, default=None, metavar="PATH",
                        help="the JSON file (default results/bench.json, or "
                             "results/quick/bench.json with --quick)")
    args = parser.parse_args(argv)
    output = args.output or REPO / "results" / ("quick" if args.quick else "") / "bench.json"
    return exit_status(lambda: bench(args, output), "bench")


def bench(args, output) -> int:
    """Run the benchmark, print its table and write the JSON file."""
    if args.epochs < 1 or args.reference_images < 1 or args.curve_epochs < 1:
        raise UsageError("--epochs, --reference-images and --curve-epochs must be at least 1")
    results = run_bench(args)
    print(table(results))
    output.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(output, (json.dumps(results, indent=2) + "\n").encode())
    print(f"\nWrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
