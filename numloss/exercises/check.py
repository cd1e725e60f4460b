"""Check a student's backward against the true one, and say which step went wrong.

`check_file` loads a student's file (written by ``numloss exercise start``), finds the
class it defines, and `check_class` runs it on the exercise's cases (`Exercise.cases`:
several shapes, seeds, both reductions, grad_output 1 and others, the options, the
lesson's own numbers, extreme inputs, float32) beside the shipped class, whose gradient is
the truth (the gradient checker checks it in the tests). Where they differ, the student's
gradient is compared with the wrong gradients typical of the mistakes (see
`numloss.exercises.diagnosis`) and the one it equals is named, with the step of the
derivation to revisit and the lesson section.
"""

from __future__ import annotations

import importlib.util
import linecache
import os
import re
import sys
import traceback
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from .. import fast
from . import diagnosis as dg
from .registry import Case, Exercise, find

__all__ = ["Diagnosis", "Result", "check_class", "check_file", "load"]

# what each mistake is called, and the step to revisit unless the exercise says better
TITLES = {
    "sign": "the sign is flipped",
    "mean_forgotten": "N times too large: the mean's 1/N is missing",
    "mean_twice": "N times too small: divided by N twice",
    "factor": "off by a constant factor",
    "upstream": "the upstream gradient is ignored (right for grad_output = 1 only)",
    "chain": "a chain-rule factor is missing",
    "one_hot": "the one-hot (true-class) term is missing or misplaced",
    "option": "right for plain inputs, wrong with an option",
    "unstable": "NaN or inf at extreme inputs: an unstable form",
    "shape_dtype": "wrong shape or dtype",
    "mutation": "an input array (or forward's parts) was modified",
    "accumulate": "a parameter's gradient is assigned, not added",
    "not_started": "not started yet: the body still raises NotImplementedError",
    "raised": "your code raised an error",
    "wrong_entries": "wrong entries (no known mistake fits)",
}
STEPS = {
    "sign": "the signs of the derivation: d(-log p)/dp = -1/p, d(-x)/dx = -1",
    "mean_forgotten": "the last step, the chain rule: multiply by dl, which holds the mean's "
    "1/N (dL/dl_n = grad_output / N)",
    "mean_twice": "the last step: dl already holds the mean's 1/N; do not divide by N again",
    "factor": "each term's derivative: the exponent of a square (d x^2/dx = 2x), a 1/C",
    "upstream": "the last step, the chain rule: dL/dx = dl * dl_n/dx; dl holds grad_output "
    "(and the mean's 1/N): multiply by it",
    "chain": "the chain rule: one factor per step from the loss down to the input",
    "one_hot": "the target's term of the derivative",
    "option": "the formula's option terms",
    "shape_dtype": "the result's shape, the input's (see parts), and its dtype, the input's: "
    "np.zeros, np.ones, np.eye and a comparison times 1.0 make float64, so pass "
    "dtype=parts.<input>.dtype or use zeros_like",
    "mutation": "build a new array: never -=, += or out= on an array of parts (they are the "
    "caller's inputs, or what the next backward reads)",
    "accumulate": "the parameter gradients: self.weight.grad += ..., accumulated over "
    "backwards until zero_grad()",
    "not_started": "the whole derivation: replace `raise NotImplementedError(...)` by your code",
    "raised": "the line shown",
    "wrong_entries": "the entries shown",
}
# when several mistakes fit every failing check, the most telling one is named
PRIORITY = (
    "one_hot",
    "chain",
    "option",
    "upstream",
    "mean_forgotten",
    "mean_twice",
    "sign",
    "factor",
)


@dataclass
class Diagnosis:
    kind: str
    title: str
    detail: str
    step: str
    section: str

    def __str__(self) -> str:
        lesson = f"\nIn the lesson: {self.section}." if self.section else ""
        return f"DIAGNOSIS: {self.title}.\n{self.detail}\nRevisit: {self.step}.{lesson}"


@dataclass
class Outcome:
    name: str
    group: str
    passed: bool
    kind: str | None = None
    kinds: list = field(default_factory=list)  # every mistake this check's gradient fits
    detail: str = ""


@dataclass
class Result:
    exercise: str
    file: str | None
    passed: bool
    score: float
    diagnosis: Diagnosis | None
    tests: list
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict:
        return {
            "exercise": self.exercise,
            "file": self.file,
            "passed": self.passed,
            "score": self.score,
            "diagnosis": None if self.diagnosis is None else asdict(self.diagnosis),
            "tests": [asdict(t) for t in self.tests],
        }


class _Stop(Exception):
    """A check that cannot go on: the student's code raised or was not started."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind, self.detail = kind, detail


# -- loading a student's file --------------------------------------------------------------
def load(path: str):
    """(exercise name, the student's class) from a file written by ``exercise start``."""
    path = os.path.abspath(path)
    spec = importlib.util.spec_from_file_location("numloss_exercise_student", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)  # its `if __name__ == "__main__"` cell does not run
    except BaseException as err:  # noqa: BLE001 (a student's file may raise anything)
        if isinstance(err, KeyboardInterrupt):
            raise
        raise _Stop("raised", _their_error(err, path, "loading your file")) from None
    name = getattr(module, "EXERCISE", None)
    if name is None:
        raise _Stop("raised", f'{path} sets no EXERCISE = "...": is it an exercise file?')
    ex = find(name)
    mine = [
        v
        for v in vars(module).values()
        if isinstance(v, type)
        and issubclass(v, ex.reference)
        and v is not ex.reference
        and v.__module__ == module.__name__
    ]
    if not mine:
        raise _Stop("raised", f"{path} defines no subclass of {ex.reference.__name__}")
    return ex, mine[0]


def _their_error(err: BaseException, path: str | None, doing: str) -> str:
    """The student's error at their own file and line, without numloss's frames."""
    frames = traceback.extract_tb(err.__traceback__)
    theirs = [f for f in frames if path and os.path.abspath(f.filename) == path]
    if isinstance(err, SyntaxError) and err.filename and path:
        where = f"{err.filename}, line {err.lineno}\n    {(err.text or '').strip()}"
    elif theirs:
        f = theirs[-1]
        where = f"{f.filename}, line {f.lineno}, in {f.name}\n    {f.line}"
    else:
        outside = [f for f in frames if f"{os.sep}numloss{os.sep}" not in f.filename]
        f = (outside or frames or [None])[-1]
        where = "" if f is None else f"{f.filename}, line {f.lineno}, in {f.name}\n    {f.line}"
    hint = ""
    if isinstance(err, ValueError) and "could not be broadcast" in str(err):
        hint = (
            "\n  (dl holds one value per sample: to multiply it into a gradient over the "
            "classes, line it up with them first: over_classes(dl), dl[:, None])"
        )
    return f"{type(err).__name__}: {err}\n  while {doing}, at {where}{hint}"


# -- running one case ----------------------------------------------------------------------
def _copy(inputs):
    return tuple(np.array(v, copy=True) if isinstance(v, np.ndarray) else v for v in inputs)


def _grad_output(case: Case, shape, dtype):
    if isinstance(case.grad_output, str):
        if case.grad_output == "ones":
            return np.ones(shape, dtype)
        rng = np.random.default_rng(1000 + case.seed)
        return (rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)).astype(dtype)
    return case.grad_output


def _outputs(obj, grad, ex: Exercise) -> tuple:
    if not ex.is_layer:
        return tuple(grad) if isinstance(grad, tuple) else (grad,)
    out = [grad]
    for _, p in obj.named_parameters():
        out.append(p.grad.copy())
    if len(out) < len(ex.outputs):
        out += [None] * (len(ex.outputs) - len(out))
    return tuple(out)


def _run(ex: Exercise, cls, case: Case, path: str | None):
    """(reference object, its gradient, dl, the student's gradient, what went wrong or None)."""
    ref, mine = ex.build(ex.reference, case), ex.build(cls, case)
    inputs, theirs, saved = _copy(case.inputs), _copy(case.inputs), _copy(case.inputs)
    # the reference on its reading path, whatever the inputs' size: the diagnosis reads its
    # parts (a kernel's record is not them), and the student's class, which writes its
    # own _gradient, runs its reading path too (numloss.base: no inherited kernel)
    with fast.path("reading"):
        out = ref.forward(*inputs)
        g = _grad_output(case, np.shape(out), np.asarray(out).dtype)
        r = _outputs(ref, ref.backward(g), ex)
    dl = g if ex.is_layer else ref.loss_derivative(g)
    try:
        mine.forward(*theirs)
        s = _outputs(mine, mine.backward(g), ex)
        s = tuple(None if v is None else np.array(v, copy=True) for v in s)
        if ex.is_layer:
            mine.zero_grad()
        again = _outputs(mine, mine.backward(g), ex)
        again = tuple(None if v is None else np.array(v, copy=True) for v in again)
        twice = _outputs(mine, mine.backward(g), ex) if ex.is_layer else again
    except NotImplementedError as err:
        raise _Stop("not_started", f"{ex.method} still raises NotImplementedError: {err}") from None
    except Exception as err:  # the student's code, any error
        raise _Stop("raised", _their_error(err, path, f'checking "{case.label}"')) from None
    return ref, r, dl, s, _misuse(ex, case, saved, theirs, s, again, twice)


def _misuse(ex: Exercise, case: Case, saved, theirs, s, again, twice):
    """(kind, detail) when backward changed an array it should not have, else None."""
    for before, after in zip(saved, theirs, strict=True):
        if isinstance(before, np.ndarray) and not np.array_equal(before, after, equal_nan=True):
            detail = f'your backward changed the caller\'s input array in place, in "{case.label}"'
            return "mutation", detail
    for a, b in zip(s, again, strict=True):
        if a is not None and b is not None and not np.array_equal(a, b, equal_nan=True):
            detail = (
                "a second backward gave another gradient: your backward changed forward's "
                "parts in place"
            )
            return "mutation", detail
    parameters = zip(ex.outputs[1:], again[1:], twice[1:], strict=True) if ex.is_layer else ()
    for name, once, two in parameters:  # a layer's .grad: added over backwards
        if once is not None and not dg.close(two, 2 * once):
            detail = (
                f"two backwards without zero_grad() left {name} at one backward's value: "
                "add into .grad (+=), as PyTorch does, do not assign it"
            )
            return "accumulate", detail
    return None


# -- judging one case ----------------------------------------------------------------------
def _compare(ex: Exercise, case: Case, r: tuple, s: tuple):
    """None when the student's outputs are right, else (output index, kind or None, detail)."""
    rtol = 1e-4 if case.group == "dtype" else 1e-6
    if len(s) != len(r):
        return 0, "shape_dtype", f"backward returned {len(s)} gradient(s); expected {len(r)}"
    for i, (a, b) in enumerate(zip(s, r, strict=True)):
        name = ex.outputs[i]
        if b is None:
            continue
        a = np.asarray(a) if a is not None else None
        if a is None or a.shape != b.shape:
            got = "None" if a is None else f"shape {a.shape}"
            return (
                i,
                "shape",
                f'{name}: yours has {got}; expected shape {b.shape} (in "{case.label}")',
            )
        if a.dtype != b.dtype:
            return (
                i,
                "dtype",
                (f'{name}: yours has dtype {a.dtype}; expected {b.dtype} (in "{case.label}")'),
            )
        bad = ~np.isfinite(a) & np.isfinite(b)
        if bad.any():
            where = tuple(int(k) for k in np.argwhere(bad)[0])
            return (
                i,
                "unstable",
                (
                    f"{name}{list(where)} is {a[where]} where the true value is {b[where]:.4g} "
                    f'(in "{case.label}", input {_show(case.inputs[0], where)})'
                ),
            )
        if not dg.close(a, b, rtol):
            return i, None, ""
    return None


def _show(x, where):
    try:
        return f"{np.asarray(x)[where]:.4g}"
    except (IndexError, TypeError, ValueError):
        return "values"


def _counts(ex: Exercise, case: Case, ref) -> dict:
    """The numbers a wrong gradient may be scaled by: the mean's D, N, the classes C."""
    x = np.asarray(case.inputs[0])
    counts = {}
    last = getattr(ref, "_last", None)
    if not ex.is_layer and case.reduction in ("mean", "batchmean") and last is not None:
        counts["N"] = int(round(float(last.denominator)))
    if x.ndim >= 1:
        counts.setdefault("N", x.shape[0])
    if x.ndim == 2 and ex.name not in ("linear", "triplet"):
        counts["C"] = x.shape[1]
    return counts


def _candidates(ex: Exercise, case: Case, ref, r: tuple, dl) -> list:
    """(kind, detail, outputs) for the mistakes this case could show."""
    out = []
    try:
        out += ex.variants(ref, case, dl, r)
    except Exception:  # noqa: BLE001 (a variant that cannot apply to these inputs)
        pass

    def rerun(new_dl):
        if ex.is_layer:
            ref.zero_grad()
            return _outputs(ref, ref.backward(new_dl), ex)
        grad = ref._gradient(ref._record, new_dl)
        return tuple(grad) if isinstance(grad, tuple) else (grad,)

    counts = _counts(ex, case, ref)
    N = counts.get("N", 1)
    if ex.is_layer:
        out.append(
            ("upstream", "you used 1 where g (grad_output) was due", rerun(np.ones_like(dl)))
        )
        if N > 1:
            out.append(
                (
                    "mean_twice",
                    f"yours is the true one divided by N = {N}: g already "
                    "holds the loss's mean, do not average over the batch",
                    rerun(dl / N),
                )
            )
        return out
    g = 1.0 if case.grad_output is None else np.asarray(_grad_output(case, np.shape(dl), float))
    mean = case.reduction in ("mean", "batchmean")
    D = float(ref._last.denominator) if mean else 1.0
    with np.errstate(all="ignore"):
        out.append(
            (
                "upstream",
                "you did not multiply by dl: it holds grad_output"
                + (f" and the mean's 1/N (N = {D:g})" if mean else ""),
                rerun(np.ones_like(dl) if np.ndim(dl) else dl.dtype.type(1)),
            )
        )
        if np.ndim(g) or float(g) != 1:
            out.append(
                (
                    "upstream",
                    "grad_output is missing: yours is right for grad_output = 1",
                    rerun(dl / g),
                )
            )
        if mean and D > 1:
            out.append(
                (
                    "mean_forgotten",
                    f"yours is N = {D:g} times the true one: the mean's 1/N is missing",
                    rerun(dl * D),
                )
            )
        for label, n in {"N": N, "the number of elements": np.asarray(case.inputs[0]).size}.items():
            if n > 1:
                out.append(
                    (
                        "mean_twice",
                        f"yours is the true one divided by {label} = {n}: dl "
                        "already holds the mean's 1/N",
                        rerun(dl / n),
                    )
                )
    return out


def _kinds(ex: Exercise, case: Case, ref, r: tuple, dl, s: tuple, i: int) -> dict:
    """{kind: detail} for every mistake output i of the student's gradient fits."""
    found = {}
    rtol = 1e-4 if case.group == "dtype" else 1e-5
    for kind, detail, outputs in _candidates(ex, case, ref, r, dl):
        pred = outputs[i] if i < len(outputs) else None
        if pred is not None and not dg.close(pred, r[i], rtol) and dg.close(s[i], pred, rtol):
            found.setdefault(kind, detail)
    name = ex.outputs[i]
    if dg.close(s[i], -r[i], rtol):
        found.setdefault("sign", f"{name}: yours is minus the true one")
    c = dg.constant_ratio(s[i], r[i], rtol)
    if c is not None and abs(abs(c) - 1) > 1e-6 and not found:
        label = dg.name_factor(c, _counts(ex, case, ref))
        found["factor"] = f"{name}: yours is {label} times the true one"
    if "one_hot" not in found and np.ndim(r[i]) == 2 and not ex.is_layer:
        moved = dg.moved_one_hot(s[i], r[i])
        if moved:
            n, y, k = moved[0]
            found["one_hot"] = (
                f"{name}: the one-hot term sits at the wrong class (sample {n}: at class {k}, "
                f"the target being {y})"
            )
    return found


# -- the whole check ------------------------------------------------------------------------
def check_class(cls, exercise, seed: int = 0, path: str | None = None) -> Result:
    """Check the student's class `cls` on the exercise's cases (see the module docstring)."""
    ex = find(exercise) if isinstance(exercise, str) else exercise
    if path is None:
        try:
            path = os.path.abspath(sys.modules[cls.__module__].__file__)
        except (KeyError, AttributeError, TypeError):
            path = None
    outcomes, failures = [], []
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for case in ex.cases(seed):
                ref, r, dl, s, wrong = _run(ex, cls, case, path)
                if wrong is not None:
                    return _result(
                        ex,
                        path,
                        outcomes,
                        Diagnosis(
                            wrong[0], TITLES[wrong[0]], wrong[1], _step(ex, wrong[0]), ex.where()
                        ),
                    )
                bad = _compare(ex, case, r, s)
                if bad is None:
                    outcomes.append(Outcome(case.label, case.group, True))
                    continue
                i, kind, detail = bad
                if kind in ("shape", "dtype"):  # a wrong shape stops the check; a dtype is
                    kind = "shape_dtype"  # named when nothing else is wrong
                    outcomes.append(Outcome(case.label, case.group, False, kind, [kind], detail))
                    if bad[1] == "shape":
                        return _result(
                            ex,
                            path,
                            outcomes,
                            Diagnosis(kind, TITLES[kind], detail, _step(ex, kind), ex.where()),
                        )
                    failures.append((case, {kind: detail}, i, s, r))
                    continue
                kinds = {kind: detail} if kind else _kinds(ex, case, ref, r, dl, s, i)
                if not kinds:
                    detail = dg.where_wrong(s[i], r[i], ex.outputs[i]) + f'\n  (in "{case.label}")'
                outcomes.append(Outcome(case.label, case.group, False, None, list(kinds), detail))
                failures.append((case, kinds, i, s, r))
    except _Stop as stop:
        if stop.kind == "raised" and case.group == "option" and all(o.passed for o in outcomes):
            names = ", ".join(case.option_names)  # plain checks pass; an option makes it raise
            return _result(
                ex,
                path,
                outcomes,
                Diagnosis(
                    "option",
                    f"{TITLES['option']} ({names})",
                    stop.detail,
                    _step(ex, "option"),
                    ex.where(),
                ),
            )
        return _result(
            ex,
            path,
            outcomes,
            Diagnosis(stop.kind, TITLES[stop.kind], stop.detail, _step(ex, stop.kind), ex.where()),
        )
    if not failures:
        return _result(ex, path, outcomes, None, _right(ex, cls, seed))
    diagnosis = _diagnose(ex, failures)
    for o in outcomes:
        if not o.passed:
            o.kind = diagnosis.kind if diagnosis.kind in o.kinds or not o.kinds else o.kinds[0]
    return _result(ex, path, outcomes, diagnosis)


def _step(ex: Exercise, kind: str) -> str:
    if kind == "unstable" and ex.stable:
        return ex.stable
    return ex.steps.get(kind, STEPS.get(kind, ""))


def _diagnose(ex: Exercise, failures: list) -> Diagnosis:
    """One diagnosis from every failing check: the mistake all the plain failures share."""
    core = [
        f
        for f in failures
        if f[0].group in ("plain", "upstream", "lesson") and "shape_dtype" not in f[1]
    ]
    if core:
        common = set(core[0][1])
        for f in core[1:]:
            common &= set(f[1])
        kind = next((k for k in PRIORITY if k in common), None)
        if kind is None:
            kind = next((k for k in PRIORITY if k in core[0][1]), None)
        if kind is None:
            case, _, i, s, r = core[0]
            return Diagnosis(
                "wrong_entries",
                TITLES["wrong_entries"],
                dg.where_wrong(s[i], r[i], ex.outputs[i]) + f'\n  (in "{case.label}")',
                _step(ex, "wrong_entries"),
                ex.where(),
            )
        detail = next(f[1][kind] for f in core if kind in f[1])
        title = TITLES[kind]
        if kind == "option":  # an option every check has (label_smoothing in ce-smoothing)
            title = f"wrong with an option ({detail.split(':')[0]})"
        return Diagnosis(kind, title, detail, _step(ex, kind), ex.where())
    options = [f for f in failures if f[0].group == "option" and "shape_dtype" not in f[1]]
    if options:
        names = []
        for f in options:
            names += [n for n in f[0].option_names if n not in names]
        details = [d for f in options for k, d in f[1].items() if k == "option"]
        detail = (
            details[0]
            if details
            else (
                f"every plain check passes; the checks with {', '.join(names)} fail:\n"
                + dg.where_wrong(
                    options[0][3][options[0][2]],
                    options[0][4][options[0][2]],
                    ex.outputs[options[0][2]],
                )
            )
        )
        return Diagnosis(
            "option",
            f"{TITLES['option']} ({', '.join(names)})",
            detail,
            _step(ex, "option"),
            ex.where(),
        )
    failures.sort(key=lambda f: "shape_dtype" in f[1])  # a dtype last
    case, kinds, i, s, r = failures[0]
    if "shape_dtype" in kinds:
        return Diagnosis(
            "shape_dtype",
            TITLES["shape_dtype"],
            kinds["shape_dtype"],
            _step(ex, "shape_dtype"),
            ex.where(),
        )
    if case.group == "extreme":
        return Diagnosis(
            "unstable",
            TITLES["unstable"],
            kinds.get("unstable")
            or "at extreme inputs yours differs from the true gradient:\n"
            + dg.where_wrong(s[i], r[i], ex.outputs[i]),
            _step(ex, "unstable"),
            ex.where(),
        )
    return Diagnosis(
        "shape_dtype",
        TITLES["shape_dtype"],
        f"right in float64, wrong in float32:\n{dg.where_wrong(s[i], r[i])}",
        _step(ex, "shape_dtype"),
        ex.where(),
    )


def _right(ex: Exercise, cls, seed: int) -> str:
    """What the student derived, shown on the lesson's numbers."""
    case = next(c for c in ex.cases(seed) if c.group == "lesson")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        _, _, _, s, _ = _run(ex, cls, case, None)
    shown = "\n".join(
        f"  {name} = {np.array2string(np.asarray(v), precision=4, separator=', ')}"
        for name, v in zip(ex.outputs, s, strict=True)
        if v is not None
    )
    return (
        f"RIGHT: {ex.name}. What you derived: {ex.answer}.\n"
        f"On the lesson's numbers ({ex.where()}):\n{shown}"
    )


def _result(ex, path, outcomes, diagnosis, right: str | None = None) -> Result:
    total = max(len(ex.cases(0)), 1)
    passed = sum(o.passed for o in outcomes)
    score = passed / total if diagnosis is not None else 1.0
    ok = diagnosis is None
    checked = f"{len(outcomes)} checks" if ok else f"{passed} of {total} checks passed"
    message = (
        right + f"\n({checked}: shapes, reductions, grad_output, options, extreme inputs)"
        if ok
        else f"WRONG: {ex.name} ({checked}).\n{diagnosis}"
    )
    return Result(ex.name, path, ok, round(score, 3), diagnosis, outcomes, message)


def check_file(path: str, seed: int = 0) -> Result:
    """Load a student's file and check its class."""
    path = os.path.abspath(path)
    linecache.checkcache(path)
    try:
        ex, cls = load(path)
    except _Stop as stop:  # the file itself raised: its exercise from its EXERCISE line
        try:
            with open(path, encoding="utf-8") as f:
                named = re.search(r'^EXERCISE = "([^"]+)"', f.read(), re.MULTILINE)
            ex = find(named.group(1))
            name, section = ex.name, ex.where()
        except (OSError, AttributeError, KeyError):
            name, section = "?", ""
        d = Diagnosis(stop.kind, TITLES[stop.kind], stop.detail, STEPS[stop.kind], section)
        return Result(name, path, False, 0.0, d, [], f"WRONG: {path}.\n{d}")
    except KeyError as err:
        d = Diagnosis("raised", "unknown exercise", str(err.args[0]), "the EXERCISE line", "")
        return Result("?", path, False, 0.0, d, [], f"WRONG: {path}.\n{d}")
    return check_class(cls, ex, seed, path)
