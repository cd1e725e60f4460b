"""What the losses over C classes share: class-index targets, class weights, batching.

Classes lie on dimension 1 of a batch, as in PyTorch: input (N, C) or (N, C, d1, ...)
(one prediction per pixel, say), and one unbatched sample is (C,). A class-index target
has the input's shape without dimension 1. CrossEntropyLoss, NLLLoss and
MultiMarginLoss use these helpers; each is one step a loss over classes takes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import as_float_array, as_weight, check_class_indices, check_finite, check_weight

__all__ = [
    "IndexTargets",
    "along_classes",
    "as_class_weight",
    "batched",
    "class_weight",
    "index_targets",
    "over_classes",
    "unbatched",
]


def batched(name: str, input, finite: bool = True) -> tuple[np.ndarray, bool]:
    """The input as a float array with classes on dimension 1; (C,) becomes (1, C).

    Returns the array and whether it was a single unbatched sample. With `finite` the
    input is checked for NaN and infinities here; a loss that sums every entry anyway
    passes False and checks that sum instead (`check_finite_by`), saving a pass.
    """
    z = as_float_array(name, input)
    if finite:
        check_finite(name, z)
    if z.ndim == 0 or z.shape[0 if z.ndim == 1 else 1] == 0:
        raise ValueError(
            f"{name}: expected shape (C,), (N, C) or (N, C, d1, ...) with C >= 1; got {z.shape}"
        )
    return (z[None], True) if z.ndim == 1 else (z, False)


def unbatched(array: np.ndarray, was_unbatched: bool) -> np.ndarray:
    """Undo `batched`: drop the batch dimension a single sample was given."""
    return array[0] if was_unbatched else array


def over_classes(v):
    """A per-sample array (N, d1, ...) broadcast over the classes: (N, 1, d1, ...).

    A scalar stays a scalar. Used to push dL/dl_n into every class's gradient.
    """
    return v if np.ndim(v) == 0 else v[:, None]


def along_classes(w: np.ndarray, ndim: int) -> np.ndarray:
    """A per-class vector (C,) shaped (1, C, 1, ...) to broadcast along dimension 1."""
    return w.reshape((1, -1) + (1,) * (ndim - 2))


def class_weight(weight, z: np.ndarray) -> np.ndarray | None:
    """A loss's per-class weight (or None), checked to have length C and cast to z's dtype."""
    if weight is None:
        return None
    C = z.shape[1]
    return check_weight("weight", weight, (C,), z.dtype, f"of length C = {C} (one per class)")


def as_class_weight(weight) -> np.ndarray | None:
    """A constructor's ``weight``: None, or a 1-D array of non-negative numbers."""
    w = as_weight("weight", weight)
    if w is not None and w.ndim != 1:
        raise ValueError(f"weight: expected a 1-D weight, one per class; got shape {w.shape}")
    return w


class IndexTargets(NamedTuple):
    """Class-index targets lined up with z: every field is shaped (N, 1, d1, ...)."""

    y: np.ndarray  # the class index; 0 where ignored (a safe place to look)
    kept: np.ndarray  # 1 where the target counts, 0 where it equals ignore_index
    w_y: np.ndarray  # the target class's weight times kept (ignored samples weigh 0)
    denominator: float  # the weighted mean's D = sum_n w_{y_n} over kept samples


def index_targets(target, z: np.ndarray, w, ignore_index: int | None) -> IndexTargets:
    """Check integer targets against z's classes and line them up with z."""
    C = z.shape[1]
    expected = z.shape[:1] + z.shape[2:]
    y = np.asarray(target)
    if y.dtype.kind in "iu" and y.shape != expected:
        raise ValueError(
            f"target: expected class indices of shape {expected} (the input's shape "
            f"without its class dimension {C}); got {y.shape}"
        )
    y = check_class_indices("target", y, C, ignore_index)
    counts = y != ignore_index if ignore_index is not None else np.ones(y.shape, bool)
    y = (y * counts)[:, None]  # an ignored target's index becomes 0
    kept = counts.astype(z.dtype)[:, None]
    if w is None:  # D = the number of targets that count
        return IndexTargets(y, kept, kept, z.dtype.type(np.count_nonzero(counts)))
    w_y = w[y] * kept
    return IndexTargets(y, kept, w_y, w_y.sum())
