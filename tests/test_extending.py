"""Parts of one's own (a layer, a loss, an optimiser, a metric) plug into Sequential, train,
save and load; a part that breaks its contract is named by the error, not its victims."""

import re

import numpy as np
import pytest

from tinynet.gradcheck import check_layer
from tinynet.layers import Dense, Layer, ReLU, Softmax
from tinynet.losses import Loss
from tinynet.model import Sequential
from tinynet.optim import SGD


# ----------------------------------------------------------------------- the parts, as docs/
class Scale(Layer):
    """y = x * a, a learnable a[d] per feature (docs/gradcheck.md's example, with a config)."""

    def __init__(self, D):
        super().__init__()
        self.D = D
        self.params["a"] = np.linspace(0.5, 2.0, D).astype(np.float32)

    def forward(self, x, training=False):
        self._save(x=x)
        return x * self.params["a"]

    def backward(self, dy):
        x = self._load("x")
        self.grads["a"] = (dy * x).sum(axis=0)
        return dy * self.params["a"]

    def get_config(self):
        return {"D": self.D}


class Huber(Loss):
    """Huber loss, mean over every entry: 0.5 d**2 where |d| <= delta, else linear."""

    def __init__(self, delta=1.0, reduction="mean"):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, y_pred, y_true):
        d = y_pred - y_true
        self._saved = {"d": d}
        a = np.abs(d)
        per_entry = np.where(a <= self.delta, 0.5 * d**2, self.delta * (a - 0.5 * self.delta))
        return float(per_entry.mean() if self.reduction == "mean" else per_entry.sum())

    def backward(self):
        d = self._load()["d"]
        g = np.clip(d, -self.delta, self.delta)
        return g / d.size if self.reduction == "mean" else g

    def get_config(self):
        return {"delta": self.delta, "reduction": self.reduction}


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


# ----------------------------------------------------------- a broken part is named, clearly
class NoGrad(Scale):
    def backward(self, dy):
        return dy * self.params["a"]  # forgot grads["a"]


class SummedDx(Scale):
    def backward(self, dy):
        super().backward(dy)
        return (dy * self.params["a"]).sum(axis=0)  # (D,), not (N, D)


class NoReturn(Scale):
    def backward(self, dy):
        super().backward(dy)  # forgot the return


class PerSampleGrad(Scale):
    def backward(self, dy):
        dx = super().backward(dy)
        self.grads["a"] = dy * self._load("x")  # (N, D): forgot the sum over the batch
        return dx


class ExtraGrad(Scale):
    def backward(self, dy):
        dx = super().backward(dy)
        self.grads["b"] = self.grads["a"]
        return dx


class NoOutput(Layer):
    def forward(self, x, training=False):
        self._save(y=2 * x)  # forgot the return

    def backward(self, dy):
        return 2 * dy


BROKEN = [
    (NoGrad, ValueError, "layers[2] (NoGrad(D=5)): backward did not fill grads['a'], expected "
                         "the gradient of params['a'], an array of shape (5,)"),
    (SummedDx, ValueError, "layers[2] (SummedDx(D=5)): dx (what backward returned) has shape "
                           "(5,), expected (8, 5), the shape of its input x"),
    (NoReturn, TypeError, "layers[2] (NoReturn(D=5)): dx (what backward returned) is None, "
                          "expected an array of shape (8, 5)"),
    (PerSampleGrad, ValueError, "layers[2] (PerSampleGrad(D=5)): grads['a'] has shape (8, 5), "
                                "expected (5,), the shape of params['a']"),
    (ExtraGrad, ValueError, "layers[2] (ExtraGrad(D=5)): backward filled grads['b'], but "
                            "params has no 'b'"),
]


def model_with(layer):
    model = Sequential([Dense(4, 5), ReLU(), layer, Dense(5, 3), Softmax()], seed=0)
    model.compile("sparse_categorical_crossentropy", "sgd")
    return model


@pytest.mark.parametrize("cls, error, match", BROKEN, ids=[c.__name__ for c, _, _ in BROKEN])
def test_fit_names_the_layer_whose_backward_breaks_the_contract(cls, error, match):
    # Without the check, the layer before it, or the optimiser, reports its own error.
    x, y = data(n=8)
    model = model_with(cls(5))
    before = model.get_weights()
    with pytest.raises(error, match=re.escape(match)):
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    for a, b in zip(before, model.get_weights(), strict=True):  # no step was taken
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls, error, match", BROKEN, ids=[c.__name__ for c, _, _ in BROKEN])
def test_model_backward_names_the_layer_whose_backward_breaks_the_contract(cls, error, match):
    x, _ = data(n=8)
    model = model_with(cls(5))
    out = model.forward(x)
    with pytest.raises(error, match=re.escape(match)):
        model.backward(np.ones_like(out))


def test_the_first_layer_with_parameters_is_checked_too():
    # Training asks it for its parameters' gradients only (backward_params), no dx.
    x, y = data(n=8)
    model = Sequential([NoGrad(4), Dense(4, 3), Softmax()], seed=0)
    model.compile("sparse_categorical_crossentropy", "sgd")
    with pytest.raises(ValueError, match=re.escape("layers[0] (NoGrad(D=4)): backward did not "
                                                   "fill grads['a']")):
        model.fit(x, y, epochs=1, verbose=0)


def test_a_forward_that_returns_nothing_is_named():
    x, _ = data(n=8)
    model = Sequential([Dense(4, 5), NoOutput(), Dense(5, 3)], seed=0)
    with pytest.raises(TypeError, match=re.escape("layers[1] (NoOutput()): forward returned "
                                                  "None, expected the output y")):
        model.forward(x)


def test_a_layer_whose_init_forgot_super_init_is_refused_saying_so():
    class Doubler(Layer):
        def __init__(self, k=2):
            self.k = k  # no super().__init__(): no params, no grads

        def forward(self, x, training=False):
            return self.k * x

    match = re.escape("layers[1], a Doubler, has no params or grads: its __init__ must call "
                      "super().__init__() first")
    with pytest.raises(ValueError, match=match):
        Sequential([Dense(4, 5), Doubler()])
    with pytest.raises(ValueError, match="add: layer, a Doubler"):
        Sequential([Dense(4, 5)]).add(Doubler())


# ---------------------------------------------------------------------- what works, as docs/
def test_summary_shows_the_output_shape_a_layer_of_ones_own_returns():
    class EveryOther(Layer):
        """Keeps features 0, 2, 4, ...: (N, D) -> (N, ceil(D / 2)), no output_shape of its own."""

        def forward(self, x, training=False):
            self._save(D=x.shape[1])
            return x[:, ::2]

        def backward(self, dy):
            dx = np.zeros((len(dy), self._load("D")), dtype=dy.dtype)
            dx[:, ::2] = dy
            return dx

    lines = []
    Sequential([Dense(4, 5), EveryOther(), Dense(3, 2)], seed=0).summary(print_fn=lines.append)
    assert re.search(r"everyother_1 \(EveryOther\) +\(None, 3\) +0\n", lines[0])
    assert check_layer(EveryOther(), np.random.default_rng(0).standard_normal((2, 5))).passed


def test_a_loss_of_ones_own_trains_a_regression():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)
    model = Sequential([Dense(3, 1)], seed=0)
    model.compile(Huber(), SGD(0.1), metrics=None)
    history = model.fit(x, y, epochs=20, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 10
    assert model.evaluate(x, y) < history.history["loss"][0] / 10


def test_fit_suggests_one_hot_labels_for_a_loss_that_compares_outputs_entry_by_entry():
    x, y = data(n=8)
    for loss in ["mse", Huber()]:
        model = Sequential([Dense(4, 3)], seed=0)
        model.compile(loss, "sgd", metrics=None)
        with pytest.raises(ValueError, match=re.escape(
                "y must have shape (N, 3) like the model's output, got (8,) (one-hot encode "
                "labels: tinynet.datasets.one_hot(y, 3))")):
            model.fit(x, y, verbose=0)
