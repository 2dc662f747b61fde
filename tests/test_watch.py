"""The live page's data and its polling API, during real training on real MNIST.

A network trains on a few thousand real MNIST images in a thread of the test, fed to a
:class:`~digits.app.watch.WatchCallback`, while a plain HTTP client (``http.client``)
reads the page's API from the server on 127.0.0.1, as the page does.  The safety
checks (the Host header, a Stop from another site, a client that never finishes its
request) are tested against the same server.  The page itself, in a browser, during a
``train --watch`` run, is tested in test_watch_page.py.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time

import numpy as np
import pytest

from digits.app.watch import (WatchCallback, WatchState, book_number, confusion,
                              first_layer_weights, pictures)
from digits.app.watch_server import watch_server
from digits.nn.network import Network

SETTINGS = {"sizes": [784, 30, 10], "cost": "quadratic", "init": "large", "eta": 3.0,
            "lmbda": 0.0, "activation": "sigmoid", "n_training": 3000,
            "description": "[784, 30, 10], quadratic cost", "seed": 3}


# -- a page with a real run behind it ------------------------------------------------------

class WatchedRun:
    """A [784, 30, 10] network training on 3,000 real MNIST images in a thread, watched,
    with its page served on a free port of 127.0.0.1."""

    def __init__(self, mnist, epochs, sizes=(784, 30, 10)):
        training, _, test = mnist
        self.test = test[:2000]
        self.network = Network(list(sizes), seed=3)
        self.state = WatchState(SETTINGS, self.test, "test")
        self.callback = WatchCallback(self.state, sample_seconds=0.05)
        self.server = watch_server(self.state).start()
        self.history = None
        self.thread = threading.Thread(target=self._train, args=(training[:3000], epochs), daemon=True)

    def _train(self, training, epochs):
        self.history = self.network.SGD(training, epochs, 10, 3.0, test_data=self.test,
                                        callbacks=[self.callback])

    def start(self):
        self.thread.start()
        return self

    def finish(self, seconds=120):
        self.thread.join(seconds)
        assert not self.thread.is_alive(), "training did not end"
        assert self.callback.worker.idle(30)

    def request(self, method, path, headers=None, body=None):
        """``(status, JSON answer)`` from a fresh connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            answer = connection.getresponse()
            return answer.status, json.loads(answer.read())
        finally:
            connection.close()

    def state_now(self):
        status, state = self.request("GET", "/api/state")
        assert status == 200
        return state

    def close(self):
        self.server.stop()


@pytest.fixture
def watched(mnist):
    runs = []

    def start(epochs, **options):
        run = WatchedRun(mnist, epochs, **options).start()
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.state.request_stop()
        run.thread.join(60)
        run.close()


def test_the_polling_api_shows_every_epoch_as_it_ends(watched):
    run = watched(3)
    epochs_seen = []
    while run.thread.is_alive():
        history = run.state_now()["history"]
        if history and (not epochs_seen or len(history["seconds"]) != epochs_seen[-1]):
            epochs_seen.append(len(history["seconds"]))
        time.sleep(0.01)
    run.finish()
    final = run.state_now()
    epochs_seen.append(len(final["history"]["seconds"]))
    assert final["status"] == "finished"
    assert final["history"]["evaluation_accuracy"] == run.history.evaluation_accuracy
    assert epochs_seen == sorted(epochs_seen) and epochs_seen[-1] == 3 and len(set(epochs_seen)) >= 2
    assert final["progress"]["batch"] == final["progress"]["batches_per_epoch"] == 300


def test_a_reloaded_page_gets_the_whole_history_in_one_answer(watched):
    run = watched(2)
    run.finish()
    first, again = run.state_now(), run.state_now()
    assert len(first["history"]["evaluation_accuracy"]) == 2
    assert first == again


def test_progress_learning_speed_and_settings_are_served(watched):
    run = watched(2)
    run.finish()
    state = run.state_now()
    assert state["settings"]["seed"] == 3
    assert state["book"] is None          # the book trained on 50,000 images, not 3,000
    progress = state["progress"]
    assert progress["images_per_second"] > 0 and progress["seconds_left"] == 0
    speed = state["speed"]
    assert speed["layers"] == ["hidden layer 1 (30)", "output layer (10)"]
    assert speed["samples"], "no learning-speed samples"
    positions = [sample[0] for sample in speed["samples"]]
    assert positions == sorted(positions) and 0 < positions[-1] <= 2
    assert all(len(sample) == 3 and min(sample[1:]) > 0 for sample in speed["samples"])


def test_the_deeper_layers_of_a_deep_sigmoid_network_learn_faster(watched):
    """Chapter 5's vanishing gradient, as the page shows it: [784, 30, 30, 30, 10]."""
    run = watched(1, sizes=(784, 30, 30, 30, 10))
    run.finish()
    speeds = np.array([sample[1:] for sample in run.state_now()["speed"]["samples"]])
    mean = speeds.mean(axis=0)
    assert mean[0] < mean[1] < mean[2], mean


def test_the_weight_pictures_are_the_first_layers_weights(watched):
    run = watched(1)
    run.finish()
    status, answer = run.request("GET", "/api/weights")
    assert status == 200
    pixels = np.frombuffer(base64.b64decode(answer["pixels"]), np.uint8).reshape(30, 28, 28)
    weights = run.network.weights[0].reshape(30, 28, 28)
    # The largest |w| of each neuron is 0 or 255; the sign of each weight is the side of 128.
    for picture, w in zip(pixels, weights):
        k = np.unravel_index(np.abs(w).argmax(), w.shape)
        assert picture[k] == (255 if w[k] > 0 else 1)
    scale = np.abs(weights).max(axis=(1, 2), keepdims=True)
    clear = np.abs(weights) > 0.01 * scale
    assert np.array_equal((pixels > 128)[clear], (weights > 0)[clear])


def test_the_confusion_matrix_counts_the_evaluation_data(watched):
    run = watched(2)
    run.finish()
    matrix = np.array(run.state_now()["confusion"]["matrix"])
    answers = run.network.predict(run.test)
    assert matrix.sum() == len(run.test)
    assert np.trace(matrix) == run.history.evaluation_accuracy[-1]
    expected = np.zeros((10, 10), int)
    np.add.at(expected, (run.test.labels, answers), 1)
    assert np.array_equal(matrix, expected)


def test_a_cell_opens_its_digits_with_answer_and_confidence(watched):
    run = watched(1)
    run.finish()
    matrix = np.array(run.state_now()["confusion"]["matrix"])
    off = matrix - np.diag(np.diag(matrix))
    true, answer = np.unravel_index(off.argmax(), off.shape)
    status, cell = run.request("GET", f"/api/cell?true={true}&answer={answer}")
    assert status == 200 and cell["count"] == off[true, answer]
    assert cell["shown"] == min(cell["count"], 48) == len(cell["digits"])
    outputs = run.network.feedforward(run.test.inputs.T)
    for digit in cell["digits"]:
        index = digit["index"]
        assert run.test.labels[index] == true and outputs[:, index].argmax() == answer
        assert digit["confidence"] == pytest.approx(outputs[answer, index] / outputs[:, index].sum(), abs=1e-4)
        image = np.frombuffer(base64.b64decode(digit["pixels"]), np.uint8)
        assert np.array_equal(image, np.rint(255 * run.test.inputs[index]).astype(np.uint8))
    confidences = [digit["confidence"] for digit in cell["digits"]]
    assert confidences == sorted(confidences)


def test_the_diagonal_shows_a_sample_not_thousands(watched):
    run = watched(1)
    run.finish()
    status, cell = run.request("GET", "/api/cell?true=1&answer=1")
    assert status == 200 and cell["count"] > 48 and cell["shown"] == 48


def test_a_cell_must_be_two_digits(watched):
    run = watched(1)
    for query in ("true=1", "true=10&answer=1", "true=a&answer=1", "true=1&answer=1&answer=2"):
        status, answer = run.request("GET", f"/api/cell?{query}")
        assert status == 400 and "digit" in answer["error"]


def test_stop_from_the_page_ends_training_after_the_current_mini_batch(watched):
    run = watched(200)
    while not run.state_now()["history"]:
        time.sleep(0.02)
    port = run.server.port
    status, answer = run.request("POST", "/api/stop", body=b"{}", headers={
        "Origin": f"http://127.0.0.1:{port}", "Content-Type": "application/json"})
    assert status == 200 and answer == {"stopping": True}
    run.finish(60)
    assert run.history.stopped and run.history.epochs < 200
    state = run.state_now()
    assert state["status"] == "stopped" and state["message"].startswith("after mini-batch")
    assert run.request("POST", "/api/stop", body=b"")[1] == {"stopping": False}


def test_a_stop_from_another_site_is_refused(watched):
    run = watched(200)
    while not run.state_now()["history"]:
        time.sleep(0.02)
    for headers in ({"Origin": "http://evil.example"},
                    {"Origin": f"http://localhost.evil.example:{run.server.port}"},
                    {"Sec-Fetch-Site": "cross-site"}):
        status, answer = run.request("POST", "/api/stop", body=b"", headers=headers)
        assert status == 403, headers
    time.sleep(0.3)
    assert run.state_now()["status"] == "training" and run.thread.is_alive()


def test_a_host_header_naming_another_server_is_refused(watched):
    run = watched(1)
    for host in ("evil.example", f"evil.example:{run.server.port}", "192.168.1.5"):
        status, answer = run.request("GET", "/api/state", headers={"Host": host})
        assert status == 421, host
    status, _ = run.request("GET", "/api/state", headers={"Host": f"localhost:{run.server.port}"})
    assert status == 200


def test_a_client_that_never_finishes_its_request_does_not_stall_training(watched):
    run = watched(3)
    stuck = [socket.create_connection(("127.0.0.1", run.server.port)) for _ in range(8)]
    for connection in stuck:
        connection.sendall(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\n")    # and nothing more
    started = time.perf_counter()
    run.finish(60)
    assert run.history.epochs == 3
    assert time.perf_counter() - started < 30
    for connection in stuck:
        connection.close()


# -- the pieces ------------------------------------------------------------------------------

def test_the_book_number_is_found_for_the_books_settings():
    assert book_number(dict(SETTINGS, n_training=50000))["published"] == 95.42
    chapter6 = {"layers": "conv20  conv40,fc100 softmax", "activation": "relu", "eta": 0.03,
                "lmbda": 0.1, "dropout": 0.0, "expand": False, "n_training": 50000}
    assert book_number(chapter6)["id"] == "ch6-relu"
    assert book_number(dict(chapter6, expand=True))["id"] == "ch6-expanded"


def test_no_book_number_for_settings_the_book_did_not_publish():
    assert book_number(dict(SETTINGS, n_training=50000, eta=0.7)) is None
    assert book_number(dict(SETTINGS, n_training=3000)) is None


def test_pictures_put_zero_at_128_and_each_pictures_largest_weight_at_the_ends():
    weights = np.zeros((2, 28, 28), np.float32)
    weights[0, 0, 0], weights[0, 1, 1] = 2.0, -1.0
    weights[1, 5, 5] = -0.5
    made = pictures(weights)
    pixels = np.frombuffer(base64.b64decode(made["pixels"]), np.uint8).reshape(2, 28, 28)
    assert pixels[0, 0, 0] == 255 and pixels[0, 1, 1] == 64 and pixels[0, 2, 2] == 128
    assert pixels[1, 5, 5] == 1 and made["scales"] == [2.0, 0.5]


def test_the_first_conv_pool_layers_filters_are_the_pictures(conv_network):
    weights = first_layer_weights(conv_network)
    assert weights.shape == (6, 5, 5)
    assert np.array_equal(weights, conv_network.weights[0][:, 0])


def test_a_first_layer_of_more_than_100_neurons_shows_its_first_100():
    network = Network([784, 150, 10], seed=0)
    weights = first_layer_weights(network)
    assert weights.shape == (100, 28, 28)
    assert np.array_equal(weights[99].ravel(), network.weights[0][99].astype(np.float32))


def test_confusion_counts_each_cell_and_samples_large_ones():
    labels = np.array([3] * 100 + [5, 5])
    answers = np.array([3] * 100 + [3, 5])
    result = confusion(labels, answers, sample=10)
    assert result["matrix"][3][3] == 100 and result["matrix"][5][3] == 1
    assert list(result["cells"][(5, 3)]) == [100]
    diagonal = result["cells"][(3, 3)]
    assert len(diagonal) == 10 and set(diagonal) <= set(range(100)) and list(diagonal) == sorted(diagonal)


def test_the_matrix_is_counted_from_the_loops_own_evaluation(watched, monkeypatch):
    import digits.app.watch as watch

    fed = []
    original = watch.answers_and_confidences
    monkeypatch.setattr(watch, "answers_and_confidences",
                        lambda network, data: fed.append(len(data)) or original(network, data))
    run = watched(2)
    run.finish()
    assert np.trace(run.state_now()["confusion"]["matrix"]) == run.history.evaluation_accuracy[-1]
    assert fed == [], "the evaluation data were fed through the network a second time"
    run.request("GET", "/api/cell?true=1&answer=1")
    assert fed == [48]                    # only a cell's digits, when it is opened


def test_a_run_that_does_not_evaluate_gets_its_matrix_from_the_copy(mnist):
    training, _, test = mnist
    network = Network([784, 30, 10], seed=4)
    state = WatchState(SETTINGS, test[:1000], "test")
    callback = WatchCallback(state)
    network.SGD(training[:2000], 1, 10, 3.0, callbacks=[callback])
    assert callback.worker.idle(30)
    matrix = np.array(json.loads(state.encoded())["confusion"]["matrix"])
    assert np.trace(matrix) == network.evaluate(test[:1000]) and matrix.sum() == 1000


def test_a_chapter_6_network_is_watched_with_its_filters_and_validation(mnist):
    from digits.nn.layers import ConvPool, FullyConnected, Softmax

    training, validation, test = mnist
    network = Network([ConvPool((1, 28, 28), 6, activation="relu", init="network3"),
                       FullyConnected((6, 12, 12), 30, activation="relu", init="network3"),
                       Softmax(30, 10)], seed=1, dtype=np.float32)
    state = WatchState({"layers": "conv6 fc30 softmax", "description": "conv"}, test[:500], "test",
                       chapter6=True)
    callback = WatchCallback(state, sample_seconds=0.05)
    server = watch_server(state).start()
    try:
        network.SGD(training[:1000], 2, 10, 0.03, evaluation_data=test[:500],
                    validation_data=validation[:500], monitor_validation_accuracy=True,
                    keep_best_validation=True, callbacks=[callback])
        assert callback.worker.idle(60)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/api/weights")
        weights = json.loads(connection.getresponse().read())
        connection.request("GET", "/api/state")
        served = json.loads(connection.getresponse().read())
        connection.close()
    finally:
        server.stop()
    assert (weights["count"], weights["height"], weights["width"]) == (6, 5, 5)
    assert served["chapter6"] and len(served["history"]["validation_accuracy"]) == 2
    assert served["speed"]["layers"] == ["hidden layer 1 (6 filters)", "hidden layer 2 (30)",
                                         "output layer (10)"]
    assert sum(map(sum, served["confusion"]["matrix"])) == 500


def test_a_port_already_taken_is_one_line_before_any_training():
    from digits.app.http import ServeError

    first = watch_server(WatchState(SETTINGS)).start()
    try:
        with pytest.raises(ServeError, match=rf"port {first.port}: .*choose another --port"):
            watch_server(WatchState(SETTINGS), port=first.port)
    finally:
        first.stop()


def test_a_run_going_on_from_a_checkpoint_shows_its_earlier_epochs_at_once(mnist):
    from digits.nn.callbacks import Callback

    training, _, test = mnist
    network = Network([784, 30, 10], seed=5)

    class Keep(Callback):
        def on_epoch_end(self, run):
            self.saved = run.state()

    class SeenAtStart(Callback):
        def on_train_begin(self, run):
            self.history = json.loads(state.encoded())["history"]

    keep, seen = Keep(), SeenAtStart()
    network.SGD(training[:2000], 1, 10, 3.0, test_data=test[:500], callbacks=[keep])
    state = WatchState(SETTINGS, test[:500], "test")
    network.SGD(training[:2000], 2, 10, 3.0, test_data=test[:500], resume=keep.saved,
                callbacks=[WatchCallback(state), seen])
    assert seen.history["evaluation_accuracy"] == keep.saved.history.evaluation_accuracy
    assert len(seen.history["seconds"]) == 1
