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
minimum-norm subgradient, 0 (as PyTorch does), and the gradient checker reports a
kink there rather than a failure.
"""

from __future__ import annotations

import numpy as np

from ._validate import (
    BadInputError,
    as_float_array,
    as_weight,
    check_choice,
    check_class_indices,
    check_finite,
    check_option,
    check_sign_labels,
    check_weight,
)
from .base import Loss, Sampled
from .primitives import sigmoid, softplus

__all__ = ["HingeLoss", "MultiMarginLoss", "SoftMarginLoss", "SquaredHingeLoss"]


def _sign_labels(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape)


class _BinaryMarginLoss(Loss):
    """Scores and -1/+1 labels of the same shape; the margin u = y f."""

    def _scores_and_labels(self, input, target):
        f, y = self._input_and_target(input, target)
        check_sign_labels("target", y)
        return f, y

    @classmethod
    def gradcheck_inputs(cls, rng, options):
        margin = options.get("margin", 1.0)
        y = _sign_labels(rng, (4, 3))
        yield "random", (rng.normal(0, 2, (4, 3)), y)
        # u = y f at, just inside and just outside the margin, and at the boundary
        u = np.array([margin, margin - 1e-3, margin + 1e-3, 0.0, -1e4, 1e4])
        y = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
        yield "kinks/extreme", (u * y, y)


class HingeLoss(_BinaryMarginLoss):
    r"""Binary hinge loss (lesson 2.2.1): ``l = max(0, margin - y f)``.

    Domain: ``input`` f holds scores (any real), ``target`` y labels -1 or +1 (0/1
    labels are an error: convert them with ``2*y - 1``). Keras calls it ``Hinge``;
    PyTorch has no binary hinge module (the lesson writes it by hand).

    Gradient, with u = y f:

        dl/du = -1 where u < margin, 0 where u > margin
        dl/df = dl/du * du/df = -y [y f < margin]

    At u = margin exactly the minimum-norm subgradient 0 is returned.

    The lesson's three zones, margin 1:

    >>> import numloss as nl
    >>> loss = nl.HingeLoss(reduction="none")
    >>> loss([2.0, 0.5, -1.0], [1.0, 1.0, 1.0])  # safe, too close, wrong
    array([0. , 0.5, 2. ])
    >>> loss.backward([1.0, 1.0, 1.0])
    array([ 0., -1., -1.])

    References: the lesson, section 2.2; Keras ``Hinge``; Cortes and Vapnik (1995).
    """

    gradcheck_options = {"reduction": ("mean", "sum", "none"), "margin": (1.0, 0.5)}

    def __init__(self, margin: float = 1.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = check_option("margin", margin)

    def _forward(self, input, target):
        f, y = self._scores_and_labels(input, target)
        gap = self.margin - y * f  # margin - u: > 0 inside the margin
        self._y, self._inside = y, gap > 0
        return np.maximum(gap, 0)

    def _backward(self, dl):
        return np.where(self._inside, -self._y, 0) * dl  # dl/df = -y [margin - y f > 0]


class SquaredHingeLoss(HingeLoss):
    r"""Squared hinge loss: ``l = max(0, margin - y f)^2``.

    Domain as `HingeLoss` (labels -1/+1). Keras ``SquaredHinge``. Squaring makes the
    loss differentiable at the margin and punishes large violations more.

    Gradient, with g = max(0, margin - y f):

        dl/df = 2 g * d(margin - y f)/df = -2 y g

    which is 0 at the margin from both sides: no kink.

    >>> import numloss as nl
    >>> loss = nl.SquaredHingeLoss(reduction="none")
    >>> loss([2.0, 0.5, -1.0], [1.0, 1.0, 1.0])
    array([0.  , 0.25, 4.  ])
    >>> loss.backward([1.0, 1.0, 1.0])
    array([-0., -1., -4.])

    References: Keras ``SquaredHinge``.
    """

    def _forward(self, input, target):
        f, y = self._scores_and_labels(input, target)
        self._y, self._g = y, np.maximum(self.margin - y * f, 0)  # g = max(0, margin - y f)
        return self._g * self._g

    def _backward(self, dl):
        return -2 * self._y * self._g * dl  # dl/df = -2 y g


class SoftMarginLoss(_BinaryMarginLoss):
    r"""Soft margin loss: ``l = log(1 + e^(-y x))``, as ``torch.nn.SoftMarginLoss``.

    Domain: ``input`` x holds scores, ``target`` y labels -1 or +1. It is the logistic
    loss written with the margin u = y x, a smooth hinge: BCE-with-logits for labels
    (y + 1) / 2.

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

    def _forward(self, input, target):
        x, y = self._scores_and_labels(input, target)
        self._y, self._u = y, y * x  # u = y x, exact since y = ±1
        return softplus(-self._u)

    def _backward(self, dl):
        return -self._y * sigmoid(-self._u) * dl  # dl/dx = -y sigmoid(-y x)


class MultiMarginLoss(Loss):
    r"""Multi-class hinge loss, as ``torch.nn.MultiMarginLoss``.

    Domain: ``input`` x holds scores of shape (N, C) or (C,); ``target`` class indices
    in [0, C) of shape (N,) or (); ``weight`` one non-negative number per class; p is 1
    or 2. Every wrong class i must score at least ``margin`` below the true class y:

        l_n = sum_{i != y} w_y max(0, margin - x_y + x_i)^p / C

    The mean is over samples (sum / N), not over weights.

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

    References: PyTorch ``torch.nn.MultiMarginLoss``; Weston and Watkins (1999).
    """

    gradcheck_options = {
        "reduction": ("mean", "sum", "none"),
        "p": (1, 2),
        "margin": (1.0, 0.5),
        "weight": (
            None,
            Sampled("w[C]", lambda rng, inputs: rng.uniform(0.5, 2.0, inputs[0].shape[-1])),
        ),
    }

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.p = check_choice("p", p, (1, 2))
        self.margin = check_option("margin", margin)
        self.weight = as_weight("weight", weight)

    def _forward(self, input, target):
        x = as_float_array("input", input)
        check_finite("input", x)
        if x.ndim not in (1, 2) or x.shape[-1] == 0:
            raise BadInputError(f"input: expected shape (C,) or (N, C) with C >= 1; got {x.shape}")
        unbatched = x.ndim == 1
        x2 = x[None] if unbatched else x
        C = x2.shape[1]
        y = np.asarray(target)
        if y.dtype.kind in "iu" and y.shape != x.shape[:-1]:
            raise BadInputError(
                f"target: expected class indices of shape {x.shape[:-1]}; got {y.shape}"
            )
        y = check_class_indices("target", y, C).reshape(-1, 1)
        w_y = (
            1
            if self.weight is None
            else check_weight(
                "weight", self.weight, (C,), x.dtype, f"of length C = {C} (one per class)"
            )[y]
        )
        h = self.margin - np.take_along_axis(x2, y, axis=1) + x2  # h_i = margin - x_y + x_i
        np.put_along_axis(h, y, 0.0, axis=1)  # the sum skips i = y
        hinge = np.maximum(h, 0)
        losses = (w_y * (hinge if self.p == 1 else hinge * hinge)).sum(axis=1) / C
        self._saved = (y, w_y, hinge, C, unbatched)
        return losses[0] if unbatched else losses

    def _backward(self, dl):
        y, w_y, hinge, C, unbatched = self._saved
        if self.p == 1:
            grad = (hinge > 0).astype(hinge.dtype)  # d max(0, h)/dh = [h > 0]
        else:
            grad = 2 * hinge  # d max(0, h)^2/dh = 2 h+
        grad *= w_y / C  # dl/dx_i for i != y: w_y p (h_i+)^(p-1) / C
        np.put_along_axis(grad, y, -grad.sum(axis=1, keepdims=True), axis=1)  # dl/dx_y
        grad *= dl if np.ndim(dl) == 0 else np.reshape(dl, (-1, 1))
        return grad[0] if unbatched else grad

    @classmethod
    def gradcheck_inputs(cls, rng, options):
        yield "random", (rng.normal(0, 1, (4, 5)), rng.integers(0, 5, 4))
        m = options["margin"]
        # h_i = margin - x_y + x_i exactly 0 (a kink), ±1e-3 (near it), and ±1e4
        x = np.array([[-m, 0.0, -3.0], [0.0, 1e-3 - m, -1e-3 - m], [1e4, 0.0, -1e4]])
        yield "kinks/extreme", (x, np.array([1, 0, 1]))
