"""The finite-difference gradient checker: is ``backward`` the derivative of ``forward``?

Start with `numerical_gradient`: ten lines that estimate dF/dx by nudging one
coordinate at a time. `gradcheck` is built on the same two steps — evaluate F around a
point (`evaluate_around`), combine the values into a slope (`five_point`) — and adds
two decisions: *which points* to check (`_points`) and *how to judge* each one
(`_judge`).

How a point is judged
---------------------
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

    err_i = |a_i - n_i| / max(|a_i|, |n_i|, floor_i),      pass iff err_i <= rtol,

the plain relative error |a - n| / |n| wherever the two are close (a denominator
|a_i| + |n_i| would print half of it).

``floor_i`` is the size below which a difference is rounding noise: the noise of the
stencil, ~ 16 u S_i / h (twice the worst we measured), divided by rtol, where u is
the float64 unit roundoff and S_i the magnitude of the outputs the coordinate moves.
(F is kept element by element over the loss's outputs, so the outputs x_i does not
touch cancel exactly and only the ones it moves count.) With rtol = 1e-7 a single
entry off by 1e-6 relative (err = 1e-6) fails, wherever the entry stands above the
noise.

When the check fails, the notes say what kind of mistake the analytic gradient shows
against the numeric one (`numloss.exercises.diagnosis`): a flipped sign, a factor N or
1/N or another constant, a missing sigmoid factor p (1 - p), a one-hot term missing or
at the wrong class, grad_output ignored, a wrong shape; otherwise which entries differ.

Kinks
-----
Where the central check fails, the one-sided slopes (second-order, from the same
evaluations) are compared. If they disagree the point is a kink (hinge at its
margin, a max at a tie), and the analytic value passes if it lies between them: for
a convex or concave piece, every subgradient does. It is reported, not failed.
Where the slope is continuous but the curvature jumps (max(0, h)^2 at h = 0), the
five-point formula is off by O(h) while both one-sided slopes, exact on each smooth
side, agree with backward: that passes.

Inputs with a domain
--------------------
BCELoss takes probabilities in [0, 1]: at p = 1e-5 the stencil's p - 2h is negative and
the loss refuses it. A loss may declare each input's closed domain as a class attribute,
``domain = {"input": (0.0, 1.0)}``; without one, a ValueError from forward at a stencil
point marks the point as outside. Near an edge the step is halved until the edge is at
least `EDGE_MARGIN` stencils away (x +- 2 EDGE_MARGIN step inside the domain): a function
often curves on the scale of its distance to the edge, and -log p's five-point error is
0.8 (step/p)^4 relative, 7.6e-7 at p = 2^-8 with the plain step (a false failure) and
3e-9 at step p/128. With a declared domain the distance is known; without one, the
plain check runs first and the edge is looked for only where it raised or failed, so
points far from any edge cost nothing more. A point on the edge
itself (nearer than `ON_EDGE`), where no stencil fits, is checked one-sided, inward
(fourth-order, from F(0), ..., F(4h)): it fails if backward disagrees with a smooth
inward slope, and is reported as a "boundary" point, not failed, where the inward side
is not smooth at the step's scale (BCE clamps log p at -100: 100 on the edge, 9 at
p = h), since the loss defines its own value there. gradcheck never raises for a domain.

What is checked
---------------
Every input the object lists in ``differentiable`` (on float64 copies: the caller's
arrays are never touched) and, for a layer or a model (anything with
``named_parameters()``), every parameter: its ``.data`` is nudged in place and
restored exactly, whatever happens (a forward that raises mid-check included), and
compared with the ``.grad`` one backward accumulated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Boundary",
    "GradcheckResult",
    "Kink",
    "Mismatch",
    "evaluate_around",
    "five_point",
    "gradcheck",
    "numerical_gradient",
]

H = 2.0**-13  # the step: a power of two, so x + k h is exact
UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2
NOISE_FACTOR = 16.0  # the stencil's rounding noise, in units of u * S / h, with a margin
KINK_JUMP = 1e-3  # one-sided slopes further apart than this (relative) mark a kink
EDGE_MARGIN = 64.0  # near a domain's edge: the fitting step divided by this once more
MIN_STEP = H * 2.0**-40  # the shortest step tried near an edge
ON_EDGE = 2 * EDGE_MARGIN * MIN_STEP  # a point nearer its edge than this is checked one-sided


# -- the core: what a student reads first ------------------------------------------------
def evaluate_around(f, x: np.ndarray, where, h: float = H, ks=(-2, -1, 0, 1, 2)) -> dict:
    """{k: f() with x moved by k h along `where`}, for k = -2..2; x restored after each.

    `where` is an index into x (one coordinate) or an array of x's shape (a direction).
    `f` takes no argument: it reads x, which is changed in place. x is restored even
    when f raises.
    """
    saved = x.copy()
    values = {}
    for k in ks:
        if isinstance(where, np.ndarray):
            np.add(saved, k * h * where, out=x)
        else:
            x[where] = saved[where] + k * h
        try:
            values[k] = f()
        finally:
            x[...] = saved  # restore after every perturbation, and if f raised
    return values


def five_point(values: dict, h: float = H):
    """The central slope [F(-2h) - 8 F(-h) + 8 F(h) - F(2h)] / 12h, error O(h^4)."""
    return (values[-2] - 8 * values[-1] + 8 * values[1] - values[2]) / (12 * h)


def numerical_gradient(f, x: np.ndarray, h: float = H) -> np.ndarray:
    """dF/dx by central differences: nudge each coordinate of x both ways, see F move.

    `f` takes no argument and returns a number computed from x, which is perturbed in
    place and restored. A student's whole gradient check is then
    ``np.allclose(analytic, numerical_gradient(f, x))``.

    >>> x = np.array([1.0, 2.0])
    >>> numerical_gradient(lambda: float((x**3).sum()), x)  # 3 x^2
    array([ 3., 12.])
    """
    grad = np.empty(x.shape)
    for i in np.ndindex(x.shape):
        grad[i] = np.sum(five_point(evaluate_around(f, x, i, h), h))
    return grad


# -- what gradcheck reports ------------------------------------------------------------------
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


@dataclass(frozen=True)
class Boundary:
    """A coordinate on its domain's edge where the loss is not smooth inward (so its
    one-sided slope, ``numeric``, need not be backward's value): reported, not failed."""

    input: str
    index: tuple
    side: str  # the inward side the slope was taken on: "right" (+) or "left" (-)
    numeric: float
    analytic: float

    def __str__(self) -> str:
        return (
            f"{self.input}{list(self.index)}: on the domain's edge; {self.side}-sided "
            f"slope {self.numeric:.6g}, backward gives {self.analytic:.6g}"
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
    notes: list[str] = field(default_factory=list)
    boundaries: list[Boundary] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        what = "coordinates" if self.mode == "full" else "random directions"
        head = (
            f"{'PASS' if self.passed else 'FAIL'}: {self.checked} {what} checked, "
            f"max relative error {self.max_rel_error:.2e}, max absolute error "
            f"{self.max_abs_error:.2e}, {len(self.kinks)} kink(s)"
            + (f", {len(self.boundaries)} boundary point(s)" if self.boundaries else "")
        )
        lines = [head]
        lines += [f"  note:   {n}" for n in self.notes]
        lines += [f"  failed: {m}" for m in self.failures[:10]]
        lines += [f"  kink:   {k}" for k in self.kinks[:10]]
        lines += [f"  boundary: {b}" for b in self.boundaries[:10]]
        return "\n".join(lines)


# -- gradcheck: which points, and how each is judged ------------------------------------------
@dataclass(frozen=True)
class _Verdict:
    kind: str  # "pass", "kink", "fail" or "boundary"
    error: float  # the relative error that decided
    numeric: float
    left: float
    right: float
    side: str = ""  # for a one-sided verdict: the side it was taken from


def _judge(analytic: float, values: dict, h: float, rtol: float, min_floor: float) -> _Verdict:
    """Pass, kink or fail for one point, from F's element-wise values around it."""
    combo = five_point(values, h)
    numeric = float(combo.sum())
    moved = combo != 0  # outputs this coordinate moves (the others cancel to exactly 0);
    if not np.any(moved):  # none: the change was lost in the rounding of all of them
        moved = np.ones_like(moved, dtype=bool)
    scale = sum(np.abs(values[k][moved]).sum() for k in (-2, -1, 1, 2)) / 4
    floor = max(NOISE_FACTOR * UNIT_ROUNDOFF * scale / h / rtol, min_floor)
    # second-order one-sided slopes from the same points
    right = float((-3 * values[0] + 4 * values[1] - values[2]).sum() / (2 * h))
    left = float((3 * values[0] - 4 * values[-1] + values[-2]).sum() / (2 * h))

    def rel(a, b):
        return abs(a - b) / max(abs(a), abs(b), floor)

    err = rel(analytic, numeric)
    if err <= rtol:
        return _Verdict("pass", err, numeric, left, right)
    slack = rtol * max(abs(left) + abs(right), floor)
    is_kink = abs(right - left) > KINK_JUMP * (abs(left) + abs(right)) + slack
    if is_kink and min(left, right) - slack <= analytic <= max(left, right) + slack:
        return _Verdict("kink", 0.0, numeric, left, right)
    one_sided = max(rel(analytic, left), rel(analytic, right))
    if one_sided <= rtol:  # the curvature jumps (max(0, h)^2 at 0), not the slope: the
        return _Verdict("pass", one_sided, numeric, left, right)  # one-sided slopes hold
    return _Verdict("fail", err, numeric, left, right)


def _check_point(F, x, where, a: float, h: float, rtol: float, min_floor: float, bounds):
    """Judge one point: central differences with step h; near an edge of the input's
    domain with a step the edge is at least `EDGE_MARGIN` stencils away from; on the
    edge, one-sided (see "Inputs with a domain" above)."""
    # far from any edge: the plain check. Without declared bounds an edge is looked for
    # only when the plain check fails (a forward refusing a point within the margin)
    if bounds is None or _fits(F, x, where, EDGE_MARGIN * h, bounds):
        values = _values_inside(F, x, where, h, FIVE, bounds)
        if values is not None:
            verdict = _judge(a, values, h, rtol, min_floor)
            if verdict.kind != "fail" or bounds is not None:
                return verdict
            if _fits(F, x, where, EDGE_MARGIN * h, bounds):  # no edge near: a real failure
                return verdict
    # near an edge: halve the step until the edge is EDGE_MARGIN stencils away
    step = h / 2
    while step >= MIN_STEP:
        if _fits(F, x, where, EDGE_MARGIN * step, bounds):
            values = _values_inside(F, x, where, step, FIVE, bounds)
            if values is not None:
                return _judge(a, values, step, rtol, min_floor)
        step /= 2
    return _one_sided(F, x, where, a, h, rtol, min_floor, bounds)


FIVE = (-2, -1, 0, 1, 2)  # the central stencil's points, in steps


def _fits(F, x, where, step: float, bounds) -> bool:
    """Whether a stencil of `step` around x lies in the domain: inside the declared
    `bounds`, or, with none declared, where forward accepts both of its ends."""
    if bounds is not None:
        return _within(x, where, step, (-2, 2), bounds)
    return _values_inside(F, x, where, step, (-2, 2), None) is not None


def _within(x, where, step: float, ks, bounds) -> bool:
    """Whether every x + k step along `where` (k in `ks`) lies in [low, high] = bounds."""
    low, high = bounds
    at, along = (x, where) if isinstance(where, np.ndarray) else (x[where], 1.0)
    return all(
        bool(np.all((low <= at + k * step * along) & (at + k * step * along <= high))) for k in ks
    )


def _values_inside(F, x, where, step: float, ks, bounds):
    """F around x (`evaluate_around` at the points `ks`), or None where, with no bounds
    declared, forward refuses one of them with a ValueError (x restored either way)."""
    if bounds is not None:  # inside by `_fits`: a refusal there is the loss's own error
        return evaluate_around(F, x, where, step, ks)
    try:
        return evaluate_around(F, x, where, step, ks)
    except ValueError:  # BadInputError: the loss refused a stencil point
        return None


# the fourth-order one-sided slope from F(0), F(h), ..., F(4h): error O(h^4)
ONE_SIDED = (-25 / 12, 48 / 12, -36 / 12, 16 / 12, -3 / 12)


def _one_side(F, x, where, h: float, ks, bounds):
    """F at x + k h for the one-sided points `ks`, or None if one is outside the domain."""
    if bounds is not None and not _within(x, where, h, ks, bounds):
        return None
    return _values_inside(F, x, where, h, ks, bounds)


def _one_sided(F, x, where, a: float, h: float, rtol: float, min_floor: float, bounds):
    """A point on its domain's edge, judged by the inward one-sided slope.

    Backward agrees with it: pass. It disagrees and the inward side is smooth (the
    fourth- and second-order one-sided slopes agree): fail. The inward side is not
    smooth at the step's scale (BCE's -log p clamped at 100 on the edge, 9 at p = h):
    a "boundary" verdict, reported and not failed, since the slope there is the loss's
    own definition. Refused on both sides: fail.
    """
    for side, sign in (("right", 1), ("left", -1)):
        ks = tuple(sign * k for k in range(5))
        values = _one_side(F, x, where, h, ks, bounds)
        if values is None:
            continue
        fourth = sum(c * values[k] for c, k in zip(ONE_SIDED, ks, strict=True))  # O(h^4)
        numeric = sign * float(fourth.sum()) / h
        second = -3 * values[0] + 4 * values[ks[1]] - values[ks[2]]  # O(h^2), to compare
        second = sign * float(second.sum()) / (2 * h)
        scale = sum(np.abs(values[k]).sum() for k in ks) / 5
        floor = max(8 * NOISE_FACTOR * UNIT_ROUNDOFF * scale / h / rtol, min_floor)
        err = abs(a - numeric) / max(abs(a), abs(numeric), floor)
        if err <= rtol:
            return _Verdict("pass", err, numeric, numeric, numeric, side)
        smooth = abs(numeric - second) <= KINK_JUMP * (abs(numeric) + abs(second)) + rtol * floor
        return _Verdict("fail" if smooth else "boundary", err, numeric, numeric, numeric, side)
    return _Verdict("fail", np.inf, np.nan, np.nan, np.nan, "none")  # refused on both sides


def _points(x: np.ndarray, mode: str, directions: int, rng: np.random.Generator):
    """Every coordinate ("full"), or a few random unit directions ("random")."""
    if mode == "full":
        yield from np.ndindex(x.shape)
        return
    for _ in range(directions):
        v = rng.normal(size=x.shape)
        yield v / np.linalg.norm(v)


def _analytic_along(grad: np.ndarray, where) -> float:
    return float((grad * where).sum()) if isinstance(where, np.ndarray) else float(grad[where])


def _wrt(obj, inputs: tuple) -> tuple[list, list[tuple[str, np.ndarray]]]:
    """The inputs with float64 copies of the differentiable ones, and what to perturb."""
    names = list(obj.inputs)
    work = list(inputs)
    targets = []
    for name in obj.differentiable:  # copies: perturbed in place, the caller's untouched
        i = names.index(name)
        work[i] = np.array(inputs[i], dtype=np.float64, copy=True)
        targets.append((name, work[i]))
    for name, param in getattr(obj, "named_parameters", list)():
        if param.data.dtype != np.float64:
            raise TypeError(f"parameter {name}: gradcheck needs float64; got {param.data.dtype}")
        targets.append((name, param.data))
    return work, targets


def _analytic(obj, work: list, g, params: list) -> list[np.ndarray]:
    """backward's gradients: one per differentiable input, then each parameter's .grad."""
    for _, p in params:
        p.grad[...] = 0
    out = obj.backward(g)
    out = list(out) if isinstance(out, tuple) else [out]
    return out + [p.grad.copy() for _, p in params]


def gradcheck(
    loss,
    *inputs,
    h: float = H,
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
    loss : a `numloss.Loss`, a layer of `numloss.train` or a model followed by a loss
        (its ``differentiable`` names the inputs to check; its parameters, if any, are
        checked too).
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
    _check_call(loss, inputs)
    if mode not in ("full", "random"):
        raise ValueError(f"mode: expected 'full' or 'random'; got {mode!r}")
    params = [(n, p) for n, p in getattr(loss, "named_parameters", list)()]
    saved = [p.data.copy() for _, p in params]
    try:
        return _check(loss, inputs, params, h, rtol, min_floor, grad_output, mode, directions, seed)
    finally:  # the parameters as they came, whatever happened (a forward raised mid-check)
        for (_, p), data in zip(params, saved, strict=True):
            p.data[...] = data


def _check_call(loss, inputs: tuple) -> None:
    """A clear TypeError for a class in place of a loss, or the wrong number of inputs."""
    if isinstance(loss, type):
        raise TypeError(
            f"loss: expected a loss object; got the class {loss.__name__} (make one first: "
            f"gradcheck({loss.__name__}(), ...))"
        )
    if not (callable(getattr(loss, "forward", None)) and callable(getattr(loss, "backward", None))):
        raise TypeError(
            f"loss: expected a loss or layer (with forward and backward); got {type(loss).__name__}"
        )
    for attribute in ("inputs", "differentiable"):
        if not isinstance(getattr(loss, attribute, None), tuple | list):
            raise TypeError(
                f"loss: expected a tuple {type(loss).__name__}.{attribute} naming forward's "
                f"inputs{' to check' if attribute == 'differentiable' else ''}, as "
                f"numloss.Loss and numloss.train.Layer have"
            )
    names = tuple(loss.inputs)
    if len(inputs) != len(names):
        raise TypeError(
            f"inputs: expected {len(names)} input(s) for {type(loss).__name__}.forward "
            f"({', '.join(names)}); got {len(inputs)} (call gradcheck(loss, {', '.join(names)}))"
        )


def _check(loss, inputs, params, h, rtol, min_floor, grad_output, mode, directions, seed):
    """gradcheck's work, on the parameters that gradcheck restores afterwards."""
    rng = np.random.default_rng(seed)
    work, targets = _wrt(loss, inputs)
    domain = getattr(loss, "domain", None) or {}

    out = np.asarray(loss.forward(*work), dtype=np.float64)
    if grad_output is None:  # random, non-uniform, never near 0
        g = rng.uniform(0.5, 1.5, size=out.shape) * rng.choice([-1.0, 1.0], size=out.shape)
    else:
        g = np.asarray(grad_output, dtype=np.float64)
    analytic = _analytic(loss, work, g if out.ndim else float(g), params)

    def F():  # the objective, kept element-wise so untouched outputs cancel exactly
        return g * np.asarray(loss.forward(*work), dtype=np.float64)

    result = GradcheckResult(passed=True, max_abs_error=0.0, max_rel_error=0.0, mode=mode)
    found = []  # (name, x, analytic, numeric) of each input that failed
    for (name, x), grad in zip(targets, analytic, strict=True):
        grad = np.asarray(grad)
        if grad.shape != x.shape or not np.all(np.isfinite(grad)):
            result.passed = False
            result.notes.append(
                f"backward's gradient for {name} has shape {grad.shape} and dtype "
                f"{grad.dtype} (finite: {bool(np.all(np.isfinite(grad)))}); expected "
                f"the shape of {name}, {x.shape}, and finite values"
            )
            continue
        numeric = np.full(x.shape, np.nan)  # the numeric gradient, in full mode
        for where in _points(x, mode, directions, rng):
            a = _analytic_along(grad, where)
            verdict = _check_point(F, x, where, a, h, rtol, min_floor, domain.get(name))
            _record(result, name, where, a, verdict)
            if not isinstance(where, np.ndarray):
                numeric[where] = verdict.numeric
        if mode == "full" and any(m.input == name for m in result.failures):
            found.append((name, x, grad, numeric))
    if not result.passed:
        result.notes += _diagnose(loss, work, g, params, analytic, found)
    loss.forward(*work)  # leave the object as after the first forward (parameters restored)
    return result


def _record(result: GradcheckResult, name: str, where, a: float, verdict: _Verdict) -> None:
    """Add one point's verdict to the result."""
    index = ("direction",) if isinstance(where, np.ndarray) else tuple(map(int, where))
    result.checked += 1
    if verdict.kind == "boundary":  # one-sided, not judged: reported below, not counted
        result.boundaries.append(Boundary(name, index, verdict.side, verdict.numeric, a))
        return
    result.max_abs_error = max(result.max_abs_error, abs(a - verdict.numeric))
    result.max_rel_error = max(result.max_rel_error, verdict.error)
    if verdict.kind == "kink":
        result.kinks.append(Kink(name, index, verdict.left, verdict.right, a))
    elif verdict.kind == "fail":
        result.passed = False
        result.failures.append(Mismatch(name, index, a, verdict.numeric, verdict.error))


def _diagnose(obj, work: list, g, params: list, analytic: list, found=()) -> list[str]:
    """What kind of mistake the failure shows: grad_output ignored, or (comparing the
    analytic gradient with the numeric one) the patterns of `numloss.exercises.diagnosis`."""
    from ..exercises.diagnosis import explain_mismatch

    obj.forward(*work)
    doubled = _analytic(obj, work, 2 * g if np.ndim(g) else 2 * float(g), params)
    if all(np.array_equal(a, d) for a, d in zip(analytic, doubled, strict=True)):
        used = f"{float(g):.4g}" if np.ndim(g) == 0 else f"an array of shape {np.shape(g)}"
        return [
            f"backward returned the same gradient for grad_output = g and 2 g (g was {used}): "
            "it must multiply by grad_output, dL/dx = grad_output * dl/dx"
        ]
    return [explain_mismatch(a, n, name, x) for name, x, a, n in found]
