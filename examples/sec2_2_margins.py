"""Lesson section 2.2: the hinge loss and its margin, against BCE and the 0-1 loss.

Every binary loss is a function of the margin u = y f(x) (labels -1/+1): positive
when the prediction is right, and the larger the safer. The lesson's three zones for
the hinge max(0, 1 - u):

    u >= 1       safe: no loss
    0 < u < 1    right, but too close to the boundary: a light penalty
    u <= 0       wrong: a penalty growing linearly
"""

import matplotlib.pyplot as plt
import numpy as np
from _common import save

import numloss as nl

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
print("  (0 in the safe zone, including u = 1 exactly: the minimum-norm subgradient)")
print("\n  The logistic loss is never exactly 0: it keeps pushing a right answer further;")
print("  the hinge stops at the margin, which is why SVMs depend only on support vectors.")

u = np.linspace(-2.5, 3, 551)
y = np.ones_like(u)
fig, ax = plt.subplots(figsize=(7.5, 4.4))
ax.axvspan(-2.5, 0, color="#d1495b", alpha=0.10, label="wrong (u ≤ 0)")
ax.axvspan(0, 1, color="#f2c14e", alpha=0.18, label="right but too close (0 < u < 1)")
ax.axvspan(1, 3, color="#4c956c", alpha=0.10, label="safe (u ≥ 1)")
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
    title="Section 2.2: losses against the margin",
    ylim=(0, 4),
)
ax.legend(loc="upper right", fontsize=8)
save(fig, "sec2_2_margins")
