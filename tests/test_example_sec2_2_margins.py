"""examples/sec2_2_margins.py in --quick mode: its table is the lesson's zones and formulas.

Each row of the printed table is recomputed here from the formulas (hinge max(0, 1 - u),
its square, the logistic loss log2(1 + e^-u), the 0-1 loss) and the lesson's zones; the
printed hinge gradient is -1 inside the margin and 0 from u = 1 on.
"""

import math
import re

import pytest
from example_run import grab, is_png

ROW = re.compile(
    r"^\s+(-?[\d.]+) (wrong|too close|safe)\s+(\d)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", re.M
)


STEM = "sec2_2_margins"  # the example the shared `run` fixture (tests/conftest.py) runs


def test_writes_its_figure(run):
    _, figures = run
    assert is_png(figures / "sec2_2_margins.png")


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
    grad = grab(r"hinge gradient dL/df: \[([^\]]+)\]", out)[0]
    assert [float(v) for v in grad.split()] == [-1.0 if u < 1 else 0.0 for u in us]
    assert "-0." not in grad.replace("-1.", "")  # no negative zeros to puzzle over
