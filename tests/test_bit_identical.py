"""Seeded runs of chapters 1, 3 and 6 give the same weights to the last bit.

Each digest is the SHA-256 of every layer's weights and biases (their bytes, in layer
order), recorded before the package was reorganised into layers (``digits.nn``,
``digits.data``, ...).  Any refactoring of the engine, the training loop or the data
path must give them again.  They hold on this project's machines (the same numpy and
OpenBLAS); a matrix library that rounds differently changes the last bits, and then
``test_seeded_results.py``'s tolerances are the ones that apply.
"""

import hashlib

import numpy as np
import pytest

from digits import ConvPool, FullyConnected, Network, Softmax
from digits.data.expand import ExpandedDataSet


def weights_digest(network) -> str:
    digest = hashlib.sha256()
    for layer in network.layers:
        digest.update(np.ascontiguousarray(layer.weights).tobytes())
        digest.update(np.ascontiguousarray(layer.biases).tobytes())
    return digest.hexdigest()[:32]


def chapter_1(training, validation, test):
    network = Network([784, 30, 10], seed=3)
    network.SGD(training[:2000], 2, 10, 3.0, test_data=test[:500])
    return network


def chapter_3_early_stopping_and_schedule(training, validation, test):
    network = Network([784, 30, 10], cost="cross-entropy", init="default", seed=3)
    network.SGD(training[:2000], 3, 10, 0.5, lmbda=5.0, evaluation_data=validation[:500],
                monitor_evaluation_cost=True, monitor_training_cost=True,
                early_stopping_n=1, schedule="halve", validation_data=validation[:300])
    return network


def chapter_3_l1_and_momentum(training, validation, test):
    network = Network([784, 20, 10], cost="cross-entropy", init="default", seed=4)
    network.SGD(training[:1500], 2, 7, 0.1, l1=1.0, momentum=0.5)
    return network


def chapter_6_relu_dropout_best_validation(training, validation, test):
    network = Network([ConvPool((1, 28, 28), 4, activation="relu", init="network3"),
                       ConvPool((4, 12, 12), 6, activation="relu", init="network3"),
                       FullyConnected((6, 4, 4), 40, activation="relu", dropout=0.5, init="network3"),
                       Softmax(40, 10, dropout=0.5)], seed=5, dtype=np.float32)
    network.SGD(training[:600], 2, 10, 0.03, lmbda=0.1, validation_data=validation[:200],
                monitor_validation_accuracy=True, keep_best_validation=True, test_data=test[:200])
    return network


def chapter_6_expanded_data(training, validation, test):
    network = Network([ConvPool((1, 28, 28), 3, activation="sigmoid"),
                       FullyConnected((3, 12, 12), 20), Softmax(20, 10)], seed=6)
    network.SGD(ExpandedDataSet(training[:300]), 1, 10, 0.1)
    return network


RECORDED = [
    (chapter_1, "b948247081f8010e504a39ac871eaa88"),
    (chapter_3_early_stopping_and_schedule, "935b09811d1f7c415529919401882a26"),
    (chapter_3_l1_and_momentum, "4fdde8bdc049e95fffa38dd4bfd24717"),
    (chapter_6_relu_dropout_best_validation, "1e5327100980930d89e1e331e42e0f4f"),
    (chapter_6_expanded_data, "a611a46bd1e1b892ece43b7dc10e5867"),
]


@pytest.mark.parametrize("run, recorded", RECORDED, ids=[run.__name__ for run, _ in RECORDED])
def test_a_seeded_run_gives_the_weights_it_gave_before_the_reorganisation(mnist, run, recorded):
    assert weights_digest(run(*mnist)) == recorded
