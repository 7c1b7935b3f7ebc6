"""Every example runs end to end on a subset; R2 reaches 95% after one epoch on all of MNIST."""

import argparse
import importlib.util
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from checkout import ENV

from tinynet import load_model, reference
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
])
def test_example_args_refuses_bad_numbers_in_one_line(argv, message, capsys, tmp_path,
                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert parse_error(capsys, ["--quick", *argv]).endswith(f": error: {message}")
    assert list(tmp_path.iterdir()) == []  # refused before --out was created


def test_example_args_checks_the_out_folder_up_front(capsys, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    line = parse_error(capsys, ["--out", str(afile)])  # was FileExistsError
    assert line.endswith(f"error: argument --out: expected a folder to write in, got the file "
                         f"{str(afile)!r}"), line
    line = parse_error(capsys, ["--out", str(afile / "sub")])  # was NotADirectoryError
    assert line.endswith(f"error: argument --out: cannot create the folder "
                         f"{str(afile / 'sub')!r}: Not a directory"), line


def test_example_args_without_out(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = example_args("Doc.", epochs=5, argv=[], out=False)
    assert not hasattr(args, "out") and list(tmp_path.iterdir()) == []
    assert "unrecognized arguments: --out" in parse_error(capsys, ["--out", "x"], out=False)


def test_an_example_that_fails_leaves_no_out_folder_it_created(tmp_path):
    # example_args creates --out before the example loads anything: one that failed, or was
    # interrupted, left the empty folder (and its parents) behind, as tinynet train no
    # longer does. Only the folders it created go, only while empty, wherever the example
    # is by then; a folder that was there stays, empty or not.
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


def test_manual_loop_parses_its_arguments_with_example_args(capsys):
    spec = importlib.util.spec_from_file_location("manual_loop",
                                                  ROOT / "examples" / "manual_loop.py")
    manual_loop = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(manual_loop)
    assert vars(manual_loop.parse_args(["--quick"])) == {"epochs": 1, "seed": 0, "quick": True}
    with pytest.raises(SystemExit) as info:
        manual_loop.parse_args(["--seed", "-1"])  # was numpy's ValueError, after loading
    assert info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        ": error: argument --seed: expected an int >= 0, got '-1'")


@pytest.mark.parametrize("name", ["r1_softmax_regression.py", "manual_loop.py"])
def test_example_script_stops_on_a_bad_seed_before_loading_mnist(name, tmp_path):
    # Both failed with a traceback after loading MNIST; now argparse stops them first.
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
def test_example_quick_run_prints_a_test_accuracy(path, tmp_path):
    out = run_example(path, "--quick", "--out", str(tmp_path))
    found = re.findall(r"^test accuracy: (\d\.\d{4})$", out, flags=re.M)
    assert found, out[-2000:]
    # A smoke test: 2,000 training images for an epoch or a few is enough to be clearly
    # above chance (0.1), not to reach the full run's accuracy (the slow test below does).
    assert float(found[-1]) > 0.2, out[-2000:]
    assert any(tmp_path.glob("*.png")), "each example saves its plots under --out"
    for saved in tmp_path.glob("*.npz"):
        # tinynet evaluate, predict and show prepare images with the scaling the model
        # records: it must be the one the example used, giving the accuracy it printed.
        model = load_model(saved)
        scaling = Scaling.from_json(model.metadata["scaling"])
        _, (x_test, y_test) = quick_subset(load_mnist())
        accuracy = (model.predict(scaling(x_test)).argmax(axis=1) == y_test).mean()
        # Within 2 images of 1,000: the example may divide by 255 where the scaling
        # multiplies by 1/255, which can move a near tie.
        assert abs(accuracy - float(found[-1])) <= 0.002, saved


@pytest.mark.slow
def test_r2_one_epoch_on_full_mnist_reaches_95_percent(tmp_path):
    out = run_example(ROOT / "examples" / "r2_mlp.py", "--epochs", "1", "--out", str(tmp_path))
    accuracy = float(re.findall(r"^test accuracy: (\d\.\d{4})$", out, flags=re.M)[-1])
    assert accuracy >= 0.95, out[-2000:]
    assert "[5 0 4 1]" in out  # the first four training digits, predicted


# --------------------------------------------------------- the programs' data, in-process
@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.stem.split("_")[0] in
                                  reference.PROGRAMS], ids=lambda p: p.stem)
def test_tinynet_train_quick_runs_the_epochs_of_the_examples_quick(path):
    # `tinynet train --model NAME --quick` is the example's --quick run: R1 and R3 need a few
    # epochs of the 2,000 images to be clearly above chance, and take them in both.
    given = re.search(r"quick_epochs=(\d+)", path.read_text(encoding="utf-8"))
    assert reference.get(path.stem.split("_")[0]).quick_epochs == int(given[1] if given else 1)


IMAGES = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("scaling", [
    Scaling(), Scaling(std=0.5), Scaling(scale=1.0, mean=0.1307, std=0.3081, shape=(28, 28, 1)),
], ids=["pixels / 255", "a zero mean, std 0.5", "mean and std, as images"])
def test_scaling_is_x_times_scale_less_mean_over_std_as_float32(scaling):
    x = scaling(IMAGES)
    assert x.dtype == np.float32 and x.shape == (3, *scaling.shape)
    expected = (IMAGES.astype(np.float64) * scaling.scale - scaling.mean) / scaling.std
    np.testing.assert_allclose(x, expected.reshape(x.shape), rtol=1e-6)


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
], ids=["std 0", "an empty dimension", "no shape", "not an object"])
def test_scaling_from_json_refuses_what_to_json_never_writes(data):
    with pytest.raises(ValueError, match=r"^expected an object with numbers scale"):
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
    # over the data), and --quick 100 steps. Its --help said "default 1, 1 with --quick"
    # and "2,000 training and 1,000 test images", as if it were fit's epochs.
    spec = importlib.util.spec_from_file_location("r5", ROOT / "examples" / "r5_low_level.py")
    r5 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(r5)
    monkeypatch.setattr(sys, "argv", ["r5_low_level.py", "--help"])
    with pytest.raises(SystemExit):
        r5.main()
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--epochs EPOCHS rounds of 1000 iterations of 100 images" in help_text
    assert "100 iterations" in help_text.split("--quick")[-1]
