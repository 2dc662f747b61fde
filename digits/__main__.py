"""``python -m digits``: the command line (see :mod:`digits.cli`)."""

from .cli import main

raise SystemExit(main())
