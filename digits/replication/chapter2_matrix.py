"""The run of row ``ch2-matrix``: the bench's timing of the matrix-based mini-batch.

Chapter 2's exercise asks for backpropagation of a whole mini-batch at once, as one
matrix of columns, instead of the book's loop over its examples; the book found it
about twice as fast.  :func:`run_matrix` times both with the very functions of
``make bench`` (:func:`digits.replication.bench.time_epochs`: our epochs and the
per-example loop in turns, each scaled to an epoch of 50,000 images); the settings
and the check are in :mod:`digits.replication.chapter2_speed`.
"""

from __future__ import annotations

import numpy as np

from digits.replication import bench
from digits.system.threads import blas_threads


def run_matrix(task, context) -> dict:
    """Seconds per epoch of the matrix-based mini-batch (ours) and of the per-example loop,
    and their ratio (the median of the turns' ratios)."""
    s = task.settings
    setting = bench.Setting(tuple(s["sizes"]), s["mini_batch_size"], s["dtype"], None)
    training = context.training[:s["images"]]
    with blas_threads(1):
        _, ours, theirs, _ = bench.time_epochs(setting, training, s["rounds"], s["reference_images"],
                                               seed=task.seed)
    ratios = [reference / mine for reference, mine in zip(theirs, ours)]
    return {"our_seconds_per_epoch": float(np.median(ours)), "reference_seconds_per_epoch": float(np.median(theirs)),
            "ratio": float(np.median(ratios)), "ratio_runs": ratios, "images": len(training),
            "reference_images": s["reference_images"]}
