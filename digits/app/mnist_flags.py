"""What every command that reads MNIST shares (``train``, ``evaluate``, the scripts).

The flags :func:`add_data_arguments` adds, ``--data DIR`` and ``--no-download``, and
:func:`load_mnist`, which loads MNIST from ``--data`` after fetching it there (saying
so in one line, with the downloader's progress bars) when it is missing.
"""

from __future__ import annotations

from pathlib import Path

from digits.app.terminal import notice
from digits.data.mnist import DEFAULT_DATA_DIR


def add_data_arguments(parser, default=DEFAULT_DATA_DIR):
    """Add ``--data DIR`` and ``--no-download`` to ``parser`` (or an argument group)."""
    parser.add_argument("--data", type=Path, default=default, metavar="DIR",
                        help="where the MNIST files are; if they are missing they are "
                             "downloaded there first")
    parser.add_argument("--no-download", action="store_true",
                        help="never download MNIST (no network access): stop with an error "
                             "if --data does not hold it")


def load_mnist(args, dtype=None):
    """:func:`digits.data.mnist.load_data` for a command whose flags came from
    :func:`add_data_arguments`: ``(training, validation, test)`` from ``args.data``,
    downloaded first unless ``args.no_download``, with progress bars unless
    ``args.quiet`` (where the command has that flag) and notices on stderr."""
    from digits.data.mnist import load_data

    extra = {} if dtype is None else {"dtype": dtype}
    return load_data(args.data, download=not args.no_download,
                     progress=not getattr(args, "quiet", False), notify=notice, **extra)
