"""numloss.textbook beside the stable classes: where they agree, and where the textbook breaks.

1. Agreement. On ordinary inputs (logits within ±4, probabilities within [0.05, 0.95])
   every textbook form gives the class's value and gradient to 1e-12 relative, for every
   option of every exported loss, and its own gradient passes `numloss.gradcheck`.
2. The tails. Where the formula as read is not representable in float64, the textbook
   form returns 0, inf or nan, and the class returns the 50-digit mpmath value.
"""

from __future__ import annotations

import inspect
import itertools
import math
import re
import zlib

import mpmath
import numpy as np
import pytest
from reference import assert_close_to_mp, mp_log_softmax, mp_sigmoid, mp_softplus

import numloss as nl
from numloss import textbook as tb
from numloss.gradcheck.cases import CASES as GRADCHECK_CASES
from numloss.gradcheck.cases import Sampled
from numloss.gradcheck.suite import exported_losses

LOSSES = {
    name: getattr(nl, name)
    for name in nl.__all__
    if isinstance(getattr(nl, name), type)
    and issubclass(getattr(nl, name), nl.Loss)
    and getattr(nl, name) is not nl.Loss
}


def test_textbook_registers_every_exported_loss():
    assert set(tb.TEXTBOOK) == set(LOSSES) and LOSSES


@pytest.mark.parametrize("name", sorted(tb.TEXTBOOK))
def test_textbook_takes_the_class_options_by_name_with_its_defaults(name):
    ours = inspect.signature(LOSSES[name]).parameters
    theirs = inspect.signature(tb.TEXTBOOK[name]).parameters
    options = {k: p.default for k, p in theirs.items() if p.kind is p.KEYWORD_ONLY and k != "dl"}
    wanted = {k: p.default for k, p in ours.items() if k != "reduction" or name == "KLDivLoss"}
    assert options == wanted


# -- 1. agreement on ordinary inputs, every option -----------------------------------------
class Drawn:
    """An option value drawn to fit the inputs (a weight of the right length)."""

    def __init__(self, label, size):
        self.label, self.size = label, size

    def __repr__(self):
        return self.label

    def draw(self, rng, x):
        return rng.uniform(0.2, 2.0, self.size(x))


W_ELEMENT = Drawn("w[N,C]", lambda x: x.shape)
W_LAST = Drawn("w[C]", lambda x: x.shape[-1])
W_CLASS = Drawn("w[C]", lambda x: x.shape[0] if x.ndim == 1 else x.shape[1])


def _binary_labels(rng, shape):
    y = rng.integers(0, 2, shape).astype(np.float64)
    y.reshape(-1)[::3] = rng.uniform(0.1, 0.9, y.reshape(-1)[::3].shape)  # some soft labels
    return y


def _signs(rng, shape):
    return rng.choice([-1.0, 1.0], shape)


def probabilities(rng, options):
    yield "p", (rng.uniform(0.05, 0.95, (4, 3)), _binary_labels(rng, (4, 3)))


def soft_logits(rng, options):
    yield "x", (rng.uniform(-4, 4, (4, 3)), _binary_labels(rng, (4, 3)))


def hard_logits(rng, options):
    yield "x", (rng.uniform(-4, 4, (4, 3)), rng.integers(0, 2, (4, 3)).astype(np.float64))


def reals(rng, options):
    yield "x", (rng.normal(0, 2, (4, 3)), rng.normal(0, 2, (4, 3)))


def scores(rng, options):
    f, y = rng.uniform(-3, 3, (4, 3)), _signs(rng, (4, 3))
    f[0, 0] = y[0, 0] * options.get("margin", 1.0)  # exactly at the margin: gradient 0
    yield "f", (f, y)


def class_scores(rng, options):
    x, y = rng.normal(0, 1, (5, 4)), rng.integers(0, 4, 5)
    x[0] = [-options["margin"], 0.0, -3.0, 1.0]  # h_0 = 0 exactly, for y = 1: a kink
    y[0] = 1
    yield "(N,C)", (x, y)
    yield "(C,)", (x[1], y[1])


CE_SHAPES = {"(C,)": (4,), "(N,C)": (5, 4), "(N,C,d1,d2)": (3, 4, 2, 2)}


def class_inputs(rng, options, log_probabilities=False):
    for label, shape in CE_SHAPES.items():
        z = rng.normal(0, 1.5, shape)
        C, rest = (shape[0], ()) if len(shape) == 1 else (shape[1], shape[:1] + shape[2:])
        y = rng.integers(0, C, rest)
        if options["ignore_index"] == 1:
            y.reshape(-1)[0] = 1  # an ignored sample (for (C,) the only one: an empty mean)
        if log_probabilities:
            yield label, (nl.log_softmax(z, axis=0 if len(shape) == 1 else 1), y)
            continue
        yield f"{label} indices", (z, y)
        if options["ignore_index"] == -100:  # probability targets take no ignore_index
            t = rng.dirichlet(np.ones(C), size=max(1, z.size // C))  # classes last
            t = t[0] if len(shape) == 1 else np.moveaxis(t.reshape(rest + (C,)), -1, 1)
            yield f"{label} probs", (z, t)


def log_probabilities(rng, options):
    yield from class_inputs(rng, options, log_probabilities=True)


def distributions(rng, options):
    for label, shape in (("(N,C)", (5, 4)), ("(C,)", (4,))):
        x = np.log(rng.dirichlet(np.ones(4), size=5)).reshape(-1)[: math.prod(shape)]
        t = rng.dirichlet(np.ones(4), size=5)
        t[0, 2] = 0.0  # 0 log 0 = 0
        t = t.reshape(-1)[: math.prod(shape)].reshape(shape)
        target = np.log(np.where(t > 0, t, 1e-300)) if options["log_target"] else t
        yield label, (x.reshape(shape), target)


def pairs(rng, options):
    x1, x2, y = rng.normal(0, 2, 6), rng.normal(0, 2, 6), _signs(rng, 6)
    x2[0] = x1[0] - y[0] * options["margin"]  # exactly at the margin
    yield "(N,)", (x1, x2, y)


def triplets(rng, options):
    for label, shape in (("(N,D)", (5, 3)), ("(D,)", (3,))):
        a = rng.normal(0, 1, shape)
        pos = a + rng.normal(0, 0.5, shape)
        neg = a + rng.normal(0, 1.0, shape)
        neg[..., :] = np.where(rng.uniform(size=shape[:-1] + (1,)) < 0.5, pos + 0.2, neg)
        yield label, (a, pos, neg)  # some negatives near the positive: the swap matters


# Every loss: the values to try of every constructor parameter but `reduction` (which
# comes from the class's `reductions`), and its ordinary inputs.
GRID = {
    "BCELoss": ({"weight": (None, W_ELEMENT, W_LAST)}, probabilities),
    "BCEWithLogitsLoss": (
        {"weight": (None, W_ELEMENT, W_LAST), "pos_weight": (None, W_LAST)},
        soft_logits,
    ),
    "MSELoss": ({}, reals),
    "FocalLoss": ({"alpha": (0.25, None, 0.8), "gamma": (0.0, 0.5, 1.0, 2.0, 5.0)}, hard_logits),
    "HingeLoss": ({"margin": (1.0, 0.5)}, scores),
    "SquaredHingeLoss": ({"margin": (1.0, 0.5)}, scores),
    "SoftMarginLoss": ({}, scores),
    "MultiMarginLoss": (
        {"p": (1, 2), "margin": (1.0, 0.5), "weight": (None, W_LAST)},
        class_scores,
    ),
    "CrossEntropyLoss": (
        {"weight": (None, W_CLASS), "ignore_index": (-100, 1), "label_smoothing": (0.0, 0.2)},
        class_inputs,
    ),
    "NLLLoss": ({"weight": (None, W_CLASS), "ignore_index": (-100, 1)}, log_probabilities),
    "KLDivLoss": ({"log_target": (False, True)}, distributions),
    "MarginRankingLoss": ({"margin": (0.0, 0.5)}, pairs),
    "TripletMarginLoss": (
        {"margin": (1.0, 0.3), "p": (1, 2), "eps": (1e-6, 0.0), "swap": (False, True)},
        triplets,
    ),
}


def _grid(name):
    """(options to try, input maker) of a loss: its row above, or else (a loss added since)
    its gradcheck row's options and the ordinary ("random") kinds of its inputs."""
    if name in GRID:
        return GRID[name]
    row = GRADCHECK_CASES[name]

    def ordinary(rng, options):
        return ((kind, x) for kind, x in row.inputs(rng, options) if "random" in kind)

    return row.options, ordinary


def _cases():
    for name in LOSSES:
        grid = {"reduction": LOSSES[name].reductions, **_grid(name)[0]}
        for values in itertools.product(*grid.values()):
            options = dict(zip(grid, values, strict=True))
            label = ", ".join(f"{k}={v!r}" for k, v in options.items())
            yield pytest.param(name, options, id=f"{name}({label})")


CASES = list(_cases())


def test_the_grid_tries_every_constructor_parameter_and_reduction():
    for name, cls in LOSSES.items():
        grid, _ = _grid(name)
        parameters = set(inspect.signature(cls).parameters) - {"reduction"}
        assert set(grid) == parameters, name
        assert all(len(values) >= 2 for values in grid.values()), name
        tried = {case.values[1]["reduction"] for case in CASES if case.values[0] == name}
        assert tried == set(cls.reductions), name


def _as_tuple(grads):
    return grads if isinstance(grads, tuple) else (grads,)


class Textbook:
    """A textbook form dressed as a loss (inputs, forward, backward), for `nl.gradcheck`."""

    def __init__(self, name, options):
        self.name, self.options = name, options
        self.inputs, self.differentiable = LOSSES[name].inputs, LOSSES[name].differentiable

    def forward(self, *inputs):
        self._inputs = inputs
        return tb.value_and_grad(self.name, self.options, *inputs)[0]

    def backward(self, grad_output=None):
        return tb.value_and_grad(self.name, self.options, *self._inputs, grad_output=grad_output)[1]


@pytest.mark.filterwarnings("ignore:KLDivLoss")  # reduction="mean" warns, as in PyTorch
@pytest.mark.parametrize("name, options", CASES)
def test_textbook_agrees_with_the_class(request, name, options):
    rng = np.random.default_rng(zlib.crc32(request.node.callspec.id.encode()))
    _, make_inputs = _grid(name)
    for kind, inputs in make_inputs(rng, options):
        drawn = {
            k: v.draw(rng, inputs[0])
            if isinstance(v, Drawn)
            else v.draw(rng, inputs)
            if isinstance(v, Sampled)
            else v
            for k, v in options.items()
        }
        loss = LOSSES[name](**drawn)
        value = loss(*inputs)
        # a random upstream gradient: one value per loss for "none", so no entry can hide
        g = rng.uniform(0.5, 1.5, np.shape(value)) if options["reduction"] == "none" else 0.7
        grads = _as_tuple(loss.backward(g))
        tb_value, tb_grads = tb.value_and_grad(name, drawn, *inputs, grad_output=g)
        assert np.shape(tb_value) == np.shape(value), kind
        np.testing.assert_allclose(tb_value, value, rtol=1e-12, atol=0, err_msg=kind)
        assert len(_as_tuple(tb_grads)) == len(grads), kind
        for ours, theirs in zip(grads, _as_tuple(tb_grads), strict=True):
            assert theirs.shape == ours.shape, kind
            np.testing.assert_allclose(theirs, ours, rtol=1e-12, atol=0, err_msg=kind)
        if options["reduction"] == "none":  # the textbook gradient proves itself, too
            assert nl.gradcheck(Textbook(name, drawn), *inputs), kind


def test_an_empty_mean_is_zero_with_gradient_zero_as_in_numloss():
    z, y = np.array([[1.0, 2.0, 3.0]]), np.array([1])
    value, grad = tb.value_and_grad("CrossEntropyLoss", {"ignore_index": 1}, z, y)
    assert value == 0.0 and np.all(grad == 0.0) and grad.shape == z.shape


def test_unknown_names_and_reductions_are_errors():
    with pytest.raises(ValueError, match="name: expected one of BCELoss.*got 'Nope'"):
        tb.value_and_grad("Nope", {}, [1.0], [1.0])
    with pytest.raises(ValueError, match="reduction: expected one of.*got 'avg'"):
        tb.value_and_grad("MSELoss", {"reduction": "avg"}, [1.0], [1.0])


def test_the_caller_arrays_are_left_alone(rng):
    z, y = rng.normal(size=(3, 4)), np.array([0, 3, 1])
    z0, y0 = z.copy(), y.copy()
    tb.value_and_grad("CrossEntropyLoss", {"label_smoothing": 0.1}, z, y)
    np.testing.assert_array_equal(z, z0)
    np.testing.assert_array_equal(y, y0)


# -- 2. where the textbook form breaks, and the class does not -----------------------------
def textbook_losses(name, *inputs, **options):
    """The textbook's per-element losses and gradient, its overflow warnings silenced."""
    with np.errstate(all="ignore"):
        return tb.value_and_grad(name, {"reduction": "none", **options}, *inputs)


def stable(name, *inputs, **options):
    loss = LOSSES[name](reduction="none", **options)
    value = loss(*inputs)
    return value, loss.backward(np.ones(np.shape(value)))


def mp_derivative(f, x):
    """df/dx at x, to 50 digits (mpmath differentiates f numerically at that precision)."""
    return mpmath.diff(f, mpmath.mpf(float(x)))


def test_bce_with_logits_textbook_rounds_a_tiny_loss_to_zero():
    # x = -40, y = 0: l = -log(1 - sigmoid(x)); 1 - 4.25e-18 rounds to 1, so l = 0
    x, y = np.array([-40.0]), np.array([0.0])
    exact = mp_softplus(-40.0)  # softplus(x) = -log(1 - sigmoid(x)), 4.25e-18
    textbook, _ = textbook_losses("BCEWithLogitsLoss", x, y)
    assert textbook[0] == 0.0 and exact > 4e-18
    assert_close_to_mp(stable("BCEWithLogitsLoss", x, y)[0][0], exact, what="BCEWithLogits(-40)")


def test_bce_with_logits_textbook_overflows_at_a_confident_wrong_logit():
    # x = 800, y = 0: sigmoid(x) = 1, log(1 - 1) = -inf
    x, y = np.array([800.0]), np.array([0.0])
    textbook, _ = textbook_losses("BCEWithLogitsLoss", x, y)
    assert textbook[0] == np.inf
    value, grad = stable("BCEWithLogitsLoss", x, y)
    assert_close_to_mp(value[0], mp_softplus(800.0), what="BCEWithLogits(800) loss")
    assert_close_to_mp(grad[0], mp_sigmoid(800.0), what="BCEWithLogits(800) gradient")


def test_cross_entropy_textbook_loses_a_confident_right_answer():
    # the target leads by 40: p_y = 1 / (1 + 2 e^-40) rounds to 1, so -log p_y = 0 and
    # the gradient p_y - 1 = 0, where both are about -/+8.5e-18
    z, y = np.array([[40.0, 0.0, 0.0]]), np.array([0])
    log_p = mp_log_softmax(z[0])
    exact_loss, exact_grad = -log_p[0], [mpmath.exp(v) - (k == 0) for k, v in enumerate(log_p)]
    textbook, textbook_grad = textbook_losses("CrossEntropyLoss", z, y)
    assert textbook[0] == 0.0 and textbook_grad[0, 0] == 0.0 and exact_loss > 8e-18
    value, grad = stable("CrossEntropyLoss", z, y)
    assert_close_to_mp(value[0], exact_loss, what="CE, lead by 40")
    for k in range(3):
        assert_close_to_mp(grad[0, k], exact_grad[k], what=f"CE gradient [{k}]")


@pytest.mark.parametrize(
    "z, why",
    [
        ([1000.0, 999.0, 0.0], "e^1000 = inf: inf / inf"),
        ([0.0, -800.0, 1.0], "p = 0 for the logit 800 below: one-hot 0 times log 0"),
    ],
    ids=["logits of 1000", "a logit 800 below"],
)
def test_cross_entropy_textbook_returns_nan(z, why):
    z, y = np.array([z]), np.array([0])
    textbook, textbook_grad = textbook_losses("CrossEntropyLoss", z, y)
    assert np.isnan(textbook[0]), why
    value, grad = stable("CrossEntropyLoss", z, y)
    log_p = mp_log_softmax(z[0])
    assert_close_to_mp(value[0], -log_p[0], what=why)
    for k in range(3):
        assert_close_to_mp(grad[0, k], mpmath.exp(log_p[k]) - (k == 0), what=f"gradient [{k}]")
    if z[0, 0] == 1000.0:
        assert np.isnan(textbook_grad).any()  # the softmax itself is nan


def test_bce_textbook_rounds_log_one_minus_p():
    # p = 1e-20, y = 0: l = -log(1 - p), and 1 - 1e-20 rounds to 1
    p, y = np.array([1e-20]), np.array([0.0])
    exact = -mpmath.log1p(-mpmath.mpf(1e-20))
    textbook, _ = textbook_losses("BCELoss", p, y)
    assert textbook[0] == 0.0 and exact > 9e-21
    assert_close_to_mp(stable("BCELoss", p, y)[0][0], exact, what="BCE(1e-20)")


def mp_focal(y, alpha, gamma):
    """The focal loss of a logit x for label y, in mpmath: alpha_t q^gamma softplus(-u)."""
    alpha_t = 1 if alpha is None else (alpha if y == 1 else 1 - alpha)

    def loss(x):
        u = (2 * y - 1) * x  # the margin
        return alpha_t * (1 / (1 + mpmath.exp(u))) ** gamma * mpmath.log1p(mpmath.exp(-u))

    return loss


@pytest.mark.parametrize("gamma", [2.0, 0.5])
def test_focal_textbook_breaks_at_logit_40(gamma):
    x = np.array([40.0, 40.0])
    y = np.array([1.0, 0.0])  # right (p_t rounds to 1) and wrong (p_t = 1 - 1 = 0)
    textbook, textbook_grad = textbook_losses("FocalLoss", x, y, gamma=gamma)
    assert textbook[0] == 0.0  # true: 0.25 sigmoid(-40)^gamma softplus(-40) > 0
    assert textbook[1] == np.inf  # true: about 0.75 * 40 = 30
    assert np.isnan(textbook_grad[1])  # -inf times p (1 - p) = 0
    if gamma < 1:  # (1 - p_t)^(gamma - 1) = 0^-0.5 = inf, times log 1 = 0
        assert np.isnan(textbook_grad[0])
    value, grad = stable("FocalLoss", x, y, gamma=gamma)
    for k in range(2):
        f = mp_focal(y[k], 0.25, gamma)
        assert_close_to_mp(value[k], f(mpmath.mpf(40)), what=f"focal loss, y={y[k]}")
        assert_close_to_mp(grad[k], mp_derivative(f, 40.0), what=f"focal gradient, y={y[k]}")


def test_soft_margin_textbook_breaks_at_both_ends():
    # y x = 40: log(1 + 4.25e-18) = log 1 = 0;  y x = -800: e^800 = inf, inf / inf = nan
    x, y = np.array([40.0, -800.0]), np.array([1.0, 1.0])
    textbook, textbook_grad = textbook_losses("SoftMarginLoss", x, y)
    assert textbook[0] == 0.0 and textbook[1] == np.inf and np.isnan(textbook_grad[1])
    value, grad = stable("SoftMarginLoss", x, y)
    for k in range(2):
        assert_close_to_mp(value[k], mp_softplus(-x[k]), what=f"soft margin({x[k]})")
        assert_close_to_mp(grad[k], -mp_sigmoid(-x[k]), what=f"soft margin gradient({x[k]})")


def test_the_swap_keeps_d_a_n_on_a_tie_as_the_class_does():
    # d(a, n) = d(pos, n) = 1 exactly (eps = 0): the gradient goes to a, not to pos
    a, pos, neg = np.array([[0.0, 0.0]]), np.array([[2.0, 0.0]]), np.array([[1.0, 0.0]])
    options = {"margin": 1.0, "eps": 0.0, "swap": True, "reduction": "sum"}
    _, grads = tb.value_and_grad("TripletMarginLoss", options, a, pos, neg)
    loss = nl.TripletMarginLoss(**options)
    loss(a, pos, neg)
    for ours, theirs in zip(loss.backward(), grads, strict=True):
        np.testing.assert_array_equal(theirs, ours)
    # kept: dl/da = g(a - pos) - g(a - neg) = 0 and dl/dneg = g(a - neg) = [-1, 0]
    # (swapped, they would be g(a - pos) = [-1, 0] and g(pos - neg) = [1, 0])
    np.testing.assert_array_equal(grads[0], [[0.0, 0.0]])
    np.testing.assert_array_equal(grads[2], [[-1.0, 0.0]])


def test_the_lessons_forms_agree_with_the_classes_on_the_lessons_numbers():
    """lesson_cross_entropy on the logits of 3.1.3 and 3.2, lesson_bce on the spam models
    A, B, C of 2.1.2, lesson_hinge on the three zones of 2.2.1."""
    z, y = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.0]]), np.array([0, 1])
    loss, grad = tb.lesson_cross_entropy(z, y)
    ce = nl.CrossEntropyLoss(reduction="none")
    np.testing.assert_allclose(loss, ce(z, y), rtol=1e-14)
    np.testing.assert_allclose(grad, ce.backward(np.ones(2)), rtol=1e-13, atol=1e-16)
    assert round(float(loss[0]), 3) == 0.417
    p, t = np.array([0.9, 0.55, 0.1]), np.ones(3)
    loss, grad = tb.lesson_bce(p, t)
    bce = nl.BCELoss(reduction="none")
    np.testing.assert_allclose(loss, bce(p, t), rtol=1e-14)
    np.testing.assert_allclose(grad, bce.backward(np.ones(3)), rtol=1e-14)
    f, s = np.array([2.0, 0.5, -1.0]), np.ones(3)
    loss, grad = tb.lesson_hinge(f, s)
    hinge = nl.HingeLoss(reduction="none")
    np.testing.assert_array_equal(loss, hinge(f, s))
    np.testing.assert_array_equal(grad, hinge.backward(np.ones(3)))


def test_the_lessons_cross_entropy_loses_the_tail_the_class_keeps():
    """At a lead of 40 the lesson's form rounds p_y to 1: loss 0 and gradient 0, where the
    true loss is e^-40 = 4.25e-18 (mpmath) and the class keeps it."""
    z, y = np.array([[40.0, 0.0]]), np.array([0])
    loss, grad = tb.lesson_cross_entropy(z, y)
    assert loss[0] == 0 and grad[0, 0] == 0
    true = float(mpmath.log1p(mpmath.exp(-40)))
    ce = nl.CrossEntropyLoss(reduction="none")
    assert abs(float(ce(z, y)[0]) - true) <= 1e-13 * true
    assert abs(float(ce.backward(np.ones(1))[0, 0]) + true) <= 1e-13 * true


@pytest.mark.parametrize("cls", exported_losses(), ids=lambda c: c.__name__)
def test_each_class_names_its_textbook_form_and_a_test_that_exists(cls):
    """Right after its formula, each class's docstring points to its textbook function and
    to the test that shows where the two part (or agree): both must exist."""
    doc = " ".join(inspect.getdoc(cls).split())
    named = re.search(r"Textbook form: `numloss\.textbook\.(\w+)`", doc)
    assert named and hasattr(tb, named.group(1)), cls.__name__
    assert doc.index("Textbook form") < doc.index("Gradient"), cls.__name__
    for test in re.findall(r"tests/test_textbook\.py::(\w+)", doc):
        assert test in globals(), f"{cls.__name__} names {test}, which is not a test here"
