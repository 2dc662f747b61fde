"""The API of the page's view inside the network, against a real ``digits serve``.

The server runs as users start it, with three models: the book's [784, 30, 10]
trained on MNIST, the small chapter-6 ReLU conv network (conftest.py) and a
chapter-6 network with two fully connected layers of 1,000 (random weights), plus,
in a second server, a small float64 network whose gradients are checked against
finite differences.  Every number is compared with digits.nn.inspect run here on
the picture prepared by classify's own code.
"""

from __future__ import annotations

import http.client
import io
import json
import re
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image

from digits.app import inside as inside_module
from digits.app.prepare import NOT_A_PICTURE, prepare_bytes
from digits.app.server import MAX_BODY
from digits.nn import inspect
from digits.nn.layer_spec import parse_layers
from digits.nn.network import Network
from digits.store import model_file

START_SECONDS = 60


class Serving:
    """``python -m digits serve --port 0 ARGS``, its output in files, stopped with Ctrl-C."""

    def __init__(self, folder, *args):
        self.out = folder / "stdout.txt"
        with open(self.out, "wb") as stdout, open(folder / "stderr.txt", "wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "digits", "serve", "--port", "0", *map(str, args)],
                stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and self.process.poll() is None:
            found = re.search(r"Open (http://\S+) in a browser", self.out.read_text())
            if found:
                self.url = found.group(1)
                self.port = urlsplit(self.url).port
                return
            time.sleep(0.05)
        self.process.kill()
        pytest.fail(f"the server did not start: {self.out.read_text()} {(folder / 'stderr.txt').read_text()}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=30)


def post(port, path, body=b"", headers=None):
    """``(status, parsed JSON)`` for one POST."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def picture_of(digit: np.ndarray) -> bytes:
    """An MNIST digit as a person draws it: dark ink on a white page, 8 times larger, as PNG."""
    ink = Image.fromarray(np.round(255 * digit.reshape(28, 28)).astype(np.uint8)).resize((224, 224))
    page = Image.new("L", (300, 300), 0)
    page.paste(ink, (30, 40))
    buffer = io.BytesIO()
    Image.eval(page, lambda value: 255 - value).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def big_conv_file(tmp_path_factory):
    """Chapter 6's largest: conv20 conv40 fc1000 fc1000 softmax, ReLU, dropout 0.5, random weights."""
    network = Network(parse_layers("conv20 conv40 fc1000 fc1000 softmax", activation="relu", dropout=0.5),
                      seed=3, dtype=np.float32)
    path = tmp_path_factory.mktemp("big") / "big-conv.npz"
    model_file.save(network, path)
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory, trained_network_file, conv_network_file, big_conv_file):
    process = Serving(tmp_path_factory.mktemp("inside"), "--model", trained_network_file,
                      conv_network_file, big_conv_file)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def networks(trained_network_file, conv_network_file, big_conv_file):
    """The three served networks, loaded here as the server loads them."""
    return [model_file.load(path)[0] for path in (trained_network_file, conv_network_file, big_conv_file)]


@pytest.fixture(scope="module")
def drawing(mnist):
    """A test digit drawn as PNG bytes, and the 28x28 image classify prepares from it."""
    _, _, test = mnist
    body = picture_of(test.inputs[0])
    return body, prepare_bytes(body)


def close(found, expected, tolerance=2e-5):
    """Equal to 6 significant digits (the API's rounding), within ``tolerance`` of the largest."""
    found, expected = np.asarray(found, np.float64), np.asarray(expected, np.float64)
    assert found.shape == expected.shape
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    assert np.allclose(found, expected, rtol=2e-5, atol=tolerance * scale)


# -- /api/inside ---------------------------------------------------------------------------

@pytest.mark.parametrize("model", [0, 1, 2])
def test_the_layers_are_the_libraries_activations(served, networks, drawing, model):
    body, image = drawing
    status, answer = post(served.port, f"/api/inside?model={model}", body)
    assert status == 200
    expected = inspect.activations(networks[model], image)
    assert len(answer["layers"]) == len(networks[model].layers)       # no input layer
    for shown, seen in zip(answer["layers"], expected):
        assert (shown["kind"], shown["activation"], tuple(shown["shape"])) == (seen.kind, seen.activation, seen.shape)
        close(shown["z"], seen.z)
        close(shown["a"], seen.a)


@pytest.mark.parametrize("model", [0, 1])
def test_the_outputs_are_the_feedforward(served, networks, drawing, model):
    body, image = drawing
    answer = post(served.port, f"/api/inside?model={model}", body)[1]
    outputs = networks[model].feedforward(image.reshape(-1, 1)).reshape(-1)
    close(answer["layers"][-1]["a"], outputs)
    assert answer["digit"] == int(np.argmax(outputs))
    close(answer["image"], image, tolerance=1e-4)


def test_a_conv_pool_layer_gives_maps_and_their_filters(served, networks, drawing):
    answer = post(served.port, "/api/inside?model=1", drawing[0])[1]
    conv = answer["layers"][0]
    assert conv["kind"] == "conv_pool" and conv["shape"] == [6, 12, 12]
    assert np.shape(conv["a"]) == (6, 12, 12)
    close(conv["filters"], networks[1].layers[0].weights.astype(np.float64).sum(axis=1))


def test_a_model_that_is_not_served_is_refused(served, drawing):
    status, answer = post(served.port, "/api/inside?model=3", drawing[0])
    assert status == 400 and answer["error"] == "model must be a whole number from 0 to 2, got '3'"


# -- /api/backprop ---------------------------------------------------------------------------

@pytest.mark.parametrize("model", [0, 1, 2])
def test_backprop_gives_the_libraries_cost_deltas_and_gradients(served, networks, drawing, model):
    body, image = drawing
    status, answer = post(served.port, f"/api/backprop?model={model}&label=3", body)
    assert status == 200
    expected = inspect.backprop(networks[model], image, 3)
    assert answer["label"] == 3 and answer["cost_name"] == networks[model].cost.name
    assert answer["cost"] == pytest.approx(expected.cost, rel=1e-5)
    for shown, gradient in zip(answer["layers"], expected.layers):
        close(shown["delta"], gradient.delta, 1e-4)
        close(shown["nabla_b"], gradient.nabla_b.reshape(-1), 1e-4)
        assert shown["nabla_w_norm"] == pytest.approx(np.linalg.norm(gradient.nabla_w), rel=1e-5)


def test_backprop_without_a_label_takes_the_networks_answer(served, networks, drawing):
    body, image = drawing
    answer = post(served.port, "/api/backprop", body)[1]
    assert answer["label"] == int(np.argmax(networks[0].feedforward(image.reshape(-1, 1))))


def test_the_chosen_first_layer_neurons_weight_gradient_is_a_picture(served, networks, drawing):
    body, image = drawing
    answer = post(served.port, "/api/backprop?label=5&neuron=4", body)[1]
    expected = inspect.backprop(networks[0], image, 5).layers[0].nabla_w[4].reshape(28, 28)
    assert answer["neuron"] == 4
    close(answer["nabla_w_neuron"], expected, 1e-4)


@pytest.fixture(scope="module")
def small_served(tmp_path_factory):
    """A small float64 network ([784, 6, 10], cross-entropy) served alone; its gradients are checked."""
    network = Network([784, 6, 10], cost="cross-entropy", init="default", seed=11)
    folder = tmp_path_factory.mktemp("small")
    model_file.save(network, folder / "small.npz")
    process = Serving(folder, "--model", folder / "small.npz")
    yield process, model_file.load(folder / "small.npz")[0]
    process.stop()


def cost_of(network, image, label) -> float:
    y = inspect.desired_output(network, label)
    return network.cost.fn(network.feedforward(image.reshape(-1, 1)), y)


def slope(network, image, label, array, index, step=1e-6) -> float:
    kept = array[index]
    array[index] = kept + step
    above = cost_of(network, image, label)
    array[index] = kept - step
    below = cost_of(network, image, label)
    array[index] = kept
    return (above - below) / (2 * step)


def test_the_served_deltas_are_the_costs_slopes(small_served, drawing):
    (process, network), (body, image) = small_served, drawing
    answer = post(process.port, "/api/backprop?label=2", body)[1]
    for layer, shown in zip(network.layers, answer["layers"]):
        for j in range(layer.n_out):            # ∂C/∂z_j = ∂C/∂b_j for a neuron
            expected = slope(network, image, 2, layer.biases, (j, 0))
            assert shown["delta"][j] == pytest.approx(expected, rel=1e-4, abs=1e-9)
            assert shown["nabla_b"][j] == pytest.approx(expected, rel=1e-4, abs=1e-9)


def test_the_served_weight_gradients_are_the_costs_slopes(small_served, drawing):
    (process, network), (body, image) = small_served, drawing
    answer = post(process.port, "/api/backprop?label=6&neuron=1", body)[1]
    gradient = np.array(answer["nabla_w_neuron"]).reshape(-1)
    for pixel in np.flatnonzero(image.reshape(-1) > 0.3)[:12]:
        expected = slope(network, image, 6, network.layers[0].weights, (1, int(pixel)))
        assert gradient[pixel] == pytest.approx(expected, rel=1e-4, abs=1e-9)
    norms = [np.linalg.norm(g.nabla_w) for g in inspect.backprop(network, image, 6).layers]
    assert [layer["nabla_w_norm"] for layer in answer["layers"]] == pytest.approx(norms, rel=1e-5)


def test_a_label_out_of_range_is_refused(served, drawing):
    status, answer = post(served.port, "/api/backprop?label=12", drawing[0])
    assert status == 400 and answer["error"] == "label must be a whole number from 0 to 9, got '12'"


# -- one neuron ----------------------------------------------------------------------------

def test_a_first_layer_neurons_arithmetic(served, networks, drawing):
    body, image = drawing
    answer = post(served.port, "/api/neuron?layer=0&neuron=7", body)[1]
    seen = inspect.activations(networks[0], image)[0]
    assert answer["z"] == pytest.approx(seen.z[7], rel=1e-5) and answer["a"] == pytest.approx(seen.a[7], rel=1e-5)
    assert answer["sum"] + answer["bias"] == pytest.approx(answer["z"], rel=1e-5, abs=1e-4)
    close(answer["weights"], networks[0].layers[0].weights[7].reshape(28, 28))
    products = [term["product"] for term in answer["largest"]]
    assert len(products) == 8 and products == sorted(products, key=abs, reverse=True)
    first = answer["largest"][0]
    assert first["weight"] * first["activation"] == pytest.approx(first["product"], rel=1e-4)


def test_a_later_neurons_weights_are_a_strip(served, networks, drawing):
    answer = post(served.port, "/api/neuron?layer=1&neuron=2", drawing[0])[1]
    close(answer["weights"], networks[0].layers[1].weights[2])
    assert answer["activation"] == "sigmoid" and answer["inputs"] == 30


def test_a_feature_maps_arithmetic_at_a_position(served, networks, drawing):
    body, image = drawing
    answer = post(served.port, "/api/neuron?model=1&layer=0&neuron=2&position=5,6", body)[1]
    seen = inspect.activations(networks[1], image)[0]
    assert answer["position"] == [5, 6] and np.shape(answer["weights"]) == (1, 5, 5)
    assert answer["z"] == pytest.approx(seen.z[2, 5, 6], rel=1e-4, abs=1e-6)
    assert answer["pooled"] + answer["bias"] == pytest.approx(answer["z"], rel=1e-4, abs=1e-5)
    assert answer["pooled"] == pytest.approx(max(answer["window_sums"]), abs=1e-6)


def test_a_neuron_that_is_not_there_is_refused(served, drawing):
    status, answer = post(served.port, "/api/neuron?layer=0&neuron=30", drawing[0])
    assert status == 400 and answer["error"] == "neuron must be a whole number from 0 to 29, got '30'"


# -- saliency ------------------------------------------------------------------------------

@pytest.mark.parametrize("model", [0, 1])
def test_saliency_gives_the_libraries_occlusion_and_gradient(served, networks, drawing, model):
    body, image = drawing
    answer = post(served.port, f"/api/saliency?model={model}&digit=7", body)[1]
    assert answer["digit"] == 7
    close(answer["occlusion"], inspect.occlusion(networks[model], image, 7, patch=4, stride=2), 1e-4)
    close(answer["gradient"], inspect.input_gradient(networks[model], image, 7).reshape(28, 28), 1e-4)


# -- one step, on this page's copy -----------------------------------------------------------

def test_a_step_changes_this_pages_copy_only(served, networks, drawing):
    body, image = drawing
    status, step = post(served.port, "/api/step?label=4&eta=3.0", body)
    assert status == 200 and step["steps"] == 1 and re.fullmatch(r"[A-Za-z0-9_-]{20,}", step["page"])
    learned = inspect.learn_from(networks[0], image, 4, 3.0)
    close(step["before"], networks[0].feedforward(image.reshape(-1, 1)).reshape(-1))
    close(step["after"], learned.feedforward(image.reshape(-1, 1)).reshape(-1))
    assert step["cost_after"] < step["cost_before"] and step["after"] != step["before"]
    mine = post(served.port, f"/api/inside?page={step['page']}", body)[1]
    assert mine["copy"] == {"page": step["page"], "steps": 1}
    close(mine["layers"][-1]["a"], step["after"])
    everyone = post(served.port, "/api/inside", body)[1]
    assert everyone["copy"] is None
    close(everyone["layers"][-1]["a"], step["before"])


def test_steps_add_up_in_the_copy(served, drawing):
    body = drawing[0]
    first = post(served.port, "/api/step?label=2&eta=1", body)[1]
    second = post(served.port, f"/api/step?label=2&eta=1&page={first['page']}", body)[1]
    assert second["page"] == first["page"] and second["steps"] == 2
    assert second["before"] == first["after"]


def test_reset_forgets_the_copy(served, drawing):
    body = drawing[0]
    step = post(served.port, "/api/step?label=1&eta=2", body)[1]
    assert post(served.port, f"/api/reset?page={step['page']}")[1] == {"page": step["page"], "forgotten": True}
    after = post(served.port, f"/api/inside?page={step['page']}", body)[1]
    assert after["copy"] is None
    close(after["layers"][-1]["a"], step["before"])


def test_a_token_the_server_did_not_make_reaches_no_copy(served, drawing):
    answer = post(served.port, "/api/inside?page=made-up-by-a-visitor", drawing[0])[1]
    assert answer["copy"] is None
    step = post(served.port, "/api/step?label=1&page=made-up-by-a-visitor", drawing[0])[1]
    assert step["page"] != "made-up-by-a-visitor" and step["steps"] == 1


def test_the_model_file_is_never_changed_by_a_step(served, trained_network_file, drawing):
    before = trained_network_file.read_bytes()
    post(served.port, "/api/step?label=0&eta=100", drawing[0])
    assert trained_network_file.read_bytes() == before


def test_eta_must_be_a_positive_number(served, drawing):
    status, answer = post(served.port, "/api/step?label=1&eta=-1", drawing[0])
    assert status == 400 and answer["error"].startswith("eta must be a number above 0")


def test_a_step_needs_a_label(served, drawing):
    status, answer = post(served.port, "/api/step?eta=1", drawing[0])
    assert status == 400 and answer["error"] == "say label= (a whole number from 0 to 9)"


# -- limits, as /api/classify's --------------------------------------------------------------

@pytest.mark.parametrize("route", ["inside", "backprop", "saliency", "neuron?layer=0&neuron=0", "step?label=1"])
def test_a_body_over_the_limit_is_refused_before_it_is_read(served, route):
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    connection.putrequest("POST", f"/api/{route}")
    connection.putheader("Content-Length", str(MAX_BODY + 1))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    connection.close()


@pytest.mark.parametrize("route", ["inside", "backprop", "saliency", "step?label=1"])
def test_a_body_that_is_not_a_picture_gets_classifys_message(served, route):
    status, answer = post(served.port, f"/api/{route}", b"shopping: eggs, milk")
    assert status == 400 and answer["error"] == NOT_A_PICTURE


def test_a_blank_picture_gets_classifys_message(served):
    buffer = io.BytesIO()
    Image.new("L", (100, 100), 255).save(buffer, format="PNG")
    status, answer = post(served.port, "/api/inside", buffer.getvalue())
    assert status == 400 and answer["error"] == "no ink found: the picture is blank"


# -- the bounds on the copies ----------------------------------------------------------------

def small_network():
    return Network([784, 5, 10], seed=0)


def test_no_more_copies_than_the_bound_are_kept():
    copies = inside_module.PageCopies(max_copies=2)
    first, _ = copies.add(0, small_network())
    second, _ = copies.add(0, small_network())
    third, _ = copies.add(0, small_network())
    assert len(copies) == 2 and copies.find(first, 0) is None
    assert copies.find(second, 0) is not None and copies.find(third, 0) is not None


def test_the_least_recently_used_copy_goes_first():
    copies = inside_module.PageCopies(max_copies=2)
    first, _ = copies.add(0, small_network())
    second, _ = copies.add(0, small_network())
    copies.find(first, 0)                     # used again: the second is now the oldest
    copies.add(0, small_network())
    assert copies.find(first, 0) is not None and copies.find(second, 0) is None


def test_a_copy_unused_too_long_is_forgotten():
    copies = inside_module.PageCopies(max_idle=0.05)
    token, _ = copies.add(0, small_network())
    time.sleep(0.1)
    assert copies.find(token, 0) is None and len(copies) == 0


def test_the_copies_bytes_are_bounded():
    one = sum(w.nbytes + b.nbytes for w, b in zip(small_network().weights, small_network().biases))
    copies = inside_module.PageCopies(max_bytes=int(2.5 * one))
    for _ in range(4):
        copies.add(0, small_network())
    assert len(copies) == 2


def test_a_network_too_large_to_copy_is_refused():
    copies = inside_module.PageCopies(max_bytes=1000)
    with pytest.raises(inside_module.Refusal, match="more than the 0 MB"):
        copies.add(0, small_network())


def test_a_copy_is_of_one_model():
    copies = inside_module.PageCopies()
    token, _ = copies.add(0, small_network())
    assert copies.find(token, 1) is None and copies.find(token, 0) is not None


def test_a_second_conv_layers_filter_spans_the_maps_below(served, networks, drawing):
    body, image = drawing
    answer = post(served.port, "/api/neuron?model=2&layer=1&neuron=5", body)[1]
    assert np.shape(answer["weights"]) == (20, 5, 5) and answer["inputs"] == 500
    seen = inspect.activations(networks[2], image)[1]
    row, column = answer["position"]
    assert answer["z"] == pytest.approx(seen.z[5, row, column], rel=1e-4, abs=1e-5)


def test_a_neuron_above_feature_maps_has_its_weights_in_their_shape(served, networks, drawing):
    answer = post(served.port, "/api/neuron?model=2&layer=2&neuron=9", drawing[0])[1]
    assert np.shape(answer["weights"]) == (40, 4, 4) and answer["inputs"] == 640
    close(answer["weights"], networks[2].layers[2].weights[9].reshape(40, 4, 4))


def test_numbers_are_rounded_to_six_digits_and_the_infinite_sent_as_null():
    assert inside_module.numbers([1.23456789, 3.3333333e-9, 0.0]) == [1.23457, 3.33333e-09, 0.0]
    assert inside_module.numbers([1.0, float("nan"), float("inf")]) == [1.0, None, None]
