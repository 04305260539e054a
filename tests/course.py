"""The course as tests see it: its notebooks, reference answers, and nbgrader runs in a scratch copy."""
import atexit
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from nbgrader import api as nbgrader_api
from nbgrader.api import Gradebook
from nbgrader.dbutil import ALEMBIC_DIR
from nbgrader.utils import is_grade, is_solution

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "lesson08"
COURSE_ID = "pytorch-course"  # nbgrader_config.py's CourseDirectory.course_id
SOURCE = ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
LECTURE = ROOT / "notebooks" / f"{ASSIGNMENT}.ipynb"
ARTIFACTS = ROOT / "test-artifacts"  # what tests leave for a person to look at (screenshots, logs)
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


def copy_course(directory, gradebook=True):
    """The course's source and nbgrader config copied into `directory`: a course of its own, with
    the empty gradebook that nbgrader makes on its first use of a course (`gradebook=False`: none)."""
    directory = Path(directory)
    shutil.copytree(ROOT / "source", directory / "source")
    shutil.copy(ROOT / "nbgrader_config.py", directory)
    if gradebook:
        shutil.copy(empty_gradebook(), directory / "gradebook.db")
    return directory


@functools.cache
def empty_gradebook() -> Path:
    """A gradebook as nbgrader's Gradebook makes it for the course's id, made once a process: nbgrader
    would ask `alembic heads`, a process of about two seconds, for the version it stamps on each."""
    folder = Path(tempfile.mkdtemp(prefix="empty-gradebook-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "gradebook.db"
    asks_alembic, nbgrader_api.get_alembic_version = nbgrader_api.get_alembic_version, _alembic_head
    try:
        Gradebook(f"sqlite:///{path}", COURSE_ID).close()
    finally:
        nbgrader_api.get_alembic_version = asks_alembic
    return path


def _alembic_head() -> str:
    """The gradebook schema's version, from nbgrader's migrations, read by alembic's API in this process."""
    config = AlembicConfig()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def scratch_course(directory):
    """A copy of the course, released by real nbgrader."""
    directory = copy_course(directory)
    nbgrader(directory, "generate_assignment", ASSIGNMENT)
    return directory


# nbgrader's own main, in a process where jsonschema's IRI format checkers (rfc3987_syntax: 38
# grammars compiled at import, a second of every nbgrader process) are left out: nbgrader checks
# no IRI. `plain=True` runs `python -m nbgrader` as typed (the benchmark's baseline).
NBGRADER = ("import sys; sys.modules['rfc3987_syntax'] = None; sys.argv[0] = 'nbgrader'; "
            "from nbgrader.apps.nbgraderapp import main; main()")


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, ()))
    return found


def nbgrader_command(*args, plain=False) -> list:
    return [sys.executable, *(("-m", "nbgrader") if plain else ("-c", NBGRADER)), *map(str, args)]


def nbgrader(course, *args, plain=False):
    env = {**os.environ, "PATH": bin_path()}
    return subprocess.run(nbgrader_command(*args, plain=plain), cwd=course, env=env,
                          capture_output=True, text=True, check=True)


def autograde(course, submissions, plain=False):
    """Grade {student: notebook} with `nbgrader autograde`; return {student: {grade_id: score}}."""
    course = Path(course)
    _submit(course, submissions)
    nbgrader(course, "autograde", ASSIGNMENT, "--force", plain=plain)
    return _auto_scores(course, submissions)


def start_autograde(released, submissions, scratch, processes=3, niceness=0) -> list:
    """`nbgrader autograde` of {student: notebook}, split between `processes` runs at once, each in its
    own copy of the released course `released` (left as it is), started and left running: a run
    waits on its kernels part of the time, so three keep two cores busy (37 notebooks: 66 s with two
    runs, 48 s with three). `niceness`: the runs' and their kernels'. autograded() collects them."""
    students = sorted(submissions)
    env = {**os.environ, "PATH": bin_path()}
    runs = []
    for number in range(processes):
        course, share = Path(scratch) / f"autograde{number}", students[number::processes]
        shutil.copytree(released, course)
        _submit(course, {student: submissions[student] for student in share})
        with open(course / "autograde.log", "w") as log:
            runs.append((course, share, subprocess.Popen(
                ["nice", "-n", str(niceness), *nbgrader_command("autograde", ASSIGNMENT, "--force")], cwd=course,
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)))
    return runs


def autograded(runs) -> dict:
    """{student: {grade_id: score}} from start_autograde's runs, once each has finished."""
    scores = {}
    for course, students, process in runs:
        process.wait()
        assert process.returncode == 0, (course / "autograde.log").read_text()[-3000:]
        scores.update(_auto_scores(course, students))
    return scores


def stop_autograde(runs) -> None:
    """start_autograde's runs that are still going (a session that ends before reading them), and their kernels."""
    for _, _, process in runs:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _submit(course: Path, submissions) -> None:
    for student, nb in submissions.items():
        target = course / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)


def _auto_scores(course: Path, students) -> dict:
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in students:
            notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
            scores[student] = {grade.name: grade.auto_score for grade in notebook.grades}
    return scores


HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def run_in_process(answers=None) -> dict:
    """{grade_id: passed} for every test cell but the GPU tests (hidden tests included), run as
    nbgrader autograde runs a notebook, in one namespace, in this process: the setup cell, then
    each answer cell (the reference unless `answers` replaces it) and each test cell in order.
    Where the course's grader calls answers through its referee, this is where an answer's own
    objects reach the tests (the very exception it returns, say)."""
    import contextlib
    import io
    answers = {**reference_answers(), **(answers or {})}
    namespace, passed = {"__name__": "__main__"}, {}
    for cell in read(SOURCE).cells:
        meta = nbgrader_meta(cell)
        grade_id = meta.get("grade_id")
        if cell.cell_type != "code" or grade_id is None or grade_id.endswith("_gpu"):
            continue
        if is_solution(cell):
            source = answers[grade_id]
        else:
            source = "\n".join(line for line in cell.source.splitlines()
                               if line.strip() not in SOLUTION_MARKERS + HIDDEN_MARKERS)
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                exec(compile(source, f"<{grade_id}>", "exec"), namespace)
        except Exception:
            if grade_id == "setup":
                raise
            if is_grade(cell):
                passed[grade_id] = False
        else:
            if is_grade(cell):
                passed[grade_id] = True
    return passed
