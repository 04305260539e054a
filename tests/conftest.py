import sys
from pathlib import Path

import pytest

# Test helpers (course.py, mutants.py) import as top-level modules.
sys.path.insert(0, str(Path(__file__).parent))

# The autograder's fixtures (a scratch course and its assignment) live in their own module.
from autograder_fixtures import (_class_runs_end_with_the_session, ag_answers, ag_assignment,  # noqa: E402,F401
                                 ag_course, engines_class_folder, fresh_class_run, nbgrader_release, nbgrader_runs,
                                 nbgrader_scores, node_install, node_samples_run, samples_graded, samples_run,
                                 warm_class, warm_class_run)

# Minutes of CPU in subprocesses that only later tests read: started with the session, when a
# selected test needs them, so that they run while the tests wait: nbgrader_runs and node_install
# below the tests' priority; the class runs (autograder_fixtures.in_background) at it, one after
# the other, in this order.
EARLY = ("nbgrader_runs", "node_install", "samples_run", "warm_class_run", "fresh_class_run", "node_samples_run")


@pytest.fixture(scope="session", autouse=True)
def started_early(request):
    """Each fixture of EARLY that a selected test needs, set up before the first test."""
    needed = set().union(*(getattr(item, "fixturenames", ()) for item in request.session.items))
    for name in EARLY:
        if name in needed:
            request.getfixturevalue(name)
