"""What a batch does with each submission, given what an earlier run left in DIR: keep it,
grade it all, or grade its GPU tests and merge them in; how many kernels grade at once by
default (no kernel runs here)."""
import json
import os

import pytest

from autograder import results as R
from autograder.batch import Options, _plan
from autograder.executors import local
from autograder.grade import fingerprint
from autograder.merge import merge_gpu_tests
from autograder.messages import say
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
    result = R.Result("ann", "lesson08", status, max_score=38.0, execution_time=1.0,
                      fingerprint=fingerprint(notebook_bytes, assignment, LIMITS))
    (folder / "results.json").write_text(json.dumps(result.to_dict()))
    return result


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
    test = R.TestResult("to_numpy_gpu", 0.0, 2.0, R.NEEDS_GPU, say("test_needs_gpu"), True)
    first = R.Result("ann", "lesson08", R.PROVISIONAL, [test], [say("answer_cell_missing", grade_id="a")],
                     {"cuda_device": None, "name": "cpu"}, max_score=2.0, execution_time=1.0)
    failed_gpu_run = R.Result("ann", "lesson08", R.GRADER_ERROR, [], [say("grader_error_flag", kind="OSError")],
                              {"cuda_device": "NVIDIA H200", "name": "gpu"}, [say("grader_failed")], 1.0, 2.0)
    once = merge_gpu_tests(first, failed_gpu_run)
    twice = merge_gpu_tests(once, failed_gpu_run)
    assert twice.flags == once.flags
    assert [flag.code for flag in once.flags] == ["answer_cell_missing", "grader_error_flag", "gpu_run_failed"]
    assert twice.extra["graded_without_gpu_on"]["name"] == "cpu"
    assert twice.status == R.PROVISIONAL
    data = twice.to_dict()  # still provisional, in words and in codes
    assert data["output"].endswith(" Still provisional: to_numpy_gpu could not be graded.")
    assert [m["code"] for m in data["extra_data"]["messages"]] == ["merged_summary", "merged_still_provisional"]


GIB = 2**30


@pytest.mark.parametrize("cpus, memory_gib, limit_mb, expected", [
    (2, 23, 4096, 2),  # this development machine: the cores
    (64, 40, 4096, 8),  # many cores, little memory: 40 GiB / (4 GiB + 1 GiB)
    (64, 40, 1024, 20),  # a smaller --memory-limit lets more kernels in
    (8, 3, 4096, 1),  # not even one kernel's worth: still one
    (1, 500, 4096, 1),
    (16, None, 4096, 16),  # memory unknown: the cores
])
def test_default_workers_are_the_cores_that_memory_allows(cpus, memory_gib, limit_mb, expected):
    memory = None if memory_gib is None else memory_gib * GIB
    assert local.default_workers(cpus, memory, limit_mb) == expected


def test_this_machine_is_read_as_cores_and_available_memory():
    cpus, memory = local.machine()
    assert 1 <= cpus <= (os.cpu_count() or 1)
    assert memory is None or 0 < memory


class Recorder:
    """An engine that starts nothing: records how many warm parents it was asked for."""
    name, measure_memory, prepared = "warm", False, None

    def prepare(self, count):
        self.prepared = count


@pytest.mark.parametrize("options, submissions, gpus, workers, parents, words", [
    (Options(), 50, [], 3, 3, "3 workers (3 core(s), memory for 9 at --memory-limit 4096 MiB"),
    (Options(), 1, [], 3, 1, "3 workers"),  # a class of one starts one warm parent
    (Options(workers=1), 50, [], 1, 1, "1 worker (--workers 1)"),
    (Options(workers=5), 50, [], 5, 5, "5 workers (--workers 5)"),
    (Options(kernels_per_gpu=4), 50, ["0", "1"], 8, 8, "8 workers (2 GPU(s) × 4 kernel(s) each)"),
])
def test_the_local_runner_says_how_many_workers_and_starts_no_more_parents_than_notebooks(
        monkeypatch, options, submissions, gpus, workers, parents, words):
    import autograder.engine
    engine = Recorder()
    monkeypatch.setattr(autograder.engine, "open_engine", lambda *args, **kwargs: engine)
    monkeypatch.setattr(local, "machine", lambda: (3, 45 * GIB))
    runner = local.LocalRunner(options, Limits(kernel_name="pytorch-course-grader"), gpus)
    runner.open(submissions)
    assert runner.workers == workers and engine.prepared == parents
    assert runner.describe().startswith(words), runner.describe()
