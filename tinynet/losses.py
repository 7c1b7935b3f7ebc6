"""Losses: a number that says how wrong the predictions are, and its gradient.

Contract: ``loss.forward(y_pred, y_true) -> float`` keeps what ``loss.backward() -> dy_pred``
needs; ``dy_pred`` has the shape of ``y_pred`` and its dtype. Derivations:
docs/cross_entropy.md and docs/mse.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinynet.checks import as_array, class_given, flag, targets_hint
from tinynet.layers.activations import log_softmax, softmax

__all__ = ["LOSSES", "MSE", "CrossEntropy", "Loss", "check_targets", "get"]

REDUCTIONS = ("mean", "sum")
#: What a loss of one's own must write, for the error when it is missing.
_LOSS_METHODS = ("a loss overrides forward(y_pred, y_true) -> float and backward() -> "
                 "dL/dy_pred (docs/mse.md#a-loss-of-your-own)")


class Loss:
    """Base class: ``forward(y_pred, y_true) -> float``, ``backward() -> dL/dy_pred``.

    A loss of your own overrides both, and :meth:`get_config` when its constructor takes
    arguments other than ``reduction`` (for saving). Example: docs/mse.md#a-loss-of-your-own.
    """

    #: Whether ``forward`` takes class labels, (N,) integers, as targets for outputs (N, K),
    #: as cross-entropy does. ``fit`` otherwise refuses targets whose shape is not the
    #: outputs', since a loss that compares entry by entry (MSE) would broadcast (N,)
    #: targets against (N, 1) outputs to (N, N) without a word.
    takes_labels: bool = False

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, "
                             f"got {reduction!r}")
        self.reduction = reduction
        self._saved: dict[str, Any] = {}

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        """The loss of predictions ``y_pred`` (N, K) for targets ``y_true``; keeps what
        ``backward`` needs."""
        raise NotImplementedError(f"{type(self).__name__} has no forward: {_LOSS_METHODS}")

    def backward(self) -> np.ndarray:
        """``dL/dy_pred`` for the last ``forward``: ``y_pred``'s shape and dtype."""
        raise NotImplementedError(f"{type(self).__name__} has no backward: {_LOSS_METHODS}")

    def __call__(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        """``loss(y_pred, y_true)`` is ``loss.forward(y_pred, y_true)``."""
        return self.forward(y_pred, y_true)

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, as JSON values, that rebuild this loss (for saving)."""
        return {"reduction": self.reduction}

    def _load(self) -> dict[str, Any]:
        if not self._saved:
            raise RuntimeError(f"{type(self).__name__}.backward was called before forward")
        return self._saved

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class CrossEntropy(Loss):
    """Categorical cross-entropy, ``L = -sum_k y_k log p_k`` per sample.

    Args:
        from_logits: if True, ``y_pred`` holds logits z (any real numbers) and
            ``log p = log_softmax(z)`` is computed stably; if False, ``y_pred`` holds
            probabilities p (the output of a Softmax layer).
        reduction: ``"mean"`` over the N samples, or ``"sum"``.

    Shapes: y_pred (N, K); y_true integer labels (N,) or probability rows (N, K).

    Gradient (per sample, before the 1/N of ``"mean"``):

    - from logits, with p = softmax(z) (s in docs/softmax.md): ``dz = p * sum(y) - y``,
      which is ``p - y`` for one-hot rows. It never overflows, and a logit miss of 1000
      costs a loss of 1000.
    - from probabilities: ``dp = -y / p``. A probability that rounded to 0 gives an infinite
      loss, honestly: no ``log(p + eps)`` clamp hides how wrong the prediction is. Train a
      Softmax model through :class:`tinynet.Sequential`, which fuses Softmax and this loss
      into the logits form.

    A row of ``y_pred`` holding a NaN (a model that diverged) makes the loss NaN in either
    form, wherever the NaN is, so that ``fit`` reports the divergence.

    Derivation: docs/cross_entropy.md#the-fused-gradient-softmax---y--n.
    """

    takes_labels = True

    def __init__(self, from_logits: bool = False, reduction: str = "mean") -> None:
        super().__init__(reduction)
        # A string would silently pick the other form of the loss: bool("no") is True.
        self.from_logits = flag(from_logits, "from_logits", "CrossEntropy")

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        """The loss, a float, of y_pred (N, K) (probabilities, or logits if from_logits) for
        y_true, labels (N,) or rows of probabilities (N, K)."""
        y_pred, y_true = _check_cross_entropy(self, y_pred, y_true)
        N = len(y_pred)
        labels = y_true.ndim == 1
        # BEGIN SOLUTION cross-entropy
        # HINT: log p = log_softmax(y_pred) if self.from_logits, else np.log(y_pred) (log 0 =
        # HINT: -inf is the true loss: no warning, np.errstate(divide='ignore')); per sample,
        # HINT: -log p[n, y_true[n]] for labels, else -sum(y * log p) counting 0 where y = 0
        # HINT: (not 0 * -inf = NaN, and no warning); the mean over N (0 for a batch of no
        # HINT: samples) or the sum; keep self._saved = {'y_pred': y_pred, 'y_true': y_true}
        if self.from_logits:
            # (N, K), finite while each row's max - min is below the largest float; past
            # it, the far entries' log p is -inf, their true value being beyond any float.
            log_p = log_softmax(y_pred)
        else:
            # log(0) = -inf is the true loss of a zero probability; do not warn about it.
            with np.errstate(divide="ignore"):
                log_p = np.log(y_pred)
        if labels:
            # A one-hot y keeps one term of the sum: -log p[n, y_true[n]], picked per row.
            per_sample = -log_p[np.arange(N), y_true]  # (N,)
        else:
            y = y_true.astype(y_pred.dtype, copy=False)
            # 0 * log(0) would be NaN; entries with y = 0 contribute nothing.
            with np.errstate(invalid="ignore"):  # the NaN np.where discards: no warning
                per_sample = -np.where(y != 0, y * log_p, 0).sum(axis=1)  # (N,)
        self._saved = {"y_pred": y_pred, "y_true": y_true}
        total = per_sample.sum()
        return float(total / N if self.reduction == "mean" and N else total)
        # END SOLUTION

    def backward(self) -> np.ndarray:
        """dL/dy_pred for the last forward: (N, K), y_pred's shape and dtype."""
        saved = self._load()
        y_pred, y_true = saved["y_pred"], saved["y_true"]
        N = len(y_pred)
        # BEGIN SOLUTION cross-entropy
        # HINT: dy_pred, with y the one-hot rows of labels, or y_true: from logits softmax(y_pred)
        # HINT: * sum(y) - y per row; from probabilities -y / y_pred, and 0 where y = 0 (no
        # HINT: 0 / 0 warning); divided by N for the mean; in y_pred's dtype
        if self.from_logits:
            # y_pred holds the logits z: dL/dz = p * sum(y) - y, with p = softmax(z)
            dy_pred = softmax(y_pred)  # p, (N, K)
            if y_true.ndim == 1:
                dy_pred[np.arange(N), y_true] -= 1  # p - one_hot(y)
            else:
                y = y_true.astype(y_pred.dtype, copy=False)
                dy_pred = dy_pred * y.sum(axis=1, keepdims=True) - y
        else:
            # y_pred holds the probabilities p: dL/dp = -y / p, and 0 where y = 0
            dy_pred = np.zeros_like(y_pred)  # (N, K)
            with np.errstate(divide="ignore"):  # -1 / 0 = -inf: a zero probability, honestly
                if y_true.ndim == 1:
                    # -y / p with y one-hot: -1 / p at each row's true class, 0 elsewhere
                    rows = np.arange(N)
                    dy_pred[rows, y_true] = -1 / y_pred[rows, y_true]
                else:
                    y = y_true.astype(y_pred.dtype, copy=False)
                    np.divide(-y, y_pred, out=dy_pred, where=y != 0)
        if self.reduction == "mean" and N:
            dy_pred /= N
        return dy_pred
        # END SOLUTION

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits, "reduction": self.reduction}


class MSE(Loss):
    """Mean squared error, ``L = mean((y_pred - y_true)**2)``.

    ``"mean"`` averages over every entry, all N * K of them (as Keras does: the mean over
    the outputs of each sample, then over the samples); ``"sum"`` adds them up.
    Gradient: ``dy_pred = 2 * (y_pred - y_true) / (N * K)`` (without the division for sum).

    Shapes: y_pred and y_true of the same shape, (N, K) for one-hot targets.

    Derivation: docs/mse.md#gradient.
    """

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> float:
        """The loss, a float, of y_pred for y_true, both of one shape, (N, K)."""
        y_pred, y_true = _check_mse(self, y_pred, y_true)  # one shape, (N, K) for K outputs
        # BEGIN SOLUTION mse
        # HINT: keep diff = y_pred - y_true in self._saved['diff'], in y_pred's dtype (convert
        # HINT: y_true first: float64 targets would make a float32 model's diff float64); the
        # HINT: mean (0 for no entries) or the sum of diff**2
        diff = y_pred - y_true.astype(y_pred.dtype, copy=False)  # (N, K)
        self._saved = {"diff": diff}
        total = np.sum(diff * diff)
        return float(total / diff.size if self.reduction == "mean" and diff.size else total)
        # END SOLUTION

    def backward(self) -> np.ndarray:
        """dL/dy_pred = 2 * (y_pred - y_true) / (N * K) for the last forward (without the
        division for "sum"): (N, K), y_pred's shape and dtype."""
        diff = self._load()["diff"]
        # BEGIN SOLUTION mse
        # HINT: dy_pred = 2 * diff, divided by diff.size for the mean (unless it is 0: no
        # HINT: entries), in diff's dtype
        scale = 2 / diff.size if self.reduction == "mean" and diff.size else 2
        return diff * scale  # (N, K), in diff's dtype: a Python number never changes it
        # END SOLUTION


# The checks of the losses' arguments, after the classes that call them: the file opens
# on the math.

#: The end of an error about arguments that look passed in Keras's order, labels first.
KERAS_ORDER = (" (labels? tinynet's losses take the model's outputs first, loss(y_pred, "
               "y_true), where Keras's take loss(y_true, y_pred))")


def _check_pred(loss: Loss, y_pred: np.ndarray) -> np.ndarray:
    """``y_pred`` as an array of floats, or a ValueError naming ``loss``."""
    y_pred = as_array(y_pred, "y_pred", loss, "a float array")
    if y_pred.dtype.kind != "f":
        # No model outputs integers: these are labels, given first as Keras's losses take them.
        hint = KERAS_ORDER if y_pred.dtype.kind in "biu" else ""
        raise ValueError(f"{loss!r}: y_pred must be a float array, got dtype {y_pred.dtype}"
                         f"{hint}")
    return y_pred


#: How tinynet classifies two classes, which Keras does with one output and a sigmoid.
TWO_CLASSES = ("for two classes, give the model 2 outputs, Dense(n, 2) and Softmax(), and "
               "labels 0 and 1")

#: How far from 1 the sum of a row of target probabilities may be: float32 rounding of soft
#: labels is far inside; a multi-hot row (sum 2) or a row of zeros is far outside.
ROW_SUM_TOLERANCE = 1e-3
#: How far above 1 CrossEntropy lets a "probability", or a row's sum of them, go: a
#: gradient check nudges a probability of 1 by about 1e-6; logits and ReLU outputs, and a
#: Sigmoid's rows, are far outside.
PROBABILITY_SLACK = 1e-3


def check_targets(y_true: np.ndarray, num_classes: int, name: str = "y_true") -> np.ndarray:
    """Validate classification targets for ``num_classes`` classes and return them.

    ``y_true`` is either integer labels of shape (N,) in [0, K), or rows of class
    probabilities (one-hot, say) of shape (N, K): numbers >= 0 summing to 1 in each row.
    Raises ValueError saying what is wrong.
    """
    y_true = as_array(y_true, name, what="an array of labels or of rows of probabilities")
    # Keras's binary set-up, Dense(1) and a sigmoid, fails the checks below with messages
    # that do not say why: the softmax of a single output is 1 whatever it is.
    one = (f" (one output is one class, whose probability is always 1: {TWO_CLASSES})"
           if num_classes == 1 else "")
    if y_true.ndim == 1 and y_true.size == 0:
        y_true = y_true.astype(np.intp)  # np.asarray([]) is float64, yet holds no bad label
    if y_true.ndim == 1:
        if y_true.dtype.kind not in "iu":
            raise ValueError(
                f"{name}: integer labels of shape (N,) must have an integer dtype, got "
                f"{y_true.dtype}" + (one or f" (use y.astype(int), or one-hot rows of shape "
                                            f"(N, {num_classes}))")
            )
        if y_true.size and (y_true.min() < 0 or y_true.max() >= num_classes):
            bad = y_true[(y_true < 0) | (y_true >= num_classes)][0]
            raise ValueError(
                f"{name}: labels must be in [0, {num_classes}) for a model with {num_classes} "
                f"output{'s' if num_classes != 1 else ''}, got {bad}{one}"
            )
        return y_true
    if y_true.ndim == 2:
        if y_true.shape[1] != num_classes:
            # Keras takes labels as a column (N, 1) too; here a column would be one-hot rows.
            # A table's column of labels often comes as floats (3.0): whole numbers too.
            labels = (y_true.shape[1] == 1 and y_true.dtype.kind in "iuf"
                      and bool(np.all(np.isfinite(y_true) & (y_true == np.round(y_true)))))
            cast = ".astype(int)" if y_true.dtype.kind == "f" else ""
            hint = (f" (labels in a column? pass them as integers of shape (N,): "
                    f"y.ravel(){cast})" if labels else "")
            raise ValueError(f"{name}: expected one-hot rows of shape (N, {num_classes}), "
                             f"got {y_true.shape}{hint}")
        if y_true.dtype.kind not in "biuf":
            raise ValueError(f"{name}: expected numbers, got dtype {y_true.dtype}")
        # Cross-entropy is for one class per sample: with a negative entry the loss has no
        # lower bound, and a row of zeros or a multi-hot row gives a loss that means nothing.
        sums = y_true.sum(axis=1)
        bad = ~((y_true >= 0).all(axis=1) & (np.abs(sums - 1) <= ROW_SUM_TOLERANCE))  # NaN too
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{name}: one-hot or probability rows must hold numbers >= 0 summing to 1, "
                f"got row {i} with sum {sums[i]:.4g} and smallest entry "
                f"{y_true[i].min():.4g}{one}"
            )
        return y_true
    raise ValueError(
        f"{name}: expected integer labels (N,) or one-hot rows (N, {num_classes}), "
        f"got shape {y_true.shape}"
    )


def _check_cross_entropy(loss: CrossEntropy, y_pred: np.ndarray,
                         y_true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``y_pred`` as floats of shape (N, K), probabilities unless ``from_logits``, and
    ``y_true`` as targets for its N samples and K classes (:func:`check_targets`); or a
    ValueError that says what is wrong."""
    y_pred = _check_pred(loss, y_pred)
    if y_pred.ndim != 2:
        # Float labels (N,) first and the outputs (N, K) second: Keras's order.
        hint = KERAS_ORDER if y_pred.ndim == 1 and np.ndim(y_true) == 2 else ""
        raise ValueError(f"{loss!r}: y_pred must have shape (N, K), got {y_pred.shape}"
                         f"{hint}")
    N, K = y_pred.shape
    y_true = check_targets(y_true, K)
    if len(y_true) != N:
        raise ValueError(
            f"{loss!r}: y_pred has {N} samples but y_true has {len(y_true)}"
        )
    if loss.from_logits or not y_pred.size:
        return y_pred, y_true
    low, high = y_pred.min(), y_pred.max()  # NaN when any entry is NaN
    if low < 0 or high > 1 + PROBABILITY_SLACK:
        # Logits (or a ReLU's outputs) read as probabilities give a NaN or infinite loss,
        # which would look like divergence; say what is really wrong.
        raise ValueError(
            f"{loss!r}: y_pred must hold probabilities in [0, 1], got values from "
            f"{low:.4g} to {high:.4g}: end the model with Softmax(), or "
            "use CrossEntropy(from_logits=True) on logits"
        )
    if np.isnan(low):
        # A row holding a NaN (from a model that diverged) is taken as NaN throughout:
        # the loss reads only the true class of each row, and a NaN elsewhere would give
        # a finite loss where the logits form, as a sum over every class, gives NaN.
        y_pred = np.where(np.isnan(y_pred).any(axis=1, keepdims=True), np.nan, y_pred)
    # Sigmoid outputs are in [0, 1] but each is its own probability: the loss only pushes
    # the true class's up, and with nothing to pull the others down it falls to 0 as
    # every output goes to 1, at chance accuracy. (A NaN row is no evidence either way.)
    sums = y_pred.sum(axis=1, dtype=np.float64)  # (N,)
    worst = int(np.argmax(np.nan_to_num(np.abs(sums - 1))))
    if abs(sums[worst] - 1) > PROBABILITY_SLACK:
        raise ValueError(
            f"{loss!r}: each row of y_pred must be a distribution over the {K} classes, "
            f"summing to 1, got a sum of {sums[worst]:.4g} in row {worst}: end the model "
            "with Softmax(), or use CrossEntropy(from_logits=True) on logits")
    return y_pred, y_true


def _check_mse(loss: MSE, y_pred: np.ndarray,
               y_true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``y_pred`` as floats and ``y_true`` as numbers of the same shape, or a ValueError
    that says what is wrong (with a hint for integer labels)."""
    y_pred = _check_pred(loss, y_pred)
    y_true = as_array(y_true, "y_true", loss)
    if y_true.shape != y_pred.shape:
        hint = targets_hint("y_true", y_true.shape, y_pred.shape)
        raise ValueError(
            f"{loss!r}: y_true must have the shape of y_pred {y_pred.shape}, "
            f"got {y_true.shape}{hint}"
        )
    if y_true.dtype.kind not in "biuf":
        raise ValueError(f"{loss!r}: y_true must hold numbers, got dtype {y_true.dtype}")
    return y_pred, y_true


LOSSES = {
    "mse": MSE,
    "mean_squared_error": MSE,
    "categorical_crossentropy": CrossEntropy,
    "sparse_categorical_crossentropy": CrossEntropy,
    "crossentropy": CrossEntropy,
}


def get(loss: str | Loss) -> Loss:
    """A loss object from a :class:`Loss` or one of Keras's names (a key of ``LOSSES``), in
    any case (``"MSE"`` too), as :func:`tinynet.optim.get` takes ``"SGD"``."""
    if isinstance(loss, Loss):
        if not hasattr(loss, "reduction"):  # one's own, whose __init__ forgot the base's
            raise ValueError(f"loss, a {type(loss).__name__}, has no reduction: its __init__ "
                             f"must call super().__init__() first")
        return loss
    if isinstance(loss, str) and loss.lower() in LOSSES:
        return LOSSES[loss.lower()]()
    hint = ""
    if isinstance(loss, str) and loss.lower() in ("binary_crossentropy", "bce"):
        hint = f"; {TWO_CLASSES}, with loss='sparse_categorical_crossentropy'"
    elif callable(loss) and not isinstance(loss, type):  # a Keras loss function, f(y, p)
        hint = ("; a loss of your own is a subclass of Loss with a forward and a backward "
                "(docs/mse.md#a-loss-of-your-own)")
    raise ValueError(class_given("loss", loss, Loss, "a loss", "()")
                     or f"loss must be a Loss or one of {sorted(LOSSES)}, got {loss!r}{hint}")
