"""A loss that exists for an exercise: MSE after a sigmoid (lesson section 2.1.3)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_soft_labels, same_shape_floats
from ..base import Loss
from ..primitives import sigmoid_pair

__all__ = ["SigmoidMSELoss"]


class SigmoidMSELoss(Loss):
    r"""MSE on a sigmoid's output: ``l = (sigmoid(z) - y)^2``, the loss section 2.1.3 warns of.

    Domain: ``input`` z holds logits, ``target`` y labels in [0, 1] of z's shape.

    Formula: with s = sigmoid(z), l = (s - y)^2.

    Gradient, step by step (the chain rule through the square, then the sigmoid):

        dl/ds = 2 (s - y)
        ds/dz = s (1 - s)
        dl/dz = 2 (s - y) s (1 - s)

    which fades to 0 where the sigmoid saturates, even when the prediction is wrong: the
    reason the lesson prefers BCE, whose dl/dz = s - y does not fade.

    Stable form: s and 1 - s are both sigmoids (`numloss.sigmoid_pair`), never
    1 / (1 + e^-z), whose e^-z overflows for z < -709, nor 1 - s, which rounds to 0.

    >>> import numpy as np
    >>> z = np.log([0.9 / 0.1, 0.55 / 0.45, 0.1 / 0.9])  # models A, B, C as logits
    >>> loss = SigmoidMSELoss(reduction="none")
    >>> loss(z, [1.0, 1.0, 1.0]).round(4)
    array([0.01  , 0.2025, 0.81  ])
    >>> loss.backward().round(4)  # 2 (s - 1) s (1 - s)
    array([-0.018 , -0.2228, -0.162 ])
    """

    class Inputs(NamedTuple):
        z: np.ndarray  # the logits
        y: np.ndarray  # the labels

    class Parts(NamedTuple):
        s: np.ndarray  # s = sigmoid(z), the predicted probability
        one_minus_s: np.ndarray  # 1 - s = sigmoid(-z), computed without the subtraction
        diff: np.ndarray  # s - y

    def _inputs(self, input, target):
        z, y = same_shape_floats(self.inputs, input, target)
        check_soft_labels("target", y)
        return self.Inputs(z, y)

    def _parts(self, inputs):
        s, one_minus_s = sigmoid_pair(inputs.z)
        return self.Parts(s, one_minus_s, s - inputs.y)

    def _losses(self, parts):
        """l = (s - y)^2"""
        return parts.diff * parts.diff

    def _gradient(self, parts, dl):
        """dl/dz = 2 (s - y) s (1 - s)"""
        dl_ds = 2 * parts.diff  # d/ds (s - y)^2 = 2 (s - y)
        ds_dz = parts.s * parts.one_minus_s  # the sigmoid's slope s (1 - s)
        return dl_ds * ds_dz * dl  # chain rule: dL/dz = dL/dl dl/ds ds/dz
