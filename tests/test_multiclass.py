"""CrossEntropyLoss, NLLLoss, one_hot, smooth_labels: the lesson's numbers, references,
cross-formulations, memory, tails and errors."""

import itertools
import tracemalloc

import mpmath
import numpy as np
import pytest
from conftest import frozen
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import assert_close_to_mp, mp_log_softmax, reference_loss

import numloss as nl

LESSON_LOGITS = np.array([[2.0, 1.0, 0.1]])


# -- the lesson's numbers ------------------------------------------------------------------
def test_lesson_walkthrough():
    loss = nl.CrossEntropyLoss()
    assert round(float(loss(LESSON_LOGITS, [0])), 3) == 0.417
    np.testing.assert_allclose(loss.backward(), [[-0.341, 0.242, 0.099]], atol=5e-4)
    np.testing.assert_allclose(loss.backward(), nl.softmax(LESSON_LOGITS) - [[1, 0, 0]], rtol=1e-15)


def test_lesson_label_smoothing_example():
    np.testing.assert_allclose(
        nl.smooth_labels(nl.one_hot([0], 4), 0.1), [[0.925, 0.025, 0.025, 0.025]]
    )


def test_ce_only_cares_about_the_true_class():
    """Section 3.1.2: with a one-hot target, CE = -log p_true whatever the other p's are."""
    a = nl.CrossEntropyLoss()(np.array([[2.0, 1.0, 0.1]]), [0])
    b = nl.CrossEntropyLoss()(np.array([[2.0, 0.1, 1.0]]), [0])
    assert a == b


def test_one_hot():
    np.testing.assert_array_equal(nl.one_hot([[1], [0]], 3), [[[0, 1, 0]], [[1, 0, 0]]])
    assert nl.one_hot([2, 0]).shape == (2, 3)
    with pytest.raises(
        ValueError, match=r"labels: expected class indices in \[0, 3\); got 3 at index \(1,\)"
    ):
        nl.one_hot([0, 3], 3)
    with pytest.raises(ValueError, match="num_classes: expected a positive integer; got 0"):
        nl.one_hot([0], 0)


def test_smooth_labels_errors():
    with pytest.raises(
        ValueError, match=r"alpha: expected a finite number in \[0.0, 1.0\]; got 1.5"
    ):
        nl.smooth_labels([1.0, 0.0], 1.5)
    with pytest.raises(
        ValueError, match=r"targets: expected probabilities in \[0, 1\]; got 2.0 at index \(0,\)"
    ):
        nl.smooth_labels([2.0, 0.0], 0.1)


# -- against the naive reference, every option, every shape -----------------------------------
def _targets(rng, kind, z):
    C = z.shape[0] if z.ndim == 1 else z.shape[1]
    if kind == "indices":
        shape = () if z.ndim == 1 else z.shape[:1] + z.shape[2:]
        return rng.integers(0, C, shape)
    t = rng.dirichlet(np.ones(C), size=z.size // C)  # probabilities, classes last
    if z.ndim == 1:
        return t[0]
    return np.moveaxis(t.reshape(z.shape[:1] + z.shape[2:] + (C,)), -1, 1)


SHAPES = {"(N,C)": (6, 4), "(C,)": (4,), "(N,C,d1,d2)": (3, 4, 2, 2)}
OPTIONS = list(
    itertools.product(
        ["mean", "sum", "none"], [False, True], [-100, 1], [0.0, 0.25], ["indices", "probs"]
    )
)


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize(
    "reduction, weighted, ignore_index, smoothing, kind",
    [o for o in OPTIONS if not (o[2] == 1 and o[4] == "probs")],
    ids=lambda v: str(v),
)
def test_cross_entropy_matches_reference(
    rng, shape, reduction, weighted, ignore_index, smoothing, kind
):
    z = rng.normal(0, 2, shape)
    t = _targets(rng, kind, z)
    if kind == "indices" and ignore_index == 1 and t.ndim:
        t.reshape(-1)[0] = 1  # at least one ignored sample
    options = {"reduction": reduction, "ignore_index": ignore_index, "label_smoothing": smoothing}
    if weighted:
        options["weight"] = rng.uniform(0.2, 2, shape[0] if len(shape) == 1 else shape[1])
    loss = nl.CrossEntropyLoss(**options)
    np.testing.assert_allclose(
        loss(z, t), reference_loss("CrossEntropyLoss", options, z, t), rtol=1e-12
    )
    assert nl.gradcheck(nl.CrossEntropyLoss(**options), z, t)


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_matches_reference(rng, shape, reduction, weighted):
    x = nl.log_softmax(rng.normal(0, 2, shape), axis=0 if len(shape) == 1 else 1)
    t = _targets(rng, "indices", x)
    options = {"reduction": reduction, "ignore_index": 2}
    if weighted:
        options["weight"] = rng.uniform(0.2, 2, x.shape[0] if x.ndim == 1 else x.shape[1])
    loss = nl.NLLLoss(**options)
    np.testing.assert_allclose(loss(x, t), reference_loss("NLLLoss", options, x, t), rtol=1e-13)
    assert nl.gradcheck(nl.NLLLoss(**options), x, t)


# -- cross-formulations -------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_indices_equal_one_hot_targets(rng, reduction, smoothing):
    z, y = rng.normal(0, 3, (8, 5)), rng.integers(0, 5, 8)
    sparse = nl.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)
    dense = nl.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)
    np.testing.assert_allclose(sparse(z, y), dense(z, nl.one_hot(y, 5)), rtol=1e-14)
    g = None if reduction != "none" else rng.normal(size=8)
    np.testing.assert_allclose(sparse.backward(g), dense.backward(g), rtol=1e-13, atol=1e-17)


def test_two_class_softmax_is_bce_on_the_logit_difference(rng):
    z, y = rng.normal(0, 3, (10, 2)), rng.integers(0, 2, 10)
    ce = nl.CrossEntropyLoss(reduction="none")
    bce = nl.BCEWithLogitsLoss(reduction="none")
    np.testing.assert_allclose(ce(z, y), bce(z[:, 1] - z[:, 0], y.astype(float)), rtol=1e-13)
    d = bce.backward()  # dL/d(z1 - z0): so dL/dz1 = d, dL/dz0 = -d
    np.testing.assert_allclose(ce.backward(), np.stack([-d, d], axis=1), rtol=1e-12, atol=1e-17)


def test_smoothing_zero_is_plain_and_smoothing_is_ce_on_smoothed_targets(rng):
    z, y = rng.normal(0, 2, (7, 4)), rng.integers(0, 4, 7)
    w = rng.uniform(0.5, 2, 4)
    assert nl.CrossEntropyLoss(label_smoothing=0.0)(z, y) == nl.CrossEntropyLoss()(z, y)
    for reduction in ("sum", "none"):  # (mean divides by sum w_y for indices, by N for probs)
        smoothed = nl.CrossEntropyLoss(weight=w, reduction=reduction, label_smoothing=0.2)
        on_targets = nl.CrossEntropyLoss(weight=w, reduction=reduction)
        np.testing.assert_allclose(
            smoothed(z, y), on_targets(z, nl.smooth_labels(nl.one_hot(y, 4), 0.2)), rtol=1e-13
        )
        np.testing.assert_allclose(
            smoothed.backward(), on_targets.backward(), rtol=1e-12, atol=1e-17
        )
    plain = nl.CrossEntropyLoss()
    smoothed = nl.CrossEntropyLoss(label_smoothing=0.2)
    np.testing.assert_allclose(
        smoothed(z, y), plain(z, nl.smooth_labels(nl.one_hot(y, 4), 0.2)), rtol=1e-13
    )


def test_cross_entropy_is_nll_of_log_softmax(rng):
    z, y = rng.normal(0, 2, (6, 5)), rng.integers(0, 5, 6)
    w = rng.uniform(0.5, 2, 5)
    ce, nll = nl.CrossEntropyLoss(weight=w, ignore_index=3), nl.NLLLoss(weight=w, ignore_index=3)
    np.testing.assert_allclose(ce(z, y), nll(nl.log_softmax(z), y), rtol=1e-13)


# -- memory: no one-hot, no N x C temporary beyond the gradient ---------------------------------
@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("weighted, smoothing", [(False, 0.0), (True, 0.0), (True, 0.1)])
@pytest.mark.parametrize("shape", [(64, 5000), (8, 5000, 4)], ids=["(N,C)", "(N,C,d)"])
def test_sparse_path_peak_memory_is_about_one_gradient(rng, reduction, weighted, smoothing, shape):
    z = rng.normal(size=shape).astype(np.float32)
    y = rng.integers(0, shape[1], shape[:1] + shape[2:])
    w = rng.uniform(0.5, 2, shape[1]) if weighted else None
    loss = nl.CrossEntropyLoss(weight=w, reduction=reduction, label_smoothing=smoothing)
    g = None if reduction == "mean" else np.ones(y.shape, np.float32)
    tracemalloc.start()
    try:
        with nl.fast.path("fast"):  # the sparse kernel (the reading path builds a one-hot)
            loss(z, y)
            grad = loss.backward(g)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert grad.shape == z.shape
    assert peak < 1.5 * z.nbytes, f"peak {peak / z.nbytes:.2f}x the logits"


# -- tails: 50-digit mpmath -----------------------------------------------------------------------
MARGINS = [0.0, 1e-8, 0.5, 5.0, 20.0, 36.0, 37.0, 40.0, 100.0, 300.0, 700.0]


def _mp_ce_and_grad(row, y):
    log_p = mp_log_softmax(row)
    p = [mpmath.exp(v) for v in log_p]
    grad = [
        p[k] if k != y else -mpmath.fsum(p[j] for j in range(len(p)) if j != y)
        for k in range(len(p))
    ]
    return -log_p[y], grad


@pytest.mark.parametrize("margin", MARGINS)
@pytest.mark.parametrize("target", ["leader", "runner-up", "last"])
def test_tails_match_mpmath(margin, target):
    row = np.array([margin, 0.0, -1.0, -margin / 2 - 3.0])
    y = {"leader": 0, "runner-up": 1, "last": 3}[target]
    loss = nl.CrossEntropyLoss(reduction="sum")
    value = loss(row[None], [y])
    grad = loss.backward()[0]
    exact, exact_grad = _mp_ce_and_grad(row, y)
    assert_close_to_mp(value, exact, what=f"loss, margin {margin}, target {target}")
    for k in range(4):
        assert_close_to_mp(
            grad[k], exact_grad[k], what=f"grad[{k}], margin {margin}, target {target}"
        )
    # the one-hot path is just as exact
    dense = nl.CrossEntropyLoss(reduction="sum")
    assert_close_to_mp(dense(row[None], nl.one_hot([y], 4)), exact, what="one-hot loss")
    for k, g in enumerate(dense.backward()[0]):
        assert_close_to_mp(g, exact_grad[k], what=f"one-hot grad[{k}]")


def test_random_rows_match_mpmath(rng):
    z, y = rng.normal(0, 5, (40, 6)), rng.integers(0, 6, 40)
    loss = nl.CrossEntropyLoss(reduction="none")
    values, grad = loss(z, y), loss.backward(np.ones(40))
    for n in range(40):
        exact, exact_grad = _mp_ce_and_grad(z[n], y[n])
        assert_close_to_mp(values[n], exact)
        for k in range(6):
            assert_close_to_mp(grad[n, k], exact_grad[k])


# -- invariances and extremes ---------------------------------------------------------------------
def test_shift_invariance_and_rows_summing_to_zero(rng):
    z = rng.integers(-4096, 4096, (6, 5)) / 1024  # dyadic, so z + 1024 is exact
    y = rng.integers(0, 5, 6)
    loss = nl.CrossEntropyLoss(reduction="none")
    a, ga = loss(z, y), loss.backward(np.ones(6))
    b, gb = loss(z + 1024, y), loss.backward(np.ones(6))
    np.testing.assert_allclose(a, b, rtol=1e-14)
    np.testing.assert_allclose(ga, gb, rtol=1e-13, atol=1e-17)
    np.testing.assert_allclose(ga.sum(axis=1), 0, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["indices", "probs"])
def test_huge_logits_stay_finite(dtype, kind):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=dtype)
    y = np.array([1, 0]) if kind == "indices" else nl.one_hot([1, 0], 3).astype(dtype)
    loss = nl.CrossEntropyLoss(reduction="none", label_smoothing=0.1)
    values = loss(z, y)
    grad = loss.backward(np.ones(2, dtype))
    assert values.dtype == dtype and grad.dtype == dtype
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(values[0], 0.9 * 2e4 + 0.1 / 3 * (2e4 + 1e4), rtol=1e-6)


def test_every_target_ignored_gives_zero_not_nan():
    loss = nl.CrossEntropyLoss()
    assert loss(LESSON_LOGITS.repeat(2, 0), [-100, -100]) == 0.0
    np.testing.assert_array_equal(loss.backward(), np.zeros((2, 3)))
    weighted = nl.CrossEntropyLoss(weight=[0.0, 1.0, 1.0], label_smoothing=0.1)
    assert weighted(LESSON_LOGITS, [0]) == 0.0
    np.testing.assert_array_equal(weighted.backward(), np.zeros((1, 3)))


def test_ignored_samples_add_nothing(rng):
    z, y = rng.normal(size=(5, 3)), np.array([0, 2, -100, 1, -100])
    loss = nl.CrossEntropyLoss(reduction="none", label_smoothing=0.3)
    values = loss(z, y)
    grad = loss.backward(np.ones(5))
    assert values[2] == 0 and values[4] == 0
    np.testing.assert_array_equal(grad[[2, 4]], 0)
    mean = nl.CrossEntropyLoss(label_smoothing=0.3)(z, y)
    np.testing.assert_allclose(mean, values.sum() / 3)


def test_unbatched_input():
    loss = nl.CrossEntropyLoss()
    value = loss(LESSON_LOGITS[0], 0)
    assert value == nl.CrossEntropyLoss()(LESSON_LOGITS, [0])
    assert loss.backward().shape == (3,)
    none = nl.CrossEntropyLoss(reduction="none")
    assert none(LESSON_LOGITS[0], np.array([1.0, 0.0, 0.0])).shape == ()


def test_float32_in_float32_out(rng):
    z = rng.normal(size=(4, 3)).astype(np.float32)
    for loss, x, t in (
        (nl.CrossEntropyLoss(weight=[1, 2, 3]), z, [0, 1, 2, 0]),
        (nl.NLLLoss(), nl.log_softmax(z, axis=1), [0, 1, 2, 0]),  # log-probabilities
    ):
        value = loss(x, t)
        assert value.dtype == np.float32 and loss.backward().dtype == np.float32


# -- bad input ------------------------------------------------------------------------------------
BAD = [
    (
        nl.CrossEntropyLoss(),
        [[1.0, 2.0], [3.0, 4.0]],
        [0, 2],
        ValueError,
        r"target: expected class indices in \[0, 2\) or ignore_index=-100; got 2 at index \(1,\)",
    ),
    (
        nl.CrossEntropyLoss(),
        [[1.0, 2.0], [3.0, 4.0]],
        [-1, 0],
        ValueError,
        r"got -1 at index \(0,\)",
    ),
    (
        nl.CrossEntropyLoss(),
        [[1.0, 2.0], [3.0, 4.0]],
        [0.0, 1.0],
        ValueError,
        r"target: probability targets must have the input's shape \(2, 2\); got \(2,\) \(class indices must be integers\)",
    ),
    (
        nl.CrossEntropyLoss(),
        [[1.0, 2.0], [3.0, 4.0]],
        [[0.5, 0.5]],
        ValueError,
        r"probability targets must have the input's shape",
    ),
    (
        nl.CrossEntropyLoss(),
        [[1.0, 2.0], [3.0, 4.0]],
        [0, 1, 1],
        ValueError,
        r"target: expected class indices of shape \(2,\) \(the input's shape without its class dimension 2\); got \(3,\)",
    ),
    (
        nl.CrossEntropyLoss(ignore_index=0),
        [[1.0, 2.0]],
        [[0.5, 0.5]],
        ValueError,
        r"ignore_index=0 is only allowed with class-index targets; got probability targets",
    ),
    (
        nl.CrossEntropyLoss(),
        [[1.0, 2.0]],
        [[1.5, -0.5]],
        ValueError,
        r"target: expected probabilities in \[0, 1\]; got 1.5 at index \(0, 0\)",
    ),
    (
        nl.CrossEntropyLoss(),
        [[1.0, np.nan]],
        [0],
        ValueError,
        r"input: expected finite values; got nan at index \(0, 1\)",
    ),
    (
        nl.CrossEntropyLoss(weight=[1.0, 2.0, 3.0]),
        [[1.0, 2.0]],
        [0],
        ValueError,
        r"weight: expected a weight of length C = 2 \(one per class\); got shape \(3,\)",
    ),
    (
        nl.CrossEntropyLoss(),
        np.zeros((2, 0)),
        [0, 0],
        ValueError,
        r"input: expected shape \(C,\), \(N, C\) or \(N, C, d1, ...\) with C >= 1; got \(2, 0\)",
    ),
    (
        nl.NLLLoss(),
        [[-1.0, -0.5]],
        [5],
        ValueError,
        r"target: expected class indices in \[0, 2\) or ignore_index=-100; got 5",
    ),
    (
        nl.NLLLoss(),
        [[-1.0, -0.5]],
        [[0.3, 0.7]],
        TypeError,
        r"target: expected integer class indices; got dtype float64",
    ),
]


@pytest.mark.parametrize("loss, x, t, error, message", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_input_raises_a_clear_error(loss, x, t, error, message):
    with pytest.raises(error, match=f"^{type(loss).__name__}: .*{message}"):
        loss(x, t)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (
            lambda: nl.CrossEntropyLoss(label_smoothing=1.1),
            ValueError,
            r"label_smoothing: expected a finite number in \[0.0, 1.0\]; got 1.1",
        ),
        (lambda: nl.CrossEntropyLoss(label_smoothing=-0.1), ValueError, "label_smoothing"),
        (
            lambda: nl.CrossEntropyLoss(weight=[1.0, -1.0]),
            ValueError,
            r"weight: expected non-negative weights; got -1.0 at index \(1,\)",
        ),
        (
            lambda: nl.CrossEntropyLoss(weight=[[1.0, 1.0]]),
            ValueError,
            r"weight: expected a 1-D weight",
        ),
        (
            lambda: nl.NLLLoss(ignore_index=1.5),
            TypeError,
            "ignore_index: expected an integer; got 1.5",
        ),
    ],
)
def test_bad_options(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("kind", ["indices", "probs"])
def test_inputs_never_modified(rng, kind):
    z = rng.normal(size=(4, 3))
    t = rng.integers(0, 3, 4) if kind == "indices" else rng.dirichlet(np.ones(3), 4)
    z, t, w, log_p = frozen(z, t, [1.0, 2.0, 0.5], nl.log_softmax(z, axis=1))
    kept = [a.copy() for a in (z, t, w, log_p)]
    loss = nl.CrossEntropyLoss(weight=w, label_smoothing=0.1, reduction="none")
    loss(z, t)
    loss.backward(frozen(np.ones(4))[0])
    loss.backward(np.ones(4))
    nll = nl.NLLLoss(weight=w)
    if kind == "indices":
        nll(log_p, t)  # NLLLoss takes log-probabilities
        nll.backward()
    for a, b in zip((z, t, w, log_p), kept, strict=True):
        np.testing.assert_array_equal(a, b)


# -- properties -----------------------------------------------------------------------------------
@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_properties(n, c, smoothing, seed):
    rng = np.random.default_rng(seed)
    z, y = rng.normal(0, 10, (n, c)), rng.integers(0, c, n)
    loss = nl.CrossEntropyLoss(reduction="none", label_smoothing=smoothing)
    values = loss(z, y)
    grad = loss.backward(np.ones(n))
    assert np.all(values >= 0)
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-12)  # a p - B sums to a - a
    # the naive reference forms logsumexp(z) - z_y, so it is only good to ~u |z| absolute
    # (it returns 0 where the loss is 1e-20); within that it must agree
    reference = reference_loss(
        "CrossEntropyLoss", {"reduction": "none", "label_smoothing": smoothing}, z, y
    )
    np.testing.assert_allclose(values, reference, rtol=1e-12, atol=1e-14 * (1 + np.abs(z).max()))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(
    "options",
    [{}, {"label_smoothing": 0.1}, {"weight": np.array([1.0, 0.0, 2.0, 1.0])}],
    ids=["plain", "smoothing", "a zero weight"],
)
@pytest.mark.parametrize("targets", ["indices", "probabilities"])
def test_cross_entropy_finds_any_non_finite_logit_from_its_row_sums(bad, options, targets):
    """CrossEntropyLoss checks finiteness from sum_c w_c (m - z_c), not a scan of z: a NaN or
    infinity anywhere (here in a class with no target mass and, in one case, weight 0)
    must still be an error that names the input and the position."""
    z = np.random.default_rng(0).normal(size=(40, 4))
    y = np.zeros(40, dtype=int)
    target = y if targets == "indices" else np.eye(4)[y]
    z[17, 1] = bad  # class 1: not the target; weight 0 in one case
    with pytest.raises(
        ValueError, match=r"input: expected finite values; got .* at index \(17, 1\)"
    ):
        nl.CrossEntropyLoss(**options)(z, target)
