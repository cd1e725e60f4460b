"""Ranking losses: learning an order or a distance rather than a class.

The lesson's introduction promises them as the step beyond classification: instead
of "which class?", "which of two is better?" (`MarginRankingLoss`) and "is this
closer to that one than to the other?" (`TripletMarginLoss`, face recognition's
loss). Both are hinges, max(0, margin - something), so they share the hinge's kink
and its minimum-norm subgradient 0 at the margin. Every input is differentiable:
``backward`` returns one gradient per input, in input order.
"""

from __future__ import annotations

import numpy as np

from ._validate import (
    BadInputError,
    as_float_array,
    check_choice,
    check_finite,
    check_option,
    check_sign_labels,
)
from .base import Loss

__all__ = ["MarginRankingLoss", "TripletMarginLoss"]


def _same_shape_inputs(names: tuple[str, ...], arrays) -> list[np.ndarray]:
    """Finite float arrays of one shape and dtype (the first's), named in errors."""
    first = as_float_array(names[0], arrays[0])
    out = [first]
    for name, a in zip(names[1:], arrays[1:], strict=True):
        out.append(as_float_array(name, a, dtype=first.dtype))
    for name, a in zip(names, out, strict=True):
        check_finite(name, a)
        if a.shape != first.shape:
            raise BadInputError(
                f"{name}: expected the shape of {names[0]}, {first.shape}; got {a.shape}"
            )
    return out


class MarginRankingLoss(Loss):
    r"""Pairwise ranking loss, as ``torch.nn.MarginRankingLoss``.

    Domain: ``input1`` x1 and ``input2`` x2 hold scores of one shape; ``target`` y is
    +1 where x1 should rank higher, -1 where x2 should.

        l = max(0, -y (x1 - x2) + margin)

    With margin 0 only the order matters; a positive margin asks for a gap.

    Gradient, with a = [-y (x1 - x2) + margin > 0] (the pair violates the margin):

        dl/dx1 = -y a,      dl/dx2 = y a

    At the margin exactly, the minimum-norm subgradient 0 (PyTorch's clamp passes 1
    there; numloss follows the contract of returning the smallest subgradient).

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
    gradcheck_options = {"reduction": ("mean", "sum", "none"), "margin": (0.0, 0.5)}

    def __init__(self, margin: float = 0.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = check_option("margin", margin)

    def _forward(self, input1, input2, target):
        x1, x2, y = _same_shape_inputs(self.inputs, (input1, input2, target))
        check_sign_labels("target", y)
        gap = self.margin - y * (x1 - x2)  # -y (x1 - x2) + margin
        self._y, self._active = y, gap > 0
        return np.maximum(gap, 0)

    def _backward(self, dl):
        d_x1 = np.where(self._active, -self._y, 0) * dl  # dl/dx1 = -y [gap > 0]
        d_x2 = np.where(self._active, self._y, 0) * dl  # dl/dx2 = y [gap > 0]
        return d_x1, d_x2

    @classmethod
    def gradcheck_inputs(cls, rng, options):
        y = rng.choice([-1.0, 1.0], 6)
        yield "random", (rng.normal(0, 2, 6), rng.normal(0, 2, 6), y)
        m = options["margin"]
        x1 = np.array([0.0, 0.0, 0.0, 1e4])
        x2 = np.array([-m, 1e-3 - m, -1e-3 - m, -1e4])  # at, inside, beyond the margin
        yield "kinks/extreme", (x1, x2, np.ones(4))


def _pnorm_and_gradient(diff: np.ndarray, p: int):
    """d = ||diff||_p over the last axis and its gradient dd/d(diff).

    p = 2: dd/dv = v / ||v||        p = 1: dd/dv = sign(v)
    (0 where ||v|| = 0: the minimum-norm subgradient of a norm at 0.)
    """
    if p == 2:
        d = np.sqrt(np.einsum("...k,...k->...", diff, diff))
        grad = np.divide(diff, d[..., None], out=np.zeros_like(diff), where=d[..., None] > 0)
    else:
        d = np.abs(diff).sum(axis=-1)
        grad = np.sign(diff)
    return d, grad


class TripletMarginLoss(Loss):
    r"""Triplet loss, as ``torch.nn.TripletMarginLoss``.

    Domain: ``anchor`` a, ``positive`` p and ``negative`` n are embeddings of shape
    (N, D) or (D,): p should lie closer to a than n does, by at least ``margin``.

        d(u, v) = ||u - v + eps||_p          (PyTorch's pairwise_distance; p = 1 or 2)
        l = max(0, margin + d(a, p) - d(a, n))

    With ``swap=True`` the negative distance is min(d(a, n), d(p, n)) (Balntas et al.
    2016): the harder of the two negatives.

    Gradient, with A = [l > 0] and the norm's gradient g(v) = v / ||v||_2 (p = 2) or
    sign(v) (p = 1), v_ap = a - p + eps, v_an = a - n + eps:

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

    References: PyTorch ``torch.nn.TripletMarginLoss``; Schroff et al., "FaceNet"
    (2015); Balntas et al., "Learning local feature descriptors with triplets" (2016).
    """

    inputs = ("anchor", "positive", "negative")
    differentiable = ("anchor", "positive", "negative")
    gradcheck_options = {
        "reduction": ("mean", "sum", "none"),
        "p": (1, 2),
        "swap": (False, True),
    }

    def __init__(
        self,
        margin: float = 1.0,
        p: int = 2,
        eps: float = 1e-6,
        swap: bool = False,
        reduction: str = "mean",
    ):
        super().__init__(reduction)
        self.margin = check_option("margin", margin)
        self.p = int(check_choice("p", p, (1, 2, 1.0, 2.0)))  # PyTorch's default is 2.0
        self.eps = check_option("eps", eps, 0.0)
        self.swap = check_choice("swap", swap, (False, True))

    def _forward(self, anchor, positive, negative):
        a, p, n = _same_shape_inputs(self.inputs, (anchor, positive, negative))
        if a.ndim not in (1, 2) or a.shape[-1] == 0:
            raise BadInputError(f"anchor: expected shape (D,) or (N, D) with D >= 1; got {a.shape}")
        d_ap, g_ap = _pnorm_and_gradient(a - p + self.eps, self.p)
        d_an, g_an = _pnorm_and_gradient(a - n + self.eps, self.p)
        swapped = np.zeros(d_an.shape, dtype=bool)
        g_pn = None
        if self.swap:
            d_pn, g_pn = _pnorm_and_gradient(p - n + self.eps, self.p)
            swapped = d_pn < d_an  # the harder negative: p is closer to n than a is
            d_an = np.where(swapped, d_pn, d_an)
        gap = self.margin + d_ap - d_an
        self._saved = (gap > 0, swapped, g_ap, g_an, g_pn)
        return np.maximum(gap, 0)

    def _backward(self, dl):
        active, swapped, g_ap, g_an, g_pn = self._saved
        scale = (active * dl)[..., None]  # A times the upstream gradient
        keep = ~swapped[..., None]  # rows whose negative distance is d(a, n)
        d_a = g_ap - np.where(keep, g_an, 0)  # d/da [d(a,p) - d(a,n)]
        d_p = -g_ap  # d/dp d(a,p)
        d_n = np.where(keep, g_an, 0)  # d/dn [-d(a,n)]
        if g_pn is not None:  # swapped rows: -d(p,n) instead of -d(a,n)
            d_p = d_p - np.where(keep, 0, g_pn)
            d_n = d_n + np.where(keep, 0, g_pn)
        return d_a * scale, d_p * scale, d_n * scale

    @classmethod
    def gradcheck_inputs(cls, rng, options):
        shape = (4, 3)
        yield "random", tuple(rng.normal(0, 1, shape) for _ in range(3))
        a = rng.normal(0, 1, shape)
        p = a + rng.normal(0, 0.1, shape)  # close positives: some triplets satisfied
        n = a + rng.normal(0, 3, shape)
        n[0] = p[0] + rng.normal(0, 0.2, 3)  # a negative near the positive: swap matters
        yield "random mixed", (a, p, n)
        yield "extreme", (a * 1e3, p * 1e3, n * 1e3)
