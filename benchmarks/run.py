"""Benchmark tinynet against PyTorch and against the machine's matrix-product rate.

    python benchmarks/run.py [--quick] [--json PATH] [--repeats N] [--no-torch]
    python benchmarks/run.py --profile r2 [--quick]

In one process, for the reference programs R1-R4 (``tinynet.reference``) on the real
MNIST, it measures the median time of one training epoch in tinynet and, when ``import torch``
works, in PyTorch on the CPU with 2 threads, alternating the two libraries epoch by epoch so
that a busy moment of a shared machine slows both. It also measures R2 inference on the
10,000 test images, ``tinynet.datasets.load_mnist()``, the peak resident memory of an R2
training epoch (in a fresh subprocess) and NumPy's float32 GEMM rate, and from that rate the
fraction each tinynet MLP epoch achieves. See benchmarks/README.md for what each number
means; ``--quick`` is a seconds-long smoke run on 640 images. ``--profile`` instead runs
three tinynet epochs, a warm-up, one under cProfile and one with each layer timed, and
prints a table of each of the last two.

Speed is never asserted here: the script reports, and a full run says which targets are
met.
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import ctypes
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from tinynet import reference
from tinynet.atomic import not_a_file, write_atomic
from tinynet.datasets import load_mnist, one_hot
from tinynet.layers import Dense
from tinynet.model import Sequential

HERE = Path(__file__).resolve().parent
# torch_models.py sits beside this script; it is imported only when torch is.
sys.path.insert(0, str(HERE))

#: Threads of each library: PyTorch's intra-op threads and NumPy's OpenBLAS threads (which
#: default to every core), the same number so that neither library has more cores.
TORCH_THREADS = BLAS_THREADS = 2
#: Batch size of R2 inference, the same for both libraries (larger than predict's default,
#: 32, as an MLP gains from it).
INFERENCE_BATCH = 1024
EPOCH_PROGRAMS = ("r1", "r2", "r3", "r4")


@dataclass(frozen=True)
class Settings:
    """How much to measure: the full run, or the ``--quick`` smoke run."""

    n_train: int  # training images per epoch
    n_test: int  # test images for inference
    repeats: int  # timed epochs per library and program (the median is reported)
    warmup: int  # training images of the untimed warm-up run
    inference_repeats: int  # timed predictions of the test images per library
    load_repeats: int  # timed calls of load_mnist()
    gemm_n: int  # size of the square GEMM that measures the machine's rate
    gemm_repeats: int


FULL = Settings(n_train=60_000, n_test=10_000, repeats=3, warmup=4_000, inference_repeats=9,
                load_repeats=5, gemm_n=2048, gemm_repeats=5)
QUICK = Settings(n_train=640, n_test=1_000, repeats=1, warmup=128, inference_repeats=3,
                 load_repeats=1, gemm_n=512, gemm_repeats=3)


# ------------------------------------------------------------------------------ helpers
def median_time(fn: Callable[[], Any], repeats: int) -> float:
    """The median wall-clock time of ``repeats`` calls of ``fn``, after one untimed call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def import_torch(disabled: bool) -> Any | None:
    """The torch module, set to 2 threads, or None when it is missing, cannot be loaded or
    ``--no-torch``."""
    if disabled:
        return None
    try:
        import torch
    except ImportError:
        return None
    except OSError as exc:  # installed but broken (a missing shared library): say so
        reason = " ".join(str(exc).split())  # one line, whatever the loader wrote
        print(f"warning: torch could not be loaded ({type(exc).__name__}: {reason}): the "
              "torch columns are empty", file=sys.stderr)
        return None
    torch.set_num_threads(TORCH_THREADS)
    return torch


def _openblas_function(verb: str) -> Callable[..., Any] | None:
    """The ``get`` or ``set`` num_threads function of the OpenBLAS that NumPy loaded,
    found in the process's own mappings (Linux only; None when it cannot be found)."""
    try:
        maps = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return None
    paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    names = (f"scipy_openblas_{verb}_num_threads64_", f"openblas_{verb}_num_threads",
             f"openblas_{verb}_num_threads64_")
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            if hasattr(lib, name):
                return getattr(lib, name)
    return None


def blas_threads() -> int | None:
    """The number of threads NumPy's OpenBLAS uses, asked of the loaded library itself
    (Linux only; None when it cannot be found)."""
    get = _openblas_function("get")
    return None if get is None else int(get())


def set_blas_threads(n: int) -> bool:
    """Make NumPy's OpenBLAS use ``n`` threads, as PyTorch is told to (by default it uses
    every core, which on a machine with more than 2 would give tinynet's products more
    cores than PyTorch's, and set the GEMM rate on all of them). False when it cannot be
    done: the report's ``blas_threads`` then says what was used, or None."""
    set_ = _openblas_function("set")
    if set_ is None:
        return False
    set_(ctypes.c_int(n))
    return blas_threads() == n


def machine_info(torch: Any | None) -> dict[str, Any]:
    """CPU, core count, NumPy and its BLAS, torch and thread settings: what a reader of the
    numbers needs to compare them with another machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas: dict[str, Any] = {}
    try:
        config = np.show_config(mode="dicts")
        blas = dict(config["Build Dependencies"]["blas"])
        blas = {k: blas[k] for k in ("name", "version", "openblas configuration") if k in blas}
    except Exception as exc:  # old NumPy: no mode="dicts"; the version is still reported
        blas = {"error": f"{type(exc).__name__}: {exc}"}
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "blas_threads": blas_threads(),
        # NumPy's BLAS uses every core unless one of these says otherwise.
        "blas_threads_env": {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS",
                                                          "OMP_NUM_THREADS",
                                                          "MKL_NUM_THREADS")
                             if k in os.environ},
        "torch": torch.__version__ if torch is not None else None,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


# -------------------------------------------------------------------------------- GEMM
def gemm_seconds(n: int, repeats: int) -> list[float]:
    """Times of ``repeats`` float32 (n, n) @ (n, n) products in NumPy, after one untimed."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return times


def gemm_gflops(n: int, times: list[float]) -> float:
    """The GEMM rate in GFLOP/s from the median of ``times``: 2 n^3 operations each."""
    return 2 * n**3 / statistics.median(times) / 1e9


def r2_shapes_rate(steps: int) -> float:
    """The GFLOP/s of the products of R2's first layer on one batch of 128, as a training
    step runs them: x @ W and x.T @ dy (not dy @ W.T, the dx that the step does not
    compute). Big square products are the best case; these shapes are what the R2 epoch
    actually multiplies."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 784), dtype=np.float32)
    W = rng.standard_normal((784, 512), dtype=np.float32)
    dy = rng.standard_normal((128, 512), dtype=np.float32)

    def products() -> None:
        for _ in range(steps):
            _ = x @ W
            _ = x.T @ dy

    seconds = median_time(products, 3)
    return 2 * 2 * 128 * 784 * 512 * steps / seconds / 1e9


def matmul_flops(model: Sequential, n_samples: int, training: bool,
                 first_dx: bool = True) -> int:
    """The floating-point operations of the matrix products one pass over ``n_samples``
    performs in ``model``'s Dense layers, 2 * m * n * k per product.

    Training counts what a step runs: every Dense layer's forward ``x @ W``; then, from the
    first layer that learns (:func:`first_learnt_layer`) on, each Dense layer's
    ``dW = x.T @ dy`` (a frozen one's too: its backward computes it) and ``dx = dy @ W.T``,
    except that first layer's dx when ``first_dx`` is False (see
    :func:`first_layer_computes_dx`: when tinynet computes it, it is counted, since it is
    really performed). Layers before that one, a Flatten or a frozen base, run no backward.
    The count is per sample, so a last, smaller batch counts for the samples it holds.
    Inference counts the forward products. Biases, activations and the loss are not matrix
    products and are not counted. Layers other than Dense count 0, so this is meant for
    MLPs.
    """
    first = first_learnt_layer(model)
    learnt_from = model.layers.index(first) if first is not None else len(model.layers)
    total = 0
    for i, layer in enumerate(model.layers):
        if not isinstance(layer, Dense):
            continue
        product = 2 * layer.in_features * layer.out_features
        total += product  # forward
        if training and i >= learnt_from:
            total += product  # dW
            total += product if i > learnt_from or first_dx else 0  # dx
    return total * n_samples


def first_learnt_layer(model: Sequential) -> Any | None:
    """The first layer that learns (parameters, not frozen): where a training step's
    backward stops."""
    return next((layer for layer in model.layers if layer.params and layer.trainable), None)


# ---------------------------------------------------------------------------- the data
@dataclass
class Data:
    """MNIST prepared once per program, as both libraries take it."""

    x_train: np.ndarray  # uint8 (N, 28, 28)
    y_train: np.ndarray  # uint8 (N,)
    x_test: np.ndarray
    y_test: np.ndarray

    def inputs(self, name: str, test: bool = False, n: int | None = None) -> np.ndarray:
        """float32 inputs of program ``name`` (the first ``n``), scaled as the program
        scales them."""
        return reference.get(name).scaling((self.x_test if test else self.x_train)[:n])

    def targets(self, name: str, test: bool = False, n: int | None = None) -> np.ndarray:
        """tinynet's training (or test) targets of program ``name`` (the first ``n``):
        one-hot rows (N, 10) or labels (N,)."""
        labels = (self.y_test if test else self.y_train)[:n]
        if reference.get(name).one_hot:
            return one_hot(labels, 10)
        return labels.astype(np.int64)


def load_data(settings: Settings) -> Data:
    (x_train, y_train), (x_test, y_test) = load_mnist()
    n, m = settings.n_train, settings.n_test
    return Data(x_train[:n], y_train[:n], x_test[:m], y_test[:m])


# --------------------------------------------------------------------------- measuring
def build_tinynet(name: str, seed: int = 0) -> Sequential:
    """Program ``name``'s model, compiled with its loss and optimiser and no metrics (the
    PyTorch loop computes none either)."""
    program = reference.get(name)
    model = program.build(seed)
    model.compile(program.loss(), program.make_optimizer(), metrics=())
    return model


def first_layer_computes_dx(name: str, data: Data) -> bool:
    """Whether a tinynet training step of program ``name`` calls the ``backward`` of its
    first layer with parameters, which returns dL/dx (a matrix product nobody needs: the
    images are not learnt). Found by running one step on a throwaway model, so the FLOP
    count follows what the library really does."""
    model = build_tinynet(name)
    layer = first_learnt_layer(model)
    if layer is None:
        return False
    calls = []
    original = layer.backward

    def recording_backward(dy: np.ndarray) -> np.ndarray:
        calls.append(dy.shape)
        return original(dy)

    layer.backward = recording_backward  # on this instance only
    model.train_step(data.inputs(name, n=2), data.targets(name, n=2))
    return bool(calls)


def tinynet_epoch(model: Sequential, name: str, x: np.ndarray, y: np.ndarray) -> None:
    """One epoch of ``fit``, the path a tinynet user trains with (shuffled, silent)."""
    model.fit(x, y, epochs=1, batch_size=reference.get(name).batch_size, verbose=0)


def result(name: str, tinynet_s: float | None, torch_s: float | None,
           gemm_fraction: float | None = None, error: str | None = None) -> dict[str, Any]:
    """One row of ``results``; ``ratio`` is tinynet's time over PyTorch's (lower is better
    for tinynet)."""
    ratio = tinynet_s / torch_s if tinynet_s and torch_s else None
    row: dict[str, Any] = {"name": name, "tinynet_s": tinynet_s, "torch_s": torch_s,
                           "ratio": ratio, "gemm_fraction": gemm_fraction}
    if error:
        row["error"] = error
    return row


def bench_epoch(name: str, data: Data, settings: Settings, torch: Any | None,
                first_dx: bool) -> tuple[dict[str, Any], int | None]:
    """Median epoch time of program ``name`` in both libraries, interleaved, and the FLOPs
    of the epoch's matrix products for an MLP (else None); ``first_dx`` says whether
    tinynet computes the first layer's dx."""
    x, y = data.inputs(name), data.targets(name)
    error = None
    try:
        model: Sequential | None = build_tinynet(name)
    except Exception as exc:  # a program whose layers this tinynet does not have yet
        model, error = None, f"tinynet cannot build {name}: {type(exc).__name__}: {exc}"
    trainer = None
    if torch is not None:
        import torch_models

        program = torch_models.PROGRAMS[name]
        y_torch = one_hot(data.y_train, 10) if program.one_hot else data.y_train
        trainer = torch_models.Trainer(program, x, y_torch)

    warm = min(settings.warmup, len(x))
    if model is not None:
        tinynet_epoch(model, name, x[:warm], y[:warm])
    if trainer is not None:
        trainer.epoch(warm)

    tinynet_times: list[float] = []
    torch_times: list[float] = []
    runs: list[tuple[list[float], Callable[[], None]]] = []
    if model is not None:
        runs.append((tinynet_times, lambda: tinynet_epoch(model, name, x, y)))
    if trainer is not None:
        runs.append((torch_times, trainer.epoch))
    for rep in range(settings.repeats):
        # Alternate which library goes first, so neither always follows the other's
        # cache and thread state.
        for times, run in runs if rep % 2 == 0 else runs[::-1]:
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)

    tinynet_s = statistics.median(tinynet_times) if tinynet_times else None
    torch_s = statistics.median(torch_times) if torch_times else None
    flops = None
    if model is not None and all(isinstance(layer, Dense) or not layer.params
                                 for layer in model.layers):
        flops = matmul_flops(model, len(x), training=True, first_dx=first_dx)
    return result(f"{name}_epoch", tinynet_s, torch_s, None, error), flops


def bench_inference(data: Data, settings: Settings,
                    torch: Any | None) -> tuple[dict[str, Any], int]:
    """Seconds to predict the test images with R2 (probabilities, batches of
    ``INFERENCE_BATCH``) in both libraries, interleaved (the table shows images/s), and
    the FLOPs of tinynet's matrix products."""
    x_test = data.inputs("r2", test=True)
    model = build_tinynet("r2")
    model.fit(data.inputs("r2", n=settings.warmup), data.targets("r2", n=settings.warmup),
              batch_size=128, verbose=0)  # trained weights, not only fresh ones
    runs: list[tuple[list[float], Callable[[], Any]]] = [
        ([], lambda: model.predict(x_test, batch_size=INFERENCE_BATCH))]
    if torch is not None:
        import torch_models

        torch.manual_seed(0)
        net = torch_models.r2_model()
        runs.append(([], lambda: torch_models.predict(net, x_test, INFERENCE_BATCH)))
    for _, run in runs:
        run()  # warm-up
    for rep in range(settings.inference_repeats):
        for times, run in runs if rep % 2 == 0 else runs[::-1]:
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    tinynet_s = statistics.median(runs[0][0])
    torch_s = statistics.median(runs[1][0]) if torch is not None else None
    flops = matmul_flops(model, len(x_test), training=False)
    return result("r2_inference", tinynet_s, torch_s), flops


def bench_load_mnist(settings: Settings) -> dict[str, Any]:
    """Median time of ``load_mnist()``, all 70,000 images, from the copies in the package."""
    return result("load_mnist", median_time(load_mnist, settings.load_repeats), None)


def memory_child(quick: bool, library: str) -> None:
    """Run in a fresh subprocess: load MNIST, train R2 for one epoch, print the peak
    resident memory of the whole process (interpreter, libraries, data, training) as JSON."""
    peak_rss_mib()  # where it cannot be measured (Windows), fail now, not after an epoch
    settings = QUICK if quick else FULL
    data = load_data(settings)
    x, y = data.inputs("r2"), data.targets("r2")
    if library == "tinynet":
        model = build_tinynet("r2")
        tinynet_epoch(model, "r2", x, y)
    else:
        import_torch(disabled=False)  # sets 2 threads, as in the benchmark
        import torch_models

        torch_models.Trainer(torch_models.PROGRAMS["r2"], x, data.y_train).epoch()
    print(json.dumps({"peak_mib": peak_rss_mib()}))


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB.

    On Linux, VmHWM of /proc/self/status: ru_maxrss would also count the parent's memory,
    which the forked child shares until it runs the new program (Linux keeps the larger
    maximum across exec), so every child would report at least the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**10  # kB
    except OSError:
        pass
    try:
        import resource  # POSIX only: on Windows the import failed, and with it the script
    except ImportError:
        raise RuntimeError("peak memory is measured on Linux and macOS only") from None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS


def bench_memory(quick: bool, torch: Any | None) -> dict[str, Any]:
    """Peak resident memory (MiB) of an R2 training epoch, each library in its own fresh
    process, so that nothing else this script holds is counted. A child that fails gives
    None and an entry in ``errors`` (the end of its stderr), not a traceback that would
    lose the report of a run of minutes."""
    errors: dict[str, str] = {}

    def child(library: str) -> float | None:
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--memory-child", library,
             *(["--quick"] if quick else [])],
            capture_output=True, text=True, cwd=HERE.parent)
        try:
            if out.returncode != 0:
                raise RuntimeError(f"exit status {out.returncode}")
            return float(json.loads(out.stdout.strip().splitlines()[-1])["peak_mib"])
        except (RuntimeError, ValueError, IndexError, KeyError, TypeError) as exc:
            tail = " | ".join(out.stderr.strip().splitlines()[-3:])
            errors[library] = f"{type(exc).__name__}: {exc}" + (f" ({tail})" if tail else "")
            return None

    memory: dict[str, Any] = {
        "r2_train_peak_mib": child("tinynet"),
        "torch_r2_train_peak_mib": child("torch") if torch is not None else None}
    if errors:
        memory["errors"] = errors
    return memory


# ------------------------------------------------------------------------ the report
@dataclass(frozen=True)
class Target:
    """One goal of the project: ``measure`` reads the number from the report, None when it
    could not be measured (no PyTorch, say); ``shown`` formats it for the table."""

    text: str
    measure: Callable[[dict[str, Any]], float | None]
    limit: float
    at_most: bool  # met when measured <= limit (else when >= limit)
    shown: Callable[[float], str]


def _row(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in report["results"] if r["name"] == name)


def _ratio(name: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda report: _row(report, name)["ratio"]


def _times(value: float) -> str:
    return f"{value:.2f}x"


TARGETS = (
    Target("R1 epoch <= 1.0x PyTorch", _ratio("r1_epoch"), 1.0, True, _times),
    Target("R2 epoch <= 0.75x PyTorch", _ratio("r2_epoch"), 0.75, True, _times),
    Target("R3 epoch <= 1.0x PyTorch", _ratio("r3_epoch"), 1.0, True, _times),
    Target("R4 epoch <= 0.9x PyTorch", _ratio("r4_epoch"), 0.9, True, _times),
    # Same images in both, so a time ratio <= 1 is an images/s ratio >= 1; shown as the
    # images/s ratio, which is what the target speaks of.
    Target("R2 inference >= PyTorch images/s", _ratio("r2_inference"), 1.0, True,
           lambda v: f"{1 / v:.2f}x img/s"),
    Target("R2 epoch >= 80% of the GEMM rate",
           lambda r: _row(r, "r2_epoch")["gemm_fraction"], 0.8, False, lambda v: f"{v:.0%}"),
    Target("load_mnist() <= 0.3 s", lambda r: _row(r, "load_mnist")["tinynet_s"], 0.3, True,
           lambda v: f"{v:.3f} s"),
    Target("R2 training peak <= 600 MiB", lambda r: r["memory"]["r2_train_peak_mib"], 600.0,
           True, lambda v: f"{v:.0f} MiB"),
)


def check_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured value and whether it is met (None: not measured, or a
    quick run, whose verdict on 640 images would say nothing of the full run's)."""
    rows = []
    for target in TARGETS:
        value = target.measure(report)
        if value is None or report["settings"]["quick"]:
            met = None
        else:
            met = value <= target.limit if target.at_most else value >= target.limit
        rows.append({"target": target.text, "measured": value, "met": met})
    return rows


def _fmt_s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.3f} s"


def format_report(report: dict[str, Any]) -> str:
    """The printed table: the results, then the targets with met / not met (a quick run
    shows the measured values only)."""
    m = report["machine"]
    blas = m["blas"].get("name", "?") + " " + str(m["blas"].get("version", ""))
    lines = [
        f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, NumPy {m['numpy']} "
        f"({blas.strip()}, {m['blas_threads'] or '?'} threads), "
        f"torch {m['torch'] or 'not used (not installed, not loadable, or --no-torch)'}"
        + (f" ({m['torch_threads']} threads)" if m["torch"] else ""),
        f"float32 GEMM: {report['gemm_gflops']:.1f} GFLOP/s on "
        f"{report['gemm']['n']}x{report['gemm']['n']} products; "
        f"{report['gemm']['r2_shapes_gflops']:.1f} GFLOP/s on R2's batch shapes",
        f"{report['settings']['n_train']:,} training images per epoch, median of "
        f"{report['settings']['repeats']} epoch(s)",
        "",
        f"{'name':<14}{'tinynet':>16}{'torch':>16}{'ratio':>13}{'GEMM frac':>11}",
    ]
    n_test = report["settings"]["n_test"]
    for r in report["results"]:
        if r["name"] == "r2_inference":
            t = f"{n_test / r['tinynet_s']:,.0f} img/s"
            p = "-" if r["torch_s"] is None else f"{n_test / r['torch_s']:,.0f} img/s"
        else:
            t, p = _fmt_s(r["tinynet_s"]), _fmt_s(r["torch_s"])
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        if r["name"] == "r2_inference" and r["ratio"] is not None:
            # Beside images/s, where more is better, a bare time ratio reads backwards.
            ratio += " (time)"
        frac = "-" if r["gemm_fraction"] is None else f"{r['gemm_fraction']:.0%}"
        lines.append(f"{r['name']:<14}{t:>16}{p:>16}{ratio:>13}{frac:>11}")
        if r.get("error"):
            lines.append(f"    ({r['error']})")
    mem = report["memory"]
    torch_mem = mem["torch_r2_train_peak_mib"]
    tinynet_mem = mem["r2_train_peak_mib"]
    lines.append(f"{'r2 peak RSS':<14}"
                 + (f"{tinynet_mem:>12.0f} MiB" if tinynet_mem is not None else f"{'-':>16}")
                 + (f"{torch_mem:>12.0f} MiB" if torch_mem is not None else f"{'-':>16}"))
    for library, error in mem.get("errors", {}).items():
        lines.append(f"    ({library} memory child: {error})")
    quick = report["settings"]["quick"]
    lines += ["", "ratio: tinynet time / PyTorch time (below 1: tinynet is faster)", "",
              f"{'target':<36}{'measured':>14}" + ("" if quick else "  met")]
    for t, row in zip(TARGETS, report["targets"], strict=True):
        value = row["measured"]
        shown = "-" if value is None else t.shown(value)
        met = {True: "met", False: "not met", None: "not measured"}[row["met"]]
        lines.append(f"{t.text:<36}{shown:>14}" + ("" if quick else f"  {met}"))
    if quick:
        # A verdict on 640 images and a small GEMM would say nothing of the full run's.
        lines.append("a quick run does not judge the targets (too few images): run without "
                     "--quick for met / not met")
    return "\n".join(lines)


def run(settings: Settings, quick: bool, torch: Any | None) -> dict[str, Any]:
    """Every measurement, as the JSON report."""
    report: dict[str, Any] = {"machine": machine_info(torch)}
    report["settings"] = {"quick": quick, "n_train": settings.n_train,
                          "n_test": settings.n_test, "repeats": settings.repeats,
                          "inference_batch": INFERENCE_BATCH, "torch_threads": TORCH_THREADS,
                          "blas_threads": BLAS_THREADS}
    # The GEMM rate is sampled before and after the rest, and the median of all samples
    # kept, so that one busy moment of a shared machine does not set it.
    gemm_times = gemm_seconds(settings.gemm_n, settings.gemm_repeats)
    r2_shapes = r2_shapes_rate(5 if quick else 200)
    data = load_data(settings)
    first_dx: dict[str, bool | None] = {}
    for name in EPOCH_PROGRAMS:
        try:
            first_dx[name] = first_layer_computes_dx(name, data)
        except Exception:  # a program tinynet cannot build yet: bench_epoch says why
            first_dx[name] = None
    measured = [bench_epoch(name, data, settings, torch, bool(first_dx[name]))
                for name in EPOCH_PROGRAMS]
    measured.append(bench_inference(data, settings, torch))
    gemm_times += gemm_seconds(settings.gemm_n, settings.gemm_repeats)
    gemm = gemm_gflops(settings.gemm_n, gemm_times)
    report["gemm_gflops"] = gemm
    report["gemm"] = {
        "n": settings.gemm_n, "gflops": gemm, "r2_shapes_gflops": r2_shapes,
        # Whether training computes the first layer's dx, which the GEMM fractions count
        # only when it is performed.
        "first_layer_dx": first_dx,
        "matmul_gflop": {row["name"]: flops / 1e9 for row, flops in measured if flops},
    }
    results = []
    for row, flops in measured:
        if flops and row["tinynet_s"]:
            row["gemm_fraction"] = flops / row["tinynet_s"] / (gemm * 1e9)
        results.append(row)
    results.append(bench_load_mnist(settings))
    report["results"] = results
    report["memory"] = bench_memory(quick, torch)
    report["targets"] = check_targets(report)
    # The load at the end too: a busy machine slows the times (less so the ratios).
    report["machine"]["load_average_end"] = (list(os.getloadavg())
                                             if hasattr(os, "getloadavg") else None)
    return report


class _Timer:
    """Adds up, per key, the wall-clock time spent in wrapped calls, exclusive of the
    wrapped calls made inside them (Dense.backward calls backward_params, say), so that
    the keys' times add up to at most the total."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._inner: list[float] = []  # per open call, the time of the wrapped calls in it

    def wrap(self, key: str | Callable[..., str], fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn``, timed under ``key`` (or ``key(*args)`` when it is callable)."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            self._inner.append(0.0)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                inner = self._inner.pop()
                if self._inner:
                    self._inner[-1] += elapsed
                name = key(*args) if callable(key) else key
                self.seconds[name] = self.seconds.get(name, 0.0) + elapsed - inner

        return timed


def layer_times(model: Sequential, run_epoch: Callable[[], None]) -> tuple[float, dict]:
    """Run ``run_epoch`` once with every layer's forward and backward, the optimiser's
    update of each parameter and the loss timed; return the epoch's time and
    {what: seconds}. Everything is wrapped on these instances only (the loss on its class,
    restored after): the per-layer split that cProfile, which sees one function per layer
    class, cannot give."""
    timer = _Timer()
    methods = ("forward", "backward", "backward_params")
    for i, layer in enumerate(model.layers):
        for method in methods:
            if hasattr(layer, method):
                key = f"layer {i} {type(layer).__name__}.{method}"
                setattr(layer, method, timer.wrap(key, getattr(layer, method)))
    optimizer = model.optimizer
    name = type(optimizer).__name__
    optimizer.update = timer.wrap(lambda param, *_: f"{name}.update {tuple(param.shape)}",
                                  optimizer.update)
    loss_class = type(model.loss)
    saved = {m: loss_class.__dict__[m] for m in ("forward", "backward")
             if m in loss_class.__dict__}
    try:
        for method, fn in saved.items():
            setattr(loss_class, method, timer.wrap(f"loss {loss_class.__name__}.{method}", fn))
        start = time.perf_counter()
        run_epoch()
        total = time.perf_counter() - start
    finally:
        for method, fn in saved.items():
            setattr(loss_class, method, fn)
        for layer in model.layers:
            for method in methods:
                layer.__dict__.pop(method, None)
        del optimizer.update
    return total, timer.seconds


def profile_epoch(name: str, settings: Settings, top: int = 20) -> str:
    """Two profiles of one tinynet training epoch of program ``name`` each, after a
    warm-up: cProfile's ``top`` functions by own time (a matrix product or ufunc is not a
    function call to cProfile, so its time is the own time of the method that runs it),
    then the time of each layer, optimiser update and loss (see :func:`layer_times`)."""
    data = load_data(settings)
    x, y = data.inputs(name), data.targets(name)
    model = build_tinynet(name)
    warm = min(settings.warmup, len(x))
    tinynet_epoch(model, name, x[:warm], y[:warm])
    profiler = cProfile.Profile()
    profiler.runcall(tinynet_epoch, model, name, x, y)
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(top)

    total, record = layer_times(model, lambda: tinynet_epoch(model, name, x, y))
    lines = [stream.getvalue().rstrip(), "",
             f"{name} epoch without cProfile: {total:.3f} s on {len(x):,} images", ""]
    for key, seconds in sorted(record.items(), key=lambda kv: -kv[1]):
        lines.append(f"{seconds:9.3f} s {seconds / total:7.1%}  {key}")
    rest = total - sum(record.values())
    lines.append(f"{rest:9.3f} s {rest / total:7.1%}  the rest: fit's loop (batch indexing, "
                 "callbacks), parameters()")
    return "\n".join(lines)


def json_path(parser: argparse.ArgumentParser, text: str) -> Path:
    """The file ``--json`` names, its folder created, or a one-line argparse error (exit 2).

    Checked before the benchmark starts: the report is written only at the end of a run of
    minutes, too late to learn that the path is a folder (IsADirectoryError) or lies under
    a file (FileExistsError). The folders it creates go again if they are still empty: at
    once when the path is refused, else at exit (a run that fails or is interrupted before
    writing the report leaves nothing behind).
    """
    expected = "argument --json: expected a file path whose folder exists or can be created"
    path = Path(text)
    try:
        is_dir = text.endswith(("/", os.sep)) or path.is_dir()
    except OSError as err:  # a name too long for the file system, a folder not searchable
        parser.error(f"{expected}, got {text!r} ({err.strerror})")
    if is_dir:
        parser.error(f"{expected}, got the folder {text!r}")
    if kind := not_a_file(path):  # which writing the report would replace
        parser.error(f"{expected}, got {text!r}, {kind}")
    if path.parent.exists() and not path.parent.is_dir():
        parser.error(f"{expected}, got {text!r} ({str(path.parent)!r} is a file)")
    try:
        created = reference.make_output_folder(path.parent)
    except ValueError as err:  # a file further up, no permission, ...
        parser.error(f"{expected}, got {text!r} ({err})")
    # Under folders just made, stat said "no such file" before: a name too long shows only
    # now.
    try:
        path.stat()
    except FileNotFoundError:
        pass
    except OSError as err:
        reference.remove_empty_folders(created)
        parser.error(f"{expected}, got {text!r} ({err.strerror})")
    # Whether the run ends or fails (Ctrl-C included): a written report keeps its folder.
    atexit.register(reference.remove_empty_folders, created)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a seconds-long smoke run: 640 images, 1 repeat, small GEMM")
    # A str, not a Path: Path() drops the trailing "/" that marks "report/" as a folder.
    parser.add_argument("--json", metavar="PATH",
                        help="write the report here (missing folders are created, and "
                        "removed if the run ends without a report)")
    parser.add_argument("--repeats", type=reference.int_in_range(1), metavar="N",
                        help="timed epochs per program and library (default 3, quick 1)")
    parser.add_argument("--no-torch", action="store_true",
                        help="measure tinynet alone even when torch is installed")
    parser.add_argument("--profile", choices=EPOCH_PROGRAMS, metavar="NAME",
                        help="instead of benchmarking, run a warm-up tinynet epoch of NAME "
                        "(r1, r2, r3 or r4), then one under cProfile and one with each layer "
                        "timed, and print a table of each")
    # Internal: the fresh process that measures peak memory (see bench_memory).
    parser.add_argument("--memory-child", choices=("tinynet", "torch"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not set_blas_threads(BLAS_THREADS):
        print(f"warning: could not set NumPy's BLAS to {BLAS_THREADS} threads (not OpenBLAS, "
              "or not Linux): tinynet may use more threads than PyTorch", file=sys.stderr)
    if args.memory_child:
        memory_child(args.quick, args.memory_child)
        return 0
    if args.profile and (args.json is not None or args.repeats is not None):
        # Both would be accepted and ignored: no report is written, each epoch runs once.
        parser.error("--profile prints two profiles of a tinynet epoch: it takes --quick, not "
                     + ("--json" if args.json is not None else "--repeats"))
    settings = QUICK if args.quick else FULL
    if args.repeats is not None:
        settings = replace(settings, repeats=args.repeats)
    if args.json is not None:
        args.json = json_path(parser, args.json)
    if args.profile:
        print(profile_epoch(args.profile, settings))
        return 0
    torch = import_torch(args.no_torch)
    report = run(settings, args.quick, torch)
    print(format_report(report))
    if args.json:
        # allow_nan=False: a NaN would make the file invalid JSON; there must be none.
        text = json.dumps(report, indent=2, allow_nan=False) + "\n"
        # Never half a report: a full disk or Ctrl-C mid-write keeps an earlier one whole.
        write_atomic(args.json, lambda tmp: tmp.write_text(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
