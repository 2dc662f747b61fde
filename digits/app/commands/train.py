"""``digits train``: train a network on MNIST and save it.

The defaults are the book's chapter-1 run: ``[784, 30, 10]`` sigmoid neurons, the
quadratic cost, N(0, 1) weights, 30 epochs of mini-batches of 10 with eta = 3.0, and
the test accuracy printed after every epoch.  The chapter-3 flags (cost,
regularisation, initialisation, early stopping, momentum, monitoring) switch on the
rest of the book, and ``--layers`` its chapter 6: convolutional networks, written in
the short syntax of :mod:`digits.nn.layer_spec`, with their own defaults (the book's:
60 epochs, eta 0.1, float32, the network3.py initialisation, and each epoch's
validation accuracy reported with the test accuracy at the best validation epoch).
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from digits.app.mnist_flags import add_data_arguments, load_mnist
from digits.app.terminal import show
from digits.app.train_watchers import CtrlCStops
from digits.app.watch import add_watch_arguments, watch_for
from digits.nn.training import Diverged
from digits.store.model_file import DEFAULT_MODEL
from digits.system.errors import DigitsError, UsageError
from digits.system.files import check_png_path

INPUTS, OUTPUTS = 784, 10

# Flags whose default depends on the chapter: (--sizes, chapters 1-3; --layers, chapter 6).
DEFAULTS = {
    "epochs": (30, 60),
    "eta": (3.0, 0.1),
    "dtype": ("float64", "float32"),
    "init": ("large", "network3"),
}


def configure(parser):
    """The flags, in groups that follow the book: chapters 1, 3 and 6, then files and the page."""
    add_chapter1_flags(parser.add_argument_group("the network and gradient descent (chapter 1)"))
    add_chapter3_flags(parser.add_argument_group("improving the way networks learn (chapter 3)"))
    add_chapter6_flags(parser.add_argument_group("deep learning (chapter 6)"))
    add_file_flags(parser.add_argument_group("files"))
    add_watch_arguments(parser.add_argument_group("a live page of the training"))


def add_chapter1_flags(book):
    """The network's sizes and plain gradient descent: epochs, mini-batches, eta, the seed."""
    book.add_argument("--sizes", type=int, nargs="+", default=None, metavar="N",
                      help="neurons per layer, from 784 inputs to 10 outputs (default: 784 30 10)")
    book.add_argument("--epochs", type=int, default=None,
                      help="passes over the training data (default: 30; 60 with --layers)")
    book.add_argument("--mini-batch-size", type=int, default=10, metavar="M",
                      help="examples per gradient step")
    book.add_argument("--eta", type=float, default=None,
                      help="the learning rate (default: 3.0; 0.1 with --layers)")
    book.add_argument("--seed", type=int, default=None,
                      help="seed for the initial weights, the shuffling and dropout (same seed, same run)")
    book.add_argument("--dtype", choices=["float64", "float32"], default=None,
                      help="floating-point precision of the weights and the arithmetic "
                           "(default: float64; float32 with --layers)")


def add_chapter3_flags(ch3):
    """The cost, the initialisation, regularisation, momentum, early stopping, monitoring."""
    ch3.add_argument("--cost", choices=["quadratic", "cross-entropy", "log-likelihood"], default=None,
                     help="the cost function (default: quadratic; log-likelihood for a softmax output)")
    ch3.add_argument("--init", choices=["large", "default", "network3"], default=None,
                     help="initial weights: large is N(0, 1), default N(0, 1/n_in), network3 "
                          "N(0, 1/n_out) as the book's chapter-6 code (default: large; network3 "
                          "with --layers)")
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


def add_chapter6_flags(ch6):
    """Layers instead of sizes (convolutional ones too), their activation, dropout, the expanded data."""
    ch6.add_argument("--layers", default=None, metavar="SPEC",
                     help="the layers, instead of --sizes: conv<filters> (5x5 filters, 2x2 "
                          "max-pooling; options /3x3 /l2), fc<neurons>, softmax; options after "
                          "slashes: an activation (/relu), dropout (/drop0.5). For example "
                          "'conv20 conv40 fc100 softmax'")
    ch6.add_argument("--activation", choices=["sigmoid", "tanh", "relu"], default="sigmoid",
                     help="the hidden layers' neurons (a layer's own /option wins)")
    ch6.add_argument("--dropout", type=float, default=0.0, metavar="P",
                     help="while training, drop each input of the fully connected and softmax "
                          "layers with probability P (the kept ones are scaled by 1/(1-P))")
    ch6.add_argument("--expand", action="store_true",
                     help="train on the expanded data: each training image and its four one-pixel "
                          "shifts (250,000 images)")


def add_file_flags(files):
    """The data, the model saved, the plot, the checkpoint, and --quiet."""
    add_data_arguments(files)
    files.add_argument("--model", type=Path, default=DEFAULT_MODEL, metavar="PATH",
                       help="where to save the trained network")
    files.add_argument("--plot", type=Path, default=None, metavar="PATH",
                       help="redraw a PNG of the monitored curves after every epoch "
                            "(open it in an image viewer to watch training)")
    files.add_argument("--checkpoint", type=Path, default=None, metavar="PATH",
                       help="save the run after every epoch to PATH (.npz) and, if PATH already "
                            "holds this run's checkpoint, go on from it; deleted once the "
                            "network is saved")
    files.add_argument("--quiet", action="store_true", help="no progress bar")


def resolve_defaults(args):
    """Fill in the flags whose default depends on the chapter (see DEFAULTS)."""
    column = 1 if args.layers is not None else 0
    for name, defaults in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, defaults[column])
    if args.sizes is None and args.layers is None:
        args.sizes = [INPUTS, 30, OUTPUTS]


def build_network(args):
    """The network the flags describe (raises UsageError for a wrong description)."""
    from digits.nn.layer_spec import chapter6_network
    from digits.nn.layers import FullyConnected
    from digits.nn.network import Network

    dtype = np.dtype(args.dtype)
    if args.layers is not None:
        return chapter6_network(args.layers, activation=args.activation, dropout=args.dropout,
                                init=args.init, cost=args.cost, seed=args.seed, dtype=dtype)
    if args.activation == "sigmoid" and not args.dropout and args.init != "network3":
        # The book's chapters 1-3, exactly as they were.
        return Network(args.sizes, cost=args.cost or "quadratic", init=args.init, seed=args.seed,
                       dtype=dtype)
    pairs = list(zip(args.sizes[:-1], args.sizes[1:]))
    layers = [FullyConnected(n_in, n_out, activation="sigmoid" if i == len(pairs) - 1 else args.activation,
                             dropout=args.dropout, init=args.init)
              for i, (n_in, n_out) in enumerate(pairs)]
    return Network(layers, cost=args.cost or "quadratic", seed=args.seed, dtype=dtype)


def check_arguments(args):
    """Refuse nonsense before any data is loaded."""
    resolve_defaults(args)
    if args.layers is not None and args.sizes is not None:
        raise UsageError("give --sizes (chapters 1-3) or --layers (chapter 6), not both")
    if args.layers is None:        # (a layer description is checked as it is parsed)
        sizes = args.sizes
        if len(sizes) < 2 or sizes[0] != INPUTS or sizes[-1] != OUTPUTS:
            raise UsageError(f"--sizes must start with {INPUTS} inputs and end with {OUTPUTS} outputs, "
                             f"got {' '.join(map(str, sizes))}")
        if min(sizes) < 1:
            raise UsageError(f"every layer needs at least one neuron, got {' '.join(map(str, sizes))}")
    check_training_settings(args)
    check_destinations(args)


# The flag of each setting the training loop checks (digits.nn.hyperparameters).
FLAGS = {"epochs": "--epochs", "mini_batch_size": "--mini-batch-size", "eta": "--eta",
         "lmbda": "--lmbda", "l1": "--l1", "momentum": "--momentum",
         "early_stopping_n": "--early-stopping", "schedule": "--schedule", "seed": "--seed",
         "dropout": "--dropout"}


def check_training_settings(args):
    """The settings of stochastic gradient descent, checked against the library's table."""
    from digits.nn.hyperparameters import check_run

    check_run({"dropout": args.dropout, "epochs": args.epochs, "mini_batch_size": args.mini_batch_size,
               "eta": args.eta, "lmbda": args.lmbda, "l1": args.l1, "momentum": args.momentum,
               "early_stopping_n": args.early_stopping, "schedule": args.schedule, "seed": args.seed},
              has_validation=True, flags=FLAGS)


def check_destinations(args):
    """The files training will write, checked before any work: a trained network must
    not be lost because its folder cannot be written."""
    if args.model.is_dir():
        raise UsageError(f"cannot save to {args.model}: it is a folder")
    if args.model == DEFAULT_MODEL and not args.model.parent.exists():
        args.model.parent.mkdir(parents=True)     # a fresh folder: data/ is ours to make
    if not args.model.parent.is_dir():
        raise UsageError(f"cannot save to {args.model}: the folder {args.model.parent} does not exist")
    if args.model.suffix != ".npz":
        raise UsageError(f"--model must name an .npz file, got {args.model}")
    if not os.access(args.model.parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot save to {args.model}: the folder {args.model.parent} is not writable")
    if args.checkpoint is not None:
        if args.checkpoint.suffix != ".npz" or args.checkpoint.is_dir():
            raise UsageError(f"--checkpoint must name an .npz file, got {args.checkpoint}")
        if not args.checkpoint.parent.is_dir() or not os.access(args.checkpoint.parent, os.W_OK):
            raise UsageError(f"cannot write the checkpoint {args.checkpoint}: its folder is missing "
                             "or not writable")
    for existing in (args.model, args.model.with_suffix(".json")):
        if existing.exists() and not os.access(existing, os.W_OK):
            raise UsageError(f"cannot save to {args.model}: {existing} is not writable")
    if args.plot is not None:
        check_png_path(args.plot)


def settings_line(args, network=None) -> str:
    """The run's settings in one line, the way the book states them."""
    if args.layers is not None:
        shape = " ".join(args.layers.replace(",", " ").split())
        text = f"[{shape}]"
        if args.activation != "sigmoid":
            text += f" {args.activation}"
        if args.dropout:
            text += f", dropout {args.dropout:g}"
        text += f", {network.cost.name if network else args.cost} cost, eta {args.eta:g}, " \
                f"mini-batch {args.mini_batch_size}"
    else:
        cost = network.cost.name if network else args.cost
        text = (f"{args.sizes}, {cost} cost, {args.init} init, eta {args.eta:g}, "
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
    """check, build, load, train, summarise, save, diagnose: the steps of ``digits train``."""
    check_arguments(args)
    network = build_network(args)
    training, validation, test = load_mnist(args)
    chapter6 = args.layers is not None
    evaluation_name, evaluation = ("validation", validation) if args.validation else ("test", test)
    if args.expand:
        from digits.data.expand import ExpandedDataSet
        training = ExpandedDataSet(training)
    watched = ("validation accuracy each epoch, test accuracy at the best validation epoch"
               if chapter6 else f"accuracy on the {len(evaluation)} {evaluation_name} images")
    show(f"Training {settings_line(args, network)}, {args.dtype}, up to {args.epochs} epochs on "
         f"{len(training)} {'expanded ' if args.expand else ''}images; {watched}")
    resume = resume_from_checkpoint(args, network)
    watching = watch_for(args, network, settings_line(args, network), test if chapter6 else evaluation,
                         evaluation_name, chapter6, len(training))
    ctrl_c = CtrlCStops()
    try:
        history = network.SGD(
            training, args.epochs, args.mini_batch_size, args.eta,
            lmbda=args.lmbda, l1=args.l1, momentum=args.momentum,
            evaluation_data=test if chapter6 else evaluation,
            validation_data=validation if (args.early_stopping or chapter6) else None,
            monitor_evaluation_accuracy=True,
            monitor_validation_accuracy=chapter6, keep_best_validation=chapter6,
            monitor_evaluation_cost=args.monitor,
            monitor_training_cost=args.monitor, monitor_training_accuracy=args.monitor,
            early_stopping_n=args.early_stopping, schedule=args.schedule,
            callbacks=watchers(args, network, chapter6, evaluation_name, ctrl_c) + watching,
            resume=resume)
    except KeyboardInterrupt:
        kept = (f"; the finished epochs are in {args.checkpoint}, and the same command goes on "
                f"from there" if args.checkpoint is not None and args.checkpoint.exists() else "")
        show(f"\nInterrupted: training stopped, nothing was saved ({args.model} is unchanged){kept}.")
        return 130
    except Diverged as error:
        raise DigitsError(divergence_advice(error, args)) from None
    finally:
        ctrl_c.close()
    if history.stopped:
        show(stopped_line(history, chapter6))
    summary = summarise_chapter6(history) if chapter6 else summarise(network, history, evaluation_name,
                                                                     evaluation, test)
    save_or_keep(network, args.model, model_metadata(args, history, summary), history)
    if args.checkpoint is not None and args.checkpoint.exists():
        if history.stopped:      # the finished epochs stay, for the same command to go on
            show(f"The finished epochs are in {args.checkpoint}, and the same command goes on from there")
        else:
            args.checkpoint.unlink()

    from digits.app.diagnose import explain, rarely_answered
    for line in explain(rarely_answered(network, test if chapter6 else evaluation), network.cost.name,
                        "test" if chapter6 else evaluation_name, eta=args.eta, init=network.init):
        show(line)
    return 130 if ctrl_c.pressed else 0     # a Stop from the watch page ends the run as planned


def watchers(args, network, chapter6, evaluation_name, ctrl_c) -> list:
    """The callbacks of the run, in the order they hear each moment: the checkpoint is
    written before the epoch's line is printed."""
    from digits.app.train_watchers import EpochLines, ProgressBar, StallNote

    callbacks = [ctrl_c]
    if args.checkpoint is not None:
        from digits.store.checkpoint import CheckpointWriter
        callbacks.append(CheckpointWriter(args.checkpoint, run_settings(args)))
    if not args.quiet:
        callbacks.append(ProgressBar())
    callbacks.append(EpochLines(chapter6, evaluation_name, args.plot, settings_line(args, network)))
    callbacks.append(StallNote(args.eta, network.cost.name))
    return callbacks


def resume_from_checkpoint(args, network):
    """The checkpoint's state to go on from, if ``--checkpoint`` names one of this run."""
    if args.checkpoint is None:
        return None
    from digits.store import checkpoint as checkpoints
    resume = checkpoints.load(args.checkpoint, run_settings(args), network=network)
    if resume is not None:
        show(f"Going on from {args.checkpoint}: {resume.epoch} of {args.epochs} epochs done")
    return resume


def stopped_line(history, chapter6) -> str:
    """What a run stopped before its last epoch (Ctrl-C, or the watch page's Stop) keeps, said before it is saved."""
    if history.best_epoch is not None:
        kept = f"the weights of epoch {history.best_epoch}, the best validation epoch"
    else:
        kept = "the weights as they were when it stopped"
    return f"Stopped by Ctrl-C in epoch {history.epochs}; saving {kept}"


def divergence_advice(error, args) -> str:
    """The one line for a run whose weights or cost stopped being finite."""
    given = f"eta {args.eta:g}" + (f", lmbda {args.lmbda:g}" if args.lmbda else "")
    return (f"{error}; nothing was saved ({args.model} is unchanged). A learning rate eta or "
            f"an L2 parameter lmbda too large usually causes it (this run: {given}); the book "
            f"uses eta 3.0 (quadratic cost) or 0.5 (cross-entropy) with lmbda 5.0 for chapters 1-3, "
            f"and eta 0.03-0.1 with lmbda 0.1 for chapter 6")


def model_metadata(args, history, summary) -> dict:
    """What the model file's JSON records of the run: its settings, figures and data."""
    from digits.data.mnist import CHECKSUMS

    return {
        "hyperparameters": {
            "epochs": args.epochs, "mini_batch_size": args.mini_batch_size, "eta": args.eta,
            "lmbda": args.lmbda, "l1": args.l1, "momentum": args.momentum,
            "early_stopping": args.early_stopping, "schedule": args.schedule,
            "seed": args.seed, "monitor": args.monitor, "layers": args.layers,
            "activation": args.activation, "dropout": args.dropout, "expand": args.expand,
        },
        "epochs_run": history.epochs,
        **summary,
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        # The loader checked each file against these before training (digits.data.mnist).
        "data_sha256": dict(CHECKSUMS),
    }


def run_settings(args) -> dict:
    """What a checkpoint must match to be continued: everything that shapes the run."""
    names = ("sizes", "layers", "activation", "dropout", "expand", "epochs", "mini_batch_size",
             "eta", "lmbda", "l1", "momentum", "early_stopping", "schedule", "seed", "dtype",
             "cost", "init", "validation", "monitor")
    return {name: getattr(args, name) for name in names}


def summarise(network, history, evaluation_name, evaluation, test) -> dict:
    """Print the end of a chapter 1-3 run; return its figures for the model's metadata."""
    accuracies = history.evaluation_accuracy
    best = max(range(len(accuracies)), key=accuracies.__getitem__)
    total_seconds = sum(history.seconds)
    if history.best_epoch is not None:
        verdict = "stopped early" if history.stopped_early else "ran every epoch"
        show(f"Early stopping {verdict}; kept the weights of epoch {history.best_epoch} "
              f"(validation {100 * history.validation_accuracy[history.best_epoch - 1] / history.n_validation:.2f}%)")
        final = network.evaluate(evaluation)
    else:
        final = accuracies[-1]
    show(f"Best {evaluation_name} accuracy {100 * accuracies[best] / history.n_evaluation:.2f}% "
          f"at epoch {best + 1}; final {100 * final / history.n_evaluation:.2f}%; "
          f"{total_seconds:.1f} s of training ({total_seconds / history.epochs:.2f} s per epoch)")
    test_accuracy = final / len(test) if evaluation is test else network.accuracy(test)
    if evaluation is not test:
        show(f"Test accuracy of the final weights (measured once, chose nothing): "
              f"{100 * test_accuracy:.2f}%")
    return {"evaluated_on": evaluation_name,
            "final_accuracy": final / history.n_evaluation,
            "test_accuracy": test_accuracy,
            "best_accuracy": accuracies[best] / history.n_evaluation,
            "best_epoch": best + 1,
            "early_stopping_best_epoch": history.best_epoch}


def summarise_chapter6(history) -> dict:
    """Print the end of a chapter-6 run the book's way; return its figures."""
    best = history.best_validation_epoch()
    validation = history.validation_accuracy[best - 1] / history.n_validation
    test = history.evaluation_accuracy[best - 1] / history.n_evaluation
    total_seconds = sum(history.seconds)
    show(f"Best validation accuracy {100 * validation:.2f}% at epoch {best}; test accuracy "
          f"there {100 * test:.2f}% (the book's measure); kept that epoch's weights; "
          f"{total_seconds / 60:.1f} min of training ({total_seconds / history.epochs:.1f} s per epoch)")
    return {"evaluated_on": "test", "test_accuracy": test, "best_validation_accuracy": validation,
            "best_validation_epoch": best, "final_accuracy": test,
            "best_accuracy": test, "best_epoch": best}


def save_or_keep(network, path, metadata, history):
    """Save the trained network to ``path``; if that fails, keep it in the temporary folder
    and say where, so that hours of training are not lost to a full disk."""
    from digits.store import model_file

    try:
        model_file.save(network, path, metadata, history)
    except DigitsError as error:
        kept = Path(tempfile.gettempdir()) / f"digits-network-{os.getpid()}.npz"
        try:
            model_file.save(network, kept, metadata, history)
        except DigitsError:
            raise error from None
        raise DigitsError(f"{error}; the trained network was kept at {kept} instead") from None
    show(f"Saved the network to {path}")
