"""What is wrong with a gradient: compare it with the true one and name the mistake.

A wrong backward is rarely wrong at random. Its gradient is usually the true one

- times -1 (a sign flipped),
- times N or 1/N (the mean's 1/N forgotten, or applied twice),
- times a constant (a 2 dropped from a square, a 1/C forgotten),
- with the upstream gradient left out (right for grad_output = 1 only),
- divided by a chain-rule factor (the sigmoid's p (1 - p), the softmax's Jacobian),
- without its one-hot term, or with it at the wrong class,

and each of these leaves a fingerprint in the ratio or the difference of the two
gradients. `match` tries a list of candidates (predicted wrong gradients, each with a
name) and returns the ones the student's gradient equals; `constant_ratio` and
`moved_one_hot` find the two patterns no candidate list predicts; `where_wrong` says which
entries differ, by how much, when nothing fits. The exercises (`numloss.exercises.check`)
and the gradient checker (`numloss.gradcheck`, on a user's own loss) both use them.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

__all__ = ["close", "constant_ratio", "match", "moved_one_hot", "name_factor", "where_wrong"]


def close(a, b, rtol: float = 1e-6, atol_scale: float = 1e-9) -> bool:
    """Whether arrays a and b agree: shapes equal, |a - b| <= rtol |b| + atol_scale s.

    s is the typical size of b's entries (the median of its nonzero ones; of a's when b
    is all 0), so a gradient scaled by 1/N is compared on its own scale, and one huge
    entry (1e29 at p = 1e-30) does not make every other entry's error look small.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return bool(np.array_equal(a, b))
    sizes = np.abs(b[b != 0]) if np.any(b) else np.abs(a[a != 0])
    scale = max(float(np.median(sizes)) if sizes.size else 0.0, 1e-300)
    return bool(np.all(np.abs(a - b) <= rtol * np.abs(b) + atol_scale * scale))


def match(student, candidates, rtol: float = 1e-6) -> list[str]:
    """The names of the candidates ``(name, predicted)`` that `student` equals."""
    return [
        name
        for name, predicted in candidates
        if predicted is not None and close(student, predicted, rtol)
    ]


def constant_ratio(student, truth, rtol: float = 1e-6):
    """c where student = c truth (truth not all 0), else None."""
    s, t = np.asarray(student, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if s.shape != t.shape or not np.isfinite(s).all():
        return None
    scale = np.abs(t).max(initial=0.0)
    big = np.abs(t) > 1e-3 * scale
    if scale == 0 or not big.any():
        return None
    c = float(np.median(s[big] / t[big]))
    if c == 0 or not close(s, c * t, rtol):
        return None
    return c


def name_factor(c: float, counts: dict[str, int] | None = None) -> str:
    """c as a reader would write it: "2", "1/2", "N = 4", "1/N = 1/4", "-1", "0.37"."""
    for label, n in (counts or {}).items():
        if n > 1 and abs(c - n) <= 1e-6 * n:
            return f"{label} = {n}"
        if n > 1 and abs(c - 1 / n) <= 1e-6 / n:
            return f"1/{label} = 1/{n}"
    f = Fraction(c).limit_denominator(12)
    if abs(float(f) - c) <= 1e-6 * abs(c):
        return str(f)
    return f"{c:.4g}"


def moved_one_hot(student, truth, axis: int = 1):
    """Rows where the one-hot term sits at another class: (true class, used class) pairs.

    The difference student - truth then has, in each row it touches, one entry +b at the
    true class (its -b missing) and one -b at another (put there instead). Returns the
    list of (row, true_class, used_class) for those rows, or None if the difference has
    any other shape.
    """
    s, t = np.asarray(student, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if s.shape != t.shape or s.ndim != 2 or not np.isfinite(s).all():
        return None
    d = np.moveaxis(s - t, axis, -1)
    scale = max(np.abs(t).max(initial=0.0), 1e-300)
    found = []
    for n, row in enumerate(d):
        big = np.flatnonzero(np.abs(row) > 1e-6 * scale)
        if big.size == 0:
            continue
        if big.size != 2:
            return None
        i, j = big
        if not (row[i] * row[j] < 0 and abs(row[i] + row[j]) <= 1e-6 * abs(row[i])):
            return None
        plus, minus = (i, j) if row[i] > 0 else (j, i)
        found.append((n, int(plus), int(minus)))
    return found or None


def where_wrong(
    student, truth, name: str = "gradient", shown: int = 5, labels=("yours", "true")
) -> str:
    """Which entries differ and by how much, when no pattern fits."""
    s, t = np.asarray(student, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if s.shape != t.shape:
        return f"{name}: shape {s.shape}, expected {t.shape}"
    scale = max(np.abs(t).max(initial=0.0), 1e-300)
    with np.errstate(invalid="ignore"):
        wrong = ~(np.abs(s - t) <= 1e-6 * np.abs(t) + 1e-9 * scale)
    idx = np.argwhere(wrong)
    lines = [f"{name}: {len(idx)} of {t.size} entries are wrong"]
    for i in idx[:shown]:
        i = tuple(int(k) for k in i)
        lines.append(
            f"  {name}{list(i)}: {labels[0]} {s[i]:.6g}, {labels[1]} {t[i]:.6g}"
            + (f" (off by {s[i] - t[i]:.3g})" if np.isfinite(s[i] - t[i]) else "")
        )
    if len(idx) > shown:
        lines.append(f"  ... and {len(idx) - shown} more")
    if t.ndim == 2 and len(idx) and len(set(int(k) for k in idx[:, 1])) == 1:
        lines.append(f"  (all in column {int(idx[0, 1])})")
    return "\n".join(lines)


def ratio_is(student, truth, factor, rtol: float = 1e-5) -> bool:
    """Whether student = truth / factor (a chain-rule factor missing) where it can be seen."""
    s, t, f = (np.asarray(v, dtype=np.float64) for v in (student, truth, factor))
    if s.shape != t.shape or not np.isfinite(s).all():
        return False
    f = np.broadcast_to(f, t.shape)
    seen = (np.abs(f) > 1e-6) & (np.abs(t) > 1e-9 * max(np.abs(t).max(initial=0.0), 1e-300))
    if not seen.any() or np.allclose(f[seen], 1.0):
        return False
    return close(s[seen], t[seen] / f[seen], rtol)


def explain_mismatch(analytic, numeric, name: str = "input", x=None) -> str:
    """What a wrong analytic gradient shows against the numeric one, in one or a few lines.

    Used by `numloss.gradcheck` on a user's own loss, where no reference gradient is known:
    the numeric gradient is the truth (to about 1e-9 relative, hence the looser match).
    """
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    rtol = 1e-5
    head = f"backward's gradient for {name}"
    labels = ("backward", "numeric")
    if not np.isfinite(n).all() or a.shape != n.shape:
        return where_wrong(a, n, name, labels=labels)
    counts = {}
    if x is not None and np.ndim(x) >= 1:
        counts = {"N": np.shape(x)[0], "the number of elements": int(np.size(x))}
        if np.ndim(x) == 2:
            counts["C"] = np.shape(x)[1]
    if close(a, -n, rtol):
        return f"{head} is minus the true one: a sign is flipped (revisit each term's sign)"
    c = constant_ratio(a, n, rtol)
    if c is not None and abs(c - 1) > 1e-3:  # a factor of 1.000001 is an entry off, not a factor
        label = name_factor(c, counts)
        why = (
            "the mean's 1/N is missing"
            if label.startswith(("N", "the number"))
            else "divided by N twice"
            if label.startswith("1/")
            else "a constant factor: a 2 dropped from a square, a 1/C forgotten?"
        )
        return f"{head} is {label} times the true one: {why}"
    if x is not None:
        from ..primitives import sigmoid

        s = sigmoid(np.asarray(x, dtype=np.float64))
        if ratio_is(a, n, s * (1 - s), rtol):
            return (
                f"{head} is the true one divided by sigmoid(x) (1 - sigmoid(x)): a chain-rule "
                "factor, the sigmoid's slope p (1 - p), is missing"
            )
    scale = max(np.abs(n).max(initial=0.0), 1e-300)
    # a softmax's gradient a p - B sums to 0 over each row (sum_k p_k = 1, sum_k B_k = a):
    # only then can a one-hot term be what is missing or misplaced
    if a.ndim == 2 and np.allclose(n.sum(axis=1), 0, rtol=0, atol=1e-6 * scale):
        moved = moved_one_hot(a, n)
        if moved:
            row, y, k = moved[0]
            return (
                f"{head}: the one-hot term sits at the wrong class (row {row}: at {k}, where "
                f"the target's {y} wanted it)"
            )
        d = a - n
        per_row = (np.abs(d) > 1e-5 * scale).sum(axis=1)
        if per_row.max(initial=0) == 1 and (d[np.abs(d) > 1e-5 * scale] > 0).all():
            return (
                f"{head} is too large at one class per row (the target's): the one-hot term "
                "(p - one-hot, not p) is missing"
            )
    return where_wrong(a, n, name, labels=labels)
