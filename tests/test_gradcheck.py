"""The gradient checker: right on known gradients, and it catches wrong backward passes."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import FEW, SETTINGS, floats64, labels_for, matrix_shapes, seeds

from tinynet.gradcheck import (
    TOLERANCE,
    check_layer,
    check_model,
    numerical_gradient,
    relative_error,
)
from tinynet.layers import Dense, ReLU, Sigmoid, Softmax
from tinynet.losses import MSE, CrossEntropy
from tinynet.model import Sequential


# ------------------------------------------------------------------------ numerical_gradient
@pytest.mark.part("gradcheck")
@SETTINGS
@given(floats64(st.tuples(st.integers(1, 4), st.integers(1, 4))))
def test_numerical_gradient_of_a_known_function(x):
    # f(x) = sum(sin(x) * x^2), so df/dx = cos(x) x^2 + 2 x sin(x).
    original = x.copy()
    grad = numerical_gradient(lambda v: float(np.sum(np.sin(v) * v**2)), x)
    np.testing.assert_allclose(grad, np.cos(x) * x**2 + 2 * x * np.sin(x), rtol=1e-6,
                               atol=1e-8)
    np.testing.assert_array_equal(x, original)  # perturbed in place, then restored
    assert grad.shape == x.shape and grad.dtype == np.float64


@pytest.mark.part("gradcheck")
def test_numerical_gradient_sees_the_array_f_reads():
    # f may ignore its argument and read the perturbed array itself (as a layer reads W).
    W = np.array([[1.0, 2.0], [3.0, -4.0]])
    grad = numerical_gradient(lambda _: float(np.sum(W**3)), W)
    np.testing.assert_allclose(grad, 3 * W**2, rtol=1e-8)


def test_numerical_gradient_refuses_an_array_it_cannot_perturb_in_place():
    x = np.arange(12.0).reshape(3, 4)[:, :2]  # not contiguous: reshape(-1) would copy
    with pytest.raises(ValueError, match="contiguous"):
        numerical_gradient(lambda v: float(v.sum()), x)


@pytest.mark.part("gradcheck")
def test_relative_error_has_a_floor_and_reports_the_worst_index():
    # Both zero, or both within the floor's reach of zero: they agree (no 0 / 0).
    assert relative_error(np.zeros(3), np.zeros(3))[0] == 0
    assert relative_error(np.zeros(3), np.full(3, 1e-16))[0] < TOLERANCE
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    n = a.copy()
    n[1, 0] += 0.5
    error, where = relative_error(a, n)
    assert where == (1, 0)
    assert error == pytest.approx(0.5 / (np.linalg.norm(a) + np.linalg.norm(n)))
    with pytest.raises(ValueError, match="shape"):
        relative_error(np.zeros(2), np.zeros(3))


# --------------------------------------------------------------- deliberately wrong backwards
class DenseForgetsTranspose(Dense):
    """dx = dy @ W instead of dy @ W.T (the shapes agree for a square W)."""

    def backward(self, dy):
        dx = super().backward(dy)
        return dx @ self.params["W"].T @ self.params["W"]


class DenseMeanBias(Dense):
    """db = dy.mean(axis=0) instead of the sum."""

    def backward(self, dy):
        dx = super().backward(dy)
        self.grads["b"] = dy.mean(axis=0)
        return dx


class SigmoidWithoutDerivative(Sigmoid):
    """Forgets the y * (1 - y) factor."""

    def backward(self, dy):
        super().backward(dy)
        return dy.copy()


@SETTINGS
@given(floats64(matrix_shapes(min_rows=2, min_cols=2, max_cols=4)), seeds())
def test_checker_catches_a_backward_that_forgets_the_transpose(x, seed):
    D = x.shape[1]
    layer = DenseForgetsTranspose(D, D, dtype=np.float64, rng=np.random.default_rng(seed))
    W = layer.params["W"]
    assume(np.linalg.norm(W - W.T) > 0.1 * np.linalg.norm(W))  # a symmetric W hides it
    assume(np.linalg.norm(x) > 0.1)
    result = check_layer(layer, x, seed=seed % 1000)
    assert not result.passed
    assert result.worst[0] == "x" and result.errors["x"] > 1e-3
    assert result.errors["W"] < TOLERANCE and result.errors["b"] < TOLERANCE
    assert "FAILED" in str(result) and "dx" in str(result)


@SETTINGS
@given(floats64(matrix_shapes(min_rows=2)), st.integers(1, 3), seeds())
def test_checker_catches_a_mean_bias_gradient(x, out_features, seed):
    layer = DenseMeanBias(x.shape[1], out_features, dtype=np.float64,
                          rng=np.random.default_rng(seed))
    result = check_layer(layer, x, seed=seed % 1000)
    assert not result.passed
    assert result.worst[0] == "b" and result.errors["b"] > 1e-3
    assert "db" in str(result)


@SETTINGS
@given(floats64(matrix_shapes(), -3, 3), seeds())
def test_checker_catches_a_missing_activation_derivative(x, seed):
    result = check_layer(SigmoidWithoutDerivative(), x, seed=seed % 1000)
    assert not result.passed and result.max_error > 1e-2


def test_check_model_catches_a_wrong_layer():
    rng = np.random.default_rng(5)
    model = Sequential([DenseMeanBias(3, 4, dtype=np.float64), Sigmoid(),
                        Dense(4, 2, dtype=np.float64), Softmax()], seed=0)
    result = check_model(model, CrossEntropy(), rng.standard_normal((6, 3)),
                         rng.integers(0, 2, 6))
    assert not result.passed and result.worst[0] == "0.b"


# ---------------------------------------------------------------------- a composite model
@FEW
@given(st.data())
def test_composite_model_gradient_check(data):
    N, D = data.draw(matrix_shapes(max_rows=4, max_cols=4))
    H, K = data.draw(st.integers(2, 5)), data.draw(st.integers(2, 4))
    seed = data.draw(seeds())
    x = data.draw(floats64((N, D)))
    y = data.draw(labels_for((N, K)))
    f64 = {"dtype": np.float64, "b_init": "normal"}  # biases keep ReLU's input off 0
    model = Sequential([Dense(D, H, **f64), ReLU(), Dense(H, K, **f64), Softmax()], seed=seed)
    # Keep every pre-activation away from ReLU's kink, where the derivative is undefined.
    first = model.layers[0]
    assume(np.abs(x @ first.params["W"] + first.params["b"]).min() > 1e-2)
    result = check_model(model, CrossEntropy(), x, y)
    assert set(result.errors) == {"x", "0.W", "0.b", "2.W", "2.b"}
    assert result.passed, str(result)


@FEW
@given(floats64(matrix_shapes(max_rows=4, max_cols=4)), seeds())
def test_composite_model_with_mse_gradient_check(x, seed):
    model = Sequential([Dense(x.shape[1], 3, dtype=np.float64), Sigmoid(),
                        Dense(3, 2, dtype=np.float64)], seed=seed)
    target = np.random.default_rng(seed).standard_normal((len(x), 2))
    result = check_model(model, MSE(reduction="sum"), x, target)
    assert result.passed, str(result)
