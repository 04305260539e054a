"""GPU grading policy, end to end through the CLI: provisional results without CUDA,
--require-gpu / --only-gpu refusals, the later GPU-only run merged in, one kernel per GPU,
and `doctor`. The CUDA half runs only where there is a GPU (`make test-gpu`)."""
import contextlib
import csv
import shutil
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import nbformat
import pytest
import torch

from autograder import results as R
from autograder.merge import merge_gpu_tests
from autograder.messages import say
from autograder_fixtures import autograder_command, by_name, grade_args, interruptible, run_autograder, submission
from course import ROOT, bin_path, reference_answers
from mutants import MUTANTS

pytestmark = pytest.mark.slow
CUDA = torch.cuda.is_available()
GPU_TESTS = {"shares_memory_gpu", "to_numpy_gpu", "predict_numpy_gpu", "numpy_error_gpu"}
LOSE_GPU_POINTS = [m for m in MUTANTS if set(m.loses) & GPU_TESTS]  # the GPU mutants, and CPU ones a _meta test catches
ENV_PROBE = '\nimport os\nprint("kernel GPU:", os.environ.get("CUDA_VISIBLE_DEVICES"))\n'


def grade(root, submissions, out, *extra, env=None):
    return run_autograder(*grade_args(root, submissions, out, *extra, cell_timeout=10), env=env)


def write_class(folder, notebooks):
    folder.mkdir()
    for student, data in notebooks.items():
        (folder / f"{student}.ipynb").write_bytes(data)
    return folder


def results(out, student):
    return json.loads((out / student / "results.json").read_text())


@pytest.fixture(scope="module")
def cpu_run(ag_course, tmp_path_factory):
    """Two correct submissions graded on this machine's kernel (no CUDA here: provisional)."""
    if CUDA:
        pytest.skip("this machine has CUDA: the provisional path is not taken")
    folder = write_class(tmp_path_factory.mktemp("class") / "flat",
                         {"ana": submission(), "ben": submission(to_numpy="def to_numpy(tensor):\n    return tensor.numpy()")})
    out = tmp_path_factory.mktemp("out")
    run = grade(ag_course[0], folder, out, "--regrade", "--workers", "1")  # one warm parent
    assert run.returncode == 0, run.stderr
    return ag_course[0], folder, out, run


def test_without_cuda_gpu_tests_are_needs_gpu_and_the_result_provisional(cpu_run):
    _, _, out, _ = cpu_run
    ana = results(out, "ana")
    assert ana["extra_data"]["status"] == "provisional"
    assert ana["extra_data"]["kernel"]["cuda_device"] is None
    tests = by_name(ana)
    assert tests.pop("written_error_order")["extra_data"]["outcome"] == "failed", "left unanswered"
    for name, test in tests.items():
        expected = "needs_gpu" if name in GPU_TESTS else "passed"
        assert test["extra_data"]["outcome"] == expected, name
        if name in GPU_TESTS:
            assert test["score"] == 0 and test["status"] == "failed"
        assert test["visibility"] == ("after_published" if test["extra_data"]["fully_hidden"] else "visible")


def test_the_run_ends_with_the_command_that_grades_the_rest(cpu_run):
    _, folder, out, run = cpu_run
    last = run.stdout.strip().splitlines()[-1]
    assert last.startswith("2 submission(s) need their GPU tests graded on a CUDA kernel")
    assert "--only-gpu" in last and str(folder) in last and str(out) in last
    assert "--regrade" not in last, "the follow-up grades only what is missing"


@pytest.mark.parametrize("flag", ["--require-gpu", "--only-gpu"])
def test_runs_that_need_cuda_refuse_to_start_without_it(cpu_run, tmp_path, flag):
    root = cpu_run[0]
    folder = write_class(tmp_path / "class", {"ana": submission()})  # one notebook: one warm parent to start
    refused = grade(root, folder, tmp_path / "out", flag)
    assert refused.returncode == 1
    assert f"{flag}: the grading kernel 'pytorch-course-grader' has no CUDA GPU" in refused.stderr
    assert not list((tmp_path / "out").glob("*/results.json")), "nothing is graded"


def test_a_later_gpu_run_is_merged_into_the_provisional_result(cpu_run):
    """The merge itself, on CPU: the GPU run's results are this machine's own results for
    the same notebook with the GPU tests' outcomes set as a CUDA kernel reports them."""
    _, _, out, _ = cpu_run
    first = results(out, "ben")
    gpu_run = json.loads(json.dumps(first))
    for test in gpu_run["tests"]:
        if test["name"] in GPU_TESTS:
            passed = test["name"] != "to_numpy_gpu"
            test.update(score=test["max_score"] if passed else 0.0, status="passed" if passed else "failed")
            test["extra_data"]["outcome"] = "passed" if passed else "failed"
    gpu_run["extra_data"]["kernel"] = {"name": "pytorch-course-grader", "python": "3.11.7", "torch": "2.13.0",
                                       "cuda_device": "NVIDIA H200"}
    gpu_run["extra_data"]["flags"] = ["the notebook names kernel 'x', not 'y': graded on the course's grading kernel"]
    gpu_run["extra_data"]["flag_messages"] = [say("wrong_kernel", name="'x'", wanted="'y'").to_dict()]
    merged = merge_gpu_tests(R.Result.from_dict(first), R.Result.from_dict(gpu_run)).to_dict()
    tests = by_name(merged)
    assert merged["extra_data"]["status"] == "graded"
    assert merged["score"] == first["score"] + 6, "three GPU tests of 2 points passed"
    assert tests["to_numpy_gpu"]["extra_data"]["outcome"] == "failed"
    assert tests["to_numpy_grad"] == by_name(first)["to_numpy_grad"], "CPU tests are kept as graded"
    assert merged["extra_data"]["kernel"]["cuda_device"] == "NVIDIA H200"
    assert merged["extra_data"]["graded_without_gpu_on"]["cuda_device"] is None
    assert gpu_run["extra_data"]["flags"][0] in merged["extra_data"]["flags"]
    assert "NVIDIA H200" in merged["output"]


def test_a_gpu_run_that_grades_nothing_leaves_the_result_provisional(cpu_run):
    _, _, out, _ = cpu_run
    first = results(out, "ana")
    merged = merge_gpu_tests(R.Result.from_dict(first), R.Result.from_dict(first)).to_dict()
    assert merged["extra_data"]["status"] == "provisional" and merged["score"] == first["score"]
    assert "Still provisional" in merged["output"]


def test_each_kernel_gets_one_gpu_of_its_own(ag_course, tmp_path):
    """With GPUs 0 and 1 visible, two workers grade at once, each kernel seeing only its GPU."""
    nb = nbformat.reads(submission().decode(), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(ENV_PROBE))
    data = nbformat.writes(nb).encode()
    folder = write_class(tmp_path / "class", {f"gpu{i}": data for i in range(4)})
    run = grade(ag_course[0], folder, tmp_path / "out", "--record", env={"CUDA_VISIBLE_DEVICES": "0,1"})
    assert run.returncode == 0, run.stderr
    seen = []
    for i in range(4):
        graded = nbformat.read(ag_course[0] / "autograded" / f"gpu{i}" / "lesson08" / "lesson08.ipynb", as_version=4)
        printed = "".join(o.get("text", "") for o in graded.cells[-1].outputs)
        seen.append(printed.strip().removeprefix("kernel GPU: "))
    assert set(seen) == {"0", "1"}, f"each kernel sees exactly one of the two GPUs: {seen}"


def test_workers_must_be_positive(ag_course, tmp_path):
    refused = grade(ag_course[0], tmp_path, tmp_path / "out", "--workers", "0")
    assert refused.returncode == 2 and "must be 1 or more" in refused.stderr


def test_one_run_at_a_time_per_course_gradebook(ag_course, tmp_path):
    import fcntl
    with open(ag_course[0] / ".autograder-gradebook.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        busy = grade(ag_course[0], tmp_path, tmp_path / "other-out")
    assert busy.returncode == 1 and "another grading run is writing to the gradebook" in busy.stderr


def held_cell(token: str) -> str:
    """An answer cell that says, by a file `inside-TOKEN` in its kernel's sockets' folder (the one
    folder the grader and a sandboxed kernel both see: /tmp/ag-*/ipc), that it has started, then
    waits there until a file `release-TOKEN` appears beside it (or its cell timeout ends it)."""
    return ("import os, time\nfrom ipykernel.kernelapp import IPKernelApp\n"
            "_here = os.path.dirname(IPKernelApp.instance().connection_file)\n"
            f"open(os.path.join(_here, 'inside-{token}'), 'w').close()\n"
            f"while not os.path.exists(os.path.join(_here, 'release-{token}')):\n    time.sleep(0.05)\n\n")


def held_kernels(token: str) -> list:
    """The sockets' folders of the kernels now inside a held_cell of `token`."""
    return [marker.parent for marker in Path(tempfile.gettempdir()).glob(f"ag-*/ipc/inside-{token}")]


def test_ctrl_c_stops_parallel_workers_at_once_and_a_rerun_finishes(ag_course, tmp_path):
    import signal
    import time
    # Both workers' kernels are held inside a cell (held_cell) when the Ctrl-C comes, however long
    # they took to get there: the run must stop within 10 s of it without waiting for them. The
    # rerun's kernels are released as soon as they are inside, and it grades them in full, as the
    # reference.
    token = uuid.uuid4().hex
    slow = submission(predict_numpy=held_cell(token) + reference_answers()["predict_numpy"])
    folder = write_class(tmp_path / "class", {"slow1": slow, "slow2": slow, "quick": submission()})
    out = tmp_path / "out"
    command = autograder_command(*grade_args(ag_course[0], folder, out, "--workers", "2", cell_timeout=60))
    env = {**os.environ, "PATH": bin_path()}
    process = subprocess.Popen(command, env=env, preexec_fn=interruptible, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(held_kernels(token)) < 2:
        assert process.poll() is None and time.monotonic() < deadline, "both workers never reached the held cell"
        time.sleep(0.1)
    held = held_kernels(token)
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert time.monotonic() - started < 10, "Ctrl-C waited for the running kernels"
    assert not [kernel for kernel in held if kernel.exists()], "the held kernels outlived the run"
    with open(tmp_path / "rerun.log", "w+") as log:
        rerun = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        while rerun.poll() is None:
            for kernel in held_kernels(token):
                with contextlib.suppress(OSError):  # a kernel that ends meanwhile takes its folder along
                    (kernel / f"release-{token}").touch()
            time.sleep(0.1)
        log.seek(0)
        assert rerun.returncode == 0, log.read()
    assert {p.parent.name for p in out.glob("*/results.json")} == {"slow1", "slow2", "quick"}
    assert results(out, "slow1")["score"] == results(out, "slow2")["score"] == results(out, "quick")["score"]


@pytest.fixture(scope="module")
def doctor():
    """`python -m autograder doctor` as typed: run once, read by each test of what it reports."""
    return run_autograder("doctor")


def test_doctor_says_what_grading_runs_on(doctor):
    report = doctor
    assert report.returncode == 0, report.stderr
    assert f"torch:          {torch.__version__}" in report.stdout
    if CUDA:
        assert "GPU tests:      will run" in report.stdout
    else:
        assert "CUDA available: no" in report.stdout and "CANNOT run here" in report.stdout
    missing = run_autograder("doctor", "--kernel", "no-such-kernel")
    assert missing.returncode == 1 and "no-such-kernel" in missing.stderr


def test_doctor_says_plainly_when_the_kernel_torch_is_not_the_course_pin(doctor, tmp_path):
    matching = doctor
    assert "course pin:     torch==2.13.0 (requirements.txt): the kernel's torch matches" in matching.stdout
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    (tmp_path / "requirements.txt").write_text("numpy==2.4.6\ntorch==2.11.0  # the node's CUDA build\n")
    other = run_autograder("doctor", "--course", tmp_path)
    assert other.returncode == 0, other.stderr
    assert f"the kernel's torch {torch.__version__} DIFFERS" in other.stdout
    assert "students' laptops run 2.11.0" in other.stdout


def test_doctor_reports_the_engine_and_the_sandbox(doctor):
    from autograder import sandbox
    warm = doctor
    assert "engine:         warm" in warm.stdout
    expected = "bubblewrap" if sandbox.detect().enabled else "none:"
    assert f"sandbox:        {expected}" in warm.stdout, warm.stdout
    fresh = run_autograder("doctor", "--engine", "fresh")
    assert fresh.returncode == 0 and "engine:         fresh" in fresh.stdout
    assert "sandbox:        none:" in fresh.stdout


def test_kernel_install_puts_the_grading_kernel_where_asked(tmp_path):
    done = run_autograder("kernel", "install", "--prefix", tmp_path)
    assert done.returncode == 0, done.stderr
    spec = json.loads((tmp_path / "share/jupyter/kernels/pytorch-course-grader/kernel.json").read_text())
    assert spec["argv"][0] == sys.executable


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU; this machine has none")
def test_on_cuda_the_reference_earns_everything_and_gpu_mutants_lose_their_gpu_points(ag_course, tmp_path):
    folder = write_class(tmp_path / "class", {
        "reference": submission(),
        **{m.name: submission(**{m.function: m.code}) for m in LOSE_GPU_POINTS}})
    out = tmp_path / "out"
    run = grade(ag_course[0], folder, out, "--require-gpu")
    assert run.returncode == 0, run.stderr
    reference = results(out, "reference")
    assert reference["extra_data"]["status"] == "graded" and reference["extra_data"]["kernel"]["cuda_device"]
    auto = [t for t in reference["tests"] if t["name"] != "written_error_order"]  # graded by hand
    assert all(t["score"] == t["max_score"] for t in auto), [t["name"] for t in auto if t["score"] < t["max_score"]]
    for mutant in LOSE_GPU_POINTS:
        graded = by_name(results(out, mutant.name))
        for name, test in by_name(reference).items():
            expected = 0 if name in mutant.loses else test["score"]
            assert graded[name]["score"] == expected, f"{mutant.name}: {name}"


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU; this machine has none")
def test_on_cuda_only_gpu_merges_into_a_provisional_run(ag_course, tmp_path):
    folder = write_class(tmp_path / "class", {"late": submission()})
    out = tmp_path / "out"
    first = grade(ag_course[0], folder, out, env={"CUDA_VISIBLE_DEVICES": ""})  # a kernel without CUDA
    assert first.returncode == 0 and results(out, "late")["extra_data"]["status"] == "provisional"
    second = grade(ag_course[0], folder, out, "--only-gpu")
    assert second.returncode == 0, second.stderr
    merged = results(out, "late")
    assert merged["extra_data"]["status"] == "graded" and merged["extra_data"]["kernel"]["cuda_device"]
    rows = {row["student_id"]: row for row in csv.DictReader((out / "grades.csv").open(encoding="utf-8-sig"))}
    assert rows["late"]["status"] == "graded" and float(rows["late"]["score"]) == merged["score"]
