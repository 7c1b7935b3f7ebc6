"""Plots: each writes an image file and has the axes, titles and labels it promises."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure
from strategies import BytesPath

from tinynet import plot
from tinynet.callbacks import History

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 1000  # something was drawn


def digits(n: int, seed: int = 0) -> np.ndarray:
    """(n, 28, 28) uint8 pixels: random blobs standing in for digits."""
    return np.random.default_rng(seed).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


def make_history() -> History:
    history = History()
    history.epoch = [0, 1, 2]
    history.history = {"loss": [0.9, 0.5, 0.3], "accuracy": [0.7, 0.85, 0.9],
                       "val_loss": [0.8, 0.55, 0.4], "val_accuracy": [0.72, 0.83, 0.88]}
    return history


def test_plot_history_draws_loss_and_accuracy_curves(tmp_path):
    path = tmp_path / "curves.png"
    fig = plot.plot_history(make_history(), path=path)
    assert isinstance(fig, Figure)
    assert_png(path)
    loss_ax, acc_ax = fig.axes
    assert (loss_ax.get_title(), acc_ax.get_title()) == ("Loss", "Accuracy")
    assert (loss_ax.get_xlabel(), loss_ax.get_ylabel()) == ("epoch", "loss")
    assert acc_ax.get_ylabel() == "accuracy"
    for ax in fig.axes:
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["training",
                                                                       "validation"]
        train, _ = ax.get_lines()
        assert list(train.get_xdata()) == [1, 2, 3]  # epochs counted from 1
    assert list(loss_ax.get_lines()[1].get_ydata()) == [0.8, 0.55, 0.4]


def test_plot_history_accepts_the_dict_and_loss_only(tmp_path):
    path = tmp_path / "loss.png"
    fig = plot.plot_history({"loss": [1.0, 0.5]}, path=path)
    assert_png(path)
    assert [ax.get_title() for ax in fig.axes] == ["Loss"]
    assert len(fig.axes[0].get_lines()) == 1
    with pytest.raises(ValueError, match="no 'loss'"):
        plot.plot_history({"accuracy": [0.5]})


@pytest.mark.parametrize("name", ["acc", "categorical_accuracy", "sparse_categorical_accuracy",
                                  "ACC", "Accuracy"])
def test_plot_history_draws_keras_accuracy_names_as_accuracy(name):
    # Keras code compiled with metrics=["acc"] logs "acc" and "val_acc";
    # metrics=["sparse_categorical_accuracy"] logs its accuracy under that name; and compile
    # takes the names in any case, logged as given.
    fig = plot.plot_history({"loss": [1.0, 0.5], name: [0.6, 0.8], f"val_{name}": [0.5, 0.7]})
    _, acc_ax = fig.axes
    assert (acc_ax.get_title(), acc_ax.get_ylabel()) == ("Accuracy", name)
    assert [list(line.get_ydata()) for line in acc_ax.get_lines()] == [[0.6, 0.8], [0.5, 0.7]]


def test_plot_history_draws_another_metric_in_a_panel_of_its_own_not_as_accuracy():
    # compile(metrics=["mae"]) logs "mae", a name compile takes like the accuracies': only
    # the names of accuracy make the Accuracy panel, and "mae" gets one of its own (left out,
    # a model compiled with it would have its loss drawn alone).
    fig = plot.plot_history({"loss": [1.0, 0.5], "mae": [0.4, 0.3], "val_mae": [0.5, 0.4]})
    assert [ax.get_title() for ax in fig.axes] == ["Loss", "mae"]
    loss, mae = fig.axes
    assert [list(line.get_ydata()) for line in mae.get_lines()] == [[0.4, 0.3], [0.5, 0.4]]
    assert mae.get_ylabel() == "mae" and mae.get_xlabel() == "epoch"
    # After the accuracy, in the order compile logged them.
    history = make_history()
    history.history.update(f1=[0.1, 0.2, 0.3], mae=[0.3, 0.2, 0.1])
    assert [ax.get_title() for ax in plot.plot_history(history).axes] == [
        "Loss", "Accuracy", "f1", "mae"]


def test_plot_history_draws_a_metric_logged_for_validation_only():
    # A callback's val_f1, computed on validation data alone, and val_accuracy without
    # accuracy, must not be left out.
    fig = plot.plot_history({"loss": [1.0, 0.5], "val_accuracy": [0.5, 0.6],
                             "val_f1": [0.2, 0.4]})
    assert [ax.get_title() for ax in fig.axes] == ["Loss", "Accuracy", "f1"]
    f1 = fig.axes[2]
    assert [line.get_label() for line in f1.get_lines()] == ["validation"]
    assert list(f1.get_lines()[0].get_ydata()) == [0.2, 0.4]


def test_plot_history_leaves_out_the_learning_rate():
    # A LearningRateScheduler adds "lr" to the History: no loss, no metric, so not drawn.
    history = make_history()
    history.history["lr"] = [0.1, 0.05, 0.025]
    fig = plot.plot_history(history)
    assert [ax.get_title() for ax in fig.axes] == ["Loss", "Accuracy"]
    for ax in fig.axes:
        assert len(ax.get_lines()) == 2
        assert all(list(line.get_ydata()) != [0.1, 0.05, 0.025] for line in ax.get_lines())


def test_plot_history_without_path_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fig = plot.plot_history(make_history())
    assert len(fig.axes) == 2
    assert list(tmp_path.iterdir()) == []


def test_a_plot_that_fails_to_write_leaves_the_old_file_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "curves.png"
    path.write_bytes(b"the last run's plot")

    def full_disk(self, fname, **kwargs):
        with open(fname, "wb") as f:
            f.write(b"\x89PNG half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full_disk)
    with pytest.raises(OSError, match="No space left"):
        plot.plot_loss([1.0, 0.5], path=path)
    assert path.read_bytes() == b"the last run's plot"
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]  # no temporary file left


def test_plot_loss_draws_one_curve(tmp_path):
    path = tmp_path / "loss.png"
    values = np.linspace(2.0, 0.1, 50)
    fig = plot.plot_loss(values, path=path)
    assert_png(path)
    (ax,) = fig.axes
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Training loss",
                                                                  "iteration", "loss")
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), values)
    assert plot.plot_loss([1, 2], xlabel="epoch").axes[0].get_xlabel() == "epoch"
    with pytest.raises(ValueError, match=r"\(T,\)"):
        plot.plot_loss(np.zeros((2, 2)))


def test_plot_digits_titles_each_digit_with_its_label(tmp_path):
    path = tmp_path / "digits.png"
    labels = np.arange(12) % 10
    fig = plot.plot_digits(digits(12), labels, path=path, ncols=5)
    assert_png(path)
    assert len(fig.axes) == 12
    assert [ax.get_title() for ax in fig.axes] == [str(d) for d in labels]
    assert fig.get_suptitle() == "Digits"
    rows_cols = {ax.get_subplotspec().get_geometry()[:2] for ax in fig.axes}
    assert rows_cols == {(3, 5)}


def test_plot_digits_marks_wrong_predictions_in_red(tmp_path):
    path = tmp_path / "pred.png"
    labels = np.array([3, 1, 4, 1, 5, 9])
    probabilities = np.eye(10)[[3, 7, 4, 1, 6, 9]]  # (N, K): wrong at 1 and 4
    fig = plot.plot_digits(digits(6).reshape(6, 784), np.eye(10)[labels], probabilities,
                           path=path)
    assert_png(path)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[1] == "true 1, pred 7" and titles[0] == "true 3, pred 3"
    colours = [ax.title.get_color() for ax in fig.axes]
    assert [c == plot.WRONG for c in colours] == [False, True, False, False, True, False]
    # Predicted labels (N,) give the same titles.
    same = plot.plot_digits(digits(6), labels, np.array([3, 7, 4, 1, 6, 9]))
    assert [ax.get_title() for ax in same.axes] == titles


def test_plot_digits_refuses_bad_shapes():
    with pytest.raises(ValueError, match="square"):
        plot.plot_digits(np.zeros((2, 10)), [0, 1])
    with pytest.raises(ValueError, match="one label"):
        plot.plot_digits(digits(3), [0, 1])
    with pytest.raises(ValueError, match="ncols"):
        plot.plot_digits(digits(2), [0, 1], ncols=0)


def test_plot_confusion_matrix_writes_counts_in_cells(tmp_path):
    path = tmp_path / "cm.png"
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    fig = plot.plot_confusion_matrix(cm, path=path, class_names=["a", "b", "c"])
    assert_png(path)
    (ax,) = fig.axes
    assert ax.get_title() == "Confusion matrix"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true")
    assert [t.get_text() for t in ax.texts] == [str(v) for v in cm.ravel()]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    # The count in the darkest cell is white, so it stays readable.
    assert ax.texts[8].get_color() == "white" and ax.texts[1].get_color() == "black"
    with pytest.raises(ValueError, match=r"\(K, K\)"):
        plot.plot_confusion_matrix(np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match="3 names"):
        plot.plot_confusion_matrix(cm, class_names=["a"])


@pytest.mark.parametrize("draw", [
    lambda: plot.plot_digits(digits(1), [3], [5]),
    lambda: plot.plot_misclassified(digits(1), [3], np.eye(10)[[5]]),
], ids=["digits", "misclassified"])
def test_the_title_of_a_grid_of_one_digit_fits_in_the_figure(draw):
    # "Digits: true and predicted labels" over a 1.2-inch grid would show "ue and predict".
    fig = draw()
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    title = next(t for t in fig.texts if t.get_text() == fig.get_suptitle())
    extent = title.get_window_extent(renderer)
    assert 0 <= extent.x0 and extent.x1 <= fig.bbox.width, (extent, fig.bbox.width)


def test_plot_misclassified_shows_most_confident_mistakes_first(tmp_path):
    path = tmp_path / "wrong.png"
    y_true = np.array([0, 1, 2, 3, 4, 5])
    probabilities = np.full((6, 10), 0.01)
    predicted = [0, 7, 2, 8, 9, 6]  # wrong at 1, 3, 4, 5
    confidence = [0.9, 0.6, 0.99, 0.95, 0.7, 0.8]
    probabilities[np.arange(6), predicted] = confidence
    fig = plot.plot_misclassified(digits(6), y_true, probabilities, path=path, n=3)
    assert_png(path)
    assert [ax.get_title() for ax in fig.axes] == ["true 3, pred 8 (0.95)",
                                                   "true 5, pred 6 (0.80)",
                                                   "true 4, pred 9 (0.70)"]
    assert all(ax.title.get_color() == plot.WRONG for ax in fig.axes)
    assert fig.get_suptitle() == "Most confident mistakes (3 of 4)"


def test_plot_misclassified_reads_one_output_as_the_probability_of_class_1():
    # As accuracy reads it (p > 0.5). By argmax, one column would always say class 0: no
    # mistake among labels 0, and labels 1 refused as no class.
    p = np.array([[0.1], [0.9], [0.2], [0.8]])
    fig = plot.plot_misclassified(digits(4), [0, 0, 1, 1], p)
    assert [ax.get_title() for ax in fig.axes] == ["true 0, pred 1 (0.90)",
                                                   "true 1, pred 0 (0.80)"]


def test_plot_digits_reads_one_float_output_as_the_probability_of_class_1():
    # As plot_misclassified and accuracy read it. As labels, 0.9 would be refused as no class
    # index, and a 0.0/1.0 column read the same either way.
    p = np.array([[0.1], [0.9], [0.2], [0.8], [0.5]])
    fig = plot.plot_digits(IMAGES, [0, 0, 1, 1, 0], p)
    assert [ax.get_title() for ax in fig.axes] == ["true 0, pred 0", "true 0, pred 1",
                                                   "true 1, pred 0", "true 1, pred 1",
                                                   "true 0, pred 0"]
    # Labels in a column stay labels: integers, or whole floats beyond 1.
    for column in (LABELS[:, None], LABELS[:, None].astype(float)):
        fig = plot.plot_digits(IMAGES, LABELS, column)
        assert [ax.get_title() for ax in fig.axes] == [f"true {d}, pred {d}" for d in LABELS]


@pytest.mark.parametrize("call, name", [
    (lambda p: plot.plot_digits(IMAGES, LABELS % 2, p), "predictions"),
    (lambda p: plot.plot_misclassified(IMAGES, LABELS % 2, p), "probabilities"),
])
def test_one_output_outside_0_1_is_refused_naming_it(call, name):
    # 1.5 would be class 1 with a confidence of 1.5; and, in plot_digits, no label either:
    # read as labels, the column would be refused for its valid 0.2.
    p = np.array([[0.2], [0.9], [1.5], [0.8], [0.5]])
    with pytest.raises(ValueError, match=rf"^{name}: one output per image is the "
                       r"probability of class 1, expected values in \[0, 1\], got 1.5 at "
                       r"\[2, 0\]$"):
        call(p)


def test_tinynet_show_draws_at_most_what_plot_digits_takes():
    from tinynet import cli

    assert cli.MAX_SHOW == plot.MAX_DIGITS


def test_plot_digits_refuses_more_digits_than_fit_a_figure():
    # 1,000 would take 34 s to draw, one axes each; 5,000 would be too tall an image to save.
    n = plot.MAX_DIGITS + 1
    with pytest.raises(ValueError, match=rf"^plot_digits: at most {plot.MAX_DIGITS} digits "
                                         rf"fit a figure \(an axes each\), got {n}: plot "
                                         r"some of them, images\[:100\]"):
        plot.plot_digits(np.zeros((n, 28, 28)), np.zeros(n, int))


def test_plot_misclassified_refuses_more_digits_than_fit_a_figure(monkeypatch):
    monkeypatch.setattr(plot, "MAX_DIGITS", 4)  # 400 axes would take seconds to draw
    x, y = np.zeros((10, 28, 28)), np.zeros(10, int)
    wrong = np.eye(10)[np.ones(10, int)]  # every digit a mistake
    # Refused with mistakes enough to fill n axes or not: the same call must not fail later.
    for probabilities in (wrong, np.eye(10)[y]):
        with pytest.raises(ValueError, match=r"^plot_misclassified: n must be at most 4 \(an "
                                             r"axes per digit, as plot_digits draws them\), "
                                             r"got 5$"):
            plot.plot_misclassified(x, y, probabilities, n=5)
    assert len(plot.plot_misclassified(x, y, wrong, n=4).axes) == 4


def test_plot_digits_draws_as_many_digits_as_fit(monkeypatch):
    monkeypatch.setattr(plot, "MAX_DIGITS", 4)  # 400 axes would take seconds to draw
    assert len(plot.plot_digits(np.zeros((4, 28, 28)), np.zeros(4, int)).axes) == 4


def test_plot_loss_marks_the_points_of_a_short_run():
    # A line joins two finite points in a row: one value alone, or between NaNs, would not
    # be drawn. A long run keeps a plain line.
    for values, marker in (([0.5], "o"), ([1, np.nan, 2], "o"), (np.ones(100), "o"),
                           (np.ones(101), "None")):
        (line,) = plot.plot_loss(values).axes[0].get_lines()
        assert line.get_marker() == marker


def test_plot_misclassified_when_there_is_no_mistake(tmp_path):
    path = tmp_path / "none.png"
    fig = plot.plot_misclassified(digits(2), [1, 2], np.eye(3)[[1, 2]], path=path)
    assert_png(path)
    (ax,) = fig.axes
    assert ax.texts[0].get_text() == "no misclassified digits"


def test_docstrings_state_input_shapes():
    shapes = {"plot_history": "[E floats]", "plot_loss": "(T,)", "plot_digits": "(N, H, W)",
              "plot_misclassified": "(N, K)", "plot_confusion_matrix": "(K, K)"}
    for name, shape in shapes.items():
        doc = inspect.getdoc(getattr(plot, name))
        assert shape in doc, f"{name}'s docstring does not state the shape {shape}"


def test_plots_never_use_pyplot(tmp_path):
    """Headless: drawing and saving works without pyplot, so no window can ever open."""
    code = (
        "import sys, numpy as np\n"
        "from tinynet import plot\n"
        f"plot.plot_loss(np.arange(5.0), path={str(tmp_path / 'p.png')!r})\n"
        "plot.plot_confusion_matrix(np.eye(3, dtype=int))\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
        "print('ok')\n"
    )
    # A GUI backend in the environment must not matter either.
    env = {**os.environ, "MPLBACKEND": "TkAgg"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert_png(tmp_path / "p.png")


def test_tinynet_plot_works_after_import_tinynet_which_leaves_matplotlib_unimported():
    # docs/training.md calls tinynet.plot.plot_history after `import tinynet`; plot is
    # imported on its first use, so that importing tinynet does not cost matplotlib's import.
    code = (
        "import sys, tinynet\n"
        "assert 'matplotlib' not in sys.modules, 'import tinynet imported matplotlib'\n"
        "names = dir(tinynet)\n"
        "print(tinynet.plot.plot_history.__module__, 'plot' in names, 'imaging' in names)\n"
        # What the lazy imports need is not offered to an editor's completion.
        "print([n for n in ('importlib', 'annotations', 'TYPE_CHECKING') if n in names])\n"
        "try:\n"
        "    tinynet.plott\n"
        "except AttributeError as e:\n"
        "    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("tinynet.plot True True\n[]\n"
                           "module 'tinynet' has no attribute 'plott'\n")


# ------------------------------------------------------------------------ argument checks
IMAGES = digits(5)
LABELS = np.array([0, 1, 2, 3, 4])
#: Each plot function with valid arguments, waiting for its ``path``.
PLOTS = {
    "plot_history": lambda path: plot.plot_history(make_history(), path=path),
    "plot_loss": lambda path: plot.plot_loss([1.0, 0.5], path=path),
    "plot_digits": lambda path: plot.plot_digits(IMAGES, LABELS, path=path),
    "plot_misclassified": lambda path: plot.plot_misclassified(
        IMAGES, LABELS, np.eye(10)[[1, 1, 1, 1, 1]], path=path),
    "plot_confusion_matrix": lambda path: plot.plot_confusion_matrix(np.eye(3, dtype=int),
                                                                     path=path),
}


def bad_paths(tmp_path) -> list[str]:
    """Paths savefig would misread: an existing folder (written as a sibling folder.png),
    the same with a slash (a hidden folder/.png), no suffix, a missing folder, a file as
    the folder."""
    (tmp_path / "outdir").mkdir()
    (tmp_path / "afile").write_text("")
    (tmp_path / "pics.png").mkdir()  # a folder, whatever its name says
    os.mkfifo(tmp_path / "pipe.png")  # which saving would replace with a regular file
    return [str(tmp_path / "outdir"), str(tmp_path / "outdir") + os.sep,
            str(tmp_path / "pics.png"), str(tmp_path / "pipe.png"),
            str(tmp_path / "curves"), str(tmp_path / "missing" / "x.png"),
            str(tmp_path / "afile" / "x.png"), str(tmp_path / "outdir" / ".png"),
            str(tmp_path / "new.png") + os.sep]  # a folder to be, not the file new.png


def test_a_refused_path_says_why(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where no folder "missing" is
    os.mkfifo(tmp_path / "pipe.png")
    for path, why in (("curves.txt", " (no image suffix)"),
                      (os.path.join("missing", "x.png"), " (no folder 'missing')"),
                      ("pipe.png", ", a named pipe")):
        with pytest.raises(ValueError) as info:
            plot.plot_loss([1.0], path=path)
        assert str(info.value).endswith(f"got {path!r}{why}")


@pytest.mark.parametrize("name", PLOTS)
def test_a_path_that_is_not_an_image_file_is_refused_before_drawing(name, tmp_path,
                                                                    monkeypatch):
    def no_drawing(*args, **kwargs):
        raise AssertionError("drew a figure before checking path")

    paths = bad_paths(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    monkeypatch.setattr(plot, "_figure", no_drawing)
    for path in paths:
        with pytest.raises(ValueError) as info:
            PLOTS[name](path)
        message = str(info.value)
        assert message.startswith("path: expected a file name ending in a format matplotlib "
                                  "can write (.png, .pdf, .svg, ...)"), message
        assert repr(path) in message and "\n" not in message
    assert sorted(tmp_path.rglob("*")) == before  # nothing written anywhere


@pytest.mark.parametrize("name", PLOTS)
def test_any_format_matplotlib_writes_is_accepted(name, tmp_path):
    for file in ("plot.svg", "plot.PDF", "plot.png"):
        fig = PLOTS[name](tmp_path / file)
        assert isinstance(fig, Figure)
        assert (tmp_path / file).stat().st_size > 0


@pytest.mark.parametrize("labels, found", [
    (np.array([0.5, 1.2, 2, 3, 4]), "got 0.5 at index 0"),  # not drawn as 0 and 1
    (np.array([0, 1, 42, 3, 4]), "got 42 at index 2"),
    (np.array([0, 1, 2, -1, 4]), "got -1 at index 3"),
    (np.array([0, 1, np.nan, 3, 4]), "got nan at index 2"),
    # Not numpy's "cannot reshape array of size 20".
    (np.zeros((5, 2, 2)), "got shape (5, 2, 2) and dtype float64"),
    (np.array(["0", "1", "2", "3", "4"]), "dtype <U1"),
    # True is no class index, though NumPy would count it as 1
    (np.array([True, False, True, False, True]), "dtype bool"),
])
def test_plot_digits_refuses_labels_that_are_not_class_indices(labels, found):
    with pytest.raises(ValueError) as info:
        plot.plot_digits(IMAGES, labels)
    message = str(info.value)
    assert message.startswith("labels: expected one label (or one-hot row) per image, 5 in "
                              "all, each a class index from 0 to 9"), message
    assert message.endswith(found), message


def test_plot_digits_checks_predictions_like_labels():
    with pytest.raises(ValueError, match=r"^predictions: .* got 10 at index 0$"):
        plot.plot_digits(IMAGES, LABELS, np.array([10, 1, 2, 3, 4]))
    # Outputs (N, K) must have as many classes as the one-hot labels, and be numbers.
    with pytest.raises(ValueError, match=r"^predictions: expected numbers of shape \(5, 10\)"):
        plot.plot_digits(IMAGES, np.eye(10)[LABELS], np.eye(5))
    with pytest.raises(ValueError, match=r"^predictions: expected finite numbers, got nan"):
        plot.plot_digits(IMAGES, LABELS, np.full((5, 10), np.nan))


def test_plot_digits_takes_whole_float_labels_and_other_class_counts():
    fig = plot.plot_digits(IMAGES, np.array([0.0, 1, 2, 3, 4]))
    assert [ax.get_title() for ax in fig.axes] == ["0", "1", "2", "3", "4"]
    # 26 letters: labels above 9 are valid once num_classes (or a (N, 26) width) says so.
    fig = plot.plot_digits(IMAGES, np.array([25, 1, 2, 3, 4]), num_classes=26)
    assert fig.axes[0].get_title() == "25"
    fig = plot.plot_digits(IMAGES, np.eye(26)[[25, 1, 2, 3, 4]])
    assert fig.axes[0].get_title() == "25"
    # One-hot rows of bools, as a comparison gives them (labels[:, None] == np.arange(10))
    fig = plot.plot_digits(IMAGES, LABELS[:, None] == np.arange(10))
    assert [ax.get_title() for ax in fig.axes] == [str(d) for d in LABELS]
    with pytest.raises(ValueError, match=r"^num_classes must be an int >= 1, got 0$"):
        plot.plot_digits(IMAGES, LABELS, num_classes=0)


def test_plot_misclassified_refuses_nan_probabilities_and_mismatched_classes():
    probabilities = np.eye(10)[[1, 1, 1, 1, 1]]
    probabilities[2] = np.nan  # not drawn as "pred 0 (nan)"
    with pytest.raises(ValueError,
                       match=r"^probabilities: expected finite numbers, got nan at \[2, 0\]$"):
        plot.plot_misclassified(IMAGES, LABELS, probabilities)
    # One-hot y_true over 5 classes against probabilities over 10: which class is which?
    with pytest.raises(ValueError, match=r"^y_true: expected numbers of shape \(5, 10\), .*"
                                         r"got shape \(5, 5\)"):
        plot.plot_misclassified(IMAGES, np.eye(5), np.full((5, 10), 0.1))
    with pytest.raises(ValueError, match=r"^y_true: .* from 0 to 9, got 12 at index 0$"):
        plot.plot_misclassified(IMAGES, [12, 1, 2, 3, 4], np.full((5, 10), 0.1))
    with pytest.raises(ValueError, match=r"^probabilities: expected numbers of shape "
                                         r"\(5, K\), one row per image, got shape \(5,\)"):
        plot.plot_misclassified(IMAGES, LABELS, np.ones(5))


def test_plot_misclassified_counts_may_be_numpy_ints():
    probabilities = np.eye(10)[[1, 1, 1, 1, 1]]  # wrong at 0, 2, 3, 4
    fig = plot.plot_misclassified(IMAGES, LABELS, probabilities, n=np.int64(3),
                                  ncols=np.int32(2))
    assert len(fig.axes) == 3
    for bad in (0, True, 2.0, np.int64(-1)):
        with pytest.raises(ValueError, match=r"^n must be an int >= 1, got "):
            plot.plot_misclassified(IMAGES, LABELS, probabilities, n=bad)
    # ncols is checked even when there is no mistake to lay out.
    with pytest.raises(ValueError, match=r"^ncols must be an int >= 1, got 0$"):
        plot.plot_misclassified(IMAGES, LABELS, np.eye(10)[LABELS], ncols=0)


@pytest.mark.parametrize("cm, shown", [
    (np.array([[5, 0, 0], [0, 5, -1], [0, 0, 5]]), "-1"),
    (np.array([[5, 0, 0], [0, 5, np.nan], [0, 0, 5]]), "nan"),
    (np.array([[5, 0, 0], [0, 5, np.inf], [0, 0, 5]]), "inf"),
])
def test_plot_confusion_matrix_refuses_negative_or_nan_counts(cm, shown):
    with pytest.raises(ValueError,
                       match=rf"^cm: expected finite counts >= 0, got {shown} at \[1, 2\]$"):
        plot.plot_confusion_matrix(cm)


def test_plot_confusion_matrix_accepts_rates():
    (ax,) = plot.plot_confusion_matrix(np.eye(2) / 2).axes
    assert [t.get_text() for t in ax.texts] == ["0.5", "0", "0", "0.5"]
    # Two significant digits, what a cell has room for.
    (ax,) = plot.plot_confusion_matrix(np.array([[1 / 3, 2 / 3], [0.0, 1.0]])).axes
    assert [t.get_text() for t in ax.texts] == ["0.33", "0.67", "0", "1"]


@pytest.mark.parametrize("history, match", [
    (None, r"history must be a History or a dict of lists, .*got None"),
    ("loss", r"history must be a History or a dict of lists, .*got 'loss'"),
    ({"loss": ["a", "b"]}, r"history\['loss'\]: expected numbers of shape \(T,\), one per "
                           r"epoch, got \['a', 'b'\]"),
    ({"loss": None}, r"history\['loss'\]: expected numbers .*got None"),
    # Converted to float, strings of numbers would be read as numbers.
    ({"loss": ["0.5", "0.3"]}, r"history\['loss'\]: expected numbers .*got \['0.5', '0.3'\]"),
    ({"loss": 0.5}, r"history\['loss'\]: expected numbers .*got shape \(\)"),
    ({"loss": [[0.5, 0.3]]}, r"history\['loss'\]: expected numbers .*got shape \(1, 2\)"),
    ({"loss": [0.5], "val_accuracy": [0.9], "accuracy": ["x"]},
     r"history\['accuracy'\]: expected numbers .*got \['x'\]"),
    # Unrefused, an empty figure, and curves of different runs drawn as one, would be drawn
    # without a word.
    ({}, r"no 'loss' in the history \(keys: \[\]\) \(a fit of 0 epochs logs nothing\)"),
    ({"loss": []}, r"expected one value per epoch in every series, at least one epoch, got "
                   r"lengths \{'loss': 0\}"),
    ({"loss": [1.0, 0.5], "val_loss": [1.0]}, r"expected one value per epoch in every series, "
                                              r"at least one epoch, got lengths \{'loss': 2, "
                                              r"'val_loss': 1\}"),
])
def test_plot_history_refuses_what_is_not_one_number_per_epoch(history, match):
    with pytest.raises(ValueError, match=f"^plot_history: {match}$"):
        plot.plot_history(history)


def test_plot_history_draws_none_as_a_gap_as_nan():
    # JSON has no NaN: a History written by another tool holds null for a diverged epoch.
    fig = plot.plot_history({"loss": [1.0, None, 0.5], "val_loss": [None, 0.9, 0.6]})
    training, validation = fig.axes[0].get_lines()
    np.testing.assert_array_equal(training.get_ydata(), [1.0, np.nan, 0.5])
    np.testing.assert_array_equal(validation.get_ydata(), [np.nan, 0.9, 0.6])


@pytest.mark.parametrize("values, got", [
    (["a"], r"\['a'\]"), (None, "None"), ([[1.0]], r"shape \(1, 1\)"),
    ([0.5, None, "a"], r"\[0\.5, None, 'a'\]"),
    (np.array([1 + 1j]), r"array\(\[1\.\+1\.j\]\)"),  # not cut to its real part
    ((v for v in [1.0, 2.0]), "<generator"),
])
def test_plot_loss_refuses_what_is_not_one_number_per_step(values, got):
    with pytest.raises(ValueError, match=rf"^plot_loss: values: expected numbers of shape "
                                         rf"\(T,\), one per iteration, got {got}"):
        plot.plot_loss(values)


@pytest.mark.parametrize("names", ["ab", 2])
def test_plot_confusion_matrix_wants_a_list_of_class_names(names):
    cm = np.array([[3, 1], [0, 2]])
    for given in (np.array(["cat", "dog"]), {"cat": 0, "dog": 1}.keys()):
        (ax,) = plot.plot_confusion_matrix(cm, class_names=given).axes
        assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
    # Unchecked, "ab" would name the two classes "a" and "b"; 2 would fail with "'int' object
    # is not iterable".
    with pytest.raises(ValueError, match=rf"^class_names: expected a list of 2 names, got "
                                         rf"{names!r}$"):
        plot.plot_confusion_matrix(cm, class_names=names)


def test_plot_loss_counts_steps_from_1():
    (ax,) = plot.plot_loss([0.9, 0.5, 0.4]).axes
    assert list(ax.get_lines()[0].get_xdata()) == [1, 2, 3]


def test_plot_history_numbers_a_resumed_runs_epochs_as_it_ran_them():
    # A run resumed at initial_epoch=2 logged epochs 2, 3, 4: drawn as epochs 3 to 5.
    history = History()
    history.epoch = [2, 3, 4]
    history.history = {"loss": [0.5, 0.4, 0.3], "val_loss": [0.6, 0.5, 0.45]}
    (ax,) = plot.plot_history(history).axes
    assert [list(line.get_xdata()) for line in ax.get_lines()] == [[3, 4, 5], [3, 4, 5]]
    # A History filled by hand, whose epoch list is left empty: its values count from 1.
    history = History()
    history.history = {"loss": [1.0, 0.5]}
    (ax,) = plot.plot_history(history).axes
    assert list(ax.get_lines()[0].get_xdata()) == [1, 2]


def test_plot_digits_lays_out_fewer_digits_than_ncols_in_one_row_of_their_own():
    fig = plot.plot_digits(digits(3), [0, 1, 2])  # ncols=10 by default
    assert {ax.get_subplotspec().get_geometry()[:2] for ax in fig.axes} == {(1, 3)}


def test_plot_digits_takes_labels_as_a_column():
    fig = plot.plot_digits(IMAGES, LABELS[:, None])
    assert [ax.get_title() for ax in fig.axes] == [str(d) for d in LABELS]


def test_plot_misclassified_keeps_the_data_order_among_equal_confidences():
    # 20 mistakes at three confidences: an unstable sort shuffles those of one confidence.
    images = np.arange(20, dtype=np.uint8)[:, None, None] * np.ones((1, 4, 4), np.uint8)
    confidence = np.tile([0.9, 0.5, 0.7], 7)[:20]
    probabilities = np.zeros((20, 3))
    probabilities[:, 1] = confidence
    fig = plot.plot_misclassified(images, np.zeros(20, int), probabilities, n=20)
    shown = [int(ax.images[0].get_array()[0, 0]) for ax in fig.axes]
    assert shown == sorted(range(20), key=lambda i: -confidence[i])  # Python's sort is stable


def test_plot_confusion_matrix_labels_both_axes_and_writes_whole_counts():
    cm = np.array([[1234, 5], [67, 617]])
    (ax,) = plot.plot_confusion_matrix(cm, class_names=["cat", "dog"]).axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog"]
    assert [t.get_text() for t in ax.texts] == ["1234", "5", "67", "617"]  # not 1.2e+03
    (ax,) = plot.plot_confusion_matrix(cm.astype(np.uint64)).axes  # unsigned counts too
    assert [t.get_text() for t in ax.texts] == ["1234", "5", "67", "617"]
    # White only above half the largest count: 617 is exactly half of 1234.
    assert [t.get_color() for t in ax.texts] == ["white", "black", "black", "black"]


def visible_xticks(fig: Figure) -> list[list[float]]:
    """The x ticks each axes of ``fig`` shows once drawn."""
    fig.canvas.draw()
    ticks = []
    for ax in fig.axes:
        low, high = ax.get_xlim()
        ticks.append([float(t) for t in ax.get_xticks() if low <= t <= high])
    return ticks


@pytest.mark.parametrize("draw", [
    lambda: plot.plot_history({"loss": [0.5], "accuracy": [0.8]}),  # tinynet train --quick
    lambda: plot.plot_loss([0.5]),
])
def test_one_epoch_or_step_is_labelled_1_not_fractions(draw):
    # matplotlib widens a single point's axis to 0.945..1.055 and, asked for at least two
    # ticks, fills it with 0.945, 0.96, ...: epochs that do not exist.
    for ticks in visible_xticks(draw()):
        assert ticks == [1.0]


@pytest.mark.parametrize("path", [5, b"plot.png", BytesPath(b"plot.png")], ids=["int", "bytes",
                                                                    "bytes-pathlike"])
def test_a_path_that_is_no_str_path_is_refused(path):
    # Not os.fspath's TypeError, nor bytes decoded by guess: the one-line ValueError.
    with pytest.raises(ValueError, match=r"^path: expected a file name .*, got "):
        plot.plot_loss([1.0, 0.5], path=path)


def test_figures_are_saved_at_100_dpi(tmp_path):
    # plot_loss's figure is 6 x 4 inches: 600 x 400 pixels, read from the PNG's IHDR chunk.
    path = tmp_path / "loss.png"
    fig = plot.plot_loss([1.0, 0.5], path=path)
    assert tuple(fig.get_size_inches()) == (6.0, 4.0)
    header = path.read_bytes()[16:24]
    assert (int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")) == (600, 400)


def test_figures_grow_with_what_they_hold():
    # Side by side: two panels are twice as wide as one, as tall.
    one = plot.plot_history({"loss": [1.0, 0.5]}).get_size_inches()
    two = plot.plot_history(make_history()).get_size_inches()
    assert (two[0], two[1]) == (2 * one[0], one[1])
    # A row of 10 digits is wide; the same 10 in 2 columns, tall.
    row = plot.plot_digits(digits(10), np.arange(10)).get_size_inches()
    column = plot.plot_digits(digits(10), np.arange(10), ncols=2).get_size_inches()
    assert row[0] > row[1] and column[1] > column[0]
    # Ten classes need more room than two.
    small = plot.plot_confusion_matrix(np.eye(2, dtype=int)).get_size_inches()
    large = plot.plot_confusion_matrix(np.eye(10, dtype=int)).get_size_inches()
    assert (large > small).all()


def test_plot_history_draws_its_panels_side_by_side_with_styles_told_apart():
    fig = plot.plot_history(make_history())
    assert [ax.get_subplotspec().get_geometry() for ax in fig.axes] == [(1, 2, 0, 0),
                                                                       (1, 2, 1, 1)]
    for ax in fig.axes:
        # Told apart without colour (printed in grey): solid training, dashed validation.
        assert [line.get_linestyle() for line in ax.get_lines()] == ["-", "--"]
        assert all(line.get_visible() for line in ax.get_xgridlines())


def test_digits_are_dark_on_white_without_ticks_labels_black_and_mistakes_red():
    labels_only = plot.plot_digits(IMAGES, LABELS, ncols=2)
    # Laid out in reading order: the i-th digit in the i-th cell of the grid.
    assert [ax.get_subplotspec().num1 for ax in labels_only.axes] == list(range(5))
    ax = labels_only.axes[0]
    assert ax.images[0].get_cmap().name == "gray_r"  # dark digits on white, as on paper
    assert (list(ax.get_xticks()), list(ax.get_yticks())) == ([], [])
    assert {ax.title.get_color() for ax in labels_only.axes} == {"black"}
    predicted = plot.plot_digits(IMAGES, LABELS, np.array([0, 7, 2, 3, 4]))
    assert [ax.title.get_color() for ax in predicted.axes] == ["black", "red", "black",
                                                               "black", "black"]
    assert predicted.get_suptitle() == "Digits: true and predicted labels"


@pytest.mark.parametrize("images, found", [
    (np.zeros((5, 28, 28, 3), np.uint8), "got (5, 28, 28, 3)"),  # RGB: which channel?
    (np.full((5, 28, 28), "0"), "got dtype <U1"),
])
def test_images_that_are_not_grey_numbers_are_refused(images, found):
    with pytest.raises(ValueError, match=r"^images must ") as info:
        plot.plot_digits(images, LABELS)
    assert str(info.value).endswith(found)


def test_plot_misclassified_checks_labels_and_probabilities_against_each_other():
    # Probabilities over 3 classes: a label 5 is no class of theirs.
    with pytest.raises(ValueError, match=r"^y_true: .* from 0 to 2, got 5 at index 4$"):
        plot.plot_misclassified(IMAGES, [0, 1, 2, 0, 5], np.full((5, 3), 0.1))
    with pytest.raises(ValueError, match=r"^probabilities: expected numbers of shape "
                                         r"\(5, 3\), .* dtype <U3$"):
        plot.plot_misclassified(IMAGES, LABELS, np.full((5, 3), "0.1"))


def test_plot_misclassified_lays_out_only_the_mistakes_there_are():
    probabilities = np.eye(10)[[0, 1, 2, 3, 9]]  # one mistake; n=10 by default
    (ax,) = plot.plot_misclassified(IMAGES, LABELS, probabilities).axes
    assert ax.get_subplotspec().get_geometry()[:2] == (1, 1)
    none = plot.plot_misclassified(IMAGES, LABELS, np.eye(10)[LABELS])
    assert none.get_suptitle() == "Most confident mistakes"
    assert not none.axes[0].axison  # a message, not an empty plot with ticks


def test_plot_confusion_matrix_draws_true_classes_as_rows():
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    (ax,) = plot.plot_confusion_matrix(cm).axes
    np.testing.assert_array_equal(ax.images[0].get_array(), cm)  # row i: true class i
    assert ax.texts[1].get_position() == (1, 0)  # cm[0, 1] at x = 1 (predicted), y = 0
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "1", "2"]


@pytest.mark.parametrize("cm, kwargs, match", [
    (np.eye(3, dtype=bool), {}, r"^cm: expected a \(K, K\) array of counts, .* dtype bool$"),
    (np.full((2, 2), "1"), {}, r"^cm: expected a \(K, K\) array of counts, .* dtype <U1$"),
    (np.eye(3, dtype=int), {"class_names": list("abcd")}, r"^class_names: expected 3 names, "
                                                          r"got 4$"),
])
def test_plot_confusion_matrix_refuses_what_is_not_k_by_k_counts_and_k_names(cm, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot.plot_confusion_matrix(cm, **kwargs)
