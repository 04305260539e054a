"""Fixtures for the autograder's tests: a scratch copy of the course and a way to grade in it.

The real lesson08 source is released into a temporary course (its own gradebook.db), so the
tests never touch the working tree's gradebook and can run beside other work.

What several test files compare against is graded once per session:
    warm_engine()      one warm engine (its parents import torch once)
    nbgrader_release   the course released by real `nbgrader generate_assignment`
    nbgrader_class_scores   real `nbgrader autograde` of the references and the GPU skipper
    nbgrader_sample_scores  real `nbgrader autograde` of two samples
    samples_graded     `python -m autograder grade` of the samples, recorded in a scratch course
    warm_class         the engines' class (samples, references, every mutant and correct variant)
                       graded on the warm engine
    fresh_class_run    the same class, less the correct variants, graded on the fresh engine
Their nbgrader runs, test_wheelhouse's offline node (node_install) and the class runs (the samples',
the warm and the fresh class: in_background) start before the first test that reads them
(tests/conftest.py, tests/parallel.py) and run while the tests do.
"""
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


def grade_samples_way(root, submissions, out, *extra):
    """`grade lesson08 ...` in the scratch course `root` with samples_run's cell timeout, as an instructor runs it."""
    return run_autograder(*grade_args(root, submissions, out, *extra, cell_timeout=SAMPLES_CELL_TIMEOUT), cwd=root,
                          timeout=300)


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


# Minutes of CPU in subprocesses that only later tests read: started before the first test that
# may read them (conftest.started_early), so that they run while the tests wait: the nbgrader runs
# and node_install below the tests' priority; the class runs (in_background) at it, one after the
# other, in this order.
EARLY = ("nbgrader_class_runs", "nbgrader_sample_runs", "node_install", "samples_run", "warm_class_run",
         "fresh_class_run", "node_samples_run")

# The priority of what starts early: below the tests', so that it takes what cores they leave
# idle, and not so far below that a kernel of an nbgrader run starved by busy tests could reach
# nbgrader's 30 s cell timeout.
BACKGROUND_NICENESS = 5


@pytest.fixture(scope="session")
def nbgrader_class_runs(nbgrader_release, tmp_path_factory):
    """Real `nbgrader autograde` (course.start_autograde: two runs at once, each in a copy of
    nbgrader_release) of nbgrader_class(), started and left running, at BACKGROUND_NICENESS."""
    runs = start_autograde(nbgrader_release, nbgrader_class(), tmp_path_factory.mktemp("nbgrader-class"),
                           processes=2, niceness=BACKGROUND_NICENESS)
    yield runs
    stop_autograde(runs)


@pytest.fixture(scope="session")
def nbgrader_sample_runs(nbgrader_release, tmp_path_factory):
    """Real `nbgrader autograde` of the samples NBGRADER_SAMPLES, by their names, in one run,
    started and left running, at BACKGROUND_NICENESS."""
    notebooks = {student: read(SAMPLES / f"{student}.ipynb") for student in NBGRADER_SAMPLES}
    runs = start_autograde(nbgrader_release, notebooks, tmp_path_factory.mktemp("nbgrader-samples"), processes=1,
                           niceness=BACKGROUND_NICENESS)
    yield runs
    stop_autograde(runs)


@pytest.fixture(scope="session")
def nbgrader_class_scores(nbgrader_class_runs):
    """{student: {grade_id: auto score}} from nbgrader_class_runs, once they have finished."""
    return autograded(nbgrader_class_runs)


@pytest.fixture(scope="session")
def nbgrader_sample_scores(nbgrader_sample_runs):
    """{student: {grade_id: auto score}} from nbgrader_sample_runs, once it has finished."""
    return autograded(nbgrader_sample_runs)


@pytest.fixture(scope="session")
def node_install(tmp_path_factory):
    """A future of test_wheelhouse.py's offline node (wheelhouse_node.install_node), installed by a
    thread of its own at BACKGROUND_NICENESS: its downloads and pip installs overlap the tests."""
    from concurrent.futures import ThreadPoolExecutor
    from wheelhouse_node import install_node
    installing = ThreadPoolExecutor(1, thread_name_prefix="node-install")
    yield installing.submit(install_node, tmp_path_factory.mktemp("node"), BACKGROUND_NICENESS)
    installing.shutdown()


# The class runs: gradings that tests read only later, one after the other (the order of
# EARLY), at the tests' own priority (what they grade must not depend on the load).
_class_runs = ThreadPoolExecutor(1, thread_name_prefix="class-runs")
_class_processes = []


def in_background(command, cwd=None):
    """A future of the finished process (CompletedProcess) of `command`, run as a class run with the
    venv's scripts on PATH. `command` may instead be a function, called when its turn comes, that
    returns (command, the whole environment): for a command that needs what an earlier future gives."""
    def run():
        argv, env = command() if callable(command) else (command, {**os.environ, "PATH": bin_path()})
        process = subprocess.Popen(list(map(str, argv)), cwd=cwd, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        _class_processes.append(process)
        stdout, stderr = process.communicate()
        return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return _class_runs.submit(run)


@pytest.fixture(scope="session", autouse=True)
def _class_runs_end_with_the_session():
    """A class run that no test waited for (a partial selection) is stopped with the session."""
    yield
    _class_runs.shutdown(wait=False, cancel_futures=True)
    for process in _class_processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def results_in(out: Path) -> dict:
    """{student: results} of a run's output folder."""
    return {path.parent.name: json.loads(path.read_text(encoding="utf-8")) for path in Path(out).glob("*/results.json")}


@pytest.fixture(scope="session")
def node_samples_run(node_install, tmp_path_factory):
    """(out, a future of the run): the samples graded as samples_run grades them (the same cell
    timeout, a trial run), by the offline node's Python, once node_install is done, as a class run."""
    folder = tmp_path_factory.mktemp("node-grading")

    def command():
        node_venv, _, env, _ = node_install.result()
        return [node_venv / "bin/python", "-m", "autograder", *grade_args(
            copy_course(folder / "course"), SAMPLES, folder / "out", cell_timeout=SAMPLES_CELL_TIMEOUT)], env
    return folder / "out", in_background(command, cwd=ROOT)


@pytest.fixture(scope="session")
def samples_run(tmp_path_factory):
    """(course root, out, a future of the run): the samples graded by `python -m autograder grade ...
    --record` (SAMPLES_CELL_TIMEOUT) into a scratch course of their own (`make demo` grades them the
    same way, as a trial run: the real course's gradebook holds only the class), as a class run."""
    root = copy_course(tmp_path_factory.mktemp("samples-course"))
    out = tmp_path_factory.mktemp("demo-out")
    command = autograder_command(*grade_args(root, SAMPLES, out, "--record", cell_timeout=SAMPLES_CELL_TIMEOUT))
    return root, out, in_background(command, cwd=root)


@pytest.fixture(scope="session")
def samples_graded(samples_run):
    """(course root, out, the finished process, {results.json path: bytes}) of samples_run."""
    root, out, running = samples_run
    first = running.result(timeout=900)
    assert first.returncode == 0, first.stderr
    snapshot = {p.relative_to(out): p.read_bytes() for p in out.glob("*/results.json")}
    return root, out, first, snapshot


def engines_class(folder) -> Path:
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


# The engines' class's limits: FAST, but a default run's time limit per notebook: carol's endless
# loop spends most of FAST's 60 s in cell timeouts, and a class run shares the cores with the tests.
CLASS_LIMITS = {**FAST, "notebook_timeout": 300.0}
# Kernels at once for the engines' class: carol's endless loop keeps one waiting on its deadlines
# (three cell timeouts) while two others use the cores.
ENGINES_WORKERS = 3


def class_run(engine: str, folder: Path, course: Path, out: Path):
    """tests/grade_class.py grading `folder` on `engine` into `out`, as a class run; returns a function
    that waits for it and gives (folder, {student: results})."""
    running = in_background([sys.executable, Path(__file__).with_name("grade_class.py"), engine, folder, course, out])

    def finished():
        done = running.result(timeout=900)
        assert done.returncode == 0, f"grading {folder} on the {engine} engine failed: {done.stderr[-3000:]}"
        return folder, results_in(out)
    return finished


@pytest.fixture(scope="session")
def engines_class_folder(tmp_path_factory):
    """engines_class, written once: both engines grade these very files."""
    return engines_class(tmp_path_factory.mktemp("warm-class") / "class")


@pytest.fixture(scope="session")
def warm_class_run(engines_class_folder):
    """engines_class graded by grade_all on the warm engine, ENGINES_WORKERS workers, CLASS_LIMITS, as
    a trial run in a scratch course (its pages in <class folder>/../course/out), as a class run."""
    course = copy_course(engines_class_folder.parent / "course")
    return class_run("warm", engines_class_folder, course, course / "out")


@pytest.fixture(scope="session")
def warm_class(warm_class_run):
    """(class folder, {student: results}) of warm_class_run, once it has finished."""
    return warm_class_run()


@pytest.fixture(scope="session")
def fresh_class_run(engines_class_folder, tmp_path_factory):
    """The same notebooks less the correct variants (the fresh engine leaves them out: test_engines.py)
    graded on the fresh engine with warm_class_run's settings, in a course of their own, as a class run."""
    variants = {variant.name for variant in CORRECT_VARIANTS}
    course = copy_course(tmp_path_factory.mktemp("engines"))
    compared = course / "class"
    compared.mkdir()
    for notebook in engines_class_folder.glob("*.ipynb"):
        if notebook.stem not in variants:
            shutil.copy(notebook, compared)
    return class_run("fresh", compared, course, course / "out-fresh")
