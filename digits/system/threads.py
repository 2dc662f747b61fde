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

So :class:`~digits.nn.network.Network` trains and evaluates inside
``with blas_threads(1):``.  The usual alternative, the environment variable
``OPENBLAS_NUM_THREADS=1``, is read only once, when numpy is first imported, and then
holds for the whole process, the user's own code included; so instead this module
asks the loaded BLAS itself to change its thread count, and restores the count
afterwards.  It does so through ``threadpoolctl`` (the package scikit-learn uses for
the same purpose), which finds the BLAS libraries loaded into the process and knows
OpenBLAS, MKL, BLIS and FlexiBLAS.  Where numpy's BLAS is none of these (Apple's
Accelerate), :func:`blas_threads` does nothing, and :func:`blas_thread_control` says so.

Cost: finding the libraries (``threadpoolctl.ThreadpoolController()``) reads the list
of the process's shared libraries, about 0.35 ms per call on the development machine,
which would be 1 to 3% of an evaluation of the test images.  So the controller is made
once, on first use, and kept; switching the thread count with it then takes about
20 µs per ``with`` block (the hand-written ``ctypes`` calls this module used before
took about 5 µs), and a block that asks for the count already in force changes nothing.
Training enters one block per epoch and evaluation one per call, so neither gets
slower: the ``ctypes`` version and this one, taking turns in one process on the shared
2-core machine, gave the same medians to within 2% either way, for evaluating the 10,000
test images (40 times each: 39 ms in float64, 15 ms in float32) and for training epochs
of ``[784, 30, 10]`` (6 each: 0.82 s and 0.51 s).
"""

from __future__ import annotations

import contextlib
import functools


@functools.lru_cache(maxsize=None)
def _blas_controller():
    """The loaded BLAS libraries' thread controls, found once (see the module docstring).

    numpy is imported first, so that its BLAS is loaded and found.
    """
    import numpy  # noqa: F401
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def blas_thread_control() -> bool:
    """True when this process's BLAS is one whose thread count can be set."""
    return bool(_blas_controller().lib_controllers)


def blas_thread_count() -> int | None:
    """The number of threads the BLAS will use now, or None where it cannot be asked.

    (With several BLAS libraries loaded, the largest of their counts.)
    """
    counts = [library.num_threads for library in _blas_controller().lib_controllers]
    counts = [count for count in counts if count is not None]
    return max(counts) if counts else None


@contextlib.contextmanager
def blas_threads(count: int):
    """Let BLAS use at most ``count`` threads inside the ``with`` block, then restore.

    A no-op where the BLAS is not one threadpoolctl can reach.
    """
    controller = _blas_controller()
    if all(library.num_threads == count for library in controller.lib_controllers):
        yield
        return
    with controller.limit(limits=count, user_api="blas"):
        yield
