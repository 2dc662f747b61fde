"""``digits train``: train a network on MNIST and save it.

The defaults are the book's chapter-1 run: ``[784, 30, 10]`` sigmoid neurons, the
quadratic cost, N(0, 1) weights, 30 epochs of mini-batches of 10 with eta = 3.0, and
the test accuracy printed after every epoch.  The chapter-3 flags (cost,
regularisation, initialisation, early stopping, momentum, monitoring) switch on the
rest of the book.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..cli import check_seed
from ..errors import UsageError

INPUTS, OUTPUTS = 784, 10


def configure(parser):
    book = parser.add_argument_group("the network and gradient descent (chapter 1)")
    book.add_argument("--sizes", type=int, nargs="+", default=[784, 30, 10], metavar="N",
                      help="neurons per layer, from 784 inputs to 10 outputs")
    book.add_argument("--epochs", type=int, default=30, help="passes over the training data")
    book.add_argument("--mini-batch-size", type=int, default=10, metavar="M",
                      help="examples per gradient step")
    book.add_argument("--eta", type=float, default=3.0, help="the learning rate")
    book.add_argument("--seed", type=int, default=None,
                      help="seed for the initial weights and the shuffling (same seed, same run)")
    book.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                      help="floating-point precision of the weights and the arithmetic")

    ch3 = parser.add_argument_group("improving the way networks learn (chapter 3)")
    ch3.add_argument("--cost", choices=["quadratic", "cross-entropy"], default="quadratic",
                     help="the cost function")
    ch3.add_argument("--init", choices=["large", "default"], default="large",
                     help="initial weights: large is N(0, 1), default is N(0, 1/n_in)")
    ch3.add_argument("--lmbda", type=float, default=0.0, help="L2 regularisation parameter lambda")
    ch3.add_argument("--l1", type=float, default=0.0, help="L1 regularisation parameter")
    ch3.add_argument("--momentum", type=float, default=0.0,
                     help="momentum coefficient mu in [0, 1); 0 is plain gradient descent")
    ch3.add_argument("--early-stopping", type=int, default=0, metavar="N",
                     help="stop when validation accuracy has not improved for N epochs and "
                          "keep the best epoch's weights (0: off)")
    ch3.add_argument("--schedule", choices=["halve"], default=None,
                     help="with --early-stopping: halve eta at each stall instead of stopping, "
                          "and stop when eta reaches 1/128 of its start")
    ch3.add_argument("--validation", action="store_true",
                     help="report accuracy on the 10,000 validation images instead of the test images")
    ch3.add_argument("--monitor", action="store_true",
                     help="print the cost and accuracy on the evaluation and training data each epoch")

    files = parser.add_argument_group("files")
    files.add_argument("--data", type=Path, default=Path("data/mnist"), metavar="DIR",
                       help="where the MNIST files are (see `digits download`)")
    files.add_argument("--model", type=Path, default=Path("data/network.npz"), metavar="PATH",
                       help="where to save the trained network")
    files.add_argument("--plot", type=Path, default=None, metavar="PATH",
                       help="redraw a PNG of the monitored curves after every epoch "
                            "(open it in an image viewer to watch training)")
    files.add_argument("--quiet", action="store_true", help="no progress bar")


def check_arguments(args):
    """Refuse nonsense before any data is loaded."""
    sizes = args.sizes
    if len(sizes) < 2 or sizes[0] != INPUTS or sizes[-1] != OUTPUTS:
        raise UsageError(f"--sizes must start with {INPUTS} inputs and end with {OUTPUTS} outputs, "
                         f"got {' '.join(map(str, sizes))}")
    if min(sizes) < 1:
        raise UsageError(f"every layer needs at least one neuron, got {' '.join(map(str, sizes))}")
    if args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
    if args.mini_batch_size < 1:
        raise UsageError(f"--mini-batch-size must be at least 1, got {args.mini_batch_size}")
    if not (math.isfinite(args.eta) and args.eta > 0):
        raise UsageError(f"--eta must be a positive number, got {args.eta}")
    for flag, value in (("--lmbda", args.lmbda), ("--l1", args.l1)):
        if not (math.isfinite(value) and value >= 0):
            raise UsageError(f"{flag} must be zero or positive, got {value}")
    if not (math.isfinite(args.momentum) and 0 <= args.momentum < 1):
        raise UsageError(f"--momentum must be in [0, 1), got {args.momentum}")
    if args.early_stopping < 0:
        raise UsageError(f"--early-stopping must be 0 (off) or a number of epochs, got {args.early_stopping}")
    if args.schedule and not args.early_stopping:
        raise UsageError("--schedule halve needs --early-stopping N to say when to halve")
    check_seed(args.seed)
    if args.model.is_dir():
        raise UsageError(f"cannot save to {args.model}: it is a folder")
    if not args.model.parent.is_dir():
        raise UsageError(f"cannot save to {args.model}: the folder {args.model.parent} does not exist")
    if args.model.suffix != ".npz":
        raise UsageError(f"--model must name an .npz file, got {args.model}")
    if args.plot is not None and not args.plot.parent.is_dir():
        raise UsageError(f"cannot draw {args.plot}: the folder {args.plot.parent} does not exist")


def describe(args) -> str:
    """The run's settings in one line, the way the book states them."""
    text = (f"{args.sizes}, {args.cost} cost, {args.init} init, eta {args.eta:g}, "
            f"mini-batch {args.mini_batch_size}")
    if args.lmbda:
        text += f", lambda {args.lmbda:g}"
    if args.l1:
        text += f", L1 {args.l1:g}"
    if args.momentum:
        text += f", momentum {args.momentum:g}"
    if args.early_stopping:
        text += f", no-improvement-in-{args.early_stopping}"
        if args.schedule:
            text += f" ({args.schedule} eta)"
    return text


def run(args) -> int:
    from tqdm import tqdm

    from .. import model_file
    from ..download import sha256_of
    from ..mnist import load_data
    from ..network import Network
    from ..report import epoch_line

    check_arguments(args)
    dtype = np.dtype(args.dtype)
    training, validation, test = load_data(args.data)
    evaluation_name, evaluation = ("validation", validation) if args.validation else ("test", test)

    network = Network(args.sizes, cost=args.cost, init=args.init, seed=args.seed, dtype=dtype)
    print(f"Training {describe(args)}, {args.dtype}, up to {args.epochs} epochs on "
          f"{len(training)} images; accuracy on the {len(evaluation)} {evaluation_name} images")

    def progress(batches):
        return tqdm(batches, desc="  mini-batches", unit="batch", leave=False,
                    disable=True if args.quiet else None, mininterval=0.25)

    def report(epoch, history):
        print(epoch_line(epoch, history, evaluation_name), flush=True)
        if args.plot is not None:
            from ..plots import save_history_plot
            save_history_plot(history, args.plot, title=describe(args),
                              evaluation_name=evaluation_name)

    try:
        history = network.SGD(
            training, args.epochs, args.mini_batch_size, args.eta,
            lmbda=args.lmbda, l1=args.l1, momentum=args.momentum,
            evaluation_data=evaluation,
            validation_data=validation if args.early_stopping else None,
            monitor_evaluation_accuracy=True,
            monitor_evaluation_cost=args.monitor,
            monitor_training_cost=args.monitor, monitor_training_accuracy=args.monitor,
            early_stopping_n=args.early_stopping, schedule=args.schedule,
            callback=report, progress=progress)
    except KeyboardInterrupt:
        print(f"\nInterrupted: training stopped, nothing was saved ({args.model} is unchanged).")
        return 130

    accuracies = history.evaluation_accuracy
    best = max(range(len(accuracies)), key=accuracies.__getitem__)
    total_seconds = sum(history.seconds)
    if history.best_epoch is not None:
        verdict = "stopped early" if history.stopped_early else "ran every epoch"
        print(f"Early stopping {verdict}; kept the weights of epoch {history.best_epoch} "
              f"(validation {100 * history.validation_accuracy[history.best_epoch - 1] / history.n_validation:.2f}%)")
        final = network.evaluate(evaluation)
    else:
        final = accuracies[-1]
    print(f"Best {evaluation_name} accuracy {100 * accuracies[best] / history.n_evaluation:.2f}% "
          f"at epoch {best + 1}; final {100 * final / history.n_evaluation:.2f}%; "
          f"{total_seconds:.1f} s of training ({total_seconds / history.epochs:.2f} s per epoch)")
    test_accuracy = final / len(test) if evaluation is test else network.accuracy(test)
    if evaluation is not test:
        print(f"Test accuracy of the final weights (measured once, chose nothing): "
              f"{100 * test_accuracy:.2f}%")

    metadata = {
        "hyperparameters": {
            "epochs": args.epochs, "mini_batch_size": args.mini_batch_size, "eta": args.eta,
            "lmbda": args.lmbda, "l1": args.l1, "momentum": args.momentum,
            "early_stopping": args.early_stopping, "schedule": args.schedule,
            "seed": args.seed, "monitor": args.monitor,
        },
        "epochs_run": history.epochs,
        "evaluated_on": evaluation_name,
        "final_accuracy": final / history.n_evaluation,
        "test_accuracy": test_accuracy,
        "best_accuracy": accuracies[best] / history.n_evaluation,
        "best_epoch": best + 1,
        "early_stopping_best_epoch": history.best_epoch,
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data_sha256": {path.name: sha256_of(path) for path in sorted(args.data.iterdir())
                        if path.name.startswith(("train-", "t10k-")) and path.is_file()},
    }
    model_file.save(network, args.model, metadata, history)
    print(f"Saved the network to {args.model}")

    from ..diagnose import explain, rarely_answered
    for line in explain(rarely_answered(network, evaluation), args.cost, evaluation_name):
        print(line)
    return 0
