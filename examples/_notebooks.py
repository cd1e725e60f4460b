"""`make notebooks`: every example as an executed notebook, build/notebooks/NAME.ipynb.

    python examples/_notebooks.py                  # every example, the full runs
    python examples/_notebooks.py --quick          # their quick runs (make notebooks QUICK=1)
    python examples/_notebooks.py sec3_softmax     # only these examples
    python examples/_notebooks.py --out DIR        # write DIR/NAME.ipynb

Each script in examples/ is already a notebook in the percent format: jupytext reads its
`# %%` cells as code cells and its `# %% [markdown]` cells as Markdown; nbclient runs them
top to bottom in a Python kernel of this environment (ipykernel), in examples/ (so that
`from _common import ...` works), with matplotlib's inline backend, so every printed
number and every figure is in the notebook. A teacher hands these out; the scripts stay
the one source (nothing is written beside them: the notebooks and the figures the run
saves go under the output folder).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parent
ROOT = EXAMPLES.parent
KERNEL = "numloss-examples"  # a kernel spec of this Python, made for the run (see `kernel`)
# what a teacher's Jupyter shows as the notebook's kernel
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def scripts(names: list[str]) -> list[Path]:
    """The example scripts named (all of them when none is), in order."""
    every = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
    if not names:
        return every
    by_name = {p.stem: p for p in every}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        known = ", ".join(by_name)
        raise SystemExit(f"_notebooks.py: no example named {', '.join(unknown)}; known: {known}")
    return [by_name[n] for n in names]


def notebook(script: Path, quick: bool) -> nbformat.NotebookNode:
    """The script as a notebook; with `quick`, a first cell that asks for its --quick run."""
    nb = jupytext.read(script, fmt="py:percent")
    if quick:  # the scripts read --quick from sys.argv (parse_known_args), as a notebook can
        first = "import sys\n\nsys.argv.append('--quick')  # the quick run (make notebooks QUICK=1)"
        nb.cells.insert(0, nbformat.v4.new_code_cell(first))
    nb.metadata["kernelspec"] = KERNELSPEC
    return nb


def execute(nb: nbformat.NotebookNode, kernels: Path) -> None:
    """Run every cell in examples/, in a kernel of this very Python; outputs go in `nb`."""
    specs = KernelSpecManager(kernel_dirs=[str(kernels)])
    client = NotebookClient(
        nb,
        km=KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs),
        timeout=600,  # seconds per cell: the longest (training) takes well under a minute
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    # the kernel's own stderr (its notices about TCP and shutting down) is shown only if
    # the run fails: a cell's errors and warnings are in its outputs either way
    with tempfile.TemporaryFile("w+") as log:
        try:
            client.execute(stderr=log)
        except Exception:
            log.seek(0)
            sys.stderr.write(log.read())
            raise
    nb.metadata["kernelspec"] = KERNELSPEC  # the run's spec was this machine's own


def kernel(folder: Path) -> Path:
    """A kernel spec for this Python in `folder`: whatever `python3` kernel a user's Jupyter
    knows (another Python's, without numloss) is not the one that runs the examples."""
    write_kernel_spec(path=str(folder / KERNEL))
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python examples/_notebooks.py", description=__doc__)
    parser.add_argument("names", nargs="*", help="only these examples (default: all)")
    parser.add_argument("--quick", action="store_true", help="each example's quick run")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "notebooks")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    # figures inline; the PNGs the examples also save go beside the notebooks
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ["NUMLOSS_FIGURES"] = str((args.out / "figures").resolve())
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        kernels = kernel(Path(folder))
        for script in scripts(args.names):
            began = time.perf_counter()
            nb = notebook(script, args.quick)
            execute(nb, kernels)
            path = args.out / f"{script.stem}.ipynb"
            nbformat.write(nb, path)
            print(f"{path} ({time.perf_counter() - began:.1f} s)", flush=True)
    print(f"notebooks built and executed in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
