"""Valid inputs for every exported loss, at any batch size and magnitude, and what each
loss's rounding may be measured against.

The property tests (tests/test_properties.py), the float32 sweep (tests/test_float32.py)
and the state tests draw from here, so that every guarantee is proven for every
exported loss at once. A loss joins by a row in `MAKERS` (tests/test_properties.py
fails for an exported loss without one); its options come from its row in
`numloss.gradcheck.cases.CASES`, so every option the gradient checker tries is tried here.

A row says, for one loss:

- ``make(rng, n, c, scale, options)``: valid inputs in float64 (labels as the loss takes
  them) for a batch of ``n`` rows of ``c`` columns (classes, features, elements), the
  real-valued ones of size ``scale`` (logits ~ scale * N(0, 1); probabilities as
  sigmoid/softmax of such logits, so they reach 1e-40 and 1 - 1e-8 at large scales);
- ``scales(inputs, options)``: the size of the terms each per-element loss and each
  gradient entry is computed from, in float64: rounding is measured against these
  (a loss written as a sum of non-negative terms has its own value here; a difference
  such as margin + d(a, p) - d(a, n) has the sum of the magnitudes);
- ``near_kink(inputs, options)``: whether a finite-difference stencil of reach 1e-2
  would cross a kink or leave the domain (the gradient check is asserted away from
  these).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import numloss as nl
from numloss.gradcheck.cases import CASES, Sampled, _far_from_kinks
from numloss.gradcheck.suite import exported_losses

MAGNITUDES = (1e-8, 1e-4, 1e-2, 1.0, 10.0, 100.0, 1e4)
KINK_DISTANCE = 1e-2  # the gradient checker's stencil reaches 2.4e-4; 1e-2 is safely away

__all__ = [
    "KINK_DISTANCE",
    "MAGNITUDES",
    "MAKERS",
    "Maker",
    "build",
    "exported_losses",
    "option_grid",
    "textbook_denominator",
]


@dataclass(frozen=True)
class Maker:
    make: Callable
    scales: Callable
    near_kink: Callable = lambda inputs, options: False


def option_grid(cls) -> list[dict]:
    """Every combination of the options in ``cls``'s gradcheck row, reduction included."""
    row = CASES[cls.__name__]
    grid = {"reduction": cls.reductions, **row.options}
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]


def build(cls, options: dict, rng: np.random.Generator, inputs: tuple):
    """``cls`` built with ``options``, each `Sampled` option (a weight) drawn to fit the inputs.

    Returns ``(loss, drawn options)``. KLDivLoss's reduction="mean" warning is expected
    here and silenced.
    """
    import warnings

    drawn = {k: v.draw(rng, inputs) if isinstance(v, Sampled) else v for k, v in options.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nl.NumlossWarning)
        return cls(**drawn), drawn


def textbook_denominator(name: str, options: dict, inputs: tuple) -> float:
    """The mean's D by numloss.textbook (PyTorch's semantics, written independently)."""
    from numloss.textbook import TEXTBOOK

    fn = TEXTBOOK[name]
    opts = {k: v for k, v in options.items() if k != "reduction"}
    if name == "KLDivLoss":
        opts["reduction"] = options["reduction"]
    with np.errstate(all="ignore"):  # the textbook overflows at large logits, on purpose
        return float(fn(*[np.asarray(a, dtype=a.dtype) for a in inputs], **opts)[1])


# -- helpers ------------------------------------------------------------------------------------
def _f(a):
    return np.asarray(a, dtype=np.float64)


def _floats64(inputs):
    """The inputs with the real-valued ones as float64 (integer labels stay integers)."""
    return [np.asarray(a, np.float64) if np.asarray(a).dtype.kind == "f" else a for a in inputs]


def _sigmoid(x):
    return nl.sigmoid(_f(x))


def _soft_or_hard(rng, shape):
    """0/1 labels with every other one soft (uniform in (0, 1))."""
    y = rng.integers(0, 2, shape).astype(np.float64)
    flat = y.reshape(-1)
    flat[::2] = rng.uniform(0.05, 0.95, flat[::2].shape)
    return y


def _signs(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape)


def _weight_or_one(options, shape):
    w = options.get("weight")
    return np.ones(shape) if w is None else np.broadcast_to(_f(w), shape)


def _class_weight(options, c):
    w = options.get("weight")
    return np.ones(c) if w is None else _f(w)


# -- binary losses ------------------------------------------------------------------------------
def bce_make(rng, n, c, scale, options, offset=0.0):
    p = _sigmoid(offset + scale * rng.normal(size=(n, c)))
    return p, _soft_or_hard(rng, (n, c))


def bce_scales(inputs, options):
    p, y = map(_f, inputs)
    w = _weight_or_one(options, p.shape)
    # y / p overflows where p is subnormal: such a term is clamped (log p < -100) and left out
    with np.errstate(divide="ignore", over="ignore"):
        free_p, free_q = np.log(p) > -100, np.log1p(-p) > -100
        terms = np.where(free_p, y / np.where(p > 0, p, 1), 0)
        terms += np.where(free_q, (1 - y) / np.where(p < 1, 1 - p, 1), 0)
        log_p = np.maximum(np.log(p), -100)
        log_q = np.maximum(np.log1p(-p), -100)
    loss = w * (y * -log_p + (1 - y) * -log_q)  # two non-negative terms
    return loss, (w * terms,)


def bce_near_kink(inputs, options):
    p = _f(inputs[0])  # the stencil must stay inside [0, 1]
    return bool(np.any(p < KINK_DISTANCE) or np.any(p > 1 - KINK_DISTANCE))


def logits_make(rng, n, c, scale, options, offset=0.0):
    return offset + scale * rng.normal(size=(n, c)), _soft_or_hard(rng, (n, c))


def bce_logits_scales(inputs, options):
    x, y = map(_f, inputs)
    w = _weight_or_one(options, x.shape)
    pw = options.get("pos_weight")
    a = y if pw is None else _f(pw) * y
    b = 1 - y
    loss = w * (a * nl.softplus(-x) + b * nl.softplus(x))
    return loss, (w * (a * _sigmoid(-x) + b * _sigmoid(x)),)


def mse_make(rng, n, c, scale, options, offset=0.0):
    return offset + scale * rng.normal(size=(n, c)), offset + scale * rng.normal(size=(n, c))


def mse_scales(inputs, options):
    x, y = map(_f, inputs)
    return (x - y) ** 2, (2 * np.abs(x - y),)


def focal_make(rng, n, c, scale, options, offset=0.0):
    x = offset + scale * rng.normal(size=(n, c))
    return x, rng.integers(0, 2, (n, c)).astype(np.float64)


def focal_scales(inputs, options):
    """Focal loss and its gradient are products of non-negative terms: their own size."""
    loss = nl.FocalLoss(**_opts(options), reduction="none")
    value = loss(*_floats64(inputs))
    return value, (np.abs(loss.backward(np.ones_like(value))),)


def _opts(options):
    return {k: v for k, v in options.items() if k != "reduction"}


# -- margin losses ------------------------------------------------------------------------------
def sign_make(rng, n, c, scale, options, offset=0.0):
    return offset + scale * rng.normal(size=(n, c)), _signs(rng, (n, c))


def own_size(cls):
    """Scales for a loss whose value and gradient are their own size (no cancellation)."""

    def scales(inputs, options):
        loss = cls(**_opts(options), reduction="none")
        value = loss(*_floats64(inputs))
        grads = loss.backward(np.ones_like(value))
        grads = grads if isinstance(grads, tuple) else (grads,)
        return np.abs(value), tuple(np.abs(g) for g in grads)

    return scales


def hinge_near_kink(inputs, options):
    f, y = map(_f, inputs)
    return bool(np.any(np.abs(y * f - options.get("margin", 1.0)) < KINK_DISTANCE))


def multi_margin_make(rng, n, c, scale, options, offset=0.0):
    return offset + scale * rng.normal(size=(n, c)), rng.integers(0, c, n)


def _multi_margin_terms(inputs, options):
    x, y = _f(inputs[0]), np.asarray(inputs[1])
    m = options["margin"]
    x_y = np.take_along_axis(x, y[:, None], axis=1)
    h = m - x_y + x
    T = abs(m) + np.abs(x - x_y)  # h_i = (x_i - x_y) + margin: x_i - x_y is exact when close
    others = np.ones(x.shape, bool)
    np.put_along_axis(others, y[:, None], False, axis=1)
    return h, T, others


def multi_margin_scales(inputs, options):
    x, y = _f(inputs[0]), np.asarray(inputs[1])
    C, p = x.shape[1], options["p"]
    h, T, others = _multi_margin_terms(inputs, options)
    w_y = _class_weight(options, C)[y][:, None]
    active = others & (h > 0)
    loss = (w_y * np.where(active, T**p, 0)).sum(axis=1) / C
    g = w_y * p * np.where(active, T ** (p - 1), 0) / C
    np.put_along_axis(g, y[:, None], g.sum(axis=1, keepdims=True), axis=1)
    return loss, (g,)


def multi_margin_near_kink(inputs, options):
    h, _, others = _multi_margin_terms(inputs, options)
    return bool(np.any(others & (np.abs(h) < KINK_DISTANCE)))


# -- multi-class losses -------------------------------------------------------------------------
def _spatial(rng):
    """() for (N, C), or (2,) for a quarter of the draws: (N, C, d1), one per pixel."""
    return (2,) if rng.random() < 0.25 else ()


def cross_entropy_make(rng, n, c, scale, options, offset=0.0):
    d = _spatial(rng)
    z = offset + scale * rng.normal(size=(n, c, *d))
    if options.get("ignore_index", -100) == -100 and rng.random() < 0.5:
        return z, nl.softmax(scale * rng.normal(size=(n, c, *d)), axis=1)  # probabilities
    return z, rng.integers(0, c, (n, *d))  # class indices (ignore_index=1 ignores the 1s)


def _coefficients(inputs, options):
    """B (dense, N x C) and a = sum_c B_c of cross-entropy, from the formula."""
    z, t = _f(inputs[0]), np.asarray(inputs[1])
    C, e = z.shape[1], options.get("label_smoothing", 0.0)
    along = (1, C) + (1,) * (z.ndim - 2)  # a per-class vector along dimension 1
    w = _class_weight(options, C).reshape(along)
    if t.dtype.kind == "f":
        B = ((1 - e) * t + e / C) * w
    else:
        kept = (t != options.get("ignore_index", -100))[:, None]
        one_hot = np.arange(C).reshape(along) == t[:, None]
        B = ((1 - e) * one_hot + e / C) * w * kept
    return B, B.sum(axis=1, keepdims=True)


def cross_entropy_scales(inputs, options):
    """The loss's two non-negative terms are its own size; the gradient a p_k - B_k has
    terms a p_k and B_k. p_k = e^(z_k - m) / (1 + rest) carries the rounding of z_k - m,
    a relative error of |z_k - m| roundings (and 1 + rest those of every p_j)."""
    z = _f(inputs[0])
    B, a = _coefficients(inputs, options)
    p = nl.softmax(z, axis=1)
    spread = np.abs(z - z.max(axis=1, keepdims=True))  # |z_k - m|
    through_rest = (p * spread).sum(axis=1, keepdims=True)  # from the rounding of rest
    loss = nl.CrossEntropyLoss(**_opts(options), reduction="none")(*_floats64(inputs))
    loss_scale = np.abs(loss) + a[:, 0] * through_rest[:, 0]
    return loss_scale, (a * p * (1 + spread + through_rest) + B,)  # a p_k - B_k


def nll_make(rng, n, c, scale, options, offset=0.0):
    d = _spatial(rng)
    x = nl.log_softmax(offset + scale * rng.normal(size=(n, c, *d)), axis=1)
    return x, rng.integers(0, c, (n, *d))


# -- information --------------------------------------------------------------------------------
def kl_make(rng, n, c, scale, options, offset=0.0):
    x = nl.log_softmax(offset + scale * rng.normal(size=(n, c)), axis=1)
    t = scale * rng.normal(size=(n, c))
    return x, nl.log_softmax(t, axis=1) if options["log_target"] else nl.softmax(t, axis=1)


def kl_scales(inputs, options):
    x, t = map(_f, inputs)
    if options["log_target"]:
        p = np.exp(t)
        return p * (np.abs(t) + np.abs(x)), (p,)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_log_t = np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0)
    return np.abs(t_log_t) + np.abs(t * x), (t,)


# -- ranking losses -----------------------------------------------------------------------------
def ranking_make(rng, n, c, scale, options, offset=0.0):
    x1, x2 = (offset + scale * rng.normal(size=n) for _ in range(2))
    return x1, x2, _signs(rng, n)


def ranking_scales(inputs, options):
    x1, x2, y = map(_f, inputs)
    gap = options["margin"] - y * (x1 - x2)
    T = abs(options["margin"]) + np.abs(x1 - x2)  # x1 - x2 first: exact when close
    one = np.where(gap > 0, 1.0, 0.0)
    return np.where(gap > 0, T, 0), (one, one)


def ranking_near_kink(inputs, options):
    x1, x2, y = map(_f, inputs)
    return bool(np.any(np.abs(options["margin"] - y * (x1 - x2)) < KINK_DISTANCE))


def triplet_make(rng, n, c, scale, options, offset=0.0):
    return tuple(offset + scale * rng.normal(size=(n, c)) for _ in range(3))


def _norm(v, p):
    return (np.abs(v) ** p).sum(axis=-1) ** (1 / p)


def triplet_scales(inputs, options):
    a, pos, neg = map(_f, inputs)
    eps, p = options["eps"], float(options["p"])
    pairs = [(a, pos), (a, neg)] + ([(pos, neg)] if options["swap"] else [])
    loss = abs(options["margin"]) + 0.0
    grad = 0.0
    for u, v in pairs:
        T = np.abs(u - v) + eps  # (u - v) + eps: u - v is exact when close
        d = _norm(u - v + eps, p)[..., None]
        loss = loss + _norm(T, p)
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = grad + np.where(d > 0, (T / d) ** max(p - 1, 0), 0)
    return loss, (grad, grad, grad)


def triplet_near_kink(inputs, options):
    return not _far_from_kinks(*map(_f, inputs), options)


MAKERS: dict[str, Maker] = {
    "KLDivLoss": Maker(kl_make, kl_scales),
    "BCELoss": Maker(bce_make, bce_scales, bce_near_kink),
    "BCEWithLogitsLoss": Maker(logits_make, bce_logits_scales),
    "MSELoss": Maker(mse_make, mse_scales),
    "FocalLoss": Maker(focal_make, focal_scales),
    "HingeLoss": Maker(sign_make, own_size(nl.HingeLoss), hinge_near_kink),
    "SquaredHingeLoss": Maker(sign_make, own_size(nl.SquaredHingeLoss)),
    "SoftMarginLoss": Maker(sign_make, own_size(nl.SoftMarginLoss)),
    "MultiMarginLoss": Maker(multi_margin_make, multi_margin_scales, multi_margin_near_kink),
    "CrossEntropyLoss": Maker(cross_entropy_make, cross_entropy_scales),
    "NLLLoss": Maker(nll_make, own_size(nl.NLLLoss)),
    "MarginRankingLoss": Maker(ranking_make, ranking_scales, ranking_near_kink),
    "TripletMarginLoss": Maker(triplet_make, triplet_scales, triplet_near_kink),
}
