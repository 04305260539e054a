"""Grading on a real Dask cluster on 127.0.0.1: a `dask scheduler` and `dask worker` processes
started and stopped here. The cluster grades as this machine does; a worker killed mid-run
loses nobody and records nobody twice; a notebook that kills its worker every time ends as
`error` while the rest are graded. The tests that leave their cluster as they found it (a worker
that a notebook kills, its nanny restarts) share one."""
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder_fixtures import autograder_command, grade_args, notebook_bytes, run_autograder, submission
from course import bin_path, copy_course, fill_in, reference_answers
from mutants import CPU_MUTANTS

pytestmark = pytest.mark.slow
DASK = str(Path(sys.executable).with_name("dask"))
# Each task is a whole notebook: a worker holds only what it runs, so a worker's death
# counts against the submission it was running and no other (see the README's cluster section).
SCHEDULER_ENV = {"DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
                 "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "2"}
POISON = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)  # the kernel's parent: the worker\n"


@contextmanager
def dask_cluster(folder: Path, workers: int = 2):
    """(scheduler address, {worker name: its process}); every process is killed on the way out."""
    env = {**os.environ, **SCHEDULER_ENV, "PATH": bin_path()}
    scheduler_file = folder / "scheduler.json"
    started = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                 "--scheduler-file", scheduler_file], env=env, cwd=folder, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=open(folder / "scheduler.log", "w"))]
    try:
        _wait(lambda: scheduler_file.exists(), "the scheduler's file")
        address = json.loads(scheduler_file.read_text())["address"]
        named = {}
        for number in range(workers):
            name = f"w{number}"
            named[name] = subprocess.Popen(
                [DASK, "worker", address, "--name", name, "--nthreads", "1", "--no-dashboard",
                 "--local-directory", folder / name], env=env, cwd=folder, start_new_session=True,
                stdout=subprocess.DEVNULL, stderr=open(folder / f"{name}.log", "w"))
            started.append(named[name])
        with client_of(address) as client:
            client.wait_for_workers(workers, timeout=60)
        yield address, named
    finally:
        for process in started:
            _kill_group(process)


@contextmanager
def client_of(address):
    from distributed import Client
    client = Client(address, timeout=30, set_as_default=False)
    try:
        yield client
    finally:
        client.close()


def _kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _wait(ready, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.2)


def one_per_answer() -> list:
    """The first wrong answer to each function, and the first of them again (as a second student)."""
    firsts = [mutant for number, mutant in enumerate(CPU_MUTANTS)
              if mutant.function not in {earlier.function for earlier in CPU_MUTANTS[:number]}]
    return firsts + firsts[:1]


# The reference and a wrong answer to each function: what a run does to one notebook it does to
# each, so more would only add kernels (test_engines.py grades every mutant).
CLASS = 1 + len(one_per_answer())


@pytest.fixture(scope="module")
def a_class(tmp_path_factory):
    """CLASS submissions, the reference and a wrong answer each, as a flat class folder."""
    folder = tmp_path_factory.mktemp("class")
    answers = reference_answers()
    (folder / "reference.ipynb").write_bytes(submission())
    for number, mutant in enumerate(one_per_answer()):
        data = notebook_bytes(fill_in({**answers, mutant.function: mutant.code}))
        (folder / f"s{number:02d}-{mutant.name}.ipynb").write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def graded_here(a_class, warm_class):
    """The same class as this machine grades it: each is a notebook of the session's warm grading on
    this machine (autograder_fixtures.warm_class: the reference and every mutant, graded once)."""
    _, here = warm_class
    source = {path.stem: path.stem.split("-", 1)[-1]  # s03-copy_shares: copy_shares
              for path in a_class.glob("*.ipynb")}
    return {student: decided(here[name]) for student, name in source.items()}


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory):
    """(scheduler address, {worker name: its process}) of one cluster for the module's tests that
    kill no `dask worker` process: its workers keep their engines from one test to the next."""
    with dask_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


@pytest.fixture
def cluster(shared_cluster):
    """The shared cluster, once both its workers are up (a worker restarted by its nanny included)."""
    with client_of(shared_cluster[0]) as client:
        client.wait_for_workers(2, timeout=60)
    return shared_cluster


def grades(out: Path) -> dict:
    """student -> what grading decided, for each results.json under `out`."""
    return {path.parent.name: decided(json.loads(path.read_text())) for path in out.glob("*/results.json")}


def decided(results: dict) -> tuple:
    """(score, status, each test's (name, score, outcome))."""
    tests = tuple((t["name"], t["score"], t["extra_data"]["outcome"]) for t in results["tests"])
    return results["score"], results["extra_data"]["status"], tests


def submissions_in_gradebook(course: Path) -> list[str]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return [s.student.id for s in gb.assignment_submissions("lesson08")]


def test_a_cluster_grades_as_this_machine_does(a_class, graded_here, cluster, tmp_path):
    course = copy_course(tmp_path / "course")
    address = cluster[0]
    done = run_autograder(*grade_args(course, a_class, tmp_path / "out", "--scheduler", address, "--record",
                                      cell_timeout=10))
    assert done.returncode == 0, done.stderr
    assert f"[{CLASS}/{CLASS}]" in done.stderr, "the progress line counts results as they stream in"
    doctor = run_autograder("doctor", "--scheduler", address)
    refused = run_autograder(*grade_args(course, a_class, tmp_path / "gpu-out", "--scheduler", address,
                                         "--require-gpu", cell_timeout=10))
    assert grades(tmp_path / "out") == graded_here
    assert sorted(submissions_in_gradebook(course)) == sorted(graded_here)
    assert doctor.returncode == 0, doctor.stderr
    assert doctor.stdout.count("== worker tcp://127.0.0.1:") == 2 and "torch:" in doctor.stdout
    assert "2 of 2 worker(s) can grade; 0 take GPU work" in doctor.stdout
    assert refused.returncode == 1 and "--require-gpu: no worker of the Dask cluster" in refused.stderr


def test_ctrl_c_on_the_driver_then_the_same_command_finishes_the_rest(a_class, graded_here, cluster, tmp_path):
    from autograder_fixtures import interruptible
    course = copy_course(tmp_path / "course")
    command = autograder_command(*grade_args(course, a_class, tmp_path / "out", "--scheduler", cluster[0],
                                             "--record", cell_timeout=10))
    driver = subprocess.Popen(command, env={**os.environ, "PATH": bin_path()}, preexec_fn=interruptible,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in driver.stderr:  # ends at [3/CLASS], or when the driver does
        if line.startswith(f"[3/{CLASS}]"):
            break
    driver.send_signal(signal.SIGINT)
    _, stderr = driver.communicate(timeout=60)
    assert driver.returncode == 130, stderr
    partial = len(list((tmp_path / "out").glob("*/results.json")))
    assert 3 <= partial < CLASS
    again = subprocess.run(command, env={**os.environ, "PATH": bin_path()}, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("(kept from an earlier run)") == partial
    assert grades(tmp_path / "out") == graded_here
    assert sorted(submissions_in_gradebook(course)) == sorted(graded_here)


def test_a_worker_killed_mid_run_loses_nobody_and_records_nobody_twice(a_class, graded_here, tmp_path):
    course = copy_course(tmp_path / "course")
    with dask_cluster(tmp_path) as (address, named), client_of(address) as client:
        driver = subprocess.Popen(autograder_command(*grade_args(course, a_class, tmp_path / "out", "--scheduler",
                                                                 address, "--record", cell_timeout=10)),
                                  env={**os.environ, "PATH": bin_path()}, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        assert driver.stderr.readline().startswith("recording: "), "the run says it records"
        first = driver.stderr.readline()
        assert first.startswith(f"[1/{CLASS}]"), first + driver.stderr.read()
        victim = next(name for name, keys in _processing(client).items() if keys)  # a worker in the middle of a submission
        _kill_group(named[victim])  # the worker and its sandboxes, as when a node is lost
        stdout, stderr = driver.communicate(timeout=300)
    assert driver.returncode == 0, stderr
    assert grades(tmp_path / "out") == graded_here
    recorded = submissions_in_gradebook(course)
    assert len(recorded) == len(set(recorded)) == CLASS


def _processing(client) -> dict:
    """{worker name: keys of the autograder's tasks it is running}."""
    names = {address: info["name"] for address, info in client.scheduler_info(n_workers=-1)["workers"].items()}
    return {names[address]: [k for k in keys if str(k).startswith("autograder-")]
            for address, keys in client.processing().items()}


def test_a_notebook_that_kills_its_worker_every_time_ends_as_an_error(cluster, tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for student in ("ana", "ben", "cho"):
        (folder / f"{student}.ipynb").write_bytes(submission())
    answers = reference_answers()
    (folder / "mallory.ipynb").write_bytes(submission(shares_memory=answers["shares_memory"] + "\n" + POISON))
    course = copy_course(tmp_path / "course")
    # The fresh engine: its kernel is the worker's own child, unsandboxed, so it can kill the worker
    # (in the warm engine's sandbox it can't: tests/test_sandbox.py).
    done = run_autograder(*grade_args(course, folder, tmp_path / "out", "--scheduler", cluster[0],
                                      "--engine", "fresh", cell_timeout=10))
    assert done.returncode == 0, done.stderr
    mallory = json.loads((tmp_path / "out" / "mallory" / "results.json").read_text())
    assert mallory["extra_data"]["status"] == "error" and mallory["score"] == 0
    assert "stopped every time" in mallory["output"]
    assert any("killed its Dask worker every time it ran" in flag for flag in mallory["extra_data"]["flags"])
    for student in ("ana", "ben", "cho"):
        results = json.loads((tmp_path / "out" / student / "results.json").read_text())
        assert results["extra_data"]["status"] == "provisional" and results["score"] > 0, student
