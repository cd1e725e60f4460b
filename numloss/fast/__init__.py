"""How numloss is made fast: the fast path, and the one rule that takes it.

Every loss has two ways to compute the same numbers:

- the **reading path**, the one to read beside the lesson: the loss's ``_parts``, a plain
  whole-array function computing the docstring's symbols, then ``_losses(parts)`` and
  ``_gradient(parts, dl)``, each line a step of the derivation;
- the **fast path** (this package), for larger inputs: for large ones the same steps
  run on blocks of rows that stay in the processor's cache, optionally on two threads,
  with buffers reused (`numloss.fast.blocks`, `numloss.fast.executor`,
  `numloss.fast.cross_entropy`); for the class-index losses from a training batch up,
  one entry per row read and written where the reading path makes masks over the
  classes (`numloss.fast.sparse`).

The rule, in one place (`kernel_for`), by the bytes of a loss's first input (the
predictions): under `READING_PATH_BYTES` the reading path, so every example of the
lesson; from there, a loss's sparse kernel (cross-entropy, NLL and the multi-class
margin, on class indices of (N, C) inputs) up to that kernel's own limit; from
`FAST_PATH_BYTES`, the loss's blocked kernel; anything else, the reading path.
``set_path("reading" | "fast" | "auto")`` (or the environment variable ``NUMLOSS_PATH``)
forces one path for every loss, and ``with numloss.fast.path("reading"):`` does so for a
block of code; the tests run every gradient-check case on the reading path and on each
kernel.

Why the fast path pays, trick by trick
--------------------------------------
1. Blocks of rows (`numloss.fast.blocks`). A loss is a chain of NumPy steps; on a whole
   array each step is a pass over main memory and leaves a temporary of the input's size.
   On a block of about 256 KiB the next step finds the block still in the cache (2 MiB of
   L2 here), and the temporaries are the block's size: BCE with logits on 10^7 float64
   numbers took six 80 MB temporaries on the whole array, and 69 ms in 256 KiB blocks.
   Each row is computed by the same operations in any block, so the result does not
   depend on the block size.
2. The record is the inputs. Between forward and backward the reading path keeps every
   part (a dozen arrays of the input's size for FocalLoss); the fast path keeps only the
   inputs and makes the parts again, a block at a time, in backward. That is what keeps
   every loss's peak memory within 1.5 times its input (`tests/test_memory.py`).
3. Threads (``numloss.set_num_threads(2)``). NumPy's ufuncs release the GIL, so two blocks
   run on two cores at once; worth it where a block is long arithmetic (the softmax at
   C >= 100: 0.6 to 0.8 of one thread's time), not for rows of a few numbers.
4. For softmax cross-entropy (`numloss.fast.cross_entropy`), besides the blocks: one exp
   per logit, whose buffer becomes the gradient in place; B (the smoothed, weighted
   one-hot) never built, even a block at a time, for index targets; each row's maximum
   and its sums taken column by column for short rows, where NumPy's per-row loops are
   slow (C = 10); the input's finiteness read from the row sums the loss makes anyway,
   not from a separate pass over the logits (4 of 52 ms at (8192, 1000)).
5. One entry per row (`numloss.fast.sparse`). On a batch of 64 rows of 10 classes
   every NumPy call costs about a microsecond whatever it computes, so the time is the
   number of calls. The class-index losses read and write the one entry per row that
   matters, z[rows, y] and grad[rows, y], as the lesson's sparse form does, and never
   build the one-hot: forward + backward at (64, 10) in float64 went from 72 to 40 µs
   for cross-entropy (PyTorch: 34), from 30 to 22 for NLL, from 50 to 34 for the
   multi-class margin. NLL's kernel keeps only a few numbers per row, so it serves every
   size: at (16384, 64), 1.3 ms where the blocked executor took 3.4.

`make bench` measures what each buys against scikit-learn and PyTorch.
"""

from __future__ import annotations

import contextlib
import os

from .blocks import get_num_threads, set_num_threads

__all__ = [
    "FAST_PATH_BYTES",
    "READING_PATH_BYTES",
    "get_num_threads",
    "get_path",
    "path",
    "set_num_threads",
    "set_path",
    "kernel_for",
]

FAST_PATH_BYTES = 64 << 10
"""Inputs of at least this many bytes (the first input's: 8,192 float64 numbers, a
(128, 64) batch) take the fast path. Where the two paths cross, measured on the 2-core
machine of `make bench` (forward + backward, float64): softmax cross-entropy's kernel is
as fast as the reading path at 20 KiB and 1.7 times faster at 80 KiB ((1024, 10): 233
against 399 µs), 3 to 5 times at 0.3 to 1 MiB; BCE with logits breaks even near 256 KiB
(at 128 KiB the reading path's 192 µs beat the blocks' 257; at 512 KiB 1678 against 932).
Below 64 KiB a loss keeps its reading path, or takes its sparse kernel from
`READING_PATH_BYTES` where it has one (cross-entropy's: 40 µs at (64, 10) against the
reading path's 72). Cross-entropy's and the margin's sparse kernels stop here although
they are faster up to about 500 KiB: they keep an array of the input's size for backward,
where the fast path keeps its peak memory under 1.5 times the input."""

READING_PATH_BYTES = 1 << 10
"""Inputs under this many bytes (the first input's: 128 float64 numbers; a batch of up to
12 rows of 10 classes) take the reading path unless "fast" is forced: every example of
the lesson, a few rows each, runs the code that reads as its derivation. From here up, a
loss with a sparse kernel that takes its inputs takes it."""

PATHS = ("auto", "reading", "fast")
_path = "auto"


def set_path(name: str) -> None:
    """Force every loss onto one path: "reading", "fast", or "auto" (by `kernel_for`).

    A setting of the process, like `set_num_threads`. Both paths give the same numbers
    (the tests prove it); forcing "reading" lets you step through a large input's
    computation, forcing "fast" shows a loss's kernel on a small one (its sparse kernel
    where it has one for the inputs, else its blocked one).
    """
    global _path
    if name not in PATHS:
        raise ValueError(f"path: expected one of {', '.join(map(repr, PATHS))}; got {name!r}")
    _path = name


def get_path() -> str:
    """The path set by `set_path` ("auto" unless changed)."""
    return _path


@contextlib.contextmanager
def path(name: str):
    """``with path("reading"): ...``: `set_path` for a block of code, then back."""
    before = _path
    set_path(name)
    try:
        yield
    finally:
        set_path(before)


def kernel_for(loss, inputs):
    """The rule: the kernel that computes `loss` on its checked `inputs`; None for the
    reading path (its ``_parts``, ``_losses`` and ``_gradient``).

    By the first input's bytes: a sparse kernel (``loss._sparse``) that takes these
    inputs, from `READING_PATH_BYTES` up to its ``up_to``; else from `FAST_PATH_BYTES`
    the loss's blocked kernel (``loss._fast``); else the reading path. Forced onto the
    fast path, a loss takes the sparse kernel below its ``up_to``, else the blocked one.
    """
    if _path == "reading":
        return None
    nbytes = inputs[0].nbytes
    sparse = loss._sparse
    if sparse is not None and nbytes < sparse.up_to and sparse.takes(inputs):
        return sparse if nbytes >= READING_PATH_BYTES or _path == "fast" else None
    if nbytes >= FAST_PATH_BYTES or _path == "fast":
        return loss._fast  # (None for a loss whose math is its own: the reading path)
    return None


def _configure_from_environment() -> None:
    value = os.environ.get("NUMLOSS_PATH", "").strip()
    if value:
        try:
            set_path(value)
        except ValueError:
            raise ValueError(
                f"NUMLOSS_PATH: expected one of {', '.join(PATHS)}; got {value!r}"
            ) from None


_configure_from_environment()
