# %% [markdown]
# # Lesson section 2.2: the hinge loss and its margin, against BCE and the 0-1 loss.
#
# Every binary loss is a function of the margin u = y f(x) (labels -1/+1): positive
# when the prediction is right, and the larger the safer. The lesson's three zones for
# the hinge max(0, 1 - u):
#
#     u >= 1       safe: no loss
#     0 < u < 1    right, but too close to the boundary: a light penalty
#     u <= 0       wrong: a penalty growing linearly
#
# Run it as a script (`python sec2_2_margins.py [--quick]`) or cell by cell.

# %%
import argparse

import matplotlib.pyplot as plt
import numpy as np
from _common import save

import numloss as nl

parser = argparse.ArgumentParser(description="Lesson 2.2: losses against the margin")
parser.add_argument("--quick", action="store_true", help="accepted for `make examples QUICK=1`")
args, _ = parser.parse_known_args()  # no training here: the script is quick either way

# %% [markdown]
# ## The lesson's zones, in numbers

# %%
margins = np.array([-2.0, -1.0, 0.0, 0.5, 0.9, 1.0, 1.5, 3.0])
ones = np.ones_like(margins)  # y = +1, so f = u
hinge = nl.HingeLoss(reduction="none")(margins, ones)
squared = nl.SquaredHingeLoss(reduction="none")(margins, ones)
logistic = nl.SoftMarginLoss(reduction="none")(margins, ones) / np.log(2)  # in bits
zero_one = (margins <= 0).astype(float)

print("Section 2.2 - losses as functions of the margin u = y f(x)\n")
print(f"  {'u':>5} {'zone':<16} {'0-1':>4} {'hinge':>6} {'sq. hinge':>9} {'logistic':>9}")
for i, u in enumerate(margins):
    zone = "safe" if u >= 1 else ("too close" if u > 0 else "wrong")
    row = f"{zero_one[i]:>4.0f} {hinge[i]:>6.2f} {squared[i]:>9.2f} {logistic[i]:>9.3f}"
    print(f"  {u:>5.1f} {zone:<16} {row}")

loss = nl.HingeLoss(reduction="none")
loss(margins, ones)
print("\n  hinge gradient dL/df:", loss.backward(ones))
print("  (0 in the safe zone, including u = 1 exactly: the minimum-norm subgradient; the")
print("  lesson's torch.clamp(1 - u, min=0) would give -1 there, as clamp passes the gradient")
print("  at its boundary)")
print("\n  The logistic loss is never exactly 0: it keeps pushing a right answer further;")
print("  the hinge stops at the margin, which is why SVMs depend only on support vectors.")

# %% [markdown]
# ## The picture: the zones and the losses over them

# %%
u = np.linspace(-2.5, 3, 551)
y = np.ones_like(u)
fig, ax = plt.subplots(figsize=(7.5, 4.4))
zones = (
    (-2.5, 0, "#d1495b", 0.10, "wrong\n(u ≤ 0)"),
    (0, 1, "#f2c14e", 0.18, "too close\n(0 < u < 1)"),
    (1, 3, "#4c956c", 0.10, "safe\n(u ≥ 1)"),
)
for start, stop, color, alpha, name in zones:
    ax.axvspan(start, stop, color=color, alpha=alpha)
    ax.text((start + stop) / 2, 3.9, name, ha="center", va="top", fontsize=9)
ax.plot(
    u, nl.HingeLoss(reduction="none")(u, y), color="black", linewidth=2, label="hinge max(0, 1 - u)"
)
ax.plot(u, nl.SquaredHingeLoss(reduction="none")(u, y), color="#3d5a80", label="squared hinge")
ax.plot(
    u,
    nl.SoftMarginLoss(reduction="none")(u, y) / np.log(2),
    color="#ee6c4d",
    label="logistic (BCE), bits",
)
ax.step(u, (u <= 0).astype(float), where="post", color="gray", linestyle="--", label="0-1 loss")
ax.set(
    xlabel="margin u = y f(x)",
    ylabel="loss",
    title="2.2: the hinges are exactly 0 once u ≥ 1; the logistic loss never is",
    xlim=(-2.5, 3),
    ylim=(0, 4),
)
ax.legend(loc="upper right", bbox_to_anchor=(1, 0.8), fontsize=8)
save(fig, "sec2_2_margins")
