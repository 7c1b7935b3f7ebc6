"""The homework round trip on tinynet's own sources.

Every registered part has solution regions, a docs page and tests; a student copy of tinynet
imports and shows no marker; the reference passes every part and a fresh copy none; the
suggested order is one a student can follow. The homework tool itself is tested on a small
generated project in tests/test_homework.py.

This file checks the markers, so ``tinynet homework export`` leaves it out of student copies,
as it leaves out tests/test_homework.py.
"""

from __future__ import annotations

import json
import os
import pkgutil
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

import tinynet
from tinynet.homework import (
    LINT_TABLE,
    NOT_ATTEMPTED,
    PARTS,
    PASSED,
    HomeworkError,
    _parts_in_file,
    collect_tests,
    export,
    grade,
    parse_markers,
    scan_project,
)

ROOT = Path(__file__).resolve().parents[1]
HOMEWORK_PAGE = (ROOT / "docs/homework.md").read_text(encoding="utf-8")
MARKER = re.compile(r"#\s*(BEGIN\s+SOLUTION|END\s+SOLUTION|HINT:)")
#: The parts this file checks: all of them, in the suggested order.
GRADED = list(PARTS)


def _slug(heading: str) -> str:
    """The anchor a Markdown heading gets on GitHub."""
    kept = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return kept.replace(" ", "-")


def test_every_part_has_regions_a_docs_page_and_tests() -> None:
    project = scan_project(ROOT)
    tests = [p.read_text() for p in sorted((ROOT / "tests").glob("test_*.py"))]
    problems = []
    for part in (PARTS[p] for p in GRADED):
        if not project.regions_of(part.id):
            problems.append(f"{part.id}: no # BEGIN SOLUTION {part.id} region in tinynet/")
        page, _, anchor = part.page.partition("#")
        if not (ROOT / page).is_file():
            problems.append(f"{part.id}: its page {page} does not exist")
        elif anchor:
            headings = re.findall(r"^#+ (.+)$", (ROOT / page).read_text(), re.M)
            if anchor not in {_slug(h) for h in headings}:
                problems.append(f"{part.id}: {page} has no heading #{anchor}")
        mark = re.compile(rf"part\(\s*[\"']{re.escape(part.id)}[\"']\s*\)")
        if not any(mark.search(text) for text in tests):
            problems.append(f'{part.id}: no test is marked @pytest.mark.part("{part.id}")')
    assert not problems, "\n".join(problems)


def test_the_part_table_of_the_docs_names_the_files_of_each_parts_regions() -> None:
    rows = dict(re.findall(r"^\| *\d+ *\| *`([a-z0-9-]+)` *\|.*\|(.*)\|.*\|$", HOMEWORK_PAGE,
                           re.M))
    assert list(rows) == list(PARTS), "docs/homework.md: the table's parts are not PARTS"
    project = scan_project(ROOT)
    for pid, cell in rows.items():
        expected = {r.path for r in project.regions_of(pid)}
        actual = set(re.findall(r"`([^`]+)`", cell))
        assert actual == expected, (
            f"docs/homework.md, part {pid}: expected files {sorted(expected)}, "
            f"got {sorted(actual)}")


def test_the_part_table_of_the_docs_links_the_page_each_stub_names() -> None:
    # A table whose conv rows showed `docs/conv.md` as code, or whose ReLU row linked the
    # page's top where its stub named no section either, would send a student to read a
    # whole page.
    links = dict(re.findall(r"^\| *\d+ *\| *`([a-z0-9-]+)` *\|.*\| *\[[^]]+\]\(([^)]+)\) *\|$",
                            HOMEWORK_PAGE, re.M))
    assert links == {pid: part.page.removeprefix("docs/") for pid, part in PARTS.items()}


def test_list_finds_every_marked_test_that_a_whole_collection_finds() -> None:
    # `tinynet homework list` imports only the test files whose code names `part`.
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "part",
                          "-p", "no:cacheprovider", "--assert=plain"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    whole = [line for line in run.stdout.splitlines() if "::" in line]
    listed = {name for names in collect_tests(ROOT).values() for name in names}
    assert len(whole) > 100 and listed == set(whole)


def test_every_graded_test_has_an_id_a_student_can_read() -> None:
    # A grade names the failing test: "[<lambda>2]" or "[Adam-eps-value6]" (pytest's ids for
    # a function and a NumPy scalar) say nothing, and need quoting in a shell.
    names = {name for names in collect_tests(ROOT).values() for name in names}
    unreadable = sorted(n for n in names if re.search(r"<lambda>|\bvalue\d+\b", n))
    assert unreadable == []


def test_a_test_file_that_cannot_be_imported_fails_every_part_it_marks() -> None:
    # The grader reads such a file's text for part("<id>"); marks built from a table of ids
    # (as a test file may build them) would leave those parts graded on their other tests
    # alone.
    by_file: dict[str, set[str]] = {}
    for pid, names in collect_tests(ROOT).items():
        for name in names:
            by_file.setdefault(name.split("::")[0], set()).add(pid)
    for path, parts in by_file.items():
        assert set(_parts_in_file(ROOT, path, PARTS)) == parts, path


@pytest.fixture(scope="module")
def student(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A student copy of tinynet with every part stubbed."""
    dest = tmp_path_factory.mktemp("student")
    export(dest, source=ROOT, parts=GRADED)
    return dest


def test_a_student_copy_of_tinynet_imports_and_shows_no_marker(student: Path) -> None:
    leaks = []
    for path in sorted(student.rglob("*.py")):
        with tokenize.open(path) as f:
            for tok in tokenize.generate_tokens(f.readline):
                if tok.type == tokenize.COMMENT and MARKER.match(tok.string):
                    leaks.append(f"{path.relative_to(student)}:{tok.start[0]}: {tok.string}")
    assert not leaks, "\n".join(leaks)
    # The homework tool's own tests grade no part, and this file checks the markers.
    assert not (student / "tests/test_homework.py").exists()
    assert not (student / "tests/test_homework_project.py").exists()
    # Every module imports: no stub runs at import time. (__main__ would run the command.)
    script = ("import importlib, pkgutil, sys, tinynet\n"
              "assert tinynet.__file__.startswith(sys.argv[1]), tinynet.__file__\n"
              "for m in pkgutil.walk_packages(tinynet.__path__, 'tinynet.'):\n"
              "    if not m.name.endswith('__main__'):\n"
              "        importlib.import_module(m.name)\n")
    run = subprocess.run([sys.executable, "-c", script, str(student)], cwd=student,
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "MPLBACKEND": "Agg"})
    assert run.returncode == 0, run.stderr


def test_a_student_copy_of_tinynet_lints_clean(student: Path) -> None:
    # A teacher runs the project's linters on the copy they hand out. The stubs leave
    # names unused (imports, locals that only the solution read) or undefined (set by the
    # solution, read after it): the copy's pyproject.toml exempts those files from those
    # codes, with a note that says why.
    run = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."],
                         cwd=student, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    config = (student / "pyproject.toml").read_text()
    exempted = re.findall(r'^"(.+)" = \[', config.split(LINT_TABLE)[1], flags=re.M)
    stubbed = {path for stubs in scan_project(student).stubs.values() for path, _ in stubs}
    assert exempted and set(exempted) <= stubbed
    # docs/homework.md shows the first lines of this table: they must be lines it has.
    example = re.search(re.escape(LINT_TABLE) + r"\n(.*?)```", HOMEWORK_PAGE, flags=re.S)
    assert example, "docs/homework.md: no example of the lint table"
    shown = example.group(1).strip().splitlines()
    assert shown == config.split(LINT_TABLE)[1].strip().splitlines()[:len(shown)]


def test_python_m_tinynet_in_a_student_copy_warns_that_the_copy_grades_itself(
        student: Path) -> None:
    # `python -m` puts the current folder first on the path: in a submission, the grader
    # imported is the student's own homework.py, which a student may have changed.
    run = subprocess.run([sys.executable, "-m", "tinynet", "homework", "grade", "--parts",
                          GRADED[0], "--timeout", "120"], cwd=student, capture_output=True,
                         text=True, timeout=300,
                         env={**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"})
    assert run.returncode == 1 and re.search(rf"^{GRADED[0]} +not attempted", run.stdout,
                                             flags=re.M), run.stdout + run.stderr
    assert (f"warning: `python -m` imported the tinynet of the student's copy "
            f"{student.resolve()}, whose homework.py is the grader now: to grade with your "
            "tinynet, run your `tinynet homework grade FOLDER` from outside the copy\n"
            ) in run.stderr


def test_the_nesting_error_of_docs_homework_md_is_what_export_reports() -> None:
    # The page's example: dense.py with the END line of dense-forward deleted. Its line
    # numbers move whenever dense.py does, so the page is checked against the real message.
    shown = re.search(r"`(tinynet/layers/dense\.py:\d+:.*?cannot nest)`", HOMEWORK_PAGE,
                      flags=re.S)
    assert shown, "docs/homework.md: no example of the nesting error"
    path = "tinynet/layers/dense.py"
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines(keepends=True)
    begin = next(i for i, line in enumerate(lines) if "BEGIN SOLUTION dense-forward" in line)
    end = next(i for i in range(begin, len(lines)) if "END SOLUTION" in lines[i])
    with pytest.raises(HomeworkError) as err:
        parse_markers("".join(lines[:end] + lines[end + 1:]), path)
    assert " ".join(shown.group(1).split()) == str(err.value)


#: Appended to the conftest.py of an instrumented reference: for each test, its parts and the
#: parts whose regions it ran, one JSON line in ran.jsonl at the project's top; and fewer
#: examples.
RAN_HOOK = """

import json as _json
from pathlib import Path as _Path

import pytest as _pytest

import _reached


@_pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _reached.parts.clear()
    yield
    record = {"test": item.nodeid, "parts": [m.args[0] for m in item.iter_markers("part")],
              "ran": sorted(_reached.parts)}
    with open(_Path(__file__).parents[1] / "ran.jsonl", "a") as f:
        f.write(_json.dumps(record) + "\\n")


# A quarter of each property test's examples (strategies.examples scales them): which parts'
# code a test runs does not depend on its count of examples (a full run's records were
# the same), and the grade takes half the time.
from hypothesis import settings as _settings

_settings.register_profile("quarter", parent=_settings.default,
                           max_examples=_settings.default.max_examples // 4)
_settings.load_profile("quarter")
"""


def test_the_reference_passes_every_part_and_no_part_runs_a_later_parts_code(
        tmp_path: Path) -> None:
    # A student who writes the parts in the suggested order must never meet the stub of a
    # part not begun: a part's tests may run the code of earlier parts, never of later ones
    # (in a fresh copy the test stops at the first stub, so only the first one is seen).
    # The reference is copied with one line at the top of each region, recording that the
    # region ran, and graded; a conftest.py hook notes the regions each test ran.
    project = scan_project(ROOT)
    for rel in project.files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes((ROOT / rel).read_bytes())
    for rel, regions in project.regions.items():
        lines = (tmp_path / rel).read_text(encoding="utf-8").splitlines(keepends=True)
        for r in sorted(regions, key=lambda r: r.begin, reverse=True):
            lines.insert(r.begin, f"{r.indent}import _reached; _reached.parts.add({r.part!r})\n")
        (tmp_path / rel).write_text("".join(lines), encoding="utf-8")
    (tmp_path / "_reached.py").write_text("parts = set()\n")
    with open(tmp_path / "tests/conftest.py", "a") as f:
        f.write(RAN_HOOK)
    report = grade(tmp_path, parts=GRADED)
    assert report.passed, report.table()
    records = [json.loads(line) for line in (tmp_path / "ran.jsonl").read_text().splitlines()]
    # The recording works: each part's tests ran that part's own code.
    assert {p for r in records for p in r["ran"] if p in r["parts"]} == set(GRADED)
    late = []
    for r in (r for r in records if r["parts"]):
        own = min(r["parts"], key=lambda p: PARTS[p].order)  # a stub of any stops it
        later = [p for p in r["ran"] if PARTS[p].order > PARTS[own].order]
        if later:
            late.append(f"{r['test']} (part {own}) runs the code of {', '.join(later)}")
    assert not late, "\n".join(late)
    # Each part's uses, which the grade's "(part X, before it, failed too)" reads, name every
    # earlier part whose code its tests ran, else a note is missed. They may name more: one
    # that only a teacher's hidden tests run (docs/homework.md).
    ran: dict[str, set[str]] = {pid: set() for pid in GRADED}
    for r in records:
        for pid in r["parts"]:
            ran[pid] |= {p for p in r["ran"] if PARTS[p].order < PARTS[pid].order}
    missing = {pid: sorted(omitted) for pid in GRADED
               if (omitted := ran[pid] - (PARTS[pid].uses or set()))}
    assert not missing, f"tests run parts their part's uses omit: {missing}"


def test_the_reference_holds_no_stub() -> None:
    # A test that raised a stub's NotImplementedError("relu: ...; see ...") as a statement,
    # to test what a copy does with it, would make the reference a copy that lost its record
    # to `tinynet homework grade`, which would then refuse to grade it; such a test builds
    # the message at run time (homework.stub_message), which the scan does not read.
    assert scan_project(ROOT).stubs == {}


def test_a_fresh_copy_is_not_attempted_in_every_part_in_the_suggested_order(
        tmp_path: Path) -> None:
    written = export(tmp_path, source=ROOT, parts=GRADED)
    # Every stub counts, two in one function too (idx-header's, the export's code after
    # each): none is taken for a stub behind a student's return.
    assert sum(map(len, scan_project(tmp_path).stubs.values())) == written.stubs
    report = grade(tmp_path, parts=GRADED)
    assert all(r.status == NOT_ATTEMPTED for r in report.results.values()), report.table()
    # A part's tests may stop at the stub of an earlier part, never of a later one.
    for pid, result in report.results.items():
        needs = re.match(r"needs part (\S+) first", result.message)
        if needs:
            assert PARTS[needs.group(1)].order < PARTS[pid].order, result.message


def test_the_first_part_passes_when_every_other_part_is_stubbed(tmp_path: Path) -> None:
    # Only the first part is graded: that the others, stubbed, read "not attempted" is the
    # fresh copy's test, and grading them too would double this test's time.
    first, *others = GRADED
    export(tmp_path, source=ROOT, parts=others)
    report = grade(tmp_path, parts=[first])
    assert report.to_json()["parts"] == {first: PASSED}, report.table()


def test_every_tinynet_module_is_imported_before_any_test() -> None:
    # Hypothesis mixes the constants of the local modules imported so far into its draws:
    # conftest.py imports all of tinynet's first, so that a student's run of one test with
    # --hypothesis-seed=0 draws what the grade drew (docs/homework.md). A module a test
    # imports later would change the draws of the tests after it.
    names = {m.name for m in pkgutil.walk_packages(tinynet.__path__, "tinynet.")
             if not m.name.endswith(".__main__")}
    assert names and names <= set(sys.modules), sorted(names - set(sys.modules))
