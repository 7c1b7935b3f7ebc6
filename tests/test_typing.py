"""The type hints a user's type checker reads: tinynet ships them (py.typed), so a hint that
contradicts the documented way to call tinynet is an error in every user's editor. And the
constructor signatures that help() and editors show."""

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import tinynet
from tinynet import layers
from tinynet.checks import RefusesOtherLibraries
from tinynet.losses import Loss
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


def test_the_constructors_refusal_hook_returns_its_own_class_to_type_checkers():
    # RefusesOtherLibraries.__new__ refuses Keras's and PyTorch's arguments for Layer,
    # Sequential and Optimizer. Typed to return its own class, it made Dense(...) a bare
    # Layer to pyright (the typing spec's rule for __new__), which then checked neither the
    # constructor's arguments nor the attributes; mypy does not apply that rule, so the test
    # above cannot see it.
    assert RefusesOtherLibraries.__new__.__annotations__["return"] == "Self"


def public_classes() -> list[type]:
    names = [(tinynet, n) for n in tinynet.__all__] + [(layers, n) for n in layers.__all__]
    found = {getattr(module, n) for module, n in names} | {Optimizer, Loss}
    return sorted((c for c in found if isinstance(c, type) and not issubclass(c, Exception)),
                  key=lambda c: c.__name__)


# Python 3.10 shows an inherited __new__'s (*args, **kwargs) for a class without an __init__
# of its own, such as ReLU (later versions show the first of the two along the bases).
@pytest.mark.parametrize("cls", [c for c in public_classes()
                                 if sys.version_info >= (3, 11) or "__init__" in vars(c)],
                         ids=lambda c: c.__name__)
def test_help_and_jupyter_show_each_constructors_own_arguments(cls):
    # A __new__ of Sequential's own made help(Sequential) and Jupyter's tooltip show
    # Sequential(*args, **kwargs) instead of its layers and seed.
    shown = inspect.signature(cls).parameters
    assert list(shown) == list(inspect.signature(cls.__init__).parameters)[1:]
