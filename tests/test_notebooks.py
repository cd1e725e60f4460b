"""`make notebooks`: an example built as a notebook and executed, its outputs inline.

examples/_notebooks.py reads each percent-cell script as a notebook (jupytext), runs it
in a kernel of this Python (nbclient, ipykernel) and writes build/notebooks/NAME.ipynb;
this builds one, in its quick run, into a temporary folder and reads what came out.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
STEM = "sec2_2_margins"  # the quickest example: a second or two in a kernel


def _git_status() -> str | None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    done = subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
    )
    return done.stdout if done.returncode == 0 else None


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("notebooks")
    before = _git_status()
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "_notebooks.py"), "--quick", "--out", str(out), STEM],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return out, nbformat.read(out / f"{STEM}.ipynb", as_version=4), done, before


def test_the_notebook_is_valid_and_runs_in_a_python_kernel(built):
    _, nb, done, _ = built
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert "WARNING" not in done.stderr  # the kernel's own notices stay out of the way


def test_every_cell_of_the_script_is_there_and_ran(built):
    _, nb, _, _ = built
    script = (ROOT / "examples" / f"{STEM}.py").read_text()
    code = [c for c in nb.cells if c.cell_type == "code"]
    markdown = [c for c in nb.cells if c.cell_type == "markdown"]
    assert "--quick" in code[0].source  # the quick run's first cell, then the script's
    assert len(code) - 1 == len(re.findall(r"^# %%$", script, flags=re.MULTILINE))
    assert len(markdown) == script.count("# %% [markdown]")
    assert all(c.execution_count is not None for c in code)
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]


def test_its_numbers_and_figures_are_inline(built):
    out, nb, _, _ = built
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    printed = "".join(o.text for o in outputs if o.output_type == "stream")
    assert "Section 2.2 - losses as functions of the margin u = y f(x)" in printed
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == len(
        re.findall(r"save\(fig, ", (ROOT / "examples" / f"{STEM}.py").read_text())
    )
    assert (out / "figures" / f"{STEM}.png").is_file()  # what save() wrote: beside the notebook


def test_building_leaves_nothing_in_the_repository(built):
    *_, before = built
    if before is None:
        pytest.skip("not a git checkout")
    assert _git_status() == before
