"""Runs INSIDE the referee: the trusted kernel where setup and test cells run (sent as source
after wire.py and decode.py; never imported by the grader).

Each name an answer cell defines is a `Proxy` here. Before every cell the grader starts the
student kernel's `serve` and puts a fresh token in the request's metadata; `_before` accepts the
agent's connection that presents it and syncs the answer names (callable → Proxy, data → its
decoded value, missing → gone). A call copies its arguments' bytes in (regions), runs the
student's function there, and rebuilds the result strictly (decode.py); `_after` ends the
connection. See docs/trust-boundary.md.
"""
import io
import json
import os
import pickle
import platform
import socket
import time

import numpy as np
import torch
from IPython import get_ipython

try:  # as a module in the grader's tests; in the kernel, the sources came first
    from .decode import AnswerError, Decoder, Region
    from .wire import WireError, modules_in, receive, send
except ImportError:
    pass

ACCEPT_TIMEOUT = 2.0
_state = {"listener": None, "connection": None, "names": (), "path": None}


def install(path: str, names) -> str:
    """Listen for the student's agent at `path`; hook every cell; describe this kernel (JSON)."""
    listen(path)
    _state["names"] = tuple(names)
    shell = get_ipython()
    shell.events.register("pre_run_cell", _before)
    shell.events.register("post_run_cell", _after)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return json.dumps({"python": platform.python_version(), "torch": torch.__version__, "cuda_device": device})


def listen(path: str) -> str:
    """(Again, after the student kernel was replaced.) The socket is the student's to connect to."""
    if _state["listener"] is not None:
        _state["listener"].close()
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o666)
    listener.listen(16)
    _state["listener"], _state["path"] = listener, path
    return "listening"


class Proxy:
    """Stands for a function the student's answer defines; calling it calls that function."""

    def __init__(self, name: str):
        self.__name__ = self.__qualname__ = name

    def __call__(self, *args, **kwargs):
        return _call(self.__name__, args, kwargs)

    def __repr__(self):
        return f"<answer function {self.__name__}>"


def _before(info=None) -> None:
    token = (get_ipython().kernel.get_parent() or {}).get("metadata", {}).get("boundary")
    _close()
    if not token:
        return
    try:
        _state["connection"] = _accept(token)
        found = _ask({"op": "names", "names": list(_state["names"])})
    except (OSError, WireError, AnswerError) as problem:
        _close()
        _install_names({name: _Broken(name, problem) for name in _state["names"]})
        return
    _install_names(_names(found))


def _after(result=None) -> None:
    connection = _state["connection"]
    if connection is not None:
        try:
            send(connection, {"op": "end"})
        except OSError:
            pass
    _close()


def _close() -> None:
    if _state["connection"] is not None:
        _state["connection"].close()
        _state["connection"] = None


def _accept(token: str):
    """The connection that presents this cell's token; any other is closed."""
    listener, deadline = _state["listener"], time.monotonic() + ACCEPT_TIMEOUT
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AnswerError("답안 kernel이 채점 연결에 응답하지 않았어")
        listener.settimeout(left)
        connection, _ = listener.accept()
        try:
            connection.settimeout(left)
            header, _ = receive(connection, max_header=4096, max_frames=0)
            connection.settimeout(None)
        except (OSError, WireError):
            connection.close()
            continue
        if header.get("token") == token:
            return connection
        connection.close()


def _ask(header: dict, frames=()) -> tuple:
    connection = _state["connection"]
    if connection is None:
        raise AnswerError("답안 kernel과의 연결이 끊겼어 (이전 호출이 중단됐거나 kernel이 멈췄어)")
    try:
        send(connection, header, frames)
        return receive(connection)
    except (OSError, WireError) as problem:
        _close()
        raise AnswerError(f"답안 kernel이 응답하지 못했어: {problem}") from None
    except BaseException:  # interrupted mid-message: this connection can't be trusted to line up again
        _close()
        raise


def _names(found: tuple) -> dict:
    header, frames = found
    answers, values = header.get("names"), {}
    if not isinstance(answers, dict):
        raise AnswerError("답안 kernel의 응답을 읽을 수 없어")
    for name in _state["names"]:
        entry = answers.get(name)
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind == "callable":
            values[name] = Proxy(name)
        elif kind == "value":
            try:
                values[name] = Decoder(frames, [], []).decode(entry.get("value"))
            except AnswerError as problem:
                values[name] = _Broken(name, problem)
        else:
            values[name] = None  # missing: the name is undefined here too
    return values


def _install_names(values: dict) -> None:
    namespace = get_ipython().user_ns
    for name, value in values.items():
        if value is None:
            namespace.pop(name, None)
        else:
            namespace[name] = value


class _Broken:
    def __init__(self, name, problem):
        self.__name__, self.problem = name, problem

    def __call__(self, *args, **kwargs):
        raise AnswerError(f"{self.__name__}을(를) 부를 수 없어: {self.problem}")


class _Pickler(pickle.Pickler):
    """Trusted → untrusted: a plain pickle whose arrays and tensors are described, not copied."""

    def __init__(self, stream):
        super().__init__(stream, protocol=pickle.HIGHEST_PROTOCOL)
        self.objects, self.seen = [], {}

    def persistent_id(self, obj):
        if isinstance(obj, np.ndarray) and obj.dtype.kind in "biufc":
            pass
        elif not isinstance(obj, torch.Tensor) or obj.layout != torch.strided or obj.is_quantized:
            return None
        if id(obj) not in self.seen:
            self.seen[id(obj)] = len(self.objects)
            self.objects.append(obj)
        return ("object", self.seen[id(obj)])


def _call(name: str, args: tuple, kwargs: dict):
    stream = io.BytesIO()
    pickler = _Pickler(stream)
    pickler.dump((args, kwargs))
    regions, descriptions = Region.cover(pickler.objects)
    header = {"op": "call", "name": name, "objects": descriptions, "grad": torch.is_grad_enabled(),
              "inference": torch.is_inference_mode_enabled(),
              "dtype": str(torch.get_default_dtype()).removeprefix("torch.")}
    reply, frames = _ask(header, [stream.getvalue(), *(region.snapshot() for region in regions)])
    arguments = [*args, *kwargs.values()]
    decoder = Decoder(frames, regions, arguments)
    decoder.apply_changes(reply, pickler.objects, modules_in(arguments, torch.nn.Module))
    if "raised" in reply:
        error = decoder.decode(reply["raised"])
        if not isinstance(error, BaseException):
            raise AnswerError("답안 kernel이 예외가 아닌 것을 예외라고 보냈어")
        raise error
    if "result" not in reply:
        raise AnswerError("답안 kernel이 결과를 보내지 않았어")
    return decoder.decode(reply["result"])
