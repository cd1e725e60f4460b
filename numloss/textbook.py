r"""Every loss the way a textbook writes it: the formula as read, in plain NumPy.

The loss classes of numloss are the *stable* forms: each formula rewritten so that it
stays accurate at any finite input. This module is the other side of the page, as
cs231n puts ``softmax_loss_naive`` beside ``softmax_loss_vectorized``: each loss and
its gradient written the way a textbook (or a first NumPy attempt) writes them --
sigmoid then log, softmax then log, one-hot targets built, ``np.maximum(0, ...)``, a
fresh array for every step, float64 throughout, and no rewriting of any kind. Read a
function here beside its class to see what the stable form changes and why.

Where the formula is representable in float64 the two agree to 1e-12 relative, for
every option (``tests/test_textbook.py``), and the tests use these functions as their
references. In the tails the textbook forms break, **on purpose**: that is what they
are here to show. Each line below is asserted in ``tests/test_textbook.py``, against
50-digit mpmath values, with the class getting it right:

    bce_with_logits  x = -40, y = 0     1 - sigmoid(x) rounds to 1: loss 0, true 4.25e-18
                     x = 800, y = 0     sigmoid(x) = 1, log(1 - 1) = -inf: loss inf
    cross_entropy    target leads by 40 p_y rounds to 1: loss 0 and gradient 0, true 8.5e-18
                     logits of 1000     e^1000 = inf, inf / inf: loss nan
                     a logit 800 below  its p = 0, and the one-hot's 0 times log 0: nan
    bce              p = 1e-20, y = 0   log(1 - p) = log(1): loss 0, true 1e-20
    focal            x = 40             p_t rounds to 1 (loss 0, true 1.9e-53) or, for
                                        y = 0, to 0 (loss inf, true 30; gradient nan)
    soft_margin      y x = 40           log(1 + 4.25e-18) = log(1): loss 0
                     y x = -800         e^800 = inf: loss inf, gradient inf / inf = nan

The lesson's own forms come first: softmax cross-entropy of a one-hot label as "softmax
minus one-hot" (`lesson_cross_entropy`), BCE in two lines (`lesson_bce`), the hinge in one
(`lesson_hinge`), each with its gradient, as the lesson *Loss Functions for
Classification* writes them (sections 3.1, 2.1 and 2.2). Read them first; then the
option-complete references below, which the tests use.

>>> import numpy as np
>>> from numloss import textbook
>>> loss, grad = textbook.lesson_cross_entropy(np.array([[2.0, 1.0, 0.1]]), np.array([0]))
>>> loss.round(3), grad.round(3)  # the lesson's 0.417 (3.1.3); softmax minus one-hot
(array([0.417]), array([[-0.341,  0.242,  0.099]]))

The option-complete form on the same logits:

>>> losses, denominator, grad = textbook.cross_entropy(np.array([[2.0, 1.0, 0.1]]), [0])
>>> losses.round(3), denominator, grad.round(3)  # softmax minus one-hot
(array([0.417]), np.float64(1.0), array([[-0.341,  0.242,  0.099]]))

and where it breaks (the class keeps the tiny loss of a confident right answer):

>>> losses, _, _ = textbook.bce_with_logits(np.array([-40.0]), np.array([0.0]))
>>> losses
array([0.])
>>> import numloss as nl
>>> nl.BCEWithLogitsLoss(reduction="none")([-40.0], [0.0])
array([4.24835426e-18])

The contract
------------
Every function here has the signature

    name(*inputs, dl=1.0, **options) -> (losses, denominator, grads)

- ``inputs`` are the loss class's inputs, in its order; ``options`` its constructor's
  parameters, by the same names and with the same defaults (``reduction`` only where
  it changes the denominator: KLDivLoss's ``batchmean``);
- ``losses`` are the per-element losses: what the class returns with
  ``reduction="none"``;
- ``denominator`` is the mean's D under PyTorch's semantics (the weight sum of the
  kept samples for class-index cross-entropy and NLL, N for ``batchmean``, the number
  of losses otherwise);
- ``grads`` is the gradient of sum_n dl_n l_n with respect to each differentiable
  input: one array for one such input, a tuple in input order for several; ``dl`` is a
  scalar or an array of the losses' shape.

`TEXTBOOK` registers them by class name, and `value_and_grad` applies a reduction as
`numloss.Loss` does (an empty mean is 0 with gradient 0).

There are no input checks here: the inputs are assumed to be what the class accepts
(the class is where bad input is caught and named). An input that breaks the formula gives
0, inf or nan (with NumPy's RuntimeWarning where an exp overflows or a log sees 0):
that is the lesson.
"""

from __future__ import annotations

import inspect

import numpy as np

__all__ = [
    "TEXTBOOK",
    "lesson_bce",
    "lesson_cross_entropy",
    "lesson_hinge",
    "bce",
    "bce_with_logits",
    "cross_entropy",
    "focal",
    "hinge",
    "kl_div",
    "margin_ranking",
    "mse",
    "multi_margin",
    "nll",
    "sigmoid",
    "soft_margin",
    "softmax",
    "squared_hinge",
    "triplet_margin",
    "value_and_grad",
]


# -- the lesson's own forms ----------------------------------------------------------------
def lesson_cross_entropy(z, y):
    """Softmax cross-entropy of integer labels y (N,), logits z (N, C): loss and gradient.

    The lesson's section 3.1: the softmax, its log at the true class, and the gradient
    "softmax minus one-hot". (`CrossEntropyLoss` computes the same, stably.)
    """
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)  # the softmax
    one_hot = np.eye(z.shape[1])[y]  # 1 at the true class
    loss = -np.log(np.sum(p * one_hot, axis=1))  # -log p_y
    grad = p - one_hot  # dl/dz = p - one-hot
    return loss, grad


def lesson_bce(p, y):
    """BCE on probabilities, y in {0, 1} (section 2.1): loss and gradient dl/dp."""
    loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss, -y / p + (1 - y) / (1 - p)


def lesson_hinge(f, y):
    """The hinge, y in {-1, +1} (section 2.2): loss max(0, 1 - y f) and gradient -y [y f < 1]."""
    return np.maximum(0, 1 - y * f), np.where(y * f < 1, -y, 0.0)


# -- the two textbook primitives ----------------------------------------------------------
def sigmoid(x):
    """1 / (1 + e^-x), as written: e^-x overflows to inf below x = -709 (sigmoid 0)."""
    return 1 / (1 + np.exp(-x))


def softmax(z, axis=1):
    """e^z_k / sum_j e^z_j, as written: e^z overflows to inf above z = 709 (then nan)."""
    exps = np.exp(z)
    return exps / exps.sum(axis=axis, keepdims=True)


def _f64(a):
    return np.asarray(a, dtype=np.float64)


def _along(dl, axis):
    """dl, one value per loss, given a length-1 axis to broadcast over classes or features."""
    dl = _f64(dl)
    return dl if dl.ndim == 0 else np.expand_dims(dl, axis)


# -- binary losses (lesson section 2.1) --------------------------------------------------
def bce(p, y, *, dl=1.0, weight=None):
    """BCE on probabilities: l = -w [y log p + (1 - y) log(1 - p)], each log clamped at -100."""
    p, y = _f64(p), _f64(y)
    w = 1.0 if weight is None else _f64(weight)
    with np.errstate(divide="ignore", invalid="ignore"):  # log 0 = -inf: the clamp's case
        log_p = np.maximum(np.log(p), -100)  # PyTorch clamps each log at -100
        log_q = np.maximum(np.log(1 - p), -100)
        losses = -w * (y * log_p + (1 - y) * log_q)
        # dl/dp = w (p - y) / (p (1 - p)); a clamped log is a constant: its term drops out
        grad = w * (p - y) / (p * (1 - p))
        grad = np.where(log_p == -100, w * (1 - y) / (1 - p), grad)
        grad = np.where(log_q == -100, -w * y / p, grad)
    return losses, losses.size, grad * dl


def bce_with_logits(x, y, *, dl=1.0, weight=None, pos_weight=None):
    """BCE on logits, sigmoid then log: l = -w [pw y log s + (1 - y) log(1 - s)], s = sigmoid(x)."""
    x, y = _f64(x), _f64(y)
    w = 1.0 if weight is None else _f64(weight)
    pw = 1.0 if pos_weight is None else _f64(pos_weight)
    s = sigmoid(x)
    losses = -w * (pw * y * np.log(s) + (1 - y) * np.log(1 - s))
    grad = w * ((1 - y) * s - pw * y * (1 - s))  # with pw = 1: w (sigmoid(x) - y)
    return losses, losses.size, grad * dl


def mse(x, y, *, dl=1.0):
    """Squared error: l = (x - y)^2, dl/dx = 2 (x - y)."""
    x, y = _f64(x), _f64(y)
    return (x - y) ** 2, x.size, 2 * (x - y) * dl


def focal(x, y, *, dl=1.0, alpha=0.25, gamma=2.0):
    """Focal loss: l = -alpha_t (1 - p_t)^gamma log p_t, p_t = p where y = 1, 1 - p where y = 0."""
    x, y = _f64(x), _f64(y)
    p = sigmoid(x)
    p_t = np.where(y == 1, p, 1 - p)  # the probability of the truth
    alpha_t = 1.0 if alpha is None else np.where(y == 1, alpha, 1 - alpha)
    losses = -alpha_t * (1 - p_t) ** gamma * np.log(p_t)
    # dl/dp_t = alpha_t [gamma (1 - p_t)^(gamma - 1) log p_t - (1 - p_t)^gamma / p_t]
    dl_dp_t = alpha_t * (gamma * (1 - p_t) ** (gamma - 1) * np.log(p_t) - (1 - p_t) ** gamma / p_t)
    grad = dl_dp_t * (2 * y - 1) * p * (1 - p)  # dp_t/dx = (2y - 1) p (1 - p)
    return losses, losses.size, grad * dl


# -- margin losses (lesson section 2.2) ---------------------------------------------------
def hinge(f, y, *, dl=1.0, margin=1.0):
    """Hinge: l = max(0, margin - y f), dl/df = -y [y f < margin] (0 at the margin)."""
    f, y = _f64(f), _f64(y)
    losses = np.maximum(0, margin - y * f)
    return losses, losses.size, np.where(y * f < margin, -y, 0.0) * dl


def squared_hinge(f, y, *, dl=1.0, margin=1.0):
    """Squared hinge: l = max(0, margin - y f)^2, dl/df = -2 y max(0, margin - y f)."""
    f, y = _f64(f), _f64(y)
    g = np.maximum(0, margin - y * f)
    return g**2, g.size, -2 * y * g * dl


def soft_margin(x, y, *, dl=1.0):
    """Soft margin: l = log(1 + e^(-y x)), dl/dx = -y e^(-y x) / (1 + e^(-y x))."""
    x, y = _f64(x), _f64(y)
    exp_neg_u = np.exp(-y * x)
    return np.log(1 + exp_neg_u), x.size, -y * exp_neg_u / (1 + exp_neg_u) * dl


def multi_margin(x, y, *, dl=1.0, p=1, margin=1.0, weight=None):
    """Multi-class hinge: l = sum_{i != y} w_y max(0, margin - x_y + x_i)^p / C."""
    x, y = _f64(x), np.asarray(y)
    x2, y2 = np.atleast_2d(x), y.reshape(-1)  # (C,) is a batch of one
    C = x2.shape[1]
    onehot = np.arange(C) == y2[:, None]
    w_y = np.ones(len(y2)) if weight is None else _f64(weight)[y2]
    x_y = (x2 * onehot).sum(axis=1, keepdims=True)
    h = margin - x_y + x2  # h_i = margin - x_y + x_i
    terms = np.where(onehot, 0.0, np.maximum(0, h) ** p)  # the sum skips i = y
    losses = w_y * terms.sum(axis=1) / C
    # dl/dx_i = w_y p max(0, h_i)^(p - 1) [h_i > 0] / C for i != y; dl/dx_y = minus their sum
    g = np.where(onehot, 0.0, p * np.maximum(0, h) ** (p - 1) * (h > 0)) * (w_y / C)[:, None]
    grad = (g - onehot * g.sum(axis=1, keepdims=True)) * _along(dl, 1)
    return losses.reshape(y.shape), losses.size, grad.reshape(x.shape)


# -- multi-class losses (lesson section 3) ------------------------------------------------
def _targets(z, target, weight, ignore_index, name):
    """For CE and NLL on a batch z (N, C, d1, ...): the class weights along dimension 1, the
    target distribution t (one-hot for an index, all zero where ignored) and whether each
    sample is kept."""
    C = z.shape[1]
    w = np.ones(C) if weight is None else _f64(weight)
    w = w.reshape((1, C) + (1,) * (z.ndim - 2))
    if target.dtype.kind == "f":  # probabilities, every sample kept
        if ignore_index != -100:
            raise ValueError(f"{name}: ignore_index is only allowed with class-index targets")
        return w, _f64(target), np.ones(z.shape[:1] + (1,) + z.shape[2:])
    kept = np.expand_dims(target != ignore_index, 1)
    onehot = (np.expand_dims(target, 1) == np.arange(C).reshape(w.shape)) & kept
    return w, onehot.astype(np.float64), kept.astype(np.float64)


def cross_entropy(z, target, *, dl=1.0, weight=None, ignore_index=-100, label_smoothing=0.0):
    """Softmax then log: l = -sum_c B_c log p_c, B_c = w_c ((1 - alpha) t_c + alpha / C)."""
    z, target = _f64(z), np.asarray(target)
    unbatched = z.ndim == 1
    if unbatched:  # one sample (C,): a batch of one
        z, target = z[None], target[None]
    w, t, kept = _targets(z, target, weight, ignore_index, "cross_entropy")
    alpha, C = label_smoothing, z.shape[1]
    B = w * ((1 - alpha) * t + alpha / C) * kept  # an ignored sample: B = 0
    p = softmax(z)
    losses = -(B * np.log(p)).sum(axis=1)
    grad = (B.sum(axis=1, keepdims=True) * p - B) * _along(dl, 1)  # a p - B, a = sum_c B_c
    # the mean divides by sum_n w_{y_n} over kept samples (indices), by N (probabilities)
    denominator = (w * t).sum() if target.dtype.kind != "f" else losses.size
    return (losses[0], denominator, grad[0]) if unbatched else (losses, denominator, grad)


def nll(x, target, *, dl=1.0, weight=None, ignore_index=-100):
    """NLL on log-probabilities x = log p: l = -sum_c w_c t_c x_c = -w_y log p_y, t one-hot."""
    x, target = _f64(x), np.asarray(target)
    unbatched = x.ndim == 1
    if unbatched:
        x, target = x[None], target[None]
    w, t, _ = _targets(x, target, weight, ignore_index, "nll")
    losses = -(w * t * x).sum(axis=1)
    grad = -w * t * _along(dl, 1)  # dl/dx_c = -w_c t_c
    denominator = (w * t).sum()  # sum_n w_{y_n} over kept samples
    return (losses[0], denominator, grad[0]) if unbatched else (losses, denominator, grad)


# -- information (lesson section 1.3) -----------------------------------------------------
def kl_div(x, t, *, dl=1.0, log_target=False, reduction="mean"):
    """Pointwise KL on log-probabilities x: l = t (log t - x) (0 where t = 0), or e^t (t - x)."""
    x, t = _f64(x), _f64(t)
    if log_target:
        losses, grad = np.exp(t) * (t - x), -np.exp(t)
    else:
        log_t = np.log(np.where(t > 0, t, 1))  # 0 log 0 = 0: log 1 stands in where t = 0
        losses, grad = t * (log_t - x), -t
    # "batchmean" divides by the batch size N: the KL divergence per sample
    denominator = (x.shape[0] if x.ndim else 1) if reduction == "batchmean" else x.size
    return losses, denominator, grad * dl


# -- ranking losses ---------------------------------------------------------------------------
def margin_ranking(x1, x2, y, *, dl=1.0, margin=0.0):
    """Pairwise ranking: l = max(0, -y (x1 - x2) + margin); dl/dx1 = -y, dl/dx2 = y where l > 0."""
    x1, x2, y = _f64(x1), _f64(x2), _f64(y)
    gap = -y * (x1 - x2) + margin
    active = gap > 0
    return (
        np.maximum(0, gap),
        gap.size,
        (np.where(active, -y, 0.0) * dl, np.where(active, y, 0.0) * dl),
    )


def _distance(u, v, p, eps):
    """d = ||u - v + eps||_p over the last axis, and its gradient with respect to u."""
    diff = u - v + eps
    if p == 2:
        d = np.sqrt((diff**2).sum(axis=-1))
        return d, diff / d[..., None]  # v / ||v||
    return np.abs(diff).sum(axis=-1), np.sign(diff)


def triplet_margin(anchor, positive, negative, *, dl=1.0, margin=1.0, p=2, eps=1e-6, swap=False):
    """Triplet: l = max(0, margin + d(a, pos) - d(a, neg)), d(u, v) = ||u - v + eps||_p."""
    a, pos, neg = _f64(anchor), _f64(positive), _f64(negative)
    d_ap, g_ap = _distance(a, pos, p, eps)
    d_an, g_an = _distance(a, neg, p, eps)
    if swap:  # the harder negative: d(pos, neg) where it is the smaller
        d_pn, g_pn = _distance(pos, neg, p, eps)
        swapped = d_pn < d_an
    else:
        d_pn, g_pn, swapped = d_an, g_an, np.zeros(d_an.shape, dtype=bool)
    gap = margin + d_ap - np.where(swapped, d_pn, d_an)
    A = np.expand_dims((gap > 0) * _f64(dl), -1)  # [l > 0] dl, along the features
    s = swapped[..., None]
    grad_a = (g_ap - np.where(s, 0, g_an)) * A
    grad_pos = (-g_ap - np.where(s, g_pn, 0)) * A
    grad_neg = np.where(s, g_pn, g_an) * A
    return np.maximum(0, gap), gap.size, (grad_a, grad_pos, grad_neg)


# -- the registry and the reduction -------------------------------------------------------------
TEXTBOOK = {
    "BCELoss": bce,
    "BCEWithLogitsLoss": bce_with_logits,
    "MSELoss": mse,
    "FocalLoss": focal,
    "HingeLoss": hinge,
    "SquaredHingeLoss": squared_hinge,
    "SoftMarginLoss": soft_margin,
    "MultiMarginLoss": multi_margin,
    "CrossEntropyLoss": cross_entropy,
    "NLLLoss": nll,
    "KLDivLoss": kl_div,
    "MarginRankingLoss": margin_ranking,
    "TripletMarginLoss": triplet_margin,
}

REDUCTIONS = ("mean", "sum", "none", "batchmean")


def value_and_grad(name, options, *inputs, grad_output=None):
    """The loss `name` (a class name) with `options`, reduced, and its gradients.

    What ``cls(**options)(*inputs)`` then ``.backward(grad_output)`` return, computed the
    textbook way: "none" gives the losses, "sum" their sum, "mean" and "batchmean" the
    sum over the denominator (0 with gradient 0 when the denominator is 0).

    >>> value, grad = value_and_grad("MSELoss", {}, [0.9, 0.55, 0.1], [1.0, 1.0, 1.0])
    >>> print(round(float(value), 4), grad.round(4))
    0.3408 [-0.0667 -0.3    -0.6   ]
    """
    if name not in TEXTBOOK:
        raise ValueError(f"name: expected one of {', '.join(sorted(TEXTBOOK))}; got {name!r}")
    fn, options = TEXTBOOK[name], dict(options)
    reduction = options.pop("reduction", "mean")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}; got {reduction!r}")
    if "reduction" in inspect.signature(fn).parameters:  # KLDivLoss: batchmean's N
        options["reduction"] = reduction
    dl = 1.0 if grad_output is None else _f64(grad_output)
    losses, denominator, grads = fn(*inputs, dl=dl, **options)
    if reduction == "none":
        return losses, grads
    if reduction == "sum":
        return losses.sum(), grads
    if not denominator:  # nothing to average: 0, and gradient 0
        return np.float64(0), _each(grads, np.zeros_like)
    return losses.sum() / denominator, _each(grads, lambda g: g / denominator)


def _each(grads, f):
    """f applied to one gradient, or to each of a tuple of them."""
    return tuple(f(g) for g in grads) if isinstance(grads, tuple) else f(grads)
