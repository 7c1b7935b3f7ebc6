"""The tinynet command, run as a user runs it: in a subprocess."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from matplotlib import image as mpimg

from tinynet.datasets import load_mnist


def tinynet(*args: str, cwd=None, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "tinynet", *args], capture_output=True,
                            text=True, timeout=600, cwd=cwd)
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


def test_train_saves_model_history_and_curves(trained):
    out, stdout = trained
    accuracy = float(re.findall(r"^test accuracy: (0\.\d{4})$", stdout, flags=re.M)[-1])
    assert accuracy > 0.8
    assert "Epoch 3/3" in stdout
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


@pytest.mark.parametrize("args", [["--lr", "-1"], ["--lr", "0"], ["--epochs", "0"]])
def test_train_refuses_bad_numbers_before_loading_anything(args):
    result = tinynet("train", *args, check=False)
    assert result.returncode == 2
    assert "must be a positive" in result.stderr and "Traceback" not in result.stderr
