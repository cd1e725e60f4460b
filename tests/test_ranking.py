"""MarginRankingLoss and TripletMarginLoss: one gradient per input."""

import numpy as np
import pytest
from conftest import frozen
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import reference_loss

import numloss as nl


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking_matches_reference(rng, reduction, margin):
    x1, x2, y = rng.normal(size=8), rng.normal(size=8), rng.choice([-1.0, 1.0], 8)
    options = {"reduction": reduction, "margin": margin}
    loss = nl.MarginRankingLoss(**options)
    np.testing.assert_allclose(
        loss(x1, x2, y), reference_loss("MarginRankingLoss", options, x1, x2, y), rtol=1e-14
    )
    assert nl.gradcheck(nl.MarginRankingLoss(**options), x1, x2, y)
    d1, d2 = loss.backward(None if reduction != "none" else np.ones(8))
    np.testing.assert_array_equal(d1, -d2)


def test_margin_ranking_at_the_margin_is_a_reported_kink():
    x1, x2, y = np.array([1.0, 3.0]), np.array([0.5, 0.0]), np.array([1.0, 1.0])
    loss = nl.MarginRankingLoss(margin=0.5, reduction="sum")
    assert loss(x1, x2, y) == 0.0
    d1, d2 = loss.backward()
    np.testing.assert_array_equal(d1, 0.0)
    np.testing.assert_array_equal(d2, 0.0)
    result = nl.gradcheck(nl.MarginRankingLoss(margin=0.5), x1, x2, y)
    assert result and {(k.input, k.index) for k in result.kinks} == {
        ("input1", (0,)),
        ("input2", (0,)),
    }


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("shape", [(6, 3), (3,)], ids=["(N,D)", "(D,)"])
def test_triplet_matches_reference(rng, reduction, p, swap, shape):
    a = rng.normal(size=shape)
    pos = a + rng.normal(0, 0.5, shape)
    neg = a + rng.normal(0, 1.0, shape)
    options = {"reduction": reduction, "p": p, "swap": swap, "margin": 1.0}
    loss = nl.TripletMarginLoss(**options)
    np.testing.assert_allclose(
        loss(a, pos, neg), reference_loss("TripletMarginLoss", options, a, pos, neg), rtol=1e-13
    )
    assert nl.gradcheck(nl.TripletMarginLoss(**options), a, pos, neg)
    grads = loss.backward(None if reduction != "none" else np.ones(shape[:-1]))
    assert len(grads) == 3 and all(g.shape == shape for g in grads)


def test_triplet_swap_uses_the_harder_negative():
    a, p, n = np.array([[0.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([[0.0, 1.5]])
    plain = nl.TripletMarginLoss(margin=1.0, eps=0.0)
    swapped = nl.TripletMarginLoss(margin=1.0, eps=0.0, swap=True)
    assert plain(a, p, n) == pytest.approx(1.0 + 1.0 - 1.5)
    assert swapped(a, p, n) == pytest.approx(1.0 + 1.0 - 0.5)  # d(p, n) = 0.5 < d(a, n)
    da, dp, dn = swapped.backward()
    np.testing.assert_allclose(da, [[0.0, -1.0]])
    np.testing.assert_allclose(dp, [[0.0, 2.0]])
    np.testing.assert_allclose(dn, [[0.0, -1.0]])


def test_satisfied_triplets_get_no_gradient_and_the_boundary_is_a_kink():
    a, p, n = np.array([[0.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([[2.0, 0.0]])
    loss = nl.TripletMarginLoss(margin=1.0, eps=0.0, reduction="sum")
    assert loss(a, p, n) == 0.0  # 1 + 1 - 2 = 0: exactly at the margin
    for g in loss.backward():
        np.testing.assert_array_equal(g, 0.0)
    result = nl.gradcheck(nl.TripletMarginLoss(margin=1.0, eps=0.0), a, p, n)
    assert result and result.kinks


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: nl.MarginRankingLoss()([1.0, 2.0], [1.0], [1.0, 1.0]),
            r"MarginRankingLoss: input2: expected the shape of input1, \(2,\); got \(1,\)",
        ),
        (
            lambda: nl.MarginRankingLoss()([1.0, 2.0], [1.0, 0.0], [1.0]),
            r"target: expected the shape of input1",
        ),
        (
            lambda: nl.MarginRankingLoss()([1.0], [0.0], [0.0]),
            r"target: expected labels -1 or \+1; got 0.0 at index \(0,\) \(these look like 0/1 labels",
        ),
        (
            lambda: nl.TripletMarginLoss()(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 4))),
            r"negative: expected the shape of anchor, \(2, 3\); got \(2, 4\)",
        ),
        (lambda: nl.TripletMarginLoss(p=0), r"p: expected a norm degree p > 0; got 0"),
        (lambda: nl.TripletMarginLoss(p=-1.5), r"p: expected a norm degree p > 0; got -1.5"),
        (
            lambda: nl.TripletMarginLoss(margin=0.0),
            r"TripletMarginLoss: margin: expected margin > 0, as PyTorch requires; got 0.0",
        ),
        (
            lambda: nl.TripletMarginLoss(eps=-1.0),
            r"eps: expected a finite number in \[0.0, inf\]; got -1.0",
        ),
    ],
)
def test_bad_input(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def test_triplet_needs_two_dimensions_at_most():
    x = np.zeros((2, 3, 1))
    with pytest.raises(
        ValueError, match=r"anchor: expected shape \(D,\) or \(N, D\) with D >= 1; got \(2, 3, 1\)"
    ):
        nl.TripletMarginLoss()(x, x, x)


def test_inputs_never_modified(rng):
    a, p, n, y = frozen(
        rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), [1.0, -1.0, 1.0]
    )
    kept = [v.copy() for v in (a, p, n, y)]
    loss = nl.TripletMarginLoss(swap=True)
    loss(a, p, n)
    loss.backward()
    ranking = nl.MarginRankingLoss(margin=0.3)
    ranking(a[:, 0], p[:, 0], y)
    ranking.backward()
    for v, k in zip((a, p, n, y), kept, strict=True):
        np.testing.assert_array_equal(v, k)


def test_float32_in_float32_out():
    a = np.ones((2, 3), np.float32)
    loss = nl.TripletMarginLoss()
    value = loss(a, a * 2, a * 0.5)
    assert value.dtype == np.float32 and all(g.dtype == np.float32 for g in loss.backward())


def test_triplet_accepts_pytorchs_float_p(rng):
    a, p, n = (rng.normal(size=(3, 2)) for _ in range(3))
    assert nl.TripletMarginLoss(p=2.0)(a, p, n) == nl.TripletMarginLoss(p=2)(a, p, n)
    assert nl.TripletMarginLoss(p=1.0).p == 1


@settings(max_examples=60, deadline=None)
@given(p=st.floats(0.05, 0.95), zeros=st.lists(st.booleans(), min_size=4, max_size=4))
def test_a_fractional_norm_has_a_finite_subgradient_at_a_zero_coordinate(p, zeros):
    """Issue 17 item 6: with 0 < p < 1 and eps = 0, |v_k|^(p - 1) is infinite where a - pos or
    a - neg has a 0 coordinate. The subgradient there is 0 (documented in p_norm_gradient),
    on rows whose loss is 0 too; every other coordinate is the analytic derivative."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4))
    pos, neg = a + rng.normal(size=(3, 4)), a + 3 * rng.normal(size=(3, 4))
    pos[:, np.array(zeros)] = a[:, np.array(zeros)]  # a - pos is 0 in these coordinates
    neg[0] = a[0] + 100.0  # a row whose loss is 0
    loss = nl.TripletMarginLoss(p=p, eps=0.0, margin=1.0, reduction="sum")
    loss(a, pos, neg)
    for g in loss.backward():
        assert np.all(np.isfinite(g))
    d_a, d_pos, _ = loss.backward()
    assert np.all(d_pos[:, np.array(zeros)] == 0)
    assert np.all(d_a[0] == 0)  # the row with loss 0


@pytest.mark.parametrize("path", ["reading", "fast"])
def test_a_fractional_norm_slope_beyond_underflow_stays_finite_and_inactive_rows_zero(path):
    """p = 0.5: at v = (1e30, 1e-300) the slope (|v_k| / d)^(p - 1) is 1e165 although |v_k| / d
    underflows to 0 (computed in logs); a row whose loss is 0 gets 0, not 0 inf = NaN."""
    a = np.array([[1e30, 1e-300], [1e30, 1e-300]])
    pos, neg = np.zeros((2, 2)), np.array([[1.0, 1.0], [-1e31, 0.0]])  # row 2: loss 0
    with nl.fast.path(path):
        loss = nl.TripletMarginLoss(p=0.5, eps=0.0, margin=1e31, reduction="none")
        values = loss(a, pos, neg)
        grads = loss.backward(np.ones(2))
    assert values[0] > 0 and values[1] == 0
    for g in grads:
        assert np.all(np.isfinite(g)) and np.all(g[1] == 0)
    np.testing.assert_allclose(grads[1][0], [-1.0, -1e165], rtol=1e-10)
