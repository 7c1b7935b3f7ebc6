"""End to end: the hand-written training loop learns MNIST (examples/manual_loop.py --quick)."""

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "manual_loop.py"


def test_manual_loop_quick_learns_mnist():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--seed", "0"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "epoch 1/1 - loss:" in result.stdout, result.stdout
    match = re.search(r"^test accuracy: (\d+\.\d+)$", result.stdout, re.MULTILINE)
    assert match, f"no 'test accuracy: ...' line in:\n{result.stdout}"
    accuracy = float(match.group(1))
    # Chance is 0.1 for ten digits; 2,000 images and one epoch give about 0.83.
    assert accuracy > 0.7, result.stdout
