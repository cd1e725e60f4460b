"""numloss: classification losses in pure NumPy, with hand-derived gradients.

Every loss is a class with ``forward`` (the loss) and ``backward`` (its gradient,
derived step by step in the class's docstring), named and behaving like the PyTorch
module of the same name:

>>> import numloss as nl
>>> loss = nl.BCEWithLogitsLoss()
>>> value = loss([2.0, -1.0], [1.0, 0.0])
>>> grad = loss.backward()

``nl.gradcheck(loss, *inputs)`` checks a backward against finite differences, and
``python -m numloss.gradcheck`` does so for every loss below under every option.
"""

# the modules: nl.explain(...) and nl.gradcheck(...) are callable; nl.exercises.check_file(...)
from . import exercises as exercises
from . import explain as explain
from . import gradcheck as gradcheck
from . import textbook as textbook
from . import train as train  # the trainer (numloss.train): layers, SGD, fit
from ._validate import BadInputError, BadTypeError, NumlossWarning
from ._version import __version__
from .base import Loss
from .binary import BCELoss, BCEWithLogitsLoss, FocalLoss, MSELoss
from .fast import get_num_threads, get_path, set_num_threads, set_path
from .gradcheck import GradcheckResult, numerical_gradient
from .information import KLDivLoss, cross_entropy, entropy, kl_divergence, surprise
from .margin import HingeLoss, MultiMarginLoss, SoftMarginLoss, SquaredHingeLoss
from .multiclass import CrossEntropyLoss, NLLLoss, one_hot, smooth_labels
from .primitives import (
    log_sigmoid,
    log_softmax,
    logsumexp,
    sigmoid,
    sigmoid_pair,
    softmax,
    softmax_parts,
    softplus,
    softplus_pair,
)
from .ranking import MarginRankingLoss, TripletMarginLoss

__all__ = [
    "__version__",
    # the contract
    "Loss",
    "BadInputError",  # a ValueError: a value, shape or option a loss cannot accept
    "BadTypeError",  # a TypeError: an argument of a type or dtype a loss cannot accept
    "NumlossWarning",  # a likely mistake (softmax before CrossEntropyLoss, ...): see _validate
    # the fast path (numloss.fast): which path a loss takes, and its threads
    "set_path",
    "get_path",
    "set_num_threads",
    "get_num_threads",
    # stable primitives
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "sigmoid",
    "softmax",
    "softmax_parts",
    "softplus",
    "sigmoid_pair",
    "softplus_pair",
    # information theory (lesson section 1)
    "surprise",
    "entropy",
    "cross_entropy",
    "kl_divergence",
    "KLDivLoss",
    # binary losses (lesson section 2.1)
    "BCELoss",
    "BCEWithLogitsLoss",
    "MSELoss",
    "FocalLoss",
    # margin losses (lesson section 2.2)
    "HingeLoss",
    "SquaredHingeLoss",
    "SoftMarginLoss",
    "MultiMarginLoss",
    # multi-class losses (lesson section 3)
    "CrossEntropyLoss",
    "NLLLoss",
    "one_hot",
    "smooth_labels",
    # ranking losses (the lesson's introduction)
    "MarginRankingLoss",
    "TripletMarginLoss",
    # checking gradients by finite differences
    "GradcheckResult",
    "gradcheck",
    "numerical_gradient",
    # every step of a loss's forward and backward, with its numbers
    "explain",
]
