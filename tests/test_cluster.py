"""The replication on a Dask cluster: ``replicate.py --scheduler ADDRESS``,
digits/replication/cluster.py (docs/cluster.md).

The cluster is a real ``LocalCluster`` of two worker processes with one thread each, as
``dask worker ADDRESS --nthreads 1 --nworkers 2`` starts them; its runs are real chapter-6
trainings on real MNIST.  Where the optional extra is not installed (``pip install -e
'.[cluster]'``) the tests that need a cluster are skipped, saying so.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from digits.replication import chapter6, cluster, plan
from digits.replication.cli import main
from digits.replication.kinds import Task

NOT_INSTALLED = "Dask is not installed (the optional extra: pip install -e '.[cluster]')"
# What differs between two runs of the same numbers: how long they took.
TIMES = {"seconds", "training_seconds", "seconds_per_epoch", "earlier_seconds"}


@pytest.fixture(scope="module")
def dask_cluster():
    """``(scheduler address, a client of the test's own)`` of a LocalCluster with two
    single-threaded worker processes."""
    distributed = pytest.importorskip("dask.distributed", reason=NOT_INSTALLED)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=":0", silence_logs=logging.ERROR) as local:
        with distributed.Client(local.scheduler_address, set_as_default=False) as client:
            yield local.scheduler_address, client


def replicate(folder, data_dir, *flags, pool=None):
    return main(["--quick", "--data", str(data_dir), "--results", str(folder),
                 "--report", str(folder / "REPLICATION.md"), "--figures", str(folder / "figures"),
                 *flags], pool=pool)


def runs_of(folder, experiment):
    return json.loads((folder / f"{experiment}.json").read_text())["variants"][0]["runs"]


def without_times(run) -> dict:
    run = {key: value for key, value in run.items() if key not in TIMES}
    run["history"] = {key: value for key, value in run["history"].items() if key != "seconds"}
    return run


def assert_same_weights(path_a, path_b):
    from digits.store import model_file

    a, _ = model_file.load(path_a)
    b, _ = model_file.load(path_b)
    for x, y in zip(a.weights + a.biases, b.weights + b.biases, strict=True):
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes()


def test_two_runs_on_the_cluster_equal_the_local_pools_to_the_last_bit(tmp_path, mnist_data_dir,
                                                                       dask_cluster, capsys):
    address, _ = dask_cluster
    runs = ["--only", "ch6-fc", "ch6-conv1", "--seeds", "1"]
    shared = tmp_path / "shared"
    assert replicate(tmp_path / "cluster", mnist_data_dir, *runs, "--scheduler", address,
                     "--checkpoints", str(shared)) == 0
    said = capsys.readouterr().err
    assert replicate(tmp_path / "local", mnist_data_dir, *runs, "--jobs", "2") == 0

    assert f"Dask scheduler {address}: 2 workers, 2 threads" in said
    assert "dashboard http://" in said and "with 2 workers on the cluster" in said
    assert "ch6-conv1/-/seed 1: epoch 3 of 3" in said and "ch6-fc/-/seed 1: done" in said
    for experiment in ("ch6-fc", "ch6-conv1"):
        ours, theirs = runs_of(tmp_path / "cluster", experiment), runs_of(tmp_path / "local", experiment)
        assert [without_times(run) for run in ours] == [without_times(run) for run in theirs]
        # The networks were saved by the workers in the shared folder, the checkpoints
        # removed there once the results were written here.
        assert_same_weights(shared / "models" / f"{experiment}-seed1.npz",
                            tmp_path / "local" / "ch6" / "models" / f"{experiment}-seed1.npz")
    assert not list((shared / "checkpoints").iterdir())
    assert "ch6-fc" in (tmp_path / "cluster" / "REPLICATION.md").read_text()


def small_task(epochs):
    """A small convolutional network on 3,000 real images (about a second an epoch)."""
    settings = dict(kind="layers", layers="conv4 fc20 softmax", activation="relu", dropout=0.0,
                    init="network3", eta=0.1, lmbda=1.0, epochs=epochs, mini_batch_size=10,
                    n_train=3000, expanded=False)
    return Task("ch6-small", "", 7, settings, quick=True)


def run_on(address, task, setup, received=None):
    """Run ``task`` on the cluster through plan.run_tasks; return its numbers."""
    outcome = {}

    def finished(task, result=None, error=None):
        outcome.update(result=result, error=error)

    pool = cluster.connect(address)
    try:
        plan.run_tasks([task], pool, replace(setup, channel=pool.channel), finished,
                       (received if received is not None else []).append)
    finally:
        pool.close()
    assert outcome["error"] is None, outcome["error"]
    return outcome["result"]


def setup_for(folder, data_dir):
    return plan.WorkerSetup(str(data_dir), True, str(folder), str(folder / "kept"))


def wait_for_checkpoint(store, task, epoch, timeout=120):
    deadline = time.monotonic() + timeout
    while chapter6.checkpoint_epoch(store, task) < epoch:
        assert time.monotonic() < deadline, f"no checkpoint of epoch {epoch} in {timeout} s"
        time.sleep(0.02)


def worker_running_a_task(client) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        busy = [address for address, keys in client.processing().items() if keys]
        if busy:
            return busy[0]
        time.sleep(0.02)
    raise AssertionError("no worker is running a task")


def test_a_worker_killed_during_a_run_costs_only_its_epoch_and_the_weights_are_the_same(
        tmp_path, mnist_data_dir, dask_cluster):
    address, client = dask_cluster
    task = small_task(epochs=6)
    whole = run_on(address, task, setup_for(tmp_path / "whole", mnist_data_dir))

    store = chapter6.Store(tmp_path / "killed")
    received, results = [], []
    running = threading.Thread(target=lambda: results.append(
        run_on(address, task, setup_for(store.folder, mnist_data_dir), received)))
    running.start()
    wait_for_checkpoint(store, task, epoch=1)
    worker = worker_running_a_task(client)
    pid = client.run(os.getpid, workers=[worker])[worker]
    os.kill(pid, signal.SIGKILL)          # the worker's process ends in the middle of a run
    running.join(timeout=300)
    assert not running.is_alive() and results

    resumed = results[0]
    assert 1 <= resumed["resumed_at_epoch"] < 6 and whole["resumed_at_epoch"] is None
    assert any("going on from its checkpoint" in str(message) for message in received)
    assert without_times(resumed) == {**without_times(whole),
                                      "resumed_at_epoch": resumed["resumed_at_epoch"]}
    assert_same_weights(store.model("ch6-small", 7),
                        chapter6.Store(tmp_path / "whole").model("ch6-small", 7))
    assert pid not in client.run(os.getpid).values()


def test_a_closed_pool_stops_its_runs_on_the_workers_after_their_epoch(tmp_path, mnist_data_dir,
                                                                       dask_cluster):
    address, _ = dask_cluster
    task = small_task(epochs=1000)                  # far more than the test waits for
    store = chapter6.Store(tmp_path)
    pool = cluster.connect(address)
    future = pool.executor.submit(plan.run_one, task, replace(
        setup_for(tmp_path, mnist_data_dir), channel=pool.channel))
    wait_for_checkpoint(store, task, epoch=1)
    started = time.monotonic()
    wait_for_checkpoint(store, task, epoch=2)
    seconds_per_epoch = time.monotonic() - started
    pool.close()                                    # what Ctrl-C on the asking machine does
    assert future.cancelled()
    # The run ends the epoch it is in (saved), and stops at its next question, within a
    # STOP_CHECK_SECONDS: after that its checkpoint no longer moves.
    time.sleep(cluster.STOP_CHECK_SECONDS + 2 * seconds_per_epoch + 1)
    stopped_at = chapter6.checkpoint_epoch(store, task)
    time.sleep(4 * seconds_per_epoch + 1)
    assert chapter6.checkpoint_epoch(store, task) == stopped_at
    assert not store.model("ch6-small", 7).exists()


def test_scheduler_without_dask_installed_says_how_to_get_it(tmp_path, mnist_data_dir, monkeypatch,
                                                            capsys):
    import sys

    monkeypatch.setitem(sys.modules, "dask.distributed", None)       # import fails
    assert replicate(tmp_path, mnist_data_dir, "--only", "ch6-fc", "--scheduler",
                     "tcp://127.0.0.1:8786") == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "pip install -e '.[cluster]'" in error
    assert not (tmp_path / "ch6-fc.json").exists()


def test_a_scheduler_that_does_not_answer_is_one_line(tmp_path, mnist_data_dir, monkeypatch, capsys):
    pytest.importorskip("dask.distributed", reason=NOT_INSTALLED)
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1)
    assert replicate(tmp_path, mnist_data_dir, "--only", "ch6-fc", "--scheduler",
                     f"tcp://127.0.0.1:{port}") == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and f"no Dask scheduler answered at tcp://127.0.0.1:{port}" in error


def test_checkpoints_without_a_scheduler_is_refused(tmp_path, mnist_data_dir, capsys):
    assert replicate(tmp_path, mnist_data_dir, "--only", "ch6-fc", "--checkpoints",
                     str(tmp_path / "shared")) == 2
    assert "--checkpoints is the folder a Dask cluster's workers share" in capsys.readouterr().err


def test_without_scheduler_the_pool_given_is_used_unchanged():
    class Args:
        scheduler = None

    given = object()
    with cluster.scheduler_pool(Args(), given) as pool:
        assert pool is given


def test_a_worker_with_other_versions_is_named_with_what_differs():
    here = {"Python": "3.11.7", "numpy": "2.1.0", "BLAS": "openblas 0.3.27 (Haswell)",
            "digits": "abc", "dask": "2024.8.0"}
    workers = {"tcp://10.0.0.2:4000": dict(here),
               "tcp://10.0.0.3:4000": {**here, "numpy": "1.26.4", "BLAS": "mkl 2024 (SkylakeX)"}}
    lines = cluster.mismatches(here, workers)
    assert len(lines) == 1
    assert lines[0].startswith("worker tcp://10.0.0.3:4000 has numpy 1.26.4 (here 2.1.0); "
                               "BLAS mkl 2024 (SkylakeX) (here openblas 0.3.27 (Haswell))")


def test_this_machines_environment_names_what_decides_the_last_bits():
    pytest.importorskip("dask", reason=NOT_INSTALLED)
    found = cluster.environment()
    assert set(found) == {"Python", "numpy", "BLAS", "digits", "dask"}
    assert found["numpy"] == np.__version__ and len(found["digits"]) == 12


def test_make_replicate_ch6_passes_the_scheduler_and_the_shared_folder_on():
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    repository = Path(__file__).resolve().parent.parent

    def command(*variables):
        shown = subprocess.run(["make", "-n", "replicate-ch6", *variables], cwd=repository,
                               capture_output=True, text=True, check=True).stdout
        return [line for line in shown.splitlines() if "scripts/replicate.py" in line][-1]

    assert command("SCHEDULER=tcp://10.0.0.1:8786", "CHECKPOINTS=/mnt/ch6").endswith(
        "--chapter6 --scheduler tcp://10.0.0.1:8786 --checkpoints /mnt/ch6")
    assert "--scheduler" not in command() and "--checkpoints" not in command()


def test_on_a_cluster_the_estimate_shares_the_runs_between_its_workers_not_this_machines_cores(
        tmp_path, capsys):
    import argparse

    from digits.replication.kinds import tasks_for

    tasks = tasks_for("ch6-dropout")                 # five long runs
    one_run = tasks[0].estimated_seconds * chapter6.SHARING_SLOWDOWN
    args = argparse.Namespace(quiet=False, jobs=5, scheduler="tcp://10.0.0.1:8786")
    plan.announce({"ch6-dropout": tasks}, tasks, chapter6.Store(tmp_path), args)
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith(f"Will run 5 runs of 1 experiment, about {chapter6.duration(one_run)} "
                            f"with 5 workers on the cluster")
