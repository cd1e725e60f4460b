"""The shared input checks: each names the argument, the expectation, the value, the place."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from numloss import _validate as v


def test_as_float_array_keeps_float_dtypes_without_copying():
    a = np.zeros(3, np.float32)
    assert v.as_float_array("x", a) is a
    assert v.as_float_array("x", [1, 2]).dtype == np.float64
    assert v.as_float_array("x", np.array([True])).dtype == np.float64
    assert v.as_float_array("x", a, dtype=np.float64).dtype == np.float64


def test_finite_check_finds_the_first_culprit_and_tolerates_sum_overflow():
    v.check_finite("x", np.full(4, 1e308))  # the sum overflows, no element is bad
    with pytest.raises(
        v.BadInputError, match=r"x: expected finite values; got -inf at index \(1, 0\)"
    ):
        v.check_finite("x", np.array([[1.0, 2.0], [-np.inf, np.nan]]))


def test_range_check_catches_nan_too():
    with pytest.raises(
        v.BadInputError, match=r"p: expected probabilities in \[0, 1\]; got nan at index \(1,\)"
    ):
        v.check_in_range("p", np.array([0.5, np.nan]), 0, 1, "probabilities")


def test_sign_labels_hint_for_zero_one_labels():
    v.check_sign_labels("y", np.array([1.0, -1.0]))
    with pytest.raises(
        v.BadInputError,
        match=r"got 0.0 at index \(1,\) \(these look like 0/1 labels: convert them with 2\*y - 1\)",
    ):
        v.check_sign_labels("y", np.array([1.0, 0.0]))
    with pytest.raises(v.BadInputError, match=r"labels -1 or \+1; got 3.0 at index \(0,\)$"):
        v.check_sign_labels("y", np.array([3.0, 1.0]))


def test_class_indices():
    assert v.check_class_indices("t", [0, 2, -100], 3, ignore_index=-100).dtype.kind == "i"
    with pytest.raises(
        v.BadInputError,
        match=r"t: expected class indices in \[0, 3\) or ignore_index=-100; got 3 at index \(1,\)",
    ):
        v.check_class_indices("t", [0, 3], 3, ignore_index=-100)
    with pytest.raises(v.BadTypeError, match="expected integer class indices; got dtype float64"):
        v.check_class_indices("t", [0.0, 1.0], 3)


def test_weights():
    with pytest.raises(
        v.BadInputError, match=r"w: expected non-negative weights; got -1.0 at index \(2,\)"
    ):
        v.as_weight("w", [1.0, 0.0, -1.0])
    assert v.as_weight("w", None) is None
    w = v.check_weight("w", np.ones(3), (4, 3), np.dtype(np.float32), "of length 3")
    assert w.dtype == np.float32
    with pytest.raises(
        v.BadInputError, match=r"w: expected a weight of length 3; got shape \(4,\)"
    ):
        v.check_weight("w", np.ones(4), (4, 3), np.dtype(np.float64), "of length 3")


def test_choice_and_option():
    assert v.check_choice("p", 2, (1, 2)) == 2
    with pytest.raises(v.BadInputError, match="p: expected one of 1, 2; got 3"):
        v.check_choice("p", 3, (1, 2))
    # PyTorch's kinds: 2.0 and np.int64(2) mean 2; np.bool_ is a bool; True is not 1
    assert v.check_choice("p", 2.0, (1, 2)) == 2 and v.check_choice("p", np.int64(1), (1, 2)) == 1
    assert v.check_choice("swap", np.bool_(True), (False, True)) is True
    with pytest.raises(v.BadInputError, match="p: expected one of 1, 2; got True"):
        v.check_choice("p", True, (1, 2))
    with pytest.raises(v.BadInputError, match="p: expected one of 1, 2; got 2.5"):
        v.check_choice("p", 2.5, (1, 2))
    assert v.check_option("m", 1) == 1.0
    with pytest.raises(v.BadInputError, match=r"s: expected a finite number in \[0, 1\]; got 1.5"):
        v.check_option("s", 1.5, 0, 1)
    with pytest.raises(v.BadTypeError, match="s: expected a real number; got 'a'"):
        v.check_option("s", "a")
    with pytest.raises(v.BadTypeError):
        v.check_option("s", True)


def test_errors_are_value_and_type_errors():
    assert issubclass(v.BadInputError, ValueError) and issubclass(v.BadTypeError, TypeError)


def test_binary_labels_hint_for_sign_labels():
    v.check_binary_labels("y", np.array([0.0, 1.0]))
    with pytest.raises(
        v.BadInputError,
        match=r"y: expected labels 0 or 1; got -1.0 at index \(0,\) \(these look like -1/\+1 labels",
    ):
        v.check_binary_labels("y", np.array([-1.0, 1.0]))


# -- the mistake guards -------------------------------------------------------------------------
def test_log_probabilities_allow_rounding_and_gradcheck_steps_above_zero():
    v.check_log_probabilities("input", np.array([[-1e-18, -2.0], [2.4e-4, -9.0]]), "NLLLoss")
    with pytest.raises(
        v.BadInputError, match=r"input: expected log-probabilities \(<= 0\); got 0.002"
    ):
        v.check_log_probabilities("input", np.array([[-1.0, 0.002]]), "NLLLoss")
    v.check_log_probabilities("input", np.zeros((0, 3)), "NLLLoss")  # an empty batch


def test_soft_targets_made_in_float32_do_not_warn(recwarn):
    """Right use is silent: a float32 softmax cast to float64 sums to 1 within float32."""
    rng = np.random.default_rng(0)
    for c in (2, 10, 1000, 50_000):
        z = rng.normal(0, 3, (4, c)).astype(np.float32)
        t = np.exp(z - z.max(axis=1, keepdims=True))
        t = (t / t.sum(axis=1, keepdims=True)).astype(np.float64)
        v.warn_if_not_distributions("target", t.sum(axis=1), c, "CrossEntropyLoss")
    assert not recwarn.list
    with pytest.warns(v.NumlossWarning, match="should sum to 1"):
        v.warn_if_not_distributions("target", np.array([1.0, 0.99]), 3, "CrossEntropyLoss")


def test_probabilities_for_logits_needs_a_batch_not_all_equal(recwarn):
    v.warn_if_probabilities_for_logits("input", np.linspace(0, 1, 15), "BCEWithLogitsLoss")
    v.warn_if_probabilities_for_logits("input", np.zeros(64), "BCEWithLogitsLoss")  # init at 0
    v.warn_if_probabilities_for_logits("input", np.linspace(-1, 1, 64), "BCEWithLogitsLoss")
    assert not recwarn.list
    with pytest.warns(v.NumlossWarning, match="BCEWithLogitsLoss: input: every entry lies in"):
        v.warn_if_probabilities_for_logits("input", np.linspace(0, 1, 16), "BCEWithLogitsLoss")


def test_a_warning_names_the_first_caller_outside_numloss():
    with pytest.warns(v.NumlossWarning) as record:
        v.warn("a likely mistake")  # called from here: attributed here
    assert record[0].filename == __file__


def test_boolean_one_hot_rows_are_caught_and_indices_pass():
    v.check_not_one_hot("target", np.array([0, 2]), (2, 3), takes_probabilities=True)
    v.check_not_one_hot("target", np.eye(3)[:2], (2, 3), takes_probabilities=True)  # floats
    with pytest.raises(v.BadTypeError, match=r"got bool of the input's shape \(2, 3\)"):
        v.check_not_one_hot("target", np.eye(3, dtype=bool)[:2], (2, 3), takes_probabilities=False)


# -- class-index targets of every integer dtype (issue 17, item 8) -------------------------
INTEGER_DTYPES = [  # every signed and unsigned integer type, the C names too (longlong is
    # a type of its own beside int64 on Linux)
    np.dtype(t)
    for t in (np.int8, np.int16, np.int32, np.int64, np.intc, np.longlong)
    + (np.uint8, np.uint16, np.uint32, np.uint64, np.uintc, np.ulonglong, np.uintp)
]


def _index_loss(name, ignore, weight, reduction):
    """One of the three losses of class-index targets, with the drawn options."""
    import numloss as nl

    if name == "MultiMarginLoss":
        return nl.MultiMarginLoss(weight=weight, reduction=reduction)
    ignore_index = -100 if ignore is None else ignore
    return getattr(nl, name)(weight=weight, ignore_index=ignore_index, reduction=reduction)


@given(
    st.sampled_from(INTEGER_DTYPES),
    st.sampled_from(["CrossEntropyLoss", "NLLLoss", "MultiMarginLoss"]),
    st.integers(1, 6),  # N
    st.integers(2, 5),  # C
    st.booleans(),  # a class weight
    st.sampled_from(["mean", "sum", "none"]),
    st.integers(0, 2**32 - 1),
)
def test_every_integer_dtype_gives_the_int64_loss_and_gradient(
    dtype, name, N, C, weighted, reduction, seed
):
    """Targets of every signed and unsigned dtype (uint64 crashed CrossEntropyLoss and
    MultiMarginLoss with a raw IndexError): the same loss and gradient, bit for bit, as the
    same targets in int64, with an ignore_index the dtype can hold; the target unchanged."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, (N, C))
    x = z - np.log(np.exp(z).sum(axis=1, keepdims=True)) if name == "NLLLoss" else z
    labels = rng.integers(0, C, N)
    ignore = int(labels[0]) if name != "MultiMarginLoss" and rng.random() < 0.5 else None
    weight = rng.uniform(0.5, 2, C) if weighted else None
    target = labels.astype(dtype)
    target.setflags(write=False)
    upstream = rng.normal(size=N) if reduction == "none" else None

    want_loss = _index_loss(name, ignore, weight, reduction)
    want = want_loss(x, labels.astype(np.int64))
    want_grad = want_loss.backward(upstream)
    loss = _index_loss(name, ignore, weight, reduction)
    got = loss(x, target)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(loss.backward(upstream), want_grad)
    assert target.dtype == dtype and np.array_equal(target, labels)


@pytest.mark.parametrize("dtype", INTEGER_DTYPES, ids=str)
def test_as_intp_makes_every_integer_dtype_intp_and_names_a_value_beyond_it(dtype):
    y = np.array([0, 1, 2], dtype)
    got = v.as_index_array("target", y)
    assert got.dtype == np.intp and got.tolist() == [0, 1, 2]
    assert y.dtype == dtype  # the caller's array is left as it was
    assert v.check_class_indices("target", y, 3).dtype == np.intp
    if dtype == np.uint64:
        with pytest.raises(
            v.BadInputError, match=r"target: .*got 18446744073709551615 at index \(1,\)"
        ):
            v.as_index_array("target", np.array([0, 2**64 - 1], np.uint64))
