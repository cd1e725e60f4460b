"""numloss.fast: the one rule that picks a path, the switch that forces one, and the proof
that both paths give the same numbers for every loss, option, dtype and layout.

Tolerance: every loss but CrossEntropyLoss runs its reading path's own functions on
blocks of rows (`numloss.fast.executor`), so the two paths agree bit for bit.
CrossEntropyLoss's fast kernel computes the same formula with its sums taken in another
order (einsum's running sum along a row, against NumPy's pairwise sum) and its softmax
divided at another step (a / (1 + rest) times e^(z - m), against a times p): each
number may differ by a few units in the last place of the largest term it is made of,
so its check is `CE_ULPS` units of the dtype's epsilon, relative to that term.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import pytest

import numloss as nl
from numloss import fast
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


@pytest.mark.parametrize("cls", [nl.CrossEntropyLoss, nl.BCEWithLogitsLoss])
def test_the_rule_is_the_first_inputs_size(cls):
    """Below FAST_PATH_BYTES the loss keeps its Parts (the reading path); at it, its inputs
    or its kernel's record (the fast path)."""
    rows = fast.FAST_PATH_BYTES // (8 * 16)
    z = np.random.default_rng(0).normal(size=(rows, 16))
    y = np.zeros(rows, dtype=np.int64) if cls is nl.CrossEntropyLoss else np.zeros((rows, 16))
    loss = cls()
    loss(z[:-1], y[:-1])  # one row short of the threshold
    assert isinstance(loss._record, cls.Parts) and not loss._last.fast
    loss(z, y)
    assert not isinstance(loss._record, cls.Parts) and loss._last.fast
    with fast.path("reading"):
        loss(z, y)
        assert isinstance(loss._record, cls.Parts)
    with fast.path("fast"):
        loss(z[:2], y[:2])
        assert loss._last.fast


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


@pytest.mark.parametrize("cls", LOSSES, ids=lambda c: c.__name__)
def test_both_paths_give_the_same_numbers_for_every_gradcheck_case(cls):
    """Every gradient-check case, in float64 and float32, C- and Fortran-ordered: the
    value, the gradient and a second backward's gradient of the two paths."""
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
