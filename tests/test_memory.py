"""Peak memory: forward + backward of every exported loss, its returned gradient included,
stays within 1.5 times the bytes of its differentiable inputs (issue 10).

Every option combination of a loss's gradient-check row (`numloss.gradcheck.cases`), with
reductions "mean" and "sum", on each of its random input kinds, scaled up, in float64 and
in float32. Scaled up: a loss over rows (classes, embeddings: its per-sample output is
smaller than its input) gets `WIDTH` columns, the bench's every-loss shape, by repeating
its columns (a probability target gets zeros, so it still sums to 1); then every loss's
rows are repeated until its differentiable inputs hold `INPUT_BYTES`. (At the cases' 3 to
5 classes the few numbers a loss keeps per sample, such as the row's maximum and its
index, would weigh as much as a row itself.)
Peaks are traced by `tracemalloc`, which sees NumPy's buffers: what forward keeps for
backward, the losses, the gradient and every temporary. The gradient alone is 1.0 times
the inputs, so 1.5 leaves half an input for the rest: a loss that keeps one more array
of the input's size (a mask in float32, a second buffer) fails.

Left out: the extreme input kinds (the same shapes as the random ones, other values) and
the unbatched kinds, one (C,) or (D,) sample, whose only dimension is not a batch that
could be scaled. A block of rows is cut at most at 1 MB (256 KB for element-wise
formulas; `numloss._blocks`), so at `INPUT_BYTES` = 8 MB a block's temporaries are a
small part of the peak and the bound is about the arrays of the input's size.
Nothing here is timed.
"""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest

from numloss.fast import blocks as _blocks
from numloss.gradcheck.cases import Sampled, cases_for
from numloss.gradcheck.suite import exported_losses

LIMIT = 1.5
INPUT_BYTES = 8 << 20
WIDTH = 64
REDUCTIONS = ("mean", "sum")


def memory_cases(cls, dtype):
    """(options, where, inputs): the random input kinds, scaled up, cast to `dtype`."""
    rng = np.random.default_rng(0)
    for options, drawn, label, inputs in cases_for(cls, rng):
        if options["reduction"] not in REDUCTIONS or not label.startswith("random"):
            continue
        if label.endswith(("(C,)", "(D,)")):  # one unbatched sample: nothing to scale
            continue
        inputs = scaled(cls, widened(cls, drawn, inputs), dtype)
        drawn = {
            k: v.draw(rng, inputs) if isinstance(v, Sampled) else v for k, v in options.items()
        }
        yield drawn, f"{options} {label}", inputs  # (the options as the table lists them)


def widened(cls, options: dict, inputs: tuple) -> tuple:
    """A loss over rows with WIDTH columns: the differentiable inputs' columns repeated, a
    target of their shape padded with zeros; other inputs (class indices) as they are."""
    inputs = tuple(np.asarray(a) for a in inputs)
    first = inputs[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        per_sample = np.shape(cls(**{**options, "reduction": "none"})(*inputs))
    if per_sample == first.shape or first.ndim < 2:
        return inputs  # element-wise: the shape does not matter
    repeats = -(-WIDTH // first.shape[1])
    out = []
    for name, a in zip(cls.inputs, inputs, strict=True):
        if a.shape != first.shape:
            out.append(a)
        elif name in cls.differentiable:
            out.append(np.repeat(a, repeats, axis=1))
        else:  # probabilities: the new columns are impossible classes
            pad = [(0, 0)] * a.ndim
            pad[1] = (0, (repeats - 1) * a.shape[1])
            out.append(np.pad(a, pad))
    return tuple(out)


def scaled(cls, inputs: tuple, dtype) -> tuple:
    """The inputs with every row repeated until the differentiable ones hold INPUT_BYTES.

    Float arrays are cast to `dtype` (targets included, as a float32 model gives them);
    class indices stay integers. Repeating rows keeps every target valid.
    """
    inputs = tuple(np.asarray(a) for a in inputs)
    size = sum(inputs[cls.inputs.index(d)].size for d in cls.differentiable)
    repeats = -(-INPUT_BYTES // (size * np.dtype(dtype).itemsize))  # ceiling division
    return tuple(
        np.repeat(a, repeats, axis=0).astype(dtype if a.dtype.kind == "f" else a.dtype)
        for a in inputs
    )


def peak_ratio(cls, options: dict, inputs: tuple) -> float:
    """Peak traced bytes of building the loss, forward and backward, over the input bytes."""
    size = sum(inputs[cls.inputs.index(d)].nbytes for d in cls.differentiable)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # KLDivLoss's "mean" warns, as it should
        tracemalloc.start()
        try:
            loss = cls(**options)
            loss(*inputs)
            grad = loss.backward()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    grads = grad if isinstance(grad, tuple) else (grad,)
    assert sum(g.nbytes for g in grads) == size  # the gradient is in the peak, whole
    return peak / size


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("cls", exported_losses(), ids=lambda c: c.__name__)
def test_peak_memory_is_at_most_one_and_a_half_inputs(cls, dtype):
    worst, where, count = 0.0, "", 0
    for options, label, inputs in memory_cases(cls, dtype):
        ratio = peak_ratio(cls, options, inputs)
        if ratio > worst:
            worst, where = ratio, label
        count += 1
    assert count > 0, f"no batched random inputs for {cls.__name__}"
    assert worst <= LIMIT, f"{cls.__name__}: peak {worst:.2f}x the inputs at {where}"


def test_the_measure_sees_an_extra_array():
    """The check is not vacuous: a loss that keeps a copy of its input for backward is
    caught (tracemalloc traces NumPy's buffers)."""
    import numloss as nl

    class Hoarding(nl.MSELoss):
        def _inputs(self, input, target):
            self._copy = np.array(input, copy=True)  # one more array of the input's size
            return super()._inputs(input, target)

    x, y = (np.random.default_rng(0).normal(size=(1 << 20,)) for _ in range(2))
    assert peak_ratio(nl.MSELoss, {}, (x, y)) <= LIMIT
    assert peak_ratio(Hoarding, {}, (x, y)) > LIMIT


@pytest.mark.parametrize("cls", exported_losses(), ids=lambda c: c.__name__)
def test_peak_memory_on_two_threads_is_within_the_same_bound(cls, monkeypatch):
    """Blocks in flight on two threads share the one-thread budget for temporaries: the
    first and the richest option combination, float32, every input on the threads."""
    monkeypatch.setattr(_blocks, "THREADS_MIN_BYTES", 0)
    monkeypatch.setattr(_blocks, "THREADS_MIN_ROW_BYTES", 0)
    cases = list(memory_cases(cls, np.float32))
    _blocks.set_num_threads(2)
    try:
        ratios = [(peak_ratio(cls, o, i), w) for o, w, i in (cases[0], cases[-1])]
    finally:
        _blocks.set_num_threads(1)
    worst, where = max(ratios)
    assert worst <= LIMIT, f"{cls.__name__} on two threads: peak {worst:.2f}x at {where}"
