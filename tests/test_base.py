"""The Loss contract: arity, reductions, upstream gradients, zero denominators, dtypes."""

from typing import NamedTuple

import numpy as np
import pytest

import numloss as nl
from numloss.base import Loss


class Halves(Loss):
    """l_n = x_n^2 / 2 with a mean denominator the test chooses."""

    inputs = ("input",)

    class Inputs(NamedTuple):
        x: np.ndarray  # the input
        denominator: float | None  # the mean's D (None: the number of elements)

    class Parts(NamedTuple):
        x: np.ndarray  # the input

    def __init__(self, denominator=None, reduction="mean"):
        super().__init__(reduction)
        self.chosen = denominator

    def _inputs(self, input):
        return self.Inputs(np.asarray(input, dtype=np.float64), self.chosen)

    def _parts(self, inputs):
        return self.Parts(inputs.x)

    def _losses(self, parts):
        return parts.x**2 / 2

    def _gradient(self, r, dl):
        return r.x * dl


def test_reductions_and_their_gradients():
    x = np.array([1.0, 2.0, 3.0])
    assert Halves(reduction="sum")(x) == 7.0
    assert Halves()(x) == pytest.approx(7 / 3)
    loss = Halves(reduction="none")
    np.testing.assert_array_equal(loss(x), [0.5, 2.0, 4.5])
    np.testing.assert_array_equal(loss.backward([1.0, 0.0, -1.0]), [1.0, 0.0, -3.0])
    loss = Halves()
    loss(x)
    np.testing.assert_allclose(loss.backward(3.0), x * 3 / 3)


def test_a_zero_denominator_gives_zero_not_nan():
    loss = Halves(denominator=0)
    assert loss(np.array([1.0, 2.0])) == 0.0
    np.testing.assert_array_equal(loss.backward(), [0.0, 0.0])


def test_custom_denominator_enters_value_and_gradient():
    loss = Halves(denominator=2)
    assert loss(np.array([2.0, 2.0, 2.0])) == 3.0
    np.testing.assert_array_equal(loss.backward(), [1.0, 1.0, 1.0])


def test_wrong_number_of_inputs():
    with pytest.raises(
        TypeError, match=r"MSELoss.forward: expected 2 inputs \(input, target\); missing target"
    ):
        nl.MSELoss()(np.zeros(3))


def test_grad_output_checks():
    loss = nl.MSELoss(reduction="none")
    loss(np.zeros(3), np.ones(3))
    with pytest.raises(
        ValueError,
        match=r"MSELoss.backward: grad_output: expected shape \(3,\) or a scalar; got \(2,\)",
    ):
        loss.backward(np.ones(2))
    with pytest.raises(ValueError, match="grad_output: expected finite values; got nan"):
        loss.backward(np.array([1.0, np.nan, 1.0]))
    np.testing.assert_array_equal(loss.backward(2.0), [-4.0, -4.0, -4.0])


def test_a_failed_forward_forgets_the_last_one():
    loss = nl.MSELoss()
    loss(np.zeros(2), np.ones(2))
    with pytest.raises(ValueError):
        loss(np.zeros(2), np.ones(3))
    with pytest.raises(RuntimeError, match="needs a successful forward"):
        loss.backward()


def test_backward_before_any_forward_is_a_runtime_error():
    with pytest.raises(RuntimeError, match=r"MSELoss.backward\(\) needs a successful forward"):
        nl.MSELoss().backward()


def test_backward_twice_gives_the_same_gradient_and_scales_with_grad_output():
    z = np.array([[2.0, 1.0, 0.1], [0.0, 3.0, -1.0]])
    for loss in (nl.CrossEntropyLoss(), nl.MSELoss()):
        inputs = (z, [0, 1]) if isinstance(loss, nl.CrossEntropyLoss) else (z, np.zeros_like(z))
        loss(*inputs)
        first = loss.backward()
        np.testing.assert_array_equal(loss.backward(), first)
        np.testing.assert_array_equal(loss.backward(2.0), 2 * first)


def test_inputs_by_pytorch_keyword_names():
    z, y = np.array([[2.0, 1.0, 0.1]]), np.array([0])
    by_position = nl.CrossEntropyLoss()(z, y)
    assert nl.CrossEntropyLoss()(input=z, target=y) == by_position
    assert nl.CrossEntropyLoss()(z, target=y) == by_position
    ranking = nl.MarginRankingLoss()
    assert ranking(input1=[1.0], input2=[2.0], target=[1.0]) == 1.0
    a, p, n = np.zeros((1, 2)), np.ones((1, 2)), 2 * np.ones((1, 2))
    triplet = nl.TripletMarginLoss()
    assert triplet(anchor=a, positive=p, negative=n) == triplet(a, p, n)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda loss: loss(inp=[1.0], target=[1.0]), "unknown input name 'inp'"),
        (lambda loss: loss([1.0], input=[1.0]), "'input' given by position and by name"),
        (lambda loss: loss(input=[1.0]), "missing target"),
        (lambda loss: loss([1.0], [1.0], [1.0]), r"expected 2 inputs \(input, target\); got 3"),
    ],
)
def test_bad_keyword_calls_say_what_is_wrong(call, message):
    with pytest.raises(TypeError, match=message):
        call(nl.MSELoss())


def test_a_subclass_raising_plain_errors_gets_the_loss_name():
    class Picky(nl.MSELoss):
        def _inputs(self, input, target):
            raise ValueError("input: expected something else")

    with pytest.raises(ValueError, match="^Picky: input: expected something else$"):
        Picky()([1.0], [1.0])


def test_repr_shows_every_option_that_differs_from_its_default():
    assert repr(nl.MSELoss()) == "MSELoss()"
    assert repr(nl.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
    assert repr(nl.HingeLoss(margin=2)) == "HingeLoss(margin=2.0)"
    assert repr(nl.CrossEntropyLoss(weight=[1.0, 2.0], label_smoothing=0.1)) == (
        "CrossEntropyLoss(weight=[1., 2.], label_smoothing=0.1)"
    )
    assert repr(nl.BCEWithLogitsLoss(pos_weight=[3.0])) == "BCEWithLogitsLoss(pos_weight=[3.])"
    assert repr(nl.TripletMarginLoss(p=1, swap=True)) == "TripletMarginLoss(p=1.0, swap=True)"
    assert repr(nl.FocalLoss(alpha=None)) == "FocalLoss(alpha=None)"


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_a_nan_from_an_overflow_is_an_error_never_returned(reduction):
    """Inputs are finite, so a NaN can only come from an intermediate beyond the dtype's
    range: TripletMarginLoss's two distances both overflowing, inf - inf. It raises
    BadInputError saying so; an overflow that leaves a true value beyond range is inf."""
    big = np.array([[1e308, -1e308]])
    loss = nl.TripletMarginLoss(reduction=reduction)
    with pytest.raises(nl.BadInputError, match=r"the loss is NaN at .*overflowed the range"):
        loss(big, -big, -big)
    with pytest.raises(RuntimeError):  # the failed forward left nothing to differentiate
        loss.backward()
    mse = nl.MSELoss(reduction=reduction)
    assert np.all(np.isinf(mse([1e200], [-1e200])))  # the true value, beyond range: inf


def test_a_nan_in_the_gradient_after_an_overflow_is_an_error():
    """A finite-input overflow whose loss is inf (not NaN) and whose gradient is inf / inf."""
    a = np.array([[1e308, 1e308]])
    loss = nl.TripletMarginLoss(reduction="sum")
    assert np.isinf(loss(a, -a, a))  # d(a, pos) = inf, d(a, neg) = eps: the loss is inf
    with pytest.raises(nl.BadInputError, match=r"the gradient is NaN"):
        loss.backward()


def test_a_nan_made_in_backward_by_a_huge_grad_output_is_an_error():
    """A finite loss whose backward overflows only because of grad_output (w dL/dl = inf,
    then 0 inf): found, since the gradient is looked at whenever grad_output is given."""
    loss = nl.BCELoss(weight=[1e300, 1e300], reduction="sum")
    assert np.isfinite(loss([1e-10, 0.5], [0.0, 1.0]))
    with pytest.raises(nl.BadInputError, match=r"the gradient is NaN"):
        loss.backward(1e300)
    assert np.all(np.isfinite(loss.backward(1.0)))
