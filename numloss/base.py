"""The `Loss` contract every loss follows, and the reductions they share.

A loss is used as in PyTorch, but with the backward pass written out by hand:

    loss = nl.BCEWithLogitsLoss()
    value = loss(logits, target)        # forward: a NumPy scalar (or array for "none")
    grad = loss.backward()              # dL/dlogits, same shape and dtype as logits

How to read a loss
------------------
Every loss writes four short methods, in this order in its class, and a ``Parts``
named tuple whose fields are its docstring's symbols, a comment on each:

- ``_inputs(*inputs)`` checks the inputs and returns them as an ``Inputs`` named tuple
  of arrays (with ``denominator`` where the mean is not over the elements, and
  ``unbatched`` where one sample may come without its batch dimension);
- ``_parts(inputs)`` computes every symbol of the derivation from the inputs, whole
  arrays at a time, in the order the docstring introduces them;
- ``_losses(parts)`` is the formula: the per-element losses l_n from the parts;
- ``_gradient(parts, dl)`` is the derivation: dL/d(input) from the parts and
  ``dl = dL/dl_n`` (the upstream gradient already pushed through the reduction), each
  line one step, ending with the chain rule dL/dx = dL/dl_n * dl_n/dx.

This is the *reading path*, the one small inputs take: ``forward`` is ``_inputs``,
``_parts``, ``_losses`` and the reduction; ``backward`` is the reduction's derivative and
``_gradient`` of the parts forward kept. Large inputs take the *fast path*
(`numloss.fast`: the same steps a block of rows at a time), and so do the class-index
losses' batches from 1 KiB (cross-entropy, NLL and the multi-class margin: kernels that
read one entry per row), by the one rule in `numloss.fast.kernel_for`; both give the
same numbers (bit for bit, but for cross-entropy's kernels, which sum in another order:
a few units in the last place).

A subclass raises plain ``ValueError`` / ``TypeError`` for bad input (the checks in
``numloss._validate`` do); the base prefixes the loss's name. The base also does
argument counts and PyTorch's keyword names (``loss(input=z, target=y)``), the
reduction and its derivative, the upstream gradient, "backward before forward", and a
batch dimension added to one unbatched sample and taken off again.

State
-----
Between ``forward`` and ``backward`` a loss keeps the parts of its last successful
``forward`` (on the fast path: its kernel's record, the inputs for a blocked kernel),
and nothing else that backward reads;
``backward`` reads them and changes nothing (on the fast path, cross-entropy's kernel
hands forward's buffer of exponentials to the first backward as its gradient, and a
second backward makes it again), so it may be called any number of times with
different upstream gradients. A failed ``forward`` clears them, so ``backward``
then raises. The parts hold references to the inputs (no copies), so changing an input
array in place between ``forward`` and ``backward`` changes the gradient: don't. One
loss instance per thread.

The reduction and its derivative
--------------------------------
    "none":  L = l                 dL/dl_n = g_n          (g: grad_output, an array)
    "sum":   L = sum_n l_n         dL/dl_n = g
    "mean":  L = sum_n l_n / D     dL/dl_n = g / D

D is the number of elements unless the loss's inputs say otherwise ("batchmean", which
only KLDivLoss accepts, is the mean with D = the batch size). When D = 0 (every target
ignored, every weight zero) the mean is defined here as 0 with gradient 0, where
PyTorch returns NaN.
"""

from __future__ import annotations

import collections
import functools
import inspect
import math
from typing import NamedTuple

import numpy as np

from ._validate import (
    BadInputError,
    as_float_array,
    check_choice,
    check_finite,
    position,
    same_shape_floats,
)
from .fast import executor, kernel_for

__all__ = ["Loss"]


def _with_name(err: Exception, prefix: str) -> Exception:
    """The same error, its message prefixed with the loss's name."""
    try:
        return type(err)(f"{prefix}: {err}")
    except Exception:  # an exception type whose constructor wants more than a message
        return (TypeError if isinstance(err, TypeError) else ValueError)(f"{prefix}: {err}")


def _named_errors(init):
    """`init` with its ValueError/TypeError prefixed by the class's name, once.

    So ``CrossEntropyLoss(label_smoothing=2)`` says which loss refused it, as forward's
    errors do, whichever ``__init__`` in the class chain raised.
    """

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        try:
            init(self, *args, **kwargs)
        except (ValueError, TypeError) as err:
            name = type(self).__name__
            if str(err).startswith(f"{name}: "):  # an inner __init__ already said it
                raise
            raise _with_name(err, name) from None

    return wrapper


class Loss:
    """Base class: ``forward`` computes the loss, ``backward`` its gradient.

    Subclasses set:

    - ``inputs``: the names of ``forward``'s inputs, as PyTorch names them (they may be
      passed by position or by these names);
    - ``differentiable``: which of them ``backward`` returns a gradient for (one array
      for one name, a tuple in input order for several); the gradient checker reads it;
    - ``reductions``: the accepted values of ``reduction``;
    - ``Parts``: a ``NamedTuple`` of the docstring's symbols, a comment on each field;

    and write ``_inputs``, ``_parts``, ``_losses`` and ``_gradient`` (see the module
    docstring). ``_fast`` is the fast path's kernel for large inputs: by default
    `numloss.fast.executor`, which runs ``_parts`` with ``_losses`` or ``_gradient`` a
    block of rows at a time (None: the reading path at every size); ``_sparse`` a
    kernel for batches a training loop gives, if the loss has one
    (`numloss.fast.sparse`). A subclass that writes any of the four methods does
    not inherit a kernel other than the executor.
    """

    inputs: tuple[str, ...] = ("input", "target")
    differentiable: tuple[str, ...] = ("input",)
    reductions: tuple[str, ...] = ("mean", "sum", "none")
    _fast = executor
    _sparse = None

    class Parts(NamedTuple):
        """The docstring's symbols; every loss defines its own."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:  # a constructor's errors name the loss too
            cls.__init__ = _named_errors(cls.__dict__["__init__"])
        # A subclass that writes its own math (an exercise's answer, a variant of a loss)
        # runs it at every size: a kernel computes its own class's formula, not the
        # subclass's, so it is not inherited (the executor runs the class's own methods).
        if any(name in cls.__dict__ for name in ("_inputs", "_parts", "_losses", "_gradient")):
            if "_fast" not in cls.__dict__ and cls._fast is not executor:
                cls._fast = None
            if "_sparse" not in cls.__dict__:
                cls._sparse = None

    @_named_errors
    def __init__(self, reduction: str = "mean"):
        self.reduction = check_choice("reduction", reduction, self.reductions)
        self._record = None  # the last forward's parts (on the fast path: its kernel's record)
        self._last = None  # what backward needs to know of the last forward: a `Last`

    def __repr__(self) -> str:
        """The options that differ from their defaults, as PyTorch's ``extra_repr``."""
        shown = []
        for name, param in inspect.signature(type(self).__init__).parameters.items():
            if name == "self" or not hasattr(self, name):
                continue
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                shown.append(f"{name}={np.array2string(value, separator=', ', threshold=6)}")
            elif value is not param.default and value != param.default:  # 1.0 == 1: same
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __call__(self, *inputs, **named):
        return self.forward(*inputs, **named)

    # -- forward ---------------------------------------------------------------
    def forward(self, *inputs, **named):
        """The loss of ``inputs``, reduced as ``self.reduction`` says."""
        name = type(self).__name__
        inputs = self._gather(name, inputs, named)
        self._record = self._last = None
        try:
            x = self._inputs(*inputs)  # checked
            kernel = kernel_for(self, x)  # the one rule (numloss.fast): None, the reading path
            # beyond the dtype's range: inf, as in PyTorch; a NaN is looked for below
            with np.errstate(over="ignore", invalid="ignore"):
                if kernel is None:
                    record = self._parts(x)  # the docstring's symbols
                    losses = self._losses(record)  # l_n
                else:
                    losses, record = kernel.forward(self, x)
        except (ValueError, TypeError) as err:
            raise _with_name(err, name) from None
        unbatched = getattr(x, "unbatched", False)
        losses = losses[0] if unbatched else losses  # one sample in, one loss out
        denominator = getattr(x, "denominator", None)
        counted = denominator is None
        if counted:
            denominator = losses.size
        value = self._reduce(losses, denominator)
        finite = _never_nan(name, "the loss", value)
        self._record = record
        shape, dtype = value.shape, losses.dtype
        self._last = Last(shape, dtype, denominator, counted, unbatched, kernel, finite)
        return value

    def _gather(self, name: str, inputs: tuple, named: dict) -> tuple:
        """Positional inputs, then PyTorch's keyword names, as one tuple in order."""
        if not named and len(inputs) == len(self.inputs):  # the usual call: all by position
            return inputs
        unknown = [k for k in named if k not in self.inputs]
        if unknown:
            raise TypeError(
                f"{name}.forward: unknown input name {unknown[0]!r}; "
                f"expected {', '.join(self.inputs)}"
            )
        if len(inputs) > len(self.inputs):
            raise TypeError(
                f"{name}.forward: expected {len(self.inputs)} inputs "
                f"({', '.join(self.inputs)}); got {len(inputs)}"
            )
        given = dict(zip(self.inputs, inputs, strict=False))
        twice = [k for k in named if k in given]
        if twice:
            raise TypeError(f"{name}.forward: input {twice[0]!r} given by position and by name")
        given.update(named)
        missing = [k for k in self.inputs if k not in given]
        if missing:
            raise TypeError(
                f"{name}.forward: expected {len(self.inputs)} inputs "
                f"({', '.join(self.inputs)}); missing {', '.join(missing)}"
            )
        return tuple(given[k] for k in self.inputs)

    def _reduce(self, losses: np.ndarray, denominator):
        if self.reduction == "none":
            return losses
        total = losses.ravel().sum()  # in C order whatever the layout: one order on both paths
        if self.reduction == "sum":
            return losses.dtype.type(total)
        if denominator == 0:  # nothing to average: 0, not NaN (see the module docstring)
            return losses.dtype.type(0)
        return losses.dtype.type(total / denominator)

    # -- backward --------------------------------------------------------------
    def backward(self, grad_output=None):
        """dL/d(input) for every differentiable input of the last ``forward``.

        ``grad_output`` is the upstream gradient dJ/dL of whatever the loss feeds
        (default 1): a scalar, or for ``reduction="none"`` an array of the output's
        shape. Returns one array, or a tuple in input order when several inputs are
        differentiable.
        """
        dl = self.loss_derivative(grad_output)  # dL/dl_n
        last = self._last
        # a NaN can come only from an overflow: after one in forward, or from a grad_output
        # large enough to make one in backward (without it, dL/dl_n is at most 1); then the
        # gradient is looked at below, and NumPy's warning for it is not needed
        looked_at = not last.finite or grad_output is not None
        with np.errstate(over="ignore", **({"invalid": "ignore"} if looked_at else {})):
            if last.kernel is None:
                grad = self._gradient(self._record, dl)  # the derivation, on forward's parts
            else:
                grad = last.kernel.backward(self, self._record, dl)
        if looked_at:
            for g in grad if isinstance(grad, tuple) else (grad,):
                _never_nan(type(self).__name__ + ".backward", "the gradient", g)
        if not last.unbatched:
            return grad
        return tuple(g[0] for g in grad) if isinstance(grad, tuple) else grad[0]

    def loss_derivative(self, grad_output=None):
        """dL/dl_n: ``grad_output`` pushed through the last forward's reduction.

        g for "none" and "sum", g / D for "mean" (0 when D = 0), g being ``grad_output``
        (1 when None) checked and cast to the loss's dtype.
        """
        name = type(self).__name__
        if self._record is None:
            raise RuntimeError(
                f"{name}.backward() needs a successful forward() first "
                "(none was run, or the last one raised)"
            )
        shape, dtype, denominator = self._last[:3]
        try:
            g = self._upstream(grad_output, shape, dtype)
        except (ValueError, TypeError) as err:
            raise _with_name(err, f"{name}.backward") from None
        if self.reduction in ("mean", "batchmean"):  # dL/dl_n = g / D, and 0 when D = 0
            return g / dtype.type(denominator) if denominator else dtype.type(0) * g
        return g

    @staticmethod
    def _upstream(grad_output, shape: tuple, dtype: np.dtype):
        """grad_output checked and cast to the loss's dtype (1 when None)."""
        if grad_output is None:
            return dtype.type(1)
        g = as_float_array("grad_output", grad_output, dtype=dtype)
        if g.shape not in ((), shape):
            raise ValueError(f"grad_output: expected shape {shape} or a scalar; got {g.shape}")
        check_finite("grad_output", g)
        return g[()] if g.ndim == 0 else g

    # -- what subclasses write --------------------------------------------------
    def _inputs(self, *inputs) -> NamedTuple:
        """By default: finite float arrays of one shape, named as ``self.inputs``."""
        cls = type(self)
        if "_Inputs" not in cls.__dict__:  # one named tuple per class, made once
            cls._Inputs = collections.namedtuple("Inputs", cls.inputs)
        return cls._Inputs(*same_shape_floats(self.inputs, *inputs))

    def _parts(self, inputs) -> NamedTuple:
        raise NotImplementedError

    def _losses(self, parts) -> np.ndarray:
        raise NotImplementedError

    def _gradient(self, parts, dl):
        raise NotImplementedError


class Last(NamedTuple):
    """What `Loss.backward` needs to know of the last forward, besides its parts."""

    shape: tuple  # the output's shape
    dtype: np.dtype  # the output's dtype
    denominator: float  # the mean's D
    counted: bool  # D is the number of elements (else the loss's Inputs gave it)
    unbatched: bool  # one sample came without its batch dimension: take it off the gradient
    kernel: object  # the fast path's kernel forward took (its record is not the parts); None
    finite: bool  # every loss was finite (else backward looks for a NaN in the gradient)


def _never_nan(name: str, what: str, value) -> bool:
    """Whether `value` is finite; a NaN raises, naming where it is.

    Inputs are checked to be finite, so a NaN can only come from an intermediate quantity
    beyond the dtype's range (inf - inf, 0 inf): never returned silently.
    """
    if np.ndim(value) == 0 and math.isfinite(value):  # a reduction's scalar
        return True
    if np.isfinite(value).all():  # an array, for "none"
        return True
    value = np.asarray(value)
    nan = np.isnan(value)
    if nan.any():
        where = position(np.flatnonzero(nan)[0], value.shape)  # () for a scalar
        biggest = np.finfo(value.dtype).max
        raise BadInputError(
            f"{name}: {what} is NaN at {where}: an intermediate quantity overflowed the range "
            f"of {value.dtype} (inputs of magnitude near {biggest:.1e}); scale the inputs down"
        )
    return False
