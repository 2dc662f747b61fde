"""The book's experiments rerun and compared with its numbers (``make replicate``,
``make replicate-ch6``), and the benchmark (``make bench``).

One job per module, in the order a run goes through them:

    table      the rows: each experiment's settings, the book's setting and number, its check
    checks     what the book says and whether our runs agree (a Claim per statement)
    kinds      the kinds of run (KINDS) and one run of any kind (Task, RunContext, run_task)
    baselines  chapter 1's baselines: random guessing, average darkness, the SVM
    book_runs  chapters 1, 3 and 5: the book's networks trained by SGD, learning speed
    chapter6   chapter 6: checkpointed long runs, their store, the ensemble, time estimates
    plan       what to run, in what order, and the pool of workers that runs it (executors)
    results    the result files: JSON read, checked and written; the copies kept in git
    figures    the figures of the report (PNG)
    report     REPLICATION.md
    cli        the command line (python -m digits.replication, scripts/replicate.py)
    bench      make bench: seconds per epoch beside the book's per-example loop

A new experiment is a row in ``table`` (and its check in ``checks``); a new kind of run is
``kinds.register_kind``; another executor (a cluster's) is a ``plan.Pool`` given to
``plan.run_experiments`` or ``cli.main(pool=...)``.
"""
