"""Metrics: accuracy and the confusion matrix, against direct counts."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import SETTINGS

from tinynet.layers import Dense, Softmax
from tinynet.metrics import (
    accuracy,
    confusion_matrix,
    get,
    mean_absolute_error,
    mean_squared_error,
    unchecked_accuracy,
)
from tinynet.model import Sequential


@SETTINGS
@given(st.integers(1, 40), st.integers(2, 30), st.integers(0, 2**32 - 1))
def test_confusion_matrix_counts_each_pair(n, k, seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, k, n), rng.integers(0, k, n)
    expected = np.zeros((k, k), dtype=np.int64)
    for t, p in zip(y_true, y_pred, strict=True):
        expected[t, p] += 1
    for dtype in (np.uint8, np.int64):  # IDX labels are uint8
        np.testing.assert_array_equal(
            confusion_matrix(y_true.astype(dtype), y_pred.astype(dtype), k), expected)


def test_uint8_labels_do_not_wrap_past_255():
    # 19 * 20 + 19 = 399 does not fit in a uint8: the count must land at [19, 19].
    cm = confusion_matrix(np.array([19], np.uint8), np.array([19], np.uint8), 20)
    assert cm[19, 19] == 1 and cm.sum() == 1


@pytest.mark.parametrize("dtype", [float, str, int])
def test_confusion_matrix_of_nothing_is_zeros(dtype):
    # No labels, of whatever dtype: strings must not fail in the range check, with NumPy's
    # error.
    empty = np.array([], dtype)
    np.testing.assert_array_equal(confusion_matrix(empty, empty, 3), np.zeros((3, 3)))


@pytest.mark.parametrize("args, match", [
    (([0.5], [1], 2), r"y_true must hold integer labels, got dtype float64"),
    (([0], [1], 2.5), r"num_classes must be an int >= 1, got 2.5"),
    (([0], [1], None), r"num_classes must be an int >= 1, got None"),
    ((np.eye(2, dtype=int), np.eye(2, dtype=int), 2), r"same shape \(N,\), got \(2, 2\)"),
    (([0, 1], [1], 2), r"got \(2,\) and \(1,\)"),
    (([0, 2], [1, 1], 2), r"y_true must be in \[0, 2\), got 2 at index 1"),
    (([0, 1], [1, -1], 2), r"y_pred must be in \[0, 2\), got -1 at index 1"),
])
def test_confusion_matrix_refuses_what_it_cannot_count(args, match):
    with pytest.raises(ValueError, match=match):
        confusion_matrix(*args)


def test_accuracy_of_scores_and_of_one_hot_rows():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert accuracy(scores, np.array([1, 0, 0])) == pytest.approx(2 / 3)
    assert accuracy(scores, np.eye(2)[[1, 0, 0]]) == pytest.approx(2 / 3)
    assert np.isnan(accuracy(np.zeros((0, 2)), np.zeros(0, int)))


@pytest.mark.parametrize("y_pred, y_true", [
    (np.array([0, 1, 2]), np.array([0, 1, 2])),  # labels where scores belong
    (np.eye(3), np.array([0])),                  # N that differ would broadcast
    (np.eye(3)[[0]], np.array([0, 0, 0])),
    (np.eye(3), np.eye(3)[:, :, None]),          # targets of 3 axes
])
def test_accuracy_refuses_shapes_that_would_broadcast(y_pred, y_true):
    with pytest.raises(ValueError, match=r"expected y_pred of shape \(N, K\)"):
        accuracy(y_pred, y_true)


def test_a_metric_function_is_named_and_its_result_made_a_float():
    name, fn = get(lambda y_pred, y_true: np.abs(y_pred[:, 0] - y_true))  # one per sample
    assert name == "<lambda>"
    assert fn(np.array([[1.0], [3.0]]), np.array([0.0, 0.0])) == 2.0  # their mean, as Keras
    count = get(lambda y_pred, y_true: np.count_nonzero(y_pred))[1]  # a NumPy int
    assert count(np.eye(2), np.zeros(2)) == 2.0 and type(count(np.eye(2), np.zeros(2))) is float


def test_mean_absolute_and_squared_errors_are_means_over_every_entry():
    y_pred = np.array([[0.5, 0.5, 0.0], [0.1, 0.7, 0.2]], np.float32)
    y_true = np.array([[1, 0, 0], [0, 1, 0]], np.uint8)  # one-hot rows
    errors = np.array([0.5, 0.5, 0.0, 0.1, 0.3, 0.2])
    assert mean_absolute_error(y_pred, y_true) == pytest.approx(errors.sum() / 6)
    assert mean_squared_error(y_pred, y_true) == pytest.approx((errors**2).sum() / 6)
    for metric in (mean_absolute_error, mean_squared_error):
        assert type(metric(y_pred, y_true)) is float
        with warnings.catch_warnings():  # NaN for no entries, not "Mean of empty slice"
            warnings.simplefilter("error")
            assert np.isnan(metric(np.zeros((0, 3)), np.zeros((0, 3))))


@pytest.mark.parametrize("y_pred, y_true, match", [
    # Labels against (N, K) outputs would broadcast to (N, N) or (N, K): a number of nothing.
    (np.zeros((3, 3)), np.array([0, 1, 2]), r"shape of y_pred \(3, 3\), got \(3,\) \(labels\? "
                                            r"one-hot encode them"),
    (np.zeros((3, 1)), np.zeros(3),
     r"got \(3,\) \(one target per sample: y_true.reshape\(-1, 1\)\)"),
    (np.zeros((2, 2)), np.array([["a", "b"]] * 2), r"y_true must hold real numbers"),
    # The same number of axes, a column against (N, K): still broadcast.
    (np.zeros((3, 2)), np.zeros((3, 1)), r"shape of y_pred \(3, 2\), got \(3, 1\)"),
])
@pytest.mark.parametrize("metric", [mean_absolute_error, mean_squared_error])
def test_mean_errors_refuse_shapes_that_would_broadcast(y_pred, y_true, match, metric):
    with pytest.raises(ValueError, match=f"^{metric.__name__}: .*{match}"):
        metric(y_pred, y_true)


@pytest.mark.parametrize("name, fn", [("mae", mean_absolute_error),
                                      ("mean_absolute_error", mean_absolute_error),
                                      ("mse", mean_squared_error),
                                      ("mean_squared_error", mean_squared_error),
                                      ("categorical_accuracy", accuracy),
                                      ("sparse_categorical_accuracy", accuracy),
                                      # in any case, as loss and optimiser names
                                      ("MAE", mean_absolute_error), ("Accuracy", accuracy)])
def test_keras_metric_names_are_logged_as_given(name, fn):
    assert get(name) == (name, fn)
    rng = np.random.default_rng(0)
    x, labels = rng.standard_normal((20, 2)), rng.integers(0, 3, 20)
    y = np.eye(3)[labels]  # one-hot, which both metrics take
    model = Sequential([Dense(2, 3), Softmax()], seed=0)
    model.compile("categorical_crossentropy", "sgd", metrics=[name])
    history = model.fit(x, y, epochs=2, verbose=0, validation_split=0.25)
    assert sorted(history.history) == sorted(["loss", name, "val_loss", f"val_{name}"])
    # The metric sees the probabilities, as predict gives them.
    assert model.evaluate(x, y, return_dict=True)[name] == pytest.approx(fn(model.predict(x), y))


def keras_accuracy(y_true, y_pred):  # Keras's argument order, not tinynet's
    return np.mean(np.argmax(y_pred, axis=-1) == y_true)


def test_a_metric_whose_parameters_say_keras_order_is_refused_by_compile():
    # Called as keras_accuracy(y_pred, y_true) it would run, and log a wrong accuracy: the
    # argmax of the labels, a single number, against every probability, broadcast.
    y_pred, y_true = np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 1])
    assert keras_accuracy(y_true, y_pred) == 1 and keras_accuracy(y_pred, y_true) == 0
    model = Sequential([Dense(2, 2), Softmax()], seed=0)
    with pytest.raises(ValueError, match=r"^metric 'keras_accuracy' takes \(y_true, y_pred\), "
                       r"the targets first as Keras's metrics do, expected metric\(y_pred, "
                       r"y_true\): .* Swap its parameters, or pass lambda y_pred, y_true: "
                       r"keras_accuracy\(y_true, y_pred\)$"):
        model.compile("sparse_categorical_crossentropy", "sgd", metrics=[keras_accuracy])
    assert model.loss is None  # nothing compiled


@pytest.mark.parametrize("metric", [lambda labels, p: 0.0, lambda p, q, y_pred=None: 0.0,
                                    lambda target, y_pred: 0.0])
def test_other_target_first_names_are_refused_too(metric):
    with pytest.raises(ValueError, match=r"^metric '<lambda>' takes .* Swap its parameters$"):
        get(metric)


@pytest.mark.parametrize("metric, name", [(lambda y_pred, y_true: 0.0, "<lambda>"),
                                          (lambda out, y: 0.0, "<lambda>"), (np.add, "add"),
                                          (lambda: 0.0, "<lambda>")])
def test_metrics_in_tinynets_order_or_without_names_to_go_on_are_taken(metric, name):
    assert get(metric)[0] == name  # not refused


def test_a_keras_order_metric_without_a_name_is_not_offered_a_lambda_calling_it():
    class KerasOrder:
        def __call__(self, y_true, y_pred):
            return 0.0

    with pytest.raises(ValueError, match=r"^metric 'metric' takes \(y_true, y_pred\), .* "
                                         r"Swap its parameters$"):
        get(KerasOrder())


def accuracy_of(t, p):  # Keras's order, but names that do not say so
    return np.mean(np.argmax(p, axis=1) == t)


def test_a_metric_in_keras_order_that_fails_says_so():
    model = Sequential([Dense(2, 3), Softmax()], seed=0)
    model.compile("sparse_categorical_crossentropy", "sgd", metrics=[accuracy_of])
    with pytest.raises(ValueError, match=r"metric 'accuracy_of' \(called as accuracy_of"
                       r"\(y_pred, y_true\) with shapes \(2, 3\) and \(2,\)\) failed: "
                       r"AxisError: .*Keras's metrics take \(y_true, y_pred\)"):
        # fit tries its metrics on the first two samples before the first step
        model.fit(np.zeros((4, 2)), np.array([0, 1, 2, 0]), verbose=0)


@pytest.mark.parametrize("result", [None, "high", np.zeros((2, 2)), np.zeros(3), np.zeros(1)])
def test_a_metric_that_returns_no_number_is_refused(result):
    _, fn = get(lambda y_pred, y_true: result)
    with pytest.raises(ValueError, match=r"must return a number, or one per sample of shape "
                       r"\(2,\), got"):
        fn(np.eye(2), np.zeros(2))


SCORES = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])


@pytest.mark.parametrize("y_true, match", [
    # Unchecked, each of these would be counted, silently: 0.5 as class 0, 3 and -1 as wrong
    # answers, a 4-wide one-hot row by its argmax, and the strings "0", "1" parsed as
    # numbers.
    (np.array([0.5, 1.0]), r"y_true labels must be whole numbers in \[0, 3\) for K = 3 output "
                           r"columns, got 0.5 at index 0"),
    (np.array([0, 3]), r"y_true labels must be whole numbers in \[0, 3\) .*got 3 at index 1"),
    (np.array([[-1], [1]]), r"y_true labels must be whole numbers in \[0, 3\) .*got -1 at index 0"),
    (np.array([np.nan, 1.0]), r"y_true labels must be whole numbers .*got nan at index 0"),
    (np.eye(4)[[0, 1]], r"y_true one-hot rows must have the K = 3 columns of y_pred, got shape "
                        r"\(2, 4\)"),
    (np.array(["0", "1"]), r"y_true must hold real numbers \(bool, int, uint or float\), got "
                           r"dtype <U1"),
])
def test_accuracy_refuses_labels_it_would_miscount(y_true, match):
    with pytest.raises(ValueError, match=f"^accuracy: {match}$"):
        accuracy(SCORES, y_true)


@pytest.mark.parametrize("y_pred", [SCORES.astype(complex), SCORES.astype(str), np.zeros((2, 0))])
def test_accuracy_refuses_scores_that_are_not_real_numbers_or_no_classes(y_pred):
    with pytest.raises(ValueError, match=r"^accuracy: (y_pred must hold real numbers|expected "
                                         r"y_pred of shape \(N, K\) with K >= 1)"):
        accuracy(y_pred, np.array([0, 1]))


@pytest.mark.parametrize("y_true", [np.array([0, 1], np.uint8), np.array([0.0, 1.0]),
                                    np.array([[0], [1]]), [0, 1], np.eye(3)[[0, 1]]])
def test_accuracy_takes_labels_of_every_documented_kind(y_true):
    assert accuracy(SCORES, y_true) == 1.0
    assert accuracy(SCORES.tolist(), y_true) == 1.0


def test_accuracy_of_one_output_compares_it_with_one_half():
    # K = 1 is a single probability: its targets are 0/1 labels.
    assert accuracy(np.array([[0.7], [0.2]]), np.array([1.0, 0.0])) == 1.0
    # Class 1 when p > 0.5, so p = 0.5 exactly is class 0 (as Keras's binary accuracy counts
    # it); a column of labels (N, 1) is labels, not one-hot rows of one class.
    p = np.array([[0.5], [0.51], [0.9], [0.2]])
    labels = np.array([0, 1, 1, 1])  # right, right, right, wrong
    assert accuracy(p, labels) == 0.75
    assert accuracy(p, labels.reshape(-1, 1)) == 0.75


@pytest.mark.parametrize("y_pred, y_true, match", [
    # Unchecked, a regression's targets would be counted as labels: 3.7 as class 3, never
    # right.
    (np.array([[0.7], [0.2]]), np.array([3.7, 0.0]),
     r"y_true labels must be 0 or 1 for a single output column \(the probability of class "
     r"1\), got 3.7 at index 0; accuracy, compile's default metric, counts classes: for "
     r"regression targets, compile with metrics=None \(or metrics of your own\)$"),
    (SCORES, np.array([[0.2, 0.5, 0.3], [1.5, -0.5, 0.0]]),
     r"y_true rows must be one-hot or probabilities summing to 1, got \[ 1.5 -0.5  0. \] at "
     r"index 1; .*metrics=None"),
    (SCORES, np.array([[0.2, 0.5, 0.2], [0.0, 1.0, 0.0]]), r"y_true rows .*got \[0.2 0.5 "
                                                          r"0.2\] at index 0"),
    (SCORES, np.array([[0.0, 1.0, 0.0], [np.nan, 1.0, 0.0]]), r"y_true rows .*got \[nan  1.  "
                                                             r"0.\] at index 1"),
])
def test_accuracy_refuses_targets_that_are_no_classes(y_pred, y_true, match):
    with pytest.raises(ValueError, match=f"^accuracy: {match}"):
        accuracy(y_pred, y_true)


def test_accuracy_takes_probability_rows_by_their_argmax():
    smoothed = np.array([[0.9, 0.05, 0.05], [0.0999, 0.8, 0.1]])  # sums 1 and 0.9999
    assert accuracy(SCORES, smoothed) == 1.0
    rounded = np.array([[1 + 1e-7, 0, 0], [0, 1, 0]])  # one-hot, as rounding may leave it
    assert accuracy(SCORES, rounded) == 1.0

    # Rounding leaves a one-hot row's 1 a little above 1, never a 0 below 0
    with pytest.raises(ValueError, match=r"y_true rows must be one-hot or probabilities "
                                         r"summing to 1, got \[-5\.0+e-04 +1\.0005e\+00\] at "
                                         r"index 0"):
        accuracy(SCORES[:1, :2], np.array([[-0.0005, 1.0005]]))


@pytest.mark.parametrize("y_pred, y_true, expected", [
    ([[np.nan, np.nan], [np.nan, np.nan]], [0, 0], 0.0),  # argmax would say 0: all right
    ([[np.nan, 1.0], [0.2, 0.8]], [0, 1], 0.5),  # argmax would pick the NaN, class 0: right
    ([[np.nan], [0.9]], [0, 1], 0.5),  # NaN > 0.5 is False: would be class 0, right
])
def test_a_row_of_predictions_holding_nan_counts_as_wrong(y_pred, y_true, expected):
    # A model diverged to NaN would score as if it always predicted class 0.
    assert accuracy(np.array(y_pred), np.array(y_true)) == expected


def test_unchecked_accuracy_takes_one_row_without_its_batch_axis():
    # Its argmax is a single number, which the NaN rows' -1 is written into by index.
    assert unchecked_accuracy(np.array([0.2, 0.8]), np.array([1])) == 1.0


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, bool])
@pytest.mark.parametrize("metric", [mean_absolute_error, mean_squared_error])
def test_mean_errors_of_unsigned_or_bool_arrays_are_taken_in_floats(dtype, metric):
    # uint8 0 - 1 would wrap around to 255; bools would not subtract at all.
    y_pred, y_true = np.array([[0, 1]], dtype), np.array([[1, 1]], dtype)
    assert metric(y_pred, y_true) == 0.5


def test_the_mse_metric_is_the_mse_loss_value():
    # What "mse" is for: the MSE beside another loss. Beside the MSE loss itself, it is the
    # same number.
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 2)), np.eye(3)[rng.integers(0, 3, 40)]
    model = Sequential([Dense(2, 3), Softmax()], seed=0)
    model.compile("mse", "sgd", metrics=["mse"])
    loss, mse = model.evaluate(x, y, verbose=0)
    assert mse == pytest.approx(loss, rel=1e-6)


def test_accuracy_of_no_samples_is_nan_without_a_warning():
    # np.mean of nothing is NaN too, but with NumPy's "Mean of empty slice" warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(accuracy(np.zeros((0, 3)), np.zeros(0, int)))
        assert np.isnan(accuracy(np.zeros((0, 3)), np.zeros((0, 3))))


def test_accuracy_counts_class_indices_of_any_size():
    # 1000 classes, as ImageNet's: labels past 127 or 255 compare as the numbers they are.
    labels = np.array([0, 127, 128, 255, 256, 999])
    scores = np.eye(1000)[labels]
    assert accuracy(scores, labels) == 1.0
    assert accuracy(scores, labels.astype(np.uint16)) == 1.0
    assert accuracy(scores, np.roll(labels, 1)) == 0.0
