"""The homework tool on a tiny project generated in a temporary folder.

The project, ``minilib``, has three parts: ``double`` (one region), ``counter`` (two regions,
in two methods) and ``shout`` (one region after code that stays). Its tests are marked
``@pytest.mark.part(...)``, plus one unmarked test that no export may break.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import errno
import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from checkout import stop_signals_at_default

from tinynet import homework
from tinynet.cli import main as cli_main
from tinynet.gradcheck import check_layer
from tinynet.homework import (
    BLOCKED,
    FAILED,
    NOT_ATTEMPTED,
    PARTS,
    PASSED,
    HomeworkError,
    Part,
    export,
    grade,
)
from tinynet.layers import Layer

PARTS_OF_FIXTURE = {
    "double": Part("double", "docs/ops.md", "write double(x)", 1),
    "counter": Part("counter", "docs/ops.md", "write Counter.add and Counter.reset", 2),
    "shout": Part("shout", "docs/text.md", "write shout(s)", 3),
}

OPS = '''\
"""Arithmetic for the homework fixture."""


def double(x):
    """Twice x."""
    # BEGIN SOLUTION double
    # HINT: multiply x by two
    return 2 * x
    # END SOLUTION


class Counter:
    """Counts up from zero."""

    def __init__(self):
        self.n = 0

    def add(self, k):
        # BEGIN SOLUTION counter
        self.n += k
        return self.n
        # END SOLUTION

    def reset(self):
        # BEGIN SOLUTION counter
        # HINT: set the count back to zero
        self.n = 0
        # END SOLUTION
'''

TEXT = '''\
"""Strings for the homework fixture."""


def shout(s):
    """s in capitals with an exclamation mark; the empty string stays empty."""
    if not s:
        return ""
    # BEGIN SOLUTION shout
    return s.upper() + "!"
    # END SOLUTION
'''

TEST_OPS = '''\
import pytest

from minilib.ops import Counter, double


@pytest.mark.part("double")
def test_double():
    assert double(3) == 6, "double(3) should be 6"


@pytest.mark.part("double")
@pytest.mark.parametrize("x", [0, -2, 1.5])
def test_double_many(x):
    assert double(x) == x + x


@pytest.mark.part("counter")
def test_counter():
    c = Counter()
    assert c.add(2) == 2
    assert c.add(3) == 5
    c.reset()
    assert c.n == 0


def test_unmarked():
    assert Counter().n == 0
'''

TEST_TEXT = '''\
import pytest

from minilib.text import shout

pytestmark = pytest.mark.part("shout")


def test_shout():
    assert shout("hi") == "HI!", "shout('hi') should be 'HI!'"


def test_shout_empty():
    assert shout("") == ""
'''

PYPROJECT = '''\
[project]
name = "minilib"
version = "0.1"

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "--strict-markers"
markers = ["part(id): the homework part a test grades"]
'''


def write_project(root: Path, ops: str = OPS, text: str = TEXT) -> Path:
    """The fixture project in ``root``, with generated files the export must leave out."""
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": "# minilib\n",
        ".gitignore": "generated/\n*.log\n",
        "docs/ops.md": "# ops\n",
        "docs/text.md": "# text\n",
        "minilib/__init__.py": '"""A tiny project for the homework tool\'s tests."""\n',
        "minilib/ops.py": ops,
        "minilib/text.py": text,
        "tests/test_ops.py": TEST_OPS,
        "tests/test_text.py": TEST_TEXT,
        # Never copied: environments, caches, build outputs, runs.
        ".venv/lib/site.py": "x = 1\n",
        "env/pyvenv.cfg": "home = /usr/bin\n",  # a virtual environment of another name
        "env/lib/site.py": "x = 1\n",
        "minilib/__pycache__/ops.cpython-311.pyc": "not python\n",
        ".pytest_cache/v/cache/lastfailed": "{}\n",
        "build/lib/minilib/ops.py": "x = 1\n",
        "minilib.egg-info/PKG-INFO": "Name: minilib\n",
        "runs/history.json": "{}\n",
    }
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def statuses(report: homework.GradeReport) -> dict[str, str]:
    return report.to_json()["parts"]


def read_record(dest: Path) -> dict:
    """The record an export wrote into ``dest``."""
    return json.loads((dest / homework.EXPORT_RECORD).read_text())


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) and its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("reference"))


@pytest.fixture(scope="module")
def student(reference: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("student")
    export(dest, source=reference, registry=PARTS_OF_FIXTURE)
    return dest


# ---------------------------------------------------------------------------- round trip
def test_the_reference_passes_every_part(reference: Path) -> None:
    report = grade(reference, registry=PARTS_OF_FIXTURE)
    assert statuses(report) == {"double": PASSED, "counter": PASSED, "shout": PASSED}
    assert report.score == 1.0 and report.passed
    # No message for a part that passed: the JSON lists only the why of what did not.
    assert report.to_json()["messages"] == {} and report.to_json()["after"] == {}
    assert report.results["double"].tests == [
        "tests/test_ops.py::test_double", "tests/test_ops.py::test_double_many[0]",
        "tests/test_ops.py::test_double_many[-2]", "tests/test_ops.py::test_double_many[1.5]"]


def test_a_student_copy_is_not_attempted_in_every_part(student: Path) -> None:
    report = grade(student, registry=PARTS_OF_FIXTURE)
    assert statuses(report) == {p: NOT_ATTEMPTED for p in PARTS_OF_FIXTURE}
    assert report.score == 0.0 and not report.passed
    assert report.results["double"].message == "double: multiply x by two; see docs/ops.md"
    assert report.results["shout"].message == "shout: write shout(s); see docs/text.md"


def test_a_long_hint_is_cut_in_the_table_but_kept_whole_in_the_report(tmp_path: Path) -> None:
    # The grade cut cross-entropy's long hint at 300 characters, and its page with it; then
    # it cut it in --json too, where nothing needs it short.
    words = " ".join(["multiply x by two,"] * 20)
    project = write_project(tmp_path / "source", ops=OPS.replace("multiply x by two", words))
    export(tmp_path / "copy", source=project, parts=["double"], registry=PARTS_OF_FIXTURE)
    report = grade(tmp_path / "copy", registry=PARTS_OF_FIXTURE)
    assert report.results["double"].message == f"double: {words}; see docs/ops.md"
    assert report.to_json()["messages"]["double"] == f"double: {words}; see docs/ops.md"
    (row,) = [line for line in report.table().splitlines() if line.startswith("double ")]
    message = row.split(NOT_ATTEMPTED, 1)[1].strip()
    assert len(message) == 300
    assert message.startswith("double: multiply x by two, multiply x by two,"), message
    assert message.endswith("...; see docs/ops.md"), message


def test_a_student_copy_fails_only_on_stubs_and_its_other_tests_pass(student: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider"],
                         cwd=student, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "COLUMNS": "500"})  # untruncated summary lines
    assert run.returncode == 1, run.stdout + run.stderr
    failed = [line for line in run.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 6, run.stdout  # 4 double, 1 counter, 1 shout
    for line in failed:
        assert re.search(r"NotImplementedError: (double|counter|shout): .*; see docs/", line), line
    assert "2 passed" in run.stdout  # test_unmarked and test_shout_empty


def test_putting_one_solution_back_makes_exactly_that_part_pass(reference: Path,
                                                                tmp_path: Path) -> None:
    export(tmp_path, source=reference, registry=PARTS_OF_FIXTURE)
    student_text = (tmp_path / "minilib/text.py").read_text()
    stub = '    raise NotImplementedError("shout: write shout(s); see docs/text.md")\n'
    assert stub in student_text
    (tmp_path / "minilib/text.py").write_text(
        student_text.replace(stub, '    return s.upper() + "!"\n'))
    report = grade(tmp_path, registry=PARTS_OF_FIXTURE)
    assert statuses(report) == {"double": NOT_ATTEMPTED, "counter": NOT_ATTEMPTED,
                                "shout": PASSED}


def test_wrong_and_broken_solutions_fail_with_their_first_error(reference: Path,
                                                                tmp_path: Path) -> None:
    export(tmp_path, source=reference, parts=["counter"], registry=PARTS_OF_FIXTURE)
    ops = tmp_path / "minilib/ops.py"
    ops.write_text(ops.read_text().replace("return 2 * x", "return 3 * x"))
    text = tmp_path / "minilib/text.py"  # a syntax error: its tests cannot even be imported
    text.write_text(text.read_text().replace('return s.upper() + "!"', "return s.upper( +"))
    report = grade(tmp_path, registry=PARTS_OF_FIXTURE, parts=list(PARTS_OF_FIXTURE))
    assert statuses(report) == {"double": FAILED, "counter": NOT_ATTEMPTED, "shout": FAILED}
    # The first failure, then the names of the part's other tests that failed.
    assert report.results["double"].message == (
        "tests/test_ops.py::test_double: AssertionError: double(3) should be 6 (also failed: "
        "test_double_many[-2])")  # 3 * 0 is 2 * 0: case [0] passes
    assert report.results["shout"].message.startswith(
        "tests/test_text.py: cannot collect: "), report.results["shout"].message


def test_parts_are_graded_in_the_suggested_order_from_the_projects_folder_only(
        reference: Path) -> None:
    # Graded in the order typed, --parts shout double would print shout first; a grade run
    # in tests/ that said only that it is not a project folder would not say which folder is.
    report = grade(reference, registry=PARTS_OF_FIXTURE, parts=["shout", "double", "shout"])
    assert list(report.results) == ["double", "shout"]
    assert report.table().splitlines()[1].startswith("double")
    with pytest.raises(HomeworkError) as refused:
        grade(reference / "tests", registry=PARTS_OF_FIXTURE)
    assert str(refused.value) == (f"PROJECT {reference / 'tests'} is not a project folder: it "
                                  f"has no pyproject.toml ({reference}, above it, has one)")


def test_an_error_in_the_students_code_says_where_it_is(tmp_path: Path) -> None:
    # Alone, "AttributeError: 'Counter' object has no attribute 'm'" would name the test
    # only, not the line of the student's code that raised it; a failed assert in the test
    # needs no place.
    project = write_project(tmp_path, ops=OPS.replace("self.n += k", "self.m += k"))
    line = (project / "minilib/ops.py").read_text().splitlines().index("        self.m += k") + 1
    report = grade(project, registry=PARTS_OF_FIXTURE, parts=["counter", "shout"])
    assert report.results["counter"].message == (
        f"tests/test_ops.py::test_counter: minilib/ops.py:{line}: AttributeError: 'Counter' "
        "object has no attribute 'm'")
    assert report.results["shout"].status == PASSED


def test_a_property_tests_failure_leaves_out_hypothesis_s_notes(tmp_path: Path) -> None:
    # Kept, hypothesis's note would follow a short message, folded into the line: "; Failing
    # test case: test_pairs(; n=0,  # or any other generated value; )".
    project = write_project(tmp_path, ops=OPS.replace("return 2 * x", "return [x] * x"))
    (project / "tests/test_pairs.py").write_text(textwrap.dedent('''\
        import numpy as np
        import pytest
        from hypothesis import given, strategies as st

        from minilib.ops import double


        @pytest.mark.part("double")
        @given(st.integers(0, 3))
        def test_pairs(n):
            np.testing.assert_array_equal(double(np.ones(n)), np.full(n, 2.0))
        '''))
    (project / "tests/test_ops.py").write_text(TEST_OPS.replace('@pytest.mark.part("double")',
                                                                "@pytest.mark.skip"))
    message = grade(project, registry=PARTS_OF_FIXTURE, parts=["double"]).results["double"].message
    assert message.startswith("tests/test_pairs.py::test_pairs: "), message
    assert not re.search(r"Falsifying|Failing test case|generated value", message), message


def test_a_numpy_assertion_fails_with_its_message_not_a_bare_assertion_error(
        tmp_path: Path) -> None:
    # NumPy's message starts with a newline: its first line alone is "AssertionError:".
    project = write_project(tmp_path, ops=OPS.replace("return 2 * x", "return 3 * x"))
    (project / "tests/test_arrays.py").write_text(textwrap.dedent('''\
        import numpy as np
        import pytest

        from minilib.ops import double


        @pytest.mark.part("double")
        def test_double_arrays():
            np.testing.assert_array_equal(double(np.array([0.0, 1.0, 2.0])), [0.0, 2.0, 4.0])
        '''))
    report = grade(project, registry=PARTS_OF_FIXTURE, parts=["double"])
    message = report.results["double"].message
    assert message.startswith(
        "tests/test_arrays.py::test_double_arrays: AssertionError: Arrays are not equal; "
        "Mismatched elements: 2 / 3 (66.7%); "), message
    assert "\n" not in message


@pytest.mark.parametrize("prints", ["", 'print("loading minilib...", end="")\n'])
def test_a_package_that_does_not_import_fails_every_part_naming_file_and_line(
        prints: str, tmp_path: Path) -> None:
    # The package loads ops and text, then a module that does not compile: without the check,
    # test_ops.py cannot be collected but test_text.py finds minilib.text already loaded.
    # A print at import, without an end of line, hid the check's report and skipped it.
    project = write_project(tmp_path)
    (project / "minilib/__init__.py").write_text(
        prints + "from minilib import ops, text\nfrom minilib import util\n")
    (project / "minilib/util.py").write_text("X = 1\n\ndef broken(:\n    pass\n")
    report = grade(project, registry=PARTS_OF_FIXTURE, parts=["double", "shout"])
    message = ("cannot import minilib, so no part can be graded: minilib/util.py:3: "
               "SyntaxError: invalid syntax")
    assert {p: (r.status, r.message) for p, r in report.results.items()} == {
        "double": (FAILED, message), "shout": (FAILED, message)}


def test_a_package_that_prints_beyond_ascii_at_import_is_graded_on_any_console(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # On Windows a child's output into a pipe or a file is encoded in cp1252, which has no
    # check mark: an import check run in that encoding would fail every part with a
    # UnicodeEncodeError. ASCII plays cp1252 here.
    monkeypatch.setenv("PYTHONIOENCODING", "ascii")
    project = write_project(tmp_path)
    init = project / "minilib/__init__.py"
    init.write_text('print("minilib \\u2713 loaded")\n' + init.read_text(), encoding="utf-8")
    report = grade(project, registry=PARTS_OF_FIXTURE, parts=["double", "shout"])
    assert {p: (r.status, r.message) for p, r in report.results.items()} == {
        "double": (PASSED, ""), "shout": (PASSED, "")}


def test_a_package_that_crashes_at_import_fails_every_part_naming_the_line(
        tmp_path: Path) -> None:
    # A crash is no exception the check can report: the message ended in a bare "status -11: ".
    project = write_project(tmp_path)
    init = project / "minilib/__init__.py"
    init.write_text("import os, signal\n\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    report = grade(project, registry=PARTS_OF_FIXTURE, parts=["double", "shout"])
    message = ("importing minilib crashed (killed by SIGSEGV) at minilib/__init__.py:3, so no "
               "part can be graded")
    assert {p: (r.status, r.message) for p, r in report.results.items()} == {
        "double": (FAILED, message), "shout": (FAILED, message)}


@pytest.mark.parametrize("package", ["gone", "without __init__.py", "gone, solved beside",
                                     "gone with the record"])
def test_a_copy_without_its_package_is_not_graded_on_an_installed_one(
        package: str, reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The teacher's fresh copy, its package removed to put a student's in, then the copy
    # forgotten (or copied one folder too deep): the tests would import the reference
    # installed in the grader's Python, and an empty submission would pass every part.
    # Without the record too (`cp -r copy/* elsewhere/`), only the project's name in
    # pyproject.toml names it.
    export(tmp_path / "copy", source=reference, registry=PARTS_OF_FIXTURE)
    shutil.rmtree(tmp_path / "copy/minilib")
    if package == "gone with the record":
        (tmp_path / "copy" / homework.EXPORT_RECORD).unlink()
    installed = reference
    if package == "without __init__.py":
        shutil.copytree(reference / "minilib", tmp_path / "copy/minilib/minilib")
    if package == "gone, solved beside":
        # copy-solved/minilib's path starts with the copy's, copy, but is outside it.
        installed = tmp_path / "copy-solved"
        shutil.copytree(reference, installed)
    monkeypatch.setenv("PYTHONPATH", str(installed))  # as installed: the solved minilib
    parts = None
    if package == "gone with the record":  # which parts to grade, the record no longer says
        with pytest.raises(HomeworkError, match=r"a student copy that lost its record\?"):
            grade(tmp_path / "copy", registry=PARTS_OF_FIXTURE)
        parts = list(PARTS_OF_FIXTURE)
    report = grade(tmp_path / "copy", registry=PARTS_OF_FIXTURE, parts=parts)
    assert statuses(report) == {p: FAILED for p in PARTS_OF_FIXTURE}
    message = report.results["double"].message
    assert message.startswith("cannot import minilib, so no part can be graded: this folder "
                              "has no minilib/__init__.py, so the tests would import "), message
    assert str(installed / "minilib") in message


def test_the_package_a_project_name_implies_is_read_from_its_project_table(
        tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.x]\nname = "no"\n\n[project]\nversion = "1"\nname = "My.Lib-2"\n'
                      '\n[tool.y]\nname = "no"\n')
    assert homework._project_name(tmp_path) == "my_lib_2"
    config.write_text('[project]\nversion = "1"\n\n[tool.y]\nname = "no"\n')
    assert homework._project_name(tmp_path) is None


def test_the_packages_import_checked_are_the_projects_not_its_tests(tmp_path: Path) -> None:
    # A tests/ with an __init__.py is no package of the student's: checking it would fail
    # every part on an import error of the tests' own.
    for package in ("mini", "tests", "test"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    assert homework._packages(tmp_path) == ["mini"]


def test_a_package_that_lost_only_its_init_is_graded_on_its_own_code(
        reference: Path, tmp_path: Path) -> None:
    # With no other minilib to import, the folder without __init__.py is still the package
    # the tests import (a namespace package): graded, not refused as one from elsewhere.
    export(tmp_path, source=reference, registry=PARTS_OF_FIXTURE)
    (tmp_path / "minilib/__init__.py").unlink()
    report = grade(tmp_path, registry=PARTS_OF_FIXTURE)
    assert statuses(report) == {p: NOT_ATTEMPTED for p in PARTS_OF_FIXTURE}


def test_a_finished_copy_that_lost_its_record_is_refused_not_graded_on_every_part(
        reference: Path, tmp_path: Path) -> None:
    # `cp -r copy/* elsewhere/` leaves the dotfile record behind: a copy with every stub
    # written would look like the reference and be graded on every part, the solutions its
    # export handed out too.
    export(tmp_path / "copy", source=reference, registry=PARTS_OF_FIXTURE, parts=["double"])
    ops = tmp_path / "copy/minilib/ops.py"
    ops.write_text(ops.read_text().replace(
        '    raise NotImplementedError("double: multiply x by two; see docs/ops.md")\n',
        "    return 2 * x\n"))
    (tmp_path / "copy" / homework.EXPORT_RECORD).unlink()
    with pytest.raises(HomeworkError) as refused:
        grade(tmp_path / "copy", registry=PARTS_OF_FIXTURE)
    assert str(refused.value).startswith(
        f"{tmp_path / 'copy'} has no {homework.EXPORT_RECORD} and no solution regions, so it "
        "is not the reference: a student copy that lost its record?")
    report = grade(tmp_path / "copy", registry=PARTS_OF_FIXTURE, parts=["double"])
    assert statuses(report) == {"double": PASSED}


def test_a_reference_whose_markers_are_spaced_otherwise_is_graded_as_the_reference(
        reference: Path, tmp_path: Path) -> None:
    # Export reads "#  BEGIN  SOLUTION double" as a region: grade must too, or it refuses the
    # reference as a copy that lost its record.
    spaced = tmp_path / "spaced"
    shutil.copytree(reference, spaced)
    for source in spaced.rglob("*.py"):
        source.write_text(source.read_text().replace("# BEGIN SOLUTION", "#  BEGIN  SOLUTION"))
    assert "#  BEGIN  SOLUTION double" in (spaced / "minilib/ops.py").read_text()
    assert statuses(grade(spaced, registry=PARTS_OF_FIXTURE))["double"] == PASSED


def test_a_package_one_folder_too_deep_fails_every_part_saying_so(reference: Path,
                                                                  tmp_path: Path) -> None:
    # minilib/minilib/: the outer folder imports as a namespace package, so an import check
    # alone would pass, and the tests would import minilib.ops from wherever else Python finds
    # one (an editable install of the reference: every part would pass).
    copy = tmp_path / "copy"
    export(copy, source=reference, registry=PARTS_OF_FIXTURE)
    (copy / "minilib").rename(tmp_path / "minilib")
    (copy / "minilib").mkdir()
    (tmp_path / "minilib").rename(copy / "minilib/minilib")
    report = grade(copy, registry=PARTS_OF_FIXTURE)
    assert statuses(report) == {p: FAILED for p in PARTS_OF_FIXTURE}
    assert ("minilib/ holds no Python file, but minilib/minilib/__init__.py is there: the "
            "package is one folder too deep") in report.results["double"].message


def test_grading_writes_no_bytecode_into_the_project(student: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Without PYTHONDONTWRITEBYTECODE in the teacher's environment, a grade would leave
    # __pycache__ folders in the student's copy.
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
    shutil.copytree(student, tmp_path, dirs_exist_ok=True)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    grade(tmp_path, registry=PARTS_OF_FIXTURE)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_a_package_the_student_added_to_a_copy_is_not_imported_before_grading(
        student: Path, tmp_path: Path) -> None:
    # A scratch package of the student's that does not import (no test imports it), if
    # imported before grading, would make every part fail: "cannot import scratch, so no part
    # can be graded".
    shutil.copytree(student, tmp_path, dirs_exist_ok=True)
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch/__init__.py").write_text("import not_installed_anywhere\n")
    report = grade(tmp_path, registry=PARTS_OF_FIXTURE)
    assert statuses(report) == {p: NOT_ATTEMPTED for p in PARTS_OF_FIXTURE}


def test_a_copy_without_a_folder_that_only_held_a_subpackage_is_graded(tmp_path: Path) -> None:
    # tools/ is no package, only tools/gen is: its export's record lists tools/gen/__init__.py,
    # yet removing tools/ breaks no import of the tests, so nothing is refused.
    reference = write_project(tmp_path / "reference")
    (reference / "tools/gen").mkdir(parents=True)
    (reference / "tools/gen/__init__.py").write_text("")
    export(tmp_path / "copy", source=reference, registry=PARTS_OF_FIXTURE)
    shutil.rmtree(tmp_path / "copy/tools")
    report = grade(tmp_path / "copy", registry=PARTS_OF_FIXTURE)
    assert statuses(report) == {p: NOT_ATTEMPTED for p in PARTS_OF_FIXTURE}


@pytest.mark.parametrize("broken", ["unclosed stub", "latin-1"])
def test_a_folder_without_a_record_is_graded_past_a_file_its_stub_search_cannot_read(
        broken: str, tmp_path: Path) -> None:
    # Grading a folder without a record looks for stubs in its Python files; one that cannot
    # be read as Python is left for the grade to report, not an error that ends the grading.
    project = write_project(tmp_path)
    if broken == "unclosed stub":
        ops = project / "minilib/ops.py"
        ops.write_text(ops.read_text().replace(  # the stub's closing parenthesis is missing
            "    return 2 * x\n",
            '    raise NotImplementedError("double: twice x; see docs/ops.md"\n'))
    else:  # valid Python, in the encoding it declares; minilib does not import it
        (project / "minilib/legacy.py").write_bytes(
            b'# -*- coding: latin-1 -*-\nNOTE = "caf\xe9"\n\n\ndef later():\n'
            b'    raise NotImplementedError("shout: to do; see docs/text.md")\n')
    report = grade(project, registry=PARTS_OF_FIXTURE)
    if broken == "unclosed stub":
        assert statuses(report) == {"double": FAILED, "counter": FAILED, "shout": PASSED}
        assert report.results["double"].message.startswith(
            "tests/test_ops.py: cannot collect: minilib/ops.py:8: SyntaxError")
    else:
        assert statuses(report) == {p: PASSED for p in PARTS_OF_FIXTURE}


def test_a_syntax_error_outside_the_package_import_names_its_file_and_line(
        tmp_path: Path) -> None:
    # minilib/__init__.py does not import text.py: only test_text.py cannot be collected.
    project = write_project(tmp_path, text=TEXT.replace('return s.upper() + "!"',
                                                        "return s.upper( +"))
    report = grade(project, registry=PARTS_OF_FIXTURE, parts=["double", "shout"])
    assert statuses(report) == {"double": PASSED, "shout": FAILED}
    assert report.results["shout"].message == (
        "tests/test_text.py: cannot collect: minilib/text.py:9: "
        "SyntaxError: '(' was never closed")


def test_an_error_raised_while_importing_a_test_module_names_its_file_and_line(
        tmp_path: Path) -> None:
    # Unlike a SyntaxError, pytest formats this one with the traceback style of the run, which
    # the grader shortens to one line for the tests' failures: the place must survive that.
    project = write_project(tmp_path, text=TEXT + "\nLIMIT = undefined_limit\n")
    report = grade(project, registry=PARTS_OF_FIXTURE, parts=["double", "shout"])
    assert statuses(report) == {"double": PASSED, "shout": FAILED}
    assert report.results["shout"].message == (
        "tests/test_text.py: cannot collect: minilib/text.py:12: "
        "NameError: name 'undefined_limit' is not defined")


@pytest.mark.parametrize("config, found", [
    ('[project]\nname = "tinynet"\n', True),
    ('[project]\nname = "some-other-package"\n', False),  # a leftover in site-packages
    (None, False),
])
def test_the_default_project_is_the_folder_of_tinynets_pyproject(tmp_path, monkeypatch,
                                                                  config, found) -> None:
    # As installed from a wheel: the package's folder is site-packages, which must not be
    # taken for the project because some other package left a pyproject.toml in it.
    (tmp_path / "tinynet").mkdir()
    if config is not None:
        (tmp_path / "pyproject.toml").write_text(config, encoding="utf-8")
    monkeypatch.setattr(homework, "__file__", str(tmp_path / "tinynet" / "homework.py"))
    if found:
        assert homework.project_root() == tmp_path.resolve()
    else:
        with pytest.raises(HomeworkError, match=r"no pyproject.toml of tinynet's\); pass "
                                                r"--source FOLDER"):
            homework.project_root()


def test_an_error_is_summed_up_in_one_line_within_the_limit() -> None:
    import numpy as np
    with pytest.raises(AssertionError) as raised:
        np.testing.assert_allclose([1.0, 0.0, 2.0], [0.0, 0.0, 2.0], err_msg="ReLU at 0")
    line = homework._one_line(raised.exconly())
    assert line.startswith("AssertionError: Not equal to tolerance rtol=1e-07, atol=0; "
                           "ReLU at 0; Mismatched elements: 1 / 3 (33.3%); "), line
    assert len(line) <= homework.ERROR_LIMIT and "\n" not in line
    # All of it, up to the two arrays that NumPy prints last.
    assert "array([1., 0., 2.]); " in line and line.endswith("array([0., 0., 2.])"), line
    assert len(homework._one_line(raised.exconly(), limit=60)) == 60
    # A message on the first line is the whole summary: pytest's explanation is not added.
    assert homework._one_line("AssertionError: double(3) should be 6\nassert 9 == 6\n") == (
        "AssertionError: double(3) should be 6")
    assert homework._one_line("\n\n  ValueError: bad  \n") == "ValueError: bad"
    assert homework._one_line("AssertionError:\nexpected:\n  3\n") == (
        "AssertionError: expected: 3")
    assert homework._one_line("") == ""
    # Cut, a line always ends in "...", though the lines joined so far filled the limit.
    assert homework._one_line("Err:\n" + "a" * 15 + "\nmore", limit=20) == (
        "Err: " + "a" * 12 + "...")


def test_a_test_that_hangs_fails_its_part_and_the_others_are_graded(reference: Path,
                                                                     tmp_path: Path) -> None:
    project = write_project(tmp_path)
    (project / "tests/test_slow.py").write_text(textwrap.dedent('''\
        import time

        import pytest


        @pytest.mark.part("counter")
        def test_sleeps():
            time.sleep(120)
        '''))
    report = grade(project, registry=PARTS_OF_FIXTURE, timeout=5)
    assert statuses(report) == {"double": PASSED, "counter": FAILED, "shout": PASSED}
    assert report.results["counter"].message == (
        "timed out after 5 s in tests/test_slow.py::test_sleeps at tests/test_slow.py:8")


def test_a_part_that_times_out_says_where_its_code_was_running(tmp_path: Path) -> None:
    # "timed out in tests/test_ops.py::test_counter" alone would name the test, and a student
    # with an endless loop somewhere in a part's code would have to find it.
    project = write_project(tmp_path)
    ops = project / "minilib/ops.py"
    # On one line: a stack shows a loop at its condition's line or its body's.
    ops.write_text(ops.read_text().replace("        self.n += k\n",
                                           "        while k: k = k + 0\n"))
    line = ops.read_text().splitlines().index("        while k: k = k + 0") + 1
    report = grade(project, registry=PARTS_OF_FIXTURE, parts=["counter"], timeout=3)
    assert report.results["counter"].message == (
        f"timed out after 3 s in tests/test_ops.py::test_counter at minilib/ops.py:{line}")


def test_a_test_that_crashes_python_fails_its_part_and_the_others_are_graded(
        tmp_path: Path) -> None:
    # A segmentation fault (a wrong as_strided in Conv2D, say) kills pytest: a grader that
    # did not expect it would give no grade at all, only the end of pytest's output.
    project = write_project(tmp_path)
    ops = project / "minilib/ops.py"
    ops.write_text(ops.read_text().replace(
        "        self.n += k\n",
        "        import os, signal\n        os.kill(os.getpid(), signal.SIGSEGV)\n"))
    report = grade(project, registry=PARTS_OF_FIXTURE)
    assert statuses(report) == {"double": PASSED, "counter": FAILED, "shout": PASSED}
    assert report.results["counter"].message == (
        "crashed (killed by SIGSEGV) in tests/test_ops.py::test_counter at minilib/ops.py:21")


def test_a_crash_after_the_last_test_leaves_every_part_graded(tmp_path: Path) -> None:
    # Memory that a wrong as_strided wrote over may abort Python only at its exit, once
    # every test has its outcome: the grade must not stop there, "pytest could not run".
    project = write_project(tmp_path)
    (project / "tests/test_ops.py").write_text(
        "import atexit, os, signal\natexit.register(os.kill, os.getpid(), signal.SIGABRT)\n"
        + TEST_OPS)
    report = grade(project, registry=PARTS_OF_FIXTURE, parts=["double"])
    assert statuses(report) == {"double": PASSED}


def test_a_crash_while_collecting_names_where_it_happened(tmp_path: Path) -> None:
    # No test to blame, so no grade: without the line of the project that crashed, the
    # message would show only the last lines of faulthandler's traceback, pytest's own frames.
    project = write_project(tmp_path)
    (project / "tests/test_boom.py").write_text(
        "import os\nimport signal\n\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    with pytest.raises(HomeworkError, match=r"^pytest could not run in \S+ \(killed by "
                                            r"SIGSEGV\) at tests/test_boom.py:4:\n"):
        grade(project, registry=PARTS_OF_FIXTURE, parts=["double"])


def test_a_crash_is_placed_in_the_stack_of_the_thread_that_crashed(tmp_path: Path) -> None:
    # faulthandler shows every thread's stack, the crashed one's not always first: read
    # from the top, another thread idling in the project's code would be named as the
    # place of the crash.
    output = textwrap.dedent(f'''\
        Fatal Python error: Segmentation fault

        Thread 0x00007f49bc4e16c0 (most recent call first):
          File "{tmp_path}/minilib/ops.py", line 36 in _idle
          File "/usr/lib/python3.11/threading.py", line 982 in run

        Current thread 0x00007f49be9ffb80 (most recent call first):
          File "/venv/site-packages/numpy/lib/stride_tricks.py", line 105 in as_strided
          File "{tmp_path}/minilib/ops.py", line 23 in add
          File "{tmp_path}/tests/test_ops.py", line 20 in test_counter

        Thread 0x00007f49bd4e26c0 (most recent call first):
          File "{tmp_path}/minilib/text.py", line 5 in _idle
        ''')
    assert homework._crash_place(output, tmp_path) == " at minilib/ops.py:23"
    # A crash with no frame of the project is placed nowhere, not in another thread.
    output = output.replace(f'  File "{tmp_path}/minilib/ops.py", line 23 in add\n', "")
    output = output.replace(f'  File "{tmp_path}/tests/test_ops.py", line 20 in test_counter\n',
                            "")
    assert homework._crash_place(output, tmp_path) == ""


def test_a_part_not_written_is_not_attempted_even_if_a_test_of_it_crashes_elsewhere(
        reference: Path, tmp_path: Path) -> None:
    # shout is still a stub; one of its tests also uses double, whose code crashes. The
    # crash is double's doing: shout must be graded "not attempted", not "failed", crashed.
    export(tmp_path, source=reference, registry=PARTS_OF_FIXTURE, parts=["shout"])
    ops = tmp_path / "minilib/ops.py"
    ops.write_text(ops.read_text().replace(
        "    return 2 * x\n", "    import os, signal\n    os.kill(os.getpid(), signal.SIGSEGV)\n"))
    (tmp_path / "tests/test_text_twice.py").write_text(textwrap.dedent('''\
        import pytest

        from minilib.ops import double
        from minilib.text import shout


        @pytest.mark.part("shout")
        def test_shout_twice():
            assert shout("ab" * double(1)) == "ABAB!"
        '''))
    report = grade(tmp_path, registry=PARTS_OF_FIXTURE)
    assert {p: (r.status, r.message) for p, r in report.results.items()} == {
        "shout": (NOT_ATTEMPTED, "shout: write shout(s); see docs/text.md")}


def test_a_flood_of_prints_is_not_read_into_the_graders_memory(tmp_path: Path) -> None:
    # pytest prints the captured output of each failing test again: a grader that read all
    # of pytest's output into memory would take gigabytes for a debugging print of a
    # megabyte a call, in tests that call the code hundreds of times. Here 20 MB in one test.
    project = write_project(tmp_path)
    (project / "tests/test_loud.py").write_text(textwrap.dedent('''\
        import sys

        import pytest


        @pytest.mark.part("double")
        def test_loud():
            for _ in range(20):
                sys.stdout.write("x" * 1_000_000 + "\\n")
            assert False, "too loud"
        '''))
    tracemalloc.start()
    try:
        report = grade(project, registry=PARTS_OF_FIXTURE, parts=["double"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.results["double"].message == (
        "tests/test_loud.py::test_loud: AssertionError: too loud")
    assert peak < 2_000_000, f"the grader held {peak} bytes"


#: A test that starts a process of its own, writes its pid and that process's, and never ends.
ENDLESS_TEST = textwrap.dedent('''\
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    import pytest


    @pytest.mark.part("counter")
    def test_endless():
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        Path("child").write_text(str(child.pid))
        Path("pid").write_text(str(os.getpid()))
        while True:
            time.sleep(0.1)
    ''')


def wait_for_the_endless_test(project: Path) -> None:
    """Until the test has written its whole pid (a file can exist still empty), and not for
    ever: a grader that never starts the test fails the caller."""
    deadline = time.monotonic() + 60
    while not (project / "pid").is_file() or not (project / "pid").read_text():
        assert time.monotonic() < deadline, "the endless test never started"
        time.sleep(0.05)


def assert_the_endless_test_ended(project: Path) -> None:
    """Fail unless the endless test and its process have ended; kill them either way."""
    pid, child = int((project / "pid").read_text()), int((project / "child").read_text())
    try:
        # Killed with the session, a process may take a moment to be gone; left running, it
        # sleeps on, and the deadline fails the caller.
        deadline = time.monotonic() + 30
        for left in (pid, child):
            while not ended(left):
                assert time.monotonic() < deadline, f"process {left} of the tests still runs"
                time.sleep(0.05)
    finally:
        for left in (pid, child):
            with contextlib.suppress(ProcessLookupError):
                os.kill(left, signal.SIGKILL)


def test_ctrl_c_while_grading_ends_the_tests_too(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The tests run in a session of their own, which Ctrl-C does not reach: unkilled, they
    # would run on, an endless loop for ever, after the command had ended.
    project = write_project(tmp_path)
    (project / "tests/test_endless.py").write_text(ENDLESS_TEST)

    class CtrlC(subprocess.Popen):
        """Ctrl-C while the grader waits for its tests, once they run (once: the clean-up
        waits for the killed tests too)."""

        pressed = False

        def wait(self, *args: object, **kwargs: object) -> int:
            if "_tinynet_homework_grader" in str(self.args) and not CtrlC.pressed:
                wait_for_the_endless_test(project)
                CtrlC.pressed = True
                raise KeyboardInterrupt
            return super().wait(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", CtrlC)
    with pytest.raises(KeyboardInterrupt):
        grade(project, registry=PARTS_OF_FIXTURE, parts=["counter"], timeout=60)
    assert_the_endless_test_ended(project)


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGHUP"])
def test_a_grader_stopped_by_sigterm_or_sighup_ends_the_tests_too(stop: str,
                                                                 tmp_path: Path) -> None:
    # A cancelled CI job, an IDE's stop button (SIGTERM), a closed terminal (SIGHUP) end the
    # grader at once: unhandled, they would leave its tests running on for ever.
    project = write_project(tmp_path)
    (project / "tests/test_endless.py").write_text(ENDLESS_TEST)
    script = ("import sys\nfrom tinynet.homework import Part, grade\n"
              "registry = {'counter': Part('counter', 'docs/ops.md', 'write it', 1)}\n"
              "grade(sys.argv[1], registry=registry, timeout=120)\n")
    grader = subprocess.Popen([sys.executable, "-c", script, str(project)],
                              stderr=subprocess.PIPE, text=True,
                              preexec_fn=stop_signals_at_default)
    try:
        wait_for_the_endless_test(project)
        grader.send_signal(getattr(signal, stop))
        _, err = grader.communicate(timeout=60)
        assert grader.returncode == 128 + getattr(signal, stop), err
    finally:
        grader.kill()
        assert_the_endless_test_ended(project)  # and kills what is left, pass or fail


def ended(pid: int) -> bool:
    """Whether process ``pid`` is gone, or dead and waiting for its parent to reap it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")  # Linux: the state follows the command's ")"
    return stat.is_file() and stat.read_text().rpartition(")")[2].split()[0] == "Z"


def test_ending_tests_that_have_ended_already_is_no_error() -> None:
    # Ctrl-C can come once the tests' process has ended and been waited for: it must not
    # turn into a ProcessLookupError.
    proc = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    proc.wait()
    homework._kill_session(proc)


def test_ending_tests_that_have_ended_but_are_not_reaped_on_macos_is_no_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # macOS's killpg says EPERM, not ESRCH, for a session whose processes have all ended but
    # are not yet waited for: the PermissionError would stand in for "interrupted".
    def eperm(pid: int, sig: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    proc = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    proc.wait()
    monkeypatch.setattr(os, "killpg", eperm)
    homework._kill_session(proc)


def test_on_windows_a_timeout_ends_the_tests_and_the_processes_they_started(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Windows has no sessions to kill: without taskkill /T, a test's child processes would
    # run on, holding open the output file that the grader then fails to remove.
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    commands = []
    monkeypatch.delattr(os, "killpg")
    monkeypatch.setattr(homework.subprocess, "run",
                        lambda command, **kwargs: commands.append(command))
    homework._kill_session(proc)
    assert commands == [["taskkill", "/F", "/T", "/PID", str(proc.pid)]]
    assert proc.wait(timeout=10) != 0  # and killed itself, in case taskkill could not


def test_a_group_of_failures_is_summed_up_by_its_first(tmp_path: Path) -> None:
    # Hypothesis raises an ExceptionGroup when it finds several distinct failures: its own
    # message, "ExceptionGroup: Hypothesis found 3 distinct failures. (3 sub-exceptions)",
    # would give the student nothing to act on.
    project = write_project(tmp_path)
    (project / "tests/test_group.py").write_text(textwrap.dedent('''\
        import pytest

        try:
            ExceptionGroup
        except NameError:  # Python 3.10: pytest's backport
            from exceptiongroup import ExceptionGroup


        @pytest.mark.part("counter")
        def test_found_two():
            raise ExceptionGroup("Hypothesis found 2 distinct failures.", [
                AssertionError("\\nArrays are not equal\\n\\nMismatched elements: 1 / 3"),
                ValueError("add(-1) went below zero"),
            ])
        '''))
    report = grade(project, registry=PARTS_OF_FIXTURE, parts=["counter"])
    assert report.results["counter"].message == (
        "tests/test_group.py::test_found_two: first of 2 failures: AssertionError: Arrays are "
        "not equal; Mismatched elements: 1 / 3")


def test_grading_is_repeatable_and_leaves_no_example_database(tmp_path: Path) -> None:
    # A property test draws the same examples in every graded run, and hypothesis keeps no
    # .hypothesis database in the student's folder.
    project = write_project(tmp_path)
    (project / "tests/test_property.py").write_text(textwrap.dedent('''\
        import pytest
        from hypothesis import given
        from hypothesis import strategies as st

        from minilib.ops import double


        @pytest.mark.part("double")
        @given(st.integers(0, 10**9))
        def test_double_any(x):
            with open("drawn.txt", "a") as log:
                log.write(f"{x}\\n")
            assert double(x) == 2 * x
        '''))
    drawn = []
    for _ in range(2):
        report = grade(project, registry=PARTS_OF_FIXTURE, parts=["double"])
        assert statuses(report) == {"double": PASSED}
        drawn.append((project / "drawn.txt").read_text().split())
        (project / "drawn.txt").unlink()
    assert len(drawn[0]) > 10 and drawn[0] == drawn[1]
    assert not (project / ".hypothesis").exists()


def test_grading_shows_the_first_failing_example_without_shrinking_it(tmp_path: Path) -> None:
    # Shrinking a failing example to the smallest one that fails (here 1000) would run the
    # test dozens of times more: half the time of grading a fresh copy. The project's own
    # profile, loaded by its conftest.py, stays in force otherwise.
    project = write_project(tmp_path)
    (project / "tests/conftest.py").write_text(textwrap.dedent('''\
        from hypothesis import settings

        settings.register_profile("mine", max_examples=7, deadline=None)
        settings.load_profile("mine")
        '''))
    (project / "tests/test_property.py").write_text(textwrap.dedent('''\
        import pytest
        from hypothesis import given
        from hypothesis import strategies as st


        @pytest.mark.part("double")
        @given(st.integers(0, 10**9))
        def test_below_1000(x):
            with open("drawn.txt", "a") as log:
                log.write(f"{x}\\n")
            assert x < 1000, x


        @pytest.mark.part("counter")
        @given(st.integers(0, 10**9))
        def test_any(x):
            with open("drawn_by_the_passing_test.txt", "a") as log:
                log.write(f"{x}\\n")
        '''))
    report = grade(project, registry=PARTS_OF_FIXTURE, parts=["double", "counter"])
    drawn = [int(x) for x in (project / "drawn.txt").read_text().split()]
    first_failing = next(x for x in drawn if x >= 1000)
    assert first_failing != 1000 and 1000 not in drawn
    assert report.results["double"].message.endswith(f"AssertionError: {first_failing}")
    assert len((project / "drawn_by_the_passing_test.txt").read_text().split()) == 7


def test_grading_works_with_hypothesis_s_pytest_plugin_off(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    # With plugins not autoloaded (as some CI set up pytest), pytest has no
    # --hypothesis-seed option: passing it would refuse the whole run, and grade nothing.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    report = grade(write_project(tmp_path), registry=PARTS_OF_FIXTURE, parts=["double"])
    assert statuses(report) == {"double": PASSED}


# ------------------------------------------------------------------------ the student copy
def test_the_stubs_sit_at_the_indentation_of_their_region(student: Path) -> None:
    assert (student / "minilib/ops.py").read_text() == textwrap.dedent('''\
        """Arithmetic for the homework fixture."""


        def double(x):
            """Twice x."""
            raise NotImplementedError("double: multiply x by two; see docs/ops.md")


        class Counter:
            """Counts up from zero."""

            def __init__(self):
                self.n = 0

            def add(self, k):
                raise NotImplementedError("counter: write Counter.add and Counter.reset; see docs/ops.md")

            def reset(self):
                raise NotImplementedError("counter: set the count back to zero; see docs/ops.md")
        ''')  # noqa: E501


def test_no_marker_text_leaks_into_a_student_copy(reference: Path, tmp_path: Path) -> None:
    for parts, dest in ((None, tmp_path / "all"), (["double"], tmp_path / "some")):
        export(dest, source=reference, parts=parts, registry=PARTS_OF_FIXTURE)
        for path in dest.rglob("*"):
            if path.is_file():
                text = path.read_text()
                for word in ("SOLUTION", "HINT"):
                    assert word not in text, f"{word} in {path.relative_to(dest)}"
    kept = (tmp_path / "some/minilib/ops.py").read_text()
    assert "        self.n += k\n        return self.n\n" in kept


def test_a_student_copy_imports_and_holds_only_the_project(student: Path) -> None:
    run = subprocess.run([sys.executable, "-c", "import minilib.ops, minilib.text"],
                         cwd=student, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    files = sorted(p.relative_to(student).as_posix() for p in student.rglob("*") if p.is_file())
    project = [".gitignore", "README.md", "docs/ops.md", "docs/text.md", "minilib/__init__.py",
               "minilib/ops.py", "minilib/text.py", "pyproject.toml", "tests/test_ops.py",
               "tests/test_text.py"]
    assert files == sorted([homework.EXPORT_RECORD, *project])
    assert read_record(student) == {
        "written_by": "tinynet homework export", "version": 1, "complete": True,
        "parts": ["double", "counter", "shout"], "files": project,
        "sha256": {f: hashlib.sha256((student / f).read_bytes()).hexdigest() for f in project}}


def test_a_student_copy_readme_opens_on_a_note_saying_what_to_write(student: Path,
                                                                      tmp_path: Path) -> None:
    # A student opens the README first, and it was the reference's, word for word: nothing
    # said it is a copy with stubs, or where to start.
    readme = (student / "README.md").read_text()
    note = ("> **A student copy.** The code of 3 parts is yours to write (double, counter, "
            "shout): until a part is written, what uses it stops with a message naming the "
            "part and the page to read. Install it, and run `tinynet homework grade` in this "
            "folder to see where you stand, part by part.\n\n")
    assert readme == note + "# minilib\n"
    # With the guide for students, a link to it; in the README's own line endings; one part.
    source = write_project(tmp_path / "source")
    (source / homework.STUDENT_GUIDE).write_text("# Homework\n\n## For students\n")
    (source / "README.md").write_bytes(b"# minilib\r\n\r\nA library.\r\n")
    export(tmp_path / "copy", source=source, parts=["shout"], registry=PARTS_OF_FIXTURE)
    readme_bytes = (tmp_path / "copy/README.md").read_bytes()
    assert readme_bytes.startswith(b"> **A student copy.** The code of 1 part is yours to write "
                                   b"(shout): ")
    assert readme_bytes.endswith(b"Start with [docs/homework.md](docs/homework.md#for-students):"
                                 b" it says how to install the copy and grade your work.\r\n"
                                 b"\r\n# minilib\r\n\r\nA library.\r\n")
    # A README that is not UTF-8 is copied as it is; so is a copy with no part stubbed.
    (source / "README.md").write_bytes(b"# caf\xe9\n")
    export(tmp_path / "latin", source=source, registry=PARTS_OF_FIXTURE)
    assert (tmp_path / "latin/README.md").read_bytes() == b"# caf\xe9\n"
    (source / "README.md").write_text("# minilib\n")
    export(tmp_path / "none", source=source, parts=[], registry=PARTS_OF_FIXTURE)
    assert (tmp_path / "none/README.md").read_text() == "# minilib\n"


def test_a_git_checkout_copies_what_git_does_not_ignore(tmp_path: Path) -> None:
    source = write_project(tmp_path / "source")
    subprocess.run(["git", "init", "-q", str(source)], check=True, timeout=60)
    # GitHub's VirtualEnv.gitignore: git then lists env/'s files but not its pyvenv.cfg
    (source / ".gitignore").write_text("generated/\n*.log\npyvenv.cfg\n")
    (source / "generated").mkdir()
    (source / "generated/table.csv").write_text("1,2\n")
    (source / "train.log").write_text("epoch 1\n")
    (source / "NOTES.md").write_text("not committed yet, not ignored\n")
    for name in ("tests/test_homework.py", "tests/test_homework_project.py"):
        (source / name).write_text("# the homework tool's own tests: reference only\n")
    (source / "docs/old.md").write_text("# old\n")
    subprocess.run(["git", "-C", str(source), "add", "docs/old.md"], check=True, timeout=60)
    (source / "docs/old.md").unlink()  # still in git's index, no longer a file
    export(tmp_path / "dest", source=source, registry=PARTS_OF_FIXTURE)
    copied = {p.relative_to(tmp_path / "dest").as_posix()
              for p in (tmp_path / "dest").rglob("*") if p.is_file()}
    assert {"NOTES.md", "minilib/ops.py", "docs/ops.md"} <= copied
    assert not {"generated/table.csv", "train.log", "tests/test_homework.py",
                "tests/test_homework_project.py", "docs/old.md"} & copied
    assert not any(name.startswith((".git/", ".venv/", "env/", "build/", "runs/"))
                   for name in copied)
    assert not any(".egg-info" in name for name in copied), copied


def test_export_says_which_files_it_copied_that_git_does_not_track(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Copied, as a file not yet committed is part of the project; but a teacher's scratch
    # file with a solution in it would go out too, so export names them.
    source = write_project(tmp_path / "source")
    subprocess.run(["git", "init", "-q", str(source)], check=True, timeout=60)
    subprocess.run(["git", "-C", str(source), "add", "."], check=True, timeout=60)
    (source / "scratch_notes.py").write_text("def double(x):\n    return 2 * x\n")
    argv = ["export", str(tmp_path / "dest"), "--source", str(source)]
    assert homework.main(argv, registry=PARTS_OF_FIXTURE) == 0
    assert (tmp_path / "dest/scratch_notes.py").is_file()
    assert capsys.readouterr().err == (
        "note: copied scratch_notes.py, which git does not track: if it should not go to "
        "students, delete it from DEST, or ignore it (or pass --exclude) and export again with "
        "--force\n")
    # Every file tracked: no note.
    subprocess.run(["git", "-C", str(source), "add", "."], check=True, timeout=60)
    assert homework.main([*argv, "--force"], registry=PARTS_OF_FIXTURE) == 0
    assert capsys.readouterr().err == ""
    # A repository of notes inside the project, which git lists as one entry, notes/: each
    # of its files is copied, and named.
    subprocess.run(["git", "init", "-q", str(source / "notes")], check=True, timeout=60)
    (source / "notes/solutions.py").write_text("def double(x):\n    return 2 * x\n")
    assert homework.main([*argv, "--force"], registry=PARTS_OF_FIXTURE) == 0
    assert (tmp_path / "dest/notes/solutions.py").is_file()
    assert "note: copied notes/solutions.py, which git does not track" in capsys.readouterr().err


@pytest.mark.parametrize("ignored", ["data/", "*", "source/"])
def test_a_project_inside_another_repository_is_listed_by_its_own_gitignore_only(
        tmp_path: Path, ignored: str) -> None:
    # A reference unpacked into a course's repository: that repository's rules are not the
    # project's. Read through its git, data/ would leave a data file out silently, and "*"
    # (or the project's own folder) every file, as if the project had no regions.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=60)
    (tmp_path / ".gitignore").write_text(ignored + "\n")
    source = write_project(tmp_path / "source")
    (source / "minilib/data").mkdir()
    (source / "minilib/data/table.csv").write_text("1,2\n")
    # The project's own .gitignore still counts: generated/ and *.log.
    (source / "generated").mkdir()
    (source / "generated/table.csv").write_text("1,2\n")
    (source / "train.log").write_text("epoch 1\n")
    files = homework.project_files(source)
    assert "minilib/data/table.csv" in files
    assert "generated/table.csv" not in files and "train.log" not in files
    export(tmp_path / "dest", source=source, registry=PARTS_OF_FIXTURE)
    assert (tmp_path / "dest/minilib/data/table.csv").is_file()
    assert not (tmp_path / "dest/build").exists()  # left out, as from any folder


def test_git_lists_the_project_by_its_own_rules_whoever_calls(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Not a checkout: the user's own excludes (core.excludesFile) are not the project's
    # rules either, a repository inside it is copied whole (git lists it as one entry),
    # and a git hook's GIT_DIR and GIT_INDEX_FILE name another repository.
    source = write_project(tmp_path / "source")
    (source / "minilib/table.csv").write_text("1,2\n")
    (source / "vendor").mkdir()
    subprocess.run(["git", "init", "-q", str(source / "vendor")], check=True, timeout=60)
    (source / "vendor/lib.py").write_text("x = 1\n")
    excludes = tmp_path / "global_ignore"
    excludes.write_text("*.csv\n")
    config = tmp_path / "gitconfig"
    config.write_text(f"[core]\n\texcludesFile = {excludes}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    other = tmp_path / "other"
    subprocess.run(["git", "init", "-q", str(other)], check=True, timeout=60)
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git/index"))
    (source / "generated").mkdir()
    (source / "generated/out.csv").write_text("1,2\n")  # the project's .gitignore: left out
    files = homework.project_files(source)
    assert {"minilib/table.csv", "vendor/lib.py", "minilib/ops.py"} <= set(files)
    assert "generated/out.csv" not in files  # listed by git, not walked
    assert not any(name.startswith("vendor/.git/") for name in files)


def test_without_git_the_project_is_walked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    # No git to read .gitignore: every file but those left out anyway (EXCLUDED_DIRS,
    # virtual environments), so generated/ is copied.
    source = write_project(tmp_path / "source")
    (source / "generated").mkdir()
    (source / "generated/table.csv").write_text("1,2\n")
    with_git = homework.project_files(source)
    monkeypatch.setenv("PATH", "")
    walked = homework.project_files(source)
    assert "generated/table.csv" not in with_git and "generated/table.csv" in walked
    assert not any(name.startswith(("env/", ".venv/", "build/", "runs/")) for name in walked)
    assert set(with_git) <= set(walked)


def test_exclude_takes_a_folder_the_copy_leaves_out_anyway(reference: Path,
                                                           tmp_path: Path) -> None:
    # A virtual environment (env/ holds pyvenv.cfg), and .venv: refused as matching no
    # file, a teacher's careful --exclude env would fail because export leaves env/ out.
    export(tmp_path / "dest", source=reference, registry=PARTS_OF_FIXTURE,
           exclude=["env", ".venv/", "env/lib/site.py"])
    assert not (tmp_path / "dest/env").exists()


def test_exclude_takes_a_folder_git_ignores_but_still_refuses_a_typo(tmp_path: Path) -> None:
    # The teacher who names an ignored folder to be safe must not be told it matches no file.
    source = write_project(tmp_path / "source")
    subprocess.run(["git", "init", "-q", str(source)], check=True, timeout=60)
    (source / "generated").mkdir()
    (source / "generated/test_hidden.py").write_text("def test_x():\n    pass\n")
    assert "generated/test_hidden.py" not in homework.project_files(source)  # git ignores it
    with pytest.raises(HomeworkError, match="'generatd' matches no file of the project"):
        export(tmp_path / "dest", source=source, registry=PARTS_OF_FIXTURE,
               exclude=["generatd"])
    export(tmp_path / "dest", source=source, registry=PARTS_OF_FIXTURE,
           exclude=["generated", "./generated/"])
    assert not (tmp_path / "dest/generated").exists()
    assert (tmp_path / "dest/tests/test_ops.py").is_file()
    # A path on disk that git does not ignore is a file the export copies: a pattern that
    # names it in a way the exclusion does not read would hand it out, so it is refused.
    (source / "hidden").mkdir()
    (source / "hidden/test_secret.py").write_text("def test_x():\n    pass\n")
    for pattern in ("**/hidden", "."):
        with pytest.raises(HomeworkError, match="matches no file of the project"):
            export(tmp_path / "dest2", source=source, registry=PARTS_OF_FIXTURE,
                   exclude=[pattern])
    # The same path written another way is read as that path, and left out.
    for i, pattern in enumerate(("hidden/.", "tests/../hidden", "tests//../hidden/")):
        export(tmp_path / f"dest{i + 3}", source=source, registry=PARTS_OF_FIXTURE,
               exclude=[pattern])
        assert not (tmp_path / f"dest{i + 3}/hidden").exists()
        assert (tmp_path / f"dest{i + 3}/tests/test_ops.py").is_file()


def test_an_exclude_in_another_case_is_refused_where_the_file_system_ignores_case(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # On macOS's file system "Hidden_Tests" exists when hidden_tests/ does, so the pattern
    # passed as a folder left out anyway; but it matches none of its files (fnmatch heeds
    # case there), and the copy handed the hidden tests out.
    source = write_project(tmp_path / "source")
    (source / "hidden_tests").mkdir()
    (source / "hidden_tests/test_secret.py").write_text("def test_x():\n    pass\n")
    real = os.path.lexists

    def ignoring_case(path: str | os.PathLike) -> bool:
        folder, name = os.path.split(os.fspath(path))
        if real(path) or not name or not ignoring_case(folder):
            return real(path)
        return name.lower() in {n.lower() for n in os.listdir(folder or ".")}

    monkeypatch.setattr(os.path, "lexists", ignoring_case)
    assert os.path.lexists(source / "Hidden_Tests")
    with pytest.raises(HomeworkError, match="'Hidden_Tests' matches no file of the project"):
        export(tmp_path / "dest", source=source, registry=PARTS_OF_FIXTURE,
               exclude=["Hidden_Tests"])
    assert not (tmp_path / "dest").exists()


def with_hidden_tests(reference: Path, source: Path,
                      files: dict[str, str] | None = None) -> Path:
    """A copy of the fixture project at ``source`` with a teacher's folder ``hidden_tests``
    holding ``files`` (name: text; by default one test that passes)."""
    shutil.copytree(reference, source)
    (source / "hidden_tests").mkdir()
    for name, text in (files or {"test_more.py": "def test_x():\n    pass\n"}).items():
        (source / "hidden_tests" / name).write_text(text)
    return source


def test_exclude_leaves_out_a_teachers_hidden_tests(reference: Path, tmp_path: Path) -> None:
    source = with_hidden_tests(reference, tmp_path / "source")
    export(tmp_path / "dest", source=source, registry=PARTS_OF_FIXTURE,
           exclude=["hidden_tests"])
    assert not (tmp_path / "dest/hidden_tests").exists()
    assert (tmp_path / "dest/tests/test_ops.py").is_file()


@pytest.mark.parametrize("name, text", [
    ("minilib/ops.py~", OPS),  # an editor's backup
    ("minilib/ops.py.orig", OPS),  # what patch leaves
    ("notes.ipynb", json.dumps({"cells": [{"source": OPS.splitlines(keepends=True)}]})),
])
def test_a_file_that_is_no_python_file_but_holds_a_region_is_refused(
        name: str, text: str, reference: Path, tmp_path: Path) -> None:
    # Only .py files are stubbed: the others would be copied as they are, solutions and all.
    source = tmp_path / "source"
    shutil.copytree(reference, source)
    (source / name).write_text(text)
    line = 1 if name.endswith(".ipynb") else 6
    with pytest.raises(HomeworkError, match=rf"^{re.escape(name)}:{line}: holds the solution "
                                            r"region of part 'double' \(BEGIN SOLUTION "
                                            r"double\), but export strips the regions of \.py "
                                            r"files only: .* or leave it out with --exclude$"):
        export(tmp_path / "dest", source=source, registry=PARTS_OF_FIXTURE)
    assert not (tmp_path / "dest").exists()
    with pytest.raises(HomeworkError, match="holds the solution region"):  # list's scan too
        homework.scan_project(source, PARTS_OF_FIXTURE)
    export(tmp_path / "dest", source=source, registry=PARTS_OF_FIXTURE, exclude=[name])
    assert not (tmp_path / "dest" / name).exists()


def test_a_page_of_the_docs_may_show_the_markers_and_another_file_markers_of_no_part(
        reference: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(reference, source)
    (source / "docs/markers.md").write_text(OPS)
    (source / "notes.txt").write_text("# BEGIN SOLUTION of a course of one's own\n")
    export(tmp_path / "dest", source=source, registry=PARTS_OF_FIXTURE)
    assert "BEGIN SOLUTION double" in (tmp_path / "dest/docs/markers.md").read_text()
    assert (tmp_path / "dest/notes.txt").is_file()


@pytest.mark.parametrize("how", ["./hidden_tests", "absolute", ".\\hidden_tests\\"])
def test_exclude_takes_a_path_from_the_projects_folder_too(how: str, reference: Path,
                                                           tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    source = with_hidden_tests(reference, tmp_path / "source")
    pattern = str(source.resolve() / "hidden_tests") if how == "absolute" else how
    if "\\" in how:  # as typed on Windows, which must not be refused as matching no file
        monkeypatch.setattr(os, "sep", "\\")
    export(tmp_path / "dest", source=source, registry=PARTS_OF_FIXTURE, exclude=[pattern])
    assert not (tmp_path / "dest/hidden_tests").exists()


def test_exclude_takes_an_absolute_path_through_a_symlink_to_the_project(
        reference: Path, tmp_path: Path) -> None:
    # The project's folder is resolved: a path through the link, not resolved, would lie
    # "outside" it.
    source = with_hidden_tests(reference, tmp_path / "source")
    (tmp_path / "link").symlink_to(source, target_is_directory=True)
    export(tmp_path / "dest", source=tmp_path / "link", registry=PARTS_OF_FIXTURE,
           exclude=[str(tmp_path / "link/hidden_tests")])
    assert not (tmp_path / "dest/hidden_tests").exists()


@pytest.mark.parametrize("pattern, error", [
    ("hiden_tests", "matches no file of the project"),
    ("test_hidden_*", "matches no file of the project"),  # a file name, not a path
    ("/elsewhere/hidden_tests", "is outside the project"),
    ("../hidden_tests", "is outside the project"),  # not "matches no file": it never could
    ("..", "is outside the project"),  # the folder above, whole
    ("./../hidden_tests", "is outside the project"),
    ("tests/../../hidden_tests", "is outside the project"),
])
def test_an_exclude_that_matches_nothing_is_refused_before_anything_is_written(
        pattern: str, error: str, reference: Path, tmp_path: Path) -> None:
    # Accepted in silence, a typo or a path from the wrong folder would send the hidden tests
    # out in every student copy.
    source = tmp_path / "source"
    shutil.copytree(reference, source)
    (source / "tests/test_hidden_more.py").write_text("def test_x():\n    pass\n")
    with pytest.raises(HomeworkError, match=f"^--exclude {re.escape(repr(pattern))} {error}"):
        export(tmp_path / "dest", source=source, registry=PARTS_OF_FIXTURE, exclude=[pattern])
    assert not (tmp_path / "dest").exists()


GEOMETRY = """\
import math


def area(r):
    rr = r * r
    # BEGIN SOLUTION double
    a = math.pi * rr
    # END SOLUTION
    return round(a, 3)
"""


def test_the_names_a_stub_leaves_unused_or_undefined_are_found() -> None:
    # Stubbed, the region leaves math and rr unused and a undefined: what ruff reports as
    # F401, F841 and F821 in a student copy.
    regions = homework.parse_markers(GEOMETRY, "geometry.py", PARTS_OF_FIXTURE)
    kept, _, _ = homework.stub_source(GEOMETRY, regions, (), PARTS_OF_FIXTURE)
    stubbed, _, _ = homework.stub_source(GEOMETRY, regions, {"double"}, PARTS_OF_FIXTURE)
    assert homework.lint_codes(kept, stubbed) == {"F401", "F821", "F841"}
    assert homework.lint_codes(kept, kept) == set()
    ops = homework.parse_markers(OPS, "ops.py", PARTS_OF_FIXTURE)
    kept, _, _ = homework.stub_source(OPS, ops, (), PARTS_OF_FIXTURE)
    stubbed, _, _ = homework.stub_source(OPS, ops, set(PARTS_OF_FIXTURE), PARTS_OF_FIXTURE)
    assert homework.lint_codes(kept, stubbed) == set()  # double(x): x is a parameter


def test_a_stubbed_file_keeps_its_permissions(tmp_path: Path) -> None:
    # A script the course runs (chmod +x) must run in the student's copy too.
    source = write_project(tmp_path / "source")
    (source / "minilib/ops.py").chmod(0o700)
    export(tmp_path / "copy", source=source, registry=PARTS_OF_FIXTURE)
    assert "NotImplementedError" in (tmp_path / "copy/minilib/ops.py").read_text()  # stubbed
    assert ((tmp_path / "copy/minilib/ops.py").stat().st_mode & 0o777
            == (source / "minilib/ops.py").stat().st_mode & 0o777)


def test_a_file_defines_tests_with_a_test_function_or_a_test_class(tmp_path: Path) -> None:
    # As pytest finds them; a helper module that only writes marks defines none.
    for code, defines in (("class TestDouble:\n    def test_it(self): pass\n", True),
                          ("async def test_it(): pass\n", True),
                          ("import pytest\nDOUBLE = pytest.mark.part('double')\n", False)):
        (tmp_path / "test_file.py").write_text(code)
        assert homework._defines_tests(tmp_path / "test_file.py") is defines, code


def test_an_import_in_a_function_that_a_stub_leaves_unused_is_f401() -> None:
    # An unused import is F401 to ruff wherever it is, not F841 (an unused variable).
    source = GEOMETRY.replace("import math\n", "").replace("    rr = r * r\n",
                                                              "    import math\n")
    source = source.replace("math.pi * rr", "math.pi * r * r")
    regions = homework.parse_markers(source, "geometry.py", PARTS_OF_FIXTURE)
    kept, _, _ = homework.stub_source(source, regions, (), PARTS_OF_FIXTURE)
    stubbed, _, _ = homework.stub_source(source, regions, {"double"}, PARTS_OF_FIXTURE)
    assert homework.lint_codes(kept, stubbed) == {"F401", "F821"}


def test_lint_exemptions_go_in_a_table_of_their_own_in_the_files_line_endings() -> None:
    added = homework.with_lint_exemptions(PYPROJECT, {"a/b.py": {"F841", "F401"}})
    assert added.startswith(PYPROJECT + "\n# Written by tinynet homework export")
    assert added.endswith('\n[tool.ruff.lint.extend-per-file-ignores]\n'
                          '"a/b.py" = ["F401", "F841"]\n')
    crlf = homework.with_lint_exemptions(PYPROJECT.replace("\n", "\r\n"), {"c.py": {"F821"}})
    assert crlf == added.replace("\n", "\r\n").replace('"a/b.py" = ["F401", "F841"]',
                                                       '"c.py" = ["F821"]')
    assert homework.with_lint_exemptions(PYPROJECT, {}) == PYPROJECT
    # A last line without its newline gets one: the note must not join it.
    assert homework.with_lint_exemptions(PYPROJECT.rstrip("\n"),
                                         {"a/b.py": {"F841", "F401"}}) == added
    # One line per file, sorted by path: the same table from export to export.
    both = homework.with_lint_exemptions(PYPROJECT, {"b.py": {"F821"}, "a/b.py": {"F401"}})
    assert both.endswith('\n"a/b.py" = ["F401"]\n"b.py" = ["F821"]\n')


@pytest.mark.parametrize("header, key", [
    ("[tool.ruff.lint.extend-per-file-ignores]", '"a/b.py"'),
    ("[tool.ruff.lint.extend-per-file-ignores]", "'a/b.py'"),
    ("[ tool.ruff.lint.extend-per-file-ignores ]  # the project's own", '"other.py"'),
])
def test_a_project_with_the_lint_table_already_is_told_to_move_its_lines(header: str,
                                                                        key: str) -> None:
    # TOML allows a table once. Lines joined to the project's would give "a/b.py" twice
    # under another quoting (a file TOML refuses), or leave the project's line for it
    # without the codes the stubs need, so that the copy fails ruff.
    own = PYPROJECT + f'{header}\n{key} = ["E501"]\n'
    with pytest.raises(HomeworkError, match=r"^pyproject.toml has a \[tool.ruff.lint.extend-"
                                            r"per-file-ignores\] table, .* move its lines "
                                            r"into \[tool.ruff.lint.per-file-ignores\]"):
        homework.with_lint_exemptions(own, {"a/b.py": {"F841"}})


def test_a_project_whose_stubs_leave_no_name_unused_keeps_its_pyproject(
        reference: Path, student: Path) -> None:
    assert (student / "pyproject.toml").read_text() == (reference / "pyproject.toml").read_text()


@pytest.mark.parametrize("hint", [
    "a long hint, " * 12 + "and the end",
    # Quotes are escaped in the literal, \" for ": the lines must fit all the same.
    'v = state["velocity"], np.errstate(under="ignore"), ' * 3 + "and the end",
], ids=["plain", "quotes"])
def test_a_long_hint_is_split_into_lines_that_fit(hint: str) -> None:
    lines = homework._stub_lines(homework.stub_message(PARTS_OF_FIXTURE["double"], hint),
                                 "        ", "\n")
    assert len(lines) > 1 and all(len(line) <= homework.LINE_LENGTH + 1 for line in lines)
    namespace: dict = {}
    exec("def f():\n    if True:\n" + "".join(lines), namespace)
    with pytest.raises(NotImplementedError) as raised:
        namespace["f"]()
    assert str(raised.value) == f"double: {hint}; see docs/ops.md"


# ----------------------------------------------------------------------- malformed markers
MALFORMED = {
    "unclosed": ("def f(x):\n    # BEGIN SOLUTION double\n    return x\n", 2, "never closed"),
    "nested": ("def f(x):\n    # BEGIN SOLUTION double\n    y = x\n    # BEGIN SOLUTION shout\n"
               "    return y\n    # END SOLUTION\n    # END SOLUTION\n", 4, "cannot nest"),
    "end without begin": ("def f(x):\n    return x\n    # END SOLUTION\n", 3,
                          "without a BEGIN"),
    "unknown id": ("def f(x):\n    # BEGIN SOLUTION dubble\n    return x\n    # END SOLUTION\n",
                   2, "unknown part id 'dubble' (did you mean double?)"),
    "no id": ("def f(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION\n", 2,
              "exactly one part id"),
    "around a def line": ("class C:\n    # BEGIN SOLUTION double\n    def f(self):\n"
                          "        return 1\n    # END SOLUTION\n", 2,
                          "not inside a function body"),
    "at module level": ("# BEGIN SOLUTION double\nX = 1\n# END SOLUTION\n", 1,
                        "not inside a function body"),
    "leaving its block": ("class C:\n    def f(self):\n        # BEGIN SOLUTION double\n"
                          "        return 1\n\n    def g(self):\n        return 2\n"
                          "        # END SOLUTION\n", 6, "outside the block"),
    "not on a line of its own": ("def f(x):\n    return x  # BEGIN SOLUTION double\n", 2,
                                 "line of its own"),
    "END indented differently": ("def f(x):\n    if x:\n        # BEGIN SOLUTION double\n"
                                 "        return x\n    # END SOLUTION\n", 5,
                                 "indented differently"),
    "hint outside a region": ("def f(x):\n    # HINT: return x\n    # BEGIN SOLUTION double\n"
                              "    return x\n    # END SOLUTION\n", 2, "HINT line must be inside"),
    "empty region": ("def f(x):\n    # BEGIN SOLUTION double\n    # END SOLUTION\n"
                     "    return x\n", 2, "holds no code"),
    # A HINT comment after code would be taken for a hint line, and the code with it.
    "a HINT after code": ("def f(x):\n    # BEGIN SOLUTION double\n    return x  # HINT: x\n"
                          "    # END SOLUTION\n", 3, "line of its own"),
    "two part ids": ("def f(x):\n    # BEGIN SOLUTION double shout\n    return x\n"
                     "    # END SOLUTION\n", 2, "exactly one part id, got double shout"),
    "END names another part": ("def f(x):\n    # BEGIN SOLUTION double\n    return x\n"
                               "    # END SOLUTION shout\n", 4, "closes the region of double"),
    # Its stub, at the BEGIN's indentation, would compile, out of the if block.
    "code deeper than its BEGIN": ("def f(x):\n    if x:\n        y = 1\n"
                                   "    # BEGIN SOLUTION double\n        return y\n"
                                   "    # END SOLUTION\n    return 0\n", 5,
                                   "not at the indentation of its BEGIN"),
    # The copy's syntax error is on the except line: reported at that line of the source.
    "a try cut from its except": ("def f(x):\n    # BEGIN SOLUTION double\n    try:\n"
                                  "        return 1 / x\n    # END SOLUTION\n"
                                  "    except ZeroDivisionError:\n        return 0\n", 6,
                                  "does not compile"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_markers_are_refused_naming_file_and_line(case: str, tmp_path: Path) -> None:
    source, line, words = MALFORMED[case]
    project = write_project(tmp_path / "source", ops=source)
    with pytest.raises(HomeworkError) as raised:
        export(tmp_path / "dest", source=project, registry=PARTS_OF_FIXTURE)
    assert str(raised.value).startswith(f"minilib/ops.py:{line}: "), str(raised.value)
    assert words in str(raised.value)
    assert (raised.value.path, raised.value.line) == ("minilib/ops.py", line)
    assert not (tmp_path / "dest").exists()  # nothing written


def test_a_hint_in_a_file_without_regions_is_refused(tmp_path: Path) -> None:
    # No region and no stub in the file: were it copied as it is, the students would get
    # the hint as a comment beside the teacher's code.
    project = write_project(tmp_path / "source")
    (project / "minilib/extra.py").write_text("def f(x):\n    # HINT: x * 2\n    return x * 2\n")
    with pytest.raises(HomeworkError, match=r"^minilib/extra.py:2: .*HINT line must be inside"):
        export(tmp_path / "dest", source=project, registry=PARTS_OF_FIXTURE)
    assert not (tmp_path / "dest").exists()


def test_marker_text_in_a_string_is_not_a_marker() -> None:
    source = 'def f():\n    return """\n    # BEGIN SOLUTION nothing\n    """\n'
    assert homework.parse_markers(source, "f.py", PARTS_OF_FIXTURE) == []


def test_a_part_without_regions_is_refused(tmp_path: Path) -> None:
    project = write_project(tmp_path / "source", text='def shout(s):\n    return s\n')
    with pytest.raises(HomeworkError, match=r"part\(s\) shout have no region"):
        export(tmp_path / "dest", source=project, registry=PARTS_OF_FIXTURE)
    export(tmp_path / "dest", source=project, parts=["double"], registry=PARTS_OF_FIXTURE)


def test_excluding_the_file_that_holds_a_parts_regions_says_so(reference: Path,
                                                               tmp_path: Path) -> None:
    # "shout has no region: mark its code" would send the teacher to code already marked.
    with pytest.raises(HomeworkError) as raised:
        export(tmp_path / "dest", source=reference, registry=PARTS_OF_FIXTURE,
               exclude=["minilib/text.py", "tests/test_text.py"])
    assert str(raised.value) == (
        "part(s) shout have their regions in minilib/text.py, which --exclude leaves out: "
        "choose the other parts with --parts, or keep that file")
    assert not (tmp_path / "dest").exists()
    export(tmp_path / "dest", source=reference, registry=PARTS_OF_FIXTURE,
           parts=["double", "counter"], exclude=["minilib/text.py", "tests/test_text.py"])
    assert not (tmp_path / "dest/minilib/text.py").exists()


def test_a_part_with_no_region_anywhere_is_told_apart_from_one_left_out(
        reference: Path, tmp_path: Path) -> None:
    # Each part gets its own reason; and a file left out is only searched for markers, not
    # checked: an old hidden test with an unclosed marker is no business of the export's.
    source = with_hidden_tests(reference, tmp_path / "source",
                               {"test_old.py": "# BEGIN SOLUTION double\n"})
    registry = {**PARTS_OF_FIXTURE, "extra": Part("extra", "docs/ops.md", "write extra", 4)}
    with pytest.raises(HomeworkError) as raised:
        export(tmp_path / "dest", source=source, registry=registry,
               exclude=["minilib/text.py", "tests/test_text.py", "hidden_tests"])
    assert str(raised.value) == (
        "part(s) shout have their regions in minilib/text.py, which --exclude leaves out: "
        "choose the other parts with --parts, or keep that file; part(s) extra have no region "
        f"in {source.resolve()}: mark their code with # BEGIN SOLUTION <part-id> ... "
        "# END SOLUTION")


def test_exporting_from_a_student_copy_says_to_export_from_the_reference(
        student: Path, tmp_path: Path) -> None:
    # As when the tinynet installed is a copy: not a request to mark code with BEGIN SOLUTION.
    with pytest.raises(HomeworkError) as raised:
        export(tmp_path / "dest", source=student, parts=["shout"], registry=PARTS_OF_FIXTURE)
    assert str(raised.value) == (
        f"part(s) shout have no region in {student}: it is a student copy (it has "
        ".tinynet-homework.json), whose export removed every marker; export from the "
        "reference, with --source FOLDER")
    assert not (tmp_path / "dest").exists()


def test_an_unknown_part_is_refused(reference: Path, tmp_path: Path) -> None:
    with pytest.raises(HomeworkError, match=r"unknown part id.*triple"):
        export(tmp_path, source=reference, parts=["triple"], registry=PARTS_OF_FIXTURE)
    with pytest.raises(HomeworkError, match=r"unknown part id.*triple"):
        grade(reference, parts=["triple"], registry=PARTS_OF_FIXTURE)
    # Each named once, in the order typed, whatever the typing repeated.
    with pytest.raises(HomeworkError, match=r"^unknown part id\(s\) 'triple', 'halve'[ ;]"):
        export(tmp_path, source=reference, parts=["triple", "halve", "triple"],
               registry=PARTS_OF_FIXTURE)
    # Any iterable, read once: a generator's unknown ids are refused as a list's are.
    with pytest.raises(HomeworkError, match=r"unknown part id.*triple"):
        export(tmp_path, source=reference, parts=iter(["double", "triple"]),
               registry=PARTS_OF_FIXTURE)


# ---------------------------------------------------------------------------------- DEST
def test_a_non_empty_dest_is_refused_without_force(reference: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    export(dest, source=reference, registry=PARTS_OF_FIXTURE)
    (dest / "minilib/mine.py").write_text("x = 1\n")
    with pytest.raises(HomeworkError, match=r"is not empty.*--force"):
        export(dest, source=reference, registry=PARTS_OF_FIXTURE)
    assert (dest / "minilib/mine.py").exists()
    export(dest, source=reference, parts=["shout"], force=True, registry=PARTS_OF_FIXTURE)
    assert "return 2 * x" in (dest / "minilib/ops.py").read_text()  # replaced
    assert (dest / "minilib/mine.py").read_text() == "x = 1\n"  # not the export's to delete


def test_a_non_empty_folder_that_is_no_copy_is_refused_without_advising_force(
        reference: Path, tmp_path: Path) -> None:
    # Not "pass --force to replace an earlier copy": --force would then be refused.
    (tmp_path / "notes.txt").write_text("mine\n")
    with pytest.raises(HomeworkError) as refused:
        export(tmp_path, source=reference, registry=PARTS_OF_FIXTURE)
    assert str(refused.value) == (f"DEST {tmp_path.resolve()} is not empty and is not a "
                                  f"student copy (it has no {homework.EXPORT_RECORD}): give a "
                                  "new or empty folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_force_never_deletes_a_folder_that_is_not_a_project(reference: Path,
                                                            tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos/cat.jpg").write_text("a cat")
    with pytest.raises(HomeworkError, match="is not a student copy"):
        export(tmp_path / "photos", source=reference, force=True, registry=PARTS_OF_FIXTURE)
    assert (tmp_path / "photos/cat.jpg").exists()


def test_force_never_touches_another_project(reference: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    # A pyproject.toml does not make a folder an earlier copy: only the export's record does.
    other = tmp_path / "otherproj"
    (other / ".git").mkdir(parents=True)
    (other / ".git/HEAD").write_text("ref: refs/heads/main\n")
    (other / "pyproject.toml").write_text(PYPROJECT)
    (other / "precious.txt").write_text("irreplaceable\n")
    before = snapshot(other)
    with pytest.raises(HomeworkError) as raised:
        export(other, source=reference, parts=["double"], force=True, registry=PARTS_OF_FIXTURE)
    assert str(raised.value).startswith(f"DEST {other} is not empty and has no "
                                        f"{homework.EXPORT_RECORD}, so it is not a student copy")
    assert snapshot(other) == before
    assert homework.main(["export", str(other), "--source", str(reference), "--parts", "double",
                          "--force"], registry=PARTS_OF_FIXTURE) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"DEST {other} " in err and "refusing" in err, err
    assert snapshot(other) == before


def test_force_replaces_only_the_files_the_earlier_export_wrote(reference: Path,
                                                                tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    export(dest, source=reference, parts=["double"], registry=PARTS_OF_FIXTURE)
    # The teacher's repository, a student's environment and notes: none of them exported.
    (dest / ".git").mkdir()
    (dest / ".git/HEAD").write_text("ref: refs/heads/main\n")
    (dest / ".venv/bin").mkdir(parents=True)
    (dest / ".venv/bin/python").write_text("#!\n")
    (dest / "docs/notes.md").write_text("my notes\n")
    (dest / "minilib/ops.py").unlink()  # exported, deleted since: written again
    export(dest, source=reference, parts=["shout"], force=True, registry=PARTS_OF_FIXTURE,
           exclude=["docs/ops.md", "tests/test_text.py"])
    assert (dest / ".git/HEAD").exists() and (dest / ".venv/bin/python").exists()
    assert (dest / "docs/notes.md").read_text() == "my notes\n"
    assert "return 2 * x" in (dest / "minilib/ops.py").read_text()
    assert "shout: write shout(s)" in (dest / "minilib/text.py").read_text()
    # Written by the first export, left out of the second: deleted, and an emptied folder too.
    assert not (dest / "docs/ops.md").exists() and not (dest / "tests/test_text.py").exists()
    assert (dest / "docs/text.md").exists()
    record = read_record(dest)
    assert record["parts"] == ["shout"] and record["complete"] is True
    assert "docs/ops.md" not in record["files"] and "docs/notes.md" not in record["files"]
    export(dest, source=reference, parts=["shout"], force=True, registry=PARTS_OF_FIXTURE,
           exclude=["tests"])
    assert not (dest / "tests").exists()  # it only ever held exported files
    assert (dest / ".git/HEAD").exists() and (dest / "docs/notes.md").exists()


@pytest.mark.parametrize("edit", ["changed", "changed and left out"])
def test_force_refuses_to_lose_a_file_changed_since_the_export(
        edit: str, reference: Path, tmp_path: Path) -> None:
    # Unchecked, --force would overwrite, or delete as no longer exported, a student's work
    # without a word.
    dest = tmp_path / "dest"
    export(dest, source=reference, registry=PARTS_OF_FIXTURE)
    (dest / "minilib/ops.py").write_text("edited by the student\n")
    (dest / "docs/ops.md").write_text("the student's notes\n")
    before = snapshot(dest)
    exclude = ["docs/ops.md"] if edit == "changed and left out" else []
    with pytest.raises(HomeworkError) as raised:
        export(dest, source=reference, force=True, registry=PARTS_OF_FIXTURE, exclude=exclude)
    assert str(raised.value) == (
        f"DEST {dest}: docs/ops.md, minilib/ops.py changed since the export wrote them (a "
        "student's work?); refusing to overwrite them: move them out of DEST, or delete them, "
        "and export again")
    assert snapshot(dest) == before  # refused before writing anything, the record included
    (dest / "docs/ops.md").unlink()
    with pytest.raises(HomeworkError, match=r": minilib/ops.py changed since the export wrote "
                                            r"it \(a student's work\?\); refusing to overwrite "
                                            r"it: move it out of DEST, or delete it, and"):
        export(dest, source=reference, force=True, registry=PARTS_OF_FIXTURE, exclude=exclude)
    # Moved away, as the message says: the copy is written again.
    (dest / "minilib/ops.py").unlink()
    export(dest, source=reference, force=True, registry=PARTS_OF_FIXTURE, exclude=exclude)
    assert "raise NotImplementedError" in (dest / "minilib/ops.py").read_text()


def test_force_replaces_a_copy_whose_record_has_no_hashes(reference: Path,
                                                          tmp_path: Path) -> None:
    # A record without hashes, as an export that kept none wrote it: nothing to tell an edit
    # by, so --force replaces the copy, edits and all.
    dest = tmp_path / "dest"
    export(dest, source=reference, registry=PARTS_OF_FIXTURE)
    record = read_record(dest)
    del record["sha256"]
    (dest / homework.EXPORT_RECORD).write_text(json.dumps(record))
    (dest / "minilib/ops.py").write_text("edited\n")
    export(dest, source=reference, force=True, registry=PARTS_OF_FIXTURE)
    assert "raise NotImplementedError" in (dest / "minilib/ops.py").read_text()
    assert set(read_record(dest)["sha256"]) == set(read_record(dest)["files"])


def test_force_refuses_to_overwrite_a_file_the_export_did_not_write(reference: Path,
                                                                    tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    export(dest, source=reference, registry=PARTS_OF_FIXTURE, exclude=["README.md"])
    (dest / "README.md").write_text("the student's own README\n")
    before = snapshot(dest)
    with pytest.raises(HomeworkError) as raised:
        export(dest, source=reference, force=True, registry=PARTS_OF_FIXTURE)
    assert str(raised.value) == (
        f"DEST {dest}: README.md was not written by tinynet homework export (it is not in "
        f"{homework.EXPORT_RECORD}); refusing to overwrite it")
    assert snapshot(dest) == before  # refused before writing anything, the record included


def test_force_never_writes_through_a_link_it_did_not_write(reference: Path,
                                                            tmp_path: Path) -> None:
    dest, elsewhere = tmp_path / "dest", tmp_path / "elsewhere"
    export(dest, source=reference, registry=PARTS_OF_FIXTURE, exclude=["docs"])
    elsewhere.mkdir()
    (dest / "docs").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(HomeworkError, match=r"docs is a symbolic link .* refusing to write"):
        export(dest, source=reference, force=True, registry=PARTS_OF_FIXTURE)
    assert list(elsewhere.iterdir()) == []


def test_force_refuses_a_record_that_is_a_link(reference: Path, tmp_path: Path) -> None:
    # The record is rewritten in place, through a link too: another copy's record would
    # be overwritten.
    dest, other = tmp_path / "dest", tmp_path / "other"
    export(other, source=reference, registry=PARTS_OF_FIXTURE)
    dest.mkdir()
    (dest / homework.EXPORT_RECORD).symlink_to(other / homework.EXPORT_RECORD)
    before = snapshot(other)
    with pytest.raises(HomeworkError, match=r"\(it is a symbolic link\): --force replaces only"):
        export(dest, source=reference, force=True, registry=PARTS_OF_FIXTURE, parts=["double"])
    assert snapshot(other) == before
    assert sorted(p.name for p in dest.iterdir()) == [homework.EXPORT_RECORD]


RECORDS = {
    "not JSON": ("{files: [", "cannot be read"),
    "files not a list": ('{"written_by": "tinynet homework export", "version": 1, "files": null}',
                         '"files" is not a list of paths'),
    "another writer": ('{"written_by": "someone", "version": 1, "files": []}',
                       'expected "written_by": "tinynet homework export"'),
    "a newer format": ('{"written_by": "tinynet homework export", "version": 2, "files": []}',
                       "expected version 1, got 2"),
    "a path outside DEST": ('{"written_by": "tinynet homework export", "version": 1, '
                            '"files": ["../outside.txt"]}', "not a relative path inside DEST"),
    "hashes of files not listed": ('{"written_by": "tinynet homework export", "version": 1, '
                                   '"files": [], "sha256": {"a.py": "00"}}',
                                   '"sha256" is not a map of the files listed to their hashes'),
}


@pytest.mark.parametrize("case", list(RECORDS))
def test_force_refuses_a_record_it_cannot_trust(case: str, reference: Path,
                                               tmp_path: Path) -> None:
    text, words = RECORDS[case]
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / homework.EXPORT_RECORD).write_text(text)
    (tmp_path / "outside.txt").write_text("not in DEST\n")
    with pytest.raises(HomeworkError, match="refusing to touch its contents") as raised:
        export(dest, source=reference, force=True, registry=PARTS_OF_FIXTURE)
    assert str(raised.value).startswith(f"DEST {dest} has a {homework.EXPORT_RECORD} that ")
    assert words in str(raised.value)
    assert (tmp_path / "outside.txt").exists()
    assert sorted(p.name for p in dest.iterdir()) == [homework.EXPORT_RECORD]


def test_an_interrupted_export_is_still_a_copy_that_force_replaces(
        reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    copy2, calls = shutil.copy2, []

    def interrupted(*args: object, **kwargs: object) -> object:
        calls.append(args)
        if len(calls) == 3:  # before pyproject.toml: only the record says it is a copy
            raise KeyboardInterrupt
        return copy2(*args, **kwargs)

    monkeypatch.setattr(homework.shutil, "copy2", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export(dest, source=reference, registry=PARTS_OF_FIXTURE)
    monkeypatch.undo()
    record = read_record(dest)
    assert record["complete"] is False and "pyproject.toml" in record["files"]
    assert not (dest / "pyproject.toml").exists()
    # Graded, every part would fail for the missing files: a zero, where there is no grade.
    with pytest.raises(HomeworkError, match=r"is a partial copy: .* export it again with "
                                            r"--force, which completes it"):
        grade(dest, registry=PARTS_OF_FIXTURE)
    (dest / "mine.txt").write_text("mine\n")
    export(dest, source=reference, force=True, registry=PARTS_OF_FIXTURE)
    assert read_record(dest)["complete"] is True
    assert (dest / "pyproject.toml").exists() and (dest / "mine.txt").exists()


def test_a_re_export_interrupted_keeps_the_files_it_has_still_to_delete_in_its_record(
        reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The record an export writes before it starts lists the earlier export's files too:
    # one it had still to delete (docs/old/deep/gone.md, gone from the project) would
    # otherwise be no one's, and the next --force would refuse to overwrite or leave it.
    source = tmp_path / "source"
    shutil.copytree(reference, source)
    (source / "docs/old/deep").mkdir(parents=True)
    (source / "docs/old/deep/gone.md").write_text("# gone\n")
    dest = tmp_path / "dest"
    export(dest, source=source, registry=PARTS_OF_FIXTURE)
    shutil.rmtree(source / "docs/old")

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(homework, "_remove_stale", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export(dest, source=source, force=True, registry=PARTS_OF_FIXTURE)
    monkeypatch.undo()
    assert "docs/old/deep/gone.md" in read_record(dest)["files"]
    export(dest, source=source, force=True, registry=PARTS_OF_FIXTURE)
    # Gone, and the folders it leaves empty with it.
    assert not (dest / "docs/old").exists() and (dest / "docs/ops.md").is_file()


def test_a_path_that_is_a_file_or_missing_is_refused_naming_its_argument(
        reference: Path, tmp_path: Path) -> None:
    # Unchecked, a DEST under a file would fail in mkdir, after the scan, as "<DEST>: not a
    # directory"; a PROJECT that is a file would be "no such folder"; neither message would
    # name its argument.
    (tmp_path / "notes").write_text("mine\n")
    with pytest.raises(HomeworkError, match=r"^DEST \S+/notes/copy cannot be created: \S+/notes "
                       "exists and is not a folder, expected a new or empty folder$"):
        export(tmp_path / "notes/copy", source=reference, registry=PARTS_OF_FIXTURE)
    with pytest.raises(HomeworkError, match=r"^PROJECT \S+/notes is a file, expected a project "
                       "folder$"):
        grade(tmp_path / "notes", registry=PARTS_OF_FIXTURE)
    with pytest.raises(HomeworkError, match=r"^--source \S+/gone: no such folder, expected a "
                       "project folder$"):
        export(tmp_path / "copy", source=tmp_path / "gone", registry=PARTS_OF_FIXTURE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"]


def test_dest_inside_the_project_is_refused(reference: Path) -> None:
    with pytest.raises(HomeworkError, match="must be outside the project"):
        export(reference / "student", source=reference, registry=PARTS_OF_FIXTURE)
    with pytest.raises(HomeworkError, match="must be outside the project"):
        export(reference, source=reference, force=True, registry=PARTS_OF_FIXTURE)
    with pytest.raises(HomeworkError, match=r"must be outside the project .*, not hold it$"):
        export(reference.parent, source=reference, force=True, registry=PARTS_OF_FIXTURE)


# ------------------------------------------------------------------------------ grading
def test_a_part_blocked_by_an_earlier_parts_stub_says_which() -> None:
    outcome = homework._TestOutcome
    collected = {"t.py::a": ["double"], "t.py::b": ["counter"], "t.py::c": ["shout"]}
    outcomes = {
        "t.py::a": outcome("failed", "x", ("double", "double: hint; see docs/ops.md"), True),
        "t.py::b": outcome("failed", "x", ("double", "double: hint; see docs/ops.md"), True),
        "t.py::c": outcome("skipped", "skipped: no reason", None, True),
    }
    results = homework._summarise(["double", "counter", "shout", "new"], collected, outcomes,
                                  {}, {}, PARTS_OF_FIXTURE)
    assert results["double"].status == NOT_ATTEMPTED
    assert results["counter"].status == NOT_ATTEMPTED
    assert results["counter"].message == "needs part double first: double: hint; see docs/ops.md"
    assert results["shout"].status == FAILED  # a skipped test does not pass its part
    assert results["new"].status == FAILED
    assert results["new"].message == 'no test is marked part("new")'


def test_a_failed_part_says_that_an_earlier_part_failed_too() -> None:
    # A gradient checker that never puts x[i] back fails a correct Dense backward with
    # "gradient check FAILED": without the note, the student would look for the bug in the
    # Dense layer.
    outcome = homework._TestOutcome
    collected = {"t.py::a": ["double"], "t.py::b": ["counter"], "t.py::c": ["shout"]}
    outcomes = {"t.py::a": outcome(FAILED, "AssertionError: 3 != 4", None, True),
                "t.py::b": outcome(PASSED, "", None, True),
                "t.py::c": outcome(FAILED, "AssertionError: off", None, True)}
    results = homework._summarise(["double", "counter", "shout"], collected, outcomes, {},
                                  {}, [])
    assert results["double"].message == "t.py::a: AssertionError: 3 != 4"  # the first: no note
    assert results["counter"].status == PASSED
    assert results["shout"].message == ("t.py::c: AssertionError: off (part double, before it, "
                                        "failed too: fix it first, as these tests may use it)")
    # Counted for a teacher's partial credit: it may pass once part double is fixed.
    assert (results["double"].after, results["shout"].after) == ("", "double")
    report = homework.GradeReport(results)
    assert report.to_json()["after"] == {"shout": "double"}
    assert report.table().splitlines()[-1] == (
        "score: 1/3 parts passed (0.33), 1 failed after part double (it may pass once it is "
        "fixed)")


def test_an_earlier_part_that_failed_is_named_only_to_the_parts_that_use_it() -> None:
    # A wrong Softmax backward fails no ReLU test: the note would send the student to fix
    # code that the ReLU tests never run, and count ReLU's failure as maybe Softmax's.
    outcome = homework._TestOutcome
    collected = {"t.py::a": ["double"], "t.py::b": ["counter"], "t.py::c": ["shout"]}
    outcomes = {name: outcome(FAILED, "AssertionError: off", None, True) for name in collected}
    uses = {"double": (), "counter": ("double",), "shout": None}  # None: any earlier part
    results = homework._summarise(["double", "counter", "shout"], collected, outcomes, {},
                                  {}, [], {**uses, "counter": ()})
    assert [r.after for r in results.values()] == ["", "", "double"]
    assert results["counter"].message == "t.py::b: AssertionError: off"
    results = homework._summarise(["double", "counter", "shout"], collected, outcomes, {},
                                  {}, [], uses)
    assert [r.after for r in results.values()] == ["", "double", "double"]
    # The first of the parts it uses that failed, not the first that failed.
    results = homework._summarise(["double", "counter", "shout"], collected, outcomes, {},
                                  {}, [], {**uses, "shout": ("counter",)})
    assert results["shout"].after == "counter"


def test_a_grade_names_an_earlier_failed_part_by_the_registrys_uses(tmp_path: Path) -> None:
    # Through grade, from the registry: double, counter and shout all wrong; counter's tests
    # use double, shout's none. A registry that does not say keeps the rule of any part.
    project = write_project(tmp_path, ops=OPS.replace("return 2 * x", "return 3 * x")
                            .replace("self.n += k", "self.n -= k"),
                            text=TEXT.replace('s.upper() + "!"', 's.upper()'))
    said = {**PARTS_OF_FIXTURE,
            "counter": dataclasses.replace(PARTS_OF_FIXTURE["counter"], uses=frozenset(
                ["double"])),
            "shout": dataclasses.replace(PARTS_OF_FIXTURE["shout"], uses=frozenset())}
    parts = ["double", "counter", "shout"]
    report = homework.grade(project, registry=said, parts=parts)
    assert [report.results[p].after for p in parts] == ["", "double", ""]
    assert report.table().splitlines()[-1].endswith(
        ", 1 failed after part double (it may pass once it is fixed)")
    report = homework.grade(project, registry=PARTS_OF_FIXTURE, parts=parts)
    assert [report.results[p].after for p in parts] == ["", "double", "double"]
    # Parts that failed after different earlier parts are counted by part.
    results = {pid: homework.PartResult(pid, FAILED, after=after)
               for pid, after in [("a", ""), ("b", "a"), ("c", "a"), ("d", "b")]}
    assert homework.GradeReport(results).table().splitlines()[-1] == (
        "score: 0/4 parts passed (0.00), 2 failed after part a, 1 after part b (they may pass "
        "once those are fixed)")
    # In the order of the earlier parts, whichever of their later parts came first.
    results = {pid: homework.PartResult(pid, FAILED, after=after)
               for pid, after in [("a", ""), ("b", ""), ("c", "b"), ("d", "a")]}
    assert homework.GradeReport(results).table().splitlines()[-1].endswith(
        ", 1 failed after part a, 1 after part b (they may pass once those are fixed)")


def test_a_registry_refuses_uses_that_name_no_earlier_part() -> None:
    first = ("a", "docs/a.md", "write a")
    assert homework._numbered(first, ("b", "docs/b.md", "write b", ("a",)))["b"].uses == {"a"}
    with pytest.raises(TypeError, match=r"^part 'b': uses must be a tuple of part ids, got the "
                                        r"str 'a' \(a tuple of one: \('a',\)\)$"):
        homework._numbered(first, ("b", "docs/b.md", "write b", ("a")))
    with pytest.raises(ValueError, match=r"^part 'b': uses names 'c', not a part registered "
                                         r"before it$"):
        homework._numbered(first, ("b", "docs/b.md", "write b", ("a", "c")))
    with pytest.raises(TypeError, match=r"^part 'b': uses must be a tuple of part ids, got "
                                        r"None$"):
        homework._numbered(first, ("b", "docs/b.md", "write b", None))
    with pytest.raises(ValueError, match=r"^part 'b': expected .* got 5 items$"):
        homework._numbered(first, ("b", "docs/b.md", "write b", ("a",), "extra"))


def test_tinynets_parts_each_say_which_earlier_parts_they_use() -> None:
    # None would name any earlier part that failed (the registry refuses a later one).
    assert all(part.uses is not None for part in PARTS.values())


def test_a_failed_gradient_check_is_the_failure_shown_before_any_other() -> None:
    # A backward without its 1/N fails a comparison of arrays first, in collection order,
    # whose numbers the table cuts off; the gradient check says "0.25 times".
    outcome = homework._TestOutcome
    check = ("AssertionError: gradient check FAILED: dW is 0.25 times the numerical gradient "
             "throughout")
    collected = {"t.py::a": ["double"], "t.py::b": ["double"], "t.py::c": ["double"]}
    outcomes = {"t.py::a": outcome(FAILED, "AssertionError: Arrays are not equal", None, True),
                "t.py::b": outcome(FAILED, check, None, True),
                "t.py::c": outcome(FAILED, "AssertionError: off", None, True)}
    results = homework._summarise(["double"], collected, outcomes, {}, {}, [])
    assert results["double"].message == f"t.py::b: {check} (also failed: a, c)"
    # A test file that cannot be collected comes first still: its error is most often the
    # cause.
    errors = {"double": [{"nodeid": "u.py", "message": "ImportError: no x", "stub": None}]}
    results = homework._summarise(["double"], collected, outcomes, errors, {}, [])
    assert results["double"].message.startswith("u.py: cannot collect: ImportError: no x")


class HalfBackward(Layer):
    """y = x, whose backward gives half of dy: a gradient check of it fails."""

    def forward(self, x, training=False):
        return x.copy()

    def backward(self, dy):
        return dy * 0.5


def test_the_grader_knows_a_failed_gradient_check_by_how_gradcheck_reports_it() -> None:
    result = check_layer(HalfBackward(), np.ones((2, 3)))
    assert not result.passed
    assert str(result).startswith(homework._GRADIENT_CHECK_FAILED + "dx is 0.5 times")


def test_a_written_part_whose_tests_stop_at_an_earlier_stub_is_blocked() -> None:
    # The same outcomes either way, since the part's code never ran: only the source says
    # whether the student wrote it. Graded by the outcomes alone, a written part would be
    # "not attempted" all the same.
    outcome = homework._TestOutcome
    collected = {"t.py::a": ["counter"], "t.py::b": ["counter"]}
    outcomes = {"t.py::a": outcome(FAILED, "x", ("double", "double: hint; see x.md"), True),
                "t.py::b": outcome(PASSED, "", None, True)}
    needs = "needs part double first: double: hint; see x.md"
    unwritten = homework._summarise(["counter"], collected, outcomes, {}, {},
                                    ["double", "counter"])
    assert (unwritten["counter"].status, unwritten["counter"].message) == (NOT_ATTEMPTED, needs)
    written = homework._summarise(["counter"], collected, outcomes, {}, {}, ["double"])
    assert (written["counter"].status, written["counter"].message) == (BLOCKED, needs)


def test_a_written_part_fails_on_its_own_error_though_other_tests_need_an_earlier_part(
        ) -> None:
    # A ReLU that writes into dy, with the gradient checker still a stub, must not be graded
    # "not attempted, needs part gradcheck first": the student would take ReLU for done.
    outcome = homework._TestOutcome
    stub = ("double", "double: hint; see docs/ops.md")
    collected = {"t.py::a": ["double"], "t.py::b": ["counter"], "t.py::c": ["counter"],
                 "t.py::d": ["shout"], "t.py::e": ["shout"]}
    outcomes = {
        "t.py::a": outcome("failed", "x", stub, True),
        "t.py::b": outcome("failed", "x", stub, True),
        "t.py::c": outcome("failed", "ValueError: read-only", None, True),
        "t.py::d": outcome("failed", "x", ("shout", "shout: hint; see docs/text.md"), True),
        "t.py::e": outcome("failed", "AssertionError", None, True),
    }
    results = homework._summarise(["counter", "shout"], collected, outcomes, {},
                                  {"counter": "timed out after 5 s in t.py::f"}, PARTS_OF_FIXTURE)
    assert (results["counter"].status, results["counter"].message) == (
        FAILED, "timed out after 5 s in t.py::f (other tests need part double first)")
    del outcomes["t.py::b"], collected["t.py::b"]
    results = homework._summarise(["counter", "shout"], collected, outcomes, {}, {},
                                  PARTS_OF_FIXTURE)
    assert (results["counter"].status, results["counter"].message) == (
        FAILED, "t.py::c: ValueError: read-only")
    outcomes["t.py::a"] = outcome("failed", "x", stub, True)
    collected["t.py::a"] = ["double", "counter"]
    results = homework._summarise(["counter", "shout"], collected, outcomes, {}, {},
                                  PARTS_OF_FIXTURE)
    assert (results["counter"].status, results["counter"].message) == (
        FAILED, "t.py::c: ValueError: read-only (other tests need part double first)")
    # A part not written yet: its other failures are another part's doing.
    assert (results["shout"].status, results["shout"].message) == (
        NOT_ATTEMPTED, "shout: hint; see docs/text.md")


def test_every_real_stub_is_recognised_by_the_grader() -> None:
    for part in PARTS.values():
        for hint in (None, "x = a; b: c"):
            error = NotImplementedError(homework.stub_message(part, hint))
            try:
                raise ValueError("wrapped") from error
            except ValueError as wrapped:
                assert homework._find_stub(wrapped) == (part.id, str(error))
    assert homework._find_stub(NotImplementedError("subclasses must override this")) is None


def test_the_registry_is_in_order_with_pages_and_one_line_descriptions() -> None:
    assert [p.order for p in PARTS.values()] == list(range(1, len(PARTS) + 1))
    assert set(PARTS) == {
        "dense-forward", "dense-backward", "relu", "sigmoid", "softmax-forward",
        "softmax-backward", "cross-entropy", "mse", "sgd-momentum", "rmsprop", "adam",
        "conv2d", "maxpool2d", "idx-header", "gradcheck"}
    for pid, part in PARTS.items():
        # Lower-case words joined by hyphens: what the grader reads as a part id in a stub's
        # message and in part("...") (see _STUB_MESSAGE).
        assert part.id == pid and re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", pid)
        assert re.fullmatch(r"docs/[a-z_]+\.md(#[a-z0-9-]+)?", part.page)
        assert "\n" not in part.description and len(part.description) < 90


# --------------------------------------------------------------------------- the command
def test_grade_warns_of_test_files_changed_since_the_export(
        reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The tests are in the student's folder, and a grade run there uses them as they are now:
    # one with an assertion taken out would pass anything.
    dest = tmp_path / "copy"
    export(dest, source=reference, registry=PARTS_OF_FIXTURE, parts=["shout"])
    assert homework.grade(dest, registry=PARTS_OF_FIXTURE).tests_changed == []
    (dest / "minilib/text.py").write_text((dest / "minilib/text.py").read_text() + "\n")
    (dest / "pyproject.toml").write_text((dest / "pyproject.toml").read_text() + "\n")
    assert homework.grade(dest, registry=PARTS_OF_FIXTURE).tests_changed == []  # not tests
    # Line endings are no change: git for Windows checks a copy out with "\r\n" (its
    # core.autocrlf), and every test file read as changed drowned a real change.
    for name in ("tests/test_ops.py", "tests/conftest.py"):
        if (dest / name).is_file():
            (dest / name).write_bytes((dest / name).read_bytes().replace(b"\n", b"\r\n"))
    assert homework.grade(dest, registry=PARTS_OF_FIXTURE).tests_changed == []
    (dest / "tests/test_text.py").write_text((dest / "tests/test_text.py").read_text()
                                             + "\n# edited\n")
    (dest / "tests/test_ops.py").unlink()
    # A conftest.py of the student's: a hook there may turn any test's outcome.
    (dest / "tests/conftest.py").write_text("")
    (dest / "tests/helper.py").write_text("")  # a new file that changes no test: not named
    assert homework.grade(dest, registry=PARTS_OF_FIXTURE).tests_changed == [
        "tests/test_ops.py", "tests/test_text.py", "tests/conftest.py (added)"]
    homework.main(["grade", str(dest), "--json"], registry=PARTS_OF_FIXTURE)
    assert capsys.readouterr().err == (
        "warning: tests/test_ops.py, tests/test_text.py, tests/conftest.py (added): not as "
        "the export wrote them, so the tests graded are not all those handed out (to grade "
        "with yours, put the student's package in a fresh copy: docs/homework.md, "
        "Grading)\n")


def test_grade_warns_of_marked_tests_that_pytest_does_not_collect(
        reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Hidden tests copied next to tests/ rather than into it: pytest reads the project's
    # testpaths, never runs them, and the grade would look as if it had used them.
    dest = tmp_path / "copy"
    export(dest, source=reference, registry=PARTS_OF_FIXTURE, parts=["shout"])
    (dest / "hidden").mkdir()
    (dest / "hidden/test_hidden_shout.py").write_text(
        "import pytest\n\n\n@pytest.mark.part('shout')\ndef test_x():\n    assert False\n")
    (dest / "hidden/test_hidden_double.py").write_text(  # a part not graded: not named
        "import pytest\n\n\n@pytest.mark.part('double')\ndef test_x():\n    assert False\n")
    report = homework.grade(dest, registry=PARTS_OF_FIXTURE)
    assert report.uncollected == ["hidden/test_hidden_shout.py"]
    assert homework.main(["grade", str(dest)], registry=PARTS_OF_FIXTURE) == 1
    assert capsys.readouterr().err == (
        "warning: hidden/test_hidden_shout.py marks tests with parts graded, but pytest does "
        "not collect it (outside the project's testpaths, or not named test_*.py), so they "
        "were not run: move it into tests/\n")
    (dest / "hidden/test_hidden_shout.py").rename(dest / "tests/test_hidden_shout.py")
    assert homework.grade(dest, registry=PARTS_OF_FIXTURE).uncollected == []
    # A mark written in a helper module, which a test file imports: graded, and the helper,
    # never collected itself, is not named.
    (dest / "tests/marks.py").write_text("import pytest\n\nshout = pytest.mark.part('shout')\n")
    (dest / "tests/test_marked_by_helper.py").write_text(
        "from marks import shout\n\n\n@shout\ndef test_y():\n    pass\n")
    report = homework.grade(dest, registry=PARTS_OF_FIXTURE)
    assert report.uncollected == []
    assert "tests/test_marked_by_helper.py::test_y" in report.results["shout"].tests
    # A file of tests named otherwise than test_*.py, in tests/: not collected, and named.
    (dest / "tests/hidden_shout.py").write_text(
        "import pytest\n\n\n@pytest.mark.part('shout')\ndef test_z():\n    assert False\n")
    assert homework.grade(dest, registry=PARTS_OF_FIXTURE).uncollected == [
        "tests/hidden_shout.py"]


# The parts an export leaves alone pass in the copy, but only count when asked for.
def test_the_command_exports_grades_and_lists(reference: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "copy"
    assert homework.main(["export", str(dest), "--source", str(reference), "--parts", "double"],
                         registry=PARTS_OF_FIXTURE) == 0
    assert "files, 1 stub for 1 part: double" in capsys.readouterr().out

    assert homework.main(["grade", str(dest), "--json"], registry=PARTS_OF_FIXTURE) == 1
    # With the messages: a script grading a class keeps why a part did not pass.
    assert json.loads(capsys.readouterr().out) == {
        "parts": {"double": NOT_ATTEMPTED}, "score": 0.0,
        "messages": {"double": "double: multiply x by two; see docs/ops.md"}, "after": {}}

    assert homework.main(["grade", str(dest), "--parts", "counter", "shout"],
                         registry=PARTS_OF_FIXTURE) == 0
    table = capsys.readouterr().out
    assert re.search(r"^counter +passed *$", table, re.M)
    assert table.rstrip().endswith("score: 2/2 parts passed (1.00)")
    # Some parts passed, one did not: that is a 1 too (0 is for all of them).
    assert homework.main(["grade", str(dest), "--parts", "double", "counter"],
                         registry=PARTS_OF_FIXTURE) == 1
    assert capsys.readouterr().out.rstrip().endswith("score: 1/2 parts passed (0.50)")

    assert homework.main(["list", "--source", str(reference)], registry=PARTS_OF_FIXTURE) == 0
    listing = capsys.readouterr().out
    assert "regions: minilib/ops.py:19, minilib/ops.py:25" in listing
    assert "tests/test_ops.py::test_double_many (3 cases)" in listing
    assert "tests/test_text.py::test_shout_empty" in listing

    assert homework.main(["list", "--source", str(dest), "--no-tests"],
                         registry=PARTS_OF_FIXTURE) == 0
    listing = capsys.readouterr().out
    assert "stubs:   minilib/ops.py:6\n" in listing  # double, stubbed in this copy
    assert listing.count("not in this copy's homework: its code is written") == 2
    assert "(none)" not in listing  # counter and shout kept their code: nothing is missing

    assert homework.main(["export", str(dest), "--source", str(reference)],
                         registry=PARTS_OF_FIXTURE) == 1
    assert "is not empty" in capsys.readouterr().err


def test_a_part_id_registered_twice_is_refused() -> None:
    # Unrefused, the later would replace the earlier in silence: part 9 would vanish from the
    # list, and relu's stubs would point to the page of the part registered over it.
    with pytest.raises(ValueError, match=r"^part id 'relu' is registered twice, as parts 1 and "
                                         r"3: each part needs an id of its own$"):
        homework._numbered(("relu", "docs/a.md", "write ReLU"), ("mse", "docs/b.md", "write MSE"),
                           ("relu", "docs/c.md", "write dropout"))
    assert list(homework._numbered(("a", "docs/a.md", "x"), ("b", "docs/b.md", "y"))) == ["a", "b"]


def test_part_marks_reads_every_way_a_test_file_writes_one(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_marks.py").write_text(textwrap.dedent('''\
        import pytest
        from pytest import mark

        pytestmark = pytest.mark.part("shout")


        @pytest.mark.part("double")
        @pytest.mark.parametrize("x", [1, pytest.param(2, marks=pytest.mark.part("counter"))])
        def test_a(x):
            pass


        @mark.part(id="double")
        def test_b():
            s = 'pytest.mark.part("in-a-string")'  # pytest.mark.part("in-a-comment")
            PART = "double"
            pytest.mark.part(PART)  # not written out: cannot be read
        '''))
    (tmp_path / "tests/test_broken.py").write_text("@pytest.mark.part('x'\n")
    (tmp_path / "notes.txt").write_text('pytest.mark.part("nope")\n')
    assert homework.part_marks(tmp_path, ["tests/test_marks.py", "tests/test_broken.py",
                                          "notes.txt"]) == {
        "shout": [("tests/test_marks.py", 4)], "double": [("tests/test_marks.py", 7),
                                                           ("tests/test_marks.py", 13)],
        "counter": [("tests/test_marks.py", 8)]}


def test_export_refuses_a_test_marked_with_a_part_that_is_not_one(tmp_path: Path) -> None:
    # Unrefused, it would be exported in silence, and its test would grade nothing; list and
    # grade would name the typo only in a warning, with no file or line.
    project = write_project(tmp_path / "source")
    (project / "tests/test_more.py").write_text(
        "import pytest\n\n\n@pytest.mark.part('doubel')\ndef test_x():\n    pass\n")
    with pytest.raises(HomeworkError, match=r"^tests/test_more.py:4: a test is marked "
                                            r"part\('doubel'\), which is not a part \(did "
                                            r"you mean double\?\): its test would grade "
                                            r"nothing; the parts are: double, counter, shout$"):
        export(tmp_path / "dest", source=project, registry=PARTS_OF_FIXTURE)
    assert not (tmp_path / "dest").exists()


def test_export_warns_of_a_part_no_test_is_marked_with(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    # Every grade fails the part, the correct solution's too: without the warning, the
    # teacher would learn it only once the copies were handed out. Tests that --exclude
    # keeps from the students (hidden tests) count: the teacher grades with them.
    project = write_project(tmp_path / "source")
    (project / "tests/test_text.py").write_text("def test_nothing():\n    pass\n")
    assert homework.main(["export", str(tmp_path / "a"), "--source", str(project)],
                         registry=PARTS_OF_FIXTURE) == 0
    assert capsys.readouterr().err == (
        "warning: no test of the project is marked part('shout'): every grade will fail "
        "shout unless the tests you grade with mark one (@pytest.mark.part('shout'))\n")
    (project / "hidden").mkdir()
    (project / "hidden/test_shout.py").write_text(TEST_TEXT)
    result = export(tmp_path / "b", source=project, registry=PARTS_OF_FIXTURE,
                    exclude=["hidden"])
    assert result.untested == [] and not (tmp_path / "b/hidden").exists()


def test_export_warns_that_the_parts_after_those_stubbed_keep_their_solutions(
        reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A course handed out week by week would give the later weeks' solutions away.
    assert homework.main(["export", str(tmp_path / "a"), "--source", str(reference),
                          "--parts", "double"], registry=PARTS_OF_FIXTURE) == 0
    assert capsys.readouterr().err == (
        "warning: the parts after those stubbed keep their solutions in the copy: counter, "
        "shout. To hand them out later, stub them too (--parts) and grade the ones due "
        "(tinynet homework grade --parts ...)\n")
    # The last part stubbed, or the earlier parts alone kept: nothing to say.
    for i, parts in enumerate((["shout"], ["double", "counter", "shout"])):
        assert homework.main(["export", str(tmp_path / f"b{i}"), "--source", str(reference),
                              "--parts", *parts], registry=PARTS_OF_FIXTURE) == 0
        assert capsys.readouterr().err == ""


def test_list_imports_only_the_test_files_whose_code_names_part(tmp_path: Path) -> None:
    # Importing every test module would make `tinynet homework list` take seconds on tinynet;
    # a module whose code never names `part` cannot mark a test with it.
    project = write_project(tmp_path)
    imported = "from pathlib import Path\nPath('imported-{}').touch()\n"
    (project / "tests/test_plain.py").write_text(
        imported.format("plain") + "# its imaginary part: a comment marks nothing\n"
        "WORDS = ['apart', 'parts']  # nor does part inside another word\n"
        "def test_plain():\n    assert True\n")
    (project / "tests/test_getattr.py").write_text(
        imported.format("getattr") + "import pytest\n\n\n"
        "@getattr(pytest.mark, 'part')('shout')\ndef test_loud():\n    assert True\n")
    tests = homework.collect_tests(project)
    assert tests == {
        "double": ["tests/test_ops.py::test_double", "tests/test_ops.py::test_double_many[0]",
                   "tests/test_ops.py::test_double_many[-2]",
                   "tests/test_ops.py::test_double_many[1.5]"],
        "counter": ["tests/test_ops.py::test_counter"],
        "shout": ["tests/test_getattr.py::test_loud", "tests/test_text.py::test_shout",
                  "tests/test_text.py::test_shout_empty"]}
    assert (project / "imported-getattr").exists()
    assert not (project / "imported-plain").exists()
    # Grading collects every file.
    grade(project, registry=PARTS_OF_FIXTURE, parts=["shout"])
    assert (project / "imported-plain").exists()


def test_list_names_a_test_file_it_cannot_collect_and_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Without the warning, a student's syntax error would leave every part it tests with
    # "tests: (none)", and no word why.
    project = write_project(tmp_path)
    (project / "minilib/util.py").write_text("def broken(:\n    pass\n")
    (project / "tests/test_text.py").write_text("import minilib.util\n" + TEST_TEXT)
    assert homework.main(["list", "--source", str(project)], registry=PARTS_OF_FIXTURE) == 1
    out, err = capsys.readouterr()
    assert "tests/test_ops.py::test_counter" in out
    assert out.rstrip().endswith("3. shout  (docs/text.md)\n    write shout(s)\n"
                                 "    regions: minilib/text.py:8\n    tests:   (none)")
    assert err == ("warning: cannot collect tests/test_text.py: minilib/util.py:1: SyntaxError: "
                   "invalid syntax; its tests are not listed\n")


def test_list_shows_by_their_ids_the_cases_of_a_test_that_other_parts_share(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A test run for every layer, listed under each layer's part by its bare name, would run
    # every layer's case: a student who ran it would meet the stubs of parts not begun yet.
    project = write_project(tmp_path)
    (project / "tests/test_shared.py").write_text(textwrap.dedent('''\
        import pytest


        @pytest.mark.parametrize("n", [
            pytest.param(1, marks=pytest.mark.part("double")),
            pytest.param(2, marks=pytest.mark.part("double")),
            pytest.param(3, marks=pytest.mark.part("counter")),
            4,
        ])
        def test_shared(n):
            assert n


        @pytest.mark.parametrize("n", [
            pytest.param(1, marks=pytest.mark.part("shout")),
            pytest.param(2, marks=pytest.mark.part("shout")),
        ])
        def test_whole(n):
            assert n
        '''))
    assert homework.main(["list", "--source", str(project)], registry=PARTS_OF_FIXTURE) == 0
    listing = capsys.readouterr().out
    shared = "tests/test_shared.py::test_shared"
    assert f"{shared}[1]\n             {shared}[2]\n" in listing
    assert f"{shared}[3]\n" in listing
    assert f"{shared} (" not in listing and f"{shared}\n" not in listing
    # All of a test's cases one part's: its name runs just them.
    assert "tests/test_shared.py::test_whole (2 cases)\n" in listing
    assert "tests/test_ops.py::test_double_many (3 cases)\n" in listing


def test_list_in_a_copy_says_when_a_parts_stubs_are_all_written(
        reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Not "regions: (none)", as if the part's code were missing from the reference.
    export(tmp_path, source=reference, parts=["double", "shout"], registry=PARTS_OF_FIXTURE)
    text = tmp_path / "minilib/text.py"
    text.write_text(text.read_text().replace(
        '    raise NotImplementedError("shout: write shout(s); see docs/text.md")\n',
        '    return s.upper() + "!"\n'))
    assert homework.main(["list", "--source", str(tmp_path), "--no-tests"],
                         registry=PARTS_OF_FIXTURE) == 0
    listing = capsys.readouterr().out
    assert re.findall(r"^    (stubs|regions|not in)(.*)$", listing, re.M) == [
        ("stubs", ":   minilib/ops.py:6"), ("not in", " this copy's homework: its code is written"),
        ("stubs", ":   (none left)")]


def test_a_stub_quoted_in_a_docstring_or_a_string_is_not_a_stub(reference: Path,
                                                                 tmp_path: Path) -> None:
    # tinynet/homework.py's docstring shows a stub as an example, and tests hold stubs in
    # strings: taken for stubs, they would make `list` show a stub of relu at
    # tinynet/homework.py:14 in every copy, even a copy in which relu is not homework.
    export(tmp_path, source=reference, parts=["double"], registry=PARTS_OF_FIXTURE)
    quoted = textwrap.dedent('''\
        """An example of a stub::

            raise NotImplementedError("shout: capitals; see docs/text.md")
        """

        EXAMPLE = 'raise NotImplementedError("counter: add k; see docs/ops.md")'
        ''')
    (tmp_path / "minilib/notes.py").write_text(quoted)
    project = homework.scan_project(tmp_path, PARTS_OF_FIXTURE)
    assert project.stubs == {"double": [("minilib/ops.py", 6)]}


def test_the_stubs_of_a_project_with_regions_are_all_found(reference: Path,
                                                            tmp_path: Path) -> None:
    # A scan that kept the stubs in a variable each file with regions overwrites would
    # lose them.
    shutil.copytree(reference, tmp_path, dirs_exist_ok=True)
    (tmp_path / "minilib/extra.py").write_text(
        'def loud(s):\n    raise NotImplementedError("shout: capitals; see docs/text.md")\n')
    project = homework.scan_project(tmp_path, PARTS_OF_FIXTURE)
    assert project.stubs == {"shout": [("minilib/extra.py", 2)]}
    assert set(project.regions) == {"minilib/ops.py", "minilib/text.py"}


def test_grading_a_copy_grades_only_the_parts_its_export_stubbed(reference: Path,
                                                                 tmp_path: Path) -> None:
    # A copy of one assignment holds the solutions of the others: they are not the
    # student's work, and a student who did nothing must not score 2/3.
    export(tmp_path, source=reference, parts=["shout", "double"], registry=PARTS_OF_FIXTURE)
    report = grade(tmp_path, registry=PARTS_OF_FIXTURE)
    assert statuses(report) == {"shout": NOT_ATTEMPTED, "double": NOT_ATTEMPTED}
    assert report.score == 0.0
    assert homework.assigned_parts(reference, PARTS_OF_FIXTURE) is None  # no record: all


def test_a_copy_that_lost_its_record_is_graded_only_with_parts(reference: Path,
                                                               tmp_path: Path) -> None:
    # The record is a dotfile, easily left behind (cp -r copy/* dest): graded on every part,
    # a copy of one part, untouched, would score 2/3 for the solutions its export handed out.
    export(tmp_path, source=reference, parts=["double"], registry=PARTS_OF_FIXTURE)
    (tmp_path / homework.EXPORT_RECORD).unlink()
    with pytest.raises(HomeworkError) as raised:
        grade(tmp_path, registry=PARTS_OF_FIXTURE)
    assert str(raised.value) == (
        f"{tmp_path} has no .tinynet-homework.json but holds stubs of double: a student copy "
        "that lost its record? Without it every part would be graded, the parts its export "
        "left solved too; pass --parts to say which to grade")
    report = grade(tmp_path, registry=PARTS_OF_FIXTURE, parts=["double"])
    assert statuses(report) == {"double": NOT_ATTEMPTED}


@pytest.mark.parametrize("record, expected", [
    ({"written_by": "tinynet homework export", "version": 1, "parts": ["triple"]},
     r"lists part\(s\) triple, expected parts of this tinynet \(double, counter, shout\)"),
    ({"written_by": "someone", "parts": ["double"]}, "is not an export record"),
    ("{not json", "cannot be read"),
    ({"written_by": "tinynet homework export", "version": 1, "parts": ["double", 1]},
     '"parts" is not a list of part ids'),
], ids=["unknown part", "not an export's", "not JSON", "not ids"])
def test_a_record_that_cannot_say_what_to_grade_is_an_error_that_says_pass_parts(
        record: dict | str, expected: str, reference: Path, tmp_path: Path) -> None:
    shutil.copytree(reference, tmp_path, dirs_exist_ok=True)
    text = record if isinstance(record, str) else json.dumps(record)
    (tmp_path / homework.EXPORT_RECORD).write_text(text)
    with pytest.raises(HomeworkError, match=expected) as raised:
        grade(tmp_path, registry=PARTS_OF_FIXTURE)
    assert "pass --parts" in str(raised.value)


@pytest.mark.parametrize("action", ["export", "grade"])
def test_a_part_id_typo_names_the_argument_the_parts_and_a_close_match(
        action: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        homework.main([action, str(tmp_path), "--parts", "double", "dubble"],
                      registry=PARTS_OF_FIXTURE)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    # A close match, so no word of folders.
    assert err.rstrip().endswith("argument --parts: expected a part id, one of double, "
                                 "counter, shout; got 'dubble' (did you mean double?)"), err
    assert not any(tmp_path.iterdir())  # refused before anything was written


@pytest.mark.parametrize(("typed", "suggestion"), [
    ("dense", "(did you mean dense-forward or dense-backward?)"),
    ("sgd", "(did you mean sgd-momentum?)"),
    ("momentum", "(did you mean sgd-momentum?)"),
    ("relu,sigmoid", "(part ids are separated by spaces, not commas: relu sigmoid)"),
    # It would be taken for a folder: "a folder? --parts takes every word after it".
    ("RELU", "(part ids are in lower case: relu)"),
])
def test_a_part_id_of_tinynet_that_is_half_a_name_or_a_list_gets_a_suggestion(
        typed: str, suggestion: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Without a suggestion, a teacher typing "dense" or "sgd" would be told only that it is
    # no part id, and "relu,sigmoid" that it might be a folder.
    with pytest.raises(SystemExit):
        homework.main(["export", str(tmp_path / "copy"), "--parts", typed])
    err = capsys.readouterr().err
    assert err.rstrip().endswith(f"got {typed!r} {suggestion}"), err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("action", ["export", "grade"])
@pytest.mark.parametrize("name", ["path", "bare word"])
def test_a_folder_after_parts_is_refused_with_where_to_put_it(
        action: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # nargs="+" takes the folder given last as a part id: a message that only said it is not
    # one would leave a teacher who meant it as DEST unable to tell what is wrong. A bare
    # name (week3, a folder not made yet) is like no part id: it may be a folder too.
    monkeypatch.chdir(tmp_path)
    folder = str(tmp_path / "week3") if name == "path" else "week3"
    with pytest.raises(SystemExit):
        homework.main([action, "--parts", "double", folder], registry=PARTS_OF_FIXTURE)
    err = capsys.readouterr().err
    assert err.rstrip().endswith("; a folder? --parts takes every word after it: put the "
                                 "folder before --parts"), err
    assert not any(tmp_path.iterdir())


def test_a_word_after_parts_too_long_for_a_file_name_is_refused_as_no_part_id(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Asking the system whether it is a folder fails ("File name too long") inside argparse,
    # outside the command's own error handling: a traceback, unless the check copes.
    with pytest.raises(SystemExit):
        homework.main(["export", str(tmp_path / "copy"), "--parts", "a" * 300],
                      registry=PARTS_OF_FIXTURE)
    assert "argument --parts: expected a part id" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_add_parser_wires_the_homework_subcommand() -> None:
    parser = argparse.ArgumentParser(prog="tinynet")
    homework.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["homework", "grade", "submission", "--json", "--timeout", "60"])
    assert callable(args.run) and args.project == Path("submission") and args.json
    assert args.timeout == 60.0
    args = parser.parse_args(["homework", "export", "out", "--parts", "relu", "adam", "--force"])
    assert args.parts == ["relu", "adam"] and args.force and callable(args.run)
    args = parser.parse_args(["homework"])  # no action: its help (test_cli prints it)
    assert args.homework_action is None and not hasattr(args, "run")


@pytest.mark.parametrize("action", ["export", "grade"])
def test_a_repeated_parts_or_exclude_adds_to_the_values_before_it(action: str) -> None:
    # By argparse's default only the last --parts or --exclude counts: a teacher's second
    # --exclude would hand out what the first left out, a second --parts stub (or grade) one
    # part alone.
    parser = argparse.ArgumentParser(prog="tinynet")
    homework.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["homework", action, "out", "--parts", "relu", "--parts", "adam",
                              "sigmoid"])
    assert args.parts == ["relu", "adam", "sigmoid"]
    if action == "export":
        args = parser.parse_args(["homework", "export", "out", "--exclude", "hidden_tests",
                                  "--exclude", "notes", "solutions.md"])
        assert args.exclude == ["hidden_tests", "notes", "solutions.md"]


# ------------------------------------ details a small change to the tool would break unseen
def test_the_hint_lines_of_a_region_make_one_message() -> None:
    # A hint too long for one comment goes on several HINT lines: one sentence in the stub.
    # An empty HINT line (a paragraph break) adds nothing, not a double space.
    source = ("def f(x):\n    # BEGIN SOLUTION double\n    # HINT: multiply x\n    # HINT:\n"
              "    # HINT:   by two\n    return 2 * x\n    # END SOLUTION\n")
    regions = homework.parse_markers(source, "f.py", PARTS_OF_FIXTURE)
    student, _, _ = homework.stub_source(source, regions, {"double"}, PARTS_OF_FIXTURE)
    namespace: dict = {}
    exec(student, namespace)
    with pytest.raises(NotImplementedError) as raised:
        namespace["f"](1)
    assert str(raised.value) == "double: multiply x by two; see docs/ops.md"


def test_a_file_with_crlf_line_endings_keeps_them_in_its_stubs() -> None:
    # Stub lines that took "\n" whatever the file's endings would make a file of mixed
    # line endings.
    ops = OPS.replace("# HINT: multiply x by two", "# HINT: " + "multiply x by two, " * 8 + "ok")
    crlf = ops.replace("\n", "\r\n")
    regions = homework.parse_markers(crlf, "ops.py", PARTS_OF_FIXTURE)
    for stubbed in (set(PARTS_OF_FIXTURE), ()):
        student, _, _ = homework.stub_source(crlf, regions, stubbed, PARTS_OF_FIXTURE)
        assert student.count("\n") == student.count("\r\n") > 0
        lf, _, _ = homework.stub_source(ops, homework.parse_markers(ops, "ops.py",
                                                                     PARTS_OF_FIXTURE),
                                        stubbed, PARTS_OF_FIXTURE)
        assert student.replace("\r\n", "\n") == lf
        assert ("raise NotImplementedError(\r\n" in student) == bool(stubbed)  # split in lines


def test_a_stub_is_split_only_past_the_line_length_into_pieces_one_level_deeper() -> None:
    indent, part = "    ", PARTS_OF_FIXTURE["double"]
    frame = len(f'{indent}raise NotImplementedError("")')
    around = len(homework.stub_message(part, "x")) - 1  # the message without its hint
    fits = "x" * (homework.LINE_LENGTH - frame - around)
    (line,) = homework._stub_lines(homework.stub_message(part, fits), indent, "\n")
    assert len(line) == homework.LINE_LENGTH + 1  # with its newline
    lines = homework._stub_lines(homework.stub_message(part, fits + " y"), indent, "\n")
    assert lines[0] == f"{indent}raise NotImplementedError(\n" and lines[-1] == f"{indent})\n"
    for piece in lines[1:-1]:
        assert piece.startswith(indent + '    "') and len(piece) <= homework.LINE_LENGTH + 1


OPS_IN_BLOCKS = '''\
def double(x):
    if x is not None:
        # BEGIN SOLUTION double
        return 2 * x
        # END SOLUTION
    return None


class Counter:
    async def add(self, k):
        # BEGIN SOLUTION counter
        return k
        # END SOLUTION
'''


def test_a_region_in_a_block_or_an_async_function_is_exported(tmp_path: Path) -> None:
    # Regions inside an if (or with, for) block, or an async def, are inside a function body.
    project = write_project(tmp_path / "source", ops=OPS_IN_BLOCKS)
    export(tmp_path / "dest", source=project, registry=PARTS_OF_FIXTURE)
    namespace: dict = {}
    exec((tmp_path / "dest/minilib/ops.py").read_text(), namespace)
    with pytest.raises(NotImplementedError, match=r"^double: "):
        namespace["double"](1)
    assert namespace["double"](None) is None  # the stub stays inside the if block
    with pytest.raises(NotImplementedError, match=r"^counter: "):
        asyncio.run(namespace["Counter"]().add(1))


def test_force_replaces_a_link_put_where_an_exported_file_was(reference: Path,
                                                               tmp_path: Path) -> None:
    # The file is the export's to replace; the file the link points to is not.
    dest, elsewhere = tmp_path / "dest", tmp_path / "elsewhere.md"
    export(dest, source=reference, registry=PARTS_OF_FIXTURE)
    elsewhere.write_text("not the copy's\n")
    for name in ("docs/ops.md", "minilib/ops.py"):  # copied, and stubbed
        (dest / name).unlink()
        (dest / name).symlink_to(elsewhere)
    export(dest, source=reference, force=True, registry=PARTS_OF_FIXTURE)
    assert elsewhere.read_text() == "not the copy's\n"
    assert not (dest / "docs/ops.md").is_symlink() and not (dest / "minilib/ops.py").is_symlink()
    assert (dest / "docs/ops.md").read_text() == (reference / "docs/ops.md").read_text()
    assert "raise NotImplementedError" in (dest / "minilib/ops.py").read_text()


def test_force_refuses_to_put_a_file_where_a_folder_of_someone_else_is(reference: Path,
                                                                       tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    export(dest, source=reference, registry=PARTS_OF_FIXTURE, exclude=["README.md"])
    (dest / "README.md").mkdir()
    (dest / "README.md/mine.txt").write_text("mine\n")
    before = snapshot(dest)
    with pytest.raises(HomeworkError, match=r"README\.md is a folder, where the copy has a file"):
        export(dest, source=reference, force=True, registry=PARTS_OF_FIXTURE)
    assert snapshot(dest) == before


def test_force_deletes_no_stale_file_through_a_link(reference: Path, tmp_path: Path) -> None:
    # docs/ held exported files only; the student moved it elsewhere and left a link.
    dest, elsewhere = tmp_path / "dest", tmp_path / "elsewhere"
    export(dest, source=reference, registry=PARTS_OF_FIXTURE)
    shutil.move(dest / "docs", elsewhere)
    (dest / "docs").symlink_to(elsewhere, target_is_directory=True)
    export(dest, source=reference, force=True, registry=PARTS_OF_FIXTURE, exclude=["docs"])
    assert sorted(p.name for p in elsewhere.iterdir()) == ["ops.md", "text.md"]
    assert "docs/ops.md" not in read_record(dest)["files"]


def test_a_failure_is_graded_by_its_call_and_the_rest_run_whatever_the_addopts(
        tmp_path: Path) -> None:
    # The project's addopts stop at the first failure (-x): the grader must run every test.
    # The failing test's teardown fails too: its call's error is the one that says why.
    # A test marked with a part the registry lacks is run with no part, and named.
    project = write_project(tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(PYPROJECT.replace('"--strict-markers"', '"--strict-markers -x"'))
    (project / "tests/test_a_first.py").write_text(textwrap.dedent('''\
        import pytest


        @pytest.fixture
        def breaks_on_teardown():
            yield
            raise RuntimeError("the teardown broke")


        @pytest.mark.part("counter")
        def test_counter_fails(breaks_on_teardown):
            assert False, "the call's error"


        @pytest.mark.part("triple")
        def test_a_part_of_another_course():
            pass
        '''))
    report = grade(project, registry=PARTS_OF_FIXTURE, parts=["counter", "double", "shout"])
    assert statuses(report) == {"counter": FAILED, "double": PASSED, "shout": PASSED}
    assert abs(report.score - 2 / 3) < 1e-3
    assert report.results["counter"].message == (
        "tests/test_a_first.py::test_counter_fails: AssertionError: the call's error")
    assert report.unknown_parts == ["triple"]


def test_a_part_whose_tests_are_all_missing_fails_alone(reference: Path) -> None:
    # Graded alone, it selects no test: pytest exits with 5, which is no error of the run.
    registry = {**PARTS_OF_FIXTURE, "triple": Part("triple", "docs/ops.md", "write triple", 4)}
    report = grade(reference, registry=registry, parts=["triple"])
    assert {p: (r.status, r.message) for p, r in report.results.items()} == {
        "triple": (FAILED, 'no test is marked part("triple")')}


def test_a_copy_whose_export_stubbed_nothing_is_graded_on_every_part(reference: Path,
                                                                     tmp_path: Path) -> None:
    export(tmp_path, source=reference, parts=[], registry=PARTS_OF_FIXTURE)
    assert read_record(tmp_path)["parts"] == []
    report = grade(tmp_path, registry=PARTS_OF_FIXTURE)
    assert statuses(report) == {p: PASSED for p in PARTS_OF_FIXTURE} and report.passed


def test_a_part_not_attempted_says_the_stub_of_its_first_test() -> None:
    outcome = homework._TestOutcome
    collected = {"t.py::a": ["counter"], "t.py::b": ["counter"]}
    outcomes = {
        "t.py::a": outcome(FAILED, "x", ("counter", "counter: add k; see docs/ops.md"), True),
        "t.py::b": outcome(FAILED, "x", ("double", "double: twice x; see docs/ops.md"), True),
    }
    results = homework._summarise(["counter"], collected, outcomes, {}, {}, PARTS_OF_FIXTURE)
    assert (results["counter"].status, results["counter"].message) == (
        NOT_ATTEMPTED, "counter: add k; see docs/ops.md")


def test_a_stub_is_found_behind_the_error_it_caused_and_in_a_group() -> None:
    # A test that catches the stub's error and fails with its own (in the except block) is
    # not attempted, like one that fails on the stub; so is a group holding a stub.
    stub = "double: multiply x by two; see docs/ops.md"
    try:
        try:
            raise NotImplementedError(stub)
        except NotImplementedError:
            # The stub is only the __context__ of this error, not its __cause__.
            raise AssertionError("double(3) should be 6")  # noqa: B904
    except AssertionError as error:
        assert homework._find_stub(error) == ("double", stub)
    try:
        group = ExceptionGroup  # type: ignore[name-defined]
    except NameError:  # Python 3.10: pytest's backport
        from exceptiongroup import ExceptionGroup as group
    found = group("Hypothesis found 2 distinct failures.",
                  [ValueError("add(-1) went below zero"), NotImplementedError(stub)])
    assert homework._find_stub(found) == ("double", stub)
    # Of two stubs in a group, the first failure's, not the last: as for failures, the first
    # is named.
    found = group("Hypothesis found 2 distinct failures.",
                  [NotImplementedError(stub), NotImplementedError("shout: caps; see docs/text.md")])
    assert homework._find_stub(found) == ("double", stub)


def test_a_stub_line_keeps_its_last_see_when_the_hint_says_see_too() -> None:
    # The page is what follows the last "; see ": a hint may say "see" too.
    message = "relu: keep x; see forward; " + "y" * 80 + "; see docs/activations.md#relu"
    line = homework._stub_line(message, limit=60)
    assert len(line) == 60 and line.endswith("...; see docs/activations.md#relu"), line


def test_only_a_not_implemented_error_in_a_stubs_exact_form_is_a_stub() -> None:
    # Else a test's own message, or a library's "not supported" error, would make a part
    # "not attempted" instead of failed.
    assert homework._find_stub(AssertionError("double: should be 6; see docs/ops.md")) is None
    assert homework._find_stub(NotImplementedError(
        "conv2d: groups are not supported; see the paper for why")) is None


def test_a_group_is_summed_up_and_placed_by_its_first_leaf_without_its_notes(
        tmp_path: Path) -> None:
    def raised(path: Path, message: str) -> BaseException:
        namespace: dict = {}
        exec(compile("def f(m):\n    raise AssertionError(m)\n", str(path), "exec"), namespace)
        try:
            namespace["f"](message)
        except AssertionError as e:
            return e
        raise AssertionError("f did not raise")

    try:
        group = ExceptionGroup  # type: ignore[name-defined]
    except NameError:  # Python 3.10: pytest's backport
        from exceptiongroup import ExceptionGroup as group
    first = raised(tmp_path / "minilib/a.py", "\nArrays are not equal")
    first.__notes__ = ["Falsifying example: test_x(n=0)"]  # hypothesis's, left out
    found = group("outer", [group("middle", [group("inner", [first])]),
                            raised(tmp_path / "minilib/b.py", "second")])
    assert homework._error_line(found, "") == (
        "first of 2 failures: AssertionError: Arrays are not equal")
    assert homework._error_place(found, "tests/test_x.py", tmp_path) == "minilib/a.py:2: "


def test_a_place_is_a_file_of_the_project_never_an_environments_or_a_generated_one(
        tmp_path: Path) -> None:
    assert homework._project_path("minilib/ops.py", tmp_path) == "minilib/ops.py"
    for outside in ("<string>", "<frozen importlib._bootstrap>", "build/lib/minilib/ops.py",
                    "env/lib/python3.11/site-packages/numpy/core.py", "/usr/lib/python3/x.py"):
        assert homework._project_path(outside, tmp_path) is None, outside


def test_a_part_is_read_from_its_marks_args_and_keyword_once() -> None:
    class Item:
        def iter_markers(self, name: str) -> list:
            return [getattr(pytest.mark, name)(*args, **kwargs).mark for args, kwargs in
                    [(("double",), {}), ((), {"id": "counter"}), (("double",), {})]]

    assert homework._marked_parts(Item()) == ["double", "counter"]


def test_an_exit_status_is_a_signal_only_when_negative() -> None:
    # A test's os._exit(0) ends pytest with status 0: no signal 0 killed it.
    assert homework._exit_status(0) == "exit status 0"
    assert homework._exit_status(3) == "exit status 3"
    assert homework._exit_status(-11) == "killed by SIGSEGV"


def test_a_windows_fault_status_is_named() -> None:
    # Windows ends a faulting process with an NTSTATUS code as its exit status, where POSIX
    # sends a signal: "exit status 3221225477" would name nothing.
    assert homework._exit_status(3221225477) == ("ended by STATUS_ACCESS_VIOLATION "
                                                 "(0xC0000005)")
    assert homework._exit_status(0xC00000FD) == "ended by STATUS_STACK_OVERFLOW (0xC00000FD)"
    assert homework._exit_status(0xC0000017) == ("ended by a Windows error status "
                                                 "(0xC0000017)")
    # The first NTSTATUS error; a POSIX exit status is below 256.
    assert homework._exit_status(0xC0000000) == ("ended by a Windows error status "
                                                 "(0xC0000000)")
    assert homework._exit_status(255) == "exit status 255"


def test_a_tests_outcome_is_its_first_failure_and_it_is_complete_after_its_teardown() -> None:
    def report(when: str, outcome: str, message: str = "") -> dict:
        return {"event": "report", "nodeid": "t.py::a", "when": when, "outcome": outcome,
                "message": message, "stub": None}

    start = {"event": "start", "nodeid": "t.py::a"}
    t = homework._outcomes([start, report("setup", "passed"), report("call", "failed", "boom"),
                            report("teardown", "skipped", "skipped: later")])["t.py::a"]
    assert (t.outcome, t.message, t.complete) == (FAILED, "boom", True)
    # Cut short in its teardown: a timeout or a crash there is this test's doing.
    t = homework._outcomes([start, report("setup", "passed"), report("call", "passed")])["t.py::a"]
    assert (t.outcome, t.complete) == (PASSED, False)


def test_a_blocked_part_names_the_stub_its_first_blocked_test_met() -> None:
    outcome = homework._TestOutcome
    double = ("double", "double: twice x; see docs/ops.md")
    shout = ("shout", "shout: capitals; see docs/text.md")
    collected = {"t.py::a": ["counter"], "t.py::b": ["counter"], "t.py::c": ["counter"]}
    outcomes = {"t.py::a": outcome(FAILED, "x", double, True),
                "t.py::b": outcome(FAILED, "x", shout, True),
                "t.py::c": outcome(FAILED, "AssertionError", None, True)}
    results = homework._summarise(["counter"], collected, outcomes, {}, {}, PARTS_OF_FIXTURE)
    assert results["counter"].message == (
        "t.py::c: AssertionError (other tests need part double first)")
    del outcomes["t.py::c"], collected["t.py::c"]
    results = homework._summarise(["counter"], collected, outcomes, {}, {}, PARTS_OF_FIXTURE)
    assert results["counter"].message == f"needs part double first: {double[1]}"
    # Of two stubs of its own (two regions), the first met.
    collected.update({"t.py::d": ["counter"], "t.py::e": ["counter"]})
    outcomes["t.py::d"] = outcome(FAILED, "x", ("counter", "counter: add; see docs/ops.md"), True)
    outcomes["t.py::e"] = outcome(FAILED, "x", ("counter", "counter: reset; see x.md"), True)
    results = homework._summarise(["counter"], collected, outcomes, {}, {}, PARTS_OF_FIXTURE)
    assert results["counter"].message == "counter: add; see docs/ops.md"


def test_skips_fixtures_collection_and_tests_of_two_parts_are_graded(reference: Path,
                                                                   tmp_path: Path) -> None:
    # A skipped test does not pass its part, and says why; a stub met in a fixture, or while
    # a test module is imported, blocks a part (with no stub of its own, it is written) as
    # one met in a test's call does; a test marked with two parts runs when either is
    # graded; part(id=...) marks as part(...) does.
    extra = ["skipper", "fixture", "module", "pair"]
    registry = {**PARTS_OF_FIXTURE, **{pid: Part(pid, "docs/ops.md", f"write {pid}", 4 + i)
                                       for i, pid in enumerate(extra)}}
    export(tmp_path, source=reference, parts=["double"], registry=registry)
    (tmp_path / "tests/test_extra.py").write_text(textwrap.dedent('''\
        import pytest

        from minilib.ops import double


        @pytest.fixture
        def four():
            return double(2)


        @pytest.mark.part("skipper")
        def test_skips():
            pytest.skip("not written yet")


        @pytest.mark.part("fixture")
        def test_uses_a_fixture(four):
            assert four == 4


        @pytest.mark.part("double")
        @pytest.mark.part("pair")
        def test_pair():
            pass
        '''))
    (tmp_path / "tests/test_module.py").write_text(textwrap.dedent('''\
        import pytest

        from minilib.ops import double

        FOUR = double(2)


        @pytest.mark.part(id="module")
        def test_four():
            assert FOUR == 4
        '''))
    report = grade(tmp_path, registry=registry, parts=extra)
    needs = "needs part double first: double: multiply x by two; see docs/ops.md"
    assert {p: (r.status, r.message) for p, r in report.results.items()} == {
        "skipper": (FAILED,
                    "tests/test_extra.py::test_skips: skipped: not written yet"),
        "fixture": (BLOCKED, needs), "module": (BLOCKED, needs),
        "pair": (PASSED, "")}


def test_a_part_is_blocked_only_when_no_stub_of_it_is_left_in_the_source(
        reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Every test below stops at double's stub first. quadruple is written; halve is not;
    # pair has two stubs (two regions) and one is written, so it is not written yet.
    registry = {**PARTS_OF_FIXTURE, **{pid: Part(pid, "docs/ops.md", f"write {pid}", 4 + i)
                                       for i, pid in enumerate(["quadruple", "halve", "pair"])}}
    export(tmp_path, source=reference, parts=["double"], registry=registry)
    (tmp_path / "minilib/more.py").write_text(textwrap.dedent('''\
        from minilib.ops import double


        def quadruple(x):
            return double(double(x))


        def halve(x):
            raise NotImplementedError("halve: divide x by two; see docs/ops.md")


        class Pair:
            def first(self):
                return 1

            def second(self):
                raise NotImplementedError("pair: return two; see docs/ops.md")
        '''))
    (tmp_path / "tests/test_more.py").write_text(textwrap.dedent('''\
        import pytest

        from minilib.more import Pair, halve, quadruple
        from minilib.ops import double


        @pytest.mark.part("quadruple")
        def test_quadruple():
            assert quadruple(1) == 4


        @pytest.mark.part("halve")
        def test_halve():
            assert halve(double(1)) == 1


        @pytest.mark.part("pair")
        def test_pair():
            assert double(Pair().first()) == 2
            assert Pair().second() == 2
        '''))
    assert homework.main(["grade", str(tmp_path), "--json", "--parts", "quadruple", "halve",
                          "pair"], registry=registry) == 1
    needs = "needs part double first: double: multiply x by two; see docs/ops.md"
    # Blocked scores nothing, but says what the written part waits for.
    assert json.loads(capsys.readouterr().out) == {
        "parts": {"quadruple": BLOCKED, "halve": NOT_ATTEMPTED, "pair": NOT_ATTEMPTED},
        "score": 0.0, "messages": {"quadruple": needs, "halve": needs, "pair": needs},
        "after": {}}


def test_a_report_of_no_parts_neither_passes_nor_scores() -> None:
    report = homework.GradeReport({})
    assert (report.score, report.passed) == (0.0, False)


def test_the_table_lines_up_its_columns_and_counts_only_the_parts_passed() -> None:
    report = homework.GradeReport({
        "mse": homework.PartResult("mse", PASSED),
        "relu": homework.PartResult("relu", NOT_ATTEMPTED, "relu: write it; see docs/a.md"),
        "adam": homework.PartResult("adam", FAILED, "t.py::a: boom"),
    })
    assert report.table() == textwrap.dedent("""\
        part  status         message
        mse   passed
        relu  not attempted  relu: write it; see docs/a.md
        adam  failed         t.py::a: boom
        score: 1/3 parts passed (0.33)""")
    # Part ids shorter than the header's "part" line up under it too.
    short = homework.GradeReport({"mse": homework.PartResult("mse", PASSED)})
    assert short.table().splitlines()[:2] == ["part  status         message", "mse   passed"]


def test_the_table_cuts_a_long_failure_keeping_what_else_failed() -> None:
    # Run through the stub's cut, which keeps "; see <page>", a failure without one would
    # come out as "..." and the whole message, and the note on an earlier part, at its end,
    # would be the first thing cut.
    outcome = homework._TestOutcome
    long = "AssertionError: Not equal; " + "x" * 400
    collected = {"t.py::a": ["double"], "t.py::b[0]": ["shout"], "t.py::b[1]": ["shout"],
                 "t.py::c": ["shout"]}
    outcomes = {"t.py::a": outcome(FAILED, "boom", None, True),
                "t.py::b[0]": outcome(FAILED, long, None, True),
                "t.py::b[1]": outcome(FAILED, "again", None, True),
                "t.py::c": outcome(FAILED, "tie", None, True)}
    results = homework._summarise(["double", "shout"], collected, outcomes, {}, {}, [])
    note = (" (part double, before it, failed too: fix it first, as these tests may use it) "
            "(also failed: c)")
    assert results["shout"].message == "t.py::b[0]: " + long + note  # --json: all of it
    row = homework.GradeReport(results).table().splitlines()[2]
    message = row.split(FAILED, 1)[1].strip()
    assert message.startswith("t.py::b[0]: AssertionError: Not equal; xxx"), message
    assert message.endswith("x..." + note) and len(message) == homework.MESSAGE_LIMIT, message
    # A note too long names fewer of the other tests, each whole, never cut mid-name ("c,
    # t.py::test_0_nn..." ran no test): here only the first fits beside the error.
    long_names = {f"t.py::test_{i}_{'n' * 80}": ["shout"] for i in range(3)}
    outcomes.update({n: outcome(FAILED, "x", None, True) for n in long_names})
    collected.update(long_names)

    def table_message(parts: list[str]) -> str:
        results = homework._summarise(parts, collected, outcomes, {}, {}, [])
        row = homework.GradeReport(results).table().splitlines()[len(parts)]
        return row.split(FAILED, 1)[1].strip()

    message = table_message(["shout"])
    assert message.endswith("x... (also failed: c and 3 more)"), message
    assert len(message) == homework.MESSAGE_LIMIT, message
    # The error keeps 200 characters: were a long test id to leave it 100, the student would
    # see "tests/test_layers.py::...: tinynet/layers/base.py:245: Na...", not the NameError.
    assert message.startswith("t.py::b[0]: AssertionError: Not equal; " + "x" * 158)
    # Beside the note on an earlier part, not even one name fits: the note says how many,
    # and the error gives way to keep the note whole.
    message = table_message(["double", "shout"])
    assert message.endswith("x... (part double, before it, failed too: fix it first, as these "
                            "tests may use it) (also failed: 4 other tests)"), message
    assert len(message) == homework.MESSAGE_LIMIT, message
    assert message.startswith("t.py::b[0]: AssertionError: Not equal; " + "x" * 140)
    assert homework._also_failed(["t.py::a"], 0) == " (also failed: 1 other test)"
    # A message with no page to keep is cut at its end too, not replaced by "...".
    assert homework._stub_line("t: " + "a" * 400, limit=60) == "t: " + "a" * 54 + "..."
    # The page is kept only while it takes at most half the line: a hint of 6 characters
    # beside a long page's name says nothing.
    assert homework._stub_line("t: " + "a" * 400 + "; see d.md", limit=60) == (
        "t: " + "a" * 44 + "...; see d.md")
    assert homework._stub_line("t: " + "a" * 400 + "; see " + "p" * 40, limit=60) == (
        "t: " + "a" * 54 + "...")


def test_a_failed_part_names_its_other_failed_tests_once_each_up_to_three() -> None:
    outcome = homework._TestOutcome
    names = ["t.py::first", "t.py::first[1]", "t.py::b[0]", "t.py::b[1]", "u.py::c", "t.py::d",
             "t.py::e"]
    collected = {n: ["double"] for n in names}
    outcomes = {n: outcome(FAILED, "no", None, True) for n in names}
    outcomes["t.py::d"] = outcome(PASSED, "", None, True)
    result = homework._summarise(["double"], collected, outcomes, {}, {}, [])["double"]
    assert result.message == "t.py::first: no (also failed: b[0], u.py::c, e)"
    outcomes["t.py::d"] = outcome(FAILED, "no", None, True)
    result = homework._summarise(["double"], collected, outcomes, {}, {}, [])["double"]
    assert result.message == "t.py::first: no (also failed: b[0], u.py::c, d and 1 more)"
    # Named with the parameters of their first failed case, which may hold "::" too (the
    # name alone runs every case); with a class; with their file when it is another; a
    # skipped test said to be one.
    names = ["t.py::TestA::test_y", "t.py::TestB::test_y[a::b]", "t.py::test_p[x::y]",
             "u.py::TestA::test_y", "t.py::s"]
    collected = {n: ["double"] for n in names}
    outcomes = {n: outcome(FAILED, "no", None, True) for n in names}
    outcomes["t.py::s"] = outcome("skipped", "skipped: why", None, True)
    result = homework._summarise(["double"], collected, outcomes, {}, {}, [])["double"]
    assert result.message == ("t.py::TestA::test_y: no (also failed: TestB::test_y[a::b], "
                              "test_p[x::y], u.py::TestA::test_y and 1 more)")
    del collected["u.py::TestA::test_y"]
    result = homework._summarise(["double"], collected, outcomes, {}, {}, [])["double"]
    assert result.message.endswith("(also failed: TestB::test_y[a::b], test_p[x::y], "
                                   "s (skipped))")


def test_grade_help_names_every_status(capsys: pytest.CaptureFixture[str]) -> None:
    # A status added to the grade, as "blocked" is, could be left out of the help that says
    # what a grade reads.
    with pytest.raises(SystemExit):
        homework.main(["grade", "--help"], registry=PARTS_OF_FIXTURE)
    text = " ".join(capsys.readouterr().out.split())
    for status in (PASSED, FAILED, NOT_ATTEMPTED, BLOCKED):
        assert status in text, status
    # And every key --json prints: a key added to the output could be left out of the help.
    for key in homework.GradeReport({}).to_json():
        assert f'"{key}"' in text, key


def test_the_table_counts_the_parts_blocked_after_the_score() -> None:
    # They score nothing, but were written: a teacher who gives partial credit sees them.
    needs = "needs part gradcheck first: gradcheck: write it; see docs/g.md"
    report = homework.GradeReport({
        "mse": homework.PartResult("mse", PASSED),
        "relu": homework.PartResult("relu", BLOCKED, needs),
        "adam": homework.PartResult("adam", NOT_ATTEMPTED, needs),
    })
    assert report.table() == textwrap.dedent(f"""\
        part  status         message
        mse   passed
        relu  blocked        {needs}
        adam  not attempted  {needs}
        score: 1/3 parts passed (0.33), 1 blocked (written, waiting for an earlier part)""")


def test_the_command_fails_in_one_line_on_an_os_error_and_with_130_on_ctrl_c(
        reference: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    afile = tmp_path / "afile"
    afile.write_text("")
    assert homework.main(["export", str(afile / "copy"), "--source", str(reference)],
                         registry=PARTS_OF_FIXTURE) == 1
    err = capsys.readouterr().err
    assert err.startswith("tinynet homework: error: ") and err.count("\n") == 1, err

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(homework, "export", interrupted)
    assert homework.main(["export", str(tmp_path / "copy"), "--source", str(reference)],
                         registry=PARTS_OF_FIXTURE) == 130
    assert capsys.readouterr().err == "tinynet homework: interrupted\n"

    # The system's error as `tinynet homework` words it, "FILE: reason", not Python's
    # "[Errno 28] No space left on device: 'FILE'".
    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "copy/minilib/ops.py")

    monkeypatch.setattr(homework, "export", disk_full)
    assert homework.main(["export", str(tmp_path / "copy"), "--source", str(reference)],
                         registry=PARTS_OF_FIXTURE) == 1
    assert capsys.readouterr().err == (
        "tinynet homework: error: copy/minilib/ops.py: no space left on device\n")


@pytest.mark.parametrize("via", ["tinynet homework", "tinynet"])
def test_grade_and_list_exit_with_2_when_they_cannot_run_and_1_for_a_result(
        via: str, reference: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Were both 1, as for a part that did not pass, a script grading a class could not tell
    # a copy graded 0 from one it could not grade.
    def run(*argv: str) -> int:
        if via == "tinynet":
            return cli_main(["homework", *argv])
        return homework.main(list(argv), registry=PARTS_OF_FIXTURE)

    missing = tmp_path / "missing"
    for argv in (["grade", str(missing)], ["list", "--source", str(missing)]):
        assert run(*argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error: " in err and str(missing) in err, err
    assert run("export", str(tmp_path / "afile" / "copy"), "--source", str(missing)) == 1
    assert "error: " in capsys.readouterr().err
    if via == "tinynet homework":  # the fixture's parts: the reference grades, a copy fails
        assert run("grade", str(reference)) == 0
        export(tmp_path / "copy", source=reference, registry=PARTS_OF_FIXTURE)
        assert run("grade", str(tmp_path / "copy")) == 1


def test_grade_and_list_without_pytest_say_so_in_one_line(
        reference: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # `pip install -e .` has no pytest: unchecked, the grading subprocess would end on a
    # traceback, printed by list and grade as "pytest could not run", traceback and all.
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "pytest" else find_spec(name, *args))
    for argv in (["grade", str(reference)], ["list", "--source", str(reference)]):
        assert homework.main(argv, registry=PARTS_OF_FIXTURE) == 2, argv
        assert capsys.readouterr().err == (
            f"tinynet homework: error: the tests run with pytest, which {sys.executable} cannot "
            'import: install the development extras, pip install -e ".[dev]" in the project\'s '
            "folder (or, for an installed tinynet, pip install pytest pytest-xdist "
            "hypothesis)\n")
    # The parts alone need no tests run, so no pytest.
    assert homework.main(["list", "--no-tests", "--source", str(reference)],
                         registry=PARTS_OF_FIXTURE) == 0


def test_list_loads_every_conftest_and_names_the_parts_it_does_not_know(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A conftest.py never names part, but registers a marker that --strict-markers needs:
    # skipped, the test file using that marker could not be collected.
    project = write_project(tmp_path)
    (project / "tests/conftest.py").write_text(
        "def pytest_configure(config):\n"
        "    config.addinivalue_line('markers', 'slow: takes long')\n")
    (project / "tests/test_slow.py").write_text(textwrap.dedent('''\
        import pytest


        @pytest.mark.slow
        @pytest.mark.part("double")
        def test_double_slowly():
            pass


        @pytest.mark.part("triple")
        def test_of_another_course():
            pass
        '''))
    assert homework.main(["list", "--source", str(project)], registry=PARTS_OF_FIXTURE) == 0
    out, err = capsys.readouterr()
    assert "tests/test_slow.py::test_double_slowly" in out
    assert err == "tests marked with unknown parts: triple\n"


def test_list_refuses_a_collection_that_runs_out_of_time(tmp_path: Path) -> None:
    # Cut short, it would list the tests collected so far as if they were all.
    project = write_project(tmp_path)
    (project / "tests/test_zzz_slow_import.py").write_text(
        "import time\n\nimport pytest\n\ntime.sleep(60)\n\n\n"
        "@pytest.mark.part('shout')\ndef test_late():\n    pass\n")
    with pytest.raises(HomeworkError, match="took over 1 s"):
        homework.collect_tests(project, timeout=1)
    # Grading it is no grade either (exit status 2): every part "timed out" would read
    # as zeros.
    with pytest.raises(HomeworkError, match=r"^collecting the tests of .* took over 1 s "
                                            r"\(--timeout\), so no test ran"):
        grade(project, registry=PARTS_OF_FIXTURE, timeout=1)


def test_grading_a_package_that_imports_too_slowly_is_no_grade(tmp_path: Path) -> None:
    # A --timeout shorter than the import (or an endless loop in it) would otherwise fail
    # every part, a grade of 0 that a script grading a class could not tell from a student's.
    project = write_project(tmp_path)
    # What the package writes to stderr first comes before faulthandler's "Timeout".
    (project / "minilib/slow.py").write_text(
        "import sys\nimport time\nprint('loading', file=sys.stderr)\ntime.sleep(60)\n")
    init = project / "minilib/__init__.py"
    init.write_text(init.read_text() + "\nfrom minilib import slow  # noqa: F401\n")
    with pytest.raises(HomeworkError, match=r"^importing minilib took over 1 s \(--timeout\) "
                                            r"at minilib/slow.py:4, so no test ran: give a "
                                            r"longer --timeout"):
        grade(project, registry=PARTS_OF_FIXTURE, timeout=1)


def test_the_time_limit_is_that_of_one_test_not_of_the_whole_run(tmp_path: Path) -> None:
    # Were --timeout the limit of the whole pytest run, a teacher's 10 s, meant for endless
    # loops, would fail a correct copy whose many quick tests take longer in all.
    ticks = tmp_path / "events"

    def wait(script: str) -> bool:
        proc = subprocess.Popen([sys.executable, "-c", script, str(ticks)])
        try:
            # 2.5 s: far above the 0.4 s between events, and above a child Python's start
            # on a busy machine (the first event comes only then).
            return homework._wait_while_events_come(proc, ticks, timeout=2.5)
        finally:
            proc.kill()
            proc.wait()

    # An event every 0.4 s for 3.6 s in all, longer than the limit: it runs to its end.
    assert not wait("import sys, time\nfor _ in range(9):\n"
                    "    open(sys.argv[1], 'a').write('x')\n    time.sleep(0.4)\n")
    ticks.unlink()
    # One event, then nothing for longer than the limit: stopped.
    start = time.monotonic()
    assert wait("import sys, time\nopen(sys.argv[1], 'a').write('x')\ntime.sleep(60)\n")
    assert time.monotonic() - start < 30


@pytest.mark.parametrize("main, record, warned", [
    ("tinynet.__main__", True, True),    # python -m tinynet in a student's copy
    ("tinynet.homework", True, True),    # python -m tinynet.homework there
    (None, True, False),                 # the copy's own .venv/bin/tinynet
    ("tinynet.__main__", False, False),  # python -m in the reference: no record
])
def test_only_python_m_in_a_student_copy_is_said_to_grade_with_the_copys_grader(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main: str | None, record: bool,
        warned: bool) -> None:
    # Whichever folder it grades: in a copy, `python -m tinynet homework grade ../bob`
    # grades bob with this copy's grader.
    copy = tmp_path / "copy"
    (copy / "tinynet").mkdir(parents=True)
    if record:
        (copy / homework.EXPORT_RECORD).write_text("{}")
    monkeypatch.setattr(homework, "__file__", str(copy / "tinynet" / "homework.py"))
    spec = argparse.Namespace(name=main) if main else None
    monkeypatch.setitem(sys.modules, "__main__", argparse.Namespace(__spec__=spec))
    assert homework._copy_grading_itself() == (copy.resolve() if warned else None)


def test_a_stub_after_the_students_return_is_dead_and_no_other_is() -> None:
    text = textwrap.dedent("""
        def alone(x):
            raise NotImplementedError("double: hint; see docs/ops.md")

        def written_above(x):
            if x:
                y = 2 * x
            return y
            raise NotImplementedError("double: hint; see docs/ops.md")

        def guarded(x):
            if not x:
                return x
            raise NotImplementedError("double: hint; see docs/ops.md")

        def two_regions(x):
            raise NotImplementedError("double: first; see docs/ops.md")
            y = x + 1
            raise NotImplementedError("double: second; see docs/ops.md")
            return y

        def not_a_stub(x):
            return x
            raise NotImplementedError("not written for ints")
    """)
    # Only the stub behind the student's return: a stub after another stub (two regions in
    # one function, the export's code after each) still runs once the first is written.
    found: dict[str, list[tuple[str, int]]] = {}
    homework._find_stubs(text, "f.py", PARTS_OF_FIXTURE, found)
    assert found == {"double": [("f.py", 3), ("f.py", 14), ("f.py", 17), ("f.py", 19)]}
    broken: dict[str, list[tuple[str, int]]] = {}
    homework._find_stubs(text + "def broken(:\n", "f.py", PARTS_OF_FIXTURE, broken)
    assert broken == {}  # grading says why


def test_a_part_written_above_its_stub_after_a_return_counts_as_written(
        reference: Path, tmp_path: Path) -> None:
    dest = tmp_path / "copy"
    export(dest, source=reference, registry=PARTS_OF_FIXTURE, parts=["double", "counter"])
    ops = dest / "minilib/ops.py"
    stubbed = ops.read_text()
    double_stub = '    raise NotImplementedError("double: multiply x by two; see docs/ops.md")\n'
    assert double_stub in stubbed
    # Written above it, after a return: the stub never runs, so the part is written; its
    # tests pass, and list shows no stub of it.
    ops.write_text(stubbed.replace(double_stub, "    return 2 * x\n" + double_stub))
    assert homework.grade(dest, registry=PARTS_OF_FIXTURE, parts=["double"]).passed
    assert "double" not in homework.scan_project(dest, PARTS_OF_FIXTURE).stubs
    # Counter written above its two stubs while double is not written: a test of counter
    # that needs double stops at double's stub, so counter is blocked, not "not attempted".
    text = stubbed
    for name, code in [("add", "self.n += k\n        return self.n"),
                       ("reset", "self.n = 0\n        return")]:
        text = text.replace(f"def {name}(self{', k' if name == 'add' else ''}):\n",
                            f"def {name}(self{', k' if name == 'add' else ''}):\n        {code}\n")
    ops.write_text(text)
    (dest / "tests/test_chain.py").write_text(
        "import pytest\n\nfrom minilib.ops import Counter, double\n\n\n"
        "@pytest.mark.part('counter')\ndef test_chain():\n"
        "    assert Counter().add(double(1)) == 2\n")
    result = homework.grade(dest, registry=PARTS_OF_FIXTURE,
                            parts=["counter"]).results["counter"]
    assert result.status == BLOCKED, result.message


def test_a_test_file_that_cannot_be_collected_is_not_said_to_fail_through_an_earlier_part(
        ) -> None:
    # One broken test file fails every part it tests, for the same reason, which is no part's
    # code: "part double, before it, failed too: fix it first" would send the student to
    # look for a bug in double.
    outcome = homework._TestOutcome
    broken = {"nodeid": "tests/test_ops.py", "message": "tests/test_ops.py:12: SyntaxError",
              "stub": None}
    collected = {"tests/test_text.py::test_shout": ["shout"]}
    outcomes = {"tests/test_text.py::test_shout": outcome(FAILED, "AssertionError", None, True)}
    results = homework._summarise(["double", "counter", "shout"], collected, outcomes,
                                  {"double": [broken], "counter": [broken]}, {}, [])
    assert [results[p].status for p in results] == [FAILED] * 3
    assert results["counter"].message == ("tests/test_ops.py: cannot collect: "
                                          "tests/test_ops.py:12: SyntaxError")
    assert [results[p].after for p in results] == ["", "", ""]
    # A part whose own test failed still comes after an earlier part that failed its own.
    collected = {"tests/test_a.py::test_double": ["double"],
                 "tests/test_text.py::test_shout": ["counter"]}
    outcomes = {n: outcome(FAILED, "AssertionError", None, True) for n in collected}
    results = homework._summarise(["double", "counter"], collected, outcomes,
                                  {"counter": [broken]}, {}, [])
    assert results["counter"].after == "double"
