"""The gradient-check cases: for every exported loss and layer, which options and inputs.

One table, read top to bottom. A row names the options to try besides ``reduction``
(which comes from a loss's own ``reductions``) and a function that yields
``(label, inputs)``: random inputs and extreme ones (kinks, huge logits, saturated
probabilities). A row may say how to ``build`` the object from its options (a model
followed by a loss, say); otherwise the class is called with them.
``python -m numloss.gradcheck`` runs every combination; ``tests/test_suite.py`` checks
that every constructor parameter of every exported loss and layer appears in its row.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..primitives import log_softmax, softmax
from ..ranking import p_norm

__all__ = ["CASES", "Cases", "Sampled", "cases_for"]


@dataclass(frozen=True)
class Sampled:
    """An option value drawn to fit the inputs (a weight of the right shape, say).

    ``Sampled("w[C]", lambda rng, inputs: rng.uniform(0.5, 2, inputs[0].shape[1]))`` is
    a per-class weight; its label is what the suite prints.
    """

    label: str
    draw: Callable[[np.random.Generator, tuple], Any]

    def __repr__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Cases:
    """A row of the table: option values to try, and the inputs to try them on."""

    inputs: Callable[[np.random.Generator, dict], Iterator[tuple[str, tuple]]]
    options: dict[str, tuple] = field(default_factory=dict)
    build: Callable[..., Any] | None = None  # how to make the object; default: the class
    make: Callable[..., tuple] | None = None  # a loss's inputs at any (N, C) or (n,), a dtype


# -- samplers the rows share -----------------------------------------------------------------
def per_class(low: float, high: float, label: str = "w[C]") -> Sampled:
    """A weight with one value per class (dimension 1, or the last of a (C,) input)."""
    return Sampled(label, lambda rng, x: rng.uniform(low, high, x[0].shape[min(1, x[0].ndim - 1)]))


def per_element(rng, inputs):
    return rng.uniform(0.5, 2.0, size=inputs[0].shape)


def binary_targets(rng, shape, soft: bool):
    """0/1 labels, with a soft label (in (0, 1)) in every other position if `soft`."""
    y = rng.integers(0, 2, size=shape).astype(np.float64)
    if soft:
        y.reshape(-1)[::2] = rng.uniform(0.1, 0.9, size=y.reshape(-1)[::2].shape)
    return y


def logits(rng, extreme: bool):
    """(5, 4) logits: random, or a leader by 40, by 700 and by 1e4, a tie, equal logits."""
    if not extreme:
        return rng.normal(0, 2, (5, 4))
    return np.array(
        [
            [40.0, 0.0, -1.0, 2.0],
            [0.0, 700.0, 3.0, -5.0],
            [1e4, 0.0, 0.0, -1e4],
            [3.0, 3.0, -2.0, 1.0],
            [0.5, 0.5, 0.5, 0.5],
        ]
    )


# -- the inputs of each loss ------------------------------------------------------------------
def bce_inputs(rng, options):
    shape = (4, 3)
    yield "random", (rng.uniform(0.05, 0.95, shape), binary_targets(rng, shape, soft=True))
    # confident and right, confident and wrong, at both ends (p within 1e-2 of 0 and 1:
    # closer, the finite-difference stencil would step outside [0, 1])
    p = np.array([[0.01, 0.99, 0.01], [0.99, 0.5, 0.02]])
    yield "extreme", (p, np.array([[0.0, 1.0, 1.0], [0.0, 1.0, 0.0]]))


def logit_inputs(rng, options):
    """Logits with 0/1 (and soft) labels; the extremes reach ±1e4."""
    shape = (4, 3)
    yield "random", (rng.normal(0, 2, shape), binary_targets(rng, shape, soft=True))
    x = np.array([[-40.0, 40.0, 700.0], [-1e4, 1e4, -700.0]])
    yield "extreme", (x, np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]))
    yield "extreme-right", (x, (x > 0).astype(np.float64))


def mse_inputs(rng, options):
    yield "random", (rng.normal(0, 2, (4, 3)), rng.normal(0, 2, (4, 3)))
    yield "extreme", (np.array([1e4, -1e4, 0.0]), np.array([-1e4, 1e4, 0.0]))


def focal_inputs(rng, options):
    shape = (4, 3)
    yield "random", (rng.normal(0, 2, shape), rng.integers(0, 2, shape).astype(np.float64))
    x = np.array([[-40.0, 40.0, 700.0], [-1e4, 1e4, -700.0], [1e-3, -1e-3, 0.0]])
    yield "extreme", (x, np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [1.0, 0.0, 1.0]]))


def sign_margin_inputs(rng, options):
    """Scores and -1/+1 labels; the margin u = y f at, inside and beyond the margin."""
    margin = options.get("margin", 1.0)
    yield "random", (rng.normal(0, 2, (4, 3)), rng.choice([-1.0, 1.0], size=(4, 3)))
    u = np.array([margin, margin - 1e-3, margin + 1e-3, 0.0, -1e4, 1e4])
    y = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    yield "kinks/extreme", (u * y, y)


def multi_margin_inputs(rng, options):
    m = options["margin"]

    def away_from_kinks(shape, y):  # random scores with every h_i = m - x_y + x_i off 0
        while True:
            x = rng.normal(0, 1, shape)
            h = m - np.take_along_axis(np.atleast_2d(x), np.reshape(y, (-1, 1)), 1) + x
            if np.all(np.abs(h) > 1e-2):
                return x

    y = rng.integers(0, 5, 4)
    yield "random", (away_from_kinks((4, 5), y), y)
    # h_i = margin - x_y + x_i exactly 0 (a kink), ±1e-3 (near it), and ±1e4
    x = np.array([[-m, 0.0, -3.0], [0.0, 1e-3 - m, -1e-3 - m], [1e4, 0.0, -1e4]])
    yield "kinks/extreme", (x, np.array([1, 0, 1]))
    yield "random (C,)", (away_from_kinks(4, 2), np.int64(2))


def with_ignored(y: np.ndarray, options: dict, where) -> np.ndarray:
    """Put ignore_index at `where` when the row tries an ignore_index that is a class."""
    if options.get("ignore_index", -100) == 1:
        y[where] = 1
    return y


def cross_entropy_inputs(rng, options):
    for extreme in (False, True):
        z = logits(rng, extreme)
        kind = "extreme" if extreme else "random"
        y = rng.integers(0, z.shape[1], z.shape[0])
        if extreme:
            y[:3] = [0, 2, 0]  # target at the leader, not at it, at the leader by 1e4
        yield f"{kind} indices", (z, with_ignored(y, options, 1))
        if options["ignore_index"] == -100:  # probability targets take no ignore_index
            yield f"{kind} probs", (z, rng.dirichlet(np.ones(z.shape[1]), size=z.shape[0]))
    z = rng.normal(0, 2, (2, 3, 2))  # the (N, C, d1) form
    yield "random (N,C,d)", (z, with_ignored(rng.integers(0, 3, (2, 2)), options, (0, 0)))
    yield "random (C,)", (rng.normal(0, 2, 3), np.int64(0))


def nll_inputs(rng, options):
    for kind, z in (("random", logits(rng, False)), ("extreme", logits(rng, True))):
        y = rng.integers(0, z.shape[1], z.shape[0])
        yield kind, (log_softmax(z, axis=1), with_ignored(y, options, 1))
    z = rng.normal(0, 2, (2, 3, 2))
    y = with_ignored(rng.integers(0, 3, (2, 2)), options, (0, 0))
    yield "random (N,C,d)", (log_softmax(z, axis=1), y)


def kl_div_inputs(rng, options):
    def target(t):  # probabilities, or their logs with log_target (log 0 as log 1e-300)
        return np.log(np.where(t > 0, t, 1e-300)) if options["log_target"] else t

    x = np.log(rng.dirichlet(np.ones(4), size=3))
    t = rng.dirichlet(np.ones(4), size=3)
    t[0, 1] = 0.0  # an impossible class: 0 log 0 = 0
    yield "random", (x, target(t))
    x = np.log(np.array([[1 - 2e-300, 1e-300, 1e-300], [1 / 3, 1 / 3, 1 / 3]]))
    yield "extreme", (x, target(np.array([[1.0, 0.0, 0.0], [0.98, 0.01, 0.01]])))


def margin_ranking_inputs(rng, options):
    y = rng.choice([-1.0, 1.0], 6)
    yield "random", (rng.normal(0, 2, 6), rng.normal(0, 2, 6), y)
    m = options["margin"]
    x1 = np.array([0.0, 0.0, 0.0, 1e4])
    x2 = np.array([-m, 1e-3 - m, -1e-3 - m, -1e4])  # at, inside, beyond the margin
    yield "kinks/extreme", (x1, x2, np.ones(4))


def triplet_inputs(rng, options):
    def away_from_kinks(make):  # redraw until no row is within 1e-2 of a kink
        while True:
            a, p, n = make()
            if _far_from_kinks(a, p, n, options):
                return a, p, n

    def mixed():
        a = rng.normal(0, 1, (4, 3))
        p = a + rng.normal(0, 0.1, (4, 3))  # close positives: some triplets satisfied
        n = a + rng.normal(0, 3, (4, 3))
        n[0] = p[0] + rng.normal(0, 0.2, 3)  # a negative near the positive: swap matters
        return a, p, n

    yield "random", away_from_kinks(lambda: tuple(rng.normal(0, 1, (4, 3)) for _ in range(3)))
    a, p, n = away_from_kinks(mixed)
    yield "random mixed", (a, p, n)
    yield "extreme", (a * 1e3, p * 1e3, n * 1e3)
    yield "random (D,)", away_from_kinks(lambda: tuple(rng.normal(0, 1, 3) for _ in range(3)))


def _far_from_kinks(a, p, n, options) -> bool:
    """No hinge at its margin, no swap at a tie, no difference coordinate near 0.

    (|v|^p is not smooth at v = 0: a kink for p = 1, a jump in a higher derivative for
    other p, which the five-point stencil assumes away.)
    """
    eps, norm_p = options["eps"], options["p"]
    v = [a - p + eps, a - n + eps, p - n + eps]
    d_ap, d_an, d_pn = (p_norm(vi, norm_p) for vi in v)
    d_neg = np.minimum(d_an, d_pn) if options["swap"] else d_an
    gap = options["margin"] + d_ap - d_neg
    return bool(
        np.all(np.abs(gap) > 1e-2)
        and (not options["swap"] or np.all(np.abs(d_an - d_pn) > 1e-2))
        and all(np.all(np.abs(vi) > 1e-2) for vi in v)
    )


# -- the trainer's layers (numloss.train) ------------------------------------------------------
def layer_inputs(rng, options):
    """Activations: random, and saturated ones for the squashing layers."""
    width = options.get("in_features", 4)
    yield "random", (rng.normal(0, 2, (4, width)),)
    yield "random (N,T,d)", (rng.normal(0, 2, (2, 3, width)),)
    # big inputs: where the squashing layers saturate, and a linear layer is still linear
    x = np.array([[-40.0, -5.0, 5.0, 40.0], [-1e3, 0.5, -0.5, 1e3]])
    yield "extreme", (x[:, :width],)


def away_from_zero(rng, shape):
    """Normal draws kept 1e-2 from 0 (ReLU's kink), so random inputs are smooth points."""
    x = rng.normal(0, 2, shape)
    return np.where(np.abs(x) < 1e-2, 0.5, x)


def relu_inputs(rng, options):
    yield "random", (away_from_zero(rng, (4, 3)),)
    yield "kinks", (np.array([[0.0, 1e-3, -1e-3, 2.0]]),)


def mlp(out_features: int):
    """A small model for checking every parameter end to end: Linear, Tanh, Linear."""
    from ..train import Linear, Sequential, Tanh

    return Sequential(Linear(4, 5, seed=0), Tanh(), Linear(5, out_features, seed=1))


def sequential_inputs(rng, options):
    yield "random", (rng.normal(0, 1, (6, 4)),)
    yield "extreme", (rng.normal(0, 1, (3, 4)) * 30,)  # the Tanh saturates


# A model followed by each kind of loss: (its output width, targets for N samples)
MODEL_TARGETS = {
    "CrossEntropyLoss": (3, lambda rng, n: rng.integers(0, 3, n)),
    "BCEWithLogitsLoss": (1, lambda rng, n: rng.integers(0, 2, (n, 1)).astype(float)),
    "MSELoss": (2, lambda rng, n: rng.normal(0, 1, (n, 2))),
    "SoftMarginLoss": (1, lambda rng, n: rng.choice([-1.0, 1.0], (n, 1))),
}


def with_loss_inputs(rng, options):
    _, target = MODEL_TARGETS[options["loss"]]
    yield "random", (rng.normal(0, 1, (6, 4)), target(rng, 6))
    yield "extreme", (rng.normal(0, 1, (3, 4)) * 30, target(rng, 3))  # saturated hidden units


def model_with_loss(model: str, loss: str):
    import numloss

    from ..train import WithLoss

    return WithLoss(mlp(MODEL_TARGETS[loss][0]), getattr(numloss, loss)())


# -- inputs of any shape: what `make` gives the benchmark and the memory test -------------------
# Each maker returns the loss's positional inputs for a shape (N, C) (or (n,)) and a float
# dtype: values where the loss is neither saturated nor trivially zero.
def logits_and_classes(rng, shape, dtype):  # CrossEntropyLoss, MultiMarginLoss
    return _normal(rng, shape, dtype), rng.integers(0, shape[1], shape[0])


def log_probabilities_and_classes(rng, shape, dtype):  # NLLLoss
    return log_softmax(_normal(rng, shape, dtype), axis=1), rng.integers(0, shape[1], shape[0])


def logits_and_labels(rng, shape, dtype):  # BCEWithLogitsLoss, FocalLoss: labels 0/1
    return _normal(rng, shape, dtype), rng.integers(0, 2, shape).astype(dtype)


def probabilities_and_labels(rng, shape, dtype):  # BCELoss
    return rng.uniform(0.01, 0.99, shape).astype(dtype), rng.integers(0, 2, shape).astype(dtype)


def scores_and_signs(rng, shape, dtype):  # HingeLoss, SquaredHingeLoss, SoftMarginLoss
    return _normal(rng, shape, dtype), (2 * rng.integers(0, 2, shape) - 1).astype(dtype)


def two_reals(rng, shape, dtype):  # MSELoss
    return _normal(rng, shape, dtype), _normal(rng, shape, dtype)


def log_probabilities_and_probabilities(rng, shape, dtype):  # KLDivLoss
    return log_softmax(_normal(rng, shape, dtype), axis=1), softmax(_normal(rng, shape, dtype), 1)


def two_scores_and_signs(rng, shape, dtype):  # MarginRankingLoss: N x C pairs of scores
    return _normal(rng, shape, dtype), *scores_and_signs(rng, shape, dtype)


def triplets(rng, shape, dtype):  # TripletMarginLoss: N embeddings of dimension C
    anchor = _normal(rng, shape, dtype)
    return anchor, anchor + _normal(rng, shape, dtype), anchor + _normal(rng, shape, dtype)


def _normal(rng, shape, dtype):
    x = rng.standard_normal(shape, dtype=dtype)
    x *= 2  # logits of a few units, as a model in training gives
    return x


# -- the table ----------------------------------------------------------------------------------
CASES: dict[str, Cases] = {
    "KLDivLoss": Cases(
        kl_div_inputs, {"log_target": (False, True)}, make=log_probabilities_and_probabilities
    ),
    "BCELoss": Cases(
        bce_inputs,
        {"weight": (None, Sampled("w[N,C]", per_element))},
        make=probabilities_and_labels,
    ),
    "BCEWithLogitsLoss": Cases(
        logit_inputs,
        {
            "weight": (None, Sampled("w[N,C]", per_element)),
            "pos_weight": (
                None,
                Sampled("pw[C]", lambda rng, x: rng.uniform(0.5, 3, x[0].shape[-1])),
            ),
        },
        make=logits_and_labels,
    ),
    "MSELoss": Cases(mse_inputs, make=two_reals),
    "FocalLoss": Cases(
        focal_inputs,
        {"alpha": (0.25, None), "gamma": (0.0, 0.5, 1.0, 2.0, 5.0)},
        make=logits_and_labels,
    ),
    "HingeLoss": Cases(sign_margin_inputs, {"margin": (1.0, 0.5)}, make=scores_and_signs),
    "SquaredHingeLoss": Cases(sign_margin_inputs, {"margin": (1.0, 0.5)}, make=scores_and_signs),
    "SoftMarginLoss": Cases(sign_margin_inputs, make=scores_and_signs),
    "MultiMarginLoss": Cases(
        multi_margin_inputs,
        {"p": (1, 2), "margin": (1.0, 0.5), "weight": (None, per_class(0.5, 2.0))},
        make=logits_and_classes,
    ),
    "CrossEntropyLoss": Cases(
        cross_entropy_inputs,
        {
            "weight": (None, per_class(0.2, 2.0)),
            "ignore_index": (-100, 1),
            "label_smoothing": (0.0, 0.2),
        },
        make=logits_and_classes,
    ),
    "NLLLoss": Cases(
        nll_inputs,
        {"weight": (None, per_class(0.2, 2.0)), "ignore_index": (-100, 1)},
        make=log_probabilities_and_classes,
    ),
    "MarginRankingLoss": Cases(
        margin_ranking_inputs, {"margin": (0.0, 0.5)}, make=two_scores_and_signs
    ),
    "TripletMarginLoss": Cases(
        triplet_inputs,
        {"margin": (1.0, 0.3), "p": (1, 2, 3), "eps": (1e-6, 0.0), "swap": (False, True)},
        make=triplets,
    ),
    # the trainer's layers: the input gradient and every parameter's
    "Linear": Cases(
        layer_inputs,
        {
            "in_features": (3, 1),
            "out_features": (2, 1),
            "bias": (True, False),
            "seed": (None, 7),
            "dtype": ("float64",),  # the checker works in float64
        },
    ),
    "Sigmoid": Cases(layer_inputs),
    "Tanh": Cases(layer_inputs),
    "ReLU": Cases(relu_inputs),
    "Sequential": Cases(
        sequential_inputs, {"layers": ("Linear-Tanh-Linear",)}, lambda layers: mlp(2)
    ),
    "WithLoss": Cases(
        with_loss_inputs, {"model": ("mlp",), "loss": tuple(MODEL_TARGETS)}, model_with_loss
    ),
}

# parameters a row may try with one value only, and why
SINGLE_VALUE = {
    "dtype": "the checker perturbs parameters in float64",
    "layers": "one model stands for every composition",
    "model": "one model stands for every model",
}


def build(cls: type, drawn: dict):
    """The object a row's options describe: ``cls(**drawn)`` unless the row says how."""
    row = CASES[cls.__name__]
    return (row.build or cls)(**drawn)


def cases_for(cls: type, rng: np.random.Generator) -> Iterator[tuple[dict, dict, str, tuple]]:
    """Every option combination of `cls`'s row with every input kind.

    Yields ``(options, drawn, label, inputs)``: ``options`` as listed (what the suite
    prints), ``drawn`` with every `Sampled` value drawn to fit ``inputs`` (what the loss
    is built with), and the input kind's label.
    """
    row = CASES[cls.__name__]
    grid = {"reduction": getattr(cls, "reductions", ()), **row.options}
    grid = {name: values for name, values in grid.items() if values}
    for values in itertools.product(*grid.values()):
        options = dict(zip(grid, values, strict=True))
        for label, inputs in row.inputs(rng, options):
            drawn = {
                k: (v.draw(rng, inputs) if isinstance(v, Sampled) else v)
                for k, v in options.items()
            }
            yield options, drawn, label, inputs
