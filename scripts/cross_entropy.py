"""Chapter 3: the cross-entropy cost.

The book's first chapter-3 experiment: the [784, 30, 10] network of chapter 1 with the
quadratic cost swapped for the cross-entropy cost, weights still drawn from N(0, 1),
eta = 0.5, 30 epochs.  The book reports 95.49% (96.82% with 100 hidden neurons,
``--hidden 100``).

    python scripts/cross_entropy.py [--hidden 100] [--seed 1]
"""

import common
from digits.nn.network import Network


def main(argv=None):
    args = common.parser(__doc__.split("\n\n")[0], epochs=30, eta=0.5).parse_args(argv)
    training_data, validation_data, test_data = common.load_mnist(args)
    net = Network([784, args.hidden, 10], cost="cross-entropy", init="large", seed=args.seed)
    history = net.SGD(training_data, args.epochs, args.mini_batch_size, args.eta,
                      lmbda=args.lmbda, evaluation_data=test_data,
                      callbacks=[common.EpochLines("test")])
    best = max(history.evaluation_accuracy)
    common.show(f"Best test accuracy {100 * best / len(test_data):.2f}% (the book: 95.49% with 30 hidden "
                f"neurons, 96.82% with 100)")
    return 0


if __name__ == "__main__":
    raise SystemExit(common.run(main))
