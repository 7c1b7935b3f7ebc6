"""The type hints a user's type checker reads: tinynet ships them (py.typed), so a hint that
contradicts the documented way to call tinynet is an error in every user's editor. And the
constructor signatures that help() and editors show."""

import functools
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tinynet
from tinynet import layers
from tinynet.checks import RefusesOtherLibraries
from tinynet.losses import Loss
from tinynet.optim import Optimizer

ROOT = Path(__file__).resolve().parents[1]


def test_the_examples_and_documented_calls_type_check(tmp_path):
    # typed_usage.py holds the documented calls that a wrong hint would refuse (evaluate's
    # result unpacked, step(model.parameters()), a Path for ModelCheckpoint, ...) and the
    # calls a type checker must refuse (model.train()). Only what user code meets is checked,
    # not tinynet's own modules (--follow-imports=silent). The settings both checks share,
    # the Python version first, are in pyproject.toml.
    run = subprocess.run([sys.executable, "-m", "mypy", "--follow-imports=silent",
                          "--warn-unused-ignores", "--cache-dir", str(tmp_path), "examples",
                          "tests/typed_usage.py"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


def test_the_package_type_checks(tmp_path):
    # Its own code against its own hints: a function that says it returns a float and may
    # return None, or an attribute used as set when it may not be (model.optimizer before
    # compile), is an error that the hints above cannot show, since user code meets only
    # the signatures. Run as pyproject.toml sets it: for the oldest Python tinynet admits,
    # whose standard library lacks what later versions added (typing.Self, tomllib), and
    # with every function of the package annotated.
    run = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path),
                          "tinynet"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


def test_the_constructors_refusal_hook_returns_its_own_class_to_type_checkers():
    # RefusesOtherLibraries.__new__ refuses Keras's and PyTorch's arguments for Layer,
    # Sequential and Optimizer. Typed to return its own class, it would make Dense(...) a
    # bare Layer to pyright (the typing spec's rule for __new__), which would then check
    # neither the constructor's arguments nor the attributes; mypy does not apply that rule,
    # so the test above cannot see it.
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
    # A __new__ of Sequential's own would make help(Sequential) and Jupyter's tooltip show
    # Sequential(*args, **kwargs) instead of its layers and seed.
    shown = inspect.signature(cls).parameters
    assert list(shown) == list(inspect.signature(cls.__init__).parameters)[1:]


@functools.cache  # one walk for the tests below
def public_functions() -> list[tuple[str, Any, type | None]]:
    """Every public function, class and method that tinynet defines: its qualified name, the
    object, and for a method its class (an inherited method is checked where it is defined)."""
    found = []
    for info in pkgutil.walk_packages(tinynet.__path__, "tinynet."):
        if info.name == "tinynet.__main__":  # runs the command line when imported
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != info.name:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                found.append((f"{info.name}.{name}", obj, None))
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    member = getattr(member, "fget", member)  # a property's getter
                    member = getattr(member, "__func__", member)  # a class or static method
                    if (inspect.isfunction(member) and member.__name__ != "<lambda>"
                            and not attr.startswith("_")):
                        found.append((f"{info.name}.{name}.{attr}", member, obj))
    return found


def test_every_public_function_has_a_docstring_and_type_hints():
    # What help(), an editor's tooltip and a type checker show of each. An override without
    # a docstring of its own shows its base's, which says what it does.
    found = public_functions()
    undocumented, unhinted = [], []
    for qualname, obj, owner in found:
        name = qualname.rsplit(".", 1)[1]
        bases = owner.__mro__[1:-1] if owner else ()  # without object
        if not obj.__doc__ and not any(getattr(getattr(b, name, None), "__doc__", None)
                                       for b in bases):
            undocumented.append(qualname)
        if inspect.isfunction(obj):
            signature = inspect.signature(obj)
            unhinted += [f"{qualname}({p})" for p, v in signature.parameters.items()
                         if p not in ("self", "cls") and v.annotation is inspect.Parameter.empty]
            if signature.return_annotation is inspect.Signature.empty:
                unhinted.append(f"{qualname} -> ?")
    assert len(found) > 200, "the walk did not find the package's modules"
    assert not undocumented, f"no docstring: {', '.join(undocumented)}"
    assert not unhinted, f"no type hint: {', '.join(unhinted)}"


@pytest.mark.parametrize("module", ["callbacks", "gradcheck", "init", "losses", "metrics",
                                    "optim", "plot"])
def test_each_modules_all_lists_its_public_functions_and_classes(module):
    # help(tinynet.optim) lists what __all__ names; without it, its DATA section would show
    # typing's ClassVar with a page of typing's own docs, and every imported helper.
    module = importlib.import_module(f"tinynet.{module}")
    defined = {qualname.rsplit(".", 1)[1] for qualname, _, owner in public_functions()
               if owner is None and qualname.startswith(f"{module.__name__}.")}
    assert defined <= set(module.__all__), f"missing from __all__: {defined - set(module.__all__)}"
    assert all(hasattr(module, name) for name in module.__all__)
    assert len(module.__all__) == len(set(module.__all__))
