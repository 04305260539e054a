"""Fixtures for the autograder's tests: a scratch copy of the course and a way to grade in it.

The real lesson08 source is released into a temporary course (its own gradebook.db), so the
tests never touch the working tree's gradebook and can run beside other work.

What several test files compare against is graded once per session:
    warm_engine()      one warm engine (its parents import torch once)
    nbgrader_release   the course released by real `nbgrader generate_assignment`
    nbgrader_scores    real `nbgrader autograde` of the references, the GPU skipper and two samples
    samples_graded     `python -m autograder grade` of the samples, recorded in ag_course (a scratch course)
    warm_class         the engines' class (samples, references, every mutant and correct variant)
                       graded on the warm engine
nbgrader_scores' runs, and test_wheelhouse's offline node (node_install), start with the session
(tests/conftest.py) and run in the background.
"""
import atexit
import os
import signal
import subprocess
import sys

import nbformat
import pytest

from course import (ROOT, autograded, bin_path, copy_course, fill_in, read, reference_answers, scratch_course,
                    start_autograde, stop_autograde)
from mutants import CORRECT_VARIANTS, GPU_SKIPPER, MUTANTS, NOISY_WRAPPER

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


def grade_each(assignment, cases: dict, workers: int = 3) -> dict:
    """{name: Graded} for {name: (notebook bytes, limits)}, graded `workers` at a time on the warm
    engine: most of a hostile case is waiting on a deadline, which another case's kernel can use."""
    from concurrent.futures import ThreadPoolExecutor
    engine = warm_engine()
    engine.prepare(workers)  # from this thread: a warm parent lives as long as the thread that started it
    with ThreadPoolExecutor(workers) as pool:
        futures = {name: pool.submit(grade, assignment, data, engine, **limits)
                   for name, (data, limits) in cases.items()}
        return {name: future.result() for name, future in futures.items()}


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


def noisy_answers() -> dict:
    """The reference answers, each function wrapped to print, warn and log on every call."""
    reference = reference_answers()
    return {**reference, **{name: code + NOISY_WRAPPER.format(name=name) for name, code in reference.items()
                            if code.startswith("def ")}}


def nbgrader_class() -> dict:
    """{student: notebook}: the reference, the noisy reference and the GPU skipper (the release
    filled in), what real `nbgrader autograde` must score as the course's grader does. The mutants
    and the correct variants are graded by the course's grader (warm_class) and, in nbgrader's
    way of running a notebook, in this process (course.run_in_process)."""
    reference = reference_answers()
    return {"reference": fill_in(reference), "noisy_reference": fill_in(noisy_answers()),
            "gpu_skipper": fill_in({**reference, "shares_memory": reference["shares_memory"] + GPU_SKIPPER})}


NBGRADER_SAMPLES = ("alice", "bob")  # the samples whose scores test_batch compares with nbgrader's
# The samples' runs: carol's endless loop, and the two tests that call it, each run this long.
SAMPLES_CELL_TIMEOUT = 3


@pytest.fixture(scope="session")
def nbgrader_release(tmp_path_factory):
    """A scratch course released by real `nbgrader generate_assignment` (left as released)."""
    return scratch_course(tmp_path_factory.mktemp("nbgrader-release"))


# The priority of what starts with the session (tests/conftest.py): below the tests', so that it
# takes what cores they leave idle, and not so far below that a kernel of nbgrader_runs starved by
# busy tests could reach nbgrader's 30 s cell timeout.
BACKGROUND_NICENESS = 5


@pytest.fixture(scope="session")
def nbgrader_runs(nbgrader_release, tmp_path_factory):
    """Real `nbgrader autograde` (course.start_autograde: three runs at once, each in a copy of
    nbgrader_release) of nbgrader_class(), and of the samples NBGRADER_SAMPLES by their names,
    started and left running, at BACKGROUND_NICENESS."""
    notebooks = {**nbgrader_class(), **{student: read(SAMPLES / f"{student}.ipynb") for student in NBGRADER_SAMPLES}}
    runs = start_autograde(nbgrader_release, notebooks, tmp_path_factory.mktemp("nbgrader-autograde"),
                           niceness=BACKGROUND_NICENESS)
    yield runs
    stop_autograde(runs)


@pytest.fixture(scope="session")
def nbgrader_scores(nbgrader_runs):
    """{student: {grade_id: auto score}} from nbgrader_runs, once they have finished."""
    return autograded(nbgrader_runs)


@pytest.fixture(scope="session")
def node_install(tmp_path_factory):
    """A future of test_wheelhouse.py's offline node (wheelhouse_node.install_node), installed by a
    thread of its own at BACKGROUND_NICENESS: its downloads and pip installs overlap the tests."""
    from concurrent.futures import ThreadPoolExecutor
    from wheelhouse_node import install_node
    installing = ThreadPoolExecutor(1, thread_name_prefix="node-install")
    yield installing.submit(install_node, tmp_path_factory.mktemp("node"), BACKGROUND_NICENESS)
    installing.shutdown()


@pytest.fixture(scope="session")
def samples_graded(ag_course, tmp_path_factory):
    """(course root, out, the finished process, {results.json path: bytes}): the samples graded by
    `python -m autograder grade ... --record` (SAMPLES_CELL_TIMEOUT) into ag_course (`make demo` grades them
    the same way, as a trial run: the real course's gradebook holds only the class)."""
    root = ag_course[0]
    out = tmp_path_factory.mktemp("demo-out")
    first = run_autograder(*grade_args(root, SAMPLES, out, "--record", cell_timeout=SAMPLES_CELL_TIMEOUT), cwd=root,
                           timeout=300)
    assert first.returncode == 0, first.stderr
    snapshot = {p.relative_to(out): p.read_bytes() for p in out.glob("*/results.json")}
    return root, out, first, snapshot


def engines_class(folder) -> dict:
    """The class the engines are compared on, written to `folder`: the samples (correct, half right,
    endless loop, cheating, corrupted), the reference, the noisy reference, every mutant and every
    correct variant (tests/mutants.py)."""
    folder.mkdir()
    for sample in SAMPLES.glob("*.ipynb"):
        (folder / sample.name).write_bytes(sample.read_bytes())
    reference = reference_answers()
    notebooks = {"reference": fill_in(reference), "noisy_reference": fill_in(noisy_answers())}
    for mutant in MUTANTS:
        notebooks[mutant.name] = fill_in({**reference, mutant.function: mutant.code})
    for variant in CORRECT_VARIANTS:
        notebooks[variant.name] = fill_in({**reference, **variant.answers})
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


# Kernels at once for the engines' class: carol's endless loop keeps one waiting on its deadlines
# (three cell timeouts) while two others use the cores.
ENGINES_WORKERS = 3


@pytest.fixture(scope="session")
def warm_class(tmp_path_factory):
    """(class folder, {student: results}): engines_class graded by grade_all on the session's warm
    engine, ENGINES_WORKERS workers, FAST limits, as a trial run in a scratch course."""
    from autograder.batch import Options, grade_all
    from autograder.views import PAGES
    from autograder.engine.session import Limits
    scratch = tmp_path_factory.mktemp("warm-class")
    folder = engines_class(scratch / "class")
    course = copy_course(scratch / "course")
    graded = grade_all(course, "lesson08", folder, course / "out", Limits(**FAST),
                       Options(engine="warm", workers=ENGINES_WORKERS), stream=open(os.devnull, "w"), pages=PAGES,
                       engine=warm_engine())
    return folder, graded
