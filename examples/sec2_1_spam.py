"""Lesson section 2.1.2: why BCE is "ruthless" — three spam models, one true label.

The email's true label is y = 1. Model A says 0.9 (good), model B 0.55 (unsure),
model C 0.1 (confidently wrong). BCE charges -ln(p) for y = 1:

    A: -ln 0.90 = 0.105      B: -ln 0.55 = 0.598      C: -ln 0.10 = 2.303

We compute the same numbers twice — with BCELoss on probabilities, and with
BCEWithLogitsLoss on the logits log(p / (1 - p)) — and print the gradient each model
would receive, then draw the bar chart of the lesson.
"""

import matplotlib.pyplot as plt
import numpy as np
from _common import save

import numloss as nl

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

print("Section 2.1.2 - the same email (y = 1) scored by three models\n")
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

fig, ax = plt.subplots(figsize=(6, 3.6))
bars = ax.bar(models, on_probs, color=["#4c956c", "#f2c14e", "#d1495b"])
ax.bar_label(bars, labels=[f"-ln {q:g} = {v:.3f}" for q, v in zip(p, on_probs, strict=True)])
ax.set_ylabel("BCE loss")
ax.set_title("Spam example (y = 1): BCE punishes confident mistakes")
ax.set_ylim(0, on_probs.max() * 1.2)
save(fig, "sec2_1_spam")
