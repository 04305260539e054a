"""The gradebook writer keeps an instructor's hand grading across reruns, and asks again when a score changes."""
import copy

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
