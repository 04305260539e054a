"""Take the sample students out of the course's gradebook, where an older `make demo` recorded them.

Usage: python tools/forget_samples.py lesson08        (make demo runs it; silent when there is nothing to do)

`make demo` grades samples/<assignment>/ as a trial run, so the course's gradebook, which formgrader
shows and `nbgrader export` writes, holds only the class. An older `make demo` recorded the samples
(alice ... erin) there, with their graded notebooks in autograded/. A student is taken out, with
those folders, only when the gradebook's entry is the sample: the submission has no other
assignment, and its notebook (submitted/, else autograded/) has the sample's answers, or, for a
sample that is not a notebook at all (erin), there is no graded notebook and no point. A real
student who shares a sample's name keeps their grades, and the run says so.
"""
import shutil
import sys
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry
from nbgrader.utils import is_solution
from sqlalchemy.exc import SAWarning

from autograder import course, gradebook

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def answers(data: bytes) -> dict | None:
    """{grade_id: source} of a notebook's answer cells, or None when it is not a notebook."""
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
    except Exception:  # noqa: BLE001  (not JSON, not a notebook: a sample made to be invalid)
        return None
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in nb.cells
            if is_solution(cell) and "grade_id" in cell.metadata.get("nbgrader", {})}


def is_the_sample(gb, coursedir, assignment: str, student: str, sample: Path) -> bool:
    """Whether the gradebook's `student` is what `make demo` recorded from `sample`."""
    try:
        recorded = gb.find_student(student)
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        return False
    if len(recorded.submissions) != 1:
        return False  # a student with other assignments is a real one
    if len(submission.notebooks) != 1:
        return False
    data, notebook = sample.read_bytes(), f"{submission.notebooks[0].name}.ipynb"
    for folder in (coursedir.submitted_directory, coursedir.autograded_directory):
        path = Path(coursedir.format_path(folder, student, assignment)) / notebook
        if path.is_file():
            kept = path.read_bytes()
            return kept == data or (answers(data) is not None and answers(kept) == answers(data))
    return answers(data) is None and submission.score == 0


def forget(root: Path, assignment: str) -> tuple[list, list]:
    """(students taken out, sample names kept because they are not the samples)."""
    samples = sorted((SAMPLES / assignment).glob("*.ipynb"))
    coursedir = course.load(root)
    database = coursedir.db_url.removeprefix("sqlite:///")
    if not samples or (coursedir.db_url.startswith("sqlite:///") and not Path(database).is_file()):
        return [], []
    removed, kept = [], []
    with gradebook.open_gradebook(coursedir) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        present = {student.id for student in gb.students}
        for sample in samples:
            student = sample.stem
            if student not in present:
                continue
            if not is_the_sample(gb, coursedir, assignment, student, sample):
                kept.append(student)
                continue
            gb.remove_student(student)  # and its submission, grades and comments
            gb.db.commit()
            for folder in (coursedir.submitted_directory, coursedir.autograded_directory,
                           coursedir.feedback_directory):
                path = Path(coursedir.format_path(folder, student, assignment))
                shutil.rmtree(path, ignore_errors=True)
                if path.parent.is_dir() and not any(path.parent.iterdir()):
                    path.parent.rmdir()
            removed.append(student)
    return removed, kept


def main(assignment: str, root: str = ".") -> int:
    removed, kept = forget(Path(root).resolve(), assignment)
    if removed:
        print(f"forget_samples: took the sample students {', '.join(removed)} out of the course gradebook and "
              f"autograded/, where an older `make demo` recorded them; it holds only the class now")
    if kept:
        print(f"forget_samples: kept {', '.join(kept)} in the gradebook: same name as a sample, but not its notebook")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
