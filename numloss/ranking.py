"""Ranking losses: learning an order or a distance rather than a class.

The lesson's introduction promises them as the step beyond classification: instead
of "which class?", "which of two is better?" (`MarginRankingLoss`) and "is this
closer to that one than to the other?" (`TripletMarginLoss`, face recognition's
loss). Both are hinges, max(0, margin - something), so they share the hinge's kink
and its minimum-norm subgradient 0 at the margin. Every input is differentiable:
``backward`` returns one gradient per input, in input order.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import check_choice, check_option, check_sign_labels, same_shape_floats
from .base import Loss

__all__ = ["MarginRankingLoss", "TripletMarginLoss"]


class MarginRankingLoss(Loss):
    r"""Pairwise ranking loss, as ``torch.nn.MarginRankingLoss``.

    Domain: ``input1`` x1 and ``input2`` x2 hold scores of one shape; ``target`` y is
    +1 where x1 should rank higher, -1 where x2 should.

        l = max(0, -y (x1 - x2) + margin)

    With margin 0 only the order matters; a positive margin asks for a gap.

    Textbook form: `numloss.textbook.margin_ranking`, the formula as written; the two
    agree to 1e-12 on every option
    (`tests/test_textbook.py::test_textbook_agrees_with_the_class`): no tail to lose.

    Gradient, with a = [-y (x1 - x2) + margin > 0] (the pair violates the margin):

        dl/dx1 = -y a,      dl/dx2 = y a

    At the margin exactly, the minimum-norm subgradient 0 (PyTorch's clamp passes -y
    and y there; numloss follows the contract of returning the smallest subgradient).

    >>> import numloss as nl
    >>> loss = nl.MarginRankingLoss(margin=0.5, reduction="none")
    >>> loss([3.0, 1.0, 2.0], [1.0, 2.0, 1.8], [1.0, 1.0, 1.0])  # ok, wrong, too close
    array([0. , 1.5, 0.3])
    >>> d1, d2 = loss.backward([1.0, 1.0, 1.0])
    >>> d1, d2
    (array([ 0., -1., -1.]), array([0., 1., 1.]))

    References: PyTorch ``torch.nn.MarginRankingLoss``.
    """

    inputs = ("input1", "input2", "target")
    differentiable = ("input1", "input2")

    class Inputs(NamedTuple):
        x1: np.ndarray  # the first scores
        x2: np.ndarray  # the second scores
        y: np.ndarray  # +1 where x1 should rank higher, -1 where x2 should

    class Parts(NamedTuple):
        y: np.ndarray  # +1 where x1 should rank higher, -1 where x2 should
        gap: np.ndarray  # margin - y (x1 - x2)
        active: np.ndarray  # a = [margin - y (x1 - x2) > 0]: the pair violates the margin

    def __init__(self, margin: float = 0.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = check_option("margin", margin)

    def _inputs(self, input1, input2, target):
        x1, x2, y = same_shape_floats(self.inputs, input1, input2, target)
        check_sign_labels("target", y)
        return self.Inputs(x1, x2, y)

    def _parts(self, inputs):
        gap = self.margin - inputs.y * (inputs.x1 - inputs.x2)
        return self.Parts(inputs.y, gap, gap > 0)

    def _losses(self, parts):
        """l = max(0, margin - y (x1 - x2))"""
        return np.maximum(parts.gap, 0)

    def _gradient(self, parts, dl):
        """dl/dx1 = -y a and dl/dx2 = y a"""
        d_x1 = np.where(parts.active, -parts.y, 0) * dl
        d_x2 = np.where(parts.active, parts.y, 0) * dl
        return d_x1, d_x2


def p_norm(v: np.ndarray, p: float) -> np.ndarray:
    """||v||_p = (sum_k |v_k|^p)^(1/p) over the last axis."""
    if p == 2:
        return np.sqrt(np.einsum("...k,...k->...", v, v))
    if p == 1:
        return np.abs(v).sum(axis=-1)
    return (np.abs(v) ** p).sum(axis=-1) ** (1 / p)


def p_norm_gradient(v: np.ndarray, d: np.ndarray, p: float) -> np.ndarray:
    """d||v||_p / dv, given d = ||v||_p.

    From d = (sum_k |v_k|^p)^(1/p):

        dd/dv_k = (1/p) d^(1-p) * p |v_k|^(p-1) sign(v_k) = sign(v_k) (|v_k| / d)^(p-1)

    which is v / d for p = 2 and sign(v) for p = 1. Written with |v_k| / d <= 1 so that
    nothing overflows. Where d = 0 the minimum-norm subgradient of a norm, 0. For p < 1
    the slope |v_k|^(p-1) is infinite at a coordinate v_k = 0 (the "norm" has a cusp
    there): the subgradient chosen is 0 in that coordinate, as at p = 1, never NaN.
    """
    d = d[..., None]
    if p == 1:
        return np.sign(v)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # 0 below where d or v_k is
        if p == 2:
            slope = v / d
        elif p > 1:
            slope = np.sign(v) * (np.abs(v) / d) ** (p - 1)  # |v_k| / d <= 1: no overflow
        else:  # (|v_k| / d)^(p - 1) >= 1, in logs: a tiny |v_k| / d must not underflow to 0
            slope = np.sign(v) * np.exp((p - 1) * (np.log(np.abs(v)) - np.log(d)))
    return np.where((d > 0) & (v != 0), slope, 0)


class TripletMarginLoss(Loss):
    r"""Triplet loss, as ``torch.nn.TripletMarginLoss``.

    Domain: ``anchor`` a, ``positive`` pos and ``negative`` neg are embeddings of shape
    (N, D) or (D,): pos should lie closer to a than neg does, by at least ``margin``.
    (p is PyTorch's name for the norm's degree, so the positive is called pos here.)

        d(u, v) = ||u - v + eps||_p          (PyTorch's pairwise_distance; any p > 0)
        l = max(0, margin + d(a, pos) - d(a, neg))

    With ``swap=True`` the negative distance is min(d(a, neg), d(pos, neg)) (Balntas et
    al. 2016): the harder of the two negatives.

    ``margin`` must be > 0, as PyTorch requires.

    Textbook form: `numloss.textbook.triplet_margin`, the formula as written;
    `tests/test_textbook.py::test_the_swap_keeps_d_a_n_on_a_tie_as_the_class_does` shows
    where the two part.

    Gradient, with A = [l > 0], v_ap = a - pos + eps, v_an = a - neg + eps, and the norm's
    gradient g(v) = d||v||_p/dv = sign(v) (|v| / ||v||_p)^(p-1) (see `p_norm_gradient`:
    v / ||v||_2 for p = 2, sign(v) for p = 1):

        dl/da   = A (g(v_ap) - g(v_an))
        dl/dpos = -A g(v_ap)
        dl/dneg = A g(v_an)

    and when the swap picks d(pos, neg) (v_pn = pos - neg + eps), the negative term moves
    to pos:

        dl/da = A g(v_ap),  dl/dpos = -A (g(v_ap) + g(v_pn)),  dl/dneg = A g(v_pn).

    At l = 0 exactly, the minimum-norm subgradient 0; for p < 1, 0 in a coordinate where
    v is 0 (`p_norm_gradient`). On a tie d(a, neg) = d(pos, neg) the swap keeps d(a, neg).

    >>> import numpy as np, numloss as nl
    >>> a, pos, neg = np.array([[0.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([[2.0, 0.0]])
    >>> loss = nl.TripletMarginLoss(margin=2.0, eps=0.0)
    >>> float(loss(a, pos, neg))  # 2 + 1 - 2
    1.0
    >>> [g.round(3).tolist() for g in loss.backward()]
    [[[1.0, -1.0]], [[0.0, 1.0]], [[-1.0, 0.0]]]

    References: PyTorch ``torch.nn.TripletMarginLoss``; Schroff et al., "FaceNet"
    (2015); Balntas et al., "Learning local feature descriptors with triplets" (2016).
    """

    inputs = ("anchor", "positive", "negative")
    differentiable = ("anchor", "positive", "negative")

    class Inputs(NamedTuple):
        a: np.ndarray  # the anchors, (N, D)
        pos: np.ndarray  # the positives
        neg: np.ndarray  # the negatives
        unbatched: bool  # one (D,) triplet came without its batch dimension

    class Parts(NamedTuple):
        v_ap: np.ndarray  # v_ap = a - pos + eps
        d_ap: np.ndarray  # d(a, pos) = ||v_ap||_p
        v_an: np.ndarray  # v_an = a - neg + eps
        d_an: np.ndarray  # d(a, neg) = ||v_an||_p
        v_pn: np.ndarray | None  # v_pn = pos - neg + eps (with swap)
        d_pn: np.ndarray | None  # d(pos, neg) = ||v_pn||_p (with swap)
        swapped: np.ndarray  # where the swap took d(pos, neg) as the negative distance
        d_neg: np.ndarray  # d(a, neg), or min(d(a, neg), d(pos, neg)) with swap
        gap: np.ndarray  # margin + d(a, pos) - d_neg
        active: np.ndarray  # A = [l > 0]

    def __init__(
        self,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        reduction: str = "mean",
    ):
        super().__init__(reduction)
        self.margin = check_option("margin", margin)
        if self.margin <= 0:
            raise ValueError(f"margin: expected margin > 0, as PyTorch requires; got {margin!r}")
        self.p = check_option("p", p)
        if self.p <= 0:
            raise ValueError(f"p: expected a norm degree p > 0; got {p!r}")
        self.eps = check_option("eps", eps, 0.0)
        self.swap = check_choice("swap", swap, (False, True))

    def _inputs(self, anchor, positive, negative):
        a, pos, neg = same_shape_floats(self.inputs, anchor, positive, negative)
        if a.ndim not in (1, 2) or a.shape[-1] == 0:
            raise ValueError(f"anchor: expected shape (D,) or (N, D) with D >= 1; got {a.shape}")
        if a.ndim == 1:  # one triplet: a batch of one
            return self.Inputs(a[None], pos[None], neg[None], True)
        return self.Inputs(a, pos, neg, False)

    def _parts(self, inputs):
        v_ap, v_an = inputs.a - inputs.pos + self.eps, inputs.a - inputs.neg + self.eps
        d_ap, d_an = p_norm(v_ap, self.p), p_norm(v_an, self.p)
        v_pn = d_pn = None
        swapped, d_neg = np.zeros(d_an.shape, dtype=bool), d_an
        if self.swap:  # the harder negative: pos is closer to neg than a is
            v_pn = inputs.pos - inputs.neg + self.eps
            d_pn = p_norm(v_pn, self.p)
            swapped = d_pn < d_an
            d_neg = np.where(swapped, d_pn, d_an)
        gap = self.margin + d_ap - d_neg
        return self.Parts(v_ap, d_ap, v_an, d_an, v_pn, d_pn, swapped, d_neg, gap, gap > 0)

    def _losses(self, parts):
        """l = max(0, margin + d(a, pos) - d_neg)"""
        return np.maximum(parts.gap, 0)

    def _gradient(self, parts, dl):
        """dl/da = A (g(v_ap) - g(v_an)), dl/dpos = -A g(v_ap), dl/dneg = A g(v_an)
        (on rows the swap took: A g(v_ap), -A (g(v_ap) + g(v_pn)), A g(v_pn))"""
        swapped = parts.swapped[:, None]
        g_ap = p_norm_gradient(parts.v_ap, parts.d_ap, self.p)  # d||v_ap|| / dv_ap
        g_an = p_norm_gradient(parts.v_an, parts.d_an, self.p)  # d||v_an|| / dv_an
        g_an = np.where(swapped, 0, g_an)  # (not in the loss on swapped rows)
        grad_a = g_ap - g_an  # d/da [d(a, pos) - d(a, neg)]
        grad_pos = -g_ap  # d/dpos d(a, pos): a minus sign, from v_ap = a - pos
        grad_neg = g_an  # d/dneg [-d(a, neg)]
        if self.swap:  # rows that took -d(pos, neg) instead of -d(a, neg)
            g_pn = np.where(swapped, p_norm_gradient(parts.v_pn, parts.d_pn, self.p), 0)
            grad_pos -= g_pn
            grad_neg += g_pn
        # chain rule: times A dL/dl, one per row; 0 on rows where the hinge is flat (A = 0),
        # whatever a norm's slope is there (p < 1 makes it as large as the float allows)
        active, dl = parts.active[:, None], np.reshape(dl, (-1, 1))
        return tuple(np.where(active, g * dl, 0.0) for g in (grad_a, grad_pos, grad_neg))
