"""digits.nn.inspect: a network's activations, errors and gradients for one example.

The numbers are checked against what they mean, computed here another way: the
activations against a feedforward and against z = w a + b written out; δ and the
gradients against finite differences of the cost in float64 on small networks of
every kind (sigmoid with the quadratic and cross-entropy costs, tanh and ReLU under a
softmax, a convolutional network with max and L2 pooling, dropout).
"""

from __future__ import annotations

import numpy as np
import pytest

from digits.nn import inspect
from digits.nn.layers import ConvPool, FullyConnected, Softmax
from digits.nn.network import Network
from digits.system.errors import UsageError

STEP = 1e-6          # the finite difference's step, in float64


def sigmoid_quadratic():
    return Network([784, 8, 10], seed=1, init="default")


def sigmoid_cross_entropy():
    return Network([784, 6, 5, 10], cost="cross-entropy", seed=2, init="default")


def tanh_relu_softmax():
    return Network([784, 7, 6, 10], activations=["tanh", "relu", "softmax"],
                   cost="log-likelihood", seed=3, init="default")


def convolutional(pooling="max"):
    network = Network([ConvPool((1, 28, 28), 2, activation="relu", pooling=pooling, init="default"),
                       ConvPool((2, 12, 12), 3, activation="tanh", pooling=pooling, init="default"),
                       FullyConnected((3, 4, 4), 7, activation="sigmoid", init="default"),
                       Softmax(7, 10, init="default")], seed=4)
    return network


def with_dropout():
    return Network([FullyConnected(784, 9, activation="relu", init="default"),
                    FullyConnected(9, 8, activation="sigmoid", dropout=0.5, init="default"),
                    Softmax(8, 10, dropout=0.5, init="default")], seed=5)


NETWORKS = {"sigmoid-quadratic": sigmoid_quadratic, "sigmoid-cross-entropy": sigmoid_cross_entropy,
            "tanh-relu-softmax": tanh_relu_softmax, "conv-max": convolutional,
            "conv-l2": lambda: convolutional("l2"), "dropout": with_dropout}


def example(seed=0) -> np.ndarray:
    """A 28x28 picture of a blurred stroke: ink where a digit would be, 0 around it."""
    rng = np.random.default_rng(seed)
    picture = np.zeros((28, 28))
    picture[6:22, 10:18] = rng.uniform(0.2, 1.0, (16, 8))
    return picture.reshape(-1)


def cost_of(network, x, label) -> float:
    y = inspect.desired_output(network, label)
    return network.cost.fn(network.feedforward(x.reshape(-1, 1)).astype(np.float64), y)


def some_indices(shape, count, rng):
    return [tuple(int(rng.integers(0, n)) for n in shape) for _ in range(count)]


def finite_difference(function, array, index):
    """(f(array[index] + h) - f(array[index] - h)) / 2h, the array restored afterwards."""
    kept = array[index]
    array[index] = kept + STEP
    above = function()
    array[index] = kept - STEP
    below = function()
    array[index] = kept
    return (above - below) / (2 * STEP)


# -- activations -------------------------------------------------------------------------

@pytest.mark.parametrize("name", NETWORKS)
def test_the_last_layers_activations_are_the_feedforward(name):
    network = NETWORKS[name]()
    x = example()
    layers = inspect.activations(network, x)
    assert np.allclose(layers[-1].a, network.feedforward(x).reshape(-1), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", NETWORKS)
def test_each_layer_says_its_kind_activation_and_shape(name):
    network = NETWORKS[name]()
    for layer, seen in zip(network.layers, inspect.activations(network, example())):
        assert seen.shape == tuple(layer.output_shape) == seen.z.shape == seen.a.shape
        assert seen.activation == layer.activation.name
        assert seen.kind == {ConvPool: "conv_pool", Softmax: "softmax"}.get(type(layer), "fully_connected")


def test_a_fully_connected_layers_z_is_w_a_plus_b():
    network = sigmoid_cross_entropy()
    x = example()
    layers = inspect.activations(network, x)
    below = x
    for layer, seen in zip(network.layers, layers):
        assert np.allclose(seen.z, layer.weights @ below + layer.biases[:, 0], atol=1e-12)
        assert np.allclose(seen.a, 1 / (1 + np.exp(-seen.z)), atol=1e-12)
        below = seen.a


def test_a_conv_pool_layers_maps_are_the_pooled_convolutions():
    network = convolutional()
    x = example()
    seen = inspect.activations(network, x)[0]
    layer = network.layers[0]
    picture = x.reshape(28, 28)
    convolved = np.array([[[np.sum(layer.weights[f, 0] * picture[r:r + 5, c:c + 5]) for c in range(24)]
                           for r in range(24)] for f in range(2)])
    pooled = convolved.reshape(2, 12, 2, 12, 2).max(axis=(2, 4))
    assert np.allclose(seen.z, pooled + layer.biases[:, None, None], atol=1e-12)
    assert np.allclose(seen.a, np.maximum(seen.z, 0), atol=0)


def test_the_network_is_only_read():
    network = convolutional()
    before = [w.copy() for w in network.weights] + [b.copy() for b in network.biases]
    x = example()
    inspect.activations(network, x)
    inspect.backprop(network, x, 3)
    inspect.input_gradient(network, x, 3)
    inspect.occlusion(network, x, 3)
    after = network.weights + network.biases
    assert all(np.array_equal(b, a) for b, a in zip(before, after))


# -- backpropagation against finite differences ----------------------------------------

@pytest.mark.parametrize("name", NETWORKS)
def test_the_cost_is_the_networks_cost_for_the_label(name):
    network = NETWORKS[name]()
    x = example()
    assert inspect.backprop(network, x, 7).cost == pytest.approx(cost_of(network, x, 7), rel=1e-12)


@pytest.mark.parametrize("name", NETWORKS)
def test_the_weight_gradients_are_the_costs_slopes(name):
    network = NETWORKS[name]()
    x, rng = example(), np.random.default_rng(0)
    found = inspect.backprop(network, x, 4)
    for layer, gradient in zip(network.layers, found.layers):
        for index in some_indices(layer.weights.shape, 12, rng):
            slope = finite_difference(lambda: cost_of(network, x, 4), layer.weights, index)
            assert gradient.nabla_w[index] == pytest.approx(slope, rel=1e-4, abs=1e-8)


@pytest.mark.parametrize("name", NETWORKS)
def test_the_bias_gradients_are_the_costs_slopes(name):
    network = NETWORKS[name]()
    x = example()
    found = inspect.backprop(network, x, 2)
    for layer, gradient in zip(network.layers, found.layers):
        for index in np.ndindex(*layer.biases.shape):
            slope = finite_difference(lambda: cost_of(network, x, 2), layer.biases, index)
            assert gradient.nabla_b[index] == pytest.approx(slope, rel=1e-4, abs=1e-8)


@pytest.mark.parametrize("name", ["sigmoid-quadratic", "tanh-relu-softmax", "dropout"])
def test_delta_is_the_costs_slope_in_z(name):
    # A fully connected neuron's bias moves its z by as much, so ∂C/∂z_j = ∂C/∂b_j.
    network = NETWORKS[name]()
    x = example()
    found = inspect.backprop(network, x, 5)
    for layer, gradient in zip(network.layers, found.layers):
        for j in range(layer.n_out):
            slope = finite_difference(lambda: cost_of(network, x, 5), layer.biases, (j, 0))
            assert gradient.delta[j] == pytest.approx(slope, rel=1e-4, abs=1e-8)


def test_a_conv_maps_delta_sums_to_its_bias_gradient():
    network = convolutional()
    found = inspect.backprop(network, example(), 1)
    for layer, gradient in zip(network.layers[:2], found.layers[:2]):
        assert gradient.delta.shape == layer.output_shape
        assert np.allclose(gradient.delta.sum(axis=(1, 2)), gradient.nabla_b, atol=1e-12)


def test_a_label_out_of_range_is_refused():
    with pytest.raises(UsageError, match="from 0 to 9"):
        inspect.backprop(sigmoid_quadratic(), example(), 10)


# -- which pixels mattered ----------------------------------------------------------------

def output_of(network, x, digit) -> float:
    return float(network.feedforward(x.reshape(-1, 1))[digit, 0])


@pytest.mark.parametrize("name", NETWORKS)
def test_the_input_gradient_is_the_outputs_slope(name):
    network = NETWORKS[name]()
    x, rng = example(), np.random.default_rng(1)
    gradient = inspect.input_gradient(network, x, 6)
    assert gradient.shape == (784,)
    for pixel in rng.choice(np.flatnonzero(x), 10, replace=False):
        slope = finite_difference(lambda: output_of(network, x, 6), x, int(pixel))
        assert gradient[pixel] == pytest.approx(slope, rel=1e-4, abs=1e-9)


def test_occlusion_is_the_fall_of_the_output_when_a_patch_is_erased():
    network = sigmoid_quadratic()
    x = example()
    found = inspect.occlusion(network, x, 3, patch=4, stride=4)      # squares that do not overlap
    erased = x.reshape(28, 28).copy()
    erased[8:12, 12:16] = 0
    fall = output_of(network, x, 3) - output_of(network, erased.reshape(-1), 3)
    assert found.shape == (28, 28)
    assert np.allclose(found[8:12, 12:16], fall, atol=1e-12)
    assert np.all(found[:4, :4] == 0)                                 # no ink there


def test_overlapping_occlusion_squares_are_averaged():
    network = tanh_relu_softmax()
    x = example()
    found = inspect.occlusion(network, x, 0, patch=4, stride=2)
    falls = []
    for top in (8, 10):                  # the four squares covering pixel (11, 13)
        for left in (10, 12):
            erased = x.reshape(28, 28).copy()
            erased[top:top + 4, left:left + 4] = 0
            falls.append(output_of(network, x, 0) - output_of(network, erased.reshape(-1), 0))
    assert found[11, 13] == pytest.approx(np.mean(falls), abs=1e-12)


# -- one neuron --------------------------------------------------------------------------

@pytest.mark.parametrize("layer_index", [0, 1])
def test_a_neurons_products_and_bias_add_up_to_its_z(layer_index):
    network = sigmoid_cross_entropy()
    x = example()
    seen = inspect.activations(network, x)[layer_index]
    arithmetic = inspect.neuron_arithmetic(network, x, layer_index, 3)
    assert arithmetic["products"].sum() + arithmetic["bias"] == pytest.approx(arithmetic["z"], abs=1e-12)
    assert arithmetic["z"] == seen.z[3] and arithmetic["a"] == seen.a[3]
    assert arithmetic["weights"].shape == (network.layers[layer_index].n_in,)


@pytest.mark.parametrize("pooling", ["max", "l2"])
def test_a_feature_maps_pooled_windows_and_bias_give_its_z(pooling):
    network = convolutional(pooling)
    x = example()
    arithmetic = inspect.neuron_arithmetic(network, x, 0, 1)
    row, column = arithmetic["position"]
    seen = inspect.activations(network, x)[0]
    assert arithmetic["z"] == seen.z[1, row, column]
    assert arithmetic["pooled"] + arithmetic["bias"] == pytest.approx(arithmetic["z"], abs=1e-12)
    assert arithmetic["weights"].shape == (1, 5, 5)
    if pooling == "max":
        assert arithmetic["products"].sum() == pytest.approx(arithmetic["pooled"], abs=1e-12)


def test_a_neuron_that_is_not_there_is_refused():
    with pytest.raises(UsageError, match="has 8 neurons"):
        inspect.neuron_arithmetic(sigmoid_quadratic(), example(), 0, 8)


# -- one step of gradient descent ---------------------------------------------------------

@pytest.mark.parametrize("name", NETWORKS)
def test_a_step_moves_each_weight_by_eta_times_its_gradient_in_a_copy(name):
    network = NETWORKS[name]()
    x = example()
    original = [w.copy() for w in network.weights]
    gradients = inspect.backprop(network, x, 8)
    learned = inspect.learn_from(network, x, 8, eta=0.5)
    for before, now, kept, gradient in zip(original, learned.weights, network.weights, gradients.layers):
        assert np.allclose(now, before - 0.5 * gradient.nabla_w, atol=1e-12)
        assert np.array_equal(kept, before)


def test_a_small_step_lowers_the_cost_for_the_label():
    network = sigmoid_quadratic()
    x = example()
    learned = inspect.learn_from(network, x, 9, eta=0.1)
    assert cost_of(learned, x, 9) < cost_of(network, x, 9)


def test_eta_must_be_positive():
    with pytest.raises(UsageError, match="eta must be a positive number"):
        inspect.learn_from(sigmoid_quadratic(), example(), 1, eta=0)


def test_training_a_copy_leaves_the_original_as_it_was():
    network = sigmoid_quadratic()
    x, y = example().reshape(-1, 1), inspect.desired_output(network, 2)
    network.update_mini_batch(x, y, 0.5, momentum=0.5)      # the original now has a rule and velocities
    kept = [w.copy() for w in network.weights]
    twin = inspect.copy_network(network)
    twin.update_mini_batch(x, y, 0.5, momentum=0.5)
    assert all(np.array_equal(w, k) for w, k in zip(network.weights, kept))
    assert not all(np.array_equal(w, k) for w, k in zip(twin.weights, kept))
