"""Rows in blocks: the one loop every large pass of a loss runs, and its optional threads.

Why blocks
----------
A loss is a chain of NumPy steps: subtract, exp, log1p, multiply, sum. Run on a whole
array of N elements, every step is a pass over main memory and leaves a temporary of
N elements behind: BCE with logits on 10^7 float64 numbers made six 80 MB temporaries and
read each from memory again. Run on a block of rows of about `BLOCK_BYTES` at a time, the
same steps find the block still in the core's cache (2 MB of L2 here) and leave temporaries
of the block's size. The code of a step does not change: it is written once, for a block
of rows, and `for_blocks` runs it over the whole input. Each row is
computed by the same operations in any block, so the result does not depend on the
block size: it is the same, bit for bit, as one whole-array pass.

Blocks are ranges of the first dimension (rows of an (N, C) input, elements of an (N,)
one), so an input with few, huge rows (2 rows of 10^7 numbers) gets huge blocks: right,
but neither small nor in the cache. A formula that keeps several temporaries of a block
alive wants small blocks (`BLOCK_BYTES`, 256 KB: all of them stay in the cache); the
softmax, which keeps none, wants `LARGE_BLOCK_BYTES`, since each block costs Python a
dozen NumPy calls (at C = 10, 1 MB blocks took 6.6 ms where 256 KB took 8.2).

Threads
-------
NumPy's ufuncs release the GIL, so two blocks can run on two cores at once. With
``set_num_threads(2)`` (or the environment variable ``NUMLOSS_THREADS=2``) the blocks of an
input of at least `THREADS_MIN_BYTES` whose rows are at least `THREADS_MIN_ROW_BYTES`
are handed to a pool of that many threads, in blocks `THREAD_BLOCK_FACTOR` times larger.
The results are identical to one thread's, bit for bit: every row is computed by the
same code in whatever block it falls, and nothing is combined across blocks. The
default is one thread: two threads gain where each block is long arithmetic (the
softmax at C >= 100: 0.6 to 0.8 of one thread's time in `make bench`), less where a loss
is a few passes over memory, and rows of a few numbers (an (N,) input, CE at C = 10)
stay on one thread.

Reducing along short rows
-------------------------
`class_max`, `class_sum` and `class_gather` work along dimension 1 of a block, the
classes: the fastest way NumPy has to take each row's maximum, sum and chosen entry,
the choice of method commented where it is made.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = [
    "BLOCKS_AT_LEAST",
    "BLOCK_BYTES",
    "LARGE_BLOCK_BYTES",
    "MIN_BLOCK_BYTES",
    "THREADS_MIN_BYTES",
    "THREADS_MIN_ROW_BYTES",
    "THREAD_BLOCK_FACTOR",
    "class_gather",
    "class_max",
    "class_put",
    "class_sum",
    "for_blocks",
    "get_num_threads",
    "row_blocks",
    "rows_of",
    "set_num_threads",
]

BLOCK_BYTES = 256 << 10
"""At most about this many bytes of input per block: the several temporaries a formula
keeps of a block all stay in the cache (BCE with logits on 10^7 float64 numbers took
69 ms in 256 KB blocks, 85 ms in 1 MB blocks)."""

LARGE_BLOCK_BYTES = 1 << 20
"""The blocks of a pass that keeps no temporary of a block's size (the softmax)."""

BLOCKS_AT_LEAST = 32
"""A block is also at most this fraction of the input (but not below `MIN_BLOCK_BYTES`): a
block's temporaries count in the peak memory, and FocalLoss keeps nine of them, 9/32 of
an input of a few MB (9/8 with eighths: its peak was 1.9 times a 2.6 MB float32 input)."""

MIN_BLOCK_BYTES = 64 << 10
"""The smallest block (tiny inputs are one block): below this, Python's dozen calls per
block cost more than the block's arithmetic."""

THREADS_MIN_BYTES = 16 << 20
"""Below this many bytes of input one thread does the work: its blocks are too small
(they share 1/32 of the input, `BLOCKS_AT_LEAST`) to be worth handing out."""

THREADS_MIN_ROW_BYTES = 256
"""Rows shorter than this stay on one thread: each block is many short NumPy calls, and
two threads made softmax cross-entropy at C = 10 1.1 to 2.5 times slower."""

THREAD_BLOCK_FACTOR = 4
"""On threads, blocks are this many times larger where the input allows: fewer hand-offs
(two threads took CrossEntropyLoss at (8192, 1000) float64 to 0.88 of one thread's time
with 1 MB blocks, to 0.66 with 4 MB ones)."""

_threads = 1
_pool: ThreadPoolExecutor | None = None  # the pool of `_threads` workers, made on first need
_users: dict[ThreadPoolExecutor, int] = {}  # pool -> `for_blocks` calls running on it
_lock = threading.Lock()  # guards the three above


def set_num_threads(n: int) -> None:
    """Run the blocks of large inputs on `n` threads (1: the caller's thread only).

    Results do not depend on `n`. Like ``torch.set_num_threads``, it is a setting of the
    process: every loss uses it from the next call on. A call already running on the old
    pool finishes on it: the old pool is shut down only when its last user is done
    (shutting it down under a running call made that call fail).
    """
    global _threads, _pool
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: expected a positive integer number of threads; got {n!r}")
    retired = None
    with _lock:
        if _pool is not None and n != _threads:
            # the next call makes a pool of n; the old one goes once no call uses it
            retired, _pool = _pool, None
            if retired in _users:
                retired = None  # its last user shuts it down (`_release_pool`)
        _threads = int(n)
    if retired is not None:
        retired.shutdown(wait=False)  # idle: its workers just exit


def get_num_threads() -> int:
    """The number of threads `set_num_threads` set (1 unless changed)."""
    return _threads


def row_blocks(
    rows: int, row_bytes: int, block_bytes: int = BLOCK_BYTES, threads: int = 1
) -> list[slice]:
    """The first dimension cut into ranges of about `block_bytes` (at least one row each).

    Inputs under `BLOCKS_AT_LEAST` blocks of `BLOCK_BYTES` get smaller blocks in
    proportion, not under `MIN_BLOCK_BYTES`: 1/32 of the input for the element-wise
    formulas, which keep temporaries of a block's size, and for a pass of blocks k times
    larger (the softmax's, which keeps none) k/32: its Python calls per block stay few
    (CE at (65536, 10) float64 took 7.8 ms in 1/32 blocks, 6.0 ms in 1/8). On `threads`
    threads the blocks are `THREAD_BLOCK_FACTOR` times larger, and the blocks in flight
    share that fraction of the input, so the temporaries weigh no more than on one.
    """
    row_bytes = max(1, row_bytes)
    fraction = rows * row_bytes // (BLOCKS_AT_LEAST * threads) * max(1, block_bytes // BLOCK_BYTES)
    if threads > 1:
        block_bytes *= THREAD_BLOCK_FACTOR
    block = min(block_bytes, max(MIN_BLOCK_BYTES, fraction))
    step = max(1, block // row_bytes)
    return [slice(start, min(start + step, rows)) for start in range(0, rows, step)]


def for_blocks(
    work: Callable[[slice], object], rows: int, row_bytes: int, block_bytes: int = BLOCK_BYTES
) -> list:
    """``[work(block) for block in row_blocks(...)]``, on the threads if set.

    `work` reads and writes only its own block's rows of any array, so that blocks may
    run in any order, at the same time; its results come back in block order. Every row's
    result is the same in whatever block it falls, so threads change no bit of it.
    """
    threads = _threads
    if rows * row_bytes < THREADS_MIN_BYTES or row_bytes < THREADS_MIN_ROW_BYTES:
        threads = 1
    blocks = row_blocks(rows, row_bytes, block_bytes, threads)
    if threads == 1 or len(blocks) == 1:
        return [work(block) for block in blocks]
    caller = np.geterr()  # NumPy's error handling is per thread: the workers take the caller's

    def in_callers_errstate(block: slice):
        with np.errstate(**caller):
            return work(block)

    pool = _acquire_pool()
    try:
        return list(pool.map(in_callers_errstate, blocks))
    finally:
        _release_pool(pool)


def _acquire_pool() -> ThreadPoolExecutor:
    """The current pool (made now if there is none), counted as in use by one more call."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_threads, thread_name_prefix="numloss")
        _users[_pool] = _users.get(_pool, 0) + 1
        return _pool


def _release_pool(pool: ThreadPoolExecutor) -> None:
    """One call done with `pool`; the last user of a pool that `set_num_threads` replaced
    shuts it down."""
    with _lock:
        _users[pool] -= 1
        if _users[pool] == 0:
            del _users[pool]
        retired = pool not in _users and pool is not _pool
    if retired:
        pool.shutdown(wait=False)  # no call is using it: its workers just exit


def _forget_pool_in_child() -> None:
    """After ``os.fork()``: the child has the parent's pool but none of its threads (a pool
    whose workers are gone takes work and never does it: the child hung), and perhaps a lock
    that a parent's thread held. It starts afresh, as PyTorch does: a new lock, no pool (the
    next large call makes one), the same thread count."""
    global _pool, _users, _lock
    _pool, _users, _lock = None, {}, threading.Lock()


def rows_of(value, rows: slice, n: int):
    """A block of rows of a per-sample quantity.

    An array of `n` rows is cut to `rows`; a record (a named tuple) has each field cut;
    anything else (a scalar, a weight along the classes shaped (1, C)) is left as it is.
    So a loss's backward can read the same record, a block at a time.
    """
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(rows_of(v, rows, n) for v in value))
    if isinstance(value, np.ndarray) and value.ndim and value.shape[0] == n:
        return value[rows]
    return value


# -- along the classes: dimension 1 of a block (nb, C, ...) -----------------------------------
SHORT_ROW = 32
"""Rows of fewer classes than this take `class_max`'s column-by-column path."""


def class_max(z: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(m, k): each row's largest entry and its first index, shaped (nb, 1, ...); and
    out = z - m, every entry <= 0 and exactly 0 where z_k = m (two floats subtract to 0
    only when they are equal)."""
    if z.shape[1] < SHORT_ROW:
        m, k = _short_rows_max(z, out)
        if k is not None:
            return m, k
    k = np.argmax(z, axis=1, keepdims=True)  # the index, and the value read at it:
    m = class_gather(z, k)  # one pass, where max then argmax are two
    np.subtract(z, m, out=out)
    return m, k


def _short_rows_max(z: np.ndarray, out: np.ndarray):
    """`class_max` for rows of fewer than `SHORT_ROW` entries, or (m, None) when a row has
    a tie or is not finite (then argmax decides, as for long rows).

    NumPy's argmax, and a comparison with m broadcast along the row, run a loop per row
    (2.5 and 0.6 ns per element at C = 10); a maximum over the C columns and a comparison
    of z - m with 0 each run along the whole block (0.4 and 0.1 ns).
    """
    m = z[:, 0].copy()
    for c in range(1, z.shape[1]):
        np.maximum(m, z[:, c], out=m)
    m = m[:, None]
    if not np.isfinite(m).all():  # NaN or inf: z - m is nowhere 0 on that row
        return m, None
    np.subtract(z, m, out=out)
    leads = out == 0  # the entries equal to the maximum: at least one per finite row
    if np.count_nonzero(leads) != leads.size // z.shape[1]:  # so more than one on some row
        return m, None
    # exactly one leader per row: its index is sum_c c [z_c = m] (an integer dot)
    k = np.einsum("nc...,c->n...", leads.view(np.uint8), np.arange(z.shape[1], dtype=np.uint8))
    return m, k[:, None].astype(np.intp)


def class_sum(v: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """sum_c w_c v_c along dimension 1, shaped (nb, 1, ...).

    `w` is None (every w_c = 1) or an array that broadcasts to v's shape: a weight along
    the classes shaped (1, C, 1, ...), or one of v's own shape.
    """
    # einsum's loop runs along the row; NumPy's sum(axis=1) calls a loop per row, slow
    # for short rows (C = 10: 0.3 against 1.5 ns per element)
    if w is None:
        return np.einsum("nc...->n...", v)[:, None]
    return np.einsum("nc...,nc...->n...", v, w)[:, None]


def class_gather(v: np.ndarray, k: np.ndarray) -> np.ndarray:
    """v[n, k_n, ...] for each row: k and the result shaped (nb, 1, ...)."""
    if not v.flags.c_contiguous:
        return np.take_along_axis(v, k, axis=1)
    return v.reshape(-1)[_flat_index(v.shape, k)]  # one index array, not one per dimension


def class_put(v: np.ndarray, k: np.ndarray, values) -> None:
    """v[n, k_n, ...] = values, in place (k shaped (nb, 1, ...))."""
    if not v.flags.c_contiguous:
        np.put_along_axis(v, k, values, axis=1)
        return
    v.reshape(-1)[_flat_index(v.shape, k)] = values


def _flat_index(shape: tuple, k: np.ndarray) -> np.ndarray:
    """The positions of v[n, k_n, d] in a C-contiguous v of `shape` = (nb, C, d...)."""
    nb, C, D = shape[0], shape[1], math.prod(shape[2:])
    rows = np.arange(nb).reshape((nb,) + (1,) * (k.ndim - 1))
    return (rows * C + k) * D + np.arange(D).reshape(shape[2:])


def _configure_from_environment() -> None:
    value = os.environ.get("NUMLOSS_THREADS", "").strip()
    if value:
        try:
            set_num_threads(int(value))
        except ValueError:
            raise ValueError(
                f"NUMLOSS_THREADS: expected a positive integer number of threads; got {value!r}"
            ) from None


_configure_from_environment()
if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_forget_pool_in_child)
