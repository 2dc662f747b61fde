"""Planning the runs and running them in a pool of workers.

1. :func:`make_plan`: the tasks (:class:`~digits.replication.kinds.Task`, one training
   run each) of the chosen experiments that are not done yet.
2. :func:`run_order`: the longest first, so that the workers finish together; the
   ensembles last, in this process, once their networks exist.
3. :func:`announce`: what will run and about how long it will take.
4. :func:`run_tasks`: each task is one call of :func:`run_one` submitted to a
   :class:`concurrent.futures.Executor`; its numbers come back to this process, which
   writes the result files (:class:`Collector`).  While they run, the runs send their
   progress (finished work, chapter 6's epoch lines) as messages through a channel.

A :class:`Pool` is an executor and its channel.  Two are here: :class:`LocalProcesses`
(``--jobs N``: N spawned processes, one BLAS thread each) and :class:`ThisProcess`
(``--jobs 1``, and the ensembles).  Another executor, a Dask ``Client``'s
``get_executor()`` for instance, plugs in as a subclass of :class:`Pool`: its
``executor``, its ``channel`` (an object its workers can reach, with ``put(message)``,
or None for no progress), its ``messages(timeout)`` (what the channel has received) and
``close()``; it is given to :func:`run_experiments` (or :func:`digits.replication.cli.main`)
as ``pool``.  The workers call :func:`run_one` (task, :class:`WorkerSetup`): plain,
picklable arguments; chapter 6's checkpoints go to ``WorkerSetup.store_folder``.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import queue as queue_module
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace

from digits.app.mnist_flags import load_mnist
from digits.app.terminal import notice
from digits.replication import chapter6
from digits.replication.kinds import RunContext, load_experiment_data, run_task, tasks_for
from digits.replication.results import (
    RUN_LOG, RUN_LOG_CHAPTER6, assemble, folder_of, is_done, load_result, machine, now, plain,
    result_path, runs_done, save_json, save_run_in_git, save_with_copy)
from digits.replication.table import (
    EXPERIMENTS, INSTALL_BASELINES, ensemble_members, missing_package)
from digits.system.errors import DigitsError


# -- 1. the plan -----------------------------------------------------------------------------

def chosen_experiments(args) -> list:
    """The ids to run: --only's, or chapter 6's with --chapter6, or chapters 1-5's."""
    if args.only:
        return list(args.only)
    return [name for name, experiment in EXPERIMENTS.items()
            if experiment.in_chapter6_target == args.chapter6]


def run_key(task):
    return (task.variant, task.seed)


def make_plan(args) -> dict:
    """The tasks still to run of each chosen experiment (saying which are left out, and why).

    Chapters 1-5 are done or not as a whole; chapter 6 and the SVM run by run, so only
    the runs of theirs not kept yet (with the table's settings) are planned.
    """
    plan, skipped, unavailable = {}, [], []
    for experiment_id in chosen_experiments(args):
        tasks = tasks_for(experiment_id, quick=args.quick)
        saved = load_result(folder_of(args, experiment_id), experiment_id)
        if EXPERIMENTS[experiment_id].saved_run_by_run:
            tasks = [task for task in tasks if not args.seeds or task.seed in args.seeds or
                     task.settings["kind"] == "ensemble"]
            if not args.force:
                done = runs_done(saved, args.quick)
                tasks = [task for task in tasks if done.get(run_key(task)) != plain(task.settings)]
            if not tasks:
                skipped.append(experiment_id)
                continue
        elif not args.force and is_done(saved, tasks, args.quick):
            skipped.append(experiment_id)
            continue
        if missing_package(experiment_id):
            unavailable.append(experiment_id)
            continue
        plan[experiment_id] = tasks
    if not args.quiet:
        if skipped:
            notice(f"Already done (rerun with --force): {', '.join(skipped)}")
        for experiment_id in unavailable:
            notice(f"Not run: {experiment_id} needs {EXPERIMENTS[experiment_id].needs} "
                   f"({INSTALL_BASELINES})")
    return plan


def wait_for_members(plan, store) -> dict:
    """Take out of ``plan`` the ensembles whose networks will not exist; return them with
    the seeds they lack."""
    planned = [task for tasks in plan.values() for task in tasks]
    waiting = {}
    for experiment_id, tasks in list(plan.items()):
        for task in tasks:
            if task.settings["kind"] == "ensemble" and chapter6.waiting_for(task, planned, store):
                waiting[experiment_id] = chapter6.waiting_for(task, planned, store)
                del plan[experiment_id]
    return waiting


def add_missing_votes(args, store):
    """Give the kept runs of an ensemble's members that were saved without their votes
    (by an older version of this package) the votes of their networks, while those are
    still in the store: the ensemble can then be counted on any clone."""
    from digits.store import model_file

    test = None
    for experiment_id in sorted(ensemble_members()):
        saved = load_result(args.git_results, experiment_id)
        if saved is None or saved.get("quick") != args.quick:
            continue
        added = 0
        for variant in saved["variants"]:
            for run in variant["runs"]:
                path = store.model(experiment_id, run["seed"])
                if "test_votes" in run or not path.exists():
                    continue
                network, metadata = model_file.load(path)
                if (metadata.get("seed"), metadata.get("settings")) != (run["seed"], variant["settings"]):
                    continue        # the network of another run (the table has changed since)
                if test is None:
                    load_mnist(args)
                    test = load_experiment_data(args.data, args.quick)[2]
                run["test_votes"] = chapter6.votes_of(network, test)
                added += 1
        if added:
            save_json(result_path(args.git_results, experiment_id), saved)


# -- 2. the order ----------------------------------------------------------------------------

def run_order(plan) -> tuple:
    """``(tasks, last)``: the planned tasks in the order to run them, and the ensembles,
    which run last, once their networks exist.

    The most expensive experiments first, and within them the longest runs, so that the
    cores finish together and the cheap runs fill the gaps at the end.  Chapter 6 goes
    the other way, the first seed of every experiment first and the cheapest first, so
    that each row has a number as early as it can.
    """
    order = sorted(plan, key=lambda name: -sum(task.estimated_seconds for task in plan[name]))
    ordered = [task for name in order
               for task in sorted(plan[name], key=lambda t: -t.estimated_seconds)]
    if any(EXPERIMENTS[name].in_chapter6_target for name in plan):
        ordered.sort(key=lambda task: (task.seed, task.estimated_seconds))
    last = [task for task in ordered if task.settings["kind"] == "ensemble"]
    return [task for task in ordered if task not in last], last


# -- 3. what will run ------------------------------------------------------------------------

def plural(count, noun) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def experiment_plan_line(experiment_id, chosen, store) -> tuple:
    """``(line, seconds, longest)``: one experiment's runs in words, their estimated
    seconds (less what their checkpoints hold) and the longest run's."""
    seconds, longest, resumed = 0.0, 0.0, []
    for task in chosen:
        left = 1.0
        if task.settings["kind"] == "layers":
            epoch = chapter6.checkpoint_epoch(store, task)
            if epoch:
                resumed.append(f"seed {task.seed} from epoch {epoch}")
                left = 1 - epoch / task.settings["epochs"]
        seconds += task.estimated_seconds * left
        longest = max(longest, task.estimated_seconds * left)
    variants = sorted({task.variant for task in chosen})
    seeds = sorted({task.seed for task in chosen})
    which = f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
    if len(variants) > 1:
        which = (", ".join(variants) if len(seeds) == 1 and len(variants) <= 3
                 else f"{len(variants)} variants, {which}")
    going_on = f"; going on with {', '.join(resumed)}" if resumed else ""
    line = (f"  {experiment_id}: {plural(len(chosen), 'run')} ({which}{going_on}), "
            f"about {chapter6.duration(seconds)}")
    return line, seconds, longest


def announce(plan, tasks, store, args):
    """Say what will run and about how long it will take, before it starts."""
    if args.quiet:
        return
    lines, total, longest = [], 0.0, 0.0
    for experiment_id in plan:
        chosen = [task for task in tasks if task.experiment == experiment_id]
        line, seconds, longest_here = experiment_plan_line(experiment_id, chosen, store)
        lines.append(line)
        total, longest = total + seconds, max(longest, longest_here)
    # Every run uses one core (training keeps the matrix library on one thread); chapter 6's
    # long runs side by side slow each other down (chapter6.SHARING_SLOWDOWN).
    chapter6_runs = any(EXPERIMENTS[name].in_chapter6_target for name in plan)
    # On a Dask cluster (--scheduler), --jobs is the cluster's worker threads, not this machine's cores.
    on_cluster = bool(getattr(args, "scheduler", None))
    cores = args.jobs if on_cluster else os.cpu_count() or 1
    workers = max(1, min(args.jobs, cores, len(tasks)))
    if chapter6_runs and workers > 1:
        total, longest = total * chapter6.SHARING_SLOWDOWN, longest * chapter6.SHARING_SLOWDOWN
    where = ("on the cluster (each core as fast as one of an idle 2-core machine's)" if on_cluster
             else "on an idle 2-core machine (more on a busy one)")
    notice(f"Will run {plural(len(tasks), 'run')} of {plural(len(plan), 'experiment')}, about "
           f"{chapter6.duration(max(total / workers, longest))} with {plural(args.jobs, 'worker')} "
           f"{where}:")
    notice("\n".join(lines))
    if chapter6_runs:
        notice(f"Chapter 6 keeps a checkpoint of each run after every epoch in {store.folder}: "
               f"stopped (Ctrl-C), the same command goes on from there.")


# -- 4. the pools and the runs in them -------------------------------------------------------

@dataclass(frozen=True)
class WorkerSetup:
    """What a worker needs to run any task: where the data and chapter 6's store are.

    ``channel`` (an object with ``put(message)``, None: the one :func:`worker_init` set in
    this process) receives the runs' messages: finished work (a number) and lines (text).
    """

    data_dir: str
    quick: bool
    store_folder: str
    git_results: str
    channel: object = None


_WORKER = {"channel": None, "contexts": {}}


def set_channel(channel):
    """Where :func:`run_one` sends the messages of runs in this process."""
    _WORKER["channel"] = channel


def worker_init(channel):
    """Run once in each local worker process.  Ctrl-C is left to the parent process, which
    stops the workers itself (a chapter-6 run stopped so loses only the epoch it was in:
    its checkpoint holds the others)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_channel(channel)


def run_one(task, setup: WorkerSetup) -> dict:
    """Run ``task`` in whatever process this is (the data are loaded by its first task)."""
    key = (setup.data_dir, setup.quick, setup.store_folder, setup.git_results)
    context = _WORKER["contexts"].get(key)
    if context is None:
        training, validation, test = load_experiment_data(setup.data_dir, setup.quick)
        context = RunContext(training, validation, test,
                             store=chapter6.Store(setup.store_folder, git_results=setup.git_results))
        _WORKER["contexts"] = {key: context}            # one data set per process
    channel = setup.channel if setup.channel is not None else _WORKER["channel"]
    context.report_work = context.report_line = channel.put if channel is not None else None
    return run_task(task, context)


class Pool:
    """An executor to submit :func:`run_one` to, and the messages its runs have sent.

    ``window``: how many tasks to have submitted and not finished at a time (None: all
    at once, and the executor queues them).
    """

    executor: concurrent.futures.Executor
    window: int | None = None
    #: what the runs' messages are put to, if not the channel :func:`worker_init` set in
    #: each worker process (an object the workers can reach, with ``put(message)``)
    channel: object = None

    def messages(self, timeout) -> list:
        """The messages sent since the last call (waiting up to ``timeout`` for the first)."""
        time.sleep(timeout)
        return []

    def close(self):
        """Stop the workers (at once: a run stopped loses no more than its checkpoint holds)."""
        self.executor.shutdown(wait=False, cancel_futures=True)


class _InThisProcess(concurrent.futures.Executor):
    """An executor that runs each call at once, in this process."""

    def submit(self, fn, /, *args, **kwargs):
        future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:      # KeyboardInterrupt goes on up, as Ctrl-C should
            future.set_exception(error)
        return future


class ThisProcess(Pool):
    """Every run in this process, one after another; its messages go to ``report`` at once."""

    window = 1

    def __init__(self, report):
        self.executor = _InThisProcess()
        set_channel(_Direct(report))

    def messages(self, timeout) -> list:
        return []


@dataclass
class _Direct:
    put: object


@contextmanager
def one_blas_thread():
    """Worker processes start with one BLAS thread each: they share the cores by process,
    not by thread.  The variables must be set before numpy is imported in a worker, so
    they are set here, in the environment the spawned workers inherit."""
    names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({name: "1" for name in names})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class LocalProcesses(Pool):
    """``jobs`` spawned worker processes on this machine, each with one BLAS thread; their
    messages come back through a queue."""

    def __init__(self, jobs):
        context = multiprocessing.get_context("spawn")
        self.queue = context.Queue()
        self.executor = concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=context, initializer=worker_init, initargs=(self.queue,))
        with one_blas_thread():
            # The processes start now, in the environment of one BLAS thread.
            concurrent.futures.wait([self.executor.submit(os.getpid) for _ in range(jobs)])

    def messages(self, timeout) -> list:
        found = []
        try:
            found.append(self.queue.get(timeout=timeout))
            while True:
                found.append(self.queue.get_nowait())
        except queue_module.Empty:
            pass
        return found

    def close(self):
        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        self.executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join()


def run_tasks(tasks, pool: Pool, setup: WorkerSetup, finished, report):
    """Submit every task to ``pool`` (in order, at most ``pool.window`` at a time); pass each
    one's numbers (or error) to ``finished`` as it ends and the messages of the runs to
    ``report``, until all have ended."""
    waiting, pending = list(tasks), {}
    while waiting or pending:
        while waiting and (pool.window is None or len(pending) < pool.window):
            task = waiting.pop(0)
            pending[pool.executor.submit(run_one, task, setup)] = task
        for message in pool.messages(timeout=0.2):
            report(message)
        done, _ = concurrent.futures.wait(pending, timeout=0,
                                          return_when=concurrent.futures.FIRST_COMPLETED)
        for future in done:
            task = pending.pop(future)
            try:
                finished(task, future.result())
            except DigitsError as error:
                finished(task, error=error)
            except Exception as error:      # a bug in a run, or a worker gone: report it, finish the rest
                finished(task, error=f"{type(error).__name__}: {error}")
    for message in pool.messages(timeout=0):
        report(message)


# -- 5. the whole run ------------------------------------------------------------------------

def summary_of(outcome) -> str:
    if "test" in outcome:
        return (f"test accuracy {outcome['test']:.2f}% at the best validation epoch "
                f"{outcome['best_validation_epoch']}, {outcome['seconds_per_epoch']:.1f} s per epoch")
    return f"{outcome['final']:.2f}%"


class Progress:
    """The two progress bars (experiments, epochs of work) and the lines said beside them."""

    def __init__(self, plan, tasks, quiet):
        from tqdm import tqdm

        self.quiet = quiet
        self.experiments = tqdm(total=len(plan), desc="experiments", unit="exp", position=0,
                                disable=quiet or None, file=sys.stderr)
        self.epochs = tqdm(total=round(sum(task.epochs_of_work for task in tasks), 1), position=1,
                           desc="epochs (of 50,000 images)", unit="epoch", disable=quiet or None,
                           file=sys.stderr,
                           bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} [{elapsed}<{remaining}]")

    def line(self, text):
        """Say ``text`` (on standard error, above the bars)."""
        if not self.quiet:
            with self.epochs.external_write_mode(file=sys.stderr):
                notice(text)

    def message(self, message):
        """A run's message: finished work (a number) or a line (text)."""
        if isinstance(message, str):
            self.line(message)
        else:
            self.epochs.update(message)

    def experiment_done(self, experiment_id):
        self.experiments.update(1)
        self.experiments.set_postfix_str(experiment_id)

    def close(self):
        self.epochs.close()
        self.experiments.close()


class Collector:
    """Takes each run's numbers as it ends and writes them: a run saved run by run goes
    into the results kept in git at once; an experiment saved whole is written when its
    last run has ended (if none failed)."""

    def __init__(self, args, plan, store, progress):
        self.args, self.plan, self.store, self.progress = args, plan, store, progress
        self.remaining = {name: len(tasks) for name, tasks in plan.items()}
        self.outcomes, self.failures = {}, []

    def finished(self, task, outcome=None, error=None):
        args = self.args
        if error is not None:
            self.failures.append(f"{task.key}: {error}")
        else:
            self.outcomes[task.key] = outcome
            if EXPERIMENTS[task.experiment].saved_run_by_run:
                table_settings = {t.variant: t.settings for t in tasks_for(task.experiment, task.quick)}
                save_run_in_git(args, task, outcome, table_settings)
                chapter6.remove_checkpoint(task, self.store)
                self.progress.line(f"{task.key}: done, {summary_of(outcome)}; saved in "
                                   f"{result_path(args.git_results, task.experiment)}")
        self.remaining[task.experiment] -= 1
        if self.remaining[task.experiment] == 0:
            tasks = self.plan[task.experiment]
            if (not EXPERIMENTS[task.experiment].saved_run_by_run
                    and all(t.key in self.outcomes for t in tasks)):
                save_with_copy(args, result_path(args.results, task.experiment).name,
                               assemble(task.experiment, tasks, self.outcomes, args.quick, args.jobs))
            self.progress.experiment_done(task.experiment)


def prepare_plan(args, store) -> dict:
    """The plan, less the ensembles whose networks will not exist (said), with the votes of
    runs kept without them added first."""
    plan = make_plan(args)
    if any(EXPERIMENTS[name].in_chapter6_target for name in plan):
        add_missing_votes(args, store)
    waiting = wait_for_members(plan, store)
    if not args.quiet:
        for experiment_id, seeds in waiting.items():
            notice(f"Not run: {experiment_id} waits for the networks of "
                   f"{EXPERIMENTS[experiment_id].variants[''].get('members')} seeds "
                   f"{', '.join(map(str, seeds))}")
    return plan


def local_pool(args, report) -> Pool:
    """The pool of ``--jobs``: this process alone, or that many worker processes."""
    return ThisProcess(report) if args.jobs == 1 else LocalProcesses(args.jobs)


def run_experiments(args, pool=None) -> int:
    """Run the experiments that are not done yet; return 0, or 1 if any run failed.

    ``pool`` (a :class:`Pool`) runs the tasks; by default :func:`local_pool`'s.  The
    ensembles run last, in this process.
    """
    store = chapter6.Store(args.store, git_results=args.git_results)
    plan = prepare_plan(args, store)
    if not plan:
        return 0
    args.results.mkdir(parents=True, exist_ok=True)
    load_mnist(args)    # fetch MNIST if it is missing, or fail early, in one line
    if any(EXPERIMENTS[name].saved_run_by_run for name in plan):
        args.git_results.mkdir(parents=True, exist_ok=True)
        store.prepare()
    ordered, last = run_order(plan)
    started, wall = now(), time.perf_counter()
    announce(plan, ordered + last, store, args)
    progress = Progress(plan, ordered, args.quiet)
    collector = Collector(args, plan, store, progress)
    setup = WorkerSetup(str(args.data), args.quick, str(args.store), str(args.git_results))
    try:
        pool = pool or local_pool(args, progress.message)
        try:
            run_tasks(ordered, pool, replace(setup, channel=pool.channel), collector.finished,
                      progress.message)
        finally:
            pool.close()
        if last:
            run_tasks(last, ThisProcess(progress.message), setup, collector.finished, progress.message)
    finally:
        progress.close()
    elapsed = time.perf_counter() - wall
    save_run_log(args, plan, len(ordered) + len(last), started, elapsed)
    if not args.quiet:
        notice(f"Ran {plural(len(ordered) + len(last), 'run')} of {plural(len(plan), 'experiment')} in "
               f"{elapsed / 60:.1f} min with {plural(args.jobs, 'worker')}")
    for failure in collector.failures:
        notice(f"replicate.py: failed: {failure}")
    return 1 if collector.failures else 0


def save_run_log(args, plan, runs, started, elapsed):
    """Record when and how long this run took (chapter 6's apart from chapters 1-5's)."""
    chapter6_runs = any(EXPERIMENTS[name].in_chapter6_target for name in plan)
    save_with_copy(args, RUN_LOG_CHAPTER6 if chapter6_runs else RUN_LOG, {
        "started": started, "finished": now(), "seconds": elapsed, "jobs": args.jobs,
        "experiments": sorted(plan, key=lambda name: -sum(task.estimated_seconds for task in plan[name])),
        "runs": runs, "machine": machine(), "quick": args.quick,
        "load_average_at_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "complete": len(plan) == len([name for name in EXPERIMENTS
                                      if EXPERIMENTS[name].in_chapter6_target == chapter6_runs])})
