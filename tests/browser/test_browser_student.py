"""The student's path in JupyterLab: open the released lesson, run it, answer it, Validate,
and read the Korean feedback page the autograder writes.

On a machine without CUDA (CI, a student's laptop) the `_gpu` test cells skip themselves with
a note (they are graded on the course's GPU kernel), so Run All reaches the last cell and
Validate reports success for a correct notebook, and failure for a wrong one.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch

import course
from lab_helpers import (cell, menu, notebook_state, open_notebook, replace_cell_text, save, select_cell,
                         show_cell, wait_kernel_idle, wait_until_ran)

pytestmark = pytest.mark.browser

NOTEBOOK = f"release/{course.ASSIGNMENT}/{course.ASSIGNMENT}.ipynb"
SKIPPED = "GPU가 없어서 건너뛰었어"
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
    unanswered stubs with NotImplementedError from the stub itself (`_gpu` tests on a kernel
    without CUDA skip themselves with a note instead), nothing else errors."""
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
        if grade_id in gpu_tests and not CUDA:
            printed = "".join(o.get("text", "") for o in nb_cell.outputs)
            assert not errors and SKIPPED in printed, f"{grade_id} did not skip itself without CUDA"
            continue
        assert len(errors) == 1, f"visible test {grade_id} did not fail on the unanswered stub"
        error = errors[0]
        arrows = [line for line in ANSI.sub("", "\n".join(error.traceback)).splitlines()
                  if ARROW.match(line)]
        assert error.ename == "NotImplementedError", (
            f"{grade_id} failed with {error.ename}: {error.evalue}, not the stub's NotImplementedError")
        # The traceback's innermost frame is the student's stub, not the test machinery.
        assert arrows and arrows[-1].rstrip().endswith("raise NotImplementedError()"), (
            f"{grade_id}: the traceback does not end in the stub: {arrows}")
        rendered = cell(page, index).locator(".jp-OutputArea").text_content()
        assert error.ename in rendered, f"{grade_id}: the error is not shown under the cell"
    gpu_shown = cell(page, next(i for i, c in enumerate(saved.cells)
                                if course.nbgrader_meta(c).get("grade_id") in gpu_tests))
    if not CUDA:
        assert SKIPPED in gpu_shown.locator(".jp-OutputArea").text_content()

    gpu_index = next(i for i, c in enumerate(saved.cells) if course.nbgrader_meta(c).get("grade_id") in gpu_tests)
    show_cell(page, gpu_index)
    shot(page, "student-03-visible-tests-fail-on-stubs")


def validate(page, shot, step):
    """Click Validate (it saves first, then the server runs nbgrader's validator): (reply, dialog text)."""
    with page.expect_response(lambda r: "/assignments/validate" in r.url, timeout=VALIDATE_TIMEOUT_MS) as reply:
        page.locator(".jp-NotebookPanel:visible .validate-button").click()
    result = reply.value.json()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("Validation Results").wait_for()
    message = dialog.locator("#validation-message")
    message.wait_for()
    shot(page, step)
    shown = message.inner_text()
    dialog.get_by_role("button", name="Ok").click()
    assert result["success"] is True, f"Validate could not run: {result['value']}"
    value = json.loads(result["value"]) if isinstance(result["value"], str) else result["value"]
    return value, shown


def test_answered_notebook_runs_to_the_end_validates_and_gets_korean_feedback(page, lab_server, release, shot,
                                                                                 artifacts, tmp_path):
    """Fill in the reference answers in the browser: Run All reaches the last cell, Validate
    reports success (GPU tests skip themselves without CUDA); a wrong answer fails Validate; the
    autograder's feedback page for the notebook renders in Korean."""
    nb = course.read(release)
    answers = course.reference_answers()
    written = next(c.source for c in course.read(course.SOURCE).cells
                   if course.nbgrader_meta(c).get("grade_id") == WRITTEN)
    index_of = {course.nbgrader_meta(c).get("grade_id"): i for i, c in enumerate(nb.cells)}

    open_notebook(page, lab_server, "student-answers", NOTEBOOK)
    for grade_id, answer in answers.items():
        replace_cell_text(page, index_of[grade_id], answer)
    replace_cell_text(page, index_of[WRITTEN], written, markdown=True)
    show_cell(page, index_of["to_numpy"])
    shot(page, "student-04-answers-filled-in")

    menu(page, "Kernel", "Restart Kernel and Run All Cells")
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()  # "Restart"
    last_code = max(c["index"] for c in notebook_state(page) if c["type"] == "code")
    wait_until_ran(page, last_code)
    wait_kernel_idle(page)
    state = notebook_state(page)
    assert not [c["index"] for c in state if c["type"] == "code" and c["errors"]], "Run All hit an error"
    show_cell(page, last_code)
    shot(page, "student-05-run-all-reached-the-last-cell")

    value, shown = validate(page, shot, "student-06-validate-success")
    saved = course.read(release)  # the browser's text really went into the saved notebook
    for grade_id, answer in answers.items():
        assert saved.cells[index_of[grade_id]].source == answer, f"{grade_id}: the saved answer differs"
    assert saved.cells[index_of[WRITTEN]].source == written
    assert not value.get("changed") and not value.get("type_changed") and not value.get("failed"), value
    assert "Success! Your notebook passes all the tests." in shown

    # The feedback page a student gets for this notebook, in the course's language.
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(release, folder / "student.ipynb")
    graded = subprocess.run([sys.executable, "-m", "autograder", "grade", course.ASSIGNMENT, "--submissions",
                             str(folder), "--out", str(tmp_path / "out"), "--course", str(lab_server.root)],
                            capture_output=True, text=True, env={**os.environ, "PATH": course.bin_path()})
    assert graded.returncode == 0, graded.stderr
    page.goto((tmp_path / "out" / "student" / "feedback.html").as_uri())
    assert page.locator("html").get_attribute("lang") == "ko"
    body = page.locator("body").inner_text()
    assert "결과" in body and "통과" in body, body[:500]
    description = course.grade_cells(course.read(course.SOURCE))["shares_memory_basic"].source.splitlines()[0]
    assert description.strip('"') in body  # "shares_memory: torch.from_numpy는 ...", the test's docstring
    page.screenshot(path=str(artifacts / "student-07-korean-feedback.png"), full_page=True)

    # A wrong answer: Validate says so.
    open_notebook(page, lab_server, "student-wrong", NOTEBOOK)
    replace_cell_text(page, index_of["to_numpy"], "def to_numpy(tensor):\n    return tensor.tolist()")
    value, shown = validate(page, shot, "student-08-validate-failure")
    assert value.get("failed"), "a wrong to_numpy passed Validate"
    assert "The following cell failed:" in shown
