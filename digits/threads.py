"""How many threads the matrix library (BLAS) may use, switched for a block of code.

Training multiplies small matrices thousands of times per epoch: a mini-batch of 10
images against a ``(30, 784)`` weight matrix is a few microseconds of arithmetic.
OpenBLAS, the library numpy ships with, splits a product between threads once it is
large enough, and for products this small waking, splitting and joining threads costs
more than it saves.  Worse, when another program keeps the other cores busy (on a
shared machine, or a laptop compiling something) every split product waits for a
thread that is not running.  On the 2-core machine this project is developed on,
evaluating the 10,000 test images took 20-30 ms on one thread or two while the
machine was idle, but 150-800 ms on two (still about 30 ms on one) while another
process kept the other core busy.

So :class:`~digits.network.Network` trains and evaluates inside
``with blas_threads(1):``.  The usual alternative, the environment variable
``OPENBLAS_NUM_THREADS=1``, is read only once, when numpy is first imported, and then
holds for the whole process, the user's own code included; so instead this module
asks the loaded OpenBLAS itself, through ``ctypes``, to change its thread count, and
restores the count afterwards.  It needs no package beyond numpy.  Where numpy is
linked against another BLAS (Apple's Accelerate, MKL) or the library cannot be found,
:func:`blas_threads` does nothing, and :func:`blas_thread_control` says so.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
from pathlib import Path

import numpy as np

# The names OpenBLAS exports for its thread count: the plain build, the 64-bit-integer
# build, and the renamed copy numpy's own wheels ship (``scipy_openblas``).
_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads",
            "openblas_get_num_threads64_", "openblas_get_num_threads")

_control = None  # (get, set) once found, False when there is none


def _loaded_library_paths():
    """Shared libraries that might be numpy's OpenBLAS, loaded ones first."""
    paths = []
    maps = Path("/proc/self/maps")
    if maps.exists():
        for line in maps.read_text().splitlines():
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if "openblas" in os.path.basename(path).lower() and path not in paths:
                paths.append(path)
    numpy_dir = Path(np.__file__).parent
    for pattern in ("../numpy.libs/*openblas*", ".libs/*openblas*", ".dylibs/*openblas*",
                    "../numpy.libs/*openblas*.dll"):
        for path in sorted(glob.glob(str(numpy_dir / pattern))):
            if path not in paths:
                paths.append(path)
    return paths


def _find_control():
    global _control
    if _control is not None:
        return _control
    _control = False
    for path in _loaded_library_paths():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        getter = next((getattr(library, name) for name in _GETTERS if hasattr(library, name)), None)
        setter = next((getattr(library, name) for name in _SETTERS if hasattr(library, name)), None)
        if getter is not None and setter is not None:
            getter.restype, getter.argtypes = ctypes.c_int, []
            setter.restype, setter.argtypes = None, [ctypes.c_int]
            _control = (getter, setter)
            break
    return _control


def blas_thread_control() -> bool:
    """True when this process's BLAS is an OpenBLAS whose thread count can be set."""
    return bool(_find_control())


def blas_thread_count() -> int | None:
    """The number of threads OpenBLAS will use now, or None where it cannot be asked."""
    control = _find_control()
    return control[0]() if control else None


@contextlib.contextmanager
def blas_threads(count: int):
    """Let BLAS use at most ``count`` threads inside the ``with`` block, then restore.

    A no-op where the BLAS is not an OpenBLAS this module can reach.
    """
    control = _find_control()
    if not control:
        yield
        return
    get, set_ = control
    before = get()
    if before == count:
        yield
        return
    set_(count)
    try:
        yield
    finally:
        set_(before)
