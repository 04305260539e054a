"""Hostile notebooks (issue 16): each answers nothing correctly and tries to earn points anyway.

Every answer function is a wrong stub; the tricks ride in the answer cells' top-level code and
print a line ("forgery armed: ...") that the tests look for, so no test can pass because its
trick crashed. Each family of forgery must earn no test's points, and no hidden-test line may
reach results.json or feedback.html in any encoding. All notebooks are graded once, in the
module fixture, on the warm engine in its real sandbox.
"""
import base64
import bz2
import html
import json
import lzma
import re
import zlib

import pytest

from autograder import course as ag_course_module
from autograder.views.feedback import render_feedback
from autograder_fixtures import grade_each, submission

pytestmark = pytest.mark.slow

ANSWERS = ("shares_memory", "numpy_to_tensor_shared", "numpy_to_tensor_copy", "to_numpy", "predict_numpy",
           "numpy_error")
# Wrong for every test: each raises before returning anything.
WRONG = {name: f"def {name}(*args):\n    raise NotImplementedError('{name}: no answer')\n" for name in ANSWERS}
ARMED = "forgery armed: "

# Every top-level statement of a cell in `try: ... except BaseException: pass`: a test that
# fails at its first line ends without an error. Used by the tricks that rewrite test cells.
SWALLOW = '''
import ast as _ast

class _Swallow(_ast.NodeTransformer):
    def visit_Module(self, node):
        node.body = [_ast.Try(body=[statement], orelse=[], finalbody=[], handlers=[_ast.ExceptHandler(
                         type=_ast.Name("BaseException", _ast.Load()), name=None, body=[_ast.Pass()])])
                     for statement in node.body]
        return _ast.fix_missing_locations(node)

def _swallowed(source):
    try:
        return _ast.unparse(_Swallow().visit(_ast.parse(source))) + "\\n"
    except SyntaxError:
        return source
'''

# ---- 1. hooks into IPython's own machinery -------------------------------------------------
EVENT_HOOKS = '''
_shell = get_ipython()

def _quiet(info):  # before each cell: no traceback shown
    _shell.showtraceback = lambda *args, **kwargs: None

def _forgive(result):  # after each cell, before any check: the error is gone, and so is the patch
    _shell.__dict__.pop("showtraceback", None)
    result.error_in_exec = result.error_before_exec = None

_shell.events.register("pre_run_cell", _quiet)
_shell.events.register("post_run_cell", _forgive)
print("forgery armed: pre_run_cell and post_run_cell callbacks", len(_shell.events.callbacks["post_run_cell"]))
'''

COMPILER_CLASS = SWALLOW + '''
from IPython.core.compilerop import CachingCompiler

_ast_parse = CachingCompiler.ast_parse

def _lenient_ast_parse(self, source, filename="<unknown>", symbol="exec"):
    return _Swallow().visit(_ast_parse(self, source, filename, symbol))

CachingCompiler.ast_parse = _lenient_ast_parse
print("forgery armed: CachingCompiler.ast_parse", CachingCompiler.ast_parse.__name__)
'''

TRANSFORMER_CLASS = SWALLOW + '''
from IPython.core.inputtransformer2 import TransformerManager

_transform_cell = TransformerManager.transform_cell

def _lenient_transform_cell(self, cell):
    return _swallowed(_transform_cell(self, cell))

TransformerManager.transform_cell = _lenient_transform_cell
print("forgery armed: TransformerManager.transform_cell", _swallowed("assert False").split()[0])
'''

TRANSFORMER_LISTS = SWALLOW + '''
_shell = get_ipython()

def _lenient_lines(lines):
    return _swallowed("".join(lines)).splitlines(keepends=True)

class _NoAsserts(_ast.NodeTransformer):
    def visit_Assert(self, node):
        return _ast.Pass()

_shell.input_transformer_manager.line_transforms.append(_lenient_lines)
_shell.input_transformers_post.append(_lenient_lines)
_shell.ast_transformers.append(_NoAsserts())
print("forgery armed: line_transforms, input_transformers_post, ast_transformers",
      len(_shell.input_transformer_manager.line_transforms))
'''

# ---- 2. forging the kernel's replies -------------------------------------------------------
# Every later execute_request is answered `ok` without running its code; the user expressions
# (where the grader's checks ride) are evaluated honestly, so every check finds nothing changed.
REPLY_HANDLER = '''
_kernel = get_ipython().kernel

async def _forged_execute_request(stream, ident, parent):
    content = parent["content"]
    if not content.get("silent", False):
        _kernel.execution_count += 1
    reply = {"status": "ok", "execution_count": _kernel.execution_count, "payload": [],
             "user_expressions": get_ipython().user_expressions(content.get("user_expressions") or {})}
    _kernel.session.send(stream, "execute_reply", reply, parent, metadata={"status": "ok"}, ident=ident)

_kernel.shell_handlers["execute_request"] = _forged_execute_request
print("forgery armed: kernel.shell_handlers['execute_request']", _forged_execute_request.__name__)
'''

# The next request's msg_id is this one's plus one (jupyter_client numbers its messages). From
# inside a cell: a signed ok reply and idle status for this request, then, once the grader has
# moved on, the same for the next one (the test), before the kernel gets to run it.
REPLY_AHEAD = '''
import sys as _sys
import time as _time

def _forge_ahead():
    kernel = get_ipython().kernel
    parent = kernel.get_parent("shell")
    ident = kernel._parent_ident["shell"]
    stream = (kernel.shell_channel_thread.manager.get_subshell_to_shell_channel_socket(None)
              if kernel._supports_kernel_subshells else kernel.shell_stream)
    session, pid, count = parent["header"]["msg_id"].rsplit("_", 2)
    expressions = get_ipython().user_expressions(parent["content"].get("user_expressions") or {})
    following = {**parent, "header": {**parent["header"], "msg_id": f"{session}_{pid}_{int(count) + 1}"}}
    print("forgery armed: ok replies for", parent["header"]["msg_id"], "and", following["header"]["msg_id"])
    _sys.stdout.flush()
    for request, answers, pause in ((parent, expressions, 0.15), (following, {}, 0.25)):
        reply = {"status": "ok", "execution_count": kernel.execution_count, "payload": [], "user_expressions": answers}
        kernel.session.send(stream, "execute_reply", reply, request, metadata={"status": "ok"}, ident=ident)
        kernel.session.send(kernel.iopub_socket, "status", {"execution_state": "idle"}, request,
                            ident=kernel._topic("status"))
        _time.sleep(pause)
'''

DO_EXECUTE_CLASS = '''
import ipykernel.ipkernel

async def _ok_without_running(self, code, silent, store_history=True, user_expressions=None, allow_stdin=False, **kwargs):
    return {"status": "ok", "execution_count": self.execution_count, "payload": [],
            "user_expressions": self.shell.user_expressions(user_expressions or {})}

ipykernel.ipkernel.IPythonKernel.do_execute = _ok_without_running
print("forgery armed: IPythonKernel.do_execute", _ok_without_running.__name__)
'''

# ---- 3. disarming the guard ----------------------------------------------------------------
DISARM = SWALLOW + '''
import json as _json
import sys as _sys

_disarmed = []
for _name, _module in list(_sys.modules.items()):
    if _name.startswith("_autograder") or _name.startswith("autograder"):
        for _attr, _value in list(vars(_module).items()):
            if callable(_value) and not isinstance(_value, type) and not _attr.startswith("__"):
                setattr(_module, _attr, lambda *args, **kwargs: _json.dumps({"changed": [], "shadowed": [], "pinned": []}))
                _disarmed.append(f"{_name}.{_attr}")
get_ipython().ast_transformers.append(_Swallow())
print("forgery armed: disarmed", len(_disarmed), "functions", sorted(_disarmed)[:3])
'''

# ---- 4. hiding failures on the way out -----------------------------------------------------
HIDE_FAILURES = '''
from IPython.core.interactiveshell import ExecutionResult

ExecutionResult.success = property(lambda self: True)

class _NoErrors:
    """The display hook's session: every message but 'error' goes out, and any status is ok."""
    def __init__(self, session):
        self._session = session
    def __getattr__(self, name):
        return getattr(self._session, name)
    def send(self, stream, msg_or_type, content=None, *args, **kwargs):
        if msg_or_type == "error":
            return None
        if isinstance(content, dict) and content.get("status") == "error":
            content = {**content, "status": "ok"}
        return self._session.send(stream, msg_or_type, content, *args, **kwargs)

_display = get_ipython().displayhook
_display._trait_values["session"] = _NoErrors(_display.session)  # past the trait's type check
print("forgery armed: ExecutionResult.success and the display hook's session", ExecutionResult(None).success)
'''

# ---- 5. objects that lie -------------------------------------------------------------------
LIAR = '''
class Liar:
    """Equal to everything, true, any attribute or call another Liar; claims the class it is given."""
    def __init__(self, claims=object, **answers):
        object.__setattr__(self, "_claims", claims)
        object.__setattr__(self, "_answers", answers)
    @property
    def __class__(self):
        return object.__getattribute__(self, "_claims")
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = object.__hash__
    def __bool__(self): return True
    def __len__(self): return 2
    def __iter__(self): return iter((Liar(), Liar()))
    def __getitem__(self, key): return Liar()
    def __setitem__(self, key, value): pass
    def __call__(self, *args, **kwargs): return Liar()
    def __getattr__(self, name): return Liar()
    def __repr__(self): return "Liar()"
    def __array_function__(self, func, types, args, kwargs):
        return object.__getattribute__(self, "_answers").get(func.__name__, True)
'''

LIARS = LIAR + '''
import numpy as _np
import torch as _torch
print("forgery armed: Liar objects", isinstance(Liar(bool), bool), Liar() == 1)
'''
LIAR_STUBS = {
    "shares_memory": "def shares_memory(tensor, array):\n    return Liar(bool)\n",
    "numpy_to_tensor_shared": "def numpy_to_tensor_shared(array):\n    return Liar(_torch.Tensor)\n",
    "numpy_to_tensor_copy": "def numpy_to_tensor_copy(array):\n    return Liar(_torch.Tensor, shares_memory=False)\n",
    "to_numpy": "def to_numpy(tensor):\n    tensor.data.zero_()\n    return Liar(_np.ndarray)\n",
    "predict_numpy": "def predict_numpy(model, batch):\n    return Liar(_np.ndarray)\n",
    "numpy_error": "def numpy_error(tensor):\n    return Liar(RuntimeError)\n",
}

LYING_SUBCLASSES = LIAR + """
import numpy as _np
import torch as _torch

class LyingArray(_np.ndarray):
    \"\"\"An ndarray of zeros that says it matches anything numpy is asked about.\"\"\"
    def __array_function__(self, func, types, args, kwargs):
        return func.__name__ != "shares_memory" or not getattr(self, "_fresh", False)
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = None
    def __bool__(self): return True
    def tolist(self): return Liar()
    shape = property(lambda self: Liar())
    dtype = property(lambda self: Liar())

class LyingTensor(_torch.Tensor):
    \"\"\"A tensor of zeros whose every torch function answers as the test hopes.\"\"\"
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("tolist", "item", "__eq__", "equal", "allclose", "__get__", "__getitem__"):
            return Liar()
        if name == "numpy":
            array = _np.zeros(3).view(LyingArray)
            array._fresh = getattr(args[0], "_fresh", False)
            return array
        if name == "__setitem__":
            return None
        with _torch._C.DisableTorchFunctionSubclass():
            return func(*args, **(kwargs or {}))

class LyingFloat(_np.float64):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = _np.float64.__hash__
    def __array_function__(self, func, types, args, kwargs): return True

def _lying_tensor(fresh):
    tensor = _torch.zeros(3).as_subclass(LyingTensor)
    tensor._fresh = fresh
    return tensor

print("forgery armed: LyingArray, LyingTensor, LyingFloat", bool(_np.allclose(_np.zeros(3).view(LyingArray), 1)),
      _lying_tensor(False).tolist() == [9])
"""
SUBCLASS_STUBS = {
    "shares_memory": "def shares_memory(tensor, array):\n    return LyingFloat(1.0)\n",
    "numpy_to_tensor_shared": "def numpy_to_tensor_shared(array):\n    return _lying_tensor(False)\n",
    "numpy_to_tensor_copy": "def numpy_to_tensor_copy(array):\n    return _lying_tensor(True)\n",
    "to_numpy": "def to_numpy(tensor):\n    tensor.data.zero_()\n    return _np.zeros(3).view(LyingArray)\n",
    "predict_numpy": "def predict_numpy(model, batch):\n    return _np.zeros(3).view(LyingArray)\n",
    "numpy_error": "def numpy_error(tensor):\n    return LyingFloat(0.0)\n",
}

# Stubs that return plain but wrong data (zeros; the input changed), for the tricks that lie
# from the outside: a mode, patched numpy internals, patched C types.
ZERO_STUBS = {
    "shares_memory": "def shares_memory(tensor, array):\n    return False\n",
    "numpy_to_tensor_shared": "def numpy_to_tensor_shared(array):\n    return torch.zeros(array.shape)\n",
    "numpy_to_tensor_copy": "def numpy_to_tensor_copy(array):\n    return torch.zeros(array.shape)\n",
    "to_numpy": "def to_numpy(tensor):\n    tensor.data.zero_()\n    return np.zeros(tuple(tensor.shape))\n",
    "predict_numpy": "def predict_numpy(model, batch):\n    return np.zeros((batch.shape[0], model.out_features))\n",
    "numpy_error": "def numpy_error(tensor):\n    return None\n",
}
ZEROS = """
import numpy as _np
import torch as _torch
"""

FUNCTION_MODE = LIAR + ZEROS + '''
from torch.overrides import TorchFunctionMode

class _Agreeable(TorchFunctionMode):
    """Left entered: every comparison a test makes through torch says yes."""
    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in ("tolist", "item", "numpy", "__eq__", "eq", "equal", "allclose"):
            return Liar()
        if name == "__get__" and getattr(func, "__self__", None) is not None and func.__self__.__name__ == "requires_grad":
            return True
        return func(*args, **(kwargs or {}))

_agreeable = _Agreeable()
_agreeable.__enter__()
print("forgery armed: TorchFunctionMode left entered", _torch.ones(2).tolist() == [5, 5], _torch.ones(1).requires_grad)
'''

NUMPY_INTERNALS = ZEROS + '''
import numpy._core.numeric as _numeric

_numeric.isclose = lambda a, b, *args, **kwargs: _np.ones(_np.broadcast(_np.asarray(a), _np.asarray(b)).shape, dtype=bool)
print("forgery armed: numpy._core.numeric.isclose", _np.allclose(_np.zeros(2), _np.ones(2)), _np.allclose is _numeric.allclose)
'''

C_TYPES = LIAR + ZEROS + '''
import ctypes as _ctypes
import gc as _gc

_IMMUTABLE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE
_FLAGS_OFFSET = 21 * _ctypes.sizeof(_ctypes.c_void_p)  # PyTypeObject.tp_flags

def _set_method(cls, name, function):
    """`cls.name = function` on a C type: through its dict, or with its immutable flag lifted."""
    flags = _ctypes.c_ulong.from_address(id(cls) + _FLAGS_OFFSET)
    assert flags.value == cls.__flags__, "tp_flags not where expected"
    flags.value &= ~_IMMUTABLE
    try:
        setattr(cls, name, function)
    finally:
        flags.value |= _IMMUTABLE

_gc.get_referents(_torch._C.TensorBase.__dict__)[0]["tolist"] = lambda self: Liar()
_gc.get_referents(_torch._C.TensorBase.__dict__)[0]["item"] = lambda self: Liar()
_ctypes.pythonapi.PyType_Modified(_ctypes.py_object(_torch._C.TensorBase))
_gc.get_referents(_np.ndarray.__dict__)[0]["tolist"] = lambda self: Liar()
_ctypes.pythonapi.PyType_Modified(_ctypes.py_object(_np.ndarray))
for _cls in (_np.ndarray, _np.generic):
    _set_method(_cls, "__eq__", lambda self, other: True)
    _set_method(_cls, "__ne__", lambda self, other: False)
print("forgery armed: TensorBase.tolist/item, ndarray.tolist, ndarray/generic __eq__",
      _torch.ones(2).tolist() == [7], _np.zeros(2) == 5, _np.float32(0) == 5)
'''

# ---- 6. hidden tests leak ------------------------------------------------------------------
LEAK = '''
import base64 as _base64
import gc as _gc
import inspect as _inspect
import linecache as _linecache
import sys as _sys
import types as _types
import zlib as _zlib

_seen, _sent, _sent_visible = {}, set(), set()

def _hidden_regions(text):
    lines, inside = [], False
    for line in str(text).splitlines():
        inside = inside or "BEGIN HIDDEN" in line
        if inside:
            lines.append(line.strip())
        inside = inside and "END HIDDEN" not in line
    return lines

def _snoop():
    found = []
    namespace = get_ipython().user_ns
    found += list(namespace.get("In", [])) + list(namespace.get("_ih", []))
    for info in _inspect.stack():
        found += info.code_context or []
        try:
            found.append(_inspect.getsource(info.frame.f_code))
        except (OSError, TypeError):
            pass
        found += [value for value in list(info.frame.f_locals.values()) + list(info.frame.f_globals.values())
                  if isinstance(value, str)]
    frame = _sys._getframe()
    while frame is not None:
        found += _linecache.getlines(frame.f_code.co_filename)
        frame = frame.f_back
    for obj in _gc.get_objects():
        if isinstance(obj, _types.FunctionType) and "<" in obj.__code__.co_filename:
            found += _linecache.getlines(obj.__code__.co_filename)
    for filename, entry in list(_linecache.cache.items()):
        if isinstance(entry, tuple) and len(entry) > 2 and filename.startswith("<"):
            found += entry[2]
    found.append("\\n".join(found))
    for text in found:
        for line in _hidden_regions(text):
            _seen.setdefault(line)

def _leak(name):
    """Fail with what was seen: a test with no hidden part shows its message on the feedback page,
    so it carries what no such test carried yet; any other test, what no test carried yet."""
    _snoop()
    current = list(get_ipython().user_ns.get("_ih") or [""])[-1]
    sent = _sent_visible if "BEGIN HIDDEN" not in current else _sent
    fresh = [line for line in _seen if line not in sent][:50]
    _sent.update(fresh)
    sent.update(fresh)
    packed = _base64.b64encode(_zlib.compress("\\n".join(fresh).encode(), 9)).decode()[:1200]
    plain = " | ".join(fresh[:6])[:400]
    print(f"LEAK {name} {len(_seen)} lines seen {packed}\\n{plain}")
    raise AssertionError(f"LEAK {name} {len(_seen)} lines seen z:{packed} p:{plain}")

print("forgery armed: hidden-test snooping", _hidden_regions("x\\n### BEGIN HIDDEN TESTS\\ny\\n### END HIDDEN TESTS\\nz"))
'''
LEAK_STUBS = {name: f"def {name}(*args):\n    _leak({name!r})\n" for name in ANSWERS}


def hostile(first: str, stubs: dict | None = None, every: str = "") -> dict:
    """Answer cells: `stubs` (default: every function raises), `first` after the first answer's
    def, `every` at the end of each answer cell."""
    stubs = stubs or WRONG
    return {name: stubs[name] + (first if name == ANSWERS[0] else "") + every for name in ANSWERS}


FAMILIES = {
    "ipython_hooks": {
        "event_callbacks": hostile(EVENT_HOOKS),
        "compiler_class": hostile(COMPILER_CLASS),
        "transformer_class": hostile(TRANSFORMER_CLASS),
        "transformer_lists": hostile(TRANSFORMER_LISTS),
    },
    "forged_replies": {
        "shell_handler": hostile(REPLY_HANDLER),
        "replies_ahead": hostile(REPLY_AHEAD, every="\n_forge_ahead()\n"),
        "do_execute_class": hostile(DO_EXECUTE_CLASS),
    },
    "disarmed_guard": {
        "guard_functions": hostile(DISARM),
    },
    "hidden_failures": {
        "success_and_error_filter": hostile(HIDE_FAILURES),
    },
    "lying_objects": {
        "liars": hostile(LIARS, LIAR_STUBS),
        "lying_subclasses": hostile(LYING_SUBCLASSES, SUBCLASS_STUBS),
        "function_mode": hostile(FUNCTION_MODE, ZERO_STUBS),
        "numpy_internals": hostile(NUMPY_INTERNALS, ZERO_STUBS),
        "c_types": hostile(C_TYPES, ZERO_STUBS),
    },
    "leak": {
        "hidden_lines": hostile(LEAK, LEAK_STUBS),
    },
}
CASES = {case: answers for family in FAMILIES.values() for case, answers in family.items()}
# Tricks that stop the kernel from running requests at all: where that leaves the grader waiting,
# waiting less keeps this file fast (the tricks take effect at the first test either way).
SHORT = dict(cell_timeout=1.5, notebook_timeout=4.0, interrupt_grace=1.0)
LIMITS = {"shell_handler": SHORT, "do_execute_class": SHORT, "guard_functions": SHORT}


@pytest.fixture(scope="module")
def graded(ag_assignment):
    """Every notebook graded once, a few at a time on the session's warm engine."""
    return grade_each(ag_assignment, {case: (submission(**answers), LIMITS.get(case, {}))
                                      for case, answers in CASES.items()})


def outputs(graded_case, grade_id: str) -> list:
    """The outputs of the cell `grade_id`, as the graded notebook holds them."""
    cell = next(c for c in graded_case.notebook["cells"]
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)
    return cell.get("outputs", [])


def printed(graded_case, grade_id: str) -> str:
    return "".join(o.get("text", "") for o in outputs(graded_case, grade_id) if o.get("output_type") == "stream")


def earnings(graded, family: str) -> dict:
    """For each notebook of the family: its score and the tests that passed or scored."""
    found = {}
    for case in FAMILIES[family]:
        results = graded[case].results
        assert ARMED in printed(graded[case], ANSWERS[0]), f"{case}: the trick did not run"
        failed = [name for name in ANSWERS if any(o.get("output_type") == "error" for o in outputs(graded[case], name))]
        assert not failed, f"{case}: answer cells {failed} raised: the notebook is broken, not hostile"
        assert results["extra_data"]["status"] in ("graded", "provisional"), (case, results["output"])
        found[case] = (results["score"], {t["name"]: t["score"] for t in results["tests"]
                                          if t["score"] or t["status"] == "passed"})
    return found


def assert_nothing_earned(graded, family: str) -> None:
    found = earnings(graded, family)
    assert all(score == 0 and not tests for score, tests in found.values()), found


def test_hooks_into_ipython_machinery_earn_nothing(graded):
    """Event callbacks, patched compiler and transformer classes, extra transformers: no test's points."""
    assert_nothing_earned(graded, "ipython_hooks")


def test_forged_kernel_replies_earn_nothing(graded):
    """Signed ok replies forged from inside the kernel, ahead of the test or for every request: no points."""
    assert_nothing_earned(graded, "forged_replies")


def test_a_disarmed_guard_earns_nothing(graded):
    """A notebook that replaces the grader's in-kernel functions and then patches freely earns no points."""
    assert_nothing_earned(graded, "disarmed_guard")


def test_failures_hidden_on_the_way_out_earn_nothing(graded):
    """ExecutionResult.success forced true and error messages dropped at the display socket: no points."""
    assert_nothing_earned(graded, "hidden_failures")


def test_objects_that_lie_earn_nothing(graded):
    """Lying objects, subclasses, a torch function mode, patched numpy internals and C types: no points."""
    assert_nothing_earned(graded, "lying_objects")


def test_stubs_that_snoop_on_hidden_tests_earn_nothing(graded):
    """Stubs that read the hidden tests while they run and fail with them earn no points."""
    assert_nothing_earned(graded, "leak")


# ---- what reaches the pages ----------------------------------------------------------------
BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}")


def _unpacked(raw: bytes):
    """`raw` as it is and through zlib, gzip, bz2 and lzma (a cut stream gives what it has)."""
    yield raw
    for make in (zlib.decompressobj, lambda: zlib.decompressobj(wbits=31), bz2.BZ2Decompressor,
                 lzma.LZMADecompressor):
        try:
            yield make().decompress(raw)
        except Exception:  # not that format
            pass


def readings(text: str):
    """`text`, html-unescaped, and everything any base64 run in it decodes and decompresses to."""
    yield text
    yield html.unescape(text)
    for match in BASE64_RUN.finditer(html.unescape(text)):
        run = match.group()
        for start in range(4):
            blob = run[start:]
            blob = blob[:len(blob) // 4 * 4]
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    raw = decode(blob)
                except ValueError:
                    continue
                for data in _unpacked(raw):
                    yield data.decode("utf-8", "replace")


def strings(value):
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def hidden_only_lines(assignment) -> set:
    """Lines of the hidden tests (over 12 characters) that appear nowhere in what students received."""
    received = "\n".join(spec.visible_source for spec in assignment.cells)
    hidden = {line.strip() for spec in assignment.cells if spec.hidden
              for line in set(spec.source.split("\n")) - set(spec.visible_source.split("\n"))}
    return {line for line in hidden if len(line) > 12 and "HIDDEN TESTS" not in line and line not in received}


def test_no_hidden_test_line_reaches_feedback_or_results(graded, ag_assignment, ag_course):
    """No hidden-test line reaches results.json or feedback.html, plain, escaped, base64 or compressed."""
    secrets = hidden_only_lines(ag_assignment)
    assert len(secrets) > 50
    leak = graded["hidden_lines"]
    assert ARMED in printed(leak, ANSWERS[0]), "the snooping stubs did not run"
    visible = [t for t in leak.results["tests"]
               if ag_assignment.cell(t["name"]).is_test and not t["extra_data"]["hidden"]]
    assert visible and all("LEAK" in t["output"] for t in visible), "the stubs' messages should reach visible tests"
    language = ag_course_module.feedback_language(ag_course[0])
    leaked = {}
    for case, done in graded.items():
        pages = {"results.json": [json.dumps(done.results, indent=1, ensure_ascii=False), *strings(done.results)],
                 "feedback.html": [render_feedback(done.results, language, ag_assignment.notebook_id)]}
        for page, texts in pages.items():
            for text in texts:
                for reading in readings(text):
                    for line in secrets:
                        if line in reading:
                            leaked.setdefault(f"{case} {page}", set()).add(line)
    assert not leaked, "; ".join(f"{where}: {len(lines)} of {len(secrets)} hidden lines, e.g. {min(lines)!r}"
                                 for where, lines in leaked.items())
