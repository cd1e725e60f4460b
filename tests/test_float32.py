"""float32 is as accurate as float32 allows: every loss, every option, every magnitude.

The sweep computes each loss and its gradient in float32 and in float64 on the *same*
inputs (drawn in float64 and rounded to float32 once, weights and upstream gradients
too), at magnitudes from 1e-8 to 1e4, under every option combination of the loss's
gradcheck row. The float64 result stands for the truth (its own rounding is 2^29 times
smaller). An entry's error is measured against the size of the terms it is computed
from (`loss_inputs.MAKERS[...].scales`): for a loss written as a sum of non-negative
terms that is its own value, so the error is its relative error; for a difference such
as margin + d(a, p) - d(a, n) it is the sum of the magnitudes, which is all float32
arithmetic can promise. The tolerance is a few float32 roundings per term summed:

    |x32 - x64| <= ULPS * eps32 * L * max(scale, tiny32),     L = the number of elements,

eps32 = 2^-23 and tiny32 the smallest normal float32 (below it float32 has only
absolute precision). Where the float64 value is finite in float32, the float32 one
must be finite too: never an inf or a NaN that float64 does not have.

Print the worst error per loss with

    .venv/bin/python tests/test_float32.py
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
from loss_inputs import (
    MAGNITUDES,
    MAKERS,
    build,
    exported_losses,
    option_grid,
    textbook_denominator,
)

import numloss as nl

EPS32 = float(np.finfo(np.float32).eps)
TINY32 = float(np.finfo(np.float32).tiny)
MAX32 = float(np.finfo(np.float32).max)
ULPS = 4  # float32 roundings allowed per element summed
N, C = 4, 5  # the batch: N rows of C classes / features / elements
OFFSETS = (0.0, -90.0, 1e4)  # logits offset + scale * N(0, 1): -90 puts sigmoid at 1e-39


def _to32(a):
    return a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a


def _to64(a):
    return a.astype(np.float64) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a


def _run(loss, inputs, grad_output):
    value = loss(*inputs)
    grads = loss.backward(grad_output)
    return np.asarray(value), grads if isinstance(grads, tuple) else (grads,)


def compare(x32, x64, scale) -> tuple[float, bool]:
    """(worst error against the terms' scale, whether float32 stayed finite where it must)."""
    x32, x64 = np.asarray(x32, np.float64), np.asarray(x64, np.float64)
    representable = np.abs(x64) <= MAX32
    finite = bool(np.all(np.isfinite(x32[representable])))
    with np.errstate(invalid="ignore"):
        error = np.abs(x32 - x64) / np.maximum(np.broadcast_to(scale, x64.shape), TINY32)
    error = error[representable]
    return (float(np.nanmax(error, initial=0.0)) if finite else np.inf), finite


def one_case(cls, options, scale, offset, rng):
    """The errors of loss and gradient for one option combination at one magnitude."""
    maker = MAKERS[cls.__name__]
    drawn64 = tuple(_to64(_to32(a)) for a in maker.make(rng, N, C, scale, options, offset))
    loss, drawn = build(cls, options, rng, drawn64)
    for key, value in drawn.items():  # weights rounded to float32 too: the same numbers
        if isinstance(value, np.ndarray):
            drawn[key] = _to64(_to32(value))
            setattr(loss, key, drawn[key])
    reduction = options["reduction"]
    probe = np.asarray(loss(*drawn64))
    if reduction == "none":
        g64 = _to64(_to32(rng.uniform(0.5, 1.5, probe.shape) * rng.choice([-1, 1], probe.shape)))
    else:
        g64 = np.float64(np.float32(rng.uniform(0.5, 1.5)))
    v32, grads32 = _run(loss, tuple(_to32(a) for a in drawn64), _to32(np.asarray(g64)))
    v64, grads64 = _run(loss, drawn64, g64)
    assert v32.dtype == np.float32 and all(g.dtype == np.float32 for g in grads32)

    loss_scale, grad_scales = maker.scales(drawn64, drawn)
    if reduction == "none":
        dl = np.abs(g64)
    else:
        D = 1.0 if reduction == "sum" else textbook_denominator(cls.__name__, drawn, drawn64)
        loss_scale = np.sum(loss_scale) / (D or 1.0)
        dl = np.abs(g64) / (D or 1.0)
    if np.ndim(dl) and np.ndim(dl) < np.ndim(grads64[0]):
        dl = np.expand_dims(dl, 1)  # one upstream gradient per sample, over its classes
    loss_error, loss_finite = compare(v32, v64, loss_scale)
    grad_errors = [
        compare(g32, g64_, s * dl)
        for g32, g64_, s in zip(grads32, grads64, grad_scales, strict=True)
    ]
    grad_error = max(e for e, _ in grad_errors)
    finite = loss_finite and all(f for _, f in grad_errors)
    return loss_error, grad_error, finite


def sweep_grid(cls) -> list[dict]:
    """The gradcheck row's option grid, with one more value for every float option.

    0.3 times the first value: the row's values (1.0, 0.5, 0.25, 2.0) are exact binary
    fractions, which hide a rounding such as (margin - x_y) + x_i at large x_i.
    """
    grid = option_grid(cls)
    extra = []
    for name in grid[0]:
        values = {o[name] for o in grid if isinstance(o[name], float) and o[name]}
        for value in sorted(values)[:1]:
            extra += [{**o, name: 0.3 * value} for o in grid if o[name] == value]
    return grid + extra


def sweep(seed: int = 0):
    """Yield ``(loss name, options, (scale, offset), loss error, gradient error, finite)``."""
    rng = np.random.default_rng(seed)
    for cls in exported_losses():
        for options in sweep_grid(cls):
            for scale in MAGNITUDES:
                for offset in OFFSETS:
                    errors = one_case(cls, options, scale, offset, rng)
                    yield (cls.__name__, options, (scale, offset), *errors)


TOLERANCE = ULPS * EPS32 * N * C


@pytest.fixture(scope="module")
def results():
    return list(sweep())


@pytest.mark.parametrize("cls", exported_losses(), ids=lambda c: c.__name__)
def test_float32_is_within_a_few_roundings_of_float64(results, cls):
    rows = [r for r in results if r[0] == cls.__name__]
    assert len(rows) == len(sweep_grid(cls)) * len(MAGNITUDES) * len(OFFSETS)  # all of them
    assert len(sweep_grid(cls)) >= len(option_grid(cls))
    bad = [r for r in rows if not r[5] or r[3] > TOLERANCE or r[4] > TOLERANCE]
    assert not bad, "\n".join(map(str, bad[:5]))


def test_the_sweep_has_teeth():
    """A float32 gradient formed carelessly is caught: BCE's -y / p before dL/dl."""
    p = np.array([1e-40, 0.5], np.float32)
    y = np.array([1.0, 0.0], np.float32)
    dl = np.array([0.0, 1.0], np.float32)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        careless = (-y / p + (1 - y) / (1 - p)) * dl  # -y / p = -inf, times 0: nan
    assert np.isnan(careless[0])
    err, finite = compare(careless, np.array([0.0, 2.0]), np.array([1.0, 2.0]))
    assert not finite and err == np.inf
    loss = nl.BCELoss(reduction="none")
    loss(p, y)
    err, finite = compare(loss.backward(dl), np.array([0.0, 2.0]), np.array([1.0, 2.0]))
    assert finite and err == 0


def test_the_sweep_flags_a_difference_of_large_sums():
    """Cross-entropy's smoothing term written as C logsumexp(z) - sum_c z_c (the form the
    issue found) loses float32 at logits 1e4 + N(0, 1); the sweep's measure says so."""
    rng = np.random.default_rng(1)
    options = {"label_smoothing": 0.1, "weight": None, "ignore_index": -100}
    z64, y = MAKERS["CrossEntropyLoss"].make(rng, 4, 5, 1.0, {"ignore_index": 1}, 1e4)
    z, e, c = z64.astype(np.float32), 0.1, 5
    lse = nl.logsumexp(z, axis=1)
    z_y = np.take_along_axis(z, y[:, None], axis=1)[:, 0]
    careless = (1 - e) * (lse - z_y) + e / c * (c * lse - z.sum(axis=1))
    z64 = z.astype(np.float64)
    exact = nl.CrossEntropyLoss(label_smoothing=e, reduction="none")(z64, y)
    scale, _ = MAKERS["CrossEntropyLoss"].scales((z64, y), options)
    assert compare(careless, exact, scale)[0] > TOLERANCE
    stable = nl.CrossEntropyLoss(label_smoothing=e, reduction="none")(z, y)
    assert compare(stable, exact, scale)[0] <= TOLERANCE


def test_bce_gradient_at_tiny_float32_probabilities_is_finite():
    """The issue's case: p ~ 1e-40 (above the clamp) in float32, upstream gradient or weight 0."""
    p = np.array([1e-40, 3e-39, 0.5], np.float32)
    y = np.array([1.0, 1.0, 1.0], np.float32)
    loss = nl.BCELoss(reduction="none")
    loss(p, y)
    np.testing.assert_array_equal(loss.backward(np.zeros(3, np.float32)), [0.0, 0.0, 0.0])
    g = np.array([1e-35, 1e-30, 1.0], np.float32)
    expected = -g.astype(np.float64) / p.astype(np.float64)  # -y / p times dL/dl
    np.testing.assert_allclose(loss.backward(g), expected, rtol=4 * EPS32)
    weighted = nl.BCELoss(weight=[0.0, 1.0, 1.0], reduction="sum")
    weighted(p[1:2].repeat(3), y)
    assert np.all(np.isfinite(weighted.backward()))


def test_cross_entropy_smoothing_term_is_accurate_in_float32_at_large_logits():
    """The smoothing term is a sum of non-negative terms: no cancellation at logits ~ 1e4,
    spread widely or close together (where C logsumexp(z) - sum_c z_c loses 1e-4)."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 5, 6)
    for z in (1e4 * rng.normal(size=(6, 5)), 1e4 + rng.normal(size=(6, 5))):
        z = z.astype(np.float32)
        loss = nl.CrossEntropyLoss(label_smoothing=0.1, reduction="none")
        exact = loss(z.astype(np.float64), y)
        assert np.all(exact > 0)
        np.testing.assert_allclose(loss(z, y), exact, rtol=4 * 5 * EPS32)


def test_multi_margin_is_accurate_in_float32_at_large_scores():
    """Found by the sweep: margin - x_y + x_i rounded margin - x_y at the scores' size.

    At scores 1e4 + N(0, 1) and margin 0.3 that cost float32 a relative error of 2e-4;
    (x_i - x_y) + margin is exact but for one rounding.
    """
    rng = np.random.default_rng(0)
    x = (1e4 + rng.normal(size=(6, 5))).astype(np.float32)
    y = rng.integers(0, 5, 6)
    for p in (1, 2):
        loss = nl.MultiMarginLoss(p=p, margin=0.3, reduction="none")
        exact = loss(x.astype(np.float64), y)
        grad = loss.backward(np.ones(6))
        np.testing.assert_allclose(loss(x, y), exact, rtol=4 * 5 * EPS32)
        np.testing.assert_allclose(loss.backward(np.ones(6, np.float32)), grad, rtol=4 * 5 * EPS32)


def main() -> int:
    start = time.perf_counter()
    worst: dict[str, list] = {}
    cases = 0
    for name, options, scale, loss_err, grad_err, finite in sweep():
        cases += 1
        w = worst.setdefault(name, [0.0, None, 0.0, None, True])
        if loss_err > w[0]:
            w[0], w[1] = loss_err, (options, scale)
        if grad_err > w[2]:
            w[2], w[3] = grad_err, (options, scale)
        w[4] &= finite
    print(
        f"float32 against float64 on the same inputs: {cases} cases ({N}x{C} inputs, "
        f"magnitudes {MAGNITUDES[0]:g} to {MAGNITUDES[-1]:g}, every option); error relative "
        f"to the terms summed; tolerance {TOLERANCE:.1e} = {ULPS} x eps32 x {N * C}"
    )
    print(
        f"{'loss':<19} {'loss error':>10} {'eps32 x':>8} {'at (scale, offset)':<20}"
        f" {'grad error':>10} {'eps32 x':>8} {'at (scale, offset)':<20} finite"
    )
    for name, (le, l_at, ge, g_at, finite) in worst.items():
        l_at, g_at = (str(at[1]) if at else "-" for at in (l_at, g_at))
        print(
            f"{name:<19} {le:>10.2e} {le / EPS32:>8.2f} {l_at:<20} {ge:>10.2e} "
            f"{ge / EPS32:>8.2f} {g_at:<20} {'yes' if finite else 'NO'}"
        )
    print(f"({time.perf_counter() - start:.1f} s)")
    bad = [n for n, w in worst.items() if not w[4] or max(w[0], w[2]) > TOLERANCE]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
