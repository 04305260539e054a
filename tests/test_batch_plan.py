"""What a batch does with each submission, given what an earlier run left in DIR: keep it,
grade it all, or grade its GPU tests and merge them in (no kernel runs here)."""
import json

import pytest

from autograder import results as R
from autograder.batch import Options, _plan
from autograder.grade import fingerprint
from autograder.merge import merge_gpu_tests
from autograder.engine.session import Limits
from autograder.submissions import Submission

LIMITS = Limits()


@pytest.fixture
def student(tmp_path):
    notebook = tmp_path / "ann.ipynb"
    notebook.write_bytes(b'{"cells": []}')
    return Submission("ann", str(notebook), str(notebook))


def leave_result(out, assignment, status, notebook_bytes):
    folder = out / "ann"
    folder.mkdir(parents=True)
    results = {"score": 0, "execution_time": 1.0, "output": "", "tests": [],
               "extra_data": {"status": status, "fingerprint": fingerprint(notebook_bytes, assignment, LIMITS),
                              "flags": [], "kernel": None, "max_score": 38.0}}
    (folder / "results.json").write_text(json.dumps(results))
    return results


# (status left by the earlier run, same notebook?, options, CUDA now?) → what happens
CASES = [
    (R.GRADED, True, Options(), False, "keep"),
    (R.PROVISIONAL, True, Options(), False, "keep"),
    (R.PROVISIONAL, True, Options(), True, "grade"),  # a GPU machine grades it all again
    (R.PROVISIONAL, True, Options(only_gpu=True), True, "merge"),
    (R.GRADED, True, Options(only_gpu=True), True, "keep"),
    (R.PROVISIONAL, False, Options(only_gpu=True), True, "grade"),  # resubmitted: no mixing of versions
    (None, None, Options(only_gpu=True), True, "grade"),  # never graded: all of it
    (R.GRADED, True, Options(regrade=True), False, "grade"),
    (R.GRADED, False, Options(), False, "grade"),
]


@pytest.mark.parametrize("status, same, options, cuda, expected", CASES)
def test_plan(tmp_path, student, ag_assignment, status, same, options, cuda, expected):
    out = tmp_path / "out"
    previous = None
    if status:
        previous = leave_result(out, ag_assignment, status, b'{"cells": []}' if same else b"older")
    job, kept = _plan(student, ag_assignment, out, LIMITS, options, cuda)
    action = "keep" if kept is not None else ("merge" if job.previous is not None else "grade")
    assert action == expected
    if action == "keep":
        assert kept == previous
    if action == "merge":
        assert job.previous == previous and job.data == b'{"cells": []}'


def test_merging_twice_neither_repeats_flags_nor_forgets_the_first_kernel():
    test = {"name": "to_numpy_gpu", "score": 0.0, "max_score": 2.0, "status": "failed", "output": "",
            "visibility": "after_published", "extra_data": {"outcome": R.NEEDS_GPU, "hidden": True}}
    first = {"score": 0.0, "execution_time": 1.0, "output": "", "tests": [test],
             "extra_data": {"status": R.PROVISIONAL, "flags": ["cpu flag"], "max_score": 2.0,
                            "kernel": {"cuda_device": None, "name": "cpu"}}}
    failed_gpu_run = {"score": 0.0, "execution_time": 1.0, "output": "kernel died", "tests": [],
                      "extra_data": {"status": R.GRADER_ERROR, "flags": ["gpu flag"],
                                     "kernel": {"cuda_device": "NVIDIA H200", "name": "gpu"}}}
    once = merge_gpu_tests(first, failed_gpu_run)
    twice = merge_gpu_tests(once, failed_gpu_run)
    assert twice["extra_data"]["flags"] == once["extra_data"]["flags"]
    assert len(once["extra_data"]["flags"]) == 3
    assert twice["extra_data"]["graded_without_gpu_on"]["name"] == "cpu"
    assert twice["extra_data"]["status"] == R.PROVISIONAL
