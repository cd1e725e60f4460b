"""The stable primitives against SciPy in the bulk and mpmath in the tails."""

import mpmath
import numpy as np
import pytest
import scipy.special as sp
from reference import (
    assert_close_to_mp,
    mp_log_softmax,
    mp_logsumexp,
    mp_sigmoid,
    mp_softplus,
)

import numloss as nl

BULK = np.linspace(-30, 30, 241)
TAILS = np.concatenate([-np.geomspace(1e-8, 1e4, 40), [0.0], np.geomspace(1e-8, 1e4, 40)])


def test_softplus_matches_scipy_in_the_bulk():
    np.testing.assert_allclose(nl.softplus(BULK), np.logaddexp(0, BULK), rtol=1e-15)


def test_sigmoid_and_log_sigmoid_match_scipy_in_the_bulk():
    np.testing.assert_allclose(nl.sigmoid(BULK), sp.expit(BULK), rtol=1e-15)
    np.testing.assert_allclose(nl.log_sigmoid(BULK), sp.log_expit(BULK), rtol=1e-14)


@pytest.mark.parametrize("x", TAILS)
def test_softplus_sigmoid_log_sigmoid_tails_match_mpmath(x):
    assert_close_to_mp(nl.softplus(x), mp_softplus(x), what=f"softplus({x})")
    assert_close_to_mp(nl.sigmoid(x), mp_sigmoid(x), what=f"sigmoid({x})")
    assert_close_to_mp(nl.sigmoid(-x), mp_sigmoid(-x), what=f"sigmoid(-{x})")
    assert_close_to_mp(nl.log_sigmoid(x), -mp_softplus(-x), what=f"log_sigmoid({x})")


def test_logsumexp_softmax_log_softmax_match_scipy(rng):
    z = rng.normal(0, 3, size=(20, 7))
    for axis in (0, 1, -1):
        np.testing.assert_allclose(
            nl.logsumexp(z, axis=axis), sp.logsumexp(z, axis=axis), rtol=1e-14
        )
        np.testing.assert_allclose(nl.softmax(z, axis=axis), sp.softmax(z, axis=axis), rtol=1e-14)
        np.testing.assert_allclose(
            nl.log_softmax(z, axis=axis), sp.log_softmax(z, axis=axis), rtol=1e-13, atol=1e-15
        )
    assert nl.logsumexp(z, axis=1, keepdims=True).shape == (20, 1)


@pytest.mark.parametrize("lead", [0.0, 1e-6, 1.0, 20.0, 37.0, 40.0, 100.0, 700.0, 1e4])
def test_row_functions_are_exact_when_one_logit_leads(lead):
    """scipy.special.log_softmax returns 0 for the leader from a lead of ~37 on; we don't."""
    row = np.array([0.0, -lead, -lead / 2, -lead])
    exact = mp_log_softmax(row)
    for k, value in enumerate(nl.log_softmax(row)):
        assert_close_to_mp(value, exact[k], what=f"log_softmax lead {lead} [{k}]")
    for k, value in enumerate(nl.softmax(row)):
        assert_close_to_mp(value, mpmath.exp(exact[k]), what=f"softmax lead {lead} [{k}]")
    assert_close_to_mp(nl.logsumexp(row), mp_logsumexp(row), what=f"logsumexp lead {lead}")
    shifted = row + 1e4  # a large offset: e^z would overflow, the shifted form does not
    exact = mp_log_softmax(shifted)
    for k, value in enumerate(nl.log_softmax(shifted)):
        assert_close_to_mp(value, exact[k], what=f"log_softmax lead {lead} + 1e4 [{k}]")


def test_no_overflow_and_dtype_kept():
    z = np.array([1000.0, 1000.0], dtype=np.float32)
    assert nl.logsumexp(z).dtype == np.float32
    assert np.isclose(nl.logsumexp(z), 1000 + np.log(2))
    np.testing.assert_allclose(nl.softmax(z), [0.5, 0.5])
    for fn in (nl.softplus, nl.sigmoid, nl.log_sigmoid):
        out = fn(np.array([-1e4, 0.0, 1e4], dtype=np.float32))
        assert out.dtype == np.float32 and np.all(np.isfinite(out))


def test_lists_accepted_and_arguments_untouched():
    z = np.array([[2.0, 1.0, 0.1]])
    z.setflags(write=False)
    np.testing.assert_allclose(nl.softmax([[2.0, 1.0, 0.1]]), nl.softmax(z))
    for fn in (nl.softmax, nl.log_softmax, nl.logsumexp, nl.softplus, nl.sigmoid, nl.log_sigmoid):
        fn(z)
    np.testing.assert_array_equal(z, [[2.0, 1.0, 0.1]])


def test_empty_axis_and_bad_dtype_are_clear_errors():
    with pytest.raises(ValueError, match="at least one entry"):
        nl.logsumexp(np.zeros((3, 0)), axis=1)
    with pytest.raises(TypeError, match="real-valued"):
        nl.softmax(np.array(["a", "b"]))


def test_the_pairs_equal_their_two_halves():
    """BCE-with-logits and focal take both halves from one exp; they must be the same bits."""
    from numloss.primitives import sigmoid_pair, softplus_pair

    x = np.concatenate([TAILS, BULK])
    s_pos, s_neg = sigmoid_pair(x)
    np.testing.assert_array_equal(s_pos, nl.sigmoid(x))
    np.testing.assert_array_equal(s_neg, nl.sigmoid(-x))
    sp_pos, sp_neg = softplus_pair(x)
    np.testing.assert_array_equal(sp_pos, nl.softplus(x))
    np.testing.assert_array_equal(sp_neg, nl.softplus(-x))


def test_softmax_parts_are_the_pieces_of_logsumexp_and_softmax(rng):
    z = rng.normal(0, 3, (4, 6))
    m, leader, exps, rest = nl.softmax_parts(z, axis=1)
    np.testing.assert_array_equal(m, z.max(axis=1, keepdims=True))
    np.testing.assert_array_equal(leader, z.argmax(axis=1)[:, None])
    assert np.all(np.take_along_axis(exps, leader, axis=1) == 1)  # the leader's e^0
    np.testing.assert_allclose(rest, exps.sum(axis=1, keepdims=True) - 1, rtol=1e-14)
    # sum_k e^z_k = e^m (1 + rest), and softmax = e^(z - m) / (1 + rest)
    np.testing.assert_allclose(m[:, 0] + np.log1p(rest[:, 0]), nl.logsumexp(z, axis=1))
    np.testing.assert_allclose(exps / (1 + rest), nl.softmax(z, axis=1), rtol=1e-15)


def test_softmax_parts_keep_the_tail_of_a_dominant_leader():
    _, _, exps, rest = nl.softmax_parts(np.array([[40.0, 0.0]]), axis=1)
    assert rest[0, 0] == np.exp(-40.0) and exps[0, 0] == 1.0  # the leader's 1 not in rest
    assert np.log1p(rest[0, 0]) > 0  # where log(sum) would round 1 + e^-40 to 1


def test_infinite_logits_give_the_same_answers_for_short_and_long_rows():
    """-inf masks a class out; +inf takes all the probability. Short rows (C < 32) and long
    rows agree, whatever other rows share their block."""
    from scipy.special import logsumexp as scipy_logsumexp

    for C in (3, 40):
        z = np.zeros((2, C))
        z[0, 1:3] = 2.0
        z[1] = -np.inf
        with np.errstate(invalid="ignore", divide="ignore"):
            got = nl.logsumexp(z, axis=1)
            want = scipy_logsumexp(z, axis=1)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-15)
        row = np.zeros(C)
        row[-1] = np.inf
        with np.errstate(invalid="ignore"):
            p = nl.softmax(row)
        np.testing.assert_array_equal(p, np.eye(C)[-1])
