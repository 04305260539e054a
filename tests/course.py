"""The course as tests see it: its notebooks, reference answers, and nbgrader runs in a scratch copy."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.utils import is_grade, is_solution

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "lesson08"
SOURCE = ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
LECTURE = ROOT / "notebooks" / f"{ASSIGNMENT}.ipynb"
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def read(path):
    return nbformat.read(path, as_version=4)


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def grade_cells(nb):
    """Autograded test cells, by grade_id."""
    return {nbgrader_meta(c)["grade_id"]: c for c in nb.cells
            if c.cell_type == "code" and is_grade(c) and not is_solution(c)}


def gpu_test_ids(nb):
    return {grade_id for grade_id in grade_cells(nb) if grade_id.endswith("_gpu")}


def reference_answers():
    """The source's answer cells with the solution markers taken out, by grade_id."""
    answers = {}
    for cell in read(SOURCE).cells:
        if cell.cell_type == "code" and is_solution(cell):
            lines = [line for line in cell.source.splitlines() if line.strip() not in SOLUTION_MARKERS]
            answers[nbgrader_meta(cell)["grade_id"]] = "\n".join(lines)
    return answers


def fill_in(answers):
    """The release notebook with the given answer cells filled in, as a student would."""
    nb = read(RELEASE)
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def bin_path():
    """PATH with this interpreter's scripts first (nbgrader calls `alembic` by name)."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def copy_course(directory):
    """The course's source and nbgrader config copied into `directory`: a course of its own."""
    directory = Path(directory)
    shutil.copytree(ROOT / "source", directory / "source")
    shutil.copy(ROOT / "nbgrader_config.py", directory)
    return directory


def scratch_course(directory):
    """A copy of the course, released by real nbgrader."""
    directory = copy_course(directory)
    nbgrader(directory, "generate_assignment", ASSIGNMENT)
    return directory


def nbgrader(course, *args):
    env = {**os.environ, "PATH": bin_path()}
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, check=True)


def autograde(course, submissions):
    """Grade {student: notebook} with `nbgrader autograde`; return {student: {grade_id: score}}."""
    course = Path(course)
    for student, nb in submissions.items():
        target = course / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)
    nbgrader(course, "autograde", ASSIGNMENT, "--force")
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in submissions:
            notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
            scores[student] = {grade.name: grade.auto_score for grade in notebook.grades}
    return scores
