"""The training loop's callbacks and its Run: the moments, stopping, the learning speed."""

import numpy as np
import pytest

from digits.nn.callbacks import Callback
from digits.nn.dataset import DataSet
from digits.nn.network import Network
from digits.nn.training import Diverged


def random_data(seed, n, n_in=6, n_out=3):
    rng = np.random.default_rng(seed)
    return DataSet(rng.random((n, n_in)), rng.integers(0, n_out, size=n), n_out)


class Recorder(Callback):
    """Writes down each moment it hears of, with where the run was."""

    def __init__(self, every_batches=None):
        self.every_batches = every_batches
        self.moments = []

    def on_train_begin(self, run):
        self.moments.append(("train_begin", run.epoch, run.batch))

    def on_epoch_begin(self, run):
        self.moments.append(("epoch_begin", run.epoch, run.batch))

    def on_batch_end(self, run):
        self.moments.append(("batch_end", run.epoch, run.batch))

    def on_epoch_end(self, run):
        self.moments.append(("epoch_end", run.epoch, run.batch))

    def on_train_end(self, run):
        self.moments.append(("train_end", run.epoch, run.batch))


def test_callbacks_hear_every_moment_in_order_and_every_nth_mini_batch():
    recorder = Recorder(every_batches=2)
    # 25 examples in mini-batches of 5: 5 mini-batches per epoch.
    Network([6, 4, 3], seed=0).SGD(random_data(0, 25), 2, 5, 1.0, callbacks=[recorder])
    epoch = lambda e: [("epoch_begin", e, 0), ("batch_end", e, 2), ("batch_end", e, 4),
                       ("epoch_end", e, 5)]
    assert recorder.moments == [("train_begin", 0, 0), *epoch(1), *epoch(2), ("train_end", 2, 5)]


def test_the_run_holds_the_settings_and_where_the_loop_is():
    seen = {}

    class Look(Callback):
        def on_epoch_end(self, run):
            seen.update(epoch=run.epoch, epochs=run.epochs, batches=run.batches_per_epoch,
                        m=run.mini_batch_size, n=run.n_training, eta=run.eta, seed=run.settings.seed,
                        lmbda=run.settings.lmbda, accuracies=list(run.history.evaluation_accuracy))

    data = random_data(1, 23)
    Network([6, 4, 3], seed=7).SGD(data, 3, 5, 0.5, lmbda=0.1, test_data=data, callbacks=[Look()])
    assert seen == dict(epoch=3, epochs=3, batches=5, m=5, n=23, eta=0.5, seed=7, lmbda=0.1,
                        accuracies=seen["accuracies"])
    assert len(seen["accuracies"]) == 3


class StopAt(Callback):
    every_batches = 1

    def __init__(self, epoch, batch):
        self.at = (epoch, batch)

    def on_batch_end(self, run):
        if (run.epoch, run.batch) == self.at:
            run.request_stop()


def test_a_stop_ends_the_run_after_the_current_mini_batch_and_the_history_says_so():
    data = random_data(2, 50)
    stopped, whole = Network([6, 4, 3], seed=1), Network([6, 4, 3], seed=1)
    history = stopped.SGD(data, 5, 5, 1.0, test_data=data, callbacks=[StopAt(2, 3)])
    assert history.stopped and history.epochs == 2 and len(history.evaluation_accuracy) == 2
    # The weights are those after exactly 13 mini-batches: train 13 by hand and compare.
    whole.SGD(data, 1, 5, 1.0)
    order = whole.rng.permutation(50)
    for k in range(0, 15, 5):
        chosen = order[k:k + 5]
        whole.update_mini_batch(data.inputs[chosen].T, data.targets()[chosen].T, 1.0, n=50)
    for a, b in zip(stopped.weights + stopped.biases, whole.weights + whole.biases):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_a_run_that_is_not_stopped_says_so():
    history = Network([6, 4, 3], seed=1).SGD(random_data(2, 20), 2, 5, 1.0)
    assert not history.stopped


def test_a_stopped_run_that_keeps_the_best_validation_epoch_ends_with_its_weights():
    data, validation = random_data(3, 60), random_data(4, 40)
    kept = {}

    class RememberBest(Callback):
        def on_epoch_end(self, run):
            if run.history.best_epoch == run.epoch:
                kept["weights"] = [w.copy() for w in run.network.weights]

    network = Network([6, 8, 3], seed=2)
    history = network.SGD(data, 6, 5, 3.0, validation_data=validation, keep_best_validation=True,
                          monitor_validation_accuracy=True,
                          callbacks=[RememberBest(), StopAt(4, 7)])
    assert history.stopped and history.epochs == 4
    for w, best in zip(network.weights, kept["weights"]):
        np.testing.assert_array_equal(w, best)


def test_learning_speed_is_the_length_of_the_mean_bias_gradient_of_each_layer():
    data = random_data(5, 8)
    speeds = []

    class Speed(Callback):
        every_batches = 1

        def on_batch_end(self, run):
            speeds.append(run.learning_speeds())

    network, copy = Network([6, 5, 4, 3], seed=3), Network([6, 5, 4, 3], seed=3)
    network.SGD(data, 1, 8, 0.7, callbacks=[Speed()])       # one full-batch step
    copy.rng.permutation(8)
    nabla_b, _ = copy.backprop(data.inputs.T, data.targets().T)    # Σ_x ∂C_x/∂b
    expected = [np.linalg.norm(b / 8) for b in nabla_b]
    assert len(speeds) == 1 and len(speeds[0]) == 3
    np.testing.assert_allclose(speeds[0], expected, rtol=1e-12)


def test_learning_speed_of_a_convolutional_layer_is_one_number_per_layer(mnist):
    from digits.nn.layer_spec import parse_layers
    training = mnist[0][:40]
    speeds = []

    class Speed(Callback):
        def on_epoch_end(self, run):
            speeds.extend(run.learning_speeds())

    network = Network(parse_layers("conv4 fc10/relu softmax"), seed=0, dtype=np.float32)
    network.SGD(training, 1, 10, 0.1, callbacks=[Speed()])
    assert len(speeds) == 3 and all(np.isfinite(speeds)) and speeds[0] > 0


@pytest.mark.parametrize("settings", [dict(eta=1e300), dict(eta=1.0, lmbda=1e300)])
def test_a_run_whose_weights_stop_being_finite_raises_diverged_with_the_epoch(settings):
    # (A softmax output: a sigmoid one saturates, its δ vanishes and the weights stay finite.)
    data = random_data(6, 30)
    ended = []

    class End(Callback):
        def on_epoch_end(self, run):
            ended.append(run.epoch)

    with pytest.raises(Diverged) as raised, np.errstate(all="ignore"):
        network = Network([6, 4, 3], cost="log-likelihood", activations=["sigmoid", "softmax"], seed=0)
        network.SGD(data, 3, 5, test_data=data, callbacks=[End()], **settings)
    assert raised.value.epoch == 1 and "epoch 1" in str(raised.value)
    assert ended == []       # no callback is told of an epoch whose weights are broken


def test_the_checkpoint_writer_saves_whole_epochs_only(tmp_path):
    from digits.store import checkpoint

    path, settings = tmp_path / "run.ckpt.npz", {"eta": 1.0}
    data = random_data(7, 50)
    network = Network([6, 4, 3], seed=4)
    network.SGD(data, 5, 5, 1.0, callbacks=[checkpoint.CheckpointWriter(path, settings), StopAt(3, 4)])
    state = checkpoint.load(path, settings)
    assert state.epoch == 2 and state.history.epochs == 2      # epoch 3 was cut short: not saved
    # Going on from it gives the run that was never stopped.
    whole, resumed = Network([6, 4, 3], seed=4), Network([6, 4, 3], seed=99)
    whole.SGD(data, 5, 5, 1.0)
    resumed.SGD(data, 5, 5, 1.0, resume=state)
    for a, b in zip(whole.weights + whole.biases, resumed.weights + resumed.biases):
        np.testing.assert_array_equal(a, b)


class Speeds(Callback):
    """Each epoch's end: (eta then, the learning speeds of its last mini-batch)."""

    def __init__(self):
        self.seen = []

    def on_epoch_end(self, run):
        self.seen.append((run.eta, run.learning_speeds()))


def test_learning_speed_after_the_schedule_halves_eta_is_that_of_the_step_taken():
    # Full-batch steps (m = n = 20): epoch k is step k, with eta 1.0 until a stall halves it.
    data, validation = random_data(8, 20), random_data(9, 10)
    halving = Speeds()
    Network([6, 4, 3], seed=5).SGD(data, 6, 20, 1.0, validation_data=validation, early_stopping_n=1,
                                   schedule="halve", callbacks=[halving])
    k = next(epoch for epoch, (eta, _) in enumerate(halving.seen, start=1) if eta < 1.0)
    plain = Speeds()
    Network([6, 4, 3], seed=5).SGD(data, k, 20, 1.0, callbacks=[plain])   # the same k steps
    np.testing.assert_allclose(halving.seen[k - 1][1], plain.seen[k - 1][1], rtol=1e-12)
