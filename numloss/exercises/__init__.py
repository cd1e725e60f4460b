"""Exercises: derive each backward yourself, and be told which step went wrong.

    numloss exercise list                  # the exercises, easy to hard
    numloss exercise start ce-index        # writes ce-index.py: the backward left to write
    numloss exercise hint ce-index 1       # hints, one at a time
    numloss exercise check ce-index.py     # right, or which step of the derivation is wrong
    numloss exercise solution ce-index     # for teachers: the reference solution

Each exercise is a loss or layer of numloss whose backward the student writes; its
forward is the library's own (`registry`). `check` compares the student's gradient with
the true one on several shapes, seeds, reductions, upstream gradients, options, the
lesson's numbers and extreme inputs, and names the mistake (`diagnosis`).
"""

from __future__ import annotations

from .check import Result, check_class, check_file
from .files import hint, show_hints, solution, student_file, write
from .registry import EXERCISES, KINDS, find

__all__ = [
    "EXERCISES",
    "KINDS",
    "Result",
    "check_class",
    "check_file",
    "check_here",
    "find",
    "hint",
    "show_hints",
    "solution",
    "student_file",
    "write",
]


def check_here(cls, exercise: str) -> Result:
    """The last cell of a student's file: check `cls` for `exercise`."""
    return check_class(cls, exercise)
