"""`make test-gpu`'s driver (tools/gpu_check.py): its refusal without CUDA, and its summary."""
import subprocess
import sys

import pytest
import torch

from course import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import gpu_check  # noqa: E402


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the check runs")
def test_without_cuda_it_ends_in_one_line_saying_nothing_ran():
    done = subprocess.run([sys.executable, ROOT / "tools/gpu_check.py"], capture_output=True, text=True)
    assert done.returncode == 1
    assert "CUDA available: no" in done.stdout, "doctor's report comes first"
    assert done.stdout.strip().splitlines()[-1].startswith("test-gpu: NOT RUN: the grading kernel has no CUDA GPU")


def test_counts_read_a_real_junit_report(tmp_path):
    (tmp_path / "test_three.py").write_text(
        "import pytest\n\ndef test_ok():\n    pass\n\ndef test_bad():\n    assert False\n\n"
        "@pytest.mark.skip(reason='no')\ndef test_skipped():\n    pass\n")
    report = tmp_path / "report.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:nbval", "-c", "/dev/null",
                    f"--junitxml={report}", tmp_path / "test_three.py"], cwd=tmp_path, capture_output=True)
    assert gpu_check.counts(report) == {"passed": 1, "failed": 1, "skipped": 1, "names": ["test_bad"]}
    assert gpu_check.counts(tmp_path / "missing.xml")["names"] == ["pytest wrote no report"]


@pytest.mark.parametrize("gpu, nbval, ok", [
    ({"passed": 9, "failed": 0, "skipped": 0}, {"passed": 30, "failed": 0, "skipped": 1}, True),
    ({"passed": 8, "failed": 0, "skipped": 1}, {"passed": 30, "failed": 0, "skipped": 0}, False),
    ({"passed": 8, "failed": 1, "skipped": 0}, {"passed": 30, "failed": 0, "skipped": 0}, False),
    ({"passed": 9, "failed": 0, "skipped": 0}, {"passed": 0, "failed": 0, "skipped": 0}, False),
])
def test_the_summary_passes_only_when_every_gpu_test_ran_and_passed(gpu, nbval, ok):
    passed, line = gpu_check.summary({"GPU tests": {**gpu, "names": ["test_x"] * gpu["failed"]},
                                      "nbval": {**nbval, "names": []}})
    assert passed is ok
    assert line.startswith(f"GPU tests {gpu['passed']} passed") and f"nbval {nbval['passed']} passed" in line
    if gpu["failed"]:
        assert "1 failed (test_x)" in line
