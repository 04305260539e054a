"""nbgrader's own export columns, as `nbgrader export` (CsvExportPlugin) writes them.

Columns from nbgrader/plugins/export.py (nbgrader 0.9, CsvExportPlugin.export, `keys`):
assignment, duedate, timestamp, student_id, last_name, first_name, email, raw_score,
late_submission_penalty, score, max_score; score = max(0, raw_score - late_submission_penalty).
Two differences, both deliberate: numbers are written as grades.csv writes them (27.5, not
27.5000000001), and a student without a submission has empty scores where nbgrader writes 0.0
(no grade is not a grade of zero; see README, "Exporting grades"). With a roster its students
come first, in its order, its name filling last_name and its email where the gradebook has none;
submissions the roster lacks follow.
"""
from .csvtext import csv_text, points

COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email", "raw_score",
           "late_submission_penalty", "score", "max_score")


def render(totals, classlist, item: str) -> str:
    lines = [COLUMNS]
    for row in classlist.rows + classlist.not_in_roster:
        total = row.total
        last_name = (total.last_name if total else "") or (row.enrolled.name if row.enrolled else "")
        submitted = row.submitted
        lines.append((
            totals.assignment_id, _text(totals.duedate), _text(total.timestamp) if submitted else "", row.student_id,
            last_name, total.first_name if total else "", row.email,
            points(total.raw_score) if submitted else "", points(total.late_penalty) if submitted else "",
            points(row.score), points(totals.max_score)))
    return csv_text(lines)


def _text(value) -> str:
    """A date as nbgrader's export writes it (str of the datetime), empty for none."""
    return "" if value is None else str(value)
