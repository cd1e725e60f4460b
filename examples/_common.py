"""What every example shares: where figures go, a non-interactive matplotlib, the digits."""

import os
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # examples write PNGs; no window needed

FIGURES = Path(os.environ.get("NUMLOSS_FIGURES", Path(__file__).parent / "figures"))
DATA = Path(__file__).parent / "data"


def save(fig, name: str) -> Path:
    """Save `fig` as FIGURES/name.png and say where."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    print(f"figure: {path}")
    return path


def load_digits(path=None):
    """The 1,797 8x8 handwritten digits (UCI, CC BY 4.0; see examples/data/README.md).

    Returns `X`, float64 of shape (1797, 64), each pixel's count 0..16 divided by 16 so
    it lies in [0, 1], row by row of the image; and `y`, int64 of shape (1797,), the
    digit 0..9. The file is read afresh on every call, so the caller owns the arrays.
    """
    path = DATA / "digits.csv.gz" if path is None else Path(path)
    table = np.loadtxt(path, delimiter=",", dtype=np.float64)  # numpy reads .gz itself
    if table.shape != (1797, 65):
        raise ValueError(f"{path}: expected 1797 rows of 64 pixels and a label, got {table.shape}")
    pixels, labels = table[:, :64], table[:, 64]
    if not (np.all(pixels == np.round(pixels)) and pixels.min() >= 0 and pixels.max() <= 16):
        low, high = pixels.min(), pixels.max()
        raise ValueError(f"{path}: expected integer pixels in 0..16, got values in {low}..{high}")
    if not (np.all(labels == np.round(labels)) and set(np.unique(labels)) == set(range(10))):
        raise ValueError(f"{path}: expected the labels 0..9, got {np.unique(labels)}")
    return pixels / 16.0, labels.astype(np.int64)


def train_test_split(X, y, test_fraction: float = 0.25, seed: int = 0):
    """A fixed split: `test_fraction` of each class, drawn with `default_rng(seed)`, is test.

    Stratified (every class keeps its share on both sides), so the same seed gives the same
    split on every machine. Returns copies `X_train, X_test, y_train, y_test` (the order of
    scikit-learn's function of the same name); the inputs are not modified.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim < 1 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            "X and y: expected X of shape (N, ...) and y of shape (N,), "
            f"got {X.shape} and {y.shape}"
        )
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction: expected a number in (0, 1), got {test_fraction!r}")
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        n_test = int(round(test_fraction * len(members)))
        test[rng.choice(members, size=n_test, replace=False)] = True
    return X[~test].copy(), X[test].copy(), y[~test].copy(), y[test].copy()
