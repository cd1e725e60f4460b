"""examples/ranking.py in --quick mode: its printed numbers back its claims.

The claims (the lesson's introduction promises ranking losses): MarginRankingLoss learns
from judged pairs alone a score that orders held-out pairs as the hidden score does, in
the hidden score's direction; TripletMarginLoss learns a 2-D embedding of the digits in
which held-out digits are better separated than before training.
"""

from example_run import grab, is_png

STEM = "ranking"  # the example the shared `run` fixture (tests/conftest.py) runs


def test_writes_both_figures(run):
    _, figures = run
    for name in ("ranking_pairs.png", "ranking_triplets.png"):
        assert is_png(figures / name)


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


def test_pick_draws_what_rng_choice_draws():
    """The example picks a positive and a negative with its own `pick`, the draw
    rng.choice(members) makes without choice's argument handling: the same members, and
    the generator left in the same state, so the example's numbers are choice's."""
    import ast

    import numpy as np
    from example_run import EXAMPLES

    tree = ast.parse((EXAMPLES / "ranking.py").read_text())
    (pick,) = [node for node in tree.body if getattr(node, "name", None) == "pick"]
    namespace = {"np": np}
    exec(compile(ast.Module([pick], type_ignores=[]), "ranking.py", "exec"), namespace)
    mine, theirs = np.random.default_rng(7), np.random.default_rng(7)
    populations = [np.arange(n) * 3 for n in (1, 2, 7, 135, 180, 1000)]
    for i in range(20_000):
        members = populations[i % len(populations)]
        assert namespace["pick"](mine, members) == theirs.choice(members)
    assert mine.integers(1 << 62) == theirs.integers(1 << 62)  # the same state after
