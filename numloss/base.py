"""The `Loss` contract every loss follows, and the reductions they share.

A loss is used as in PyTorch, but with the backward pass written out by hand:

    loss = nl.BCEWithLogitsLoss()
    value = loss(logits, target)        # forward: a NumPy scalar (or array for "none")
    grad = loss.backward()              # dL/dlogits, same shape and dtype as logits

How the work is split
---------------------
A subclass writes two methods, each a short derivation:

- ``_forward(*inputs)`` checks its inputs, computes the per-element losses ``l_n``
  and keeps what its backward needs on ``self``. If its mean is not "divide by the
  number of elements" (class weights, ignored targets, ``batchmean``) it sets
  ``self._denominator``.
- ``_backward(dl)`` receives ``dl = dL/dl_n``, the upstream gradient already pushed
  through the reduction, and returns ``dL/d(input)`` by the chain rule
  ``dL/dx = dL/dl_n * dl_n/dx``.

The base class does what is common: argument counts, the reduction and its
derivative, the upstream gradient, dtypes, "backward before forward", and prefixing
every input error with the loss's name.

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

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validate import BadInputError, BadTypeError, as_float_array, check_choice, check_finite

__all__ = ["Loss", "Sampled"]


@dataclass(frozen=True)
class Sampled:
    """An option value the gradient-check suite draws to fit the inputs.

    ``Sampled("w[C]", lambda rng, inputs: rng.uniform(0.5, 2, inputs[0].shape[1]))``
    is a per-class weight; its label is what the suite's table prints.
    """

    label: str
    draw: Callable[[np.random.Generator, tuple], Any]

    def __repr__(self) -> str:
        return self.label


class Loss:
    """Base class: ``forward`` computes the loss, ``backward`` its gradient.

    Subclasses set:

    - ``inputs``: the names of ``forward``'s positional inputs, as PyTorch names them;
    - ``differentiable``: which of them ``backward`` returns a gradient for (one array
      for one name, a tuple in input order for several); the gradient checker reads it;
    - ``reductions``: the accepted values of ``reduction``;
    - ``gradcheck_options``: the options the gradient-check suite tries, each with its
      values (a `Sampled` value is drawn to fit the inputs), and the classmethod
      ``gradcheck_inputs`` which makes the inputs it tries them on.
    """

    inputs: tuple[str, ...] = ("input", "target")
    differentiable: tuple[str, ...] = ("input",)
    reductions: tuple[str, ...] = ("mean", "sum", "none")
    gradcheck_options: dict[str, tuple] = {"reduction": ("mean", "sum", "none")}

    def __init__(self, reduction: str = "mean"):
        self.reduction = check_choice("reduction", reduction, self.reductions)
        self._last = None  # (output shape, dtype, mean denominator) of the last forward

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"

    def __call__(self, *inputs):
        return self.forward(*inputs)

    # -- forward ---------------------------------------------------------------
    def forward(self, *inputs):
        """The loss of ``inputs``, reduced as ``self.reduction`` says."""
        name = type(self).__name__
        if len(inputs) != len(self.inputs):
            raise TypeError(
                f"{name}.forward: expected {len(self.inputs)} inputs "
                f"({', '.join(self.inputs)}); got {len(inputs)}"
            )
        self._last = None
        self._denominator = None
        try:
            losses = self._forward(*inputs)
        except (BadInputError, BadTypeError) as err:
            raise type(err)(f"{name}: {err}") from None
        denominator = losses.size if self._denominator is None else self._denominator
        value = self._reduce(losses, denominator)
        self._last = (np.shape(value), losses.dtype, denominator)
        return value

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
        if self._last is None:
            raise RuntimeError(f"{name}.backward() called before forward()")
        shape, dtype, denominator = self._last
        try:
            g = self._upstream(grad_output, shape, dtype)
        except (BadInputError, BadTypeError) as err:
            raise type(err)(f"{name}.backward: {err}") from None
        if self.reduction in ("mean", "batchmean"):  # dL/dl_n = g / D, and 0 when D = 0
            g = g / dtype.type(denominator) if denominator else dtype.type(0) * g
        return self._backward(g)

    @staticmethod
    def _upstream(grad_output, shape: tuple, dtype: np.dtype):
        """grad_output checked and cast to the loss's dtype (1 when None)."""
        if grad_output is None:
            return dtype.type(1)
        g = as_float_array("grad_output", grad_output, dtype=dtype)
        if g.shape not in ((), shape):
            raise BadInputError(f"grad_output: expected shape {shape} or a scalar; got {g.shape}")
        check_finite("grad_output", g)
        return g[()] if g.ndim == 0 else g

    # -- what subclasses write --------------------------------------------------
    def _forward(self, *inputs) -> np.ndarray:
        raise NotImplementedError

    def _backward(self, dl):
        raise NotImplementedError

    # -- helpers shared by subclasses ---------------------------------------------
    def _input_and_target(self, input, target):
        """The common first step: `input` as a finite float array and a finite `target`
        of the same shape and dtype."""
        x = as_float_array("input", input)
        check_finite("input", x)
        y = as_float_array("target", target, dtype=x.dtype)
        check_finite("target", y)
        if y.shape != x.shape:
            raise BadInputError(f"target: expected the shape of input, {x.shape}; got {y.shape}")
        return x, y

    # -- the gradient-check suite's cases -------------------------------------------
    @classmethod
    def gradcheck_inputs(cls, rng: np.random.Generator, options: dict) -> Iterator[tuple]:
        """Yield ``(label, inputs)`` pairs for the suite: random and extreme inputs."""
        raise NotImplementedError(f"{cls.__name__} does not say how to sample its inputs")

    @classmethod
    def gradcheck_cases(cls, rng: np.random.Generator) -> Iterator[tuple[dict, str, tuple]]:
        """Every option combination of ``gradcheck_options`` with every input kind.

        Yields ``(options, drawn, label, inputs)``: ``options`` as listed (what the
        suite prints), ``drawn`` with every `Sampled` value drawn to fit ``inputs`` (what
        the loss is built with), and the input kind's label.
        """
        names = list(cls.gradcheck_options)
        for values in itertools.product(*(cls.gradcheck_options[n] for n in names)):
            options = dict(zip(names, values, strict=True))
            for label, inputs in cls.gradcheck_inputs(rng, options):
                drawn = {
                    k: (v.draw(rng, inputs) if isinstance(v, Sampled) else v)
                    for k, v in options.items()
                }
                yield options, drawn, label, inputs
