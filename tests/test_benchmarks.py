"""benchmarks/run.py runs end to end and writes its report in the documented shape, and
benchmarks/accuracy.py trains as ``tinynet train`` does.

Only ``--quick`` is run, and no speed is ever asserted: timings depend on the machine. PyTorch
is optional: without it the torch columns are null, and the test passes either way.
"""

import argparse
import atexit
import dataclasses
import errno
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from checkout import ENV

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["r1_epoch", "r2_epoch", "r3_epoch", "r4_epoch", "r2_inference", "load_mnist"]
MLP_EPOCHS = {"r1_epoch", "r2_epoch", "r4_epoch"}


def positive(value: object) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    # In a folder that does not exist yet: --json creates it.
    path = tmp_path_factory.mktemp("bench") / "new" / "report.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "target" in result.stdout  # the printed table, with its targets
    return json.loads(path.read_text())


def test_report_has_the_documented_keys(report):
    assert {"machine", "gemm_gflops", "results", "memory"} <= set(report)
    machine = report["machine"]
    assert {"cpu", "cores", "numpy", "blas", "torch", "torch_threads"} <= set(machine)
    assert machine["torch"] is None or isinstance(machine["torch"], str)
    # NumPy's BLAS on as many threads as PyTorch (None: this NumPy's BLAS is not OpenBLAS).
    assert report["settings"]["blas_threads"] == report["settings"]["torch_threads"] == 2
    assert machine["blas_threads"] in (None, 2)
    assert [r["name"] for r in report["results"]] == NAMES
    for row in report["results"]:
        assert {"name", "tinynet_s", "torch_s", "ratio", "gemm_fraction"} <= set(row)


def test_numbers_are_positive_and_finite(report):
    assert positive(report["gemm_gflops"])
    assert positive(report["memory"]["r2_train_peak_mib"])
    has_torch = report["machine"]["torch"] is not None
    for row in report["results"]:
        name = row["name"]
        if row["tinynet_s"] is None:
            # Only a program tinynet cannot build yet may be missing, and it says why.
            assert name == "r3_epoch" and row.get("error"), row
        else:
            assert positive(row["tinynet_s"]), row
        if name == "load_mnist" or not has_torch:
            assert row["torch_s"] is None and row["ratio"] is None, row
        else:
            assert positive(row["torch_s"]), row
            if row["tinynet_s"] is not None:
                assert math.isclose(row["ratio"], row["tinynet_s"] / row["torch_s"]), row
        if name in MLP_EPOCHS or name == "r2_inference":
            assert positive(row["gemm_fraction"]), row
        else:
            assert row["gemm_fraction"] is None, row
    torch_peak = report["memory"]["torch_r2_train_peak_mib"]
    assert positive(torch_peak) if has_torch else torch_peak is None


def test_gemm_fractions_are_the_counted_flops_over_time_over_the_rate(report):
    """The fraction follows from the report's own numbers, and the count is that of the
    products the epoch performs: R2 on the quick run's 640 images, by hand."""
    gemm = report["gemm"]
    # tinynet's training step never computes the first layer's dx (the images are not learnt).
    assert [gemm["first_layer_dx"][name] for name in ("r1", "r2", "r4")] == [False] * 3
    per_sample = 2 * (784 * 512 + 512 * 10)
    n_train, n_test = report["settings"]["n_train"], report["settings"]["n_test"]
    assert math.isclose(gemm["matmul_gflop"]["r2_epoch"],
                        (3 * per_sample - 2 * 784 * 512) * n_train / 1e9)
    assert math.isclose(gemm["matmul_gflop"]["r2_inference"], per_sample * n_test / 1e9)
    assert set(gemm["matmul_gflop"]) == MLP_EPOCHS | {"r2_inference"}
    for row in report["results"]:
        if row["name"] in gemm["matmul_gflop"]:
            assert math.isclose(row["gemm_fraction"], gemm["matmul_gflop"][row["name"]]
                                / row["tinynet_s"] / report["gemm_gflops"]), row


def bad_json_paths(tmp_path: Path) -> list[tuple[str, str]]:
    """(--json value, the end of the error line) for paths the report cannot be written to."""
    (tmp_path / "afile").write_text("")
    (tmp_path / "somefolder").mkdir()
    return [("afile/x.json", "got 'afile/x.json' ('afile' is a file)"),  # FileExistsError
            ("afile/sub/x.json", "got 'afile/sub/x.json' (cannot create the folder "
             "'afile/sub': not a directory)"),
            (str(tmp_path / "somefolder"),  # not IsADirectoryError
             f"got the folder {str(tmp_path / 'somefolder')!r}"),
            ("report/", "got the folder 'report/'"),
            ("pipe", "got 'pipe', a named pipe")]  # made by the test: see its caller


def test_a_bad_json_path_stops_the_run_before_it_starts(tmp_path):
    """Unchecked at the start, each would fail with a traceback only after the whole
    benchmark had run."""
    os.mkfifo(tmp_path / "pipe")
    for value, end in bad_json_paths(tmp_path):
        result = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--no-torch",
             "--json", value], capture_output=True, text=True, timeout=60, cwd=tmp_path, env=ENV)
        assert result.returncode == 2, result.stderr[-3000:]
        assert result.stdout == ""  # nothing was measured
        line = result.stderr.strip().splitlines()[-1]
        assert line == ("run.py: error: argument --json: expected a file path whose folder "
                        f"exists or can be created, {end}"), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "pipe", "somefolder"]


JSON_ERROR = ("run.py: error: argument --json: expected a file path whose folder exists or "
              "can be created, got")


# Under new folders, the name is too long only once they are made (before that, stat says
# "no such file"): they must not be left behind, empty.
@pytest.mark.parametrize("folder", ["", "new/sub/"], ids=["here", "in new folders"])
def test_a_json_name_too_long_is_refused_and_nothing_is_left(bench, tmp_path, monkeypatch,
                                                            capsys, folder):
    """Path.is_dir() can raise OSError (File name too long): uncaught, a traceback, not
    argparse's error."""
    monkeypatch.chdir(tmp_path)
    value = folder + "a" * 300 + ".json"
    with pytest.raises(SystemExit) as stop:
        bench.json_path(argparse.ArgumentParser(prog="run.py"), value)
    assert stop.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line == f"{JSON_ERROR} {value!r} (File name too long)"
    assert list(tmp_path.iterdir()) == []


def test_the_folders_made_for_the_json_report_go_if_the_run_ends_without_it(bench, tmp_path,
                                                                          monkeypatch):
    """Without this, a run interrupted (Ctrl-C) or failing before it wrote the report would
    leave them, empty."""
    at_exit = []
    monkeypatch.setattr(atexit, "register", lambda fn, *args: at_exit.append((fn, args)))
    monkeypatch.setattr(bench, "set_blas_threads", lambda n: True)  # pytest's BLAS stays as is

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench, "run", interrupted)
    path = tmp_path / "new" / "sub" / "report.json"
    with pytest.raises(KeyboardInterrupt):
        bench.main(["--quick", "--no-torch", "--json", str(path)])
    assert path.parent.is_dir()  # made before the run, so that a bad path fails at once
    for fn, args in at_exit:
        fn(*args)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_json_write_leaves_the_earlier_report_as_it_was(bench, report, tmp_path,
                                                                monkeypatch):
    """Were the report written in place, a full disk (or Ctrl-C) mid-write would leave half
    a file where the earlier report had been."""
    path = tmp_path / "report.json"
    path.write_text('{"earlier": "report"}\n')
    monkeypatch.setattr(bench, "set_blas_threads", lambda n: True)  # pytest's BLAS stays as is
    monkeypatch.setattr(bench, "run", lambda *args: report)
    write_text = Path.write_text

    def disk_full(self, data, *args, **kwargs):
        write_text(self, data[:len(data) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError, match="No space left on device"):
        bench.main(["--quick", "--no-torch", "--json", str(path)])
    assert path.read_text() == '{"earlier": "report"}\n'
    assert list(tmp_path.iterdir()) == [path]  # and no temporary file beside it


def test_a_quick_run_does_not_judge_the_targets(bench, report):
    """640 images and a 512x512 GEMM must not say "met" or "not met" of any target."""
    assert report["settings"]["quick"]
    verdict = re.compile(r"  (met|not met|not measured)$", flags=re.M)
    printed = bench.format_report(report)
    targets = printed[printed.index("\ntarget"):]
    assert not verdict.search(targets), targets
    assert "a quick run does not judge the targets" in targets
    assert "R2 epoch <= 0.75x PyTorch" in targets  # the measured column stays
    full = {**report, "settings": {**report["settings"], "quick": False}}
    rows = [line for line in bench.format_report(full).splitlines()
            if line.startswith(tuple(target.text for target in bench.TARGETS))]
    assert len(rows) == len(bench.TARGETS) and all(map(verdict.search, rows)), rows
    # Nor does its JSON: "met": false for the GEMM fraction of 640 images would read as one.
    assert [row["met"] for row in report["targets"]] == [None] * len(bench.TARGETS)
    assert [row["met"] for row in bench.check_targets(full)].count(None) < len(bench.TARGETS)


def test_the_inference_ratio_is_marked_as_a_time_ratio(bench, report):
    """Beside images/s, where more is better, a bare 1.14 (time: tinynet slower) would read
    as tinynet 14% faster."""
    slower = {**report, "results": [
        {**row, "torch_s": row["tinynet_s"] / 1.14, "ratio": 1.14}
        if row["name"] == "r2_inference" else row for row in report["results"]]}
    lines = bench.format_report(slower).splitlines()
    header = next(line for line in lines if line.startswith("name"))
    inference = next(line for line in lines if line.startswith("r2_inference"))
    assert "img/s  1.14 (time)" in inference, inference
    epoch = next(line for line in lines if line.startswith("r2_epoch"))
    assert "(time)" not in epoch and len(epoch) == len(inference) == len(header), lines


# ------------------------------------------------------------------- the FLOP count
def load_run_module():
    """benchmarks/run.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return load_run_module()


def performed_flops(model, x, y, batch_size: int) -> int:
    """2 m n k for every matrix product the Dense layers of ``model`` really run in one
    epoch of ``fit``, read from the shapes each call sees."""
    from tinynet.layers import Dense

    total = 0

    def count(layer, method):
        original = getattr(layer, method)

        def counted(*args, **kwargs):
            nonlocal total
            # fit's one-sample shape check runs forward with training=False: not training.
            if method != "forward" or kwargs.get("training"):
                total += 2 * len(args[0]) * layer.in_features * layer.out_features
            return original(*args, **kwargs)

        setattr(layer, method, counted)  # this instance only

    for layer in model.layers:
        if isinstance(layer, Dense):
            # forward: x @ W; backward_params: x.T @ dy; backward: dy @ W.T (it calls
            # backward_params itself, which counts dW).
            for method in ("forward", "backward_params", "backward"):
                count(layer, method)
    model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)
    return total


@pytest.mark.parametrize("name", ["r1", "r2", "r4"])
def test_the_flop_count_is_the_products_an_epoch_performs(bench, name):
    """Counted on 300 samples, so the last batch is a partial one for every batch size."""
    from tinynet import reference

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (300, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 300).astype(np.uint8)
    data = bench.Data(images, labels, images[:10], labels[:10])
    x, y = data.inputs(name), data.targets(name)
    first_dx = bench.first_layer_computes_dx(name, data)
    model = bench.build_tinynet(name)
    batch = reference.get(name).batch_size
    assert 300 % batch
    assert bench.matmul_flops(model, 300, training=True, first_dx=first_dx) == \
        performed_flops(model, x, y, batch)


def test_the_r2_epoch_flops_by_hand(bench):
    """R2 on 60,000 images: 784x512 and 512x10, forward, dW, dx, less the first dx."""
    model = bench.build_tinynet("r2")
    per_sample = 2 * (784 * 512 + 512 * 10)
    assert bench.matmul_flops(model, 60_000, training=True, first_dx=False) == \
        (3 * per_sample - 2 * 784 * 512) * 60_000 == 98_181_120_000
    assert bench.matmul_flops(model, 60_000, training=True, first_dx=True) == \
        3 * per_sample * 60_000
    assert bench.matmul_flops(model, 10_000, training=False) == per_sample * 10_000


def test_the_first_dx_left_out_is_that_of_the_first_layer_with_parameters(bench):
    """Training stops backpropagating at the first layer that learns, even after a
    Flatten: that layer's dx is the one not computed, and not counted."""
    from tinynet.layers import Dense, Flatten, ReLU
    from tinynet.losses import CrossEntropy
    from tinynet.model import Sequential
    from tinynet.optim import SGD

    model = Sequential([Flatten(), Dense(784, 32), ReLU(), Dense(32, 10)], seed=0)
    model.compile(CrossEntropy(from_logits=True), SGD(), metrics=())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((100, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 100)
    counted = bench.matmul_flops(model, 100, training=True, first_dx=False)
    assert counted == performed_flops(model, x, y, 32)
    assert counted == 100 * (3 * 2 * (784 * 32 + 32 * 10) - 2 * 784 * 32)


def test_the_flops_of_a_model_with_frozen_layers_are_those_it_performs(bench):
    """A frozen first layer runs no backward, and backward stops at the first layer that
    learns; a frozen layer after it still computes dx (and, in its backward, dW)."""
    from tinynet.layers import Dense, ReLU
    from tinynet.losses import CrossEntropy
    from tinynet.model import Sequential
    from tinynet.optim import SGD

    model = Sequential([Dense(50, 32), ReLU(), Dense(32, 16), ReLU(), Dense(16, 12), ReLU(),
                        Dense(12, 10)], seed=0)
    model.layers[0].trainable = model.layers[4].trainable = False
    model.compile(CrossEntropy(from_logits=True), SGD(), metrics=())
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((100, 50)).astype(np.float32), rng.integers(0, 10, 100)
    counted = bench.matmul_flops(model, 100, training=True, first_dx=False)
    assert counted == performed_flops(model, x, y, 32)
    forward = 2 * (50 * 32 + 32 * 16 + 16 * 12 + 12 * 10)
    assert counted == 100 * (forward + 2 * (32 * 16 + 2 * 16 * 12 + 2 * 12 * 10))


def test_numpys_blas_threads_are_set_as_pytorchs(bench):
    """Without it OpenBLAS uses every core: on a machine with more than 2, tinynet's
    products would have had more threads than PyTorch's 2."""
    before = bench.blas_threads()
    if before is None:
        # NumPy's BLAS is not an OpenBLAS this script can find: it says it could not.
        assert bench.set_blas_threads(1) is False
        return
    # A count other than the present one: under the README's `pytest -n 2` each worker
    # already runs one thread (conftest.py), and asking for 1 would change nothing.
    wanted = 2 if before == 1 else 1
    try:
        assert bench.set_blas_threads(wanted)
        assert bench.blas_threads() == wanted
    finally:
        bench.set_blas_threads(before)
    assert bench.blas_threads() == before


@pytest.mark.parametrize("extra", [["--json", "out/x.json"], ["--repeats", "2"]])
def test_profile_refuses_options_it_would_ignore(tmp_path, extra):
    """Unrefused, --profile --json would create the folder, write no report and exit 0."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--profile", "r1", *extra],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=ENV)
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stdout == ""
    assert f"it takes --quick, not {extra[0]}" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_repeats_must_be_an_int_of_at_least_1(bench, capsys, value):
    with pytest.raises(SystemExit) as stop:
        bench.main(["--quick", "--repeats", value])
    assert stop.value.code == 2
    assert capsys.readouterr().err.rstrip().endswith(
        f"argument --repeats: expected an int >= 1, got {value!r}")


def test_without_torch_the_torch_columns_are_null(tmp_path):
    path = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--no-torch",
         "--json", str(path)], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(path.read_text())
    assert report["machine"]["torch"] is None
    assert report["memory"]["torch_r2_train_peak_mib"] is None
    assert [r["name"] for r in report["results"]] == NAMES
    for row in report["results"]:
        assert row["torch_s"] is None and row["ratio"] is None, row
        assert positive(row["tinynet_s"]) or (row["name"] == "r3_epoch" and row["error"]), row


def test_a_failed_memory_child_is_reported_not_raised(bench, monkeypatch):
    """Raised, a CalledProcessError at the end of the run would leave no report written."""
    def failing_run(args, **kwargs):
        return subprocess.CompletedProcess(args, 1, stdout="", stderr="MemoryError\n")

    monkeypatch.setattr(bench.subprocess, "run", failing_run)
    memory = bench.bench_memory(quick=True, torch=object())
    assert memory["r2_train_peak_mib"] is None and memory["torch_r2_train_peak_mib"] is None
    assert set(memory["errors"]) == {"tinynet", "torch"}
    assert "exit status 1 (MemoryError)" in memory["errors"]["tinynet"]


def test_without_the_resource_module_the_script_loads_and_peak_memory_says_why(monkeypatch):
    # Windows has no resource module: importing it at the top would stop the script, and with
    # it this test file in a student copy, before anything was measured.
    monkeypatch.setitem(sys.modules, "resource", None)  # import resource raises ImportError
    # load_run_module registers its module as bench_run: the bench fixture's is put back after
    monkeypatch.delitem(sys.modules, "bench_run", raising=False)
    module = load_run_module()

    def no_proc(*args, **kwargs):
        raise OSError(errno.ENOENT, "no /proc here")

    monkeypatch.setattr(module.Path, "read_text", no_proc)
    with pytest.raises(RuntimeError, match=r"^peak memory is measured on Linux and macOS only$"):
        module.peak_rss_mib()


def test_a_torch_that_fails_to_load_leaves_the_torch_columns_empty(bench, monkeypatch, capsys):
    """A broken install (a missing shared library) raises OSError, not ImportError: caught
    as ImportError alone, it would end the run with a traceback."""
    real_import = __import__

    def broken_import(name, *args, **kwargs):
        if name == "torch":
            raise OSError("libtorch_cpu.so: cannot open shared object file")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr("builtins.__import__", broken_import)
    assert bench.import_torch(disabled=False) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "torch could not be loaded" in err and "the torch columns are empty" in err, err


# ----------------------------------------------------------------- benchmarks/accuracy.py
def run_accuracy(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "accuracy.py"), *args],
                          capture_output=True, text=True, timeout=300, cwd=cwd, env=ENV)


def test_accuracy_trains_each_seed_as_tinynet_train_does(tmp_path):
    """Seed by seed the accuracy of ``tinynet train --quick --seed S``: the same model,
    weights, data order and scaling, so the README's comparison is of what users run."""
    path = tmp_path / "out" / "acc.json"
    # Each --seeds adds to the ones before (by argparse's default the second would replace
    # the first).
    result = run_accuracy("r2", "--quick", "--seeds", "0-1", "--seeds", "3", "1", "--no-torch",
                          "--json", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(path.read_text())
    assert report["machine"]["torch"] is None
    assert (report["program"], report["epochs"], report["n_train"], report["n_test"]) == (
        "r2", 1, 2000, 1000)
    assert [run["seed"] for run in report["runs"]] == [0, 1, 3]  # seed 1 once
    for run in report["runs"]:
        assert run["torch"] is None and run["torch_s"] is None, run
        train = subprocess.run(
            [sys.executable, "-m", "tinynet", "train", "--model", "r2", "--quick", "--seed",
             str(run["seed"]), "--out", str(tmp_path / f"seed{run['seed']}")],
            capture_output=True, text=True, timeout=300, cwd=tmp_path, env=ENV)
        printed = re.findall(r"^test accuracy: (\d\.\d{4})$", train.stdout, flags=re.M)
        assert printed == [f"{run['tinynet']:.4f}"], train.stdout[-2000:]
        assert f"{run['seed']:>4}  {100 * run['tinynet']:>7.2f}%  {'-':>8}  " \
               f"{run['tinynet_s']:.1f} s\n" in result.stdout
    accuracies = [run["tinynet"] for run in report["runs"]]
    assert len(set(accuracies)) > 1  # the seeds give different networks
    assert report["summary"]["tinynet"] == {
        "mean": pytest.approx(np.mean(accuracies)), "min": min(accuracies),
        "max": max(accuracies)}
    assert report["summary"]["torch"] is None
    assert f"mean  {100 * np.mean(accuracies):>7.2f}%  {'-':>8}" in result.stdout


@pytest.fixture
def accuracy_script(monkeypatch):
    """benchmarks/accuracy.py as a module; it imports run.py as ``run``, which both leave
    sys.modules again afterwards."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    yield importlib.import_module("accuracy")
    for name in ("accuracy", "run"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize("text, seeds", [("3", [3]), ("0-7", list(range(8))), ("2-2", [2]),
                                         (str(2**64 - 1), [2**64 - 1]),
                                         ("0-999", list(range(1000)))])
def test_accuracy_reads_a_seed_or_a_range(accuracy_script, text, seeds):
    assert accuracy_script.seeds_arg(text) == seeds


# Unchecked, 2**64 would pass, then fail in torch.manual_seed after that seed's tinynet
# training.
@pytest.mark.parametrize("text", ["-1", "7-0", "a", "1-", "0-x", "", "1.5", str(2**64),
                                  f"0-{2**64}", "0-1000", "5-99999999999"])
def test_accuracy_refuses_a_bad_seed_before_training(text, tmp_path):
    result = run_accuracy("r3", "--seeds", text, "--no-torch", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "accuracy.py: error: argument --seeds: expected a seed from 0 to 2**64 - 1 or a range "
        f"of at most 1,000 such as 0-7, got {text!r}")


def test_accuracy_trains_pytorch_too_when_it_is_installed(tmp_path):
    """R3, whose PyTorch input is channels first: without torch the column is empty."""
    path = tmp_path / "acc.json"
    result = run_accuracy("r3", "--quick", "--epochs", "1", "--json", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(path.read_text())
    [run] = report["runs"]

    def of_the_test_images(accuracy: float) -> bool:  # k right of 1,000
        return 0 <= accuracy <= 1 and math.isclose(accuracy * 1000, round(accuracy * 1000))

    assert of_the_test_images(run["tinynet"]), run
    if report["machine"]["torch"] is None:  # torch not installed, or failing to load
        assert run["torch"] is None and run["torch_s"] is None
    else:
        assert of_the_test_images(run["torch"]) and positive(run["torch_s"]), run
        assert f"   0  {100 * run['tinynet']:>7.2f}%  {100 * run['torch']:>7.2f}%" in (
            result.stdout)


def test_accuracy_gives_pytorch_r3_its_images_channels_first(accuracy_script, monkeypatch):
    """tinynet's R3 input is (N, 28, 28, 1), PyTorch's (N, 1, 28, 28): what the PyTorch
    trainer and predict get must be image for image, pixel for pixel, tinynet's input."""
    seen = {}

    class Trainer:  # torch_models.Trainer's interface, recording its inputs
        def __init__(self, program, x, y, seed=0):
            seen["x"], seen["y"], seen["seed"] = x, y, seed
            self.model = "model"

        def epoch(self):
            seen["epochs"] = seen.get("epochs", 0) + 1

    class Probabilities:
        def __init__(self, x):
            self.labels = x.reshape(len(x), -1).sum(axis=1) % 10  # any function of the images

        def argmax(self, dim):
            assert dim == 1
            return types.SimpleNamespace(numpy=lambda: self.labels)

    def predict(model, x, batch_size, logits=True):
        seen["x_test"] = x
        return Probabilities(x)

    program = types.SimpleNamespace(input_shape=(1, 28, 28), one_hot=False, logits=True)
    monkeypatch.setitem(sys.modules, "torch_models", types.SimpleNamespace(
        PROGRAMS={"r3": program}, Trainer=Trainer, predict=predict))
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = images.reshape(5, -1).sum(axis=1, dtype=np.int64) % 10
    data = accuracy_script.Data(images[:3], labels[:3], images[3:], labels[3:])
    accuracy, seconds = accuracy_script.torch_accuracy("r3", data, seed=7, epochs=2)
    assert (accuracy, seen["seed"], seen["epochs"]) == (1.0, 7, 2) and seconds >= 0
    assert seen["x_test"].shape == (2, 1, 28, 28)
    np.testing.assert_array_equal(seen["x_test"][:, 0], images[3:])  # raw pixels, R3's scaling
    np.testing.assert_array_equal(seen["x"].reshape(3, 28, 28), images[:3])
    np.testing.assert_array_equal(seen["y"], labels[:3])


# ------------------------------------------------------------------- the arithmetic of a row
def test_median_time_is_the_median_of_the_timed_calls_after_an_untimed_one(bench, monkeypatch):
    # The first call warms the caches and the allocator up, and is not timed.
    clock = iter([0.0, 3.0, 10.0, 11.0, 20.0, 22.0])  # three timed calls: 3 s, 1 s, 2 s
    monkeypatch.setattr(bench, "time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
    calls = []
    assert bench.median_time(lambda: calls.append(1), 3) == 2.0
    assert len(calls) == 4


def test_the_gemm_rate_is_2_n_cubed_over_the_median_time(bench):
    assert bench.gemm_gflops(1000, [0.5, 2.0, 1.0]) == pytest.approx(2.0)  # 2e9 in 1 s


def test_a_rows_ratio_is_tinynets_time_over_pytorchs(bench):
    assert bench.result("r1_epoch", 2.0, 4.0) == {
        "name": "r1_epoch", "tinynet_s": 2.0, "torch_s": 4.0, "ratio": 0.5,
        "gemm_fraction": None}
    row = bench.result("r3_epoch", 1.0, None, error="RuntimeError: out of memory")
    assert row["ratio"] is None and row["error"] == "RuntimeError: out of memory"
    assert "error" not in bench.result("r3_epoch", 1.0, 2.0)


def full_report(r1, r2, r3, r4, inference, fraction, load, peak) -> dict:
    """A report of a full run with these measures of the targets, in the order of TARGETS."""
    rows = {"r1_epoch": r1, "r2_epoch": r2, "r3_epoch": r3, "r4_epoch": r4,
            "r2_inference": inference}
    results = [{"name": name, "tinynet_s": 1.0, "torch_s": 1.0, "ratio": ratio,
                "gemm_fraction": fraction if name == "r2_epoch" else None}
               for name, ratio in rows.items()]
    results.append({"name": "load_mnist", "tinynet_s": load, "torch_s": None, "ratio": None,
                    "gemm_fraction": None})
    return {"settings": {"quick": False}, "results": results,
            "memory": {"r2_train_peak_mib": peak}}


def test_each_target_is_met_at_its_limit_and_missed_past_it(bench):
    at_limits = full_report(1.0, 0.75, 1.0, 0.9, 1.0, 0.8, 0.3, 600.0)
    assert [row["met"] for row in bench.check_targets(at_limits)] == [True] * 8
    past = full_report(1.01, 0.76, 1.01, 0.91, 1.01, 0.79, 0.31, 601.0)
    assert [row["met"] for row in bench.check_targets(past)] == [False] * 8
    assert [row["measured"] for row in bench.check_targets(past)] == [
        1.01, 0.76, 1.01, 0.91, 1.01, 0.79, 0.31, 601.0]


def test_the_r2_shapes_rate_counts_both_products_of_a_step(bench, monkeypatch):
    # x @ W and x.T @ dy, each (128 x 784) by (784 x 512): 2 m n k FLOPs each, in 1 s.
    monkeypatch.setattr(bench, "median_time", lambda fn, repeats: 1.0)
    assert bench.r2_shapes_rate(1) == pytest.approx(2 * (2 * 128 * 784 * 512) / 1e9)


def test_the_peak_memory_is_read_in_kib_and_given_in_mib(bench, monkeypatch):
    status = "Name:\tpython\nVmPeak:\t  999999 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  1 kB\n"
    monkeypatch.setattr(bench, "Path", lambda path: types.SimpleNamespace(
        read_text=lambda: status))
    assert bench.peak_rss_mib() == 200.0


def test_the_printed_table_shows_images_per_second_torchs_threads_and_aligned_memory(
        bench, report):
    shown = {**report,
             "machine": {**report["machine"], "torch": "2.13.0", "torch_threads": 2},
             "settings": {**report["settings"], "n_test": 1000},
             "memory": {**report["memory"], "r2_train_peak_mib": 291.0,
                        "torch_r2_train_peak_mib": None},
             "results": [{**row, "tinynet_s": 0.5, "torch_s": 1.0, "ratio": 0.5}
                         if row["name"] == "r2_inference" else row
                         for row in report["results"]]}
    lines = bench.format_report(shown).splitlines()
    assert lines[0].endswith(", torch 2.13.0 (2 threads)"), lines[0]
    inference = next(line for line in lines if line.startswith("r2_inference"))
    assert re.search(r" 2,000 img/s +1,000 img/s +0\.50 \(time\)", inference), inference
    header = next(line for line in lines if line.startswith("name"))
    memory = next(line for line in lines if line.startswith("r2 peak RSS"))
    assert re.fullmatch(r"r2 peak RSS +291 MiB +-", memory), memory
    # Its columns end where the header's tinynet and torch columns end.
    assert len(memory) == len(header) - len("ratio".rjust(13) + "GEMM frac".rjust(11))


def small_data(bench):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 64).astype(np.uint8)
    return bench.Data(images, labels, images[:16], labels[:16])


def test_an_epoch_is_the_median_of_the_repeats_after_a_warm_up(bench, monkeypatch):
    epochs = []
    monkeypatch.setattr(bench, "tinynet_epoch", lambda model, name, x, y: epochs.append(len(x)))
    clock = iter([0.0, 3.0, 10.0, 11.0, 20.0, 22.0])  # three timed epochs: 3 s, 1 s, 2 s
    monkeypatch.setattr(bench, "time", types.SimpleNamespace(perf_counter=lambda: next(clock)))
    settings = dataclasses.replace(bench.QUICK, repeats=3, warmup=16)
    row, _ = bench.bench_epoch("r1", small_data(bench), settings, None, first_dx=False)
    assert row["tinynet_s"] == 2.0 and row["torch_s"] is None
    assert epochs == [16, 64, 64, 64]  # the warm-up on 16 images, untimed


def test_a_program_tinynet_cannot_build_is_a_row_with_its_error(bench, monkeypatch):
    def build(name, seed=0):
        raise RuntimeError("no such layer")

    monkeypatch.setattr(bench, "build_tinynet", build)
    row, flops = bench.bench_epoch("r3", small_data(bench), bench.QUICK, None, first_dx=False)
    assert row["tinynet_s"] is None and flops is None
    assert row["error"] == "tinynet cannot build r3: RuntimeError: no such layer"


def test_inference_predicts_in_batches_of_1024(bench, monkeypatch):
    from tinynet import Sequential

    sizes = []
    original = Sequential.predict

    def predict(self, x, batch_size=32):
        sizes.append(batch_size)
        return original(self, x, batch_size=batch_size)

    monkeypatch.setattr(Sequential, "predict", predict)
    bench.bench_inference(small_data(bench), dataclasses.replace(bench.QUICK, warmup=16), None)
    assert sizes and set(sizes) == {bench.INFERENCE_BATCH} and bench.INFERENCE_BATCH == 1024


def test_the_gemm_rate_is_sampled_before_and_after_the_epochs(bench, monkeypatch):
    # One busy moment of a shared machine must not set the rate that every GEMM fraction
    # divides by: the median of the samples of both ends is kept.
    events = []

    def gemm_seconds(n, repeats):
        events.append("gemm")
        return [1.0, 2.0] if events.count("gemm") == 1 else [4.0]

    def bench_epoch(name, data, settings, torch, first_dx):
        events.append(name)
        return bench.result(f"{name}_epoch", 1.0, None), None

    def bench_inference(data, settings, torch):
        events.append("inference")
        return bench.result("r2_inference", 1.0, None), 0

    monkeypatch.setattr(bench, "gemm_seconds", gemm_seconds)
    monkeypatch.setattr(bench, "bench_epoch", bench_epoch)
    monkeypatch.setattr(bench, "bench_inference", bench_inference)
    monkeypatch.setattr(bench, "r2_shapes_rate", lambda steps: 1.0)
    monkeypatch.setattr(bench, "load_data", lambda settings: None)
    monkeypatch.setattr(bench, "first_layer_computes_dx", lambda name, data: False)
    monkeypatch.setattr(bench, "bench_load_mnist",
                        lambda settings: bench.result("load_mnist", 0.1, None))
    monkeypatch.setattr(bench, "bench_memory", lambda quick, torch: {})
    monkeypatch.setattr(bench, "check_targets", lambda report: [])
    report = bench.run(bench.QUICK, True, None)
    assert events == ["gemm", "r1", "r2", "r3", "r4", "inference", "gemm"]
    n = bench.QUICK.gemm_n
    # The median of all three: not 1.5 s (the first samples alone) nor 4 s (the last).
    assert report["gemm_gflops"] == bench.gemm_gflops(n, [1.0, 2.0, 4.0]) == 2 * n**3 / 2e9


def test_torch_is_set_to_2_threads_as_numpys_blas(bench, monkeypatch):
    threads = []
    fake = types.SimpleNamespace(set_num_threads=threads.append)
    monkeypatch.setitem(sys.modules, "torch", fake)
    assert bench.import_torch(disabled=False) is fake and threads == [2]
    assert bench.import_torch(disabled=True) is None


def test_main_passes_repeats_on_and_writes_no_report_that_holds_a_nan(bench, tmp_path,
                                                                     monkeypatch):
    # A NaN would make the file invalid JSON: refused before anything is written.
    seen = {}

    def run(settings, quick, torch):
        seen["settings"] = settings
        return {"gemm_gflops": float("nan")}

    monkeypatch.setattr(bench, "run", run)
    monkeypatch.setattr(bench, "format_report", lambda report: "the table")
    path = tmp_path / "report.json"
    with pytest.raises(ValueError, match="not JSON compliant"):
        bench.main(["--quick", "--no-torch", "--repeats", "2", "--json", str(path)])
    assert seen["settings"].repeats == 2 and list(tmp_path.iterdir()) == []
