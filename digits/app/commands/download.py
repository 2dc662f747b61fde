"""``digits download``: fetch the four MNIST files into ``data/mnist`` and verify them."""

from __future__ import annotations

from pathlib import Path

from digits.app.terminal import notice, show
from digits.data.mnist import DEFAULT_DATA_DIR


def configure(parser):
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, metavar="DIR",
                        help="where the MNIST files are kept")
    parser.add_argument("--mirror", metavar="URL",
                        help="a mirror to try first: http(s)://..., file://... or a folder "
                             "(also the environment variable DIGITS_MNIST_MIRROR)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args) -> int:
    from digits.data.download import fetch_mnist, mirrors

    folder = fetch_mnist(args.data, mirrors(args.mirror), progress=not args.quiet, notify=notice)
    if not args.quiet:
        show(f"MNIST is ready in {folder}")
    return 0
