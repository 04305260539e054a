import sys
from pathlib import Path

import pytest

# Test helpers (course.py, mutants.py) import as top-level modules.
sys.path.insert(0, str(Path(__file__).parent))

# The autograder's fixtures (a scratch course and its assignment) live in their own module.
from autograder_fixtures import (ag_answers, ag_assignment, ag_course, nbgrader_release,  # noqa: E402,F401
                                 nbgrader_runs, nbgrader_scores, node_install, samples_graded, warm_class)

# Minutes of CPU in subprocesses that only later tests read: started with the session, when a
# selected test needs them, below the tests' priority, so that they run while the tests wait.
EARLY = ("nbgrader_runs", "node_install")


@pytest.fixture(scope="session", autouse=True)
def started_early(request):
    """Each fixture of EARLY that a selected test needs, set up before the first test."""
    needed = set().union(*(getattr(item, "fixturenames", ()) for item in request.session.items))
    for name in EARLY:
        if name in needed:
            request.getfixturevalue(name)
