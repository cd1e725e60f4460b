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

import numpy as np

from ._validate import (
    BadInputError,
    as_float_array,
    as_weight,
    check_class_indices,
    check_finite,
    check_in_range,
    check_option,
    check_weight,
)
from .base import Loss, Sampled
from .primitives import _lead_and_rest, log_softmax

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


# -- what CrossEntropyLoss and NLLLoss share: class indices with weights and ignore_index --
class _IndexTargets:
    """Class-index targets, with the class dimension inserted so they line up with z.

    Attributes (all shaped (N, 1, d1, ...), broadcasting against (N, C, d1, ...)):
    ``y``: the index, 0 where ignored (a safe place to look);
    ``kept``: 1 where the target counts, 0 where it equals ``ignore_index``;
    ``w_y``: the target class's weight times ``kept`` (so ignored samples weigh 0).
    ``denominator``: the weighted mean's D = sum_n w_{y_n} over kept samples.
    """

    def __init__(self, target, z: np.ndarray, weight, ignore_index: int):
        num_classes = z.shape[1]
        expected = z.shape[:1] + z.shape[2:]
        y = np.asarray(target)
        if y.dtype.kind in "iu" and y.shape != expected:
            raise BadInputError(
                f"target: expected class indices of shape {expected} (the input's shape "
                f"without its class dimension {num_classes}); got {y.shape}"
            )
        y = check_class_indices("target", y, num_classes, ignore_index)
        ignored = y == ignore_index
        self.kept = (~ignored).astype(z.dtype)[:, None]
        self.y = np.where(ignored, 0, y)[:, None]
        self.w_y = self.kept if weight is None else weight[self.y] * self.kept
        self.denominator = self.w_y.sum()


def _class_weight(weight, z: np.ndarray):
    if weight is None:
        return None
    c = z.shape[1]
    return check_weight("weight", weight, (c,), z.dtype, f"of length C = {c} (one per class)")


def _along_classes(w: np.ndarray, ndim: int) -> np.ndarray:
    """A per-class vector shaped (1, C, 1, ...) to broadcast along dimension 1."""
    return w.reshape((1, -1) + (1,) * (ndim - 2))


def _batched(name: str, input) -> tuple[np.ndarray, bool]:
    """The input as a finite float array with classes on dimension 1; (C,) becomes (1, C)."""
    z = as_float_array(name, input)
    check_finite(name, z)
    if z.ndim == 0 or z.shape[0 if z.ndim == 1 else 1] == 0:
        raise BadInputError(
            f"{name}: expected shape (C,), (N, C) or (N, C, d1, ...) with C >= 1; got {z.shape}"
        )
    return (z[None], True) if z.ndim == 1 else (z, False)


class _ClassLoss(Loss):
    """Options and gradient-check cases shared by the two index-target losses."""

    gradcheck_options = {
        "reduction": ("mean", "sum", "none"),
        "weight": (
            None,
            Sampled("w[C]", lambda rng, inputs: rng.uniform(0.2, 2.0, inputs[0].shape[1])),
        ),
        "ignore_index": (-100, 1),
    }

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight = as_weight("weight", weight)
        if weight is not None and self.weight.ndim != 1:
            raise BadInputError(
                f"weight: expected a 1-D weight, one per class; got shape {self.weight.shape}"
            )
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
            raise TypeError(f"ignore_index: expected an integer; got {ignore_index!r}")
        self.ignore_index = int(ignore_index)

    def _unbatch(self, losses: np.ndarray, unbatched: bool) -> np.ndarray:
        return losses[0] if unbatched else losses


def _sample_logits(rng, extreme: bool):
    if not extreme:
        return rng.normal(0, 2, (5, 4))
    # a leader by 40, by 700 and by 1e4, ties, and a row of equal logits
    return np.array(
        [
            [40.0, 0.0, -1.0, 2.0],
            [0.0, 700.0, 3.0, -5.0],
            [1e4, 0.0, 0.0, -1e4],
            [3.0, 3.0, -2.0, 1.0],
            [0.5, 0.5, 0.5, 0.5],
        ]
    )


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

        plain index y:        p_k - [k = y]
        class weights:        w_y (p_k - [k = y])
        smoothing e:          p_k - (1 - e) [k = y] - e / C
        ignored sample:       0     (B = 0 for that row)

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

    Memory: with index targets nothing of size N x C is built but one temporary in
    forward and the gradient itself in backward; no one-hot matrix, ever.

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

    gradcheck_options = {**_ClassLoss.gradcheck_options, "label_smoothing": (0.0, 0.2)}

    def __init__(
        self,
        weight=None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(weight, ignore_index, reduction)
        self.label_smoothing = check_option("label_smoothing", label_smoothing, 0.0, 1.0)

    def __repr__(self) -> str:
        return (
            f"CrossEntropyLoss(ignore_index={self.ignore_index}, reduction={self.reduction!r}, "
            f"label_smoothing={self.label_smoothing})"
        )

    def _forward(self, input, target):
        z, unbatched = _batched("input", input)
        target = np.asarray(target)
        if unbatched:
            target = target[None]
        w = _class_weight(self.weight, z)
        e, C = self.label_smoothing, z.shape[1]

        # the softmax's pieces: m = max_k z_k, rest = sum_{k != leader} e^(z_k - m)
        m, lead, exps, rest = _lead_and_rest(z, axis=1)
        del exps  # the N x C buffer of e^(z - m): backward makes its own, so free it now
        log_norm = np.log1p(rest)  # logsumexp(z) - m
        W = C if w is None else w.sum()  # sum_c w_c

        if target.dtype.kind == "f":
            t = self._probability_target(target, z)
            # B = (1 - e) w t + (e / C) w, a = sum_c B_c
            if e or w is not None:
                B = t * (1 - e)
                B += e / C
                if w is not None:
                    B *= _along_classes(w, z.ndim)
            else:
                B = t  # only read from here on
            a = B.sum(axis=1, keepdims=True)
            # l = a log_norm - sum_c B_c (z_c - m)
            weighted_shift = z - m
            weighted_shift *= B
            losses = a * log_norm - weighted_shift.sum(axis=1, keepdims=True)
            del weighted_shift
            self._denominator = losses.size  # mean over samples, not weights
            self._saved = (z, w, m, lead, rest, log_norm, a, B, None)
        else:
            idx = _IndexTargets(target, z, w, self.ignore_index)
            # B = (1 - e) w_y onehot(y) + (e / C) w   (never built), a = (1 - e) w_y + (e / C) W
            a = (1 - e) * idx.w_y + (e / C) * W * idx.kept if e else idx.w_y
            z_y = np.take_along_axis(z, idx.y, axis=1)
            # l = a log_norm - sum_c B_c (z_c - m)
            losses = a * log_norm - (1 - e) * idx.w_y * (z_y - m)
            if e:  # the smoothing part of sum_c B_c (z_c - m), with weights w
                wz = z.sum(axis=1, keepdims=True) if w is None else _dot_classes(z, w)
                losses -= (e / C) * (wz - W * m) * idx.kept
            self._denominator = idx.denominator
            self._saved = (z, w, m, lead, rest, log_norm, a, None, idx)
        self._unbatched = unbatched
        return self._unbatch(losses[:, 0], unbatched)

    def _probability_target(self, target, z):
        t = as_float_array("target", target, dtype=z.dtype)
        if t.shape != z.shape:
            raise BadInputError(
                f"target: probability targets must have the input's shape {z.shape}; got {t.shape}"
                " (class indices must be integers)"
            )
        check_finite("target", t)
        check_in_range("target", t, 0.0, 1.0, "probabilities")
        if self.ignore_index != -100:
            raise BadInputError(
                f"ignore_index={self.ignore_index} is only allowed with class-index targets; "
                "got probability targets"
            )
        return t

    def _backward(self, dl):
        z, w, m, lead, rest, log_norm, a, B, idx = self._saved
        e, C = self.label_smoothing, z.shape[1]
        # p_k = e^((z_k - m) - log_norm): the softmax, the only N x C buffer we allocate
        grad = z - m
        grad -= log_norm
        np.exp(grad, out=grad)
        # dl/dz_k = a p_k - B_k
        if B is not None:
            grad *= a
            grad -= B
            b_lead = np.take_along_axis(B, lead, axis=1)
        else:
            if e or w is not None:
                grad *= a
            if e:  # -B_k, smoothing part: -(e / C) w_k
                grad -= (e / C) if w is None else (e / C) * _along_classes(w, z.ndim)
            # -B_k, target part: -(1 - e) w_y at k = y
            at_y = np.take_along_axis(grad, idx.y, axis=1)
            np.put_along_axis(grad, idx.y, at_y - (1 - e) * idx.w_y, axis=1)
            w_lead = 1 if w is None else w[lead]
            b_lead = (1 - e) * idx.w_y * (idx.y == lead) + (e / C) * w_lead
        # the leader's entry a p_lead - B_lead, with p_lead = 1 / (1 + rest), written so
        # that a confident correct prediction keeps its tiny gradient -rest / (1 + rest)
        np.put_along_axis(grad, lead, ((a - b_lead) - b_lead * rest) / (1 + rest), axis=1)
        if idx is not None:  # ignored samples: no gradient
            dl = dl * idx.kept if np.ndim(dl) == 0 else dl[:, None] * idx.kept
        elif np.ndim(dl):
            dl = dl[:, None]
        grad *= dl  # chain rule: dL/dz = dL/dl_n * dl_n/dz
        return grad[0] if self._unbatched else grad

    @classmethod
    def gradcheck_inputs(cls, rng, options):
        for extreme in (False, True):
            z = _sample_logits(rng, extreme)
            kind = "extreme" if extreme else "random"
            y = rng.integers(0, z.shape[1], z.shape[0])
            if extreme:
                y[:3] = [0, 2, 0]  # target at the leader, not at it, at the leader by 1e4
            if options["ignore_index"] == 1:
                y[1] = 1  # one ignored sample
            yield f"{kind} indices", (z, y)
            if options["ignore_index"] == -100:  # probability targets take no ignore_index
                t = rng.dirichlet(np.ones(z.shape[1]), size=z.shape[0])
                yield f"{kind} probs", (z, t)
        z = rng.normal(0, 2, (2, 3, 2))  # the (N, C, d1) form
        y = rng.integers(0, 3, (2, 2))
        if options["ignore_index"] == 1:
            y[0, 0] = 1
        yield "random (N,C,d)", (z, y)


def _dot_classes(z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """sum_c w_c z_c along dimension 1, kept as a dimension, without an N x C temporary."""
    return np.einsum("nc...,c->n...", z, w)[:, None]


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

    References: PyTorch ``torch.nn.NLLLoss``.
    """

    def _forward(self, input, target):
        x, unbatched = _batched("input", input)
        target = np.asarray(target)
        idx = _IndexTargets(
            target[None] if unbatched else target,
            x,
            _class_weight(self.weight, x),
            self.ignore_index,
        )
        losses = -idx.w_y * np.take_along_axis(x, idx.y, axis=1)  # l = -w_y log p_y
        self._denominator = idx.denominator
        self._saved = (x.shape, x.dtype, idx)
        self._unbatched = unbatched
        return self._unbatch(losses[:, 0], unbatched)

    def _backward(self, dl):
        shape, dtype, idx = self._saved
        grad = np.zeros(shape, dtype=dtype)
        dl = dl if np.ndim(dl) == 0 else dl[:, None]
        np.put_along_axis(grad, idx.y, -idx.w_y * dl, axis=1)  # dl/dx_k = -w_y [k = y]
        return grad[0] if self._unbatched else grad

    @classmethod
    def gradcheck_inputs(cls, rng, options):
        for kind, z in (
            ("random", _sample_logits(rng, False)),
            ("extreme", _sample_logits(rng, True)),
        ):
            y = rng.integers(0, z.shape[1], z.shape[0])
            if options["ignore_index"] == 1:
                y[1] = 1
            yield kind, (log_softmax(z, axis=1), y)
