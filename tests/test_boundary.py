"""The boundary's data path, without kernels: the referee's regions and strict decoder against the
agent's encoder, over a real socketpair. What crosses is data; what a hostile peer sends is refused
with AnswerError, never built."""
import socket
import threading

import numpy as np
import pytest
import torch

from autograder.boundary import agent, wire
from autograder.boundary.decode import AnswerError, Decoder, Region
from autograder.boundary import referee


def call_through(function, *args, **kwargs):
    """Call `function` the way a test in the referee calls an answer: the arguments cross a real
    socket to the agent's code (in a thread here, a sandboxed kernel when grading) and back."""
    ours, theirs = socket.socketpair()
    namespace = {"answer": function}

    def serve():
        header, frames = wire.receive(theirs)
        agent._answer_call(theirs, namespace, header, frames)

    thread = threading.Thread(target=serve)
    thread.start()
    referee._state["connection"] = ours
    try:
        return referee._call("answer", args, kwargs)
    finally:
        thread.join(10)
        referee._state["connection"] = None
        ours.close()
        theirs.close()


def test_a_view_the_answer_returns_is_a_view_of_the_referees_own_argument():
    array = np.zeros(4, dtype=np.float32)
    shared = call_through(torch.from_numpy, array)
    copied = call_through(torch.tensor, array)
    assert np.shares_memory(shared.numpy(), array) and not np.shares_memory(copied.numpy(), array)
    array[0] = 7.0
    assert shared[0].item() == 7.0 and copied[0].item() == 0.0


def test_arguments_that_share_memory_share_it_exactly_on_the_other_side():
    buffer = np.arange(24.0)
    answer = lambda t, a: bool(np.shares_memory(t.numpy(), a))  # noqa: E731
    assert call_through(answer, torch.from_numpy(buffer[::2]), buffer[1::2]) is False  # bounds overlap, data doesn't
    assert call_through(answer, torch.from_numpy(buffer).reshape(4, 6)[1, 3:], buffer[9:10]) is True
    assert call_through(answer, torch.from_numpy(buffer).reshape(4, 6)[2:], buffer[:12]) is False


def test_writes_to_arguments_and_their_flags_come_back_to_the_originals():
    array, leaf = np.zeros(3), torch.ones(3, requires_grad=True)
    layer = torch.nn.Linear(2, 1)

    def meddle(a, t, model):
        a[1] = 5.0
        t.requires_grad_(False)
        model.eval()
        model.weight = torch.nn.Parameter(torch.full((1, 2), 9.0))

    call_through(meddle, array, leaf, layer)
    assert array.tolist() == [0.0, 5.0, 0.0] and not leaf.requires_grad and not layer.training
    assert layer.weight.tolist() == [[9.0, 9.0]]


def test_grad_mode_and_the_real_exception_cross():
    def numpy_error(tensor):
        try:
            tensor.numpy()
        except Exception as error:
            return error

    error = call_through(numpy_error, torch.ones(3, requires_grad=True))
    with pytest.raises(RuntimeError) as expected:
        torch.ones(3, requires_grad=True).numpy()
    assert type(error) is RuntimeError and str(error) == str(expected.value)
    with torch.no_grad():
        assert call_through(numpy_error, torch.ones(3, requires_grad=True)) is None
    with pytest.raises(ValueError, match="negative"):
        call_through(torch.from_numpy, np.arange(5.0)[::-1])


class Liar(float):
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("made", [
    lambda: Liar(1.0),  # lies in ==: not a float, so it does not cross
    lambda: np.array([object()]),
    lambda: type("Sneaky", (np.ndarray,), {})((2,)),  # a subclass crosses as a plain ndarray, if at all
    lambda: (lambda: 0),
])
def test_objects_that_could_lie_never_cross(made):
    try:
        value = call_through(lambda: made())
    except AnswerError:
        return
    assert type(value) is np.ndarray  # the ndarray subclass: its data, as a plain array


def hostile(node, frames=(), regions=()):
    return Decoder([bytearray(f) for f in frames], list(regions), []).decode(node)


@pytest.mark.parametrize("node", [
    "not a dict", {"t": "eval", "v": "__import__('os')"}, {"t": "int", "v": 3}, {"t": "bool", "v": 1},
    {"t": "int", "v": "9" * 5000}, {"t": "float", "v": 1.5}, {"t": "ndarray", "dtype": "O", "shape": [1], "f": 0},
    {"t": "ndarray", "dtype": "<f8", "shape": [4], "f": 0}, {"t": "tensor", "dtype": "Tensor", "shape": [1],
                                                             "device": "cpu", "requires_grad": False, "f": 0},
    {"t": "tensor", "dtype": "int64", "shape": [1], "device": "cpu", "requires_grad": True, "f": 0},
    {"t": "tensor", "dtype": "float32", "shape": [1], "device": "file:///etc", "requires_grad": False, "f": 0},
    {"t": "list", "items": [{"t": "list", "items": []}] * 2 + [{"t": "nope"}]}, {"t": "arg", "i": 0},
])
def test_malformed_or_unknown_data_is_refused(node):
    with pytest.raises(AnswerError):
        hostile(node, frames=[b"\0" * 8])


def test_a_view_outside_its_region_is_refused_before_anything_is_built():
    array = np.arange(4.0)
    regions, _ = Region.cover([array])
    inside = {"t": "ndarray", "dtype": "<f8", "shape": [2], "region": 0, "offset": 16, "strides": [8], "readonly": False}
    assert np.shares_memory(hostile(inside, regions=regions), array)
    for offset, strides, shape in ((24, [8], [2]), (-8, [8], [1]), (0, [-8], [2]), (0, [100], [2]), (0, [8, 8], [2])):
        with pytest.raises(AnswerError):
            hostile({**inside, "offset": offset, "strides": strides, "shape": shape}, regions=regions)


def test_an_exception_class_is_taken_only_from_builtins_torch_and_numpy():
    error = hostile({"t": "exception", "module": "builtins", "name": "KeyError", "message": "'x'", "args": ["x"],
                     "raised": True})
    assert type(error) is KeyError and str(error) == "'x'"
    exit_ = hostile({"t": "exception", "module": "builtins", "name": "SystemExit", "message": "0", "args": [0],
                     "raised": True})
    assert type(exit_) is AnswerError  # never raised as SystemExit or KeyboardInterrupt in the referee
    other = hostile({"t": "exception", "module": "os", "name": "system", "message": "x", "args": ["x"], "raised": True})
    assert type(other) is AnswerError and str(other) == "system: x"


def test_a_message_over_the_size_caps_is_refused_before_it_is_read():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        theirs.sendall(wire._PREFIX.pack(wire.MAX_HEADER + 1, 0))
        with pytest.raises(wire.WireError):
            wire.receive(ours)
        theirs.sendall(wire._PREFIX.pack(2, 1) + (wire.MAX_FRAMES + 1).to_bytes(8, "little"))
        with pytest.raises(wire.WireError):
            wire.receive(ours)


def test_empty_arrays_and_tensors_cross_both_ways():
    for answer, argument in [(torch.from_numpy, np.empty(0)), (torch.from_numpy, np.empty((0, 3))[:, ::2]),
                             (lambda t: t.numpy(), torch.empty(0)), (lambda t: t.T.clone(), torch.empty(2, 0))]:
        made = call_through(answer, argument)
        assert tuple(made.shape) == tuple(answer(argument).shape) and made.dtype == answer(argument).dtype
