"""The reference MNIST programs, as data: model, input scaling, loss, optimiser, batch, epochs.

These are the programs of the Keras, TensorFlow and PyTorch tutorials that tinynet was
started from (README.md, "Results"). ``examples/`` spells each one out line by line; this
module holds the same definitions so that ``tinynet train`` and the benchmarks can run them
by name. ``cnn`` goes past the reference: the strongest model built from tinynet's parts.
"""

from __future__ import annotations

import argparse
import atexit
import errno
import itertools
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinynet import layers as L
from tinynet.atomic import (
    cannot_create_files,
    closed_pipe,
    error_message,
    not_a_file,
    raise_on_stop_signals,
)
from tinynet.callbacks import Callback, LearningRateScheduler, exponential_decay
from tinynet.checks import is_int_at_least, is_number
from tinynet.homework import path_arg  # argparse's type for paths, "" refused: one definition
from tinynet.losses import MSE, CrossEntropy, Loss
from tinynet.model import Sequential
from tinynet.optim import OPTIMIZERS, Optimizer

_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class Scaling:
    """How raw uint8 images (N, 28, 28) become a model's input: ``(x * scale - mean) / std``
    in float32, reshaped to (N, *shape). The scale is applied as ``x / (1 / scale)``, bit for
    bit the examples' ``x / 255``. Kept in a saved model's metadata so that ``tinynet
    evaluate`` and ``tinynet predict`` prepare images exactly as training did."""

    scale: float = 1 / 255
    mean: float = 0.0
    std: float = 1.0
    shape: tuple[int, ...] = (784,)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """uint8 images (N, 28, 28) -> float32 model input (N, *shape)."""
        # Divided, as the examples write it (x / 255): times float32(1/255), 13% of the
        # pixels round otherwise in their last bit, and the same seed trains to other numbers.
        x = np.asarray(images, dtype=np.float32) / np.float32(1 / self.scale)
        if self.mean or self.std != 1:
            x = (x - np.float32(self.mean)) / np.float32(self.std)
        return x.reshape(len(x), *self.shape)

    def to_json(self) -> dict[str, Any]:
        """The scaling as JSON values, as a saved model keeps it (:meth:`from_json` reads it)."""
        return {"scale": self.scale, "mean": self.mean, "std": self.std,
                "shape": list(self.shape)}

    @classmethod
    def from_json(cls, data: Any) -> Scaling:
        """The Scaling that :meth:`to_json` wrote. Raises ValueError, saying what was
        expected and what was found, for anything else (a model file is user input)."""
        expected = ("an object with finite numbers scale (1 / scale and 255 * scale "
                    "float32s), mean, std (not 0) and a list of ints >= 1 shape")
        keys = ("scale", "mean", "std", "shape")
        valid = (isinstance(data, dict) and all(k in data for k in keys)
                 # JSON's true is not a number, nor are NaN and 10**400
                 and all(is_number(data[k], finite=True) for k in keys[:3])
                 and data["std"] != 0  # it divides
                 # x is divided by 1 / scale, which float32 must hold: 0 or 1e-40 would
                 # make every input 0; and the largest pixel times scale too (255 * 1e37 is
                 # inf)
                 and 1 / _FLOAT32_MAX < abs(data["scale"]) <= _FLOAT32_MAX / 255
                 and isinstance(data["shape"], list)
                 and all(is_int_at_least(d, 1) for d in data["shape"]))
        if not valid:
            raise ValueError(f"expected {expected}, got {data!r}")
        return cls(float(data["scale"]), float(data["mean"]), float(data["std"]),
                   tuple(data["shape"]))


@dataclass(frozen=True)
class Program:
    """One reference program: everything ``fit`` needs besides the data."""

    name: str
    description: str
    build: Callable[[int | None], Sequential]
    scaling: Scaling
    loss: Callable[[], Loss]
    optimizer: str  # a key of tinynet.optim.OPTIMIZERS
    optimizer_args: dict[str, Any]
    batch_size: int
    epochs: int
    one_hot: bool = False  # targets as one-hot rows (N, 10) instead of labels (N,)
    # Epochs of a --quick run on 2,000 images: enough to learn something, as the example's.
    quick_epochs: int = 1
    # Callbacks for fit, given the run's first learning rate: e.g. a schedule starting from
    # it. (Not the optimiser: a loaded one holds the rate of the epoch it was saved in.)
    callbacks: Callable[[float], list[Callback]] = lambda lr: []

    def make_optimizer(self, name: str | None = None, lr: float | None = None) -> Optimizer:
        """The program's optimiser, or another one by name (with Keras's defaults); ``lr``
        overrides the learning rate."""
        name = (name or self.optimizer).lower()
        if name not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")
        kwargs = dict(self.optimizer_args) if name == self.optimizer else {}
        if lr is not None:
            kwargs["lr"] = lr
        return OPTIMIZERS[name](**kwargs)

    def metadata(self) -> dict[str, Any]:
        """What a model trained by this program records in ``model.metadata``: the program's
        name and its input scaling, from which ``tinynet evaluate``, ``predict`` and ``show``
        prepare images exactly as training did. ``tinynet train`` and the examples that save
        a model both record it."""
        return {"program": self.name, "scaling": self.scaling.to_json()}


def r1_model(seed: int | None = None) -> Sequential:
    """R1 softmax regression: Dense 784->10 with biases initialised to 1, softmax."""
    return Sequential([L.Dense(784, 10, b_init="ones"), L.Softmax()], seed=seed)


def r2_model(seed: int | None = None) -> Sequential:
    """R2 two-layer MLP: Dense 784->512, ReLU, Dense 512->10, softmax."""
    return Sequential([L.Dense(784, 512), L.ReLU(), L.Dense(512, 10), L.Softmax()], seed=seed)


def r3_model(seed: int | None = None) -> Sequential:
    """R3 small CNN on (N, 28, 28, 1): Conv 28@3x3, pool, Conv 10@4x4, pool, Dense 20, 10."""
    return Sequential([
        L.Conv2D(1, 28, 3), L.ReLU(), L.MaxPool2D(2),   # (26, 26, 28) -> (13, 13, 28)
        L.Conv2D(28, 10, 4), L.ReLU(), L.MaxPool2D(2),  # (10, 10, 10) -> (5, 5, 10)
        L.Flatten(),                                    # 250
        L.Dense(250, 20), L.ReLU(), L.Dense(20, 10), L.Softmax(),
    ], seed=seed)


def r4_model(seed: int | None = None) -> Sequential:
    """R4 deep MLP: Dense 784-512-256-128-64-10 with ReLU between, logits out."""
    return Sequential([
        L.Dense(784, 512), L.ReLU(),
        L.Dense(512, 256), L.ReLU(),
        L.Dense(256, 128), L.ReLU(),
        L.Dense(128, 64), L.ReLU(),
        L.Dense(64, 10),  # logits: the loss applies the softmax
    ], seed=seed)


def r5_model(seed: int | None = None) -> Sequential:
    """R5 low-level softmax regression: x @ W + b, W and b standard normal, softmax."""
    return Sequential([L.Dense(784, 10, W_init="normal", b_init="normal"), L.Softmax()],
                      seed=seed)


def cnn_model(seed: int | None = None) -> Sequential:
    """Past the reference: random shifts, two conv blocks, dropout; over 99.3% on MNIST."""
    return Sequential([
        L.RandomShift(2),                                    # training only: +-2 pixels
        L.Conv2D(1, 32, 3, padding="same", W_init="he_uniform"), L.ReLU(),
        L.MaxPool2D(2),                                      # (14, 14, 32)
        L.Conv2D(32, 64, 3, padding="same", W_init="he_uniform"), L.ReLU(),
        L.MaxPool2D(2),                                      # (7, 7, 64)
        L.Flatten(), L.Dropout(0.3),                         # 3136
        L.Dense(3136, 128, W_init="he_uniform"), L.ReLU(), L.Dropout(0.3),
        L.Dense(128, 10), L.Softmax(),
    ], seed=seed)


PROGRAMS: dict[str, Program] = {
    "r1": Program("r1", "softmax regression, MSE on one-hot labels, SGD lr 0.2",
                  r1_model, Scaling(), MSE, "sgd", {"lr": 0.2},
                  batch_size=32, epochs=10, one_hot=True, quick_epochs=5),
    "r2": Program("r2", "two-layer MLP 784-512-10, cross-entropy, RMSprop",
                  r2_model, Scaling(), CrossEntropy, "rmsprop", {"lr": 0.001, "rho": 0.9},
                  batch_size=128, epochs=5, one_hot=True),
    "r3": Program("r3", "small CNN on raw 0..255 pixels, sparse cross-entropy, Adam",
                  r3_model, Scaling(scale=1.0, shape=(28, 28, 1)), CrossEntropy, "adam",
                  {"lr": 0.001}, batch_size=32, epochs=10, quick_epochs=3),
    "r4": Program("r4", "deep MLP 784-512-256-128-64-10 on logits, SGD momentum 0.5",
                  r4_model, Scaling(mean=0.1307, std=0.3081),
                  lambda: CrossEntropy(from_logits=True), "sgd",
                  {"lr": 0.01, "momentum": 0.5}, batch_size=64, epochs=10),
    # R5 trains for 1000 iterations of 100 images, 1 2/3 epochs, which its example counts;
    # fit's whole epochs make it 2 (1200 steps). Its example's --quick runs 100 iterations
    # on 2,000 images: 5 epochs.
    "r5": Program("r5", "low-level softmax regression, summed cross-entropy, gradient descent",
                  r5_model, Scaling(), lambda: CrossEntropy(reduction="sum"), "sgd",
                  {"lr": 0.01}, batch_size=100, epochs=2, quick_epochs=5),
    "cnn": Program("cnn", "past the reference: shifts, 2 conv blocks, dropout, Adam with decay",
                   cnn_model, Scaling(shape=(28, 28, 1)), CrossEntropy, "adam", {"lr": 0.001},
                   batch_size=64, epochs=10, callbacks=lambda lr: [
                       LearningRateScheduler(exponential_decay(lr, 0.75))]),
}


def get(name: str) -> Program:
    """The reference program called ``name`` (a key of ``PROGRAMS``)."""
    if name not in PROGRAMS:
        raise ValueError(f"unknown model {name!r}: choose one of {', '.join(PROGRAMS)}")
    return PROGRAMS[name]


def int_in_range(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: the text as an int from ``low`` to ``high`` (no upper bound
    when None), for the examples and the ``tinynet`` command.

    It raises ArgumentTypeError itself, so that argparse's one line reads "argument --seed:
    expected an int >= 0, got '-1'" (exit status 2) rather than naming this function, and
    a bad value stops the program at once, not with a traceback after MNIST was loaded.
    """
    expected = f"an int >= {low}" if high is None else f"an int from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:  # "1.5", "x": refused with the same message as "-1"
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


def make_output_folder(folder: Path, files: Sequence[str] = ()) -> list[Path]:
    """Create ``folder`` (and its parents) for a program's outputs, before any work; a
    ValueError saying why it cannot be (a file, a parent that is a file, no permission, or
    a folder already there under the name of one of the ``files`` the program will write in
    it), rather than a traceback at the end of a training run.

    Returns the folders it created, ``folder`` first, as absolute paths (none when
    ``folder`` was there), for :func:`remove_empty_folders` once the program fails; a
    refusal has already removed them."""
    # os.path's tests, not Path's: they answer False where the path cannot be looked at (a
    # name too long, a parent not to be entered), and mkdir then says why.
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(f"expected a folder to write in, got the file {str(folder)!r}")
    # Absolute, so that removing them does not depend on the folder the program is in then.
    target = folder.absolute()
    created = list(itertools.takewhile(lambda p: not os.path.exists(p),
                                       [target, *target.parents]))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # perhaps after making some of the parents
        remove_empty_folders(created)
        # The system's words in lower case, as cannot_create_files gives them
        reason = _broken_link(folder) or (err.strerror or "cannot create it").lower()
        raise ValueError(f"cannot create the folder {str(folder)!r}: {reason}") from None
    if problem := cannot_create_files(folder):  # a parent made, then no permission
        remove_empty_folders(created)
        raise ValueError(f"cannot write in the folder {str(folder)!r} ({problem})")
    for name in files:  # only in a folder that was there: none of the created ones
        kind = not_a_file(folder / name)
        if kind:
            raise ValueError(f"{folder / name} is {kind}, expected a file (or nothing) "
                             f"there for {name}")
    return created


def _broken_link(folder: Path) -> str | None:
    """Why ``folder`` or a folder above it is a symbolic link that cannot be followed, if
    one is: mkdir says only "File exists" of a link to nothing, which neither exists nor
    can be made."""
    for path in (folder, *folder.parents):
        if os.path.islink(path):  # False, not OSError, for a name too long to look up
            try:
                path.stat()
            except FileNotFoundError:  # the end of the chain of links is missing
                return (f"{str(path)!r} is a symbolic link to {os.path.realpath(path)!r}, "
                        "which does not exist")
            except OSError as err:  # a loop of links
                return f"{str(path)!r} is a symbolic link that cannot be followed: {err.strerror}"
    return None


def remove_empty_folders(folders: Sequence[Path]) -> None:
    """Remove each of ``folders``, deepest first, while it is empty: those a failed program
    created (:func:`make_output_folder`), so that it leaves nothing behind, and never a
    folder holding a file."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            if os.path.isdir(folder):  # not empty: nor are the folders that hold it
                return
            # Never made: mkdir failed on it after making its parents ("runs/<a name too
            # long>" makes runs/), which are still to be removed.


def example_args(doc: str | None, epochs: int, quick_epochs: int = 1,
                 argv: list[str] | None = None, *, out: bool = True,
                 outputs: Sequence[str] = (),
                 quick_help: str = "a few seconds on a subset: 2,000 training and 1,000 "
                                   "test images",
                 epochs_help: str | None = None) -> argparse.Namespace:
    """The flags every example takes: ``--epochs``, ``--seed``, ``--quick``, ``--out``.

    ``--quick`` trains for ``quick_epochs`` (unless ``--epochs`` says otherwise) on a small
    subset, for a smoke test (see :func:`quick_subset`). Every value is checked here, before
    the example loads anything: ``--epochs`` an int >= 1, ``--seed`` an int >= 0, and the
    ``--out`` folder is created (default ``runs``), where none of the file names
    ``outputs`` the example will write may be a folder. A bad value exits with status 2 and
    argparse's one-line error. The folders created for ``--out`` are removed at exit if they
    are still empty: an example that fails, or is interrupted, before writing in them leaves
    nothing behind, as ``tinynet train`` does. Parsing the script's own command line
    (``argv`` None), it also makes SIGTERM and SIGHUP raise SystemExit for the rest of the
    process (:func:`tinynet.atomic.raise_on_stop_signals`), so that a ``kill`` cleans up
    too, and Ctrl-C or an error of the system's (a full disk) end the script with one line,
    "r2_mlp.py: interrupted", not a traceback (nor a closed pipe with one). ``out=False``
    leaves ``--out`` out, for an example that saves nothing (manual_loop.py);
    ``quick_help`` says what its ``--quick`` does, and ``epochs_help`` what its
    ``--epochs`` counts, if not fit's epochs (R5 counts rounds of iterations).
    """
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    parser.add_argument("--epochs", type=int_in_range(1),
                        help=epochs_help or f"default {epochs}, {quick_epochs} with --quick")
    parser.add_argument("--seed", type=int_in_range(0), default=0,
                        help="seed of weights and shuffling (default 0)")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    if out:
        parser.add_argument("--out", type=path_arg, default=Path("runs"),
                            help=f"folder for {', '.join(outputs) or 'the outputs'}, "
                            "created if missing (runs/)")
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = quick_epochs if args.quick else epochs
    if out:
        try:
            created = make_output_folder(args.out, outputs)
        except ValueError as err:
            parser.error(f"argument --out: {err}")
        # At exit, whether the example ends or fails: one that wrote its plots keeps them.
        atexit.register(remove_empty_folders, created)
    if argv is None:  # a script's own command line: its process is the example's
        # Stopped by kill or a closed terminal too, which would otherwise skip atexit.
        raise_on_stop_signals()
        sys.excepthook = _ends_in_one_line(parser.prog, sys.excepthook)
    return args


#: The system's errors that name no file and are no bug of the code: a full disk, a quota,
#: a read-only file system, a permission refused, a failing disk.
_SYSTEM_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


def _ends_in_one_line(prog: str, hook: Callable[..., Any]) -> Callable[..., Any]:
    """``sys.excepthook`` for an example: Ctrl-C prints "r2_mlp.py: interrupted", as
    ``tinynet train`` does, rather than the traceback of wherever training was, and a reader
    that went away (``python examples/r2_mlp.py | head``) ends it quietly, as it does
    ``tinynet``. An error of the system's about a file, or a full disk or a read-only
    folder (see _SYSTEM_ERRNOS), is one line too, "r2_mlp.py: error: runs/r2_curves.png: no
    space left on device", as ``tinynet train`` reports it; any other exception (an OSError
    of no file, ``io.UnsupportedOperation`` say) is a bug, and goes to ``hook``. Python
    still exits with the status of SIGINT (130 in a shell), or 1, and runs ``atexit``
    first."""

    def excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        if issubclass(kind, KeyboardInterrupt):
            print(f"{prog}: interrupted", file=sys.stderr)
        elif closed_pipe(value):
            # stdout to devnull, so that Python's own flush at exit does not fail on the
            # same pipe again (the Python docs' "Note on SIGPIPE").
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        elif isinstance(value, OSError) and (value.filename is not None
                                             or value.errno in _SYSTEM_ERRNOS):
            print(f"{prog}: error: {error_message(value)}", file=sys.stderr)
        else:
            hook(kind, value, tb)

    return excepthook


#: What ``load_mnist()`` returns: ``((x_train, y_train), (x_test, y_test))``.
MnistData = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def quick_subset(data: MnistData, n_train: int = 2000, n_test: int = 1000) -> MnistData:
    """The first ``n_train`` training and ``n_test`` test samples of ``load_mnist()``'s
    ``((x_train, y_train), (x_test, y_test))``, in the same nesting."""
    (x_train, y_train), (x_test, y_test) = data
    return (x_train[:n_train], y_train[:n_train]), (x_test[:n_test], y_test[:n_test])
