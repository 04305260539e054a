"""Run the assignment's reference solution through `nbgrader validate` and say what passed.

Usage: python tools/check_reference.py lesson08
Without CUDA the GPU test cells (autograder.assignment.needs_gpu) are expected to fail
("needs a CUDA grading kernel");
any other failure is a broken source notebook, and the exit status says so.
"""
import os
import sys
import tempfile
from pathlib import Path

import nbformat
import torch
from nbgrader.utils import is_grade, is_solution
from nbgrader.validator import Validator
from traitlets.config import Config

from autograder.assignment import needs_gpu


def test_cells(notebook):
    return {cell.source.strip(): cell.metadata.nbgrader.grade_id for cell in notebook.cells
            if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)}


def validator(sockets: str) -> Validator:
    """nbgrader's Validator, whose kernel talks over ipc sockets in the private folder `sockets`:
    a kernel on this machine needs no TCP port (over TCP, ipykernel warns "Kernel is running over
    TCP without encryption")."""
    config = Config()
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = os.path.join(sockets, "kernel")  # socket files kernel-1, kernel-2, ...
    return Validator(config=config)


def main(assignment):
    source = Path("source") / assignment / f"{assignment}.ipynb"
    by_source = test_cells(nbformat.read(source, as_version=4))
    with tempfile.TemporaryDirectory(prefix="check-reference-") as sockets:
        results = validator(sockets).validate(str(source))
    failed = {by_source[cell["source"]] for cell in results.get("failed", [])}
    gpu_cells = {grade_id for grade_id in by_source.values() if needs_gpu(grade_id)}
    allowed = set() if torch.cuda.is_available() else gpu_cells
    passed = len(by_source) - len(failed)
    print(f"reference solution in {source}: {passed}/{len(by_source)} test cells pass")
    if failed & allowed:
        print(f"  not run here (needs a CUDA grading kernel): {', '.join(sorted(failed & allowed))}")
    if failed - allowed or set(results) - {"failed"}:
        print(f"  BROKEN: {', '.join(sorted(failed - allowed)) or results}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "lesson08"))
