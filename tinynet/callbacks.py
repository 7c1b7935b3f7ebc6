"""Callbacks: code that :meth:`tinynet.Sequential.fit` calls at fixed points of training.

``fit`` calls, in this order::

    on_train_begin()
    for each epoch:  on_epoch_begin(epoch)
                     for each batch: on_batch_begin(batch); <train step>; on_batch_end(batch, logs)
                     <validation>;   on_epoch_end(epoch, logs)
    on_train_end()

``epoch`` and ``batch`` count from 0. ``logs`` maps metric names to numbers: in
``on_batch_end`` the running means of the epoch so far (``"loss"``, ``"accuracy"``), in
``on_epoch_end`` the epoch's values with ``"val_..."`` ones when there is validation data;
the other hooks get ``logs=None``, passed as an argument, as Keras passes it.
A callback reaches the model as ``self.model``; setting ``model.stop_training = True``
ends training after the current epoch (set in ``on_train_begin``, before the first).
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from tinynet.atomic import cannot_create_files, not_a_file, target_folder
from tinynet.checks import (
    flag,
    int_at_least,
    is_number,
    not_a_folder,
    number_in,
    unwrapped,
    user_stacklevel,
    verbose_level,
)
from tinynet.optim import LR_RANGE

if TYPE_CHECKING:
    from tinynet.model import Sequential

__all__ = ["Callback", "EarlyStopping", "History", "LearningRateScheduler", "Logs",
           "ModelCheckpoint", "ProgressBar", "exponential_decay"]

Logs = dict[str, float]


class Callback:
    """Base class: override the hooks you need; each does nothing by default.

    ``on_train_batch_begin`` and ``on_train_batch_end``, Keras's other names of the batch
    hooks, are called by ``on_batch_begin`` and ``on_batch_end``: override either.

    Attributes set by ``fit`` before ``on_train_begin``: ``model`` (the model being trained)
    and ``params`` (``{"epochs", "steps", "verbose", "initial_epoch", "metrics"}``, where
    ``metrics`` lists the names each epoch's logs will hold, as in Keras 2:
    ``["loss", "accuracy", "val_loss", "val_accuracy"]``).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Warn of a method of a subclass that looks like a hook but that nothing calls:
        Keras's on_test_* and on_predict_* (evaluate and predict take no callbacks here), or
        a misspelt hook (on_epoch_ends), which would otherwise never run, without a word.
        Other methods and attributes whose names start with on_ are the subclass's own."""
        super().__init_subclass__(**kwargs)
        known = sorted(name for name in dir(Callback) if name.startswith("on_"))
        for name, value in cls.__dict__.items():
            if not callable(value) or name in known:
                continue
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
            if close or name.startswith(("on_test_", "on_predict_")):
                hint = f"did you mean {close[0]}?" if close else "evaluate and predict call none"
                warnings.warn(f"{cls.__name__}.{name} is not a hook that fit calls, so it "
                              f"will never run ({hint}); the hooks are {', '.join(known)}",
                              stacklevel=2)

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    @property
    def model(self) -> Sequential:
        """The model being trained: set by fit (through :meth:`set_model`) before any hook."""
        model: Sequential | None = self.__dict__.get("_model")
        if model is None:  # a hook called by hand, before set_model
            raise AttributeError(f"{type(self).__name__} has no model yet: fit(..., callbacks="
                                 f"[...]) gives it the model it trains; to call its hooks "
                                 f"yourself, call set_model(model) first")
        return model

    @model.setter
    def model(self, model: Sequential) -> None:
        self._model = model

    def set_model(self, model: Sequential) -> None:
        """Called by ``fit`` first: ``self.model`` is the model being trained."""
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        """Called by ``fit`` after set_model: ``self.params`` holds the run's ``epochs``,
        ``steps`` (batches per epoch), ``verbose``, ``initial_epoch`` and ``metrics`` (the
        names of the values fit logs each epoch)."""
        self.params = params

    def on_train_begin(self, logs: Logs | None = None) -> None:
        """Called once, before the first epoch; ``logs`` is None."""

    def on_train_end(self, logs: Logs | None = None) -> None:
        """Called once, after the last epoch (or the one that stopped training); ``logs`` is
        None."""

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        """Called before epoch ``epoch`` (from 0) trains; ``logs`` is None."""

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        """Called after epoch ``epoch`` and its validation: ``logs`` holds the epoch's loss
        and metrics, and ``val_`` ones with validation data; History records a value added."""

    # Keras names the batch hooks both ways: overriding either of a pair works.
    def on_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Called before batch ``batch`` (from 0 in each epoch) trains; ``logs`` is None."""
        self.on_train_batch_begin(batch, logs)

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Called after batch ``batch`` trained: ``logs`` holds the running means of the
        epoch so far (``loss``, ``accuracy``, ...)."""
        self.on_train_batch_end(batch, logs)

    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None:
        """Keras's other name of :meth:`on_batch_begin`, which calls it."""

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        """Keras's other name of :meth:`on_batch_end`, which calls it."""


class History(Callback):
    """Records each epoch's logs: ``history.history["loss"][e]`` is epoch e's loss.

    Keys use Keras's names: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, and
    ``lr`` (the learning rate) when a :class:`LearningRateScheduler` sets it.
    ``history.epoch`` lists the epoch numbers recorded. Every list is as long as ``epoch``:
    an epoch without a key (no validation data in the epochs before a resumed ``fit`` that
    has some, say) holds NaN there, so that entry e of every list is the same epoch.

    A value that a callback of your own adds to the epoch's ``logs`` in ``on_epoch_end``
    (Keras's way to log a metric it computes, ``logs["val_f1"] = ...``) is recorded too, and
    is in a checkpoint of that epoch when the callback comes before the ModelCheckpoint; a
    value that is not one real number (a note, an array, a string of digits, True or False)
    is left out.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self._last_logs: Logs = {}

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        numbers = _numbers(logs)
        for key in numbers:  # in the order of the logs (loss, accuracy, val_loss, ...), as Keras
            if key not in self.history:  # a key new at this epoch
                self.history[key] = [math.nan] * len(self.epoch)
        self.epoch.append(epoch)
        for key, values in self.history.items():
            values.append(numbers.get(key, math.nan))
        self._last_logs = logs

    # fit runs History's on_epoch_end before the other callbacks' (a ModelCheckpoint saves
    # model.history, which must hold the epoch), so keys they add to the same logs come
    # later: they are taken when the model is saved (a checkpoint of this epoch holds those
    # added before it), when the next epoch begins, or when training ends.
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._record_late_keys()
        self._last_logs = {}

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._record_late_keys()
        self._last_logs = {}

    def _record_late_keys(self) -> None:
        """Record the values added to the last epoch's logs since; may be called again."""
        for key, value in _numbers(self._last_logs).items():
            if key not in self.history:
                self.history[key] = [math.nan] * len(self.epoch)
            if math.isnan(self.history[key][-1]):
                self.history[key][-1] = value


def _numbers(logs: Logs) -> dict[str, float]:
    """The entries of ``logs`` that are real numbers, as floats: History holds numbers only,
    and leaves out what else a callback logs (a note, an array, a string of digits, a
    complex number), as plot_history would refuse it."""
    numbers = {}
    for key, value in logs.items():
        value = unwrapped(value)  # a 0-d array arrives from some arithmetic
        if is_number(value):
            numbers[key] = float(value)
    return numbers


def _format_eta(seconds: float) -> str:
    """As Keras writes the time left: "8s", "5:12" from a minute, "1:02:05" from an hour."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# The unit is chosen on the rounded value: 0.9996 ms is "1ms/step", not "1000us/step".
def _format_per_step(seconds: float) -> str:
    if round(seconds * 1e3) >= 1000:
        return f"{seconds:.0f}s/step"
    if round(seconds * 1e6) >= 1000:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def _format_value(value: float) -> str:
    """Four decimals, or at most 1e-3 in e-notation with four decimals (``2.5000e-05``), as
    Keras prints: a loss of 2.5e-05 (a regression's, say) would otherwise read "0.0000", as
    if it were 0."""
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def _format_logs(logs: Logs) -> str:
    return "".join(f" - {key}: {_format_value(value)}" for key, value in logs.items())


def _is_notebook(stream: TextIO) -> bool:
    """Whether ``stream`` is a Jupyter notebook's output, ipykernel's OutStream: the stream
    itself, not whether Jupyter runs, since a notebook's stdout redirected to a file is a log.
    Looked up among the loaded modules, never imported: outside Jupyter it is not loaded."""
    iostream = sys.modules.get("ipykernel.iostream")
    return iostream is not None and isinstance(stream, iostream.OutStream)


def _is_idle(stream: TextIO) -> bool:
    """Whether ``stream`` is the shell window of IDLE (Python's own editor), which says it is
    a terminal but does not go back to the line's start on ``"\r"``: every redraw of the bar
    would be added to one ever longer line."""
    return type(stream).__module__.startswith("idlelib.")


class ProgressBar(Callback):
    """Keras-like progress output.

    ``verbose=1``: ``Epoch 1/5`` then a bar redrawn in place while the epoch runs, ending as
    ``469/469 [==============================] - 2s 4ms/step - loss: 0.2581 - accuracy: 0.9258``.
    The bar is redrawn in a terminal and in a Jupyter notebook, whose output is no terminal
    but redraws a line on ``"\r"`` as one does. When the output is a log file, a pipe, or
    IDLE's shell (which does not), only the final line is printed.
    ``verbose=2``: ``Epoch 1/5`` then one line when the epoch ends, with no bar, as Keras
    writes it: ``469/469 - 2s - 4ms/step - loss: 0.2581 - accuracy: 0.9258``.
    A run of one epoch has no ``Epoch 1/1`` line, as in Keras.
    """

    width = 30  # characters of the bar
    interval = 0.05  # seconds between redraws

    def __init__(self, verbose: int | str = 1, stream: TextIO | None = None) -> None:
        super().__init__()
        self.verbose = verbose_level(verbose)
        self._stream = stream
        self._drawn = 0  # characters of the live bar line drawn so far; 0: no line open
        self._width: int | None = None  # of this epoch's bar, once drawn (see _bar)

    @property
    def stream(self) -> TextIO:
        """Where the progress goes: the stream given, or sys.stdout as it is when written
        (so that pytest's capsys, or a redirect made after the bar was built, sees it)."""
        return self._stream if self._stream is not None else sys.stdout

    def _live(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return self.verbose == 1 and (bool(isatty and isatty() and not _is_idle(self.stream))
                                      or _is_notebook(self.stream))

    def _redraw(self, line: str) -> None:
        """Write ``line`` over the one drawn last: back to the line's start with "\r", and
        spaces over what is left of a longer last line (rather than the terminal's "erase
        to the end of the line" code, which a notebook would not understand)."""
        self.stream.write("\r" + line + " " * (self._drawn - len(line)))
        self._drawn = len(line)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._drawn = 0  # characters of the bar line drawn so far
        self._width = None
        # Keras leaves the "Epoch 1/1" line out of a one-epoch run: it would say nothing.
        if self.verbose and self.params["epochs"] > 1:
            self.stream.write(f"Epoch {epoch + 1}/{self.params['epochs']}\n")
            self.stream.flush()

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if not self._live():
            return
        now = time.perf_counter()
        steps = self.params["steps"]
        if now - self._last_draw < self.interval and batch + 1 < steps:
            return
        self._last_draw = now
        elapsed = now - self._start
        eta = elapsed / (batch + 1) * (steps - batch - 1)
        rest = f" - ETA: {_format_eta(eta)}{_format_logs(logs or {})}"
        line = self._bar(batch + 1, steps, rest)
        # A line wider than the terminal wraps, and "\r" goes back only to the start of its
        # last row: each redraw would leave a row behind. So it is made to fit, dropping
        # whole " - name: value" items from its end (a number cut short would read as
        # another), and cut only when the bar and the ETA alone are too wide.
        columns = self._columns()
        if columns is not None:
            while len(line) > columns - 1 and rest.count(" - ") > 1:
                rest = rest.rsplit(" - ", 1)[0]
                line = self._bar(batch + 1, steps, rest)
            line = line[:columns - 1]
        self._redraw(line)
        self.stream.flush()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.verbose == 0:
            return
        elapsed = time.perf_counter() - self._start
        steps = self.params["steps"]
        # The epoch's time in whole seconds, as Keras writes it ("0s" for 0.4 s): the time
        # per step after it is the precise one.
        took, per_step = f"{elapsed:.0f}s", _format_per_step(elapsed / max(steps, 1))
        if self.verbose == 1:
            # Not cut: the epoch's last line is drawn once, and may wrap.
            line = self._bar(steps, steps, f" - {took} {per_step}{_format_logs(logs or {})}")
        else:
            line = f"{steps}/{steps} - {took} - {per_step}{_format_logs(logs or {})}"
        if self._live():
            self._redraw(line)
        else:
            self.stream.write(line)
        self.stream.write("\n")
        self.stream.flush()
        self._drawn = 0

    def end_line(self) -> None:
        """End the live bar's line if an epoch stopped half-way (an error, Ctrl-C), so that
        what is printed next starts on a line of its own; fit calls it then."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = 0

    def _columns(self) -> int | None:
        """The terminal's width in characters when the output is a terminal, else None:
        COLUMNS when it is set (the user's word, as for shutil.get_terminal_size), else the
        width of the stream's own terminal, which need not be stdout's."""
        isatty = getattr(self.stream, "isatty", None)
        if not (isatty and isatty()):
            return None
        given = os.environ.get("COLUMNS", "")
        if given.isdigit() and int(given) > 0:
            return int(given)
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):  # no file descriptor: stdout's, or 80
            columns = 0
        # A terminal may say it has 0 columns (`script`, some `docker exec -t`): as unknown.
        return columns or shutil.get_terminal_size().columns or 80

    def _bar(self, done: int, total: int, rest: str) -> str:
        """``"done/total [===>....]"`` then ``rest``. In a terminal too narrow for the whole
        line, the bar is narrowed (to 10 characters at least), once an epoch so that it
        does not change width as the ETA does."""
        digits = len(str(total))
        if self._width is None:
            self._width = self.width
            columns = self._columns()
            if columns is not None:
                # The line without the bar: the counts, " [", "]", rest, and 8 characters
                # more for the epoch's last line ("- 2s 4ms/step" for "- ETA: 8s").
                others = 2 * digits + 4 + len(rest) + 8
                self._width = max(min(self.width, columns - 1 - others), 10)
        width = self._width
        filled = width * done // max(total, 1)
        if done < total:
            bar = "=" * max(filled - 1, 0) + ">" + "." * (width - max(filled, 1))
        else:
            bar = "=" * width
        return f"{done:{digits}d}/{total} [{bar}]{rest}"


def _check_monitor(owner: str, monitor: Any) -> None:
    """A ValueError naming ``owner`` unless ``monitor`` is a logs key (a non-empty str)."""
    if not isinstance(monitor, str) or not monitor:
        raise ValueError(f"{owner}: monitor must be the name of a logged value, such as "
                         f"'val_loss' or 'val_accuracy', got {monitor!r}")


def _check_validated(callback: Callback, name: str, subject: str, instead: str,
                     also: Sequence[str] = ()) -> None:
    """A ValueError, when training begins, for ``name`` the val_ version of a value that fit
    logs (``val_loss``) in a fit given no validation data: the epoch's logs would lack it,
    and the callback would fail only once a first epoch had trained. Other names are left to
    the epoch's end, as a callback before this one may log them (``val_f1``, say). So a
    callback that scores the epochs on data of its own logs them under names of its own:
    under fit's ``val_loss``, it would be taken for a fit that forgot its validation data.
    A name close to one fit logs (Keras 2's ``val_acc`` for ``val_accuracy``) is warned of
    now: more likely a slip than another callback's name. ``also``: names the callback
    knows besides the logs (a ModelCheckpoint's ``epoch``), a slip of which is warned of
    too."""
    logged = callback.params.get("metrics")
    if logged is None or name in logged:
        return
    if name.startswith("val_") and name.removeprefix("val_") in logged:
        raise ValueError(f"{type(callback).__name__}: {subject} needs validation data, and fit "
                         f"was given none: pass fit validation_data=(x_val, y_val) or "
                         f"validation_split=0.1, or {instead} {name.removeprefix('val_')!r}")
    # A slip: a name that one fit logs begins with, or the other way round (val_acc for
    # val_accuracy, accuracyy), or in other case. Merely close ones are left alone: val_auc,
    # logged by another callback, is no val_accuracy.
    folded = name.lower()
    close = [n for n in [*also, *logged]
             if n.lower().startswith(folded) or folded.startswith(n.lower())]
    if close:
        warnings.warn(f"{type(callback).__name__}: {subject} is not among the values fit logs "
                      f"{logged}: did you mean {close[0]!r}? (Unless a callback before this "
                      "one logs it, the first epoch's end will fail for want of it.)",
                      UserWarning, stacklevel=user_stacklevel())


def _monitored(owner: str, monitor: str, logs: Logs) -> float:
    """``logs[monitor]``, or a KeyError naming ``owner``, the keys the logs do hold, and
    the likely reason."""
    if monitor not in logs:
        if monitor.startswith("val_") and not any(key.startswith("val_") for key in logs):
            why = "val_ metrics need validation_data"
        else:  # "val_accuracy" for a model compiled with metrics=["acc"], say
            close = difflib.get_close_matches(monitor, sorted(logs), n=1)
            why = ("the logs hold the loss and the metrics compile was given, under the names "
                   "given: metrics=['acc'] logs acc and val_acc"
                   + (f"; did you mean {close[0]!r}?" if close else ""))
        raise KeyError(f"{owner}: monitor {monitor!r} is not among the logs {sorted(logs)} "
                       f"({why})")
    return logs[monitor]


def _epochs_before(callback: Callback, monitor: str) -> list[tuple[int, float]]:
    """(epoch, value of ``monitor``) for each epoch before a resumed run's first, from the
    model's History: a run with ``fit(..., initial_epoch=k)``, on a model loaded from the
    epoch-k checkpoint, whose History fit cuts to the epochs before k. [] for a run that
    starts at epoch 0."""
    history = getattr(callback.model, "history", None)
    if not callback.params.get("initial_epoch", 0) or history is None \
            or monitor not in history.history:
        return []
    return list(zip(history.epoch, history.history[monitor], strict=False))


def _mode(owner: str, mode: Any, monitor: str, needed: bool = True) -> str:
    """``"min"`` or ``"max"``, whether a smaller or a larger ``monitor`` is better: ``mode``
    itself, or for ``"auto"`` max when the name contains "acc" (an accuracy) and min when it
    contains "loss" or "error", or is "mae" or "mse"; a ValueError naming ``owner`` for any
    other ``mode``, or for "auto" and another name when the direction is ``needed``."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    # In any case, as compile takes metric names: compile(metrics=["Accuracy"]) logs
    # "val_Accuracy".
    name = monitor.removeprefix("val_").lower()
    if "acc" in name:
        return "max"
    if "loss" in name or "error" in name or name in ("mae", "mse") or not needed:
        return "min"
    # Taken as a loss, a metric of one's own that grows as it improves (an F1 score) would
    # stop the run when it improves, and restore or keep its worst epoch.
    raise ValueError(f"{owner}: mode='auto' cannot tell whether a larger or a smaller "
                     f"{monitor!r} is better (only accuracies, losses and errors): pass "
                     "mode='max' or mode='min'")


class EarlyStopping(Callback):
    """Stop training when a monitored metric has stopped improving.

    Args:
        monitor: the logs key to watch, e.g. ``"val_loss"`` or ``"val_accuracy"``.
        patience: epochs with no improvement after which training stops (as in Keras: with
            patience 2, the second epoch that does not improve on the best is the last).
        min_delta: the smallest change that counts as an improvement.
        mode: ``"min"``, ``"max"``, or ``"auto"``: max for names containing "acc", min for
            those containing "loss" or "error" and for "mae" and "mse"; for any other name
            (a metric of your own) "auto" is refused.
        baseline: a value the monitored one must beat (by more than ``min_delta``), or None.
            As in Keras, the patience starts again only at an epoch that beats both the
            baseline and the best epoch so far: until one does, every epoch counts towards
            it, one that beats only the best too. Training still stops only at an epoch
            that does not improve on the best.
        restore_best_weights: at the end, put back the weights of the best epoch; as in Keras,
            that of the best epoch seen even when none beat the baseline.
        verbose: 0 (silent) or 1: when training ends, print the lines Keras prints,
            ``Epoch 5: early stopping`` if this callback stopped it (epochs counted from 1, as
            in the progress output), and ``Restoring model weights from the end of the best
            epoch: 3.`` if it restores the best weights.

    Attributes set by ``fit``: ``best`` (the best monitored value seen, whether or not it
    beat the baseline), ``best_epoch`` (its epoch, counting from 0), ``stopped_epoch`` (the
    epoch this callback stopped training at, or None).

    A run resumed with ``fit(..., initial_epoch=k)`` on a model loaded from the epoch-k
    checkpoint takes the best and the patience's count from the History of the epochs before
    k, so it stops and restores as the uninterrupted run does. The weights of a best epoch
    before k - 1 are not in the checkpoint: if no later epoch improves on it,
    ``restore_best_weights`` keeps the last epoch's weights, with a warning.

    Raises ValueError when training begins for a ``val_`` monitor of what fit logs
    (``val_loss``, the default) in a fit given no validation data; KeyError at an epoch's end
    for a monitor the logs do not hold.

    The arguments after ``monitor`` are given by name: Keras's order is (monitor, min_delta,
    patience), and ``EarlyStopping("val_loss", 0, 3)``, patience 3 in Keras, would be
    patience 0 here.
    """

    def __init__(self, monitor: str = "val_loss", *, patience: int = 0, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False,
                 verbose: int = 0, baseline: float | None = None) -> None:
        super().__init__()
        _check_monitor("EarlyStopping", monitor)
        self.mode = _mode("EarlyStopping", mode, monitor)
        # Finite numbers only: a NaN min_delta would make every epoch "no improvement" (a
        # silent early stop), and no epoch beats a NaN or an infinite baseline, so training
        # would always stop after `patience` epochs, whatever it learnt. As in Keras, the
        # sign of min_delta does not matter.
        self.min_delta = abs(number_in("EarlyStopping: min_delta", min_delta, None))
        self.baseline = (None if baseline is None
                         else number_in("EarlyStopping: baseline", baseline, None))
        self.monitor = monitor
        self.patience = int_at_least("EarlyStopping: patience", patience, 0)
        self.restore_best_weights = flag(restore_best_weights, "restore_best_weights",
                                         "EarlyStopping")
        self.verbose = verbose_level(verbose, "EarlyStopping")
        self._start()

    def _start(self) -> None:
        """Forget every epoch seen: no best yet, no epoch counted towards the patience."""
        self.best = -math.inf if self.mode == "max" else math.inf
        self.best_epoch: int | None = None
        self.best_weights: list[np.ndarray] | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None

    def _improves_on(self, value: float, reference: float) -> bool:
        """Whether ``value`` beats ``reference`` by more than ``min_delta`` (NaN never does)."""
        if self.mode == "max":
            return value > reference + self.min_delta
        return value < reference - self.min_delta

    def on_train_begin(self, logs: Logs | None = None) -> None:
        _check_validated(self, self.monitor, f"monitor {self.monitor!r}", "monitor")
        self._start()  # a callback given to fit again starts afresh, as in Keras
        # A resumed run goes on from the epochs before it, as the uninterrupted run would:
        # the same best, and the same epochs counted towards the patience.
        stops = False
        for epoch, value in _epochs_before(self, self.monitor):
            stops = not self._count(epoch, value) and self.wait >= self.patience
        if stops:
            # The uninterrupted run stopped at the end of the epoch before this run's first
            # (a run killed after that epoch's checkpoint, before fit returned): so does this
            # one, before its first epoch.
            self.stopped_epoch = epoch
            self.model.stop_training = True
        # fit starts from the weights at the end of epoch k - 1, the checkpoint's; an earlier
        # best epoch's weights are in no file this run can see (see on_train_end).
        initial_epoch = self.params.get("initial_epoch", 0)
        if self.restore_best_weights and self.best_epoch == initial_epoch - 1:
            self.best_weights = self.model.get_weights()

    def _count(self, epoch: int, value: float) -> bool:
        """Count ``epoch``'s monitored ``value`` towards the patience; True when it improves
        on the best, which it then becomes."""
        self.wait += 1  # epochs since the patience last started again
        if not self._improves_on(value, self.best):
            return False
        self.best, self.best_epoch = value, epoch
        # The patience starts again only at an epoch that beats the baseline too: until one
        # does, every epoch counts towards it, even one better than the last.
        if self.baseline is None or self._improves_on(value, self.baseline):
            self.wait = 0
        return True

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        value = _monitored("EarlyStopping", self.monitor, logs or {})
        if self._count(epoch, value):
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return  # as in Keras, an epoch that improves on the best never ends training
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        # Printed at the end, after the last epoch's progress line, as Keras prints them; to
        # sys.stdout as ModelCheckpoint's, looked up now so that a redirection applies.
        if self.verbose and self.stopped_epoch is not None:
            sys.stdout.write(f"Epoch {self.stopped_epoch + 1}: early stopping\n")
        if self.restore_best_weights and self.best_epoch is not None:
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)
                if self.verbose:
                    sys.stdout.write(f"Restoring model weights from the end of the best "
                                     f"epoch: {self.best_epoch + 1}.\n")
            else:
                warnings.warn(f"EarlyStopping: the weights of the best epoch, "
                              f"{self.best_epoch + 1}, are not restored: this run resumed "
                              f"after it, from a checkpoint of a later epoch, and the model "
                              f"kept the last epoch's. ModelCheckpoint(save_best_only=True) "
                              f"keeps the best epoch's model in a file",
                              stacklevel=user_stacklevel())
        sys.stdout.flush()


class _AnyLog(dict):
    """Logs in which every name exists, and which list the names read from them (``asked``):
    checks a filepath template before training."""

    def __init__(self, **logs: float) -> None:
        super().__init__(**logs)
        self.asked: list[str] = []

    def __missing__(self, key: str) -> float:
        self.asked.append(key)
        return 0.0


class ModelCheckpoint(Callback):
    """Save the model (``model.save``) at the end of every epoch, or of the best ones only.

    A checkpoint holds the weights, the optimiser state and the History, so training resumed
    from the checkpoint of epoch k with ``fit(..., initial_epoch=k)`` continues exactly as the
    uninterrupted run would have (see :func:`tinynet.io.load_model`).

    Args:
        filepath: where to save, a ``str.format`` template: ``{epoch}`` is the number of epochs
            done (1 after the first epoch, as in Keras and in the progress output, so it is the
            ``initial_epoch`` to resume from), and any logs key may be used, e.g.
            ``"ckpt/epoch{epoch:02d}-{val_loss:.3f}.npz"``. Without ``.npz`` at the end,
            ``.npz`` is appended by ``model.save``. The folder must exist.
        monitor: the logs key compared when ``save_best_only``, e.g. ``"val_loss"``.
        save_best_only: save only when ``monitor`` improved on the best value seen so far
            (with a fixed ``filepath``, that file always holds the best model).
        mode: ``"min"``, ``"max"``, or ``"auto"``, as for :class:`EarlyStopping` (needed
            only with ``save_best_only``).
        verbose: 1 prints a line each time the model is saved, and with ``save_best_only``
            one for each epoch that did not improve, as Keras does.

    Attributes: ``best`` (best monitored value so far, counted once its model is saved, kept
    across ``fit`` calls, and taken from the model's History when ``fit`` resumes with
    ``initial_epoch``), ``best_epoch`` (its epoch, counting from 0), ``last_saved`` (the last
    path written).

    Raises TypeError when made, for a ``filepath`` that is not a str or a path object of a
    str, and ValueError for an empty one or a malformed template; ValueError when training
    begins, in a fit given no validation data, for a
    ``filepath`` that names a ``val_`` value of what fit logs (``{val_loss}``), or, with
    ``save_best_only``, such a ``monitor``, or for a model that ``model.save`` would refuse;
    FileNotFoundError or PermissionError for a folder that is missing or cannot be written
    in. The arguments after ``monitor`` are given by name: Keras's third is ``verbose``.
    """

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss", *,
                 save_best_only: bool = False, mode: str = "auto", verbose: int = 0) -> None:
        super().__init__()
        expected = "a file name or template such as 'ckpt/epoch{epoch:02d}.npz'"
        # str() would make None (an unset option) into "None.npz", and bytes into "b'...'".
        if not (isinstance(filepath, str | os.PathLike)
                and isinstance(os.fspath(filepath), str)):
            raise TypeError(f"ModelCheckpoint: filepath must be {expected} (a str or a "
                            f"pathlib.Path), got {filepath!r}")
        self.filepath = os.fspath(filepath)
        if not self.filepath:
            raise ValueError(f"ModelCheckpoint: filepath must be {expected}, got ''")
        logs = _AnyLog(epoch=1)
        try:  # a malformed template fails now, not after the first epoch's work
            self.filepath.format_map(logs)
        except (IndexError, ValueError, AttributeError, TypeError) as err:
            raise ValueError(f"ModelCheckpoint: filepath {self.filepath!r} is not a valid "
                             f"template: {err} (use named fields such as {{epoch}})") from err
        _check_monitor("ModelCheckpoint", monitor)
        self.save_best_only = flag(save_best_only, "save_best_only", "ModelCheckpoint")
        # Every epoch saved: no value is compared, so no direction is needed.
        self.mode = _mode("ModelCheckpoint", mode, monitor, needed=self.save_best_only)
        self.monitor, self.verbose = monitor, verbose_level(verbose, "ModelCheckpoint")
        # Kept across fit calls, so that a second fit only saves models better than the first.
        self.best = -math.inf if self.mode == "max" else math.inf
        self.best_epoch: int | None = None
        self.last_saved: str | None = None
        self._names = logs.asked  # the logs keys the template uses, "epoch" aside

    def on_train_begin(self, logs: Logs | None = None) -> None:
        # A filepath that is a folder (which model.save refuses with the same words), or in
        # a folder that does not exist, fails now, not after the first epoch's training (a
        # folder named by the template, "e{epoch}/model", can only be checked when saving).
        not_a_folder("ModelCheckpoint: filepath", self.filepath, "e{epoch}.npz")
        folder = os.path.dirname(self.filepath)
        if folder and "{" not in folder and not os.path.isdir(folder):
            raise FileNotFoundError(f"ModelCheckpoint: no folder {folder!r} to save "
                                    f"{os.path.basename(self.filepath)!r} in; create it first")
        if "{" not in folder:
            # Through a symbolic link, the model is saved beside the file it points to.
            written = target_folder(self.filepath)
            if reason := cannot_create_files(written):
                raise PermissionError(f"ModelCheckpoint: cannot save "
                                      f"{os.path.basename(self.filepath)!r} in the folder "
                                      f"{str(written)!r}: cannot create files there "
                                      f"({reason})")
        # So is a model that model.save refuses (a class of one's own whose get_config() does
        # not give its __init__'s arguments, a metric function named like tinynet's), and a
        # file that saving would replace with a regular one (a link to /dev/null).
        from tinynet.io import model_json, model_path  # io imports this module

        if "{" not in self.filepath and (kind := not_a_file(model_path(self.filepath))):
            raise OSError(f"ModelCheckpoint: cannot save to {self.filepath!r}: it is {kind}, "
                          f"not a regular file, and saving would replace it with one")

        model_json(self.model, self.filepath)
        if self.save_best_only:
            _check_validated(self, self.monitor, f"monitor {self.monitor!r}", "monitor")
        for name in self._names:  # {epochs} for {epoch} is warned of too
            _check_validated(self, name, f"filepath {self.filepath!r} uses {name!r}, which",
                             "use", also=["epoch"])
        # A resumed run starts from the best of the epochs before it: otherwise its first
        # epoch would count as an improvement on nothing and overwrite the best model of those.
        for epoch, value in _epochs_before(self, self.monitor):
            if self._improved(value):
                self.best, self.best_epoch = value, epoch

    def _improved(self, value: float) -> bool:
        # NaN compares false both ways, so a diverged epoch never counts as the best.
        return value > self.best if self.mode == "max" else value < self.best

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        message = ""
        if self.save_best_only:
            value = float(_monitored("ModelCheckpoint", self.monitor, logs))
            if not self._improved(value):
                if self.verbose:  # Keras's line, so that the log says why no file was written
                    sys.stdout.write(f"\nEpoch {epoch + 1}: {self.monitor} did not improve "
                                     f"from {self.best:.5f}\n")
                    sys.stdout.flush()
                return
            message = f"{self.monitor} improved from {self.best:.5f} to {value:.5f}, "
        try:
            path = self.filepath.format(**{**logs, "epoch": epoch + 1})
        except KeyError as err:
            # The scheduler adds "lr" when the epoch ends, after the callbacks before it.
            hint = ("; the LearningRateScheduler logs it: put it before this ModelCheckpoint "
                    "in the callbacks" if err.args == ("lr",) else "")
            raise KeyError(f"ModelCheckpoint: filepath {self.filepath!r} uses {err}, which is "
                           f"not among the logs {sorted(logs)}{hint}") from err
        path = str(self.model.save(path))  # the file written: ".npz" appended if missing
        if self.save_best_only:
            # Only once it is saved: a best whose save was refused would be one that no file
            # holds, and that the epochs after it would have to beat to be saved.
            self.best, self.best_epoch = value, epoch
        self.last_saved = path
        if self.verbose:
            sys.stdout.write(f"\nEpoch {epoch + 1}: {message}saving model to {path}\n")
            sys.stdout.flush()


class LearningRateScheduler(Callback):
    """Set the optimiser's learning rate at the start of every epoch, and log it.

    At the end of each epoch the rate is added to the epoch's logs as ``"lr"``, Keras 2's
    name (and the optimiser's: ``optimizer.lr``), so that ``history.history["lr"]`` holds
    the rate of every epoch. As for any value a callback adds to the logs, the progress line
    is printed before it is added and does not show it, and a ``ModelCheckpoint`` saves it
    with the epoch only when it comes after the scheduler in the callbacks list (which a run
    resumed from that checkpoint needs for its History to be the uninterrupted run's).

    The name ``"lr"`` is the scheduler's, so that no value is silently replaced by the rate:
    it refuses, when training begins, a model with a metric named ``lr``, and when an epoch
    ends, a value that a callback before it in the list logged as ``lr``, unless that value
    is the rate (as one that logs the rate too, like Keras 2's ReduceLROnPlateau, does).

    Args:
        schedule: ``schedule(epoch, lr) -> new lr``, with ``epoch`` counting from 0 and
            ``lr`` the current rate; e.g. :func:`exponential_decay`. As in Keras, a function
            of the epoch alone, ``schedule(epoch) -> new lr``, works too; which one it is,
            is told from its signature (a NumPy ufunc's from its number of inputs), and a
            callable whose signature cannot be read (``max``) is refused. The rate depends on
            the epoch alone, so a run resumed at epoch k uses the rates of the uninterrupted
            run (an :func:`exponential_decay` made from the run's first rate, not from a
            loaded optimiser's ``lr``, the rate of the epoch it was saved in).
        verbose: 1 prints the rate when it is set.
    """

    def __init__(self, schedule: Callable[[int, float], float] | Callable[[int], float],
                 verbose: int = 0) -> None:
        super().__init__()
        expected = "a function schedule(epoch, lr) -> lr or schedule(epoch) -> lr"
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be {expected}, "
                            f"got {schedule!r}")
        try:
            self._takes_lr = _accepts(schedule, 2)
            takes_epoch = _accepts(schedule, 1)
        except ValueError:  # no signature to read: guessing would call it wrongly
            raise TypeError(f"LearningRateScheduler: cannot tell whether schedule {schedule!r} "
                            "takes (epoch, lr) or (epoch): its signature cannot be read; wrap "
                            "it in a function of your own, def schedule(epoch, lr): ...") from None
        if not self._takes_lr and not takes_epoch:
            raise TypeError(f"LearningRateScheduler: schedule must be {expected}, got "
                            f"{schedule!r}, which takes neither (epoch, lr) nor (epoch)")
        # Called with one argument or two, as _takes_lr says: a type checker cannot tell which.
        self.schedule: Callable[..., float] = schedule
        self.verbose = verbose_level(verbose, "LearningRateScheduler")

    def on_train_begin(self, logs: Logs | None = None) -> None:
        # A metric is logged under its name: the rate would replace its value in every epoch.
        if any(name == "lr" for name, _ in self.model.metrics):
            raise ValueError("LearningRateScheduler: the learning rate is logged as 'lr', "
                             "the name of one of the model's metrics; give the metric another "
                             "name (def my_metric(y_pred, y_true): ...) and compile again")

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        _, optimizer = self.model._require_compiled()
        lr = self.schedule(epoch, optimizer.lr) if self._takes_lr else self.schedule(epoch)
        lr = unwrapped(lr)  # np.where(epoch < 10, 0.1, 0.01)
        # Checked against the optimiser's own range for lr (0 is a rate: a warm-up's first,
        # lr * epoch / 5), but naming the schedule and the epoch: float() would take the
        # string "0.5", and refuse None in words that name neither. An optimiser of one's own
        # whose hyper_parameters leave lr out has the base class's range.
        ranges = type(optimizer).hyper_parameters
        lr = number_in(f"LearningRateScheduler: the schedule's lr for epoch {epoch}", lr,
                       *(ranges.get("lr") or LR_RANGE))
        optimizer.lr = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: learning rate {lr:.3g}")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        # Keras 2's way to put the rate in the History: fit has run History's on_epoch_end
        # already, and History takes the values added to the epoch's logs after it (see
        # History.on_epoch_begin). The optimiser's rate, as Keras logs it: the one this epoch
        # trained with.
        if logs is None:
            return
        _, optimizer = self.model._require_compiled()
        lr = float(optimizer.lr)
        if "lr" in logs and logs["lr"] != lr:  # a callback before this one logged its own
            raise ValueError(f"LearningRateScheduler: the learning rate ({lr!r}) is logged "
                             f"as 'lr', but a callback before the scheduler in the callbacks "
                             f"list logged lr={logs['lr']!r} at epoch {epoch + 1}; give that "
                             f"value another name")
        logs["lr"] = lr


def _accepts(function: Callable, n: int) -> bool:
    """Whether ``function`` can be called with ``n`` positional arguments; ValueError when
    that cannot be told, as for the built-ins whose signature Python cannot read (``max``).

    A NumPy ufunc takes exactly its ``nin`` inputs, less those a ``functools.partial`` binds:
    its signature also lists ``out``, so ``np.exp(epoch, lr)`` binds, and then fails, lr
    taken for the output array.
    """
    bound, inner = 0, function
    while isinstance(inner, functools.partial):
        bound, inner = bound + len(inner.args), inner.func
    if isinstance(inner, np.ufunc):
        return n + bound == inner.nin
    try:
        inspect.signature(function).bind(*range(n))
    except TypeError:
        return False
    return True


def exponential_decay(initial_lr: float, rate: float) -> Callable[[int, float | None], float]:
    """The schedule ``lr = initial_lr * rate**epoch`` for :class:`LearningRateScheduler`;
    ``initial_lr`` and ``rate`` must be finite numbers > 0 (checked now, not at epoch 1)."""
    for name, value in (("initial_lr", initial_lr), ("rate", rate)):
        number_in(f"exponential_decay: {name}", value, 0.0, low_inclusive=False)

    def schedule(epoch: int, lr: float | None) -> float:  # lr unused: schedule(epoch, None)
        return initial_lr * rate**epoch

    # Both names: repr() shows the qualified one: <function exponential_decay(0.1, 0.5) ...>
    schedule.__name__ = schedule.__qualname__ = f"exponential_decay({initial_lr}, {rate})"
    return schedule
