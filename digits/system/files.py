"""Writing files atomically: readers see the old file or the new one, never half of one.

Everything the program saves (downloads, models, pictures, reports) is written to a
hidden temporary name in the target's own folder, ``.NAME.PID.RANDOM.part``, flushed
to disk, and only then renamed over the target: :func:`os.replace` is atomic within
one file system, so an interrupted, failed or rejected write leaves the old file as
it was.

The temporary file is deleted on every way out that Python sees (an error, Ctrl-C),
and also when the process is ended by SIGTERM (``kill``, a shutdown) or SIGHUP (its
terminal closed): for those the first write installs handlers that delete this
process's temporary files and then let the signal end it as before.  Nothing can
clean up after SIGKILL or a power cut, so each write also sweeps its folder of
temporary files that no running process owns: their PID is gone, or they have not
been touched for :data:`STALE_AFTER` seconds.  Paths are compared in one normal form
(:func:`normal_path`: absolute, the folder's symbolic links resolved), so ``net.npz``,
``./net.npz`` and ``/home/me/net.npz`` are one file to the sweep.

Files that belong together (a model's ``.npz`` and its ``.json``) are written with
:func:`write_together`: both are written and flushed first, then renamed into place one
after the other, and if a rename fails the ones already renamed are put back, so that
a failure leaves the old set or the new set, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import stat
import threading
import time
from pathlib import Path

from digits.system.errors import DigitsError, UsageError

STALE_AFTER = 3600.0     # seconds untouched after which anyone's temporary file is abandoned
# .NAME.PID.RANDOM.part; files written before the PID was part of the name lack it.
_TEMPORARY = re.compile(r"\.(?P<name>.+?)\.(?:(?P<pid>\d+)\.)?[0-9a-f]{16}\.part")
_CLEANUP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))

_writing: set[str] = set()          # this process's temporary files, as normal_path strings
_handlers_installed = False


@contextlib.contextmanager
def atomic_file(path, error=DigitsError):
    """Open a temporary file beside ``path`` for writing, in binary; on a clean exit it
    replaces ``path``, on any other (an exception, Ctrl-C, SIGTERM, SIGHUP) it is deleted.

    The body may raise to reject what it wrote (the downloader does when a checksum is
    wrong).  The temporary file is created like any new file (mode 0666 less the
    umask), not private as :func:`tempfile.mkstemp` would make it, and never over an
    existing one.  A failure of the file system (a folder one may not write in, a full
    disk) becomes ``error("cannot write PATH: reason")``, one line for the user.
    """
    path = Path(path)
    remove_stale_temporaries(path.parent)
    _delete_on_signals()
    temporary = _temporary_beside(path)
    try:
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
    finally:
        _writing.discard(normal_path(temporary))


def normal_path(path) -> str:
    """``path`` in the one form paths are compared in: absolute, with the symbolic links
    of its folder resolved (the file itself may not exist yet)."""
    path = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def _temporary_beside(path: Path) -> Path:
    """A new temporary name beside ``path``, recorded as this process's."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(8)}.part")
    _writing.add(normal_path(temporary))
    return temporary


def remove_stale_temporaries(folder) -> list[Path]:
    """Delete the temporary files in ``folder`` that no running process is writing:
    their writer's PID is not running, or they have not been touched for
    :data:`STALE_AFTER` seconds.  Returns what was deleted; problems are ignored."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        if match is None or normal_path(entry.path) in _writing:
            continue
        try:
            untouched = time.time() - entry.stat(follow_symlinks=False).st_mtime
            pid = match["pid"]
            if untouched > STALE_AFTER or (pid is not None and not _running(int(pid))):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _running(pid: int) -> bool:
    """True if a process with this PID may be writing its temporary files."""
    if pid == os.getpid():
        return False        # an earlier process that had our PID: we are not writing it
    if os.name != "posix":
        return True         # no harmless way to ask (os.kill ends the process): age decides
    try:
        os.kill(pid, 0)     # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True         # it runs, as another user
    return True


def _delete_on_signals():
    """Once, from the main thread: on SIGTERM and SIGHUP, delete this process's temporary
    files and end it by the same signal.  A signal someone else handles or ignores is
    left to them."""
    global _handlers_installed
    if _handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    _handlers_installed = True
    for number in _CLEANUP_SIGNALS:
        if signal.getsignal(number) == signal.SIG_DFL:
            signal.signal(number, _delete_temporaries_and_end)


def _delete_temporaries_and_end(number, frame):
    for temporary in list(_writing):
        with contextlib.suppress(OSError):
            os.unlink(temporary)
    signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)


def write_together(contents: dict, error=DigitsError) -> None:
    """Write ``{path: bytes}``: afterwards every path holds its new bytes, or, if anything
    failed, every path holds what it held before (or is absent again).

    Each file is first written to a temporary name beside it and flushed to disk; only
    then are they renamed into place, in the order given.  Before a target is replaced,
    its old content is kept under another temporary name (a hard link, or a copy where
    the file system has none), and if a later rename fails the targets already replaced
    are put back.  Raises ``error("cannot write PATH: reason; A and B were left as they
    were")``; should putting a file back fail as well, the message says which files are
    new and which old.
    """
    paths = [Path(path) for path in contents]
    for folder in {path.parent for path in paths}:
        remove_stale_temporaries(folder)
    _delete_on_signals()
    staged, kept, replaced = {}, {}, []
    try:
        for path in paths:
            staged[path] = _stage(path, contents[path], error)
        for path in paths:
            kept[path] = _keep_old(path, error, paths)
            try:
                os.replace(staged[path], path)
            except OSError as failure:
                _put_back(replaced, kept, error, path, failure, paths)
            replaced.append(path)
    finally:
        for temporary in [*staged.values(), *filter(None, kept.values())]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            _writing.discard(normal_path(temporary))


def _names(paths) -> str:
    names = [str(path) for path in paths]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _stage(path: Path, data: bytes, error) -> Path:
    """``data`` written and flushed to a new temporary file beside ``path``."""
    temporary = _temporary_beside(path)
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except OSError as failure:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        _writing.discard(normal_path(temporary))
        raise error(f"cannot write {path}: {failure.strerror or failure}") from None
    return temporary


def _keep_old(path: Path, error, paths) -> Path | None:
    """A temporary name holding ``path``'s present content (None if it does not exist)."""
    if not os.path.lexists(path):
        return None
    keep = _temporary_beside(path)
    try:
        try:
            os.link(path, keep, follow_symlinks=False)
        except OSError:
            shutil.copy2(path, keep, follow_symlinks=False)
    except OSError as failure:
        raise error(f"cannot write {path}: {failure.strerror or failure}; "
                    f"{_names(paths)} were left as they were") from None
    return keep


def _put_back(replaced, kept, error, failed, failure, paths):
    """After ``failed`` could not be renamed into place, restore the files in ``replaced``
    and raise ``error`` saying truly what each file now holds."""
    reason = f"cannot write {failed}: {failure.strerror or failure}"
    not_restored = []
    for path in reversed(replaced):
        try:
            if kept[path] is None:
                os.unlink(path)
            else:
                os.replace(kept[path], path)
        except OSError:
            not_restored.append(path)
    if not not_restored:
        raise error(f"{reason}; {_names(paths)} were left as they were") from None
    old = [path for path in paths if path not in not_restored]
    raise error(f"{reason}, and putting back the old {_names(not_restored)} failed too: "
                f"{_names(not_restored)} {'is' if len(not_restored) == 1 else 'are'} new, "
                f"{_names(old)} old") from None


def shown(path) -> str:
    """``path`` as a message shows it: as it is, or quoted with escapes (``'two\\nlines'``)
    when it holds a character that is not printable, so that a message stays one line."""
    text = str(path)
    return text if text.isprintable() else repr(text)


def special_kind(path) -> str | None:
    """What ``path`` is when it is neither a regular file nor missing: ``"a folder"``,
    ``"a named pipe (FIFO)"``, ``"a device"``, ``"a socket"``; None for a regular file or
    no file (symbolic links followed).  Asking never opens the file, so it never blocks."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return None


def check_png_path(path, what="draw", create_folder=False) -> None:
    """Refuse, before any work, a picture path that cannot be written: not ``.png``, a
    folder, or in a folder that does not exist (raises UsageError).  With
    ``create_folder`` a missing folder is created instead (DigitsError if it cannot be)."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"cannot {what} {path}: it is a folder")
    if path.suffix.lower() != ".png":
        raise UsageError(f"cannot {what} {path}: the picture is a PNG, so name a .png file")
    if create_folder:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DigitsError(f"cannot {what} {path}: {error.strerror or error}") from None
    if not path.parent.is_dir():
        raise UsageError(f"cannot {what} {path}: the folder {path.parent} does not exist")


def write_atomically(path, data: bytes) -> None:
    """Write ``data`` to ``path`` with :func:`atomic_file`."""
    path = Path(path)
    if not path.parent.is_dir():
        raise DigitsError(f"cannot save {path}: the folder {path.parent} does not exist")
    with atomic_file(path) as file:
        file.write(data)
