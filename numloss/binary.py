"""Binary losses: BCE on probabilities, BCE on logits, and MSE (lesson section 2.1).

One label per element, y in {0, 1} (or a soft label in [0, 1]); the model's output is
a probability p (`BCELoss`) or a logit x with p = sigmoid(x) (`BCEWithLogitsLoss`).
`MSELoss` is here because section 2.1.3 compares it with BCE.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import (
    as_weight,
    check_binary_labels,
    check_option,
    check_probabilities,
    check_soft_labels,
    check_weight,
    same_shape_floats,
    warn_if_probabilities_for_logits,
)
from .base import Loss
from .fast import binary as fast_binary
from .primitives import sigmoid_pair, softplus, softplus_pair

__all__ = ["BCELoss", "BCEWithLogitsLoss", "FocalLoss", "MSELoss"]


class _WeightedBinaryLoss(Loss):
    """The part `BCELoss` and `BCEWithLogitsLoss` share: an optional element weight.

    ``weight`` rescales each element's loss and broadcasts to the input's shape (PyTorch:
    "a manual rescaling weight given to the loss of each batch element"). It does not
    enter the mean's denominator: mean = sum_n w_n l_n / N.
    """

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.weight = as_weight("weight", weight)

    def _weight_like(self, x: np.ndarray):
        """The weight as a view of x's shape (or None), still in its own dtype: `_parts`
        casts it to x's (on the fast path a block at a time, so that a float64 weight for
        a float32 input never becomes one more array of the input's size)."""
        if self.weight is None:
            return None
        where = f"broadcastable to the input's shape {x.shape}"
        w = check_weight("weight", self.weight, x.shape, self.weight.dtype, where)
        return np.broadcast_to(w, x.shape)  # a view: no copy


class BCELoss(_WeightedBinaryLoss):
    r"""Binary cross-entropy on probabilities: ``l = -w [y log p + (1 - y) log(1 - p)]``.

    Domain: ``input`` p holds probabilities in [0, 1] (a sigmoid's output), ``target``
    y labels in {0, 1} or soft labels in [0, 1], of p's shape; ``weight`` (optional)
    broadcasts to p's shape.

    Formula (PyTorch's ``nn.BCELoss``): the formula is the lesson's "if-else":
    -log p when y = 1 and -log(1 - p) when y = 0. Each log is clamped at -100, so a
    confidently wrong p = 0 costs 100 rather than infinity:

        l = -w [y max(log p, -100) + (1 - y) max(log(1 - p), -100)]

    Textbook form: `numloss.textbook.bce` (and `numloss.textbook.lesson_bce`, the
    lesson's two lines), the formula as written;
    `tests/test_textbook.py::test_bce_textbook_rounds_log_one_minus_p` shows where the
    two part.

    Gradient, step by step:

        d/dp [y log p]             = y / p
        d/dp [(1 - y) log(1 - p)]  = -(1 - y) / (1 - p)
        dl/dp = -w [y / p - (1 - y) / (1 - p)]        (= w (p - y) / (p (1 - p)))

    Where a clamp is active (log p <= -100: p <= 3.7e-44) its term is the constant -100
    and contributes 0 to the gradient. This is the honest derivative of the clamped
    loss, which the gradient checker verifies; PyTorch instead returns
    w (p - y) / max(p (1 - p), 1e-12) there. Either way the gradient of a saturated
    probability carries no signal, one reason the lesson (2.1.4) recommends
    `BCEWithLogitsLoss`.

    Stable form: ``log1p(-p)`` for log(1 - p), exact for small p where log(1 - p)
    rounds 1 - p first. The clamp matches PyTorch.

    Example, the lesson's spam models A, B and C (true label y = 1):

    >>> import numloss as nl
    >>> nl.BCELoss(reduction="none")([0.9, 0.55, 0.1], [1.0, 1.0, 1.0]).round(3)
    array([0.105, 0.598, 2.303])
    >>> loss = nl.BCELoss()
    >>> print(round(float(loss([0.9, 0.55, 0.1], [1.0, 1.0, 1.0])), 4))
    1.0018
    >>> loss.backward().round(4)  # -1 / (3 p): the wronger, the steeper
    array([-0.3704, -0.6061, -3.3333])

    References: PyTorch ``torch.nn.BCELoss``; the lesson, section 2.1.
    """

    domain = {"input": (0.0, 1.0)}  # for the gradient checker: p's steps stay in [0, 1]

    class Inputs(NamedTuple):
        p: np.ndarray  # the predicted probabilities
        y: np.ndarray  # the labels
        w: np.ndarray | None  # the element weight, a view of p's shape, its own dtype

    class Parts(NamedTuple):
        p: np.ndarray  # the predicted probabilities, in [0, 1]
        y: np.ndarray  # the labels: 1 or 0, or soft labels in [0, 1]
        w: np.ndarray | None  # the element weight (None: 1 everywhere)
        log_p: np.ndarray  # log p, clamped at -100
        log_q: np.ndarray  # log q = log(1 - p), clamped at -100 (computed as log1p(-p))

    def _inputs(self, input, target):
        p, y = same_shape_floats(self.inputs, input, target)
        check_probabilities("input", p)  # in [0, 1], else: "use BCEWithLogitsLoss"
        check_soft_labels("target", y)
        return self.Inputs(p, y, self._weight_like(p))

    def _parts(self, inputs):
        p, y, w = inputs
        w = None if w is None else w.astype(p.dtype, copy=False)  # in p's dtype
        with np.errstate(divide="ignore"):  # log 0 = -inf, clamped to -100
            log_p = np.maximum(np.log(p), -100)
            log_q = np.maximum(np.log1p(-p), -100)  # q = 1 - p
        return self.Parts(p, y, w, log_p, log_q)

    def _losses(self, parts):
        """l = -w [y log p + (1 - y) log(1 - p)]"""
        _, y, w, log_p, log_q = parts
        losses = -(y * log_p + (1 - y) * log_q)
        return losses if w is None else losses * w

    def _gradient(self, parts, dl):
        """dl/dp = w [-y / p + (1 - y) / (1 - p)], 0 for a clamped term"""
        p, y, w, log_p, log_q = parts
        # the chain rule's factor c = w dL/dl goes into the numerators before the division:
        # alone, y / p overflows float32 for p < 3e-39 although c y / p is finite
        c = dl if w is None else w * dl
        # d/dp [-y log p] = -y / p (0 where log p is clamped; inf only where the true value
        # is beyond the float's range, as at p = 1e-40 in float32 with c = 1)
        with np.errstate(over="ignore"):
            grad = np.divide(-y * c, p, out=np.zeros_like(p), where=log_p > -100)
        # d/dp [-(1 - y) log(1 - p)] = (1 - y) / (1 - p) (0 where log(1 - p) is clamped)
        grad += np.divide((1 - y) * c, 1 - p, out=np.zeros_like(p), where=log_q > -100)
        return grad


class BCEWithLogitsLoss(_WeightedBinaryLoss):
    r"""Binary cross-entropy on logits: BCE of p = sigmoid(x), computed without p.

    Domain: ``input`` x holds logits (any real number), ``target`` y labels in {0, 1}
    or soft labels in [0, 1], of x's shape. ``weight`` broadcasts to x's shape;
    ``pos_weight`` multiplies the positive term and broadcasts over the last dimension
    (one value per class: > 1 raises recall, < 1 precision).

    Formula (PyTorch's ``nn.BCEWithLogitsLoss``), with pw = pos_weight and the two
    terms' coefficients a = pw y (the positive term) and b = 1 - y (the negative term):

        l = -w [a log sigmoid(x) + b log(1 - sigmoid(x))]
          =  w [a softplus(-x)   + b softplus(x)]

    because log sigmoid(x) = -softplus(-x) and log(1 - sigmoid(x)) = log sigmoid(-x)
    = -softplus(x).

    Textbook form: `numloss.textbook.bce_with_logits`, the formula as written;
    `tests/test_textbook.py::test_bce_with_logits_textbook_rounds_a_tiny_loss_to_zero`
    shows where the two part.

    Gradient, step by step (softplus'(x) = sigmoid(x)):

        d/dx softplus(-x) = -sigmoid(-x)
        d/dx softplus(x)  =  sigmoid(x)
        dl/dx = w [-a sigmoid(-x) + b sigmoid(x)]

    With pw = 1 and a 0/1 label this is the familiar sigmoid(x) - y.

    Stable form: both terms are softplus of something, each non-negative and computed
    as max(t, 0) + log1p(e^-|t|) (see `numloss.softplus`), so no log ever sees a
    probability that rounded to 0 or 1. Logits of ±1e4 give a finite loss and
    gradient; at x = -40, y = 0 the loss is softplus(-40) = 4.25e-18, where PyTorch,
    which adds the two exponentials inside a log (not a log1p), returns 0. In the
    gradient, sigmoid(-x) is used for 1 - sigmoid(x) for the same reason.

    Memory and time: large inputs take the fast path (`numloss.fast`), which runs these
    same parts a block of rows at a time.

    Example, the lesson's models A, B and C as logits (sigmoid(x) = 0.9, 0.55, 0.1):

    >>> import numpy as np, numloss as nl
    >>> logits = np.log([0.9 / 0.1, 0.55 / 0.45, 0.1 / 0.9])
    >>> loss = nl.BCEWithLogitsLoss(reduction="none")
    >>> loss(logits, [1.0, 1.0, 1.0]).round(3)
    array([0.105, 0.598, 2.303])
    >>> loss.backward().round(3)  # sigmoid(x) - 1 = p - y
    array([-0.1 , -0.45, -0.9 ])

    References: PyTorch ``torch.nn.BCEWithLogitsLoss``; the lesson, section 2.1.4;
    M. Mächler, "Accurately computing log(1 - exp(-|a|))", 2012.
    """

    class Inputs(NamedTuple):
        x: np.ndarray  # the logits
        y: np.ndarray  # the labels
        pw: np.ndarray | None  # pos_weight, a view of x's shape, its own dtype (None: 1)
        w: np.ndarray | None  # the element weight, likewise (None: 1)

    class Parts(NamedTuple):
        x: np.ndarray  # the logits
        a: np.ndarray  # pw y, the positive term's coefficient
        b: np.ndarray  # 1 - y, the negative term's coefficient
        w: np.ndarray | None  # the element weight (None: 1 everywhere)
        softplus_neg_x: np.ndarray  # softplus(-x) = -log sigmoid(x)
        softplus_x: np.ndarray  # softplus(x) = -log(1 - sigmoid(x))
        sigmoid_x: np.ndarray  # sigmoid(x) = p, the predicted probability
        sigmoid_neg_x: np.ndarray  # sigmoid(-x) = 1 - p, computed without the subtraction

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(weight, reduction)
        self.pos_weight = as_weight("pos_weight", pos_weight)

    def _inputs(self, input, target):
        x, y = same_shape_floats(self.inputs, input, target)
        check_soft_labels("target", y)
        warn_if_probabilities_for_logits("input", x, "BCEWithLogitsLoss")
        return self.Inputs(x, y, self._pos_weight_like(x), self._weight_like(x))

    _fast = fast_binary  # large inputs: numloss/fast/binary.py

    def _parts(self, inputs):
        a, b, w = self._coefficients(inputs)
        softplus_x, softplus_neg_x = softplus_pair(inputs.x)
        sigmoid_x, sigmoid_neg_x = sigmoid_pair(inputs.x)
        return self.Parts(inputs.x, a, b, w, softplus_neg_x, softplus_x, sigmoid_x, sigmoid_neg_x)

    @staticmethod
    def _coefficients(inputs):
        """a = pw y, b = 1 - y and the weight, in the logits' dtype."""
        pw, w = (
            None if v is None else v.astype(inputs.x.dtype, copy=False)
            for v in (inputs.pw, inputs.w)
        )
        a = inputs.y if pw is None else pw * inputs.y  # the positive term's coefficient pw y
        b = 1 - inputs.y  # the negative term's coefficient
        return a, b, w

    def _losses(self, parts):
        """l = w [a softplus(-x) + b softplus(x)]"""
        losses = parts.a * parts.softplus_neg_x  # a (-log sigmoid(x))
        losses += parts.b * parts.softplus_x  # b (-log(1 - sigmoid(x)))
        return losses if parts.w is None else losses * parts.w

    def _gradient(self, parts, dl):
        """dl/dx = w [-a sigmoid(-x) + b sigmoid(x)]  (p - y when w = pw = 1)"""
        grad = -parts.a * parts.sigmoid_neg_x  # d/dx [a softplus(-x)] = -a sigmoid(-x)
        grad += parts.b * parts.sigmoid_x  # d/dx [b softplus(x)] = b sigmoid(x)
        if parts.w is not None:
            grad *= parts.w
        grad *= dl  # chain rule: dL/dx = dL/dl * dl/dx
        return grad

    def _pos_weight_like(self, x: np.ndarray):
        if self.pos_weight is None:
            return None
        width = x.shape[-1] if x.ndim else 1
        pw = check_weight(  # in its own dtype, as the weight (see _weight_like)
            "pos_weight",
            self.pos_weight,
            x.shape,
            self.pos_weight.dtype,
            f"of length {width} (one per class, the input's last dimension) or broadcastable "
            f"to the input's shape {x.shape}",
        )
        return np.broadcast_to(pw, x.shape)  # a view: no copy of the input's size


class MSELoss(Loss):
    r"""Mean squared error: ``l = (x - y)^2``.

    Domain: ``input`` x and ``target`` y real arrays of the same shape.

    Textbook form: `numloss.textbook.mse`, the formula as written; the two agree to
    1e-12 on every option
    (`tests/test_textbook.py::test_textbook_agrees_with_the_class`): no tail to lose.

    Gradient: dl/dx = 2 (x - y).

    In the lesson (2.1.3) MSE on a sigmoid's output is the example of a loss that is
    not convex in the logit: l(z) = (sigmoid(z) - y)^2 has
    dl/dz = 2 (sigmoid(z) - y) sigmoid(z) (1 - sigmoid(z)), which flattens out exactly
    where the prediction is confidently wrong, while BCE's sigmoid(z) - y does not.

    >>> import numloss as nl
    >>> loss = nl.MSELoss()
    >>> print(float(loss([0.9, 0.55, 0.1], [1.0, 1.0, 1.0])).__round__(4))
    0.3408
    >>> loss.backward().round(4)  # 2 (x - y) / N
    array([-0.0667, -0.3   , -0.6   ])

    References: PyTorch ``torch.nn.MSELoss``.
    """

    class Inputs(NamedTuple):
        x: np.ndarray  # the input
        y: np.ndarray  # the target

    class Parts(NamedTuple):
        diff: np.ndarray  # x - y

    def _inputs(self, input, target):
        return self.Inputs(*same_shape_floats(self.inputs, input, target))

    def _parts(self, inputs):
        return self.Parts(inputs.x - inputs.y)

    def _losses(self, parts):
        """l = (x - y)^2"""
        return parts.diff * parts.diff

    def _gradient(self, parts, dl):
        """dl/dx = 2 (x - y)"""
        # times dL/dl before the 2: with the mean's 1/N the product stays finite up to
        # the dtype's largest number, where 2 (x - y) alone would overflow first
        return 2 * (parts.diff * dl)


class FocalLoss(Loss):
    r"""Focal loss on logits (Lin et al. 2017), as torchvision's ``sigmoid_focal_loss``.

    Domain: ``input`` x holds logits, ``target`` y labels 0 or 1 of x's shape.
    ``alpha`` in [0, 1] weighs the positives (1 - alpha the negatives), or None for
    no weighting; ``gamma`` >= 0 is the focusing power. (torchvision's default
    reduction is "none" and it writes alpha=-1 for None; numloss defaults to "mean".)

    Formula: BCE, scaled down where the model is already right. With p = sigmoid(x),
    p_t = p where y = 1 and 1 - p where y = 0 (the probability of the truth),

        l = alpha_t (1 - p_t)^gamma ce,      ce = -log p_t,
        alpha_t = alpha where y = 1, 1 - alpha where y = 0.

    gamma = 0 and alpha = None give BCE-with-logits exactly; gamma = 2 makes an easy
    example with p_t = 0.9 count 100 times less.

    Textbook form: `numloss.textbook.focal`, the formula as written;
    `tests/test_textbook.py::test_focal_textbook_breaks_at_logit_40` shows where the two
    part.

    Gradient, step by step. Write the margin u = s x with s = 2y - 1 (so u > 0 means
    right). Then p_t = sigmoid(u), and with q = 1 - p_t = sigmoid(-u):

        ce = softplus(-u)                   dce/du = -sigmoid(-u) = -q
        q  = sigmoid(-u)                    dq/du  = -q sigmoid(u)
        d(q^gamma)/du = gamma q^(gamma-1) dq/du = -gamma q^gamma sigmoid(u)
        dl/du = alpha_t [q^gamma dce/du + ce d(q^gamma)/du]
              = -alpha_t q^gamma [q + gamma sigmoid(u) ce]
        dl/dx = s dl/du

    Stable form: q is sigmoid(-u), never 1 - p_t, which is 0 for p_t > 1 - 1e-16 and
    then loses the modulating factor entirely beyond |x| ≈ 37. And q^(gamma-1) never
    appears on its own: it has been multiplied through by q, so gamma < 1 gives finite
    gradients at any logit (where q^(gamma - 1) alone would be 0^(negative) = inf:
    the NaN gradients optax's users report).

    >>> import numpy as np, numloss as nl
    >>> x, y = np.array([2.0, -1.0, 0.5]), np.array([1.0, 0.0, 0.0])
    >>> nl.FocalLoss(reduction="none")(x, y).round(4)
    array([0.0005, 0.017 , 0.2831])
    >>> plain = nl.FocalLoss(alpha=None, gamma=0.0, reduction="none")(x, y)
    >>> bool(np.allclose(plain, nl.BCEWithLogitsLoss(reduction="none")(x, y)))
    True

    References: T.-Y. Lin et al., "Focal Loss for Dense Object Detection" (2017);
    torchvision ``ops.sigmoid_focal_loss``.
    """

    class Inputs(NamedTuple):
        x: np.ndarray  # the logits
        y: np.ndarray  # the labels 0/1

    class Parts(NamedTuple):
        s: np.ndarray  # 2y - 1: +1 for positives, -1 for negatives
        u: np.ndarray  # s x, the margin (> 0 when the prediction is right)
        p_t: np.ndarray  # sigmoid(u), the probability of the truth
        q: np.ndarray  # 1 - p_t = sigmoid(-u), computed directly
        ce: np.ndarray  # -log p_t = softplus(-u)
        q_gamma: np.ndarray  # q^gamma, the modulating factor
        alpha_t: np.ndarray | None  # alpha for positives, 1 - alpha for negatives (or None)

    def __init__(self, alpha: float | None = 0.25, gamma: float = 2.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.alpha = None if alpha is None else check_option("alpha", alpha, 0.0, 1.0)
        self.gamma = check_option("gamma", gamma, 0.0)

    def _inputs(self, input, target):
        x, y = same_shape_floats(self.inputs, input, target)
        check_binary_labels("target", y)
        warn_if_probabilities_for_logits("input", x, "FocalLoss")
        return self.Inputs(x, y)

    def _parts(self, inputs):
        s = 2 * inputs.y - 1  # +1 for positives, -1 for negatives
        u = s * inputs.x  # the margin
        p_t, q = sigmoid_pair(u)  # sigmoid(u), sigmoid(-u)
        ce = softplus(-u)  # -log p_t
        q_gamma = q**self.gamma  # (1 - p_t)^gamma
        alpha_t = None
        if self.alpha is not None:
            alpha_t = np.where(inputs.y == 1, self.alpha, 1 - self.alpha).astype(inputs.x.dtype)
        return self.Parts(s, u, p_t, q, ce, q_gamma, alpha_t)

    def _losses(self, parts):
        """l = alpha_t q^gamma ce"""
        losses = parts.q_gamma * parts.ce
        return losses if parts.alpha_t is None else losses * parts.alpha_t

    def _gradient(self, parts, dl):
        """dl/dx = -s alpha_t q^gamma [q + gamma p_t ce]"""
        s, _, p_t, q, ce, q_gamma, alpha_t = parts
        # dl/du = -alpha_t q^gamma [q + gamma sigmoid(u) ce], with sigmoid(u) = p_t
        grad = q + self.gamma * p_t * ce
        grad *= -q_gamma
        if alpha_t is not None:
            grad *= alpha_t
        grad *= s  # dl/dx = s dl/du
        grad *= dl  # chain rule
        return grad
