"""The GPU tests' core on a CUDA machine, with torch, numpy and pytest alone (no Jupyter).

Runs the source notebook's reference answers and its `_gpu` test cells, hidden tests
included, in one namespace, the way a grading kernel would; then each mutant that loses a GPU
test, which must fail exactly the GPU tests it names; and checks that the CUDA errors the kernel's
PyTorch raises are the ones the lesson teaches. Skipped without CUDA.
"""
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from mutants import MUTANTS

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU; this machine has none")]

SOURCE = Path(__file__).resolve().parents[1] / "source" / "lesson08" / "lesson08.ipynb"
MARKERS = re.compile(r"^\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$", re.M)


def cells():
    for cell in json.loads(SOURCE.read_text())["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and "grade_id" in meta:
            yield meta["grade_id"], meta, MARKERS.sub("", "".join(cell["source"]))


def namespace_with(replacements=None):
    """The setup cell and every answer (reference unless replaced) run in one namespace."""
    namespace = {}
    for grade_id, meta, source in cells():
        if grade_id == "setup" or meta.get("solution"):
            exec((replacements or {}).get(grade_id, source), namespace)
    return namespace


GPU_CELLS = {grade_id: source for grade_id, _, source in cells() if grade_id.endswith("_gpu")}


def failing_gpu_tests(namespace):
    failed = set()
    for grade_id, source in GPU_CELLS.items():
        try:
            exec(source, dict(namespace))
        except Exception:
            failed.add(grade_id)
    return failed


def test_reference_passes_every_gpu_test():
    assert GPU_CELLS and failing_gpu_tests(namespace_with()) == set()


@pytest.mark.parametrize("mutant", [m for m in MUTANTS if m.gpu or set(m.loses) & set(GPU_CELLS)],
                         ids=lambda m: m.name)
def test_gpu_mutant_fails_exactly_its_gpu_tests(mutant):
    failed = failing_gpu_tests(namespace_with({mutant.function: mutant.code}))
    assert set(mutant.loses) & set(GPU_CELLS) == failed


def test_cuda_errors_are_the_ones_the_lesson_teaches():
    def error_of(tensor):
        with pytest.raises(Exception) as caught:
            tensor.numpy()
        return caught.value

    device_error = error_of(torch.ones(3, device="cuda"))
    assert type(device_error) is TypeError
    assert str(device_error) == ("can't convert cuda:0 device type tensor to numpy. "
                                 "Use Tensor.cpu() to copy the tensor to host memory first.")
    both = error_of(torch.ones(3, device="cuda", requires_grad=True))
    assert type(both) is TypeError, "the device check fires before the grad check"
    grad_error = error_of(torch.ones(3, device="cuda", requires_grad=True).cpu())
    assert type(grad_error) is RuntimeError
    assert str(grad_error) == ("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
    weights = torch.ones(3, device="cuda")
    host = weights.detach().cpu().numpy()
    host[:] = 0
    assert weights.sum().item() == 3, ".cpu() of a GPU tensor is a copy: the weights stay"
    assert isinstance(host, np.ndarray)
