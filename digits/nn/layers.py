"""The layers a network is built from: fully connected, softmax and convolution-pooling.

A :class:`~digits.nn.network.Network` is a list of layers chained by one loop, as in the
book's chapter-6 code: each layer is told its input by the one before, computes its
weighted inputs z and activations a, and on the way back computes its share of the
four equations of backpropagation (chapter 2):

* BP1  δ^L = ∇_a C ⊙ σ'(z^L): the output error, from the cost (:mod:`digits.nn.costs`);
* BP2  δ^l = ((w^(l+1))^T δ^(l+1)) ⊙ σ'(z^l): split between two layers here.  The layer
  above computes the error it sends back, (w^(l+1))^T δ^(l+1) (``backward``), and the
  layer below multiplies it by its own σ'(z^l) (``delta``);
* BP3  ∂C/∂b^l = δ^l and BP4  ∂C/∂w^l = δ^l (a^(l-1))^T, summed over the mini-batch
  (``backward``).

Conventions that would otherwise surprise:

* As in the book, the m examples of a mini-batch are the *columns* of a matrix: a fully
  connected layer takes ``(n_in, m)`` and gives ``(n_out, m)``.  A convolutional layer
  takes and gives its feature maps as ``(channels, m, height, width)``: channel first,
  then the examples (in memory it keeps the examples last, see :class:`ConvPool`).
  :class:`FullyConnected` flattens such maps into columns in the order (channel, row,
  column), the order of the book's ``network3.py``.
* Every array a forward or backward pass writes lives in a :class:`Workspace` that the
  layer makes once per mini-batch size; training reuses it for every mini-batch, since
  for arrays this small allocating one costs about as much as filling it.
* ``backward`` writes into ``nabla_b`` and ``nabla_w`` whatever multiple of the
  gradient its δ carries: δ itself for :meth:`digits.nn.network.Network.backprop`,
  δ times eta/m in a training step (:meth:`digits.nn.network.Network.backward_pass`
  multiplies the output error by it), where the two arrays then hold the step.
* Dropout (chapter 3, used in chapter 6) drops each *input* of a layer with
  probability p while training.  The inputs kept are multiplied by 1/(1 - p)
  ("inverted dropout"), so each neuron's expected weighted input is the same with and
  without dropout and the trained network is used as it is, with every input.  The
  book's ``network3.py`` instead multiplies the weights by (1 - p) when evaluating; the
  two give the same expected input, and ours keeps evaluation free of any special case.
"""

from __future__ import annotations

import numpy as np

from digits.nn import activations as activations_module
from digits.nn import convolution, hyperparameters
from digits.nn.workspace import Workspace
from digits.system.errors import UsageError

#: How a layer's first weights and biases are drawn (``init``), the one table of them.
INITIALISATIONS = {
    "default": "weights from N(0, 1/n_in), biases from N(0, 1) (chapter 3)",
    "large": "weights and biases from N(0, 1) (chapter 1)",
    "network3": "weights from N(0, 1/n_out), biases from N(0, 1) (the book's network3.py)",
    "zero": "weights and biases 0 (network3.py's softmax layer)",
}


class Initialisation:
    """How a layer draws its first weights and biases, by its ``init`` (:data:`INITIALISATIONS`).

    The layer gives ``weight_shape()``, ``bias_shape()``, ``fan_in()`` and ``fan_out()``.
    """

    def weight_scale(self) -> float:
        """The standard deviation of the initial weights for ``self.init``."""
        if self.init == "large":
            return 1.0                                    # chapter 1: N(0, 1)
        if self.init == "default":
            return 1.0 / np.sqrt(self.fan_in())           # chapter 3: N(0, 1/n_in)
        if self.init == "network3":
            return 1.0 / np.sqrt(self.fan_out())          # the book's network3.py: N(0, 1/n_out)
        return 0.0

    def initialise_biases(self, rng, dtype):
        """Biases from N(0, 1) (all but the ``zero`` initialisation)."""
        if self.init == "zero":
            self.biases = np.zeros(self.bias_shape(), dtype)
        else:
            self.biases = rng.standard_normal(self.bias_shape()).astype(dtype, copy=False)

    def initialise_weights(self, rng, dtype):
        """Weights from N(0, scale²), drawn in float64 and scaled in place (no extra copies)."""
        if self.init == "zero":
            self.weights = np.zeros(self.weight_shape(), dtype)
            return
        weights = rng.standard_normal(self.weight_shape())
        scale = self.weight_scale()
        if scale != 1.0:
            weights *= scale
        self.weights = weights.astype(dtype, copy=False)


class Workspaces:
    """A layer's arrays for each mini-batch size, made once (:meth:`make_workspace`) and
    reused for every mini-batch of that size and dtype, while training and after."""

    def workspace(self, m, training) -> Workspace:
        """This layer's arrays for mini-batches of ``m`` examples, made on first use."""
        key = (m, training, self.weights.dtype)
        if key not in self._workspaces:
            self._workspaces[key] = self.make_workspace(m, training, self.weights.dtype)
        return self._workspaces[key]

    def forget_workspaces(self):
        """Drop every cached workspace (after training, or when the weights change dtype)."""
        self._workspaces = {}

    def make_workspace(self, m, training, dtype) -> Workspace:
        raise NotImplementedError


class Layer(Initialisation, Workspaces):
    """What every layer has: weights, biases, an activation, and dropout on its inputs.

    Subclasses set ``input_shape`` and ``output_shape`` (a tuple: ``(n,)`` for a column
    of n neurons, ``(channels, height, width)`` for feature maps) and write
    :meth:`forward`, :meth:`delta` and :meth:`backward`.
    """

    weights: np.ndarray
    biases: np.ndarray

    def __init__(self, activation, dropout, init):
        self.activation = activations_module.get(activation)
        hyperparameters.check({"dropout": dropout})
        hyperparameters.check_choice("initialisation", init, INITIALISATIONS)
        self.dropout = float(dropout)
        self.init = init
        self.weights = self.biases = None
        self.forget_workspaces()

    # -- sizes ---------------------------------------------------------------------------

    @property
    def n_in(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def n_out(self) -> int:
        return int(np.prod(self.output_shape))

    def weight_shape(self) -> tuple:
        raise NotImplementedError

    def bias_shape(self) -> tuple:
        raise NotImplementedError

    # -- the passes ---------------------------------------------------------------------

    def forward(self, a, ws, rng=None):
        raise NotImplementedError

    def delta(self, error, ws):
        """BP2's second half: δ = error ⊙ σ'(z), into ``ws.delta``; returns it."""
        derivative = self.activation.derivative(ws.z, ws.a, out=ws.derivative)
        return np.multiply(error, derivative, out=ws.delta)

    def backward(self, delta, ws, propagate):
        raise NotImplementedError

    def regularised(self):
        """The arrays L2 and L1 regularisation apply to: the weights, never the biases."""
        return [self.weights]

    def _drop(self, a, ws, rng):
        """Dropout on the inputs while training: keep each with probability 1 - p, scaled by 1/(1 - p)."""
        keep = 1.0 - self.dropout
        np.less(rng.random(ws.mask.shape, dtype=np.float64 if ws.mask.dtype == np.float64
                           else np.float32), keep, out=ws.mask)
        ws.mask *= 1.0 / keep
        return np.multiply(a, ws.mask, out=ws.dropped)


class FullyConnectedPasses:
    """The forward and backward passes of :class:`FullyConnected`: z = w a + b, a' = σ(z);
    BP3, BP4 and BP2's w^T δ, for the m columns of a mini-batch at once."""

    def make_workspace(self, m, training, dtype):
        return _fully_connected_workspace(self, m, training, dtype)

    def forward(self, a, ws, rng=None):
        """z = w a + b and a' = σ(z), into ``ws.z`` and ``ws.a``; ``rng`` given means training."""
        if a.ndim == 4:                         # (channels, m, height, width) -> columns
            c, m, h, w = a.shape
            np.copyto(ws.columns.reshape(c, h, w, m), a.transpose(0, 2, 3, 1))   # (c*h*w, m)
            a = ws.columns
        ws.dropped_out = rng is not None and bool(self.dropout)    # read by backward
        if ws.dropped_out:
            a = self._drop(a, ws, rng)
        ws.a_in = a
        np.matmul(self.weights, a, out=ws.z)
        ws.z += self.biases
        return self.activation.fn(ws.z, out=ws.a)

    def backward(self, delta, ws, propagate):
        """BP3 and BP4 for this layer, and, if ``propagate``, the error w^T δ for the layer below.

        ``delta`` is δ for this layer, ``(n_out, m)``; the gradients go to ``ws.nabla_b``
        and ``ws.nabla_w``.  Returns the error in the shape of this layer's input.
        """
        # np.add.reduce(delta, axis=1) is delta.sum(axis=1) without sum's extra checks
        # (a microsecond each, thousands of times per epoch).
        np.add.reduce(delta, axis=1, keepdims=True, out=ws.nabla_b)      # BP3
        np.matmul(delta, ws.a_in.T, out=ws.nabla_w)                              # BP4
        if not propagate:
            return None
        error = np.matmul(self.weights.T, delta, out=ws.error)                   # BP2: (w^T δ)
        if ws.dropped_out:
            error *= ws.mask                   # a dropped input had no effect on the cost
        if len(self.input_shape) > 1:          # back into (channels, m, height, width)
            c, h, w = self.input_shape
            return error.reshape(c, h, w, ws.m).transpose(0, 3, 1, 2)   # (c, m, h, w)
        return error


class FullyConnected(FullyConnectedPasses, Layer):
    """``n_in`` inputs, ``n_out`` neurons, each input joined to each neuron (chapters 1-3).

    z = w a + b and a' = σ(z) (chapter 1, eq. 22), for the m columns of a mini-batch at
    once.  ``weights`` is ``(n_out, n_in)``: ``weights[j, k]`` joins input k to neuron j,
    as in the book; ``biases`` is the column ``(n_out, 1)``.  The input may be feature maps
    from a :class:`ConvPool` layer: they are flattened, channel by channel, into columns.

    ``init``: ``"default"`` N(0, 1/n_in) (chapter 3), ``"large"`` N(0, 1) (chapter 1),
    ``"network3"`` N(0, 1/n_out) (the book's chapter-6 code), ``"zero"``.
    """

    def __init__(self, n_in, n_out, activation="sigmoid", dropout=0.0, init="default"):
        super().__init__(activation, dropout, init)
        shape = tuple(n_in) if isinstance(n_in, (tuple, list)) else (n_in,)
        if not all(isinstance(n, (int, np.integer)) and n >= 1 for n in shape + (n_out,)):
            raise UsageError(f"a fully connected layer needs at least one input and one neuron, "
                             f"got {n_in} -> {n_out}")
        self.input_shape = tuple(int(n) for n in shape)
        self.output_shape = (int(n_out),)

    def __repr__(self) -> str:
        extra = f", dropout={self.dropout:g}" if self.dropout else ""
        return (f"{type(self).__name__}({self.n_in} -> {self.n_out}, {self.activation.name}"
                f"{extra}, init={self.init!r})")

    def description(self) -> dict:
        """The layer as plain data, for the model file's JSON (:func:`from_description`)."""
        return {"type": "fully_connected", "n_in": self.n_in, "n_out": self.n_out,
                "input_shape": list(self.input_shape), "activation": self.activation.name,
                "dropout": self.dropout, "init": self.init}

    def fan_in(self):
        return self.n_in

    def fan_out(self):
        return self.n_out

    def weight_shape(self):
        return (self.n_out, self.n_in)

    def bias_shape(self):
        return (self.n_out, 1)


class Softmax(FullyConnected):
    """The softmax output layer of chapters 3 and 6, to be used with the log-likelihood cost.

    A fully connected layer whose activation is softmax; its weights and biases start
    at zero, as in the book's ``network3.py`` (the softmax's outputs then start equal).
    """

    def __init__(self, n_in, n_out=10, dropout=0.0, init="zero"):
        super().__init__(n_in, n_out, activation="softmax", dropout=dropout, init=init)

    def __repr__(self) -> str:
        extra = f", dropout={self.dropout:g}" if self.dropout else ""
        return f"Softmax({self.n_in} -> {self.n_out}{extra}, init={self.init!r})"

    def description(self) -> dict:
        return dict(super().description(), type="softmax")


POOLINGS = ("max", "l2")


class ConvPool(convolution.ConvPoolPasses, Layer):
    """A convolutional layer followed by 2x2 pooling (chapter 6): local receptive fields,
    shared weights and biases.

    Each of ``filters`` feature maps looks at every ``filter_size`` x ``filter_size``
    region (local receptive field) of the input, stride 1, no padding, with one set of
    shared weights per map; then each 2x2 block of the map is pooled into one number,
    and the activation of (pooled + bias), one bias per map, is the layer's output:

        z_conv[f, y, x] = Σ_c Σ_i Σ_j w[f, c, i, j] a_in[c, y + i, x + j]
        z[f, y, x] = pool(z_conv[f, 2y:2y+2, 2x:2x+2]) + b[f],    a = σ(z)

    ``pooling="max"`` takes the largest of the four; ``"l2"`` the square root of the sum
    of their squares.  ``input_shape`` is ``(channels, height, width)``: ``(1, 28, 28)``
    for MNIST.  ``weights`` has the shape of the book's ``network3.py`` filters,
    ``(filters, channels, filter_size, filter_size)``; ``biases`` is ``(filters,)``.

    Backpropagation through the layer (its equations) and how it is computed (im2col,
    the memory order of the maps, col2im): :mod:`digits.nn.convolution`.
    """

    def __init__(self, input_shape, filters, filter_size=5, activation="sigmoid", pooling="max",
                 dropout=0.0, init="default"):
        super().__init__(activation, dropout, init)
        if dropout:
            raise UsageError("a convolutional layer takes no dropout (as in the book): its "
                             "shared weights already resist overfitting")
        hyperparameters.check_choice("pooling", pooling, POOLINGS)
        channels, height, width = _checked_input(input_shape, filters, filter_size)
        conv_h, conv_w = height - filter_size + 1, width - filter_size + 1
        self.input_shape = (channels, height, width)
        self.filters, self.filter_size, self.pooling = int(filters), int(filter_size), pooling
        self.conv_shape = (conv_h, conv_w)
        self.output_shape = (self.filters, conv_h // 2, conv_w // 2)

    def __repr__(self) -> str:
        c, h, w = self.input_shape
        k = self.filter_size
        return (f"ConvPool({c}x{h}x{w} -> {self.filters} filters {k}x{k}, {self.pooling} pooling 2x2 "
                f"-> {'x'.join(map(str, self.output_shape))}, {self.activation.name}, init={self.init!r})")

    def description(self) -> dict:
        return {"type": "conv_pool", "input_shape": list(self.input_shape), "filters": self.filters,
                "filter_size": self.filter_size, "pooling": self.pooling,
                "activation": self.activation.name, "init": self.init}

    def fan_in(self):
        return self.input_shape[0] * self.filter_size ** 2

    def fan_out(self):
        # As in network3.py: each input reaches filters x filter area outputs, pooled 4 to 1.
        return self.filters * self.filter_size ** 2 / 4

    def weight_shape(self):
        return (self.filters, self.input_shape[0], self.filter_size, self.filter_size)

    def bias_shape(self):
        return (self.filters,)


def _fully_connected_workspace(layer, m, training, dtype):
    """A fully connected layer's arrays for mini-batches of ``m``: z and a are (n_out, m);
    training adds δ, σ'(z), the error w^T δ (n_in, m), the gradients and dropout's mask."""
    ws = Workspace(m)
    ws.z = np.empty((layer.n_out, m), dtype)
    ws.a = np.empty((layer.n_out, m), dtype)
    if len(layer.input_shape) > 1:           # feature maps, flattened into columns
        ws.columns = np.empty((layer.n_in, m), dtype)
    if training:
        ws.derivative = np.empty((layer.n_out, m), dtype)
        ws.delta = np.empty((layer.n_out, m), dtype)
        ws.error = np.empty((layer.n_in, m), dtype)
        ws.nabla_w = np.empty(layer.weight_shape(), dtype)
        ws.nabla_b = np.empty(layer.bias_shape(), dtype)
        if layer.dropout:
            ws.mask = np.empty((layer.n_in, m), dtype)
            ws.dropped = np.empty((layer.n_in, m), dtype)
    return ws


def _checked_input(input_shape, filters, filter_size):
    """``(channels, height, width)`` of a ConvPool layer's input, or UsageError saying why
    those filters cannot convolve it and pool the result 2x2."""
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(n, (int, np.integer)) and n >= 1 for n in shape):
        raise UsageError(f"a convolutional layer's input is (channels, height, width), got {input_shape}")
    if not (isinstance(filters, (int, np.integer)) and filters >= 1):
        raise UsageError(f"a convolutional layer needs at least one filter, got {filters!r}")
    if not (isinstance(filter_size, (int, np.integer)) and filter_size >= 1):
        raise UsageError(f"the filter size must be a whole number of at least 1, got {filter_size!r}")
    channels, height, width = (int(n) for n in shape)
    conv_h, conv_w = height - filter_size + 1, width - filter_size + 1
    if conv_h < 2 or conv_w < 2:
        raise UsageError(f"{filter_size}x{filter_size} filters do not fit a {height}x{width} input "
                         f"with room for 2x2 pooling")
    if conv_h % 2 or conv_w % 2:
        raise UsageError(f"{filter_size}x{filter_size} filters over a {height}x{width} input give "
                         f"{conv_h}x{conv_w} maps, which 2x2 pooling cannot tile; choose a filter "
                         f"size that leaves an even number of rows and columns")
    return channels, height, width


def from_description(description) -> Layer:
    """The layer a :meth:`Layer.describe` dictionary describes (raises UsageError if it is not one)."""
    if not isinstance(description, dict):
        raise UsageError(f"a layer description is a JSON object, not {type(description).__name__}")
    kind = description.get("type")
    try:
        if kind == "conv_pool":
            return ConvPool(tuple(description["input_shape"]), description["filters"],
                            filter_size=description["filter_size"], activation=description["activation"],
                            pooling=description["pooling"], init=description.get("init", "default"))
        if kind in ("fully_connected", "softmax"):
            shape = description.get("input_shape") or [description["n_in"]]
            n_in = tuple(shape) if len(shape) > 1 else shape[0]
            if kind == "softmax":
                return Softmax(n_in, description["n_out"], dropout=description.get("dropout", 0.0),
                               init=description.get("init", "zero"))
            return FullyConnected(n_in, description["n_out"], activation=description["activation"],
                                  dropout=description.get("dropout", 0.0),
                                  init=description.get("init", "default"))
    except (KeyError, TypeError) as error:
        raise UsageError(f"a {kind} layer description lacks or mistypes {error}") from None
    raise UsageError(f"unknown layer type {kind!r}")
