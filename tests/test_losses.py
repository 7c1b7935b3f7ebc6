"""Cross-entropy and MSE: values, gradients, stability, reductions and validation."""

import re
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from strategies import (
    EXTREME,
    FEW,
    SETTINGS,
    extreme_logits,
    floats64,
    labels_for,
    matrix_shapes,
    one_hot,
    probabilities,
    resolvable,
    target_rows,
)

from tinynet import losses
from tinynet.gradcheck import factor_note, numerical_gradient, relative_error
from tinynet.layers import Softmax, softmax
from tinynet.losses import MSE, CrossEntropy


def reference_log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax by numpy's own stable log-sum-exp, independent of tinynet's."""
    return z - np.logaddexp.reduce(z, axis=1, keepdims=True)


def assert_gradient_checks(loss, y_pred: np.ndarray, y_true: np.ndarray) -> None:
    """``loss.backward()`` after ``loss.forward(y_pred, y_true)`` agrees with the central
    differences of the loss (float64) to a relative error below 1e-6."""
    loss.forward(y_pred, y_true)
    analytic = loss.backward()
    numeric = numerical_gradient(lambda p: loss.forward(p, y_true), y_pred)
    error, where = relative_error(analytic, numeric)
    # A sign, a 1/N: said first (factor_note runs only for a failure's message).
    assert error < 1e-6, "; ".join(filter(None, [factor_note("dy_pred", analytic, numeric),
                                              f"relative error {error:.1e} at {where}"]))


def class_shapes(max_rows: int = 5, max_classes: int = 6):
    return matrix_shapes(max_rows=max_rows, max_cols=max_classes, min_cols=2)


@st.composite
def logits_and_labels(draw, low=-20.0, high=20.0):
    z = draw(floats64(class_shapes(), low, high))
    return z, draw(labels_for(z.shape))


# --------------------------------------------------------------------------- cross-entropy
@pytest.mark.part("cross-entropy")
@SETTINGS
@given(logits_and_labels(-EXTREME, EXTREME))
def test_cross_entropy_is_minus_log_softmax_of_the_true_class(zy):
    z, y = zy
    loss = CrossEntropy(from_logits=True, reduction="sum")
    with np.errstate(all="raise"):  # finite, even for logits of +-1e4
        value = loss.forward(z, y)
        grad = loss.backward()
    expected = -reference_log_softmax(z)[np.arange(len(z)), y].sum()
    assert value >= 0
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-9)  # sum(p) - 1 = 0 per row
    # d/dz of -(z_y - logsumexp(z)) is softmax(z) - one_hot(y), here from numpy's log-sum-exp.
    expected_grad = np.exp(reference_log_softmax(z)) - one_hot(y, z.shape[1])
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-9, atol=1e-12)


@pytest.mark.part("cross-entropy")
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@SETTINGS
@given(data=st.data())
def test_cross_entropy_of_extreme_logits_and_soft_targets(reduction, data):
    z = data.draw(extreme_logits(class_shapes()))
    y = data.draw(target_rows(z.shape))
    loss = CrossEntropy(from_logits=True, reduction=reduction)
    # No overflow, no NaN, no log(0). (A soft target of 1e-310 times a log-probability of
    # -1e4 may underflow, exactly and harmlessly.)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss.forward(z, y)
        grad = loss.backward()
    log_p = reference_log_softmax(z)
    scale = 1 / len(z) if reduction == "mean" else 1.0
    assert value == pytest.approx(-(y * log_p).sum() * scale, rel=1e-9, abs=1e-9)
    # d/dz of -sum_k y_k (z_k - logsumexp(z)) is softmax(z) * sum(y) - y.
    expected = (np.exp(log_p) * y.sum(axis=1, keepdims=True) - y) * scale
    np.testing.assert_allclose(grad, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.part("cross-entropy")
@SETTINGS
@given(data=st.data())
def test_cross_entropy_of_float32_extreme_logits(data):
    # Models train in float32, where exp overflows past 88 rather than 709: the log-sum-exp
    # must be shifted by each row's max there too.
    z = data.draw(extreme_logits(class_shapes(), dtype=np.float32))
    y = data.draw(labels_for(z.shape))
    loss = CrossEntropy(from_logits=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss.forward(z, y)
        grad = loss.backward()
    assert grad.dtype == np.float32
    log_p = reference_log_softmax(z.astype(np.float64))
    rows = np.arange(len(z))
    # float32 rounds a logit of 1e4 to within 1e-3, and the loss with it.
    assert value == pytest.approx(-log_p[rows, y].mean(), rel=1e-5, abs=1e-3)
    expected = (np.exp(log_p) - np.eye(z.shape[1])[y]) / len(z)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.part("cross-entropy")
@SETTINGS
@given(st.data())
def test_cross_entropy_is_non_negative_for_any_targets(data):
    z = data.draw(extreme_logits(class_shapes()))
    soft = data.draw(target_rows(z.shape))
    labels = data.draw(labels_for(z.shape))
    for y in (soft, labels):
        assert CrossEntropy(from_logits=True).forward(z, y) >= 0
    p = data.draw(probabilities(z.shape))
    assert CrossEntropy().forward(p, labels) >= 0


@pytest.mark.part("cross-entropy")
@SETTINGS
@given(st.data())
def test_cross_entropy_from_logits_is_invariant_to_row_shifts(data):
    z, y = data.draw(logits_and_labels())
    shift = data.draw(floats64((len(z), 1), -EXTREME, EXTREME))
    a, b = CrossEntropy(from_logits=True), CrossEntropy(from_logits=True)
    assert b.forward(z + shift, y) == pytest.approx(a.forward(z, y), rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(b.backward(), a.backward(), rtol=1e-7, atol=1e-12)


@pytest.mark.part("cross-entropy")
@SETTINGS
@given(logits_and_labels(-10, 10), st.booleans())
def test_fused_and_softmax_then_cross_entropy_agree(zy, as_one_hot):
    z, labels = zy
    y = one_hot(labels, z.shape[1]) if as_one_hot else labels
    fused = CrossEntropy(from_logits=True)
    softmax, two_step = Softmax(), CrossEntropy(from_logits=False)
    value_fused = fused.forward(z, y)
    value_two_step = two_step.forward(softmax.forward(z), y)
    assert value_fused == pytest.approx(value_two_step, rel=1e-9, abs=1e-12)
    dz_fused = fused.backward()
    dz_two_step = softmax.backward(two_step.backward())  # chain rule through Softmax
    np.testing.assert_allclose(dz_fused, dz_two_step, rtol=1e-7, atol=1e-10)
    # The fused gradient is (softmax(z) - one_hot(y)) / N.
    expected = (np.exp(reference_log_softmax(z)) - one_hot(labels, z.shape[1])) / len(z)
    np.testing.assert_allclose(dz_fused, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.part("cross-entropy")
@pytest.mark.parametrize("from_logits", [True, False])
@SETTINGS
@given(data=st.data())
def test_integer_and_one_hot_targets_agree(from_logits, data):
    z, labels = data.draw(logits_and_labels())
    y_pred = z if from_logits else data.draw(probabilities(z.shape))
    a, b = CrossEntropy(from_logits=from_logits), CrossEntropy(from_logits=from_logits)
    assert a.forward(y_pred, labels) == pytest.approx(
        b.forward(y_pred, one_hot(labels, z.shape[1])), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(a.backward(), b.backward(), rtol=1e-12, atol=1e-15)


@pytest.mark.part("cross-entropy")
@pytest.mark.parametrize("from_logits", [True, False])
@SETTINGS
@given(data=st.data())
def test_sum_reduction_is_N_times_the_mean(from_logits, data):
    z, labels = data.draw(logits_and_labels())
    y_pred = z if from_logits else data.draw(probabilities(z.shape))
    N = len(z)
    mean = CrossEntropy(from_logits=from_logits, reduction="mean")
    total = CrossEntropy(from_logits=from_logits, reduction="sum")
    assert total.forward(y_pred, labels) == pytest.approx(N * mean.forward(y_pred, labels),
                                                          rel=1e-12)
    np.testing.assert_allclose(total.backward(), N * mean.backward(), rtol=1e-12)


@pytest.mark.part("cross-entropy")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@SETTINGS
@given(miss=st.floats(20.0, EXTREME), K=st.integers(2, 10), data=st.data())
def test_a_large_logit_miss_costs_its_size(dtype, miss, K, data):
    # No epsilon clamp: if the true class's logit is `miss` below another, the loss is about
    # `miss` (plus at most log K), not the log(1e-7) = 16.1 a clamp would report.
    wrong, true = data.draw(st.lists(st.integers(0, K - 1), min_size=2, max_size=2,
                                     unique=True))
    z = np.zeros((1, K), dtype=dtype)
    z[0, wrong] = miss
    miss = float(z[0, wrong])  # as stored in dtype
    loss = CrossEntropy(from_logits=True)
    with np.errstate(all="raise"):
        value = loss.forward(z, np.array([true]))
        grad = loss.backward()
    slack = 4 * np.finfo(dtype).eps * miss  # rounding in dtype
    assert miss - slack <= value <= miss + np.log(K) + slack
    assert grad.dtype == dtype and np.all(np.isfinite(grad))
    # Almost all the gradient says: lower the wrong logit, raise the true one.
    assert grad[0, wrong] == pytest.approx(1.0) and grad[0, true] == pytest.approx(-1.0)


@pytest.mark.part("cross-entropy")
def test_a_zero_probability_for_the_true_class_is_an_infinite_loss():
    p = np.array([[1.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for y in (np.array([1]), np.array([[0.0, 1.0]])):
            loss = CrossEntropy()
            assert loss.forward(p, y) == np.inf
            # and its gradient -1 / p is -inf there, as honestly: no division warning
            np.testing.assert_array_equal(loss.backward(), [[0.0, -np.inf]])


@pytest.mark.part("cross-entropy")
def test_a_zero_probability_for_a_wrong_class_costs_nothing_and_warns_nothing():
    p = np.array([[1.0, 0.0], [0.25, 0.75]])
    for y in (np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]])):
        loss = CrossEntropy()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # 0 * log(0) must not produce NaN or a warning
            value = loss.forward(p, y)
            grad = loss.backward()
        assert value == pytest.approx(-np.log(0.75) / 2)
        assert np.all(np.isfinite(grad))


@pytest.mark.part("cross-entropy")
@pytest.mark.parametrize("targets", ["labels", "one_hot", "soft"])
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@SETTINGS
@given(data=st.data())
def test_cross_entropy_gradient_check(from_logits, reduction, targets, data):
    # Every combination, each its own test: the sparse form (integer labels) indexes where
    # the others multiply, so a bug in one path is invisible to the others.
    z, labels = data.draw(logits_and_labels(-5, 5))
    y_pred = z if from_logits else data.draw(probabilities(z.shape))
    if targets == "labels":
        y = labels
    elif targets == "one_hot":
        y = one_hot(labels, z.shape[1])
    else:
        y = data.draw(target_rows(z.shape))
    loss = CrossEntropy(from_logits=from_logits, reduction=reduction)
    value = loss.forward(y_pred, y)
    analytic = loss.backward()
    # Central differences carry a rounding error of about 1e-16 |L| / eps = 1e-10 |L|: a
    # gradient within a few orders of that (soft targets that almost equal softmax(z))
    # cannot be checked to 1e-6 relative error. A bound of 1e-3 regardless of |L| would let
    # through equal logits and soft rows (0.31 + 1e-3, 0.31, ...) / sum over 5 x 6: |L| = 9,
    # a gradient of norm 1.1e-3, relative error 1.7e-6. The log-sum-exp of a row is rounded
    # to about 1e-16 however small its loss: hence the 1 per row added to |L|
    # (strategies.resolvable).
    rows = len(z) if reduction == "sum" else 1
    numeric = numerical_gradient(lambda p: loss.forward(p, y), y_pred)
    assume(resolvable(value + rows, numeric))
    error, where = relative_error(analytic, numeric)
    # A sign, a 1/N: said first (factor_note runs only for a failure's message).
    assert error < 1e-6, "; ".join(filter(None, [factor_note("dy_pred", analytic, numeric),
                                              f"relative error {error:.1e} at {where}"]))


@pytest.mark.part("cross-entropy")
def test_cross_entropy_gradient_has_the_dtype_of_y_pred():
    # For labels, and for soft labels, which come as float64 (NumPy's default) for a float32
    # model: the gradient stays in the model's dtype.
    z = np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]], dtype=np.float32)
    for y in (np.array([1, 0]), np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])):
        for from_logits in (True, False):
            loss = CrossEntropy(from_logits=from_logits)
            assert isinstance(loss.forward(z if from_logits else softmax(z), y), float)
            assert loss.backward().dtype == np.float32


@pytest.mark.parametrize("y, message", [
    (np.array([0, 3]), r"labels must be in \[0, 3\).*got 3"),
    (np.array([-1, 0]), r"labels must be in \[0, 3\).*got -1"),
    (np.array([0.0, 1.0]), "integer dtype"),
    (np.array([0, 1, 2]), "2 samples but y_true has 3"),
    (np.array([0]), "2 samples but y_true has 1"),
    (np.zeros((2, 4)), r"shape \(N, 3\).*\(2, 4\)"),
    (np.eye(3)[[0, 1], :2], r"shape \(N, 3\), got \(2, 2\)$"),
    (np.array([[0], [1]]), r"got \(2, 1\) \(labels in a column\? .*: y\.ravel\(\)\)$"),
    # A table's column of labels, often floats: whole numbers are labels too.
    (np.array([[2.0], [1.0]]), r"got \(2, 1\) \(labels in a column\? pass them as integers "
                               r"of shape \(N,\): y\.ravel\(\)\.astype\(int\)\)$"),
    (np.array([[0.5], [1.0]]), r"got \(2, 1\)$"),  # not labels, so no hint
    (np.array([[np.inf], [1.0]]), r"got \(2, 1\)$"),  # inf is a whole number to round()
    (np.full((2, 3), "a"), "expected numbers, got dtype <U1"),
    (np.zeros((2, 3, 1)), "got shape"),
])
def test_cross_entropy_refuses_bad_targets(y, message):
    with pytest.raises(ValueError, match=message):
        CrossEntropy(from_logits=True).forward(np.zeros((2, 3)), y)


@pytest.mark.parametrize("y, match", [
    (np.array([0, 1]), r" for a model with 1 output, got 1 \(one output"),
    (np.array([[0.0], [1.0]]), r" got row 0 with sum 0 and smallest entry 0 \(one output"),
    (np.array([0.0, 1.0]), r"integer dtype, got float64 \(one output"),
])
def test_cross_entropy_on_one_output_says_two_classes_take_two(y, match):
    # Keras's binary set-up, Dense(1) and a sigmoid, with labels, a column of 0/1 targets, or
    # Keras's float labels (for which a hint of one-hot rows of shape (N, 1) would mislead).
    with pytest.raises(ValueError, match=match) as refused:
        CrossEntropy().forward(np.array([[0.3], [0.8]]), y)
    assert str(refused.value).endswith(
        "(one output is one class, whose probability is always 1: for two classes, give the "
        "model 2 outputs, Dense(n, 2) and Softmax(), and labels 0 and 1)")


@pytest.mark.parametrize("loss, hint", [
    ("binary_crossentropy", r"; for two classes, give the model 2 outputs, Dense\(n, 2\) and "
                            r"Softmax\(\), and labels 0 and 1, with "
                            r"loss='sparse_categorical_crossentropy'$"),
    (lambda y_true, y_pred: 0.0, r"; a loss of your own is a subclass of Loss with a forward "
                                 r"and a backward \(docs/mse\.md#a-loss-of-your-own\)$"),
    ("hinge", r"'hinge'$"),
])
def test_a_loss_tinynet_has_not_gets_its_way_there(loss, hint):
    with pytest.raises(ValueError, match=r"^loss must be a Loss or one of \[.*\], got .*" + hint):
        losses.get(loss)


def test_cross_entropy_refuses_bad_predictions():
    with pytest.raises(ValueError, match="float"):
        CrossEntropy().forward(np.array([[0, 1]]), np.array([1]))
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        CrossEntropy().forward(np.array([0.5, 0.5]), np.array([1]))
    # Strings are no labels given first: no hint at Keras's order.
    with pytest.raises(ValueError, match=r"y_pred must be a float array, got dtype <U1$"):
        CrossEntropy().forward(np.array([["a", "b"]]), np.array([1]))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("one_hot", [False, True])
def test_cross_entropy_of_probabilities_with_a_nan_is_nan_as_from_logits(reduction, one_hot):
    # A NaN outside the true class (a model that diverged): a loss that read only the true
    # class would be finite, and fit would not see the divergence the logits form reports.
    p = np.array([[np.nan, 0.5, 0.5], [0.2, 0.3, 0.5]])
    y = np.array([1, 2])
    targets = np.eye(3)[y] if one_hot else y
    assert np.isnan(CrossEntropy(reduction=reduction).forward(p, targets))
    assert np.isnan(CrossEntropy(from_logits=True, reduction=reduction).forward(p, targets))
    # The other rows are still checked: a NaN row hides no row that is no distribution.
    p[1] = [0.2, 0.2, 0.2]
    with pytest.raises(ValueError, match=r"summing to 1, got a sum of 0\.6 in row 1"):
        CrossEntropy(reduction=reduction).forward(p, targets)


# ------------------------------------------------------------------------------------- MSE
@pytest.mark.part("mse")
@SETTINGS
@given(st.data())
def test_mse_mean_is_over_all_entries_and_sum_adds_them(data):
    y_pred = data.draw(floats64(matrix_shapes()))
    y_true = data.draw(floats64(y_pred.shape))
    squares = (y_pred - y_true) ** 2
    mean, total = MSE(), MSE(reduction="sum")
    assert mean.forward(y_pred, y_true) == pytest.approx(squares.mean(), rel=1e-12, abs=1e-15)
    assert total.forward(y_pred, y_true) == pytest.approx(squares.sum(), rel=1e-12, abs=1e-15)
    np.testing.assert_allclose(mean.backward() * y_pred.size, total.backward(), rtol=1e-12,
                               err_msg="MSE().backward() times the number of entries should be "
                               "MSE(reduction='sum').backward(): the mean's 1 / (N * K)?")
    assert mean.forward(y_pred, y_true) >= 0 and mean.forward(y_true, y_true) == 0


@pytest.mark.part("mse")
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_keeps_the_dtype_of_y_pred_and_takes_an_empty_batch(reduction):
    # float64 targets for float32 outputs: dy_pred is float32 (the Loss contract), not an
    # upcast of the model's backward; an empty batch costs 0, not a 0 / 0.
    loss = MSE(reduction=reduction)
    y_pred = np.array([[0.5, 1.0]], dtype=np.float32)
    assert loss.forward(y_pred, np.array([[1.0, 1.0]])) == (0.125 if reduction == "mean" else 0.25)
    grad = loss.backward()
    assert grad.dtype == np.float32
    np.testing.assert_array_equal(grad, [[-0.5 if reduction == "mean" else -1.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert loss.forward(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0
        assert loss.backward().shape == (0, 3)


@pytest.mark.part("mse")
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@SETTINGS
@given(data=st.data())
def test_mse_gradient_check(reduction, data):
    y_pred = data.draw(floats64(matrix_shapes()))
    y_true = data.draw(floats64(y_pred.shape))
    assert_gradient_checks(MSE(reduction=reduction), y_pred, y_true)


@pytest.mark.parametrize("loss", [CrossEntropy(), MSE()], ids=repr)
def test_ragged_targets_and_outputs_are_refused_by_name(loss):
    # NumPy's own "inhomogeneous shape" names neither y_pred nor y_true.
    ragged = [[1.0, 0.0], [0.0], [0.0, 1.0]]
    good = np.full((3, 2), 0.5, np.float32)
    target = ("y_true must be an array of labels or of rows of probabilities"
              if isinstance(loss, CrossEntropy) else rf"{re.escape(repr(loss))}: y_true must be "
              "an array of real numbers")
    with pytest.raises(ValueError, match=rf"^{target}, got a list that is not one \(.+\)$"):
        loss.forward(good, ragged)
    with pytest.raises(ValueError, match=rf"^{re.escape(repr(loss))}: y_pred must be a float "
                                         r"array, got a list that is not one \(.+\)$"):
        loss.forward(ragged, good)


def test_mse_refuses_mismatched_shapes_with_a_hint():
    with pytest.raises(ValueError, match=r"shape of y_pred \(4, 3\).*one_hot"):
        MSE().forward(np.zeros((4, 3)), np.zeros(4, dtype=int))
    # One output per sample: the targets are numbers to reshape, not labels to encode.
    with pytest.raises(ValueError, match=r"\(4,\).*reshape\(-1, 1\)") as refused:
        MSE().forward(np.zeros((4, 1)), np.zeros(4))
    assert "one_hot" not in str(refused.value)
    with pytest.raises(ValueError, match="numbers"):
        MSE().forward(np.zeros((1, 2)), np.array([["a", "b"]]))


# ----------------------------------------------------------------------------- both losses
@pytest.mark.parametrize("loss", [MSE(), CrossEntropy(), CrossEntropy(from_logits=True)])
def test_backward_before_forward_is_a_clear_error(loss):
    fresh = type(loss)(**loss.get_config())
    with pytest.raises(RuntimeError, match="before forward"):
        fresh.backward()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("kind", [pytest.param("mse", marks=pytest.mark.part("mse")),
                                  pytest.param("probabilities",
                                               marks=pytest.mark.part("cross-entropy")),
                                  pytest.param("logits", marks=pytest.mark.part("cross-entropy"))])
@FEW
@given(data=st.data())
def test_losses_never_write_into_their_inputs(kind, reduction, data):
    # The model's outputs go to the loss and to the metrics: a loss must leave them, and the
    # targets, as they were; and backward twice gives the same gradient (no saved array is
    # changed in place).
    z, labels = data.draw(logits_and_labels())
    if kind == "mse":
        loss, y_pred, y = MSE(reduction=reduction), z, data.draw(floats64(z.shape))
    else:
        loss = CrossEntropy(from_logits=kind == "logits", reduction=reduction)
        y_pred = z if kind == "logits" else data.draw(probabilities(z.shape))
        y = data.draw(st.sampled_from([labels, one_hot(labels, z.shape[1])]))
    originals = y_pred.copy(), y.copy()
    y_pred.flags.writeable = y.flags.writeable = False  # a write into either raises
    loss.forward(y_pred, y)
    grad = loss.backward()
    kept = grad.copy()
    np.testing.assert_array_equal(loss.backward(), kept)
    np.testing.assert_array_equal(grad, kept)  # the first gradient, untouched by the second
    np.testing.assert_array_equal(y_pred, originals[0])
    np.testing.assert_array_equal(y, originals[1])
    assert not np.shares_memory(grad, y_pred) and not np.shares_memory(grad, y)


@pytest.mark.parametrize("loss_type", [MSE, CrossEntropy])
def test_bad_reduction_is_refused(loss_type):
    with pytest.raises(ValueError, match="reduction"):
        loss_type(reduction="average")


LABELS = np.array([3, 0], np.uint8)


# Float labels too, for cross-entropy: they are (N,) where outputs are (N, K). For MSE, floats
# of another shape than the outputs are refused naming both shapes (tested above).
@pytest.mark.parametrize("loss, labels", [
    (CrossEntropy(), LABELS), (CrossEntropy(from_logits=True), LABELS), (MSE(), LABELS),
    (CrossEntropy(), LABELS.astype(float)), (CrossEntropy(from_logits=True), LABELS / 1.0),
])
def test_arguments_in_keras_order_are_refused_with_tinynets_order(loss, labels):
    # TensorFlow's first tutorial calls loss_fn(y_train[:1], predictions): labels first.
    outputs = softmax(np.array([[0.1, 0.2, 0.3, 0.4], [2.0, 0.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"y_pred must .*\(labels\? tinynet's losses take the "
                       r"model's outputs first, loss\(y_pred, y_true\), where Keras's take "
                       r"loss\(y_true, y_pred\)\)"):
        loss(labels, outputs)
    # In tinynet's order the same arguments give a loss.
    targets = np.eye(4)[LABELS] if isinstance(loss, MSE) else LABELS
    assert np.isfinite(loss(outputs, targets))


def test_outputs_and_labels_both_one_dimensional_get_no_keras_order_hint():
    # Keras's order puts the (N, K) outputs second: with y_true (N,) too, the arguments are
    # not swapped, and a hint to swap them would mislead.
    with pytest.raises(ValueError, match=r"y_pred must have shape \(N, K\), got \(2,\)$"):
        CrossEntropy()(np.array([0.2, 0.8]), np.array([0, 1]))


@pytest.mark.parametrize("y_pred, y_true", [
    (np.zeros(3), np.zeros(4)),
    (np.zeros((2, 3, 3, 1)), np.array([0, 1])),  # images against labels
], ids=["vectors", "images"])
def test_mse_gives_no_hint_where_no_likely_mistake_explains_the_shapes(y_pred, y_true):
    # The one-hot hint is for labels (N,) against outputs (N, K): for images it would give
    # their height as the number of classes.
    with pytest.raises(ValueError, match=rf"shape of y_pred .*, got \({len(y_true)},\)$"):
        MSE()(y_pred, y_true)


def test_losses_by_keras_name():
    assert isinstance(losses.get("mse"), MSE)
    assert isinstance(losses.get("MSE"), MSE)  # in any case, as optim.get("SGD")
    assert isinstance(losses.get("Categorical_CrossEntropy"), CrossEntropy)
    for name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        loss = losses.get(name)
        assert isinstance(loss, CrossEntropy) and not loss.from_logits
    mine = MSE(reduction="sum")
    assert losses.get(mine) is mine
    with pytest.raises(ValueError, match="loss must be"):
        losses.get("hinge")


@pytest.mark.parametrize("y_pred", [np.array([[-0.5, 1.5]]), np.array([[0.0, 2.0]]),
                                    np.array([[-0.5, 0.5]])])
def test_cross_entropy_on_probabilities_refuses_numbers_outside_0_1(y_pred):
    with pytest.raises(ValueError, match=r"y_pred must hold probabilities in \[0, 1\].*"
                                         r"from_logits=True"):
        CrossEntropy().forward(y_pred, np.array([1]))
    CrossEntropy(from_logits=True).forward(y_pred, np.array([1]))  # logits may be anything


@pytest.mark.part("cross-entropy")
@pytest.mark.parametrize("y_pred, row, total", [
    ([[0.9, 0.8, 0.7], [0.2, 0.3, 0.5]], 0, "2.4"),  # Sigmoid outputs: each its own probability
    ([[0.2, 0.3, 0.5], [0.1, 0.0, 0.0]], 1, "0.1"),
])
def test_cross_entropy_on_probabilities_refuses_rows_that_do_not_sum_to_1(y_pred, row, total):
    # Unrefused, a model ending in Sigmoid would train on, the loss falling to 0 as every
    # output goes to 1, at chance accuracy: the loss only pushes the true class's output up.
    with pytest.raises(ValueError, match=rf"each row of y_pred must be a distribution over "
                                         rf"the 3 classes, summing to 1, got a sum of {total} "
                                         rf"in row {row}: end the model with Softmax\(\)"):
        CrossEntropy().forward(np.array(y_pred), np.array([0, 2]))
    CrossEntropy(from_logits=True).forward(np.array(y_pred), np.array([0, 2]))
    # A float32 softmax's rows sum to 1 only to about 1e-7: within the slack.
    z = np.random.default_rng(0).standard_normal((64, 10)).astype(np.float32)
    CrossEntropy().forward(softmax(z), np.zeros(64, int))


@pytest.mark.parametrize("rows, row, total", [
    ([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]], 0, "2"),  # multi-hot: two classes in one sample
    ([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], 1, "0"),  # no class at all
    ([[1.5, -0.5, 0.0], [0.0, 1.0, 0.0]], 0, "1"),  # sums to 1, but the loss has no floor
    ([[np.nan, 0.0, 1.0], [0.0, 1.0, 0.0]], 0, "nan"),
])
@pytest.mark.parametrize("from_logits", [False, True])
def test_cross_entropy_refuses_rows_that_are_not_probabilities(rows, row, total, from_logits):
    y_pred = np.full((2, 3), 1 / 3)
    with pytest.raises(ValueError, match=rf"^y_true: one-hot or probability rows must hold "
                                         rf"numbers >= 0 summing to 1, got row {row} with sum "
                                         rf"{total} and smallest entry"):
        CrossEntropy(from_logits=from_logits).forward(y_pred, np.array(rows))


@pytest.mark.part("cross-entropy")
def test_cross_entropy_takes_float32_soft_labels_and_an_empty_batch():
    z = np.random.default_rng(0).standard_normal((4, 10)).astype(np.float32)
    soft = softmax(z * 3)  # float32 rows: their sums are 1 only to about 1e-7
    assert np.isfinite(CrossEntropy(from_logits=True).forward(z, soft))
    # np.array([]) is float64: as labels of no sample it is as good as an int array.
    assert CrossEntropy(from_logits=True).forward(np.zeros((0, 10)), np.array([])) == 0.0
    # Probabilities too: there is no row to check for sums of 1 (NumPy's min of no numbers
    # is an error).
    for reduction in ("mean", "sum"):
        loss = CrossEntropy(reduction=reduction)
        assert loss.forward(np.zeros((0, 10), np.float32), np.zeros(0, int)) == 0.0
        assert loss.backward().shape == (0, 10)


@pytest.mark.parametrize("from_logits", ["no", "yes", 1, 0, None])
def test_cross_entropy_from_logits_must_be_a_bool(from_logits):
    # bool("no") is True: taken as a bool, it would choose the other form of the loss without
    # a word.
    with pytest.raises(TypeError, match=rf"^CrossEntropy: from_logits must be True or False, "
                                        rf"got {from_logits!r}$"):
        CrossEntropy(from_logits=from_logits)


@pytest.mark.part("cross-entropy")
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_gradient_check_for_rows_summing_to_nearly_1(from_logits, reduction):
    # check_targets takes rows that sum to 1 within ROW_SUM_TOLERANCE (soft labels rounded,
    # say). The gradient from logits is p * sum(y) - y: p - y, right for rows summing to 1
    # exactly, would not be the derivative of the loss forward computes for these.
    rng = np.random.default_rng(0)
    z = rng.standard_normal((4, 3))
    y = rng.random((4, 3))
    y *= (1 + 0.8 * losses.ROW_SUM_TOLERANCE * np.array([1, -1, 1, -1]))[:, None] / y.sum(
        axis=1, keepdims=True)
    y_pred = z if from_logits else softmax(z)
    assert_gradient_checks(CrossEntropy(from_logits=from_logits, reduction=reduction),
                           y_pred, y)


def test_cross_entropy_refuses_target_rows_off_by_more_than_rounding():
    # A row of targets summing to 1.005 is no distribution. Rounding (1e-6, a gradient
    # check's nudge, or float32 soft labels) is taken. (The slack of y_pred: below.)
    with pytest.raises(ValueError, match=r"got row 0 with sum 1.005 and smallest entry 0.5025"):
        CrossEntropy(from_logits=True).forward(np.zeros((1, 2)), np.array([[0.5025, 0.5025]]))
    rows = np.array([[0.5, 0.5 + 1e-6]])
    assert CrossEntropy(from_logits=True).forward(np.zeros((1, 2)), rows) > 0


@pytest.mark.parametrize("y_pred, match", [
    # Past the slack by a tenth of it: 1e-3 is rounding's allowance, not a looser range
    ([[1.0011, 0.0]], r"y_pred must hold probabilities in \[0, 1\], got values from 0 to 1.001:"),
    ([[0.5, 0.5011]], r"each row of y_pred must be a distribution .* got a sum of 1.001 in row 0"),
    # The slack is for rounding above 1; below 0 no rounding goes, and -log stays finite only
    # for a probability >= 0
    ([[-0.0005, 1.0005]], r"y_pred must hold probabilities in \[0, 1\], got values from "
                          r"-0.0005 to 1"),
])
def test_cross_entropy_slack_for_probabilities_is_1e_3_above_1_and_none_below_0(y_pred, match):
    with pytest.raises(ValueError, match=match):
        CrossEntropy().forward(np.array(y_pred), np.array([1]))


@pytest.mark.parametrize("y_pred", [[[0.0, 1.0009]], [[0.5, 0.5009]]])
def test_cross_entropy_takes_probabilities_and_rows_within_the_slack(y_pred):
    assert np.isfinite(CrossEntropy().forward(np.array(y_pred), np.array([1])))


def test_targets_slightly_below_0_are_refused_though_their_row_sums_to_1():
    # A row (-0.0005, 1.0005) sums to 1 exactly; ROW_SUM_TOLERANCE is for the sum alone.
    with pytest.raises(ValueError, match=r"got row 0 with sum 1 and smallest entry -0.0005"):
        CrossEntropy(from_logits=True).forward(np.zeros((1, 2)), np.array([[-0.0005, 1.0005]]))
