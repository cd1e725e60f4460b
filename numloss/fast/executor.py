"""The fast path of every loss without a kernel of its own: its reading path, in blocks.

A loss's reading path computes its parts from whole arrays. Every part of a row depends
only on that row's inputs (the losses are element-wise or row-wise), so the same
functions give the same numbers on a block of rows at a time. This executor does just
that, so the math is written once, in the loss:

    forward:   for each block of rows:  l[block]    = _losses(_parts(inputs[block]))
    backward:  for each block of rows:  grad[block] = _gradient(_parts(inputs[block]), dl[block])

The record kept between them is the inputs, not the parts: the parts are made again in
backward, a block at a time, so the only arrays of the input's size that forward and
backward make are the losses and the gradient (the parts of a block stay in the cache,
and the peak memory stays near the input's size). Blocks run on threads if
``set_num_threads`` says so (`numloss.fast.blocks`); a row's result does not depend on
the block it falls in, so the numbers are those of the reading path, bit for bit.

What it asks of a loss's ``Inputs``: every array in it has the batch's rows on its first
dimension (a weight that broadcasts is given as a broadcast view of the input's shape, a
class weight as the weight of each sample's class); anything else (a flag, the mean's
denominator, None) is passed to every block as it is.
"""

from __future__ import annotations

import numpy as np

from .blocks import for_blocks

__all__ = ["backward", "forward"]


def forward(loss, inputs):
    """(losses, record): the loss's ``_losses(_parts(...))`` a block of rows at a time."""
    n = _rows(inputs)
    _check_per_row(inputs, n)

    def losses_of(rows):
        return loss._losses(loss._parts(_cut(inputs, rows, n)))

    out = _like(losses_of(slice(0, 1)), n)  # one row tells the losses' shape and dtype
    for_blocks(lambda rows: _store(out, rows, losses_of(rows)), n, _row_bytes(loss, inputs))
    return out, inputs


def backward(loss, inputs, dl):
    """The gradient: the loss's ``_gradient(_parts(...), dl)`` a block of rows at a time."""
    n = _rows(inputs)

    def gradient_of(rows):
        return loss._gradient(loss._parts(_cut(inputs, rows, n)), _cut_one(dl, rows, n))

    first = gradient_of(slice(0, 1))  # one row tells the gradients' shapes and dtypes
    out = tuple(_like(g, n) for g in first) if isinstance(first, tuple) else _like(first, n)
    for_blocks(lambda rows: _store(out, rows, gradient_of(rows)), n, _row_bytes(loss, inputs))
    return out


def _rows(inputs) -> int:
    """N, the number of rows: the first input's first dimension (1 for a scalar)."""
    first = inputs[0]
    return first.shape[0] if first.ndim else 1


def _check_per_row(inputs, n: int) -> None:
    """Every array of the inputs must have the first input's dimensions and its n rows:
    the executor cuts each into blocks of rows (a class weight of shape (C,) is not per
    row: give the weight of each sample's class, or a broadcast view of the input's shape)."""
    first = inputs[0]
    for name, value in zip(inputs._fields, inputs, strict=True):
        if isinstance(value, np.ndarray) and value.ndim and value is not first:
            if value.ndim != first.ndim or value.shape[0] != n:
                raise TypeError(
                    f"{type(inputs).__qualname__}.{name}: the fast path cuts every array of "
                    f"the inputs into rows; this one has shape {value.shape} where the first "
                    f"input has {first.shape} (make it per row, or give the loss a kernel)"
                )


def _row_bytes(loss, inputs) -> int:
    """The bytes of one row of the differentiable inputs: what sets the block's size."""
    first = inputs[0]
    return max(1, first[:1].nbytes if first.ndim else first.nbytes) * len(loss.differentiable)


def _cut_one(value, rows: slice, n: int):
    """A block of rows of one array with n rows; anything else as it is."""
    if isinstance(value, np.ndarray) and value.ndim and value.shape[0] == n:
        return value[rows]
    return value


def _cut(inputs, rows: slice, n: int):
    """The inputs' block of rows: each array's rows cut, the other fields as they are."""
    return type(inputs)(*(_cut_one(v, rows, n) for v in inputs))


def _like(block: np.ndarray, n: int) -> np.ndarray:
    """An empty array of n rows shaped and typed like a block's result."""
    return np.empty((n,) + block.shape[1:], dtype=block.dtype) if block.ndim else block.copy()


def _store(out, rows: slice, result) -> None:
    """Write a block's result (an array, or a tuple of arrays) into its rows of `out`."""
    if isinstance(out, tuple):
        for o, r in zip(out, result, strict=True):
            _store(o, rows, r)
    elif out.ndim:
        out[rows] = result
    else:
        out[()] = result
