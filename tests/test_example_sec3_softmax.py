"""examples/sec3_softmax.py in --quick mode: its printed numbers back its claims.

The claims (the lesson, sections 3.1-3.3): the walk-through's numbers for the logits
[2.0, 1.0, 0.1]; integer labels take C * 4 / 8 times less memory than one-hot float32
rows; both paths give the same loss and gradient; the sparse path's peak memory is the
gradient plus a little, the one-hot path's also holds a logits-sized one-hot matrix;
smoothing [1, 0, 0, 0] with alpha 0.1 gives [0.925, 0.025, 0.025, 0.025].
"""

from example_run import grab, is_png

STEM = "sec3_softmax"  # the example the shared `run` fixture (tests/conftest.py) runs


def test_writes_its_figure(run):
    _, figures = run
    assert is_png(figures / "sec3_softmax.png")


def test_the_lessons_walk_through(run):
    out, _ = run
    assert grab(r"loss = -log p\[0\]\s+= ([\d.]+)", out) == ("0.417",)
    assert grab(r"CrossEntropyLoss\s+= ([\d.]+), backward = \[([^\]]+)\]", out) == (
        "0.417",
        "-0.341  0.242  0.099",
    )
    assert "[0.925 0.025 0.025 0.025]" in out


def test_label_sizes_in_kib_and_mib(run):
    out, _ = run
    n, c = (
        int(v.replace(",", "")) for v in grab(r"N = ([\d,]+) predictions over C = ([\d,]+)", out)
    )
    kib = int(grab(r"labels as integers \(int64\): ([\d,]+) KiB", out)[0])
    mib, times = grab(r"one-hot float32 rows:\s+([\d,]+) MiB \(([\d,]+) times as much\)", out)
    assert kib == round(n * 8 / 2**10)
    assert int(mib) == round(n * c * 4 / 2**20)
    assert int(times.replace(",", "")) == c * 4 // 8  # 4-byte floats per row against one int64
    assert " MB" not in out  # one unit, named right


def test_same_loss_and_gradient_on_both_paths(run):
    out, _ = run
    same, gap = grab(r"same loss: (\w+); largest gradient difference: ([\d.e+-]+)", out)
    assert same == "True" and float(gap) == 0


def test_peak_memory_is_the_gradient_plus_the_one_hot_matrix(run):
    out, _ = run
    sparse = float(grab(r"sparse \(integer labels\)\s+[\d.]+\s+[\d,]+ MiB\s+([\d.]+)x", out)[0])
    dense = float(grab(r"one-hot \(probabilities\)\s+[\d.]+\s+[\d,]+ MiB\s+([\d.]+)x", out)[0])
    assert 1.0 <= sparse < 1.1  # the gradient, logits-sized, "plus a little"
    assert dense - sparse >= 0.95  # one more logits-sized array: the one-hot matrix
