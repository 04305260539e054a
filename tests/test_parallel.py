"""tests/parallel.py: what keeps `make test`'s workers from starting a run of autograder_fixtures.EARLY twice."""
from pathlib import Path
from types import SimpleNamespace

import pytest

import parallel
from autograder_fixtures import EARLY

CLASS_UNIT, SAMPLES_UNIT, BROWSER_UNIT = parallel.UNITS


def collected(nodeid: str, *fixtures: str):
    """What parallel reads of a collected test."""
    return SimpleNamespace(nodeid=nodeid, fixturenames=["tmp_path", *fixtures])


def test_tests_of_two_units_or_of_none_that_need_one_early_run_are_refused_naming_their_files():
    fine = [collected("tests/test_batch.py::test_a", "samples_graded", "samples_run"),
            collected("tests/test_wheelhouse.py::test_b", "samples_graded", "samples_run")]
    parallel.check_units(fine, EARLY)
    across = fine + [collected("tests/test_report.py::test_c", "samples_run")]
    with pytest.raises(pytest.UsageError, match=r"tests/test_batch\.py, tests/test_report\.py, tests/test_wheelhouse\.py "
                                                r"need samples_run .*they are in: tests/\(the class runs\), "
                                                r"tests/\(the samples' runs\)"):
        parallel.check_units(across, EARLY)
    outside = [collected("tests/test_new.py::test_d", "warm_class", "warm_class_run")]
    with pytest.raises(pytest.UsageError, match=r"tests/test_new\.py need warm_class_run .*in: tests/test_new\.py"):
        parallel.check_units(outside, EARLY)


def test_a_units_files_are_one_unit_and_every_other_file_its_own():
    assert {parallel.unit_of(f"tests/{name}") for name in parallel.UNITS[SAMPLES_UNIT]} == {SAMPLES_UNIT}
    assert {parallel.unit_of(f"tests/{name}") for name in parallel.UNITS[CLASS_UNIT]} == {CLASS_UNIT}
    assert {parallel.unit_of(f"tests/browser/{name}") for name in parallel.UNITS[BROWSER_UNIT]} == {BROWSER_UNIT}
    browser_files = {path.name for path in (Path(__file__).parent / "browser").glob("test_*.py")}
    assert browser_files == parallel.UNITS[BROWSER_UNIT], "every browser test file goes with the others"
    assert parallel.unit_of("tests/test_grade.py") == "tests/test_grade.py"
    assert parallel.unit_of("notebooks/lesson08.ipynb") == "notebooks/lesson08.ipynb"


def test_the_units_go_first_in_their_order_and_the_rest_keep_theirs():
    items = [collected("tests/browser/test_browser_lab.py::t"), collected("tests/test_cluster.py::t1"),
             collected("tests/test_grade.py::t"), collected("tests/test_batch.py::t"),
             collected("notebooks/lesson08.ipynb::Cell 0")]
    parallel.units_first(items)
    assert [item.nodeid for item in items] == [
        "tests/test_cluster.py::t1", "tests/test_batch.py::t", "tests/browser/test_browser_lab.py::t",
        "tests/test_grade.py::t", "notebooks/lesson08.ipynb::Cell 0"]


def test_a_folder_is_emptied_by_the_controller_or_the_only_session_never_by_a_worker(tmp_path):
    screenshot = tmp_path / "test-artifacts" / "browser" / "other-worker.png"
    screenshot.parent.mkdir(parents=True)
    screenshot.write_bytes(b"png")
    parallel.empty_once_a_run(SimpleNamespace(workerinput={"workerid": "gw1"}), tmp_path / "test-artifacts")
    assert screenshot.exists()
    parallel.empty_once_a_run(SimpleNamespace(), tmp_path / "test-artifacts")
    assert not (tmp_path / "test-artifacts").exists()
