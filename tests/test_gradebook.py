"""The gradebook writer keeps an instructor's hand grading across reruns, and asks again when a score changes."""
import copy
import shutil

import pytest

from autograder import gradebook
from autograder_fixtures import by_name, grade, submission

pytestmark = pytest.mark.slow


def test_hand_grading_survives_a_rerun_but_not_a_changed_score(ag_course, ag_assignment):
    root, coursedir, _ = ag_course
    answered = submission(written_error_order="The device check fires first: .cpu(), then .detach().")
    results = copy.deepcopy(grade(ag_assignment, answered).results)
    results["extra_data"]["student_id"] = "handgraded"
    with gradebook.open_gradebook(coursedir) as gb:
        gradebook.record(gb, coursedir, ag_assignment, results)
        written = gb.find_grade("written_error_order", "lesson08", "lesson08", "handgraded")
        test = gb.find_grade("to_numpy_basic", "lesson08", "lesson08", "handgraded")
        assert written.needs_manual_grade and not test.needs_manual_grade
        for cell, points in ((written, 2.0), (test, 0.5)):  # what formgrader does
            cell.manual_score, cell.needs_manual_grade = points, False
        gb.db.commit()

        gradebook.record(gb, coursedir, ag_assignment, results)  # the same command, run again
        assert (written.manual_score, written.needs_manual_grade) == (2.0, False)
        assert (test.manual_score, test.needs_manual_grade) == (0.5, False)

        by_name(results)["to_numpy_basic"]["score"] = 0.0  # a later grading changed this score
        gradebook.record(gb, coursedir, ag_assignment, results)
        assert test.auto_score == 0.0 and test.needs_manual_grade, "the instructor should look again"
        assert not written.needs_manual_grade


def recorded(assignment, student: str, outcome) -> dict:
    """A results dict as the grader writes it, each test's outcome `outcome(spec)`, without a kernel."""
    tests = [{"name": spec.grade_id, "score": float(spec.points) if outcome(spec) == "passed" else 0.0,
              "max_score": float(spec.points), "extra_data": {"outcome": outcome(spec)}}
             for spec in assignment.grade_cells]
    waiting = any(t["extra_data"]["outcome"] == "needs_gpu" for t in tests)
    return {"score": sum(t["score"] for t in tests), "tests": tests,
            "extra_data": {"student_id": student, "status": "provisional" if waiting else "graded"}}


def correct_without_cuda(spec) -> str:
    """The reference on a kernel without CUDA: every test passes but the GPU ones, which wait."""
    if spec.solution:
        return "manual"  # the written answer
    return "needs_gpu" if spec.needs_gpu else "passed"


def test_formgrader_counts_what_the_grader_found(tmp_path):
    """What nbgrader computes for formgrader from a recording run's rows and folders: a correct submission
    whose GPU tests wait for CUDA has no failed test (api.py: Grade.failed_tests); the assignment is
    released (make release's release_assignment, into the course's exchange/) and counts the
    submissions handed in from a folder outside the course (apps/api.py: get_submitted_students)."""
    from nbgrader.apps import NbGraderAPI
    from autograder import assignment as assignment_module, course as course_module
    from autograder.submissions import survey
    from course import ROOT, copy_course, nbgrader

    root = copy_course(tmp_path / "course")
    shutil.copytree(ROOT / "release", root / "release")
    nbgrader(root, "release_assignment", "lesson08")  # as `make release` does
    coursedir = course_module.load(root)
    lesson = assignment_module.load(coursedir, "lesson08")
    download = tmp_path / "lms-download"  # a flat folder, as an LMS hands it out
    download.mkdir()
    for student in ("alice", "bob"):
        shutil.copy(ROOT / "samples" / "lesson08" / f"{student}.ipynb", download)
    handed_in = {sub.student_id: sub for sub in survey(download, "lesson08").submissions}
    results = {"alice": recorded(lesson, "alice", correct_without_cuda),
               "bob": recorded(lesson, "bob", lambda spec: "manual" if spec.solution else "failed")}
    with gradebook.open_gradebook(coursedir) as gb:
        for student, result in results.items():
            gradebook.record(gb, coursedir, lesson, result, handed_in=handed_in[student])
        rows = {row["student"]: row for row in gb.notebook_submission_dicts("lesson08", "lesson08")}
        gpu = gb.find_grade("to_numpy_gpu", "lesson08", "lesson08", "alice")
        assert gpu.auto_score is None and not gpu.needs_manual_grade, "waits for CUDA: no score, no person"
    assert not rows["alice"]["failed_tests"] and rows["alice"]["needs_manual_grade"]  # the written answer
    assert rows["bob"]["failed_tests"]
    assert rows["alice"]["score"] == results["alice"]["score"]

    api = NbGraderAPI(coursedir=coursedir, config=course_module.read_config(root))
    listed = api.get_assignment("lesson08")
    assert (listed["status"], listed["num_submissions"]) == ("released", 2), listed
    assert {s["student"]: s["autograded"] for s in api.get_submissions("lesson08")} == {"alice": True, "bob": True}
    copy = root / "submitted" / "alice" / "lesson08" / "lesson08.ipynb"
    assert copy.read_bytes() == (download / "alice.ipynb").read_bytes()

    with gradebook.open_gradebook(coursedir) as gb:  # the same run again: nothing is copied twice
        gradebook.record(gb, coursedir, lesson, results["alice"], handed_in=handed_in["alice"])
    assert api.get_assignment("lesson08")["num_submissions"] == 2
