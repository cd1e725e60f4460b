"""The `numloss` command: explain, gradcheck, bench, --help; bad input gets one line and exit 2."""

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest

import numloss as nl
from numloss.cli import kebab, main, resolve
from numloss.gradcheck.suite import exported_losses
from numloss.train import Linear, ReLU, Sigmoid, Tanh

ROOT = Path(__file__).resolve().parent.parent
CE = ["explain", "cross-entropy", "--input", "[[2.0, 1.0, 0.1]]", "--target", "0"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- names ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, expected",
    [
        ("cross-entropy", nl.CrossEntropyLoss),
        ("CrossEntropyLoss", nl.CrossEntropyLoss),
        ("cross-entropy-loss", nl.CrossEntropyLoss),
        ("bce", nl.BCELoss),
        ("BCELoss", nl.BCELoss),
        ("bce-with-logits", nl.BCEWithLogitsLoss),
        ("bce_with_logits", nl.BCEWithLogitsLoss),
        ("hinge", nl.HingeLoss),
        ("nll", nl.NLLLoss),
        ("kl-div", nl.KLDivLoss),
        ("multi-margin", nl.MultiMarginLoss),
        ("triplet-margin", nl.TripletMarginLoss),
        ("linear", Linear),
        ("ReLU", ReLU),
        ("surprise", nl.surprise),
        ("kl-divergence", nl.kl_divergence),
        ("cross_entropy", nl.cross_entropy),  # the function; cross-entropy is the loss
    ],
)
def test_names(name, expected):
    assert resolve(name) is expected


def test_every_exported_loss_has_a_kebab_name_and_is_in_help(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for cls in exported_losses():
        assert resolve(kebab(cls.__name__)) is cls
        assert kebab(cls.__name__) in out and cls.__name__ in out
    for layer in (Linear, Sigmoid, Tanh, ReLU):
        assert layer.__name__.lower() in out
    assert "explain" in out and "gradcheck" in out and "bench" in out


# -- explain ----------------------------------------------------------------------------------
def test_explain_cross_entropy_lesson_example(capsys):
    code, out, err = run(capsys, *CE)
    assert code == 0 and err == ""
    value = nl.CrossEntropyLoss()(np.array([[2.0, 1.0, 0.1]]), [0])
    assert str(nl.explain(nl.CrossEntropyLoss(), [[2.0, 1.0, 0.1]], np.array([0]))) == out
    assert round(float(value), 3) == 0.417 and "0.41703" in out


def test_options_reach_the_constructor(capsys):
    code, out, _ = run(capsys, *CE[:-1], "[0]", "--label-smoothing", "0.1", "--weight", "[1, 2, 3]")
    assert code == 0
    assert out.startswith("CrossEntropyLoss(weight=[1., 2., 3.], label_smoothing=0.1)")
    code, out, _ = run(capsys, *CE, "--ignore-index", "1", "--reduction", "sum")
    assert code == 0 and out.startswith("CrossEntropyLoss(ignore_index=1, reduction='sum')")
    code, out, _ = run(
        capsys, "explain", "focal", "--input", "[2.0, -1.0]", "--target", "[1, 0]",
        "--alpha", "none", "--gamma", "0",
    )  # fmt: skip
    assert code == 0 and out.startswith("FocalLoss(alpha=None, gamma=0.0)")
    code, out, _ = run(
        capsys, "explain", "multi-margin", "--input", "[[0.1, 0.2, 0.4, 0.8]]", "--target", "3",
        "--p", "2",
    )  # fmt: skip
    assert code == 0 and out.startswith("MultiMarginLoss(p=2)")


def test_a_single_target_is_repeated_for_every_sample(capsys):
    code, out, _ = run(
        capsys, "explain", "hinge", "--input", "[2.0, 0.5, -1.0]", "--target", "1",
        "--reduction", "none",
    )  # fmt: skip
    trace = nl.explain(nl.HingeLoss(reduction="none"), [2.0, 0.5, -1.0], [1, 1, 1])
    assert code == 0 and out == str(trace)
    code, out, _ = run(
        capsys, "explain", "cross-entropy", "--input", "[[1.0, 2.0], [3.0, 0.0]]", "--target", "1"
    )
    assert code == 0
    assert out == str(nl.explain(nl.CrossEntropyLoss(), [[1.0, 2.0], [3.0, 0.0]], np.array([1, 1])))


def test_ranking_inputs_and_grad_output(capsys):
    code, out, _ = run(
        capsys, "explain", "margin-ranking", "--input1", "[3.0, 1.0, 2.0]",
        "--input2", "[1.0, 2.0, 1.8]", "--target", "1", "--margin", "0.5",
        "--reduction", "none", "--grad-output", "[1.0, 2.0, 3.0]",
    )  # fmt: skip
    trace = nl.explain(
        nl.MarginRankingLoss(margin=0.5, reduction="none"),
        [3.0, 1.0, 2.0], [1.0, 2.0, 1.8], [1, 1, 1], grad_output=np.array([1.0, 2.0, 3.0]),
    )  # fmt: skip
    assert code == 0 and out == str(trace)
    code, out, _ = run(
        capsys, "explain", "triplet-margin", "--anchor", "[[0.0, 0.0]]",
        "--positive", "[[0.0, 1.0]]", "--negative", "[[2.0, 0.0]]",
        "--margin", "2", "--eps", "0", "--swap", "true",
    )  # fmt: skip
    assert code == 0 and out.startswith("TripletMarginLoss(margin=2.0, eps=0.0, swap=True)")


def test_layers_and_functions(capsys):
    code, out, _ = run(
        capsys, "explain", "linear", "--input", "[[3.0, 1.0], [0.0, 1.0]]",
        "--weight", "[[1.0, -2.0]]", "--bias", "[0.5]",
    )  # fmt: skip
    assert code == 0 and "[[ 1.5],\n" in out  # 3 - 2 + 0.5, the Linear docstring's example
    code, out, _ = run(capsys, "explain", "sigmoid", "--input", "[0.0, 2.0]")
    assert code == 0 and out.startswith("Sigmoid()")
    code, out, _ = run(capsys, "explain", "surprise", "--p", "[0.5]", "--base", "2")
    assert code == 0 and out == str(nl.explain(nl.surprise, np.array([0.5]), base=2.0))
    code, out, _ = run(
        capsys, "explain", "kl-divergence", "--p", "[1, 0, 0]", "--q", "[0.7, 0.2, 0.1]"
    )
    assert code == 0 and "0.35667" in out


def test_a_losss_warning_is_one_line_on_stderr(capsys):
    code, out, err = run(
        capsys, "explain", "kl-div", "--input", "[[-0.5, -1.0]]", "--target", "[[0.5, 0.5]]"
    )
    assert code == 0 and out.startswith("KLDivLoss()")
    assert err.startswith("numloss: warning: KLDivLoss: reduction='mean'")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["explain", "nope", "--input", "1"], "unknown loss 'nope'"),
        (["explain", "hinj", "--input", "1"], "did you mean hinge"),
        (
            ["explain", "cross-entropy", "--input", "[[2.0, 1.0", "--target", "0"],
            "--input: could not read",
        ),
        (
            ["explain", "cross-entropy", "--input", "[[1, 2], [3]]", "--target", "0"],
            "--input: rows of different lengths",
        ),
        (
            ["explain", "cross-entropy", "--input", '["a", "b"]', "--target", "0"],
            "--input: expected numbers",
        ),
        (
            ["explain", "cross-entropy", "--input", "[[2.0, 1.0, 0.1]]", "--target", "[0, 1]"],
            "CrossEntropyLoss: target: expected class indices of shape (1,)",
        ),
        (
            ["explain", "cross-entropy", "--input", "[[2.0, 1.0, 0.1]]", "--target", "7"],
            "CrossEntropyLoss: target: expected class indices in [0, 3)",
        ),
        (
            ["explain", "bce", "--input", "[0.5, 1.5]", "--target", "1"],
            "BCELoss: input: expected probabilities",
        ),
        ([*CE, "--label-smoothing", "abc"], "--label-smoothing: expected a number; got 'abc'"),
        ([*CE, "--label-smoothing", "2"], "CrossEntropyLoss: label_smoothing: expected"),
        ([*CE, "--ignore-index", "1.5"], "--ignore-index: expected an integer"),
        ([*CE, "--reduction", "avg"], "CrossEntropyLoss: reduction: expected one of"),
        ([*CE, "--foo", "2"], "unrecognized arguments: --foo 2"),
        (CE[:-2], "the following arguments are required: --target"),
        (
            [
                "explain",
                "triplet-margin",
                "--anchor",
                "[[0.0]]",
                "--positive",
                "[[1.0]]",
                "--negative",
                "[[2.0]]",
                "--swap",
                "maybe",
            ],
            "--swap: expected true or false",
        ),
        (["explain", "linear", "--input", "[[1.0, 2.0]]"], "linear: give --weight"),
        (
            ["explain", "linear", "--input", "[[1.0, 2.0]]", "--weight", "[[1.0, 2.0, 3.0]]"],
            "Linear: input: expected shape (N, 3)",
        ),
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["gradcheck", "Nope"], "gradcheck: unknown loss(es) Nope"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("numloss: error: ")
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_no_arguments_prints_help_to_stderr(capsys):
    code, out, err = run(capsys)
    assert code == 2 and "usage: numloss" in err


def test_explain_help_lists_the_inputs_and_options(capsys):
    code, out, _ = run(capsys, "explain", "cross-entropy", "--help")
    assert code == 0
    for flag in ("--input", "--target", "--weight", "--ignore-index", "--label-smoothing"):
        assert flag in out


# -- gradcheck and bench ------------------------------------------------------------------------
def test_gradcheck_runs_the_suite(capsys):
    code, out, _ = run(capsys, "gradcheck", "mse", "--seed", "1")
    assert code == 0
    assert "MSELoss" in out and "PASS" in out and "FAIL" not in out.replace("0 failed", "")


def test_bench_runs_its_main_or_says_it_is_missing(capsys, monkeypatch):
    code, out, _ = run(capsys, "bench", "--help")
    assert code == 0 and "--quick" in out
    monkeypatch.setitem(sys.modules, "numloss.bench", None)  # as if bench.py were not there
    code, _, err = run(capsys, "bench")
    assert code == 2 and "no benchmark" in err and err.count("\n") == 1


# -- as a program --------------------------------------------------------------------------------
def _python(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "numloss", *args], capture_output=True, text=True, cwd=cwd,
        env=env, timeout=120,
    )  # fmt: skip


def test_python_dash_m_numloss(tmp_path):
    done = _python(
        "explain", "hinge", "--input", "[2.0, 0.5, -1.0]", "--target", "1", "--reduction", "none",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "[False,  True,  True]" in done.stdout  # [u < margin]: safe, too close, wrong
    bad = _python("explain", "hinge", "--input", "[2.0", "--target", "1", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.startswith("numloss: error: --input") and bad.stderr.count("\n") == 1


def test_console_script_entry_point():
    (script,) = entry_points(group="console_scripts", name="numloss")
    assert script.value == "numloss.cli:main"


def test_a_reader_that_stops_early_is_not_an_error():
    """`numloss gradcheck | head -1`: the command ends quietly when its reader goes away."""

    proc = subprocess.Popen(
        [sys.executable, "-m", "numloss", "gradcheck"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.readline()
    proc.stdout.close()  # like head after its first line
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err


def test_the_inputs_of_another_command_get_its_name(capsys):
    """cross-entropy (the loss) takes --input and --target; --p and --q are the function's."""
    code = main(["explain", "cross-entropy", "--p", "[1, 0, 0]", "--q", "[0.7, 0.2, 0.1]"])
    err = capsys.readouterr().err
    assert code == 2 and "did you mean `numloss explain cross_entropy`" in err
    code = main(["explain", "cross-entropy", "--input", "[[1.0, 2.0]]"])  # one missing
    err = capsys.readouterr().err
    assert code == 2 and "--target" in err and "did you mean" not in err


# -- gradcheck --module: a student's file, whatever is wrong with it (issue 17, item 11) ----------
BAD_MODULES = {  # what is written where, what --module is given, what the one line says
    "syntax-error": ({"syn17.py": "def f(:\n"}, "syn17.py", "a syntax error at syn17.py, line 1"),
    "syntax-error-by-name": ({"synname17.py": "x = (\n"}, "synname17", "a syntax error at"),
    "not-a-py-file": ({"notes17.txt": "x = 1\n"}, "notes17.txt", "expected a .py file; got a .txt"),
    "no-such-file": ({}, "nowhere17.py", "nowhere17.py: no such file"),
    "a-folder": ({"pkg17/a.py": ""}, "pkg17" + os.sep, "is a folder; expected a .py file"),
    "raises-on-import": (
        {"boom17.py": "import numpy\n\nx = 1 / 0\n"},
        "boom17.py",
        "importing it raised ZeroDivisionError: division by zero (boom17.py, line 3)",
    ),
    "missing-helper": (
        {"needs17.py": "from helpers_not_there_17 import k\n"},
        "needs17.py",
        "No module named 'helpers_not_there_17'",
    ),
}


@pytest.mark.parametrize("files, module, message", BAD_MODULES.values(), ids=BAD_MODULES.keys())
def test_gradcheck_module_problems_are_one_line_and_exit_2(
    files, module, message, tmp_path, monkeypatch, capsys
):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the folder it adds goes with the test
    code, out, err = run(capsys, "gradcheck", "--module", module)
    assert code == 2
    assert err.startswith("numloss: error: gradcheck: --module ")
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


HELPERS = "MARGINS = (1.0, 0.5)\n"


def _student_module_using_helpers() -> str:
    """test_suite's student module (in whatever Loss contract it is written), with its
    margins imported from a module beside it, as a student's `from helpers import ...`."""
    from test_suite import STUDENT_MODULE

    module = STUDENT_MODULE.format(broken="")
    assert '{"margin": (1.0, 0.5)}' in module
    module = module.replace('{"margin": (1.0, 0.5)}', '{"margin": MARGINS}')
    return "from course17_helpers import MARGINS  # beside this file\n" + module


def test_gradcheck_module_imports_what_lies_beside_it(tmp_path):
    """`from helpers import ...` in a student's file works from any current folder, as it
    does under `python file.py`."""
    course = tmp_path / "course"
    course.mkdir()
    (course / "course17_helpers.py").write_text(HELPERS)
    (course / "mine17.py").write_text(_student_module_using_helpers())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = _python(
        "gradcheck", "--module", str(course / "mine17.py"), "StudentHinge", cwd=elsewhere
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("PASS") == 6 and "FAIL" not in done.stdout.replace("0 failed", "")


# == issue 18: the command line's rough edges, a test per message =============================
# (kept together at the end of the file; the Makefile's messages are in tests/test_examples.py)
def test_a_constructors_error_names_the_loss_once(capsys):
    code, _, err = run(capsys, *CE, "--label-smoothing", "2")
    assert code == 2
    assert err.startswith("numloss: error: CrossEntropyLoss: label_smoothing: expected")
    assert err.count("CrossEntropyLoss") == 1, err


@pytest.mark.parametrize(
    "name, expected",
    [
        ("ce", nl.CrossEntropyLoss),
        ("CE", nl.CrossEntropyLoss),
        ("crossentropy", nl.CrossEntropyLoss),
        ("scce", nl.CrossEntropyLoss),
        ("bce-logits", nl.BCEWithLogitsLoss),
        ("focal", nl.FocalLoss),
        ("triplet", nl.TripletMarginLoss),
        ("surprise", nl.surprise),
    ],
)
def test_common_short_names_resolve(name, expected):
    assert resolve(name) is expected


def test_every_short_name_is_in_the_help(capsys):
    from numloss.cli import ALIASES

    _, out, _ = run(capsys, "--help")
    for alias, cls in ALIASES.items():
        assert f"{alias} ({kebab(cls)})" in out


def test_softmax_points_to_cross_entropy_not_to_soft_margin(capsys):
    for name in ("softmax", "log_softmax", "log-softmax"):
        code, _, err = run(capsys, "explain", name, "--input", "[1.0, 2.0]")
        assert code == 2 and "soft-margin" not in err and "did you mean" not in err
        assert "is a step of cross-entropy, not a loss" in err
        assert "`numloss explain cross-entropy`" in err


def test_kl_says_which_of_the_two_it_may_mean(capsys):
    code, _, err = run(capsys, "explain", "kl", "--p", "[1, 0]")
    assert code == 2 and "say kl-divergence;" in err and err.rstrip().endswith("say kl-div")


@pytest.mark.parametrize(
    "typed, meant",
    [
        ("hinj", "hinge"),
        ("suprise", "surprise"),
        ("surprize", "surprise"),
        ("tripple", "triplet-margin"),
        ("rank", "margin-ranking"),
        ("kld", "kl-div"),
        ("bce-with-logit", "bce-with-logits"),
    ],
)
def test_a_mistyped_name_suggests_the_loss_meant_first(capsys, typed, meant):
    code, _, err = run(capsys, "explain", typed, "--input", "1")
    assert code == 2
    assert f"unknown loss {typed!r}; did you mean {meant}" in err, err
    assert "sigmoid" not in err  # surprise's misspellings had been sent to sigmoid


def test_suggestions_give_each_loss_once_by_its_name(capsys):
    code, _, err = run(capsys, "explain", "cross-entopy-loss", "--input", "1")
    suggested = err.split("did you mean ", 1)[1].split("?", 1)[0].split(" or ")
    assert suggested[0] == "cross-entropy"
    assert "crossentropyloss" not in suggested and "cross-entropy-loss" not in suggested


def test_gradcheck_help_names_its_own_command_and_says_what_v_does(capsys):
    code, out, _ = run(capsys, "gradcheck", "--help")
    assert code == 0
    assert out.startswith("usage: numloss gradcheck ") and "python -m" not in out
    verbose = " ".join(out.split("-v, --verbose", 1)[1].split("--module")[0].split())
    assert "under every case" in verbose and "always printed" in verbose


def test_gradcheck_errors_name_its_own_command(capsys):
    code, _, err = run(capsys, "gradcheck", "--seed", "x")
    assert code == 2 and "python -m" not in err and err.startswith("numloss: error: gradcheck:")


def test_gradcheck_of_a_function_says_it_has_no_backward(capsys):
    code, _, err = run(capsys, "gradcheck", "surprise")
    assert code == 2
    assert "surprise is a function of section 1, with no backward to check" in err


def test_gradcheck_takes_the_short_names(capsys):
    code, out, _ = run(capsys, "gradcheck", "ce")
    assert code == 0 and "CrossEntropyLoss" in out and " 0 failed" in out


def test_the_top_level_help_names_module_and_version(capsys):
    _, out, _ = run(capsys, "--help")
    gradcheck = out.split("  gradcheck ", 1)[1].split("  bench ", 1)[0]
    assert "[--module MODULE]" in gradcheck and "your own module" in gradcheck
    assert "numloss --version" in out


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(capsys, flag):
    code, out, _ = run(capsys, flag)
    assert code == 0 and out == f"numloss {nl.__version__}\n"


def test_the_help_and_an_unknown_command_name_the_exercise_command(capsys):
    assert main(["--help"]) == 0
    assert "exercise {list,start,hint,check,solution}" in capsys.readouterr().out
    assert main(["nope"]) == 2
    assert "expected explain, gradcheck, exercise or bench" in capsys.readouterr().err
