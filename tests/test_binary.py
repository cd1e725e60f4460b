"""BCELoss, BCEWithLogitsLoss, MSELoss: the lesson's numbers, references, tails, errors."""

import itertools

import numpy as np
import pytest
from conftest import frozen
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from reference import assert_close_to_mp, mp_sigmoid, mp_softplus, reference_loss

import numloss as nl

SPAM_P = np.array([0.9, 0.55, 0.1])  # the lesson's models A, B, C (section 2.1.2)
SPAM_LOSS = [0.105, 0.598, 2.303]  # -ln 0.9, -ln 0.55, -ln 0.1


def logit(p):
    return np.log(p) - np.log1p(-p)


# -- the lesson's numbers ------------------------------------------------------------
def test_spam_models_bce_on_probabilities():
    losses = nl.BCELoss(reduction="none")(SPAM_P, np.ones(3))
    np.testing.assert_allclose(losses, SPAM_LOSS, atol=5e-4)
    np.testing.assert_allclose(losses, -np.log(SPAM_P), rtol=1e-15)


def test_spam_models_bce_on_logits():
    losses = nl.BCEWithLogitsLoss(reduction="none")(logit(SPAM_P), np.ones(3))
    np.testing.assert_allclose(losses, SPAM_LOSS, atol=5e-4)
    np.testing.assert_allclose(losses, -np.log(SPAM_P), rtol=1e-14)


def test_confidently_wrong_costs_most():
    """Section 2.1.2: the penalty grows without bound as the wrong confidence grows."""
    p = np.array([0.9, 0.55, 0.1, 1e-3, 1e-6])
    losses = nl.BCELoss(reduction="none")(p, np.ones_like(p))
    assert np.all(np.diff(losses) > 0)
    assert losses[-1] > 13  # -ln 1e-6 = 13.8


# -- against the naive references, every option -----------------------------------------
WEIGHTS = {"none": None, "per-element": "elem", "per-class": "class"}


def _options(loss_name, rng, shape, reduction, weight, pos_weight=False):
    options = {"reduction": reduction}
    if weight == "elem":
        options["weight"] = rng.uniform(0, 2, shape)
    elif weight == "class":
        options["weight"] = rng.uniform(0, 2, shape[-1])
    if pos_weight:
        options["pos_weight"] = rng.uniform(0.5, 3, shape[-1])
    return options


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", WEIGHTS.values(), ids=WEIGHTS.keys())
def test_bce_matches_reference(rng, reduction, weight):
    p, y = rng.uniform(0.01, 0.99, (5, 3)), rng.uniform(0, 1, (5, 3))
    options = _options("BCELoss", rng, p.shape, reduction, weight)
    ours = nl.BCELoss(**options)(p, y)
    np.testing.assert_allclose(ours, reference_loss("BCELoss", options, p, y), rtol=1e-13)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weight", WEIGHTS.values(), ids=WEIGHTS.keys())
@pytest.mark.parametrize("pos_weight", [False, True], ids=["pw=None", "pw[C]"])
def test_bce_with_logits_matches_reference(rng, reduction, weight, pos_weight):
    x, y = rng.normal(0, 3, (5, 3)), rng.uniform(0, 1, (5, 3))
    options = _options("BCEWithLogitsLoss", rng, x.shape, reduction, weight, pos_weight)
    ours = nl.BCEWithLogitsLoss(**options)(x, y)
    ref = reference_loss("BCEWithLogitsLoss", options, x, y)
    np.testing.assert_allclose(ours, ref, rtol=1e-13)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_matches_reference(rng, reduction):
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    ours = nl.MSELoss(reduction=reduction)(x, y)
    np.testing.assert_allclose(ours, reference_loss("MSELoss", {"reduction": reduction}, x, y))


@pytest.mark.parametrize(
    "cls, make",
    [
        (nl.BCELoss, lambda r: (r.uniform(0.05, 0.95, (4, 3)), r.integers(0, 2, (4, 3)))),
        (nl.BCEWithLogitsLoss, lambda r: (r.normal(0, 3, (4, 3)), r.uniform(0, 1, (4, 3)))),
        (nl.MSELoss, lambda r: (r.normal(0, 3, (4, 3)), r.normal(0, 3, (4, 3)))),
    ],
    ids=["BCELoss", "BCEWithLogitsLoss", "MSELoss"],
)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradients_pass_the_checker(rng, cls, make, reduction):
    x, y = make(rng)
    result = nl.gradcheck(cls(reduction=reduction), x, y.astype(float))
    assert result, str(result)


# -- the two BCEs agree, until BCELoss saturates ----------------------------------------
def test_bce_with_logits_equals_bce_of_sigmoid(rng):
    x, y = rng.normal(0, 4, (50,)), rng.uniform(0, 1, (50,))
    on_logits = nl.BCEWithLogitsLoss(reduction="none")
    on_probs = nl.BCELoss(reduction="none")
    np.testing.assert_allclose(on_logits(x, y), on_probs(nl.sigmoid(x), y), rtol=1e-12)
    # and the gradients agree through the chain rule: dL/dx = dL/dp * sigmoid'(x)
    p = nl.sigmoid(x)
    np.testing.assert_allclose(
        on_logits.backward(), on_probs.backward() * p * nl.sigmoid(-x), rtol=1e-10
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_stays_exact_where_bce_saturates(dtype):
    x = np.array([-1e4, -200.0, 200.0, 1e4], dtype=dtype)
    y = np.array([1.0, 1.0, 0.0, 0.0], dtype=dtype)  # all confidently wrong
    on_logits = nl.BCEWithLogitsLoss(reduction="none")
    losses = on_logits(x, y)
    np.testing.assert_allclose(losses, np.abs(x), rtol=1e-6)  # softplus(|x|) = |x|
    grad = on_logits.backward()
    assert grad.dtype == dtype and np.all(np.isfinite(grad))
    np.testing.assert_array_equal(grad, [-1, -1, 1, 1])
    # BCELoss on the same probabilities clamps each log at -100
    saturated = nl.BCELoss(reduction="none")(nl.sigmoid(x), y)
    np.testing.assert_array_equal(saturated, [100, 100, 100, 100])
    # confidently right: zero loss and gradient, finite
    right = on_logits(x, 1 - y)
    assert np.all(np.isfinite(right)) and np.all(right < 1e-40)
    assert np.all(np.isfinite(on_logits.backward()))


# -- tails: 50-digit mpmath, every logit in [-700, 700] ----------------------------------
TAIL_LOGITS = np.unique(
    np.concatenate(
        [
            np.linspace(-700, 700, 1401),
            np.geomspace(1e-12, 700, 100),
            -np.geomspace(1e-12, 700, 100),
        ]
    )
)


@pytest.mark.parametrize("target", [0.0, 1.0])
def test_bce_with_logits_tails_match_mpmath(target):
    loss = nl.BCEWithLogitsLoss(reduction="none")
    values = loss(TAIL_LOGITS, np.full_like(TAIL_LOGITS, target))
    grads = loss.backward()
    for x, value, grad in zip(TAIL_LOGITS, values, grads, strict=True):
        # l = softplus(-x) for y = 1, softplus(x) for y = 0; dl/dx = sigmoid(x) - y
        exact = mp_softplus(-x) if target else mp_softplus(x)
        exact_grad = -mp_sigmoid(-x) if target else mp_sigmoid(x)
        assert_close_to_mp(value, exact, what=f"loss at x={x}, y={target}")
        assert_close_to_mp(grad, exact_grad, what=f"grad at x={x}, y={target}")


def test_the_pytorch_tail_case():
    """PyTorch 2.13 returns 0 at logit -40, target 0; the loss is softplus(-40) = 4.25e-18."""
    value = nl.BCEWithLogitsLoss()(np.array([-40.0]), np.array([0.0]))
    assert_close_to_mp(value, mp_softplus(-40.0))


# -- dtypes, lists, upstream gradients ---------------------------------------------------
@pytest.mark.parametrize("cls", [nl.BCELoss, nl.BCEWithLogitsLoss, nl.MSELoss])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_float32_stays_float32(cls, reduction):
    x = np.array([0.2, 0.7, 0.9], dtype=np.float32)
    y = np.array([0.0, 1.0, 1.0], dtype=np.float64)  # the target follows the input
    loss = cls(reduction=reduction, **({} if cls is nl.MSELoss else {"weight": [1.0, 2.0, 0.5]}))
    value = loss(x, y)
    assert value.dtype == np.float32
    g = None if reduction != "none" else np.array([1.0, -2.0, 0.5], dtype=np.float32)
    grad = loss.backward(g)
    assert grad.dtype == np.float32 and grad.shape == x.shape


def test_lists_work_like_arrays():
    a = nl.BCELoss()([0.9, 0.55, 0.1], [1, 1, 1])
    b = nl.BCELoss()(SPAM_P, np.ones(3))
    assert a == b and isinstance(a, np.float64)


def test_non_uniform_upstream_gradient_for_none():
    x, y = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.0, 1.0])
    loss = nl.BCEWithLogitsLoss(reduction="none")
    loss(x, y)
    g = np.array([2.0, -1.0, 0.5])
    np.testing.assert_allclose(loss.backward(g), g * (nl.sigmoid(x) - y))


def test_weight_is_not_in_the_mean_denominator():
    p, y = np.array([0.9, 0.1]), np.array([1.0, 1.0])
    weighted = nl.BCELoss(weight=[2.0, 0.0])(p, y)
    np.testing.assert_allclose(weighted, 2 * -np.log(0.9) / 2)


def test_pos_weight_scales_only_positive_terms():
    x, y = np.array([[0.3, -0.2]]), np.array([[1.0, 0.0]])
    plain = nl.BCEWithLogitsLoss(reduction="none")(x, y)
    weighted = nl.BCEWithLogitsLoss(reduction="none", pos_weight=[3.0, 3.0])(x, y)
    np.testing.assert_allclose(weighted, plain * [[3.0, 1.0]])


def test_bce_gradient_is_zero_where_the_clamp_is_active():
    loss = nl.BCELoss(reduction="none")
    loss(np.array([0.0, 1.0, 1e-50]), np.array([1.0, 0.0, 1.0]))
    np.testing.assert_array_equal(loss.backward(), [0.0, 0.0, 0.0])


# -- bad input: clear errors, naming argument, expectation, value and position ---------
BAD = [
    (
        nl.BCELoss(),
        [[0.2, 1.5]],
        [[0.0, 1.0]],
        ValueError,
        r"input: expected probabilities in \[0, 1\]; got 1.5 at index \(0, 1\)",
    ),
    (nl.BCELoss(), [0.2, -0.1], [0.0, 1.0], ValueError, r"input: .*got -0.1 at index \(1,\)"),
    (
        nl.BCELoss(),
        [0.2, np.nan],
        [0.0, 1.0],
        ValueError,
        r"input: expected finite values; got nan at index \(1,\)",
    ),
    (
        nl.BCELoss(),
        [0.2, 0.5],
        [0.0, 2.0],
        ValueError,
        r"target: expected labels in \[0, 1\]; got 2.0 at index \(1,\)",
    ),
    (
        nl.BCEWithLogitsLoss(),
        [0.2, np.inf],
        [0.0, 1.0],
        ValueError,
        r"input: expected finite values; got inf at index \(1,\)",
    ),
    (
        nl.BCEWithLogitsLoss(),
        [0.2, 0.5],
        [-1.0, 1.0],
        ValueError,
        r"target: expected labels in \[0, 1\]; got -1.0 at index \(0,\)",
    ),
    (
        nl.BCEWithLogitsLoss(),
        [0.2, 0.5],
        [0.0, 1.0, 1.0],
        ValueError,
        r"target: expected the shape of input, \(2,\); got \(3,\)",
    ),
    (
        nl.MSELoss(),
        np.zeros((2, 3)),
        np.zeros((3, 2)),
        ValueError,
        r"target: expected the shape of input",
    ),
    (
        nl.MSELoss(),
        ["a", "b"],
        [0.0, 1.0],
        TypeError,
        r"input: expected a real-valued array; got dtype <U1",
    ),
    (
        nl.MSELoss(),
        np.zeros(2, np.float16),
        [0.0, 1.0],
        TypeError,
        r"input: expected float32 or float64; got float16",
    ),
    (
        nl.BCELoss(weight=[1.0, 2.0, 3.0]),
        [0.2, 0.5],
        [0.0, 1.0],
        ValueError,
        r"weight: expected a weight broadcastable to the input's shape \(2,\); got shape \(3,\)",
    ),
    (
        nl.BCEWithLogitsLoss(pos_weight=[1.0, 2.0, 3.0]),
        [[0.2, 0.5]],
        [[0.0, 1.0]],
        ValueError,
        r"pos_weight: expected a weight of length 2",
    ),
]


@pytest.mark.parametrize(
    "loss, x, y, error, message", BAD, ids=[f"{type(b[0]).__name__}-{i}" for i, b in enumerate(BAD)]
)
def test_bad_input_raises_a_clear_error(loss, x, y, error, message):
    with pytest.raises(error, match=f"^{type(loss).__name__}: {message}"):
        loss(x, y)


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: nl.BCELoss(weight=[1.0, -2.0]),
            r"weight: expected non-negative weights; got -2.0 at index \(1,\)",
        ),
        (
            lambda: nl.BCEWithLogitsLoss(pos_weight=[np.nan]),
            r"pos_weight: expected finite values; got nan",
        ),
        (
            lambda: nl.MSELoss(reduction="avg"),
            r"reduction: expected one of 'mean', 'sum', 'none'; got 'avg'",
        ),
        (
            lambda: nl.BCELoss(reduction="batchmean"),
            r"reduction: expected one of 'mean', 'sum', 'none'",
        ),
    ],
)
def test_bad_options_raise_at_construction(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("cls", [nl.BCELoss, nl.BCEWithLogitsLoss, nl.MSELoss])
def test_backward_before_forward(cls):
    with pytest.raises(
        RuntimeError, match=rf"{cls.__name__}.backward\(\) needs a successful forward\(\)"
    ):
        cls().backward()


@pytest.mark.parametrize("cls", [nl.BCELoss, nl.BCEWithLogitsLoss, nl.MSELoss])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_inputs_never_modified(rng, cls, reduction):
    p, y, w = frozen(
        rng.uniform(0.1, 0.9, (3, 2)), rng.integers(0, 2, (3, 2)).astype(float), [1.0, 2.0]
    )
    kept = [a.copy() for a in (p, y, w)]
    loss = cls(reduction=reduction) if cls is nl.MSELoss else cls(weight=w, reduction=reduction)
    loss(p, y)
    g = None if reduction == "mean" else frozen(np.ones((3, 2)))[0]
    loss.backward(g)
    loss.backward(g)  # twice: backward must not consume its saved state either
    for a, b in zip((p, y, w), kept, strict=True):
        np.testing.assert_array_equal(a, b)


# -- properties ----------------------------------------------------------------------------
finite = st.floats(-50, 50, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 8), elements=finite), st.data())
def test_bce_with_logits_properties(x, data):
    y = data.draw(arrays(np.float64, x.shape, elements=st.sampled_from([0.0, 1.0])))
    loss = nl.BCEWithLogitsLoss(reduction="none")
    values = loss(x, y)
    assert np.all(values >= 0)
    for xi, yi, value in zip(x, y, values, strict=True):  # the naive formula loses digits
        assert_close_to_mp(value, mp_softplus(-xi) if yi else mp_softplus(xi))  # here; mpmath not
    grad = loss.backward()
    assert np.all(np.abs(grad) <= 1) and np.all(np.sign(grad) * (y - 0.5) <= 0)


def test_every_option_combination_constructs():
    for reduction, weight, pw in itertools.product(
        ["mean", "sum", "none"], [None, [1.0]], [None, [2.0]]
    ):
        loss = nl.BCEWithLogitsLoss(weight=weight, reduction=reduction, pos_weight=pw)
        assert np.all(np.isfinite(loss(np.array([[0.3]]), np.array([[1.0]]))))


# -- FocalLoss -------------------------------------------------------------------------------
GAMMAS = [0.0, 0.5, 1.0, 2.0, 5.0]


def mp_focal(x, y, alpha, gamma):
    """alpha_t (1 - p_t)^gamma (-log p_t) and its derivative in x, at 50 digits."""
    import mpmath

    s = 1 if y == 1 else -1
    u = mpmath.mpf(float(x)) * s
    q, ce = mp_sigmoid(-u), mp_softplus(-u)  # 1 - p_t and -log p_t, no cancellation
    a_t = 1 if alpha is None else (alpha if y == 1 else 1 - alpha)
    value = a_t * q**gamma * ce
    dl_du = -a_t * q**gamma * (q + gamma * mp_sigmoid(u) * ce)
    return value, s * dl_du


def test_focal_with_gamma_zero_and_no_alpha_is_bce(rng):
    x, y = rng.normal(0, 4, (6, 3)), rng.integers(0, 2, (6, 3)).astype(float)
    focal = nl.FocalLoss(alpha=None, gamma=0.0, reduction="none")
    bce = nl.BCEWithLogitsLoss(reduction="none")
    np.testing.assert_allclose(focal(x, y), bce(x, y), rtol=1e-15)
    np.testing.assert_allclose(
        focal.backward(np.ones((6, 3))), bce.backward(np.ones((6, 3))), rtol=1e-15
    )


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", [0.25, None])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_focal_matches_reference_and_gradcheck(rng, gamma, alpha, reduction):
    x, y = rng.normal(0, 2, (5, 3)), rng.integers(0, 2, (5, 3)).astype(float)
    options = {"alpha": alpha, "gamma": gamma, "reduction": reduction}
    np.testing.assert_allclose(
        nl.FocalLoss(**options)(x, y), reference_loss("FocalLoss", options, x, y), rtol=1e-12
    )
    assert nl.gradcheck(nl.FocalLoss(**options), x, y)


FOCAL_TAIL = np.concatenate([-np.geomspace(1e-3, 1e4, 60), [0.0], np.geomspace(1e-3, 1e4, 60)])


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("target", [0.0, 1.0])
def test_focal_tails_match_mpmath(gamma, target):
    loss = nl.FocalLoss(alpha=0.25, gamma=gamma, reduction="none")
    values = loss(FOCAL_TAIL, np.full_like(FOCAL_TAIL, target))
    grads = loss.backward(np.ones_like(FOCAL_TAIL))
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(grads))
    for x, value, grad in zip(FOCAL_TAIL, values, grads, strict=True):
        exact, exact_grad = mp_focal(x, target, 0.25, gamma)
        assert_close_to_mp(value, exact, rtol=1e-12, what=f"focal x={x} y={target} gamma={gamma}")
        assert_close_to_mp(
            grad, exact_grad, rtol=1e-12, what=f"focal grad x={x} y={target} gamma={gamma}"
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_focal_finite_at_huge_logits_for_small_gamma(dtype):
    x = np.array([-1e4, 1e4, -1e4, 1e4], dtype=dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0], dtype=dtype)
    for gamma in (0.0, 0.25, 0.5):
        loss = nl.FocalLoss(gamma=gamma, reduction="none")
        values, grad = loss(x, y), loss.backward(np.ones(4, dtype))
        assert values.dtype == dtype and grad.dtype == dtype
        assert np.all(np.isfinite(values)) and np.all(np.isfinite(grad))


def test_focal_down_weights_easy_examples():
    x, y = np.array([2.2, 0.0]), np.array([1.0, 1.0])  # easy (p_t = 0.9) and hard (0.5)
    bce = nl.BCEWithLogitsLoss(reduction="none")(x, y)
    focal = nl.FocalLoss(alpha=None, gamma=2.0, reduction="none")(x, y)
    ratio = focal / bce  # (1 - p_t)^2
    np.testing.assert_allclose(ratio, (1 - nl.sigmoid(x)) ** 2, rtol=1e-13)
    assert ratio[0] < 0.011 and ratio[1] == 0.25


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: nl.FocalLoss(gamma=-1.0),
            r"gamma: expected a finite number in \[0.0, inf\]; got -1.0",
        ),
        (
            lambda: nl.FocalLoss(alpha=1.5),
            r"alpha: expected a finite number in \[0.0, 1.0\]; got 1.5",
        ),
        (
            lambda: nl.FocalLoss()([0.1, 0.2], [1.0, 0.5]),
            r"FocalLoss: target: expected labels 0 or 1; got 0.5 at index \(1,\)$",
        ),
        (
            lambda: nl.FocalLoss()([0.1, 0.2], [1.0, -1.0]),
            r"got -1.0 at index \(1,\) \(these look like -1/\+1 labels: convert them with \(y \+ 1\) / 2\)",
        ),
    ],
)
def test_focal_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_mse_gradient_is_finite_near_float32s_largest_number():
    """Issue 17 item 10: 2 (x - y) / N at x = 3e38, y = 0, N = 2 is 3e38, within float32's
    range; 2 (x - y) first would overflow to inf. PyTorch's is finite too."""
    x, y = np.array([3e38, 0.0], np.float32), np.zeros(2, np.float32)
    loss = nl.MSELoss()
    loss(x, y)
    grad = loss.backward()
    assert grad.dtype == np.float32 and np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [3e38, 0.0], rtol=1e-6)
