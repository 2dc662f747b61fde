"""The large matrix products of chapter 6 on two cores, with the same numbers on one.

OpenBLAS can split a product between threads itself, but its results then depend on
the number of threads (the last bits differ), and when another program keeps the other
core busy every split product waits for a thread that is not running: on this
project's 2-core machine a mini-batch then took 20 times as long.  A seeded run must
give the same numbers every time, and a run resumed from a checkpoint the numbers of
one never stopped, so the thread count cannot be left to chance.

:func:`matmul` therefore splits a large product itself, always at the same place, into
two halves that the matrix library computes on one thread each: the calling thread
computes the first half while a helper thread computes the second.  If the helper has
not begun by the time the first half is done (its core is busy), the calling thread
takes the second half back and computes it too.  Either way each half is computed by
the same single-threaded code, so the result is the same to the last bit; a busy
machine only costs time.  Products too small for a second thread to pay are computed
whole, as before.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Multiply-adds below which a product is computed whole: handing half of it to another
# thread costs some tens of microseconds, a product of 2 million multiply-adds about 50.
SPLIT_ABOVE = 2_000_000
# Rows or columns the longer side needs: halves narrower than this are slow products.
SPLIT_LENGTH = 128

_pool = None


def _helper():
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="digits-matmul")
    return _pool


def matmul(a, b, out):
    """``out = a @ b`` for 2-D arrays, split in two halves for two cores when it is large."""
    m, k = a.shape
    n = b.shape[1]
    if m * n * k < SPLIT_ABOVE or max(m, n) < SPLIT_LENGTH or (os.cpu_count() or 1) < 2:
        return np.matmul(a, b, out=out)
    if n >= m:                       # split the columns of b and out
        half = n // 2
        first = (a, b[:, :half], out[:, :half])
        second = (a, b[:, half:], out[:, half:])
    else:                            # split the rows of a and out
        half = m // 2
        first = (a[:half], b, out[:half])
        second = (a[half:], b, out[half:])
    pending = _helper().submit(_product, *second)
    _product(*first)
    if pending.cancel():             # the helper never started: do its half here
        _product(*second)
    else:
        pending.result()
    return out


def _product(a, b, out):
    np.matmul(a, b, out=out)
