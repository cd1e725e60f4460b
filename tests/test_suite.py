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
        def _backward(self, r, dl):
            return 2 * super()._backward(r, dl)

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
