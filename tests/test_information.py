"""Surprise, entropy, cross-entropy, KL divergence and KLDivLoss (lesson section 1)."""

import numpy as np
import pytest
import scipy.special as sp
import scipy.stats
from conftest import frozen
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import reference_loss

import numloss as nl

DOG_TRUE = np.array([1.0, 0.0, 0.0])  # P* of section 1.3
DOG_PRED = np.array([0.7, 0.2, 0.1])  # P


# -- the lesson's numbers ------------------------------------------------------------------
def test_fair_coin_is_one_bit_and_surprise_adds():
    assert nl.surprise(0.5, base=2) == 1.0
    p, q = 0.3, 0.05
    assert nl.surprise(p * q) == pytest.approx(nl.surprise(p) + nl.surprise(q), rel=1e-15)
    assert nl.surprise(1.0) == 0.0 and nl.surprise(0.0) == np.inf
    assert not np.signbit(nl.surprise(1.0))  # +0, never -0
    # nats by default, like entropy, cross_entropy and kl_divergence
    np.testing.assert_allclose(nl.surprise([0.9, 0.1]), -np.log([0.9, 0.1]))
    assert nl.surprise(0.25) == pytest.approx(nl.entropy([0.25, 0.25, 0.25, 0.25]))


def test_lower_probability_more_surprise():
    p = np.array([0.5, 0.1, 1e-3, 1e-9])  # coin, ..., lottery
    assert np.all(np.diff(nl.surprise(p)) > 0)


def test_dog_example_kl_is_minus_ln_point_seven():
    assert nl.kl_divergence(DOG_TRUE, DOG_PRED) == pytest.approx(-np.log(0.7), rel=1e-15)
    assert round(float(nl.kl_divergence(DOG_TRUE, DOG_PRED)), 3) == 0.357
    assert nl.cross_entropy(DOG_TRUE, DOG_PRED) == pytest.approx(-np.log(0.7), rel=1e-15)


def test_entropy_of_coins_and_its_peak_at_uniform(rng):
    assert nl.entropy([0.5, 0.5], base=2) == 1.0
    assert nl.entropy([0.9, 0.1], base=2) < 1.0
    assert nl.entropy([1.0, 0.0]) == 0.0
    for C in (2, 3, 10):
        uniform = nl.entropy(np.full(C, 1 / C))
        assert uniform == pytest.approx(np.log(C), rel=1e-14)
        others = nl.entropy(rng.dirichlet(np.ones(C), size=200))
        assert np.all(others <= uniform + 1e-15)


def test_kl_is_non_negative_and_zero_only_at_equality(rng):
    p, q = rng.dirichlet(np.ones(5), size=100), rng.dirichlet(np.ones(5), size=100)
    kl = nl.kl_divergence(p, q)
    assert np.all(kl > 0)
    np.testing.assert_array_equal(nl.kl_divergence(p, p), 0.0)
    assert nl.kl_divergence([0.5, 0.5], [1.0, 0.0]) == np.inf


def test_cross_entropy_is_entropy_plus_kl(rng):
    p, q = rng.dirichlet(np.ones(6), size=50), rng.dirichlet(np.ones(6), size=50)
    np.testing.assert_allclose(
        nl.cross_entropy(p, q), nl.entropy(p) + nl.kl_divergence(p, q), rtol=1e-13
    )


def test_cross_entropy_loss_is_entropy_plus_kl_of_softmax(rng):
    """Section 3's CE with probability targets is section 1's H(p) + KL(p || softmax(z))."""
    z, t = rng.normal(0, 2, (8, 5)), rng.dirichlet(np.ones(5), size=8)
    ce = nl.CrossEntropyLoss(reduction="none")(z, t)
    q = nl.softmax(z)
    np.testing.assert_allclose(ce, nl.entropy(t) + nl.kl_divergence(t, q), rtol=1e-12)
    np.testing.assert_allclose(ce, nl.cross_entropy(t, q), rtol=1e-12)


# -- against SciPy ----------------------------------------------------------------------------
def test_entropy_and_kl_agree_with_scipy(rng):
    p, q = rng.dirichlet(np.ones(7), size=30), rng.dirichlet(np.ones(7), size=30)
    p[0, :3] = 0  # zero entries: 0 log 0 = 0
    p[0] /= p[0].sum()
    for base in (np.e, 2, 10):
        np.testing.assert_allclose(
            nl.entropy(p, base=base), scipy.stats.entropy(p, base=base, axis=1), rtol=1e-13
        )
        np.testing.assert_allclose(
            nl.kl_divergence(p, q, base=base),
            scipy.stats.entropy(p, q, base=base, axis=1),
            rtol=1e-12,
        )
    np.testing.assert_allclose(nl.kl_divergence(p, q), sp.rel_entr(p, q).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(nl.entropy(p.T, axis=0), sp.entr(p).sum(axis=1), rtol=1e-13)


def test_tiny_q_stays_finite():
    assert nl.kl_divergence([1.0, 0.0], [1e-320, 1.0]) == pytest.approx(-np.log(1e-320), rel=1e-3)


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: nl.entropy([0.5, -0.1, 0.6]),
            r"p: expected probabilities in \[0, 1\]; got -0.1 at index \(1,\)",
        ),
        (
            lambda: nl.entropy([0.5, 0.6]),
            r"p: expected probabilities summing to 1 along axis -1; the row at \(\) sums to 1.1",
        ),
        (
            lambda: nl.kl_divergence([[0.5, 0.5], [0.2, 0.2]], [[0.5, 0.5], [0.5, 0.5]]),
            r"the row at \(1,\) sums to 0.4",
        ),
        (
            lambda: nl.cross_entropy([0.5, 0.5], [0.3, 0.3, 0.4]),
            r"q: expected the shape of p, \(2,\); got \(3,\)",
        ),
        (lambda: nl.surprise(-0.5), r"p: expected probabilities in \[0, 1\]; got -0.5"),
        (lambda: nl.surprise(0.5, base=1), r"base: expected a positive number other than 1; got 1"),
        (lambda: nl.entropy([0.5, np.nan]), r"p: expected finite values; got nan at index \(1,\)"),
        (lambda: nl.entropy(0.5), r"p: expected a probability vector; got a scalar"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_information_functions_never_modify_their_arguments():
    p, q = frozen(DOG_TRUE, DOG_PRED)
    for f in (nl.cross_entropy, nl.kl_divergence):
        f(p, q)
    nl.entropy(q)
    nl.surprise(q)
    np.testing.assert_array_equal(p, DOG_TRUE)
    np.testing.assert_array_equal(q, DOG_PRED)


# -- KLDivLoss --------------------------------------------------------------------------------
def test_batchmean_is_the_kl_divergence(rng):
    q, p = rng.dirichlet(np.ones(4), size=6), rng.dirichlet(np.ones(4), size=6)
    loss = nl.KLDivLoss(reduction="batchmean")
    np.testing.assert_allclose(loss(np.log(q), p), nl.kl_divergence(p, q).mean(), rtol=1e-13)
    with pytest.warns(UserWarning, match="use reduction='batchmean'"):
        mean = nl.KLDivLoss()
    np.testing.assert_allclose(
        mean(np.log(q), p), nl.kl_divergence(p, q).sum() / p.size, rtol=1e-13
    )


@pytest.mark.filterwarnings("ignore:KLDivLoss")
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_loss_matches_reference(rng, reduction, log_target):
    x = np.log(rng.dirichlet(np.ones(4), size=5))
    t = rng.dirichlet(np.ones(4), size=5)
    t[0, 2] = 0.0
    target = np.log(np.where(t > 0, t, 1e-300)) if log_target else t
    options = {"reduction": reduction, "log_target": log_target}
    loss = nl.KLDivLoss(**options)
    np.testing.assert_allclose(
        loss(x, target), reference_loss("KLDivLoss", options, x, target), rtol=1e-13, atol=1e-300
    )
    assert nl.gradcheck(nl.KLDivLoss(**options), x, target)
    g = None if reduction != "none" else rng.normal(size=x.shape)
    loss(x, target)
    expected = -(np.exp(target) if log_target else target) * (1 if g is None else g)
    denominator = {"mean": x.size, "batchmean": 5, "sum": 1, "none": 1}[reduction]
    np.testing.assert_allclose(loss.backward(g), expected / denominator, rtol=1e-15)


def test_kl_div_loss_bad_input():
    with pytest.raises(
        ValueError,
        match=r"KLDivLoss: target: expected probabilities in \[0, inf\]; got -0.1 at index \(1,\)",
    ):
        nl.KLDivLoss(reduction="sum")([-1.0, -1.0], [0.5, -0.1])
    with pytest.raises(
        ValueError,
        match=r"reduction: expected one of 'mean', 'batchmean', 'sum', 'none'; got 'avg'",
    ):
        nl.KLDivLoss(reduction="avg")
    with pytest.raises(ValueError, match=r"KLDivLoss: input: expected finite values; got -inf"):
        nl.KLDivLoss(reduction="sum")([-np.inf, -1.0], [0.5, 0.5])


# -- properties ---------------------------------------------------------------------------------
@settings(max_examples=50, deadline=None)
@given(st.integers(2, 8), st.integers(0, 2**32 - 1))
def test_gibbs_inequality(c, seed):
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.ones(c) * 0.5), rng.dirichlet(np.ones(c) * 0.5)
    assert nl.kl_divergence(p, q) >= 0
    assert nl.cross_entropy(p, q) >= nl.entropy(p) - 1e-12
    assert nl.entropy(p) <= np.log(c) + 1e-12
