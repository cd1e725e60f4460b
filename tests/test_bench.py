"""The benchmark's quick mode: its tables, its files, and its two measurements.

Timings are never asserted (they belong to the benchmark, not to a test): what is
checked is that every row and column is there and holds a positive finite number.
"""

import contextlib
import importlib.util
import io
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from numloss import bench
from numloss.gradcheck.cases import CASES
from numloss.gradcheck.suite import exported_losses

LIBRARY_COLUMNS = ("÷ sklearn 1t", "÷ sklearn 2t", "÷ torch 1t", "÷ torch 2t")


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def markdown_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """Each '## section' of the Markdown: its first table, as one dict per row."""
    tables, section, header = {}, None, None
    for line in text.splitlines():
        if line.startswith("## "):
            section, header = line[3:], None
        elif line.startswith("| ") and section is not None:
            cells = [c.strip() for c in line.strip("|").split("|")]
            if header is None:
                header = cells
                tables.setdefault(section, [])
            elif set(cells) != {"---"}:
                tables[section].append(dict(zip(header, cells, strict=True)))
    return tables


def positive_number(cell: str) -> float:
    value = float(cell)
    assert math.isfinite(value) and value > 0, cell
    return value


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One quick run with whatever is installed: its rows, Markdown tables and output."""
    out = tmp_path_factory.mktemp("bench")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        rows = bench.main(["--quick", "--out", str(out)])
    text = (out / "bench_results.md").read_text()
    return rows, markdown_tables(text), printed.getvalue(), out, text


def test_files_are_written(quick):
    _, _, _, out, text = quick
    figure = out / "figures" / "bench_scaling.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "figures/bench_scaling.png" in text  # the Markdown shows the figure
    for what in ("CPU", "cores", "NumPy", "PyTorch", "scikit-learn", "date"):
        assert what in text


def test_every_loss_has_a_row_per_reduction_and_dtype_with_its_memory(quick):
    _, tables, _, _, _ = quick
    rows = tables["Every loss"]
    assert list(rows[0]) == bench.RATIO_COLUMNS
    found = {(r["loss"], r["reduction"], r["dtype"]) for r in rows}
    expected = {
        (cls.__name__, reduction, dtype)
        for cls in exported_losses()
        for reduction in ("mean", "sum")
        for dtype in ("float64", "float32")
    }
    assert found == expected and len(rows) == len(expected)
    textbook = bench.optional_import("numloss.textbook")
    for r in rows:
        positive_number(r["numloss ms"])
        positive_number(r["memory ÷ inputs"])
        if textbook is not None and r["loss"] in textbook.TEXTBOOK:
            positive_number(r["textbook memory ÷ inputs"])
            positive_number(r["÷ textbook"])


def test_library_rows_have_the_issue_shapes_and_ratios(quick):
    _, tables, _, _, _ = quick
    rows = tables["Against the libraries"]
    found = [(r["loss"], r["shape"], r["dtype"]) for r in rows]
    expected = [
        (name, bench._shape(shape), dtype)
        for dtype in ("float64", "float32")
        for name, shape in bench.QUICK["libraries"]
    ]
    assert found == expected
    for r in rows:
        for column in LIBRARY_COLUMNS:
            lib = "sklearn" if "sklearn" in column else "torch"
            if installed(lib):  # both libraries have both of these losses
                positive_number(r[column])
            else:
                assert r[column] == "-"


def test_both_cores_table_is_two_threads_over_the_others(quick):
    rows, tables, _, _, _ = quick
    measured = [r for r in rows if r.case.section == "libraries"]
    cells_of = tables["Both cores"]
    assert list(cells_of[0]) == bench.TWO_THREADS_COLUMNS
    assert len(cells_of) == len(measured)
    for row, cells in zip(measured, cells_of, strict=True):
        two = row.seconds["numloss 2t"]
        assert positive_number(cells["÷ numloss 1t"]) == pytest.approx(
            two / row.seconds["numloss"], rel=5e-3
        )
        for name in ("sklearn 1t", "torch 1t"):
            if name in row.seconds:
                assert positive_number(cells[f"÷ {name}"]) == pytest.approx(
                    two / row.seconds[name], rel=5e-3
                )


def test_on_threads_sets_the_threads_for_the_run_only():
    import numloss

    seen = []
    run = bench.on_threads(lambda: seen.append(numloss.get_num_threads()), 2)
    before = numloss.get_num_threads()
    run()
    assert seen == [2] and numloss.get_num_threads() == before


def test_ratios_are_numloss_time_over_the_other(quick):
    rows, tables, _, _, _ = quick
    measured = [r for r in rows if r.case.section == "every loss"]
    assert len(measured) == len(tables["Every loss"])
    for row, cells in zip(measured, tables["Every loss"], strict=True):
        for name in bench.COMPARATORS:
            if name in row.seconds:
                ratio = row.seconds["numloss"] / row.seconds[name]
                # printed to 3 significant digits: at most 0.5% off
                assert positive_number(cells[f"÷ {name}"]) == pytest.approx(ratio, rel=5e-3)
            else:
                assert cells[f"÷ {name}"] == "-"
        # torch is compared wherever torch.nn has the loss's name, and only there
        has_module = installed("torch") and hasattr(sys.modules["torch"].nn, row.case.loss)
        assert ("torch 1t" in row.seconds) == has_module


def test_progress_lines_and_slopes_are_printed(quick):
    rows, _, printed, _, _ = quick
    progress = [line for line in printed.splitlines() if line.startswith("[")]
    small = len(exported_losses()) * len(bench.SMALL_BATCHES)
    epochs = len(bench.epoch_networks(0)) * len(bench.DTYPES)
    assert len(progress) == len(rows) == len(bench.cases(bench.QUICK)) + small + epochs
    assert all(f"/{len(rows)}] " in line for line in progress)
    for loss in ("CrossEntropyLoss", "BCEWithLogitsLoss"):
        line = next(x for x in printed.splitlines() if x.startswith(f"log-log slope of {loss}"))
        assert math.isfinite(float(line.rsplit(":", 1)[1]))


def test_small_batches_have_every_loss_at_64_and_128_beside_torch(quick):
    rows, tables, _, _, _ = quick
    cells = tables["Small batches"]
    found = [(r["loss"], r["shape"]) for r in cells]
    expected = [
        (cls.__name__, bench._shape((n, bench.SMALL_CLASSES)))
        for cls in exported_losses()
        for n in bench.SMALL_BATCHES
    ]
    assert found == expected
    measured = [r for r in rows if r.case.section == "small batches"]
    for row, r in zip(measured, cells, strict=True):
        positive_number(r["numloss µs"])
        if "torch 1t" in row.seconds:
            ratio = row.seconds["numloss"] / row.seconds["torch 1t"]
            assert positive_number(r["÷ torch 1t"]) == pytest.approx(ratio, rel=5e-3)
        else:
            assert r["÷ torch 1t"] == "-"


def test_epochs_train_both_networks_in_both_dtypes(quick):
    _, tables, _, _, text = quick
    cells = tables["Training epochs"]
    found = [(r["network"], r["dtype"]) for r in cells]
    expected = [(n.name, d) for n in bench.epoch_networks(0) for d in ("float64", "float32")]
    assert found == expected
    assert cells[0]["samples"] == "1,347"  # the training digits
    for r in cells:
        positive_number(r["numloss ms"])
        if installed("torch"):
            positive_number(r["÷ torch 1t"])
    assert "Not timed (`--quick`" in text  # make examples: the full run only


def test_an_epoch_is_fit_from_the_same_weights_each_run():
    network = bench.epoch_networks(64)[1]
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 784)), rng.integers(0, 10, 64)
    run, model = bench.numloss_epoch(network, X, y, np.float64)
    first = run()
    weights = [p.data.copy() for p in model.parameters()]
    assert run() == first
    assert all(np.array_equal(p.data, w) for p, w in zip(model.parameters(), weights, strict=True))


def test_runs_without_torch_and_sklearn(tmp_path, monkeypatch, capsys):
    for module in ("torch", "sklearn", "sklearn._loss.loss"):
        monkeypatch.setitem(sys.modules, module, None)  # `import` now raises ImportError
    rows = bench.main(["--quick", "--out", str(tmp_path)])
    text = (tmp_path / "bench_results.md").read_text()
    assert "PyTorch not installed" in text and "scikit-learn not installed" in text
    assert all(set(r.seconds) <= {"numloss", "numloss 2t", "textbook"} for r in rows)
    for section in ("Against the libraries", "Every loss"):
        for r in markdown_tables(text)[section]:
            assert all(r[column] == "-" for column in LIBRARY_COLUMNS)
            positive_number(r["memory ÷ inputs"])
    assert "(not installed or not written yet): torch, sklearn" in capsys.readouterr().out


def test_peak_memory_counts_temporaries_and_the_result():
    def run():
        temporary = np.ones(2 * 10**6)  # 16 MB, freed on return
        return temporary[: 10**6].copy()  # 8 MB, alive when the peak is read

    peak = bench.peak_memory(run)
    assert 24e6 <= peak <= 24e6 + 64e3


def test_time_interleaved_calls_each_run_in_turn():
    calls = []
    runs = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    seconds = bench.time_interleaved(runs, repeats=3)
    assert calls == ["a", "a", "b", "b", "c", "c"] * 3  # 3 rounds: each run untimed, timed
    assert set(seconds) == {"a", "b", "c"}
    assert all(math.isfinite(s) and s > 0 for s in seconds.values())


@pytest.mark.parametrize("cls", exported_losses(), ids=lambda c: c.__name__)
def test_every_exported_loss_makes_its_own_inputs_of_any_shape_and_dtype(cls):
    """The benchmark's inputs come from the loss's row in the gradcheck table (`make`):
    valid for the loss (forward and backward run, the loss is finite) in both dtypes."""
    make = CASES[cls.__name__].make
    assert make is not None, f"{cls.__name__}'s row in numloss/gradcheck/cases.py has no make"
    rng = np.random.default_rng(0)
    for shape in [(8, 5), (64, 3)]:
        for dtype in (np.float32, np.float64):
            inputs = make(rng, shape, dtype)
            assert inputs[0].shape == shape and inputs[0].dtype == dtype
            loss = cls(reduction="sum")
            assert np.isfinite(loss(*inputs))
            loss.backward()


def test_without_out_the_results_go_under_the_current_folder(tmp_path, monkeypatch, capsys):
    """Never beside the package (site-packages/build/, site-packages/examples/ for an
    installed copy; the repository's build/ and examples/ for this one)."""
    import numloss

    beside = Path(numloss.__file__).resolve().parent.parent

    def stamps():  # every file the package's folder, build/ and examples/ hold, and its mtime
        found = [beside / "numloss", beside / "build", beside / "examples"]
        files = (p for d in found if d.is_dir() for p in d.rglob("*"))
        return {p: p.stat().st_mtime_ns for p in files if "__pycache__" not in p.parts}

    before = stamps()
    monkeypatch.chdir(tmp_path)
    bench.main(["--quick"])
    assert (tmp_path / "build" / "bench-quick" / "bench_results.md").is_file()
    assert (tmp_path / "build" / "bench-quick" / "figures" / "bench_scaling.png").is_file()
    assert stamps() == before
    assert bench.parse_arguments([]).out == Path("build", "bench")  # the full run's, relative
