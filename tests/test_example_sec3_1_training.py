"""examples/sec3_1_training.py in --quick mode: its printed numbers back its claims.

The claims (the lesson, sections 3.1-3.2): integer labels and one-hot rows train to the
same weights; two predictions with the same probability on the true class have the same
loss, -ln p; and a softmax before CrossEntropyLoss leaves a loss that cannot go below
log(1 + (C - 1)/e) and learns more slowly than logits fed straight in.
"""

import math
import re

import pytest
from example_run import grab, is_png

C = 10  # the digits


STEM = "sec3_1_training"  # the example the shared `run` fixture (tests/conftest.py) runs


def test_writes_its_figure(run):
    _, figures = run
    assert is_png(figures / "sec3_1_training.png")


def test_integer_labels_and_one_hot_rows_reach_the_same_weights(run):
    out, _ = run
    gap = float(grab(r"largest difference between the two models' weights: ([\d.e+-]+)", out)[0])
    assert gap <= 1e-12  # rounding level: the same steps, not merely a similar result


def test_same_true_class_probability_same_loss_whatever_the_rest(run):
    out, _ = run
    rows = re.findall(r"p = \[([^\]]+)\]\s+loss = ([\d.]+)\s+dL/dz = \[([^\]]+)\]", out)
    assert len(rows) == 2
    (p1, loss1, g1), (p2, loss2, g2) = rows
    assert p1.split()[0] == p2.split()[0] == "0.60" and p1 != p2  # same p(dog), rest spread apart
    assert float(loss1) == float(loss2) == pytest.approx(-math.log(0.6), abs=1e-6)
    assert float(grab(r"the two losses differ by ([\d.e+-]+)", out)[0]) <= 1e-12
    assert g1.split()[0] == g2.split()[0] == "-0.40" and g1 != g2  # p - onehot: the rest differs


def test_the_softmax_layer_passes_the_gradient_check(run):
    out, _ = run
    assert re.search(r"Softmax layer's backward against finite differences:\n  PASS", out)


def test_softmax_before_ce_has_the_floor_and_learns_more_slowly(run):
    out, _ = run
    floor = math.log(1 + (C - 1) / math.e)
    printed, perfect = map(float, grab(r"= ([\d.]+); CE of perfect one-hot inputs = ([\d.]+)", out))
    assert printed == pytest.approx(floor, abs=5e-5) and perfect == pytest.approx(floor, abs=5e-5)
    row = r"\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)"
    r_first, r_last, r_low, r_acc = map(float, grab(r"logits \(right\) loss" + row, out))
    w_first, w_last, w_low, w_acc = map(float, grab(r"softmax first \(wrong\) loss" + row, out))
    assert w_low >= floor and w_last >= floor  # it cannot go below the floor
    assert r_last < floor  # the right way does, at once
    assert r_acc > w_acc  # and classifies better after the same epochs
    right, never, wrong = grab(r"0\.9 first reached at epoch: right (\d+), wrong (> )?(\d+)", out)
    assert never or int(wrong) > int(right)  # "> EPOCHS": not reached at all


def test_the_mistake_made_on_purpose_is_labelled_deliberate(run):
    """The softmax-first model trips numloss's softmax-twice warning, as it should; the
    example prints it on stdout as deliberate (run_example fails on a warning on stderr)."""
    out, _ = run
    lines = [line for line in out.splitlines() if "NumlossWarning" in line]
    assert len(lines) == 2, out  # training the wrong model, and CE of one-hot rows
    for line in lines:
        assert "(deliberate: numloss warns, as it should)" in line
        assert "softmax was applied twice" in line
