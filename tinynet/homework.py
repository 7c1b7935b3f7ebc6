"""Homework: student copies of a project with chosen parts stubbed out, and per-part grading.

tinynet is the reference solution of a course's assignments. The code a student should write
is marked in the reference by whole-line comments::

    def backward(self, dy):
        x = self._load("x")
        # BEGIN SOLUTION relu
        # HINT: dx = dy * (x > 0), a new array
        return dy * (x > 0)
        # END SOLUTION

``export`` copies the project and replaces each chosen region by a stub at the indentation of
its BEGIN line, ``raise NotImplementedError("relu: dx = dy * (x > 0), a new array; see
docs/activations.md#relu")``, and drops the markers of the regions it keeps. ``grade`` runs the
tests marked ``@pytest.mark.part("<id>")`` and says, per part, passed, failed, not attempted
or blocked (written, but its tests stop at an earlier part's stub). See docs/homework.md.

Rules of the markers, checked on every export (a :class:`HomeworkError` names file and line):
regions do not nest; every BEGIN has its END, at the same indentation; the part id is one
of the registry's; a region sits inside a function body and stays in the block it starts in
(never around a ``def`` or ``class`` line), so the student copy always imports. A part may
have several regions (ReLU's forward and backward are two methods): each becomes a stub.

This module imports only the standard library at the top: the grader loads it by file path
into the pytest subprocess, next to a project that has its own (maybe stubbed) ``tinynet``.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import fnmatch
import functools
import hashlib
import importlib.util
import io
import json
import math
import os
import posixpath
import re
import shutil
import signal
import subprocess
import symtable
import sys
import tempfile
import textwrap
import time
import tokenize
import traceback
from collections import Counter
from collections.abc import Collection, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "PARTS",
    "GradeReport",
    "HomeworkError",
    "Part",
    "PartResult",
    "Region",
    "add_parser",
    "assigned_parts",
    "collect_tests",
    "export",
    "grade",
    "lint_codes",
    "main",
    "parse_markers",
    "part_marks",
    "project_files",
    "project_root",
    "scan_project",
    "stub_message",
    "stub_source",
    "with_lint_exemptions",
]


# ---------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Part:
    """One piece of homework: ``id`` as written in the markers and in ``part("<id>")``,
    the docs ``page`` that explains it, a one-line ``description`` (an instruction, used as
    the stub's message when a region has no HINT), and its place in the suggested ``order``
    (the tests of a part may use the parts before it, never those after). ``uses``: the
    earlier parts whose code its tests run, or None for any of them; a grade names only
    those when it says that an earlier part failed too."""

    id: str
    page: str
    description: str
    order: int
    uses: frozenset[str] | None = None


def _numbered(*parts: tuple[str, str, str] | tuple[str, str, str, tuple[str, ...]]
              ) -> dict[str, Part]:
    """The registry of ``parts``, (id, page, description) or (id, page, description, uses)
    each, numbered in their order; a ValueError for an id given twice, whose later part
    would silently replace the earlier, for more items, and for ``uses`` that name a part
    not registered before; a TypeError for ``uses`` given as a str, ``("gradcheck")``, whose
    letters would be taken for part ids."""
    registry: dict[str, Part] = {}
    for i, (pid, page, description, *rest) in enumerate(parts, start=1):
        if pid in registry:
            raise ValueError(f"part id {pid!r} is registered twice, as parts "
                             f"{registry[pid].order} and {i}: each part needs an id of its own")
        if len(rest) > 1:
            raise ValueError(f"part {pid!r}: expected (id, page, description) or (id, page, "
                             f"description, uses), got {3 + len(rest)} items")
        uses = None
        if rest:
            if isinstance(rest[0], str):
                raise TypeError(f"part {pid!r}: uses must be a tuple of part ids, got the str "
                                f"{rest[0]!r} (a tuple of one: ({rest[0]!r},))")
            if not isinstance(rest[0], Iterable):
                raise TypeError(f"part {pid!r}: uses must be a tuple of part ids, got "
                                f"{rest[0]!r}")
            if unknown := [u for u in rest[0] if u not in registry]:
                raise ValueError(f"part {pid!r}: uses names {', '.join(map(repr, unknown))}, "
                                 f"not a part registered before it")
            uses = frozenset(rest[0])
        registry[pid] = Part(pid, page, description, i, uses)
    return registry


#: The parts whose code the optimisers' tests run: they train a small network.
_TRAINING = ("dense-forward", "dense-backward", "softmax-forward", "softmax-backward",
             "cross-entropy", "relu")
#: tinynet's parts in the suggested assignment order (docs/homework.md explains the order),
#: each with the earlier parts its tests use (tests/test_homework_project.py checks them).
PARTS: dict[str, Part] = _numbered(
    # Assignment 1: the data and the tool that checks every backward pass.
    ("idx-header", "docs/data.md#the-idx-format-byte-by-byte",
     "parse an IDX header: magic number, element type, number of dimensions, sizes", ()),
    ("gradcheck", "docs/gradcheck.md",
     "write central-difference numerical gradients and their relative error", ()),
    # Assignment 2: softmax regression (reference programs R1 and R5).
    ("dense-forward", "docs/layers.md#dense", "write Dense forward: y = x @ W + b", ()),
    ("dense-backward", "docs/layers.md#dense",
     "write Dense backward: dW = x.T @ dy, db = dy.sum(0), dx = dy @ W.T",
     ("gradcheck", "dense-forward")),
    ("softmax-forward", "docs/softmax.md",
     "write softmax over the last axis, as exp(x - max) so it never overflows", ()),
    ("softmax-backward", "docs/softmax.md#backward-a-vector-jacobian-product",
     "write Softmax backward: dx = s * (dy - sum(dy * s)) per row",
     ("gradcheck", "softmax-forward")),
    ("cross-entropy", "docs/cross_entropy.md",
     "write cross-entropy and its gradient, from probabilities and from logits",
     ("gradcheck", "softmax-forward", "softmax-backward")),
    ("mse", "docs/mse.md", "write the mean squared error and its gradient", ("gradcheck",)),
    # Assignment 3: the multi-layer perceptron and its optimisers (R2 and R4).
    ("relu", "docs/activations.md#relu", "write ReLU forward and backward", ("gradcheck",)),
    ("sigmoid", "docs/activations.md#sigmoid",
     "write Sigmoid forward and backward, without overflow", ("gradcheck",)),
    ("sgd-momentum", "docs/optimizers.md#the-update-equations",
     "write the SGD update with momentum and Nesterov", _TRAINING),
    ("rmsprop", "docs/optimizers.md#the-update-equations", "write the RMSprop update",
     _TRAINING),
    ("adam", "docs/optimizers.md#the-update-equations",
     "write the Adam update with bias correction", _TRAINING),
    # Assignment 4: the convolutional network (R3).
    ("conv2d", "docs/conv.md", "write Conv2D forward (im2col and one GEMM) and backward",
     ("gradcheck",)),
    ("maxpool2d", "docs/conv.md#maxpool2d", "write MaxPool2D forward and backward",
     ("gradcheck", "dense-forward", "dense-backward", "softmax-forward", "cross-entropy",
      "relu", "conv2d")),
)

#: Files of the reference that a student copy leaves out: the tests of the homework tool
#: itself, which grade no part (test_homework_project.py checks the markers, so it would
#: fail in every copy; test_homework.py would only add half a minute to each test run of
#: the student's).
REFERENCE_ONLY = frozenset({"tests/test_homework.py", "tests/test_homework_project.py"})

#: The record an export writes at the top of DEST: what makes a folder recognisably a copy
#: written by ``export``, and the list of the files it wrote there. ``--force`` replaces only
#: such a folder, and deletes or overwrites only the files listed (see docs/homework.md).
EXPORT_RECORD = ".tinynet-homework.json"
#: The ``written_by`` value of a record, and the version of its format.
_RECORD_WRITER, _RECORD_VERSION = "tinynet homework export", 1

#: Folders never copied, wherever they are: version control, environments, caches, outputs.
EXCLUDED_DIRS = frozenset({
    ".git", ".hg", ".svn", ".venv", "venv", ".ci-venv", "__pycache__", ".pytest_cache",
    ".hypothesis", ".ruff_cache", ".mypy_cache", ".tox", ".nox", ".ipynb_checkpoints",
    "build", "dist", "runs",
})
EXCLUDED_FILES = ("*.pyc", "*.pyo", ".DS_Store", ".coverage")

#: The exit status of ``list`` and ``grade`` when they fail with an error (a folder that is
#: not a project, a copy that lost its record): not 1, which they return for a result (a
#: part that did not pass, a test file that cannot be collected), so that a script grading a
#: class can tell a grade from no grade. ``export``, like the other commands, returns 1.
ERROR_STATUS = 2

#: Default time limit of one test, and of collecting the tests, in seconds.
TIMEOUT = 600.0
#: A stub longer than this is split over several lines (the project's line length).
LINE_LENGTH = 100

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"
#: A part whose stubs the student wrote, but whose tests all stopped at an earlier part's stub.
BLOCKED = "blocked"

#: How tinynet.gradcheck's report of a failed check begins (str of its result).
_GRADIENT_CHECK_FAILED = "gradient check FAILED: "
#: A part id as stubs and markers write it: "relu", "dense-backward".
_PART_ID = r"[a-z][a-z0-9-]*"
_BEGIN = re.compile(r"#\s*BEGIN\s+SOLUTION\b(.*)$")
_END = re.compile(r"#\s*END\s+SOLUTION\b(.*)$")
_HINT = re.compile(r"#\s*HINT:(.*)$")
#: What a stub raises: "<part-id>: <hint>; see <page>". A failure is put down to a stub by it
#: (:func:`_find_stub`, in the grader and in the tinynet command); the source is scanned for
#: stubs by :data:`_STUB_START`.
_STUB_MESSAGE = re.compile(rf"({_PART_ID}): .*; see \S+", re.S)


class HomeworkError(ValueError):
    """A problem with the markers, the parts or the folders, naming file and line if known."""

    def __init__(self, message: str, path: str | Path | None = None,
                 line: int | None = None) -> None:
        self.message, self.path, self.line = message, path, line
        where = f"{path}:{line}: " if path is not None and line else (
            f"{path}: " if path is not None else "")
        super().__init__(where + message)


# ------------------------------------------------------------------------------ markers
@dataclass(frozen=True)
class Region:
    """A solution region: lines ``begin`` (the BEGIN comment) to ``end`` (the END comment) of
    ``path``, 1-based; ``indent`` is the BEGIN line's, ``hint`` the joined HINT lines."""

    part: str
    path: str
    begin: int
    end: int
    indent: str
    hint: str | None
    hint_lines: tuple[int, ...] = ()


def _lines(text: str) -> list[str]:
    # Split exactly as tokenize counts lines (on \n, \r\n and \r), keeping the endings.
    return io.StringIO(text, newline="").readlines()


def _tokens(text: str, path: str) -> list[tokenize.TokenInfo]:
    try:
        return list(tokenize.generate_tokens(io.StringIO(text, newline="").readline))
    except tokenize.TokenError as e:
        raise HomeworkError(f"cannot read this file as Python: {e.args[0]}", path,
                            e.args[1][0]) from None
    except SyntaxError as e:  # IndentationError from tokenize
        raise HomeworkError(f"cannot read this file as Python: {e.msg}", path, e.lineno) from None


_SKIP = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
         tokenize.ENCODING, tokenize.ENDMARKER}


def parse_markers(text: str, path: str, registry: Mapping[str, Part] = PARTS,
                  tokens: Sequence[tokenize.TokenInfo] | None = None) -> list[Region]:
    """The solution regions of one Python source, checked; raises :class:`HomeworkError`.

    Markers are found among the comments (by ``tokenize``), so marker-like text inside a
    string is not a marker. ``tokens`` are the source's, if the caller has them already.
    """
    if tokens is None:
        tokens = _tokens(text, path)
    # Where each statement (logical line) starts: a region must stay inside its block.
    starts: list[tuple[int, int]] = []
    at_start = True
    for tok in tokens:
        if tok.type == tokenize.NEWLINE:
            at_start = True
        elif at_start and tok.type not in _SKIP:
            starts.append(tok.start)
            at_start = False

    regions: list[Region] = []
    open_: tuple[str, int, int, str] | None = None  # part, line, column, indent
    hints: list[tuple[int, str]] = []
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        row, col = tok.start
        comment = tok.string
        whole_line = tok.line[:col].strip() == ""
        begin, end, hint = _BEGIN.match(comment), _END.match(comment), _HINT.match(comment)
        if (begin or end or (hint and open_)) and not whole_line:
            raise HomeworkError("a marker must be a comment on a line of its own", path, row)
        if begin:
            ids = begin.group(1).split()
            if len(ids) != 1:
                raise HomeworkError("BEGIN SOLUTION needs exactly one part id, got "
                                    f"{' '.join(ids) or 'none'}", path, row)
            pid = ids[0]
            if open_ is not None:
                raise HomeworkError(f"BEGIN SOLUTION {pid} inside the region of {open_[0]} "
                                    f"opened at line {open_[1]}: regions cannot nest",
                                    path, row)
            if pid not in registry:
                raise HomeworkError(f"unknown part id {pid!r}{_did_you_mean(pid, registry)}; "
                                    "the parts are: " + ", ".join(registry), path, row)
            open_ = (pid, row, col, tok.line[:col])
            hints = []
        elif end:
            if open_ is None:
                raise HomeworkError("END SOLUTION without a BEGIN SOLUTION before it", path, row)
            pid, begin_row, begin_col, indent = open_
            closing = end.group(1).split()
            if closing and closing != [pid]:
                raise HomeworkError(f"END SOLUTION {' '.join(closing)} closes the region of "
                                    f"{pid} opened at line {begin_row}", path, row)
            if col != begin_col:
                raise HomeworkError(f"END SOLUTION is indented differently from its BEGIN "
                                    f"SOLUTION at line {begin_row}", path, row)
            inside = [(r, c) for r, c in starts if begin_row < r < row]
            if not inside:
                raise HomeworkError(f"the region of {pid} holds no code", path, begin_row)
            if inside[0][1] != begin_col:
                raise HomeworkError(f"the first statement of the region of {pid} is not at "
                                    f"the indentation of its BEGIN SOLUTION (line {begin_row})",
                                    path, inside[0][0])
            for r, c in inside:
                if c < begin_col:
                    raise HomeworkError(
                        f"this line is outside the block where the region of {pid} begins "
                        f"(line {begin_row}): a region must not span a def or class line or "
                        "leave its block", path, r)
            text_hint = " ".join(h for _, h in hints if h) or None
            regions.append(Region(pid, path, begin_row, row, indent, text_hint,
                                  tuple(r for r, _ in hints)))
            open_ = None
        elif hint and open_ is not None:
            hints.append((row, hint.group(1).strip()))
        elif hint:
            # It would stay in the student copy, next to the stub it was meant for.
            raise HomeworkError("a HINT line must be inside a solution region", path, row)
    if open_ is not None:
        raise HomeworkError(f"BEGIN SOLUTION {open_[0]} is never closed by an END SOLUTION",
                            path, open_[1])
    return regions


def _string_literal(text: str) -> str:
    # A JSON string is also a valid Python string literal, in double quotes.
    return json.dumps(text, ensure_ascii=False)


def stub_message(part: Part, hint: str | None) -> str:
    """What a stub raises: ``"<part-id>: <hint>; see <page>"``."""
    return f"{part.id}: {hint or part.description}; see {part.page}"


def _stub_lines(message: str, indent: str, newline: str) -> list[str]:
    one = f"{indent}raise NotImplementedError({_string_literal(message)})"
    if len(one) <= LINE_LENGTH:
        return [one + newline]
    inner = indent + "    "
    # A literal is longer than its text by its quotes and escapes (a hint's \" is 2
    # characters for 1): narrow the text until every literal fits.
    for width in range(LINE_LENGTH - len(inner) - 2, 19, -1):
        pieces = textwrap.wrap(message, width, drop_whitespace=False, break_on_hyphens=False)
        if "".join(pieces) != message:  # never change the message to make it fit
            break
        literals = [inner + _string_literal(p) for p in pieces]
        if all(len(line) <= LINE_LENGTH for line in literals):
            return ([f"{indent}raise NotImplementedError({newline}"]
                    + [line + newline for line in literals]
                    + [f"{indent}){newline}"])
    return [one + newline]


def stub_source(text: str, regions: Sequence[Region], stubbed: Collection[str],
                registry: Mapping[str, Part] = PARTS) -> tuple[str, list[int], dict[int, Region]]:
    """The student version of one source.

    Regions of the parts in ``stubbed`` become stubs; the others keep their code, without
    their marker and HINT lines. Returns the new text, the source line of each new line
    (to report errors where the teacher can fix them), and the line of each stub's ``raise``.
    """
    lines = _lines(text)
    by_begin = {r.begin: r for r in regions}
    dropped = {n for r in regions for n in (r.begin, r.end, *r.hint_lines)}
    out: list[str] = []
    source_line: list[int] = []
    stubs: dict[int, Region] = {}
    n = 1
    while n <= len(lines):
        region = by_begin.get(n)
        if region is not None and region.part in stubbed:
            first = lines[n - 1]
            newline = first[len(first.rstrip("\r\n")):] or "\n"
            message = stub_message(registry[region.part], region.hint)
            stubs[len(out) + 1] = region
            for line in _stub_lines(message, region.indent, newline):
                out.append(line)
                source_line.append(n)
            n = region.end + 1
            continue
        if n not in dropped:
            out.append(lines[n - 1])
            source_line.append(n)
        n += 1
    return "".join(out), source_line, stubs


def _check_student_source(text: str, path: str, source_line: list[int],
                          stubs: Mapping[int, Region]) -> None:
    """The student version must compile, and every stub must sit inside a function body
    (a stub at module or class level would raise when the module is imported)."""
    try:
        tree = ast.parse(text, path)
        compile(tree, path, "exec")
    except SyntaxError as e:
        line = source_line[e.lineno - 1] if e.lineno and e.lineno <= len(source_line) else None
        raise HomeworkError(f"the student copy of this file does not compile: {e.msg} "
                            f"(line {e.lineno} of the copy); check the markers near here",
                            path, line) from None
    in_function: set[int] = set()

    def visit(node: ast.AST, inside: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Raise) and inside:
                in_function.add(child.lineno)
            visit(child, inside or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(tree, False)
    for line, region in stubs.items():
        if line not in in_function:
            raise HomeworkError(f"the region of {region.part} is not inside a function body, "
                                "so its stub would raise on import: put BEGIN and END "
                                "SOLUTION inside the function, never around a def or class",
                                path, region.begin)


# --------------------------------------------------------------------------- linting stubs
# A stub leaves names of the code around it unused (an import, a local that only the
# solution read: ruff's F401 and F841) or undefined (a local that the solution set and later
# lines read: F821). That is by design: they are the student's to use or define. The copy's
# pyproject.toml exempts each such file from those codes alone, in a table of its own with a
# comment that says why, so that the copy lints clean and the student sees what to delete.
# (A file-wide noqa comment would do it too, but ruff reports each of its codes that finds
# nothing, so the codes would have to match ruff's rules exactly; an exemption in the
# configuration may be wider than needed.)
LINT_TABLE = "[tool.ruff.lint.extend-per-file-ignores]"
# Its header as TOML allows it written: spaces inside the brackets, a comment after.
_LINT_TABLE_HEADER = re.compile(
    r"\s*\[\s*tool\s*\.\s*ruff\s*\.\s*lint\s*\.\s*extend-per-file-ignores\s*\]\s*(#.*)?$")
LINT_NOTE = (
    "# Written by tinynet homework export: until their stubs are written, these files hold",
    "# names that your code will use (imports, variables: ruff's F401, F841) or define (F821).",
    "# Delete a file's line once its stubs are written, so that ruff checks it all.",
)
_NOT_DEFS = frozenset({"lambda", "genexpr", "listcomp", "setcomp", "dictcomp"})


def _function_scopes(table: symtable.SymbolTable, path: tuple = ()
                     ) -> Iterator[tuple[tuple, symtable.SymbolTable]]:
    """The def scopes under ``table``, each keyed by its path of names ("Dense", "backward"),
    counted when a name repeats (a property's getter and setter), so that the scopes of a
    source and of its student version pair up: a region never holds a def."""
    seen: Counter[str] = Counter()
    for child in table.get_children():
        name = child.get_name()
        seen[name] += 1
        key = (*path, (name, seen[name]))
        if child.get_type() == "function" and name not in _NOT_DEFS:
            yield key, child
        yield from _function_scopes(child, key)


def _read(table: symtable.SymbolTable) -> set[str]:
    """The names read in the scope ``table`` or in a scope nested in it."""
    names = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    for child in table.get_children():
        names |= _read(child)
    return names


def _loaded(source: str) -> set[str]:
    """Every name read anywhere in ``source``, annotations included (which symtable leaves
    out under ``from __future__ import annotations``, but ruff counts as uses)."""
    return {node.id for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def lint_codes(source: str, student: str) -> set[str]:
    """The ruff codes among F401, F821 and F841 that the stubs of ``student``, the student
    version of the Python ``source`` (both without markers), make ruff report."""
    before, after = (symtable.symtable(source, "source", "exec"),
                     symtable.symtable(student, "student", "exec"))
    codes = set()
    unused = _loaded(source) - _loaded(student)
    if any(before.lookup(name).is_imported() for name in unused & set(before.get_identifiers())):
        codes.add("F401")
    scopes = dict(_function_scopes(before))
    for key, scope in _function_scopes(after):
        old = scopes.get(key)
        if old is None:
            continue
        read, read_before = _read(scope), _read(old)
        for symbol in scope.get_symbols():
            name = symbol.get_name()
            if name not in old.get_identifiers():
                continue
            was = old.lookup(name)
            if (symbol.is_local() and not symbol.is_parameter() and name not in read
                    and name in read_before):
                codes.add("F401" if symbol.is_imported() else "F841")
            if (symbol.is_referenced() and not (symbol.is_local() or symbol.is_free())
                    and (was.is_local() or was.is_free())):
                codes.add("F821")
    return codes


def with_lint_exemptions(pyproject: str, codes: Mapping[str, Collection[str]]) -> str:
    """The text of a pyproject.toml with a line per file of ``codes`` (path -> ruff codes) in
    ruff's :data:`LINT_TABLE`, exempting that file from those codes, added at the end after
    :data:`LINT_NOTE`. Raises :class:`HomeworkError` when the project has that table already:
    TOML allows a table once, and joining lines to it would need a TOML writer to merge a
    file's codes with the project's own for it."""
    if not codes:
        return pyproject
    lines = _lines(pyproject)
    if any(_LINT_TABLE_HEADER.match(line) for line in lines):
        raise HomeworkError(
            f"pyproject.toml has a {LINT_TABLE} table, where export would write the lines "
            f"that exempt the stubbed files from ruff's unused and undefined names; move its "
            f"lines into [tool.ruff.lint.per-file-ignores] (which ruff reads too: make that "
            f"table, or add them to it), and export again")
    newline = _newline(lines)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    block = [newline, *(line + newline for line in LINT_NOTE), LINT_TABLE + newline]
    entries = [f"{json.dumps(path)} = {json.dumps(sorted(c))}{newline}"
               for path, c in sorted(codes.items())]
    return "".join(lines + block + entries)


def _newline(lines: Sequence[str]) -> str:
    """The line ending of the first of ``lines`` that has one ("\n" when none has)."""
    return next((line[len(line.rstrip("\r\n")):] for line in lines
                 if line.endswith(("\n", "\r"))), "\n")


#: Where a student starts, in a tinynet of the reference's layout (linked when the copy has it).
STUDENT_GUIDE = "docs/homework.md"


def with_student_note(readme: str, parts: Sequence[str], files: Collection[str]) -> str:
    """The text of a project's README.md with a note at its top for the student who opens
    it first: this is a student copy, the parts to write, and where to start (the
    :data:`STUDENT_GUIDE`'s "For students", when the copy has it)."""
    n = len(parts)
    start = (f"Start with [{STUDENT_GUIDE}]({STUDENT_GUIDE}#for-students): it says how to "
             "install the copy and grade your work" if STUDENT_GUIDE in files else
             "Install it, and run `tinynet homework grade` in this folder to see where you "
             "stand, part by part")
    note = [f"> **A student copy.** The code of {n} part{'s' * (n != 1)} is yours to write "
            f"({', '.join(parts)}): until a part is written, what uses it stops with a "
            f"message naming the part and the page to read. {start}.", ""]
    return "".join(line + _newline(_lines(readme)) for line in note) + readme


# ------------------------------------------------------------------------------ the project
def _project_folder(path: str | Path, argument: str) -> Path:
    """``path`` resolved, if it is a project folder (with a pyproject.toml); otherwise a
    :class:`HomeworkError` naming the ``argument`` it was given as, and what ``path`` is."""
    folder = Path(path).resolve()
    if not os.path.lexists(folder):
        raise HomeworkError(f"{argument} {folder}: no such folder, expected a project folder")
    if not folder.is_dir():
        raise HomeworkError(f"{argument} {folder} is a file, expected a project folder")
    if not (folder / "pyproject.toml").is_file():
        above = next((p for p in folder.parents if (p / "pyproject.toml").is_file()), None)
        raise HomeworkError(f"{argument} {folder} is not a project folder: it has no "
                            "pyproject.toml" + (f" ({above}, above it, has one)" if above else ""))
    return folder


def project_root(source: str | Path | None = None) -> Path:
    """The project folder: ``source``, or the folder holding pyproject.toml next to the
    installed tinynet package (an editable install or a checkout)."""
    if source is not None:
        return _project_folder(source, "--source")
    root = Path(__file__).resolve().parent.parent
    # Installed from a wheel, the package's folder is site-packages, where a pyproject.toml
    # may be another package's leftover: exporting that folder would copy site-packages.
    if _project_name(root) != "tinynet":
        raise HomeworkError(f"cannot find the project's sources next to the installed package "
                            f"({root} has no pyproject.toml of tinynet's); pass --source "
                            "FOLDER, a clone of the project or its unpacked sdist")
    return root


def _excluded_dir(name: str) -> bool:
    """Whether a folder of this name is left out of every copy: see :data:`EXCLUDED_DIRS`,
    and a package's build metadata, ``*.egg-info``."""
    return name in EXCLUDED_DIRS or name.endswith(".egg-info")


def _excluded(rel: str, patterns: Sequence[str]) -> bool:
    parts = rel.split("/")
    if any(map(_excluded_dir, parts[:-1])):
        return True
    if any(fnmatch.fnmatch(parts[-1], pat) for pat in EXCLUDED_FILES):
        return True
    if rel in REFERENCE_ONLY:
        return True
    if rel == EXPORT_RECORD:
        return True  # exporting from a student copy: the copy writes a record of its own
    return any(_matches(rel, pat) for pat in patterns)


def _matches(rel: str, pattern: str) -> bool:
    """Whether the file ``rel`` is ``pattern`` (a glob) or lies in a folder it names."""
    return fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(rel, pattern.rstrip("/") + "/*")


def _exclude_patterns(root: Path, patterns: Sequence[str], files: Sequence[str]) -> list[str]:
    """``patterns`` (--exclude) as "/" paths relative to the project at ``root``: normalised
    (``./x`` and ``tests/../x`` are ``x``), or with the project's own path taken off.

    Each must match one of ``files`` (the project's, none excluded) or a path the copy leaves
    out anyway, or it is refused: a pattern that matches nothing (a typo, ``./hidden``) would
    hand the hidden tests out to students."""
    checked = []
    for pattern in patterns:
        rel = pattern
        if os.path.isabs(rel):
            try:  # root is resolved: so is the pattern, which may run through a symlink
                rel = os.path.relpath(os.path.realpath(rel), root)
            except ValueError:  # on another drive (Windows)
                rel = ".."
        # Windows' .\hidden_tests\ matched to "/" paths; ./x and tests/../x to x
        rel = posixpath.normpath(rel.replace(os.sep, "/"))
        if rel == ".." or rel.startswith("../"):
            raise HomeworkError(f"--exclude {pattern!r} is outside the project {root}: "
                                "give a path relative to it")
        # Naming a folder the copy leaves out anyway (one git ignores, a virtual
        # environment) is being careful, not a typo; `files` holds none of its files.
        if not any(_matches(f, rel) for f in files) and not _left_out_anyway(root, rel):
            raise HomeworkError(
                f"--exclude {pattern!r} matches no file of the project {root}: give a path "
                "relative to it (hidden_tests, tests/test_hidden_*.py), or check its spelling")
        checked.append(rel)
    return checked


def _left_out_anyway(root: Path, rel: str) -> bool:
    """Whether ``rel``, a path (not a glob) that no file of :func:`project_files` matches,
    exists under ``root``: then the copy leaves it out whatever --exclude says (a folder
    such as ``.venv`` or ``build``, see :data:`EXCLUDED_DIRS`, a virtual environment, or
    what git ignores), since that list is the copy's.

    Spelt as it is, each name in its folder's listing: on a file system that ignores case
    (macOS's), ``Hidden_Tests`` exists when ``hidden_tests/`` does, but matches none of its
    files (fnmatch heeds case there), and the copy would hand them out."""
    if not _is_relative_path(rel):
        return False
    folder = root
    for name in rel.split("/"):
        try:
            if name not in os.listdir(folder):
                return False
        except OSError:  # not a folder, or not readable: nothing there to leave out
            return False
        folder = folder / name
    return True


def _is_venv(root: Path | str, folder: str) -> bool:
    """Whether ``folder`` (relative to ``root``) is a virtual environment, of any name
    (env/, py311/): it holds pyvenv.cfg, as every venv and virtualenv does. Its thousands
    of files are other projects', and git does not ignore them unless told to."""
    return os.path.isfile(os.path.join(root, folder, "pyvenv.cfg"))


def _git_files(root: Path) -> list[str] | None:
    """The project's files as git sees them, or None without git.

    At the top of a checkout: the tracked files and the untracked ones git does not ignore.
    Untracked files count: a file written but not yet committed is part of the project;
    ignored ones (outputs, caches) are not. Elsewhere (an unpacked archive, or a project
    unpacked inside a course's repository) every file its own ``.gitignore`` files do not
    ignore, read by git with an empty repository of its own: a repository around the
    project has rules that are not the project's, and its ``data/`` or ``*`` would leave
    out MNIST or every file, silently.
    """
    try:
        if (root / ".git").exists():  # a folder, or a file in a worktree or submodule
            out = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        else:
            with tempfile.TemporaryDirectory() as empty:
                _git(root, "init", "-q", empty)
                # The .gitignore files of the project only, not the user's own excludes
                # (core.excludesFile), which are not the project's either.
                out = _git(root, f"--git-dir={Path(empty) / '.git'}", f"--work-tree={root}",
                           "ls-files", "-z", "--others", "--exclude-per-directory=.gitignore")
    except (OSError, subprocess.SubprocessError):
        return None
    return sorted(_files_listed(root, out))


def _files_listed(root: Path, out: str) -> set[str]:
    """The files named in the output of ``git ls-files -z``, where a repository inside the
    project, which git lists whole as ``notes/``, stands for every file in it."""
    names: set[str] = set()
    for name in filter(None, out.split("\0")):
        if (root / name).is_dir():
            names.update(f"{name.rstrip('/')}/{f}" for f in _walk_files(root / name))
        else:
            names.add(name)
    return names


def _git(root: Path, *args: str) -> str:
    """git's output, run in ``root``; raises OSError or SubprocessError if it fails."""
    # Not the caller's repository: a git hook sets GIT_DIR and GIT_INDEX_FILE for its own.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(["git", *args], capture_output=True, check=True, timeout=60,
                          cwd=root, env=env).stdout.decode("utf-8", "surrogateescape")


def _untracked(root: Path) -> set[str]:
    """The files of the git checkout at ``root`` that git neither tracks nor ignores (none
    outside a checkout, or without git): export copies them, a file not yet committed being
    part of the project, and says so, since a teacher's scratch file would go out too."""
    if not (root / ".git").exists():
        return set()
    try:
        return _files_listed(root, _git(root, "ls-files", "-z", "--others",
                                        "--exclude-standard"))
    except (OSError, subprocess.SubprocessError):
        return set()


def _walk_files(root: Path) -> list[str]:
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not _excluded_dir(d) and not _is_venv(folder, d))
        rel_folder = Path(folder).relative_to(root)
        found.extend((rel_folder / f).as_posix() for f in files)
    return sorted(found)


def project_files(root: Path, exclude: Sequence[str] = ()) -> list[str]:
    """The files of the project to copy, as posix paths relative to ``root``."""
    names = _git_files(root)
    if names is None:
        names = _walk_files(root)  # it does not enter a virtual environment
    else:  # git lists the files of a virtual environment it does not ignore
        venvs = {f for f in {f for n in names for f in _folders_of(n)} if _is_venv(root, f)}
        names = [n for n in names if venvs.isdisjoint(_folders_of(n))]
    return [n for n in names if (root / n).is_file() and not _excluded(n, exclude)]


def _folders_of(rel: str) -> list[str]:
    """The folders that hold the file ``rel``, outermost first: a/b/c.py -> [a, a/b]."""
    parts = rel.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


@dataclass
class Project:
    """A scanned project: its ``root``, the ``files`` to copy, the checked regions of each
    Python file that has any, and, in a student copy, where each part's stubs are."""

    root: Path
    files: list[str]
    regions: dict[str, list[Region]]
    texts: dict[str, str] = field(repr=False, default_factory=dict)
    stubs: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def regions_of(self, part: str) -> list[Region]:
        """The solution regions of ``part``, from every file that has any."""
        return [r for rs in self.regions.values() for r in rs if r.part == part]


_STUB_START = re.compile(rf"({_PART_ID}): ")


def _find_stubs(text: str, path: str, registry: Mapping[str, Part],
                found: dict[str, list[tuple[str, int]]]) -> None:
    """Add to ``found`` (part id -> [(path, line)]) each stub of a part of ``registry`` in
    the Python ``text``, in the order of its lines.

    Read from the syntax tree, not the text: a stub quoted in a docstring or a string (this
    module's docstring shows one, tests hold some) is not a stub of the project. A stub that
    can never run, as a ``return`` or ``raise`` of the student's comes before it in its
    block (the part written above the stub, which was left there), is left out: its part is
    written. Another stub before it does not count: a part may have two regions in one
    function (idx-header's), each stubbed, the export's own code after each. (Code written
    *below* a stub cannot be told from the export's code after a region, so it is not looked
    for.) Nothing for a file that does not parse, which grading reports by itself."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return
    stubs = []
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if not isinstance(block, list):
                continue
            for i, stmt in enumerate(block):
                part = _stub_part(stmt)
                if part is not None and part in registry and not any(
                        isinstance(earlier, ast.Return | ast.Raise)
                        and _stub_part(earlier) is None for earlier in block[:i]):
                    stubs.append((stmt.lineno, part))
    for line, part in sorted(stubs):
        found.setdefault(part, []).append((path, line))


def _stub_part(stmt: ast.stmt) -> str | None:
    """The part id of ``stmt`` if it is ``raise NotImplementedError("<part>: ...")``, a
    stub's; None for any other statement."""
    call = stmt.exc if isinstance(stmt, ast.Raise) else None
    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id == "NotImplementedError" and call.args
            and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
        match = _STUB_START.match(call.args[0].value)
        return match.group(1) if match else None
    return None


# A BEGIN marker anywhere in a file's bytes: in a notebook it is inside a JSON string.
_BEGIN_ANYWHERE = re.compile(rf"#\s*BEGIN\s+SOLUTION\s+({_PART_ID})".encode())


def _check_no_region_in(root: Path, rel: str, registry: Mapping[str, Part]) -> None:
    """A HomeworkError when ``rel``, a file export copies as it is (not a .py file, whose
    regions it strips), holds a BEGIN marker of a part: an editor's backup (``dense.py~``,
    ``dense.py.orig``) or a notebook would hand that solution out."""
    raw = (root / rel).read_bytes()
    for match in _BEGIN_ANYWHERE.finditer(raw):
        part = match.group(1).decode("ascii")
        if part in registry:
            line = raw.count(b"\n", 0, match.start()) + 1
            raise HomeworkError(f"holds the solution region of part {part!r} (BEGIN SOLUTION "
                                f"{part}), but export strips the regions of .py files only: it "
                                "would copy the solution as it is. Delete the file (an "
                                "editor's backup?) or leave it out with --exclude", rel, line)


def _no_region_message(root: Path, missing: Sequence[str], left_out: Sequence[str]) -> str:
    """Why export cannot stub the parts ``missing``: their regions are in Python files that
    --exclude leaves out (``left_out``, whose BEGIN markers are looked for, not checked), or
    they have none."""
    holders: dict[str, set[str]] = {}
    for rel in left_out:
        if rel.endswith(".py"):
            for match in _BEGIN_ANYWHERE.finditer((root / rel).read_bytes()):
                holders.setdefault(match.group(1).decode("ascii"), set()).add(rel)
    hidden = [p for p in missing if p in holders]
    unmarked = [p for p in missing if p not in holders]
    reasons = []
    if hidden:
        files = sorted(set().union(*(holders[p] for p in hidden)))
        reasons.append(f"part(s) {', '.join(hidden)} have their regions in {', '.join(files)}, "
                       f"which --exclude leaves out: choose the other parts with --parts, or "
                       f"keep {'that file' if len(files) == 1 else 'those files'}")
    if unmarked:
        reasons.append(f"part(s) {', '.join(unmarked)} have no region in {root}: mark their "
                       "code with # BEGIN SOLUTION <part-id> ... # END SOLUTION")
    return "; ".join(reasons)


def scan_project(root: str | Path, registry: Mapping[str, Part] = PARTS,
                 exclude: Sequence[str] = (), files: Sequence[str] | None = None) -> Project:
    """List the project's files (unless the caller has: ``files``, as
    :func:`project_files` gives them) and parse and check the markers of every Python file.

    Every region is checked as if it were stubbed, whichever parts an export will choose, so
    a misplaced region is reported as soon as it is written; so is a part's BEGIN marker in
    a file that is neither Python nor Markdown, which export would copy as it is.
    """
    root = Path(root)
    files = (project_files(root, exclude) if files is None
             else [n for n in files if not _excluded(n, exclude)])
    regions: dict[str, list[Region]] = {}
    texts: dict[str, str] = {}
    stubs: dict[str, list[tuple[str, int]]] = {}
    for rel in files:
        if not rel.endswith(".py"):
            if not rel.endswith(".md"):  # the docs may show the markers
                _check_no_region_in(root, rel, registry)
            continue
        raw = (root / rel).read_bytes()
        if b"SOLUTION" not in raw and b"HINT:" not in raw and b"NotImplementedError(" not in raw:
            continue  # neither a marker nor a stub can be there; skip tokenizing
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise HomeworkError(f"not UTF-8 ({e.reason})", rel) from None
        tokens = _tokens(text, rel)  # tokenizing is most of the time of a scan: once
        if b"NotImplementedError(" in raw:
            _find_stubs(text, rel, registry, stubs)
        found = parse_markers(text, rel, registry, tokens)
        if found:
            every_part = {r.part for r in found}
            student, source_line, raises = stub_source(text, found, every_part, registry)
            _check_student_source(student, rel, source_line, raises)
            regions[rel], texts[rel] = found, text
    return Project(root, files, regions, texts, stubs)


def _choose(parts: Iterable[str] | None, registry: Mapping[str, Part]) -> list[str]:
    if parts is None:
        return list(registry)
    parts = list(parts)  # read twice below: a generator would be empty the second time
    unknown = [p for p in dict.fromkeys(parts) if p not in registry]
    if unknown:
        raise HomeworkError(f"unknown part id(s) {', '.join(map(repr, unknown))}"
                            f"{_did_you_mean(unknown[0], registry)}; the parts are: "
                            + ", ".join(registry))
    return [p for p in registry if p in parts]  # in the suggested order, as typed or not


def _did_you_mean(pid: str, registry: Mapping[str, Part]) -> str:
    """What the unknown part id ``pid`` may have meant, as " (...)", or "" for nothing."""
    ids = [p for p in pid.split(",") if p]
    if len(ids) > 1 and all(p in registry for p in ids):
        return f" (part ids are separated by spaces, not commas: {' '.join(ids)})"
    if pid.lower() in registry:
        return f" (part ids are in lower case: {pid.lower()})"
    # A part's first word names each part it begins: "dense", its forward and backward.
    close = [p for p in registry if p.startswith(pid + "-")] if pid else []
    close = close or difflib.get_close_matches(pid, list(registry), n=1)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def _part_id(registry: Mapping[str, Part]) -> Any:
    """An argparse type: a part id of ``registry``, so that a typo is reported as "argument
    --parts: expected a part id, one of ...; got 'rleu' (did you mean relu?)"."""

    def part_id(text: str) -> str:
        if text not in registry:
            # --parts takes every word after it: `export --parts relu ../week3` gives it DEST,
            # and so does `export --parts relu week3`: a word like no part id may be one too.
            close = _did_you_mean(text, registry)
            folder = ("; a folder? --parts takes every word after it: put the folder before "
                      "--parts" if "/" in text or os.sep in text or os.path.isdir(text)
                      or not close else "")
            raise argparse.ArgumentTypeError(
                f"expected a part id, one of {', '.join(registry)}; got {text!r}" + close
                + folder)
        return text

    return part_id


def _read_record(dest: Path) -> tuple[set[str], dict[str, str]]:
    """The files an earlier export wrote into ``dest``, and the SHA-256 of each as written
    (none in a partial copy's record, or one written before records kept them), from its
    record; raises :class:`HomeworkError` if ``dest`` has no valid record, so is not a copy."""
    record_path = dest / EXPORT_RECORD
    refusal = ("--force replaces only a copy written by tinynet homework export; refusing to "
               "touch its contents")
    if not record_path.is_file():
        raise HomeworkError(f"DEST {dest} is not empty and has no {EXPORT_RECORD}, so it is not "
                            f"a student copy: {refusal}")
    # An export writes its record as a file: a link there is someone else's, and rewriting
    # the record (write_atomic follows links) would write wherever it points.
    record, problem = ({}, "it is a symbolic link") if record_path.is_symlink() else (
        _load_record(record_path))
    files = record.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        # No files, so that the checks below may take them as a list: the record is refused
        # anyway, for this problem or the one found before.
        files = []
        if problem is None:
            problem = '"files" is not a list of paths'
    if problem is None:
        # A record is a plain file anyone can edit: never let it name a path outside DEST.
        outside = [f for f in files if not _is_relative_path(f)]
        if outside:
            problem = f'"files" names {outside[0]!r}, not a relative path inside DEST'
    hashes = record.get("sha256", {})
    if problem is None and (not isinstance(hashes, dict) or not set(hashes) <= set(files)
                            or not all(isinstance(h, str) for h in hashes.values())):
        problem = '"sha256" is not a map of the files listed to their hashes'
    if problem:
        raise HomeworkError(f"DEST {dest} has a {EXPORT_RECORD} that is not an export record "
                            f"({problem}): {refusal}")
    return set(files), hashes


def _sha256(path: Path) -> str:
    """The hash of the file at ``path`` with "\r\n" read as "\n": a copy handed out through
    git and checked out on Windows has "\r\n" line endings (git's core.autocrlf), which
    change no test."""
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def _check_unchanged(dest: Path, hashes: Mapping[str, str]) -> None:
    """Refuse, before anything is written, to replace or delete a file that changed since
    the export wrote it: a student's work, in a copy handed out and then exported over."""
    changed = [rel for rel, digest in sorted(hashes.items())
               if (dest / rel).is_file() and not (dest / rel).is_symlink()
               and _sha256(dest / rel) != digest]
    if changed:
        them = "them" if len(changed) > 1 else "it"
        raise HomeworkError(f"DEST {dest}: {_listed(changed)} changed since the export wrote "
                            f"{them} (a student's work?); refusing to overwrite {them}: move "
                            f"{them} out of DEST, or delete {them}, and export again")


def _listed(names: Sequence[str], most: int = 5) -> str:
    """The first ``most`` of ``names``, then how many more: "a, b, c and 2 more"."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _also_failed(names: Sequence[str], most: int = 3) -> str:
    """A failed part's note on its other failed tests: the first ``most`` of their
    ``names``, then how many more; with ``most`` 0, only how many."""
    if not names:
        return ""
    if most == 0:
        return f" (also failed: {len(names)} other test{'s' if len(names) > 1 else ''})"
    return f" (also failed: {_listed(names, most)})"


def _load_record(path: Path) -> tuple[dict[str, Any], str | None]:
    """The :data:`EXPORT_RECORD` at ``path``, and why it cannot be trusted, if it cannot:
    unreadable, not written by ``export``, or of another version (the record is then {})."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return {}, f"cannot be read: {e}"
    if not isinstance(record, dict) or record.get("written_by") != _RECORD_WRITER:
        return {}, f'expected "written_by": "{_RECORD_WRITER}"'
    if record.get("version") != _RECORD_VERSION:
        return {}, f"expected version {_RECORD_VERSION}, got {record.get('version')!r}"
    return record, None


def _is_relative_path(name: str) -> bool:
    """Whether ``name`` is a posix path that stays inside the folder it is relative to."""
    parts = name.split("/")
    return (bool(name) and "\\" not in name and not name.startswith("/")
            and not any(p in ("", ".", "..") for p in parts)
            and not Path(name).is_absolute() and not Path(name).drive)


def _prepare_dest(dest: Path, source: Path, force: bool) -> tuple[set[str], dict[str, str]]:
    """Check that ``export`` may write into ``dest``; return the files an earlier export
    wrote there (none for a new or empty folder), the only ones it may replace, and their
    hashes (see :func:`_read_record`)."""
    if dest == source or source in dest.parents or dest in source.parents:
        holds = ", not hold it" if dest in source.parents else ""
        raise HomeworkError(f"DEST {dest} must be outside the project {source}{holds}")
    # The first of DEST and its parents that exists must be a folder ("not a directory"
    # from mkdir, after the scan, named neither DEST nor the file in the way).
    there = next(p for p in (dest, *dest.parents) if os.path.lexists(p))
    if not there.is_dir():
        what = "exists" if there == dest else f"cannot be created: {there} exists"
        raise HomeworkError(f"DEST {dest} {what} and is not a folder, expected a new or "
                            "empty folder")
    if not dest.is_dir() or not any(dest.iterdir()):
        return set(), {}
    if not force and not (dest / EXPORT_RECORD).is_file():
        # --force would be refused too: not a copy of tinynet homework export's.
        raise HomeworkError(f"DEST {dest} is not empty and is not a student copy (it has no "
                            f"{EXPORT_RECORD}): give a new or empty folder")
    if not force:
        raise HomeworkError(f"DEST {dest} is not empty (pass --force to replace an earlier "
                            "copy written by tinynet homework export)")
    return _read_record(dest)


def _check_overwrites(dest: Path, written: set[str], files: Sequence[str]) -> None:
    """Refuse, before anything is written, to overwrite or write through a path of ``dest``
    that the earlier export did not write (``written``): a student's or teacher's own file."""
    for rel in files:
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            path = dest / prefix
            if not os.path.lexists(path):
                break  # nothing there: the export creates it and everything under it
            if path.is_symlink() and prefix not in written:
                # Writing through a link would write outside DEST.
                raise HomeworkError(f"DEST {dest}: {prefix} is a symbolic link that an earlier "
                                    "export did not write; refusing to write through it")
            last = i == len(parts)
            if path.is_dir() and not path.is_symlink():
                if last:
                    raise HomeworkError(f"DEST {dest}: {prefix} is a folder, where the copy "
                                        "has a file; refusing to delete it")
                continue
            # A file (or a link) where the copy needs this file, or a folder above it.
            if prefix not in written:
                raise HomeworkError(
                    f"DEST {dest}: {prefix} was not written by tinynet homework export "
                    f"(it is not in {EXPORT_RECORD}); refusing to overwrite it")
            # An earlier export's file, replaced (or, above the new file, deleted as stale:
            # one tree cannot hold it both as a file and as a folder): nothing under it counts.
            break


def _write_record(dest: Path, parts: Sequence[str], files: Iterable[str],
                  complete: bool) -> None:
    """Write the :data:`EXPORT_RECORD` of ``dest``: the parts stubbed and the files written;
    ``complete`` is false until every file is in place, and then the record holds the hash
    of each file, so that the next ``--force`` can tell one changed since."""
    # Only the teacher's export writes records: the grading subprocess, which loads this
    # module beside a student's (maybe broken) tinynet, never imports it.
    from tinynet.atomic import write_atomic

    files = sorted(files)
    record: dict[str, Any] = {"written_by": _RECORD_WRITER, "version": _RECORD_VERSION,
                              "complete": complete, "parts": list(parts), "files": files}
    if complete:  # a partial copy's files are half old, half new: no hash would tell
        record["sha256"] = {rel: _sha256(dest / rel) for rel in files}
    text = json.dumps(record, indent=1) + "\n"
    # Atomic, so the record is always whole: an export interrupted at any point leaves a
    # record that lists every file it may have written.
    write_atomic(dest / EXPORT_RECORD, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _remove_stale(dest: Path, stale: Iterable[str]) -> None:
    """Delete the files an earlier export wrote that the new one does not, and the folders
    they leave empty; a path that is now a folder, or lies under a link, is not ours."""
    for rel in sorted(stale, reverse=True):
        path = dest / rel
        parents = [dest.joinpath(*rel.split("/")[:i]) for i in range(1, rel.count("/") + 1)]
        if any(p.is_symlink() for p in parents):
            continue
        if path.is_symlink() or path.is_file():
            path.unlink()
        for folder in reversed(parents):
            try:
                folder.rmdir()  # only if empty: never a folder holding someone else's files
            except OSError:
                break


@dataclass
class ExportResult:
    """What :func:`export` wrote: the folder, the parts stubbed, how many stubs and files,
    and the parts stubbed that no test of the project is marked with (see
    :func:`part_marks`), which every grade would fail unless tests are added for them."""

    dest: Path
    parts: list[str]
    stubs: int
    files: int
    untested: list[str] = field(default_factory=list)
    #: The files copied that git does not track, in a git checkout (see :func:`_untracked`).
    untracked: list[str] = field(default_factory=list)


def export(dest: str | Path, source: str | Path | None = None,
           parts: Iterable[str] | None = None, force: bool = False,
           registry: Mapping[str, Part] = PARTS, exclude: Sequence[str] = ()) -> ExportResult:
    """Write a student copy of the project at ``source`` into ``dest``.

    The regions of ``parts`` (default: every part of ``registry``) become stubs; every
    other region keeps its code without markers. Nothing is written unless every file was
    transformed and checked: malformed markers leave ``dest`` untouched.

    ``dest`` must be new or empty, or, with ``force``, an earlier copy: a folder holding the
    :data:`EXPORT_RECORD` an export writes. Then only the files that record lists are
    overwritten or deleted; any other file in ``dest`` stays, and one in the way of the copy,
    or one of those files changed since it was written, stops the export before it writes
    anything.
    """
    root = project_root(source)
    dest = Path(dest).resolve()
    chosen = _choose(parts, registry)
    every_file = project_files(root)  # those --exclude leaves out too
    exclude = _exclude_patterns(root, exclude, every_file)
    written, hashes = _prepare_dest(dest, root, force)
    project = scan_project(root, registry, exclude, every_file)
    missing = [p for p in chosen if not project.regions_of(p)]
    if missing and (root / EXPORT_RECORD).is_file():
        # Likely when the tinynet installed is a copy: `export` without --source uses it.
        raise HomeworkError(f"part(s) {', '.join(missing)} have no region in {root}: it is a "
                            f"student copy (it has {EXPORT_RECORD}), whose export removed "
                            "every marker; export from the reference, with --source FOLDER")
    if missing:
        left_out = [f for f in every_file if any(_matches(f, p) for p in exclude)]
        raise HomeworkError(_no_region_message(root, missing, left_out))
    # The tests' marks, in every file of the project, those --exclude leaves out too (a
    # teacher's hidden tests): a typo would leave a test ungraded, and a part no test marks
    # fails every grade.
    marks = part_marks(root, every_file)
    for pid, places in marks.items():
        if pid not in registry:
            raise HomeworkError(f"a test is marked part({pid!r}), which is not a part"
                                f"{_did_you_mean(pid, registry)}: its test would grade nothing; "
                                "the parts are: " + ", ".join(registry), *places[0])
    untested = [p for p in chosen if p not in marks]
    stubbed = set(chosen)
    student: dict[str, str] = {}
    exemptions: dict[str, set[str]] = {}  # file -> the ruff codes its stubs make it report
    count = 0
    for rel, regions in project.regions.items():
        text, source_line, stubs = stub_source(project.texts[rel], regions, stubbed, registry)
        _check_student_source(text, rel, source_line, stubs)
        if stubs:
            kept, _, _ = stub_source(project.texts[rel], regions, (), registry)
            codes = lint_codes(kept, text)
            if codes:
                exemptions[rel] = codes
        student[rel] = text
        count += len(stubs)
    if exemptions and "pyproject.toml" in project.files:
        # Decoded as is, not read_text: the file's own line endings are kept.
        config = (root / "pyproject.toml").read_bytes().decode("utf-8")
        student["pyproject.toml"] = with_lint_exemptions(config, exemptions)
    if chosen and "README.md" in project.files:
        try:
            readme = (root / "README.md").read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            pass  # not text this can edit: copied as it is
        else:
            student["README.md"] = with_student_note(readme, chosen, project.files)
    _check_overwrites(dest, written, project.files)
    _check_unchanged(dest, hashes)
    # The record comes first and lists the old files and the new ones: if the export is
    # interrupted, DEST is still recognisably a copy, and --force can finish the job.
    dest.mkdir(parents=True, exist_ok=True)
    _write_record(dest, chosen, written | set(project.files), complete=False)
    _remove_stale(dest, written - set(project.files))
    for rel in project.files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()  # an earlier export's file replaced by a link: never write through
        if rel in student:
            target.write_bytes(student[rel].encode("utf-8"))
            shutil.copymode(root / rel, target)
        else:
            shutil.copy2(root / rel, target)
    _write_record(dest, chosen, project.files, complete=True)
    untracked = sorted(_untracked(root).intersection(project.files))
    return ExportResult(dest, chosen, count, len(project.files), untested, untracked)


# ------------------------------------------------------------------------------ grading
# The grader runs pytest in a subprocess whose working folder is the project, so that the
# project's own tinynet (the student's) is imported. This module is loaded there by file
# path, under another name, and records what happened to each marked test, one JSON object
# per line, flushed as it goes: a run killed by the timeout keeps what it had done. SIGUSR1
# makes it print where it is, to the output file itself (a copy of the descriptor, as
# pytest swaps stderr's while a test runs).
_BOOTSTRAP = """\
import faulthandler, importlib.util, os, signal, sys
sys.path.insert(0, os.getcwd())
if hasattr(signal, "SIGUSR1"):  # see _say_where
    _where = os.fdopen(os.dup(sys.stderr.fileno()), "w")
    faulthandler.register(signal.SIGUSR1, file=_where, all_threads=True)
spec = importlib.util.spec_from_file_location("_tinynet_homework_grader", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
sys.exit(module.run_pytest(sys.argv[2:]))
"""


#: The most characters of a test's error that a grade keeps, on one line: ``--json`` shows
#: them (NumPy's assertions put the values that differ last), the table 200 to 300.
ERROR_LIMIT = 1000


def _one_line(text: str, limit: int = ERROR_LIMIT) -> str:
    """An error's text on one line of at most ``limit`` characters: its first non-empty line,
    unless that line is only a label, ending in a colon.

    NumPy's assertions start their message with a newline, so pytest shows them as a bare
    ``AssertionError:`` with the message on the lines below (``Arrays are not equal``,
    ``Mismatched elements: 1 / 3 (33.3%)``, the entries that differ, ...). After a label the
    next non-empty lines are joined in, with "; " between them (a space after a line that is
    itself a label), until the limit.
    """
    lines = [s.strip() for s in str(text).splitlines() if s.strip()]
    line = lines[0] if lines else ""
    if line.endswith(":"):
        for more in lines[1:]:
            if len(line) > limit:
                break
            line += (" " if line.endswith(":") else "; ") + more
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _error_line(exc: BaseException, exconly: str) -> str:
    """A test's error on one line (:func:`_one_line` of ``exconly``, pytest's text of
    ``exc``). An exception group (hypothesis raises one when it finds several distinct
    failures) says only how many it holds: it is summed up by its first failure instead.

    The notes added to the exception are left out: hypothesis's "Falsifying example:
    test_x(\n    n=0,  # or any other generated value\n)" would be folded into the end of a
    short message (pytest with ``--hypothesis-seed=0`` shows the example whole)."""
    group = getattr(exc, "exceptions", None)
    if not group:
        return _one_line(_without_notes(exc, exconly))
    leaf = group[0]
    while getattr(leaf, "exceptions", None):  # a group in the group
        leaf = leaf.exceptions[0]
    text = "".join(traceback.format_exception_only(type(leaf), leaf))
    return _one_line(f"first of {len(group)} failures: {_without_notes(leaf, text)}")


def _without_notes(exc: BaseException, text: str) -> str:
    """``text``, the printed form of ``exc``, without the notes added to ``exc``."""
    for note in getattr(exc, "__notes__", None) or ():
        text = text.replace(str(note), "")
    return text


#: The longest message of a part that :meth:`GradeReport.table` shows (``--json`` shows
#: each whole).
MESSAGE_LIMIT = 300


def _stub_line(message: str, limit: int = MESSAGE_LIMIT) -> str:
    """A stub's message on one line of at most ``limit`` characters. A long one loses the
    end of its hint, never its last words, "; see <page>", which say what to read."""
    line = _one_line(message, len(message))
    if len(line) <= limit:
        return line
    hint, see, page = line.rpartition("; see ")
    if not see or len(see + page) > limit // 2:  # no page to keep: cut the end
        return _one_line(line, limit)
    return _one_line(hint, limit - len(see) - len(page)) + see + page


def _find_stub(exc: BaseException | None) -> tuple[str, str] | None:
    """(part id, message) of a stub's NotImplementedError in ``exc``'s chain, if any."""
    stack, seen = [exc], set()
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, NotImplementedError) and e.args and isinstance(e.args[0], str):
            match = _STUB_MESSAGE.fullmatch(e.args[0])
            if match:
                return match.group(1), _one_line(e.args[0], len(e.args[0]))
        # Depth first, a group's failures in order (hypothesis's groups): of several stubs,
        # the first failure's, the one _error_line shows; then the errors e came from.
        stack.extend((e.__context__, e.__cause__))
        stack.extend(reversed(getattr(e, "exceptions", None) or ()))
    return None


# Where pytest's report of a collection error points: a frame line ("minilib/ops.py:3: in
# <module>") or, for a SyntaxError, the quoted file and line above the message.
_FRAME = re.compile(r'^(?:([^\s<>][^:\n]*?):(\d+): in \S+|E\s+File "([^"]+)", line (\d+))$',
                    re.M)


def _error_place(exc: BaseException, test_file: str, project: str | Path = ".") -> str:
    """``"path:line: "`` of the innermost frame of ``exc``'s traceback in the project's own
    files, or ``""`` when that frame is in ``test_file``, which the test's node id names
    already (a failed assert). So an error raised in the student's code (an AttributeError in
    a layer's backward) says where it is. An exception group is placed by its first leaf."""
    # Not isinstance(exc, BaseExceptionGroup): Python 3.10 has none, and the groups there
    # (the exceptiongroup backport's, which pytest and hypothesis raise) are other classes.
    while group := getattr(exc, "exceptions", None):
        exc = group[0]
    frames = traceback.extract_tb(exc.__traceback__)
    where = _last_place(((f.filename, f.lineno) for f in frames), project)
    return "" if where.startswith(f"{test_file}:") else where


def _project_path(filename: str, project: str | Path) -> str | None:
    """``filename`` as a posix path relative to ``project``, or None when it is not one of
    the project's files: outside it, in an environment (``.venv``) or not a file at all
    (``<frozen importlib._bootstrap>``, ``<string>``)."""
    if filename.startswith("<"):
        return None
    path = Path(project, filename).resolve()
    try:
        rel = path.relative_to(Path(project).resolve())
    except ValueError:
        return None
    if any(p in EXCLUDED_DIRS or p == "site-packages" for p in rel.parts):
        return None
    return rel.as_posix()


def _error_location(text: str, project: str | Path = ".") -> str:
    """``"path:line: "`` of the last place in the project that a traceback ``text`` shows,
    or ``""``. A SyntaxError's message alone names neither the file nor the line, and the
    file that does not compile is often not the test file pytest could not collect."""
    return _last_place(((m.group(1) or m.group(3), m.group(2) or m.group(4))
                        for m in _FRAME.finditer(text)), project)


def _last_place(frames: Iterable[tuple[str | None, object]], project: str | Path) -> str:
    """``"path:line: "`` of the last of the (filename, line) ``frames`` in the project's own
    files, or ``""``."""
    where = ""
    for filename, line in frames:
        path = _project_path(filename, project) if filename else None
        if path is not None:
            where = f"{path}:{line}: "
    return where


def _marked_parts(item: Any) -> list[str]:
    ids: list[str] = []
    for mark in item.iter_markers("part"):
        for pid in (*mark.args, *mark.kwargs.values()):
            if isinstance(pid, str) and pid not in ids:
                ids.append(pid)
    return ids


_PART_WORD = re.compile(rb"\bpart\b")


def _may_mark_parts(path: Path) -> bool:
    """Whether the Python file at ``path`` may mark a test with a part: its code, comments
    aside, names ``part`` (``pytest.mark.part``, ``getattr(pytest.mark, "part")``)."""
    try:
        source = path.read_bytes()
    except OSError:
        return True  # pytest reports it
    if not _PART_WORD.search(source):
        return False  # most files: no need to tokenize
    try:
        # "part" in a comment ("its imaginary part") marks nothing.
        return any(tok.type != tokenize.COMMENT and _PART_WORD.search(tok.string.encode())
                   for tok in tokenize.tokenize(io.BytesIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return True  # pytest reports it


def part_marks(root: str | Path, files: Iterable[str]) -> dict[str, list[tuple[str, int]]]:
    """Where the Python ``files`` of the project at ``root`` mark tests with a part, read
    from their source, by part id: ``{"relu": [("tests/test_layers.py", 120), ...]}``.

    Each ``<...>.mark.part("<id>")`` is one, as a decorator, a ``pytestmark`` or a
    ``pytest.param``'s mark; an id that is not a string written out (a variable) cannot be
    read from the source and is left out. Fast, as no test module is imported: export
    checks the marks with it, where collecting the tests (as grade does) would take seconds.
    """
    marks: dict[str, list[tuple[str, int]]] = {}
    for rel in files:
        if not rel.endswith(".py"):
            continue
        source = (Path(root) / rel).read_bytes()
        if not _PART_WORD.search(source):
            continue  # most files: no need to parse
        try:
            tree = ast.parse(source, rel)
        except (SyntaxError, ValueError):
            continue  # pytest reports it, as the grade's error
        for node in ast.walk(tree):
            # <...>.mark.part(...): a call of "part" on something whose last name is "mark"
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "part" and (
                    getattr(func.value, "attr", None) or getattr(func.value, "id", None)) == "mark":
                # part("relu") or part(id="relu"), as grade reads them (_marked_parts)
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        marks.setdefault(arg.value, []).append((rel, node.lineno))
    return marks


def _defines_tests(path: Path) -> bool:
    """Whether the file at ``path`` is Python that defines tests as pytest finds them: a
    function ``test*`` or a class ``Test*`` at its top level."""
    if path.suffix != ".py":
        return False
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (SyntaxError, ValueError, OSError):
        return False
    return any((isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name.startswith("test"))
               or (isinstance(node, ast.ClassDef) and node.name.startswith("Test"))
               for node in tree.body)


def _recorder(report: str, parts: Collection[str] | None, select: bool,
              marking_files_only: bool = False) -> Any:
    import pytest  # only in the grading subprocess: the library does not need pytest

    class Recorder:
        """Writes an event per collected test, per test phase and per collection error."""

        def __init__(self) -> None:
            self.out = open(report, "a", encoding="utf-8")  # closed at session finish

        def write(self, **event: Any) -> None:
            self.out.write(json.dumps(event) + "\n")
            self.out.flush()

        def pytest_configure(self, config: Any) -> None:
            # So that --strict-markers accepts part() even where the project forgot it.
            config.addinivalue_line("markers", "part(id): the homework part a test grades")

        @pytest.hookimpl(trylast=True)
        def pytest_collection_modifyitems(self, session: Any, config: Any, items: list) -> None:
            keep, drop, seen = [], [], set()
            for item in items:
                ids = _marked_parts(item)
                seen.update(ids)
                wanted = bool(ids) and (parts is None or bool(set(ids) & set(parts)))
                if select and not wanted:
                    drop.append(item)
                    continue
                keep.append(item)
                self.write(event="collected", nodeid=item.nodeid, parts=ids)
            self.write(event="seen", parts=sorted(seen))
            if drop:
                config.hook.pytest_deselected(items=drop)
                items[:] = keep

        def pytest_ignore_collect(self, collection_path: Path, config: Any) -> bool | None:
            # Importing every test module is most of the time of a collection: `list` skips
            # those whose code cannot mark a test with a part (conftest.py and __init__.py
            # set up the others, so they always load). docs/homework.md says so.
            if (marking_files_only and collection_path.suffix == ".py"
                    and collection_path.name not in ("conftest.py", "__init__.py")
                    and not _may_mark_parts(collection_path)):
                return True
            return None

        def pytest_collection_finish(self, session: Any) -> None:
            # A test's message comes from its exception (pytest_runtest_makereport below),
            # never from its traceback, and pytest's default long traceback parses the whole
            # source file again for every frame (hypothesis formats one per failing
            # example too): half the time of grading a fresh copy. From here on, tracebacks
            # are one line. Collection errors, before this point, keep the traceback that
            # their message takes its file and line from.
            session.config.option.tbstyle = "line"

        def pytest_collectreport(self, report: Any) -> None:
            if report.failed:
                text = report.longreprtext
                stub = re.search(rf"NotImplementedError: (({_PART_ID}): .*?; see \S+)", text)
                errors = [m.group(1) for m in re.finditer(r"^E\s+(\S.*)$", text, re.M)]
                where = _error_location(text)
                self.write(event="collect_error", nodeid=report.nodeid,
                           message=_one_line(where + (errors[-1] if errors else text)),
                           stub=[stub.group(2), stub.group(1)] if stub else None)

        def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
            self.write(event="start", nodeid=nodeid)

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_makereport(self, item: Any, call: Any
                                      ) -> Generator[None, Any, None]:
            outcome = yield
            rep = outcome.get_result()
            message, stub = "", None
            if rep.failed and call.excinfo is not None:
                stub = _find_stub(call.excinfo.value)
                message = stub[1] if stub else (
                    _error_place(call.excinfo.value, rep.nodeid.split("::")[0])
                    + _error_line(call.excinfo.value, call.excinfo.exconly()))
            elif rep.failed:
                message = _one_line(rep.longreprtext)
            elif rep.skipped:
                longrepr = rep.longrepr
                reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
                # pytest's reason reads "Skipped: not written yet": one "skipped" is enough.
                message = "skipped: " + _one_line(reason.removeprefix("Skipped: "))
            self.write(event="report", nodeid=rep.nodeid, when=rep.when, outcome=rep.outcome,
                       message=message, stub=list(stub) if stub else None)

        def pytest_sessionfinish(self, session: Any, exitstatus: int) -> None:
            self.write(event="finished", exitstatus=int(exitstatus))
            self.out.close()

    return Recorder()


def run_pytest(argv: Sequence[str]) -> int:
    """The grading subprocess: ``argv`` is a JSON settings object, then pytest's arguments."""
    settings = json.loads(argv[0])
    import pytest

    plugins = [_recorder(settings["report"], settings["parts"], settings["select"],
                         settings["collect_only"])]
    try:
        from hypothesis.configuration import set_hypothesis_home_dir
    except ImportError:  # a project whose tests do not use hypothesis
        pass
    else:
        # A grade must not depend on the run: property tests draw the same examples every
        # time (one fixed seed), and keep no example database in the student's folder
        # (it goes to the run's temporary folder), which the next run would replay.
        set_hypothesis_home_dir(Path(settings["report"]).parent / ".hypothesis")
        plugins += [_fixed_hypothesis_seed(), _no_shrinking()]
    return int(pytest.main(list(argv[1:]), plugins=plugins))


def _fixed_hypothesis_seed() -> Any:
    """A pytest plugin that sets hypothesis's --hypothesis-seed to 0 when hypothesis's own
    plugin is loaded. Not passed on the command line: with that plugin off
    (PYTEST_DISABLE_PLUGIN_AUTOLOAD=1, or ``-p no:hypothesispytest`` in the project's
    addopts) pytest would refuse the option, and no part could be graded."""
    import pytest

    class FixedSeed:
        @pytest.hookimpl(tryfirst=True)  # before hypothesis's, which reads the seed
        def pytest_configure(self, config: Any) -> None:
            if getattr(config.option, "hypothesis_seed", "") is None:  # its own, not given
                config.option.hypothesis_seed = "0"  # as from the command line (0 is falsy)

    return FixedSeed()


def _no_shrinking() -> Any:
    """A pytest plugin that turns off hypothesis's shrink phase for the grade's run.

    After a property test fails, hypothesis shrinks its example: it runs the test again on
    ever smaller examples, for the smallest one that still fails. A grade needs only that
    the test failed, and the error of its first failing example: in a fresh copy, where every
    test of a stub fails, shrinking was half the grading time. The student's own pytest run
    still shrinks."""
    from hypothesis import Phase, settings

    class NoShrinking:
        def pytest_collectstart(self, collector: Any) -> None:
            # Before each test module is imported: a property test keeps the settings in
            # force when it is defined. Derived from them, so that the project's own profile
            # (its examples, its deadline), loaded by a conftest.py, stays in force.
            current = settings()  # with no argument, those in force
            if Phase.shrink in current.phases:
                settings.register_profile(
                    "tinynet-grade", parent=current,
                    phases=[phase for phase in current.phases if phase is not Phase.shrink])
                settings.load_profile("tinynet-grade")

    return NoShrinking()


@dataclass
class _Run:
    events: list[dict[str, Any]]
    timed_out: bool
    #: Why pytest ended before it had finished (killed by a signal, a test's os._exit), with
    #: the end of its output; None when it finished or timed out.
    crash: str | None = None
    returncode: int = 0
    output: str = ""  # the end of pytest's output, :data:`_OUTPUT_TAIL` bytes at most


def _kill_session(proc: subprocess.Popen) -> None:
    """Kill ``proc``, started with a session of its own, and every process of that session
    (the tests' child processes)."""
    if hasattr(os, "killpg"):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass  # the session has ended (macOS says EPERM when it has, not yet reaped)
    else:
        # Windows has no sessions: taskkill /T ends the process and those it started, which
        # would otherwise run on, holding open the output file the grader then removes.
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)],
                           capture_output=True, timeout=30)
        proc.kill()  # if taskkill could not


def _grading_env() -> dict[str, str]:
    """The environment of the Python processes that import and test a student's project:
    this one's, with no bytecode written (``__pycache__`` folders in the student's copy; the
    grader leaves it as it found it), and output in UTF-8, as the grader reads it (on
    Windows, output into a file or a pipe is cp1252, in which printing a check mark fails)."""
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8"}


#: How much of the end of pytest's output a grade keeps, in bytes, to report a crash.
_OUTPUT_TAIL = 64 * 1024


def _run_pytest_subprocess(project: Path, parts: Collection[str] | None, select: bool,
                           collect_only: bool, timeout: float) -> _Run:
    # Here, not at the top: the grading subprocess loads this module without tinynet.
    from tinynet.atomic import stop_signals_raise

    # Checked here, in this process, as the subprocess is the same Python: without pytest it
    # ended on a traceback, which the grade and the list quoted as "pytest could not run".
    if importlib.util.find_spec("pytest") is None:
        raise HomeworkError(f"the tests run with pytest, which {sys.executable} cannot import: "
                            'install the development extras, pip install -e ".[dev]" in the '
                            "project's folder (or, for an installed tinynet, pip install "
                            "pytest pytest-xdist hypothesis)")
    # Its files may still be open on Windows (a killed test's interpreter, which the venv's
    # python.exe launched, can outlive it a moment): what is left there is left behind.
    with tempfile.TemporaryDirectory(prefix="tinynet-homework-",
                                     ignore_cleanup_errors=True) as tmp:
        report = Path(tmp) / "events.jsonl"
        settings = {"report": str(report), "parts": None if parts is None else sorted(parts),
                    "select": select, "collect_only": collect_only}
        # --show-capture=no: a failing test's captured output is not printed again (a
        # student's debugging prints, maybe megabytes a call): the grade never reads it.
        args = ["-q", "-p", "no:cacheprovider", "--continue-on-collection-errors",
                "--maxfail=1000000000", "--show-capture=no"]
        if collect_only:
            # No test runs, so rewriting the asserts of every test module (most of the rest
            # of the time) would be wasted.
            args += ["--collect-only", "--assert=plain"]
        command = [sys.executable, "-c", _BOOTSTRAP, str(Path(__file__).resolve()),
                   json.dumps(settings), *args]
        # pytest's output goes to a file, of which only the end is read (a crash's last
        # words): a flood of output (a student's prints, which pytest may show) would fill
        # memory.
        log = Path(tmp) / "output.txt"
        timed_out = False
        with stop_signals_raise():
            with open(log, "wb") as out:
                # A session of its own, so a timeout kills the tests' child processes too.
                proc = subprocess.Popen(command, cwd=project, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        env=_grading_env())
            try:
                timed_out = _wait_while_events_come(proc, report, timeout)
                if timed_out:
                    _say_where(proc, log)
                    _kill_session(proc)
                    proc.wait()
            except BaseException:
                # Ctrl-C (or SIGTERM, above) reaches this process only, not the tests'
                # session: without this, they would run on after the command has ended, an
                # endless loop for ever.
                _kill_session(proc)
                proc.wait()
                raise
        with open(log, "rb") as out:
            out.seek(max(0, log.stat().st_size - _OUTPUT_TAIL))
            output = out.read()
        events = []
        if report.exists():
            for line in report.read_text(encoding="utf-8").splitlines():
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:  # the last line of a killed run
                    break
    crash, text = None, output.decode("utf-8", "replace")
    # The session's exit status, not the process's: a crash after the session has finished
    # (at Python's exit, from memory a test wrote over) leaves every test its outcome.
    finished = [e["exitstatus"] for e in events if e["event"] == "finished"]
    if not timed_out and (not finished or finished[-1] not in (0, 1, 5)):
        # The tail of a crash's traceback is pytest's frames: the place names the project's.
        tail = "\n".join(text.strip().splitlines()[-15:])
        crash = (f"pytest could not run in {project} ({_exit_status(proc.returncode)})"
                 f"{_crash_place(text, project)}:\n{tail}")
    return _Run(events, timed_out, crash, proc.returncode, text)


def _say_where(proc: subprocess.Popen, log: Path) -> None:
    """Have ``proc``, a test that ran out of time, print its stack in ``log`` (see
    _BOOTSTRAP) before it is killed: an endless loop's place, for :func:`_crash_place`."""
    if not hasattr(signal, "SIGUSR1") or proc.poll() is not None:
        return  # (send_signal would not send to a process that has ended)
    size = log.stat().st_size
    proc.send_signal(signal.SIGUSR1)
    # faulthandler writes from its signal handler, at once, even in the middle of a NumPy
    # call: wait for that output to start, then for it to end.
    deadline = time.monotonic() + 2
    while log.stat().st_size == size and time.monotonic() < deadline:
        time.sleep(0.02)
    while log.stat().st_size != size and time.monotonic() < deadline:
        size = log.stat().st_size
        time.sleep(0.05)


def _wait_while_events_come(proc: subprocess.Popen, report: Path, timeout: float) -> bool:
    """Wait for ``proc`` to end; True, leaving it running, once ``timeout`` seconds have gone
    by without a new event in ``report``.

    The recorder writes one as each test starts and ends, so the limit is that of one test
    (or of collecting them all): a teacher's --timeout catches an endless loop without
    cutting short a run of many tests that are each quick.
    """
    size, deadline = -1, time.monotonic() + timeout
    while True:
        try:
            proc.wait(timeout=0.1)
            return False
        except subprocess.TimeoutExpired:
            pass
        grown = report.stat().st_size if report.exists() else 0
        if grown != size:
            size, deadline = grown, time.monotonic() + timeout
        elif time.monotonic() >= deadline:
            return True


#: The exit statuses Windows gives a process it ended for a fault (NTSTATUS codes), where
#: POSIX sends a signal: 0xC0000005 for what is SIGSEGV there.
_WINDOWS_FAULTS = {0xC0000005: "STATUS_ACCESS_VIOLATION", 0xC000001D: "STATUS_ILLEGAL_INSTRUCTION",
                   0xC0000094: "STATUS_INTEGER_DIVIDE_BY_ZERO", 0xC00000FD: "STATUS_STACK_OVERFLOW",
                   0xC000013A: "STATUS_CONTROL_C_EXIT", 0xC0000409: "STATUS_STACK_BUFFER_OVERRUN"}


def _exit_status(returncode: int) -> str:
    """A process's exit status in words: "killed by SIGSEGV" for a signal's -11, "ended by
    STATUS_ACCESS_VIOLATION (0xC0000005)" for Windows' 3221225477."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    if returncode >= 0xC0000000:  # an NTSTATUS error; a POSIX exit status is below 256
        name = _WINDOWS_FAULTS.get(returncode, "a Windows error status")
        return f"ended by {name} (0x{returncode:08X})"
    return f"exit status {returncode}"


# A frame of the traceback Python's faulthandler prints when the process crashes (pytest
# turns it on), most recent call first: '  File "/copy/tinynet/layers/conv.py", line 95 in im2col'.
_FAULT_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+) in \S+$', re.M)


def _crash_place(output: str, project: Path) -> str:
    """``" at path:line"`` of the innermost frame in the project's own files that the
    faulthandler traceback in ``output`` shows, or ``""``."""
    # faulthandler shows the stack of every thread, each a block of its own: the crash is in
    # the "Current thread" one, not always the first (another may idle in the project's code).
    _, current, stack = output.rpartition("Current thread ")
    for m in _FAULT_FRAME.finditer(stack.split("\n\n")[0] if current else output):
        path = _project_path(m.group(1), project)
        if path is not None:
            return f" at {path}:{m.group(2)}"
    return ""


# Imports each package named on the command line in a fresh interpreter, and prints, for the
# first one that fails, its error and the traceback's frames as one JSON line, after
# "IMPORT-CHECK " at the start of a line (the package may print too, at import). A package
# imported from outside the folder fails too: with the folder's package gone (or without its
# __init__.py), Python imports the one installed in its environment, maybe the reference,
# and the tests would grade that one.
_IMPORT_CHECK = """\
import faulthandler, importlib, importlib.util, json, os, sys, traceback
# Out of time (argv[1] seconds): print where it is, as _crash_place reads it, and end.
faulthandler.dump_traceback_later(float(sys.argv[1]), exit=True)
here = os.getcwd()
sys.path.insert(0, here)
def report(name, error, frames):
    print("\\nIMPORT-CHECK " + json.dumps({"package": name, "error": error, "frames": frames}))
for name in sys.argv[2:]:
    # "?name": the package only the project's name suggests; checked if it is found at all.
    name, optional = name.lstrip("?"), name.startswith("?")
    if optional and importlib.util.find_spec(name) is None:
        continue
    try:
        module = importlib.import_module(name)
    except BaseException as e:
        frames = [(f.filename, f.lineno) for f in traceback.extract_tb(e.__traceback__)]
        if isinstance(e, SyntaxError) and e.filename:
            frames.append((e.filename, e.lineno))
        error = traceback.format_exception_only(type(e), e)[-1].strip()
        report(name, error, frames)
        break
    # A namespace package (a folder without __init__.py) has a __path__ but no __file__.
    where = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), "")
    if not os.path.abspath(where).startswith(os.path.join(here, "")):
        error = (f"this folder has no {name}/__init__.py, so the tests would import "
                 f"{where or 'the ' + name + ' of this Python'}")
        report(name, error, [])
        break
    # One that holds no Python file of its own is not the code (a package one folder too
    # deep, name/name/): its submodules would come from wherever else Python finds them.
    if getattr(module, "__file__", None) is None and not any(
            f.endswith(".py") for f in os.listdir(where)):
        inner = os.path.join(name, name, "__init__.py")
        error = (f"{name}/ holds no Python file" + (
            f", but {inner} is there: the package is one folder too deep"
            if os.path.isfile(inner) else ""))
        report(name, error, [])
        break
"""


def _packages(project: Path) -> list[str]:
    """The project's top-level packages, tests aside: in a copy, those its export wrote, by
    its :data:`EXPORT_RECORD`, even if they are gone; elsewhere, its folders with an
    ``__init__.py``."""
    record, _ = (_load_record(project / EXPORT_RECORD) if (project / EXPORT_RECORD).is_file()
                 else ({}, None))
    files = record.get("files")
    if isinstance(files, list):
        # Not a package the student added (a scratch/ of experiments): the tests do not
        # import it, and one that does not import failed every part.
        names = {f.split("/")[0] for f in files
                 if isinstance(f, str) and f.count("/") == 1 and f.endswith("/__init__.py")}
    else:
        names = {p.parent.name for p in project.glob("*/__init__.py")}
    return sorted(name for name in names if name.isidentifier()
                  and name not in ("tests", "test") and name not in EXCLUDED_DIRS)


def _project_name(project: Path) -> str | None:
    """The package name that the ``[project]`` name of the project's pyproject.toml implies
    ("tinynet"), or None."""
    try:
        text = (project / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    # A regex, not tomllib (Python 3.11's): the table's lines up to the next table.
    table = re.search(r"(?ms)^\[project\][ \t]*$(.*?)(?=^\[|\Z)", text)
    name = table and re.search(r"""(?m)^name\s*=\s*["']([^"']+)["']""", table.group(1))
    return re.sub(r"[-_.]+", "_", name.group(1)).lower() if name else None


def _import_error(project: Path, timeout: float = TIMEOUT) -> str | None:
    """Why the project's packages do not import, naming file and line; None if they do.

    Checked before grading, in a fresh interpreter: when a package fails halfway through
    its ``__init__``, the submodules it loaded first stay in ``sys.modules``, so in the
    pytest run some test files would import them and pass while the others fail to collect,
    depending only on the order of the imports.

    Raises HomeworkError if the import takes over ``timeout`` seconds.
    """
    packages = _packages(project)
    # A folder with neither its package nor a record to name it (a copy that lost both, or
    # a submission put one folder too deep) would be graded on the package of that name
    # installed where the grader runs, maybe the reference: the project's name names it.
    # Only if Python finds one: a project may name its package otherwise.
    name = _project_name(project)
    optional = [name] if (name and name.isidentifier() and name not in packages
                          and name not in sys.stdlib_module_names) else []
    if not packages and not optional:
        return None
    # -X faulthandler: a crash at import (a wrong as_strided at module level) shows its line.
    command = [sys.executable, "-X", "faulthandler", "-c", _IMPORT_CHECK, str(timeout),
               *packages, *("?" + n for n in optional)]
    names = ", ".join([*packages, *optional])

    def out_of_time(place: str) -> HomeworkError:
        # As for collecting, which imports them too: no test ran, so no grade. A --timeout
        # shorter than Python takes to import NumPy would otherwise fail every part.
        return HomeworkError(f"importing {names} took over {timeout:g} s (--timeout){place}, "
                             "so no test ran: give a longer --timeout, or look for an endless "
                             "loop at import")

    try:
        # The check ends itself when out of time, saying where it was; this limit is for a
        # Python that cannot (its start alone taking that long on a busy machine).
        done = subprocess.run(command, cwd=project, capture_output=True, encoding="utf-8",
                              errors="replace", timeout=timeout + 30, env=_grading_env())
    except subprocess.TimeoutExpired:
        raise out_of_time("") from None
    # faulthandler's words when out of time, after whatever the package wrote to stderr.
    if done.returncode == 1 and re.search(r"^Timeout \(", done.stderr, re.M):
        raise out_of_time(_crash_place(done.stderr, project))
    # The check's line is the last with its prefix, on a line of its own: the package may
    # print at import, even without an end of line ("loading...", end="").
    lines = [line for line in done.stdout.splitlines() if line.startswith("IMPORT-CHECK ")]
    try:
        failure = json.loads(lines[-1].removeprefix("IMPORT-CHECK ")) if lines else None
    except json.JSONDecodeError:
        failure = None
    if failure is None:
        if done.returncode == 0:
            return None
        # Every exception is reported above: this is a crash (a signal, an os._exit).
        return (f"importing {names} crashed ({_exit_status(done.returncode)})"
                f"{_crash_place(done.stderr, project)}, so no part can be graded")
    where = _last_place(failure["frames"], project)
    return _one_line(f"cannot import {failure['package']}, so no part can be graded: "
                     f"{where}{failure['error']}", 300)


def collect_tests(project: str | Path, timeout: float = TIMEOUT) -> dict[str, list[str]]:
    """The test node ids marked with each part, collected by pytest in ``project``.

    Only the test files whose code names ``part`` are imported (the others cannot mark a
    test with it), without rewriting their asserts: a fraction of the time of a whole
    collection. :func:`grade` collects every file.
    """
    return _collect(project, timeout)[0]


def _collect(project: str | Path, timeout: float
             ) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """:func:`collect_tests`; every test collected, marked with a part or not; and a line per
    file that pytest could not collect, naming the file and the error: its tests are missing
    from the first two."""
    run = _run_pytest_subprocess(_project_folder(project, "PROJECT"), None, select=False,
                                 collect_only=True, timeout=timeout)
    if run.timed_out:
        raise HomeworkError(f"collecting the tests of {project} took over {timeout:g} s")
    if run.crash:
        raise HomeworkError(run.crash)
    tests: dict[str, list[str]] = {}
    every, errors = [], []
    for e in run.events:
        if e["event"] == "collected":
            every.append(e["nodeid"])
            for pid in e["parts"]:
                tests.setdefault(pid, []).append(e["nodeid"])
        elif e["event"] == "collect_error":
            errors.append(f"{e['nodeid']}: {e['message']}")
    return tests, every, errors


@dataclass
class PartResult:
    """The grade of one part: ``status`` is "passed", "failed", "not attempted" or
    "blocked"; ``message`` says why it did not pass; ``tests`` are its test node ids.
    ``note`` is the end of ``message`` that says what else failed (an earlier part, then the
    part's other failed tests, whose names are ``also_failed``), which the table keeps when
    it cuts a long message. ``after`` is the first earlier part that failed among those whose
    code its tests run, for a part that failed after it: it may pass once that one is fixed
    (a teacher's partial credit)."""

    part: str
    status: str
    message: str = ""
    tests: list[str] = field(default_factory=list)
    note: str = ""
    after: str = ""
    also_failed: list[str] = field(default_factory=list)


@dataclass
class GradeReport:
    """Per-part results in the order graded; ``score`` is the fraction of parts passed."""

    results: dict[str, PartResult]
    unknown_parts: list[str] = field(default_factory=list)
    #: Files of the project that mark tests with a part graded, which pytest did not collect
    #: (outside its testpaths, say): their tests graded nothing.
    uncollected: list[str] = field(default_factory=list)
    #: Test files of a student's copy (tests/, conftest.py) changed or removed since its
    #: export wrote them, and conftest.py files added: the tests graded are not all the
    #: ones handed out.
    tests_changed: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        """The fraction of parts graded that passed, rounded to 4 places (0.0 for none)."""
        if not self.results:
            return 0.0
        passed = sum(r.status == PASSED for r in self.results.values())
        return round(passed / len(self.results), 4)

    @property
    def passed(self) -> bool:
        """Whether every part graded passed (and at least one was graded)."""
        return bool(self.results) and all(r.status == PASSED for r in self.results.values())

    def to_json(self) -> dict[str, Any]:
        """``{"parts": {id: status}, "score": fraction, "messages": {id: message}, "after":
        {id: earlier id}}``: the messages of the parts that did not pass, for a script
        grading a class to keep the why, and the parts that failed after an earlier one
        (:attr:`PartResult.after`)."""
        return {"parts": {p: r.status for p, r in self.results.items()}, "score": self.score,
                "messages": {p: r.message for p, r in self.results.items() if r.message},
                "after": {p: r.after for p, r in self.results.items() if r.after}}

    def table(self) -> str:
        """One row per part (id, status, message), then the score; the parts blocked, which
        score nothing but were written, are counted after it for a teacher's partial credit.
        A message over MESSAGE_LIMIT characters is cut: a hint keeping its "; see <page>", a
        failure in its test's error, keeping the note after it (the earlier part that
        failed first, then as many of the other failed tests as fit)."""
        width = max([len("part"), *map(len, self.results)])
        rows = [f"{'part':<{width}}  {'status':<13}  message"]
        for pid, r in self.results.items():
            # A long message is cut here, not in the report, so that --json keeps it whole:
            # a hint keeps the page to read, a failure what else failed.
            if r.status in (NOT_ATTEMPTED, BLOCKED):
                message = _stub_line(r.message)
            else:
                message = _cut_failure(r)
            rows.append(f"{pid:<{width}}  {r.status:<13}  {message}".rstrip())
        passed = sum(r.status == PASSED for r in self.results.values())
        blocked = sum(r.status == BLOCKED for r in self.results.values())
        # How many failed after each earlier part, in the order graded: parts use different
        # earlier parts, so "2 failed after part relu, 1 after part conv2d".
        after = Counter(r.after for r in self.results.values() if r.after)
        counts = ", ".join(f"{after[pid]} {'' if i else 'failed '}after part {pid}"
                           for i, pid in enumerate(p for p in self.results if p in after))
        may = "it may" if sum(after.values()) == 1 else "they may"
        fixed = "it is" if len(after) == 1 else "those are"
        rows.append(f"score: {passed}/{len(self.results)} parts passed ({self.score:.2f})"
                    + (f", {blocked} blocked (written, waiting for an earlier part)"
                       if blocked else "")
                    + (f", {counts} ({may} pass once {fixed} fixed)" if after else ""))
        return "\n".join(rows)


def _cut_failure(r: PartResult) -> str:
    """A failed part's message in at most MESSAGE_LIMIT characters: its error, then its
    note whole, naming as many of the other failed tests as fit whole, or only how many."""
    cause = r.message.removesuffix(r.note)
    needs = r.note.removesuffix(_also_failed(r.also_failed))
    for most in range(min(3, len(r.also_failed)), -1, -1):
        note = needs + _also_failed(r.also_failed, most)
        # The error keeps 200 characters, after a test id that may take 100: it is what
        # the student needs first, before the names of other failed tests.
        message = _one_line(cause, max(MESSAGE_LIMIT - len(note), 200)) + note
        if len(message) <= MESSAGE_LIMIT:
            return message
    # Not even the count fits beside 200 characters of the error: the error gives way.
    return _one_line(cause, MESSAGE_LIMIT - len(note)) + note


@dataclass
class _TestOutcome:
    outcome: str = PASSED  # passed, failed or skipped
    message: str = ""
    stub: tuple[str, str] | None = None
    complete: bool = False


def _outcomes(events: Iterable[Mapping[str, Any]]) -> dict[str, _TestOutcome]:
    """Each test's outcome over its phases (setup, call, teardown): the first failure."""
    tests: dict[str, _TestOutcome] = {}
    for e in events:
        if e["event"] == "start":
            tests[e["nodeid"]] = _TestOutcome()
        elif e["event"] == "report":
            t = tests.setdefault(e["nodeid"], _TestOutcome())
            if e["outcome"] == "failed" and t.outcome != FAILED:
                t.outcome, t.message = FAILED, e["message"]
                t.stub = tuple(e["stub"]) if e["stub"] else None
            elif e["outcome"] == "skipped" and t.outcome == PASSED:
                t.outcome, t.message = "skipped", e["message"]
            if e["when"] == "teardown":
                t.complete = True
    return tests


def _test_name(nodeid: str, beside: str, parameters: bool = False) -> str:
    """A test's name, from its node id, as said after the test ``beside`` (a node id):
    without its parameters unless asked ("t.py::test_a[x::y]" is test_a), and without its
    file when that is ``beside``'s ("t.py::TestA::test_a" is TestA::test_a beside
    t.py::test_b)."""
    name, bracket, params = nodeid.partition("[")  # the parameters may hold "::" too
    file, _, rest = name.partition("::")
    name = rest if file == beside.partition("::")[0] else name
    return name + bracket + params if parameters else name


def _parts_in_file(project: Path, nodeid: str, parts: Collection[str]) -> list[str]:
    """The parts a test file names, read from its text (for files pytest could not import)."""
    path = project / nodeid.split("::")[0]
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    named = re.findall(r"part\(\s*(?:id\s*=\s*)?[\"']([a-z0-9-]+)[\"']", text)
    return [p for p in parts if p in named]


def _summarise(parts: Sequence[str], collected: Mapping[str, Sequence[str]],
               outcomes: Mapping[str, _TestOutcome],
               collect_errors: Mapping[str, Sequence[Mapping[str, Any]]],
               stopped: Mapping[str, str], unwritten: Collection[str],
               uses: Mapping[str, Collection[str] | None] | None = None
               ) -> dict[str, PartResult]:
    """The status of each part from its tests' outcomes and, for a part whose tests all
    stopped at an earlier part's stub, from the parts whose stubs are still in the source,
    ``unwritten`` (see :func:`grade`). ``uses``: the earlier parts whose code each part's
    tests run (:attr:`Part.uses`); a part it does not name, or names with None, may use
    any."""
    results = {}
    failed_parts: list[str] = []  # the parts whose tests failed, in order
    for pid in parts:
        tests = [n for n, ids in collected.items() if pid in ids]
        entries: list[tuple[str, _TestOutcome]] = []
        for error in collect_errors.get(pid, ()):
            stub = tuple(error["stub"]) if error["stub"] else None
            entries.append((error["nodeid"], _TestOutcome(FAILED, "cannot collect: "
                                                          + error["message"], stub, True)))
        entries += [(n, outcomes.get(n, _TestOutcome(FAILED, "did not run"))) for n in tests]
        # The (part, message) of the stub each test stopped at.
        stubbed = [t.stub for _, t in entries if t.outcome == FAILED and t.stub]
        own = [stub for stub in stubbed if stub[0] == pid]
        failed = [(n, t) for n, t in entries
                  if (t.outcome != PASSED or not t.complete) and not t.stub]
        # Tests that stopped at an earlier part's stub say nothing of this part's code; the
        # others may: their failure is what the student needs to see.
        needs = f" (other tests need part {stubbed[0][0]} first)" if stubbed else ""
        # A part's tests use the parts before it: an earlier part that fails may be what
        # fails this one (a wrong gradient checker fails every backward pass it checks, and
        # a softmax that overflows fails the cross-entropy), so say so, rather than send
        # the student hunting for a bug in code that is right. Not of a test file that
        # cannot be collected: that is the file's own error, whoever's code it tests.
        broken = {e["nodeid"] for e in collect_errors.get(pid, ())}
        own_code = any(n not in broken for n, _ in failed)
        used = (uses or {}).get(pid)
        before = [p for p in failed_parts if used is None or p in used]
        after = before[0] if before and not needs and own_code else ""
        if after:
            needs = (f" (part {after}, before it, failed too: fix it first, as these tests may "
                     "use it)")
        if own:
            # Before a timeout or a crash too: in the tests of a part not written yet, they
            # are another part's doing (a CNN test of MaxPool2D, and a Conv2D that crashes).
            result = PartResult(pid, NOT_ATTEMPTED, own[0][1])
        elif pid in stopped:
            result = PartResult(pid, FAILED, stopped[pid] + needs, note=needs, after=after)
            failed_parts.append(pid)
        elif failed:
            # A test file that cannot be collected is shown first, as its error is most
            # often the cause; then a failed gradient check: it says what is wrong ("dW is
            # 0.25 times the numerical gradient"), where a comparison of arrays shows
            # numbers, which the table may cut. Otherwise the first failure.
            failed.sort(key=lambda f: (not (f[1].message or "").startswith("cannot collect"),
                                       _GRADIENT_CHECK_FAILED not in (f[1].message or "")))
            nodeid, t = failed[0]
            # The names of the others say more of where the bug is (a pooling test of
            # forward and backward, and one of the tie rule).
            # Each other test once, by its first failed case: its id with the parameters
            # runs that case alone (pytest's "t.py::test_a[x]"), and the test's name alone
            # would run every case, of other parts too.
            first = _test_name(nodeid, nodeid)
            shown: dict[str, str] = {}
            for n, o in failed[1:]:
                name = _test_name(n, nodeid)
                if name != first and name not in shown:
                    shown[name] = (_test_name(n, nodeid, parameters=True)
                                   + (" (skipped)" if o.outcome == "skipped" else ""))
            others = list(shown.values())
            note = needs + _also_failed(others)
            result = PartResult(pid, FAILED, f"{nodeid}: {t.message or 'did not finish'}{note}",
                                note=note, after=after, also_failed=others)
            if own_code:
                failed_parts.append(pid)
        elif stubbed:
            # Its code never ran, so only the source tells written from not: a part with a
            # stub left (one of two regions written) is not written yet.
            stub_part, stub_message = stubbed[0]
            result = PartResult(pid, NOT_ATTEMPTED if pid in unwritten else BLOCKED,
                                f"needs part {stub_part} first: {stub_message}")
        elif not tests:
            result = PartResult(pid, FAILED, f'no test is marked part("{pid}")')
        else:
            result = PartResult(pid, PASSED)
        result.tests = tests
        results[pid] = result
    return results


def assigned_parts(project: str | Path, registry: Mapping[str, Part] = PARTS) -> list[str] | None:
    """The parts the export that wrote ``project`` stubbed, from its :data:`EXPORT_RECORD`;
    None for a folder without a record (the reference), or whose record stubbed nothing.

    Raises :class:`HomeworkError` for a record that cannot say which parts were assigned (not
    an export's, or naming parts this registry does not have: an export by another version).
    """
    path = Path(project) / EXPORT_RECORD
    if not path.is_file():
        return None
    advice = "pass --parts to say which parts to grade"
    record, problem = _load_record(path)
    parts = record.get("parts")
    if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
        parts = []  # a list for the checks below: the record is refused anyway
        if problem is None:
            problem = '"parts" is not a list of part ids'
    if problem:
        raise HomeworkError(f"{path} is not an export record ({problem}); {advice}")
    unknown = [p for p in parts if p not in registry]
    if unknown:
        raise HomeworkError(f"{path} lists part(s) {', '.join(unknown)}, expected parts of "
                            f"this tinynet ({', '.join(registry)}): was the copy exported by "
                            f"another version? {advice}")
    return list(dict.fromkeys(parts)) or None


def _stubs_and_regions(project: Path, registry: Mapping[str, Part], files: Sequence[str]
                       ) -> tuple[list[str], bool]:
    """The parts of ``registry`` with a stub in the Python ``files`` of ``project``, in order,
    and whether one of them holds a solution region: the reference does, a student copy
    never (its export removed every marker). A stub that never runs, after the student's
    return, is not counted: its part is written. A file that cannot be read as Python has
    no stub (grading reports it); a broken marker is a region (the reference, being
    edited)."""
    found: dict[str, list[tuple[str, int]]] = {}
    regions = False
    for rel in files:
        raw = (project / rel).read_bytes() if rel.endswith(".py") else b""
        # b"SOLUTION" as scan_project reads it: a marker may be spaced "#  BEGIN  SOLUTION".
        stubs, markers = b"NotImplementedError(" in raw, b"SOLUTION" in raw
        if not stubs and not markers:
            continue  # most files: no need to parse them
        try:
            text = raw.decode("utf-8")
            if stubs:
                _find_stubs(text, rel, registry, found)
            if markers and not regions:
                regions = bool(parse_markers(text, rel, registry))
        except (UnicodeDecodeError, HomeworkError):
            regions = regions or markers
    return [p for p in registry if p in found], regions


def grade(project: str | Path = ".", registry: Mapping[str, Part] = PARTS,
          parts: Iterable[str] | None = None, timeout: float = TIMEOUT) -> GradeReport:
    """Run the tests of each part in ``project`` and grade the parts.

    The parts are ``parts``, or by default the parts a student copy was assigned (those its
    export stubbed, see :func:`assigned_parts`), or every part of ``registry`` in a folder
    that is not an export's (the reference). The parts an export left solved are not the
    student's work, so they never count towards the score unless asked for; a folder with
    stubs but no record, so no list of its parts, is a :class:`HomeworkError`.

    One pytest subprocess runs every test marked with a chosen part. A part passes when all
    its tests pass; it is "not attempted" when one of its tests failed on its own stub's
    NotImplementedError, or when its tests failed only on an earlier part's stub (the
    message says which) and a stub of its own is still in the source; it is "blocked" when
    they failed only on an earlier part's stub and its own stubs are all written. Otherwise
    it failed, with the first failing test (a test file that cannot be collected, then a
    failed gradient check, before others) and its error on one line (the first line, or a
    label's next lines: NumPy's messages start on a new line), and the earlier part that
    other tests need, if any. A part with no test fails. If a test runs over ``timeout``
    seconds, or kills the process (a segmentation fault), its part fails ("timed out",
    "crashed") and the unfinished parts run again without it; importing the project's package
    or collecting the tests for over ``timeout`` seconds is a :class:`HomeworkError`, as no
    test could run.
    """
    # Graded, a partial copy's missing files would fail every part: a grade of 0, where
    # there is none to give.
    record, _ = _load_record(Path(project) / EXPORT_RECORD)
    if record.get("complete") is False:
        raise HomeworkError(f"{project} is a partial copy: the export that wrote it did not "
                            "finish (interrupted?), so it cannot be graded; export it again "
                            "with --force, which completes it")
    folder = _project_folder(project, "PROJECT")
    # The parts with a stub left tell a part not written from one blocked by an earlier part.
    files = project_files(folder)
    stubbed, regions = _stubs_and_regions(folder, registry, files)
    if parts is None:
        parts = assigned_parts(folder, registry)
        copy = (folder / EXPORT_RECORD).is_file()
        advice = ("Without it every part would be graded, the parts its export left solved "
                  "too; pass --parts to say which to grade")
        if stubbed and not copy:
            # Graded on every part, it would score the solutions its export handed out.
            raise HomeworkError(
                f"{folder} has no {EXPORT_RECORD} but holds stubs of {', '.join(stubbed)}: a "
                f"student copy that lost its record? {advice}")
        if not regions and not copy:
            # Every stub written, no marker left: a copy, finished, not the reference.
            raise HomeworkError(
                f"{folder} has no {EXPORT_RECORD} and no solution regions, so it is not the "
                f"reference: a student copy that lost its record? {advice}")
    chosen = _choose(parts, registry)
    broken = _import_error(folder, timeout)
    if broken is not None:
        return GradeReport({pid: PartResult(pid, FAILED, broken) for pid in chosen})
    collected: dict[str, list[str]] = {}
    outcomes: dict[str, _TestOutcome] = {}
    collect_errors: dict[str, list[dict[str, Any]]] = {}
    # part id -> why its run was stopped: a test that timed out or crashed
    stopped: dict[str, str] = {}
    seen: set[str] = set()
    pending = list(chosen)
    while pending:
        run = _run_pytest_subprocess(folder, pending, select=True, collect_only=False,
                                     timeout=timeout)
        for e in run.events:
            if e["event"] == "collected":
                collected[e["nodeid"]] = e["parts"]
            elif e["event"] == "seen":
                seen.update(e["parts"])
            elif e["event"] == "collect_error":
                for pid in _parts_in_file(folder, e["nodeid"], pending):
                    collect_errors.setdefault(pid, []).append(e)
        outcomes.update(_outcomes(run.events))
        if not run.timed_out and not run.crash:
            break
        # A test that runs for ever, or kills the process (a segmentation fault from a wrong
        # as_strided, an os._exit): its parts fail, and the others run again without it.
        started = [e["nodeid"] for e in run.events if e["event"] == "start"]
        running = started[-1] if started and not outcomes[started[-1]].complete else None
        victims = [p for p in pending if running is not None and p in collected.get(running, ())]
        if not victims and run.crash:  # while collecting, or between tests: no test to blame
            raise HomeworkError(run.crash)
        if not victims and not started:
            # No grade at all, not a failure of every part: exit status 2, not 1.
            raise HomeworkError(f"collecting the tests of {folder} took over {timeout:g} s "
                                "(--timeout), so no test ran: give a longer --timeout")
        if not victims:  # timed out between tests (a fixture's teardown): nothing to skip
            for pid in pending:
                stopped[pid] = f"timed out after {timeout:g} s"
            break
        for pid in victims:
            stopped[pid] = ((f"timed out after {timeout:g} s in {running}" if run.timed_out
                             else f"crashed ({_exit_status(run.returncode)}) in {running}")
                            + _crash_place(run.output, folder))
        done = {p for p in pending
                if all(outcomes.get(n, _TestOutcome()).complete
                       for n, ids in collected.items() if p in ids)}
        pending = [p for p in pending if p not in victims and p not in done]
    results = _summarise(chosen, collected, outcomes, collect_errors, stopped, stubbed,
                         {pid: registry[pid].uses for pid in chosen})
    # Hidden tests copied next to tests/ rather than into it mark their parts as well as
    # any, and pytest, reading the project's testpaths, never sees them: say so, or a
    # grade would look as if it had used them.
    read = {n.split("::")[0] for n in collected}
    read |= {e["nodeid"].split("::")[0] for errors in collect_errors.values() for e in errors}
    # Files that define tests only: a helper module (marks.py, conftest.py) may write a
    # mark that a test file imports, and is never collected itself.
    marks = part_marks(folder, [f for f in files if _defines_tests(folder / f)])
    uncollected = sorted({f for pid in chosen for f, _ in marks.get(pid, ()) if f not in read})
    return GradeReport(results, sorted(seen - set(registry)), uncollected,
                       _tests_changed(folder, record, files))


def _tests_changed(folder: Path, record: Mapping[str, Any], files: Sequence[str]) -> list[str]:
    """The test files (under tests/, and every conftest.py) that the export wrote into
    ``folder`` and that have changed or gone since, by the SHA-256 its ``record`` keeps, and
    each conftest.py of ``files`` that it did not write, "(added)": a pytest hook there can
    turn any test's outcome. [] for a folder without a record's hashes."""
    hashes = record.get("sha256")
    if not isinstance(hashes, dict):
        return []
    changed = []
    for rel, digest in sorted(hashes.items()):
        if not (isinstance(rel, str) and _is_relative_path(rel)
                and (rel.startswith("tests/") or Path(rel).name == "conftest.py")):
            continue
        path = folder / rel
        if not path.is_file() or _sha256(path) != digest:
            changed.append(rel)
    changed += [f"{rel} (added)" for rel in sorted(files)
                if Path(rel).name == "conftest.py" and rel not in hashes]
    return changed


# ------------------------------------------------------------------------------ commands
def cmd_list(args: argparse.Namespace, registry: Mapping[str, Part] = PARTS) -> int:
    """``tinynet homework list``: the parts, where their regions are, and their tests; exit
    status 1 when a test file could not be collected, so its tests are missing (2 when the
    list could not be made at all, see :data:`ERROR_STATUS`)."""
    root = project_root(args.source)
    project = scan_project(root, registry)
    tests, every, errors = ({}, [], []) if args.no_tests else _collect(root, args.timeout)
    # A test function's name runs all of its parametrised cases.
    cases_of = Counter(n.split("[")[0] for n in every)
    try:
        assigned = assigned_parts(root, registry)
    except HomeworkError:
        assigned = None
    for part in registry.values():
        print(f"{part.order:2d}. {part.id}  ({part.page})")
        print(f"    {part.description}")
        regions = [(r.path, r.begin) for r in project.regions_of(part.id)]
        stubs = project.stubs.get(part.id, [])
        # The reference has regions; a student copy has stubs where they were.
        label, places = ("stubs:  ", stubs) if stubs and not regions else ("regions:", regions)
        if assigned is not None and part.id not in assigned and not places:
            print("    not in this copy's homework: its code is written")
        elif assigned is not None and not places:
            print("    stubs:   (none left)")  # a copy has no regions: the student wrote it
        else:
            print(f"    {label} " + (", ".join(f"{p}:{n}" for p, n in places) or "(none)"))
        if args.no_tests:
            continue
        names = tests.get(part.id, [])
        if not names:
            print("    tests:   (none)")
        # Cases of one test function are shown once, by its name and their count, when they
        # are all this part's: otherwise the name would run other parts' cases too (stopping
        # at their stubs), so each is shown by its own id, which runs it alone.
        grouped: dict[str, list[str]] = {}
        for n in names:
            grouped.setdefault(n.split("[")[0], []).append(n)
        shown = []
        for name, cases in grouped.items():
            if len(cases) > 1 and len(cases) == cases_of[name]:
                shown.append(f"{name} ({len(cases)} cases)")
            else:
                shown += cases
        for i, line in enumerate(shown):
            print(("    tests:   " if i == 0 else "             ") + line)
    unknown = sorted(set(tests) - set(registry))
    if unknown:
        print(f"tests marked with unknown parts: {', '.join(unknown)}", file=sys.stderr)
    for error in errors:
        # Otherwise its tests are silently missing: "(none)" for every part it tests.
        print(f"warning: cannot collect {error}; its tests are not listed", file=sys.stderr)
    return 1 if errors else 0


def cmd_export(args: argparse.Namespace, registry: Mapping[str, Part] = PARTS) -> int:
    """``tinynet homework export DEST``."""
    result = export(args.dest, source=args.source, parts=args.parts, force=args.force,
                    registry=registry, exclude=args.exclude)
    files, stubs, parts = result.files, result.stubs, len(result.parts)
    print(f"wrote a student copy to {result.dest}: {files} file{'s' * (files != 1)}, {stubs} "
          f"stub{'s' * (stubs != 1)} for {parts} part{'s' * (parts != 1)}: "
          f"{', '.join(result.parts)}")
    if result.untracked:
        them = "them" if len(result.untracked) > 1 else "it"
        print(f"note: copied {_listed(result.untracked)}, which git does not track: if "
              f"{them} should not go to students, delete {them} from DEST, or ignore {them} "
              "(or pass --exclude) and export again with --force", file=sys.stderr)
    for pid in result.untested:
        print(f"warning: no test of the project is marked part({pid!r}): every grade will "
              f"fail {pid} unless the tests you grade with mark one "
              f"(@pytest.mark.part({pid!r}))", file=sys.stderr)
    # Parts not chosen keep their code: the earlier ones, which the chosen parts' tests use,
    # and the later ones too, whose solutions a week-by-week course would hand out early.
    last = max((registry[p].order for p in result.parts), default=0)
    later = [p for p, part in registry.items() if part.order > last]
    if later:
        print(f"warning: the parts after those stubbed keep their solutions in the copy: "
              f"{', '.join(later)}. To hand them out later, stub them too (--parts) and "
              f"grade the ones due (tinynet homework grade --parts ...)", file=sys.stderr)
    return 0


def cmd_grade(args: argparse.Namespace, registry: Mapping[str, Part] = PARTS) -> int:
    """``tinynet homework grade [PROJECT]``: exit status 0 when every part passed, 1 when one
    did not (2 when the project could not be graded, see :data:`ERROR_STATUS`)."""
    copy = _copy_grading_itself()
    if copy is not None:
        print(f"warning: `python -m` imported the tinynet of the student's copy {copy}, "
              "whose homework.py is the grader now: to grade with your tinynet, run your "
              "`tinynet homework grade FOLDER` from outside the copy", file=sys.stderr)
    report = grade(args.project, registry=registry, parts=args.parts, timeout=args.timeout)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.table())
    if report.unknown_parts:
        print("warning: tests marked with parts that are not in the registry (not graded): "
              + ", ".join(report.unknown_parts), file=sys.stderr)
    if report.tests_changed:
        them = "them" if len(report.tests_changed) > 1 else "it"
        print(f"warning: {_listed(report.tests_changed)}: not as the export wrote {them}, so "
              "the tests graded are not all those handed out (to grade with yours, put the "
              "student's package in a fresh copy: docs/homework.md, Grading)", file=sys.stderr)
    for rel in report.uncollected:
        print(f"warning: {rel} marks tests with parts graded, but pytest does not collect it "
              "(outside the project's testpaths, or not named test_*.py), so they were "
              "not run: move it into tests/", file=sys.stderr)
    return 0 if report.passed else 1


def _copy_grading_itself() -> Path | None:
    """The student's copy whose own tinynet this is, when ``python -m`` imported it from
    the current folder (Python puts that first on the path for ``-m``: ``python -m tinynet``
    or ``python -m tinynet.homework`` run inside a copy), so that the copy's homework.py is
    the grader; else None. The student's ``.venv/bin/tinynet``, installed from the copy,
    grades with the copy's grader too, as it should; a teacher's ``tinynet`` command imports
    the teacher's."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    if not str(getattr(spec, "name", "")).startswith("tinynet"):
        return None
    root = Path(__file__).resolve().parents[1]  # the project of this tinynet/homework.py
    return root if (root / EXPORT_RECORD).is_file() else None


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (also used by the ``tinynet`` command).

    It raises ArgumentTypeError itself, so that argparse's message reads "argument --lr:
    expected a finite number > 0, got 'abc'" rather than naming this function.
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def path_arg(text: str) -> Path:
    """An argparse ``type``: the text as a Path, refusing an empty one.

    ``Path("")`` is the current folder, so ``export ""`` wrote the student copy there, and
    ``--out ""`` (a variable that was never set, in a script) would write into whatever
    folder the command runs in. Defined here, in a module of the standard library only, for
    this module's commands and :mod:`tinynet.reference`'s alike.
    """
    if not text:
        raise argparse.ArgumentTypeError("expected a path, got ''")
    return Path(text)


def _add_actions(parser: argparse.ArgumentParser, registry: Mapping[str, Part]) -> None:
    actions = parser.add_subparsers(dest="homework_action", metavar="ACTION")
    # With no action, no `run`: the caller prints this help, as `tinynet` alone does. (Not a
    # default `run` printing it: in Python 3.9.8 and 3.10.0 that would win over an action's.)
    parser.set_defaults(print_help=parser.print_help)
    ids = ", ".join(registry)
    timeout_help = (f"seconds one test, importing the package, or collecting the tests may "
                    f"take (default {TIMEOUT:g})")
    source_help = "the reference project (default: the one tinynet is installed from)"

    p = actions.add_parser("list", help="the parts, their regions and their tests",
                           description="List the parts in their suggested order, with their "
                           "docs page, the files and lines of their solution regions and the "
                           "tests marked with them.")
    p.add_argument("--source", type=path_arg, help=source_help)
    p.add_argument("--no-tests", action="store_true", help="do not collect the tests (faster)")
    p.add_argument("--timeout", type=positive_float, default=TIMEOUT, help=timeout_help)
    p.set_defaults(run=functools.partial(cmd_list, registry=registry),
                   error_status=ERROR_STATUS)

    p = actions.add_parser("export", help="write a student copy with stubbed parts",
                           description="Copy the project to DEST, replacing the solution "
                           "regions of the chosen parts by stubs that raise "
                           "NotImplementedError with a hint, and dropping every marker.")
    p.add_argument("dest", type=path_arg, metavar="DEST", help="the folder of the student copy")
    p.add_argument("--parts", nargs="+", action="extend", metavar="ID", type=_part_id(registry),
                   help=f"the parts to stub (default: all): {ids}")
    p.add_argument("--force", action="store_true",
                   help=f"replace an earlier copy in a non-empty DEST (a folder with the "
                   f"{EXPORT_RECORD} an export writes): only the files it lists are "
                   "overwritten or deleted")
    p.add_argument("--source", type=path_arg, help=source_help)
    p.add_argument("--exclude", nargs="+", action="extend", metavar="PATTERN", default=[],
                   help="also leave out these paths (glob patterns relative to the project, "
                   "e.g. hidden_tests)")
    p.set_defaults(run=functools.partial(cmd_export, registry=registry))

    p = actions.add_parser("grade", help="run each part's tests and print a score",
                           description="Run the tests marked @pytest.mark.part(ID) in PROJECT "
                           "and print, per part, passed, failed (with the first error, a "
                           "gradient check's first), not "
                           "attempted (a stub raised NotImplementedError) or blocked (written, "
                           "but its tests need an earlier part's stub written), and the score. "
                           "The exit status is 0 when every part passed, 1 when one did not, "
                           f"{ERROR_STATUS} when the project could not be graded.")
    p.add_argument("project", nargs="?", type=path_arg, default=Path("."), metavar="PROJECT",
                   help="the project folder (default: the current folder)")
    p.add_argument("--json", action="store_true",
                   help='print {"parts": {ID: STATUS}, "score": FRACTION, "messages": {ID: '
                   'MESSAGE}, "after": {ID: EARLIER_ID}} instead of a table')
    p.add_argument("--parts", nargs="+", action="extend", metavar="ID", type=_part_id(registry),
                   help=f"grade these parts (default: the parts the copy's export stubbed, "
                   f"from its {EXPORT_RECORD}; every part in a folder without one): {ids}")
    p.add_argument("--timeout", type=positive_float, default=TIMEOUT, help=timeout_help)
    p.set_defaults(run=functools.partial(cmd_grade, registry=registry),
                   error_status=ERROR_STATUS)


def add_parser(subparsers: Any, registry: Mapping[str, Part] = PARTS) -> argparse.ArgumentParser:
    """Add the ``homework`` subcommand (``list``, ``export``, ``grade``) to ``subparsers``;
    each sets ``run``, a callable(args) -> exit status, and ``list`` and ``grade`` set
    ``error_status``, the status to exit with on an error (:data:`ERROR_STATUS`). With no
    action, ``homework_action`` is None and ``print_help`` prints the subcommand's help."""
    parser = subparsers.add_parser(
        "homework", help="student copies with stubbed parts, and per-part grading",
        description="Export a student copy of the project with chosen parts replaced by "
        "stubs, and grade a copy part by part. See docs/homework.md.")
    _add_actions(parser, registry)
    return parser


def main(argv: Sequence[str] | None = None, registry: Mapping[str, Part] = PARTS) -> int:
    """``python -m tinynet.homework ACTION ...``: the same as ``tinynet homework``, its
    errors reported by the ``tinynet`` command's own handling."""
    from tinynet import cli  # here: cli imports this module

    parser = argparse.ArgumentParser(
        prog="tinynet homework", description="Student copies with stubbed parts, and "
        "per-part grading. See docs/homework.md.")
    _add_actions(parser, registry)
    return cli.main(argv, parser)


if __name__ == "__main__":
    raise SystemExit(main())
