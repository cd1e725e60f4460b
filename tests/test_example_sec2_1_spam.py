"""examples/sec2_1_spam.py --quick: the lesson's spam numbers, and probabilities against logits."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

import numloss as nl

SCRIPT = Path(__file__).parent.parent / "examples" / "sec2_1_spam.py"
NUM = r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?"


STEM = "sec2_1_spam"  # the example the shared `run` fixture (tests/conftest.py) runs


def softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def test_the_lessons_three_models(run):
    out, _ = run
    rows = re.findall(
        rf"^[ABC] \(\w+\)\s+({NUM})\s+({NUM})\s+({NUM})\s+({NUM})\s+({NUM})\s+({NUM})$",
        out,
        flags=re.M,
    )
    assert len(rows) == 3
    for p, logit, on_p, on_logit, _dp, dx in (map(float, row) for row in rows):
        assert logit == pytest.approx(math.log(p / (1 - p)), abs=5e-4)
        assert on_p == on_logit == round(-math.log(p), 3)  # both ways give -ln p
        assert dx == pytest.approx(p - 1, abs=5e-4)  # dL/dx = p - y, y = 1
    assert [row[2] for row in rows] == ["0.105", "0.598", "2.303"]  # the lesson's numbers


def _table(out, title):
    block = out.split(title)[1].split("\n\n")[1]
    rows = re.findall(
        rf"^\s+({NUM})\s+({NUM})\s+({NUM})\s+({NUM})\s+({NUM})\s+({NUM})$", block, re.M
    )
    assert len(rows) >= 6
    return [tuple(map(float, row)) for row in rows]


@pytest.mark.parametrize(
    ("title", "label"),
    [("a positive example (y = 1)", 1), ("a negative example (y = 0)", 0)],
)
def test_logits_keep_the_true_loss_and_gradient_probabilities_stop_at_100(run, title, label):
    out, _ = run
    for x, p_true, loss_p, grad_p, loss_x, grad_x in _table(out, title):
        wrong = -x if label == 1 else x  # how far the logit sits on the wrong side
        assert loss_x == pytest.approx(softplus(wrong), abs=5e-5)  # the true loss, always
        sig = 1 / (1 + math.exp(-x)) if x > -700 else 0.0
        assert grad_x == pytest.approx(sig - label, abs=5e-5)  # and its gradient
        assert loss_p <= 100
        if p_true == 0 or -math.log(p_true) > 100:  # clamped: no loss above 100, no gradient
            assert loss_p == 100 and grad_p == 0
        if wrong > 100:
            assert loss_p == 100 and grad_p == 0 and abs(grad_x) == 1
            assert loss_x > loss_p


def test_where_each_side_saturates(run):
    out, _ = run
    found = re.search(
        r"gradient 0, from \|x\| = (\d+) for y = 1 and from \|x\| = (\d+) for y = 0", out
    )
    y1, y0 = map(int, found.groups())
    n = np.arange(1, 1001, dtype=np.float64)
    # y = 1 at logit -n: BCELoss clamps log p at -100 (no gradient once log p <= -100, the
    # kink included), p = sigmoid(-n) as numloss computes it
    with np.errstate(divide="ignore"):  # p underflows to 0 beyond n = 745: log 0 = -inf
        assert y1 == n[np.log(nl.sigmoid(-n)) <= -100][0]
    # y = 0 at logit +n: 1 - sigmoid(n) rounds to 0 in float64, long before the clamp
    assert y0 == n[1 - nl.sigmoid(n) == 0][0]
    assert y0 < y1


def test_with_logits_is_the_true_loss_everywhere(run):
    out, _ = run
    worst = float(re.search(r"largest relative difference (\S+)", out)[1])
    assert worst <= 1e-15


def test_writes_its_figures(run):
    _, tmp = run
    names = {p.name for p in tmp.glob("*.png")}
    assert names == {"sec2_1_spam.png", "sec2_1_spam_logits.png"}
    for name in names:
        assert (tmp / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
