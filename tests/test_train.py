"""numloss.train: layers pass the gradient checker, SGD is PyTorch's update, fit trains."""

import re
from typing import NamedTuple

import numpy as np
import pytest
from conftest import frozen
from hypothesis import given
from hypothesis import strategies as st

import numloss as nl
from numloss import BadInputError
from numloss.train import (
    SGD,
    History,
    Layer,
    Linear,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    WithLoss,
    accuracy,
    fit,
)


class LogSoftmax(Layer):
    """log p = z - logsumexp(z) over the last axis; dL/dz = g - p sum_k g_k.

    Written here, as a student would, on the `Layer` base: NLLLoss and KLDivLoss take
    log-probabilities, and this is how a model makes them.
    """

    class Parts(NamedTuple):
        p: np.ndarray

    def _forward(self, z):
        log_p = nl.log_softmax(z, axis=-1)
        return log_p, self.Parts(p=np.exp(log_p))

    def _backward(self, r, g):
        return g - r.p * g.sum(axis=-1, keepdims=True)


def mlp(d_in, d_out, *head, seed=0):
    return Sequential(Linear(d_in, 5, seed=seed), Tanh(), Linear(5, d_out, seed=seed + 1), *head)


def assert_passes(result):
    assert result, str(result)
    assert result.checked > 0


# -- the gradient checker, layer by layer ------------------------------------------------
LAYERS = {
    "Linear": lambda: Linear(3, 4, seed=0),
    "Linear-no-bias": lambda: Linear(3, 2, bias=False, seed=1),
    "Sigmoid": Sigmoid,
    "Tanh": Tanh,
    "ReLU": ReLU,
    "Sequential-MLP": lambda: Sequential(
        Linear(3, 6, seed=0), ReLU(), Linear(6, 4, seed=1), Sigmoid(), Linear(4, 2, seed=2)
    ),
    "Sequential-nested": lambda: Sequential(Sequential(Linear(3, 3, seed=3), Tanh()), Linear(3, 2)),
}


@pytest.mark.parametrize("make", LAYERS.values(), ids=LAYERS.keys())
def test_every_layer_passes_gradcheck(make, rng):
    layer = make()
    x = rng.normal(0, 2, (5, 3))
    result = nl.gradcheck(layer, x)
    assert_passes(result)
    n_params = sum(p.data.size for p in layer.parameters())
    assert result.checked == x.size + n_params  # the input and every parameter entry
    assert not result.kinks


@pytest.mark.parametrize("shape", [(3,), (2, 4, 3)], ids=["one-sample", "leading-dims"])
def test_linear_gradcheck_any_leading_dims(shape, rng):
    layer = Linear(3, 2, seed=0)
    assert layer(rng.normal(size=shape)).shape == shape[:-1] + (2,)
    assert_passes(nl.gradcheck(layer, rng.normal(size=shape)))


@pytest.mark.parametrize("make", [Sigmoid, Tanh], ids=["Sigmoid", "Tanh"])
def test_saturated_activations_pass_gradcheck(make):
    x = np.array([[-700.0, -40.0, -1e-3], [1e-3, 40.0, 700.0]])
    layer = make()
    assert np.all(np.isfinite(layer(x)))
    assert_passes(nl.gradcheck(layer, x))


def test_relu_kink_is_reported_and_gets_zero():
    x = np.array([[-1.0, 0.0, 2.0]])
    result = nl.gradcheck(ReLU(), x)
    assert result and [k.index for k in result.kinks] == [(0, 1)]
    layer = ReLU()
    y = layer(np.array([-0.0, 0.0, -3.0, 2.0]))
    dx = layer.backward(np.array([-1.0, 1.0, -1.0, 1.0]))
    np.testing.assert_array_equal(dx, [0.0, 0.0, 0.0, 1.0])  # 0 at x = 0, like torch.relu
    assert not np.signbit(y).any() and not np.signbit(dx).any()  # +0, never -0


def test_custom_layer_on_the_base_passes_gradcheck(rng):
    assert_passes(nl.gradcheck(LogSoftmax(), rng.normal(size=(4, 3))))


# -- a model followed by every exported loss of (input, target) ------------------------------
def _binary(rng, n):
    return rng.integers(0, 2, (n, 1)).astype(np.float64)


def _signs(rng, n):
    return rng.choice([-1.0, 1.0], (n, 1))


def _classes(rng, n):
    return rng.integers(0, 3, n)


def _probabilities(rng, n):
    return nl.softmax(rng.normal(size=(n, 3)), axis=1)


# loss name: (loss, the model's head after the MLP, its output width, the targets)
WITH_LOSS = {
    "BCELoss": (nl.BCELoss(), [Sigmoid()], 1, _binary),
    "BCEWithLogitsLoss": (nl.BCEWithLogitsLoss(), [], 1, _binary),
    "MSELoss": (nl.MSELoss(), [Sigmoid()], 1, _binary),
    "FocalLoss": (nl.FocalLoss(), [], 1, _binary),
    "HingeLoss": (nl.HingeLoss(), [], 1, _signs),
    "SquaredHingeLoss": (nl.SquaredHingeLoss(), [], 1, _signs),
    "SoftMarginLoss": (nl.SoftMarginLoss(), [], 1, _signs),
    "MultiMarginLoss": (nl.MultiMarginLoss(), [], 3, _classes),
    "CrossEntropyLoss": (nl.CrossEntropyLoss(), [], 3, _classes),
    "CrossEntropyLoss-probabilities": (nl.CrossEntropyLoss(), [], 3, _probabilities),
    "NLLLoss": (nl.NLLLoss(), [LogSoftmax()], 3, _classes),
    "KLDivLoss": (nl.KLDivLoss(reduction="batchmean"), [LogSoftmax()], 3, _probabilities),
}


def test_the_with_loss_cases_are_numlosss_losses_of_input_and_target():
    """Every shipped loss of (input, target) has a case (a loss added since may add one:
    CONTRIBUTING.md); every case names such a loss."""
    shipped = {"BCELoss", "BCEWithLogitsLoss", "MSELoss", "FocalLoss", "HingeLoss"}
    shipped |= {"SquaredHingeLoss", "SoftMarginLoss", "MultiMarginLoss", "CrossEntropyLoss"}
    shipped |= {"NLLLoss", "KLDivLoss"}
    named = {name.split("-")[0] for name in WITH_LOSS}
    assert shipped <= named
    for name in named:
        cls = getattr(nl, name)
        assert issubclass(cls, nl.Loss) and tuple(cls.inputs) == ("input", "target"), name


@pytest.mark.parametrize("case", WITH_LOSS.values(), ids=WITH_LOSS.keys())
def test_model_followed_by_each_loss_passes_gradcheck(case, rng):
    loss, head, width, targets = case
    model = mlp(3, width, *head)
    X, y = rng.normal(size=(6, 3)), targets(rng, 6)
    result = nl.gradcheck(WithLoss(model, loss), X, y)
    assert_passes(result)
    assert result.checked == X.size + sum(p.data.size for p in model.parameters())


def test_with_loss_is_the_chain_rule(rng):
    model, loss = mlp(3, 3), nl.CrossEntropyLoss()
    X, y = rng.normal(size=(4, 3)), _classes(rng, 4)
    both = WithLoss(model, loss)
    value = both(X, y)
    dX = both.backward()
    grads = [p.grad.copy() for p in both.parameters()]
    both.zero_grad()
    assert value == loss(model(X), y)
    np.testing.assert_array_equal(model.backward(loss.backward()), dX)
    for p, g in zip(model.parameters(), grads, strict=True):
        np.testing.assert_array_equal(p.grad, g)
    assert [n for n, _ in both.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]


# -- the layers themselves --------------------------------------------------------------
def test_linear_is_x_w_transpose_plus_b_and_initialised_as_pytorch():
    layer = Linear(100, 64, seed=7)
    assert layer.weight.data.shape == (64, 100) and layer.bias.data.shape == (64,)
    k = 1 / np.sqrt(100)  # U(-k, k), k = 1/sqrt(in_features)
    for p in layer.parameters():
        assert p.data.dtype == np.float64 and p.grad.shape == p.data.shape
        assert np.abs(p.data).max() <= k and np.abs(p.data).max() > 0.9 * k
        assert not p.grad.any()
    np.testing.assert_array_equal(Linear(100, 64, seed=7).weight.data, layer.weight.data)
    assert not np.array_equal(Linear(100, 64, seed=8).weight.data, layer.weight.data)
    x = np.random.default_rng(0).normal(size=(3, 100))
    expected = [
        [x[n] @ layer.weight.data[j] + layer.bias.data[j] for j in range(64)] for n in range(3)
    ]
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12)


def test_backward_adds_into_grad_and_zero_grad_resets(rng):
    layer = Linear(3, 2, seed=0)
    x, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    layer(x)
    layer.backward(g)
    once = layer.weight.grad.copy()
    np.testing.assert_allclose(once, g.T @ x, rtol=1e-14)  # dL/dW = g^T x
    np.testing.assert_allclose(layer.bias.grad, g.sum(axis=0), rtol=1e-14)  # sum_n g_n
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * once, rtol=1e-14)
    layer.zero_grad()
    assert not layer.weight.grad.any() and not layer.bias.grad.any()


def test_sequential_indexes_like_a_list():
    layers = [Linear(2, 3), ReLU(), Linear(3, 1)]
    model = Sequential(*layers)
    assert len(model) == 3 and list(model) == layers and model[-1] is layers[2]
    head = model[:2]
    assert isinstance(head, Sequential) and list(head) == layers[:2]
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model.parameters() == [
        layers[0].weight,
        layers[0].bias,
        layers[2].weight,
        layers[2].bias,
    ]
    assert "(1): ReLU()" in repr(model)


def test_sequential_runs_layers_in_order_and_backward_in_reverse(rng):
    a, b = Linear(2, 3, seed=0), Linear(3, 2, seed=1)
    model = Sequential(a, Tanh(), b)
    x, g = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    h = np.tanh(a(x))
    np.testing.assert_array_equal(model(x), b(h))
    dh = b.weight.data.T @ g.T
    expected = (dh.T * (1 - h**2)) @ a.weight.data
    np.testing.assert_allclose(model.backward(g), expected, rtol=1e-13)


def test_parameter_assignment_copies_and_keeps_shape():
    layer = Linear(2, 3)
    w0 = frozen(np.arange(6.0).reshape(3, 2))[0]
    layer.weight.data = w0  # a copy: the step below must not write into w0
    layer.weight.grad[...] = 1.0
    SGD(layer.parameters(), lr=0.5).step()
    np.testing.assert_array_equal(w0, np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(layer.weight.data, w0 - 0.5)
    layer.weight.data[...] = 0.0  # in place, as the API says
    assert not layer.weight.data.any()


# -- SGD: torch.optim.SGD's update -----------------------------------------------------------
def pytorch_sgd(theta, grads_per_step, lr, momentum, weight_decay):
    """torch.optim.SGD's algorithm as its documentation writes it (dampening 0):

    g_t = grad_t + weight_decay * theta_{t-1}
    b_t = g_t if t = 1 else momentum * b_{t-1} + g_t      (when momentum != 0; g_t = b_t)
    theta_t = theta_{t-1} - lr * g_t
    """
    theta, b, path = [t.copy() for t in theta], [None] * len(theta), []
    for t, grads in enumerate(grads_per_step, start=1):
        for i, grad in enumerate(grads):
            g = grad + weight_decay * theta[i]
            if momentum != 0:
                b[i] = g if t == 1 else momentum * b[i] + g
                g = b[i]
            theta[i] = theta[i] - lr * g
        path.append([t.copy() for t in theta])
    return path


@pytest.mark.parametrize(
    "momentum, weight_decay", [(0.9, 0.01), (0.0, 0.0), (0.5, 0.0), (0.0, 0.1)]
)
def test_sgd_is_pytorch_update_over_three_steps(momentum, weight_decay, rng):
    model = mlp(3, 2)
    params = model.parameters()
    start = [p.data.copy() for p in params]
    grads_per_step = [[rng.normal(size=p.data.shape) for p in params] for _ in range(3)]
    expected = pytorch_sgd(start, grads_per_step, 0.1, momentum, weight_decay)
    opt = SGD(params, lr=0.1, momentum=momentum, weight_decay=weight_decay)
    for grads, want in zip(grads_per_step, expected, strict=True):
        opt.zero_grad()
        for p, g in zip(params, grads, strict=True):
            p.grad += g
        opt.step()
        for p, w in zip(params, want, strict=True):
            np.testing.assert_allclose(p.data, w, rtol=1e-15, atol=1e-17)


@pytest.mark.parametrize("shape", [(), (5,), (300, 700), (1, 40000)])
def test_sgd_is_pytorch_update_at_any_shape(shape, rng):
    """A 0-d parameter (with weight decay its momentum buffer was once a NumPy scalar that
    never changed after the first step), and ones larger than a block of SGD.step (updated
    a block of rows at a time): the same numbers as the formula, bit for bit."""
    p = Parameter(rng.normal(size=shape))
    grads_per_step = [[rng.normal(size=shape)] for _ in range(3)]
    expected = pytorch_sgd([p.data.copy()], grads_per_step, 0.1, 0.9, 0.01)
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    for (g,), (want,) in zip(grads_per_step, expected, strict=True):
        p.grad = g
        opt.step()
        np.testing.assert_array_equal(p.data, want)


def test_sgd_zero_grad():
    p = Parameter(np.ones(3))
    p.grad[...] = 5.0
    SGD([p], lr=1.0).zero_grad()
    assert not p.grad.any()


# -- fit -------------------------------------------------------------------------------------
def separable(n=40, seed=0):
    """Two clouds split by the line x1 + 2 x2 = 0 with a margin: 0/1 labels of shape (n, 1)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    s = X @ [1.0, 2.0]
    X += np.outer(np.sign(s), [1.0, 2.0]) * 0.3  # push each point away from the line
    return X, (s > 0).astype(np.float64)[:, None]


def test_fit_learns_a_separable_set():
    X, y = separable()
    model = Linear(2, 1, seed=0)
    history = fit(model, nl.BCEWithLogitsLoss(), X, y, epochs=30, batch_size=8, lr=0.5, quiet=True)
    assert history.epochs == 30 and len(history["accuracy"]) == 30
    assert history["loss"][-1] < history["loss"][0] / 2
    assert history["accuracy"][-1] == 1.0
    predicted = model(X) > 0
    assert np.all(predicted == (y > 0.5))  # the recorded accuracy is the model's own


def test_fit_learns_three_classes_with_an_mlp():
    rng = np.random.default_rng(1)
    centres = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    y = np.repeat(np.arange(3), 20)
    X = centres[y] + rng.normal(0, 0.5, (60, 2))
    model = Sequential(Linear(2, 8, seed=0), ReLU(), Linear(8, 3, seed=1))
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = fit(
        model, nl.CrossEntropyLoss(), X, y, epochs=20, batch_size=16, optimizer=opt, quiet=True
    )
    assert history["accuracy"][-1] == 1.0
    assert np.mean(model(X).argmax(axis=1) == y) == 1.0


def _training(seed, batch_size=8):
    X, y = separable()
    model = mlp(2, 1)
    h = fit(
        model, nl.BCEWithLogitsLoss(), X, y, epochs=4, batch_size=batch_size, seed=seed, quiet=True
    )
    return h, [p.data.copy() for p in model.parameters()]


def test_fit_same_seed_same_history_different_seed_different():
    (h1, w1), (h2, w2) = _training(3), _training(3)
    assert h1 == h2
    for a, b in zip(w1, w2, strict=True):
        np.testing.assert_array_equal(a, b)
    h3, _ = _training(4)
    assert h3["loss"] != h1["loss"]


def test_fit_progress_lines(capsys):
    X, y = separable()
    fit(Linear(2, 1, seed=0), nl.BCEWithLogitsLoss(), X, y, epochs=4, validation=(X, y))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    for epoch, line in enumerate(lines, start=1):
        assert re.fullmatch(
            rf"epoch {epoch}/4  loss \d\.\d{{4}}  accuracy \d\.\d{{3}}  "
            rf"val_loss \d\.\d{{4}}  val_accuracy \d\.\d{{3}}",
            line,
        ), line
    fit(Linear(2, 1, seed=0), nl.BCEWithLogitsLoss(), X, y, epochs=5, print_every=2)
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == [
        "2/5",
        "4/5",
        "5/5",
    ]
    fit(Linear(2, 1, seed=0), nl.BCEWithLogitsLoss(), X, y, epochs=4, quiet=True)
    assert capsys.readouterr().out == ""


def test_fit_history_validation_metrics_and_callback():
    X, y = separable()
    seen = []

    def callback(epoch, model, history):
        seen.append((epoch, history.epochs, model.weight.data.copy()))

    model = Linear(2, 1, seed=0)
    history = fit(
        model,
        nl.BCEWithLogitsLoss(),
        X,
        y,
        epochs=3,
        validation=(X[:10], y[:10]),
        metrics={"mean_output": lambda out, t: out.mean()},
        callback=callback,
        quiet=True,
    )
    assert isinstance(history, History)
    keys = ["loss", "accuracy", "mean_output", "val_loss", "val_accuracy", "val_mean_output"]
    assert list(history) == keys and all(len(history[k]) == 3 for k in keys)
    assert [(e, n) for e, n, _ in seen] == [(1, 1), (2, 2), (3, 3)]
    assert not np.array_equal(seen[0][2], seen[2][2])  # the model moved between callbacks
    np.testing.assert_array_equal(seen[2][2], model.weight.data)
    assert history["mean_output"][-1] == pytest.approx(model(X).mean(), rel=1e-12)
    val_loss = nl.BCEWithLogitsLoss()(model(X[:10]), y[:10])
    assert history["val_loss"][-1] == pytest.approx(float(val_loss), rel=1e-12)


def test_fit_never_modifies_the_callers_arrays():
    X, y = separable()
    Xf, yf, Xv, yv = frozen(X, y, X[:5], y[:5])  # read-only: a write would raise
    fit(
        mlp(2, 1),
        nl.BCEWithLogitsLoss(),
        Xf,
        yf,
        epochs=2,
        batch_size=7,
        validation=(Xv, yv),
        quiet=True,
    )
    np.testing.assert_array_equal(Xf, X)
    np.testing.assert_array_equal(yf, y)
    model = mlp(2, 1)
    out = model(Xf)
    model.backward(frozen(np.ones_like(out))[0])


def test_float32_keeps_working():
    X, y = separable()
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    model = Sequential(
        Linear(2, 4, seed=0, dtype=np.float32), Tanh(), Linear(4, 1, seed=1, dtype=np.float32)
    )
    out = model(X32)
    assert out.dtype == np.float32
    assert model.backward(np.ones_like(out)).dtype == np.float32
    assert all(p.data.dtype == np.float32 == p.grad.dtype for p in model.parameters())
    history = fit(
        model, nl.BCEWithLogitsLoss(), X32, y32, epochs=30, batch_size=8, lr=0.5, quiet=True
    )
    assert history["accuracy"][-1] == 1.0
    mixed = Linear(2, 1, seed=0)  # float64 weights, float32 input
    assert mixed(X32).dtype == np.float64
    assert mixed.backward(np.ones((len(X), 1))).dtype == np.float32  # dL/dx in x's dtype


# -- the accuracy rule ---------------------------------------------------------------------
ACCURACY = {
    "classes-indices": ([[2.0, 1.0, 0.0], [0.0, 1.0, 3.0]], [0, 1], None, 0.5),
    "classes-probabilities": ([[2.0, 1.0], [0.0, 1.0]], [[0.9, 0.1], [0.8, 0.2]], None, 0.5),
    "classes-ignored": ([[2.0, 1.0], [0.0, 1.0]], [-100, 0], nl.CrossEntropyLoss(), 0.0),
    "logits-0/1": ([[2.0], [-1.0], [0.5]], [[1.0], [0.0], [0.0]], nl.BCEWithLogitsLoss(), 2 / 3),
    "scores--1/+1": ([0.2, -0.3, -2.0, 1.0], [1.0, 1.0, -1.0, -1.0], nl.HingeLoss(), 0.5),
    "focal": ([0.2, -0.3], [1.0, 0.0], nl.FocalLoss(), 1.0),
    "probabilities": ([0.6, 0.4, 0.45], [1.0, 0.0, 1.0], nl.BCELoss(), 2 / 3),
    "mse-0/1": ([0.6, 0.4], [1.0, 1.0], nl.MSELoss(), 0.5),
    "mse--1/+1": ([0.1, -0.2], [1.0, -1.0], nl.MSELoss(), 1.0),  # threshold 0, not 0.5
    "mse-regression": ([0.1, 2.0], [0.3, 2.5], nl.MSELoss(), None),
    "unknown-loss": ([0.1, 2.0], [0.0, 1.0], None, None),
}


@pytest.mark.parametrize("output, target, loss, expected", ACCURACY.values(), ids=ACCURACY.keys())
def test_accuracy_rule(output, target, loss, expected):
    result = accuracy(np.array(output), np.array(target), loss)
    assert result == (None if expected is None else pytest.approx(expected))


def test_history_has_no_accuracy_where_the_rule_does_not_apply():
    X, y = separable()
    history = fit(Linear(2, 1, seed=0), nl.MSELoss(), X, X[:, :1] * 2, epochs=2, quiet=True)
    assert list(history) == ["loss"]


# -- bad input: every error names its argument -----------------------------------------------
def _forward_after(layer, x):
    return lambda: layer(x)


def _backward_wrong_shape():
    layer = Linear(3, 2)
    layer(np.ones((4, 3)))
    return layer.backward(np.ones((2, 4)))


def _backward_after_failed_forward():
    layer = Linear(3, 2)
    layer(np.ones((1, 3)))
    with pytest.raises(ValueError):
        layer(np.ones((1, 4)))
    layer.backward(np.ones((1, 2)))  # the record of the first forward is gone


def _reassign_weight():
    Linear(3, 2).weight.data = np.ones((3, 2))


def _reshaped_in_place():
    layer = Linear(3, 2)
    layer.weight.data.resize((3, 2), refcheck=False)  # in place: escapes the setter
    layer(np.ones((1, 3)))


def _weights_not_finite():
    layer = Linear(3, 2)
    layer.weight.data[0, 1] = np.nan
    layer(np.ones((1, 3)))


def _fit(**kwargs):
    X, y = separable(8)
    args = {"model": Linear(2, 1), "loss": nl.BCEWithLogitsLoss(), "X": X, "y": y, "quiet": True}
    return lambda: fit(**(args | kwargs))


def _fit_X_made_nan_by_callback():
    """fit checks X once an epoch, not at every batch: a NaN a callback writes into X is
    still caught, at the next epoch, before any batch reads it."""
    X, y = separable(8)

    def spoil(epoch, model, history):
        X[3, 1] = np.nan

    model = Sequential(Linear(2, 3), Sigmoid(), Linear(3, 1))
    fit(model, nl.BCEWithLogitsLoss(), X, y, epochs=2, batch_size=2, quiet=True, callback=spoil)


BAD = {
    "in_features-0": (
        lambda: Linear(0, 3),
        ValueError,
        r"in_features: expected a positive integer; got 0",
    ),
    "out_features-float": (
        lambda: Linear(2, 3.5),
        TypeError,
        r"out_features: expected a positive integer; got 3.5",
    ),
    "dtype": (
        lambda: Linear(2, 3, dtype=np.int64),
        TypeError,
        r"dtype: expected float32 or float64; got int64",
    ),
    "input-shape": (
        _forward_after(Linear(3, 2), np.ones((4, 5))),
        ValueError,
        r"Linear: input: expected shape \(N, 3\).*; got \(4, 5\)",
    ),
    "input-scalar": (
        _forward_after(Linear(3, 2), 1.0),
        ValueError,
        r"Linear: input: expected shape \(N, 3\).*; got \(\)",
    ),
    "input-nan": (
        _forward_after(Tanh(), [1.0, np.nan]),
        ValueError,
        r"Tanh: input: expected finite values; got nan at index \(1,\)",
    ),
    "input-dtype": (
        _forward_after(ReLU(), np.array(["a"])),
        TypeError,
        r"ReLU: input: expected a real-valued array; got dtype <U1",
    ),
    "input-float16": (
        _forward_after(Sigmoid(), np.ones(2, np.float16)),
        TypeError,
        r"Sigmoid: input: expected float32 or float64; got float16",
    ),
    "backward-first": (
        lambda: Sigmoid().backward(np.ones(2)),
        RuntimeError,
        r"Sigmoid.backward\(\) needs a successful forward\(\) first",
    ),
    "backward-after-failed-forward": (
        _backward_after_failed_forward,
        RuntimeError,
        r"Linear.backward\(\) needs a successful forward\(\) first \(none was run, or the last one raised\)",
    ),
    "grad_output-shape": (
        _backward_wrong_shape,
        ValueError,
        r"Linear.backward: grad_output: expected the output's shape \(4, 2\); got \(2, 4\)",
    ),
    "weight-reassigned": (
        _reassign_weight,
        ValueError,
        r"weight.data: expected shape \(2, 3\), the parameter's; got \(3, 2\)",
    ),
    "weight-reshaped": (
        _reshaped_in_place,
        ValueError,
        r"Linear: weight: expected shape \(2, 3\), the parameter's; got \(3, 2\)",
    ),
    "weight-nan": (
        _weights_not_finite,
        ValueError,
        r"Linear: weight: expected finite values; got nan at index \(0, 1\)",
    ),
    "sequential-inner": (
        _forward_after(Sequential(Linear(3, 4), ReLU(), Linear(5, 1)), np.ones((2, 3))),
        ValueError,
        r"Sequential: layer 2: Linear: input: expected shape \(N, 5\).*; got \(2, 4\)",
    ),
    "sequential-not-a-layer": (
        lambda: Sequential(Linear(2, 2), 3),
        TypeError,
        r"layers\[1\]: expected a layer.*; got int",
    ),
    "sequential-a-list": (
        lambda: Sequential([Linear(2, 2), ReLU()]),
        TypeError,
        r"layers\[0\]: .*got list \(pass the layers one by one",
    ),
    "sequential-empty": (lambda: Sequential(), ValueError, r"layers: expected at least one layer"),
    "sequential-shared": (
        lambda: (lambda r: Sequential(r, Linear(2, 2), r))(ReLU()),
        ValueError,
        r"layers\[2\]: .*got ReLU at '2', the object at '0' again",
    ),
    "sgd-lr-0": (
        lambda: SGD(Linear(2, 1).parameters(), lr=0),
        ValueError,
        r"lr: expected a positive learning rate; got 0",
    ),
    "sgd-lr-negative": (
        lambda: SGD(Linear(2, 1).parameters(), lr=-0.1),
        ValueError,
        r"lr: expected a finite number in \[0.0, inf\]; got -0.1",
    ),
    "sgd-lr-string": (
        lambda: SGD(Linear(2, 1).parameters(), lr="0.1"),
        TypeError,
        r"lr: expected a real number; got '0.1'",
    ),
    "sgd-momentum": (
        lambda: SGD(Linear(2, 1).parameters(), lr=0.1, momentum=-0.5),
        ValueError,
        r"momentum: expected a finite number in \[0.0, inf\]; got -0.5",
    ),
    "sgd-weight_decay": (
        lambda: SGD(Linear(2, 1).parameters(), lr=0.1, weight_decay=-1),
        ValueError,
        r"weight_decay: expected a finite number in \[0.0, inf\]; got -1",
    ),
    "sgd-not-parameters": (
        lambda: SGD([np.ones(2)], lr=0.1),
        TypeError,
        r"parameters\[0\]: expected a Parameter.*; got ndarray",
    ),
    "sgd-no-parameters": (
        lambda: SGD(ReLU().parameters(), lr=0.1),
        ValueError,
        r"parameters: expected at least one Parameter; got none",
    ),
    "sgd-unknown-option": (
        lambda: SGD(Linear(2, 1).parameters(), lr=0.1, nesterov=True),
        TypeError,
        r"nesterov",
    ),
    "fit-lengths": (
        _fit(y=np.zeros((7, 1))),
        ValueError,
        r"y: expected one target per row of X, 8 rows; got shape \(7, 1\)",
    ),
    "fit-no-samples": (
        _fit(X=np.ones((0, 2)), y=np.ones((0, 1))),
        ValueError,
        r"X: expected at least one sample",
    ),
    "fit-X-nan": (
        _fit(X=np.full((8, 2), np.nan)),
        ValueError,
        r"X: expected finite values; got nan at index \(0, 0\)",
    ),
    "fit-X-nan-later": (
        _fit_X_made_nan_by_callback,
        ValueError,
        r"^X: expected finite values; got nan at index \(3, 1\)$",
    ),
    "fit-epochs": (_fit(epochs=0), ValueError, r"epochs: expected a positive integer; got 0"),
    "fit-batch_size": (
        _fit(batch_size=0),
        ValueError,
        r"batch_size: expected a positive integer; got 0",
    ),
    "fit-batch_size-float": (
        _fit(batch_size=2.5),
        TypeError,
        r"batch_size: expected a positive integer; got 2.5",
    ),
    "fit-print_every": (
        _fit(print_every=0),
        ValueError,
        r"print_every: expected a positive integer; got 0",
    ),
    "fit-reduction-none": (
        _fit(loss=nl.BCEWithLogitsLoss(reduction="none")),
        ValueError,
        r"loss: expected reduction 'mean' or 'sum'.*; got 'none'",
    ),
    "fit-not-a-loss": (_fit(loss=np.mean), TypeError, r"loss: expected a loss"),
    "fit-three-input-loss": (
        _fit(loss=nl.MarginRankingLoss()),
        ValueError,
        r"loss: expected a loss of \(input, target\); MarginRankingLoss takes \(input1, input2, target\)",
    ),
    "fit-not-a-model": (
        _fit(model=np.ones(2)),
        TypeError,
        r"model: expected a layer or Sequential",
    ),
    "fit-lr-and-optimizer": (
        lambda: _fit(optimizer=SGD(Linear(2, 1).parameters(), lr=0.1), lr=0.5)(),
        ValueError,
        r"lr: expected lr or optimizer, not both",
    ),
    "fit-validation": (
        _fit(validation=np.ones((3, 2))),
        ValueError,
        r"validation: expected a pair \(X_val, y_val\)",
    ),
    "fit-validation-lengths": (
        _fit(validation=(np.ones((3, 2)), np.ones((2, 1)))),
        ValueError,
        r"validation\[1\]: expected one target per row of validation\[0\], 3 rows; got shape \(2, 1\)",
    ),
    "with-loss-model": (
        lambda: WithLoss("model", nl.MSELoss()),
        TypeError,
        r"model: expected a layer or Sequential",
    ),
    "with-loss-loss": (
        lambda: WithLoss(Linear(2, 1), nl.TripletMarginLoss()),
        ValueError,
        r"loss: expected a loss of \(input, target\)",
    ),
}


@pytest.mark.parametrize("call, error, message", BAD.values(), ids=BAD.keys())
def test_bad_input_names_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()


# -- a layer or Parameter in two places: nested Sequentials, tied weights -------------------
WIDTH = 3  # every Linear of the trees below is WIDTH -> WIDTH, so any nesting composes


class Node:
    """A place in a tree of Sequentials: a leaf ("linear", "tanh") or a list of nodes."""

    def __init__(self, spec):
        self.kind = spec if isinstance(spec, str) else "sequential"
        self.children = [] if isinstance(spec, str) else [Node(c) for c in spec]

    def places(self, path=()):
        """(path, node) for this node and every node inside, depth first."""
        yield path, self
        for i, child in enumerate(self.children):
            yield from child.places((*path, i))


def build(node, made=None):
    """The layers of a tree of Nodes; a Node placed twice becomes one object placed twice."""
    made = {} if made is None else made
    if id(node) not in made:
        if node.kind == "linear":
            made[id(node)] = Linear(WIDTH, WIDTH, seed=len(made))
        elif node.kind == "tanh":
            made[id(node)] = Tanh()
        else:
            made[id(node)] = Sequential(*(build(c, made) for c in node.children))
    return made[id(node)]


def _children(subtrees):
    """A Sequential's children: one to three subtrees."""
    return st.lists(subtrees, min_size=1, max_size=3)


leaves = st.sampled_from(["linear", "tanh"])
trees = st.lists(
    st.recursive(leaves, _children, max_leaves=6),
    min_size=1,
    max_size=4,
).map(Node)


@given(trees, st.data())
def test_a_layer_placed_twice_at_any_depth_is_an_error_naming_it(tree, data):
    """Any node (a layer, or a whole Sequential) placed again in any Sequential outside it:
    the construction fails with an error naming the object's type and both places."""
    places = list(tree.places())[1:]  # every node but the root
    _, reused = data.draw(st.sampled_from(places))
    inside_reused = {id(n) for _, n in reused.places()}
    hosts = [n for _, n in tree.places() if n.kind == "sequential" and id(n) not in inside_reused]
    host = data.draw(st.sampled_from(hosts))
    host.children.insert(data.draw(st.integers(0, len(host.children))), reused)
    name = {"linear": "Linear", "tanh": "Tanh", "sequential": "Sequential"}[reused.kind]
    with pytest.raises(
        BadInputError, match=rf"got {name} at '[\d.]+', the object at '[\d.]+' again"
    ):
        build(tree)


@given(trees)
def test_a_tree_of_distinct_layers_passes_gradcheck(tree):
    model = build(tree)
    x = np.random.default_rng(0).normal(size=(2, WIDTH))
    assert_passes(nl.gradcheck(model, x))


class Twice(Layer):
    """A student's own layer that runs `inner` (which the Sequential cannot see into)."""

    def __init__(self, inner):
        self.inner = inner

    def _forward(self, x):
        return self.inner.forward(x), self.Parts()

    def _backward(self, r, g):
        return self.inner.backward(g)


HIDDEN_REUSE = {
    "hidden-then-seen": lambda a: Sequential(Twice(a), a),
    "seen-then-hidden": lambda a: Sequential(a, Tanh(), Twice(a)),
    "hidden-then-nested": lambda a: Sequential(Twice(a), Sequential(Tanh(), Sequential(a))),
    "nested-then-hidden": lambda a: Sequential(Sequential(a), Twice(a)),
}


@pytest.mark.parametrize("make", HIDDEN_REUSE.values(), ids=HIDDEN_REUSE.keys())
def test_a_layer_reused_inside_a_layer_of_ones_own_is_an_error_at_forward(make):
    model = make(Linear(WIDTH, WIDTH, seed=0))
    with pytest.raises(
        BadInputError, match=r"expected each layer to run once.*Linear at '[\d.]+' ran 2"
    ):
        model(np.ones((2, WIDTH)))


@given(trees, st.data())
def test_tied_parameters_are_listed_once_and_stepped_once(tree, data):
    """Any Linear layers of a tree made to share one weight Parameter: parameters() and
    named_parameters() list it once (at its first name), and two SGD steps with momentum
    and weight decay move it as torch.optim.SGD moves one parameter."""
    model = build(tree)
    linears = [layer for _, layer in _with_paths_of(model) if isinstance(layer, Linear)]
    if len(linears) < 2:
        return
    tied = data.draw(st.lists(st.sampled_from(linears), min_size=2, unique_by=id))
    for layer in tied[1:]:
        layer.weight = tied[0].weight  # tied weights: one Parameter in several layers
    named = model.named_parameters()
    params = model.parameters()
    assert [p for _, p in named] == params
    assert len({id(p) for p in params}) == len(params)  # each once
    all_listed = [p for layer in linears for p in layer.parameters()]
    assert {id(p) for p in params} == {id(p) for p in all_listed}
    rng = np.random.default_rng(1)
    start = [p.data.copy() for p in params]
    grads = [[rng.normal(size=p.shape) for p in params] for _ in range(2)]
    expected = pytorch_sgd(start, grads, 0.1, 0.9, 0.01)
    opt = SGD(params, lr=0.1, momentum=0.9, weight_decay=0.01)
    for step_grads in grads:
        opt.zero_grad()
        for p, g in zip(params, step_grads, strict=True):
            p.grad += g
        opt.step()
    for p, want in zip(params, expected[-1], strict=True):
        np.testing.assert_array_equal(p.data, want)


def _with_paths_of(model):
    from numloss.train import _with_paths

    return list(_with_paths(model, ""))


def test_fit_steps_a_tied_weight_once():
    """One full-batch epoch of fit: the tied weight moves by lr times its gradient, the
    sum of both layers' contributions (checked by finite differences), once."""
    first, second = Linear(2, 2, seed=0), Linear(2, 2, seed=1)
    second.weight = first.weight
    model = Sequential(first, Tanh(), second)
    X, y = np.random.default_rng(0).normal(size=(6, 2)), np.arange(6) % 2
    loss = nl.CrossEntropyLoss()
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    assert_passes(nl.gradcheck(WithLoss(model, loss), X, y))  # the summed gradient is right
    model.zero_grad()
    loss(model(X), y)
    model.backward(loss.backward())
    want = first.weight.data - 0.5 * first.weight.grad
    fit(model, loss, X, y, epochs=1, lr=0.5, quiet=True)
    np.testing.assert_array_equal(first.weight.data, want)
    assert second.weight.data is first.weight.data


def test_sgd_rejects_a_parameter_listed_twice():
    p = Parameter(np.ones(2))
    with pytest.raises(
        BadInputError, match=r"parameters\[2\]: expected each Parameter once.*parameters\[0\]"
    ):
        SGD([p, Parameter(np.ones(1)), p], lr=0.1)


class OwnForward(Layer):
    """A student's layer that overrides forward itself (so it counts no forwards)."""

    def forward(self, input):
        self._x = np.asarray(input, float)
        return 2 * self._x

    def backward(self, grad_output):
        return 2 * np.asarray(grad_output, float)


def test_a_layer_with_its_own_forward_is_not_taken_for_a_reused_one():
    model = Sequential(Linear(WIDTH, WIDTH, seed=0), OwnForward(), Tanh())
    assert_passes(nl.gradcheck(model, np.ones((2, WIDTH))))


def test_backward_without_the_input_gradient_adds_the_same_parameter_gradients():
    """fit asks for dL/dparameter only (the data's dL/dX is never read): the same numbers."""
    rng = np.random.default_rng(0)
    X, g = rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    grads = []
    for input_gradient in (True, False):
        model = Sequential(Linear(4, 5, seed=0), ReLU(), Linear(5, 2, seed=1))
        model(X)
        out = model.backward(g, input_gradient=input_gradient)
        assert (out is None) == (not input_gradient)
        grads.append([p.grad.copy() for p in model.parameters()])
    for with_dx, without in zip(*grads, strict=True):
        assert np.array_equal(with_dx, without)


def test_sgd_momentum_in_place_is_the_formula_bit_for_bit():
    rng = np.random.default_rng(1)
    p = Parameter(rng.normal(size=(3, 4)))
    expected, b = p.data.copy(), None
    opt = SGD([p], lr=0.05, momentum=0.9)
    for _ in range(4):
        g = rng.normal(size=(3, 4))
        p.grad = g
        opt.step()
        b = g.copy() if b is None else 0.9 * b + g
        expected = expected - 0.05 * b
        assert np.array_equal(p.data, expected)


def test_a_subclass_with_its_own_backward_is_trained_as_it_is():
    """A Linear whose _backward takes (parts, g) only: fit still calls it that way."""

    class Logged(Linear):
        def _backward(self, r, g):
            return super()._backward(r, g)

    assert not Logged.skips_input_gradient and Linear.skips_input_gradient
    X, y = np.random.default_rng(0).normal(size=(8, 3)), np.arange(8) % 2
    fit(Sequential(Logged(3, 2, seed=0)), nl.CrossEntropyLoss(), X, y, epochs=2, quiet=True)


def test_a_layer_with_a_backward_of_its_own_is_trained_as_it_is():
    """A Layer subclass that writes backward(grad_output) itself: fit and Sequential call it
    with the gradient only, first in the model or alone."""

    class Doubling(Layer):
        def forward(self, input):
            self.x = np.asarray(input)
            return 2 * self.x

        def backward(self, grad_output):
            return 2 * grad_output

    X, y = np.random.default_rng(0).normal(size=(8, 3)), np.arange(8) % 2
    model = Sequential(Doubling(), Linear(3, 2, seed=0))
    fit(model, nl.CrossEntropyLoss(), X, y, epochs=2, quiet=True)
