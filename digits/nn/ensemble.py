"""Several networks voting (chapter 6): each network's answer is one vote.

The book's best result, 99.67%, is five networks voting on each test image.  The digit
most networks answer wins; a tie between digits goes to the one whose voters were, in
sum, the most sure of it (each network's output for that digit, as a share of its ten
outputs), so that two networks out of four do not lose to chance.

A network's vote on each image is all the vote needs of it: its answer and how sure it
was (:func:`answers_and_shares`), so a vote can also be counted from those alone
(:func:`vote_answers`), without the networks.
"""

from __future__ import annotations

import numpy as np


def shares(outputs) -> np.ndarray:
    """Each output's share of its column's total, ``a_j / Σ_k a_k``, for ``(10, m)`` outputs.

    The book's sigmoid outputs need not add up to 1, so this, not the output itself,
    is what "confidence" means here; a softmax layer's outputs are their own shares.
    """
    outputs = np.asarray(outputs, dtype=np.float64)
    totals = outputs.sum(axis=0, keepdims=True)
    return outputs / np.where(totals > 0, totals, 1.0)


def answers_and_shares(output) -> tuple:
    """A network's vote on each column of its ``(10, m)`` outputs: ``(answers, shares)``,
    the digit of its largest output and that output as a share of the ten."""
    output = np.asarray(output, dtype=np.float64)
    answers = output.argmax(axis=0)
    return answers, shares(output)[answers, np.arange(output.shape[1])]


def vote(outputs) -> np.ndarray:
    """The ensemble's digit for each column, from one ``(10, m)`` output array per network."""
    votes = [answers_and_shares(output) for output in outputs]
    return vote_answers([answers for answers, _ in votes], [shares for _, shares in votes],
                        n_out=np.shape(outputs[0])[0])


def vote_answers(answers, shares, n_out=10) -> np.ndarray:
    """The ensemble's digit for each example, from each network's ``answers`` and
    ``shares`` (one array of m per network, as :func:`answers_and_shares` gives them)."""
    m = len(answers[0])
    votes = np.zeros((n_out, m))
    sureness = np.zeros((n_out, m))
    columns = np.arange(m)
    for answer, share in zip(answers, shares):
        answer = np.asarray(answer, dtype=np.intp)
        votes[answer, columns] += 1
        sureness[answer, columns] += np.asarray(share, dtype=np.float64)
    # Votes first; sureness (below one vote) only breaks ties.
    return np.argmax(votes + sureness / (len(answers) + 1), axis=0)
