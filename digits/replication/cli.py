"""The command line of the replication: ``make replicate``, ``make replicate-ch6``.

``python -m digits.replication`` (or ``python scripts/replicate.py``) runs every experiment
of the table (:mod:`digits.replication.table`) not yet done, chapters 1, 3 and 5 by
default, each variant with its seeds, spread over the cores; then it redraws the figures
(``docs/replication/*.png``) and the report (``REPLICATION.md``) from the result files.

Chapter 6 (``--chapter6``, ``make replicate-ch6``) takes hours: a run on each core
(``--jobs``), each keeping a checkpoint after every epoch in ``results/ch6/`` and going on
from it when started again, and each finished run added at once to
``replication/<id>.json``, which is kept in git (so is the SVM baseline's, ``ch1-svm``,
which needs the optional scikit-learn).  Chapters 1-5's results get a copy there too, so
that the report can be redrawn on a clone whose ``results/`` is empty.

    python scripts/replicate.py                    # everything not yet done, then the report
    python scripts/replicate.py --only ch1-30 ch3-eta --force
    python scripts/replicate.py --report-only      # redraw figures and report from results/
    python scripts/replicate.py --quick            # every experiment at a tiny size, in seconds
    python scripts/replicate.py --chapter6 --seeds 1   # chapter 6's first seeds

``--quick`` keeps its own results, report and figures under ``results/quick/``, so it
never overwrites the real ones.
"""

from __future__ import annotations

import os
from pathlib import Path

from digits.app.cli import ArgumentParser, HelpFormatter, exit_status
from digits.app.mnist_flags import add_data_arguments
from digits.app.terminal import notice
from digits.replication import cluster
from digits.replication.plan import chosen_experiments, run_experiments
from digits.replication.report import redraw
from digits.replication.results import GIT_RESULTS, REPOSITORY
from digits.replication.table import EXPERIMENTS
from digits.system.errors import UsageError


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
    add_data_arguments(parser, default=REPOSITORY / "data" / "mnist")
    parser.add_argument("--results", type=Path, default=None, metavar="DIR",
                        help="where the JSON files go (default results/, or results/quick/)")
    parser.add_argument("--report", type=Path, default=None, metavar="PATH",
                        help="the report to write (default REPLICATION.md, or results/quick/REPLICATION.md)")
    parser.add_argument("--figures", type=Path, default=None, metavar="DIR",
                        help="where the PNG figures go (default docs/replication/, or results/quick/figures/)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_chapter6_arguments(parser)
    cluster.add_cluster_arguments(parser)
    return parser


def add_chapter6_arguments(parser):
    hours = parser.add_argument_group(
        "chapter 6 (hours; make replicate-ch6)",
        "Chapter 6's runs and the SVM are saved one by one, as each finishes, into the results "
        "kept in git; chapter 6's keep a checkpoint after every epoch and go on from it.")
    hours.add_argument("--chapter6", action="store_true",
                       help="run chapter 6's experiments instead of chapters 1-5 (with --only, any "
                            "experiment can be named)")
    hours.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                       help="run only these seeds of chapter 6's experiments (default: every seed "
                            "in the table)")
    hours.add_argument("--kept", dest="git_results", type=Path, default=None, metavar="DIR",
                       help="where the results kept in git go (default replication/, or the "
                            "--results folder with --quick)")
    hours.add_argument("--store", type=Path, default=None, metavar="DIR",
                       help="where chapter 6's checkpoints and trained networks go (default "
                            "ch6/ in the --results folder; git ignores it)")


def resolve_paths(args):
    """Fill in the default folders; --quick gets its own, beside the real results."""
    chosen_results = args.results
    results = chosen_results or (REPOSITORY / "results" / ("quick" if args.quick else ""))
    args.results = results
    # The results kept in git have their own folder; a --quick run or one told where its
    # results go keeps them there too, so that it never touches the real ones.
    args.git_results = args.git_results or (
        results if args.quick or chosen_results else REPOSITORY / GIT_RESULTS)
    args.store = args.store or results / "ch6"
    args.report = args.report or (
        results / "REPLICATION.md" if args.quick else REPOSITORY / "REPLICATION.md")
    args.figures = args.figures or (
        results / "figures" if args.quick else REPOSITORY / "docs" / "replication")


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
        check_seeds(args)
    cluster.check_cluster_arguments(args)


def check_seeds(args):
    """--seeds names seeds of the chosen experiments, all of them saved run by run."""
    whole = [name for name in chosen_experiments(args) if not EXPERIMENTS[name].saved_run_by_run]
    if whole:
        raise UsageError(f"--seeds is for chapter 6's experiments, which are saved run by run; "
                         f"{', '.join(whole)} {'is' if len(whole) == 1 else 'are'} saved whole")
    table_seeds = {seed for name in chosen_experiments(args) for seed in EXPERIMENTS[name].seeds}
    unknown_seeds = sorted(set(args.seeds) - table_seeds)
    if unknown_seeds:
        raise UsageError(f"no experiment chosen has seed {', '.join(map(str, unknown_seeds))}; "
                         f"their seeds are {', '.join(map(str, sorted(table_seeds)))}")


def main(argv=None, pool=None) -> int:
    """The command: parse, fill in the folders, run (in ``pool``, by default the local
    one of ``--jobs``), redraw."""
    parser = build_parser()
    args = parser.parse_args(argv)
    resolve_paths(args)
    return exit_status(lambda: replicate(args, pool), "replicate.py",
                       interrupted="interrupted; the experiments that finished are saved, and "
                                   "chapter 6's runs go on from their last finished epoch")


def replicate(args, pool=None) -> int:
    """Run what was asked for, then redraw the figures and the report."""
    check_arguments(args)
    status = 0
    if not args.report_only:
        with cluster.scheduler_pool(args, pool, say=None if args.quiet else notice) as pool:
            status = run_experiments(args, pool)
    redraw(args)
    return status
