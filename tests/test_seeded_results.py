"""Chapter 1-3 results are those of the engine before chapter 6, for a seed.

The numbers below were recorded with the code as it was before the engine of layers
(commit 108cd3c, the fully connected network of chapters 1-3 alone): test accuracy
after each epoch and the sum of each layer's weights, for seeded runs on the first
3,000 training images.  The layers, the separate training loop and every later speed-up
must give them again: to the last bit on this machine, within float rounding on one
whose matrix library rounds differently.
"""

import numpy as np
import pytest

from digits.nn.network import Network

RECORDED = [
    ("ch1-quadratic", {"sizes": [784, 30, 10]}, {"epochs": 2, "mini_batch_size": 10, "eta": 3.0},
     [1219, 1433], [-227.8488610114896, -63.1664936562181]),
    ("ch1-quadratic-f32", {"sizes": [784, 30, 10], "dtype": "float32"}, {"epochs": 2, "mini_batch_size": 10, "eta": 3.0},
     [1219, 1433], [-227.84743333152437, -63.1665362585336]),
    ("ch3-ce-l2", {"sizes": [784, 30, 10], "cost": "cross-entropy", "init": "default"}, {"epochs": 2, "mini_batch_size": 10, "eta": 0.5, "lmbda": 5.0},
     [1630, 1722], [-41.4774682854236, -76.70186475943979]),
    ("ch3-l1-momentum", {"sizes": [784, 20, 10], "cost": "cross-entropy", "init": "default"}, {"epochs": 2, "mini_batch_size": 7, "eta": 0.1, "l1": 1.0, "momentum": 0.5},
     [1578, 1674], [-41.53178704270687, -62.5776542141668]),
    ("ch3-softmax-tanh", {"sizes": [784, 20, 15, 10], "cost": "log-likelihood", "activations": ["tanh", "relu", "softmax"], "init": "default"}, {"epochs": 2, "mini_batch_size": 10, "eta": 0.05, "lmbda": 1.0},
     [1432, 1660], [-17.590627191800262, 2.638016903384174, 5.594902980510431]),
    ("ch3-early-stop", {"sizes": [784, 30, 10], "cost": "cross-entropy", "init": "default"}, {"epochs": 3, "mini_batch_size": 10, "eta": 0.5, "early_stopping_n": 1, "schedule": "halve"},
     [1642, 1730, 1746], [-61.28494545468109, -95.04739838015203]),
]


@pytest.mark.parametrize("name, network, sgd, accuracies, weight_sums", RECORDED,
                         ids=[row[0] for row in RECORDED])
def test_a_seeded_chapter_1_to_3_run_gives_the_numbers_it_always_gave(mnist, name, network, sgd,
                                                                        accuracies, weight_sums):
    training, validation, test = mnist
    net = Network(seed=1, **network)
    if sgd.get("early_stopping_n"):
        sgd = dict(sgd, validation_data=validation[:1000])
    history = net.SGD(training[:3000], evaluation_data=test[:2000], **sgd)
    assert history.evaluation_accuracy == accuracies
    # To the last bit here; within rounding where the matrix library rounds otherwise.
    tolerance = 1e-5 if network.get("dtype") == "float32" else 1e-9
    assert [float(np.sum(w, dtype=np.float64)) for w in net.weights] == \
        pytest.approx(weight_sums, rel=tolerance)
