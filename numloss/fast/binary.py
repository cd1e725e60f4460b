"""BCEWithLogitsLoss's fast path: each pass makes only the parts its formula reads.

The executor (`numloss.fast.executor`) runs a loss's whole ``_parts`` a block at a time,
in forward and again in backward. For BCE with logits that is twice the work it needs:
the loss reads the softplus terms and not the sigmoids, the gradient the sigmoids and
not the softplus terms, and each pair costs an exp and a log1p or a division per
element (forward + backward of 10^7 float64 logits: 300 ms with every part, 213 ms
with these, on the 2-core machine of `make bench`). So this kernel builds the loss's
``Parts`` with only the fields each step reads (the others None) and hands them to the
loss's own ``_losses`` and ``_gradient``:
the math is still written once, in the class, and the numbers are the reading path's,
bit for bit.
"""

from __future__ import annotations

from ..primitives import sigmoid_pair, softplus_pair
from . import executor

__all__ = ["backward", "forward"]


class _ForLosses:
    """The loss's parts as ``_losses`` reads them: the coefficients and the softplus terms."""

    def __init__(self, loss):
        self.loss = loss
        self.differentiable = loss.differentiable  # what the executor sizes blocks by

    def _parts(self, inputs):
        a, b, w = self.loss._coefficients(inputs)
        softplus_x, softplus_neg_x = softplus_pair(inputs.x)
        return self.loss.Parts(inputs.x, a, b, w, softplus_neg_x, softplus_x, None, None)

    def _losses(self, parts):
        return self.loss._losses(parts)


class _ForGradient(_ForLosses):
    """The loss's parts as ``_gradient`` reads them: the coefficients and the sigmoids."""

    def _parts(self, inputs):
        a, b, w = self.loss._coefficients(inputs)
        sigmoid_x, sigmoid_neg_x = sigmoid_pair(inputs.x)
        return self.loss.Parts(inputs.x, a, b, w, None, None, sigmoid_x, sigmoid_neg_x)

    def _gradient(self, parts, dl):
        return self.loss._gradient(parts, dl)


def forward(loss, inputs):
    """(losses, record): the loss's ``_losses`` on the parts it reads, a block at a time."""
    return executor.forward(_ForLosses(loss), inputs)


def backward(loss, inputs, dl):
    """The loss's ``_gradient`` on the parts it reads, a block at a time."""
    return executor.backward(_ForGradient(loss), inputs, dl)
