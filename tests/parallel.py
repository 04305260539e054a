"""`make test` on pytest-xdist workers (`-n N --dist loadfile`): a file at a time, so that a module's
fixtures are set up once; but the files that read the same background runs of
autograder_fixtures.EARLY go as one unit, and those units first. Each worker is a session of its
own: the worker that takes a unit starts the runs its files read, and no other worker does. What a
run writes for a person to look at (test-artifacts/) is emptied once, before the workers start.

xdist's own way to group files (`--dist loadgroup`, the xdist_group mark) does not group under
pytest 9.2 (pytest-dev/pytest-xdist#1386), so the units are named here and the scheduler is ours.
"""
import shutil
from pathlib import Path

import pytest

# The files of each unit, in the order the units go. check_units keeps the first two true: a file
# that needs a fixture of EARLY is in the unit of every other file that needs it. The browser tests
# go as one so that one worker starts Chromium and the course's JupyterLab for all of them.
UNITS = {
    "tests/(the class runs)": frozenset({"test_cluster.py", "test_engines.py", "test_messages.py", "test_mutants.py",
                                         "test_report.py"}),
    "tests/(the samples' runs)": frozenset({"test_batch.py", "test_wheelhouse.py"}),
    "tests/browser/": frozenset({"test_browser_exchange.py", "test_browser_instructor.py", "test_browser_lab.py",
                                 "test_browser_student.py", "test_browser_student_setup.py"}),
}
UNIT_OF_FILE = {name: unit for unit, names in UNITS.items() for name in names}


def in_a_worker(config) -> bool:
    return hasattr(config, "workerinput")


def empty_once_a_run(config, folder: Path) -> None:
    """Empty `folder` if this is the only session or xdist's controller, which starts its workers
    after this: a worker emptying it would delete what the other worker is writing there."""
    if not in_a_worker(config):
        shutil.rmtree(folder, ignore_errors=True)


def unit_of(path) -> str:
    """The unit of work a test file goes in: its own path, unless UNITS names it."""
    return UNIT_OF_FILE.get(Path(path).name, str(path))


def file_of(item) -> str:
    return item.nodeid.split("::")[0]


def unit_of_test(item) -> str:
    return unit_of(file_of(item))


def check_units(items, early: tuple) -> None:
    """Refuse a collection where the tests that need one fixture of `early` are not all in one
    unit: under `make test`, each worker that ran one would start that fixture's runs."""
    for name in early:
        readers = [item for item in items if name in getattr(item, "fixturenames", ())]
        units = {unit_of_test(item) for item in readers}
        if len(units) > 1 or units - set(UNITS):
            files = sorted({file_of(item) for item in readers})
            raise pytest.UsageError(f"{', '.join(files)} need {name} (autograder_fixtures.EARLY), so they must be in "
                                    f"one unit of UNITS (tests/parallel.py); they are in: {', '.join(sorted(units))}")


def units_first(items) -> None:
    """The collection (every worker's: they must agree) with the units' tests first, in the order of
    UNITS, the rest as collected."""
    order = {unit: number for number, unit in enumerate(UNITS)}
    items.sort(key=lambda item: order.get(unit_of_test(item), len(order)))


def scheduler(config, log):
    """xdist's loadfile scheduling, with the files of a unit as one."""
    from xdist.scheduler import LoadFileScheduling

    class UnitsOfFiles(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of(super()._split_scope(nodeid))

    return UnitsOfFiles(config, log)
