"""``digits download``: fetch the four MNIST files into ``data/mnist`` and verify them.

Also the two things every command that reads MNIST shares (``train``, the scripts):
the flags :func:`add_data_arguments` adds, ``--data DIR`` and ``--no-download``, and
:func:`load_mnist`, which loads MNIST from ``--data`` after fetching it there (saying
so in one line, with the downloader's progress bars) when it is missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..mnist import DEFAULT_DATA_DIR


def configure(parser):
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, metavar="DIR",
                        help="where the MNIST files are kept")
    parser.add_argument("--mirror", metavar="URL",
                        help="a mirror to try first: http(s)://..., file://... or a folder "
                             "(also the environment variable DIGITS_MNIST_MIRROR)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    from ..download import fetch_mnist, mirrors

    folder = fetch_mnist(args.data, mirrors(args.mirror), progress=not args.quiet, notify=_say)
    if not args.quiet:
        print(f"MNIST is ready in {folder}")
    return 0


def add_data_arguments(parser, default=DEFAULT_DATA_DIR):
    """Add ``--data DIR`` and ``--no-download`` to ``parser`` (or an argument group)."""
    parser.add_argument("--data", type=Path, default=default, metavar="DIR",
                        help="where the MNIST files are; if they are missing they are "
                             "downloaded there first")
    parser.add_argument("--no-download", action="store_true",
                        help="never download MNIST (no network access): stop with an error "
                             "if --data does not hold it")


def load_mnist(args, dtype=None):
    """:func:`digits.mnist.load_data` for a command whose flags came from
    :func:`add_data_arguments`: ``(training, validation, test)`` from ``args.data``,
    downloaded first unless ``args.no_download``, with progress bars unless
    ``args.quiet`` (where the command has that flag) and notices on stderr."""
    from ..mnist import load_data

    extra = {} if dtype is None else {"dtype": dtype}
    return load_data(args.data, download=not args.no_download,
                     progress=not getattr(args, "quiet", False), notify=_say, **extra)


def _say(line):
    print(line, file=sys.stderr, flush=True)
