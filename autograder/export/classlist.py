"""The gradebook's totals matched to the roster: who gets a row, who has no submission, whom the roster lacks.

With a roster the rows are the roster's students, in its order, each with its total or none (no
submission: an explicit row with an empty grade). A submission whose student the roster lacks is
kept aside as `not_in_roster`: it has no LMS id, so an LMS file cannot carry it, and the command
lists it on the console and in a file of its own. Without a roster (the nbgrader format only) the
rows are the gradebook's students, as nbgrader's own export writes them.
"""
from dataclasses import dataclass

from .roster import Enrolled, student_key
from .totals import AssignmentTotals, StudentTotal


@dataclass(frozen=True)
class Row:
    student_id: str
    total: StudentTotal | None  # None: no submission and not even a gradebook entry
    enrolled: Enrolled | None = None  # None: no roster given, or (in not_in_roster) not on it

    @property
    def submitted(self) -> bool:
        return self.total is not None and self.total.submitted

    @property
    def score(self) -> float | None:
        return self.total.score if self.submitted else None

    @property
    def name(self) -> str:
        """The roster's name, else the gradebook's."""
        return (self.enrolled.name if self.enrolled else "") or (self.total.display_name if self.total else "")

    @property
    def email(self) -> str:
        return (self.enrolled.email if self.enrolled else "") or (self.total.email if self.total else "")


@dataclass(frozen=True)
class ClassList:
    rows: list  # of Row: the file's students
    not_in_roster: list  # of Row: submissions the roster lacks (empty without a roster)

    @property
    def without_submission(self) -> list:
        return [row for row in self.rows if not row.submitted]

    @property
    def awaiting_hand_grading(self) -> list:
        return [row for row in self.rows + self.not_in_roster if row.submitted and row.total.needs_manual_grade]


def match(totals: AssignmentTotals, roster: list[Enrolled] | None) -> ClassList:
    if roster is None:
        return ClassList([Row(sid, totals.students[sid]) for sid in sorted(totals.students)], [])
    by_key = {student_key(sid): total for sid, total in totals.students.items()}
    rows = [Row(entry.student_id, by_key.get(entry.student_id), entry) for entry in roster]
    enrolled = {entry.student_id for entry in roster}
    strangers = [Row(total.student_id, total) for key, total in sorted(by_key.items())
                 if total.submitted and key not in enrolled]
    return ClassList(rows, strangers)
