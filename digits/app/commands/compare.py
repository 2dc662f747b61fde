"""``digits compare``: saved runs' per-epoch histories on the same axes.

``python -m digits compare a.npz b.npz ...`` reads the history ``train`` kept in the JSON
beside each model and serves a comparison page on 127.0.0.1 (Ctrl-C stops it);
``--output PNG`` draws the same panels to a picture instead.  Either way the legend
names each run by its file and the settings that differ between the runs, so the book's
chapter-3 comparisons (quadratic against cross-entropy, with and without L2, large
against default initialisation, eta 0.025 / 0.25 / 2.5) are one command each.
"""

from __future__ import annotations

from pathlib import Path

from digits.app.terminal import show
from digits.app.watch import port_number


def configure(parser):
    parser.add_argument("models", type=Path, nargs="+", metavar="MODEL",
                        help="saved models (.npz) with their JSON beside them, as train saves them")
    parser.add_argument("--output", type=Path, default=None, metavar="PNG",
                        help="draw the comparison to this PNG instead of serving the page")
    parser.add_argument("--title", default="", help="the picture's title (default: N runs compared)")
    parser.add_argument("--port", type=port_number, default=8002,
                        help="the comparison page's port (0: any free port)")


def check_arguments(args):
    from digits.system.errors import UsageError
    from digits.system.files import check_png_path

    if len(args.models) < 2:
        raise UsageError("give at least two saved models to compare")
    if args.output is not None:
        check_png_path(args.output)


def run(args) -> int:
    from digits.app.compare import differing, load_run

    check_arguments(args)
    runs = [load_run(path) for path in args.models]
    names = differing(runs)
    show(f"{len(runs)} runs; they differ in: {', '.join(names) if names else 'nothing recorded'}")
    if args.output is not None:
        return draw(runs, args)
    return serve(runs, args)


def draw(runs, args) -> int:
    from digits.app.compare import comparison_figure
    from digits.app.plots import png_bytes
    from digits.system.files import write_atomically

    write_atomically(args.output, png_bytes(comparison_figure(runs, args.title)))
    show(f"Drew {args.output}")
    return 0


def serve(runs, args) -> int:
    from digits.app.compare import page_data
    from digits.app.http import serve_until_stopped
    from digits.app.watch_server import compare_server

    server = compare_server(page_data(runs), port=args.port)
    show(f"Open {server.url()} in a browser (Ctrl-C stops the server)")
    try:
        if serve_until_stopped(server):
            show("\nStopped.")
    finally:
        server.server_close()
    return 0
