"""The gradient checker has teeth: it fails broken gradients and passes correct ones."""

from typing import NamedTuple

import numpy as np
import pytest
from conftest import frozen

import numloss as nl
from numloss.base import Loss


class Hinge1(Loss):
    """max(0, 1 - x): a kink at x = 1, where the min-norm subgradient is 0."""

    inputs = ("input",)

    class Parts(NamedTuple):
        x: np.ndarray  # the input

    def _parts(self, x):
        return self.Parts(x.input)

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

    def _parts(self, x):
        return self.Parts(x.a, x.b)

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
    assert result.max_rel_error == pytest.approx(1.0) and result.max_abs_error > 0


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
