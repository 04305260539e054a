"""The hidden tests are strong: graded by real `nbgrader autograde`, every wrong answer loses points,
while the reference, even when it prints, warns and logs, earns every point this kernel can grade.
On CUDA, the GPU mutants are graded in one warm batch instead (test_gpu_grading.py: `make test-gpu`)."""
import pytest
import torch

from course import gpu_test_ids, read, SOURCE
from mutants import CPU_MUTANTS, GPU_MUTANTS

pytestmark = pytest.mark.slow
GPU_TESTS = gpu_test_ids(read(SOURCE))


@pytest.fixture(scope="module")
def scores(nbgrader_scores):
    """By real `nbgrader autograde`, once a session (autograder_fixtures.mutant_class): the reference,
    the noisy reference, the GPU skipper (the shares_memory answer claims nbgrader is validating and
    makes every GPU test skip itself) and every mutant."""
    return nbgrader_scores


@pytest.fixture(scope="module")
def max_points():
    from course import grade_cells, nbgrader_meta
    return {grade_id: nbgrader_meta(cell)["points"] for grade_id, cell in grade_cells(read(SOURCE)).items()}


def gradable(max_points):
    """Tests this kernel can grade: all of them on CUDA, all but the GPU tests without."""
    return {t for t in max_points if torch.cuda.is_available() or t not in GPU_TESTS}


@pytest.mark.parametrize("student", ["reference", "noisy_reference"])
def test_reference_earns_every_gradable_point(scores, max_points, student):
    for grade_id in gradable(max_points):
        assert scores[student][grade_id] == max_points[grade_id], f"{student} lost points on {grade_id}"


def test_gpu_tests_award_nothing_without_cuda(scores):
    """Also for a notebook that pretends to be validated and disarms the skip: the GPU cells'
    hidden tests check for CUDA themselves."""
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the GPU tests run")
    for student in ("reference", "gpu_skipper"):
        for grade_id in GPU_TESTS:
            assert scores[student][grade_id] == 0, (student, grade_id)


@pytest.mark.parametrize("mutant", CPU_MUTANTS, ids=lambda m: m.name)
def test_cpu_mutant_loses_points(scores, max_points, mutant):
    _assert_loses(scores, max_points, mutant)


@pytest.mark.parametrize("mutant", GPU_MUTANTS, ids=lambda m: m.name)
def test_gpu_mutant_keeps_every_cpu_point(scores, max_points, mutant):
    """A GPU mutant is wrong only on CUDA: on the CPU tests it scores like the reference."""
    for grade_id in set(max_points) - GPU_TESTS:
        assert scores[mutant.name][grade_id] == scores["reference"][grade_id], grade_id


def _assert_loses(scores, max_points, mutant):
    got = scores[mutant.name]
    for grade_id in mutant.loses:
        assert got[grade_id] == 0, f"{mutant.name} kept {got[grade_id]} points on {grade_id}"
    assert sum(got.values()) < sum(scores["reference"].values())
