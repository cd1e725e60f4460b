"""What a loss remembers between forward and backward, and what that means for its user.

The contract (numloss/base.py, "State"):

- A loss keeps the ``Record`` of its last successful ``forward`` and nothing else: no
  attribute appears or changes on it. ``backward`` may be called any number of times,
  with any upstream gradient; each call returns a fresh array of the caller's, which a
  later call never overwrites.
- A ``forward`` that raises clears the record, so ``backward`` then raises instead of
  returning the gradient of an older batch.
- The record holds references to the inputs, not copies (a copy would cost a pass over
  memory): change an input in place between forward and backward and the gradient
  changes with it. Call backward first, or pass a copy. The gradient returned never
  shares memory with an input.
- A forward replaces the record of the one before, so one instance serves one thread
  (or one loop) at a time; instances share nothing.
- A layer of numloss.train is the same, except that backward *adds* into its
  parameters' ``.grad`` (as in PyTorch): twice gives twice the parameter gradient and the
  same dL/dx.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import numloss as nl
from numloss import train
from numloss.gradcheck.cases import build, cases_for
from numloss.gradcheck.suite import exported_layers, exported_losses

LOSSES = exported_losses()


def ids(cls):
    return cls.__name__


def every_case(cls, seed=0):
    """(loss, inputs, kind) for every gradcheck case of `cls`."""
    rng = np.random.default_rng(seed)
    for _, drawn, kind, inputs in cases_for(cls, rng):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", nl.NumlossWarning)  # KLDivLoss's "mean"
            yield build(cls, drawn), inputs, kind


def as_tuple(g):
    return g if isinstance(g, tuple) else (g,)


def upstream(value, rng):
    shape = np.shape(value)
    return rng.uniform(0.5, 2.0, shape) if shape else float(rng.uniform(0.5, 2.0))


@pytest.mark.parametrize("cls", LOSSES, ids=ids)
def test_backward_any_number_of_times_and_no_call_overwrites_an_earlier_result(cls):
    rng = np.random.default_rng(1)
    for loss, inputs, kind in every_case(cls):
        value = loss(*inputs)
        g = upstream(value, rng)
        first = as_tuple(loss.backward())
        kept = [a.copy() for a in first]
        scaled = as_tuple(loss.backward(g))
        again = as_tuple(loss.backward())
        for a, b, c, k in zip(first, scaled, again, kept, strict=True):
            np.testing.assert_array_equal(a, k, err_msg=f"{kind}: overwritten by a later call")
            np.testing.assert_array_equal(c, k, err_msg=kind)
            expected = k * (g if np.ndim(g) == 0 else _per_row(g, k))
            np.testing.assert_allclose(b, expected, rtol=1e-12, atol=1e-300, err_msg=kind)
            assert a is not c and not np.shares_memory(a, c)


def _per_row(g, grad):
    """A per-element upstream gradient (N, ...) spread over a gradient's extra axes."""
    g = np.asarray(g)
    return g.reshape(g.shape[:1] + (1,) * (grad.ndim - g.ndim) + g.shape[1:])


@pytest.mark.parametrize("cls", LOSSES, ids=ids)
def test_forward_keeps_one_record_and_changes_nothing_else(cls):
    for loss, inputs, _ in every_case(cls):
        before = {k: v for k, v in vars(loss).items() if k not in ("_record", "_last")}
        loss(*inputs)  # small inputs: the reading path, whose record is the Parts
        assert type(loss._record) is cls.Parts  # the loss's own, named parts
        parts = loss._record
        values = [None if v is None else np.array(v, copy=True) for v in parts]
        loss.backward()
        after = {k: v for k, v in vars(loss).items() if k not in ("_record", "_last")}
        assert before.keys() == after.keys()
        for k in before:
            assert before[k] is after[k], f"{cls.__name__}.{k} changed in forward/backward"
        assert loss._record is parts  # backward reads the parts and changes nothing
        for name, v, kept in zip(parts._fields, parts, values, strict=True):
            assert (v is None) == (kept is None), name
            if v is not None:
                np.testing.assert_array_equal(v, kept, err_msg=f"{cls.__name__}: {name}")


@pytest.mark.parametrize("cls", LOSSES, ids=ids)
def test_a_failed_forward_clears_the_record_and_the_next_one_works(cls):
    loss, inputs, _ = next(every_case(cls))
    loss(*inputs)
    good = [a.copy() for a in as_tuple(loss.backward())]
    with pytest.raises((ValueError, TypeError)):
        loss(np.asarray(inputs[0]).astype(str), *inputs[1:])
    with pytest.raises(RuntimeError, match="the last one raised"):
        loss.backward()
    loss(*inputs)
    for a, b in zip(as_tuple(loss.backward()), good, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", LOSSES, ids=ids)
def test_the_gradient_never_shares_memory_with_an_input(cls):
    for loss, inputs, kind in every_case(cls):
        arrays = [np.array(a, copy=True) for a in inputs]
        loss(*arrays)
        grads = as_tuple(loss.backward())
        for g in grads:
            for a in arrays:
                assert not np.shares_memory(g, a), kind
        kept = [g.copy() for g in grads]
        for a in arrays:  # the caller reuses its buffers for the next batch
            if a.dtype.kind == "f" and a.flags.writeable:
                a[...] = 0
        for g, k in zip(grads, kept, strict=True):
            np.testing.assert_array_equal(g, k)


def test_changing_an_input_between_forward_and_backward_changes_the_gradient():
    """Documented, not prevented (that would cost a copy): the record holds the inputs."""
    p = np.array([0.2, 0.6, 0.9])
    y = np.array([1.0, 0.0, 1.0])
    loss = nl.BCELoss(reduction="sum")
    loss(p, y)
    safe = loss.backward()  # the safe order: backward before the inputs change
    p[...] = 0.5  # the caller reuses its buffer
    changed = loss.backward()
    np.testing.assert_allclose(safe, [-1 / 0.2, 1 / 0.4, -1 / 0.9])
    np.testing.assert_allclose(changed, [-2.0, 2.0, -2.0])  # the gradient at the new p
    # a copy keeps the gradient of the batch that was passed
    p = np.array([0.2, 0.6, 0.9])
    loss(p.copy(), y)
    p[...] = 0.5
    np.testing.assert_allclose(loss.backward(), safe)


def test_a_forward_replaces_the_record_so_one_instance_serves_one_thread():
    """Two batches through one instance: backward gives the second's gradient. Two
    instances interleaved: each gives its own."""
    a = (np.array([[2.0, 1.0, 0.1]]), np.array([0]))
    b = (np.array([[0.0, 3.0, -1.0]]), np.array([2]))
    shared = nl.CrossEntropyLoss()
    shared(*a)
    shared(*b)
    only_b = nl.CrossEntropyLoss()
    only_b(*b)
    np.testing.assert_array_equal(shared.backward(), only_b.backward())
    one, two = nl.CrossEntropyLoss(), nl.CrossEntropyLoss()
    one(*a)
    two(*b)
    reference = nl.CrossEntropyLoss()
    reference(*a)
    np.testing.assert_array_equal(one.backward(), reference.backward())
    np.testing.assert_array_equal(two.backward(), only_b.backward())


@pytest.mark.parametrize("cls", LOSSES, ids=ids)
def test_one_instance_per_thread_gives_each_thread_its_own_gradient(cls):
    cases = list(every_case(cls))[:8]
    own = [list(every_case(cls))[i % len(cases)][0] for i in range(8)]  # one per thread
    # (made here: warnings.catch_warnings, which building one uses, is not thread-safe)

    def work(i):
        _, inputs, _ = cases[i % len(cases)]
        results = []
        for _ in range(20):
            own[i](*inputs)
            results.append(as_tuple(own[i].backward()))
        return results

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(8)))
    for i, runs in enumerate(results):
        loss, inputs, _ = cases[i % len(cases)]
        loss(*inputs)
        expected = as_tuple(loss.backward())
        for run in runs:
            for a, b in zip(run, expected, strict=True):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", exported_layers(), ids=ids)
def test_a_layers_backward_twice_adds_its_parameter_gradients_twice(cls):
    rng = np.random.default_rng(0)
    _, drawn, _, inputs = next(cases_for(cls, rng))
    layer = build(cls, drawn)
    out = layer.forward(*inputs)
    g = None if isinstance(layer, train.WithLoss) else np.ones(np.shape(out))
    layer.zero_grad() if hasattr(layer, "zero_grad") else None
    first = layer.backward(g)
    once = [p.grad.copy() for p in getattr(layer, "parameters", list)()]
    second = layer.backward(g)
    np.testing.assert_array_equal(first, second)  # the same dL/dx
    for p, o in zip(getattr(layer, "parameters", list)(), once, strict=True):
        np.testing.assert_allclose(p.grad, 2 * o, rtol=1e-15)  # added, not assigned
