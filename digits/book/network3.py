"""The book's ``network3.py`` (chapter 6): convolutional networks, without Theano.

::

    >>> from digits.book import network3
    >>> from digits.book.network3 import Network, ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer
    >>> training_data, validation_data, test_data = network3.load_data_shared()
    >>> mini_batch_size = 10
    >>> net = Network([
    ...     FullyConnectedLayer(n_in=784, n_out=100),
    ...     SoftmaxLayer(n_in=100, n_out=10)], mini_batch_size)
    >>> net.SGD(training_data, 60, mini_batch_size, 0.1, validation_data, test_data)
    Training mini-batch number 0
    Training mini-batch number 1000
    ...
    Epoch 0: validation accuracy 92.55%
    This is the best validation accuracy to date.
    The corresponding test accuracy is 92.05%
    ...

The layers are the engine's (:mod:`digits.nn.layers`) under the book's names and
arguments: ``ConvPoolLayer(filter_shape, image_shape, poolsize=(2, 2),
activation_fn=sigmoid)`` with ``filter_shape = (filters, channels, 5, 5)`` and
``image_shape = (mini_batch_size, channels, 28, 28)``; ``FullyConnectedLayer(n_in,
n_out, activation_fn=sigmoid, p_dropout=0.0)``; ``SoftmaxLayer(n_in, n_out,
p_dropout=0.0)``; the activations ``sigmoid``, ``tanh``, ``ReLU`` and ``linear``.
Initial weights as network3's: N(0, 1/n_out) for conv-pool and fully connected layers
(n_out = filters x 25 / 4 for a conv-pool layer), biases N(0, 1), the softmax layer at
zero.  The network is float32 (Theano's ``floatX``) and is trained by the engine's SGD
with the log-likelihood cost; :class:`digits.book.printing.Chapter6Lines` prints.

Its ``lmbda`` is the book's.  network3's L2 term is 0.5 lmbda Σ w² divided by the
number of mini-batches B = n // mini_batch_size, added to each mini-batch's mean cost,
so each step decays a weight by (1 - eta lmbda / B); the engine's by (1 - eta lmbda' / n)
(chapter 3's convention), so ``SGD`` hands the engine lmbda' = lmbda n / B (for MNIST's
50,000 images and mini-batches of 10: lmbda' = 10 lmbda, the library's 1.0 for the
book's 0.1).  Its dropout is the book's too: each input of a layer with ``p_dropout``
is dropped with probability p while training, and the trained network answers with
every input.  network3 scales that layer's weights by (1 - p) when it answers; the
engine keeps the weights as they are used and scales the kept inputs by 1/(1 - p)
while training instead ("inverted dropout", :mod:`digits.nn.layers`).  Both give each
neuron the same expected input, and ``net.layers[i].weights`` are the weights the
trained network answers with (network3's w times (1 - p)).

Departures from the book's code (its defects and Python 2 habits, done as meant):

* ``load_data_shared(filename)`` unpickled ``mnist.pkl.gz`` into Theano shared
  variables.  Here nothing is unpickled: the filename is accepted for the book's calls,
  and the data are read from the MNIST files (:mod:`digits.book.mnist_loader`, fetched
  if missing) as three DataSets; a filename naming the expanded data
  (``mnist_expanded.pkl.gz``, as ``expand_mnist.py`` wrote it) gives the expanded
  training set of :mod:`digits.book.expand_mnist`, made on the fly, never stored.
* It left out the last ``n % mini_batch_size`` examples of every data set; here every
  example is trained on and counted.
* A tie with the best validation accuracy so far was announced as a new best and
  moved the best iteration to the later epoch; here the first epoch of the best
  accuracy is the best, and the network ends with that epoch's weights (network3 kept
  the last epoch's), as the library's chapter-6 runs do.
* The training data are reshuffled every epoch (network3 went through them in the
  same order every time), by the network's generator: ``seed=`` or ``np.random.seed``.
* A ``mini_batch_size`` in ``SGD`` or in a layer's ``image_shape`` other than the
  network's is refused (Theano failed deep inside); pooling is 2x2 only.
* ``SGD`` returns None, as network3's did; ``net.history`` holds the run
  (``net.history.plot()`` draws it).
"""

from __future__ import annotations

import numpy as np

from digits.book import mnist_loader
from digits.book.engine import Identity, seed_from_numpy
from digits.book.expand_mnist import expanded_training_data
from digits.book.printing import Chapter6Lines
from digits.nn import activations, layers
from digits.nn import network as engine
from digits.system.errors import UsageError

__all__ = ["Network", "ConvPoolLayer", "FullyConnectedLayer", "SoftmaxLayer", "ReLU", "sigmoid",
           "tanh", "linear", "load_data_shared", "size"]


# -- the activation functions: callables, each naming the engine's activation -----------

def sigmoid(z):
    """σ(z) = 1 / (1 + e^(-z))."""
    return activations.Sigmoid.fn(np.asarray(z, dtype=np.float64))


def tanh(z):
    """tanh(z)."""
    return activations.Tanh.fn(np.asarray(z, dtype=np.float64))


def ReLU(z):
    """max(0, z): the rectified linear unit."""
    return activations.ReLU.fn(np.asarray(z, dtype=np.float64))


def linear(z):
    """z itself."""
    return Identity.fn(np.asarray(z, dtype=np.float64))


_ACTIVATIONS = {sigmoid: activations.Sigmoid, tanh: activations.Tanh, ReLU: activations.ReLU,
                linear: Identity}


def _engine_activation(activation_fn):
    try:
        return _ACTIVATIONS[activation_fn]
    except (KeyError, TypeError):
        raise UsageError(f"activation_fn must be network3's sigmoid, tanh, ReLU or linear, "
                         f"not {activation_fn!r}") from None


# -- the layers ---------------------------------------------------------------------

class ConvPoolLayer(layers.ConvPool):
    """A convolutional layer of ``filter_shape[0]`` feature maps, then 2x2 max-pooling.

    ``filter_shape`` is ``(filters, channels, height, width)`` of square filters,
    ``image_shape`` ``(mini_batch_size, channels, height, width)`` of the input.
    """

    def __init__(self, filter_shape, image_shape, poolsize=(2, 2), activation_fn=sigmoid):
        filter_shape, image_shape = tuple(filter_shape), tuple(image_shape)
        if len(filter_shape) != 4 or len(image_shape) != 4:
            raise UsageError("filter_shape is (filters, channels, height, width) and image_shape "
                             "(mini_batch_size, channels, height, width)")
        if filter_shape[1] != image_shape[1]:
            raise UsageError(f"the filters take {filter_shape[1]} channels, the images have {image_shape[1]}")
        if filter_shape[2] != filter_shape[3]:
            raise UsageError(f"filters are square here; {filter_shape[2]}x{filter_shape[3]} is not")
        if tuple(poolsize) != (2, 2):
            raise UsageError(f"pooling is 2x2 here, not {poolsize}")
        super().__init__(image_shape[1:], filter_shape[0], filter_size=filter_shape[2],
                         activation=_engine_activation(activation_fn), init="network3")
        self.filter_shape, self.image_shape, self.poolsize = filter_shape, image_shape, (2, 2)
        self.activation_fn = activation_fn


class FullyConnectedLayer(layers.FullyConnected):
    """``n_in`` inputs joined to ``n_out`` neurons; each input dropped with ``p_dropout`` while training."""

    def __init__(self, n_in, n_out, activation_fn=sigmoid, p_dropout=0.0):
        super().__init__(n_in, n_out, activation=_engine_activation(activation_fn),
                         dropout=p_dropout, init="network3")
        self.activation_fn, self.p_dropout = activation_fn, p_dropout


class SoftmaxLayer(layers.Softmax):
    """The softmax output layer (log-likelihood cost), weights and biases starting at zero."""

    def __init__(self, n_in, n_out, p_dropout=0.0):
        super().__init__(n_in, n_out, dropout=p_dropout)
        self.p_dropout = p_dropout


# -- the network --------------------------------------------------------------------

class Network(engine.Network):
    """The book's chapter-6 network: a list of layers, the last a :class:`SoftmaxLayer`.

    ``seed`` (not in the book): see :class:`digits.book.network.Network`.
    """

    def __init__(self, layers, mini_batch_size, seed=None):
        layers = list(layers)
        if not layers or not isinstance(layers[-1], SoftmaxLayer):
            raise UsageError("network3's last layer is a SoftmaxLayer")
        for layer in layers:
            if not isinstance(layer, (ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer)):
                raise UsageError(f"{layer!r} is not a network3 layer")
            if isinstance(layer, ConvPoolLayer) and layer.image_shape[0] != mini_batch_size:
                raise UsageError(f"a ConvPoolLayer's image_shape starts with mini_batch_size "
                                 f"{mini_batch_size}, not {layer.image_shape[0]}")
        super().__init__(layers, dtype=np.float32, seed=seed_from_numpy(seed))
        self.mini_batch_size = mini_batch_size
        self.history = None

    def SGD(self, training_data, epochs, mini_batch_size, eta, validation_data, test_data,
            lmbda=0.0):
        """Train by mini-batch SGD with the book's L2 parameter ``lmbda``, printing its lines.

        After each epoch the validation accuracy is printed, and at each new best the
        test accuracy with it; the network ends with the best epoch's weights.
        """
        if mini_batch_size != self.mini_batch_size:
            raise UsageError(f"the network was built for mini-batches of {self.mini_batch_size}, "
                             f"not {mini_batch_size}")
        if validation_data is None:
            raise UsageError("network3's SGD needs validation_data")
        self.history = super().SGD(
            training_data, epochs, mini_batch_size, eta, lmbda=engine_lmbda(lmbda, size(training_data), mini_batch_size),
            validation_data=validation_data, evaluation_data=test_data,
            monitor_validation_accuracy=True, keep_best_validation=True,
            callbacks=[Chapter6Lines()])


def engine_lmbda(lmbda, n, mini_batch_size):
    """The engine's L2 parameter for network3's ``lmbda``: lmbda n / B, B = n // mini_batch_size."""
    batches = max(n // mini_batch_size, 1)
    return lmbda * n / batches


def size(data):
    """How many examples ``data`` holds (network3's helper)."""
    return len(data)


def load_data_shared(filename="../data/mnist.pkl.gz"):
    """``[training_data, validation_data, test_data]``: MNIST as three float32 DataSets.

    ``filename`` is the book's; only whether it names the expanded data
    (``mnist_expanded``) matters, which makes ``training_data`` the 250,000 expanded
    images.  The data are read from the MNIST files (see the module).
    """
    training, validation, test = mnist_loader.load_datasets()
    if "expanded" in str(filename):
        training = expanded_training_data(training)
    return [training, validation, test]
