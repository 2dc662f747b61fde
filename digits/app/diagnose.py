"""A stuck network: a digit it never, or almost never, answers.

With the book's chapter-1 choices (sigmoid neurons, the quadratic cost, weights drawn
from N(0, 1)) now and then one output neuron is pushed, early in training, far into
the flat tail of the sigmoid: its output is close to 0 for every image.  Its error
δ = (a - y) σ'(z) (BP1) then carries the factor σ'(z) ≈ 0, so the neuron learns very
slowly, the learning slowdown of chapter 3, and the network goes on never answering
that digit: about a tenth of the images are lost and the accuracy stays near 85%.
The cross-entropy cost has no σ'(z) in its δ = a - y and pulls such a neuron back.

:func:`rarely_answered` finds such digits from the network's answers on a data set
(the test images, after training); :func:`explain` words the finding for a person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from digits.nn.dataset import DataSet

# A digit counts as rarely answered when the network answers it for fewer than this
# fraction of as many images as there are of it.  A network that is not stuck answers
# each digit for about as many test images as there are of it (0.93 to 1.07 times as
# many after the 30 epochs of `make train`, seeds 0-19; never under 0.8 times after
# any epoch but the first), a stuck one for none or a handful.
RARELY = 0.1

# Below this mean output on the images of its own digit, an output neuron is
# saturated near 0 (a stuck one gives under 0.002 there, a working one 0.7 to 0.95
# after the first epoch).
SATURATED = 0.05


@dataclass(frozen=True)
class RarelyAnswered:
    """A digit the network answers for far fewer images than there are of it."""

    digit: int
    answered: int          # images the network answered with this digit
    present: int           # images of this digit in the data
    mean_output: float     # the digit's output neuron's mean output on the images of this digit

    @property
    def saturated(self) -> bool:
        """The output neuron stays near 0 even for images of its own digit."""
        return self.mean_output < SATURATED


def rarely_answered(network, data, fraction: float = RARELY) -> list[RarelyAnswered]:
    """The digits ``network`` answers for fewer than ``fraction`` of their images in ``data``.

    ``data`` is a :class:`~digits.nn.dataset.DataSet` or the book's list of pairs.  The
    network's answer for an image is its output neuron with the largest output, as in
    ``Network.evaluate``.  Returns an empty list for a network that is not stuck;
    digits absent from ``data`` are never reported.
    """
    data = DataSet.from_pairs(data, n_out=network.sizes[-1])
    n_out = network.sizes[-1]
    outputs = network.outputs(data)                                          # (n_out, n)
    if n_out == 1:
        answers = (outputs[0] >= 0.5).astype(np.int64)
        own_outputs = outputs[0]
    else:
        answers = outputs.argmax(axis=0)
        own_outputs = outputs[data.labels, np.arange(len(data))]              # each image's own digit
    answered = np.bincount(answers, minlength=n_out)
    output_sums = np.bincount(data.labels, weights=own_outputs, minlength=n_out)
    present = np.bincount(data.labels, minlength=n_out)
    return [RarelyAnswered(int(digit), int(answered[digit]), int(present[digit]),
                           float(output_sums[digit] / present[digit]))
            for digit in range(n_out)
            if present[digit] and answered[digit] < fraction * present[digit]]


def explain(found: list[RarelyAnswered], cost: str, data_name: str = "test", *,
            eta: float | None = None, init: str | None = None) -> list[str]:
    """Lines for a person: which digits, why (two lines at most), and what helps.

    ``cost`` is the name of the cost the network was trained with, ``eta`` and ``init``
    (when given) its learning rate and initialisation; the advice (:func:`cures`) names
    the flags of ``digits train``.  No lines when nothing was found.
    """
    if not found:
        return []
    lines = [f"Warning: the network answered {item.digit} for {item.answered} of the "
             f"{item.present} {data_name} images of a {item.digit} (its output neuron gives "
             f"{item.mean_output:.3f} on them, on average)" for item in found]
    if all(item.saturated for item in found):
        why = ("Why: that output neuron is saturated: its sigmoid gives about 0 for every image, "
               "where σ'(z) is about 0")
        why += (", and the quadratic cost's error (a - y) σ'(z) then learns very slowly "
                "(chapter 3, the learning slowdown)." if cost == "quadratic" else
                ", and it has not recovered in the epochs given.")
    else:
        why = "Why: other output neurons always answer more strongly, so this digit never wins."
    return lines + [why, cures(cost, eta, init)]


def cures(cost: str, eta: float | None = None, init: str | None = None) -> str:
    """What chapter 3 says helps neurons that learn slowly: the cross-entropy cost (no
    σ'(z) in its error a - y), weights from N(0, 1/n_in) (``--init default``, which keeps
    weighted inputs small, out of the sigmoid's flat tails), and a learning rate suited
    to the cost."""
    helps = []
    if cost == "quadratic":
        helps.append("--cost cross-entropy, whose error a - y has no σ'(z) to slow it")
    if init != "default":
        helps.append("--init default, whose N(0, 1/n_in) weights start the neurons out of saturation")
    rate = "eta" if eta is None else f"an eta suited to the cost (this run: {eta:g})"
    helps.append(f"{rate}: the book uses 3.0 with the quadratic cost, 0.5 with cross-entropy and "
                 f"0.03-0.1 for chapter 6; one too large overshoots")
    return "What helps (chapter 3): " + "; ".join(helps) + "."
