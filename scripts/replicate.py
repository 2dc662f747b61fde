#!/usr/bin/env python
"""``make replicate``, ``make replicate-ch6``: rerun the book's experiments and write
REPLICATION.md.

The machinery is the package :mod:`digits.replication` (``python -m digits.replication``
is the same command); ``python scripts/replicate.py --help`` lists the flags.
"""

from digits.replication.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
