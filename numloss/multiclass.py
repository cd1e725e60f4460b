"""Multi-class losses: softmax cross-entropy and NLL (lesson section 3).

C classes; the model gives one logit per class, the class dimension being dimension 1
of a batch: (N, C), or (N, C, d1, d2, ...) for one prediction per pixel, say; a single
unbatched sample is (C,). The target is either

- class indices, shape (N,) or (N, d1, ...): the lesson's *sparse* CE (SCCE, 3.2),
  which never builds a one-hot matrix, or
- probabilities (one-hot or soft), the input's own shape: the lesson's CE (3.1).

The one idea behind every formula here
--------------------------------------
With p = softmax(z), class weights w and smoothing e, every variant of cross-entropy
is a weighted sum of surprises -log p_c with per-class coefficients B_c:

    l = sum_c B_c (-log p_c),      B_c = (1 - e) w_c t_c + (e / C) w_c,

t being the target distribution (one-hot at y for an index). Its derivative follows
from d(-log p_c)/dz_k = p_k - [c = k]:

    dl/dz_k = sum_c B_c (p_k - [c = k]) = a p_k - B_k,    a = sum_c B_c.

Without weights and smoothing, a = 1 and B = t: the lesson's "softmax minus one-hot".
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._blocks import (
    LARGE_BLOCK_BYTES,
    class_gather,
    class_put,
    class_sum,
    for_blocks,
    rows_of,
)
from ._classes import (
    along_classes,
    as_class_weight,
    batched,
    class_weight,
    index_targets,
    over_classes,
    unbatched,
)
from ._validate import (
    as_float_array,
    as_index_array,
    check_class_indices,
    check_finite,
    check_finite_by,
    check_in_range,
    check_log_probabilities,
    check_not_one_hot,
    check_option,
    warn_if_not_distributions,
    warn_if_softmax_applied,
)
from .base import Loss
from .primitives import SoftmaxParts, softmax_parts

__all__ = ["CrossEntropyLoss", "NLLLoss", "one_hot", "smooth_labels"]


# -- helpers a user calls directly ------------------------------------------------------
def one_hot(labels, num_classes: int | None = None, dtype=np.float64) -> np.ndarray:
    """The one-hot encoding of integer `labels`: shape ``labels.shape + (num_classes,)``.

    ``num_classes=None`` takes ``labels.max() + 1``. A float dtype by default, since a
    one-hot vector is used as a probability target. (The lesson's point, 3.2: at
    50,000 classes this is 50,000 numbers per label, where the index is one.)

    >>> one_hot([0, 2], 3)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    """
    labels = np.asarray(labels)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"num_classes: expected a positive integer; got {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"num_classes: expected a positive integer; got {num_classes}")
    labels = check_class_indices("labels", labels, num_classes)
    out = np.zeros(labels.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


def smooth_labels(targets, alpha: float) -> np.ndarray:
    """Label smoothing (lesson 3.3.2): ``(1 - alpha) * targets + alpha / C``.

    `targets` are probability vectors (one-hot or soft) along the last axis, C = their
    length. The lesson's example, 4 classes, alpha = 0.1:

    >>> smooth_labels([1.0, 0.0, 0.0, 0.0], 0.1)
    array([0.925, 0.025, 0.025, 0.025])
    """
    t = as_float_array("targets", targets)
    alpha = check_option("alpha", alpha, 0.0, 1.0)
    check_finite("targets", t)
    check_in_range("targets", t, 0.0, 1.0, "probabilities")
    if t.ndim == 0 or t.shape[-1] == 0:
        raise ValueError(
            f"targets: expected at least one class on the last axis; got shape {t.shape}"
        )
    return (1 - alpha) * t + alpha / t.shape[-1]


# -- the losses -------------------------------------------------------------------------
class _ClassLoss(Loss):
    """The options CrossEntropyLoss and NLLLoss share: class weights and ignore_index."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight = as_class_weight(weight)
        if isinstance(ignore_index, (bool, np.bool_)) or not isinstance(
            ignore_index, (int, np.integer)
        ):
            raise TypeError(f"ignore_index: expected an integer; got {ignore_index!r}")
        self.ignore_index = int(ignore_index)


class IndexCoefficients(NamedTuple):
    """B for a class-index target y, never built as an N x C array:

    B_c = (1 - e) w_y [c = y] + (e / C) w_c     on samples that count (0 on ignored ones).
    """

    y: np.ndarray  # the class index, (N, 1, ...); 0 where ignored
    B_y: np.ndarray  # (1 - e) w_y, the target's own coefficient (0 where ignored)
    smooth: np.ndarray | float  # (e / C) w_c along the classes (0 without smoothing)
    kept: np.ndarray  # True where the target counts (not ignore_index)


class ProbabilityCoefficients(NamedTuple):
    """B for probability targets t, made a block of rows at a time, never as N x C at once:

    B_c = ((1 - e) t_c + e / C) w_c        (B = t itself without smoothing and weights).
    """

    t: np.ndarray  # the target probabilities, the input's shape
    smoothing: float  # e
    w: np.ndarray | None  # the class weight along dimension 1, (1, C, 1, ...), or None

    def rows(self, rows: slice) -> np.ndarray:
        """B on a block of rows of t (one temporary of the block's size, or none)."""
        e, t = self.smoothing, self.t[rows]
        if not e:
            return t if self.w is None else t * self.w
        B = (1 - e) * t
        B += e / t.shape[1]
        if self.w is not None:
            B *= self.w
        return B


def leader_gradient(a, B_lead, rest):
    """The leader's entry a p_lead - B_lead of cross-entropy's gradient, without cancellation.

    With p_lead = 1 / (1 + rest):

        a p_lead - B_lead = (a - B_lead (1 + rest)) / (1 + rest)
                          = ((a - B_lead) - B_lead rest) / (1 + rest)

    For a confident, correct prediction of a plain target, a = B_lead = 1 and this is
    -rest / (1 + rest) = -sum_{k != y} p_k: tiny and exact, where 1 / (1 + rest) - 1
    rounds to 0.
    """
    return ((a - B_lead) - B_lead * rest) / (1 + rest)


class CrossEntropyLoss(_ClassLoss):
    r"""Softmax cross-entropy on logits (lesson 3.1-3.3), as ``torch.nn.CrossEntropyLoss``.

    Domain: ``input`` z holds logits, shape (C,), (N, C) or (N, C, d1, ...); ``target``
    is class indices (shape (N,) or (N, d1, ...), integers in [0, C) or
    ``ignore_index``) or probabilities of z's shape. ``weight`` is one non-negative
    number per class; ``label_smoothing`` e in [0, 1].

    Formula (see the module docstring for B and a). With p = softmax(z),

        l_n = sum_c B_c (-log p_c),    B_c = (1 - e) w_c t_c + (e / C) w_c.

    For an index y this is (1 - e) w_y (-log p_y) + (e / C) sum_c w_c (-log p_c):
    PyTorch's formula, smoothing towards the uniform e / C (not e / (C - 1)).
    Reductions: with indices, mean = sum_n l_n / sum_n w_{y_n} over samples not
    ignored (ignored samples have l_n = 0); with probabilities, mean = sum_n l_n / N.
    If that denominator is 0 the mean is 0 and so is its gradient (PyTorch: NaN).

    Gradient, step by step:

        -log p_c        = logsumexp(z) - z_c
        d(-log p_c)/dz_k = p_k - [c = k]                    (softmax minus one-hot)
        dl/dz_k         = sum_c B_c (p_k - [c = k]) = a p_k - B_k,   a = sum_c B_c

    which specialises to

        plain index y:        p_k - [k = y]                 (a = 1, B = one-hot: the lesson's)
        class weights:        w_y (p_k - [k = y])
        smoothing e:          p_k - (1 - e) [k = y] - e / C
        ignored sample:       0                             (a = 0 and B = 0 for that row)

    ``_backward`` is these lines, each times dL/dl_n (the chain rule, taken into every
    step so that the gradient costs one pass): grad = a p; grad -= B (for an index,
    -B_y at k = y and the smoothing part -(e / C) w_k); the leader's entry rewritten by
    `leader_gradient`.

    Stable form: with m = max_k z_k and rest = sum_{k != leader} e^(z_k - m),
    logsumexp(z) - m = log1p(rest), so

        -log p_c = log1p(rest) - (z_c - m),

    a sum of two non-negative terms, exact even when the target leads by 700 (where
    logsumexp(z) - z_y rounds to 0, as in PyTorch 2.13 and scipy). The loss row is
    a log1p(rest) - sum_c B_c (z_c - m): again two non-negative terms. In the gradient
    the leader's entry a p_lead - B_lead is written ((a - B_lead) - B_lead rest) /
    (1 + rest), since p_lead = 1 / (1 + rest): for a confident, correct prediction
    a - B_lead is exactly 0 and the entry is -rest / (1 + rest) = -sum_{k != y} p_k,
    not 1 / (1 + rest) - 1 = 0.

    Memory and time: nothing of size N x C is built but forward's buffer of e^(z - m),
    which backward turns into the gradient in place (one exp per logit, no second N x C
    array); no one-hot matrix, ever, and B for probability targets only a block of rows
    at a time. The softmax's passes run on blocks of rows that stay in the cache
    (`numloss._blocks`). A second ``backward`` recomputes the buffer.

    Example, the lesson's logits [2.0, 1.0, 0.1] with label 0 (3.1.3):

    >>> import numloss as nl
    >>> loss = nl.CrossEntropyLoss()
    >>> print(round(float(loss([[2.0, 1.0, 0.1]], [0])), 3))
    0.417
    >>> loss.backward().round(3)  # softmax minus one-hot
    array([[-0.341,  0.242,  0.099]])
    >>> smoothed = nl.CrossEntropyLoss(label_smoothing=0.1)
    >>> print(round(float(smoothed([[2.0, 1.0, 0.1]], [0])), 4))
    0.5137

    Textbook form: `numloss.textbook.cross_entropy`, the formula as written, without the
    stable rewrite; the tests show where the two part.

    References: PyTorch ``torch.nn.CrossEntropyLoss``; Szegedy et al., "Rethinking the
    Inception Architecture" (2016) for label smoothing; the lesson, section 3.
    """

    class Record(NamedTuple):
        z: np.ndarray  # the logits, (N, C, ...)
        softmax: SoftmaxParts  # m, leader, exps = e^(z_k - m) (0 at the leader), rest
        a: np.ndarray  # sum_c B_c, one per sample
        B: IndexCoefficients | ProbabilityCoefficients  # B_c, never built as N x C
        denominator: float  # the mean's D: sum_n w_{y_n} (indices) or N (probabilities)
        unbatched: bool  # the input was one (C,) sample

    def __init__(
        self,
        weight=None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(weight, ignore_index, reduction)
        self.label_smoothing = check_option("label_smoothing", label_smoothing, 0.0, 1.0)

    def _forward(self, input, target):
        z, was_unbatched = batched("input", input, finite=False)  # checked from a sum below
        target = as_index_array("target", target)
        target = target[None] if was_unbatched else target
        w = class_weight(self.weight, z)
        if target.dtype.kind == "f":
            losses, record = self._probability_targets(z, target, w)
        else:
            check_not_one_hot("target", target, z.shape, takes_probabilities=True)
            losses, record = self._index_targets(z, target, w)
        warn_if_softmax_applied("input", z, record.softmax.max)  # softmax before CE?
        return unbatched(losses[:, 0], was_unbatched), record._replace(unbatched=was_unbatched)

    def _index_targets(self, z, target, w):
        """l = a log_norm + B_y (m - z_y) + (e / C) sum_c w_c (m - z_c): three terms >= 0."""
        e, C = self.label_smoothing, z.shape[1]
        t = index_targets(target, z, w, self.ignore_index)
        w_c = None if w is None else along_classes(w, z.ndim)  # w_c along dimension 1
        gap_y = np.empty(t.kept.shape, z.dtype)  # m - z_y
        below = np.empty(t.kept.shape, z.dtype)  # sum_c w_c (m - z_c)

        def shifted(rows, d):  # read from each block's d = z - m while it is in the cache
            gap_y[rows] = -class_gather(d, t.y[rows])  # m - z_y
            below[rows] = -class_sum(d, w_c)  # sum_c w_c (m - z_c): terms >= 0

        with np.errstate(invalid="ignore"):  # inf - inf where z holds inf: checked below
            parts = softmax_parts(z, axis=1, shifted=shifted)
        # the smoothing term, and the input's finiteness check: a NaN or an infinity in z
        # makes its row's sum NaN or infinite (in-cache, where a scan of z took 8%)
        check_finite_by("input", z, below)
        W = C if w is None else w.sum()  # sum_c w_c
        # without smoothing B is the weighted one-hot: a = B_y = w_y (no new arrays)
        B_y = (1 - e) * t.w_y if e else t.w_y  # the target's coefficient (0 where ignored)
        a = B_y + (e / C) * W * t.kept if e else B_y  # sum_c B_c
        # l = a log_norm + B_y (m - z_y) [+ (e / C) sum_c w_c (m - z_c)], since
        # -log p_c = log_norm + (m - z_c); summed in place, on the arrays made above
        losses = np.log1p(parts.rest)  # log_norm = log(1 + rest) = logsumexp(z) - m
        losses *= a
        losses += np.multiply(B_y, gap_y, out=gap_y)
        if e:
            losses += np.multiply((e / C) * t.kept, below, out=below)
        smooth = (e / C) * (1.0 if w is None else w_c) if e else 0.0
        B = IndexCoefficients(t.y, B_y, smooth, kept=t.kept > 0)
        return losses, self.Record(z, parts, a, B, t.denominator, False)

    def _probability_targets(self, z, target, w):
        """l = a log_norm + sum_c B_c (m - z_c), B = (1 - e) w t + (e / C) w: two terms >= 0."""
        e, C = self.label_smoothing, z.shape[1]
        t = self._probability_target(target, z)
        w_c = None if w is None else along_classes(w, z.ndim)
        B = ProbabilityCoefficients(t, e, w_c)  # never built whole: a block of rows at a time
        a = (1 - e) * class_sum(t, w_c) + (e / C) * (C if w is None else w.sum())  # sum_c B_c
        sums = a if not e and w is None else class_sum(t)  # the target's row sums (a if B = t)
        warn_if_not_distributions("target", sums, C, "CrossEntropyLoss", ", or pass class indices")
        below = np.empty(a.shape, z.dtype)

        def B_sum(rows, d):  # sum_c B_c (m - z_c) from d = z - m: terms >= 0
            below[rows] = -class_sum(d, B.rows(rows))

        with np.errstate(invalid="ignore"):  # inf - inf where z holds inf: checked below
            parts = softmax_parts(z, axis=1, shifted=B_sum)
        check_finite_by("input", z, below)  # NaN or infinite where z is
        losses = a * np.log1p(parts.rest) + below
        rows = losses.size  # the mean is over samples, not over weights
        return losses, self.Record(z, parts, a, B, rows, False)

    def _probability_target(self, target, z):
        t = as_float_array("target", target, dtype=z.dtype)
        if t.shape != z.shape:
            raise ValueError(
                f"target: probability targets must have the input's shape {z.shape}; got {t.shape}"
                " (class indices must be integers)"
            )
        check_finite("target", t)
        check_in_range("target", t, 0.0, 1.0, "probabilities")
        if self.ignore_index != -100:
            raise ValueError(
                f"ignore_index={self.ignore_index} is only allowed with class-index targets; "
                "got probability targets"
            )
        return t

    def _backward(self, r, dl):
        exps = r.softmax.exps
        if exps is None:  # a second backward: the first one handed the buffer over
            exps = softmax_parts(r.z, axis=1).exps
        self._record = r._replace(softmax=r.softmax._replace(exps=None))
        dl = over_classes(dl)  # dL/dl_n, lined up with the classes
        grad = exps  # forward's e^(z - m) becomes the gradient, in place
        if isinstance(r.B, IndexCoefficients):
            self._index_gradient(grad, r, dl)
        else:
            self._probability_gradient(grad, r, dl)
        return unbatched(grad, r.unbatched)

    def _index_gradient(self, grad, r, dl):
        """grad = (a p - B) dL/dl_n for index targets, B never built. A block of rows at a
        time: the per-sample factors are made for the block's rows only (no arrays of N
        besides the record's), and the entries at y and at the leader are set while the
        block is in the cache."""
        N = grad.shape[0]

        def block(rows):
            g, dl_n = grad[rows], rows_of(dl, rows, N)  # the block, and its dL/dl_n
            a, B, s = rows_of(r.a, rows, N), rows_of(r.B, rows, N), rows_of(r.softmax, rows, N)
            g *= a / (1 + s.rest) * dl_n  # a p_k dL/dl_n, p_k = e^(z_k - m) / (1 + rest)
            if self.label_smoothing:  # -(e / C) w_k dL/dl_n where the target counts
                g -= B.smooth * (B.kept * dl_n)
            class_put(g, B.y, class_gather(g, B.y) - B.B_y * dl_n)  # -(1 - e) w_y at k = y
            at_leader = leader_gradient(a, _index_B_at(B, s.leader), s.rest)
            class_put(g, s.leader, at_leader * dl_n)  # the leader's entry, exactly

        for_blocks(block, N, grad[:1].nbytes, LARGE_BLOCK_BYTES)  # no temporaries but one

    def _probability_gradient(self, grad, r, dl):
        """grad = (a p - B) dL/dl_n for probability targets, B made a block of rows at a
        time (never N x C), in one pass over grad."""
        N = grad.shape[0]

        def block(rows):
            g, dl_n = grad[rows], rows_of(dl, rows, N)  # the block, and its dL/dl_n
            a, s, B = rows_of(r.a, rows, N), rows_of(r.softmax, rows, N), r.B.rows(rows)
            g *= a / (1 + s.rest) * dl_n  # a p_k dL/dl_n, p_k = e^(z_k - m) / (1 + rest)
            g -= B * dl_n  # - B_k dL/dl_n
            at_leader = leader_gradient(a, class_gather(B, s.leader), s.rest)
            class_put(g, s.leader, at_leader * dl_n)  # the leader's entry, exactly

        for_blocks(block, N, grad[:1].nbytes)  # B and B dL/dl_n: two block temporaries


def _index_B_at(B: IndexCoefficients, k: np.ndarray) -> np.ndarray:
    """B_k for an index target: (1 - e) w_y [k = y] + (e / C) w_k on kept samples."""
    smooth_k = B.smooth if np.ndim(B.smooth) == 0 else B.smooth.reshape(-1)[k]
    return B.B_y * (B.y == k) + smooth_k * B.kept


class NLLLoss(_ClassLoss):
    r"""Negative log-likelihood on log-probabilities, as ``torch.nn.NLLLoss``.

    Domain: ``input`` holds log-probabilities log p (for instance `log_softmax` of
    logits), shape (C,), (N, C) or (N, C, d1, ...); ``target`` class indices of the
    input's shape without the class dimension; ``weight`` one number per class.

    Formula: l_n = -w_{y_n} log p_{n, y_n}, and 0 where y_n = ignore_index. Mean:
    sum_n l_n / sum_n w_{y_n} over samples not ignored; 0 (gradient 0) when that sum
    is 0. CrossEntropyLoss(z, y) = NLLLoss(log_softmax(z), y).

    Gradient: l_n depends only on its target's entry, so

        dl_n/d(log p)_{n,k} = -w_{y_n} [k = y_n].

    >>> import numloss as nl
    >>> loss = nl.NLLLoss()
    >>> print(round(float(loss(nl.log_softmax([[2.0, 1.0, 0.1]]), [0])), 3))
    0.417
    >>> loss.backward()
    array([[-1.,  0.,  0.]])

    Textbook form: `numloss.textbook.nll`, the formula as written, without the
    stable rewrite; the tests show where the two part.

    References: PyTorch ``torch.nn.NLLLoss``.
    """

    class Record(NamedTuple):
        shape: tuple  # the input's shape
        dtype: np.dtype  # the input's dtype
        y: np.ndarray  # the class index, (N, 1, ...); 0 where ignored
        w_y: np.ndarray  # the target class's weight, 0 where ignored
        denominator: float  # sum_n w_{y_n} over samples not ignored
        unbatched: bool  # the input was one (C,) sample

    def _forward(self, input, target):
        x, was_unbatched = batched("input", input)
        check_log_probabilities("input", x, "NLLLoss")  # log p <= 0
        target = as_index_array("target", target)
        target = target[None] if was_unbatched else target
        check_not_one_hot("target", target, x.shape, takes_probabilities=False)
        w = class_weight(self.weight, x)
        t = index_targets(target, x, w, self.ignore_index)
        losses = -t.w_y * np.take_along_axis(x, t.y, axis=1)  # l = -w_y log p_y
        record = self.Record(x.shape, x.dtype, t.y, t.w_y, t.denominator, was_unbatched)
        return unbatched(losses[:, 0], was_unbatched), record

    def _backward(self, r, dl):
        grad = np.zeros(r.shape, dtype=r.dtype)
        dl_y = -r.w_y * over_classes(dl)  # dl/dx_k = -w_y [k = y], times dL/dl_n
        np.put_along_axis(grad, r.y, dl_y + 0.0, axis=1)  # (+ 0.0: no -0 where w_y = 0)
        return unbatched(grad, r.unbatched)
