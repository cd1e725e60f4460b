"""The exercises (numloss.exercises): each mistake, made by changing the reference
solution, is named by the check; correct solutions are never diagnosed; the CLI."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from numloss import cli
from numloss import exercises as E
from numloss._classes import over_classes
from numloss.exercises.losses import SigmoidMSELoss
from numloss.gradcheck import gradcheck
from numloss.ranking import p_norm_gradient


# -- the mistakes, each a change of the reference solution ----------------------------------
def _loss(ref, gradient):
    """A subclass of the reference whose _gradient is `gradient(self, parts, dl, true)`,
    `true` being the reference's own _gradient (a function of parts and dl)."""

    def _gradient(self, parts, dl):
        return gradient(self, parts, dl, lambda p, d: ref._gradient(self, p, d))

    return type("Student" + ref.__name__, (ref,), {"_gradient": _gradient})


def _layer(ref, backward):
    def _backward(self, r, g):
        return backward(self, r, g, lambda rr, gg: ref._backward(self, rr, gg))

    return type("Student" + ref.__name__, (ref,), {"_backward": _backward})


def _each(grad, f):
    return tuple(f(v) for v in grad) if isinstance(grad, tuple) else f(grad)


def _first_array(parts):
    return next(v for v in parts if isinstance(v, np.ndarray) and v.dtype.kind == "f")


def _mutate(self, parts, dl, true):
    grad = true(parts, dl)
    _first_array(parts)[...] += 0.25  # in place on forward's parts (often the caller's input)
    return grad


def _not_started(self, parts, dl, true):
    raise NotImplementedError("derive dl/dx")


GENERIC_LOSS = {
    "sign": lambda self, parts, dl, true: _each(true(parts, dl), lambda g: -g),
    # the mean's 1/N forgotten: dl times the mean's denominator
    "mean_forgotten": lambda self, parts, dl, true: true(
        parts, dl * self._last.denominator if self.reduction in ("mean", "batchmean") else dl
    ),
    # divided by N although dl holds the mean's 1/N already
    "mean_twice": lambda self, parts, dl, true: _each(
        true(parts, dl), lambda g: g / self._last.denominator
    ),
    "factor": lambda self, parts, dl, true: _each(true(parts, dl), lambda g: 0.5 * g),
    "upstream": lambda self, parts, dl, true: true(parts, np.ones_like(dl)),
    "shape_dtype": lambda self, parts, dl, true: _each(true(parts, dl), lambda g: g[..., None]),
    "dtype": lambda self, parts, dl, true: _each(true(parts, dl), lambda g: g.astype(np.float64)),
    "mutation": _mutate,
    "not_started": _not_started,
    "raised": lambda self, parts, dl, true: parts.no_such_part * dl,  # their own AttributeError
}
GENERIC_LAYER = {
    "sign": lambda self, r, g, true: -true(r, g),
    "mean_twice": lambda self, r, g, true: true(r, g / g.shape[0]),
    "factor": lambda self, r, g, true: true(r, 2 * g),
    "upstream": lambda self, r, g, true: true(r, np.ones_like(g)),
    "shape_dtype": lambda self, r, g, true: true(r, g)[..., None],
    "mutation": lambda self, r, g, true: (true(r, g), _first_array(r).__iadd__(0.25))[0],
    "not_started": lambda self, r, g, true: (_ for _ in ()).throw(NotImplementedError("dL/dx")),
    "raised": lambda self, r, g, true: r.no_such_part * g,
}


def _onehot(parts):
    hot = np.zeros_like(parts.log_p)
    np.put_along_axis(hot, parts.y, 1.0, axis=1)
    return hot


def _naive_softmax(z):
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _triplet(self, parts, dl, true, norm_gradient, swap=True):
    """The reference's derivation with the norm's gradient `norm_gradient(v, d)`."""
    r = parts
    g_ap = norm_gradient(r.v_ap, r.d_ap)
    g_an = norm_gradient(r.v_an, r.d_an)
    if swap:
        g_an = np.where(r.swapped[:, None], 0, g_an)
    d_a, d_pos, d_neg = g_ap - g_an, -g_ap, g_an
    if self.swap and swap:
        g_pn = np.where(r.swapped[:, None], norm_gradient(r.v_pn, r.d_pn), 0)
        d_pos, d_neg = d_pos - g_pn, d_neg + g_pn
    scale = (r.active * dl)[:, None]
    return d_a * scale, d_pos * scale, d_neg * scale


def _ce_option(self, parts, dl, true):  # p - t: right for a plain target, not with options
    return (parts.p - parts.t) * over_classes(dl)


def _ce_one_hot(self, parts, dl, true):  # a p: the one-hot term forgotten
    return parts.a * parts.p * over_classes(dl)


def _ce_chain(self, parts, dl, true):  # -B / p: stopped before the softmax
    with np.errstate(divide="ignore"):
        return np.where(parts.B > 0, -parts.B / parts.p, 0) * over_classes(dl)


def _ce_unstable(self, parts, dl, true):  # the softmax recomputed without subtracting the max
    return (parts.a * _naive_softmax(parts.z) - parts.B) * over_classes(dl)


def _ce_wrong_class(self, parts, dl, true):  # the one-hot rolled to the next class
    return (parts.a * parts.p - np.roll(parts.B, 1, axis=1)) * over_classes(dl)


def _multi_margin(self, parts, dl, true, with_y=True, use_p=True, over_C=True):
    C = parts.h.shape[1]
    if self.p == 1 or not use_p:
        grad = (parts.h_plus > 0).astype(parts.h.dtype)
    else:
        grad = 2 * parts.h_plus
    grad = grad * parts.w_y / (C if over_C else 1)
    if with_y:
        np.put_along_axis(grad, parts.y, -grad.sum(axis=1, keepdims=True), axis=1)
    return grad * over_classes(dl)


def _nll(self, parts, dl, true, weighted=True):
    grad = np.zeros_like(parts.log_p)
    w_y = parts.w_y if weighted else 1.0
    np.put_along_axis(grad, parts.y, -w_y * over_classes(dl) + 0.0, axis=1)
    return grad


SPECIFIC = {
    "bce-logits": {
        "chain": lambda self, parts, dl, true: (
            (parts.sigmoid_x - parts.a) / (parts.sigmoid_x * parts.sigmoid_neg_x) * dl
        ),
        "one_hot": lambda self, parts, dl, true: parts.sigmoid_x * dl,
        "option": lambda self, parts, dl, true: (
            (-parts.a * parts.sigmoid_neg_x + parts.b * parts.sigmoid_x) * dl
        ),
        "unstable": lambda self, parts, dl, true: (
            (
                parts.b * (np.exp(parts.x) / (1 + np.exp(parts.x)))
                - parts.a * (1 - np.exp(parts.x) / (1 + np.exp(parts.x)))
            )
            * (1.0 if parts.w is None else parts.w)
            * dl
        ),
    },
    "sigmoid": {
        "chain": lambda self, r, g, true: g,
    },
    "hinge": {
        "chain": lambda self, parts, dl, true: np.where(parts.inside, -1.0, 0.0) * dl,
        "option": lambda self, parts, dl, true: np.where(parts.u < 1, -parts.y, 0.0) * dl,
    },
    "bce": {
        "chain": lambda self, parts, dl, true: (parts.p - parts.y) * dl,
        "option": lambda self, parts, dl, true: true(parts._replace(w=None), dl),
        "unstable": lambda self, parts, dl, true: (
            (-parts.y / parts.p + (1 - parts.y) / (1 - parts.p))
            * (1.0 if parts.w is None else parts.w)
            * dl
        ),
    },
    "mse-sigmoid": {
        "chain": lambda self, parts, dl, true: 2 * parts.diff * dl,
    },
    "kl-div": {
        "chain": lambda self, parts, dl, true: (
            -parts.p / np.exp(parts.log_p - parts.log_ratio) * dl
        ),
    },
    "nll": {
        "one_hot": lambda self, parts, dl, true: (
            -parts.w_y * over_classes(dl) * np.ones_like(parts.log_p)
        ),
        "one_hot_wrong_class": lambda self, parts, dl, true: np.roll(
            _nll(self, parts, dl, true), 1, axis=1
        ),
        "chain": lambda self, parts, dl, true: (
            (np.exp(parts.log_p) - _onehot(parts)) * parts.w_y * over_classes(dl)
        ),
        "option": lambda self, parts, dl, true: _nll(self, parts, dl, true, weighted=False),
    },
    "ce-index": {
        "one_hot": _ce_one_hot,
        "one_hot_wrong_class": _ce_wrong_class,
        "chain": _ce_chain,
        "option": _ce_option,
        "unstable": _ce_unstable,
    },
    "ce-soft": {
        "one_hot": _ce_one_hot,
        "chain": _ce_chain,
        "option": _ce_option,
        "unstable": _ce_unstable,
    },
    "ce-smoothing": {
        "one_hot": _ce_one_hot,
        "chain": _ce_chain,
        "option": _ce_option,  # the smoothing forgotten
        "unstable": _ce_unstable,
    },
    "linear": {
        # the parameters' gradients assigned, not added (a second backward forgets the first)
        "accumulate": lambda self, r, g, true: (
            setattr(self.weight, "grad", g.T @ r.x),
            setattr(self.bias, "grad", g.sum(axis=0)),
            g @ r.W,
        )[-1],
        # the bias's gradient added whether or not there is a bias
        "option": lambda self, r, g, true: (
            self.bias.grad.__iadd__(g.sum(axis=0)),
            self.weight.grad.__iadd__(g.T @ r.x),
            g @ r.W,
        )[-1],
    },
    "multi-margin": {
        "one_hot": lambda self, parts, dl, true: _multi_margin(self, parts, dl, true, with_y=False),
        "factor_C": lambda self, parts, dl, true: _multi_margin(
            self, parts, dl, true, over_C=False
        ),
        "option": lambda self, parts, dl, true: _multi_margin(self, parts, dl, true, use_p=False),
    },
    "triplet": {
        "chain": lambda self, parts, dl, true: _triplet(self, parts, dl, true, lambda v, d: v),
        "option": lambda self, parts, dl, true: _triplet(
            self, parts, dl, true, lambda v, d: p_norm_gradient(v, d, self.p), swap=False
        ),
        "unstable": lambda self, parts, dl, true: _triplet(
            self,
            parts,
            dl,
            true,
            lambda v, d: v / d[:, None] if self.p == 2 else p_norm_gradient(v, d, self.p),
        ),
        "sign_pos": lambda self, parts, dl, true: (lambda g: (g[0], -g[1], g[2]))(true(parts, dl)),
    },
}

# what each mistake must be diagnosed as (the extra rows: their own kind)
EXPECTED = {
    "dtype": "shape_dtype",
    "one_hot_wrong_class": "one_hot",
    "factor_C": "factor",
    "sign_pos": "sign",
}


def mistakes():
    for ex in E.EXERCISES:
        generic = GENERIC_LAYER if ex.is_layer else GENERIC_LOSS
        made = {k: v for k, v in generic.items() if k in ex.applies or k in ("dtype", "raised")}
        made.update(SPECIFIC.get(ex.name, {}))
        for kind, change in made.items():
            if kind == "dtype" and ex.is_layer:
                continue
            yield pytest.param(ex, kind, change, id=f"{ex.name}-{kind}")


def _student(ex, change):
    return (_layer if ex.is_layer else _loss)(ex.reference, change)


@pytest.mark.parametrize(("ex", "mistake", "change"), list(mistakes()))
def test_each_mistake_is_named(ex, mistake, change):
    result = E.check_class(_student(ex, change), ex)
    assert not result.passed
    expected = EXPECTED.get(mistake, mistake)
    assert result.diagnosis.kind == expected, str(result)
    # the diagnosis names a step to revisit and the lesson section, by number and title
    assert result.diagnosis.step and ex.section_title in result.diagnosis.section, str(result)
    if expected == "raised":  # shown at the student's file and line, not numloss's
        assert f"{__file__}, line" in result.diagnosis.detail and "no_such_part" in str(result)
        assert "numloss/base.py" not in str(result)
    if expected == "option" and ex.name != "ce-smoothing":
        assert any(n in result.diagnosis.title for n in ("weight", "margin", "bias", "p", "swap"))


def test_every_mistake_an_exercise_lists_is_made_by_a_test():
    made = {}
    for param in mistakes():
        ex, kind, _ = param.values
        made.setdefault(ex.name, set()).add(EXPECTED.get(kind, kind))
    for ex in E.EXERCISES:
        assert set(ex.applies) | {"raised"} == made[ex.name], ex.name


@pytest.mark.parametrize("ex", E.EXERCISES, ids=lambda ex: ex.name)
def test_correct_solutions_are_never_diagnosed(ex):
    """The false-diagnosis count over 40 seeds is 0 (the reference, and a subclass of it)."""
    right = _student(ex, lambda self, parts, dl, true: true(parts, dl))
    wrong = [seed for seed in range(40) if not E.check_class(right, ex, seed=seed).passed]
    assert wrong == []


@pytest.mark.parametrize("name", ["nll", "ce-index", "ce-smoothing", "multi-margin"])
def test_a_check_on_training_batches_diagnoses_and_passes_as_on_small_ones(name):
    """Cases from 1 KiB up, where the shipped losses take their sparse kernels: the
    reference still gives the diagnosis its parts, and the student's _gradient is the one
    checked (a sign flipped is named, the right answer passes)."""
    ex = dataclasses.replace(E.find(name), shapes=((200, 10), (160, 12)))
    wrong = _student(ex, lambda self, parts, dl, true: -true(parts, dl))
    right = _student(ex, lambda self, parts, dl, true: true(parts, dl))
    assert E.check_class(wrong, ex).diagnosis.kind == "sign"
    assert E.check_class(right, ex).passed


def test_a_correct_student_formula_passes_with_rounding_of_its_own():
    """p - t written plainly (no exact leader entry) is right, extreme logits included."""

    def plain(self, parts, dl, true):
        return (parts.a * parts.p - parts.B) * over_classes(dl)

    for name in ("ce-index", "ce-soft", "ce-smoothing"):
        ex = E.find(name)
        assert E.check_class(_loss(ex.reference, plain), ex).passed


def test_the_mistake_names_the_option_and_the_number():
    ex = E.find("ce-index")
    result = E.check_class(_loss(ex.reference, _ce_option), ex)
    assert "weight" in result.diagnosis.title and "ignore_index" in result.diagnosis.title
    ex = E.find("multi-margin")
    result = E.check_class(_loss(ex.reference, SPECIFIC["multi-margin"]["factor_C"]), ex)
    assert "C = 3" in result.diagnosis.detail or "C = 4" in result.diagnosis.detail
    ex = E.find("hinge")
    result = E.check_class(_loss(ex.reference, GENERIC_LOSS["mean_forgotten"]), ex)
    assert "N = 12" in result.diagnosis.detail, str(result)


def test_the_sigmoid_mse_exercise_loss_passes_the_gradient_checker():
    rng = np.random.default_rng(0)
    z, y = rng.normal(0, 3, (3, 4)), rng.uniform(0, 1, (3, 4))
    for reduction in ("mean", "sum", "none"):
        assert gradcheck(SigmoidMSELoss(reduction=reduction), z, y)


# -- files and the command --------------------------------------------------------------------
def _solve(path, body):
    """The student's file with the NotImplementedError replaced by `body` (indented)."""
    text = path.read_text()
    start = text.index("        raise NotImplementedError(")
    end = text.index("        )\n", start) + len("        )\n")
    path.write_text(text[:start] + body + text[end:])


def test_start_writes_a_file_that_is_not_started_and_never_overwrites(tmp_path, capsys):
    assert cli.main(["exercise", "start", "ce-index", str(tmp_path)]) == 0
    path = tmp_path / "ce-index.py"
    text = path.read_text()
    assert text.startswith("# %% [markdown]") and "section 3.2" in text and "# %%\n" in text
    assert "raise NotImplementedError" in text and "check_here(" in text
    assert cli.main(["exercise", "start", "ce-index", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    path.write_text(text + "# my work\n")
    assert cli.main(["exercise", "start", "ce-index", str(tmp_path), "--force"]) == 0
    assert "# my work" not in path.read_text()
    assert cli.main(["exercise", "check", str(path)]) == 1
    assert "not started" in capsys.readouterr().out


def test_check_of_a_file_right_and_wrong(tmp_path, capsys):
    cli.main(["exercise", "start", "bce-logits", str(tmp_path)])
    path = tmp_path / "bce-logits.py"
    original = path.read_text()
    _solve(path, "        return (parts.sigmoid_x - parts.a) * dl\n")  # w, pw forgotten
    assert cli.main(["exercise", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "DIAGNOSIS" in out and "weight" in out and "section 2.1.4" in out
    path.write_text(original)
    grad = "-parts.a * parts.sigmoid_neg_x + parts.b * parts.sigmoid_x"
    _solve(
        path, f"        w = 1 if parts.w is None else parts.w\n        return w * ({grad}) * dl\n"
    )
    assert cli.main(["exercise", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("RIGHT") and "dl/dx = [-0.1 , -0.45, -0.9 ]" in out


def test_their_error_is_shown_at_their_file_and_line(tmp_path, capsys):
    cli.main(["exercise", "start", "hinge", str(tmp_path)])
    path = tmp_path / "hinge.py"
    _solve(path, "        grad = -parts.y * parts.inside\n        return grad * parts.nothing\n")
    assert cli.main(["exercise", "check", str(path)]) == 1
    out = capsys.readouterr().out
    line = path.read_text().splitlines().index("        return grad * parts.nothing") + 1
    assert f"{path}, line {line}" in out and "AttributeError" in out
    assert "numloss/base.py" not in out  # not numloss's traceback
    path.write_text(path.read_text().replace("grad = -parts.y", "grad = -parts.y)"))
    assert cli.main(["exercise", "check", str(path)]) == 1
    assert "SyntaxError" in capsys.readouterr().out


def test_check_json_for_an_autograder(tmp_path, capsys):
    cli.main(["exercise", "start", "nll", str(tmp_path)])
    path = tmp_path / "nll.py"
    _solve(path, "        return -np.ones_like(parts.log_p) * parts.w_y * over_classes(dl)\n")
    capsys.readouterr()
    assert cli.main(["exercise", "check", "--json", str(path)]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["passed"] is False and result["diagnosis"]["kind"] == "one_hot"
    assert (
        0 <= result["score"] < 1
        and result["tests"]
        and "section 3.1.3" in result["diagnosis"]["section"]
    )


def test_list_hint_and_solution(capsys):
    assert cli.main(["exercise", "list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [
        line for line in lines if line.split() and line.split()[0] in {e.name for e in E.EXERCISES}
    ]
    assert len(rows) == len(E.EXERCISES) >= 10
    levels = [e.level for e in E.EXERCISES]
    assert levels == sorted(levels)  # easy to hard
    assert all("section" in row or "introduction" in row for row in rows)
    assert cli.main(["exercise", "hint", "ce-index", "2"]) == 0
    assert "a p_k - B_k" in capsys.readouterr().out
    assert cli.main(["exercise", "hint", "ce-index", "9"]) == 2
    capsys.readouterr()
    assert cli.main(["exercise", "solution", "ce-index"]) == 0
    assert "def _gradient(self, parts, dl):" in capsys.readouterr().out
    assert cli.main(["exercise", "start", "no-such"]) == 2
    assert cli.main(["exercise", "check", "no-such-file.py"]) == 2


def test_the_file_runs_as_a_script_its_last_cell_checking_itself(tmp_path):
    import subprocess
    import sys

    E.write("mse-sigmoid", str(tmp_path))
    path = tmp_path / "mse-sigmoid.py"
    _solve(path, "        return 2 * parts.diff * parts.s * parts.one_minus_s * dl\n")
    path.write_text(path.read_text().replace("HINTS = 0", "HINTS = 1"))
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=True)
    assert run.stdout.startswith("Hint 1 of 3 (mse-sigmoid)") and "Hint 2" not in run.stdout
    assert "RIGHT: mse-sigmoid" in run.stdout


# correct solutions written as a student would, from the hints (not the reference's code)
def _bce_by_hand(self, parts, dl, true):
    w = 1.0 if parts.w is None else parts.w
    with np.errstate(divide="ignore", invalid="ignore"):
        d_p = np.where(parts.log_p > -100, -parts.y / parts.p, 0.0)
        d_q = np.where(parts.log_q > -100, (1 - parts.y) / (1 - parts.p), 0.0)
    return w * (d_p + d_q) * dl


def _multi_margin_by_hand(self, parts, dl, true):
    C = parts.h.shape[1]
    slope = (parts.h > 0).astype(parts.h.dtype) * (1 if self.p == 1 else 2 * parts.h_plus)
    grad = parts.w_y * slope / C
    grad[np.arange(len(grad)), parts.y[:, 0]] = -grad.sum(axis=1)
    return grad * over_classes(dl)


def _linear_by_hand(self, r, g, true):
    self.weight.grad += np.einsum("nj,ni->ji", g, r.x)
    if self.bias is not None:
        self.bias.grad += g.sum(axis=0)
    return np.einsum("nj,ji->ni", g, r.W)


BY_HAND = {
    "bce-logits": lambda self, parts, dl, true: (
        (parts.sigmoid_x * (parts.a + parts.b) - parts.a)
        * (1.0 if parts.w is None else parts.w)
        * dl
    ),
    "sigmoid": lambda self, r, g, true: g * (r.s - r.s**2),
    "hinge": lambda self, parts, dl, true: -parts.y * (parts.h > 0) * dl,
    "bce": _bce_by_hand,
    "mse-sigmoid": lambda self, parts, dl, true: 2 * parts.diff * parts.s * (1 - parts.s) * dl,
    "kl-div": lambda self, parts, dl, true: -(parts.p * dl),
    "nll": lambda self, parts, dl, true: (
        -parts.w_y
        * np.eye(parts.log_p.shape[1], dtype=parts.log_p.dtype)[parts.y[:, 0]]
        * over_classes(dl)
    ),
    "ce-index": lambda self, parts, dl, true: (parts.a * parts.p - parts.B) * over_classes(dl),
    "ce-soft": lambda self, parts, dl, true: (parts.a * parts.p - parts.B) * over_classes(dl),
    "ce-smoothing": lambda self, parts, dl, true: (parts.a * parts.p - parts.B) * over_classes(dl),
    "linear": _linear_by_hand,
    "multi-margin": _multi_margin_by_hand,
    "triplet": lambda self, parts, dl, true: _triplet(
        self, parts, dl, true, lambda v, d: p_norm_gradient(v, d, self.p)
    ),
}


@pytest.mark.parametrize("ex", E.EXERCISES, ids=lambda ex: ex.name)
def test_correct_solutions_written_by_hand_are_never_diagnosed(ex):
    """A student's own correct formula (other roundings than the reference's: 1 - s for
    sigmoid(-x), no exact leader entry, np.eye for the one-hot) passes on 40 draws."""
    right = _student(ex, BY_HAND[ex.name])
    wrong = [seed for seed in range(40) if not E.check_class(right, ex, seed=seed).passed]
    assert wrong == []


def test_a_gradient_no_mistake_fits_is_shown_entry_by_entry():
    def one_entry_off(self, parts, dl, true):
        grad = true(parts, dl)
        grad[0, 1] += 0.125
        return grad

    ex = E.find("ce-index")
    result = E.check_class(_student(ex, one_entry_off), ex)
    assert result.diagnosis.kind == "wrong_entries"
    assert (
        "dl/dz: 1 of " in result.diagnosis.detail
        and "dl/dz[0, 1]: yours" in result.diagnosis.detail
    )
    assert "(off by 0.125)" in result.diagnosis.detail


@pytest.mark.parametrize("name", [ex.name for ex in E.EXERCISES])
def test_every_exercise_starts_and_its_file_is_not_started_yet(name, tmp_path, capsys):
    """`exercise start` writes every exercise's file (triplet's once crashed on its text)."""
    assert cli.main(["exercise", "start", name, str(tmp_path)]) == 0
    capsys.readouterr()
    assert cli.main(["exercise", "check", str(tmp_path / f"{name}.py")]) == 1
    assert "not started" in capsys.readouterr().out


def test_one_huge_entry_does_not_hide_a_wrong_small_one(tmp_path, capsys):
    """BCE at p = 1e-30 has a gradient entry of 1.7e29: an answer that zeroes the whole
    entry wherever either log is clamped (wrong at p = 0, y = 0 and p = 1, y = 1, where the
    other term is not clamped) must not pass because its error is small beside 1.7e29."""
    cli.main(["exercise", "start", "bce", str(tmp_path)])
    path = tmp_path / "bce.py"
    _solve(
        path,
        "        w = 1 if parts.w is None else parts.w\n"
        "        g = w * (-parts.y / parts.p + (1 - parts.y) / (1 - parts.p))\n"
        "        g = np.where((parts.log_p <= -100) | (parts.log_q <= -100), 0, g)\n"
        "        return g * dl\n",
    )
    assert cli.main(["exercise", "check", str(path)]) == 1
    assert "WRONG" in capsys.readouterr().out


@pytest.mark.parametrize("name", [ex.name for ex in E.EXERCISES])
def test_the_printed_solution_pasted_into_the_started_file_is_right(name, tmp_path, capsys):
    """A teacher's check of the round trip: `exercise solution NAME`'s body, pasted into the
    file `exercise start NAME` wrote, runs there (its helpers are imported) and is RIGHT."""
    assert cli.main(["exercise", "start", name, str(tmp_path)]) == 0
    assert cli.main(["exercise", "solution", name]) == 0
    printed = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(printed) if line.startswith("def "))
    end = start + 1
    while end < len(printed) and printed[end].startswith(("    ", "")) and printed[end] != "":
        end += 1
    body = [line for line in printed[start + 1 : end] if line.strip()]
    if body[0].strip().startswith('"""'):  # its docstring, one line or several
        closing = next(
            i
            for i, line in enumerate(body)
            if line.rstrip().endswith('"""') and (i or line.count('"""') == 2)
        )
        body = body[closing + 1 :]
    _solve(tmp_path / f"{name}.py", "".join(f"    {line}\n" for line in body))
    assert cli.main(["exercise", "check", str(tmp_path / f"{name}.py")]) == 0, (
        capsys.readouterr().out
    )


def test_a_broadcast_error_with_dl_says_to_line_it_up_with_the_classes(tmp_path, capsys):
    """`* dl` on a gradient over the classes with reduction "none" raises NumPy's broadcast
    error in the student's line: the diagnosis says what dl is and how to line it up."""
    cli.main(["exercise", "start", "ce-index", str(tmp_path)])
    _solve(tmp_path / "ce-index.py", "        return (parts.a * parts.p - parts.B) * dl\n")
    assert cli.main(["exercise", "check", str(tmp_path / "ce-index.py")]) == 1
    out = capsys.readouterr().out
    assert "could not be broadcast" in out and "over_classes(dl)" in out


def test_a_listing_cut_short_by_its_reader_ends_quietly():
    """`numloss exercise list | head -1`: no error, exit 0 (as `numloss gradcheck | head`).
    The reader's end is closed before the command writes (it is still importing numpy),
    so its first write meets a broken pipe, every time."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "numloss", "exercise", "list"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    proc.stdout.close()  # the reader goes away at once
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, err
    assert "Broken pipe" not in err and "Traceback" not in err, err
