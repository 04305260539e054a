"""What the assignment's source says: its nbgrader cells, points, hidden tests and checksums.

The gradebook is nbgrader's record of the source notebook (SaveCells stores each locked or
graded cell *before* ClearHiddenTests runs, so test cells keep their hidden tests there); it is
the authority restore.py rebuilds a submission from. `Assignment` is plain, picklable data, so
grading a submission needs no database.
"""
import ast
import hashlib
import json
import os
import tempfile
from pathlib import Path
from dataclasses import asdict, dataclass
from functools import cached_property

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps.api import NbGraderAPI
from nbgrader.preprocessors import ClearHiddenTests

from . import course

HIDDEN_BEGIN = "BEGIN HIDDEN TESTS"
MAX_DESCRIPTION_CHARS = 300
GPU_TEST_SUFFIX = "_gpu"


class AssignmentError(Exception):
    """The assignment cannot be read from the course: grading cannot start."""


@dataclass(frozen=True)
class CellSpec:
    grade_id: str
    cell_type: str
    source: str  # as the gradebook holds it: hidden tests included
    checksum: str | None
    locked: bool
    grade: bool
    solution: bool
    points: float | None

    @property
    def is_test(self) -> bool:
        """An autograder test cell: graded by running it."""
        return self.grade and not self.solution and self.cell_type == "code"

    @property
    def needs_gpu(self) -> bool:
        """A test that only a kernel with CUDA can grade (who decides what about GPUs: gpu.py)."""
        return self.is_test and needs_gpu(self.grade_id)

    @property
    def role(self) -> str:
        """Where the cell runs (execute.py): `trusted` (a test: the referee only), `both` (read-only
        code such as the setup: the student's kernel, then the referee) or `student` (answers)."""
        if self.is_test:
            return "trusted"
        return "both" if self.cell_type == "code" and self.locked and not self.solution else "student"

    @property
    def hidden(self) -> bool:
        return HIDDEN_BEGIN in self.source

    @cached_property
    def fully_hidden(self) -> bool:
        """Students never saw any of this test: nothing but its docstring is outside the hidden region."""
        if not self.hidden:
            return False
        try:
            body = ast.parse(self.visible_source).body
        except (SyntaxError, ValueError):
            return False
        return all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)

    @cached_property
    def visible_source(self) -> str:
        """The source as students received it: hidden tests removed."""
        if not self.hidden:
            return self.source
        cell = nbformat.v4.new_code_cell(self.source)
        ClearHiddenTests()._remove_hidden_test_region(cell)
        return cell.source

    @cached_property
    def hidden_lines(self) -> frozenset:
        """1-based line numbers of the source inside a hidden-test region, markers included."""
        lines, inside = set(), False
        for number, line in enumerate(self.source.split("\n"), 1):
            if HIDDEN_BEGIN in line:
                inside = True
            if inside:
                lines.add(number)
            if "END HIDDEN TESTS" in line:
                inside = False
        return frozenset(lines)

    @cached_property
    def description(self) -> str:
        """The first line of the test cell's docstring: what the test checks, in words ('' if none).

        Only a line students received (one in the visible source) is used: a docstring inside a
        hidden-test region stays hidden."""
        try:
            body = ast.parse(self.source).body
        except (SyntaxError, ValueError):  # IPython magics, or a cell that is not plain Python
            return ""
        first = body[0] if body else None
        if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)):
            return ""
        lines = first.value.value.strip().splitlines()
        line = lines[0].strip() if lines else ""
        if not line or first.lineno in self.hidden_lines or line not in self.visible_source:
            return ""
        return line if len(line) <= MAX_DESCRIPTION_CHARS else line[:MAX_DESCRIPTION_CHARS - 1] + "…"

    def metadata(self) -> dict:
        """The nbgrader cell metadata nbgrader itself would write for this cell."""
        meta = {"grade": self.grade, "grade_id": self.grade_id, "locked": self.locked,
                "solution": self.solution, "schema_version": 3, "checksum": self.checksum}
        if self.grade:
            meta["points"] = self.points
        return meta

    def new_cell(self) -> NotebookNode:
        """A fresh notebook cell holding this cell's authoritative source and metadata."""
        make = nbformat.v4.new_code_cell if self.cell_type == "code" else nbformat.v4.new_markdown_cell
        cell = make(self.source)
        cell.metadata["nbgrader"] = self.metadata()
        if self.locked:
            cell.metadata.update(deletable=False, editable=False)
        return cell


@dataclass(frozen=True)
class Assignment:
    assignment_id: str
    notebook_id: str
    cells: tuple  # CellSpec, in notebook order
    kernelspec: dict

    def cell(self, grade_id) -> CellSpec | None:
        return self._by_id.get(grade_id) if isinstance(grade_id, str) else None

    @cached_property
    def secret_lines(self) -> frozenset:
        """Lines of hidden tests that students never received (stripped; short ones skipped)."""
        hidden, public = set(), set()
        for spec in self.cells:
            lines = spec.source.split("\n")
            hidden.update(lines[number - 1].strip() for number in spec.hidden_lines)
            public.update(line.strip() for line in spec.visible_source.split("\n"))
        return frozenset(line for line in hidden - public if len(line) >= 8)

    @cached_property
    def answer_names(self) -> tuple:
        """The names the source's answer cells define: in the referee, each is a proxy."""
        return tuple(sorted({name for c in self.cells if c.solution and c.cell_type == "code"
                             for name in bound_names(c.source)}))

    @cached_property
    def _by_id(self) -> dict:
        return {c.grade_id: c for c in self.cells}

    @property
    def grade_cells(self) -> list:
        return [c for c in self.cells if c.grade]

    @property
    def max_score(self) -> float:
        return float(sum(c.points or 0 for c in self.grade_cells))

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        return {"assignment_id": self.assignment_id, "notebook_id": self.notebook_id,
                "kernelspec": self.kernelspec, "cells": [asdict(c) for c in self.cells]}

    @classmethod
    def from_dict(cls, data: dict) -> "Assignment":
        return cls(data["assignment_id"], data["notebook_id"],
                   tuple(CellSpec(**c) for c in data["cells"]), data["kernelspec"])


def sync_gradebook(coursedir, assignment_id: str) -> None:
    """Record the source notebook in the gradebook with nbgrader's own generate_assignment.

    The student version goes to a scratch directory: release/ is left as it is.
    """
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as scratch:
        old = coursedir.release_directory
        coursedir.release_directory = scratch
        try:
            outcome = NbGraderAPI(coursedir=coursedir).generate_assignment(assignment_id, force=True)
        finally:
            coursedir.release_directory = old
    if not outcome["success"]:
        raise AssignmentError(f"nbgrader generate_assignment {assignment_id} failed:\n"
                              f"{outcome.get('log', '')}{outcome.get('error', '')}")


def load(coursedir, assignment_id: str, notebook_id: str | None = None, sync: bool = True) -> Assignment:
    """The assignment as the gradebook records it, synced from source/ first when it is there
    and has changed since the last sync (generate_assignment takes seconds)."""
    notebook_id = notebook_id or assignment_id
    source = course.notebook_path(coursedir, coursedir.source_directory, assignment_id, notebook_id)
    if sync and source.is_file():
        marker, state = _sync_state(coursedir, assignment_id, source)
        if not _has_database(coursedir) or not marker.is_file() or marker.read_text() != state:
            sync_gradebook(coursedir, assignment_id)
            marker.write_text(state)
    try:
        return _from_gradebook(coursedir, assignment_id, notebook_id, source)
    except AssignmentError:
        if not (sync and source.is_file()):
            raise
        sync_gradebook(coursedir, assignment_id)  # the gradebook was replaced since the last sync
        return _from_gradebook(coursedir, assignment_id, notebook_id, source)


def _sync_state(coursedir, assignment_id: str, source: Path) -> tuple[Path, str]:
    """(marker file, what it holds once the gradebook matches the source and the course config)."""
    config = Path(coursedir.root) / "nbgrader_config.py"
    digest = hashlib.sha256(source.read_bytes())
    if config.is_file():
        digest.update(config.read_bytes())
    marker = Path(coursedir.root) / f".autograder-synced-{assignment_id}"
    return marker, json.dumps([digest.hexdigest(), coursedir.db_url])


def _has_database(coursedir) -> bool:
    """False when the course's SQLite gradebook file is missing (a new or deleted gradebook)."""
    url = coursedir.db_url
    return not url.startswith("sqlite:///") or os.path.exists(url.removeprefix("sqlite:///"))


def _from_gradebook(coursedir, assignment_id: str, notebook_id: str, source: Path) -> Assignment:
    try:
        with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
            notebook = gb.find_notebook(notebook_id, assignment_id)
            points = {c.name: float(c.max_score) for c in notebook.grade_cells}
            solutions = {c.name for c in notebook.solution_cells}
            cells = [CellSpec(grade_id=c.name, cell_type=c.cell_type, source=c.source,
                              checksum=c.checksum, locked=bool(c.locked), grade=c.name in points,
                              solution=c.name in solutions, points=points.get(c.name))
                     for c in notebook.source_cells]
            kernelspec = json.loads(notebook.kernelspec) if notebook.kernelspec else {}
    except MissingEntry:
        raise AssignmentError(f"the gradebook {coursedir.db_url} has no notebook {notebook_id} in "
                              f"{assignment_id}: is {source} there?") from None
    if source.is_file():  # the gradebook keeps cells in creation order; the source has the real one
        order = [c.metadata["nbgrader"]["grade_id"] for c in nbformat.read(source, as_version=4).cells
                 if "grade_id" in c.metadata.get("nbgrader", {})]
        cells.sort(key=lambda c: order.index(c.grade_id) if c.grade_id in order else len(order))
    return Assignment(assignment_id, notebook_id, tuple(cells), kernelspec)


def needs_gpu(grade_id: str) -> bool:
    """Whether the test cell named `grade_id` needs CUDA: CellSpec.needs_gpu's rule, for tools that
    read a notebook's cells rather than the gradebook."""
    return grade_id.endswith(GPU_TEST_SUFFIX)


def bound_names(source: str) -> tuple[str, ...]:
    """Top-level names a cell binds: imports, defs, classes and plain assignments."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ()
    names = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return tuple(sorted(set(names)))
