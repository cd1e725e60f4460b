"""Bad input, walked through every exported loss and every layer of numloss.train.

The walk is automatic: the losses are those `numloss.gradcheck.suite` finds in
``numloss.__all__`` (the layers, those in ``numloss.train.__all__``), and each starts from
a valid case of its gradcheck row (`numloss.gradcheck.cases`), which every exported loss
must have. From it the walk makes the bad inputs of DESIGN §1 — mismatched shapes, wrong
dtypes and label kinds, NaN and inf, ragged lists, unknown reductions, backward before
forward, a bad upstream gradient — and the inputs that must *work*: empty batches,
read-only, Fortran-order and strided arrays, backward twice, PyTorch's keyword names,
NumPy scalars as options. Each bad one must raise a ValueError or TypeError (a
RuntimeError for the order of calls) whose message names the argument.

What cannot be derived from a valid case — which labels a loss takes, and the mistakes
the lesson warns about — is in `LABELS`, one row per loss; a new loss needs a row (an
empty one if it takes any real target, as MSELoss does).

`SHOWCASE` is the README's section "Bad input and common mistakes": each snippet is run
here and what numloss says is printed beside it, so the section cannot drift.
``python tests/test_bad_input.py`` prints the section; the test below checks the README's
copy against it.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import re
import subprocess
import sys
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest

import numloss as nl
from numloss import train
from numloss.gradcheck.cases import build, cases_for
from numloss.gradcheck.suite import exported_layers, exported_losses

LOSSES = exported_losses()
LAYERS = exported_layers()
ERRORS = (ValueError, TypeError)


def ids(cls):
    return cls.__name__


def quiet(make):
    """make(), with the warnings a constructor gives (KLDivLoss's "mean") silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nl.NumlossWarning)
        return make()


def valid_case(cls):
    """A valid (object factory, inputs) of `cls`: the first random batched case of its row."""
    rng = np.random.default_rng(0)
    for options, drawn, kind, inputs in cases_for(cls, rng):
        if "random" in kind and "(" not in kind and options.get("reduction", "mean") == "mean":
            return (lambda drawn=drawn: quiet(lambda: build(cls, drawn))), inputs
    raise AssertionError(f"{cls.__name__}: no random case with reduction='mean' in its row")


def call(obj, inputs, grad_output=None):
    """forward, then backward (a layer needs its grad_output: ones of the output's shape)."""
    value = obj.forward(*inputs)
    if isinstance(obj, train.Layer) and grad_output is None:
        grad_output = np.ones(np.shape(value))
    grads = obj.backward(grad_output)
    return value, grads if isinstance(grads, tuple) else (grads,)


def raises_naming(obj, inputs, name, error=ERRORS):
    """Calling obj on inputs raises `error` whose message names `name`; returns the message."""
    with pytest.raises(error) as info:
        obj.forward(*inputs)
    message = str(info.value)
    assert re.search(rf"\b{re.escape(name)}\b", message), message
    return message


def names_of(obj):
    return tuple(getattr(obj, "inputs", ("input",)))


def walked():
    return [*LOSSES, *LAYERS]


# -- the automatic walk: every loss and every layer --------------------------------------------------
@pytest.mark.parametrize("cls", walked(), ids=ids)
def test_mismatched_shapes_name_the_argument(cls):
    make, inputs = valid_case(cls)
    for i, name in enumerate(names_of(make())):
        a = np.asarray(inputs[i])
        if i == 0 or a.ndim == 0:
            continue  # the others are checked against the first input's shape
        longer = np.concatenate([a, a[:1]])
        bad = list(inputs)
        bad[i] = longer
        raises_naming(make(), bad, name, ValueError)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("cls", walked(), ids=ids)
def test_nan_and_inf_name_the_argument(cls, value):
    make, inputs = valid_case(cls)
    for i, name in enumerate(names_of(make())):
        a = np.asarray(inputs[i])
        if a.dtype.kind != "f":
            continue
        bad = list(inputs)
        bad[i] = a.copy()
        bad[i].reshape(-1)[-1] = value
        message = raises_naming(make(), bad, name, ValueError)
        assert "nan" in message or "inf" in message


@pytest.mark.parametrize(
    ("kind", "convert", "error"),
    [
        ("strings", lambda a: a.astype(str), TypeError),
        ("complex", lambda a: a + 0j, TypeError),
        ("objects", lambda a: np.array([None] * a.size, dtype=object).reshape(a.shape), TypeError),
        ("ragged list", lambda a: [[1.0], [1.0, 2.0]], ValueError),
    ],
)
@pytest.mark.parametrize("cls", walked(), ids=ids)
def test_wrong_dtypes_and_ragged_lists_name_the_argument(cls, kind, convert, error):
    make, inputs = valid_case(cls)
    for i, name in enumerate(names_of(make())):
        bad = list(inputs)
        bad[i] = convert(np.asarray(inputs[i]))
        raises_naming(make(), bad, name, error)


@pytest.mark.parametrize("cls", walked(), ids=ids)
def test_float16_input_is_a_type_error_with_the_conversion(cls):
    make, inputs = valid_case(cls)
    bad = [np.asarray(inputs[0]).astype(np.float16), *inputs[1:]]
    message = raises_naming(make(), bad, names_of(make())[0], TypeError)
    assert "astype(np.float32)" in message


@pytest.mark.parametrize("cls", walked(), ids=ids)
def test_float_class_indices_are_an_error(cls):
    make, inputs = valid_case(cls)
    for i, name in enumerate(names_of(make())):
        if np.asarray(inputs[i]).dtype.kind in "iu":
            bad = list(inputs)
            bad[i] = np.asarray(inputs[i]).astype(np.float64)
            raises_naming(make(), bad, name)


@pytest.mark.parametrize("cls", walked(), ids=ids)
def test_an_empty_batch_works_and_its_mean_is_zero(cls):
    make, inputs = valid_case(cls)
    empty = [np.asarray(a)[:0] for a in inputs]
    obj = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grads = call(obj, empty)
    if np.ndim(value) == 0:
        assert value == 0
    else:
        assert np.size(value) == 0
    for g, name in zip(grads, getattr(obj, "differentiable", ("input",)), strict=False):
        assert g.shape == np.shape(empty[names_of(obj).index(name)])


@pytest.mark.parametrize("cls", walked(), ids=ids)
def test_read_only_fortran_and_strided_inputs_work_and_are_not_modified(cls):
    make, inputs = valid_case(cls)
    obj = make()  # one object for every layout (a Linear's weights are drawn when made)
    reference, reference_grads = call(obj, inputs)
    frozen = []
    for a in inputs:
        a = np.array(a, copy=True)
        a.setflags(write=False)
        frozen.append(a)
    kept = [a.copy() for a in frozen]
    layouts = {
        "read-only": frozen,
        "fortran": [np.asfortranarray(a) for a in frozen],
        "strided": [np.repeat(a, 2, axis=-1)[..., ::2] if a.ndim else a for a in frozen],
    }
    for layout, arrays in layouts.items():
        value, grads = call(obj, arrays)
        np.testing.assert_allclose(value, reference, rtol=1e-13, err_msg=layout)
        for g, r in zip(grads, reference_grads, strict=True):
            np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-300, err_msg=layout)
    for a, b in zip(frozen, kept, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", LOSSES, ids=ids)
def test_an_unknown_reduction_names_reduction(cls):
    with pytest.raises(ValueError, match=r"\breduction\b.*'avg'"):
        cls(reduction="avg")


@pytest.mark.parametrize("cls", walked(), ids=ids)
def test_backward_before_forward_and_after_a_failed_forward(cls):
    make, inputs = valid_case(cls)
    obj = make()
    grad_output = None if not isinstance(obj, train.Layer) else np.ones(1)
    with pytest.raises(RuntimeError, match=r"forward\(\)"):
        obj.backward(grad_output)
    obj.forward(*inputs)
    bad = [np.asarray(inputs[0]).astype(str), *inputs[1:]]
    with pytest.raises(ERRORS):
        obj.forward(*bad)
    with pytest.raises(RuntimeError, match="the last one raised"):
        obj.backward(grad_output)


@pytest.mark.parametrize("cls", walked(), ids=ids)
def test_backward_twice_gives_the_same_gradient(cls):
    make, inputs = valid_case(cls)
    obj = make()
    value, first = call(obj, inputs)
    g = None if not isinstance(obj, train.Layer) else np.ones(np.shape(value))
    again = obj.backward(g)
    for a, b in zip(first, again if isinstance(again, tuple) else (again,), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", walked(), ids=ids)
def test_a_bad_grad_output_names_grad_output(cls):
    make, inputs = valid_case(cls)
    obj = make()
    value = obj.forward(*inputs)
    wrong = np.ones(np.shape(value) + (2,))
    with pytest.raises(ValueError, match=r"\bgrad_output\b.*shape"):
        obj.backward(wrong)
    nan = np.full(np.shape(value), np.nan)
    with pytest.raises(ValueError, match=r"\bgrad_output\b.*finite"):
        obj.backward(nan)


@pytest.mark.parametrize("cls", LOSSES, ids=ids)
def test_pytorch_keyword_names_and_bad_calls(cls):
    make, inputs = valid_case(cls)
    loss = make()
    names = loss.inputs
    by_position = loss(*inputs)
    assert loss(**dict(zip(names, inputs, strict=True))) == by_position
    with pytest.raises(TypeError, match=f"missing {names[-1]}"):
        loss(*inputs[:-1])
    with pytest.raises(TypeError, match=r"unknown input name 'inputs'"):
        loss(*inputs, inputs=None)
    with pytest.raises(TypeError, match=rf"expected {len(names)} inputs"):
        loss(*inputs, inputs[-1])


def _numpy_scalar(value):
    if isinstance(value, bool):
        return np.bool_(value)
    if isinstance(value, int):
        return np.int64(value)
    if isinstance(value, float):
        return np.float32(value) if float(np.float32(value)) == value else np.float64(value)
    return None


@pytest.mark.parametrize("cls", LOSSES, ids=ids)
def test_numpy_scalars_are_accepted_for_options(cls):
    """np.bool_, np.int64 and np.float32 options mean what bool, int and float do."""
    make, inputs = valid_case(cls)
    reference = make()
    for name, param in inspect.signature(cls.__init__).parameters.items():
        scalar = _numpy_scalar(param.default)
        if scalar is None or name == "reduction":
            continue
        loss = quiet(lambda name=name, scalar=scalar: cls(**{name: scalar}))
        assert getattr(loss, name) == param.default
        plain = quiet(lambda name=name, param=param: cls(**{name: param.default}))
        assert loss(*inputs) == plain(*inputs)
    assert reference(*inputs) == make()(*inputs)


def test_the_options_pytorch_accepts_and_rejects():
    """MultiMarginLoss(p=2.0) is p=2; TripletMarginLoss takes any p > 0 (its gradient is
    the general p-norm's) and rejects margin <= 0, as PyTorch does, with the reason."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 3)), np.array([0, 2, 1, 0])
    assert nl.MultiMarginLoss(p=2.0).p == 2
    assert nl.MultiMarginLoss(p=2.0)(x, y) == nl.MultiMarginLoss(p=2)(x, y)
    a, pos, neg = (rng.normal(size=(4, 3)) for _ in range(3))
    for p in (0.5, 1.5, 2.5, np.float32(3.0)):
        assert nl.gradcheck(nl.TripletMarginLoss(p=p), a, pos, neg)
    for margin in (0.0, -1.0):
        with pytest.raises(
            ValueError, match="TripletMarginLoss: margin: expected margin > 0, as PyTorch requires"
        ):
            nl.TripletMarginLoss(margin=margin)
    with pytest.raises(ValueError, match="p > 0"):
        nl.TripletMarginLoss(p=0)


def test_constructor_errors_name_the_loss():
    for cls in LOSSES:
        with pytest.raises(ValueError, match=rf"^{cls.__name__}: reduction"):
            cls(reduction="avg")


def test_the_walk_covers_every_exported_loss_and_layer():
    assert {c.__name__ for c in LOSSES} == {
        n
        for n in nl.__all__
        if isinstance(getattr(nl, n), type) and issubclass(getattr(nl, n), nl.Loss)
    } - {"Loss"}
    assert {"Linear", "Sigmoid", "Tanh", "ReLU", "Sequential", "WithLoss"} <= {
        c.__name__ for c in LAYERS
    }
    for cls in walked():
        valid_case(cls)  # every one has a valid case to start from


# -- labels and the lesson's mistakes, loss by loss ---------------------------------------------------
def _set(i, value):
    """Replace input i's first entry with `value` (in a copy)."""

    def mutate(inputs):
        out = [np.array(a, copy=True) for a in inputs]
        out[i].reshape(-1)[0] = value
        return out

    return mutate


def _replace(i, make):
    def mutate(inputs):
        out = list(inputs)
        out[i] = make(np.asarray(inputs[i]), inputs)
        return out

    return mutate


def _sign_labels(y, inputs):
    return np.where(y > 0.5, 1.0, -1.0)


def _sigmoid_of_a_batch(inputs):
    """A batch of 16 or more sigmoid outputs, and its targets."""
    x, y = (np.tile(a, (4, 1)) for a in inputs)
    return [nl.sigmoid(x), y]


def _probabilities(x, inputs):
    return nl.softmax(np.asarray(x), axis=1)


def _one_hot(y, inputs):
    return np.eye(np.shape(inputs[0])[1], dtype=int)[y]


# (what, how to make it from a valid case, error or warning class, argument, words the message has)
LABELS = {
    "BCELoss": [
        ("a label above 1", _set(1, 2.0), ValueError, "target", "labels in [0, 1]"),
        ("-1/+1 labels", _replace(1, _sign_labels), ValueError, "target", "(y + 1) / 2"),
        ("logits", _set(0, 2.5), ValueError, "input", "use BCEWithLogitsLoss"),
    ],
    "BCEWithLogitsLoss": [
        ("a label above 1", _set(1, 2.0), ValueError, "target", "labels in [0, 1]"),
        ("-1/+1 labels", _replace(1, _sign_labels), ValueError, "target", "(y + 1) / 2"),
        (
            "probabilities",
            _sigmoid_of_a_batch,
            nl.NumlossWarning,
            "input",
            "applies the sigmoid itself",
        ),
    ],
    "FocalLoss": [
        ("a soft label", _set(1, 0.5), ValueError, "target", "labels 0 or 1"),
        ("-1/+1 labels", _replace(1, _sign_labels), ValueError, "target", "(y + 1) / 2"),
    ],
    "MSELoss": [],  # any real target
    "HingeLoss": [
        ("0/1 labels", _replace(1, lambda y, _: (y + 1) / 2), ValueError, "target", "2*y - 1"),
        ("a label 2", _set(1, 2.0), ValueError, "target", "labels -1 or +1"),
    ],
    "SquaredHingeLoss": [
        ("0/1 labels", _replace(1, lambda y, _: (y + 1) / 2), ValueError, "target", "2*y - 1"),
    ],
    "SoftMarginLoss": [
        ("0/1 labels", _replace(1, lambda y, _: (y + 1) / 2), ValueError, "target", "2*y - 1"),
    ],
    "MultiMarginLoss": [
        ("a class index C", _set(1, 5), ValueError, "target", "[0, 5)"),
        ("a class index -1", _set(1, -1), ValueError, "target", "[0, 5)"),
        ("one-hot rows", _replace(1, _one_hot), TypeError, "target", "argmax"),
        ("(N, C, d) scores", _replace(0, lambda x, _: x[..., None]), ValueError, "input", "(N, C)"),
    ],
    "CrossEntropyLoss": [
        ("a class index C", _set(1, 4), ValueError, "target", "[0, 4)"),
        ("a class index -1", _set(1, -1), ValueError, "target", "ignore_index=-100"),
        ("integer one-hot rows", _replace(1, _one_hot), TypeError, "target", "must be floats"),
        (
            "float class indices",
            _replace(1, lambda y, _: y.astype(float)),
            ValueError,
            "target",
            "class indices must be integers",
        ),
        (
            "a probability above 1",
            _replace(1, lambda y, inputs: 2.0 * _one_hot(y, inputs)),
            ValueError,
            "target",
            "probabilities in [0, 1]",
        ),
        (
            "soft targets not summing to 1",
            _replace(1, lambda y, inputs: 0.5 * _one_hot(y, inputs)),
            nl.NumlossWarning,
            "target",
            "should sum to 1",
        ),
        (
            "softmax applied first",
            _replace(0, _probabilities),
            nl.NumlossWarning,
            "input",
            "softmax was applied twice",
        ),
    ],
    "NLLLoss": [
        ("a class index C", _set(1, 4), ValueError, "target", "[0, 4)"),
        ("logits", _replace(0, lambda x, _: x - x.min() + 1), ValueError, "input", "log_softmax"),
        ("probabilities", _replace(0, lambda x, _: np.exp(x)), ValueError, "input", "np.log(p)"),
        ("integer one-hot rows", _replace(1, _one_hot), TypeError, "target", "argmax"),
    ],
    "MarginRankingLoss": [
        ("0/1 labels", _replace(2, lambda y, _: (y + 1) / 2), ValueError, "target", "2*y - 1"),
    ],
    "TripletMarginLoss": [
        (
            "(N, D, k) embeddings",
            lambda inputs: [np.asarray(a)[..., None] for a in inputs],
            ValueError,
            "anchor",
            "(N, D)",
        ),
    ],
    "KLDivLoss": [
        (
            "probabilities as input",
            _replace(0, lambda x, _: np.exp(x)),
            ValueError,
            "input",
            "np.log(q)",
        ),
        (
            "logits as input",
            _replace(0, lambda x, _: x - x.min() + 1),
            ValueError,
            "input",
            "log_softmax",
        ),
        ("a negative target", _set(1, -0.5), ValueError, "target", "probabilities"),
    ],
}


def test_every_exported_loss_has_a_labels_row():
    assert set(LABELS) == {cls.__name__ for cls in LOSSES}


@pytest.mark.parametrize(
    ("cls", "what", "mutate", "kind", "name", "words"),
    [(cls, *row) for cls in LOSSES for row in LABELS.get(cls.__name__, [])],
    ids=lambda v: v.__name__ if isinstance(v, type) else (v if isinstance(v, str) else None),
)
def test_labels_and_mistakes(cls, what, mutate, kind, name, words):
    make, inputs = valid_case(cls)
    if cls is nl.KLDivLoss:  # its gradcheck row's default option is log_target=False
        make = lambda: quiet(lambda: nl.KLDivLoss(reduction="batchmean"))  # noqa: E731
    bad = mutate(inputs)
    if issubclass(kind, Warning):
        with pytest.warns(kind) as record:
            make()(*bad)
        message = str(record[0].message)
        assert record[0].filename == __file__  # attributed to the caller's line
    else:
        message = raises_naming(make(), bad, name, kind)
    assert re.search(rf"\b{re.escape(name)}\b", message) and words in message, message


def test_right_use_is_silent_on_every_gradcheck_input():
    """Every input of every gradcheck case (every loss, option and kind), warnings as errors."""
    rng = np.random.default_rng(0)
    for cls in LOSSES:
        for _, drawn, _kind, inputs in cases_for(cls, rng):
            loss = quiet(lambda cls=cls, drawn=drawn: build(cls, drawn))
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                loss(*inputs)
                loss.backward()


def test_warnings_are_shown_once_per_line_and_can_be_silenced():
    z = nl.softmax(np.array([[2.0, 1.0, 0.1], [0.0, 1.0, 0.0]]), axis=1)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")  # Python's own default: once per location
        for _ in range(3):
            nl.CrossEntropyLoss()(z, [0, 1])
    assert len(seen) == 1 and issubclass(seen[0].category, nl.NumlossWarning)
    assert issubclass(nl.NumlossWarning, UserWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=nl.NumlossWarning)
        nl.CrossEntropyLoss()(z, [0, 1])


def test_a_warning_inside_fit_points_at_the_caller_of_fit():
    x = np.linspace(0.1, 0.9, 32)[:, None]
    y = (x > 0.5).astype(float)
    model = train.Sequential(train.Linear(1, 1, seed=0), train.Sigmoid())
    with pytest.warns(nl.NumlossWarning) as record:
        train.fit(model, nl.BCEWithLogitsLoss(), x, y, epochs=1, quiet=True)
    assert record[0].filename == __file__


# -- the README section "Bad input and common mistakes" -------------------------------------------------
SETUP = """\
import numpy as np
import numloss as nl
z = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.0]])   # logits
y = np.array([0, 1])                                # class indices
"""

SHOWCASE = [
    (
        "Common mistakes (the lesson's warnings)",
        [
            (
                "softmax before CrossEntropyLoss (section 3.1.3)",
                "nl.CrossEntropyLoss()(nl.softmax(z, axis=1), y)",
            ),
            ("logits given to BCELoss", "nl.BCELoss()(z[0], [1.0, 0.0, 0.0])"),
            (
                "probabilities given to BCEWithLogitsLoss",
                "nl.BCEWithLogitsLoss()(nl.sigmoid(np.linspace(-3, 3, 16)), np.ones(16))",
            ),
            ("logits given to NLLLoss", "nl.NLLLoss()(z, y)"),
            ("probabilities given to NLLLoss", "nl.NLLLoss()(nl.softmax(z, axis=1), y)"),
            (
                "probabilities as KLDivLoss's input",
                "nl.KLDivLoss(reduction='batchmean')([[0.7, 0.2, 0.1]], [[1.0, 0.0, 0.0]])",
            ),
            (
                "integer one-hot rows as targets",
                "nl.CrossEntropyLoss()(z, np.eye(3, dtype=int)[y])",
            ),
            (
                "soft targets that do not sum to 1",
                "nl.CrossEntropyLoss()(z, [[0.5, 0.2, 0.1], [0.1, 0.8, 0.1]])",
            ),
            ("0/1 labels for a hinge", "nl.HingeLoss()([2.0, -0.5], [1.0, 0.0])"),
            ("-1/+1 labels for BCE", "nl.BCEWithLogitsLoss()([2.0, -0.5], [1.0, -1.0])"),
            ("KLDivLoss's default reduction", "nl.KLDivLoss()"),
        ],
    ),
    (
        "Bad input",
        [
            ("a class index out of range", "nl.CrossEntropyLoss()(z, [0, 3])"),
            ("mismatched shapes", "nl.MSELoss()(np.zeros((4, 3)), np.zeros((4, 2)))"),
            ("NaN in the input", "nl.BCEWithLogitsLoss()([0.5, np.nan], [1.0, 0.0])"),
            ("a ragged list", "nl.MSELoss()([[1.0], [1.0, 2.0]], [[1.0], [1.0, 2.0]])"),
            ("float16", "nl.MSELoss()(np.zeros(3, np.float16), np.zeros(3))"),
            ("an unknown reduction", "nl.MSELoss(reduction='avg')"),
            ("backward before forward", "nl.MSELoss().backward()"),
            (
                "an upstream gradient of the wrong shape",
                "loss = nl.MSELoss(reduction='none'); loss([1.0, 2.0], [0.0, 0.0]); loss.backward([1.0])",
            ),
            ("a layer's input of the wrong width", "nl.train.Linear(3, 2)(np.zeros((4, 5)))"),
        ],
    ),
    (
        "What works as in PyTorch",
        [
            (
                "an empty batch: mean 0, gradient of shape (0, 3)",
                "loss = nl.CrossEntropyLoss(); print(loss(np.zeros((0, 3)), np.zeros(0, int)), loss.backward().shape)",
            ),
            ("PyTorch's keyword names", "print(nl.CrossEntropyLoss()(input=z, target=y))"),
            (
                "NumPy scalars as options",
                "print(nl.MultiMarginLoss(p=np.int64(2), margin=np.float32(0.5)))",
            ),
            (
                "backward twice, the second with another upstream gradient",
                "loss = nl.MSELoss(); loss([1.0, 2.0], [0.0, 0.0]); print(loss.backward(), loss.backward(2.0))",
            ),
        ],
    ),
]


def run_snippet(code: str) -> str:
    """What numloss prints, raises or warns for `code` (the last line of an error)."""
    namespace: dict = {}
    exec(SETUP, namespace)
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as seen, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        try:
            exec(code, namespace)
        except Exception as err:  # noqa: BLE001  (showing it is the point)
            # the traceback's last line, as Python prints it to the user
            # ("numloss.BadInputError: ...", "RuntimeError: ...")
            return traceback.format_exception_only(type(err), err)[-1].rstrip("\n")
    said = [f"{w.category.__name__}: {w.message}" for w in seen]
    return "\n".join(said + ([out.getvalue().strip()] if out.getvalue().strip() else []))


def readme_section() -> str:
    lines = [
        "## Bad input and common mistakes",
        "",
        "An input that cannot be right raises a `numloss.BadInputError` (a `ValueError`) or",
        "`numloss.BadTypeError` (a `TypeError`) naming the argument, what was expected and",
        "what came; one that is possible but almost certainly a mistake",
        "raises a `numloss.NumlossWarning`, once per line of your code (silence it with",
        '`warnings.filterwarnings("ignore", category=nl.NumlossWarning)`). Right use is',
        "silent. Generated by `.venv/bin/python tests/test_bad_input.py`, and checked by the tests, from:",
        "",
        "```python",
        SETUP.rstrip(),
        "```",
    ]
    for title, rows in SHOWCASE:
        lines += ["", f"**{title}**", "", "```pycon"]  # a console session, not a script
        for what, code in rows:
            lines += [f"# {what}", f">>> {code}", *run_snippet(code).splitlines()]
        lines += ["```"]
    return "\n".join(lines) + "\n"


def test_every_showcase_row_does_what_it_says():
    for title, rows in SHOWCASE:
        for what, code in rows:
            said = run_snippet(code)
            if title.startswith("Common"):
                assert "Warning:" in said or "Error:" in said, (what, said)
            elif title == "Bad input":
                assert re.match(r"([\w.]+Error):", said), (what, said)
            else:
                assert "Error" not in said and "Warning" not in said, (what, said)


def test_every_error_shown_is_the_last_line_of_what_python_prints():
    """Each snippet that raises, run as a user runs it (a fresh interpreter, the error
    uncaught): the last line on stderr is the transcript's line, numloss.BadInputError
    where the error is numloss's own, and that name is what ``import numloss`` exports."""
    for _, rows in SHOWCASE:
        for what, code in rows:
            said = run_snippet(code)
            if not re.match(r"[\w.]+Error: ", said):
                continue
            done = subprocess.run(
                [sys.executable, "-c", SETUP + code],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 1, (what, done.stderr)
            assert done.stderr.rstrip("\n").splitlines()[-1] == said, what
            name = said.split(":", 1)[0]
            if name.startswith("numloss."):
                error = getattr(nl, name.removeprefix("numloss."))
                assert issubclass(error, ValueError | TypeError), name


def test_the_readme_section_is_generated_from_here():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    start = readme.find("## Bad input and common mistakes")
    if start < 0:
        pytest.skip("README.md has no section 'Bad input and common mistakes' yet")
    end = readme.find("\n## ", start + 1)
    section = readme[start : None if end < 0 else end + 1]
    assert section.strip() == readme_section().strip(), (
        "README.md's 'Bad input and common mistakes' differs from what the code does now: "
        "paste the output of python tests/test_bad_input.py"
    )


if __name__ == "__main__":
    sys.stdout.write(readme_section())
