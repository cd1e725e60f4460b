"""numloss.fast.blocks: the block loop covers every row once, and two threads give one
thread's answer bit for bit."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
from test_memory import memory_cases

from numloss.fast import blocks as _blocks
from numloss.gradcheck.suite import exported_losses


@pytest.fixture
def two_threads():
    _blocks.set_num_threads(2)
    try:
        yield
    finally:
        _blocks.set_num_threads(1)


@pytest.mark.parametrize("rows, row_bytes", [(0, 8), (1, 8), (10, 8), (10**6, 8), (7, 3 << 20)])
def test_row_blocks_cover_every_row_once_in_order(rows, row_bytes):
    blocks = _blocks.row_blocks(rows, row_bytes)
    covered = [i for b in blocks for i in range(b.start, b.stop)]
    assert covered == list(range(rows))
    assert all(b.stop > b.start for b in blocks)
    for b in blocks:  # at most BLOCK_BYTES, unless a single row is larger
        assert (b.stop - b.start) * row_bytes <= max(_blocks.BLOCK_BYTES, row_bytes)


def test_a_small_input_is_one_block_and_a_mid_sized_one_thirty_two():
    assert len(_blocks.row_blocks(1000, 8)) == 1  # 8 KB: one block
    assert len(_blocks.row_blocks(1 << 18, 8)) == 32  # 2 MB: 32 blocks of 64 KB
    assert len(_blocks.row_blocks(1 << 17, 8)) == 16  # 1 MB: not under 64 KB a block


def test_set_threads_checks_its_argument():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="positive integer"):
            _blocks.set_num_threads(bad)
    assert _blocks.get_num_threads() == 1


def _threads_seen(rows: int, row_bytes: int) -> set:
    seen = set()

    def work(block):
        seen.add(threading.get_ident())
        np.exp(np.ones(200_000))  # long enough for the other thread to take a block

    _blocks.for_blocks(work, rows, row_bytes)
    return seen


def test_two_threads_do_share_the_blocks(two_threads):
    assert len(_threads_seen(64, _blocks.THREADS_MIN_BYTES // 8)) == 2


def test_small_inputs_and_short_rows_stay_on_one_thread(two_threads):
    assert len(_threads_seen(64, _blocks.THREADS_MIN_BYTES // 128)) == 1  # 1/2 the minimum
    short = _blocks.THREADS_MIN_ROW_BYTES // 2
    assert len(_threads_seen(4 * _blocks.THREADS_MIN_BYTES // short, short)) == 1


def _run(cls, options, inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # KLDivLoss's "mean"
        loss = cls(**options)
        value = loss(*inputs)
        grad = loss.backward()
    return value, grad if isinstance(grad, tuple) else (grad,)


@pytest.mark.parametrize("cls", exported_losses(), ids=lambda c: c.__name__)
def test_two_threads_give_one_threads_results_bit_for_bit(cls, monkeypatch):
    """The first option combination and the richest one of each loss, at 8 MB of input,
    every input and row length on the threads (and in their larger blocks)."""
    monkeypatch.setattr(_blocks, "THREADS_MIN_BYTES", 0)
    monkeypatch.setattr(_blocks, "THREADS_MIN_ROW_BYTES", 0)
    cases = list(memory_cases(cls, np.float64))
    for options, where, inputs in (cases[0], cases[-1]):
        value, grads = _run(cls, options, inputs)
        _blocks.set_num_threads(2)
        try:
            value2, grads2 = _run(cls, options, inputs)
        finally:
            _blocks.set_num_threads(1)
        assert value2 == value, where
        for g, g2 in zip(grads, grads2, strict=True):
            np.testing.assert_array_equal(g2, g, err_msg=where)


@pytest.mark.parametrize("C", [1, 2, 10, 31, 32, 100])
@pytest.mark.parametrize("trailing", [(), (3,)], ids=["(N,C)", "(N,C,d)"])
def test_class_max_is_max_and_first_argmax_ties_included(C, trailing):
    rng = np.random.default_rng(C)
    z = rng.integers(-3, 4, (500, C) + trailing).astype(np.float32)  # many ties
    z[:250] = rng.normal(size=(250, C) + trailing)  # and rows without
    d = np.empty_like(z)
    m, k = _blocks.class_max(z, out=d)
    np.testing.assert_array_equal(m, z.max(axis=1, keepdims=True))
    np.testing.assert_array_equal(d, z - m)
    np.testing.assert_array_equal(k, z.argmax(axis=1)[:, None])
    np.testing.assert_array_equal(_blocks.class_gather(z, k), m)
    strided = z[:, ::-1]  # not contiguous: the same answers
    np.testing.assert_array_equal(
        _blocks.class_gather(strided, k), np.take_along_axis(strided, k, 1)
    )


def test_the_threads_follow_the_callers_numpy_error_handling(two_threads, monkeypatch):
    """np.errstate is per thread: a block on a worker thread obeys the caller's."""
    monkeypatch.setattr(_blocks, "THREADS_MIN_BYTES", 0)
    monkeypatch.setattr(_blocks, "THREADS_MIN_ROW_BYTES", 0)
    seen = []

    def work(rows):
        seen.append((threading.get_ident(), np.geterr()["invalid"]))
        np.exp(np.ones(200_000))  # long enough for the other thread to take a block

    with np.errstate(invalid="ignore"):
        _blocks.for_blocks(work, 64, 1 << 20)
    assert len({ident for ident, _ in seen}) == 2
    assert {mode for _, mode in seen} == {"ignore"}


@pytest.mark.parametrize("C", [3, 40])
def test_class_max_of_rows_that_are_not_finite_beside_rows_with_ties(C):
    """A row with no entry equal to its maximum (NaN, inf, all -inf) must not hide a tie in
    another row of the block: short rows (C < 32) then take argmax, as long rows do."""
    z = np.zeros((4, C))
    z[0, 1:3] = 2.0  # a tie: the first leader is 1
    z[1] = -np.inf  # all -inf
    z[2, 0] = np.nan
    z[3, -1] = np.inf
    d = np.empty_like(z)
    with np.errstate(invalid="ignore"):
        m, k = _blocks.class_max(z, out=d)
    np.testing.assert_array_equal(k[:, 0], np.argmax(z, axis=1))
    np.testing.assert_array_equal(m[:, 0], z[np.arange(4), np.argmax(z, axis=1)])
