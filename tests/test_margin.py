"""Hinge, squared hinge, soft margin and multi-class margin losses (lesson section 2.2)."""

import numpy as np
import pytest
from conftest import frozen
from reference import assert_close_to_mp, mp_sigmoid, mp_softplus, reference_loss

import numloss as nl

BINARY = [nl.HingeLoss, nl.SquaredHingeLoss, nl.SoftMarginLoss]


# -- the lesson's three zones ------------------------------------------------------------------
def test_hinge_three_zones():
    loss = nl.HingeLoss(reduction="none")
    y = np.ones(7)
    f = np.array([1.0, 1.5, 10.0, 0.9, 0.5, 0.1, -2.0])
    values = loss(f, y)
    grad = loss.backward(np.ones(7))
    # safe zone, y f >= 1: no loss, no gradient
    np.testing.assert_array_equal(values[:3], 0)
    np.testing.assert_array_equal(grad[:3], 0)
    # right but too close, 0 < y f < 1: a light penalty, below 1
    assert np.all((values[3:6] > 0) & (values[3:6] < 1))
    np.testing.assert_allclose(values[3:6], 1 - f[3:6])
    # wrong, y f < 0: linear growth, slope 1 per unit of error
    f_wrong = np.array([-0.5, -1.0, -2.0, -4.0])
    wrong = loss(f_wrong, np.ones(4))
    np.testing.assert_allclose(np.diff(wrong), -np.diff(f_wrong))
    assert np.all(wrong > 1)
    np.testing.assert_array_equal(loss.backward(np.ones(4)), -1)
    # the same with label -1 mirrors f
    np.testing.assert_array_equal(nl.HingeLoss(reduction="none")(-f, -y), values)


def test_lesson_formula_matches_mean_clamp():
    """The lesson's `torch.mean(torch.clamp(1 - y_pred * y_true, min=0))`."""
    f, y = np.array([0.3, -1.2, 2.0, 0.9]), np.array([1.0, -1.0, -1.0, 1.0])
    assert nl.HingeLoss()(f, y) == np.mean(np.clip(1 - f * y, 0, None))


@pytest.mark.parametrize("cls", BINARY)
def test_zero_one_labels_raise_with_the_conversion_hint(cls):
    with pytest.raises(
        ValueError,
        match=r"target: expected labels -1 or \+1; got 0.0 at index \(1,\) \(these look like 0/1 labels: convert them with 2\*y - 1\)",
    ):
        cls()(np.array([0.5, 0.5]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"got 0.5 at index \(0,\)$"):
        cls()(np.array([0.5, 0.5]), np.array([0.5, 1.0]))


# -- kinks: the minimum-norm subgradient, reported by the checker --------------------------------
@pytest.mark.parametrize("margin", [1.0, 0.5, 0.0])
def test_hinge_at_the_margin(margin):
    f, y = np.array([margin, -margin, 2.0]), np.array([1.0, -1.0, -1.0])
    loss = nl.HingeLoss(margin=margin, reduction="sum")
    assert loss(f, y) == 2.0 + margin
    np.testing.assert_array_equal(loss.backward(), [0.0, 0.0, 1.0])
    result = nl.gradcheck(nl.HingeLoss(margin=margin), f, y)
    assert result and [k.index for k in result.kinks] == [(0,), (1,)]


def test_squared_hinge_has_no_kink_at_the_margin():
    f, y = np.array([1.0, 0.3, -2.0]), np.array([1.0, 1.0, 1.0])
    loss = nl.SquaredHingeLoss(reduction="none")
    np.testing.assert_allclose(loss(f, y), [0.0, 0.49, 9.0])
    np.testing.assert_allclose(loss.backward(np.ones(3)), [0.0, -1.4, -6.0])
    result = nl.gradcheck(nl.SquaredHingeLoss(), f, y)
    assert result and not result.kinks


def test_multi_margin_at_a_kink():
    x, y = np.array([[-1.0, 0.0, -3.0]]), np.array([1])  # h_0 = 1 - 0 + (-1) = 0
    loss = nl.MultiMarginLoss()
    assert loss(x, y) == 0.0
    np.testing.assert_array_equal(loss.backward(), [[0.0, 0.0, 0.0]])
    result = nl.gradcheck(nl.MultiMarginLoss(), x, y)
    assert result and {k.index for k in result.kinks} == {(0, 0), (0, 1)}


# -- against the references ----------------------------------------------------------------------
@pytest.mark.parametrize("cls", BINARY, ids=lambda c: c.__name__)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("margin", [1.0, 0.3])
def test_binary_margin_losses_match_reference(rng, cls, reduction, margin):
    f, y = rng.normal(0, 2, (5, 3)), rng.choice([-1.0, 1.0], (5, 3))
    options = {"reduction": reduction} | ({} if cls is nl.SoftMarginLoss else {"margin": margin})
    np.testing.assert_allclose(
        cls(**options)(f, y), reference_loss(cls.__name__, options, f, y), rtol=1e-13
    )
    assert nl.gradcheck(cls(**options), f, y)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(6, 4), (4,)], ids=["(N,C)", "(C,)"])
def test_multi_margin_matches_reference(rng, reduction, p, weighted, shape):
    x = rng.normal(0, 1, shape)
    y = rng.integers(0, shape[-1], shape[:-1])
    options = {"reduction": reduction, "p": p, "margin": 0.8}
    if weighted:
        options["weight"] = rng.uniform(0.5, 2, shape[-1])
    loss = nl.MultiMarginLoss(**options)
    np.testing.assert_allclose(
        loss(x, y), reference_loss("MultiMarginLoss", options, x, y), rtol=1e-13
    )
    assert nl.gradcheck(nl.MultiMarginLoss(**options), x, y)
    assert loss.backward(None if reduction != "none" else np.ones(y.shape)).shape == x.shape


def test_pytorch_documented_multi_margin_example():
    assert nl.MultiMarginLoss()([[0.1, 0.2, 0.4, 0.8]], [3]) == pytest.approx(0.325, rel=1e-15)


def test_soft_margin_is_bce_with_logits_in_margin_form(rng):
    x, y = rng.normal(0, 3, 20), rng.choice([-1.0, 1.0], 20)
    soft = nl.SoftMarginLoss(reduction="none")
    bce = nl.BCEWithLogitsLoss(reduction="none")
    np.testing.assert_allclose(soft(x, y), bce(x, (y + 1) / 2), rtol=1e-14)
    np.testing.assert_allclose(soft.backward(np.ones(20)), bce.backward(np.ones(20)), rtol=1e-14)


@pytest.mark.parametrize("u", [-1e4, -700.0, -40.0, 0.0, 40.0, 700.0, 1e4])
def test_soft_margin_tails(u):
    loss = nl.SoftMarginLoss(reduction="sum")
    value = loss(np.array([u]), np.array([1.0]))
    assert_close_to_mp(value, mp_softplus(-u))
    assert_close_to_mp(loss.backward()[0], -mp_sigmoid(-u))


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: nl.MultiMarginLoss(p=3), ValueError, "p: expected one of 1, 2; got 3"),
        (lambda: nl.MultiMarginLoss(p=1.5), ValueError, "p: expected one of 1, 2; got 1.5"),
        (lambda: nl.HingeLoss(margin=np.inf), ValueError, r"margin: expected a finite number"),
        (
            lambda: nl.MultiMarginLoss(weight=[1.0, -1.0]),
            ValueError,
            "weight: expected non-negative weights",
        ),
        (
            lambda: nl.MultiMarginLoss()([[0.1, 0.2]], [2]),
            ValueError,
            r"MultiMarginLoss: target: expected class indices in \[0, 2\); got 2 at index \(0,\)",
        ),
        (
            lambda: nl.MultiMarginLoss()([[0.1, 0.2]], [0, 1]),
            ValueError,
            r"target: expected class indices of shape \(1,\) .*; got \(2,\)",
        ),
        (
            lambda: nl.MultiMarginLoss()([[0.1, 0.2]], [0.0]),
            TypeError,
            "target: expected integer class indices",
        ),
        (
            lambda: nl.MultiMarginLoss(weight=[1.0, 2.0, 3.0])([[0.1, 0.2]], [0]),
            ValueError,
            r"weight: expected a weight of length C = 2",
        ),
        (
            lambda: nl.HingeLoss()([0.1, 0.2], [1.0]),
            ValueError,
            r"HingeLoss: target: expected the shape of input, \(2,\); got \(1,\)",
        ),
    ],
)
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("cls", [*BINARY, nl.MultiMarginLoss])
def test_inputs_never_modified(rng, cls):
    if cls is nl.MultiMarginLoss:
        x, y, w = frozen(rng.normal(size=(3, 4)), rng.integers(0, 4, 3), [1.0, 2.0, 3.0, 4.0])
        loss = cls(weight=w, reduction="none")
    else:
        x, y = frozen(rng.normal(size=(3, 4)), rng.choice([-1.0, 1.0], (3, 4)))
        loss = cls(reduction="none")
    kept = (x.copy(), y.copy())
    loss(x, y)
    loss.backward(frozen(np.ones(loss(x, y).shape))[0])
    np.testing.assert_array_equal(x, kept[0])
    np.testing.assert_array_equal(y, kept[1])


def test_float32_in_float32_out():
    x = np.array([[0.5, -0.5, 2.0]], dtype=np.float32)
    for loss, t in ((nl.HingeLoss(), np.array([[1.0, -1.0, 1.0]])), (nl.MultiMarginLoss(p=2), [2])):
        value = loss(x, t)
        assert value.dtype == np.float32 and loss.backward().dtype == np.float32


@pytest.mark.parametrize("p", [1, 2])
def test_a_zero_weight_row_stays_zero_when_its_margins_overflow(p):
    """0 w_y times an h_i that overflowed to inf is 0, not NaN (issue 17, item 5's class)."""
    x = np.array([[-1.7e308, 1.7e308, 0.5], [0.1, 0.2, 0.3]])
    loss = nl.MultiMarginLoss(p=p, weight=[0.0, 1.0, 1.0], reduction="none")
    values = loss(x, [0, 1])
    grad = loss.backward(np.ones(2))
    assert values[0] == 0 and np.all(grad[0] == 0)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grad))
