"""`make replicate-ch6` and the SVM baseline: scripts/replicate.py --chapter6,
digits/replication/chapter6.py.

The end-to-end tests run the real script on the real MNIST files with ``--quick`` (tiny
training sets, 3 epochs) into temporary folders; the resume test trains a small
convolutional network for 4 epochs on real images.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from digits.replication import chapter6
from digits.replication.kinds import Task, tasks_for
from digits.replication.table import ENSEMBLE_SEEDS, EXPERIMENTS, missing_package

REPO = Path(__file__).resolve().parent.parent

SCRIPT = REPO / "scripts" / "replicate.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHAPTER6 = [name for name, experiment in EXPERIMENTS.items() if experiment.in_chapter6_target]


def command(tmp_path, data_dir, *args):
    return [sys.executable, str(SCRIPT), "--quick", "--data", str(data_dir),
            "--results", str(tmp_path / "results"), "--report", str(tmp_path / "REPLICATION.md"),
            "--figures", str(tmp_path / "figures"), *args]


def replicate(tmp_path, data_dir, *args, env=None):
    """Run scripts/replicate.py --quick with every output inside ``tmp_path``."""
    return subprocess.run(command(tmp_path, data_dir, *args), capture_output=True, text=True,
                          timeout=600, env=env)


def kept(tmp_path, name):
    return json.loads((tmp_path / "results" / f"{name}.json").read_text())


def row(tmp_path, name):
    report = (tmp_path / "REPLICATION.md").read_text()
    return report.split(f"| {name} |", 1)[1].splitlines()[0]


def test_a_quick_chapter6_run_saves_every_experiment_its_networks_figures_and_rows(tmp_path, mnist_data_dir):
    done = replicate(tmp_path, mnist_data_dir, "--chapter6", "--jobs", "1", "--quiet")
    assert done.returncode == 0, done.stderr
    for name in CHAPTER6:
        result = kept(tmp_path, name)
        assert result["quick"] is True and result["seeds"] == list(EXPERIMENTS[name].seeds)
        assert "not run yet" not in row(tmp_path, name)
    for run in kept(tmp_path, "ch6-conv1")["variants"][0]["runs"]:
        history = run["history"]
        best = run["best_validation_epoch"]
        assert len(history["validation_accuracy"]) == len(history["evaluation_accuracy"]) == 3
        assert best == int(np.argmax(history["validation_accuracy"])) + 1
        assert run["test"] == pytest.approx(100 * history["evaluation_accuracy"][best - 1] / run["n_test"])
        assert np.shape(run["first_filters"]) == (20, 5, 5)
    ensemble = kept(tmp_path, "ch6-ensemble")["variants"][0]["runs"][0]
    assert len(ensemble["members"]) == 5
    assert len(ensemble["misses"]) == ensemble["n_test"] - ensemble["correct"]
    store = tmp_path / "results" / "ch6"
    assert not list((store / "checkpoints").iterdir())           # removed once each run was kept
    assert sorted(path.name for path in (store / "models").glob("ch6-dropout-*.npz")) == [
        f"ch6-dropout-seed{seed}.npz" for seed in ENSEMBLE_SEEDS]
    for name in ("ch6-filters.png", "ch6-validation.png", "ch6-ensemble-misses.png"):
        assert (tmp_path / "figures" / name).read_bytes().startswith(PNG_SIGNATURE)
        assert f"(figures/{name})" in (tmp_path / "REPLICATION.md").read_text()

    # The members' votes are kept with their results: the ensemble is counted again,
    # to the same digits, with the networks gone (a fresh clone has none).
    for run in kept(tmp_path, "ch6-dropout")["variants"][0]["runs"]:
        votes = run["test_votes"]
        assert len(votes["answers"]) == len(votes["shares"]) == run["n_test"]
        assert set(votes["answers"]) <= set("0123456789")
        assert all(0.1 <= share <= 1 for share in votes["shares"])
    for path in (store / "models").iterdir():
        path.unlink()
    again = replicate(tmp_path, mnist_data_dir, "--chapter6", "--only", "ch6-ensemble", "--force",
                      "--jobs", "1", "--quiet")
    assert again.returncode == 0, again.stderr
    recounted = kept(tmp_path, "ch6-ensemble")["variants"][0]["runs"][0]
    assert (recounted["correct"], recounted["misses"], recounted["members"]) == (
        ensemble["correct"], ensemble["misses"], ensemble["members"])


def test_votes_missing_from_kept_runs_are_added_from_their_networks(tmp_path, mnist_data_dir):
    # Runs kept by an older version of the script have no votes; while their networks
    # are in the store, the next chapter-6 run adds them, and the ensemble counts them.
    first = replicate(tmp_path, mnist_data_dir, "--chapter6", "--only", "ch6-dropout", "--jobs", "1",
                      "--quiet")
    assert first.returncode == 0, first.stderr
    path = tmp_path / "results" / "ch6-dropout.json"
    with_votes = json.loads(path.read_text())
    without = json.loads(path.read_text())
    for run in without["variants"][0]["runs"]:
        del run["test_votes"]
    path.write_text(json.dumps(without))
    (tmp_path / "results" / "ch6" / "models" / "ch6-dropout-seed5.npz").unlink()   # lost with a machine
    done = replicate(tmp_path, mnist_data_dir, "--chapter6", "--only", "ch6-ensemble", "--jobs", "1")
    assert done.returncode == 0, done.stderr
    assert "Not run: ch6-ensemble waits for the networks of ch6-dropout seeds 5" in done.stderr
    runs = json.loads(path.read_text())["variants"][0]["runs"]
    assert [("test_votes" in run) for run in runs] == [True, True, True, True, False]
    for run, before in zip(runs[:4], with_votes["variants"][0]["runs"]):
        assert run["test_votes"] == before["test_votes"]


def test_chapter6_is_not_part_of_the_quick_one(tmp_path, mnist_data_dir):
    done = replicate(tmp_path, mnist_data_dir, "--only", "baseline-random", "--quiet")
    assert done.returncode == 0, done.stderr
    for name in CHAPTER6:
        assert not (tmp_path / "results" / f"{name}.json").exists()
        assert "not run yet" in row(tmp_path, name)
    assert "make replicate-ch6" in row(tmp_path, "ch6-dropout")


def test_the_runner_says_what_it_will_run_and_how_long_before_it_starts(tmp_path, mnist_data_dir):
    done = replicate(tmp_path, mnist_data_dir, "--only", "ch6-fc", "--seeds", "1", "--jobs", "1")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    plan = lines.index(next(line for line in lines if line.startswith("Will run 1 run of 1 experiment, about ")))
    assert lines[plan + 1].startswith("  ch6-fc: 1 run (seed 1), about ")
    epochs = [line for line in lines if line.startswith("ch6-fc/-/seed 1: epoch ")]
    assert [line.split(",")[0] for line in epochs] == [f"ch6-fc/-/seed 1: epoch {e} of 3" for e in (1, 2, 3)]
    assert all("s per epoch, about" in line for line in epochs)


def test_runs_are_kept_one_by_one_and_a_kept_run_is_not_run_again(tmp_path, mnist_data_dir):
    assert replicate(tmp_path, mnist_data_dir, "--only", "ch6-fc", "--seeds", "1", "--quiet").returncode == 0
    result = kept(tmp_path, "ch6-fc")
    assert result["seeds"] == [1]
    assert "(seed 1; 2, 3 not run yet)" in row(tmp_path, "ch6-fc")
    result["variants"][0]["runs"][0]["marker"] = "left by the test"
    (tmp_path / "results" / "ch6-fc.json").write_text(json.dumps(result))

    done = replicate(tmp_path, mnist_data_dir, "--only", "ch6-fc", "--jobs", "1")
    assert done.returncode == 0, done.stderr
    assert "1 run (seed 1)" not in done.stderr and "2 runs (seeds 2, 3)" in done.stderr
    runs = kept(tmp_path, "ch6-fc")["variants"][0]["runs"]
    assert [run["seed"] for run in runs] == [1, 2, 3]
    assert runs[0]["marker"] == "left by the test"
    assert "not run yet" not in row(tmp_path, "ch6-fc")


def small_task(epochs=4):
    settings = dict(kind="layers", layers="conv4 fc20 softmax", activation="relu", dropout=0.0,
                    init="network3", eta=0.1, lmbda=1.0, epochs=epochs, mini_batch_size=10,
                    n_train=2000, expanded=False)
    return Task("ch6-small", "", 7, settings)


class StopAfter(Exception):
    pass


def train(task, mnist, store, stop_after=None):
    training, validation, test = mnist

    def report_line(line):
        if stop_after is not None and line.startswith(f"{task.key}: epoch {stop_after} of"):
            raise StopAfter(line)

    return chapter6.run_layers(task, training[:task.settings["n_train"]], validation[:1000], test[:1000],
                               store, report_line=report_line)


def test_a_run_stopped_after_epoch_2_of_4_goes_on_from_its_checkpoint_to_the_same_weights(tmp_path, mnist):
    from digits.store import model_file

    task = small_task()
    whole_store = chapter6.Store(tmp_path / "whole")
    whole_store.prepare()
    whole = train(task, mnist, whole_store)

    store = chapter6.Store(tmp_path / "stopped")
    store.prepare()
    with pytest.raises(StopAfter):
        train(task, mnist, store, stop_after=2)
    assert not store.model("ch6-small", 7).exists()
    assert store.checkpoint(task).exists()
    resumed = train(task, mnist, store)

    assert resumed["resumed_at_epoch"] == 2 and whole["resumed_at_epoch"] is None
    assert resumed["history"]["validation_accuracy"] == whole["history"]["validation_accuracy"]
    assert resumed["test"] == whole["test"]
    a, _ = model_file.load(whole_store.model("ch6-small", 7))
    b, _ = model_file.load(store.model("ch6-small", 7))
    for x, y in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(x, y)


def test_a_checkpoint_of_other_settings_is_not_continued(tmp_path, mnist):
    store = chapter6.Store(tmp_path)
    store.prepare()
    with pytest.raises(StopAfter):
        train(small_task(epochs=4), mnist, store, stop_after=1)
    warnings = []
    training, validation, test = mnist
    task = small_task(epochs=2)
    result = chapter6.run_layers(task, training[:2000], validation[:1000], test[:1000], store,
                                 report_warning=warnings.append)
    assert len(warnings) == 1 and "other settings" in warnings[0] and "afresh" in warnings[0]
    assert result["resumed_at_epoch"] is None and result["epochs_run"] == 2


def test_replicate_stopped_with_ctrl_c_goes_on_where_it_was(tmp_path, mnist_data_dir, ctrl_c_as_in_a_terminal):
    reference = tmp_path / "reference"
    assert replicate(reference, mnist_data_dir, "--only", "ch6-conv1", "--seeds", "1",
                     "--quiet").returncode == 0

    stopped = tmp_path / "stopped"
    checkpoint = stopped / "results" / "ch6" / "checkpoints" / "ch6-conv1-seed1.ckpt.npz"
    process = subprocess.Popen(command(stopped, mnist_data_dir, "--only", "ch6-conv1", "--seeds", "1",
                                       "--quiet"), stderr=subprocess.PIPE, text=True,
                               preexec_fn=ctrl_c_as_in_a_terminal)
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, errors = process.communicate(timeout=300)
    assert process.returncode == 130 and "go on from their last finished epoch" in errors
    assert "Traceback" not in errors

    again = replicate(stopped, mnist_data_dir, "--only", "ch6-conv1", "--seeds", "1", "--jobs", "1")
    assert again.returncode == 0, again.stderr
    assert "going on from its checkpoint" in again.stderr
    ours, theirs = (kept(folder, "ch6-conv1")["variants"][0]["runs"][0] for folder in (stopped, reference))
    assert ours["history"]["validation_accuracy"] == theirs["history"]["validation_accuracy"]
    assert ours["first_filters"] == theirs["first_filters"]


def test_the_ensemble_waits_for_its_networks(tmp_path, mnist_data_dir):
    done = replicate(tmp_path, mnist_data_dir, "--only", "ch6-ensemble")
    assert done.returncode == 0, done.stderr
    assert "Not run: ch6-ensemble waits for the networks of ch6-dropout seeds 1, 2, 3, 4, 5" in done.stderr
    assert "not run yet" in row(tmp_path, "ch6-ensemble")


@pytest.mark.parametrize("arguments, message", [
    (["--only", "ch1-30", "--seeds", "1"], "--seeds is for chapter 6's experiments"),
    (["--chapter6", "--seeds", "9"], "no experiment chosen has seed 9"),
    (["--report-only", "--chapter6"], "--report-only runs nothing"),
])
def test_nonsense_chapter6_flags_are_one_line(tmp_path, mnist_data_dir, arguments, message):
    done = replicate(tmp_path, mnist_data_dir, *arguments)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr


def without_scikit_learn(tmp_path):
    """An environment in which ``import sklearn`` fails, as where it is not installed."""
    import os

    blocker = tmp_path / "no-sklearn"
    (blocker / "sklearn").mkdir(parents=True)
    (blocker / "sklearn" / "__init__.py").write_text("raise ImportError('No module named sklearn')\n")
    return dict(os.environ, PYTHONPATH=str(blocker))


def test_without_scikit_learn_the_svm_row_says_how_to_install_it(tmp_path, mnist_data_dir):
    done = replicate(tmp_path, mnist_data_dir, "--only", "ch1-svm", "baseline-random",
                     env=without_scikit_learn(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "Not run: ch1-svm needs scikit-learn (pip install -e '.[baselines]')" in done.stderr
    assert not (tmp_path / "results" / "ch1-svm.json").exists()
    assert (tmp_path / "results" / "baseline-random.json").exists()
    assert "not run: needs scikit-learn (pip install -e '.[baselines]')" in row(tmp_path, "ch1-svm")


@pytest.mark.skipif(missing_package("ch1-svm") is not None, reason="scikit-learn is not installed "
                    "(pip install -e '.[baselines]')")
def test_with_scikit_learn_the_svm_runs_both_defaults(tmp_path, mnist_data_dir):
    done = replicate(tmp_path, mnist_data_dir, "--only", "ch1-svm", "--quiet")
    assert done.returncode == 0, done.stderr
    result = kept(tmp_path, "ch1-svm")
    assert [variant["name"] for variant in result["variants"]] == ["SVC()", "SVC(gamma='auto')"]
    for variant in result["variants"]:
        (run,) = variant["runs"]
        assert run["n_train"] == 200 and run["n_test"] == 500
        assert run["final"] == pytest.approx(100 * run["correct"] / 500) and run["final"] > 20
    assert "SVC(gamma='auto') final" in row(tmp_path, "ch1-svm")


def test_the_cost_estimate_counts_the_multiply_adds_of_each_layer():
    settings = dict(layers="conv20 fc100 softmax", activation="sigmoid")
    # 20 filters of 5x5 over 24x24 positions; 20x12x12 -> 100; 100 -> 10.
    assert chapter6.multiply_adds(settings) == 20 * 25 * 24 * 24 + 2880 * 100 + 100 * 10
    two = dict(layers="conv20 conv40 fc100 softmax", activation="relu")
    assert chapter6.multiply_adds(two) == (20 * 25 * 24 * 24 + 40 * 20 * 25 * 8 * 8
                                           + 640 * 100 + 100 * 10)


@pytest.mark.parametrize("jobs, runs_long", [(1, 5.0), (2, 5.0 * chapter6.SHARING_SLOWDOWN / 2),
                                             (8, 5.0 * chapter6.SHARING_SLOWDOWN / 2)])
def test_the_estimate_shares_the_runs_between_the_cores(tmp_path, capsys, jobs, runs_long):
    # Every run uses one core: the five ch6-dropout seeds take five runs' time with one
    # worker, and about half (each somewhat slower beside the other) with two or more.
    import argparse

    from digits.replication.plan import announce

    tasks = tasks_for("ch6-dropout")
    args = argparse.Namespace(quiet=False, jobs=jobs)
    announce({"ch6-dropout": tasks}, tasks, chapter6.Store(tmp_path / "ch6"), args)
    first = capsys.readouterr().err.splitlines()[0]
    one_run = tasks[0].estimated_seconds
    assert first.startswith(f"Will run 5 runs of 1 experiment, about "
                            f"{chapter6.duration(runs_long * one_run)} with ")


def test_the_cost_estimate_prices_fully_connected_multiply_adds_above_convolutions():
    # Measured on the development machine: ch6-conv2 (mostly convolutions) 11.4 s per epoch,
    # ch6-dropout (1.65 million FC multiply-adds more per example, on five times the
    # images) 178 s.  One price for both would make the second about 100 s.
    conv2 = EXPERIMENTS["ch6-conv2"].variants[""]
    dropout = EXPERIMENTS["ch6-dropout"].variants[""]
    convolutional, fully_connected = chapter6.multiply_adds_by_kind(conv2)
    assert (convolutional, fully_connected) == (20 * 25 * 24 * 24 + 40 * 20 * 25 * 8 * 8,
                                                640 * 100 + 100 * 10)
    assert chapter6.estimated_seconds(conv2, 50_000, 20_000) == pytest.approx(11.4, rel=0.15)
    assert chapter6.estimated_seconds(dropout, 250_000, 20_000) == pytest.approx(178, rel=0.15)
