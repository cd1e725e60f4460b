"""Lesson sections 3.1-3.3: softmax cross-entropy, step by step, and why sparse labels.

Part 1 walks the lesson's logits [2.0, 1.0, 0.1] (label 0) through softmax, log, loss
and gradient, printing each step, and checks the numbers against CrossEntropyLoss.

Part 2 is section 3.2's vocabulary of 50,000 words: a batch of 1,024 predictions with
integer labels (sparse CE) and the same labels as one-hot rows (CE). Same loss, same
gradient; tracemalloc measures what each path allocates.

Part 3 is section 3.3's label smoothing of a one-hot target.
"""

import time
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np
from _common import save

import numloss as nl

# -- Part 1: the walk-through ---------------------------------------------------------------
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

# -- Part 2: sparse against one-hot at a 50,000-word vocabulary --------------------------------
N, C = 1024, 50_000
rng = np.random.default_rng(0)
logits = rng.normal(0, 1, (N, C)).astype(np.float32)
labels = rng.integers(0, C, N)
mb = 1 / 2**20


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
labels_mb = labels.nbytes * mb
print(f"\nPart 2 - section 3.2: N = {N:,} predictions over C = {C:,} words, float32\n")
print(f"  logits: {logits.nbytes * mb:,.0f} MB; labels as integers: {labels_mb:.3f} MB;")
print(f"  labels as one-hot rows: {N * C * 4 * mb:,.0f} MB\n")
print(f"  {'path':<26} {'loss':>9} {'peak allocated':>16} {'x logits':>9} {'time':>7}")
for name, path_loss, peak, seconds in (
    ("sparse (integer labels)", sparse_value, sparse_peak, sparse_time),
    ("one-hot (probabilities)", dense_value, dense_peak, dense_time),
):
    print(
        f"  {name:<26} {path_loss:>9.5f} {peak * mb:>13,.0f} MB {peak / logits.nbytes:>8.2f}x "
        f"{seconds:>6.2f}s"
    )
same = np.isclose(sparse_value, dense_value, rtol=1e-5)
largest = np.abs(sparse_grad - dense_grad).max()
print(f"\n  same loss: {same}; largest gradient difference: {largest:.1e}")
print("  The sparse path's peak is the gradient itself (which backward must return) plus a")
print("  little; the one-hot path also holds the one-hot matrix, the size of the logits.")

# -- Part 3: label smoothing ------------------------------------------------------------------
print("\nPart 3 - section 3.3: label smoothing, 4 classes, alpha = 0.1\n")
print(f"  one-hot [1, 0, 0, 0] -> {nl.smooth_labels(nl.one_hot(0, 4), 0.1)}")

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
classes = ["class 0 (true)", "class 1", "class 2"]
width = 0.38
x = np.arange(3)
left.bar(x - width / 2, p, width, label="p = softmax(z)", color="#3d5a80")
left.bar(x + width / 2, grad, width, label="dL/dz = p - onehot", color="#ee6c4d")
left.axhline(0, color="black", linewidth=0.8)
left.set_xticks(x, classes)
left.set_title(f"z = [2.0, 1.0, 0.1], label 0: loss = {value:.3f}")
left.legend()
paths = ["sparse\n(integer labels)", "one-hot\n(probability rows)"]
peaks = [sparse_peak * mb, dense_peak * mb]
bars = right.bar(paths, peaks, color=["#4c956c", "#d1495b"])
right.bar_label(bars, labels=[f"{v:,.0f} MB" for v in peaks])
right.axhline(logits.nbytes * mb, color="black", linestyle="--", linewidth=1, label="the logits")
right.legend(loc="upper left")
right.set_ylabel("peak memory allocated (MB)")
right.set_title(f"forward + backward, N = {N:,}, C = {C:,}")
right.set_ylim(0, max(peaks) * 1.2)
save(fig, "sec3_softmax")
