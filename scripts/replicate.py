#!/usr/bin/env python
"""Replicate the book's experiments: ``make replicate`` (or ``python scripts/replicate.py``).

Runs every experiment of ``EXPERIMENTS`` in ``scripts/experiments.py`` (chapters 1, 3 and 5 of
the book, the chapter-1 baselines and the expanded training data), each variant with
three seeds, spreading the runs over the cores.  Each finished experiment is saved as
``results/<id>.json`` (settings, seeds, per-epoch histories, final and best numbers)
and is not rerun unless ``--force``.  Then the figures (``docs/replication/*.png``)
and the report (``REPLICATION.md``) are drawn from those JSON files.

Chapter 6 (``--chapter6``, ``make replicate-ch6``) takes hours, so it is run apart and
differently (``scripts/chapter6.py``): a run on each core (``--jobs``), each keeping a
checkpoint after every epoch in ``results/ch6/`` and going on from it when started again,
and each finished run added at once to ``replication/<id>.json``, which is kept in git
(so is the SVM baseline's, ``ch1-svm``, which needs the optional scikit-learn).
Chapters 1-5's results get a copy there too, so that the report can be redrawn on a
clone whose ``results/`` is empty; ``results/`` alone says what has run on this machine.

    python scripts/replicate.py                    # everything not yet done, then the report
    python scripts/replicate.py --only ch1-30 ch3-eta --force
    python scripts/replicate.py --report-only      # redraw figures and report from results/
    python scripts/replicate.py --quick            # every experiment at a tiny size, in seconds
    python scripts/replicate.py --chapter6 --seeds 1   # chapter 6's first seeds

``--quick`` keeps its own results, report and figures under ``results/quick/``, so it
never overwrites the real ones.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import queue as queue_module
import sys
import textwrap
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:        # run from a checkout without installing the package
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

import chapter6  # noqa: E402  (scripts/chapter6.py, beside this file)
import experiments  # noqa: E402  (scripts/experiments.py, beside this file)
from digits.app.cli import ArgumentParser, HelpFormatter, exit_status  # noqa: E402
from digits.app.mnist_flags import add_data_arguments, load_mnist  # noqa: E402
from digits.system.errors import DigitsError, UsageError  # noqa: E402
from experiments import EXPERIMENTS  # noqa: E402
from digits.system.files import write_atomically  # noqa: E402

RUN_LOG = "replicate-run.json"     # in the results folder: when and how long the last run took
RUN_LOG_CHAPTER6 = "replicate-run-ch6.json"     # the same for the last run of chapter 6
# Results that took hours (chapter 6) or need an optional package (the SVM) are kept in
# git, in this folder, so that the report can always be redrawn; results/ is scratch.
KEPT = "replication"


# -- the command line --------------------------------------------------------------------------

def build_parser():
    parser = ArgumentParser(
        prog="replicate.py", description="Rerun the book's experiments and write REPLICATION.md.",
        formatter_class=HelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="ID",
                        help="run only these experiments (ids as in REPLICATION.md: "
                             + ", ".join(EXPERIMENTS) + ")")
    parser.add_argument("--force", action="store_true", help="rerun experiments already done")
    parser.add_argument("--quick", action="store_true",
                        help="every experiment at a tiny size (a few seconds), into results/quick/")
    parser.add_argument("--report-only", action="store_true",
                        help="run nothing: redraw the figures and the report from the JSON files")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="worker processes (1 runs everything in this process)")
    add_data_arguments(parser, default=REPO / "data" / "mnist")
    parser.add_argument("--results", type=Path, default=None, metavar="DIR",
                        help="where the JSON files go (default results/, or results/quick/)")
    parser.add_argument("--report", type=Path, default=None, metavar="PATH",
                        help="the report to write (default REPLICATION.md, or results/quick/REPLICATION.md)")
    parser.add_argument("--figures", type=Path, default=None, metavar="DIR",
                        help="where the PNG figures go (default docs/replication/, or results/quick/figures/)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    long = parser.add_argument_group(
        "chapter 6 (hours; make replicate-ch6)",
        "Chapter 6's runs and the SVM are saved one by one, as each finishes, into the results "
        "kept in git; chapter 6's keep a checkpoint after every epoch and go on from it.")
    long.add_argument("--chapter6", action="store_true",
                      help="run chapter 6's experiments instead of chapters 1-5 (with --only, any "
                           "experiment can be named)")
    long.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                      help="run only these seeds of chapter 6's experiments (default: every seed "
                           "in the table)")
    long.add_argument("--kept", type=Path, default=None, metavar="DIR",
                      help="where the results kept in git go (default replication/, or the "
                           "--results folder with --quick)")
    long.add_argument("--store", type=Path, default=None, metavar="DIR",
                      help="where chapter 6's checkpoints and trained networks go (default "
                           "ch6/ in the --results folder; git ignores it)")
    return parser


def resolve_paths(args):
    """Fill in the default folders; --quick gets its own, beside the real results."""
    chosen_results = args.results
    results = chosen_results or (REPO / "results" / ("quick" if args.quick else ""))
    args.results = results
    # The results kept in git have their own folder; a --quick run or one told where its
    # results go keeps them there too, so that it never touches the real ones.
    args.kept = args.kept or (results if args.quick or chosen_results else REPO / KEPT)
    args.store = args.store or results / "ch6"
    args.report = args.report or (results / "REPLICATION.md" if args.quick else REPO / "REPLICATION.md")
    args.figures = args.figures or (results / "figures" if args.quick else REPO / "docs" / "replication")


def check_arguments(args):
    unknown = [name for name in args.only or () if name not in EXPERIMENTS]
    if unknown:
        raise UsageError(f"unknown experiment {', '.join(unknown)}; choose from {', '.join(EXPERIMENTS)}")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.report_only and (args.only or args.force or args.seeds or args.chapter6):
        raise UsageError("--report-only runs nothing, so --only, --force, --seeds and --chapter6 "
                         "make no sense with it")
    if args.seeds:
        whole = [name for name in chosen_experiments(args) if not EXPERIMENTS[name].lasting]
        if whole:
            raise UsageError(f"--seeds is for chapter 6's experiments, which are saved run by run; "
                             f"{', '.join(whole)} {'is' if len(whole) == 1 else 'are'} saved whole")
        table_seeds = {seed for name in chosen_experiments(args) for seed in EXPERIMENTS[name].seeds}
        unknown_seeds = sorted(set(args.seeds) - table_seeds)
        if unknown_seeds:
            raise UsageError(f"no experiment chosen has seed {', '.join(map(str, unknown_seeds))}; "
                             f"their seeds are {', '.join(map(str, sorted(table_seeds)))}")


def chosen_experiments(args) -> list:
    """The ids to run: --only's, or chapter 6's with --chapter6, or chapters 1-5's."""
    if args.only:
        return list(args.only)
    return [name for name, experiment in EXPERIMENTS.items() if experiment.long == args.chapter6]


def folder_of(args, experiment_id) -> Path:
    """Where the result of ``experiment_id`` is saved: kept in git, or in results/."""
    return args.kept if EXPERIMENTS[experiment_id].lasting else args.results


def report_result(args, experiment_id):
    """The result the report shows: this machine's (results/), or else the copy kept in git."""
    folder = folder_of(args, experiment_id)
    result = load_result(folder, experiment_id)
    if result is None and not same_folder(folder, args.kept):
        result = load_result(args.kept, experiment_id)
    return result


def same_folder(one, other) -> bool:
    return Path(one).resolve() == Path(other).resolve()


def save_with_copy(args, name, data):
    """Save ``data`` as results/``name`` and, so that a clone can redraw the report, in the
    folder kept in git (one file where the two are the same folder, as with --quick)."""
    save_json(args.results / name, data)
    if not same_folder(args.results, args.kept):
        args.kept.mkdir(parents=True, exist_ok=True)
        save_json(args.kept / name, data)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    resolve_paths(args)
    return exit_status(lambda: replicate(args), "replicate.py",
                       interrupted="interrupted; the experiments that finished are saved, and "
                                   "chapter 6's runs go on from their last finished epoch")


def replicate(args) -> int:
    """Run what was asked for, then redraw the figures and the report."""
    check_arguments(args)
    status = 0
    if not args.report_only:
        status = run_experiments(args)
    write_figures_and_report(args)
    return status


# -- running the experiments ---------------------------------------------------------------------

def result_path(results, experiment_id) -> Path:
    return Path(results) / f"{experiment_id}.json"


def load_result(results, experiment_id):
    """The saved result of one experiment, or None if there is none.

    A file that is not a result this script wrote (unreadable, not JSON, another
    experiment's, or missing what the report needs) is also None, with a one-line
    warning: it is rerun by a run, and shown as not run by ``--report-only``.
    """
    path = result_path(results, experiment_id)
    if not path.exists():
        return None
    try:
        result = json.loads(path.read_text())
        problem = result_problem(result, experiment_id)
    except (OSError, UnicodeDecodeError) as error:
        problem = getattr(error, "strerror", None) or str(error)
    except ValueError as error:
        problem = f"not JSON ({error})"
    if problem is None:
        return result
    print(f"replicate.py: warning: ignoring {path}: {problem}", file=sys.stderr)
    return None


def result_problem(result, experiment_id):
    """Why ``result`` is not a usable result of ``experiment_id``, or None if it is."""
    if not isinstance(result, dict):
        return "not a result file (no JSON object)"
    if result.get("id") != experiment_id:
        return f"its id is {result.get('id')!r}, not {experiment_id!r}"
    try:
        for key, kind in (("quick", bool), ("seeds", list), ("variants", list),
                          ("seconds", (int, float)), ("finished", str), ("machine", str)):
            if not isinstance(result[key], kind):
                return f"{key!r} is not a {getattr(kind, '__name__', 'number')}"
        # The check reads every figure the report shows: a result it can judge is whole.
        experiments.verdict(result)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        return f"it is not a complete result ({type(error).__name__}: {error})"
    return None


def load_run_log(results, name=RUN_LOG):
    """The record of the last run (``RUN_LOG``, or chapter 6's), or None if it is missing or unusable."""
    try:
        log = json.loads((Path(results) / name).read_text())
    except (OSError, ValueError):
        return None
    needed = {"experiments": list, "runs": int, "seconds": (int, float), "jobs": int, "started": str}
    if not isinstance(log, dict) or not all(isinstance(log.get(key), kind) for key, kind in needed.items()):
        return None
    return log


def is_done(result, tasks, quick) -> bool:
    """Whether a saved result ran exactly these tasks' settings and seeds, at this size."""
    if result is None or result.get("quick") != quick:
        return False
    saved = {(variant["name"], run["seed"]): variant["settings"]
             for variant in result.get("variants", []) for run in variant.get("runs", [])}
    # Through JSON and back, so that tuples compare equal to the lists they are saved as.
    wanted = {(task.variant, task.seed): json.loads(json.dumps(task.settings)) for task in tasks}
    return saved == wanted


def machine() -> str:
    """One line saying what computer this is."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, numpy {np.__version__}")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def assemble(experiment_id, tasks, outcomes, quick, jobs) -> dict:
    """The JSON of one finished experiment, from its tasks and their results."""
    experiment = EXPERIMENTS[experiment_id]
    variants = []
    for name in experiment.variants:
        chosen = [task for task in tasks if task.variant == name]
        variants.append({"name": name, "settings": chosen[0].settings,
                         "runs": [outcomes[task.key] for task in chosen]})
    return {
        "id": experiment_id, "chapter": experiment.chapter, "setting": experiment.setting,
        "published": experiment.published, "deviation": experiment.deviation,
        "quick": quick, "seeds": list(experiment.seeds), "variants": variants,
        "seconds": sum(outcomes[task.key]["seconds"] for task in tasks),
        "finished": now(), "machine": machine(), "jobs": jobs,
    }


def save_json(path, data):
    write_atomically(path, (json.dumps(data, indent=1) + "\n").encode())


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


def run_experiments(args) -> int:
    """Run the experiments that are not done yet; return 0, or 1 if any run failed."""
    from tqdm import tqdm

    plan = make_plan(args)
    store = chapter6.Store(args.store, kept=args.kept)
    if any(EXPERIMENTS[name].long for name in plan):
        add_missing_votes(args, store)
    waiting = wait_for_members(plan, store)
    if not args.quiet:
        for experiment_id, seeds in waiting.items():
            print(f"Not run: {experiment_id} waits for the networks of "
                  f"{EXPERIMENTS[experiment_id].variants[''].get('members')} seeds "
                  f"{', '.join(map(str, seeds))}", file=sys.stderr)
    if not plan:
        return 0
    args.results.mkdir(parents=True, exist_ok=True)
    load_mnist(args)    # fetch MNIST if it is missing, or fail early, in one line
    if any(EXPERIMENTS[name].lasting for name in plan):
        args.kept.mkdir(parents=True, exist_ok=True)
        store.prepare()

    long = any(EXPERIMENTS[name].long for name in plan)
    ordered, last = run_order(plan)
    remaining = {name: len(tasks) for name, tasks in plan.items()}
    outcomes, failures = {}, []
    started, wall = now(), time.perf_counter()
    announce(plan, ordered + last, store, args)

    experiment_bar = tqdm(total=len(plan), desc="experiments", unit="exp", position=0,
                          disable=args.quiet or None, file=sys.stderr)
    epoch_bar = tqdm(total=round(sum(task.work for task in ordered), 1), position=1,
                     desc="epochs (of 50,000 images)", unit="epoch", disable=args.quiet or None,
                     file=sys.stderr, bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} [{elapsed}<{remaining}]")

    def tell(line):
        if not args.quiet:
            tqdm.write(line, file=sys.stderr)

    def finished(task, outcome=None, error=None):
        if error is not None:
            failures.append(f"{task.key}: {error}")
        else:
            outcomes[task.key] = outcome
            if EXPERIMENTS[task.experiment].lasting:
                keep_run(args, task, outcome)
                chapter6.finished(task, store)
                tell(f"{task.key}: done, {summary_of(outcome)}; saved in "
                     f"{result_path(args.kept, task.experiment)}")
        remaining[task.experiment] -= 1
        if remaining[task.experiment] == 0:
            tasks = plan[task.experiment]
            if not EXPERIMENTS[task.experiment].lasting and all(t.key in outcomes for t in tasks):
                save_with_copy(args, result_path(args.results, task.experiment).name,
                               assemble(task.experiment, tasks, outcomes, args.quick, args.jobs))
            experiment_bar.update(1)
            experiment_bar.set_postfix_str(task.experiment)

    try:
        if args.jobs == 1:
            run_here(ordered, args, epoch_bar, finished, store, tell)
        else:
            run_in_workers(ordered, args, epoch_bar, finished, tell)
        if last:
            run_here(last, args, epoch_bar, finished, store, tell)
    finally:
        epoch_bar.close()
        experiment_bar.close()
    elapsed = time.perf_counter() - wall
    save_run_log(args, plan, len(ordered) + len(last), started, elapsed, long)
    if not args.quiet:
        print(f"Ran {plural(len(ordered) + len(last), 'run')} of {plural(len(plan), 'experiment')} in "
              f"{elapsed / 60:.1f} min with {plural(args.jobs, 'worker')}", file=sys.stderr)
    for failure in failures:
        print(f"replicate.py: failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


def run_order(plan) -> tuple:
    """``(tasks, last)``: the planned tasks in the order to run them, and the ensembles,
    which run last, once their networks exist.

    The most expensive experiments first, and within them the longest runs, so that the
    cores finish together and the cheap runs fill the gaps at the end.  Chapter 6 goes
    the other way, the first seed of every experiment first and the cheapest first, so
    that each row has a number as early as it can.
    """
    order = sorted(plan, key=lambda name: -sum(task.cost for task in plan[name]))
    ordered = [task for name in order for task in sorted(plan[name], key=lambda t: -t.cost)]
    if any(EXPERIMENTS[name].long for name in plan):
        ordered.sort(key=lambda task: (task.seed, task.cost))
    last = [task for task in ordered if task.settings["kind"] == "ensemble"]
    return [task for task in ordered if task not in last], last


def save_run_log(args, plan, runs, started, elapsed, long):
    """Record when and how long this run took (chapter 6's apart from chapters 1-5's)."""
    save_with_copy(args, RUN_LOG_CHAPTER6 if long else RUN_LOG, {
        "started": started, "finished": now(), "seconds": elapsed, "jobs": args.jobs,
        "experiments": sorted(plan, key=lambda name: -sum(task.cost for task in plan[name])),
        "runs": runs, "machine": machine(), "quick": args.quick,
        "load_average_at_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "complete": len(plan) == len([name for name in EXPERIMENTS if EXPERIMENTS[name].long == long])})


def make_plan(args) -> dict:
    """The tasks still to run of each chosen experiment (saying which are left out, and why).

    Chapters 1-5 are done or not as a whole; chapter 6 and the SVM run by run, so only
    the runs of theirs not kept yet (with the table's settings) are planned.
    """
    plan, skipped, unavailable = {}, [], []
    for experiment_id in chosen_experiments(args):
        tasks = experiments.tasks_for(experiment_id, quick=args.quick)
        saved = load_result(folder_of(args, experiment_id), experiment_id)
        if EXPERIMENTS[experiment_id].lasting:
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
        if experiments.missing_package(experiment_id):
            unavailable.append(experiment_id)
            continue
        plan[experiment_id] = tasks
    if not args.quiet:
        if skipped:
            print(f"Already done (rerun with --force): {', '.join(skipped)}", file=sys.stderr)
        for experiment_id in unavailable:
            print(f"Not run: {experiment_id} needs {EXPERIMENTS[experiment_id].needs} "
                  f"({experiments.INSTALL_BASELINES})", file=sys.stderr)
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


def announce(plan, tasks, store, args):
    """Say what will run and about how long it will take, before it starts."""
    if args.quiet:
        return
    lines, total, longest = [], 0.0, 0.0
    for experiment_id in plan:
        chosen = [task for task in tasks if task.experiment == experiment_id]
        seconds = 0.0
        resumed = []
        for task in chosen:
            left = 1.0
            if task.settings["kind"] == "layers":
                epoch = checkpoint_epoch(store, task)
                if epoch:
                    resumed.append(f"seed {task.seed} from epoch {epoch}")
                    left = 1 - epoch / task.settings["epochs"]
            seconds += task.cost * left
            longest = max(longest, task.cost * left)
        total += seconds
        variants = sorted({task.variant for task in chosen})
        seeds = sorted({task.seed for task in chosen})
        which = f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
        if len(variants) > 1:
            which = (", ".join(variants) if len(seeds) == 1 and len(variants) <= 3
                     else f"{len(variants)} variants, {which}")
        going_on = f"; going on with {', '.join(resumed)}" if resumed else ""
        lines.append(f"  {experiment_id}: {plural(len(chosen), 'run')} ({which}{going_on}), "
                     f"about {chapter6.duration(seconds)}")
    # Every run uses one core (training keeps the matrix library on one thread); chapter 6's
    # long runs side by side slow each other down (chapter6.SHARING_SLOWDOWN).
    long = any(EXPERIMENTS[name].long for name in plan)
    workers = max(1, min(args.jobs, os.cpu_count() or 1, len(tasks)))
    if long and workers > 1:
        total, longest = total * chapter6.SHARING_SLOWDOWN, longest * chapter6.SHARING_SLOWDOWN
    print(f"Will run {plural(len(tasks), 'run')} of {plural(len(plan), 'experiment')}, about "
          f"{chapter6.duration(max(total / workers, longest))} with {plural(args.jobs, 'worker')} on an idle "
          f"2-core machine (more on a busy one):", file=sys.stderr)
    print("\n".join(lines), file=sys.stderr)
    if long:
        print(f"Chapter 6 keeps a checkpoint of each run after every epoch in {store.folder}: "
              f"stopped (Ctrl-C), the same command goes on from there.", file=sys.stderr)


def plural(count, noun) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def checkpoint_epoch(store, task):
    """The epochs a chapter-6 run's checkpoint holds (0 if it has none or it is unreadable)."""
    import zipfile

    path = store.checkpoint(task)
    if not path.exists():
        return 0
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(str(archive["metadata"]))
        return int(meta["epoch"]) if meta.get("settings", {}).get("settings") == plain(task.settings) else 0
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return 0


def summary_of(outcome) -> str:
    if "test" in outcome:
        return (f"test accuracy {outcome['test']:.2f}% at the best validation epoch "
                f"{outcome['best_validation_epoch']}, {outcome['seconds_per_epoch']:.1f} s per epoch")
    return f"{outcome['final']:.2f}%"


# -- results kept run by run (chapter 6, the SVM) --------------------------------------------

def plain(value):
    """``value`` as it comes back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


def run_key(task):
    return (task.variant, task.seed)


def runs_done(result, quick) -> dict:
    """(variant, seed) -> settings of each run a kept result holds, at this size."""
    if result is None or result.get("quick") != quick:
        return {}
    return {(variant["name"], run["seed"]): variant["settings"]
            for variant in result["variants"] for run in variant["runs"]}


def keep_run(args, task, outcome):
    """Add one finished run to its experiment's kept result (replacing an older run of
    the same variant and seed, and dropping runs of settings the table no longer has)."""
    experiment = EXPERIMENTS[task.experiment]
    saved = load_result(args.kept, task.experiment)
    if saved is None or saved.get("quick") != task.quick:
        saved = {"variants": []}
    variants = []
    for name, settings in experiment.variants.items():
        table = plain(experiments.quick_settings(settings) if task.quick else settings)
        old = next((variant for variant in saved["variants"]
                    if variant["name"] == name and variant["settings"] == table), None)
        runs = [run for run in (old["runs"] if old else [])
                if not (name == task.variant and run["seed"] == task.seed)]
        if name == task.variant:
            runs.append(outcome)
        if runs:
            variants.append({"name": name, "settings": table,
                             "runs": sorted(runs, key=lambda run: run["seed"])})
    seeds = sorted({run["seed"] for variant in variants for run in variant["runs"]})
    save_json(result_path(args.kept, task.experiment), {
        "id": task.experiment, "chapter": experiment.chapter, "setting": experiment.setting,
        "published": experiment.published, "deviation": experiment.deviation,
        "quick": task.quick, "seeds": seeds, "planned_seeds": list(experiment.seeds),
        "variants": variants,
        "seconds": sum(run["seconds"] for variant in variants for run in variant["runs"]),
        "finished": now(), "machine": machine(), "jobs": args.jobs})


def add_missing_votes(args, store):
    """Give the kept runs of an ensemble's members that were saved without their votes
    (by an older version of this script) the votes of their networks, while those are
    still in the store: the ensemble can then be counted on any clone."""
    from digits.store import model_file

    test = None
    for experiment_id in sorted(experiments.ensemble_members()):
        saved = load_result(args.kept, experiment_id)
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
                    test = experiments.load_experiment_data(args.data, args.quick)[2]
                run["test_votes"] = chapter6.votes_of(network, test)
                added += 1
        if added:
            save_json(result_path(args.kept, experiment_id), saved)


def run_here(tasks, args, epoch_bar, finished, store, tell):
    """--jobs 1: every task in this process, one after another."""
    data = experiments.load_experiment_data(args.data, args.quick)
    expanded = {}
    for task in tasks:
        try:
            outcome = experiments.run_task(task, data, expanded, progress=epoch_bar.update,
                                           store=store, tell=tell)
        except DigitsError as error:
            finished(task, error=error)
        else:
            finished(task, outcome)


def run_in_workers(tasks, args, epoch_bar, finished, tell):
    """Run the tasks in ``args.jobs`` spawned worker processes, longest first."""
    context = multiprocessing.get_context("spawn")
    progress = context.Queue()
    with one_blas_thread():
        pool = context.Pool(args.jobs, initializer=experiments.worker_init,
                            initargs=(progress, str(args.data), args.quick, str(args.store)))

    def report(message):
        # Workers send finished work (a number) and chapter 6's epoch lines (text).
        if isinstance(message, str):
            tell(message)
        else:
            epoch_bar.update(message)

    try:
        pending = [(task, pool.apply_async(experiments.worker_run, (task,))) for task in tasks]
        while pending:
            try:
                report(progress.get(timeout=0.2))
                while True:
                    report(progress.get_nowait())
            except queue_module.Empty:
                pass
            still = []
            for task, handle in pending:
                if not handle.ready():
                    still.append((task, handle))
                    continue
                try:
                    finished(task, handle.get())
                except DigitsError as error:
                    finished(task, error=error)
                except Exception as error:      # a bug in a run: report it, finish the rest
                    finished(task, error=f"{type(error).__name__}: {error}")
            pending = still
        pool.close()
    finally:
        pool.terminate()
        pool.join()


# -- the figures -----------------------------------------------------------------------------------

def figure(columns=1, rows=1, width=5.6, height=3.9, title=""):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * columns, height * rows + (0.5 if title else 0)), layout="constrained")
    if title:
        # About 13 characters of a 10-point title fit in an inch.
        fig.suptitle("\n".join(textwrap.wrap(title, int(12 * width * columns))), fontsize=10)
    axes = [fig.add_subplot(rows, columns, i + 1) for i in range(rows * columns)]
    for ax in axes:
        ax.grid(alpha=0.3)
    return fig, axes


def save_figure(fig, path):
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    write_atomically(path, buffer.getvalue())


def title_of(result) -> str:
    return f"{result['id']}: {result['setting']}" + ("  [--quick size]" if result["quick"] else "")


def plot_seeds(ax, rows, color, label, epochs_from=1):
    """One faint line per seed and their mean in bold."""
    rows = np.asarray(rows, dtype=float)
    epochs = np.arange(epochs_from, epochs_from + rows.shape[1])
    for row in rows:
        ax.plot(epochs, row, color=color, alpha=0.3, linewidth=0.8)
    ax.plot(epochs, rows.mean(axis=0), color=color, linewidth=1.6, label=label)


def history_rows(runs, field, scale=None):
    rows = []
    for run in runs:
        history = run["history"]
        row = np.asarray(history[field], dtype=float)
        rows.append(100 * row / history[scale] if scale else row)
    return rows


def draw_overfitting(result):
    """The book's four overfitting curves: costs and accuracies per epoch."""
    fig, axes = figure(2, 2, width=5.2, height=3.5, title=title_of(result))
    runs = experiments.runs(result)
    panels = (("training_cost", None, "Cost on the training data", "cost", "tab:orange"),
              ("evaluation_cost", None, "Cost on the test data", "cost", "tab:red"),
              ("evaluation_accuracy", "n_evaluation", "Accuracy on the test data", "accuracy (%)", "tab:blue"),
              ("training_accuracy", "n_training", "Accuracy on the training data", "accuracy (%)", "tab:green"))
    for ax, (field, scale, name, ylabel, color) in zip(axes, panels):
        plot_seeds(ax, history_rows(runs, field, scale), color, "mean of the seeds")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
    axes[0].legend(fontsize=8)
    return fig


def draw_eta(result):
    fig, (ax,) = figure(title=title_of(result) + " (default initialisation)", width=7)
    for entry, color in zip(result["variants"], ("tab:blue", "tab:orange", "tab:red")):
        plot_seeds(ax, history_rows(entry["runs"], "training_cost"), color, entry["name"].replace("eta", "η ="))
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost on the training data")
    ax.legend()
    return fig


def draw_init(result):
    fig, axes = figure(2, 1, title=title_of(result))
    for ax, hidden in zip(axes, (30, 100)):
        for init, color in (("default", "tab:blue"), ("large", "tab:orange")):
            runs = experiments.runs(result, f"{hidden} hidden, {init} init")
            plot_seeds(ax, history_rows(runs, "evaluation_accuracy", "n_evaluation"), color,
                       f"{init} initialisation")
        ax.set_title(f"[784, {hidden}, 10]", fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy on the test data (%)")
        if not result["quick"]:
            ax.set_ylim(85, 100)
        ax.legend(loc="lower right")
    return fig


def draw_more_data(result):
    fig, (ax,) = figure(title=title_of(result), width=7)
    sizes = [entry["settings"]["n_train"] for entry in result["variants"]]
    for measure, color, label in (("final", "tab:blue", "test data"),
                                  ("validation", "tab:orange", "validation data")):
        numbers = np.array([[run[measure] for run in entry["runs"]] for entry in result["variants"]])
        mean = numbers.mean(axis=1)
        ax.errorbar(sizes, mean, yerr=[mean - numbers.min(axis=1), numbers.max(axis=1) - mean],
                    color=color, marker="o", capsize=3, label=f"accuracy on the {label} (range over seeds)")
    ax.set_xscale("log")
    ax.set_xlabel("training set size (images, log scale)")
    ax.set_ylabel("accuracy (%)")
    ax.legend(loc="lower right")
    return fig


def draw_speed(result):
    fig, axes = figure(3, 1, width=4.6, height=3.8, title=title_of(result))
    colors = ("tab:blue", "tab:orange", "tab:red", "tab:green")
    for ax, entry in zip(axes, result["variants"]):
        norms = np.array([run["norms"] for run in entry["runs"]])    # seeds x epochs+1 x layers
        for layer in range(norms.shape[2]):
            plot_seeds(ax, norms[:, :, layer], colors[layer], f"hidden layer {layer + 1}", epochs_from=0)
        ax.set_yscale("log")
        ax.set_title(f"Speed of learning: {entry['name']}", fontsize=10)
        ax.set_xlabel("epochs of training")
        ax.set_ylabel("‖δ‖ = ‖∂C/∂b‖ of the layer")
        ax.legend(fontsize=8, loc="upper right")
    return fig


# figure file -> (experiment id, drawing function, caption for the report)
FIGURES = {
    "ch3-overfit.png": ("ch3-overfit", draw_overfitting,
                        "Overfitting on 1,000 images: the training cost falls for all 400 epochs and "
                        "the training accuracy reaches 100%, while the test cost turns up early and the "
                        "test accuracy stops improving."),
    "ch3-l2-1000.png": ("ch3-l2-1000", draw_overfitting,
                        "The same with L2 regularisation (lambda 0.1): the test cost no longer turns "
                        "up so sharply and the test accuracy is higher and still creeping up."),
    "ch3-eta.png": ("ch3-eta", draw_eta,
                    "Training cost per epoch for three learning rates."),
    "ch3-init.png": ("ch3-init", draw_init,
                     "Test accuracy per epoch, large (N(0, 1)) vs default (N(0, 1/n_in)) "
                     "initialisation."),
    "ch3-more-data.png": ("ch3-more-data", draw_more_data,
                          "Accuracy against the number of training images (log axis)."),
    "ch5-learning-speed.png": ("ch5-speed", draw_speed,
                               "Chapter 5: ‖δ‖ of each hidden layer during training (log axis); the "
                               "layers nearest the input learn slowest."),
}


# Chapter 6's figures draw on several experiments (and the ensemble's on the test images).
CHAPTER6_NETWORKS = ("ch6-fc", "ch6-conv1", "ch6-conv2", "ch6-relu", "ch6-expanded", "ch6-extra-fc",
                     "ch6-dropout")
MISSES_SHOWN = 60


def filters_source(results):
    """The most trained conv network run so far (the book's best first): ``(id, run)``."""
    for experiment_id in reversed(CHAPTER6_NETWORKS):
        result = results.get(experiment_id)
        if result is not None:
            run = experiments.runs(result)[0]
            if "first_filters" in run:
                return experiment_id, run
    return None


def draw_filters(result_id, run, quick):
    """The first conv layer's 5x5 filters, one small picture each, darker for larger weights."""
    from matplotlib.figure import Figure

    filters = np.asarray(run["first_filters"])          # (filters, 5, 5)
    columns = 10
    rows = -(-len(filters) // columns)
    fig = Figure(figsize=(columns * 0.9, rows * 0.9 + 0.7), layout="constrained")
    fig.suptitle(f"The {len(filters)} filters of the first convolutional layer: {result_id}, "
                 f"seed {run['seed']}" + ("  [--quick size]" if quick else "") +
                 "\n(darker = larger weight, one scale for all)", fontsize=9)
    limit = float(np.abs(filters).max()) or 1.0
    for i, kernel in enumerate(filters):
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.imshow(kernel, cmap="gray_r", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def draw_validation(results, quick):
    """Validation accuracy per epoch of every chapter-6 network run so far."""
    fig, (ax,) = figure(width=8, height=4.6, title="Chapter 6: validation accuracy per epoch"
                        + ("  [--quick size]" if quick else ""))
    colors = iter(("tab:gray", "tab:blue", "tab:orange", "tab:red", "tab:green", "tab:purple", "tab:brown"))
    for experiment_id in CHAPTER6_NETWORKS:
        color = next(colors)
        result = results.get(experiment_id)
        if result is None:
            continue
        runs = experiments.runs(result)
        rows = history_rows(runs, "validation_accuracy", "n_validation")
        seeds = ", ".join(str(run["seed"]) for run in runs)
        plot_seeds(ax, rows, color, f"{experiment_id} (seed{'s' if len(runs) > 1 else ''} {seeds})")
        for run, row in zip(runs, rows):       # the epoch each run's number is taken at
            best = run["best_validation_epoch"]
            ax.plot([best], [row[best - 1]], marker="o", markersize=4, color=color)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy on the validation images (%)")
    if not quick:
        ax.set_ylim(96.5, 99.8)     # the first epoch or two of the weakest networks lie below
    ax.legend(loc="lower right", fontsize=8)
    return fig


def draw_misses(result, test):
    """The test digits the ensemble gets wrong: the right digit above, its answer below."""
    from matplotlib.figure import Figure

    misses = result["variants"][0]["runs"][0]["misses"]
    shown = misses[:MISSES_SHOWN]
    columns = 11
    rows = max(1, -(-len(shown) // columns))
    fig = Figure(figsize=(columns * 0.8, rows * 1.05 + 0.6), layout="constrained")
    more = f" (the first {len(shown)})" if len(shown) < len(misses) else ""
    fig.suptitle(f"The {len(misses)} test digits the ensemble gets wrong{more}: MNIST's label above, "
                 f"the ensemble's answer below" + ("  [--quick size]" if result["quick"] else ""),
                 fontsize=9)
    for i, miss in enumerate(shown):
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.imshow(test.inputs[miss["index"]].reshape(28, 28), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(str(miss["label"]), fontsize=9, pad=2)
        ax.set_xlabel(str(miss["answer"]), fontsize=9, color="tab:red", labelpad=2)
    return fig


def chapter6_figures(results, args):
    """Draw chapter 6's figures from what has run; return ``[(filename, heading, caption)]``."""
    quick = any(result["quick"] for result in results.values() if result is not None)
    drawn = []
    source = filters_source(results)
    if source is not None:
        save_figure(draw_filters(*source, quick), args.figures / "ch6-filters.png")
        drawn.append(("ch6-filters.png", "ch6: the learned filters",
                      f"The 20 learned 5x5 filters of the first convolutional layer of {source[0]} "
                      f"(seed {source[1]['seed']}; the figure takes the most trained network run so "
                      f"far), each a small picture of the feature it looks for."))
    if any(results.get(name) is not None for name in CHAPTER6_NETWORKS):
        save_figure(draw_validation(results, quick), args.figures / "ch6-validation.png")
        drawn.append(("ch6-validation.png", "ch6: validation accuracy per epoch",
                      "Validation accuracy after each epoch of every chapter-6 network run so far "
                      "(each seed faint, their mean bold); the dot marks each run's best validation "
                      "epoch, where its number (the test accuracy) is taken."))
    ensemble = results.get("ch6-ensemble")
    if ensemble is not None:
        try:
            _, _, test = experiments.load_experiment_data(args.data, ensemble["quick"])
        except DigitsError as error:
            print(f"replicate.py: warning: not redrawing ch6-ensemble-misses.png: {error}", file=sys.stderr)
        else:
            save_figure(draw_misses(ensemble, test), args.figures / "ch6-ensemble-misses.png")
        if (args.figures / "ch6-ensemble-misses.png").exists():
            drawn.append(("ch6-ensemble-misses.png", "ch6-ensemble: the digits it gets wrong",
                          "The test digits the five voting networks get wrong, as the book shows its "
                          "33: MNIST's label above each, the ensemble's answer below in red."))
    return drawn


# -- the report ------------------------------------------------------------------------------------

def write_figures_and_report(args):
    results = {name: report_result(args, name) for name in EXPERIMENTS}
    drawn = []
    for filename, (experiment_id, draw, _) in FIGURES.items():
        result = results[experiment_id]
        if result is None:
            continue
        args.figures.mkdir(parents=True, exist_ok=True)
        save_figure(draw(result), args.figures / filename)
        drawn.append(filename)
    args.figures.mkdir(parents=True, exist_ok=True)
    drawn_chapter6 = chapter6_figures(results, args)
    run_logs = [load_run_log(args.results, name) or load_run_log(args.kept, name)
                for name in (RUN_LOG, RUN_LOG_CHAPTER6)]
    lost = sorted(rows_with_numbers(args.report) & {name for name, result in results.items()
                                                     if result is None})
    if lost:
        print(f"warning: {args.report.name} had numbers for {', '.join(lost)}, whose results are "
              f"not in {args.results} (or {args.kept}); those rows now say not run (`make replicate` "
              f"remakes chapters 1-5; the old report is in git)", file=sys.stderr)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(args.report, report_text(results, drawn, run_logs, args, drawn_chapter6).encode())
    if not args.quiet:
        print(f"Wrote {args.report} and {len(drawn) + len(drawn_chapter6)} figures in {args.figures}",
              file=sys.stderr)


def rows_with_numbers(report) -> set:
    """The experiments whose row in the report at ``report`` (if there is one) has a result."""
    try:
        text = report.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return set()
    found = set()
    for line in text.splitlines():
        cells = line.split(" | ")
        name = cells[0][2:] if line.startswith("| ") else None
        if name in EXPERIMENTS and len(cells) > 3 and not cells[3].startswith("not run"):
            found.add(name)
    return found


def cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def minutes(seconds) -> str:
    return f"{seconds:.0f} s" if seconds < 100 else f"{seconds / 60:.1f} min"


def report_text(results, drawn, run_logs, args, drawn_chapter6=()) -> str:
    done = [result for result in results.values() if result is not None]
    relative_figures = os.path.relpath(args.figures, args.report.parent)
    kept = os.path.relpath(args.kept, args.report.parent)
    lines = ["# Replicating the book", "",
             "Every experiment of chapters 1, 3, 5 and 6 of Michael Nielsen's *Neural Networks and "
             "Deep Learning* (as listed in `book.md`) and chapter 1's SVM baseline, rerun by "
             "`make replicate` (chapters 1-5, about 20 minutes) and `make replicate-ch6` (chapter 6, "
             "hours) (`scripts/replicate.py`; the settings are the table in `scripts/experiments.py`). "
             + (f"This file is generated from the JSON files in `{kept}/`; "
                if same_folder(args.results, args.kept) else
                f"This file is generated from the JSON files in `{kept}/`, kept in git: chapter "
                "6's and the SVM's, whose runs take hours, are saved only there, chapters 1-5's "
                "in `results/` (scratch: what this machine has run) with a copy there; ")
             + "`python scripts/replicate.py --report-only` redraws it.", ""]
    if any(result["quick"] for result in done):
        lines += ["**These are --quick results: tiny training sets and 3 epochs, for testing the "
                  "machinery. The numbers mean nothing.**", ""]
    if done:
        finished = sorted(result["finished"] for result in done)
        lines.append(f"- Ran on: {done[-1]['machine']}.")
        lines.append(f"- When: {finished[0][:16].replace('T', ' ')} to "
                     f"{finished[-1][:16].replace('T', ' ')} UTC.")
    for run_log, what in zip(run_logs, ("chapters 1-5", "chapter 6")):
        if run_log:
            lines += run_log_lines(run_log, what)
    lines += [
        "- Every run is seeded (seeds 1, 2 and 3; the seed fixes the initial weights and the "
        "shuffling); float32 arithmetic; mini-batches of 10; accuracy on the 10,000 test images. "
        "Chapter 6 reports, as the book does, the test accuracy at the epoch of best validation "
        "accuracy; its rows say which seeds have run so far.",
        f"- Verdict: *agrees* when our range over the seeds, widened by {experiments.TOLERANCE} "
        f"percentage points on each side ({experiments.CHAPTER6_TOLERANCE} in chapter 6, whose "
        "steps from one network to the next are a few tenths), contains the book's number (or, "
        "for a behaviour, when every seed shows it); otherwise *differs*, with the reason. Where "
        "the range agrees only thanks to some of its seeds, the verdict says how many seeds on "
        "their own come within the widened distance.",
        "- Time: the seconds of all of an experiment's runs added up, each run on one core "
        "(chapter 6 with the seconds per epoch; two runs side by side each take up to a "
        "quarter longer than one alone).", ""]

    lines += ["## The table", "",
              "| id | the book's setting | the book's number | ours: mean (range over seeds) | time | verdict |",
              "| --- | --- | --- | --- | --- | --- |"]
    agreeing = 0
    for name, experiment in EXPERIMENTS.items():
        result = results[name]
        if result is None:
            lines.append(f"| {name} | {cell(experiment.setting)} | {cell(experiment.published)} | "
                         f"{cell(not_run_text(name))} | | |")
            continue
        agrees, claims = experiments.verdict(result, results)
        agreeing += agrees
        ours = "; ".join(claim.ours for claim in claims)
        if agrees:
            caveats = [f"{claim.book}: {claim.caveat}" for claim in claims if claim.caveat]
            verdict_text = "agrees" + (f" ({'; '.join(caveats)})" if caveats else "")
        else:
            missed = "; ".join(f"not {claim.book}" for claim in claims if not claim.agrees)
            verdict_text = f"**differs**: {missed}" + (f" ({experiment.if_differs})" if experiment.if_differs else "")
        lines.append(f"| {name} | {cell(experiment.setting)} | {cell(experiment.published)} | "
                     f"{cell(ours)}{seeds_text(result)} | {time_text(result)} | {cell(verdict_text)} |")
    lines += ["", f"{agreeing} of {len(done)} experiments run agree with the book.", ""]

    notes = [(name, experiment.note) for name, experiment in EXPERIMENTS.items()
             if experiment.note and results[name] is not None]
    if notes:
        lines += ["## Notes on the numbers", ""]
        lines += [f"- **{name}**: {text}." for name, text in notes]
        lines.append("")

    deviations = [(name, experiment.deviation) for name, experiment in EXPERIMENTS.items()
                  if experiment.deviation]
    lines += ["## Where our settings differ from the book's", ""]
    lines += [f"- **{name}**: {text}." for name, text in deviations]
    lines += [
        "- **all**: float32 instead of the book's float64 (the same accuracies, faster), except "
        "that the monitored costs are summed in float64 (in float32 the cross-entropy of a "
        "saturated output is inf or nan); the library's vectorised mini-batch backpropagation, "
        "the same arithmetic as the book's per-example loop.",
        *CHAPTER6_DEPARTURES,
        "- **not replicated**: chapter 1's well tuned SVM (about 98.5%; the book names no "
        "settings); chapter 2's speed-up of the matrix-based backpropagation is measured by "
        "`make bench`, not here; chapter 3's L1 regularisation, momentum, and tanh and "
        "rectified linear neurons come with no published number to compare with (the library "
        "has them: `--l1`, `--momentum`, `Network(activations=...)`, and `make moons` uses "
        "tanh); chapter 6's variants given in passing (300 and 1,000 neurons in the FC layer, "
        "L2 pooling) have no row.", ""]

    lines += ["## The figures", ""]
    for filename, (experiment_id, _, caption) in FIGURES.items():
        if filename in drawn:
            lines += [f"### {experiment_id}", "", caption, "",
                      f"![{experiment_id}]({relative_figures}/{filename})", ""]
    for filename, heading, caption in drawn_chapter6:
        lines += [f"### {heading}", "", caption, "", f"![{heading}]({relative_figures}/{filename})", ""]
    if "ch6-ensemble-misses.png" not in [entry[0] for entry in drawn_chapter6]:
        lines += ["### ch6-ensemble: the digits it gets wrong", "",
                  "Not drawn yet: the ensemble has not run (it needs the five ch6-dropout networks).", ""]
    return "\n".join(lines)


# Where chapter 6's runs depart from the book's network3.py, whatever the experiment.
CHAPTER6_DEPARTURES = [
    "- **chapter 6, L2**: the library scales the L2 term by the training set's size n "
    "(chapter 3's lambda/n per example); network3.py divides it by the number of mini-batches, "
    "n/10. The same weight decay is therefore lambda = 1.0 here for the book's 0.1.",
    "- **chapter 6, dropout**: inverted dropout: while training, the inputs kept are scaled by "
    "1/(1 - p), and the trained network is used as it is; network3.py scales the weights by "
    "(1 - p) when it evaluates instead. The two give each neuron the same expected input.",
    "- **chapter 6, shuffling**: the training data are reshuffled every epoch (by the seed); "
    "network3.py goes through them in the same order every epoch.",
    "- **chapter 6, the best epoch**: a tie in validation accuracy keeps the earlier epoch; "
    "network3.py takes the later one.",
    "- **chapter 6, arithmetic**: the book trained with Theano on a GPU, we with numpy on a "
    "CPU core per run (float32 both); network3.py's initialisation (weights N(0, 1/n_out), softmax "
    "layer at zero) is kept.",
]


def run_log_lines(run_log, what) -> list:
    """The report's lines about the last run of ``what``."""
    scope = (f"all of {what}" if run_log.get("complete") else plural(len(run_log["experiments"]), "experiment"))
    lines = [f"- Last run of the script for {what}: {scope}, {plural(run_log['runs'], 'training run')}, "
             f"{minutes(run_log['seconds'])} of wall time with {run_log['jobs']} worker "
             f"process{'es' if run_log['jobs'] > 1 else ''} (started "
             f"{run_log['started'][:16].replace('T', ' ')} UTC)."]
    load = run_log.get("load_average_at_end")
    if load:
        lines.append(f"  The load average at its end (1, 5 and 15 minutes) was "
                     f"{', '.join(f'{value:.1f}' for value in load)}; our own workers account for "
                     f"{run_log['jobs']}, anything above that is other work sharing the machine.")
    return lines


def not_run_text(name) -> str:
    """What the table says for an experiment with no result yet."""
    experiment = EXPERIMENTS[name]
    if experiment.needs and experiments.missing_package(name):
        return f"not run: needs {experiment.needs} ({experiments.INSTALL_BASELINES})"
    if experiment.long:
        tasks = experiments.tasks_for(name)
        if tasks[0].settings["kind"] == "ensemble":
            return "not run yet: it votes with the five ch6-dropout networks (seconds, once they exist)"
        return (f"not run yet (about {chapter6.duration(tasks[0].cost)} per seed on one core of an "
                f"idle 2-core machine; `make replicate-ch6`)")
    return "not run yet"


def seeds_text(result) -> str:
    """Which seeds an experiment's number comes from, where that needs saying."""
    planned = result.get("planned_seeds", result["seeds"])
    missing = [seed for seed in planned if seed not in result["seeds"]]
    if missing:
        done = ", ".join(map(str, result["seeds"]))
        return (f" (seed{'s' if len(result['seeds']) > 1 else ''} {done}; "
                f"{', '.join(map(str, missing))} not run yet)")
    return "" if len(result["seeds"]) > 1 else " (one run)"


def time_text(result) -> str:
    per_epoch = [run["seconds_per_epoch"] for variant in result["variants"] for run in variant["runs"]
                 if "seconds_per_epoch" in run]
    if per_epoch:
        return f"{minutes(result['seconds'])} ({float(np.mean(per_epoch)):.1f} s per epoch)"
    return minutes(result["seconds"])


if __name__ == "__main__":
    sys.exit(main())
