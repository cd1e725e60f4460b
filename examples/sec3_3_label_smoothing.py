# %% [markdown]
# # Label smoothing on real data (lesson section 3.3)
#
# The lesson *Loss Functions for Classification*, section 3.3.3, says label smoothing
# makes the clusters in feature space tighter and better separated, and the model
# generalise better on the test set. Müller, Kornblith and Hinton, "When does label
# smoothing help?" (NeurIPS 2019), add that it lowers the calibration error. This
# script measures all three on the 8x8 handwritten digits (1,797 images, UCI, CC BY
# 4.0; `examples/data/README.md`) with a small MLP trained twice per seed: with
# `CrossEntropyLoss(label_smoothing=0)` and with `label_smoothing=0.1`, from the same
# initial weights and the same order of mini-batches, so the only difference is the
# smoothing. It reports what the run shows, whichever way it falls.
#
# Run it as a script (`make example-sec3_3_label_smoothing`, `--quick` for a
# few-second version) or cell by cell in Jupyter (with jupytext) or VS Code.

# %%
import os

# The matrices here are small (at most 1,347 x 64): one BLAS thread does them faster than
# several, which on a busy 2-core machine spend their time waiting for each other (three
# times slower, measured). Read once, when NumPy is first imported, so set before it.
for threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(threads, "1")

import argparse  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    cluster_tightness,
    expected_calibration_error,
    load_digits,
    reliability_bins,
    save,
    template_plane,
    train_test_split,
)

import numloss as nl  # noqa: E402
from numloss.train import SGD, Linear, ReLU, Sequential, fit  # noqa: E402

parser = argparse.ArgumentParser(description="Label smoothing 0 against 0.1 on the digits.")
parser.add_argument("--quick", action="store_true", help="2 seeds, 20 epochs: a few seconds")
args, _ = parser.parse_known_args()  # Jupyter passes arguments of its own

SMOOTHINGS = (0.0, 0.1)
SEEDS = range(2) if args.quick else range(5)
EPOCHS = 20 if args.quick else 100
HIDDEN = 64
LR, MOMENTUM, BATCH = 0.05, 0.9, 64
TRIO = (3, 5, 8)  # three classes to draw: digits that look alike
N_BINS = 15

# %% [markdown]
# ## The data and the split
#
# Pixels are scaled to [0, 1]. A quarter of each class is held out as the test set,
# drawn once with a fixed seed, so every run sees the same split.

# %%
X, y = load_digits()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=0)
print(f"Digits: {len(y_train):,} training and {len(y_test):,} test images, 64 pixels, 10 classes")
print(
    f"MLP 64-{HIDDEN}-10 (ReLU), SGD lr {LR}, momentum {MOMENTUM}, batch {BATCH}, "
    f"{EPOCHS} epochs, {len(SEEDS)} seeds{' (--quick)' if args.quick else ''}\n"
)

# %% [markdown]
# ## The measures
#
# - **Test accuracy**: the fraction of test images whose largest logit is the true class.
# - **Expected calibration error (ECE)**: each test prediction's confidence is its largest
#   softmax probability. Sort the predictions into 15 equal-width confidence bins; in
#   each, compare the accuracy with the mean confidence;
#   ECE = sum over bins of (share of predictions in the bin) x |accuracy - confidence|.
#   0 means "when it says 80 %, it is right 80 % of the time".
# - **Cluster tightness** of the penultimate layer (the ReLU's output h, the input of the
#   last `Linear`), on the test images:
#   (mean distance from each h to its class's centroid) / (mean distance between two
#   class centroids). Smaller means tighter clusters for their separation; the ratio
#   does not change when all activations are scaled, so the two models compare fairly.
#   It is measured in the full 64-dimensional space, and in the plane of the figure
#   below (three classes projected onto the plane through their templates).


# %%
def penultimate(model, inputs):
    """The activations the last layer sees: every layer but the last, in order."""
    h = inputs
    for layer in list(model)[:-1]:
        h = layer(h)
    return h


def plane_coordinates(model, features, labels, trio=TRIO):
    """Project the features of the trio's classes onto the plane through their templates."""
    templates = model[-1].weight.data[list(trio)]  # row c of W: the template of class c
    origin, basis = template_plane(templates)
    keep = np.isin(labels, trio)
    return (features[keep] - origin) @ basis.T, labels[keep], (templates - origin) @ basis.T


def train_and_measure(smoothing, seed):
    model = Sequential(
        Linear(64, HIDDEN, seed=2 * seed), ReLU(), Linear(HIDDEN, 10, seed=2 * seed + 1)
    )
    optimizer = SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss = nl.CrossEntropyLoss(label_smoothing=smoothing)
    history = fit(
        model, loss, X_train, y_train, epochs=EPOCHS, batch_size=BATCH,
        optimizer=optimizer, seed=seed, quiet=True,
    )  # fmt: skip
    probabilities = nl.softmax(model(X_test), axis=-1)
    confidence = probabilities.max(axis=-1)
    correct = probabilities.argmax(axis=-1) == y_test
    features = penultimate(model, X_test)
    points, point_labels, _ = plane_coordinates(model, features, y_test)
    return {
        "model": model,
        "train accuracy": history["accuracy"][-1],
        "test accuracy": correct.mean(),
        "confidence": confidence,
        "correct": correct,
        "mean confidence": confidence.mean(),
        "ECE": expected_calibration_error(confidence, correct, N_BINS),
        "tightness": cluster_tightness(features, y_test),
        "plane tightness": cluster_tightness(points, point_labels),
    }


# %% [markdown]
# ## Training: every seed, both settings
#
# One row per seed and setting; "mean conf" is the mean confidence on the test set,
# to set beside the test accuracy (above it: over-confident; below: under-confident).

# %%
COLUMNS = ["train accuracy", "test accuracy", "mean confidence", "ECE", "tightness"]
COLUMNS += ["plane tightness"]
trio_name = ",".join(map(str, TRIO))
header = (
    f"{'seed':>4} {'smoothing':>9} {'train acc':>9} {'test acc':>8} {'mean conf':>9} "
    f"{'ECE':>7} {'tightness':>9} {f'plane {trio_name}':>11}"
)


def row(first, smoothing, r):
    return (
        f"{first:>4} {smoothing:>9.1f} {r['train accuracy']:>9.4f} {r['test accuracy']:>8.4f} "
        f"{r['mean confidence']:>9.4f} {r['ECE']:>7.4f} {r['tightness']:>9.4f} "
        f"{r['plane tightness']:>11.4f}"
    )


runs = {s: [] for s in SMOOTHINGS}
print(header)
for seed in SEEDS:
    for smoothing in SMOOTHINGS:
        runs[smoothing].append(train_and_measure(smoothing, seed))
        print(row(seed, smoothing, runs[smoothing][-1]), flush=True)
means = {s: {k: float(np.mean([r[k] for r in runs[s]])) for k in COLUMNS} for s in SMOOTHINGS}
for smoothing in SMOOTHINGS:
    print(row("mean", smoothing, means[smoothing]))

# %% [markdown]
# ## What the numbers say
#
# For each claim: the direction of the change in the means (smoothing 0.1 against 0),
# in how many seeds the change goes the claimed way, and the verdict: "supported" if it
# does in every seed, "not supported" if in none, "mixed" otherwise.

# %%
plain, smooth = SMOOTHINGS
n = len(SEEDS)
CLAIMS = [  # (measure, the way the claim says it moves, whose claim)
    ("test accuracy", "higher", 'the lesson: "generalises better"'),
    ("ECE", "lower", "Müller et al.: lower calibration error"),
    ("tightness", "lower", 'the lesson: "tighter, better separated clusters" (64-d)'),
    ("plane tightness", "lower", f"the same, in the plane of classes {trio_name}"),
]
print("\nConclusion (smoothing 0.1 against 0, computed from the numbers above):")
for measure, claimed, whose in CLAIMS:
    before, after = means[plain][measure], means[smooth][measure]
    direction = "higher" if after > before else "lower" if after < before else "equal"
    sign = 1 if claimed == "higher" else -1
    agree = sum(
        sign * (b[measure] - a[measure]) > 0 for a, b in zip(runs[plain], runs[smooth], strict=True)
    )
    verdict = "supported" if agree == n else "not supported" if agree == 0 else "mixed"
    print(
        f"  {measure}: {direction} with smoothing ({after:.4f} against {before:.4f}); "
        f"{claimed} in {agree} of {n} seeds -> {whose}: {verdict}"
    )
for smoothing in SMOOTHINGS:
    gap = means[smoothing]["mean confidence"] - means[smoothing]["test accuracy"]
    kind = (
        "over-confident" if gap > 0 else "under-confident" if gap < 0 else "calibrated on average"
    )
    print(
        f"  smoothing {smoothing:.1f}: mean confidence {means[smoothing]['mean confidence']:.4f}, "
        f"test accuracy {means[smoothing]['test accuracy']:.4f} -> {kind} "
        f"(confidence - accuracy = {gap:+.4f})"
    )

# %% [markdown]
# ## Figure 1: how confident each model is
#
# The test predictions' confidences (seed 0) for both settings, with the test accuracy
# marked: a calibrated model's confidences sit around its accuracy.

# %%
COLOURS = {plain: "#3d5a80", smooth: "#ee6c4d"}
NAMES = {s: f"smoothing {s:.1f}" for s in SMOOTHINGS}
first = {s: runs[s][0] for s in SMOOTHINGS}

fig, ax = plt.subplots(figsize=(8.5, 4.4))
lowest = min(first[s]["confidence"].min() for s in SMOOTHINGS)
bins = np.linspace(np.floor(lowest * 10) / 10, 1.0, 36)
for s in SMOOTHINGS:
    r = first[s]
    ax.hist(r["confidence"], bins=bins, color=COLOURS[s], alpha=0.55, label=NAMES[s])
    ax.axvline(r["mean confidence"], color=COLOURS[s], linewidth=2)
    ax.axvline(r["test accuracy"], color=COLOURS[s], linestyle="--", linewidth=1.5)
ax.set_yscale("log")
ax.set_xlabel("confidence = largest softmax probability (test images)")
ax.set_ylabel("number of test images (log scale)")
ax.legend(
    handles=[
        *ax.get_legend_handles_labels()[0],
        plt.Line2D([], [], color="grey", linewidth=2, label="mean confidence"),
        plt.Line2D([], [], color="grey", linestyle="--", label="test accuracy"),
    ],
    loc="upper left",
)


def side(r):
    """Where the mean confidence sits against the accuracy, in words."""
    gap = r["mean confidence"] - r["test accuracy"]
    return "above" if gap > 0 else "below" if gap < 0 else "at"


ax.set_title(
    f"With smoothing the mean confidence ({first[smooth]['mean confidence']:.2f}) sits "
    f"{side(first[smooth])} the accuracy ({first[smooth]['test accuracy']:.3f});\n"
    f"without, it ({first[plain]['mean confidence']:.2f}) sits {side(first[plain])} "
    f"the accuracy ({first[plain]['test accuracy']:.3f}). Test images, seed 0"
)
save(fig, "sec3_3_label_smoothing_confidence")

# %% [markdown]
# ## Figure 2: the reliability diagram
#
# For each of the 15 confidence bins, the accuracy of the predictions in it against their
# mean confidence. On the diagonal the model is calibrated; bars below it are
# over-confident, above it under-confident. The title gives the ECE (seed 0).

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 5.2), sharey=True, layout="constrained")
for ax, s in zip(axes, SMOOTHINGS, strict=True):
    r = first[s]
    edges, count, accuracy, mean_conf = reliability_bins(r["confidence"], r["correct"], N_BINS)
    full = count > 0
    left, width = edges[:-1][full], np.diff(edges)[full]
    ax.bar(
        left, accuracy[full], width=width, align="edge", color=COLOURS[s],
        edgecolor="white", label="accuracy in the bin",
    )  # fmt: skip
    ax.bar(
        left, mean_conf[full] - accuracy[full], bottom=accuracy[full], width=width,
        align="edge", facecolor="none", edgecolor="crimson", hatch="///", linewidth=0,
        label="gap to the mean confidence",
    )  # fmt: skip
    for x, top, n_bin in zip(left + width / 2, np.maximum(accuracy, mean_conf)[full],
                             count[full], strict=True):  # fmt: skip
        ax.text(x, top + 0.01, str(n_bin), ha="center", va="bottom", fontsize=7)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.1)
    ax.set_xlabel("confidence (15 equal-width bins)")
    ax.set_title(f"{NAMES[s]}: ECE = {r['ECE']:.3f}")
axes[0].set_ylabel("accuracy of the test images in the bin")
handles = [
    plt.Rectangle((0, 0), 1, 1, color="grey", label="accuracy in the bin"),
    plt.Rectangle(
        (0, 0),
        1,
        1,
        facecolor="none",
        edgecolor="crimson",
        hatch="///",
        label="gap to the bin's mean confidence",
    ),  # fmt: skip
    plt.Line2D([], [], color="grey", linestyle=":", label="calibrated: accuracy = confidence"),
]
fig.legend(handles=handles, loc="outside lower center", ncol=3)
gap = first[smooth]["mean confidence"] - first[smooth]["test accuracy"]
fig.suptitle(
    "Reliability (seed 0; the number on a bar: test images in that bin)\n"
    + ("With smoothing the bars stand above the diagonal: under-confident" if gap < 0 else
       "With smoothing the bars fall below the diagonal: over-confident")
    + f"; ECE {first[smooth]['ECE']:.3f} against {first[plain]['ECE']:.3f}"
)  # fmt: skip
save(fig, "sec3_3_label_smoothing_reliability")

# %% [markdown]
# ## Figure 3: the clusters, the method of Müller et al.
#
# Take three classes, the rows of the last layer's weight matrix for them (the
# *templates*: the logit of class c is the template w_c dotted with h, plus a bias), an
# orthonormal basis of the plane through the three templates, and project the
# penultimate activations h of those classes' test images onto it. Each panel has its own
# scale (smoothing shrinks the activations); tightness is the scale-free ratio above.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 5.6), layout="constrained")
MARKERS = {TRIO[0]: "o", TRIO[1]: "s", TRIO[2]: "^"}
SHADES = {TRIO[0]: "#1b9e77", TRIO[1]: "#d95f02", TRIO[2]: "#7570b3"}
for ax, s in zip(axes, SMOOTHINGS, strict=True):
    r = first[s]
    points, labels, template_points = plane_coordinates(
        r["model"], penultimate(r["model"], X_test), y_test
    )
    for c in TRIO:
        ax.scatter(
            *points[labels == c].T, s=14, alpha=0.6, marker=MARKERS[c], color=SHADES[c],
            label=f"digit {c}",
        )  # fmt: skip
    ax.scatter(
        *template_points.T, s=160, marker="*", color="black", edgecolor="white",
        label="templates w_c (projected)", zorder=3,
    )  # fmt: skip
    ax.set_xlabel("first axis of the templates' plane")
    ax.set_ylabel("second axis of the templates' plane")
    ax.set_title(f"{NAMES[s]}: tightness in this plane {r['plane tightness']:.3f}")
    ax.set_aspect("equal", adjustable="datalim")
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=4)
before, after = first[plain]["plane tightness"], first[smooth]["plane tightness"]
fig.suptitle(
    f"Penultimate activations of digits {trio_name} (test images, seed 0) on the plane of "
    "their templates\n"
    + ("With smoothing the clusters are tighter for their separation" if after < before else
       "With smoothing the clusters are not tighter for their separation")
    + f": {after:.3f} against {before:.3f}"
)  # fmt: skip
save(fig, "sec3_3_label_smoothing_templates")
