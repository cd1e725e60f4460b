"""Information theory, the lesson's foundation (section 1): surprise, entropy, KL.

- `surprise(p)` = -log p: how surprised we are by an event of probability p
  (1.1-1.2). Logarithms turn the product of independent probabilities into a sum of
  surprises, and punish a confident mistake without bound.
- `entropy(p)` = the expected surprise under p (1.3).
- `cross_entropy(p, q)` = the expected surprise when we believe q but p is true.
- `kl_divergence(p, q)` = cross_entropy(p, q) - entropy(p): the extra surprise
  (1.3). Training pulls the predicted q towards the true p.
- `KLDivLoss`: KL divergence as a loss, with PyTorch's conventions.

Conventions: 0 log 0 = 0 (an impossible event contributes nothing), and
KL = cross-entropy = inf where q = 0 < p (the model ruled out what happened).
Distributions lie along `axis`; every row must be a probability vector (entries in
[0, 1], summing to 1 within sqrt(eps) of the dtype): a row that does not is an error,
not silently renormalised as in scipy.stats.entropy.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import (
    as_float_array,
    check_choice,
    check_finite,
    check_in_range,
    check_log_probabilities,
    check_option,
    position,
    same_shape_floats,
    warn,
)
from .base import Loss

__all__ = ["KLDivLoss", "cross_entropy", "entropy", "kl_divergence", "surprise"]


def _log_base(base) -> float:
    """log(base), for changing the logarithm's base: log_b(x) = log(x) / log(b)."""
    b = check_option("base", base, 0.0)
    if b <= 0 or b == 1:
        raise ValueError(f"base: expected a positive number other than 1; got {base!r}")
    return float(np.log(b))


def _distribution(name: str, p, axis: int) -> np.ndarray:
    """`p` checked to hold probability vectors along `axis`."""
    p = as_float_array(name, p)
    check_finite(name, p)
    check_in_range(name, p, 0.0, 1.0, "probabilities")
    if p.ndim == 0:
        raise ValueError(f"{name}: expected a probability vector; got a scalar")
    sums = p.sum(axis=axis)
    tolerance = np.sqrt(np.finfo(p.dtype).eps)
    off = np.abs(sums - 1) > tolerance
    if np.any(off):
        where = position(np.flatnonzero(off)[0], sums.shape)
        raise ValueError(
            f"{name}: expected probabilities summing to 1 along axis {axis}; "
            f"the row at {where} sums to {sums[where].item()!r}"
        )
    return p


def _same_shape(p: np.ndarray, q: np.ndarray) -> None:
    if p.shape != q.shape:
        raise ValueError(f"q: expected the shape of p, {p.shape}; got {q.shape}")


def surprise(p, base: float = np.e):
    """Surprise (self-information) of an event of probability p: -log_base(p).

    In nats by default, like `entropy`, `cross_entropy` and `kl_divergence` (and the
    losses, which all use the natural log); ``base=2`` gives bits, as in the lesson's
    formula S = -log2(P). An event with probability 1 is no surprise (0), one of
    probability 0 an infinite one. Surprise adds where probabilities multiply:
    surprise(p q) = surprise(p) + surprise(q), because log(p q) = log p + log q.

    >>> float(surprise(0.5, base=2))  # a fair coin landing heads: one bit
    1.0
    >>> float(surprise(0.5 * 0.25, base=2)), float(surprise(0.5, 2) + surprise(0.25, 2))
    (3.0, 3.0)
    >>> float(surprise(1e-7, base=2)) > 23  # the lottery jackpot of section 1.1
    True
    >>> round(float(surprise(0.9)), 3), float(surprise(1.0))  # nats: the lesson's -ln 0.9
    (0.105, 0.0)
    """
    p = as_float_array("p", p)
    check_finite("p", p)
    check_in_range("p", p, 0.0, 1.0, "probabilities")
    with np.errstate(divide="ignore"):  # log 0 = -inf: surprise(0) = inf, by definition
        return (0.0 - np.log(p)) / _log_base(base)  # 0.0 - 0 is +0, not -0


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x log y, with 0 where x = 0 (whatever y is, so 0 log 0 = 0)."""
    out = np.zeros(np.broadcast_shapes(x.shape, y.shape), dtype=np.result_type(x, y))
    with np.errstate(divide="ignore"):  # log 0 = -inf where x > 0: the term is -inf
        np.multiply(x, np.log(y), out=out, where=x != 0)
    return out


def entropy(p, axis: int = -1, base: float = np.e):
    """Entropy H(p) = -sum_x p(x) log p(x): the average surprise of p (section 1.3).

    It is largest for the uniform distribution (log C: the most "disorder", the lesson's
    pandas half male and half female) and 0 for a certain outcome.

    >>> float(entropy([0.5, 0.5], base=2))  # a fair coin: one bit per toss
    1.0
    >>> round(float(entropy([0.9, 0.1], base=2)), 3)  # a biased coin surprises less
    0.469
    >>> float(entropy([1.0, 0.0, 0.0]))  # certain: no surprise at all
    0.0
    >>> import numpy as np  # the uniform distribution has the most: log C
    >>> bool(np.isclose(entropy([1 / 3, 1 / 3, 1 / 3]), np.log(3)))
    True
    >>> bool(entropy([1 / 3, 1 / 3, 1 / 3]) > entropy([0.5, 0.3, 0.2]))
    True
    """
    p = _distribution("p", p, axis)
    return (0.0 - _xlogy(p, p).sum(axis=axis)) / _log_base(base)  # 0.0 - 0 is +0, not -0


def cross_entropy(p, q, axis: int = -1, base: float = np.e):
    """Cross-entropy H(p, q) = -sum_x p(x) log q(x).

    The average surprise of outcomes drawn from p, measured by a model that believes
    q. H(p, q) = H(p) + KL(p || q) >= H(p), equal only when q = p. With a one-hot p
    this is the lesson's classification loss -log q(true class).

    >>> round(float(cross_entropy([1.0, 0.0, 0.0], [0.7, 0.2, 0.1])), 3)  # -ln 0.7
    0.357
    """
    p = _distribution("p", p, axis)
    q = _distribution("q", q, axis)
    _same_shape(p, q)
    return (0.0 - _xlogy(p, q).sum(axis=axis)) / _log_base(base)


def kl_divergence(p, q, axis: int = -1, base: float = np.e):
    """KL divergence KL(p || q) = sum_x p(x) log(p(x) / q(x)) (section 1.3).

    How much more surprised a model believing q is than one knowing the truth p.
    Always >= 0, 0 only when q = p; not symmetric. The lesson's dog example: truth
    P* = [1, 0, 0], prediction P = [0.7, 0.2, 0.1]:

    >>> round(float(kl_divergence([1.0, 0.0, 0.0], [0.7, 0.2, 0.1])), 3)  # -ln 0.7
    0.357
    >>> float(kl_divergence([0.5, 0.5], [0.5, 0.5]))
    0.0
    >>> bool(kl_divergence([0.2, 0.8], [0.6, 0.4]) > 0)  # Gibbs: never negative
    True
    >>> float(kl_divergence([0.5, 0.5], [1.0, 0.0]))  # q rules out what can happen
    inf

    Computed as sum p (log p - log q), so a q as small as 1e-320 still gives a finite
    answer. Rounding can leave a sum of -1e-17 for q within a rounding error of p; the
    result is clamped at 0, which the mathematics guarantees.
    """
    p = _distribution("p", p, axis)
    q = _distribution("q", q, axis)
    _same_shape(p, q)
    with np.errstate(divide="ignore"):  # log q = -inf where q = 0 < p: KL = inf
        log_ratio = np.log(np.where(p > 0, p, 1)) - np.log(q)
    terms = np.zeros_like(p)
    np.multiply(p, log_ratio, out=terms, where=p > 0)  # 0 log(0 / q) = 0
    return np.maximum(terms.sum(axis=axis), 0) / _log_base(base)


class KLDivLoss(Loss):
    r"""KL divergence as a loss, as ``torch.nn.KLDivLoss``.

    Domain: ``input`` x holds **log-probabilities** log q (the model's prediction,
    e.g. `log_softmax` of logits); ``target`` t holds probabilities p (or, with
    ``log_target=True``, log-probabilities log p), of x's shape.

    Mistakes caught: an input above 0 is no log-probability (probabilities or logits
    passed by mistake, which would give a negative "divergence"): an error that says to
    pass ``np.log(q)`` or ``nl.log_softmax(z, axis=1)``; so is a target above 0 with
    ``log_target=True``.

    Formula, pointwise (PyTorch):

        l = t (log t - x)                 (0 where t = 0)
        l = e^t (t - x)                   with log_target=True

    so that summing over the classes of a row gives KL(p || q). Reductions: "sum";
    "batchmean" = sum / N (N = the first dimension): **the KL divergence per sample**;
    "mean" = sum / (number of elements), which also divides by the number of classes
    and is not the KL divergence (PyTorch keeps it as the default and warns; so do we);
    "none".

    Textbook form: `numloss.textbook.kl_div`, the formula as written; the two agree to
    1e-12 on every option
    (`tests/test_textbook.py::test_textbook_agrees_with_the_class`): no tail to lose.

    Gradient: the target does not depend on x, so with p the target's probabilities
    (p = t, or p = e^t with log_target), from l = t log t - t x:

        dl/dx = -p

    Stable form: t log t is computed as 0 where t = 0; with ``log_target`` no log of a
    tiny probability is taken at all, which is why PyTorch offers it.

    >>> import numpy as np, numloss as nl
    >>> loss = nl.KLDivLoss(reduction="batchmean")
    >>> x = np.log([[0.7, 0.2, 0.1]])  # the lesson's dog example
    >>> round(float(loss(x, [[1.0, 0.0, 0.0]])), 3)
    0.357
    >>> loss.backward()
    array([[-1.,  0.,  0.]])

    References: PyTorch ``torch.nn.KLDivLoss``; the lesson, section 1.3.
    """

    reductions = ("mean", "batchmean", "sum", "none")

    class Inputs(NamedTuple):
        x: np.ndarray  # the input, log q
        t: np.ndarray  # the target: p, or log p with log_target
        denominator: int | None  # N for "batchmean"; None: the number of elements

    class Parts(NamedTuple):
        p: np.ndarray  # p, the target's probabilities (t, or e^t with log_target)
        log_p: np.ndarray  # log p: t itself with log_target, else log t (0 where t = 0)
        log_ratio: np.ndarray  # log p - x = log p - log q, the log-ratio

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        super().__init__(reduction)
        self.log_target = check_choice("log_target", log_target, (False, True))
        if reduction == "mean":
            warn(
                "KLDivLoss: reduction='mean' divides the total by the number of elements, "
                "not by the batch size; use reduction='batchmean' for the KL divergence"
            )

    def _inputs(self, input, target):
        x, t = same_shape_floats(self.inputs, input, target)
        check_log_probabilities("input", x, "KLDivLoss", "q")  # log q <= 0
        if self.log_target:
            check_log_probabilities("target", t, "KLDivLoss")  # log p <= 0
        else:
            check_in_range("target", t, 0.0, np.inf, "probabilities")
        batch = (x.shape[0] if x.ndim else 1) if self.reduction == "batchmean" else None
        return self.Inputs(x, t, batch)

    def _parts(self, inputs):
        if self.log_target:  # no log of a tiny probability is taken at all
            p, log_p = np.exp(inputs.t), inputs.t
        else:
            p, log_p = (
                inputs.t,
                np.log(np.where(inputs.t > 0, inputs.t, 1)),
            )  # log 1 = 0 where t = 0
        return self.Parts(p, log_p, log_p - inputs.x)

    def _losses(self, parts):
        """l = p (log p - x), 0 where p = 0 (a row's sum is KL(p || q))"""
        return parts.p * parts.log_ratio

    def _gradient(self, parts, dl):
        """dl/dx = -p"""
        return 0.0 - parts.p * dl  # (0.0 - 0 is +0, not -0)
