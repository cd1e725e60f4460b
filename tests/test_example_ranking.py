"""examples/ranking.py in --quick mode: its printed numbers back its claims.

The claims (the lesson's introduction promises ranking losses): MarginRankingLoss learns
from judged pairs alone a score that orders held-out pairs as the hidden score does, in
the hidden score's direction; TripletMarginLoss learns a 2-D embedding of the digits in
which held-out digits are better separated than before training.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / "examples" / "ranking.py"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(stdout, figure folder) of one --quick run, shared by the tests below."""
    figures = tmp_path_factory.mktemp("figures")
    env = {**os.environ, "NUMLOSS_FIGURES": str(figures), "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        env=env,
        cwd=figures,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, figures


def grab(pattern, text):
    """The groups of `pattern`'s one match in `text` (the test fails if it is missing)."""
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not found in the output:\n{text}"
    return match.groups()


def test_writes_both_figures(run):
    _, figures = run
    for name in ("ranking_pairs.png", "ranking_triplets.png"):
        assert (figures / name).read_bytes()[:8] == PNG


def test_pairs_alone_teach_the_hidden_order(run):
    out, _ = run
    before, after = map(float, grab(r"test pairs: before ([\d.]+), after ([\d.]+)", out))
    wrongly = float(grab(r"\(([\d.]+)% judged wrongly\)", out)[0])
    assert 0 < wrongly < 10  # the judge is noisy, a little
    assert after > before and after >= 0.95
    assert float(grab(r"and the hidden w\*: ([\d.-]+)", out)[0]) >= 0.99  # its direction


def test_triplets_separate_the_digits(run):
    out, _ = run
    first, last = map(float, grab(r"first 50 steps ([\d.]+), last 50 steps ([\d.]+)", out))
    assert last < first
    before, after = map(float, grab(r"test digits: before ([\d.]+), after ([\d.]+)", out))
    assert after > before and after >= 0.8  # chance is 0.1
