"""The finite-difference gradient checker: is ``backward`` the derivative of ``forward``?

How it decides, for one coordinate x_i of a differentiable input
----------------------------------------------------------------------
The loss is turned into one scalar function F(x) = sum(g * loss.forward(...)), where g
is a random, non-uniform upstream gradient (so a wrong 1/N or a swapped element of a
"none" reduction cannot hide). Its analytic derivative is what ``loss.backward(g)``
returns; its numeric derivative is the five-point central difference

    F'(x_i) ≈ [F(x - 2h) - 8 F(x - h) + 8 F(x + h) - F(x + 2h)] / (12 h),

accurate to O(h^4), so a step h = 2^-13 ≈ 1.2e-4 leaves truncation error near 1e-16
and rounding error near 1e-12 |F| (the two-point formula needs h = 1e-6 to keep its
truncation error small, and then rounds a hundred times worse). A power of two as h
makes every x + k h exact, so the step itself carries no rounding. The stencil
reaches 2h ≈ 2.4e-4 from x, so a point 1e-3 from a kink is checked as smooth.

The comparison is the relative error with a floor:

    err_i = |a_i - n_i| / max(|a_i| + |n_i|, floor_i),      pass iff err_i <= rtol.

``floor_i`` is the size below which a difference is rounding noise: the noise of the
stencil, ~ 16 u S_i / h (twice the worst we measured), divided by rtol, where u is
the float64 unit roundoff and S_i the magnitude of the outputs the coordinate moves.
(The stencil is summed element by element over the loss's outputs, so the outputs
x_i does not touch cancel exactly and only the ones it moves count.) With rtol = 1e-7
a single entry off by 1e-6 relative (err = 5e-7) fails, wherever the entry stands
above the noise.

Kinks
-----
Where the central check fails, the one-sided slopes (second-order, from the same
evaluations) are compared. If they disagree the point is a kink (hinge at its
margin, a max at a tie), and the analytic value passes if it lies between them: for
a convex or concave piece, every subgradient does. It is reported, not failed.
Where the slope is continuous but the curvature jumps (max(0, h)^2 at h = 0), the
five-point formula is off by O(h) while both one-sided slopes, exact on each smooth
side, agree with backward: that passes.

Inputs
------
The checker works on float64 copies of the differentiable inputs, perturbs one
coordinate at a time and restores it after each evaluation, so the caller's arrays
are never touched. Non-differentiable inputs (targets) are passed through as given.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["GradcheckResult", "Kink", "Mismatch", "gradcheck"]

UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2
STENCIL = ((-2, 1.0), (-1, -8.0), (1, 8.0), (2, -1.0))  # (offset in h, weight) / 12h
NOISE_FACTOR = 16.0  # the stencil's rounding noise, in units of u * S / h, with a margin
KINK_JUMP = 1e-3  # one-sided slopes further apart than this (relative) mark a kink


@dataclass(frozen=True)
class Mismatch:
    """A coordinate whose analytic and numeric derivatives disagree."""

    input: str
    index: tuple
    analytic: float
    numeric: float
    error: float

    def __str__(self) -> str:
        return (
            f"{self.input}{list(self.index)}: analytic {self.analytic:.10g}, "
            f"numeric {self.numeric:.10g} (relative error {self.error:.2e})"
        )


@dataclass(frozen=True)
class Kink:
    """A coordinate where the one-sided slopes disagree; ``analytic`` lies between them."""

    input: str
    index: tuple
    left: float
    right: float
    analytic: float

    def __str__(self) -> str:
        return (
            f"{self.input}{list(self.index)}: slopes {self.left:.6g} (left), "
            f"{self.right:.6g} (right); backward gives {self.analytic:.6g}"
        )


@dataclass
class GradcheckResult:
    """What `gradcheck` found. True when every checked coordinate passed."""

    passed: bool
    max_abs_error: float
    max_rel_error: float
    failures: list[Mismatch] = field(default_factory=list)
    kinks: list[Kink] = field(default_factory=list)
    checked: int = 0
    mode: str = "full"

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        head = (
            f"{'PASS' if self.passed else 'FAIL'}: {self.checked} {self.mode} checks, "
            f"max relative error {self.max_rel_error:.2e}, max absolute error "
            f"{self.max_abs_error:.2e}, {len(self.kinks)} kink(s)"
        )
        lines = [head]
        lines += [f"  failed: {m}" for m in self.failures[:10]]
        lines += [f"  kink:   {k}" for k in self.kinks[:10]]
        return "\n".join(lines)


class _Objective:
    """F(x) = sum(g * loss(x)), kept element-wise so untouched outputs cancel exactly."""

    def __init__(self, loss, inputs: list, grad_output: np.ndarray):
        self.loss, self.inputs, self.g = loss, inputs, grad_output

    def terms(self) -> np.ndarray:
        out = np.asarray(self.loss.forward(*self.inputs), dtype=np.float64)
        return self.g * out

    def stencil(self, x: np.ndarray, flat: int | None, direction: np.ndarray | None, h: float):
        """The terms at the five points x + k h e (k = -2..2), e a coordinate or direction.

        Returns {k: terms}. ``x`` is restored after each evaluation.
        """
        x_flat = x.reshape(-1)
        saved = x_flat[flat] if flat is not None else x.copy()
        values = {}
        for k in (-2, -1, 0, 1, 2):
            if flat is not None:
                x_flat[flat] = saved + k * h
            else:
                np.add(saved, k * h * direction, out=x)
            values[k] = self.terms()
            if flat is not None:
                x_flat[flat] = saved  # restore after every perturbation
            else:
                x[...] = saved
        return values


def _numeric(values: dict, h: float):
    """Central five-point derivative, its rounding-noise scale, and one-sided slopes."""
    combo = sum(w * values[k] for k, w in STENCIL)
    moved = combo != 0  # outputs this coordinate moves (others cancel to exactly 0)
    numeric = combo.sum() / (12 * h)
    scale = sum(np.abs(values[k][moved]).sum() for k in (-2, -1, 1, 2)) / 4
    noise = NOISE_FACTOR * UNIT_ROUNDOFF * scale / h
    # second-order one-sided slopes from the same points
    right = (-3 * values[0] + 4 * values[1] - values[2]).sum() / (2 * h)
    left = (3 * values[0] - 4 * values[-1] + values[-2]).sum() / (2 * h)
    return numeric, noise, left, right


def gradcheck(
    loss,
    *inputs,
    h: float = 2.0**-13,
    rtol: float = 1e-7,
    min_floor: float = 1e-8,
    grad_output=None,
    mode: str = "full",
    directions: int = 8,
    seed: int = 0,
) -> GradcheckResult:
    """Compare ``loss.backward`` with finite differences of ``loss.forward``.

    Parameters
    ----------
    loss : a `numloss.Loss` (its ``differentiable`` names the inputs to check).
    *inputs : the inputs of ``loss.forward``, as for a call.
    h : finite-difference step (five-point central stencil, reach 2h).
    rtol : relative tolerance; the default fails an entry off by 1e-6 relative.
    min_floor : the smallest floor of the relative error's denominator: below it,
        differences are compared in absolute terms (|a - n| <= rtol * min_floor).
    grad_output : the upstream gradient; default a random one, non-uniform for
        ``reduction="none"``, drawn from ``seed``.
    mode : "full" checks every coordinate (5 evaluations each); "random" checks
        ``directions`` random directions per input (directional derivatives), for
        inputs too large to check coordinate by coordinate.

    Returns a `GradcheckResult`, true when every check passed.

    >>> import numpy as np, numloss as nl
    >>> x = np.array([[2.0, -1.0], [0.5, 3.0]]); y = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> result = nl.gradcheck(nl.BCEWithLogitsLoss(), x, y)
    >>> bool(result), result.max_rel_error < 1e-9
    (True, True)
    """
    if mode not in ("full", "random"):
        raise ValueError(f"mode: expected 'full' or 'random'; got {mode!r}")
    rng = np.random.default_rng(seed)
    names = list(loss.inputs)
    wanted = [names.index(n) for n in loss.differentiable]
    work = list(inputs)
    for i in wanted:  # float64 copies: perturbed in place, the caller's arrays untouched
        work[i] = np.array(inputs[i], dtype=np.float64, copy=True)

    out = np.asarray(loss.forward(*work))
    if grad_output is None:  # random, non-uniform, never near 0
        g = rng.uniform(0.5, 1.5, size=out.shape) * rng.choice([-1.0, 1.0], size=out.shape)
    else:
        g = np.asarray(grad_output, dtype=np.float64)
    analytic = loss.backward(g if out.ndim else float(g))
    if len(wanted) == 1:
        analytic = (analytic,)
    objective = _Objective(loss, work, g)

    result = GradcheckResult(passed=True, max_abs_error=0.0, max_rel_error=0.0, mode=mode)
    for i, grad in zip(wanted, analytic, strict=True):
        x, name = work[i], names[i]
        grad = np.asarray(grad, dtype=np.float64)
        if grad.shape != x.shape:
            result.passed = False
            result.failures.append(Mismatch(name, (), np.nan, np.nan, np.inf))
            continue
        if mode == "full":
            points = [(flat, None) for flat in range(x.size)]
        else:
            points = []
            for _ in range(directions):
                v = rng.normal(size=x.shape)
                points.append((None, v / np.linalg.norm(v)))
        for flat, direction in points:
            values = objective.stencil(x, flat, direction, h)
            numeric, noise, left, right = _numeric(values, h)
            a = grad.reshape(-1)[flat] if flat is not None else float((grad * direction).sum())
            index = np.unravel_index(flat, x.shape) if flat is not None else ("direction",)
            index = tuple(int(j) if not isinstance(j, str) else j for j in index)
            floor = max(noise / rtol, min_floor)
            err = float(abs(a - numeric) / max(abs(a) + abs(numeric), floor))
            result.checked += 1
            result.max_abs_error = max(result.max_abs_error, float(abs(a - numeric)))
            if err <= rtol:
                result.max_rel_error = max(result.max_rel_error, err)
                continue
            slack = rtol * max(abs(left) + abs(right), floor)
            is_kink = abs(right - left) > KINK_JUMP * (abs(left) + abs(right)) + slack
            between = min(left, right) - slack <= a <= max(left, right) + slack
            if is_kink and between:
                result.kinks.append(Kink(name, index, left, right, float(a)))
                continue
            one_sided = max(abs(a - s) / max(abs(a) + abs(s), floor) for s in (left, right))
            if one_sided <= rtol:  # a jump in curvature (max(0, h)^2 at h = 0), not in slope:
                result.max_rel_error = max(result.max_rel_error, one_sided)  # the five-point
                continue  # formula assumes smoothness there, the one-sided ones do not
            result.max_rel_error = max(result.max_rel_error, err)
            result.passed = False
            result.failures.append(Mismatch(name, index, float(a), float(numeric), float(err)))
    return result
