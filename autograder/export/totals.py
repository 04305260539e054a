"""Each student's total for one assignment, read from the course's nbgrader gradebook.

The total is nbgrader's own: a submission's `score` sums its cells' scores, where a hand-given
`manual_score` replaces the automatic one; `late_submission_penalty` is what nbgrader's late
submission plugin recorded (0 when none); the grade is `max(0, score - penalty)`, as nbgrader's
CsvExportPlugin computes it (nbgrader/plugins/export.py).
"""
from dataclasses import dataclass
from datetime import datetime

from nbgrader.api import Gradebook, MissingEntry


class UnknownAssignment(Exception):
    """The gradebook has no such assignment; the message names those it has."""


@dataclass(frozen=True)
class StudentTotal:
    student_id: str
    first_name: str
    last_name: str
    email: str
    submitted: bool
    timestamp: datetime | None = None
    raw_score: float | None = None  # None: no submission, hence no grade
    late_penalty: float | None = None
    needs_manual_grade: bool = False  # an answer still waits for hand grading (it counts 0 so far)

    @property
    def score(self) -> float | None:
        """The grade to report: nbgrader's max(0, score - late penalty); None without a submission."""
        if self.raw_score is None:
            return None
        return max(0.0, self.raw_score - (self.late_penalty or 0.0))

    @property
    def display_name(self) -> str:
        return " ".join(part for part in (self.last_name, self.first_name) if part)


@dataclass(frozen=True)
class AssignmentTotals:
    assignment_id: str
    duedate: datetime | None
    max_score: float
    students: dict  # student id → StudentTotal, every student in the gradebook


def read_totals(gradebook: Gradebook, assignment_id: str) -> AssignmentTotals:
    try:
        assignment = gradebook.find_assignment(assignment_id)
    except MissingEntry:
        known = sorted(a.name for a in gradebook.assignments)
        raise UnknownAssignment(f"the gradebook has no assignment {assignment_id!r}: "
                                + (f"it has {', '.join(known)}" if known else "it has none; record grades first "
                                   "with `python -m autograder grade ... --record`")) from None
    submissions = {s.student_id: s for s in gradebook.assignment_submissions(assignment_id)}
    students = {}
    for student in gradebook.students:
        names = dict(student_id=student.id, first_name=student.first_name or "", last_name=student.last_name or "",
                     email=student.email or "")
        submission = submissions.get(student.id)
        if submission is None:
            students[student.id] = StudentTotal(**names, submitted=False)
        else:
            students[student.id] = StudentTotal(
                **names, submitted=True, timestamp=submission.timestamp, raw_score=float(submission.score or 0.0),
                late_penalty=float(submission.late_submission_penalty or 0.0),
                needs_manual_grade=bool(submission.needs_manual_grade))
    return AssignmentTotals(assignment_id, assignment.duedate, float(assignment.max_score or 0.0), students)
