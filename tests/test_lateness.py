"""Deadlines, extensions and late penalties (autograder/lateness.py), all in the course's zone, Asia/Seoul:
timestamps as real `nbgrader submit` writes them, nbgrader's late-submission plugin, the gradebook,
`export`'s totals and the Korean feedback page of a `grade --record` run."""
import csv
import json
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

from autograder import course, lateness
from autograder.submissions import Submission
from autograder.views.feedback import render_feedback
from autograder_fixtures import grade_args, run_autograder, submission
from course import ROOT, copy_course, nbgrader

SEOUL = lateness.ZoneInfo("Asia/Seoul")
DEADLINE = "2026-12-14 23:59"  # KST: 14:59 UTC
DEADLINE_UTC = datetime(2026, 12, 14, 14, 59, tzinfo=timezone.utc)
ONE_WORKER = ("--workers", "1")  # the class runs: one warm parent pair each (lateness is not about parallel grading)
# An instructor's own plugin, as nbgrader's docs show one: a module in the course folder.
PLUGIN = '''from nbgrader.plugins import LateSubmissionPlugin


class {name}(LateSubmissionPlugin):
    """One point off per hour late (started hours count in part)."""

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return total_seconds_late / 3600
'''


def scratch_config(root: Path, lines: str = "", extensions: str | None = None):
    """A course root holding the course's nbgrader_config.py with `lines` added (and extensions.csv);
    nbgrader's CourseDirectory for it."""
    root.mkdir(parents=True, exist_ok=True)
    config = (ROOT / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(f"{config}\nc.CourseSchedule.deadlines = {{'lesson08': '{DEADLINE}'}}\n"
                                             f"{lines}\n")
    if extensions is not None:
        (root / lateness.EXTENSIONS_FILE).write_text(extensions)
    return course.load(root)


def at(utc_text: str) -> datetime:
    return datetime.fromisoformat(utc_text).replace(tzinfo=timezone.utc)


# parsing

def test_a_timestamp_written_by_nbgrader_submit_under_the_course_config_is_read_at_its_instant(
        nbgrader_release, tmp_path):
    """release, submit (a student's folder with the course's config) and collect by real nbgrader: the
    timestamp.txt collect leaves is the instant of the submit, read alike by lateness.py and nbgrader."""
    root = Path(shutil.copytree(nbgrader_release, tmp_path / "course"))
    nbgrader(root, "release_assignment", "lesson08", "--log-level=WARN")
    student = tmp_path / "student"
    shutil.copytree(root / "release" / "lesson08", student / "lesson08")
    shutil.copy(root / "nbgrader_config.py", student)
    before = datetime.now(timezone.utc)
    nbgrader(student, "submit", "lesson08", "--student", "minsu", f"--Exchange.root={root / 'exchange'}",
             "--log-level=WARN")
    after = datetime.now(timezone.utc)
    collected = nbgrader(root, "collect", "lesson08", "--log-level=WARN")
    text = (root / "submitted" / "minsu" / "lesson08" / "timestamp.txt").read_text()
    read = lateness.parse_timestamp(text, lateness.course_timezone(root))
    assert before - timedelta(seconds=1) <= read <= after, (text, read, before, after)
    assert read.utcoffset() == timedelta(hours=9), read  # shown in the course's zone
    assert parse_utc(text) == read.astimezone(timezone.utc).replace(tzinfo=None), text  # nbgrader reads it alike
    assert "Invalid" not in collected.stderr and "failed" not in collected.stderr, collected.stderr


@pytest.mark.parametrize("text, utc", [
    ("2026-12-14 23:59:00.000000 KST", "2026-12-14 14:59:00"),  # nbgrader's default '%Z' in Asia/Seoul
    ("2026-12-14 23:59:00.000000 ROK", "2026-12-14 14:59:00"),  # the course's format
    ("2026-12-14 23:59:00.250000 +0900", "2026-12-14 14:59:00.25"),  # parse_utc reads 900 s here
    ("2026-12-14T23:59:00+09:00", "2026-12-14 14:59:00"),
    ("2026-12-14 14:59:00.000000 UTC", "2026-12-14 14:59:00"),  # nbgrader's defaults
    ("2026-12-14 23:59:00", "2026-12-14 14:59:00"),  # naive: the course's zone
    ("2026-12-14 23:59", "2026-12-14 14:59:00"),
])
def test_timestamp_forms_are_read_in_the_course_zone(text, utc):
    read = lateness.parse_timestamp(text, SEOUL)
    assert read == at(utc) and read.tzinfo == SEOUL, read


def test_the_kst_pitfall_exists_in_nbgrader_and_an_unknown_zone_is_refused():
    """nbgrader's own parse_utc reads 'KST' as UTC (9 h late): why lateness.py parses timestamps itself."""
    assert parse_utc("2026-12-14 23:59:00.000000 KST") == datetime(2026, 12, 14, 23, 59)
    for bad in ("2026-12-14 23:59:00 JST", "yesterday", ""):
        with pytest.raises(ValueError, match="timestamp|time zone"):
            lateness.parse_timestamp(bad, SEOUL)


# deadlines

@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """A course with the deadline and nbgrader's default plugin set to `zero`."""
    return scratch_config(tmp_path_factory.mktemp("plain"), 'c.LateSubmissionPlugin.penalty_method = "zero"')


@pytest.mark.parametrize("when, seconds_late", [
    ("2026-12-14 14:58:59", 0.0),  # 23:58:59 KST: 1 s before
    ("2026-12-14 14:59:01", 1.0),  # 1 s after
    ("2026-12-14 15:30:00", 31 * 60.0),  # 00:30 KST the next day, the same UTC day: late
    ("2026-12-14 10:00:00", 0.0),
])
def test_deadline_is_read_in_the_course_zone(plain, when, seconds_late):
    found = lateness.assess(plain, "lesson08", "ana", at(when), 10.0)
    assert found.deadline == DEADLINE_UTC and found.deadline.tzinfo == SEOUL and not found.extended
    assert (found.seconds_late, found.late) == (seconds_late, seconds_late > 0)
    assert found.penalty == (10.0 if seconds_late else 0.0)  # `zero`: the whole score
    assert lateness.Lateness.from_dict(json.loads(json.dumps(found.to_dict()))) == found


def test_an_assignment_without_a_deadline_is_never_late(plain):
    found = lateness.assess(plain, "lesson09", "ana", at("2030-01-01 00:00:00"), 10.0)
    assert (found.deadline, found.seconds_late, found.penalty) == (None, 0.0, 0.0)


def test_a_bad_zone_or_deadline_refuses_the_run_naming_the_setting(tmp_path):
    scratch_config(tmp_path / "zone", 'c.Exchange.timezone = "Asia/Busan"')
    with pytest.raises(lateness.LatenessError, match=r"nbgrader_config.py: c.Exchange.timezone = 'Asia/Busan'"):
        lateness.check_course(tmp_path / "zone")
    scratch_config(tmp_path / "deadline", 'c.CourseSchedule.deadlines = {"lesson08": "14 Dec"}')
    with pytest.raises(lateness.LatenessError, match=r"deadlines\['lesson08'\]: not a timestamp: '14 Dec'"):
        lateness.check_course(tmp_path / "deadline")


# extensions

EXTENSIONS = """# student_id,assignment,extension
student_id,assignment,extension
minsu,lesson08,2026-12-16 23:59
jiwoo,lesson08,48h
bora,lesson08,next tuesday
jiwoo,lesson09,2026-12-30 23:59
"""


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    return scratch_config(tmp_path_factory.mktemp("extended"), 'c.LateSubmissionPlugin.penalty_method = "zero"',
                          EXTENSIONS)


def test_an_extension_moves_one_students_deadline_only(extended):
    when = at("2026-12-15 01:00:00")  # 10:00 KST, the morning after the deadline
    ana, minsu, jiwoo = (lateness.assess(extended, "lesson08", s, when, 10.0) for s in ("ana", "minsu", "jiwoo"))
    assert (ana.deadline, ana.extended, ana.seconds_late, ana.penalty) == (DEADLINE_UTC, False, 10 * 3600 + 60, 10.0)
    assert (minsu.deadline, minsu.extended, minsu.late, minsu.penalty) == (at("2026-12-16 14:59:00"), True, False, 0)
    assert (jiwoo.deadline, jiwoo.late) == (DEADLINE_UTC + timedelta(hours=48), False)
    assert minsu.course_deadline == DEADLINE_UTC


def test_a_malformed_extension_line_is_named_and_skipped_the_others_still_apply(extended, capsys):
    path = Path(extended.root) / lateness.EXTENSIONS_FILE
    found, problems = lateness.read_extensions(path, SEOUL)
    assert set(found) == {("minsu", "lesson08"), ("jiwoo", "lesson08"), ("jiwoo", "lesson09")}
    assert problems == [f"{path}: line 5: 'next tuesday' is neither a new deadline (2026-12-16 23:59) nor extra "
                        "hours (48h); this line is skipped"]
    bora = lateness.assess(extended, "lesson08", "bora", at("2026-12-15 01:00:00"), 10.0)
    assert (bora.deadline, bora.extended, bora.late) == (DEADLINE_UTC, False, True)  # the class's deadline
    lateness._warned.clear()
    lateness.assess(extended, "lesson08", "ana", at("2026-12-15 01:00:00"), 10.0)
    assert f"autograder: warning: {path}: line 5: 'next tuesday'" in capsys.readouterr().err


@pytest.mark.parametrize("line, problem", [
    ("minsu,lesson08", "expected 3 values"),
    ("minsu,lesson08,0h", "adds no time"),
    ("minsu,,48h", "expected 3 values"),
])
def test_each_kind_of_malformed_line_says_what_is_wrong(tmp_path, line, problem):
    path = tmp_path / "extensions.csv"
    path.write_text(f"# a comment\n{line}\n")
    found, problems = lateness.read_extensions(path, SEOUL)
    assert found == {} and len(problems) == 1 and problems[0].startswith(f"{path}: line 2: ") and problem in problems[0]


# penalties: nbgrader's plugin

def test_penalty_method_none_takes_nothing_off(tmp_path):
    none = scratch_config(tmp_path / "none", 'c.LateSubmissionPlugin.penalty_method = "none"')
    found = lateness.assess(none, "lesson08", "ana", at("2026-12-15 00:00:00"), 10.0)
    assert found.late and found.penalty == 0.0


def test_a_custom_plugin_class_in_the_course_folder_is_honoured_and_kept_within_the_score(tmp_path):
    root = tmp_path / "custom"
    root.mkdir()
    (root / "late_policy_hourly.py").write_text(PLUGIN.format(name="PointPerHour"))
    custom = scratch_config(root, 'c.AssignLatePenalties.plugin_class = "late_policy_hourly.PointPerHour"')
    two_and_a_half_hours = lateness.assess(custom, "lesson08", "ana", at("2026-12-14 17:29:00"), 10.0)
    assert two_and_a_half_hours.penalty == 2.5
    assert lateness.assess(custom, "lesson08", "ana", at("2026-12-16 00:00:00"), 10.0).penalty == 10.0  # not > score
    assert lateness.assess(custom, "lesson08", "ana", at("2026-12-14 14:00:00"), 10.0).penalty == 0.0


def test_a_timestamp_beside_a_notebook_outside_nbgraders_layout_or_unreadable_is_no_lateness(plain, tmp_path, capsys):
    layout = tmp_path / "ana" / "lesson08"
    layout.mkdir(parents=True)
    (layout / "lesson08.ipynb").write_text("{}")
    (layout / "timestamp.txt").write_text("2026-12-15 00:30:00.000000 KST")
    collected = Submission("ana", "x", str(layout / "lesson08.ipynb"))
    found = lateness.of_submission(plain, "lesson08", collected, 4.0)
    assert found.seconds_late == 31 * 60
    flat = Submission("ana", "x", str(tmp_path / "ana.ipynb"))  # a flat folder's timestamp.txt is no one's
    (tmp_path / "timestamp.txt").write_text("2026-12-15 00:30:00")
    assert lateness.of_submission(plain, "lesson08", flat, 4.0) is None
    (layout / "timestamp.txt").write_text("soon")
    assert lateness.of_submission(plain, "lesson08", collected, 4.0) is None
    assert f"{layout / 'timestamp.txt'}: not a timestamp: 'soon'" in capsys.readouterr().err


def test_the_feedback_page_in_english_says_on_time_or_late_without_penalty():
    results = {"score": 7, "tests": [], "extra_data": {"status": "graded", "max_score": 10}}
    on_time = lateness.Lateness(at("2026-12-14 14:00:00").astimezone(SEOUL), DEADLINE_UTC.astimezone(SEOUL), False,
                                0.0, 0.0, DEADLINE_UTC.astimezone(SEOUL))
    page = render_feedback({**results, "extra_data": {**results["extra_data"], "lateness": on_time.to_dict()}}, "en")
    assert "Submitted: 2026-12-14 23:00:00 KST." in page and "Deadline: 2026-12-14 23:59:00 KST." in page
    assert "Submitted before the deadline." in page
    late = lateness.Lateness(at("2026-12-16 15:00:30").astimezone(SEOUL), DEADLINE_UTC.astimezone(SEOUL), False,
                             (at("2026-12-16 15:00:30") - DEADLINE_UTC).total_seconds(), 0.0,
                             DEADLINE_UTC.astimezone(SEOUL))
    page = render_feedback({**results, "extra_data": {**results["extra_data"], "lateness": late.to_dict()}}, "en")
    assert "Submitted 2 d 1 min after the deadline." in page and "takes no points off" in page
    assert "Late penalty" not in page
    assert "Submitted" not in render_feedback(results, "en")  # no lateness: no paragraph


# a recording run, end to end

CLASS = {  # student: timestamp.txt (None: none), as collect or the grading service leaves it
    "ana": "2026-12-14 23:58:59.000000 ROK",  # 1 s before the deadline
    "bora": "2026-12-15 02:29:00.000000 KST",  # 2 h 30 min late; nbgrader alone would read 02:29 UTC
    "chul": "2026-12-15 05:00:00.000000 UTC",  # 14:00 KST, late but within his 48 h extension
    "dan": None,
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """The class graded with `grade --record` in a scratch course whose late plugin is the instructor's own
    (one point per hour); then `export`. (course root, out, export's rows by student)."""
    base = tmp_path_factory.mktemp("lateness-class")
    root = copy_course(base / "course")
    (root / "late_policy_e2e.py").write_text(PLUGIN.format(name="PointPerHour"))
    scratch_config(root, 'c.AssignLatePenalties.plugin_class = "late_policy_e2e.PointPerHour"',
                   "student_id,assignment,extension\nchul,lesson08,48h\n")
    submissions = base / "submissions"
    for student, stamp in CLASS.items():
        folder = submissions / student / "lesson08"
        folder.mkdir(parents=True)
        (folder / "lesson08.ipynb").write_bytes(submission())
        if stamp:
            (folder / "timestamp.txt").write_text(stamp)
    out = base / "out"
    run = run_autograder(*grade_args(root, submissions, out, "--record", *ONE_WORKER, cell_timeout=10), cwd=base,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    export = run_autograder("export", "lesson08", "--out", base / "export", "--course", root, cwd=base)
    assert export.returncode == 0, export.stderr
    with open(base / "export" / "lesson08-nbgrader.csv", encoding="utf-8-sig") as handle:
        rows = {row["student_id"]: row for row in csv.DictReader(handle)}
    return root, out, rows


def results_of(out: Path, student: str) -> dict:
    return json.loads((out / student / "results.json").read_text())


def test_results_carry_the_lateness(recorded):
    _, out, _ = recorded
    bora = results_of(out, "bora")["extra_data"]["lateness"]
    assert bora["submitted"] == "2026-12-15T02:29:00+09:00" and bora["deadline"] == "2026-12-14T23:59:00+09:00"
    assert (bora["seconds_late"], bora["penalty"], bora["extended"]) == (9000.0, 2.5, False)
    ana = results_of(out, "ana")["extra_data"]["lateness"]
    assert (ana["seconds_late"], ana["penalty"]) == (0.0, 0.0)
    chul = results_of(out, "chul")["extra_data"]["lateness"]
    assert (chul["deadline"], chul["extended"], chul["seconds_late"]) == ("2026-12-16T23:59:00+09:00", True, 0.0)
    assert "lateness" not in results_of(out, "dan")["extra_data"]
    assert results_of(out, "bora")["score"] == results_of(out, "dan")["score"] > 2.5  # the raw score: same answers


def test_the_korean_feedback_page_states_time_deadline_and_penalty(recorded):
    _, out, _ = recorded
    score = results_of(out, "bora")["score"]
    bora = (out / "bora" / "feedback.html").read_text()
    assert "제출 시각: 2026-12-15 02:29:00 KST" in bora and "마감: 2026-12-14 23:59:00 KST" in bora
    assert "마감보다 2시간 30분 늦게 냈어." in bora
    total = results_of(out, "bora")["extra_data"]["max_score"]
    assert f"늦게 내서 2.5점 깎였어. 감점하고 나면 {total:g}점 중 {score - 2.5:g}점이야." in bora
    chul = (out / "chul" / "feedback.html").read_text()
    assert "마감: 2026-12-16 23:59:00 KST (너한테만 연장된 마감이야. 원래 마감은 2026-12-14 23:59:00 KST)" in chul
    assert "마감 전에 냈어." in chul and "깎였어" not in chul
    assert "마감 전에 냈어." in (out / "ana" / "feedback.html").read_text()
    assert "제출 시각" not in (out / "dan" / "feedback.html").read_text()
    assert re.search(r"<td>늦게 낸 제출물 \(제출 시각이 있는 것 중\)</td><td>1</td>", (out / "report.html").read_text())


def test_the_gradebook_holds_nbgraders_duedate_extension_timestamp_and_penalty(recorded):
    root, _, _ = recorded
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        assert gb.find_assignment("lesson08").duedate == datetime(2026, 12, 14, 14, 59)  # UTC, as nbgrader keeps it
        bora, chul, ana = (gb.find_submission("lesson08", s) for s in ("bora", "chul", "ana"))
        assert bora.timestamp == datetime(2026, 12, 14, 17, 29) and bora.total_seconds_late == 9000
        assert gb.find_submission_notebook("lesson08", "lesson08", "bora").late_submission_penalty == 2.5
        assert chul.extension == timedelta(hours=48) and chul.total_seconds_late == 0
        assert ana.total_seconds_late == 0 and ana.late_submission_penalty == 0
    # formgrader's "autograded" test: submitted/'s timestamp.txt, as nbgrader reads it, is the gradebook's
    assert parse_utc((root / "submitted" / "bora" / "lesson08" / "timestamp.txt").read_text()) == bora.timestamp


def test_exports_totals_subtract_the_penalty(recorded):
    _, out, rows = recorded
    raw = results_of(out, "bora")["score"]
    assert float(rows["bora"]["late_submission_penalty"]) == 2.5 and float(rows["bora"]["raw_score"]) == raw
    assert float(rows["bora"]["score"]) == raw - 2.5
    assert float(rows["ana"]["score"]) == float(rows["ana"]["raw_score"]) == raw
    assert rows["bora"]["duedate"].startswith("2026-12-14 14:59")


def test_an_extension_granted_later_updates_a_kept_result_without_regrading(recorded):
    """The same command again, after bora's extension: her result is kept (not graded again), its
    lateness, feedback and gradebook penalty are brought up to date."""
    root, out, _ = recorded
    before = results_of(out, "bora")
    (root / lateness.EXTENSIONS_FILE).write_text("chul,lesson08,48h\nbora,lesson08,2026-12-15 03:00\n")
    again = run_autograder(*grade_args(root, out.parent / "submissions", out, "--record", *ONE_WORKER, cell_timeout=10),
                           cwd=out.parent, timeout=300)
    assert again.returncode == 0, again.stderr
    after = results_of(out, "bora")
    assert after["extra_data"]["lateness"]["extended"] and after["extra_data"]["lateness"]["penalty"] == 0
    assert after["execution_time"] == before["execution_time"] and after["tests"] == before["tests"]
    assert "너한테만 연장된 마감" in (out / "bora" / "feedback.html").read_text()
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        assert gb.find_submission_notebook("lesson08", "lesson08", "bora").late_submission_penalty is None
