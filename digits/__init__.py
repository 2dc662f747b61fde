"""digits: the handwritten-digit networks of Michael Nielsen's book
"Neural Networks and Deep Learning", written afresh, tested and fast.

The public surface, for a script or a notebook::

    from digits import Network, FullyConnected, ConvPool, Softmax, load_data

    training, validation, test = load_data("data/mnist", download=True)
    net = Network([784, 30, 10], seed=1)
    history = net.SGD(training, 30, 10, 3.0, test_data=test)

The package is in layers, each importing only those below it (docs/design.md):
``digits.system`` (errors, threads, memory, atomic files), ``digits.nn`` (the book's
maths), ``digits.data`` (MNIST) and ``digits.store`` (model files, checkpoints),
``digits.app`` (the command line, the server) and ``digits.replication`` (the book's
experiments rerun).
"""

from digits.data.mnist import load_data, load_data_wrapper
from digits.nn.layers import ConvPool, FullyConnected, Softmax
from digits.nn.network import Network
from digits.nn.training import History

__version__ = "0.1.0"
__all__ = ["Network", "FullyConnected", "ConvPool", "Softmax", "History", "load_data",
           "load_data_wrapper"]
