"""Canvas's gradebook import (Grades → Import), in the shape of Canvas's own gradebook export.

Canvas documents the file in its Instructor Guide, "How do I import grades in the Gradebook?"
(community.instructure.com/en/kb/articles/660862-how-do-i-import-grades-in-the-gradebook, formerly
community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807), with
"How do I export grades in the Gradebook?" (.../660866-...) for the export it mirrors: the columns
Student, ID, SIS User ID, SIS Login ID and Section come first and identify the student (by ID,
SIS User ID or SIS Login ID); each assignment is a column headed "Name (assignment id)", and a
column without an id creates a new assignment; Canvas's export puts a "Points Possible" row
under the header. A blank cell is no grade.

Here: Student (the roster's name), ID (left empty: the roster has no Canvas user id), SIS User ID
(the roster's lms_id, by which Canvas finds the student), SIS Login ID (empty), Section, then the
assignment column (--item, e.g. "Lesson 08 (12345)" as Canvas's export heads it; default: the
assignment id, which Canvas imports as a new assignment). The second row is "    Points Possible"
(indented, as Canvas writes it) with the assignment's maximum score.
"""
import re

from .csvtext import csv_text, points

IDENTITY_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "    Points Possible"
_ASSIGNMENT_ID = re.compile(r"\(\d+\)\s*$")


def names_an_existing_assignment(item: str) -> bool:
    """Whether the column header carries a Canvas assignment id, "Name (12345)"."""
    return bool(_ASSIGNMENT_ID.search(item))


def render(totals, classlist, item: str) -> str:
    lines = [(*IDENTITY_COLUMNS, item), (POINTS_POSSIBLE, "", "", "", "", points(totals.max_score))]
    for row in classlist.rows:
        lines.append((row.name, "", row.enrolled.lms_id, "", row.enrolled.section, points(row.score)))
    return csv_text(lines)
