"""The gradient checker has teeth: it fails broken gradients and passes correct ones."""

from typing import NamedTuple

import numpy as np
import pytest
from conftest import frozen
from hypothesis import given
from hypothesis import strategies as st

import numloss as nl
from numloss.base import Loss
from numloss.gradcheck.checker import ON_EDGE
from numloss.train import Layer, Parameter, ReLU


class Hinge1(Loss):
    """max(0, 1 - x): a kink at x = 1, where the min-norm subgradient is 0."""

    inputs = ("input",)

    class Parts(NamedTuple):
        x: np.ndarray  # the input

    def _parts(self, inputs):
        return self.Parts(inputs.input)

    def _losses(self, parts):
        return np.maximum(0, 1 - parts.x)

    def _gradient(self, r, dl):
        return np.where(r.x < 1, -1.0, 0.0) * dl


class WrongSubgradient(Hinge1):
    def _gradient(self, r, dl):
        return np.where(r.x <= 1, -2.0, 0.0) * dl  # -2 is no subgradient anywhere


class Product(Loss):
    """l = a * b^2, both inputs differentiable."""

    inputs = ("a", "b")
    differentiable = ("a", "b")

    class Parts(NamedTuple):
        a: np.ndarray  # the first input
        b: np.ndarray  # the second

    def _parts(self, inputs):
        return self.Parts(inputs.a, inputs.b)

    def _losses(self, parts):
        return parts.a * parts.b**2

    def _gradient(self, r, dl):
        return r.b**2 * dl, 2 * r.a * r.b * dl


class SwappedProduct(Product):
    def _gradient(self, r, dl):
        da, db = super()._gradient(r, dl)
        return db, da  # each input gets the other's gradient


def broken(cls, how, index=0):
    """A subclass of `cls` whose backward is wrong in the way `how` says."""

    class Broken(cls):
        def _gradient(self, r, dl):
            grad = super()._gradient(r, dl)
            if how == "one entry off by 1e-6":
                grad.reshape(-1)[index] *= 1 + 1e-6
            elif how == "missing 1/N":
                grad = grad * grad.size
            elif how == "sign flip":
                grad = -grad
            elif how == "ignores grad_output":
                grad = super()._gradient(r, np.ones_like(dl))
            return grad

    Broken.__name__ = cls.__name__
    return Broken


@pytest.fixture
def logits_case(rng):
    return rng.normal(0, 2, (4, 3)), rng.integers(0, 2, (4, 3)).astype(float)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_a_single_entry_off_by_1e6_relative_fails_wherever_it_is(logits_case, reduction):
    x, y = logits_case
    for index in range(x.size):
        result = nl.gradcheck(
            broken(nl.BCEWithLogitsLoss, "one entry off by 1e-6", index)(reduction=reduction), x, y
        )
        assert not result, f"entry {index} off by 1e-6 was not caught"
        assert [f.index for f in result.failures] == [np.unravel_index(index, x.shape)]
        assert result.failures[0].input == "input"


@pytest.mark.parametrize("how", ["missing 1/N", "sign flip"])
@pytest.mark.parametrize("cls", [nl.BCEWithLogitsLoss, nl.BCELoss, nl.MSELoss])
def test_gross_mistakes_fail(rng, how, cls):
    x = rng.uniform(0.1, 0.9, (3, 4))
    y = rng.integers(0, 2, (3, 4)).astype(float)
    assert nl.gradcheck(cls(), x, y)
    result = nl.gradcheck(broken(cls, how)(), x, y)
    assert not result and len(result.failures) == x.size


def test_ignoring_the_upstream_gradient_fails_for_none(logits_case):
    x, y = logits_case
    assert not nl.gradcheck(
        broken(nl.BCEWithLogitsLoss, "ignores grad_output")(reduction="none"), x, y
    )


def test_gradient_of_the_wrong_input_fails(rng):
    a, b = rng.uniform(1, 2, 5), rng.uniform(3, 4, 5)
    assert nl.gradcheck(Product(), a, b)
    result = nl.gradcheck(SwappedProduct(), a, b)
    assert not result
    assert {f.input for f in result.failures} == {"a", "b"}


@pytest.mark.parametrize("offset", [1e-3, -1e-3, 5e-3, -0.5, 0.5])
def test_near_a_kink_is_smooth_and_passes(offset):
    result = nl.gradcheck(Hinge1(reduction="none"), np.array([1.0 + offset, 1.0 - offset]))
    assert result and not result.kinks


def test_exactly_at_a_kink_is_reported_not_failed():
    x = np.array([1.0, 0.0, 2.0])
    result = nl.gradcheck(Hinge1(), x)
    assert result
    assert [k.index for k in result.kinks] == [(0,)]
    kink = result.kinks[0]
    assert kink.analytic == 0.0 and min(kink.left, kink.right) < 0 == max(kink.left, kink.right)


def test_a_value_outside_the_one_sided_slopes_fails_even_at_a_kink():
    result = nl.gradcheck(WrongSubgradient(), np.array([1.0, 0.0]))
    assert not result and not result.kinks


def test_random_direction_mode_for_large_inputs(rng):
    x, y = rng.normal(0, 2, (300, 40)), rng.integers(0, 2, (300, 40)).astype(float)
    good = nl.gradcheck(nl.BCEWithLogitsLoss(reduction="none"), x, y, mode="random", directions=4)
    assert good and good.checked == 4 and good.mode == "random"
    for how in ("missing 1/N", "sign flip"):
        cls = broken(nl.BCEWithLogitsLoss, how)
        assert not nl.gradcheck(cls(), x, y, mode="random", directions=4)


def test_inputs_restored_after_every_perturbation(rng):
    x, y = frozen(rng.normal(size=(3, 2)), rng.integers(0, 2, (3, 2)).astype(float))
    seen = []

    class Spy(nl.BCEWithLogitsLoss):
        def _inputs(self, input, target):
            seen.append(np.array(input, copy=True))
            return super()._inputs(input, target)

    assert nl.gradcheck(Spy(), x, y)
    # one forward for backward, five per coordinate, one to leave the loss at x
    assert len(seen) == 2 + 5 * x.size
    for s in seen:  # at most one coordinate differs from the original at any time
        assert np.count_nonzero(s != x) <= 1
    np.testing.assert_array_equal(seen[0], x)
    np.testing.assert_array_equal(seen[-1], x)


def test_float32_inputs_are_checked_in_float64(rng):
    x = rng.normal(size=(3, 2)).astype(np.float32)
    y = rng.integers(0, 2, (3, 2)).astype(np.float32)
    assert nl.gradcheck(nl.BCEWithLogitsLoss(), x, y)
    assert x.dtype == np.float32


def test_result_reports_what_it_found(logits_case):
    x, y = logits_case
    result = nl.gradcheck(broken(nl.BCEWithLogitsLoss, "sign flip")(), x, y)
    assert isinstance(result, nl.GradcheckResult) and result.checked == x.size
    text = str(result)
    assert text.startswith("FAIL: 12 coordinates checked") and "input[0, 0]" in text
    # a flipped sign: |a - n| / |n| = |-n - n| / |n| = 2
    assert result.max_rel_error == pytest.approx(2.0) and result.max_abs_error > 0


def test_bad_mode_is_a_clear_error(logits_case):
    with pytest.raises(ValueError, match="mode: expected 'full' or 'random'"):
        nl.gradcheck(nl.MSELoss(), *logits_case, mode="fast")


def test_numerical_gradient_is_the_derivative_and_restores_x():
    x = np.array([[0.5, -1.0], [2.0, 3.0]])
    before = x.copy()
    grad = nl.numerical_gradient(lambda: float(np.sin(x).sum()), x)
    np.testing.assert_allclose(grad, np.cos(before), rtol=1e-11)
    np.testing.assert_array_equal(x, before)


def test_a_backward_that_ignores_grad_output_is_told_so(logits_case):
    class Forgetful(nl.BCEWithLogitsLoss):
        def _gradient(self, record, dl):
            return super()._gradient(record, 1.0)

    result = nl.gradcheck(Forgetful(reduction="none"), *logits_case)
    assert not result
    assert "must multiply by grad_output" in str(result) and "shape (4, 3)" in str(result)


def test_a_gradient_of_the_wrong_shape_is_a_clear_failure(logits_case):
    class Flat(nl.BCEWithLogitsLoss):
        def _gradient(self, record, dl):
            return super()._gradient(record, dl).reshape(-1)

    result = nl.gradcheck(Flat(), *logits_case)
    assert not result and "has shape (12,)" in str(result) and "expected the shape" in str(result)


# -- inputs with a domain: BCELoss's probabilities in [0, 1] (issue 17, item 7) -------------
class DeclaredBCE(nl.BCELoss):
    """BCELoss with its domain declared, as the checker reads it."""

    domain = {"input": (0.0, 1.0)}


EDGE = [0.0, 1.0]
NEAR_EDGE = [1e-300, 1e-12, 1e-5, 2e-4, 1 - 2e-4, 1 - 1e-5, 1 - 1e-12, np.nextafter(1.0, 0)]
probabilities = st.one_of(
    st.sampled_from(EDGE + NEAR_EDGE), st.floats(0.0, 1.0, allow_subnormal=False)
)


@given(
    st.lists(probabilities, min_size=1, max_size=6),
    st.data(),
    st.sampled_from([nl.BCELoss, DeclaredBCE]),
    st.sampled_from(["mean", "sum", "none"]),
)
def test_bce_anywhere_in_its_domain_is_checked_never_raised(ps, data, cls, reduction):
    """Every probability in [0, 1], the edges and their neighbours included, with the
    domain declared or found from the loss's own error: gradcheck returns, every point off
    the edges passes, and only a point on an edge may be reported as "boundary"."""
    p = np.array(ps)
    y = np.array(
        data.draw(st.lists(st.sampled_from([0.0, 1.0, 0.3]), min_size=p.size, max_size=p.size))
    )
    p_before = p.copy()
    result = nl.gradcheck(cls(reduction=reduction), p, y)
    assert result, str(result)
    assert result.checked == p.size
    for b in result.boundaries:
        assert min(p[b.index], 1 - p[b.index]) < ON_EDGE
    np.testing.assert_array_equal(p, p_before)


def test_near_the_edge_a_wrong_gradient_still_fails():
    """The shorter step near an edge keeps the checker's teeth: one entry off by 1e-6."""
    p, y = np.array([1e-5, 1 - 1e-5, 0.5]), np.array([1.0, 0.0, 1.0])
    for index in range(3):
        for cls in (nl.BCELoss, DeclaredBCE):
            assert not nl.gradcheck(broken(cls, "one entry off by 1e-6", index)(), p, y)


def test_on_the_edge_a_one_sided_slope_is_checked_inward():
    """At p = 0 with y = 0 (l = -log(1 - p)) and p = 1 with y = 1 the loss is smooth on
    the inside: the inward one-sided slope must match, and a wrong value fails there."""
    p, y = np.array([0.0, 1.0]), np.array([0.0, 1.0])
    result = nl.gradcheck(nl.BCELoss(), p, y)
    assert result and not result.boundaries and result.checked == 2
    assert not nl.gradcheck(broken(nl.BCELoss, "sign flip")(), p, y)


class OnlyAtOne:
    """A loss defined at x = 1 alone: forward refuses any other value (written without
    the Loss base, as a duck-typed loss the checker also takes)."""

    inputs = ("input",)
    differentiable = ("input",)

    def forward(self, input):
        self.x = np.asarray(input, float)
        if np.any(self.x != 1):
            raise ValueError("input: expected 1")
        return float(self.x.sum())

    def backward(self, grad_output=None):
        return (1.0 if grad_output is None else grad_output) * np.ones_like(self.x)


def test_a_point_the_loss_refuses_on_both_sides_fails_not_raises():
    result = nl.gradcheck(OnlyAtOne(), np.array([1.0]))
    assert not result and len(result.failures) == 1


class Scale(Layer):
    """y = w x with one weight; forward raises RuntimeError (not a domain's ValueError)
    once w passes `limit`, as a student's bug might."""

    def __init__(self, w, limit):
        self.weight, self.limit = Parameter(np.array([w]), "weight"), limit

    def named_parameters(self):
        return [("weight", self.weight)]

    def _forward(self, x):
        w = self.weight.checked()
        if w[0] > self.limit:
            raise RuntimeError("boom")
        return w * x, x

    def _backward(self, x, g):
        self.weight.grad += (g * x).sum(keepdims=True).reshape(1)
        return g * self.weight.data


def test_a_forward_raising_mid_check_leaves_the_parameters_as_they_were():
    layer = Scale(1.0, limit=1.0 + 1.5 * 2.0**-13)  # raises at w + 2h, after w + h ran
    before = layer.weight.data.copy()
    with pytest.raises(RuntimeError, match="boom"):
        nl.gradcheck(layer, np.array([2.0, 3.0]))
    np.testing.assert_array_equal(layer.weight.data, before)


class BoundedScale(Scale):
    """The same layer whose weight must stay <= limit, refused with a ValueError."""

    def _forward(self, x):
        if self.weight.checked()[0] > self.limit:
            raise ValueError("weight: expected at most the limit")
        return super()._forward(x)


@pytest.mark.parametrize("w", [1.0, 1.0 - 1e-6, 1.0 - 2.0**-13])
def test_a_parameter_near_its_domains_edge_is_checked_and_restored(w):
    layer = BoundedScale(w, limit=1.0)
    before = layer.weight.data.copy()
    result = nl.gradcheck(layer, np.array([2.0, 3.0]))
    assert result and not result.boundaries, str(result)
    np.testing.assert_array_equal(layer.weight.data, before)


# -- misuse of the checker: clear TypeErrors (issue 17, item 11) ------------------------------
MISUSE = {
    "a-class": (lambda: nl.gradcheck(nl.CrossEntropyLoss), r"got the class CrossEntropyLoss"),
    "no-inputs": (
        lambda: nl.gradcheck(nl.CrossEntropyLoss()),
        r"inputs: expected 2 input\(s\) for CrossEntropyLoss.forward \(input, target\); got 0",
    ),
    "too-many": (
        lambda: nl.gradcheck(nl.MSELoss(), [1.0], [1.0], [1.0]),
        r"expected 2 input\(s\) .*; got 3",
    ),
    "layer-no-input": (lambda: nl.gradcheck(ReLU()), r"expected 1 input\(s\) for ReLU"),
    "not-a-loss": (lambda: nl.gradcheck(np.sum, [1.0]), r"expected a loss or layer .*got"),
    "no-inputs-attribute": (
        lambda: nl.gradcheck(type("Duck", (), {"forward": print, "backward": print})(), [1.0]),
        r"Duck.inputs",
    ),
}


@pytest.mark.parametrize("call, message", MISUSE.values(), ids=MISUSE.keys())
def test_misuse_is_a_clear_type_error(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_the_printed_relative_error_is_the_relative_error(logits_case):
    """An entry off by 1e-6 relative is printed as 1.00e-06, not half of it (the error's
    denominator is max(|a|, |n|), not |a| + |n|)."""
    x, y = logits_case
    result = nl.gradcheck(broken(nl.BCEWithLogitsLoss, "one entry off by 1e-6", 5)(), x, y)
    assert not result and len(result.failures) == 1
    assert result.failures[0].error == pytest.approx(1e-6, rel=1e-3)
    assert "relative error 1.00e-06" in str(result)


class _Wrong(nl.Loss):
    """l = f(x) per element; backward wrong in the way `how` says (a user's own loss)."""

    def __init__(self, how, reduction="mean"):
        super().__init__(reduction)
        self.how = how

    class Parts(NamedTuple):
        x: np.ndarray  # the input
        y: np.ndarray  # the target

    def _parts(self, inputs):
        return self.Parts(inputs.input, inputs.target)

    def _losses(self, parts):
        """l = softplus(x) - y x (BCE on logits)"""
        return nl.softplus(parts.x) - parts.y * parts.x

    def _gradient(self, parts, dl):
        p = nl.sigmoid(parts.x)
        grad = {
            "sign": -(p - parts.y),
            "missing 1/N": (p - parts.y) * parts.x.size,
            "1/N twice": (p - parts.y) / parts.x.size,
            "factor 2": 2 * (p - parts.y),
            "chain p(1-p)": (p - parts.y) / (p * (1 - p)),
            "two entries": (p - parts.y) + (np.arange(parts.x.size).reshape(parts.x.shape) < 2),
        }[self.how]
        return grad * dl


class _WrongSoftmax(_Wrong):
    """A user's softmax cross-entropy on one-hot targets, its backward wrong as `how` says
    (the one-hot diagnoses are for a softmax: its gradient's rows sum to 0)."""

    def _losses(self, parts):
        """l = logsumexp(x) - sum_c y_c x_c"""
        return nl.logsumexp(parts.x, axis=1) - (parts.y * parts.x).sum(axis=1)

    def _gradient(self, parts, dl):
        p = nl.softmax(parts.x, axis=1)
        grad = {"one-hot missing": p, "one-hot at the wrong class": p - np.roll(parts.y, 1, axis=1)}
        return grad[self.how] * np.reshape(dl, (-1, 1))


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("sign", "a sign is flipped"),
        (
            "missing 1/N",
            "the number of elements = 12 times the true one: the mean's 1/N is missing",
        ),
        ("1/N twice", "1/the number of elements = 1/12 times the true one: divided by N twice"),
        ("factor 2", "2 times the true one: a constant factor"),
        ("chain p(1-p)", "the sigmoid's slope p (1 - p), is missing"),
        ("one-hot missing", "the one-hot term (p - one-hot, not p) is missing"),
        ("one-hot at the wrong class", "the one-hot term sits at the wrong class"),
        ("two entries", "input: 2 of 12 entries are wrong"),
    ],
)
def test_gradcheck_names_the_mistake_of_a_users_own_loss(rng, how, said):
    x = rng.normal(0, 1.5, (3, 4))
    y = np.zeros((3, 4))
    y[np.arange(3), rng.integers(0, 4, 3)] = 1.0  # one-hot rows
    wrong = _WrongSoftmax(how) if how.startswith("one-hot") else _Wrong(how)
    result = nl.gradcheck(wrong, x, y)  # the mean over 3 x 4 = 12 elements (3 for softmax)
    assert not result
    assert said in str(result), str(result)


def test_a_hinge_without_its_label_is_not_called_a_missing_one_hot(rng):
    """A newcomer's MyHinge (the README's) with y forgotten: not a softmax, so no one-hot
    diagnosis; and an entry off by 1e-6 is not "1 times the true one"."""

    class Hinge(nl.Loss):
        class Parts(NamedTuple):
            y: np.ndarray  # the labels
            u: np.ndarray  # y f, the margin
            inside: np.ndarray  # [u < 1]

        def _parts(self, inputs):
            u = inputs.target * inputs.input
            return self.Parts(inputs.target, u, u < 1)

        def _losses(self, parts):
            return np.maximum(1 - parts.u, 0)

        def _gradient(self, parts, dl):
            return np.where(parts.inside, -1.0, 0.0) * dl  # -y forgotten: -1

    f = rng.normal(0, 0.3, (4, 3))
    y = np.where(rng.uniform(size=(4, 3)) < 0.5, -1.0, 1.0)
    text = str(nl.gradcheck(Hinge(), f, y))
    assert "one-hot" not in text and " 1 times" not in text
