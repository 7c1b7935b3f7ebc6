"""Every example runs end to end on a subset; R2 reaches 95% after one epoch on all of MNIST."""

import argparse
import importlib.util
import itertools
import json
import math
import os
import re
import runpy
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from checkout import ENV

from tinynet import LearningRateScheduler, load_model, reference
from tinynet.datasets import load_mnist
from tinynet.optim import OPTIMIZERS
from tinynet.reference import Scaling, example_args, quick_subset

ROOT = Path(__file__).resolve().parents[1]
# The reference programs (and the CNN beyond them); manual_loop.py has its own test.
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if p.stem != "manual_loop")


def run_example(path: Path, *args: str, timeout: float = 300) -> str:
    result = subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True,
                            timeout=timeout, cwd=ROOT, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def declared_outputs(path: Path, monkeypatch) -> list[str]:
    """The ``outputs`` the example at ``path`` passes to example_args, which stops it."""

    class Declared(Exception):
        pass

    def example_args(*args, outputs=(), **kwargs):
        raise Declared(list(outputs))

    monkeypatch.setattr(reference, "example_args", example_args)
    with pytest.raises(Declared) as info:
        runpy.run_path(str(path), run_name="__main__")
    return info.value.args[0]


def run_script(name: str, monkeypatch, *args: str) -> None:
    """examples/``name`` run in this process as from its own command line (``args``), but
    leaving pytest's signals and excepthook alone, which a script takes for its process."""
    monkeypatch.setattr(sys, "argv", [name, *args])
    monkeypatch.setattr(reference, "raise_on_stop_signals", lambda: {})
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    runpy.run_path(str(ROOT / "examples" / name), run_name="__main__")


def parse_error(capsys, argv: list[str], **kwargs) -> str:
    """The error line example_args prints for ``argv``, after checking it exits with 2."""
    with pytest.raises(SystemExit) as info:
        example_args("Doc.", epochs=5, argv=argv, **kwargs)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: "), err
    return err.strip().splitlines()[-1]


def test_example_args_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = example_args("Doc.", epochs=5, quick_epochs=2, argv=[])
    assert (args.epochs, args.seed, args.quick, args.out) == (5, 0, False, Path("runs"))
    assert (tmp_path / "runs").is_dir()
    assert example_args("Doc.", epochs=5, quick_epochs=2, argv=["--quick"]).epochs == 2
    args = example_args("Doc.", epochs=5, argv=["--epochs", "3", "--seed", "7", "--out",
                                                 str(tmp_path / "a" / "b")])
    assert (args.epochs, args.seed) == (3, 7)
    assert (tmp_path / "a" / "b").is_dir()  # parents too


@pytest.mark.parametrize("argv, message", [
    (["--seed", "-1"], "argument --seed: expected an int >= 0, got '-1'"),
    (["--seed", "1.5"], "argument --seed: expected an int >= 0, got '1.5'"),
    (["--epochs", "0"], "argument --epochs: expected an int >= 1, got '0'"),
    (["--epochs", "two"], "argument --epochs: expected an int >= 1, got 'two'"),
    (["--out", ""], "argument --out: expected a path, got ''"),  # not the current folder
])
def test_example_args_refuses_bad_values_in_one_line(argv, message, capsys, tmp_path,
                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_error(capsys, ["--quick", *argv]).endswith(f": error: {message}")
    assert list(tmp_path.iterdir()) == []  # refused before --out was created


def test_example_args_checks_the_out_folder_up_front(capsys, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    line = parse_error(capsys, ["--out", str(afile)])  # not FileExistsError
    assert line.endswith(f"error: argument --out: expected a folder to write in, got the file "
                         f"{str(afile)!r}"), line
    line = parse_error(capsys, ["--out", str(afile / "sub")])  # not NotADirectoryError
    assert line.endswith(f"error: argument --out: cannot create the folder "
                         f"{str(afile / 'sub')!r}: not a directory"), line


def test_example_args_refuses_a_named_pipe_named_as_an_output(capsys, tmp_path):
    # Written over, the pipe would become a regular file (a device, as root, too).
    os.mkfifo(tmp_path / "b.png")
    line = parse_error(capsys, ["--out", str(tmp_path)], outputs=["a.png", "b.png"])
    assert line.endswith(f"error: argument --out: {tmp_path / 'b.png'} is a named pipe, "
                         "expected a file (or nothing) there for b.png"), line
    assert (tmp_path / "b.png").is_fifo()


def test_example_args_refuses_a_folder_named_as_an_output(capsys, tmp_path):
    (tmp_path / "b.png").mkdir()
    line = parse_error(capsys, ["--out", str(tmp_path)], outputs=["a.png", "b.png"])
    assert line.endswith(f"error: argument --out: {tmp_path / 'b.png'} is a folder, "
                         "expected a file (or nothing) there for b.png"), line
    assert example_args("Doc.", epochs=5, argv=["--out", str(tmp_path / "b.png")],
                        outputs=["a.png"]).out == tmp_path / "b.png"  # a folder to write in
    with pytest.raises(SystemExit):
        example_args("Doc.", epochs=5, argv=["--help"], outputs=["a.png", "b.npz"])
    # What the folder is for, not "plots and saved models" of an example that saves none
    assert "--out OUT folder for a.png, b.npz, created if missing (runs/)" in " ".join(
        capsys.readouterr().out.split())


def test_example_args_without_out(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = example_args("Doc.", epochs=5, argv=[], out=False)
    assert not hasattr(args, "out") and list(tmp_path.iterdir()) == []
    assert "unrecognized arguments: --out" in parse_error(capsys, ["--out", "x"], out=False)


def test_an_example_that_fails_leaves_no_out_folder_it_created(tmp_path):
    # example_args creates --out before the example loads anything: one that failed, or was
    # interrupted, would otherwise leave the empty folder (and its parents) behind, which
    # tinynet train does not do either. Only the folders it created go, only while empty,
    # wherever the example is by then; a folder that was there stays, empty or not.
    (tmp_path / "mine" / "runs").mkdir(parents=True)
    script = textwrap.dedent("""
        import os
        from tinynet.reference import example_args
        example_args("Doc.", epochs=5, argv=["--out", "runs/r2"])
        kept = example_args("Doc.", epochs=5, argv=["--out", "kept/r2"]).out
        (kept / "curves.png").write_text("")
        example_args("Doc.", epochs=5, argv=["--out", "mine"])
        os.chdir("mine")
        raise KeyboardInterrupt
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path, env=ENV)
    assert result.stderr.splitlines()[-1] == "KeyboardInterrupt", result.stderr
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "kept", "kept/r2", "kept/r2/curves.png", "mine", "mine/runs"]


@pytest.mark.parametrize("error, stderr, status", [
    ("KeyboardInterrupt", r"r9\.py: interrupted\n", -signal.SIGINT),  # SIGINT's status
    ("BrokenPipeError", r"", 1),  # `| head`: quietly, as tinynet
    # A full disk at the plots, after the training: one line naming the file, as tinynet's.
    ("OSError(28, 'No space left on device', 'runs/c.png')",
     r"r9\.py: error: runs/c\.png: no space left on device\n", 1),
    # Any error naming a file; a full disk found when flushing, which names none.
    ("FileNotFoundError(2, 'No such file or directory', 'mnist/x.gz')",
     r"r9\.py: error: mnist/x\.gz: no such file or directory\n", 1),
    ("OSError(28, 'No space left on device')", r"r9\.py: error: no space left on device\n", 1),
    ("ValueError('bad')", r"Traceback .*\nValueError: bad\n", 1),  # others: a traceback
    ("OSError(22, 'Invalid argument')", r"Traceback .*\nOSError: \[Errno 22\] Invalid "
                                         r"argument\n", 1),  # no file, no full disk: a bug
    # ... but on Windows, a closed pipe: `| head` there (see test_cli's AS_ON_WINDOWS).
    ("setattr(tinynet.atomic, '_WINDOWS', True) or OSError(22, 'Invalid argument')", r"", 1),
])
def test_an_example_ends_on_ctrl_c_or_a_system_error_in_one_line_and_cleans_up(
        tmp_path, error, stderr, status):
    # As tinynet train does, not with the traceback of wherever training was, and after
    # atexit removed the --out folder it made.
    script = textwrap.dedent(f"""
        import sys
        import tinynet.atomic
        from tinynet.reference import example_args
        sys.argv = ["r9.py", "--out", "runs"]
        example_args("R9: a program.", epochs=5)
        raise {error}
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path, env=ENV)
    assert re.fullmatch(stderr, result.stderr, flags=re.S), result.stderr
    assert result.returncode == status
    assert list(tmp_path.iterdir()) == []


def test_example_args_leaves_the_signals_of_a_caller_that_passes_argv(tmp_path,
                                                                      monkeypatch):
    # Called with argv (a test, a notebook), it is not the script's process to take over.
    monkeypatch.chdir(tmp_path)
    before = signal.getsignal(signal.SIGTERM)
    hook = sys.excepthook
    example_args("Doc.", epochs=5, argv=["--out", "runs"])
    assert signal.getsignal(signal.SIGTERM) is before and sys.excepthook is hook


def test_manual_loop_parses_its_arguments_with_example_args(capsys):
    spec = importlib.util.spec_from_file_location("manual_loop",
                                                  ROOT / "examples" / "manual_loop.py")
    manual_loop = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(manual_loop)
    assert vars(manual_loop.parse_args(["--quick"])) == {"epochs": 1, "seed": 0, "quick": True}
    with pytest.raises(SystemExit) as info:
        manual_loop.parse_args(["--seed", "-1"])  # not numpy's ValueError, after loading
    assert info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        ": error: argument --seed: expected an int >= 0, got '-1'")


@pytest.mark.parametrize("name", ["r1_softmax_regression.py", "manual_loop.py"])
def test_example_script_stops_on_a_bad_seed_before_loading_mnist(name, tmp_path):
    # Unchecked, both would fail with a traceback after loading MNIST; argparse stops them
    # first.
    result = subprocess.run([sys.executable, str(ROOT / "examples" / name), "--quick",
                             "--seed", "-1"], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path, env=ENV)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"{name}: error: argument --seed: expected an int >= 0, got '-1'")
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_there_is_an_example_per_reference_program():
    names = {p.stem.split("_")[0] for p in EXAMPLES}
    assert {"r1", "r2", "r3", "r4", "r5"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_quick_run_prints_a_test_accuracy(path, tmp_path, monkeypatch):
    out = run_example(path, "--quick", "--out", str(tmp_path))
    found = re.findall(r"^test accuracy: (\d\.\d{4})$", out, flags=re.M)
    assert found, out[-2000:]
    # A smoke test: 2,000 training images for an epoch or a few is enough to be clearly
    # above chance (0.1), not to reach the full run's accuracy (the slow test below does).
    assert float(found[-1]) > 0.2, out[-2000:]
    written = sorted(p.name for p in tmp_path.iterdir())
    assert any(name.endswith(".png") for name in written), "it saves its plots under --out"
    # Each file it writes is one it names to example_args, which refuses a folder taken by
    # that name before loading anything: an undeclared one would fail after the training.
    assert sorted(declared_outputs(path, monkeypatch)) == written
    # ... and one it says it saved, in the folder it saved them in, as tinynet train does.
    said = re.search(rf"^saved (.+) in {re.escape(str(tmp_path))}/(;.*)?$", out, flags=re.M)
    assert said and sorted(said.group(1).split(", ")) == written, out[-2000:]
    if path.stem == "r5_low_level":  # its summed test loss, and per batch of 100 beside it
        total, per_100 = map(float, re.search(
            r"^test loss: (\S+) \(summed over the 1000 test images; (\S+) per 100\)$", out,
            flags=re.M).groups())
        assert per_100 == pytest.approx(total / 10, abs=0.01)
        # Its 100 quick iterations, the loss printed every 100th.
        assert re.findall(r"^iteration (\d+)/100: loss \d", out, flags=re.M) == ["100"]
    # What each example prints besides, as its reference program does.
    said = {"r2_mlp": "each row sums to 1: True",
            "r3_cnn": "reloaded predictions identical: True"}
    if path.stem in said:
        assert re.search(rf"^.*{re.escape(said[path.stem])}$", out, flags=re.M), out[-2000:]
    if path.stem == "r4_deep_mlp":  # the test accuracy after each epoch, 1 with --quick
        bar = re.findall(r"- val_accuracy: (\d\.\d{4})$", out, flags=re.M)
        assert re.findall(r"^epoch (\d+): test accuracy (\d\.\d{4})$", out, flags=re.M) == [
            ("1", bar[-1])], out[-2000:]
    for saved in tmp_path.glob("*.npz"):
        # tinynet evaluate, predict and show prepare images with the scaling the model
        # records: it must be the one the example used, giving the accuracy it printed.
        model = load_model(saved)
        scaling = Scaling.from_json(model.metadata["scaling"])
        _, (x_test, y_test) = quick_subset(load_mnist())
        accuracy = (model.predict(scaling(x_test)).argmax(axis=1) == y_test).mean()
        # The same inputs bit for bit, in batches of the same size as evaluate's: the same
        # digits to the last near tie.
        assert f"{accuracy:.4f}" == found[-1], saved


def test_the_cnns_confusion_matrix_has_a_row_per_true_digit(tmp_path, monkeypatch):
    # Arguments swapped, the matrix would come out transposed: each row a predicted digit.
    from tinynet import plot

    def plot_confusion_matrix(matrix, path=None):
        raise Captured(matrix)

    monkeypatch.setattr(plot, "plot_confusion_matrix", plot_confusion_matrix)
    with pytest.raises(Captured) as info:
        run_script("cnn_best.py", monkeypatch, "--quick", "--out", str(tmp_path))
    _, (_, y_test) = quick_subset(load_mnist())
    np.testing.assert_array_equal(info.value.args[0].sum(axis=1), np.bincount(y_test, minlength=10))


def test_r5_stops_at_the_first_iteration_whose_loss_is_not_finite(tmp_path, monkeypatch):
    # Its own loop has no fit to watch the loss: a NaN would otherwise run on through every
    # step, the weights turned NaN and every digit predicted as 0.
    monkeypatch.setattr(reference.Sequential, "train_step",
                        lambda model, x, y: (float("nan"), None))
    with pytest.raises(FloatingPointError, match=r"^the loss became nan at iteration 1$"):
        run_script("r5_low_level.py", monkeypatch, "--quick", "--out", str(tmp_path))


def test_r5_takes_every_image_once_a_pass_in_a_new_order_each_pass(tmp_path, monkeypatch):
    # As the tutorial's next_batch(100): 100 quick iterations of 100 are 5 passes over the
    # 2,000 images.
    (x_train, _), _ = quick_subset(load_mnist())
    index = {row.tobytes(): i
             for i, row in enumerate(x_train.reshape(-1, 784).astype("float32") / 255)}
    batches = []
    train_step = reference.Sequential.train_step

    def recorded(model, x, y):
        batches.append([index[row.tobytes()] for row in x])
        return train_step(model, x, y)

    monkeypatch.setattr(reference.Sequential, "train_step", recorded)
    run_script("r5_low_level.py", monkeypatch, "--quick", "--out", str(tmp_path))
    passes = np.array(batches).reshape(5, 2000)  # 100 batches of 100: 5 passes of 2,000
    assert all(np.array_equal(np.sort(p), np.arange(2000)) for p in passes)
    assert len({tuple(p) for p in passes}) == 5


def test_what_r2_and_r3_print_of_their_checks_can_say_false(tmp_path, monkeypatch, capsys):
    # Rows that do not sum to 1, and a saved model that reloads with other weights.
    import tinynet

    predict = reference.Sequential.predict
    monkeypatch.setattr(reference.Sequential, "predict",
                        lambda model, x, **kwargs: 2 * predict(model, x, **kwargs))
    run_script("r2_mlp.py", monkeypatch, "--quick", "--out", str(tmp_path / "r2"))
    assert "\neach row sums to 1: False\n" in capsys.readouterr().out
    monkeypatch.setattr(reference.Sequential, "predict", predict)

    def load_other(path):
        model = load_model(path)
        model.set_weights([w + 1 for w in model.get_weights()])
        return model

    monkeypatch.setattr(tinynet, "load_model", load_other)
    run_script("r3_cnn.py", monkeypatch, "--quick", "--epochs", "1", "--out",
               str(tmp_path / "r3"))
    assert "reloaded predictions identical: False\n" in capsys.readouterr().out


def test_r2_prints_the_training_accuracy_keras_reports(tmp_path):
    """Keras's 98.87% is the last epoch's running mean, the progress bar's last accuracy;
    an example that printed only evaluate's, on the trained network, would compare it with
    that, two different measures."""
    out = run_example(ROOT / "examples" / "r2_mlp.py", "--quick", "--epochs", "2", "--out",
                      str(tmp_path))
    bar = re.findall(r"- accuracy: (\d\.\d{4})$", out, flags=re.M)
    last_epoch = re.findall(
        r"^train accuracy: (\d\.\d{4}) during the last epoch, \d\.\d{4} after it", out,
        flags=re.M)
    assert len(bar) == 2 and last_epoch == bar[-1:], out[-2000:]


@pytest.mark.slow
def test_r2_one_epoch_on_full_mnist_reaches_95_percent(tmp_path):
    out = run_example(ROOT / "examples" / "r2_mlp.py", "--epochs", "1", "--out", str(tmp_path))
    accuracy = float(re.findall(r"^test accuracy: (\d\.\d{4})$", out, flags=re.M)[-1])
    assert accuracy >= 0.95, out[-2000:]
    # The first four training digits, predicted (the labels line shows them too).
    assert re.search(r"^predicted digits of the first four training images: \[5 0 4 1\]$",
                     out, flags=re.M), out[-2000:]


# --------------------------------------------------------- the programs' data, in-process
@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.stem.split("_")[0] in
                                  reference.PROGRAMS], ids=lambda p: p.stem)
def test_tinynet_train_quick_runs_the_epochs_of_the_examples_quick(path):
    # `tinynet train --model NAME --quick` is the example's --quick run: R1 and R3 need a few
    # epochs of the 2,000 images to be clearly above chance, and take them in both.
    text = path.read_text(encoding="utf-8")
    program = reference.get(path.stem.split("_")[0])
    if program.name == "r5":
        # Its example counts iterations, 100 with --quick (R5 trained 20, one epoch of the
        # 2,000 images, in `tinynet train --quick`, to 60% against the example's 76%).
        assert "iterations = (100 if args.quick else 1000) * args.epochs" in text
        assert program.quick_epochs * 2000 == 100 * program.batch_size
        return
    given = re.search(r"quick_epochs=(\d+)", text)
    assert program.quick_epochs == int(given[1] if given else 1)


IMAGES = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("scaling", [
    Scaling(), Scaling(std=0.5), Scaling(scale=1.0, mean=0.1307, std=0.3081, shape=(28, 28, 1)),
], ids=["pixels / 255", "a zero mean, std 0.5", "mean and std, as images"])
def test_scaling_is_x_times_scale_less_mean_over_std_as_float32(scaling):
    x = scaling(IMAGES)
    assert x.dtype == np.float32 and x.shape == (3, *scaling.shape)
    expected = (IMAGES.astype(np.float64) * scaling.scale - scaling.mean) / scaling.std
    np.testing.assert_allclose(x, expected.reshape(x.shape), rtol=1e-6)


def test_scaling_gives_the_examples_inputs_bit_for_bit():
    # tinynet train and the example scripts then train the same seed to the same numbers.
    # Times float32(1/255), 13% of MNIST's pixels would differ in their last bit.
    x = IMAGES.reshape(3, 784).astype("float32")
    np.testing.assert_array_equal(reference.get("r2").scaling(IMAGES), x / 255)
    np.testing.assert_array_equal(reference.get("r4").scaling(IMAGES), (x / 255 - 0.1307) / 0.3081)
    np.testing.assert_array_equal(reference.get("r3").scaling(IMAGES), x.reshape(3, 28, 28, 1))


@pytest.mark.parametrize("name", list(reference.PROGRAMS))
def test_a_programs_metadata_gives_back_its_scaling(name):
    program = reference.get(name)
    metadata = json.loads(json.dumps(program.metadata()))  # as saved with a model
    assert metadata["program"] == name
    assert Scaling.from_json(metadata["scaling"]) == program.scaling


@pytest.mark.parametrize("data", [
    {"scale": 1, "mean": 0, "std": 0, "shape": [784]},  # divides by zero
    {"scale": 1, "mean": 0, "std": 1, "shape": [0]},
    {"scale": 1, "mean": 0, "std": 1},
    [1, 0, 1, [784]],
    {"scale": "1", "mean": 0, "std": 1, "shape": [784]},  # a string float() would take
    {"scale": 1, "mean": 0, "std": 1, "shape": 784},
    {"scale": 1, "mean": 0, "std": math.inf, "shape": [784]},  # every input would be 0
    {"scale": math.nan, "mean": 0, "std": 1, "shape": [784]},
    {"scale": 1, "mean": 0, "std": 1, "shape": [True, 784]},  # reshape's TypeError
    {"scale": True, "mean": 0, "std": 1, "shape": [784]},
    {"scale": 10**400, "mean": 0, "std": 1, "shape": [784]},  # not an OverflowError
    {"scale": 0, "mean": 0, "std": 1, "shape": [784]},  # x / (1 / 0)
    {"scale": 1e-40, "mean": 0, "std": 1, "shape": [784]},  # 1 / scale is inf in float32
    {"scale": 1e37, "mean": 0, "std": 1, "shape": [784]},  # 255 * scale is
], ids=["std 0", "an empty dimension", "no shape", "not an object", "a str scale",
        "a shape not a list", "an infinite std", "a NaN scale", "a bool dimension",
        "a bool scale", "an int past the largest float", "scale 0", "scale 1e-40",
        "scale 1e37"])
def test_scaling_from_json_refuses_what_to_json_never_writes(data):
    with pytest.raises(ValueError, match=r"^expected an object with finite numbers scale"):
        Scaling.from_json(data)


def test_a_program_makes_its_optimizer_or_another_with_its_own_defaults():
    program = reference.get("r4")  # SGD, lr 0.01, momentum 0.5
    made = program.make_optimizer()
    assert made.get_config() == OPTIMIZERS["sgd"](**program.optimizer_args).get_config()
    assert made.get_config()["momentum"] == 0.5
    assert program.make_optimizer("SGD", lr=0.3).get_config() == OPTIMIZERS["sgd"](
        **{**program.optimizer_args, "lr": 0.3}).get_config()
    # Another optimiser takes none of the program's arguments (Adam has no momentum).
    assert program.make_optimizer("adam").get_config() == OPTIMIZERS["adam"]().get_config()
    assert program.make_optimizer("Adam", lr=0.5).lr == 0.5
    with pytest.raises(ValueError, match="lr"):  # refused by the optimiser, not ignored
        program.make_optimizer(lr=-0.1)
    with pytest.raises(ValueError, match="unknown optimizer 'lion'"):
        program.make_optimizer("lion")
    with pytest.raises(ValueError, match="unknown model 'r9'"):
        reference.get("r9")


def test_int_in_range_takes_both_ends_and_refuses_past_them():
    parse = reference.int_in_range(1, 3)
    assert [parse(text) for text in ("1", "2", "3")] == [1, 2, 3]
    for text in ("0", "4", "2.0"):
        with pytest.raises(argparse.ArgumentTypeError, match=f"from 1 to 3, got '{text}'"):
            parse(text)


def test_quick_subset_keeps_the_first_samples_of_each_split():
    train = (np.arange(10), np.arange(10) + 100)
    test = (np.arange(6) + 200, np.arange(6) + 300)
    (x, y), (x_test, y_test) = quick_subset((train, test), n_train=4, n_test=2)
    assert (x.tolist(), y.tolist()) == ([0, 1, 2, 3], [100, 101, 102, 103])
    assert (x_test.tolist(), y_test.tolist()) == ([200, 201], [300, 301])


def test_r5_help_says_its_epochs_are_rounds_of_1000_iterations(capsys, monkeypatch):
    # R5 counts iterations, not epochs: --epochs 3 runs 3,000 steps of 100 images (5 passes
    # over the data), and --quick 100 steps. A --help that said "default 1, 1 with --quick"
    # and "2,000 training and 1,000 test images" would read as if it were fit's epochs.
    spec = importlib.util.spec_from_file_location("r5", ROOT / "examples" / "r5_low_level.py")
    r5 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(r5)
    monkeypatch.setattr(sys, "argv", ["r5_low_level.py", "--help"])
    with pytest.raises(SystemExit):
        r5.main()
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--epochs EPOCHS rounds of 1000 iterations of 100 images" in help_text
    assert "100 iterations" in help_text.split("--quick")[-1]


def describe(layer) -> str:
    """A layer as the reference programs' table (README.md, "Results") writes it, with an
    initialiser only when it is not the default (Glorot uniform weights, zero biases)."""
    config, name = layer.get_config(), type(layer).__name__
    if name == "Dense":
        text = f"Dense {config['in_features']}->{config['out_features']}"
    elif name == "Conv2D":
        text = f"Conv2D {config['out_channels']} filters {config['kernel_size']}x" \
               f"{config['kernel_size']} from {config['in_channels']}"
    elif name == "MaxPool2D":
        return f"MaxPool {config['pool_size']}x{config['pool_size']}"
    else:
        return name
    if config["W_init"] != "glorot_uniform":
        text += f" W {config['W_init']}"
    return text + (f" b {config['b_init']}" if config["b_init"] != "zeros" else "")


# The reference programs' architectures and hyper-parameters, as the tutorials tinynet was
# started from define them (docs: README.md "Results"; the project's REFERENCE table): the
# examples spell them out, `tinynet train` and the benchmarks run these definitions, so a
# change here would train another model than the one the README's results are for.
R4_DENSE = [f"Dense {a}->{b}" for a, b in itertools.pairwise([784, 512, 256, 128, 64, 10])]
REFERENCE = {
    "r1": (["Dense 784->10 b ones", "Softmax"], ("MSE", {"reduction": "mean"}),
           ("sgd", {"lr": 0.2}), 32, 10, True, Scaling()),
    "r2": (["Dense 784->512", "ReLU", "Dense 512->10", "Softmax"],
           ("CrossEntropy", {"from_logits": False, "reduction": "mean"}),
           ("rmsprop", {"lr": 0.001, "rho": 0.9, "eps": 1e-7}), 128, 5, True, Scaling()),
    "r3": (["Conv2D 28 filters 3x3 from 1", "ReLU", "MaxPool 2x2",
            "Conv2D 10 filters 4x4 from 28", "ReLU", "MaxPool 2x2", "Flatten",
            "Dense 250->20", "ReLU", "Dense 20->10", "Softmax"],
           ("CrossEntropy", {"from_logits": False, "reduction": "mean"}),
           ("adam", {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7}), 32, 10, False,
           Scaling(scale=1.0, shape=(28, 28, 1))),  # raw pixels 0..255
    "r4": ([layer for dense in R4_DENSE for layer in (dense, "ReLU")][:-1],  # logits out
           ("CrossEntropy", {"from_logits": True, "reduction": "mean"}),
           ("sgd", {"lr": 0.01, "momentum": 0.5}), 64, 10, False,
           Scaling(mean=0.1307, std=0.3081)),
    # 1000 iterations of 100 images: fit runs whole epochs of 60,000, so 2.
    "r5": (["Dense 784->10 W normal b normal", "Softmax"],
           ("CrossEntropy", {"from_logits": False, "reduction": "sum"}),
           ("sgd", {"lr": 0.01}), 100, math.ceil(1000 * 100 / 60_000), False, Scaling()),
    # Past the reference: README.md's "random shifts, 2 conv blocks, dropout, Adam with decay".
    "cnn": (["RandomShift", "Conv2D 32 filters 3x3 from 1 W he_uniform", "ReLU", "MaxPool 2x2",
             "Conv2D 64 filters 3x3 from 32 W he_uniform", "ReLU", "MaxPool 2x2", "Flatten",
             "Dropout", "Dense 3136->128 W he_uniform", "ReLU", "Dropout", "Dense 128->10",
             "Softmax"],
            ("CrossEntropy", {"from_logits": False, "reduction": "mean"}),
            ("adam", {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7}), 64, 10, False,
            Scaling(shape=(28, 28, 1))),
}


@pytest.mark.parametrize("name", list(REFERENCE))
def test_each_program_is_the_reference_ones_architecture_and_hyper_parameters(name):
    layers, (loss, loss_config), (optimizer, args), batch, epochs, one_hot, scaling = \
        REFERENCE[name]
    program = reference.get(name)
    assert [describe(layer) for layer in program.build(0).layers] == layers
    made = program.loss()
    assert (type(made).__name__, made.get_config()) == (loss, loss_config)
    # Every other argument of the optimiser at its default: no momentum R1 and R5 lack.
    assert program.make_optimizer().get_config() == OPTIMIZERS[optimizer](**args).get_config()
    assert program.optimizer == optimizer
    for key, value in args.items():
        assert program.make_optimizer().get_config()[key] == value
    assert (program.batch_size, program.epochs, program.one_hot) == (batch, epochs, one_hot)
    assert program.scaling == scaling


class Captured(Exception):
    """Raised by a patched fit or train_step: the example has built and compiled its model."""


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_example_trains_the_model_its_reference_program_defines(path, tmp_path,
                                                                     monkeypatch):
    # The examples spell their models out for the reader; `tinynet train` and the
    # benchmarks run tinynet.reference's. One edited without the other would train another
    # model than the README's results are for: each example is stopped at its first
    # training step and compared with the table above.
    name = "cnn" if path.stem == "cnn_best" else path.stem.split("_")[0]
    layers, (loss, loss_config), (optimizer, args), batch, epochs, one_hot, scaling = \
        REFERENCE[name]
    program = reference.get(name)
    seen = {}

    def fit(model, x, y, batch_size=32, epochs=1, callbacks=(), **kwargs):
        seen.update(model=model, x=x, batch_size=batch_size, y=y, epochs=epochs,
                    callbacks=list(callbacks), fit_kwargs=kwargs)
        raise Captured

    def train_step(model, x, y):  # R5's own loop
        seen.update(model=model, x=x, batch_size=len(x), y=y, callbacks=[])
        raise Captured

    monkeypatch.setattr(reference.Sequential, "fit", fit)
    monkeypatch.setattr(reference.Sequential, "train_step", train_step)
    monkeypatch.setattr(sys, "argv", [path.name, "--out", str(tmp_path)])  # the full run
    spec = importlib.util.spec_from_file_location(path.stem, path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    with pytest.raises(Captured):
        example.main()
    model = seen["model"]
    assert [describe(layer) for layer in model.layers] == layers
    # Every setting of every layer (a dropout rate, a shift, an initialiser) too.
    assert [(type(a), a.get_config()) for a in model.layers] == [
        (type(b), b.get_config()) for b in program.build(0).layers]
    assert (type(model.loss).__name__, model.loss.get_config()) == (loss, loss_config)
    assert model.optimizer.get_config() == OPTIMIZERS[optimizer](**args).get_config()
    assert seen["batch_size"] == batch
    if "epochs" in seen:  # R5 takes 1000 steps, which fit rounds up to 2 whole epochs
        assert seen["epochs"] == epochs
    if "fit_kwargs" in seen:
        kwargs = seen["fit_kwargs"]
        assert kwargs.get("shuffle", True) is True  # every reference program shuffles
        # R3 and R4 test after each epoch; R1 and the CNN draw the test curve too.
        validation = kwargs.get("validation_data")
        assert (validation is not None) == (name in ("r1", "r3", "r4", "cnn"))
        if validation is not None:
            assert len(validation[0]) == len(validation[1]) == 10_000  # the test set
    assert (np.ndim(seen["y"]) == 2) == one_hot
    # The inputs scaled as the saved scaling says (0..255 for R3, standardised for R4):
    # every value the example trains on is, bit for bit, one that scaling gives a pixel.
    x = np.asarray(seen["x"])
    assert x.shape[1:] == scaling.shape
    pixels = np.zeros(28 * 28, np.uint8)
    pixels[:256] = np.arange(256)
    levels = scaling(pixels.reshape(1, 28, 28)).ravel()[:256]
    assert np.isin(np.unique(x), levels).all()
    # And its learning rate set epoch by epoch as the program's callbacks set it, from the
    # program's first rate.
    expected = program.callbacks(program.make_optimizer().lr)
    assert rates_set(seen["callbacks"], model) == rates_set(expected, model)


def rates_set(callbacks, model, epochs: int = 3) -> list[float]:
    """The learning rates the LearningRateSchedulers among ``callbacks`` set on ``model``'s
    optimiser in the first ``epochs`` epochs (none without one)."""
    rates = []
    for callback in callbacks:
        if isinstance(callback, LearningRateScheduler):
            callback.set_model(model)
            for epoch in range(epochs):
                callback.on_epoch_begin(epoch)
                rates.append(model.optimizer.lr)
    return rates


def test_the_cnn_decays_its_rate_by_a_quarter_each_epoch():
    program = reference.get("cnn")
    (scheduler,) = program.callbacks(program.make_optimizer().lr)
    # The rate of epoch k, whatever the optimiser's rate before it: a run resumed at epoch 2
    # from a saved model, whose optimiser holds epoch 1's rate, goes on with the same rates.
    assert [scheduler.schedule(epoch, 0.5) for epoch in range(3)] == [
        0.001, 0.001 * 0.75, 0.001 * 0.75**2]
    dropouts = [layer.rate for layer in program.build(0).layers if hasattr(layer, "rate")]
    shifts = [layer.get_config() for layer in program.build(0).layers
              if type(layer).__name__ == "RandomShift"]
    assert dropouts == [0.3, 0.3] and shifts == [{"max_shift": 2}]


def test_the_default_scaling_is_pixels_over_255_flattened_and_saved_as_json_reads_it():
    x = Scaling()(np.array([[[0] * 28] * 27 + [[255] * 28]], np.uint8))
    assert x.shape == (1, 784) and x.min() == 0.0 and x.max() == 1.0
    # The metadata a model keeps is the one it gets back from its file: JSON's list.
    assert Scaling(shape=(28, 28, 1)).to_json() == {"scale": 1 / 255, "mean": 0.0, "std": 1.0,
                                                    "shape": [28, 28, 1]}


def test_quick_subset_takes_2000_training_and_1000_test_images_by_default():
    # As --quick's help says: "2,000 training and 1,000 test images".
    data = ((np.arange(3000), np.arange(3000)), (np.arange(1500), np.arange(1500)))
    (x, y), (x_test, y_test) = quick_subset(data)
    assert (len(x), len(y), len(x_test), len(y_test)) == (2000, 2000, 1000, 1000)


def test_example_help_describes_the_example_by_its_docstrings_first_line(capsys):
    with pytest.raises(SystemExit):
        example_args("R9: a program.\n\nDetails no --help needs.", epochs=5, argv=["--help"])
    help_text = capsys.readouterr().out
    assert "R9: a program." in help_text and "Details" not in help_text


def test_an_out_folder_that_fails_half_made_or_unwritable_leaves_nothing(tmp_path,
                                                                         refuse_files_in):
    # mkdir makes runs/, then fails on a name too long for the file system: a clean-up that
    # stopped at the folder that was never made would leave runs/ behind.
    with pytest.raises(ValueError, match=r"^cannot create the folder .*: file name too long$"):
        reference.make_output_folder(tmp_path / "runs" / ("x" * 300))
    assert list(tmp_path.iterdir()) == []
    # In a folder that is there, the name cannot even be looked up: the same line.
    with pytest.raises(ValueError, match=r"^cannot create the folder .*: file name too long$"):
        reference.make_output_folder(tmp_path / ("x" * 300))
    # Made, with its parent, then found to be a folder no file can be created in.
    refuse_files_in(tmp_path / "b" / "c")
    with pytest.raises(ValueError, match=r"cannot write in the folder .* \(permission denied\)"):
        reference.make_output_folder(tmp_path / "b" / "c")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sub", ["", "sub"])
def test_an_out_folder_through_a_dangling_symbolic_link_is_refused_saying_so(tmp_path, sub):
    # mkdir's own reason, "File exists", is what it says of a link to nothing. A chain of
    # links is named by where it ends; a loop, by the system's reason.
    (tmp_path / "gone").mkdir()  # the target made, then removed: the link stays
    (tmp_path / "mid").symlink_to(tmp_path / "gone")
    (tmp_path / "out").symlink_to(tmp_path / "mid")
    (tmp_path / "gone").rmdir()
    with pytest.raises(ValueError, match=r": '.*out' is a symbolic link to '.*gone', which "
                                         r"does not exist$"):
        reference.make_output_folder(tmp_path / "out" / sub)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(ValueError, match=r": '.*loop' is a symbolic link that cannot be "
                                         r"followed: Too many levels of symbolic links$"):
        reference.make_output_folder(tmp_path / "loop" / sub)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loop", "mid", "out"]
