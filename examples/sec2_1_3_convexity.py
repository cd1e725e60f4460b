# %% [markdown]
# # Lesson section 2.1.3: why not MSE? Convexity of BCE against MSE, watched
#
# The lesson says that MSE on a sigmoid's output makes the loss "bumpy" (non-convex), so
# gradient descent "easily gets stuck in local minima", while BCE is convex and slides
# down to the global minimum. Here we check that claim on the smallest model where the
# loss is a surface we can draw: logistic regression with one feature x and a bias,
# p = sigmoid(w x + b), so each loss is a function of the two numbers (w, b).
#
# - BCE: `Linear(1, 1)` followed by `BCEWithLogitsLoss` (the logit goes in).
# - MSE: `Sequential(Linear(1, 1), Sigmoid())` followed by `MSELoss` (p goes in).
#
# We draw both surfaces, run full-batch SGD (`numloss.train.fit`) from a grid of starting
# points with the same learning rate and number of epochs for both, find the optimum of
# each exactly (Newton's method), ask what holds every MSE run that does not arrive,
# and map the smallest eigenvalue of each loss's Hessian over the plane.
#
# Run it as a script (`python examples/sec2_1_3_convexity.py [--quick]`) or cell by
# cell in Jupyter or VS Code.

# %%
import argparse
import time

import matplotlib.pyplot as plt
import numpy as np
from _common import save
from matplotlib.colors import LogNorm, SymLogNorm

import numloss as nl
from numloss.train import SGD, Linear, Sequential, Sigmoid, fit

parser = argparse.ArgumentParser(description="Lesson section 2.1.3: convexity, BCE against MSE.")
parser.add_argument("--quick", action="store_true", help="9 starting points, a coarser grid")
args, _ = parser.parse_known_args()  # a notebook kernel passes arguments of its own
started = time.perf_counter()

LR, EPOCHS = 2.0, 400  # the same for both losses
TOL = 1e-4  # "within 1e-4 of the optimum, in loss"
START_SIDE = 3 if args.quick else 7  # a START_SIDE x START_SIDE grid of starting points
START_RANGE = 8.0  # starting points in [-8, 8] x [-8, 8]
PLANE = 12.0  # the surfaces are drawn over [-12, 12] x [-12, 12]
GRID = 61 if args.quick else 241  # grid points per side for the surfaces and Hessian maps

# %% [markdown]
# ## The data: two overlapping classes
#
# 20 points per class, x ~ N(-0.8, 1) for class 0 and N(+0.8, 1) for class 1, seeded.
# The classes overlap (no threshold separates them), so neither loss is minimised by
# sending w to infinity: both optima are finite points of the plane.

# %%
rng = np.random.default_rng(0)
x = np.concatenate([rng.normal(-0.8, 1.0, 20), rng.normal(0.8, 1.0, 20)])
y = np.concatenate([np.zeros(20), np.ones(20)])
X, Y = x[:, None], y[:, None]  # (N, 1): one feature, one target per sample
N = len(x)
print("Section 2.1.3 - logistic regression p = sigmoid(w x + b) on 40 points, 2 classes\n")
print(f"  class 0: x in [{x[y == 0].min():.2f}, {x[y == 0].max():.2f}]")
print(f"  class 1: x in [{x[y == 1].min():.2f}, {x[y == 1].max():.2f}]")
print(f"  overlapping: {x[y == 1].min() < x[y == 0].max()} (so both optima are finite)")

# %% [markdown]
# ## Gradients and Hessians, by hand
#
# With z_n = w x_n + b, p_n = sigmoid(z_n) and s_n = p_n (1 - p_n) = dp_n/dz_n, both
# losses are means over the samples of a function of z_n alone, so by the chain rule
#
#     grad L = (1/N) sum_n g_n [x_n, 1],       g_n = dl_n/dz_n
#     H      = (1/N) sum_n h_n [x_n, 1][x_n, 1]^T,   h_n = dg_n/dz_n
#
# **BCE**, l_n = softplus(z_n) - y_n z_n:
#
#     g_n = p_n - y_n
#     h_n = s_n = p_n (1 - p_n) >= 0,      so H = X^T S X / N with S = diag(s_n)
#
# a sum of positive semi-definite matrices: BCE is convex in (w, b) everywhere.
#
# **MSE**, l_n = (p_n - y_n)^2. With dp/dz = s and ds/dz = s (1 - 2p):
#
#     g_n = 2 (p_n - y_n) s_n
#     h_n = 2 [s_n s_n + (p_n - y_n) s_n (1 - 2 p_n)] = 2 s_n [s_n + (p_n - y_n)(1 - 2 p_n)]
#
# For a positive (y = 1) this is h = 2 s (1 - p)(3p - 1): negative when p < 1/3, that is
# when the model is wrong about it. For a negative (y = 0), h = 2 s p (2 - 3p): negative
# when p > 2/3. Wrong predictions bend the MSE surface downwards; enough of them make H
# indefinite or negative definite, and the surface is not convex there.
#
# The 2 x 2 Hessian [[a, b], [b, c]] has determinant (Cauchy-Binet)
#
#     det H = (1/N^2) sum_{i<j} h_i h_j (x_i - x_j)^2,
#
# a sum of non-negative terms for BCE (every h = s >= 0), so the code below computes its
# smallest eigenvalue as det / (largest eigenvalue): never negative, not even by rounding.

# %%
PAIRS = (x[:, None] - x[None, :]) ** 2 / (2 * N * N)  # det H = h^T PAIRS h


def curvature(t, kind):
    """Per-sample p, g = dl/dz and h = d2l/dz2 at parameters t = [..., (w, b)]."""
    z = t[..., :1] * x + t[..., 1:]  # (..., N) logits
    p, q = nl.sigmoid(z), nl.sigmoid(-z)  # p and 1 - p, each accurate in its own tail
    s = p * q
    if kind == "bce":
        return p, p - y, s
    return p, 2 * (p - y) * s, 2 * s * (s + (p - y) * (q - p))


def grad_hess(t, kind):
    """The analytic gradient (..., 2) and Hessian (..., 2, 2) of the mean loss."""
    _, g, h = curvature(t, kind)
    grad = np.stack([(g * x).mean(-1), g.mean(-1)], -1)
    a, b, c = (h * x * x).mean(-1), (h * x).mean(-1), h.mean(-1)
    return grad, np.stack([np.stack([a, b], -1), np.stack([b, c], -1)], -2)


def smallest_eigenvalue(t, kind):
    """The Hessian's smallest eigenvalue, with its sign exact (see the derivation above)."""
    _, _, h = curvature(t, kind)
    a, b, c = (h * x * x).mean(-1), (h * x).mean(-1), h.mean(-1)
    det = np.einsum("...i,ij,...j->...", h, PAIRS, h)
    half_trace, radius = (a + c) / 2, np.hypot((a - c) / 2, b)
    largest = half_trace + radius
    with np.errstate(invalid="ignore", divide="ignore"):
        from_det = np.where(largest > 0, det / largest, 0.0)  # no cancellation when tr >= 0
    return np.where(half_trace >= 0, from_det, half_trace - radius)


def loss_value(t, kind):
    """The mean loss at t = [..., (w, b)], computed by numloss's own losses."""
    t = np.asarray(t, dtype=np.float64)
    z = t[..., :1] * x + t[..., 1:]
    target = np.broadcast_to(y, z.shape)
    if kind == "bce":
        return nl.BCEWithLogitsLoss(reduction="none")(z, target).mean(-1)
    return nl.MSELoss(reduction="none")(nl.sigmoid(z), target).mean(-1)


# %% [markdown]
# ## The models, and a check of the Hessians by finite differences
#
# The gradient numloss's backward computes (through `Linear`, `Sigmoid` and the loss)
# must equal the hand-derived one, and central differences of that backward gradient
# must give the hand-derived Hessian, including where it is negative.

# %%
LOSSES = {"bce": nl.BCEWithLogitsLoss(), "mse": nl.MSELoss()}


def make_model(kind, w, b):
    model = Sequential(Linear(1, 1)) if kind == "bce" else Sequential(Linear(1, 1), Sigmoid())
    model[0].weight.data[...] = w
    model[0].bias.data[...] = b
    return model


def backward_gradient(kind, t):
    """dL/d(w, b) by numloss: forward, loss, backward."""
    model, loss = make_model(kind, *t), LOSSES[kind]
    loss(model(X), Y)
    model.zero_grad()
    model.backward(loss.backward())
    return np.array([model[0].weight.grad[0, 0], model[0].bias.grad[0]])


print("\nHand-derived gradient and Hessian against numloss's backward (finite differences)\n")
checks = np.array([[3.0, 0.0], [-2.0, 1.0], [0.5, -3.0], [-6.0, 6.0], [8.0, -2.0]])
step = 1e-5
for kind in ("bce", "mse"):
    worst_g = worst_h = 0.0
    for t in checks:
        grad, hess = grad_hess(t, kind)
        worst_g = max(worst_g, np.abs(backward_gradient(kind, t) - grad).max())
        fd = np.stack(
            [
                (backward_gradient(kind, t + e) - backward_gradient(kind, t - e)) / (2 * step)
                for e in np.eye(2) * step
            ],
            axis=1,
        )
        worst_h = max(worst_h, np.abs(fd - hess).max() / np.abs(hess).max())
    print(
        f"  {kind.upper()}: at {len(checks)} points, |backward - analytic gradient| <= "
        f"{worst_g:.1e}, Hessian relative error <= {worst_h:.1e}"
    )
lam = smallest_eigenvalue(checks, "mse")
print(f"  (MSE's smallest eigenvalue at those points: {np.array2string(lam, precision=4)})")

# %% [markdown]
# ## The optima, by Newton's method
#
# Newton's step t <- t - H^-1 grad uses the analytic gradient and Hessian. For BCE,
# started at (0, 0), it converges to the unique minimum. For MSE we start it at the BCE
# optimum and check that it lands on a minimum (gradient 0, H positive definite); that
# it is the best MSE value is checked against the whole grid and every run below.

# %%


def newton(kind, t, iterations=50):
    for _ in range(iterations):
        grad, hess = grad_hess(t, kind)
        t = t - np.linalg.solve(hess, grad)
    return t


bce_opt = newton("bce", np.zeros(2))
mse_opt = newton("mse", bce_opt)
best = {"bce": float(loss_value(bce_opt, "bce")), "mse": float(loss_value(mse_opt, "mse"))}
print("\nNewton's method\n")
for kind, t in (("bce", bce_opt), ("mse", mse_opt)):
    grad, hess = grad_hess(t, kind)
    print(
        f"  {kind.upper()} optimum: w = {t[0]:.6f}, b = {t[1]:.6f}, loss = {best[kind]:.10f}\n"
        f"    |grad| = {np.linalg.norm(grad):.1e}, "
        f"Hessian eigenvalues {np.array2string(np.linalg.eigvalsh(hess), precision=4)}"
    )

# %% [markdown]
# ## The two surfaces
#
# Each loss over the plane, computed with `BCEWithLogitsLoss` and `MSELoss` themselves.
# The plane is wide enough to show where the sigmoid saturates: there every p is 0 or 1
# and the MSE surface is flat.

# %%
axis = np.linspace(-PLANE, PLANE, GRID)
W, B = np.meshgrid(axis, axis)  # W varies along columns, B along rows
plane = np.stack([W, B], axis=-1)
surface = {kind: loss_value(plane, kind) for kind in ("bce", "mse")}
print(f"\nThe surfaces on a {GRID} x {GRID} grid over [-{PLANE:g}, {PLANE:g}]^2")
for kind in ("bce", "mse"):
    low = surface[kind].min()
    print(
        f"  {kind.upper()}: from {low:.4f} to {surface[kind].max():.4f}; "
        f"the grid's lowest value is not below the Newton optimum: {low >= best[kind] - 1e-12}"
    )

# %% [markdown]
# ## SGD from a grid of starting points
#
# Full-batch SGD (`numloss.train.fit`, one step per epoch), with the same learning rate
# and number of epochs for both losses; the callback records the path of (w, b).

# %%
starts = [
    (w0, b0)
    for w0 in np.linspace(-START_RANGE, START_RANGE, START_SIDE)
    for b0 in np.linspace(-START_RANGE, START_RANGE, START_SIDE)
]
runs = {"bce": [], "mse": []}
for kind in ("bce", "mse"):
    for w0, b0 in starts:
        model = make_model(kind, w0, b0)
        path = [(w0, b0)]

        def record(epoch, model, history, path=path):
            path.append((model[0].weight.data[0, 0], model[0].bias.data[0]))

        history = fit(
            model,
            LOSSES[kind],
            X,
            Y,
            epochs=EPOCHS,
            optimizer=SGD(model.parameters(), lr=LR),
            quiet=True,
            callback=record,
        )
        runs[kind].append({"path": np.array(path), "loss": np.array(history["loss"])})
ends = {kind: np.array([run["path"][-1] for run in runs[kind]]) for kind in runs}
gap = {kind: np.array([run["loss"][-1] for run in runs[kind]]) - best[kind] for kind in runs}
print(
    f"\nSGD from {len(starts)} starting points in [-{START_RANGE:g}, {START_RANGE:g}]^2: "
    f"full batch, lr = {LR:g}, {EPOCHS} epochs, the same for both losses\n"
)
print(f"  BCE: final loss - Newton optimum, run by run (all must be <= {TOL:g}):")
for i, (start, d) in enumerate(zip(starts, gap["bce"], strict=True)):
    end = "\n" if i % 4 == 3 or i == len(starts) - 1 else ""
    print(f"    ({start[0]:5.2f}, {start[1]:5.2f}) {d:9.2e}", end=end)
print(f"  BCE runs within {TOL:g} of the optimum: {(gap['bce'] <= TOL).sum()} of {len(starts)}")
print(f"  BCE largest distance: {gap['bce'].max():.2e}")
print(f"  the lowest end of any MSE run is not below the Newton optimum: {gap['mse'].min() >= 0}")
far = np.flatnonzero(gap["mse"] > TOL)
print(
    f"  MSE runs ending more than {TOL:g} above the best MSE value ({best['mse']:.6f}): "
    f"{len(far)} of {len(starts)}"
)

# %% [markdown]
# ## What holds each stuck MSE run?
#
# At each stuck run's end: the gradient's size, the Hessian's eigenvalues, and how many
# of the 40 samples sit where the sigmoid is flat (s = p (1 - p) < 0.01).
#
# - A true **local minimum** has gradient 0 and a positive definite Hessian, with the
#   loss above the best.
# - A **plateau** has a gradient that has vanished without being 0 and a Hessian near
#   singular (here also indefinite: its smallest eigenvalue is at or below 0).
# - A run whose Hessian is positive definite but whose gradient is not 0 is inside the
#   convex bowl around the optimum and simply **still descending**, slowly.
#
# The test that settles it: keep descending, with the same learning rate, from where
# the run stopped. Out of a local minimum gradient descent never comes; off a plateau it
# does, however long it takes. The continuation is the same update as `fit`'s (checked
# below), in NumPy, all stuck runs at once.

# %%
FEATURES = np.stack([x, np.ones(N)], axis=1) / N  # grad = g @ FEATURES, g = dl/dz


def descend(t, epochs):
    """Full-batch gradient descent on MSE from each row of t, as fit(SGD(lr=LR)) does.

    The gradient is grad_hess's, written lean for speed: g_n = 2 (p_n - y_n) p_n (1 - p_n).
    """
    t = t.copy()
    for _ in range(epochs):
        p = 0.5 + 0.5 * np.tanh((t[:, :1] * x + t[:, 1:]) / 2)  # sigmoid(z), no overflow
        t -= LR * ((2 * (p - y) * p * (1 - p)) @ FEATURES)
    return t


same = np.abs(descend(np.array(starts), EPOCHS) - ends["mse"]).max()
print(f"\n  NumPy descent from the same starts ends where fit ended: max difference {same:.1e}")

MAX_MORE, CHECK_EVERY = 200_000, 100
more = np.full(len(far), -1)  # more epochs each stuck run needs to reach the best (-1: not yet)
t, done = ends["mse"][far], 0
while done < MAX_MORE and (more < 0).any():
    t = descend(t, CHECK_EVERY)
    done += CHECK_EVERY
    more[(loss_value(t, "mse") - best["mse"] <= TOL) & (more < 0)] = done


def verdict(end, more_epochs):
    """What holds a stuck run ending at `end`, from its gradient, Hessian and continuation."""
    grad, hess = grad_hess(end, "mse")
    eig = np.linalg.eigvalsh(hess)
    p = curvature(end, "mse")[0]
    if np.linalg.norm(grad) < 1e-8 and eig[0] > 0:
        return "local minimum", ""
    if more_epochs < 0:
        return "undecided", f"not at the best after {MAX_MORE} more epochs"
    if eig[0] > 0:
        return "still descending", "inside the optimum's convex bowl"
    side = "every p > 1/2" if p.min() > 0.5 else "every p < 1/2" if p.max() < 0.5 else ""
    return "plateau", side or "flat valley towards large w"


print(
    f"\n  {'start':>14} {'end':>16} {'loss - best':>11} {'|grad|':>8} {'eigenvalues of H':>21}"
    f" {'flat':>5} {'more epochs':>11}  verdict"
)
kinds = []
for i, k in enumerate(far):
    end = ends["mse"][k]
    grad, hess = grad_hess(end, "mse")
    eig = np.linalg.eigvalsh(hess)
    p = curvature(end, "mse")[0]
    kind, why = verdict(end, more[i])
    kinds.append(kind)
    arrived = f"{more[i]}" if more[i] > 0 else f"> {MAX_MORE}"
    print(
        f"  ({starts[k][0]:5.2f}, {starts[k][1]:5.2f}) ({end[0]:6.2f}, {end[1]:6.2f})"
        f" {gap['mse'][k]:11.2e} {np.linalg.norm(grad):8.1e} {eig[0]:10.2e} {eig[1]:10.2e}"
        f" {int((p * (1 - p) < 0.01).sum()):>5} {arrived:>11}  {kind}: {why}"
    )
print("  flat: how many of the 40 samples sit where the sigmoid is flat, p (1 - p) < 0.01")
scale = np.linalg.norm(grad_hess(np.zeros(2), "mse")[0])
print(f"  for scale: |grad| = {scale:.1e} at (w, b) = (0, 0), where every p = 1/2")
count = {kind: kinds.count(kind) for kind in ("local minimum", "plateau", "still descending")}
count["undecided"] = kinds.count("undecided")
print(
    f"  stuck MSE runs: {len(far)}: local minima {count['local minimum']}, "
    f"plateaus {count['plateau']}, still descending {count['still descending']}, "
    f"undecided {count['undecided']}"
)
for kind in ("plateau", "still descending"):
    where = [g for g, k in zip(gap["mse"][far], kinds, strict=True) if k == kind]
    if where:
        print(f"    {kind}: loss above the best from {min(where):.1e} to {max(where):.1e}")
if len(far) and count["undecided"] == 0:
    print(
        f"  continued at the same learning rate, every stuck run reaches the best MSE value, "
        f"after {more.min()} to {more.max()} more epochs"
    )
if count["local minimum"] == 0 and count["undecided"] == 0:
    slow = " (the others descend slowly in the optimum's bowl)" if count["still descending"] else ""
    print(
        "  What the runs show: no run is held by a local minimum. The stuck runs sit on\n"
        "  plateaus, where the sigmoid saturates and the gradient has all but vanished"
        f"{slow}.\n  On this data the lesson's 'local minima' are plateaus."
    )
else:
    print(f"  What the runs show: {count['local minimum']} run(s) held by true local minima.")

# %% [markdown]
# ## The smallest Hessian eigenvalue over the plane
#
# Convex means the Hessian is positive semi-definite everywhere: its smallest eigenvalue
# never below 0.

# %%
lowest = {kind: smallest_eigenvalue(plane, kind) for kind in ("bce", "mse")}
negative = {kind: float((lowest[kind] < 0).mean()) for kind in lowest}
print(f"\nThe Hessian's smallest eigenvalue on the {GRID} x {GRID} grid\n")
for kind in ("bce", "mse"):
    print(
        f"  {kind.upper()}: min {lowest[kind].min():.3e}; negative on a fraction "
        f"{negative[kind]:.4f} of the grid"
    )

# %% [markdown]
# ## The mechanism: the push each loss gives a confidently wrong prediction
#
# For one positive example (y = 1) with logit z, dL/dz is p - 1 for BCE and
# 2 (p - 1) p (1 - p) for MSE. Both curves come from numloss's backward: the BCE loss's
# own, and MSE's through the `Sigmoid` layer's.

# %%
logits = np.linspace(-10, 6, 400)[:, None]
ones = np.ones_like(logits)
bce_logits = nl.BCEWithLogitsLoss(reduction="sum")
bce_logits(logits, ones)
push_bce = bce_logits.backward()[:, 0]
sig, mse_on_p = Sigmoid(), nl.MSELoss(reduction="sum")
mse_on_p(sig(logits), ones)
push_mse = sig.backward(mse_on_p.backward())[:, 0]
print("\nThe gradient dL/dz for a positive example (y = 1), by numloss's backward\n")
print(f"  {'logit z':>8} {'p':>8} {'BCE: p - 1':>11} {'MSE: 2(p-1)p(1-p)':>18}")
for z in (-10.0, -6.0, -3.0, -1.0, 0.0, 3.0):
    i = np.argmin(np.abs(logits[:, 0] - z))
    bce_logits(np.array([[z]]), np.ones((1, 1)))
    gb = bce_logits.backward()[0, 0]
    mse_on_p(sig(np.array([[z]])), np.ones((1, 1)))
    gm = sig.backward(mse_on_p.backward())[0, 0]
    print(f"  {z:8.1f} {nl.sigmoid(z):8.5f} {gb:11.5f} {gm:18.6f}")
print("  a confident wrong prediction (z = -10): BCE pushes with ~1, MSE with ~1e-4")

# %% [markdown]
# ## Figures
#
# 1. The two surfaces with every SGD path, and the loss gap per epoch.
# 2. The smallest Hessian eigenvalue over the plane.
# 3. The mechanism: the push on the logit.

# %%
fig, axes = plt.subplots(1, 3, figsize=(17, 5.4), gridspec_kw={"width_ratios": [1, 1, 0.9]})
styles = {  # BCE grows without bound (log-spaced colours), MSE lies between 0 and 1
    "bce": ("BCE", np.geomspace(surface["bce"].min(), surface["bce"].max(), 31), LogNorm()),
    "mse": ("MSE", np.linspace(surface["mse"].min(), surface["mse"].max(), 31), None),
}
for ax, kind in zip(axes[:2], ("bce", "mse"), strict=True):
    name, levels, norm = styles[kind]
    mesh = ax.contourf(W, B, surface[kind], levels=levels, norm=norm, cmap="viridis")
    fig.colorbar(mesh, ax=ax, label=f"{name} loss (mean)", format="%.2g")
    for i, run in enumerate(runs[kind]):
        bad = gap[kind][i] > TOL
        ax.plot(*run["path"].T, color="#ff6b6b" if bad else "white", lw=1)
        ax.plot(*run["path"][0], "o", color="white", ms=3.5, mec="k", mew=0.5)
        ax.plot(*run["path"][-1], "X", color="#ff6b6b" if bad else "white", ms=6, mec="k", mew=0.5)
    opt = bce_opt if kind == "bce" else mse_opt
    ax.plot(*opt, "*", color="gold", ms=16, mec="k", label="optimum (Newton)")
    ax.plot([], [], "o-", color="white", mec="k", mew=0.5, ms=3.5, label="start, path")
    if kind == "mse":
        ax.plot([], [], "X", color="#ff6b6b", mec="k", mew=0.5, label=f"end > {TOL:g} above")
    ax.set(xlabel="weight w", ylabel="bias b", xlim=(-PLANE, PLANE), ylim=(-PLANE, PLANE))
    ax.legend(loc="lower right", fontsize=8)
axes[0].set_title(
    f"BCE (convex): all {(gap['bce'] <= TOL).sum()} of {len(starts)} SGD runs\n"
    f"end within {TOL:g} of the optimum"
)
axes[1].set_title(
    f"MSE: {len(far)} of {len(starts)} runs end > {TOL:g} above the best (red):\n"
    f"{count['plateau']} on plateaus where the sigmoid saturates, "
    f"{count['still descending']} slow near the optimum"
)
ax = axes[2]
for kind, color in (("mse", "#d1495b"), ("bce", "#3d5a80")):
    for run in runs[kind]:
        ax.semilogy(
            np.arange(1, EPOCHS + 1),
            np.maximum(run["loss"] - best[kind], 1e-300),  # never 0 on a log axis
            color=color,
            lw=0.8,
        )
ax.plot([], [], color="#3d5a80", label="BCE runs")
ax.plot([], [], color="#d1495b", label="MSE runs")
ax.axhline(TOL, color="k", ls="--", lw=1, label=f"{TOL:g}")
ax.set(
    xlabel="epoch",
    ylabel="loss - optimum (log scale)",
    title="Loss above the optimum, run by run:\nBCE all fall below 1e-4, many MSE runs stay flat",
    ylim=(min(gap["bce"].min(), gap["mse"].min(), TOL) / 10, 2),
)
ax.legend(loc="lower left")
fig.tight_layout()
save(fig, "sec2_1_3_convexity")

# %%
fig, axes = plt.subplots(1, 2, figsize=(13, 5.4))
top = max(lowest["bce"].max(), lowest["mse"].max())
# a symmetric log scale, so that the many tiny negative values on MSE's plateaus show red
bound = max(top, -lowest["mse"].min())
norm = SymLogNorm(linthresh=1e-8, vmin=-bound, vmax=bound)
for ax, kind in zip(axes, ("bce", "mse"), strict=True):
    mesh = ax.pcolormesh(W, B, lowest[kind], norm=norm, cmap="RdBu", shading="auto")
    if negative[kind] > 0:
        ax.contour(W, B, lowest[kind], levels=[0.0], colors="k", linewidths=1)
    opt = bce_opt if kind == "bce" else mse_opt
    ax.plot(*opt, "*", color="gold", ms=14, mec="k", label="optimum")
    ax.set(xlabel="weight w", ylabel="bias b")
    ax.legend(loc="lower right", fontsize=8)
bar = fig.colorbar(mesh, ax=axes, label="smallest eigenvalue of the Hessian (symmetric log scale)")
bar.set_ticks([-1e-1, -1e-3, -1e-5, -1e-7, 0, 1e-7, 1e-5, 1e-3, 1e-1])
axes[0].set_title(
    f"BCE: smallest eigenvalue never negative\n(negative on {negative['bce']:.0%} of the plane): "
    "convex"
)
axes[1].set_title(
    f"MSE: negative (red) on {negative['mse']:.0%} of the plane: not convex\n"
    "(positive only inside the black lines)"
)
save(fig, "sec2_1_3_convexity_hessian")

# %%
fig, ax = plt.subplots(figsize=(7, 4.4))
ax.axvspan(logits[0, 0], 0, color="0.93")
ax.plot(logits[:, 0], push_bce, color="#3d5a80", lw=2, label="BCE: p - 1")
ax.plot(logits[:, 0], push_mse, color="#d1495b", lw=2, label="MSE: 2 (p - 1) p (1 - p)")
ax.axhline(0, color="k", lw=0.6)
ax.text(-9.7, 0.06, "wrong side: p < 1/2", color="0.35")
ax.annotate(
    f"z = -8: BCE pushes {push_bce[np.argmin(np.abs(logits[:, 0] + 8))]:.3f}",
    (-8, -1.0),
    textcoords="offset points",
    xytext=(10, 22),
    color="#3d5a80",
    arrowprops={"arrowstyle": "->", "color": "#3d5a80"},
)
ax.annotate(
    f"z = -8: MSE pushes {push_mse[np.argmin(np.abs(logits[:, 0] + 8))]:.4f}",
    (-8, 0.0),
    xytext=(-9.6, -0.2),
    color="#d1495b",
    arrowprops={"arrowstyle": "->", "color": "#d1495b"},
)
strongest = np.argmin(push_mse)  # MSE's push peaks at p = 1/3 and fades as z goes further wrong
ax.annotate(
    f"MSE's strongest push: {push_mse[strongest]:.3f}\n"
    f"at p = {nl.sigmoid(logits[strongest, 0]):.2f}, then it fades",
    (logits[strongest, 0], push_mse[strongest]),
    xytext=(-7.5, -0.55),
    color="#d1495b",
    arrowprops={"arrowstyle": "->", "color": "#d1495b"},
)
ax.set(
    xlabel="logit z of a positive example (y = 1)",
    ylabel="dL/dz (the push on the logit)",
    title="A confidently wrong prediction: BCE pushes hard, MSE barely",
    ylim=(-1.1, 0.15),
)
ax.legend(loc="lower right")
save(fig, "sec2_1_3_convexity_mechanism")
print(f"\ntotal time {time.perf_counter() - started:.1f} s")
