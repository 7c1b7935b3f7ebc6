"""The gradient checker: right on known gradients, and it catches wrong backward passes."""

import re
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import (
    FEW,
    SETTINGS,
    check_resolvable,
    floats64,
    labels_for,
    matrix_shapes,
    read_only,
    resolvable,
    seeds,
)

from tinynet.gradcheck import (
    TOLERANCE,
    GradCheckResult,
    check_layer,
    check_model,
    factor_note,
    numerical_gradient,
    relative_error,
)
from tinynet.layers import Dense, Dropout, Layer, ReLU, Sigmoid, Softmax, Tanh
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
    np.testing.assert_array_equal(x, original, err_msg="numerical_gradient must put each "
                                  "entry of x back after nudging it")
    assert grad.shape == x.shape and grad.dtype == np.float64


@pytest.mark.part("gradcheck")
def test_numerical_gradient_sees_the_array_f_reads():
    # f may ignore its argument and read the perturbed array itself (as a layer reads W).
    W = np.array([[1.0, 2.0], [3.0, -4.0]])
    grad = numerical_gradient(lambda _: float(np.sum(W**3)), W)
    np.testing.assert_allclose(grad, 3 * W**2, rtol=1e-8)


@pytest.mark.part("gradcheck")
@pytest.mark.parametrize("layout", ["sliced", "fortran", "transposed"])
def test_numerical_gradient_perturbs_a_non_contiguous_array_in_place(layout):
    # x.reshape(-1) of these is a copy: nudging the copy would leave what f reads unchanged
    # (a gradient of 0), so entries are nudged through indices into x itself.
    base = np.arange(1.0, 13.0).reshape(3, 4)
    x = {"sliced": base[:, :2], "fortran": np.asfortranarray(base),
         "transposed": base.T}[layout]
    assert not x.flags.c_contiguous
    original = x.copy()
    grad = numerical_gradient(lambda _: float(np.sum(x**3)), x)
    np.testing.assert_allclose(grad, 3 * original**2, rtol=1e-6, err_msg="nudge x itself "
                               "through its indices: x.reshape(-1) of this x is a copy")
    np.testing.assert_array_equal(x, original, err_msg="numerical_gradient must put each "
                                  "entry of x back after nudging it")


@pytest.mark.part("gradcheck")
def test_numerical_gradient_puts_x_back_when_f_raises():
    # x may be a layer's live parameter: a forward that fails on a nudged x would leave
    # that entry off by eps.
    x = np.array([1.0, 2.0, 3.0])
    calls = []

    def f(v):
        calls.append(v.copy())
        if len(calls) == 3:  # the second entry, nudged up
            raise RuntimeError("forward failed")
        return float(np.sum(v**2))

    with pytest.raises(RuntimeError, match="forward failed"):
        numerical_gradient(f, x)
    assert calls[2][1] != 2.0
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("x", [np.array([1, 2]), np.array([True, False]),
                               np.array([1 + 0j, 2 + 0j])], ids=["int", "bool", "complex"])
def test_numerical_gradient_refuses_an_array_that_cannot_be_nudged(x):
    # 1 + 1e-6 stored in an int array is 1: the quotient would be (f(x) - f(x - 1)) / 2e-6.
    with pytest.raises(ValueError, match=rf"x must be a float array.*got dtype {x.dtype}"):
        numerical_gradient(lambda v: float(np.sum(v**2).real), x)


def test_numerical_gradient_refuses_what_it_cannot_perturb_in_place():
    with pytest.raises(TypeError, match=r"must be a NumPy array.*got list"):
        numerical_gradient(lambda v: 0.0, [1.0, 2.0])
    read_only = np.broadcast_to(np.ones(3), (2, 3))
    with pytest.raises(ValueError, match="W is read-only"):
        numerical_gradient(lambda v: 0.0, read_only, name="W")


@pytest.mark.parametrize("eps", [0, 0.0, -1e-6, float("nan"), float("inf"), "1e-6", None])
def test_eps_must_be_a_finite_positive_number(eps):
    x = np.ones(2)
    message = rf"eps must be a number in \(0\.0, inf\), got {re.escape(repr(eps))}"
    with pytest.raises(ValueError, match="numerical_gradient: " + message):
        numerical_gradient(lambda v: float(np.sum(v**2)), x, eps=eps)
    with pytest.raises(ValueError, match="check_layer: " + message):
        check_layer(ReLU(), x[None], eps=eps)
    model = Sequential([Dense(2, 1, dtype=np.float64)], seed=0)
    with pytest.raises(ValueError, match="check_model: " + message):
        check_model(model, MSE(), x[None], np.zeros((1, 1)), eps=eps)


@pytest.mark.part("gradcheck")
def test_relative_error_has_a_floor_and_reports_the_worst_index():
    # Both zero, or both within the floor's reach of zero: they agree (no 0 / 0).
    assert relative_error(np.zeros(3), np.zeros(3))[0] == 0
    assert relative_error(np.zeros(3), np.full(3, 1e-16))[0] < TOLERANCE
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    n = a.copy()
    n[1, 0] += 0.5
    error, where = relative_error(a, n)
    assert isinstance(where, tuple) and where == (1, 0), (
        f"the worst index must be a tuple of ints, (1, 0) here, got {where!r}")
    assert error == pytest.approx(0.5 / (np.linalg.norm(a) + np.linalg.norm(n)))
    with pytest.raises(ValueError, match="shape"):
        relative_error(np.zeros(2), np.zeros(3))
    # Below the floor, the floor divides: max(floor, norms), not floor + norms (which gives
    # 1e-9 / 1.1e-8 = 0.0909), and the floor given, not the default (1e-8: 1.0).
    assert relative_error(np.array([1e-9]), np.array([0.0]))[0] == pytest.approx(0.1,
                                                                                rel=1e-12)
    assert relative_error(np.array([1.0]), np.array([0.0]), floor=10.0)[0] == pytest.approx(
        0.1, rel=1e-12)


def test_relative_error_of_empty_gradients_and_of_shapes_that_only_broadcast():
    # A parameter with no entries agrees with itself; (1, 3) against (3,) is not compared by
    # broadcasting.
    assert relative_error(np.zeros((0, 3)), np.zeros((0, 3))) == (0.0, ())
    with pytest.raises(ValueError, match=r"^relative_error: numeric must have analytic's shape "
                                         r"\(1, 3\), got \(3,\)$"):
        relative_error(np.zeros((1, 3)), np.zeros(3))


def test_a_relative_error_equal_to_the_tolerance_fails():
    # "passed" means below the tolerance.
    worst = {"x": (0,)}
    assert not GradCheckResult({"x": TOLERANCE}, worst).passed
    assert GradCheckResult({"x": TOLERANCE / 2}, worst).passed
    assert not GradCheckResult({"x": 0.5, "W": 0.0}, {"x": (0,), "W": (0,)}, 0.5).passed


def test_a_result_is_true_when_it_passed_and_a_number_its_largest_error():
    # `assert check_layer(layer, x)` must fail a wrong backward: a dataclass is always true.
    x = np.random.default_rng(1).standard_normal((4, 5))
    wrong = check_layer(TanhTimes(1 + 1e-4), x)
    right = check_layer(Tanh(), x)
    assert bool(wrong) is False and bool(right) is True
    assert bool(check_model(Sequential([Dense(5, 3, dtype=np.float64), TanhTimes(1.01)], seed=0),
                            "mse", x, np.ones((4, 3)))) is False
    assert float(wrong) == wrong.max_error > 1e-5 and float(right) == right.max_error < 1e-8
    # Errors of NumPy's floats (a relative_error written with np.linalg.norm) are read too.
    numpy_errors = GradCheckResult({"x": np.float64(1e-9)}, {"x": (0,)})
    assert bool(numpy_errors) is True and type(float(numpy_errors)) is float


def test_a_float32_layer_or_model_that_fails_is_told_to_use_float64():
    # Without the note, a learner's float32 Dense would fail with errors near 1e-2 and no
    # word of why: its rounding, not its backward.
    x = np.random.default_rng(1).standard_normal((4, 5))
    result = check_layer(Dense(5, 3, rng=np.random.default_rng(0)), x)
    assert not result.passed
    assert str(result).startswith("gradient check FAILED: the layer computes in float32, "
                                  "whose rounding alone fails the check: build it with "
                                  "dtype=np.float64; worst relative error ")
    model = Sequential([Dense(5, 3), Tanh(), Dense(3, 2)], seed=0)
    assert str(check_model(model, "mse", x, np.ones((4, 2)))).startswith(
        "gradient check FAILED: the model computes in float32, whose rounding alone fails the "
        "check: build its layers with dtype=np.float64; worst relative error ")
    # A float64 layer that fails has a wrong backward: no such note.
    wrong = check_layer(TanhTimes(1 + 1e-4), x)
    assert not wrong.passed and wrong.note == "" and "float32" not in str(wrong)
    passed = check_layer(Dense(5, 3, dtype=np.float64, rng=np.random.default_rng(0)), x)
    assert passed.passed and "float32" not in str(passed)


def test_a_check_keeps_both_gradients_and_compares_by_its_errors():
    # The arrays are kept for a learner to set side by side; == compares the verdicts (on
    # the arrays it would raise: "the truth value of an array ... is ambiguous").
    x = np.random.default_rng(1).standard_normal((4, 5))
    result = check_layer(Dense(5, 3, dtype=np.float64, rng=np.random.default_rng(0)), x)
    assert sorted(result.analytic) == sorted(result.numeric) == ["W", "b", "x"]
    assert result.numeric["W"].shape == (5, 3) and result.analytic["x"].shape == x.shape
    np.testing.assert_allclose(result.analytic["W"], result.numeric["W"], rtol=1e-6)
    assert result == GradCheckResult(result.errors, result.worst_index)
    assert "analytic" not in repr(result)


def test_jupyter_shows_a_check_as_print_does():
    # IPython calls _repr_pretty_(printer, cycle) for a cell's last value; the stand-in
    # printer keeps what it is given, as IPython's prints it.
    result = GradCheckResult({"x": 2e-9, "W": 5e-3}, {"x": (0,), "W": (1, 2)})
    shown = []
    result._repr_pretty_(SimpleNamespace(text=shown.append), cycle=False)
    assert shown == [str(result)]
    assert str(result).startswith("gradient check FAILED: worst relative error 5.00e-03 in dW "
                                  "at index (1, 2)")


@pytest.mark.part("gradcheck")
def test_numerical_gradient_is_float64_for_a_float32_x():
    x = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    grad = numerical_gradient(lambda v: float(np.sum(v.astype(np.float64) ** 2)), x, eps=1e-2)
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, 2 * x.astype(np.float64), rtol=1e-4)


# --------------------------------------------------------------- deliberately wrong backwards
class DenseForgetsTranspose(Dense):
    """dx = dy @ W instead of dy @ W.T (the shapes agree for a square W)."""

    def backward(self, dy):
        super().backward(dy)  # the parameter gradients, right
        return dy @ self.params["W"]


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


class TanhTimes(Tanh):
    """dx the right one times ``k``: a sign (-1), a term counted twice (2), none (0), or a
    wrong constant deep in a formula (1 + 1e-4)."""

    def __init__(self, k: float) -> None:
        super().__init__()
        self.k = k

    def backward(self, dy):
        return super().backward(dy) * self.k


class DropoutWithoutRescale(Dropout):
    """Forgets the 1 / (1 - rate) of the mask in backward: wrong only while training."""

    def backward(self, dy):
        mask = self._load("mask")
        return dy.copy() if mask is None else dy * (mask != 0)


@pytest.mark.part("gradcheck")
def test_the_default_tolerance_catches_an_error_of_a_few_parts_per_million():
    x = np.random.default_rng(0).standard_normal((4, 5))
    result = check_layer(TanhTimes(1 + 5e-6), x)  # a relative error of 2.5e-6
    assert not result.passed and 2e-6 < result.errors["x"] < 3e-6, (
        f"a dx 1 + 5e-6 times the true one should fail with a relative error between 2e-6 "
        f"and 3e-6 (the normwise error of docs/gradcheck.md#the-relative-error-normwise-"
        f"with-a-floor); the check said: {result}")
    assert check_layer(Tanh(), x).errors["x"] < 1e-8  # the check itself is far finer


@pytest.mark.part("gradcheck")
@SETTINGS
@given(floats64(matrix_shapes()), seeds())
def test_checker_catches_a_gradient_off_by_one_part_in_ten_thousand(x, seed):
    # The tolerance is tight enough to matter: a relative error of 5e-5 fails it.
    result = check_layer(TanhTimes(1 + 1e-4), x, seed=seed % 1000)
    assert not result.passed and result.errors["x"] > 1e-5, str(result)
    assert check_layer(Tanh(), x, seed=seed % 1000).passed  # and the right one passes


@pytest.mark.part("gradcheck")
@SETTINGS
@given(floats64(matrix_shapes(min_rows=2, min_cols=2)), seeds())
def test_checker_catches_a_backward_wrong_only_while_training(x, seed):
    seed %= 1000
    # check_layer redraws the mask from seed before each forward: keep at least one entry.
    assume((np.random.default_rng(seed).random(x.shape) >= 0.5).any())
    layer = DropoutWithoutRescale(0.5)
    assert check_layer(layer, x, training=False, seed=seed).passed  # the identity: right
    result = check_layer(layer, x, training=True, seed=seed)
    assert not result.passed and result.errors["x"] > 1e-2, str(result)


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


@pytest.mark.parametrize("k, said", [(-1, "dx is -1 times the numerical gradient throughout"),
                                     (2, "dx is 2 times the numerical gradient throughout"),
                                     # 5% off: more than the 1% that rounding could explain
                                     (1.05, "dx is 1.05 times the numerical gradient "
                                            "throughout"),
                                     (0, "dx is 0 throughout, and the numerical gradient is "
                                         "not")])
def test_a_gradient_off_by_a_constant_factor_is_said_to_be(k, said):
    # The commonest bugs (a sign, a 1/N, a term twice) scale the gradient: the check says by
    # how much, which one relative error does not.
    x = np.random.default_rng(0).standard_normal((4, 5))
    # First, before the errors: a grade's one line, cut at 200 characters, keeps it.
    assert str(check_layer(TanhTimes(k), x)).startswith(f"gradient check FAILED: {said}")


def test_a_mean_for_a_sum_is_said_to_be_a_factor_and_no_factor_is_said_where_there_is_none():
    x = np.random.default_rng(0).standard_normal((4, 5))
    # A mean for db's sum, over 4 rows: 1/4.
    mean_bias = DenseMeanBias(5, 3, dtype=np.float64, rng=np.random.default_rng(0))
    assert "db is 0.25 times the numerical gradient" in str(check_layer(mean_bias, x))
    # Not said of an error that is no one factor, nor of a factor within 1% of 1.
    for layer in (SigmoidWithoutDerivative(), TanhTimes(1 + 1e-4), Tanh()):
        assert "times the numerical" not in str(check_layer(layer, x))


def test_a_factor_is_said_only_when_it_holds_for_every_entry():
    numeric = np.random.default_rng(0).standard_normal(20)
    scale = np.abs(numeric).max()
    off = 2 * numeric
    off[3] += 1e-4 * scale  # rounding's size: still 2 throughout
    assert factor_note("dx", off, numeric).startswith("dx is 2 times the numerical gradient")
    off[3] += 1e-2 * scale  # one entry 1% of the largest off: a bug that is no one factor
    assert factor_note("dx", off, numeric) == ""


def test_a_check_that_passes_gives_no_note_of_a_cause():
    # A float32 layer may pass a loose tolerance: "whose rounding alone fails the check"
    # would then contradict the verdict.
    x = np.random.default_rng(1).standard_normal((4, 5))
    result = check_layer(Dense(5, 3, rng=np.random.default_rng(0)), x, tolerance=0.5)
    assert result.passed and result.note
    assert str(result).startswith("gradient check passed: worst relative error ")


def test_check_model_catches_a_wrong_layer():
    rng = np.random.default_rng(5)
    model = Sequential([DenseMeanBias(3, 4, dtype=np.float64), Sigmoid(),
                        Dense(4, 2, dtype=np.float64), Softmax()], seed=0)
    result = check_model(model, CrossEntropy(), rng.standard_normal((6, 3)),
                         rng.integers(0, 2, 6))
    assert not result.passed and result.worst[0] == "0.b"


# ----------------------------------------------------------- what central differences resolve
def test_resolvable_keeps_out_right_gradients_that_fail_on_rounding_alone():
    # strategies.resolvable filters the draws of the gradient checks. These right backwards
    # fail the check: the gradient is ~1e-4 of f or less, and the rounding error of central
    # differences is ~1e-10 of f. The filter must drop them, and keep an ordinary draw.
    x = np.zeros((5, 2))
    x[0, 0] = 1.0001e-3  # dW = x.T @ dy: one entry 1e-3 * dy[0], next to f = sum(b * dy)
    saturated = (Softmax(), np.array([[-5.0, 5.0]]), 196)  # dx ~ e^-10 (dy_0 - dy_1)
    small_x = (Dense(2, 1, b_init="normal", dtype=np.float64, rng=np.random.default_rng(116)),
               x, 116)
    for layer, inputs, seed in (saturated, small_x):
        result, resolvable = check_resolvable(layer, inputs, seed)
        assert not result.passed and not resolvable
    ordinary = Dense(2, 1, b_init="normal", dtype=np.float64, rng=np.random.default_rng(116))
    x = np.random.default_rng(0).standard_normal((5, 2))
    result, resolvable = check_resolvable(ordinary, x, 116)
    assert result.passed and resolvable
    # Judged from the numerical gradients only: a backward 1000 times too small, with
    # gradients below what the check resolves, is kept, and fails.
    scaled = Softmax()
    scaled.backward = lambda dy: Softmax.backward(scaled, dy) * 1e-3
    result, resolvable = check_resolvable(scaled, np.array([[0.5, -1.0, 2.0]]), 3)
    assert resolvable and not result.passed


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
    # Central differences carry a rounding error of about 1e-16 * |loss| / eps = 1e-10 * |loss|
    # (docs/gradcheck.md#why-float64): a gradient within a few orders of that cannot be
    # checked to 1e-6 however right it is. dL/dx is that small with one ReLU unit open
    # through a weight of 1e-3, dL/dW of the first layer with an x of zeros and one entry
    # 1e-3. The log of a probability near 1 is rounded to about 1e-16 whatever the loss:
    # hence the 1 added to it (strategies.resolvable).
    value = CrossEntropy().forward(model.forward(x, training=False), y)
    result = check_model(model, CrossEntropy(), x, y)
    assume(resolvable(value + 1, *result.numeric.values()))
    assert set(result.errors) == {"x", "0.W", "0.b", "2.W", "2.b"}
    assert result.passed, str(result)


@FEW
@given(floats64(matrix_shapes(max_rows=4, max_cols=4)), seeds())
def test_composite_model_with_mse_gradient_check(x, seed):
    model = Sequential([Dense(x.shape[1], 3, dtype=np.float64), Sigmoid(),
                        Dense(3, 2, dtype=np.float64)], seed=seed)
    target = np.random.default_rng(seed).standard_normal((len(x), 2))
    # dL/dW of the first layer is tiny for an x of zeros and one entry 1e-3, next to a loss
    # the targets keep at about 1: below what central differences resolve
    # (strategies.resolvable).
    value = MSE(reduction="sum").forward(model.forward(x), target)
    result = check_model(model, MSE(reduction="sum"), x, target)
    assume(resolvable(value, *result.numeric.values()))
    assert result.passed, str(result)


# ------------------------------------------------------------ layers that break the contract
class Scale(Layer):
    """docs/gradcheck.md's example: y = x * a, one learnable a[d] per feature."""

    def __init__(self, D, dtype=np.float64):
        super().__init__()
        self.params["a"] = np.linspace(0.5, 2.0, D).astype(dtype)  # (D,)

    def forward(self, x, training=False):
        self._save(x=x)
        return x * self.params["a"]  # (N, D)

    def backward(self, dy):
        x = self._load("x")
        self.grads["a"] = (dy * x).sum(axis=0)  # (D,)
        return dy * self.params["a"]  # (N, D)


class NoGrad(Scale):
    """Forgets to fill grads["a"]: dx alone is right."""

    def backward(self, dy):
        return dy * self.params["a"]


class ExtraGrad(Scale):
    """Fills a gradient for a parameter that does not exist."""

    def backward(self, dy):
        dx = super().backward(dy)
        self.grads["c"] = np.zeros(1)
        return dx


class KeepdimsGrad(Scale):
    """grads["a"] of shape (1, D), not (D,): a forgotten keepdims=False."""

    def backward(self, dy):
        dx = super().backward(dy)
        self.grads["a"] = self.grads["a"][None]
        return dx


class ReturnsNone(Scale):
    """Fills grads but forgets to return dx."""

    def backward(self, dy):
        super().backward(dy)


X = np.random.default_rng(0).standard_normal((4, 5))


class DropoutWithoutBackward(Dropout):
    def backward(self, dy):
        return None


@pytest.mark.parametrize("make, error", [(Dropout, None),
                                         (DropoutWithoutBackward, "backward returned None")])
def test_check_layer_gives_the_layer_its_own_generator_back(make, error):
    # The check runs each forward with a Generator of its seed; kept, a Dropout of a model
    # would go on drawing from it, not from the model's stream.
    layer = make(0.5)
    rng = layer.rng
    if error:
        with pytest.raises(TypeError, match=error):
            check_layer(layer, np.ones((2, 3)), training=True)
    else:
        assert check_layer(layer, np.ones((2, 3)), training=True).passed
    assert layer.rng is rng


def test_check_layer_fails_a_backward_that_leaves_a_parameter_without_gradient():
    # A check of only the keys found in grads would pass this layer: `a` is never compared.
    with pytest.raises(ValueError, match=r"check_layer: NoGrad\(\): backward did not fill "
                                         r"grads\['a'\].*shape \(5,\)"):
        check_layer(NoGrad(5), X)
    model = Sequential([Dense(5, 5, dtype=np.float64), NoGrad(5)], seed=0)
    with pytest.raises(ValueError, match=r"^layers\[1\] \(NoGrad\(\)\): backward did not fill "
                                         r"grads\['a'\]"):
        check_model(model, MSE(), X, X)


def test_check_layer_fails_a_gradient_params_lacks():
    with pytest.raises(ValueError, match=r"ExtraGrad\(\): backward filled grads\['c'\], but "
                                         r"params has no 'c' \(params: \['a'\]\)"):
        check_layer(ExtraGrad(5), X)
    with pytest.raises(ValueError, match=r"^layers\[0\] .*grads\['c'\]"):
        check_model(Sequential([ExtraGrad(5)], seed=0), MSE(), X, X)


def test_check_layer_fails_a_gradient_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"KeepdimsGrad\(\): grads\['a'\] has shape \(1, 5\), "
                                         r"expected \(5,\), the shape of params\['a'\]"):
        check_layer(KeepdimsGrad(5), X)


class DoublesDyInPlace(Layer):
    """y = 2 x, whose backward scales the dy it is given in place: the right math, though
    the Layer contract forbids the write (tests/test_layers.py holds tinynet's layers to it).
    check_layer checks the math, on a dy of its own, so it passes."""

    def forward(self, x, training=False):
        return 2 * x

    def backward(self, dy):
        dy *= 2
        return dy


class OneBuffer(Layer):
    """y = x * a, computed into buffers kept between calls, as a layer written to allocate
    nothing per step might: forward clears grads["a"] and writes y where backward writes dx,
    so the next forward overwrites what backward returned and filled."""

    def __init__(self, D):
        super().__init__()
        self.params["a"] = np.linspace(0.5, 2.0, D)
        self.grads["a"] = np.zeros(D)
        self.buffer = None

    def forward(self, x, training=False):
        self._save(x=x.copy())
        if self.buffer is None or self.buffer.shape != x.shape:
            self.buffer = np.empty_like(x, dtype=np.float64)
        self.grads["a"][...] = 0
        np.multiply(x, self.params["a"], out=self.buffer)
        return self.buffer

    def backward(self, dy):
        self.grads["a"][...] = (dy * self._load("x")).sum(axis=0)
        np.multiply(dy, self.params["a"], out=self.buffer)
        return self.buffer


@pytest.mark.part("gradcheck")
@pytest.mark.parametrize("layer", [DoublesDyInPlace(), OneBuffer(5)],
                         ids=["dy-in-place", "buffers"])
def test_a_right_backward_passes_whatever_it_does_to_its_buffers(layer):
    # check_layer keeps its own dy, and copies of dx and grads: the layer's own arrays may
    # be written over by the forwards of the numerical gradient.
    result = check_layer(layer, X)
    assert result.passed, str(result)


def test_check_model_runs_the_model_in_inference_mode():
    # Dropout is the identity there: with training=True it would draw a new mask at each of
    # the numerical gradient's forwards, and no gradient would match.
    rng = np.random.default_rng(4)
    model = Sequential([Dense(5, 4, dtype=np.float64), Tanh(), Dropout(0.5),
                        Dense(4, 3, dtype=np.float64), Softmax()], seed=0)
    result = check_model(model, CrossEntropy(), rng.standard_normal((6, 5)),
                         rng.integers(0, 3, 6))
    assert result.passed, str(result)


@pytest.mark.part("gradcheck")
def test_every_parameter_is_checked():
    result = check_layer(Scale(5), X)
    assert set(result.errors) == {"x", "a"} and result.passed, str(result)


def test_a_backward_that_returns_none_is_named():
    with pytest.raises(TypeError, match=r"check_layer: ReturnsNone\(\): backward returned None, "
                                        r"expected dL/dx, an array of shape \(4, 5\)"):
        check_layer(ReturnsNone(5), X)
    # In a model, the layer is named rather than the layer before it failing on None.
    model = Sequential([Dense(5, 5, dtype=np.float64), ReturnsNone(5)], seed=0)
    with pytest.raises(TypeError, match=r"^layers\[1\] \(ReturnsNone\(\)\): dx \(what "
                                        r"backward returned\) is None, expected an array of "
                                        r"shape \(4, 5\)"):
        check_model(model, MSE(), X, X)


def test_a_dx_of_the_wrong_shape_is_named():
    class SumsDx(Scale):
        def backward(self, dy):
            return super().backward(dy).sum(axis=0)

    with pytest.raises(ValueError, match=r"SumsDx\(\): dx \(what backward returned\) has shape "
                                         r"\(5,\), expected \(4, 5\), the shape of x"):
        check_layer(SumsDx(5), X)
    # In a model, it is named too: without this, the ReLU before it would report the dy it
    # was given as its own error ("ReLU(): dy must have the shape of the last output").
    model = Sequential([Dense(5, 5, dtype=np.float64), ReLU(), SumsDx(5)], seed=0)
    with pytest.raises(ValueError, match=r"^layers\[2\] \(SumsDx\(\)\): dx \(what backward "
                                         r"returned\) has shape \(5,\), expected \(4, 5\)"):
        check_model(model, MSE(), X, X)


def test_an_integer_parameter_is_named():
    with pytest.raises(ValueError, match=r"check_layer: Scale\(\): params\['a'\] has dtype "
                                         r"int64, expected a float dtype"):
        check_layer(Scale(5, dtype=np.int64), X)


@pytest.mark.parametrize("value, error, match", [
    (lambda p: p.tolist(), TypeError, r"params\['W'\] must be a NumPy array, got list"),
    (read_only, ValueError, r"params\['W'\] is read-only, but the check nudges it in place"),
])
def test_a_parameter_that_cannot_be_nudged_is_named_before_anything_runs(value, error, match):
    # Named by check_layer and the layer, and by check_model and the layer's index, not
    # left to numerical_gradient after a backward has run.
    model = Sequential([Dense(3, 3, dtype=np.float64), Dense(3, 2, dtype=np.float64)], seed=0)
    layer = model.layers[1]
    layer.params["W"] = value(layer.params["W"])  # after the model drew its weights
    with pytest.raises(error, match=rf"^check_layer: Dense\(.*\): {match}"):
        check_layer(layer, np.ones((2, 3)))
    with pytest.raises(error, match=rf"^check_model: layer 1 \(Dense\(.*\)\): {match}"):
        check_model(model, MSE(), np.ones((2, 3)), np.ones((2, 2)))


@pytest.mark.parametrize("layers, match", [
    ([ReLU], r"layer 0 is the class ReLU, not a layer: make one, ReLU\(\.\.\.\)$"),
    ([ReLU(), np.tanh], r"layer 1 must be a layer .*got ufunc, which has no forward, "
                        r"backward, params, grads"),
], ids=["class", "ufunc"])
def test_check_model_names_a_layer_that_is_a_class_or_no_layer(layers, match):
    with pytest.raises(TypeError, match=f"^check_model: {match}"):
        check_model(SimpleNamespace(layers=layers), MSE(), np.ones((2, 3)), np.ones((2, 3)))


def test_check_layer_names_what_a_layer_of_ones_own_lacks():
    class NoParams:  # forward and backward, but not a Layer: no params, no grads
        def forward(self, x, training=False):
            return x

        def backward(self, dy):
            return dy

    with pytest.raises(TypeError, match=r"^check_layer: layer must be a layer .*got NoParams, "
                                        r"which has no params, grads$"):
        check_layer(NoParams(), np.ones((2, 3)))


@pytest.mark.part("gradcheck")
def test_a_fortran_ordered_parameter_is_checked():
    class Bilinear(Layer):
        """y = x @ W with a Fortran-ordered W (D, K): reshape(-1) of W is a copy."""

        def __init__(self):
            super().__init__()
            self.params["W"] = np.asfortranarray(np.linspace(-1.0, 1.0, 15).reshape(5, 3))

        def forward(self, x, training=False):
            self._save(x=x)
            return x @ self.params["W"]

        def backward(self, dy):
            self.grads["W"] = self._load("x").T @ dy
            return dy @ self.params["W"].T

    layer = Bilinear()
    result = check_layer(layer, X)
    assert set(result.errors) == {"x", "W"} and result.passed, str(result)
    assert layer.params["W"].flags.f_contiguous  # checked where it is, not replaced


@pytest.mark.parametrize("cls", [ReLU, Dense])
def test_check_layer_wants_an_instance_not_a_class(cls):
    with pytest.raises(TypeError, match=rf"^check_layer: layer is the class {cls.__name__}, "
                                        rf"not a layer: make one, {cls.__name__}\(\.\.\.\)$"):
        check_layer(cls, X)


def test_check_model_wants_a_model_not_its_class_nor_a_list_of_layers():
    with pytest.raises(TypeError, match=r"^check_model: model is the class Sequential, not a "
                                        r"model: make one, Sequential\(\[\.\.\.\]\)$"):
        check_model(Sequential, MSE(), X, X)
    with pytest.raises(TypeError, match=r"^check_model: model must be a Sequential \(with "
                                        r"layers\), got list$"):
        check_model([ReLU()], MSE(), X, X)


def test_check_layer_refuses_what_is_not_a_layer():
    with pytest.raises(TypeError, match=r"must be a layer .*got ufunc, which has no forward"):
        check_layer(np.tanh, X)


def test_check_model_takes_loss_names_as_compile_does():
    rng = np.random.default_rng(3)
    model = Sequential([Dense(5, 3, dtype=np.float64), Softmax()], seed=0)
    x, labels = rng.standard_normal((4, 5)), np.array([0, 1, 2, 1])
    by_name = check_model(model, "categorical_crossentropy", x, np.eye(3)[labels])
    assert by_name.passed, str(by_name)
    assert by_name.errors == check_model(model, CrossEntropy(), x, labels).errors
    with pytest.raises(ValueError, match=r"check_model: loss must be a Loss or one of .*'mse'.*"
                                         r"got 'hinge'"):
        check_model(model, "hinge", x, labels)
    # compile's words, and its ValueError
    with pytest.raises(ValueError, match=r"^check_model: loss is the class CrossEntropy, not a "
                                         r"loss: make one, CrossEntropy\(\)$"):
        check_model(model, CrossEntropy, x, labels)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"tolerance": 0}, ValueError, r"tolerance must be a number in \(0.0, inf\), got 0"),
    ({"tolerance": -1e-6}, ValueError, r"tolerance must be a number in \(0.0, inf\)"),
    ({"tolerance": float("nan")}, ValueError, r"tolerance must be a number in \(0.0, inf\)"),
    ({"tolerance": "1e-6"}, ValueError, r"tolerance must be a number in \(0.0, inf\)"),
    ({"seed": -1}, ValueError, r"seed must be an int >= 0, got -1"),
    ({"seed": 1.5}, ValueError, r"seed must be an int >= 0, got 1.5"),
    ({"seed": None}, ValueError, r"seed must be an int >= 0, got None"),
    ({"training": "no"}, TypeError, r"training must be True or False, got 'no'"),
    ({"x": np.ones((2, 3), complex)}, ValueError, r"x must hold real numbers .*complex128"),
    ({"x": np.ones((2, 3)).astype(str)}, ValueError, r"x must hold real numbers .*<U32"),
    # No numbers would "pass" a check of nothing; a NaN would "FAIL" as if backward were wrong.
    ({"x": np.ones((0, 3))}, ValueError, r"x must hold at least one number, got shape \(0, 3\): "
                                         r"a check of no numbers checks nothing$"),
    ({"x": np.array([[1.0, np.nan, 1.0], [np.inf, 0, 0]])}, ValueError,
     r"x must hold finite numbers, got 2 NaN or infinite values$"),
], ids=["tolerance-0", "tolerance-negative", "tolerance-nan", "tolerance-str", "seed-negative",
        "seed-float", "seed-none", "training-str", "x-complex", "x-str", "x-empty", "x-nan"])
def test_check_layer_refuses_bad_arguments_by_name(kwargs, error, match):
    # Unchecked, a tolerance of 0 or NaN would make every check fail, a string would fail
    # when `passed` is read, seeds would fail inside NumPy, training="no" would train, and
    # complex or string inputs would be cast to float64 (the imaginary part dropped, the
    # strings parsed).
    args = {"layer": Dense(3, 2, dtype=np.float64, rng=np.random.default_rng(0)),
            "x": np.random.default_rng(1).random((2, 3)), **kwargs}
    with pytest.raises(error, match=f"^check_layer: {match}"):
        check_layer(**args)


def test_check_model_refuses_a_bad_tolerance_and_an_x_that_is_not_numbers():
    model = Sequential([Dense(3, 2, dtype=np.float64)], seed=0)
    x, y = np.ones((2, 3)), np.array([0, 1])
    with pytest.raises(ValueError, match=r"^check_model: tolerance must be a number in \(0.0"):
        check_model(model, CrossEntropy(from_logits=True), x, y, tolerance=0)
    with pytest.raises(ValueError, match=r"^check_model: x must hold real numbers"):
        check_model(model, CrossEntropy(from_logits=True), x.astype(complex), y)
    with pytest.raises(ValueError, match=r"^check_model: x must hold at least one number"):
        check_model(model, CrossEntropy(from_logits=True), np.zeros((0, 3)), np.zeros(0, int))
    with pytest.raises(ValueError, match=r"^check_model: x must hold finite numbers"):
        check_model(model, CrossEntropy(from_logits=True), x * np.nan, y)


@pytest.mark.parametrize("f, error, match", [
    (3, TypeError, r"f must be a function of x that returns a number, got 3"),
    (lambda x: x * 2, ValueError, r"f must return one real number \(the loss\), got array"),
    (lambda x: None, ValueError, r"f must return one real number \(the loss\), got None"),
    (lambda x: 1j, ValueError, r"f must return one real number \(the loss\), got 1j"),
    # A comparison (loss > 0) gives a bool: no loss to differentiate.
    (lambda x: x.sum() > 0, ValueError, r"f must return one real number \(the loss\), got "
                                        r"np.True_"),
    (lambda x: True, ValueError, r"f must return one real number \(the loss\), got True"),
])
def test_numerical_gradient_wants_f_to_give_one_number(f, error, match):
    with pytest.raises(error, match=f"^numerical_gradient: {match}"):
        numerical_gradient(f, np.ones(3))


@pytest.mark.parametrize("args, match", [
    ((np.zeros(2), np.zeros(2), 0.0), r"floor must be a number in \(0.0, inf\), got 0.0"),
    ((np.ones(2, complex), np.ones(2)), r"analytic must hold real numbers .*complex128"),
    ((np.ones(2), np.array(["1", "1"])), r"numeric must hold real numbers .*<U1"),
])
def test_relative_error_refuses_a_floor_of_0_and_what_is_not_real_numbers(args, match):
    # A floor of 0 would give NaN for two zero gradients (0 / 0), with a warning.
    with pytest.raises(ValueError, match=f"^relative_error: {match}"):
        relative_error(*args)
