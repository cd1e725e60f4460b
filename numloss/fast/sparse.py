"""Sparse kernels: the class-index losses with one entry per row, the lesson's sparse form.

A training loop hands a loss 64 or 128 rows of 10 classes: 640 to 1,280 numbers. On so
few, each NumPy call costs about a microsecond whatever it computes, and the time of a
forward + backward is the number of calls. The reading path is general: it builds the
target's one-hot (B, smoothed and weighted) and finds the largest logit's entry through
masks over the classes, one call per line of the derivation (about 70 for
cross-entropy, 2.1 times PyTorch's time at (64, 10)).

These kernels compute the same numbers from the entries that matter, one per row, read
and written at (n, y_n) as the lesson's sparse cross-entropy does (section 3.2):

    z[rows, y]          the target's logit of each row,  rows = 0, 1, ..., N - 1
    grad[rows, y] -= 1  the one-hot, subtracted where it is 1, never built

A loss takes its kernel here by the rule in `numloss.fast.kernel_for`: for inputs it
``takes`` (class indices on (N, C) inputs), from `READING_PATH_BYTES` (so never the
lesson's own examples, which stay on the reading path) up to the kernel's ``up_to``.
Cross-entropy's and the multi-class margin's stop at `FAST_PATH_BYTES`: each keeps an
array of the input's size between forward and backward (the exponentials, h+) and makes
the gradient beside it, twice the input, where the fast path keeps its peak under 1.5
times (the blocked kernels keep only the inputs, or hand the exponentials over as the
gradient). NLL's keeps a few numbers per row and makes only the gradient, and is faster
than the blocked executor at every size (at (16384, 64): 1.3 against 3.4 ms), so it has
no limit. `tests/test_fast.py` checks every gradient-check case against the reading path.

CrossEntropyLoss, with the names of its docstring (B_c = ((1 - alpha) t_c + alpha / C) w_c
on kept samples, a = sum_c B_c, m the largest logit, rest = sum_{k != leader} e^(z_k - m)).
For a class index B_c = c_y [c = y] + (alpha / C) w_c, with c_y = (1 - alpha) w_y the
target's own share (0 where ignored), so

    l_n       = a log1p(rest) + c_y (m - z_y) + sum_c (alpha / C) w_c (m - z_c)
    dl_n/dz_k = a p_k - c_y [k = y] - (alpha / C) w_k,   p_k = e^(z_k - m) / (1 + rest)

with the largest logit's entry made exact by `leader_gradient`, as on the reading path.
The softmax's parts (m, the exponentials with the leader's left out, rest) are those of
`numloss.primitives.softmax_parts`, made here with the leader found once by its index
rather than by a mask over the classes.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._classes import over_classes
from .._validate import check_finite, warn_if_softmax_applied
from ..primitives import leader_gradient, weighted
from . import FAST_PATH_BYTES

__all__ = ["CROSS_ENTROPY", "MULTI_MARGIN", "NLL", "Kernel"]


class Kernel(NamedTuple):
    """A sparse kernel: which inputs it computes, up to what size, its forward and backward."""

    takes: object  # takes(inputs) -> bool: whether it computes these checked inputs
    up_to: float  # it computes inputs (the first's bytes) below this size
    forward: object  # forward(loss, inputs) -> (losses, record)
    backward: object  # backward(loss, record, dl) -> the gradient


def class_indices_on_rows(inputs) -> bool:
    """Class-index targets on (N, C) inputs: one entry per row, at (n, y_n)."""
    return inputs.y is not None and inputs[0].ndim == 2


# -- CrossEntropyLoss --------------------------------------------------------------------------
class CrossEntropyRecord(NamedTuple):
    rows: np.ndarray  # 0, 1, ..., N - 1
    y: np.ndarray  # the target class of each row (0 where ignored)
    leader: np.ndarray  # the index of the largest logit of each row
    exps: np.ndarray  # e^(z_k - m), 0 at the leader (its e^0 = 1 is not in rest)
    rest: np.ndarray  # rest = sum_{k != leader} e^(z_k - m)
    a: np.ndarray  # a = sum_c B_c, one per row
    c_y: np.ndarray  # c_y = (1 - alpha) w_y, the target's own share of B (0 where ignored)
    smooth: np.ndarray | None  # (alpha / C) w_k on rows that count: B's smoothing; None


def cross_entropy_forward(loss, x):
    """l_n = a log1p(rest) + c_y (m - z_y) + sum_c (alpha / C) w_c (m - z_c): terms >= 0."""
    z, alpha, C = x.z, loss.label_smoothing, x.z.shape[1]
    check_finite("input", z)
    rows = np.arange(z.shape[0])
    y, kept, w_y = x.y[:, 0], x.kept[:, 0], x.w_y[:, 0]
    leader = z.argmax(axis=1)
    m = z[rows, leader]  # the largest logit of each row
    warn_if_softmax_applied("input", z, m)  # softmax applied before CE?
    shifted = z - m[:, None]  # z_k - m <= 0
    exps = np.exp(shifted)
    exps[rows, leader] = 0.0  # the leader's e^0 = 1, left out of rest
    rest = exps.sum(axis=1)
    c_y = (1 - alpha) * w_y if alpha else w_y
    # c_y (m - z_y), and 0 where c_y = 0 (an ignored sample, a class of weight 0)
    losses = weighted(c_y, -shifted[rows, y])
    a, smooth = c_y, None
    if alpha:  # smoothing spreads (alpha / C) w_c over every class of a row that counts
        w = np.ones(C, z.dtype) if x.w is None else x.w
        smooth = (alpha / C) * w * kept[:, None]
        a = c_y + smooth.sum(axis=1)
        losses += weighted(smooth, -shifted).sum(axis=1)
    losses += a * np.log1p(rest)
    return losses, CrossEntropyRecord(rows, y, leader, exps, rest, a, c_y, smooth)


def cross_entropy_backward(loss, r: CrossEntropyRecord, dl):
    """dL/dz_k = (a p_k - B_k) dL/dl_n, B_k written where it is not 0, the leader's entry exact."""
    grad = r.exps * (r.a / (1 + r.rest) * dl)[:, None]  # a p_k dL/dl_n (0 at the leader)
    B_leader = r.c_y * (r.y == r.leader)  # B at the leader: c_y if the leader is y ...
    if r.smooth is not None:
        grad -= r.smooth * over_classes(dl)  # - (alpha / C) w_k dL/dl_n
        B_leader = B_leader + r.smooth[r.rows, r.leader]  # ... plus its smoothing share
    grad[r.rows, r.y] -= r.c_y * dl  # - c_y dL/dl_n at k = y
    # the leader's entry, exactly (overwriting what the lines above wrote there)
    grad[r.rows, r.leader] = leader_gradient(r.a, B_leader, r.rest) * dl
    return grad


# exps kept for backward, then the gradient: twice the input
CROSS_ENTROPY = Kernel(
    class_indices_on_rows, FAST_PATH_BYTES, cross_entropy_forward, cross_entropy_backward
)


# -- NLLLoss -------------------------------------------------------------------------------------
class NLLRecord(NamedTuple):
    log_p: np.ndarray  # the log-probabilities (only their shape and dtype are read)
    rows: np.ndarray  # 0, 1, ..., N - 1
    y: np.ndarray  # the target class of each row (0 where ignored)
    w_y: np.ndarray  # w_y, the target class's weight (0 where ignored)


def nll_forward(loss, x):
    """l_n = -w_y log p_y, log p_y read at (n, y_n)."""
    rows, y, w_y = np.arange(x.log_p.shape[0]), x.y[:, 0], x.w_y[:, 0]
    return -w_y * x.log_p[rows, y], NLLRecord(x.log_p, rows, y, w_y)


def nll_backward(loss, r: NLLRecord, dl):
    """dL/d(log p)_k = -w_y dL/dl_n at k = y, and 0 elsewhere (+ 0.0: no -0 where w_y = 0)."""
    grad = np.zeros_like(r.log_p)
    grad[r.rows, r.y] = -r.w_y * dl + 0.0
    return grad


# -- MultiMarginLoss -----------------------------------------------------------------------------
class MultiMarginRecord(NamedTuple):
    rows: np.ndarray  # 0, 1, ..., N - 1
    y: np.ndarray  # the target class of each row
    w_y: np.ndarray  # w_y, the target class's weight
    h_plus: np.ndarray  # h_i+ = max(h_i, 0), h_i = margin - x_y + x_i (0 at i = y)


def multi_margin_forward(loss, x):
    """l_n = sum_{i != y} w_y (h_i+)^p / C, x_y read at (n, y_n)."""
    rows, y, w_y = np.arange(x.x.shape[0]), x.y[:, 0], x.w_y[:, 0]
    h = (x.x - x.x[rows, y][:, None]) + loss.margin  # (x_i - x_y) + margin, as the class
    h[rows, y] = 0.0  # the sum skips i = y
    h_plus = np.maximum(h, 0)
    powered = h_plus if loss.p == 1 else h_plus * h_plus
    # w_y times the row's mean, and 0 where w_y = 0 even if an h_i overflowed
    losses = weighted(w_y, powered.sum(axis=1) / h.shape[1])
    return losses, MultiMarginRecord(rows, y, w_y, h_plus)


def multi_margin_backward(loss, r: MultiMarginRecord, dl):
    """dL/dx_i = w_y p (h_i+)^(p - 1) [h_i > 0] / C dL/dl_n; at i = y, minus their sum."""
    w_y_over_C = (r.w_y / r.h_plus.shape[1])[:, None]
    if loss.p == 1:  # w_y / C [h_i > 0]: a bool times w_y / C, finite
        grad = (r.h_plus > 0) * w_y_over_C
    else:  # w_y / C 2 h_i+, and 0 where w_y = 0 even if h_i overflowed (0 inf is NaN)
        grad = weighted(w_y_over_C, 2 * r.h_plus)
    grad[r.rows, r.y] = -grad.sum(axis=1)  # x_y is in every h_i, with a minus
    return grad * over_classes(dl)


NLL = Kernel(class_indices_on_rows, math.inf, nll_forward, nll_backward)  # the gradient only
# h+ kept for backward, then the gradient: twice the input
MULTI_MARGIN = Kernel(
    class_indices_on_rows, FAST_PATH_BYTES, multi_margin_forward, multi_margin_backward
)
