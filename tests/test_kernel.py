"""The grading kernel: its kernelspec installs, it runs the course's torch, and CUDA_VISIBLE_DEVICES reaches it."""
import json
import sys

import pytest
import torch
from jupyter_client.kernelspec import KernelSpecManager

from autograder.engine import ENGINES, kernelspec as kernel, open_engine
from autograder.gpu import GpuLease
from course import COURSE_ID

GRADER = kernel.grader_kernel(COURSE_ID)


def test_install_writes_a_spec_running_this_python(tmp_path):
    folder = kernel.install("pytorch-course", prefix=str(tmp_path))
    spec = json.loads((tmp_path / "share/jupyter/kernels/pytorch-course-grader/kernel.json").read_text())
    assert folder.endswith("pytorch-course-grader")
    assert spec["argv"][:3] == [sys.executable, "-m", "ipykernel_launcher"]
    assert "env" not in spec, "an env in the spec would hide the grader's CUDA_VISIBLE_DEVICES"


def test_grading_kernel_is_installed_in_the_course_environment():
    assert GRADER in KernelSpecManager().find_kernel_specs()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ENGINES)
def test_probe_runs_in_the_kernel_and_sees_cuda_visible_devices(kind):
    from autograder_fixtures import warm_engine
    engine = warm_engine() if kind == "warm" else open_engine(kind, GRADER)  # warm: the session's
    try:
        info = kernel.probe(engine, GpuLease("3"))
    finally:
        if kind != "warm":
            engine.close()
    assert info["cuda_visible_devices"] == "3"
    assert info["torch"] == torch.__version__
    assert info["cuda_available"] is False, "GPU 3 does not exist here, so CUDA is not available"
    assert info["engine"] == kind and info["sandbox"] == engine.sandbox.kind


def test_describe_says_plainly_when_gpu_tests_cannot_run():
    cpu = {"python": "3.11.7", "torch": "2.13.0+cpu", "torch_cuda": None, "cuda_available": False,
           "device_count": 0, "cuda_device": None, "capability": None, "driver": None}
    assert "CANNOT run here" in kernel.describe(cpu, GRADER)
    gpu = {**cpu, "torch_cuda": "12.8", "cuda_available": True, "device_count": 1,
           "cuda_device": "NVIDIA H200", "capability": "9.0", "driver": "570.1"}
    report = kernel.describe(gpu, GRADER)
    assert "NVIDIA H200 (capability 9.0)" in report and "will run" in report and "570.1" in report
