"""``python -m digits.replication``: the replication's command line (:mod:`digits.replication.cli`)."""

from digits.replication.cli import main

raise SystemExit(main())
