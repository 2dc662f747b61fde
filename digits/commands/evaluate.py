"""``digits evaluate``: the test accuracy of a trained network, or of several voting.

``--model`` once: that network's accuracy on the 10,000 test images (or, with
``--validation``, the validation images).  ``--model`` several times: each network's
accuracy, then the ensemble's, each network casting one vote per image
(:mod:`digits.ensemble`), as in the book's chapter 6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .download import add_data_arguments, load_mnist


def configure(parser):
    parser.add_argument("--model", type=Path, action="append", metavar="PATH",
                        help="a trained network; give it several times for an ensemble that "
                             "votes (default: data/network.npz)")
    add_data_arguments(parser)
    parser.add_argument("--validation", action="store_true",
                        help="measure on the 10,000 validation images instead of the test images")


def load_models(paths):
    """``[(path, network)]`` for each path, each checked to read 784 pixels into 10 digits."""
    from .. import model_file
    from .classify import check_network

    models = []
    for path in paths:
        network, _ = model_file.load(path)
        check_network(network, path)
        models.append((path, network))
    return models


def run(args) -> int:
    from ..ensemble import vote
    from ..report import percent

    models = load_models(args.model or [Path("data/network.npz")])
    _, validation, test = load_mnist(args)
    name, data = ("validation", validation) if args.validation else ("test", test)
    outputs = []
    for path, network in models:
        output = network.outputs(data)
        outputs.append(output)
        correct = int(np.count_nonzero(output.argmax(axis=0) == data.labels))
        print(f"{path}: {correct} / {len(data)} {name} images ({percent(correct, len(data))})", flush=True)
    if len(models) > 1:
        correct = int(np.count_nonzero(vote(outputs) == data.labels))
        print(f"The {len(models)} networks voting: {correct} / {len(data)} {name} images "
              f"({percent(correct, len(data))})")
    return 0

