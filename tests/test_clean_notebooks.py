"""Committed notebooks carry no execution noise (tools/clean_notebooks.py --check)."""
import importlib.util
import subprocess
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from course import ROOT

spec = importlib.util.spec_from_file_location("clean_notebooks", ROOT / "tools" / "clean_notebooks.py")
clean_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(clean_notebooks)


def noisy_notebook():
    cell = new_code_cell("print(1)", execution_count=3, outputs=[new_output("stream", text="1\n")])
    cell.metadata.update(execution={"iopub.execute_input": "2026-11-26T10:00:00"}, scrolled=True)
    return new_notebook(cells=[cell], metadata={"widgets": {"state": {}}})


def test_committed_notebooks_are_clean():
    check = subprocess.run([sys.executable, ROOT / "tools" / "clean_notebooks.py", "--check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


def test_lecture_notebooks_keep_outputs_but_lose_timings():
    cleaned = clean_notebooks.clean(noisy_notebook(), keep_outputs=True)
    cell = cleaned.cells[0]
    assert cell.outputs and cell.execution_count == 3
    assert "execution" not in cell.metadata and "scrolled" not in cell.metadata
    assert "widgets" not in cleaned.metadata


def test_source_notebooks_lose_outputs():
    cell = clean_notebooks.clean(noisy_notebook(), keep_outputs=False).cells[0]
    assert cell.outputs == [] and cell.execution_count is None
    nbformat.validate(clean_notebooks.clean(noisy_notebook(), keep_outputs=False))
