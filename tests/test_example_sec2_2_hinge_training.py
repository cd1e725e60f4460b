"""examples/sec2_2_hinge_training.py in --quick mode: its printed numbers back its claims.

The claims (the lesson, section 2.2): only the points with y f < 1 (the support vectors)
have a hinge gradient, every point has a BCE gradient, the support vectors alone give the
whole gradient, the hinge and logistic models classify the two clouds about equally
well, and MultiMarginLoss learns three classes with a gradient on only some points.
"""

import re

from example_run import grab, is_png

STEM = "sec2_2_hinge_training"  # the example the shared `run` fixture (tests/conftest.py) runs


def test_writes_both_figures(run):
    _, figures = run
    for name in ("sec2_2_hinge_training.png", "sec2_2_multimargin.png"):
        assert is_png(figures / name)


def test_support_vectors_are_exactly_the_points_with_a_hinge_gradient(run):
    out, _ = run
    support, n = map(int, grab(r"support vectors \(y f < 1\): (\d+) of (\d+)", out))
    with_grad, same = grab(r"nonzero hinge gradient: (\d+); the same points: (\w+)", out)
    assert int(with_grad) == support and same == "True"
    assert 0 < support < n  # some points, not all: the hinge ignores the safe ones


def test_every_point_has_a_bce_gradient(run):
    out, _ = run
    n = int(grab(r"support vectors \(y f < 1\): \d+ of (\d+)", out)[0])
    with_grad, total = map(int, grab(r"nonzero BCE gradient: (\d+) of (\d+)", out))
    assert with_grad == total == n
    assert float(grab(r"smallest \|dl/df\| ([\d.e+-]+)", out)[0]) > 0


def test_the_support_vectors_alone_give_the_whole_gradient(run):
    out, _ = run
    rows = re.findall(r"d\(summed hinge\)/d\(w1, w2, b\), .*\[([^\]]+)\]", out)
    assert len(rows) == 2
    everyone, support = ([float(v) for v in row.split()] for row in rows)
    assert everyone == support and any(v != 0 for v in everyone)
    assert float(grab(r"largest difference: ([\d.e+-]+)", out)[0]) <= 1e-12  # rounding only


def test_hinge_and_logistic_both_separate_the_clouds(run):
    out, _ = run
    hinge = [float(v) for v in grab(r"hinge \(HingeLoss\)\s+([\d.]+)\s+([\d.]+)", out)]
    logistic = [
        float(v) for v in grab(r"logistic \(BCEWithLogitsLoss\)\s+([\d.]+)\s+([\d.]+)", out)
    ]
    assert min(hinge + logistic) >= 0.9
    assert abs(hinge[1] - logistic[1]) <= 0.05  # test accuracies: neither loss is much better


def test_multimargin_learns_three_classes_with_a_gradient_on_few_points(run):
    out, _ = run
    part = out[out.index("Section 2.2.3") :]
    train, test = map(float, grab(r"train accuracy ([\d.]+), test accuracy ([\d.]+)", part))
    assert min(train, test) >= 0.9  # chance is 1/3
    active, n = map(int, grab(r"nonzero gradient .*: (\d+) of (\d+)", part))
    assert 0 < active < n
