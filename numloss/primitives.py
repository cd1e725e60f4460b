"""Numerically stable building blocks: softplus, sigmoid, log-sum-exp and softmax.

Each function says why the textbook formula fails in floating point and which form
does not. Two ideas carry all of them:

1. Never let `exp` see a large positive number. `exp(x)` overflows for x > 709 in
   float64 (x > 88 in float32), so we factor out the largest term first.
2. Never form a small number as the difference of two large ones. `1 - sigmoid(40)`
   is 0 in float64, although the true value is 4.25e-18; `log(1 + tiny)` is 0 where
   `log1p(tiny)` is `tiny`. We write the small quantity directly.

All functions accept lists and arrays, keep float32 as float32, and never modify
their argument.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import as_float_array

__all__ = [
    "SoftmaxParts",
    "leader_gradient",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "sigmoid",
    "sigmoid_pair",
    "softmax",
    "softmax_parts",
    "softplus",
    "softplus_pair",
    "positions",
    "weighted",
]


def softplus(x):
    """softplus(x) = log(1 + e^x), the smooth version of max(0, x).

    Stable form: split e^x = e^max(x,0) * e^(x - max(x,0)) to get

        softplus(x) = max(x, 0) + log1p(e^-|x|).

    `e^-|x|` is at most 1, so nothing overflows; `log1p` keeps `log(1 + t)` accurate
    when t is tiny, so softplus(-40) is 4.25e-18 and not 0. Both terms are
    non-negative, so their sum loses nothing. (Mächler's note shows one may skip the
    `log1p` for x < -37 or x > 33.3 in float64 as a speed-up; the result is the same.)

    Derivative: d/dx softplus(x) = e^x / (1 + e^x) = sigmoid(x).

    >>> softplus([0.0, -40.0, 40.0, 1000.0])
    array([6.93147181e-01, 4.24835426e-18, 4.00000000e+01, 1.00000000e+03])
    """
    x = as_float_array("x", x)
    return np.maximum(x, 0) + _log1p_exp_neg_abs(x)


def _log1p_exp_neg_abs(x: np.ndarray) -> np.ndarray:
    """log1p(e^-|x|): the part softplus(x) and softplus(-x) share."""
    return np.log1p(np.exp(-np.abs(x)))


def softplus_pair(x: np.ndarray):
    """(softplus(x), softplus(-x)) for the price of one: both are max(±x, 0) + log1p(e^-|x|).

    Used where a loss needs both terms (BCE with logits), so the exp and log1p run once.

    >>> softplus_pair([0.0, 40.0])
    (array([ 0.69314718, 40.        ]), array([6.93147181e-01, 4.24835426e-18]))
    """
    x = as_float_array("x", x)
    t = _log1p_exp_neg_abs(x)
    softplus_x = np.maximum(x, 0)
    softplus_neg_x = softplus_x - x  # max(-x, 0) = max(x, 0) - x exactly: one term is 0
    softplus_x += t
    softplus_neg_x += t
    return softplus_x, softplus_neg_x


def sigmoid(x):
    """sigmoid(x) = 1 / (1 + e^-x), the logistic function.

    Stable form: with t = e^-|x| (never above 1),

        sigmoid(x) = 1 / (1 + t)   for x >= 0,
        sigmoid(x) = t / (1 + t)   for x <  0.

    The textbook formula computes e^-x, which overflows for x < -709; the second
    line instead returns the tiny true value (sigmoid(-40) = 4.25e-18). Both lines
    are accurate to a few ulps in relative terms, so use `sigmoid(-x)` rather than
    `1 - sigmoid(x)` for the complement: the latter is 0 from x ≈ 37 on.

    Derivative: sigmoid'(x) = sigmoid(x) * sigmoid(-x).

    >>> sigmoid([0.0, 2.0, -40.0])
    array([5.00000000e-01, 8.80797078e-01, 4.24835426e-18])
    """
    x = as_float_array("x", x)
    t = np.exp(-np.abs(x))
    return np.maximum(t, x >= 0) / (1 + t)  # numerator 1 for x >= 0, else t (see sigmoid_pair)


def sigmoid_pair(x: np.ndarray):
    """(sigmoid(x), sigmoid(-x)) from one exp, for losses that need both.

    With t = e^-|x| (as in `sigmoid`), sigmoid(|x|) = 1 / (1 + t) and
    sigmoid(-|x|) = t / (1 + t); the sign of x says which is which. The numerator, 1 or
    t, is picked without `np.where` (slow on a random mix of signs): since t <= 1,
    max(t, 1) = 1 and max(t, 0) = t, so the numerator of sigmoid(x) is max(t, [x >= 0]).

    >>> sigmoid_pair([0.0, 40.0])
    (array([0.5, 1. ]), array([5.00000000e-01, 4.24835426e-18]))
    """
    x = as_float_array("x", x)
    t = np.exp(-np.abs(x))
    denominator = 1 + t
    return np.maximum(t, x >= 0) / denominator, np.maximum(t, x < 0) / denominator


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x).

    `np.log(sigmoid(x))` is -inf once sigmoid(x) underflows (x < -745); the identity
    log(1 / (1 + e^-x)) = -log(1 + e^-x) = -softplus(-x) stays exact:
    log_sigmoid(-1000) = -1000.

    >>> log_sigmoid([0.0, -1000.0, 40.0])
    array([-6.93147181e-01, -1.00000000e+03, -4.24835426e-18])
    """
    x = as_float_array("x", x)
    return -softplus(-x)


class SoftmaxParts(NamedTuple):
    """The pieces every softmax-based quantity is made of (see `softmax_parts`)."""

    max: np.ndarray  # m = max_k z_k, kept as a dimension
    leader: np.ndarray  # the index of the max (the first, on a tie), kept as a dimension
    exps: np.ndarray  # e^(z_k - m): every one <= 1, the leader's e^0 = 1
    rest: np.ndarray  # sum_{k != leader} e^(z_k - m), kept as a dimension


def softmax_parts(z, axis: int = -1) -> SoftmaxParts:
    """The shared step of logsumexp, log_softmax, softmax and cross-entropy.

    For each slice along `axis`:

        m     = max_k z_k                       (the leader; kept as a dimension)
        exps  = e^(z_k - m)                     (every one <= 1: no overflow)
        rest  = sum_{k != leader} e^(z_k - m)   (the leader's own e^0 = 1 left out)

    so that sum_k e^z_k = e^m (1 + rest), logsumexp(z) = m + log1p(rest) and
    softmax(z)_k = e^(z_k - m) / (1 + rest). The leader's 1 is left out of `rest` so that
    log(1 + rest) = log1p(rest) keeps full precision when the leader dominates
    (rest = e^-40, say), where log(sum) would round 1 + e^-40 to 1. Print the parts of
    the lesson's logits to see each step:

    >>> parts = softmax_parts(np.array([2.0, 1.0, 0.1]))
    >>> parts.max, parts.leader, parts.exps.round(4), parts.rest.round(4)
    (array([2.]), array([0]), array([1.    , 0.3679, 0.1496]), array([0.5175]))
    """
    z = as_float_array("z", z)
    m = z.max(axis=axis, keepdims=True)
    leader = z.argmax(axis=axis, keepdims=True)
    is_leader = positions(z, axis) == leader  # [k = leader]
    exps = np.where(is_leader, 1.0, np.exp(z - m))  # e^0, exactly (z - m is NaN if m = inf)
    rest = np.where(is_leader, 0.0, exps).sum(axis=axis, keepdims=True)  # the leader's 1 left out
    return SoftmaxParts(m, leader, exps, rest)


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


def weighted(w, v) -> np.ndarray:
    """w v, and 0 where w = 0, whatever v is.

    A term weighted 0 (an ignored sample, a class of weight 0) contributes nothing, even
    when its v overflowed to inf, where 0 inf would be NaN: the convention 0 log 0 = 0
    of information theory, for a surprise that overflowed.

    >>> weighted(np.array([0.0, 2.0]), np.array([np.inf, 3.0]))
    array([0., 6.])
    """
    counts = np.asarray(w) > 0
    if counts.all():  # no weight is 0 (the usual case): the plain product
        return np.multiply(w, v)
    out = np.zeros(np.broadcast(w, v).shape, dtype=np.result_type(w, v))
    return np.multiply(w, v, out=out, where=counts)


def positions(z: np.ndarray, axis: int) -> np.ndarray:
    """k = 0, 1, ..., n - 1 along `axis` of `z` (length 1 on every other axis), so that
    ``positions(z, axis) == index`` is the mask [k = index] of an index kept as a dimension.

    >>> positions(np.zeros((2, 3)), axis=1)
    array([[0, 1, 2]])
    """
    shape = [1] * z.ndim
    shape[axis] = z.shape[axis]
    return np.arange(z.shape[axis]).reshape(shape)


def _check_axis_nonempty(z: np.ndarray, axis: int) -> None:
    if z.ndim == 0 or z.shape[axis] == 0:
        raise ValueError(f"z: expected at least one entry along axis {axis}; got shape {z.shape}")


def logsumexp(z, axis: int = -1, keepdims: bool = False):
    """log(sum_k e^z_k) along `axis`, without overflow and without losing the tail.

    Stable form: with m = max_k z_k and rest = sum_{k != argmax} e^(z_k - m),

        logsumexp(z) = m + log1p(rest).

    Factoring out e^m keeps every exponent <= 0 (no overflow, e.g. z = [1000, 1000]);
    using log1p of the rest keeps the answer exact to the last bit when one entry
    dominates (see `softmax_parts`).

    >>> logsumexp([1000.0, 1000.0])  # log(2 e^1000) = 1000 + log 2
    np.float64(1000.6931471805599)
    >>> logsumexp([[0.0, -40.0]], axis=1)  # log(1 + e^-40) = 4.25e-18, not 0
    array([4.24835426e-18])
    """
    z = as_float_array("z", z)
    _check_axis_nonempty(z, axis)
    m, _, _, rest = softmax_parts(z, axis)
    out = m + np.log1p(rest)
    return out if keepdims else np.squeeze(out, axis=axis)[()]


def log_softmax(z, axis: int = -1):
    """log p_k with p = softmax(z): log p_k = z_k - logsumexp(z).

    Stable form: log p_k = (z_k - m) - log1p(rest), with m and rest as in `logsumexp`.
    Both terms are <= 0, so the sum has no cancellation, and at the leader the result
    is -log1p(rest) = -4.25e-18 for a lead of 40, where `z - logsumexp(z)` (and
    scipy.special.log_softmax) return exactly 0.

    >>> log_softmax([2.0, 1.0, 0.1])
    array([-0.41703002, -1.41703002, -2.31703002])
    """
    z = as_float_array("z", z)
    _check_axis_nonempty(z, axis)
    m, _, _, rest = softmax_parts(z, axis)
    out = z - m
    out -= np.log1p(rest)
    return out


def softmax(z, axis: int = -1):
    """p_k = e^z_k / sum_j e^z_j, a probability distribution over `axis`.

    Stable form: p_k = e^(z_k - m) / (1 + rest), with m and rest as in `logsumexp`.
    The numerators are the e^(z_k - m) already computed for `rest`, so softmax costs one
    exp per entry and every p_k is accurate in relative terms, tiny ones included.

    Derivative (used by cross-entropy): dp_i/dz_k = p_i ([i = k] - p_k).

    >>> softmax([2.0, 1.0, 0.1])
    array([0.65900114, 0.24243297, 0.09856589])
    """
    z = as_float_array("z", z)
    _check_axis_nonempty(z, axis)
    _, _, exps, rest = softmax_parts(z, axis)
    return exps / (1 + rest)
