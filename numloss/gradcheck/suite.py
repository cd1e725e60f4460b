"""The gradient-check suite: every exported loss, every option, random and extreme inputs.

Run it as ``python -m numloss.gradcheck`` (or ``make gradcheck``). It finds the losses
by looking at ``numloss.__all__``: a new loss joins by being exported and by having a
row in the table of `numloss.gradcheck.cases` (which options to try, on which inputs).
It prints one row per loss, option combination and input kind, and exits with status 1
if any row fails.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Iterator

import numpy as np

from ..base import Loss
from .cases import build, cases_for
from .checker import GradcheckResult, gradcheck

__all__ = ["exported_losses", "main", "run_suite"]


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


def run_suite(
    losses: list[type[Loss]] | None = None, seed: int = 0
) -> Iterator[tuple[str, str, str, GradcheckResult]]:
    """Yield ``(loss name, options, input kind, result)`` for every case."""
    rng = np.random.default_rng(seed)
    for cls in exported_losses() + exported_layers() if losses is None else losses:
        for options, drawn, kind, inputs in cases_for(cls, rng):
            with warnings.catch_warnings():  # e.g. KLDivLoss's "mean" warning: known here
                warnings.simplefilter("ignore", UserWarning)
                loss = build(cls, drawn)
            seed_here = int(rng.integers(2**31))
            result = gradcheck(loss, *inputs, seed=seed_here)
            yield cls.__name__, _describe(options), kind, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m numloss.gradcheck",
        description="Check every exported loss's backward against finite differences.",
    )
    parser.add_argument(
        "losses", nargs="*", help="only these losses or layers (default: all exported)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed for inputs and options")
    parser.add_argument("-v", "--verbose", action="store_true", help="print kinks and failures")
    args = parser.parse_args(argv)

    classes = exported_losses() + exported_layers()
    if args.losses:
        by_name = {c.__name__: c for c in classes}
        unknown = [n for n in args.losses if n not in by_name]
        if unknown:
            parser.error(f"unknown loss(es) {', '.join(unknown)}; known: {', '.join(by_name)}")
        classes = [by_name[n] for n in args.losses]

    start = time.perf_counter()
    rows = []
    print(f"{'loss':<20} {'options':<58} {'inputs':<14} {'max rel err':>11} {'kinks':>5}  result")
    print("-" * 118)
    for name, options, kind, result in run_suite(classes, seed=args.seed):
        rows.append(result)
        verdict = "PASS" if result else "FAIL"
        print(
            f"{name:<20} {options:<58} {kind:<14} {result.max_rel_error:>11.1e} "
            f"{len(result.kinks):>5}  {verdict}",
            flush=True,
        )
        if args.verbose or not result:
            for line in str(result).splitlines()[1:]:
                print(f"{'':<20} {line}")
    failed = sum(not r for r in rows)
    seconds = time.perf_counter() - start
    print("-" * 118)
    print(
        f"{len(rows)} cases, {sum(r.checked for r in rows)} coordinates checked, "
        f"{sum(len(r.kinks) for r in rows)} kinks reported, {failed} failed "
        f"({seconds:.1f} s). A kink is where the one-sided slopes differ; backward's "
        f"value there lies between them."
    )
    return 1 if failed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
