# %% [markdown]
# # Lesson section 2.2: the hinge loss in practice, against the logistic loss
#
# Two linear classifiers f(x) = w . x + b, one trained with `HingeLoss` (an SVM: labels
# -1/+1, weight decay for the ||w||^2 term) and one with `BCEWithLogitsLoss` (logistic
# regression: labels 0/1, the same weight decay), on the same seeded 2-D data, with the
# same optimiser, learning rate and number of steps.
#
# The lesson's point (2.2.1-2.2.2): the hinge max(0, 1 - y f) is exactly 0 once a point
# is beyond its margin (y f >= 1), so its gradient is 0 there too. Only the points with
# y f < 1, the *support vectors*, pull on the boundary; the logistic loss is never
# exactly 0, so every point pulls a little. Then section 2.2.3: `MultiMarginLoss`, the
# multi-class hinge, on three classes.
#
# Run it as a script (`python sec2_2_hinge_training.py [--quick]`) or cell by cell.

# %%
import argparse

import matplotlib.pyplot as plt
import numpy as np
from _common import save

import numloss as nl
from numloss.train import SGD, Linear, fit

parser = argparse.ArgumentParser(description="Lesson 2.2: hinge against logistic, trained")
parser.add_argument("--quick", action="store_true", help="fewer steps: a few seconds")
args, _ = parser.parse_known_args()  # parse_known_args: a notebook's own arguments pass
EPOCHS = 150 if args.quick else 600  # full-batch steps
LR, WEIGHT_DECAY = 0.1, 0.01

# %% [markdown]
# ## The data: two overlapping Gaussian clouds
#
# 100 points per class for training and as many for testing, from one seeded generator.
# The hinge wants labels -1/+1; BCE wants 0/1: t = (y + 1) / 2.


# %%
def two_clouds(rng, n_per_class):
    """Points of class +1 around (1, 0.8) and of class -1 around (-1, -0.8)."""
    X = np.concatenate(
        [
            rng.normal((1.0, 0.8), 0.8, (n_per_class, 2)),
            rng.normal((-1.0, -0.8), 0.8, (n_per_class, 2)),
        ]
    )
    y = np.concatenate([np.ones(n_per_class), -np.ones(n_per_class)])
    return X, y[:, None]  # targets of the model's output shape (N, 1)


rng = np.random.default_rng(0)
X, y = two_clouds(rng, 100)
X_test, y_test = two_clouds(rng, 100)
t, t_test = (y + 1) / 2, (y_test + 1) / 2  # 0/1 labels for BCE
N = len(X)

# %% [markdown]
# ## Training both, with everything equal but the loss
#
# Full-batch gradient descent (`batch_size=None`): one step per epoch. Both models start
# from the same weights (`seed=0`).


# %%
def train(loss, targets):
    model = Linear(2, 1, seed=0)
    opt = SGD(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    fit(model, loss, X, targets, epochs=EPOCHS, batch_size=None, optimizer=opt, quiet=True)
    return model


def accuracy(f, labels_pm):
    return float(np.mean(np.where(f > 0, 1.0, -1.0) == labels_pm))


hinge_model = train(nl.HingeLoss(), y)
logistic_model = train(nl.BCEWithLogitsLoss(), t)

print(
    f"Section 2.2 - {N} training points, {EPOCHS} full-batch steps, lr {LR}, "
    f"weight decay {WEIGHT_DECAY}\n"
)
print(f"  {'model':<28} {'train accuracy':>14} {'test accuracy':>13} {'||w||':>6}")
for name, model in (
    ("hinge (HingeLoss)", hinge_model),
    ("logistic (BCEWithLogitsLoss)", logistic_model),
):
    w = model.weight.data
    print(
        f"  {name:<28} {accuracy(model(X), y):>14.3f} {accuracy(model(X_test), y_test):>13.3f} "
        f"{np.linalg.norm(w):>6.2f}"
    )

# %% [markdown]
# ## Support vectors: the only points with a gradient
#
# We ask the loss itself which points have a gradient: `backward` with `reduction="none"`
# gives dl_n/df_n for each point, -y [y f < 1] for the hinge. The points where it is not 0
# are the support vectors; for BCE, dl/df = sigmoid(f) - t, which is never 0.


# %%
def per_point_gradient(loss, f, target):
    """dl_n/df_n, one per point: the loss with reduction="none", backward with 1s."""
    loss(f, target)
    return loss.backward(np.ones_like(f))


f = hinge_model(X)
hinge_grad = per_point_gradient(nl.HingeLoss(reduction="none"), f, y)
has_grad = (hinge_grad != 0).ravel()
inside = (y * f < 1).ravel()  # the margin condition, y f < 1
print(f"\n  support vectors (y f < 1): {inside.sum()} of {N}")
print(
    f"  points with a nonzero hinge gradient: {has_grad.sum()}; the same points: "
    f"{bool(np.array_equal(has_grad, inside))}"
)

logistic_f = logistic_model(X)
bce_grad = per_point_gradient(nl.BCEWithLogitsLoss(reduction="none"), logistic_f, t)
print(
    f"  points with a nonzero BCE gradient: {(bce_grad != 0).sum()} of {N} "
    f"(smallest |dl/df| {np.abs(bce_grad).min():.1e})"
)

# %% [markdown]
# What this means for training: the gradient of the summed hinge with respect to w and b
# is the same whether we feed all the points or only the support vectors: at these weights,
# dropping every other point would not change the step at all.


# %%
def weight_gradient(points, labels):
    hinge_model.weight.grad[...] = 0
    hinge_model.bias.grad[...] = 0
    loss = nl.HingeLoss(reduction="sum")
    loss(hinge_model(points), labels)
    hinge_model.backward(loss.backward())
    return np.concatenate([hinge_model.weight.grad.ravel(), hinge_model.bias.grad])


from_all = weight_gradient(X, y)
from_support = weight_gradient(X[inside], y[inside])


def show(v):
    return "[" + " ".join(f"{x:+.3f}" for x in v) + "]"


for who, g in (
    (f"all {N} points", from_all),
    (f"the {inside.sum()} support vectors", from_support),
):
    print(f"  d(summed hinge)/d(w1, w2, b), {who:<22} {show(g)}")
print(f"  largest difference: {np.abs(from_all - from_support).max():.1e}")

# %% [markdown]
# ## The picture
#
# Left, the hinge model: its boundary f = 0, its margins f = ±1 (dashed), and the support
# vectors ringed. Right, the logistic model, each point drawn with an area proportional
# to |dl/df|: every point pulls, the confidently right ones a little.

# %%
COLORS = {1.0: "#3d5a80", -1.0: "#ee6c4d"}
lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
grid_x = np.linspace(lo[0], hi[0], 300)


def draw_lines(ax, model, label):
    (w1, w2), b = model.weight.data[0], model.bias.data[0]
    for level, style in ((0, "-"), (1, "--"), (-1, "--")):  # w1 x1 + w2 x2 + b = level
        ax.plot(
            grid_x,
            (level - b - w1 * grid_x) / w2,
            "k" + style,
            linewidth=1.5 if level == 0 else 1,
            label=f"{label} f = 0" if level == 0 else ("f = ±1" if level == 1 else None),
        )


fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.2), sharex=True, sharey=True)
for label in (1.0, -1.0):
    members = y.ravel() == label
    left.scatter(*X[members].T, s=18, color=COLORS[label], label=f"y = {label:+.0f}")
    sizes = 400 * np.abs(bce_grad.ravel()[members])
    right.scatter(*X[members].T, s=sizes, color=COLORS[label], alpha=0.7, label=f"y = {label:+.0f}")
left.scatter(
    *X[inside].T,
    s=90,
    facecolors="none",
    edgecolors="black",
    linewidths=1.2,
    label=f"support vectors (y f < 1): {inside.sum()}",
)
draw_lines(left, hinge_model, "hinge")
draw_lines(right, logistic_model, "logistic")
left.set_title(f"HingeLoss: only the {inside.sum()} ringed points have a gradient")
right.set_title(f"BCEWithLogitsLoss: all {N} points have one (area ∝ |dl/df|)")
for ax in (left, right):
    ax.set(xlabel="x1", ylabel="x2", xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), aspect="equal")
    legend = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8)
    for handle in legend.legend_handles[:2]:
        handle.set_sizes([30])  # the class markers at one size, whatever their points' sizes
save(fig, "sec2_2_hinge_training")

# %% [markdown]
# ## Section 2.2.3: three classes, `MultiMarginLoss`
#
# PyTorch's multi-class hinge: each wrong class i must score at least 1 below the true
# class y, l = sum_{i != y} max(0, 1 - x_y + x_i) / C. A `Linear(2, 3)` model, the same
# optimiser. A point has a gradient only while some wrong class is within the margin.

# %%
centres = 2.0 * np.array([[np.cos(a), np.sin(a)] for a in np.radians([90, 210, 330])])
X3 = np.concatenate([rng.normal(c, 0.9, (80, 2)) for c in centres])
y3 = np.repeat(np.arange(3), 80)
X3_test = np.concatenate([rng.normal(c, 0.9, (80, 2)) for c in centres])

model3 = Linear(2, 3, seed=0)
opt3 = SGD(model3.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
fit(
    model3, nl.MultiMarginLoss(), X3, y3, epochs=EPOCHS, batch_size=None, optimizer=opt3, quiet=True
)
scores = model3(X3)
multi = nl.MultiMarginLoss(reduction="none")
multi(scores, y3)
active = np.abs(multi.backward(np.ones(len(y3)))).sum(axis=1) > 0
train_acc3 = float(np.mean(scores.argmax(axis=1) == y3))
test_acc3 = float(np.mean(model3(X3_test).argmax(axis=1) == y3))
N3 = len(y3)
print(f"\nSection 2.2.3 - MultiMarginLoss, 3 classes, {N3} points")
print(f"  train accuracy {train_acc3:.3f}, test accuracy {test_acc3:.3f}")
print(f"  points with a nonzero gradient (a wrong class within the margin): {active.sum()} of {N3}")

# %%
lo3, hi3 = X3.min(axis=0) - 0.5, X3.max(axis=0) + 0.5
g1, g2 = np.meshgrid(np.linspace(lo3[0], hi3[0], 500), np.linspace(lo3[1], hi3[1], 500))
regions = model3(np.c_[g1.ravel(), g2.ravel()]).argmax(axis=1).reshape(g1.shape)
palette = ["#3d5a80", "#ee6c4d", "#4c956c"]
fig, ax = plt.subplots(figsize=(6.4, 5.6))
ax.contourf(g1, g2, regions, levels=[-0.5, 0.5, 1.5, 2.5], colors=palette, alpha=0.18)
ax.contour(g1, g2, regions, levels=[0.5, 1.5], colors="black", linewidths=1)
for k in range(3):
    ax.scatter(*X3[y3 == k].T, s=16, color=palette[k], label=f"class {k}")
ax.scatter(
    *X3[active].T,
    s=70,
    facecolors="none",
    edgecolors="black",
    linewidths=1,
    label=f"with a gradient: {active.sum()}",
)
ax.set(
    xlabel="x1",
    ylabel="x2",
    xlim=(lo3[0], hi3[0]),
    ylim=(lo3[1], hi3[1]),
    title=f"MultiMarginLoss: only the {active.sum()} ringed points still pull",
)
ax.legend(loc="upper left", fontsize=8)
save(fig, "sec2_2_multimargin")
