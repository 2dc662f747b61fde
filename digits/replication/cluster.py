"""The planned runs on a Dask cluster: ``replicate.py --scheduler ADDRESS`` (docs/cluster.md).

A :class:`DaskPool` is a :class:`digits.replication.plan.Pool` whose executor is a Dask
``Client``'s ``concurrent.futures`` executor: the planner submits the same
:func:`~digits.replication.plan.run_one` calls it runs locally, one run = one task, and
their numbers come back to this process, which writes the result files as it does for
the local pool.  The pieces, in the order a run meets them:

1. :func:`connect`: the client of the scheduler at ``address`` (a one-line error when
   Dask is not installed or the scheduler does not answer).
2. :func:`mismatches`: what differs between this machine and each worker among the
   versions that decide the last bits of a seeded run (:func:`environment`).
3. :class:`ClusterExecutor`: each call runs on a worker through :func:`run_on_worker`
   (one BLAS thread, the shared checkpoint folder made), with ``retries`` for a run that
   raises; a run whose worker dies is given to another worker by the scheduler (its
   ``allowed-failures``) and goes on from the last epoch its checkpoint holds.
4. :class:`Channel`: the runs' messages (finished work, chapter 6's epoch lines) through a
   Dask ``Queue`` to this process; once :meth:`DaskPool.close` has set the pool's stop
   ``Event``, a run still going stops at its next message, after its epoch's checkpoint.

Dask is an optional extra (``pip install -e '.[cluster]'``): it is imported only here,
and only when a cluster is asked for.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import platform
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from digits.replication import chapter6
from digits.replication.plan import Pool
from digits.system.errors import DigitsError, UsageError

INSTALL = "pip install -e '.[cluster]'"
#: how many times Dask runs a task again after it raised (a network folder that failed)
RETRIES = 2
#: seconds to wait for the scheduler to answer
CONNECT_TIMEOUT = 10
#: a run on a worker asks whether it should stop at most this often (seconds)
STOP_CHECK_SECONDS = 1.0


def distributed_module():
    """``dask.distributed``, or a one-line :class:`UsageError` saying how to install it."""
    try:
        import dask.distributed
    except ImportError:
        raise UsageError(f"--scheduler runs on a Dask cluster, and Dask's distributed "
                         f"scheduler is not installed here: {INSTALL}") from None
    return dask.distributed


# -- 1. the connection -----------------------------------------------------------------------

def connect(address, retries=RETRIES, security=None, timeout=CONNECT_TIMEOUT) -> DaskPool:
    """A :class:`DaskPool` on the scheduler at ``address`` (``tcp://host:8786``, or
    ``tls://...`` with ``security``, a ``distributed.Security``, or the TLS files of
    Dask's configuration)."""
    distributed = distributed_module()
    try:
        client = distributed.Client(address, timeout=timeout, security=security,
                                    set_as_default=False)
    except (OSError, ValueError, TypeError) as error:
        raise DigitsError(f"no Dask scheduler answered at {address} within {timeout} s "
                          f"({type(error).__name__}: {error}); start one with `dask scheduler`") from None
    return DaskPool(client, retries)


def dashboard_address(client):
    """The address of the scheduler's dashboard, or None if it has none (no bokeh there)."""
    try:
        return client.dashboard_link
    except (KeyError, AttributeError):
        return None


# -- 2. the versions that must match ---------------------------------------------------------

def environment() -> dict:
    """What decides the last bits of a seeded run in this process: Python, numpy, the
    BLAS (its library, version and the processor kernels it chose), the digits source
    (a hash of its files) and Dask."""
    import dask
    import numpy
    import threadpoolctl

    blas = [f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture')})"
            for info in threadpoolctl.threadpool_info() if info.get("user_api") == "blas"]
    return {"Python": platform.python_version(), "numpy": numpy.__version__,
            "BLAS": ", ".join(blas) or "none found", "digits": source_hash(),
            "dask": dask.__version__}


def source_hash() -> str:
    """The first 12 hex digits of the SHA-256 of the digits package's Python files."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def mismatches(here: dict, workers: dict) -> list:
    """One line per worker whose :func:`environment` differs from ``here``'s."""
    lines = []
    for address, theirs in sorted(workers.items()):
        differences = [f"{name} {theirs.get(name)} (here {value})"
                       for name, value in here.items() if theirs.get(name) != value]
        if differences:
            lines.append(f"worker {address} has {'; '.join(differences)}: its runs may differ "
                         f"from this machine's in the last bits")
    return lines


# -- 3. the executor and what runs on a worker -----------------------------------------------

def run_on_worker(function, task, setup):
    """``function(task, setup)`` on a Dask worker: with one BLAS thread, as the local
    pool's processes have, and the checkpoint folder made if it is missing."""
    import threadpoolctl

    chapter6.Store(setup.store_folder).prepare()
    with threadpoolctl.threadpool_limits(1):
        return function(task, setup)


class ClusterExecutor(concurrent.futures.Executor):
    """A Client's ``get_executor()`` whose calls run through :func:`run_on_worker`, each
    a separate task (``pure=False``) that Dask runs again up to ``retries`` times if it
    raises."""

    def __init__(self, client, retries):
        self.executor = client.get_executor(retries=retries, pure=False)
        self.submitted = []

    def submit(self, fn, /, *args, **kwargs):
        future = self.executor.submit(run_on_worker, fn, *args, **kwargs)
        self.submitted.append(future)
        return future

    def running(self) -> bool:
        return any(not future.done() for future in self.submitted)

    def shutdown(self, wait=True, *, cancel_futures=False):
        self.executor.shutdown(wait=wait and not cancel_futures)


# -- 4. the channel --------------------------------------------------------------------------

class RunStopped(DigitsError):
    """A run on a worker told to stop: the pool that asked for it has closed."""


class Channel:
    """Where the runs on the workers put their messages (a Dask ``Queue`` named ``queue``),
    refusing them once the pool's ``Event`` named ``stop`` is set.  It is pickled by its
    two names; each process makes its own Queue and Event from them."""

    _objects: dict = {}
    _checked: dict = {}         # when each stop Event was last asked about, in this process

    def __init__(self, queue, stop):
        self.queue, self.stop = queue, stop

    def __repr__(self) -> str:
        return f"Channel(queue={self.queue!r}, stop={self.stop!r})"

    def __getstate__(self):
        return {"queue": self.queue, "stop": self.stop}

    def __setstate__(self, state):
        self.queue, self.stop = state["queue"], state["stop"]

    def objects(self, client=None) -> tuple:
        """``(queue, event)`` of this process (made the first time)."""
        key = (self.queue, self.stop)
        if key not in Channel._objects:
            distributed = distributed_module()
            Channel._objects[key] = (distributed.Queue(self.queue, client=client),
                                     distributed.Event(self.stop, client=client))
        return Channel._objects[key]

    def put(self, message):
        """Send ``message`` to the asking machine; raise :class:`RunStopped` if it has
        stopped (asked the scheduler at most every STOP_CHECK_SECONDS)."""
        queue, stop = self.objects()
        if time.monotonic() - Channel._checked.get(self.stop, -STOP_CHECK_SECONDS) >= STOP_CHECK_SECONDS:
            Channel._checked[self.stop] = time.monotonic()
            if stop.is_set():
                raise RunStopped("the replication that asked for this run has stopped")
        queue.put(message)


class DaskPool(Pool):
    """The workers of a Dask cluster as a :class:`~digits.replication.plan.Pool`: its
    executor a :class:`ClusterExecutor`, its channel a :class:`Channel`.

    ``workers``: the threads of the cluster's workers (one run each at a time).
    """

    def __init__(self, client, retries=RETRIES):
        self.client = client
        self.executor = ClusterExecutor(client, retries)
        name = f"digits-replication-{uuid.uuid4().hex}"
        self.channel = Channel(f"{name}-messages", f"{name}-stop")
        self.queue, self.stop = self.channel.objects(client)
        self.closed = False

    def __repr__(self) -> str:
        return f"DaskPool({self.client.scheduler.address}, {self.workers} workers)"

    @property
    def workers(self) -> int:
        return sum(self.client.nthreads().values())

    def messages(self, timeout) -> list:
        # The queue is asked for what it holds, never waited on: a wait that times out
        # is logged by the scheduler as an error.
        found = self.queue.get(batch=True)
        if not found and timeout > 0:
            time.sleep(timeout)
            found = self.queue.get(batch=True)
        return list(found)

    def close(self):
        """Stop the runs still going (each after its epoch in progress is saved), cancel
        the tasks not started, and disconnect."""
        if self.closed:
            return
        self.closed = True
        if self.executor.running():
            self.stop.set()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.client.close()


# -- the command line's part -----------------------------------------------------------------

def add_cluster_arguments(parser):
    """``--scheduler`` and ``--checkpoints``."""
    group = parser.add_argument_group(
        "a Dask cluster (docs/cluster.md; needs " + INSTALL + ")",
        "The planned runs go to the cluster's workers, one run a task; their results come "
        "back here and are written here.")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on the Dask cluster of this scheduler (tcp://host:8786) "
                            "instead of this machine's --jobs processes")
    group.add_argument("--checkpoints", type=Path, metavar="PATH",
                       help="with --scheduler: the folder the workers share for chapter 6's "
                            "checkpoints and networks, at the same path on every machine "
                            "(default: --store)")


def check_cluster_arguments(args):
    if args.checkpoints is not None and not args.scheduler:
        raise UsageError("--checkpoints is the folder a Dask cluster's workers share; it needs "
                         "--scheduler (on this machine alone, --store says where checkpoints go)")
    if args.scheduler and args.report_only:
        raise UsageError("--report-only runs nothing, so --scheduler makes no sense with it")


@contextmanager
def scheduler_pool(args, pool=None, say=None):
    """With ``args.scheduler``: a :class:`DaskPool` on it, said to ``say`` (its workers,
    the dashboard, versions that differ), with ``args.jobs`` its workers and
    ``args.store`` the ``--checkpoints`` folder; else ``pool`` as it is."""
    if not getattr(args, "scheduler", None):
        yield pool
        return
    cluster = connect(args.scheduler)
    try:
        args.jobs = max(1, cluster.workers)
        args.store = args.checkpoints or args.store
        if say is not None:
            for line in cluster_lines(cluster, args.store):
                say(line)
        yield cluster
    finally:
        cluster.close()


def cluster_lines(cluster, store) -> list:
    """What the asking machine says about the cluster before the runs start."""
    dashboard = dashboard_address(cluster.client)
    lines = [f"Dask scheduler {cluster.client.scheduler.address}: "
             f"{len(cluster.client.nthreads())} workers, {cluster.workers} threads; checkpoints in "
             f"{store} (the workers' path); dashboard "
             f"{dashboard or 'none (install bokeh where the scheduler runs)'}"]
    if cluster.workers == 0:
        lines.append("The cluster has no workers yet: the runs wait for `dask worker ...`")
    workers = cluster.client.run(environment)
    return lines + [f"replicate.py: warning: {line}" for line in mismatches(environment(), workers)]
