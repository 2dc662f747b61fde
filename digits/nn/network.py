"""The book's network: a list of layers, feedforward and backpropagation.

:class:`Network` holds the algorithm of "Neural Networks and Deep Learning" under the
book's names.  ``Network([784, 30, 10])`` is chapter 1's network of sigmoid neurons;
``Network([ConvPool(...), ConvPool(...), FullyConnected(...), Softmax(...)])`` is one
of chapter 6's, built from the layer objects of :mod:`digits.nn.layers`.  Both are the
same class, trained by the same stochastic gradient descent (:mod:`digits.nn.training`).
The class is put together from one small class per idea, in the book's order:
:class:`Structure` (the layers and their weights), :class:`Feedforward` (chapter 1),
:class:`Backpropagation` (chapter 2), :class:`Evaluation` (accuracy and the cost) and
:class:`BookTraining` (``SGD`` and ``update_mini_batch``, which hand the work to the
training loop).

The book's names:

* ``sizes``: neurons per layer, ``[784, 30, 10]``; layer 0 is the input layer;
* ``weights[i]`` and ``biases[i]``: the weights w and biases b of layer ``i + 1``
  (``layers[i]``); for a fully connected layer ``weights[i][j, k]`` connects neuron k
  of one layer to neuron j of the next, and ``biases[i]`` is a column;
* ``zs`` and ``activations`` (in each layer's workspace): the weighted inputs
  z = w a + b and the outputs a = σ(z);
* ``delta``, ``nabla_b``, ``nabla_w``: the error δ = ∂C/∂z and the gradients ∂C/∂b and
  ∂C/∂w.

Where the book loops over the examples of a mini-batch one at a time, this code puts
the m examples side by side as the columns of one matrix (the book's chapter-2
exercise): ``x`` is ``(784, m)``, every z, a and δ of a fully connected layer is
``(n, m)``, and the sums over the mini-batch become matrix products.  The arithmetic is
the same; only the loop moved into the matrix library.
"""

from __future__ import annotations

import numpy as np

from digits.nn import costs as costs_module
from digits.nn import training
from digits.nn.dataset import DataSet, Examples, as_dataset
from digits.system.errors import UsageError
from digits.system.memory import check_memory
from digits.nn import hyperparameters
from digits.nn.layers import INITIALISATIONS, ConvPool, FullyConnected, Layer, Softmax
from digits.system.threads import blas_threads
from digits.nn.training import SCHEDULES, History, check_hyperparameters

__all__ = ["Network", "History", "FullyConnected", "Softmax", "ConvPool", "SCHEDULES"]


# How many examples evaluation feeds forward at a time: slices of a few hundred images
# stay in the processor's cache while the layers work on them (faster than 10,000 at
# once) and bound the memory; a convolutional layer's copies are larger per example.
_CHUNK_FULLY_CONNECTED = 500
_CHUNK_CONVOLUTIONAL = 100


class Structure:
    """What a network is: its layers, their sizes, weights and biases, drawn afresh by
    :meth:`initialise`."""

    def initialise(self, init=None):
        """Draw fresh weights and biases for every layer.

        The biases of every layer are drawn first, then the weights, the order of the
        book's ``network.py``, so that a seed gives the same network it always gave.
        ``init`` (one of :data:`digits.nn.layers.INITIALISATIONS`) changes the
        initialisation of a network built from sizes.
        """
        if init is not None:
            _use_init(self, init)
        for layer in self.layers:
            layer.initialise_biases(self.rng, self.dtype)
        for layer in self.layers:
            layer.initialise_weights(self.rng, self.dtype)
            layer.forget_workspaces()

    @property
    def sizes(self) -> list:
        """Neurons per layer, the input layer first: ``[784, 30, 10]``."""
        return [self.layers[0].n_in] + [layer.n_out for layer in self.layers]

    @property
    def num_layers(self) -> int:
        return len(self.layers) + 1

    @property
    def activations(self) -> list:
        return [layer.activation for layer in self.layers]

    @property
    def weights(self) -> list:
        """Each layer's weights: the arrays themselves, so changing one changes the network."""
        return [layer.weights for layer in self.layers]

    @weights.setter
    def weights(self, arrays):
        _set_parameters(self, "weights", arrays)

    @property
    def biases(self) -> list:
        """Each layer's biases (the arrays themselves)."""
        return [layer.biases for layer in self.layers]

    @biases.setter
    def biases(self, arrays):
        _set_parameters(self, "biases", arrays)

    def parameter_count(self) -> int:
        """How many weights and biases the network has."""
        return sum(int(np.prod(layer.weight_shape())) + int(np.prod(layer.bias_shape()))
                   for layer in self.layers)

    @property
    def convolutional(self) -> bool:
        return any(isinstance(layer, ConvPool) for layer in self.layers)



class Feedforward:
    """The network's output for its input, a = σ(w a + b) layer after layer (chapter 1)."""

    def feedforward(self, a):
        """The network's output for input ``a``: a' = σ(w a + b), layer after layer (eq. 22).

        ``a`` is one ``(784, 1)`` column or a ``(784, m)`` matrix of m columns; a flat
        vector of 784 numbers is taken as one column.  Returns ``(10, m)``.  The
        arithmetic is done in the network's dtype.
        """
        a = np.asarray(a, dtype=self.dtype)
        if a.ndim == 1:
            a = a.reshape(-1, 1)   # (n_in, 1)
        if a.ndim != 2 or a.shape[0] != self.sizes[0]:
            raise UsageError(f"the network takes {self.sizes[0]} inputs, got {a.shape[0]}")
        return self._feedforward(a, cache=False).copy()

    def _feedforward(self, a, cache):
        m = a.shape[1]
        for layer in self.layers:
            ws = layer.workspace(m, False) if cache else layer.make_workspace(m, False, self.dtype)
            a = layer.forward(a, ws)
        return a


class Backpropagation:
    """Chapter 2's algorithm: a forward pass keeping every z and a, a backward pass from
    the output error, for the m examples of a mini-batch as the columns of one matrix."""

    def backprop(self, x, y):
        """The gradient of the cost summed over a mini-batch: ``(nabla_b, nabla_w)``.

        ``x`` holds the inputs as columns, ``y`` the desired outputs as columns;
        ``nabla_b[i]`` and ``nabla_w[i]`` have the shapes of ``biases[i]`` and
        ``weights[i]`` and hold Σ_x ∂C_x/∂b and Σ_x ∂C_x/∂w over the m examples.

        The four equations of backpropagation (chapter 2), here for m columns at once:

        * BP1  δ^L = ∇_a C ⊙ σ'(z^L)              (the output error, from the cost)
        * BP2  δ^l = ((w^(l+1))^T δ^(l+1)) ⊙ σ'(z^l)  (the error moves back a layer)
        * BP3  ∂C/∂b^l = δ^l                      (summed over the columns)
        * BP4  ∂C/∂w^l = δ^l (a^(l-1))^T          (the matrix product sums the columns)

        Each layer writes its own share (:mod:`digits.nn.layers`); dropout, if any layer
        has it, is not applied here.
        """
        x, y = _as_columns(self, x, y)
        m = x.shape[1]
        workspaces = [layer.make_workspace(m, True, self.dtype) for layer in self.layers]
        self.forward_pass(workspaces, x, rng=None)
        self.backward_pass(workspaces, y, scale=1.0)
        return [ws.nabla_b for ws in workspaces], [ws.nabla_w for ws in workspaces]

    def forward_pass(self, workspaces, x, rng):
        """Feedforward keeping every layer's z and a in its workspace (eq. 25).

        ``rng`` is the generator for dropout while training, or None (no dropout).
        """
        a = x
        for layer, ws in zip(self.layers, workspaces):
            a = layer.forward(a, ws, rng)
        return a

    def backward_pass(self, workspaces, y, scale):
        """BP1-BP4 (see :meth:`backprop`) into each workspace's ``nabla_b`` and ``nabla_w``.

        The output error δ^L is multiplied by ``scale`` before it goes back, so every δ,
        and each workspace's ``nabla_b`` and ``nabla_w``, hold ``scale`` times the
        gradient summed over the mini-batch: ``scale`` is 1 for :meth:`backprop`, and
        eta/m in a training step (:func:`digits.nn.training.train_step`), where the
        two arrays then hold the step itself.
        """
        output, out = self.layers[-1], workspaces[-1]
        delta = self.cost.delta(out.z, out.a, y, output.activation,
                                out=out.delta, scratch=out.derivative)           # BP1
        if scale != 1.0:
            delta *= scale
        # As in the book, l counts layers from the end: l = 1 is the output layer,
        # l = 2 the last hidden layer, and so on.
        for l in range(1, len(self.layers) + 1):
            propagate = l < len(self.layers)
            error = self.layers[-l].backward(delta, workspaces[-l], propagate)   # BP3, BP4
            if propagate:
                delta = self.layers[-l - 1].delta(error, workspaces[-l - 1])       # BP2



class Evaluation:
    """How well the network does on data: answers, outputs, correct counts and the cost."""

    def predict(self, data) -> np.ndarray:
        """The digit the network answers for each example of ``data`` (a DataSet or an
        ``(n, 784)`` array of rows).

        The answer is the output neuron with the largest activation; a single output
        neuron answers 1 when its activation is at least 0.5.
        """
        answers = []
        with blas_threads(1):      # see digits.system.threads
            for _, output in _outputs(self, data):
                if output.shape[0] == 1:
                    answers.append((output[0] >= 0.5).astype(np.int64))
                else:
                    answers.append(output.argmax(axis=0))
        return np.concatenate(answers) if answers else np.zeros(0, np.int64)

    def outputs(self, data) -> np.ndarray:
        """The output layer's activations for every example of ``data``: ``(n_out, n)``."""
        with blas_threads(1):
            return np.concatenate([output.copy() for _, output in _outputs(self, data)], axis=1)

    def evaluate(self, data) -> int:
        """How many examples of ``data`` the network classifies correctly (a count, as in the book).

        ``data`` is a list of ``(x, label)`` pairs or a DataSet.
        """
        data = self._as_dataset(data)
        return int(np.count_nonzero(self.predict(data) == data.labels))

    def accuracy(self, data) -> float:
        """The fraction of ``data`` classified correctly."""
        data = self._as_dataset(data)
        return self.evaluate(data) / len(data)

    def total_cost(self, data, lmbda=0.0, l1=0.0, n=None) -> float:
        """The mean cost over ``data`` plus the regularisation terms (chapter 3, eqs. 85 and 95).

        C = (1/N) Σ_x C_x + (lmbda / 2n) Σ_w w² + (l1 / n) Σ_w |w|, where N is the size
        of ``data`` and n the size of the training set the network learns from (the
        regularisation term belongs to the training cost, so it is scaled by the
        training set's n whichever data are measured; ``n`` defaults to N).
        """
        data = self._as_dataset(data)
        n = len(data) if n is None else n
        cost = 0.0
        targets = data.targets()
        with blas_threads(1):
            for start, output in _outputs(self, data):
                cost += self.cost.fn(output, targets[start:start + output.shape[1]].T)
        cost /= len(data)
        weights = [w for layer in self.layers for w in layer.regularised()]
        if lmbda:
            cost += costs_module.l2_term(weights, lmbda, n)
        if l1:
            cost += costs_module.l1_term(weights, l1, n)
        return cost

    def _as_dataset(self, data) -> Examples | None:
        return as_dataset(data, self.sizes[-1])



class BookTraining:
    """The book's two entry points to training, run by :mod:`digits.nn.training`."""

    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0, test_data=None,
            evaluation_data=None, monitor_evaluation_cost=False, monitor_evaluation_accuracy=None,
            monitor_training_cost=False, monitor_training_accuracy=False, early_stopping_n=0,
            validation_data=None, callbacks=(), resume=None, **options):
        """Train by mini-batch stochastic gradient descent; return a :class:`History`.

        The book's arguments (chapters 1 and 3's ``network.py``/``network2.py``), run by
        :func:`digits.nn.training.sgd`.  ``test_data`` (chapter 1) or ``evaluation_data``
        is evaluated after each epoch (its accuracy by default); ``validation_data`` is
        what early stopping watches.  ``options`` are the rest of this project's
        settings: ``l1``, ``momentum`` and ``schedule`` (see :class:`training.Settings`),
        ``monitor_validation_accuracy`` and ``keep_best_validation`` (see
        :class:`training.Monitoring`).  ``callbacks`` (:mod:`digits.nn.callbacks`) hear
        of every moment of the run; ``resume`` goes on from a checkpoint.
        """
        if test_data is not None and evaluation_data is not None:
            raise UsageError("give test_data or evaluation_data, not both")
        evaluation = evaluation_data if evaluation_data is not None else test_data
        settings = {key: options.pop(key) for key in ("l1", "momentum", "schedule") if key in options}
        watch = {key: options.pop(key) for key in ("monitor_validation_accuracy", "keep_best_validation")
                 if key in options}
        if options:
            raise TypeError(f"SGD() got an unexpected keyword argument {next(iter(options))!r}")
        settings = training.Settings(epochs, mini_batch_size, eta, lmbda,
                                     early_stopping_n=early_stopping_n, seed=self.seed, **settings)
        monitoring = training.Monitoring(
            evaluation_data=evaluation, validation_data=validation_data,
            evaluation_cost=monitor_evaluation_cost,
            evaluation_accuracy=(evaluation is not None if monitor_evaluation_accuracy is None
                                 else monitor_evaluation_accuracy),
            training_cost=monitor_training_cost, training_accuracy=monitor_training_accuracy,
            validation_accuracy=watch.get("monitor_validation_accuracy", False),
            keep_best_validation=watch.get("keep_best_validation", False))
        return training.sgd(self, training_data, settings, monitoring, callbacks, resume)

    def update_mini_batch(self, x, y, eta, lmbda=0.0, l1=0.0, n=1, momentum=0.0):
        """One step of gradient descent on the mini-batch whose examples are the columns of x, y.

        With m examples in the mini-batch and n in the training set (chapter 1, eqs.
        20-21, and chapter 3, eqs. 93 and 98)::

            w -> (1 - eta*lmbda/n) w - (eta*l1/n) sgn(w) - (eta/m) Σ_x ∂C_x/∂w
            b -> b - (eta/m) Σ_x ∂C_x/∂b

        Biases are not regularised.  With momentum μ each parameter keeps a velocity
        (chapter 3): ``v -> μ v - (eta/m) Σ ∂C_x/∂w`` and then ``w -> w + v``; the rule
        (:class:`digits.nn.training.GradientDescent`) is kept in ``self.update_rule``
        so that the velocities go on from one call to the next with the same settings.
        """
        x, y = _as_columns(self, x, y)
        settings = (eta, lmbda, l1, n, momentum)
        rule = self.update_rule
        if rule is None or (rule.eta, rule.lmbda, rule.l1, rule.n, rule.momentum) != settings:
            rule = self.update_rule = training.GradientDescent(self, *settings)
        workspaces = [layer.workspace(x.shape[1], True) for layer in self.layers]
        training.train_step(self, workspaces, x, y, rule, self.rng)



class Network(Structure, Feedforward, Backpropagation, Evaluation, BookTraining):
    """A feedforward network trained by mini-batch stochastic gradient descent.

    ``Network([784, 30, 10])`` is the book's chapter-1 network: fully connected layers
    of sigmoid neurons, the quadratic cost and weights and biases drawn from N(0, 1).
    Instead of sizes, a list of layers from :mod:`digits.nn.layers` builds any network of
    chapter 6.  Keyword arguments:

    ``cost``
        ``"quadratic"`` (chapter 1), ``"cross-entropy"`` (chapter 3, sigmoid output) or
        ``"log-likelihood"`` (chapter 3, softmax output).  Default: quadratic for
        sizes, log-likelihood for layers ending in :class:`~digits.nn.layers.Softmax`.
    ``activations`` (with sizes)
        one name for every layer, or a list with one name per layer of weights (the
        last is the output layer): ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"softmax"``.
    ``init`` (with sizes)
        ``"large"``: every weight and bias from N(0, 1) (chapter 1); ``"default"``:
        weights from N(0, 1/n_in), with n_in the neuron's number of inputs, and biases
        from N(0, 1) (chapter 3's improved initialisation); the others of
        :data:`digits.nn.layers.INITIALISATIONS` too.  Layer objects carry their own
        ``init``.
    ``seed``
        seeds the initial weights, the shuffling of the training data and dropout, so
        the same seed and data give identical weights and accuracies, run after run.
    ``dtype``
        ``numpy.float64`` (the default) or ``numpy.float32`` (faster, same accuracy).
    ``initialise``
        False leaves the weights and biases unset, for a saved model's arrays to be
        put in their place (``network.weights = ...``); nothing random is drawn.
    """

    def __init__(self, sizes, cost=None, activations="sigmoid", init=None, seed=None,
                 dtype=np.float64, initialise=True):
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise UsageError(f"dtype must be float32 or float64, not {dtype}")
        hyperparameters.check({"seed": seed})
        self.layers, self.init = _layers_and_init(sizes, activations, init)
        self.cost = _cost_for(cost, self.layers)
        self.dtype = dtype
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.update_rule = None        # update_mini_batch's rule, see there
        if initialise:
            check_memory(self.parameter_count() * dtype.itemsize * 2, f"a {self.sizes} network's weights")
            self.initialise()

    def __repr__(self) -> str:
        if self.init is not None:
            names = "/".join(a.name for a in self.activations)
            return (f"Network({self.sizes}, cost={self.cost.name!r}, activations={names!r}, "
                    f"init={self.init!r}, dtype={self.dtype.name})")
        inner = ", ".join(map(repr, self.layers))
        return f"Network([{inner}], cost={self.cost.name!r}, dtype={self.dtype.name})"

    check_hyperparameters = staticmethod(check_hyperparameters)


def _layers_and_init(sizes, activations, init):
    """``(layers, init)``: the layers given, or fully connected ones for a list of sizes
    (``init`` None for layer objects, which carry their own), their shapes checked."""
    layers = list(sizes)            # neurons per layer, or the layers themselves
    if layers and all(isinstance(layer, Layer) for layer in layers):
        if init is not None:
            raise UsageError("a network built from layer objects takes each layer's own init")
    else:
        init = "large" if init is None else init
        hyperparameters.check_choice("initialisation", init, INITIALISATIONS)
        layers = _layers_from_sizes(layers, activations, init)
    _check_chain(layers)
    return layers, init


def _use_init(network, init):
    """Make ``init`` the initialisation of every layer of ``network``, which must have
    been built from sizes (layer objects keep their own)."""
    if network.init is None or init not in INITIALISATIONS:
        raise UsageError(f"cannot re-initialise with {init!r}")
    for layer in network.layers:
        layer.init = init
    network.init = init


def _cost_for(cost, layers):
    """The cost named ``cost`` or, for None, the one that goes with the output layer
    (log-likelihood after softmax, else quadratic), checked against the layers: softmax
    only as the output, and the output activation the cost needs."""
    if cost is None:
        cost = "log-likelihood" if isinstance(layers[-1], Softmax) else "quadratic"
    cost = costs_module.get(cost)
    for hidden in layers[:-1]:
        if hidden.activation.name == "softmax":
            raise UsageError("softmax can only be the output layer")
    costs_module.check_pairing(cost, layers[-1].activation)
    return cost


def _layers_from_sizes(sizes, activations, init):
    """Fully connected layers for the book's ``Network([784, 30, 10])``."""
    try:
        sizes = [int(size) for size in sizes]
    except (TypeError, ValueError):
        raise UsageError(f"sizes must be whole numbers of neurons, or layer objects; got {sizes}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise UsageError(f"sizes must list at least two layers of at least one neuron, got {sizes}")
    if isinstance(activations, str):
        activations = [activations] * (len(sizes) - 1)
    if len(activations) != len(sizes) - 1:
        raise UsageError(f"{len(sizes) - 1} layers of weights need as many activations, "
                         f"got {len(activations)}")
    return [FullyConnected(n_in, n_out, activation=activation, init=init)
            for n_in, n_out, activation in zip(sizes[:-1], sizes[1:], activations)]


def _check_chain(layers):
    """Refuse layers whose shapes do not fit one another, in one line."""
    if not layers:
        raise UsageError("a network needs at least one layer")
    for i, (below, above) in enumerate(zip(layers[:-1], layers[1:]), start=1):
        if isinstance(above, ConvPool) and not isinstance(below, ConvPool):
            raise UsageError(f"layer {i + 1} is convolutional but follows a fully connected layer; "
                             "convolutional layers come first")
        if isinstance(below, ConvPool) and not isinstance(above, ConvPool) and below.n_out == above.n_in:
            above.input_shape = below.output_shape      # feature maps, flattened by the layer
        fits = (below.output_shape == above.input_shape if isinstance(above, ConvPool)
                else below.n_out == above.n_in)
        if not fits:
            raise UsageError(f"layer {i} gives {'x'.join(map(str, below.output_shape))} outputs but "
                             f"layer {i + 1} takes {'x'.join(map(str, above.input_shape))}")


def _set_parameters(network, name, arrays):
    arrays = list(arrays)
    if len(arrays) != len(network.layers):
        raise UsageError(f"{len(network.layers)} layers need {len(network.layers)} {name}, got {len(arrays)}")
    for layer, array in zip(network.layers, arrays):
        expected = layer.weight_shape() if name == "weights" else layer.bias_shape()
        if np.shape(array) != expected:
            raise UsageError(f"{name} of shape {np.shape(array)} given to a layer that needs {expected}")
        setattr(layer, name, np.asarray(array, dtype=network.dtype))
        layer.forget_workspaces()


def _as_columns(network, x, y):
    x = np.asarray(x, dtype=network.dtype)
    y = np.asarray(y, dtype=network.dtype)
    if x.ndim != 2 or x.shape[0] != network.sizes[0]:
        raise UsageError(f"x must hold {network.sizes[0]} inputs per column, got shape {x.shape}")
    if y.shape != (network.sizes[-1], x.shape[1]):
        raise UsageError(f"y must hold {network.sizes[-1]} outputs per column, got shape {y.shape}")
    return x, y


def _outputs(network, data):
    """``(start, output)`` for each slice of a few hundred examples of ``data``.

    The output is the layers' own array, valid until the next slice.
    """
    size = _CHUNK_CONVOLUTIONAL if network.convolutional else _CHUNK_FULLY_CONNECTED
    for start in range(0, len(data), size):
        if isinstance(data, np.ndarray):
            chunk = data[start:start + size]
        else:
            chunk = data.chunk(start, start + size)
        chunk = np.asarray(chunk, dtype=network.dtype)                  # (size, n_in)
        yield start, network._feedforward(chunk.T, cache=True)
