"""The large matrix products of chapter 6 on two cores, with the same numbers on one.

OpenBLAS can split a product between threads itself, but its results then depend on
the number of threads (the last bits differ), and when another program keeps the other
core busy every split product waits for a thread that is not running: on this
project's 2-core machine a mini-batch then took 20 times as long.  A seeded run must
give the same numbers every time, and a run resumed from a checkpoint the numbers of
one never stopped, so the thread count cannot be left to chance.

:func:`matmul` therefore cuts a large product itself, always at the same places, into a
few pieces that the matrix library computes on one thread each; the calling thread and
a helper thread take the pieces one after another until none is left.  If the helper's
core is busy, the caller simply does more of them.  Whoever computes a piece computes
it with the same single-threaded code, so the result is the same to the last bit; a
busy machine only costs time.  Products too small for a second thread to pay are computed
whole, as before.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Multiply-adds below which a product is computed whole: handing half of it to another
# thread costs some tens of microseconds, a product of 2 million multiply-adds about 50.
SPLIT_ABOVE = 2_000_000
# Rows or columns the longer side needs: halves narrower than this are slow products.
SPLIT_LENGTH = 128
# The pieces a product is cut into: a helper that starts late (its core busy) delays
# the caller by one piece at most.
PIECES = 4

_pool = None


def _helper():
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="digits-matmul")
    return _pool


def matmul(a, b, out):
    """``out = a @ b``, shared between two cores, in fixed pieces, when it is large.

    ``a`` is 2-D; ``b`` and ``out`` are 2-D, or 3-D for a stack of products with the
    same ``a`` (then the stack is what is cut).
    """
    m, k = a.shape
    n = b.shape[-1]
    count = b.shape[0] if b.ndim == 3 else 1
    if (count * m * n * k < SPLIT_ABOVE or (os.cpu_count() or 1) < 2
            or (count < PIECES and max(m, n) < SPLIT_LENGTH)):
        return np.matmul(a, b, out=out)
    pieces = _pieces(a, b, out, count, m, n)
    taken = itertools.count()       # next() on it is atomic: each piece is taken once

    def work():
        for i in iter(taken.__next__, None):
            if i >= len(pieces):
                return
            np.matmul(*pieces[i][:2], out=pieces[i][2])

    helper = _helper().submit(work)
    work()
    if not helper.cancel():         # the helper did start: wait for its last piece
        helper.result()
    return out


def _pieces(a, b, out, count, m, n):
    """``(a_i, b_i, out_i)`` for PIECES equal slices: of the stack, the columns or the rows."""
    if count >= PIECES:
        cuts = np.linspace(0, count, PIECES + 1).astype(int)
        return [(a, b[i:j], out[i:j]) for i, j in zip(cuts[:-1], cuts[1:])]
    if n >= m:
        cuts = np.linspace(0, n, PIECES + 1).astype(int)
        return [(a, b[..., i:j], out[..., i:j]) for i, j in zip(cuts[:-1], cuts[1:])]
    cuts = np.linspace(0, m, PIECES + 1).astype(int)
    return [(a[i:j], b, out[..., i:j, :]) for i, j in zip(cuts[:-1], cuts[1:])]
