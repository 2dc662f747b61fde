"""The chapter-6 ReLU network in PyTorch, timed as ``make bench`` times ours.

Not part of digits, which never imports PyTorch: ``make bench TORCH=PYTHON`` (or
``scripts/bench.py --pytorch PYTHON``) runs this file with the Python of a separate,
throwaway environment that has PyTorch, to put PyTorch's seconds per epoch beside
ours on the same machine:

    python -m venv /tmp/torch-env && /tmp/torch-env/bin/pip install torch numpy
    make bench TORCH=/tmp/torch-env/bin/python

The network is the one the bench times (``conv20 conv40 fc100 softmax``, ReLU): two
5x5 convolutions of 20 and 40 filters, each followed by 2x2 max-pooling and ReLU, 100
ReLU neurons, 10 log-softmax outputs with the negative log-likelihood; float32, plain
SGD with mini-batches of 10, eta 0.03 and the same L2 term (weight decay lambda / n).
Each round shuffles the next ``--images`` training images, trains on them once in
PyTorch's eager mode, and is scaled to an epoch of 50,000, exactly like ours; the
threads are PyTorch's default (one per core) unless ``--threads`` says otherwise.

It prints one JSON line: ``{"torch": version, "threads": n, "seconds_per_epoch": [...]}``.
The environment that runs it need not have digits installed: the bench runs it with
``PYTHONPATH`` set to this checkout, from which it reads MNIST with digits' loader.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

EPOCH_IMAGES = 50_000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO / "data" / "mnist", metavar="DIR")
    parser.add_argument("--images", type=int, default=5_000, metavar="N",
                        help="training images per round, scaled to 50,000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--first-round", type=int, default=0, metavar="K",
                        help="start at the K-th slice of --images images (as the bench's rounds do)")
    parser.add_argument("--threads", type=int, default=None, help="PyTorch's threads (default: its own)")
    parser.add_argument("--check", action="store_true",
                        help="only say which PyTorch this is, as a JSON line (timing nothing)")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print(f"pytorch_reference: error: PyTorch is not installed in {sys.executable}; "
              f"give the Python of an environment that has it", file=sys.stderr)
        return 1
    if min(args.images, args.rounds, args.threads or 1) < 1 or args.first_round < 0:
        print("pytorch_reference: error: --images, --rounds and --threads must be at least 1, "
              "--first-round at least 0",
              file=sys.stderr)
        return 1
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.check:
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}))
        return 0
    from digits.system.errors import DigitsError
    from digits.data.mnist import load_data
    try:
        training, _, _ = load_data(args.data)
    except DigitsError as error:
        print(f"pytorch_reference: error: {error}", file=sys.stderr)
        return 1
    torch.manual_seed(1)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "seconds_per_epoch": time_epochs(torch, training, args.images, args.rounds,
                                                        args.first_round)}))
    return 0


def time_epochs(torch, training, images, rounds, first_round=0) -> list:
    nn = torch.nn
    network = nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(20, 40, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(), nn.Linear(40 * 4 * 4, 100), nn.ReLU(),
        nn.Linear(100, 10), nn.LogSoftmax(dim=1))
    cost = nn.NLLLoss()
    optimiser = torch.optim.SGD(network.parameters(), lr=0.03, weight_decay=1.0 / images)
    inputs = torch.from_numpy(training.inputs).reshape(-1, 1, 28, 28)
    labels = torch.from_numpy(training.labels.astype("int64"))
    images = min(images, len(labels))
    seconds = []
    for round_ in range(first_round, first_round + rounds):
        start = (round_ * images) % max(1, len(labels) - images)
        x, y = inputs[start:start + images], labels[start:start + images]
        started = time.perf_counter()
        order = torch.randperm(images)
        for k in range(0, images, 10):
            batch = order[k:k + 10]
            optimiser.zero_grad(set_to_none=True)
            cost(network(x[batch]), y[batch]).backward()
            optimiser.step()
        seconds.append((time.perf_counter() - started) * EPOCH_IMAGES / images)
    return seconds


if __name__ == "__main__":
    sys.exit(main())
