"""Moodle's "Import grades from CSV" (Grades → Import → CSV file).

Moodle documents the import (docs.moodle.org/en/Grade_import, "CSV grade import"): in the preview
you map a column that identifies the user ("Map from") to a user field ("Map to": "Email address"
→ useremail, or "ID number" → useridnumber) and each grade column to a grade item (an existing
one, or a new item named after the column). Its importer (grade/import/csv/classes/load_data.php)
reads an empty cell or "-" as no grade, ignores unmapped columns, and aborts the whole import on a
user it cannot find, so only rostered students are written, each with an LMS id.

Columns: ID number (the roster's lms_id), Email address, Name (for your eyes; leave it unmapped),
then the grade column named after the grade item (--item; default: the assignment id). Email
address is written only when every student has one: the importer skips an empty user cell but
keeps the user it found on the line before, so a grade would land on the wrong student.
"""
from .csvtext import csv_text, points


def has_every_email(classlist) -> bool:
    return all(row.email for row in classlist.rows)


def render(totals, classlist, item: str) -> str:
    with_email = has_every_email(classlist)
    lines = [("ID number", *(("Email address",) if with_email else ()), "Name", item)]
    for row in classlist.rows:
        lines.append((row.enrolled.lms_id, *((row.email,) if with_email else ()), row.name, points(row.score)))
    return csv_text(lines)
