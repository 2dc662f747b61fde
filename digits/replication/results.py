"""Result files: one JSON file per experiment, read, checked and written atomically.

``results/<id>.json`` holds what has run on this machine (scratch, ignored by git); the
folder kept in git, ``replication/``, holds a copy of each, and is the only home of the
results saved run by run (chapter 6's and the SVM's, which take hours), so that the
report can be redrawn on any clone.  A result is::

    {"id", "chapter", "setting", "published", "deviation", "quick", "seeds",
     "variants": [{"name", "settings", "runs": [{"seed", "seconds", ...numbers}]}],
     "seconds", "finished", "machine", "jobs"}       (+ "planned_seeds" when saved run by run)

and the record of the last run of the runner (:data:`RUN_LOG`, :data:`RUN_LOG_CHAPTER6`)
says when it ran and for how long.  The folders are those of the command line's
``args``: ``args.results`` and ``args.git_results``.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from digits.app.terminal import notice
from digits.replication.table import EXPERIMENTS, verdict
from digits.system.files import write_atomically

# The checkout this package lives in: the default home of data/, results/ and the report.
REPOSITORY = Path(__file__).resolve().parents[2]
# The results kept in git, beside the code that made them; results/ is scratch.
GIT_RESULTS = "replication"
RUN_LOG = "replicate-run.json"     # in the results folder: when and how long the last run took
RUN_LOG_CHAPTER6 = "replicate-run-ch6.json"     # the same for the last run of chapter 6


def result_path(results, experiment_id) -> Path:
    return Path(results) / f"{experiment_id}.json"


def save_json(path, data):
    write_atomically(path, (json.dumps(data, indent=1) + "\n").encode())


def load_result(results, experiment_id):
    """The saved result of one experiment in the folder ``results``, or None if there is none.

    A file that is not a result this package wrote (unreadable, not JSON, another
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
    notice(f"replicate.py: warning: ignoring {path}: {problem}")
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
        verdict(result)
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


def same_folder(one, other) -> bool:
    return Path(one).resolve() == Path(other).resolve()


def folder_of(args, experiment_id) -> Path:
    """Where the result of ``experiment_id`` is saved: kept in git, or in results/."""
    return args.git_results if EXPERIMENTS[experiment_id].saved_run_by_run else args.results


def result_for_report(args, experiment_id):
    """The result the report shows: this machine's (results/), or else the copy kept in git."""
    folder = folder_of(args, experiment_id)
    result = load_result(folder, experiment_id)
    if result is None and not same_folder(folder, args.git_results):
        result = load_result(args.git_results, experiment_id)
    return result


def save_with_copy(args, name, data):
    """Save ``data`` as results/``name`` and, so that a clone can redraw the report, in the
    folder kept in git (one file where the two are the same folder, as with --quick)."""
    save_json(args.results / name, data)
    if not same_folder(args.results, args.git_results):
        args.git_results.mkdir(parents=True, exist_ok=True)
        save_json(args.git_results / name, data)


def plain(value):
    """``value`` as it comes back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


def is_done(result, tasks, quick) -> bool:
    """Whether a saved result ran exactly these tasks' settings and seeds, at this size."""
    if result is None or result.get("quick") != quick:
        return False
    wanted = {(task.variant, task.seed): plain(task.settings) for task in tasks}
    return runs_done(result, quick) == wanted


def runs_done(result, quick) -> dict:
    """(variant, seed) -> settings of each run a saved result holds, at this size."""
    if result is None or result.get("quick") != quick:
        return {}
    return {(variant["name"], run["seed"]): variant["settings"]
            for variant in result.get("variants", []) for run in variant.get("runs", [])}


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


def experiment_header(experiment) -> dict:
    """The fields of a result that come from the table's row."""
    return {"id": experiment.id, "chapter": experiment.chapter, "setting": experiment.setting,
            "published": experiment.published, "deviation": experiment.deviation}


def assemble(experiment_id, tasks, outcomes, quick, jobs) -> dict:
    """The result of one finished experiment saved whole, from its tasks and their numbers."""
    experiment = EXPERIMENTS[experiment_id]
    variants = []
    for name in experiment.variants:
        chosen = [task for task in tasks if task.variant == name]
        variants.append({"name": name, "settings": chosen[0].settings,
                         "runs": [outcomes[task.key] for task in chosen]})
    return {**experiment_header(experiment),
            "quick": quick, "seeds": list(experiment.seeds), "variants": variants,
            "seconds": sum(outcomes[task.key]["seconds"] for task in tasks),
            "finished": now(), "machine": machine(), "jobs": jobs}


def save_run_in_git(args, task, outcome, table_settings):
    """Add one finished run to its experiment's result kept in git (replacing an older run
    of the same variant and seed, and dropping runs of settings the table no longer has:
    ``table_settings`` maps each variant to its settings at the task's size)."""
    experiment = EXPERIMENTS[task.experiment]
    saved = load_result(args.git_results, task.experiment)
    if saved is None or saved.get("quick") != task.quick:
        saved = {"variants": []}
    variants = []
    for name in experiment.variants:
        table = plain(table_settings[name])
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
    save_json(result_path(args.git_results, task.experiment), {
        **experiment_header(experiment),
        "quick": task.quick, "seeds": seeds, "planned_seeds": list(experiment.seeds),
        "variants": variants,
        "seconds": sum(run["seconds"] for variant in variants for run in variant["runs"]),
        "finished": now(), "machine": machine(), "jobs": args.jobs})
