"""The layers of chapter 6: gradients against finite differences, the convolution against
a plain loop over receptive fields, and shapes that do not fit refused in one line."""

import numpy as np
import pytest

from digits.nn.callbacks import Callback
from digits.nn.dataset import DataSet
from digits.system.errors import UsageError
from digits.data.expand import ExpandedDataSet, shift_images
from digits.nn.layers import ConvPool, FullyConnected, Softmax
from digits.nn.network import Network
from digits.nn.training import TrainingState


def small_convolutional_network(pooling="max", dropout=0.0, activation="tanh", seed=3):
    """Two conv-pool layers (2 then 3 input channels), a fully connected layer and softmax."""
    layers = [ConvPool((2, 12, 12), 3, filter_size=3, activation=activation, pooling=pooling),
              ConvPool((3, 5, 5), 4, filter_size=2, activation=activation, pooling=pooling),
              FullyConnected(16, 6, activation=activation, dropout=dropout),
              Softmax(6, 4, dropout=dropout, init="default")]
    return Network(layers, seed=seed, dtype=np.float64)


def one_hot(labels, n_out):
    return np.eye(n_out)[:, labels]


def cost_of(network, x, y, dropout_seed):
    workspaces = [layer.make_workspace(x.shape[1], True, network.dtype) for layer in network.layers]
    rng = np.random.default_rng(dropout_seed) if dropout_seed is not None else None
    output = network.forward_pass(workspaces, x, rng)
    return network.cost.fn(output, y)


def analytic_gradients(network, x, y, dropout_seed):
    workspaces = [layer.make_workspace(x.shape[1], True, network.dtype) for layer in network.layers]
    rng = np.random.default_rng(dropout_seed) if dropout_seed is not None else None
    network.forward_pass(workspaces, x, rng)
    network.backward_pass(workspaces, y, scale=1.0)
    return [(ws.nabla_w, ws.nabla_b) for ws in workspaces]


def assert_gradients_match_finite_differences(network, x, y, dropout_seed=None, samples=25):
    """Central differences (C(p + ε) - C(p - ε)) / 2ε at sampled entries of every parameter."""
    analytic = analytic_gradients(network, x, y, dropout_seed)
    rng = np.random.default_rng(0)
    epsilon = 1e-6
    for layer, (nabla_w, nabla_b) in zip(network.layers, analytic):
        for parameter, gradient in ((layer.weights, nabla_w), (layer.biases, nabla_b)):
            flat = parameter.reshape(-1)
            for index in rng.choice(flat.size, size=min(samples, flat.size), replace=False):
                saved = flat[index]
                flat[index] = saved + epsilon
                plus = cost_of(network, x, y, dropout_seed)
                flat[index] = saved - epsilon
                minus = cost_of(network, x, y, dropout_seed)
                flat[index] = saved
                numerical = (plus - minus) / (2 * epsilon)
                assert gradient.reshape(-1)[index] == pytest.approx(numerical, rel=1e-5, abs=1e-8), \
                    f"{layer!r}: entry {index} of a {parameter.shape} parameter"


@pytest.mark.parametrize("pooling", ["max", "l2"])
def test_convolutional_gradients_match_finite_differences(pooling):
    network = small_convolutional_network(pooling=pooling)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2 * 12 * 12, 5))
    y = one_hot(rng.integers(0, 4, size=5), 4)
    assert_gradients_match_finite_differences(network, x, y)


def test_gradients_with_a_fixed_dropout_mask_match_finite_differences():
    network = small_convolutional_network(dropout=0.5, activation="relu")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2 * 12 * 12, 4))
    y = one_hot(rng.integers(0, 4, size=4), 4)
    assert_gradients_match_finite_differences(network, x, y, dropout_seed=11)


@pytest.mark.parametrize("cost, activations", [
    ("quadratic", ["sigmoid", "sigmoid"]),
    ("cross-entropy", ["tanh", "sigmoid"]),
    ("log-likelihood", ["relu", "softmax"]),
])
def test_fully_connected_gradients_match_finite_differences(cost, activations):
    network = Network([7, 5, 3], cost=cost, activations=activations, init="default", seed=4)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(7, 6))
    y = one_hot(rng.integers(0, 3, size=6), 3)
    assert_gradients_match_finite_differences(network, x, y)


def plain_convolution(weights, image):
    """z[f, y, x] = Σ_c Σ_i Σ_j w[f, c, i, j] a[c, y + i, x + j], one receptive field at a time."""
    filters, channels, k, _ = weights.shape
    _, height, width = image.shape
    z = np.zeros((filters, height - k + 1, width - k + 1))
    for f in range(filters):
        for y in range(height - k + 1):
            for x in range(width - k + 1):
                z[f, y, x] = np.sum(weights[f] * image[:, y:y + k, x:x + k])
    return z


@pytest.mark.parametrize("pooling", ["max", "l2"])
def test_conv_pool_layer_is_a_plain_loop_over_receptive_fields(pooling):
    layer = ConvPool((3, 10, 8), 4, filter_size=3, activation="sigmoid", pooling=pooling)
    network = Network([layer, Softmax(4 * 4 * 3, 10)], seed=5)
    images = np.random.default_rng(6).normal(size=(2, 3, 10, 8))
    output = layer.forward(images.reshape(2, -1).T, layer.make_workspace(2, False, np.float64))
    for n, image in enumerate(images):
        z = plain_convolution(layer.weights, image)
        blocks = z.reshape(4, 4, 2, 3, 2).transpose(0, 1, 3, 2, 4).reshape(4, 4, 3, 4)
        pooled = blocks.max(axis=-1) if pooling == "max" else np.sqrt(np.sum(blocks ** 2, axis=-1))
        expected = 1.0 / (1.0 + np.exp(-(pooled + layer.biases[:, None, None])))
        np.testing.assert_allclose(output[:, n], expected, rtol=1e-12, atol=1e-14)
    assert network.feedforward(images.reshape(2, -1).T).shape == (10, 2)


def test_max_pooling_sends_the_error_to_the_largest_of_each_block_only():
    layer = ConvPool((1, 5, 5), 1, filter_size=2, activation="relu")
    network = Network([layer, Softmax(4, 2)], seed=0)
    layer.weights[...] = 0.0
    layer.weights[0, 0, 0, 0] = 1.0                    # the filter copies its top-left pixel
    image = np.arange(25, dtype=float).reshape(1, 25).T
    ws = layer.make_workspace(1, True, np.float64)
    layer.forward(image, ws)
    delta = np.ones((1, 1, 2, 2))
    # The filter's only weight is 1, so the error it sends back to each pixel of the top
    # left 4x4 is δ_conv at that position, whatever order the layer keeps it in.
    delta_conv = layer.backward(delta, ws, propagate=True)[:, :, :4, :4]
    # Pixel values grow to the bottom right, so each block's largest is its bottom right.
    expected = np.zeros((4, 4))
    expected[1::2, 1::2] = 1.0
    np.testing.assert_array_equal(delta_conv[0, 0], expected)
    assert network.sizes == [25, 4, 2]


@pytest.mark.parametrize("build, message", [
    (lambda: Network([ConvPool((1, 28, 28), 20), FullyConnected(2880, 100), Softmax(99, 10)]),
     "layer 3 takes 99"),
    (lambda: Network([ConvPool((1, 28, 28), 20), ConvPool((20, 14, 14), 40)]), "takes 20x14x14"),
    (lambda: ConvPool((1, 28, 28), 20, filter_size=4), "cannot tile"),
    (lambda: ConvPool((1, 4, 4), 20, filter_size=5), "do not fit"),
    (lambda: ConvPool((28, 28), 20), "(channels, height, width)"),
    (lambda: ConvPool((1, 28, 28), 0), "at least one filter"),
    (lambda: ConvPool((1, 28, 28), 20, pooling="average"), "unknown pooling"),
    (lambda: ConvPool((1, 28, 28), 20, dropout=0.5), "takes no dropout"),
    (lambda: FullyConnected(100, 10, dropout=1.0), "probability"),
    (lambda: FullyConnected(100, 10, activation="swish"), "unknown activation"),
    (lambda: Network([FullyConnected(784, 100), ConvPool((1, 10, 10), 4)]), "come first"),
    (lambda: Network([FullyConnected(784, 10, activation="softmax")], cost="quadratic"), "log-likelihood"),
])
def test_shapes_and_settings_that_do_not_fit_are_refused_in_one_line(build, message):
    with pytest.raises(UsageError) as error:
        build()
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_inverted_dropout_keeps_each_inputs_expected_value():
    layer = FullyConnected(1000, 1, activation="sigmoid", dropout=0.3)
    Network([layer], seed=0)
    ws = layer.make_workspace(50, True, np.float64)
    a = np.ones((1000, 50))
    layer.forward(a, ws, rng=np.random.default_rng(0))
    kept = ws.dropped != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.01)
    np.testing.assert_allclose(ws.dropped[kept], 1 / 0.7)
    # Evaluation uses every input as it is: no rng, no dropout.
    eval_ws = layer.make_workspace(50, False, np.float64)
    layer.forward(a, eval_ws)
    assert eval_ws.a_in is a


def test_expanded_data_are_each_image_and_its_four_one_pixel_shifts():
    rng = np.random.default_rng(0)
    images = rng.random((3, 784)).astype(np.float32)
    expanded = ExpandedDataSet(DataSet(images, np.array([1, 2, 3])))
    assert len(expanded) == 15
    np.testing.assert_array_equal(expanded.labels, [1, 2, 3] * 5)
    got = expanded.chunk(0, 15).reshape(5, 3, 28, 28)
    square = images.reshape(3, 28, 28)
    np.testing.assert_array_equal(got[0], square)
    np.testing.assert_array_equal(got[1][:, :-1], square[:, 1:])      # up
    np.testing.assert_array_equal(got[1][:, -1], 0)
    np.testing.assert_array_equal(got[2][:, 1:], square[:, :-1])      # down
    np.testing.assert_array_equal(got[3][:, :, :-1], square[:, :, 1:])  # left
    np.testing.assert_array_equal(got[4][:, :, 1:], square[:, :, :-1])  # right
    np.testing.assert_array_equal(got[4][:, :, 0], 0)
    shuffled = expanded.gather(np.array([14, 0, 7]), np.empty((3, 784), np.float32))
    np.testing.assert_array_equal(shuffled[0], shift_images(images[2:3], 0, 1, np.empty((1, 784), np.float32))[0])
    np.testing.assert_array_equal(shuffled[1], images[0])


def tiny_data(rng, n):
    return DataSet(rng.random((n, 2 * 12 * 12)), rng.integers(0, 4, size=n), 4)


def test_a_run_stopped_after_epoch_2_of_4_and_resumed_ends_with_the_same_weights():
    rng = np.random.default_rng(8)
    training, validation = tiny_data(rng, 60), tiny_data(rng, 20)
    settings = dict(epochs=4, mini_batch_size=7, eta=0.05, lmbda=0.5, momentum=0.5,
                    validation_data=validation, monitor_validation_accuracy=True,
                    evaluation_data=validation)

    whole = small_convolutional_network(dropout=0.3, activation="relu")
    whole_history = whole.SGD(training, **settings)

    saved = {}
    first = small_convolutional_network(dropout=0.3, activation="relu")

    class StopAfterTwo(Callback):
        def on_epoch_end(self, run):
            saved["state"] = run.state()
            if run.epoch == 2:
                run.request_stop()

    first.SGD(training, callbacks=[StopAfterTwo()], **settings)
    assert isinstance(saved["state"], TrainingState) and saved["state"].epoch == 2
    resumed = small_convolutional_network(dropout=0.3, activation="relu", seed=99)
    history = resumed.SGD(training, resume=saved["state"], **settings)

    for a, b in zip(whole.weights + whole.biases, resumed.weights + resumed.biases):
        np.testing.assert_array_equal(a, b)
    assert history.validation_accuracy == whole_history.validation_accuracy
    assert history.epochs == 4
