"""``numloss exercise``: list, start, hint, check, solution.

`register(commands)` adds the command to `numloss.cli`'s table; everything else is here.
Exit status: 0 done (or the check passed), 1 the check found a mistake, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .check import check_file
from .files import hint, solution, write
from .registry import EXERCISES

__all__ = ["main", "register"]

USAGE = """\
numloss exercise list                     the exercises, easy to hard
numloss exercise start NAME [FOLDER]      write NAME.py to derive its backward (--force)
numloss exercise hint NAME [N]            hint N (1, 2, 3: one at a time)
numloss exercise check FILE [--json] [--draw N]
                                          right, or which step of the derivation is wrong
                                          (--draw N: another draw of the random inputs)
numloss exercise solution NAME            the reference solution (for teachers)
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"numloss exercise: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="numloss exercise", usage=USAGE, add_help=True)
    sub = parser.add_subparsers(dest="action", required=True, parser_class=_Parser)
    sub.add_parser("list")
    start = sub.add_parser("start")
    start.add_argument("name")
    start.add_argument("folder", nargs="?", default=".")
    start.add_argument("--force", action="store_true", help="overwrite an existing file")
    hint_ = sub.add_parser("hint")
    hint_.add_argument("name")
    hint_.add_argument("n", nargs="?", type=int, default=1)
    check = sub.add_parser("check")
    check.add_argument("file")
    check.add_argument("--json", action="store_true", help="a machine-readable result")
    check.add_argument("--draw", type=int, default=0, help="another draw of the random inputs")
    sol = sub.add_parser("solution")
    sol.add_argument("name")
    return parser


def _list() -> str:
    width = max(len(e.name) for e in EXERCISES)
    lines = [f"{'name':<{width}}  level  exercise (lesson section)"]
    for e in EXERCISES:
        lines.append(f"{e.name:<{width}}  {e.level:^5}  {e.title} ({e.where()})")
    lines.append("\nStart one: numloss exercise start NAME [FOLDER]")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Run ``numloss exercise ...``; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 0
    try:
        if args.action == "list":
            print(_list())
        elif args.action == "start":
            path = write(args.name, args.folder, args.force)
            print(f"wrote {path}: write the backward's body, then `numloss exercise check {path}`")
        elif args.action == "hint":
            print(hint(args.name, args.n))
        elif args.action == "solution":
            print(solution(args.name), end="")
        else:
            if not os.path.isfile(args.file):
                raise FileNotFoundError(
                    f"no file {args.file!r} (`numloss exercise start` writes one)"
                )
            result = check_file(args.file, args.draw)
            if args.json:
                print(json.dumps(result.as_dict(), indent=1))
            else:
                print(result)
            return 0 if result.passed else 1
    except KeyError as err:  # an unknown exercise
        print(f"numloss exercise: error: {err.args[0]}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`numloss exercise list | head`)
        raise  # numloss's main ends quietly, as for gradcheck
    except (FileExistsError, ValueError, OSError) as err:
        print(f"numloss exercise: error: {err}", file=sys.stderr)
        return 2
    return 0


def register(commands: dict) -> None:
    """Add ``exercise`` to the ``numloss`` command's table of subcommands."""
    commands["exercise"] = main
