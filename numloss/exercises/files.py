"""The student's file: percent cells (``# %%``), so it runs as a script and opens as a notebook.

One template for every exercise: the formula, the forward given (the student's class
subclasses the shipped one, so ``Parts``, ``_parts`` and ``_losses`` are the library's
own, listed in the file with their comments), the backward's body left to write, hints
one at a time, and a last cell that checks itself.
"""

from __future__ import annotations

import inspect
import os
import re
import textwrap

from .registry import Exercise, find

__all__ = ["hint", "show_hints", "solution", "student_file", "write"]


def hint(name: str, n: int = 1) -> str:
    """Hint `n` (from 1) of exercise `name`."""
    ex = find(name)
    if not 1 <= n <= len(ex.hints):
        raise ValueError(f"{name} has hints 1 to {len(ex.hints)}; got {n}")
    return f"Hint {n} of {len(ex.hints)} ({name}): {ex.hints[n - 1]}"


def show_hints(name: str, upto: int) -> None:
    """Print hints 1 to `upto` (0 prints none): raise the number one at a time."""
    for n in range(1, min(upto, len(find(name).hints)) + 1):
        print(hint(name, n))


def _parts_lines(ex: Exercise) -> list[str]:
    """The reference's Parts fields with their comments, from its source."""
    source = inspect.getsource(ex.reference.Parts)
    lines = []
    for line in source.splitlines():
        m = re.match(r"\s+(\w+): ([^#]+?)\s*#\s*(.*)", line)
        if m:
            lines.append(f"{m.group(1)}: {m.group(3)}")
    return lines


def _signature(ex: Exercise) -> tuple[str, str]:
    if ex.is_layer:
        if "input_gradient" in inspect.signature(ex.reference._backward).parameters:
            return "_backward(self, r, g, input_gradient=True)", (
                "r: the parts forward kept (listed above); g = dL/dy; input_gradient: "
                "whether dL/dx is wanted (fit passes False for the first layer: you may "
                "return dL/dx anyway)"
            )
        return "_backward(self, r, g)", "r: the parts forward kept (listed above); g = dL/dy"
    return "_gradient(self, parts, dl)", (
        "dl = dL/dl_n, the upstream gradient already through the reduction: a scalar for "
        "'mean' and 'sum', an array of the per-sample losses' shape for 'none'"
    )


def _class_name(ex: Exercise) -> str:
    return "My" + ex.reference.__name__


def _import(ex: Exercise) -> str:
    module = ex.reference.__module__
    if module == "numloss.train":
        return f"from numloss.train import {ex.reference.__name__}"
    if module.startswith("numloss.exercises"):
        return f"from numloss.exercises.losses import {ex.reference.__name__}"
    return f"from numloss import {ex.reference.__name__}"


def _wrap(text: str, prefix: str, width: int = 88) -> str:
    return "\n".join(
        textwrap.wrap(text, width - len(prefix), initial_indent=prefix, subsequent_indent=prefix)
    )


HELPERS = {  # the numloss helpers a reference solution may call, and where they live
    "positions": "from numloss.primitives import positions  # k along the classes: [k = y]",
    "leader_gradient": "from numloss.primitives import leader_gradient  # the leader's exact entry",
    "p_norm_gradient": "from numloss.ranking import p_norm_gradient  # d||v||_p / dv",
    "weighted": "from numloss.primitives import weighted  # w v, and 0 where w = 0",
}


def _helper_imports(ex: Exercise) -> str:
    """Imports of the helpers the reference solution calls, so that `exercise solution`
    pasted into the student's file runs as it is."""
    method = getattr(ex.reference, "_backward" if ex.is_layer else "_gradient")
    source = inspect.getsource(method)
    return "".join(f"{line}\n" for name, line in HELPERS.items() if f"{name}(" in source)


def student_file(name: str) -> str:
    """The text of exercise `name`'s student file."""
    ex = find(name)
    sig, about = _signature(ex)
    parts = "\n".join(f"    #     {line}" for line in _parts_lines(ex))
    what = "r" if ex.is_layer else "parts"
    formula = textwrap.indent(ex.formula, "#     ")
    derive, _, returns = (part.strip() for part in ex.derive.partition(";"))
    returns = returns or "an array of the input's shape"
    returns = returns.removeprefix("return ")
    forward = "`_forward`" if ex.is_layer else "`_parts` and `_losses`"
    method = sig.split("(")[0]
    message = "\n".join(
        f"            {line!r}"
        for line in textwrap.wrap(f"derive {derive}; return {returns}", 70, drop_whitespace=False)
    )
    dl_import = (
        "from numloss._classes import over_classes  # (N,) -> (N, 1): dl lined up with the "
        "classes\n"
        if np_classes(ex)
        else ""
    )
    dl_import += _helper_imports(ex)
    source = (
        f"From the lesson *Loss Functions for Classification*, {ex.where()}. Level {ex.level} of 5."
    )
    given = (
        f"The forward is given: your class below is `{ex.reference.__name__}` with its own "
        f"stable forward (its `Parts`, listed in the class, and {forward}). Write the body "
        f"of `{method}`. Then run the last cell, or in a terminal:"
    )
    return f"""# %% [markdown]
# # Exercise {ex.name}: {ex.title}
#
{_wrap(source, "# ")}
#
# The formula:
#
{formula}
#
{_wrap(f"Derive: {derive}. Return: {returns}.", "# ")}
#
{_wrap(given, "# ")}
#
#     numloss exercise check {ex.name}.py
#
# Stuck? `numloss exercise hint {ex.name} 1` (then 2, 3), or raise HINTS below by one.

# %%
import numpy as np

{_import(ex)}
{dl_import}from numloss.exercises import check_here, show_hints

EXERCISE = "{ex.name}"
HINTS = 0  # how many hints to show: raise it one at a time


class {_class_name(ex)}({ex.reference.__name__}):
    # the parts forward kept for you ({what}.<name>):
{parts}

    def {sig}:
{_wrap(about, "        # ")}
{_wrap(f"End with the chain rule. Return {returns}.", "        # ")}
        raise NotImplementedError(
{message}
        )


# %%
show_hints(EXERCISE, HINTS)

# %%
# Check yourself: the same check as `numloss exercise check FILE`
if __name__ == "__main__":
    print(check_here({_class_name(ex)}, EXERCISE))
"""


def np_classes(ex: Exercise) -> bool:
    """Whether the exercise's dl must be lined up with a class dimension."""
    return ex.name in ("nll", "ce-index", "ce-soft", "ce-smoothing", "multi-margin")


def write(name: str, folder: str = ".", force: bool = False) -> str:
    """Write exercise `name`'s file into `folder`; refuse to overwrite without `force`."""
    text = student_file(name)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}.py")
    if os.path.exists(path) and not force:
        raise FileExistsError(f"{path} exists: pass --force to overwrite it (your work is in it)")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def solution(name: str) -> str:
    """The reference solution: the shipped class's own backward, as its source."""
    ex = find(name)
    method = getattr(ex.reference, ex.method)
    source = textwrap.dedent(inspect.getsource(method))
    where = f"{ex.reference.__module__}.{ex.reference.__name__}.{ex.method}"
    return f"# {ex.name}: the reference solution, {where}\n{source}"
