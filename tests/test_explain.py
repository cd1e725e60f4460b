"""numloss.explain: the trace's numbers are the code's own, for every loss, option and layer."""

import copy
import re
import warnings
from typing import NamedTuple

import numpy as np
import pytest

import numloss as nl
from numloss.explain import Trace, _field, _parts_steps, _Writer, explain
from numloss.gradcheck.cases import cases_for
from numloss.gradcheck.suite import exported_losses
from numloss.train import Linear, ReLU, Sequential, Sigmoid, Tanh, WithLoss

LOSSES = exported_losses()


def _same(a, b) -> bool:
    """Exactly equal: the same arrays (or tuples of arrays), NaN nowhere."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (
            isinstance(a, tuple)
            and isinstance(b, tuple)
            and len(a) == len(b)
            and all(_same(x, y) for x, y in zip(a, b, strict=True))
        )
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))


def _upstream(rng, loss, inputs):
    """A non-trivial grad_output: an array of the output's shape for "none", else 0.7."""
    if loss.reduction != "none":
        return 0.7
    probe = copy.deepcopy(loss)
    return rng.uniform(0.5, 2.0, np.shape(probe.forward(*inputs)))


def _loss(cls, drawn):
    with warnings.catch_warnings():  # KLDivLoss's "mean" warning: known
        warnings.simplefilter("ignore", UserWarning)
        return cls(**drawn)


@pytest.mark.parametrize("cls", LOSSES, ids=lambda c: c.__name__)
def test_trace_value_and_grad_are_forward_and_backward(cls):
    """For every option combination and input kind of the gradcheck table: exactly equal."""
    rng = np.random.default_rng(0)
    count = 0
    for options, drawn, kind, inputs in cases_for(cls, rng):
        originals = [np.array(x, copy=True) for x in inputs]
        g = _upstream(rng, _loss(cls, drawn), inputs)
        trace = explain(_loss(cls, drawn), *inputs, grad_output=g)
        fresh = _loss(cls, drawn)
        value = fresh.forward(*inputs)
        grad = fresh.backward(g)
        where = f"{cls.__name__} {options} {kind}"
        assert _same(trace.value, value), where
        assert _same(trace.grad, grad), where
        for before, after in zip(originals, inputs, strict=True):  # inputs untouched
            assert np.array_equal(before, after), where
        # the last steps are the gradient, one per differentiable input, backward's own
        grads = trace.grad if isinstance(trace.grad, tuple) else (trace.grad,)
        last = trace.steps[-len(grads) :]
        assert all(s.source == "backward" for s in last), where
        assert all(_same(s.value, g_) for s, g_ in zip(last, grads, strict=True)), where
        count += 1
    assert count > 0


def _the_codes_own_values(cls, drawn, inputs, g) -> dict:
    """Every value the loss's own code produces on its reading path, by the source a
    trace names it with: each field of its Parts, its _losses and _gradient of them, its
    loss_derivative, forward and backward."""
    loss = _loss(cls, drawn)
    with nl.fast.path("reading"):
        value = loss.forward(*inputs)
        parts = loss._record
        grad = loss.backward(g)
    losses = loss._losses(parts)
    local = loss._gradient(parts, np.ones(np.shape(losses), dtype=losses.dtype))
    own = {f"parts.{name}": [getattr(parts, name)] for name in parts._fields}
    own["_losses(parts)"] = [losses]
    own["_gradient(parts, dl = 1)"] = list(local) if isinstance(local, tuple) else [local]
    own["loss_derivative(grad_output)"] = [loss.loss_derivative(g)]
    own["forward"] = [value]
    own["backward"] = list(grad) if isinstance(grad, tuple) else [grad]
    return own


@pytest.mark.parametrize("cls", LOSSES, ids=lambda c: c.__name__)
def test_every_number_in_a_trace_is_a_value_the_losss_code_produced(cls):
    """For every option combination and input kind of the gradcheck table, each numbered
    step of the trace is, exactly, a value the loss's own functions return: a field of
    its Parts (in their order), _losses, _gradient, the reduction's derivative, forward
    or backward. No step has another source, so none recomputes the math."""
    rng = np.random.default_rng(2)
    for options, drawn, kind, inputs in cases_for(cls, rng):
        g = _upstream(rng, _loss(cls, drawn), inputs)
        trace = explain(_loss(cls, drawn), *inputs, grad_output=g)
        own = _the_codes_own_values(cls, drawn, inputs, g)
        seen: dict = {}
        for step in trace.steps:
            where = f"{cls.__name__} {options} {kind}: step {step.number} {step.what!r}"
            assert step.source in own, where
            k = seen.get(step.source, 0)
            seen[step.source] = k + 1
            assert _same(step.value, own[step.source][k]), where
        fields = [s.source for s in trace.steps if s.source.startswith("parts.")]
        parts_order = [f for f in own if f.startswith("parts.") and f in fields]
        assert fields == parts_order, f"{cls.__name__}: the parts in the order of their fields"


@pytest.mark.parametrize("cls", LOSSES, ids=lambda c: c.__name__)
def test_trace_shows_the_formula_and_every_part_with_its_comment(cls):
    rng = np.random.default_rng(1)
    options, drawn, kind, inputs = next(iter(cases_for(cls, rng)))
    loss = _loss(cls, drawn)
    text = str(explain(loss, *inputs))
    assert text.startswith(repr(loss))
    comments = nl.explain.field_comments(cls.Parts)
    probe = _loss(cls, drawn)
    with nl.fast.path("reading"):
        probe.forward(*inputs)
    for name in cls.Parts._fields:
        assert comments.get(name), f"{cls.__name__}.Parts.{name} has no comment"
    shown = " ".join(text.split())
    for name, comment in comments.items():
        if getattr(probe._record, name) is not None:  # an option not given is left out
            assert " ".join(comment.split())[:30] in shown, (cls.__name__, name)


def test_the_multi_margin_trace_at_huge_equal_scores_is_consistent_step_to_step():
    """Scores of 1e16: margin - x_y + x_i rounds x_y away; (x_i - x_y) + margin does not.
    The trace's h_i and max(0, h_i) are the class's own, so they agree with each other."""
    trace = explain(nl.MultiMarginLoss(reduction="none"), [[1e16, 1e16]], [0])
    h, h_plus = trace.step("h:").value, trace.step("h_plus").value
    np.testing.assert_array_equal(h, [[0.0, 1.0]])
    np.testing.assert_array_equal(h_plus, np.maximum(h, 0))
    np.testing.assert_array_equal(trace.value, [0.5])  # (h_1+) / C


# -- the lesson's examples --------------------------------------------------------------
def test_cross_entropy_lesson_example_step_by_step():
    z = np.array([[2.0, 1.0, 0.1]])
    trace = explain(nl.CrossEntropyLoss(), z, [0])
    assert round(float(trace.value), 3) == 0.417  # the lesson, section 3.1.3
    assert trace.step("m = max").value == 2.0
    np.testing.assert_allclose(trace.step("exps").value, [[1.0, np.exp(-1), np.exp(-1.9)]])
    np.testing.assert_allclose(trace.step("rest").value, [[np.exp(-1) + np.exp(-1.9)]])
    np.testing.assert_allclose(trace.step("surprise").value, -nl.log_softmax(z), rtol=1e-15)
    np.testing.assert_allclose(trace.step("p:").value, nl.softmax(z, axis=1), rtol=1e-15)
    np.testing.assert_array_equal(trace.step("B:").value, [[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(trace.grad, nl.softmax(z, axis=1) - [[1, 0, 0]], atol=1e-15)
    text = str(trace)
    assert "l_n = sum_c B_c (-log p_c)" in text  # the docstring's formula
    assert "a p_k - B_k" in text  # the gradient's
    assert "0.41703" in text


def test_label_smoothing_shows_the_smoothed_target():
    """The lesson's 3.3.2: 4 classes, alpha = 0.1: [0.925, 0.025, 0.025, 0.025]."""
    trace = explain(nl.CrossEntropyLoss(label_smoothing=0.1), [[2.0, 1.0, 0.1, -1.0]], [0])
    B = trace.step("B:").value
    np.testing.assert_allclose(B, nl.smooth_labels(nl.one_hot([0], 4), 0.1), rtol=1e-15)
    assert trace.step("a = sum_c B_c").value == pytest.approx(1.0)
    assert "[[0.925, 0.025, 0.025, 0.025]]" in str(trace)


def test_bce_spam_models_a_b_c():
    trace = explain(nl.BCELoss(reduction="none"), [0.9, 0.55, 0.1], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(np.round(trace.value, 3), [0.105, 0.598, 2.303])
    np.testing.assert_allclose(trace.step("log_p").value, np.log([0.9, 0.55, 0.1]))


def test_hinge_three_zones():
    """Safe (margin - u < 0), too close and wrong: the hinge's h and where it is not flat."""
    trace = explain(nl.HingeLoss(reduction="none"), [2.0, 0.5, -1.0], [1, 1, 1])
    np.testing.assert_array_equal(trace.step("h:").value, [-1.0, 0.5, 2.0])
    np.testing.assert_array_equal(trace.step("inside").value, [False, True, True])
    np.testing.assert_array_equal(trace.value, [0.0, 0.5, 2.0])
    np.testing.assert_array_equal(trace.grad, [0.0, -1.0, -1.0])


def test_no_negative_zero_in_the_text():
    for loss, inputs in [
        (nl.SquaredHingeLoss(reduction="none"), ([2.0, -3.0], [1.0, -1.0])),
        (nl.KLDivLoss(reduction="sum"), (np.log([[0.5, 0.5]]), [[1.0, 0.0]])),
        (nl.HingeLoss(), ([2.0, 3.0], [1.0, 1.0])),
    ]:
        text = str(explain(loss, *inputs))
        assert not re.search(r"-0\.(?![0-9])", text), text


def test_large_arrays_are_summarised():
    z = np.random.default_rng(0).normal(size=(200, 50))
    y = np.arange(200) % 50
    trace = explain(nl.CrossEntropyLoss(), z, y)
    text = str(trace)
    assert "shape (200, 50), float64: min" in text
    assert len(text.splitlines()) < 120
    assert max(len(line) for line in text.splitlines()) <= 110


def test_float32_stays_float32():
    z = np.array([[2.0, 1.0, 0.1]], dtype=np.float32)
    trace = explain(nl.CrossEntropyLoss(), z, [0])
    assert trace.value.dtype == np.float32 and trace.grad.dtype == np.float32


# -- layers -------------------------------------------------------------------------------
def _model(kind: str, seed: int = 0):
    return {
        "Linear": lambda: Linear(3, 2, seed=seed),
        "Linear, no bias": lambda: Linear(3, 2, bias=False, seed=seed),
        "Sigmoid": Sigmoid,
        "Tanh": Tanh,
        "ReLU": ReLU,
        "Sequential": lambda: Sequential(
            Linear(3, 4, seed=seed), ReLU(), Linear(4, 2, seed=seed + 1), Tanh()
        ),
    }[kind]()


@pytest.mark.parametrize(
    "kind", ["Linear", "Linear, no bias", "Sigmoid", "Tanh", "ReLU", "Sequential"]
)
def test_layer_trace_equals_forward_and_backward(kind):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 3))
    x[0, 0] = 0.0  # ReLU's kink
    layer, fresh = _model(kind), _model(kind)
    y = fresh.forward(x)
    g = rng.normal(size=y.shape)
    trace = explain(layer, x, grad_output=g)
    assert _same(trace.value, y)
    assert _same(trace.grad, fresh.backward(g))
    assert set(trace.parameter_grads) == {name for name, _ in fresh.named_parameters()}
    for name, p in fresh.named_parameters():
        assert _same(trace.parameter_grads[name], p.grad), name
    for _, p in layer.named_parameters():  # explain leaves .grad as it was
        assert not p.grad.any()
    assert isinstance(trace, Trace) and "step by step" in str(trace)


def test_model_with_loss_trace():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(4, 3)), np.array([0, 1, 1, 0])
    model, fresh = _model("Sequential"), _model("Sequential")
    trace = explain(WithLoss(model, nl.CrossEntropyLoss()), X, y)
    reference = WithLoss(fresh, nl.CrossEntropyLoss())
    assert _same(trace.value, reference.forward(X, y))
    assert _same(trace.grad, reference.backward())
    for name, p in fresh.named_parameters():
        assert _same(trace.parameter_grads[name], p.grad), name


# -- the information functions (section 1) ---------------------------------------------
def test_information_functions():
    trace = explain(nl.surprise, [0.9, 0.9, 0.1])
    assert _same(trace.value, nl.surprise([0.9, 0.9, 0.1]))
    assert trace.grad is None
    total = trace.step("sum_i S_i").value
    assert total == pytest.approx(float(trace.step("surprise(prod").value), rel=1e-15)
    bits = explain(nl.surprise, [0.5], base=2)
    assert _same(bits.value, nl.surprise([0.5], base=2))
    kl = explain(nl.kl_divergence, [1.0, 0.0, 0.0], [0.7, 0.2, 0.1])
    assert _same(kl.value, nl.kl_divergence([1.0, 0.0, 0.0], [0.7, 0.2, 0.1]))
    assert round(float(kl.value), 3) == 0.357  # the lesson's dog, -ln 0.7
    h = explain(nl.entropy, [0.5, 0.5], base=2)
    assert _same(h.value, nl.entropy([0.5, 0.5], base=2))
    ce = explain(nl.cross_entropy, [1.0, 0.0, 0.0], [0.7, 0.2, 0.1])
    assert _same(ce.value, nl.cross_entropy([1.0, 0.0, 0.0], [0.7, 0.2, 0.1]))


# -- bad input ------------------------------------------------------------------------------
def test_bad_input_is_the_losss_own_error():
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: target: expected class indices"):
        explain(nl.CrossEntropyLoss(), [[2.0, 1.0, 0.1]], [5])
    with pytest.raises(TypeError, match=r"expected 2 inputs"):
        explain(nl.HingeLoss(), [1.0])
    with pytest.raises(TypeError, match=r"got the class HingeLoss itself"):
        explain(nl.HingeLoss, [1.0], [1.0])
    with pytest.raises(TypeError, match=r"keyword options \['base'\]"):
        explain(nl.HingeLoss(), [1.0], [1.0], base=2)
    with pytest.raises(TypeError, match=r"got str"):
        explain("hinge", [1.0], [1.0])


def test_a_mask_is_not_called_the_input_it_equals():
    """A part named as an input and equal to it is "the input"; a boolean part all True
    beside labels all 1 is a mask, printed with its numbers."""

    class Parts(NamedTuple):
        y: np.ndarray  # the labels
        free: np.ndarray  # a mask

    labels = np.array([1.0, 1.0, 1.0])
    w = _Writer()
    _parts_steps(w, Parts(labels, labels == 1), {"y": labels, "free": labels})
    (y_line,) = [x for x in w.lines if "the labels" in x]
    mask_at = next(i for i, x in enumerate(w.lines) if "a mask" in x)
    assert "the input y" in y_line
    assert "the input" not in w.lines[mask_at] and "True" in w.lines[mask_at + 1]


def test_a_recipe_naming_no_field_of_the_record_is_an_error():
    """A recipe that drifts from its record fails loudly instead of dropping a step."""
    record = Sigmoid.Parts(np.ones(2))
    with pytest.raises(AttributeError, match="no field 'diff'"):
        _field(record, "diff")
    np.testing.assert_array_equal(_field(record, "s"), np.ones(2))


def test_explain_takes_any_layer_sequential_accepts():
    """A student's object with forward and backward, alone or inside a Sequential."""

    class Double:
        def forward(self, x):
            return 2 * np.asarray(x)

        def backward(self, g):
            return 2 * np.asarray(g)

    x = np.array([[0.5, -1.0]])
    alone = explain(Double(), x)
    np.testing.assert_array_equal(alone.value, 2 * x)
    np.testing.assert_array_equal(alone.grad, [[2.0, 2.0]])
    model = Sequential(Linear(2, 2, seed=0), Double(), Sigmoid())
    trace = explain(model, x)
    fresh = Sequential(Linear(2, 2, seed=0), Double(), Sigmoid())
    y = fresh(x)
    np.testing.assert_array_equal(trace.value, y)
    np.testing.assert_array_equal(trace.grad, fresh.backward(np.ones_like(y)))


def test_a_losss_warning_is_given_once():
    """A likely mistake (softmax outputs given to CrossEntropyLoss) warns once, not per pass."""
    probabilities = [[0.7, 0.2, 0.1]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nl.CrossEntropyLoss()(probabilities, [0])
        direct = len(caught)
        caught.clear()
        explain(nl.CrossEntropyLoss(), probabilities, [0])
    assert direct >= 1
    assert len(caught) == direct


def test_the_modules_are_the_modules_and_still_callable():
    """`import numloss.explain` and `import numloss.gradcheck` give the modules they name
    (the package once rebound those names to functions); calling them calls the function."""
    import importlib
    import types

    for name in ("numloss.explain", "numloss.gradcheck"):
        module = importlib.import_module(name)
        assert isinstance(module, types.ModuleType) and getattr(nl, name.split(".")[1]) is module
    import numloss.explain as explain_module

    assert explain_module.RECIPES is nl.explain.RECIPES
    assert nl.explain(nl.MSELoss(), [1.0], [0.0]).value == 1.0
    assert nl.gradcheck(nl.MSELoss(), [1.0, 2.0], [0.0, 0.0])


def test_the_mean_step_says_what_its_denominator_is():
    """D is named for what it is: the number of elements, the batch size of batchmean, or
    the weight sum of the kept targets (from the field comment of the loss's Inputs)."""
    kl = explain(
        nl.KLDivLoss(reduction="batchmean"), np.log([[0.7, 0.2, 0.1]] * 2), [[1, 0, 0]] * 2
    )
    assert kl.step("L = sum_n l_n / D, D = 2: the batch size N")
    ce = explain(nl.CrossEntropyLoss(weight=[1.0, 2.0, 0.5]), [[2.0, 1.0, 0.1]], [1])
    assert ce.step("L = sum_n l_n / D, D = 2: sum_n w_{y_n} over samples not ignored")
    mse = explain(nl.MSELoss(), [1.0, 2.0], [0.0, 0.0])
    assert mse.step("L = sum_n l_n / D, D = 2: the number of elements")
