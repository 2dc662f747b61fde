"""Writing files atomically: readers see the old file or the new one, never half of one.

Everything the program saves (downloads, models, pictures, reports) is written to a
hidden temporary name in the target's own folder, flushed to disk, and only then
renamed over the target: :func:`os.replace` is atomic within one file system, so an
interrupted, failed or rejected write leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from .errors import DigitsError, UsageError


@contextlib.contextmanager
def atomic_file(path, error=DigitsError):
    """Open a temporary file beside ``path`` for writing, in binary; on a clean exit it
    replaces ``path``, on any other (an exception, Ctrl-C) it is deleted.

    The body may raise to reject what it wrote (the downloader does when a checksum is
    wrong).  The temporary file is created like any new file (mode 0666 less the
    umask), not private as :func:`tempfile.mkstemp` would make it, and never over an
    existing one.  A failure of the file system (a folder one may not write in, a full
    disk) becomes ``error("cannot write PATH: reason")``, one line for the user.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.part")
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as failure:
        raise error(f"cannot write {path}: {failure.strerror or failure}") from None
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as failure:
        raise error(f"cannot write {path}: {failure.strerror or failure}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def check_png_path(path, what="draw") -> None:
    """Refuse, before any work, a picture path that cannot be written: not ``.png``, a
    folder, or in a folder that does not exist (raises UsageError)."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"cannot {what} {path}: it is a folder")
    if path.suffix.lower() != ".png":
        raise UsageError(f"cannot {what} {path}: the picture is a PNG, so name a .png file")
    if not path.parent.is_dir():
        raise UsageError(f"cannot {what} {path}: the folder {path.parent} does not exist")


def write_atomically(path, data: bytes) -> None:
    """Write ``data`` to ``path`` with :func:`atomic_file`."""
    path = Path(path)
    if not path.parent.is_dir():
        raise DigitsError(f"cannot save {path}: the folder {path.parent} does not exist")
    with atomic_file(path) as file:
        file.write(data)
