# %% [markdown]
# # The ranking losses the lesson's introduction promises
#
# Classification asks "which class?". Ranking losses ask "which of two is better?"
# (`MarginRankingLoss`) and "is this closer to that one than to the other?"
# (`TripletMarginLoss`, the loss of face recognition). Both are hinges: they are 0 once
# the order (or the distance) is right by a margin.
#
# 1. `MarginRankingLoss` learns a linear scoring function from judged pairs "a is better
#    than b", never seeing a score; we measure how many pairs it orders right.
# 2. `TripletMarginLoss` learns a 2-D embedding of the 8x8 handwritten digits from triplets
#    (an image, one of the same digit, one of another), never seeing a class label as such.
#
# Both losses take two or three inputs and `backward` returns one gradient per input,
# while `fit` trains (input, target) losses; so this script writes its own small
# training loop, a dozen lines.
#
# Run it as a script (`python ranking.py [--quick]`) or cell by cell.

# %%
import argparse

import matplotlib.pyplot as plt
import numpy as np
from _common import load_digits, save, train_test_split

import numloss as nl
from numloss.train import SGD, Linear, ReLU, Sequential

parser = argparse.ArgumentParser(description="Ranking losses, trained")
parser.add_argument("--quick", action="store_true", help="fewer steps: a few seconds")
args, _ = parser.parse_known_args()  # parse_known_args: a notebook's own arguments pass
PAIR_STEPS = 150 if args.quick else 600
TRIPLET_STEPS = 300 if args.quick else 2000
BATCH = 64

# %% [markdown]
# ## 1. Learning to score from pairs
#
# 300 items with 5 features each, and a hidden true score s = w* . x that the model never
# sees. What it sees are 3,000 judged pairs among the first 200 items: y = +1 when a judge
# says item i beats item j, -1 otherwise; the judge sees the true score plus a little
# noise, so some judgements are wrong. The last 100 items are kept for testing: on every
# pair of them (4,950), do the model's scores order the pair as the true scores do?

# %%
rng = np.random.default_rng(0)
items = rng.normal(0, 1, (300, 5))
w_true = rng.normal(0, 1, 5)
true_score = items @ w_true
judged = true_score + rng.normal(0, 0.3, len(true_score))  # the judge's noisy view
pairs = rng.integers(0, 200, (3000, 2))
pairs = pairs[pairs[:, 0] != pairs[:, 1]]
order = np.sign(judged[pairs[:, 0]] - judged[pairs[:, 1]])  # +1: the first should rank higher
wrong_judgements = np.mean(order != np.sign(true_score[pairs[:, 0]] - true_score[pairs[:, 1]]))
test_items = np.arange(200, 300)
i_test, j_test = np.triu_indices(len(test_items), k=1)


def pairwise_accuracy(scores):
    """The fraction of test pairs the scores order as the true scores do."""
    s, t = scores[test_items], true_score[test_items]
    return float(np.mean(np.sign(s[i_test] - s[j_test]) == np.sign(t[i_test] - t[j_test])))


# %% [markdown]
# The model is a linear scorer without bias (a bias cancels in every difference). One
# training step: score both sides of a batch of pairs in one forward pass (stacked),
# the loss max(0, margin - y (s1 - s2)), its two gradients, stacked again for backward.

# %%
scorer = Linear(5, 1, bias=False, seed=0)
ranking_loss = nl.MarginRankingLoss(margin=1.0)
opt = SGD(scorer.parameters(), lr=0.05)
before = pairwise_accuracy(scorer(items)[:, 0])
pair_curve = [(0, before)]
for step in range(1, PAIR_STEPS + 1):
    batch = rng.integers(0, len(pairs), BATCH)
    first, second = items[pairs[batch, 0]], items[pairs[batch, 1]]
    scores = scorer(np.concatenate([first, second]))[:, 0]  # one forward for both sides
    ranking_loss(scores[:BATCH], scores[BATCH:], order[batch])
    d_first, d_second = ranking_loss.backward()  # one gradient per input
    opt.zero_grad()
    scorer.backward(np.concatenate([d_first, d_second])[:, None])
    opt.step()
    if step % 10 == 0:
        pair_curve.append((step, pairwise_accuracy(scorer(items)[:, 0])))
after = pairwise_accuracy(scorer(items)[:, 0])
w = scorer.weight.data[0]
cosine = w @ w_true / (np.linalg.norm(w) * np.linalg.norm(w_true))
print(
    f"1. MarginRankingLoss - {len(pairs)} judged pairs ({wrong_judgements:.1%} judged wrongly), "
    f"{PAIR_STEPS} steps of {BATCH} pairs"
)
print(
    f"  pairwise accuracy on the {len(i_test):,} test pairs: before {before:.3f}, after {after:.3f}"
)
print(f"  cosine between the learned weights and the hidden w*: {cosine:.4f}\n")

# %%
fig, (ax_curve, ax_scores) = plt.subplots(1, 2, figsize=(11.5, 4.3))
steps, accuracies = np.array(pair_curve).T
ax_curve.plot(steps, accuracies, color="#3d5a80", marker="o", markersize=3)
ax_curve.axhline(0.5, color="gray", linestyle=":", linewidth=1)
ax_curve.text(steps[-1], 0.51, "chance", color="gray", ha="right", va="bottom")
ax_curve.set(
    xlabel="training step (64 pairs each)",
    ylabel="pairwise accuracy on test pairs",
    ylim=(0.4, 1.02),
    title=f"From pairs alone: {before:.2f} → {after:.2f} of pairs ordered right",
)
learned = scorer(items)[test_items, 0]
ax_scores.scatter(true_score[test_items], learned, s=16, color="#3d5a80")
ax_scores.set(
    xlabel="hidden true score w* . x (test items)",
    ylabel="learned score w . x",
    title=f"The learned score tracks the hidden one (cosine {cosine:.4f})",
)
fig.tight_layout()
save(fig, "ranking_pairs")

# %% [markdown]
# ## 2. A 2-D embedding of the digits from triplets
#
# A small network maps each 64-pixel image to a point in the plane. A triplet is an
# anchor image, a positive (another image of the same digit) and a negative (an image of
# a different digit); the loss max(0, margin + d(a, p) - d(a, n)) asks the positive to be
# closer than the negative by at least the margin. How well are the classes separated?
# We measure it with a nearest-centroid classifier in the plane: each test image gets the
# digit whose training images' mean embedding is closest.

# %%
X, y = load_digits()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=0)
by_class = [np.flatnonzero(y_train == k) for k in range(10)]


def nearest_centroid_accuracy(net):
    centroids = np.stack([net(X_train[members]).mean(axis=0) for members in by_class])
    embedded = net(X_test)
    distances = np.linalg.norm(embedded[:, None, :] - centroids[None], axis=2)
    return float(np.mean(distances.argmin(axis=1) == y_test))


def pick(rng, members):
    """One of `members` at random, as rng.choice(members) picks it: NumPy's choice draws
    rng.integers(len(members)) for it, the same number, after handling options unused here
    (4 us a call, 0.9 s of this example's 256,000 picks)."""
    return members[rng.integers(len(members))]


def triplets(rng, n):
    """n (anchor, positive, negative) index triples into the training set."""
    anchors = rng.integers(0, len(y_train), n)
    positives = np.array([pick(rng, by_class[y_train[a]]) for a in anchors])
    other = (y_train[anchors] + rng.integers(1, 10, n)) % 10  # any digit but the anchor's
    negatives = np.array([pick(rng, by_class[k]) for k in other])
    return anchors, positives, negatives


net = Sequential(Linear(64, 32, seed=0), ReLU(), Linear(32, 2, seed=1))
triplet_loss = nl.TripletMarginLoss(margin=1.0)
opt = SGD(net.parameters(), lr=0.05, momentum=0.9)
embedding_before = net(X_test)
separation_before = nearest_centroid_accuracy(net)
losses = []
for _ in range(TRIPLET_STEPS):
    a, p, n = triplets(rng, BATCH)
    out = net(np.concatenate([X_train[a], X_train[p], X_train[n]]))  # one forward for all three
    losses.append(triplet_loss(out[:BATCH], out[BATCH : 2 * BATCH], out[2 * BATCH :]))
    d_anchor, d_positive, d_negative = triplet_loss.backward()  # one gradient per input
    opt.zero_grad()
    net.backward(np.concatenate([d_anchor, d_positive, d_negative]))
    opt.step()
embedding_after = net(X_test)
separation_after = nearest_centroid_accuracy(net)
print(f"2. TripletMarginLoss - a 64-32-2 network, {TRIPLET_STEPS} steps of {BATCH} triplets")
print(
    f"  triplet loss: first 50 steps {np.mean(losses[:50]):.3f}, last 50 steps "
    f"{np.mean(losses[-50:]):.3f}"
)
print(
    f"  nearest-centroid accuracy in the 2-D embedding, {len(y_test)} test digits: "
    f"before {separation_before:.3f}, after {separation_after:.3f}"
)

# %%
fig, axes = plt.subplots(1, 2, figsize=(12.5, 5.4))
palette = plt.get_cmap("tab10")
for ax, embedded, accuracy, when in (
    (axes[0], embedding_before, separation_before, "before training (random weights)"),
    (axes[1], embedding_after, separation_after, f"after {TRIPLET_STEPS} steps of triplets"),
):
    for k in range(10):
        points = embedded[y_test == k]
        ax.scatter(*points.T, s=10, color=palette(k), alpha=0.7, label=str(k))
        ax.text(
            *points.mean(axis=0),
            str(k),
            fontsize=12,
            fontweight="bold",
            ha="center",
            va="center",
            color=palette(k),
            bbox={"boxstyle": "circle,pad=0.15", "facecolor": "white", "edgecolor": palette(k)},
        )
    ax.set(
        xlabel="embedding dimension 1",
        ylabel="embedding dimension 2",
        title=f"{when}: nearest-centroid accuracy {accuracy:.2f}",
    )
axes[1].legend(title="digit", loc="center left", bbox_to_anchor=(1.01, 0.5), markerscale=2)
fig.suptitle("TripletMarginLoss: test digits in the learned plane (each digit's centre labelled)")
fig.tight_layout()
save(fig, "ranking_triplets")
