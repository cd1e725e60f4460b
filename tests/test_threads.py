"""numloss._blocks' thread pool across fork and across set_num_threads from another thread.

Threads are used only for inputs of at least THREADS_MIN_BYTES (16 MB) with rows of at least
THREADS_MIN_ROW_BYTES: CrossEntropyLoss on a (4096, 1024) float64 array (32 MB, rows of
8 KB) runs on the pool. Every result is compared, bit for bit, with one thread's.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
import time

import numpy as np
import pytest

import numloss as nl
from numloss.fast import blocks as _blocks

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")

SHAPE = (4096, 1024)
FORK_TIMEOUT = 120  # seconds: a child that has not answered by then hung (it takes ~1 s)


def _inputs():
    rng = np.random.default_rng(17)
    logits = rng.normal(0, 3, SHAPE)
    target = rng.integers(0, SHAPE[1], SHAPE[0])
    return logits, target


def _large_loss() -> tuple[float, str]:
    """CrossEntropyLoss's value and a digest of its gradient's bytes on the large input."""
    assert np.prod(SHAPE) * 8 >= _blocks.THREADS_MIN_BYTES  # large enough for the threads
    loss = nl.CrossEntropyLoss()
    value = float(loss(*_inputs()))
    grad = loss.backward()
    return value, hashlib.sha256(grad.tobytes()).hexdigest()


@pytest.fixture(scope="module")
def one_thread_result():
    _blocks.set_num_threads(1)
    return _large_loss()


@pytest.fixture
def restore_threads():
    yield
    _blocks.set_num_threads(1)


def _child(conn) -> None:
    """In the forked child: the large loss on two threads, and how long it took."""
    start = time.perf_counter()
    result = _large_loss()
    conn.send((result, time.perf_counter() - start))
    conn.close()


def _run_in_forked_child():
    """(result, seconds) from a child made by fork; fails, not hangs, if the child hangs."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send,))
    child.start()
    send.close()  # the parent keeps only its reading end
    try:
        if not receive.poll(FORK_TIMEOUT):
            pytest.fail(f"the forked child gave no result in {FORK_TIMEOUT} s: it hung")
        return receive.recv()
    finally:
        child.kill()  # a no-op when it has exited
        child.join()


def _pool_made():
    """The pool exists (a large loss ran on two threads), idle."""
    _blocks.set_num_threads(2)
    _large_loss()


def _pool_replaced():
    """A pool was made, then set_num_threads asked for another count, then back."""
    _pool_made()
    _blocks.set_num_threads(1)
    _blocks.set_num_threads(2)


def _no_pool():
    """Two threads set, no large loss yet: no pool."""
    _blocks.set_num_threads(2)


@pytest.mark.parametrize("state", [_no_pool, _pool_made, _pool_replaced], ids=lambda f: f.__name__)
def test_a_forked_child_computes_what_the_parent_does(state, one_thread_result, restore_threads):
    state()
    child, seconds = _run_in_forked_child()  # forked in `state`, then the parent computes
    parent = _large_loss()
    print(f"fork ({state.__name__}): child took {seconds:.3f} s")
    assert child == parent == one_thread_result


def test_a_child_forked_while_a_thread_computes_does_not_hang(one_thread_result, restore_threads):
    """The fork may come while another thread holds the pool's lock or has blocks in flight."""
    _pool_made()
    stop = threading.Event()

    def compute():
        while not stop.is_set():
            _large_loss()

    busy = threading.Thread(target=compute)
    busy.start()
    try:
        time.sleep(0.05)  # let it start a call (not a timed assertion: any moment will do)
        child, seconds = _run_in_forked_child()
    finally:
        stop.set()
        busy.join()
    print(f"fork while computing: child took {seconds:.3f} s")
    assert child == one_thread_result


def _pool_worker(_):
    return _large_loss()


def test_a_multiprocessing_fork_pool_computes_what_the_parent_does(
    one_thread_result, restore_threads
):
    _pool_made()
    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map_async(_pool_worker, range(2)).get(timeout=FORK_TIMEOUT)
    assert results == [one_thread_result] * 2


def test_set_num_threads_while_others_compute_changes_no_result(one_thread_result, restore_threads):
    """Two threads compute the large loss while a third flips the count 1 <-> 2: every
    call succeeds (no "cannot schedule new futures after shutdown") with one thread's
    result, and no pool is left counted as in use."""
    _pool_made()
    results, errors = [], []
    done = threading.Event()

    def compute():
        try:
            for _ in range(4):
                results.append(_large_loss())
        except Exception as error:  # noqa: BLE001 - every failure is reported below
            errors.append(error)

    def flip():
        n = 1
        while not done.is_set():
            _blocks.set_num_threads(n)
            n = 3 - n
            time.sleep(0.001)

    workers = [threading.Thread(target=compute) for _ in range(2)]
    flipper = threading.Thread(target=flip)
    flipper.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done.set()
    flipper.join()
    assert errors == []
    assert results == [one_thread_result] * 8
    assert _blocks._users == {}
