"""Multi-class losses: softmax cross-entropy and NLL (lesson section 3).

C classes; the model gives one logit per class, the class dimension being dimension 1
of a batch: (N, C), or (N, C, d1, d2, ...) for one prediction per pixel, say; a single
unbatched sample is (C,). The target is either

- class indices, shape (N,) or (N, d1, ...): the lesson's *sparse* CE (SCCE, 3.2),
  which never builds a one-hot matrix, or
- probabilities (one-hot or soft), the input's own shape: the lesson's CE (3.1).

The one idea behind every formula here
--------------------------------------
With p = softmax(z), class weights w and label smoothing alpha, every variant of
cross-entropy is a weighted sum of surprises -log p_c with per-class coefficients B_c:

    l = sum_c B_c (-log p_c),      B_c = ((1 - alpha) t_c + alpha / C) w_c,

t being the target distribution (one-hot at y for an index). Its derivative follows
from d(-log p_c)/dz_k = p_k - [c = k]:

    dl/dz_k = sum_c B_c (p_k - [c = k]) = a p_k - B_k,    a = sum_c B_c.

Without weights and smoothing, a = 1 and B = t: the lesson's "softmax minus one-hot".
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._classes import (
    along_classes,
    as_class_weight,
    batched,
    class_weight,
    index_targets,
    over_classes,
)
from ._validate import (
    as_float_array,
    as_index_array,
    check_class_indices,
    check_finite,
    check_in_range,
    check_log_probabilities,
    check_not_one_hot,
    check_option,
    warn_if_not_distributions,
    warn_if_softmax_applied,
)
from .base import Loss
from .fast import cross_entropy as fast_cross_entropy
from .fast import sparse
from .primitives import leader_gradient, positions, softmax_parts, weighted

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


class CrossEntropyLoss(_ClassLoss):
    r"""Softmax cross-entropy on logits (lesson 3.1-3.3), as ``torch.nn.CrossEntropyLoss``.

    Domain: ``input`` z holds logits, shape (C,), (N, C) or (N, C, d1, ...); ``target``
    is class indices (shape (N,) or (N, d1, ...), integers in [0, C) or
    ``ignore_index``) or probabilities of z's shape. ``weight`` is one non-negative
    number per class; ``label_smoothing`` alpha in [0, 1] (PyTorch's name for the option,
    the lesson's alpha in the formulas).

    Formula (see the module docstring for B and a). With p = softmax(z),

        l_n = sum_c B_c (-log p_c),    B_c = ((1 - alpha) t_c + alpha / C) w_c,

    t being the target distribution: the one-hot of y for an index target. For an index
    y this is (1 - alpha) w_y (-log p_y) + (alpha / C) sum_c w_c (-log p_c): PyTorch's
    formula, smoothing towards the uniform alpha / C (not alpha / (C - 1)).
    Reductions: with indices, mean = sum_n l_n / sum_n w_{y_n} over samples not
    ignored (ignored samples have B = 0, so l_n = 0); with probabilities, mean =
    sum_n l_n / N. If that denominator is 0 the mean is 0 and so is its gradient
    (PyTorch: NaN).

    Textbook form: `numloss.textbook.lesson_cross_entropy` (the lesson's softmax minus
    one-hot in a few lines) and `numloss.textbook.cross_entropy` (every option);
    `tests/test_textbook.py::test_the_lessons_cross_entropy_loses_the_tail_the_class_keeps`
    shows where they part from this class: at a lead of 40 the textbook loss is 0.

    Gradient, step by step:

        -log p_c         = logsumexp(z) - z_c
        d(-log p_c)/dz_k = p_k - [c = k]                    (softmax minus one-hot)
        dl/dz_k          = sum_c B_c (p_k - [c = k]) = a p_k - B_k,   a = sum_c B_c

    which specialises to

        plain index y:        p_k - [k = y]                 (a = 1, B = one-hot: the lesson's)
        class weights:        w_y (p_k - [k = y])
        smoothing alpha:      p_k - (1 - alpha) [k = y] - alpha / C
        ignored sample:       0                             (a = 0 and B = 0 for that row)

    ``_gradient`` is that line, a p - B, then the leader's entry made exact (below), then
    the chain rule: times dL/dl_n.

    Stable form: with m = max_k z_k and rest = sum_{k != leader} e^(z_k - m),
    logsumexp(z) - m = log1p(rest), so

        -log p_c = log1p(rest) - (z_c - m),

    a sum of two non-negative terms, exact even when the target leads by 700 (where
    logsumexp(z) - z_y rounds to 0, as in PyTorch 2.13 and scipy). In the gradient the
    leader's entry a p_lead - B_lead is written ((a - B_lead) - B_lead rest) / (1 + rest),
    since p_lead = 1 / (1 + rest) (`leader_gradient`): for a confident, correct prediction
    a - B_lead is exactly 0 and the entry is -rest / (1 + rest) = -sum_{k != y} p_k, not
    1 / (1 + rest) - 1 = 0.

    Memory and time: the reading path above builds B, a one-hot, as an N x C array, which
    is what the lesson's sparse CE (3.2) avoids; so do the fast path's kernels, with the
    same numbers: on class indices from 1 KiB, the batches of a training loop,
    `numloss.fast.sparse` (the entries at (n, y_n) read and written as
    ``z[rows, y]``, B never built), and from 64 KiB `numloss.fast.cross_entropy` (no B
    ever, one exp per logit, blocks of rows in the cache).

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

    References: PyTorch ``torch.nn.CrossEntropyLoss``; Szegedy et al., "Rethinking the
    Inception Architecture" (2016) for label smoothing; the lesson, section 3.
    """

    class Inputs(NamedTuple):
        z: np.ndarray  # the logits, (N, C, ...)
        y: np.ndarray | None  # class indices lined up with z, (N, 1, ...), 0 where ignored
        kept: np.ndarray | None  # 1 where the index target counts, 0 where ignored
        w_y: np.ndarray | None  # the target class's weight (0 where ignored)
        t: np.ndarray | None  # probability targets, z's shape (None for indices)
        w: np.ndarray | None  # the class weight, (C,), or None
        denominator: float | None  # the mean's D: sum_n w_{y_n} over samples not ignored; None: N
        unbatched: bool  # the input was one (C,) sample

    class Parts(NamedTuple):
        z: np.ndarray  # the logits
        m: np.ndarray  # m = max_k z_k, the largest logit of each sample
        leader: np.ndarray  # the index of that largest logit
        exps: np.ndarray  # e^(z_k - m), the exponentials: every one <= 1, the leader's 1
        rest: np.ndarray  # rest = sum_{k != leader} e^(z_k - m)
        log_norm: np.ndarray  # log(1 + rest) = logsumexp(z) - m (by log1p)
        surprise: np.ndarray  # -log p_c = log(1 + rest) - (z_c - m): two terms >= 0
        p: np.ndarray  # p_k = e^(z_k - m) / (1 + rest), the softmax
        t: np.ndarray  # the target distribution t_c (the one-hot of y; 0 where ignored)
        B: np.ndarray  # B_c = ((1 - alpha) t_c + alpha / C) w_c: t smoothed and weighted
        a: np.ndarray  # a = sum_c B_c, one per sample

    _fast = fast_cross_entropy  # large inputs: numloss/fast/cross_entropy.py
    _sparse = sparse.CROSS_ENTROPY  # batches: numloss/fast/sparse.py

    def __init__(
        self,
        weight=None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(weight, ignore_index, reduction)
        self.label_smoothing = check_option("label_smoothing", label_smoothing, 0.0, 1.0)

    def _inputs(self, input, target):
        z, was_unbatched = batched("input", input, finite=False)  # finiteness: in _parts
        target = as_index_array("target", target)
        target = target[None] if was_unbatched else target
        w = class_weight(self.weight, z)
        if target.dtype.kind == "f":
            t = self._probability_target(target, z)
            return self.Inputs(z, None, None, None, t, w, None, was_unbatched)
        check_not_one_hot("target", target, z.shape, takes_probabilities=True)
        y, kept, w_y, denominator = index_targets(target, z, w, self.ignore_index)
        return self.Inputs(z, y, kept, w_y, None, w, denominator, was_unbatched)

    def _parts(self, inputs):
        z, alpha, C = inputs.z, self.label_smoothing, inputs.z.shape[1]
        check_finite("input", z)  # (the fast kernel reads this from its row sums instead)
        m, leader, exps, rest = softmax_parts(z, axis=1)
        warn_if_softmax_applied("input", z, m)  # softmax applied before CE?
        log_norm = np.log1p(rest)
        surprise = log_norm - (z - m)
        p = exps / (1 + rest)
        if inputs.t is None:  # an index y: t is its one-hot, and 0 on ignored samples
            t = (positions(z, 1) == inputs.y) * inputs.kept  # t_c = [c = y]
        else:
            sums = inputs.t.sum(axis=1)  # each row of a distribution sums to 1
            fix = ", or pass class indices"
            warn_if_not_distributions("target", sums, C, "CrossEntropyLoss", fix)
            t = inputs.t
        w = 1.0 if inputs.w is None else along_classes(inputs.w, z.ndim)
        counts = 1.0 if inputs.kept is None else inputs.kept  # an ignored sample has B = 0
        B = ((1 - alpha) * t + alpha / C) * w * counts
        a = B.sum(axis=1, keepdims=True)
        return self.Parts(z, m, leader, exps, rest, log_norm, surprise, p, t, B, a)

    def _losses(self, parts):
        """l_n = sum_c B_c (-log p_c)"""
        # B_c (-log p_c), and 0 where B_c = 0 (an ignored sample, a class of weight 0), even
        # if that class's surprise overflowed to inf
        terms = weighted(parts.B, parts.surprise)
        return terms.sum(axis=1)

    def _gradient(self, parts, dl):
        """dl_n/dz_k = a p_k - B_k  (p_k - [k = y] for a plain index target)"""
        grad = parts.a * parts.p - parts.B
        # the leader's entry again, exactly: for a confident, correct prediction
        # a p_lead - B_lead = 1 / (1 + rest) - 1 rounds to 0, where the truth is -rest / (1 + rest)
        B_lead = np.take_along_axis(parts.B, parts.leader, axis=1)
        exact = leader_gradient(parts.a, B_lead, parts.rest)
        grad = np.where(positions(grad, 1) == parts.leader, exact, grad)  # at k = leader
        return grad * over_classes(dl)  # chain rule: dL/dz_k = dL/dl_n dl_n/dz_k

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


class NLLLoss(_ClassLoss):
    r"""Negative log-likelihood on log-probabilities, as ``torch.nn.NLLLoss``.

    Domain: ``input`` holds log-probabilities log p (for instance `log_softmax` of
    logits), shape (C,), (N, C) or (N, C, d1, ...); ``target`` class indices of the
    input's shape without the class dimension; ``weight`` one number per class.

    Formula: l_n = -w_{y_n} log p_{n, y_n}, and 0 where y_n = ignore_index. Mean:
    sum_n l_n / sum_n w_{y_n} over samples not ignored; 0 (gradient 0) when that sum
    is 0. CrossEntropyLoss(z, y) = NLLLoss(log_softmax(z), y).

    Textbook form: `numloss.textbook.nll`, the formula as written; the two agree to
    1e-12 on every option
    (`tests/test_textbook.py::test_textbook_agrees_with_the_class`): no tail to lose.

    Gradient: l_n depends only on its target's entry, so

        dl_n/d(log p)_{n,k} = -w_{y_n} [k = y_n].

    >>> import numloss as nl
    >>> loss = nl.NLLLoss()
    >>> print(round(float(loss(nl.log_softmax([[2.0, 1.0, 0.1]]), [0])), 3))
    0.417
    >>> loss.backward()
    array([[-1.,  0.,  0.]])

    Time: from 1 KiB (a training batch) up, class indices on (N, C) inputs take
    `numloss.fast.sparse`, the same steps with the entry at (n, y_n) read and written
    as ``log_p[rows, y]``, bit for bit.

    References: PyTorch ``torch.nn.NLLLoss``.
    """

    class Inputs(NamedTuple):
        log_p: np.ndarray  # the log-probabilities, (N, C, ...)
        y: np.ndarray  # class indices lined up with log p, (N, 1, ...), 0 where ignored
        w_y: np.ndarray  # the target class's weight, 0 where ignored
        denominator: float  # sum_n w_{y_n} over samples not ignored
        unbatched: bool  # the input was one (C,) sample

    class Parts(NamedTuple):
        log_p: np.ndarray  # the log-probabilities log p_k
        y: np.ndarray  # the target class of each sample (0 where ignored)
        w_y: np.ndarray  # w_y, the target class's weight (0 where ignored)
        log_p_y: np.ndarray  # log p_y, the target's log-probability

    _sparse = sparse.NLL  # batches: numloss/fast/sparse.py

    def _inputs(self, input, target):
        log_p, was_unbatched = batched("input", input)
        check_log_probabilities("input", log_p, "NLLLoss")  # log p <= 0
        target = as_index_array("target", target)
        target = target[None] if was_unbatched else target
        check_not_one_hot("target", target, log_p.shape, takes_probabilities=False)
        w = class_weight(self.weight, log_p)
        y, _, w_y, denominator = index_targets(target, log_p, w, self.ignore_index)
        return self.Inputs(log_p, y, w_y, denominator, was_unbatched)

    def _parts(self, inputs):
        log_p_y = np.take_along_axis(inputs.log_p, inputs.y, axis=1)
        return self.Parts(inputs.log_p, inputs.y, inputs.w_y, log_p_y)

    def _losses(self, parts):
        """l_n = -w_y log p_y (0 where ignored)"""
        return (-parts.w_y * parts.log_p_y)[:, 0]

    def _gradient(self, parts, dl):
        """dl_n/d(log p)_k = -w_y [k = y]"""
        dl_y = -parts.w_y * over_classes(dl)  # -w_y, times dL/dl_n
        # at k = y, and 0 elsewhere (+ 0.0: no -0 where w_y = 0)
        return np.where(positions(parts.log_p, 1) == parts.y, dl_y + 0.0, 0.0)
