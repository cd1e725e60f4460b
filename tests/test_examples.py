"""What every example shares: a test file of its own, notebook cells, --quick, its figures.

Each script's own numbers are checked in tests/test_example_<script>.py, which runs it
in --quick mode; this file checks what all of them promise.
"""

import re
import subprocess
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
