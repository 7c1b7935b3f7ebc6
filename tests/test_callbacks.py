"""Progress output, the callback hooks, History and EarlyStopping."""

import functools
import inspect
import io
import itertools
import math
import os
import re
import sys
import types
import warnings
from typing import ClassVar

import numpy as np
import pytest
from strategies import BytesPath, RefuseToBegin

from tinynet import callbacks, load_model
from tinynet.callbacks import (
    Callback,
    EarlyStopping,
    History,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
    exponential_decay,
)
from tinynet.layers import Dense, ReLU, Softmax
from tinynet.losses import CrossEntropy
from tinynet.model import Sequential
from tinynet.optim import SGD, Optimizer

N, BATCH, EPOCHS = 50, 16, 2
STEPS = math.ceil(N / BATCH)


def data(seed: int = 0, n: int = N) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = np.where(y[:, None] == 1, 1.5, -1.5) + rng.standard_normal((n, 2))
    return x.astype(np.float32), y


def model(seed: int = 0) -> Sequential:
    m = Sequential([Dense(2, 4), ReLU(), Dense(4, 2), Softmax()], seed=seed)
    m.compile(CrossEntropy(), SGD(0.1))
    return m


def scheduled_rates(schedule, epochs: int = 3) -> list[float]:
    """The learning rates LearningRateScheduler(schedule) sets in the first ``epochs``
    epochs of a model compiled with SGD(0.1)."""
    m = model()
    scheduler = LearningRateScheduler(schedule)
    scheduler.set_model(m)
    rates = []
    for epoch in range(epochs):
        scheduler.on_epoch_begin(epoch)
        rates.append(m.optimizer.lr)
    return rates


class FakeTerminal(io.StringIO):
    """An in-memory stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    """A terminal wide enough for every bar line, whatever the width of the one running the
    tests (shutil.get_terminal_size reads COLUMNS first)."""
    monkeypatch.setenv("COLUMNS", "200")


#: The final bar line of an epoch: "4/4 [======] - 0s 1ms/step - loss: 0.1234 - ...".
BAR = re.compile(rf"^{STEPS}/{STEPS} \[={{30}}\] - \d+m?s \d+[mu]?s/step"
                 r" - loss: \d+\.\d{4} - accuracy: [01]\.\d{4}$")


# ------------------------------------------------------------------------------ progress
def test_verbose_1_to_a_non_terminal_prints_the_epoch_and_a_final_bar(capsys):
    x, y = data()
    history = model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=1)
    out = capsys.readouterr().out
    assert "\r" not in out and "\033" not in out  # no redraws in a log file or a pipe
    lines = out.splitlines()
    assert len(lines) == 2 * EPOCHS
    for epoch in range(EPOCHS):
        assert lines[2 * epoch] == f"Epoch {epoch + 1}/{EPOCHS}"
        bar = lines[2 * epoch + 1]
        assert BAR.match(bar), bar
        # The numbers shown are the epoch's, as History recorded them.
        loss = float(re.search(r"loss: (\S+)", bar).group(1))
        assert loss == pytest.approx(history.history["loss"][epoch], abs=5e-5)


def test_verbose_1_shows_validation_metrics(capsys):
    x, y = data()
    model().fit(x, y, epochs=1, batch_size=BATCH, validation_data=data(1, 20), verbose=1)
    bar = capsys.readouterr().out.splitlines()[-1]
    assert re.search(r"- loss: \S+ - accuracy: \S+ - val_loss: \S+ - val_accuracy: \S+$", bar)


def test_verbose_2_prints_the_epoch_and_one_line_without_a_bar(capsys):
    # As Keras: "Epoch 1/3", then "4/4 - 0s - 1ms/step - loss: ..." when the epoch ends.
    x, y = data()
    model().fit(x, y, epochs=3, batch_size=BATCH, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 * 3
    for epoch in range(3):
        assert lines[2 * epoch] == f"Epoch {epoch + 1}/3"
        assert re.match(rf"^{STEPS}/{STEPS} - \d+s - \d+[mu]?s/step - loss: \d+\.\d{{4}} "
                        r"- accuracy: [01]\.\d{4}$", lines[2 * epoch + 1]), lines


@pytest.mark.parametrize("verbose", [1, 2])
def test_a_run_of_one_epoch_has_no_epoch_line_as_in_keras(capsys, verbose):
    # Keras prints "Epoch 1/3" before each epoch of three, but no "Epoch 1/1" for a run of
    # one: the bar's line alone.
    x, y = data()
    model().fit(x, y, epochs=1, batch_size=BATCH, verbose=verbose)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{STEPS}/{STEPS} "), lines


def test_progress_shows_values_below_1e_3_in_scientific_notation_as_keras_does():
    # "loss: 0.0000" would read as a loss of exactly 0, where a regression's MSE often is
    # 2.5e-05: Keras switches to four significant digits below 1e-3, and so does tinynet.
    stream = io.StringIO()
    bar = ProgressBar(verbose=2, stream=stream)
    bar.set_params({"epochs": 1, "steps": 1, "verbose": 2, "initial_epoch": 0})
    bar.on_epoch_begin(0, None)
    bar.on_epoch_end(0, {"loss": 2.5e-05, "accuracy": 0.5, "val_loss": 0.0, "lr": -0.002,
                         "val_accuracy": 5e-4, "f1": 1e-3})
    # Keras's test is abs(value) > 1e-3: 1e-3 itself, and 5e-4 just below, in e-notation.
    assert stream.getvalue().endswith(" - loss: 2.5000e-05 - accuracy: 0.5000"
                                      " - val_loss: 0.0000e+00 - lr: -0.0020"
                                      " - val_accuracy: 5.0000e-04 - f1: 1.0000e-03\n")


def test_progress_bar_takes_keras_verbose_auto_and_refuses_other_levels():
    assert ProgressBar(verbose="auto").verbose == 1  # Keras's default: a bar
    with pytest.raises(ValueError, match="verbose must be 'auto', 0, 1 or 2, got 3"):
        ProgressBar(verbose=3)


def test_verbose_0_prints_nothing(capsys):
    x, y = data()
    m = model()
    m.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0, validation_data=data(1, 10))
    m.evaluate(x, y)
    m.predict(x)
    assert capsys.readouterr() == ("", "")


def test_a_terminal_gets_a_live_bar_redrawn_with_carriage_returns(monkeypatch):
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    x, y = data()
    model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=1)
    out = terminal.getvalue()
    # At least the first batch's bar and the final one per epoch start with "\r".
    assert out.count("\r") >= 2 * EPOCHS
    assert out.count("\n") == 2 * EPOCHS  # redraws stay on one line
    for chunk in out.split("\n")[1::2]:  # each epoch's bar line, after "Epoch e/E"
        final = chunk.split("\r")[-1].rstrip(" ")
        assert BAR.match(final), repr(chunk)
        assert re.search(r"ETA: ", chunk) or STEPS == 1  # an in-progress draw was shown
    assert "\033" not in out  # no terminal codes: spaces cover a longer line drawn before


def test_verbose_2_in_a_terminal_prints_one_line_per_epoch_without_a_bar(monkeypatch):
    # The live bar is verbose=1's: verbose=2 asks for a line per epoch, terminal or not.
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    x, y = data()
    model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=2)
    lines = terminal.getvalue().split("\n")
    assert len(lines) == 2 * EPOCHS + 1 and lines[-1] == ""
    assert all(line.startswith(f"{STEPS}/{STEPS} - ") and "\r" not in line and "[" not in line
               for line in lines[1:-1:2]), lines


def test_a_redrawn_line_covers_the_longer_one_drawn_before():
    bar = ProgressBar(verbose=1, stream=FakeTerminal())
    bar._drawn = 0
    bar._redraw("a long line - ETA: 1:02")
    bar._redraw("short")
    bar._redraw("shorter still")
    assert bar.stream.getvalue().split("\r")[1:] == [
        "a long line - ETA: 1:02", "short" + " " * 18, "shorter still"]


def live_frames(monkeypatch, tick: float) -> list[str]:
    """The lines a live bar draws over one epoch of 10 batches, each logging ``loss: 0.5``,
    on a clock that reads 100 s at the epoch's start and ``tick`` seconds more at each
    reading after (one per batch, one at the epoch's end): the "\\r"-drawn frames, without
    the spaces that cover a longer frame drawn before."""
    clock = (100.0 + tick * i for i in itertools.count())
    monkeypatch.setattr("tinynet.callbacks.time.perf_counter", lambda: next(clock))
    stream = FakeTerminal()
    bar = ProgressBar(1, stream=stream)
    bar.set_params({"epochs": 1, "steps": 10})
    bar.on_epoch_begin(0)
    for batch in range(10):
        bar.on_batch_end(batch, {"loss": 0.5})
    bar.on_epoch_end(0, {"loss": 0.5})
    out = stream.getvalue()
    assert out.startswith("\r") and out.endswith("\n") and out.count("\n") == 1
    return [frame.rstrip(" \n") for frame in out.split("\r")[1:]]


def running_frame(done: int, eta: str) -> str:
    """Keras's bar after ``done`` of 10 batches: the count padded to the width of the total,
    then 30 characters, 3 per batch done, the last of them ">" while the epoch runs."""
    bar = "=" * (3 * done - 1) + ">" + "." * (30 - 3 * done) if done < 10 else "=" * 30
    return f"{done:2d}/10 [{bar}] - ETA: {eta} - loss: 0.5000"


def test_a_live_bar_is_redrawn_at_every_batch_that_comes_past_keras_interval(monkeypatch):
    # 0.6 s a batch, past Keras's 0.05 s between redraws: every batch is drawn, with the
    # time left at 0.6 s for each batch to go (5.4 s, 4.8 s, ..., in whole seconds); the
    # last line gives the epoch's 6.6 s and 660 ms a step.
    frames = live_frames(monkeypatch, tick=0.6)
    etas = ["5s", "5s", "4s", "4s", "3s", "2s", "2s", "1s", "1s", "0s"]
    assert frames == [running_frame(done, eta) for done, eta in enumerate(etas, start=1)] + [
        "10/10 [" + "=" * 30 + "] - 7s 660ms/step - loss: 0.5000"]


def test_a_live_bar_is_redrawn_at_most_once_an_interval_but_always_at_the_last_batch(
        monkeypatch):
    # A clock that does not move: the first batch is drawn, the next ones come too soon
    # after it, and the last batch is drawn all the same, so that the bar is full while
    # the validation runs (before the epoch's final line).
    frames = live_frames(monkeypatch, tick=0.0)
    assert frames == [running_frame(1, "0s"), running_frame(10, "0s"),
                      "10/10 [" + "=" * 30 + "] - 0s 0us/step - loss: 0.5000"]


@pytest.mark.parametrize("columns, bar_width", [(60, 18), (30, 10)])
def test_a_live_bar_fits_in_the_terminals_width(monkeypatch, columns, bar_width):
    # Wider than an 80-column terminal with its loss and accuracy, each redraw would wrap,
    # and "\r" goes back only to the start of its last row: an epoch would fill 42 rows.
    monkeypatch.setenv("COLUMNS", str(columns))
    frames = live_frames(monkeypatch, tick=0.06)
    running, final = frames[:-1], frames[-1]
    assert all(len(frame) <= columns - 1 for frame in running), running
    assert running[0].startswith(" 1/10 [>" + "." * (bar_width - 1) + "] - ETA: ")
    # The epoch's last line keeps all its values, the bar narrowed (not below 10).
    assert final == "10/10 [" + "=" * bar_width + "] - 1s 66ms/step - loss: 0.5000"


def first_step(stream: FakeTerminal, logs: dict[str, float]) -> str:
    """What a progress bar on ``stream`` shows after the first of 469 steps logs ``logs``."""
    bar = ProgressBar(1, stream=stream)
    bar.set_params({"epochs": 1, "steps": 469})
    bar.on_epoch_begin(0)
    bar.on_batch_end(0, logs)
    return stream.getvalue().split("\r")[-1].rstrip(" ")


def test_a_narrow_terminal_drops_whole_values_never_part_of_one(monkeypatch):
    # Cut at the terminal's width, "loss: 12.3456" would become "loss: 12.", another number.
    # Every width, so that those at which a value just fits, or just does not, are among them.
    for columns in range(40, 90):
        monkeypatch.setenv("COLUMNS", str(columns))
        frame = first_step(FakeTerminal(), {"loss": 12.3456, "accuracy": 0.9258})
        assert len(frame) <= columns - 1
        items = frame.split("] - ")[1].split(" - ")
        assert items[0].startswith("ETA: ")
        assert items[1:] == ["loss: 12.3456", "accuracy: 0.9258"][:len(items) - 1], frame
        assert len(items) == 3 or columns < 80  # all of them when they fit


@pytest.mark.parametrize("columns", [25, 28])
def test_a_terminal_too_narrow_for_the_bar_and_its_eta_cuts_the_line_at_its_width(
        monkeypatch, columns):
    # The bar (10 wide at the least) and "ETA: " are kept, as far as they fit: the values go
    # first, then the line is cut, so that it still never wraps.
    monkeypatch.setenv("COLUMNS", str(columns))
    frame = first_step(FakeTerminal(), {"loss": 12.3456})
    assert frame == "  1/469 [>.........] - ETA: "[:columns - 1].rstrip(" ")


class TerminalOfItsOwn(FakeTerminal):
    """A terminal on file descriptor 99: stderr's, say, while stdout goes to a file."""

    def fileno(self) -> int:
        return 99


@pytest.mark.parametrize("terminal, width, columns, kept", [
    (TerminalOfItsOwn, 44, None, 0),  # the stream's own terminal's width, not stdout's
    (TerminalOfItsOwn, 44, "60", 1),  # COLUMNS is the user's word, as for shutil
    (TerminalOfItsOwn, 44, "0", 0),  # ... when it is a width
    (FakeTerminal, 44, None, 2),  # no file descriptor, and stdout no terminal: 80
    (TerminalOfItsOwn, 0, None, 2),  # a terminal that says 0 columns (`script`): 80
])
def test_the_bar_fits_the_width_of_the_streams_own_terminal_unless_columns_is_set(
        monkeypatch, terminal, width, columns, kept):
    def get_terminal_size(fd: int) -> os.terminal_size:
        if fd != 99:
            raise OSError(25, "Inappropriate ioctl for device")
        return os.terminal_size((width, 24))

    monkeypatch.setattr(os, "get_terminal_size", get_terminal_size)
    if columns is None:
        monkeypatch.delenv("COLUMNS")
    else:
        monkeypatch.setenv("COLUMNS", columns)
    frame = first_step(terminal(), {"loss": 12.3456, "accuracy": 0.9258, "val_loss": 12.3456})
    # "  1/469 [>.........] - ETA: 6ms" is 31 characters, and each value 16 to 20 more
    items = frame.split("] - ")[1].split(" - ")
    assert items[1:] == ["loss: 12.3456", "accuracy: 0.9258"][:kept], items


class Flushed(io.StringIO):
    """A stream that keeps what had been written at its last flush: what a pipe or a log
    file shows while the program runs on."""

    flushed = ""

    def flush(self) -> None:
        self.flushed = self.getvalue()


def test_progress_and_callback_lines_are_flushed_as_they_are_written(monkeypatch, tmp_path):
    # A pipe or a log file gets Python's output only when its buffer fills: "Epoch 1/2" must
    # show before the epoch's work, and a callback's lines when training ends, not later.
    stream = Flushed()
    bar = ProgressBar(1, stream=stream)
    bar.set_params({"epochs": 2, "steps": 1})
    bar.on_epoch_begin(0)
    assert stream.flushed == "Epoch 1/2\n"
    bar.on_batch_end(0, {"loss": 0.5})
    bar.on_epoch_end(0, {"loss": 0.5})  # the epoch's line, whole
    assert stream.flushed == stream.getvalue() and stream.flushed.endswith("loss: 0.5000\n")
    monkeypatch.setattr(sys, "stdout", Flushed())
    drive(EarlyStopping(patience=0, verbose=1, restore_best_weights=True), [1.0, 2.0])
    assert sys.stdout.flushed == sys.stdout.getvalue() != ""
    monkeypatch.setattr(sys, "stdout", Flushed())
    x, y = data()
    model().fit(x, y, epochs=1, batch_size=BATCH, verbose=0, callbacks=[
        ModelCheckpoint(str(tmp_path / "m.npz"), monitor="loss", verbose=1)])
    assert sys.stdout.flushed == sys.stdout.getvalue() != ""


def test_an_error_after_an_epochs_last_line_adds_no_empty_line(monkeypatch):
    # The live bar's line is ended once the epoch's last line is written: an error in a
    # callback after it (or Ctrl-C then) must not end it a second time with an empty line.
    class FailAtEpochEnd(Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    x, y = data()
    with pytest.raises(KeyboardInterrupt):
        model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=1,
                    callbacks=[FailAtEpochEnd()])
    out = terminal.getvalue()
    assert out.count("\n") == 2 and BAR.match(out.split("\r")[-1].rstrip(" \n")), repr(out)


def test_a_jupyter_notebook_gets_the_live_bar(monkeypatch):
    # A notebook's stdout, ipykernel's OutStream, is no terminal (isatty() is False), but it
    # redraws a line on "\r".
    iostream = types.ModuleType("ipykernel.iostream")
    iostream.OutStream = type("OutStream", (io.StringIO,), {})
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.setitem(sys.modules, "ipykernel.iostream", iostream)
    notebook = iostream.OutStream()
    monkeypatch.setattr(sys, "stdout", notebook)
    x, y = data()
    model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=1)
    out = notebook.getvalue()
    assert out.count("\r") >= 2 * EPOCHS and out.count("\n") == 2 * EPOCHS
    # Written to a file of the user's own, it is a log again: no redraws. So too with the
    # notebook's stdout redirected to one (contextlib.redirect_stdout), in the same kernel.
    log = io.StringIO()
    model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, callbacks=[ProgressBar(1, log)],
                verbose=0)
    assert "\r" not in log.getvalue() and "Epoch 1/" in log.getvalue()
    redirected = io.StringIO()
    monkeypatch.setattr(sys, "stdout", redirected)
    model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=1)
    assert "\r" not in redirected.getvalue() and "Epoch 1/" in redirected.getvalue()


def test_idles_shell_gets_the_final_lines_only(monkeypatch):
    # IDLE's shell says it is a terminal, but shows "\r" without going back to the line's
    # start: every redraw would be added to one ever longer line.
    shell = type("StdOutputFile", (FakeTerminal,), {"__module__": "idlelib.run"})()
    monkeypatch.setattr(sys, "stdout", shell)
    x, y = data()
    model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=1)
    out = shell.getvalue()
    assert "\r" not in out and out.count("\n") == 2 * EPOCHS
    assert all(BAR.match(line) for line in out.splitlines()[1::2]), out


# ------------------------------------------------------------------------- callback hooks
class Recorder(Callback):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_batch_begin(self, batch, logs=None):
        self.calls.append(("batch_begin", batch))

    def on_batch_end(self, batch, logs=None):
        self.calls.append(("batch_end", batch, dict(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, dict(logs)))

    def on_train_end(self, logs=None):
        self.calls.append(("train_end",))


def test_hooks_are_called_in_order_with_running_logs():
    x, y = data()
    recorder = Recorder()
    m = model()
    history = m.fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0, callbacks=[recorder])
    assert recorder.model is m
    assert recorder.params == {"epochs": EPOCHS, "steps": STEPS, "verbose": 0,
                               "initial_epoch": 0, "metrics": ["loss", "accuracy"]}
    kinds = [c[0] for c in recorder.calls]
    per_epoch = ["epoch_begin"] + ["batch_begin", "batch_end"] * STEPS + ["epoch_end"]
    assert kinds == ["train_begin", *per_epoch * EPOCHS, "train_end"]
    ends = [c for c in recorder.calls if c[0] == "epoch_end"]
    batch_ends = [c for c in recorder.calls if c[0] == "batch_end"]
    for epoch, (_, e, logs) in enumerate(ends):
        assert e == epoch
        # The epoch's loss is the running mean after its last batch, and History has it.
        assert logs == batch_ends[(epoch + 1) * STEPS - 1][2]
        assert history.history["loss"][epoch] == pytest.approx(logs["loss"])
        assert history.history["accuracy"][epoch] == pytest.approx(logs["accuracy"])


def test_keras_names_of_the_batch_hooks_are_called_too():
    class TrainBatches(Callback):
        def __init__(self):
            super().__init__()
            self.calls = []

        def on_train_batch_begin(self, batch, logs=None):
            self.calls.append(("begin", batch))

        def on_train_batch_end(self, batch, logs=None):
            self.calls.append(("end", batch, sorted(logs)))

    x, y = data()
    recorder = TrainBatches()
    model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=0, callbacks=[recorder])
    per_epoch = [c for b in range(STEPS) for c in (("begin", b), ("end", b, ["accuracy", "loss"]))]
    assert recorder.calls == per_epoch * EPOCHS


def test_hooks_written_without_a_default_for_logs_are_called_with_logs_none():
    # Keras passes every hook its logs argument, so Keras code often declares it without a
    # default: def on_train_begin(self, logs). fit must pass it too, not lean on the default.
    class NoDefaults(Callback):
        def __init__(self):
            super().__init__()
            self.calls = []

        def on_train_begin(self, logs):
            self.calls.append(("train_begin", logs))

        def on_epoch_begin(self, epoch, logs):
            self.calls.append(("epoch_begin", logs))

        def on_batch_begin(self, batch, logs):
            self.calls.append(("batch_begin", logs))

        def on_train_end(self, logs):
            self.calls.append(("train_end", logs))

    x, y = data()
    recorder = NoDefaults()
    model().fit(x, y, epochs=1, batch_size=BATCH, verbose=0, callbacks=[recorder])
    assert recorder.calls == [("train_begin", None), ("epoch_begin", None),
                              *[("batch_begin", None)] * STEPS, ("train_end", None)]


def test_one_callback_alone_is_taken_as_in_keras():
    x, y = data()
    history = model().fit(x, y, epochs=5, batch_size=BATCH, verbose=0,
                          callbacks=EarlyStopping(monitor="loss", patience=0, min_delta=10))
    assert history.epoch == [0, 1]  # epoch 1 is no better by 10 than epoch 0: it stops there


def test_a_callback_listed_twice_is_refused_before_training():
    # Its hooks would run twice an epoch: an EarlyStopping(patience=1) would stop after one
    # epoch.
    x, y = data()
    m = model()
    before = m.get_weights()
    stopper = EarlyStopping(monitor="loss", patience=1)
    with pytest.raises(ValueError, match=r"^callbacks\[2\] is callbacks\[0\] again \(the "
                                         r"same EarlyStopping object\): list each callback "
                                         r"once$"):
        m.fit(x, y, epochs=3, batch_size=BATCH, verbose=0,
              callbacks=[stopper, History(), stopper])
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights(), strict=True))


@pytest.mark.parametrize("callbacks, message", [
    ([EarlyStopping], r"callbacks\[0\] is the class EarlyStopping, not a callback: make "
                      r"one, EarlyStopping\(\.\.\.\)"),
    ((History(), print), r"callbacks\[1\] must be a Callback object \(an instance of a "
                         r"subclass of tinynet\.Callback\), got <built-in function print>"),
    (ProgressBar, r"callbacks is the class ProgressBar"),
    ("EarlyStopping", r"callbacks must be a list of Callback objects, got 'EarlyStopping'"),
])
def test_what_is_not_a_callback_is_refused_by_name_before_training(callbacks, message):
    x, y = data()
    m = model()
    before = m.get_weights()
    with pytest.raises(TypeError, match=message):
        m.fit(x, y, epochs=1, batch_size=BATCH, verbose=0, callbacks=callbacks)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights(), strict=True))


class RefuseToBeginEpoch(Callback):
    def on_epoch_begin(self, epoch, logs=None):
        raise ValueError("refused")


class TurnOnNesterov(Callback):
    def on_train_begin(self, logs=None):
        self.model.optimizer.momentum = 0.9
        self.model.optimizer.nesterov = True


@pytest.mark.parametrize("make, error", [
    (lambda folder: ModelCheckpoint(str(folder / "missing" / "e{epoch}.npz")),
     FileNotFoundError),
    (lambda folder: RefuseToBegin(), ValueError),
    (lambda folder: LearningRateScheduler(lambda epoch: -0.1), ValueError),  # epoch 0 begins
    (lambda folder: RefuseToBegin(KeyboardInterrupt), KeyboardInterrupt),  # Ctrl-C
    # The schedule sets lr = 0.5 before a later callback refuses the first epoch.
    (lambda folder: [LearningRateScheduler(lambda epoch: 0.5), RefuseToBeginEpoch()],
     ValueError),
    # Put back in declaration order, momentum = 0 would be refused while nesterov is on, and
    # that error would take the place of the callback's.
    (lambda folder: [TurnOnNesterov(), RefuseToBeginEpoch()], ValueError),
], ids=["checkpoint-folder", "on_train_begin", "schedule", "interrupted", "scheduled-then-refused",
        "nesterov-then-refused"])
def test_a_fit_refused_before_its_first_step_keeps_the_models_history(tmp_path, make, error):
    # A fit that put its new, empty History on the model before the callbacks began would,
    # refused there, lose the History of the fits before (or loaded with a checkpoint), which
    # a save or a resumed fit(initial_epoch=k) would then go without.
    x, y = data()
    m = model()
    history = m.fit(x, y, epochs=2, batch_size=BATCH, verbose=0)
    m.stop_training = True  # as a callback that ended that fit early leaves it
    logged = {key: list(values) for key, values in history.history.items()}
    rngs = [layer.rng for layer in m.layers]  # the last epoch's: dropout masks after training
    with pytest.raises(error):
        m.fit(x, y, epochs=2, batch_size=BATCH, verbose=0, callbacks=make(tmp_path))
    assert m.history is history and history.epoch == [0, 1] and history.history == logged
    assert all(layer.rng is rng for layer, rng in zip(m.layers, rngs, strict=True))
    assert m.stop_training is True
    assert m.steps_trained == 2 * STEPS and m.optimizer.lr == 0.1
    assert m.optimizer.momentum == 0.0 and m.optimizer.nesterov is False
    assert m.fit(x, y, epochs=3, batch_size=BATCH, verbose=0, initial_epoch=2).epoch == [0, 1, 2]


class TurnOffNesterov(Callback):
    def on_train_begin(self, logs=None):
        self.model.optimizer.nesterov = False
        self.model.optimizer.momentum = 0.0


def test_a_refused_fit_puts_back_nesterov_after_the_momentum_it_needs():
    # The other way round from the "nesterov-then-refused" case above: no one order of
    # setting them back works both ways (nesterov=True needs its momentum back first,
    # momentum=0 needs nesterov off first).
    x, y = data()
    m = model()
    m.compile(CrossEntropy(), SGD(0.1, momentum=0.9, nesterov=True))
    with pytest.raises(ValueError, match=r"^refused$"):
        m.fit(x, y, epochs=1, batch_size=BATCH, verbose=0,
              callbacks=[TurnOffNesterov(), RefuseToBeginEpoch()])
    assert (m.optimizer.momentum, m.optimizer.nesterov) == (0.9, True)


def test_a_refused_fit_raises_its_own_error_when_a_callback_took_a_layer_out():
    # Putting the layers' random streams back must not raise in place of the callback's
    # error: pairing the streams with a shorter list of layers would.
    class TakeOutAndRefuse(Callback):
        def on_train_begin(self, logs=None):
            self.model.layers.pop()
            raise RuntimeError("mine")

    x, y = data()
    m = model()
    with pytest.raises(RuntimeError, match=r"^mine$"):
        m.fit(x, y, epochs=1, batch_size=BATCH, verbose=0, callbacks=[TakeOutAndRefuse()])


def test_a_fit_that_fails_after_its_first_step_keeps_the_history_of_its_steps():
    # Only a fit refused before its first step puts the History before it back: one that
    # trained an epoch (which a ModelCheckpoint may have saved with its History) leaves the
    # History of the epochs it trained, beside the weights they changed.
    class FailInSecondEpoch(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise ValueError("refused")

    x, y = data()
    m = model()
    m.fit(x, y, epochs=2, batch_size=BATCH, verbose=0)
    with pytest.raises(ValueError, match="refused"):
        m.fit(x, y, epochs=3, batch_size=BATCH, verbose=0, callbacks=[FailInSecondEpoch()])
    assert m.history.epoch == [0] and m.steps_trained == 3 * STEPS


class StopAtEpoch1(Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            self.model.stop_training = True


class StopAtTheStart(Callback):
    def on_train_begin(self, logs=None):
        self.model.stop_training = True


@pytest.mark.parametrize("stop, epochs", [(StopAtEpoch1, [0, 1]), (StopAtTheStart, [])])
def test_stop_training_ends_after_the_current_epoch_or_before_the_first(stop, epochs):
    x, y = data()
    m = model()
    before = m.get_weights()
    history = m.fit(x, y, epochs=5, batch_size=BATCH, verbose=0, callbacks=[stop()])
    assert history.epoch == epochs
    assert m.steps_trained == len(epochs) * STEPS
    if not epochs:
        for w, w0 in zip(m.get_weights(), before, strict=True):
            np.testing.assert_array_equal(w, w0)


def test_history_keys_keep_the_order_of_the_logs():
    # Keras's order, loss first, so that printing history.history or history.json (which
    # tinynet train writes) reads the same from one run to the next.
    x, y = data()
    history = model().fit(x, y, epochs=1, batch_size=BATCH, verbose=0, validation_data=(x, y))
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    keys = [f"metric_{c}" for c in "hgfedcba"]  # too many for a set to keep the order by luck
    recorded = History()
    recorded.on_epoch_end(0, dict.fromkeys(keys, 1.0))
    assert list(recorded.history) == keys


def test_history_records_a_value_a_callback_adds_to_the_logs():
    # Keras's way to log a metric of one's own: set it in the epoch's logs. It must reach the
    # History (and so model.history and the curves), for every epoch, the last one included.
    class LogF1(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_f1"] = 0.5 + epoch

    class LogOnce(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                logs["note"] = 7.0

    x, y = data()
    m = model()
    history = m.fit(x, y, epochs=3, batch_size=BATCH, verbose=0, validation_data=(x, y),
                    callbacks=[LogF1(), LogOnce()])
    assert history.history["val_f1"] == [0.5, 1.5, 2.5]
    assert history.history["note"][1] == 7.0
    assert all(math.isnan(v) for v in history.history["note"][::2])
    assert list(history.history)[:4] == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert m.history is history


def test_history_skips_a_value_a_callback_adds_that_is_not_a_number():
    # Keras lets logs hold anything; History holds numbers (saved with the model), so a note
    # or an array is left out, not a TypeError when the next epoch begins.
    class Notes(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs.update(note="text", nothing=None, arr=np.ones(2), lr=np.float32(0.1))

    x, y = data()
    history = model().fit(x, y, epochs=2, batch_size=BATCH, verbose=0, callbacks=[Notes()])
    assert list(history.history) == ["loss", "accuracy", "lr"]
    assert history.history["lr"] == [pytest.approx(0.1)] * 2


def test_history_driven_by_hand_leaves_out_what_is_not_a_number():
    # As with values a callback adds later: the epoch is recorded, the note is not.
    history = History()
    # Nor a string of digits or a complex number, which plot_history would refuse.
    history.on_epoch_end(0, {"loss": 0.5, "note": "text", "arr": np.ones(2), "digits": "0.5",
                             "z": 1j, "flag": True})
    history.on_epoch_end(1, {"loss": np.float32(0.25), "acc": np.array(0.75)})
    assert list(history.history) == ["loss", "acc"] and history.epoch == [0, 1]
    assert history.history["loss"] == [0.5, 0.25]
    assert math.isnan(history.history["acc"][0]) and history.history["acc"][1] == 0.75


def test_a_callback_driven_by_hand_before_set_model_says_how_to_give_it_one():
    stopper = EarlyStopping("loss", patience=0)
    stopper.on_epoch_end(0, {"loss": 1.0})  # its state is there before on_train_begin
    assert stopper.best == 1.0 and stopper.wait == 0
    with pytest.raises(AttributeError, match=r"^EarlyStopping has no model yet: fit\(\.\.\., "
                                             r"callbacks=\[\.\.\.\]\) gives it the model it "
                                             r"trains; to call its hooks yourself, call "
                                             r"set_model\(model\) first$"):
        stopper.on_epoch_end(1, {"loss": 2.0})  # no better: it would stop the model
    assert not hasattr(Callback(), "model")
    m = model()
    stopper.set_model(m)
    stopper.on_epoch_end(2, {"loss": 2.0})
    assert stopper.model is m and m.stop_training and stopper.stopped_epoch == 2


def test_values_a_callback_adds_to_a_batchs_logs_stay_out_of_the_epochs():
    # The epoch's logs are fit's own values: a note written into the last batch's logs would
    # otherwise crash History ("could not convert string to float"), and a number would be
    # logged as if it were the epoch's.
    class BatchNotes(Callback):
        def on_batch_end(self, batch, logs=None):
            logs.update(note=f"batch {batch}", seen=batch)

    class EpochLogs(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.keys = sorted(logs)

    x, y = data()
    last = EpochLogs()
    history = model().fit(x, y, epochs=2, batch_size=BATCH, verbose=0,
                          callbacks=[BatchNotes(), last])
    assert list(history.history) == ["loss", "accuracy"]
    assert last.keys == ["accuracy", "loss"]


# ------------------------------------------------------------------------- EarlyStopping
def drive(stopper: EarlyStopping, values: list[float], m: Sequential | None = None,
          monitor: str = "val_loss") -> list[list[np.ndarray]]:
    """Feed ``values`` as ``logs[monitor]``, epoch by epoch, as fit would, with the weights
    of ``m`` (a fresh model by default) set to a different constant each epoch; stop when
    the callback says so. Returns the weights of each epoch."""
    m = model() if m is None else m
    stopper.set_model(m)
    m.stop_training = False
    stopper.on_train_begin()
    weights = []
    for epoch, value in enumerate(values):
        m.set_weights([np.full_like(w, epoch) for w in m.get_weights()])
        weights.append(m.get_weights())
        stopper.on_epoch_end(epoch, {"loss": 0.0, monitor: value})
        if m.stop_training:
            break
    stopper.on_train_end()
    return weights


VAL_LOSS = [1.0, 0.5, 0.6, 0.4, 0.45, 0.42, 0.41, 0.7, 0.8, 0.9, 1.0]


# (patience, the epoch it stops at, the best epoch), worked out by hand from VAL_LOSS: as in
# Keras, training stops at the `patience`-th epoch in a row that does not improve on the best.
@pytest.mark.parametrize("patience, stop, best", [(1, 2, 1), (2, 5, 3), (3, 6, 3), (4, 7, 3)])
def test_early_stopping_stops_after_patience_epochs_without_improvement(patience, stop, best):
    m = model()
    stopper = EarlyStopping(patience=patience, restore_best_weights=True)
    weights = drive(stopper, VAL_LOSS, m)
    assert stopper.stopped_epoch == stop
    assert len(weights) == stop + 1
    assert stopper.best == VAL_LOSS[best] and stopper.best_epoch == best
    for w, w_best in zip(m.get_weights(), weights[best], strict=True):
        np.testing.assert_array_equal(w, w_best)


def test_early_stopping_patience_0_stops_at_the_first_worse_epoch():
    m = model()
    stopper = EarlyStopping(patience=0)
    weights = drive(stopper, [1.0, 0.9, 0.95, 0.5], m)
    assert stopper.stopped_epoch == 2 and len(weights) == 3
    for w in m.get_weights():  # restore_best_weights=False keeps the last weights
        assert np.all(w == 2)


def test_early_stopping_min_delta_mode_and_monitor():
    m = model()
    stopper = EarlyStopping(monitor="val_loss", patience=1, min_delta=0.1)
    drive(stopper, [1.0, 0.95, 0.92, 0.5], m)  # 0.95 and 0.92 are not 0.1 better
    assert stopper.stopped_epoch == 1
    assert EarlyStopping(monitor="val_accuracy").mode == "max"
    assert EarlyStopping(monitor="loss").mode == "min"
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="best")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(KeyError, match="val_accuracy"):
        drive(EarlyStopping(monitor="val_accuracy"), [1.0], m)


def test_early_stopping_in_max_mode_counts_only_gains_of_min_delta():
    # Accuracy is maximised: an epoch improves only by beating the best by min_delta. Here
    # 0.58 is 0.08 above 0.5, not 0.1, so with patience 1 epoch 1 is the last.
    m = model()
    m.stop_training = False
    stopper = EarlyStopping(monitor="val_accuracy", patience=1, min_delta=0.1)
    stopper.set_model(m)
    stopper.on_train_begin()
    for epoch, value in enumerate([0.5, 0.58, 0.65, 0.7]):
        stopper.on_epoch_end(epoch, {"val_accuracy": value})
        if m.stop_training:
            break
    assert stopper.stopped_epoch == 1
    assert stopper.best == 0.5 and stopper.best_epoch == 0


# (baseline, patience, the epoch it stops at, the best epoch), by hand from VAL_LOSS. No
# epoch beats 0.45 before epoch 3: with patience 2, epochs 0 and 1 count towards it although
# each improves on the best, so training stops at epoch 2, the first that does not, and the
# best of those is restored, as Keras does. With patience 4 epoch 3 beats the baseline in
# time, and from there on it is as without one.
@pytest.mark.parametrize("baseline, patience, stop, best", [(0.45, 2, 2, 1), (0.45, 4, 7, 3),
                                                            (0.3, 3, 2, 1)])
def test_early_stopping_stops_when_no_epoch_beats_the_baseline_within_patience(
        baseline, patience, stop, best):
    m = model()
    stopper = EarlyStopping(patience=patience, baseline=baseline, restore_best_weights=True)
    weights = drive(stopper, VAL_LOSS, m)
    assert stopper.stopped_epoch == stop
    assert stopper.best == VAL_LOSS[best] and stopper.best_epoch == best
    for w, w_best in zip(m.get_weights(), weights[best], strict=True):
        np.testing.assert_array_equal(w, w_best)


def test_early_stopping_never_stops_at_an_epoch_that_improves_on_the_best():
    """As Keras's: an epoch better than all before it, even one short of the baseline,
    does not end training; one that did would stop at epoch 0 here, whatever came next."""
    stopper = EarlyStopping(patience=1, baseline=0.1)
    drive(stopper, [1.0, 0.9, 0.8, 0.7, 0.75, 0.6])
    assert (stopper.stopped_epoch, stopper.best, stopper.best_epoch) == (4, 0.7, 3)


def test_early_stopping_baseline_in_max_mode_must_be_beaten_by_min_delta():
    # 0.7 beats epoch 0 by 0.2, but the baseline 0.65 by less than min_delta: the patience
    # is not reset, and with patience 3 epoch 2 (0.72, no gain of 0.1 on 0.7) is the last.
    m = model()
    m.stop_training = False
    stopper = EarlyStopping(monitor="val_accuracy", patience=3, min_delta=0.1, baseline=0.65)
    stopper.set_model(m)
    stopper.on_train_begin()
    for epoch, value in enumerate([0.5, 0.7, 0.72, 0.71, 0.7]):
        stopper.on_epoch_end(epoch, {"val_accuracy": value})
        if m.stop_training:
            break
    assert stopper.stopped_epoch == 2
    assert stopper.best == 0.7 and stopper.best_epoch == 1


def test_early_stopping_in_fit_restores_the_best_weights():
    x, y = data()
    x_val, y_val = data(1, 30)
    y_val = 1 - y_val  # validation labels flipped: learning makes val_loss worse
    m = model()

    class Snapshots(Callback):
        def __init__(self):
            super().__init__()
            self.weights = []

        def on_epoch_end(self, epoch, logs=None):
            self.weights.append(self.model.get_weights())

    snapshots = Snapshots()
    stopper = EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = m.fit(x, y, epochs=30, batch_size=BATCH, validation_data=(x_val, y_val),
                    verbose=0, callbacks=[snapshots, stopper])
    val_loss = history.history["val_loss"]
    best = int(np.argmin(val_loss))
    assert len(val_loss) < 30  # it stopped early
    assert len(val_loss) == best + 2 + 1
    for w, w_best in zip(m.get_weights(), snapshots.weights[best], strict=True):
        np.testing.assert_array_equal(w, w_best)


def test_early_stopping_verbose_1_says_when_it_stops_and_which_epoch_it_restores(capsys):
    # Keras's lines, epochs counted from 1 as the progress output counts them: with patience
    # 2 on VAL_LOSS, training stops at epoch index 5 and the best is index 3.
    drive(EarlyStopping(patience=2, restore_best_weights=True, verbose=1), VAL_LOSS, model())
    assert capsys.readouterr().out.splitlines() == [
        "Epoch 6: early stopping",
        "Restoring model weights from the end of the best epoch: 4."]
    # Not stopped (the run ended first), the weights restored all the same: one line.
    drive(EarlyStopping(patience=2, restore_best_weights=True, verbose=1), VAL_LOSS[:4],
          model())
    assert capsys.readouterr().out == ("Restoring model weights from the end of the best "
                                       "epoch: 4.\n")
    # Stopped without restoring: the other line alone.
    drive(EarlyStopping(patience=2, verbose=1), VAL_LOSS, model())
    assert capsys.readouterr().out == "Epoch 6: early stopping\n"


def test_early_stopping_without_restore_best_weights_keeps_the_last_epochs_weights():
    # Nor does it warn that the best epoch's weights are not restored: it was not asked to.
    m = model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weights = drive(EarlyStopping(patience=2), VAL_LOSS, m)
    assert len(weights) == 6  # stopped at epoch index 5; the best was index 3
    for w, w_last in zip(m.get_weights(), weights[-1], strict=True):
        np.testing.assert_array_equal(w, w_last)


def test_early_stopping_is_silent_by_default(capsys):
    drive(EarlyStopping(patience=2, restore_best_weights=True), VAL_LOSS, model())
    drive(EarlyStopping(patience=2, restore_best_weights=True, verbose=0), VAL_LOSS, model())
    assert capsys.readouterr().out == ""


def test_early_stopping_prints_after_the_last_epochs_progress_line(capsys):
    x, y = data()
    x_val, y_val = data(1, 30)
    stopper = EarlyStopping(monitor="val_loss", patience=1, verbose=1)
    history = model().fit(x, y, epochs=30, batch_size=BATCH, verbose=2,
                          validation_data=(x_val, 1 - y_val), callbacks=[stopper])
    last = len(history.epoch)
    assert last < 30
    lines = capsys.readouterr().out.splitlines()
    assert lines[-3] == f"Epoch {last}/30"
    assert lines[-2].startswith(f"{STEPS}/{STEPS} - ")
    assert lines[-1] == f"Epoch {last}: early stopping"


def test_a_schedule_of_the_epoch_alone_works_as_in_keras():
    # Keras's tutorials write LearningRateScheduler(lambda epoch: ...), without the rate.
    rates = []

    class Rates(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            rates.append(self.model.optimizer.lr)

    x, y = data()
    model().fit(x, y, epochs=3, batch_size=BATCH, verbose=0,
                callbacks=[LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1)), Rates()])
    assert rates == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_the_scheduler_logs_each_epochs_rate_as_lr_so_the_history_holds_it():
    # Keras 2 code reads history.history["lr"]; a callback after the scheduler sees it in
    # the epoch's logs, as in Keras.
    seen = []

    class Seen(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(logs["lr"])

    x, y = data()
    m = model()
    history = m.fit(x, y, epochs=3, batch_size=BATCH, verbose=0, validation_data=(x, y),
                    callbacks=[LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1)), Seen()])
    rates = [0.1, 0.05, 0.1 / 3]
    assert seen == pytest.approx(rates)
    assert history.history["lr"] == pytest.approx(rates)  # the last epoch's too
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert m.history is history


def test_the_scheduler_refuses_a_metric_named_lr_before_any_training():
    # The rate, logged as "lr", silently replaced the metric's value in every epoch.
    def lr(y_pred, y_true):
        return 0.5

    x, y = data()
    m = model()
    m.compile(CrossEntropy(), SGD(0.1), metrics=[lr])
    before = m.get_weights()
    with pytest.raises(ValueError, match=r"^LearningRateScheduler: the learning rate is "
                                         r"logged as 'lr', the name of one of the model's "
                                         r"metrics; give the metric another name"):
        m.fit(x, y, epochs=1, batch_size=BATCH, verbose=0,
              callbacks=[LearningRateScheduler(lambda epoch: 0.1)])
    for w, w0 in zip(m.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)


class LogsLr(Callback):
    """Logs ``value`` as "lr" at the end of each epoch, as a callback of a user's might."""

    def __init__(self, value=None):
        super().__init__()
        self.value = value

    def on_epoch_end(self, epoch, logs=None):
        logs["lr"] = self.model.optimizer.lr if self.value is None else self.value


def test_the_scheduler_refuses_another_value_logged_as_lr_before_it():
    x, y = data()
    with pytest.raises(ValueError, match=r"^LearningRateScheduler: the learning rate \(0\.1\) "
                                         r"is logged as 'lr', but a callback before the "
                                         r"scheduler in the callbacks list logged lr=0\.5 at "
                                         r"epoch 1; give that value another name$"):
        model().fit(x, y, epochs=1, batch_size=BATCH, verbose=0,
                    callbacks=[LogsLr(0.5), LearningRateScheduler(lambda epoch: 0.1)])
    # A callback that logs the rate too (as Keras 2's ReduceLROnPlateau does) agrees with it.
    history = model().fit(x, y, epochs=2, batch_size=BATCH, verbose=0,
                          callbacks=[LogsLr(), LearningRateScheduler(lambda epoch: 0.1)])
    assert history.history["lr"] == [0.1, 0.1]


@pytest.mark.parametrize("schedule, rates", [
    (np.exp, [1.0, math.e, math.e**2]),                        # exp(epoch)
    (functools.partial(np.power, 0.5), [1.0, 0.5, 0.25]),      # 0.5**epoch
    (np.fmax, [0.1, 1.0, 2.0]),                                # fmax(epoch, lr)
])
def test_a_numpy_ufunc_schedule_gets_as_many_arguments_as_it_has_inputs(schedule, rates):
    # A ufunc's signature also lists its output array, so exp(x, out=None) looks like a
    # schedule of (epoch, lr): called so, np.exp(epoch, lr) would fail, lr taken for `out`.
    assert scheduled_rates(schedule) == pytest.approx(rates)


@pytest.mark.parametrize("make, error, match", [
    (lambda: EarlyStopping(monitor=None), ValueError, r"monitor must be the name .*got None"),
    (lambda: EarlyStopping(min_delta=float("nan")), ValueError,
     r"EarlyStopping: min_delta must be a finite number, got nan"),
    # Taken, a complex number would lose its imaginary part with only a NumPy warning.
    (lambda: EarlyStopping(min_delta=np.complex128(0.1 + 1j)), ValueError,
     r"EarlyStopping: min_delta must be a finite number, got np.complex128\(0.1\+1j\)"),
    (lambda: EarlyStopping(patience=-1), ValueError, r"patience must be an int >= 0"),
    (lambda: EarlyStopping(mode="maximum"), ValueError,
     r"EarlyStopping: mode must be 'auto', 'min' or 'max', got 'maximum'"),
    (lambda: ModelCheckpoint("m.npz", mode="Max"), ValueError,
     r"ModelCheckpoint: mode must be 'auto', 'min' or 'max', got 'Max'"),
    # A string is truthy: "False" would restore the best weights, or save only the best.
    (lambda: EarlyStopping(restore_best_weights="False"), TypeError,
     r"EarlyStopping: restore_best_weights must be True or False, got 'False'"),
    # No epoch beats a NaN or an infinite baseline; a string is no number to compare with.
    (lambda: EarlyStopping(baseline=float("nan")), ValueError,
     r"EarlyStopping: baseline must be a finite number, got nan"),
    (lambda: EarlyStopping(baseline=-math.inf), ValueError,
     r"EarlyStopping: baseline must be a finite number, got -inf"),
    (lambda: EarlyStopping(baseline="0.9"), ValueError,
     r"EarlyStopping: baseline must be a finite number, got '0.9'"),
    (lambda: EarlyStopping(baseline=True), ValueError,
     r"EarlyStopping: baseline must be a finite number, got True"),
    # Keras's levels are 0 and 1 (True and False are taken, as fit takes them); a 2 would
    # read as a level that does not exist, a string as 1.
    (lambda: EarlyStopping(verbose=2), ValueError, r"EarlyStopping: verbose must be 0 or 1, "
     r"got 2"),
    (lambda: EarlyStopping(verbose="1"), ValueError, r"EarlyStopping: verbose must be 0 or 1, "
     r"got '1'"),
    (lambda: ModelCheckpoint("m.npz", verbose=1.0), ValueError,  # a float is no level
     r"ModelCheckpoint: verbose must be 0 or 1, got 1.0"),
    (lambda: ModelCheckpoint("m.npz", verbose="no"), ValueError,
     r"ModelCheckpoint: verbose must be 0 or 1, got 'no'"),
    (lambda: LearningRateScheduler(lambda epoch: 0.1, verbose=2), ValueError,
     r"LearningRateScheduler: verbose must be 0 or 1, got 2"),
    (lambda: ModelCheckpoint("m.npz", save_best_only="no"), TypeError,
     r"ModelCheckpoint: save_best_only must be True or False, got 'no'"),
    # str() would make an unset option into "None.npz" and bytes into "b'm.npz'.npz"; ""
    # would be refused by model.save, after the first epoch's training.
    *[(lambda path=path: ModelCheckpoint(path), TypeError,
       rf"^ModelCheckpoint: filepath must be a file name or template such as "
       rf"'ckpt/epoch{{epoch:02d}}\.npz' \(a str or a pathlib\.Path\), got {shown}$")
      for path, shown in ((None, "None"), (7, "7"), (b"m.npz", "b'm\\.npz'"),
                          (BytesPath(), r"BytesPath\(\)"))],
    (lambda: ModelCheckpoint(""), ValueError,
     r"^ModelCheckpoint: filepath must be a file name or template .*, got ''$"),
    (lambda: LearningRateScheduler(0.1), TypeError, r"schedule must be a function "
     r"schedule\(epoch, lr\) -> lr or schedule\(epoch\) -> lr, got 0\.1$"),
    (lambda: LearningRateScheduler(lambda: 0.1), TypeError,
     r"schedule must be a function .*takes neither \(epoch, lr\) nor \(epoch\)"),
    # Python cannot read max's signature: taking it for (epoch, lr) would be a guess.
    (lambda: LearningRateScheduler(max), TypeError, r"cannot tell whether schedule <built-in "
     r"function max> takes \(epoch, lr\) or \(epoch\): its signature cannot be read"),
    (lambda: exponential_decay(0.1, 0.0), ValueError, r"rate must be a number in \(0.0, inf\)"),
    (lambda: exponential_decay(float("inf"), 0.9), ValueError, r"initial_lr must be a number in"),
])
def test_bad_callback_arguments_are_refused_when_made(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_a_checkpoint_named_by_the_rate_says_to_put_the_scheduler_first(tmp_path):
    # The scheduler logs "lr" when the epoch ends, after the callbacks listed before it.
    x, y = data()
    checkpoint = ModelCheckpoint(str(tmp_path / "m{lr:.3f}.npz"))
    schedule = LearningRateScheduler(lambda epoch: 0.1)
    with pytest.raises(KeyError, match=r"uses 'lr', which is not among the logs .*; the "
                                       r"LearningRateScheduler logs it: put it before this "
                                       r"ModelCheckpoint in the callbacks"):
        model().fit(x, y, epochs=1, verbose=0, callbacks=[checkpoint, schedule])
    model().fit(x, y, epochs=1, verbose=0, callbacks=[schedule, checkpoint])
    assert (tmp_path / "m0.100.npz").is_file()


@pytest.mark.parametrize("callback", [EarlyStopping(monitor="val_loss"),
                                      ModelCheckpoint("m.npz", save_best_only=True)])
def test_a_monitor_missing_from_the_logs_is_named_with_the_keys_there_are(callback):
    with pytest.raises(KeyError, match=rf"{type(callback).__name__}: monitor 'val_loss' is not "
                                       r"among the logs \['accuracy', 'loss'\] \(val_ metrics "
                                       r"need validation_data\)"):
        callback.on_epoch_end(0, {"loss": 0.5, "accuracy": 0.9})


@pytest.mark.parametrize("callback", [EarlyStopping(monitor="val_accuracy"),
                                      ModelCheckpoint("m.npz", monitor="val_accuracy",
                                                      save_best_only=True)])
def test_a_monitor_under_another_name_than_compiles_is_named_as_such(callback):
    # compile(metrics=["acc"]) logs "acc" and "val_acc", as Keras does: monitoring
    # "val_accuracy" misses them, and validation data is there, so it is not the reason.
    with pytest.raises(KeyError) as missing:
        callback.on_epoch_end(0, {"loss": 0.5, "acc": 0.9, "val_loss": 0.6, "val_acc": 0.8})
    message = str(missing.value)
    assert "monitor 'val_accuracy' is not among the logs ['acc', 'loss', 'val_acc', " in message
    assert ("the logs hold the loss and the metrics compile was given, under the names given: "
            "metrics=['acc'] logs acc and val_acc; did you mean 'val_acc'?") in message
    assert "validation_data" not in message
    with pytest.raises(KeyError, match=r"; did you mean 'val_accuracy'\?"):
        EarlyStopping(monitor="val_acc").on_epoch_end(0, {"loss": 0.5, "val_accuracy": 0.8})


@pytest.mark.parametrize("make, match", [
    (lambda tmp: EarlyStopping(), r"EarlyStopping: monitor 'val_loss' needs validation data, "
     r"and fit was given none: pass fit validation_data=\(x_val, y_val\) or "
     r"validation_split=0\.1, or monitor 'loss'$"),
    (lambda tmp: ModelCheckpoint(tmp / "m.npz", monitor="val_accuracy", save_best_only=True),
     r"ModelCheckpoint: monitor 'val_accuracy' needs validation data, .*monitor 'accuracy'$"),
    (lambda tmp: ModelCheckpoint(str(tmp / "e{epoch}-{val_loss:.2f}.npz")),
     r"ModelCheckpoint: filepath '.*e\{epoch\}-\{val_loss:\.2f\}\.npz' uses 'val_loss', "
     r"which needs validation data, and fit was given none: .*, or use 'loss'$"),
], ids=["early-stopping", "checkpoint-monitor", "checkpoint-template"])
def test_a_val_value_in_a_fit_without_validation_data_is_refused_before_training(
        tmp_path, make, match):
    # The epoch's logs will lack it: found at the epoch's end, it would cost an epoch's
    # training.
    m, (x, y) = model(), data()
    before = m.get_weights()
    with pytest.raises(ValueError, match=match):
        m.fit(x, y, epochs=2, batch_size=BATCH, verbose=0, callbacks=[make(tmp_path)])
    assert m.steps_trained == 0 and all(
        np.array_equal(a, b) for a, b in zip(before, m.get_weights(), strict=True))
    assert not list(tmp_path.iterdir())


def test_a_val_value_that_fit_does_not_log_is_left_to_the_callbacks_before(tmp_path):
    # A val_ name fit never logs may come from a callback listed before the one that reads it
    # (one that scores the epoch on data of its own, say), so it is not refused.
    class ValF1(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_f1"] = 0.5 + epoch / 10

    m, (x, y) = model(), data()
    stopper = EarlyStopping(monitor="val_f1", mode="max", patience=0)
    saver = ModelCheckpoint(str(tmp_path / "f1-{val_f1:.1f}.npz"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nor warned of: it is like no name fit logs
        m.fit(x, y, epochs=2, batch_size=BATCH, verbose=0, callbacks=[ValF1(), stopper, saver])
    assert stopper.best == 0.6 and sorted(p.name for p in tmp_path.iterdir()) == [
        "f1-0.5.npz", "f1-0.6.npz"]
    # With validation data, fit's own val_ values pass, and params names what it logs.
    stopper = EarlyStopping(patience=5)
    m.fit(x, y, epochs=1, batch_size=BATCH, verbose=0, validation_split=0.2,
          callbacks=[stopper])
    assert stopper.params["metrics"] == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert stopper.best_epoch == 0


@pytest.mark.parametrize("make, subject", [
    (lambda tmp: EarlyStopping("val_acc"), "EarlyStopping: monitor 'val_acc'"),
    (lambda tmp: ModelCheckpoint(str(tmp / "{val_acc:.2f}.npz")),
     r"ModelCheckpoint: filepath '.*\{val_acc:\.2f\}\.npz' uses 'val_acc', which"),
    (lambda tmp: ModelCheckpoint(tmp / "m.npz", monitor="accuracyy", save_best_only=True),
     "ModelCheckpoint: monitor 'accuracyy'"),
    (lambda tmp: EarlyStopping("Val_Accuracy"), "EarlyStopping: monitor 'Val_Accuracy'"),
    (lambda tmp: EarlyStoppingOfOnesOwn("val_acc"), "EarlyStoppingOfOnesOwn: monitor 'val_acc'"),
    # The template's own name, slipped: else the first epoch's work is lost for it.
    (lambda tmp: ModelCheckpoint(str(tmp / "e{epochs}.npz")),
     r"ModelCheckpoint: filepath '.*e\{epochs\}\.npz' uses 'epochs', which"),
    (lambda tmp: ModelCheckpoint(str(tmp / "e{Epoch}.npz")),
     r"ModelCheckpoint: filepath '.*e\{Epoch\}\.npz' uses 'Epoch', which"),
], ids=["early-stopping", "checkpoint-template", "checkpoint-monitor", "case", "subclass",
        "epochs", "Epoch"])
def test_a_name_close_to_one_fit_logs_is_warned_of_when_training_begins(tmp_path, make, subject):
    # Keras 2's val_acc: a slip, more likely than another callback's name, which would only
    # fail at the end of the first epoch. Warned of at the first line outside tinynet: the
    # one calling fit, or a callback's own that calls the one warning.
    m, (x, y) = model(), data()
    meant = "epoch" if "poch" in subject else "(val_)?accuracy"
    message = (rf"^{subject} is not among the values fit logs \['loss', 'accuracy', "
               rf"'val_loss', 'val_accuracy'\]: did you mean '{meant}'\? \(Unless a ")
    fit_line = inspect.currentframe().f_lineno + 3
    with pytest.warns(UserWarning, match=message) as w:
        with pytest.raises(KeyError):
            m.fit(x, y, epochs=1, batch_size=BATCH, verbose=0, validation_split=0.2,
                  callbacks=[make(tmp_path)])
    assert w[0].filename == __file__
    assert w[0].lineno == (EarlyStoppingOfOnesOwn.LINE if "OnesOwn" in subject else fit_line)


class EarlyStoppingOfOnesOwn(EarlyStopping):
    LINE = inspect.currentframe().f_lineno + 3

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)


def test_a_name_merely_close_to_one_fit_logs_is_not_warned_of(tmp_path):
    # val_auc, logged by a callback before, is as close to val_accuracy as difflib goes: it
    # is no slip, and under -W error a warning would fail a working fit.
    class ValAuc(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_auc"] = 0.5 + epoch / 10

    m, (x, y) = model(), data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.fit(x, y, epochs=2, batch_size=BATCH, verbose=0, validation_split=0.2,
              callbacks=[ValAuc(), EarlyStopping("val_auc", mode="max")])


def test_a_template_field_a_float_lacks_is_refused_when_made():
    for filepath in ("e{loss.x}.npz", "e{loss[0]}.npz"):
        with pytest.raises(ValueError, match=rf"ModelCheckpoint: filepath '{re.escape(filepath)}' "
                                             r"is not a valid template: "):
            ModelCheckpoint(filepath)


def test_callbacks_take_true_and_false_for_verbose_as_fit_does():
    for make in (EarlyStopping, lambda verbose: ModelCheckpoint("m.npz", verbose=verbose),
                 lambda verbose: LearningRateScheduler(lambda epoch: 0.1, verbose=verbose)):
        levels = [make(verbose=v).verbose for v in (True, False, np.int64(1))]
        assert levels == [1, 0, 1] and all(type(level) is int for level in levels)


def test_numpy_numbers_are_a_patience_a_verbose_and_a_baseline():
    assert EarlyStopping(patience=np.int64(2)).patience == 2
    assert EarlyStopping(verbose=np.int64(1)).verbose == 1
    assert EarlyStopping(baseline=np.float32(0.5)).baseline == 0.5
    assert EarlyStopping(baseline=1).baseline == 1.0


@pytest.mark.parametrize("key", ["val_loss", "val_accuracy"])
def test_early_stopping_takes_an_epoch_that_only_equals_the_best_for_no_improvement(key):
    # As Keras compares (strictly, np.less and np.greater): a val_accuracy stuck at one
    # value, common on a small validation set, runs out of patience instead of resetting it
    # every epoch, and the best epoch stays the first that reached the value.
    stopper = EarlyStopping(monitor=key, patience=2)
    drive(stopper, [0.8] * 5, monitor=key)
    assert stopper.stopped_epoch == 2
    assert stopper.best == 0.8 and stopper.best_epoch == 0


@pytest.mark.parametrize("key", ["val_loss", "val_accuracy"])  # min mode and max mode
def test_early_stopping_counts_epochs_whose_value_is_nan_towards_the_patience(key):
    # NaN improves on nothing, not even on no epoch at all: a run whose validation loss is
    # NaN from the start stops after its patience.
    stopper = EarlyStopping(monitor=key, patience=2)
    drive(stopper, [math.nan] * 4, monitor=key)
    assert stopper.stopped_epoch == 1 and stopper.best_epoch is None
    # nor on an epoch before it: the best stays that epoch's
    stopper = EarlyStopping(monitor=key, patience=2)
    drive(stopper, [0.5, math.nan, math.nan, math.nan], monitor=key)
    assert stopper.stopped_epoch == 2 and stopper.best == 0.5 and stopper.best_epoch == 0


def test_early_stopping_takes_min_delta_of_either_sign():
    # As in Keras: min_delta=-0.1 is min_delta=0.1, never a licence to get worse.
    for min_delta in (0.1, -0.1):
        stopper = EarlyStopping(patience=1, min_delta=min_delta)
        drive(stopper, [1.0, 0.95, 1.2, 0.5])
        assert stopper.min_delta == 0.1
        assert stopper.stopped_epoch == 1 and stopper.best_epoch == 0


def test_early_stopping_used_for_a_second_fit_forgets_where_the_first_stopped(capsys):
    stopper = EarlyStopping(patience=1, verbose=1)
    drive(stopper, [1.0, 2.0])
    assert stopper.stopped_epoch == 1
    assert capsys.readouterr().out == "Epoch 2: early stopping\n"
    drive(stopper, [1.0, 0.9, 0.8])  # improves every epoch: never stopped
    assert stopper.stopped_epoch is None
    assert capsys.readouterr().out == ""


def test_early_stopping_used_for_a_second_fit_starts_its_patience_again():
    # Against a baseline no epoch beats, the patience runs from the first epoch of each fit:
    # a count carried over from the first would stop the second one epoch early.
    stopper = EarlyStopping(patience=3, baseline=0.1)
    for _ in range(2):
        drive(stopper, [1.0] * 5)
        assert stopper.stopped_epoch == 2


def test_a_checkpoint_used_for_a_second_fit_keeps_the_best_of_the_first(tmp_path):
    # As its docstring says, and as Keras's does: a worse second fit does not overwrite the
    # best model of the first.
    path = tmp_path / "best.npz"
    checkpoint = ModelCheckpoint(path, save_best_only=True)
    drive(checkpoint, [0.5, 0.4])  # epoch 1's weights, all 1, are the best
    drive(checkpoint, [0.9])  # weights all 0, worse
    assert (checkpoint.best, checkpoint.best_epoch) == (0.4, 1)
    assert all((w == 1).all() for w in load_model(path).get_weights())


def test_keras_2s_val_acc_is_maximised_in_mode_auto():
    # compile(metrics=["acc"]) logs val_acc: "auto" must read it as an accuracy, whose larger
    # values are better, as it reads val_accuracy.
    stopper = EarlyStopping(monitor="val_acc", patience=0)
    drive(stopper, [0.5, 0.6, 0.7], monitor="val_acc")
    assert stopper.stopped_epoch is None and stopper.best_epoch == 2
    assert ModelCheckpoint("m.npz", monitor="val_acc").mode == "max"
    assert ModelCheckpoint("m.npz", monitor="val_loss").mode == "min"


def test_mode_auto_reads_metric_names_in_any_case_as_compile_takes_them():
    # compile(metrics=["Accuracy"]) logs val_Accuracy (and "MSE", val_MSE).
    m = model()
    m.compile(CrossEntropy(), SGD(0.1), metrics=["Accuracy"])
    x, y = data()
    history = m.fit(x, y, epochs=1, batch_size=BATCH, verbose=0, validation_data=(x, y))
    assert "val_Accuracy" in history.history
    for monitor, mode in [("val_Accuracy", "max"), ("val_MSE", "min"), ("Val_Loss", "min")]:
        assert EarlyStopping(monitor=monitor).mode == mode
        assert ModelCheckpoint("m.npz", monitor=monitor).mode == mode


@pytest.mark.parametrize("monitor", ["val_f1", "precision", "val_top2"])
def test_mode_auto_refuses_a_metric_whose_direction_it_cannot_tell(monitor):
    # An F1 score taken for a loss would stop the run as it improved, and restore its worst
    # epoch's weights.
    for make in (lambda **kw: EarlyStopping(**kw),
                 lambda **kw: ModelCheckpoint("m.npz", save_best_only=True, **kw)):
        with pytest.raises(ValueError, match=rf"mode='auto' cannot tell whether a larger or a "
                                             rf"smaller '{monitor}' is better .*: pass "
                                             rf"mode='max' or mode='min'$"):
            make(monitor=monitor)
        assert make(monitor=monitor, mode="max").mode == "max"
    # Saving every epoch compares nothing: no direction is needed.
    ModelCheckpoint("m.npz", monitor=monitor)
    for name, mode in [("val_mae", "min"), ("mean_absolute_error", "min"), ("val_mse", "min"),
                       ("val_my_loss", "min"), ("val_sparse_categorical_accuracy", "max")]:
        assert EarlyStopping(monitor=name).mode == mode


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adam"])
def test_a_warm_up_from_a_rate_of_0_trains_from_its_second_epoch(optimizer):
    # Keras's linear warm-up, lr * epoch / k, starts at 0: with a rate of 0 refused as <= 0,
    # it could not be written.
    m, (x, y) = model(), data()
    m.compile(CrossEntropy(), optimizer)
    start = m.get_weights()
    history = m.fit(x, y, epochs=1, batch_size=BATCH, verbose=0,
                    callbacks=[LearningRateScheduler(lambda epoch: 0.01 * epoch)])
    assert history.history["lr"] == [0.0] and m.steps_trained == STEPS
    assert all(np.array_equal(a, b) for a, b in zip(start, m.get_weights(), strict=True))
    m.fit(x, y, epochs=2, batch_size=BATCH, verbose=0, initial_epoch=1,
          callbacks=[LearningRateScheduler(lambda epoch: 0.01 * epoch)])
    assert m.optimizer.lr == 0.01
    assert not any(np.array_equal(a, b) for a, b in zip(start, m.get_weights(), strict=True))


def test_the_scheduler_refuses_a_rate_that_is_infinite_or_negative_or_not_a_number():
    # Unchecked, None and an array would fail in float() with words naming neither the
    # schedule nor the epoch, and the string "0.5" would be taken.
    m = model()
    for bad in (math.inf, math.nan, -0.1, None, "0.5", True, np.array([0.1, 0.2])):
        scheduler = LearningRateScheduler(functools.partial(lambda rate, epoch: rate, bad))
        scheduler.set_model(m)
        with pytest.raises(ValueError, match=rf"^LearningRateScheduler: the schedule's lr for "
                                             rf"epoch 0 must be a number in \[0.0, inf\), got "
                                             rf"{re.escape(repr(bad))}$"):
            scheduler.on_epoch_begin(0)
        assert m.optimizer.lr == 0.1
    for good in (0.5, np.float32(0.25), 1, np.where(True, 0.125, 1.0), 0.0):
        scheduler = LearningRateScheduler(functools.partial(lambda rate, epoch: rate, good))
        scheduler.set_model(m)
        scheduler.on_epoch_begin(0)
        assert m.optimizer.lr == good and type(m.optimizer.lr) is float


def test_a_schedule_whose_lr_has_a_default_is_given_the_rate():
    # Keras calls schedule(epoch, lr) whenever the schedule takes it: a default for lr (to
    # call the function by hand) does not make it a schedule of the epoch alone.
    def halve(epoch, lr=1.0):
        return lr / 2

    assert scheduled_rates(halve) == [0.05, 0.025, 0.0125]


@pytest.mark.parametrize("seconds, steps, timing", [
    (0.9996, 1, "1s 1s/step"),        # not "1000ms 1000ms/step"
    (0.9996, 1000, "1s 1ms/step"),    # not "1000ms 1000us/step"
    (0.4, 1000, "0s 400us/step"),     # the epoch in whole seconds, the step precise
    (0.0, 1000, "0s 0us/step"),       # a clock that did not tick
    (2.5, 1000, "2s 2ms/step"),
    (75.0, 100, "75s 750ms/step"),    # the epoch's time in seconds past a minute too
])
def test_progress_timings_are_whole_seconds_and_a_step_rounds_into_the_next_unit(
        seconds, steps, timing, monkeypatch):
    # A step under a second is written in ms, under a ms in us: a time that rounds to 1000
    # of the smaller unit is one of the larger, as Keras writes it.
    clock = iter([0.0, seconds])
    monkeypatch.setattr("tinynet.callbacks.time.perf_counter", lambda: next(clock))
    stream = io.StringIO()
    bar = ProgressBar(1, stream=stream)
    bar.set_params({"epochs": 1, "steps": steps})
    bar.on_epoch_begin(0)
    bar.on_epoch_end(0, {"loss": 0.5})
    assert stream.getvalue().endswith(f"] - {timing} - loss: 0.5000\n")


@pytest.mark.parametrize("seconds, eta", [
    (0.097, "0s"), (0.6, "1s"), (59.4, "59s"), (59.6, "1:00"), (312.2, "5:12"), (3599.6, "1:00:00"),
    (3725, "1:02:05"), (36000, "10:00:00"),
])
def test_the_time_left_is_written_in_minutes_and_hours_past_a_minute(seconds, eta):
    # As Keras's bar writes it: "ETA: 5:12", not "ETA: 312s"; whole seconds below.
    assert callbacks._format_eta(seconds) == eta


class Interrupt(Callback):
    """Ctrl-C (or any error) in the middle of an epoch: after its second batch."""

    def on_batch_end(self, batch, logs=None):
        if batch == 1:
            raise KeyboardInterrupt


def test_a_run_stopped_mid_epoch_ends_the_live_bar_line(monkeypatch):
    # Left without its newline, the bar of the epoch's first batch would run into the error
    # the program prints next: "  1/4 [=====>...] - ETA: 0s - loss: 0.6931tinynet: interrupted".
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    x, y = data()
    with pytest.raises(KeyboardInterrupt):
        model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=1, callbacks=[Interrupt()])
    out = terminal.getvalue()
    assert "\r" in out and out.endswith("\n") and out.count("\n") == 2, repr(out)


def test_a_run_stopped_mid_epoch_adds_no_line_where_none_is_open(capsys):
    x, y = data()
    for verbose in (0, 1, 2):  # a log file's bar, or none, has no line left open
        with pytest.raises(KeyboardInterrupt):
            model().fit(x, y, epochs=EPOCHS, batch_size=BATCH, verbose=verbose,
                        callbacks=[Interrupt()])
    assert capsys.readouterr().out == "Epoch 1/2\n" * 2  # verbose=1's and 2's, only


@pytest.mark.parametrize("make", [lambda: EarlyStopping(monitor=""),
                                  lambda: ModelCheckpoint("m.npz", monitor="")])
def test_an_empty_monitor_is_refused_when_made(make):
    # "" is no logs key: it would fail only after the first epoch's training.
    with pytest.raises(ValueError, match=r"monitor must be the name of a logged value, "
                                         r"such as 'val_loss' or 'val_accuracy', got ''$"):
        make()


def test_the_scheduler_logs_the_rate_the_epoch_trained_with():
    # A callback after the scheduler may change the rate (a warm-up of one's own): the
    # logged rate is the optimiser's, which the epoch trained with, as Keras logs it, not
    # the one the schedule gave.
    class Halve(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.optimizer.lr /= 2

    x, y = data()
    history = model().fit(x, y, epochs=2, batch_size=BATCH, verbose=0,
                          callbacks=[LearningRateScheduler(lambda epoch: 0.1), Halve()])
    assert history.history["lr"] == [0.05, 0.05]


def test_the_scheduler_says_each_rate_it_sets_with_verbose_1(capsys):
    # Epochs counted from 1, as in the progress output; the rate to 3 significant digits.
    scheduler = LearningRateScheduler(lambda epoch: 0.1 / 3**epoch, verbose=1)
    scheduler.set_model(model())
    scheduler.on_epoch_begin(0)
    scheduler.on_epoch_begin(1)
    assert capsys.readouterr().out == ("Epoch 1: learning rate 0.1\n"
                                       "Epoch 2: learning rate 0.0333\n")


def test_exponential_decay_is_named_by_its_arguments():
    # What schedule.__name__ and repr() show (to label a run, say) is the decay, not
    # "schedule".
    schedule = exponential_decay(0.1, 0.5)
    assert schedule.__name__ == "exponential_decay(0.1, 0.5)"
    assert repr(schedule).startswith("<function exponential_decay(0.1, 0.5) at ")
    assert [schedule(epoch, 1.0) for epoch in range(3)] == [0.1, 0.05, 0.025]


def test_history_keeps_what_fit_logged_when_a_later_callback_changes_it():
    # History runs first, the progress line right after it: a callback at the end of the
    # list that rewrites a logged value changes neither, so the history says what was
    # printed (and what a checkpoint saved before the change holds).
    class Rewrite(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.logged = logs["loss"]
            logs["loss"] = -1.0

    x, y = data()
    rewrite = Rewrite()
    history = model().fit(x, y, epochs=1, batch_size=BATCH, verbose=0, callbacks=[rewrite])
    assert history.history["loss"] == [rewrite.logged] and rewrite.logged > 0


def test_the_scheduler_sets_the_rate_of_an_optimiser_whose_ranges_leave_lr_out():
    # Its hyper_parameters replace the base class's rather than extend them: a scheduler
    # that looked lr up there would fail with KeyError: 'lr'.
    class Plain(Optimizer):
        hyper_parameters: ClassVar = {"scale": (0.0, None, False)}

        def __init__(self, lr=0.1, scale=1.0):
            super().__init__(lr)
            self.scale = scale

        def update(self, param, grad, state, work):
            param -= self.lr * self.scale * grad

    x, y = data()
    m = model()
    m.compile(CrossEntropy(), Plain())
    history = m.fit(x, y, epochs=2, verbose=0,
                    callbacks=[LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))])
    assert history.history["lr"] == [0.01, 0.02] and m.optimizer.lr == 0.02
    with pytest.raises(ValueError, match=r"^LearningRateScheduler: the schedule's lr for "
                                         r"epoch 0 must be a number in \[0.0, inf\), got -1.0$"):
        m.fit(x, y, epochs=1, verbose=0, callbacks=[LearningRateScheduler(lambda e: -1.0)])


def test_the_scheduler_checks_the_rate_against_the_optimisers_own_range_for_lr():
    class AtMostOne(Optimizer):
        hyper_parameters: ClassVar = {"lr": (0.0, 1.0, False)}  # (0, 1)

        def __init__(self, lr=0.1):
            super().__init__(lr)

        def update(self, param, grad, state, work):
            param -= self.lr * grad

    m = model()
    m.compile(CrossEntropy(), AtMostOne())
    scheduler = LearningRateScheduler(lambda epoch: 2.0)
    scheduler.set_model(m)
    with pytest.raises(ValueError, match=r"^LearningRateScheduler: the schedule's lr for "
                                         r"epoch 0 must be a number in \(0.0, 1.0\), got 2.0$"):
        scheduler.on_epoch_begin(0)
    assert m.optimizer.lr == 0.1


def test_a_scheduler_driven_by_hand_on_an_uncompiled_model_says_so():
    # fit only trains compiled models; a test of one's own schedule may call the hooks
    # directly, and would otherwise fail on None's missing lr.
    scheduler = LearningRateScheduler(lambda epoch: 0.1)
    scheduler.set_model(Sequential([Dense(2, 2)], seed=0))
    for hook in (lambda: scheduler.on_epoch_begin(0), lambda: scheduler.on_epoch_end(0, {})):
        with pytest.raises(RuntimeError, match=r"^the model is not compiled: call "
                                               r"model\.compile\("):
            hook()


def test_callbacks_take_their_options_after_monitor_by_name():
    # Keras's orders differ: EarlyStopping("val_loss", 0, 3) is min_delta 0 and patience 3
    # there, and would be patience 0 here, silently; ModelCheckpoint's third is verbose.
    with pytest.raises(TypeError, match=r"takes from 1 to 2 positional arguments but 4"):
        EarlyStopping("val_loss", 0, 3)
    with pytest.raises(TypeError, match=r"takes from 2 to 3 positional arguments but 5"):
        ModelCheckpoint("e{epoch}.npz", "val_loss", 0, True)
    assert EarlyStopping("val_loss", patience=3).patience == 3


@pytest.mark.parametrize("hook, hint", [
    ("on_test_end", "evaluate and predict call none"),
    ("on_predict_batch_end", "evaluate and predict call none"),
    ("on_epoch_ends", "did you mean on_epoch_end?"),
])
def test_a_hook_that_fit_never_calls_is_warned_of_where_the_class_is_defined(hook, hint):
    # Keras calls on_test_* from evaluate and on_predict_* from predict; tinynet's take no
    # callbacks, and a misspelt hook would never run either, without a word.
    with pytest.warns(UserWarning, match=rf"^Sub\.{hook} is not a hook that fit calls, so it "
                                         rf"will never run \({re.escape(hint)}\); the hooks "
                                         r"are on_batch_begin, .*, on_train_end$"):
        type("Sub", (Callback,), {hook: lambda self, *args: None})


@pytest.mark.filterwarnings("error")
def test_the_hooks_fit_calls_and_a_subclasss_own_on_names_are_not_warned_of():
    hooks = {name: lambda self, *args: None for name in dir(Callback) if name.startswith("on_")}
    type("Sub", (Callback,), hooks)
    # A method or an attribute of the subclass's own, named like a hook but like none.
    type("Own", (Callback,), {"on_improvement": lambda self, epoch: None,
                              "on_epoch_end_threshold": 0.1})
    # Attributes that are not methods are never hooks, however close their names.
    type("Own", (Callback,), {"on_test_split": 0.2, "on_epoch_ends": None})
