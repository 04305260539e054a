"""The declared seams (autograder/protocols.py) hold: every implementation has its Protocol's
members, with the same parameters; and which test needs a GPU is CellSpec.needs_gpu's to say."""
import inspect

import pytest

from autograder import protocols
from autograder.assignment import CellSpec, needs_gpu
from autograder.engine.fresh import FreshEngine, FreshKernel
from autograder.engine.session import Session
from autograder.engine.warm import ForkedKernel, WarmEngine
from autograder.executors.cluster import ClusterRunner
from autograder.executors.local import LocalRunner
from autograder.gpu import NO_GPU, GpuLease

IMPLEMENTATIONS = [(protocols.Engine, FreshEngine), (protocols.Engine, WarmEngine),
                   (protocols.KernelProcess, FreshKernel), (protocols.KernelProcess, ForkedKernel),
                   (protocols.Kernel, Session), (protocols.Runner, LocalRunner), (protocols.Runner, ClusterRunner)]


def parameters(function) -> list[str]:
    return [name for name in inspect.signature(function).parameters if name != "self"]


@pytest.mark.parametrize("protocol, implementation", IMPLEMENTATIONS, ids=lambda c: c.__name__)
def test_each_implementation_has_its_protocols_members(protocol, implementation):
    source = inspect.getsource(implementation)
    for name in protocol.__annotations__:  # data: a class attribute, or one its methods set
        assert name in vars(implementation) or f"self.{name}" in source, f"{implementation.__name__}.{name}"
    for name, member in vars(protocol).items():
        if name.startswith("_"):
            continue
        assert hasattr(implementation, name), f"{implementation.__name__} has no {name}"
        if isinstance(member, property):
            assert isinstance(getattr(implementation, name), property), f"{implementation.__name__}.{name}"
        elif callable(member):
            assert parameters(getattr(implementation, name)) == parameters(member), f"{implementation.__name__}.{name}"


def spec(grade_id: str, grade: bool = True, solution: bool = False, cell_type: str = "code") -> CellSpec:
    return CellSpec(grade_id, cell_type, "", None, True, grade, solution, 1.0 if grade else None)


def test_a_test_cell_named_gpu_needs_a_gpu_and_nothing_else_does():
    assert spec("to_numpy_gpu").needs_gpu and needs_gpu("to_numpy_gpu")
    assert not spec("to_numpy").needs_gpu
    assert not spec("answer_gpu", solution=True).needs_gpu, "an answer is not a test"
    assert not spec("setup_gpu", grade=False).needs_gpu, "a read-only cell is not a test"


def test_a_lease_puts_its_gpu_alone_in_the_kernels_environment():
    assert GpuLease("3").env == {"CUDA_VISIBLE_DEVICES": "3"}
    assert NO_GPU.env == {} and NO_GPU.device is None
