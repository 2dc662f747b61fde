#!/usr/bin/env python
"""``make bench``: how fast digits trains and evaluates, beside the book's per-example loop.

The benchmark is :mod:`digits.replication.bench` (``python scripts/bench.py --help``).
"""

from digits.replication.bench import main

if __name__ == "__main__":
    raise SystemExit(main())
