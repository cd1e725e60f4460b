"""numloss.fast: the one rule that picks a path, the switch that forces one, and the proof
that both paths give the same numbers for every loss, option, dtype and layout.

Tolerance: every loss but CrossEntropyLoss runs its reading path's own functions on
blocks of rows (`numloss.fast.executor`), or the same operations on one entry per row
(`numloss.fast.sparse`), so the two paths agree bit for bit.
CrossEntropyLoss's kernels compute the same formula with its sums taken in another
order (einsum's running sum along a row, against NumPy's pairwise sum) and its softmax
divided at another step (a / (1 + rest) times e^(z - m), against a times p): each
number may differ by a few units in the last place of the largest term it is made of,
so its check is `CE_ULPS` units of the dtype's epsilon, relative to that term.
"""

from __future__ import annotations

import inspect
import warnings
from typing import NamedTuple

import numpy as np
import pytest

import numloss as nl
from numloss import fast
from numloss.fast import sparse
from numloss.gradcheck.cases import build, cases_for
from numloss.gradcheck.suite import exported_losses

LOSSES = exported_losses()
CE_ULPS = 8


def test_set_path_takes_the_three_names_and_nothing_else():
    for name in ("reading", "fast", "auto"):
        fast.set_path(name)
        assert fast.get_path() == name
    with pytest.raises(ValueError, match="expected one of 'auto', 'reading', 'fast'"):
        fast.set_path("quick")
    assert fast.get_path() == "auto"  # the failed call changed nothing
    assert nl.set_path is fast.set_path and nl.get_path is fast.get_path


def test_the_context_manager_restores_the_path_even_after_an_error():
    with pytest.raises(RuntimeError), fast.path("fast"):
        assert fast.get_path() == "fast"
        raise RuntimeError
    assert fast.get_path() == "auto"


def _kernel_at(loss, z, y):
    """The kernel `loss` takes on (z, y): None for the reading path (whose record is its Parts)."""
    loss(z, y)
    assert isinstance(loss._record, type(loss).Parts) == (loss._last.kernel is None)
    return loss._last.kernel


def _rows_of(nbytes, columns=16):
    return nbytes // (8 * columns)


def test_the_rule_is_the_first_inputs_size():
    """Under READING_PATH_BYTES the reading path; from there a loss's sparse kernel up to
    its limit (FAST_PATH_BYTES for cross-entropy's and the margin's, none for NLL's); from
    FAST_PATH_BYTES the blocked kernel; else the reading path."""
    rng = np.random.default_rng(0)
    n = _rows_of(fast.FAST_PATH_BYTES)
    z, y = rng.normal(size=(n, 16)), np.zeros(n, dtype=np.int64)
    small = _rows_of(fast.READING_PATH_BYTES)
    ce = nl.CrossEntropyLoss()
    assert _kernel_at(ce, z[: small - 1], y[: small - 1]) is None  # the lesson's sizes
    assert _kernel_at(ce, z[:small], y[:small]) is sparse.CROSS_ENTROPY
    assert _kernel_at(ce, z[:-1], y[:-1]) is sparse.CROSS_ENTROPY
    assert _kernel_at(ce, z, y) is nl.CrossEntropyLoss._fast  # the blocked kernel
    nll = nl.NLLLoss()  # its sparse kernel has no upper limit
    assert _kernel_at(nll, nl.log_softmax(z, axis=1), y) is sparse.NLL
    mm = nl.MultiMarginLoss()
    assert _kernel_at(mm, z[:-1], y[:-1]) is sparse.MULTI_MARGIN
    assert _kernel_at(mm, z, y) is nl.MultiMarginLoss._fast
    bce, t = nl.BCEWithLogitsLoss(), np.zeros((n, 16))
    assert _kernel_at(bce, z[:-1], t[:-1]) is None  # no sparse kernel
    assert _kernel_at(bce, z, t) is nl.BCEWithLogitsLoss._fast
    with fast.path("reading"):
        assert _kernel_at(ce, z, y) is None
    with fast.path("fast"):
        assert _kernel_at(ce, z[:2], y[:2]) is sparse.CROSS_ENTROPY
        assert _kernel_at(bce, z[:2], t[:2]) is nl.BCEWithLogitsLoss._fast


def test_a_small_batch_kernel_takes_only_class_indices_on_rows():
    """Probability targets and (N, C, d) inputs between the two sizes take the reading path
    (CrossEntropyLoss's sparse kernel reads one entry per row of (N, C) logits)."""
    rng = np.random.default_rng(1)
    n = _rows_of(4 * fast.READING_PATH_BYTES)
    z = rng.normal(size=(n, 16))
    p = nl.softmax(rng.normal(size=(n, 16)), axis=1)
    assert _kernel_at(nl.CrossEntropyLoss(), z, p) is None
    z3, y3 = rng.normal(size=(n // 4, 16, 4)), rng.integers(0, 16, (n // 4, 4))
    assert _kernel_at(nl.CrossEntropyLoss(), z3, y3) is None
    assert _kernel_at(nl.NLLLoss(), nl.log_softmax(z, axis=1), p.argmax(1)) is sparse.NLL
    assert _kernel_at(nl.MultiMarginLoss(), z, p.argmax(1)) is sparse.MULTI_MARGIN


@pytest.mark.parametrize(
    "options",
    [{}, {"label_smoothing": 0.1}, {"ignore_index": 3}, {"reduction": "none"}, {"weight": "w"}],
    ids=str,
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_training_batch_takes_the_small_batch_kernel_with_the_reading_paths_numbers(
    options, dtype
):
    """(64, 10), as a training loop gives it: CrossEntropyLoss, NLLLoss and MultiMarginLoss
    take their sparse kernels, and give the reading path's value and gradients
    (bit for bit for NLL and the multi-margin loss, CE_ULPS for cross-entropy)."""
    rng = np.random.default_rng(2)
    z = (4 * rng.normal(size=(64, 10))).astype(dtype)
    y = rng.integers(0, 10, 64)
    y[::7] = 3  # some targets ignore_index=3 drops
    options = dict(options, weight=rng.uniform(0, 2, 10)) if "weight" in options else options
    for cls, x in [
        (nl.CrossEntropyLoss, z),
        (nl.NLLLoss, nl.log_softmax(z, axis=1)),
        (nl.MultiMarginLoss, z),
    ]:
        if set(options) - set(inspect.signature(cls).parameters):
            continue  # an option the loss does not have
        results = []
        for path in ("auto", "reading"):
            loss = cls(**options)
            with fast.path(path):
                value = loss(x, y)
                upstream = np.linspace(0.5, 1.5, np.size(value)).reshape(np.shape(value))
                kernel = loss._last.kernel
                results.append((value, loss.backward(upstream.astype(dtype)), kernel))
        (quick, quick_grad, kernel), (read, read_grad, _) = results
        assert kernel is cls._sparse
        for q, r in ((np.asarray(quick), np.asarray(read)), (quick_grad, read_grad)):
            assert q.dtype == r.dtype == dtype and q.shape == r.shape
            if cls is nl.CrossEntropyLoss:
                _close(q, r, dtype, f"{cls.__name__} {options}")
            else:
                np.testing.assert_array_equal(q, r)


@pytest.mark.parametrize("rows", [64, 2048])  # a training batch, and 160 KiB
def test_a_subclass_that_writes_its_own_math_runs_it_at_every_size(rows):
    """An exercise's answer subclasses the shipped loss and writes _gradient: neither
    cross-entropy's sparse kernel nor its blocked one may stand in for it."""

    class Doubled(nl.CrossEntropyLoss):
        def _gradient(self, parts, dl):
            return 2 * super()._gradient(parts, dl)

    class DoubledBCE(nl.BCEWithLogitsLoss):
        def _gradient(self, parts, dl):
            return 2 * super()._gradient(parts, dl)

    rng = np.random.default_rng(3)
    z, y = rng.normal(size=(rows, 10)), rng.integers(0, 10, rows)
    t = rng.uniform(size=(rows, 10))
    for mine, shipped, target in [
        (Doubled, nl.CrossEntropyLoss, y),
        (DoubledBCE, nl.BCEWithLogitsLoss, t),
    ]:
        loss, reference = mine(), shipped()
        value = loss(z, target)
        assert loss._last.kernel is None  # the reading path: the subclass's own _gradient
        with fast.path("reading"):
            assert value == reference(z, target)
            np.testing.assert_array_equal(loss.backward(), 2 * reference.backward())
    assert Doubled._sparse is None and Doubled._fast is None
    assert nl.SquaredHingeLoss._fast is fast.executor  # the executor runs the class's own


def _in(dtype, layout, value):
    """A float input in `dtype`, C- or Fortran-ordered; integer targets as they are."""
    a = np.asarray(value)
    if a.dtype.kind != "f":
        return a
    a = a.astype(dtype)
    return np.asfortranarray(a) if layout == "F" else np.ascontiguousarray(a)


def _run(cls, drawn, inputs, path):
    loss = build(cls, drawn)
    with fast.path(path):
        value = loss(*inputs)
        g = np.asarray(value)
        upstream = np.linspace(0.5, 1.5, g.size).reshape(g.shape).astype(g.dtype)
        grads = loss.backward(upstream)
        again = loss.backward(upstream)  # a second backward reads the same record
    grads = grads if isinstance(grads, tuple) else (grads,)
    again = again if isinstance(again, tuple) else (again,)
    return np.asarray(value), grads, again


def _cases(cls):
    rng = np.random.default_rng(7)
    for options, drawn, label, inputs in cases_for(cls, rng):
        for dtype in (np.float64, np.float32):
            for layout in ("C", "F"):
                where = f"{options} {label} {np.dtype(dtype).name} {layout}"
                yield where, drawn, tuple(_in(dtype, layout, v) for v in inputs)


def _close(fast_value, reading, dtype, where):
    if np.issubdtype(np.asarray(reading).dtype, np.floating):
        scale = max(1.0, float(np.max(np.abs(reading), initial=0)))
        tolerance = CE_ULPS * np.finfo(dtype).eps * scale
        np.testing.assert_allclose(fast_value, reading, rtol=0, atol=tolerance, err_msg=where)
    else:
        np.testing.assert_array_equal(fast_value, reading, err_msg=where)


KERNELS = [(cls, "blocked") for cls in LOSSES] + [
    (cls, "small batches") for cls in LOSSES if cls._sparse is not None
]


@pytest.mark.parametrize(("cls", "kernels"), KERNELS, ids=lambda c: getattr(c, "__name__", c))
def test_both_paths_give_the_same_numbers_for_every_gradcheck_case(cls, kernels, monkeypatch):
    """Every gradient-check case, in float64 and float32, C- and Fortran-ordered: the
    value, the gradient and a second backward's gradient of the two paths. The fast path
    takes a loss's sparse kernel where it has one for the inputs, or (FAST_PATH_BYTES
    set to 0) its blocked kernel."""
    if kernels == "blocked":
        monkeypatch.setattr(fast, "FAST_PATH_BYTES", 0)
        monkeypatch.setattr(cls, "_sparse", None)
    checked = 0
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cases' deliberate warnings
        for where, drawn, inputs in _cases(cls):
            read = _run(cls, drawn, inputs, "reading")
            quick = _run(cls, drawn, inputs, "fast")
            dtype = read[0].dtype
            assert quick[0].dtype == dtype and quick[0].shape == read[0].shape, where
            pairs = [(quick[0], read[0])] + list(
                zip(quick[1] + quick[2], read[1] + read[2], strict=True)
            )
            for q, r in pairs:
                assert q.dtype == r.dtype and q.shape == r.shape, where
                if cls is nl.CrossEntropyLoss:
                    _close(q, r, dtype, where)
                else:
                    np.testing.assert_array_equal(q, r, err_msg=where)
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize("cls", LOSSES, ids=lambda c: c.__name__)
def test_the_fast_path_on_many_blocks_is_the_reading_path(cls, monkeypatch):
    """The gradcheck inputs are one block; here every block is one row, so every row of
    the executor's output is written by a block of its own."""
    monkeypatch.setattr(fast.blocks, "MIN_BLOCK_BYTES", 1)
    monkeypatch.setattr(fast, "FAST_PATH_BYTES", 0)  # the blocked kernels, not the sparse ones
    monkeypatch.setattr(cls, "_sparse", None)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for where, drawn, inputs in _cases(cls):
            read, quick = _run(cls, drawn, inputs, "reading"), _run(cls, drawn, inputs, "fast")
            for q, r in zip((quick[0],) + quick[1], (read[0],) + read[1], strict=True):
                if cls is nl.CrossEntropyLoss:
                    _close(q, r, r.dtype, where)
                else:
                    np.testing.assert_array_equal(q, r, err_msg=where)


def test_the_executor_refuses_inputs_that_are_not_per_row():
    """A loss run by the executor whose Inputs hold a class weight (C,) where C = N would
    have it cut into rows and give a wrong answer quietly: it is an error instead."""

    class PerClass(nl.MSELoss):
        class Inputs(NamedTuple):
            x: np.ndarray  # the input
            y: np.ndarray  # the target
            w: np.ndarray  # a weight per column: (C,), not per row

        class Parts(NamedTuple):
            diff: np.ndarray  # w (x - y)

        def _inputs(self, input, target):
            x, y = np.asarray(input, float), np.asarray(target, float)
            return self.Inputs(x, y, np.ones(x.shape[1]))

        def _parts(self, inputs):
            return self.Parts(inputs.w * (inputs.x - inputs.y))

    z = np.zeros((4, 4))
    with fast.path("reading"):
        assert PerClass()(z, z) == 0
    with fast.path("fast"), pytest.raises(TypeError, match=r"Inputs\.w: the fast path cuts"):
        PerClass()(z, z)
