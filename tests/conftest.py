import sys
from pathlib import Path

import pytest

# Test helpers (course.py, mutants.py) import as top-level modules.
sys.path.insert(0, str(Path(__file__).parent))

import course  # noqa: E402
import parallel  # noqa: E402

# The autograder's fixtures (a scratch course and its assignment) live in their own module.
from autograder_fixtures import (EARLY, _class_runs_end_with_the_session, ag_answers, ag_assignment,  # noqa: E402,F401
                                 ag_course, engines_class_folder, fresh_class_run, nbgrader_class_runs,
                                 nbgrader_class_scores, nbgrader_release, nbgrader_sample_runs, nbgrader_sample_scores,
                                 node_install, node_samples_run, samples_graded, samples_run, warm_class,
                                 warm_class_run)


def pytest_sessionstart(session):
    parallel.empty_once_a_run(session.config, course.ARTIFACTS)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    parallel.check_units(items, EARLY)
    if parallel.in_a_worker(config):
        parallel.units_first(items)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: a GPU node runs the suite without it
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") == "loadfile":
        return parallel.scheduler(config, log)


_started = set()


@pytest.fixture(autouse=True)
def started_early(request):
    """Before the first test of this session that may read them, each fixture of EARLY that such a
    test needs is set up. In an xdist worker, the tests that may read them are those of the unit
    (tests/parallel.py) the test is in."""
    worker = parallel.in_a_worker(request.config)
    unit = parallel.unit_of_test(request.node) if worker else "the whole session"
    if unit in _started or (worker and unit not in parallel.UNITS):
        return
    _started.add(unit)
    readers = [item for item in request.session.items if not worker or parallel.unit_of_test(item) == unit]
    needed = set().union(*(getattr(item, "fixturenames", ()) for item in readers))
    for name in EARLY:
        if name in needed:
            request.getfixturevalue(name)
