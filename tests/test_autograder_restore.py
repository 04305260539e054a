"""load.py and restore.py on the real lesson08: bad files become clear reasons, tampered cells
are rebuilt from the gradebook and flagged. No kernel runs here."""
import json

import nbformat
import pytest

from autograder.load import InvalidSubmission, read_notebook
from autograder.restore import restore
from autograder_fixtures import notebook_bytes, submission
from course import RELEASE, read


def restored(assignment, data: bytes):
    nb, flags = read_notebook(data)
    out = restore(nb, assignment)
    return out.nb, [str(flag) for flag in flags + out.flags], out


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b'{"cells": [', "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not text"),
    (b'["a list"]', "not a Jupyter notebook"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code", "source": 5}]}', "cell 1"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "cells": [{"cell_type": "code"}]}', "cannot read it"),
    (b'{"nbformat": 5, "cells": []}', "nbformat 5"),
])
def test_unreadable_files_are_invalid_with_a_reason(data, words):
    with pytest.raises(InvalidSubmission, match=words):
        read_notebook(data)


def test_a_notebook_of_another_assignment_is_invalid(ag_assignment):
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    nb, _ = read_notebook(notebook_bytes(other))
    with pytest.raises(InvalidSubmission, match="not the lesson08 notebook"):
        restore(nb, ag_assignment)


def test_nbformat_44_without_cell_ids_is_upgraded(ag_assignment):
    raw = json.loads(submission())
    raw["nbformat_minor"] = 4
    for c in raw["cells"]:
        c.pop("id")
    nb, flags, _ = restored(ag_assignment, json.dumps(raw).encode())
    assert nb.nbformat_minor == 5 and all(c.id for c in nb.cells)
    assert len({c.id for c in nb.cells}) == len(nb.cells)
    nbformat.validate(nb)
    assert flags == []


def test_duplicate_cell_ids_are_repaired_and_flagged(ag_assignment):
    raw = json.loads(submission())
    raw["cells"][3]["id"] = raw["cells"][4]["id"]
    nb, flags, _ = restored(ag_assignment, json.dumps(raw).encode())
    assert len({c.id for c in nb.cells}) == len(nb.cells)
    assert any("duplicate cell ids" in f for f in flags)


def test_a_clean_submission_gets_the_hidden_tests_back_and_no_flags(ag_assignment):
    nb, flags, out = restored(ag_assignment, submission())
    assert flags == [] and out.missing == set()
    test = cell(nb, "to_numpy_grad")
    assert "### BEGIN HIDDEN TESTS" in test.source
    assert test.source == ag_assignment.cell("to_numpy_grad").source
    assert "### BEGIN HIDDEN TESTS" not in cell(read(RELEASE), "to_numpy_grad").source


def test_edited_deleted_repointed_and_inflated_cells_are_restored_and_flagged(ag_assignment, ag_answers):
    nb = read(RELEASE)
    cell(nb, "to_numpy_basic").source = "pass"  # edited
    cell(nb, "to_numpy_grad").metadata.nbgrader["points"] = 100  # inflated
    cell(nb, "to_numpy_unchanged").metadata.nbgrader["grade"] = False  # no longer graded
    cell(nb, "to_numpy_dtypes").metadata.nbgrader["grade_id"] = "to_numpy_basic"  # re-pointed
    cell(nb, "setup").source += "\nnp.allclose = lambda *a, **k: True"  # read-only cell edited
    nb.cells.remove(cell(nb, "predict_numpy_shapes"))  # deleted
    nb.cells.remove(cell(nb, "written_error_order"))
    nb.metadata.kernelspec = {"name": "evil-kernel", "display_name": "x", "language": "python"}
    nb, flags, out = restored(ag_assignment, notebook_bytes(nb))
    text = "\n".join(flags)
    for grade_id in ("to_numpy_basic", "to_numpy_grad", "to_numpy_unchanged", "setup",
                     "predict_numpy_shapes", "written_error_order"):
        assert grade_id in text, grade_id
    assert "evil-kernel" in text and nb.metadata.kernelspec["name"] == "pytorch-course"
    for spec in ag_assignment.cells:
        if spec.locked or spec.grade:
            restored_cell = cell(nb, spec.grade_id)
            assert restored_cell.metadata.nbgrader["points" if spec.grade else "grade_id"] == (
                spec.points if spec.grade else spec.grade_id)
            assert restored_cell.metadata.nbgrader["grade"] == spec.grade
            if spec.locked:
                assert restored_cell.source == spec.source
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    assert ids.count("to_numpy_basic") == 1
    assert ids.index("predict_numpy_shapes") == ids.index("predict_numpy_basic") + 1  # back in place
    assert out.missing == {"predict_numpy_shapes", "written_error_order", "to_numpy_dtypes"}


def test_outputs_saved_in_the_submission_never_count(ag_assignment):
    nb = read(RELEASE)
    cell(nb, "to_numpy_basic").outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "1"})]
    nb, _, _ = restored(ag_assignment, notebook_bytes(nb))
    assert all(c.outputs == [] for c in nb.cells if c.cell_type == "code")


def test_a_missing_answer_cell_is_reported_not_put_back(ag_assignment):
    nb = read(RELEASE)
    nb.cells.remove(cell(nb, "to_numpy"))
    nb.cells.append(nbformat.v4.new_code_cell("def to_numpy(tensor):\n    return tensor.detach().numpy()"))
    nb, flags, out = restored(ag_assignment, notebook_bytes(nb))
    assert "to_numpy" in out.missing
    assert any("answer cell 'to_numpy' is missing" in f for f in flags)
    assert "def to_numpy" in nb.cells[-1].source and "raise NotImplementedError" not in nb.cells[-1].source
