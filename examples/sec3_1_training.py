# %% [markdown]
# # Lesson sections 3.1-3.2: softmax regression trained with cross-entropy
#
# A softmax regression, `Linear(64, 10)`, on the 8x8 handwritten digits (1,797 images,
# a fixed stratified split), trained with `CrossEntropyLoss`. Three of the lesson's
# points, each as a number and a picture:
#
# 1. Section 3.2: integer labels (sparse, "SCCE") and one-hot rows (CE) are the same loss,
#    so the same model from the same seed reaches the same weights either way.
# 2. Section 3.1.2: the loss only sees the probability of the true class; how the rest is
#    spread does not change it.
# 3. Section 3.1.3: the classic mistake, a softmax at the end of the model *and* inside
#    `CrossEntropyLoss`, trained beside the right way.
#
# Run it as a script (`python sec3_1_training.py [--quick]`) or cell by cell.

# %%
import argparse
import warnings
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
from _common import load_digits, save, train_test_split

import numloss as nl
from numloss.train import SGD, Layer, Linear, Sequential, fit

parser = argparse.ArgumentParser(description="Lessons 3.1-3.2: softmax regression, trained")
parser.add_argument("--quick", action="store_true", help="fewer epochs: a few seconds")
args, _ = parser.parse_known_args()  # parse_known_args: a notebook's own arguments pass
EPOCHS = 6 if args.quick else 40
LR, BATCH = 0.5, 64

X, y = load_digits()  # pixels in [0, 1], labels 0..9
X_train, X_test, y_train, y_test = train_test_split(X, y, test_fraction=0.25, seed=0)
N, D = X_train.shape
C = 10
print(
    f"Digits: {N} training and {len(y_test)} test images of {D} pixels, {C} classes; "
    f"{EPOCHS} epochs of SGD, batch {BATCH}, lr {LR}\n"
)


def deliberate(caught) -> None:
    """Print the warnings numloss gave for a mistake this example makes on purpose."""
    for message in dict.fromkeys(str(w.message) for w in caught):  # each once, in order
        print(f"  (deliberate: numloss warns, as it should) NumlossWarning: {message}")


def train(model, targets, loss=None):
    """`fit` with everything but the model, the targets and the loss held fixed."""
    opt = SGD(model.parameters(), lr=LR)
    return fit(
        model,
        loss or nl.CrossEntropyLoss(),
        X_train,
        targets,
        epochs=EPOCHS,
        batch_size=BATCH,
        optimizer=opt,
        seed=0,
        quiet=True,
        validation=(X_test, y_test if targets.ndim == 1 else nl.one_hot(y_test, C)),
    )


# %% [markdown]
# ## Section 3.2: integer labels or one-hot rows, the same training
#
# Two copies of the model from the same seed, the same batches (the same shuffle seed):
# one sees the labels as integers, the other as one-hot rows of 10 floats. The loss is
# the same function and so is its gradient (p - onehot), so every step is the same.

# %%
sparse_model = Linear(D, C, seed=0)
sparse_history = train(sparse_model, y_train)
onehot_model = Linear(D, C, seed=0)
train(onehot_model, nl.one_hot(y_train, C))
weight_gap = max(
    np.abs(a.data - b.data).max()
    for a, b in zip(sparse_model.parameters(), onehot_model.parameters(), strict=True)
)
print("Section 3.2 - integer labels against one-hot rows, same seed, same batches")
print(
    f"  final training loss {sparse_history['loss'][-1]:.4f}, "
    f"test accuracy {sparse_history['val_accuracy'][-1]:.3f}"
)
print(f"  largest difference between the two models' weights: {weight_gap:.1e}\n")

# %% [markdown]
# ## Section 3.1.2: only the true class's probability counts
#
# Two predictions for an image of a dog (class 0), both giving the dog 0.6: one spreads
# the other 0.4 evenly, the other puts almost all of it on "cat". We build logits whose
# softmax is each distribution (z = log p) and ask `CrossEntropyLoss` for each loss.

# %%
animals = ["dog (true)", "cat", "horse", "bird"]
spread = np.array([[0.6, 0.2, 0.1, 0.1], [0.6, 0.38, 0.01, 0.01]])
ce = nl.CrossEntropyLoss(reduction="none")
two_losses = ce(np.log(spread), [0, 0])
two_grads = ce.backward(np.ones(2))
print("Section 3.1.2 - two predictions with p(dog) = 0.6")
for name, p, loss_value, g in zip(
    ("even", "piled on cat"), spread, two_losses, two_grads, strict=True
):
    probs, grads = " ".join(f"{v:.2f}" for v in p), " ".join(f"{v:+.2f}" for v in g)
    print(f"  {name:<13} p = [{probs}]  loss = {loss_value:.6f}  dL/dz = [{grads}]")
print(
    f"  -ln 0.6 = {-np.log(0.6):.6f}; the two losses differ by "
    f"{abs(two_losses[0] - two_losses[1]):.1e}"
)
print("  Same loss; the gradient's wrong-class entries differ (each p_k): CE still pushes the")
print(
    "  most likely wrong class down hardest, but its value does not see how the rest is spread.\n"
)

# %% [markdown]
# ## Section 3.1.3: the mistake, a softmax before `CrossEntropyLoss`
#
# `CrossEntropyLoss` takes *logits*: it applies log-softmax itself. A model ending in a
# softmax layer hands it probabilities p in [0, 1], and the loss computes
# -log softmax(p)_y. We write that softmax layer here, in the trainer's layer style.


# %%
class Softmax(Layer):
    """p = softmax(z) over the classes: the layer that must NOT end a model fed to CE.

    Gradient, from dp_i/dz_k = p_i ([i = k] - p_k), for an upstream gradient g = dL/dp:

        dL/dz_k = sum_i g_i p_i ([i = k] - p_k) = p_k (g_k - sum_i g_i p_i).
    """

    class Parts(NamedTuple):
        p: np.ndarray  # the output, softmax(z)

    def _forward(self, z):
        p = nl.softmax(z, axis=-1)
        return p, self.Parts(p=p)

    def _backward(self, r: Parts, g):
        return r.p * (g - (g * r.p).sum(axis=-1, keepdims=True))  # p_k (g_k - sum_i g_i p_i)


right = sparse_history  # the model above: logits straight into CrossEntropyLoss
softmax_check = nl.gradcheck(Softmax(), np.random.default_rng(1).normal(0, 2, (4, C)))
print("Section 3.1.3 - the Softmax layer's backward against finite differences:")
print(f"  {softmax_check}")
wrong_model = Sequential(Linear(D, C, seed=0), Softmax())
with warnings.catch_warnings(record=True) as caught:  # the mistake, made on purpose
    warnings.simplefilter("always", nl.NumlossWarning)
    wrong = train(wrong_model, y_train)
deliberate(caught)

# %% [markdown]
# ### Why the wrong loss has a floor
#
# With q = softmax(z) in [0, 1] (summing to 1) as CE's input, the loss is
# -log softmax(q)_y = -q_y + log sum_k e^(q_k). It is smallest when the model is
# perfectly sure and right, q = onehot(y): -1 + log(e + C - 1) = log(1 + (C - 1)/e).
# For C = 10 that is 1.461 however well the model classifies: the loss cannot say
# "better" past a point, and its gradient shrinks through the extra softmax.

# %%
floor = np.log(1 + (C - 1) / np.e)
with warnings.catch_warnings(record=True) as caught:  # probabilities as CE's input, again
    warnings.simplefilter("always", nl.NumlossWarning)
    perfect = nl.CrossEntropyLoss()(nl.one_hot(np.arange(C), C), np.arange(C))
deliberate(caught)
print("  a softmax before CrossEntropyLoss, against logits straight in")
print(f"  the floor log(1 + (C-1)/e) = {floor:.4f}; CE of perfect one-hot inputs = {perfect:.4f}")
print(f"  {'':<24} {'first epoch':>12} {'last epoch':>11} {'lowest':>8} {'test accuracy':>14}")
for name, h in (("logits (right)", right), ("softmax first (wrong)", wrong)):
    print(
        f"  {name + ' loss':<24} {h['loss'][0]:>12.4f} {h['loss'][-1]:>11.4f} "
        f"{min(h['loss']):>8.4f} {h['val_accuracy'][-1]:>14.3f}"
    )
print(
    f"  the wrong model's loss stays above the floor: {min(wrong['loss']) >= floor}; "
    f"the right one goes below it: {right['loss'][-1] < floor}"
)


def first_epoch_at(history, level=0.9):
    """The first epoch whose test accuracy reaches `level`, as text ("> EPOCHS" if none)."""
    reached = [e for e, a in enumerate(history["val_accuracy"], start=1) if a >= level]
    return str(reached[0]) if reached else f"> {EPOCHS}"


right_at, wrong_at = first_epoch_at(right), first_epoch_at(wrong)
print(f"  test accuracy 0.9 first reached at epoch: right {right_at}, wrong {wrong_at}")
q = wrong_model(X_test)
print(
    f"  the wrong model's own softmax output is sure of its answer: mean max q = "
    f"{q.max(axis=1).mean():.3f};"
)
print(f"  what CE makes of it, softmax(q), at most e/(e + {C - 1}) = {np.e / (np.e + C - 1):.3f}")

# %% [markdown]
# ## The picture
#
# Left: the two predictions of 3.1.2 with their equal losses. Middle and right: the
# training loss and the test accuracy per epoch, the right way and the wrong way.

# %%
fig, (ax_spread, ax_loss, ax_acc) = plt.subplots(1, 3, figsize=(15, 4.4))
width = 0.38
pos = np.arange(len(animals))
for offset, name, p, loss_value, color in zip(
    (-width / 2, width / 2),
    ("rest even", "rest on cat"),
    spread,
    two_losses,
    ("#3d5a80", "#ee6c4d"),
    strict=True,
):
    ax_spread.bar(pos + offset, p, width, color=color, label=f"{name}: loss {loss_value:.3f}")
ax_spread.set_xticks(pos, animals)
ax_spread.set(
    ylabel="predicted probability", ylim=(0, 0.8), title="3.1.2: same p(dog), same loss = -ln 0.6"
)
ax_spread.legend(fontsize=8, loc="upper right")

epochs = np.arange(1, EPOCHS + 1)
for history, color, name in (
    (right, "#4c956c", "logits → CE (right)"),
    (wrong, "#d1495b", "softmax → CE (wrong)"),
):
    ax_loss.plot(epochs, history["loss"], color=color, marker="o", markersize=3, label=name)
    ax_acc.plot(epochs, history["val_accuracy"], color=color, marker="o", markersize=3, label=name)
ax_loss.axhline(
    floor,
    color="black",
    linestyle="--",
    linewidth=1,
    label=f"floor log(1 + {C - 1}/e) = {floor:.3f}",
)
ax_loss.set(
    xlabel="epoch",
    ylabel="training loss",
    ylim=(0, None),
    title=f"3.1.3: softmax before CE cannot go below {floor:.3f}",
)
ax_loss.legend(fontsize=8, loc="center right", bbox_to_anchor=(1, 0.4))
ax_acc.set(
    xlabel="epoch",
    ylabel="test accuracy",
    title=f"3.1.3: ... and learns more slowly: 0.9 at epoch {right_at} against {wrong_at}",
)
ax_acc.axhline(0.9, color="gray", linestyle=":", linewidth=1)
ax_acc.legend(fontsize=8, loc="lower right")
fig.tight_layout()
save(fig, "sec3_1_training")
