"""One module per command of ``python -m digits``; see :mod:`digits.app.cli`."""
