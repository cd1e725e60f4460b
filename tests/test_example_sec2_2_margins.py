"""examples/sec2_2_margins.py in --quick mode: its table is the lesson's zones and formulas.

Each row of the printed table is recomputed here from the formulas (hinge max(0, 1 - u),
its square, the logistic loss log2(1 + e^-u), the 0-1 loss) and the lesson's zones; the
printed hinge gradient is -1 inside the margin and 0 from u = 1 on.
"""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / "examples" / "sec2_2_margins.py"
PNG = b"\x89PNG\r\n\x1a\n"
ROW = re.compile(
    r"^\s+(-?[\d.]+) (wrong|too close|safe)\s+(\d)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", re.M
)


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


def test_writes_its_figure(run):
    _, figures = run
    assert (figures / "sec2_2_margins.png").read_bytes()[:8] == PNG


def test_every_row_is_the_lessons_zone_and_formulas(run):
    out, _ = run
    rows = ROW.findall(out)
    assert len(rows) == 8
    assert {zone for _, zone, *_ in rows} == {"wrong", "too close", "safe"}
    for u, zone, zero_one, hinge, squared, logistic in rows:
        u = float(u)
        assert zone == ("safe" if u >= 1 else "too close" if u > 0 else "wrong")
        assert int(zero_one) == (u <= 0)
        assert float(hinge) == pytest.approx(max(0.0, 1 - u), abs=5e-3)
        assert float(squared) == pytest.approx(max(0.0, 1 - u) ** 2, abs=5e-3)
        assert float(logistic) == pytest.approx(math.log2(1 + math.exp(-u)), abs=5e-4)


def test_hinge_gradient_is_minus_one_inside_the_margin_and_zero_beyond(run):
    out, _ = run
    us = [float(row[0]) for row in ROW.findall(out)]
    grad = re.search(r"hinge gradient dL/df: \[([^\]]+)\]", out)
    assert grad
    values = [float(v) for v in grad.group(1).split()]
    assert values == [-1.0 if u < 1 else 0.0 for u in us]
    assert "-0." not in grad.group(1).replace("-1.", "")  # no negative zeros to puzzle over
