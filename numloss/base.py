"""The `Loss` contract every loss follows, and the reductions they share.

A loss is used as in PyTorch, but with the backward pass written out by hand:

    loss = nl.BCEWithLogitsLoss()
    value = loss(logits, target)        # forward: a NumPy scalar (or array for "none")
    grad = loss.backward()              # dL/dlogits, same shape and dtype as logits

How the work is split
---------------------
A subclass writes two methods, each a short derivation:

- ``_forward(*inputs)`` checks its inputs and returns ``(losses, record)``: the
  per-element losses ``l_n`` and the loss's ``Record``, a small named tuple holding
  exactly what backward needs, its fields named as the docstring's symbols. If the
  mean is not "divide by the number of elements" (class weights, ignored targets,
  ``batchmean``) the record has a ``denominator`` field.
- ``_backward(record, dl)`` receives that record and ``dl = dL/dl_n``, the upstream
  gradient already pushed through the reduction, and returns ``dL/d(input)`` by the
  chain rule ``dL/dx = dL/dl_n * dl_n/dx``.

A subclass raises plain ``ValueError`` / ``TypeError`` for bad input (the checks in
``numloss._validate`` do); the base prefixes the loss's name.

The base class does what is common: argument counts and PyTorch's keyword names
(``loss(input=z, target=y)``), the reduction and its derivative, the upstream
gradient, dtypes, "backward before forward", and prefixing every input error with the
loss's name.

State
-----
A loss keeps the record of its last successful ``forward`` until the next one;
``backward`` may be called any number of times with different upstream gradients. A
failed ``forward`` clears the record, so ``backward`` then raises. The record holds
references to the inputs (no copies: that would cost a pass over memory), so
changing an input array in place between ``forward`` and ``backward`` changes the
gradient: don't. One loss instance per thread.

The reduction and its derivative
--------------------------------
    "none":  L = l                 dL/dl_n = g_n          (g: grad_output, an array)
    "sum":   L = sum_n l_n         dL/dl_n = g
    "mean":  L = sum_n l_n / D     dL/dl_n = g / D

D is the number of elements unless the loss says otherwise ("batchmean", which only
KLDivLoss accepts, is the mean with D = the batch size). When D = 0 (every target
ignored, every weight zero) the mean is defined here as 0 with gradient 0, where
PyTorch returns NaN.
"""

from __future__ import annotations

import functools
import inspect
from typing import NamedTuple

import numpy as np

from ._validate import as_float_array, check_choice, check_finite

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
    - ``Record``: a ``NamedTuple`` of what backward needs.
    """

    inputs: tuple[str, ...] = ("input", "target")
    differentiable: tuple[str, ...] = ("input",)
    reductions: tuple[str, ...] = ("mean", "sum", "none")

    class Record(NamedTuple):
        """What backward needs; every loss defines its own."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:  # a constructor's errors name the loss too
            cls.__init__ = _named_errors(cls.__dict__["__init__"])

    @_named_errors
    def __init__(self, reduction: str = "mean"):
        self.reduction = check_choice("reduction", reduction, self.reductions)
        self._record = None  # the last forward's Record
        self._last = None  # (output shape, dtype, mean denominator) of the last forward

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
            losses, record = self._forward(*inputs)
        except (ValueError, TypeError) as err:
            raise _with_name(err, name) from None
        denominator = getattr(record, "denominator", None)
        if denominator is None:
            denominator = losses.size
        value = self._reduce(losses, denominator)
        self._record = record
        self._last = (np.shape(value), losses.dtype, denominator)
        return value

    def _gather(self, name: str, inputs: tuple, named: dict) -> tuple:
        """Positional inputs, then PyTorch's keyword names, as one tuple in order."""
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
        total = losses.sum()
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
        name = type(self).__name__
        if self._record is None:
            raise RuntimeError(
                f"{name}.backward() needs a successful forward() first "
                "(none was run, or the last one raised)"
            )
        shape, dtype, denominator = self._last
        try:
            g = self._upstream(grad_output, shape, dtype)
        except (ValueError, TypeError) as err:
            raise _with_name(err, f"{name}.backward") from None
        if self.reduction in ("mean", "batchmean"):  # dL/dl_n = g / D, and 0 when D = 0
            g = g / dtype.type(denominator) if denominator else dtype.type(0) * g
        return self._backward(self._record, g)

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
    def _forward(self, *inputs) -> tuple[np.ndarray, NamedTuple]:
        raise NotImplementedError

    def _backward(self, record, dl):
        raise NotImplementedError
