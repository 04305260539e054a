"""Runs INSIDE the student's kernel (sent as source after wire.py; never imported by the grader).

It serves the referee's calls: `serve()` answers requests on its socket until the referee says
`end`. Nothing here is trusted: the student may replace any of it. It exists so that an honest
answer's results reach the referee as data; what it sends is decoded strictly on the other side.

    {"op": "names", "names": [...]}  → which of those names exist, callable or a value
    {"op": "call", "name": N, "objects": [...], "grad": bool, "inference": bool, "dtype": D}
        frames: [pickled (args, kwargs), region 0, region 1, ...]
                                     → {"result": ...} or {"raised": ...}, the regions that
                                       changed, and what changed in the arguments' tensors
    {"op": "end"}                    → serve returns
"""
import io
import pickle
import socket

import numpy as np
import torch

try:  # as a module in the grader's tests; in the kernel, wire.py's source came first
    from .wire import WireError, modules_in, receive, send
except ImportError:
    pass

MAX_DEPTH = 32


def serve(path: str, token: str) -> None:
    """Answer the referee's requests for one cell: connect, present the cell's token, serve."""
    from IPython import get_ipython
    namespace = get_ipython().user_ns
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
        send(connection, {"token": token})
        while True:
            try:
                header, frames = receive(connection)
            except (OSError, WireError):  # the referee closed the connection: the cell is over
                return
            op = header.get("op")
            if op == "end":
                return
            if op == "names":
                _answer_names(connection, namespace, header["names"])
            elif op == "call":
                _answer_call(connection, namespace, header, frames)
    finally:
        connection.close()


def _answer_names(connection, namespace: dict, names: list) -> None:
    found, frames = {}, []
    for name in names:
        if name not in namespace:
            found[name] = {"kind": "missing"}
        elif callable(namespace[name]):
            found[name] = {"kind": "callable"}
        else:
            found[name] = {"kind": "value", "value": Encoder([], [], frames).encode(namespace[name])}
    send(connection, {"names": found}, frames)


class _Unpickler(pickle.Unpickler):
    """Arguments: plain pickle, with every array and tensor rebuilt on its region's bytes."""

    def __init__(self, data, objects, regions):
        super().__init__(io.BytesIO(data))
        self.descriptions, self.regions, self.built = objects, regions, {}

    def persistent_load(self, pid):
        index = pid[1]
        if index not in self.built:
            self.built[index] = _build(self.descriptions[index], self.regions)
        return self.built[index]


def _build(d: dict, regions: list):
    region = regions[d["region"]]
    if d["kind"] == "ndarray":
        array = np.ndarray(tuple(d["shape"]), dtype=np.dtype(d["dtype"]), buffer=region, offset=d["offset"],
                           strides=tuple(d["strides"]))
        if d["readonly"]:
            array.flags.writeable = False
        return array
    dtype = getattr(torch, d["dtype"])
    itemsize = torch.empty(0, dtype=dtype).element_size()
    storage = (torch.frombuffer(region, dtype=torch.uint8) if len(region) else torch.empty(0, dtype=torch.uint8))
    tensor = torch.empty(0, dtype=dtype).set_(storage.untyped_storage(), d["offset"] // itemsize,
                                              tuple(d["shape"]), tuple(d["strides"]))
    if d["device"] != "cpu":
        tensor = tensor.to(d["device"])
    if d["param"]:
        return torch.nn.Parameter(tensor, requires_grad=d["requires_grad"])
    if d["requires_grad"]:
        tensor.requires_grad_()
        if not d["leaf"]:  # a result of an op in the referee: here a view of a leaf, not a leaf
            tensor = tensor.view_as(tensor)
    return tensor


def _answer_call(connection, namespace: dict, header: dict, frames: list) -> None:
    regions = frames[1:]
    before = [bytes(region) for region in regions]
    reply, out = {}, []
    encoder = Encoder(regions, [], out)
    built, layouts, modules = {}, {}, []
    try:
        unpickler = _Unpickler(bytes(frames[0]), header["objects"], regions)
        args, kwargs = unpickler.load()
        built = unpickler.built
        layouts = {i: _layout(t) for i, t in built.items() if isinstance(t, torch.Tensor)}
        modules = modules_in([*args, *kwargs.values()], torch.nn.Module)
        encoder.arguments = [*args, *kwargs.values()]
        function = namespace[header["name"]]
        # inference_mode(False) would turn grad mode back on: it goes first, and only when asked
        with torch.inference_mode(header["inference"] is True), torch.set_grad_enabled(header["grad"]):
            previous = torch.get_default_dtype()
            torch.set_default_dtype(getattr(torch, header["dtype"]))
            try:
                value = function(*args, **kwargs)
            finally:
                torch.set_default_dtype(previous)
        reply["result"] = encoder.encode(value)
    except BaseException as error:  # noqa: B036  KeyboardInterrupt (the grader's interrupt) included
        reply["raised"] = encoder.encode(error)
    changed = [i for i, region in enumerate(regions) if bytes(region) != before[i]]
    reply["tensors"] = {str(i): _tensor_state(built[i], layout, encoder) for i, layout in layouts.items()}
    reply["modules"] = [_module_state(module, built, encoder) for module in modules]
    reply["regions"] = changed
    out.extend(regions[i] for i in changed)  # last: the referee takes them from the end
    send(connection, reply, out)


def _layout(tensor):
    return (tensor.data_ptr(), tuple(tensor.shape), tensor.stride(), tensor.dtype, tensor.device)


def _tensor_state(tensor, layout, encoder) -> dict:
    state = {"requires_grad": tensor.requires_grad}
    if _layout(tensor) != layout:  # `.data = ...`, `set_`, `resize_`: its new value, by value
        state["data"] = encoder.encode(tensor.detach(), by_value=True)
    return state


def _module_state(module, built, encoder) -> dict:
    ours = {id(t) for t in built.values()}
    replaced = {}
    for name, tensor in [*module.named_parameters(remove_duplicate=False), *module.named_buffers()]:
        if id(tensor) not in ours:
            replaced[name] = {"value": encoder.encode(tensor.detach(), by_value=True),
                              "requires_grad": tensor.requires_grad,
                              "param": isinstance(tensor, torch.nn.Parameter)}
    return {"training": [m.training for m in module.modules()], "replaced": replaced}


class Encoder:
    """A value as tagged data: JSON-able dicts, with arrays' bytes as frames."""

    def __init__(self, regions, arguments, frames):
        self.arguments, self.frames = arguments, frames
        self.bounds = []
        for region in regions:
            start = np.frombuffer(region, dtype=np.uint8).ctypes.data if len(region) else 0
            self.bounds.append((start, start + len(region)))

    def encode(self, value, depth: int = 0, by_value: bool = False):
        if depth > MAX_DEPTH:
            return {"t": "unsupported", "type": "a structure nested too deeply"}
        for i, argument in enumerate(self.arguments):
            if value is argument and not by_value and isinstance(value, (np.ndarray, torch.Tensor, torch.nn.Module)):
                return {"t": "arg", "i": i}
        kind = type(value)
        if value is None:
            return {"t": "none"}
        if kind is bool:
            return {"t": "bool", "v": value}
        if kind is int:
            return {"t": "int", "v": str(value)}
        if kind is float:
            return {"t": "float", "v": repr(value)}
        if kind is complex:
            return {"t": "complex", "re": repr(value.real), "im": repr(value.imag)}
        if kind is str:
            return {"t": "str", "v": value}
        if kind is bytes:
            return {"t": "bytes", "f": self._frame(value)}
        if kind is torch.Size:
            return {"t": "size", "v": [int(n) for n in value]}
        if kind in (list, tuple):
            return {"t": kind.__name__, "items": [self.encode(v, depth + 1) for v in value]}
        if kind is dict:
            return {"t": "dict", "items": [[self.encode(k, depth + 1), self.encode(v, depth + 1)]
                                           for k, v in value.items()]}
        if kind is torch.dtype:
            return {"t": "dtype", "v": str(value).removeprefix("torch.")}
        if kind is torch.device:
            return {"t": "device", "v": str(value)}
        if isinstance(value, np.ndarray):
            return self._array(value, by_value)
        if isinstance(value, np.generic):
            return {"t": "npscalar", "dtype": value.dtype.str, "f": self._frame(np.asarray(value).tobytes())}
        if isinstance(value, torch.Tensor):
            return self._tensor(value, by_value)
        if isinstance(value, BaseException):
            return self._exception(value)
        return {"t": "unsupported", "type": f"{kind.__module__}.{kind.__qualname__}"}

    def _frame(self, data) -> int:
        self.frames.append(data)
        return len(self.frames) - 1

    def _inside(self, start: int, shape, strides, itemsize: int):
        """(region, offset) when every byte the view touches lies in one region, else None."""
        if 0 in shape:
            return None
        low = start + sum((n - 1) * s for n, s in zip(shape, strides) if s < 0)
        high = start + sum((n - 1) * s for n, s in zip(shape, strides) if s > 0) + itemsize
        for index, (first, end) in enumerate(self.bounds):
            if first <= low and high <= end:
                return index, start - first
        return None

    def _array(self, array: np.ndarray, by_value: bool) -> dict:
        if array.dtype.kind not in "biufc":
            return {"t": "unsupported", "type": f"numpy array of dtype {array.dtype}"}
        base = {"t": "ndarray", "dtype": array.dtype.str, "shape": list(array.shape)}
        place = None if by_value else self._inside(array.ctypes.data, array.shape, array.strides, array.itemsize)
        if place is not None:
            return {**base, "region": place[0], "offset": place[1], "strides": list(array.strides),
                    "readonly": not array.flags.writeable}
        return {**base, "f": self._frame(np.ascontiguousarray(array).tobytes())}

    def _tensor(self, tensor, by_value: bool) -> dict:
        if tensor.layout != torch.strided or tensor.is_quantized:
            return {"t": "unsupported", "type": f"a {tensor.layout} tensor"}
        base = {"t": "tensor", "dtype": str(tensor.dtype).removeprefix("torch."), "shape": list(tensor.shape),
                "device": str(tensor.device), "requires_grad": tensor.requires_grad}
        if tensor.device.type == "meta":
            return base
        size = tensor.element_size()
        place = None
        if tensor.device.type == "cpu" and not by_value:
            place = self._inside(tensor.data_ptr(), tuple(tensor.shape), [s * size for s in tensor.stride()], size)
        if place is not None:
            return {**base, "region": place[0], "offset": place[1], "strides": list(tensor.stride())}
        plain = tensor.detach().resolve_conj().resolve_neg().cpu().contiguous()
        data = plain.reshape(-1).view(torch.uint8).numpy().tobytes() if plain.numel() else b""  # empty: any strides
        return {**base, "f": self._frame(data)}

    def _exception(self, error) -> dict:
        kind = type(error)
        try:
            message = str(error)
        except BaseException:  # noqa: B036
            message = ""
        args = [a for a in getattr(error, "args", ()) if type(a) in (str, int, float, bool)]
        if len(args) != len(getattr(error, "args", ())):
            args = None
        return {"t": "exception", "module": kind.__module__, "name": kind.__qualname__, "message": message,
                "args": args, "raised": error.__traceback__ is not None}
