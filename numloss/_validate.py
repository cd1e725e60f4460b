"""Input checks shared by every loss: one place, one wording.

Every check raises `BadInputError` (a `ValueError`) or `BadTypeError` (a `TypeError`)
whose message names the argument, says what was expected and what came, and, for a bad
value, gives its position. `Loss.forward` prefixes the loss's name, so a student reads

    CrossEntropyLoss: target: expected class indices in [0, 3) or ignore_index=-100;
    got 7 at index (2,)

instead of an IndexError from deep inside NumPy.

The checks are cheap on good input: each first asks one question of the whole array
(its sum, its min and max) and only when the answer is wrong scans for the culprit.
None of them copies or modifies the caller's array.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "BadInputError",
    "BadTypeError",
    "as_float_array",
    "check_binary_labels",
    "check_choice",
    "check_class_indices",
    "check_finite",
    "check_in_range",
    "check_option",
    "check_same_shape",
    "same_shape_floats",
    "check_sign_labels",
    "check_weight",
    "as_weight",
    "position",
]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class BadInputError(ValueError):
    """A value, shape or option that the loss cannot accept."""


class BadTypeError(TypeError):
    """An array of a dtype the loss cannot accept."""


def position(flat_index: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The index tuple of `flat_index` in an array of `shape`, as plain ints."""
    return tuple(int(i) for i in np.unravel_index(int(flat_index), shape))


def _first_bad(name: str, arr: np.ndarray, bad: np.ndarray, expected: str, hint: str = ""):
    """Raise for the first True of `bad`, naming its value and position."""
    flat = int(np.flatnonzero(bad)[0])
    where = position(flat, arr.shape)
    value = arr.reshape(-1)[flat].item()
    raise BadInputError(f"{name}: expected {expected}; got {value!r} at index {where}{hint}")


def as_float_array(name: str, x, dtype: np.dtype | None = None) -> np.ndarray:
    """`x` as a float32 or float64 array, without copying one that already is.

    With `dtype=None` float32 and float64 arrays keep their dtype and lists, integers and
    booleans become float64. With a `dtype` (a loss passes its input's, so the target
    follows the input) the result has that dtype.
    """
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as err:  # a ragged list: NumPy's message names nothing
        raise BadInputError(
            f"{name}: expected a rectangular array of numbers; got {type(x).__name__} "
            f"that NumPy cannot make into one ({err})"
        ) from None
    if arr.dtype.kind not in "biuf":
        raise BadTypeError(f"{name}: expected a real-valued array; got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and arr.dtype not in FLOAT_DTYPES and dtype is None:
        raise BadTypeError(
            f"{name}: expected float32 or float64; got {arr.dtype} "
            f"(convert it with .astype(np.float32) or .astype(np.float64))"
        )
    if dtype is None:
        dtype = arr.dtype if arr.dtype in FLOAT_DTYPES else np.dtype(np.float64)
    return arr.astype(dtype, copy=False)


def check_finite(name: str, arr: np.ndarray) -> None:
    """Raise if `arr` holds a NaN or an infinity.

    The sum is NaN or infinite whenever an element is, so one pass with no temporary
    answers the question for good input; only then do we look for the culprit. (A sum
    can also overflow on finite input; then the scan finds nothing and we return.)
    """
    if arr.dtype.kind != "f":
        return
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(arr.sum()):
            return
    bad = ~np.isfinite(arr)
    if bad.any():
        _first_bad(name, arr, bad, "finite values")


def check_in_range(name: str, arr: np.ndarray, low: float, high: float, what: str) -> None:
    """Raise unless every element lies in [low, high] (NaN never does)."""
    if arr.size == 0:
        return
    low_ok, high_ok = arr.min() >= low, arr.max() <= high  # both False on NaN
    if low_ok and high_ok:
        return
    _first_bad(name, arr, ~((arr >= low) & (arr <= high)), f"{what} in [{low:g}, {high:g}]")


def check_same_shape(name: str, arr: np.ndarray, other_name: str, other: np.ndarray) -> None:
    """Raise unless `arr` has the shape of `other`."""
    if arr.shape != other.shape:
        raise BadInputError(
            f"{name}: expected the shape of {other_name}, {other.shape}; got {arr.shape}"
        )


def same_shape_floats(names: tuple[str, ...], *arrays) -> list[np.ndarray]:
    """The common first step of a loss: finite float arrays of one shape.

    The first array keeps its float dtype (lists and integers become float64); the
    others take its dtype, so the loss computes in the input's precision.
    """
    first = as_float_array(names[0], arrays[0])
    out = [first] + [
        as_float_array(n, a, dtype=first.dtype) for n, a in zip(names[1:], arrays[1:], strict=True)
    ]
    for name, arr in zip(names, out, strict=True):
        check_finite(name, arr)
        check_same_shape(name, arr, names[0], first)
    return out


def check_sign_labels(name: str, y: np.ndarray) -> None:
    """Raise unless every label is -1 or +1, with a hint for 0/1 labels."""
    bad = (y != 1) & (y != -1)
    if not bad.any():
        return
    hint = ""
    if np.all((y == 0) | (y == 1)):
        hint = " (these look like 0/1 labels: convert them with 2*y - 1)"
    _first_bad(name, y, bad, "labels -1 or +1", hint)


def check_binary_labels(name: str, y: np.ndarray) -> None:
    """Raise unless every label is 0 or 1, with a hint for -1/+1 labels."""
    bad = (y != 0) & (y != 1)
    if not bad.any():
        return
    hint = ""
    if np.all((y == -1) | (y == 1)):
        hint = " (these look like -1/+1 labels: convert them with (y + 1) / 2)"
    _first_bad(name, y, bad, "labels 0 or 1", hint)


def check_class_indices(
    name: str, y, num_classes: int, ignore_index: int | None = None
) -> np.ndarray:
    """`y` as an integer array of class indices in [0, num_classes) or `ignore_index`."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise BadTypeError(
            f"{name}: expected integer class indices; got dtype {y.dtype}"
            + (" (probability targets must have the input's shape)" if y.dtype.kind == "f" else "")
        )
    if y.size == 0 or (y.min() >= 0 and y.max() < num_classes):
        return y
    bad = (y < 0) | (y >= num_classes)
    if ignore_index is not None:
        bad &= y != ignore_index
    if bad.any():
        allowed = f"class indices in [0, {num_classes})"
        if ignore_index is not None:
            allowed += f" or ignore_index={ignore_index}"
        _first_bad(name, y, bad, allowed)
    return y


def check_weight(
    name: str, weight: np.ndarray, shape: tuple[int, ...], dtype: np.dtype, what: str
) -> np.ndarray:
    """A weight cast to `dtype`, checked to broadcast to `shape` without changing it.

    `what` says what the weight's shape should be ("of length C = 3", "broadcastable
    to the input's shape (4, 3)").
    """
    try:
        fits = np.broadcast_shapes(weight.shape, shape) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise BadInputError(f"{name}: expected a weight {what}; got shape {weight.shape}")
    return weight.astype(dtype, copy=False)


def as_weight(name: str, weight) -> np.ndarray | None:
    """A user's weight as a finite, non-negative float64 array (None stays None)."""
    if weight is None:
        return None
    w = as_float_array(name, weight).astype(np.float64, copy=False)
    check_finite(name, w)
    if w.size and w.min() < 0:
        _first_bad(name, w, w < 0, "non-negative weights")
    return w


def _same_kind(value, allowed) -> bool:
    """Is `value` of the kind of `allowed`? NumPy scalars count as Python's."""
    if isinstance(allowed, (bool, np.bool_)):
        return isinstance(value, (bool, np.bool_))
    if isinstance(allowed, numbers.Real):  # 2, 2.0 and np.int64(2) all mean 2
        return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    return isinstance(value, type(allowed)) or value is allowed


def check_choice(name: str, value, allowed: tuple) -> object:
    """`value` as the member of `allowed` it equals (of the same kind), else raise."""
    for a in allowed:
        if _same_kind(value, a) and value == a:
            return a
    raise BadInputError(f"{name}: expected one of {', '.join(map(repr, allowed))}; got {value!r}")


def check_option(name: str, value, low: float | None = None, high: float | None = None) -> float:
    """A real, finite scalar option, optionally within [low, high], as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BadTypeError(f"{name}: expected a real number; got {value!r}")
    value = float(value)
    if (
        not np.isfinite(value)
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise BadInputError(f"{name}: expected a finite number in [{lo}, {hi}]; got {value!r}")
    return value
