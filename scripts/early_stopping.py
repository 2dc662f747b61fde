"""Chapter 3: early stopping on the validation data ("no-improvement-in-ten").

Train until the accuracy on the 10,000 validation images has not improved for ten
epochs, then keep the weights of the best validation epoch.  With ``--schedule halve``
each such stall halves eta instead, and training ends once eta is 1/128 of its start
(the book's learning-rate schedule exercise).  The test images are only measured at
the end: they choose nothing.

    python scripts/early_stopping.py [--patience 10] [--schedule halve]
"""

import common
from digits.system.errors import UsageError
from digits.nn.network import Network


def main(argv=None):
    parser = common.parser(__doc__.split("\n\n")[0], epochs=1000, eta=0.5, lmbda=5.0)
    parser.add_argument("--patience", type=int, default=10, metavar="N",
                        help="stop (or halve eta) after N epochs without improvement")
    parser.add_argument("--schedule", choices=["halve"], default=None,
                        help="halve eta at each stall instead of stopping")
    args = parser.parse_args(argv)
    if args.patience < 1:
        raise UsageError(f"--patience must be at least 1 epoch, got {args.patience}")
    training_data, validation_data, test_data = common.load_mnist(args)
    net = Network([784, args.hidden, 10], cost="cross-entropy", init="default", seed=args.seed)
    history = net.SGD(training_data, args.epochs, args.mini_batch_size, args.eta,
                      lmbda=args.lmbda, validation_data=validation_data,
                      early_stopping_n=args.patience, schedule=args.schedule,
                      callbacks=[common.EpochLines("validation")])
    best = history.validation_accuracy[history.best_epoch - 1]
    how = "stopped by itself" if history.stopped_early else "reached --epochs"
    common.show(f"Training {how} after {history.epochs} epochs; kept epoch {history.best_epoch} "
                f"(validation {100 * best / len(validation_data):.2f}%, final eta {history.eta[-1]:g})")
    common.show(f"Test accuracy of the kept weights: {100 * net.accuracy(test_data):.2f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(common.run(main))
