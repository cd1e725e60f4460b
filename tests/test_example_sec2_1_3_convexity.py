"""examples/sec2_1_3_convexity.py --quick: BCE is convex, MSE is not, and what holds MSE.

The script is run once; each test reads the numbers it prints and checks them against
the claim they make (lesson section 2.1.3, issue 9's example 1).
"""

import math
import re
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / "examples" / "sec2_1_3_convexity.py"
TOL = 1e-4
NUM = r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?"


STEM = "sec2_1_3_convexity"  # the example the shared `run` fixture (tests/conftest.py) runs


def number(pattern, out):
    match = re.search(pattern, out)
    assert match, f"{pattern!r} not in the output"
    return float(match[1])


def test_the_hand_derived_gradients_and_hessians_match_numlosss_backward(run):
    out, _ = run
    rows = re.findall(
        rf"(BCE|MSE): at \d+ points, \|backward - analytic gradient\| <= ({NUM}), "
        rf"Hessian relative error <= ({NUM})",
        out,
    )
    assert {kind for kind, _, _ in rows} == {"BCE", "MSE"}
    for _, grad_error, hess_error in rows:
        assert float(grad_error) <= 1e-12
        assert float(hess_error) <= 1e-6  # central differences with step 1e-5


def test_newton_lands_on_minima(run):
    out, _ = run
    for kind in ("BCE", "MSE"):
        block = re.search(
            rf"{kind} optimum: w = ({NUM}), b = ({NUM}), loss = ({NUM})\s+"
            rf"\|grad\| = ({NUM}), Hessian eigenvalues \[\s*({NUM})\s+({NUM})\]",
            out,
        )
        assert block, kind
        w, b, loss, grad, low, high = map(float, block.groups())
        assert math.isfinite(w) and math.isfinite(b)  # overlapping classes: a finite optimum
        assert grad < 1e-10 and 0 < low <= high
        assert f"{kind}: from" in out
    # neither the surface grid nor any MSE run goes below the Newton optima
    assert out.count("the grid's lowest value is not below the Newton optimum: True") == 2
    assert "the lowest end of any MSE run is not below the Newton optimum: True" in out


def test_every_bce_run_ends_within_1e_4_of_the_newton_optimum(run):
    out, _ = run
    starts = int(number(r"SGD from (\d+) starting points", out))
    block = out.split("(all must be <= 0.0001):")[1].split("BCE runs within")[0]
    distances = [float(d) for d in re.findall(rf"\(\s*{NUM},\s*{NUM}\)\s+({NUM})", block)]
    assert len(distances) == starts >= 9
    assert all(0 <= d <= TOL for d in distances)
    assert f"BCE runs within 0.0001 of the optimum: {starts} of {starts}" in out
    assert number(r"BCE largest distance: (\S+)", out) == pytest.approx(max(distances), rel=0.01)


def _stuck_rows(out):
    header = out.index("more epochs  verdict")
    rows = []
    for line in out[header:].splitlines()[1:]:
        match = re.match(
            rf"\s+\(\s*({NUM}),\s*({NUM})\)\s+\(\s*({NUM}),\s*({NUM})\)\s+({NUM})\s+({NUM})\s+"
            rf"({NUM})\s+({NUM})\s+(\d+)\s+(>?\s*\d+)\s+([a-z ]+):",
            line,
        )
        if not match:
            break
        *numbers, more, verdict = match.groups()
        rows.append((*map(float, numbers), more, verdict))
    return rows


def test_each_stuck_mse_run_gets_the_verdict_its_numbers_give(run):
    out, _ = run
    starts = int(number(r"SGD from (\d+) starting points", out))
    far = int(
        number(r"MSE runs ending more than 0\.0001 above the best MSE value \(\S+\): (\d+)", out)
    )
    assert 0 < far <= starts  # MSE leaves runs behind where BCE leaves none
    rows = _stuck_rows(out)
    assert len(rows) == far
    for *_, gap, grad, low, high, flat, more, verdict in rows:
        assert gap > TOL and 0 <= flat <= 40 and low <= high
        if verdict == "local minimum":
            assert grad < 1e-8 and low > 0
        elif verdict == "undecided":
            assert more.startswith(">")
        else:  # descent went on to the best value: not a local minimum
            assert int(more) > 0 and grad >= 1e-8
            if verdict == "plateau":
                assert low <= 0  # a Hessian near singular and indefinite
            else:
                assert verdict == "still descending" and low > 0
    summary = re.search(
        r"stuck MSE runs: (\d+): local minima (\d+), plateaus (\d+), "
        r"still descending (\d+), undecided (\d+)",
        out,
    )
    total, minima, plateaus, descending, undecided = map(int, summary.groups())
    verdicts = [row[-1] for row in rows]
    assert total == far == minima + plateaus + descending + undecided
    assert (minima, plateaus, descending, undecided) == tuple(
        verdicts.count(v) for v in ("local minimum", "plateau", "still descending", "undecided")
    )


def test_the_continuation_is_fits_update(run):
    out, _ = run
    assert number(r"ends where fit ended: max difference (\S+)", out) <= 1e-10


def test_bces_hessian_is_never_negative_and_mses_is_on_a_region(run):
    out, _ = run
    bce_min = number(rf"BCE: min ({NUM}); negative", out)
    mse_min = number(rf"MSE: min ({NUM}); negative", out)
    bce_fraction = number(r"BCE: min \S+; negative on a fraction (\S+) of the grid", out)
    mse_fraction = number(r"MSE: min \S+; negative on a fraction (\S+) of the grid", out)
    assert bce_min >= 0 and bce_fraction == 0
    assert mse_min < 0 and 0 < mse_fraction < 1


def test_the_push_on_a_wrong_logit(run):
    out, _ = run
    table = out.split("MSE: 2(p-1)p(1-p)")[1]
    rows = re.findall(rf"^\s+({NUM})\s+({NUM})\s+({NUM})\s+({NUM})$", table, flags=re.M)
    assert len(rows) >= 5
    for z, p, bce, mse in (map(float, row) for row in rows):
        assert p == pytest.approx(1 / (1 + math.exp(-z)), abs=1e-5)
        assert bce == pytest.approx(p - 1, abs=2e-5)  # to the printed digits
        assert mse == pytest.approx(2 * (p - 1) * p * (1 - p), abs=2e-5)
        if z <= -6:  # confidently wrong: BCE still pushes with almost 1, MSE with almost 0
            assert bce < -0.99 and abs(mse) < 0.01


def test_writes_its_figures(run):
    _, tmp = run
    names = {p.name for p in tmp.glob("*.png")}
    assert names == {
        "sec2_1_3_convexity.png",
        "sec2_1_3_convexity_hessian.png",
        "sec2_1_3_convexity_mechanism.png",
    }
    for name in names:
        assert (tmp / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
