"""The tinynet command, run as a user runs it: in a subprocess."""

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from checkout import ENV, ROOT, stop_signals_at_default
from matplotlib import image as mpimg
from matplotlib.figure import Figure

from tinynet import (
    Conv2D,
    Dense,
    Flatten,
    MaxPool2D,
    RandomShift,
    ReLU,
    Sequential,
    Softmax,
    homework,
    load_model,
    reference,
)
from tinynet.cli import TRAIN_OUTPUTS, build_parser, main
from tinynet.datasets import load_mnist


def tinynet(*args: str, cwd=None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "tinynet", *args], capture_output=True,
                            text=True, timeout=600, cwd=cwd, env=ENV)
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A quickly trained R2 model, saved by `tinynet train`."""
    out = tmp_path_factory.mktemp("run")
    result = tinynet("train", "--quick", "--epochs", "3", "--seed", "1", "--out", str(out),
                     "--verbose", "2")
    return out, result.stdout


def test_version():
    assert tinynet("--version").stdout.strip().startswith("tinynet ")


def test_each_subcommand_has_help():
    for command in ("train", "evaluate", "predict", "show"):
        assert "usage: tinynet " + command in tinynet(command, "--help").stdout


def test_the_defaults_are_those_the_help_and_the_readme_give():
    # `tinynet train` trains R2 with a progress bar into runs/; `tinynet show` draws 16.
    parser = build_parser()
    train = parser.parse_args(["train"])
    assert (train.model, train.seed, train.out, train.verbose, train.quick) == (
        "r2", 0, Path("runs"), 1, False)
    show = parser.parse_args(["show"])
    assert (show.count, show.start, show.train, show.model) == (16, 0, False, None)


def test_train_saves_model_history_and_curves(trained):
    out, stdout = trained
    accuracy = float(re.findall(r"^test accuracy: (0\.\d{4})$", stdout, flags=re.M)[-1])
    assert accuracy > 0.8
    assert "Epoch 3/3" in stdout
    # The epochs trained (--epochs), not the program's 5.
    assert re.search(rf"^trained 3 epoch\(s\) in \d+\.\ds; saved model.npz, history.json, "
                     rf"curves.png in {re.escape(str(out))}/$", stdout, flags=re.M), stdout
    history = json.loads((out / "history.json").read_text())
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history["loss"]) == 3
    assert (out / "curves.png").stat().st_size > 0
    assert (out / "model.npz").stat().st_size > 0


def test_evaluate_prints_per_class_accuracy_and_saves_confusion_matrix(trained, tmp_path):
    out, _ = trained
    png = tmp_path / "cm.png"
    stdout = tinynet("evaluate", str(out / "model.npz"), "--out", str(png)).stdout
    assert re.search(r"^test accuracy: 0\.\d{4}$", stdout, flags=re.M)
    assert len(re.findall(r"^  \d: [01]\.\d{4}", stdout, flags=re.M)) == 10
    assert png.stat().st_size > 0


def test_show_draws_digits_with_predictions(trained, tmp_path):
    out, _ = trained
    png = tmp_path / "grid.png"
    stdout = tinynet("show", "--model", str(out / "model.npz"), "--count", "8", "--out",
                     str(png)).stdout
    assert "saved 8 digits" in stdout
    assert png.stat().st_size > 0


def _big_inverted_png(digit: np.ndarray, path, offset=(30, 10)) -> None:
    """A 200x200 dark-on-light RGB picture of an MNIST digit, off centre, scaled 5x."""
    big = np.kron(digit.astype(float) / 255, np.ones((5, 5)))  # (140, 140)
    canvas = np.zeros((200, 200))
    canvas[offset[0]:offset[0] + 140, offset[1]:offset[1] + 140] = big
    mpimg.imsave(path, 1 - canvas, cmap="gray", vmin=0, vmax=1)


def test_predict_reads_a_users_inverted_large_digit(trained, tmp_path):
    out, _ = trained
    (_, _), (x_test, y_test) = load_mnist()
    paths = []
    for i in range(5):
        path = tmp_path / f"digit{i}.png"
        _big_inverted_png(x_test[i], path)
        paths.append(str(path))
    stdout = tinynet("predict", str(out / "model.npz"), *paths).stdout
    predicted = [int(d) for d in re.findall(r"digit\d\.png: (\d)$", stdout, flags=re.M)]
    assert predicted == list(y_test[:5])  # 7 2 1 0 4
    probabilities = re.findall(r"^  0: .*$", stdout, flags=re.M)
    assert len(probabilities) == 5


def test_predict_reports_each_bad_image_by_name_and_reads_the_rest(trained, tmp_path):
    out, _ = trained
    (_, _), (x_test, y_test) = load_mnist()
    seven, two = tmp_path / "seven.png", tmp_path / "two.png"
    _big_inverted_png(x_test[0], seven)
    # Black ink on dim grey paper (0.45): it has a digit, though its border is below 0.5.
    grey_two = 0.45 * (1 - np.kron(x_test[1] / 255, np.ones((5, 5))))
    mpimg.imsave(two, grey_two, cmap="gray", vmin=0, vmax=1)
    white, notes = tmp_path / "white.png", tmp_path / "notes.png"
    mpimg.imsave(white, np.ones((50, 50)), cmap="gray", vmin=0, vmax=1)
    notes.write_text("just text")
    result = tinynet("predict", str(out / "model.npz"), str(seven), str(white), str(notes),
                     str(two), check=False)
    assert result.returncode == 1  # some image failed: a script must be able to tell
    predicted = re.findall(r"^(.*\.png): (\d)$", result.stdout, flags=re.M)
    assert predicted == [(str(seven), str(y_test[0])), (str(two), str(y_test[1]))]  # 7, 2
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and "Traceback" not in result.stderr, result.stderr
    assert errors[0].startswith(f"tinynet predict: error: {white}: the image is blank")
    assert errors[1].startswith(f"tinynet predict: error: {notes}: not a readable image")


def test_predict_checks_every_image_path_before_reading_any(trained, tmp_path):
    out, _ = trained
    good, folder = tmp_path / "good.png", tmp_path / "folder.png"
    _big_inverted_png(load_mnist()[1][0][0], good)
    folder.mkdir()
    missing = tmp_path / "missing.png"
    result = tinynet("predict", str(out / "model.npz"), str(good), str(missing), str(folder),
                     check=False)
    assert result.returncode == 1
    assert result.stdout == ""  # no result before the bad names: fix them and run again
    assert result.stderr.strip().splitlines() == [
        f"tinynet predict: error: {missing}: no such file",
        f"tinynet predict: error: {folder}: is a folder, expected an image file"]


@pytest.mark.parametrize("args, message", [
    (["evaluate", "missing.npz"], "no such file"),
    (["predict", "missing.npz", "x.png"], "no such file"),
])
def test_errors_are_one_line_without_traceback(args, message, tmp_path):
    result = tinynet(*args, cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_not_a_model_and_not_an_image_are_clear_errors(trained, tmp_path):
    out, _ = trained
    fake = tmp_path / "fake.npz"
    fake.write_text("<html>not a model</html>")
    result = tinynet("evaluate", str(fake), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert str(fake) in result.stderr
    not_image = tmp_path / "notes.png"
    not_image.write_text("just text")
    result = tinynet("predict", str(out / "model.npz"), str(not_image), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "not a readable image" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["train", "--lr", "-1"], "argument --lr: expected a finite number > 0, got '-1'"),
    (["train", "--lr", "0"], "argument --lr: expected a finite number > 0, got '0'"),
    (["train", "--lr", "abc"], "argument --lr: expected a finite number > 0, got 'abc'"),
    (["train", "--lr", "inf"], "argument --lr: expected a finite number > 0, got 'inf'"),
    (["train", "--epochs", "0"], "argument --epochs: expected an int >= 1, got '0'"),
    (["train", "--epochs", "abc"], "argument --epochs: expected an int >= 1, got 'abc'"),
    (["train", "--seed", "-1"], "argument --seed: expected an int >= 0, got '-1'"),
    (["show", "--count", "100000"], "argument --count: expected an int from 1 to 400, got "
                                    "'100000'"),
    (["show", "--start", "-1"], "argument --start: expected an int >= 0, got '-1'"),
    # Path("") is the current folder: an unset variable must not mean "write here".
    (["train", "--out", ""], "argument --out: expected a path, got ''"),
    (["show", "--out", ""], "argument --out: expected a path, got ''"),
    (["evaluate", ""], "argument model: expected a path, got ''"),
    (["predict", "model.npz", ""], "argument images: expected a path, got ''"),
    (["show", "--data", ""], "argument --data: expected a path, got ''"),
])
def test_bad_values_are_refused_when_parsing_before_loading_anything(args, message, capsys,
                                                                    tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # In-process (the errors test above runs the command itself): argparse exits.
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2  # argparse's status: nothing was loaded or trained
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == f"tinynet {args[0]}: error: {message}"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, message", [
    (["export", ""], "argument DEST: expected a path, got ''"),
    (["export", "copy", "--source", ""], "argument --source: expected a path, got ''"),
    (["grade", ""], "argument PROJECT: expected a path, got ''"),
    (["list", "--source", ""], "argument --source: expected a path, got ''"),
])
def test_an_empty_homework_path_is_refused_not_taken_for_the_current_folder(
        args, message, capsys, tmp_path, monkeypatch):
    # Taken for the current folder, export "" would write a student copy there, where python
    # would then import the stubbed tinynet.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["homework", *args])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == f"tinynet homework {args[0]}: error: {message}"
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------- models that are not R1-R5
def _save(model: Sequential, path: Path, metadata: dict | None = None) -> Path:
    model.metadata = metadata or {}
    return model.save(path)


def test_a_model_without_scaling_gets_pixels_over_255_and_a_note(trained, tmp_path):
    out, _ = trained
    model = load_model(out / "model.npz")
    path = _save(model, tmp_path / "bare.npz")  # as a model saved by hand: no "scaling"
    result = tinynet("evaluate", str(path))
    accuracy = float(re.findall(r"^test accuracy: (0\.\d{4})$", result.stdout, flags=re.M)[0])
    assert accuracy > 0.8
    assert result.stderr == f"{path} records no input scaling: assuming pixels / 255\n"


@pytest.mark.parametrize("layers, seen", [
    # No input shape saved: the first Conv2D tells images of 1 channel, (28, 28, 1).
    (lambda: [RandomShift(2), Conv2D(1, 2, 3), ReLU(), MaxPool2D(2), Flatten(),
              Dense(13 * 13 * 2, 10), Softmax()], None),
    # The input shape saved with the model, (28, 28, 1), wins over the first Dense's (784,).
    (lambda: [RandomShift(1), Flatten(), Dense(784, 10), Softmax()], (2, 28, 28, 1)),
], ids=["conv-layer", "saved-input-shape"])
def test_a_model_without_scaling_gets_its_input_shape_from_itself(layers, seen, tmp_path):
    model = Sequential(layers(), seed=0)
    if seen is not None:
        model.predict(np.zeros(seen, np.float32))  # records input_shape, saved with it
    path = _save(model, tmp_path / "m.npz")
    result = tinynet("show", "--model", str(path), "--count", "4", "--out",
                     str(tmp_path / "g.png"))
    assert "saved 4 digits" in result.stdout
    assert "assuming pixels / 255" in result.stderr


@pytest.fixture(scope="module")
def invalid_models(tmp_path_factory):
    """Valid model files that are not digit classifiers, each with the message it earns."""
    folder = tmp_path_factory.mktemp("invalid")

    def ten() -> Sequential:
        return Sequential([Dense(784, 10), Softmax()], seed=0)

    diverged = ten()
    diverged.layers[0].params["W"][3, :5] = [np.nan, np.inf, -np.inf, np.nan, np.nan]
    one = ten()
    one.layers[0].params["b"][2] = np.nan
    return folder, [
        (_save(diverged, folder / "nan.npz"), "the model's weights hold 5 NaN or infinite "
                                              "values (saved after its training diverged?)"),
        (_save(one, folder / "nan1.npz"), "the model's weights hold 1 NaN or infinite value "
                                          "(saved"),
        (_save(Sequential([Dense(784, 5), Softmax()], seed=0), folder / "w5.npz"),
         "the model outputs shape (5,) per image, expected (10,)"),
        (_save(Sequential([], seed=0), folder / "empty.npz"), "the model has no layers"),
        (_save(Sequential([Dense(250, 10)], seed=0), folder / "d250.npz"),
         "the model takes inputs of shape (250,), expected 784 numbers"),
        # More numbers than an image has is as wrong as fewer.
        (_save(Sequential([Dense(1000, 10)], seed=0), folder / "d1000.npz"),
         "the model takes inputs of shape (1000,), expected 784 numbers"),
        (_save(ten(), folder / "scale.npz", {"scaling": {"scale": 1}}),
         "invalid metadata 'scaling': expected an object with finite numbers scale (1 / scale "
         "and 255 * scale float32s), mean, std (not 0) and a list of ints >= 1 shape, got "
         "{'scale': 1}"),
        (_save(ten(), folder / "x.npz", {"scaling": "x"}), "invalid metadata 'scaling'"),
    ]


@pytest.mark.parametrize("command", ["evaluate", "predict", "show"])
def test_models_that_are_not_digit_classifiers_are_one_line_errors(command, invalid_models,
                                                                  capsys):
    folder, cases = invalid_models
    digit = folder / "digit.png"
    _big_inverted_png(load_mnist()[1][0][0], digit)
    for path, message in cases:
        args = {"evaluate": ["evaluate", str(path)],
                "predict": ["predict", str(path), str(digit)],
                "show": ["show", "--model", str(path), "--out", str(folder / "g.png")]}[command]
        status = main(args)  # in this process: the command's errors never need a new one
        out, err = capsys.readouterr()
        assert status == 1, (path, out)
        assert err.startswith(f"tinynet {command}: error: {path}: {message}"), err
        assert len(err.strip().splitlines()) == 1, err


def test_evaluate_accepts_a_model_path_without_npz_as_load_model_does(trained, tmp_path):
    out, _ = trained
    stdout = tinynet("evaluate", str(out / "model"), "--out", str(tmp_path / "cm.png")).stdout
    assert re.search(r"^test accuracy: 0\.\d{4}$", stdout, flags=re.M)
    # Whatever load_model finds: "old.NPZ" saved by an older tinynet as old.NPZ.npz. A
    # command that looked for the file itself would say "no such file".
    shutil.copy(out / "model.npz", tmp_path / "old.NPZ.npz")
    stdout = tinynet("evaluate", str(tmp_path / "old.NPZ")).stdout
    assert re.search(r"^test accuracy: 0\.\d{4}$", stdout, flags=re.M)
    assert (tmp_path / "old_confusion.png").is_file()  # named as save's own rule names it


# ------------------------------------------------------------------------ output paths
def test_evaluate_refuses_an_unsupported_out_before_printing_results(trained, tmp_path):
    out, _ = trained
    result = tinynet("evaluate", str(out / "model.npz"), "--out", str(tmp_path / "cm.txt"),
                     check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("tinynet evaluate: error: --out: expected an existing "
                                    "folder or a file ending in .png")
    assert f"got '{tmp_path / 'cm.txt'}'" in result.stderr


def test_evaluate_and_show_write_in_an_out_folder_and_say_where(trained, tmp_path):
    out, _ = trained
    stdout = tinynet("evaluate", str(out / "model.npz"), "--out", str(tmp_path)).stdout
    assert f"confusion matrix: {tmp_path / 'model_confusion.png'}" in stdout
    assert (tmp_path / "model_confusion.png").stat().st_size > 0
    stdout = tinynet("show", "--count", "1", "--out", str(tmp_path)).stdout
    assert stdout == f"saved 1 digit to {tmp_path / 'digits.png'}\n"
    assert (tmp_path / "digits.png").stat().st_size > 0


def test_show_refuses_an_out_that_is_neither_a_folder_nor_an_image(tmp_path):
    result = tinynet("show", "--out", "q1", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert "--out: expected an existing folder or a file ending in" in result.stderr
    assert "got 'q1'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_train_refuses_an_out_that_is_a_file_before_training(tmp_path):
    afile = tmp_path / "afile.txt"
    afile.write_text("notes")
    result = tinynet("train", "--quick", "--out", str(afile), check=False)
    assert result.returncode == 1 and result.stdout == ""  # nothing trained
    assert result.stderr == (f"tinynet train: error: --out: expected a folder to write in, "
                             f"got the file {str(afile)!r}\n")


def test_train_refuses_an_output_path_that_is_a_folder_before_writing_anything(tmp_path):
    (tmp_path / "curves.png").mkdir()
    result = tinynet("train", "--quick", "--out", str(tmp_path), check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert f"--out: {tmp_path / 'curves.png'} is a folder" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png"]


@pytest.mark.parametrize("failing", ["tinynet.plot.plot_history", "tinynet.Sequential.save"],
                         ids=["curves", "model"])
def test_train_replaces_its_three_outputs_together_or_not_at_all(failing, tmp_path,
                                                                   monkeypatch, capsys):
    # Were each file replaced on its own, the curves last, curves that failed would leave the
    # new model and history beside the last run's curves, a folder of two runs. The model is
    # written last: the other two must not be renamed before it is written either.
    last_run = _last_run(tmp_path)

    def fail_half_way(*args, path=None):  # plot_history(history, path=), model.save(path)
        Path(path or args[-1]).write_bytes(b"half a file")
        raise OSError("No space left on device")

    monkeypatch.setattr(failing, fail_half_way)
    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: _synthetic_digits(20, 20))
    assert main(["train", "--epochs", "1", "--verbose", "0", "--out", str(tmp_path)]) == 1
    assert "No space left on device" in capsys.readouterr().err
    # The last run's three files, as they were, and no temporary file.
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == last_run


def test_train_with_its_model_open_on_windows_replaces_none_of_its_outputs(tmp_path,
                                                                          monkeypatch, capsys):
    # Windows will not replace a file another program has open (a notebook's np.load of
    # the model, until it is closed): after a few tries the model's rename fails. It is
    # renamed first, so the history and curves are left as they were too.
    last_run = _last_run(tmp_path)
    replace, tries = os.replace, []

    def windows_replace(src, dst):
        if Path(dst).name == "model.npz":
            tries.append(dst)
            raise PermissionError(13, "Access is denied", str(src), None, str(dst))
        replace(src, dst)

    monkeypatch.setattr("tinynet.atomic._WINDOWS", True)
    monkeypatch.setattr("tinynet.atomic._RETRY_DELAYS", (0, 0))
    monkeypatch.setattr(os, "replace", windows_replace)
    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: _synthetic_digits(20, 20))
    assert main(["train", "--epochs", "1", "--verbose", "0", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        "tinynet train: error: cannot write " + str(tmp_path / "model.npz") + ": access is "
        "denied (is model.npz open in another program? close it there, or write to another "
        "name)\n")
    assert len(tries) == 3
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == last_run


def _last_run(folder: Path) -> dict[str, bytes]:
    """The outputs of an earlier tinynet train, written in ``folder``; returned by name."""
    last_run = {"model.npz": b"the last run's model", "history.json": b'{"loss": [0.5]}',
                "curves.png": b"the last run's curves"}
    for name, content in last_run.items():
        (folder / name).write_bytes(content)
    return last_run


def test_train_that_fails_leaves_no_out_folder_it_created(tmp_path, capsys):
    # --out is created before the data is loaded: a bad --data, or a run that diverged or
    # was interrupted, would otherwise leave an empty folder (and its parents) behind.
    missing = str(tmp_path / "no-data")
    assert main(["train", "--out", str(tmp_path / "runs" / "r2"), "--data", missing]) == 1
    assert "--data: expected a folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "mine").mkdir()  # a folder that was there stays, empty or not
    assert main(["train", "--out", str(tmp_path / "mine"), "--data", missing]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]


def test_a_student_copys_stub_is_one_line_naming_the_part(tmp_path, monkeypatch, capsys):
    # In a copy from `tinynet homework export`, train would otherwise end in a
    # NotImplementedError traceback; the stub's message says all a student needs. Any other
    # one is a bug.
    # Built at run time: a stub's raise written out here would be a stub of the reference.
    message = homework.stub_message(homework.PARTS["relu"], "return max(x, 0)")

    def stub(self, x, training=False):
        raise NotImplementedError(message)

    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: _synthetic_digits(20, 20))
    monkeypatch.setattr("tinynet.layers.ReLU.forward", stub)
    assert main(["train", "--epochs", "1", "--out", str(tmp_path / "runs")]) == 1
    assert capsys.readouterr().err == (
        "tinynet train: error: part relu is not written yet in this copy: relu: return max(x, "
        "0); see docs/activations.md#relu\n")
    def not_a_stub(self, x, training=False):
        raise NotImplementedError("later: no part of the homework; see docs/layers.md")

    monkeypatch.setattr("tinynet.layers.ReLU.forward", not_a_stub)
    with pytest.raises(NotImplementedError):
        main(["train", "--epochs", "1", "--out", str(tmp_path / "runs")])


def test_train_interrupted_leaves_no_out_folder_it_created_but_keeps_the_saved_outputs(
        tmp_path, monkeypatch, capsys):
    # Ctrl-C is no Exception: a clean-up on Exception alone would leave the folder behind
    # after an interrupt while the data loads.
    # Once the outputs are saved the folder holds them, and stays as they do: the interrupt
    # is still reported as one, not as the folder that could not be removed.
    out = tmp_path / "runs" / "r2"

    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr("tinynet.cli._load_data", interrupt)
    assert main(["train", "--out", str(out)]) == 130
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: _synthetic_digits(20, 20))
    monkeypatch.setattr("tinynet.cli._loss_line", interrupt)  # printed after the save
    assert main(["train", "--epochs", "1", "--verbose", "0", "--out", str(out)]) == 130
    assert sorted(p.name for p in out.iterdir()) == sorted(TRAIN_OUTPUTS)
    assert capsys.readouterr().err.splitlines()[-1] == "tinynet: interrupted"


def test_train_saves_its_outputs_even_if_its_new_out_folder_was_removed_meanwhile(
        tmp_path, monkeypatch, capsys):
    # Two runs given the same new --out: the one that made it, stopped early, removes it
    # while empty, and the other's training ended in "cannot write ...: no folder".
    out = tmp_path / "runs" / "r2"
    data = _synthetic_digits(20, 20)

    def load_then_lose_the_folder(folder):
        shutil.rmtree(tmp_path / "runs")
        return data

    monkeypatch.setattr("tinynet.cli._load_data", load_then_lose_the_folder)
    assert main(["train", "--epochs", "1", "--verbose", "0", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(TRAIN_OUTPUTS)


# `tinynet train`, and an example script, which cleans up in atexit instead.
@pytest.mark.parametrize("command", [["-m", "tinynet", "train", "--model", "r4"],
                                     [str(ROOT / "examples" / "r4_deep_mlp.py")]],
                         ids=["tinynet train", "example"])
@pytest.mark.parametrize("stop", ["SIGTERM", "SIGHUP"])
def test_a_run_stopped_by_a_signal_leaves_no_out_folder_it_made(tmp_path, command, stop):
    """``timeout``, ``kill``, a cancelled CI job (SIGTERM) or a closed terminal (SIGHUP)
    end the process at once: unhandled, they would leave the folders made for --out behind,
    empty."""
    number = getattr(signal, stop)
    proc = subprocess.Popen(
        [sys.executable, *command, "--quick", "--epochs", "1000", "--out",
         str(tmp_path / "runs" / "new")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**ENV, "PYTHONUNBUFFERED": "1"}, preexec_fn=stop_signals_at_default)
    try:
        for line in proc.stdout:  # until training is under way, well past the folder's making
            if line.startswith("Epoch 2/"):
                break
        assert (tmp_path / "runs" / "new").is_dir()
        proc.send_signal(number)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + number, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_train_refusing_an_out_folder_it_created_removes_it(tmp_path, monkeypatch, capsys,
                                                           refuse_files_in):
    # The folder (and its parents) is created, then found to be one it cannot write in.
    out = tmp_path / "runs" / "r2"
    refuse_files_in(out)
    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: pytest.fail("data loaded"))
    assert main(["train", "--out", str(out)]) == 1
    assert capsys.readouterr().err == (f"tinynet train: error: --out: cannot write in the "
                                       f"folder {str(out)!r} (permission denied)\n")
    assert list(tmp_path.iterdir()) == []


# Windows reports a write to a closed pipe as OSError EINVAL, "Invalid argument", not as
# BrokenPipeError (CPython issue 79935): here stdout's writes raise that, as they would there.
AS_ON_WINDOWS = """
import errno, io, os, sys
import tinynet.atomic
from tinynet.cli import main

class WindowsPipe(io.RawIOBase):
    def writable(self):
        return True

    def fileno(self):
        return 1

    def write(self, data):
        try:
            return os.write(1, data)
        except BrokenPipeError:
            raise OSError(errno.EINVAL, "Invalid argument") from None

sys.stdout = io.TextIOWrapper(io.BufferedWriter(WindowsPipe()))
tinynet.atomic._WINDOWS = True
sys.exit(main(sys.argv[1:]))
"""


# homework list's output fills the pipe while it is printed; --version's line is still
# buffered when the command ends, so its closed pipe shows only when stdout is flushed.
@pytest.mark.parametrize("windows", [False, True], ids=["posix", "windows"])
@pytest.mark.parametrize("args", [["homework", "list"], ["--version"]])
def test_a_closed_pipe_ends_quietly(args, windows):
    # Buffered, as a pipe's stdout is by default: with PYTHONUNBUFFERED (which the test
    # environment may have), argparse drops --version's failed write and nothing is left.
    env = {k: v for k, v in ENV.items() if k != "PYTHONUNBUFFERED"}
    read, write = os.pipe()
    os.close(read)  # as `tinynet homework list | head -1` once head has exited
    command = ["-c", AS_ON_WINDOWS] if windows else ["-m", "tinynet"]
    try:
        result = subprocess.run([sys.executable, *command, *args],
                                stdout=write, stderr=subprocess.PIPE, text=True, timeout=60,
                                env=env)
    finally:
        os.close(write)
    assert result.stderr == ""
    assert result.returncode == 1  # what the Python docs' "Note on SIGPIPE" returns


# ------------------------------------------------ errors found before work, in-process
@pytest.fixture
def small_model(tmp_path):
    """A tiny digit classifier saved by hand, without metadata, in its own folder."""
    folder = tmp_path / "models"
    folder.mkdir()
    return _save(Sequential([Dense(784, 10), Softmax()], seed=0), folder / "m.npz")


def test_evaluate_a_model_saved_without_metrics(tmp_path, monkeypatch, capsys):
    # Its evaluate gives the loss alone, which the command unpacked as (loss, accuracy).
    model = Sequential([Dense(784, 10), Softmax()], seed=0)
    model.compile("categorical_crossentropy", "sgd", metrics=None)
    path = _save(model, tmp_path / "m.npz")
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), np.arange(20, dtype=np.uint8) % 10
    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: ((x, y), (x, y)))
    assert main(["evaluate", str(path)]) == 0
    right = (model.predict(x.reshape(20, 784) / 255).argmax(axis=1) == y).sum()  # no metadata
    assert f"test accuracy: {right / 20:.4f}\n" in capsys.readouterr().out
    # A model named in capitals gets its image named as m.npz's, not M.NPZ_confusion.png.
    path.rename(tmp_path / "M.NPZ")
    (tmp_path / "m_confusion.png").unlink()
    assert main(["evaluate", str(tmp_path / "M.NPZ")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["M.NPZ", "M_confusion.png"]


def test_a_folder_given_as_the_model_is_named_as_a_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # "." has no name: with_name("._confusion.png") would fail
    for path in (".", str(tmp_path)):
        assert main(["evaluate", path]) == 1
        assert capsys.readouterr().err == (f"tinynet evaluate: error: {path}: is a folder, "
                                           "expected a model file (.npz)\n")


@pytest.mark.parametrize("args", [["evaluate", "{model}"],
                                  ["evaluate", "{model}", "--out", "{folder}"],
                                  ["show", "--out", "{folder}/grid.png"]])
def test_an_image_that_cannot_be_written_is_refused_before_any_work(args, small_model,
                                                                     monkeypatch, capsys,
                                                                     refuse_files_in):
    folder = small_model.parent
    args = [a.format(model=small_model, folder=folder) for a in args]
    refuse_files_in(folder)
    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: pytest.fail("data loaded"))
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1].endswith(f"in the folder {str(folder)!r} (permission denied)"
                                         + ("" if "--out" in args else
                                            "; say where to write it with --out"))
    assert err.count("error") == 1


def test_show_says_to_give_out_when_the_working_folder_refuses_its_default_image(
        tmp_path, monkeypatch, capsys, refuse_files_in):
    # No --out was given: an error that began "--out:" would point at an option not used.
    monkeypatch.chdir(tmp_path)
    refuse_files_in(tmp_path)
    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: pytest.fail("data loaded"))
    assert main(["show"]) == 1
    assert capsys.readouterr().err == (
        "tinynet show: error: cannot write digits.png in the folder '.' (permission denied); "
        "say where to write it with --out\n")


def test_evaluate_refuses_a_folder_at_its_default_image_before_any_work(small_model,
                                                                     monkeypatch, capsys):
    # The default image, beside the model, is not checked by --out's checks: a folder
    # there would fail only after every result had been printed.
    image = small_model.with_name("m_confusion.png")
    image.mkdir()
    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: pytest.fail("data loaded"))
    assert main(["evaluate", str(small_model)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1] == (f"tinynet evaluate: error: {image} is a folder, "
                                    "expected an image file to write; say where to write it "
                                    "with --out")
    assert err.count("error") == 1


def test_evaluate_refuses_a_named_pipe_at_its_image_before_any_work(small_model, monkeypatch,
                                                                    capsys):
    image = small_model.with_name("m_confusion.png")
    os.mkfifo(image)
    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: pytest.fail("data loaded"))
    assert main(["evaluate", str(small_model)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"tinynet evaluate: error: {image} is a named pipe, expected an image file to write; "
        "say where to write it with --out")
    assert image.is_fifo()


def test_evaluate_and_show_replace_their_image_only_once_it_is_complete(small_model,
                                                                        monkeypatch, capsys):
    folder = small_model.parent
    for name in ("m_confusion.png", "digits.png"):
        (folder / name).write_bytes(b"the previous image")

    def fail_half_way(self, fname, **kwargs):
        Path(fname).write_bytes(b"half a PNG")
        raise OSError("No space left on device")

    monkeypatch.setattr(Figure, "savefig", fail_half_way)
    assert main(["evaluate", str(small_model)]) == 1
    assert main(["show", "--count", "2", "--out", str(folder)]) == 1
    assert capsys.readouterr().err.count("No space left on device") == 2
    for name in ("m_confusion.png", "digits.png"):
        assert (folder / name).read_bytes() == b"the previous image"
    assert sorted(p.name for p in folder.iterdir()) == ["digits.png", "m.npz",
                                                        "m_confusion.png"]


def test_a_system_error_is_one_line_naming_the_file(small_model, tmp_path, monkeypatch,
                                                    capsys):
    def denied(path, format=None):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("tinynet.io.load_model", denied)
    assert main(["evaluate", str(small_model)]) == 1
    assert capsys.readouterr().err == (f"tinynet evaluate: error: {small_model}: permission "
                                       "denied\n")  # not "[Errno 13] Permission denied: '...'"
    monkeypatch.undo()
    digit = tmp_path / "digit.png"
    _big_inverted_png(load_mnist()[1][0][0], digit)
    monkeypatch.setattr(mpimg, "imread", denied)
    # Given twice: a system error, like a bad picture, is one image's, and the next is read.
    assert main(["predict", str(small_model), str(digit), str(digit)]) == 1
    assert capsys.readouterr().err.splitlines()[-2:] == 2 * [f"tinynet predict: error: "
                                                             f"{digit}: permission denied"]


def test_data_problems_are_reported_as_the_data_options(tmp_path, capsys):
    from tinynet.datasets.mnist import DATA_DIR

    folder = tmp_path / "mnist"
    folder.mkdir()
    afile = tmp_path / "mnist.zip"
    afile.write_bytes(b"an archive, not a folder")
    cases = [(tmp_path / "nowhere", "--data: expected a folder holding the four MNIST IDX "
                                    f"files, got {str(tmp_path / 'nowhere')!r} (nothing there)"),
             (afile, "--data: expected a folder holding the four MNIST IDX files, got "
                     f"{str(afile)!r} (a file)"),
             (folder, f"--data: no MNIST file 'train-images-idx3-ubyte' in {folder}: ")]
    for data, message in cases:
        assert main(["show", "--data", str(data), "--out", str(tmp_path / "g.png")]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"tinynet show: error: {message}"), err
        assert "load_mnist:" not in err and "load_mnist()" not in err
        assert "leave --data out" in err or data != folder
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz"):
        (folder / name).symlink_to(DATA_DIR / name)
    (folder / "t10k-labels-idx1-ubyte.gz").symlink_to(DATA_DIR / "train-labels-idx1-ubyte.gz")
    assert main(["show", "--data", str(folder), "--out", str(tmp_path / "g.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tinynet show: error: --data: {folder / 't10k-labels-idx1-ubyte.gz'}"
                          ": damaged, or not MNIST's t10k-labels-idx1-ubyte"), err
    assert "verify=False" not in err  # an argument of load_mnist, not an option of tinynet


def test_train_outputs_are_replaced_all_or_none_even_by_ctrl_c_between_renames(
        tmp_path, monkeypatch, ctrl_c_raises):
    # A Ctrl-C between two renames (each followed by a flush to disk, which takes a moment on
    # a slow disk) would leave a new model beside the last run's history and curves.
    from tinynet import atomic, cli

    names = ["model.npz", "history.json", "curves.png"]
    for name in names:
        (tmp_path / name).write_text("old")
    renamed = []
    replace = atomic._replace

    def replace_then_ctrl_c(tmp, real):
        replace(tmp, real)
        renamed.append(real.name)
        if len(renamed) == 1:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(atomic, "_replace", replace_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        cli._write_together([(tmp_path / name, lambda tmp: tmp.write_text("new"))
                             for name in names])
    assert renamed == names
    assert {name: (tmp_path / name).read_text() for name in names} == dict.fromkeys(names, "new")


def stop_at_fit(monkeypatch) -> dict:
    """Make ``Sequential.fit`` stop as Ctrl-C would, recording what ``train`` asked of it
    (the epochs, batch size, samples and optimiser): for what is decided before training."""
    asked = {}

    def stop(model, x, y, epochs, batch_size, **kwargs):
        asked.update(epochs=epochs, batch_size=batch_size, samples=len(x),
                     optimizer=type(model.optimizer).__name__)
        raise KeyboardInterrupt

    monkeypatch.setattr(Sequential, "fit", stop)
    return asked


def test_train_shows_each_layers_shape_and_the_optimizer_it_was_asked_for(tmp_path,
                                                                          monkeypatch, capsys):
    stop_at_fit(monkeypatch)  # everything to check is printed before training starts
    assert main(["train", "--model", "r3", "--quick", "--optimizer", "sgd", "--lr", "0.5",
                 "--out", str(tmp_path)]) == 130
    out = capsys.readouterr().out
    # The description says the program's "Adam"; the run uses what was asked for.
    assert "\noptimizer, as asked: SGD, lr 0.5, momentum 0.0," in out
    assert "(None, 26, 26, 28)" in out and "(None, 10)" in out  # the summary knew the input
    assert " ? " not in out
    # --lr alone: the program's optimiser, at that rate.
    assert main(["train", "--quick", "--lr", "0.125", "--verbose", "0", "--out",
                 str(tmp_path)]) == 130
    line = re.search(r"^optimizer, as asked: .*$", capsys.readouterr().out, flags=re.M)
    assert line and "lr 0.125," in line.group(0)


def test_an_image_out_through_a_link_is_checked_in_the_folder_it_writes_in(
        small_model, tmp_path, monkeypatch, capsys, refuse_files_in):
    # write_atomic replaces the file a link points to, so that file's folder must be
    # writable, whatever the link's own folder allows.
    shared = tmp_path / "shared"
    shared.mkdir()
    link = small_model.parent / "latest.png"
    link.symlink_to(shared / "cm.png")
    refuse_files_in(shared)
    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: pytest.fail("data loaded"))
    assert main(["evaluate", str(small_model), "--out", str(link)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"tinynet evaluate: error: --out: cannot write latest.png in the folder "
        f"{str(shared)!r} (permission denied)")


def _few_digits(n: int = 30):
    """The first ``n`` MNIST training and test digits, in load_mnist's nesting: what a test
    of the command's output needs, without evaluating on all 10,000 test images."""
    (x_train, y_train), (x_test, y_test) = load_mnist()
    return (x_train[:n], y_train[:n]), (x_test[:n], y_test[:n])


def test_evaluate_names_its_default_image_after_the_whole_model_name(tmp_path, monkeypatch,
                                                                     capsys):
    # "v1.2" names the model v1.2.npz, as for load_model; named by Path.stem, which takes
    # ".2" for a suffix, its image would be v1_confusion.png (and v1.2 and v1.2.npz would get
    # different images).
    folder = tmp_path / "runs.old"
    folder.mkdir()
    _save(Sequential([Dense(784, 10), Softmax()], seed=0), folder / "v1.2.npz")
    monkeypatch.setattr("tinynet.cli._load_data", lambda data: _few_digits())
    for given in ("v1.2", "v1.2.npz"):
        assert main(["evaluate", str(folder / given)]) == 0
        out = capsys.readouterr().out
        assert out.endswith(f"confusion matrix: {folder / 'v1.2_confusion.png'}\n")
    assert sorted(p.name for p in folder.iterdir()) == ["v1.2.npz", "v1.2_confusion.png"]


def test_train_and_evaluate_print_the_test_loss_per_image_as_training_logs_val_loss(
        tmp_path, monkeypatch, capsys):
    # R5 sums its loss over the batch. fit logs loss and val_loss per image whatever the
    # reduction; printing evaluate's sum over the test set, both commands would show a number
    # 30 (or 10,000) times the val_loss printed by the progress output just above it.
    monkeypatch.setattr("tinynet.cli._load_data", lambda data: _few_digits())
    assert main(["train", "--model", "r5", "--quick", "--out", str(tmp_path), "--verbose",
                 "0"]) == 0
    trained = capsys.readouterr().out
    assert main(["evaluate", str(tmp_path / "model.npz")]) == 0
    evaluated, err = capsys.readouterr()
    assert err == ""  # train recorded the model's input scaling: nothing is assumed
    val_loss = json.loads((tmp_path / "history.json").read_text())["val_loss"][-1]
    for out in (trained, evaluated):
        mean, total = re.search(r"^test loss: (\S+) \(mean per image; summed over the 30 "
                                r"images: (\S+)\)$", out, flags=re.M).groups()
        assert float(mean) == pytest.approx(val_loss, abs=1e-4)
        assert float(total) == pytest.approx(30 * val_loss, abs=0.1)


def _synthetic_digits(n_train: int = 40, n_test: int = 30, missing: int | None = None):
    """Random MNIST-shaped data, each image told apart by its first pixel, labels cycling
    through the digits (all but ``missing``)."""
    rng = np.random.default_rng(0)
    digits = [d for d in range(10) if d != missing]

    def part(n, offset):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        x[:, 0, 0] = np.arange(offset, offset + n)
        return x, np.array([digits[i % len(digits)] for i in range(n)], dtype=np.uint8)

    return part(n_train, 100), part(n_test, 0)


def test_show_draws_the_digits_asked_for(tmp_path, monkeypatch, capsys):
    data = _synthetic_digits()
    (x_train, y_train), (x_test, y_test) = data
    drawn = []

    def plot_digits(images, labels, predictions=None, path=None):
        drawn.append((images, labels, predictions))
        Path(path).write_bytes(b"png")

    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: data)
    monkeypatch.setattr("tinynet.plot.plot_digits", plot_digits)
    out = tmp_path / "GRID.PNG"  # the suffix in capitals is still an image's
    for args, x, y in ((["--start", "5", "--count", "3"], x_test[5:8], y_test[5:8]),
                       (["--train", "--count", "2"], x_train[:2], y_train[:2]),
                       (["--start", "28", "--count", "5"], x_test[28:], y_test[28:])):
        assert main(["show", *args, "--out", str(out)]) == 0
        images, labels, predictions = drawn.pop()
        np.testing.assert_array_equal(images, x)
        np.testing.assert_array_equal(labels, y)
        assert predictions is None
        assert capsys.readouterr().out == (f"saved {len(x)} digit{'s' * (len(x) > 1)} to "
                                           f"{out}\n")
    assert main(["show", "--start", "30", "--out", str(out)]) == 1  # one past the last
    assert capsys.readouterr().err == ("tinynet show: error: --start: expected an int from 0 "
                                       "to 29, got 30\n")
    assert drawn == []
    # With --model, each digit drawn with the model's prediction for it (pixels / 255: the
    # model records no scaling).
    model = Sequential([Dense(784, 10), Softmax()], seed=0)
    path = _save(model, tmp_path / "m.npz")
    assert main(["show", "--model", str(path), "--start", "5", "--count", "3", "--out",
                 str(out)]) == 0
    images, labels, predictions = drawn.pop()
    np.testing.assert_array_equal(images, x_test[5:8])
    np.testing.assert_array_equal(
        predictions, model.predict(x_test[5:8].reshape(3, 784) / 255).argmax(axis=1))


def test_evaluate_a_model_that_outputs_logits_and_a_digit_the_test_set_lacks(
        tmp_path, monkeypatch, capsys):
    # Saved uncompiled and without Softmax: evaluate's loss must read its outputs as logits.
    model = Sequential([Dense(784, 10)], seed=0)
    path = _save(model, tmp_path / "logits.npz")
    (_, _), (x, y) = data = _synthetic_digits(missing=3)
    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: data)
    assert main(["evaluate", str(path)]) == 0
    out = capsys.readouterr().out
    logits = model.predict(x.reshape(len(x), 784) / 255).astype(np.float64)
    top = logits.max(axis=1, keepdims=True)
    log_p = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))
    loss = float(re.search(r"^test loss: (\S+)$", out, flags=re.M).group(1))
    assert loss == pytest.approx(-log_p[np.arange(len(y)), y].mean(), abs=1e-4)
    assert "\n  3: 0.0000  (0/0)\n" in out  # no 3 among the test digits: not nan


def test_predict_prints_probabilities_for_a_model_that_outputs_logits(tmp_path, capsys):
    path = _save(Sequential([Dense(784, 10)], seed=0), tmp_path / "logits.npz")
    digit = tmp_path / "digit.png"
    _big_inverted_png(load_mnist()[1][0][0], digit)
    assert main(["predict", str(path), str(digit)]) == 0
    first, second = capsys.readouterr().out.splitlines()
    p = np.array([float(v) for v in re.findall(r"\d: (\S+)", second)])
    assert len(p) == 10 and (p >= 0).all() and abs(p.sum() - 1) < 1e-3
    assert first == f"{digit}: {int(p.argmax())}"


def test_predict_prints_the_outputs_of_a_model_that_ends_in_sigmoid(tmp_path, capsys):
    # A probability per class already (one class against the rest): softmax of ten numbers
    # in [0, 1] would print ten values near 0.1.
    from tinynet.layers import Sigmoid

    model = Sequential([Dense(784, 10, b_init="normal"), Sigmoid()], seed=0)
    path = _save(model, tmp_path / "sigmoid.npz")
    digit = tmp_path / "digit.png"
    image = load_mnist()[1][0][0]
    _big_inverted_png(image, digit)
    assert main(["predict", str(path), str(digit)]) == 0
    first, second = capsys.readouterr().out.splitlines()
    p = np.array([float(v) for v in re.findall(r"\d: (\S+)", second)])
    expected = model.predict(image.reshape(1, 784) / 255)[0]
    # The prepared digit is the test digit within a few grey levels: outputs close to it.
    np.testing.assert_allclose(p, expected, atol=0.05)
    assert first == f"{digit}: {int(p.argmax())}"


def test_evaluate_reports_no_loss_for_an_uncompiled_model_that_ends_in_sigmoid(tmp_path,
                                                                                capsys):
    # Read as logits by a fallback cross-entropy, its outputs would give a "test loss" near
    # log(10) whatever the model, a number that means nothing; its accuracy is still read
    # from the outputs as they are.
    from tinynet.layers import Sigmoid

    model = Sequential([Dense(784, 10, b_init="normal"), Sigmoid()], seed=0)
    path = _save(model, tmp_path / "sigmoid.npz")
    assert main(["evaluate", str(path), "--out", str(tmp_path / "cm.png")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "test loss: - (saved without its loss, and its Sigmoid outputs are no distribution "\
           "over the digits)" in out
    (x, y) = load_mnist()[1]
    accuracy = (model.predict(x.reshape(-1, 784) / 255).argmax(axis=1) == y).mean()
    assert f"test accuracy: {accuracy:.4f}" in out


def test_train_that_diverges_says_so_in_one_line_without_numpy_warnings(tmp_path,
                                                                        monkeypatch, capsys):
    # fit stops a run whose loss is NaN with one line that says why and what to try; numpy
    # would otherwise warn of the overflow in Dense's matmul first, three warnings of two
    # lines each.
    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: _synthetic_digits(20, 20))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["train", "--optimizer", "sgd", "--lr", "1e9", "--batch-size", "4",
                     "--verbose", "0", "--out", str(tmp_path / "runs")]) == 1
    assert [str(w.message) for w in caught] == []
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "training diverged" in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_train_help_says_what_quick_does_to_the_epochs(capsys):
    # --quick trains as many epochs as the program's example unless --epochs says otherwise;
    # a help that said only "default: the program's" for --epochs, and "one epoch" for
    # --quick, would not say so.
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert ("--epochs EPOCHS default: the program's; with --quick, as its example's "
            "(r1 5, r2 1, r3 3, r4 1, r5 5, cnn 1)") in text
    assert "train on 2,000 images and test on 1,000, a smoke test (its epochs: see " \
           "--epochs)" in text


@pytest.mark.parametrize(("argv", "epochs", "optimizer"), [
    (["--model", "r1"], 5, "SGD"),  # one epoch of MSE on softmax outputs reaches 25%
    (["--model", "r3"], 3, "Adam"),  # and of raw pixels in a CNN 13%: it would look broken
    (["--model", "r3", "--epochs", "2", "--optimizer", "RMSprop"], 2, "RMSprop"),
    (["--model", "R1"], 5, "SGD"),  # taken, as --optimizer ADAM is
], ids=["r1", "r3", "r3 --epochs 2, --optimizer in any case", "--model in any case"])
def test_a_quick_train_runs_the_examples_quick_epochs(argv, epochs, optimizer, tmp_path,
                                                        monkeypatch):
    asked = stop_at_fit(monkeypatch)
    assert main(["train", "--quick", *argv, "--verbose", "0", "--out", str(tmp_path)]) == 130
    assert asked == {"epochs": epochs, "optimizer": optimizer, "samples": 2000,
                     "batch_size": 32}


def f1(y_pred, y_true):
    """A metric function of one's own: a model file holds its name only."""
    return 0.0


def test_a_model_with_a_metric_of_ones_own_runs_with_a_one_line_note(small_model, tmp_path,
                                                                     capsys):
    # load_model warns that it leaves the metric out and how to pass it in Python: a
    # UserWarning of two lines, the second cli.py's own source, with advice the command
    # cannot take. The command does not need the metric, and says so in one line.
    model = load_model(small_model)
    model.compile("sparse_categorical_crossentropy", "sgd", metrics=[f1])
    path = _save(model, tmp_path / "f1.npz")
    image = tmp_path / "seven.png"
    _big_inverted_png(load_mnist()[1][0][0], image)
    # As under `python -W error`: the command's own filter must decide, not the caller's
    # (with "error" the warning would be a traceback; with "ignore" the note would be lost).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["predict", str(path), str(image)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert f"{path}: metric 'f1' is a function of your own, which the file cannot hold: " \
           "left out (the tinynet command does not use it)" in err


def test_a_model_with_a_layer_of_ones_own_is_refused_saying_the_command_cannot_load_it(
        tmp_path, capsys):
    from tinynet.layers import Layer

    class Scale(Layer):
        def forward(self, x, training=False):
            return 2 * x

        def backward(self, grad):
            return 2 * grad

    path = _save(Sequential([Dense(784, 10), Scale(), Softmax()], seed=0), tmp_path / "s.npz")
    assert main(["predict", str(path), str(path)]) == 1
    err = capsys.readouterr().err
    # load_model's advice is Python's; the line says it is, and that the command cannot.
    assert err.count("\n") == 1 and "unknown layer type 'Scale'" in err
    assert err.endswith("custom_objects={'Scale': Scale}) in Python: the tinynet command "
                        "loads tinynet's own classes only\n"), err


def test_an_mse_program_trains_and_is_evaluated_on_one_hot_rows(tmp_path, monkeypatch,
                                                                 capsys):
    # R1's MSE compares outputs with one-hot rows (the labels would not fit its shape), in
    # train and in evaluate. The per-class accuracy is the share of each true digit that
    # is predicted right, a row of the confusion matrix: with every image predicted a 0,
    # the 3 zeros of the 30 test images are all right, and no other digit is.
    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: _synthetic_digits(20, 30))
    out = tmp_path / "r1"
    assert main(["train", "--model", "r1", "--epochs", "1", "--verbose", "0", "--out",
                 str(out)]) == 0
    monkeypatch.setattr("tinynet.cli._probabilities",
                        lambda model, x: np.eye(10)[np.zeros(len(x), int)])
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.npz"), "--out", str(tmp_path / "cm.png")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "test accuracy: 0.1000" in lines
    assert "  0: 1.0000  (3/3)" in lines and "  1: 0.0000  (0/3)" in lines


def test_no_command_prints_the_help(capsys):
    # `tinynet` alone asks what it can do: the help, and no error.
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tinynet [-h] [--version] COMMAND ...\n")
    assert "\n    train     train a reference model on MNIST\n" in out
    # `tinynet homework` alone, its own help, as `python -m tinynet.homework` alone
    assert main(["homework"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tinynet homework [-h] ACTION ...\n")
    assert "\n    export" in out
    assert homework.main([]) == 0
    assert capsys.readouterr().out.startswith("usage: tinynet homework [-h] ACTION ...\n")


def test_a_train_without_quick_runs_the_programs_epochs_on_all_its_data(tmp_path,
                                                                          monkeypatch, capsys):
    # R2 trains 5 epochs (reference.PROGRAMS); only --quick takes its example's one.
    asked = stop_at_fit(monkeypatch)
    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: _synthetic_digits(40, 30))
    assert main(["train", "--batch-size", "7", "--verbose", "0", "--out", str(tmp_path)]) == 130
    assert asked == {"epochs": 5, "samples": 40, "batch_size": 7, "optimizer": "RMSprop"}
    # --verbose 0 is silent but for the line naming the program: no summary of the layers.
    assert capsys.readouterr().out.splitlines() == [
        "tinynet train r2: " + reference.PROGRAMS["r2"].description]


def test_a_file_that_is_not_a_model_is_refused_in_load_models_words(tmp_path, capsys):
    # Only load_model's advice for parts of one's own earns the line on custom_objects; any
    # other refusal is load_model's own line, without it.
    fake = tmp_path / "fake.npz"
    fake.write_text("<html>not a model</html>")
    assert main(["evaluate", str(fake)]) == 1
    assert capsys.readouterr().err == (f"tinynet evaluate: error: {fake}: not a tinynet "
                                       "model: the file is not an .npz archive\n")


def test_evaluate_names_its_image_in_an_out_folder_after_the_model(small_model, tmp_path,
                                                                   monkeypatch, capsys):
    images = tmp_path / "images"
    images.mkdir()
    monkeypatch.setattr("tinynet.cli._load_data", lambda data: _few_digits())
    assert main(["evaluate", str(small_model), "--out", str(images)]) == 0
    assert capsys.readouterr().out.endswith(f"confusion matrix: {images / 'm_confusion.png'}\n")
    assert [p.name for p in images.iterdir()] == ["m_confusion.png"]


def test_an_image_in_a_missing_or_read_only_folder_is_refused_before_any_work(
        small_model, tmp_path, monkeypatch, capsys, refuse_files_in):
    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: pytest.fail("data loaded"))
    missing = tmp_path / "missing"
    assert main(["show", "--out", str(missing / "grid.png")]) == 1
    assert capsys.readouterr().err == ("tinynet show: error: --out: expected an existing "
                                       f"folder to write grid.png in, got {str(missing)!r}\n")
    assert not missing.exists()
    # Nor one on a disk mounted read-only, named by the system's reason.
    folder = small_model.parent
    refuse_files_in(folder, errno.EROFS)
    assert main(["evaluate", str(small_model)]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"tinynet evaluate: error: cannot write m_confusion.png in the folder {str(folder)!r} "
        "(read-only file system); say where to write it with --out")


def test_a_file_name_that_is_not_utf8_is_printed_escaped_under_a_strict_stdout(tmp_path):
    # A UTF-8 locale's stdout is strict: printing the name read with a surrogate escape
    # would fail the command after its work is done ("surrogates not allowed", exit 1).
    name = b"caf\xe9.png"  # Latin-1, as an older system wrote it
    result = subprocess.run([sys.executable, "-m", "tinynet", "show", "--count", "2", "--out",
                             name], capture_output=True, cwd=tmp_path,
                            env={**ENV, "PYTHONIOENCODING": "utf-8:strict"}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"saved 2 digits to caf\\udce9.png\n"
    assert os.listdir(os.fsencode(tmp_path)) == [name]


def test_a_full_disk_is_one_line_naming_the_file_being_written(tmp_path, monkeypatch, capsys):
    # The system's error names no file: not str()'s "[Errno 28] No space left on device",
    # nor "None: ...", nor the reason alone, which would leave the user to guess which disk.
    def full(self, fname, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: _synthetic_digits())
    monkeypatch.setattr(Figure, "savefig", full)
    assert main(["show", "--out", str(tmp_path / "g.png")]) == 1
    assert capsys.readouterr().err == (f"tinynet show: error: {tmp_path / 'g.png'}: no space "
                                       f"left on device\n")


def test_a_failed_rename_names_the_file_being_written(tmp_path, monkeypatch, capsys):
    # The image is written to a temporary file, then renamed over the one asked for: an
    # error of the rename names both, and the line must name the one the user asked for.
    def refuse(src, dst):
        raise OSError(errno.EACCES, "Permission denied", os.fspath(src), None, os.fspath(dst))

    monkeypatch.setattr("tinynet.cli._load_data", lambda folder: _synthetic_digits())
    monkeypatch.setattr("tinynet.atomic.os.replace", refuse)
    grid = tmp_path / "g.png"
    assert main(["show", "--out", str(grid)]) == 1
    assert capsys.readouterr().err == f"tinynet show: error: cannot write {grid}: permission " \
                                      "denied\n"
    assert list(tmp_path.iterdir()) == []  # and the temporary file is gone
