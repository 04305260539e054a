"""The grader's side of the boundary: one student kernel, one referee, and a trusted cell
run across them.

A trusted cell (a test, or a read-only cell's second run) goes to the referee only, while the
student kernel serves the calls it makes; the cell's verdict is the referee's reply. What the
student printed meanwhile is kept only when the cell hides nothing (`keep_output`).
"""
import ast
import json
import secrets
import shutil
import tempfile
from pathlib import Path

import nbformat

from ..protocols import Kernel, Reply

HERE = Path(__file__).parent
AGENT = "".join((HERE / name).read_text() for name in ("wire.py", "agent.py"))
REFEREE = "".join((HERE / name).read_text() for name in ("wire.py", "decode.py", "referee.py"))
INSTALL_TIMEOUT = 60.0
SOCKET = "answers.sock"


class Bridge:
    def __init__(self, student: Kernel, referee: Kernel, names):
        self.student, self.referee, self.names = student, referee, tuple(names)
        self.referee_key = f"_autograder_referee_{secrets.token_hex(8)}"
        self.scratch = None

    def install(self) -> dict:
        """Load the referee's side (listening for the student) and the agent, at once; describe the
        referee's kernel."""
        host, _ = self._socket()
        expression = f"__import__('sys').modules[{self.referee_key!r}].install({host!r}, {list(self.names)!r})"
        loading = self.referee.send(_module_code(self.referee_key, REFEREE), user_expressions={"r": expression})
        self.install_agent()
        reply = self.referee.execute("", INSTALL_TIMEOUT, sent=loading)
        info = _parse(reply.content)
        if info is None:
            raise RuntimeError(f"the referee could not start: {reply.status} {reply.note} {_error(reply)}")
        return info

    def install_agent(self) -> None:
        """Load the agent into the (new) student kernel, before any student code runs there."""
        self.agent_key = f"_autograder_agent_{secrets.token_hex(8)}"
        reply = self.student.execute(_module_code(self.agent_key, AGENT), INSTALL_TIMEOUT, silent=True)
        if reply.status != "ok":
            raise RuntimeError(f"the answer kernel's agent could not start: {reply.status} {reply.note} {_error(reply)}")

    def relisten(self) -> None:
        """After the student kernel was replaced: a fresh socket where the new one can reach it."""
        host, _ = self._socket()
        self.referee.execute(f"__import__('sys').modules[{self.referee_key!r}].listen({host!r})", INSTALL_TIMEOUT,
                             silent=True)
        self.install_agent()

    def run_trusted(self, source: str, timeout: float, keep_output: bool) -> tuple[Reply, Reply]:
        """(the referee's reply, the student kernel's reply to serving it)."""
        token = secrets.token_hex(16)
        _, inside = self._socket()
        serving = self.student.send(f"__import__('sys').modules[{self.agent_key!r}].serve({inside!r}, {token!r})")
        verdict = self.referee.execute(source, timeout, metadata={"boundary": token})
        # a referee stopped at its deadline was waiting on the answer: interrupt that at once
        wait = 0.0 if verdict.status == "timeout" else self.student.limits.interrupt_grace
        served = self.student.execute("", wait, sent=serving)
        if keep_output:
            verdict.outputs = verdict.outputs + _streams(served.outputs)
        return verdict, served

    def close(self) -> None:
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _socket(self) -> tuple[str, str]:
        """(path on the grader's side, path inside the student's kernel) of the referee's socket."""
        shared = self.student.process.shared_folder()
        if shared is None:  # an unsandboxed kernel sees the grader's files: any private folder will do
            self.scratch = self.scratch or tempfile.mkdtemp(prefix="ag-b-")
            shared = (self.scratch, self.scratch)
        return f"{shared[0]}/{SOCKET}", f"{shared[1]}/{SOCKET}"


def _streams(outputs: list) -> list:
    """What the answer printed while the test called it: stdout, then stderr, each in its order.
    (Across the two streams the order is the kernel's flush timing, which no two runs share.)"""
    merged = []
    for name in ("stdout", "stderr"):
        text = "".join(o.text for o in outputs if o.get("output_type") == "stream" and o.get("name") == name)
        if text:
            merged.append(nbformat.v4.new_output("stream", name=name, text=text))
    return merged


def _module_code(key: str, source: str) -> str:
    return (f"import sys as _ag_s, types as _ag_t\n_ag_m = _ag_t.ModuleType({key!r})\n_ag_s.modules[{key!r}] = _ag_m\n"
            f"exec({source!r}, _ag_m.__dict__)\ndel _ag_s, _ag_t, _ag_m\n")


def _parse(content: dict | None) -> dict | None:
    try:
        value = content["user_expressions"]["r"]
        if value.get("status") != "ok":
            return None
        return json.loads(ast.literal_eval(value["data"]["text/plain"]))
    except (KeyError, TypeError, ValueError, SyntaxError):
        return None


def _error(reply: Reply) -> str:
    content = reply.content or {}
    expression = (content.get("user_expressions") or {}).get("r", {})
    return f"{content.get('ename', '')} {content.get('evalue', '')} {expression.get('ename', '')} {expression.get('evalue', '')}"
