"""The one writer of grading results into nbgrader's gradebook (the batch driver calls it).

For each submission: the student, the submission, an auto score for every graded cell (the
written answer left as `needs_manual_grade`, as nbgrader's SaveAutoGrades leaves it), the
"No response." comment for an untouched answer, and the graded notebook under
autograded/<student>/<assignment>/ where formgrader and generate_feedback look for it.

What formgrader shows is computed by nbgrader from these rows and folders, so they say what the
grader found:
- "Tests failed?" (nbgrader/api.py: `Grade.failed_tests`, a code grade cell whose auto_score <
  max_score): a GPU test that waits for a CUDA kernel has no auto_score yet (NULL), so a correct
  provisional submission is not one that failed tests; it needs no person either.
- "# Submissions" (nbgrader/apps/api.py: `NbGraderAPI.get_submitted_students`, the folders
  submitted/<student>/<assignment>/) and "autograded" (`get_autograded_students`: a folder in
  autograded/ and the gradebook's timestamp equal to submitted/'s timestamp.txt): the handed-in
  notebook is copied to submitted/, as nbgrader's own zip_collect does, unless it lies there
  already, and its timestamp.txt, if any, is the submission's timestamp.
- Lateness (results' extra_data.lateness, lateness.py): the class's deadline is the assignment's
  `duedate` (UTC, as nbgrader stores it), the student's extension `SubmittedAssignment.extension`,
  the timestamp the one lateness.py read (in the course's zone: nbgrader's parse_utc reads a "KST"
  timestamp as UTC, so submitted/'s timestamp.txt is rewritten, same instant, where nbgrader would
  misread it) and the penalty `SubmittedNotebook.late_submission_penalty`, as nbgrader's
  AssignLatePenalties records it; formgrader and `autograder export` subtract it.
"""
import json
import os
import warnings
from datetime import timezone
from pathlib import Path

from nbgrader.api import Comment, Grade, Gradebook, MissingEntry
from nbgrader.utils import parse_utc
from sqlalchemy.orm import joinedload
from sqlalchemy.exc import SAWarning

from . import course, results as R
from .assignment import Assignment
from .files import write_atomic
from .lateness import TIMESTAMP_FILE, Lateness
from .load import InvalidSubmission


def open_gradebook(coursedir) -> Gradebook:
    return Gradebook(coursedir.db_url, coursedir.course_id)


def recorded_auto_score(gb: Gradebook, assignment: Assignment, student: str) -> float | None:
    """The automatic points the gradebook holds for a student (hand-given points left out), or None."""
    try:
        notebook = gb.find_submission_notebook(assignment.assignment_id, assignment.notebook_id, student)
    except MissingEntry:
        return None
    return float(sum(grade.auto_score or 0 for grade in notebook.grades))


def record(gb: Gradebook, coursedir, assignment: Assignment, results: dict, notebook=None, handed_in=None) -> None:
    """`handed_in`: the submission (submissions.Submission) the results are of, to copy to submitted/."""
    student = results["extra_data"]["student_id"]
    a_id, nb_id = assignment.assignment_id, assignment.notebook_id
    late = _lateness(results)
    if handed_in is not None:
        _hand_in(coursedir, a_id, nb_id, student, handed_in)
    folder = coursedir.format_path(coursedir.submitted_directory, student, a_id)
    if late is not None:
        timestamp = _utc(late.submitted)
        _agree_on_timestamp(Path(folder), timestamp)
    else:
        timestamp = coursedir.get_existing_timestamp(folder)  # nbgrader collect's timestamp.txt, as autograde reads it
    gb.update_or_create_student(student)
    with warnings.catch_warnings():  # nbgrader's own autograde triggers the same SQLAlchemy notices
        warnings.simplefilter("ignore", SAWarning)
        submission = gb.update_or_create_submission(a_id, student, timestamp=timestamp)  # a Grade and Comment row per cell
    # One query each for the notebook's grades and comments (find_grade is a query per cell).
    notebook_row = next(n for n in submission.notebooks if n.name == nb_id)
    grades = {g.cell.name: g for g in gb.db.query(Grade).filter(Grade.notebook == notebook_row)
              .options(joinedload(Grade.cell))}
    comments = {c.cell.name: c for c in gb.db.query(Comment).filter(Comment.notebook == notebook_row)
                .options(joinedload(Comment.cell))}
    tests = {t["name"]: t for t in results["tests"]}
    for spec in assignment.grade_cells:
        grade = grades[spec.grade_id]
        test = tests.get(spec.grade_id)
        outcome = R.outcome_of(test) if test else None
        # No automatic score yet: the written answer (a person grades it) and a GPU test waiting for
        # a CUDA kernel (the --only-gpu run scores it), which is then neither failed nor for a person.
        auto_score = None if outcome in (R.MANUAL, R.NEEDS_GPU) else (test or {}).get("score", 0.0)
        if grade.manual_score is not None and grade.auto_score == auto_score:
            continue  # graded by hand, and nothing changed since: leave the instructor's verdict
        grade.auto_score = auto_score
        grade.needs_manual_grade = grade.manual_score is not None or outcome == R.MANUAL
    for spec in assignment.cells:
        if spec.solution and spec.grade:  # a written answer: FAILED means left as given
            test = tests.get(spec.grade_id)
            unanswered = test is None or R.outcome_of(test) in (R.FAILED, R.MISSING)
            comments[spec.grade_id].auto_comment = (
                "No response." if unanswered else None)
    if late is not None:
        _record_lateness(submission, notebook_row, late)
    gb.db.commit()
    target = course.notebook_path(coursedir, coursedir.autograded_directory, a_id, nb_id, student)
    target.parent.mkdir(parents=True, exist_ok=True)  # formgrader lists a student as autograded by this folder
    if notebook is not None:
        write_atomic(target, json.dumps(notebook, ensure_ascii=False))  # validated when read; nbformat's
        # writer (deep copy, split lines, indent) costs a quarter of a submission's driver time
    elif results["extra_data"]["status"] in (R.INVALID, R.GRADER_ERROR) and target.exists():
        os.remove(target)  # a stale graded notebook from an earlier run no longer applies


def _lateness(results: dict) -> Lateness | None:
    data = results["extra_data"].get("lateness")
    return None if data is None else Lateness.from_dict(data)


def _utc(moment):
    """nbgrader's form of a time: naive, in UTC."""
    return None if moment is None else moment.astimezone(timezone.utc).replace(tzinfo=None)


def _record_lateness(submission, notebook_row, late: Lateness) -> None:
    """As nbgrader's AssignLatePenalties leaves them: the deadline, the extension and the penalty
    (None when on time)."""
    if late.course_deadline is not None:
        submission.assignment.duedate = _utc(late.course_deadline)
    extension = late.deadline - late.course_deadline if late.extended and late.course_deadline else None
    submission.extension = extension
    notebook_row.late_submission_penalty = late.penalty if late.late and late.penalty > 0 else None


def _agree_on_timestamp(folder: Path, timestamp) -> None:
    """submitted/'s timestamp.txt must read, by nbgrader's parse_utc, as the gradebook's timestamp, or
    formgrader lists the student as not autograded: one that is missing or misread (a "KST" one, read
    as UTC) is written again, the same instant in UTC."""
    path = folder / TIMESTAMP_FILE
    try:
        theirs = parse_utc(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError, OverflowError):
        theirs = None
    if theirs != timestamp:
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(path, timestamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))


def _hand_in(coursedir, a_id: str, nb_id: str, student: str, handed_in) -> None:
    """submitted/<student>/<assignment>/<notebook>.ipynb: the notebook as handed in (its folder alone
    when it can't be read), unless the run read it from the course's submitted/ folder itself."""
    submitted = os.path.realpath(coursedir.format_path(coursedir.submitted_directory, ".", "."))
    if os.path.realpath(handed_in.path).startswith(submitted + os.sep):
        return
    target = course.notebook_path(coursedir, coursedir.submitted_directory, a_id, nb_id, student)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = handed_in.read()
    except InvalidSubmission:
        target.unlink(missing_ok=True)  # an earlier hand-in is not what these results are of
        return
    if not target.is_file() or target.read_bytes() != data:
        write_atomic(target, data)
