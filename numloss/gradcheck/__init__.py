"""Gradient checking: `gradcheck` for one loss, and the suite over every loss.

``numloss.numerical_gradient(f, x)`` is the idea in ten lines;
``numloss.gradcheck(loss, *inputs)`` checks one loss (or layer) on one set of inputs;
``python -m numloss.gradcheck`` runs the suite over the table of `cases`
(see `numloss.gradcheck.suite`).
"""

from .checker import (
    GradcheckResult,
    Kink,
    Mismatch,
    evaluate_around,
    five_point,
    gradcheck,
    numerical_gradient,
)

__all__ = [
    "GradcheckResult",
    "Kink",
    "Mismatch",
    "evaluate_around",
    "five_point",
    "gradcheck",
    "numerical_gradient",
]
