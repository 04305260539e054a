"""Fixtures for the autograder's tests: a scratch copy of the course and a way to grade in it.

The real lesson08 source is released into a temporary course (its own gradebook.db), so the
tests never touch the working tree's gradebook and can run beside other work.
"""
import atexit
import os
import signal
import subprocess
import sys

import nbformat
import pytest

from course import ROOT, bin_path, copy_course, fill_in, reference_answers

SAMPLES = ROOT / "samples" / "lesson08"
FAST = dict(kernel_name="pytorch-course-grader", cell_timeout=6.0, notebook_timeout=60.0, interrupt_grace=2.0)  # margin for a loaded 2-core CI


@pytest.fixture(scope="session")
def ag_course(tmp_path_factory):
    """(course root, CourseDirectory, Assignment) for a scratch copy of the course."""
    from autograder import assignment, course
    root = copy_course(tmp_path_factory.mktemp("ag-course"))
    coursedir = course.load(root)
    return root, coursedir, assignment.load(coursedir, "lesson08")


@pytest.fixture(scope="session")
def ag_assignment(ag_course):
    return ag_course[2]


@pytest.fixture(scope="session")
def ag_answers():
    return reference_answers()


def autograder_command(*args) -> list:
    return [sys.executable, "-m", "autograder", *map(str, args)]


def grade_args(root, submissions, out, *extra, cell_timeout) -> tuple:
    """`grade lesson08 ...` in the scratch course `root`."""
    return ("grade", "lesson08", "--submissions", submissions, "--out", out, "--course", root,
            "--cell-timeout", cell_timeout, *extra)


def run_autograder(*args, env=None, cwd=None, timeout=600):
    """`python -m autograder ARGS` as an instructor runs it, with the venv's scripts on PATH."""
    env = {**os.environ, "PATH": bin_path(), **(env or {})}
    return subprocess.run(autograder_command(*args), cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def interruptible():
    """preexec_fn for a grader that a test will Ctrl-C: a shell that started the suite in the
    background leaves SIGINT ignored, and Python keeps it so; give the child the default back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def notebook_bytes(nb) -> bytes:
    return nbformat.writes(nb).encode()


def submission(**answers_over) -> bytes:
    """The release filled in with the reference answers, some replaced."""
    return notebook_bytes(fill_in({**reference_answers(), **answers_over}))


def grade(assignment, data: bytes, engine=None, **limits):
    """grade_submission with short test limits, on the warm engine unless told; returns the Graded."""
    from autograder.grade import grade_submission
    from autograder.engine.session import Limits
    return grade_submission(data, assignment, "student", Limits(**{**FAST, **limits}), engine=engine or warm_engine())


_engines = {}


def warm_engine():
    """One warm engine for the whole test session (its parents import torch once)."""
    if "warm" not in _engines:
        from autograder.engine import open_engine
        _engines["warm"] = open_engine("warm", "pytorch-course-grader")
        atexit.register(_engines["warm"].close)
    return _engines["warm"]


def by_name(results: dict) -> dict:
    return {t["name"]: t for t in results["tests"]}


def outcomes(results: dict) -> dict:
    return {t["name"]: t["extra_data"]["outcome"] for t in results["tests"]}
