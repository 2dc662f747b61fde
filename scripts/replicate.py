#!/usr/bin/env python
"""Replicate the book's experiments: ``make replicate`` (or ``python scripts/replicate.py``).

Runs every experiment of ``EXPERIMENTS`` in ``scripts/experiments.py`` (chapters 1, 3 and 5 of
the book, the chapter-1 baselines and the expanded training data), each variant with
three seeds, spreading the runs over the cores.  Each finished experiment is saved as
``results/<id>.json`` (settings, seeds, per-epoch histories, final and best numbers)
and is not rerun unless ``--force``.  Then the figures (``docs/replication/*.png``)
and the report (``REPLICATION.md``) are drawn from those JSON files.

    python scripts/replicate.py                    # everything not yet done, then the report
    python scripts/replicate.py --only ch1-30 ch3-eta --force
    python scripts/replicate.py --report-only      # redraw figures and report from results/
    python scripts/replicate.py --quick            # every experiment at a tiny size, in seconds

``--quick`` keeps its own results, report and figures under ``results/quick/``, so it
never overwrites the real ones.
"""

from __future__ import annotations

import argparse
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

import experiments  # noqa: E402  (scripts/experiments.py, beside this file)
from digits.cli import ArgumentParser, exit_status  # noqa: E402
from digits.commands.download import add_data_arguments, load_mnist  # noqa: E402
from digits.errors import DigitsError, UsageError  # noqa: E402
from experiments import EXPERIMENTS  # noqa: E402
from digits.files import write_atomically  # noqa: E402

RUN_LOG = "replicate-run.json"     # in the results folder: when and how long the last run took


# -- the command line --------------------------------------------------------------------------

def build_parser():
    parser = ArgumentParser(
        prog="replicate.py", description="Rerun the book's experiments and write REPLICATION.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
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
    return parser


def resolve_paths(args):
    """Fill in the default folders; --quick gets its own, beside the real results."""
    results = args.results or (REPO / "results" / ("quick" if args.quick else ""))
    args.results = results
    args.report = args.report or (results / "REPLICATION.md" if args.quick else REPO / "REPLICATION.md")
    args.figures = args.figures or (results / "figures" if args.quick else REPO / "docs" / "replication")


def check_arguments(args):
    unknown = [name for name in args.only or () if name not in EXPERIMENTS]
    if unknown:
        raise UsageError(f"unknown experiment {', '.join(unknown)}; choose from {', '.join(EXPERIMENTS)}")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.report_only and (args.only or args.force):
        raise UsageError("--report-only runs nothing, so --only and --force make no sense with it")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    resolve_paths(args)
    return exit_status(lambda: replicate(args), "replicate.py",
                       interrupted="interrupted; the experiments that finished are saved")


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


def load_run_log(results):
    """The record of the last run (``RUN_LOG``), or None if it is missing or unusable."""
    try:
        log = json.loads((Path(results) / RUN_LOG).read_text())
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

    chosen = args.only or list(EXPERIMENTS)
    plan = {}
    for experiment_id in chosen:
        tasks = experiments.tasks_for(experiment_id, quick=args.quick)
        if not args.force and is_done(load_result(args.results, experiment_id), tasks, args.quick):
            continue
        plan[experiment_id] = tasks
    skipped = [name for name in chosen if name not in plan]
    if skipped and not args.quiet:
        print(f"Already done (rerun with --force): {', '.join(skipped)}", file=sys.stderr)
    if not plan:
        return 0
    args.results.mkdir(parents=True, exist_ok=True)
    load_mnist(args)    # fetch MNIST if it is missing, or fail early, in one line

    # The most expensive experiments first, and within them the longest runs, so that
    # the cores finish together and the cheap runs fill the gaps at the end.
    order = sorted(plan, key=lambda name: -sum(task.cost for task in plan[name]))
    ordered = [task for name in order for task in sorted(plan[name], key=lambda t: -t.cost)]
    remaining = {name: len(tasks) for name, tasks in plan.items()}
    outcomes, failures = {}, []
    started, wall = now(), time.perf_counter()

    experiment_bar = tqdm(total=len(plan), desc="experiments", unit="exp", position=0,
                          disable=args.quiet or None, file=sys.stderr)
    epoch_bar = tqdm(total=round(sum(task.work for task in ordered), 1), position=1,
                     desc="epochs (of 50,000 images)", unit="epoch", disable=args.quiet or None,
                     file=sys.stderr, bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} [{elapsed}<{remaining}]")

    def finished(task, outcome=None, error=None):
        if error is not None:
            failures.append(f"{task.key}: {error}")
        else:
            outcomes[task.key] = outcome
        remaining[task.experiment] -= 1
        if remaining[task.experiment] == 0:
            tasks = plan[task.experiment]
            if all(t.key in outcomes for t in tasks):
                save_json(result_path(args.results, task.experiment),
                          assemble(task.experiment, tasks, outcomes, args.quick, args.jobs))
            experiment_bar.update(1)
            experiment_bar.set_postfix_str(task.experiment)

    try:
        if args.jobs == 1:
            run_here(ordered, args, epoch_bar, finished)
        else:
            run_in_workers(ordered, args, epoch_bar, finished)
    finally:
        epoch_bar.close()
        experiment_bar.close()
    elapsed = time.perf_counter() - wall
    save_json(args.results / RUN_LOG, {
        "started": started, "finished": now(), "seconds": elapsed, "jobs": args.jobs,
        "experiments": order, "runs": len(ordered), "machine": machine(), "quick": args.quick,
        "load_average_at_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "complete": len(plan) == len(EXPERIMENTS)})
    if not args.quiet:
        print(f"Ran {len(ordered)} runs of {len(plan)} experiments in {elapsed / 60:.1f} min "
              f"with {args.jobs} worker{'s' if args.jobs > 1 else ''}", file=sys.stderr)
    for failure in failures:
        print(f"replicate.py: failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


def run_here(tasks, args, epoch_bar, finished):
    """--jobs 1: every task in this process, one after another."""
    data = experiments.load_experiment_data(args.data, args.quick)
    expanded = {}
    for task in tasks:
        outcome = experiments.run_task(task, data, expanded, progress=epoch_bar.update)
        finished(task, outcome)


def run_in_workers(tasks, args, epoch_bar, finished):
    """Run the tasks in ``args.jobs`` spawned worker processes, longest first."""
    context = multiprocessing.get_context("spawn")
    progress = context.Queue()
    with one_blas_thread():
        pool = context.Pool(args.jobs, initializer=experiments.worker_init,
                            initargs=(progress, str(args.data), args.quick))
    try:
        pending = [(task, pool.apply_async(experiments.worker_run, (task,))) for task in tasks]
        while pending:
            try:
                epoch_bar.update(progress.get(timeout=0.2))
                while True:
                    epoch_bar.update(progress.get_nowait())
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


# -- the report ------------------------------------------------------------------------------------

def write_figures_and_report(args):
    results = {name: load_result(args.results, name) for name in EXPERIMENTS}
    drawn = []
    for filename, (experiment_id, draw, _) in FIGURES.items():
        result = results[experiment_id]
        if result is None:
            continue
        args.figures.mkdir(parents=True, exist_ok=True)
        save_figure(draw(result), args.figures / filename)
        drawn.append(filename)
    run_log = load_run_log(args.results)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(args.report, report_text(results, drawn, run_log, args).encode())
    if not args.quiet:
        print(f"Wrote {args.report} and {len(drawn)} figures in {args.figures}", file=sys.stderr)


def cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def minutes(seconds) -> str:
    return f"{seconds:.0f} s" if seconds < 100 else f"{seconds / 60:.1f} min"


def report_text(results, drawn, run_log, args) -> str:
    done = [result for result in results.values() if result is not None]
    relative_figures = os.path.relpath(args.figures, args.report.parent)
    lines = ["# Replicating the book", "",
             "Every experiment of chapters 1, 3 and 5 of Michael Nielsen's *Neural Networks and Deep "
             "Learning* (as listed in `book.md`), rerun by `make replicate` "
             "(`scripts/replicate.py`; the settings are the table in `scripts/experiments.py`). "
             "This file is generated from the JSON files in `results/`; "
             "`python scripts/replicate.py --report-only` redraws it.", ""]
    if any(result["quick"] for result in done):
        lines += ["**These are --quick results: tiny training sets and 3 epochs, for testing the "
                  "machinery. The numbers mean nothing.**", ""]
    if done:
        finished = sorted(result["finished"] for result in done)
        lines.append(f"- Ran on: {done[-1]['machine']}.")
        lines.append(f"- When: {finished[0][:16].replace('T', ' ')} to "
                     f"{finished[-1][:16].replace('T', ' ')} UTC.")
    if run_log:
        scope = ("all experiments" if run_log.get("complete")
                 else f"{len(run_log['experiments'])} experiments")
        lines.append(f"- Last run of the script: {scope}, {run_log['runs']} training runs, "
                     f"{minutes(run_log['seconds'])} of wall time with {run_log['jobs']} worker "
                     f"processes (started {run_log['started'][:16].replace('T', ' ')} UTC).")
        load = run_log.get("load_average_at_end")
        if load:
            lines.append(f"  The load average at its end (1, 5 and 15 minutes) was "
                         f"{', '.join(f'{value:.1f}' for value in load)}; our own workers account for "
                         f"{run_log['jobs']}, anything above that is other work sharing the machine.")
    lines += [
        "- Every run is seeded (seeds 1, 2 and 3; the seed fixes the initial weights and the "
        "shuffling); float32 arithmetic; mini-batches of 10; accuracy on the 10,000 test images.",
        f"- Verdict: *agrees* when our range over the seeds, widened by {experiments.TOLERANCE} "
        "percentage points on each side, contains the book's number (or, for a behaviour, when "
        "every seed shows it); otherwise *differs*, with the reason. Where the range agrees only "
        "thanks to some of its seeds, the verdict says how many seeds on their own come within "
        "the widened distance.",
        "- Time: the seconds of all of an experiment's runs added up, each run on one core.", ""]

    lines += ["## The table", "",
              "| id | the book's setting | the book's number | ours: mean (range over seeds) | time | verdict |",
              "| --- | --- | --- | --- | --- | --- |"]
    agreeing = 0
    for name, experiment in EXPERIMENTS.items():
        result = results[name]
        if result is None:
            lines.append(f"| {name} | {cell(experiment.setting)} | {cell(experiment.published)} | "
                         f"not run yet | | |")
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
        seeds = "" if len(result["seeds"]) > 1 else " (one run)"
        lines.append(f"| {name} | {cell(experiment.setting)} | {cell(experiment.published)} | "
                     f"{cell(ours)}{seeds} | {minutes(result['seconds'])} | {cell(verdict_text)} |")
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
        "- **not replicated**: the SVM baselines of chapter 1 (94.35% with default settings, "
        "about 98.5% tuned) need scikit-learn, which is not a dependency; chapter 2's speed-up of "
        "the matrix-based backpropagation is measured by `make bench`, not here; chapter 3's "
        "L1 regularisation, momentum, and tanh and rectified linear neurons come with no "
        "published number to compare with (the library has them: `--l1`, `--momentum`, "
        "`Network(activations=...)`, and `make moons` uses tanh), and dropout is not "
        "implemented; chapter 6 (convolutional networks, Theano) is outside this project's "
        "scope.", ""]

    lines += ["## The figures", ""]
    for filename, (experiment_id, _, caption) in FIGURES.items():
        if filename in drawn:
            lines += [f"### {experiment_id}", "", caption, "",
                      f"![{experiment_id}]({relative_figures}/{filename})", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
