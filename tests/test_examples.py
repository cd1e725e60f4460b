"""Every example runs on its own, prints the lesson's numbers and writes its figure."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("sec*.py"))

# numbers from the lesson each example must print
EXPECTED = {
    "sec1_information.py": [
        "1.00 bits",
        "S(p) + S(q)",
        "H = 1.000 bits",
        "0.469",
        "KL(P* || P)        = 0.357",
    ],
    "sec2_2_margins.py": ["safe", "too close", "wrong", "0.50", "3.00"],
    "sec2_1_spam.py": ["0.105", "0.598", "2.303"],
    "sec3_softmax.py": ["0.417", "-0.341", "0.242", "0.099", "0.925 0.025", "same loss: True"],
}


def run(script, tmp_path):
    env = {**os.environ, "NUMLOSS_FIGURES": str(tmp_path), "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )


def test_every_example_is_listed_here():
    assert {s.name for s in SCRIPTS} == set(EXPECTED)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_example_runs_prints_its_numbers_and_writes_a_png(script, tmp_path):
    proc = run(script, tmp_path)
    assert proc.returncode == 0, proc.stderr
    for number in EXPECTED[script.name]:
        assert number in proc.stdout, f"{number} missing from {script.name}'s output"
    pngs = list(tmp_path.glob("*.png"))
    assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
