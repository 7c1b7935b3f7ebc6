"""The type hints a user's type checker reads: tinynet ships them (py.typed), so a hint that
contradicts the documented way to call tinynet is an error in every user's editor."""

import subprocess
import sys
from pathlib import Path

import pytest

from tinynet import Sequential
from tinynet.layers import Layer
from tinynet.optim import Optimizer

ROOT = Path(__file__).resolve().parents[1]


def test_the_examples_and_documented_calls_type_check(tmp_path):
    # typed_usage.py holds the documented calls that hints once refused (evaluate's result
    # unpacked, step(model.parameters()), a Path for ModelCheckpoint, ...) and the calls a
    # type checker must refuse (model.train()). Only what user code meets is checked, not
    # tinynet's own modules (--follow-imports=silent).
    run = subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent",
                          "--warn-unused-ignores", "--cache-dir", str(tmp_path), "examples",
                          "tests/typed_usage.py"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


@pytest.mark.parametrize("cls", [Layer, Optimizer, Sequential], ids=lambda c: c.__name__)
def test_the_constructors_refusal_hook_returns_its_own_class_to_type_checkers(cls):
    # Each __new__ refuses Keras's and PyTorch's arguments. Typed to return the base class,
    # it made Dense(...) a bare Layer to pyright (the typing spec's rule for __new__), which
    # then checked neither the constructor's arguments nor the attributes; mypy does not
    # apply that rule, so the test above cannot see it.
    assert cls.__new__.__annotations__["return"] == "Self"
