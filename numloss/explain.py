"""``numloss.explain``: a loss's forward and backward, step by step, with the numbers.

    >>> import numloss as nl
    >>> trace = nl.explain(nl.CrossEntropyLoss(), [[2.0, 1.0, 0.1]], [0])
    >>> print(round(float(trace.value), 3))  # the lesson's 0.417 (section 3.1.3)
    0.417
    >>> trace.grad.round(3)  # the softmax minus the one-hot
    array([[-0.341,  0.242,  0.099]])

``print(trace)`` shows the class's formula (from its docstring), then every quantity of
forward and backward with its numbers, numbered.

The numbers are the code's own, never a second copy of the math that could drift. For a
loss, ``explain`` runs its forward on the reading path (`numloss.fast`) and prints the
``Parts`` it computed, field by field in their order, each labelled by the comment on
its field in the class; then ``_losses(parts)`` (labelled by that method's docstring,
the formula), the reduction, the reduction's derivative dL/dl_n
(``loss_derivative``), ``_gradient(parts, 1)`` (labelled by its docstring, the
derivation's last line) and backward's own output. Each numbered step says where its
numbers come from:

    [parts.m]                      a field of the loss's Parts, as forward computed it
    [_losses(parts)]               the loss's formula on those parts: l_n
    [_gradient(parts, dl = 1)]     its derivation on those parts: dl_n/dx
    [loss_derivative(grad_output)] dL/dl_n, the base class's step
    [forward] [backward]           the loss's own outputs

The same works for the trainer's layers (`numloss.train`: Linear, Sigmoid, Tanh, ReLU,
a Sequential of them, any object with forward and backward that Sequential accepts, a
model followed by a loss in WithLoss: a layer's ``Parts`` and its ``_forward`` and
``_backward`` formulas) and for the information functions of section 1 (surprise,
entropy, cross_entropy, kl_divergence, whose options are passed as keywords:
``explain(nl.surprise, [0.5], base=2)``), whose steps are listed in `RECIPES`.

Side effects: the loss (or layer) keeps the parts of this forward, as after calling it
yourself. A layer's parameter ``.grad`` is left as it was: the trace reports what
backward adds to it (``trace.parameter_grads``).

Small arrays are printed whole; large ones (more than 30 entries) as their shape,
minimum, maximum, mean and first entries. The command line runs this too:
``numloss explain cross-entropy --input "[[2.0, 1.0, 0.1]]" --target 0``.
"""

from __future__ import annotations

import functools
import inspect
import re
import textwrap
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from . import fast, information
from ._modules import make_callable
from .base import Loss
from .train import Layer, Sequential, WithLoss, _is_layer

__all__ = ["RECIPES", "Recipe", "Show", "Step", "Trace", "explain"]

SMALL = 30  # arrays with at most this many entries are printed whole
WIDTH = 92  # the trace's line width
INDENT = " " * 7  # where a step's numbers start


# -- what a trace is made of ---------------------------------------------------------------
class Step(NamedTuple):
    """One numbered line of a trace: what it is, where its numbers come from, the numbers."""

    number: int
    what: str
    source: str
    value: Any


class Trace:
    """The trace `explain` returns: ``str(trace)`` is the text.

    Attributes: ``value`` (forward's output), ``grad`` (backward's: one array, or a tuple
    in input order; None for the information functions, which have no backward),
    ``parameter_grads`` (for a layer: what backward adds to each parameter's ``.grad``,
    by name), ``steps`` (the numbered `Step` list).
    """

    def __init__(self, text: str, steps: list[Step], value, grad, parameter_grads: dict):
        self.text = text
        self.steps = steps
        self.value = value
        self.grad = grad
        self.parameter_grads = parameter_grads

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:  # a trace at the prompt reads as its text
        return self.text

    def step(self, start: str) -> Step:
        """The first step whose description starts with `start`."""
        for s in self.steps:
            if s.what.startswith(start):
                return s
        raise KeyError(f"no step starts with {start!r}")


# -- recipes: which quantities to show for each class, in reading order ---------------------
class Context(NamedTuple):
    """What a recipe's getters read: the record, the inputs, the object (its options)."""

    r: Any  # the Record forward returned (None for the information functions)
    x: dict  # the inputs by name, as NumPy arrays
    obj: Any  # the loss, layer or function (for its options: margin, gamma, ...)
    out: Any = None  # the function's output (information functions only)
    options: dict = {}  # the function's keyword options (information functions only)


class Show(NamedTuple):
    """A quantity to print: a record field by its path, or a value derived from the record.

    ``get`` is a field path such as ``"softmax.max"`` (printed as [record: softmax.max])
    or a function of the `Context` (printed as [derived]). A field that is None, a
    derived value that is None, or a ``when`` that says False, is skipped.
    """

    what: str
    get: str | Callable[[Context], Any]
    when: Callable[[Context], bool] | None = None
    source: str = "derived"  # what a derived value is: "derived", or the function it calls


class Recipe(NamedTuple):
    """The steps a trace shows for one class, besides its whole record.

    ``symbols`` names each input as the docstring does; ``forward`` and ``backward`` are
    the quantities worth a line of their own; ``loss`` says what the per-element output
    is (l_n for a loss, y for a layer); ``local`` what backward's local derivative is
    (one text per differentiable input); ``params`` what a layer adds to each parameter's
    gradient. Every record field not shown by a step is listed after the forward steps.
    """

    symbols: dict
    forward: tuple = ()
    loss: str = "l_n, the loss of each element"
    backward: tuple = ()
    local: tuple = ("dl_n/dx",)
    params: dict = {}


def _input(c: Context, name: str = "input") -> np.ndarray:
    """An input as the losses see it: a float array (integers become float64)."""
    a = np.asarray(c.x[name])
    return a if a.dtype.kind == "f" else a.astype(np.float64)


def _product(c: Context):
    p = _input(c, "p")
    return np.prod(p) if p.size > 1 else None


RECIPES: dict[str, Recipe] = {
    # the information functions of section 1: `loss` is the function's output
    "surprise": Recipe(
        {"p": "p"},
        forward=(
            Show("ln p, the natural logarithm", lambda c: np.log(_input(c, "p"))),
            Show(
                "ln base",
                lambda c: np.log(c.options["base"]),
                when=lambda c: "base" in c.options and c.options["base"] != np.e,
            ),
        ),
        loss="S = -ln p / ln base (base e unless given: nats; base 2: bits)",
        backward=(
            Show("prod_i p_i, the probability that all of them happen (independent)", _product),
            Show(
                "sum_i S_i, the total surprise",
                lambda c: np.sum(c.out) if np.size(c.out) > 1 else None,
            ),
            Show(
                "surprise(prod_i p_i): the same total, because log(a b) = log a + log b",
                lambda c: (
                    None
                    if np.size(c.out) < 2
                    else information.surprise(np.prod(_input(c, "p")), **c.options)
                ),
                source="surprise(prod_i p_i)",
            ),
        ),
    ),
    "entropy": Recipe(
        {"p": "p"},
        forward=(
            Show(
                "p log p (0 where p = 0: 0 log 0 = 0)",
                lambda c: information._xlogy(_input(c, "p"), _input(c, "p")),
            ),
        ),
        loss="H(p) = -sum_x p(x) log p(x) (natural log unless base is given)",
    ),
    "cross_entropy": Recipe(
        {"p": "p", "q": "q"},
        forward=(
            Show(
                "p log q (0 where p = 0)",
                lambda c: information._xlogy(_input(c, "p"), _input(c, "q")),
            ),
        ),
        loss="H(p, q) = -sum_x p(x) log q(x)",
        backward=(
            Show(
                "H(p), the entropy of p",
                lambda c: information.entropy(c.x["p"], **c.options),
                source="entropy(p)",
            ),
            Show(
                "H(p, q) - H(p) = KL(p || q), the extra surprise",
                lambda c: c.out - information.entropy(c.x["p"], **c.options),
            ),
        ),
    ),
    "kl_divergence": Recipe(
        {"p": "p", "q": "q"},
        forward=(
            Show(
                "log p - log q (where p > 0)",
                lambda c: np.where(_input(c, "p") > 0, _log_ratio(c), 0.0),
            ),
            Show(
                "p (log p - log q), 0 where p = 0",
                lambda c: np.where(_input(c, "p") > 0, _input(c, "p") * _log_ratio(c), 0.0),
            ),
        ),
        loss="KL(p || q) = sum_x p(x) log(p(x) / q(x))",
        backward=(
            Show(
                "H(p, q), the cross-entropy",
                lambda c: information.cross_entropy(c.x["p"], c.x["q"], **c.options),
                source="cross_entropy(p, q)",
            ),
            Show(
                "H(p), the entropy",
                lambda c: information.entropy(c.x["p"], **c.options),
                source="entropy(p)",
            ),
        ),
    ),
}


def _log_ratio(c: Context) -> np.ndarray:
    p, q = _input(c, "p"), _input(c, "q")
    with np.errstate(divide="ignore"):
        return np.log(np.where(p > 0, p, 1)) - np.log(q)


FUNCTIONS = {
    f.__name__: f
    for f in (
        information.surprise,
        information.entropy,
        information.cross_entropy,
        information.kl_divergence,
    )
}


# -- reading the docstring and the record ------------------------------------------------------
def _paragraphs(doc: str) -> list[list[str]]:
    """The docstring's paragraphs: runs of non-blank lines (an indented run is a formula)."""
    out, run = [], []
    for line in doc.splitlines():
        if line.strip():
            run.append(line)
        elif run:
            out.append(run)
            run = []
    return out + [run] if run else out


def _indented(paragraph: list[str]) -> bool:
    return paragraph[0].startswith(" ")


@functools.cache
def docstring_parts(obj) -> tuple[str, list[str], list[str]]:
    """(summary, formula lines, gradient lines) of a class's or function's docstring.

    The formula is the paragraph that starts "Formula" with the indented block after it,
    or else the first indented block before "Gradient"; the gradient is the paragraph
    that starts "Gradient" with the indented block after it.
    """
    doc = (inspect.getdoc(obj) or "").replace("``", "")
    paragraphs = _paragraphs(doc)
    if not paragraphs:
        return "", [], []
    summary = paragraphs[0][0]

    def section(word: str) -> list[str]:
        for i, par in enumerate(paragraphs):
            if par[0].startswith(word):
                after = paragraphs[i + 1] if i + 1 < len(paragraphs) else None
                return par + ([""] + after if after and _indented(after) else [])
        return []

    formula = section("Formula")
    if not formula:
        for par in paragraphs[1:]:
            if par[0].startswith(("Gradient", ">>>")):
                break
            if _indented(par):
                formula = par
                break
    return summary, formula, section("Gradient")


@functools.cache
def field_comments(cls) -> dict[str, str]:
    """The comment beside each field of a NamedTuple's source: ``name: type  # comment``."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    found = re.finditer(r"^\s+(\w+)\s*:[^#\n]*#\s*(.*)$", source, re.MULTILINE)
    return {m.group(1): m.group(2).strip() for m in found}


def _is_record(value) -> bool:
    return isinstance(value, tuple) and hasattr(value, "_fields")


def _field(record, path: str):
    """The record's field at a dotted path; a path that names no field is an error (a recipe
    that has drifted from its loss's Record), never a step silently left out."""
    value = record
    for part in path.split("."):
        if part not in getattr(value, "_fields", ()):
            raise AttributeError(f"{type(record).__qualname__} has no field {path!r}")
        value = getattr(value, part)
    return value


# -- formatting numbers ---------------------------------------------------------------------------
def _snapshot(value):
    """A copy that later steps (CrossEntropyLoss's backward works in place) cannot change."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple) and not _is_record(value):
        return tuple(_snapshot(v) for v in value)
    return value


def _no_negative_zero(a: np.ndarray) -> np.ndarray:
    return a + 0.0 if a.dtype.kind == "f" else a  # -0.0 + 0.0 is +0.0


def format_value(value, width: int = WIDTH - len(INDENT)) -> list[str]:
    """A value as lines: small arrays whole, large ones summarised."""
    if value is None or isinstance(value, (bool, str, np.dtype)):
        return [str(value)]
    if isinstance(value, tuple) and all(isinstance(v, (int, np.integer)) for v in value):
        return [str(value)]  # a shape
    try:
        a = np.asarray(value)
    except (ValueError, TypeError):
        return [repr(value)]
    if a.dtype == object:
        return [repr(value)]
    a = _no_negative_zero(a)
    options = dict(precision=5, separator=", ", floatmode="maxprec")
    if a.size <= SMALL:
        text = np.array2string(a, threshold=SMALL + 1, max_line_width=width, **options)
        return re.sub(r"(\d)\.e", r"\1e", text).splitlines()  # 5e-08, not 5.e-08
    summary = f"shape {a.shape}, {a.dtype}"
    if a.dtype.kind == "b":
        summary += f": {int(a.sum())} True"
    elif a.dtype.kind in "iuf":
        summary += ": " + ", ".join(
            f"{name} {np.array2string(np.asarray(f(a)), **options)}"
            for name, f in (("min", np.min), ("max", np.max), ("mean", np.mean))
        )
    for k in (6, 5, 4, 3, 2, 1):  # as many first entries as fit on one line
        head = "first entries " + np.array2string(a.reshape(-1)[:k], **options)[:-1] + ", ...]"
        if len(head) <= width:
            break
    return [summary, head]


# -- writing a trace ----------------------------------------------------------------------------
class _Writer:
    def __init__(self):
        self.lines: list[str] = []
        self.steps: list[Step] = []

    def heading(self, text: str) -> None:
        self.lines += ["", text]

    def text(self, lines: list[str], indent: str = "    ") -> None:
        self.lines += [indent + line if line else "" for line in lines]

    def wrapped(self, text: str, indent: str = "    ") -> None:
        self.lines += textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent)

    def item(self, label: str, value) -> None:
        """An unnumbered line: an input or an option."""
        lines = format_value(value, WIDTH - len(label) - 7)
        self.lines.append(f"    {label} = {lines[0]}")
        self.lines += [" " * (len(label) + 7) + line for line in lines[1:]]

    def step(self, what: str, source: str, value) -> None:
        number = len(self.steps) + 1
        self.steps.append(Step(number, what, source, value))
        head, tag = textwrap.wrap(what, WIDTH - 5), f"[{source}]"
        if len(head[-1]) + 2 + len(tag) <= WIDTH - 5:  # the source beside the words ...
            head[-1] += f"  {tag}"
        else:  # ... or on a line of its own, never split
            head.append(tag)
        self.lines.append(f"{number:>3}. {head[0]}")
        self.lines += ["     " + line for line in head[1:]]
        self.lines += [INDENT + line for line in format_value(value)]


def _shows(shows: tuple, c: Context) -> list[tuple[str, str, Any]]:
    """Each Show evaluated now: (what, source, a snapshot of the value), skipped ones left out."""
    out = []
    for show in shows:
        if show.when is not None and not show.when(c):
            continue
        if isinstance(show.get, str):
            value, source = _field(c.r, show.get), f"record: {show.get}"
        else:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # log 0 = -inf
                value, source = show.get(c), show.source
        if value is None or _is_record(value):
            continue
        out.append((show.what, source, _snapshot(value)))
    return out


def _same_array(value, x) -> bool:
    if not isinstance(value, np.ndarray):
        return False
    x = np.asarray(x)
    if (value.dtype == bool) != (x.dtype == bool):  # a mask is not the labels it equals
        return False
    return value.shape == x.shape and bool(np.array_equal(value, x))


def _plain(number) -> str:
    """A count as 3, not 3.0; anything else as NumPy prints it."""
    if float(number).is_integer():
        return str(int(number))
    return format_value(number)[0]


def _as_tuple(grad) -> tuple:
    return grad if isinstance(grad, tuple) else (grad,)


# -- the parts: a loss, a layer, a Sequential, a model with its loss -------------------------
# Each part's forward runs the object's forward, writes its forward steps and returns
# (output, finish); finish(grad_output) runs the backward, writes its steps and returns
# (grad, parameter gradients). A Sequential chains its layers' parts; WithLoss chains
# the model's part and the loss's.
def _loss_part(w: _Writer, loss: Loss, inputs: tuple, nested: bool):
    """A loss's forward on its reading path: its inputs, each of its parts, l_n and L."""
    cls = type(loss)
    with fast.path("reading"):  # the path whose parts are the docstring's symbols
        value = loss.forward(*inputs)  # errors here are the loss's own, with its name
    parts = loss._record
    x = {name: np.asarray(v) for name, v in zip(cls.inputs, inputs, strict=True)}
    summary, formula, gradient = docstring_parts(cls)
    if nested:
        w.heading(f"  {loss!r}, on the output above")
    w.wrapped(summary)
    _from_docstring(w, formula)
    w.lines.append("    Inputs:")
    symbols = _symbols(loss)
    for name, v in x.items():
        w.item(f"  {symbols[name]} ({name})", v)
    w.item("  reduction", loss.reduction)
    _parts_steps(w, parts, {symbols[n]: v for n, v in x.items()})
    losses = loss._losses(parts)
    last = "; the output (reduction='none')" if loss.reduction == "none" else ""
    w.step(_first_line(cls._losses) + last, "_losses(parts)", losses)
    _reduction_step(w, loss, value)

    def finish(grad_output):
        grad = loss.backward(grad_output)
        if nested:
            w.heading(f"  {loss!r}")
        _from_docstring(w, gradient)
        local = loss._gradient(parts, np.ones(np.shape(losses), dtype=losses.dtype))
        for i, g in enumerate(_as_tuple(local)):
            what = _first_line(cls._gradient) if i == 0 else f"(and for {cls.differentiable[i]})"
            w.step(what, "_gradient(parts, dl = 1)", g)
        _chain_rule_steps(w, loss, grad_output, grad)
        return grad, {}

    return value, finish


def _parts_steps(w: _Writer, parts, inputs: dict) -> None:
    """One step per field of the loss's Parts, in order, labelled by the field's comment
    (a field that is None, such as an option not given, is left out)."""
    comments = field_comments(type(parts))
    for name in parts._fields:
        value = getattr(parts, name)
        if value is None:
            continue
        comment = comments.get(name, "")
        what = comment if comment.startswith(f"{name} ") else f"{name}: {comment}"
        same = [n for n, v in inputs.items() if n == name and _same_array(value, v)]
        if same:  # an input, passed through: not printed again
            w.lines.append(f"{len(w.steps) + 1:>3}. {what}  = the input {same[0]}")
            w.steps.append(Step(len(w.steps) + 1, what, f"parts.{name}", value))
            continue
        w.step(what, f"parts.{name}", _snapshot(value))


def _first_line(method) -> str:
    """The formula a loss's ``_losses`` or ``_gradient`` states in its docstring."""
    return (inspect.getdoc(method) or method.__name__).splitlines()[0]


def _from_docstring(w: _Writer, lines: list[str]) -> None:
    if lines:
        w.lines.append("    From the docstring:")
        w.text(lines, "      ")


def _reduction_step(w: _Writer, loss: Loss, value) -> None:
    """L from the l_n: their sum, or their mean with the denominator the loss used."""
    if loss.reduction == "sum":
        w.step("L = sum_n l_n", "forward", value)
    elif loss.reduction in ("mean", "batchmean"):
        last = loss._last
        what = f"L = sum_n l_n / D, D = {_plain(last.denominator)}: "
        if last.counted:
            what += "the number of elements"
        else:  # the loss's Inputs gave it: say what it is, from its field's comment
            what += _denominator_meaning(loss)
        w.step(what, "forward", value)


def _denominator_meaning(loss: Loss) -> str:
    """What a loss's own mean denominator is: the comment on its Inputs' field, and for
    KLDivLoss's batchmean the batch size."""
    if loss.reduction == "batchmean":
        return "the batch size N (batchmean: the KL divergence per sample)"
    comment = field_comments(type(loss).Inputs).get("denominator", "")
    return comment.split(";")[0].replace("the mean's D: ", "") or "the loss's own"


def _chain_rule_steps(w: _Writer, loss: Loss, grad_output, grad) -> None:
    """dL/dl_n from grad_output and the reduction, then each input's gradient."""
    dl = loss.loss_derivative(grad_output)  # the base class's own step
    if loss.reduction in ("mean", "batchmean"):
        what = "dL/dl_n = g / D, the mean's derivative (g = grad_output, 1 if not given)"
    else:
        what = f"dL/dl_n = g (g = grad_output, 1 if not given; reduction={loss.reduction!r})"
    w.step(what, "loss_derivative(grad_output)", dl)
    cls, symbols = type(loss), _symbols(loss)
    names = [n for n in cls.inputs if n in cls.differentiable]
    for name, g in zip(names, _as_tuple(grad), strict=True):
        s = symbols[name]
        w.step(f"dL/d{s} = dL/dl_n * dl_n/d{s}: the gradient", "backward", g)


def _symbols(loss: Loss) -> dict:
    """Each input's symbol: the field its ``Inputs`` gives it (input -> z, target -> y)."""
    fields = getattr(type(loss), "Inputs", None)
    fields = getattr(fields, "_fields", ())
    return {name: (fields[i] if i < len(fields) else name) for i, name in enumerate(loss.inputs)}


def _layer_part(w: _Writer, layer, x, nested: bool, prefix: str = ""):
    """A layer's forward: its input, each of its parts (if it keeps a `Parts`), its output.

    Any object with forward and backward is accepted, as `Sequential` accepts it: one that
    is not a numloss `Layer` shows its input and output, and its backward's."""
    cls = type(layer)
    y = layer.forward(x)
    last = getattr(layer, "_last", None)
    parts = last[0] if isinstance(last, tuple) and last and _is_record(last[0]) else None
    summary, formula, gradient = docstring_parts(cls)
    heading = f"  layer {prefix.rstrip('.')}: {layer!r}"
    if nested:
        w.heading(heading)
    if summary:
        w.wrapped(summary)
    _from_docstring(w, formula)
    w.lines.append("    Inputs:")
    w.item("  x (input)", np.asarray(x))
    if parts is not None:
        _parts_steps(w, parts, {"x": np.asarray(x)})
    w.step(_method_line(cls, "_forward", "y, the layer's output"), "forward", y)

    def finish(grad_output, origin: str = "grad_output; 1 everywhere if not given"):
        g = np.ones(np.shape(y), dtype=np.asarray(y).dtype) if grad_output is None else grad_output
        dx, added = _backward_alone(layer, g)
        if nested:
            w.heading(heading)
        _from_docstring(w, gradient)
        source = "input" if origin.startswith("grad_output") else "backward"
        w.step(f"g = dL/dy, the upstream gradient ({origin})", source, g)
        w.step(_method_line(cls, "_backward", "dL/dx"), "backward", dx)
        labels = getattr(layer, "parameter_gradients", {})
        for name, grad in added.items():
            what = labels.get(name, f"dL/d{name}")
            w.step(f"{what}, added to {name}.grad", "backward", grad)
        return dx, {prefix + name: grad for name, grad in added.items()}

    return y, finish


def _method_line(cls, method: str, default: str) -> str:
    """The first line of a layer's ``_forward`` or ``_backward`` docstring: its formula."""
    found = getattr(cls, method, None)
    return _first_line(found) if found is not None and inspect.getdoc(found) else default


def _backward_alone(layer, g) -> tuple:
    """(dL/dx, what backward adds to each parameter's .grad), each .grad left as it was."""
    named = dict(getattr(layer, "named_parameters", list)())
    saved = {name: p.grad.copy() for name, p in named.items()}
    for p in named.values():
        p.grad[...] = 0
    try:
        dx = layer.backward(g)
        return dx, {name: p.grad.copy() for name, p in named.items()}
    finally:
        for name, p in named.items():
            p.grad[...] = saved[name]


def _sequential_part(w: _Writer, model: Sequential, x, prefix: str = ""):
    finishes = []
    for i, layer in enumerate(model):
        if isinstance(layer, Sequential):
            x, finish = _sequential_part(w, layer, x, f"{prefix}{i}.")
        else:
            x, finish = _layer_part(w, layer, x, nested=True, prefix=f"{prefix}{i}.")
        finishes.append(finish)

    def finish(grad_output, origin: str = "grad_output; 1 everywhere if not given"):
        grads = {}
        for k, f in reversed(list(enumerate(finishes))):
            grad_output, added = f(grad_output, origin)
            origin = f"dL/dx of layer {prefix}{k}'s backward"
            grads.update(added)
        return grad_output, grads

    return x, finish


def _function_trace(w: _Writer, f, inputs: tuple, options: dict):
    recipe = RECIPES[f.__name__]
    out = f(*inputs, **options)
    names = list(recipe.symbols)
    x = {name: np.asarray(v) for name, v in zip(names, inputs, strict=False)}
    c = Context(None, x, f, out, options)
    summary, formula, _ = docstring_parts(f)
    w.wrapped(summary)
    w.lines.append("    Inputs:")
    for name, v in x.items():
        w.item(f"  {name}", v)
    for name, v in options.items():
        w.item(f"  {name}", v)
    w.heading("Steps")
    for what, source, v in _shows(recipe.forward, c):
        w.step(what, source, v)
    w.step(recipe.loss, f"{f.__name__}(...), the function's output", out)
    for what, source, v in _shows(recipe.backward, c):
        w.step(what, source, v)
    return out


# -- the entry point ------------------------------------------------------------------------------
def explain(obj, *inputs, grad_output=None, **options) -> Trace:
    """The numbered trace of ``obj``'s forward and backward on ``inputs``.

    ``obj`` is a loss (``nl.CrossEntropyLoss(label_smoothing=0.1)``), a layer of
    `numloss.train` (Linear, Sigmoid, Tanh, ReLU, Sequential), a `WithLoss`, or one of
    the information functions (``nl.surprise``, ``nl.entropy``, ``nl.cross_entropy``,
    ``nl.kl_divergence``, with their keyword ``options`` such as ``base=2``).
    ``inputs`` are forward's inputs; ``grad_output`` the upstream gradient backward
    receives (default 1). Returns a `Trace`: ``print(trace)`` for the text,
    ``trace.value`` and ``trace.grad`` for forward's and backward's outputs.

    Bad inputs raise the loss's own ValueError or TypeError.

    The lesson's three hinge zones (section 2.2.1), margin 1: safe (u >= 1, nothing inside
    the margin), too close (0 < u < 1) and wrong (u <= 0):

    >>> import numloss as nl
    >>> trace = nl.explain(nl.HingeLoss(reduction="none"), [2.0, 0.5, -1.0], [1.0, 1.0, 1.0])
    >>> trace.step("u =").value, trace.step("inside").value
    (array([ 2. ,  0.5, -1. ]), array([False,  True,  True]))
    >>> trace.value, trace.grad
    (array([0. , 0.5, 2. ]), array([ 0., -1., -1.]))
    """
    _check_object(obj, options)
    w = _Writer()
    parameter_grads: dict = {}
    if isinstance(obj, Loss):
        w.lines.append(f"{obj!r}: forward and backward, step by step")
        w.heading("Forward")
        value, finish = _loss_part(w, obj, inputs, nested=False)
        w.heading("Backward")
        grad, _ = finish(grad_output)
    elif isinstance(obj, WithLoss):
        w.lines.append(f"{obj!r}: forward and backward, step by step")
        if len(inputs) != 2:
            raise TypeError(f"WithLoss: expected 2 inputs (input, target); got {len(inputs)}")
        w.heading("Forward")
        out, model_finish = _model_part(w, obj.model, inputs[0])
        value, loss_finish = _loss_part(w, obj.loss, (out, inputs[1]), nested=True)
        w.heading("Backward")
        g, _ = loss_finish(grad_output)
        grad, parameter_grads = model_finish(g, "dL/dz of the loss's backward")
    elif isinstance(obj, Layer) or _is_layer(obj):
        if len(inputs) != 1:
            raise TypeError(f"{type(obj).__name__}: expected 1 input; got {len(inputs)}")
        w.lines.append(f"{obj!r}: forward and backward, step by step")
        w.heading("Forward")
        value, finish = _model_part(w, obj, inputs[0])
        w.heading("Backward")
        grad, parameter_grads = finish(grad_output)
    else:
        w.lines.append(f"{obj.__name__}: step by step")
        value, grad = _function_trace(w, obj, inputs, options), None
    return Trace("\n".join(w.lines) + "\n", w.steps, value, grad, parameter_grads)


def _check_object(obj, options: dict) -> None:
    """An error unless `obj` is something explain traces, with options only for a function."""
    if isinstance(obj, type):
        raise TypeError(
            f"obj: expected a loss or layer object, such as {obj.__name__}(); "
            f"got the class {obj.__name__} itself"
        )
    is_function = any(obj is f for f in FUNCTIONS.values())
    if not (is_function or isinstance(obj, (Loss, WithLoss, Layer)) or _is_layer(obj)):
        raise TypeError(
            "obj: expected a numloss loss, a layer of numloss.train, WithLoss, or one of "
            f"surprise, entropy, cross_entropy, kl_divergence; got {type(obj).__name__}"
        )
    if options and not is_function:
        raise TypeError(
            f"explain: keyword options {sorted(options)} are for the information functions; "
            "give a loss or layer its options when you make it"
        )


def _model_part(w: _Writer, model, x):
    if isinstance(model, Sequential):
        return _sequential_part(w, model, x)
    return _layer_part(w, model, x, nested=False)


make_callable(__name__)  # nl.explain(loss, ...) calls explain; `import numloss.explain` the module
