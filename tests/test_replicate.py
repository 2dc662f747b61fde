"""`make replicate`: scripts/replicate.py (digits.replication.cli) and the experiment table
in digits/replication/table.py.

The end-to-end tests run the real script on the real MNIST files with ``--quick``
(every experiment at a tiny size), into temporary folders.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from digits.nn.dataset import DataSet

from digits.replication.baselines import average_darkness, darkness_averages
from digits.replication.checks import contains
from digits.replication.table import EXPERIMENTS, missing_package

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "replicate.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def replicate(tmp_path, data_dir, *args):
    """Run scripts/replicate.py --quick with every output inside ``tmp_path``."""
    command = [sys.executable, str(SCRIPT), "--quick", "--quiet", "--data", str(data_dir),
               "--results", str(tmp_path / "results"), "--report", str(tmp_path / "REPLICATION.md"),
               "--figures", str(tmp_path / "figures"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def saved(tmp_path):
    return sorted(path.stem for path in (tmp_path / "results").glob("*.json")
                  if path.name != "replicate-run.json")


def test_quick_run_saves_every_experiment_and_writes_the_report_and_figures(tmp_path, mnist_data_dir):
    done = replicate(tmp_path, mnist_data_dir, "--jobs", "2")
    assert done.returncode == 0, done.stderr
    # Chapters 1-5; chapter 6 is make replicate-ch6, and the SVM needs scikit-learn.
    quick_ones = [name for name, experiment in EXPERIMENTS.items() if not experiment.in_chapter6_target
                  and not missing_package(name)]
    assert saved(tmp_path) == sorted(quick_ones)
    for name in quick_ones:
        result = json.loads((tmp_path / "results" / f"{name}.json").read_text())
        assert result["id"] == name and result["quick"] is True
        assert all(len(variant["runs"]) == len(result["seeds"]) for variant in result["variants"])
    report = (tmp_path / "REPLICATION.md").read_text()
    for name in EXPERIMENTS:
        assert f"| {name} |" in report
    figures = sorted((tmp_path / "figures").glob("*.png"))
    assert [path.name for path in figures] == sorted(
        ["ch3-overfit.png", "ch3-l2-1000.png", "ch3-eta.png", "ch3-init.png",
         "ch3-more-data.png", "ch4-towers.png", "ch4-universality.png", "ch5-learning-speed.png"])
    assert all(path.read_bytes().startswith(PNG_SIGNATURE) for path in figures)
    for path in figures:
        assert f"(figures/{path.name})" in report


def test_a_run_records_seeds_and_per_epoch_history(tmp_path, mnist_data_dir):
    done = replicate(tmp_path, mnist_data_dir, "--jobs", "1", "--only", "ch1-30")
    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "results" / "ch1-30.json").read_text())
    (variant,) = result["variants"]
    assert variant["settings"]["eta"] == 3.0 and variant["settings"]["cost"] == "quadratic"
    assert [run["seed"] for run in variant["runs"]] == [1, 2, 3]
    for run in variant["runs"]:
        accuracies = run["history"]["evaluation_accuracy"]
        assert len(accuracies) == run["epochs_run"] == variant["settings"]["epochs"]
        assert run["best"] == pytest.approx(100 * max(accuracies) / run["n_test"])
        assert run["final"] == pytest.approx(100 * accuracies[-1] / run["n_test"])


def test_only_runs_the_named_experiments(tmp_path, mnist_data_dir):
    done = replicate(tmp_path, mnist_data_dir, "--jobs", "1", "--only", "baseline-random", "ch1-no-hidden")
    assert done.returncode == 0, done.stderr
    assert saved(tmp_path) == ["baseline-random", "ch1-no-hidden"]
    report = (tmp_path / "REPLICATION.md").read_text()
    assert "| ch3-overfit |" in report and "not run yet" in report


def test_the_report_counts_the_last_run_in_words_that_agree(tmp_path, mnist_data_dir):
    done = replicate(tmp_path, mnist_data_dir, "--jobs", "1", "--only", "baseline-darkness")
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "REPLICATION.md").read_text()
    assert "- Last run of the script for chapters 1-5: 1 experiment, 1 training run, " in report


def test_a_finished_experiment_is_not_rerun_without_force(tmp_path, mnist_data_dir):
    assert replicate(tmp_path, mnist_data_dir, "--jobs", "1", "--only", "baseline-random").returncode == 0
    path = tmp_path / "results" / "baseline-random.json"
    result = json.loads(path.read_text())
    result["finished"] = "marker left by the test"
    path.write_text(json.dumps(result))

    again = replicate(tmp_path, mnist_data_dir, "--jobs", "1", "--only", "baseline-random")
    assert again.returncode == 0, again.stderr
    assert json.loads(path.read_text())["finished"] == "marker left by the test"

    forced = replicate(tmp_path, mnist_data_dir, "--jobs", "1", "--only", "baseline-random", "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads(path.read_text())["finished"] != "marker left by the test"


def test_a_result_with_other_settings_is_rerun(tmp_path, mnist_data_dir):
    assert replicate(tmp_path, mnist_data_dir, "--jobs", "1", "--only", "ch1-no-hidden").returncode == 0
    path = tmp_path / "results" / "ch1-no-hidden.json"
    result = json.loads(path.read_text())
    result["variants"][0]["settings"]["eta"] = 1.0       # as if the table had changed since
    result["finished"] = "stale"
    path.write_text(json.dumps(result))
    assert replicate(tmp_path, mnist_data_dir, "--jobs", "1", "--only", "ch1-no-hidden").returncode == 0
    result = json.loads(path.read_text())
    assert result["finished"] != "stale" and result["variants"][0]["settings"]["eta"] == 3.0


@pytest.mark.parametrize("content", ["{not json", "[]", '{"quick": true, "variants": 5}', "{}",
                                     '{"id": "baseline-random", "quick": true, "variants": []}'])
def test_a_broken_result_file_is_named_and_rerun(tmp_path, mnist_data_dir, content):
    (tmp_path / "results").mkdir()
    path = tmp_path / "results" / "baseline-random.json"
    path.write_text(content)
    done = replicate(tmp_path, mnist_data_dir, "--jobs", "1", "--only", "baseline-random")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [f"replicate.py: warning: ignoring {path}: "
                                        + done.stderr.split(f"{path}: ", 1)[1].strip()]
    assert json.loads(path.read_text())["id"] == "baseline-random"      # rerun and whole again


def test_the_report_shows_a_broken_result_as_not_run(tmp_path, mnist_data_dir):
    assert replicate(tmp_path, mnist_data_dir, "--jobs", "1", "--only", "baseline-random").returncode == 0
    path = tmp_path / "results" / "baseline-random.json"
    path.write_text('{"id": "baseline-random"}')
    done = replicate(tmp_path, mnist_data_dir, "--report-only")
    assert done.returncode == 0, done.stderr
    assert "warning: ignoring" in done.stderr and "Traceback" not in done.stderr
    assert "| baseline-random |" in (report := (tmp_path / "REPLICATION.md").read_text())
    assert "not run yet" in report.split("| baseline-random |", 1)[1].splitlines()[0]


@pytest.mark.parametrize("arguments, message", [(["--jobs", "0"], "--jobs must be at least 1"),
                                                (["--jobs", "abc"], "invalid int value")])
def test_nonsense_jobs_is_a_one_line_error(tmp_path, mnist_data_dir, arguments, message):
    done = replicate(tmp_path, mnist_data_dir, *arguments)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr


def test_an_unknown_experiment_is_a_one_line_error(tmp_path, mnist_data_dir):
    done = replicate(tmp_path, mnist_data_dir, "--only", "ch9-nonsense")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        done.stderr.strip()] and "unknown experiment ch9-nonsense" in done.stderr
    assert not (tmp_path / "results").exists()


def test_missing_mnist_is_a_one_line_error(tmp_path):
    done = replicate(tmp_path, tmp_path / "nowhere", "--only", "ch1-30", "--no-download")
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and "MNIST not found" in done.stderr


def test_average_darkness_guesses_the_digit_of_nearest_mean_darkness():
    # Digit 0 is drawn with 1 unit of ink, digit 1 with 3 and digit 2 with 6 (on average).
    training = DataSet(np.array([[0.5, 0.5], [0.5, 0.5], [1.0, 2.0], [2.0, 1.0], [3.0, 3.0]],
                                dtype=np.float32), np.array([0, 0, 1, 1, 2]), n_out=3)
    assert darkness_averages(training).tolist() == [1.0, 3.0, 6.0]
    # Darkness 1.5 is nearest 1 (digit 0); 4 is nearest 3 (digit 1); 5 nearest 6 (digit 2).
    test = DataSet(np.array([[1.0, 0.5], [2.0, 2.0], [2.5, 2.5]], dtype=np.float32),
                   np.array([0, 2, 2]), n_out=3)
    assert average_darkness(training, test) == 2


def test_the_verdict_widens_our_range_by_half_a_point():
    assert contains([94.0, 94.9], 95.4)
    assert not contains([94.0, 94.9], 95.5)
    assert contains([94.0, 94.9], 93.5)


def test_the_table_covers_every_experiment_of_the_book():
    ids = {"ch1-30", "ch1-100", "ch1-eta-small", "ch1-eta-large", "ch1-no-hidden", "ch3-ce-30",
           "ch3-ce-100", "ch3-overfit", "ch3-l2-1000", "ch3-l2-30", "ch3-l2-100", "ch3-l2-100-long",
           "ch3-init", "ch3-eta", "ch3-more-data", "ch3-early-stop", "ch3-schedule"}
    assert ids <= set(EXPERIMENTS)
    assert {"baseline-random", "baseline-darkness", "ch3-expanded", "ch5-speed"} <= set(EXPERIMENTS)
    assert {"ch1-svm", "ch6-fc", "ch6-conv1", "ch6-conv2", "ch6-relu", "ch6-expanded", "ch6-extra-fc",
            "ch6-dropout", "ch6-ensemble"} <= set(EXPERIMENTS)
    assert {"ch2-backprop-speed", "ch2-matrix", "ch4-construction", "ch4-trained"} <= set(EXPERIMENTS)
    # One run where a run is deterministic (or is the vote of other runs, or a timing), or takes hours.
    single = {"baseline-darkness", "ch1-svm", "ch6-expanded", "ch6-extra-fc", "ch6-ensemble",
              "ch2-backprop-speed", "ch2-matrix", "ch4-construction"}
    for name, experiment in EXPERIMENTS.items():
        assert len(experiment.seeds) >= 3 or name in single, name


def test_a_report_redrawn_without_results_it_had_says_which_rows_it_lost(tmp_path, mnist_data_dir):
    # results/ is scratch: a report redrawn on a clone (or after make clean) without the
    # chapters 1-5 results turns their rows into "not run yet"; the runner says so.
    done = replicate(tmp_path, mnist_data_dir, "--only", "baseline-random", "baseline-darkness")
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    (tmp_path / "results" / "baseline-random.json").unlink()
    again = replicate(tmp_path, mnist_data_dir, "--report-only")
    assert again.returncode == 0, again.stderr
    (warning,) = [line for line in again.stderr.splitlines() if line.startswith("warning:")]
    assert "had numbers for baseline-random," in warning and "make replicate" in warning
    report = (tmp_path / "REPLICATION.md").read_text()
    assert report.split("| baseline-random |", 1)[1].splitlines()[0].split(" | ")[2] == "not run yet"


def test_chapters_1_to_5_keep_a_copy_so_that_a_clone_redraws_the_same_report(tmp_path, mnist_data_dir):
    # results/ is scratch; each finished experiment (and the run's log) also goes to the
    # folder kept in git, from which a clone with no results/ redraws the same report.
    kept = tmp_path / "kept"
    done = replicate(tmp_path, mnist_data_dir, "--kept", str(kept),
                     "--only", "baseline-random", "baseline-darkness")
    assert done.returncode == 0, done.stderr
    for name in ("baseline-random.json", "baseline-darkness.json", "replicate-run.json"):
        assert (kept / name).read_bytes() == (tmp_path / "results" / name).read_bytes()
    report = (tmp_path / "REPLICATION.md").read_text()
    assert "| baseline-random | " in report and "Last run of the script for chapters 1-5" in report

    shutil.rmtree(tmp_path / "results")
    again = replicate(tmp_path, mnist_data_dir, "--kept", str(kept), "--report-only")
    assert again.returncode == 0, again.stderr
    assert "warning" not in again.stderr
    assert (tmp_path / "REPLICATION.md").read_text() == report

    # What has run on this machine is results/ alone: the copies do not stop a run.
    third = replicate(tmp_path, mnist_data_dir, "--kept", str(kept), "--only", "baseline-random")
    assert third.returncode == 0, third.stderr
    assert (tmp_path / "results" / "baseline-random.json").exists()


def test_a_broken_kept_result_is_named_once(tmp_path, mnist_data_dir):
    # Chapter 6's results live only in the kept folder: the report reads them there once,
    # and does not look for them a second time (nor warn twice) as a copy.
    kept = tmp_path / "kept"
    kept.mkdir()
    path = kept / "ch6-fc.json"
    path.write_text("{not json")
    done = replicate(tmp_path, mnist_data_dir, "--kept", str(kept), "--report-only")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(f"warning: ignoring {path}: not JSON") == 1, done.stderr
    assert path.read_text() == "{not json"
