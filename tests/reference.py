"""References for the tests: the textbook forms in the bulk, 50-digit mpmath in the tails.

In the bulk, `reference_loss` is `numloss.textbook`: each loss written as its formula
reads (sigmoid then log, softmax then log, one-hot targets), registered by the loss's
class name. It is what the formula says, to be compared with where the formula is
representable; tests/test_textbook.py shows where it stops being so.

In the tails, the `mp_*` functions compute with mpmath at 50 digits and
`assert_close_to_mp` compares a float64 result with them.
"""

from __future__ import annotations

import math

import numpy as np

from numloss.textbook import TEXTBOOK as REFERENCES  # noqa: F401  (by class name)
from numloss.textbook import value_and_grad


def reference_loss(name, options, *inputs):
    """The textbook value of loss `name` built with `options` on `inputs`, reduced as
    ``options["reduction"]`` says (default "mean")."""
    value, _ = value_and_grad(name, options, *inputs)
    return value


# -- 50-digit references for the tails (mpmath) ---------------------------------------
import mpmath  # noqa: E402

mpmath.mp.dps = 50
TINY = np.finfo(np.float64).tiny  # smallest normal float64


def mp_softplus(x):
    return mpmath.log1p(mpmath.exp(mpmath.mpf(float(x))))


def mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-mpmath.mpf(float(x))))


def mp_logsumexp(row):
    """log sum e^z_k, written as m + log1p(sum of the others) so that 50 digits suffice
    even when the leader dominates by 1e4 (1 + e^-1e4 would need 4343 digits)."""
    row = [mpmath.mpf(float(v)) for v in row]
    lead = max(range(len(row)), key=lambda k: row[k])
    rest = mpmath.fsum(mpmath.exp(v - row[lead]) for k, v in enumerate(row) if k != lead)
    return row[lead] + mpmath.log1p(rest)


def mp_log_softmax(row):
    row = [mpmath.mpf(float(v)) for v in row]
    lead = max(range(len(row)), key=lambda k: row[k])
    rest = mpmath.fsum(mpmath.exp(v - row[lead]) for k, v in enumerate(row) if k != lead)
    return [(v - row[lead]) - mpmath.log1p(rest) for v in row]


def assert_close_to_mp(ours, exact, rtol=1e-13, what=""):
    """`ours` (float) within `rtol` of the mpmath value `exact`, where that is normal.

    Where the exact value is below the smallest normal float64 the right answer is 0 or
    a subnormal: we check that `ours` is finite and no larger than the smallest normal.
    """
    ours = float(ours)
    assert math.isfinite(ours), f"{what}: got {ours}, expected {exact}"
    if abs(exact) < TINY:
        assert abs(ours) <= TINY, f"{what}: got {ours}, expected {mpmath.nstr(exact, 5)}"
        return
    err = abs(mpmath.mpf(ours) - exact) / abs(exact)
    assert err <= rtol, (
        f"{what}: got {ours!r}, exact {mpmath.nstr(exact, 20)}, rel err {float(err):.2e}"
    )
