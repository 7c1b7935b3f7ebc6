"""Pictures of training and of digits: curves, digit grids, confusion matrix, mistakes.

Every function builds a :class:`matplotlib.figure.Figure` with its own Agg canvas, never
through ``matplotlib.pyplot``: nothing opens a window or needs a display (it works on a
server, in tests and in CI), and no global pyplot state is touched. Each one returns the
Figure (a notebook shows it) and, given ``path``, also saves it there (PNG, or whatever the
suffix says: ``.svg``, ``.pdf``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tinynet.callbacks import History
from tinynet.metrics import predicted_labels, true_labels

#: Colours of correct and wrong predictions in the digit grids.
RIGHT, WRONG = "black", "red"


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # attaches itself to fig: rendering and savefig need no backend
    return fig


def _finish(fig: Figure, path: str | os.PathLike | None) -> Figure:
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def _as_images(images: np.ndarray, name: str = "images") -> np.ndarray:
    """Images as (N, H, W) for ``imshow``: accepts (N, H, W), (N, H, W, 1) and flat (N, D)
    with D a square (784 -> 28x28)."""
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    elif x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise ValueError(f"{name}: flat images of shape (N, D) need a square D (784 for "
                             f"28x28), got {x.shape}")
        x = x.reshape(len(x), side, side)
    if x.ndim != 3:
        raise ValueError(f"{name} must have shape (N, H, W), (N, H, W, 1) or (N, H*W), "
                         f"got {x.shape}")
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers, got dtype {x.dtype}")
    return x


def _labels(y: np.ndarray, name: str, n: int) -> np.ndarray:
    """Integer labels (n,) from labels (n,) or one-hot rows (n, K)."""
    labels = true_labels(np.asarray(y))
    if labels.shape != (n,):
        raise ValueError(f"{name} must have one label (or one-hot row) per image, {n} in all, "
                         f"got shape {np.shape(y)}")
    return labels


def _grid(n: int, ncols: int) -> tuple[int, int]:
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be an int >= 1, got {ncols!r}")
    ncols = min(ncols, max(n, 1))
    return math.ceil(n / ncols), ncols


def _show_digit(ax: Axes, image: np.ndarray, title: str, color: str) -> None:
    ax.imshow(image, cmap="gray_r")  # dark digits on white, as on paper
    ax.set_title(title, color=color, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


# --------------------------------------------------------------------------------- curves
def plot_history(history: History | Mapping[str, Sequence[float]],
                 path: str | os.PathLike | None = None) -> Figure:
    """Loss and accuracy per epoch, training and validation, side by side.

    Args:
        history: a :class:`tinynet.callbacks.History` (what ``fit`` returns) or its
            ``history`` dict: ``{"loss": [E floats], "accuracy": [...], "val_loss": [...],
            "val_accuracy": [...]}``, one value per epoch; only ``"loss"`` is required.
        path: where to save the figure, if given.

    Returns the Figure: two axes titled "Loss" and "Accuracy" (only "Loss" when there is no
    accuracy), epochs numbered from 1 on the x axis.
    """
    if isinstance(history, History):
        epochs: list[int] | None = [e + 1 for e in history.epoch]
        values = history.history
    else:
        epochs, values = None, history
    if "loss" not in values:
        raise ValueError(f"plot_history: no 'loss' in the history (keys: {sorted(values)})")
    panels = [("loss", "Loss")] + ([("accuracy", "Accuracy")] if "accuracy" in values else [])
    fig = _figure(5.0 * len(panels), 3.8)
    for i, (key, title) in enumerate(panels, start=1):
        ax = fig.add_subplot(1, len(panels), i)
        for name, style, label in ((key, "o-", "training"), (f"val_{key}", "s--", "validation")):
            if name not in values:
                continue
            ys = np.asarray(values[name], dtype=float)
            xs = epochs if epochs is not None and len(epochs) == len(ys) else \
                np.arange(1, len(ys) + 1)
            ax.plot(xs, ys, style, label=label, markersize=4)
        ax.set_title(title)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.5
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    return _finish(fig, path)


def plot_loss(values: Sequence[float] | np.ndarray, path: str | os.PathLike | None = None,
              xlabel: str = "iteration") -> Figure:
    """One loss curve, e.g. the loss after each gradient step of a hand-written loop.

    Args:
        values: the losses, shape (T,), plotted against 1, 2, ..., T.
        path: where to save the figure, if given.
        xlabel: what the x axis counts ("iteration", "epoch", ...).

    Returns the Figure: one axes titled "Training loss".
    """
    ys = np.asarray(values, dtype=float)
    if ys.ndim != 1:
        raise ValueError(f"plot_loss: values must have shape (T,), got {ys.shape}")
    fig = _figure(6.0, 4.0)
    ax = fig.add_subplot()
    ax.plot(np.arange(1, len(ys) + 1), ys)
    ax.set_title("Training loss")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    return _finish(fig, path)


# ---------------------------------------------------------------------------------- digits
def plot_digits(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray | None = None,
                path: str | os.PathLike | None = None, ncols: int = 10) -> Figure:
    """A grid of digits, each titled with its label, or with its label and the prediction.

    Args:
        images: (N, H, W) pixels (any range: uint8 0-255 or floats), or (N, H, W, 1), or
            flat (N, H*W) such as (N, 784).
        labels: the true labels, (N,) integers or one-hot rows (N, K).
        predictions: ``None``, predicted labels (N,), or the model's outputs (N, K) (the
            argmax is taken). Titles then read "true 7, pred 1", in red when they differ.
        path: where to save the figure, if given.
        ncols: digits per row.

    Returns the Figure: one axes per digit, N in all.
    """
    x = _as_images(images)
    n = len(x)
    y = _labels(labels, "labels", n)
    pred = None
    if predictions is not None:
        p = np.asarray(predictions)
        pred = predicted_labels(p) if p.ndim == 2 else _labels(p, "predictions", n)
        if pred.shape != (n,):
            raise ValueError(f"predictions must have one row per image, {n} in all, "
                             f"got shape {p.shape}")
    rows, cols = _grid(n, ncols)
    fig = _figure(1.2 * cols, 1.35 * rows + 0.4)
    for i in range(n):
        ax = fig.add_subplot(rows, cols, i + 1)
        if pred is None:
            _show_digit(ax, x[i], f"{y[i]}", RIGHT)
        else:
            _show_digit(ax, x[i], f"true {y[i]}, pred {pred[i]}",
                        RIGHT if pred[i] == y[i] else WRONG)
    fig.suptitle("Digits" if pred is None else "Digits: true and predicted labels")
    return _finish(fig, path)


def plot_misclassified(images: np.ndarray, y_true: np.ndarray, probabilities: np.ndarray,
                       path: str | os.PathLike | None = None, n: int = 10,
                       ncols: int = 5) -> Figure:
    """The ``n`` digits the model got wrong with the highest confidence, most confident first.

    Args:
        images: (N, H, W), (N, H, W, 1) or flat (N, H*W) pixels.
        y_true: the true labels, (N,) integers or one-hot rows (N, K).
        probabilities: the model's outputs, (N, K) (``model.predict(x)``); the confidence of
            a prediction is its largest probability.
        path: where to save the figure, if given.
        n: how many digits to show at most.
        ncols: digits per row.

    Returns the Figure: one axes per digit shown, titled "true 4, pred 9 (0.98)"; when the
    model made no mistake, a single empty axes saying so.
    """
    x = _as_images(images)
    y = _labels(y_true, "y_true", len(x))
    p = np.asarray(probabilities, dtype=float)
    if p.ndim != 2 or len(p) != len(x):
        raise ValueError(f"probabilities must have shape (N, K) with N = {len(x)}, "
                         f"got {p.shape}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    pred = p.argmax(axis=1)
    confidence = p.max(axis=1)
    wrong = np.flatnonzero(pred != y)
    # Stable sort on -confidence: ties keep the data order, so the figure is reproducible.
    chosen = wrong[np.argsort(-confidence[wrong], kind="stable")][:n]
    if len(chosen) == 0:
        fig = _figure(4.0, 2.0)
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no misclassified digits", ha="center", va="center")
        ax.set_axis_off()
        fig.suptitle("Most confident mistakes")
        return _finish(fig, path)
    rows, cols = _grid(len(chosen), ncols)
    fig = _figure(1.9 * cols, 1.9 * rows + 0.4)
    for k, i in enumerate(chosen):
        ax = fig.add_subplot(rows, cols, k + 1)
        _show_digit(ax, x[i], f"true {y[i]}, pred {pred[i]} ({confidence[i]:.2f})", WRONG)
    fig.suptitle(f"Most confident mistakes ({len(chosen)} of {len(wrong)})")
    return _finish(fig, path)


def plot_confusion_matrix(cm: np.ndarray, path: str | os.PathLike | None = None,
                          class_names: Sequence[str] | None = None) -> Figure:
    """The confusion matrix as a heat map, with the count written in each cell.

    Args:
        cm: (K, K) counts, ``cm[i, j]`` = samples of true class i predicted as j (as from
            :func:`tinynet.metrics.confusion_matrix`).
        path: where to save the figure, if given.
        class_names: K names for the ticks; by default 0, 1, ..., K-1.

    Returns the Figure: one axes titled "Confusion matrix", x label "predicted", y label
    "true".
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.dtype.kind not in "iuf":
        raise ValueError(f"cm must be a (K, K) array of counts, got shape {cm.shape} "
                         f"and dtype {cm.dtype}")
    K = len(cm)
    names = [str(i) for i in range(K)] if class_names is None else [str(c) for c in class_names]
    if len(names) != K:
        raise ValueError(f"class_names must have {K} names, got {len(names)}")
    fig = _figure(1.0 + 0.55 * K, 0.8 + 0.55 * K)
    ax = fig.add_subplot()
    ax.imshow(cm, cmap="Blues")
    # White text on the dark cells, black on the light ones, so every count can be read.
    threshold = cm.max() / 2 if cm.size else 0
    for i in range(K):
        for j in range(K):
            value = cm[i, j]
            text = f"{value:d}" if cm.dtype.kind in "iu" else f"{value:.2g}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if value > threshold else "black")
    ax.set_xticks(range(K), names)
    ax.set_yticks(range(K), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix")
    return _finish(fig, path)
