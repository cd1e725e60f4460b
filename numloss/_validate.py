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

Mistakes
--------
Some inputs are impossible for a loss, and the error says what was probably passed and
what to do instead (log-probabilities above 0: "pass log_softmax(z)"; probabilities
outside [0, 1] for BCELoss: "use BCEWithLogitsLoss, or apply sigmoid"; integer one-hot
rows: "one-hot targets must be floats"). Others are possible but almost certainly a
mistake (softmax applied before CrossEntropyLoss, probabilities given to
BCEWithLogitsLoss, probability targets whose rows do not sum to 1): these raise a
`NumlossWarning`, attributed to the caller's line outside numloss, so Python shows it
once per line of the caller's code and it can be silenced the standard way:

    warnings.filterwarnings("ignore", category=numloss.NumlossWarning)

Right use never triggers one: every guard tests a condition that real logits,
log-probabilities and targets do not meet.
"""

from __future__ import annotations

import numbers
import sys
import warnings
from pathlib import Path

import numpy as np

__all__ = [
    "BadInputError",
    "BadTypeError",
    "NumlossWarning",
    "as_index_array",
    "as_intp",
    "check_log_probabilities",
    "check_not_one_hot",
    "check_probabilities",
    "check_soft_labels",
    "warn",
    "warn_if_not_distributions",
    "warn_if_probabilities_for_logits",
    "warn_if_softmax_applied",
    "as_float_array",
    "check_binary_labels",
    "check_choice",
    "check_class_indices",
    "check_finite",
    "check_finite_by",
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


# The three classes are exported as numloss.BadInputError, ...: their __module__ says so,
# so a traceback's last line reads "numloss.BadInputError: ...", a name the user can catch.
class BadInputError(ValueError):
    """A value, shape or option that the loss cannot accept."""

    __module__ = "numloss"


class BadTypeError(TypeError):
    """An array of a dtype the loss cannot accept."""

    __module__ = "numloss"


class NumlossWarning(UserWarning):
    """Input that a loss accepts but that is almost certainly a mistake.

    Silence it with ``warnings.filterwarnings("ignore", category=numloss.NumlossWarning)``
    or ``python -W ignore::numloss.NumlossWarning``.
    """

    __module__ = "numloss"


_PACKAGE = str(Path(__file__).resolve().parent) + "/"  # numloss/, with its separator


def warn(message: str) -> None:
    """Warn with `NumlossWarning`, attributed to the first caller outside numloss.

    The stack level is counted, not fixed: a loss called by the user, by `numloss.train.fit`
    or by `numloss.gradcheck` reports the user's line, so Python's default filter shows the
    warning once per line of the user's code.
    """
    level, frame = 1, sys._getframe(0)  # stacklevel=1 names this function's own line
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, NumlossWarning, stacklevel=level)


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
    """`x` as a C-ordered float32 or float64 array, without copying one that already is.

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
    # in C order (a copy only of another layout): a row's sums are then taken in one order,
    # whichever path and block computes them
    return arr.astype(dtype, order="C", copy=False)


FINITE_BY_MASK_SIZE = 1 << 16
"""Arrays of at most this many elements are checked by ``np.isfinite(arr).all()``: a mask of
at most 64 KB, which stays in the cache, and no ``np.errstate`` to enter (a few
microseconds, the price of the whole check on a batch of 64); larger ones by their sum."""


def check_finite(name: str, arr: np.ndarray) -> None:
    """Raise if `arr` holds a NaN or an infinity.

    The sum is NaN or infinite whenever an element is, so one pass with no temporary
    answers the question for good input; only then do we look for the culprit. (A sum
    can also overflow on finite input; then the scan finds nothing and we return.) A
    small array (`FINITE_BY_MASK_SIZE`) is asked directly, without the overflow warnings
    of a sum to silence.
    """
    if arr.dtype.kind != "f":
        return
    if arr.size <= FINITE_BY_MASK_SIZE:
        if np.isfinite(arr).all():
            return
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(arr.sum()):
                return
    bad = ~np.isfinite(arr)
    if bad.any():
        _first_bad(name, arr, bad, "finite values")


def check_finite_by(name: str, arr: np.ndarray, computed: np.ndarray) -> None:
    """Raise if `arr` holds a NaN or an infinity, judged first from `computed`: numbers
    the loss made anyway, from every element of `arr`, such that one of them is NaN or
    infinite whenever an element is (a sum over each row, say). Only then is `arr`
    scanned, by `check_finite`, for the culprit."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(computed.sum()):
            return
    check_finite(name, arr)


def check_in_range(
    name: str, arr: np.ndarray, low: float, high: float, what: str, hint: str = ""
) -> None:
    """Raise unless every element lies in [low, high] (NaN never does)."""
    if arr.size == 0:
        return
    low_ok, high_ok = arr.min() >= low, arr.max() <= high  # both False on NaN
    if low_ok and high_ok:
        return
    bad = ~((arr >= low) & (arr <= high))
    _first_bad(name, arr, bad, f"{what} in [{low:g}, {high:g}]", hint)


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
    y = as_intp(name, y)  # every integer dtype alike, from here on
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


# -- mistakes: impossible inputs (errors with the fix) and likely ones (warnings) --------------
LOG_PROB_SLACK = 1e-3
"""How far above 0 a log-probability may lie before it is an error.

A log-probability is <= 0. Values a hair above 0 come from rounding elsewhere and from
the finite-difference steps of `numloss.gradcheck` (2.4e-4) around a log-probability of
0; the mistakes the check is for, logits and probabilities, reach far higher."""

ROWS_TOLERANCE = float(np.sqrt(np.finfo(np.float32).eps))
"""How far from 1 a row of probabilities may sum before it is taken for a mistake: the
square root of float32's epsilon (3.5e-4), plus C float32 roundings for C classes, so
that targets made in float32 (say by a framework) and cast to float64 pass."""


def _rows_tolerance(num_classes: int) -> float:
    """`ROWS_TOLERANCE` plus one float32 rounding per class summed."""
    return ROWS_TOLERANCE + num_classes * float(np.finfo(np.float32).eps)


PROBABILITIES_FOR_LOGITS_MIN_SIZE = 16
"""BCEWithLogitsLoss warns about an input that lies in [0, 1] only from this many
elements on: a few logits can all lie in [0, 1] by chance, 16 of them hardly ever."""


def _looks_like_probabilities(x: np.ndarray) -> bool:
    return bool(x.size and x.min() >= 0 and x.max() <= 1)


def check_log_probabilities(name: str, x: np.ndarray, loss: str, symbol: str = "p") -> None:
    """Raise if `x` holds a value above 0 (beyond `LOG_PROB_SLACK`): not a log-probability.

    The hint says what the values look like and how to make log-probabilities of them
    (`symbol` names the probabilities in the hint: "pass np.log(q)"); `loss` is the
    loss's name.
    """
    if x.size == 0 or not x.max() > LOG_PROB_SLACK:  # (NaN is the finite check's business)
        return
    if _looks_like_probabilities(x):
        hint = f"these look like probabilities: pass np.log({symbol})"
    else:
        hint = "these look like logits: pass nl.log_softmax(z, axis=1)"
    if loss == "NLLLoss":
        hint += ", or give the logits to CrossEntropyLoss, which applies log_softmax itself"
    _first_bad(name, x, x > LOG_PROB_SLACK, "log-probabilities (<= 0)", f" ({hint})")


def check_probabilities(name: str, p: np.ndarray) -> None:
    """Raise unless every element of `p` lies in [0, 1], saying what to do with logits."""
    check_in_range(
        name,
        p,
        0.0,
        1.0,
        "probabilities",
        " (these look like logits: use BCEWithLogitsLoss, or apply nl.sigmoid first)",
    )


def check_soft_labels(name: str, y: np.ndarray) -> None:
    """Raise unless every label lies in [0, 1] (soft labels allowed), with a -1/+1 hint."""
    if y.size == 0 or (y.min() >= 0 and y.max() <= 1):
        return
    hint = ""
    if np.all((y == -1) | (y == 1)):
        hint = " (these look like -1/+1 labels: convert them with (y + 1) / 2)"
    check_in_range(name, y, 0.0, 1.0, "labels", hint)


def as_index_array(name: str, target) -> np.ndarray:
    """`target` as an array (class indices or probabilities), a ragged list named; integer
    class indices of any dtype as intp (`as_intp`)."""
    try:
        target = np.asarray(target)
    except (ValueError, TypeError) as err:
        raise BadInputError(
            f"{name}: expected a rectangular array of class indices or probabilities; got "
            f"{type(target).__name__} that NumPy cannot make into one ({err})"
        ) from None
    return as_intp(name, target)


def as_intp(name: str, y: np.ndarray) -> np.ndarray:
    """Integer class indices of any signed or unsigned dtype as intp (a new array when
    the dtype differs; other arrays as they are).

    intp is the dtype NumPy indexes with. Indices of another dtype behave differently
    in arithmetic: uint64 and intp have no common integer type, so uint64 indices in a
    flat-index sum became float64 and NumPy refused them (a raw IndexError). Made intp
    at the door, every integer dtype gives every loss the same indices. A uint64 value
    beyond intp's range is named (it would wrap to a negative index).
    """
    if y.dtype.kind not in "iu" or y.dtype == np.intp:
        return y
    largest = np.iinfo(np.intp).max
    if y.dtype.kind == "u" and y.dtype.itemsize >= np.dtype(np.intp).itemsize and y.size:
        if y.max() > largest:
            _first_bad(name, y, y > largest, f"class indices (integers up to {largest})")
    return y.astype(np.intp)


def check_not_one_hot(
    name: str, target: np.ndarray, input_shape: tuple, takes_probabilities: bool
) -> None:
    """Raise if an integer or boolean target has the input's shape: one-hot rows.

    Class-index targets have the input's shape without its class dimension; a target of
    the input's own shape in integers is almost always a one-hot matrix, which a loss
    taking probabilities needs as floats and one taking indices needs as indices.
    """
    if target.dtype.kind not in "biu" or target.shape != tuple(input_shape):
        return
    fix = "pass target.argmax(axis=1) as class indices"
    if takes_probabilities:
        fix = f"one-hot targets must be floats: pass target.astype(float), or {fix}"
    raise BadTypeError(
        f"{name}: expected class indices of shape {input_shape[:1] + input_shape[2:]}"
        + (" or probabilities as floats" if takes_probabilities else "")
        + f"; got {target.dtype} of the input's shape {tuple(input_shape)}, one-hot rows ({fix})"
    )


def warn_if_softmax_applied(name: str, z: np.ndarray, row_max: np.ndarray) -> None:
    """Warn if every row of CrossEntropyLoss's logits is a probability vector.

    `row_max` is the per-row maximum the loss computes anyway; only when no row's
    maximum exceeds 1 are the minimum and the row sums looked at.
    """
    C = z.shape[1]
    if z.size == 0 or C < 2 or row_max.max() > 1 or z.min() < 0:
        return
    sums = z.sum(axis=1)
    if np.all(np.abs(sums - 1) <= _rows_tolerance(C)):
        warn(
            f"CrossEntropyLoss: {name}: every row lies in [0, 1] and sums to 1, as softmax "
            "outputs do; CrossEntropyLoss takes logits and applies log_softmax itself, so "
            "softmax was applied twice (pass the logits, or give np.log(p) to NLLLoss)"
        )


def warn_if_probabilities_for_logits(name: str, x: np.ndarray, loss: str) -> None:
    """Warn if a loss on logits gets a batch whose every entry lies in [0, 1].

    Logits of both signs are the rule; a batch of at least
    `PROBABILITIES_FOR_LOGITS_MIN_SIZE` values, not all equal (a model initialised at 0
    gives equal logits), all in [0, 1], is a sigmoid's output.
    """
    if x.size < PROBABILITIES_FOR_LOGITS_MIN_SIZE or x.min() < 0:
        return
    if x.max() <= 1 and x.max() > x.min():
        warn(
            f"{loss}: {name}: every entry lies in [0, 1], as probabilities do; {loss} takes "
            "logits and applies the sigmoid itself (pass the logits, or use BCELoss on "
            "probabilities)"
        )


def warn_if_not_distributions(
    name: str, sums: np.ndarray, num_classes: int, loss: str, fix: str = ""
) -> None:
    """Warn unless every row sum of probability targets is 1 (within `ROWS_TOLERANCE`).

    `sums` are the row sums (a loss that computes them anyway passes its own). The text
    names no row, so that it is the same on every call and shown once per line.
    """
    if sums.size and np.any(np.abs(sums - 1) > _rows_tolerance(num_classes)):
        warn(
            f"{loss}: {name}: probability targets should sum to 1 over the classes, and "
            f"some rows do not (normalise them with t / t.sum(axis=1, keepdims=True){fix})"
        )
