"""Gradient checking: `gradcheck` for one loss, and the suite over every loss.

``numloss.numerical_gradient(f, x)`` is the idea in ten lines;
``numloss.gradcheck(loss, *inputs)`` checks one loss (or layer) on one set of inputs;
``python -m numloss.gradcheck`` runs the suite over the table of `cases`
(see `numloss.gradcheck.suite`).
"""

from .._modules import make_callable
from . import checker
from .checker import *  # noqa: F403 (the checker's public names, listed in its __all__)

__all__ = checker.__all__

make_callable(__name__)  # nl.gradcheck(loss, ...) calls gradcheck; the import, the package
