"""``make bench``: how fast digits trains and evaluates, beside the book's per-example loop.

One run measures, on the real MNIST files:

* seconds per training epoch (50,000 images, eta 3.0, evaluation excluded; the median
  of several epochs) of the book's ``[784, 30, 10]`` network with mini-batches of 10,
  the same with mini-batches of 100, and ``[784, 100, 10]``, each in float64 and
  float32;
* beside each, the book's algorithm written the way the book's ``network.py`` writes
  it (:class:`PerExampleReference`: its sigmoid with ``np.exp``, ``np.dot``, a loop over
  the examples of each mini-batch, one backpropagation per example), timed on a slice
  of the epoch and scaled to 50,000 images, in turns with our epochs so that both see
  the same machine; the table gives the ratio reference / ours, the median of the
  ratios of each turn;
* with ``--book-code DIR``, a clone of the book's repository, the book's own
  ``network.py`` too (its Python 3-compatible parts, :func:`load_book_code`), on the
  same images in the same turns, to check the reference against the real thing;
* seconds per epoch of chapter 3's network (cross-entropy, L2) trained three ways in
  turns, all with one BLAS thread: by ``digits.book.network2`` (the book's API) and by
  the library's ``Network``, and, on a slice scaled to 50,000, by the per-example loop
  (:class:`PerExampleChapter3Reference`) (:func:`time_network2`);
* seconds per epoch of chapter 6's ReLU network (``conv20 conv40 fc100 softmax``,
  float32, mini-batch 10), and with ``--pytorch PYTHON`` the same network in PyTorch's
  eager mode on the same images, in turns (``scripts/pytorch_reference.py``, run by
  the Python of a separate environment that has PyTorch; digits never imports it);
* seconds to evaluate the 10,000 test images, to load MNIST, and the peak memory of
  ``python -m digits train`` (one epoch: memory does not grow with epochs);
* the test accuracy after each epoch in float64 and float32, same seeds, to show
  that float32 learns the same.

It prints a table and writes ``results/bench.json`` (atomically).  ``--quick`` is a
smoke run of a few seconds on a slice of the data, into ``results/quick/bench.json``;
its figures are scaled to a full epoch but are rough.

    python scripts/bench.py [--data data/mnist] [--quick] [--epochs 5] [--book-code DIR]
                            [--pytorch PYTHON] [--output PATH]
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digits.app.cli import ArgumentParser, HelpFormatter, exit_status
from digits.app.mnist_flags import add_data_arguments
from digits.app.terminal import notice, show
from digits.data.mnist import fetch_missing, load_data
from digits.nn.network import Network
from digits.replication.results import REPOSITORY as REPO
from digits.system.errors import DigitsError, UsageError
from digits.system.files import write_atomically
from digits.system.threads import blas_thread_control, blas_thread_count, blas_threads

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

def sigmoid(z):
    """σ(z) = 1 / (1 + e^(-z)), as the book computes it."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """σ'(z) = σ(z) (1 - σ(z)), computing σ(z) twice, as the book does."""
    return sigmoid(z) * (1 - sigmoid(z))


class PerExampleReference:
    """The book's chapter-1 gradient descent as the book's ``network.py`` runs it.

    For each mini-batch, every example is fed forward and backpropagated on its own as
    a ``(784, 1)`` column, its gradients are added to running sums, and then the weights
    take one step of eta/m times the sums.  Written the way the book writes it: its
    ``sigmoid`` and ``sigmoid_prime`` above, ``np.dot``, fresh lists and arrays for every
    example, nothing from the ``digits`` library inside the loop; the equations are those
    of :class:`digits.nn.network.Network`, whose vectorised step it must equal
    (:func:`step_agrees`).  One difference: the running sums start as zeros of the
    weights' dtype, so a float32 network stays float32 (the book's ``np.zeros`` are
    float64, which turns its weights to float64 after the first step).
    """

    def __init__(self, network: Network):
        self.num_layers = len(network.sizes)
        self.weights = [w.copy() for w in network.weights]
        self.biases = [b.copy() for b in network.biases]

    def update_mini_batch(self, mini_batch, eta):
        """w -> w - (eta/m) Σ_x ∂C_x/∂w, b -> b - (eta/m) Σ_x ∂C_x/∂b (eqs. 20, 21)."""
        nabla_b, nabla_w = self.summed_gradients(mini_batch)
        self.weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    def summed_gradients(self, mini_batch):
        """(Σ_x ∂C_x/∂b, Σ_x ∂C_x/∂w) over ``mini_batch``, one backpropagation per example."""
        nabla_b = [np.zeros(b.shape, b.dtype) for b in self.biases]
        nabla_w = [np.zeros(w.shape, w.dtype) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        return nabla_b, nabla_w

    def backprop(self, x, y):
        """(nabla_b, nabla_w) of the quadratic cost C_x of one example, layer by layer."""
        nabla_b = [np.zeros(b.shape) for b in self.biases]      # (each is replaced below)
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = self.output_error(zs[-1], activations[-1], y)                        # BP1
        nabla_b[-1] = delta                                                          # BP3
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())                    # BP4
        # l = 1 is the output layer, l = 2 the layer before, and so on.
        for l in range(2, self.num_layers):
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sigmoid_prime(zs[-l])  # BP2
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return nabla_b, nabla_w

    def cost_derivative(self, output_activations, y):
        """∂C_x/∂a for the quadratic cost: a - y."""
        return output_activations - y

    def output_error(self, z, a, y):
        """δ^L = ∂C_x/∂a ⊙ σ'(z^L) (BP1)."""
        return self.cost_derivative(a, y) * sigmoid_prime(z)


class PerExampleChapter3Reference(PerExampleReference):
    """The book's chapter-3 loop as its ``network2.py`` runs it: the cross-entropy cost
    and L2 regularisation, still one example at a time.

    BP1 becomes δ^L = a - y (eq. 66: σ'(z) cancels), and the step shrinks the weights
    first: w -> (1 - eta*lmbda/n) w - (eta/m) Σ_x ∂C_x/∂w, n the training set's size
    (eq. 93); the biases step as before.
    """

    def __init__(self, network: Network, lmbda: float, n: int):
        super().__init__(network)
        self.lmbda, self.n = lmbda, n

    def update_mini_batch(self, mini_batch, eta):
        nabla_b, nabla_w = self.summed_gradients(mini_batch)
        self.weights = [(1 - eta * (self.lmbda / self.n)) * w - (eta / len(mini_batch)) * nw
                        for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(self.biases, nabla_b)]

    def output_error(self, z, a, y):
        """δ^L = a - y, the cross-entropy cost's error for sigmoid outputs (eq. 66)."""
        return a - y


# The parts of the book's network.py the benchmark runs; everything else in it is left out.
BOOK_METHODS = ("__init__", "update_mini_batch", "backprop", "cost_derivative")
BOOK_FUNCTIONS = ("sigmoid", "sigmoid_prime")


@dataclass(frozen=True)
class BookCode:
    """The book's own ``Network`` class, read from a clone of the book's repository."""

    path: Path
    network_class: type
    left_out: tuple        # functions and methods that are not Python 3 (SGD's print statements)

    def network_like(self, network: Network):
        """The book's Network with the same sizes and a copy of ``network``'s weights."""
        book = self.network_class(list(network.sizes))
        book.weights = [w.copy() for w in network.weights]
        book.biases = [b.copy() for b in network.biases]
        return book


def load_book_code(folder: Path) -> BookCode:
    """The Python 3-compatible parts of ``network.py`` in ``folder`` (a clone of the
    book's repository, whose code is in ``src/``, or that ``src`` folder itself).

    The book's code is Python 2.  Each ``def`` of the file, a method of ``Network`` or a
    module function, is compiled on its own under Python 3 with ``xrange`` standing
    for ``range``; those that do not compile are left out (``left_out``).  The parts
    the benchmark runs (:data:`BOOK_METHODS`, :data:`BOOK_FUNCTIONS`) must be there.
    """
    candidates = [folder / "src" / "network.py", folder / "network.py"]
    path = next((candidate for candidate in candidates if candidate.is_file()), None)
    if path is None:
        raise UsageError(f"--book-code {folder}: no src/network.py or network.py there "
                         f"(give a clone of the book's repository)")
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as error:
        raise UsageError(f"--book-code: cannot read {path} ({error.strerror or error})") from None
    module = {"np": np, "numpy": np, "random": random, "xrange": range, "__name__": "book_network"}
    methods, left_out = {}, []
    start = 0
    while start < len(lines):
        # A def at the left margin is a module function, an indented one a method of
        # Network (the file's one class); a def inside a def stays in its block.
        definition = re.match(r"( *)def (\w+)\(", lines[start])
        if definition is None:
            start += 1
            continue
        indent, name = len(definition[1]), definition[2]
        end = start + 1
        while end < len(lines) and (not lines[end].strip() or lines[end].lstrip().startswith("#")
                                    or len(lines[end]) - len(lines[end].lstrip()) > indent):
            end += 1
        # Moved left by the def's indent (a comment further left becomes a blank line),
        # after blank lines that keep the file's line numbers in tracebacks.
        block = [text[indent:] if len(text) - len(text.lstrip()) >= indent else ""
                 for text in lines[start:end]]
        source = "\n" * start + "\n".join(block)
        try:
            with warnings.catch_warnings():      # a docstring's "\partial", fine in Python 2
                warnings.simplefilter("ignore")
                code = compile(source, str(path), "exec")
            exec(code, module, module if indent == 0 else methods)
        except SyntaxError:
            left_out.append(name)
        start = end
    missing = [name for name in BOOK_METHODS if name not in methods]
    missing += [name for name in BOOK_FUNCTIONS if name not in module]
    if missing:
        raise UsageError(f"--book-code: {path} has no Python 3-compatible {', '.join(missing)}")
    return BookCode(path, type("Network", (object,), methods), tuple(left_out))


def step_agrees(network: Network, training, reference) -> bool:
    """One mini-batch step of ``reference`` (a PerExampleReference, or the book's own
    Network) equals Network.update_mini_batch.

    Up to rounding: within 1e-10 in float64, 1e-4 in float32 (the two add the same
    numbers in a different order).
    """
    tolerance = 1e-10 if network.dtype == np.float64 else 1e-4
    copy = Network(network.sizes, seed=0, dtype=network.dtype)
    copy.weights = [w.copy() for w in network.weights]
    copy.biases = [b.copy() for b in network.biases]
    batch = training[:10]
    x, y = batch.inputs.T.astype(network.dtype), batch.targets().T.astype(network.dtype)  # (784, 10), (10, 10)
    with np.errstate(over="ignore"):         # the book's sigmoid: e^(-z) may overflow to inf
        reference.update_mini_batch([(x[:, [j]], y[:, [j]]) for j in range(10)], ETA)
    copy.update_mini_batch(x, y, ETA)
    return all(np.allclose(a, b, rtol=0, atol=tolerance)
               for a, b in zip(copy.weights + copy.biases, reference.weights + reference.biases))


# -- measurements ----------------------------------------------------------------------------

def time_epochs(setting: Setting, training, rounds: int, reference_images: int, seed=1,
                book_code: BookCode | None = None):
    """Alternate our epochs and slices of the reference's (and of the book's own code, if
    given); return the network and the seconds per epoch of each round: ours, the
    reference's, the book's (None without ``book_code``)."""
    network = Network(setting.sizes, seed=seed, dtype=setting.dtype)
    n = len(training)
    scale = EPOCH_IMAGES / n
    # Warm up (first touches of every array, the BLAS buffers) on a small slice.
    network.SGD(training[:min(n, 1000)], 1, setting.mini_batch_size, ETA)

    references = {"reference": PerExampleReference(network)}
    if book_code is not None:
        references["book"] = book_code.network_like(network)
    dtype = network.dtype
    rng = np.random.default_rng(seed)
    seconds = {"ours": [], "reference": [], "book": []}
    for round_number in range(rounds):
        history = network.SGD(training, 1, setting.mini_batch_size, ETA)
        seconds["ours"].append(history.seconds[0] * scale)

        chosen = training[rng.permutation(n)[:min(n, reference_images)]]
        columns = chosen.inputs.astype(dtype)[:, :, None]          # the book's (784, 1) x
        targets = chosen.targets().astype(dtype)[:, :, None]       # and (10, 1) y
        pairs = list(zip(columns, targets))
        mini_batches = [pairs[k:k + setting.mini_batch_size]
                        for k in range(0, len(pairs), setting.mini_batch_size)]
        # The reference and the book's code take turns at going first, so that neither
        # always runs in the other's wake.
        for name in list(references)[::-1 if round_number % 2 else 1]:
            reference = references[name]
            # The same BLAS setting as ours; the book's sigmoid may overflow e^(-z) to
            # inf (and σ to 0, rightly), which numpy would otherwise warn about.
            with blas_threads(1), np.errstate(over="ignore"):
                started = time.perf_counter()
                for mini_batch in mini_batches:
                    reference.update_mini_batch(mini_batch, ETA)
                elapsed = time.perf_counter() - started
            seconds[name].append(elapsed * EPOCH_IMAGES / len(pairs))
    return network, seconds["ours"], seconds["reference"], seconds["book"] if book_code else None


# Chapter 3's network as the book's network2.py trains it in its chapter (cross-entropy,
# the default initialisation, eta 0.5, lmbda 5.0, mini-batches of 10).
CHAPTER3 = {"sizes": (784, 30, 10), "mini_batch_size": 10, "eta": 0.5, "lmbda": 5.0}
CHAPTER3_TARGETS = {"network2_over_library": 1.1, "loop_over_network2": 1.5}


def chapter3_trainings(training, loop_images: int, seed=1) -> dict:
    """The three trainings :func:`time_network2` times, each ``(train, images)``: a
    function of no arguments that trains one epoch, and the number of images it trains on.

    ``digits.book.network2`` is given ``training`` as the book's pairs and the library's
    ``Network`` the DataSet itself; the per-example loop
    (:class:`PerExampleChapter3Reference`), from the same initial weights, the first
    ``loop_images`` of them as pairs of the network's dtype.
    """
    import contextlib
    import io

    from digits.book import network2

    sizes, m, eta, lmbda = (CHAPTER3[key] for key in ("sizes", "mini_batch_size", "eta", "lmbda"))
    pairs = training.as_pairs(one_hot=True)             # as the book's load_data_wrapper gives it
    start = Network(list(sizes), cost="cross-entropy", init="default", seed=seed)
    columns = [(x.astype(start.dtype), y.astype(start.dtype)) for x, y in pairs[:loop_images]]
    order = np.random.default_rng(seed)

    def book():
        with contextlib.redirect_stdout(io.StringIO()):         # its "Epoch 0 training complete"
            network2.Network(list(sizes), seed=seed).SGD(pairs, 1, m, eta, lmbda=lmbda)

    def library():
        Network(list(sizes), cost="cross-entropy", init="default", seed=seed).SGD(
            training, 1, m, eta, lmbda=lmbda)

    def loop():
        reference = PerExampleChapter3Reference(start, lmbda, len(training))
        shuffled = [columns[i] for i in order.permutation(len(columns))]
        with np.errstate(over="ignore"):                      # the book's sigmoid, as above
            for k in range(0, len(shuffled), m):
                reference.update_mini_batch(shuffled[k:k + m], eta)

    return {"network2": (book, len(training)), "library": (library, len(training)),
            "per_example_loop": (loop, len(columns))}


def time_network2(training, rounds: int, loop_images: int) -> dict:
    """Seconds per epoch of 50,000 images of chapter 3's network trained by
    ``digits.book.network2``, by the library and by the per-example loop, in one process
    with one BLAS thread each.

    Each round trains each of the three for one epoch, network2 and the library of
    ``training``, the loop of its first ``loop_images`` images (each scaled to 50,000),
    in turns whose order rotates from round to round so that none always runs first;
    one untimed round warms them up.
    """
    trainings = chapter3_trainings(training, loop_images)
    names = list(trainings)
    seconds = {name: [] for name in names}
    with blas_threads(1):
        for train, _ in trainings.values():
            train()
        for round_number in range(rounds):
            first = round_number % len(names)
            for name in names[first:] + names[:first]:
                train, images = trainings[name]
                started = time.perf_counter()
                train()
                seconds[name].append((time.perf_counter() - started) * EPOCH_IMAGES / images)
    return seconds


# Chapter 6: the book's ReLU network (ch6-relu), float32, mini-batch 10, as `make conv`'s
# layers are built.  The targets: PyTorch's CPU eager mode's time, and better
# (docs/speed-notes.md).
CONV_LAYERS = "conv20 conv40 fc100 softmax"
CONV_TARGETS = {"seconds_per_epoch": 10.0, "better": 6.0}


def time_conv_epochs(training, rounds: int, images: int, seed=1, first_round=0) -> list:
    """Seconds per epoch of 50,000 images of the chapter-6 ReLU network, one per round.

    Each round trains on the next ``images`` training images (an epoch of that slice,
    evaluation excluded) and is scaled to a full epoch.
    """
    from digits.nn.layer_spec import parse_layers

    network = Network(parse_layers(CONV_LAYERS, activation="relu"), seed=seed, dtype=np.float32)
    seconds = []
    for round_ in range(first_round, first_round + rounds):
        start = (round_ * images) % max(1, len(training) - images)
        history = network.SGD(training[start:start + images], 1, 10, 0.03, lmbda=1.0)
        seconds.append(history.seconds[0] * EPOCH_IMAGES / images)
    return seconds


PYTORCH_REFERENCE = REPO / "scripts" / "pytorch_reference.py"


def time_pytorch(python: str, data_dir: Path, images: int, first_round: int) -> dict:
    """One round of the same network in PyTorch (scripts/pytorch_reference.py), run by
    ``python``, the interpreter of an environment that has PyTorch: its JSON line,
    with ``seconds_per_epoch`` the one round's figure."""
    # The round's slice of images is the one ours trained on: --rounds 1 from that offset.
    info = run_pytorch_reference(python, "--data", str(data_dir), "--images", str(images),
                                 "--rounds", "1", "--first-round", str(first_round))
    try:
        info["seconds_per_epoch"] = float(info["seconds_per_epoch"][0])
    except (KeyError, IndexError, TypeError, ValueError):
        raise UsageError(f"--pytorch {python}: its answer has no seconds per epoch") from None
    if not info["seconds_per_epoch"] > 0:
        raise UsageError(f"--pytorch {python}: a time of {info['seconds_per_epoch']} s per epoch")
    return info


def run_pytorch_reference(python: str, *arguments) -> dict:
    """The JSON line scripts/pytorch_reference.py prints when ``python`` runs it with
    ``arguments`` (with at least ``torch``, the version, and ``threads``)."""
    command = [python, str(PYTORCH_REFERENCE), *arguments]
    try:
        # The other environment has no digits installed: it finds this checkout's.
        process = subprocess.run(command, capture_output=True, text=True, timeout=3600,
                                 env=dict(os.environ, PYTHONPATH=str(REPO)))
    except OSError as error:
        raise UsageError(f"--pytorch {python}: cannot run it ({error.strerror or error})") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"--pytorch {python}: no answer after an hour") from None
    lines = process.stdout.strip().splitlines()
    if process.returncode != 0 or not lines:
        said = (process.stderr.strip().splitlines() or [f"exit status {process.returncode}"])[-1]
        raise UsageError(f"--pytorch {python}: {said}")
    try:
        info = json.loads(lines[-1])
        info["torch"], info["threads"] = str(info["torch"]), int(info["threads"])
    except (ValueError, KeyError, IndexError, TypeError):
        raise UsageError(f"--pytorch {python}: not the reference's JSON line: {lines[-1][:80]!r}") from None
    return info


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
from digits.data.mnist import load_data
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
                   "--epochs", str(epochs), "--seed", "1", "--quiet", "--no-download",
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


def run_bench(args, book_code: BookCode | None = None) -> dict:
    """Every measurement of the benchmark, as the JSON it writes."""
    quick = args.quick
    load_rounds, rounds = (1, 2) if quick else (5, args.epochs)
    # MNIST fetched first if it is missing (unless --no-download); then, while this process
    # holds no data (see peak_memory_of_training), the training run, where a missing or
    # broken data folder stops the benchmark with the loader's one-line error.
    if not args.no_download:
        fetch_missing(args.data, notify=notice)
    if args.pytorch is not None:            # a wrong --pytorch stops the bench now, not at its end
        run_pytorch_reference(args.pytorch, "--check")
    training_run = peak_memory_of_training(args.data)
    loading = time_loading(args.data, load_rounds)
    training, _, test = load_data(args.data)
    if quick:
        training = training[:2_000]
    reference_images = 200 if quick else args.reference_images

    results = {
        "quick": quick, "data": str(args.data), "training_images_timed": len(training),
        "epoch_images": EPOCH_IMAGES, "eta": ETA, "rounds": rounds,
        "reference_images_per_round": reference_images, "machine": machine_info(),
        "load_seconds": median(loading), "load_seconds_runs": loading, "epochs": [],
    }
    if book_code is not None:
        results["book_code"] = {"path": str(book_code.path), "left_out": list(book_code.left_out)}
    book_networks = {}
    for setting in SETTINGS:
        entry, network = epoch_entry(setting, training, rounds, reference_images, book_code)
        if "reference_agrees" in entry:
            book_networks[setting.dtype] = network
        results["epochs"].append(entry)
    results["network2"] = network2_entry(training, rounds, reference_images)
    results["convolutional"] = convolutional_entry(args, training)
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


def machine_info() -> dict:
    return {
        "processors": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas_thread_control": blas_thread_control(),
        "blas_threads_default": blas_thread_count(),
    }


def epoch_entry(setting, training, rounds, reference_images, book_code) -> tuple:
    """``(entry, network)``: the seconds per epoch of one setting, ours beside the
    reference's (and the book's code's), and the network ours trained."""
    network, ours, theirs, books = time_epochs(setting, training, rounds, reference_images,
                                               book_code=book_code)
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
    if books is not None:
        entry.update({
            "book_seconds_per_epoch": median(books),
            "book_seconds_per_epoch_runs": books,
            "book_ratio": median([book / mine for book, mine in zip(books, ours)]),
            "reference_over_book": median([reference / book for reference, book in zip(theirs, books)]),
        })
    if setting.sizes == (784, 30, 10) and setting.mini_batch_size == 10:
        entry["target_seconds_per_epoch"] = TARGETS["book_epoch_seconds"]
        entry["reference_agrees"] = step_agrees(network, training, PerExampleReference(network))
        if book_code is not None:
            entry["book_agrees"] = step_agrees(network, training, book_code.network_like(network))
    notice(f"  measured {setting.name}: {median(ours):.3f} s per epoch, "
           f"reference {median(theirs):.2f} s"
           + (f", the book's network.py {median(books):.2f} s" if books else ""))
    return entry, network


def network2_entry(training, rounds, loop_images) -> dict:
    """Seconds per epoch of chapter 3's network: digits.book.network2, the library and the
    per-example loop, timed in turns (:func:`time_network2`), and the ratios of each round."""
    runs = time_network2(training, rounds, loop_images)
    entry = {"name": "digits.book.network2 vs the library vs the per-example loop",
             **{key: list(value) if key == "sizes" else value for key, value in CHAPTER3.items()},
             "cost": "cross-entropy", "init": "default", "blas_threads": 1,
             "images_per_round": len(training), "loop_images_per_round": min(len(training), loop_images),
             "seconds_per_epoch": {name: median(seconds) for name, seconds in runs.items()},
             "seconds_per_epoch_runs": runs,
             "network2_over_library": median([book / library for book, library
                                              in zip(runs["network2"], runs["library"])]),
             "loop_over_network2": median([loop / book for loop, book
                                           in zip(runs["per_example_loop"], runs["network2"])]),
             "targets": CHAPTER3_TARGETS}
    seconds = entry["seconds_per_epoch"]
    notice(f"  measured digits.book.network2: {seconds['network2']:.3f} s per epoch, the library "
           f"{seconds['library']:.3f} s, the per-example loop {seconds['per_example_loop']:.2f} s")
    return entry


def convolutional_entry(args, training) -> dict:
    """Seconds per epoch of the chapter-6 network (and of PyTorch's, with --pytorch, in turns)."""
    conv_images = 200 if args.quick else args.conv_images
    conv_rounds = 1 if args.quick else 3
    if args.pytorch is None:
        conv = time_conv_epochs(training, conv_rounds, conv_images)
    else:
        # In turns, ours then PyTorch's, so that both see the same machine.
        conv, torch_runs = [], []
        for round_ in range(conv_rounds):
            conv += time_conv_epochs(training, 1, conv_images, first_round=round_)
            torch_info = time_pytorch(args.pytorch, args.data, conv_images, first_round=round_)
            torch_runs.append(torch_info["seconds_per_epoch"])
    entry = {"layers": CONV_LAYERS, "activation": "relu", "dtype": "float32",
             "mini_batch_size": 10, "images_per_round": conv_images,
             "seconds_per_epoch": median(conv), "seconds_per_epoch_runs": conv,
             "targets": CONV_TARGETS}
    notice(f"  measured chapter 6 ({CONV_LAYERS}, relu): {median(conv):.1f} s per epoch")
    if args.pytorch is not None:
        entry["pytorch"] = {
            "python": str(args.pytorch), "torch": torch_info["torch"], "threads": torch_info["threads"],
            "seconds_per_epoch": median(torch_runs), "seconds_per_epoch_runs": torch_runs,
            "ratio": median([theirs / ours for theirs, ours in zip(torch_runs, conv)])}
        notice(f"  measured PyTorch {torch_info['torch']}: {median(torch_runs):.1f} s per epoch")
    return entry


def met(value, target, below=True) -> str:
    if target is None:
        return ""
    return "met" if (value < target if below else value >= target) else "MISSED"


def table(results) -> str:
    """The benchmark's table, as ``make bench`` prints it."""
    return "\n".join(epochs_table_lines(results) + other_lines(results))


def epochs_table_lines(results) -> list:
    """Seconds per epoch of each setting, ours beside the reference's (and the book's)."""
    lines = []
    slice_note = (f"per-example reference timed on {results['reference_images_per_round']:,} images "
                  f"per round and scaled to {results['epoch_images']:,}")
    lines.append(f"Seconds per epoch of {results['epoch_images']:,} images (eta {results['eta']}, "
                 f"evaluation excluded), median of {results['rounds']} rounds; {slice_note}"
                 + ("; QUICK: timed on a slice, rough" if results["quick"] else "") + ".")
    lines.append("")
    book = "book_code" in results
    header = f"{'network':16} {'mini-batch':>10} {'dtype':>8} {'ours s':>8} {'reference s':>12} {'ratio':>7}"
    if book:
        header += f" {'book s':>8} {'book/ours':>9} {'ref/book':>8}"
    header += "  target"
    lines.append(header)
    lines.append("-" * len(header))
    for entry in results["epochs"]:
        targets = []
        if entry["target_ratio"]:
            targets.append(f"{entry['target_ratio']:g}x {met(entry['ratio'], entry['target_ratio'], below=False)}")
        if "target_seconds_per_epoch" in entry:
            targets.append(f"< {entry['target_seconds_per_epoch']} s "
                           f"{met(entry['seconds_per_epoch'], entry['target_seconds_per_epoch'])}")
        book_columns = (f" {entry['book_seconds_per_epoch']:>8.2f} {entry['book_ratio']:>8.1f}x "
                        f"{entry['reference_over_book']:>8.2f}" if book else "")
        lines.append(f"{str(entry['sizes']):16} {entry['mini_batch_size']:>10} {entry['dtype']:>8} "
                     f"{entry['seconds_per_epoch']:>8.3f} {entry['reference_seconds_per_epoch']:>12.2f} "
                     f"{entry['ratio']:>6.1f}x{book_columns}  {', '.join(targets)}")
    if book:
        left_out = results["book_code"]["left_out"]
        lines.append(f"book s: {results['book_code']['path']}, timed on the reference's images"
                     + (f" (left out, not Python 3: {', '.join(left_out)})" if left_out else "")
                     + "; its float64 running sums turn float32 weights to float64 after one step.")
    return lines


def network2_lines(results) -> list:
    """The line of digits.book.network2 beside the library and the per-example loop."""
    entry = results["network2"]
    seconds, targets = entry["seconds_per_epoch"], entry["targets"]
    return ["", f"{entry['name']} ({list(entry['sizes'])}, {entry['cost']}, eta {entry['eta']}, "
                f"lmbda {entry['lmbda']}, mini-batch {entry['mini_batch_size']}; "
                f"{entry['blas_threads']} BLAS thread each, in turns; the loop timed on "
                f"{entry['loop_images_per_round']:,} images a round): "
                f"{seconds['network2']:.3f} s, {seconds['library']:.3f} s, "
                f"{seconds['per_example_loop']:.2f} s per epoch of {results['epoch_images']:,}",
            f"  network2 / library {entry['network2_over_library']:.2f}   (target < "
            f"{targets['network2_over_library']:g} "
            f"{met(entry['network2_over_library'], targets['network2_over_library'])}); "
            f"loop / network2 {entry['loop_over_network2']:.1f}x   (target >= "
            f"{targets['loop_over_network2']:g}x "
            f"{met(entry['loop_over_network2'], targets['loop_over_network2'], below=False)})"]


def other_lines(results) -> list:
    """Chapter 3's network2, chapter 6's network, evaluation, loading, memory, and the
    accuracy curves."""
    lines = []
    lines += network2_lines(results)
    conv = results["convolutional"]
    lines.append("")
    lines.append(f"chapter 6, [{conv['layers']}] {conv['activation']}, mini-batch 10, {conv['dtype']}: "
                 f"{conv['seconds_per_epoch']:.1f} s per epoch of {results['epoch_images']:,} "
                 f"(timed on {conv['images_per_round']:,} images a round)   (target < "
                 f"{conv['targets']['seconds_per_epoch']:g} s {met(conv['seconds_per_epoch'], conv['targets']['seconds_per_epoch'])}; "
                 f"better < {conv['targets']['better']:g} s {met(conv['seconds_per_epoch'], conv['targets']['better'])})")
    if "pytorch" in conv:
        torch = conv["pytorch"]
        lines.append(f"  PyTorch {torch['torch']} (eager, {torch['threads']} thread"
                     f"{'s' if torch['threads'] != 1 else ''}), the same network and images in turns: "
                     f"{torch['seconds_per_epoch']:.1f} s per epoch; PyTorch / ours {torch['ratio']:.2f}   "
                     f"(target: as fast as PyTorch, >= 1.00 {met(torch['ratio'], 1.0, below=False)})")
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
    return lines


def main(argv=None) -> int:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=HelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of a few seconds on 2,000 training images")
    parser.add_argument("--epochs", type=int, default=5,
                        help="rounds per setting: epochs of ours, slices of the reference's")
    parser.add_argument("--reference-images", type=int, default=5_000, metavar="N",
                        help="images of each round the per-example reference is timed on")
    parser.add_argument("--conv-images", type=int, default=5_000, metavar="N",
                        help="images each round of the chapter-6 network is timed on")
    parser.add_argument("--curve-epochs", type=int, default=5, metavar="N",
                        help="epochs of the float64 / float32 accuracy curves")
    parser.add_argument("--curve-seeds", type=int, nargs="+", default=[1, 2, 3], metavar="SEED",
                        help="seeds of the accuracy curves")
    parser.add_argument("--book-code", type=Path, default=None, metavar="DIR",
                        help="a clone of the book's repository (github.com/mnielsen/"
                             "neural-networks-and-deep-learning): also time its own src/network.py "
                             "on the reference's images")
    parser.add_argument("--pytorch", default=None, metavar="PYTHON",
                        help="the Python of an environment that has PyTorch (never digits' own): "
                             "also time the chapter-6 network in PyTorch (scripts/pytorch_reference.py), "
                             "in turns with ours")
    parser.add_argument("--output", type=Path, default=None, metavar="PATH",
                        help="the JSON file (default results/bench.json, or "
                             "results/quick/bench.json with --quick)")
    args = parser.parse_args(argv)
    output = args.output or REPO / "results" / ("quick" if args.quick else "") / "bench.json"
    return exit_status(lambda: bench(args, output), "bench")


def bench(args, output) -> int:
    """Run the benchmark, print its table and write the JSON file."""
    if min(args.epochs, args.reference_images, args.curve_epochs, args.conv_images) < 1:
        raise UsageError("--epochs, --reference-images, --conv-images and --curve-epochs must be "
                         "at least 1")
    book_code = load_book_code(args.book_code) if args.book_code is not None else None
    results = run_bench(args, book_code)
    show(table(results))
    output.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(output, (json.dumps(results, indent=2) + "\n").encode())
    show(f"\nWrote {output}")
    return 0

