"""Margin losses (lesson section 2.2): the "bodyguard" that wants a safe distance.

Labels are -1 and +1, and the model's output f(x) is a raw score (no sigmoid). What
matters is the margin y f(x): positive when the prediction is right, and the larger
the safer. The lesson's three zones for the hinge loss max(0, 1 - y f):

    y f >= 1       safe: loss 0
    0 < y f < 1    right, but too close to the boundary: a light penalty
    y f <= 0       wrong: a penalty growing linearly with the error

`SoftMarginLoss` is the smooth version, log(1 + e^(-y f)): logistic regression's loss
in margin form. `MultiMarginLoss` is the multi-class hinge of PyTorch.

Kinks: max(0, m - u) has no derivative at u = m. There backward returns the
minimum-norm subgradient, 0, and the gradient checker reports a kink there rather than
a failure. PyTorch differs by how a hinge is written: ``torch.relu(m - u)`` also gives
0 at the kink, but ``torch.clamp(m - u, min=0)`` — the lesson's own ``hinge_loss`` —
passes the gradient of m - u (-y) through at the boundary. ``torch.nn.MultiMarginLoss``
tests h > 0 in its kernel and gives 0 there, as numloss does.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._classes import as_class_weight, batched, class_weight, index_targets, over_classes
from ._validate import (
    as_index_array,
    check_choice,
    check_not_one_hot,
    check_option,
    check_sign_labels,
    same_shape_floats,
)
from .base import Loss
from .fast import sparse
from .primitives import positions, sigmoid, softplus, weighted

__all__ = ["HingeLoss", "MultiMarginLoss", "SoftMarginLoss", "SquaredHingeLoss"]


class _BinaryMarginLoss(Loss):
    """Scores and -1/+1 labels of the same shape; the margin u = y f."""

    class Inputs(NamedTuple):
        f: np.ndarray  # the scores
        y: np.ndarray  # the labels -1/+1

    def _inputs(self, input, target):
        f, y = same_shape_floats(self.inputs, input, target)
        check_sign_labels("target", y)
        return self.Inputs(f, y)


class _MarginHinge(_BinaryMarginLoss):
    """The two hinges' ``margin`` option."""

    def __init__(self, margin: float = 1.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = check_option("margin", margin)


class HingeLoss(_MarginHinge):
    r"""Binary hinge loss (lesson 2.2.1): ``l = max(0, margin - y f)``.

    Domain: ``input`` f holds scores (any real), ``target`` y labels -1 or +1 (0/1
    labels are an error: convert them with ``2*y - 1``). Keras calls it ``Hinge``;
    PyTorch has no binary hinge module (the lesson writes it by hand).

    Textbook form: `numloss.textbook.hinge` (and `numloss.textbook.lesson_hinge`, the
    lesson's one line), the formula as written; the two agree to 1e-12 on every option
    (`tests/test_textbook.py::test_textbook_agrees_with_the_class`): no tail to lose.

    Gradient, with u = y f:

        dl/du = -1 where u < margin, 0 where u > margin
        dl/df = dl/du * du/df = -y [u < margin]

    At u = margin exactly the minimum-norm subgradient 0 is returned, as ``torch.relu``
    does; the lesson's ``torch.clamp(1 - y f, min=0)`` passes -y there instead.

    The lesson's three zones, margin 1:

    >>> import numloss as nl
    >>> loss = nl.HingeLoss(reduction="none")
    >>> loss([2.0, 0.5, -1.0], [1.0, 1.0, 1.0])  # safe, too close, wrong
    array([0. , 0.5, 2. ])
    >>> loss.backward([1.0, 1.0, 1.0])
    array([ 0., -1., -1.])

    References: the lesson, section 2.2; Keras ``Hinge``; Cortes and Vapnik (1995).
    """

    class Parts(NamedTuple):
        y: np.ndarray  # the labels -1/+1
        u: np.ndarray  # u = y f, the margin of each prediction
        h: np.ndarray  # margin - u: how far inside the margin (< 0: safe)
        inside: np.ndarray  # [u < margin]: where the hinge is not flat

    def _parts(self, inputs):
        u = inputs.y * inputs.f
        h = self.margin - u
        return self.Parts(inputs.y, u, h, u < self.margin)

    def _losses(self, parts):
        """l = max(0, margin - u)"""
        return np.maximum(parts.h, 0)

    def _gradient(self, parts, dl):
        """dl/df = -y [u < margin] (0 at u = margin: the minimum-norm subgradient)"""
        return np.where(parts.inside, -parts.y, 0) * dl  # dl/du = -1 inside, du/df = y


class SquaredHingeLoss(_MarginHinge):
    r"""Squared hinge loss: ``l = max(0, margin - y f)^2``.

    Domain as `HingeLoss` (labels -1/+1). Keras ``SquaredHinge``. Squaring makes the
    loss differentiable at the margin and punishes large violations more.

    Textbook form: `numloss.textbook.squared_hinge`, the formula as written; the two
    agree to 1e-12 on every option
    (`tests/test_textbook.py::test_textbook_agrees_with_the_class`): no tail to lose.

    Gradient, with g = max(0, margin - y f):

        dl/df = 2 g * d(margin - y f)/df = -2 y g

    which is 0 at the margin from both sides: no kink.

    >>> import numloss as nl
    >>> loss = nl.SquaredHingeLoss(reduction="none")
    >>> loss([2.0, 0.5, -1.0], [1.0, 1.0, 1.0])
    array([0.  , 0.25, 4.  ])
    >>> loss.backward([1.0, 1.0, 1.0])
    array([ 0., -1., -4.])

    References: Keras ``SquaredHinge``.
    """

    class Parts(NamedTuple):
        y: np.ndarray  # the labels -1/+1
        g: np.ndarray  # g = max(0, margin - y f)

    def _parts(self, inputs):
        return self.Parts(inputs.y, np.maximum(self.margin - inputs.y * inputs.f, 0))

    def _losses(self, parts):
        """l = g^2"""
        return parts.g * parts.g

    def _gradient(self, parts, dl):
        """dl/df = -2 y g"""
        return -2 * parts.g * parts.y * dl + 0.0  # (+ 0.0 turns -0 into 0)


class SoftMarginLoss(_BinaryMarginLoss):
    r"""Soft margin loss: ``l = log(1 + e^(-y x))``, as ``torch.nn.SoftMarginLoss``.

    Domain: ``input`` x holds scores, ``target`` y labels -1 or +1. It is the logistic
    loss written with the margin u = y x, a smooth hinge: BCE-with-logits for labels
    (y + 1) / 2.

    Textbook form: `numloss.textbook.soft_margin`, the formula as written;
    `tests/test_textbook.py::test_soft_margin_textbook_breaks_at_both_ends` shows where
    the two part.

    Gradient: l = softplus(-u), so dl/du = -sigmoid(-u) and

        dl/dx = -y sigmoid(-y x).

    Stable form: `softplus` and `sigmoid` (never 1 - sigmoid), so a margin of 40
    gives the loss 4.25e-18, not 0, and a margin of -1e4 a finite 1e4.

    >>> import numloss as nl
    >>> loss = nl.SoftMarginLoss(reduction="none")
    >>> loss([2.0, 0.0, -2.0], [1.0, 1.0, 1.0]).round(4)
    array([0.1269, 0.6931, 2.1269])

    References: PyTorch ``torch.nn.SoftMarginLoss``.
    """

    class Parts(NamedTuple):
        y: np.ndarray  # the labels -1/+1
        u: np.ndarray  # u = y x, the margin (exact, since y = ±1)
        softplus_neg_u: np.ndarray  # softplus(-u) = log(1 + e^-u)
        sigmoid_neg_u: np.ndarray  # sigmoid(-u), the slope of softplus(-u) (with a minus)

    def _parts(self, inputs):
        u = inputs.y * inputs.f
        return self.Parts(inputs.y, u, softplus(-u), sigmoid(-u))

    def _losses(self, parts):
        """l = softplus(-u) = log(1 + e^-u)"""
        return parts.softplus_neg_u

    def _gradient(self, parts, dl):
        """dl/dx = -y sigmoid(-u)"""
        return -parts.y * parts.sigmoid_neg_u * dl


class MultiMarginLoss(Loss):
    r"""Multi-class hinge loss, as ``torch.nn.MultiMarginLoss``.

    Domain: ``input`` x holds scores of shape (N, C) or (C,); ``target`` class indices
    in [0, C) of shape (N,) or (); ``weight`` one non-negative number per class; p is 1
    or 2 (PyTorch accepts only these too). Every wrong class i must score at least
    ``margin`` below the true class y:

        l_n = sum_{i != y} w_y max(0, margin - x_y + x_i)^p / C

    The mean is over samples (sum / N), not over weights.

    Textbook form: `numloss.textbook.multi_margin`, the formula as written; the two
    agree to 1e-12 on every option
    (`tests/test_textbook.py::test_textbook_agrees_with_the_class`): no tail to lose.

    Gradient, with h_i = margin - x_y + x_i and its positive part h_i+:

        dl/dx_i = w_y p (h_i+)^(p - 1) [h_i > 0] / C                 for i != y
        dl/dx_y = -sum_{i != y} dl/dx_i                              (x_y is in every h_i)

    At h_i = 0 the minimum-norm subgradient 0 is returned (p = 1; for p = 2 the
    derivative is 0 there anyway).

    >>> import numloss as nl
    >>> loss = nl.MultiMarginLoss()
    >>> float(loss([[0.1, 0.2, 0.4, 0.8]], [3]))  # PyTorch's documented example
    0.325
    >>> loss.backward()
    array([[ 0.25,  0.25,  0.25, -0.75]])

    Time: a training batch from 1 KiB to 64 KiB (class indices on (N, C) inputs) takes
    `numloss.fast.sparse`, the same steps with the entry at (n, y_n) read and
    written as ``x[rows, y]``, bit for bit.

    References: PyTorch ``torch.nn.MultiMarginLoss``; Weston and Watkins (1999).
    """

    class Inputs(NamedTuple):
        x: np.ndarray  # the scores, (N, C)
        y: np.ndarray  # the class index, (N, 1)
        w_y: np.ndarray  # the target class's weight (1 without weights), (N, 1)
        unbatched: bool  # the input was one (C,) sample

    class Parts(NamedTuple):
        y: np.ndarray  # y, the target class of each sample
        w_y: np.ndarray  # w_y, the target class's weight (1 without weights)
        h: np.ndarray  # h_i = margin - x_y + x_i, with 0 at i = y (the sum skips it)
        h_plus: np.ndarray  # h_i+ = max(0, h_i)

    _sparse = sparse.MULTI_MARGIN  # batches: numloss/fast/sparse.py

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.p = check_choice("p", p, (1, 2))
        self.margin = check_option("margin", margin)
        self.weight = as_class_weight(weight)

    def _inputs(self, input, target):
        x, was_unbatched = batched("input", input)
        if x.ndim != 2:
            raise ValueError(f"input: expected shape (C,) or (N, C); got {np.shape(input)}")
        target = as_index_array("target", target)
        target = target[None] if was_unbatched else target
        check_not_one_hot("target", target, x.shape, takes_probabilities=False)
        w = class_weight(self.weight, x)
        y, _, w_y, _ = index_targets(target, x, w, ignore_index=None)
        return self.Inputs(x, y, w_y, was_unbatched)

    def _parts(self, inputs):
        # h_i = margin - x_y + x_i, as (x_i - x_y) + margin: x_i - x_y is exact when the
        # scores are close, where margin - x_y would round at the scores' size (1e16)
        h = (inputs.x - np.take_along_axis(inputs.x, inputs.y, axis=1)) + self.margin
        h = np.where(positions(h, 1) == inputs.y, 0.0, h)  # the sum skips i = y
        return self.Parts(inputs.y, inputs.w_y, h, np.maximum(h, 0))

    def _losses(self, parts):
        """l_n = sum_{i != y} w_y (h_i+)^p / C"""
        C = parts.h.shape[1]
        powered = parts.h_plus if self.p == 1 else parts.h_plus * parts.h_plus
        sums = powered.sum(axis=1, keepdims=True) / C
        # w_y times that, and 0 where w_y = 0 even if an h_i overflowed (0 inf is NaN)
        return weighted(parts.w_y, sums)[:, 0]

    def _gradient(self, parts, dl):
        """dl_n/dx_i = w_y p (h_i+)^(p - 1) [h_i > 0] / C for i != y; dl_n/dx_y = -(their sum)"""
        C = parts.h.shape[1]
        if self.p == 1:
            grad = (parts.h_plus > 0).astype(parts.h.dtype)  # d max(0, h)/dh = [h > 0]
        else:
            grad = 2 * parts.h_plus  # d max(0, h)^2/dh = 2 h+
        # times w_y / C: dl/dx_i for i != y (0 at i = y, where h+ = 0), and 0 where w_y = 0
        # even if an h_i overflowed (0 inf is NaN)
        grad = weighted(parts.w_y / C, grad)
        at_y = -grad.sum(axis=1, keepdims=True)  # x_y is in every h_i, with a minus
        grad = np.where(positions(grad, 1) == parts.y, at_y, grad)  # at i = y
        return grad * over_classes(dl)  # chain rule
