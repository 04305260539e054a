"""The lesson08 assignment: conventions of its cells, its release, and nbgrader validate both ways."""
import ast
import re
from pathlib import Path

import nbformat
import pytest
import torch
from nbgrader.validator import Validator

from course import (ASSIGNMENT, RELEASE, SOURCE, gpu_test_ids, grade_cells, nbgrader_meta, read,
                    reference_answers)

FUNCTIONS = ("shares_memory", "numpy_to_tensor_shared", "numpy_to_tensor_copy",
             "to_numpy", "predict_numpy", "numpy_error")
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.S)
SECRET = re.compile(r"### BEGIN (?:SOLUTION|HIDDEN TESTS).*?### END (?:SOLUTION|HIDDEN TESTS)", re.S)


def test_each_function_has_an_answer_cell_with_a_docstring():
    answers = reference_answers()
    assert set(FUNCTIONS) <= set(answers)
    for name in FUNCTIONS:
        assert re.search(rf'def {name}\(.*\):\n    """', answers[name]), f"{name}: no docstring"


def test_each_test_cell_is_named_for_its_function_and_opens_with_a_docstring():
    for grade_id, cell in grade_cells(read(SOURCE)).items():
        assert grade_id.startswith(FUNCTIONS), grade_id
        first_line = cell.source.splitlines()[0]
        assert first_line.startswith('"""') and first_line.endswith('"""'), grade_id
        assert nbgrader_meta(cell)["points"] > 0 and nbgrader_meta(cell)["locked"], grade_id


HANGUL = re.compile("[\uac00-\ud7a3]")


def _words(node) -> str:
    """The text a message shows, without its {fields}: a string, or an f-string's literal parts."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value for part in node.values if isinstance(part, ast.Constant))
    return ""


def test_what_a_student_reads_of_a_test_is_korean():
    """The description (the docstring's first line, on the feedback page) names the function, then
    says in Korean what the test checks; every assert says in Korean what went wrong, and so does
    every AssertionError a test raises."""
    for grade_id, cell in grade_cells(read(SOURCE)).items():
        function = next(name for name in FUNCTIONS if grade_id.startswith(name + "_"))
        description = cell.source.splitlines()[0].strip('"')
        assert description.startswith(f"{function}: ") and HANGUL.search(description), grade_id
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Assert):
                assert node.msg is not None, f"{grade_id}, line {node.lineno}: an assert without a message"
                assert HANGUL.search(_words(node.msg)), f"{grade_id}, line {node.lineno}: {ast.unparse(node.msg)}"
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "AssertionError":
                assert HANGUL.search(_words(node.args[0])), f"{grade_id}, line {node.lineno}"


def test_the_assignment_says_in_korean_what_validates_english_dialog_means():
    """Validate's dialog is nbgrader's, in English: the assignment quotes each thing it says, as the
    installed nbgrader's JupyterLab extension writes it, and explains it in Korean on the same line."""
    import nbgrader
    extension = "".join(path.read_text(errors="ignore") for path in
                        (Path(nbgrader.__file__).parent / "labextension" / "static").glob("*.js"))
    intro = read(SOURCE).cells[0].source
    for said in ("Validation Results", "Success! Your notebook passes all the tests.", "The following cell failed:",
                 "The source of the following cell has changed, but it should not have!",
                 "There was an error running the validate command:"):
        assert said in extension, f"nbgrader's Validate no longer says {said!r}"
        line = next((line for line in intro.splitlines() if said in line), "")
        assert HANGUL.search(line.split(said)[-1]), f"the assignment does not explain {said!r}"


def test_the_assignment_states_its_points():
    cells = grade_cells(read(SOURCE))
    written = nbgrader_meta(next(c for c in read(SOURCE).cells if nbgrader_meta(c).get("grade_id") == "written_error_order"))
    total = sum(nbgrader_meta(cell)["points"] for cell in cells.values()) + written["points"]
    gpu = sum(nbgrader_meta(cells[grade_id])["points"] for grade_id in gpu_test_ids(read(SOURCE)))
    assert f"모두 {gpu}점 (전체 {total}점 중" in read(SOURCE).cells[0].source


def test_each_function_has_visible_and_hidden_tests_and_a_gpu_test_guards_itself():
    cells = grade_cells(read(SOURCE))
    for name in FUNCTIONS:
        own = [cell.source for grade_id, cell in cells.items() if grade_id.startswith(name + "_")]
        visible = [HIDDEN.sub("", source).strip() for source in own]
        assert any(len(v.splitlines()) > 1 for v in visible), f"{name}: no visible test"
        assert any(HIDDEN.search(source) for source in own), f"{name}: no hidden test"
    for grade_id in gpu_test_ids(read(SOURCE)):
        assert f'if can_run_gpu_test("{grade_id}"):' in cells[grade_id].source
        last = cells[grade_id].source.split("### BEGIN HIDDEN TESTS")[-1]
        assert "\nassert torch.cuda.is_available()" in last, f"{grade_id}: no top-level CUDA check in its hidden tests"


def test_written_answer_is_graded_by_hand():
    cells = {nbgrader_meta(c).get("grade_id"): c for c in read(SOURCE).cells}
    written = cells["written_error_order"]
    assert written.cell_type == "markdown"
    assert nbgrader_meta(written)["solution"] and nbgrader_meta(written)["grade"]


def test_release_is_byte_identical_to_a_fresh_generate(nbgrader_release):
    fresh = nbgrader_release / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"  # generated this session
    assert fresh.read_bytes() == RELEASE.read_bytes(), (
        "release/ is stale: run `make release` and commit the result")


def test_release_holds_no_solution_hidden_test_or_marker():
    assert not re.search(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS)", RELEASE.read_text())
    secret, public = set(), set()
    for cell in read(SOURCE).cells:
        for block in SECRET.findall(cell.source):
            secret.update(line.strip() for line in block.splitlines()[1:-1])
        public.update(line.strip() for line in SECRET.sub("", cell.source).splitlines())
    secret = {line for line in secret - public if len(line) > 8}
    released = {line.strip() for cell in read(RELEASE).cells for line in cell.source.splitlines()}
    assert len(secret) > 50, "the source should hold solutions and hidden tests"
    assert not secret & released, f"leaked to the release: {secret & released}"


@pytest.mark.slow
@pytest.mark.gpu  # on CUDA: every test cell of the source, hidden ones included, passes nbgrader validate
def test_source_fails_validation_only_in_gpu_cells_without_cuda():
    """The source holds the hidden tests: without CUDA their top-level check fails each GPU cell."""
    results = Validator().validate(str(SOURCE))
    failed = {_grade_id_of(cell["source"]) for cell in results.get("failed", [])}
    expected = set() if torch.cuda.is_available() else gpu_test_ids(read(SOURCE))
    assert expected == failed
    for cell in results.get("failed", []):
        assert "GPU test는 CUDA가 있는 채점 kernel에서만 점수가 나와" in cell["raw_error"]


@pytest.mark.slow
def test_on_a_laptop_a_correct_release_validates_and_run_all_reaches_the_last_cell(tmp_path):
    """What a student without a GPU sees: Validate succeeds, Run All runs every cell, and each GPU
    test says it was skipped; a wrong answer still fails Validate."""
    from nbclient import NotebookClient
    from course import fill_in
    answers = {**reference_answers(), "written_error_order": "device 검사가 먼저 걸려: TypeError가 .cpu()를 하라고 해."}
    correct = tmp_path / "correct.ipynb"
    nbformat.write(fill_in(answers), correct)
    assert Validator().validate(str(correct)) == {}, "nbgrader validate reports success"
    ran = NotebookClient(read(correct), kernel_name="pytorch-course", timeout=120).execute()
    executed = [c for c in ran.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in executed), "Run All stopped before the last cell"
    for grade_id, cell in grade_cells(ran).items():
        printed = "".join(o.get("text", "") for o in cell.outputs)
        if grade_id in gpu_test_ids(ran) and not torch.cuda.is_available():
            assert f"{grade_id}: GPU가 없어서 건너뛰었어" in printed, grade_id
    wrong = tmp_path / "wrong.ipynb"
    nbformat.write(fill_in({**answers, "to_numpy": "def to_numpy(tensor):\n    return tensor.tolist()"}), wrong)
    assert Validator().validate(str(wrong)).get("failed"), "a wrong answer fails validation"


@pytest.mark.slow
def test_release_passes_no_test_cell():
    """Blank answers pass no test; without CUDA the GPU tests skip themselves, so only they 'pass'."""
    results = Validator(invert=True).validate(str(RELEASE))
    passed = {_grade_id_of_release(cell["source"]) for cell in results.get("passed", [])}
    assert passed == (set() if torch.cuda.is_available() else gpu_test_ids(read(RELEASE)))


def _grade_id_of_release(source):
    for grade_id, cell in grade_cells(read(RELEASE)).items():
        if cell.source.strip() == source:
            return grade_id
    raise AssertionError(f"no test cell of the release has this source: {source[:80]}")


def _grade_id_of(source):
    for grade_id, cell in grade_cells(read(SOURCE)).items():
        if cell.source.strip() == source:
            return grade_id
    raise AssertionError(f"no test cell has this source: {source[:80]}")


def test_a_test_is_fully_hidden_only_when_students_saw_nothing_but_its_docstring():
    from autograder.assignment import CellSpec

    def spec(source):
        return CellSpec("t", "code", source, None, True, True, False, 1.0)
    hidden = "### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS"
    assert spec(f'"""f squares."""\n{hidden}').fully_hidden
    assert spec(hidden).fully_hidden
    assert not spec(f'"""f squares."""\nassert f(1) == 1\n{hidden}').fully_hidden  # a visible check
    assert not spec('"""f squares."""\nassert f(1) == 1').fully_hidden  # nothing hidden
