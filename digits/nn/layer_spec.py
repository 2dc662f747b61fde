"""A short, readable way to write a network's layers: ``conv20 conv40 fc100 softmax``.

``digits train --layers`` takes it, and so do the scripts.  The layers are separated by
spaces or commas; each is a kind, a number and options after slashes:

``conv20``
    a convolution-pooling layer of 20 filters of 5x5, then 2x2 max-pooling (chapter 6).
    Options: ``3x3`` (another filter size), ``l2`` (L2 pooling instead of max).
``fc100``
    a fully connected layer of 100 neurons.  Option: ``drop0.5`` (dropout on its inputs).
``softmax``
    the softmax output layer, 10 neurons, with the log-likelihood cost; ``drop0.5`` too.
    (``fc10`` as the last layer gives sigmoid outputs and the ``--cost`` chosen.)

Every layer but softmax also takes an activation as an option: ``sigmoid``, ``tanh``,
``relu`` (``conv20/relu``, ``fc100/tanh``); the others get the default given (the
book's sigmoid, or ``--activation``), and dropout the default ``--dropout``.  So the
book's best single network is ``conv20 conv40 fc1000 fc1000 softmax`` with
``--activation relu --dropout 0.5``.  Shapes follow from the 28x28 input: the second
convolution sees 20 maps of 12x12, the first fully connected layer 40 x 4 x 4 inputs.
"""

from __future__ import annotations

import re

import numpy as np

from digits.nn.activations import ACTIVATIONS
from digits.nn.layers import ConvPool, FullyConnected, Softmax
from digits.system.errors import UsageError

_TOKEN = re.compile(r"^(conv|fc|softmax)(\d*)$")
_FILTER = re.compile(r"^(\d+)x(\d+)$")
_DROP = re.compile(r"^drop(?:out)?(\d*\.?\d+)$")
_HIDDEN_ACTIVATIONS = [name for name in ACTIVATIONS if name != "softmax"]


def parse_layers(text, input_shape=(1, 28, 28), n_out=10, activation="sigmoid", dropout=0.0,
                 init="network3"):
    """The layers ``text`` describes, for inputs of ``input_shape`` and ``n_out`` outputs.

    Raises :class:`~digits.system.errors.UsageError` saying which part is wrong and why.
    """
    tokens = [token for token in re.split(r"[\s,]+", text.strip()) if token]
    if not tokens:
        raise UsageError("--layers is empty; for example: conv20 conv40 fc100 softmax")
    layers, shape = [], tuple(input_shape)
    for position, token in enumerate(tokens):
        kind, number, options = _split(token)
        last = position == len(tokens) - 1
        # An fc output layer keeps the book's sigmoid unless it names its own activation.
        default = "sigmoid" if last and kind == "fc" else activation
        try:
            layer = _layer(kind, number, options, shape, default, dropout, init, token)
        except UsageError as error:
            raise UsageError(f"{token}: {error}") from None
        if isinstance(layer, Softmax) and not last:
            raise UsageError(f"{token}: softmax is the output layer, so it comes last")
        layers.append(layer)
        shape = layer.output_shape
    if isinstance(layers[-1], ConvPool):
        raise UsageError(f"{tokens[-1]}: the last layer must give the {n_out} outputs "
                         f"(end with softmax or fc{n_out})")
    if layers[-1].n_out != n_out:
        raise UsageError(f"{tokens[-1]}: the last layer must have {n_out} neurons, one per "
                         f"digit, not {layers[-1].n_out}")
    return layers


def chapter6_network(layers, activation="sigmoid", dropout=0.0, init="network3", cost=None,
                     seed=None, dtype=np.float32):
    """The chapter-6 network ``layers`` describes (``"conv20 conv40 fc100 softmax"``).

    ``activation``, ``dropout`` and ``init`` are the defaults of the layers that name
    none (see :func:`parse_layers`); ``cost`` None is the log-likelihood after a softmax
    layer, the quadratic cost otherwise; ``seed`` seeds the weights, the shuffling and
    dropout; float32 is the book's (and the GPU's) precision.
    """
    from digits.nn.network import Network

    return Network(parse_layers(layers, activation=activation, dropout=dropout, init=init),
                   cost=cost, seed=seed, dtype=dtype)


def _split(token):
    kind_and_number, *options = token.split("/")
    match = _TOKEN.match(kind_and_number)
    if not match:
        raise UsageError(f"{token}: unknown layer {kind_and_number!r}; write conv<filters>, "
                         "fc<neurons> or softmax (for example conv20 fc100 softmax)")
    return match.group(1), match.group(2), options


def _layer(kind, number, options, shape, activation, dropout, init, token):
    filter_size, pooling, layer_dropout, layer_activation = 5, "max", dropout, activation
    for option in options:
        if option in _HIDDEN_ACTIVATIONS and kind != "softmax":
            layer_activation = option
        elif kind == "conv" and _FILTER.match(option):
            height, width = map(int, _FILTER.match(option).groups())
            if height != width:
                raise UsageError(f"filters are square; {option} is not")
            filter_size = height
        elif kind == "conv" and option in ("max", "l2"):
            pooling = option
        elif kind != "conv" and _DROP.match(option):
            layer_dropout = float(_DROP.match(option).group(1))
        else:
            allowed = {"conv": "an activation, a filter size like 5x5, max or l2",
                       "fc": "an activation or drop<P>", "softmax": "drop<P>"}[kind]
            raise UsageError(f"unknown option {option!r} (a {kind} layer takes {allowed})")
    if kind == "softmax":
        n = int(number) if number else 10
        return Softmax(shape if len(shape) > 1 else shape[0], n, dropout=layer_dropout)
    if not number:
        raise UsageError(f"say how many {'filters' if kind == 'conv' else 'neurons'}, as in {kind}20")
    n = int(number)
    if kind == "conv":
        if len(shape) != 3:
            raise UsageError("convolutional layers come first, before any fc layer")
        return ConvPool(shape, n, filter_size=filter_size, activation=layer_activation,
                        pooling=pooling, init=init)
    return FullyConnected(shape if len(shape) > 1 else shape[0], n, activation=layer_activation,
                          dropout=layer_dropout, init=init)
