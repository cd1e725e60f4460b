"""The gradient-check suite: every exported loss, every option, random and extreme inputs.

Run it as ``python -m numloss.gradcheck`` (or ``make gradcheck``). It finds the losses
by looking at ``numloss.__all__``: a new loss joins by being exported and by having a
row in the table of `numloss.gradcheck.cases` (which options to try, on which inputs).
It prints one row per loss, option combination and input kind, and exits with status 1
if any row fails.

Your own losses, without editing numloss
----------------------------------------
``python -m numloss.gradcheck --module mylosses`` imports ``mylosses`` (a module on the
path, or a file: ``--module path/to/mylosses.py``) and checks every `numloss.Loss`
subclass it defines, with the cases its module-level ``CASES`` dict gives, in the
format of `numloss.gradcheck.cases`::

    # mylosses.py
    import numpy as np
    import numloss as nl
    from numloss.gradcheck.cases import Cases

    class MyHinge(nl.Loss):
        ...  # Parts, _parts, _losses and _gradient, as CONTRIBUTING.md shows

    def hinge_inputs(rng, options):  # yields (label, inputs)
        yield "random", (rng.normal(0, 2, (4, 3)), rng.choice([-1.0, 1.0], (4, 3)))

    CASES = {"MyHinge": Cases(hinge_inputs, {"margin": (1.0, 0.5)})}

A class named like a numloss loss (your own ``BCELoss``) may leave out its row: it is
checked on numloss's cases for that loss.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import os
import sys
import time
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..base import Loss
from .cases import CASES, Cases, build, cases_for
from .checker import GradcheckResult, gradcheck

__all__ = ["exported_losses", "main", "module_losses", "run_suite"]


def exported_losses() -> list[type[Loss]]:
    """The `Loss` classes that ``numloss`` exports, in ``__all__`` order."""
    import numloss

    found = []
    for name in numloss.__all__:
        obj = getattr(numloss, name)
        if isinstance(obj, type) and issubclass(obj, Loss) and obj is not Loss:
            found.append(obj)
    return found


def exported_layers() -> list[type]:
    """The layers ``numloss.train`` exports, and `WithLoss` (a model followed by a loss)."""
    from numloss import train

    found = []
    for name in train.__all__:
        obj = getattr(train, name)
        if isinstance(obj, type) and (
            (issubclass(obj, train.Layer) and obj is not train.Layer) or obj is train.WithLoss
        ):
            found.append(obj)
    return found


def _describe(options: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in options.items())


def _import(name: str):
    """A module by name (looked up from the current directory too) or by .py file path.

    Every way it can fail is an ImportError of one line (the command prints it and exits
    with status 2): no such file, a file that is not .py, a syntax error, or an error
    raised while the module runs (with its line). A file's own folder goes first on the
    path, as ``python file.py`` puts it, so that its ``from helpers import ...`` works.
    """
    path = Path(name)
    if name.endswith(".py") or os.sep in name or path.is_file():  # a path, not a name
        if path.is_dir():
            raise ImportError(f"--module {name}: is a folder; expected a .py file")
        if not path.is_file():
            raise ImportError(f"--module {name}: no such file")
        if path.suffix != ".py":
            kind = f"a {path.suffix} file" if path.suffix else "a file without .py"
            raise ImportError(f"--module {name}: expected a .py file; got {kind}")
        folder = str(path.resolve().parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module  # so that its classes can be pickled and repr'd
        try:
            _run_module(name, lambda: spec.loader.exec_module(module))
        except ImportError:
            del sys.modules[path.stem]
            raise
        return module
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    return _run_module(name, lambda: importlib.import_module(name))


def _run_module(name: str, run):
    """run(), with what the student's module raised said in one line (an ImportError)."""
    try:
        return run()
    except SyntaxError as err:  # where, and what: Python's own words
        where = (
            f"{Path(err.filename).name}, line {err.lineno}"
            if err.filename
            else f"line {err.lineno}"
        )
        raise ImportError(f"--module {name}: a syntax error at {where}: {err.msg}") from None
    except ModuleNotFoundError as err:
        raise ImportError(f"--module {name}: {err}") from None
    except Exception as err:  # noqa: BLE001 - any error of the student's module, named
        frames = traceback.extract_tb(err.__traceback__)
        line = f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})" if frames else ""
        raise ImportError(
            f"--module {name}: importing it raised {type(err).__name__}: {err}{line}"
        ) from None


def module_losses(name: str) -> tuple[list[type[Loss]], dict[str, Cases]]:
    """The `Loss` subclasses module `name` defines, and the cases rows its ``CASES`` gives.

    Raises ValueError, saying what to add, when the module defines no loss or a loss has
    no row (neither in the module's ``CASES`` nor, by its name, in numloss's).
    """
    module = _import(name)
    classes = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, Loss)
        and obj.__module__ == module.__name__
        and not obj.__name__.startswith("_")
    ]
    if not classes:
        raise ValueError(f"--module {name}: defines no subclass of numloss.Loss")
    rows = dict(getattr(module, "CASES", {}))
    for key, row in rows.items():
        if not isinstance(row, Cases):
            raise ValueError(
                f"--module {name}: CASES[{key!r}] is a {type(row).__name__}; expected "
                "numloss.gradcheck.cases.Cases(inputs, options)"
            )
    missing = [c.__name__ for c in classes if c.__name__ not in rows and c.__name__ not in CASES]
    if missing:
        raise ValueError(
            f"--module {name}: no cases for {', '.join(missing)}; add to {module.__name__} "
            f"CASES = {{{missing[0]!r}: Cases(inputs, options)}} with "
            "from numloss.gradcheck.cases import Cases, where inputs(rng, options) yields "
            "(label, inputs) pairs (see python -m numloss.gradcheck --help)"
        )
    return classes, rows


@contextlib.contextmanager
def _with_rows(rows: dict[str, Cases]):
    """The cases table with `rows` added (or put in place of numloss's), for a while."""
    saved = {k: CASES[k] for k in rows if k in CASES}
    CASES.update(rows)
    try:
        yield
    finally:
        for k in rows:
            del CASES[k]
        CASES.update(saved)


def run_suite(
    losses: list[type[Loss]] | None = None,
    seed: int = 0,
    cases: dict[str, Cases] | None = None,
) -> Iterator[tuple[str, str, str, GradcheckResult]]:
    """Yield ``(loss name, options, input kind, result)`` for every case.

    ``cases`` adds rows to (or replaces rows of) the table, for losses of your own.
    """
    rng = np.random.default_rng(seed)
    with _with_rows(cases or {}):
        for cls in exported_losses() + exported_layers() if losses is None else losses:
            for options, drawn, kind, inputs in cases_for(cls, rng):
                with warnings.catch_warnings():  # e.g. KLDivLoss's "mean" warning: known
                    warnings.simplefilter("ignore", UserWarning)
                    loss = build(cls, drawn)
                seed_here = int(rng.integers(2**31))
                result = gradcheck(loss, *inputs, seed=seed_here)
                yield cls.__name__, _describe(options), kind, result


def main(argv: list[str] | None = None, prog: str = "python -m numloss.gradcheck") -> int:
    parser = _parser(prog)  # `numloss gradcheck` gives its own name, for --help and errors
    args = parser.parse_args(argv)
    classes, own_rows = exported_losses() + exported_layers(), {}
    if args.module:
        try:
            classes, own_rows = module_losses(args.module)
        except (ImportError, ValueError) as err:
            parser.error(str(err))
    if args.losses:
        by_name = {c.__name__: c for c in classes}
        unknown = [n for n in args.losses if n not in by_name]
        if unknown:
            parser.error(f"unknown loss(es) {', '.join(unknown)}; known: {', '.join(by_name)}")
        classes = [by_name[n] for n in args.losses]
    rows = print_suite(classes, args.seed, own_rows, args.verbose)
    return 1 if any(not r for r in rows) else 0


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Check every exported loss's backward against finite differences.",
    )
    parser.add_argument(
        "losses", nargs="*", help="only these losses or layers (default: all exported)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed for inputs and options")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="under every case, its errors and kinks (a failing case's are always printed)",
    )
    parser.add_argument(
        "--module",
        metavar="MODULE",
        help="check the Loss subclasses of your own module (a name or a .py file) instead, "
        "with the cases of its CASES dict (see numloss.gradcheck.suite)",
    )
    return parser


def print_suite(classes: list, seed: int, own_rows: dict, verbose: bool) -> list:
    """Run the suite, a line per case as it goes (and the details of failures), then a
    summary line; returns the results."""
    start = time.perf_counter()
    rows = []
    print(f"{'loss':<20} {'options':<58} {'inputs':<14} {'max rel err':>11} {'kinks':>5}  result")
    print("-" * 118)
    for name, options, kind, result in run_suite(classes, seed=seed, cases=own_rows):
        rows.append(result)
        verdict = "PASS" if result else "FAIL"
        print(
            f"{name:<20} {options:<58} {kind:<14} {result.max_rel_error:>11.1e} "
            f"{len(result.kinks):>5}  {verdict}",
            flush=True,
        )
        if verbose or not result:
            for line in str(result).splitlines()[1:]:
                print(f"{'':<20} {line}")
    seconds = time.perf_counter() - start
    print("-" * 118)
    print(
        f"{len(rows)} cases, {sum(r.checked for r in rows)} coordinates checked, "
        f"{sum(len(r.kinks) for r in rows)} kinks reported, {sum(not r for r in rows)} failed "
        f"({seconds:.1f} s). A kink is where the one-sided slopes differ; backward's "
        f"value there lies between them."
    )
    return rows


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
