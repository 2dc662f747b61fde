"""Where a command's lines go: one place decides stdout or stderr.

A command's results (the epoch lines, a digit read, an accuracy) go to standard
output, so that they can be piped and compared; notices about the work itself (a
download starting, a warning, a server's address and log) go to standard error, so
that they never mix into those results.  Every command prints through these two.
"""

from __future__ import annotations

import sys


def show(line: str) -> None:
    """A line of the command's results, on standard output."""
    print(line, flush=True)


def notice(line: str) -> None:
    """A line about the work (progress, a warning, a log entry), on standard error."""
    print(line, file=sys.stderr, flush=True)
