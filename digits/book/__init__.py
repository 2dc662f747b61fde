"""The book's own code, as the book shows it, over this package's engine.

Michael Nielsen's "Neural Networks and Deep Learning" types sessions such as::

    >>> import mnist_loader
    >>> training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    >>> import network
    >>> net = network.Network([784, 30, 10])
    >>> net.SGD(training_data, 30, 10, 3.0, test_data=test_data)
    Epoch 0: 9129 / 10000
    ...

Here the same session runs with only its import line changed,
``from digits.book import mnist_loader, network``.  The modules keep the book's names,
arguments, return values and printed lines:

* :mod:`digits.book.mnist_loader`: ``load_data``, ``load_data_wrapper``,
  ``vectorized_result`` (chapter 1);
* :mod:`digits.book.network`: the chapter-1 ``Network`` (quadratic cost, sigmoid
  neurons, N(0, 1) weights);
* :mod:`digits.book.network2`: chapter 3's ``Network`` with its costs, weight
  initialisers, L2 regularisation, monitoring, early stopping, ``save`` and ``load``;
* :mod:`digits.book.network3`: chapter 6's layers and ``Network``, without Theano;
* :mod:`digits.book.expand_mnist`: chapter 6's expanded training data.

Each is a thin layer over :mod:`digits.nn`: the equations are written once, there.
What the book's code prints is printed by callbacks of the training loop
(:mod:`digits.book.printing`), so that the library itself prints nothing.
"""
