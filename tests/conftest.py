"""Settings for every test file.

Hypothesis runs without its explain phase. After a property test fails and its example is
shrunk, that phase runs the test hundreds of times more (traced line by line before Python
3.12) only to add "# or any other generated value" comments to the report: seconds per failing
test. In a student copy every test of a stubbed part fails on its NotImplementedError, and the
phase would make `tinynet homework grade` take minutes instead of seconds. `pytest
--hypothesis-explain` turns it back on.

Two profiles, chosen with hypothesis's own option `pytest --hypothesis-profile=NAME`:

- "tinynet" (the default): what every run and CI use. A property test draws the count of
  examples its settings give (a few dozen; strategies.examples).
- "thorough": the same, with ten times as many examples per property test (max_examples
  1000 against hypothesis's default 100; strategies.examples scales every test's own count
  by that ratio) and no deadline. For hunting the rare draw that would fail CI some day,
  one file at a time, with a few seeds:
  `pytest --hypothesis-profile=thorough --hypothesis-seed=1 tests/test_layers.py`.
  The whole suite takes many times longer under it: not for every change.
"""

import contextlib
import errno
import importlib
import os
import pkgutil
import signal
from pathlib import Path

import pytest
from hypothesis import Phase, settings

if "PYTEST_XDIST_WORKER" in os.environ:
    # The README's test command runs two workers (pytest-xdist's -n 2), one per core. Each
    # keeps its matrix products, and those of the programs its tests start, to one OpenBLAS
    # thread: with two threads each, four threads would take turns on two cores, and
    # OpenBLAS threads that wait for each other spin (the run would take 2 minutes instead
    # of 1 1/2).
    # Set before NumPy is imported, which is when OpenBLAS reads it.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Hypothesis (6.131 and later) mixes into its draws the constants (numbers, strings) of the
# local modules imported so far: tinynet's, not the tests'. A run of one test file imports
# fewer of them than a grade does (which imports tinynet.homework), and would draw other
# examples from the same --hypothesis-seed: a grade's failure that the student's pytest
# --hypothesis-seed=0 of that test did not show. Imported here, before any test, they are
# the same in both. (A whole-suite run imports more local modules later, the benchmarks'.)
# After the OpenBLAS setting above, which NumPy reads when tinynet imports it; not
# __main__, which would run the command line; and a module that fails to import (or exits,
# a student's script) is left to the tests that use it, rather than stop every test here.
def _import_every_module() -> None:
    try:
        package = importlib.import_module("tinynet")
    except Exception:
        return  # every test file that imports it reports the error
    for module in pkgutil.walk_packages(package.__path__, "tinynet.", onerror=lambda _: None):
        if not module.name.endswith(".__main__"):
            with contextlib.suppress(Exception, SystemExit):  # a script's sys.exit too
                importlib.import_module(module.name)


_import_every_module()

settings.register_profile("tinynet", parent=settings.default,
                          phases=[phase for phase in Phase if phase is not Phase.explain])
settings.register_profile("thorough", parent=settings.get_profile("tinynet"),
                          max_examples=1000, deadline=None)
settings.load_profile("tinynet")


@pytest.fixture
def refuse_files_in(monkeypatch):
    """A function ``refuse(folder, code=errno.EACCES)`` after which ``os.open`` with
    ``O_CREAT`` of a file in ``folder`` (the probe of ``atomic.cannot_create_files``) fails
    with the system's error ``code``, as in a folder this process may not write in or enter
    (EACCES), or on a read-only disk (EROFS); ``open()`` and NumPy's writers are left alone.
    Tests run as root here, who may create files anywhere, so chmod cannot make such a
    folder. ``os.access`` is left alone too: it says yes, as it does of such a folder on
    Windows."""
    refused: dict[Path, int] = {}
    real_open = os.open

    def system_open(path, flags, *args, **kwargs):
        code = refused.get(Path(os.path.realpath(path)).parent)
        if code is not None and flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", system_open)

    def refuse(folder, code=errno.EACCES):
        refused[Path(os.path.realpath(folder))] = code

    return refuse


@pytest.fixture
def ctrl_c_raises():
    """SIGINT raising KeyboardInterrupt during the test, as in a Python started from a
    terminal. A Python started with SIGINT ignored (a background job of a script, `cmd &`)
    leaves it ignored, and so does tinynet's signals_held: a test that sends itself
    Ctrl-C would wait for an interruption that never comes."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)
