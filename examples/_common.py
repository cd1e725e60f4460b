"""What every example shares: where figures go, matplotlib (inline in a notebook), the digits."""

import os
import sys
from pathlib import Path

import matplotlib
import matplotlib.style
import numpy as np

if "ipykernel" not in sys.modules:  # a notebook shows figures inline; a script writes PNGs
    matplotlib.use("Agg")
# matplotlib's own defaults (its bundled DejaVu fonts), whatever a matplotlibrc says, so
# that a figure's bytes depend only on the versions constraints.txt pins
matplotlib.style.use("default")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"


def figures_folder() -> Path:
    """Where `save` writes: $NUMLOSS_FIGURES when set, else build/figures/ (a --quick run:
    build/figures-quick/), so running an example never changes a committed file.

    The committed figures, examples/figures/, are written only by `make figures`, which
    sets NUMLOSS_FIGURES=examples/figures for the full runs.
    """
    if os.environ.get("NUMLOSS_FIGURES"):
        return Path(os.environ["NUMLOSS_FIGURES"])
    return ROOT / "build" / ("figures-quick" if "--quick" in sys.argv[1:] else "figures")


def save(fig, name: str) -> None:
    """Save `fig` as name.png in `figures_folder()` and say where.

    The PNG's bytes are the same on every run: no date or version in its metadata.
    Returns nothing, so that a notebook cell ending with it shows no stray output.
    """
    folder = figures_folder()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    print(f"figure: {path}")


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


# -- measures shared by the label-smoothing study (and any example that wants them) ----------
def _confidence_and_correct(confidence, correct):
    conf = np.asarray(confidence, dtype=np.float64)
    hit = np.asarray(correct)
    if conf.ndim != 1 or conf.size == 0:
        raise ValueError(f"confidence: expected a non-empty 1-D array, got shape {conf.shape}")
    if not np.all((conf >= 0) & (conf <= 1)):  # also catches NaN
        bad = np.flatnonzero(~((conf >= 0) & (conf <= 1)))[0]
        raise ValueError(f"confidence: expected values in [0, 1], got {conf[bad]} at {bad}")
    if hit.shape != conf.shape:
        raise ValueError(f"correct: expected the shape of confidence {conf.shape}, got {hit.shape}")
    if hit.dtype != bool:
        if not np.all((hit == 0) | (hit == 1)):
            raise ValueError("correct: expected booleans or 0/1, got other values")
        hit = hit.astype(bool)
    return conf, hit


def reliability_bins(confidence, correct, n_bins: int = 15):
    """Sort predictions into `n_bins` equal-width confidence bins (lo, hi] on [0, 1].

    `confidence` is each prediction's top probability, `correct` whether it was right.
    Returns `edges` (n_bins + 1,), and per bin `count`, `accuracy` (fraction correct) and
    `mean_confidence`; the last two are NaN for an empty bin (it has no value to show).
    Confidence 0 goes in the first bin, as (0, 1/n_bins] would leave it out.
    """
    conf, hit = _confidence_and_correct(confidence, correct)
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins: expected a positive integer, got {n_bins!r}")
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bin b holds edges[b] < c <= edges[b + 1]
    which = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.bincount(which, weights=hit, minlength=n_bins) / count
        mean_confidence = np.bincount(which, weights=conf, minlength=n_bins) / count
    return edges, count, accuracy, mean_confidence


def expected_calibration_error(confidence, correct, n_bins: int = 15) -> float:
    """ECE = sum over bins b of (n_b / N) |accuracy_b - mean confidence_b|.

    Equal-width bins as in `reliability_bins` (Guo et al., "On Calibration of Modern
    Neural Networks", 2017, use 15). 0 for a model whose confidence in each bin is its
    accuracy there; a model that says 0.9 and is always wrong has ECE 0.9.
    """
    _, count, accuracy, mean_confidence = reliability_bins(confidence, correct, n_bins)
    full = count > 0
    gap = np.abs(accuracy[full] - mean_confidence[full])
    return float(np.sum(count[full] / count.sum() * gap))


def cluster_tightness(features, labels) -> float:
    """How tight the classes' clusters are for their separation: within / between.

    within  = mean over samples i of ||h_i - mu_{y_i}||  (distance to its class centroid)
    between = mean over pairs of classes a < b of ||mu_a - mu_b||
    Smaller is tighter, better separated clusters. The ratio does not change when every
    feature is scaled by the same number or shifted, so models whose activations have
    different sizes can be compared.
    """
    h = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    if h.ndim != 2 or y.shape != (h.shape[0],):
        raise ValueError(
            f"features and labels: expected shapes (N, D) and (N,), got {h.shape} and {y.shape}"
        )
    if not np.all(np.isfinite(h)):
        raise ValueError("features: expected finite values, got NaN or infinity")
    classes, index = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"labels: expected at least 2 classes, got {len(classes)}")
    centroids = np.stack([h[index == k].mean(axis=0) for k in range(len(classes))])
    within = np.linalg.norm(h - centroids[index], axis=1).mean()
    a, b = np.triu_indices(len(classes), k=1)
    between = np.linalg.norm(centroids[a] - centroids[b], axis=1).mean()
    if between == 0:
        raise ValueError("features: every class has the same centroid; the ratio is undefined")
    return float(within / between)


def template_plane(templates):
    """Orthonormal basis of the plane through three templates (Mueller et al., 2019).

    `templates` is (3, D): the last layer's weight rows of three classes. Returns
    `origin` (D,), their mean, and `basis` (2, D), orthonormal rows spanning
    t1 - t0 and t2 - t0 (Gram-Schmidt). A point h lands at (h - origin) @ basis.T.
    """
    t = np.asarray(templates, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] != 3 or t.shape[1] < 2:
        raise ValueError(f"templates: expected shape (3, D) with D >= 2, got {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("templates: expected finite values, got NaN or infinity")
    u = t[1] - t[0]
    v = t[2] - t[0]
    if np.linalg.norm(u) == 0:
        raise ValueError("templates: expected three distinct points, got t0 == t1")
    e1 = u / np.linalg.norm(u)
    w = v - (v @ e1) * e1  # the part of v not along e1
    if np.linalg.norm(w) <= 1e-12 * np.linalg.norm(v):
        raise ValueError("templates: expected three points not on one line")
    e2 = w / np.linalg.norm(w)
    return t.mean(axis=0), np.stack([e1, e2])
