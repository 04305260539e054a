"""`python -m autograder grade` end to end on the shipped samples: outputs, gradebook,
agreement with `nbgrader autograde`, zips, reruns and interrupted runs."""
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import time
import zipfile

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder_fixtures import (SAMPLES, SAMPLES_CELL_TIMEOUT, autograder_command, grade_args, grade_samples_way,
                                 interruptible)
from course import COURSE_ID, bin_path

pytestmark = pytest.mark.slow
STUDENTS = ["alice", "bob", "carol", "dave", "erin"]


def command(root, submissions, out, *extra):
    return autograder_command(*grade_args(root, submissions, out, *extra, cell_timeout=SAMPLES_CELL_TIMEOUT))


def load(out, student):
    return json.loads((out / student / "results.json").read_text())


def comparable(results):
    """A results dict without what differs between two gradings of the same notebook."""
    results = json.loads(json.dumps(results))
    results.pop("execution_time")
    results["extra_data"].pop("origin", None)
    return results


@pytest.fixture(scope="module")
def demo(samples_graded):
    """(course root, out, the run, its results.json files): the samples graded as `make demo` grades
    them, with --record into a scratch course (once a session: test_wheelhouse.py compares a node's
    grades with these)."""
    return samples_graded


def test_every_sample_gets_a_result_and_the_table_is_printed(demo):
    _, out, first, _ = demo
    for student in STUDENTS:
        assert student in first.stdout
        assert (out / student / "results.json").is_file() and (out / student / "feedback.html").is_file()
    assert "[5/5]" in first.stderr and "report:" in first.stdout


def test_the_first_line_says_how_many_kernels_grade_at_once(demo):
    """By default on a CPU machine: one per core that memory allows (test_batch_plan.py has the rule)."""
    from autograder.executors.local import machine
    first_line = demo[2].stderr.splitlines()[0]
    workers = re.search(r"; (\d+) workers? \((\d+) core", first_line)
    assert first_line.startswith("recording: ") and workers, first_line
    assert 1 <= int(workers[1]) <= int(workers[2]) == machine()[0], first_line


def test_sample_scores_tell_the_students_apart(demo):
    out = demo[1]
    scores = {s: load(out, s)["score"] for s in STUDENTS}
    assert scores["alice"] == 36 and scores["erin"] == 0
    assert scores["alice"] > scores["bob"] > scores["dave"] and scores["bob"] > scores["carol"]
    assert load(out, "erin")["extra_data"]["status"] == "invalid"
    assert "not valid JSON" in load(out, "erin")["output"]
    dave = "\n".join(load(out, "dave")["extra_data"]["flags"])
    assert "to_numpy_basic" in dave and "points 50" in dave  # restored; its allclose patch never reached a test
    assert {t["name"]: t["score"] for t in load(out, "dave")["tests"]}["predict_numpy_basic"] == 0
    carol = load(out, "carol")
    assert any(f"ran past {SAMPLES_CELL_TIMEOUT} s" in f for f in carol["extra_data"]["flags"])


def test_grades_csv_has_a_row_for_every_submission(demo):
    rows = list(csv.DictReader((demo[1] / "grades.csv").open(encoding="utf-8-sig")))
    assert [r["student_id"] for r in rows] == STUDENTS
    assert set(rows[0]) == {"student_id", "score", "max_score", "status", "flags"}
    assert {r["student_id"]: r["status"] for r in rows}["erin"] == "invalid"
    assert "points 50" in {r["student_id"]: r["flags"] for r in rows}["dave"]


def test_feedback_shows_no_hidden_test_and_the_report_has_plots(demo, ag_assignment):
    out = demo[1]
    visible = "\n".join(spec.visible_source for spec in ag_assignment.cells)
    hidden = [line.strip() for spec in ag_assignment.cells if spec.hidden
              for line in spec.source.split("\n") if line.strip() and line.strip() not in visible]
    assert len(hidden) > 20
    for student in STUDENTS:
        page = (out / student / "feedback.html").read_text()
        assert not [line for line in hidden if len(line) > 15 and line in page], student
    report = (out / "report.html").read_text()
    assert report.count("<img") >= 2 and "dave" in report


def test_results_are_recorded_in_the_gradebook_for_formgrader(demo, ag_assignment):
    root, out = demo[0], demo[1]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        for student in STUDENTS:
            notebook = gb.find_submission_notebook("lesson08", "lesson08", student)
            grades = {g.name: g for g in notebook.grades}
            tests = {t["name"]: t for t in load(out, student)["tests"]}
            for name, grade in grades.items():
                if name == "written_error_order":
                    continue
                waiting = tests and tests[name]["extra_data"]["outcome"] == "needs_gpu"  # no score yet, not failed
                assert grade.auto_score == (None if waiting else tests[name]["score"] if tests else 0), (student, name)
                assert not grade.needs_manual_grade, (student, name)
        alice = {g.name: g for g in gb.find_submission_notebook("lesson08", "lesson08", "alice").grades}
        assert alice["written_error_order"].needs_manual_grade and alice["written_error_order"].auto_score is None
    graded = nbformat.read(root / "autograded" / "alice" / "lesson08" / "lesson08.ipynb", as_version=4)
    assert any("### BEGIN HIDDEN TESTS" in c.source for c in graded.cells)
    assert not (root / "autograded" / "erin" / "lesson08" / "lesson08.ipynb").exists()  # invalid: no notebook
    for student in STUDENTS:  # handed in where formgrader counts submissions, as nbgrader's zip_collect puts them
        assert (root / "submitted" / student / "lesson08").is_dir()
    assert (root / "submitted" / "alice" / "lesson08" / "lesson08.ipynb").read_bytes() == \
        (SAMPLES / "alice.ipynb").read_bytes()


def test_scores_agree_with_nbgrader_autograde(demo, nbgrader_sample_scores):
    """alice and bob as real `nbgrader autograde` scores them (once a session, autograder_fixtures)."""
    from autograder_fixtures import NBGRADER_SAMPLES
    out = demo[1]
    theirs = {student: nbgrader_sample_scores[student] for student in NBGRADER_SAMPLES}
    assert set(theirs) == {"alice", "bob"}
    for student, scores in theirs.items():
        ours = {t["name"]: t for t in load(out, student)["tests"]}
        for name, score in scores.items():
            expected = None if ours[name]["extra_data"]["outcome"] == "manual" else ours[name]["score"]
            assert score == expected, (student, name)


def test_running_the_same_command_twice_changes_nothing(demo):
    root, out, _, snapshot = demo
    again = grade_samples_way(root, SAMPLES, out, "--record", "--workers", "1")  # one warm parent: for the probe
    assert again.returncode == 0
    assert again.stderr.count("(kept from an earlier run)") == len(STUDENTS)
    assert {p.relative_to(out): p.read_bytes() for p in out.glob("*/results.json")} == snapshot


def test_a_zip_in_nbgrader_layout_grades_the_same(demo, tmp_path):
    root, out = demo[0], demo[1]
    archive = tmp_path / "bulk.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for student in ("alice", "erin"):
            z.write(SAMPLES / f"{student}.ipynb", f"submitted/{student}/lesson08/lesson08.ipynb")
    zipped_out = tmp_path / "out"
    one_parent = ("--workers", "1")  # erin's notebook needs no kernel
    result = grade_samples_way(root, archive, zipped_out, *one_parent)
    assert result.returncode == 0, result.stderr
    for student in ("alice", "erin"):
        assert comparable(load(zipped_out, student)) == comparable(load(out, student))


def wait_for(path, seconds=120):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.2)


def test_an_interrupted_run_resumes_without_losing_or_duplicating_anyone(demo, tmp_path):
    root, out = demo[0], demo[1]
    subs = tmp_path / "subs"
    subs.mkdir()
    for student in ("alice", "bob", "dave"):
        shutil.copy(SAMPLES / f"{student}.ipynb", subs)
    resumed = tmp_path / "out"
    env = {**os.environ, "PATH": bin_path()}
    one_at_a_time = ("--workers", "1")  # each stop falls between two students, and one warm parent starts per run
    ctrl_c = subprocess.Popen(command(root, subs, resumed, *one_at_a_time), cwd=root, env=env, preexec_fn=interruptible,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(resumed / "alice" / "results.json")
    ctrl_c.send_signal(signal.SIGINT)
    _, err = ctrl_c.communicate(timeout=60)
    assert ctrl_c.returncode == 130 and "interrupted" in err
    killed = subprocess.Popen(command(root, subs, resumed, *one_at_a_time), cwd=root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(resumed / "bob" / "results.json")
    killed.kill()  # kill -9
    killed.wait()
    final = grade_samples_way(root, subs, resumed, *one_at_a_time)
    assert final.returncode == 0, final.stderr
    assert final.stderr.count("kept from an earlier run") >= 2
    rows = list(csv.DictReader((resumed / "grades.csv").open(encoding="utf-8-sig")))
    assert [r["student_id"] for r in rows] == ["alice", "bob", "dave"]
    for student in ("alice", "bob", "dave"):
        assert comparable(load(resumed, student)) == comparable(load(out, student))
    assert not list(resumed.glob("**/.*.partial"))
