"""``digits.system.threads``: the BLAS thread count is switched for a block and restored, through
threadpoolctl, with the module's own three names."""

import threading

import pytest
from threadpoolctl import threadpool_info

from digits.system.threads import blas_thread_control, blas_thread_count, blas_threads

needs_control = pytest.mark.skipif(not blas_thread_control(),
                                   reason="numpy's BLAS is not one threadpoolctl can control")


def blas_counts_seen_by_threadpoolctl():
    return [library["num_threads"] for library in threadpool_info() if library["user_api"] == "blas"]


def test_control_is_reported_when_threadpoolctl_finds_a_blas():
    assert blas_thread_control() == bool(blas_counts_seen_by_threadpoolctl())


@needs_control
def test_the_count_is_the_one_threadpoolctl_sees():
    with blas_threads(1):
        assert blas_counts_seen_by_threadpoolctl() == [1] * len(blas_counts_seen_by_threadpoolctl())
        assert blas_thread_count() == 1


@needs_control
def test_one_thread_inside_the_block_and_the_old_count_after():
    with blas_threads(2):
        with blas_threads(1):
            assert blas_thread_count() == 1
        assert blas_thread_count() == 2


@needs_control
def test_the_count_is_restored_when_the_block_raises():
    with blas_threads(2):
        with pytest.raises(RuntimeError):
            with blas_threads(1):
                raise RuntimeError("inside")
        assert blas_thread_count() == 2


@needs_control
def test_asking_for_the_count_in_force_changes_nothing():
    with blas_threads(1):
        with blas_threads(1):
            assert blas_thread_count() == 1
        assert blas_thread_count() == 1


@needs_control
def test_a_block_in_another_python_thread_sets_and_restores_the_count():
    seen = []

    def work():
        with blas_threads(1):
            seen.append(blas_thread_count())
        seen.append(blas_thread_count())

    with blas_threads(2):
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
    assert seen == [1, 2]


def test_without_a_controllable_blas_the_block_still_runs(monkeypatch):
    from digits.system import threads

    class NoLibraries:
        lib_controllers = []

    monkeypatch.setattr(threads, "_blas_controller", lambda: NoLibraries())
    ran = []
    with blas_threads(1):
        ran.append(True)
    assert ran == [True]
    assert blas_thread_control() is False
    assert blas_thread_count() is None
