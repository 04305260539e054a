"""The student's path in JupyterLab: open the released lesson, run it, answer it, Validate.

On a machine without CUDA (CI, a student's laptop) the `_gpu` test cells cannot pass: they
stop with "needs a CUDA grading kernel" by design. nbgrader's Validate has no way to leave
cells out (and the tests themselves must not be weakened), so "Validate passes" means here:
every failure Validate reports is a `_gpu` cell failing with that message, and all other
visible tests pass. Where the kernel does have CUDA, Validate must report full success.
"""
import json
import re
import shutil

import pytest
import torch

import course
from lab_helpers import (cell, menu, notebook_state, open_notebook, replace_cell_text, save, select_cell,
                         show_cell, wait_kernel_idle, wait_until_ran)

pytestmark = pytest.mark.browser

NOTEBOOK = f"release/{course.ASSIGNMENT}/{course.ASSIGNMENT}.ipynb"
CUDA_MESSAGE = "needs a CUDA grading kernel"
CUDA = torch.cuda.is_available()  # the grading kernel runs in this same venv
VALIDATE_TIMEOUT_MS = 240_000
WRITTEN = "written_error_order"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
ARROW = re.compile(r"^\s*-+>\s*\d+")  # IPython's "---> 11" marker of the line that raised, per frame


@pytest.fixture
def release(course_copy):
    """The committed student release, fresh for each test, at the path `make lab` opens."""
    target = course_copy / NOTEBOOK
    shutil.copy(course.RELEASE, target)
    return target


def test_release_runs_and_visible_tests_fail_clearly(page, lab_server, release, shot):
    """Open the release: the course's kernel starts; run all: every visible test fails on the
    unanswered stubs with NotImplementedError from the stub itself (or, for `_gpu` tests on a
    kernel without CUDA, with the "needs a CUDA grading kernel" message), nothing else errors."""
    nb = course.read(release)
    tests = course.grade_cells(nb)
    gpu_tests = course.gpu_test_ids(nb)

    kernel = open_notebook(page, lab_server, "student-release", NOTEBOOK)
    assert kernel == "pytorch-course"
    panel = page.locator(".jp-NotebookPanel:visible")
    assert panel.locator(".jp-Toolbar").get_by_text("PyTorch course (Python 3.11)").count() >= 1
    assert panel.locator(".validate-button").count() == 1, "no nbgrader Validate button in the toolbar"
    page.get_by_role("heading", name="Lesson 08 과제 — PyTorch ↔ NumPy").wait_for()
    shot(page, "student-01-lesson-opened")

    # Kernel -> Restart Kernel and Run All Cells, as the notebook tells students to.
    menu(page, "Kernel", "Restart Kernel and Run All Cells")
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()  # "Restart"
    state = notebook_state(page)
    first_test = next(c["index"] for c in state if c["gradeId"] in tests)
    wait_until_ran(page, first_test)
    wait_kernel_idle(page)
    state = notebook_state(page)
    assert state[first_test]["errors"], "the first visible test passed on an unanswered stub"
    assert state[first_test]["errors"][0]["ename"] == "NotImplementedError"
    failing = show_cell(page, first_test)
    assert "NotImplementedError" in failing.locator(".jp-OutputArea").text_content()
    shot(page, "student-02-run-all-stops-at-first-stub")

    # Run All stops at the first error; a student then runs on, cell by cell (Shift+Enter).
    code_cells = [c["index"] for c in state if c["type"] == "code"]
    rest = [i for i in code_cells if i > first_test]
    select_cell(page, first_test + 1)
    for index in range(first_test + 1, rest[-1] + 1):
        page.keyboard.press("Shift+Enter")
        if index in rest:
            wait_until_ran(page, index)
    wait_kernel_idle(page)
    save(page)

    # What the student sees: every visible test's output names the problem.
    saved = course.read(release)
    for index, nb_cell in enumerate(saved.cells):
        if nb_cell.cell_type != "code":
            continue
        grade_id = course.nbgrader_meta(nb_cell).get("grade_id")
        errors = [o for o in nb_cell.outputs if o.output_type == "error"]
        assert nb_cell.execution_count is not None, f"cell {index} ({grade_id}) never ran"
        if grade_id not in tests:  # set-up and answer cells (definitions) run cleanly
            assert not errors, f"cell {index} ({grade_id}) errored: {errors[0].ename}: {errors[0].evalue}"
            continue
        assert len(errors) == 1, f"visible test {grade_id} did not fail on the unanswered stub"
        error = errors[0]
        arrows = [line for line in ANSI.sub("", "\n".join(error.traceback)).splitlines()
                  if ARROW.match(line)]
        if grade_id in gpu_tests and not CUDA:
            assert error.ename == "RuntimeError" and CUDA_MESSAGE in error.evalue, (grade_id, error.evalue)
        else:
            assert error.ename == "NotImplementedError", (
                f"{grade_id} failed with {error.ename}: {error.evalue}, not the stub's NotImplementedError")
            # The traceback's innermost frame is the student's stub, not the test machinery.
            assert arrows and arrows[-1].rstrip().endswith("raise NotImplementedError()"), (
                f"{grade_id}: the traceback does not end in the stub: {arrows}")
        rendered = cell(page, index).locator(".jp-OutputArea").text_content()
        assert error.ename in rendered, f"{grade_id}: the error is not shown under the cell"

    gpu_index = next(i for i, c in enumerate(saved.cells) if course.nbgrader_meta(c).get("grade_id") in gpu_tests)
    show_cell(page, gpu_index)
    shot(page, "student-03-visible-tests-fail-on-stubs")


def test_answered_notebook_validates(page, lab_server, release, shot):
    """Fill in the reference answers in the browser, click Validate: only CUDA-only tests may fail."""
    nb = course.read(release)
    answers = course.reference_answers()
    written = next(c.source for c in course.read(course.SOURCE).cells
                   if course.nbgrader_meta(c).get("grade_id") == WRITTEN)
    index_of = {course.nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(nb.cells)}
    gpu_tests = course.gpu_test_ids(nb)
    tests = course.grade_cells(nb)
    test_of_source = {c.source.strip(): grade_id for grade_id, c in tests.items()}

    open_notebook(page, lab_server, "student-answers", NOTEBOOK)
    for grade_id, answer in answers.items():
        replace_cell_text(page, index_of[grade_id], answer)
    replace_cell_text(page, index_of[WRITTEN], written, markdown=True)
    show_cell(page, index_of["to_numpy"])
    shot(page, "student-04-answers-filled-in")

    # Validate (it saves first, then asks the server to run nbgrader's validator).
    with page.expect_response(lambda r: "/assignments/validate" in r.url, timeout=VALIDATE_TIMEOUT_MS) as reply:
        page.locator(".jp-NotebookPanel:visible .validate-button").click()
    result = reply.value.json()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("Validation Results").wait_for()
    message = dialog.locator("#validation-message")
    message.wait_for()
    shot(page, "student-05-validate-result")

    # The browser's text really went into the saved notebook, answer for answer.
    saved = course.read(release)
    for grade_id, answer in answers.items():
        assert saved.cells[index_of[grade_id]].source == answer, f"{grade_id}: the saved answer differs"
    assert saved.cells[index_of[WRITTEN]].source == written

    assert result["success"] is True, f"Validate could not run: {result['value']}"
    value = json.loads(result["value"]) if isinstance(result["value"], str) else result["value"]
    assert not value.get("changed") and not value.get("type_changed"), value
    failed = value.get("failed", [])
    failed_ids = [test_of_source.get(f["source"], f["source"][:60]) for f in failed]
    if CUDA:
        assert failed_ids == [], f"Validate failed on a CUDA kernel: {failed_ids}"
        assert "Success! Your notebook passes all the tests." in message.inner_text()
    else:
        assert set(failed_ids) == gpu_tests, f"Validate failures beyond the CUDA-only tests: {failed_ids}"
        for entry in failed:
            assert CUDA_MESSAGE in entry["raw_error"], entry["raw_error"][-500:]
        shown = message.inner_text()
        assert shown.count("The following cell failed:") == len(gpu_tests)
        assert shown.count(CUDA_MESSAGE) >= len(gpu_tests)
        assert "NotImplementedError" not in shown and "AssertionError" not in shown
    dialog.get_by_role("button", name="Ok").click()
