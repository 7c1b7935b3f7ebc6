"""Checkpoints and resuming: a run resumed from its epoch-k checkpoint ends bitwise equal to
the uninterrupted run; ModelCheckpoint saves every epoch or the best ones only."""

from __future__ import annotations

import math
import os
import re
import warnings

import numpy as np
import pytest

from tinynet.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    exponential_decay,
)
from tinynet.io import load_model
from tinynet.layers import Dense, Dropout, ReLU, Softmax
from tinynet.model import Sequential
from tinynet.optim import SGD, Adam

EPOCHS = 4


def make_data(n: int = 60, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)  # 3 classes, learnable
    return x, y


def make_model(optimizer, dropout: bool = True) -> Sequential:
    drop = [Dropout(0.3)] if dropout else []
    model = Sequential([Dense(5, 16), ReLU(), *drop, Dense(16, 3), Softmax()], seed=7)
    model.compile("sparse_categorical_crossentropy", optimizer)
    return model


class Recorder(Callback):
    """Keeps each epoch's logs and a copy of the weights at its end."""

    def __init__(self) -> None:
        super().__init__()
        self.logs: list[dict[str, float]] = []
        self.weights: list[list[np.ndarray]] = []

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append(dict(logs))
        self.weights.append(self.model.get_weights())


def assert_same_weights(a: Sequential, b: Sequential) -> None:
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        assert wa.dtype == wb.dtype
        assert np.array_equal(wa, wb), "weights differ"
        assert wa.tobytes() == wb.tobytes()  # bit for bit, not just equal as numbers


def weights_equal(a: Sequential, b: Sequential) -> bool:
    return all(np.array_equal(wa, wb)
               for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True))


@pytest.mark.parametrize("make_optimizer", [lambda: Adam(lr=0.01),
                                            lambda: SGD(lr=0.05, momentum=0.9),
                                            lambda: SGD(lr=0.05, momentum=0.9, nesterov=True)],
                         ids=["adam", "sgd-momentum", "sgd-nesterov"])
@pytest.mark.parametrize("k", [1, 2])
def test_resume_from_checkpoint_equals_uninterrupted_run(tmp_path, make_optimizer, k):
    x, y = make_data()
    val = (x[:10], y[:10])
    full = make_model(make_optimizer())
    checkpoint = ModelCheckpoint(str(tmp_path / "ckpt-{epoch}.npz"))
    full.fit(x, y, epochs=EPOCHS, batch_size=16, validation_data=val, verbose=0,
             callbacks=[checkpoint])
    assert sorted(os.listdir(tmp_path)) == [f"ckpt-{e}.npz" for e in range(1, EPOCHS + 1)]

    # "{epoch}" is the number of epochs done: the initial_epoch to resume from.
    resumed = load_model(tmp_path / f"ckpt-{k}.npz")
    assert resumed.optimizer.iterations == k * 4  # 60 samples in batches of 16: 4 steps
    assert resumed.history.epoch == list(range(k))
    history = resumed.fit(x, y, epochs=EPOCHS, batch_size=16, validation_data=val, verbose=0,
                          initial_epoch=k)

    assert_same_weights(resumed, full)
    assert resumed.optimizer.iterations == full.optimizer.iterations == EPOCHS * 4
    params_r = [p for p, _ in resumed.parameters()]
    params_f = [p for p, _ in full.parameters()]
    for sr, sf in zip(resumed.optimizer.get_state(params_r), full.optimizer.get_state(params_f),
                      strict=True):
        for name in sr:
            assert sr[name].tobytes() == sf[name].tobytes()
    # The History goes on from the checkpoint's: the whole run, as the uninterrupted one.
    assert history.epoch == list(range(EPOCHS))
    assert history.history == full.history.history
    # ... and the last checkpoint holds the final model.
    assert_same_weights(load_model(tmp_path / f"ckpt-{EPOCHS}.npz"), full)


def test_resume_test_detects_a_lost_optimizer_state(tmp_path):
    """The comparison above can fail: resuming without the saved momentum, or at the wrong
    epoch (other shuffles and dropout masks), ends with other weights."""
    x, y = make_data()
    full = make_model(SGD(lr=0.05, momentum=0.9))
    full.fit(x, y, epochs=EPOCHS, batch_size=16, verbose=0,
             callbacks=[ModelCheckpoint(str(tmp_path / "c{epoch}"))])

    fresh_state = load_model(tmp_path / "c2")
    fresh_state.compile(fresh_state.loss, SGD(lr=0.05, momentum=0.9))  # velocity back to 0
    fresh_state.fit(x, y, epochs=EPOCHS, batch_size=16, verbose=0, initial_epoch=2)
    assert not weights_equal(fresh_state, full)

    wrong_epoch = load_model(tmp_path / "c2")
    wrong_epoch.fit(x, y, epochs=EPOCHS - 1, batch_size=16, verbose=0, initial_epoch=1)
    assert wrong_epoch.optimizer.iterations == full.optimizer.iterations
    assert not weights_equal(wrong_epoch, full)


def test_a_resume_that_cannot_continue_the_run_or_trains_nothing_warns(tmp_path):
    # The run's batch size or data left out of the resumed fit, or its epochs read as "one
    # more" (PyTorch's count): silently, the weights would end other than the run's.
    x, y = make_data()
    make_model(Adam(lr=0.01)).fit(x, y, epochs=2, batch_size=16, verbose=0,
                                  callbacks=[ModelCheckpoint(str(tmp_path / "c{epoch}"))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the run's own arguments: a resume, no warning
        load_model(tmp_path / "c1").fit(x, y, epochs=2, batch_size=16, verbose=0,
                                        initial_epoch=1)
    message = ("fit(initial_epoch=1) resumes a run that took 4 training steps in its first "
               "epoch, where this fit takes {steps} ({steps} batches an epoch: {N} samples in "
               "batches of {B}), so it draws other shuffles and dropout masks than the run "
               "would have. To continue the run bit for bit, give fit the run's data, "
               "batch_size and validation_split (docs/training.md#checkpoints-and-resuming)")
    for kwargs, steps, N, B in [({}, 2, 60, 32),  # batch_size left at its default
                                ({"batch_size": 16, "validation_split": 0.2}, 3, 48, 16)]:
        with pytest.warns(UserWarning) as caught:
            load_model(tmp_path / "c1").fit(x, y, epochs=2, verbose=0, initial_epoch=1,
                                            **kwargs)
        assert [str(w.message) for w in caught] == [message.format(steps=steps, N=N, B=B)]
        assert caught[0].filename == __file__  # the user's line, not fit's
    with pytest.warns(UserWarning) as caught:
        load_model(tmp_path / "c1").fit(x, y, epochs=1, batch_size=16, verbose=0,
                                        initial_epoch=1)
    assert [str(w.message) for w in caught] == [
        "fit(epochs=1, initial_epoch=1) trains no epoch: epochs counts from the start of the "
        "whole run, as in Keras (one more epoch is epochs=2)"]
    assert caught[0].filename == __file__


def test_more_training_and_fits_an_epoch_at_a_time_do_not_warn(tmp_path):
    # Keras's loop of one epoch a fit, a second fit, and Keras's fine-tuning examples, which
    # go on at the last epoch of the History (initial_epoch=history.epoch[-1]): no resume.
    x, y = make_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = make_model(Adam(lr=0.01))
        for epoch in range(3):
            model.fit(x, y, epochs=epoch + 1, initial_epoch=epoch, batch_size=16, verbose=0,
                      validation_split=0.2)
        model.fit(x, y, epochs=2, batch_size=7, verbose=0)
        history = model.fit(x, y, epochs=2, verbose=0)
        model.compile(model.loss, Adam(lr=0.001))
        model.fit(x, y, epochs=4, initial_epoch=history.epoch[-1], verbose=0)


def test_resume_by_hand_with_set_weights_set_state_and_steps_trained(tmp_path):
    """docs/training.md's resume by hand: the weights, the optimiser's state and the step
    count, put into a model built with the same seed, continue the run bit for bit; without
    the step count, epoch 2 draws other shuffles and dropout masks."""
    x, y = make_data()
    full = make_model(Adam(lr=0.01))
    full.fit(x, y, epochs=EPOCHS, batch_size=16, verbose=0,
             callbacks=[ModelCheckpoint(str(tmp_path / "c{epoch}"))])
    saved = load_model(tmp_path / "c2")
    params = [p for p, _ in saved.parameters()]
    states = saved.optimizer.get_state(params)

    def resume(steps_trained: bool) -> Sequential:
        model = make_model(Adam(lr=0.01))
        model.set_weights(saved.get_weights())
        model.optimizer.set_state([p for p, _ in model.parameters()], states,
                                  saved.optimizer.iterations)
        if steps_trained:
            model.steps_trained = saved.steps_trained
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.fit(x, y, epochs=EPOCHS, batch_size=16, verbose=0, initial_epoch=2)
        # Without the count, fit says to set it.
        assert len(caught) == (0 if steps_trained else 1)
        assert all(str(w.message).startswith("fit(initial_epoch=2) on a model that has taken "
                                              "no training step draws") for w in caught)
        return model

    assert_same_weights(resume(steps_trained=True), full)
    assert not weights_equal(resume(steps_trained=False), full)


# ------------------------------------------------------------------------ ModelCheckpoint
def test_save_best_only_keeps_the_best_epoch_in_one_file(tmp_path):
    x, y = make_data()
    model = make_model(Adam(lr=0.05))
    recorder = Recorder()
    path = tmp_path / "best.npz"
    checkpoint = ModelCheckpoint(str(path), monitor="val_loss", save_best_only=True)
    model.fit(x, y, epochs=6, batch_size=16, validation_data=(x[:12], y[:12]), verbose=0,
              callbacks=[checkpoint, recorder])

    val_losses = [logs["val_loss"] for logs in recorder.logs]
    best = int(np.argmin(val_losses))
    assert checkpoint.best_epoch == best
    assert checkpoint.best == val_losses[best]
    assert os.listdir(tmp_path) == ["best.npz"]
    saved = load_model(path)
    for w, expected in zip(saved.get_weights(), recorder.weights[best], strict=True):
        assert np.array_equal(w, expected)
    assert saved.history.epoch == list(range(best + 1))


#: The metric that ScriptedLoss logs ("loss" in its name: smaller is better).
SCRIPTED = "val_scripted_loss"


class ScriptedLoss(Callback):
    """Logs each epoch's SCRIPTED value from a script, for the callbacks after it to monitor:
    which epoch is the best, and when patience runs out, are then the test's to choose, not
    the training run's (another valid shuffle of the same data would move them). The
    weights, the checkpoints and the resumed runs stay real."""

    def __init__(self, losses: list[float]) -> None:
        self.losses = losses

    def on_epoch_end(self, epoch, logs=None):
        logs[SCRIPTED] = self.losses[epoch]


def test_save_best_only_after_resuming_compares_with_the_epochs_before(tmp_path):
    # The best is epoch 3's (counting from 0): epochs 4 and 5 are worse.
    losses = [0.9, 0.8, 0.7, 0.5, 0.6, 0.55]
    x, y = make_data()
    val = (x[:12], y[:12])
    make_model(Adam(lr=0.05)).fit(
        x, y, epochs=6, batch_size=16, validation_data=val, verbose=0,
        callbacks=[ScriptedLoss(losses), ModelCheckpoint(str(tmp_path / "e{epoch}.npz"))])

    # Stopped after epoch 4 (e5.npz) and resumed with a new best-only checkpoint: epoch 5 is
    # no improvement on epoch 3, so it must not be saved as the best.
    (tmp_path / "best").mkdir()
    best = ModelCheckpoint(str(tmp_path / "best" / "model.npz"), monitor=SCRIPTED,
                           save_best_only=True)
    load_model(tmp_path / "e5.npz").fit(x, y, epochs=6, initial_epoch=5, batch_size=16,
                                        validation_data=val, verbose=0,
                                        callbacks=[ScriptedLoss(losses), best])
    assert os.listdir(tmp_path / "best") == []
    assert best.best == 0.5 and best.best_epoch == 3


#: The best is epoch 1's (counting from 0); epochs 2 and 3 do not improve on it,
#: so patience 2 stops after epoch 3. Later epochs would improve: a run that went on past
#: epoch 3 would find another best.
EARLY_STOPPING_LOSSES = [0.9, 0.5, 0.6, 0.7] + [0.1] * 26


def _fit_with_early_stopping(model: Sequential, x, y, folder, **kwargs) -> EarlyStopping:
    stop = EarlyStopping(monitor=SCRIPTED, patience=2, restore_best_weights=True)
    model.fit(x[10:], y[10:], epochs=30, batch_size=16, validation_data=(x[:10], y[:10]),
              verbose=0, callbacks=[ScriptedLoss(EARLY_STOPPING_LOSSES), stop,
                                    ModelCheckpoint(str(folder / "e{epoch}.npz"))],
              **kwargs)
    return stop


@pytest.mark.parametrize("k", [1, 2])
def test_early_stopping_resumed_stops_and_restores_as_the_uninterrupted_run(tmp_path, k):
    x, y = make_data()
    full = make_model(Adam(lr=0.05), dropout=False)
    stop = _fit_with_early_stopping(full, x, y, tmp_path)
    assert (stop.best_epoch, stop.stopped_epoch) == (1, 3)  # EARLY_STOPPING_LOSSES's

    # Resumed before the best epoch (k=1), or just after it (k=2: the checkpoint holds the
    # best weights), it stops and restores as the uninterrupted run. For k=2 the patience
    # must count the epochs before k: without them, epoch 2 would be an improvement on
    # nothing, and training would go on past epoch 3.
    resumed = load_model(tmp_path / f"e{k}.npz")
    (tmp_path / "again").mkdir()
    again = _fit_with_early_stopping(resumed, x, y, tmp_path / "again", initial_epoch=k)
    assert (again.best_epoch, again.stopped_epoch) == (1, 3)
    assert resumed.history.epoch == full.history.epoch == [0, 1, 2, 3]
    assert_same_weights(resumed, full)  # epoch 1's, restored


def test_early_stopping_resumed_after_the_best_epoch_warns_it_cannot_restore_it(tmp_path):
    x, y = make_data()
    full = make_model(Adam(lr=0.05), dropout=False)
    _fit_with_early_stopping(full, x, y, tmp_path)  # best epoch 1, stopped at 3
    resumed = load_model(tmp_path / "e3.npz")  # epoch 1's weights are in e2.npz only
    last = load_model(tmp_path / "e4.npz")
    (tmp_path / "again").mkdir()
    with pytest.warns(UserWarning, match="the best epoch, 2, are not restored") as w:
        again = _fit_with_early_stopping(resumed, x, y, tmp_path / "again", initial_epoch=3)
    assert (again.best_epoch, again.stopped_epoch) == (1, 3)
    assert_same_weights(resumed, last)  # the last epoch's, as the warning says
    assert w[0].filename == __file__  # the fit in _fit_with_early_stopping, not tinynet's


def test_early_stopping_resumed_from_the_epoch_it_stopped_at_trains_no_further(tmp_path):
    # A run killed after its last checkpoint but before fit returned, resumed as the docs
    # say (initial_epoch=len(model.history.epoch)): it would train on past the epoch where
    # the uninterrupted run stopped.
    x, y = make_data()
    _fit_with_early_stopping(make_model(Adam(lr=0.05), dropout=False), x, y, tmp_path)
    resumed, last = load_model(tmp_path / "e4.npz"), load_model(tmp_path / "e4.npz")
    (tmp_path / "again").mkdir()
    with pytest.warns(UserWarning, match="the best epoch, 2, are not restored"):
        again = _fit_with_early_stopping(resumed, x, y, tmp_path / "again", initial_epoch=4)
    assert (again.best_epoch, again.stopped_epoch) == (1, 3)
    assert resumed.history.epoch == [0, 1, 2, 3]
    assert os.listdir(tmp_path / "again") == []
    assert_same_weights(resumed, last)


def test_a_checkpoint_holds_the_values_callbacks_before_it_added_to_the_epochs_logs(
        tmp_path):
    # A metric of one's own (logs["score"] = ...) set by a callback before the checkpoint:
    # the checkpoint of epoch k must hold it for epoch k too, or the resumed History has NaN
    # there and a save_best_only checkpoint on "score" forgets that epoch was the best.
    scores = [0.5, 0.9, 0.6, 0.7]

    class Score(Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["score"] = scores[epoch]

    x, y = make_data()
    make_model(SGD(lr=0.1)).fit(
        x, y, epochs=4, batch_size=16, verbose=0,
        callbacks=[Score(), ModelCheckpoint(str(tmp_path / "e{epoch}.npz"))])
    resumed = load_model(tmp_path / "e2.npz")
    assert resumed.history.history["score"] == scores[:2]
    (tmp_path / "best").mkdir()
    best = ModelCheckpoint(str(tmp_path / "best" / "model.npz"), monitor="score",
                           mode="max", save_best_only=True)
    history = resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=16, verbose=0,
                          callbacks=[Score(), best])
    assert history.history["score"] == scores
    assert best.best == 0.9 and best.best_epoch == 1
    assert os.listdir(tmp_path / "best") == []  # epochs 2 and 3 are worse than epoch 1


def test_a_run_resumed_with_a_scheduler_logs_the_rates_of_the_uninterrupted_one(tmp_path):
    # The scheduler logs each epoch's rate as "lr"; before the ModelCheckpoint in the list,
    # the checkpoint of epoch k holds epoch k's rate, and the resumed History is the whole
    # run's, one rate per epoch.
    def scheduler():
        return LearningRateScheduler(exponential_decay(0.05, 0.5))

    x, y = make_data()
    full = make_model(SGD(lr=0.05, momentum=0.9))
    full.fit(x, y, epochs=EPOCHS, batch_size=16, verbose=0,
             callbacks=[scheduler(), ModelCheckpoint(str(tmp_path / "e{epoch}.npz"))])
    rates = [0.05 * 0.5**epoch for epoch in range(EPOCHS)]
    assert full.history.history["lr"] == rates
    resumed = load_model(tmp_path / "e2.npz")
    assert resumed.history.history["lr"] == rates[:2]
    history = resumed.fit(x, y, epochs=EPOCHS, initial_epoch=2, batch_size=16, verbose=0,
                          callbacks=[scheduler()])
    assert history.history == full.history.history
    assert_same_weights(resumed, full)


class Poison(Callback):
    """Makes the first batch of epoch ``at`` diverge: NaN weights give a NaN loss."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            self.model.weights[0][...] = np.nan


def test_a_run_resumed_and_diverging_at_once_ends_as_the_uninterrupted_one(tmp_path):
    # A resumed fit that diverges at its first batch had taken no step, and was undone as a
    # refused fit is: the scheduler's rate for the epoch put back, the one the error names
    # ("now 0.0125") gone, where the run never saved kept it, and its epoch's random streams.
    def callbacks():
        return [LearningRateScheduler(exponential_decay(0.05, 0.5)), Poison(at=2)]

    x, y = make_data()
    full = make_model(SGD(lr=0.05, momentum=0.9))
    with pytest.raises(FloatingPointError, match=r"at epoch 3, batch 1/4: .*\(now 0\.0125\)"):
        full.fit(x, y, epochs=3, batch_size=16, verbose=0,
                 callbacks=[*callbacks(), ModelCheckpoint(str(tmp_path / "e{epoch}.npz"))])
    resumed = load_model(tmp_path / "e2.npz")
    with pytest.raises(FloatingPointError, match=r"at epoch 3, batch 1/4: .*\(now 0\.0125\)"):
        resumed.fit(x, y, epochs=3, initial_epoch=2, batch_size=16, verbose=0,
                    callbacks=callbacks())
    assert resumed.optimizer.lr == full.optimizer.lr == 0.0125
    assert resumed.history.history == full.history.history and resumed.history.epoch == [0, 1]
    assert resumed.steps_trained == full.steps_trained == 2 * 4
    for a, b in zip(resumed.layers, full.layers, strict=True):
        if hasattr(a, "rng"):
            assert a.rng.bit_generator.state == b.rng.bit_generator.state


class LastStepOverflows(Callback):
    """Makes the last step of epoch ``at`` leave infinite weights, as an update that
    overflows does, with the epoch's loss still finite: its checkpoint holds them."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.epoch = at, -1

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if self.epoch == self.at and batch + 1 == self.params["steps"]:
            self.model.weights[2][...] = np.inf


@pytest.mark.filterwarnings("error")
def test_a_run_resumed_from_a_checkpoint_of_infinite_weights_diverges_as_the_uninterrupted(
        tmp_path):
    # The checkpoint of epoch 2 holds what its last step left: the next batch's loss is NaN
    # in both runs, and the message, which names the weights, is the same; NumPy's warnings
    # from fit's trials of the data on those weights say nothing more.
    x, y = make_data()
    full = make_model(SGD(lr=0.05))
    with pytest.raises(FloatingPointError) as uninterrupted:
        full.fit(x, y, epochs=3, batch_size=16, verbose=0,
                 callbacks=[LastStepOverflows(at=1),
                            ModelCheckpoint(str(tmp_path / "e{epoch}.npz"))])
    resumed = load_model(tmp_path / "e2.npz")
    with pytest.raises(FloatingPointError) as then:
        resumed.fit(x, y, epochs=3, initial_epoch=2, batch_size=16, verbose=0)
    assert str(then.value) == str(uninterrupted.value)
    assert str(then.value).startswith("the loss became nan at epoch 3, batch 1/4: training "
                                      "diverged: the weights hold NaN or infinity (array 2 of "
                                      "get_weights())")
    assert resumed.steps_trained == full.steps_trained == 2 * 4


def drive(checkpoint: ModelCheckpoint, values: list[float], key: str) -> list[str]:
    """Call the callback as fit would, with the given monitored values; return the files."""
    model = make_model(SGD(lr=0.1))
    checkpoint.set_model(model)
    checkpoint.set_params({"epochs": len(values), "steps": 1, "verbose": 0,
                           "initial_epoch": 0})
    checkpoint.on_train_begin()
    for epoch, value in enumerate(values):
        checkpoint.on_epoch_end(epoch, {"loss": 1.0, key: value})
    return sorted(os.listdir(os.path.dirname(checkpoint.filepath)))


def test_save_best_only_min_mode_saves_only_improvements(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "e{epoch}.npz"), save_best_only=True)
    assert cb.mode == "min"
    files = drive(cb, [0.9, 0.7, 0.8, math.nan, 0.6, 0.6], "val_loss")
    assert files == ["e1.npz", "e2.npz", "e5.npz"]  # NaN and ties are no improvement
    assert cb.best == 0.6 and cb.best_epoch == 4
    assert cb.last_saved == str(tmp_path / "e5.npz")


def test_last_saved_is_the_file_written_with_its_suffix(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "e{epoch}"))  # saving appends .npz
    assert drive(cb, [0.5, 0.4], "val_loss") == ["e1.npz", "e2.npz"]
    assert cb.last_saved == str(tmp_path / "e2.npz")


def test_save_best_only_auto_mode_maximises_accuracy(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "a{epoch:02d}-{val_accuracy:.2f}.npz"),
                         monitor="val_accuracy", save_best_only=True)
    assert cb.mode == "max"
    files = drive(cb, [0.5, 0.75, math.nan, 0.6, 0.9, 0.9], "val_accuracy")
    assert files == ["a01-0.50.npz", "a02-0.75.npz", "a05-0.90.npz"]  # no NaN, no tie
    assert cb.best == 0.9 and cb.best_epoch == 4


def test_explicit_mode_overrides_auto(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "e{epoch}.npz"), monitor="val_loss",
                         save_best_only=True, mode="max")
    assert drive(cb, [0.1, 0.3, 0.2], "val_loss") == ["e1.npz", "e2.npz"]


def test_every_epoch_without_monitor_in_logs(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "e{epoch}"))  # .npz appended by model.save
    assert drive(cb, [3.0, 2.0, 4.0], "other") == ["e1.npz", "e2.npz", "e3.npz"]


def test_best_only_needs_the_monitored_value(tmp_path):
    cb = ModelCheckpoint(str(tmp_path / "e.npz"), monitor="val_loss", save_best_only=True)
    with pytest.raises(KeyError, match=r"val_loss.*validation_data"):
        drive(cb, [0.5], "loss_only")


def test_save_best_only_counts_an_epoch_as_the_best_only_once_its_model_is_saved(tmp_path):
    # Were the best taken before the save, a save refused (a folder the template names that
    # does not exist, a key the logs lack) would leave as the best an epoch no file holds,
    # which the epochs after it, in the next fit with the same callback, would have to beat
    # to be saved.
    cb = ModelCheckpoint(str(tmp_path / "e{epoch}" / "model.npz"), save_best_only=True)
    with pytest.raises(FileNotFoundError, match=r"no folder .*e1"):
        drive(cb, [0.5], "val_loss")
    assert cb.best == math.inf and cb.best_epoch is None and cb.last_saved is None
    (tmp_path / "e1").mkdir()
    cb.filepath = str(tmp_path / "e1" / "model.npz")  # drive lists the files of its folder
    assert drive(cb, [0.7], "val_loss") == ["model.npz"]  # worse than 0.5, yet the best saved
    assert cb.best == 0.7 and cb.last_saved == cb.filepath

    cb = ModelCheckpoint(str(tmp_path / "v{val_acc}.npz"), save_best_only=True)
    with pytest.raises(KeyError, match="val_acc"):
        drive(cb, [0.5], "val_loss")
    assert cb.best == math.inf and cb.best_epoch is None


def test_template_errors_are_clear(tmp_path):
    with pytest.raises(ValueError, match="not a valid template"):
        ModelCheckpoint(str(tmp_path / "e{}.npz"))
    with pytest.raises(ValueError, match="mode"):
        ModelCheckpoint("x.npz", mode="best")
    cb = ModelCheckpoint(str(tmp_path / "e{val_acc}.npz"))
    with pytest.raises(KeyError, match="val_acc"):
        drive(cb, [0.5], "val_loss")


def test_a_resumed_history_keeps_every_list_one_entry_per_epoch(tmp_path):
    # Three epochs without validation data, then two with it: val_loss of the first three
    # is NaN, so entry e of every list is epoch e (and the curves line up).
    x, y = make_data()
    model = make_model(SGD(0.1))
    model.fit(x, y, epochs=3, batch_size=20, verbose=0,
              callbacks=[ModelCheckpoint(str(tmp_path / "e{epoch}.npz"))])
    resumed = load_model(tmp_path / "e3.npz")
    history = resumed.fit(x, y, epochs=5, initial_epoch=3, batch_size=20, verbose=0,
                          validation_data=(x, y))
    assert history.epoch == [0, 1, 2, 3, 4]
    assert all(len(values) == 5 for values in history.history.values())
    assert np.isnan(history.history["val_loss"][:3]).all()
    assert np.isfinite(history.history["val_loss"][3:]).all()
    assert np.isfinite(history.history["loss"]).all()


def test_an_initial_epoch_that_skips_epochs_or_passes_epochs_is_refused(tmp_path):
    x, y = make_data()
    model = make_model(SGD(0.1))
    model.fit(x, y, epochs=3, batch_size=20, verbose=0)
    before = model.get_weights()
    for skipping in (4, 5):  # 4 skips one epoch, the fourth, and is refused as 5 is
        with pytest.raises(ValueError, match=rf"initial_epoch={skipping} would skip epochs: "
                                             r"the model's history ends with epoch 3, so "
                                             r"resume with initial_epoch=3"):
            model.fit(x, y, epochs=6, initial_epoch=skipping, verbose=0)
    with pytest.raises(ValueError, match=r"initial_epoch must be <= epochs, got "
                                         r"initial_epoch=3 and epochs=2"):
        model.fit(x, y, epochs=2, initial_epoch=3, verbose=0)
    for w, w0 in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)
    with pytest.warns(UserWarning, match=r"^fit\(epochs=3, initial_epoch=3\) trains no epoch"):
        model.fit(x, y, epochs=3, initial_epoch=3, verbose=0)  # nothing left to do: not refused
    model.fit(x, y, epochs=4, initial_epoch=2, batch_size=20, verbose=0)  # redo epoch 3
    assert model.history.epoch == [0, 1, 2, 3]


@pytest.mark.parametrize("suffix", ["", "/"])
def test_a_checkpoint_filepath_that_is_a_folder_fails_before_training(tmp_path, suffix):
    # ModelCheckpoint("ckpt") with ckpt/ a folder would write ckpt.npz beside it, after the
    # first epoch's training.
    x, y = make_data()
    model = make_model(SGD(0.1))
    before = model.get_weights()
    folder = str(tmp_path) + suffix
    # The words of model.save's refusal (one check serves both), with a file in the folder
    # to name instead: "ckpt/e{epoch}.npz", not "ckpt//e{epoch}.npz" for "ckpt/".
    with pytest.raises(ValueError, match=re.escape(
            f"ModelCheckpoint: filepath must name a file, got the folder {folder!r} (to save "
            f"in it: {str(tmp_path / 'e{epoch}.npz')!r})")):
        model.fit(x, y, epochs=2, verbose=0, callbacks=[ModelCheckpoint(folder)])
    for w, w0 in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)


def test_a_checkpoint_folder_that_does_not_exist_fails_before_training(tmp_path):
    x, y = make_data()
    model = make_model(SGD(0.1))
    before = model.get_weights()
    with pytest.raises(FileNotFoundError, match=r"no folder .*missing.* create it first"):
        model.fit(x, y, epochs=2, verbose=0,
                  callbacks=[ModelCheckpoint(str(tmp_path / "missing" / "e{epoch}.npz"))])
    for w, w0 in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)


def test_a_checkpoint_folder_that_cannot_be_written_in_fails_before_training(
        tmp_path, refuse_files_in):
    # Found only at the first save, it would fail once the first epoch had trained.
    x, y = make_data()
    model = make_model(SGD(0.1))
    before = model.get_weights()
    refuse_files_in(tmp_path)
    with pytest.raises(PermissionError, match=r"cannot save 'e\{epoch\}\.npz' in the folder "
                                              r".*: cannot create files there "
                                              r"\(permission denied\)$"):
        model.fit(x, y, epochs=2, verbose=0,
                  callbacks=[ModelCheckpoint(str(tmp_path / "e{epoch}.npz"))])
    for w, w0 in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, w0)


def test_a_checkpoint_through_a_link_is_checked_in_the_folder_it_saves_in(tmp_path,
                                                                         refuse_files_in):
    # model.save replaces the file a link points to, beside it: the link's own folder is
    # not written in, the target's is (as the CLI checks its --out).
    x, y = make_data()
    run, shared = tmp_path / "run", tmp_path / "shared"
    run.mkdir()
    shared.mkdir()
    (run / "best.npz").symlink_to(shared / "best.npz")
    refuse_files_in(run)
    model = make_model(SGD(0.1))
    model.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(str(run / "best.npz"))])
    assert (shared / "best.npz").is_file() and (run / "best.npz").is_symlink()
    refuse_files_in(shared)
    with pytest.raises(PermissionError, match=rf"cannot save 'best\.npz' in the folder "
                                              rf"{re.escape(repr(str(shared)))}: cannot create "
                                              rf"files there \(permission denied\)$"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[ModelCheckpoint(str(run / "best.npz"))])


def test_a_checkpoint_linked_to_a_named_pipe_is_refused_before_the_first_epoch(tmp_path):
    # Saving would replace the pipe (or /dev/null, as root) with a regular file: refused as
    # training begins, not once the first epoch is trained.
    x, y = make_data()
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "best.npz").symlink_to(tmp_path / "pipe")
    model = make_model(SGD(0.1))
    with pytest.raises(OSError, match=r"^ModelCheckpoint: cannot save to '.*best\.npz': it is a "
                                      r"named pipe, not a regular file, and saving would "
                                      r"replace it with one$"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[ModelCheckpoint(str(tmp_path / "best.npz"))])
    assert model.steps_trained == 0 and (tmp_path / "pipe").is_fifo()


@pytest.mark.parametrize("dropout", [False, True])
def test_a_loop_of_train_steps_resumes_bit_for_bit_only_without_random_layers(tmp_path,
                                                                               dropout):
    # docs/training.md: fit draws each epoch's numbers from the seed and the epoch; a loop
    # of train_step draws its masks from the model's generator, whose state is not saved.
    x, y = make_data()
    model = make_model(Adam(lr=0.01), dropout=dropout)
    for start in range(0, 30, 10):
        model.train_step(x[start:start + 10], y[start:start + 10])
    resumed = load_model(model.save(tmp_path / "m.npz"))
    for m in (model, resumed):
        for start in range(30, 60, 10):
            m.train_step(x[start:start + 10], y[start:start + 10])
    assert weights_equal(model, resumed) is not dropout


def test_verbose_1_says_what_it_saved_as_keras_does(tmp_path, capsys):
    # Keras's lines, on a line of their own after the epoch's progress line: the best so far
    # and the new one to 5 decimals, from inf before any epoch, and for an epoch that did
    # not improve, why no file was written.
    path = tmp_path / "best.npz"
    drive(ModelCheckpoint(str(path), save_best_only=True, verbose=1), [0.5, 0.7, 0.25],
          "val_loss")
    assert capsys.readouterr().out == (
        f"\nEpoch 1: val_loss improved from inf to 0.50000, saving model to {path}\n"
        "\nEpoch 2: val_loss did not improve from 0.50000\n"
        f"\nEpoch 3: val_loss improved from 0.50000 to 0.25000, saving model to {path}\n")
    drive(ModelCheckpoint(str(tmp_path / "e{epoch}"), verbose=1), [0.5], "val_loss")
    assert capsys.readouterr().out == f"\nEpoch 1: saving model to {tmp_path / 'e1.npz'}\n"
