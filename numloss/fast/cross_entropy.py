"""CrossEntropyLoss's fast kernel: the same numbers as its reading path, for large inputs.

Read `numloss.multiclass.CrossEntropyLoss` first: its ``_parts``, ``_losses`` and
``_gradient`` are the derivation, l = sum_c B_c (-log p_c) and dl/dz_k = a p_k - B_k.
This module computes the same quantities with the tricks that make softmax
cross-entropy on a million rows as fast as scikit-learn's and PyTorch's (`make bench`):

- **One exp per logit, one buffer.** The softmax's e^(z_k - m) are made once, in forward,
  into the only array of z's size that forward allocates; the first backward turns that
  buffer into the gradient in place (a second backward makes it again). The record's
  `Buffer` is the one thing a backward changes.
- **Blocks of rows in the cache.** Every pass (the maximum, the shift, the exp, the sums;
  the gradient's a p - B) runs on a block of rows at a time (`numloss.fast.blocks`); the
  sums the loss needs, sum_c w_c (m - z_c) and m - z_y, are read from each block's z - m
  while it is in the cache (the `read_shifted` callback of `blocked_softmax`).
- **No B, ever, for index targets.** B_c = (1 - alpha) w_y [c = y] + (alpha / C) w_c is
  never built: a p - B is a p, minus (alpha / C) w_k everywhere, minus (1 - alpha) w_y at
  k = y. For probability targets B is made a block of rows at a time.
- **Short rows, column by column.** For C < 32 the row maximum is taken over the C columns
  of a block, where NumPy's per-row argmax loop costs 2.5 ns per element
  (`numloss.fast.blocks.class_max`); entries are read and written through flat indices.
- **The input's finiteness from the row sums.** A NaN or infinite logit makes its row's
  sum_c w_c (m - z_c) NaN or infinite; only then is z scanned for the culprit (a separate
  pass cost 4 of 52 ms at (8192, 1000)).

The stable forms are those of the reading path: -log p_c = log1p(rest) + (m - z_c), two
non-negative terms; the leader's gradient entry by `leader_gradient`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._classes import along_classes, over_classes
from .._validate import check_finite_by, warn_if_not_distributions, warn_if_softmax_applied
from ..primitives import leader_gradient, weighted
from .blocks import (
    LARGE_BLOCK_BYTES,
    class_gather,
    class_max,
    class_put,
    class_sum,
    for_blocks,
    rows_of,
)

__all__ = ["backward", "blocked_softmax", "forward"]


# -- the softmax, a block of rows at a time ---------------------------------------------------
class Softmax(NamedTuple):
    """The softmax's pieces as the kernel keeps them (the leader's exp set to 0)."""

    max: np.ndarray  # m = max_k z_k, (N, 1, ...)
    leader: np.ndarray  # the index of the max, (N, 1, ...)
    rest: np.ndarray  # sum_{k != leader} e^(z_k - m), (N, 1, ...)


def blocked_softmax(z: np.ndarray, exps: np.ndarray, read_shifted=None) -> Softmax:
    """m, the leader and rest for each row of z (N, C, ...); e^(z_k - m) written into `exps`,
    with 0 at the leader (so that its row sum is `rest`, and the leader's entry of the
    gradient can be set exactly later).

    Each block stays in the cache from the maximum to the sum. ``read_shifted(rows, d)``,
    if given, is called on each block's d = z - m *before* d is exponentiated in place:
    the loss's sums over z - m are read there, with no second pass over z.
    """
    N = z.shape[0]
    kept = (N, 1) + z.shape[2:]
    m, rest, leader = np.empty(kept, z.dtype), np.empty(kept, z.dtype), np.empty(kept, np.intp)

    def block(rows: slice) -> None:
        d = exps[rows]  # this block's rows of the buffer
        m[rows], leader[rows] = class_max(z[rows], out=d)  # m, the leader, and d = z - m
        if read_shifted is not None:
            read_shifted(rows, d)  # before the next line overwrites d
        np.exp(d, out=d)  # e^(z_k - m); the leader's is e^0 = 1 ...
        class_put(d, leader[rows], 0.0)  # ... set to 0 (after exp: exp(-inf) is slow)
        rest[rows] = class_sum(d)  # sum_{k != leader} e^(z_k - m)

    row_bytes = math.prod(z.shape[1:]) * z.itemsize
    for_blocks(block, N, row_bytes, LARGE_BLOCK_BYTES)  # no block temporaries
    return Softmax(m, leader, rest)


# -- the record ---------------------------------------------------------------------------
class Buffer:
    """Forward's array of e^(z_k - m), handed to the first backward as its gradient."""

    def __init__(self, array: np.ndarray):
        self.array = array

    def take(self) -> np.ndarray | None:
        array, self.array = self.array, None
        return array


class IndexB(NamedTuple):
    """B for a class-index target y, never built as an N x C array:

    B_c = (1 - alpha) w_y [c = y] + (alpha / C) w_c     on kept samples (0 on ignored ones).
    """

    y: np.ndarray  # the class index, (N, 1, ...); 0 where ignored
    c_y: np.ndarray  # c_y = (1 - alpha) w_y, the target's own share of B (0 where ignored)
    smooth_w: np.ndarray | float  # (alpha / C) w_c along the classes (0 without smoothing)
    counts: np.ndarray  # True where the target counts (is not ignore_index)


class ProbabilityB(NamedTuple):
    """B for probability targets t, made a block of rows at a time:

    B_c = ((1 - alpha) t_c + alpha / C) w_c        (B = t without smoothing and weights).
    """

    t: np.ndarray  # the target probabilities, z's shape
    alpha: float  # the label smoothing
    w: np.ndarray | None  # the class weight along dimension 1, (1, C, 1, ...), or None

    def rows(self, rows: slice) -> np.ndarray:
        """B on a block of rows of t (one temporary of the block's size, or none)."""
        alpha, t = self.alpha, self.t[rows]
        if not alpha:
            return t if self.w is None else t * self.w
        B = (1 - alpha) * t
        B += alpha / t.shape[1]
        if self.w is not None:
            B *= self.w
        return B


class Record(NamedTuple):
    z: np.ndarray  # the logits
    softmax: Softmax  # m, leader, rest per row
    exps: Buffer  # e^(z_k - m) (0 at the leader), until the first backward takes it
    a: np.ndarray  # sum_c B_c, one per sample
    B: IndexB | ProbabilityB  # B_c, never built as N x C


# -- forward ------------------------------------------------------------------------------
def forward(loss, x):
    """(losses, record) for CrossEntropyLoss's checked inputs `x`."""
    with np.errstate(invalid="ignore"):  # inf - inf where z holds inf: checked from the sums
        if x.y is not None:
            losses, record = _index_forward(loss.label_smoothing, x)
        else:
            losses, record = _probability_forward(loss.label_smoothing, x)
    warn_if_softmax_applied("input", x.z, record.softmax.max)  # softmax before CE?
    return losses[:, 0], record


def _index_forward(alpha: float, x):
    """l = a log1p(rest) + c_y (m - z_y) + (alpha / C) sum_c w_c (m - z_c): terms >= 0."""
    z, C = x.z, x.z.shape[1]
    w_c = None if x.w is None else along_classes(x.w, z.ndim)
    gap_y = np.empty(x.kept.shape, z.dtype)  # m - z_y
    gaps = np.empty(x.kept.shape, z.dtype)  # sum_c w_c (m - z_c)
    exps = np.empty_like(z)

    def read_shifted(rows, d):  # d = z - m of a block, while it is in the cache
        gap_y[rows] = -class_gather(d, x.y[rows])
        gaps[rows] = -class_sum(d, w_c)  # terms >= 0

    softmax = blocked_softmax(z, exps, read_shifted)
    # the input's finiteness: a NaN or an infinity in z makes its row's sum NaN or infinite
    check_finite_by("input", z, gaps)
    w_sum = C if x.w is None else x.w.sum()  # sum_c w_c
    c_y = (1 - alpha) * x.w_y if alpha else x.w_y  # the target's coefficient (0 where ignored)
    a = c_y + (alpha / C) * w_sum * x.kept if alpha else c_y  # sum_c B_c
    # l = a log1p(rest) + c_y (m - z_y) [+ (alpha / C) sum_c w_c (m - z_c)], summed in place
    losses = np.log1p(softmax.rest)
    losses *= a
    # 0 where c_y = 0 (an ignored sample, a class of weight 0), whatever m - z_y is
    losses += weighted(c_y, gap_y)
    if alpha:
        smooth = (alpha / C) * x.kept
        losses += weighted(smooth, gaps)
    smooth_w = (alpha / C) * (1.0 if w_c is None else w_c) if alpha else 0.0
    B = IndexB(x.y, c_y, smooth_w, counts=x.kept > 0)
    return losses, Record(z, softmax, Buffer(exps), a, B)


def _probability_forward(alpha: float, x):
    """l = a log1p(rest) + sum_c B_c (m - z_c), B = ((1 - alpha) t + alpha / C) w: terms >= 0."""
    z, t, C = x.z, x.t, x.z.shape[1]
    w_c = None if x.w is None else along_classes(x.w, z.ndim)
    B = ProbabilityB(t, alpha, w_c)
    a = (1 - alpha) * class_sum(t, w_c) + (alpha / C) * (C if x.w is None else x.w.sum())
    sums = a if not alpha and x.w is None else class_sum(t)  # the target's row sums
    warn_if_not_distributions("target", sums, C, "CrossEntropyLoss", ", or pass class indices")
    gaps = np.empty(a.shape, z.dtype)  # sum_c B_c (m - z_c)
    exps = np.empty_like(z)

    def read_shifted(rows, d):
        gaps[rows] = -class_sum(d, B.rows(rows))

    softmax = blocked_softmax(z, exps, read_shifted)
    check_finite_by("input", z, gaps)  # NaN or infinite where z is
    losses = a * np.log1p(softmax.rest) + gaps
    return losses, Record(z, softmax, Buffer(exps), a, B)


# -- backward -----------------------------------------------------------------------------
def backward(loss, r: Record, dl):
    """dL/dz = (a p - B) dL/dl_n, in forward's buffer of exponentials."""
    grad = r.exps.take()
    if grad is None:  # a second backward: the first took the buffer
        grad = np.empty_like(r.z)
        blocked_softmax(r.z, grad)
    dl = over_classes(dl)  # dL/dl_n, lined up with the classes
    if isinstance(r.B, IndexB):
        _index_gradient(grad, r, dl, loss.label_smoothing)
    else:
        _probability_gradient(grad, r, dl)
    return grad


def _index_gradient(grad, r: Record, dl, alpha: float) -> None:
    """grad = (a p - B) dL/dl_n for index targets, a block of rows at a time.

    Order matters: the whole block is set to a p_k - (alpha / C) w_k, then the entry at y
    gets -(1 - alpha) w_y, then the leader's entry is *overwritten* by its exact value
    `leader_gradient` (which includes B at the leader, whether or not the leader is y).
    """
    N = grad.shape[0]

    def block(rows):
        g, dl_n = grad[rows], rows_of(dl, rows, N)
        a, B, s = rows_of(r.a, rows, N), rows_of(r.B, rows, N), rows_of(r.softmax, rows, N)
        g *= a / (1 + s.rest) * dl_n  # a p_k dL/dl_n (the leader's entry is 0 so far)
        if alpha:  # -(alpha / C) w_k dL/dl_n where the target counts
            g -= B.smooth_w * (B.counts * dl_n)
        class_put(g, B.y, class_gather(g, B.y) - B.c_y * dl_n)  # -(1 - alpha) w_y at k = y
        at_leader = leader_gradient(a, _index_B_at(B, s.leader), s.rest)
        class_put(g, s.leader, at_leader * dl_n)  # the leader's entry, exactly

    for_blocks(block, N, grad[:1].nbytes, LARGE_BLOCK_BYTES)


def _probability_gradient(grad, r: Record, dl) -> None:
    """grad = (a p - B) dL/dl_n for probability targets, B made a block of rows at a time."""
    N = grad.shape[0]

    def block(rows):
        g, dl_n = grad[rows], rows_of(dl, rows, N)
        a, s, B = rows_of(r.a, rows, N), rows_of(r.softmax, rows, N), r.B.rows(rows)
        g *= a / (1 + s.rest) * dl_n  # a p_k dL/dl_n (the leader's entry is 0 so far)
        g -= B * dl_n  # - B_k dL/dl_n
        at_leader = leader_gradient(a, class_gather(B, s.leader), s.rest)
        class_put(g, s.leader, at_leader * dl_n)  # the leader's entry, exactly (overwritten)

    for_blocks(block, N, grad[:1].nbytes)  # B and B dL/dl_n: two block temporaries


def _index_B_at(B: IndexB, k: np.ndarray) -> np.ndarray:
    """B_k for an index target: (1 - alpha) w_y [k = y] + (alpha / C) w_k on kept samples."""
    smooth_k = B.smooth_w if np.ndim(B.smooth_w) == 0 else B.smooth_w.reshape(-1)[k]
    return B.c_y * (B.y == k) + smooth_k * B.counts
