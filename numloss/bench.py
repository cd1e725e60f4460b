"""numloss's benchmark: forward + backward time and peak memory, beside the alternatives.

    python -m numloss.bench              # the full run (several minutes), in ./build/bench/
    python -m numloss.bench --quick      # tiny shapes, seconds: in ./build/bench-quick/
    python -m numloss.bench --out DIR    # write DIR/bench_results.md, DIR/figures/bench_scaling.png

Results go under the current folder, never into the installed package; `make bench` gives
``--out examples`` to rewrite the repository's committed results.

What is measured, for each row of the table of cases (`cases`):

- time: forward + backward (the loss built, called, and its gradient returned), the median
  of several repeats (`time_interleaved`). The implementations of a row take turns, round
  after round, so their ratios come from the same conditions;
- memory: the peak bytes `tracemalloc` traces during one more, untimed, forward + backward,
  the returned gradient included (`peak_memory`), divided by the bytes of the
  differentiable inputs (the issue's target: at most 1.5).

Each row puts numloss beside

- the textbook form of the same loss (`numloss.textbook`: the formula as written, one-hot
  targets, a fresh array per step), when it is registered there;
- PyTorch CPU, `torch.nn`'s module of the same name, forward + ``.backward()``, on one
  thread and on two, when torch is installed;
- scikit-learn's Cython losses for softmax cross-entropy and BCE with logits (see
  `sklearn_run` for their conventions), one thread and two, when installed.

Three more tables measure where students live (`small_batch_rows`, `epoch_rows`,
`examples_seconds`):

- small batches: every loss's forward + backward at batch 64 and 128 (C = 10, default
  options), the loss built once as in a training loop, beside PyTorch on one thread;
- training epochs: one epoch of `numloss.train.fit` (the batches' steps with SGD and
  momentum, then the loss and accuracy of the whole set, as fit records them) for two
  MLPs, 64-64-10 on the 1,347 training digits (batch 64) and 784-256-10 on 8,192 random
  samples (batch 128), float64 and float32, beside the same loop in PyTorch on one thread;
- the time of ``make examples`` (every example's full run, after set-up; full run only).

Neither PyTorch nor scikit-learn is a dependency: each is imported only if it is there.
Ratios are numloss's time divided by the other's: below 1, numloss is faster.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np

import numloss
from numloss.gradcheck.cases import CASES
from numloss.gradcheck.suite import exported_losses

__all__ = ["Case", "Row", "cases", "main", "peak_memory", "time_interleaved"]

COMPARATORS = ("textbook", "sklearn 1t", "sklearn 2t", "torch 1t", "torch 2t")


# -- the table of cases ------------------------------------------------------------------
class Case(NamedTuple):
    section: str  # "libraries", "every loss" or "scaling"
    loss: str  # the class name in numloss
    options: dict  # the constructor's options
    shape: tuple
    dtype: type
    repeats: int  # timed rounds
    compare: bool  # beside the textbook form and the libraries, and its memory measured


FULL = {
    "every loss": (16384, 64),  # 2^20 numbers per differentiable input
    "libraries": [
        ("CrossEntropyLoss", (65536, 10)),
        ("CrossEntropyLoss", (8192, 1000)),
        ("CrossEntropyLoss", (1024, 50000)),
        ("BCEWithLogitsLoss", (10**7,)),
    ],
    "scaling": np.logspace(4, 8, 9),  # 10^4 .. 10^8 elements, half a decade apart
    "fit": (1e5, 1e8),  # the range of the log-log slope
    "repeats": 5,
    "small batches": (15, 200),  # rounds, and calls per timed run
    "epochs": (7, 8192),  # rounds, and the samples of the 784-256-10 MLP's data
    "examples": True,  # time `make examples`
}
QUICK = {
    "every loss": (64, 16),
    "libraries": [
        ("CrossEntropyLoss", (512, 10)),
        ("CrossEntropyLoss", (64, 1000)),
        ("CrossEntropyLoss", (8, 50000)),
        ("BCEWithLogitsLoss", (10**5,)),
    ],
    "scaling": np.logspace(4, 6, 3),
    "fit": (1e5, 1e6),
    "repeats": 2,
    "small batches": (2, 5),
    "epochs": (1, 512),
    "examples": False,
}
SCALING_CLASSES = 1000  # the sweep's cross-entropy is (n / 1000, 1000)
DTYPES = (np.float64, np.float32)


def cases(mode: dict) -> list[Case]:
    """Every measured row: the libraries' shapes, every loss, the scaling sweep."""

    def case(section, loss, reduction, shape, dtype):
        repeats = 3 if np.prod(shape) > 3e7 else mode["repeats"]  # a run takes seconds there
        # the sweep times numloss alone: up to 10^8 elements, time and memory are short
        compare = section != "scaling"
        return Case(section, loss, {"reduction": reduction}, shape, dtype, repeats, compare)

    table = [
        case("libraries", loss, "mean", shape, dtype)
        for dtype in DTYPES
        for loss, shape in mode["libraries"]
    ]
    table += [
        case("every loss", cls.__name__, reduction, mode["every loss"], dtype)
        for cls in exported_losses()
        for dtype in DTYPES
        for reduction in ("mean", "sum")
    ]
    for n in mode["scaling"]:  # in float64
        ce_shape = (round(n / SCALING_CLASSES), SCALING_CLASSES)
        table.append(case("scaling", "CrossEntropyLoss", "mean", ce_shape, np.float64))
        table.append(case("scaling", "BCEWithLogitsLoss", "mean", (round(n),), np.float64))
    return table


# -- the two measurements ----------------------------------------------------------------
def time_interleaved(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """The median seconds of each run over `repeats` rounds.

    A round calls every run in turn (round-robin), so that a slow moment of a shared
    machine falls on all of them alike. Within a round each run is called twice, untimed
    then timed: NumPy asks the kernel for huge pages for large arrays, and right after
    another library has run the kernel may first have to compact memory (BCE at 10^7
    float64 took 0.55 s after itself, 0.7 to 1.1 s right after PyTorch or scikit-learn),
    so the untimed call lets every implementation be timed in its own steady state, as
    in a training loop. It is also the warm-up. A run's result is freed after its clock
    stops, for every run the same.
    """
    seconds = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            untimed = run()  # settles the allocator and the page tables
            del untimed
            start = time.perf_counter()
            result = run()
            seconds[name].append(time.perf_counter() - start)
            del result
    return {name: statistics.median(s) for name, s in seconds.items()}


def peak_memory(run: Callable[[], object]) -> int:
    """The peak bytes `tracemalloc` traces during one call of `run`, its result included.

    Only what the call allocates counts (what was traced before it is subtracted), and its
    result is still alive when the peak is read, so a returned gradient is part of it.
    NumPy reports its array buffers to tracemalloc; PyTorch's allocator does not.
    """
    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    try:
        result = run()
        peak = tracemalloc.get_traced_memory()[1]
        del result
    finally:
        if started_here:
            tracemalloc.stop()
    return peak - before


# -- one run per implementation: a function of no arguments, returning the gradients -------
def numloss_run(name: str, options: dict, inputs: tuple) -> Callable[[], object]:
    cls = getattr(numloss, name)

    def run():
        loss = cls(**options)  # built inside: its record is freed with it, after each run
        loss(*inputs)
        return loss.backward()

    return run


def on_threads(run: Callable[[], object], threads: int) -> Callable[[], object]:
    """`run` with numloss's blocks on `threads` threads (`numloss.set_num_threads`), then back."""

    def threaded():
        before = numloss.get_num_threads()
        numloss.set_num_threads(threads)
        try:
            return run()
        finally:
            numloss.set_num_threads(before)

    return threaded


def textbook_run(textbook, name: str, options: dict, inputs: tuple):
    """numloss.textbook's form of the loss, or None when it has none (or no textbook yet)."""
    if textbook is None or name not in textbook.TEXTBOOK:
        return None
    return lambda: textbook.value_and_grad(name, options, *inputs)


def torch_run(torch, name: str, options: dict, inputs: tuple, threads: int):
    """``torch.nn.<name>(**options)``, forward + ``.backward()`` on `threads` threads, or None
    when torch is not installed or has no module of that name (HingeLoss, FocalLoss, ...).
    The tensors share the NumPy arrays' memory; each run starts with no gradient, so that
    backward allocates a fresh one, as numloss does."""
    module = None if torch is None else getattr(torch.nn, name, None)
    if module is None:
        return None
    module = module(**options)
    tensors = [torch.from_numpy(a) for a in inputs]
    leaves = [tensors[getattr(numloss, name).inputs.index(d)] for d in differentiable(name)]
    for leaf in leaves:
        leaf.requires_grad_()

    def run():
        torch.set_num_threads(threads)  # timed with the run: about 10 microseconds
        for leaf in leaves:
            leaf.grad = None
        module(*tensors).backward()
        return [leaf.grad for leaf in leaves]

    return run


def sklearn_run(sklearn_loss, name: str, options: dict, inputs: tuple, threads: int):
    """scikit-learn's Cython loss for the same computation, or None where it has none.

    Their conventions (sklearn/_loss/loss.py, checked against scipy on a small input):

    - ``HalfMultinomialLoss(n_classes=C)``: raw_prediction the (N, C) logits z, y_true the
      class indices *as floats* of z's dtype; per sample it returns the loss
      logsumexp(z) - z_y, which is softmax cross-entropy ("half" the multinomial
      deviance), and the gradient softmax(z) - onehot(y);
    - ``HalfBinomialLoss()``: raw_prediction the logits x (1-D), y_true labels 0/1; per
      element the loss log(1 + e^x) - y x, which is BCE with logits, and the gradient
      sigmoid(x) - y.

    Both return per-sample losses and *unscaled* per-sample gradients, in float32 for
    float32 inputs (computed in float64 inside). Here the losses are reduced (mean or sum,
    one pass over N numbers) and the gradient is left as it comes: its 1/N, for "mean", is
    work numloss does and this timing does not.
    """
    known = name in ("CrossEntropyLoss", "BCEWithLogitsLoss")
    if sklearn_loss is None or not known or set(options) != {"reduction"}:
        return None
    raw, target = inputs
    if name == "CrossEntropyLoss":  # logits (N, C), class indices (N,)
        loss = sklearn_loss.HalfMultinomialLoss(n_classes=raw.shape[1])
    else:
        loss, raw = sklearn_loss.HalfBinomialLoss(), raw.reshape(-1)
    y_true = np.ascontiguousarray(target.reshape(-1), dtype=raw.dtype)  # converted untimed
    reduce = np.mean if options["reduction"] == "mean" else np.sum

    def run():
        losses, gradient = loss.loss_gradient(y_true, raw, n_threads=threads)
        return reduce(losses), gradient

    return run


def differentiable(name: str) -> tuple[str, ...]:
    return getattr(numloss, name).differentiable


def differentiable_bytes(name: str, inputs: tuple) -> int:
    names = getattr(numloss, name).inputs
    return sum(inputs[names.index(d)].nbytes for d in differentiable(name))


def optional_import(module: str):
    """The module, or None when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


# -- measuring the table -------------------------------------------------------------------
class Row(NamedTuple):
    case: Case
    seconds: dict[str, float]  # implementation -> median seconds ("numloss" always there)
    memory: dict[str, float]  # implementation -> peak / differentiable input bytes

    def ratio(self, other: str, mine: str = "numloss") -> float | None:
        """numloss's time (or `mine`'s) over `other`'s (below 1: numloss is faster), or None."""
        if other not in self.seconds or mine not in self.seconds:
            return None
        return self.seconds[mine] / self.seconds[other]


def measure(case: Case, libraries: dict, rng: np.random.Generator) -> Row:
    """Time (and measure the memory of) every implementation of one case."""
    inputs = CASES[case.loss].make(rng, case.shape, case.dtype)  # the loss's own row
    runs = {"numloss": numloss_run(case.loss, case.options, inputs)}
    if case.section == "libraries":  # numloss on both cores, timed right after one core:
        # not after PyTorch, whose idle OpenMP threads keep spinning on the other core
        # for a while after each call (numloss on two threads took 1.5x its time there)
        runs["numloss 2t"] = on_threads(runs["numloss"], 2)
    if case.compare:
        torch, sk = libraries["torch"], libraries["sklearn"]
        runs["textbook"] = textbook_run(libraries["textbook"], case.loss, case.options, inputs)
        runs["sklearn 1t"] = sklearn_run(sk, case.loss, case.options, inputs, threads=1)
        runs["sklearn 2t"] = sklearn_run(sk, case.loss, case.options, inputs, threads=2)
        runs["torch 1t"] = torch_run(torch, case.loss, case.options, inputs, threads=1)
        runs["torch 2t"] = torch_run(torch, case.loss, case.options, inputs, threads=2)
        runs = {name: run for name, run in runs.items() if run is not None}
    seconds = time_interleaved(runs, case.repeats)
    memory = {}
    if case.compare:
        size = differentiable_bytes(case.loss, inputs)
        for name in ("numloss", "textbook"):
            if name in runs:
                memory[name] = peak_memory(runs[name]) / size
    return Row(case, seconds, memory)


def progress_line(i: int, total: int, row: Row) -> str:
    c = row.case
    times = " | ".join(f"{name} {_ms(s)}" for name, s in row.seconds.items())
    line = f"[{i:3d}/{total}] {c.section}: {c.loss} {c.options['reduction']} {c.shape} "
    line += f"{np.dtype(c.dtype).name}: {times} ms"
    if row.memory:
        line += " | memory " + ", ".join(f"{n} {m:.2f}x" for n, m in row.memory.items())
    return line


def slope(rows: list[Row], loss: str, fit: tuple[float, float]) -> float:
    """The least-squares slope of log(time) against log(elements) within `fit`."""
    points = [
        (np.prod(r.case.shape), r.seconds["numloss"])
        for r in rows
        if r.case.section == "scaling" and r.case.loss == loss
    ]
    n, t = np.array([p for p in points if fit[0] * 0.99 <= p[0] <= fit[1] * 1.01]).T
    return float(np.polyfit(np.log10(n), np.log10(t), 1)[0])


# -- where students live: small batches, training epochs, the examples --------------------
SMALL_BATCHES = (64, 128)
SMALL_CLASSES = 10  # the digits' classes: inputs (N, 10)


def repeated(run: Callable[[], object], times: int) -> Callable[[], object]:
    """`run` called `times` times in a row: a call of microseconds, timed as one run."""

    def runs():
        for _ in range(times):
            result = run()
        return result

    return runs


def small_batch_rows(mode: dict, libraries: dict, rng, start: int, total: int) -> list[Row]:
    """Every loss's forward + backward at batch 64 and 128, beside PyTorch on one thread.

    The loss (PyTorch's module) is built once, as a training loop builds it; a timed run
    is `calls` forward + backward in a row, and the table shows the time of one.
    """
    rounds, calls = mode["small batches"]
    rows = []
    for cls in exported_losses():
        for n in SMALL_BATCHES:
            case = Case(
                "small batches",
                cls.__name__,
                {"reduction": "mean"},
                (n, SMALL_CLASSES),
                np.float64,
                rounds,
                True,
            )
            inputs = CASES[case.loss].make(rng, case.shape, case.dtype)
            loss = cls(**case.options)

            def step(loss=loss, inputs=inputs):
                loss(*inputs)
                return loss.backward()

            runs = {"numloss": step}
            torch_step = torch_run(libraries["torch"], case.loss, case.options, inputs, 1)
            if torch_step is not None:
                runs["torch 1t"] = torch_step
            seconds = time_interleaved({k: repeated(r, calls) for k, r in runs.items()}, rounds)
            rows.append(Row(case, {k: s / calls for k, s in seconds.items()}, {}))
            print(progress_line(start + len(rows), total, rows[-1]), flush=True)
    return rows


class Network(NamedTuple):
    name: str  # "MLP 64-64-10", ...
    data: str  # where its samples come from
    sizes: tuple[int, int, int]  # inputs, hidden units, classes
    batch: int


def epoch_networks(samples: int) -> list[Network]:
    return [
        Network("MLP 64-64-10", "digits, 1,347 training images", (64, 64, 10), 64),
        Network("MLP 784-256-10", f"{samples:,} random samples", (784, 256, 10), 128),
    ]


def digits_training_set():
    """The 1,347 training digits of examples/sec3_1_training.py (its split), or None when
    the repository's examples/ is not beside the package (an installed copy)."""
    folder = Path(numloss.__file__).resolve().parent.parent / "examples"
    if not (folder / "data" / "digits.csv.gz").is_file():
        return None
    spec = importlib.util.spec_from_file_location("_numloss_examples_common", folder / "_common.py")
    common = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(common)
    X, y = common.load_digits()
    X_train, _, y_train, _ = common.train_test_split(X, y, test_fraction=0.25, seed=0)
    return X_train, y_train


def numloss_epoch(network: Network, X, y, dtype) -> Callable[[], object]:
    """One epoch of `numloss.train.fit`, from the same initial weights on every run."""
    from numloss.train import SGD, Linear, ReLU, Sequential, fit

    d, h, c = network.sizes
    model = Sequential(Linear(d, h, seed=0, dtype=dtype), ReLU(), Linear(h, c, seed=1, dtype=dtype))
    loss = numloss.CrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=0.01, momentum=0.9)
    initial = [p.data.copy() for p in model.parameters()]

    def run():
        for p, w in zip(model.parameters(), initial, strict=True):
            p.data[...] = w
        optimizer.buffers = [None] * len(initial)
        return fit(
            model,
            loss,
            X,
            y,
            epochs=1,
            batch_size=network.batch,
            optimizer=optimizer,
            seed=0,
            quiet=True,
        )

    return run, model


def torch_epoch(torch, network: Network, X, y, dtype, weights) -> Callable[[], object]:
    """The same epoch in PyTorch, written as its tutorials write it, on one thread: the
    same batches, then the loss and accuracy of the whole set without gradients."""
    d, h, c = network.sizes
    nn = torch.nn
    model = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, c)).to(
        torch.from_numpy(np.zeros(1, dtype)).dtype
    )
    initial = [torch.from_numpy(w.copy()) for w in weights]
    loss = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    inputs, targets = torch.from_numpy(X), torch.from_numpy(y)

    def run():
        torch.set_num_threads(1)
        with torch.no_grad():
            for p, w in zip(model.parameters(), initial, strict=True):
                p.copy_(w)
        optimizer.state.clear()
        order = torch.from_numpy(np.random.default_rng(0).permutation(len(X)))
        for start in range(0, len(X), network.batch):
            rows = order[start : start + network.batch]
            optimizer.zero_grad()
            loss(model(inputs[rows]), targets[rows]).backward()
            optimizer.step()
        with torch.no_grad():
            out = model(inputs)
            return float(loss(out, targets)), float((out.argmax(1) == targets).double().mean())

    return run


def epoch_rows(mode: dict, libraries: dict, start: int, total: int) -> list[Row]:
    """One training epoch of each network, float64 and float32, beside PyTorch."""
    rounds, samples = mode["epochs"]
    rng = np.random.default_rng(0)
    data = {
        "MLP 64-64-10": digits_training_set(),
        "MLP 784-256-10": (rng.standard_normal((samples, 784)), rng.integers(0, 10, samples)),
    }
    rows = []
    for network in epoch_networks(samples):
        for dtype in DTYPES:
            if data[network.name] is None:
                continue
            X, y = data[network.name]
            X = X.astype(dtype)
            case = Case("epochs", network.name, {"reduction": "mean"}, X.shape, dtype, rounds, True)
            run, model = numloss_epoch(network, X, y, dtype)
            runs = {"numloss": run}
            if libraries["torch"] is not None:
                weights = [p.data for p in model.parameters()]
                runs["torch 1t"] = torch_epoch(libraries["torch"], network, X, y, dtype, weights)
            rows.append(Row(case, time_interleaved(runs, rounds), {}))
            print(progress_line(start + len(rows), total, rows[-1]), flush=True)
    return rows


def examples_seconds(mode: dict) -> dict[str, float]:
    """Each example's full run, in seconds, as ``make examples`` runs them (after set-up);
    empty with --quick, or where the repository's examples/ is not beside the package."""
    folder = Path(numloss.__file__).resolve().parent.parent / "examples"
    scripts = sorted(p for p in folder.glob("*.py") if not p.name.startswith("_"))
    if not mode["examples"] or not scripts:
        return {}
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1")
    seconds = {}
    for script in scripts:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, str(script)],
            cwd=folder.parent,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        seconds[script.name] = time.perf_counter() - start
        print(f"[examples] {script.name}: {seconds[script.name]:.2f} s", flush=True)
    return seconds


# -- the outputs ---------------------------------------------------------------------------
RATIO_COLUMNS = ["loss", "reduction", "shape", "dtype", "numloss ms"]
RATIO_COLUMNS += [f"÷ {name}" for name in COMPARATORS]
RATIO_COLUMNS += ["memory ÷ inputs", "textbook memory ÷ inputs"]


def ratio_table(rows: list[Row]) -> list[str]:
    """A Markdown table: numloss's time, its ratio to each other implementation, memory."""
    lines = [_markdown_row(RATIO_COLUMNS), _markdown_row(["---"] * len(RATIO_COLUMNS))]
    for r in rows:
        c = r.case
        cells = [c.loss, c.options["reduction"], _shape(c.shape), np.dtype(c.dtype).name]
        cells.append(_ms(r.seconds["numloss"]))
        cells += [_number(r.ratio(name)) for name in COMPARATORS]
        cells += [_number(r.memory.get("numloss")), _number(r.memory.get("textbook"))]
        lines.append(_markdown_row(cells))
    return lines


TWO_THREADS_COLUMNS = ["loss", "shape", "dtype", "numloss 2t ms", "÷ numloss 1t"]
TWO_THREADS_COLUMNS += [f"÷ {name}" for name in COMPARATORS if name != "textbook"]


def two_threads_table(rows: list[Row]) -> list[str]:
    """numloss on two threads (`numloss.set_num_threads(2)`): its ratios to the same columns."""
    lines = [_markdown_row(TWO_THREADS_COLUMNS), _markdown_row(["---"] * len(TWO_THREADS_COLUMNS))]
    for r in rows:
        if "numloss 2t" not in r.seconds:
            continue
        c = r.case
        cells = [c.loss, _shape(c.shape), np.dtype(c.dtype).name, _ms(r.seconds["numloss 2t"])]
        others = ["numloss"] + [name for name in COMPARATORS if name != "textbook"]
        cells += [_number(r.ratio(name, mine="numloss 2t")) for name in others]
        lines.append(_markdown_row(cells))
    return lines


def times_table(rows: list[Row]) -> list[str]:
    """A Markdown table of every implementation's median time, in milliseconds."""
    columns = ["loss", "reduction", "shape", "dtype", "numloss", "numloss 2t", *COMPARATORS]
    lines = [_markdown_row(columns), _markdown_row(["---"] * len(columns))]
    for r in rows:
        c = r.case
        cells = [c.loss, c.options["reduction"], _shape(c.shape), np.dtype(c.dtype).name]
        cells += [_ms(r.seconds.get(name)) for name in ("numloss", "numloss 2t", *COMPARATORS)]
        lines.append(_markdown_row(cells))
    return lines


def scaling_table(rows: list[Row]) -> list[str]:
    lines = [_markdown_row(["loss", "shape", "elements", "numloss ms"]), _markdown_row(["---"] * 4)]
    for r in rows:
        shape = r.case.shape
        cells = [r.case.loss, _shape(shape), f"{np.prod(shape):.3g}", _ms(r.seconds["numloss"])]
        lines.append(_markdown_row(cells))
    return lines


def small_batch_table(rows: list[Row]) -> list[str]:
    """Each loss's forward + backward at a small batch, in microseconds, beside PyTorch."""
    columns = ["loss", "shape", "dtype", "numloss µs", "torch 1t µs", "÷ torch 1t"]
    lines = [_markdown_row(columns), _markdown_row(["---"] * len(columns))]
    for r in rows:
        c = r.case
        cells = [c.loss, _shape(c.shape), np.dtype(c.dtype).name]
        cells += [_us(r.seconds.get("numloss")), _us(r.seconds.get("torch 1t"))]
        cells.append(_number(r.ratio("torch 1t")))
        lines.append(_markdown_row(cells))
    return lines


def epoch_table(rows: list[Row]) -> list[str]:
    """One training epoch of each network, in milliseconds, beside PyTorch."""
    networks = {n.name: n for n in epoch_networks(0)}
    columns = ["network", "samples", "batch", "dtype", "numloss ms", "torch 1t ms", "÷ torch 1t"]
    lines = [_markdown_row(columns), _markdown_row(["---"] * len(columns))]
    for r in rows:
        c = r.case
        cells = [c.loss, f"{c.shape[0]:,}", str(networks[c.loss].batch), np.dtype(c.dtype).name]
        cells += [_ms(r.seconds.get("numloss")), _ms(r.seconds.get("torch 1t"))]
        cells.append(_number(r.ratio("torch 1t")))
        lines.append(_markdown_row(cells))
    return lines


def examples_section(seconds: dict[str, float]) -> list[str]:
    """The time of ``make examples``: each example's full run, and the total."""
    if not seconds:
        return ["Not timed (`--quick`, or no examples/ beside the package)."]
    lines = [
        f"`make examples` after set-up, every example's full run one after the other: "
        f"**{sum(seconds.values()):.1f} s** (the target: at most 25 s).",
        "",
        _markdown_row(["example", "seconds"]),
        _markdown_row(["---", "---"]),
    ]
    return lines + [_markdown_row([name, f"{t:.2f}"]) for name, t in seconds.items()]


def machine() -> dict[str, str]:
    """The CPU, core count and versions the numbers were measured with."""
    cpu, flags = platform.processor() or "unknown", []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags"):  # NumPy's exp and log run SIMD where these allow
                flags = line.split(":", 1)[1].split()
                break
    except OSError:
        pass
    simd = [name for flag, name in (("avx2", "AVX2"), ("avx512f", "AVX-512")) if flag in flags]
    versions = {}
    for label, module in (("PyTorch", "torch"), ("scikit-learn", "sklearn")):
        found = optional_import(module)
        versions[label] = found.__version__ if found is not None else "not installed"
    return {
        "CPU": cpu + (f" ({', '.join(simd)})" if simd else ""),
        "cores": str(os.cpu_count()),
        "Python": platform.python_version(),
        "NumPy": np.__version__,
        **versions,
        "date": datetime.date.today().isoformat(),
    }


def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


HOW_TO_READ = (
    "How to read it: each `÷ X` column is numloss's time divided by X's, measured in the "
    "same run, in turn (below 1: numloss is faster). `1t`/`2t`: one thread, two threads. "
    "Memory is the peak traced by `tracemalloc` during forward + backward, the returned "
    "gradient included, divided by the bytes of the differentiable inputs (the target is "
    "at most 1.5); PyTorch's allocator is not traced, so it has no memory column. "
    "The textbook form computes in float64 whatever the input's dtype. scikit-learn "
    "returns per-sample gradients, not scaled by 1/N. `-`: not measured (not installed, "
    "or no such loss there)."
)


def write_markdown(path: Path, rows, slopes, mode_name, about, note, examples=None) -> None:
    """The results as Markdown: how they were measured, then one section per table."""
    names = ("libraries", "every loss", "small batches", "epochs")
    section = {s: [r for r in rows if r.case.section == s] for s in names}
    command = "python -m numloss.bench" + (" --quick" if mode_name == "quick" else "")
    text = [
        "# numloss benchmark",
        "",
        f"`{command}`: forward + backward, the median of several repeats, each right after "
        "an untimed call of the same implementation, the implementations in turn.",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in about.items()) + ".",
        *(["", f"**{note}**"] if note else []),
        "",
        HOW_TO_READ,
        *_section("Against the libraries", ratio_table(section["libraries"])),
        *_section(
            "Both cores",
            [
                "numloss with `numloss.set_num_threads(2)` (or `NUMLOSS_THREADS=2`): blocks of "
                "rows on two threads, the same results bit for bit.",
                "",
            ]
            + two_threads_table(section["libraries"]),
        ),
        *_section(
            "Every loss",
            ["Default options; the shape is each differentiable input's.", ""]
            + ratio_table(section["every loss"]),
        ),
        *_section(
            "Small batches",
            [
                "Each loss's forward + backward on a batch a training loop gives it (C = 10, "
                "default options), the loss built once; the time of one call, the median of "
                "rounds of many calls; PyTorch on one thread.",
                "",
            ]
            + small_batch_table(section["small batches"]),
        ),
        *_section(
            "Training epochs",
            [
                "One epoch of `numloss.train.fit` (SGD, lr 0.01, momentum 0.9; every batch's "
                "zero_grad, forward, CrossEntropyLoss, backward and step, then the loss and "
                "accuracy of the whole set), from the same weights on every run; PyTorch: the "
                "same loop, the same batches, on one thread. MLP 64-64-10: the 1,347 "
                "training digits of examples/sec3_1_training.py; MLP 784-256-10: random "
                "samples, random labels.",
                "",
            ]
            + epoch_table(section["epochs"]),
        ),
        *_section("make examples", examples_section(examples or {})),
        *_section("Scaling", scaling_section(rows, slopes)),
        *_section("Every time (ms)", times_table(section["libraries"] + section["every loss"])),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(text) + "\n")


def _section(title: str, lines: list[str]) -> list[str]:
    return ["", f"## {title}", "", *lines]


def scaling_section(rows: list[Row], slopes: dict) -> list[str]:
    """The scaling figure, the fitted slopes and the sweep's times."""
    lines = ["![time against elements](figures/bench_scaling.png)", ""]
    lines += ["Log-log slope of time against elements (linear cost: 1; the target: 0.9 to 1.1):"]
    lines += [""] + [
        f"- {loss}, {lo:.0e} to {hi:.0e}: {s:.2f}" for loss, (lo, hi, s) in slopes.items()
    ]
    return lines + ["", *scaling_table([r for r in rows if r.case.section == "scaling"])]


def plot_scaling(path: Path, rows: list[Row], slopes: dict, fit: tuple[float, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for loss, style in (("CrossEntropyLoss", "o-"), ("BCEWithLogitsLoss", "s-")):
        mine = [r for r in rows if r.case.section == "scaling" and r.case.loss == loss]
        n = np.array([np.prod(r.case.shape) for r in mine], dtype=float)
        t = np.array([r.seconds["numloss"] for r in mine])
        label = f"{loss}: slope {slopes[loss][2]:.2f}"
        if loss == "CrossEntropyLoss":
            label = f"{loss} (N, {SCALING_CLASSES}): slope {slopes[loss][2]:.2f}"
        ax.loglog(n, t, style, label=label)
        if loss == "CrossEntropyLoss":  # where a guide of slope 1 starts: CE's first fitted point
            first = np.argmax(n >= fit[0] * 0.99)
            guide_n = np.array([n[first], fit[1]])
            guide_t = t[first] * guide_n / n[first]
    ax.loglog(guide_n, guide_t, ":", color="0.4", label="slope 1: linear cost")
    ax.axvspan(*fit, color="0.92", zorder=0, label="range of the fitted slope")
    ax.set_xlabel("elements (N × C, or N)")
    ax.set_ylabel("forward + backward time (s, median)")
    ax.set_title("numloss's time against input size (float64): slope 1 is linear")
    ax.legend(loc="upper left")
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _markdown_row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def _shape(shape: tuple) -> str:
    return str(tuple(int(d) for d in shape))  # (8192, 1000), (10000000,)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.3g}"


def _us(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e6:.3g}"


def _number(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"  # 3 digits: 1.83, 0.94, and 0.0034 stays > 0


# -- the command ---------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> list[Row]:
    args = parse_arguments(argv)
    mode, mode_name = (QUICK, "quick") if args.quick else (FULL, "full")
    libraries = {
        "textbook": optional_import("numloss.textbook"),
        "torch": optional_import("torch"),
        "sklearn": optional_import("sklearn._loss.loss"),
    }
    about = machine()
    about["load average at the start"] = load_average()
    print(
        f"numloss bench ({mode_name}): " + "; ".join(f"{k} {v}" for k, v in about.items()),
        flush=True,
    )
    missing = [name for name, module in libraries.items() if module is None]
    if missing:
        print(f"not measured (not installed or not written yet): {', '.join(missing)}", flush=True)
    table = cases(mode)
    total = len(table) + len(exported_losses()) * len(SMALL_BATCHES) + 2 * len(DTYPES)
    rows = measure_all(table, libraries, total)
    rows += measure_where_students_live(mode, libraries, len(rows), total)
    examples = examples_seconds(mode)
    about["load average at the end"] = load_average()
    slopes = {
        loss: (*mode["fit"], slope(rows, loss, mode["fit"]))
        for loss in ("CrossEntropyLoss", "BCEWithLogitsLoss")
    }
    print_summary(rows, slopes)
    markdown = args.out / "bench_results.md"
    figure = args.out / "figures" / "bench_scaling.png"
    write_markdown(markdown, rows, slopes, mode_name, about, args.note, examples)
    plot_scaling(figure, rows, slopes, mode["fit"])
    print(f"\nwrote {markdown} and {figure}")
    return rows


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m numloss.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="tiny shapes, 2 repeats: seconds")
    parser.add_argument(
        "--out",
        type=Path,
        help="where to write (default: build/bench/ in the current folder; with --quick, "
        "build/bench-quick/); `make bench` writes the committed results with --out examples",
    )
    parser.add_argument(
        "--note", default="", help="a line for the Markdown, e.g. about the machine's load"
    )
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = Path("build") / ("bench-quick" if args.quick else "bench")
    return args


def measure_where_students_live(mode: dict, libraries: dict, done: int, total: int):
    """The small batches' and the epochs' rows, a progress line each."""
    torch = libraries["torch"]
    torch_threads = torch.get_num_threads() if torch is not None else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # KLDivLoss's "mean", as above
        rows = small_batch_rows(mode, libraries, np.random.default_rng(0), done, total)
        rows += epoch_rows(mode, libraries, done + len(rows), total)
    if torch is not None:
        torch.set_num_threads(torch_threads)
    return rows


def measure_all(table: list[Case], libraries: dict, total: int | None = None) -> list[Row]:
    """Every row of the table measured in turn, a progress line each."""
    rng = np.random.default_rng(0)
    torch = libraries["torch"]
    torch_threads = torch.get_num_threads() if torch is not None else None
    rows = []
    with warnings.catch_warnings():
        # KLDivLoss's "mean" warns, in numloss and in PyTorch, at every call: known here
        warnings.simplefilter("ignore", UserWarning)
        for i, case in enumerate(table, 1):
            rows.append(measure(case, libraries, rng))
            print(progress_line(i, total or len(table), rows[-1]), flush=True)
    if torch is not None:  # the runs set it per call: put back what it was
        torch.set_num_threads(torch_threads)
    return rows


def print_summary(rows: list[Row], slopes: dict) -> None:
    for section in ("libraries", "every loss"):
        print(f"\n{section}: numloss's time ÷ each other's (below 1: numloss is faster)")
        print("\n".join(ratio_table([r for r in rows if r.case.section == section])))
        if section == "libraries":
            print("\nnumloss on two threads:")
            print("\n".join(two_threads_table([r for r in rows if r.case.section == section])))
    for section, table in (("small batches", small_batch_table), ("epochs", epoch_table)):
        print(f"\n{section}:")
        print("\n".join(table([r for r in rows if r.case.section == section])))
    print()
    for loss, (lo, hi, s) in slopes.items():
        print(f"log-log slope of {loss}, {lo:.0e} to {hi:.0e} elements: {s:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
