"""The digits loader, the label-smoothing study's measures, and the study run in --quick mode."""

import gzip
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

from _common import load_digits, train_test_split  # noqa: E402

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
