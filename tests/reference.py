"""Naive float64 references: each loss as a loop over its textbook formula.

Registered by the loss's class name, so a test can ask `REFERENCES["BCELoss"]` and
compare. They are slow and unstable on purpose (plain math.log, math.exp): they are
what the formula says, to be used where the formula is representable.

Each reference takes the loss's constructor options and its inputs and returns the
per-element losses and the mean's denominator: `reduce` does the rest.
"""

from __future__ import annotations

import math

import numpy as np

REFERENCES = {}


def register(name):
    def wrap(fn):
        REFERENCES[name] = fn
        return fn

    return wrap


def reduce(losses, denominator, reduction):
    losses = np.asarray(losses, dtype=np.float64)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return float(losses.sum())
    return float(losses.sum() / denominator) if denominator else 0.0


def reference_loss(name, options, *inputs):
    """The reference value of loss `name` built with `options` on `inputs`."""
    options = dict(options)
    reduction = options.get("reduction", "mean")
    losses, denominator = REFERENCES[name](options, *[np.asarray(a) for a in inputs])
    return reduce(losses, denominator, reduction)


def _broadcast(w, shape):
    return np.broadcast_to(np.asarray(1.0 if w is None else w, dtype=np.float64), shape)


@register("BCELoss")
def bce(options, p, y):
    w = _broadcast(options.get("weight"), p.shape)
    out = np.empty(p.shape)
    for i in np.ndindex(p.shape):
        log_p = max(math.log(p[i]), -100.0) if p[i] > 0 else -100.0
        log_q = max(math.log(1.0 - p[i]), -100.0) if p[i] < 1 else -100.0
        out[i] = -w[i] * (y[i] * log_p + (1 - y[i]) * log_q)
    return out, p.size


@register("BCEWithLogitsLoss")
def bce_with_logits(options, x, y):
    w = _broadcast(options.get("weight"), x.shape)
    pw = _broadcast(options.get("pos_weight"), x.shape)
    out = np.empty(x.shape)
    for i in np.ndindex(x.shape):
        s = 1.0 / (1.0 + math.exp(-x[i]))
        out[i] = -w[i] * (pw[i] * y[i] * math.log(s) + (1 - y[i]) * math.log(1 - s))
    return out, x.size


@register("MSELoss")
def mse(options, x, y):
    out = np.empty(x.shape)
    for i in np.ndindex(x.shape):
        out[i] = (float(x[i]) - float(y[i])) ** 2
    return out, x.size


# -- 50-digit references for the tails (mpmath) ---------------------------------------
import mpmath  # noqa: E402

mpmath.mp.dps = 50
TINY = np.finfo(np.float64).tiny  # smallest normal float64


def mp_softplus(x):
    return mpmath.log1p(mpmath.exp(mpmath.mpf(float(x))))


def mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-mpmath.mpf(float(x))))


def mp_logsumexp(row):
    """log sum e^z_k, written as m + log1p(sum of the others) so that 50 digits suffice
    even when the leader dominates by 1e4 (1 + e^-1e4 would need 4343 digits)."""
    row = [mpmath.mpf(float(v)) for v in row]
    lead = max(range(len(row)), key=lambda k: row[k])
    rest = mpmath.fsum(mpmath.exp(v - row[lead]) for k, v in enumerate(row) if k != lead)
    return row[lead] + mpmath.log1p(rest)


def mp_log_softmax(row):
    row = [mpmath.mpf(float(v)) for v in row]
    lead = max(range(len(row)), key=lambda k: row[k])
    rest = mpmath.fsum(mpmath.exp(v - row[lead]) for k, v in enumerate(row) if k != lead)
    return [(v - row[lead]) - mpmath.log1p(rest) for v in row]


def assert_close_to_mp(ours, exact, rtol=1e-13, what=""):
    """`ours` (float) within `rtol` of the mpmath value `exact`, where that is normal.

    Where the exact value is below the smallest normal float64 the right answer is 0 or
    a subnormal: we check that `ours` is finite and no larger than the smallest normal.
    """
    ours = float(ours)
    assert math.isfinite(ours), f"{what}: got {ours}, expected {exact}"
    if abs(exact) < TINY:
        assert abs(ours) <= TINY, f"{what}: got {ours}, expected {mpmath.nstr(exact, 5)}"
        return
    err = abs(mpmath.mpf(ours) - exact) / abs(exact)
    assert err <= rtol, (
        f"{what}: got {ours!r}, exact {mpmath.nstr(exact, 20)}, rel err {float(err):.2e}"
    )


# -- multi-class ------------------------------------------------------------------------
def _rows(z, target):
    """(logit row, target) pairs for every sample and position: classes on dimension 1."""
    if z.ndim == 1:
        return [(z, target)], ()
    zc = np.moveaxis(z, 1, -1)
    tc = np.moveaxis(target, 1, -1) if target.shape == z.shape else target
    shape = zc.shape[:-1]
    return [(zc[i], tc[i]) for i in np.ndindex(shape)], shape


def _class_options(options, z):
    """(class weights as a list, ignore_index, C) for a loss with classes on dimension 1."""
    C = z.shape[0] if z.ndim == 1 else z.shape[1]
    w = options.get("weight")
    return ([1.0] * C if w is None else list(w)), options.get("ignore_index", -100), C


@register("CrossEntropyLoss")
def cross_entropy(options, z, target):
    w, ignore, C = _class_options(options, z)
    e = options.get("label_smoothing", 0.0)
    rows, shape = _rows(z, target)
    out, denominator = [], 0.0
    for row, t in rows:
        lse = math.log(sum(math.exp(v) for v in row))
        log_p = [v - lse for v in row]
        if np.ndim(t) == 0:  # a class index
            if t == ignore:
                out.append(0.0)
                continue
            nll = -w[t] * log_p[t]
            smooth = -sum(w[c] * log_p[c] for c in range(C))
            out.append((1 - e) * nll + e / C * smooth)
            denominator += w[t]
        else:  # probabilities, smoothed as t (1 - e) + e / C
            out.append(-sum(w[c] * (t[c] * (1 - e) + e / C) * log_p[c] for c in range(C)))
            denominator += 1
    return np.array(out).reshape(shape), denominator


@register("NLLLoss")
def nll(options, x, target):
    w, ignore, _ = _class_options(options, x)
    rows, shape = _rows(x, target)
    out, denominator = [], 0.0
    for row, t in rows:
        if t == ignore:
            out.append(0.0)
            continue
        out.append(-w[t] * row[t])
        denominator += w[t]
    return np.array(out).reshape(shape), denominator


# -- information, margins, ranking, focal -------------------------------------------------
@register("KLDivLoss")
def kl_div(options, x, t):
    out = np.empty(x.shape)
    for i in np.ndindex(x.shape):
        if options.get("log_target"):
            out[i] = math.exp(t[i]) * (t[i] - x[i])
        else:
            out[i] = 0.0 if t[i] == 0 else t[i] * (math.log(t[i]) - x[i])
    denominator = x.shape[0] if options.get("reduction") == "batchmean" else x.size
    return out, denominator


@register("HingeLoss")
def hinge(options, f, y):
    m = options.get("margin", 1.0)
    return np.array([max(0.0, m - y[i] * f[i]) for i in np.ndindex(f.shape)]).reshape(
        f.shape
    ), f.size


@register("SquaredHingeLoss")
def squared_hinge(options, f, y):
    m = options.get("margin", 1.0)
    return np.array([max(0.0, m - y[i] * f[i]) ** 2 for i in np.ndindex(f.shape)]).reshape(
        f.shape
    ), f.size


@register("SoftMarginLoss")
def soft_margin(options, x, y):
    return np.array([math.log(1 + math.exp(-y[i] * x[i])) for i in np.ndindex(x.shape)]).reshape(
        x.shape
    ), x.size


@register("MultiMarginLoss")
def multi_margin(options, x, y):
    p, m, w = options.get("p", 1), options.get("margin", 1.0), options.get("weight")
    x2, y2 = np.atleast_2d(x), np.atleast_1d(y)
    C = x2.shape[1]
    w = [1.0] * C if w is None else list(w)
    out = []
    for n in range(x2.shape[0]):
        t = y2[n]
        out.append(
            sum(w[t] * max(0.0, m - x2[n, t] + x2[n, i]) ** p for i in range(C) if i != t) / C
        )
    return np.array(out).reshape(np.shape(y)), len(out)


@register("MarginRankingLoss")
def margin_ranking(options, x1, x2, y):
    m = options.get("margin", 0.0)
    return np.array([max(0.0, -y[i] * (x1[i] - x2[i]) + m) for i in np.ndindex(x1.shape)]).reshape(
        x1.shape
    ), x1.size


@register("TripletMarginLoss")
def triplet(options, a, p, n):
    m, norm_p = options.get("margin", 1.0), options.get("p", 2)
    eps, swap = options.get("eps", 1e-6), options.get("swap", False)
    a2, p2, n2 = np.atleast_2d(a), np.atleast_2d(p), np.atleast_2d(n)

    def dist(u, v):
        return sum(abs(ui - vi + eps) ** norm_p for ui, vi in zip(u, v, strict=True)) ** (
            1 / norm_p
        )

    out = []
    for i in range(a2.shape[0]):
        d_neg = dist(a2[i], n2[i])
        if swap:
            d_neg = min(d_neg, dist(p2[i], n2[i]))
        out.append(max(0.0, m + dist(a2[i], p2[i]) - d_neg))
    return np.array(out).reshape(a.shape[:-1]), len(out)


@register("FocalLoss")
def focal(options, x, y):
    alpha, gamma = options.get("alpha", 0.25), options.get("gamma", 2.0)
    out = np.empty(x.shape)
    for i in np.ndindex(x.shape):
        p = 1 / (1 + math.exp(-x[i]))
        p_t = p if y[i] == 1 else 1 - p
        a_t = 1.0 if alpha is None else (alpha if y[i] == 1 else 1 - alpha)
        out[i] = -a_t * (1 - p_t) ** gamma * math.log(p_t)
    return out, x.size
