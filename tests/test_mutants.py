"""The hidden tests are strong and fair: every wrong answer (tests/mutants.py) loses points, while the
reference, the noisy reference (it prints, warns and logs) and every correct variant (the same
answers in other styles) earn every point this kernel can grade.

Graded both ways a notebook can be: by the course's grader (the session's warm grading,
autograder_fixtures.warm_class: tests in a referee, answers called through the trust boundary) and
as nbgrader runs a notebook, in one process (course.run_in_process: about a second for all of
them); the references and the GPU skipper also by real `nbgrader autograde`. On CUDA, the mutants
that lose a GPU test are graded in one warm batch instead (test_gpu_grading.py: `make test-gpu`)."""
import warnings

import pytest
import torch

from course import gpu_test_ids, grade_cells, nbgrader_meta, read, run_in_process, SOURCE
from mutants import CORRECT_VARIANTS, CPU_MUTANTS, GPU_MUTANTS, MUTANTS

pytestmark = pytest.mark.slow
GPU_TESTS = gpu_test_ids(read(SOURCE))


@pytest.fixture(scope="module")
def nbgrader(nbgrader_class_scores):
    """By real `nbgrader autograde`, once a session (autograder_fixtures.nbgrader_class): the
    reference, the noisy reference and the GPU skipper (the shares_memory answer claims nbgrader is
    validating and makes every GPU test skip itself)."""
    return nbgrader_class_scores


@pytest.fixture(scope="module")
def scores(warm_class):
    """{student: {grade_id: score}} by the course's grader, once a session (autograder_fixtures.warm_class):
    the references, every mutant and every correct variant."""
    _, graded = warm_class
    return {student: {t["name"]: t["score"] for t in results["tests"]} for student, results in graded.items()}


@pytest.fixture(scope="module")
def in_process():
    """{student: {grade_id: passed}}: the reference, every mutant and every variant, run in this process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ran = {"reference": run_in_process()}
        ran.update({m.name: run_in_process({m.function: m.code}) for m in MUTANTS})
        ran.update({v.name: run_in_process(v.answers) for v in CORRECT_VARIANTS})
    return ran


@pytest.fixture(scope="module")
def max_points():
    return {grade_id: nbgrader_meta(cell)["points"] for grade_id, cell in grade_cells(read(SOURCE)).items()}


def gradable(max_points):
    """Tests this kernel can grade: all of them on CUDA, all but the GPU tests without."""
    return {t for t in max_points if torch.cuda.is_available() or t not in GPU_TESTS}


@pytest.mark.parametrize("student", ["reference", "noisy_reference"])
def test_reference_earns_every_gradable_point(nbgrader, scores, in_process, max_points, student):
    assert all(in_process["reference"].values()), "the reference fails in one process"
    for graded_by, got in (("nbgrader autograde", nbgrader[student]), ("the course's grader", scores[student])):
        for grade_id in gradable(max_points):
            assert got[grade_id] == max_points[grade_id], f"{student} lost points on {grade_id} ({graded_by})"


def test_gpu_tests_award_nothing_without_cuda(nbgrader):
    """Also for a notebook that pretends to be validated and disarms the skip: the GPU cells'
    hidden tests check for CUDA themselves."""
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the GPU tests run")
    for student in ("reference", "gpu_skipper"):
        for grade_id in GPU_TESTS:
            assert nbgrader[student][grade_id] == 0, (student, grade_id)


@pytest.mark.parametrize("mutant", CPU_MUTANTS, ids=lambda m: m.name)
def test_cpu_mutant_loses_points(scores, in_process, max_points, mutant):
    failed = {grade_id for grade_id, passed in in_process[mutant.name].items() if not passed}
    assert {t for t in mutant.loses if t not in GPU_TESTS} <= failed, f"{mutant.name}: in one process"
    if mutant.in_process_only:  # the course's referee sees the answer's exception rebuilt
        return
    got = scores[mutant.name]
    for grade_id in mutant.loses:
        assert got[grade_id] == 0, f"{mutant.name} kept {got[grade_id]} points on {grade_id}"
    assert sum(got.values()) < sum(scores["reference"].values())


@pytest.mark.parametrize("mutant", GPU_MUTANTS, ids=lambda m: m.name)
def test_gpu_mutant_keeps_every_cpu_point(scores, in_process, max_points, mutant):
    """A GPU mutant is wrong only on CUDA: on the CPU tests it scores like the reference."""
    assert all(in_process[mutant.name].values())
    for grade_id in set(max_points) - GPU_TESTS:
        assert scores[mutant.name][grade_id] == scores["reference"][grade_id], grade_id


@pytest.mark.parametrize("variant", CORRECT_VARIANTS, ids=lambda v: v.name)
def test_correct_variant_earns_every_gradable_point(scores, in_process, max_points, variant):
    failed = sorted(grade_id for grade_id, passed in in_process[variant.name].items() if not passed)
    assert not failed, f"{variant.name} fails {failed} in one process"
    for grade_id in gradable(max_points):
        assert scores[variant.name][grade_id] == max_points[grade_id], f"{variant.name} lost points on {grade_id}"
