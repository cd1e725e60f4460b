# %% [markdown]
# # Lesson sections 3.1-3.3: softmax cross-entropy, step by step, and why sparse labels
#
# Part 1 walks the lesson's logits [2.0, 1.0, 0.1] (label 0) through softmax, log, loss
# and gradient, printing each step, and checks the numbers against `CrossEntropyLoss`.
#
# Part 2 is section 3.2's vocabulary of 50,000 words: a batch of 1,024 predictions with
# integer labels (sparse CE, "SCCE") and the same labels as one-hot rows (CE). Same loss,
# same gradient; what differs is the memory: the labels themselves (8 KiB against
# 195 MiB), and what forward + backward allocate at their peak (tracemalloc).
#
# Part 3 is section 3.3's label smoothing of a one-hot target.
#
# Memory is in KiB and MiB (1 MiB = 2^20 bytes). Run it as a script
# (`python sec3_softmax.py [--quick]`) or cell by cell.

# %%
import argparse
import time
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np
from _common import save

import numloss as nl

parser = argparse.ArgumentParser(description="Lesson 3.1-3.3: softmax cross-entropy")
parser.add_argument("--quick", action="store_true", help="a batch of 256, not 1,024")
args, _ = parser.parse_known_args()  # parse_known_args: a notebook's own arguments pass

# %% [markdown]
# ## Part 1: the walk-through (section 3.1.1)

# %%
z = np.array([2.0, 1.0, 0.1])
y = 0
print("Part 1 - section 3.1: logits z = [2.0, 1.0, 0.1], true class 0\n")
e = np.exp(z)
print(f"  e^z                 = {np.round(e, 4)}   sum = {e.sum():.4f}")
p = nl.softmax(z)
print(f"  p = softmax(z)      = {np.round(p, 3)}   (sums to {p.sum():.1f})")
log_p = nl.log_softmax(z)
print(f"  log p               = {np.round(log_p, 3)}")
print(f"  loss = -log p[0]    = {-log_p[y]:.3f}")
grad_by_hand = p - nl.one_hot(y, 3)
print(f"  dL/dz = p - onehot  = {np.round(grad_by_hand, 3)}")

loss = nl.CrossEntropyLoss()
value = loss(z[None], [y])
grad = loss.backward()[0]
print(f"\n  CrossEntropyLoss    = {value:.3f}, backward = {np.round(grad, 3)}")
assert np.isclose(value, -log_p[y]) and np.allclose(grad, grad_by_hand)
print("  Only the true class's p enters the loss (3.1.2); every class gets a gradient.")

# %% [markdown]
# ## Part 2: sparse labels against one-hot rows at a 50,000-word vocabulary (section 3.2)
#
# First what the labels take on their own; then the peak memory of forward + backward
# on each path, measured with tracemalloc. Either way backward must return the gradient,
# an array the size of the logits; the one-hot path also builds the one-hot matrix.

# %%
N, C = (256 if args.quick else 1024), 50_000
rng = np.random.default_rng(0)
# rng.normal(0, 1, (N, C)).astype(np.float32), the same numbers drawn 64 rows at a time:
# no 400 MB float64 array on the way (its pages took 0.6 to 1.9 s to allocate)
logits = np.empty((N, C), dtype=np.float32)
for row in range(0, N, 64):
    logits[row : row + 64] = rng.normal(0, 1, (min(64, N - row), C))
labels = rng.integers(0, C, N)
KiB, MiB = 2**10, 2**20
onehot_bytes = N * C * np.dtype(np.float32).itemsize  # what nl.one_hot(labels, C) allocates

print(f"\nPart 2 - section 3.2: N = {N:,} predictions over C = {C:,} words, float32\n")
print(f"  labels as integers ({labels.dtype}): {labels.nbytes / KiB:,.0f} KiB")
print(
    f"  labels as one-hot float32 rows:   {onehot_bytes / MiB:,.0f} MiB "
    f"({onehot_bytes / labels.nbytes:,.0f} times as much)"
)
print(f"  the logits themselves:            {logits.nbytes / MiB:,.0f} MiB\n")


def measure(run):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        value, grad = run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return value, grad, peak, time.perf_counter() - start


def sparse():
    loss = nl.CrossEntropyLoss()
    return loss(logits, labels), loss.backward()


def dense():
    targets = nl.one_hot(labels, C, dtype=np.float32)  # what the one-hot path must build
    loss = nl.CrossEntropyLoss()
    return loss(logits, targets), loss.backward()


sparse_value, sparse_grad, sparse_peak, sparse_time = measure(sparse)
dense_value, dense_grad, dense_peak, dense_time = measure(dense)
grad_bytes = sparse_grad.nbytes
print(f"  {'path':<26} {'loss':>9} {'peak allocated':>16} {'x logits':>9} {'time':>7}")
for name, path_loss, peak, seconds in (
    ("sparse (integer labels)", sparse_value, sparse_peak, sparse_time),
    ("one-hot (probabilities)", dense_value, dense_peak, dense_time),
):
    print(
        f"  {name:<26} {path_loss:>9.5f} {peak / MiB:>12,.0f} MiB {peak / logits.nbytes:>8.2f}x "
        f"{seconds:>6.2f}s"
    )
same = np.isclose(sparse_value, dense_value, rtol=1e-5)
# row by row: two 200 MB temporaries fewer (0.2 to 1 s, against 0.05)
largest = max(np.abs(s - d).max() for s, d in zip(sparse_grad, dense_grad, strict=True))
print(f"\n  same loss: {same}; largest gradient difference: {largest:.1e}")
print(
    f"  the gradient backward returns: {grad_bytes / MiB:,.0f} MiB on both paths; the one-hot "
    f"path's peak is {(dense_peak - sparse_peak) / MiB:,.0f} MiB higher"
)
print("  The sparse path's peak is the gradient itself (which backward must return) plus a")
print("  little; the one-hot path also holds the one-hot matrix, the size of the logits.")

# %% [markdown]
# ## Part 3: label smoothing (section 3.3)

# %%
print("\nPart 3 - section 3.3: label smoothing, 4 classes, alpha = 0.1\n")
print(f"  one-hot [1, 0, 0, 0] -> {nl.smooth_labels(nl.one_hot(0, 4), 0.1)}")

# %% [markdown]
# ## The picture
#
# Left, Part 1's probabilities and gradient. Middle, the labels alone; right, the peak
# of forward + backward, split into the gradient, the one-hot matrix and the rest. The
# two memory panels share their axis, in MiB.

# %%
fig, (left, middle, right) = plt.subplots(
    1, 3, figsize=(15, 4.4), gridspec_kw={"width_ratios": [1.25, 1, 1]}
)
classes = ["class 0 (true)", "class 1", "class 2"]
width = 0.38
x = np.arange(3)
left.bar(x - width / 2, p, width, label="p = softmax(z)", color="#3d5a80")
left.bar(x + width / 2, grad, width, label="dL/dz = p - onehot", color="#ee6c4d")
left.axhline(0, color="black", linewidth=0.8)
left.set_xticks(x, classes)
left.set(ylabel="value", title=f"3.1: loss = -ln p_0 = {value:.3f}; every class gets a gradient")
left.legend()

paths = ["sparse\n(integer labels)", "one-hot\n(float32 rows)"]
colors = {"sparse": "#4c956c", "one-hot": "#d1495b", "gradient": "#98a6b8", "rest": "#dddddd"}
label_sizes = [labels.nbytes / MiB, onehot_bytes / MiB]
bars = middle.bar(paths, label_sizes, color=[colors["sparse"], colors["one-hot"]])
middle.bar_label(
    bars, labels=[f"{labels.nbytes / KiB:,.0f} KiB", f"{onehot_bytes / MiB:,.0f} MiB"], padding=3
)
middle.set(
    ylabel="memory (MiB)",
    title=f"3.2: the labels alone, {labels.nbytes / KiB:,.0f} KiB against "
    f"{onehot_bytes / MiB:,.0f} MiB",
)

# the peak, split: the gradient (both paths), the one-hot matrix (one-hot path), the rest.
# Peaks in whole MiB: the few KiB by which a measured peak differs from run to run (and
# from one NumPy to another) move no pixel, so the figure's bytes are the same every run
peaks = np.round(np.array([sparse_peak, dense_peak]) / MiB)
gradient_part = np.array([grad_bytes, grad_bytes]) / MiB
onehot_part = np.array([0, onehot_bytes]) / MiB
rest = np.maximum(peaks - gradient_part - onehot_part, 0)
right.bar(paths, gradient_part, color=colors["gradient"], label="the gradient (logits-sized)")
right.bar(
    paths, onehot_part, bottom=gradient_part, color=colors["one-hot"], label="the one-hot matrix"
)
if rest.max() > 1:  # temporaries worth a colour of their own
    right.bar(
        paths,
        rest,
        bottom=gradient_part + onehot_part,
        color=colors["rest"],
        label="everything else",
    )
for i, peak in enumerate(peaks):
    right.text(i, peak, f"peak {peak:,.0f} MiB", ha="center", va="bottom")
right.legend(loc="upper left", fontsize=8)
right.set(ylabel="memory (MiB)", title="3.2: peak of forward + backward, mostly the gradient")
top = peaks.max() * 1.3  # room above the bars for the labels
middle.set_ylim(0, top)
right.set_ylim(0, top)
fig.suptitle(f"Softmax cross-entropy, N = {N:,} predictions, C = {C:,} classes", y=1.02)
fig.tight_layout()
save(fig, "sec3_softmax")
