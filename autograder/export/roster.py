"""The roster: which students the LMS knows, and by which id.

A CSV file the instructor writes (or saves from Excel), one student a line:

    student_id,lms_id,name,email,section
    2024001,2024001,김민수,minsu@example.ac.kr,01
    kim_jiwoo,2024002,김지우,,02

student_id  the id in the course's gradebook (the autograder's student id)       required
lms_id      the student's id in the LMS: Moodle's "ID number" (idnumber),
            Canvas's "SIS User ID"                                               required
name, email, section                                                             optional

Column names are matched without regard to case or surrounding spaces, in any order. UTF-8
(with or without a byte order mark) or CP949, as Korean Excel saves "CSV (쉼표로 분리)".
Anything else is refused with the file and line: a missing or unknown column, an empty
student_id or lms_id, an id given twice.
"""
import csv
import io
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("student_id", "lms_id", "name", "email", "section")
REQUIRED = ("student_id", "lms_id")


class RosterProblem(Exception):
    """A roster that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Enrolled:
    student_id: str
    lms_id: str
    name: str = ""
    email: str = ""
    section: str = ""


def student_key(student_id: str) -> str:
    """How ids are compared: NFC (a Hangul id typed on a Mac is NFD) and without surrounding spaces."""
    return unicodedata.normalize("NFC", student_id).strip()


def read_roster(path: str | os.PathLike) -> list[Enrolled]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RosterProblem(f"--roster {path}: cannot be read ({error.strerror or error})") from None
    text = _decode(data, path)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise RosterProblem(f"{path}: empty; its first line names the columns: {','.join(COLUMNS)}")
    header = [cell.strip().lower() for cell in rows[0]]
    unknown = [name for name in header if name not in COLUMNS]
    missing = [name for name in REQUIRED if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        what = (f"unknown column(s) {', '.join(map(repr, unknown))}" if unknown else
                f"no {' or '.join(missing)} column" if missing else "a column named twice")
        raise RosterProblem(f"{path}, line 1: {what}; the columns are {','.join(COLUMNS)} "
                            f"({' and '.join(REQUIRED)} required)")
    enrolled, first_line = [], {}
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(cells) > len(header):
            raise RosterProblem(f"{path}, line {number}: {len(cells)} cells for {len(header)} columns "
                                "(a comma inside a name needs quotes)")
        values = {name: cells[i].strip() if i < len(cells) else "" for i, name in enumerate(header)}
        values["student_id"] = student_key(values["student_id"])
        for name in REQUIRED:
            if not values[name]:
                raise RosterProblem(f"{path}, line {number}: no {name}; every student needs one")
        for name in REQUIRED:
            seen = first_line.setdefault((name, values[name]), number)
            if seen != number:
                raise RosterProblem(f"{path}, line {number}: {name} {values[name]!r} is on line {seen} too")
        enrolled.append(Enrolled(**values))
    return enrolled


def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp949")
    except UnicodeDecodeError:
        raise RosterProblem(f"{path}: neither UTF-8 nor CP949; save it as CSV UTF-8") from None
