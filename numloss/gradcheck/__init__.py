"""Gradient checking: `gradcheck` for one loss, and the suite over every loss.

``numloss.gradcheck(loss, *inputs)`` checks one loss on one set of inputs;
``python -m numloss.gradcheck`` runs the suite (see `numloss.gradcheck.suite`).
"""

from .checker import GradcheckResult, Kink, Mismatch, gradcheck

__all__ = ["GradcheckResult", "Kink", "Mismatch", "gradcheck"]
