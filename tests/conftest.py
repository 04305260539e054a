import sys
from pathlib import Path

import pytest

# Test helpers (course.py, mutants.py) import as top-level modules.
sys.path.insert(0, str(Path(__file__).parent))

# The autograder's fixtures (a scratch course and its assignment) live in their own module.
from autograder_fixtures import (ag_answers, ag_assignment, ag_course, nbgrader_release,  # noqa: E402,F401
                                 nbgrader_runs, nbgrader_scores, samples_graded, warm_class)


@pytest.fixture(scope="session", autouse=True)
def nbgrader_early(request):
    """Real `nbgrader autograde` of the mutants' class is a minute of CPU: when a selected test needs
    its scores, it starts with the session, below the tests' priority, and runs while they wait."""
    if any("nbgrader_scores" in getattr(item, "fixturenames", ()) for item in request.session.items):
        request.getfixturevalue("nbgrader_runs")
