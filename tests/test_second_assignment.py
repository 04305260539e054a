"""A course, not a lesson: a second, tiny assignment added to a scratch copy of the course
(source in nbgrader's format, released by nbgrader) and graded end to end by the same
commands. Nothing in the grader may assume lesson08."""
import json
import os
import subprocess

import nbformat
import pytest

from autograder_fixtures import grade_args, run_autograder
from course import bin_path, copy_course, nbgrader_command

pytestmark = pytest.mark.slow
ASSIGNMENT = "tiny01"


def cell(kind, source, grade_id=None, solution=False, grade=False, points=None):
    made = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    if grade_id:
        made.metadata["nbgrader"] = {"grade": grade, "grade_id": grade_id, "locked": not solution,
                                     "schema_version": 3, "solution": solution, **({"points": points} if grade else {})}
    return made


def tiny_source() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "PyTorch course", "language": "python", "name": "pytorch-course"}
    nb.cells = [
        cell("markdown", "# 작은 과제: `double`"),
        cell("code", "import torch", "tiny_setup"),
        cell("code", "def double(tensor):\n    ### BEGIN SOLUTION\n    return tensor * 2\n    ### END SOLUTION",
             "double", solution=True),
        cell("code", '"""double doubles."""\nassert double(torch.tensor(2)).item() == 4\n'
                     "### BEGIN HIDDEN TESTS\nassert double(torch.tensor(-3)).item() == -6\n### END HIDDEN TESTS",
             "double_test", grade=True, points=3),
    ]
    return nb


def nbgrader(course, *args):
    done = subprocess.run(nbgrader_command(*args), cwd=course, capture_output=True, text=True,
                          env={**os.environ, "PATH": bin_path()})
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def student(nb: nbformat.NotebookNode, answer: str) -> bytes:
    nb = nbformat.from_dict(json.loads(nbformat.writes(nb)))
    for made in nb.cells:
        if made.metadata.get("nbgrader", {}).get("grade_id") == "double":
            made.source = answer
    return nbformat.writes(nb).encode()


def test_a_second_assignment_is_released_and_graded_by_the_same_commands(tmp_path):
    course = copy_course(tmp_path / "course")
    source = course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    source.parent.mkdir(parents=True)
    nbformat.write(tiny_source(), source)
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert "BEGIN HIDDEN TESTS" not in nbformat.writes(release)
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "ana.ipynb").write_bytes(student(release, "def double(tensor):\n    return tensor + tensor"))
    (folder / "ben.ipynb").write_bytes(student(release, "def double(tensor):\n    return tensor * 2 if tensor > 0 else tensor"))
    out = tmp_path / "out"
    done = run_autograder(*[ASSIGNMENT if arg == "lesson08" else arg
                            for arg in grade_args(course, folder, out, "--record", cell_timeout=10)])
    assert done.returncode == 0, done.stderr
    ana = json.loads((out / "ana" / "results.json").read_text())
    ben = json.loads((out / "ben" / "results.json").read_text())
    assert (ana["score"], ana["extra_data"]["max_score"], ana["extra_data"]["status"]) == (3, 3, "graded")
    assert ben["score"] == 0, "the hidden test catches the negative case"
    assert ASSIGNMENT in (out / "report.html").read_text()
    assert "lesson08" not in (out / "report.html").read_text() + (out / "ana" / "feedback.html").read_text()
