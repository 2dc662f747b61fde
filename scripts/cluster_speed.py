#!/usr/bin/env python
"""How much faster two single-threaded Dask workers run a batch of short chapter-6 runs
than one, and what the cluster costs per run (docs/cluster.md).

Each round starts a ``LocalCluster`` of one worker process, then one of two (the order
alternating from round to round, so that a change in the machine's load falls on both),
each worker with one thread, as ``dask worker ADDRESS --nthreads 1 --nworkers N`` starts
them.  Every worker first loads MNIST and trains a tiny run (so that neither side pays
for imports and loading in the batch); then the batch goes through the replication's own
path (:func:`digits.replication.plan.run_tasks` with a
:class:`digits.replication.cluster.DaskPool`): ``--runs`` real trainings of a small
convolutional network (``conv4 fc20 softmax``) on ``--n-train`` images for ``--epochs``
epochs, a checkpoint after each, progress messages to this process, the results back.

Said for each size: the batch's wall-clock seconds, the speed-up of two workers over one,
the load average before and after, and the cluster's cost per run with one worker (the
batch's wall clock less the seconds the runs report, over the runs), beside the round
trip of an empty task.  Needs the extra: pip install -e '.[cluster]'.

    python scripts/cluster_speed.py [--runs 8] [--epochs 3] [--n-train 10000] [--rounds 4]
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from common import add_data_arguments, load_mnist  # noqa: E402

from digits.app.cli import ArgumentParser, HelpFormatter  # noqa: E402
from digits.replication import cluster, plan  # noqa: E402
from digits.replication.kinds import Task  # noqa: E402


def build_parser():
    parser = ArgumentParser(description="Time a batch of short runs on one and on two Dask workers.",
                            formatter_class=HelpFormatter)
    parser.add_argument("--runs", type=int, default=8, help="runs in the batch")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of each run")
    parser.add_argument("--n-train", type=int, default=10000, help="training images of each run")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of (one worker, two workers)")
    parser.add_argument("--layers", default="conv4 fc20 softmax",
                        help="the network of every run (digits train --layers syntax)")
    parser.add_argument("--output", type=Path, default=Path("results") / "cluster-speed.json",
                        help="where the figures go (JSON)")
    add_data_arguments(parser)
    return parser


def small_run(seed, epochs, n_train, layers="conv4 fc20 softmax") -> Task:
    settings = dict(kind="layers", layers=layers, activation="relu", dropout=0.0,
                    init="network3", eta=0.1, lmbda=1.0, epochs=epochs, mini_batch_size=10,
                    n_train=n_train, expanded=False)
    return Task("cluster-speed", "", seed, settings, quick=True)


def warm_up(setup):
    """On a worker: load the data and train a tiny run once."""
    from digits.replication import cluster as on_worker, plan as worker_plan

    on_worker.run_on_worker(worker_plan.run_one, small_run(0, 1, 10), setup)


def empty():
    return None


def busy_seconds():
    """CPU seconds the whole machine has been busy since it started (Linux), or None."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + fields[4]                     # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def cluster_cpu_seconds(client):
    """CPU seconds used so far by this process (the scheduler) and every worker."""
    return time.process_time() + sum(client.run(time.process_time).values())


def time_batch(address, tasks, setup) -> dict:
    """Run ``tasks`` on the cluster at ``address``; its wall clock and the runs' own seconds."""
    pool = cluster.connect(address)
    outcomes = []
    try:
        pool.client.run(warm_up, setup)
        load_before = os.getloadavg()[0]
        machine_before, ours_before = busy_seconds(), cluster_cpu_seconds(pool.client)
        started = time.perf_counter()
        plan.run_tasks(tasks, pool, replace(setup, channel=pool.channel),
                       lambda task, result=None, error=None: outcomes.append((result, error)),
                       lambda message: None)
        wall = time.perf_counter() - started
        machine_after, ours_after = busy_seconds(), cluster_cpu_seconds(pool.client)
        round_trips = []
        for _ in range(20):
            sent = time.perf_counter()
            pool.client.submit(empty, pure=False).result()
            round_trips.append(time.perf_counter() - sent)
    finally:
        pool.close()
    errors = [error for _, error in outcomes if error is not None]
    if errors:
        raise SystemExit(f"cluster_speed.py: a run failed: {errors[0]}")
    return {"wall": wall, "run_seconds": sum(result["seconds"] for result, _ in outcomes),
            "load_before": load_before, "load_after": os.getloadavg()[0],
            # the cores' worth of other work on the machine meanwhile (its busy time less ours)
            "other_work_cores": (None if machine_before is None else
                                 (machine_after - machine_before - (ours_after - ours_before)) / wall),
            "empty_task_round_trip": statistics.median(round_trips)}


def measure(args, setup) -> dict:
    from dask.distributed import LocalCluster

    tasks = [small_run(seed, args.epochs, args.n_train, args.layers) for seed in range(1, args.runs + 1)]
    found = {1: [], 2: []}
    for round_number in range(args.rounds):
        for workers in ((1, 2) if round_number % 2 == 0 else (2, 1)):
            # A store of its own: the checkpoints of another batch's runs would be gone on from.
            store = Path(setup.store_folder) / f"round{round_number}-{workers}"
            batch_setup = replace(setup, store_folder=str(store), git_results=str(store))
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=":0", silence_logs=logging.ERROR) as local:
                found[workers].append(time_batch(local.scheduler_address, tasks, batch_setup))
            print(f"round {round_number + 1}, {workers} worker{'s' if workers > 1 else ''}: "
                  f"{found[workers][-1]['wall']:.1f} s (load {found[workers][-1]['load_before']:.2f}"
                  f" -> {found[workers][-1]['load_after']:.2f}; other work meanwhile "
                  f"{found[workers][-1]['other_work_cores'] or 0:.2f} cores)", flush=True)
    return found


def summary(args, found) -> dict:
    one = statistics.median(batch["wall"] for batch in found[1])
    two = statistics.median(batch["wall"] for batch in found[2])
    overhead = statistics.median((batch["wall"] - batch["run_seconds"]) / args.runs for batch in found[1])
    per_run = {workers: statistics.median(batch["run_seconds"] / args.runs for batch in found[workers])
               for workers in found}
    return {"runs": args.runs, "epochs": args.epochs, "n_train": args.n_train, "layers": args.layers,
            "one_worker_seconds": one, "two_workers_seconds": two, "speed_up": one / two,
            "overhead_per_run_seconds": overhead, "run_seconds_alone": per_run[1],
            "run_seconds_side_by_side": per_run[2],
            "empty_task_round_trip_seconds": statistics.median(
                batch["empty_task_round_trip"] for batches in found.values() for batch in batches),
            "batches": found, "cpu_count": os.cpu_count()}


def main():
    args = build_parser().parse_args()
    cluster.distributed_module()
    load_mnist(args)
    with tempfile.TemporaryDirectory() as folder:
        setup = plan.WorkerSetup(str(args.data), True, folder, folder)
        found = measure(args, setup)
    result = summary(args, found)
    print(f"{args.runs} runs of {args.layers!r}, {args.epochs} epochs on {args.n_train} images: one worker "
          f"{result['one_worker_seconds']:.1f} s, two workers {result['two_workers_seconds']:.1f} s, "
          f"speed-up {result['speed_up']:.2f}x; a run {result['run_seconds_alone']:.2f} s alone, "
          f"{result['run_seconds_side_by_side']:.2f} s beside another; the cluster's cost per run "
          f"{result['overhead_per_run_seconds']:.3f} s (an empty task's round trip "
          f"{1000 * result['empty_task_round_trip_seconds']:.1f} ms)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
