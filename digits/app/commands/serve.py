"""``digits serve``: a page in the browser to draw a digit on and watch the network read it.

For people with a browser at hand rather than a desktop with Tk: a laptop reaching
the machine that trains, a phone or a tablet to draw on with a finger.  The server
(:mod:`digits.app.server`) serves one page and a JSON API; it needs no internet, and
listens only on this machine (127.0.0.1) unless ``--host`` says otherwise.

Several ``--model`` files may be given: the page then shows each model's reading
and their vote.  Ctrl-C stops the server.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from digits.app.terminal import notice, show
from digits.store.model_file import DEFAULT_MODEL


def port_number(text: str) -> int:
    """``--port``: a whole number from 0 to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 65535 (0: any free "
                                         f"port), got {text!r}")
    return port


def configure(parser):
    parser.add_argument("--model", type=Path, nargs="+", action="extend", metavar="PATH",
                        default=argparse.SUPPRESS, help="the trained network(s); with several, the page shows each "
                             "model's answer and their vote (default: "
                             f"{DEFAULT_MODEL}, which `make train` saves)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on: 127.0.0.1 is this machine only; "
                             "0.0.0.0 lets other machines (a phone, a laptop) connect")
    parser.add_argument("--port", type=port_number, default=8000,
                        help="the port to listen on (0: any free port)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="a name the page may be reached by besides the address it listens "
                             "on (a LAN name, a reverse proxy's); requests naming any other "
                             "site in their Host header are refused (repeat for several)")
    parser.add_argument("--quiet", action="store_true",
                        help="do not print a line for every request")


def run(args) -> int:
    from digits.app.models import load_models
    from digits.app.http import serve_until_stopped
    from digits.app.server import DigitsServer

    models = load_models(getattr(args, "model", [DEFAULT_MODEL]))
    server = DigitsServer(models, args.host, args.port, log=None if args.quiet else notice,
                          allowed_hosts=args.allow_host)
    with server:
        for model in models:
            show(f"Model {model.name}: {model.description()}")
        if len(models) > 1:
            show("The page shows each model's reading and their vote.")
        if not server.is_local_only():
            show(f"Listening on {server.host} port {server.port}, not only on this machine: "
                  f"anyone who can reach it on the network can use the page.")
        show(f"Open {server.url()} in a browser (Ctrl-C stops the server)")
        if serve_until_stopped(server):
            show("\nStopped.")
    return 0
