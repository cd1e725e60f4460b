"""The ``numloss`` command (also ``python -m numloss``).

    numloss explain cross-entropy --input "[[2.0, 1.0, 0.1]]" --target 0
    numloss explain bce --input "[0.9, 0.55, 0.1]" --target 1 --reduction none
    numloss explain hinge --help           # a loss's inputs and options
    numloss gradcheck [LOSS ...] [-v]      # the gradient-check suite
    numloss bench [--quick]                # the benchmark
    numloss --help                         # the commands, and every loss by name
    numloss --version                      # numloss's version

``explain`` prints `numloss.explain`'s trace. Inputs are JSON or Python literals
(``"[[2.0, 1.0, 0.1]]"``, ``0``); a single number given as a target is repeated for
every sample. Options are the constructor's, in kebab-case (``--label-smoothing 0.1``,
``--ignore-index 1``, ``--weight "[1, 2, 3]"``, ``--alpha none``).

Bad command-line input (an unknown loss, unreadable JSON, wrong shapes, a bad option)
gets one line on stderr, ``numloss: error: ...``, and exit status 2.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import importlib
import inspect
import io
import json
import os
import re
import sys
import warnings

import numpy as np

from . import information, train
from ._version import __version__
from .exercises import command as exercise_command
from .explain import docstring_parts, explain
from .gradcheck.suite import exported_losses

__all__ = ["main", "resolve"]

LAYERS = (train.Linear, train.Sigmoid, train.Tanh, train.ReLU)
FUNCTIONS = (
    information.surprise,
    information.entropy,
    information.cross_entropy,
    information.kl_divergence,
)
CLASS_INDEX_TARGETS = ("CrossEntropyLoss", "NLLLoss", "MultiMarginLoss")


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors become a UsageError (one line, no usage dump)."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} (`{self.prog} --help` lists them)")


def kebab(name: str) -> str:
    """CrossEntropyLoss -> cross-entropy, BCEWithLogitsLoss -> bce-with-logits."""
    stem = name[: -len("Loss")] if name.endswith("Loss") else name
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", stem).lower()


# short names students type, each for the one loss it can mean (the lesson's abbreviations)
ALIASES = {
    "ce": "CrossEntropyLoss",
    "crossentropy": "CrossEntropyLoss",
    "scce": "CrossEntropyLoss",  # sparse categorical cross-entropy: class indices (3.2)
    "bce-logits": "BCEWithLogitsLoss",
    "focal": "FocalLoss",
    "triplet": "TripletMarginLoss",
}
# names of things that are not losses, and where their arithmetic is shown
NOT_A_LOSS = {
    "softmax": "softmax is a step of cross-entropy, not a loss: `numloss explain cross-entropy` "
    "prints p = softmax(z)",
    "log-softmax": "log_softmax is a step of cross-entropy, not a loss: `numloss explain "
    "cross-entropy` prints it, and nll takes its output",
    "logsumexp": "logsumexp is a step of cross-entropy, not a loss: `numloss explain "
    "cross-entropy` prints it",
    "kl": "for the KL divergence of section 1.3 (--p, --q) say kl-divergence; for the loss "
    "KLDivLoss (--input, --target) say kl-div",
}


def names() -> dict:
    """Every name the command accepts, lowercase, to its loss class, layer class or function."""
    table = {}
    for cls in exported_losses():
        for key in (kebab(cls.__name__), cls.__name__.lower(), kebab(cls.__name__) + "-loss"):
            table[key] = cls
    for cls in LAYERS:
        table[cls.__name__.lower()] = cls
    for f in FUNCTIONS:  # by their Python names: cross_entropy (the function), not cross-entropy
        table[f.__name__] = f
    table["kl-divergence"] = information.kl_divergence
    by_class_name = {cls.__name__: cls for cls in exported_losses()}
    table.update({alias: by_class_name[name] for alias, name in ALIASES.items()})
    return table


def canonical(target) -> str:
    """The one name a suggestion gives for a loss, layer or function: cross-entropy, linear,
    surprise, kl-divergence."""
    if target is information.kl_divergence:
        return "kl-divergence"
    if target in FUNCTIONS:
        return target.__name__
    return kebab(target.__name__) if target.__name__.endswith("Loss") else target.__name__.lower()


def suggestions(name: str, n: int = 3) -> list[str]:
    """Names the mistyped `name` may have meant, best first, one per loss: those it begins a
    word of (triplet -> triplet-margin), then those it is spelled like (hinj -> hinge)."""
    key = name.strip().lower().replace("_", "-").removesuffix("-loss")
    table = {k: t for k, t in names().items() if not k.endswith("-loss")}  # one per spelling
    found = []
    if len(key) >= 2:  # a word's start: kl -> kl-div, kl-divergence; margin -> margin-ranking
        found += [k for k, t in table.items() if k == canonical(t) and key in re.split("[-_]", k)]
        found += [
            k
            for k, t in table.items()
            if k == canonical(t) and any(w.startswith(key) for w in re.split("[-_]", k))
        ]
    for close in difflib.get_close_matches(key, table, n=10, cutoff=0.6):
        found.append(canonical(table[close]))  # the loss it names, by its one name
    return list(dict.fromkeys(found))[:n]


def resolve(name: str):
    """The loss class, layer class or function a command-line name means."""
    table = names()
    key = name.strip().lower()
    for candidate in (key, key.replace("_", "-")):
        if candidate in table:
            return table[candidate]
    if key.replace("_", "-") in NOT_A_LOSS:
        raise UsageError(f"{name!r}: {NOT_A_LOSS[key.replace('_', '-')]}")
    close = suggestions(name)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise UsageError(f"unknown loss {name!r}{hint} (`numloss --help` lists them)")


# -- reading values -----------------------------------------------------------------------------
def literal(flag: str, text: str):
    """A JSON or Python literal: a number, a (nested) list, true/false, null/None."""
    lowered = text.strip().lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise UsageError(
            f"{flag}: could not read {text!r} as a number or a list (JSON or Python, "
            'e.g. "[[2.0, 1.0, 0.1]]")'
        ) from None


def array(flag: str, text: str) -> np.ndarray:
    value = literal(flag, text)
    try:
        a = np.asarray(value)
    except ValueError:
        raise UsageError(f"{flag}: rows of different lengths in {text!r}") from None
    if a.dtype.kind not in "biuf":
        raise UsageError(f"{flag}: expected numbers; got {text!r}")
    return a.astype(np.int64) if a.dtype.kind == "b" else a


def _option_type(param: inspect.Parameter) -> str:
    """'int', 'float', 'bool', 'str' or 'literal', from the annotation or the default."""
    note = str(param.annotation) if param.annotation is not inspect.Parameter.empty else ""
    for kind in ("bool", "int", "float", "str"):
        if re.search(rf"\b{kind}\b", note):
            return kind
    default = param.default
    if isinstance(default, bool):
        return "bool"
    for kind, t in (("int", int), ("float", float), ("str", str)):
        if isinstance(default, t):
            return kind
    return "literal"


def option_value(flag: str, param: inspect.Parameter, text: str):
    """A command-line option as the constructor's type."""
    kind = _option_type(param)
    note = str(param.annotation)
    if text.strip().lower() in ("none", "null") and (
        "None" in note or param.default is None or kind == "literal"
    ):
        return None
    if kind == "str":
        return text
    if kind == "literal":
        value = literal(flag, text)
        return np.asarray(value) if isinstance(value, list) else value
    if kind == "bool":
        if text.strip().lower() in ("true", "1", "yes"):
            return True
        if text.strip().lower() in ("false", "0", "no"):
            return False
        raise UsageError(f"{flag}: expected true or false; got {text!r}")
    try:
        number = float(text)
    except ValueError:
        raise UsageError(f"{flag}: expected a number; got {text!r}") from None
    if kind == "int":
        if not number.is_integer():
            raise UsageError(f"{flag}: expected an integer; got {text!r}")
        return int(number)
    return number


# -- explain --------------------------------------------------------------------------------------
def _options(target) -> dict[str, inspect.Parameter]:
    """The constructor's (or function's) options: parameters with a default."""
    f = target.__init__ if isinstance(target, type) else target
    params = inspect.signature(f).parameters.values()
    return {
        p.name: p
        for p in params
        if p.name != "self"
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and (p.default is not p.empty or isinstance(target, type))
    }


def _inputs(target) -> tuple[str, ...]:
    if isinstance(target, type):
        return tuple(getattr(target, "inputs", ("input",)))
    params = inspect.signature(target).parameters.values()
    return tuple(p.name for p in params if p.default is p.empty)


def _explain_parser(name: str, target) -> _Parser:
    summary = docstring_parts(target)[0]
    parser = _Parser(
        prog=f"numloss explain {name}",
        description=f"{summary} Prints every step of forward and backward with its numbers.",
        allow_abbrev=False,
        epilog="Values are JSON or Python literals; a single number given as a target is "
        "repeated for every sample.",
    )
    for inp in _inputs(target):
        parser.add_argument(f"--{inp}", required=True, metavar="VALUE", help=f"the {inp}")
    if target is train.Linear:
        parser.add_argument("--weight", metavar="VALUE", help="W, shape (out, in) (else random)")
        parser.add_argument("--bias", metavar="VALUE", help="b, shape (out,); false for none")
        parser.add_argument("--out-features", type=int, help="out_features (without --weight)")
        parser.add_argument("--seed", type=int, help="seed of the random W and b")
    else:
        for option, param in _options(target).items():
            default = "" if param.default is param.empty else f" (default {param.default!r})"
            parser.add_argument(
                f"--{option.replace('_', '-')}",
                metavar="VALUE",
                dest=f"option_{option}",
                help=f"{option}{default}",
            )
    if target not in FUNCTIONS:
        parser.add_argument(
            "--grad-output", metavar="VALUE", help="the upstream gradient dL/d(output) (1)"
        )
    return parser


def _linear(args, x: np.ndarray) -> train.Linear:
    if args.weight is not None:
        W = array("--weight", args.weight)
        if W.ndim != 2:
            raise UsageError(f"--weight: expected a matrix (out, in); got shape {W.shape}")
        bias = literal("--bias", args.bias) if args.bias is not None else None
        layer = train.Linear(W.shape[1], W.shape[0], bias=bias is not False)
        layer.weight.data = W
        if bias is not None and bias is not False:
            layer.bias.data = np.asarray(bias, dtype=np.float64)
        return layer
    if args.out_features is None:
        raise UsageError("linear: give --weight, or --out-features (and --seed) for random ones")
    bias = True if args.bias is None else literal("--bias", args.bias) is not False
    in_features = x.shape[-1] if x.ndim else 1
    return train.Linear(in_features, args.out_features, bias=bias, seed=args.seed)


def _broadcast_target(cls, inputs: dict) -> None:
    """A single number as a target, repeated for every sample (or element)."""
    if "target" not in inputs or np.ndim(inputs["target"]) != 0:
        return
    first = np.asarray(next(iter(inputs.values())))
    t = inputs["target"]
    if cls.__name__ in CLASS_INDEX_TARGETS:
        if first.ndim >= 2:  # one index per sample (and per position d1, ...)
            inputs["target"] = np.full(first.shape[:1] + first.shape[2:], t)
    else:
        inputs["target"] = np.full(first.shape, t)


def _explain(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(_help(), end="", file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    target = resolve(name)
    _hint_other_name(name, target, rest)
    args = _explain_parser(name, target).parse_args(rest)
    inputs = {inp: array(f"--{inp}", getattr(args, inp)) for inp in _inputs(target)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            trace = _trace(target, args, inputs)
        except (ValueError, TypeError) as err:
            raise UsageError(str(err)) from None
    seen = set()
    for w in caught:  # each warning once, on one line, before the trace
        message = " ".join(str(w.message).split())
        if message not in seen:
            seen.add(message)
            print(f"numloss: warning: {message}", file=sys.stderr)
    print(trace, end="")
    return 0


def _hint_other_name(name: str, target, rest: list[str]) -> None:
    """An error that names the right command when the inputs given are another's: the
    function cross_entropy takes --p and --q, the loss cross-entropy --input and --target."""
    given = {a.split("=")[0] for a in rest if a.startswith("--") and a not in ("--help",)}
    expected = {f"--{inp}" for inp in _inputs(target)}
    if not given or given & expected:  # some of its own inputs: argparse says what is wrong
        return
    fits = [
        other_name
        for other_name, other in names().items()
        if other is not target and {f"--{inp}" for inp in _inputs(other)} == given
    ]
    if fits:  # the one whose name is nearest to the name given
        closest = max(fits, key=lambda n: difflib.SequenceMatcher(None, name, n).ratio())
        raise UsageError(
            f"{name} takes {', '.join(sorted(expected))}; for {', '.join(sorted(given))}, "
            f"did you mean `numloss explain {closest}`?"
        )


def _trace(target, args: argparse.Namespace, inputs: dict):
    """explain() of the function, or of the loss or layer built from the options given."""
    if target in FUNCTIONS:
        return explain(target, *inputs.values(), **_options_given(target, args))
    if target is train.Linear:
        obj = _linear(args, inputs["input"])
    else:
        try:
            obj = target(**_options_given(target, args))
        except (ValueError, TypeError) as err:  # named once: the constructor's own name it
            named = str(err).startswith((f"{target.__name__}:", f"{target.__name__}("))
            raise UsageError(str(err) if named else f"{target.__name__}: {err}") from None
        _broadcast_target(target, inputs)
    g = None if args.grad_output is None else array("--grad-output", args.grad_output)
    return explain(obj, *inputs.values(), grad_output=g)


def _options_given(target, args: argparse.Namespace) -> dict:
    """The options given on the command line, parsed as the parameter's default's type."""
    return {
        k: option_value(f"--{k.replace('_', '-')}", p, v)
        for k, p in _options(target).items()
        if (v := getattr(args, f"option_{k}")) is not None
    }


# -- gradcheck and bench ---------------------------------------------------------------------------
def _gradcheck(argv: list[str]) -> int:
    """The suite, with its loss names also accepted as `explain` takes them (cross-entropy)."""
    from .gradcheck.suite import main as suite

    names, after_seed = [], False
    for arg in argv:
        if not arg.startswith("-") and not after_seed:
            try:
                found = resolve(arg)
                arg = found.__name__ if isinstance(found, type) else arg
            except UsageError:
                pass  # the suite knows more (Sequential, WithLoss) and says what it knows
            if found_function(arg):
                raise UsageError(
                    f"gradcheck: {arg} is a function of section 1, with no backward to check; "
                    "gradcheck checks the losses and layers (`numloss --help` lists them)"
                )
        after_seed = arg == "--seed"
        names.append(arg)
    errors = io.StringIO()  # the suite's parser errors, to say them on one line
    try:
        with contextlib.redirect_stderr(errors):
            code = suite(names, prog="numloss gradcheck")
    except SystemExit as done:
        lines = errors.getvalue().strip().splitlines()
        if done.code == 2 and lines:
            raise UsageError(f"gradcheck: {lines[-1].split('error: ', 1)[-1]}") from None
        code = done.code if isinstance(done.code, int) else 0  # --help
    sys.stderr.write(errors.getvalue())
    return code


def found_function(name: str) -> bool:
    """Whether `name` is one of section 1's functions (surprise, ...), which have no backward."""
    key = name.strip().lower()
    return any(names().get(k) in FUNCTIONS for k in (key, key.replace("_", "-")))


def _bench(argv: list[str]) -> int:
    try:
        bench = importlib.import_module("numloss.bench")
    except ModuleNotFoundError as err:
        if err.name != "numloss.bench":
            raise
        raise UsageError(
            "bench: this version of numloss has no benchmark (numloss/bench.py)"
        ) from None
    result = bench.main(argv)
    return result if isinstance(result, int) else 0


# -- help ------------------------------------------------------------------------------------------
def _help() -> str:
    rows = []
    for cls in exported_losses():
        inputs = " ".join(f"--{i}" for i in cls.inputs)
        rows.append(f"  {kebab(cls.__name__):<17} {cls.__name__:<20} {inputs}")
    layers = ", ".join(cls.__name__.lower() for cls in LAYERS)
    return f"""\
usage: numloss {{explain,gradcheck,exercise,bench}} ...
       numloss --version
       python -m numloss ...

numloss: classification losses in pure NumPy, with their arithmetic shown.

commands:
  explain NAME --input VALUE --target VALUE [--OPTION VALUE ...]
                    print every step of the loss's forward and backward with its numbers
  gradcheck [LOSS ...] [-v] [--seed N] [--module MODULE]
                    check every backward against finite differences (make gradcheck);
                    --module: the Loss subclasses of your own module or .py file instead
  exercise {{list,start,hint,check,solution}} ...
                    derive a backward yourself, and be told which step went wrong
                    (numloss exercise --help)
  bench [--quick] [--out DIR]
                    time and memory of every loss beside its textbook form (make bench)

losses (NAME, class, inputs; the class name works too):
{chr(10).join(rows)}
short names: {", ".join(f"{a} ({canonical(names()[a])})" for a in ALIASES)}
layers of numloss.train: {layers} (--input; linear takes --weight and --bias)
functions of section 1: surprise, entropy, cross_entropy, kl-divergence (--p, --q, --base)

Values are JSON or Python literals; a single number given as --target is repeated for
every sample. Options are the constructor's, in kebab-case (--label-smoothing 0.1).

examples:
  numloss explain cross-entropy --input "[[2.0, 1.0, 0.1]]" --target 0
  numloss explain bce --input "[0.9, 0.55, 0.1]" --target 1 --reduction none
  numloss explain hinge --input "[2.0, 0.5, -1.0]" --target 1 --reduction none
  numloss explain cross-entropy --help      (a loss's inputs and options)
"""


# -- the command ---------------------------------------------------------------------------------
COMMANDS = {"explain": _explain, "gradcheck": _gradcheck, "bench": _bench}
exercise_command.register(COMMANDS)  # numloss exercise: numloss/exercises/command.py


def main(argv: list[str] | None = None) -> int:
    """Run the ``numloss`` command; returns the exit status (0 ok, 2 bad input)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        print(_help(), end="", file=sys.stderr)
        return 2
    if argv[0] in ("-h", "--help", "help"):
        print(_help(), end="")
        return 0
    if argv[0] in ("-V", "--version"):
        print(f"numloss {__version__}")
        return 0
    command = COMMANDS.get(argv[0])
    try:
        if command is None:
            raise UsageError(
                f"unknown command {argv[0]!r}; expected explain, gradcheck, exercise or bench "
                "(`numloss --help`)"
            )
        return command(argv[1:])
    except UsageError as err:
        print(f"numloss: error: {err}", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help of a subcommand, or the suite's own parser
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
    except BrokenPipeError:  # the reader went away (`numloss gradcheck | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # for the exit flush
        return 0
