"""``python -m digits``: the command line (see :mod:`digits.app.cli`)."""

from digits.app.cli import main

raise SystemExit(main())
