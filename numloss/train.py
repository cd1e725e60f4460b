"""A tiny trainer in the losses' forward/backward discipline: layers, SGD and `fit`.

Names and shapes follow PyTorch, so a student can compare the two step by step:

    model = Sequential(Linear(2, 8, seed=0), ReLU(), Linear(8, 1, seed=1))
    loss = nl.BCEWithLogitsLoss()
    opt = SGD(model.parameters(), lr=0.1)
    out = model(X)                        # forward: each layer keeps its Parts
    value = loss(out, y)
    opt.zero_grad()
    model.backward(loss.backward())       # dL/dX, and dL/dparameter added into each .grad
    opt.step()                            # data -= lr * grad

or all of it, epoch after epoch, in one call: ``history = fit(model, loss, X, y)``.

Backpropagation is the chain rule, one layer at a time. If y = f(x) and the loss L
depends on x only through y, then

    dL/dx_i = sum_j dL/dy_j * dy_j/dx_i.

A layer's ``backward`` receives g = dL/dy (``grad_output``) and returns dL/dx by this
sum, written out for its own f and never by building the Jacobian dy/dx. A
`Sequential` model calls its layers' backwards in reverse order, each passing dL/dx
on as the previous layer's dL/dy.

How a layer is written
----------------------
As a loss is (see CONTRIBUTING.md): ``_forward(x)`` returns ``(y, parts)``, the
parts being the layer's nested ``Parts`` (a NamedTuple) holding exactly what
backward needs, its fields named as the docstring's symbols, a comment on each;
``_backward(parts, g)`` reads only those parts (one line per step of the docstring's
derivation) and returns dL/dx, *adding* dL/dparameter into each parameter's
``.grad`` (added, not assigned, as in PyTorch: two backwards before a step give the
sum, and ``zero_grad()`` starts again). The base class `Layer` does what is common:
input checks, "backward before forward", grad_output's shape, dtypes, and the
layer's name at the front of every error.

dtypes: a layer computes in the dtype NumPy gives its input and parameters (float32
input through float64 weights gives float64 activations) and returns dL/dx in the
input's dtype, as a loss does.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple

import numpy as np

from ._validate import BadInputError, BadTypeError, as_float_array, check_finite, check_option
from .base import _with_name
from .binary import BCELoss, BCEWithLogitsLoss, FocalLoss, MSELoss
from .margin import HingeLoss, SoftMarginLoss, SquaredHingeLoss
from .primitives import sigmoid

__all__ = [
    "Parameter",
    "Layer",
    "Linear",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "Sequential",
    "WithLoss",
    "SGD",
    "History",
    "accuracy",
    "fit",
]


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise BadTypeError(f"{name}: expected a positive integer; got {value!r}")
    if value < 1:
        raise BadInputError(f"{name}: expected a positive integer; got {value!r}")
    return int(value)


# -- parameters ---------------------------------------------------------------------
class Parameter:
    """A trainable array: ``.data`` (its values) and ``.grad`` (dL/d data, accumulated).

    Its shape and dtype are fixed when it is made. Assigning ``.data`` or ``.grad``
    copies the values in (so a later ``step()`` never writes into the caller's array)
    and checks the shape; ``p.data[...] = w0`` sets the values in place. A layer reads
    ``.data`` through `checked`, so an array reshaped in place, or weights that are no
    longer finite (a learning rate too large), stop the forward pass with a clear
    error instead of a NumPy broadcast error or a silent NaN.

    >>> p = Parameter([[1.0, 2.0]], name="weight")
    >>> p.data, p.grad
    (array([[1., 2.]]), array([[0., 0.]]))
    """

    def __init__(self, data, name: str = "parameter"):
        arr = as_float_array(name, data)
        check_finite(name, arr)
        self.name = name
        self.shape = arr.shape
        self.dtype = arr.dtype
        self._data = np.array(arr, copy=True)
        self._grad = np.zeros_like(self._data)

    def __repr__(self) -> str:
        return f"Parameter({self.name}, shape={self.shape}, dtype={self.dtype})"

    def _copy_in(self, what: str, value, current: np.ndarray) -> np.ndarray:
        if value is current:  # `p.data -= u` hands back the same array: nothing to copy
            return current
        label = f"{self.name}.{what}"
        arr = as_float_array(label, value)
        if arr.shape != self.shape:
            raise BadInputError(
                f"{label}: expected shape {self.shape}, the parameter's; got {arr.shape}"
            )
        check_finite(label, arr)
        return np.array(arr, dtype=self.dtype, copy=True)

    @property
    def data(self) -> np.ndarray:
        return self._data

    @data.setter
    def data(self, value):
        self._data = self._copy_in("data", value, self._data)

    @property
    def grad(self) -> np.ndarray:
        return self._grad

    @grad.setter
    def grad(self, value):
        self._grad = self._copy_in("grad", value, self._grad)

    def checked(self) -> np.ndarray:
        """``.data``, after checking it still has its shape and finite values."""
        if self._data.shape != self.shape:  # only an in-place reshape gets here
            raise BadInputError(
                f"{self.name}: expected shape {self.shape}, the parameter's; got {self._data.shape}"
            )
        check_finite(self.name, self._data)
        return self._data


def _once(named: Iterable[tuple[str, Parameter]]) -> list[tuple[str, Parameter]]:
    """``(name, parameter)`` pairs with each Parameter object kept once, at its first name.

    A Parameter shared by two layers (tied weights) is one parameter: its ``.grad`` sums
    both layers' contributions, and SGD must step it once, not once per layer.
    """
    seen: set[int] = set()
    kept = []
    for name, p in named:
        if id(p) not in seen:  # identity: two equal arrays are still two parameters
            seen.add(id(p))
            kept.append((name, p))
    return kept


# -- the layer contract ----------------------------------------------------------------
class Layer:
    """Base class of the layers: ``forward`` computes y = f(x), ``backward`` dL/dx.

    A subclass writes ``_forward(x) -> (y, parts)`` and ``_backward(parts, g) -> dx``
    (g = dL/dy, already checked to have y's shape) and, if it has parameters, lists
    them in ``named_parameters()``. ``inputs`` and ``differentiable`` tell the
    gradient checker what to perturb, as for a loss.

    A layer whose dL/dx costs as much as its parameters' gradients (`Linear`: one matrix
    product each) may set ``skips_input_gradient = True`` and take ``_backward(parts, g,
    input_gradient=True)``: with False it only adds into ``.grad`` and returns None. `fit`
    asks that of the model (the data's dL/dX is never read), as PyTorch computes no
    gradient for an input that does not require one.
    """

    inputs: tuple[str, ...] = ("input",)
    differentiable: tuple[str, ...] = ("input",)

    class Parts(NamedTuple):
        """What backward needs: nothing, for a layer that does not override it."""

    _last = None  # (parts, output shape, output dtype, input dtype) of the last forward
    _forwards = 0  # forwards run so far: a Sequential checks each of its layers ran once
    # whether ``_backward`` takes ``input_gradient`` and can skip dL/dx (see `backward`)
    skips_input_gradient = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # a subclass writing its own _backward (of Linear, say) takes (parts, g) unless it says so
        if "_backward" in cls.__dict__ and "skips_input_gradient" not in cls.__dict__:
            cls.skips_input_gradient = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __call__(self, input):
        return self.forward(input)

    def forward(self, input):
        """The layer's output for ``input``; keeps the parts backward reads."""
        return self._forward_checked(input, checked=False)

    def _forward_checked(self, input, checked: bool):
        """`forward`, its input already checked when ``checked``: then ``input`` is a float
        array its caller has just checked to be finite, and is not read again for the same
        answer. A `Sequential` hands its own input to its first layer this way, and `fit`
        its data, checked once an epoch instead of at every batch (see `_runs_checked`)."""
        self._last = None
        self._forwards += 1
        try:
            x = input
            if not checked:
                x = as_float_array("input", input)
                check_finite("input", x)
            y, record = self._forward(x)
        except (ValueError, TypeError) as err:  # a student's layer may raise plain ones
            raise _with_name(err, type(self).__name__) from None
        self._last = (record, y.shape, y.dtype, x.dtype)
        return y

    def backward(self, grad_output, input_gradient: bool = True):
        """dL/d(input) from ``grad_output`` = dL/d(output) of the last forward.

        Adds dL/dparameter into each parameter's ``.grad``. Returns an array of the
        input's shape and dtype; with ``input_gradient=False``, None: only the parameters'
        gradients are wanted, and a layer that can (`Linear`, `Sequential`) does not
        compute dL/dx at all, as PyTorch does not for an input that does not require a
        gradient. `fit` asks this of the model, whose input is the data.
        """
        name = type(self).__name__
        if self._last is None:
            raise RuntimeError(
                f"{name}.backward() needs a successful forward() first "
                "(none was run, or the last one raised)"
            )
        record, shape, dtype, input_dtype = self._last
        try:
            g = as_float_array("grad_output", grad_output, dtype=dtype)
            if g.shape != shape:
                raise BadInputError(
                    f"grad_output: expected the output's shape {shape}; got {g.shape}"
                )
            check_finite("grad_output", g)
        except (BadInputError, BadTypeError) as err:
            raise type(err)(f"{name}.backward: {err}") from None
        if input_gradient:
            return self._backward(record, g).astype(input_dtype, copy=False)
        if self.skips_input_gradient:
            self._backward(record, g, input_gradient=False)
        else:  # a layer that cannot skip it: dL/dx computed, not returned
            self._backward(record, g)
        return None

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """``[(name, parameter), ...]`` in order; none for a layer without parameters."""
        return []

    def parameters(self) -> list[Parameter]:
        """The parameters, in the order of ``named_parameters()``, each one once."""
        return [p for _, p in _once(self.named_parameters())]

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0."""
        for p in self.parameters():
            p.grad[...] = 0

    def _forward(self, x: np.ndarray):
        raise NotImplementedError

    def _backward(self, record, g: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Linear(Layer):
    r"""A fully connected layer: ``y = x W^T + b``, as ``torch.nn.Linear``.

    Domain: ``input`` x of shape (N, in_features): one sample per row (any leading
    dimensions, or none, are allowed; each row is transformed alike). ``weight`` W
    has shape (out_features, in_features) and ``bias`` b shape (out_features,);
    ``bias=False`` leaves b out.

    Formula: y_nj = sum_i x_ni W_ji + b_j, i.e. y = x W^T + b.

    Gradient, step by step, with g = dL/dy of shape (N, out_features):

        dy_nj/dx_ni = W_ji     dL/dx_ni = sum_j g_nj W_ji     dL/dx = g W
        dy_nj/dW_ji = x_ni     dL/dW_ji = sum_n g_nj x_ni     dL/dW = g^T x
        dy_nj/db_j  = 1        dL/db_j  = sum_n g_nj          dL/db = sum_n g_n

    W and b are shared by every sample, so their gradients sum over the batch.

    Initialisation: every entry of W and b uniform in [-k, k], k = 1/sqrt(in_features),
    PyTorch's default distribution, drawn from ``np.random.default_rng(seed)`` (W
    first, then b): the same seed gives the same layer.

    >>> import numpy as np
    >>> layer = Linear(2, 1)
    >>> layer.weight.data[...] = [[1.0, -2.0]]
    >>> layer.bias.data[...] = [0.5]
    >>> x = np.array([[3.0, 1.0], [0.0, 1.0]])
    >>> layer(x)  # 3 - 2 + 0.5 and 0 - 2 + 0.5
    array([[ 1.5], [-1.5]])
    >>> layer.backward(np.array([[1.0], [2.0]]))  # g W
    array([[ 1., -2.], [ 2., -4.]])
    >>> layer.weight.grad  # g^T x = [1*3 + 2*0, 1*1 + 2*1]
    array([[3., 3.]])
    >>> layer.bias.grad  # 1 + 2
    array([3.])

    References: PyTorch ``torch.nn.Linear``.
    """

    class Parts(NamedTuple):
        x: np.ndarray  # x, the input
        W: np.ndarray  # W, the weight the output was computed with

    parameter_gradients = {"weight": "dL/dW = g^T x", "bias": "dL/db = sum_n g_n"}
    skips_input_gradient = True

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        seed: int | None = None,
        dtype=np.float64,
    ):
        self.in_features = _positive_int("in_features", in_features)
        self.out_features = _positive_int("out_features", out_features)
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise BadTypeError(f"dtype: expected float32 or float64; got {dtype}")
        rng = np.random.default_rng(seed)
        k = 1 / np.sqrt(self.in_features)
        w = rng.uniform(-k, k, size=(self.out_features, self.in_features)).astype(dtype)
        self.weight = Parameter(w, name="weight")
        self.bias = None
        if bias:
            self.bias = Parameter(rng.uniform(-k, k, size=self.out_features).astype(dtype), "bias")

    def __repr__(self) -> str:
        return (
            f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None})"
        )

    def named_parameters(self):
        named = [("weight", self.weight)]
        return named if self.bias is None else [*named, ("bias", self.bias)]

    def _forward(self, x):
        """y = x W^T + b"""
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise BadInputError(
                f"input: expected shape (N, {self.in_features}), in_features = "
                f"{self.in_features} on the last axis; got {x.shape}"
            )
        W = self.weight.checked()  # (out_features, in_features)
        y = x @ W.T  # y = x W^T
        if self.bias is not None:
            y += self.bias.checked()  # + b, the same for every row
        return y, self.Parts(x=x, W=W)

    def _backward(self, r: Parts, g, input_gradient: bool = True):
        """dL/dx = g W"""
        x = r.x.reshape(-1, self.in_features)  # rows of x and g, whatever the leading dims
        rows = g.reshape(-1, self.out_features)
        self.weight.grad += rows.T @ x  # dL/dW = g^T x
        if self.bias is not None:
            self.bias.grad += rows.sum(axis=0)  # dL/db = sum_n g_n
        if not input_gradient:  # not wanted (the data's: see Layer.backward)
            return None
        return g @ r.W  # dL/dx = g W


class Sigmoid(Layer):
    r"""The logistic function, element-wise: ``s = sigmoid(x) = 1 / (1 + e^-x)``.

    Domain: any real array; the output has its shape, values in [0, 1].

    Formula: computed by `numloss.sigmoid`, which never lets exp overflow (the
    textbook 1 / (1 + e^-x) overflows for x < -709).

    Gradient, step by step:

        ds/dx = e^-x / (1 + e^-x)^2
              = [1 / (1 + e^-x)] [e^-x / (1 + e^-x)] = s (1 - s)
        dL/dx = g s (1 - s)

    So the record keeps only the output s. s (1 - s) is at most 1/4 (at x = 0) and
    tiny where the sigmoid saturates: the vanishing gradient that makes MSE after a
    sigmoid a poor loss (the lesson, section 2.1.3). In float64 1 - s rounds to 0
    for x > 37, so the gradient there is 0 rather than e^-x (< 1e-16), as in
    PyTorch; a loss that needs those tails takes the logits instead
    (`numloss.BCEWithLogitsLoss`, section 2.1.4).

    >>> import numpy as np
    >>> layer = Sigmoid()
    >>> layer(np.array([0.0, 2.0, -40.0]))
    array([5.00000000e-01, 8.80797078e-01, 4.24835426e-18])
    >>> layer.backward(np.ones(3))  # s (1 - s): 1/4 at 0
    array([2.50000000e-01, 1.04993585e-01, 4.24835426e-18])

    References: PyTorch ``torch.nn.Sigmoid``.
    """

    class Parts(NamedTuple):
        s: np.ndarray  # the output, sigmoid(x)

    def _forward(self, x):
        """y = s = sigmoid(x)"""
        s = sigmoid(x)
        return s, self.Parts(s=s)

    def _backward(self, r: Parts, g):
        """dL/dx = g s (1 - s)"""
        return g * r.s * (1 - r.s)  # dL/dx = g s (1 - s)


class Tanh(Layer):
    r"""The hyperbolic tangent, element-wise: ``t = tanh(x)``.

    Domain: any real array; the output has its shape, values in [-1, 1].
    tanh(x) = 2 sigmoid(2x) - 1: a sigmoid centred on 0 (``np.tanh``, accurate
    everywhere, never overflows).

    Gradient, step by step (tanh = sinh / cosh, and cosh^2 - sinh^2 = 1):

        dt/dx = (cosh^2 x - sinh^2 x) / cosh^2 x = 1 - tanh^2 x = 1 - t^2
        dL/dx = g (1 - t^2)

    So the record keeps only the output t.

    >>> import numpy as np
    >>> layer = Tanh()
    >>> layer(np.array([0.0, 1.0])).round(4)
    array([0.    , 0.7616])
    >>> layer.backward(np.ones(2)).round(4)  # 1 - t^2
    array([1.   , 0.42])

    References: PyTorch ``torch.nn.Tanh``.
    """

    class Parts(NamedTuple):
        t: np.ndarray  # the output, tanh(x)

    def _forward(self, x):
        """y = t = tanh(x)"""
        t = np.tanh(x)
        return t, self.Parts(t=t)

    def _backward(self, r: Parts, g):
        """dL/dx = g (1 - t^2)"""
        return g * (1 - r.t * r.t)  # dL/dx = g (1 - t^2)


class ReLU(Layer):
    r"""The rectifier, element-wise: ``y = max(x, 0)``.

    Domain: any real array; the output has its shape.

    Gradient:

        dy/dx = 1 where x > 0, 0 where x < 0
        dL/dx = g [x > 0]

    At x = 0 there is no derivative: the one-sided slopes are 0 (left) and 1 (right),
    and every value between them is a subgradient. backward returns the
    minimum-norm one, 0, as ``torch.relu`` does; the gradient checker reports a kink
    there, not a failure. The record keeps only the mask [x > 0].

    Both passes are whole-array products, ``np.maximum(x, 0)`` and ``g * [x > 0]``, each
    plus 0.0 so that no zero is -0 (as ``torch.relu`` gives +0): ``np.where`` gives the
    same numbers but branches on every element, ten times slower (105 against 10 µs on a
    128 x 256 batch, 15 ms of a 784-256-10 epoch of 255).

    >>> import numpy as np
    >>> layer = ReLU()
    >>> layer(np.array([-2.0, 0.0, 3.0]))
    array([0., 0., 3.])
    >>> layer.backward(np.array([5.0, 5.0, 5.0]))  # g [x > 0]: 0 at the kink
    array([0., 0., 5.])

    References: PyTorch ``torch.nn.ReLU``.
    """

    class Parts(NamedTuple):
        positive: np.ndarray  # [x > 0]

    def _forward(self, x):
        """y = max(x, 0)"""
        positive = x > 0
        y = np.maximum(x, 0)  # y = max(x, 0)
        y += 0.0  # +0, never -0: max(-0, 0) is either zero, by NumPy's build; -0 + 0 is +0
        return y, self.Parts(positive=positive)

    def _backward(self, r: Parts, g):
        """dL/dx = g [x > 0] (0 at x = 0: the minimum-norm subgradient)"""
        dx = g * r.positive  # dL/dx = g [x > 0], 0 at the kink
        dx += 0.0  # where g < 0 and x <= 0, g * 0 is -0: +0 instead
        return dx


class Sequential(Layer):
    r"""Layers applied one after the other: ``Sequential(f1, f2, f3)(x) = f3(f2(f1(x)))``.

    Indexes like a list (``model[0]``, ``model[-1]``, ``len(model)``, iteration; a
    slice such as ``model[:-1]`` is a Sequential of the same layer objects, e.g. for
    the penultimate activations). A one-hidden-layer MLP is
    ``Sequential(Linear(d, h), ReLU(), Linear(h, C))``.

    Gradient: with x_0 = x and x_k = f_k(x_{k-1}), the chain rule gives

        dL/dx_{k-1} = f_k.backward(dL/dx_k),    k = K, ..., 1,

    so backward calls the layers' backwards in reverse order. Each layer reads its own
    record, kept by its forward; the Sequential keeps none (its ``Record`` is empty).
    A layer may be any object with ``forward`` and ``backward`` (and
    ``named_parameters`` if it has parameters); subclassing `Layer` adds the checks.
    Parameters are named "<index>.<name>", as in PyTorch: "0.weight", "2.bias"; a
    Parameter two layers share (tied weights) is listed once, under its first name.

    Each layer object appears once in a model, at any depth of nesting: a layer keeps
    one record, so a second use is a clear error (at construction, or at forward where
    a layer of one's own hides it), not a wrong gradient. To use the same weights twice,
    make a second layer holding the same Parameter (``second.weight = first.weight``).

    >>> import numpy as np
    >>> model = Sequential(Linear(3, 4, seed=0), ReLU(), Linear(4, 2, seed=1))
    >>> [name for name, _ in model.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    >>> model(np.ones((5, 3))).shape
    (5, 2)
    >>> model.backward(np.ones((5, 2))).shape
    (5, 3)

    References: PyTorch ``torch.nn.Sequential``.
    """

    def __init__(self, *layers: Layer):
        if not layers:
            raise BadInputError("layers: expected at least one layer; got none")
        for i, layer in enumerate(layers):
            if not _is_layer(layer):
                listed = isinstance(layer, list | tuple)
                hint = " (pass the layers one by one: Sequential(*layers))" if listed else ""
                raise BadTypeError(
                    f"layers[{i}]: expected a layer, an object with forward and backward "
                    f"(Linear, ReLU, Sigmoid, Tanh, Sequential, ...); got "
                    f"{type(layer).__name__}{hint}"
                )
        _check_each_layer_once(layers)
        self.layers = tuple(layers)

    def __repr__(self) -> str:
        rows = [f"  ({i}): " + repr(layer).replace("\n", "\n  ") for i, layer in enumerate(self)]
        return "Sequential(\n" + "\n".join(rows) + "\n)"

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def named_parameters(self):
        """``[("<index>.<name>", parameter), ...]``; a Parameter that several layers share
        (tied weights) once, under its first name, as in PyTorch."""
        return _once(
            (f"{i}.{name}", p)
            for i, layer in enumerate(self.layers)
            for name, p in getattr(layer, "named_parameters", list)()
        )

    def _forward(self, x):
        # how many forwards each layer of the tree had run before this one
        before = [(path, layer, getattr(layer, "_forwards", None)) for path, layer in self._tree()]
        for i, layer in enumerate(self.layers):
            try:
                if i == 0 and _runs_checked(layer):  # x: this forward's input, checked already
                    x = layer._forward_checked(x, checked=True)
                else:
                    x = layer.forward(x)  # x_k = f_k(x_{k-1})
            except (ValueError, TypeError) as err:
                raise _with_name(err, f"layer {i}") from None
        _check_each_ran_once(before)
        return x, self.Parts()

    def _tree(self) -> list[tuple[str, object]]:
        """(path, layer) for every layer inside, nested Sequentials' layers too."""
        return [pair for i, layer in enumerate(self.layers) for pair in _with_paths(layer, str(i))]

    skips_input_gradient = True

    def _backward(self, r: Layer.Parts, g, input_gradient: bool = True):
        first, *others = self.layers
        for layer in reversed(others):
            g = layer.backward(g)  # dL/dx_{k-1} = f_k.backward(dL/dx_k)
        if input_gradient or not _takes_input_gradient(first):  # (one's own: called as it is)
            return first.backward(g)
        return first.backward(g, input_gradient=False)  # dL/dparameter only


class WithLoss:
    """A model followed by a loss, as one object: ``loss(model(input), target)``.

    ``forward(input, target)`` returns the loss; ``backward(grad_output=None)`` is
    the chain rule once more, ``model.backward(loss.backward(grad_output))``: it
    returns dL/dinput and adds dL/dparameter into each of the model's ``.grad``. So
    ``nl.gradcheck(WithLoss(model, loss), X, y)`` checks every parameter gradient of
    the model end to end, through the loss.

    >>> import numpy as np, numloss as nl
    >>> model = Sequential(Linear(3, 4, seed=0), Tanh(), Linear(4, 2, seed=1))
    >>> X, y = np.random.default_rng(0).normal(size=(5, 3)), np.array([0, 1, 1, 0, 1])
    >>> bool(nl.gradcheck(WithLoss(model, nl.CrossEntropyLoss()), X, y))
    True
    """

    inputs = ("input", "target")
    differentiable = ("input",)

    def __init__(self, model: Layer, loss):
        _check_model(model)
        _check_loss(loss)
        self.model, self.loss = model, loss

    def __repr__(self) -> str:
        return f"WithLoss({self.model!r}, {self.loss!r})"

    def __call__(self, input, target):
        return self.forward(input, target)

    def forward(self, input, target):
        return self.loss(self.model(input), target)

    def backward(self, grad_output=None):
        return self.model.backward(self.loss.backward(grad_output))

    def named_parameters(self):
        return self.model.named_parameters()

    def parameters(self):
        return self.model.parameters()

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad[...] = 0


_REUSE_HINT = (
    "a layer keeps the record of its last forward only: make a new layer, and to share "
    "weights give it the same Parameter, e.g. new.weight = old.weight"
)


def _check_each_layer_once(layers) -> None:
    """A clear error if any layer object appears twice in the tree of nested Sequentials.

    Why an error and not PyTorch's correct gradients for a reused module: a layer keeps
    one record, its last forward's, and backward reads it; a layer run twice in one
    forward has lost the first run's record, and its backward gave silently wrong
    gradients. Keeping a stack of records would make a layer's state depend on how many
    forwards and backwards came before, where now it is one record a student can read
    (and `explain` prints). The same weights used twice are a new layer holding the same
    `Parameter`: each layer then keeps its own record and both add into the one ``.grad``,
    and ``parameters()`` lists that Parameter once, so SGD steps it once.

    Every place is named as PyTorch names submodules ("1.0": layer 0 of layer 1), the
    second one and the first: a layer reused at the top level, inside a nested
    Sequential, at any depth, or a whole Sequential used twice.
    """
    first: dict[int, str] = {}  # id of each layer seen -> where it was first seen
    for i, layer in enumerate(layers):
        for path, obj in _with_paths(layer, str(i)):
            if id(obj) in first:
                raise BadInputError(
                    f"layers[{i}]: expected each layer object once in the model; got "
                    f"{type(obj).__name__} at '{path}', the object at '{first[id(obj)]}' "
                    f"again ({_REUSE_HINT})"
                )
            first[id(obj)] = path


def _check_each_ran_once(before) -> None:
    """A clear error if a layer of the tree ran more than once in one forward.

    Construction rejects a layer placed twice in nested Sequentials; this catches one that
    a student's own layer (which a Sequential cannot see into) runs as well. Only layers
    built on `Layer` count their forwards; a layer used twice wholly inside a student's
    own layer is that layer's own business.
    """
    for path, layer, runs in before:
        if runs is not None and layer._forwards > runs + 1:  # (0: a forward of its own)
            raise BadInputError(
                f"layers[{path.split('.')[0]}]: expected each layer to run once per forward; "
                f"{type(layer).__name__} at '{path}' ran {layer._forwards - runs} times "
                f"({_REUSE_HINT})"
            )


def _with_paths(layer, path: str) -> Iterator[tuple[str, object]]:
    """(path, layer) for `layer` and, in a Sequential, every layer inside it, depth first."""
    yield path, layer
    if isinstance(layer, Sequential):
        for i, inner in enumerate(layer.layers):
            yield from _with_paths(inner, f"{path}.{i}")


def _runs_checked(layer) -> bool:
    """Whether ``layer`` can take an input its caller has checked (`Layer._forward_checked`):
    a `Layer` whose forward (and call) is Layer's own (one's own is called as it is)."""
    kind = type(layer)
    own = kind.forward is Layer.forward and kind.__call__ is Layer.__call__
    return isinstance(layer, Layer) and own


def _takes_input_gradient(layer) -> bool:
    """Whether ``layer.backward`` takes ``input_gradient``: a `Layer` whose backward is
    Layer's own (a class of one's own may write a backward of its own, without it)."""
    return isinstance(layer, Layer) and type(layer).backward is Layer.backward


def _is_layer(obj) -> bool:
    """A layer is anything with forward and backward: a `Layer`, or a student's own class."""
    return callable(getattr(obj, "forward", None)) and callable(getattr(obj, "backward", None))


def _check_model(model) -> None:
    if not (_is_layer(model) and callable(getattr(model, "parameters", None))):
        raise BadTypeError(
            f"model: expected a layer or Sequential (with forward, backward and parameters); "
            f"got {type(model).__name__}"
        )


def _check_loss(loss) -> None:
    """A loss of (input, target) with forward and backward, as fit and WithLoss need."""
    if not (hasattr(loss, "forward") and hasattr(loss, "backward")):
        raise BadTypeError(
            f"loss: expected a loss (with forward and backward); got {type(loss).__name__}"
        )
    inputs = tuple(getattr(loss, "inputs", ("input", "target")))
    if len(inputs) != 2:
        raise BadInputError(
            f"loss: expected a loss of (input, target); {type(loss).__name__} takes "
            f"({', '.join(inputs)})"
        )


# -- the optimiser -----------------------------------------------------------------------
_BLOCK_BYTES = 256 * 1024  # SGD.step updates a larger parameter a block of rows this size at a time


def _blocks_of(data: np.ndarray) -> list:
    """``[...]`` (the whole array) for a parameter of at most `_BLOCK_BYTES`, else slices of
    its rows of about that size.

    Speed, not arithmetic: the update's four passes (momentum * b, + g, lr * b,
    data - lr * b) over a whole 784 x 256 float64 weight (1.6 MB, with its grad and
    buffer) each went to memory, 370 us a step; a block of rows at a time they find it in
    the cache, 205 us (issue 19). Every element gets the same arithmetic either way.
    """
    if data.nbytes <= _BLOCK_BYTES:
        return [...]
    rows = max(1, _BLOCK_BYTES * len(data) // data.nbytes)
    return [slice(start, start + rows) for start in range(0, len(data), rows)]


class SGD:
    r"""Stochastic gradient descent with momentum and weight decay, as ``torch.optim.SGD``.

    ``step()`` updates every parameter p from its ``.grad`` (PyTorch's algorithm,
    without dampening or Nesterov):

        g = p.grad + weight_decay * p.data          (L2 weight decay, added to the gradient)
        b = g                  on the first step    (the momentum buffer, one per parameter)
        b = momentum * b + g   afterwards
        p.data -= lr * b       (lr * g when momentum = 0)

    ``zero_grad()`` sets every ``.grad`` to 0: backward adds into ``.grad``, so call
    it before each backward that starts a new step.

    >>> p = Parameter([1.0])
    >>> opt = SGD([p], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     p.grad[...] = 1.0
    ...     opt.step()
    >>> p.data  # 1 - 0.1 * 1 - 0.1 * (0.9 * 1 + 1)
    array([0.71])

    References: PyTorch ``torch.optim.SGD``; Sutskever et al., "On the importance of
    initialization and momentum in deep learning" (2013).
    """

    def __init__(
        self,
        parameters: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ):
        self.parameters = list(parameters)
        if not self.parameters:
            raise BadInputError("parameters: expected at least one Parameter; got none")
        for i, p in enumerate(self.parameters):
            if not isinstance(p, Parameter):
                raise BadTypeError(
                    f"parameters[{i}]: expected a Parameter (model.parameters() lists "
                    f"them); got {type(p).__name__}"
                )
            # a Parameter listed twice would be stepped twice (PyTorch warns of it)
            j = next(j for j, q in enumerate(self.parameters) if q is p)
            if j != i:
                raise BadInputError(
                    f"parameters[{i}]: expected each Parameter once; got {p!r}, the one of "
                    f"parameters[{j}], again (model.parameters() lists a shared one once)"
                )
        self.lr = check_option("lr", lr, 0.0)
        if self.lr == 0:
            raise BadInputError(f"lr: expected a positive learning rate; got {lr!r}")
        self.momentum = check_option("momentum", momentum, 0.0)
        self.weight_decay = check_option("weight_decay", weight_decay, 0.0)
        self.buffers: list[np.ndarray | None] = [None] * len(self.parameters)

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay})"

    def zero_grad(self) -> None:
        for p in self.parameters:
            p.grad[...] = 0

    def step(self) -> None:
        for i, p in enumerate(self.parameters):
            first = bool(self.momentum) and self.buffers[i] is None
            if first:
                self.buffers[i] = np.empty_like(p.data)  # the momentum buffer, b = g below
            b = self.buffers[i]
            for rows in _blocks_of(p.data):  # the whole parameter (a large one: blocks of rows)
                self._update(p.data[rows], p.grad[rows], None if b is None else b[rows], first)

    def _update(self, data, grad, b, first: bool) -> None:
        """The update of the class docstring, on the arrays given (a parameter's, or a
        block of their rows): ``data`` and ``b`` are changed in place."""
        g = grad + self.weight_decay * data if self.weight_decay else grad
        if self.momentum:
            if first:
                b[...] = g  # b = g on the first step
            else:  # b = momentum * b + g, in the buffer's own memory
                b *= self.momentum
                b += g
            g = b
        data -= self.lr * g


# -- training ------------------------------------------------------------------------------
_ON_LOGITS = (BCEWithLogitsLoss, FocalLoss, HingeLoss, SquaredHingeLoss, SoftMarginLoss)


def accuracy(output, target, loss=None) -> float | None:
    """The fraction of samples classified right, or None where the rule does not apply.

    - Several outputs per sample, output (N, C) with C > 1 (or (N, C, d1, ...)): the
      predicted class is the argmax over C, compared with integer labels of shape (N,)
      or with the argmax of probability targets of the output's shape (a label equal
      to the loss's ``ignore_index`` is not counted).
    - One output per sample, shape (N,) or (N, 1), with labels 0/1 (or soft labels in
      [0, 1], positive above 0.5) or -1/+1: positive where the output is above a
      threshold, 0 for losses on logits or scores (BCEWithLogitsLoss, FocalLoss,
      HingeLoss, SquaredHingeLoss, SoftMarginLoss), 0.5 for BCELoss (probabilities),
      and the labels' midpoint for MSELoss (0.5 for 0/1, 0 for -1/+1).

    >>> accuracy([[2.0, 0.1], [0.3, 1.0], [1.0, 0.0]], [0, 1, 1])
    0.6666666666666666
    >>> import numloss as nl
    >>> accuracy([2.0, -1.0, 0.5], [1.0, 0.0, 0.0], nl.BCEWithLogitsLoss())
    0.6666666666666666
    """
    out, t = np.asarray(output), np.asarray(target)
    if out.size == 0:
        return None
    if out.ndim >= 2 and out.shape[1] > 1:  # one score per class: argmax over dimension 1
        if t.shape == out.shape:  # probability targets
            truth = t.argmax(axis=1)
        elif t.dtype.kind in "iu" and t.shape == out.shape[:1] + out.shape[2:]:
            truth = t
        else:
            return None
        counted = truth != getattr(loss, "ignore_index", None)  # an ignored label is not counted
        if not counted.any():
            return None
        return float((out.argmax(axis=1)[counted] == truth[counted]).mean())
    if out.size != t.size or out.size != len(out):  # not one output per sample
        return None
    out, t = out.reshape(-1), t.reshape(-1)
    if t.min() >= 0 and t.max() <= 1:
        positive, midpoint = t > 0.5, 0.5
    elif np.all((t == 1) | (t == -1)):
        positive, midpoint = t > 0, 0.0
    else:
        return None
    if isinstance(loss, _ON_LOGITS):
        threshold = 0.0
    elif isinstance(loss, BCELoss):
        threshold = 0.5
    elif isinstance(loss, MSELoss):
        threshold = midpoint
    else:
        return None
    return float(((out > threshold) == positive).mean())


class History(dict):
    """What `fit` returns: a dict of per-epoch lists ("loss", "accuracy", ...)."""

    @property
    def epochs(self) -> int:
        """The number of epochs recorded."""
        return len(self.get("loss", ()))

    def append(self, numbers: dict) -> None:
        for key, value in numbers.items():
            self.setdefault(key, []).append(value)


def _evaluate(forward, loss, X, y, metrics: dict, prefix: str = "") -> dict:
    """The loss, accuracy and metrics of the whole set (X, y) as the model now is
    (``forward``: the model's forward)."""
    out = forward(X)
    numbers = {prefix + "loss": float(loss(out, y))}
    acc = accuracy(out, y, loss)
    if acc is not None:
        numbers[prefix + "accuracy"] = acc
    for name, fn in metrics.items():
        numbers[prefix + name] = float(fn(out, y))
    return numbers


def _dataset(x_name: str, y_name: str, X, y) -> tuple[np.ndarray, np.ndarray]:
    """X as a finite float array of samples (rows) and y with one target per row."""
    X, y = as_float_array(x_name, X), np.asarray(y)  # no copy: X[rows] copies each batch
    check_finite(x_name, X)
    if X.ndim == 0 or len(X) == 0:
        raise BadInputError(f"{x_name}: expected at least one sample (row); got shape {X.shape}")
    if y.ndim == 0 or len(y) != len(X):
        raise BadInputError(
            f"{y_name}: expected one target per row of {x_name}, {len(X)} rows; got shape {y.shape}"
        )
    return X, y


def _optimizer(model, loss, optimizer, lr):
    """fit's optimizer: the one given, or SGD at lr (0.1 by default), for a mean or sum loss."""
    if getattr(loss, "reduction", "mean") not in ("mean", "sum", "batchmean"):
        raise BadInputError(
            f"loss: expected reduction 'mean' or 'sum' (one number per batch); "
            f"got {loss.reduction!r}"
        )
    if optimizer is None:
        return SGD(model.parameters(), lr=0.1 if lr is None else lr)
    if lr is not None:
        raise BadInputError("lr: expected lr or optimizer, not both (the optimizer has its lr)")
    return optimizer


def _validation_set(validation):
    if not (isinstance(validation, tuple | list) and len(validation) == 2):
        raise BadInputError("validation: expected a pair (X_val, y_val)")
    return _dataset("validation[0]", "validation[1]", *validation)


def _progress(numbers: dict) -> str:
    """One epoch's numbers as fit prints them: accuracies to 3 places, losses to 4."""
    return "  ".join(
        f"{k} {v:.3f}" if k.endswith("accuracy") else f"{k} {v:.4f}" for k, v in numbers.items()
    )


def fit(
    model: Layer,
    loss,
    X,
    y,
    epochs: int = 10,
    batch_size: int | None = None,
    optimizer: SGD | None = None,
    seed: int | None = 0,
    *,
    lr: float | None = None,
    validation: tuple | None = None,
    quiet: bool = False,
    print_every: int = 1,
    callback: Callable | None = None,
    metrics: dict[str, Callable] | None = None,
) -> History:
    """Train ``model`` on (X, y) with minibatch SGD; return the per-epoch `History`.

    Each epoch visits the samples in the order ``np.random.default_rng(seed)``'s next
    permutation gives, ``batch_size`` at a time (None: all at once, one step per
    epoch), and for each batch: zero the gradients, forward, loss, backward, step.
    After the epoch it records the loss (and accuracy, where `accuracy` applies, and
    each of ``metrics = {"name": fn(output, y)}``) on the whole training set, and on
    ``validation = (X_val, y_val)`` as "val_loss", ...; prints them on one line every
    ``print_every`` epochs and at the last, unless ``quiet``; then calls
    ``callback(epoch, model, history)`` (epoch counts from 1).

    ``optimizer=None`` means ``SGD(model.parameters(), lr=lr)``, lr 0.1 by default.
    The loss's reduction must be "mean" or "sum" (one number per batch). The same
    seed and the same initial model give the same history, number for number.
    X and y are never modified.

    One full-batch step of logistic regression from w = b = 0, where every
    sigmoid(w x + b) is 1/2: dL/dw = mean((1/2 - y) x) = -0.75 and dL/db = 0, so with
    lr = 1 the step gives w = 0.75, and the loss is
    (softplus(-1.5) + softplus(-0.75)) / 2 = 0.2941.

    >>> import numpy as np, numloss as nl
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    >>> y = np.array([[0.0], [0.0], [1.0], [1.0]])
    >>> model = Linear(1, 1)
    >>> model.weight.data[...] = 0.0
    >>> model.bias.data[...] = 0.0
    >>> history = fit(model, nl.BCEWithLogitsLoss(), X, y, epochs=1, lr=1.0)
    epoch 1/1  loss 0.2941  accuracy 1.000
    >>> model.weight.data, model.bias.data
    (array([[0.75]]), array([0.]))
    >>> history
    {'loss': [0.2941], 'accuracy': [1.0]}
    """
    _check_model(model)
    _check_loss(loss)
    X, y = _dataset("X", "y", X, y)
    epochs = _positive_int("epochs", epochs)
    batch = len(X) if batch_size is None else _positive_int("batch_size", batch_size)
    print_every = _positive_int("print_every", print_every)
    optimizer = _optimizer(model, loss, optimizer, lr)
    validation = None if validation is None else _validation_set(validation)
    metrics = dict(metrics or {})

    # X is checked once an epoch (by _dataset, then at the start of each further epoch: a
    # callback may change it), not by the model at every batch and again on the whole set:
    # X[rows] is rows of that checked array. A model of one's own is called as it is.
    forward = model
    if _runs_checked(model):
        forward = functools.partial(model._forward_checked, checked=True)
    # dL/dX of the data is never read: a Layer skips it (Layer.backward), a model of one's own
    # is called as it is
    backward = model.backward
    if _takes_input_gradient(model):
        backward = functools.partial(model.backward, input_gradient=False)

    rng = np.random.default_rng(seed)
    history = History()
    for epoch in range(1, epochs + 1):
        if epoch > 1:  # (the first: _dataset's check)
            check_finite("X", X)  # a callback may have changed X in place
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch):
            rows = order[start : start + batch]
            optimizer.zero_grad()
            loss(forward(X[rows]), y[rows])  # forward: the model, then the loss
            backward(loss.backward())  # backward: dL/dparameter into each .grad
            optimizer.step()
        numbers = _evaluate(forward, loss, X, y, metrics)
        if validation is not None:
            numbers |= _evaluate(model, loss, *validation, metrics, prefix="val_")
        history.append(numbers)
        if not quiet and (epoch % print_every == 0 or epoch == epochs):
            print(f"epoch {epoch}/{epochs}  {_progress(numbers)}", flush=True)
        if callback is not None:
            callback(epoch, model, history)
    return history
