"""The instructor's path: release, grade with `python -m autograder grade`, then formgrader in JupyterLab.

lesson08 is released as `make release` does (into the course's exchange/). Two submissions,
downloaded into a flat folder outside the course as an LMS hands them out, go through the
course's own grading command: alice (the reference answers, written answer included: correct,
and provisional where the kernel has no CUDA) and bob (the release untouched). Formgrader must
list lesson08 as released with both submissions, and both graded with the autograder's scores;
alice has no failed test (her GPU tests wait for a CUDA kernel), bob has. The instructor opens
alice's submission, scores the written answer by hand, and `nbgrader export` must carry that score.
"""
import csv
import os
import re
import subprocess
import sys

import nbformat
import pytest

import course
from lab_helpers import menu, open_lab

pytestmark = pytest.mark.browser

WRITTEN = "written_error_order"
MANUAL_POINTS = 2  # the written answer's full marks, given by hand
GRADE_TIMEOUT_S = 300


def alice_submission():
    nb = course.fill_in(course.reference_answers())
    written = next(c.source for c in course.read(course.SOURCE).cells
                   if course.nbgrader_meta(c).get("grade_id") == WRITTEN)
    for nb_cell in nb.cells:
        if course.nbgrader_meta(nb_cell).get("grade_id") == WRITTEN:
            nb_cell.source = written
    return nb


def run(course_root, *args, timeout=GRADE_TIMEOUT_S):
    result = subprocess.run([sys.executable, "-m", *args], cwd=course_root, capture_output=True, text=True,
                            env={**os.environ, "PATH": course.bin_path()}, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def export(course_root, name):
    """`nbgrader export` to a CSV; {student_id: row}."""
    target = course_root / name
    run(course_root, "nbgrader", "export", "--to", str(target), timeout=120)
    with open(target, newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["assignment"] == course.ASSIGNMENT]
    return {row["student_id"]: row for row in rows}


@pytest.fixture(scope="module")
def graded(course_copy, tmp_path_factory):
    """lesson08 released; alice and bob, downloaded and graded by `python -m autograder grade
    --record`; its grades.csv rows."""
    course.nbgrader(course_copy, "release_assignment", course.ASSIGNMENT, "--force")  # make release's second step
    submissions = {"alice": alice_submission(), "bob": course.read(course.RELEASE)}
    download = tmp_path_factory.mktemp("lms-download")
    for student, nb in submissions.items():
        nbformat.write(nb, download / f"{student}.ipynb")
    out = tmp_path_factory.mktemp("grading")
    run(course_copy, "autograder", "grade", course.ASSIGNMENT, "--submissions", str(download),
        "--out", str(out), "--course", str(course_copy), "--record")
    for student in submissions:
        for step in ("submitted", "autograded"):  # handed in, where formgrader counts it; graded
            notebook = course_copy / step / student / course.ASSIGNMENT / f"{course.ASSIGNMENT}.ipynb"
            assert notebook.exists(), f"no {step} notebook for {student}"
    with open(out / "grades.csv", newline="", encoding="utf-8-sig") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def fmt(points):
    return f"{float(points):g}"


def test_formgrader_grades_written_answer_and_export_has_it(page, lab_server, course_copy, graded, shot):
    alice, bob = graded["alice"], graded["bob"]
    max_score = fmt(alice["max_score"])
    assert float(alice["score"]) > float(bob["score"]) == 0.0, graded
    before = export(course_copy, "grades-before.csv")
    assert float(before["alice"]["score"]) == float(alice["score"]), before["alice"]

    # Nbgrader -> Formgrader, inside JupyterLab: lesson08 is listed, released, with both submissions.
    open_lab(page, lab_server, "instructor")
    menu(page, "Nbgrader", "Formgrader")
    formgrader = page.frame_locator("iframe")
    row = formgrader.locator("#main-table tr", has_text=course.ASSIGNMENT)
    row.get_by_role("link", name=course.ASSIGNMENT).wait_for()
    assert row.locator("td.status").inner_text().strip() == "released"
    assert row.locator("td.num-submissions").inner_text().strip() == "2"
    shot(page, "instructor-01-formgrader-lists-lesson08")

    # Its submissions: both autograded, with the autograder's scores; alice's written answer
    # waits for a person, bob left it blank (no manual grade needed for "No response.").
    row.locator("td.num-submissions a").click()
    status = {"alice": "needs manual grading", "bob": "graded"}
    for student, expected in graded.items():
        student_row = formgrader.locator("#main-table tr", has_text=student)
        student_row.wait_for()
        assert student_row.locator("td.status").inner_text().strip() == status[student]
        assert student_row.locator("td.score").inner_text().strip() == f"{fmt(expected['score'])} / {max_score}"
    shot(page, "instructor-02-graded-submissions")

    # Manual Grading -> lesson08 -> lesson08 -> alice: her written answer needs a grade.
    formgrader.get_by_role("link", name="Manual Grading").click()
    formgrader.locator("#main-table").get_by_role("link", name=course.ASSIGNMENT).click()
    formgrader.locator("#main-table td.name").get_by_role("link", name=course.ASSIGNMENT).click()
    alice_row = formgrader.locator("#main-table tr", has_text="alice")  # names hidden until asked
    alice_row.wait_for(state="attached")
    assert alice_row.locator("td.needs-manual-grade .glyphicon-ok").count() == 1, "alice's written answer not flagged"
    # "Tests failed?": not alice, whose GPU tests wait for a CUDA kernel; bob, who answered nothing.
    bob_row = formgrader.locator("#main-table tr", has_text="bob")
    assert alice_row.locator("td.tests-failed .glyphicon-ok").count() == 0, "alice's correct answers shown as failed"
    assert bob_row.locator("td.tests-failed .glyphicon-ok").count() == 1, "bob's failed tests not shown"
    formgrader.get_by_text("Show All Names").click()
    formgrader.locator("#main-table").get_by_role("link", name="alice").click()

    score = formgrader.locator(f"input.score#{WRITTEN}")
    # formgrader marks the field once it has fetched the grade, after the field is drawn: wait for it
    from playwright.sync_api import expect
    expect(score).to_have_class(re.compile(r"(^|\s)needs_manual_grade(\s|$)"))
    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
        score.fill(str(MANUAL_POINTS))
        score.press("Tab")  # formgrader saves a score when the field loses focus
    assert saved.value.ok, f"formgrader did not save the score: {saved.value.status}"
    score.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    shot(page, "instructor-03-written-answer-graded")

    # The gradebook export carries the hand-given points; bob is untouched.
    after = export(course_copy, "grades-after.csv")
    assert float(after["alice"]["score"]) == float(before["alice"]["score"]) + MANUAL_POINTS, after["alice"]
    assert float(after["alice"]["max_score"]) == float(alice["max_score"])
    assert float(after["bob"]["score"]) == float(bob["score"])

    # And formgrader's submissions page shows the new total.
    formgrader.get_by_role("link", name="Manual Grading").first.click()
    formgrader.get_by_role("link", name="Manage Assignments").click()
    row.locator("td.num-submissions a").click()
    alice_row = formgrader.locator("#main-table tr", has_text="alice")
    alice_row.wait_for()
    expected_total = f"{fmt(float(before['alice']['score']) + MANUAL_POINTS)} / {max_score}"
    assert alice_row.locator("td.score").inner_text().strip() == expected_total
    assert alice_row.locator("td.status").inner_text().strip() == "graded"
    shot(page, "instructor-04-total-after-manual-grade")
