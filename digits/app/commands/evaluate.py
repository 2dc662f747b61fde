"""``digits evaluate``: the test accuracy of a trained network, or of several voting.

``--model`` once: that network's accuracy on the 10,000 test images (or, with
``--validation``, the validation images).  ``--model`` several times: each network's
accuracy, then the ensemble's, each network casting one vote per image
(:mod:`digits.nn.ensemble`), as in the book's chapter 6.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from digits.app.terminal import show
from digits.app.mnist_flags import add_data_arguments, load_mnist
from digits.app.models import DEFAULT_MODEL, load_models


def configure(parser):
    parser.add_argument("--model", type=Path, action="append", metavar="PATH",
                        help="a trained network; give it several times for an ensemble that "
                             "votes (default: data/network.npz)")
    add_data_arguments(parser)
    parser.add_argument("--validation", action="store_true",
                        help="measure on the 10,000 validation images instead of the test images")


def run(args) -> int:
    from digits.nn.ensemble import vote
    from digits.app.report import percent

    models = load_models(args.model or [DEFAULT_MODEL])
    _, validation, test = load_mnist(args)
    name, data = ("validation", validation) if args.validation else ("test", test)
    outputs = []
    for model in models:
        output = model.network.outputs(data)
        outputs.append(output)
        correct = int(np.count_nonzero(output.argmax(axis=0) == data.labels))
        show(f"{model.path}: {correct} / {len(data)} {name} images ({percent(correct, len(data))})")
    if len(models) > 1:
        correct = int(np.count_nonzero(vote(outputs) == data.labels))
        show(f"The {len(models)} networks voting: {correct} / {len(data)} {name} images "
              f"({percent(correct, len(data))})")
    return 0

