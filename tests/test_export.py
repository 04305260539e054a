"""`python -m autograder export`: the gradebook's totals (hand grades in, late penalties off) in nbgrader's,
Moodle's and Canvas's import formats, matched to a roster, with missing and unknown students accounted for.

One scratch gradebook, built with nbgrader's API in a temporary sqlite file (no kernels, no notebooks):

    student    roster   submission                                   total
    2024001    yes      code 2 auto → 4 by hand, written 1.5 by hand,  5.5 - 1 = 4.5
                        late penalty 1
    kim_jiwoo  yes      code 3 auto, written not yet hand graded     3 (awaits hand grading)
    2024003    yes      none, not in the gradebook                   empty
    2024005    no       none, in the gradebook                       empty (only without a roster)
    stranger   no       code 4, written 2 by hand                    6 (not in the roster)
"""
import csv
import io
import os
import shutil
import unicodedata
import warnings
from pathlib import Path

import pytest
from nbgrader import api as nbgrader_api
from nbgrader.plugins.export import CsvExportPlugin
from sqlalchemy.exc import SAWarning

from autograder.cli import build_parser, main
from autograder.export import canvas_csv, nbgrader_csv
from autograder.export.classlist import match
from autograder.export.csvtext import points
from autograder.export.roster import RosterProblem, read_roster
from autograder.export.totals import read_totals
from course import COURSE_ID, empty_gradebook

ASSIGNMENT = "lesson08"
MAX_SCORE = "6"
ROSTER = ("student_id,lms_id,name,email,section\n"
          "2024001,S2024001,김민수,minsu@example.ac.kr,01\n"
          "kim_jiwoo,S2024002,김지우,jiwoo@example.ac.kr,02\n"
          "2024003,S2024003,박서연,seoyeon@example.ac.kr,01\n")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course root with nbgrader_config.py and the scratch gradebook.db described above."""
    root = tmp_path_factory.mktemp("course")
    (root / "nbgrader_config.py").write_text(f'c = get_config()\nc.CourseDirectory.course_id = "{COURSE_ID}"\n')
    shutil.copy(empty_gradebook(), root / "gradebook.db")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # add_submission's own notices, as in gradebook.record
        with nbgrader_api.Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
            _fill(gb)
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    return root


def _fill(gb) -> None:
    gb.add_assignment(ASSIGNMENT, duedate="2024-05-01 23:59:00")
    gb.add_notebook(ASSIGNMENT, ASSIGNMENT)
    gb.add_grade_cell("to_numpy", ASSIGNMENT, ASSIGNMENT, max_score=4, cell_type="code")
    gb.add_grade_cell("written", ASSIGNMENT, ASSIGNMENT, max_score=2, cell_type="markdown")
    gb.add_solution_cell("written", ASSIGNMENT, ASSIGNMENT)
    for student, last, first in (("2024001", "김", "민수"), ("kim_jiwoo", "", ""), ("2024005", "최", "유진"),
                                 ("stranger", "Doe", "Jo")):
        gb.add_student(student, last_name=last or None, first_name=first or None)
    scores = {  # cell: (auto_score, manual_score)
        "2024001": {"to_numpy": (2, 4), "written": (None, 1.5)},
        "kim_jiwoo": {"to_numpy": (3, None), "written": (None, None)},
        "stranger": {"to_numpy": (4, None), "written": (None, 2)},
    }
    for student, cells in scores.items():
        submission = gb.add_submission(ASSIGNMENT, student, timestamp="2024-05-02 10:00:00")
        for cell, (auto, manual) in cells.items():
            grade = gb.find_grade(cell, ASSIGNMENT, ASSIGNMENT, student)
            grade.auto_score, grade.manual_score = auto, manual
            grade.needs_manual_grade = auto is None and manual is None
        if student == "2024001":
            submission.notebooks[0].late_submission_penalty = 1.0
    gb.db.commit()


def gradebook(course):
    return nbgrader_api.Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID)


def table(path: Path) -> list:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), f"{path.name}: no byte order mark, Excel garbles Hangul"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def export(course, out, *args):
    return main(["export", ASSIGNMENT, "--course", str(course), "--out", str(out), *args])


# --- totals: nbgrader's own numbers ---------------------------------------------------------------

def test_totals_are_nbgraders_own_after_hand_grading_and_late_penalty(course, tmp_path):
    with gradebook(course) as gb:
        totals = read_totals(gb, ASSIGNMENT)
        plugin_file = tmp_path / "nbgrader.csv"
        CsvExportPlugin(to=str(plugin_file)).export(gb)  # `nbgrader export`, in process
    assert totals.max_score == 6.0
    one = totals.students["2024001"]
    assert (one.raw_score, one.late_penalty, one.score) == (5.5, 1.0, 4.5)  # the hand-given 4 replaces the auto 2
    assert totals.students["kim_jiwoo"].needs_manual_grade and totals.students["kim_jiwoo"].score == 3.0
    assert totals.students["stranger"].score == 6.0
    assert not totals.students["2024005"].submitted and totals.students["2024005"].score is None
    theirs = {row["student_id"]: row for row in csv.DictReader(plugin_file.open(encoding="utf-8"))}
    for student, total in totals.students.items():
        if total.submitted:
            assert float(theirs[student]["score"]) == total.score
            assert float(theirs[student]["raw_score"]) == total.raw_score
            assert float(theirs[student]["late_submission_penalty"]) == total.late_penalty


# --- format 1: nbgrader's export columns ------------------------------------------------------------

def test_nbgrader_format_has_nbgraders_columns_and_every_gradebook_student(course, tmp_path, capsys):
    with gradebook(course) as gb:
        CsvExportPlugin(to=str(tmp_path / "theirs.csv")).export(gb)
    theirs = (tmp_path / "theirs.csv").read_text(encoding="utf-8").splitlines()[0].split(",")

    assert export(course, tmp_path / "out") == 0
    rows = table(tmp_path / "out" / f"{ASSIGNMENT}-nbgrader.csv")
    # Columns: nbgrader/plugins/export.py, CsvExportPlugin.export's `keys`, as its own file heads them.
    assert rows[0] == theirs == list(nbgrader_csv.COLUMNS)
    by_id = {row[3]: dict(zip(rows[0], row)) for row in rows[1:]}
    assert list(by_id) == sorted(["2024001", "kim_jiwoo", "2024005", "stranger"])  # the gradebook's students
    one = by_id["2024001"]
    scores = ("raw_score", "late_submission_penalty", "score", "max_score")
    assert [one[column] for column in scores] == ["5.5", "1", "4.5", MAX_SCORE]
    assert (one["duedate"], one["timestamp"], one["last_name"], one["first_name"]) == (
        "2024-05-01 23:59:00", "2024-05-02 10:00:00", "김", "민수")
    missing = by_id["2024005"]
    assert [missing[column] for column in ("timestamp", *scores)] == ["", "", "", "", MAX_SCORE]
    assert not (tmp_path / "out" / f"{ASSIGNMENT}-not-in-roster.csv").exists(), "no roster, nothing to be missing from"
    said = capsys.readouterr()
    assert "1 without a submission" in said.out and "2024005" in said.out
    assert "kim_jiwoo" in said.err and "hand grading" in said.err


def test_nbgrader_format_with_a_roster_keeps_its_order_and_the_unknown(course, tmp_path, capsys):
    assert export(course, tmp_path, "--roster", str(course / "roster.csv")) == 0
    rows = table(tmp_path / f"{ASSIGNMENT}-nbgrader.csv")
    assert [row[3] for row in rows[1:]] == ["2024001", "kim_jiwoo", "2024003", "stranger"]  # roster order, then unknown
    missing = dict(zip(rows[0], rows[3]))
    assert (missing["last_name"], missing["email"], missing["score"]) == ("박서연", "seoyeon@example.ac.kr", "")
    assert [row[0] for row in table(tmp_path / f"{ASSIGNMENT}-not-in-roster.csv")] == ["student_id", "stranger"]
    said = capsys.readouterr()
    assert "4 student(s), 3 with a grade, 1 without a submission" in said.out and "stranger" in said.err


# --- format 2: Moodle --------------------------------------------------------------------------------

def test_moodle_file_follows_moodles_csv_grade_import(course, tmp_path, capsys):
    assert export(course, tmp_path, "--format", "moodle", "--roster", str(course / "roster.csv")) == 0
    rows = table(tmp_path / f"{ASSIGNMENT}-moodle.csv")
    # docs.moodle.org/en/Grade_import: map a user column ("ID number" → useridnumber, "Email address" → useremail)
    # and a grade column, named after the grade item; grade/import/csv/classes/load_data.php reads "" as no grade
    # and aborts the whole import on a user it cannot find, so only rostered students may appear.
    assert rows[0] == ["ID number", "Email address", "Name", ASSIGNMENT]
    assert rows[1:] == [["S2024001", "minsu@example.ac.kr", "김민수", "4.5"],
                        ["S2024002", "jiwoo@example.ac.kr", "김지우", "3"],
                        ["S2024003", "seoyeon@example.ac.kr", "박서연", ""]]  # no submission: explicit, empty
    aside = table(tmp_path / f"{ASSIGNMENT}-not-in-roster.csv")
    assert aside == [["student_id", "name", "email", "score", "max_score", "timestamp"],
                     ["stranger", "Doe Jo", "", "6", MAX_SCORE, "2024-05-02 10:00:00"]]
    said = capsys.readouterr()
    assert "3 student(s), 2 with a grade, 1 without a submission (grade left empty)" in said.out
    assert "2024003 박서연" in said.out
    assert "stranger (6 of 6)" in said.err and f"left out of {ASSIGNMENT}-moodle.csv" in said.err
    assert "useridnumber" in said.out


def test_moodle_file_has_no_email_column_when_a_student_has_none(course, tmp_path, capsys):
    # load_data.php skips an empty user cell yet keeps the previous line's user: a grade would go astray.
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER.replace("jiwoo@example.ac.kr", ""), encoding="utf-8")
    assert export(course, tmp_path, "--format", "moodle", "--roster", str(roster)) == 0
    rows = table(tmp_path / f"{ASSIGNMENT}-moodle.csv")
    assert rows[0] == ["ID number", "Name", ASSIGNMENT] and rows[2] == ["S2024002", "김지우", "3"]
    assert 'no "Email address" column' in capsys.readouterr().out


def test_moodle_grade_column_takes_the_grade_items_name(course, tmp_path):
    assert export(course, tmp_path, "--format", "moodle", "--roster", str(course / "roster.csv"),
                  "--item", "Lesson 08: PyTorch ↔ NumPy") == 0
    assert table(tmp_path / f"{ASSIGNMENT}-moodle.csv")[0][-1] == "Lesson 08: PyTorch ↔ NumPy"


# --- format 3: Canvas --------------------------------------------------------------------------------

def test_canvas_file_follows_canvas_gradebook_import(course, tmp_path, capsys):
    assert export(course, tmp_path, "--format", "canvas", "--roster", str(course / "roster.csv"),
                  "--item", "Lesson 08 (777)") == 0
    rows = table(tmp_path / f"{ASSIGNMENT}-canvas.csv")
    # Canvas Instructor Guide, "How do I import grades in the Gradebook?": Student, ID, SIS User ID, SIS Login ID,
    # Section, then the assignment column "Name (id)"; the "Points Possible" row as Canvas's own export writes it.
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lesson 08 (777)"]
    assert rows[1] == ["    Points Possible", "", "", "", "", MAX_SCORE]
    assert rows[2:] == [["김민수", "", "S2024001", "", "01", "4.5"],
                        ["김지우", "", "S2024002", "", "02", "3"],
                        ["박서연", "", "S2024003", "", "01", ""]]
    assert "stranger" not in (tmp_path / f"{ASSIGNMENT}-canvas.csv").read_text(encoding="utf-8-sig")
    said = capsys.readouterr()
    assert "stranger" in said.err and "creates a new assignment" not in said.out


def test_canvas_without_an_assignment_id_says_canvas_will_create_one(course, tmp_path, capsys):
    assert export(course, tmp_path, "--format", "canvas", "--roster", str(course / "roster.csv")) == 0
    assert table(tmp_path / f"{ASSIGNMENT}-canvas.csv")[0][-1] == ASSIGNMENT
    assert f'creates a new assignment "{ASSIGNMENT}"' in capsys.readouterr().out
    assert canvas_csv.names_an_existing_assignment("Lesson 08 (12345)")
    assert not canvas_csv.names_an_existing_assignment("Lesson (draft)")


# --- the roster --------------------------------------------------------------------------------------

def test_roster_from_korean_excel_cp949_with_loose_header(tmp_path):
    path = tmp_path / "roster.csv"
    excel = " Student_ID ,LMS_ID,Name\r\n김_민수,S1,김민수\r\n\r\n"  # Korean Excel's "CSV (쉼표로 분리)"
    path.write_bytes(excel.encode("cp949"))
    [entry] = read_roster(path)
    assert (entry.student_id, entry.lms_id, entry.name, entry.email) == ("김_민수", "S1", "김민수", "")


def test_roster_ids_typed_on_a_mac_match_the_gradebooks(tmp_path):
    path = tmp_path / "roster.csv"
    typed = unicodedata.normalize("NFD", "김_민수")
    path.write_bytes(f"\ufeffstudent_id,lms_id\n{typed},S1\n".encode("utf-8"))
    assert read_roster(path)[0].student_id == "김_민수", "an NFD id is the gradebook's NFC id"


@pytest.mark.parametrize("text, words", [
    ("student_id,name\n1,a\n", ["line 1", "no lms_id column"]),
    ("student_id,lms_id,e-mail\n1,a,x\n", ["line 1", "'e-mail'"]),
    ("student_id,lms_id\n1,a\n2,\n", ["line 3", "no lms_id"]),
    ("student_id,lms_id\n1,a\n2,a\n", ["line 3", "lms_id 'a' is on line 2 too"]),
    ("student_id,lms_id\n1,a\n1,b\n", ["line 3", "student_id '1'"]),
    ("student_id,lms_id\n1,a,extra\n", ["line 2", "3 cells for 2 columns"]),
    ("", ["empty"]),
])
def test_a_malformed_roster_is_refused_with_file_and_line(tmp_path, text, words):
    path = tmp_path / "roster.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RosterProblem) as problem:
        read_roster(path)
    for word in words:
        assert word in str(problem.value), (word, str(problem.value))


def test_matching_without_and_with_a_roster(course, tmp_path):
    with gradebook(course) as gb:
        totals = read_totals(gb, ASSIGNMENT)
    alone = match(totals, None)
    assert [row.student_id for row in alone.without_submission] == ["2024005"] and alone.not_in_roster == []
    with_roster = match(totals, read_roster(course / "roster.csv"))
    assert [row.student_id for row in with_roster.without_submission] == ["2024003"]
    assert [row.student_id for row in with_roster.not_in_roster] == ["stranger"]  # 2024005 submitted nothing
    assert [row.student_id for row in with_roster.awaiting_hand_grading] == ["kim_jiwoo"]


# --- refusals: one line, exit 2, nothing written ------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["--format", "moodle"], ["--format moodle needs --roster"]),
    (["--format", "canvas"], ["--format canvas needs --roster"]),
    (["--roster", "nowhere.csv"], ["--roster nowhere.csv", "cannot be read"]),
    (["--item", " "], ["--item"]),
])
def test_arguments_that_cannot_work_are_refused(course, tmp_path, capsys, args, words):
    out = tmp_path / "out"
    assert export(course, out, *args) == 2
    said = capsys.readouterr()
    assert len(said.err.splitlines()) == 1 and said.err.startswith("autograder: ") and said.out == ""
    for word in words:
        assert word in said.err, (word, said.err)
    assert not out.exists()


def test_unknown_assignment_names_the_ones_there(course, tmp_path, capsys):
    assert main(["export", "lesson99", "--course", str(course), "--out", str(tmp_path / "out")]) == 2
    assert "no assignment 'lesson99'" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_refuses_the_course_root_as_out_and_a_course_without_gradebook(course, tmp_path, capsys):
    assert export(course, course) == 2
    assert "the course root" in capsys.readouterr().err
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "nbgrader_config.py").write_text("c = get_config()\n")
    assert main(["export", ASSIGNMENT, "--course", str(bare), "--out", str(tmp_path / "out")]) == 2
    assert "no gradebook" in capsys.readouterr().err
    assert sorted(os.listdir(bare)) == ["nbgrader_config.py"], "a missing gradebook must not be created"


def test_export_is_a_verb_of_the_command_line():
    args = build_parser().parse_args(["export", ASSIGNMENT, "--out", "x"])
    assert (args.format, args.course, args.roster, args.item) == ("nbgrader", ".", None, None)
    assert "export" in build_parser().format_help()


def test_points_are_written_as_grades_csv_writes_them():
    assert [points(v) for v in (28.0, 27.5, 1 / 3, -0.0, 0, None)] == ["28", "27.5", "0.3333", "0", "0", ""]
