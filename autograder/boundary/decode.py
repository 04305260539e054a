"""The referee's side of the data: arguments copied into regions, answers decoded strictly.

Runs in the referee (sent as source after wire.py). `Region.cover` groups the arguments' arrays
and tensors by the bytes they cover, so the student side gets one copy of each piece of memory
with every offset and stride as it was. `Decoder` turns the student's tagged data back into
objects: only the tags below, every field type-checked, every view bounds-checked against a
region of the referee's own memory. Nothing else is ever built: no pickle, no class by name
outside an allowlist of exception types, no object the student made.
"""
import ctypes
import re
import sys

import numpy as np
import torch

MAX_DEPTH = 32
MAX_DIGITS = 4300
MAX_DIMS = 32
NUMPY_DTYPE = re.compile(r"^[<>|=]?[biufc][0-9]{1,2}$")
DEVICE = re.compile(r"^(cpu|meta|cuda(:[0-9]{1,2})?)$")
TORCH_DTYPES = {name: value for name, value in vars(torch).items() if isinstance(value, torch.dtype)}
EXCEPTION_MODULES = ("builtins", "torch", "numpy")


class AnswerError(Exception):
    """The answer's kernel sent something the referee can't accept, or stopped answering."""


class Region:
    """A range of the referee's memory that one or more arguments cover (CPU), or a by-value
    copy of a tensor elsewhere (CUDA, meta) that no view may point into."""

    def __init__(self, low: int, high: int, owners: list, data: bytes | None = None):
        self.low, self.high, self.owners, self.data = low, high, owners, data

    @property
    def size(self) -> int:
        return self.high - self.low

    @property
    def memory(self) -> bool:
        return self.data is None

    @property
    def writable(self) -> bool:
        return self.memory and all(not isinstance(o, np.ndarray) or o.flags.writeable for o in self.owners)

    def snapshot(self) -> bytes:
        return ctypes.string_at(self.low, self.size) if self.memory and self.size else (self.data or b"")

    def write(self, data) -> None:
        if self.writable and len(data) == self.size and self.size and self.snapshot() != bytes(data):
            ctypes.memmove(self.low, bytes(data), self.size)

    @staticmethod
    def cover(objects: list) -> tuple[list, list]:
        """(regions, a description of each object in terms of them)."""
        spans, regions, descriptions = [], [], [None] * len(objects)
        for index, obj in enumerate(objects):
            if isinstance(obj, torch.Tensor) and obj.device.type != "cpu":
                data = (obj.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
                        if obj.device.type != "meta" and obj.numel() else bytes(obj.numel() * obj.element_size()))
                regions.append(Region(0, len(data), [obj], data))
                descriptions[index] = _describe(obj, len(regions) - 1, 0, contiguous=True)
                continue
            start, low, high = _extent(obj)
            spans.append((low, high, start, index))
        spans.sort()
        owner_of, current = {}, None
        for low, high, start, index in spans:
            if current is None or low >= current.high or low == high or current.size == 0:
                current = Region(low, high, [])
                regions.append(current)
            current.high = max(current.high, high)
            current.owners.append(objects[index])
            owner_of[index] = current
        for low, high, start, index in spans:
            region = owner_of[index]
            descriptions[index] = _describe(objects[index], regions.index(region), start - region.low)
        return regions, descriptions


def _extent(obj) -> tuple[int, int, int]:
    """(start, lowest byte, one past the highest byte) of the memory an array or tensor touches."""
    if isinstance(obj, np.ndarray):
        start, shape, strides, size = obj.ctypes.data, obj.shape, obj.strides, obj.itemsize
    else:
        size = obj.element_size()
        start, shape, strides = obj.data_ptr(), tuple(obj.shape), [s * size for s in obj.stride()]
    if 0 in shape:
        return start, start, start
    low = start + sum((n - 1) * s for n, s in zip(shape, strides) if s < 0)
    high = start + sum((n - 1) * s for n, s in zip(shape, strides) if s > 0) + size
    return start, low, high


def _describe(obj, region: int, offset: int, contiguous: bool = False) -> dict:
    if isinstance(obj, np.ndarray):
        return {"kind": "ndarray", "region": region, "offset": offset, "shape": list(obj.shape),
                "strides": list(obj.strides), "dtype": obj.dtype.str, "readonly": not obj.flags.writeable}
    strides = torch.empty(tuple(obj.shape)).stride() if contiguous else obj.stride()
    return {"kind": "tensor", "region": region, "offset": offset, "shape": list(obj.shape),
            "strides": list(strides), "dtype": str(obj.dtype).removeprefix("torch."), "device": str(obj.device),
            "requires_grad": obj.requires_grad, "leaf": obj.is_leaf, "param": isinstance(obj, torch.nn.Parameter)}


class _View:
    """Holds the memory's owners alive for as long as a view on it lives."""

    def __init__(self, interface: dict, owners: list):
        self.__array_interface__, self.owners = interface, owners


class Decoder:
    def __init__(self, frames: list, regions: list, arguments: list):
        self.frames, self.regions, self.arguments = frames, regions, arguments

    # -- changes the call made to its arguments -------------------------------------------------
    def apply_changes(self, reply: dict, objects: list, modules: list) -> None:
        changed = reply.get("regions", [])
        if not isinstance(changed, list) or len(changed) > min(len(self.regions), len(self.frames)):
            raise AnswerError("답안 kernel이 보낸 인자 변경 내용을 읽을 수 없어")
        split = len(self.frames) - len(changed)
        self.frames, frames = self.frames[:split], self.frames[split:]
        for index, data in zip(changed, frames):
            region = self.regions[_index(index, len(self.regions))]
            if region.memory:
                region.write(data)
        for key, state in _dict(reply.get("tensors", {})).items():
            tensor = objects[_index(int(key) if key.isdigit() else -1, len(objects))]
            if isinstance(tensor, torch.Tensor):
                self._tensor_changes(tensor, _dict(state))
        states = reply.get("modules", [])
        if not isinstance(states, list) or len(states) != len(modules):
            raise AnswerError("답안 kernel이 보낸 model 상태를 읽을 수 없어")
        for module, state in zip(modules, states):
            self._module_changes(module, _dict(state))

    def _tensor_changes(self, tensor, state: dict) -> None:
        if "data" in state:
            value = self.decode(state["data"])
            if not isinstance(value, torch.Tensor):
                raise AnswerError("답안 kernel이 보낸 tensor 값을 읽을 수 없어")
            with torch.no_grad():
                tensor.data = value.detach()
        wants = state.get("requires_grad")
        if isinstance(wants, bool) and wants != tensor.requires_grad and tensor.is_leaf:
            tensor.requires_grad_(wants)

    def _module_changes(self, module, state: dict) -> None:
        modes, submodules = state.get("training"), list(module.modules())
        if isinstance(modes, list) and len(modes) == len(submodules):
            for sub, mode in zip(submodules, modes):
                if isinstance(mode, bool):
                    sub.training = mode
        for name, entry in _dict(state.get("replaced", {})).items():
            entry = _dict(entry)
            prefix, _, leaf = name.rpartition(".")
            try:
                owner = module.get_submodule(prefix)
            except AttributeError:
                continue
            value = self.decode(entry.get("value"))
            if not isinstance(value, torch.Tensor) or not leaf.isidentifier():
                continue
            if entry.get("param") is True:
                setattr(owner, leaf, torch.nn.Parameter(value.detach(), requires_grad=entry.get("requires_grad") is True))
            elif leaf in owner._buffers:
                owner._buffers[leaf] = value.detach()

    # -- values ----------------------------------------------------------------------------------
    def decode(self, node, depth: int = 0):
        if depth > MAX_DEPTH:
            raise AnswerError("답안이 돌려준 값이 너무 깊게 중첩돼 있어")
        node = _dict(node)
        tag = node.get("t")
        if tag == "none":
            return None
        if tag == "bool":
            return _typed(node.get("v"), bool)
        if tag == "int":
            text = _typed(node.get("v"), str)
            if len(text) > MAX_DIGITS or not re.fullmatch(r"-?[0-9]+", text):
                raise AnswerError("답안이 돌려준 정수를 읽을 수 없어")
            return int(text)
        if tag == "float":
            return _float(node.get("v"))
        if tag == "complex":
            return complex(_float(node.get("re")), _float(node.get("im")))
        if tag == "str":
            return _typed(node.get("v"), str)
        if tag == "bytes":
            return bytes(self._frame(node.get("f")))
        if tag in ("list", "tuple"):
            items = [self.decode(item, depth + 1) for item in _typed(node.get("items"), list)]
            return items if tag == "list" else tuple(items)
        if tag == "size":
            return torch.Size(_shape(node.get("v")))
        if tag == "dict":
            pairs = _typed(node.get("items"), list)
            try:
                return {self.decode(_pair(p)[0], depth + 1): self.decode(_pair(p)[1], depth + 1) for p in pairs}
            except TypeError:
                raise AnswerError("답안이 돌려준 dict의 key를 쓸 수 없어") from None
        if tag == "dtype":
            return _torch_dtype(node.get("v"))
        if tag == "device":
            return torch.device(_device(node.get("v")))
        if tag == "arg":
            return self.arguments[_index(node.get("i"), len(self.arguments))]
        if tag == "ndarray":
            return self._array(node)
        if tag == "npscalar":
            dtype = _numpy_dtype(node.get("dtype"))
            data = self._frame(node.get("f"))
            if len(data) != dtype.itemsize:
                raise AnswerError("답안이 돌려준 NumPy scalar를 읽을 수 없어")
            return np.frombuffer(bytes(data), dtype=dtype)[0]
        if tag == "tensor":
            return self._tensor(node)
        if tag == "exception":
            return _exception(node)
        if tag == "unsupported":
            raise AnswerError(f"답안이 채점할 수 없는 값을 돌려줬어 ({str(node.get('type'))[:200]}): "
                              "ndarray, tensor, 수, 문자열, list/tuple/dict, 예외만 돌려줄 수 있어")
        raise AnswerError("답안 kernel이 알 수 없는 값을 보냈어")

    def _frame(self, index) -> bytearray:
        return self.frames[_index(index, len(self.frames))]

    def _view_memory(self, node: dict, shape, strides, itemsize: int) -> tuple:
        """(region, absolute address) of a view, after checking every byte it touches is inside."""
        region = self.regions[_index(node.get("region"), len(self.regions))]
        offset = _typed(node.get("offset"), int)
        if len(strides) != len(shape) or not all(type(s) is int for s in strides):
            raise AnswerError("답안이 돌려준 view의 stride를 읽을 수 없어")
        if 0 not in shape:
            low = offset + sum((n - 1) * s for n, s in zip(shape, strides) if s < 0)
            high = offset + sum((n - 1) * s for n, s in zip(shape, strides) if s > 0) + itemsize
            if low < 0 or high > region.size:
                raise AnswerError("답안이 돌려준 view가 인자의 메모리 밖을 가리켜")
        elif not 0 <= offset <= region.size:
            raise AnswerError("답안이 돌려준 view가 인자의 메모리 밖을 가리켜")
        return region, offset

    def _array(self, node: dict) -> np.ndarray:
        dtype, shape = _numpy_dtype(node.get("dtype")), _shape(node.get("shape"))
        if "region" in node:
            strides = _typed(node.get("strides"), list)
            region, offset = self._view_memory(node, shape, strides, dtype.itemsize)
            if not region.memory:  # a copy of a GPU tensor's bytes: the view is taken by value
                copy = bytearray(region.data)
                start = np.frombuffer(copy, dtype=np.uint8).ctypes.data if copy else 0
                interface = {"data": (start + offset, True), "shape": tuple(shape), "strides": tuple(strides),
                             "typestr": dtype.str, "version": 3}
                return np.asarray(_View(interface, [copy])).copy()
            readonly = node.get("readonly") is True or not region.writable
            interface = {"data": (region.low + offset, readonly), "shape": tuple(shape), "strides": tuple(strides),
                         "typestr": dtype.str, "version": 3}
            return np.asarray(_View(interface, region.owners))
        data = self._frame(node.get("f"))
        if len(data) != _count(shape) * dtype.itemsize:
            raise AnswerError("답안이 돌려준 ndarray의 크기가 맞지 않아")
        return np.frombuffer(bytearray(data), dtype=dtype).reshape(shape)

    def _tensor(self, node: dict):
        dtype, shape = _torch_dtype(node.get("dtype")), _shape(node.get("shape"))
        device, requires_grad = _device(node.get("device")), _typed(node.get("requires_grad"), bool)
        if requires_grad and not (dtype.is_floating_point or dtype.is_complex):
            raise AnswerError("정수 tensor는 requires_grad를 가질 수 없어")
        itemsize = torch.empty(0, dtype=dtype).element_size()
        if device == "meta":
            tensor = torch.empty(shape, dtype=dtype, device="meta")
        elif "region" in node:
            strides = _typed(node.get("strides"), list)
            region, offset = self._view_memory(node, shape, [s * itemsize for s in strides], itemsize)
            if offset % itemsize or not region.memory:
                raise AnswerError("답안이 돌려준 tensor view를 만들 수 없어")
            memory = np.asarray(_View({"data": (region.low, False), "shape": (region.size,), "typestr": "|u1",
                                       "version": 3}, region.owners))
            storage = torch.from_numpy(memory).untyped_storage()
            tensor = torch.empty(0, dtype=dtype).set_(storage, offset // itemsize, shape, strides)
        else:
            data = self._frame(node.get("f"))
            if len(data) != _count(shape) * itemsize:
                raise AnswerError("답안이 돌려준 tensor의 크기가 맞지 않아")
            flat = torch.frombuffer(bytearray(data), dtype=torch.uint8) if data else torch.empty(0, dtype=torch.uint8)
            tensor = flat.view(dtype).reshape(shape) if data else torch.empty(shape, dtype=dtype)
            if device != "cpu":
                if not torch.cuda.is_available():
                    raise AnswerError("답안이 GPU tensor를 돌려줬는데 채점 kernel에 GPU가 없어")
                tensor = tensor.to(device)
        return tensor.requires_grad_() if requires_grad else tensor


def _exception(node: dict) -> BaseException:
    """The exception the answer raised or returned, as an instance of the very class (when it is a
    builtin, torch or numpy exception) with its message; any other becomes an AnswerError."""
    module, name = _typed(node.get("module"), str), _typed(node.get("name"), str)
    message = _typed(node.get("message"), str)[:20_000]
    args = node.get("args")
    kind = None
    if (module == "builtins" or module.split(".")[0] in EXCEPTION_MODULES) and module in sys.modules:
        kind = sys.modules[module]
        for part in name.split("."):
            kind = vars(kind).get(part) if part.isidentifier() and hasattr(kind, "__dict__") else None
    if isinstance(kind, type) and issubclass(kind, Exception):
        try:
            if isinstance(args, list) and all(type(a) in (str, int, float, bool) for a in args):
                error = kind(*args)
            else:
                error = kind(message)
            if str(error) == message:
                return error
        except Exception:
            pass
    return AnswerError(f"{name}: {message}")


def _dict(value) -> dict:
    return _typed(value, dict)


def _typed(value, kind):
    if type(value) is not kind:
        raise AnswerError(f"답안 kernel이 보낸 데이터의 형식이 틀렸어 ({kind.__name__}이어야 해)")
    return value


def _index(value, length: int) -> int:
    if type(value) is not int or not 0 <= value < length:
        raise AnswerError("답안 kernel이 보낸 번호가 범위 밖이야")
    return value


def _pair(value) -> list:
    value = _typed(value, list)
    if len(value) != 2:
        raise AnswerError("답안이 돌려준 dict를 읽을 수 없어")
    return value


def _float(value) -> float:
    text = _typed(value, str)
    if len(text) > 64:
        raise AnswerError("답안이 돌려준 실수를 읽을 수 없어")
    try:
        return float(text)
    except ValueError:
        raise AnswerError("답안이 돌려준 실수를 읽을 수 없어") from None


def _shape(value) -> tuple:
    value = _typed(value, list)
    if len(value) > MAX_DIMS or not all(type(n) is int and 0 <= n < 2**40 for n in value):
        raise AnswerError("답안이 돌려준 shape를 읽을 수 없어")
    return tuple(value)


def _count(shape) -> int:
    count = 1
    for n in shape:
        count *= n
    return count


def _numpy_dtype(value) -> np.dtype:
    text = _typed(value, str)
    if not NUMPY_DTYPE.match(text):
        raise AnswerError(f"답안이 돌려준 dtype {text[:40]!r}은(는) 받을 수 없어")
    try:
        return np.dtype(text)
    except TypeError:
        raise AnswerError(f"답안이 돌려준 dtype {text[:40]!r}은(는) 받을 수 없어") from None


def _torch_dtype(value) -> torch.dtype:
    text = _typed(value, str)
    if text not in TORCH_DTYPES:
        raise AnswerError(f"답안이 돌려준 dtype {text[:40]!r}은(는) 받을 수 없어")
    return TORCH_DTYPES[text]


def _device(value) -> str:
    text = _typed(value, str)
    if not DEVICE.match(text):
        raise AnswerError(f"답안이 돌려준 device {text[:40]!r}은(는) 받을 수 없어")
    return text
