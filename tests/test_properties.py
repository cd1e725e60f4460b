"""Every guarantee, proven for every exported loss at once, with hypothesis.

Each property runs over every loss `numloss.gradcheck.suite.exported_losses` finds (a
loss exported later joins, and `test_every_exported_loss_has_inputs` fails until
tests/loss_inputs.py can draw its inputs), every option combination of its gradcheck
row, float32 and float64, batches of 1 to 5 rows of 2 to 5 columns, magnitudes from
1e-8 to 1e4, and both paths (the reading path, and the fast path forced: `path` below):

- the loss is at least its known minimum (0, or the target's entropy for soft targets);
- the gradient checker passes away from kinks;
- permuting the batch permutes ``reduction="none"`` and leaves "mean" and "sum" alone;
- "sum" is "mean" times its denominator (PyTorch's, as numloss.textbook writes it);
- the gradient is linear in ``grad_output`` and exactly 0 for ``grad_output = 0``;
- C-order, Fortran-order and strided inputs give the same results;
- right use raises no warning;

and, for the losses they are about: softmax cross-entropy is shift-invariant,
BCE(x, y) = BCE(-x, 1 - y), a hinge is zero past its margin, and KL is at least 0,
and 0 only at p = q (Pinsker: KL >= ||p - q||_1^2 / 2).

Comparisons allow a few roundings of the dtype per element summed, measured against the
size of the terms (`loss_inputs.MAKERS[...].scales`). The hypothesis profile (see
tests/conftest.py) sets how many examples: ``make test`` a fixed few, ``make test-long``
ten times as many, freshly drawn. Whatever the properties found is pinned at the end
of this file as a plain test.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from loss_inputs import (
    MAGNITUDES,
    MAKERS,
    build,
    exported_losses,
    option_grid,
    textbook_denominator,
)

import numloss as nl

LOSSES = exported_losses()
ULPS = 8  # roundings allowed per element summed


@pytest.fixture(scope="module", params=["reading", "fast", "blocked"], autouse=True)
def path(request):
    """Every property on every path: the reading path every draw takes by size; the fast
    path forced ("fast": a loss's sparse kernel where it has one for the draw, else its
    blocked kernel); and "blocked", the blocked kernels forced for every loss, so each
    guarantee holds for each kernel."""
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "blocked":
            for cls in LOSSES:
                patch.setattr(cls, "_sparse", None)
        with nl.fast.path("reading" if request.param == "reading" else "fast"):
            yield request.param


def ids(cls):
    return cls.__name__


def test_every_exported_loss_has_inputs():
    assert {cls.__name__ for cls in LOSSES} == set(MAKERS)
    assert len(LOSSES) >= 13


# -- drawing a case -----------------------------------------------------------------------------
@dataclass
class Case:
    cls: type
    options: dict  # as listed in the gradcheck row (reduction included)
    drawn: dict  # with weights drawn
    inputs: tuple
    dtype: type
    scale: float
    rng: np.random.Generator

    @property
    def name(self):
        return self.cls.__name__

    def loss(self, **changes):
        """The loss with the drawn options, some changed (reduction, say)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", nl.NumlossWarning)  # KLDivLoss's "mean"
            return self.cls(**{**self.drawn, **changes})

    @property
    def size(self):
        return max(np.size(a) for a in self.inputs)

    def tolerance(self, scale):
        """A few roundings of the dtype per element summed, of the terms' scale."""
        eps = np.finfo(self.dtype).eps
        return ULPS * eps * self.size * scale + np.finfo(self.dtype).tiny


def _cast(a, dtype):
    return a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a


@st.composite
def cases(draw, cls, dtypes=(np.float32, np.float64), magnitudes=MAGNITUDES, reductions=None):
    options = draw(st.sampled_from(option_grid(cls)))
    if reductions is not None:
        assume(options["reduction"] in reductions)
    n, c = draw(st.integers(0, 5)), draw(st.integers(2, 5))  # n = 0: an empty batch
    scale = draw(st.sampled_from(magnitudes))
    dtype = draw(st.sampled_from(dtypes))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    inputs = tuple(_cast(a, dtype) for a in MAKERS[cls.__name__].make(rng, n, c, scale, options))
    _, drawn = build(cls, options, rng, inputs)
    return Case(cls, options, drawn, inputs, dtype, scale, rng)


def run(loss, inputs, grad_output=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nl.NumlossWarning)  # a random draw may look odd
        value = loss(*inputs)
    grads = loss.backward(grad_output)
    return value, grads if isinstance(grads, tuple) else (grads,)


def f64(a):
    return np.asarray(a, dtype=np.float64)


def within(a, b, tol, dtype) -> bool:
    """|a - b| <= tol everywhere; beyond `dtype`'s largest number only the signs must
    agree (float32 gives inf where the true value is beyond its range: 1e40, say)."""
    a, b = f64(a), f64(b)
    beyond = np.maximum(np.abs(a), np.abs(b)) >= np.finfo(dtype).max
    with np.errstate(invalid="ignore"):
        close = (a == b) | (np.abs(a - b) <= tol)
    return bool(np.all(np.where(beyond, np.sign(a) == np.sign(b), close)))


def scales(case):
    """(per-element loss scale, gradient scales) of the terms, in float64."""
    inputs64 = tuple(_cast(a, np.float64) for a in case.inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nl.NumlossWarning)
        return MAKERS[case.name].scales(inputs64, case.drawn)


def grad_scales_times(case, reduction, g):
    """The gradients' term scales times |dL/dl_n| for upstream gradient g: g itself
    ("none", one per row spread over its columns), g ("sum"), g / D ("mean")."""
    _, grad_scales = scales(case)
    g = np.abs(f64(g))
    if reduction in ("mean", "batchmean"):
        options = {**case.drawn, "reduction": reduction}
        g = g / (textbook_denominator(case.name, options, case.inputs) or 1.0)
    # one upstream gradient per sample (N, d1, ...) spread over its classes (dimension 1)
    return [s * (np.expand_dims(g, 1) if 0 < np.ndim(g) < np.ndim(s) else g) for s in grad_scales]


# -- the minimum ----------------------------------------------------------------------------------
def _xlogx_over(b, a):
    """sum b log(b / a) with 0 log 0 = 0, along the last axis."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(b > 0, b * np.log(np.where(b > 0, b, 1) / np.where(a > 0, a, 1)), 0)
    return t.sum(axis=-1)


def minimum_sum(case) -> float:
    """The smallest "sum" the loss can take for these targets and options.

    Cross-entropy with coefficients B (a = sum B): a H(B / a) = -sum B log(B / a), at
    p = B / a. BCE with coefficients a, b of log s and log(1 - s): -a log(a / (a + b))
    - b log(b / (a + b)), at s = a / (a + b). Every other loss: 0 (KL: for rows that are
    distributions, which its inputs are).
    """
    x, t = (f64(a) for a in case.inputs[:2]) if len(case.inputs) >= 2 else (None, None)
    if case.name == "CrossEntropyLoss":
        from loss_inputs import _coefficients

        B, a = _coefficients(case.inputs, case.drawn)
        return float(-_xlogx_over(B, a).sum())
    if case.name in ("BCELoss", "BCEWithLogitsLoss"):
        w = case.drawn.get("weight")
        w = np.ones_like(t) if w is None else np.broadcast_to(f64(w), t.shape)
        pw = case.drawn.get("pos_weight")
        a = t if pw is None else f64(pw) * t
        b = 1 - t
        pair = np.stack([a, b], axis=-1)
        return float((w * -_xlogx_over(pair, (a + b)[..., None])).sum())
    return 0.0


@pytest.mark.parametrize("cls", LOSSES, ids=ids)
@given(data=st.data())
def test_the_loss_is_at_least_its_minimum(cls, data):
    case = data.draw(cases(cls))
    total, _ = run(case.loss(reduction="sum"), case.inputs)
    loss_scale, _ = scales(case)
    floor = minimum_sum(case)
    assert float(total) >= floor - case.tolerance(np.sum(loss_scale) + abs(floor))


# -- the gradient checker -------------------------------------------------------------------------
@pytest.mark.parametrize("cls", LOSSES, ids=ids)
@given(data=st.data())
def test_the_gradient_checker_passes_away_from_kinks(cls, data):
    case = data.draw(cases(cls, dtypes=(np.float64,)))
    assume(not MAKERS[case.name].near_kink(case.inputs, case.drawn))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nl.NumlossWarning)
        result = nl.gradcheck(case.loss(), *case.inputs, seed=int(case.rng.integers(2**31)))
    assert result, str(result)


# -- the batch: order, reduction, layout -----------------------------------------------------------
def _permuted(case, order):
    n = len(order)
    inputs = tuple(a[order] if np.ndim(a) and np.shape(a)[0] == n else a for a in case.inputs)
    drawn = {  # a weight of the input's shape (one per element) goes with its element
        k: v[order] if isinstance(v, np.ndarray) and v.shape == np.shape(case.inputs[0]) else v
        for k, v in case.drawn.items()
    }
    return inputs, drawn


@pytest.mark.parametrize("cls", LOSSES, ids=ids)
@given(data=st.data())
def test_permuting_the_batch_permutes_none_and_keeps_mean_and_sum(cls, data):
    case = data.draw(cases(cls))
    n = np.shape(case.inputs[0])[0]
    order = case.rng.permutation(n)
    inputs, drawn = _permuted(case, order)
    none, grads = run(case.loss(reduction="none"), case.inputs, None)
    permuted = Case(case.cls, case.options, drawn, inputs, case.dtype, case.scale, case.rng)
    none_p, _ = run(permuted.loss(reduction="none"), inputs, None)
    np.testing.assert_array_equal(none_p, none[order])  # element by element: the same ops
    loss_scale, _ = scales(case)
    for reduction in set(cls.reductions) - {"none"}:
        before, g = run(case.loss(reduction=reduction), case.inputs)
        after, g_p = run(permuted.loss(reduction=reduction), inputs)
        scale = np.sum(loss_scale)
        assert abs(f64(after) - f64(before)) <= case.tolerance(scale)  # the sum's order moves
        # the gradient moves with its element, up to the rounding of D (a weight sum)
        for a, b, s in zip(g, g_p, grad_scales_times(case, reduction, 1.0), strict=True):
            assert within(b, a[order], case.tolerance(s[order]), case.dtype)


@pytest.mark.parametrize("cls", LOSSES, ids=ids)
@given(data=st.data())
def test_sum_is_mean_times_its_denominator(cls, data):
    case = data.draw(cases(cls))
    total, g_sum = run(case.loss(reduction="sum"), case.inputs)
    loss_scale, grad_scales = scales(case)
    for reduction in set(cls.reductions) & {"mean", "batchmean"}:
        options = {**case.drawn, "reduction": reduction}
        D = textbook_denominator(case.name, options, case.inputs)
        mean, g_mean = run(case.loss(reduction=reduction), case.inputs)
        if D == 0:  # numloss's rule: an empty mean is 0, with gradient 0
            assert mean == 0 and all(np.all(g == 0) for g in g_mean)
            continue
        tol = case.tolerance(np.sum(loss_scale))
        assert abs(f64(mean) * D - f64(total)) <= tol
        for a, b, s in zip(g_mean, g_sum, grad_scales, strict=True):
            assert within(f64(a) * D, b, case.tolerance(s), case.dtype)


@pytest.mark.parametrize("cls", LOSSES, ids=ids)
@given(data=st.data())
def test_the_gradient_is_linear_in_grad_output_and_zero_at_zero(cls, data):
    case = data.draw(cases(cls))
    loss = case.loss()
    value, _ = run(loss, case.inputs)
    shape = np.shape(value)
    g1 = case.rng.uniform(-2, 2, shape).astype(case.dtype)
    g2 = case.rng.uniform(-2, 2, shape).astype(case.dtype)
    zero = loss.backward(np.zeros(shape, case.dtype))
    for z in zero if isinstance(zero, tuple) else (zero,):
        assert np.all(z == 0), "backward(0) must be exactly 0 (and never nan)"
    g12 = g1 + g2
    b1, b2, b12 = (loss.backward(g) for g in (g1, g2, g12))
    reduction = case.options["reduction"]
    bounds = grad_scales_times(case, reduction, np.abs(f64(g1)) + np.abs(f64(g2)))
    for x1, x2, x12, s in zip(
        *(b if isinstance(b, tuple) else (b,) for b in (b1, b2, b12)), bounds, strict=True
    ):
        # where g1 or g2 alone takes a gradient beyond the dtype's range (inf), g1 + g2
        # may or may not: only the entries within range are compared
        in_range = np.abs(f64(x1)) + np.abs(f64(x2)) < np.finfo(case.dtype).max
        assert np.all(np.isfinite(x12[in_range]))
        # a few roundings of the terms apart
        expected = f64(x1)[in_range] + f64(x2)[in_range]
        assert within(x12[in_range], expected, case.tolerance(s)[in_range], case.dtype), (
            "backward(g1 + g2) must be backward(g1) + backward(g2)"
        )


def _layouts(a):
    """a in C order, in Fortran order, and as a strided view into a larger array."""
    if not isinstance(a, np.ndarray) or a.ndim == 0:
        return a, a, a
    big = np.zeros(tuple(2 * s for s in a.shape), dtype=a.dtype)
    view = big[tuple(slice(None, None, 2) for _ in a.shape)]
    view[...] = a
    return np.ascontiguousarray(a), np.asfortranarray(a), view


@pytest.mark.parametrize("cls", LOSSES, ids=ids)
@given(data=st.data())
def test_c_fortran_and_strided_inputs_give_the_same_results(cls, data):
    case = data.draw(cases(cls))
    layouts = list(zip(*(_layouts(a) for a in case.inputs), strict=True))
    results = [run(case.loss(), inputs) for inputs in layouts]
    loss_scale, _ = scales(case)
    reference_value, reference_grads = results[0]
    for value, grads in results[1:]:
        tol = case.tolerance(np.sum(loss_scale) if np.ndim(value) == 0 else loss_scale)
        assert within(value, reference_value, tol, case.dtype)
        bounds = grad_scales_times(case, case.options["reduction"], np.ones(np.shape(value)))
        for g, r, s in zip(grads, reference_grads, bounds, strict=True):
            assert g.shape == r.shape and g.dtype == r.dtype
            assert within(g, r, case.tolerance(s), case.dtype)


@pytest.mark.parametrize("cls", LOSSES, ids=ids)
@given(data=st.data())
def test_right_use_raises_no_warning(cls, data):
    case = data.draw(cases(cls))
    x = case.inputs[0]
    if cls in (nl.BCEWithLogitsLoss, nl.FocalLoss):  # the guard's stated limit: 16 or more
        # logits, all in [0, 1], not all equal, do look like probabilities (a chance of
        # 2^-16 for random logits); such a draw is not right use to be silent about
        assume(not (x.size >= 16 and x.min() >= 0 and x.max() <= 1 and x.max() > x.min()))
    loss = case.loss()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss(*case.inputs)
        loss.backward()


# -- the properties of particular losses -----------------------------------------------------------
@given(data=st.data(), shift=st.sampled_from([-1e3, -1.0, 1e-3, 5.0, 1e3]))
def test_softmax_cross_entropy_is_shift_invariant(data, shift):
    case = data.draw(cases(nl.CrossEntropyLoss, magnitudes=(1e-4, 1.0, 10.0, 100.0)))
    z = case.inputs[0]
    one_per_row = (z.shape[0], 1) + z.shape[2:]
    shifts = (shift * case.rng.uniform(0.5, 2, one_per_row)).astype(case.dtype)
    value, grads = run(case.loss(), case.inputs)
    value_s, grads_s = run(case.loss(), (z + shifts, case.inputs[1]))
    # z + s rounds each logit by half an ulp of |z| + |s|, so the loss (whose slope in
    # each logit is at most a, the row's coefficient sum) moves by up to C a such ulps
    from loss_inputs import _coefficients

    eps = np.finfo(case.dtype).eps
    moved = eps * (np.abs(f64(z)) + np.abs(f64(shifts))).max(initial=0.0) * z.shape[1]
    _, a = _coefficients(case.inputs, case.drawn)
    loss_scale, (grad_scale,) = scales(case)
    reduction = case.options["reduction"]
    if reduction == "none":
        allowed = case.tolerance(loss_scale) + 4 * moved * a[:, 0]
    else:
        D = 1.0
        if reduction == "mean":
            D = textbook_denominator(case.name, case.drawn, case.inputs) or 1.0
        allowed = case.tolerance(np.sum(loss_scale) / D) + 4 * moved * a.sum() / D
    assert within(value_s, value, allowed, case.dtype)
    (g_scale,) = grad_scales_times(case, reduction, np.ones(np.shape(value)))
    assert within(grads_s[0], grads[0], case.tolerance(g_scale) + 4 * moved * g_scale, case.dtype)


@pytest.mark.parametrize("cls", [nl.BCEWithLogitsLoss, nl.FocalLoss, nl.BCELoss], ids=ids)
@given(data=st.data())
def test_bce_of_x_and_y_is_bce_of_minus_x_and_one_minus_y(cls, data):
    case = data.draw(cases(cls))
    assume(case.drawn.get("pos_weight") is None)  # pos_weight weighs y = 1 only
    x, y = case.inputs
    if cls is nl.BCELoss:  # the flip of a probability is 1 - p: exact for p >= 1/2
        x = np.maximum(x, 1 - x)
        flipped = (1 - x, 1 - y)
    else:
        flipped = (-x, 1 - y)
    changes = {}
    if cls is nl.FocalLoss and case.drawn["alpha"] is not None:  # alpha_t swaps too
        changes["alpha"] = 1 - case.drawn["alpha"]
    value, (grad,) = run(case.loss(reduction="none"), (x, y))
    value_f, (grad_f,) = run(case.loss(reduction="none", **changes), flipped)
    loss_scale, (grad_scale,) = scales(
        Case(cls, case.options, case.drawn, (x, y), case.dtype, case.scale, case.rng)
    )
    assert within(value_f, value, case.tolerance(loss_scale), case.dtype)
    assert within(grad_f, -f64(grad), case.tolerance(grad_scale), case.dtype)


def _past_the_margin(case):
    """The case's inputs moved past the margin by at least 1e-2 (relative)."""
    m = case.drawn.get("margin", 1.0)
    inputs = [f64(a) if a.dtype.kind == "f" else a for a in case.inputs]
    if case.name in ("HingeLoss", "SquaredHingeLoss"):
        f, y = inputs
        inputs[0] = y * (m + 0.01 + np.abs(f))
    elif case.name == "MultiMarginLoss":
        x, y = inputs
        x_y = np.take_along_axis(x, y[:, None], axis=1)
        top = x.max(axis=1, keepdims=True)
        np.put_along_axis(x, y[:, None], np.maximum(x_y, top + m + 0.01 * (1 + np.abs(top))), 1)
    elif case.name == "MarginRankingLoss":
        x1, x2, y = inputs
        inputs[0] = x2 + y * (m + 0.01 + np.abs(x1 - x2))
    elif case.name == "TripletMarginLoss":
        a, p, n = inputs
        far = 2 * (
            m + 1 + np.abs(a).max(initial=0.0) + np.abs(p).max(initial=0.0) + 2 * case.drawn["eps"]
        )
        inputs[2] = a + far * p.shape[-1]  # every coordinate of n - a is far
    return tuple(_cast(a, case.dtype) for a in inputs)


MARGIN_LOSSES = [
    nl.HingeLoss,
    nl.SquaredHingeLoss,
    nl.MultiMarginLoss,
    nl.MarginRankingLoss,
    nl.TripletMarginLoss,
]


@pytest.mark.parametrize("cls", MARGIN_LOSSES, ids=ids)
@given(data=st.data())
def test_a_hinge_is_zero_past_its_margin(cls, data):
    case = data.draw(cases(cls, magnitudes=(1e-4, 1.0, 10.0, 100.0)))
    inputs = _past_the_margin(case)
    value, grads = run(case.loss(reduction="none"), inputs)
    assert np.all(value == 0)
    assert all(np.all(g == 0) for g in grads)


@given(
    c=st.integers(2, 6),
    seed=st.integers(0, 2**32 - 1),
    concentration=st.sampled_from([0.1, 1.0, 10.0]),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_kl_is_at_least_pinsker_and_zero_only_at_p_equals_q(c, seed, concentration, dtype):
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.full(c, concentration), size=2)
    p, q = (a / a.sum() for a in (p, q))
    eps = np.finfo(dtype).eps
    kl = nl.kl_divergence(p.astype(dtype), q.astype(dtype))
    pinsker = 0.5 * np.abs(p - q).sum() ** 2
    assume(np.all(q > 0))
    terms = np.sum(np.abs(p * np.log(np.where(p > 0, p, 1)))) + np.sum(np.abs(p * np.log(q)))
    assert kl >= pinsker - 16 * c * eps * (terms + 1)  # Pinsker: 0 only at p = q
    assert nl.kl_divergence(p.astype(dtype), p.astype(dtype)) <= 16 * c * eps * (terms + 1)
    loss = nl.KLDivLoss(reduction="sum")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # p and q are distributions: no warning
        value = loss(np.log(q).astype(dtype), p.astype(dtype))
    assert value >= pinsker - 16 * c * eps * (terms + 1)
