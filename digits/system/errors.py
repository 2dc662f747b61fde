"""The one exception type the command line turns into a one-line message."""


class DigitsError(Exception):
    """A problem the user can fix: bad input, a missing file, a failed download.

    The command line prints ``str(error)`` on one line and exits non-zero; library
    code raises it (or a subclass) and never calls ``sys.exit``.
    """


class UsageError(DigitsError):
    """Nonsense arguments or hyperparameters; the command line exits with status 2."""
