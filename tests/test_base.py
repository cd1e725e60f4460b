"""The Loss contract: arity, reductions, upstream gradients, zero denominators, dtypes."""

import numpy as np
import pytest

import numloss as nl
from numloss.base import Loss, Sampled


class Halves(Loss):
    """l_n = x_n^2 / 2 with a mean denominator the test chooses."""

    inputs = ("input",)

    def __init__(self, denominator=None, reduction="mean"):
        super().__init__(reduction)
        self.chosen = denominator

    def _forward(self, input):
        self._x = np.asarray(input, dtype=np.float64)
        self._denominator = self.chosen
        return self._x**2 / 2

    def _backward(self, dl):
        return self._x * dl


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
        TypeError, match=r"MSELoss.forward: expected 2 inputs \(input, target\); got 1"
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
    with pytest.raises(RuntimeError, match="before forward"):
        loss.backward()


def test_sampled_options_draw_to_fit_and_print_their_label():
    s = Sampled("w[C]", lambda rng, inputs: np.ones(inputs[0].shape[-1]))
    assert repr(s) == "w[C]" and s.draw(None, (np.zeros((2, 5)),)).shape == (5,)
    cases = list(nl.BCELoss.gradcheck_cases(np.random.default_rng(0)))
    for options, drawn, _, inputs in cases:
        if options["weight"] is not None:
            assert drawn["weight"].shape == inputs[0].shape


def test_repr_names_the_reduction():
    assert repr(nl.MSELoss(reduction="sum")) == "MSELoss(reduction='sum')"
