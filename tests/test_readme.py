"""The READMEs are true to the letter: their paths exist, their commands and snippets run.

README.md and README.vi.md carry the same lesson map (section -> class, test, example,
figure, `numloss explain` command); this checks that both have the same rows pointing
at the same files, that every file they name exists, that every `numloss explain`
command in them exits 0, that every ```python snippet in README.md runs from an empty
directory, and that every `make` target they name is in the Makefile.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from numloss.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
README_VI = (ROOT / "README.vi.md").read_text(encoding="utf-8")
BOTH = {"README.md": README, "README.vi.md": README_VI}

# the lesson's sections, and the ranking losses its introduction promises
SECTIONS = ["1.1", "1.2", "1.3", "2.1.1", "2.1.2", "2.1.3", "2.1.4", "2.2.1", "2.2.2"]
SECTIONS += ["2.2.3", "3.1.1", "3.1.2", "3.1.3", "3.2", "3.3"]
RANKING = {"README.md": "intro", "README.vi.md": "Mở đầu"}

LINK = re.compile(r"\]\(([^)\s]+)\)")  # [text](target) and ![alt](target)
SPAN = re.compile(r"`([^`]+)`")


def table(text: str, name: str) -> list[list[str]]:
    """The rows (lists of cells) of the table between <!-- name --> and <!-- /name -->."""
    block = text.split(f"<!-- {name} -->", 1)[1].split(f"<!-- /{name} -->", 1)[0]
    rows = [line for line in block.strip().splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]
    return cells[2:]  # past the header and the |---| line


def lesson_map(text: str) -> list[dict]:
    out = []
    for cells in table(text, "lesson-map"):
        section, _title, names, *rest = cells
        row = " | ".join(rest)
        out.append(
            {
                "section": section,
                "names": SPAN.findall(names),
                "paths": LINK.findall(row),
                "commands": [s for s in SPAN.findall(row) if s.startswith("numloss explain")],
            }
        )
    return out


def without_code_blocks(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.DOTALL)


def explain_commands(text: str) -> list[str]:
    """Every `numloss explain ...` in the text: in backticks or on a line of a code block."""
    found = [s for s in SPAN.findall(without_code_blocks(text)) if s.startswith("numloss explain")]
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        for prefix in ("numloss ", ".venv/bin/numloss "):
            if line.startswith(prefix + "explain"):
                found.append("numloss " + line[len(prefix) :])
    templates = ("NAME", "...")  # `numloss explain NAME --input ...` shows the form, not a run
    return sorted({c for c in found if not any(t in c for t in templates) and len(c.split()) > 3})


# -- the lesson map ----------------------------------------------------------------------------
def test_the_map_covers_every_section_and_the_ranking_losses():
    for name, text in BOTH.items():
        sections = [row["section"] for row in lesson_map(text)]
        assert sections == SECTIONS + [RANKING[name]] * 2, name


def test_both_maps_have_the_same_rows_pointing_at_the_same_files():
    english, vietnamese = lesson_map(README), lesson_map(README_VI)
    assert len(english) == len(vietnamese)
    for en, vi in zip(english, vietnamese, strict=True):
        if en["section"] != RANKING["README.md"]:
            assert en["section"] == vi["section"]
        assert en["names"] == vi["names"], en["section"]
        assert en["paths"] == vi["paths"], en["section"]
        assert en["commands"] == vi["commands"], en["section"]
        assert en["commands"], f"{en['section']}: no numloss explain command"
        assert any(p.startswith("examples/") and p.endswith(".py") for p in en["paths"])
        assert any(p.startswith("tests/") for p in en["paths"])


def test_every_rows_textbook_forms_exist_and_both_maps_name_the_same():
    from numloss import textbook

    for en, vi in zip(table(README, "lesson-map"), table(README_VI, "lesson-map"), strict=True):
        assert en[3] == vi[3], en[0]
        for name in SPAN.findall(en[3]):
            assert name in textbook.__all__ and callable(getattr(textbook, name)), name


def test_every_row_names_what_numloss_exports():
    import numloss as nl
    import numloss.train as train

    for row in lesson_map(README):
        for name in row["names"]:
            base = name.split("(")[0]
            target = getattr(train, base.split(".", 1)[1]) if base.startswith("train.") else None
            assert target is not None or base in nl.__all__, f"{row['section']}: {name}"


@pytest.mark.parametrize("name", BOTH)
def test_every_linked_file_exists(name):
    for target in LINK.findall(BOTH[name]):
        if target.startswith(("http://", "https://", "#")):
            continue
        assert (ROOT / target).exists(), f"{name} links {target}, which does not exist"


def test_the_layout_names_files_that_exist():
    block = README.split("## Layout", 1)[1].split("```")[1]
    for line in block.strip().splitlines():
        path = line.split()[0]
        assert (ROOT / path).exists(), path


@pytest.mark.parametrize(
    "command", sorted(set(explain_commands(README)) | set(explain_commands(README_VI)))
)
def test_every_numloss_explain_command_runs(command, capsys):
    argv = shlex.split(command)
    assert argv[0] == "numloss"
    assert main(argv[1:]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "[backward]" in out or "the function's output" in out


def test_the_map_has_the_lessons_numbers_in_its_commands(capsys):
    """The commands of 2.1.2, 3.1.1 and 3.3 print the lesson's own numbers."""
    rows = {row["section"]: row["commands"][0] for row in lesson_map(README)}
    for section, numbers in (
        ("2.1.2", ["0.10536", "0.59784", "2.30259"]),  # -ln 0.9, -ln 0.55, -ln 0.1
        ("3.1.1", ["0.41703"]),  # -ln softmax([2, 1, 0.1])_0
        ("3.3", ["[[0.925, 0.025, 0.025, 0.025]]"]),  # the smoothed one-hot
        ("2.2.1", ["[-1. ,  0.5,  2. ]", "[False,  True,  True]"]),  # margin - u; the zones
    ):
        assert main(shlex.split(rows[section])[1:]) == 0
        out = capsys.readouterr().out
        for number in numbers:
            assert number in out, (section, number)


# -- the figures ---------------------------------------------------------------------------------
def test_every_figure_an_example_saves_is_in_the_figure_table():
    saved = {}
    for script in (ROOT / "examples").glob("*.py"):
        for stem in re.findall(r'save\(fig, "([\w.-]+)"\)', script.read_text(encoding="utf-8")):
            saved[stem] = script.stem
    rows = table(README, "figures")
    shown = {}
    for figure, sentence, made_by in rows:
        (path,) = LINK.findall(figure)
        (target,) = SPAN.findall(made_by)
        shown[Path(path).stem] = target
        assert sentence.endswith("."), path
    for stem, script in saved.items():
        assert stem in shown, f"examples/{script}.py saves {stem}.png; the README does not show it"
        assert shown[stem] == f"make example-{script}", stem


# -- the Python snippets and the make targets ---------------------------------------------------
SNIPPETS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_there_are_snippets():
    assert SNIPPETS


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda s: s.splitlines()[0])
def test_every_python_snippet_runs_from_an_empty_directory(snippet, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, "-c", snippet], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z0-9_.%-]+):", makefile, flags=re.MULTILINE))


@pytest.mark.parametrize("name", BOTH)
def test_every_make_target_named_exists(name):
    targets = _make_targets()
    # `make X` in backticks, or a line of a shell block that starts with it
    named = set(
        re.findall(r"(?:`|^)make ([a-z][\w-]*(?:-[A-Za-z_0-9]+)?)", BOTH[name], flags=re.MULTILINE)
    )
    assert {"examples", "test"} <= named
    for target in named:
        if target.startswith("example-"):
            assert "example-%" in targets
            script = target[len("example-") :]
            assert script == "NAME" or (ROOT / "examples" / f"{script}.py").exists(), target
        else:
            assert target in targets, (
                f"{name} names `make {target}`; the Makefile has no such target"
            )


# -- what the README says ----------------------------------------------------------------------
def test_the_readme_starts_with_its_vietnamese_link_and_the_two_commands():
    first = README.splitlines()[0]
    assert "(README.vi.md)" in first
    assert "(README.md)" in README_VI.splitlines()[0]
    for text in BOTH.values():
        block = text.split("```sh", 1)[1].split("```", 1)[0]
        assert [line.split()[:2] for line in block.strip().splitlines()] == [
            ["make", "examples"],
            ["make", "test"],
        ]


def test_the_lesson_is_cited_by_title_not_by_path():
    for text in BOTH.values():
        assert "*Loss Functions for Classification*" in text
        # constraints.txt, the pinned versions, is the one .txt file a README may name
        assert "seed" not in text and ".txt" not in text.replace("constraints.txt", "")


def test_claims_issue_12_corrected():
    assert "proven" not in README
    assert "checked against finite differences" in README
    assert " MB" not in README  # memory in MiB, as computed
    assert "surprise(p, base=2)" not in README  # surprise is in nats by default, like the rest


def test_the_own_loss_snippet_passes_the_suite_as_the_readme_says(tmp_path):
    """The "Checking your own loss" module, saved as mylosses.py, checked by its command."""
    (snippet,) = [s for s in SNIPPETS if s.startswith("# mylosses.py")]
    (tmp_path / "mylosses.py").write_text(snippet)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "numloss.gradcheck", "--module", "mylosses"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "MyHinge" in done.stdout and " 0 failed" in done.stdout
