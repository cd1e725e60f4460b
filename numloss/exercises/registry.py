"""The exercises: one per idea of the lesson with a backward to derive, easy to hard.

Each `Exercise` names the shipped class whose backward the student writes (its forward,
the reading path's ``Parts``, ``_parts`` and ``_losses``, is given), the lesson section
it comes from, the formula, what to derive, hints, the inputs it is checked on, and the
wrong gradients typical of it (`variants`), which `numloss.exercises.check` matches a
student's gradient against to say what went wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .. import train
from .._classes import over_classes
from ..binary import BCELoss, BCEWithLogitsLoss
from ..information import KLDivLoss
from ..margin import HingeLoss, MultiMarginLoss
from ..multiclass import CrossEntropyLoss, NLLLoss, one_hot
from ..primitives import log_softmax, softmax
from ..ranking import TripletMarginLoss
from .losses import SigmoidMSELoss

__all__ = ["EXERCISES", "Case", "Exercise", "find", "KINDS"]

# logits far apart (1000, 800): the textbook softmax overflows; the stable one does not
CE_EXTREME = (
    (np.array([[1e3, 0.0, -1e3], [0.0, 800.0, 0.0], [-1e3, 1e3, 0.0]]), np.array([0, 1, 2])),
    {},
)

# every mistake the checker names, in the order of the table in the README
KINDS = (
    "sign",
    "mean_forgotten",
    "mean_twice",
    "factor",
    "upstream",
    "chain",
    "one_hot",
    "option",
    "unstable",
    "shape_dtype",
    "mutation",
    "not_started",
    "raised",
    "wrong_entries",
    "accumulate",  # a layer's parameter gradient assigned, not added
)

# the mistakes every exercise can be changed to make; `_mistakes` adds an exercise's own
COMMON_MISTAKES = (
    "sign",
    "mean_forgotten",
    "mean_twice",
    "factor",
    "upstream",
    "shape_dtype",
    "mutation",
    "not_started",
    "raised",
)


def _mistakes(*more: str, without: tuple = ()) -> tuple:
    """COMMON_MISTAKES with `more` and without `without`, in the order of KINDS."""
    wanted = set(COMMON_MISTAKES) | set(more)
    return tuple(k for k in KINDS if k in wanted and k not in without)


@dataclass
class Case:
    """One check: the object's options, the inputs, the reduction and the upstream gradient."""

    label: str
    group: str  # "plain", "upstream", "lesson", "option", "extreme" or "dtype"
    options: dict
    reduction: str | None  # None for a layer
    inputs: tuple
    grad_output: object = None  # None, a number, or "array" (drawn to the output's shape)
    option_names: tuple = ()  # the options this case adds to the plain ones
    seed: int = 0


@dataclass(frozen=True)
class Exercise:
    """An exercise: write ``method`` of ``reference`` (a subclass is the student's file)."""

    name: str
    level: int  # 1 easy ... 5 hard
    title: str
    section: str  # the lesson's section number ("2.1.4", or "intro")
    section_title: str
    reference: type
    formula: str
    derive: str  # what to derive, the shape to return
    answer: str  # the derivation's result, shown when the check passes
    hints: tuple
    make: Callable  # (rng, shape) -> inputs
    shapes: tuple
    lesson: tuple  # (inputs, options, reduction, grad_output)
    variants: Callable  # (ref, case, dl, r) -> [(kind, detail, outputs)]
    steps: dict  # kind -> the step of the derivation to revisit
    stable: str = ""  # where the stable form is, for NaN/inf
    options: tuple = ()  # ((names, (rng, inputs) -> (options, inputs)), ...)
    base: dict = field(default_factory=dict)  # options every case has
    reductions: tuple = ("mean", "sum", "none")
    extreme: tuple | None = None  # (inputs, options)
    method: str = "_gradient"
    outputs: tuple = ("dl/dx",)
    applies: tuple = ()  # the mistakes (KINDS) a reference solution can be changed to make

    @property
    def is_layer(self) -> bool:
        return self.method == "_backward"

    def where(self) -> str:
        """The lesson section, by number and title."""
        if self.section == "intro":
            return f'introduction, "{self.section_title}"'
        return f'section {self.section}, "{self.section_title}"'

    def build(self, cls, case: Case):
        """The object for `case`, of class `cls` (the reference, or the student's)."""
        if not self.is_layer:
            return cls(reduction=case.reduction, **case.options)
        if cls is train.Sigmoid or issubclass(cls, train.Sigmoid):
            return cls()
        opts = dict(case.options)
        W, b = opts.pop("W", None), opts.pop("b", None)
        layer = cls(
            opts["in_features"],
            opts["out_features"],
            opts.get("bias", True),
            seed=case.seed,
            dtype=opts.get("dtype", np.float64),
        )
        if W is not None:
            layer.weight.data[...] = W
            if layer.bias is not None:
                layer.bias.data[...] = b
        return layer

    def cases(self, seed: int = 0) -> list[Case]:
        """The checks, plain ones first: the order the diagnosis reads them in."""
        rng = np.random.default_rng(seed)
        if self.is_layer:
            return self._layer_cases(rng, seed)
        mean, s0, s1, base = self.reductions[0], self.shapes[0], self.shapes[1], self.base
        out = [
            Case("sum, grad_output 1", "plain", base, "sum", self.make(rng, s0), None),
            Case(f"{mean}, grad_output 1", "plain", base, mean, self.make(rng, s1), None),
            Case(
                "none, grad_output an array", "upstream", base, "none", self.make(rng, s1), "array"
            ),
            Case("sum, grad_output 2.5", "upstream", base, "sum", self.make(rng, s0), 2.5),
            Case(f"{mean}, grad_output -0.7", "upstream", base, mean, self.make(rng, s1), -0.7),
        ]
        inputs, options, reduction, g = self.lesson
        out.append(
            Case("the lesson's numbers", "lesson", {**base, **options}, reduction, inputs, g)
        )
        for names, draw in self.options:
            for reduction, g in ((mean, None), ("none", "array")):
                opts, inputs = draw(rng, self.make(rng, s1))
                label = f"{', '.join(names)}, {reduction}"
                out.append(Case(label, "option", {**base, **opts}, reduction, inputs, g, names))
        if self.extreme is not None:
            inputs, opts = self.extreme
            out.append(Case("extreme inputs", "extreme", {**base, **opts}, mean, inputs, None))
        inputs = tuple(
            v.astype(np.float32) if isinstance(v, np.ndarray) and v.dtype == np.float64 else v
            for v in self.make(rng, s0)
        )
        out.append(Case("float32 inputs", "dtype", base, mean, inputs, None))
        for c in out:
            c.seed = seed
        return out

    def _layer_cases(self, rng, seed) -> list[Case]:
        s0, s1 = self.shapes
        base = self.base
        x0, x1 = self.make(rng, s0), self.make(rng, s1)
        out = [
            Case("grad_output all ones", "plain", base, None, x0, "ones"),
            Case("grad_output an array", "upstream", base, None, x1, "array"),
            Case("grad_output an array, another batch", "upstream", base, None, x0, "array"),
        ]
        inputs, options, _, g = self.lesson
        out.append(Case("the lesson's numbers", "lesson", {**base, **options}, None, inputs, g))
        for names, draw in self.options:
            opts, inputs = draw(rng, self.make(rng, s1))
            out.append(
                Case(", ".join(names), "option", {**base, **opts}, None, inputs, "array", names)
            )
        if self.extreme is not None:
            inputs, opts = self.extreme
            out.append(Case("extreme inputs", "extreme", {**base, **opts}, None, inputs, "array"))
        x = self.make(rng, s0)[0].astype(np.float32)
        out.append(Case("float32 inputs", "dtype", base, None, (x,), "array"))
        for c in out:
            c.seed = seed
        return out


# -- inputs -------------------------------------------------------------------------------------
def _logits_labels(rng, shape):
    return rng.normal(0, 2, shape), rng.integers(0, 2, shape).astype(np.float64)


def _probs_labels(rng, shape):
    return rng.uniform(0.05, 0.95, shape), rng.integers(0, 2, shape).astype(np.float64)


def _scores_signs(rng, shape):
    return rng.normal(0, 1.5, shape), rng.choice([-1.0, 1.0], shape)


def _logits_index(rng, shape):
    return rng.normal(0, 2, shape), rng.integers(0, shape[1], shape[0])


def _logits_probs(rng, shape):
    z, y = _logits_index(rng, shape)
    return z, softmax(rng.normal(0, 1.5, shape), axis=1)


def _log_probs_index(rng, shape):
    z, y = _logits_index(rng, shape)
    return log_softmax(z, axis=1), y


def _kl_inputs(rng, shape):
    t = softmax(rng.normal(0, 1.5, shape), axis=1)
    t[0, 0] = 0.0  # a zero of the target: 0 log 0 = 0
    t[0] /= t[0].sum()
    return log_softmax(rng.normal(0, 1.5, shape), axis=1), t


def _triplets(rng, shape):
    a = rng.normal(0, 1, shape)
    return a, a + rng.normal(0, 0.8, shape), a + rng.normal(0, 0.8, shape)


def _x(rng, shape):
    return (rng.normal(0, 2, shape),)


def _weight(low=0.5, high=2.0, per="class"):
    def draw(rng, inputs):
        n = inputs[0].shape[1] if per == "class" else inputs[0].shape[-1]
        return {"weight": rng.uniform(low, high, n)}, inputs

    return draw


def _ignore_index(rng, inputs):
    z, y = inputs
    y = y.copy()
    y[: max(1, len(y) // 3)] = 1  # a third of the samples ignored
    return {"ignore_index": 1}, (z, y)


def _one_hot_target(rng, inputs):
    z, _ = inputs
    return {}, (z, one_hot(rng.integers(0, z.shape[1], z.shape[0]), z.shape[1]))


def _swap(rng, inputs):
    a, pos, _ = inputs  # a negative near the positive: the swap takes d(pos, neg)
    return {"swap": True}, (a, pos, pos + rng.normal(0, 0.3, pos.shape))


def _opt(**fixed):
    return lambda rng, inputs: (dict(fixed), inputs)


# -- the wrong gradients typical of each exercise ---------------------------------------------
def _no_variants(ref, case, dl, r):
    return []


def _bce_logits_variants(ref, case, dl, r):
    P = ref._record
    w = 1.0 if P.w is None else P.w
    return [
        (
            "chain",
            "your gradient is dl/dp, the true one divided by p (1 - p): the sigmoid's "
            "slope dp/dx = p (1 - p) is missing",
            (r[0] / (P.sigmoid_x * P.sigmoid_neg_x),),
        ),
        (
            "one_hot",
            "you returned p where p - y was due: the label's term -y is missing",
            (w * P.sigmoid_x * dl,),
        ),
    ]


def _bce_variants(ref, case, dl, r):
    P = ref._record
    w = 1.0 if P.w is None else P.w
    return [
        (
            "chain",
            "you returned p - y, the gradient with respect to the logit; here the input "
            "is p itself (no sigmoid to go through): dl/dp = (p - y) / (p (1 - p))",
            (w * (P.p - P.y) * dl,),
        ),
    ]


def _hinge_variants(ref, case, dl, r):
    P = ref._record
    out = [
        (
            "chain",
            "the factor du/df = y is missing (u = y f)",
            (np.where(P.inside, -1.0, 0.0) * dl,),
        )
    ]
    if ref.margin != 1:
        out.append(
            (
                "option",
                "margin: you compared u with 1, not with self.margin",
                (np.where(P.u < 1, -P.y, 0.0) * dl,),
            )
        )
    return out


def _sigmoid_variants(ref, case, g, r):
    s = ref._last[0].s
    return [
        ("chain", "you returned g: the sigmoid's slope ds/dx = s (1 - s) is missing", (g,)),
        ("chain", "you returned g s: ds/dx is s (1 - s), not s", (g * s,)),
    ]


def _mse_sigmoid_variants(ref, case, dl, r):
    P = ref._record
    return [
        (
            "chain",
            "you stopped at dl/ds = 2 (s - y): the sigmoid's slope ds/dz = s (1 - s) is missing",
            (2 * P.diff * dl,),
        )
    ]


def _kl_variants(ref, case, dl, r):
    P = ref._record
    q = np.exp(P.log_p - P.log_ratio)  # x = log q
    with np.errstate(divide="ignore", invalid="ignore"):
        return [
            (
                "chain",
                "you returned dl/dq = -p / q; the input is x = log q, and dq/dx = q",
                (-P.p / q * dl,),
            )
        ]


def _nll_variants(ref, case, dl, r):
    P = ref._record
    every = np.broadcast_to(-P.w_y * over_classes(dl), P.log_p.shape)
    hot = np.zeros_like(P.log_p)
    np.put_along_axis(hot, P.y, 1.0, axis=1)
    soft = (np.exp(P.log_p) - hot) * P.w_y * over_classes(dl)
    return [
        (
            "one_hot",
            "you put -w_y at every class: l_n depends only on the target's entry "
            "log p_y, so only that entry has a gradient (times [k = y])",
            (every,),
        ),
        (
            "chain",
            "you returned p - one-hot, the gradient for logits; the input is already "
            "log p (NLLLoss takes log-probabilities), so there is no softmax to go through",
            (soft,),
        ),
    ]


def _ce_variants(ref, case, dl, r):
    P = ref._record
    d = over_classes(dl)
    with np.errstate(divide="ignore", invalid="ignore"):
        via_p = np.where(P.B > 0, -P.B / P.p, 0.0) * d
    out = [
        (
            "one_hot",
            "you returned a p where a p - B (p - one-hot for a plain target) was due: "
            "the one-hot term -[k = y] is missing",
            (P.a * P.p * d,),
        ),
        (
            "chain",
            "you returned dl/dp = -B / p, the true gradient before the softmax: the "
            "softmax's Jacobian dp_c/dz_k = p_c ([c = k] - p_k) is missing",
            (via_p,),
        ),
    ]
    alpha = ref.label_smoothing
    if alpha > 0:
        C = P.p.shape[1]
        w = 1.0 if ref.weight is None else ref.weight[None, :]
        kept = P.t.sum(axis=1, keepdims=True)  # 0 on ignored samples
        for B, why in (
            (
                P.t * w,
                "the smoothing's alpha / C share of B is missing: B_c = ((1 - alpha) t_c "
                "+ alpha / C) w_c",
            ),
            (
                ((1 - alpha) * P.t + alpha / (C - 1) * (kept - P.t)) * w,
                "you smoothed towards alpha / (C - 1) on the other classes; PyTorch and the lesson "
                "use alpha / C on every class",
            ),
        ):
            a = B.sum(axis=1, keepdims=True)
            out.append(("option", f"label_smoothing: {why}", ((a * P.p - B) * d,)))
    return out


def _multi_margin_variants(ref, case, dl, r):
    P = ref._record
    no_y = r[0].copy()
    np.put_along_axis(no_y, P.y, 0.0, axis=1)
    flipped = r[0].copy()
    np.put_along_axis(flipped, P.y, -np.take_along_axis(r[0], P.y, axis=1), axis=1)
    return [
        (
            "one_hot",
            "the true class's entry is missing: x_y is in every h_i = margin - x_y + x_i, "
            "so dl/dx_y = -(the sum of the other entries)",
            (no_y,),
        ),
        (
            "one_hot",
            "the true class's entry has the wrong sign: dl/dx_y = -(the sum of the "
            "other entries), since h_i = margin - x_y + x_i has -x_y",
            (flipped,),
        ),
    ]


def _triplet_variants(ref, case, dl, r):
    if ref.p != 2:
        return []
    P = ref._record

    def g(v):  # the mistake: the norm's gradient taken as v, not v / ||v||
        return v

    g_ap = g(P.v_ap)
    g_an = np.where(P.swapped[:, None], 0, g(P.v_an))
    d_a, d_pos, d_neg = g_ap - g_an, -g_ap, g_an
    if ref.swap:
        g_pn = np.where(P.swapped[:, None], g(P.v_pn), 0)
        d_pos, d_neg = d_pos - g_pn, d_neg + g_pn
    scale = (P.active * dl)[:, None]
    why = "d||v||/dv is v / ||v|| (the unit vector), not v: the 1/||v|| is missing"
    return [("chain", why, (d_a * scale, d_pos * scale, d_neg * scale))]


def _linear_variants(ref, case, g, r):
    return []


_STEP_CHAIN = "the chain rule: every factor from the loss down to the input, one per step"

EXERCISES = (
    Exercise(
        name="bce-logits",
        level=1,
        title="BCE on logits",
        section="2.1.4",
        section_title="PyTorch: prefer the logits",
        reference=BCEWithLogitsLoss,
        formula="l = -w [pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]\n"
        "  = w [a softplus(-x) + b softplus(x)],   a = pw y, b = 1 - y",
        derive="dl/dx for each element, times dl; an array of x's shape (parts.x.shape)",
        answer="dl/dx = w [-a sigmoid(-x) + b sigmoid(x)], which is p - y for w = pw = 1",
        hints=(
            "softplus(t) = log(1 + e^t) has the derivative sigmoid(t). So d/dx softplus(x) = "
            "sigmoid(x) and d/dx softplus(-x) = -sigmoid(-x).",
            "Put the two terms together: dl/dx = w [-a sigmoid(-x) + b sigmoid(x)]; parts has "
            "a, b, w (None means 1), sigmoid_x and sigmoid_neg_x. With a = y, b = 1 - y it is "
            "sigmoid(x) - y.",
            "End with the chain rule: multiply by dl (dL/dl_n: grad_output, and the mean's 1/N). "
            "Use parts.sigmoid_neg_x, never 1 - parts.sigmoid_x (it rounds to 0 for x > 37).",
        ),
        make=_logits_labels,
        shapes=((5,), (3, 4)),
        lesson=((np.log([9.0, 0.55 / 0.45, 1 / 9]), np.ones(3)), {}, "none", None),
        variants=_bce_logits_variants,
        steps={
            "chain": "the step dl/dx = dl/dp dp/dx (section 2.1.4: on logits, p - y)",
            "one_hot": "the label's term: d/dx [y softplus(-x)] = -y sigmoid(-x)",
            "option": "the coefficients a = pw y and b = 1 - y, and the weight w, in each term",
        },
        stable="the stable form: sigmoid(x) and sigmoid(-x) from numloss.sigmoid_pair (parts "
        "has both), never exp(x) / (1 + exp(x)), which is inf / inf at x = 1e4 (lesson section "
        '2.1.4, "PyTorch: prefer the logits")',
        options=(
            (("weight",), _weight(per="last")),
            (
                ("pos_weight",),
                lambda rng, i: ({"pos_weight": rng.uniform(0.5, 3.0, i[0].shape[-1])}, i),
            ),
        ),
        extreme=(
            (
                np.array([-1e4, -40.0, 40.0, 1e4, 0.0, 30.0]),
                np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0]),
            ),
            {},
        ),
        outputs=("dl/dx",),
        applies=_mistakes("chain", "one_hot", "option", "unstable", without=("raised",)),
    ),
    Exercise(
        name="sigmoid",
        level=1,
        title="the Sigmoid layer",
        section="2.1.3",
        section_title="convexity: why not MSE",
        reference=train.Sigmoid,
        formula="s = sigmoid(x) = 1 / (1 + e^-x), element-wise",
        derive="dL/dx from g = dL/ds (x's shape); return an array of x's shape",
        answer="dL/dx = g s (1 - s)",
        hints=(
            "ds/dx = e^-x / (1 + e^-x)^2. Write it as the product [1 / (1 + e^-x)] "
            "[e^-x / (1 + e^-x)].",
            "Both factors are sigmoids: ds/dx = s (1 - s), and r.s holds s.",
            "Chain rule: dL/dx = g ds/dx, element by element.",
        ),
        make=_x,
        shapes=((4, 3), (2, 5)),
        lesson=((np.array([0.0, 2.0, -40.0]),), {}, None, "ones"),
        variants=_sigmoid_variants,
        steps={"chain": "the sigmoid's derivative ds/dx = s (1 - s), then times g"},
        stable="the stable form: use r.s, the output forward kept; exp(-x) / (1 + exp(-x))^2 "
        'is inf / inf at x = -1000 (lesson section 2.1.3, "convexity: why not MSE")',
        extreme=((np.array([[-1e3, -40.0, 0.0, 40.0, 1e3]]),), {}),
        method="_backward",
        outputs=("dL/dx",),
        applies=_mistakes("chain", without=("mean_forgotten",)),
    ),
    Exercise(
        name="hinge",
        level=1,
        title="the hinge loss and its margin",
        section="2.2.1",
        section_title="the hinge formula and its margin",
        reference=HingeLoss,
        formula="l = max(0, margin - y f),   u = y f the margin of a prediction",
        derive="dl/df for each element, times dl; an array of f's shape (parts.y.shape)",
        answer="dl/df = -y [u < margin] (0 at u = margin: the minimum-norm subgradient)",
        hints=(
            "max(0, h) has slope 1 where h > 0 and 0 where h < 0; here h = margin - u.",
            "dl/du = -1 inside the margin (u < margin), 0 outside; parts.inside is [u < margin].",
            "du/df = y (u = y f). So dl/df = -y [u < margin], times dl.",
        ),
        make=_scores_signs,
        shapes=((6,), (3, 4)),
        lesson=((np.array([2.0, 0.5, -1.0]), np.ones(3)), {}, "none", None),
        variants=_hinge_variants,
        steps={
            "chain": "the step du/df = y (section 2.2.1: the margin u = y f)",
            "option": "the zone test u < margin, with self.margin (not 1)",
        },
        options=((("margin",), _opt(margin=0.5)), (("margin",), _opt(margin=2.0))),
        outputs=("dl/df",),
        applies=_mistakes("chain", "option"),
    ),
    Exercise(
        name="bce",
        level=2,
        title="BCE on probabilities, with its clamp",
        section="2.1.1",
        section_title="the BCE formula, an if-else",
        reference=BCELoss,
        formula="l = -w [y log p + (1 - y) log(1 - p)], each log clamped at -100",
        derive="dl/dp for each element, times dl; an array of p's shape (parts.p.shape)",
        answer="dl/dp = -w [y / p - (1 - y) / (1 - p)], 0 for a clamped term",
        hints=(
            "d/dp log p = 1 / p and d/dp log(1 - p) = -1 / (1 - p).",
            "dl/dp = -w [y / p - (1 - y) / (1 - p)]: parts has p, y, w (None means 1).",
            "Where a log is clamped (parts.log_p <= -100, or parts.log_q) that term is a "
            "constant: its gradient is 0. np.divide(a, b, out=np.zeros_like(b), where=...) "
            "divides only where you say. Then multiply by dl.",
        ),
        make=_probs_labels,
        shapes=((5,), (3, 4)),
        lesson=((np.array([0.9, 0.55, 0.1]), np.ones(3)), {}, "mean", None),
        variants=_bce_variants,
        steps={
            "chain": "dl/dp itself: the input is the probability, so no dp/dx",
            "option": "the weight w multiplies each element's gradient",
        },
        stable="the clamp: where log p or log(1 - p) is clamped at -100 (p = 0 or 1) the term "
        'is constant and its gradient 0, never y / 0 (lesson section 2.1.1, "the BCE formula, '
        'an if-else"; section 2.1.4 says why logits are better)',
        options=((("weight",), _weight(per="last")),),
        extreme=(
            (np.array([0.0, 1.0, 1e-30, 0.5, 0.0, 1.0]), np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0])),
            {},
        ),
        outputs=("dl/dp",),
        applies=_mistakes("chain", "option", "unstable"),
    ),
    Exercise(
        name="mse-sigmoid",
        level=2,
        title="MSE after a sigmoid: the gradient that fades",
        section="2.1.3",
        section_title="convexity: why not MSE",
        reference=SigmoidMSELoss,
        formula="l = (s - y)^2,   s = sigmoid(z)",
        derive="dl/dz for each element, times dl; an array of z's shape (parts.s.shape)",
        answer="dl/dz = 2 (s - y) s (1 - s): it fades where the sigmoid saturates",
        hints=(
            "Two steps of the chain rule: l depends on s, s on z. dl/ds = 2 (s - y).",
            "ds/dz = s (1 - s); parts has s, one_minus_s (= 1 - s, computed stably) and diff "
            "(= s - y).",
            "dl/dz = 2 (s - y) s (1 - s), times dl.",
        ),
        make=_logits_labels,
        shapes=((5,), (3, 4)),
        lesson=((np.log([9.0, 0.55 / 0.45, 1 / 9]), np.ones(3)), {}, "none", None),
        variants=_mse_sigmoid_variants,
        steps={
            "chain": "the step ds/dz = s (1 - s) (section 2.1.3: the factor that fades)",
            "factor": "d/ds (s - y)^2 = 2 (s - y): the 2 of the square",
        },
        stable="the stable form: parts.s and parts.one_minus_s; exp(-z) / (1 + exp(-z))^2 is "
        'inf / inf at z = -1000 (lesson section 2.1.3, "convexity: why not MSE")',
        extreme=(
            (np.array([-1e3, -40.0, 0.0, 40.0, 1e3]), np.array([1.0, 0.0, 1.0, 1.0, 0.0])),
            {},
        ),
        outputs=("dl/dz",),
        applies=_mistakes("chain"),
    ),
    Exercise(
        name="kl-div",
        level=2,
        title="KL divergence on log-probabilities",
        section="1.3",
        section_title="entropy and KL divergence",
        reference=KLDivLoss,
        formula="l = p (log p - x),   x = log q (the input), p the target (0 log 0 = 0)",
        derive="dl/dx for each element, times dl; an array of x's shape (parts.p.shape)",
        answer="dl/dx = -p (the target's probability; p log p does not depend on x)",
        hints=(
            "Expand: l = p log p - p x. Which of the two terms depends on x?",
            "p log p is a constant for x, so dl/dx = -p; parts.p is p (e^t with log_target).",
            "Times dl. Note x is log q: you differentiate by log q, not by q.",
        ),
        make=_kl_inputs,
        shapes=((3, 4), (2, 5)),
        lesson=((np.log([[0.7, 0.2, 0.1]]), np.array([[1.0, 0.0, 0.0]])), {}, "batchmean", None),
        variants=_kl_variants,
        steps={
            "chain": "the input is x = log q: d/dx (-p x) = -p, with no 1 / q",
            "option": "p is the target's probability: e^t with log_target (parts.p has it)",
        },
        options=(
            (
                ("log_target",),
                lambda rng, i: ({"log_target": True}, (i[0], np.log(np.maximum(i[1], 1e-300)))),
            ),
        ),
        reductions=("batchmean", "sum", "none"),
        outputs=("dl/dx",),
        applies=_mistakes("chain"),
    ),
    Exercise(
        name="nll",
        level=2,
        title="NLL on log-probabilities, with weights and ignore_index",
        section="3.1.3",
        section_title="PyTorch: no softmax before the loss",
        reference=NLLLoss,
        formula="l_n = -w_y log p_{n,y},  the input being log p; 0 where y = ignore_index",
        derive="dl_n/d(log p)_{n,k} for every class k, times dl; an array of the input's shape "
        "(N, C) (parts.log_p.shape)",
        answer="dl_n/d(log p)_k = -w_y [k = y] (0 on ignored samples)",
        hints=(
            "l_n involves one entry of its row: log p_{n, y_n}. Every other entry has gradient 0.",
            "That entry's gradient is -w_y: start from np.zeros_like(parts.log_p) and put "
            "-parts.w_y there with np.put_along_axis(grad, parts.y, ..., axis=1).",
            "dl has one value per sample (or is a scalar): numloss._classes.over_classes(dl) "
            "(dl[:, None]) lines it up with the classes. parts.w_y is 0 where ignored.",
        ),
        make=_log_probs_index,
        shapes=((4, 3), (5, 4)),
        lesson=(
            (log_softmax(np.array([[2.0, 1.0, 0.1]]), axis=1), np.array([0])),
            {},
            "mean",
            None,
        ),
        variants=_nll_variants,
        steps={
            "one_hot": "l_n's dependence: only the target entry log p_y, so [k = y]",
            "chain": "the input is already log p: no softmax to differentiate",
            "option": "the weight w_y (parts.w_y, 0 where ignored) multiplies the target entry",
        },
        options=((("weight",), _weight()), (("ignore_index",), _ignore_index)),
        outputs=("dl/d(log p)",),
        applies=_mistakes("chain", "one_hot", "option"),
    ),
    Exercise(
        name="ce-index",
        level=3,
        title="softmax cross-entropy with an index target",
        section="3.2",
        section_title="sparse labels (SCCE)",
        reference=CrossEntropyLoss,
        formula="l_n = sum_c B_c (-log p_c),  p = softmax(z),  B_c = w_c t_c (t the one-hot "
        "of y; B = 0 on ignored samples)",
        derive="dl_n/dz_{n,k} for every class k, times dl; an array of z's shape (N, C) "
        "(parts.p.shape)",
        answer="dl_n/dz_k = a p_k - B_k, a = sum_c B_c: p_k - [k = y] for a plain target",
        hints=(
            "-log p_c = logsumexp(z) - z_c. Its derivative by z_k: p_k - [c = k].",
            "Sum over c with the coefficients B_c: dl/dz_k = sum_c B_c (p_k - [c = k]) = "
            "a p_k - B_k, with a = sum_c B_c. parts has p, B and a.",
            "dl is one value per sample: multiply by numloss._classes.over_classes(dl) "
            "(dl[:, None]). For a plain target a = 1 and B is the one-hot: p - one-hot.",
        ),
        make=_logits_index,
        shapes=((4, 3), (5, 4)),
        lesson=((np.array([[2.0, 1.0, 0.1]]), np.array([0])), {}, "mean", None),
        variants=_ce_variants,
        steps={
            "one_hot": "d(-log p_c)/dz_k = p_k - [c = k]: the one-hot term (section 3.1.1)",
            "chain": "differentiate -log p_c by z through the softmax: p_k - [c = k]",
            "option": "B_c carries the weight w_c and is 0 on ignored samples; a = sum_c B_c",
        },
        stable="the stable form: parts.p, the softmax forward computed from z - max z; "
        'np.exp(z) / np.exp(z).sum() is inf / inf at z = 1000 (lesson section 3.1.1, "from '
        'softmax to cross-entropy")',
        options=((("weight",), _weight()), (("ignore_index",), _ignore_index)),
        extreme=CE_EXTREME,
        outputs=("dl/dz",),
        applies=_mistakes("chain", "one_hot", "option", "unstable", without=("raised",)),
    ),
    Exercise(
        name="ce-soft",
        level=3,
        title="softmax cross-entropy with a one-hot or soft target",
        section="3.1.2",
        section_title="CE only looks at the true class",
        reference=CrossEntropyLoss,
        formula="l_n = sum_c B_c (-log p_c),  p = softmax(z),  B_c = w_c t_c, t the target "
        "distribution (one-hot or soft)",
        derive="dl_n/dz_{n,k} for every class k, times dl; an array of z's shape (N, C) "
        "(parts.p.shape)",
        answer="dl_n/dz_k = a p_k - B_k, a = sum_c B_c: p - t for an unweighted target",
        hints=(
            "-log p_c = logsumexp(z) - z_c, whose derivative by z_k is p_k - [c = k].",
            "dl/dz_k = sum_c B_c (p_k - [c = k]) = a p_k - B_k (a = sum_c B_c; parts.a, "
            "parts.B). A one-hot t picks one c: p - one-hot; a soft t: p - t, since sum t = 1.",
            "Multiply by dl lined up with the classes: numloss._classes.over_classes(dl).",
        ),
        make=_logits_probs,
        shapes=((4, 3), (5, 4)),
        lesson=((np.array([[2.0, 1.0, 0.1]]), np.array([[1.0, 0.0, 0.0]])), {}, "mean", None),
        variants=_ce_variants,
        steps={
            "one_hot": "d(-log p_c)/dz_k = p_k - [c = k]: the target term -t_k",
            "chain": "differentiate -log p_c by z through the softmax: p_k - [c = k]",
            "option": "with a weight, a = sum_c w_c t_c is not 1: a p - B",
        },
        stable="the stable form: parts.p, the softmax forward computed from z - max z "
        '(lesson section 3.1.1, "from softmax to cross-entropy")',
        options=((("weight",), _weight()), (("one-hot target",), _one_hot_target)),
        extreme=(
            (np.array([[1e3, 0.0, -1e3], [0.0, 800.0, 0.0], [-1e3, 1e3, 0.0]]), np.eye(3)),
            {},
        ),
        outputs=("dl/dz",),
        applies=_mistakes("chain", "one_hot", "option", "unstable", without=("raised",)),
    ),
    Exercise(
        name="linear",
        level=3,
        title="the Linear layer: the gradients of x, W and b",
        section="intro",
        section_title="compute the gradient, adjust the parameters",
        reference=train.Linear,
        formula="y = x W^T + b,  x (N, in), W (out, in), b (out,)",
        derive="dL/dx, dL/dW and dL/db from g = dL/dy; return dL/dx (shape (N, in)), after "
        "adding dL/dW (shape (out, in)) into self.weight.grad and dL/db (shape (out,)) into "
        "self.bias.grad (when there is a bias)",
        answer="dL/dx = g W,  dL/dW = g^T x,  dL/db = sum_n g_n",
        hints=(
            "Write one entry: y_nj = sum_i x_ni W_ji + b_j. So dy_nj/dx_ni = W_ji, "
            "dy_nj/dW_ji = x_ni, dy_nj/db_j = 1.",
            "Sum over what the entry touches: dL/dx_ni = sum_j g_nj W_ji (g W); dL/dW_ji = "
            "sum_n g_nj x_ni (g^T x); dL/db_j = sum_n g_nj. Check each shape.",
            "Add into .grad (self.weight.grad += ...), don't assign; and skip the bias when "
            "self.bias is None (bias=False).",
        ),
        make=_x,
        shapes=((4, 3), (6, 3)),
        lesson=(
            (np.array([[3.0, 1.0], [0.0, 1.0]]),),
            {"in_features": 2, "out_features": 1, "W": [[1.0, -2.0]], "b": [0.5]},
            None,
            np.array([[1.0], [2.0]]),
        ),
        variants=_linear_variants,
        steps={
            "shape_dtype": "the shapes: dL/dx is (N, in) = g (N, out) W (out, in); dL/dW is "
            "(out, in) = g^T x; dL/db sums g over the batch",
            "option": "bias=False: self.bias is None, so there is no bias gradient",
        },
        base={"in_features": 3, "out_features": 2},
        options=((("bias",), _opt(bias=False)),),
        method="_backward",
        outputs=("dL/dx", "weight.grad", "bias.grad"),
        applies=_mistakes("option", "accumulate", without=("mean_forgotten",)),
    ),
    Exercise(
        name="ce-smoothing",
        level=4,
        title="softmax cross-entropy with label smoothing",
        section="3.3",
        section_title="label smoothing",
        reference=CrossEntropyLoss,
        formula="l_n = sum_c B_c (-log p_c),  B_c = ((1 - alpha) t_c + alpha / C) w_c,  "
        "t the one-hot of y",
        derive="dl_n/dz_{n,k} for every class k, times dl; an array of z's shape (N, C) "
        "(parts.p.shape)",
        answer="dl_n/dz_k = a p_k - B_k: p_k - (1 - alpha) [k = y] - alpha / C unweighted",
        hints=(
            "The smoothed target is (1 - alpha) t + alpha / C: the lesson's example, C = 4, "
            "alpha = 0.1, gives [0.925, 0.025, 0.025, 0.025]. B_c is it, times w_c.",
            "d(-log p_c)/dz_k = p_k - [c = k], so dl/dz_k = sum_c B_c (p_k - [c = k]) = "
            "a p_k - B_k with a = sum_c B_c (parts.a, parts.B).",
            "Times over_classes(dl) (numloss._classes). Without weights a = 1: p minus the "
            "smoothed target.",
        ),
        make=_logits_index,
        shapes=((4, 4), (5, 3)),
        lesson=((np.array([[2.0, 1.0, 0.1, -1.0]]), np.array([0])), {}, "mean", None),
        variants=_ce_variants,
        steps={
            "one_hot": "d(-log p_c)/dz_k = p_k - [c = k]: the target term",
            "chain": "differentiate -log p_c by z through the softmax: p_k - [c = k]",
            "option": "B_c = ((1 - alpha) t_c + alpha / C) w_c: the smoothed, weighted target "
            "(section 3.3.2)",
        },
        stable="the stable form: parts.p, the softmax forward computed from z - max z "
        '(lesson section 3.1.1, "from softmax to cross-entropy")',
        base={"label_smoothing": 0.1},
        options=(
            (("weight",), _weight()),
            (("ignore_index",), _ignore_index),
            (("label_smoothing",), _opt(label_smoothing=0.3)),
        ),
        extreme=CE_EXTREME,
        outputs=("dl/dz",),
        applies=_mistakes("chain", "one_hot", "option", "unstable", without=("raised",)),
    ),
    Exercise(
        name="multi-margin",
        level=4,
        title="the multi-class hinge (MultiMarginLoss)",
        section="2.2.3",
        section_title="the hinge in PyTorch; several classes",
        reference=MultiMarginLoss,
        formula="l_n = sum_{i != y} w_y max(0, h_i)^p / C,   h_i = margin - x_y + x_i",
        derive="dl_n/dx_{n,i} for every class i (the target's too), times dl; an array of x's "
        "shape (N, C) (parts.h.shape)",
        answer="dl/dx_i = w_y p (h_i+)^(p-1) [h_i > 0] / C for i != y;  dl/dx_y = -(their sum)",
        hints=(
            "For i != y, x_i appears in one term, max(0, h_i)^p / C: its slope is "
            "p h_i^(p-1) / C where h_i > 0 (parts.h_plus), times w_y.",
            "x_y appears in every h_i with a minus sign: dl/dx_y = -(the sum of the other "
            "entries). parts.h is 0 at i = y, so the first step leaves 0 there.",
            "Then multiply by over_classes(dl) (numloss._classes); self.p and self.margin are "
            "the options (parts already used the margin).",
        ),
        make=lambda rng, shape: (rng.normal(0, 0.6, shape), rng.integers(0, shape[1], shape[0])),
        shapes=((4, 3), (5, 4)),
        lesson=((np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([3])), {}, "mean", None),
        variants=_multi_margin_variants,
        steps={
            "one_hot": "x_y is in every h_i: dl/dx_y = -sum_{i != y} dl/dx_i",
            "factor": "the 1/C of the formula, and p h^(p-1) for p = 2",
            "option": "p = 2 (slope 2 h+), margin (in h, given) and the weight w_y",
        },
        options=((("p",), _opt(p=2)), (("margin",), _opt(margin=0.3)), (("weight",), _weight())),
        outputs=("dl/dx",),
        applies=_mistakes("one_hot", "option"),
    ),
    Exercise(
        name="triplet",
        level=5,
        title="the triplet loss: three gradients through a norm",
        section="intro",
        section_title="ranking: closer to this than to that",
        reference=TripletMarginLoss,
        formula="l = max(0, margin + d(a, pos) - d(a, neg)),  d(u, v) = ||u - v + eps||_p",
        derive="dl/da, dl/dpos and dl/dneg, each times dl; a tuple of three arrays, each of "
        "the anchors' shape (N, D) (parts.v_ap.shape)",
        answer="dl/da = A (g(v_ap) - g(v_an)), dl/dpos = -A g(v_ap), dl/dneg = A g(v_an), "
        "g(v) = d||v||_p/dv, A = [l > 0]",
        hints=(
            "d||v||_2/dv = v / ||v||_2 (and sign(v) for p = 1); numloss.ranking.p_norm_gradient"
            "(v, d, p) computes it for any p, 0 where d = 0.",
            "v_ap = a - pos + eps: d/da = +g(v_ap), d/dpos = -g(v_ap); likewise v_an for neg, "
            "with the minus of -d(a, neg). Everything is 0 where the hinge is flat (parts.active "
            "false).",
            "With swap, rows in parts.swapped use v_pn = pos - neg + eps instead of v_an. "
            "Multiply each gradient by (parts.active * dl)[:, None].",
        ),
        make=_triplets,
        shapes=((4, 3), (3, 5)),
        lesson=(
            (np.array([[0.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([[2.0, 0.0]])),
            {"margin": 2.0, "eps": 0.0},
            "mean",
            None,
        ),
        variants=_triplet_variants,
        steps={
            "chain": "the norm's gradient d||v||/dv = v / ||v|| (p = 2), sign(v) (p = 1)",
            "sign": "the signs: v_ap = a - pos, so d/dpos has a minus; -d(a, neg) gives neg a plus",
            "option": "p (the norm's gradient), swap (rows that use d(pos, neg)) and the margin",
        },
        stable="the norm's subgradient 0 where the distance is 0: v / ||v|| is 0 / 0 at a = pos "
        'with eps = 0 (numloss.ranking.p_norm_gradient; the lesson\'s introduction, "ranking")',
        options=((("p",), _opt(p=1.0)), (("swap",), _swap), (("margin",), _opt(margin=3.0))),
        extreme=(
            (
                np.array([[0.0, 1.0], [1.0, 1.0]]),
                np.array([[0.0, 1.0], [1.0, 1.0]]),
                np.array([[0.5, 1.0], [1.5, 1.0]]),
            ),
            {"eps": 0.0},
        ),
        outputs=("dl/da", "dl/dpos", "dl/dneg"),
        applies=_mistakes("chain", "option", "unstable"),
    ),
)


def find(name: str) -> Exercise:
    """The exercise called `name` (a KeyError listing the names otherwise)."""
    for ex in EXERCISES:
        if ex.name == name:
            return ex
    raise KeyError(f"no exercise {name!r}; the exercises: {', '.join(e.name for e in EXERCISES)}")
