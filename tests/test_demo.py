"""`make demo` leaves the course gradebook to the class: it grades the samples as a trial run, and
takes out, once, the sample students an older `make demo` recorded there. The commands are the
Makefile's own (`make -n demo`), run against a scratch copy of the course; no kernel starts."""
import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest
from nbgrader.api import Gradebook

from autograder import assignment as assignment_module, course as course_module, gradebook
from autograder.cli import build_parser
from course import COURSE_ID, RELEASE, ROOT, bin_path, copy_course

SAMPLES = ROOT / "samples" / "lesson08"
TCP_WARNING = "Kernel is running over TCP without encryption"


def demo_commands() -> list[list[str]]:
    """The commands `make demo` runs after its set-up steps (the venv, bubblewrap, the release)."""
    printed = subprocess.run(["make", "-n", "-o", ".venv/.installed", "-o", "sandbox-setup", "-o", "release", "demo"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [shlex.split(line) for line in printed.splitlines() if line.startswith(".venv/bin/python ")]


def as_run_here(command: list[str]) -> list[str]:
    """A Makefile command with this interpreter, its script from the repository, in another folder."""
    python, *rest = command
    return [sys.executable, *(str(ROOT / word) if word.startswith("tools/") else word for word in rest)]


def test_the_demo_grades_the_samples_as_a_trial_run():
    grade = next(c for c in demo_commands() if c[1:4] == ["-m", "autograder", "grade"])
    args = build_parser().parse_args(grade[3:])
    assert args.submissions == "samples/lesson08" and not args.record, grade  # trial: the gradebook is untouched
    assert args.out == "demo-output" and "demo-output/" in (ROOT / ".gitignore").read_text().split()


def old_demo_results(assignment, student: str, status: str = "graded") -> dict:
    tests = [{"name": spec.grade_id, "score": 0.0, "max_score": spec.points,
              "extra_data": {"outcome": "manual" if spec.solution else "failed"}} for spec in assignment.grade_cells]
    return {"score": 0.0, "tests": tests, "extra_data": {"student_id": student, "status": status}}


@pytest.fixture
def old_demo_course(tmp_path):
    """A scratch course whose gradebook an older `make demo` wrote: the five samples, recorded as it
    did (graded notebooks in autograded/, none for erin's broken file), beside two real students:
    s2024001, and one called bob whose notebook is not the sample's."""
    root = copy_course(tmp_path / "course")
    coursedir = course_module.load(root)
    lesson = assignment_module.load(coursedir, "lesson08")
    with gradebook.open_gradebook(coursedir) as gb:
        for sample in sorted(SAMPLES.glob("*.ipynb")):
            student = sample.stem
            try:
                graded = json.loads(sample.read_bytes())
            except ValueError:  # erin: not a notebook
                gradebook.record(gb, coursedir, lesson, old_demo_results(lesson, student, "invalid"))
                continue
            if student == "bob":
                graded = json.loads(RELEASE.read_bytes())  # a real bob: his own notebook
            gradebook.record(gb, coursedir, lesson, old_demo_results(lesson, student), graded)
        gradebook.record(gb, coursedir, lesson, old_demo_results(lesson, "s2024001"), json.loads(RELEASE.read_bytes()))
    return root


def test_the_demo_takes_an_older_demos_samples_out_of_the_gradebook_once(old_demo_course):
    root = old_demo_course
    forget = next(c for c in demo_commands() if c[1].startswith("tools/") and "forget" in c[1])
    env = {**os.environ, "PATH": bin_path(), "PYTHONPATH": str(ROOT)}
    first = subprocess.run(as_run_here(forget), cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "alice, carol, dave, erin out of the course gradebook" in first.stdout, first.stdout
    assert "kept bob" in first.stdout, first.stdout
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        assert sorted(student.id for student in gb.students) == ["bob", "s2024001"]
    assert sorted(p.name for p in (root / "autograded").iterdir()) == ["bob", "s2024001"]

    again = subprocess.run(as_run_here(forget), cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "took" not in again.stdout, again.stdout  # once: nothing left to take


def test_check_reference_starts_its_kernel_over_ipc(tmp_path):
    """tools/check_reference.py (make demo's first step) runs nbgrader's Validator on a kernel that
    talks over ipc sockets, so ipykernel has no unencrypted TCP to warn about."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import check_reference
    finally:
        sys.path.remove(str(ROOT / "tools"))
    from jupyter_client.manager import KernelManager
    km = KernelManager(kernel_name="pytorch-course", config=check_reference.validator(str(tmp_path)).config)
    log = tmp_path / "kernel.log"
    with open(log, "w") as stderr:
        km.start_kernel(stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        client = km.blocking_client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        client.stop_channels()
        assert km.transport == "ipc" and km.ip.startswith(str(tmp_path))
    finally:
        km.shutdown_kernel(now=True)
    assert TCP_WARNING not in log.read_text()
