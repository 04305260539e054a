"""The one writer of grading results into nbgrader's gradebook (the batch driver calls it).

For each submission: the student, the submission, an auto score for every graded cell (the
written answer left as `needs_manual_grade`, as nbgrader's SaveAutoGrades leaves it), the
"No response." comment for an untouched answer, and the graded notebook under
autograded/<student>/<assignment>/ where formgrader and generate_feedback look for it.
"""
import json
import os
import warnings

from nbgrader.api import Comment, Grade, Gradebook, MissingEntry
from sqlalchemy.orm import joinedload
from sqlalchemy.exc import SAWarning

from . import course, results as R
from .assignment import Assignment
from .files import write_atomic


def open_gradebook(coursedir) -> Gradebook:
    return Gradebook(coursedir.db_url, coursedir.course_id)


def recorded_auto_score(gb: Gradebook, assignment: Assignment, student: str) -> float | None:
    """The automatic points the gradebook holds for a student (hand-given points left out), or None."""
    try:
        notebook = gb.find_submission_notebook(assignment.assignment_id, assignment.notebook_id, student)
    except MissingEntry:
        return None
    return float(sum(grade.auto_score or 0 for grade in notebook.grades))


def record(gb: Gradebook, coursedir, assignment: Assignment, results: dict, notebook=None) -> None:
    student = results["extra_data"]["student_id"]
    a_id, nb_id = assignment.assignment_id, assignment.notebook_id
    gb.update_or_create_student(student)
    with warnings.catch_warnings():  # nbgrader's own autograde triggers the same SQLAlchemy notices
        warnings.simplefilter("ignore", SAWarning)
        submission = gb.update_or_create_submission(a_id, student)  # makes a Grade and Comment row per cell
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
        auto_score = None if test and R.outcome_of(test) == R.MANUAL else (test or {}).get("score", 0.0)
        if grade.manual_score is not None and grade.auto_score == auto_score:
            continue  # graded by hand, and nothing changed since: leave the instructor's verdict
        grade.auto_score = auto_score
        grade.needs_manual_grade = grade.manual_score is not None or auto_score is None
    for spec in assignment.cells:
        if spec.solution and spec.grade:  # a written answer: FAILED means left as given
            test = tests.get(spec.grade_id)
            unanswered = test is None or R.outcome_of(test) in (R.FAILED, R.MISSING)
            comments[spec.grade_id].auto_comment = (
                "No response." if unanswered else None)
    gb.db.commit()
    target = course.notebook_path(coursedir, coursedir.autograded_directory, a_id, nb_id, student)
    if notebook is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, json.dumps(notebook, ensure_ascii=False))  # validated when read; nbformat's
        # writer (deep copy, split lines, indent) costs a quarter of a submission's driver time
    elif results["extra_data"]["status"] in (R.INVALID, R.GRADER_ERROR) and target.exists():
        os.remove(target)  # a stale graded notebook from an earlier run no longer applies
