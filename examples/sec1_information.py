# %% [markdown]
# # Lesson section 1: surprise, the logarithm, entropy and KL divergence, in numbers
#
# - 1.1-1.2: surprise S = -log2 p: a coin is 1 bit, a lottery win is ~23 bits, and
#   surprises add where probabilities multiply.
# - 1.2: why the logarithm in practice: the product of many probabilities underflows
#   to 0 in float64, while the sum of their logarithms stays finite.
# - 1.3: entropy: a fair coin is the most uncertain (1 bit), a biased one less.
#   KL divergence: the lesson's dog, truth P* = [1, 0, 0], prediction
#   P = [0.7, 0.2, 0.1]: KL(P* || P) = -ln 0.7 = 0.357.
#
# Run it as a script (`python examples/sec1_information.py [--quick]`) or cell by cell
# in Jupyter or VS Code. Surprise is printed in bits (`base=2`) or nats (`base=e`), and
# every number says which.

# %%
import argparse

import matplotlib.pyplot as plt
import numpy as np
from _common import save

import numloss as nl

parser = argparse.ArgumentParser(description="Lesson section 1 in numbers and one figure.")
parser.add_argument("--quick", action="store_true", help="coarser curves, same numbers")
args, _ = parser.parse_known_args()  # a notebook kernel passes arguments of its own
CURVE_POINTS = 100 if args.quick else 400

# %% [markdown]
# ## 1.1-1.2 Surprise in bits
#
# S = -log2 p. Two independent events multiply their probabilities and add their
# surprises; 1/p, the first idea for surprise, does not add.

# %%
print("Section 1.1-1.2 - surprise S = -log2(p)\n")
for name, p in (("a coin lands heads", 0.5), ("a die shows six", 1 / 6), ("the lottery", 1e-7)):
    print(f"  {name:<20} p = {p:<10.3g} S = {float(nl.surprise(p, base=2)):6.2f} bits")
p, q = 0.5, 1 / 6
print(
    f"\n  coin and die together: S(p q) = {float(nl.surprise(p * q, base=2)):.4f} bits = "
    f"S(p) + S(q) = {float(nl.surprise(p, base=2)):.4f} + {float(nl.surprise(q, base=2)):.4f}"
)
print(
    "  1/p does not add: 1/(p q) =", f"{1 / (p * q):.0f}", "but 1/p + 1/q =", f"{1 / p + 1 / q:.0f}"
)
probs = [0.9, 0.9, 0.1]
print(
    f"\n  three predictions {probs}: product {np.prod(probs):.3f}, summed surprise "
    f"{float(np.sum(nl.surprise(probs, base=np.e))):.3f} nats = -ln {np.prod(probs):.3f}"
)

# %% [markdown]
# ## 1.2 Why the logarithm: a product of many probabilities underflows
#
# The lesson's three predictions [0.9, 0.9, 0.1], repeated: the probability of a whole
# data set is the product of its predictions. float64 cannot hold a positive number
# below 4.9e-324, so after a few hundred factors the product is exactly 0.0 and its
# log is -inf. The sum of the logs (minus the summed surprise, in nats) is the same
# quantity and stays an ordinary finite number.

# %%
COUNT = 3000
stream = np.tile(probs, COUNT // len(probs))  # 0.9, 0.9, 0.1, 0.9, 0.9, 0.1, ...
product = np.cumprod(stream)  # the running product, multiplied one factor at a time
log_sum = -np.cumsum(nl.surprise(stream, base=np.e))  # sum of ln p = -(summed surprise)
n_subnormal = int(np.argmax(product < np.finfo(np.float64).tiny)) + 1
n_zero = int(np.argmax(product == 0)) + 1  # the first count whose product is 0.0

print("\nSection 1.2 - the product of n predictions [0.9, 0.9, 0.1, ...] in float64\n")
print(f"  {'n':>5} {'product in float64':>20} {'sum of ln p (nats)':>20}")
for n in (3, 30, 300, n_subnormal, n_zero - 1, n_zero, COUNT):
    print(f"  {n:>5} {product[n - 1]:>20.6g} {log_sum[n - 1]:>20.3f}")
print(f"\n  the product drops below the smallest normal float64 (2.2e-308) at n = {n_subnormal}")
print(f"  and is exactly 0.0 from n = {n_zero}: its log is -inf and nothing can be learned")
print(f"  sum of ln p at n = {n_zero}: {log_sum[n_zero - 1]:.3f} nats (finite)")
print(f"  sum of ln p at n = {COUNT}: {log_sum[-1]:.3f} nats (finite)")

# %% [markdown]
# ## 1.3 Entropy and KL divergence
#
# Entropy is the average surprise: largest for a fair coin. KL(P* || P) measures how
# far the prediction P is from the truth P*; for a one-hot truth it is -ln of the
# probability given to the true class.

# %%
print("\nSection 1.3 - entropy, the average surprise\n")
for name, coin in (
    ("fair coin", [0.5, 0.5]),
    ("biased coin", [0.9, 0.1]),
    ("certain coin", [1.0, 0.0]),
):
    print(f"  {name:<13} {coin}: H = {float(nl.entropy(coin, base=2)):.3f} bits")

truth, pred = np.array([1.0, 0.0, 0.0]), np.array([0.7, 0.2, 0.1])
kl = float(nl.kl_divergence(truth, pred))
print("\nSection 1.3 - the dog example: P* = [1, 0, 0], P = [0.7, 0.2, 0.1] (in nats)\n")
print(f"  KL(P* || P)        = {kl:.3f}   (= -ln 0.7 = {-np.log(0.7):.3f})")
print(f"  H(P*)              = {float(nl.entropy(truth)):.3f}   (the truth is certain)")
print(f"  cross-entropy      = {float(nl.cross_entropy(truth, pred)):.3f}   = H(P*) + KL")
better = np.array([0.95, 0.03, 0.02])
print(
    f"  a better P = {better.tolist()}: KL = {float(nl.kl_divergence(truth, better)):.3f} (closer)"
)

# %% [markdown]
# ## The figure
#
# Surprise of the three spam models of section 2.1.2, the underflow of the product,
# the entropy of a coin, and the dog's KL divergence.

# %%
fig, axes = plt.subplots(2, 2, figsize=(11.5, 8.2))
ax = axes[0, 0]
grid = np.linspace(1e-3, 1, CURVE_POINTS)
ax.plot(grid, nl.surprise(grid, base=np.e), color="#3d5a80")
# the three spam models of section 2.1.2, each label in the empty space, an arrow to its point
spam_models = (
    (0.1, "C (wrong)", (0.18, 2.6)),
    (0.55, "B (unsure)", (0.42, 1.75)),
    (0.9, "A (good)", (0.6, 1.1)),
)
for p, name, text_at in spam_models:
    ax.plot(p, -np.log(p), "o", color="#ee6c4d")
    ax.annotate(
        f"{name}: -ln {p:g} = {-np.log(p):.3f}",
        (p, -np.log(p)),
        xytext=text_at,
        arrowprops={"arrowstyle": "->", "color": "0.4", "shrinkB": 4},
    )
ax.set(
    xlabel="probability given to what happened, p",
    ylabel="surprise -ln p (nats)",
    title="Surprise -ln p: a confident mistake costs most",
    ylim=(0, 5),
)

ax = axes[0, 1]
ns = np.arange(1, COUNT + 1)
shown = product > 0
ax.plot(ns[shown], np.log10(product[shown]), color="#ee6c4d", lw=5, label="log10 of the product")
ax.plot(ns, log_sum / np.log(10), "--", color="#3d5a80", lw=2, label="sum of log10 p: finite")
ax.axhline(np.log10(np.finfo(np.float64).smallest_subnormal), color="0.5", lw=0.8, ls="--")
ax.annotate(
    "smallest float64 > 0: 4.9e-324",
    (COUNT, np.log10(np.finfo(np.float64).smallest_subnormal)),
    textcoords="offset points",
    xytext=(0, 5),
    ha="right",
    color="0.35",
)
ax.annotate(  # the product falls off the bottom: log 0 = -inf
    "",
    (n_zero, -1100),
    xytext=(n_zero, np.log10(np.finfo(np.float64).smallest_subnormal)),
    arrowprops={"arrowstyle": "->", "color": "#d1495b", "lw": 2},
)
ax.text(
    n_zero - 40,
    -800,
    f"from n = {n_zero}\nthe product is 0.0:\nits log is -inf",
    color="#d1495b",
    ha="right",
)
ax.set(
    xlabel="number of predictions multiplied, n",
    ylabel="log10 of the probability of all n",
    title=f"Underflow: the product is 0.0 from n = {n_zero},\nthe sum of logs stays finite",
    ylim=(-1100, 50),
)
ax.legend(loc="upper right")

ax = axes[1, 0]
coin = np.linspace(0, 1, CURVE_POINTS + 1)
entropies = nl.entropy(np.stack([coin, 1 - coin], axis=1), base=2)
biased = float(nl.entropy([0.9, 0.1], base=2))
ax.plot(coin, entropies, color="#3d5a80")
ax.plot([0.5, 0.9], [1.0, biased], "o", color="#ee6c4d")
ax.annotate("fair coin: 1 bit", (0.5, 1.0), textcoords="offset points", xytext=(0, 8), ha="center")
ax.annotate(
    f"biased 0.9: {biased:.3f} bits",
    (0.9, biased),
    textcoords="offset points",
    xytext=(-12, -4),
    ha="right",
    va="center",
)
ax.set(
    xlabel="P(heads)",
    ylabel="entropy H (bits)",
    title="Entropy of a coin: largest when fair",
    ylim=(0, 1.15),
)

ax = axes[1, 1]
labels = ["dog", "cat", "horse"]
x = np.arange(3)
ax.bar(x - 0.2, truth, 0.4, label="truth P*", color="#4c956c")
ax.bar(x + 0.2, pred, 0.4, label="prediction P", color="#f2c14e")
ax.set_xticks(x, labels)
ax.set(ylabel="probability", title=f"KL(P* || P) = -ln 0.7 = {kl:.3f} nats", ylim=(0, 1.15))
ax.legend()
fig.tight_layout()
save(fig, "sec1_information")
