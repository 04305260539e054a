"""An offline GPU node, simulated on this machine: the wheelhouse built for this Python, installed
with `--no-index` into a fresh venv that sees only the course's torch and numpy (as a node's
image would bring its own), then doctor and the samples graded there, as the course's venv
grades them. Anything missing from the wheelhouse fails the install's check or the grading."""
import csv
import os
import re
import shutil
import subprocess
import sys
import venv

import pytest

from autograder_fixtures import SAMPLES
from course import ROOT

pytestmark = pytest.mark.slow
sys.path.insert(0, str(ROOT / "tools"))
import wheelhouse  # noqa: E402


@pytest.fixture(scope="module")
def node(node_install):
    """(venv, wheelhouse, environment, what the build printed) of a node installed from the wheelhouse
    alone (wheelhouse_node.install_node, started with the session: autograder_fixtures.node_install)."""
    return node_install.result()


def test_the_wheelhouse_holds_no_torch_or_numpy_and_stays_small(node):
    _, wheels, _, printed = node
    names = {wheel.name.split("-")[0].lower() for wheel in wheels.glob("*.whl")}
    assert {"nbgrader", "nbval", "ipykernel", "matplotlib", "pytest"} <= names
    assert not names & {"torch", "numpy", "jupyterlab", "notebook", "playwright"}
    size = sum(wheel.stat().st_size for wheel in wheels.glob("*.whl")) / 2**20
    assert size < wheelhouse.LIMIT_MIB
    assert re.search(rf"{len(names)} wheels, {size:.1f} MiB", printed), printed


def test_install_refuses_a_wheelhouse_that_lacks_a_requirement(node, tmp_path):
    """The install's own check: remove one wheel nbgrader needs, and an install into a venv that
    lacks it says so. (The venv: the node's, hard-linked, less that package; a venv built from
    nothing would spend its time reinstalling what the node fixture installed already.)"""
    node_venv, wheels, env, _ = node
    partial = tmp_path / "wheels"
    shutil.copytree(wheels, partial, ignore=shutil.ignore_patterns("rapidfuzz-*"))
    lock = partial / wheelhouse.REQUIREMENTS
    lock.write_text("".join(line for line in lock.read_text().splitlines(True) if not line.startswith("rapidfuzz")))
    fresh = tmp_path / "venv"
    shutil.copytree(node_venv, fresh, symlinks=True, copy_function=os.link)
    subprocess.run([fresh / "bin/python", "-m", "pip", "uninstall", "--yes", "--quiet", "rapidfuzz"], env=env,
                   check=True, capture_output=True)
    assert subprocess.run([fresh / "bin/python", "-c", "import rapidfuzz"], env=env, capture_output=True).returncode
    refused = subprocess.run([fresh / "bin/python", ROOT / "tools/wheelhouse.py", "install",
                              "--wheelhouse", partial, "--venv", fresh], env=env, capture_output=True, text=True)
    assert refused.returncode == 1
    assert "lacks what these need" in refused.stderr and "nbgrader needs rapidfuzz" in refused.stderr


def test_install_refuses_a_python_without_torch(tmp_path, node):
    _, wheels, env, _ = node
    bare = tmp_path / "bare"
    venv.EnvBuilder(with_pip=False).create(bare)
    refused = subprocess.run([bare / "bin/python", ROOT / "tools/wheelhouse.py", "install",
                              "--wheelhouse", wheels, "--venv", bare], env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and "cannot import torch and numpy" in refused.stderr


def test_doctor_on_the_node_reports_its_kernel_and_the_pin(node):
    node_venv, _, env, _ = node
    report = subprocess.run([node_venv / "bin/python", "-m", "autograder", "doctor"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert report.returncode == 0, report.stderr
    assert f"({node_venv}/bin/python)" in report.stdout, "the node's own grading kernel"
    assert "course pin:     torch==2.13.0" in report.stdout and "matches" in report.stdout


def test_the_node_grades_the_samples_as_the_course_venv_does(node_samples_run, samples_graded):
    """The course venv's grading is the session's (autograder_fixtures.samples_graded), with the same
    cell timeout: one sample loops forever, and both runs time it out alike. The node's run started
    once the node was installed (autograder_fixtures.node_samples_run)."""
    on_node_out, running = node_samples_run
    on_node = running.result(timeout=900)
    assert on_node.returncode == 0, on_node.stderr

    def grades(out):
        rows = csv.DictReader((out / "grades.csv").open(encoding="utf-8-sig"))
        return {row["student_id"]: (row["score"], row["status"]) for row in rows}
    here = samples_graded[1]
    assert grades(on_node_out) == grades(here)
    assert len(grades(on_node_out)) == len(list(SAMPLES.glob("*.ipynb")))
