"""The ``tinynet`` command (also ``python -m tinynet``): train, evaluate, predict, show, and
homework (student copies and grading, see docs/homework.md).

Each subcommand has ``--help``. Errors a user can cause (a missing file, a file that is not
a model or not an image) end with one line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import tinynet
from tinynet import homework, reference


class CommandError(Exception):
    """A problem to report to the user in one line."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tinynet`` command and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="tinynet", description="A small, readable neural-network library in NumPy.")
    parser.add_argument("--version", action="version", version=f"tinynet {tinynet.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    data_help = "folder holding the four MNIST IDX files (default: the copy shipped with tinynet)"

    p = sub.add_parser("train", help="train a reference model on MNIST",
                       description="Train a reference model on MNIST, save it, its history "
                       "and its training curves, and print the test accuracy.")
    p.add_argument("--model", default="r2", choices=list(reference.PROGRAMS),
                   help="the reference program (default: r2, the two-layer MLP); " + "; ".join(
                       f"{k}: {v.description}" for k, v in reference.PROGRAMS.items()))
    p.add_argument("--epochs", type=_positive_int, help="default: the program's")
    p.add_argument("--batch-size", type=_positive_int, help="default: the program's")
    p.add_argument("--optimizer", choices=list(tinynet.optim.OPTIMIZERS),
                   help="default: the program's")
    p.add_argument("--lr", type=homework.positive_float,
                   help="learning rate (default: the program's)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights and shuffling (0)")
    p.add_argument("--out", type=Path, default=Path("runs"),
                   help="output folder for model.npz, history.json, curves.png (runs/)")
    p.add_argument("--quick", action="store_true",
                   help="train one epoch on 2,000 images and test on 1,000 (for a smoke test)")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                   help="0 silent, 1 a progress bar, 2 a line per epoch")
    p.add_argument("--data", type=Path, help=data_help)
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("evaluate", help="test a saved model on the MNIST test set",
                       description="Print the test loss, accuracy and per-class accuracy of a "
                       "saved model, and save its confusion matrix as a PNG.")
    p.add_argument("model", type=Path, help="a model saved by tinynet (.npz)")
    p.add_argument("--out", type=Path,
                   help="PNG for the confusion matrix (default: beside the model)")
    p.add_argument("--data", type=Path, help=data_help)
    p.set_defaults(run=cmd_evaluate)

    p = sub.add_parser("predict", help="read digits from your own images",
                       description="Prepare each image as MNIST digits were prepared (crop, "
                       "fit into 20x20, centre by centre of mass in 28x28) and print the "
                       "predicted digit and the ten probabilities.")
    p.add_argument("model", type=Path, help="a model saved by tinynet (.npz)")
    p.add_argument("images", type=Path, nargs="+", help="PNG images, one digit each")
    p.set_defaults(run=cmd_predict)

    p = sub.add_parser("show", help="draw a grid of MNIST digits with their labels",
                       description="Save a grid of MNIST digits with their labels, and the "
                       "model's predictions when a model is given.")
    p.add_argument("--model", type=Path, help="a saved model whose predictions to show")
    p.add_argument("--count", type=_positive_int, default=16, help="how many digits (16)")
    p.add_argument("--start", type=int, default=0, help="index of the first digit (0)")
    p.add_argument("--train", action="store_true", help="the training set (default: test)")
    p.add_argument("--out", type=Path, default=Path("digits.png"), help="the PNG (digits.png)")
    p.add_argument("--data", type=Path, help=data_help)
    p.set_defaults(run=cmd_show)

    homework.add_parser(sub)
    return parser


# ------------------------------------------------------------------------------ helpers
def _load_data(folder: Path | None):
    from tinynet.datasets import load_mnist

    return load_mnist(folder)


def _load_model(path: Path) -> tinynet.Sequential:
    from tinynet.io import load_model

    if not path.exists():
        raise CommandError(f"{path}: no such file")
    return load_model(path)


def _scaling(model: tinynet.Sequential) -> reference.Scaling:
    """The input scaling recorded when the model was trained, or MNIST's usual one."""
    if "scaling" in model.metadata:
        return reference.Scaling.from_json(model.metadata["scaling"])
    first = model.layers[0]
    shape = (28, 28, 1) if type(first).__name__ == "Conv2D" else (784,)
    return reference.Scaling(shape=shape)


def _probabilities(model: tinynet.Sequential, x: np.ndarray) -> np.ndarray:
    """(N, 10) probabilities, applying softmax to a model that outputs logits."""
    out = model.predict(x)
    if not isinstance(model.layers[-1], tinynet.Softmax):
        out = tinynet.layers.softmax(out)
    return out


def _targets(model: tinynet.Sequential, labels: np.ndarray) -> np.ndarray:
    # MSE compares with one-hot rows; cross-entropy takes the labels themselves.
    if isinstance(model.loss, tinynet.MSE):
        from tinynet.datasets import one_hot

        return one_hot(labels, 10)
    return labels


# ----------------------------------------------------------------------------- commands
def cmd_train(args: argparse.Namespace) -> int:
    """``tinynet train``."""
    from tinynet.plot import plot_history

    program = reference.get(args.model)
    data = _load_data(args.data)
    (x_train, y_train), (x_test, y_test) = reference.quick_subset(data) if args.quick else data
    epochs = args.epochs or (1 if args.quick else program.epochs)
    model = program.build(args.seed)
    model.compile(loss=program.loss(), optimizer=program.make_optimizer(args.optimizer, args.lr))
    model.metadata = {"program": program.name, "scaling": program.scaling.to_json()}
    x, x_val = program.scaling(x_train), program.scaling(x_test)
    y, y_val = _targets(model, y_train), _targets(model, y_test)

    print(f"tinynet train {program.name}: {program.description}")
    if args.verbose:
        model.summary()
    start = time.perf_counter()
    history = model.fit(x, y, epochs=epochs, batch_size=args.batch_size or program.batch_size,
                        validation_data=(x_val, y_val), verbose=args.verbose,
                        callbacks=program.callbacks(model.optimizer))
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_val, y_val)

    args.out.mkdir(parents=True, exist_ok=True)
    model.save(args.out / "model.npz")
    (args.out / "history.json").write_text(json.dumps(history.history, indent=1) + "\n")
    plot_history(history, path=args.out / "curves.png")
    print(f"trained {epochs} epoch(s) in {seconds:.1f}s; saved model.npz, history.json and "
          f"curves.png in {args.out}/")
    print(f"test loss: {loss:.4f}")
    print(f"test accuracy: {accuracy:.4f}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``tinynet evaluate MODEL``."""
    from tinynet.metrics import confusion_matrix
    from tinynet.plot import plot_confusion_matrix

    model = _load_model(args.model)
    _, (x_test, y_test) = _load_data(args.data)
    x = _scaling(model)(x_test)
    if model.loss is None:
        model.compile(loss=tinynet.CrossEntropy(from_logits=not isinstance(
            model.layers[-1], tinynet.Softmax)), optimizer="sgd")
    loss, accuracy = model.evaluate(x, _targets(model, y_test))
    predicted = _probabilities(model, x).argmax(axis=1)
    cm = confusion_matrix(y_test.astype(np.int64), predicted, 10)
    print(f"test loss: {loss:.4f}")
    print(f"test accuracy: {accuracy:.4f}")
    print("per-class accuracy:")
    for digit in range(10):
        print(f"  {digit}: {cm[digit, digit] / max(cm[digit].sum(), 1):.4f}  "
              f"({cm[digit, digit]}/{cm[digit].sum()})")
    out = args.out or args.model.with_name(args.model.stem + "_confusion.png")
    plot_confusion_matrix(cm, path=out)
    print(f"confusion matrix: {out}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """``tinynet predict MODEL IMAGE...``."""
    from tinynet.imaging import load_grey, prepare_digit

    model = _load_model(args.model)
    scaling = _scaling(model)
    for path in args.images:
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        digit = prepare_digit(load_grey(path))  # (28, 28) uint8, like MNIST
        p = _probabilities(model, scaling(digit[None]))[0]
        print(f"{path}: {int(p.argmax())}")
        print("  " + "  ".join(f"{k}: {p[k]:.4f}" for k in range(10)))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """``tinynet show``."""
    from tinynet.plot import plot_digits

    (x_train, y_train), (x_test, y_test) = _load_data(args.data)
    images, labels = (x_train, y_train) if args.train else (x_test, y_test)
    if not 0 <= args.start < len(images):
        raise CommandError(f"--start must be in [0, {len(images)}), got {args.start}")
    images = images[args.start:args.start + args.count]
    labels = labels[args.start:args.start + args.count]
    predictions = None
    if args.model is not None:
        model = _load_model(args.model)
        predictions = _probabilities(model, _scaling(model)(images)).argmax(axis=1)
    plot_digits(images, labels, predictions=predictions, path=args.out)
    print(f"saved {len(images)} digits to {args.out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("tinynet: interrupted", file=sys.stderr)
        return 130
    except (CommandError, OSError, ValueError, FloatingPointError) as e:
        print(f"tinynet {args.command}: error: {e}", file=sys.stderr)
        return 1
