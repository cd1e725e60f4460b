"""CONTRIBUTING.md is true: its example is the shipped code, and its guide to adding a loss,
followed block by block on a copy of the repository, gives a loss that passes the checks
the guide names.

Each code block of the guide's steps starts with a comment saying where it goes:
``# FILE: at the end`` (appended), ``# FILE: in TABLE`` (inserted as the first entry of
the dict literal TABLE), ``# FILE: before NAME`` (inserted before the line that starts
NAME). Step 2, exporting the class, is said in words; the test does what it says.
"""

from __future__ import annotations

import ast
import inspect
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import numloss as nl

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", GUIDE, flags=re.DOTALL)
PLACE = re.compile(r"^# (\S+): (at the end|in (\w+)|before (\w+))$")
NEW = "L1Loss"


def _without_docstrings(source: str) -> str:
    tree = ast.parse(textwrap.dedent(source))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                body.pop(0)
    return ast.dump(tree)


def test_the_guides_example_is_the_shipped_code():
    """The first block, MSELoss, is numloss's MSELoss but for the docstrings."""
    assert BLOCKS[0].startswith("class MSELoss(Loss):")
    assert _without_docstrings(BLOCKS[0]) == _without_docstrings(inspect.getsource(nl.MSELoss))


def _placed_blocks() -> list[tuple[str, str, str]]:
    """(file, where, code) of every block of the guide's steps."""
    out = []
    for block in BLOCKS[1:]:
        first, _, code = block.partition("\n")
        m = PLACE.match(first)
        assert m, f"a step's block must start with '# FILE: where'; got {first!r}"
        out.append((m.group(1), m.group(2), code))
    return out


def _apply(root: Path, path: str, where: str, code: str) -> None:
    target = root / path
    text = target.read_text(encoding="utf-8")
    if where == "at the end":
        text = text.rstrip("\n") + "\n" + code
    elif where.startswith("in "):
        table = where[3:]
        m = re.search(rf"^{table}(: [^=]+)? = \{{\n", text, flags=re.MULTILINE)
        assert m, f"{path} has no table {table}"
        text = text[: m.end()] + code + text[m.end() :]
    else:
        name = where[len("before ") :]
        m = re.search(rf"^{name}\b", text, flags=re.MULTILINE)
        assert m, f"{path} has no line starting {name}"
        text = text[: m.start()] + code + "\n\n" + text[m.start() :]
    target.write_text(text, encoding="utf-8")


def _export(root: Path) -> None:
    """Step 2: L1Loss in binary's __all__, in __init__'s import from .binary and __all__."""
    binary = root / "numloss/binary.py"
    text = binary.read_text(encoding="utf-8")
    text = re.sub(r"^__all__ = \[", f'__all__ = ["{NEW}", ', text, count=1, flags=re.MULTILINE)
    binary.write_text(text, encoding="utf-8")
    init = root / "numloss/__init__.py"
    text = init.read_text(encoding="utf-8")
    text = re.sub(r"^from \.binary import ", f"from .binary import {NEW}, ", text, flags=re.M)
    text = re.sub(r"^__all__ = \[\n", f'__all__ = [\n    "{NEW}",\n', text, flags=re.M)
    init.write_text(text, encoding="utf-8")


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=root, capture_output=True, text=True, timeout=600
    )


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_adding_a_loss_by_the_guide_passes_the_checks_it_names(tmp_path):
    if hasattr(nl, NEW):  # this checkout followed the guide already: the suite checks it
        pytest.skip(f"{NEW} is in this checkout already (the guide was followed here)")
    root = tmp_path / "numloss-copy"
    ignore = shutil.ignore_patterns(".venv", ".git", "build", "__pycache__", ".hypothesis")
    shutil.copytree(ROOT, root, ignore=ignore)
    for path, where, code in _placed_blocks():
        _apply(root, path, where, code)
    _export(root)
    # the gradient checker, on every option of the new row
    done = _run(root, "-m", "numloss.gradcheck", NEW)
    assert done.returncode == 0 and NEW in done.stdout and " 0 failed" in done.stdout, done
    # `make test`'s tests that read the new loss: every one whose id names it, every table
    # guard (the tests without parameters) of the files that read the tables, the doctests
    files = ["tests/" + f for f in ("test_suite.py", "test_textbook.py", "test_properties.py")]
    files += ["tests/" + f for f in ("test_bad_input.py", "test_fast.py", "test_explain.py")]
    files += ["tests/" + f for f in ("test_state.py", "test_memory.py", "test_bench.py")]
    files += ["tests/test_float32.py", "tests/test_binary.py", "tests/test_cli.py"]
    collected = _run(root, "-m", "pytest", "--collect-only", "-q", *files, "numloss/binary.py")
    ids = [line for line in collected.stdout.splitlines() if "::" in line]
    chosen = [i for i in ids if NEW in i or "[" not in i and "test_example" not in i]
    assert any(NEW in i for i in chosen) and len(chosen) > 50, collected.stdout[-2000:]
    tested = _run(root, "-m", "pytest", "-q", "-p", "no:cacheprovider", *chosen)
    assert tested.returncode == 0, tested.stdout[-4000:] + tested.stderr[-2000:]
    # and the trace the guide shows
    shown = _run(root, "-m", "numloss", "explain", "l1", "--input", "[1.0, -2.0]", "--target", "0")
    assert shown.returncode == 0 and "diff: x - y" in shown.stdout, shown
