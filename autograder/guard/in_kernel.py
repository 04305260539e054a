"""Runs INSIDE the grading kernel (sent as source by guard.py; never imported by the grader).

Before any student code runs, `install` snapshots the identity of everything a test's verdict
leans on: the public functions of numpy, torch and their testing modules, every attribute of
key classes (torch.Tensor, nn.Module, IPython's shell and the kernel), builtins, sys hooks and
IPython's transformer and event lists. `check` compares against the snapshot, puts back what
changed, and reports it. `pin` records the names a read-only cell (the setup cell) binds in
the notebook's namespace, so `np = FakeNumpy()` is caught too. `shield` moves aside, for the
length of one test, notebook globals that shadow a builtin the test uses (`isinstance = ...`).

Everything it calls is captured at install time, and comparisons use `is`, which no object
can overload. Results go back to the grader as one JSON string.
"""
import builtins
import importlib
import json
import platform
import sys

from IPython import get_ipython

_dumps, _vars, _getattr, _setattr, _delattr = json.dumps, vars, getattr, setattr, delattr
_callable, _list, _sorted, _isinstance, _type = callable, list, sorted, isinstance, type
# Names ipykernel and IPython themselves rebind in builtins around each request.
_BUILTINS_IN_FLUX = {"input", "exit", "quit", "get_ipython", "display", "_", "__", "___",
                     "__IPYTHON__", "help", "copyright", "credits", "license"}
_SYS_HOOKS = ("excepthook", "displayhook", "breakpointhook", "modules", "meta_path", "path_hooks")
_SHELL_VALUES = ("custom_exceptions", "CustomTB", "InteractiveTB", "SyntaxTB", "displayhook",
                 "display_pub", "display_formatter", "user_ns", "user_global_ns", "kernel",
                 "events", "compile", "input_transformer_manager", "builtin_trap")
_SHELL_LISTS = ("ast_transformers", "input_transformers_cleanup", "input_transformers_post")

_classes = []  # (label, class, snapshot of its __dict__): additions count as tampering
_modules = []  # (label, module, snapshot of its public names): lazy additions are fine
_instances = []  # (label, object, snapshot of its __dict__): only method shadowing counts
_values = []  # (label, getter, setter, value)
_pins = {}  # notebook global -> object a read-only cell bound it to
_stash = {}  # notebook globals moved aside for the current test


def install(modules, classes):
    """Snapshot everything; return the kernel's description (python, torch, CUDA device)."""
    shell = get_ipython()
    for name in modules:
        try:
            module = importlib.import_module(name)
        except Exception:
            continue
        everything = name == "builtins"
        _modules.append((name, module, {k: v for k, v in _vars(module).items()
                                        if (everything or not k.startswith("_")) and k not in _BUILTINS_IN_FLUX}))
    for dotted in classes:
        module_name, _, attr = dotted.rpartition(".")
        try:
            cls = _getattr(importlib.import_module(module_name), attr)
        except Exception:
            continue
        _classes.append((dotted, cls, dict(_vars(cls))))
    for obj, label in ((shell, "IPython shell"), (shell.kernel, "kernel"), (shell.kernel.session, "kernel session")):
        for cls in _type(obj).__mro__[:-1]:
            _classes.append((f"{label} class {cls.__name__}", cls, dict(_vars(cls))))
        _instances.append((label, obj, dict(_vars(obj))))
    for name in _SHELL_VALUES:
        _watch_value(f"IPython shell.{name}", shell, name)
    for name in _SYS_HOOKS:
        _watch_value(f"sys.{name}", sys, name)
    for name, module in _list(sys.modules.items()):
        if name in modules:
            _watch_item(f"sys.modules[{name!r}]", sys.modules, name)
    _values.append(("sys.settrace (a tracer)", sys.gettrace, sys.settrace, sys.gettrace()))
    _values.append(("sys.setprofile (a profiler)", sys.getprofile, sys.setprofile, sys.getprofile()))
    for name in _SHELL_LISTS:
        _watch_list(f"IPython shell.{name}", _getattr(shell, name))
    _watch_list("sys.meta_path entries", sys.meta_path)
    _pins["__builtins__"] = shell.user_ns.get("__builtins__")
    return _dumps(_describe())


def _watch_value(label, obj, name):
    if hasattr(obj, name):
        _values.append((label, lambda: _getattr(obj, name), lambda v: _setattr(obj, name, v), _getattr(obj, name)))


def _watch_item(label, mapping, key):
    _values.append((label, lambda: mapping.get(key), lambda v: mapping.__setitem__(key, v), mapping.get(key)))


def _watch_list(label, items):
    _values.append((label, lambda: _list(items), lambda v: items.__setitem__(slice(None), v), _list(items)))


def _describe():
    try:
        import torch
        version = torch.__version__
        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except Exception:
        version, device = None, None
    return {"python": platform.python_version(), "torch": version, "cuda_device": device}


def _same(a, b):
    if _isinstance(a, list) and _isinstance(b, list):
        return len(a) == len(b) and all(x is y for x, y in zip(a, b))
    return a is b


def _restore_dict(label, obj, snapshot, additions_count, changed):
    current = _vars(obj)
    for key, value in snapshot.items():
        if key not in current or current[key] is not value:
            changed.append(f"{label}.{key}")
            try:
                _setattr(obj, key, value)
            except Exception:
                pass
    if additions_count:
        for key in _list(current):
            if key not in snapshot:
                changed.append(f"{label}.{key} (added)")
                try:
                    _delattr(obj, key)
                except Exception:
                    pass


def _shadowing(obj, snapshot):
    """Instance attributes that hide one of the class's methods."""
    cls = _type(obj)
    return [k for k, v in _vars(obj).items()
            if (k not in snapshot or snapshot[k] is not v) and _callable(_getattr(cls, k, None))]


def check(shield=(), unshield=False):
    """Put back whatever changed since install; report it. See the module docstring."""
    changed = []
    try:
        for label, module, snapshot in _modules:
            _restore_dict(label, module, snapshot, False, changed)
        for label, cls, snapshot in _classes:
            _restore_dict(label, cls, snapshot, True, changed)
        for label, obj, snapshot in _instances:
            for key in _shadowing(obj, snapshot):
                changed.append(f"{label}.{key}")
                if key in snapshot:
                    obj.__dict__[key] = snapshot[key]
                else:
                    _delattr(obj, key)
        for label, get, put, value in _values:
            if not _same(get(), value):
                changed.append(label)
                put(_list(value) if _isinstance(value, list) else value)
        namespace = get_ipython().user_ns
        for name, value in _pins.items():
            if namespace.get(name) is not value:
                changed.append(f"the notebook's name {name!r}")
                namespace[name] = value
        if unshield:
            namespace.update(_stash)
            _stash.clear()
        shadowed = []
        for name in shield:
            if name in namespace and name not in _pins and _getattr(builtins, name, None) is not namespace[name]:
                _stash[name] = namespace.pop(name)
                shadowed.append(name)
        return _dumps({"changed": _sorted(set(changed)), "shadowed": shadowed})
    except Exception as error:  # the guard must answer; the grader reads a failure as tampering
        return _dumps({"changed": _sorted(set(changed)) + [f"(check failed: {_type(error).__name__})"],
                       "shadowed": []})


def pin(names):
    """Record what a read-only cell bound these notebook globals to."""
    namespace = get_ipython().user_ns
    for name in names:
        if name in namespace:
            _pins[name] = namespace[name]
    return _dumps({"pinned": _sorted(n for n in names if n in _pins)})
