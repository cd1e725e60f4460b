"""The digits loader, the label-smoothing study's measures, and the study run in --quick mode."""

import gzip
import re
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

from _common import (  # noqa: E402
    cluster_tightness,
    expected_calibration_error,
    load_digits,
    reliability_bins,
    template_plane,
    train_test_split,
)
from example_run import is_png  # noqa: E402

# the class distribution of optdigits.tes as the UCI description lists it
UCI_TEST_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


# -- the digits ------------------------------------------------------------------------------
def test_load_digits_shape_dtype_range_and_classes():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_array_equal(X * 16, np.round(X * 16))  # counts 0..16, divided by 16
    np.testing.assert_array_equal(np.bincount(y), UCI_TEST_COUNTS)


def test_load_digits_gives_fresh_arrays():
    X, y = load_digits()
    X[:] = -1
    y[:] = -1
    X2, y2 = load_digits()
    assert X2.min() == 0.0 and y2.min() == 0


def write_table(path, table):
    with gzip.open(path, "wt") as f:
        np.savetxt(f, table, delimiter=",", fmt="%g")
    return path


def good_table():
    table = np.zeros((1797, 65))
    table[:, 64] = np.arange(1797) % 10
    return table


def test_load_digits_reads_a_well_formed_file(tmp_path):
    table = good_table()
    table[:, 3] = 16
    X, y = load_digits(write_table(tmp_path / "ok.csv.gz", table))
    assert (X[:, 3] == 1).all() and (X[:, 0] == 0).all()
    np.testing.assert_array_equal(y, np.arange(1797) % 10)


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda t: t[:-1], "expected 1797 rows"),
        (lambda t: t[:, 1:], "expected 1797 rows"),
        (lambda t: np.where(np.arange(65) == 5, 17, t), "pixels in 0..16"),
        (lambda t: np.where(np.arange(65) == 5, 0.5, t), "pixels in 0..16"),
        (lambda t: np.where(np.arange(65) == 64, t[:, 64:] % 9, t), "labels 0..9"),
        (lambda t: np.where(np.arange(65) == 64, t[:, 64:] + 1, t), "labels 0..9"),
    ],
)
def test_load_digits_rejects_a_wrong_file(tmp_path, spoil, message):
    path = write_table(tmp_path / "bad.csv.gz", spoil(good_table()))
    with pytest.raises(ValueError, match=message):
        load_digits(path)


def sorted_rows(a):
    return a[np.lexsort(a.T[::-1])]


def test_split_is_a_stratified_partition_and_reproducible():
    X, y = load_digits()
    X0, y0 = X.copy(), y.copy()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=0)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    assert len(y_train) + len(y_test) == len(y)
    # every image lands on exactly one side, with its label: the rows of both halves
    # together are the rows of (X, y), duplicates counted
    both = np.concatenate([np.c_[X_train, y_train], np.c_[X_test, y_test]])
    np.testing.assert_array_equal(sorted_rows(both), sorted_rows(np.c_[X, y]))
    counts = np.bincount(y)
    np.testing.assert_array_equal(np.bincount(y_test), np.round(0.25 * counts).astype(int))
    again = train_test_split(X, y, test_fraction=0.25, seed=0)
    for a, b in zip((X_train, X_test, y_train, y_test), again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = train_test_split(X, y, test_fraction=0.25, seed=1)
    assert not np.array_equal(X_test, other[1])


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_split_rejects_a_fraction_outside_0_1(fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        train_test_split(np.zeros((10, 2)), np.arange(10) % 2, test_fraction=fraction)


def test_split_rejects_lengths_that_differ():
    with pytest.raises(ValueError, match="X and y"):
        train_test_split(np.zeros((10, 2)), np.zeros(9))


# -- expected calibration error --------------------------------------------------------------
def test_ece_is_zero_when_confidence_matches_accuracy_in_every_bin():
    # 0.75 four times, three right; 0.95 twenty times, nineteen right; 1.0 always right
    confidence = [0.75] * 4 + [0.95] * 20 + [1.0] * 5
    correct = [1, 1, 1, 0] + [1] * 19 + [0] + [1] * 5
    assert expected_calibration_error(confidence, correct) == pytest.approx(0, abs=1e-15)


def test_ece_of_a_confident_model_that_is_always_wrong_is_its_confidence():
    assert expected_calibration_error([0.9] * 7, [False] * 7) == pytest.approx(0.9)


def test_ece_by_hand_two_bins():
    # bin (14/15, 1]: 3 of the 4 predictions, accuracy 2/3, confidence 0.95
    # bin (5/15, 6/15]: 1 of the 4, accuracy 1, confidence 0.35
    ece = expected_calibration_error([0.95, 0.95, 0.95, 0.35], [1, 0, 1, 1])
    assert ece == pytest.approx(3 / 4 * (0.95 - 2 / 3) + 1 / 4 * (1 - 0.35))


def test_ece_with_one_bin_is_the_gap_between_mean_confidence_and_accuracy(rng):
    confidence = rng.uniform(0.1, 1, 200)
    correct = rng.uniform(size=200) < confidence**2
    one = expected_calibration_error(confidence, correct, n_bins=1)
    assert one == pytest.approx(abs(correct.mean() - confidence.mean()))
    # binning finer can only separate gaps of opposite sign, never hide one
    assert expected_calibration_error(confidence, correct, n_bins=15) >= one - 1e-12


def test_ece_does_not_depend_on_the_order_of_predictions(rng):
    confidence = rng.uniform(0, 1, 100)
    correct = rng.uniform(size=100) < 0.7
    order = rng.permutation(100)
    assert expected_calibration_error(confidence, correct) == pytest.approx(
        expected_calibration_error(confidence[order], correct[order])
    )


def test_reliability_bins_are_open_below_and_closed_above():
    edges, count, accuracy, mean_conf = reliability_bins([0.0, 1 / 15, 0.07, 1.0], [1, 0, 1, 1])
    assert len(edges) == 16 and edges[0] == 0 and edges[-1] == 1
    assert count[0] == 2 and count[1] == 1 and count[-1] == 1 and count.sum() == 4
    assert accuracy[0] == 0.5 and mean_conf[1] == 0.07
    assert np.isnan(accuracy[5]) and np.isnan(mean_conf[5])  # empty bins have no value


def test_ece_leaves_its_inputs_alone():
    confidence, correct = np.array([0.2, 0.9]), np.array([0, 1])
    expected_calibration_error(confidence, correct)
    np.testing.assert_array_equal(confidence, [0.2, 0.9])
    np.testing.assert_array_equal(correct, [0, 1])


@pytest.mark.parametrize(
    "confidence, correct, n_bins, message",
    [
        ([0.5, 1.5], [1, 0], 15, "confidence: expected values in \\[0, 1\\], got 1.5 at 1"),
        ([0.5, np.nan], [1, 0], 15, "confidence: expected values in"),
        ([], [], 15, "confidence: expected a non-empty 1-D array"),
        ([[0.5]], [[1]], 15, "confidence: expected a non-empty 1-D array"),
        ([0.5, 0.6], [1], 15, "correct: expected the shape"),
        ([0.5, 0.6], [1, 2], 15, "correct: expected booleans or 0/1"),
        ([0.5, 0.6], [1, 0], 0, "n_bins: expected a positive integer"),
        ([0.5, 0.6], [1, 0], 2.5, "n_bins: expected a positive integer"),
    ],
)
def test_ece_rejects_bad_input(confidence, correct, n_bins, message):
    with pytest.raises(ValueError, match=message):
        expected_calibration_error(confidence, correct, n_bins)


# -- cluster tightness -----------------------------------------------------------------------
def test_tightness_by_hand():
    # class 0 at (-1, 0), (1, 0): centroid (0, 0); class 1 at (10, -1), (10, 1): (10, 0)
    # every point is 1 from its centroid, the centroids are 10 apart
    h = [[-1, 0], [1, 0], [10, -1], [10, 1]]
    assert cluster_tightness(h, [0, 0, 1, 1]) == pytest.approx(0.1)


def test_tightness_between_is_the_mean_over_pairs_of_centroids():
    # three classes, each a single point at the corners of a 3-4-5 right triangle:
    # within 0, so perturb: two points per class, 0.5 either side of its corner
    corners = np.array([[0, 0], [3, 0], [0, 4]], dtype=float)
    h = np.concatenate([corners + [0, 0.5], corners - [0, 0.5]])
    labels = np.array([0, 1, 2, 0, 1, 2])
    assert cluster_tightness(h, labels) == pytest.approx(0.5 / ((3 + 4 + 5) / 3))


def test_tightness_is_zero_when_every_point_sits_on_its_centroid():
    h = np.repeat(np.eye(3) * 5, 4, axis=0)
    assert cluster_tightness(h, np.repeat([0, 1, 2], 4)) == 0


def test_tightness_ignores_scale_shift_and_label_names(rng):
    h = rng.normal(size=(60, 5)) + np.repeat(rng.normal(0, 3, (3, 5)), 20, axis=0)
    labels = np.repeat([0, 1, 2], 20)
    base = cluster_tightness(h, labels)
    assert cluster_tightness(7.5 * h + 3.0, labels) == pytest.approx(base)
    assert cluster_tightness(h, np.repeat([9, 4, 7], 20)) == pytest.approx(base)
    # pulling every point halfway to its centroid halves the ratio
    centroids = np.repeat([h[labels == k].mean(0) for k in range(3)], 20, axis=0)
    assert cluster_tightness((h + centroids) / 2, labels) == pytest.approx(base / 2)


@pytest.mark.parametrize(
    "h, labels, message",
    [
        (np.zeros((4, 2)), [0, 0, 0, 0], "at least 2 classes"),
        (np.zeros((4, 2)), [0, 1, 0], "features and labels: expected shapes"),
        (np.zeros(4), [0, 1, 0, 1], "features and labels: expected shapes"),
        ([[0, 0], [np.nan, 0]], [0, 1], "features: expected finite"),
        (np.ones((4, 2)), [0, 1, 0, 1], "same centroid"),
    ],
)
def test_tightness_rejects_bad_input(h, labels, message):
    with pytest.raises(ValueError, match=message):
        cluster_tightness(h, labels)


# -- the plane through three templates ---------------------------------------------------------
def test_template_plane_is_orthonormal_and_keeps_the_templates_distances(rng):
    templates = rng.normal(size=(3, 8))
    origin, basis = template_plane(templates)
    np.testing.assert_allclose(basis @ basis.T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(origin, templates.mean(axis=0))
    projected = (templates - origin) @ basis.T
    # the templates lie in the plane, so projecting them loses nothing
    np.testing.assert_allclose(projected @ basis + origin, templates, atol=1e-12)
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        assert np.linalg.norm(projected[i] - projected[j]) == pytest.approx(
            np.linalg.norm(templates[i] - templates[j])
        )


def test_template_plane_drops_what_is_off_the_plane():
    templates = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=float)
    origin, basis = template_plane(templates)
    point = np.array([0.3, 0.6, 42.0])  # 42 along z, the plane's normal
    np.testing.assert_allclose((point - origin) @ basis.T @ basis + origin, [0.3, 0.6, 0])


@pytest.mark.parametrize(
    "templates, message",
    [
        (np.zeros((2, 4)), "expected shape \\(3, D\\)"),
        (np.zeros((3, 1)), "expected shape \\(3, D\\)"),
        ([[1, 2], [1, 2], [0, 5]], "three distinct points"),
        ([[0, 0], [1, 1], [2, 2]], "not on one line"),
        ([[0, 0], [1, np.inf], [2, 0]], "finite"),
    ],
)
def test_template_plane_rejects_bad_templates(templates, message):
    with pytest.raises(ValueError, match=message):
        template_plane(templates)


# -- the study itself, in --quick mode --------------------------------------------------------
ROW = re.compile(
    r"^\s*(\d+|mean)\s+(0\.0|0\.1)\s+" + r"\s+".join([r"(\d+\.\d{4})"] * 6) + r"\s*$",
    re.M,
)
COLUMNS = ["train accuracy", "test accuracy", "mean confidence", "ECE", "tightness"]
COLUMNS += ["plane tightness"]
CONCLUSION = re.compile(
    r"^  ([a-zA-Z ]+): (higher|lower|equal) with smoothing \((\d\.\d{4}) against "
    r"(\d\.\d{4})\); (higher|lower) in (\d+) of (\d+) seeds -> .*: "
    r"(supported|not supported|mixed)$",
    re.M,
)
CONFIDENCE = re.compile(
    r"^  smoothing (0\.\d): mean confidence (\d\.\d{4}), test accuracy (\d\.\d{4}) -> "
    r"(over-confident|under-confident|calibrated)",
    re.M,
)


STEM = "sec3_3_label_smoothing"  # the example the shared `run` fixture (tests/conftest.py) runs


def parsed_rows(stdout):
    seeds = {"0.0": [], "0.1": []}
    means = {}
    for first, smoothing, *numbers in ROW.findall(stdout):
        values = dict(zip(COLUMNS, map(float, numbers), strict=True))
        if first == "mean":
            means[smoothing] = values
        else:
            seeds[smoothing].append(values)
    return seeds, means


def test_quick_run_prints_a_row_per_seed_and_setting_with_sensible_numbers(run):
    stdout, _ = run
    seeds, means = parsed_rows(stdout)
    assert len(seeds["0.0"]) == len(seeds["0.1"]) >= 2
    assert set(means) == {"0.0", "0.1"}
    for rows in seeds.values():
        for r in rows:
            assert 0.8 < r["test accuracy"] <= 1 and 0.8 < r["train accuracy"] <= 1
            assert 0 <= r["ECE"] <= 1
            assert 0.1 <= r["mean confidence"] <= 1  # at least 1/C, at most 1
            assert r["tightness"] > 0 and r["plane tightness"] > 0
    for smoothing, rows in seeds.items():
        for column in COLUMNS:
            mean_of_rows = np.mean([r[column] for r in rows])
            assert abs(means[smoothing][column] - mean_of_rows) <= 1e-4, column


def test_quick_run_conclusion_agrees_with_its_own_numbers(run):
    stdout, _ = run
    seeds, means = parsed_rows(stdout)
    lines = CONCLUSION.findall(stdout)
    measures = [line[0] for line in lines]
    assert measures == ["test accuracy", "ECE", "tightness", "plane tightness"]
    for measure, direction, after, before, claimed, k, n, verdict in lines:
        after, before, k, n = float(after), float(before), int(k), int(n)
        assert after == means["0.1"][measure] and before == means["0.0"][measure]
        if after != before:  # printed to 4 places; equal there, either way is possible
            assert direction == ("higher" if after > before else "lower")
        assert claimed == ("higher" if measure == "test accuracy" else "lower")
        assert n == len(seeds["0.0"])
        sign = 1 if claimed == "higher" else -1
        changes = [
            sign * (b[measure] - a[measure])
            for a, b in zip(seeds["0.0"], seeds["0.1"], strict=True)
        ]
        # seeds whose printed numbers tie could have gone either way
        assert sum(c > 0 for c in changes) <= k <= sum(c >= 0 for c in changes)
        assert verdict == ("supported" if k == n else "not supported" if k == 0 else "mixed")


def test_quick_run_says_over_or_under_confident_as_its_numbers_show(run):
    stdout, _ = run
    lines = CONFIDENCE.findall(stdout)
    assert [line[0] for line in lines] == ["0.0", "0.1"]
    for _, confidence, accuracy, kind in lines:
        confidence, accuracy = float(confidence), float(accuracy)
        if confidence > accuracy:
            assert kind == "over-confident"
        elif confidence < accuracy:
            assert kind == "under-confident"


def test_quick_run_writes_its_three_figures(run):
    _, figures = run
    for name in ("confidence", "reliability", "templates"):
        assert is_png(figures / f"sec3_3_label_smoothing_{name}.png"), name
