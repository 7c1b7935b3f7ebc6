"""Metrics: numbers for people, not for gradients."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable

import numpy as np

from tinynet.checks import int_at_least, real_array, targets_hint
from tinynet.losses import ROW_SUM_TOLERANCE

__all__ = ["METRICS", "Metric", "accuracy", "check_classes", "confusion_matrix", "get",
           "mean_absolute_error", "mean_squared_error", "unchecked_accuracy"]


def _predicted_labels(y_pred: np.ndarray) -> np.ndarray:
    """The predicted class of each row: argmax over K columns, or ``p > 0.5`` when K = 1;
    -1, no class, for a row that holds NaN.

    Shapes: y_pred (N, K) -> (N,) integers.
    """
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2 and y_pred.shape[1] == 1:
        labels = (y_pred[:, 0] > 0.5).astype(np.int64)
    else:
        labels = np.atleast_1d(y_pred.argmax(axis=-1))  # an array, for the NaN rows below
    if y_pred.dtype.kind == "f":
        # argmax takes a NaN for the largest entry, and NaN > 0.5 is False: class 0 either
        # way, so a model that had diverged to NaN scored as if it always said 0.
        labels[np.isnan(y_pred).any(axis=-1)] = -1
    return labels


def _true_labels(y_true: np.ndarray) -> np.ndarray:
    """Integer labels (N,) from labels (N,) or one-hot / probability rows (N, K)."""
    y_true = np.asarray(y_true)
    if y_true.ndim == 2 and y_true.shape[1] > 1:
        return y_true.argmax(axis=-1)
    return y_true.reshape(len(y_true)).astype(np.int64, copy=False)


def accuracy(y_pred: np.ndarray, y_true: np.ndarray) -> float:
    """The fraction of samples whose predicted class is the true one.

    Shapes: y_pred (N, K) scores or probabilities; y_true labels (N,) or one-hot (N, K).
    Argmax of logits and of their softmax agree, so either may be passed. NaN when N is 0.
    With K = 1, a single output compared with 0.5, y_true is read as 0/1 labels. A row of
    y_pred that holds NaN predicts no class: it counts as wrong.

    Raises ValueError for other shapes (labels as y_pred, or N that differ, would otherwise
    broadcast into a number that means nothing), for arrays that are not real numbers, for
    one-hot rows of another width than K, for labels that are not whole numbers in [0, K)
    (in [0, 2) when K = 1), and for rows of y_true that are not probabilities summing to 1:
    each would otherwise be counted, silently, as right or wrong. Regression targets are
    refused this way too: accuracy is for classes, and a model that learns numbers compiles
    with other metrics, or ``metrics=None``.
    """
    y_pred = real_array(y_pred, "y_pred", "accuracy")
    y_true = real_array(y_true, "y_true", "accuracy")
    if (y_pred.ndim != 2 or y_pred.shape[1] == 0 or y_true.ndim not in (1, 2)
            or len(y_true) != len(y_pred)):
        raise ValueError(f"accuracy: expected y_pred of shape (N, K) with K >= 1 and y_true "
                         f"of shape (N,) or (N, K), got {y_pred.shape} and {y_true.shape}")
    K = y_pred.shape[1]
    if y_true.ndim == 2 and y_true.shape[1] > 1 and y_true.shape[1] != K:
        raise ValueError(f"accuracy: y_true one-hot rows must have the K = {K} columns of "
                         f"y_pred, got shape {y_true.shape}")
    if len(y_true) == 0:
        return float("nan")
    check_classes(y_true, K)
    return unchecked_accuracy(y_pred, y_true)


def unchecked_accuracy(y_pred: np.ndarray, y_true: np.ndarray) -> float:
    """:func:`accuracy` without its checks, for arguments known to pass them: ``fit`` checks
    all of its targets once, before training, and counts each batch's with this (checked in
    every batch, one-hot rows would cost a fifth of a softmax regression's training step)."""
    return float(np.mean(_predicted_labels(y_pred) == _true_labels(y_true)))


def check_classes(y_true: np.ndarray, K: int, name: str = "y_true") -> None:
    """A ValueError unless ``y_true`` (called ``name`` in the message) holds classes for K
    outputs: labels (N,) or (N, 1) that are whole numbers in [0, K), or in [0, 2) for a
    single output (K = 1); or rows (N, K) of probabilities that sum to 1, as one-hot rows do
    (within ROW_SUM_TOLERANCE, as in CrossEntropy, for rows written in float32 or rounded)."""
    # fit checks its targets here before the loss has seen them: strings, say, would fail
    # in the comparisons below with a NumPy error that names neither y nor what it must be.
    y_true = real_array(y_true, name, "accuracy")
    regression = ("; accuracy, compile's default metric, counts classes: for regression "
                  "targets, compile with metrics=None (or metrics of your own)")
    if y_true.ndim == 2 and y_true.shape[1] > 1:
        # Entries >= 0 that sum to 1 are at most 1 too (an entry of 1 + 1e-7, rounded, is
        # still one-hot).
        bad = np.flatnonzero((y_true < 0).any(axis=1)
                             | ~(np.abs(y_true.sum(axis=1) - 1) <= ROW_SUM_TOLERANCE))  # NaN too
        if len(bad):
            raise ValueError(f"accuracy: {name} rows must be one-hot or probabilities summing "
                             f"to 1, got {y_true[bad[0]]} at index {bad[0]}{regression}")
        return
    labels = y_true.reshape(len(y_true))
    high = max(K, 2)
    bad = np.flatnonzero((labels < 0) | (labels >= high) | (labels != np.round(labels)))
    if len(bad):  # (NaN is caught too: it is not equal to its own rounding)
        expected = (f"whole numbers in [0, {K}) for K = {K} output columns" if K > 1 else
                    "0 or 1 for a single output column (the probability of class 1)")
        raise ValueError(f"accuracy: {name} labels must be {expected}, got {labels[bad[0]]} at "
                         f"index {bad[0]}{regression if K == 1 else ''}")


def _mean_error(y_pred: np.ndarray, y_true: np.ndarray, name: str,
                error: Callable[[np.ndarray], np.ndarray]) -> float:
    """The mean of ``error(y_pred - y_true)`` over every entry, for the metric ``name``."""
    y_pred = real_array(y_pred, "y_pred", name)
    y_true = real_array(y_true, "y_true", name)
    if y_pred.shape != y_true.shape:
        hint = targets_hint("y_true", y_true.shape, y_pred.shape)
        raise ValueError(f"{name}: y_true must have the shape of y_pred {y_pred.shape}, got "
                         f"{y_true.shape}{hint}")
    if y_pred.size == 0:
        return float("nan")
    # In floats: uint8 0 - 1 would wrap around to 255, and bools do not subtract.
    diff = np.subtract(y_pred, y_true, dtype=np.result_type(y_pred, y_true, np.float32))
    return float(np.mean(error(diff)))


def mean_absolute_error(y_pred: np.ndarray, y_true: np.ndarray) -> float:
    """The mean of ``|y_pred - y_true|`` over every entry: Keras's ``"mae"`` metric.

    Shapes: y_pred and y_true of one shape, (N, K); for a classifier, y_true holds one-hot
    rows and y_pred the probabilities. NaN when they hold no entries. Computed in floats
    (at least float32): a difference of uint8s would wrap around, 0 - 1 to 255.

    Raises ValueError for arrays that are not real numbers, and for shapes that differ:
    integer labels (N,) against outputs (N, K) would broadcast into a number that means
    nothing.
    """
    return _mean_error(y_pred, y_true, "mean_absolute_error", np.abs)


def mean_squared_error(y_pred: np.ndarray, y_true: np.ndarray) -> float:
    """The mean of ``(y_pred - y_true)**2`` over every entry: Keras's ``"mse"`` metric, the
    value of the MSE loss (``reduction="mean"``), to log beside another loss.

    Shapes, NaN and errors as for ``mean_absolute_error``.
    """
    return _mean_error(y_pred, y_true, "mean_squared_error", np.square)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class i predicted as class j; (K, K) integers.

    ``y_true`` and ``y_pred`` are integer labels of shape (N,), ``num_classes`` is K.
    """
    num_classes = int_at_least("confusion_matrix: num_classes", num_classes, 1)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"confusion_matrix: expected y_true and y_pred of the same shape "
                         f"(N,), got {y_true.shape} and {y_pred.shape}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if not y.size:  # no labels, of whatever dtype np.asarray([]) or a filter gave
            continue
        if y.dtype.kind not in "iu":
            raise ValueError(f"confusion_matrix: {name} must hold integer labels, got dtype "
                             f"{y.dtype}")
        bad = np.flatnonzero((y < 0) | (y >= num_classes))
        if len(bad):
            raise ValueError(f"confusion_matrix: {name} must be in [0, {num_classes}), got "
                             f"{y[bad[0]]} at index {bad[0]}")
    # int64 first: uint8 labels (as read from IDX files) times K would wrap around at 256.
    y_true, y_pred = y_true.astype(np.int64), y_pred.astype(np.int64)
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes)


Metric = Callable[[np.ndarray, np.ndarray], float]
#: The metrics compile takes by name, under Keras's names: accuracy counts labels and one-hot
#: rows alike, so Keras's two named accuracies are it too.
METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "acc": accuracy,
    "categorical_accuracy": accuracy,
    "sparse_categorical_accuracy": accuracy,
    "mae": mean_absolute_error,
    "mean_absolute_error": mean_absolute_error,
    "mse": mean_squared_error,
    "mean_squared_error": mean_squared_error,
}


def _custom(metric: Callable, name: str) -> Metric:
    """A user's ``metric(y_pred, y_true)`` as ``fit`` and ``evaluate`` call it: its value as
    a float, the mean when it gives one value per sample (as Keras averages them), and a
    ValueError naming it when it fails or gives anything else."""

    @functools.wraps(metric)
    def call(y_pred: np.ndarray, y_true: np.ndarray) -> float:
        where = (f"metric {name!r} (called as {name}(y_pred, y_true) with shapes "
                 f"{np.shape(y_pred)} and {np.shape(y_true)})")
        try:
            value = metric(y_pred, y_true)
        except Exception as err:
            raise ValueError(f"{where} failed: {type(err).__name__}: {err}. tinynet passes "
                             "the model's outputs first; Keras's metrics take (y_true, y_pred)"
                             ) from err
        values = None  # None itself too: as a float it would be logged as NaN
        if value is not None:
            try:
                values = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                pass
        if values is not None and values.ndim == 0:
            return float(values)
        if values is not None and values.shape == (len(y_pred),):
            return float(values.mean())
        raise ValueError(f"{where} must return a number, or one per sample of shape "
                         f"({len(y_pred)},), got {value!r}")

    return call


#: Names that say a metric's first parameter is the targets: Keras's ``metric(y_true,
#: y_pred)``, and the names its users give them.
_TARGET_NAMES = frozenset({"y_true", "true", "target", "targets", "label", "labels"})


def _check_order(metric: Callable, name: str) -> None:
    """A ValueError for a metric whose parameters say it takes the targets first, as Keras's
    do: called as ``metric(y_pred, y_true)`` it would often run all the same and log a wrong
    number (``argmax(y_pred, -1) == y_true`` on labels and probabilities swapped), which
    fit's trial on two samples cannot tell from a right one. Its names are all there is to go
    on; a metric without a signature (a NumPy ufunc) is not checked."""
    try:
        names = list(inspect.signature(metric).parameters)
    except (TypeError, ValueError):  # a callable without a signature
        return
    if not names:
        return  # it cannot take the two arrays, which its trial in fit will say
    first, *rest = names
    if first in _TARGET_NAMES or "y_pred" in rest:
        # Only for a function that has that name: a partial or an object, named "metric"
        # here, has none to call.
        wrap = (f", or pass lambda y_pred, y_true: {name}(y_true, y_pred)"
                if getattr(metric, "__name__", None) == name and name.isidentifier() else "")
        raise ValueError(f"metric {name!r} takes ({', '.join([first, *rest])}), the targets "
                         f"first as Keras's metrics do, expected metric(y_pred, y_true): "
                         f"tinynet passes the model's outputs first, as loss.forward takes "
                         f"them. Swap its parameters{wrap}")


def get(metric: str | Metric) -> tuple[str, Metric]:
    """``(name, function)`` for a metric name (a key of ``METRICS``) or a callable
    ``metric(y_pred, y_true)``: the model's outputs first, as in ``loss.forward``. A callable
    may return a number or one number per sample (their mean is taken). A name, in any case
    as loss and optimiser names are, is logged as it is given, as Keras logs it: ``"acc"`` as
    ``acc`` and ``val_acc``."""
    if isinstance(metric, str) and metric.lower() in METRICS:
        return metric, METRICS[metric.lower()]
    if callable(metric):
        name = getattr(metric, "__name__", "metric")
        _check_order(metric, name)
        return name, _custom(metric, name)
    raise ValueError(f"metric must be a callable or one of {sorted(METRICS)}, got {metric!r}")
