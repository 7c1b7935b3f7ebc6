"""Pictures of training and of digits: curves, digit grids, confusion matrix, mistakes.

Every function builds a :class:`matplotlib.figure.Figure` with its own Agg canvas, never
through ``matplotlib.pyplot``: nothing opens a window or needs a display (it works on a
server, in tests and in CI), and no global pyplot state is touched. Each one returns the
Figure (a notebook shows it) and, given ``path``, also saves it there (PNG, or whatever the
suffix says: ``.svg``, ``.pdf``), through a temporary file renamed over ``path``
(:func:`tinynet.atomic.write_atomic`): a write that fails leaves the old file as it was.
Arguments are checked before anything is drawn: a bad ``path``, label or count raises a
one-line ValueError naming the argument, what it expects and what it got, instead of a
silently wrong picture or a file written somewhere else.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike

from tinynet.atomic import not_a_file, write_atomic
from tinynet.callbacks import History
from tinynet.checks import int_at_least, is_number
from tinynet.metrics import METRICS, accuracy

__all__ = ["plot_confusion_matrix", "plot_digits", "plot_history", "plot_loss",
           "plot_misclassified"]

#: Colours of correct and wrong predictions in the digit grids.
RIGHT, WRONG = "black", "red"


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # attaches itself to fig: rendering and savefig need no backend
    return fig


#: The file formats the Agg canvas can write ("png", "pdf", "svg", ...): savefig takes the
#: format from the suffix of ``path``.
FORMATS = frozenset(FigureCanvasAgg.get_supported_filetypes())


def _check_path(path: str | os.PathLike | None) -> Path | None:
    """``path`` as a Path, or ValueError unless it names an image file in an existing folder.

    Checked before drawing: savefig would otherwise write ``outdir`` (an existing folder) as
    a sibling ``outdir.png``, ``outdir/`` as a hidden ``outdir/.png``, and fail on a missing
    folder only after all the drawing.
    """
    if path is None:
        return None
    expected = ("path: expected a file name ending in a format matplotlib can write "
                "(.png, .pdf, .svg, ...) in an existing folder")
    if not isinstance(path, str | os.PathLike):
        raise ValueError(f"{expected}, got {path!r}")
    text = os.fspath(path)
    if not isinstance(text, str):  # a bytes path: refused rather than decoded by guess
        raise ValueError(f"{expected}, got {path!r}")
    # Path() drops a trailing separator, so "outdir/" is recognised as a folder on the string.
    file = Path(text)
    kind = not_a_file(file)  # what saving would replace with a regular file, if anything
    if text.endswith(("/", os.sep)) or kind == "a folder":
        raise ValueError(f"{expected}, got the folder {text!r}")
    if kind:
        raise ValueError(f"{expected}, got {text!r}, {kind}")
    if file.suffix[1:].lower() not in FORMATS:
        raise ValueError(f"{expected}, got {text!r} (no image suffix)")
    if not file.parent.is_dir():
        raise ValueError(f"{expected}, got {text!r} (no folder {str(file.parent)!r})")
    return file


def _title_grid(fig: Figure, title: str) -> None:
    """Give a grid of digits its title, widening the figure for it: a grid of one or two
    digits is narrower than "Digits: true and predicted labels", which was cut."""
    text = fig.suptitle(title)
    needed = text.get_window_extent().width / fig.dpi + 0.2  # inches, by the figure's renderer
    if needed > fig.get_figwidth():
        fig.set_figwidth(needed)


def _finish(fig: Figure, path: Path | None) -> Figure:
    if path is not None:
        # Through a temporary file renamed over path: a full disk or Ctrl-C while writing
        # leaves the last run's plot as it was, not a truncated one, and a read-only plot of
        # that run is replaced as tinynet train replaces its files.
        write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=100))
    return fig


def _rows(values: object, name: str, n: int, num_classes: int | None) -> np.ndarray:
    """``values`` as (n, num_classes) finite floats: one row of class scores per image
    (``num_classes=None``: any number of columns)."""
    a = np.asarray(values)
    k = a.shape[1] if num_classes is None and a.ndim == 2 else num_classes
    if a.shape != (n, k) or a.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected numbers of shape ({n}, {k or 'K'}), one row "
                         f"per image, got shape {a.shape} and dtype {a.dtype}")
    bad = np.argwhere(~np.isfinite(a))
    if len(bad):
        # NaN rows would otherwise be drawn as "pred 0 (nan)".
        i, j = bad[0]
        raise ValueError(f"{name}: expected finite numbers, got {a[i, j]} at [{i}, {j}]")
    return a.astype(float, copy=False)


def _labels(y: object, name: str, n: int, num_classes: int) -> np.ndarray:
    """Class indices (n,) in 0..num_classes-1, from labels (n,) (or a column (n, 1)) or from
    rows (n, num_classes) of one-hot labels, probabilities or scores (their argmax).

    The one check all label arguments share: a float label such as 1.2 is not cast (it
    would be drawn as 1), and a label outside the classes (42, -1) is refused.
    """
    a = np.asarray(y)
    if a.ndim == 2 and a.shape[1] > 1:
        return _rows(a, name, n, num_classes).argmax(axis=1)
    expected = (f"{name}: expected one label (or one-hot row) per image, {n} in all, each "
                f"a class index from 0 to {num_classes - 1}")
    if a.shape not in ((n,), (n, 1)) or a.dtype.kind not in "iuf":
        raise ValueError(f"{expected}, got shape {a.shape} and dtype {a.dtype}")
    a = a.reshape(n)
    bad = np.flatnonzero(~np.isin(a, np.arange(num_classes)))
    if len(bad):
        raise ValueError(f"{expected}, got {a[bad[0]].item()!r} at index {bad[0]}")
    return a.astype(np.int64)


def _two_classes(p: np.ndarray, name: str) -> np.ndarray:
    """One output (n, 1), the probability of class 1 as ``accuracy`` reads it (p > 0.5), as
    two columns (n, 2): [P(class 0), P(class 1)], so argmax and max give the predicted class
    and its confidence. A value outside [0, 1] is not a probability, and is refused rather
    than read as class 1 with a confidence above 1."""
    bad = np.flatnonzero((p < 0) | (p > 1))
    if len(bad):
        raise ValueError(f"{name}: one output per image is the probability of class 1, "
                         f"expected values in [0, 1], got {p[bad[0], 0]} at [{bad[0]}, 0]")
    return np.hstack([1 - p, p])


def _one_output(values: object, n: int) -> bool:
    """Whether ``values`` is a model's one output per image, (n, 1) floats, rather than a
    column of labels: floats in [0, 1], or any but whole numbers (1.5 and NaN are outputs,
    refused as such, naming the value). The two read alike where they overlap: 0.0 and 1.0
    are classes 0 and 1 either way; 3.0 is a label."""
    a = np.asarray(values)
    if a.shape != (n, 1) or a.dtype.kind != "f":
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.all((a >= 0) & (a <= 1)) or not np.all(a == np.round(a)))


def _num_classes(num_classes: int | None, *arrays: ArrayLike | None) -> int:
    """``num_classes`` if given, else the width of the first (N, K) array, else 10: the
    digits."""
    if num_classes is not None:
        return int_at_least("num_classes", num_classes, 1)
    for a in arrays:
        if a is None:  # predictions not given
            continue
        shape = np.shape(a)
        if len(shape) == 2 and shape[1] > 1:
            return shape[1]
    return 10


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


def _series(values: object, name: str, per: str) -> np.ndarray:
    """``values`` as a 1-D float array, or ValueError naming ``name``: one number ``per``
    epoch or step. (NaN and inf are taken, and left as gaps in the curve: the finite
    values of a run that diverged are worth seeing.)"""
    try:
        ys = np.asarray(values)
    except ValueError:  # ragged nested lists
        ys = None
    if (ys is not None and ys.dtype == object and ys.ndim == 1
            and all(v is None or is_number(v) for v in ys)):
        # None is JSON's NaN (JSON has none: tools that write a History write null for it).
        ys = np.array([math.nan if v is None else float(v) for v in ys])
    # Real numbers only: converted to float, the strings "0.5" would be read as numbers and
    # complex ones cut to their real part (a generator gives an object).
    if ys is None or ys.dtype.kind not in "biuf" or ys.ndim != 1:
        shown = (f"shape {ys.shape}" if ys is not None and ys.dtype.kind in "biuf"
                 else repr(values)[:80])
        raise ValueError(f"{name}: expected numbers of shape (T,), one per {per}, got {shown}")
    return ys.astype(float)


def _grid(n: int, ncols: int) -> tuple[int, int]:
    ncols = min(int_at_least("ncols", ncols, 1), max(n, 1))
    return math.ceil(n / ncols), ncols


def _count_ticks(ax: Axes) -> None:
    """Whole numbers only on the x axis, which counts epochs or steps: no epoch 1.5."""
    # min_n_ticks=1: with the default 2, the axis of a single epoch, which matplotlib widens
    # to 0.945..1.055, would be filled with 0.945, 0.96, ... to find a second tick.
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def _show_digit(ax: Axes, image: np.ndarray, title: str, color: str) -> None:
    ax.imshow(image, cmap="gray_r")  # dark digits on white, as on paper
    ax.set_title(title, color=color, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


# --------------------------------------------------------------------------------- curves
def plot_history(history: History | Mapping[str, Sequence[float]],
                 path: str | os.PathLike | None = None) -> Figure:
    """Loss, accuracy and any other metric per epoch, training and validation, side by side.

    Args:
        history: a :class:`tinynet.callbacks.History` (what ``fit`` returns) or its
            ``history`` dict: ``{"loss": [E floats], "accuracy": [...], "val_loss": [...],
            "val_accuracy": [...]}``, one value per epoch; only ``"loss"`` is required
            (``"acc"``, ``"sparse_categorical_accuracy"`` and the other names compile
            takes for accuracy, in any case, are drawn as accuracy too). NaN, or None as
            JSON writes it, is a gap in the curve.
        path: where to save the figure, if given: a file name ending in a format matplotlib
            writes (.png, .pdf, .svg, ...), in an existing folder (not a folder, a device or
            a named pipe).

    Returns the Figure: axes titled "Loss", then "Accuracy" when accuracy is logged, then
    one for each other logged metric ("mae", one of your own, or a ``val_`` one logged for
    validation only), titled by its name; epochs numbered from 1 on the x axis. The
    learning rate a LearningRateScheduler logs as "lr" is a setting, not a result, and is
    not drawn. Raises ValueError for a history of no epochs, or with series of different
    lengths.
    """
    path = _check_path(path)
    if isinstance(history, History):
        epochs: list[int] | None = [e + 1 for e in history.epoch]
        values: Mapping[str, Sequence[float]] = history.history
    elif isinstance(history, Mapping):
        epochs, values = None, history
    else:
        raise ValueError(f"plot_history: history must be a History or a dict of lists, such as "
                         f"{{'loss': [0.5, 0.3]}}, got {history!r:.80}")
    if "loss" not in values:
        ran = " (a fit of 0 epochs logs nothing)" if not values else ""
        raise ValueError(f"plot_history: no 'loss' in the history (keys: {sorted(values)})"
                         f"{ran}")
    # Each metric once, by the name of its training series, whether that is logged or only
    # its validation one is (a callback's val_f1, computed on validation data alone).
    names = list(dict.fromkeys(key.removeprefix("val_") for key in values))
    # Keras code compiled with metrics=["acc"] logs its accuracy as "acc", and so on, in
    # the case it was given ("ACC"), as compile takes metric names in any case.
    logged = next((name for name in names if METRICS.get(name.lower()) is accuracy), None)
    others = [key for key in names if key not in ("loss", "lr", logged)]
    panels = [("loss", "Loss")] + ([(logged, "Accuracy")] if logged else []) + \
        [(key, key) for key in others]
    # Every series is checked before anything is drawn.
    series = {name: _series(values[name], f"plot_history: history[{name!r}]", "epoch")
              for key, _ in panels for name in (key, f"val_{key}") if name in values}
    lengths = {name: len(ys) for name, ys in series.items()}
    if not lengths["loss"] or len(set(lengths.values())) > 1:
        raise ValueError(f"plot_history: expected one value per epoch in every series, at "
                         f"least one epoch, got lengths {lengths}")
    fig = _figure(5.0 * len(panels), 3.8)
    for i, (key, title) in enumerate(panels, start=1):
        ax = fig.add_subplot(1, len(panels), i)
        for name, style, label in ((key, "o-", "training"), (f"val_{key}", "s--", "validation")):
            if name not in series:
                continue
            ys = series[name]
            xs = epochs if epochs is not None and len(epochs) == len(ys) else \
                np.arange(1, len(ys) + 1)
            ax.plot(xs, ys, style, label=label, markersize=4)
        ax.set_title(title)
        _count_ticks(ax)
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
        path: where to save the figure, if given: a file name ending in a format matplotlib
            writes (.png, .pdf, .svg, ...), in an existing folder.
        xlabel: what the x axis counts ("iteration", "epoch", ...).

    Returns the Figure: one axes titled "Training loss", each point marked when there are
    at most 100 (a lone finite value would otherwise not be drawn).
    """
    path = _check_path(path)
    ys = _series(values, "plot_loss: values", xlabel)
    fig = _figure(6.0, 4.0)
    ax = fig.add_subplot()
    # Markers for a short run: a line needs two finite points in a row, so a single value,
    # or one between NaNs, would not be drawn at all. (On a long run they would crowd.)
    ax.plot(np.arange(1, len(ys) + 1), ys, marker="o" if len(ys) <= 100 else None,
            markersize=3)
    ax.set_title("Training loss")
    _count_ticks(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    return _finish(fig, path)


# ---------------------------------------------------------------------------------- digits
#: The most digits :func:`plot_digits` and :func:`plot_misclassified` draw: one axes each,
#: and matplotlib's time grows faster than their number (1,000 took 34 s; 5,000 would not
#: fit in an image).
MAX_DIGITS = 400


def plot_digits(images: np.ndarray, labels: np.ndarray, predictions: np.ndarray | None = None,
                path: str | os.PathLike | None = None, ncols: int = 10, *,
                num_classes: int | None = None) -> Figure:
    """A grid of digits, each titled with its label, or with its label and the prediction.

    Args:
        images: (N, H, W) pixels (any range: uint8 0-255 or floats), or (N, H, W, 1), or
            flat (N, H*W) such as (N, 784).
        labels: the true labels, (N,) integers from 0 to K-1 or one-hot rows (N, K).
        predictions: ``None``, predicted labels (N,), or the model's outputs (N, K) (the
            argmax is taken); one output (N, 1) of floats in [0, 1] is the probability of
            class 1, as ``accuracy`` reads it. Titles then read "true 7, pred 1", in red when
            they differ.
        path: where to save the figure, if given: a file name ending in a format matplotlib
            writes (.png, .pdf, .svg, ...), in an existing folder.
        ncols: digits per row.
        num_classes: K, the number of classes; by default the width of one-hot ``labels``
            or of ``predictions`` (N, K), else 10 (the digits).

    Returns the Figure: one axes per digit, N in all, at most :data:`MAX_DIGITS`.
    """
    path = _check_path(path)
    x = _as_images(images)
    n = len(x)
    if n > MAX_DIGITS:
        raise ValueError(f"plot_digits: at most {MAX_DIGITS} digits fit a figure (an axes "
                         f"each), got {n}: plot some of them, images[:100] and labels[:100]")
    k = _num_classes(num_classes, labels, predictions)
    y = _labels(labels, "labels", n, k)
    if predictions is None:
        pred = None
    elif _one_output(predictions, n):
        # A model's one output, not a column of labels: read as plot_misclassified reads it.
        pred = _two_classes(_rows(predictions, "predictions", n, 1), "predictions").argmax(1)
    else:
        pred = _labels(predictions, "predictions", n, k)
    rows, cols = _grid(n, ncols)
    fig = _figure(1.2 * cols, 1.35 * rows + 0.4)
    for i in range(n):
        ax = fig.add_subplot(rows, cols, i + 1)
        if pred is None:
            _show_digit(ax, x[i], f"{y[i]}", RIGHT)
        else:
            _show_digit(ax, x[i], f"true {y[i]}, pred {pred[i]}",
                        RIGHT if pred[i] == y[i] else WRONG)
    _title_grid(fig, "Digits" if pred is None else "Digits: true and predicted labels")
    return _finish(fig, path)


def plot_misclassified(images: np.ndarray, y_true: np.ndarray, probabilities: np.ndarray,
                       path: str | os.PathLike | None = None, n: int = 10,
                       ncols: int = 5) -> Figure:
    """The ``n`` digits the model got wrong with the highest confidence, most confident first.

    Args:
        images: (N, H, W), (N, H, W, 1) or flat (N, H*W) pixels.
        y_true: the true labels, (N,) integers from 0 to K-1 or one-hot rows (N, K).
        probabilities: the model's outputs, (N, K) finite numbers (``model.predict(x)``);
            the confidence of a prediction is its largest probability. One output, (N, 1),
            is the probability of class 1, of two.
        path: where to save the figure, if given: a file name ending in a format matplotlib
            writes (.png, .pdf, .svg, ...), in an existing folder.
        n: how many digits to show at most, up to :data:`MAX_DIGITS`.
        ncols: digits per row.

    Returns the Figure: one axes per digit shown, titled "true 4, pred 9 (0.98)"; when the
    model made no mistake, a single empty axes saying so.
    """
    path = _check_path(path)
    x = _as_images(images)
    p = _rows(probabilities, "probabilities", len(x), None)
    if p.shape[1] == 1:
        p = _two_classes(p, "probabilities")
    # K comes from the probabilities: y_true's labels (or one-hot width) must agree with it.
    y = _labels(y_true, "y_true", len(x), p.shape[1])
    n = int_at_least("n", n, 1)
    if n > MAX_DIGITS:  # refused whatever the mistakes: the same call must not fail later
        raise ValueError(f"plot_misclassified: n must be at most {MAX_DIGITS} (an axes per "
                         f"digit, as plot_digits draws them), got {n}")
    int_at_least("ncols", ncols, 1)  # checked even when there is no mistake to lay out
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
    _title_grid(fig, f"Most confident mistakes ({len(chosen)} of {len(wrong)})")
    return _finish(fig, path)


def plot_confusion_matrix(cm: np.ndarray, path: str | os.PathLike | None = None,
                          class_names: Iterable[str] | None = None) -> Figure:
    """The confusion matrix as a heat map, with the count written in each cell.

    Args:
        cm: (K, K) counts >= 0, ``cm[i, j]`` = samples of true class i predicted as j (as from
            :func:`tinynet.metrics.confusion_matrix`).
        path: where to save the figure, if given: a file name ending in a format matplotlib
            writes (.png, .pdf, .svg, ...), in an existing folder.
        class_names: K names for the ticks; by default 0, 1, ..., K-1.

    Returns the Figure: one axes titled "Confusion matrix", x label "predicted", y label
    "true".
    """
    path = _check_path(path)
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.dtype.kind not in "iuf":
        raise ValueError(f"cm: expected a (K, K) array of counts, got shape {cm.shape} "
                         f"and dtype {cm.dtype}")
    # Counts (or rates) are finite and >= 0: a NaN or negative cell is a bug upstream that
    # the colours would hide.
    bad = np.argwhere(~(cm >= 0) | ~np.isfinite(cm))
    if len(bad):
        i, j = bad[0]
        raise ValueError(f"cm: expected finite counts >= 0, got {cm[i, j]} at [{i}, {j}]")
    K = len(cm)
    # A str is a sequence too: "ab" would name the classes "a" and "b".
    if class_names is not None and (isinstance(class_names, str | bytes)
                                    or not isinstance(class_names, Iterable)):
        raise ValueError(f"class_names: expected a list of {K} names, got {class_names!r}")
    names = [str(i) for i in range(K)] if class_names is None else [str(c) for c in class_names]
    if len(names) != K:
        raise ValueError(f"class_names: expected {K} names, got {len(names)}")
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
