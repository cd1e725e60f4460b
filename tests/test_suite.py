"""The gradient-check suite: every exported loss, every option, random and extreme inputs."""

import inspect
import subprocess
import sys

import numpy as np
import pytest

import numloss as nl
from numloss.gradcheck import suite
from numloss.gradcheck.cases import CASES, SINGLE_VALUE, Cases, Sampled, cases_for

CHECKED = suite.exported_losses() + suite.exported_layers()


def test_suite_covers_every_exported_loss():
    names = {cls.__name__ for cls in suite.exported_losses()}
    exported = {
        n
        for n in nl.__all__
        if isinstance(getattr(nl, n), type) and issubclass(getattr(nl, n), nl.Loss)
    }
    assert names == exported - {"Loss"} and names


@pytest.mark.parametrize("cls", CHECKED, ids=lambda c: c.__name__)
def test_the_cases_table_covers_every_constructor_parameter(cls):
    """A row tries every parameter of its class's constructor (a loss's reduction: its
    `reductions`), each with at least two values, the default among them."""
    signature = inspect.signature(cls.__init__).parameters
    parameters = set() if cls.__init__ is object.__init__ else set(signature) - {"self"}
    row = CASES[cls.__name__]
    assert parameters == set(row.options) | ({"reduction"} & parameters)
    for name, values in row.options.items():
        if name in SINGLE_VALUE:
            continue
        assert len(values) >= 2, f"{cls.__name__}: {name} is tried with one value only"
        default = signature[name].default
        if default is not inspect.Parameter.empty:
            assert default in values or (default is None and None in values), (name, default)


def test_the_table_has_a_row_for_every_exported_loss_and_layer_and_nothing_else():
    assert set(CASES) == {cls.__name__ for cls in CHECKED}
    layers = {cls.__name__ for cls in suite.exported_layers()}
    assert {"Linear", "Sigmoid", "Tanh", "ReLU", "Sequential", "WithLoss"} <= layers


def test_sampled_options_draw_to_fit_and_print_their_label():
    s = Sampled("w[C]", lambda rng, inputs: np.ones(inputs[0].shape[-1]))
    assert repr(s) == "w[C]" and s.draw(None, (np.zeros((2, 5)),)).shape == (5,)
    for options, drawn, _, inputs in cases_for(nl.BCELoss, np.random.default_rng(0)):
        if options["weight"] is not None:
            assert drawn["weight"].shape == inputs[0].shape
    assert isinstance(CASES["BCELoss"], Cases)


@pytest.mark.parametrize("cls", CHECKED, ids=lambda c: c.__name__)
def test_every_option_combination_passes(cls):
    rows = list(suite.run_suite([cls], seed=1))
    tried = {opts for _, opts, _, _ in rows}
    # every value of every option, and every reduction, appears in some row
    grid = {"reduction": getattr(cls, "reductions", ()), **CASES[cls.__name__].options}
    for option, values in grid.items():
        for value in values:
            assert any(f"{option}={value!r}" in opts for opts in tried)
    kinds = {kind for _, _, kind, _ in rows}
    assert any("random" in k for k in kinds) and any("extreme" in k or "kink" in k for k in kinds)
    failed = [(opts, kind, str(r)) for _, opts, kind, r in rows if not r]
    assert not failed


def test_a_new_exported_loss_joins_the_suite_and_its_failure_fails_it(monkeypatch, capsys):
    class DoubledMSE(nl.MSELoss):
        def _gradient(self, r, dl):
            return 2 * super()._gradient(r, dl)

    monkeypatch.setattr(nl, "DoubledMSE", DoubledMSE, raising=False)
    monkeypatch.setattr(nl, "__all__", [*nl.__all__, "DoubledMSE"])
    monkeypatch.setitem(CASES, "DoubledMSE", CASES["MSELoss"])
    assert DoubledMSE in suite.exported_losses()
    assert suite.main(["DoubledMSE"]) == 1
    out = capsys.readouterr().out
    assert "DoubledMSE" in out and "FAIL" in out and "failed:" in out


def test_main_prints_the_table_and_exits_zero(capsys):
    assert suite.main(["MSELoss", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "max rel err" in out and out.count("PASS") == 6 and "0 failed" in out


def test_unknown_loss_name_is_an_error(capsys):
    with pytest.raises(SystemExit):
        suite.main(["NoSuchLoss"])
    assert "unknown loss" in capsys.readouterr().err


def test_module_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "numloss.gradcheck", "BCELoss"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "BCELoss" in proc.stdout and "FAIL" not in proc.stdout and not proc.stderr


def test_seeds_differ_but_all_pass():
    for seed in (11, 12):
        results = [r for *_, r in suite.run_suite(seed=seed)]
        assert all(results) and np.isfinite([r.max_rel_error for r in results]).all()


# -- --module: a student's own losses through the suite, without editing numloss -------------
STUDENT_MODULE = '''
from typing import NamedTuple

import numpy as np
import numloss as nl
from numloss.gradcheck.cases import Cases


class StudentHinge(nl.Loss):
    """max(0, margin - y f), labels -1/+1."""

    class Parts(NamedTuple):
        y: np.ndarray  # the labels
        u: np.ndarray  # the margin y f
        inside: np.ndarray  # [u < margin]

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def _parts(self, inputs):
        u = inputs.target * inputs.input
        return self.Parts(inputs.target, u, u < self.margin)

    def _losses(self, r):
        return np.maximum(self.margin - r.u, 0)

    def _gradient(self, r, dl):
        return np.where(r.inside, -r.y, 0) * dl{broken}


class MSELoss(nl.Loss):
    """A student's own MSELoss: no CASES row, so numloss's MSELoss row is used."""

    class Parts(NamedTuple):
        diff: np.ndarray  # x - y

    def _parts(self, inputs):
        return self.Parts(inputs.input - inputs.target)

    def _losses(self, r):
        return r.diff * r.diff

    def _gradient(self, r, dl):
        return 2 * r.diff * dl


def hinge_inputs(rng, options):
    yield "random", (rng.normal(0, 2, (4, 3)), rng.choice([-1.0, 1.0], (4, 3)))


CASES = {{"StudentHinge": Cases(hinge_inputs, {{"margin": (1.0, 0.5)}})}}
'''


def _student_module(tmp_path, broken=False):
    path = tmp_path / ("broken_losses.py" if broken else "mylosses.py")
    ignore = "\n\n    def backward(self, grad_output=None):\n        return super().backward(None)"
    path.write_text(STUDENT_MODULE.format(broken=ignore if broken else ""))
    return path


def test_module_option_checks_a_students_losses_by_file(tmp_path, capsys):
    path = _student_module(tmp_path)
    assert suite.main(["--module", str(path)]) == 0
    out = capsys.readouterr().out
    assert "StudentHinge" in out and "MSELoss" in out and "0 failed" in out
    # StudentHinge: 3 reductions x 2 margins x 1 input kind; MSELoss: numloss's row, 6 cases
    assert out.count("StudentHinge") == 6 and out.count("PASS") == 12
    assert "MSELoss" in CASES and "StudentHinge" not in CASES  # the table is left as it was


def test_module_option_explains_a_backward_that_ignores_grad_output(tmp_path, capsys):
    path = _student_module(tmp_path, broken=True)
    assert suite.main(["--module", str(path), "StudentHinge"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "it must multiply by grad_output" in out


def test_module_option_by_name_from_the_current_directory(tmp_path):
    _student_module(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "numloss.gradcheck", "--module", "mylosses", "StudentHinge"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASS") == 6 and "MSELoss" not in proc.stdout


def test_module_option_says_what_is_missing(tmp_path, capsys):
    path = tmp_path / "norows.py"
    path.write_text(
        STUDENT_MODULE.format(broken="").replace(
            'CASES = {"StudentHinge"', 'ROWS = {"StudentHinge"'
        )
    )
    with pytest.raises(SystemExit):
        suite.main(["--module", str(path)])
    err = capsys.readouterr().err
    assert "no cases for StudentHinge" in err and "CASES = {'StudentHinge': Cases(" in err
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(SystemExit):
        suite.main(["--module", str(empty)])
    assert "defines no subclass of numloss.Loss" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        suite.main(["--module", "no_such_module_here"])
    assert "No module named" in capsys.readouterr().err
