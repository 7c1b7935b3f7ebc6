"""User code that must type-check against tinynet's hints, which the package ships (py.typed).

tests/test_typing.py runs mypy on this file and on examples/; nothing runs it. Each function is
what the README or docs/ show, or code that a wrong hint would make a type error. A line with
``# type: ignore[...]`` is code a type checker must refuse, as tinynet refuses it at run time:
mypy runs with --warn-unused-ignores, so an ignore that is not needed fails the check.
"""

import gzip
from pathlib import Path

import numpy as np

import tinynet
from tinynet import SGD, CrossEntropy, Dense, ModelCheckpoint, Sequential, init
from tinynet.callbacks import Callback, LearningRateScheduler, exponential_decay
from tinynet.datasets import read_idx


def manual_step() -> float:
    # The README's step by hand: step takes the (param, grad) pairs that parameters() gives.
    model = Sequential([Dense(4, 3)], seed=0)
    criterion, optimizer = CrossEntropy(from_logits=True), SGD(lr=0.1)
    loss = criterion(model(np.ones((2, 4)), training=True), np.array([0, 2]))
    model.backward(criterion.backward())
    optimizer.step(model.parameters())
    return loss


def evaluate(model: Sequential, x: np.ndarray, y: np.ndarray) -> float:
    loss, accuracy = model.evaluate(x, y)
    logs = model.evaluate(x, y, return_dict=True)
    return loss + accuracy + logs["accuracy"]


class StopAt(Callback):
    """docs/training.md's callback, its hooks annotated as a typed project writes them."""

    def __init__(self, target: float) -> None:
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if logs is not None and logs["accuracy"] >= self.target:
            self.model.stop_training = True


def schedule_and_initialiser() -> np.ndarray:
    schedule = exponential_decay(0.001, 0.75)
    LearningRateScheduler(schedule)
    print(schedule(3, None))  # docs/optimizers.md
    return init.get("glorot_uniform")((3, 3), np.random.default_rng(0), np.float64)  # layers.md


def files(folder: Path) -> np.ndarray:
    ModelCheckpoint(folder / "model-{epoch}.npz")
    with gzip.open(folder / "images.idx.gz", "rb") as f:
        return read_idx(f)


def curves(model: Sequential, x: np.ndarray, y: np.ndarray) -> None:
    # docs/training.md: tinynet.plot after import tinynet alone (it is imported on first use).
    tinynet.plot.plot_history(model.fit(x, y, verbose=0), path="curves.png")


def lists(model: Sequential) -> np.ndarray:
    # The model's entry points take what np.asarray takes, as Keras's do.
    model.fit([[0.0, 1.0]], [1], verbose=0, validation_data=([[1.0, 0.0]], [0]))
    model.train_step([[0.0, 1.0]], [1])
    loss, accuracy = model.evaluate([[0.0, 1.0]], [1])
    return model.predict([[0.0, 1.0]]) + model([[0.0, 1.0]]) * loss * accuracy


def refused(model: Sequential, optimizer: SGD) -> None:
    # PyTorch's methods, and a typo: a type checker reports them, as the run does.
    model.train()  # type: ignore[attr-defined]
    model.fitt(np.ones((1, 4)), np.zeros(1))  # type: ignore[attr-defined]
    optimizer.zero_grad()  # type: ignore[attr-defined]
    tinynet.Dens(4, 3)  # type: ignore[attr-defined]
