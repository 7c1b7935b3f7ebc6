"""The ``tinynet`` command (also ``python -m tinynet``): train, evaluate, predict, show, and
homework (student copies and grading, see docs/homework.md).

Each subcommand has ``--help``. Errors a user can cause (a missing file, a file that is not
a model or not an image, an output path that cannot be written) end with one line on stderr
and exit status 1 (2 for ``homework list`` and ``grade``, whose 1 is a result: a part not
passed, a test file not collected), never a traceback; they are found before any long work
starts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

import tinynet
from tinynet import homework, reference
from tinynet.atomic import (
    cannot_create_files,
    closed_pipe,
    error_message,
    not_a_file,
    signals_held,
    stop_signals_raise,
    target_folder,
    write_atomic,
)
from tinynet.losses import Loss

#: What ``evaluate --out`` and ``show --out`` can write (formats matplotlib always has).
IMAGE_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")
#: The most digits ``show`` draws: a 40x10 grid is already more than a screen shows. (The
#: limit of tinynet.plot.MAX_DIGITS: that module, and matplotlib, load only when needed.)
MAX_SHOW = 400
#: The files ``tinynet train`` writes in its --out folder.
TRAIN_OUTPUTS = ("model.npz", "history.json", "curves.png")


class CommandError(Exception):
    """A problem to report to the user in one line."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tinynet`` command and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="tinynet", description="A small, readable neural-network library in NumPy.")
    parser.add_argument("--version", action="version", version=f"tinynet {tinynet.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    data_help = "folder holding the four MNIST IDX files (default: the copy shipped with tinynet)"
    model_help = ("a model saved by tinynet (.npz, which may be left out, as load_model "
                  "allows); with no input scaling recorded, pixels / 255 is assumed")
    image_help = (f"a file ending in {', '.join(IMAGE_SUFFIXES)}, or an existing folder to "
                  "write {} in")

    p = sub.add_parser("train", help="train a reference model on MNIST",
                       description="Train a reference model on MNIST, save it, its history "
                       "and its training curves, and print the test accuracy.")
    p.add_argument("--model", default="r2", type=str.lower, choices=list(reference.PROGRAMS),
                   help="the reference program (default: r2, the two-layer MLP); " + "; ".join(
                       f"{k}: {v.description}" for k, v in reference.PROGRAMS.items()))
    quick = ", ".join(f"{k} {v.quick_epochs}" for k, v in reference.PROGRAMS.items())
    p.add_argument("--epochs", type=reference.int_in_range(1),
                   help=f"default: the program's; with --quick, as its example's ({quick})")
    p.add_argument("--batch-size", type=reference.int_in_range(1), help="default: the program's")
    # Any case, as compile takes the names: --optimizer Adam is adam.
    p.add_argument("--optimizer", type=str.lower, choices=list(tinynet.optim.OPTIMIZERS),
                   help="default: the program's")
    p.add_argument("--lr", type=homework.positive_float,
                   help="learning rate (default: the program's)")
    p.add_argument("--seed", type=reference.int_in_range(0), default=0,
                   help="seed of weights and shuffling (0)")
    p.add_argument("--out", type=reference.path_arg, default=Path("runs"),
                   help=f"output folder for {', '.join(TRAIN_OUTPUTS)}, created if missing "
                   "and checked before training (runs/)")
    p.add_argument("--quick", action="store_true",
                   help="train on 2,000 images and test on 1,000, a smoke test (its "
                   "epochs: see --epochs)")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                   help="the progress of the epochs: 0 none, 1 a bar, 2 a line per epoch")
    p.add_argument("--data", type=reference.path_arg, help=data_help)
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("evaluate", help="test a saved model on the MNIST test set",
                       description="Print the test loss, accuracy and per-class accuracy of a "
                       "saved model, and save its confusion matrix as an image.")
    p.add_argument("model", type=reference.path_arg, help=model_help)
    p.add_argument("--out", type=reference.path_arg,
                   help="the confusion matrix: " + image_help.format("MODEL_confusion.png")
                   + " (default: MODEL_confusion.png beside the model)")
    p.add_argument("--data", type=reference.path_arg, help=data_help)
    p.set_defaults(run=cmd_evaluate)

    p = sub.add_parser("predict", help="read digits from your own images",
                       description="Prepare each image as MNIST digits were prepared (crop, "
                       "fit into 20x20, centre by centre of mass in 28x28) and print the "
                       "predicted digit and the ten probabilities.")
    p.add_argument("model", type=reference.path_arg, help=model_help)
    p.add_argument("images", type=reference.path_arg, nargs="+",
                   help="images (PNG, JPEG, GIF, BMP, TIFF or WebP: whatever Pillow reads), "
                   "one digit each")
    p.set_defaults(run=cmd_predict)

    p = sub.add_parser("show", help="draw a grid of MNIST digits with their labels",
                       description="Save a grid of MNIST digits with their labels, and the "
                       "model's predictions when a model is given.")
    p.add_argument("--model", type=reference.path_arg,
                   help="a saved model whose predictions to show; with no input scaling "
                   "recorded, pixels / 255 is assumed")
    p.add_argument("--count", type=reference.int_in_range(1, MAX_SHOW), default=16,
                   help=f"how many digits, at most {MAX_SHOW} (16)")
    p.add_argument("--start", type=reference.int_in_range(0), default=0,
                   help="index of the first digit (0)")
    p.add_argument("--train", action="store_true", help="the training set (default: test)")
    p.add_argument("--out", type=reference.path_arg,
                   help="the grid: " + image_help.format("digits.png") + " (digits.png)")
    p.add_argument("--data", type=reference.path_arg, help=data_help)
    p.set_defaults(run=cmd_show)

    homework.add_parser(sub)
    return parser


# ------------------------------------------------------------------------------ helpers
def _load_data(folder: Path | None
               ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """MNIST, from ``--data`` when given; its problems are reported as --data's, not as those
    of load_mnist's ``path``, a name the user never wrote."""
    from tinynet.datasets import load_mnist

    if folder is None:
        return load_mnist()
    if not folder.is_dir():
        raise CommandError(f"--data: expected a folder holding the four MNIST IDX files, got "
                           f"{str(folder)!r} ({'a file' if folder.exists() else 'nothing there'})")
    try:
        return load_mnist(folder)
    except (OSError, ValueError) as err:
        # load_mnist's advice is for Python callers: say it in the command's words.
        message = (error_message(err).removeprefix("load_mnist: ")
                   .replace("call load_mnist() without a path", "leave --data out")
                   .split(". To load other data")[0])  # verify=False: not an option here
        raise CommandError(f"--data: {message}") from None


def _load_model(path: Path) -> tinynet.Sequential:
    from tinynet.io import load_model

    if path.is_dir():  # also "." and "/", which load_model refuses as naming no file
        raise CommandError(f"{path}: is a folder, expected a model file (.npz)")
    # load_model's advice for parts of one's own (pass them in custom_objects) is for Python
    # callers: the command can only say where it applies.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = load_model(path)  # which also finds "runs/model" saved as runs/model.npz
        except FileNotFoundError:
            raise CommandError(f"{path}: no such file") from None
        except ValueError as err:
            if "custom_objects=" not in str(err):
                raise
            raise CommandError(f"{err} in Python: the tinynet command loads tinynet's own "
                               "classes only") from None
    for warning in caught:
        # A metric function of one's own, which the file names only, is left out: the
        # command computes the accuracy itself. One line, not a warning and its source line.
        message = str(warning.message).split("; pass it to load it")[0]
        if message != str(warning.message):
            message += ": left out (the tinynet command does not use it)"
        print(message, file=sys.stderr)
    return model


def _input_shape(model: tinynet.Sequential) -> tuple[int, ...] | None:
    """The shape of one input sample as the model itself fixes it: the shape it last saw
    (saved with it), else what its first shape-fixing layer takes; None if nothing does."""
    if model.input_shape is not None:
        return tuple(model.input_shape)
    for layer in model.layers:
        shape = getattr(layer, "input_shape", None)  # Dense: (in_features,)
        if shape is not None:
            return tuple(shape)
        channels = getattr(layer, "in_channels", None)  # Conv2D: images of any height and
        if channels is not None:                        # width; MNIST's are 28x28
            return (28, 28, channels)
    return None


def _scaling(model: tinynet.Sequential, path: Path) -> reference.Scaling:
    """The input scaling recorded when the model was trained; for a model that records none,
    pixels / 255 in the input shape the model fixes."""
    if "scaling" in model.metadata:
        try:
            return reference.Scaling.from_json(model.metadata["scaling"])
        except ValueError as err:
            raise CommandError(f"{path}: invalid metadata 'scaling': {err}") from None
    shape = _input_shape(model)
    if shape is None:
        raise CommandError(f"{path}: records no input scaling, and no layer fixes the input "
                           "shape (expected a Dense or Conv2D layer)")
    return reference.Scaling(shape=shape)


def _load_classifier(path: Path) -> tuple[tinynet.Sequential, reference.Scaling]:
    """The model saved at ``path`` and its input scaling, checked to turn one MNIST image
    into 10 numbers, so that a model of another shape is a one-line error, not a traceback
    or a grid of nonsense. Says on stderr when the scaling is assumed (see :func:`_scaling`)."""
    model = _load_model(path)
    if not model.layers:
        raise CommandError(f"{path}: the model has no layers")
    scaling = _scaling(model, path)
    if int(np.prod(scaling.shape)) != 28 * 28:
        raise CommandError(f"{path}: the model takes inputs of shape {scaling.shape}, expected "
                           "784 numbers in all (one 28x28 MNIST image)")
    # A model saved after its training diverged loads as it was saved, but every output is
    # NaN: its "digit" would be 0 and its accuracy chance.
    bad = sum(int(np.count_nonzero(~np.isfinite(p))) for p, _ in model.parameters())
    if bad:
        raise CommandError(f"{path}: the model's weights hold {bad} NaN or infinite "
                           f"value{'s' * (bad != 1)} (saved after its training diverged?), so "
                           "it cannot predict")
    # One blank image through the network: each layer's own check names what does not fit.
    try:
        out = model.predict(scaling(np.zeros((1, 28, 28), np.uint8)))
    except ValueError as err:
        raise CommandError(f"{path}: the model does not run on MNIST images of shape "
                           f"{scaling.shape}: {err}") from None
    if out.shape != (1, 10):
        raise CommandError(f"{path}: the model outputs shape {out.shape[1:]} per image, "
                           "expected (10,): one number per digit")
    if "scaling" not in model.metadata:  # said once the model is known to work at all
        print(f"{path} records no input scaling: assuming pixels / 255", file=sys.stderr)
    return model, scaling


def _image_out(out: Path, default_name: str) -> Path:
    """The image file ``--out`` names: ``out`` itself, or ``default_name`` inside it when it
    is an existing folder. Checked before any work, so that a bad path does not fail after
    all the results were printed."""
    if out.is_dir():
        out = out / default_name
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise CommandError(f"--out: expected an existing folder or a file ending in "
                           f"{', '.join(IMAGE_SUFFIXES)}, got {str(out)!r}")
    if not out.parent.is_dir():
        raise CommandError(f"--out: expected an existing folder to write {out.name} in, "
                           f"got {str(out.parent)!r}")
    _check_writable(out, "--out: ")
    return out


def _check_writable(out: Path, where: str = "", hint: str = "") -> None:
    """Refuse, before any work, an image that could not be written: it is written to a
    temporary file in its folder and renamed over ``out``, so the folder must be writable,
    and ``out`` must not be a folder (evaluate's default image, beside the model, may be)."""
    kind = not_a_file(out)
    if kind:
        raise CommandError(f"{where}{out} is {kind}, expected an image file to write{hint}")
    folder = target_folder(out)  # through a symbolic link, the folder it points into
    if reason := cannot_create_files(folder):
        raise CommandError(f"{where}cannot write {out.name} in the folder {str(folder)!r} "
                           f"({reason}){hint}")


def _output_folder(folder: Path) -> list[Path]:
    """Create ``folder`` for ``tinynet train`` and check each file it will write there, so
    that a bad --out fails before training rather than after (and leaves nothing behind).
    Returns the folders it created, ``folder`` first, for
    :func:`tinynet.reference.remove_empty_folders`."""
    try:
        return reference.make_output_folder(folder, TRAIN_OUTPUTS)
    except ValueError as err:
        raise CommandError(f"--out: {err}") from None


def _write_together(files: Sequence[tuple[Path, Callable[[Path], object]]]) -> None:
    """Write each ``(target, write)`` as :func:`write_atomic` does, all of them or none:
    every temporary file is written before the first is renamed over its target, so a
    ``write`` that fails (or Ctrl-C) leaves every target as it was, never a new model beside
    the last run's curves. From the first rename to the last, Ctrl-C and the stop signals
    are held (:func:`signals_held`). They are renamed in order, so the first should be the
    one whose rename is likeliest to fail: on Windows, a file another program has open (a
    notebook's ``np.load`` of the model) cannot be replaced, and its refusal then changes
    nothing."""
    with contextlib.ExitStack() as renaming:

        def write_then_rename(files: Sequence[tuple[Path, Callable[[Path], object]]]) -> None:
            if not files:
                renaming.enter_context(signals_held())  # every file written: renames follow
                return
            *first, (target, write) = files

            def write_all(tmp: Path) -> None:
                write(tmp)
                write_then_rename(first)  # the files before this one: written, then renamed

            write_atomic(target, write_all)

        write_then_rename(files)


def _probabilities(model: tinynet.Sequential, x: np.ndarray) -> np.ndarray:
    """(N, 10) probabilities: the outputs of a model that ends in Softmax, or in Sigmoid (a
    probability per class, one class against the rest: softmax of them would flatten them
    all towards 0.1); softmax of the outputs of any other, which are logits."""
    out = model.predict(x)
    if not isinstance(model.layers[-1], tinynet.Softmax | tinynet.Sigmoid):
        out = tinynet.layers.softmax(out)
    return out


def _loss_line(loss_fn: Loss, loss: float, n: int) -> str:
    """The line that reports ``loss``, what ``model.evaluate`` returned on ``n`` images for a
    model compiled with ``loss_fn``: a mean per image, as ``fit`` logs ``val_loss`` whatever
    the loss's reduction, so that the two compare. For a loss with ``reduction="sum"``
    (R5's), evaluate returns the sum over the images, which the line gives too, saying so."""
    if loss_fn.reduction == "sum":
        return (f"test loss: {loss / n:.4f} (mean per image; summed over the {n} images: "
                f"{loss:.1f})")
    return f"test loss: {loss:.4f}"


def _targets(model: tinynet.Sequential, labels: np.ndarray) -> np.ndarray:
    # MSE compares with one-hot rows; cross-entropy takes the labels themselves.
    if isinstance(model.loss, tinynet.MSE):
        from tinynet.datasets import one_hot

        return one_hot(labels, 10)
    return labels


# ----------------------------------------------------------------------------- commands
def cmd_train(args: argparse.Namespace) -> int:
    """``tinynet train``."""
    program = reference.get(args.model)
    created = _output_folder(args.out)
    try:
        return _train(args, program)
    except BaseException:
        # A run that fails (bad --data, a divergence, Ctrl-C) leaves no trace, not even the
        # folder it created for its outputs.
        reference.remove_empty_folders(created)
        raise


def _train(args: argparse.Namespace, program: reference.Program) -> int:
    """``tinynet train`` once its --out folder is ready: train, save, report."""
    from tinynet.plot import plot_history

    data = _load_data(args.data)
    (x_train, y_train), (x_test, y_test) = reference.quick_subset(data) if args.quick else data
    epochs = args.epochs or (program.quick_epochs if args.quick else program.epochs)
    model = program.build(args.seed)
    loss_fn, optimizer = program.loss(), program.make_optimizer(args.optimizer, args.lr)
    model.compile(loss=loss_fn, optimizer=optimizer)
    model.metadata = program.metadata()
    x, x_val = program.scaling(x_train), program.scaling(x_test)
    y, y_val = _targets(model, y_train), _targets(model, y_test)

    print(f"tinynet train {program.name}: {program.description}")
    if args.optimizer or args.lr:  # the description names the program's own optimiser
        config = ", ".join(f"{k} {v}" for k, v in optimizer.get_config().items())
        print(f"optimizer, as asked: {type(optimizer).__name__}, {config}")
    if args.verbose:  # the shape of the input, or a CNN's output shapes all show as "?"
        model.summary(input_shape=program.scaling.shape)
    start = time.perf_counter()
    # A run that diverges (too high an --lr) overflows on its way to a NaN loss, which fit
    # reports in one line saying what to try: numpy's warnings of the overflow, two lines
    # each, on the way there would only bury that line.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        history = model.fit(x, y, epochs=epochs,
                            batch_size=args.batch_size or program.batch_size,
                            validation_data=(x_val, y_val), verbose=args.verbose,
                            callbacks=program.callbacks(optimizer.lr))  # its first rate
        seconds = time.perf_counter() - start
        loss, accuracy = model.evaluate(x_val, y_val)

    text = json.dumps(history.history, indent=1) + "\n"
    # Made again if gone: another run given the same new --out, stopped early, removes the
    # empty folder it made, and this run's training would be lost for want of it.
    args.out.mkdir(parents=True, exist_ok=True)
    _write_together([(args.out / "model.npz", model.save),
                     (args.out / "history.json", lambda tmp: tmp.write_text(text)),
                     (args.out / "curves.png", lambda tmp: plot_history(history, path=tmp))])
    print(f"trained {epochs} epoch(s) in {seconds:.1f}s; saved {', '.join(TRAIN_OUTPUTS)} "
          f"in {args.out}/")
    print(_loss_line(loss_fn, loss, len(x_val)))
    print(f"test accuracy: {accuracy:.4f}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``tinynet evaluate MODEL``."""
    from tinynet.io import model_path
    from tinynet.metrics import confusion_matrix
    from tinynet.plot import plot_confusion_matrix

    model, scaling = _load_classifier(args.model)
    # The name of the file save wrote, without its ".npz": "runs/v1.2" is runs/v1.2.npz,
    # whose image is v1.2_confusion.png, not v1 (Path.stem takes ".2" for a suffix).
    default_name = model_path(args.model).stem + "_confusion.png"
    out = _image_out(args.out, default_name) if args.out else None
    if out is None:  # beside the model, which is now known to be a file
        out = args.model.with_name(default_name)
        _check_writable(out, hint="; say where to write it with --out")
    _, (x_test, y_test) = _load_data(args.data)
    x = scaling(x_test)
    loss_fn = model.loss
    if loss_fn is None and isinstance(model.layers[-1], tinynet.Sigmoid):
        # A probability per class, one against the rest: cross-entropy over the ten digits
        # takes one distribution per image, so a loss would mean nothing.
        loss_text = ("test loss: - (saved without its loss, and its Sigmoid outputs are no "
                     "distribution over the digits)")
    else:
        if loss_fn is None:
            loss_fn = tinynet.CrossEntropy(from_logits=not isinstance(model.layers[-1],
                                                                      tinynet.Softmax))
            model.compile(loss=loss_fn, optimizer="sgd")
        values = model.evaluate(x, _targets(model, y_test))
        loss = values[0] if isinstance(values, tuple) else values  # no metrics: the loss alone
        loss_text = _loss_line(loss_fn, loss, len(x))
    predicted = _probabilities(model, x).argmax(axis=1)
    cm = confusion_matrix(y_test.astype(np.int64), predicted, 10)
    accuracy = np.trace(cm) / len(x)  # whatever metrics the model was saved with
    print(loss_text)
    print(f"test accuracy: {accuracy:.4f}")
    print("per-class accuracy:")
    for digit in range(10):
        print(f"  {digit}: {cm[digit, digit] / max(cm[digit].sum(), 1):.4f}  "
              f"({cm[digit, digit]}/{cm[digit].sum()})")
    plot_confusion_matrix(cm, path=out)  # written atomically, as every plot is
    print(f"confusion matrix: {out}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """``tinynet predict MODEL IMAGE...``.

    The model and every image path are checked before any image is read, so that a typo in
    the last name is not found after the first results. Then each image is prepared on its
    own: a good one prints its digit and the ten probabilities on stdout; a bad one (not an
    image, blank, ink not told from paper) prints one line on stderr naming the file, and
    the rest are still read, as one bad picture among many should not hide the others'
    results. The exit status is 1 when any image failed, so that a script still notices.
    """
    from tinynet.imaging import load_grey, prepare_digit

    model, scaling = _load_classifier(args.model)
    problems = []
    for path in args.images:
        if not path.exists():
            problems.append(f"{path}: no such file")
        elif path.is_dir():
            problems.append(f"{path}: is a folder, expected an image file")
    for problem in problems:  # one line each: every bad name at once, not one per run
        print(f"tinynet {args.command}: error: {problem}", file=sys.stderr)
    if problems:
        return 1

    failed = 0
    for path in args.images:
        try:
            digit = prepare_digit(load_grey(path))  # (28, 28) uint8, like MNIST
        except (OSError, ValueError) as e:
            # Every line names the file: load_grey's messages already start with it, and
            # "prepare_digit: " names a function the user never called.
            reason = error_message(e).removeprefix(f"{path}: ").removeprefix("prepare_digit: ")
            print(f"tinynet {args.command}: error: {path}: {reason}", file=sys.stderr)
            failed += 1
            continue
        p = _probabilities(model, scaling(digit[None]))[0]
        print(f"{path}: {int(p.argmax())}")
        print("  " + "  ".join(f"{k}: {p[k]:.4f}" for k in range(10)))
    return 1 if failed else 0


def cmd_show(args: argparse.Namespace) -> int:
    """``tinynet show``."""
    from tinynet.plot import plot_digits

    if args.out is None:  # digits.png here: a folder that refuses it is not --out's
        out = Path("digits.png")
        _check_writable(out, hint="; say where to write it with --out")
    else:
        out = _image_out(args.out, "digits.png")
    classifier = _load_classifier(args.model) if args.model is not None else None
    (x_train, y_train), (x_test, y_test) = _load_data(args.data)
    images, labels = (x_train, y_train) if args.train else (x_test, y_test)
    if args.start >= len(images):
        raise CommandError(f"--start: expected an int from 0 to {len(images) - 1}, "
                           f"got {args.start}")
    images = images[args.start:args.start + args.count]
    labels = labels[args.start:args.start + args.count]
    predictions = None
    if classifier is not None:
        model, scaling = classifier
        predictions = _probabilities(model, scaling(images)).argmax(axis=1)
    plot_digits(images, labels, predictions=predictions, path=out)
    print(f"saved {len(images)} digit{'s' if len(images) != 1 else ''} to {out}")
    return 0


def _run(argv: Sequence[str] | None, parser: argparse.ArgumentParser) -> int:
    """Parse ``argv`` and run the subcommand; a user's error becomes one line and status 1
    (or the subcommand's ``error_status``: ``homework grade`` returns 1 for a grade)."""
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):  # no subcommand, or `homework` with no action: its help
        getattr(args, "print_help", parser.print_help)()
        return 0
    name = f"{parser.prog} {args.command}" if getattr(args, "command", None) else parser.prog
    try:
        # SIGTERM and SIGHUP raise SystemExit, which passes through here as Ctrl-C's
        # KeyboardInterrupt would, through each command's clean-up.
        with stop_signals_raise():
            return args.run(args)
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except NotImplementedError as e:
        # In a student copy (tinynet homework export), a part still to write: its hint,
        # rather than a traceback. Any other NotImplementedError is a bug, shown as one.
        stub = homework._find_stub(e)
        if stub is None or stub[0] not in homework.PARTS:
            raise
        print(f"{name}: error: part {stub[0]} is not written yet in this copy: {stub[1]}",
              file=sys.stderr)
        return 1
    except (CommandError, OSError, ValueError, FloatingPointError) as e:
        if closed_pipe(e):
            raise  # main handles it: an OSError, but not one to report
        print(f"{name}: error: {error_message(e)}", file=sys.stderr)
        return getattr(args, "error_status", 1)


def _escape_unprintable_output() -> None:
    """Print what stdout's encoding cannot hold with backslash escapes (``caf\\udce9.png``)
    from now on, rather than fail on it. A file name that is not valid UTF-8 (the bytes a
    file system allows) is read with surrogate escapes, which a UTF-8 locale's stdout, being
    strict, refuses: a command that had done its work then failed on printing the name.
    stderr escapes them already."""
    if isinstance(sys.stdout, io.TextIOWrapper) and sys.stdout.errors == "strict":
        sys.stdout.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None,
         parser: argparse.ArgumentParser | None = None) -> int:
    """Run the command with ``argv`` (default: ``sys.argv[1:]``); return the exit status.
    ``parser`` is the ``tinynet`` command's, or another's whose actions set ``run`` (as
    ``python -m tinynet.homework`` does), to run with the same handling of errors."""
    _escape_unprintable_output()
    try:
        try:
            return _run(argv, parser or build_parser())
        finally:
            # Flush here, not at exit, so that a closed pipe shows up as the exception below
            # (--help's SystemExit passes through this too).
            sys.stdout.flush()
    except OSError as e:
        if not closed_pipe(e):
            raise
        # The reader went away (`tinynet homework list | head -1`): stop quietly, as the
        # Python docs' "Note on SIGPIPE" does. stdout now points at devnull, so that Python's
        # own flush at exit does not fail on the same pipe again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
