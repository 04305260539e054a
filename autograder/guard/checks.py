"""The grader's side of the anti-monkeypatch guard (the kernel's side is in_kernel.py).

The guard lives in the kernel under a random sys.modules key, not in the notebook's namespace,
and is reached through `user_expressions` of silent requests, so it never shows in the
notebook's history or outputs. Any answer the grader cannot read counts as tampering.
"""
import ast
import builtins
import json
import secrets
from functools import lru_cache
from pathlib import Path

# What a test's verdict leans on, for this course. Modules: their public names are watched;
# classes: every attribute, and additions count (`torch.Tensor.numpy = ...` adds one).
MODULES = ("builtins", "numpy", "numpy.testing", "numpy.linalg", "torch", "torch.testing",
           "torch.nn", "torch.nn.functional", "torch.autograd")
CLASSES = ("torch.Tensor", "torch.nn.Module", "torch.nn.Linear", "torch.nn.Parameter",
           "torch.no_grad", "torch.enable_grad", "torch.inference_mode")

_KERNEL_SOURCE = (Path(__file__).with_name("in_kernel.py")).read_text()
_BUILTIN_NAMES = frozenset(dir(builtins))


class Guard:
    def __init__(self):
        self.key = f"_autograder_guard_{secrets.token_hex(8)}"

    def install(self) -> tuple[str, str]:
        """(code, user expression) that load the guard into the kernel and snapshot everything."""
        code = (f"import sys as _ag_s, types as _ag_t\n_ag_m = _ag_t.ModuleType({self.key!r})\n"
                f"exec({_KERNEL_SOURCE!r}, _ag_m.__dict__)\n_ag_s.modules[{self.key!r}] = _ag_m\n"
                "del _ag_s, _ag_t, _ag_m\n")
        return code, self._call("install", MODULES, CLASSES)

    def check(self, shield=(), unshield=False) -> str:
        return self._call("check", tuple(shield), unshield)

    def pin(self, names) -> str:
        return self._call("pin", tuple(names))

    def _call(self, function: str, *args) -> str:
        return f"__import__('sys').modules[{self.key!r}].{function}{args!r}"


def parse(reply_content: dict | None, key: str = "r") -> dict | None:
    """The guard's JSON answer from an execute_reply's user_expressions, or None if unreadable."""
    try:
        value = reply_content["user_expressions"][key]
        if value.get("status") != "ok":
            return None
        return json.loads(ast.literal_eval(value["data"]["text/plain"]))
    except (KeyError, TypeError, ValueError, SyntaxError):
        return None


@lru_cache(maxsize=1024)
def bound_names(source: str) -> tuple[str, ...]:
    """Top-level names a cell binds: imports, defs, classes and plain assignments."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ()
    names = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [t.id for t in targets if isinstance(t, ast.Name)]
    return tuple(sorted(set(names)))


@lru_cache(maxsize=1024)
def builtins_used(source: str) -> tuple[str, ...]:
    """Builtin names a test cell reads (isinstance, len, type, ...)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ()
    return tuple(sorted({n.id for n in ast.walk(tree)
                   if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in _BUILTIN_NAMES}))
