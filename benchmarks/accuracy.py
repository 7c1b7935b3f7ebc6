"""Test accuracy of a reference program over several seeds, in tinynet and in PyTorch.

    python benchmarks/accuracy.py NAME [--seeds SEEDS ...] [--epochs N] [--quick]
                                       [--no-torch] [--json PATH]

For each seed it trains program NAME (r1, r2, r3 or r4, ``tinynet.reference``) on the
60,000 MNIST training images as ``tinynet train --model NAME --seed SEED`` does, then the
same program in PyTorch (``torch_models.py``) with that seed, and prints the test accuracy
of each and the seconds its training took, one line per seed as it finishes, then the mean
and the range. The README's results table compares R3 in the two libraries this way: one
seed says little, as the test accuracy moves by up to about a point from seed to seed, in
both. (R3's example script gives the same accuracies; the MLPs' examples divide the pixels
by 255 where ``tinynet train`` multiplies them by 1/255, which rounds a few differently.)

The two libraries draw different random numbers, so a seed is not the same network in
both: compare the means. R2's optimisers also differ a little: tinynet's RMSprop, as
Keras's, adds eps inside the square root, PyTorch's after it. NumPy's BLAS keeps its own
number of threads (every core, as for the examples); PyTorch runs on 2, as in ``run.py``.
``--quick`` trains on 2,000 images for the example's ``--quick`` epochs, a smoke run of
seconds. Without torch (or with ``--no-torch``) the PyTorch column is empty.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from typing import Any

from run import Data, import_torch, json_path, machine_info  # benchmarks/run.py

from tinynet import reference
from tinynet.atomic import write_atomic
from tinynet.datasets import load_mnist, one_hot

PROGRAMS = ("r1", "r2", "r3", "r4")  # those torch_models.py has


def load(quick: bool) -> Data:
    """All of MNIST, or with ``quick`` the 2,000 and 1,000 images of the examples' --quick."""
    data = load_mnist()
    (x_train, y_train), (x_test, y_test) = reference.quick_subset(data) if quick else data
    return Data(x_train, y_train, x_test, y_test)


def tinynet_accuracy(name: str, data: Data, seed: int, epochs: int) -> tuple[float, float]:
    """Test accuracy of program ``name`` trained by tinynet's ``fit`` as ``tinynet train``
    trains it, with ``seed`` for the weights and the shuffling, and the seconds that
    training took."""
    program = reference.get(name)
    model = program.build(seed)
    optimizer = program.make_optimizer()
    model.compile(program.loss(), optimizer, metrics=["accuracy"])
    x, y = data.inputs(name), data.targets(name)
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=program.batch_size, verbose=0,
              callbacks=program.callbacks(optimizer.lr))
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(data.inputs(name, test=True), data.targets(name, test=True))
    return float(accuracy), seconds


def torch_accuracy(name: str, data: Data, seed: int, epochs: int) -> tuple[float, float]:
    """Test accuracy of program ``name`` trained by PyTorch (``torch_models.Trainer``),
    with ``seed`` for its weights and its data order, and the seconds that training took
    (the first seed's include PyTorch's warm-up)."""
    import torch_models  # beside this script; it imports torch

    program = torch_models.PROGRAMS[name]
    # PyTorch's targets: labels, but one-hot rows for R1's MSE (tinynet's R2 takes rows too).
    y = one_hot(data.y_train, 10) if program.one_hot else data.y_train
    trainer = torch_models.Trainer(program, data.inputs(name), y, seed=seed)
    start = time.perf_counter()
    for _ in range(epochs):
        trainer.epoch()
    seconds = time.perf_counter() - start
    # The test images in PyTorch's layout: (N, 1, 28, 28) for R3, whose tinynet input is
    # channels-last (N, 28, 28, 1): with one channel, the same numbers in the same order.
    x_test = data.inputs(name, test=True).reshape(len(data.x_test), *program.input_shape)
    probabilities = torch_models.predict(trainer.model, x_test, batch_size=1024,
                                         logits=program.logits)
    return float((probabilities.argmax(dim=1).numpy() == data.y_test).mean()), seconds


#: PyTorch's seeds are 64-bit: torch.manual_seed(2**64) raises OverflowError.
MAX_SEED = 2**64 - 1
#: The most seeds one range may hold: a mistyped 0-1000000 would fill memory before training.
MAX_RANGE = 1000


def seeds_arg(text: str) -> list[int]:
    """An argparse ``type``: ``"3"`` is seed 3, ``"0-7"`` the seeds 0 to 7."""
    match = re.fullmatch(r"(\d+)(?:-(\d+))?", text)
    low, high = (int(match[1]), int(match[2] or match[1])) if match else (1, 0)
    if not low <= high <= MAX_SEED or high - low >= MAX_RANGE:
        raise argparse.ArgumentTypeError(
            f"expected a seed from 0 to 2**64 - 1 or a range of at most {MAX_RANGE:,} "
            f"such as 0-7, got {text!r}")
    return list(range(low, high + 1))


def percent(value: float | None) -> str:
    """0.98415 as "98.42%", None as "-"."""
    return "-" if value is None else f"{100 * value:.2f}%"


def summary(values: list[float]) -> dict[str, float] | None:
    """Mean, lowest and highest of ``values`` (None when there are none)."""
    if not values:
        return None
    return {"mean": statistics.fmean(values), "min": min(values), "max": max(values)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("program", choices=PROGRAMS, help="the reference program to train")
    parser.add_argument("--seeds", type=seeds_arg, nargs="+", action="extend",
                        metavar="SEEDS", help="seeds to train with, each a number or a "
                        "range such as 0-7 (default 0)")
    parser.add_argument("--epochs", type=reference.int_in_range(1),
                        help="default: the program's (R3: 10), or its --quick epochs")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 training and 1,000 test images: a smoke run of seconds")
    parser.add_argument("--no-torch", action="store_true",
                        help="tinynet alone, even when torch is installed")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the accuracies here, as JSON")
    args = parser.parse_args(argv)
    groups = args.seeds or [[0]]  # extend appends to a default list, so it is set here
    seeds = list(dict.fromkeys(s for group in groups for s in group))  # in order, once
    program = reference.get(args.program)
    epochs = args.epochs or (program.quick_epochs if args.quick else program.epochs)
    path = json_path(parser, args.json) if args.json is not None else None
    torch = import_torch(args.no_torch)

    data = load(args.quick)
    print(f"{args.program}: test accuracy after {epochs} epoch(s) on {len(data.x_train):,} "
          f"training images, {len(data.x_test):,} test images")
    print(f"{'seed':>4}  {'tinynet':>8}  {'PyTorch':>8}  training time (tinynet, PyTorch)")
    runs: list[dict[str, Any]] = []
    for seed in seeds:
        row: dict[str, Any] = {"seed": seed}
        for library, train in (("tinynet", tinynet_accuracy), ("torch", torch_accuracy)):
            if library == "torch" and torch is None:
                row["torch"] = row["torch_s"] = None
                continue
            row[library], row[f"{library}_s"] = train(args.program, data, seed, epochs)
        runs.append(row)
        torch_s = "" if row["torch_s"] is None else f", {row['torch_s']:.1f} s"
        print(f"{seed:>4}  {percent(row['tinynet']):>8}  {percent(row['torch']):>8}  "
              f"{row['tinynet_s']:.1f} s{torch_s}", flush=True)

    results = {library: summary([r[library] for r in runs if r[library] is not None])
               for library in ("tinynet", "torch")}
    for key in ("mean", "min", "max"):
        values = [percent(None if s is None else s[key]) for s in results.values()]
        print(f"{key:>4}  {values[0]:>8}  {values[1]:>8}")
    if path is not None:
        report = {"program": args.program, "epochs": epochs, "n_train": len(data.x_train),
                  "n_test": len(data.x_test), "machine": machine_info(torch), "runs": runs,
                  "summary": results}
        text = json.dumps(report, indent=2, allow_nan=False) + "\n"
        write_atomic(path, lambda tmp: tmp.write_text(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
