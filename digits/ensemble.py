"""Several networks voting (chapter 6): each network's answer is one vote.

The book's best result, 99.67%, is five networks voting on each test image.  The digit
most networks answer wins; a tie between digits goes to the one whose voters were, in
sum, the most sure of it (each network's output for that digit, as a share of its ten
outputs), so that two networks out of four do not lose to chance.
"""

from __future__ import annotations

import numpy as np


def vote(outputs) -> np.ndarray:
    """The ensemble's digit for each column, from one ``(10, m)`` output array per network."""
    outputs = [np.asarray(output, dtype=np.float64) for output in outputs]
    n_out, m = outputs[0].shape
    votes = np.zeros((n_out, m))
    sureness = np.zeros((n_out, m))
    columns = np.arange(m)
    for output in outputs:
        answers = output.argmax(axis=0)
        votes[answers, columns] += 1
        totals = output.sum(axis=0, keepdims=True)
        share = output / np.where(totals > 0, totals, 1.0)
        sureness[answers, columns] += share[answers, columns]
    # Votes first; sureness (below one vote) only breaks ties.
    return np.argmax(votes + sureness / (len(outputs) + 1), axis=0)
