"""`python -m autograder grade` as the instructor meets it: arguments refused at once and in one
line, --help, grader failures kept from students, output modes, grades.csv and the GPU follow-up."""
import codecs
import csv
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder import grade as grading, messages, results as R
from autograder.assignment import Assignment
from autograder.cli import interpreter
from autograder.engine.session import Limits
from autograder.files import LOG_FILE, append_log
from autograder.views.feedback import render_feedback
from autograder_fixtures import SAMPLES, autograder_command, grade_args, run_autograder
from course import ROOT, bin_path, copy_course

DEFAULTS = Limits()


@pytest.fixture
def place(tmp_path):
    """(scratch course, with no gradebook yet, where --out would go) under tmp_path."""
    return copy_course(tmp_path / "course", gradebook=False), tmp_path / "out"


def tree(folder: Path) -> list:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def refused(tmp_path, *args, cwd=None, words=()):
    """Run `grade ARGS`; check it is refused with exit 2, in one line holding WORDS, fast, creating nothing."""
    before = tree(tmp_path)
    started = time.monotonic()
    done = run_autograder("grade", *args, cwd=cwd or tmp_path, timeout=60)
    seconds = time.monotonic() - started
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("autograder: "), done.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert seconds < 3, f"refused after {seconds:.1f} s: it started work first"
    assert tree(tmp_path) == before, "a refused run created files"
    assert done.stdout == ""
    return lines[0]


@pytest.mark.parametrize("bad, words", [
    (["--cell-timeout", "nan"], ["--cell-timeout nan", "at least 1"]),
    (["--cell-timeout", "inf"], ["--cell-timeout inf", "at least 1"]),
    (["--cell-timeout", "0"], ["--cell-timeout 0", "at least 1"]),
    (["--cell-timeout=-5"], ["--cell-timeout -5", "at least 1"]),
    (["--cell-timeout", "0.5"], ["--cell-timeout 0.5", "at least 1"]),
    (["--notebook-timeout", "nan"], ["--notebook-timeout nan", "at least the cell timeout"]),
    (["--notebook-timeout", "inf"], ["--notebook-timeout inf", "at least the cell timeout"]),
    (["--notebook-timeout", "0"], ["--notebook-timeout 0", "at least the cell timeout"]),
    (["--notebook-timeout=-1"], ["--notebook-timeout -1", "at least the cell timeout"]),
    (["--cell-timeout", "30", "--notebook-timeout", "10"], ["--notebook-timeout 10", "(30;"]),
    (["--memory-limit", "256"], ["--memory-limit 256", "at least 512 MiB"]),
    (["--memory-limit", "0"], ["--memory-limit 0", "at least 512 MiB"]),
    (["--memory-limit=-1"], ["--memory-limit -1", "at least 512 MiB"]),
])
def test_impossible_limits_are_refused_at_once(tmp_path, place, bad, words):
    course, out = place
    refused(tmp_path, "lesson08", "--submissions", SAMPLES, "--out", out, "--course", course, *bad, words=words)


def test_the_defaults_and_the_smallest_limits_are_accepted():
    from autograder.cli import build_parser, check_arguments
    for extra in ([], ["--cell-timeout", "1", "--notebook-timeout", "1", "--memory-limit", "512"]):
        args = build_parser().parse_args(["grade", "lesson08", "--submissions", str(SAMPLES), "--out",
                                          "nowhere-yet", "--course", str(ROOT), *extra])
        check_arguments(args)  # raises when refused


def test_missing_submissions_are_refused(tmp_path, place):
    course, out = place
    refused(tmp_path, "lesson08", "--submissions", tmp_path / "nowhere", "--out", out, "--course", course,
            words=["--submissions", str(tmp_path / "nowhere"), "does not exist"])


def test_an_out_that_is_a_file_is_refused(tmp_path, place):
    course, _ = place
    (tmp_path / "grades.txt").write_text("not a folder")
    for out in (tmp_path / "grades.txt", tmp_path / "grades.txt" / "inside"):
        refused(tmp_path, "lesson08", "--submissions", SAMPLES, "--out", out, "--course", course,
                words=[f"--out {out}", "a file, not a folder"])


def test_a_folder_without_nbgrader_config_is_not_a_course(tmp_path, place):
    course, out = place
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    line = refused(tmp_path, "lesson08", "--submissions", SAMPLES, "--out", out, cwd=empty,  # --course . by default
                   words=["nbgrader_config.py", str(empty), "--course ROOT"])
    assert not (empty / "gradebook.db").exists() and "Traceback" not in line
    refused(tmp_path, "lesson08", "--submissions", SAMPLES, "--out", out, "--course", course / "source",
            words=[str(course / "source"), f"--course {course}"])  # a course above: named


def test_an_unknown_assignment_names_the_ones_there(tmp_path, place):
    course, out = place
    for wrong in ("lesson99", "..", "lesson08/../lesson08"):
        refused(tmp_path, wrong, "--submissions", SAMPLES, "--out", out, "--course", course,
                words=[repr(wrong), str(course / "source"), "choose one of lesson08"])
    assert not (course / "gradebook.db").exists()


def test_help_shows_the_default_limits():
    done = run_autograder("grade", "--help", timeout=60)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())  # argparse wraps lines
    assert f"--cell-timeout S seconds one cell may run, at least 1 (default: {DEFAULTS.cell_timeout:g})" in text
    assert f"at least the cell timeout (default: {DEFAULTS.notebook_timeout:g})" in text
    assert f"at least 512 (default: {DEFAULTS.memory_limit_mb})" in text
    assert DEFAULTS.memory_limit_mb >= 512 and DEFAULTS.notebook_timeout >= DEFAULTS.cell_timeout >= 1


def test_a_grader_failure_shows_students_a_sentence_and_keeps_the_traceback_for_the_log(tmp_path, monkeypatch):
    def broken(nb, assignment):
        raise KeyError("secret: /srv/course/source/lesson08 hidden line")
    monkeypatch.setattr(grading, "restore", broken)
    data = nbformat.writes(nbformat.v4.new_notebook()).encode()
    graded = grading.grade_submission(data, Assignment("lesson08", "lesson08", (), {}), "ann", engine=object())
    results = graded.results
    assert results["extra_data"]["status"] == R.GRADER_ERROR and results["output"] == messages.EN["grader_failed"]
    flags = results["extra_data"]["flags"]
    assert flags == ["grader error (KeyError): its traceback is in autograder.log, beside grades.csv"]
    page = render_feedback(results)
    for seen in (results["output"], page, "\n".join(flags)):
        assert "secret" not in seen and "Traceback" not in seen and "grade.py" not in seen
    assert graded.log.startswith("Traceback") and "secret: /srv/course" in graded.log and "broken" in graded.log
    append_log(tmp_path, "ann", graded.log)
    append_log(tmp_path, "김민수", "second\n")
    log = (tmp_path / LOG_FILE).read_text(encoding="utf-8")
    assert log.count("\n== ") + log.startswith("== ") == 2 and " ann\nTraceback" in log and " 김민수\nsecond\n" in log


UMASK_SCRIPT = """import os, stat, sys
from autograder.files import append_log, write_atomic
write_atomic(os.path.join(sys.argv[1], "grades.csv"), "x")
append_log(sys.argv[1], "ann", "log")
print(*(oct(stat.S_IMODE(os.stat(os.path.join(sys.argv[1], name)).st_mode)) for name in ("grades.csv", "autograder.log")))
"""


@pytest.mark.parametrize("umask, mode", [(0o022, "0o644"), (0o027, "0o640"), (0o077, "0o600")])
def test_written_files_follow_the_umask(tmp_path, umask, mode):
    done = subprocess.run([sys.executable, "-c", UMASK_SCRIPT, tmp_path], cwd=ROOT, capture_output=True, text=True,
                          preexec_fn=lambda: os.umask(umask), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [mode, mode]


def test_the_follow_up_names_this_python_as_it_can_be_typed(monkeypatch, tmp_path):
    python = Path(sys.executable)
    monkeypatch.chdir(python.parent.parent)
    assert interpreter() == os.path.join(python.parent.name, python.name)
    monkeypatch.chdir(python.parent)
    assert interpreter() == os.path.join(".", python.name)  # never a bare name the shell looks up in PATH
    monkeypatch.chdir(tmp_path)
    assert interpreter() == str(python)


@pytest.mark.slow
def test_a_run_follows_the_umask_writes_grades_for_excel_and_names_this_python(tmp_path):
    course = copy_course(tmp_path / "course")
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(SAMPLES / "alice.ipynb", folder)
    shutil.copy(SAMPLES / "erin.ipynb", folder / "김민수.ipynb")  # invalid: no kernel needed
    out = tmp_path / "out"
    env = {**os.environ, "PATH": bin_path(), "CUDA_VISIBLE_DEVICES": ""}  # no CUDA: alice stays provisional
    one_parent = ("--workers", "1")  # 김민수's notebook needs no kernel
    done = subprocess.run(autograder_command(*grade_args(course, folder, out, *one_parent, cell_timeout=10)), cwd=ROOT,
                          env=env, preexec_fn=lambda: os.umask(0o022), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    students = sorted(p for p in out.iterdir() if p.is_dir())
    assert len(students) == 2
    for path in [out / "grades.csv", out / "report.html"] + [s / n for s in students for n in ("results.json",
                                                                                                "feedback.html")]:
        assert oct(stat.S_IMODE(path.stat().st_mode)) == "0o644", path
    for path in [out, *students]:
        assert oct(stat.S_IMODE(path.stat().st_mode)) == "0o755", path

    assert (out / "grades.csv").read_bytes().startswith(codecs.BOM_UTF8)
    with open(out / "grades.csv", newline="", encoding="utf-8-sig") as handle:
        rows = {r["student_id"]: r for r in csv.DictReader(handle)}
    assert rows["alice"]["score"] == "36" and rows["alice"]["status"] == "provisional"
    assert rows["김민수"]["score"] == "0" and rows["김민수"]["status"] == "invalid"
    max_score = json.loads((out / "alice" / "results.json").read_text())["extra_data"]["max_score"]
    assert {r["max_score"] for r in rows.values()} == {f"{max_score:g}"} and not f"{max_score:g}".endswith(".0")

    python = Path(sys.executable)
    typed = str(python.relative_to(ROOT)) if python.is_relative_to(ROOT) else str(python)
    assert f"`{typed} -m autograder grade lesson08 --submissions {folder} --out {out}" in done.stdout
    assert "--only-gpu` on a GPU machine" in done.stdout


def test_the_console_table_lines_up_hangul_ids():
    from autograder.cli import _columns, grade_table
    def result(student, score):
        return {"score": score, "extra_data": {"student_id": student, "max_score": 38, "status": "graded", "flags": []}}
    table = grade_table({"alice": result("alice", 28), "김_민수": result("김_민수", 17)}).splitlines()
    score_column = {_columns(line[:line.index(score)]) for line, score in zip(table[1:], ("28", "17"))}
    assert len(score_column) == 1, table
