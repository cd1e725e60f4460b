"""Lesson section 1: surprise, the logarithm, entropy and KL divergence, in numbers.

1.1-1.2  surprise S = -log2 p: a coin is 1 bit, a lottery win is ~23 bits, and
         surprises add where probabilities multiply.
1.3      entropy: a fair coin is the most uncertain (1 bit); a biased one less.
         KL divergence: the lesson's dog, truth P* = [1, 0, 0], prediction
         P = [0.7, 0.2, 0.1]: KL(P* || P) = -ln 0.7 = 0.357.
"""

import matplotlib.pyplot as plt
import numpy as np
from _common import save

import numloss as nl

print("Section 1.1-1.2 - surprise S = -log2(p)\n")
for name, p in (("a coin lands heads", 0.5), ("a die shows six", 1 / 6), ("the lottery", 1e-7)):
    print(f"  {name:<20} p = {p:<10.3g} S = {float(nl.surprise(p)):6.2f} bits")
p, q = 0.5, 1 / 6
print(
    f"\n  coin and die together: S(p q) = {float(nl.surprise(p * q)):.4f} bits = "
    f"S(p) + S(q) = {float(nl.surprise(p)):.4f} + {float(nl.surprise(q)):.4f}"
)
print(
    "  1/p does not add: 1/(p q) =", f"{1 / (p * q):.0f}", "but 1/p + 1/q =", f"{1 / p + 1 / q:.0f}"
)
probs = [0.9, 0.9, 0.1]
print(
    f"\n  three predictions {probs}: product {np.prod(probs):.3f}, summed surprise (nats) "
    f"{float(np.sum(nl.surprise(probs, base=np.e))):.3f} = -ln {np.prod(probs):.3f}"
)

print("\nSection 1.3 - entropy, the average surprise\n")
for name, coin in (
    ("fair coin", [0.5, 0.5]),
    ("biased coin", [0.9, 0.1]),
    ("certain coin", [1.0, 0.0]),
):
    print(f"  {name:<13} {coin}: H = {float(nl.entropy(coin, base=2)):.3f} bits")

truth, pred = np.array([1.0, 0.0, 0.0]), np.array([0.7, 0.2, 0.1])
kl = float(nl.kl_divergence(truth, pred))
print("\nSection 1.3 - the dog example: P* = [1, 0, 0], P = [0.7, 0.2, 0.1]\n")
print(f"  KL(P* || P)        = {kl:.3f}   (= -ln 0.7 = {-np.log(0.7):.3f})")
print(f"  H(P*)              = {float(nl.entropy(truth)):.3f}   (the truth is certain)")
print(f"  cross-entropy      = {float(nl.cross_entropy(truth, pred)):.3f}   = H(P*) + KL")
better = np.array([0.95, 0.03, 0.02])
print(
    f"  a better P = {better.tolist()}: KL = {float(nl.kl_divergence(truth, better)):.3f} (closer)"
)

fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
grid = np.linspace(1e-3, 1, 400)
axes[0].plot(grid, nl.surprise(grid, base=np.e), color="#3d5a80")
for p, offset in ((0.9, (-40, 14)), (0.55, (6, 8)), (0.1, (8, 6))):  # the spam models
    axes[0].plot(p, -np.log(p), "o", color="#ee6c4d")
    label = f"-ln {p:g} = {-np.log(p):.3f}"
    axes[0].annotate(label, (p, -np.log(p)), textcoords="offset points", xytext=offset)
axes[0].set(xlabel="probability of what happened, p", ylabel="-ln p", title="Surprise: -ln p")
axes[0].set_ylim(0, 5)

coin = np.linspace(0, 1, 401)
entropies = nl.entropy(np.stack([coin, 1 - coin], axis=1), base=2)
axes[1].plot(coin, entropies, color="#3d5a80")
axes[1].plot([0.5, 0.9], [1.0, float(nl.entropy([0.9, 0.1], base=2))], "o", color="#ee6c4d")
axes[1].annotate("fair coin: 1 bit", (0.5, 1.0), textcoords="offset points", xytext=(-40, -18))
axes[1].annotate(
    "biased 0.9: 0.469 bits", (0.9, 0.469), textcoords="offset points", xytext=(-150, -30)
)
axes[1].set(xlabel="P(heads)", ylabel="H (bits)", title="Entropy of a coin: largest when fair")

labels = ["dog", "cat", "horse"]
x = np.arange(3)
axes[2].bar(x - 0.2, truth, 0.4, label="truth P*", color="#4c956c")
axes[2].bar(x + 0.2, pred, 0.4, label="prediction P", color="#f2c14e")
axes[2].set_xticks(x, labels)
axes[2].set_title(f"KL(P* || P) = -ln 0.7 = {kl:.3f}")
axes[2].legend()
save(fig, "sec1_information")
