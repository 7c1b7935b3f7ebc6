"""Every example runs end to end on a subset; R2 reaches 95% after one epoch on all of MNIST."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tinynet import load_model
from tinynet.datasets import load_mnist
from tinynet.reference import Scaling, quick_subset

ROOT = Path(__file__).resolve().parents[1]
# The reference programs (and the CNN beyond them); manual_loop.py has its own test.
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if p.stem != "manual_loop")


def run_example(path: Path, *args: str, timeout: float = 300) -> str:
    result = subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True,
                            timeout=timeout, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


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
