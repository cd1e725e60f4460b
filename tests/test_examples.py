"""What every example shares: a test file of its own, notebook cells, --quick, its figures.

Each script's own numbers are checked in tests/test_example_<script>.py, which runs it
in --quick mode; this file checks what all of them promise.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def test_there_are_examples_for_every_part_of_the_lesson():
    names = {s.stem for s in SCRIPTS}
    for section in ("sec1", "sec2_1", "sec2_1_3", "sec2_2", "sec3_1", "sec3_3"):
        assert any(n.startswith(section) for n in names), section
    assert "ranking" in names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_every_example_has_its_own_test_file(script):
    assert (ROOT / "tests" / f"test_example_{script.stem}.py").exists()


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_every_example_is_a_notebook_in_percent_format_with_a_quick_mode(script):
    text = script.read_text()
    assert text.count("# %%") >= 3, "code cells marked with # %%"
    assert "# %% [markdown]" in text, "Markdown cells that say what comes next"
    assert "--quick" in text and "parse_known_args" in text  # notebooks pass their own args


def test_every_committed_figure_is_made_by_an_example():
    made = "\n".join(s.read_text() for s in SCRIPTS)
    for png in (EXAMPLES / "figures").glob("*.png"):
        stem = png.stem
        if stem.startswith("bench_"):  # the benchmark's plot: numloss/bench.py makes it
            assert stem in (ROOT / "numloss" / "bench.py").read_text()
            continue
        assert re.search(rf"['\"]{re.escape(stem)}['\"]", made) or any(
            stem.startswith(s.stem) for s in SCRIPTS
        ), f"{png.name} is made by no example"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_make_has_a_target_for_every_example(script):
    proc = subprocess.run(
        ["make", "-n", f"example-{script.stem}"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0 and f"examples/{script.stem}.py" in proc.stdout


# -- where figures go: a run never changes a committed file (only `make figures` does) ---------
def _figures_folder(*argv: str, env: dict | None = None) -> Path:
    """The folder examples/_common.py's save() writes to, for a script run with `argv`."""
    code = f"import sys; sys.argv = ['x', *{list(argv)!r}]; import _common; print(_common.figures_folder())"
    environ = {k: v for k, v in os.environ.items() if k != "NUMLOSS_FIGURES"} | (env or {})
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=EXAMPLES, env=environ, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


def test_a_direct_run_writes_under_build_not_over_the_committed_figures():
    assert _figures_folder() == ROOT.resolve() / "build" / "figures"
    assert _figures_folder("--quick") == ROOT.resolve() / "build" / "figures-quick"
    assert _figures_folder(env={"NUMLOSS_FIGURES": "elsewhere"}) == Path("elsewhere")


def _make_n(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True)


def test_quick_0_is_the_full_run_and_quick_1_the_quick_one():
    for quick, flag in (("0", False), ("1", True), (None, False)):
        done = _make_n("examples", *([f"QUICK={quick}"] if quick else []))
        assert done.returncode == 0, done.stderr
        runs = [line for line in done.stdout.splitlines() if "python $script" in line]
        assert runs and all(("--quick" in line) == flag for line in runs), (quick, runs)
    done = _make_n("examples", "QUICK=yes")
    assert done.returncode != 0 and "expected QUICK=1" in done.stderr


def test_only_make_figures_writes_the_committed_figures():
    done = _make_n("figures")
    assert done.returncode == 0, done.stderr
    assert "NUMLOSS_FIGURES=examples/figures" in done.stdout and "--quick" not in done.stdout
    for target in ("examples", "example-sec3_softmax"):
        assert "NUMLOSS_FIGURES" not in _make_n(target).stdout  # so build/figures/, by default


def test_a_mistyped_example_name_lists_the_names():
    done = _make_n("example-softmax")
    assert done.returncode != 0
    assert "no example named softmax; the examples are:" in done.stderr
    for script in SCRIPTS:
        assert script.stem in done.stderr


# -- set-up that recovers: .venv is rebuilt when another Python made it, or set-up stopped ----
def _setup_plan(folder: Path, stamp: str | None) -> str:
    """What `make -n setup` would run in a copy of the build files, with .venv's stamp."""
    for name in ("Makefile", "setup.cfg", "pyproject.toml", "constraints.txt"):
        (folder / name).write_bytes((ROOT / name).read_bytes())
    venv = folder / ".venv"
    venv.mkdir(exist_ok=True)
    if stamp is None:
        (venv / ".installed").unlink(missing_ok=True)
    else:
        (venv / ".installed").write_text(stamp + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}  # not a sub-make
    done = subprocess.run(
        ["make", "-n", "setup", f"PYTHON={sys.executable}"],
        cwd=folder, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_setup_rebuilds_a_venv_made_by_another_python_or_left_half_made(tmp_path):
    this = f"{sys.version.split()[0]} {sys.base_prefix}"  # what the Makefile records
    assert "-m venv --clear .venv" in _setup_plan(tmp_path, stamp=None)  # stopped half-way
    assert "-m venv --clear .venv" in _setup_plan(tmp_path, stamp="3.9.1 /opt/old-python")
    assert "-m venv" not in _setup_plan(tmp_path, stamp=this)  # made by this Python: kept
