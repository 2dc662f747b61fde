"""Inside a network as it reads one example: activations, errors, gradients, saliency.

Plain functions for a notebook, a script or the page of ``digits serve``, each computed
by the very passes training runs (:meth:`~digits.nn.network.Network.forward_pass` and
:meth:`~digits.nn.network.Network.backward_pass`), in fresh workspaces for one example,
so that the network itself is only read:

* :func:`activations`: every layer's weighted input z and activation a (chapter 2,
  eq. 25: a^l = σ(z^l), z^l = w^l a^(l-1) + b^l), in the layer's output shape:
  ``(n,)`` for neurons, ``(maps, height, width)`` for a convolution-pooling layer;
* :func:`backprop`: the cost C_x for a label and the four equations of
  backpropagation for this one example: δ of every layer (BP1, BP2), ∂C/∂b (BP3)
  and ∂C/∂w (BP4), in the shapes of the biases and weights;
* :func:`input_gradient` and :func:`occlusion`: which pixels mattered for one
  output a_k^L: its gradient ∂a_k/∂x, and how much it falls when each small patch
  of the input is erased;
* :func:`neuron_arithmetic`: one neuron's z = Σ_j w_j a_j + b term by term;
* :func:`learn_from`: one step of gradient descent on this example (chapter 1,
  eqs. 20-21, m = 1), taken by a copy of the network (:func:`copy_network`).

An example ``x`` is 784 numbers (any shape holding them); a label is a digit. Dropout
is never applied: these are the trained network's own numbers.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from digits.nn.layers import ConvPool, Softmax
from digits.nn.training import GradientDescent
from digits.system.errors import UsageError

# The book's names for the kinds of layer (and the model file's).
KINDS = ((Softmax, "softmax"), (ConvPool, "conv_pool"))


@dataclass
class LayerActivity:
    """One layer's numbers for one example; ``z`` and ``a`` have the shape ``shape``."""

    kind: str                 # "fully_connected", "softmax" or "conv_pool"
    activation: str           # "sigmoid", "tanh", "relu" or "softmax"
    shape: tuple              # (n,) or (maps, height, width)
    z: np.ndarray
    a: np.ndarray


@dataclass
class LayerGradient:
    """One layer's share of backpropagation for one example."""

    delta: np.ndarray         # δ = ∂C/∂z, the layer's output shape
    nabla_b: np.ndarray       # ∂C/∂b, the shape of the biases (BP3)
    nabla_w: np.ndarray       # ∂C/∂w, the shape of the weights (BP4)


@dataclass
class Backprop:
    """:func:`backprop`'s answer: the cost C_x for ``label`` and every layer's gradients."""

    label: int
    cost: float
    outputs: np.ndarray       # a^L, the ten outputs
    layers: list              # LayerGradient per layer, input layer not included


def kind_of(layer) -> str:
    for cls, name in KINDS:
        if isinstance(layer, cls):
            return name
    return "fully_connected"


def as_column(network, x) -> np.ndarray:
    """One example as the ``(n_in, 1)`` column the passes take, in the network's dtype."""
    column = np.asarray(x, dtype=network.dtype).reshape(-1, 1)
    if column.shape[0] != network.layers[0].n_in:
        raise UsageError(f"the network takes {network.layers[0].n_in} inputs, got {column.shape[0]}")
    return column


def desired_output(network, label) -> np.ndarray:
    """y for a label: the column with 1 at the label's place, 0 elsewhere (chapter 1)."""
    n_out = network.layers[-1].n_out
    if not (isinstance(label, (int, np.integer)) and 0 <= label < n_out):
        raise UsageError(f"the label must be a whole number from 0 to {n_out - 1}, got {label!r}")
    y = np.zeros((n_out, 1), dtype=network.dtype)
    y[label] = 1.0
    return y


def _workspaces(network):
    """Workspaces for one example, forward and backward, made here (the network's own are not touched)."""
    return [layer.make_workspace(1, True, network.dtype) for layer in network.layers]


def _forward(network, x):
    workspaces = _workspaces(network)
    network.forward_pass(workspaces, as_column(network, x), rng=None)
    return workspaces


def _in_shape(array, shape):
    """A workspace's array for one example (m = 1) in ``shape``: a copy, in float64."""
    return np.array(array, dtype=np.float64).reshape(shape)


def activations(network, x) -> list:
    """Every layer's z and a for the example ``x``: a :class:`LayerActivity` per layer."""
    workspaces = _forward(network, x)
    return [LayerActivity(kind_of(layer), layer.activation.name, tuple(layer.output_shape),
                          _in_shape(ws.z, layer.output_shape), _in_shape(ws.a, layer.output_shape))
            for layer, ws in zip(network.layers, workspaces)]


def backprop(network, x, label) -> Backprop:
    """The cost of ``x`` for ``label`` under the network's own cost, and BP1-BP4 for it.

    C_x is the network's cost (quadratic, eq. 6; cross-entropy, eq. 63; log-likelihood,
    eq. 80) with y the label's desired output; δ^L comes from the cost (BP1), δ^l of
    each hidden layer from the one above (BP2), ∂C/∂b = δ (BP3), ∂C/∂w = δ a^T (BP4).
    """
    y = desired_output(network, label)
    workspaces = _forward(network, x)
    outputs = workspaces[-1].a
    cost = network.cost.fn(outputs, y)
    network.backward_pass(workspaces, y, scale=1.0)
    layers = [LayerGradient(_in_shape(ws.delta, layer.output_shape),
                            _in_shape(ws.nabla_b, layer.bias_shape()),
                            _in_shape(ws.nabla_w, layer.weight_shape()))
              for layer, ws in zip(network.layers, workspaces)]
    return Backprop(int(label), float(cost), _in_shape(outputs, (-1,)), layers)


class OutputAsCost:
    """C = a_k^L, one output taken as the cost, so that backpropagation gives ∂a_k/∂(everything).

    Its output error is δ^L = ∂a_k/∂z^L: e_k ⊙ σ'(z^L) for an elementwise activation,
    a_k (e_k - a^L) for softmax (whose outputs each depend on every z, eq. 78).
    """

    name = "output"

    def __init__(self, k):
        self.k = k

    def fn(self, a, y):
        return float(a[self.k, 0])

    def delta(self, z, a, y, activation, out=None, scratch=None):
        out = np.zeros_like(a) if out is None else out
        if activation.name == "softmax":
            np.multiply(a, -a[self.k], out=out)
            out[self.k] += a[self.k]
        else:
            derivative = activation.derivative(z, a, out=scratch)
            out.fill(0.0)
            out[self.k] = derivative[self.k]
        return out


def input_gradient(network, x, digit) -> np.ndarray:
    """∂a_digit/∂x: how the output for ``digit`` changes with each input pixel (784 numbers).

    The network's backward pass run with :class:`OutputAsCost` in place of its cost,
    then the first layer's error sent one layer further back, to the input:
    ∂a/∂x = (w^1)^T δ^1, the first half of BP2.
    """
    desired_output(network, digit)                      # checks the digit
    as_output = copy.copy(network)                      # the same layers, another cost
    as_output.cost = OutputAsCost(int(digit))
    workspaces = _forward(network, x)
    as_output.backward_pass(workspaces, None, scale=1.0)
    first = network.layers[0]
    error = first.backward(_one_example(first, workspaces[0].delta), workspaces[0], True)
    return np.array(error, dtype=np.float64).reshape(-1)


def _one_example(layer, delta):
    """A workspace's δ for one example in the shape ``backward`` takes: ``(n, 1)``, or
    ``(maps, 1, height, width)`` for a conv-pool layer (m = 1, so any memory order fits)."""
    if isinstance(layer, ConvPool):
        maps, height, width = layer.output_shape
        return delta.reshape(maps, 1, height, width)
    return delta.reshape(-1, 1)


def _picture_side(network) -> int:
    side = int(round(np.sqrt(network.layers[0].n_in)))
    if side * side != network.layers[0].n_in:
        raise UsageError(f"a network of {network.layers[0].n_in} inputs does not read a square picture")
    return side


def occlusion(network, x, digit, patch=4, stride=2) -> np.ndarray:
    """How much the output for ``digit`` falls when each pixel's neighbourhood is erased.

    Every ``patch`` x ``patch`` square of the picture, at steps of ``stride`` pixels, is
    set to 0 (no ink) in a copy of ``x``, and all the copies are fed forward at once
    (the network's own :meth:`~digits.nn.network.Network.feedforward`).  A square
    holding no ink changes nothing, so its fall is 0 without being computed.  The map
    gives each pixel the mean fall a_digit(x) - a_digit(x erased) over the squares that
    cover it: ``(side, side)``, positive where the ink supported the digit.
    """
    desired_output(network, digit)
    side = _picture_side(network)
    if not (1 <= patch <= side and 1 <= stride <= patch):
        raise UsageError(f"the patch must be 1 to {side} pixels and the stride 1 to the patch, "
                         f"got {patch} and {stride}")
    picture = np.asarray(x, dtype=network.dtype).reshape(side, side)
    corners = [(row, column) for row in range(0, side - patch + 1, stride)
               for column in range(0, side - patch + 1, stride)]
    inked = [(row, column) for row, column in corners
             if picture[row:row + patch, column:column + patch].any()]
    erased = np.repeat(picture[np.newaxis], len(inked) + 1, axis=0)      # (copies, side, side)
    for copy_, (row, column) in zip(erased[1:], inked):
        copy_[row:row + patch, column:column + patch] = 0.0
    outputs = network.feedforward(erased.reshape(len(erased), -1).T)     # (10, copies)
    falls = np.float64(outputs[digit, 0]) - outputs[digit, 1:].astype(np.float64)
    total = np.zeros((side, side))
    covered = np.zeros((side, side))
    for fall, (row, column) in zip(falls, inked):
        total[row:row + patch, column:column + patch] += fall
    for row, column in corners:
        covered[row:row + patch, column:column + patch] += 1.0
    return np.divide(total, covered, out=np.zeros_like(total), where=covered > 0)


def neuron_arithmetic(network, x, layer_index, neuron, position=None) -> dict:
    """One neuron's weighted input written out: z = Σ_j w_j a_j + b and a = σ(z).

    For neuron ``neuron`` of the fully connected layer ``layer_index`` (0: the first
    layer of weights): its weights w (a row of the weight matrix), its inputs a (the
    layer below's activations, or the picture), each product w_j a_j, b, and z and a
    as the forward pass computed them (chapter 2, eq. 23).  For a conv-pool layer
    ``neuron`` is a feature map and ``position`` a ``(row, column)`` of the pooled map
    (default: its most active); its four windows' sums Σ w a (chapter 6, eq. 125)
    are pooled, and the winning window's products are the ones given.
    """
    layers = network.layers
    if not (isinstance(layer_index, (int, np.integer)) and 0 <= layer_index < len(layers)):
        raise UsageError(f"the layer must be from 0 to {len(layers) - 1}, got {layer_index!r}")
    layer = layers[layer_index]
    count = layer.output_shape[0]
    if not (isinstance(neuron, (int, np.integer)) and 0 <= neuron < count):
        raise UsageError(f"layer {layer_index} has {count} {'maps' if isinstance(layer, ConvPool) else 'neurons'}; "
                         f"choose one from 0 to {count - 1}, not {neuron!r}")
    workspaces = _forward(network, x)
    below = (np.asarray(x, dtype=np.float64).reshape(layer.input_shape) if layer_index == 0 else
             _in_shape(workspaces[layer_index - 1].a, layer.input_shape))
    z = _in_shape(workspaces[layer_index].z, layer.output_shape)
    a = _in_shape(workspaces[layer_index].a, layer.output_shape)
    if isinstance(layer, ConvPool):
        return _map_arithmetic(layer, below, z, a, neuron, position)
    weights = np.asarray(layer.weights[neuron], dtype=np.float64)
    return {"weights": weights, "inputs": below.reshape(-1), "products": weights * below.reshape(-1),
            "bias": float(layer.biases[neuron, 0]), "z": float(z[neuron]), "a": float(a[neuron])}


def _map_arithmetic(layer, below, z, a, f, position):
    """:func:`neuron_arithmetic` for map ``f`` of a conv-pool layer at a pooled ``position``."""
    maps, height, width = layer.output_shape
    if position is None:
        position = np.unravel_index(int(np.argmax(a[f])), (height, width))
    row, column = (int(n) for n in position)
    if not (0 <= row < height and 0 <= column < width):
        raise UsageError(f"the position must lie in the {height}x{width} map, got {position}")
    k = layer.filter_size
    weights = np.asarray(layer.weights[f], dtype=np.float64)                # (channels, k, k)
    windows, sums = [], []
    for dy in (0, 1):
        for dx in (0, 1):
            top, left = 2 * row + dy, 2 * column + dx
            window = below[:, top:top + k, left:left + k]
            windows.append((top, left, window))
            sums.append(float(np.sum(weights * window)))
    pooled = max(sums) if layer.pooling == "max" else float(np.sqrt(np.sum(np.square(sums))))
    top, left, window = windows[int(np.argmax(sums)) if layer.pooling == "max" else 0]
    return {"weights": weights, "inputs": window, "products": weights * window,
            "window": [top, left], "window_sums": sums, "pooling": layer.pooling, "pooled": pooled,
            "position": [row, column], "bias": float(layer.biases[f]),
            "z": float(z[f, row, column]), "a": float(a[f, row, column])}


# -- one step of gradient descent, on a copy ------------------------------------------------

def copy_network(network):
    """A network of the same layers with copies of their weights and biases (and no workspaces).

    Changing the copy's weights leaves the original as it was.
    """
    twin = copy.copy(network)
    twin.layers = []
    for layer in network.layers:
        own = copy.copy(layer)
        own.weights, own.biases = layer.weights.copy(), layer.biases.copy()
        own.forget_workspaces()
        twin.layers.append(own)
    twin.rng = copy.deepcopy(network.rng)
    if getattr(twin, "update_rule", None) is not None:
        twin.update_rule = None           # the original's rule (and velocities) act on the original
    return twin


def take_step(network, x, label, eta) -> None:
    """One step of gradient descent on the one example ``x`` with ``label``, in ``network``.

    w -> w - eta ∂C_x/∂w and b -> b - eta ∂C_x/∂b (chapter 1, eqs. 20-21 with m = 1; no
    regularisation, no dropout): the three steps of training's
    :func:`~digits.nn.training.train_step` (forward pass, backward pass with δ scaled by
    eta/m, :class:`~digits.nn.training.GradientDescent`'s update).
    """
    if not (isinstance(eta, (int, float)) and np.isfinite(eta) and eta > 0):
        raise UsageError(f"eta must be a positive number, got {eta!r}")
    y = desired_output(network, label)
    workspaces = _workspaces(network)
    network.forward_pass(workspaces, as_column(network, x), rng=None)
    network.backward_pass(workspaces, y, scale=float(eta))          # m = 1: the factor eta/m is eta
    GradientDescent(network, float(eta)).update(workspaces)


def learn_from(network, x, label, eta):
    """A copy of ``network`` after one step of gradient descent on ``x`` (see :func:`take_step`)."""
    twin = copy_network(network)
    take_step(twin, x, label, eta)
    return twin
