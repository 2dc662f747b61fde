"""The report, REPLICATION.md: a Markdown file written from the result files.

Its parts, in order, each made by one function here: the header (:func:`header_lines`:
what was rerun, where the results are, when and on what machine, how to read the
verdicts), the table (:func:`table_lines`, a row per experiment of the table), the notes
on the numbers (:func:`notes_lines`), where our settings differ from the book's
(:func:`departures_lines`) and the figures (:func:`figure_lines`).
:func:`redraw` draws the figures and writes the report.
"""

from __future__ import annotations

import os

import numpy as np

from digits.app.terminal import notice
from digits.replication.chapter6 import duration
from digits.replication.checks import CHAPTER6_TOLERANCE, TOLERANCE
from digits.replication.figures import FIGURES, draw_figures
from digits.replication.kinds import tasks_for
from digits.replication.results import (
    RUN_LOG, RUN_LOG_CHAPTER6, load_run_log, result_for_report, same_folder)
from digits.replication.table import EXPERIMENTS, INSTALL_BASELINES, missing_package, verdict
from digits.system.files import write_atomically


def redraw(args):
    """Draw the figures and write the report from the result files of ``args``' folders."""
    results = {name: result_for_report(args, name) for name in EXPERIMENTS}
    drawn, drawn_chapter6 = draw_figures(results, args)
    run_logs = [load_run_log(args.results, name) or load_run_log(args.git_results, name)
                for name in (RUN_LOG, RUN_LOG_CHAPTER6)]
    lost = sorted(rows_with_numbers(args.report) & {name for name, result in results.items()
                                                     if result is None})
    if lost:
        notice(f"warning: {args.report.name} had numbers for {', '.join(lost)}, whose results are "
               f"not in {args.results} (or {args.git_results}); those rows now say not run (`make "
               f"replicate` remakes chapters 1-5; the old report is in git)")
    args.report.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(args.report, report_text(results, drawn, run_logs, args, drawn_chapter6).encode())
    if not args.quiet:
        notice(f"Wrote {args.report} and {len(drawn) + len(drawn_chapter6)} figures in {args.figures}")


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
    """The whole report: ``drawn`` and ``drawn_chapter6`` are the figures drawn (see
    :func:`digits.replication.figures.draw_figures`), ``run_logs`` the records of the last
    runs of chapters 1-5 and of chapter 6 (or None)."""
    lines = (header_lines(results, run_logs, args) + table_lines(results) + notes_lines(results)
             + departures_lines() + figure_lines(drawn, drawn_chapter6, args))
    return "\n".join(lines)


def header_lines(results, run_logs, args) -> list:
    """What was rerun and where its results are; when and where it ran; how to read it."""
    done = [result for result in results.values() if result is not None]
    git_results = os.path.relpath(args.git_results, args.report.parent)
    lines = ["# Replicating the book", "",
             "Every experiment of chapters 1 to 6 of Michael Nielsen's *Neural Networks and "
             "Deep Learning* (as listed in `book.md`) and chapter 1's SVM baseline, rerun by "
             "`make replicate` (chapters 1-5, about 20 minutes) and `make replicate-ch6` (chapter 6, "
             "hours) (`scripts/replicate.py`; the settings are the table in `digits/replication/table.py`). "
             + (f"This file is generated from the JSON files in `{git_results}/`; "
                if same_folder(args.results, args.git_results) else
                f"This file is generated from the JSON files in `{git_results}/`, kept in git: chapter "
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
    return lines + conventions_lines()


def conventions_lines() -> list:
    """How the runs were made and how a verdict is reached."""
    return [
        "- Every run is seeded (seeds 1, 2 and 3; the seed fixes the initial weights and the "
        "shuffling); float32 arithmetic; mini-batches of 10; accuracy on the 10,000 test images. "
        "Chapter 6 reports, as the book does, the test accuracy at the epoch of best validation "
        "accuracy; its rows say which seeds have run so far.",
        f"- Verdict: *agrees* when our range over the seeds, widened by {TOLERANCE} "
        f"percentage points on each side ({CHAPTER6_TOLERANCE} in chapter 6, whose "
        "steps from one network to the next are a few tenths), contains the book's number (or, "
        "for a behaviour, when every seed shows it); otherwise *differs*, with the reason. Where "
        "the range agrees only thanks to some of its seeds, the verdict says how many seeds on "
        "their own come within the widened distance.",
        "- Time: the seconds of all of an experiment's runs added up, each run on one core "
        "(chapter 6 with the seconds per epoch; two runs side by side each take up to a "
        "quarter longer than one alone).", ""]


def table_lines(results) -> list:
    """The table: a row per experiment, with our numbers and the verdict where it has run."""
    lines = ["## The table", "",
             "| id | the book's setting | the book's number | ours: mean (range over seeds) | time | verdict |",
             "| --- | --- | --- | --- | --- | --- |"]
    agreeing = 0
    for name, experiment in EXPERIMENTS.items():
        result = results[name]
        if result is None:
            lines.append(f"| {name} | {cell(experiment.setting)} | {cell(experiment.published)} | "
                         f"{cell(not_run_text(name))} | | |")
            continue
        agrees, claims = verdict(result, results)
        agreeing += agrees
        ours = "; ".join(claim.ours for claim in claims)
        lines.append(f"| {name} | {cell(experiment.setting)} | {cell(experiment.published)} | "
                     f"{cell(ours)}{seeds_text(result)} | {time_text(result)} | "
                     f"{cell(verdict_text(experiment, agrees, claims))} |")
    done = sum(result is not None for result in results.values())
    return lines + ["", f"{agreeing} of {done} experiments run agree with the book.", ""]


def verdict_text(experiment, agrees, claims) -> str:
    """``agrees`` (with the caveats of its claims), or ``**differs**: not ...`` and why."""
    if agrees:
        caveats = [f"{claim.book}: {claim.caveat}" for claim in claims if claim.caveat]
        return "agrees" + (f" ({'; '.join(caveats)})" if caveats else "")
    missed = "; ".join(f"not {claim.book}" for claim in claims if not claim.agrees)
    return f"**differs**: {missed}" + (f" ({experiment.if_differs})" if experiment.if_differs else "")


def notes_lines(results) -> list:
    """What the numbers of the experiments run do not say by themselves."""
    notes = [(name, experiment.note) for name, experiment in EXPERIMENTS.items()
             if experiment.note and results[name] is not None]
    if not notes:
        return []
    return ["## Notes on the numbers", ""] + [f"- **{name}**: {text}." for name, text in notes] + [""]


def departures_lines() -> list:
    """Where our settings differ from the book's: each row's, then those of every run."""
    deviations = [(name, experiment.deviation) for name, experiment in EXPERIMENTS.items()
                  if experiment.deviation]
    lines = ["## Where our settings differ from the book's", ""]
    lines += [f"- **{name}**: {text}." for name, text in deviations]
    return lines + [
        "- **all**: float32 instead of the book's float64 (the same accuracies, faster), except "
        "that the monitored costs are summed in float64 (in float32 the cross-entropy of a "
        "saturated output is inf or nan); the library's vectorised mini-batch backpropagation, "
        "the same arithmetic as the book's per-example loop.",
        *CHAPTER6_DEPARTURES,
        "- **not replicated**: chapter 1's well tuned SVM (about 98.5%; the book names no "
        "settings); chapter 3's L1 regularisation, momentum, and tanh and "
        "rectified linear neurons come with no published number to compare with (the library "
        "has them: `--l1`, `--momentum`, `Network(activations=...)`, and `make moons` uses "
        "tanh); chapter 6's variants given in passing (300 and 1,000 neurons in the FC layer, "
        "L2 pooling) have no row.", ""]


def figure_lines(drawn, drawn_chapter6, args) -> list:
    """Each figure drawn, under a heading with its caption."""
    relative_figures = os.path.relpath(args.figures, args.report.parent)
    lines = ["## The figures", ""]
    for filename, (experiment_id, _, caption) in FIGURES.items():
        if filename in drawn:
            lines += [f"### {experiment_id}", "", caption, "",
                      f"![{experiment_id}]({relative_figures}/{filename})", ""]
    for filename, heading, caption in drawn_chapter6:
        lines += [f"### {heading}", "", caption, "", f"![{heading}]({relative_figures}/{filename})", ""]
    if "ch6-ensemble-misses.png" not in [entry[0] for entry in drawn_chapter6]:
        lines += ["### ch6-ensemble: the digits it gets wrong", "",
                  "Not drawn yet: the ensemble has not run (it needs the five ch6-dropout networks).", ""]
    return lines


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
    if experiment.needs and missing_package(name):
        return f"not run: needs {experiment.needs} ({INSTALL_BASELINES})"
    if experiment.in_chapter6_target:
        tasks = tasks_for(name)
        if tasks[0].settings["kind"] == "ensemble":
            return "not run yet: it votes with the five ch6-dropout networks (seconds, once they exist)"
        return (f"not run yet (about {duration(tasks[0].estimated_seconds)} per seed on one core of an "
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


def plural(count, noun) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
