# %% [markdown]
# # Lesson section 2.1: BCE on the spam example, and why PyTorch says "use logits"
#
# - 2.1.2, why BCE is "ruthless": the email's true label is y = 1. Model A says 0.9
#   (good), model B 0.55 (unsure), model C 0.1 (confidently wrong). BCE charges -ln p:
#
#       A: -ln 0.90 = 0.105      B: -ln 0.55 = 0.598      C: -ln 0.10 = 2.303
#
#   computed twice, with `BCELoss` on the probabilities and `BCEWithLogitsLoss` on the
#   logits log(p / (1 - p)), with the gradient each model would receive.
# - 2.1.4, the lesson's advice to prefer `BCEWithLogitsLoss`: as a wrong logit grows,
#   `BCELoss(sigmoid(x))` stops at 100 (its log is clamped at -100) and its gradient
#   drops to 0, while `BCEWithLogitsLoss(x)` keeps the true loss and a gradient of size 1.
#
# Run it as a script (`python examples/sec2_1_spam.py [--quick]`) or cell by cell in
# Jupyter or VS Code. Losses are in nats (natural logarithms), as in the lesson.

# %%
import argparse

import matplotlib.pyplot as plt
import numpy as np
from _common import save

import numloss as nl
from numloss.train import Sigmoid

parser = argparse.ArgumentParser(
    description="Lesson section 2.1: BCE, on probabilities and logits."
)
parser.add_argument("--quick", action="store_true", help="fewer points on the curves")
args, _ = parser.parse_known_args()  # a notebook kernel passes arguments of its own
CURVE_POINTS = 150 if args.quick else 600

# %% [markdown]
# ## 2.1.2 Three spam models, one true label
#
# The same numbers from probabilities (`BCELoss`) and from logits (`BCEWithLogitsLoss`),
# and the gradient of each with respect to what it was given.

# %%
models = ["A (good)", "B (unsure)", "C (wrong)"]
p = np.array([0.9, 0.55, 0.1])  # predicted probability of the true class
y = np.ones(3)  # the true label, y = 1 for all three
logits = np.log(p / (1 - p))

bce = nl.BCELoss(reduction="none")
on_probs = bce(p, y)
grad_p = bce.backward()

bce_logits = nl.BCEWithLogitsLoss(reduction="none")
on_logits = bce_logits(logits, y)
grad_x = bce_logits.backward()

print("Section 2.1.2 - the same email (y = 1) scored by three models (losses in nats)\n")
header = ("model", "p", "logit", "BCE(p)", "BCE(logit)", "dL/dp", "dL/dx")
print("{:<12} {:>5} {:>7} {:>8} {:>11} {:>8} {:>7}".format(*header))
for i, name in enumerate(models):
    print(
        f"{name:<12} {p[i]:>5.2f} {logits[i]:>7.3f} {on_probs[i]:>8.3f} {on_logits[i]:>11.3f} "
        f"{grad_p[i]:>8.3f} {grad_x[i]:>7.3f}"
    )
print(
    "\nC's loss is",
    f"{on_probs[2] / on_probs[0]:.0f}",
    "times A's: being confidently wrong costs most.",
)
print("dL/dx = p - y: the logit gradient is the error itself, bounded by 1 in size.")

# %%
fig, ax = plt.subplots(figsize=(6, 3.8))
bars = ax.bar(models, on_probs, color=["#4c956c", "#f2c14e", "#d1495b"])
ax.bar_label(bars, labels=[f"-ln {q:g} = {v:.3f}" for q, v in zip(p, on_probs, strict=True)])
ax.set_xticks(range(3), [f"{m}\np = {q:g}" for m, q in zip(models, p, strict=True)])
ax.set(
    xlabel="model, and the probability it gives the true label",
    ylabel="BCE loss (nats)",
    title="Spam example (y = 1): BCE punishes confident mistakes",
    ylim=(0, on_probs.max() * 1.2),
)
save(fig, "sec2_1_spam")

# %% [markdown]
# ## 2.1.4 Probabilities against logits, as the logit goes wrong
#
# A positive example (y = 1) with logit x = 0, -1, ..., -1000: the model is more and more
# sure of the wrong class. The true loss is softplus(-x), about |x|, and its gradient
# dL/dx = sigmoid(x) - 1 tends to -1: a full-size push back.
#
# `BCELoss` takes p = sigmoid(x) (here through the trainer's `Sigmoid` layer, whose
# backward carries dL/dp back to dL/dx). Below x = -100, log p < -100 and PyTorch's
# clamp (which numloss copies) holds the loss at 100; the clamped term has gradient 0
# (PyTorch's gradient there is as good as 0 too: sigmoid'(x) = p (1 - p) is below
# 1e-43). Below x = -745, p itself underflows to 0.

# %%
sigmoid_layer = Sigmoid()
bce_sum, logits_sum = nl.BCELoss(reduction="sum"), nl.BCEWithLogitsLoss(reduction="sum")


def both_ways(x, label):
    """Per-element loss and dL/dx by BCELoss(sigmoid(x)) and by BCEWithLogitsLoss(x)."""
    x = np.asarray(x, dtype=np.float64)[:, None]
    target = np.full_like(x, label)
    p = sigmoid_layer(x)
    loss_p = nl.BCELoss(reduction="none")(p, target)[:, 0]
    bce_sum(p, target)
    grad_p = sigmoid_layer.backward(bce_sum.backward())[:, 0]  # dL/dp * dp/dx
    loss_x = nl.BCEWithLogitsLoss(reduction="none")(x, target)[:, 0]
    logits_sum(x, target)
    grad_x = logits_sum.backward()[:, 0]
    return p[:, 0], loss_p, grad_p, loss_x, grad_x


def table(x, label):
    """Print both ways side by side; p_true is the true class's probability as BCELoss sees it."""
    p, loss_p, grad_p, loss_x, grad_x = both_ways(x, label)
    p_true = p if label == 1 else 1 - p  # 1 - p computed in float64, as BCELoss computes it
    print(
        f"  {'logit x':>8} {'p_true':>11} {'BCELoss(sigmoid(x))':>20} {'dL/dx':>7}"
        f" {'BCEWithLogitsLoss(x)':>21} {'dL/dx':>7}"
    )
    for row in zip(x, p_true, loss_p, grad_p, loss_x, grad_x, strict=True):
        print("  {:>8g} {:>11.4g} {:>20.4f} {:>7.4f} {:>21.4f} {:>7.4f}".format(*row))


print("\nSection 2.1.4 - a positive example (y = 1) with a more and more wrong logit\n")
table([0, -1, -10, -50, -99, -101, -200, -745, -746, -1000], 1)
p_1000, loss_p_1000, _, loss_x_1000, grad_x_1000 = (v[0] for v in both_ways([-1000], 1))
print(
    f"\n  at x = -1000: BCELoss(sigmoid(x)) = {loss_p_1000:.1f} (clamped), "
    f"BCEWithLogitsLoss(x) = {loss_x_1000:.1f} (the true loss),"
)
print(
    f"  gradient {both_ways([-1000], 1)[2][0]:.1f} against {grad_x_1000:.1f}: "
    "on probabilities the most wrong model gets no push at all"
)

# %% [markdown]
# The mirror case, a negative example (y = 0) with a growing positive logit, breaks much
# sooner: 1 - sigmoid(x) rounds to 0 in float64 once x > 36.7, so log(1 - p) is clamped
# from there on, and even before that 1 - p has lost most of its digits.

# %%
print("\nThe mirror case - a negative example (y = 0) with a growing positive logit\n")
table([0, 10, 30, 36, 37, 50, 100, 1000], 0)
ladder = np.arange(1, 1001)
saturates = {}  # the first |x| where BCELoss(sigmoid(x)) has no gradient left: clamped
for label in (1, 0):
    _, loss_p, grad_p, _, _ = both_ways(-ladder if label else ladder, label)
    saturates[label] = int(ladder[grad_p == 0][0])
    assert np.all(loss_p[grad_p == 0] == 100)  # where the gradient is gone, the loss is 100
print(
    f"\n  BCELoss(sigmoid(x)) is clamped at 100, with gradient 0, from |x| = {saturates[1]} "
    f"for y = 1 and from |x| = {saturates[0]} for y = 0;"
)
true_loss = np.logaddexp(0, np.concatenate([ladder, ladder]))  # softplus(|x|): -log p_true
with_logits = np.concatenate([both_ways(-ladder, 1)[3], both_ways(ladder, 0)[3]])
worst = np.max(np.abs(with_logits / true_loss - 1))
print(
    "  BCEWithLogitsLoss(x) against the true loss softplus(|x|) (NumPy's logaddexp), "
    f"|x| = 1..1000:\n  largest relative difference {worst:.1e}"
)

# %%
wrong = np.geomspace(0.5, 1000, CURVE_POINTS)  # how wrong the logit is, |x|
pos = both_ways(-wrong, 1)  # y = 1, logit -|x|
neg = both_ways(wrong, 0)  # y = 0, logit +|x|
fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.6))
ax = axes[0]
ax.loglog(
    wrong, pos[3], color="#3d5a80", lw=4, alpha=0.6, label="BCEWithLogitsLoss(x): the true loss"
)
ax.loglog(wrong, pos[1], color="#d1495b", lw=1.8, label="BCELoss(sigmoid(x)), y = 1")
ax.loglog(wrong, neg[1], "--", color="#f28f3b", lw=1.8, label="BCELoss(sigmoid(x)), y = 0")
ax.axhline(100, color="0.5", lw=0.8, ls=":")
ax.annotate("clamped at 100", (1.0, 100), textcoords="offset points", xytext=(0, 5), color="0.35")
ax.set(
    xlabel="how wrong the logit is, |x| (log scale)",
    ylabel="loss (nats, log scale)",
    title="Loss: on probabilities it stops at 100,\non logits it keeps growing with |x|",
)
ax.legend(loc="lower right", fontsize=9)
ax = axes[1]
ax.semilogx(wrong, np.abs(pos[4]), color="#3d5a80", lw=4, alpha=0.6, label="BCEWithLogitsLoss(x)")
ax.semilogx(wrong, np.abs(pos[2]), color="#d1495b", lw=1.8, label="BCELoss(sigmoid(x)), y = 1")
ax.semilogx(
    wrong, np.abs(neg[2]), "--", color="#f28f3b", lw=1.8, label="BCELoss(sigmoid(x)), y = 0"
)
ax.set(
    xlabel="how wrong the logit is, |x| (log scale)",
    ylabel="|dL/dx|, the push on the logit",
    title="Gradient: on probabilities it drops to 0\n(at |x| = 37 or 100), on logits it stays 1",
    ylim=(-0.05, 1.15),
)
ax.text(
    saturates[0] / 1.15, 0.45, "y = 0: 1 - sigmoid(x)\nrounds to 0", ha="right", color="#f28f3b"
)
ax.text(saturates[1] * 1.15, 0.45, "y = 1: log p\nclamped at -100", ha="left", color="#d1495b")
ax.legend(loc="lower left", fontsize=9)
fig.tight_layout()
save(fig, "sec2_1_spam_logits")
