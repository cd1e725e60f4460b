"""examples/sec1_information.py --quick: its printed numbers say what the lesson claims."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).parent.parent / "examples" / "sec1_information.py"


STEM = "sec1_information"  # the example the shared `run` fixture (tests/conftest.py) runs


def test_surprise_is_in_bits_and_adds(run):
    out, _ = run
    assert re.search(r"a coin lands heads\s+p = 0\.5\s+S =\s+1\.00 bits", out)
    lottery = float(re.search(r"the lottery\s+p = 1e-07\s+S =\s+([\d.]+) bits", out)[1])
    assert lottery == pytest.approx(-math.log2(1e-7), abs=0.005)  # ~23 bits, section 1.1
    both, s_p, s_q = map(
        float,
        re.search(
            r"S\(p q\) = ([\d.]+) bits = S\(p\) \+ S\(q\) = ([\d.]+) \+ ([\d.]+)", out
        ).groups(),
    )
    assert both == pytest.approx(s_p + s_q, abs=1e-4)


def _underflow_table(out):
    rows = re.findall(r"^\s+(\d+)\s+(\S+)\s+(-[\d.]+)$", out, flags=re.M)
    return {int(n): (float(prod), float(log_sum)) for n, prod, log_sum in rows}


def test_the_product_underflows_to_zero_where_its_true_value_leaves_float64(run):
    out, _ = run
    n_zero = int(re.search(r"exactly 0\.0 from n = (\d+)", out)[1])
    table = _underflow_table(out)
    before, at = table[n_zero - 1], table[n_zero]
    assert before[0] > 0 and at[0] == 0.0
    # the log-sum says why: the true product at n_zero is below the smallest positive
    # float64, and one factor earlier it still rounds to a representable number
    smallest = np.finfo(np.float64).smallest_subnormal
    assert at[1] < math.log(smallest)
    assert before[1] > math.log(smallest) - math.log(2)  # smallest / 2 is 0.0 itself


def test_the_sum_of_logs_stays_finite(run):
    out, _ = run
    table = _underflow_table(out)
    longest = max(table)
    assert table[longest][0] == 0.0  # the product long gone
    assert math.isfinite(table[longest][1]) and table[longest][1] < -1000
    stated = float(re.search(rf"sum of ln p at n = {longest}: (-[\d.]+) nats \(finite\)", out)[1])
    assert stated == table[longest][1]
    # each row's log-sum is the lesson's -2.513 nats per three predictions, times n / 3
    for n, (_, log_sum) in table.items():
        if n % 3 == 0:
            assert log_sum == pytest.approx(n / 3 * math.log(0.9 * 0.9 * 0.1), abs=1e-3)


def test_entropy_and_kl(run):
    out, _ = run
    assert re.search(r"fair coin\s+\[0\.5, 0\.5\]: H = 1\.000 bits", out)
    assert re.search(r"biased coin\s+\[0\.9, 0\.1\]: H = 0\.469 bits", out)
    kl = float(re.search(r"KL\(P\* \|\| P\)\s+= ([\d.]+)", out)[1])
    assert kl == pytest.approx(-math.log(0.7), abs=5e-4)


def test_writes_its_figure(run):
    _, tmp = run
    png = tmp / "sec1_information.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
