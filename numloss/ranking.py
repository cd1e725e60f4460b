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

from ._blocks import for_blocks
from ._validate import check_choice, check_option, check_sign_labels, same_shape_floats
from .base import Loss

__all__ = ["MarginRankingLoss", "TripletMarginLoss"]


class MarginRankingLoss(Loss):
    r"""Pairwise ranking loss, as ``torch.nn.MarginRankingLoss``.

    Domain: ``input1`` x1 and ``input2`` x2 hold scores of one shape; ``target`` y is
    +1 where x1 should rank higher, -1 where x2 should.

        l = max(0, -y (x1 - x2) + margin)

    With margin 0 only the order matters; a positive margin asks for a gap.

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

    Textbook form: `numloss.textbook.margin_ranking`, the formula as written, without the
    stable rewrite; the tests show where the two part.

    References: PyTorch ``torch.nn.MarginRankingLoss``.
    """

    inputs = ("input1", "input2", "target")
    differentiable = ("input1", "input2")

    class Record(NamedTuple):
        y: np.ndarray  # +1 where x1 should rank higher, -1 where x2 should
        active: np.ndarray  # a = [-y (x1 - x2) + margin > 0]: the pair violates the margin

    def __init__(self, margin: float = 0.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = check_option("margin", margin)

    def _forward(self, input1, input2, target):
        x1, x2, y = same_shape_floats(self.inputs, input1, input2, target)
        check_sign_labels("target", y)
        gap = self.margin - y * (x1 - x2)  # -y (x1 - x2) + margin
        return np.maximum(gap, 0), self.Record(y, active=gap > 0)

    def _backward(self, r, dl):
        d_x1 = np.where(r.active, -r.y, 0) * dl  # dl/dx1 = -y a
        d_x2 = np.where(r.active, r.y, 0) * dl  # dl/dx2 = y a
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
    nothing overflows. Where d = 0 the minimum-norm subgradient of a norm, 0.
    """
    d = d[..., None]
    if p == 1:
        return np.sign(v)
    with np.errstate(divide="ignore", invalid="ignore"):  # d = 0: replaced by 0 below
        ratio = v / d if p == 2 else np.sign(v) * (np.abs(v) / d) ** (p - 1)
    return np.where(d > 0, ratio, 0)


class TripletMarginLoss(Loss):
    r"""Triplet loss, as ``torch.nn.TripletMarginLoss``.

    Domain: ``anchor`` a, ``positive`` p and ``negative`` n are embeddings of shape
    (N, D) or (D,): p should lie closer to a than n does, by at least ``margin``.

        d(u, v) = ||u - v + eps||_p          (PyTorch's pairwise_distance; any p > 0)
        l = max(0, margin + d(a, p) - d(a, n))

    With ``swap=True`` the negative distance is min(d(a, n), d(p, n)) (Balntas et al.
    2016): the harder of the two negatives.

    ``margin`` must be > 0, as PyTorch requires.

    Gradient, with A = [l > 0], v_ap = a - p + eps, v_an = a - n + eps, and the norm's
    gradient g(v) = d||v||_p/dv = sign(v) (|v| / ||v||_p)^(p-1) (see `p_norm_gradient`:
    v / ||v||_2 for p = 2, sign(v) for p = 1):

        dl/da = A (g(v_ap) - g(v_an))
        dl/dp = -A g(v_ap)
        dl/dn = A g(v_an)

    and when the swap picks d(p, n) (v_pn = p - n + eps), the negative term moves to p:

        dl/da = A g(v_ap),  dl/dp = -A (g(v_ap) + g(v_pn)),  dl/dn = A g(v_pn).

    At l = 0 exactly, the minimum-norm subgradient 0. On a tie d(a, n) = d(p, n) the
    swap keeps d(a, n).

    >>> import numpy as np, numloss as nl
    >>> a, p, n = np.array([[0.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([[2.0, 0.0]])
    >>> loss = nl.TripletMarginLoss(margin=2.0, eps=0.0)
    >>> float(loss(a, p, n))  # 2 + 1 - 2
    1.0
    >>> [g.round(3).tolist() for g in loss.backward()]
    [[[1.0, -1.0]], [[0.0, 1.0]], [[-1.0, 0.0]]]

    Textbook form: `numloss.textbook.triplet_margin`, the formula as written, without the
    stable rewrite; the tests show where the two part.

    References: PyTorch ``torch.nn.TripletMarginLoss``; Schroff et al., "FaceNet"
    (2015); Balntas et al., "Learning local feature descriptors with triplets" (2016).
    """

    inputs = ("anchor", "positive", "negative")
    differentiable = ("anchor", "positive", "negative")

    class Record(NamedTuple):
        a: np.ndarray  # the anchors, (N, D) or (D,): each v is made a block of rows at a time
        p: np.ndarray  # the positives
        n: np.ndarray  # the negatives
        d_ap: np.ndarray  # d(a, p)
        d_an: np.ndarray  # d(a, n)
        d_pn: np.ndarray | None  # d(p, n) (with swap)
        swapped: np.ndarray  # where the swap chose d(p, n) as the negative distance
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

    def _forward(self, anchor, positive, negative):
        a, p, n = same_shape_floats(self.inputs, anchor, positive, negative)
        if a.ndim not in (1, 2) or a.shape[-1] == 0:
            raise ValueError(f"anchor: expected shape (D,) or (N, D) with D >= 1; got {a.shape}")
        rows_a, rows_p, rows_n = _rows(a), _rows(p), _rows(n)  # (N, D); (D,) as one row
        d_ap, d_an = np.empty(len(rows_a), a.dtype), np.empty(len(rows_a), a.dtype)
        d_pn = np.empty(len(rows_a), a.dtype) if self.swap else None

        def block(rows):  # the distances, a block of rows at a time
            v_ap, v_an, v_pn = self._differences(rows_a[rows], rows_p[rows], rows_n[rows])
            d_ap[rows], d_an[rows] = p_norm(v_ap, self.p), p_norm(v_an, self.p)
            if self.swap:
                d_pn[rows] = p_norm(v_pn, self.p)

        for_blocks(block, len(rows_a), 3 * rows_a[:1].nbytes)
        d_ap, d_an = d_ap.reshape(a.shape[:-1]), d_an.reshape(a.shape[:-1])  # () for (D,)
        swapped = np.zeros(d_an.shape, dtype=bool)
        d_neg = d_an
        if self.swap:  # the harder negative: p is closer to n than a is
            d_pn = d_pn.reshape(a.shape[:-1])
            swapped = d_pn < d_an
            d_neg = np.where(swapped, d_pn, d_an)
        gap = self.margin + d_ap - d_neg
        record = self.Record(a, p, n, d_ap, d_an, d_pn, swapped, active=gap > 0)
        return np.maximum(gap, 0), record

    def _differences(self, a, p, n):
        """v_ap = a - p + eps, v_an = a - n + eps and (with swap) v_pn = p - n + eps."""
        v_pn = p - n + self.eps if self.swap else None
        return a - p + self.eps, a - n + self.eps, v_pn

    def _backward(self, r, dl):
        scale = _per_row(r.active * dl)  # A dL/dl, one per row
        a, p, n = _rows(r.a), _rows(r.p), _rows(r.n)
        d_ap, d_an, swapped = _per_row(r.d_ap), _per_row(r.d_an), _per_row(r.swapped)
        d_pn = None if r.d_pn is None else _per_row(r.d_pn)
        d_a, d_p, d_n = (np.empty_like(a) for _ in range(3))

        def block(rows):  # the gradients, a block of rows at a time
            v_ap, v_an, v_pn = self._differences(a[rows], p[rows], n[rows])
            g_ap = p_norm_gradient(v_ap, d_ap[rows, 0], self.p)
            g_an = np.where(swapped[rows], 0, p_norm_gradient(v_an, d_an[rows, 0], self.p))
            d_a[rows] = g_ap - g_an  # d/da [d(a,p) - d(a,n)]
            d_p[rows] = -g_ap  # d/dp d(a,p), with a minus sign from v_ap = a - p
            d_n[rows] = g_an  # d/dn [-d(a,n)]
            if self.swap:  # rows that took -d(p,n) instead of -d(a,n)
                g_pn = np.where(swapped[rows], p_norm_gradient(v_pn, d_pn[rows, 0], self.p), 0)
                d_p[rows] -= g_pn
                d_n[rows] += g_pn
            for d in (d_a, d_p, d_n):
                d[rows] *= scale[rows]  # chain rule: times A dL/dl

        for_blocks(block, len(a), 3 * a[:1].nbytes)
        return d_a.reshape(r.a.shape), d_p.reshape(r.a.shape), d_n.reshape(r.a.shape)


def _rows(v: np.ndarray) -> np.ndarray:
    """Embeddings as rows: (N, D) as it is, one (D,) vector as (1, D)."""
    return v.reshape(-1, v.shape[-1])


def _per_row(v) -> np.ndarray:
    """A quantity per triplet, (N,) or () for one, as a column (N, 1)."""
    return np.reshape(v, (-1, 1))
