"""digits.replication as a package: the committed results still read, one run gives the
same numbers in whichever pool it runs, and a new kind of run is one registration."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from digits.replication import plan
from digits.replication.kinds import KINDS, Kind, RunContext, Task, register_kind, run_task, tasks_for
from digits.replication.results import (
    GIT_RESULTS, RUN_LOG, RUN_LOG_CHAPTER6, load_result, load_run_log)
from digits.replication.table import EXPERIMENTS
from digits.system.errors import UsageError

REPO = Path(__file__).resolve().parent.parent
COMMITTED = sorted((REPO / GIT_RESULTS).glob("*.json"))


@pytest.mark.parametrize("path", COMMITTED, ids=[path.name for path in COMMITTED])
def test_every_committed_result_file_reads(path, capsys):
    if path.name in (RUN_LOG, RUN_LOG_CHAPTER6):
        assert load_run_log(path.parent, path.name) is not None
    else:
        assert path.stem in EXPERIMENTS, f"{path.name} is the result of no experiment of the table"
        result = load_result(path.parent, path.stem)
        assert result is not None and result["id"] == path.stem
    assert capsys.readouterr().err == ""        # no warning: the file is whole


def small_tasks():
    """A baseline and a short seeded training run, at --quick size."""
    ch1 = [task for task in tasks_for("ch1-30", quick=True) if task.seed == 1]
    return tasks_for("baseline-random", quick=True)[:1] + ch1


def run_in(pool, tasks, setup):
    outcomes, messages = {}, []

    def finished(task, outcome=None, error=None):
        assert error is None, error
        outcomes[task.key] = outcome

    try:
        plan.run_tasks(tasks, pool, setup, finished, messages.append)
    finally:
        pool.close()
    for outcome in outcomes.values():
        outcome.pop("seconds")
        outcome.pop("training_seconds", None)
    return outcomes, messages


def test_a_run_gives_the_same_numbers_here_and_in_worker_processes(tmp_path, mnist_data_dir):
    setup = plan.WorkerSetup(str(mnist_data_dir), True, str(tmp_path / "ch6"), str(tmp_path))
    here, here_messages = run_in(plan.ThisProcess(lambda message: None), small_tasks(), setup)
    there, there_messages = run_in(plan.LocalProcesses(2), small_tasks(), setup)
    assert list(here) == [task.key for task in small_tasks()]
    assert there == here            # to the last bit: the histories are lists of counts and floats
    assert there_messages and all(isinstance(message, float) for message in there_messages)
    history = here["ch1-30/-/seed 1"]["history"]["evaluation_accuracy"]
    assert len(history) == 3


def test_a_run_that_fails_is_reported_and_the_others_finish(tmp_path, mnist_data_dir):
    setup = plan.WorkerSetup(str(mnist_data_dir), True, str(tmp_path / "ch6"), str(tmp_path))
    broken = Task("baseline-random", "", 1, {"kind": "no such kind"}, quick=True)
    results = []
    plan.run_tasks([broken] + small_tasks()[:1], plan.ThisProcess(lambda message: None), setup,
                   lambda task, outcome=None, error=None: results.append((task.key, error)),
                   lambda message: None)
    assert [key for key, _ in results] == [broken.key, "baseline-random/-/seed 1"]
    assert "unknown kind of run 'no such kind'" in str(results[0][1]) and results[1][1] is None


def test_a_new_kind_of_run_is_one_registration():
    register_kind("constant", Kind(run=lambda task, context: {"final": 42.0},
                                   estimated_seconds=lambda task: 7.0))
    try:
        task = Task("an-experiment", "", 1, {"kind": "constant"})
        assert task.estimated_seconds == 7.0 and task.epochs_of_work == 0.0
        outcome = run_task(task, RunContext(None, None, None))
        assert outcome["final"] == 42.0 and outcome["seed"] == 1 and outcome["seconds"] >= 0
        with pytest.raises(ValueError, match="already a kind"):
            register_kind("constant", Kind(run=lambda task, context: {}))
    finally:
        KINDS.pop("constant", None)


def test_a_task_of_an_unknown_kind_is_a_clear_error():
    with pytest.raises(UsageError, match="unknown kind of run 'nonsense'"):
        Task("x", "", 1, {"kind": "nonsense"}).estimated_seconds


def sys_path_edits(path) -> list:
    """The lines of ``path`` that change ``sys.path``."""
    tree = ast.parse(path.read_text(), str(path))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr == "path"
            and isinstance(node.value, ast.Name) and node.value.id == "sys"]


@pytest.mark.parametrize("folder", ["scripts", "digits/replication"])
def test_no_script_or_module_of_the_replication_edits_sys_path(folder):
    edits = {str(path.relative_to(REPO)): lines for path in sorted((REPO / folder).glob("*.py"))
             if (lines := sys_path_edits(path))}
    assert not edits


def test_the_replication_tests_import_the_package_not_the_scripts():
    for name in ("test_replicate.py", "test_replicate_ch6.py", "test_bench.py"):
        assert not sys_path_edits(REPO / "tests" / name), name


def test_the_module_and_the_script_are_the_same_command():
    import subprocess
    import sys

    as_module = subprocess.run([sys.executable, "-m", "digits.replication", "--help"],
                               capture_output=True, text=True, cwd=REPO)
    as_script = subprocess.run([sys.executable, str(REPO / "scripts" / "replicate.py"), "--help"],
                               capture_output=True, text=True, cwd=REPO)
    assert as_module.returncode == as_script.returncode == 0, as_module.stderr + as_script.stderr
    assert as_module.stdout == as_script.stdout and "--report-only" in as_module.stdout


class OneThreadPool(plan.Pool):
    """Another executor, as a cluster's would plug in: its own channel for the messages."""

    def __init__(self):
        import queue
        from concurrent.futures import ThreadPoolExecutor

        self.executor = ThreadPoolExecutor(1)
        self.channel = queue.SimpleQueue()
        self.received = []

    def messages(self, timeout):
        import queue

        found = []
        try:
            found.append(self.channel.get(timeout=timeout))
            while True:
                found.append(self.channel.get_nowait())
        except queue.Empty:
            pass
        self.received += found
        return found

    def close(self):
        self.executor.shutdown()


def test_another_executor_plugs_in_and_writes_the_same_results(tmp_path, mnist_data_dir):
    from digits.replication.cli import main

    def replicate(folder, pool=None, *flags):
        return main(["--quick", "--quiet", "--data", str(mnist_data_dir), "--only", "ch1-no-hidden",
                     "--results", str(folder), "--report", str(folder / "REPLICATION.md"),
                     "--figures", str(folder / "figures"), *flags], pool=pool)

    pool = OneThreadPool()
    assert replicate(tmp_path / "pool", pool) == 0
    assert replicate(tmp_path / "here", None, "--jobs", "1") == 0
    ours, theirs = (json.loads((tmp_path / name / "ch1-no-hidden.json").read_text())
                    for name in ("pool", "here"))
    assert [run["history"] for run in ours["variants"][0]["runs"]] == [
        run["history"] for run in theirs["variants"][0]["runs"]]
    assert pool.received and sum(pool.received) == pytest.approx(
        sum(task.epochs_of_work for task in tasks_for("ch1-no-hidden", quick=True)))
